# cython: language_level=3
"""Primal network simplex for uncapacitated min-cost flow on an arc list.

The textbook algorithm (Ahuja, Magnanti & Orlin, *Network Flows*, ch. 11,
"AMO" below) with the implementation choices of Kiraly & Kovacs (2012):
block-search pricing over the arcs, a strongly feasible spanning tree rooted
at an artificial node, and the thread / reverse-thread / subtree-size
representation of the tree (AMO sec. 11.3).  Every array is indexed by node:
the flow, direction and cost of the tree arc joining a node to its parent are
stored on the node, so the state takes O(nodes) memory whatever the number of
arcs.

Exactness.  Potentials are sums of arc costs along tree paths, and on
problems whose costs span many orders of magnitude they grow to the scale of
the largest cost while the reduced costs that decide optimality live at the
scale of the smallest.  A relative pricing tolerance then hides real
violations.  So the simplex runs in two phases:

* a *fast* phase prices in plain float64 with a relative tolerance (and an
  anti-cycling noise floor), which is where nearly all pivots happen;
* an *exact* phase, entered when the fast phase finds nothing, keeps every
  potential as an unevaluated double-double sum ``pi + pi_low`` (path sums by
  error-free transformations) and lets an arc enter exactly when its reduced
  cost is negative beyond a rigorous a-posteriori error bound of a few units
  of ``eps**2`` times the magnitudes.  The solve ends only when a pricing
  pass of the exact phase, on potentials recomputed from the tree, finds
  nothing.

Arcs are given as parallel arrays ``tails, heads, costs``.  This module is the
base room of the core: the pivot loop and the block search it calls per pivot
stay in this one compilation unit (so the C compiler inlines them); the other
rooms call in at the granularity of a whole simplex run (:func:`run_simplex`)
or a starting tree (:func:`init_star`, :func:`start_forest`).  ``_tree.pxd``
lists what they may use.
"""

import numpy as np

cimport numpy as cnp
from libc.float cimport DBL_EPSILON
from libc.math cimport INFINITY, fabs, fma
from libc.stdint cimport uint64_t

from emd._core._exact cimport dd_add, exact_reduced_cost, filter_band
from emd._core._metric cimport reduced_cost_bounds
from emd._core._pricing_kernels cimport (
    complete_search, cpu_has_avx2, ctz, ctz64, dense8_mask, fast_test, popcount64,
)

cnp.import_array()

# The noise floor of the fast phase never exceeds this fraction of the
# potentials' scale: beyond it the fast phase just stops and the exact phase,
# which has no floor, takes over.
cdef double _NOISE_CAP = 1e-9

STATUS_NAMES = {OPTIMAL: "optimal", MAX_ITER_REACHED: "max_iter_reached", UNBOUNDED: "unbounded"}


cdef void refresh_potentials(Tree* T) noexcept nogil:
    """Recompute every potential from the tree arcs in preorder, as double-double sums.

    Incremental updates accumulate rounding; a fresh double-double path sum is
    accurate to about depth * u**2 of the magnitudes on the path.  The root is
    placed so that its first child has potential 0: at optimality of a
    bipartite problem every root child hangs on the same kind of artificial
    arc, so this removes the artificial cost from all potentials.
    """
    cdef Py_ssize_t root = T.root, v, first = T.thread[root], p
    cdef double step
    T.pi[root] = 0.0
    T.pi_low[root] = 0.0
    if first != root:
        T.pi[root] = T.artificial_cost if T.toward_parent[first] else -T.artificial_cost
    v = first
    while v != root:
        p = T.parent[v]
        # A tree arc has zero reduced cost: cost + pi[tail] - pi[head] = 0.
        step = -T.arc_cost[v] if T.toward_parent[v] else T.arc_cost[v]
        T.pi[v] = dd_add(T.pi[p], T.pi_low[p], step, 0.0, &T.pi_low[v])
        v = T.thread[v]


cdef void subtree_flows(Tree* T, const double* supply, double* out) noexcept nogil:
    """The flow on the tree arc of every node, summed afresh as the net supply of its
    subtree in double-double and rounded once.

    Pivots update flows by differences of amounts up to the total mass, so
    ``T.flow`` can be off by eps * mass, which is all of a small flow (a 1e-16
    mass beside a unit mass vanishes in ``1 + 1e-16 - 1``).  The double-double
    sums keep it, and the rounded flows are within one rounding of the exact
    basic flow of the tree.  A flow against the arc's direction reads as 0.
    """
    cdef Py_ssize_t root = T.root, v, p
    cdef double* low = T.scratch_low
    cdef double f
    for v in range(T.n_nodes):
        out[v] = supply[v]
        low[v] = 0.0
    # Reverse preorder visits every node after all of its descendants.
    v = T.rev_thread[root]
    while v != root:
        p = T.parent[v]
        if p != root:
            out[p] = dd_add(out[p], low[p], out[v], low[v], &low[p])
        v = T.rev_thread[v]
    for v in range(T.n_nodes):
        f = out[v] if T.toward_parent[v] else -out[v]
        out[v] = f if f > 0.0 else 0.0


cdef double tree_cost(Tree* T, const double* flow) noexcept nogil:
    """Cost of ``flow`` (one entry per node, from :func:`subtree_flows`) on the real tree
    arcs: exact products (fma) summed in double-double, in node order, rounded once.

    Every path that reports a cost (single solves and batches alike) sums
    here, in the same order, so equal trees give bit-identical costs.
    """
    cdef Py_ssize_t v
    cdef double hi = 0.0, lo = 0.0, product, product_err
    for v in range(T.n_nodes):
        if T.parent[v] == T.root or flow[v] == 0.0:
            continue
        product = flow[v] * T.arc_cost[v]
        product_err = fma(flow[v], T.arc_cost[v], -product)
        hi = dd_add(hi, lo, product, product_err, &lo)
    return hi + lo


cdef void init_star(Tree* T, const double* supply) noexcept nogil:
    """The starting tree: every node hangs from the artificial root (AMO sec. 11.2).

    Supply and transit nodes send up, demand nodes receive down, so every arc
    without flow points toward the root: a positive amount can be sent from
    any node to the root, which makes the tree strongly feasible.
    """
    cdef Py_ssize_t n = T.n_nodes, v
    T.exact = False
    for v in range(n):
        T.parent[v] = n
        T.thread[v] = v + 1
        T.rev_thread[v] = v - 1
        T.subtree_size[v] = 1
        T.subtree_last[v] = v
        T.toward_parent[v] = supply[v] >= 0
        T.flow[v] = supply[v] if supply[v] >= 0 else -supply[v]
        T.arc_cost[v] = T.artificial_cost
        T.arc_index[v] = -1
    T.parent[n] = -1
    T.arc_cost[n] = 0.0
    T.arc_index[n] = -1
    T.toward_parent[n] = 0
    T.flow[n] = 0.0
    T.subtree_size[n] = n + 1
    if n > 0:
        T.thread[n] = 0
        T.rev_thread[0] = n
        T.rev_thread[n] = n - 1
        T.subtree_last[n] = n - 1
    else:
        T.thread[n] = n
        T.rev_thread[n] = n
        T.subtree_last[n] = n
    refresh_potentials(T)


