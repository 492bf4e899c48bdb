"""Numerical stress: extreme magnitudes, maximal degeneracy and size, against exact answers.

Costs spanning 1e-12..1e12, masses from 1e-15 to 1, near-duplicate points and all-equal
costs must give certified plans that agree with an exact rational reference: networkx's
network simplex on the same floats scaled to integers (every float is a dyadic rational,
so the scaling is exact).  20000-point clouds in 1-D and 2-D must finish and certify, and
the index arithmetic of problems with n * m > 2**31 pairs must not overflow.
"""

from __future__ import annotations

import math
from fractions import Fraction

import networkx as nx
import numpy as np
import pytest
import scipy.stats
from scipy.spatial.distance import cdist

import emd

RTOL = 1e-9


def _integers(values) -> tuple[list[int], int]:
    """Floats as integers over one common denominator (a power of two): exact."""
    fractions = [Fraction(float(v)) for v in np.ravel(values)]
    scale = math.lcm(*(f.denominator for f in fractions)) if fractions else 1
    return [int(f * scale) for f in fractions], scale


def exact_cost(a, b, cost) -> Fraction:
    """The exact optimum of the transport problem on these floats, as a fraction.

    ``sum(a)`` must equal ``sum(b)`` exactly (as rationals), which the tests arrange.
    """
    masses, mass_scale = _integers(np.concatenate([a, b]))
    n = len(a)
    a_int, b_int = masses[:n], masses[n:]
    assert sum(a_int) == sum(b_int), "the reference needs exactly balanced masses"
    costs, cost_scale = _integers(cost)
    graph = nx.DiGraph()
    m = len(b)
    for i in range(n):
        graph.add_node(("s", i), demand=-a_int[i])
    for j in range(m):
        graph.add_node(("t", j), demand=b_int[j])
    for i in range(n):
        for j in range(m):
            graph.add_edge(("s", i), ("t", j), weight=costs[i * m + j])
    total, _ = nx.network_simplex(graph)
    return Fraction(total, mass_scale * cost_scale)


def dyadic_weights(rng, n: int, total: int, spread: float = 1.0) -> np.ndarray:
    """n positive integers summing to ``total``, over 2**20: exact floats with an exact sum."""
    raw = rng.random(n) ** spread + 1e-3
    ints = np.maximum(1, np.floor(raw / raw.sum() * total)).astype(np.int64)
    ints[np.argmax(ints)] += total - ints.sum()
    assert (ints > 0).all() and ints.sum() == total
    return ints / 2.0**20


def check_exact(result, a, b, cost) -> None:
    cert = result.certificate()
    assert cert.optimal(RTOL), cert
    reference = float(exact_cost(a, b, cost))
    assert result.cost == pytest.approx(reference, rel=RTOL, abs=1e-300), (result.cost, reference)


# --------------------------------------------------------------------------- magnitudes


@pytest.mark.parametrize("seed", range(6))
def test_costs_spanning_24_orders_of_magnitude_are_exact(seed):
    rng = np.random.default_rng(seed)
    n, m = rng.integers(4, 10, size=2)
    a, b = dyadic_weights(rng, n, 2**20), dyadic_weights(rng, m, 2**20)
    cost = 10.0 ** rng.uniform(-12, 12, size=(n, m))
    check_exact(emd.solve(a, b, cost), a, b, cost)


@pytest.mark.parametrize("seed", range(6))
def test_masses_of_1e_15_next_to_masses_of_1_are_exact(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(4, 10))
    a = np.where(rng.random(n) < 0.5, 1e-15, 1.0) * rng.integers(1, 4, size=n)
    b = a[rng.permutation(n)]  # the same masses elsewhere: exactly balanced
    cost = rng.random((n, n)) + np.where(rng.random((n, n)) < 0.3, 1e6, 0.0)
    check_exact(emd.solve(a, b, cost), a, b, cost)
    # The same through coordinates, with a far point holding a tiny mass.
    x, y = rng.random((n, 2)), rng.random((n, 2))
    x[0] += 1e3
    result = emd.solve_points(x, y, a, b)
    check_exact(result, a, b, result._costs.arc_costs(*np.divmod(np.arange(n * n), n)).reshape(n, n))


