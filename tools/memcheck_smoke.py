"""A small tour of the compiled core for valgrind memcheck (``tools/sanitize.sh --valgrind``).

Every kernel of ``emd._core`` runs once on a small problem, including the edge cases
that take unusual paths: single bins, zero-mass bins, degenerate ties, the warm start
of a large grid, the nogil batch of grid pairs, and stopping at an iteration limit.
"""

import warnings

import numpy as np

import emd

warnings.simplefilter("ignore", emd.SolverWarning)
rng = np.random.default_rng(0)

# Dense and point-cloud transport, with zero-mass bins and every metric.
a, b = rng.random(30), rng.random(20)
a[[3, 7]] = 0.0
a, b = a / a.sum(), b / b.sum()
cost = rng.integers(0, 4, size=(30, 20)).astype(float)  # ties: degenerate pivots
assert emd.solve(a, b, cost).certificate().optimal()
assert emd.solve([1.0], [1.0], [[2.0]]).cost == 2.0
x, y = rng.random((30, 3)), rng.random((20, 3))
for metric, p in (("euclidean", None), ("sqeuclidean", None), ("cityblock", None),
                  ("chebyshev", None), ("minkowski", 3.0)):
    assert emd.solve_points(x, y, a, b, metric=metric, p=p).certificate().optimal()
emd.solve_points(x, y, a, b, max_iter=3)  # stopped: completed by the north-west corner

# Transshipment, infeasible and unbounded flows.
emd.min_cost_flow([0, 0, 1], [2, 1, 2], [5.0, 1.0, 1.0], [1.0, 0.0, -1.0])
emd.min_cost_flow([0], [1], [1.0], [1.0, 0.0, -1.0])
emd.min_cost_flow([0, 1, 1], [1, 0, 2], [-2.0, 1.0, 1.0], [1.0, 0.0, -1.0])

# Grids: the 1x1 grid, a warm-started 70 x 70 grid, every metric, and batches of pairs.
emd.wasserstein_grid([[1.0]], [[1.0]])
A, B = rng.random((70, 70)), rng.random((70, 70))
emd.wasserstein_grid(A, B, normalize=True)
for metric in ("cityblock", "chebyshev", "euclidean"):
    emd.wasserstein_grid(A[:8, :8], B[:8, :8], metric=metric, normalize=True)
emd.wasserstein_grid(A[:6, :6], B[:6, :6], metric="euclidean", exact=True, normalize=True)
hists = [rng.random((6, 6)) for _ in range(5)]
emd.pairwise(hists, normalize=True, n_jobs=2, chunk_size=2)
emd.pairwise(hists, normalize=True, n_jobs=1, max_iter=2)

# Graphs, trees, the line, duality.
emd.wasserstein_graph((np.array([[0, 1], [1, 2], [2, 0]]), [1.0, 2.0, 2.5]),
                      [1.0, 0, 0], [0, 0, 1.0])
emd.wasserstein_tree([-1, 0, 0], [0.0, 1.0, 2.0], [0, 1, 0], [0, 0, 1])
emd.wasserstein_1d(rng.random(50), rng.random(31))
emd.dual.certify(x, y, a, b, n_probes=50, seed=0)
print("memcheck smoke: done")