cdef void start_forest(
    Tree* T, const double* supply, double* below, const Py_ssize_t* preorder,
    const Py_ssize_t* tree_parent, const Py_ssize_t* up_arc, const Py_ssize_t* down_arc,
    const double* costs,
) noexcept nogil:
    """Replace the tree by a spanning forest of real arcs hung from the root (see
    :meth:`SpanningTree.start_from_forest`, which checks the forest and calls this)."""
    cdef Py_ssize_t n = T.n_nodes, root = T.root, k, v, p
    T.exact = False
    if n == 0:
        return
    for k in range(n):
        below[k] = supply[k]
    for k in range(n + 1):
        T.subtree_size[k] = 1
    for k in range(n - 1, -1, -1):
        v = preorder[k]
        p = tree_parent[v]
        if p >= 0:
            below[p] += below[v]
            T.subtree_size[p] += T.subtree_size[v]
    T.subtree_size[root] = n + 1
    T.thread[root] = preorder[0]
    T.rev_thread[preorder[0]] = root
    for k in range(n - 1):
        T.thread[preorder[k]] = preorder[k + 1]
        T.rev_thread[preorder[k + 1]] = preorder[k]
    T.thread[preorder[n - 1]] = root
    T.rev_thread[root] = preorder[n - 1]
    T.subtree_last[root] = preorder[n - 1]
    for k in range(n):
        v = preorder[k]
        T.subtree_last[v] = preorder[k + T.subtree_size[v] - 1]
        p = tree_parent[v]
        T.toward_parent[v] = below[v] >= 0
        T.flow[v] = below[v] if below[v] >= 0 else -below[v]
        if p < 0:
            T.parent[v] = root
            T.arc_index[v] = -1
            T.arc_cost[v] = T.artificial_cost
        else:
            T.parent[v] = p
            T.arc_index[v] = up_arc[v] if T.toward_parent[v] else down_arc[v]
            T.arc_cost[v] = costs[T.arc_index[v]]
    refresh_potentials(T)


cdef inline bint prices_out(
    Tree* T, double cost, Py_ssize_t tail, Py_ssize_t head, double noise, double* rc,
) noexcept nogil:
    """Whether the arc may enter, with its reduced cost in ``rc``.

    Fast phase: below a relative tolerance and the noise floor.  Exact phase:
    negative beyond the rigorous error bound of its evaluation.
    """
    cdef double pt = T.pi[tail], ph = T.pi[head], magnitude, err, low
    rc[0] = cost + pt - ph
    if not T.exact:
        return fast_test(cost, pt, ph, rc[0], noise)
    magnitude = fabs(cost) + fabs(pt) + fabs(ph)
    if rc[0] < -filter_band(magnitude):
        return True
    if rc[0] > filter_band(magnitude):
        return False
    rc[0] = exact_reduced_cost(cost, pt, T.pi_low[tail], ph, T.pi_low[head], &err, &low)
    return rc[0] < -err


cdef inline bint is_tree_arc(
    Tree* T, Py_ssize_t arc, Py_ssize_t tail, Py_ssize_t head,
) noexcept nogil:
    return ((T.parent[tail] == head and T.arc_index[tail] == arc)
            or (T.parent[head] == tail and T.arc_index[head] == arc))


# Whether the AVX2 kernels of _pricing_kernels.h may run: the processor is asked once,
# here, in the room every other one builds on.  The block search below reads the flag
# on every call; other rooms read it through avx2_enabled(), so one test hook switches
# every dispatching kernel.
cdef bint avx2 = cpu_has_avx2()


def _use_avx2(bint flag):
    """Test hook: let the AVX2 kernels run (where the processor has AVX2) or not, so
    that tests reach the SSE2 and scalar paths too.  Returns whether they ran before."""
    global avx2
    before = avx2
    avx2 = cpu_has_avx2() if flag else False
    return before


cdef bint avx2_enabled() noexcept nogil:
    """The flag, for the dispatching kernels of other rooms (read once per call)."""
    return avx2


cdef inline void exact_arc(
    Tree* T, const Py_ssize_t* tails, const Py_ssize_t* heads, const double* costs,
    Py_ssize_t k, double noise, double* min_rc, Py_ssize_t* best, double* worst,
) noexcept nogil:
    """The exact phase's test on arc ``k`` (see :func:`price_stretch_exact`)."""
    cdef double rc, ct = costs[k], pt = T.pi[tails[k]], ph = T.pi[heads[k]], low, upper
    if ct + pt - ph > filter_band(fabs(ct) + fabs(pt) + fabs(ph)):
        return
    low = reduced_cost_bounds(ct, pt, T.pi_low[tails[k]], ph, T.pi_low[heads[k]], &upper)
    if low < worst[0]:
        worst[0] = low
    if is_tree_arc(T, k, tails[k], heads[k]):
        return
    if prices_out(T, ct, tails[k], heads[k], noise, &rc) and rc < min_rc[0]:
        min_rc[0] = rc
        best[0] = k


cdef inline void exact_lanes(
    Tree* T, const Py_ssize_t* tails, const Py_ssize_t* heads, const double* costs,
    Py_ssize_t k, unsigned mask, double noise, double* min_rc, Py_ssize_t* best,
    double* worst,
) noexcept nogil:
    """:func:`exact_arc` on the arcs ``k + q`` for the set bits ``q`` of ``mask``, in
    increasing ``q`` (the arcs :func:`dense8_mask` keeps; the others would return at
    its first test)."""
    while mask:
        exact_arc(T, tails, heads, costs, k + ctz(mask), noise, min_rc, best, worst)
        mask &= mask - 1


