"""Partial transport and unbalanced W1 (emd.unbalanced) on every path, against HiGHS on
the LP written without dummy bins or extra nodes, POT's exact partial solver and the
closed-form limits."""

import itertools
import math

import numpy as np
import ot
import pytest
import scipy.sparse
from oracles import binary_tree, highs_partial_cost, highs_unbalanced_cost, metric_cost, pot_cost
from scipy.sparse import csgraph
from scipy.spatial.distance import cdist

import emd

RTOL = 1e-9


def _close(value, reference):
    assert value == pytest.approx(reference, rel=1e-7, abs=1e-9)


def _check_accounting(result, a, b):
    """Mass moved, created and destroyed add up to each side's total, and are certified."""
    assert result.status == "optimal"
    assert result.certificate().optimal()
    assert result.mass_moved + result.mass_destroyed == pytest.approx(np.sum(a), rel=1e-12)
    assert result.mass_moved + result.mass_created == pytest.approx(np.sum(b), rel=1e-12)
    assert (np.asarray(result.created) >= 0).all() and (np.asarray(result.destroyed) >= 0).all()
    if result.plan is not None:
        plan = result.dense_plan()
        np.testing.assert_allclose(plan.sum(axis=1) + result.destroyed.ravel(), a, rtol=1e-12,
                                   atol=1e-15)
        np.testing.assert_allclose(plan.sum(axis=0) + result.created.ravel(), b, rtol=1e-12,
                                   atol=1e-15)


# ---------------------------------------------------------------- raises

@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"partial": 0.5, "unbalanced": 1.0}, "mutually exclusive"),
        ({"partial": 0.5, "normalize": True}, "normalize=True"),
        ({"unbalanced": 1.0, "normalize": True}, "normalize=True"),
        ({"partial": 0.0}, "positive"),
        ({"partial": 5.0}, "more than the smaller total"),
        ({"unbalanced": -1.0}, "nonnegative"),
        ({"unbalanced": math.nan}, "finite"),
        ({"partial": "x"}, "number"),
    ],
)
def test_bad_keywords_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        emd.solve([1.0, 1.0], [1.0, 2.0], [[0.0, 1.0], [1.0, 0.0]], **kwargs)


def test_network_refusals():
    with pytest.raises(ValueError, match="connected"):
        emd.solve_graph(([[0, 1]], [1.0]), [1.0, 0.0, 1.0], [0.0, 1.0, 1.0], partial=1.0)
    with pytest.raises(ValueError, match="exact=True"):
        emd.solve_grid(np.ones((3, 3)), np.ones((3, 3)), metric="euclidean", exact=True,
                       unbalanced=1.0)


# ---------------------------------------------------------------- closed forms

def test_partial_of_all_the_mass_is_the_balanced_solve():
    rng = np.random.default_rng(0)
    a, b = rng.random(30), rng.random(25)
    b *= a.sum() / b.sum()
    a, b = emd.solve(a, b, np.zeros((30, 25))).a, emd.solve(a, b, np.zeros((30, 25))).b
    cost = rng.random((30, 25))
    balanced = emd.solve(a, b, cost)
    part = emd.solve(a, b, cost, partial=math.fsum(a))
    _close(part.cost, balanced.cost)
    _check_accounting(part, a, b)


def test_unbalanced_with_a_large_price_is_w1():
    rng = np.random.default_rng(1)
    x, y = rng.random((40, 2)), rng.random((35, 2))
    a, b = np.full(40, 1 / 40), np.full(35, 1 / 35)
    diameter = cdist(np.vstack([x, y]), np.vstack([x, y])).max()
    w1 = emd.solve_points(x, y, a, b).cost
    for lam in (diameter / 2, diameter, 10 * diameter):
        result = emd.solve_points(x, y, a, b, unbalanced=lam)
        _close(result.cost, w1)
        assert result.mass_created == pytest.approx(0.0, abs=1e-12)
        _check_accounting(result, a, b)


def test_unbalanced_tends_to_zero_with_its_price():
    rng = np.random.default_rng(2)
    a, b, cost = rng.random(20), 2 * rng.random(15), rng.random((20, 15)) + 0.5
    previous = math.inf
    for lam in (1.0, 0.3, 0.1, 0.01, 0.0):
        value = emd.solve(a, b, cost, unbalanced=lam).cost
        assert value <= lam * (a.sum() + b.sum()) * (1 + 1e-12)  # destroy all, create all
        assert value <= previous * (1 + 1e-12)
        previous = value
    assert value == 0.0
    free = emd.solve(a, b, cost, unbalanced=0.0)
    assert free.status == "optimal" and free.certificate().bound == 0.0
    assert free.mass_destroyed == pytest.approx(a.sum()) and free.plan.nnz == 0
    # With a negative cost, price 0 still moves mass: a real solve, against HiGHS.
    cost[0, 0] = -1.0
    _close(emd.solve(a, b, cost, unbalanced=0.0).cost, highs_unbalanced_cost(a, b, cost, 0.0))


