# cython: language_level=3
"""Primal network simplex for uncapacitated min-cost flow on an arc list.

The textbook algorithm (Ahuja, Magnanti & Orlin, *Network Flows*, ch. 11)
with the implementation choices of Kiraly & Kovacs (2012): block-search
pricing over the arcs, a strongly feasible spanning tree rooted at an
artificial node, and the thread / reverse-thread / subtree-size
representation of the tree.  Every array is indexed by node: the flow,
direction and cost of the tree arc joining a node to its parent are stored
on the node, so the state takes O(nodes) memory whatever the number of arcs.

Arcs are given as parallel arrays ``tails, heads, costs``.  Dense and
coordinate-defined bipartite problems reach this kernel through candidate
arc lists that the Python layer grows with the pricing scans of
``emd._core._costs`` until no arc of the full problem prices out.
"""

import numpy as np

cimport numpy as cnp
from libc.float cimport DBL_EPSILON
from libc.math cimport INFINITY, NAN, fabs

cnp.import_array()

# Status codes shared with emd._engine.
cdef enum:
    OPTIMAL = 0
    MAX_ITER_REACHED = 1
    UNBOUNDED = 2

# An arc enters the basis only if its reduced cost is below
# -1e-13 * (|cost| + |pi[tail]| + |pi[head]|).  Recomputed potentials are sums
# along tree paths, exact to about depth * eps relative, so up to depths of a
# few hundred arcs this ignores only rounding noise.  Deeper trees (large
# grids reach depths in the thousands) can pivot on noise, which costs
# pivots, not correctness; and an arc ignored by this test is suboptimal by
# at most 1e-13 of the magnitudes, which the certificate then reports.
cdef double _PRICING_RTOL = 1e-13
PRICING_RTOL = _PRICING_RTOL

STATUS_NAMES = {OPTIMAL: "optimal", MAX_ITER_REACHED: "max_iter_reached", UNBOUNDED: "unbounded"}


cdef struct Tree:
    Py_ssize_t n_nodes       # real nodes; the artificial root has index n_nodes
    Py_ssize_t root
    double art_cost
    Py_ssize_t* parent
    Py_ssize_t* thread       # preorder successor (circular, through the root)
    Py_ssize_t* rev_thread   # preorder predecessor
    Py_ssize_t* succ_num     # subtree size
    Py_ssize_t* last_succ    # last node of the subtree in preorder
    char* up                 # 1: tree arc points node -> parent; 0: parent -> node
    double* flow             # flow on the tree arc of the node
    double* pred_cost        # cost of the tree arc of the node
    Py_ssize_t* pred_arc     # index of that arc in the caller's arc list; -1 if artificial
    double* pi               # node potentials; reduced cost = cost + pi[tail] - pi[head]
    Py_ssize_t* path         # scratch: stem of a pivot
    Py_ssize_t* seg_start    # scratch: preorder segments of a rerooted subtree
    Py_ssize_t* seg_end


cdef void refresh_potentials(Tree* T) noexcept nogil:
    """Recompute every potential from the tree arcs, in preorder.

    Incremental updates accumulate rounding; recomputing from scratch bounds
    the error by that of one path sum.  The root is placed so that its first
    child has potential 0: at optimality of a bipartite problem every root
    child hangs on the same kind of artificial arc, so this removes the
    artificial cost from all potentials instead of carrying it in each.
    """
    cdef Py_ssize_t root = T.root, v, first = T.thread[root]
    T.pi[root] = 0.0
    if first != root:
        T.pi[root] = T.art_cost if T.up[first] else -T.art_cost
    v = first
    while v != root:
        if T.up[v]:
            T.pi[v] = T.pi[T.parent[v]] - T.pred_cost[v]
        else:
            T.pi[v] = T.pi[T.parent[v]] + T.pred_cost[v]
        v = T.thread[v]


cdef void subtree_flows(Tree* T, const double* supply, double* out) noexcept nogil:
    """The flow on the tree arc of every node, summed afresh as the net supply of its subtree.

    Pivots update flows by differences of amounts up to the total mass, so
    ``T.flow`` can be off by eps * mass, which is all of a small flow (a 1e-14
    mass on an expensive arc then moves a 1e-13 cost by 1e-4 relative).  The
    subtree sum is exact for a leaf and accurate to the masses of the subtree
    otherwise.  Rounding noise against the arc's direction reads as 0.
    """
    cdef Py_ssize_t root = T.root, v
    cdef double f
    for v in range(T.n_nodes):
        out[v] = supply[v]
    # Reverse preorder visits every node after all of its descendants.
    v = T.rev_thread[root]
    while v != root:
        if T.parent[v] != root:
            out[T.parent[v]] += out[v]
        v = T.rev_thread[v]
    for v in range(T.n_nodes):
        f = out[v] if T.up[v] else -out[v]
        out[v] = f if f > 0.0 else 0.0


