# cython: language_level=3
"""Transshipment on grid graphs, coarse-to-fine, in one compiled call without the GIL.

A grid problem is solved level by level (``emd.structured._grid`` describes the
levels): the supply is coarsened 2x along every axis and solved first; its
spanning tree is refined into a spanning forest of the fine grid (each coarse
tree edge becomes an edge between facing bins of the two blocks, each
block a small tree of axis steps) and the fine simplex starts from it.  On a
Euclidean graph with long offsets the simplex starts on the short ones (the
core) and, whenever it stops optimal, the other offsets are priced against
its potentials and the violated arcs appended (column generation), until a
pass finds none.  Everything runs on one :class:`GridWorkspace`, reused from
pair to pair, so a batch of grid pairs is one GIL-free loop whose every value
equals the single solve's bit for bit.

Every level runs the simplex of :mod:`emd._core._tree` (one call per level), so a
grid solve, a batch of grid pairs and the arc solver share one tree implementation;
a batch's per-pair check is :func:`emd._core._certify.certify_tree`.
"""

import numpy as np

cimport numpy as cnp
from libc.math cimport INFINITY, fabs, fma, sqrt
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy, memset

from emd._core._certify cimport certify_tree
from emd._core._exact cimport exact_reduced_cost, filter_band, unit_roundoff
from emd._core._grow cimport grow, grow_arc_list
from emd._core._line cimport line_cost_sorted
from emd._core._pair cimport check_pairs
from emd._core._pricing_kernels cimport fast_test
from emd._core._starts cimport forest_order
from emd._core._tree cimport (
    OPTIMAL, UNBOUNDED, SpanningTree, Tree, block_size_for, check_arcs, init_star,
    run_simplex, start_forest, subtree_flows, tree_cost,
)

cnp.import_array()

# A level's outcome beyond the simplex status codes.
cdef enum:
    GRID_NO_MEMORY = -1

cdef enum:
    GRID_MAX_LEVELS = 32
    GRID_CITYBLOCK = 1
    GRID_CHEBYSHEV = 2
    GRID_EUCLIDEAN = 3

# The grid driver's metric codes as plain integers.  The driver knows metrics by code
# only; their names live in emd._validation.METRIC_TABLE (its "grid" entries), whose
# codes a test checks against these.
GRID_METRIC_CITYBLOCK = GRID_CITYBLOCK
GRID_METRIC_CHEBYSHEV = GRID_CHEBYSHEV
GRID_METRIC_EUCLIDEAN = GRID_EUCLIDEAN


cdef struct GridLevel:
    Py_ssize_t n_bins
    Py_ssize_t shape[3]             # padded to three axes with leading 1s
    double spacing
    int metric
    double artificial_cost
    Py_ssize_t block                # pricing block; 0: the sqrt(arcs) rule
    bint warm                       # started from the next level's tree
    # Every offset of the graph: what column generation prices and the certificate checks.
    Py_ssize_t n_offsets
    const Py_ssize_t* offsets       # (n_offsets, 3)
    const double* lengths
    const Py_ssize_t* low           # (n_offsets, 3): first source bin along each axis
    const Py_ssize_t* extent        # (n_offsets, 3): source bins along each axis
    const Py_ssize_t* start         # n_offsets + 1: arc index ranges, offset by offset
    # The core: the first arc list, laid out offset by offset (the forest indexes it).
    const Py_ssize_t* core_low
    const Py_ssize_t* core_extent
    const Py_ssize_t* core_start
    const Py_ssize_t* core_lookup   # step in [-R, R]^3 (base 2R + 1) -> core offset, or -1
    Py_ssize_t core_radius          # R: the largest coordinate of a core offset
    const Py_ssize_t* tails
    const Py_ssize_t* heads
    const double* costs
    Py_ssize_t n_core_arcs
    const Py_ssize_t* extra         # offsets outside the core (column generation)
    Py_ssize_t n_extra
    Py_ssize_t default_budget       # pivots when the caller sets no limit
    # Unbalanced transport: the artificial root is the extra node, tied to every bin by
    # arcs of cost ``lam`` each way (see :class:`GridPlan`).
    bint unbalanced
    double lam


cdef struct GridWork:
    Py_ssize_t n_levels
    GridLevel* levels
    Tree* trees[GRID_MAX_LEVELS]
    double* supplies[GRID_MAX_LEVELS]
    Py_ssize_t level_iter[GRID_MAX_LEVELS]
    # Scratch sized for the finest level.
    Py_ssize_t* parent
    Py_ssize_t* preorder
    Py_ssize_t* up_arc
    Py_ssize_t* down_arc
    Py_ssize_t* child_start
    Py_ssize_t* child_list
    Py_ssize_t* stack
    double* below
    double* rest
    double* rest_err
    double* tree_length
    # Arc list of a column-generated solve (the core's arcs, then those added).
    Py_ssize_t* tails
    Py_ssize_t* heads
    double* costs
    Py_ssize_t n_arcs
    Py_ssize_t arc_cap
    # Arcs found by one pricing pass, and their order by tail.
    Py_ssize_t* found_tails
    Py_ssize_t* found_heads
    double* found_costs
    Py_ssize_t* found_order
    Py_ssize_t found_cap
    # Per extra offset: flags over its arcs, set once an arc is in the list.
    char** listed
    Py_ssize_t* listed_solve        # the solve that last cleared them
    Py_ssize_t n_listed
    Py_ssize_t solve_id
    # Unbalanced: per bin, bit 1 once its arc to the root is listed, bit 2 the arc back.
    char* root_listed


cdef inline Py_ssize_t grid_ravel(const Py_ssize_t* shape, const Py_ssize_t* c) noexcept nogil:
    return (c[0] * shape[1] + c[1]) * shape[2] + c[2]


cdef inline void grid_unravel(const Py_ssize_t* shape, Py_ssize_t v, Py_ssize_t* c) noexcept nogil:
    c[2] = v % shape[2]
    v = v // shape[2]
    c[1] = v % shape[1]
    c[0] = v // shape[1]