# ---------------------------------------------------------------- dense and points vs HiGHS

@pytest.mark.parametrize("seed", range(4))
def test_dense_partial_matches_highs_and_pot(seed):
    rng = np.random.default_rng(seed)
    n, m = rng.integers(3, 25, size=2)
    a, b = rng.random(n), rng.random(m) * 2
    a[rng.integers(n)] = 0.0
    cost = rng.random((n, m)) * 10
    mass = rng.uniform(0.1, 1.0) * min(a.sum(), b.sum())
    result = emd.solve(a, b, cost, partial=mass)
    _close(result.cost, highs_partial_cost(a, b, cost, mass))
    _close(result.cost, float(ot.partial.partial_wasserstein2(a, b, cost, m=mass)))
    assert result.mass_moved == pytest.approx(mass, rel=1e-12)
    _close(result.transport_cost, result.cost)
    _check_accounting(result, a, b)


def test_partial_with_negative_costs():
    rng = np.random.default_rng(7)
    a, b, cost = rng.random(8), rng.random(9), rng.normal(size=(8, 9))
    result = emd.solve(a, b, cost, partial=0.7 * min(a.sum(), b.sum()))
    _close(result.cost, highs_partial_cost(a, b, cost, 0.7 * min(a.sum(), b.sum())))
    _check_accounting(result, a, b)


@pytest.mark.parametrize("seed", range(4))
def test_dense_unbalanced_matches_highs(seed):
    rng = np.random.default_rng(10 + seed)
    n, m = rng.integers(3, 25, size=2)
    a, b = rng.random(n), rng.random(m) * 3
    cost = rng.random((n, m)) * 4
    lam = rng.uniform(0.05, 3.0)
    result = emd.solve(a, b, cost, unbalanced=lam)
    _close(result.cost, highs_unbalanced_cost(a, b, cost, lam))
    _close(result.transport_cost + lam * (result.mass_created + result.mass_destroyed),
           result.cost)
    _check_accounting(result, a, b)


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "cityblock", "chebyshev"])
def test_points_match_highs(metric):
    rng = np.random.default_rng(3)
    x, y = rng.random((15, 2)), rng.random((12, 2))
    a, b = rng.random(15), rng.random(12)
    cost = metric_cost(x, y, metric)
    result = emd.solve_points(x, y, a, b, metric=metric, unbalanced=0.3)
    _close(result.cost, highs_unbalanced_cost(a, b, cost, 0.3))
    _check_accounting(result, a, b)
    mass = 0.5 * min(a.sum(), b.sum())
    result = emd.solve_points(x, y, a, b, metric=metric, partial=mass)
    _close(result.cost, highs_partial_cost(a, b, cost, mass))
    _check_accounting(result, a, b)
    _close(emd.wasserstein(x, y, a, b, metric=metric, partial=mass, normalize=False),
           result.cost)


def test_wasserstein_keeps_its_normalising_default():
    x, y = [[0.0], [1.0]], [[0.0], [3.0]]
    assert emd.wasserstein(x, y, [1, 1], [2, 2]) == emd.wasserstein(x, y, [1, 1], [1, 1])
    with pytest.raises(ValueError, match="normalize=True"):
        emd.wasserstein(x, y, [1, 1], [2, 2], unbalanced=1.0)  # the default normalises
    # Masses as given: both units go to y = 0 (cost 0 + 1), two are created at y = 3.
    _close(emd.wasserstein(x, y, [1, 1], [2, 2], normalize=False, unbalanced=5.0), 1 + 2 * 5.0)


# ---------------------------------------------------------------- networks vs HiGHS

def _grid_distances(shape, metric):
    points = np.array(list(itertools.product(*[range(s) for s in shape])), dtype=float)
    return cdist(points, points, metric)


@pytest.mark.parametrize(("shape", "metric"), [((4, 5), "cityblock"), ((4, 4), "chebyshev"),
                                               ((7,), "cityblock"), ((2, 3, 2), "cityblock")])
