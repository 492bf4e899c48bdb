# cython: language_level=3
"""Cost oracles for bipartite problems outside the solve: arc costs, certificate scans
and c-transforms.

The solve's own full-matrix loops (candidates, exact pricing passes) live in
the compiled pair solve of :mod:`emd._core._pair`; these serve the
Python layer: the cost of listed arcs, a fresh certificate's rigorous lower
bound of every reduced cost (``certificate(recompute=True)``), and the
c-transform that gives zero-mass bins their potentials.  Each pass is O(n m)
time and O(n + m) extra memory; rows and columns are addressed through optional
index maps so that zero-mass bins can be skipped without copying a matrix.
"""

import numpy as np

cimport numpy as cnp
from libc.math cimport fabs, INFINITY

from emd._core._metric cimport (
    CHEBYSHEV, CITYBLOCK, EUCLIDEAN, MINKOWSKI, SQEUCLIDEAN, distance, reduced_cost_bounds,
)

cnp.import_array()

# The metric codes of emd._core._metric as plain integers.  The core knows metrics by
# code only; their names live in emd._validation.METRIC_TABLE, whose codes a test
# checks against these.
METRIC_EUCLIDEAN = EUCLIDEAN
METRIC_SQEUCLIDEAN = SQEUCLIDEAN
METRIC_CITYBLOCK = CITYBLOCK
METRIC_CHEBYSHEV = CHEBYSHEV
METRIC_MINKOWSKI = MINKOWSKI


def _as_index(cnp.ndarray idx, Py_ssize_t size):
    if idx is None:
        return np.arange(size, dtype=np.intp)
    idx = np.ascontiguousarray(idx, dtype=np.intp)
    if idx.ndim != 1 or (idx.size and (idx.min() < 0 or idx.max() >= size)):
        raise ValueError(f"index map must be 1-D with entries in [0, {size})")
    return idx


cdef _check_arcs(
    const Py_ssize_t[::1] tails, const Py_ssize_t[::1] heads, Py_ssize_t n, Py_ssize_t m,
):
    cdef Py_ssize_t e
    if heads.shape[0] != tails.shape[0]:
        raise ValueError("tails and heads must have the same length")
    for e in range(tails.shape[0]):
        if not (0 <= tails[e] < n and 0 <= heads[e] < m):
            raise ValueError(f"arc {e} ({tails[e]}, {heads[e]}) is outside a {n} x {m} problem")


def points_arc_costs(
    const double[:, ::1] x not None, const double[:, ::1] y not None, int metric, double p,
    const Py_ssize_t[::1] tails not None, const Py_ssize_t[::1] heads not None,
):
    """Cost of each listed arc (tails index x, heads index y)."""
    cdef Py_ssize_t e, n_arcs = tails.shape[0], d = x.shape[1]
    if y.shape[1] != d:
        raise ValueError("x and y must have the same number of coordinates")
    _check_arcs(tails, heads, x.shape[0], y.shape[0])
    cdef double[::1] out = np.empty(n_arcs)
    with nogil:
        for e in range(n_arcs):
            out[e] = distance(&x[tails[e], 0], &y[heads[e], 0], d, metric, p)
    return np.asarray(out)


cdef struct CostSource:
    bint dense
    const double* matrix        # dense: row-major costs, ``stride`` per row
    Py_ssize_t stride
    const double* x             # points: the rows' and the columns' coordinates
    const double* y
    Py_ssize_t d
    int metric
    double p


cdef inline double source_cost(const CostSource* S, Py_ssize_t i, Py_ssize_t j) noexcept nogil:
    if S.dense:
        return S.matrix[i * S.stride + j]
    return distance(&S.x[i * S.d], &S.y[j * S.d], S.d, S.metric, S.p)


cdef min_reduced_cost(
    const CostSource* S, Py_ssize_t n, Py_ssize_t m,
    const double[::1] u, const double[::1] v, const double[::1] u_low, const double[::1] v_low,
    rows, cols,
):
    """The one kernel behind :func:`dense_min_reduced_cost` and
    :func:`points_min_reduced_cost`: every pair is evaluated (the certificate
    also needs the largest cost), none is filtered."""
    if u.shape[0] != n or v.shape[0] != m or u_low.shape[0] != n or v_low.shape[0] != m:
        raise ValueError("u, v and their low parts must have one entry per row and column")
    cdef const Py_ssize_t[::1] row_map = _as_index(rows, n)
    cdef const Py_ssize_t[::1] col_map = _as_index(cols, m)
    cdef Py_ssize_t r, c, i, j, bi = 0, bj = 0
    cdef double value, lower, upper, best = INFINITY, biggest = 0.0
    with nogil:
        for r in range(row_map.shape[0]):
            i = row_map[r]
            for c in range(col_map.shape[0]):
                j = col_map[c]
                value = source_cost(S, i, j)
                if fabs(value) > biggest:
                    biggest = fabs(value)
                lower = reduced_cost_bounds(value, -u[i], -u_low[i], v[j], v_low[j], &upper)
                if lower < best:
                    best = lower
                    bi = i
                    bj = j
    return best, bi, bj, biggest


def dense_min_reduced_cost(
    const double[:, ::1] cost not None, const double[::1] u not None, const double[::1] v not None,
    const double[::1] u_low not None, const double[::1] v_low not None, rows=None, cols=None,
):
    """A rigorous lower bound on ``min C_ij - (u_i + u_low_i) - (v_j + v_low_j)`` over the
    pairs of ``rows`` x ``cols`` (all pairs when None), where it is attained, and the
    largest absolute cost there: ``(min, i, j, max_abs)``.

    A negative minimum bounds the largest dual violation of the double-double
    potentials from above, whatever rounding the evaluation made.
    """
    cdef CostSource S
    S.dense = True
    S.matrix = &cost[0, 0] if cost.shape[0] and cost.shape[1] else NULL
    S.stride = cost.shape[1]
    return min_reduced_cost(&S, cost.shape[0], cost.shape[1], u, v, u_low, v_low, rows, cols)


def points_min_reduced_cost(
    const double[:, ::1] x not None, const double[:, ::1] y not None, int metric, double p,
    const double[::1] u not None, const double[::1] v not None,
    const double[::1] u_low not None, const double[::1] v_low not None, rows=None, cols=None,
):
    """:func:`dense_min_reduced_cost` with costs computed from coordinates."""
    if y.shape[1] != x.shape[1]:
        raise ValueError("x and y must have the same number of coordinates")
    cdef CostSource S
    S.dense = False
    S.x = &x[0, 0] if x.shape[0] else NULL
    S.y = &y[0, 0] if y.shape[0] else NULL
    S.d = x.shape[1]
    S.metric = metric
    S.p = p
    return min_reduced_cost(&S, x.shape[0], y.shape[0], u, v, u_low, v_low, rows, cols)


def points_c_transform(
    const double[:, ::1] z not None, const double[:, ::1] y not None, int metric, double p,
    const double[::1] v not None,
):
    """``min_j (d(z_k, y_j) - v_j)`` for every point ``z_k``: the c-transform of ``v``."""
    cdef Py_ssize_t n = z.shape[0], m = y.shape[0], d = z.shape[1], i, j
    if y.shape[1] != d or v.shape[0] != m:
        raise ValueError("z, y and v have inconsistent shapes")
    cdef double[::1] out = np.empty(n)
    cdef double value, best
    with nogil:
        for i in range(n):
            best = INFINITY
            for j in range(m):
                value = distance(&z[i, 0], &y[j, 0], d, metric, p)
                value = value - v[j]
                if value < best:
                    best = value
            out[i] = best
    return np.asarray(out)
