"""Unbalanced W1 on grids by the compiled grid driver (issue 24): the tree's artificial
root is the extra node, on every level of the coarse-to-fine start.

References are independent of the driver: HiGHS on the LP written without dummies
(small grids, the exact metrics), HiGHS on the network LP of the grid graph with the
extra node (grids large enough for the warm start and column generation), and the
balanced solve for the limits.
"""

from __future__ import annotations

import itertools
import math
import zlib

import numpy as np
import pytest
import scipy.sparse
from emd._core._grid import GridWorkspace
from scipy.optimize import linprog

import emd
from emd.structured._grid import GridSolver

RTOL = 1e-7


def _distances(shape, metric):
    coords = np.indices(shape).reshape(len(shape), -1).T.astype(np.float64)
    diff = np.abs(coords[:, None, :] - coords[None, :, :])
    if metric == "cityblock":
        return diff.sum(axis=-1)
    if metric == "chebyshev":
        return diff.max(axis=-1)
    return np.sqrt((diff ** 2).sum(axis=-1))


def _highs_unbalanced(a, b, cost, lam):
    """min <C, P> + lam (|a| - sum P + |b| - sum P) over P >= 0, P 1 <= a, P^T 1 <= b:
    the LP without dummies, by HiGHS."""
    n, m = cost.shape
    rows = scipy.sparse.kron(scipy.sparse.eye(n), np.ones((1, m)))
    cols = scipy.sparse.kron(np.ones((1, n)), scipy.sparse.eye(m))
    res = linprog((cost - 2.0 * lam).ravel(), A_ub=scipy.sparse.vstack([rows, cols]).tocsr(),
                  b_ub=np.concatenate([a, b]), bounds=(0, None), method="highs")
    assert res.status == 0
    return res.fun + lam * (a.sum() + b.sum())


def _highs_network(a, b, tails, heads, lengths, lam):
    """The flow LP on the arcs given plus an extra node tied to every bin at ``lam`` each
    way, by HiGHS: the unbalanced problem on the graph metric."""
    n = a.size
    nodes = np.arange(n)
    t = np.concatenate([tails, nodes, np.full(n, n)])
    h = np.concatenate([heads, np.full(n, n), nodes])
    c = np.concatenate([lengths, np.full(2 * n, lam)])
    k = np.arange(t.size)
    incidence = scipy.sparse.coo_array(
        (np.concatenate([np.ones(t.size), -np.ones(t.size)]),
         (np.concatenate([t, h]), np.concatenate([k, k]))), shape=(n + 1, t.size)).tocsr()
    supply = np.concatenate([a - b, [b.sum() - a.sum()]])
    res = linprog(c, A_eq=incidence, b_eq=supply, bounds=(0, None), method="highs")
    assert res.status == 0
    return res.fun


def _masses(rng, shape, scale_b=1.0):
    A = rng.random(shape) * (rng.random(shape) < 0.7)
    B = rng.random(shape) * (rng.random(shape) < 0.7) * scale_b
    A.flat[0] += 0.25
    B.flat[-1] += 0.25
    return A, B


def _check_result(result, A, B, lam):
    """What every answer must satisfy whatever the reference: proven, masses consistent."""
    assert result.status == "optimal"
    assert result.certificate().optimal()
    # Net supplies: a bin destroys at most its surplus and receives at most its deficit.
    assert np.all(result.destroyed <= np.maximum(A - B, 0) * (1 + 1e-12) + 1e-15)
    assert np.all(result.created <= np.maximum(B - A, 0) * (1 + 1e-12) + 1e-15)
    assert math.isclose(result.mass_destroyed - result.mass_created, A.sum() - B.sum(),
                        rel_tol=1e-12, abs_tol=1e-12)
    assert math.isclose(result.cost, result.transport_cost
                        + lam * (result.mass_created + result.mass_destroyed),
                        rel_tol=1e-12, abs_tol=1e-300)


SMALL = [((7,), "cityblock"), ((7,), "euclidean"), ((3, 4), "cityblock"),
         ((3, 4), "chebyshev"), ((2, 2, 3), "cityblock"), ((2, 2, 3), "chebyshev")]


