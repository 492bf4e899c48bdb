"""Partial transport without an n x m matrix: graphs and trees on O(n) arcs (a sink and a
source beside the nodes) and point clouds by column generation with costs on the fly,
against HiGHS on the LP written without dummies, POT's exact partial solver, and the
limits (all the mass is the balanced solve; a tiny mass)."""

import math

import numpy as np
import ot
import pytest
from oracles import highs_partial_cost, highs_unbalanced_cost, metric_cost

import emd
from emd import unbalanced


def _close(value, reference):
    assert value == pytest.approx(reference, rel=1e-7, abs=1e-9)


def _graph_distances(n, edges, lengths):
    """All shortest paths by Floyd-Warshall on the edge list (parallel edges: the shortest),
    independent of the solver and of scipy's duplicate handling."""
    dist = np.full((n, n), np.inf)
    np.fill_diagonal(dist, 0.0)
    for (i, j), length in zip(edges, lengths, strict=True):
        dist[i, j] = dist[j, i] = min(dist[i, j], length)
    for k in range(n):
        dist = np.minimum(dist, dist[:, [k]] + dist[[k], :])
    return dist


def _random_graph(rng, n):
    """A random connected graph: a random tree plus extra edges, some of length 0."""
    parents = np.r_[-1, [rng.integers(0, i) for i in range(1, n)]]
    edges = [(i, parents[i]) for i in range(1, n)]
    for _ in range(int(rng.integers(0, n))):
        i, j = rng.integers(0, n, 2)
        if i != j:
            edges.append((i, j))
    edges = np.array(edges)
    lengths = rng.random(len(edges)) * (rng.random(len(edges)) < 0.85)
    return parents, edges, lengths


def _masses(rng, n, overlap):
    a = rng.random(n) * (rng.random(n) < 0.7)
    b = rng.random(n) * (rng.random(n) < 0.7)
    if overlap:  # most mass matches where it stands: the local matches exceed small m
        b = a * rng.uniform(0.9, 1.2, n)
    a[0] += 0.1
    b[-1] += 0.1
    return a, b


@pytest.mark.parametrize("seed", range(40))
def test_graph_and_tree_partial_match_highs(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 13))
    parents, edges, lengths = _random_graph(rng, n)
    a, b = _masses(rng, n, overlap=seed % 3 == 0)
    mass = min(a.sum(), b.sum()) * [1e-6, 0.3, 0.9, 1.0][seed % 4]
    result = emd.solve_graph((edges, lengths), a, b, partial=mass)
    _close(result.cost, highs_partial_cost(a, b, _graph_distances(n, edges, lengths), mass))
    assert result.status == "optimal" and result.certificate().optimal()
    assert result.plan is None  # arc flows, no plan: nothing n x n was formed
    assert result.mass_moved == pytest.approx(mass, rel=1e-12)
    assert result.mass_destroyed == pytest.approx(a.sum() - mass, rel=1e-9, abs=1e-12)
    assert result.mass_created == pytest.approx(b.sum() - mass, rel=1e-9, abs=1e-12)
    tree_lengths = np.r_[0.0, rng.random(n - 1)]
    tree = emd.solve_tree(parents, tree_lengths, a, b, partial=mass)
    tree_edges = np.stack([np.arange(1, n), parents[1:]], axis=1)
    _close(tree.cost, highs_partial_cost(a, b, _graph_distances(n, tree_edges, tree_lengths[1:]),
                                         mass))
    assert tree.status == "optimal" and tree.certificate().optimal()


def test_graph_partial_network_is_linear_in_size():
    """The flow solved has the graph's arcs, two per node and one more: no n x n matrix."""
    rng = np.random.default_rng(3)
    n = 3000
    parents = np.r_[-1, rng.integers(0, np.arange(1, n))]
    a, b = rng.random(n), 1.3 * rng.random(n)
    result = emd.solve_tree(parents, np.r_[0.0, rng.random(n - 1)], a, b, partial=0.5 * a.sum())
    assert result.status == "optimal"
    # 2 (n - 1) edge arcs, n into the sink, n out of the source, the sink-to-source arc,
    # and one arc per twin (what rounding drops from a - b): all O(n).
    assert result.reduced.flow.size <= 2 * (n - 1) + 2 * n + 1 + n + 4


def test_graph_partial_of_all_the_mass_is_the_balanced_solve():
    rng = np.random.default_rng(5)
    n = 9
    _, edges, lengths = _random_graph(rng, n)
    a = rng.random(n)
    b = rng.permutation(a)
    balanced = emd.solve_graph((edges, lengths), a, b)
    part = emd.solve_graph((edges, lengths), a, b, partial=math.fsum(a))
    _close(part.cost, balanced.cost)
    assert part.status == "optimal"
    assert part.mass_destroyed == pytest.approx(0.0, abs=1e-15)


def test_graph_partial_of_a_tiny_mass_is_tiny():
    """A mass of 1e-9 moved where a and b overlap costs 0; where they do not, the cheapest
    pair's distance times the mass."""
    edges = np.array([[0, 1], [1, 2], [2, 3]])
    lengths = np.array([1.0, 2.0, 4.0])
    result = emd.solve_graph((edges, lengths), [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0],
                             partial=1e-9)
    assert result.status == "optimal"
    assert result.cost == pytest.approx(3e-9, rel=1e-12)
    result = emd.solve_graph((edges, lengths), [1.0, 1.0, 0.0, 0.0], [0.0, 0.5, 1.0, 1.0],
                             partial=1e-9)
    assert result.status == "optimal" and result.cost == 0.0


