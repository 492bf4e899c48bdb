# cython: language_level=3
"""Cost oracles for bipartite problems: the full-matrix loops of the solver.

The network simplex itself only ever sees a list of candidate arcs.  The
loops here look at *every* pair (i, j), either in a dense cost matrix read in
place or with costs computed on the fly from coordinates, to

* pick the initial candidates (the cheapest arcs of every row and column),
* find the arcs that still price out against the current potentials, and
* measure the largest dual violation for the optimality certificate.

Each pass is O(n m) time and O(n + m) extra memory.  Rows and columns are
addressed through optional index maps so that zero-mass bins can be skipped
without copying the cost matrix.
"""

import numpy as np

cimport numpy as cnp
from libc.math cimport fabs, pow, sqrt, INFINITY

from emd._core._exact cimport filter_band, unit_roundoff
from emd._core._metric cimport (
    CHEBYSHEV, CITYBLOCK, EUCLIDEAN, MINKOWSKI, SQEUCLIDEAN, distance, finish_distance,
    from_power, keep_smallest, power_distance, reduced_cost_bounds, tiny_power, to_power,
)

cnp.import_array()

METRIC_CODES = {
    "euclidean": EUCLIDEAN,
    "sqeuclidean": SQEUCLIDEAN,
    "cityblock": CITYBLOCK,
    "chebyshev": CHEBYSHEV,
    "minkowski": MINKOWSKI,
}


def _as_index(cnp.ndarray idx, Py_ssize_t size):
    if idx is None:
        return np.arange(size, dtype=np.intp)
    idx = np.ascontiguousarray(idx, dtype=np.intp)
    if idx.ndim != 1 or (idx.size and (idx.min() < 0 or idx.max() >= size)):
        raise ValueError(f"index map must be 1-D with entries in [0, {size})")
    return idx


cdef _check_lines(Py_ssize_t n, Py_ssize_t m, Py_ssize_t per_line):
    # The per-line buffers below are read at position per_line - 1.
    if n < 1 or m < 1 or per_line < 1:
        raise ValueError("need at least one row, one column and one arc per line")


cdef _check_arcs(
    const Py_ssize_t[::1] tails, const Py_ssize_t[::1] heads, Py_ssize_t n, Py_ssize_t m,
):
    cdef Py_ssize_t e
    if heads.shape[0] != tails.shape[0]:
        raise ValueError("tails and heads must have the same length")
    for e in range(tails.shape[0]):
        if not (0 <= tails[e] < n and 0 <= heads[e] < m):
            raise ValueError(f"arc {e} ({tails[e]}, {heads[e]}) is outside a {n} x {m} problem")


def dense_cheapest(const double[:, ::1] cost not None, rows, cols, Py_ssize_t k):
    """The ``k`` cheapest arcs of every selected row and of every selected column.

    Returns ``(tails, heads, max_abs_cost)``: local row and column positions
    (duplicates possible where a row's and a column's choices meet) and the
    largest absolute cost over the selected submatrix.
    """
    cdef const Py_ssize_t[::1] row_map = _as_index(rows, cost.shape[0])
    cdef const Py_ssize_t[::1] col_map = _as_index(cols, cost.shape[1])
    cdef Py_ssize_t n = row_map.shape[0], m = col_map.shape[0]
    _check_lines(n, m, k)
    cdef Py_ssize_t kr = min(k, m), kc = min(k, n)
    cdef double[::1] row_val = np.empty(kr)
    cdef Py_ssize_t[::1] row_idx = np.empty(kr, dtype=np.intp)
    cdef double[:, ::1] col_val = np.full((m, kc), np.inf)
    cdef Py_ssize_t[:, ::1] col_idx = np.zeros((m, kc), dtype=np.intp)
    cdef Py_ssize_t[::1] tails = np.empty(n * kr + m * kc, dtype=np.intp)
    cdef Py_ssize_t[::1] heads = np.empty(n * kr + m * kc, dtype=np.intp)
    cdef Py_ssize_t r, c, q, out = 0
    cdef double value, biggest = 0.0
    cdef const double* row_ptr
    with nogil:
        for r in range(n):
            row_ptr = &cost[row_map[r], 0]
            for q in range(kr):
                row_val[q] = INFINITY
            for c in range(m):
                value = row_ptr[col_map[c]]
                if fabs(value) > biggest:
                    biggest = fabs(value)
                if value < row_val[kr - 1]:
                    keep_smallest(&row_val[0], &row_idx[0], kr, value, c)
                if value < col_val[c, kc - 1]:
                    keep_smallest(&col_val[c, 0], &col_idx[c, 0], kc, value, r)
            for q in range(kr):
                tails[out] = r
                heads[out] = row_idx[q]
                out += 1
        for c in range(m):
            for q in range(kc):
                tails[out] = col_idx[c, q]
                heads[out] = c
                out += 1
    return np.asarray(tails), np.asarray(heads), biggest