cdef double tree_cost(Tree* T, const double* flow) noexcept nogil:
    """Cost of ``flow`` (one entry per node, from :func:`subtree_flows`) on the real tree
    arcs, by Neumaier's compensated sum in node order.

    Every path that reports a cost (single solves and batches alike) sums
    here, in the same order, so equal trees give bit-identical costs.
    """
    cdef Py_ssize_t v
    cdef double total = 0.0, correction = 0.0, term, t
    for v in range(T.n_nodes):
        if T.parent[v] == T.root:
            continue
        term = flow[v] * T.pred_cost[v]
        t = total + term
        if fabs(total) >= fabs(term):
            correction += (total - t) + term
        else:
            correction += (term - t) + total
        total = t
    return total + correction


cdef void init_star(Tree* T, const double* supply) noexcept nogil:
    """The starting tree: every node hangs from the artificial root.

    Supply and transit nodes send up, demand nodes receive down, so every arc
    without flow points toward the root: a positive amount can be sent from
    any node to the root, which makes the tree strongly feasible.
    """
    cdef Py_ssize_t n = T.n_nodes, v
    for v in range(n):
        T.parent[v] = n
        T.thread[v] = v + 1
        T.rev_thread[v] = v - 1
        T.succ_num[v] = 1
        T.last_succ[v] = v
        T.up[v] = supply[v] >= 0
        T.flow[v] = supply[v] if supply[v] >= 0 else -supply[v]
        T.pred_cost[v] = T.art_cost
        T.pred_arc[v] = -1
    T.parent[n] = -1
    T.pred_cost[n] = 0.0
    T.pred_arc[n] = -1
    T.up[n] = 0
    T.flow[n] = 0.0
    T.succ_num[n] = n + 1
    if n > 0:
        T.thread[n] = 0
        T.rev_thread[0] = n
        T.rev_thread[n] = n - 1
        T.last_succ[n] = n - 1
    else:
        T.thread[n] = n
        T.rev_thread[n] = n
        T.last_succ[n] = n
    refresh_potentials(T)


cdef Py_ssize_t find_entering_arc(
    Tree* T, const Py_ssize_t* tails, const Py_ssize_t* heads, const double* costs,
    Py_ssize_t n_arcs, Py_ssize_t block_size, Py_ssize_t* cursor, double* best_rc,
    double noise,
) noexcept nogil:
    """Block search: scan blocks of arcs from the cursor, take the most negative of the first
    block that holds a significantly negative reduced cost (below ``-noise`` too).  Returns
    -1 when none is left."""
    cdef double* pi = T.pi
    cdef double rc, c, min_rc = 0.0
    cdef Py_ssize_t e = cursor[0], best = -1, remaining = block_size, scanned
    cdef Py_ssize_t s, t
    for scanned in range(n_arcs):
        s = tails[e]
        t = heads[e]
        c = costs[e]
        rc = c + pi[s] - pi[t]
        if rc < min_rc and rc < -_PRICING_RTOL * (fabs(c) + fabs(pi[s]) + fabs(pi[t])) - noise:
            min_rc = rc
            best = e
        e += 1
        if e == n_arcs:
            e = 0
        remaining -= 1
        if remaining == 0:
            if best >= 0:
                break
            remaining = block_size
    cursor[0] = e
    best_rc[0] = min_rc
    return best


cdef Py_ssize_t find_join(Tree* T, Py_ssize_t u, Py_ssize_t v) noexcept nogil:
    """The apex of the pivot cycle: climb from the endpoint with the smaller subtree."""
    while u != v:
        if T.succ_num[u] < T.succ_num[v]:
            u = T.parent[u]
        else:
            v = T.parent[v]
    return u


