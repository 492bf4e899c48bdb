"""Small point pairs priced on a cost matrix computed once (``fill_costs``).

The compiled pair solve computes every cost of a point pair with at most
2**21 cells once and prices on that matrix (pivoting over all arcs up to 2**17
cells, over candidates above); larger pairs compute costs on the fly.  Every
path must give the optimum: checked against POT on scipy's cost matrix, and
the matrix's costs against numpy's distances bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest
from oracles import metric_cost, pot_cost

import emd
from emd._core import _pair as ns


@pytest.fixture
def on_the_fly():
    """Every point pair priced without the cost matrix while the test runs."""
    old = ns.set_limits(matrix_cells=0)
    yield
    ns.set_limits(**old)


def _pair(rng, n, m, d, zeros=True, duplicates=False):
    x, y = rng.random((n, d)), rng.random((m, d))
    if duplicates:
        x[: n // 2] = x[0]
        y[: m // 3] = x[0]
    a, b = rng.random(n) + 0.01, rng.random(m) + 0.01
    if zeros:
        a[rng.random(n) < 0.2] = 0.0
        b[rng.random(m) < 0.2] = 0.0
    return x, y, a / a.sum(), b / b.sum()


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "cityblock", "chebyshev"])
@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("duplicates", [False, True])
def test_matrix_and_on_the_fly_paths_both_match_pot(metric, d, duplicates):
    rng = np.random.default_rng(100 + d)
    for n, m in [(30, 30), (7, 45), (150, 120)]:
        x, y, a, b = _pair(rng, n, m, d, duplicates=duplicates)
        reference = pot_cost(a, b, metric_cost(x, y, metric))
        # All arcs on the matrix (the default here), candidates on the matrix, and
        # candidates with costs on the fly.
        for matrix_cells, all_cells in [(1 << 21, 1 << 17), (1 << 21, 0), (0, 0)]:
            old = ns.set_limits(matrix_cells=matrix_cells, all_arcs_cells=all_cells)
            try:
                result = emd.solve_points(x, y, a, b, metric=metric)
            finally:
                ns.set_limits(**old)
            assert result.certificate().optimal()
            assert abs(result.cost - reference) <= 1e-12 * max(reference, 1e-300) + 1e-15


def test_plane_euclidean_costs_are_numpy_distances_bit_for_bit():
    rng = np.random.default_rng(7)
    x, y = rng.random((40, 2)) * 3.7 - 1.0, rng.random((35, 2)) * 1e3
    a, b = np.full(40, 1 / 40), np.full(35, 1 / 35)
    ws = ns.PairWorkspace()
    bound = ns.points_cost_bound(x, y, 0, 2.0)
    out = ws.solve(a, b, None, x, y, 0, 2.0, None, True, bound, 1.0, 10**6)
    tails, heads, arc_costs = out[6], out[7], out[9]
    assert len(tails) >= 40
    diff = x[tails] - y[heads]
    expected = np.sqrt(diff[:, 0] * diff[:, 0] + diff[:, 1] * diff[:, 1])
    assert arc_costs.tobytes() == expected.tobytes()


@pytest.mark.parametrize("scale", [1e-170, 1e150])
def test_costs_outside_the_range_of_squares_are_scaled(scale):
    # Squares of differences underflow (or overflow) here: the matrix must hold the
    # distances computed by scaling, as distance() does.
    rng = np.random.default_rng(8)
    x, y, a, b = _pair(rng, 25, 20, 2, zeros=False)
    unit = emd.solve_points(x, y, a, b)
    scaled = emd.solve_points(x * scale, y * scale, a, b)
    assert scaled.certificate().optimal()
    assert abs(scaled.cost - scale * unit.cost) <= 1e-12 * scale * unit.cost


def test_batches_equal_single_solves_on_both_paths(on_the_fly):
    rng = np.random.default_rng(9)
    sets = []
    for _ in range(6):
        n = int(rng.integers(3, 60))
        w = rng.random(n) * (rng.random(n) < 0.85)
        w[0] += 0.1
        sets.append((rng.random((n, 2)), w))
    for cells in (0, 1 << 21):
        ns.set_limits(matrix_cells=cells)
        matrix, ok = emd.pairwise(sets, normalize=True, n_jobs=2, chunk_size=4,
                                  return_status=True)
        assert ok.all()
        for i in range(6):
            for j in range(i + 1, 6):
                single = emd.solve_points(sets[i][0], sets[j][0], sets[i][1], sets[j][1],
                                          normalize=True)
                assert matrix[i, j] == single.cost


def test_a_workspace_reused_across_shapes_and_paths_gives_the_fresh_answers():
    # A complete arc list keeps its ends for the next pair of the same shape (rows x
    # columns with mass); a pair of another shape, or one solved on candidates (whose
    # arcs overwrite the ends), must leave nothing stale for the pair after it.
    rng = np.random.default_rng(4)
    ws = ns.PairWorkspace()
    shapes = [(30, 30), (400, 400), (30, 30), (29, 30), (30, 30), (30, 31), (30, 30)]
    assert 400 * 400 > emd._planner.ALL_ARCS_CELLS >= 31 * 30  # candidates, then complete
    for n, m in shapes:
        x, y, a, b = _pair(rng, n, m, 2, zeros=False)
        a, b = emd._certify.balance_exactly(a, b)
        # A pivot budget, so that stale ends fail here rather than pivot for long.
        args = (a, b, None, x, y, 0, 2.0, None, True, ns.points_cost_bound(x, y, 0, 2.0),
                1.0, 10**5)
        reused, fresh = ws.solve(*args), ns.PairWorkspace().solve(*args)
        assert reused[0] == 0 and reused[1]
        assert (reused[4], reused[5]) == (fresh[4], fresh[5])  # cost bits and pivots
        assert abs(reused[4] - pot_cost(a, b, metric_cost(x, y, "euclidean"))) <= 1e-12
