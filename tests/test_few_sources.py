"""A handful of bins against very many: successive shortest paths finished by the simplex.

The thresholds of :mod:`emd._few` are lowered in most tests so that problems
small enough for the references (POT, HiGHS, exact integer and fraction
solves) take the few-sources path; a spy checks that they did.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from emd._core._pair import column_generation
from emd._core._starts import forest_start
from oracles import (
    exact_float_cost,
    exact_integer_cost,
    highs_cost,
    metric_cost,
    pot_cost,
    random_weights,
)

import emd
from emd import _certify, _few, _planner
from emd._core import _few_sources

RTOL = 1e-9


@pytest.fixture
def few(monkeypatch):
    """Send every problem with a side of at most 64 bins through emd._few; the list
    returned records each call."""
    calls = []
    original = _few.solve_bipartite

    def spy(a, b, source):
        calls.append((int(np.count_nonzero(a)), int(np.count_nonzero(b))))
        return original(a, b, source)

    monkeypatch.setattr(_planner, "LARGE_MIN", 1)
    monkeypatch.setattr(_planner, "RATIO", 1)
    monkeypatch.setattr(_few, "solve_bipartite", spy)
    return calls


def check(result, a, b, reference=None, cost=None):
    """Feasible basic plan, certified optimal, dual feasible on every pair."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    plan = result.dense_plan()
    assert (plan >= 0).all()
    scale = max(a.sum(), 1.0)
    np.testing.assert_allclose(plan.sum(axis=1), a, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(plan.sum(axis=0), b, rtol=0, atol=1e-12 * scale)
    assert result.plan.nnz <= a.size + b.size - 1
    assert result.status == "optimal"
    cert = result.certificate(recompute=True)
    assert cert.optimal(RTOL), cert
    assert result.certificate().optimal(RTOL)
    if cost is not None:
        cost = np.asarray(cost, float)
        slack = cost - result.u[:, None] - result.v[None, :]
        assert slack.min() >= -1e-12 * max(np.abs(cost).max(), 1.0)
        # Complementary slackness on the plan's support.
        assert np.abs(slack[plan > 0]).max(initial=0.0) <= 1e-12 * max(np.abs(cost).max(), 1.0)
    if reference is not None:
        assert result.cost == pytest.approx(reference, rel=RTOL, abs=1e-12 * scale)


@pytest.mark.parametrize("n,m", [(3, 2000), (1, 500), (8, 900)])
def test_dense_matches_pot_and_highs_both_orientations(few, n, m):
    rng = np.random.default_rng(n * 1000 + m)
    a, b = random_weights(rng, n), random_weights(rng, m)
    cost = rng.random((n, m)) * 10
    reference = pot_cost(a, b, cost)
    assert highs_cost(a, b, cost) == pytest.approx(reference, rel=1e-8)
    wide = emd.solve(a, b, cost)
    check(wide, a, b, reference, cost)
    tall = emd.solve(b, a, np.ascontiguousarray(cost.T))
    check(tall, b, a, reference, cost.T)
    assert few == [(n, m), (m, n)]
    assert tall.cost == wide.cost


@pytest.mark.parametrize("metric,p,dim", [
    ("euclidean", None, 2), ("sqeuclidean", None, 3), ("cityblock", None, 2),
    ("chebyshev", None, 4), ("minkowski", 3.0, 2),
])
def test_points_match_pot_and_the_dense_form(few, metric, p, dim):
    rng = np.random.default_rng(dim + len(metric))
    x, y = rng.normal(size=(4, dim)), rng.normal(size=(1500, dim))
    a, b = random_weights(rng, 4), random_weights(rng, 1500)
    cost = metric_cost(x, y, metric, p)
    reference = pot_cost(a, b, cost)
    on_the_fly = emd.solve_points(x, y, a, b, metric=metric, p=p)
    check(on_the_fly, a, b, reference, cost)
    swapped = emd.solve_points(y, x, b, a, metric=metric, p=p)
    check(swapped, b, a, reference, cost.T)
    dense = emd.solve(a, b, cost)
    check(dense, a, b, reference, cost)
    assert len(few) == 3


def test_exact_optimum_with_costs_over_sixteen_orders_of_magnitude(few):
    rng = np.random.default_rng(5)
    n, m = 3, 70
    a, b = random_weights(rng, n), random_weights(rng, m)
    a, b = _certify.balance_exactly(a, b)
    cost = rng.random((n, m)) * 10.0 ** rng.integers(-8, 9, size=(n, m))
    exact = exact_float_cost(a, b, cost)
    for result in (emd.solve(a, b, cost), emd.solve(b, a, np.ascontiguousarray(cost.T))):
        check(result, result.a, result.b)
        assert abs(result.cost - float(exact)) <= 1e-12 * float(exact)
    assert len(few) == 2


def test_integer_ties_agree_with_the_exact_integer_optimum(few):
    # Costs in {0, 1, 2} and integer masses: many optimal plans, many equal keys.
    rng = np.random.default_rng(11)
    n, m = 4, 150
    cost = rng.integers(0, 3, size=(n, m))
    b_int = rng.integers(1, 6, size=m)
    a_int = np.full(n, b_int.sum() // n)
    a_int[0] += b_int.sum() - a_int.sum()
    exact = exact_integer_cost(a_int, b_int, cost)
    result = emd.solve(a_int.astype(float), b_int.astype(float), cost.astype(float))
    check(result, a_int, b_int, cost=cost)
    assert result.cost == exact
    assert few == [(n, m)]


@pytest.mark.parametrize("kind", ["zeros", "constant", "row-constant", "column-constant"])
def test_every_plan_optimal(few, kind):
    n, m = 5, 3000
    rows = np.arange(n, dtype=float)[:, None]
    cols = (np.arange(m) % 7).astype(float)[None, :]
    cost = {
        "zeros": np.zeros((n, m)),
        "constant": np.full((n, m), 2.5),
        "row-constant": np.repeat(rows, m, axis=1),
        "column-constant": np.repeat(cols, n, axis=0),
    }[kind]
    a, b = np.full(n, 1 / n), np.full(m, 1 / m)
    expected = {"zeros": 0.0, "constant": 2.5, "row-constant": 2.0,
                "column-constant": float(cols.mean())}[kind]
    result = emd.solve(a, b, cost)
    check(result, a, b, expected, cost)
    assert len(few) == 1


def test_duplicate_sinks_and_sources(few):
    rng = np.random.default_rng(2)
    x = np.repeat(rng.random((2, 2)), [2, 3], axis=0)  # two places, five sources
    y = np.repeat(rng.random((40, 2)), 25, axis=0)     # forty places, 1000 sinks
    a, b = random_weights(rng, 5), random_weights(rng, 1000)
    cost = metric_cost(x, y, "euclidean")
    reference = pot_cost(a, b, cost)
    check(emd.solve_points(x, y, a, b), a, b, reference, cost)
    check(emd.solve_points(y, x, b, a), b, a, reference, cost.T)
    assert len(few) == 2


def test_zero_weights_get_feasible_potentials(few):
    rng = np.random.default_rng(8)
    x, y = rng.random((6, 2)), rng.random((1200, 2))
    a = random_weights(rng, 6, zeros=2)
    b = random_weights(rng, 1200, zeros=300)
    cost = metric_cost(x, y, "euclidean")
    reference = pot_cost(a, b, cost)
    result = emd.solve_points(x, y, a, b)
    check(result, a, b, reference, cost)
    assert (result.dense_plan()[a == 0] == 0).all()
    assert (result.dense_plan()[:, b == 0] == 0).all()
    check(emd.solve(b, a, np.ascontiguousarray(cost.T)), b, a, reference, cost.T)
    assert few == [(4, 900), (900, 4)]


def test_unnormalised_masses_and_rounded_totals(few):
    # Totals that agree only to rounding are balanced exactly, as on the main path.
    rng = np.random.default_rng(4)
    x, y = rng.random((3, 2)), rng.random((800, 2))
    a = rng.random(3) * 7.0
    b = rng.random(800)
    b *= a.sum() / b.sum()
    cost = metric_cost(x, y, "euclidean")
    result = emd.solve_points(x, y, a, b)
    check(result, result.a, result.b, pot_cost(result.a, result.b, cost), cost)
    assert math.fsum(result.a) == math.fsum(result.b)
    assert len(few) == 1


def test_a_single_point_on_the_small_side(few):
    rng = np.random.default_rng(0)
    y, b = rng.random((700, 2)), random_weights(rng, 700)
    result = emd.solve_points([[0.5, 0.5]], y, [1.0], b)
    expected = float(b @ np.hypot(*(y - 0.5).T))
    check(result, [1.0], b, expected)
    assert len(few) == 1


def test_the_real_threshold_dispatches_and_matches_pot(monkeypatch):
    rng = np.random.default_rng(21)
    m = _planner.LARGE_MIN
    x, y = rng.random((3, 2)), rng.random((m, 2))
    a, b = random_weights(rng, 3), random_weights(rng, m)
    assert _planner.few_sources(3, m) and _planner.few_sources(m, 3)
    calls = []
    original = _few.solve_bipartite
    monkeypatch.setattr(_few, "solve_bipartite",
                        lambda *args: calls.append(1) or original(*args))
    result = emd.solve_points(x, y, a, b)
    assert calls == [1]  # the thresholds as shipped send this shape here
    check(result, a, b, pot_cost(a, b, metric_cost(x, y, "euclidean")))


@pytest.mark.parametrize("uniform", [False, True])
def test_batches_leave_these_pairs_to_the_single_solve(few, uniform):
    # Uniform weights have many optimal bases: the compiled pair solve and this
    # path may end on different ones, a rounding apart; a batch entry must be the
    # single solve's value, so the batch hands such pairs to the single solve.
    rng = np.random.default_rng(13)

    def weights(k):
        return np.ones(k) if uniform else rng.random(k)

    small = [(rng.random((k, 2)), weights(k)) for k in (2, 4)]
    large = [(rng.random((k, 2)), weights(k)) for k in (300, 7)]
    matrix = emd.cdist(small, large, normalize=True, n_jobs=1)
    assert len(few) == 4  # every pair qualifies under the lowered thresholds
    for i, (x, a) in enumerate(small):
        for j, (y, b) in enumerate(large):
            assert matrix[i, j] == emd.solve_points(x, y, a, b, normalize=True).cost
    # Histograms on one cost matrix: a two-bin histogram against full ones.
    cost = rng.random((300, 300))
    hists = [np.zeros(300), weights(300), weights(300)]
    hists[0][[5, 77]] = 1.0
    before = len(few)
    by_cost = emd.pairwise(hists, cost=cost, normalize=True, n_jobs=1)
    assert len(few) == before + 2
    for j in (1, 2):
        assert by_cost[0, j] == emd.solve(hists[0], hists[j], cost, normalize=True).cost


def test_which_shapes_go_to_the_few_sources_path():
    assert _planner.few_sources(5, 200_000) and _planner.few_sources(200_000, 5)
    assert _planner.few_sources(20, 100_000) and _planner.few_sources(50, 50_000)
    assert not _planner.few_sources(5, 2000)  # small problems: the simplex is as fast
    assert not _planner.few_sources(100, 20_000)  # too many on the small side
    assert not _planner.few_sources(64, 10_000)  # large side under RATIO times the small
    assert not _planner.few_sources(0, 50_000)
    assert not _planner.few_sources(5, 2_000_000)  # the O(n m) arrays would not pay


def test_an_explicit_pivot_budget_keeps_the_simplex(few):
    rng = np.random.default_rng(1)
    a, b = random_weights(rng, 3), random_weights(rng, 400)
    cost = rng.random((3, 400))
    result = emd.solve(a, b, cost, max_iter=10**6)
    check(result, a, b, pot_cost(a, b, cost), cost)
    assert few == []


@pytest.mark.parametrize("budget", [0, 3])
def test_the_simplex_finishes_from_an_unfinished_plan(few, monkeypatch, budget):
    # With (almost) no augmentations the forest handed over is the cheapest
    # assignment, which ignores the small side's masses: edges are cut and the
    # simplex does the rest, to the same certified optimum.
    monkeypatch.setattr(_few, "AUGMENT_BUDGET", 0)
    calls = []
    original = _few_sources.shortest_paths

    def limited(cost, small, large, tol, max_augment):
        result = original(cost, small, large, tol, budget)
        calls.append(result[1:])
        return result

    monkeypatch.setattr(_few_sources, "shortest_paths", limited)
    rng = np.random.default_rng(budget)
    x, y = rng.random((5, 2)), rng.random((900, 2))
    a, b = random_weights(rng, 5), random_weights(rng, 900)
    cost = metric_cost(x, y, "euclidean")
    check(emd.solve_points(x, y, a, b), a, b, pot_cost(a, b, cost), cost)
    assert calls == [(budget, False)]


def test_shortest_paths_kernel_meets_the_masses():
    rng = np.random.default_rng(3)
    n, m = 6, 2000
    cost = rng.random((m, n))
    small, large = random_weights(rng, n), random_weights(rng, m)
    amounts, augmentations, complete = _few_sources.shortest_paths(
        cost, small, large, 1e-14, 10**6
    )
    assert complete and augmentations > 0
    assert (amounts >= 0).all()
    np.testing.assert_allclose(amounts.sum(axis=1), large, rtol=0, atol=1e-15)
    np.testing.assert_allclose(amounts.sum(axis=0), small, rtol=0, atol=1e-12)
    # Optimal for its own masses: every served pair is a cheapest one for some
    # source potentials (reduced costs checked through the exact LP value).
    plan_cost = float((amounts * cost).sum())
    assert plan_cost == pytest.approx(pot_cost(small, large, cost.T), rel=1e-9)


def test_forest_start_cuts_arcs_without_flow_and_orients_the_rest():
    # Rows 0, 1; columns 2, 3.  Arc 0 -> 3 carries nothing: it must be cut.
    tails = np.array([0, 1, 0], dtype=np.intp)
    heads = np.array([2, 3, 3], dtype=np.intp)
    supply = np.array([1.0, 1.0, -1.0, -1.0])
    preorder, parent, up, down, n_cut = forest_start(4, tails, heads, supply)
    assert n_cut == 1
    assert sorted(preorder.tolist()) == [0, 1, 2, 3]
    edges = {frozenset((int(v), int(parent[v]))) for v in range(4) if parent[v] >= 0}
    assert edges == {frozenset((0, 2)), frozenset((1, 3))}
    # Each kept edge names its arc both ways (start_from_forest reads the one it needs),
    # and the node below carries its flow along it: out of a row, into a column.
    for v in range(4):
        if parent[v] >= 0:
            assert up[v] == down[v] == (0 if 2 in (v, parent[v]) else 1)
    assert parent[2] == 0  # column 2 receives from row 0
    assert parent[1] == 3  # row 1 sends to column 3, whose piece is rooted there


def test_forest_start_drops_arcs_that_close_a_cycle():
    tails = np.array([0, 1, 0, 1], dtype=np.intp)
    heads = np.array([2, 3, 3, 2], dtype=np.intp)  # the last closes a cycle
    supply = np.array([1.0, 1.0, -0.5, -1.5])
    preorder, parent, up, _, n_cut = forest_start(4, tails, heads, supply)
    kept = {int(up[v]) for v in range(4) if parent[v] >= 0}
    assert 3 not in kept and n_cut == 0 and len(kept) == 3
    # The kept arcs carry the plan: every tree edge points the way its flow goes.
    below = supply.copy()
    for v in preorder[::-1]:
        if parent[v] >= 0:
            below[parent[v]] += below[v]
    for v in range(4):
        if parent[v] >= 0:
            assert (below[v] >= 0) == (tails[up[v]] == v)


def test_the_column_generation_loop_stops_on_a_pass_that_finds_nothing():
    # The loop the pair solve and the few-sources path share, driven from Python: it
    # pivots after each pass that added arcs and ends, clean, on the first that added
    # none, with that pass's bound.
    passes = iter([(2, -1.0), (1, -0.5), (0, -1e-30)])
    pivots = iter([(0, 7), (0, 9)])
    status, clean, worst, n_scans = column_generation(
        lambda: next(passes), lambda: next(pivots), 0, 3)
    assert (status, clean, worst, n_scans) == (0, True, -1e-30, 3)


def test_the_column_generation_loop_stops_when_the_simplex_does():
    # A pass that adds arcs the simplex does not pivot on ends the loop unproven (the
    # certificate decides), as does a simplex that stops (here its pivot limit).
    status, clean, _, n_scans = column_generation(lambda: (1, -1.0), lambda: (0, 3), 0, 3)
    assert (status, clean, n_scans) == (0, False, 1)
    status, clean, _, n_scans = column_generation(lambda: (1, -1.0), lambda: (1, 4), 0, 3)
    assert (status, clean, n_scans) == (1, False, 1)


def test_the_column_generation_loop_raises_a_callbacks_error():
    def broken():
        raise ZeroDivisionError("from the pricing pass")

    with pytest.raises(ZeroDivisionError, match="from the pricing pass"):
        column_generation(broken, lambda: (0, 0), 0, 0)