cdef void update_tree(
    Tree* T, Py_ssize_t u_in, Py_ssize_t v_in, Py_ssize_t u_out, Py_ssize_t join,
    char new_up, Py_ssize_t entering_arc, double entering_cost, double entering_flow,
    double sigma,
) noexcept nogil:
    """Replace the tree arc above ``u_out`` by the entering arc joining ``u_in`` to ``v_in``.

    The subtree S hanging from ``u_out`` (it contains ``u_in``) is cut out,
    rerooted at ``u_in`` by reversing the stem ``u_in .. u_out``, and hung
    under ``v_in`` as its first child.  Its potentials shift by ``sigma``.
    """
    cdef Py_ssize_t* parent = T.parent
    cdef Py_ssize_t* thread = T.thread
    cdef Py_ssize_t* rev_thread = T.rev_thread
    cdef Py_ssize_t* succ_num = T.succ_num
    cdef Py_ssize_t* last_succ = T.last_succ
    cdef Py_ssize_t* path = T.path
    cdef Py_ssize_t* seg_start = T.seg_start
    cdef Py_ssize_t* seg_end = T.seg_end
    cdef Py_ssize_t k, i, w, n_seg, new_last, nxt, count
    cdef Py_ssize_t subtree_size = succ_num[u_out]
    cdef Py_ssize_t old_last = last_succ[u_out]
    cdef Py_ssize_t before = rev_thread[u_out]
    cdef Py_ssize_t after = thread[old_last]
    cdef Py_ssize_t old_parent = parent[u_out]
    cdef Py_ssize_t next_size, size_here

    # The stem from u_in up to u_out.
    k = 0
    path[0] = u_in
    w = u_in
    while w != u_out:
        w = parent[w]
        k += 1
        path[k] = w

    # Preorder segments of S rerooted at u_in, read before any link changes:
    # u_in's own subtree, then for each stem node the part of its subtree
    # before the previous stem node's block and the part after it.
    seg_start[0] = u_in
    seg_end[0] = last_succ[u_in]
    n_seg = 1
    for i in range(1, k + 1):
        seg_start[n_seg] = path[i]
        seg_end[n_seg] = rev_thread[path[i - 1]]
        n_seg += 1
        if last_succ[path[i]] != last_succ[path[i - 1]]:
            seg_start[n_seg] = thread[last_succ[path[i - 1]]]
            seg_end[n_seg] = last_succ[path[i]]
            n_seg += 1

    # Cut S out of the preorder; the old ancestors lose it.
    thread[before] = after
    rev_thread[after] = before
    w = old_parent
    while w != join:
        succ_num[w] -= subtree_size
        w = parent[w]
    w = old_parent
    while w >= 0 and last_succ[w] == old_last:
        last_succ[w] = before
        w = parent[w]

    # Relink S in its new preorder and insert it right after v_in.
    for i in range(1, n_seg):
        thread[seg_end[i - 1]] = seg_start[i]
        rev_thread[seg_start[i]] = seg_end[i - 1]
    new_last = seg_end[n_seg - 1]
    nxt = thread[v_in]
    thread[v_in] = u_in
    rev_thread[u_in] = v_in
    thread[new_last] = nxt
    rev_thread[nxt] = new_last

    # The new ancestors gain S.
    w = v_in
    while w != join:
        succ_num[w] += subtree_size
        w = parent[w]
    w = v_in
    while w >= 0 and last_succ[w] == v_in:
        last_succ[w] = new_last
        w = parent[w]

    # Reverse the stem: each stem node takes the arc of the node below it.
    next_size = 0
    for i in range(k, 0, -1):
        w = path[i]
        size_here = succ_num[w] - succ_num[path[i - 1]] + next_size
        parent[w] = path[i - 1]
        T.up[w] = 1 - T.up[path[i - 1]]
        T.flow[w] = T.flow[path[i - 1]]
        T.pred_cost[w] = T.pred_cost[path[i - 1]]
        T.pred_arc[w] = T.pred_arc[path[i - 1]]
        succ_num[w] = size_here
        last_succ[w] = new_last
        next_size = size_here
    parent[u_in] = v_in
    T.up[u_in] = new_up
    T.flow[u_in] = entering_flow
    T.pred_cost[u_in] = entering_cost
    T.pred_arc[u_in] = entering_arc
    succ_num[u_in] = subtree_size
    last_succ[u_in] = new_last

    # Potentials only matter up to a constant, so when S is the larger part
    # of the tree, shifting everything else by -sigma does the same job.
    if 2 * subtree_size <= T.n_nodes + 1:
        w = u_in
        for count in range(subtree_size):
            T.pi[w] += sigma
            w = thread[w]
    else:
        w = thread[new_last]
        while w != u_in:
            T.pi[w] -= sigma
            w = thread[w]


