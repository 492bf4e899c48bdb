"""Tests for the 1-D solvers: scipy and POT as references, plus the LP certificate."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import pot_cost

from emd.structured._onedim import (
    _BLOCK,
    OneDimResult,
    _weighted_cost,
    solve_1d,
    wasserstein_1d,
)


def _normalised(w, size):
    w = np.full(size, 1.0) if w is None else np.asarray(w, float)
    return w / w.sum()


def check_certificate(x, y, a_raw=None, b_raw=None, res=None):
    """Primal plan, dual potentials and cost agree with each other and with scipy."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    a, b = _normalised(a_raw, x.size), _normalised(b_raw, y.size)
    res = solve_1d(x, y, a_raw, b_raw) if res is None else res
    ref = scipy.stats.wasserstein_distance(x, y, a_raw, b_raw)
    dist = np.abs(x[:, None] - y[None, :])
    scale = max(1.0, float(dist.max()))
    tol = 1e-12 * scale

    assert res.cost == pytest.approx(ref, rel=1e-12, abs=tol)
    assert wasserstein_1d(x, y, a_raw, b_raw) == pytest.approx(ref, rel=1e-12, abs=tol)

    plan = res.plan
    assert isinstance(plan, scipy.sparse.coo_array)
    assert plan.shape == (x.size, y.size)
    assert np.all(plan.data > 0)
    assert plan.nnz <= x.size + y.size - 1
    dense = res.dense_plan()
    np.testing.assert_allclose(dense.sum(axis=1), a, rtol=0, atol=1e-14)
    np.testing.assert_allclose(dense.sum(axis=0), b, rtol=0, atol=1e-14)
    assert float((dense * dist).sum()) == pytest.approx(ref, rel=1e-12, abs=tol)

    # Dual feasibility on every pair, and strong duality.
    assert np.all(res.u[:, None] + res.v[None, :] <= dist + tol)
    assert float(a @ res.u + b @ res.v) == pytest.approx(res.cost, rel=1e-12, abs=tol)
    # Complementary slackness on the support of the plan.
    rows, cols = plan.row, plan.col
    np.testing.assert_allclose(res.u[rows] + res.v[cols], dist[rows, cols], rtol=0, atol=tol)
    return res


# --------------------------------------------------------------------------- hand-checked


def test_shift_of_point_masses():
    assert wasserstein_1d([0.0], [2.5]) == 2.5
    res = solve_1d([0.0], [2.5])
    assert res.cost == 2.5
    np.testing.assert_array_equal(res.dense_plan(), [[1.0]])


def test_hand_computed_uniform():
    # Sorted pairing 0->5, 1->6, 3->8: mean displacement 5.
    assert wasserstein_1d([3, 0, 1], [5, 8, 6]) == pytest.approx(5.0)
    # F_u - F_v = 1/2 on [0, 1) and [2, 3): total 1.
    assert wasserstein_1d([0, 2], [1, 3]) == pytest.approx(1.0)


def test_hand_computed_weighted_and_unequal_sizes():
    # u = 3/4 at 0 + 1/4 at 4, v = 1 at 1: 3/4 * 1 + 1/4 * 3.
    assert wasserstein_1d([0, 4], [1], [3, 1]) == pytest.approx(1.5)
    # Unnormalised weights are normalised per side.
    assert wasserstein_1d([0, 4], [1], [30, 10], [7]) == pytest.approx(1.5)
    # n = 2, m = 3 uniform: quantile levels 1/3, 1/2, 2/3 split the pairing.
    # Q_u = 0 on (0, 1/2], 1 after; Q_v = 0, 1, 2 on thirds.
    # |0-0|/3 + |0-1|/6 + |1-1|/6 + |1-2|/3 = 1/2.
    assert wasserstein_1d([0, 1], [0, 1, 2]) == pytest.approx(0.5)