@pytest.mark.parametrize("lam", [0.4, 1.5, 20.0])
def test_grid_unbalanced_matches_highs(shape, metric, lam):
    rng = np.random.default_rng(int(lam * 10))
    A, B = rng.random(shape), 2 * rng.random(shape)
    A[rng.random(shape) < 0.3] = 0.0
    result = emd.solve_grid(A, B, metric=metric, unbalanced=lam)
    reference = highs_unbalanced_cost(A.ravel(), B.ravel(), _grid_distances(shape, metric), lam)
    _close(result.cost, reference)
    assert result.created.shape == shape
    _check_accounting(result, A.ravel(), B.ravel())
    _close(emd.wasserstein_grid(A, B, metric=metric, unbalanced=lam), result.cost)


def test_grid_unbalanced_equal_masses_large_price_is_w1():
    rng = np.random.default_rng(5)
    A, B = rng.random((6, 6)), rng.random((6, 6))
    B *= A.sum() / B.sum()
    balanced = emd.solve_grid(A, B)
    result = emd.solve_grid(balanced.potential * 0 + A, B, unbalanced=5.0)  # diameter 10
    _close(result.cost, balanced.cost)


def test_graph_and_tree_unbalanced_match_highs():
    rng = np.random.default_rng(6)
    n = 12
    dense = np.triu(rng.random((n, n)) * (rng.random((n, n)) < 0.3), 1)
    dense[np.arange(n - 1), np.arange(1, n)] = rng.random(n - 1) + 0.1  # connected
    graph = scipy.sparse.csr_array(dense + dense.T)
    a, b = rng.random(n), rng.random(n) * 1.7
    distances = csgraph.shortest_path(graph, directed=False)
    for lam in (0.2, 1.0, 5.0):
        result = emd.solve_graph(graph, a, b, unbalanced=lam)
        _close(result.cost, highs_unbalanced_cost(a, b, distances, lam))
        _check_accounting(result, a, b)
    parents = np.r_[-1, np.arange(n - 1)]  # the path
    lengths = np.r_[0.0, dense[np.arange(n - 1), np.arange(1, n)]]
    tree_dist = np.abs(np.cumsum(lengths)[:, None] - np.cumsum(lengths)[None, :])
    result = emd.solve_tree(parents, lengths, a, b, unbalanced=0.5)
    _close(result.cost, highs_unbalanced_cost(a, b, tree_dist, 0.5))
    _check_accounting(result, a, b)
    _close(emd.wasserstein_tree(parents, lengths, a, b, unbalanced=0.5), result.cost)


def test_unbalanced_on_equal_balanced_masses_matches_pot():
    rng = np.random.default_rng(8)
    a = rng.random(20)
    b = rng.random(20)
    b *= a.sum() / b.sum()
    cost = rng.random((20, 20))
    result = emd.solve(a, b, cost, unbalanced=10.0)
    _close(result.cost, pot_cost(a, b / b.sum() * a.sum(), cost))


def test_tiny_masses_beside_large_ones_stay_exact():
    """The dummies carry what rounding drops from the totals, so no real bin moves."""
    a = np.array([1.0, 2.0**-40, 3.0])
    b = np.array([2.0**-45, 1.0, 1e-3])
    cost = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]])
    for kwargs in ({"partial": 1.0 + 2.0**-45}, {"unbalanced": 0.7}):
        result = emd.solve(a, b, cost, **kwargs)
        assert result.status == "optimal"
        np.testing.assert_array_equal(result.reduced.a[:3], a)
        np.testing.assert_array_equal(result.reduced.b[:3], b)


@pytest.mark.parametrize("shape", [(10, 12), (40,), (4, 3, 5)])
@pytest.mark.parametrize("metric", ["cityblock", "chebyshev"])
def test_partial_grids_on_unit_steps_match_highs_on_the_distances(shape, metric):
    """City-block and Chebyshev partial grids travel on the network of unit steps;
    sparse masses (most bins empty) make mass go far, so a wrong step set (a missing
    diagonal, an edge wrapped across a border) would show in the cost."""
    rng = np.random.default_rng(len(shape) * 100 + shape[0])
    A = rng.random(shape) * (rng.random(shape) < 0.3)
    B = 2 * rng.random(shape) * (rng.random(shape) < 0.3)
    mass = 0.6 * min(A.sum(), B.sum())
    result = emd.solve_grid(A, B, metric=metric, partial=mass, spacing=0.25,
                            volume=len(shape) == 3)
    assert result.status == "optimal"
    _close(result.cost, highs_partial_cost(A.ravel(), B.ravel(),
                                           0.25 * _grid_distances(shape, metric), mass))
    assert result.created.shape == shape
    _check_accounting(result, A.ravel(), B.ravel())