cdef int pivot(
    Tree* T, Py_ssize_t arc, Py_ssize_t s, Py_ssize_t t, double cost, double rc,
) noexcept nogil:
    """Send flow around the cycle closed by arc s -> t and update the tree.

    The leaving arc is the last blocking arc met when the cycle is walked in
    the direction of the entering arc starting from the apex.  This keeps the
    tree strongly feasible (every arc without flow points toward the root;
    Ahuja, Magnanti & Orlin, sec. 11.5), which rules out cycling on
    degenerate pivots.
    """
    cdef Py_ssize_t join = find_join(T, s, t)
    cdef Py_ssize_t u, u_out = -1
    cdef double delta = 0.0
    cdef bint found = False, out_on_tail_side = False
    # Tail side, walked from s up to the apex, against the cycle direction:
    # arcs pointing up lose flow; the blocking arc nearest s is the last one.
    u = s
    while u != join:
        if T.up[u] and (not found or T.flow[u] < delta):
            delta = T.flow[u]
            u_out = u
            found = True
            out_on_tail_side = True
        u = T.parent[u]
    # Head side, walked from t up to the apex, along the cycle direction:
    # arcs pointing down lose flow; ties go to the arc nearest the apex.
    u = t
    while u != join:
        if not T.up[u] and (not found or T.flow[u] <= delta):
            delta = T.flow[u]
            u_out = u
            found = True
            out_on_tail_side = False
        u = T.parent[u]
    if not found:
        return UNBOUNDED

    if delta > 0.0:
        u = s
        while u != join:
            if T.up[u]:
                T.flow[u] -= delta
            else:
                T.flow[u] += delta
            u = T.parent[u]
        u = t
        while u != join:
            if T.up[u]:
                T.flow[u] += delta
            else:
                T.flow[u] -= delta
            u = T.parent[u]

    if out_on_tail_side:
        update_tree(T, s, t, u_out, join, 1, arc, cost, delta, -rc)
    else:
        update_tree(T, t, s, u_out, join, 0, arc, cost, delta, rc)
    return OPTIMAL


cdef int run_simplex(
    Tree* T, const Py_ssize_t* tails, const Py_ssize_t* heads, const double* costs,
    Py_ssize_t n_arcs, Py_ssize_t block_size, Py_ssize_t max_iter,
    Py_ssize_t* n_iter, Py_ssize_t* cursor, double* noise_floor,
) noexcept nogil:
    cdef Py_ssize_t e, v, since_refresh = 0, since_check = 0
    cdef Py_ssize_t refresh_period = T.n_nodes if T.n_nodes > 1000 else 1000
    cdef double rc, objective, last_objective = INFINITY, noise = noise_floor[0], scale
    cdef bint fresh = False
    cdef int status
    if n_arcs == 0:
        return OPTIMAL
    while True:
        e = find_entering_arc(T, tails, heads, costs, n_arcs, block_size, cursor, &rc, noise)
        if e < 0:
            # Optimal up to the accuracy of the incrementally updated
            # potentials: confirm with recomputed ones before stopping.
            if fresh:
                noise_floor[0] = noise
                return OPTIMAL
            refresh_potentials(T)
            fresh = True
            since_refresh = 0
            continue
        if n_iter[0] >= max_iter:
            noise_floor[0] = noise
            return MAX_ITER_REACHED
        status = pivot(T, e, tails[e], heads[e], costs[e], rc)
        if status != OPTIMAL:
            noise_floor[0] = noise
            return status
        n_iter[0] += 1
        fresh = False
        since_refresh += 1
        if since_refresh >= refresh_period:
            refresh_potentials(T)
            since_refresh = 0
        since_check += 1
        if since_check >= refresh_period:
            since_check = 0
            # Potentials are path sums, off by rounding relative to the largest
            # terms on the path; arcs that price out by less than that can enter
            # in turn forever (a cycle of pivots whose cost changes cancel).  A
            # whole period without a lower cost means that or a long degenerate
            # stretch: from then on an arc must also beat a noise floor, raised
            # 16-fold at every further stalled period until the cost moves.
            # The big-M objective, artificial arcs included: it never rises
            # under exact pivots, whereas the real-arc cost alone rises while
            # artificial flow is driven out.
            objective = 0.0
            for v in range(T.n_nodes):
                objective += T.flow[v] * T.pred_cost[v]
            if objective >= last_objective:
                if noise == 0.0:
                    scale = T.art_cost
                    for v in range(T.n_nodes):
                        if fabs(T.pi[v]) > scale:
                            scale = fabs(T.pi[v])
                    noise = 16.0 * DBL_EPSILON * scale
                else:
                    noise *= 16.0
            last_objective = objective