cdef inline void price_stretch_exact(
    Tree* T, const Py_ssize_t* tails, const Py_ssize_t* heads, const double* costs,
    Py_ssize_t e, Py_ssize_t stop, Py_ssize_t width, double noise, double* min_rc,
    Py_ssize_t* best, double* worst,
) noexcept nogil:
    """The exact phase's test on arcs ``e:stop``: first the plain filter (the arcs
    certainly nonnegative, nearly all of them), then tree arcs (reduced cost zero by
    construction, in the band that needs the costly exact sum) are passed over.

    ``worst`` takes the smallest rigorous lower bound (:func:`reduced_cost_bounds`)
    of the reduced costs of the arcs the filter keeps, tree arcs included: the
    arcs it drops have positive bounds.

    ``width > 0`` as in :func:`find_entering_arc`: the filter then runs on eight arcs
    of a row at a time (:func:`dense8_mask`, the same operations), a row of eight or
    more ending on its last eight, and only the arcs it keeps go through the test
    one at a time; the arcs tested and their order are the same.  Measured
    (2026-12-04, 2-D point pairs): one exact pass took 1.8 us of a 30-point pair's
    45 and 36 us of a 150-point pair's 563 with the filter one arc at a time.  With
    eight at a time, every arc of a group with a tree arc (half the groups at 30
    points) still went through the test; lane by lane, a 30-point pair went from
    34.6 to 33.8 us (CPU, alternating builds).
    """
    cdef Py_ssize_t k, row, col, end, n_rows
    cdef const double* pi_cols
    if width > 0:
        row = tails[e]
        col = e - row * width
        n_rows = heads[e] - col  # arc e joins row `row` to node n_rows + col
        k = e
        while k < stop:
            end = k + (width - col)
            if end > stop:
                end = stop
            pi_cols = T.pi + n_rows + col - k  # pi_cols[j] is the potential of arc j's head
            while k + 8 <= end:
                exact_lanes(T, tails, heads, costs, k,
                            dense8_mask(&costs[k], T.pi[row], &pi_cols[k], avx2), noise,
                            min_rc, best, worst)
                k += 8
            if k < end and end - 8 >= row * width:
                # The row's last eight pairs, those already tested masked off.
                exact_lanes(T, tails, heads, costs, k,
                            dense8_mask(&costs[end - 8], T.pi[row], &pi_cols[end - 8], avx2)
                            >> (8 - (end - k)), noise, min_rc, best, worst)
                k = end
            while k < end:
                exact_arc(T, tails, heads, costs, k, noise, min_rc, best, worst)
                k += 1
            row += 1
            col = 0
        return
    for k in range(e, stop):
        exact_arc(T, tails, heads, costs, k, noise, min_rc, best, worst)


cdef inline void price_stretch_fast(
    Tree* T, const Py_ssize_t* tails, const Py_ssize_t* heads, const double* costs,
    Py_ssize_t e, Py_ssize_t stop, double noise, double* min_rc, Py_ssize_t* best,
) noexcept nogil:
    """The fast phase's test on arcs ``e:stop``, tried only on arcs that would beat the
    best so far (negative): nearly every arc fails the first comparison."""
    cdef double rc, ct, pt, ph
    cdef const double* pi = T.pi
    cdef Py_ssize_t k
    for k in range(e, stop):
        ct = costs[k]
        pt = pi[tails[k]]
        ph = pi[heads[k]]
        rc = ct + pt - ph
        if rc < min_rc[0] and fast_test(ct, pt, ph, rc, noise):
            min_rc[0] = rc
            best[0] = k


cdef Py_ssize_t find_entering_arc(
    Tree* T, const Py_ssize_t* tails, const Py_ssize_t* heads, const double* costs,
    Py_ssize_t n_arcs, Py_ssize_t block_size, Py_ssize_t* cursor, double* best_rc,
    double noise, Py_ssize_t width, double* worst,
) noexcept nogil:
    """Block search (AMO sec. 11.5, Kiraly & Kovacs): scan blocks of arcs from the cursor,
    take the most negative of the first block that holds an arc pricing out.  Returns -1
    when none is left.  In the exact phase ``worst`` gets the rigorous lower bound of
    :func:`price_stretch_exact` over the arcs scanned, which is every arc when none is
    found.

    ``width > 0`` says the arcs are every (row, column) pair of a bipartite
    problem in row-major order, ``width`` columns per row, rows first among the
    nodes: the tail's potential is then one per row and the heads' potentials
    are contiguous, so the fast phase's comparison runs several arcs at a time
    without reading the arc's ends (:func:`complete_search`, one call for the
    whole search).  Both ways test the same arcs with the same operations, in the
    same order, so they pick the same arc.
    """
    cdef double min_rc = 0.0
    worst[0] = INFINITY
    if width > 0 and not T.exact:
        # arc 0 joins row 0 to the first column, node heads[0]
        return complete_search(costs, T.pi, T.pi + heads[0], width, n_arcs, block_size,
                               cursor, best_rc, noise, avx2)
    cdef Py_ssize_t e = cursor[0], best = -1, remaining = block_size, scanned = 0, stop
    while scanned < n_arcs:
        # One stretch without wrapping around or ending a block.
        stop = n_arcs
        if e + remaining < stop:
            stop = e + remaining
        if e + (n_arcs - scanned) < stop:
            stop = e + (n_arcs - scanned)
        if T.exact:
            price_stretch_exact(T, tails, heads, costs, e, stop, width, noise, &min_rc, &best,
                                worst)
        else:
            price_stretch_fast(T, tails, heads, costs, e, stop, noise, &min_rc, &best)
        scanned += stop - e
        remaining -= stop - e
        e = 0 if stop == n_arcs else stop
        if remaining == 0:
            if best >= 0:
                break
            remaining = block_size
    cursor[0] = e
    best_rc[0] = min_rc
    return best


# A moved subtree (or the rest of the tree) of at most this many nodes has its
# potentials shifted by one plain walk along the thread, larger ones by two cursors;
# :func:`shift_potentials` makes the choice.  Set once at import by emd._planner
# (SHORT_SHIFT, with the measurement that set it); both ways add the same number to
# the same potentials, so the choice never changes a bit.
cdef Py_ssize_t SHORT_SHIFT = 0


def set_short_shift(Py_ssize_t nodes):
    """Set the size up to which a shift of potentials walks the thread plainly; returns
    the old one (emd._planner sets it at import; tests, to compare the two walks)."""
    global SHORT_SHIFT
    old = SHORT_SHIFT
    SHORT_SHIFT = nodes
    return old


cdef void shift_potentials(
    Tree* T, Py_ssize_t first, Py_ssize_t count, double sigma,
) noexcept nogil:
    """Add ``sigma`` to the potentials of the ``count`` nodes that follow ``first`` (itself
    included) in the thread, the tree's links already updated.

    One walk along the thread is a chain of dependent loads, each waiting for the
    last; on large trees that wait is the cost.  So the walk runs two cursors at
    once: whenever the second is idle, a node whose whole subtree lies ahead in
    the first cursor's run and which has two or more children hands the part of
    its subtree after its first child's to the second cursor (the run beyond
    that subtree waits on a stack).  Every node is still shifted once, by the
    same addition, so the potentials are those of the single walk.  Up to
    SHORT_SHIFT nodes the single walk itself runs: there the cursors' bookkeeping
    costs more than the loads they overlap.
    """
    cdef Py_ssize_t* thread = T.thread
    cdef Py_ssize_t* size = T.subtree_size
    cdef Py_ssize_t* last = T.subtree_last
    cdef Py_ssize_t* stack_node = T.seg_start
    cdef Py_ssize_t* stack_count = T.seg_end
    cdef double* pi = T.pi
    cdef Py_ssize_t a = first, na = count, b = first, nb = 0, top = 0, whole, head, first_size
    if count <= SHORT_SHIFT:
        for whole in range(count):
            pi[a] += sigma
            a = thread[a]
        return
    while True:
        if na == 0:
            if nb > 0:
                a, na, nb = b, nb, 0
            elif top > 0:
                top -= 1
                a, na = stack_node[top], stack_count[top]
            else:
                return
            continue
        if nb == 0:
            if top > 0:
                top -= 1
                b, nb = stack_node[top], stack_count[top]
            else:
                whole = size[a]
                if 2 < whole <= na:
                    head = thread[a]
                    first_size = size[head]
                    if first_size < whole - 1:
                        b = thread[last[head]]
                        nb = whole - 1 - first_size
                        if na > whole:
                            stack_node[top] = thread[last[a]]
                            stack_count[top] = na - whole
                            top += 1
                        na = 1 + first_size
        pi[a] += sigma
        a = thread[a]
        na -= 1
        if nb > 0:
            pi[b] += sigma
            b = thread[b]
            nb -= 1