cdef inline double grid_metric_length(int metric, double spacing, const Py_ssize_t* step) noexcept nogil:
    """The metric's length of an integer offset, evaluated from the offset itself."""
    cdef double s0 = fabs(<double> step[0]), s1 = fabs(<double> step[1])
    cdef double s2 = fabs(<double> step[2]), top
    if metric == GRID_CITYBLOCK:
        return spacing * (s0 + s1 + s2)
    if metric == GRID_CHEBYSHEV:
        top = s0 if s0 > s1 else s1
        return spacing * (top if top > s2 else s2)
    return spacing * sqrt(s0 * s0 + s1 * s1 + s2 * s2)


cdef inline Py_ssize_t offset_box(
    GridLevel* L, Py_ssize_t q, const Py_ssize_t** lo, const Py_ssize_t** ext,
) noexcept nogil:
    """Where the arcs of offset q stand in the full graph: their tails fill the box of
    bins ``lo + [0, ext)`` (walked in C order, rows by :func:`box_row`), and each head
    is its tail plus the returned flat step."""
    lo[0] = &L.low[3 * q]
    ext[0] = &L.extent[3 * q]
    return grid_ravel(L.shape, &L.offsets[3 * q])


cdef inline Py_ssize_t box_row(
    GridLevel* L, const Py_ssize_t* lo, Py_ssize_t i0, Py_ssize_t i1,
) noexcept nogil:
    """The first tail of row (i0, i1) of an offset's box; the row's tails follow it."""
    return ((lo[0] + i0) * L.shape[1] + lo[1] + i1) * L.shape[2] + lo[2]


cdef void grid_coarsen(GridLevel* L, GridLevel* C, const double* fine, double* coarse) noexcept nogil:
    """Sum 2 x 2 blocks of bins (warm starts are 2-D): rows first, then columns, as
    ``numpy.add.reduceat`` along axis 0 then axis 1 does."""
    cdef Py_ssize_t rows = L.shape[1], cols = L.shape[2], crows = C.shape[1], ccols = C.shape[2]
    cdef Py_ssize_t I, J, i, j
    cdef double left, right
    for I in range(crows):
        i = 2 * I
        for J in range(ccols):
            j = 2 * J
            left = fine[i * cols + j]
            if i + 1 < rows:
                left = left + fine[(i + 1) * cols + j]
            if j + 1 < cols:
                right = fine[i * cols + j + 1]
                if i + 1 < rows:
                    right = right + fine[(i + 1) * cols + j + 1]
                left = left + right
            coarse[I * ccols + J] = left


cdef inline Py_ssize_t core_arc(
    GridLevel* L, const Py_ssize_t* c, const Py_ssize_t* step,
) noexcept nogil:
    """Index in the core arc list of the arc from bin ``c`` along ``step``; -1 when the
    core has no such arc."""
    cdef Py_ssize_t R = L.core_radius, base = 2 * L.core_radius + 1, k, q, position = 0, local
    for k in range(3):
        if not -R <= step[k] <= R:
            return -1
    q = L.core_lookup[(step[0] + R) + base * ((step[1] + R) + base * (step[2] + R))]
    if q < 0:
        return -1
    for k in range(3):
        local = c[k] - L.core_low[3 * q + k]
        if not 0 <= local < L.core_extent[3 * q + k]:
            return -1
        position = position * L.core_extent[3 * q + k] + local
    return L.core_start[q] + position


#: Coarse trees whose mean path length between two nodes exceeds this many times
#: the mean side of the coarse grid are refined with alternating crossings (see
#: :func:`refine_forest`).  Measured on the levels of 512 x 512 city-block solves:
#: photo-like pairs 10.5 (alternating 2.3x faster at that level) and 5.3 to 6.8
#: further down; white noise 2.2 to 3.9 (alike); photographs 2.2 to 2.7, shapes
#: 1.9 to 2.5 and Gaussian fields 2.4 to 4.7 (alternating 1.5 to 2.6x slower).
cdef double DEEP_TREE_RATIO = 6.0


def _set_deep_tree_ratio(double ratio):
    """Test hook: the ratio above which refined forests alternate their crossings
    (0: always; ``inf``: never).  Returns the previous value."""
    global DEEP_TREE_RATIO
    previous = DEEP_TREE_RATIO
    DEEP_TREE_RATIO = ratio
    return previous


cdef bint deep_tree(Tree* T, const Py_ssize_t* shape) noexcept nogil:
    """Whether the mean path length between two nodes of the tree exceeds
    :data:`DEEP_TREE_RATIO` times the mean side of its 2-D grid.

    The sum of all path lengths counts each edge once per pair it separates,
    ``size * (n - size)`` for the subtree below it: no walk, and unlike depths
    it does not depend on where the tree hangs from the root.
    """
    cdef Py_ssize_t n = T.n_nodes, v
    cdef double total = 0.0, size
    if n < 2:
        return False
    for v in range(n):
        if T.parent[v] != T.root:
            size = <double> T.subtree_size[v]
            total += size * (n - size)
    return total / (0.5 * n * (n - 1.0)) > DEEP_TREE_RATIO * 0.5 * (shape[1] + shape[2])