@pytest.mark.parametrize("scale", [1e-140, 1e-9, 1.0, 1e9, 1e150])
def test_point_clouds_at_every_scale(scale):
    rng = np.random.default_rng(7)
    a, b = dyadic_weights(rng, 12, 2**20), dyadic_weights(rng, 9, 2**20)
    x, y = rng.random((12, 2)) * scale, rng.random((9, 2)) * scale
    result = emd.solve_points(x, y, a, b)
    check_exact(result, a, b, cdist(x, y))


@pytest.mark.parametrize("metric,p", [("euclidean", None), ("minkowski", 3.0),
                                      ("minkowski", 60.0), ("minkowski", 2000.0)])
@pytest.mark.parametrize("scale", [1e-300, 1e-170, 1e-50, 1.0])
def test_distances_whose_powers_underflow(metric, p, scale):
    """|x - y|^p underflows below 1e-154 for euclidean and below 0.7 for p = 2000; the
    kernels then recompute the distance scaled by its largest coordinate (as hypot does)."""
    rng = np.random.default_rng(8)
    x, y = 0.25 * rng.random((9, 2)), 0.25 * rng.random((7, 2))
    unit = emd.solve_points(x, y, metric=metric, p=p)
    scaled = emd.solve_points(x * scale, y * scale, metric=metric, p=p)
    assert scaled.certificate().optimal(RTOL)
    assert scaled.cost == pytest.approx(unit.cost * scale, rel=1e-12)
    # A zero-mass point far away must not hide the tiny distances that carry the mass.
    far = emd.solve_points([[0.0], [0.1]], [[3e-179]], [1.0, 0.0], [1.0], metric=metric, p=p)
    assert far.cost == pytest.approx(3e-179, rel=1e-12)
    two = emd.solve_points([[0.0, 0.0], [0.1, 0.0]], [[3e-179, 4e-179]], [1.0, 0.0], [1.0],
                           metric=metric, p=p)
    assert two.certificate().optimal(RTOL)


def test_distances_whose_powers_overflow_are_refused():
    with pytest.raises(ValueError, match="out of range"):
        emd.solve_points([[0.0, 0.0]], [[1e160, 0.0]])  # 1e320 in the squared distance
    with pytest.raises(ValueError, match="out of range"):
        emd.solve_points([[0.0, 0.0]], [[2.0, 0.0]], metric="minkowski", p=2000)
    assert emd.solve_points([[0.0, 0.0]], [[1e150, 0.0]]).cost == 1e150


@pytest.mark.parametrize("metric", ["cityblock", "chebyshev"])
def test_nearest_neighbours_at_overflowing_distances(metric):
    # cKDTree reports a neighbour whose distance overflows as index len(target):
    # such a candidate must be dropped, not read past the end of y.
    with pytest.raises(ValueError, match="too large for float64"):
        emd.solve_points([[1.7e308, 0.0]], [[-1.7e308, 0.0]], metric=metric)


def test_magnitudes_beyond_float64_are_refused_not_wrong():
    with pytest.raises(ValueError, match="too large for float64"):
        emd.solve([1.0, 1.0], [1.0, 1.0], [[1e308, -1e308], [-1e308, 1e308]])
    with pytest.raises(ValueError, match="too large for float64"):
        emd.solve([1e300, 1e300], [1e300, 1e300], [[1e10, 2e10], [3e10, 1e10]])
    with pytest.raises(ValueError, match="too large for float64"):
        emd.wasserstein_grid([[1.0, 0.0]], [[0.0, 1.0]], spacing=1e308)
    with pytest.raises(ValueError, match="too wide"):
        emd.wasserstein_1d([1.7e308], [-1.7e308])
    with pytest.raises(ValueError, match="too large for float64"):
        emd.min_cost_flow([0, 1], [1, 2], [1e308, 1e308], [1.0, 0.0, -1.0])