cdef void update_tree(
    Tree* T, Py_ssize_t u_in, Py_ssize_t v_in, Py_ssize_t u_out, const Py_ssize_t* stem,
    Py_ssize_t k, char new_toward_parent, Py_ssize_t entering_arc, double entering_cost,
    double entering_flow, double sigma, double sigma_low,
) noexcept nogil:
    """Replace the tree arc above ``u_out`` by the entering arc joining ``u_in`` to ``v_in``
    (AMO sec. 11.3, updating the thread, subtree sizes and potentials).

    The subtree S hanging from ``u_out`` (it contains ``u_in``) is cut out,
    rerooted at ``u_in`` by reversing the stem ``u_in .. u_out`` (in
    ``stem[0..k]``, recorded by :func:`pivot`), and hung under ``v_in`` as its
    first child.  Its potentials shift by ``sigma`` (plus ``sigma_low`` in the
    exact phase).  The subtree sizes of the cycle's nodes above ``u_out`` and
    ``v_in`` are :func:`pivot`'s to update (it walks those paths anyway).
    """
    cdef Py_ssize_t* parent = T.parent
    cdef Py_ssize_t* thread = T.thread
    cdef Py_ssize_t* rev_thread = T.rev_thread
    cdef Py_ssize_t* subtree_size = T.subtree_size
    cdef Py_ssize_t* subtree_last = T.subtree_last
    cdef Py_ssize_t* seg_start = T.seg_start
    cdef Py_ssize_t* seg_end = T.seg_end
    cdef double* pi = T.pi
    cdef Py_ssize_t i, w, n_seg, new_last, nxt, count
    cdef Py_ssize_t moved_size = subtree_size[u_out]
    cdef Py_ssize_t old_last = subtree_last[u_out]
    cdef Py_ssize_t before = rev_thread[u_out]
    cdef Py_ssize_t after = thread[old_last]
    cdef Py_ssize_t old_parent = parent[u_out]
    cdef Py_ssize_t next_size, size_here

    # Preorder segments of S rerooted at u_in, read before any link changes:
    # u_in's own subtree, then for each stem node the part of its subtree
    # before the previous stem node's block and the part after it.
    seg_start[0] = u_in
    seg_end[0] = subtree_last[u_in]
    n_seg = 1
    for i in range(1, k + 1):
        seg_start[n_seg] = stem[i]
        seg_end[n_seg] = rev_thread[stem[i - 1]]
        n_seg += 1
        if subtree_last[stem[i]] != subtree_last[stem[i - 1]]:
            seg_start[n_seg] = thread[subtree_last[stem[i - 1]]]
            seg_end[n_seg] = subtree_last[stem[i]]
            n_seg += 1

    # Cut S out of the preorder; the old ancestors whose subtree ended with it
    # now end before it.
    thread[before] = after
    rev_thread[after] = before
    w = old_parent
    while w >= 0 and subtree_last[w] == old_last:
        subtree_last[w] = before
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
    w = v_in
    while w >= 0 and subtree_last[w] == v_in:
        subtree_last[w] = new_last
        w = parent[w]

    # Reverse the stem: each stem node takes the arc of the node below it.
    next_size = 0
    for i in range(k, 0, -1):
        w = stem[i]
        size_here = subtree_size[w] - subtree_size[stem[i - 1]] + next_size
        parent[w] = stem[i - 1]
        T.toward_parent[w] = 1 - T.toward_parent[stem[i - 1]]
        T.flow[w] = T.flow[stem[i - 1]]
        T.arc_cost[w] = T.arc_cost[stem[i - 1]]
        T.arc_index[w] = T.arc_index[stem[i - 1]]
        subtree_size[w] = size_here
        subtree_last[w] = new_last
        next_size = size_here
    parent[u_in] = v_in
    T.toward_parent[u_in] = new_toward_parent
    T.flow[u_in] = entering_flow
    T.arc_cost[u_in] = entering_cost
    T.arc_index[u_in] = entering_arc
    subtree_size[u_in] = moved_size
    subtree_last[u_in] = new_last

    # Potentials only matter up to a constant, so when S is the larger part
    # of the tree, shifting everything else by -sigma does the same job.
    if 2 * moved_size <= T.n_nodes + 1:
        if T.exact:
            w = u_in
            for count in range(moved_size):
                pi[w] = dd_add(pi[w], T.pi_low[w], sigma, sigma_low, &T.pi_low[w])
                w = thread[w]
        else:
            shift_potentials(T, u_in, moved_size, sigma)
    else:
        w = thread[new_last]
        if T.exact:
            while w != u_in:
                pi[w] = dd_add(pi[w], T.pi_low[w], -sigma, -sigma_low, &T.pi_low[w])
                w = thread[w]
        else:
            shift_potentials(T, w, T.n_nodes + 1 - moved_size, -sigma)


cdef struct CycleSides:
    # The two sides of a pivot's cycle below the apex, each recorded bottom-up (the
    # tail side from s, the head side from t), with each side's blocking arc so far.
    Py_ssize_t* tail_side
    Py_ssize_t* head_side
    Py_ssize_t n_tail, n_head, out_tail, out_head, k_tail, k_head
    double delta_tail, delta_head
    # What leaving_arc chose: the leaving arc's node, its flow, its side (the stem
    # in_side[0..k] that reverses) and the other side.
    Py_ssize_t u_out, k, n_in, n_other
    Py_ssize_t* in_side
    Py_ssize_t* out_side
    double delta
    bint out_on_tail_side


cdef inline void start_sides(CycleSides* C, Tree* T) noexcept nogil:
    C.tail_side = T.stem
    C.head_side = T.stem + T.n_nodes + 1
    C.n_tail = C.n_head = C.k_tail = C.k_head = 0
    C.out_tail = C.out_head = -1
    C.delta_tail = C.delta_head = 0.0


# The tail side (s up to the apex) is read against the cycle direction: its arcs
# pointing up lose flow, and the blocking arc nearest s is the last one met, so a
# strictly smaller flow replaces the candidate.  The head side (t up to the apex) is
# read along it: arcs pointing down lose flow, ties go to the arc nearest the apex,
# and they beat the tail side's candidate.  Each side is visited bottom-up, in
# whatever order the two climbs interleave, so the choice is one walk's per side.
cdef inline void visit_tail(
    CycleSides* C, const char* toward, const double* flow, Py_ssize_t u,
) noexcept nogil:
    if toward[u] and (C.out_tail < 0 or flow[u] < C.delta_tail):
        C.delta_tail = flow[u]
        C.out_tail = u
        C.k_tail = C.n_tail
    C.tail_side[C.n_tail] = u
    C.n_tail += 1


