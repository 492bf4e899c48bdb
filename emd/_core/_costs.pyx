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

cnp.import_array()

cdef enum:
    EUCLIDEAN = 0
    SQEUCLIDEAN = 1
    CITYBLOCK = 2
    CHEBYSHEV = 3
    MINKOWSKI = 4

METRIC_CODES = {
    "euclidean": EUCLIDEAN,
    "sqeuclidean": SQEUCLIDEAN,
    "cityblock": CITYBLOCK,
    "chebyshev": CHEBYSHEV,
    "minkowski": MINKOWSKI,
}


cdef inline double power_distance(
    const double* x, const double* y, Py_ssize_t d, int metric, double p,
) noexcept nogil:
    """The distance raised to the power that avoids a root: |x-y|_2^2 for euclidean,
    sum |x-y|^p for minkowski, the distance itself otherwise."""
    cdef Py_ssize_t k
    cdef double acc = 0.0, diff
    if metric == EUCLIDEAN or metric == SQEUCLIDEAN:
        for k in range(d):
            diff = x[k] - y[k]
            acc += diff * diff
    elif metric == CITYBLOCK:
        for k in range(d):
            acc += fabs(x[k] - y[k])
    elif metric == CHEBYSHEV:
        for k in range(d):
            diff = fabs(x[k] - y[k])
            if diff > acc:
                acc = diff
    else:
        for k in range(d):
            acc += pow(fabs(x[k] - y[k]), p)
    return acc


cdef inline double from_power(double value, int metric, double p) noexcept nogil:
    if metric == EUCLIDEAN:
        return sqrt(value)
    if metric == MINKOWSKI:
        return pow(value, 1.0 / p)
    return value


cdef inline double to_power(double value, int metric, double p) noexcept nogil:
    if metric == EUCLIDEAN:
        return value * value
    if metric == MINKOWSKI:
        return pow(value, p)
    return value


cdef inline void keep_smallest(
    double* values, Py_ssize_t* index, Py_ssize_t k, double value, Py_ssize_t idx,
) noexcept nogil:
    """Insert into a sorted buffer of the k smallest values seen (caller checked value < values[k-1])."""
    cdef Py_ssize_t pos = k - 1
    while pos > 0 and values[pos - 1] > value:
        values[pos] = values[pos - 1]
        index[pos] = index[pos - 1]
        pos -= 1
    values[pos] = value
    index[pos] = idx


def _as_index(cnp.ndarray idx, Py_ssize_t size):
    if idx is None:
        return np.arange(size, dtype=np.intp)
    return np.ascontiguousarray(idx, dtype=np.intp)


