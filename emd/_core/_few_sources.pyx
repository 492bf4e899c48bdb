# cython: language_level=3
"""Transport with a handful of nodes on one side: successive shortest paths on that side.

With ``n`` small-side nodes and ``m >> n`` large-side nodes, the spanning tree
of the network simplex has ``n + m`` nodes and a pivot can move a subtree of
O(m) of them.  Here the work happens on the small side instead:

1. every large-side node ``j`` is served by its cheapest small-side node (the
   optimum when the small side's masses are ignored), so the small side holds
   *excess* (too much mass assigned) and *deficit* (too little);
2. mass is moved by successive shortest paths (Ahuja, Magnanti & Orlin,
   *Network Flows*, 1993, sec. 9.7) on the n-node graph obtained by
   contracting the large side: the arc ``i -> k`` moves (part of) a node ``j``
   served by ``i`` over to ``k`` at cost ``c_kj - c_ij``, and its length is
   the minimum over those ``j``.  Each ordered pair ``(i, k)`` keeps a binary
   heap of ``c_kj - c_ij`` over the ``j`` that ``i`` serves (static keys; an
   entry whose ``j`` ``i`` no longer serves is dropped when it reaches the
   top).  Dijkstra over the ``n`` nodes runs on reduced lengths with node
   potentials, which stay nonnegative (the capped update of AMO sec. 9.7), so
   each augmentation costs O(n^2 + path * n log m).  The potentials are the
   ``n`` free variables of the dual (``v_j = min_i c_ij - u_i``), the
   structure that Tokuyama & Nakano exploit for the Hitchcock problem with
   few supply points ("Efficient algorithms for the Hitchcock transportation
   problem", SIAM J. Comput. 24(3), 1995); the algorithm here is the plain
   successive shortest path method on the contracted graph, not theirs.

The plan found this way is turned into a spanning forest (``forest_start`` of
``emd._core._starts``)
and handed to the exact network simplex as its starting basis, which finishes
exactly (rounding in the paths can only cost a few pivots, never a wrong
answer).  Costs are held in an ``m x n`` array: O(n m) memory, meant for
small ``n``.
"""

import numpy as np

cimport numpy as cnp
from libc.math cimport INFINITY, fabs
from libc.stdlib cimport free, malloc, realloc
from libc.stdint cimport int32_t

from emd._core._metric cimport distance, reduced_cost_bounds

cnp.import_array()


cdef struct Entry:
    double key
    int32_t node


cdef struct Heap:
    Entry* items
    Py_ssize_t size
    Py_ssize_t cap


cdef inline void sift_down(Entry* h, Py_ssize_t size, Py_ssize_t k) noexcept nogil:
    cdef Entry item = h[k]
    cdef Py_ssize_t child
    while True:
        child = 2 * k + 1
        if child >= size:
            break
        if child + 1 < size and h[child + 1].key < h[child].key:
            child += 1
        if h[child].key >= item.key:
            break
        h[k] = h[child]
        k = child
    h[k] = item


cdef inline bint heap_push(Heap* H, double key, int32_t node) noexcept nogil:
    cdef Py_ssize_t k, parent
    cdef Entry* grown
    if H.size == H.cap:
        grown = <Entry*> realloc(H.items, <size_t> (2 * H.cap + 4) * sizeof(Entry))
        if grown == NULL:
            return False
        H.items = grown
        H.cap = 2 * H.cap + 4
    k = H.size
    H.size += 1
    while k > 0:
        parent = (k - 1) // 2
        if H.items[parent].key <= key:
            break
        H.items[k] = H.items[parent]
        k = parent
    H.items[k].key = key
    H.items[k].node = node
    return True


cdef inline void heap_pop(Heap* H) noexcept nogil:
    H.size -= 1
    if H.size > 0:
        H.items[0] = H.items[H.size]
        sift_down(H.items, H.size, 0)


cdef inline Py_ssize_t heap_top(Heap* H, const double* X, Py_ssize_t n, Py_ssize_t i) noexcept nogil:
    """The top entry whose large-side node ``i`` still serves (stale ones are dropped); -1
    when none is left."""
    while H.size > 0:
        if X[<Py_ssize_t> H.items[0].node * n + i] > 0.0:
            return 0
        heap_pop(H)
    return -1