cdef inline void visit_head(
    CycleSides* C, const char* toward, const double* flow, Py_ssize_t v,
) noexcept nogil:
    if not toward[v] and (C.out_head < 0 or flow[v] <= C.delta_head):
        C.delta_head = flow[v]
        C.out_head = v
        C.k_head = C.n_head
    C.head_side[C.n_head] = v
    C.n_head += 1


cdef inline bint leaving_arc(CycleSides* C) noexcept nogil:
    """Choose the leaving arc from both sides' candidates; False when neither side
    blocks (the cycle is unbounded)."""
    if C.out_head >= 0 and (C.out_tail < 0 or C.delta_head <= C.delta_tail):
        C.u_out, C.delta, C.out_on_tail_side = C.out_head, C.delta_head, False
        C.in_side, C.n_in, C.k = C.head_side, C.n_head, C.k_head
        C.out_side, C.n_other = C.tail_side, C.n_tail
    elif C.out_tail >= 0:
        C.u_out, C.delta, C.out_on_tail_side = C.out_tail, C.delta_tail, True
        C.in_side, C.n_in, C.k = C.tail_side, C.n_tail, C.k_tail
        C.out_side, C.n_other = C.head_side, C.n_head
    else:
        return False
    return True


cdef int pivot(
    Tree* T, Py_ssize_t arc, Py_ssize_t s, Py_ssize_t t, double cost, double rc,
) noexcept nogil:
    """Send flow around the cycle closed by arc s -> t and update the tree.

    The leaving arc is the last blocking arc met when the cycle is walked in
    the direction of the entering arc starting from the apex.  This keeps the
    tree strongly feasible (every arc without flow points toward the root;
    AMO sec. 11.5), which rules out cycling on degenerate pivots.

    The cycle is walked once, to find the apex (AMO sec. 11.5: climb from the
    endpoint with the smaller subtree until the two paths meet) and the leaving
    arc together; its two sides are recorded in ``T.stem`` (the tail side from
    the start, the head side from ``n_nodes + 1``), so that the flows and subtree
    sizes change in loops over those records instead of a second climb, and the
    side of ``u_in`` is the stem that :func:`update_tree` reverses.
    """
    cdef Py_ssize_t* parent = T.parent
    cdef Py_ssize_t* subtree_size = T.subtree_size
    cdef char* toward = T.toward_parent
    cdef double* flow = T.flow
    cdef Py_ssize_t* in_side
    cdef Py_ssize_t* out_side
    cdef Py_ssize_t u = s, v = t, u_out, k, i, n_in, n_other
    cdef Py_ssize_t moved_size
    cdef double delta, err, rc_low = 0.0, change
    cdef bint out_on_tail_side
    cdef CycleSides C
    start_sides(&C, T)
    while u != v:
        if subtree_size[u] < subtree_size[v]:
            visit_tail(&C, toward, flow, u)
            u = parent[u]
        else:
            visit_head(&C, toward, flow, v)
            v = parent[v]
    if not leaving_arc(&C):
        return UNBOUNDED
    u_out, delta, out_on_tail_side = C.u_out, C.delta, C.out_on_tail_side
    in_side, n_in, k, out_side, n_other = C.in_side, C.n_in, C.k, C.out_side, C.n_other

    # Flow changes: along the cycle direction on arcs that agree with it.  From
    # s (against the direction) an arc pointing up loses delta; from t (along
    # it) an arc pointing up gains it.  The subtree of u_out moves from below
    # the u_in side's nodes above u_out to below the v_in side's nodes.
    moved_size = subtree_size[u_out]
    change = -delta if out_on_tail_side else delta
    if delta > 0.0:
        for i in range(n_in):
            u = in_side[i]
            flow[u] += change if toward[u] else -change
        for i in range(n_other):
            u = out_side[i]
            flow[u] += -change if toward[u] else change
    for i in range(k + 1, n_in):
        subtree_size[in_side[i]] -= moved_size
    for i in range(n_other):
        subtree_size[out_side[i]] += moved_size

    if T.exact:
        # The shift must carry the reduced cost to double-double accuracy.
        rc = exact_reduced_cost(cost, T.pi[s], T.pi_low[s], T.pi[t], T.pi_low[t], &err, &rc_low)
    if out_on_tail_side:
        rc = -rc
        rc_low = -rc_low
    # One call (the entering arc joins s and t, either way round), so that the
    # compiler may inline the update into the pivot.
    update_tree(T, s if out_on_tail_side else t, t if out_on_tail_side else s, u_out, in_side,
                k, out_on_tail_side, arc, cost, delta, rc, rc_low)
    return OPTIMAL


# Trees of up to SMALL_NODES nodes, the root included, pivot in the fast phase on
# bit sets of their subtrees (pivot_small) instead of the thread: at 61 nodes
# (pairs of 30 points) it took a pair from 32.0 to 27.7 us of CPU, the same pivots
# and bits (2026-12-05).
cdef enum:
    SMALL_NODES = 64

cdef bint small_trees = True


def _use_small_trees(bint flag):
    """Test hook: let trees of up to 64 nodes pivot on bit sets (the default) or on the
    thread, to compare the two; returns the old setting."""
    global small_trees
    old = small_trees
    small_trees = flag
    return old


cdef struct SmallTree:
    # below[v]: the nodes of the subtree of v, as the bits of one word.
    uint64_t below[SMALL_NODES]
    # The root's children in the order the thread would list them (next / previous,
    # SMALL_NODES the list's head): the potentials are refreshed from the first one.
    Py_ssize_t root_next[SMALL_NODES + 1]
    Py_ssize_t root_prev[SMALL_NODES + 1]


cdef void small_sets(Tree* T, SmallTree* S) noexcept nogil:
    """``S.below`` read from the thread (reverse preorder visits every node after its
    descendants), and the root's children in the thread's order."""
    cdef Py_ssize_t root = T.root, v, last = SMALL_NODES
    for v in range(T.n_nodes + 1):
        S.below[v] = (<uint64_t> 1) << v
    v = T.rev_thread[root]
    while v != root:
        S.below[T.parent[v]] |= S.below[v]
        v = T.rev_thread[v]
    v = T.thread[root]
    while v != root:
        S.root_next[last] = v
        S.root_prev[v] = last
        last = v
        v = T.thread[T.subtree_last[v]]
    S.root_next[last] = SMALL_NODES
    S.root_prev[SMALL_NODES] = last