cdef bint refine_forest(GridWork* G, Py_ssize_t level) noexcept nogil:
    """The spanning forest of a level refined from the tree of the next one (see the
    module docstring); parent pointers, the arcs of each edge and a depth-first preorder
    (children in increasing order) into ``G``.  False if an edge has no core arc.

    An axis-aligned coarse edge has two pairs of facing bins to cross between.
    Taking the low pair for every edge lines the fine tree up along the even
    rows and columns; its paths then follow the coarse tree's geodesically,
    which keeps the fine level's pivots few on most inputs.  But when the
    coarse tree's paths are long (long-range transport of smooth fields: see
    :data:`DEEP_TREE_RATIO`), those aligned paths make the pivots' cycles and
    moved subtrees long: there the pair alternates by the child block's
    checkerboard colour (512 x 512 photo-like, city-block: 40% more pivots,
    mean cycle 1915 -> 409 nodes, subtree shifted 13 000 -> 6 400, fine level
    2.3x faster).  Only the pivot path changes: the fine simplex starts from a
    spanning forest either way.
    """
    cdef GridLevel* L = &G.levels[level]
    cdef GridLevel* C = &G.levels[level + 1]
    cdef Tree* coarse = G.trees[level + 1]
    cdef Py_ssize_t n = L.n_bins, nc = C.n_bins, v, k, up, last, side = 0
    cdef bint alternate = deep_tree(coarse, C.shape)
    cdef Py_ssize_t c[3]
    cdef Py_ssize_t block[3]
    cdef Py_ssize_t upper[3]
    cdef Py_ssize_t attach[3]
    cdef Py_ssize_t partner[3]
    cdef Py_ssize_t pc[3]
    cdef Py_ssize_t step[3]
    for v in range(n):
        grid_unravel(L.shape, v, c)
        for k in range(3):
            block[k] = c[k] // 2
        up = coarse.parent[grid_ravel(C.shape, block)]
        if up == nc:
            up = -1
        if up >= 0:
            grid_unravel(C.shape, up, upper)
        # The edge to the parent block crosses between facing bins: along the
        # step, the block's side toward its parent; across it, the low side, or
        # on deep trees the side of the block's checkerboard colour.
        if alternate:
            side = (block[0] + block[1] + block[2]) & 1
        for k in range(3):
            step[k] = upper[k] - block[k] if up >= 0 else 0
            attach[k] = step[k] > 0        # where the block meets its parent block
            partner[k] = step[k] < 0       # where the parent block meets it
            if up >= 0 and step[k] == 0 and side and 2 * block[k] + 1 < L.shape[k]:
                attach[k] = 1
                partner[k] = 1
        last = -1
        for k in range(3):
            if c[k] % 2 != attach[k]:
                last = k
        if last >= 0:
            # Inside the block: one axis step toward the attaching bin.
            for k in range(3):
                pc[k] = c[k]
            pc[last] += attach[last] - c[last] % 2
        elif up >= 0:
            for k in range(3):
                pc[k] = 2 * upper[k] + partner[k]
        else:
            G.parent[v] = -1
            G.up_arc[v] = -1
            G.down_arc[v] = -1
            continue
        G.parent[v] = grid_ravel(L.shape, pc)
        for k in range(3):
            step[k] = pc[k] - c[k]
        G.up_arc[v] = core_arc(L, c, step)
        for k in range(3):
            step[k] = -step[k]
        G.down_arc[v] = core_arc(L, pc, step)
        if G.up_arc[v] < 0 or G.down_arc[v] < 0:
            return False
    return forest_order(n, G.parent, G.child_start, G.child_list, G.stack, G.preorder)


cdef bint grid_grow_found(GridWork* G, Py_ssize_t n) noexcept nogil:
    if n <= G.found_cap:
        return True
    n = n + n // 2 + 64
    if not (grow(<void**> &G.found_tails, <size_t> n * sizeof(Py_ssize_t))
            and grow(<void**> &G.found_heads, <size_t> n * sizeof(Py_ssize_t))
            and grow(<void**> &G.found_costs, <size_t> n * sizeof(double))
            and grow(<void**> &G.found_order, <size_t> n * sizeof(Py_ssize_t))):
        return False
    G.found_cap = n
    return True


cdef Py_ssize_t price_extra_offsets(GridWork* G, Tree* T) noexcept nogil:
    """Append to the arc list the arcs of the non-core offsets, not yet listed, that price
    out under the tree's potentials; returns how many (-1: out of memory).

    The test is the kernel's fast one: reduced cost ``c + pi[tail] - pi[head]``
    below ``-EMD_PRICING_RTOL * (|c| + |pi[tail]| + |pi[head]|)``, after the cheap
    filter ``pi[head] - pi[tail] > c``.  Arcs already listed are the kernel's to
    price, so none is added twice.  New arcs go in sorted by tail (offsets in
    order within a tail), so that the short pricing block still walks the grid
    in order.
    """
    cdef GridLevel* L = &G.levels[0]
    cdef Py_ssize_t k, q, i0, i1, i2, e0, e1, e2, tail, head, delta, local, count = 0, n = L.n_bins
    cdef Py_ssize_t total
    cdef double length, pt, ph
    cdef char* flags
    cdef const Py_ssize_t* lo
    cdef const Py_ssize_t* ext
    for k in range(L.n_extra):
        q = L.extra[k]
        delta = offset_box(L, q, &lo, &ext)
        length = L.lengths[q]
        flags = G.listed[k] if G.listed_solve[k] == G.solve_id else NULL
        local = 0
        for i0 in range(ext[0]):
            for i1 in range(ext[1]):
                tail = box_row(L, lo, i0, i1)
                for i2 in range(ext[2]):
                    head = tail + delta
                    pt = T.pi[tail]
                    ph = T.pi[head]
                    if (ph - pt > length
                            and fast_test(length, pt, ph, length + pt - ph, 0.0)
                            and (flags == NULL or not flags[local])):
                        if flags == NULL:
                            if G.listed[k] == NULL:
                                G.listed[k] = <char*> calloc(L.start[q + 1] - L.start[q], 1)
                                if G.listed[k] == NULL:
                                    return -1
                            else:
                                memset(G.listed[k], 0, L.start[q + 1] - L.start[q])
                            G.listed_solve[k] = G.solve_id
                            flags = G.listed[k]
                        flags[local] = 1
                        if not grid_grow_found(G, count + 1):
                            return -1
                        G.found_tails[count] = tail
                        G.found_heads[count] = head
                        G.found_costs[count] = length
                        count += 1
                    tail += 1
                    local += 1
    if count == 0:
        return 0
    if not grow_arc_list(&G.tails, &G.heads, &G.costs, &G.arc_cap, G.n_arcs + count):
        return -1
    # A stable counting sort by tail.
    for k in range(n + 1):
        G.child_start[k] = 0
    for k in range(count):
        G.child_start[G.found_tails[k] + 1] += 1
    for k in range(n):
        G.child_start[k + 1] += G.child_start[k]
    for k in range(count):
        G.found_order[G.child_start[G.found_tails[k]]] = k
        G.child_start[G.found_tails[k]] += 1
    total = G.n_arcs
    for k in range(count):
        q = G.found_order[k]
        G.tails[total + k] = G.found_tails[q]
        G.heads[total + k] = G.found_heads[q]
        G.costs[total + k] = G.found_costs[q]
    G.n_arcs = total + count
    return count