def test_partial_on_grids_graphs_and_trees_matches_highs():
    rng = np.random.default_rng(9)
    A, B = rng.random((3, 4)), 2 * rng.random((3, 4))
    for metric in ("cityblock", "chebyshev", "euclidean"):
        result = emd.solve_grid(A, B, metric=metric, partial=1.5)
        _close(result.cost, highs_partial_cost(A.ravel(), B.ravel(),
                                               _grid_distances((3, 4), metric), 1.5))
        assert result.created.shape == (3, 4)
        _check_accounting(result, A.ravel(), B.ravel())
    # 3-D grids too, Euclidean included (the bins as points: exact distances, so no
    # sparse-offset bound is needed), at a spacing other than 1.
    A3, B3 = rng.random((2, 3, 5)), rng.random((2, 3, 5))
    for metric in ("cityblock", "chebyshev", "euclidean"):
        result = emd.solve_grid(A3, B3, metric=metric, partial=0.8 * A3.sum(), spacing=0.5)
        assert result.status == "optimal"
        _close(result.cost, highs_partial_cost(A3.ravel(), B3.ravel(),
                                               0.5 * _grid_distances((2, 3, 5), metric),
                                               0.8 * A3.sum()))
        assert result.created.shape == (2, 3, 5)
    with pytest.raises(ValueError, match="unbalanced= with metric='euclidean' on a 3-D grid"):
        emd.solve_grid(A3, B3, metric="euclidean", unbalanced=1.0)
    n = 8
    parents, lengths, edges, distances = binary_tree(rng, n)
    a, b = rng.random(n), rng.random(n)
    mass = 0.6 * min(a.sum(), b.sum())
    reference = highs_partial_cost(a, b, distances, mass)
    _close(emd.solve_tree(parents, lengths, a, b, partial=mass).cost, reference)
    _close(emd.solve_graph((edges, lengths[1:]), a, b, partial=mass).cost, reference)
    _close(emd.wasserstein_graph((edges, lengths[1:]), a, b, partial=mass), reference)


def test_pairwise_and_cdist_are_single_solves():
    rng = np.random.default_rng(11)
    grids = [rng.random((4, 4)) * (k + 1) for k in range(3)]
    matrix, proven = emd.pairwise(grids, grid=True, unbalanced=0.7, return_status=True)
    assert proven.all() and (np.diag(matrix) == 0).all()
    for i, j in itertools.combinations(range(3), 2):
        assert matrix[i, j] == matrix[j, i] == emd.solve_grid(grids[i], grids[j],
                                                              unbalanced=0.7).cost
    clouds = [(rng.random((5, 2)), rng.random(5)) for _ in range(3)]
    table = emd.cdist(clouds[:1], clouds, partial=0.2)
    for j in range(3):
        assert table[0, j] == emd.solve_points(clouds[0][0], clouds[j][0], clouds[0][1],
                                               clouds[j][1], partial=0.2).cost
    with pytest.raises(ValueError, match="resume"):
        emd.pairwise(grids, grid=True, unbalanced=1.0, resume=True)


def test_network_witness_is_bounded_lipschitz_and_attains_the_cost():
    rng = np.random.default_rng(12)
    A, B = rng.random((6, 7)), 1.5 * rng.random((6, 7))
    for lam in (0.3, 2.0, 50.0):
        result = emd.solve_grid(A, B, unbalanced=lam)
        f = result.witness()
        assert f.shape == A.shape
        assert np.abs(f).max() <= lam * (1 + 1e-12)
        # City-block: neighbours differ by at most 1 (the edge length).
        assert np.abs(np.diff(f, axis=0)).max() <= 1 + 1e-12
        assert np.abs(np.diff(f, axis=1)).max() <= 1 + 1e-12
        assert float(np.sum((A - B) * f)) == pytest.approx(result.cost, rel=1e-10)
    with pytest.raises(ValueError, match="witness"):
        emd.solve([1.0], [2.0], [[0.0]], unbalanced=1.0).witness()


def test_masses_over_many_binades_are_not_called_unbounded():
    """Zero-cost twin arcs both ways (the rounding of a - b) once made the arc simplex
    report 'unbounded' on such grids; one-way twins solve them all."""
    rng = np.random.default_rng(1)
    distances = _grid_distances((5, 5), "cityblock")
    for k in range(100):
        A = rng.random((5, 5)) * 10.0 ** rng.integers(-6, 2, size=(5, 5))
        B = rng.random((5, 5))
        result = emd.solve_grid(A, B, unbalanced=0.01)
        assert result.status == "optimal", k
        if k < 5:
            _close(result.cost, highs_unbalanced_cost(A.ravel(), B.ravel(), distances, 0.01))