cdef void small_thread(Tree* T, const SmallTree* S) noexcept nogil:
    """The thread, reverse thread, subtree sizes and last nodes again, from the parents
    and the bit sets that :func:`pivot_small` kept in their place, the root's first
    child the thread's (:func:`refresh_potentials` reads it).

    A subtree is larger than each of its own, so taking the nodes by decreasing size
    (a counting sort) meets every parent before its children: each node then takes
    the next free place of its parent's stretch of the preorder, and its own stretch
    starts right after it.  No branch depends on the tree's shape.
    """
    cdef Py_ssize_t size[SMALL_NODES]
    cdef Py_ssize_t start[SMALL_NODES + 1]
    cdef Py_ssize_t by_size[SMALL_NODES]
    cdef Py_ssize_t position[SMALL_NODES]
    cdef Py_ssize_t next_free[SMALL_NODES]
    cdef Py_ssize_t order[SMALL_NODES]
    cdef Py_ssize_t total = T.n_nodes + 1, root = T.root, v, w, k
    cdef Py_ssize_t first = S.root_next[SMALL_NODES]
    for k in range(total + 1):
        start[k] = 0
    for v in range(total):
        size[v] = popcount64(S.below[v])
        start[total - size[v] + 1] += 1
    for k in range(total):
        start[k + 1] += start[k]
    for v in range(total):
        by_size[start[total - size[v]]] = v
        start[total - size[v]] += 1
    position[root] = 0
    next_free[root] = 1
    if first != SMALL_NODES:
        position[first] = 1
        next_free[root] = 1 + size[first]
        next_free[first] = 2
    for k in range(1, total):
        v = by_size[k]
        if v == first:
            continue
        w = T.parent[v]
        position[v] = next_free[w]
        next_free[w] += size[v]
        next_free[v] = position[v] + 1
    for v in range(total):
        order[position[v]] = v
    for k in range(total):
        v = order[k]
        w = order[k + 1] if k + 1 < total else root
        T.thread[v] = w
        T.rev_thread[w] = v
        T.subtree_size[v] = size[v]
        T.subtree_last[v] = order[k + size[v] - 1]


cdef int pivot_small(
    Tree* T, SmallTree* S, Py_ssize_t arc, Py_ssize_t s, Py_ssize_t t, double cost,
    double rc,
) noexcept nogil:
    """:func:`pivot` in the fast phase of a tree of at most SMALL_NODES nodes: the same
    cycle, leaving arc, flows, parents and potentials, with the subtrees kept as bit
    sets in ``S.below`` instead of the thread and subtree sizes (:func:`small_thread`
    rebuilds those) and the root's children listed in the thread's order.

    The apex is the first node above ``s`` whose subtree holds ``t``, so each side
    of the cycle is one climb whose only unpredictable branch is its end; the
    potentials shift over the set bits of the smaller part of the tree.
    """
    cdef Py_ssize_t* parent = T.parent
    cdef char* toward = T.toward_parent
    cdef double* flow = T.flow
    cdef double* pi = T.pi
    cdef uint64_t* below = S.below
    cdef Py_ssize_t* in_side
    cdef Py_ssize_t* out_side
    cdef Py_ssize_t u = s, v = t, apex, u_out, u_in, v_in, n_in, n_other, k, i, w
    cdef Py_ssize_t total = T.n_nodes + 1
    cdef uint64_t head_bit = (<uint64_t> 1) << t, moved, kept, below_next = 0, shifted
    cdef double delta, change, sigma
    cdef bint out_on_tail_side
    cdef CycleSides C
    start_sides(&C, T)
    # The apex is the first node above s whose subtree holds t.
    while not (below[u] & head_bit):
        visit_tail(&C, toward, flow, u)
        u = parent[u]
    apex = u
    while v != apex:
        visit_head(&C, toward, flow, v)
        v = parent[v]
    if not leaving_arc(&C):
        return UNBOUNDED
    u_out, delta, out_on_tail_side = C.u_out, C.delta, C.out_on_tail_side
    in_side, n_in, k, out_side, n_other = C.in_side, C.n_in, C.k, C.out_side, C.n_other

    # Flows change along the cycle (as pivot's); the subtree of u_out moves from
    # below the in side's nodes above it to below the other side's.  One loop a
    # side: a loop's end is a branch mispredicted about once a pivot.
    moved = below[u_out]
    change = -delta if out_on_tail_side else delta
    if parent[u_out] == T.root:
        # u_out leaves the root's children (u_in joins them below, if v_in is the root).
        S.root_next[S.root_prev[u_out]] = S.root_next[u_out]
        S.root_prev[S.root_next[u_out]] = S.root_prev[u_out]
    # A degenerate pivot changes no flow (pivot's test: a flow of -0.0 stays so).
    for i in range(n_other):
        u = out_side[i]
        if delta > 0.0:
            flow[u] += -change if toward[u] else change
        below[u] |= moved
    for i in range(k + 1, n_in):
        u = in_side[i]
        if delta > 0.0:
            flow[u] += change if toward[u] else -change
        below[u] &= ~moved

    # The stem in_side[0..k] reverses: each of its nodes takes the arc of the node
    # below it, with that arc's flow after the change, and keeps its subtree but for
    # the part now above it.
    u_in = in_side[0]
    v_in = t if out_on_tail_side else s
    for i in range(k, 0, -1):
        w = in_side[i]
        u = in_side[i - 1]
        kept = (below[w] & ~below[u]) | below_next
        parent[w] = u
        flow[w] = flow[u] + (change if toward[u] else -change) if delta > 0.0 else flow[u]
        toward[w] = 1 - toward[u]
        T.arc_cost[w] = T.arc_cost[u]
        T.arc_index[w] = T.arc_index[u]
        below[w] = kept
        below_next = kept
    parent[u_in] = v_in
    toward[u_in] = out_on_tail_side
    flow[u_in] = delta
    T.arc_cost[u_in] = cost
    T.arc_index[u_in] = arc
    below[u_in] = moved
    if v_in == T.root:
        # update_tree hangs the moved subtree first under v_in.
        S.root_next[u_in] = S.root_next[SMALL_NODES]
        S.root_prev[u_in] = SMALL_NODES
        S.root_prev[S.root_next[SMALL_NODES]] = u_in
        S.root_next[SMALL_NODES] = u_in

    # As update_tree: the moved part shifts by the entering arc's reduced cost, or
    # the rest of the tree by its opposite when that is the smaller part.
    sigma = -rc if out_on_tail_side else rc
    if 2 * popcount64(moved) <= total:
        shifted = moved
    else:
        shifted = ~moved if total == SMALL_NODES else (((<uint64_t> 1) << total) - 1) & ~moved
        sigma = -sigma
    while shifted:
        pi[ctz64(shifted)] += sigma
        shifted &= shifted - 1
    return OPTIMAL


cdef double big_m_objective(Tree* T) noexcept nogil:
    """The objective with artificial arcs included: it never rises under exact pivots."""
    cdef Py_ssize_t v
    cdef double total = 0.0
    for v in range(T.n_nodes):
        total += T.flow[v] * T.arc_cost[v]
    return total


cdef double potential_scale(Tree* T) noexcept nogil:
    cdef Py_ssize_t v
    cdef double scale = T.artificial_cost
    for v in range(T.n_nodes):
        if fabs(T.pi[v]) > scale:
            scale = fabs(T.pi[v])
    return scale