cdef Py_ssize_t price_root_arcs(GridWork* G, Py_ssize_t level, Tree* T) noexcept nogil:
    """Unbalanced levels: append to the arc list the arcs between a bin and the root (the
    extra node), cost ``lam`` each way, not yet listed, whose reduced cost is negative for
    certain on the tree's fresh double-double potentials (the exact phase's test:
    beyond the rigorous error bound of its evaluation); returns how many (-1: out of
    memory).

    The tree starts with every such arc it needs (the artificial star, or the refined
    forest's roots), all of cost ``lam``; an arc that left it can only come back
    through this pass, so a level ends when the simplex is optimal on its list and
    this pass finds nothing: then every arc of the level, the 2n root arcs included,
    has a reduced cost that is not negative beyond its error bound.
    """
    cdef GridLevel* L = &G.levels[level]
    cdef Py_ssize_t n = L.n_bins, root = T.root, v, count = 0, total, side, tail, head
    cdef double lam = L.lam, pr = T.pi[root], pr_low = T.pi_low[root], rc, err, low, band
    cdef char bit
    # First count, then append: the list grows once.
    for side in range(2):
        bit = 1 << side
        for v in range(n):
            if G.root_listed[v] & bit:
                continue
            tail = v if side == 0 else root
            head = root if side == 0 else v
            rc = lam + T.pi[tail] - T.pi[head]
            band = filter_band(lam + fabs(T.pi[v]) + fabs(pr))
            if rc > band:
                continue
            if rc >= -band:
                rc = exact_reduced_cost(lam, T.pi[tail], T.pi_low[tail], T.pi[head],
                                        T.pi_low[head], &err, &low)
                if not rc < -err:
                    continue
            if not grid_grow_found(G, count + 1):
                return -1
            G.found_tails[count] = tail
            G.found_heads[count] = head
            G.root_listed[v] |= bit
            count += 1
    if count == 0:
        return 0
    if not grow_arc_list(&G.tails, &G.heads, &G.costs, &G.arc_cap, G.n_arcs + count):
        return -1
    total = G.n_arcs
    for v in range(count):
        G.tails[total + v] = G.found_tails[v]
        G.heads[total + v] = G.found_heads[v]
        G.costs[total + v] = lam
    G.n_arcs = total + count
    return count


cdef int grid_solve_level(
    GridWork* G, Py_ssize_t level, Py_ssize_t max_iter, Py_ssize_t* n_iter_all,
) noexcept nogil:
    """Solve the supply in ``G.supplies[level]``; returns the simplex status of this level
    (GRID_NO_MEMORY when memory ran out).  ``max_iter`` < 0 means the default budget
    per level; otherwise it bounds the pivots of this level and the coarser ones together."""
    cdef GridLevel* L = &G.levels[level]
    cdef Tree* T = G.trees[level]
    cdef double* supply = G.supplies[level]
    cdef Py_ssize_t coarse_iter = 0
    cdef int status
    init_star(T, supply)
    if L.warm:
        grid_coarsen(L, &G.levels[level + 1], supply, G.supplies[level + 1])
        # The coarse level's status does not matter: its tree is only a start.
        status = grid_solve_level(G, level + 1, max_iter, &coarse_iter)
        if status == GRID_NO_MEMORY:
            return status
        if not refine_forest(G, level):
            return UNBOUNDED  # cannot happen on the graphs built here
        start_forest(T, supply, G.below, G.preorder, G.parent, G.up_arc, G.down_arc, L.costs)
    return grid_pivot(G, level, max_iter, coarse_iter, n_iter_all)


cdef int grid_solve_from_tree(GridWork* G, Py_ssize_t max_iter, Py_ssize_t* n_iter_all) noexcept nogil:
    """Solve the finest level's supply starting from its tree as it stands (the last
    pair's optimum) instead of coarse to fine: every tree edge along a core offset is
    kept, the others cut, and the forest is started as :func:`start_forest` does
    (each edge oriented by the new flow it carries)."""
    cdef GridLevel* L = &G.levels[0]
    cdef Tree* T = G.trees[0]
    cdef Py_ssize_t n = L.n_bins, v, k, p
    cdef Py_ssize_t c[3]
    cdef Py_ssize_t pc[3]
    cdef Py_ssize_t step[3]
    for v in range(n):
        p = T.parent[v]
        G.parent[v] = -1
        if p == T.root:
            continue
        grid_unravel(L.shape, v, c)
        grid_unravel(L.shape, p, pc)
        for k in range(3):
            step[k] = pc[k] - c[k]
        G.up_arc[v] = core_arc(L, c, step)
        for k in range(3):
            step[k] = -step[k]
        G.down_arc[v] = core_arc(L, pc, step)
        if G.up_arc[v] >= 0 and G.down_arc[v] >= 0:
            G.parent[v] = p
    if not forest_order(n, G.parent, G.child_start, G.child_list, G.stack, G.preorder):
        return UNBOUNDED  # cannot happen: the kept edges form a forest
    start_forest(T, G.supplies[0], G.below, G.preorder, G.parent, G.up_arc, G.down_arc,
                 L.costs)
    # The arcs the last pair added by column generation are kept: nearby pairs
    # tend to need the same long arcs.
    return grid_pivot(G, 0, max_iter, 0, n_iter_all, True)


