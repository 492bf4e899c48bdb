"""The exact solver against independent references, and its certificate."""

from __future__ import annotations

import dataclasses
import math
import threading
import warnings

import numpy as np
import ot
import pytest
import scipy.sparse
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import (
    exact_integer_cost,
    highs_cost,
    metric_cost,
    pot_cost,
    random_weights,
)

import emd

RTOL = 1e-9


def check_result(result: emd.TransportResult, a, b, reference: float | None = None):
    """Plan feasibility, dual feasibility, certificate, and agreement with a reference."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    plan = result.dense_plan()
    assert (plan >= 0).all()
    scale = max(a.sum(), 1.0)
    np.testing.assert_allclose(plan.sum(axis=1), a, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(plan.sum(axis=0), b, rtol=0, atol=1e-12 * scale)
    assert result.plan.nnz <= a.size + b.size - 1
    cert = result.certificate()
    assert cert.optimal(RTOL), cert
    assert math.isclose(cert.cost, result.cost, rel_tol=1e-12, abs_tol=1e-300)
    if reference is not None:
        assert result.cost == pytest.approx(reference, rel=RTOL, abs=1e-12 * scale)


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (7, 1), (2, 2), (13, 29), (40, 40), (120, 80)])
def test_dense_random_costs_match_pot_and_highs(shape):
    rng = np.random.default_rng(sum(shape))
    n, m = shape
    a, b = random_weights(rng, n), random_weights(rng, m)
    cost = rng.random(shape) * 10
    result = emd.solve(a, b, cost)
    check_result(result, a, b, pot_cost(a, b, cost))
    assert result.cost == pytest.approx(highs_cost(a, b, cost), rel=1e-8)
    assert result.converged and result.status == "optimal"


@pytest.mark.parametrize("metric,p", [
    ("euclidean", None), ("sqeuclidean", None), ("cityblock", None),
    ("chebyshev", None), ("minkowski", 3.0),
])
@pytest.mark.parametrize("dim", [1, 2, 3, 10])
def test_point_clouds_every_metric_and_dimension(metric, p, dim):
    rng = np.random.default_rng(dim * 7 + len(metric))
    n, m = 60, 45
    x, y = rng.normal(size=(n, dim)), rng.normal(size=(m, dim)) + 0.3
    a, b = random_weights(rng, n), random_weights(rng, m)
    cost = metric_cost(x, y, metric, p)
    reference = pot_cost(a, b, cost)
    on_the_fly = emd.solve_points(x, y, a, b, metric=metric, p=p)
    check_result(on_the_fly, a, b, reference)
    check_result(emd.solve(a, b, cost), a, b, reference)
    assert emd.wasserstein(x, y, a, b, metric=metric, p=p) == pytest.approx(reference, rel=RTOL)


def test_larger_point_clouds_need_several_pricing_rounds():
    rng = np.random.default_rng(5)
    x, y = rng.random((600, 2)), rng.random((500, 2))
    a, b = random_weights(rng, 600), random_weights(rng, 500)
    cost = metric_cost(x, y, "euclidean")
    reference = pot_cost(a, b, cost)
    check_result(emd.solve(a, b, cost), a, b, reference)
    check_result(emd.solve_points(x, y, a, b), a, b, reference)


def test_uniform_weights_by_default():
    rng = np.random.default_rng(1)
    x, y = rng.random((30, 2)), rng.random((20, 2))
    result = emd.solve_points(x, y)
    np.testing.assert_allclose(result.a, np.full(30, 1 / 30))
    check_result(result, result.a, result.b, pot_cost(result.a, result.b, metric_cost(x, y, "euclidean")))


@pytest.mark.parametrize("seed", range(4))
def test_zero_weights_get_feasible_potentials(seed):
    rng = np.random.default_rng(seed)
    n, m = 25, 30
    a, b = random_weights(rng, n, zeros=8), random_weights(rng, m, zeros=11)
    x, y = rng.random((n, 2)), rng.random((m, 2))
    cost = metric_cost(x, y, "euclidean")
    for result in (emd.solve(a, b, cost), emd.solve_points(x, y, a, b)):
        check_result(result, a, b, pot_cost(a, b, cost))
        # The certificate prices every pair, zero-mass bins included.
        assert (result.u[:, None] + result.v[None, :] <= cost + 1e-12).all()
        assert result.plan.row[np.isin(result.plan.row, np.flatnonzero(a == 0))].size == 0


def test_duplicated_points_and_shared_support():
    rng = np.random.default_rng(3)
    base = rng.random((10, 2))
    x = np.repeat(base, 3, axis=0)
    y = np.concatenate([base, base[:4]])
    a, b = random_weights(rng, len(x)), random_weights(rng, len(y))
    cost = metric_cost(x, y, "euclidean")
    check_result(emd.solve_points(x, y, a, b), a, b, pot_cost(a, b, cost))


@pytest.mark.parametrize("seed", range(6))
def test_degenerate_integer_costs_with_ties_are_exact(seed):
    rng = np.random.default_rng(seed)
    n, m = rng.integers(5, 25, size=2)
    a_int = rng.integers(1, 5, size=n)
    b_int = rng.multinomial(a_int.sum() - m, np.full(m, 1 / m)) + 1
    cost_int = rng.integers(0, 3, size=(n, m))
    exact = exact_integer_cost(a_int, b_int, cost_int)
    result = emd.solve(a_int, b_int, cost_int)
    check_result(result, a_int, b_int)
    assert result.cost == pytest.approx(exact, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_costs_spanning_fifteen_orders_of_magnitude(seed):
    # POT stops early here (its pricing tolerance scales with the largest
    # cost); HiGHS' tolerances are too loose as well, so the reference is an
    # exact integer network simplex.
    rng = np.random.default_rng(seed)
    n = 40
    cost_int = np.floor(10 ** rng.uniform(0, 15, size=(n, n))).astype(np.int64)
    a_int = rng.integers(1, 1000, size=n)
    b_int = rng.multinomial(a_int.sum() - n, np.full(n, 1 / n)) + 1
    exact = exact_integer_cost(a_int, b_int, cost_int)
    result = emd.solve(a_int, b_int, cost_int.astype(float))
    assert result.cost == pytest.approx(exact, rel=RTOL)
    assert result.certificate().optimal(RTOL)


def test_wide_cost_range_beats_pot_tolerance():
    rng = np.random.default_rng(0)
    cost = 10 ** rng.uniform(-9, 9, size=(50, 50))
    a, b = random_weights(rng, 50), random_weights(rng, 50)
    result = emd.solve(a, b, cost)
    cert = result.certificate()
    assert cert.optimal(RTOL), cert
    assert result.cost <= pot_cost(a, b, cost) * (1 + 1e-12)
    # POT's early-stopped plan, judged by the same certificate, must fail it:
    # wide-ranging costs must not inflate the rounding allowance.
    pot_plan = scipy.sparse.coo_array(ot.emd(a, b, cost, numItermax=10**8))
    pot_cert = dataclasses.replace(result, plan=pot_plan).certificate()
    assert pot_cert.cost > 2 * result.cost
    assert not pot_cert.optimal()


def test_a_huge_cost_on_a_zero_mass_bin_does_not_hide_suboptimality():
    rng = np.random.default_rng(21)
    a, b = random_weights(rng, 20, zeros=1), random_weights(rng, 20)
    cost = rng.random((20, 20))
    cost[a == 0] = 1e12
    result = emd.solve(a, b, cost)
    assert result.certificate().optimal()
    # Swap mass around a 2x2 cycle: still feasible, a little more costly.
    plan = result.dense_plan()
    rows, cols = result.plan.row, result.plan.col
    k = next(k for k in range(1, rows.size) if rows[k] != rows[0] and cols[k] != cols[0])
    (i1, j1), (i2, j2) = (rows[0], cols[0]), (rows[k], cols[k])
    delta = min(plan[i1, j1], plan[i2, j2])
    plan[i1, j1] -= delta
    plan[i2, j2] -= delta
    plan[i1, j2] += delta
    plan[i2, j1] += delta
    worse = dataclasses.replace(result, plan=scipy.sparse.coo_array(plan))
    cert = worse.certificate()
    assert cert.cost > result.cost * (1 + 1e-6)
    assert cert.marginal_error < 1e-12  # feasible: only the gap can tell
    assert not cert.optimal()


def test_certificate_detects_a_suboptimal_plan():
    rng = np.random.default_rng(2)
    a, b = random_weights(rng, 20), random_weights(rng, 20)
    cost = rng.random((20, 20))
    result = emd.solve(a, b, cost)
    independent = np.outer(a, b)
    bad = dataclasses.replace(result, plan=scipy.sparse.coo_array(independent))
    cert = bad.certificate()
    assert not cert.optimal()
    assert cert.bound > 1e-3 * cert.cost
    shifted = dataclasses.replace(result, u=result.u + 0.5)
    assert shifted.certificate().max_dual_violation == pytest.approx(0.5, rel=1e-9)


def test_zero_distance_is_certified():
    rng = np.random.default_rng(12)
    x = rng.random((50, 2))
    result = emd.solve_points(x, x)
    assert result.cost == pytest.approx(0.0, abs=1e-15)
    assert result.certificate().optimal(), result.certificate()


def test_integer_float32_and_list_inputs():
    cost64 = np.array([[0.0, 2.0, 5.0], [3.0, 1.0, 4.0]])
    reference = emd.solve(np.array([1.0, 2.0]), np.array([1.0, 1.0, 1.0]), cost64).cost
    assert emd.solve([1, 2], [1, 1, 1], cost64.astype(int).tolist()).cost == reference
    assert emd.solve(np.float32([1, 2]), np.float32([1, 1, 1]), cost64.astype(np.float32)).cost \
        == pytest.approx(reference, rel=1e-7)
    assert reference == pytest.approx(pot_cost([1.0, 2.0], [1.0, 1.0, 1.0], cost64))


def test_cost_matrix_is_read_in_place():
    rng = np.random.default_rng(4)
    cost = rng.random((15, 12))
    result = emd.solve(random_weights(rng, 15), random_weights(rng, 12), cost)
    assert result._costs.matrix is cost


def test_fortran_and_strided_costs_are_accepted():
    rng = np.random.default_rng(8)
    big = rng.random((30, 40))
    a, b = random_weights(rng, 15), random_weights(rng, 20)
    strided = big[::2, ::2]
    fortran = np.asfortranarray(strided)
    expected = pot_cost(a, b, np.ascontiguousarray(strided))
    assert emd.solve(a, b, strided).cost == pytest.approx(expected, rel=RTOL)
    assert emd.solve(a, b, fortran).cost == pytest.approx(expected, rel=RTOL)


def test_normalize_rescales_unequal_masses():
    cost = np.array([[0.0, 1.0], [1.0, 0.0]])
    result = emd.solve([2.0, 0.0], [0.0, 5.0], cost, normalize=True)
    assert result.cost == pytest.approx(1.0)
    assert result.a.sum() == pytest.approx(1.0)


def test_potentials_are_centred_and_dual_value_equals_cost():
    rng = np.random.default_rng(9)
    a, b = random_weights(rng, 30), random_weights(rng, 20)
    result = emd.solve(a, b, rng.random((30, 20)))
    assert math.fsum(a * result.u) == pytest.approx(math.fsum(b * result.v), rel=1e-9, abs=1e-15)
    assert math.fsum(a * result.u) + math.fsum(b * result.v) == pytest.approx(result.cost, rel=1e-12)


def test_iteration_limit_reports_status_and_returns_a_feasible_plan():
    rng = np.random.default_rng(0)
    a, b = random_weights(rng, 200), random_weights(rng, 200)
    cost = rng.random((200, 200))
    with pytest.warns(emd.SolverWarning, match="max_iter=25"):
        result = emd.solve(a, b, cost, max_iter=25)
    assert result.status == "max_iter_reached" and not result.converged
    plan = result.dense_plan()
    np.testing.assert_allclose(plan.sum(axis=1), a, atol=1e-12)
    np.testing.assert_allclose(plan.sum(axis=0), b, atol=1e-12)
    assert not result.certificate().optimal()
    assert result.cost == pytest.approx((plan * cost).sum(), rel=1e-12)


def test_concurrent_solves_match_serial_results():
    rng = np.random.default_rng(11)
    problems = [
        (random_weights(rng, 150), random_weights(rng, 150), rng.random((150, 150)))
        for _ in range(6)
    ]
    serial = [emd.solve(*problem).cost for problem in problems]
    parallel = [None] * len(problems)

    def work(k):
        parallel[k] = emd.solve(*problems[k]).cost

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(problems))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert parallel == serial


def test_repr_is_short():
    result = emd.solve([1.0], [1.0], [[2.5]])
    assert repr(result).startswith("TransportResult(cost=2.5")
    assert "optimal=True" in repr(result.certificate())


# --- properties ---------------------------------------------------------------------------

weights = st.lists(st.integers(0, 20), min_size=1, max_size=12).filter(lambda w: sum(w) > 0)


def _points(draw, size):
    return np.array(draw(st.lists(
        st.tuples(st.integers(-5, 5), st.integers(-5, 5)), min_size=size, max_size=size,
    )), dtype=float)


@st.composite
def metric_problem(draw):
    a = np.array(draw(weights), float)
    b = np.array(draw(st.lists(st.integers(0, 20), min_size=1, max_size=12)
                      .filter(lambda w: sum(w) > 0)), float)
    return a / a.sum(), b / b.sum(), _points(draw, a.size), _points(draw, b.size)


@settings(max_examples=60, deadline=None)
@given(metric_problem())
def test_property_self_distance_is_zero_and_symmetric(problem):
    a, b, x, y = problem
    assert emd.solve_points(x, x, a, a).cost == pytest.approx(0.0, abs=1e-12)
    forward = emd.solve_points(x, y, a, b)
    backward = emd.solve_points(y, x, b, a)
    assert forward.cost == pytest.approx(backward.cost, rel=1e-12, abs=1e-12)
    assert forward.certificate().optimal()


@settings(max_examples=40, deadline=None)
@given(metric_problem(), st.data())
def test_property_triangle_inequality(problem, data):
    a, b, x, y = problem
    c = np.array(data.draw(st.lists(st.integers(1, 9), min_size=1, max_size=8)), float)
    c /= c.sum()
    z = _points(data.draw, c.size)
    for metric in ("euclidean", "cityblock"):
        ab = emd.wasserstein(x, y, a, b, metric=metric)
        bc = emd.wasserstein(y, z, b, c, metric=metric)
        ac = emd.wasserstein(x, z, a, c, metric=metric)
        assert ac <= ab + bc + 1e-12


@settings(max_examples=40, deadline=None)
@given(metric_problem(), st.randoms(use_true_random=False))
def test_property_permuting_bins_changes_nothing(problem, random):
    a, b, x, y = problem
    cost = metric_cost(x, y, "euclidean")
    rows = list(range(a.size))
    cols = list(range(b.size))
    random.shuffle(rows)
    random.shuffle(cols)
    original = emd.solve(a, b, cost)
    permuted = emd.solve(a[rows], b[cols], cost[np.ix_(rows, cols)])
    assert permuted.cost == pytest.approx(original.cost, rel=1e-12, abs=1e-14)
    assert original.cost == pytest.approx(pot_cost(a, b, cost), rel=1e-9, abs=1e-14)


# --- validation ---------------------------------------------------------------------------

GOOD_COST = np.ones((2, 3))


@pytest.mark.parametrize("a,b,cost,match", [
    ([], [1.0], [[1.0]], "a is empty"),
    ([1.0, -1.0], [0.0, 0.0, 0.0], GOOD_COST, r"a has a negative weight -1.0 at index 1"),
    ([1.0, np.nan], [1.0, 1.0, 0.0], GOOD_COST, r"a has a non-finite weight nan at index 1"),
    ([1.0, 1.0], [1.0, np.inf, 0.0], GOOD_COST, r"b has a non-finite weight inf at index 1"),
    ([0.0, 0.0], [1.0, 1.0, 0.0], GOOD_COST, "a has zero total mass"),
    ([1.0, 1.0], [1.0, 1.0], GOOD_COST, r"cost has shape \(2, 3\) but the weights need shape \(2, 2\)"),
    ([1.0, 1.0], [1.0, 1.0, 0.0], [[1.0, np.nan, 1.0], [1, 1, 1]], r"non-finite entry nan at index \(0, 1\)"),
    ([1.0, 1.0], [1.0, 1.0, 0.0], [[1.0, np.inf, 1.0], [1, 1, 1]], "non-finite entry inf"),
    ([1.0, 1.0], [1.0, 1.0, 1.0], GOOD_COST, r"equal total mass, got sum\(a\)=2.0 and sum\(b\)=3.0"),
    ([[1.0, 1.0]], [1.0, 1.0, 0.0], GOOD_COST, "a must be 1-dimensional"),
    ([1.0, 1.0], [1.0, 1.0, 0.0], np.ones(6), "cost must be 2-dimensional"),
])
def test_solve_rejects_bad_input(a, b, cost, match):
    with pytest.raises(ValueError, match=match):
        emd.solve(a, b, cost)


def test_solve_rejects_non_numbers_and_bad_iteration_limits():
    with pytest.raises(TypeError, match="a must contain real numbers"):
        emd.solve(["x", "y"], [1.0, 1.0], np.ones((2, 2)))
    with pytest.raises(TypeError, match="complex"):
        emd.solve([1.0, 1.0], [1.0, 1.0], np.ones((2, 2)) * 1j)
    with pytest.raises(ValueError, match="max_iter must be >= 1"):
        emd.solve([1.0], [1.0], [[1.0]], max_iter=0)
    with pytest.raises(TypeError, match="max_iter must be an integer"):
        emd.solve([1.0], [1.0], [[1.0]], max_iter=2.5)
    with pytest.raises(ValueError, match="a must be an array of numbers"):
        emd.solve([[1.0], [1.0, 2.0]], [1.0], [[1.0]])


@pytest.mark.parametrize("kwargs,error,match", [
    # A mask is not applied: refusing beats transporting the hidden mass.
    ({"a": np.ma.array([1.0, 5.0], mask=[False, True])}, TypeError, r"a is a masked array.*a\.filled\(0\)"),
    ({"cost": np.ma.array(np.ones((2, 2)))}, TypeError, "cost is a masked array"),
    # float("1.5") would parse text silently.
    ({"a": np.array(["0.5", "0.5"], dtype=object)}, TypeError, "a must contain numbers, got the string '0.5'"),
    ({"b": np.array([1.0, b"1"], dtype=object)}, TypeError, "b must contain numbers, got the string b'1'"),
    # operator.index(True) == 1: a flag passed by mistake would mean one pivot.
    ({"max_iter": True}, TypeError, "max_iter must be an integer, got the bool True"),
    ({"max_iter": np.False_}, TypeError, "max_iter must be an integer, got the bool False"),
    ({"cost": scipy.sparse.coo_array(np.ones((2, 2)))}, TypeError, r"cost is a scipy.sparse matrix.*toarray\(\).*emd.compat.pot.emd"),
    ({"a": scipy.sparse.csr_array([[1.0, 1.0]])}, TypeError, r"a is a scipy.sparse matrix; pass a dense array"),
])
def test_solve_refuses_masks_text_sparse_and_bool_limits(kwargs, error, match):
    args = {"a": [1.0, 1.0], "b": [1.0, 1.0], "cost": np.ones((2, 2)), **kwargs}
    with pytest.raises(error, match=match):
        emd.solve(args.pop("a"), args.pop("b"), args.pop("cost"), **args)


def test_object_arrays_of_numbers_are_still_accepted():
    from fractions import Fraction

    a = np.array([Fraction(1, 2), 0.5], dtype=object)
    assert emd.solve(a, [1, 0], [[0.0, 1.0], [2.0, 0.0]]).cost == 1.0


@pytest.mark.parametrize("kwargs,match", [
    ({"x": np.ones((3, 2)), "y": np.ones((3, 3))}, r"same number of coordinates, got shapes \(3, 2\) and \(3, 3\)"),
    ({"x": np.ones((0, 2)), "y": np.ones((3, 2))}, "x is empty"),
    ({"x": [[0.0, np.nan]], "y": np.ones((3, 2))}, r"x has a non-finite coordinate nan at index \(0, 1\)"),
    ({"x": np.ones((3, 2)), "y": np.ones((3, 2)), "metric": "cosine"}, "metric must be one of"),
    ({"x": np.ones((3, 2)), "y": np.ones((3, 2)), "metric": "minkowski"}, "needs the exponent p"),
    ({"x": np.ones((3, 2)), "y": np.ones((3, 2)), "metric": "minkowski", "p": 0.5}, "p must be >= 1"),
    ({"x": np.ones((3, 2)), "y": np.ones((3, 2)), "p": 3}, "p is only used with metric='minkowski'"),
    ({"x": np.ones((3, 2)), "y": np.ones((3, 2)), "a": [1.0, 1.0]}, "a has 2 entries but 3 were expected"),
    ({"x": np.ones((3, 2)), "y": np.ones((3, 2)), "a": [1.0, 1.0, 1.0]}, "equal total mass"),
])
def test_solve_points_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        emd.solve_points(**kwargs)


def test_metric_aliases_and_minkowski_special_cases():
    rng = np.random.default_rng(6)
    x, y = rng.random((20, 3)), rng.random((20, 3))
    assert emd.solve_points(x, y, metric="minkowski", p=1).metric == "cityblock"
    assert emd.solve_points(x, y, metric="L2").metric == "euclidean"
    assert emd.solve_points(x, y, metric="minkowski", p=np.inf).cost == pytest.approx(
        emd.solve_points(x, y, metric="chebyshev").cost, rel=1e-12
    )


def test_warning_free_on_success():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        emd.solve([1.0, 1.0], [1.0, 1.0], [[0.0, 1.0], [1.0, 0.0]])


def test_wasserstein_normalises_like_scipy():
    x, y, a, b = [0.0, 1.0, 3.0], [5.0, 6.0, 8.0], [1.0, 1.0, 1.0], [2.0, 2.0, 1.0]
    expected = scipy.stats.wasserstein_distance(x, y, a, b)
    assert emd.wasserstein(x, y, a, b) == pytest.approx(expected, rel=1e-12)
    rng = np.random.default_rng(3)
    p, q = rng.random((6, 2)), rng.random((5, 2))
    wa, wb = rng.random(6) * 3, rng.random(5) * 7
    ref = emd.solve_points(p, q, wa / wa.sum(), wb / wb.sum()).cost
    assert emd.wasserstein(p, q, wa, wb) == pytest.approx(ref, rel=1e-12)


def test_wasserstein_moves_masses_as_given_only_when_asked():
    x, y, a = [0.0, 1.0, 3.0], [5.0, 6.0, 8.0], [1.0, 1.0, 1.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the default is settled: no FutureWarning
        assert emd.wasserstein(x, y, a, a) == pytest.approx(5.0)
    assert emd.wasserstein(x, y, a, a, normalize=False) == pytest.approx(15.0)  # 3 units moved
    with pytest.raises(TypeError, match="normalize must be True or False"):
        emd.wasserstein(x, y, a, a, normalize=None)