def dense_scan(
    const double[:, ::1] cost not None, rows, cols,
    const double[::1] pi_rows not None, const double[::1] pi_cols not None,
    const double[::1] low_rows not None, const double[::1] low_cols not None,
    Py_ssize_t per_line=1,
):
    """Arcs that price out: for every row and every column its ``per_line`` most
    negative reduced costs.

    The reduced cost of (r, c) is ``cost + (pi_rows[r] + low_rows[r]) - (pi_cols[c] +
    low_cols[c])`` (double-double potentials); an arc counts only if it is negative
    beyond the rigorous error bound of its evaluation, the test of the simplex's
    exact phase, so every arc returned can enter.  Returns ``((tails, heads),
    min_lower_bound)``: when no arc is returned, the latter is a rigorous lower bound
    on every reduced cost (``-max_dual_violation``; INFINITY for an empty scan).
    """
    cdef const Py_ssize_t[::1] row_map = _as_index(rows, cost.shape[0])
    cdef bint identity_cols = cols is None
    cdef const Py_ssize_t[::1] col_map = _as_index(cols, cost.shape[1])
    cdef Py_ssize_t n = row_map.shape[0], m = col_map.shape[0]
    _check_lines(n, m, per_line)
    if pi_rows.shape[0] != n or pi_cols.shape[0] != m:
        raise ValueError("pi_rows and pi_cols must match the selected rows and columns")
    if low_rows.shape[0] != n or low_cols.shape[0] != m:
        raise ValueError("low_rows and low_cols must match pi_rows and pi_cols")
    cdef Py_ssize_t kr = min(per_line, m), kc = min(per_line, n)
    cdef double[:, ::1] row_val = np.zeros((n, kr))
    cdef Py_ssize_t[:, ::1] row_arg = np.full((n, kr), -1, dtype=np.intp)
    cdef double[:, ::1] col_val = np.zeros((m, kc))
    cdef Py_ssize_t[:, ::1] col_arg = np.full((m, kc), -1, dtype=np.intp)
    # Each column's admission threshold (its kc-th best so far), kept
    # contiguous so that the common case -- nothing to admit -- reads memory
    # sequentially and costs a few flops.
    cdef double[::1] col_cut = np.zeros(m)
    cdef Py_ssize_t r, c
    cdef double value, rc, pr, pc, row_cut, upper, worst = INFINITY
    cdef const double* row_ptr
    with nogil:
        for r in range(n):
            row_ptr = &cost[row_map[r], 0]
            pr = pi_rows[r]
            row_cut = 0.0
            for c in range(m):
                value = row_ptr[c] if identity_cols else row_ptr[col_map[c]]
                pc = pi_cols[c]
                rc = value + pr - pc
                if rc > filter_band(fabs(value) + fabs(pr) + fabs(pc)):
                    continue  # certainly nonnegative: nearly every pair
                rc = reduced_cost_bounds(value, pr, low_rows[r], pc, low_cols[c], &upper)
                if rc < worst:
                    worst = rc
                if upper >= 0.0:
                    continue
                if rc < row_cut:
                    keep_smallest(&row_val[r, 0], &row_arg[r, 0], kr, rc, c)
                    row_cut = row_val[r, kr - 1]
                if rc < col_cut[c]:
                    keep_smallest(&col_val[c, 0], &col_arg[c, 0], kc, rc, r)
                    col_cut[c] = col_val[c, kc - 1]
    return _collect(row_arg, col_arg), worst