cdef int grid_pivot(
    GridWork* G, Py_ssize_t level, Py_ssize_t max_iter, Py_ssize_t coarse_iter,
    Py_ssize_t* n_iter_all, bint keep_arcs=False,
) noexcept nogil:
    """Pivot a level from its starting tree to the end: the simplex on the core arcs
    (with ``keep_arcs``, on the arc list the last solve ended with), then, for a
    column-generated level, pricing passes over the other offsets until one finds
    nothing."""
    cdef GridLevel* L = &G.levels[level]
    cdef Tree* T = G.trees[level]
    cdef Py_ssize_t n_iter = 0, cursor = 0, budget, n_arcs, block, found, found_root
    cdef const Py_ssize_t* tails
    cdef const Py_ssize_t* heads
    cdef const double* costs
    cdef int status
    # Column generation (extra offsets, or the root arcs of an unbalanced level) runs on
    # the workspace's growable list; other levels on their core list as it stands.
    cdef bint generated = L.n_extra > 0 or L.unbalanced
    if max_iter < 0:
        budget = L.default_budget
    else:
        budget = max_iter - coarse_iter if max_iter > coarse_iter else 0
    if generated and not keep_arcs:
        if not grow_arc_list(&G.tails, &G.heads, &G.costs, &G.arc_cap, L.n_core_arcs):
            return GRID_NO_MEMORY
        if L.n_core_arcs:
            memcpy(G.tails, L.tails, L.n_core_arcs * sizeof(Py_ssize_t))
            memcpy(G.heads, L.heads, L.n_core_arcs * sizeof(Py_ssize_t))
            memcpy(G.costs, L.costs, L.n_core_arcs * sizeof(double))
        G.n_arcs = L.n_core_arcs
        G.solve_id += 1
        if L.unbalanced:
            memset(G.root_listed, 0, L.n_bins)
    while True:
        if generated:
            tails, heads, costs, n_arcs = G.tails, G.heads, G.costs, G.n_arcs
        else:
            tails, heads, costs, n_arcs = L.tails, L.heads, L.costs, L.n_core_arcs
        block = L.block if L.block > 0 else block_size_for(n_arcs)
        if cursor >= n_arcs:
            cursor = 0
        status = run_simplex(T, tails, heads, costs, n_arcs, block, budget, &n_iter, &cursor, 0,
                             NULL)
        if status != OPTIMAL or not generated:
            break
        found = price_extra_offsets(G, T) if L.n_extra else 0
        if found < 0:
            return GRID_NO_MEMORY
        found_root = price_root_arcs(G, level, T) if L.unbalanced else 0
        if found_root < 0:
            return GRID_NO_MEMORY
        if found == 0 and found_root == 0:
            break
    G.level_iter[level] = n_iter
    n_iter_all[0] = n_iter + coarse_iter
    return status


cdef double grid_worst_reduced_cost(GridLevel* L, Tree* T, double* max_length) noexcept nogil:
    """A rigorous lower bound on the reduced cost ``c + pi[tail] - pi[head]`` (double-double
    potentials) of every arc of the full graph, ``c`` the metric's length of the arc's
    offset evaluated afresh; +inf if every arc is nonnegative for certain.  The largest
    such length goes to ``max_length``."""
    cdef Py_ssize_t q, i0, i1, i2, tail, head, delta
    cdef double length, pt, ph, rc, err, low, worst = INFINITY, u = unit_roundoff()
    cdef const Py_ssize_t* lo
    cdef const Py_ssize_t* ext
    max_length[0] = 0.0
    for q in range(L.n_offsets):
        if L.start[q + 1] == L.start[q]:
            continue
        delta = offset_box(L, q, &lo, &ext)
        length = grid_metric_length(L.metric, L.spacing, &L.offsets[3 * q])
        if length > max_length[0]:
            max_length[0] = length
        for i0 in range(ext[0]):
            for i1 in range(ext[1]):
                tail = box_row(L, lo, i0, i1)
                for i2 in range(ext[2]):
                    head = tail + delta
                    pt = T.pi[tail]
                    ph = T.pi[head]
                    rc = length + pt - ph
                    if rc > filter_band(length + fabs(pt) + fabs(ph)):
                        tail += 1
                        continue
                    rc = exact_reduced_cost(length, pt, T.pi_low[tail], ph, T.pi_low[head],
                                            &err, &low)
                    # The subtraction rounds too: one more unit of the result.
                    rc = rc - err
                    rc = rc - u * fabs(rc)
                    if rc < worst:
                        worst = rc
                    tail += 1
    return worst


cdef bint certify_grid(GridWork* G, double cost, double rtol) noexcept nogil:
    """:func:`certify_tree` for the finest level: every arc of the full graph priced
    exactly with the metric's lengths, the tree arcs' lengths recomputed from the
    coordinates of their ends (the proof is about the metric, not the graph's table)."""
    cdef GridLevel* L = &G.levels[0]
    cdef Tree* T = G.trees[0]
    cdef Py_ssize_t v, k, n = L.n_bins
    cdef Py_ssize_t a[3]
    cdef Py_ssize_t b[3]
    cdef double max_length, worst = grid_worst_reduced_cost(L, T, &max_length)
    for v in range(n):
        if T.parent[v] == T.root:
            G.tree_length[v] = 0.0
            continue
        grid_unravel(L.shape, v, a)
        grid_unravel(L.shape, T.parent[v], b)
        for k in range(3):
            a[k] = a[k] - b[k]
        G.tree_length[v] = grid_metric_length(L.metric, L.spacing, a)
    return certify_tree(T, G.supplies[0], G.tree_length, G.rest, G.rest_err, cost, worst,
                        max_length, <double> (n - 1 if n > 1 else 1), rtol)