def dense_cheapest(const double[:, ::1] cost not None, rows, cols, Py_ssize_t k):
    """The ``k`` cheapest arcs of every selected row and of every selected column.

    Returns ``(tails, heads, max_abs_cost)``: local row and column positions
    (duplicates possible where a row's and a column's choices meet) and the
    largest absolute cost over the selected submatrix.
    """
    cdef const Py_ssize_t[::1] row_map = _as_index(rows, cost.shape[0])
    cdef const Py_ssize_t[::1] col_map = _as_index(cols, cost.shape[1])
    cdef Py_ssize_t n = row_map.shape[0], m = col_map.shape[0]
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
    const double[::1] pi_rows not None, const double[::1] pi_cols not None, double rtol,
    Py_ssize_t per_line=1,
):
    """Arcs that price out: for every row and every column its ``per_line`` most
    negative reduced costs.

    The reduced cost of (r, c) is ``cost + pi_rows[r] - pi_cols[c]``; an arc
    counts only if it is below ``-rtol * (|cost| + |pi_r| + |pi_c|)``, the
    same test the simplex applies, so every arc returned can enter.
    Returns ``((tails, heads), min_reduced_cost)``.
    """
    cdef const Py_ssize_t[::1] row_map = _as_index(rows, cost.shape[0])
    cdef bint identity_cols = cols is None
    cdef const Py_ssize_t[::1] col_map = _as_index(cols, cost.shape[1])
    cdef Py_ssize_t n = row_map.shape[0], m = col_map.shape[0]
    cdef Py_ssize_t kr = min(per_line, m), kc = min(per_line, n)
    cdef double[:, ::1] row_val = np.zeros((n, kr))
    cdef Py_ssize_t[:, ::1] row_arg = np.full((n, kr), -1, dtype=np.intp)
    cdef double[:, ::1] col_val = np.zeros((m, kc))
    cdef Py_ssize_t[:, ::1] col_arg = np.full((m, kc), -1, dtype=np.intp)
    cdef Py_ssize_t r, c
    cdef double value, rc, pr, row_cut, worst = INFINITY
    cdef const double* row_ptr
    with nogil:
        for r in range(n):
            row_ptr = &cost[row_map[r], 0]
            pr = pi_rows[r]
            row_cut = 0.0
            for c in range(m):
                value = row_ptr[c] if identity_cols else row_ptr[col_map[c]]
                rc = value + pr - pi_cols[c]
                if rc < worst:
                    worst = rc
                if (rc < row_cut or rc < col_val[c, kc - 1]) and (
                    rc < -rtol * (fabs(value) + fabs(pr) + fabs(pi_cols[c]))
                ):
                    if rc < row_cut:
                        keep_smallest(&row_val[r, 0], &row_arg[r, 0], kr, rc, c)
                        row_cut = row_val[r, kr - 1]
                    if rc < col_val[c, kc - 1]:
                        keep_smallest(&col_val[c, 0], &col_arg[c, 0], kc, rc, r)
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
    const double[::1] pi_rows not None, const double[::1] pi_cols not None, double rtol,
    Py_ssize_t per_line=1,
):
    """:func:`dense_scan` with costs computed from coordinates; O(n + m) memory.

    An arc can only matter if ``cost < pi_c - pi_r + cut`` where ``cut`` is
    the larger of its row's and column's admission threshold, so the distance
    is compared in its root-free power and only rare survivors pay for the root.
    """
    cdef Py_ssize_t n = x.shape[0], m = y.shape[0], d = x.shape[1]
    cdef Py_ssize_t kr = min(per_line, m), kc = min(per_line, n)
    cdef double[:, ::1] row_val = np.zeros((n, kr))
    cdef Py_ssize_t[:, ::1] row_arg = np.full((n, kr), -1, dtype=np.intp)
    cdef double[:, ::1] col_val = np.zeros((m, kc))
    cdef Py_ssize_t[:, ::1] col_arg = np.full((m, kc), -1, dtype=np.intp)
    cdef Py_ssize_t r, c
    cdef double pr, row_cut, col_cut, bound, value, rc, worst = INFINITY
    with nogil:
        for r in range(n):
            pr = pi_rows[r]
            row_cut = 0.0
            for c in range(m):
                col_cut = col_val[c, kc - 1]
                bound = pi_cols[c] - pr + (row_cut if row_cut > col_cut else col_cut)
                if bound <= 0.0:
                    continue
                value = power_distance(&x[r, 0], &y[c, 0], d, metric, p)
                if value >= to_power(bound, metric, p):
                    continue
                value = from_power(value, metric, p)
                rc = value + pr - pi_cols[c]
                if rc < worst:
                    worst = rc
                if rc < -rtol * (fabs(value) + fabs(pr) + fabs(pi_cols[c])):
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
    cdef double[::1] out = np.empty(n_arcs)
    with nogil:
        for e in range(n_arcs):
            out[e] = from_power(
                power_distance(&x[tails[e], 0], &y[heads[e], 0], d, metric, p), metric, p
            )
    return np.asarray(out)


def dense_min_reduced_cost(
    const double[:, ::1] cost not None, const double[::1] u not None, const double[::1] v not None,
):
    """``min_ij (cost_ij - u_i - v_j)`` (minus the largest dual violation), where it is
    attained, and the largest absolute cost: ``(min, i, j, max_abs)``."""
    cdef Py_ssize_t n = cost.shape[0], m = cost.shape[1], i, j, bi = 0, bj = 0
    cdef double rc, best = INFINITY, biggest = 0.0
    with nogil:
        for i in range(n):
            for j in range(m):
                if fabs(cost[i, j]) > biggest:
                    biggest = fabs(cost[i, j])
                rc = cost[i, j] - u[i] - v[j]
                if rc < best:
                    best = rc
                    bi = i
                    bj = j
    return best, bi, bj, biggest


def points_min_reduced_cost(
    const double[:, ::1] x not None, const double[:, ::1] y not None, int metric, double p,
    const double[::1] u not None, const double[::1] v not None,
):
    """:func:`dense_min_reduced_cost` with costs computed from coordinates."""
    cdef Py_ssize_t n = x.shape[0], m = y.shape[0], d = x.shape[1], i, j, bi = 0, bj = 0
    cdef double rc, c, best = INFINITY, biggest = 0.0
    with nogil:
        for i in range(n):
            for j in range(m):
                c = from_power(power_distance(&x[i, 0], &y[j, 0], d, metric, p), metric, p)
                if c > biggest:
                    biggest = c
                rc = c - u[i] - v[j]
                if rc < best:
                    best = rc
                    bi = i
                    bj = j
    return best, bi, bj, biggest


def points_c_transform(
    const double[:, ::1] z not None, const double[:, ::1] y not None, int metric, double p,
    const double[::1] v not None,
):
    """``min_j (d(z_k, y_j) - v_j)`` for every point ``z_k``: the c-transform of ``v``."""
    cdef Py_ssize_t n = z.shape[0], m = y.shape[0], d = z.shape[1], i, j
    cdef double[::1] out = np.empty(n)
    cdef double value, best
    with nogil:
        for i in range(n):
            best = INFINITY
            for j in range(m):
                value = from_power(power_distance(&z[i, 0], &y[j, 0], d, metric, p), metric, p)
                value = value - v[j]
                if value < best:
                    best = value
            out[i] = best
    return np.asarray(out)
