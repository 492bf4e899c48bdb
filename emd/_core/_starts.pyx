# cython: language_level=3
"""Starting trees of the pair solve: the staircase and the forest of a plan.

The simplex may start anywhere strongly feasible; a start near the optimum
saves pivots, never changes the answer's proof (the solve ends, as always, on
the exact phase and a full pricing pass that finds nothing).

* The staircase: the north-west corner plan of a pair whose costs tie along
  the rows (:func:`staircase_keys`).
* A plan's forest: large point clouds (emd._multiscale) hand the pair solve the
  support of a feasible plan of the fine problem, obtained from a coarsened
  problem, and the few-sources solver (emd._few) a plan of its own; the tree
  starts from a spanning forest of that support (:func:`plan_forest`,
  :func:`start_from_plan`, :func:`forest_start`) instead of the artificial star.

The tree itself is built from the forest by :func:`emd._core._tree.start_forest`.
"""

import numpy as np

from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc

from emd._core._pair cimport Workspace
from emd._core._tree cimport start_forest


cdef Py_ssize_t staircase_keys(
    Workspace* W, const double* a, const double* b, Py_ssize_t n, Py_ssize_t m,
    int64_t* keys, bint reversed_cols=False,
) noexcept nogil:
    """The keys of the north-west corner plan of the rows and columns with mass, in
    index order (``reversed_cols``: the columns taken last to first, the north-east
    corner): at most n + m - 1 arcs that carry a feasible plan by themselves.

    The north-west corner plan is optimal for every Monge cost
    (``C[i, j] + C[k, l] <= C[i, l] + C[k, j]`` for ``i < k``, ``j < l``; Hoffman
    1963), whatever the weights; reversing the columns makes an anti-Monge cost
    (``i * j``) Monge, so the north-east corner is optimal for it.

    Taken when most rows' cheapest candidates tie (costs under which many plans
    are optimal: zero, constant or row-constant costs, and i + j, which is Monge,
    so that the staircase is optimal): with them among the first candidates the
    simplex needs no artificial arc to carry mass and the first tree is optimal
    or nearly, where such problems took 4-7 full pricing passes in which every
    pair sits in the band of the exact test (n = 2000, distinct random weights:
    0.26 -> 0.07 s); the tree then starts on the staircase itself rather than
    the artificial star (:func:`start_from_plan`).  On other costs the
    staircase of index order is no better than any plan and slowed dense
    n = 4000 by a quarter.
    """
    cdef Py_ssize_t i = 0, j = 0, count = 0, col
    cdef double left = a[W.row_map[0]]
    cdef double right = b[W.col_map[m - 1 if reversed_cols else 0]]
    while i < n and j < m:
        col = m - 1 - j if reversed_cols else j
        keys[count] = i * m + col
        count += 1
        if left <= right:
            right -= left
            i += 1
            if i < n:
                left = a[W.row_map[i]]
        else:
            left -= right
            j += 1
            if j < m:
                right = b[W.col_map[m - 1 - j if reversed_cols else j]]
    return count


cdef Py_ssize_t find_arc(Workspace* W, Py_ssize_t n, Py_ssize_t m, int64_t key) noexcept nogil:
    """The index of the arc of ``key`` (row * m + col) among the first arcs of the list,
    which are sorted by key (the first candidates, appended by ``append_arcs``); -1 if
    absent."""
    cdef Py_ssize_t lo = 0, hi = W.n_arcs, mid
    cdef int64_t here
    while lo < hi:
        mid = (lo + hi) // 2
        here = <int64_t> W.tails[mid] * m + (W.heads[mid] - n)
        if here < key:
            lo = mid + 1
        else:
            hi = mid
    if lo < W.n_arcs and <int64_t> W.tails[lo] * m + (W.heads[lo] - n) == key:
        return lo
    return -1


cdef Py_ssize_t uf_find(Py_ssize_t* up, Py_ssize_t v) noexcept nogil:
    cdef Py_ssize_t r = v, nxt
    while up[r] != r:
        r = up[r]
    while up[v] != r:
        nxt = up[v]
        up[v] = r
        v = nxt
    return r