def point_costs_large_major(
    const double[:, ::1] x not None, const double[:, ::1] y not None, int metric, double p,
    const Py_ssize_t[::1] rows not None, const Py_ssize_t[::1] cols not None, bint rows_small,
):
    """The costs ``d(x_rows[r], y_cols[c])`` as an ``(m, n)`` array indexed (large, small):
    the float64 values every kernel of the package evaluates."""
    cdef Py_ssize_t nr = rows.shape[0], nc = cols.shape[0], d = x.shape[1], r, c
    cdef Py_ssize_t n = nr if rows_small else nc
    cdef Py_ssize_t m = nc if rows_small else nr
    out = np.empty((m, n))
    cdef double[:, ::1] C = out
    with nogil:
        if rows_small:
            for c in range(nc):
                for r in range(nr):
                    C[c, r] = distance(&x[rows[r], 0], &y[cols[c], 0], d, metric, p)
        else:
            for r in range(nr):
                for c in range(nc):
                    C[r, c] = distance(&x[rows[r], 0], &y[cols[c], 0], d, metric, p)
    return out


def shortest_paths(
    const double[:, ::1] cost not None,
    const double[::1] small not None,
    const double[::1] large not None,
    double tol,
    Py_ssize_t max_augment,
):
    """Successive shortest paths for the transport between ``small`` (n) and ``large`` (m)
    masses with costs ``cost[j, i]`` (large ``j``, small ``i``).

    Stops when no small-side node is off its mass by more than ``tol``, or after
    ``max_augment`` augmentations.  Returns ``(amounts, augmentations, complete)``:
    ``amounts[j, i]`` is the mass of ``j`` served by ``i``.
    """
    cdef Py_ssize_t m = cost.shape[0], n = cost.shape[1]
    if small.shape[0] != n or large.shape[0] != m:
        raise ValueError("cost must be (len(large), len(small))")
    if n > 46340 or m >= 2**31:
        raise ValueError("too many nodes for the few-sources kernel")
    amounts = np.zeros((m, n))
    cdef double[:, ::1] Xv = amounts
    cdef double* X = &Xv[0, 0] if m * n > 0 else NULL
    cdef const double* C = &cost[0, 0] if m * n > 0 else NULL
    cdef double[::1] excess = np.zeros(n)
    cdef double[::1] pot = np.zeros(n)
    cdef double[::1] dist = np.empty(n)
    cdef Py_ssize_t[::1] pred = np.empty(n, dtype=np.intp)
    cdef Py_ssize_t[::1] pred_node = np.empty(n, dtype=np.intp)
    cdef char[::1] done = np.empty(n, dtype=np.int8)
    cdef Py_ssize_t[::1] fill = np.zeros(n, dtype=np.intp)
    cdef Heap* heaps = <Heap*> malloc(<size_t> (n * n if n > 0 else 1) * sizeof(Heap))
    cdef Py_ssize_t i, k, j, q, best_i, s, t, augments = 0, pos
    cdef double best, value, key, delta, d_t, reduced
    cdef bint ok = True, complete = False, fresh
    if heaps == NULL:
        raise MemoryError()
    for q in range(n * n):
        heaps[q].items = NULL
        heaps[q].size = 0
        heaps[q].cap = 0
    try:
        with nogil:
            # Everything to its cheapest small-side node.
            for j in range(m):
                best_i = 0
                best = C[j * n]
                for i in range(1, n):
                    if C[j * n + i] < best:
                        best = C[j * n + i]
                        best_i = i
                X[j * n + best_i] = large[j]
                excess[best_i] += large[j]
                fill[best_i] += 1
            for i in range(n):
                excess[i] -= small[i]
            # Heaps built whole, then heapified: O(n m).
            for i in range(n):
                for k in range(n):
                    if k == i:
                        continue
                    q = i * n + k
                    heaps[q].cap = fill[i] + 4
                    heaps[q].items = <Entry*> malloc(<size_t> heaps[q].cap * sizeof(Entry))
                    if heaps[q].items == NULL:
                        ok = False
            if ok:
                for j in range(m):
                    for i in range(n):
                        if X[j * n + i] > 0.0:
                            break
                    if i == n or not X[j * n + i] > 0.0:
                        continue  # zero mass: serves nobody
                    for k in range(n):
                        if k != i:
                            q = i * n + k
                            heaps[q].items[heaps[q].size].key = C[j * n + k] - C[j * n + i]
                            heaps[q].items[heaps[q].size].node = <int32_t> j
                            heaps[q].size += 1
                for q in range(n * n):
                    if heaps[q].size > 1:
                        for pos in range(heaps[q].size // 2 - 1, -1, -1):
                            sift_down(heaps[q].items, heaps[q].size, pos)
            while ok:
                # Multi-source Dijkstra from every node with excess to the nearest deficit.
                s = -1
                for i in range(n):
                    done[i] = 0
                    pred[i] = -1
                    if excess[i] > tol:
                        dist[i] = 0.0
                        s = i
                    else:
                        dist[i] = INFINITY
                if s < 0:
                    complete = True
                    break
                if augments >= max_augment:
                    break
                t = -1
                while True:
                    best_i = -1
                    best = INFINITY
                    for i in range(n):
                        if not done[i] and dist[i] < best:
                            best = dist[i]
                            best_i = i
                    if best_i < 0:
                        break
                    i = best_i
                    done[i] = 1
                    if excess[i] < -tol:
                        t = i
                        break
                    for k in range(n):
                        if done[k]:
                            continue
                        q = i * n + k
                        if heap_top(&heaps[q], X, n, i) < 0:
                            continue
                        reduced = heaps[q].items[0].key + pot[i] - pot[k]
                        if reduced < 0.0:
                            reduced = 0.0  # rounding of the potentials
                        if dist[i] + reduced < dist[k]:
                            dist[k] = dist[i] + reduced
                            pred[k] = i
                            pred_node[k] = heaps[q].items[0].node
                if t < 0:
                    break  # no path: cannot happen for balanced masses
                d_t = dist[t]
                for i in range(n):
                    pot[i] += dist[i] if dist[i] < d_t else d_t
                # The bottleneck along the path (amounts before the move: a node met
                # twice on the path only makes the bound conservative).
                k = t
                delta = -excess[t]
                while pred[k] >= 0:
                    i = pred[k]
                    j = pred_node[k]
                    if X[j * n + i] < delta:
                        delta = X[j * n + i]
                    k = i
                s = k
                if excess[s] < delta:
                    delta = excess[s]
                k = t
                while pred[k] >= 0:
                    i = pred[k]
                    j = pred_node[k]
                    value = X[j * n + i]
                    X[j * n + i] = 0.0 if value <= delta else value - delta
                    fresh = X[j * n + k] == 0.0
                    X[j * n + k] += delta
                    if fresh:
                        for q in range(n):
                            if q != k:
                                key = C[j * n + q] - C[j * n + k]
                                if not heap_push(&heaps[k * n + q], key, <int32_t> j):
                                    ok = False
                    k = i
                excess[s] -= delta
                excess[t] += delta
                augments += 1
    finally:
        for q in range(n * n):
            free(heaps[q].items)
        free(heaps)
    if not ok:
        raise MemoryError()
    return amounts, augments, complete


def pricing_scan(
    const double[:, ::1] cost not None,
    bint rows_small,
    const double[::1] pi not None,
    const double[::1] pi_low not None,
):
    """A full exact pricing pass over every (row, column) pair of the tree's potentials.

    ``cost[j, i]`` (large, small); tree nodes are the rows then the columns, and
    the reduced cost of row ``r``, column ``c`` is ``C + pi[r] - pi[n_rows + c]``.
    Returns ``(rows, cols, costs, worst)``: for every large-side node the pair with
    the most negative reduced cost when it is negative beyond the rigorous bound
    of its evaluation, and a rigorous lower bound on every reduced cost.
    """
    cdef Py_ssize_t m = cost.shape[0], n = cost.shape[1], j, i, r, c, best_i, count = 0
    cdef Py_ssize_t n_rows = n if rows_small else m
    if pi.shape[0] < n + m or pi_low.shape[0] < n + m:
        raise ValueError("pi must cover every row and column")
    out_rows_arr = np.empty(m, dtype=np.intp)
    out_cols_arr = np.empty(m, dtype=np.intp)
    out_costs_arr = np.empty(m)
    cdef Py_ssize_t[::1] out_rows = out_rows_arr
    cdef Py_ssize_t[::1] out_cols = out_cols_arr
    cdef double[::1] out_costs = out_costs_arr
    cdef double lower, upper, best, worst = INFINITY, value
    with nogil:
        for j in range(m):
            best = 0.0
            best_i = -1
            for i in range(n):
                value = cost[j, i]
                if rows_small:
                    r = i
                    c = j
                else:
                    r = j
                    c = i
                lower = reduced_cost_bounds(
                    value, pi[r], pi_low[r], pi[n_rows + c], pi_low[n_rows + c], &upper)
                if lower < worst:
                    worst = lower
                if upper < 0.0 and lower < best:
                    best = lower
                    best_i = i
            if best_i >= 0:
                out_rows[count] = best_i if rows_small else j
                out_cols[count] = j if rows_small else best_i
                out_costs[count] = cost[j, best_i]
                count += 1
    return out_rows_arr[:count], out_cols_arr[:count], out_costs_arr[:count], worst