cdef void _bind(
    Tree* T, Py_ssize_t n, double art_cost,
    cnp.ndarray parent, cnp.ndarray thread, cnp.ndarray rev_thread, cnp.ndarray succ_num,
    cnp.ndarray last_succ, cnp.ndarray up, cnp.ndarray flow, cnp.ndarray pred_cost,
    cnp.ndarray pred_arc, cnp.ndarray pi, cnp.ndarray path, cnp.ndarray seg_start,
    cnp.ndarray seg_end,
):
    """Point the tree's fields at arrays of n + 1 nodes (2n + 2 for the segments)."""
    T.n_nodes = n
    T.root = n
    T.art_cost = art_cost
    T.parent = <Py_ssize_t*> cnp.PyArray_DATA(parent)
    T.thread = <Py_ssize_t*> cnp.PyArray_DATA(thread)
    T.rev_thread = <Py_ssize_t*> cnp.PyArray_DATA(rev_thread)
    T.succ_num = <Py_ssize_t*> cnp.PyArray_DATA(succ_num)
    T.last_succ = <Py_ssize_t*> cnp.PyArray_DATA(last_succ)
    T.up = <char*> cnp.PyArray_DATA(up)
    T.flow = <double*> cnp.PyArray_DATA(flow)
    T.pred_cost = <double*> cnp.PyArray_DATA(pred_cost)
    T.pred_arc = <Py_ssize_t*> cnp.PyArray_DATA(pred_arc)
    T.pi = <double*> cnp.PyArray_DATA(pi)
    T.path = <Py_ssize_t*> cnp.PyArray_DATA(path)
    T.seg_start = <Py_ssize_t*> cnp.PyArray_DATA(seg_start)
    T.seg_end = <Py_ssize_t*> cnp.PyArray_DATA(seg_end)


cdef _check_arcs(
    const Py_ssize_t[::1] tails, const Py_ssize_t[::1] heads, Py_ssize_t n_costs, Py_ssize_t n,
):
    """The kernel reads ``pi[tail]``, ``pi[head]`` and ``costs[arc]`` unchecked: check once."""
    cdef Py_ssize_t e, bad = -1
    if heads.shape[0] != tails.shape[0] or n_costs != tails.shape[0]:
        raise ValueError("tails, heads and costs must have the same length")
    with nogil:
        for e in range(tails.shape[0]):
            if not (0 <= tails[e] < n and 0 <= heads[e] < n):
                bad = e
                break
    if bad >= 0:
        raise ValueError(f"arc {bad} ({tails[bad]} -> {heads[bad]}) has a node outside [0, {n})")


def _block_size(Py_ssize_t n_arcs):
    # sqrt(arcs) balances the cost of a scan against pivot quality
    # (Kiraly & Kovacs 2012); small problems still scan a few arcs.
    return max(<Py_ssize_t> (n_arcs ** 0.5), 10)


def solve_pair_costs(
    const Py_ssize_t[::1] tails not None,
    const Py_ssize_t[::1] heads not None,
    const double[::1] costs not None,
    const double[:, ::1] left not None,
    const double[:, ::1] right not None,
    const Py_ssize_t[:, ::1] pairs not None,
    double art_cost,
    Py_ssize_t max_iter,
):
    """Optimal costs for many supplies ``left[i] - right[j]`` on one arc list, without the GIL.

    Each pair runs exactly what :class:`SpanningTree` runs (same start, same
    pricing, same summation), so the values equal single solves bit for bit.
    Returns ``(values, status)``; a pair stopped before optimality has value NaN.
    """
    cdef Py_ssize_t n = left.shape[1], k, v, n_pairs = pairs.shape[0]
    cdef Py_ssize_t n_arcs = tails.shape[0], block = _block_size(tails.shape[0])
    cdef Py_ssize_t n_iter, cursor
    cdef double noise
    if right.shape[1] != n or heads.shape[0] != n_arcs or costs.shape[0] != n_arcs:
        raise ValueError("inconsistent sizes")
    _check_arcs(tails, heads, costs.shape[0], n)
    if n_pairs and pairs.shape[1] != 2:
        raise ValueError("pairs must have shape (k, 2)")
    for k in range(n_pairs):
        if not (0 <= pairs[k, 0] < left.shape[0] and 0 <= pairs[k, 1] < right.shape[0]):
            raise ValueError(f"pair {k} indexes outside left and right")
    values = np.empty(n_pairs)
    status = np.empty(n_pairs, dtype=np.int8)
    cdef double[::1] values_view = values
    cdef signed char[::1] status_view = status
    cdef double[::1] supply = np.empty(n + 1)
    cdef double[::1] flows = np.empty(n + 1)
    nodes = [np.empty(n + 1, dtype=np.intp) for _ in range(7)]
    up = np.empty(n + 1, dtype=np.int8)
    reals = [np.empty(n + 1) for _ in range(3)]
    segments = [np.empty(2 * n + 2, dtype=np.intp) for _ in range(2)]
    cdef Tree T
    _bind(&T, n, art_cost, nodes[0], nodes[1], nodes[2], nodes[3], nodes[4], up, reals[0],
          reals[1], nodes[5], reals[2], nodes[6], segments[0], segments[1])
    with nogil:
        for k in range(n_pairs):
            for v in range(n):
                supply[v] = left[pairs[k, 0], v] - right[pairs[k, 1], v]
            init_star(&T, &supply[0])
            n_iter = 0
            cursor = 0
            noise = 0.0
            status_view[k] = run_simplex(
                &T, &tails[0], &heads[0], &costs[0], n_arcs, block, max_iter, &n_iter, &cursor,
                &noise,
            )
            # A stopped transshipment still has supply on artificial arcs:
            # its flow is not a transport, so it has no distance to report.
            values_view[k] = NAN
            if status_view[k] == OPTIMAL:
                subtree_flows(&T, &supply[0], &flows[0])
                values_view[k] = tree_cost(&T, &flows[0])
    return values, status