cdef bint forest_order(
    Py_ssize_t n_nodes, const Py_ssize_t* parent, Py_ssize_t* start, Py_ssize_t* child,
    Py_ssize_t* stack, Py_ssize_t* preorder,
) noexcept nogil:
    """A depth-first preorder of the forest ``parent`` (roots: -1), children in increasing
    order, into ``preorder``; False unless it reaches every node.  Scratch: ``start``
    has ``n_nodes + 3`` entries, ``child`` and ``stack`` ``n_nodes``."""
    cdef Py_ssize_t v, p, k, top = 0, slot = 0, w
    for v in range(n_nodes + 3):
        start[v] = 0
    for v in range(n_nodes):
        p = parent[v] if parent[v] >= 0 else n_nodes
        start[p + 2] += 1
    for v in range(2, n_nodes + 2):
        start[v] += start[v - 1]
    for v in range(n_nodes):
        p = parent[v] if parent[v] >= 0 else n_nodes
        child[start[p + 1]] = v
        start[p + 1] += 1
    # start[p] .. start[p + 1] now lists the children of p (the roots under n_nodes).
    for k in range(start[n_nodes + 1] - 1, start[n_nodes] - 1, -1):
        stack[top] = child[k]
        top += 1
    while top > 0:
        top -= 1
        w = stack[top]
        preorder[slot] = w
        slot += 1
        for k in range(start[w + 1] - 1, start[w] - 1, -1):
            stack[top] = child[k]
            top += 1
    return slot == n_nodes


cdef Py_ssize_t plan_forest(
    Py_ssize_t n_nodes, const Py_ssize_t* tails, const Py_ssize_t* heads,
    const Py_ssize_t* arcs, Py_ssize_t n_arcs, const double* supply,
    Py_ssize_t* parent, Py_ssize_t* arc, Py_ssize_t* preorder, double* below,
) noexcept nogil:
    """A spanning forest, for :func:`start_forest`, of the arcs ``arcs[0:n_arcs]``
    (indices into ``tails``, ``heads``); returns how many arcs it cut, -1 when out of
    memory.

    The forest keeps the arcs that close no cycle, in their order.  Each kept arc
    is oriented by the flow it must carry (the net supply below it, summed as
    :func:`start_forest` sums it); an arc whose orientation would need the
    missing reverse arc (flow against it, or none from its head up to its tail:
    an arc without flow must point toward the root) is cut and its subtree hung
    from the root, until no such arc is left.  The result is feasible and
    strongly feasible whatever the arcs; a good plan only puts it near the
    optimum.  ``parent`` (-1 at roots), ``arc`` (the arc to the parent, -1 at
    roots), ``preorder`` and ``below`` (the sums) have one entry per node.
    """
    cdef Py_ssize_t k, e, r, c, v, p, cuts, all_cuts = 0, top
    cdef Py_ssize_t* up = <Py_ssize_t*> malloc(<size_t> (n_nodes + 1) * sizeof(Py_ssize_t))
    cdef Py_ssize_t* start = <Py_ssize_t*> malloc(<size_t> (n_nodes + 3) * sizeof(Py_ssize_t))
    cdef Py_ssize_t* child = <Py_ssize_t*> malloc(<size_t> (2 * n_nodes + 2) * sizeof(Py_ssize_t))
    cdef Py_ssize_t* stack = <Py_ssize_t*> malloc(<size_t> (2 * n_nodes + 2) * sizeof(Py_ssize_t))
    cdef bint ok = up != NULL and start != NULL and child != NULL and stack != NULL
    if ok and n_nodes > 0:
        # The arcs that close no cycle (union-find), as an undirected adjacency:
        # start[v] .. start[v + 1] lists the kept arcs at v, in child[].
        for v in range(n_nodes):
            up[v] = v
        for v in range(n_nodes + 2):
            start[v] = 0
        cuts = 0
        for k in range(n_arcs):
            e = arcs[k]
            r = tails[e]
            c = heads[e]
            if uf_find(up, r) == uf_find(up, c):
                continue
            up[uf_find(up, r)] = uf_find(up, c)
            stack[cuts] = e
            cuts += 1
            start[r + 2] += 1
            start[c + 2] += 1
        for v in range(2, n_nodes + 2):
            start[v] += start[v - 1]
        for k in range(cuts):
            e = stack[k]
            child[start[tails[e] + 1]] = e
            start[tails[e] + 1] += 1
            child[start[heads[e] + 1]] = e
            start[heads[e] + 1] += 1
        # Parents by a depth-first walk from every node not yet reached (up[]
        # marks reached).
        for v in range(n_nodes):
            up[v] = 0
        for v in range(n_nodes):
            if up[v]:
                continue
            up[v] = 1
            parent[v] = -1
            arc[v] = -1
            stack[n_nodes + 1] = v
            top = 1
            while top > 0:
                top -= 1
                p = stack[n_nodes + 1 + top]
                for r in range(start[p], start[p + 1]):
                    e = child[r]
                    c = tails[e] if tails[e] != p else heads[e]
                    if up[c]:
                        continue
                    up[c] = 1
                    parent[c] = p
                    arc[c] = e
                    stack[n_nodes + 1 + top] = c
                    top += 1
        # Cut every arc that cannot carry the flow its subtree needs, until none.
        cuts = 1
        while cuts and ok:
            ok = forest_order(n_nodes, parent, start, child, stack, preorder)
            cuts = 0
            for k in range(n_nodes):
                below[k] = supply[k]
            for k in range(n_nodes - 1, -1, -1):
                v = preorder[k]
                if parent[v] >= 0:
                    below[parent[v]] += below[v]
            for v in range(n_nodes):
                if parent[v] >= 0 and (below[v] >= 0) != (tails[arc[v]] == v):
                    parent[v] = -1
                    arc[v] = -1
                    cuts += 1
            all_cuts += cuts
    free(up); free(start); free(child); free(stack)
    return all_cuts if ok else -1