cdef class GridPlan:
    """The levels of a grid problem, finest first, as the compiled driver reads them.

    Built by ``emd.structured._grid`` from its graphs; holds the arrays it points into.
    Each level is a tuple ``(shape3, spacing, metric_code, artificial_cost, block, warm,
    default_budget, offsets3, lengths, low3, extent3, start, core_low3, core_extent3,
    core_start, core_lookup, tails, heads, costs, extra)``: ``core_lookup`` maps a step
    in ``[-R, R]^3`` (base ``2R + 1``, first axis fastest) to its core offset or -1.

    ``unbalanced=lam`` (``lam >= 0``) makes every level an unbalanced transport problem:
    the artificial root becomes the extra node, whose arcs to and from every bin cost
    ``lam`` (the levels' artificial cost is replaced by it), so the supply need not
    sum to zero and what the root takes or gives is mass destroyed or created.  Every
    level, coarse ones included, solves its own unbalanced problem at the same
    ``lam`` (a unit destroyed costs ``lam`` at every scale; a coarse block nets the
    supplies of its bins, as for balanced problems), so the refined forest starts
    the fine level with the components the coarse one tied to the extra node.  The
    root arcs are column-generated (:func:`price_root_arcs`).  Such a plan's
    :meth:`GridWorkspace.solve` reports the tree; the cost, flows and certificate
    are the caller's (the compiled check and batches price no root arc and are
    refused).
    """

    cdef GridLevel levels[GRID_MAX_LEVELS]
    cdef readonly Py_ssize_t n_levels
    cdef list _keep
    cdef readonly tuple arcs         # (tails, heads, costs) of the finest level's core
    cdef readonly double unbalanced  # lam, or -1.0 for balanced problems

    def __init__(self, list levels, double unbalanced=-1.0):
        cdef Py_ssize_t k, i
        cdef GridLevel* L
        if not 0 < len(levels) <= GRID_MAX_LEVELS:
            raise ValueError(f"a grid plan has 1 to {GRID_MAX_LEVELS} levels")
        if not (unbalanced >= 0.0 or unbalanced == -1.0) or unbalanced == INFINITY:
            raise ValueError(f"unbalanced must be a finite lam >= 0 (or -1.0: balanced), "
                             f"got {unbalanced!r}")
        self._keep = []
        self.n_levels = len(levels)
        self.unbalanced = unbalanced

        def keep(value, dtype):
            array = np.ascontiguousarray(value, dtype=dtype)
            self._keep.append(array)
            return array

        for k, spec in enumerate(levels):
            (shape3, spacing, metric, art, block, warm, budget, offsets3, lengths, low3, extent3, start,
             core_low3, core_extent3, core_start, core_lookup, tails, heads, costs,
             extra) = spec
            L = &self.levels[k]
            shape_arr = keep(shape3, np.intp)
            if shape_arr.shape != (3,):
                raise ValueError("shape3 must have three entries")
            for i in range(3):
                L.shape[i] = shape_arr[i]
            L.n_bins = L.shape[0] * L.shape[1] * L.shape[2]
            L.spacing = spacing
            L.metric = metric
            L.unbalanced = unbalanced >= 0.0
            L.lam = unbalanced if L.unbalanced else 0.0
            L.artificial_cost = L.lam if L.unbalanced else art
            L.block = block
            L.warm = warm
            L.default_budget = budget
            if warm and (k + 1 >= len(levels) or L.shape[0] != 1):
                raise ValueError("a warm level needs a coarser 2-D level after it")
            arr = keep(offsets3, np.intp)
            L.n_offsets = arr.shape[0]
            L.offsets = <Py_ssize_t*> cnp.PyArray_DATA(arr)
            L.lengths = <double*> cnp.PyArray_DATA(keep(lengths, np.float64))
            L.low = <Py_ssize_t*> cnp.PyArray_DATA(keep(low3, np.intp))
            L.extent = <Py_ssize_t*> cnp.PyArray_DATA(keep(extent3, np.intp))
            L.start = <Py_ssize_t*> cnp.PyArray_DATA(keep(start, np.intp))
            L.core_low = <Py_ssize_t*> cnp.PyArray_DATA(keep(core_low3, np.intp))
            L.core_extent = <Py_ssize_t*> cnp.PyArray_DATA(keep(core_extent3, np.intp))
            L.core_start = <Py_ssize_t*> cnp.PyArray_DATA(keep(core_start, np.intp))
            arr = keep(core_lookup, np.intp)
            L.core_radius = 0
            while (2 * L.core_radius + 1) ** 3 < arr.shape[0]:
                L.core_radius += 1
            if arr.ndim != 1 or arr.shape[0] != (2 * L.core_radius + 1) ** 3:
                raise ValueError("core_lookup must have (2R + 1)**3 entries")
            L.core_lookup = <Py_ssize_t*> cnp.PyArray_DATA(arr)
            t_arr = keep(tails, np.intp)
            h_arr = keep(heads, np.intp)
            c_arr = keep(costs, np.float64)
            check_arcs(t_arr, h_arr, c_arr.shape[0], L.n_bins)
            L.n_core_arcs = t_arr.shape[0]
            L.tails = <Py_ssize_t*> cnp.PyArray_DATA(t_arr)
            L.heads = <Py_ssize_t*> cnp.PyArray_DATA(h_arr)
            L.costs = <double*> cnp.PyArray_DATA(c_arr)
            if k == 0:
                self.arcs = (t_arr, h_arr, c_arr)
            arr = keep(extra, np.intp)
            L.n_extra = arr.shape[0]
            L.extra = <Py_ssize_t*> cnp.PyArray_DATA(arr)
            if L.n_extra and k != 0:
                raise ValueError("only the finest level is column-generated")

    @property
    def n_bins(self):
        return self.levels[0].n_bins