cdef _check_forest(
    const Py_ssize_t[::1] preorder, const Py_ssize_t[::1] tree_parent,
    const Py_ssize_t[::1] up_arc, const Py_ssize_t[::1] down_arc, Py_ssize_t n_costs,
):
    """Raise unless ``preorder`` is a depth-first preorder of the forest ``tree_parent``
    whose tree edges have arcs in ``[0, n_costs)``: the warm start indexes by all of them."""
    cdef Py_ssize_t n = preorder.shape[0], k, v, p
    cdef Py_ssize_t[::1] position = np.full(n, -1, dtype=np.intp)
    cdef Py_ssize_t[::1] size = np.ones(n, dtype=np.intp)
    for k in range(n):
        v = preorder[k]
        if not 0 <= v < n or position[v] >= 0:
            raise ValueError("preorder must list every node once")
        position[v] = k
    # Parents first: subtree sizes then accumulate in reverse preorder.
    for k in range(n - 1, -1, -1):
        v = preorder[k]
        p = tree_parent[v]
        if not -1 <= p < n:
            raise ValueError("tree_parent must hold node indices or -1")
        if p >= 0:
            if position[p] >= k:
                raise ValueError("preorder must list every parent before its children")
            size[p] += size[v]
    # Each subtree must fill the positions right after its root.
    for v in range(n):
        p = tree_parent[v]
        if p >= 0:
            if position[v] + size[v] > position[p] + size[p]:
                raise ValueError("preorder is not a depth-first order of the forest")
            if not (0 <= up_arc[v] < n_costs and 0 <= down_arc[v] < n_costs):
                raise ValueError("up_arc and down_arc must index the arc list")