def test_plan_in_original_order():
    res = solve_1d([2.0, 0.0, 1.0], [10.0, 11.0, 12.0][::-1])
    # y = [12, 11, 10]: the smallest x goes to the smallest y.
    expected = np.zeros((3, 3))
    expected[1, 2] = expected[2, 1] = expected[0, 0] = 1 / 3
    np.testing.assert_allclose(res.dense_plan(), expected, atol=1e-16)
    assert res.cost == pytest.approx(10.0)


def test_identical_distributions_cost_zero():
    x = np.array([3.0, -1.0, 2.0, 2.0])
    res = check_certificate(x, x[::-1].copy())
    assert res.cost == 0.0
    assert wasserstein_1d(x, x) == 0.0


def test_zero_weight_points_get_no_mass():
    x, y = [0.0, 5.0, 1.0], [0.5, 9.0]
    res = check_certificate(x, y, [1.0, 0.0, 1.0], [1.0, 0.0])
    dense = res.dense_plan()
    assert np.all(dense[1] == 0) and np.all(dense[:, 1] == 0)


def test_repr_and_frozen():
    res = solve_1d([0.0, 1.0], [1.0, 3.0])
    assert repr(res) == "OneDimResult(cost=1.5, n=2, m=2, nnz=2)"
    assert isinstance(res, OneDimResult)
    with pytest.raises(AttributeError):
        res.cost = 0.0


def test_potential_is_the_kantorovich_potential():
    x = np.array([0.0, 1.0, 4.0])
    y = np.array([2.0, 3.0])
    res = check_certificate(x, y)
    np.testing.assert_allclose(res.potential(x), res.u, atol=1e-15)
    np.testing.assert_allclose(-res.potential(y), res.v, atol=1e-15)
    # Constant outside the hull of the supports.
    lo, hi = res.potential([-100.0, 0.0]), res.potential([4.0, 100.0])
    assert lo[0] == lo[1] and hi[0] == hi[1]
    # Scalar in, scalar out; 1-Lipschitz on a fine grid.
    assert np.ndim(res.potential(2.5)) == 0
    grid = np.linspace(-1, 5, 601)
    assert np.all(np.abs(np.diff(res.potential(grid))) <= np.diff(grid) + 1e-15)
    # E_u f - E_v f is the cost.
    assert res.potential(x).mean() - res.potential(y).mean() == pytest.approx(res.cost)


def test_inputs_are_not_modified():
    rng = np.random.default_rng(3)
    for size in (7, 2 * _BLOCK + 5):
        x, y = rng.normal(size=size), np.sort(rng.normal(size=size + 3))
        a, b = rng.random(size), rng.random(size + 3)
        copies = [arr.copy() for arr in (x, y, a, b)]
        wasserstein_1d(x, y)
        wasserstein_1d(x, y, a, b)
        wasserstein_1d(y, y, b, b)
        solve_1d(x, y, a, b)
        for arr, copy in zip((x, y, a, b), copies, strict=True):
            np.testing.assert_array_equal(arr, copy)


# --------------------------------------------------------------------------- against scipy

CASES = {
    "single points": ([1.5], [-2.0], None, None),
    "single vs many": ([0.0], [1.0, 2.0, 7.0], None, [1, 2, 3]),
    "ties across sides": ([0, 1, 1, 2], [1, 1, 1, 3], None, None),
    "repeated values weighted": ([2, 2, 2, 0], [2, 0, 0], [1, 2, 3, 4], [5, 0.5, 1]),
    "n != m coprime": (np.arange(7.0)[::-1], np.linspace(0, 3, 5), None, None),
    "n != m common factor": (np.arange(6.0), np.arange(4.0) * 1.7, None, None),
    "integer inputs": ([3, 1, 4, 1, 5], [9, 2, 6], [1, 1, 2, 3, 5], [8, 13, 21]),
    "one side weighted": ([0.0, 1.0, 2.0], [0.5, 1.5], [0.2, 0.3, 0.5], None),
    "negative values": ([-5.0, -1.0, -3.0], [-2.0, -4.0], None, None),
}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_matches_scipy_and_certificate(case):
    x, y, a, b = case
    check_certificate(x, y, a, b)


