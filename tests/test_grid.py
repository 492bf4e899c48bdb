"""Grid histograms against the dense solvers of POT and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from oracles import metric_cost, pot_cost

import emd
from emd.structured import euclidean_offsets


def _coords(shape):
    return np.stack(np.unravel_index(np.arange(int(np.prod(shape))), shape), axis=1).astype(float)


def _pair(rng, shape, zeros=0.0):
    a, b = rng.random(shape), rng.random(shape)
    if zeros:
        a[rng.random(shape) < zeros] = 0.0
        b[rng.random(shape) < zeros] = 0.0
    return a / a.sum(), b / b.sum()


@pytest.mark.parametrize("shape", [(7,), (5, 5), (12, 9), (32, 32), (4, 3, 5)])
@pytest.mark.parametrize("metric", ["cityblock", "chebyshev"])
def test_exact_metrics_match_dense_pot(shape, metric):
    rng = np.random.default_rng(len(shape) * 100 + shape[0])
    a, b = _pair(rng, shape, zeros=0.3)
    coords = _coords(shape)
    expected = pot_cost(a.ravel(), b.ravel(), metric_cost(coords, coords, metric))
    result = emd.solve_grid(a, b, metric=metric)
    assert result.cost == pytest.approx(expected, rel=1e-9)
    assert result.rel_error_bound == 0.0 and result.converged
    # The potential is a KR witness: its value is the cost, its slopes are <= 1.
    assert np.sum((a - b) * result.potential) == pytest.approx(result.cost, rel=1e-9)
    f = result.potential.ravel()
    dist = metric_cost(coords, coords, metric)
    assert (np.abs(f[:, None] - f[None, :]) <= dist + 1e-12).all()


@pytest.mark.parametrize("shape", [(6, 6), (16, 16), (32, 32)])
@pytest.mark.parametrize("L", [1, 2, 3, 5])
def test_euclidean_lies_within_its_error_bound(shape, L):
    rng = np.random.default_rng(shape[0] + L)
    a, b = _pair(rng, shape)
    coords = _coords(shape)
    exact = pot_cost(a.ravel(), b.ravel(), metric_cost(coords, coords, "euclidean"))
    result = emd.solve_grid(a, b, metric="euclidean", L=L)
    assert exact * (1 - 1e-12) <= result.cost <= exact * (1 + result.rel_error_bound)
    assert result.lower_bound <= exact * (1 + 1e-12)


def test_euclidean_exact_and_one_dimensional_paths():
    rng = np.random.default_rng(1)
    a, b = _pair(rng, (10, 10), zeros=0.2)
    coords = _coords((10, 10))
    exact = pot_cost(a.ravel(), b.ravel(), metric_cost(coords, coords, "euclidean"))
    result = emd.solve_grid(a, b, metric="euclidean", exact=True)
    assert result.cost == pytest.approx(exact, rel=1e-9)
    assert np.sum((a - b) * result.potential) == pytest.approx(exact, rel=1e-9)
    u, v = _pair(rng, (40,))
    line = emd.solve_grid(u, v, metric="euclidean", spacing=0.5)
    assert line.rel_error_bound == 0.0
    assert line.cost == pytest.approx(emd.wasserstein_1d(np.arange(40) * 0.5, np.arange(40) * 0.5, u, v), rel=1e-12)


def test_error_bound_values_and_max_rel_error():
    assert euclidean_offsets(3)[1] == pytest.approx(1 / np.cos(np.arctan(1 / 3) / 2) - 1)
    assert euclidean_offsets(3)[1] < 0.0132
    assert euclidean_offsets(10)[1] < 0.00125
    rng = np.random.default_rng(2)
    a, b = _pair(rng, (12, 12))
    result = emd.solve_grid(a, b, metric="euclidean", max_rel_error=0.002)
    assert result.rel_error_bound <= 0.002
    assert euclidean_offsets(result.L - 1)[1] > 0.002


@pytest.mark.parametrize("shift", [1, 3, 17])
def test_translation_costs_shift_times_mass_at_256(shift):
    rng = np.random.default_rng(shift)
    image = np.zeros((256, 256))
    image[40:120, 30:110] = rng.random((80, 80))
    moved = np.roll(image, shift, axis=1)
    result = emd.solve_grid(image, moved, spacing=0.5)
    assert result.cost == pytest.approx(0.5 * shift * image.sum(), rel=1e-9)


def test_diagonal_translation_under_each_metric():
    image = np.zeros((40, 40))
    image[5:15, 5:12] = 1.0
    moved = np.roll(np.roll(image, 4, axis=0), 3, axis=1)
    mass = image.sum()
    assert emd.solve_grid(image, moved).cost == pytest.approx(7 * mass)
    assert emd.solve_grid(image, moved, metric="chebyshev").cost == pytest.approx(4 * mass)
    # (4, 3) is itself a primitive offset once L >= 4, so the straight move costs exactly 5.
    assert emd.solve_grid(image, moved, metric="euclidean", L=4).cost == pytest.approx(5 * mass)


def test_flows_reproduce_the_marginals():
    rng = np.random.default_rng(3)
    a, b = _pair(rng, (9, 11))
    result = emd.solve_grid(a, b, return_flows=True)
    tails, heads, flow = result.flows
    net = np.bincount(tails, flow, minlength=a.size) - np.bincount(heads, flow, minlength=a.size)
    np.testing.assert_allclose(net, (a - b).ravel(), atol=1e-14)
    assert np.sum(flow) == pytest.approx(result.cost)  # unit-length arcs


def test_unequal_totals_and_normalize():
    a = np.ones((3, 3))
    b = np.zeros((3, 3))
    b[0, 0] = 3.0
    with pytest.raises(ValueError, match=r"equal total mass, got sum\(A\)=9.0 and sum\(B\)=3.0"):
        emd.wasserstein_grid(a, b)
    normalized = emd.solve_grid(a, b, normalize=True)
    coords = _coords((3, 3))
    assert normalized.cost == pytest.approx(
        pot_cost(np.full(9, 1 / 9), (b / 3).ravel(), metric_cost(coords, coords, "cityblock"))
    )


@pytest.mark.parametrize("kwargs,match", [
    ({"A": np.ones((2, 2)), "B": np.ones((2, 3))}, r"same shape, got \(2, 2\) and \(2, 3\)"),
    ({"A": -np.ones((2, 2)), "B": np.ones((2, 2))}, "A has a negative weight"),
    ({"A": np.full((2, 2), np.nan), "B": np.ones((2, 2))}, "A has a non-finite weight"),
    ({"A": np.ones((2, 2, 2, 2)), "B": np.ones((2, 2, 2, 2))}, "A must be 1 or 2 or 3-dimensional"),
    ({"A": np.ones((2, 2)), "B": np.ones((2, 2)), "metric": "cosine"}, "metric must be one of"),
    ({"A": np.ones((2, 2)), "B": np.ones((2, 2)), "spacing": 0}, "spacing must be a positive"),
    ({"A": np.ones((2, 2)), "B": np.ones((2, 2)), "L": 2}, "only apply to metric='euclidean'"),
    ({"A": np.ones((2, 2)), "B": np.ones((2, 2)), "metric": "euclidean", "L": 2, "max_rel_error": 0.1}, "not both"),
    ({"A": np.ones((2, 2, 2)), "B": np.ones((2, 2, 2)), "metric": "euclidean"}, "needs exact=True"),
    ({"A": np.ones((2, 2)), "B": np.ones((2, 2)), "metric": "euclidean", "L": 0}, "L must be >= 1"),
])
def test_grid_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        emd.wasserstein_grid(**kwargs)


def test_iteration_limit_gives_nan_not_a_wrong_distance():
    rng = np.random.default_rng(4)
    a, b = _pair(rng, (20, 20))
    with pytest.warns(emd.SolverWarning, match="max_iter=3"):
        result = emd.solve_grid(a, b, max_iter=3)
    assert result.status == "max_iter_reached" and np.isnan(result.cost)


def test_one_dimensional_flows_and_potential():
    rng = np.random.default_rng(6)
    a, b = _pair(rng, (50,))
    result = emd.solve_grid(a, b, spacing=0.25, return_flows=True)
    tails, heads, flow = result.flows
    net = np.bincount(tails, flow, minlength=50) - np.bincount(heads, flow, minlength=50)
    np.testing.assert_allclose(net, a - b, atol=1e-15)
    assert 0.25 * flow.sum() == pytest.approx(result.cost, rel=1e-12)
    assert np.sum((a - b) * result.potential) == pytest.approx(result.cost, rel=1e-12)
    assert (np.abs(np.diff(result.potential)) <= 0.25 + 1e-15).all()
    # Long lines take the closed form: a unit mass crossing 10^6 bins at once.
    start, end = np.zeros(1_000_000), np.zeros(1_000_000)
    start[0], end[-1] = 1.0, 1.0
    assert emd.solve_grid(start, end).cost == 999_999.0


@pytest.mark.parametrize("shape", [(9, 13), (17, 10), (16, 16)])
@pytest.mark.parametrize("metric", ["cityblock", "chebyshev", "euclidean"])
def test_warm_start_on_odd_shapes_matches_dense_pot(monkeypatch, shape, metric):
    """Force the coarse-to-fine warm start on small grids and check against POT."""
    from emd.structured import _grid

    monkeypatch.setattr(_grid, "WARM_START_MIN_BINS", 16)
    rng = np.random.default_rng(shape[0] * 7 + len(metric))
    a, b = _pair(rng, shape, zeros=0.4)
    solver = _grid.GridSolver(shape, metric)
    assert solver.graph.coarse is not None and solver.graph.coarse.coarse is not None
    *_, status, tree = _grid._solve_on_grid(
        (a - b).reshape(shape), solver.graph, None
    )
    assert status == "optimal"
    assert tree.check_structure() and tree.check_potentials()
    coords = _coords(shape)
    exact = pot_cost(a.ravel(), b.ravel(), metric_cost(coords, coords, metric))
    result = solver((a - b).ravel())
    bound = result.rel_error_bound
    assert exact * (1 - 1e-9) <= result.cost <= exact * (1 + bound) * (1 + 1e-12)
    if metric != "euclidean":
        assert result.cost == pytest.approx(exact, rel=1e-9)
    assert np.sum((a - b) * result.potential) == pytest.approx(result.cost, rel=1e-9)


def test_single_bin_grids():
    for shape in [(1,), (1, 1), (1, 1, 1)]:
        assert emd.solve_grid(np.ones(shape), np.ones(shape)).cost == 0.0


def test_max_iter_counts_the_warm_start_levels(monkeypatch):
    from emd.structured import _grid

    monkeypatch.setattr(_grid, "WARM_START_MIN_BINS", 16)
    rng = np.random.default_rng(9)
    a, b = _pair(rng, (24, 24))
    full = emd.solve_grid(a, b)
    assert full.n_iter > 50
    with pytest.warns(emd.SolverWarning):
        stopped = emd.solve_grid(a, b, max_iter=full.n_iter // 2)
    assert stopped.n_iter <= full.n_iter // 2


def _graph_distances(graph):
    """Shortest-path distances of a grid graph: the ground cost it solves exactly."""
    import scipy.sparse
    from scipy.sparse import csgraph

    n = int(np.prod(graph.shape))
    tails, heads, costs = graph.arcs()
    adjacency = scipy.sparse.coo_array((costs, (tails, heads)), shape=(n, n)).tocsr()
    return csgraph.shortest_path(adjacency, method="D", directed=True)


def _worst_arc_excess(graph, potential):
    """Largest ``(f[tail] - f[head] - c) / (c + |f[tail]| + |f[head]|)`` over every arc."""
    tails, heads, costs = graph.arcs()
    f = potential.ravel()
    excess = (f[tails] - f[heads] - costs) / (costs + np.abs(f[tails]) + np.abs(f[heads]))
    return float(excess.max())


@pytest.mark.parametrize("shape", [(12, 12), (21, 17), (36, 33)])
@pytest.mark.parametrize("L", [3, 5, 10])
def test_column_generation_equals_all_arcs_and_pot(shape, L):
    from emd.structured import _grid

    rng = np.random.default_rng(shape[0] * 13 + L)
    a, b = _pair(rng, shape, zeros=0.2 if L == 5 else 0.0)
    solver = _grid.GridSolver(shape, "euclidean", 1.0, L)
    graph = solver.graph
    assert graph.column_generation
    tails, _, _, _, _, status, _ = _grid._solve_on_grid(a - b, graph, None)
    assert status == "optimal" and tails.size < graph.n_arcs  # a subgraph was enough
    result = solver((a - b).ravel())
    *_, status_all, tree_all = _grid._solve_on_grid(a - b, graph, None, all_arcs=True)
    assert status_all == "optimal"
    assert result.cost == pytest.approx(tree_all.cost(), rel=1e-12, abs=0)
    expected = pot_cost(a.ravel(), b.ravel(), _graph_distances(graph))
    assert result.cost == pytest.approx(expected, rel=1e-9)
    # Dual certificate on the full L-graph, not only on the arcs the solve used.
    assert _worst_arc_excess(graph, result.potential) <= 1e-12
    assert np.sum((a - b) * result.potential) == pytest.approx(result.cost, rel=1e-12)


@pytest.mark.parametrize("metric", ["cityblock", "chebyshev", "euclidean"])
def test_short_block_and_warm_start_certify_on_every_arc(monkeypatch, metric):
    from emd.structured import _grid

    monkeypatch.setattr(_grid, "WARM_START_MIN_BINS", 64)
    monkeypatch.setattr(_grid, "CORE_L", 1)
    shape = (23, 30)
    rng = np.random.default_rng(len(metric))
    a, b = _pair(rng, shape, zeros=0.3)
    solver = _grid.GridSolver(shape, metric, 0.5, 4 if metric == "euclidean" else None)
    assert solver.graph.coarse is not None and not solver.graph.plain
    result = solver((a - b).ravel(), return_flows=True)
    expected = pot_cost(a.ravel(), b.ravel(), _graph_distances(solver.graph))
    assert result.cost == pytest.approx(expected, rel=1e-9)
    assert _worst_arc_excess(solver.graph, result.potential) <= 1e-12
    tails, heads, flow = result.flows
    net = np.bincount(tails, flow, minlength=a.size) - np.bincount(heads, flow, minlength=a.size)
    np.testing.assert_allclose(net, (a - b).ravel(), atol=1e-14)
    lengths = 0.5 * np.linalg.norm(_coords(shape)[heads] - _coords(shape)[tails],
                                   ord={"cityblock": 1, "chebyshev": np.inf, "euclidean": 2}[metric],
                                   axis=1)
    assert np.dot(flow, lengths) == pytest.approx(result.cost, rel=1e-12)


def test_batches_on_column_generated_grids_equal_single_solves_bitwise():
    from emd.structured import _grid

    rng = np.random.default_rng(11)
    shape = (40, 40)
    hists = [_pair(rng, shape)[0].ravel() for _ in range(3)]
    solver = _grid.GridSolver(shape, "euclidean", 1.0, 6)
    assert not solver.graph.plain
    left = np.stack(hists)
    pairs = np.array([[0, 1], [1, 2], [2, 0]], dtype=np.intp)
    values, optimal = solver.pair_costs(left, left, pairs)
    assert optimal.all()
    for (i, j), value in zip(pairs, values, strict=True):
        assert value == emd.solve_grid(
            hists[i].reshape(shape), hists[j].reshape(shape), metric="euclidean", L=6
        ).cost