@pytest.mark.parametrize(("shape", "metric"), SMALL)
@pytest.mark.parametrize("lam", [0.05, 0.7, 2.5, 50.0])
def test_small_grids_match_highs_without_dummies(shape, metric, lam):
    rng = np.random.default_rng(zlib.crc32(repr((shape, metric, lam)).encode()))
    A, B = _masses(rng, shape, scale_b=1.4)
    result = emd.solve_grid(A, B, metric=metric, unbalanced=lam, volume=True)
    reference = _highs_unbalanced(A.ravel(), B.ravel(), _distances(shape, metric), lam)
    assert math.isclose(result.cost, reference, rel_tol=RTOL, abs_tol=1e-12)
    _check_result(result, A, B, lam)


@pytest.mark.parametrize("L", [1, 3])
@pytest.mark.parametrize("lam", [0.4, 3.0])
def test_euclidean_within_its_stated_bound(L, lam):
    """The graph metric d_L lies in [d, (1 + bound) d], so the unbalanced value on it lies
    in [U(d), (1 + bound) U(d)] (the price terms do not grow)."""
    rng = np.random.default_rng(L * 10 + int(lam))
    A, B = _masses(rng, (4, 5), scale_b=0.6)
    result = emd.solve_grid(A, B, metric="euclidean", L=L, unbalanced=lam)
    bound = GridSolver((4, 5), "euclidean", L=L).rel_error_bound
    exact = _highs_unbalanced(A.ravel(), B.ravel(), _distances((4, 5), "euclidean"), lam)
    assert exact * (1 - RTOL) <= result.cost <= exact * (1 + bound) * (1 + RTOL)
    _check_result(result, A, B, lam)


@pytest.mark.parametrize(("metric", "L"), [("cityblock", None), ("chebyshev", None),
                                           ("euclidean", 4)])
@pytest.mark.parametrize("lam", [0.5, 6.0])
def test_warm_started_grids_match_highs_on_the_network(metric, L, lam):
    """40 x 40 bins: coarse-to-fine with refined forests (and column generation of the
    long offsets for Euclidean L = 4), against HiGHS on the network LP of the same graph
    metric with the extra node."""
    rng = np.random.default_rng(7 if metric == "cityblock" else 8)
    A, B = _masses(rng, (40, 40), scale_b=1.3)
    solver = GridSolver((40, 40), metric, L=L)
    assert solver.graph.coarse is not None  # the warm start is exercised
    result = emd.solve_grid(A, B, metric=metric, L=L, unbalanced=lam)
    tails, heads, lengths = solver.graph.arcs()
    reference = _highs_network(A.ravel(), B.ravel(), tails, heads, lengths, lam)
    assert math.isclose(result.cost, reference, rel_tol=RTOL)
    _check_result(result, A, B, lam)


@pytest.mark.parametrize(("shape", "metric"), [((33, 40), "cityblock"), ((48, 48), "chebyshev"),
                                               ((6, 7, 5), "cityblock"), ((50,), "cityblock")])
def test_equal_masses_and_lam_of_half_the_diameter_is_w1(shape, metric):
    rng = np.random.default_rng(len(shape))
    A, B = rng.random(shape), rng.random(shape)
    B *= A.sum() / B.sum()
    balanced = emd.solve_grid(A, B, metric=metric, volume=True)
    steps = np.array(shape) - 1
    diameter = float(steps.sum() if metric == "cityblock" else steps.max())
    result = emd.solve_grid(A, B, metric=metric, unbalanced=diameter / 2, volume=True)
    assert math.isclose(result.cost, balanced.cost, rel_tol=1e-9)
    assert result.mass_created < 1e-9 * A.sum() and result.mass_destroyed < 1e-9 * A.sum()
    assert result.status == "optimal"


def test_small_price_tends_to_zero_and_zero_price_costs_nothing():
    rng = np.random.default_rng(3)
    A, B = _masses(rng, (36, 36))
    values = [emd.solve_grid(A, B, unbalanced=lam) for lam in (1.0, 0.1, 1e-3, 1e-6, 0.0)]
    for result, lam in zip(values, (1.0, 0.1, 1e-3, 1e-6, 0.0), strict=True):
        assert result.status == "optimal"
        # Destroying everything is a feasible plan: the value is at most its price.
        assert result.cost <= lam * (A.sum() + B.sum()) * (1 + 1e-12)
    costs = [r.cost for r in values]
    assert costs == sorted(costs, reverse=True)
    assert costs[-1] == 0.0 and values[-1].mass_moved <= A.sum()


