"""Starts that a cost's structure earns (issue 25), and the cost matrix of wide point pairs.

* Monge-like dense costs start from their staircase: the north-west corner for
  Monge costs, the north-east corner (columns reversed) for anti-Monge ones.
  For exactly Monge costs that plan is optimal whatever the weights (Hoffman
  1963), which gives a closed form; the costs here are not the ones the rule
  was measured on (i * j): other monotone factors, other signs, noise.
* Point pairs in many dimensions are priced on a matrix computed once; its
  costs must be the on-the-fly kernel's bits (a sum of squares in coordinate
  order, then the root), so the point certificate keeps its meaning.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
from oracles import exact_integer_cost, highs_cost, pot_cost, random_weights

import emd
from emd._core import _pair, _pricing


def _corner_cost(a, b, cost, reverse: bool) -> Fraction:
    """The exact cost of the north-west (``reverse``: north-east) corner plan, in
    integers: the closed form of a Monge (anti-Monge) problem."""
    a_left = [Fraction(x) for x in a]
    cols = list(range(len(b)))[::-1] if reverse else list(range(len(b)))
    b_left = {j: Fraction(b[j]) for j in cols}
    total, i, k = Fraction(0), 0, 0
    while i < len(a) and k < len(cols):
        j = cols[k]
        amount = min(a_left[i], b_left[j])
        total += amount * Fraction(cost[i, j])
        a_left[i] -= amount
        b_left[j] -= amount
        if a_left[i] == 0:
            i += 1
        if b_left[j] == 0:
            k += 1
    return total


def _grid(n, m):
    return np.meshgrid(np.arange(n, dtype=float), np.arange(m, dtype=float), indexing="ij")


#: Exactly Monge (reverse False) or anti-Monge (True) costs f(i) g(j), none of them i * j.
PRODUCTS = {
    "sqrt(i+1) log(j+2)": (lambda i, j: np.sqrt(i + 1) * np.log(j + 2), True),
    "-(i+1)^1.5 (j+3)": (lambda i, j: -((i + 1) ** 1.5) * (j + 3), False),
    "exp(i/400) / (j+1)": (lambda i, j: np.exp(i / 400) / (j + 1), False),
    "(i+5)(j+5)^2": (lambda i, j: (i + 5) * (j + 5) ** 2, True),
}


@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_monge_products_match_their_corner_plan(name):
    """Large enough for candidate arcs once the bins without mass drop out (below 2**17
    pairs the solve pivots over every arc from the artificial star, no staircase);
    integer weights with zeros."""
    make, reverse = PRODUCTS[name]
    n, m = 520, 490
    i, j = _grid(n, m)
    cost = np.ascontiguousarray(make(i, j))
    rng = np.random.default_rng(11)
    a = rng.integers(1, 50, n).astype(float)
    b = rng.integers(1, 50, m).astype(float)
    a[::9] = 0.0
    b[4::7] = 0.0
    a[-1] += max(b.sum() - a.sum(), 0.0)
    b[-1] += max(a.sum() - b.sum(), 0.0)
    result = emd.solve(a, b, cost)
    exact = _corner_cost(a, b, cost, reverse)
    assert result.status == "optimal"
    assert result.certificate().optimal()
    assert abs(Fraction(result.cost) - exact) <= Fraction(1, 10**12) * abs(exact)
    # The start is the optimum or next to it: a handful of pivots per node at most
    # (the candidate start took hundreds of thousands on i * j at n = 1000).
    assert result.n_iter <= 2 * (n + m)


@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_noisy_monge_costs_are_exact(sign, seed):
    """Not exactly Monge (noise breaks most adjacent minors): POT and the certificate."""
    n = 500
    i, j = _grid(n, n)
    rng = np.random.default_rng(seed)
    cost = np.ascontiguousarray(sign * np.sqrt(i + 1) * (j + 1) + 0.1 * n * rng.random((n, n)))
    a, b = rng.random(n), rng.random(n)
    a, b = a / a.sum(), b / b.sum()
    result = emd.solve(a, b, cost)
    assert result.certificate().optimal()
    assert result.cost == pytest.approx(pot_cost(a, b, cost), rel=1e-9)


def test_random_costs_are_not_taken_for_monge():
    """i.i.d. costs: no staircase start (its pivots would show: the staircase of a
    random matrix is a poor plan); the answer is POT's either way."""
    n = 600
    rng = np.random.default_rng(3)
    cost = rng.random((n, n))
    a = np.full(n, 1.0 / n)
    result = emd.solve(a, a, cost)
    assert result.certificate().optimal()
    assert result.cost == pytest.approx(pot_cost(a, a, cost), rel=1e-9)


