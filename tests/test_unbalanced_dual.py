"""The duals of unequal-mass problems through emd.dual: the bounded-Lipschitz witness of
unbalanced W1 (dense, points, grids, graphs, trees) and the dual of partial transport.
Feasibility is checked in exact rational arithmetic on dyadic data, and with a rounding
allowance on random data; values against HiGHS on the LP written without dummy bins."""

import itertools
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse
from oracles import binary_tree, highs_partial_cost, highs_unbalanced_cost
from scipy.sparse import csgraph
from scipy.spatial.distance import cdist

import emd
from emd.dual import kr_witness, partial_dual, unbalanced_witness


def _close(value, reference):
    assert value == pytest.approx(reference, rel=1e-8, abs=1e-10)


def _check_bounded(w, cost, exact=False):
    """|f|, |g| <= lam and f_i - g_j <= C_ij, exactly (Fractions) or to 1e-12."""
    lam = w.lam
    src, tgt = w.source.ravel(), w.target.ravel()
    assert np.abs(src).max() <= lam and np.abs(tgt).max() <= lam  # clipped: exact
    if exact:
        for i, j in itertools.product(range(src.size), range(tgt.size)):
            assert Fraction(src[i]) - Fraction(tgt[j]) <= Fraction(cost[i, j]), (i, j)
    else:
        slack = cost - (src[:, None] - tgt[None, :])
        assert slack.min() >= -1e-12 * max(1.0, np.abs(cost).max())


def _grid_distances(shape, metric="cityblock"):
    points = np.array(list(itertools.product(*[range(s) for s in shape])), dtype=float)
    return cdist(points, points, metric)


def test_dense_witness_is_exactly_feasible_on_dyadic_data_and_attains_highs():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n, m = rng.integers(2, 7, size=2)
        a = rng.integers(0, 9, n) / 8.0
        b = rng.integers(0, 9, m) / 4.0
        cost = rng.integers(0, 6, (n, m)).astype(float)
        lam = float(rng.integers(1, 8)) / 2.0
        result = emd.solve(a, b, cost, unbalanced=lam)
        w = unbalanced_witness(result)
        _check_bounded(w, cost, exact=True)
        # Weak duality then makes w.value a lower bound: it must equal the LP optimum.
        _close(w.value, highs_unbalanced_cost(a, b, cost, lam))
        _close(w.value, result.cost)


@pytest.mark.parametrize("lam", [0.05, 0.3, 2.0])
def test_dense_and_point_witnesses_on_random_data(lam):
    rng = np.random.default_rng(int(lam * 100))
    x, y = rng.random((8, 2)), rng.random((6, 2))
    a, b = rng.random(8), 1.8 * rng.random(6)
    cost = cdist(x, y)
    reference = highs_unbalanced_cost(a, b, cost, lam)
    for result in (emd.solve(a, b, cost, unbalanced=lam),
                   emd.solve_points(x, y, a, b, unbalanced=lam)):
        w = unbalanced_witness(result)
        _check_bounded(w, cost)
        _close(w.value, reference)
    for kind in ("upper", "lower", "mid"):
        f = kr_witness(x, y, a, b, unbalanced=lam, kind=kind)
        assert f.bound == lam
        _close(f.value, reference)
        z = rng.normal(size=(300, 2)) * 2
        values = f(z)
        assert np.abs(values).max() <= lam
        # 1-Lipschitz on random pairs of points (and on the data).
        points = np.vstack([z, x, y])
        fz = f(points)
        gaps = np.abs(fz[:, None] - fz[None, :]) - cdist(points, points)
        assert gaps.max() <= 1e-12
        # Its value is what it gives on the data.
        _close(float(np.sum(a * f(x)) - np.sum(b * f(y))), reference)


def test_point_witness_when_moving_costs_more_than_creating():
    f = kr_witness([[0.0, 0.0]], [[10.0, 10.0]], [2.0], [1.0], unbalanced=0.5)
    assert f.value == 1.5  # destroy two units and create one, at 0.5 each
    np.testing.assert_array_equal(f([[0.0, 0.0], [10.0, 10.0]]), [0.5, -0.5])