def test_masses_far_apart_in_scale_and_stranded_mass():
    """Tiny masses beside unit ones, and a bin whose mass can only be destroyed (lam below
    every distance): each counted, proven, against HiGHS."""
    A = np.zeros((5, 6))
    B = np.zeros((5, 6))
    A[0, 0], A[0, 1], A[4, 5] = 1.0, 1e-17, 3e-300
    B[0, 2], B[2, 2] = 1.0 + 2 ** -40, 1e-16
    for lam in (0.4, 1.5, 20.0):
        result = emd.solve_grid(A, B, unbalanced=lam)
        reference = _highs_unbalanced(A.ravel(), B.ravel(), _distances((5, 6), "cityblock"),
                                      lam)
        assert math.isclose(result.cost, reference, rel_tol=RTOL, abs_tol=1e-15)
        _check_result(result, A, B, lam)
    stranded = emd.solve_grid(A, B, unbalanced=0.4)  # every move costs more than 2 lam
    assert stranded.mass_moved == 0.0
    assert stranded.destroyed[0, 0] == 1.0 and stranded.created[0, 2] == 1.0 + 2 ** -40


def test_witness_is_bounded_lipschitz_and_attains_the_cost():
    rng = np.random.default_rng(11)
    A, B = _masses(rng, (40, 36), scale_b=1.2)
    lam = 3.0
    result = emd.solve_grid(A, B, unbalanced=lam)
    f = result.witness()
    assert np.all(np.abs(f) <= lam * (1 + 1e-12))
    assert np.all(np.abs(np.diff(f, axis=0)) <= 1 + 1e-9)
    assert np.all(np.abs(np.diff(f, axis=1)) <= 1 + 1e-9)
    assert math.isclose(float(np.sum((A - B) * f)), result.cost, rel_tol=1e-9)


def test_status_is_optimal_only_when_proven():
    rng = np.random.default_rng(5)
    A, B = _masses(rng, (40, 40), scale_b=1.3)
    with pytest.warns(emd.SolverWarning):
        stopped = emd.solve_grid(A, B, unbalanced=2.0, max_iter=5)
    assert stopped.status == "max_iter_reached" and math.isnan(stopped.cost)
    assert not stopped.certificate().optimal()
    # Every finished answer's status is its certificate's verdict.
    for lam in (0.3, 2.0, 30.0):
        result = emd.solve_grid(A, B, unbalanced=lam)
        assert (result.status == "optimal") == result.certificate().optimal()
        assert result.certificate().bound <= 1e-9 * result.cost


def test_driver_refuses_batches_of_unbalanced_plans():
    solver = GridSolver((40, 40))
    workspace = GridWorkspace(solver.graph.plan(unbalanced=1.0))
    rows = np.ones((1, 1600))
    with pytest.raises(ValueError, match="unbalanced"):
        workspace.batch(rows, rows, np.zeros((1, 2), dtype=np.intp), -1, 1e-9)
    with pytest.raises(ValueError, match="lam"):
        solver.graph.plan(unbalanced=-2.0)


def test_random_grids_agree_with_hand_built_network_on_every_path():
    """1-D lines, small plain grids, 3-D grids: random supports and prices."""
    rng = np.random.default_rng(2024)
    for shape, metric in itertools.product([(9,), (5, 6), (3, 3, 4)],
                                           ["cityblock", "chebyshev"]):
        A, B = _masses(rng, shape, scale_b=float(rng.choice([0.5, 1.0, 2.0])))
        lam = float(rng.choice([0.01, 0.5, 2.0]))
        solver = GridSolver(shape, metric)
        if solver.graph is None:
            left = np.arange(A.size - 1)
            tails, heads = np.concatenate([left, left + 1]), np.concatenate([left + 1, left])
            lengths = np.ones(tails.size)
        else:
            tails, heads, lengths = solver.graph.arcs()
        result = emd.solve_grid(A, B, metric=metric, unbalanced=lam, volume=True)
        reference = _highs_network(A.ravel(), B.ravel(), tails, heads, lengths, lam)
        assert math.isclose(result.cost, reference, rel_tol=RTOL, abs_tol=1e-12)
        _check_result(result, A, B, lam)