def _sequential_distance(x, y, squared: bool) -> float:
    """A sum of squares in coordinate order, in Python floats (the same IEEE operations
    as the compiled kernel, none of its code)."""
    acc = 0.0
    for xk, yk in zip(x, y, strict=True):
        diff = float(xk) - float(yk)
        acc += diff * diff
    return acc if squared else math.sqrt(acc)


@pytest.mark.parametrize("d", [1, 3, 7, 300])
@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean"])
def test_matrix_of_wide_points_holds_the_kernels_bits(d, metric):
    rng = np.random.default_rng(d)
    n, m = 37, 29  # not multiples of four: the columns left after groups of four too
    x, y = rng.normal(size=(n, d)), rng.normal(size=(m, d))
    a, b = np.full(n, 1.0 / n), np.full(m, 1.0 / m)
    b[5] = 0.0  # a column without mass: the matrix is indexed by original columns
    b /= b.sum()
    code = {"euclidean": 0, "sqeuclidean": 1}[metric]
    bound = _pair.points_cost_bound(x, y, code, 2.0)
    out = _pair.PairWorkspace().solve(a, b, None, x, y, code, 2.0, None, True, bound, 1.0,
                                      10**6)
    tails, heads, arc_costs = out[6], out[7], out[9]
    cols = np.flatnonzero(b > 0)[heads]
    expected = [_sequential_distance(x[t], y[c], metric == "sqeuclidean")
                for t, c in zip(tails, cols, strict=True)]
    assert np.asarray(expected).tobytes() == arc_costs.tobytes()


@pytest.mark.parametrize("d", [3, 7, 16, 33, 300])
@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean"])
def test_every_entry_of_a_formed_matrix_is_the_sequential_sum(d, metric, simd):
    """The whole matrix of the fill (the SIMD kernel on blocks of columns, two rows at a
    time), entry by entry against a sum in coordinate order in Python floats, on the
    AVX2 and the SSE2 path, on one thread and on three; rows and columns not multiples
    of the blocks, and points so small or so large that the sum of squares leaves the
    range where the root alone is exact (the scaled evaluation takes those)."""
    rng = np.random.default_rng(100 + d)
    n, m = 37, 35
    x, y = rng.normal(size=(n, d)), rng.normal(size=(m, d))
    x[3] *= 1e-160
    y[4] *= 1e-160
    x[5] *= 1e160
    y[6] *= 1e160
    code = {"euclidean": 0, "sqeuclidean": 1}[metric]
    one = _pricing._point_matrix(x, y, code, 2.0)
    three = _pricing._point_matrix(x, y, code, 2.0, n_threads=3)
    expected = np.array([[_sequential_distance(xr, yc, metric == "sqeuclidean") for yc in y]
                         for xr in x])
    if metric == "euclidean":
        # Out of range the root of the plain sum would be 0 or inf: the scaled evaluation
        # is the distance to rounding, not the sequential sum's bits.
        squares = np.array([[_sequential_distance(xr, yc, True) for yc in y] for xr in x])
        wild = ~((squares >= 2.0**-960) & (squares < np.inf))
        assert wild[3, 4] and wild[5, 0] and wild.sum() < 2 * (n + m)
        close = np.hypot.reduce(x[:, None, :] - y[None, :, :], axis=2)
        assert one[wild] == pytest.approx(close[wild], rel=1e-13)
        expected[wild] = one[wild]
    assert one.tobytes() == expected.tobytes()
    assert three.tobytes() == one.tobytes()