def test_random_against_scipy_and_pot():
    rng = np.random.default_rng(0)
    for trial in range(150):
        n, m = rng.integers(1, 25, size=2)
        # Small integer supports force many ties; normal ones none.
        x = rng.integers(-3, 4, n).astype(float) if trial % 2 else rng.normal(size=n)
        y = rng.integers(-3, 4, m).astype(float) if trial % 3 else rng.normal(size=m)
        a = rng.random(n) if trial % 4 else None
        b = rng.integers(0, 4, m) + (np.arange(m) == 0) if trial % 5 else None
        res = check_certificate(x, y, a, b)
        cost = np.abs(x[:, None] - y[None, :])
        ref = pot_cost(_normalised(a, n), _normalised(b, m), cost)
        assert res.cost == pytest.approx(ref, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    ("n", "m", "weighted"),
    [
        (3 * _BLOCK + 11, 3 * _BLOCK + 11, False),
        (2 * _BLOCK + 1, 3 * _BLOCK - 7, False),
        (60000, 45000, False),  # gcd 15000
        (2 * _BLOCK + 3, _BLOCK - 1, True),
    ],
)
def test_multi_block_against_scipy(n, m, weighted):
    rng = np.random.default_rng(n + m)
    x = rng.normal(size=n)
    y = np.round(rng.normal(0.3, 2.0, size=m), 2)  # rounded: ties inside y
    a = rng.random(n) if weighted else None
    b = rng.random(m) if weighted else None
    ref = scipy.stats.wasserstein_distance(x, y, a, b)
    assert wasserstein_1d(x, y, a, b) == pytest.approx(ref, rel=1e-10)
    # Presorted inputs take the fast path and must agree.
    xs, ys = np.sort(x), np.sort(y)
    if weighted:
        order_x, order_y = np.argsort(x), np.argsort(y)
        got = wasserstein_1d(xs, ys, a[order_x], b[order_y])
    else:
        got = wasserstein_1d(xs, ys)
    assert got == pytest.approx(ref, rel=1e-10)


def test_large_solve_1d_certificate_without_dense():
    rng = np.random.default_rng(11)
    x, y = rng.normal(size=5000), rng.exponential(size=3001)
    a, b = rng.random(5000), rng.random(3001)
    res = solve_1d(x, y, a, b)
    a, b = a / a.sum(), b / b.sum()
    ref = scipy.stats.wasserstein_distance(x, y, a, b)
    assert res.cost == pytest.approx(ref, rel=1e-12)
    rows, cols = res.plan.row, res.plan.col
    assert float(res.plan.data @ np.abs(x[rows] - y[cols])) == pytest.approx(ref, rel=1e-12)
    np.testing.assert_allclose(np.bincount(rows, res.plan.data, 5000), a, atol=1e-15)
    np.testing.assert_allclose(np.bincount(cols, res.plan.data, 3001), b, atol=1e-15)
    assert float(a @ res.u + b @ res.v) == pytest.approx(ref, rel=1e-12)
    # u = f(x), v = -f(y) for the potential f; then u_i + v_j <= |x_i - y_j| on
    # all 15 million pairs is equivalent to f being 1-Lipschitz between
    # consecutive merged support points (triangle inequality).
    np.testing.assert_allclose(res.potential(x), res.u, rtol=0, atol=1e-15)
    np.testing.assert_allclose(-res.potential(y), res.v, rtol=0, atol=1e-15)
    merged = np.sort(np.concatenate([x, y]))
    assert np.all(np.abs(np.diff(res.potential(merged))) <= np.diff(merged) + 1e-12)