cdef class SpanningTree:
    """State of the network simplex: a strongly feasible spanning tree and its flows.

    Parameters
    ----------
    supply : ndarray of float64, shape (n_nodes,)
        Supply (positive) or demand (negative) of each node.  An imbalance of
        the total is absorbed by the artificial root.
    art_cost : float
        Cost of the artificial arcs joining every node to the root; must
        exceed half the cost of any path of real arcs for artificial flow to
        vanish at the optimum of a feasible problem.
    """

    cdef Tree T
    cdef readonly cnp.ndarray parent, thread, rev_thread, succ_num, last_succ
    cdef readonly cnp.ndarray up, flow, pred_cost, pred_arc, pi
    cdef cnp.ndarray _path, _seg_start, _seg_end, _supply
    cdef readonly Py_ssize_t n_iter
    cdef Py_ssize_t cursor
    cdef double noise_floor  # kept between solves: see run_simplex

    def __init__(self, const double[::1] supply not None, double art_cost):
        cdef Py_ssize_t n = supply.shape[0], size = n + 1
        self.parent = np.empty(size, dtype=np.intp)
        self.thread = np.empty(size, dtype=np.intp)
        self.rev_thread = np.empty(size, dtype=np.intp)
        self.succ_num = np.empty(size, dtype=np.intp)
        self.last_succ = np.empty(size, dtype=np.intp)
        self.up = np.empty(size, dtype=np.int8)
        self.flow = np.empty(size, dtype=np.float64)
        self.pred_cost = np.empty(size, dtype=np.float64)
        self.pred_arc = np.empty(size, dtype=np.intp)
        self.pi = np.empty(size, dtype=np.float64)
        self._path = np.empty(size, dtype=np.intp)
        self._seg_start = np.empty(2 * size, dtype=np.intp)
        self._seg_end = np.empty(2 * size, dtype=np.intp)
        self._supply = np.array(supply, dtype=np.float64)
        self.n_iter = 0
        self.cursor = 0
        self.noise_floor = 0.0
        _bind(&self.T, n, art_cost, self.parent, self.thread, self.rev_thread, self.succ_num,
              self.last_succ, self.up, self.flow, self.pred_cost, self.pred_arc, self.pi,
              self._path, self._seg_start, self._seg_end)
        init_star(&self.T, &supply[0] if n else NULL)

    @property
    def n_nodes(self):
        return self.T.n_nodes

    def solve(
        self,
        const Py_ssize_t[::1] tails not None,
        const Py_ssize_t[::1] heads not None,
        const double[::1] costs not None,
        Py_ssize_t max_iter,
        Py_ssize_t block_size=0,
    ):
        """Pivot over the given arcs until none prices out or ``max_iter`` pivots in all.

        The arrays must have equal length and hold node indices in
        ``[0, n_nodes)`` (checked).  Returns a status code
        (0 optimal, 1 iteration limit, 2 unbounded).  Runs without the GIL.
        """
        cdef Py_ssize_t n_arcs = tails.shape[0]
        cdef int status
        cdef Py_ssize_t n_iter = self.n_iter, cursor = self.cursor
        cdef double noise = self.noise_floor
        _check_arcs(tails, heads, costs.shape[0], self.T.n_nodes)
        if block_size <= 0:
            block_size = _block_size(n_arcs)
        if cursor >= n_arcs:
            cursor = 0
        with nogil:
            status = run_simplex(
                &self.T, &tails[0] if n_arcs else NULL, &heads[0] if n_arcs else NULL,
                &costs[0] if n_arcs else NULL, n_arcs, block_size, max_iter, &n_iter, &cursor,
                &noise,
            )
        self.n_iter = n_iter
        self.cursor = cursor
        self.noise_floor = noise
        return status

    def start_from_forest(
        self,
        const Py_ssize_t[::1] preorder not None,
        const Py_ssize_t[::1] tree_parent not None,
        const Py_ssize_t[::1] up_arc not None,
        const Py_ssize_t[::1] down_arc not None,
        const double[::1] costs not None,
    ):
        """Replace the artificial star by a spanning forest of real arcs (a warm start).

        ``preorder`` lists every real node once, in depth-first preorder of a
        forest: each component root (``tree_parent == -1``) is followed by its
        descendants.  ``up_arc[v]`` and ``down_arc[v]`` index the arcs
        ``v -> parent`` and ``parent -> v`` in the arc list later given to
        :meth:`solve`.  Each tree edge is oriented by the sign of the flow it
        must carry (the net supply of the subtree below it), an edge with no
        flow points toward the root, and each component root hangs from the
        artificial root: the tree is feasible and strongly feasible.
        """
        cdef Tree* T = &self.T
        cdef Py_ssize_t n = T.n_nodes, root = T.root, k, v, p
        cdef double[::1] below
        if preorder.shape[0] != n or tree_parent.shape[0] != n:
            raise ValueError("preorder and tree_parent must cover every node once")
        if up_arc.shape[0] != n or down_arc.shape[0] != n:
            raise ValueError("up_arc and down_arc must have one entry per node")
        if self.n_iter:
            raise ValueError("start_from_forest must come before the first solve")
        if n == 0:
            return
        _check_forest(preorder, tree_parent, up_arc, down_arc, costs.shape[0])
        # The supplies are the flows of the initial star.
        below = np.where(self.up[:n].astype(bool), self.flow[:n], -self.flow[:n])
        with nogil:
            for k in range(n + 1):
                T.succ_num[k] = 1
            for k in range(n - 1, -1, -1):
                v = preorder[k]
                p = tree_parent[v]
                if p >= 0:
                    below[p] += below[v]
                    T.succ_num[p] += T.succ_num[v]
            T.succ_num[root] = n + 1
            T.thread[root] = preorder[0]
            T.rev_thread[preorder[0]] = root
            for k in range(n - 1):
                T.thread[preorder[k]] = preorder[k + 1]
                T.rev_thread[preorder[k + 1]] = preorder[k]
            T.thread[preorder[n - 1]] = root
            T.rev_thread[root] = preorder[n - 1]
            T.last_succ[root] = preorder[n - 1]
            for k in range(n):
                v = preorder[k]
                T.last_succ[v] = preorder[k + T.succ_num[v] - 1]
                p = tree_parent[v]
                T.up[v] = below[v] >= 0
                T.flow[v] = below[v] if below[v] >= 0 else -below[v]
                if p < 0:
                    T.parent[v] = root
                    T.pred_arc[v] = -1
                    T.pred_cost[v] = T.art_cost
                else:
                    T.parent[v] = p
                    T.pred_arc[v] = up_arc[v] if T.up[v] else down_arc[v]
                    T.pred_cost[v] = costs[T.pred_arc[v]]
            refresh_potentials(T)

    def subtree_flows(self):
        """The flow on the tree arc of every node, summed afresh from the supplies.

        What :meth:`cost` and :meth:`tree_arcs` report; ``flow`` holds the
        pivots' running values, accurate only to eps times the total mass.
        """
        out = np.empty(self.T.n_nodes + 1)
        subtree_flows(&self.T, <double*> cnp.PyArray_DATA(self._supply),
                      <double*> cnp.PyArray_DATA(out))
        return out[: self.T.n_nodes]

    def cost(self):
        """Cost of the current flow on the real arcs (compensated sum)."""
        flows = self.subtree_flows()
        return tree_cost(&self.T, <double*> cnp.PyArray_DATA(flows))

    def refresh_potentials(self):
        """Recompute the potentials from the tree (exactly what the final check uses)."""
        refresh_potentials(&self.T)

    def artificial_flow(self):
        """Total flow left on artificial arcs (nonzero only for infeasible or unbalanced input)."""
        cdef Py_ssize_t n = self.T.n_nodes
        mask = self.parent[:n] == n
        return float(self.subtree_flows()[mask].sum())

    def tree_arcs(self):
        """Real arcs of the tree: ``(arcs, tails, heads, flows, costs)``.

        ``arcs`` indexes the arc list of the last :meth:`solve` calls (which
        may only grow between calls); artificial arcs are left out.
        """
        cdef Py_ssize_t n = self.T.n_nodes
        nodes = np.flatnonzero(self.parent[:n] != n)
        parents = self.parent[nodes]
        up = self.up[nodes].astype(bool)
        tails = np.where(up, nodes, parents)
        heads = np.where(up, parents, nodes)
        return (
            self.pred_arc[nodes].copy(), tails, heads,
            self.subtree_flows()[nodes], self.pred_cost[nodes].copy(),
        )

    def check_structure(self):
        """Verify the tree invariants and strong feasibility (for tests); raise RuntimeError."""
        cdef Py_ssize_t n = self.T.n_nodes, root = n, v, count = 0
        order = []
        v = root
        while True:
            order.append(v)
            v = self.thread[v]
            count += 1
            if v == root or count > n + 1:
                break
        if count != n + 1:
            raise RuntimeError("thread does not visit every node once")
        position = np.empty(n + 1, dtype=np.intp)
        position[np.asarray(order)] = np.arange(n + 1)
        for v in range(n + 1):
            if self.rev_thread[self.thread[v]] != v:
                raise RuntimeError(f"rev_thread broken at {v}")
            size = self.succ_num[v]
            last = order[position[v] + size - 1]
            if last != self.last_succ[v]:
                raise RuntimeError(f"last_succ wrong at node {v}")
            if v != root:
                p = self.parent[v]
                if not (position[p] < position[v] <= position[p] + self.succ_num[p] - 1):
                    raise RuntimeError(f"node {v} is not inside the subtree of its parent")
                if self.flow[v] < 0:
                    raise RuntimeError(f"negative flow on the tree arc of node {v}")
                if self.flow[v] == 0 and not self.up[v]:
                    raise RuntimeError(f"zero-flow arc of node {v} points away from the root")
        return True

    def check_potentials(self, double rtol=1e-9):
        """Verify that every tree arc has zero reduced cost (for tests)."""
        cdef Py_ssize_t n = self.T.n_nodes, v, p
        cdef double rc, scale
        for v in range(n):
            p = self.parent[v]
            rc = self.pred_cost[v] + (self.pi[v] - self.pi[p] if self.up[v] else self.pi[p] - self.pi[v])
            scale = abs(self.pred_cost[v]) + abs(self.pi[v]) + abs(self.pi[p])
            if abs(rc) > rtol * scale + 1e-300:
                raise RuntimeError(f"tree arc of node {v} has reduced cost {rc}")
        return True