def test_graph_partial_refuses_a_disconnected_graph():
    with pytest.raises(ValueError, match="connected"):
        emd.solve_graph(([[0, 1], [2, 3]], [1.0, 1.0]), [1.0, 0, 0, 0], [0, 0, 1.0, 0],
                        partial=0.5)


# ---------------------------------------------------------------- points, costs on the fly

@pytest.fixture
def generated(monkeypatch):
    """Every point problem through the column generation (no n x m matrix), however small:
    the size rule is the planner's choice, not part of the answer."""
    monkeypatch.setattr(unbalanced, "DENSE_POINT_PAIRS", 0)


def _clouds(seed, n, m, d, zeros=False):
    rng = np.random.default_rng(seed)
    x, y = rng.random((n, d)), rng.random((m, d))
    a, b = rng.random(n), 1.3 * rng.random(m)
    if zeros:  # zero-mass points: their potentials come from the c-transform
        a[rng.random(n) < 0.3] = 0.0
        b[rng.random(m) < 0.3] = 0.0
        a[0], b[0] = 0.5, 0.5
    return x, y, a, b


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "cityblock", "chebyshev",
                                    "minkowski"])
@pytest.mark.parametrize("seed", range(3))
def test_generated_points_match_highs(generated, metric, seed):
    d = 1 + seed
    x, y, a, b = _clouds(seed, 14 + seed, 17, d, zeros=seed == 1)
    cost = metric_cost(x, y, metric, p=3.0)
    kwargs = {"p": 3.0} if metric == "minkowski" else {}
    for fraction in (1e-6, 0.4, 1.0):
        mass = fraction * min(a.sum(), b.sum())
        result = emd.solve_points(x, y, a, b, metric=metric, partial=mass, **kwargs)
        _close(result.cost, highs_partial_cost(a, b, cost, mass))
        assert result.status == "optimal" and result.certificate().optimal()
        assert result.reduced.certificate(recompute=True).optimal()
        assert result.mass_moved == pytest.approx(mass, rel=1e-9)
        plan = result.dense_plan()
        assert (plan.sum(axis=1) <= a * (1 + 1e-12) + 1e-15).all()
        assert (plan.sum(axis=0) <= b * (1 + 1e-12) + 1e-15).all()
    for lam in (0.05, 0.5):
        result = emd.solve_points(x, y, a, b, metric=metric, unbalanced=lam, **kwargs)
        _close(result.cost, highs_unbalanced_cost(a, b, cost, lam))
        assert result.status == "optimal"


def test_generated_points_certificate_covers_every_arc(generated):
    """Recomputed from scratch, the certificate prices every pair of the padded problem,
    dummies included; the potentials of zero-mass points keep every pair dual feasible."""
    x, y, a, b = _clouds(7, 30, 25, 2, zeros=True)
    for kwargs in ({"partial": 0.5 * min(a.sum(), b.sum())}, {"unbalanced": 0.2}):
        result = emd.solve_points(x, y, a, b, **kwargs)
        reduced = result.reduced
        assert reduced.certificate(recompute=True).optimal()
        n, m = a.size, b.size
        dummy = 0.0 if "partial" in kwargs else kwargs["unbalanced"]
        u, v = reduced.u, reduced.v
        # Every real pair and every pair with one dummy (the corner is the solver's own
        # choice for partial transport: its proof is that no optimum uses it).
        assert (metric_cost(x, y, "euclidean") - u[:n, None] - v[None, :m]).min() >= -1e-12
        assert (dummy - u[n:, None] - v[None, :m]).min() >= -1e-12
        assert (dummy - u[:n, None] - v[None, m:]).min() >= -1e-12
        # The dense solve of the same padded problem gives the same value.
        _close(result.cost, emd.solve(a, b, metric_cost(x, y, "euclidean"), **kwargs).cost)


def test_generated_partial_matches_pot_and_the_balanced_limit(generated):
    x, y, a, b = _clouds(11, 120, 90, 2)
    cost = metric_cost(x, y, "euclidean")
    mass = 0.7 * min(a.sum(), b.sum())
    result = emd.solve_points(x, y, a, b, partial=mass)
    _close(result.cost, float(ot.partial.partial_wasserstein2(a, b, cost, m=mass)))
    # All the mass of equal totals: the balanced point solve.
    b_eq = b * (a.sum() / b.sum())
    full = emd.solve_points(x, y, a, b_eq, partial=min(math.fsum(a), math.fsum(b_eq)))
    _close(full.cost, emd.solve_points(x, y, a, b_eq).cost)
    assert full.status == "optimal"


def test_large_partial_points_form_no_matrix():
    """Above the size rule the partial point solve keeps O(n + m) memory: 3000 x 3000 points
    (a 72 MB matrix of costs) peak far below that in Python allocations."""
    import tracemalloc

    x, y, a, b = _clouds(2, 3000, 3000, 2)
    assert 3000 * 3000 > unbalanced.DENSE_POINT_PAIRS
    tracemalloc.start()
    try:
        result = emd.solve_points(x, y, a, b, partial=0.5 * a.sum())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.status == "optimal"
    assert peak < 20e6, peak


def test_generated_points_stopped_early_are_feasible_and_not_optimal(generated):
    x, y, a, b = _clouds(4, 40, 35, 2)
    with pytest.warns(emd.SolverWarning):
        result = emd.solve_points(x, y, a, b, partial=0.5 * a.sum(), max_iter=3)
    assert result.status == "max_iter_reached"
    plan = result.reduced.dense_plan()  # the padded plan: every row and column met
    np.testing.assert_allclose(plan.sum(axis=1), result.reduced.a, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(plan.sum(axis=0), result.reduced.b, rtol=1e-12, atol=1e-15)