# --------------------------------------------------------------------------- degeneracy


def test_near_duplicate_points_are_exact():
    rng = np.random.default_rng(3)
    x = rng.random((10, 2))
    y = (x + 1e-12 * rng.standard_normal(x.shape))[rng.permutation(10)]
    a = b = np.full(10, 1 / 16)
    result = emd.solve_points(x, y, a, b)
    check_exact(result, a, b, cdist(x, y))
    assert result.cost < 1e-11
    # Exact duplicates on both sides, several copies of each point.
    z = np.repeat(rng.random((4, 3)), 3, axis=0)
    assert emd.solve_points(z, z[::-1]).cost == 0.0


@pytest.mark.parametrize("value", [0.0, 1.0, 1e-12, 1e12])
def test_all_equal_costs_are_maximally_degenerate(value):
    rng = np.random.default_rng(5)
    a, b = dyadic_weights(rng, 150, 2**20), dyadic_weights(rng, 120, 2**20)
    cost = np.full((150, 120), value)
    result = emd.solve(a, b, cost)
    assert result.certificate().optimal(RTOL)
    assert result.cost == pytest.approx(value * a.sum(), rel=1e-12)
    assert result.plan.nnz <= 150 + 120 - 1
    # Small enough for the exact reference, with ties everywhere.
    a, b = dyadic_weights(rng, 7, 2**20), dyadic_weights(rng, 6, 2**20)
    check_exact(emd.solve(a, b, cost[:7, :6]), a, b, cost[:7, :6])


@pytest.mark.parametrize("seed", range(4))
def test_integer_costs_with_ties_and_tiny_masses_are_exact(seed):
    rng = np.random.default_rng(200 + seed)
    n, m = 9, 8
    a = dyadic_weights(rng, n, 2**20, spread=8.0)  # masses from ~1e-6 to ~0.5
    b = dyadic_weights(rng, m, 2**20, spread=8.0)
    cost = rng.integers(0, 3, size=(n, m)).astype(float)
    check_exact(emd.solve(a, b, cost), a, b, cost)


# --------------------------------------------------------------------------- size


def test_twenty_thousand_points_on_the_line():
    rng = np.random.default_rng(11)
    x, y = rng.random(20000), rng.standard_normal(20000)
    result = emd.solve_points(x, y)
    assert result.n_iter == 0  # the closed form, not ~10**6 pivots (no timing in tests)
    assert result.certificate().optimal(RTOL)
    assert result.cost == pytest.approx(scipy.stats.wasserstein_distance(x, y), rel=1e-9)
    assert result.cost == pytest.approx(emd.wasserstein_1d(x, y), rel=1e-12)


@pytest.mark.slow
def test_twenty_thousand_points_in_the_plane():
    rng = np.random.default_rng(12)
    x, y = rng.random((20000, 2)), rng.random((20000, 2))
    result = emd.solve_points(x, y)
    assert result.status == "optimal"
    assert result.certificate().optimal(RTOL)


# --------------------------------------------------------------------------- n * m > 2**31


N_BIG = 50_000  # N_BIG**2 = 2.5e9 > 2**31


@pytest.mark.slow
def test_fifty_thousand_identical_points_in_the_plane():
    """n * m = 2.5e9 pairs on the on-the-fly path, where the answer is immediate."""
    rng = np.random.default_rng(15)
    x = rng.random((N_BIG, 2))
    result = emd.solve_points(x, x[::-1].copy())
    assert result.status == "optimal" and result.cost == 0.0
    assert result.plan.nnz == N_BIG
    assert (result.plan.row == N_BIG - 1 - result.plan.col).all()