@pytest.mark.parametrize(("shape", "metric"), [((4, 5), "cityblock"), ((3, 3), "chebyshev"),
                                               ((7,), "cityblock"), ((2, 3, 2), "cityblock")])
@pytest.mark.parametrize("lam", [0.4, 1.5, 20.0])
def test_grid_witness_is_bounded_lipschitz_and_attains_highs(shape, metric, lam):
    rng = np.random.default_rng(int(lam * 10) + len(shape))
    A, B = rng.random(shape), 2 * rng.random(shape)
    result = emd.solve_grid(A, B, metric=metric, unbalanced=lam)
    w = unbalanced_witness(result, A, B)
    assert w.source.shape == shape and w.source is w.target
    distances = _grid_distances(shape, metric)
    _check_bounded(w, distances)
    _close(w.value, highs_unbalanced_cost(A.ravel(), B.ravel(), distances, lam))


def test_grid_witness_exact_on_dyadic_data():
    rng = np.random.default_rng(3)
    for _ in range(10):
        A = rng.integers(0, 5, (3, 4)) / 4.0
        B = rng.integers(0, 5, (3, 4)) / 2.0
        lam = float(rng.integers(1, 6)) / 2.0
        w = unbalanced_witness(emd.solve_grid(A, B, unbalanced=lam), A, B)
        _check_bounded(w, _grid_distances((3, 4)), exact=True)
        _close(w.value, highs_unbalanced_cost(A.ravel(), B.ravel(), _grid_distances((3, 4)),
                                              lam))


def test_graph_and_tree_witnesses():
    rng = np.random.default_rng(6)
    n = 10
    dense = np.triu(rng.random((n, n)) * (rng.random((n, n)) < 0.3), 1)
    dense[np.arange(n - 1), np.arange(1, n)] = rng.random(n - 1) + 0.1
    graph = scipy.sparse.csr_array(dense + dense.T)
    a, b = rng.random(n), rng.random(n) * 1.7
    distances = csgraph.shortest_path(graph, directed=False)
    for lam in (0.2, 1.0, 5.0):
        w = unbalanced_witness(emd.solve_graph(graph, a, b, unbalanced=lam), a, b)
        _check_bounded(w, distances)
        _close(w.value, highs_unbalanced_cost(a, b, distances, lam))
    parents = np.r_[-1, np.arange(n - 1)]
    lengths = np.r_[0.0, dense[np.arange(n - 1), np.arange(1, n)]]
    tree_dist = np.abs(np.cumsum(lengths)[:, None] - np.cumsum(lengths)[None, :])
    w = unbalanced_witness(emd.solve_tree(parents, lengths, a, b, unbalanced=0.5), a, b)
    _check_bounded(w, tree_dist)
    _close(w.value, highs_unbalanced_cost(a, b, tree_dist, 0.5))


def test_partial_dual_is_feasible_attains_highs_and_prices_the_mass():
    rng = np.random.default_rng(9)
    for trial in range(10):
        n, m = rng.integers(3, 8, size=2)
        x, y = rng.random((n, 2)), rng.random((m, 2))
        a, b = rng.random(n), 1.4 * rng.random(m)
        cost = cdist(x, y)
        mass = 0.6 * min(a.sum(), b.sum())
        result = emd.solve(a, b, cost, partial=mass)
        d = partial_dual(result)
        assert (d.source <= 0).all() and (d.target <= 0).all()
        slack = cost - (d.source[:, None] + d.target[None, :] + d.shift)
        assert slack.min() >= -1e-12
        _close(d.value, highs_partial_cost(a, b, cost, mass))
        # The multiplier is the price of one more unit moved (a one-sided derivative of
        # the LP value in the mass, checked against HiGHS).
        h = 1e-6
        slope = (highs_partial_cost(a, b, cost, mass + h) - highs_partial_cost(a, b, cost,
                                                                             mass)) / h
        assert d.shift == pytest.approx(slope, abs=1e-4), trial


