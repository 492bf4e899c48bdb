"""The coarse-to-fine start on larger grids with smooth, long-range transport, checked
against the min-cost flow LP of the same graph solved by HiGHS."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse
from emd._core._grid import _set_deep_tree_ratio

from emd.structured import _grid


def _smooth_pair(shape, seed):
    """Two smooth fields whose difference moves mass across the grid (the photo-like
    class of the benchmarks), with a little fine-scale noise so every bin counts."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]] / max(shape)
    pair = []
    for _ in range(2):
        image = (1.2 + np.sin(6 * xx + 3 * rng.random()) * np.cos(4 * yy + rng.random())
                 + 0.1 * rng.random(shape))
        image = np.clip(image, 0.0, None)
        pair.append(image / image.sum())
    return pair


def _graph_lp_cost(graph, supply):
    """min c.x over x >= 0 with (outflow - inflow) = supply at every bin, on every arc of
    the graph: the value the grid solver computes, by an independent LP solver."""
    tails, heads, costs = graph.arcs()
    n = supply.size
    arcs = np.arange(tails.size)
    incidence = scipy.sparse.coo_array(
        (np.concatenate([np.ones(tails.size), -np.ones(tails.size)]),
         (np.concatenate([tails, heads]), np.concatenate([arcs, arcs]))),
        shape=(n, tails.size),
    ).tocsr()
    res = scipy.optimize.linprog(
        costs, A_eq=incidence, b_eq=supply, bounds=(0, None), method="highs",
        options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
    )
    assert res.status == 0, res.message
    return float(res.fun)


@pytest.fixture(params=[0.0, np.inf], ids=["alternating", "aligned"])
def crossings(request):
    """Both refinements of a coarse tree edge: crossings alternating by checkerboard
    colour on every level (ratio 0) or always on the low pair (ratio inf)."""
    previous = _set_deep_tree_ratio(request.param)
    yield request.param
    _set_deep_tree_ratio(previous)


@pytest.mark.parametrize("shape", [(45, 38), (33, 50), (40, 40)])
@pytest.mark.parametrize("metric, L", [("cityblock", None), ("chebyshev", None),
                                       ("euclidean", 3)])
def test_refined_start_on_odd_and_even_levels_matches_the_graph_lp(
    monkeypatch, crossings, shape, metric, L,
):
    """Four or more levels (odd sizes at several of them, so blocks cut by the border
    cross on their only pair of facing bins), smooth supplies: the answer is HiGHS's,
    the final tree is consistent and the certificate proves it."""
    monkeypatch.setattr(_grid, "WARM_START_MIN_BINS", 16)
    a, b = _smooth_pair(shape, seed=shape[0] + shape[1])
    supply = (a - b).ravel()
    solver = _grid.GridSolver(shape, metric, 1.0, L)
    levels = 0
    graph = solver.graph
    while graph is not None:
        levels += 1
        graph = graph.coarse
    assert levels >= 4
    *_, status, tree = _grid._solve_on_grid(supply.reshape(shape), solver.graph, None)
    assert status == "optimal"
    assert tree.check_structure() and tree.check_potentials()
    result = solver.solve_pair(a.ravel(), b.ravel())  # totals balanced exactly first
    assert result.status == "optimal" and result.certificate().optimal()
    assert result.cost == pytest.approx(_graph_lp_cost(solver.graph, supply), rel=1e-8)
    # Batches run the same driver: the value is the single solve's, bit for bit.
    values, proven = solver.pair_costs(a.ravel()[None], b.ravel()[None], np.array([[0, 0]]))
    assert values[0] == result.cost and proven[0]


def test_the_crossing_rule_changes_the_pivots_not_the_answer(monkeypatch):
    """The two refinements start the fine simplex from different forests (different
    pivot counts) and end on the same certified optimum."""
    monkeypatch.setattr(_grid, "WARM_START_MIN_BINS", 16)
    a, b = _smooth_pair((48, 48), seed=3)
    supply = (a - b).ravel()
    solver = _grid.GridSolver((48, 48), "cityblock")
    results = []
    for ratio in (0.0, np.inf):
        previous = _set_deep_tree_ratio(ratio)
        try:
            results.append(solver.solve_pair(a.ravel(), b.ravel()))
        finally:
            _set_deep_tree_ratio(previous)
    assert results[0].n_iter != results[1].n_iter
    assert all(r.status == "optimal" and r.certificate().optimal() for r in results)
    reference = _graph_lp_cost(solver.graph, supply)
    for r in results:
        assert r.cost == pytest.approx(reference, rel=1e-8)