cdef class GridWorkspace:
    """Reusable memory for compiled grid solves on one :class:`GridPlan` (one per thread:
    not thread-safe).  Every method releases the GIL for the solves."""

    cdef GridWork G
    cdef GridPlan plan
    cdef list trees                 # a SpanningTree per level
    cdef list _scratch

    def __cinit__(self, GridPlan plan not None):
        cdef Py_ssize_t k, n = plan.levels[0].n_bins
        cdef SpanningTree tree
        self.plan = plan
        self.G.n_levels = plan.n_levels
        self.G.levels = plan.levels
        self.trees = []
        for k in range(plan.n_levels):
            tree = SpanningTree(np.zeros(plan.levels[k].n_bins), plan.levels[k].artificial_cost)
            self.trees.append(tree)
            self.G.trees[k] = &tree.T
            self.G.supplies[k] = <double*> cnp.PyArray_DATA(tree._supply)
        self._scratch = []
        self.G.parent = <Py_ssize_t*> self._new_scratch(n, np.intp)
        self.G.preorder = <Py_ssize_t*> self._new_scratch(n, np.intp)
        self.G.up_arc = <Py_ssize_t*> self._new_scratch(n, np.intp)
        self.G.down_arc = <Py_ssize_t*> self._new_scratch(n, np.intp)
        self.G.child_start = <Py_ssize_t*> self._new_scratch(n + 3, np.intp)
        self.G.child_list = <Py_ssize_t*> self._new_scratch(n, np.intp)
        self.G.stack = <Py_ssize_t*> self._new_scratch(n, np.intp)
        self.G.below = <double*> self._new_scratch(n, np.float64)
        self.G.rest = <double*> self._new_scratch(n, np.float64)
        self.G.rest_err = <double*> self._new_scratch(n, np.float64)
        self.G.tree_length = <double*> self._new_scratch(n, np.float64)
        # C memory, freed in __dealloc__ (which may run after the arrays are gone).
        self.G.n_listed = plan.levels[0].n_extra
        self.G.listed = <char**> calloc(self.G.n_listed + 1, sizeof(char*))
        self.G.listed_solve = <Py_ssize_t*> calloc(self.G.n_listed + 1, sizeof(Py_ssize_t))
        self.G.root_listed = <char*> calloc(n + 1, 1)
        if self.G.listed == NULL or self.G.listed_solve == NULL or self.G.root_listed == NULL:
            raise MemoryError("out of memory in the grid solver")

    def _balanced_only(self):
        # The compiled check prices no root arc and counts root flow as unrouted.
        if self.plan.unbalanced >= 0.0:
            raise ValueError("an unbalanced plan is solved one pair at a time and certified "
                             "by its caller: batch() and certify() are for balanced plans")

    cdef void* _new_scratch(self, Py_ssize_t size, dtype):
        cdef cnp.ndarray array = np.zeros(size, dtype=dtype)
        self._scratch.append(array)
        return cnp.PyArray_DATA(array)

    def __dealloc__(self):
        cdef Py_ssize_t k
        free(self.G.tails); free(self.G.heads); free(self.G.costs)
        free(self.G.found_tails); free(self.G.found_heads); free(self.G.found_costs)
        free(self.G.found_order)
        if self.G.listed != NULL:
            for k in range(self.G.n_listed):
                free(self.G.listed[k])
        free(self.G.listed)
        free(self.G.listed_solve)
        free(self.G.root_listed)

    def solve(self, const double[::1] supply not None, Py_ssize_t max_iter):
        """Solve one supply (``max_iter`` < 0: the default budget).  Returns ``(status,
        n_iter, tree, tails, heads, costs)``: the simplex status, pivots of every level,
        the finest level's :class:`SpanningTree` (owned by the workspace: read it before
        the next solve) and the arc list it was solved on (for an unbalanced plan, with
        the root arcs it listed: node ``n_bins`` is the root)."""
        cdef Py_ssize_t n = self.plan.levels[0].n_bins, n_iter = 0, m
        cdef GridLevel* L = &self.plan.levels[0]
        cdef SpanningTree tree = self.trees[0]
        cdef int status
        if supply.shape[0] != n:
            raise ValueError(f"supply must have {n} entries, got {supply.shape[0]}")
        tree._supply[:] = supply
        with nogil:
            status = grid_solve_level(&self.G, 0, max_iter, &n_iter)
        if status == GRID_NO_MEMORY:
            raise MemoryError("out of memory in the grid solver")
        tree.n_iter = self.G.level_iter[0]
        tree.cursor = 0
        if L.n_extra or L.unbalanced:
            m = self.G.n_arcs
            tails = np.array(<Py_ssize_t[:m]> self.G.tails) if m else np.zeros(0, np.intp)
            heads = np.array(<Py_ssize_t[:m]> self.G.heads) if m else np.zeros(0, np.intp)
            costs = np.array(<double[:m]> self.G.costs) if m else np.zeros(0)
        else:
            tails, heads, costs = self.plan.arcs
        return status, n_iter, tree, tails, heads, costs

    def certify(self, double rtol):
        """Whether the last finished :meth:`solve` is proven within ``rtol`` relative by
        the compiled check :meth:`batch` makes for each pair (for tests and for timing
        the check alone)."""
        cdef Tree* T = self.G.trees[0]
        cdef double cost
        cdef bint proven
        self._balanced_only()
        with nogil:
            subtree_flows(T, self.G.supplies[0], self.G.rest)
            cost = tree_cost(T, self.G.rest)
            proven = certify_grid(&self.G, cost, rtol)
        return bool(proven)

    def batch(
        self,
        const double[:, ::1] left not None,
        const double[:, ::1] right not None,
        const Py_ssize_t[:, ::1] pairs not None,
        Py_ssize_t max_iter,
        double rtol,
        bint warm_start=False,
    ):
        """Costs of the supplies ``left[i] - right[j]`` over ``pairs``, and a code per
        pair: 1 when :func:`certify_grid` proves it within ``rtol`` here, 0 for the full
        single solve to settle (stopped, or a compiled check that was inconclusive).
        Values are NaN unless the simplex finished; each equals the single solve's.

        ``warm_start=True``: a pair with the same ``left`` index as the pair before it,
        which finished, starts from that pair's optimal tree (see
        :func:`grid_solve_from_tree`) instead of coarse to fine; the pivots differ,
        so its value may differ from the single solve's in the last bits (it is
        certified all the same)."""
        cdef Py_ssize_t n = self.plan.levels[0].n_bins, k, v, n_pairs = pairs.shape[0], n_iter
        cdef double* supply = self.G.supplies[0]
        cdef int status = -1
        cdef bint failed = False
        self._balanced_only()
        if left.shape[1] != n or right.shape[1] != n:
            raise ValueError(f"histograms must have {n} bins")
        check_pairs(pairs, left.shape[0], right.shape[0])
        values = np.full(n_pairs, np.nan)
        codes = np.zeros(n_pairs, dtype=np.int8)
        cdef double[::1] vals = values
        cdef signed char[::1] code = codes
        cdef Tree* T = self.G.trees[0]
        with nogil:
            for k in range(n_pairs):
                for v in range(n):
                    supply[v] = left[pairs[k, 0], v] - right[pairs[k, 1], v]
                if (warm_start and status == OPTIMAL and k > 0
                        and pairs[k, 0] == pairs[k - 1, 0]):
                    status = grid_solve_from_tree(&self.G, max_iter, &n_iter)
                else:
                    status = grid_solve_level(&self.G, 0, max_iter, &n_iter)
                if status == GRID_NO_MEMORY:
                    failed = True
                    break
                if status != OPTIMAL:
                    continue
                subtree_flows(T, supply, self.G.rest)
                vals[k] = tree_cost(T, self.G.rest)
                code[k] = certify_grid(&self.G, vals[k], rtol)
        if failed:
            raise MemoryError("out of memory in the grid solver")
        return values, codes