def test_partial_dual_of_networks_is_feasible_and_attains_the_cost():
    """Grids (city-block, Chebyshev), graphs and trees solve partial transport on a
    network with a sink and a source; their dual comes from the node potentials and
    must be feasible for the shortest-path distances and attain the cost."""
    rng = np.random.default_rng(11)
    shape = (4, 5)
    coords = np.indices(shape).reshape(2, -1).T.astype(float)
    A, B = rng.random(shape), 1.5 * rng.random(shape)
    mass = 0.7 * A.sum()
    for metric in ("cityblock", "chebyshev"):
        result = emd.solve_grid(A, B, metric=metric, partial=mass)
        with pytest.raises(ValueError, match="a is required"):
            partial_dual(result)
        d = partial_dual(result, A, B)
        assert d.source.shape == shape and d.target.shape == shape
        assert (d.source <= 0).all() and (d.target <= 0).all()
        distances = cdist(coords, coords, metric)
        slack = distances - (d.source.ravel()[:, None] + d.target.ravel()[None, :] + d.shift)
        assert slack.min() >= -1e-12, metric
        _close(d.value, result.cost)
        _close(d.value, highs_partial_cost(A.ravel(), B.ravel(), distances, mass))
    n = 9
    parents, lengths, edges, distances = binary_tree(rng, n)
    a, b = rng.random(n), rng.random(n)
    mass = 0.5 * min(a.sum(), b.sum())
    for result in (emd.solve_tree(parents, lengths, a, b, partial=mass),
                   emd.solve_graph((edges, lengths[1:]), a, b, partial=mass)):
        d = partial_dual(result, a, b)
        slack = distances - (d.source[:, None] + d.target[None, :] + d.shift)
        assert slack.min() >= -1e-12
        _close(d.value, highs_partial_cost(a, b, distances, mass))


def test_partial_dual_on_dyadic_data_to_one_rounding():
    rng = np.random.default_rng(10)
    for _ in range(15):
        n, m = rng.integers(2, 6, size=2)
        a, b = rng.integers(1, 9, n) / 8.0, rng.integers(1, 9, m) / 4.0
        cost = rng.integers(0, 6, (n, m)).astype(float)
        mass = min(a.sum(), b.sum()) / 2
        d = partial_dual(emd.solve(a, b, cost, partial=mass))
        # Exact up to the one rounding of each shifted potential (half an ulp of each).
        for i, j in itertools.product(range(n), range(m)):
            excess = (Fraction(d.source[i]) + Fraction(d.target[j]) + Fraction(d.shift)
                      - Fraction(cost[i, j]))
            allowance = Fraction(np.spacing(abs(d.source[i])) + np.spacing(abs(d.target[j])))
            assert excess <= allowance, (i, j)
        _close(d.value, highs_partial_cost(a, b, cost, mass))


def test_refusals():
    a, b, cost = [1.0, 1.0], [1.0, 2.0], [[0.0, 1.0], [1.0, 0.0]]
    with pytest.raises(ValueError, match="partial_dual"):
        unbalanced_witness(emd.solve(a, b, cost, partial=1.0))
    with pytest.raises(ValueError, match="unbalanced_witness"):
        partial_dual(emd.solve(a, b, cost, unbalanced=1.0))
    with pytest.raises(TypeError, match="UnbalancedResult"):
        unbalanced_witness(emd.solve([1.0], [1.0], [[0.0]]))
    grid = emd.solve_grid(np.ones((2, 2)), 2 * np.ones((2, 2)), unbalanced=1.0)
    with pytest.raises(ValueError, match="a is required"):
        unbalanced_witness(grid)
    with pytest.raises(ValueError, match="shape"):
        unbalanced_witness(grid, np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="normalize"):
        kr_witness([0.0], [1.0], unbalanced=1.0, normalize=True)