cdef int run_simplex(
    Tree* T, const Py_ssize_t* tails, const Py_ssize_t* heads, const double* costs,
    Py_ssize_t n_arcs, Py_ssize_t block_size, Py_ssize_t max_iter,
    Py_ssize_t* n_iter, Py_ssize_t* cursor, Py_ssize_t width, double* final_worst,
) noexcept nogil:
    """Pivot until a pricing pass of the exact phase on fresh potentials finds nothing.

    Returns OPTIMAL in that case (optimal for the arcs given, to the rigorous
    error bound of the exact pricing), MAX_ITER_REACHED or UNBOUNDED.  ``width > 0``
    says the arcs are a complete bipartite list (see :func:`find_entering_arc`).
    On OPTIMAL, ``final_worst`` (if given) gets a rigorous lower bound on the
    exact reduced cost of every arc, from the last pass.
    """
    cdef Py_ssize_t e, since_refresh = 0, since_check = 0
    cdef Py_ssize_t refresh_period = T.n_nodes if T.n_nodes > 1000 else 1000
    cdef double rc, objective, last_objective = INFINITY, noise = 0.0, cap, worst
    cdef bint fresh = False
    cdef int status
    cdef SmallTree small_tree
    cdef bint small = small_trees and T.n_nodes < SMALL_NODES and T.root == T.n_nodes
    T.exact = False
    if n_arcs == 0:
        refresh_potentials(T)
        if final_worst != NULL:
            final_worst[0] = INFINITY
        return OPTIMAL
    if small:
        small_sets(T, &small_tree)
    while True:
        e = find_entering_arc(T, tails, heads, costs, n_arcs, block_size, cursor, &rc, noise,
                              width, &worst)
        if e < 0:
            if fresh and T.exact:
                if final_worst != NULL:
                    final_worst[0] = worst
                return OPTIMAL
            # Nothing prices out on these potentials: recompute them from the
            # tree and price again exactly, without a noise floor.
            if small:
                small_thread(T, &small_tree)
                small = False
            refresh_potentials(T)
            T.exact = True
            fresh = True
            since_refresh = 0
            continue
        if n_iter[0] >= max_iter:
            if small:
                small_thread(T, &small_tree)
            return MAX_ITER_REACHED
        if small:
            status = pivot_small(T, &small_tree, e, tails[e], heads[e], costs[e], rc)
        else:
            status = pivot(T, e, tails[e], heads[e], costs[e], rc)
        if status != OPTIMAL:
            if small:
                small_thread(T, &small_tree)
            return status
        n_iter[0] += 1
        fresh = False
        since_refresh += 1
        if since_refresh >= refresh_period:
            if small:
                small_thread(T, &small_tree)
            refresh_potentials(T)
            since_refresh = 0
        if T.exact:
            continue
        since_check += 1
        if since_check >= refresh_period:
            since_check = 0
            # Fast-phase potentials are path sums off by rounding relative to
            # the largest terms on the path; arcs that price out by less than
            # that can enter in turn forever (a cycle of pivots whose cost
            # changes cancel).  A whole period without a lower big-M objective
            # means that or a long degenerate stretch: from then on an arc must
            # also beat a noise floor, raised 16-fold at every further stalled
            # period up to a cap.  The floor only ends the fast phase sooner:
            # the exact phase that follows has none.
            objective = big_m_objective(T)
            if objective >= last_objective:
                cap = _NOISE_CAP * potential_scale(T)
                if noise == 0.0:
                    noise = 16.0 * DBL_EPSILON * potential_scale(T)
                elif noise < cap:
                    noise = min(16.0 * noise, cap)
            last_objective = objective