def test_wide_point_pairs_form_their_matrix_and_agree_with_the_fly():
    """n * m above the small-pair cap in d = 16: priced on the matrix (the rule), and on
    the fly when the rule is switched off; both certified, both POT's value."""
    rng = np.random.default_rng(5)
    n = 1500
    d = 16
    assert _pair.forms_wide_point_matrix(d, n * n)
    assert not _pair.forms_wide_point_matrix(2, n * n)
    x, y = rng.normal(size=(n, d)), rng.normal(size=(n, d)) + 0.2
    a, b = rng.random(n), rng.random(n)
    a, b = a / a.sum(), b / b.sum()
    on_matrix = emd.solve_points(x, y, a, b)
    old = _pair.set_limits(wide_dim=10**6)
    try:
        on_the_fly = emd.solve_points(x, y, a, b)
    finally:
        _pair.set_limits(**old)
    assert on_matrix.certificate().optimal() and on_the_fly.certificate().optimal()
    assert on_matrix.cost == pytest.approx(on_the_fly.cost, rel=1e-12)
    diff = x[:, None, :] - y[None, :, :]
    assert on_matrix.cost == pytest.approx(
        pot_cost(a, b, np.sqrt((diff * diff).sum(axis=2))), rel=1e-9)


# ---------------------------------------------------------------------------
# Tied costs and candidates that keep missing (issue 25, rectangular matrices)


def _integer_problem(rng, n, m, top):
    """Integer costs 0..top-1 and integer weights with equal totals: the exact optimum
    is an integer (exact_integer_cost), whatever plans tie."""
    cost = rng.integers(0, top, (n, m))
    a = rng.integers(1, 20, n)
    b = rng.integers(1, 20, m)
    b[-1] += a.sum() - b.sum()
    if b[-1] <= 0:
        a[-1] += 1 - b[-1]
        b[-1] = 1
    return a, b, cost


@pytest.mark.parametrize("n, m, top", [(300, 40, 10), (40, 300, 10), (200, 150, 3),
                                        (500, 20, 2)])
def test_small_integer_costs_are_exact_whichever_start_they_get(n, m, top):
    """Rows whose cheapest arcs tie send the solve to the staircase test: the tree starts
    on the north-west corner only when most of its arcs are tight under the row and
    column minima.  Random small integers tie without being such costs; both ways the
    answer is the exact integer optimum, proven."""
    rng = np.random.default_rng(n * 1000 + m + top)
    for _ in range(3):
        a, b, cost = _integer_problem(rng, n, m, top)
        scale = int(a.sum())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", emd.SolverWarning)
            result = emd.solve(a / scale, b / scale, cost.astype(float))
        exact = exact_integer_cost(a.tolist(), b.tolist(), cost.tolist())
        assert abs(result.cost * scale - exact) <= 1e-9 * max(exact, 1)
        if exact > 0:
            assert result.status == "optimal"
        else:
            # A zero cost is proven only by a bound of exactly 0, and the weights'
            # roundings (a / scale) leave the float problem's optimum unknown to about
            # an ulp: what is proven is that tiny bound.
            assert result.certificate().bound <= 1e-15


@pytest.mark.parametrize("n, m", [(600, 40), (40, 600), (300, 200)])
def test_switching_to_every_pair_keeps_the_answer_and_its_proof(n, m):
    """A dense pair whose passes keep finding arcs pivots over every pair from the tree it
    has (the planner's COMPLETE_* rule).  Forced here from the first pass on (and
    forbidden) on rank-3 costs, where it is what the rule is for, and on random ones:
    the same optimum as POT and HiGHS, certified, either way."""
    rng = np.random.default_rng(n + 7 * m)
    costs = {"rank 3": rng.random((n, 3)) @ rng.random((m, 3)).T,
             "random": rng.random((n, m))}
    a, b = random_weights(rng, n), random_weights(rng, m)
    for name, cost in costs.items():
        answers, pivots = [], []
        for share in (0, 10**9):
            # No complete list from the start (these matrices are small enough for
            # one): the candidates first, so that the forced switch happens mid-solve.
            old = _pair.set_limits(complete_cells=10**9, complete_after=1, complete_share=share,
                                   all_arcs_cells=0)
            try:
                result = emd.solve(a, b, cost)
            finally:
                _pair.set_limits(**old)
            assert result.status == "optimal", name
            assert result.certificate().optimal(), name
            answers.append(result.cost)
            pivots.append(result.n_iter)
        if name == "rank 3":
            # The candidates miss there: the switch ran, and changed the pivots.
            assert pivots[0] != pivots[1], pivots
        reference = highs_cost(a, b, cost)
        for cost_found in answers:
            assert cost_found == pytest.approx(reference, rel=1e-9, abs=0), name
            assert cost_found == pytest.approx(pot_cost(a, b, cost), rel=1e-9), name