cdef bint start_from_plan(
    Workspace* W, const int64_t* plan, Py_ssize_t n_plan, Py_ssize_t n, Py_ssize_t m,
) noexcept nogil:
    """Start the tree (supplies in ``W.supply``) from :func:`plan_forest` of the arcs of
    the keys ``plan`` (local row * m + col; keys without an arc in the list are passed
    over).  False (and nothing changed) when out of memory."""
    cdef Py_ssize_t n_nodes = n + m, k, e, count = 0
    cdef Py_ssize_t* arcs = <Py_ssize_t*> malloc(<size_t> (n_plan + 1) * sizeof(Py_ssize_t))
    cdef Py_ssize_t* parent = <Py_ssize_t*> malloc(<size_t> (n_nodes + 1) * sizeof(Py_ssize_t))
    cdef Py_ssize_t* arc = <Py_ssize_t*> malloc(<size_t> (n_nodes + 1) * sizeof(Py_ssize_t))
    cdef Py_ssize_t* preorder = <Py_ssize_t*> malloc(<size_t> (n_nodes + 1) * sizeof(Py_ssize_t))
    cdef double* below = <double*> malloc(<size_t> (n_nodes + 1) * sizeof(double))
    cdef bint ok = (arcs != NULL and parent != NULL and arc != NULL and preorder != NULL
                    and below != NULL)
    if ok:
        for k in range(n_plan):
            e = find_arc(W, n, m, plan[k])
            if e >= 0:
                arcs[count] = e
                count += 1
        ok = plan_forest(n_nodes, W.tails, W.heads, arcs, count, W.supply,
                         parent, arc, preorder, below) >= 0
    if ok and n_nodes > 0:
        # plan_forest summed ``below`` in the preorder start_forest uses, so it
        # orients every kept arc as the cuts saw it.
        start_forest(&W.T, W.supply, below, preorder, parent, arc, arc, W.costs)
    free(arcs); free(parent); free(arc); free(preorder); free(below)
    return ok


def forest_start(
    Py_ssize_t n_nodes,
    const Py_ssize_t[::1] tails not None,
    const Py_ssize_t[::1] heads not None,
    const double[::1] supply not None,
):
    """A warm start for :meth:`SpanningTree.start_from_forest` from the arcs ``tails``,
    ``heads``: the forest of :func:`plan_forest` (arcs closing a cycle dropped, arcs
    that would need their missing reverse cut).  Returns ``(preorder, parent,
    up_arc, down_arc, n_cut)``; each kept edge names its arc both ways."""
    cdef Py_ssize_t k_arcs = tails.shape[0], e, n_cut
    if heads.shape[0] != k_arcs or supply.shape[0] != n_nodes:
        raise ValueError("tails, heads and supply are inconsistent")
    for e in range(k_arcs):
        if not (0 <= tails[e] < n_nodes and 0 <= heads[e] < n_nodes):
            raise ValueError(f"arc {e} has a node outside [0, {n_nodes})")
    preorder = np.empty(n_nodes, dtype=np.intp)
    parent = np.full(n_nodes, -1, dtype=np.intp)
    arc = np.full(n_nodes, -1, dtype=np.intp)
    cdef Py_ssize_t[::1] all_arcs = np.arange(k_arcs, dtype=np.intp)
    cdef Py_ssize_t[::1] preorder_v = preorder
    cdef Py_ssize_t[::1] parent_v = parent
    cdef Py_ssize_t[::1] arc_v = arc
    cdef double[::1] below = np.empty(n_nodes + 1)
    if n_nodes == 0:
        return preorder, parent, arc, arc.copy(), 0
    with nogil:
        n_cut = plan_forest(n_nodes, &tails[0] if k_arcs else NULL,
                            &heads[0] if k_arcs else NULL, &all_arcs[0] if k_arcs else NULL,
                            k_arcs, &supply[0], &parent_v[0], &arc_v[0], &preorder_v[0],
                            &below[0])
    if n_cut < 0:
        raise MemoryError("out of memory building the starting forest")
    return preorder, parent, arc, arc.copy(), n_cut