cdef check_arcs(
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


def _read_only(cnp.ndarray array):
    view = array.view()
    view.flags.writeable = False
    return view


cdef class SpanningTree:
    """State of the network simplex: a strongly feasible spanning tree and its flows.

    Parameters
    ----------
    supply : ndarray of float64, shape (n_nodes,)
        Supply (positive) or demand (negative) of each node.  An imbalance of
        the total is absorbed by the artificial root.
    artificial_cost : float
        Cost of the artificial arcs joining every node to the root; must
        exceed half the cost of any path of real arcs for artificial flow to
        vanish at the optimum of a feasible problem.

    Notes
    -----
    The arrays exposed as attributes (``parent``, ``thread``, ``pi``, ...)
    are read-only views of the solver's state, indexed by node, with the
    artificial root at index ``n_nodes``.
    """

    def __init__(self, const double[::1] supply not None, double artificial_cost):
        cdef Py_ssize_t n = supply.shape[0], size = n + 1
        self._parent = np.empty(size, dtype=np.intp)
        self._thread = np.empty(size, dtype=np.intp)
        self._rev_thread = np.empty(size, dtype=np.intp)
        self._subtree_size = np.empty(size, dtype=np.intp)
        self._subtree_last = np.empty(size, dtype=np.intp)
        self._toward_parent = np.empty(size, dtype=np.int8)
        self._flow = np.empty(size, dtype=np.float64)
        self._arc_cost = np.empty(size, dtype=np.float64)
        self._arc_index = np.empty(size, dtype=np.intp)
        self._pi = np.empty(size, dtype=np.float64)
        self._pi_low = np.empty(size, dtype=np.float64)
        self._scratch_low = np.empty(size, dtype=np.float64)
        self._stem = np.empty(2 * size, dtype=np.intp)
        self._seg_start = np.empty(2 * size, dtype=np.intp)
        self._seg_end = np.empty(2 * size, dtype=np.intp)
        self._supply = np.array(supply, dtype=np.float64)
        T = &self.T
        T.n_nodes = n
        T.root = n
        T.artificial_cost = artificial_cost
        T.parent = <Py_ssize_t*> cnp.PyArray_DATA(self._parent)
        T.thread = <Py_ssize_t*> cnp.PyArray_DATA(self._thread)
        T.rev_thread = <Py_ssize_t*> cnp.PyArray_DATA(self._rev_thread)
        T.subtree_size = <Py_ssize_t*> cnp.PyArray_DATA(self._subtree_size)
        T.subtree_last = <Py_ssize_t*> cnp.PyArray_DATA(self._subtree_last)
        T.toward_parent = <char*> cnp.PyArray_DATA(self._toward_parent)
        T.flow = <double*> cnp.PyArray_DATA(self._flow)
        T.arc_cost = <double*> cnp.PyArray_DATA(self._arc_cost)
        T.arc_index = <Py_ssize_t*> cnp.PyArray_DATA(self._arc_index)
        T.pi = <double*> cnp.PyArray_DATA(self._pi)
        T.pi_low = <double*> cnp.PyArray_DATA(self._pi_low)
        T.scratch_low = <double*> cnp.PyArray_DATA(self._scratch_low)
        T.stem = <Py_ssize_t*> cnp.PyArray_DATA(self._stem)
        T.seg_start = <Py_ssize_t*> cnp.PyArray_DATA(self._seg_start)
        T.seg_end = <Py_ssize_t*> cnp.PyArray_DATA(self._seg_end)
        self.reset(supply)

    def reset(self, const double[::1] supply not None):
        """Start again from the artificial star for new supplies (no allocation)."""
        if supply.shape[0] != self.T.n_nodes:
            raise ValueError(f"supply must have {self.T.n_nodes} entries, got {supply.shape[0]}")
        self._supply[:] = supply
        self.n_iter = 0
        self.cursor = 0
        init_star(&self.T, <double*> cnp.PyArray_DATA(self._supply))

    @property
    def n_nodes(self):
        return self.T.n_nodes

    @property
    def parent(self):
        return _read_only(self._parent)

    @property
    def thread(self):
        return _read_only(self._thread)

    @property
    def rev_thread(self):
        return _read_only(self._rev_thread)

    @property
    def subtree_size(self):
        return _read_only(self._subtree_size)

    @property
    def subtree_last(self):
        return _read_only(self._subtree_last)

    @property
    def toward_parent(self):
        return _read_only(self._toward_parent)

    @property
    def flow(self):
        return _read_only(self._flow)

    @property
    def arc_cost(self):
        return _read_only(self._arc_cost)

    @property
    def arc_index(self):
        return _read_only(self._arc_index)

    @property
    def pi(self):
        return _read_only(self._pi)

    @property
    def pi_low(self):
        return _read_only(self._pi_low)


    def solve(
        self,
        const Py_ssize_t[::1] tails not None,
        const Py_ssize_t[::1] heads not None,
        const double[::1] costs not None,
        Py_ssize_t max_iter,
        Py_ssize_t block_size=0,
    ):
        """Pivot over the given arcs until the exact phase prices out nothing, or ``max_iter``
        pivots in all.

        The arrays must have equal length and hold node indices in
        ``[0, n_nodes)`` (checked); between calls the arc list may only grow.
        Returns a status code (0 optimal for these arcs, 1 iteration limit,
        2 unbounded).  Runs without the GIL.  On return the potentials
        ``pi + pi_low`` are fresh double-double path sums when the status is 0.
        """
        cdef Py_ssize_t n_arcs = tails.shape[0]
        cdef int status
        cdef Py_ssize_t n_iter = self.n_iter, cursor = self.cursor
        check_arcs(tails, heads, costs.shape[0], self.T.n_nodes)
        if block_size <= 0:
            block_size = block_size_for(n_arcs)
        if cursor >= n_arcs:
            cursor = 0
        with nogil:
            status = run_simplex(
                &self.T, &tails[0] if n_arcs else NULL, &heads[0] if n_arcs else NULL,
                &costs[0] if n_arcs else NULL, n_arcs, block_size, max_iter, &n_iter, &cursor,
                0, NULL,
            )
        self.n_iter = n_iter
        self.cursor = cursor
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
        cdef Py_ssize_t n = self.T.n_nodes
        cdef double[::1] below = np.empty(max(n, 1))
        if preorder.shape[0] != n or tree_parent.shape[0] != n:
            raise ValueError("preorder and tree_parent must cover every node once")
        if up_arc.shape[0] != n or down_arc.shape[0] != n:
            raise ValueError("up_arc and down_arc must have one entry per node")
        if self.n_iter:
            raise ValueError("start_from_forest must come before the first solve")
        if n == 0:
            return
        _check_forest(preorder, tree_parent, up_arc, down_arc, costs.shape[0])
        with nogil:
            start_forest(&self.T, <double*> cnp.PyArray_DATA(self._supply), &below[0],
                         &preorder[0], &tree_parent[0], &up_arc[0], &down_arc[0], &costs[0])

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
        """Cost of the current flow on the real arcs (exact products, double-double sum)."""
        flows = self.subtree_flows()
        return tree_cost(&self.T, <double*> cnp.PyArray_DATA(flows))

    def refresh_potentials(self):
        """Recompute the potentials from the tree (exactly what the final check uses)."""
        refresh_potentials(&self.T)

    def artificial_flow(self):
        """Total flow left on artificial arcs (nonzero only for infeasible or unbalanced input)."""
        cdef Py_ssize_t n = self.T.n_nodes
        mask = self._parent[:n] == n
        return float(self.subtree_flows()[mask].sum())

    def tree_arcs(self):
        """Real arcs of the tree: ``(arcs, tails, heads, flows, costs)``.

        ``arcs`` indexes the arc list of the last :meth:`solve` calls (which
        may only grow between calls); artificial arcs are left out.
        """
        cdef Py_ssize_t n = self.T.n_nodes
        nodes = np.flatnonzero(self._parent[:n] != n)
        parents = self._parent[nodes]
        toward = self._toward_parent[nodes].astype(bool)
        tails = np.where(toward, nodes, parents)
        heads = np.where(toward, parents, nodes)
        return (
            self._arc_index[nodes].copy(), tails, heads,
            self.subtree_flows()[nodes], self._arc_cost[nodes].copy(),
        )

    def arc_flows(self, Py_ssize_t n_arcs):
        """The flow on every arc of the list given to :meth:`solve` (``n_arcs`` long):
        the tree's real arcs carry their subtree flows, every other arc 0."""
        arcs, _, _, flows, _ = self.tree_arcs()
        out = np.zeros(n_arcs)
        out[arcs] = flows
        return out

    def check_structure(self):
        """Verify the tree invariants and strong feasibility (for tests); raise RuntimeError."""
        cdef Py_ssize_t n = self.T.n_nodes, root = n, v, count = 0
        order = []
        v = root
        while True:
            order.append(v)
            v = self._thread[v]
            count += 1
            if v == root or count > n + 1:
                break
        if count != n + 1:
            raise RuntimeError("thread does not visit every node once")
        position = np.empty(n + 1, dtype=np.intp)
        position[np.asarray(order)] = np.arange(n + 1)
        for v in range(n + 1):
            if self._rev_thread[self._thread[v]] != v:
                raise RuntimeError(f"rev_thread broken at {v}")
            size = self._subtree_size[v]
            last = order[position[v] + size - 1]
            if last != self._subtree_last[v]:
                raise RuntimeError(f"subtree_last wrong at node {v}")
            if v != root:
                p = self._parent[v]
                if not (position[p] < position[v] <= position[p] + self._subtree_size[p] - 1):
                    raise RuntimeError(f"node {v} is not inside the subtree of its parent")
                if self._flow[v] < 0:
                    raise RuntimeError(f"negative flow on the tree arc of node {v}")
                if self._flow[v] == 0 and not self._toward_parent[v]:
                    raise RuntimeError(f"zero-flow arc of node {v} points away from the root")
        return True

    def check_potentials(self, double rtol=1e-9):
        """Verify that every tree arc has zero reduced cost (for tests)."""
        cdef Py_ssize_t n = self.T.n_nodes, v, p
        cdef double rc, scale
        for v in range(n):
            p = self._parent[v]
            if self._toward_parent[v]:
                rc = self._arc_cost[v] + self._pi[v] - self._pi[p]
            else:
                rc = self._arc_cost[v] + self._pi[p] - self._pi[v]
            scale = abs(self._arc_cost[v]) + abs(self._pi[v]) + abs(self._pi[p])
            if abs(rc) > rtol * scale + 1e-300:
                raise RuntimeError(f"tree arc of node {v} has reduced cost {rc}")
        return True