cdef double line_worst_reduced_cost(Tree* T, Py_ssize_t n, double spacing) noexcept nogil:
    """:func:`grid_worst_reduced_cost` for the arcs ``k -> k + 1`` and ``k + 1 -> k`` of a
    line of bins ``spacing`` apart."""
    cdef Py_ssize_t k, tail, head, side
    cdef double pt, ph, rc, err, low, worst = INFINITY, u = unit_roundoff()
    for k in range(n - 1):
        for side in range(2):
            tail = k + side
            head = k + 1 - side
            pt = T.pi[tail]
            ph = T.pi[head]
            rc = spacing + pt - ph
            if rc > filter_band(spacing + fabs(pt) + fabs(ph)):
                continue
            rc = exact_reduced_cost(spacing, pt, T.pi_low[tail], ph, T.pi_low[head], &err, &low)
            rc = rc - err
            rc = rc - u * fabs(rc)
            if rc < worst:
                worst = rc
    return worst


cdef bint certify_line(
    Tree* T, const double* supply, Py_ssize_t n, double spacing, double cost,
    double* arc_length, double* rest, double* rest_err, double rtol,
) noexcept nogil:
    """Whether the closed form's ``cost`` for ``supply`` on a line is proven within ``rtol``:
    :func:`certify_tree` on the path ``0 - 1 - ... - n-1`` (node 0 on the root) with the
    single solve's potential, which rises by one spacing along every step whose
    crossing mass (the float64 running sum of the supplies) goes right and falls
    along every step where it goes left; each step's arc points the way its mass
    goes."""
    cdef Py_ssize_t v, root = n
    cdef double crossing = 0.0, m = 0.0
    T.n_nodes = n
    T.root = root
    T.parent[0] = root
    T.toward_parent[0] = 1
    T.rev_thread[0] = root
    T.rev_thread[root] = n - 1
    T.pi[0] = 0.0
    T.pi_low[0] = 0.0
    arc_length[0] = 0.0
    for v in range(1, n):
        crossing = crossing + supply[v - 1]
        m += (crossing > 0.0) - (crossing < 0.0)
        T.pi[v] = spacing * m
        T.pi_low[v] = fma(spacing, m, -T.pi[v])   # spacing * m exactly: pi + pi_low
        T.parent[v] = v - 1
        T.rev_thread[v] = v - 1
        # The subtree {v, ..., n-1} sends -crossing to v - 1.
        T.toward_parent[v] = crossing <= 0.0
        arc_length[v] = spacing
    return certify_tree(T, supply, arc_length, rest, rest_err, cost,
                        line_worst_reduced_cost(T, n, spacing), spacing,
                        <double> (n - 1 if n > 1 else 1), rtol)


def line_batch(
    const double[:, ::1] left not None,
    const double[:, ::1] right not None,
    const Py_ssize_t[:, ::1] pairs not None,
    double spacing,
    double rtol,
):
    """Transport costs of the supplies ``left[i] - right[j]`` on a line of bins ``spacing``
    apart over ``pairs``, by the closed form, and a code per pair: 1 when
    :func:`certify_line` proves it within ``rtol``, 0 for the single solve to judge.
    Each value is the single 1-D grid solve's, ``spacing * line_cost(0..n-1, supply)``,
    bit for bit.  Runs without the GIL."""
    cdef Py_ssize_t n = left.shape[1], k, v, n_pairs = pairs.shape[0]
    if right.shape[1] != n:
        raise ValueError(f"histograms must have {n} bins")
    check_pairs(pairs, left.shape[0], right.shape[0])
    values = np.full(n_pairs, np.nan)
    codes = np.zeros(n_pairs, dtype=np.int8)
    if n_pairs == 0 or n == 0:
        return values, codes
    cdef double[::1] vals = values
    cdef signed char[::1] code = codes
    cdef SpanningTree tree = SpanningTree(np.zeros(n), 1.0)  # its arrays, rebuilt per pair
    cdef double[::1] supply = np.empty(n)
    cdef double[::1] steps = np.arange(n, dtype=np.float64)
    cdef double[::1] arc_length = np.empty(n + 1)
    cdef double[::1] rest = np.empty(n + 1)
    cdef double[::1] rest_err = np.empty(n + 1)
    with nogil:
        for k in range(n_pairs):
            for v in range(n):
                supply[v] = left[pairs[k, 0], v] - right[pairs[k, 1], v]
            vals[k] = spacing * line_cost_sorted(&steps[0], &supply[0], n)
            code[k] = certify_line(&tree.T, &supply[0], n, spacing, vals[k], &arc_length[0],
                                   &rest[0], &rest_err[0], rtol)
    return values, codes