def _collect(Py_ssize_t[:, ::1] row_arg, Py_ssize_t[:, ::1] col_arg):
    """Unique (row, col) pairs from per-row and per-column choices (-1 = none)."""
    rows_arg = np.asarray(row_arg)
    cols_arg = np.asarray(col_arg)
    m = cols_arg.shape[0]
    r_hit, r_slot = np.nonzero(rows_arg >= 0)
    c_hit, c_slot = np.nonzero(cols_arg >= 0)
    tails = np.concatenate([r_hit, cols_arg[c_hit, c_slot]])
    heads = np.concatenate([rows_arg[r_hit, r_slot], c_hit])
    if tails.size:
        key = np.unique(tails.astype(np.int64) * m + heads)
        tails, heads = np.divmod(key, m)
    return tails.astype(np.intp), heads.astype(np.intp)


def points_scan(
    const double[:, ::1] x not None, const double[:, ::1] y not None, int metric, double p,
    const double[::1] pi_rows not None, const double[::1] pi_cols not None,
    const double[::1] low_rows not None, const double[::1] low_cols not None,
    Py_ssize_t per_line=1,
):
    """:func:`dense_scan` with costs computed from coordinates; O(n + m) memory.

    An arc can only matter if ``cost < pi_c - pi_r + cut`` where ``cut`` is
    the larger of its row's and column's admission threshold, so the distance
    is compared in its root-free power, against a bound widened by the
    rounding of the comparison, and only rare survivors pay for the root and
    the exact evaluation.  Powers that may have underflowed are compared as
    distances; the caller must keep them from overflowing
    (:meth:`emd._engine.PointCosts.check_range`).
    """
    cdef Py_ssize_t n = x.shape[0], m = y.shape[0], d = x.shape[1]
    _check_lines(n, m, per_line)
    if y.shape[1] != d or pi_rows.shape[0] != n or pi_cols.shape[0] != m:
        raise ValueError("x, y, pi_rows and pi_cols have inconsistent shapes")
    if low_rows.shape[0] != n or low_cols.shape[0] != m:
        raise ValueError("low_rows and low_cols must match pi_rows and pi_cols")
    cdef Py_ssize_t kr = min(per_line, m), kc = min(per_line, n)
    cdef double[:, ::1] row_val = np.zeros((n, kr))
    cdef Py_ssize_t[:, ::1] row_arg = np.full((n, kr), -1, dtype=np.intp)
    cdef double[:, ::1] col_val = np.zeros((m, kc))
    cdef Py_ssize_t[:, ::1] col_arg = np.full((m, kc), -1, dtype=np.intp)
    cdef Py_ssize_t r, c
    cdef double pr, pc, row_cut, col_cut, cut, bound, value, rc, upper, worst = INFINITY
    cdef double u = unit_roundoff()
    # Bounds below this have powers below tiny_power(), which a distance's power
    # may have underflowed to: there the distance itself is compared.
    cdef double tiny_bound = from_power(tiny_power(), metric, p) if (
        metric == EUCLIDEAN or metric == MINKOWSKI) else 0.0
    with nogil:
        for r in range(n):
            pr = pi_rows[r]
            row_cut = 0.0
            for c in range(m):
                pc = pi_cols[c]
                col_cut = col_val[c, kc - 1]
                cut = row_cut if row_cut > col_cut else col_cut
                # Widened by the rounding of forming it, of the low parts and of
                # the reduced cost itself: a pair skipped has an exact reduced
                # cost of at least ``cut``.
                bound = pc - pr + cut
                bound += 8.0 * u * (fabs(pc) + fabs(pr) + fabs(cut))
                if bound < tiny_bound:
                    if bound <= 0.0:
                        continue
                    value = distance(&x[r, 0], &y[c, 0], d, metric, p)
                else:
                    # Callers keep every power finite (PointCosts.check_range).
                    value = power_distance(&x[r, 0], &y[c, 0], d, metric, p)
                    if value >= to_power(bound * (1.0 + 16.0 * u), metric, p):
                        continue
                    value = finish_distance(value, &x[r, 0], &y[c, 0], d, metric, p)
                rc = reduced_cost_bounds(value, pr, low_rows[r], pc, low_cols[c], &upper)
                if rc < worst:
                    worst = rc
                if upper >= 0.0:
                    continue
                if rc < row_cut:
                    keep_smallest(&row_val[r, 0], &row_arg[r, 0], kr, rc, c)
                    row_cut = row_val[r, kr - 1]
                if rc < col_cut:
                    keep_smallest(&col_val[c, 0], &col_arg[c, 0], kc, rc, r)
    return _collect(row_arg, col_arg), worst


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