def test_uniform_plan_has_no_rounding_entries():
    # Levels i/6 and j/4 coincide at 1/2 and 1: exactly 6 + 4 - gcd = 8 cells,
    # each a multiple of 1/12 (no ~1e-17 slivers from inexact cumulative sums).
    rng = np.random.default_rng(4)
    res = solve_1d(rng.normal(size=6), rng.normal(size=4))
    assert res.plan.nnz == 8
    np.testing.assert_allclose(res.plan.data * 12, np.round(res.plan.data * 12), atol=1e-12)
    res = solve_1d(rng.normal(size=30), rng.normal(size=21), np.ones(30), 2 * np.ones(21))
    assert res.plan.nnz == 30 + 21 - 3


def test_cdf_route_without_weights():
    # The CDF route also serves uniform inputs whose lcm(n, m) is too large
    # for exact integer quantile levels.
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=1001), rng.normal(size=2 * _BLOCK + 9)
    ref = scipy.stats.wasserstein_distance(x, y)
    assert _weighted_cost(x, y, None, None) == pytest.approx(ref, rel=1e-12)
    assert _weighted_cost(np.sort(x), np.sort(y), None, None) == pytest.approx(ref, rel=1e-12)


def test_invariances():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=40), rng.normal(size=25)
    a, b = rng.random(40), rng.random(25)
    base = wasserstein_1d(x, y, a, b)
    assert wasserstein_1d(y, x, b, a) == pytest.approx(base, rel=1e-12)
    assert wasserstein_1d(x + 7.0, y + 7.0, a, b) == pytest.approx(base, rel=1e-10)
    assert wasserstein_1d(-3 * x, -3 * y, a, b) == pytest.approx(3 * base, rel=1e-12)
    assert wasserstein_1d(x, y, 5 * a, b / 3) == pytest.approx(base, rel=1e-12)


# --------------------------------------------------------------------------- property-based

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
small_int = st.integers(-5, 5).map(float)
values = st.lists(st.one_of(finite, small_int), min_size=1, max_size=12)


@st.composite
def problems(draw):
    x = draw(values)
    y = draw(values)
    weight = st.one_of(st.floats(0.0, 10.0), st.sampled_from([0.0, 1.0, 2.0]))
    a = draw(st.none() | st.lists(weight, min_size=len(x), max_size=len(x)))
    b = draw(st.none() | st.lists(weight, min_size=len(y), max_size=len(y)))
    # Guarantee a positive total on each weighted side.
    if a is not None and sum(a) == 0:
        a[0] = 1.0
    if b is not None and sum(b) == 0:
        b[-1] = 1.0
    return x, y, a, b


@settings(max_examples=150, deadline=None)
@given(problems())
def test_property_certificate(problem):
    check_certificate(*problem)


# --------------------------------------------------------------------------- validation

FUNCS = [wasserstein_1d, solve_1d]


@pytest.mark.parametrize("func", FUNCS)
@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([], [1.0]), "u_values is empty"),
        (([1.0], []), "v_values is empty"),
        (([1.0, np.nan], [1.0]), "u_values has a non-finite value nan at index 1"),
        (([1.0], [np.inf]), "v_values has a non-finite value inf at index 0"),
        (([[1.0, 2.0]], [1.0]), "u_values must be 1-dimensional"),
        (([1.0, 2.0], [1.0], [1.0, -1.0]), "u_weights has a negative weight"),
        (([1.0, 2.0], [1.0], [1.0, np.nan]), "u_weights has a non-finite weight"),
        (([1.0, 2.0], [1.0], None, [np.inf]), "v_weights has a non-finite weight"),
        (([1.0, 2.0], [1.0], [1.0]), "u_weights has 1 entries but 2 were expected"),
        (([1.0, 2.0], [1.0], None, [1.0, 1.0]), "v_weights has 2 entries but 1"),
        (([1.0, 2.0], [1.0], [0.0, 0.0]), "u_weights has zero total mass"),
        (([1.0, 2.0], [1.0], None, [0.0]), "v_weights has zero total mass"),
        (([1.0], [2.0], None, []), "v_weights is empty"),
    ],
)
def test_validation_errors(func, args, match):
    with pytest.raises(ValueError, match=match):
        func(*args)