cdef inline void track_worst(
    double value, double u_i, double u_low_i, double v_j, double v_low_j,
    Py_ssize_t i, Py_ssize_t j, double* best, Py_ssize_t* bi, Py_ssize_t* bj,
) noexcept nogil:
    """Keep the smallest rigorous lower bound of ``value - (u_i + u_low_i) - (v_j + v_low_j)``."""
    cdef double upper
    cdef double lower = reduced_cost_bounds(value, -u_i, -u_low_i, v_j, v_low_j, &upper)
    if lower < best[0]:
        best[0] = lower
        bi[0] = i
        bj[0] = j


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
    cdef Py_ssize_t n = cost.shape[0], m = cost.shape[1]
    if u.shape[0] != n or v.shape[0] != m or u_low.shape[0] != n or v_low.shape[0] != m:
        raise ValueError("u, v and their low parts must have one entry per row and column")
    cdef const Py_ssize_t[::1] row_map = _as_index(rows, n)
    cdef const Py_ssize_t[::1] col_map = _as_index(cols, m)
    cdef Py_ssize_t r, c, i, j, bi = 0, bj = 0
    cdef double value, best = INFINITY, biggest = 0.0
    with nogil:
        for r in range(row_map.shape[0]):
            i = row_map[r]
            for c in range(col_map.shape[0]):
                j = col_map[c]
                value = cost[i, j]
                if fabs(value) > biggest:
                    biggest = fabs(value)
                track_worst(value, u[i], u_low[i], v[j], v_low[j], i, j, &best, &bi, &bj)
    return best, bi, bj, biggest


def points_min_reduced_cost(
    const double[:, ::1] x not None, const double[:, ::1] y not None, int metric, double p,
    const double[::1] u not None, const double[::1] v not None,
    const double[::1] u_low not None, const double[::1] v_low not None, rows=None, cols=None,
):
    """:func:`dense_min_reduced_cost` with costs computed from coordinates."""
    cdef Py_ssize_t n = x.shape[0], m = y.shape[0], d = x.shape[1]
    if y.shape[1] != d or u.shape[0] != n or v.shape[0] != m:
        raise ValueError("x, y, u and v have inconsistent shapes")
    if u_low.shape[0] != n or v_low.shape[0] != m:
        raise ValueError("u_low and v_low must match u and v")
    cdef const Py_ssize_t[::1] row_map = _as_index(rows, n)
    cdef const Py_ssize_t[::1] col_map = _as_index(cols, m)
    cdef Py_ssize_t r, c, i, j, bi = 0, bj = 0
    cdef double value, best = INFINITY, biggest = 0.0
    with nogil:
        for r in range(row_map.shape[0]):
            i = row_map[r]
            for c in range(col_map.shape[0]):
                j = col_map[c]
                value = distance(&x[i, 0], &y[j, 0], d, metric, p)
                if value > biggest:
                    biggest = value
                track_worst(value, u[i], u_low[i], v[j], v_low[j], i, j, &best, &bi, &bj)
    return best, bi, bj, biggest


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
