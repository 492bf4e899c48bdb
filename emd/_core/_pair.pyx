# cython: language_level=3
"""Bipartite transport, one pair per compiled call.

The whole column-generation solve of a transport problem -- candidates,
simplex, exact pricing passes, cost and, for batches, a compiled check of
the certificate -- runs here without the GIL on a workspace that is
allocated once and reused.  ``emd._engine.solve_bipartite`` (single solves)
and ``emd.batch`` (pairwise matrices) both call it, so a pair solved in a
batch is the single solve, bit for bit (batches hand larger point pairs,
whose single solve starts from k-d tree candidates, to the single solve).
"""

import numpy as np

cimport numpy as cnp
from cpython.object cimport PyObject
from libc.math cimport INFINITY, NAN, fabs, pow, sqrt
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport free, qsort
from libc.string cimport memcpy, memset

from emd._core._certify cimport balance_pair, certify_tree, free_balance, totals_agree
from emd._core._grow cimport grow, grow_arc_list
from emd._core._metric cimport CITYBLOCK, EUCLIDEAN, MINKOWSKI, SQEUCLIDEAN, distance
from emd._core._pricing cimport INITIAL_K, SCAN_K, cheapest_keys, fill_costs, scan_keys
from emd._core._pricing_kernels cimport max_abs
from emd._core._starts cimport staircase_keys, start_from_plan
from emd._core._tree cimport (
    OPTIMAL, block_size_for, init_star, run_simplex, subtree_flows, tree_cost,
)

cnp.import_array()


# Outcomes of a pair beyond the simplex status codes.
cdef enum:
    PAIR_NO_MEMORY = -1
    PAIR_SCALE = -2

# Limits of the pair solve, set once at import by emd._planner (set_limits), which
# holds each one with the measurement that set it; the core keeps only the mechanics.
# Point pairs with at most DENSE_MAX cells (all rows x all columns) get their costs
# computed once into a matrix, and so do pairs in at least WIDE_DIM dimensions up to
# WIDE_CELLS cells; dense sources with at most ALL_CELLS cells pivot over all their
# arcs; problems with at most SMALL_CELLS cells start from SMALL_K candidates per
# line; monge_direction samples MONGE_SAMPLES minors, of which MONGE_AGREE must agree;
# a dense matrix of at most COMPLETE_CELLS cells whose COMPLETE_AFTER-th pricing pass
# still finds arcs, with a COMPLETE_SHARE-th of its cells listed, takes every pair.
cdef Py_ssize_t DENSE_MAX = 0
cdef Py_ssize_t ALL_CELLS = 0
cdef Py_ssize_t COMPLETE_CELLS = 0
cdef Py_ssize_t COMPLETE_AFTER = 2
cdef Py_ssize_t COMPLETE_SHARE = 0
cdef Py_ssize_t SMALL_CELLS = 0
cdef Py_ssize_t WIDE_DIM = 0
cdef Py_ssize_t WIDE_CELLS = 0
cdef Py_ssize_t MONGE_SAMPLES = 0
cdef double MONGE_AGREE = 0.0


def set_limits(*, matrix_cells=None, all_arcs_cells=None, small_cells=None, wide_dim=None,
               wide_cells=None, monge_samples=None, monge_agree=None, complete_cells=None,
               complete_after=None, complete_share=None):
    """Set the pair solve's limits (emd._planner does, at import; tests, to compare
    paths); a limit left None keeps its value.  Returns the limits in force before, as
    keywords: ``set_limits(**old)`` restores them."""
    global DENSE_MAX, ALL_CELLS, SMALL_CELLS, WIDE_DIM, WIDE_CELLS, MONGE_SAMPLES, MONGE_AGREE
    global COMPLETE_CELLS, COMPLETE_AFTER, COMPLETE_SHARE
    old = {"matrix_cells": DENSE_MAX, "all_arcs_cells": ALL_CELLS, "small_cells": SMALL_CELLS,
           "wide_dim": WIDE_DIM, "wide_cells": WIDE_CELLS, "monge_samples": MONGE_SAMPLES,
           "monge_agree": MONGE_AGREE, "complete_cells": COMPLETE_CELLS,
           "complete_after": COMPLETE_AFTER, "complete_share": COMPLETE_SHARE}
    given = {"matrix_cells": matrix_cells, "all_arcs_cells": all_arcs_cells,
             "small_cells": small_cells, "wide_dim": wide_dim, "wide_cells": wide_cells,
             "monge_samples": monge_samples, "monge_agree": monge_agree,
             "complete_cells": complete_cells, "complete_after": complete_after,
             "complete_share": complete_share}
    new = {name: old[name] if value is None else value for name, value in given.items()}
    DENSE_MAX, ALL_CELLS = new["matrix_cells"], new["all_arcs_cells"]
    SMALL_CELLS = new["small_cells"]
    WIDE_DIM, WIDE_CELLS = new["wide_dim"], new["wide_cells"]
    MONGE_SAMPLES, MONGE_AGREE = new["monge_samples"], new["monge_agree"]
    COMPLETE_CELLS, COMPLETE_AFTER = new["complete_cells"], new["complete_after"]
    COMPLETE_SHARE = new["complete_share"]
    return old


cdef inline bint forms_wide_matrix(Py_ssize_t d, Py_ssize_t cells) noexcept nogil:
    """Whether a point pair of ``cells`` cells (all rows x all columns) in ``d``
    dimensions is priced on its cost matrix whatever DENSE_MAX says (the planner's
    wide-matrix rule)."""
    return d >= WIDE_DIM and cells <= WIDE_CELLS


cdef inline bint forms_matrix(Py_ssize_t d, Py_ssize_t cells) noexcept nogil:
    """Whether a point pair of ``cells`` cells in ``d`` dimensions is priced on its cost
    matrix, computed once by :func:`fill_costs` (the kernel the on-the-fly passes
    use, so the matrix holds the same bits)."""
    return cells <= DENSE_MAX or forms_wide_matrix(d, cells)


def forms_wide_point_matrix(Py_ssize_t d, Py_ssize_t cells):
    """Whether the pair solve forms the cost matrix of a point pair of ``cells`` cells in
    ``d`` dimensions by the rule for many dimensions (the planner asks, for its choice
    of candidates: such a pair takes its first candidates from its matrix, not from
    k-d trees)."""
    return forms_wide_matrix(d, cells)


# Full pricing passes made by single solves (PairWorkspace.solve) in this process: a
# debug counter the benchmarks read beside the pivots (see :func:`pricing_passes`).
cdef Py_ssize_t passes_total = 0


def pricing_passes():
    """How many full pricing passes the single solves of this process have made so far
    (coarse solves of a multiscale start included): read it before and after a solve.
    A debug counter for the benchmarks; it never changes an answer."""
    return passes_total


cdef struct PairOutcome:
    int status                  # simplex status, PAIR_NO_MEMORY or PAIR_SCALE
    bint clean                  # ended on a full pricing pass that found nothing
    double worst                # that pass's rigorous lower bound on every reduced cost
    double max_abs              # largest |cost| used for the artificial arcs
    double cost
    Py_ssize_t n_iter
    Py_ssize_t n_scans          # full pricing passes
    Py_ssize_t n_rows           # rows and columns with mass
    Py_ssize_t n_cols


cdef inline double pair_cost(PairSource* S, Py_ssize_t i, Py_ssize_t j) noexcept nogil:
    """The cost between row ``i`` and column ``j`` (original indices)."""
    if S.kind == SOURCE_DENSE:
        return S.matrix[i * S.stride + j]
    return distance(&S.x[i * S.d], &S.y[j * S.d], S.d, S.metric, S.p)


cdef inline uint64_t xorshift(uint64_t* state) noexcept nogil:
    """The next state of Marsaglia's xorshift64 generator."""
    state[0] ^= state[0] << 13
    state[0] ^= state[0] >> 7
    state[0] ^= state[0] << 17
    return state[0]


cdef int monge_direction(Workspace* W, PairSource* S, Py_ssize_t n, Py_ssize_t m) noexcept nogil:
    """+1 when the dense costs look Monge in index order (``C[i, j] + C[k, l] <
    C[i, l] + C[k, j]`` for ``i < k``, ``j < l`` on at least ``MONGE_AGREE`` of
    ``MONGE_SAMPLES`` minors drawn at random, with a fixed seed), -1 when they look
    anti-Monge (the reverse inequality), 0 otherwise.

    Only the start depends on it (the staircase, north-west or north-east corner,
    optimal for exactly Monge costs); the answer is proven as always.  Measured
    (n = 1000, uniform weights, 2026-12-04): C = i * j took about 741 600 pivots
    from the candidate start; the north-east staircase is its optimum.
    """
    cdef uint64_t state = 0x9E3779B97F4A7C15
    cdef Py_ssize_t k, r1, r2, c1, c2, t, monge = 0, anti = 0
    cdef double delta
    if n < 2 or m < 2:
        return 0
    for k in range(MONGE_SAMPLES):
        # Four indices per minor, two distinct rows and two distinct columns.
        r1 = <Py_ssize_t> (xorshift(&state) % <uint64_t> n)
        r2 = <Py_ssize_t> (xorshift(&state) % <uint64_t> (n - 1))
        r2 = r2 + 1 if r2 >= r1 else r2
        c1 = <Py_ssize_t> (xorshift(&state) % <uint64_t> m)
        c2 = <Py_ssize_t> (xorshift(&state) % <uint64_t> (m - 1))
        c2 = c2 + 1 if c2 >= c1 else c2
        if r1 > r2:
            t = r1; r1 = r2; r2 = t
        if c1 > c2:
            t = c1; c1 = c2; c2 = t
        delta = ((pair_cost(S, W.row_map[r1], W.col_map[c1])
                  + pair_cost(S, W.row_map[r2], W.col_map[c2]))
                 - (pair_cost(S, W.row_map[r1], W.col_map[c2])
                    + pair_cost(S, W.row_map[r2], W.col_map[c1])))
        monge += delta < 0
        anti += delta > 0
    if monge >= MONGE_AGREE * MONGE_SAMPLES:
        return 1
    if anti >= MONGE_AGREE * MONGE_SAMPLES:
        return -1
    return 0


cdef bint ensure_nodes(Workspace* W, Py_ssize_t n) noexcept nogil:
    """Room for ``n`` nodes (root included) in every per-node array."""
    cdef size_t sz = <size_t> n, ok = 1
    if n <= W.node_cap:
        return True
    n = n + n // 2
    sz = <size_t> n
    # Every per-node array, with its bytes per node (stem holds both sides of a
    # pivot's cycle, seg_start and seg_end two segments a node, counts one entry
    # more than the nodes).
    cdef void** arrays[22]
    cdef size_t width[22]
    cdef int k
    arrays[:] = [
        <void**> &W.T.parent, <void**> &W.T.thread, <void**> &W.T.rev_thread,
        <void**> &W.T.subtree_size, <void**> &W.T.subtree_last, <void**> &W.T.toward_parent,
        <void**> &W.T.flow, <void**> &W.T.arc_cost, <void**> &W.T.arc_index, <void**> &W.T.pi,
        <void**> &W.T.pi_low, <void**> &W.T.scratch_low, <void**> &W.T.stem,
        <void**> &W.T.seg_start, <void**> &W.T.seg_end, <void**> &W.supply, <void**> &W.flows,
        <void**> &W.sum_err, <void**> &W.row_map, <void**> &W.col_map, <void**> &W.col_cut,
        <void**> &W.counts]
    width[:] = [
        sizeof(Py_ssize_t), sizeof(Py_ssize_t), sizeof(Py_ssize_t), sizeof(Py_ssize_t),
        sizeof(Py_ssize_t), sizeof(char), sizeof(double), sizeof(double), sizeof(Py_ssize_t),
        sizeof(double), sizeof(double), sizeof(double), 2 * sizeof(Py_ssize_t),
        2 * sizeof(Py_ssize_t), 2 * sizeof(Py_ssize_t), sizeof(double), sizeof(double),
        sizeof(double), sizeof(Py_ssize_t), sizeof(Py_ssize_t), sizeof(double),
        sizeof(Py_ssize_t)]
    for k in range(22):
        ok = grow(arrays[k], (sz + (k == 21)) * width[k])
        if not ok:
            break
    if ok:
        W.node_cap = n
    return ok


cdef bint ensure_two(
    Py_ssize_t n, Py_ssize_t* cap, void** first, size_t first_size, void** second,
    size_t second_size,
) noexcept nogil:
    """Room for ``n`` entries in two arrays of one capacity ``cap`` (with half again
    to spare when they grow)."""
    if n <= cap[0]:
        return True
    n = n + n // 2
    if not (grow(first, <size_t> n * first_size) and grow(second, <size_t> n * second_size)):
        return False
    cap[0] = n
    return True


cdef inline bint ensure_keys(Workspace* W, Py_ssize_t n) noexcept nogil:
    return ensure_two(n, &W.key_cap, <void**> &W.keys, sizeof(int64_t),
                      <void**> &W.keys_tmp, sizeof(int64_t))


cdef inline bint ensure_lines(Workspace* W, Py_ssize_t n) noexcept nogil:
    return ensure_two(n, &W.line_cap, <void**> &W.line_val, sizeof(double),
                      <void**> &W.line_arg, sizeof(Py_ssize_t))


cdef void free_workspace(Workspace* W) noexcept nogil:
    free(W.T.parent); free(W.T.thread); free(W.T.rev_thread); free(W.T.subtree_size)
    free(W.T.subtree_last); free(W.T.toward_parent); free(W.T.flow); free(W.T.arc_cost)
    free(W.T.arc_index); free(W.T.pi); free(W.T.pi_low); free(W.T.scratch_low)
    free(W.T.stem); free(W.T.seg_start); free(W.T.seg_end)
    free(W.supply); free(W.flows); free(W.sum_err); free(W.row_map); free(W.col_map)
    free(W.tails); free(W.heads); free(W.costs); free(W.keys); free(W.keys_tmp)
    free(W.counts); free_balance(&W.balance)
    free(W.line_val); free(W.line_arg); free(W.col_cut)
    free(W.cost_buf); free(W.marks)


cdef int _compare_keys(const void* p, const void* q) noexcept nogil:
    cdef int64_t a = (<const int64_t*> p)[0], b = (<const int64_t*> q)[0]
    return (a > b) - (a < b)


cdef Py_ssize_t sort_unique(Workspace* W, Py_ssize_t count, Py_ssize_t m) noexcept nogil:
    """Sort ``W.keys`` (row * m + col, rows in [0, n)) and drop repeats in place; returns
    how many are left (-1: out of memory).  A counting sort by row, then each row's
    few columns by insertion (qsort for a long row); or, when the keys cover a
    sixteenth of the cells or more, a byte per cell."""
    cdef int64_t* keys = W.keys
    cdef int64_t* tmp = W.keys_tmp
    cdef Py_ssize_t* counts = W.counts
    cdef Py_ssize_t k, r, start, stop, q, out = 0, n = W.T.n_nodes - m
    cdef int64_t key
    cdef Py_ssize_t cells = n * m, words = (n * m + 7) // 8
    cdef unsigned char* mark
    if count == 0:
        return 0
    if count * 16 >= cells:
        # Keys cover a good part of the cells: mark them and read the marks
        # back in order, eight cells per word, skipping empty words.
        if words > W.mark_cap:
            if not grow(<void**> &W.marks, <size_t> words * sizeof(uint64_t)):
                return -1
            W.mark_cap = words
        memset(W.marks, 0, <size_t> words * sizeof(uint64_t))
        mark = <unsigned char*> W.marks
        for k in range(count):
            mark[keys[k]] = 1
        for q in range(words):
            if W.marks[q] == 0:
                continue
            for r in range(8 * q, 8 * q + 8):
                if mark[r]:
                    keys[out] = r
                    out += 1
        return out
    for r in range(n + 1):
        counts[r] = 0
    for k in range(count):
        counts[keys[k] // m + 1] += 1
    for r in range(n):
        counts[r + 1] += counts[r]
    for k in range(count):
        r = <Py_ssize_t> (keys[k] // m)
        tmp[counts[r]] = keys[k]
        counts[r] += 1
    # counts[r] is now the end of row r's segment.
    start = 0
    for r in range(n):
        stop = counts[r]
        if stop - start > 32:
            qsort(&tmp[start], <size_t> (stop - start), sizeof(int64_t), _compare_keys)
        else:
            for k in range(start + 1, stop):
                key = tmp[k]
                q = k
                while q > start and tmp[q - 1] > key:
                    tmp[q] = tmp[q - 1]
                    q -= 1
                tmp[q] = key
        for k in range(start, stop):
            if out == 0 or tmp[k] != keys[out - 1]:
                keys[out] = tmp[k]
                out += 1
        start = stop
    return out


cdef bint append_arcs(
    Workspace* W, PairSource* S, Py_ssize_t n, Py_ssize_t m, Py_ssize_t count,
) noexcept nogil:
    """Append the arcs of the first ``count`` keys (row * m + col, sorted) to the arc list."""
    cdef Py_ssize_t k, e, r, c
    if not grow_arc_list(&W.tails, &W.heads, &W.costs, &W.arc_cap, W.n_arcs + count):
        return False
    for k in range(count):
        r = <Py_ssize_t> (W.keys[k] // m)
        c = <Py_ssize_t> (W.keys[k] % m)
        e = W.n_arcs + k
        W.tails[e] = r
        W.heads[e] = c + n
        W.costs[e] = pair_cost(S, W.row_map[r], W.col_map[c])
    W.n_arcs += count
    W.listed_rows = 0  # the ends written here may overwrite a complete list
    if count > 0:
        W.complete_width = 0  # the list is no longer every pair in row-major order
    return True


# Arc lists at least this long (the candidates of point clouds from about n = 8000)
# are priced in blocks of sqrt(arcs) / LONG_LIST_DIV: the arcs are sorted by row, so a
# short block keeps successive pivots near each other and their subtree moves small.
# Measured on 2-D clouds (2026-11-30): n = 20 000 20.8 -> 15.5 s (more pivots,
# cheaper ones); at n = 4000 the same factor gave -10 %, at n = 1000 nothing.  A
# caller may ask for shorter blocks (``block_div`` of PairWorkspace.solve: the
# multiscale path of emd._planner.MULTISCALE_BLOCK_DIV).
cdef Py_ssize_t LONG_ARC_LIST = 1 << 17
cdef Py_ssize_t LONG_LIST_DIV = 4


cdef inline Py_ssize_t search_block(
    Py_ssize_t n_arcs, Py_ssize_t width, Py_ssize_t block_div,
) noexcept nogil:
    """The block search's block over ``n_arcs`` arcs (``width`` > 0: a complete list of
    rows that long; ``block_div`` as in :meth:`PairWorkspace.solve`)."""
    cdef Py_ssize_t block = block_size_for(n_arcs)
    if width >= 2 * block:
        # A block shorter than a row offers one node's arcs only: rows of at least two
        # blocks (m >= 4 n) are searched a whole row at a time.  Measured (2026-12-05,
        # CPU, random / integer / low-rank / distance costs, both kinds of weights):
        # 60 x 3000 low-rank 52 -> 42 ms (32 056 -> 24 314 pivots), 10 x 5000 all four
        # about halved, 100 x 500 and 150 x 600 -10 to -35 %; at m = 3 n (200 x 600)
        # whole rows cost up to +40 %, hence the factor 2.
        block = width
    if n_arcs >= LONG_ARC_LIST:
        block_div = block_div if block_div > 0 else LONG_LIST_DIV
        block = block // block_div if block // block_div > 10 else 10
    return block


def search_block_size(Py_ssize_t n_arcs, Py_ssize_t width=0):
    """The block a pair solve searches over ``n_arcs`` arcs, a complete list of rows of
    ``width`` arcs when ``width > 0`` (for tests that replay its search)."""
    return search_block(n_arcs, width, 0)


cdef inline int simplex_on_arcs(
    Workspace* W, Py_ssize_t max_iter, Py_ssize_t* n_iter, Py_ssize_t* cursor,
    double* final_worst=NULL,
) noexcept nogil:
    """What :meth:`SpanningTree.solve` does with the arc list as it stands (``final_worst``
    as in :func:`run_simplex`), with the block of :func:`search_block`."""
    if cursor[0] >= W.n_arcs:
        cursor[0] = 0
    return run_simplex(
        &W.T, W.tails, W.heads, W.costs, W.n_arcs,
        search_block(W.n_arcs, W.complete_width, W.block_div), max_iter, n_iter, cursor,
        W.complete_width, final_worst,
    )


cdef void list_every_pair(
    Workspace* W, PairSource* S, Py_ssize_t n, Py_ssize_t m, double* biggest,
) noexcept nogil:
    """The arc list of every (row, column) pair of a dense source, row-major, with the
    largest |cost| in ``biggest``.

    The ends of the arcs depend only on ``n`` and ``m``: when the list already holds
    them (the last pair of a batch of sets of one size), only the costs are written.
    Measured (2026-12-04, compiled batch of 2-D point pairs, CPU time per pair,
    alternating processes): 150 points 557 -> 532 us (-4.5 %); 30 points within
    the noise (+-3 %).
    """
    cdef Py_ssize_t i, k
    cdef Py_ssize_t* tails = W.tails
    cdef Py_ssize_t* heads = W.heads
    cdef double* costs = W.costs
    cdef const Py_ssize_t* col_map = W.col_map
    cdef const double* row_ptr
    cdef double top = biggest[0]
    cdef bint listed = W.listed_rows == n and W.listed_cols == m
    for i in range(n):
        row_ptr = &S.matrix[W.row_map[i] * S.stride]
        if W.all_cols:
            memcpy(costs, row_ptr, m * sizeof(double))
        else:
            for k in range(m):
                costs[k] = row_ptr[col_map[k]]
        if not listed:
            for k in range(m):
                tails[k] = i
                heads[k] = n + k
        top = max_abs(costs, m, top)
        tails += m
        heads += m
        costs += m
    biggest[0] = top
    W.n_arcs = n * m
    W.complete_width = m
    W.listed_rows = n
    W.listed_cols = m


# The column-generation loop, once: single solves, batches and the few-sources path
# (emd._few, through :func:`column_generation`) all run it.  Each caller gives how a
# full pricing pass adds arcs (``PriceFn``: the number added, 0 when the pass found
# nothing, -1 out of memory; ``worst`` gets the pass's rigorous lower bound on every
# reduced cost) and how the simplex runs on the arcs as they stand (``SimplexFn``).
ctypedef Py_ssize_t (*PriceFn)(void* ctx, double* worst) noexcept nogil
ctypedef int (*SimplexFn)(void* ctx, Py_ssize_t* n_iter) noexcept nogil


cdef int generate_columns(
    void* ctx, PriceFn price, SimplexFn simplex, int status, Py_ssize_t* n_iter,
    Py_ssize_t* n_scans, bint* clean, double* worst,
) noexcept nogil:
    """From a tree optimal on its arcs (``status``), price every pair and pivot over
    what the pass adds until a pass finds nothing (``clean``, with that pass's bound in
    ``worst``); returns the simplex status, or PAIR_NO_MEMORY."""
    cdef Py_ssize_t count, pivots_before
    cdef double bound = INFINITY
    while status == OPTIMAL:
        count = price(ctx, &bound)
        n_scans[0] += 1
        if count < 0:
            return PAIR_NO_MEMORY
        if count == 0:
            # A pass that finds nothing bounds every reduced cost from below.
            clean[0] = True
            worst[0] = bound
            break
        pivots_before = n_iter[0]
        status = simplex(ctx, n_iter)
        if status == OPTIMAL and n_iter[0] == pivots_before:
            # The scan and the simplex use the same exact test, so this should
            # not happen; if it does, the certificate (priced afresh) decides.
            break
    return status


cdef struct PairLoop:
    Workspace* W
    PairSource* S
    Py_ssize_t n
    Py_ssize_t m
    Py_ssize_t max_iter
    Py_ssize_t* cursor
    bint may_complete           # a dense matrix small enough for every pair as an arc
    Py_ssize_t passes           # full pricing passes made so far
    double final_worst          # the complete list's last exact pass (see simplex_pair)


cdef void complete_arc_list(Workspace* W, PairSource* S, Py_ssize_t n, Py_ssize_t m) noexcept nogil:
    """Replace the candidate arcs by every pair (row-major, :func:`list_every_pair`) under
    the tree as it stands: a tree arc joins a row and a column, so its place in the
    complete list follows from the two nodes.  The caller has grown the arc list."""
    cdef Py_ssize_t v, up, row, col
    cdef double ignored = 0.0
    list_every_pair(W, S, n, m, &ignored)
    for v in range(n + m):
        if W.T.arc_index[v] < 0:
            continue
        up = W.T.parent[v]
        row, col = (v, up - n) if v < n else (up, v - n)
        W.T.arc_index[v] = row * m + col


cdef Py_ssize_t price_pair(void* ctx, double* worst) noexcept nogil:
    """The pair solve's pricing pass: the SCAN_K most violated arcs of every row and
    column (:func:`scan_keys`), appended in key order.  From the COMPLETE_AFTER-th pass
    on, a small dense matrix instead pivots over every pair from the tree it has."""
    cdef PairLoop* L = <PairLoop*> ctx
    cdef Py_ssize_t count
    if L.W.complete_width > 0:
        # The simplex's last exact pass priced every pair on the final potentials.
        worst[0] = L.final_worst
        return 0
    count = sort_unique(L.W, scan_keys(L.W, L.S, L.n, L.m, worst), L.m)
    L.passes += 1
    if (count > 0 and L.may_complete and L.passes >= COMPLETE_AFTER
            and L.W.n_arcs * COMPLETE_SHARE >= L.n * L.m):
        if not grow_arc_list(&L.W.tails, &L.W.heads, &L.W.costs, &L.W.arc_cap, L.n * L.m):
            return -1
        complete_arc_list(L.W, L.S, L.n, L.m)
        L.cursor[0] = 0
        return count
    if count > 0 and not append_arcs(L.W, L.S, L.n, L.m, count):
        return -1
    return count


cdef int simplex_pair(void* ctx, Py_ssize_t* n_iter) noexcept nogil:
    cdef PairLoop* L = <PairLoop*> ctx
    if L.W.complete_width > 0:
        return simplex_on_arcs(L.W, L.max_iter, n_iter, L.cursor, &L.final_worst)
    return simplex_on_arcs(L.W, L.max_iter, n_iter, L.cursor)


cdef struct PythonLoop:
    PyObject* price
    PyObject* simplex
    PyObject* errors            # a list: an exception raised by a callback


cdef Py_ssize_t price_python(void* ctx, double* worst) noexcept nogil:
    cdef PythonLoop* L = <PythonLoop*> ctx
    cdef Py_ssize_t added
    with gil:
        try:
            added, bound = (<object> L.price)()
            worst[0] = bound
            return added
        except BaseException as error:
            (<list> L.errors).append(error)
            return -1


cdef int simplex_python(void* ctx, Py_ssize_t* n_iter) noexcept nogil:
    cdef PythonLoop* L = <PythonLoop*> ctx
    cdef int status
    with gil:
        try:
            status, n_iter[0] = (<object> L.simplex)()
            return status
        except BaseException as error:
            (<list> L.errors).append(error)
            return PAIR_NO_MEMORY


def column_generation(price, simplex, int status, Py_ssize_t n_iter):
    """The pair solve's column-generation loop for a caller that starts, prices and
    pivots in Python (emd._few: the few-sources start).

    ``price()`` makes a full pricing pass on the tree's potentials, appends the arcs
    it finds to the caller's arc list and returns ``(added, worst)``: how many (0
    when it found nothing) and its rigorous lower bound on every reduced cost;
    ``simplex()`` runs the simplex on the arcs as they stand and returns ``(status,
    n_iter)``, pivots counted from the start.  ``status`` and ``n_iter`` are the
    first simplex run's.  Returns ``(status, clean, worst, n_scans)``; an exception
    raised by a callback ends the loop and is raised here.
    """
    cdef PythonLoop L
    cdef list errors = []
    cdef Py_ssize_t n_scans = 0
    cdef bint clean = False
    cdef double worst = INFINITY
    L.price = <PyObject*> price
    L.simplex = <PyObject*> simplex
    L.errors = <PyObject*> errors
    status = generate_columns(&L, price_python, simplex_python, status, &n_iter, &n_scans,
                              &clean, &worst)
    if errors:
        raise errors[0]
    return status, bool(clean), worst, n_scans


cdef Py_ssize_t tight_keys(
    Workspace* W, PairSource* S, const int64_t* keys, Py_ssize_t count, Py_ssize_t n,
    Py_ssize_t m,
) noexcept nogil:
    """How many of the arcs ``keys`` of a dense source have ``C_ij - u_i - v_j <= 0`` for
    the row minima ``u`` and column minima ``v`` that :func:`cheapest_keys` ranked by
    (``W.supply[:n]`` and ``W.supply[n:]``)."""
    cdef Py_ssize_t k, r, c, tight = 0
    for k in range(count):
        r = <Py_ssize_t> (keys[k] // m)
        c = <Py_ssize_t> (keys[k] % m)
        if (pair_cost(S, W.row_map[r], W.col_map[c]) - W.supply[r]) - W.supply[n + c] <= 0.0:
            tight += 1
    return tight


cdef void solve_pair(
    Workspace* W, PairSource* S,
    const double* a, Py_ssize_t na, const double* b, Py_ssize_t nb,
    const int64_t* given, Py_ssize_t n_given, bint builtin, double point_bound,
    double scale_mass, Py_ssize_t max_iter, PairOutcome* out, Py_ssize_t n_start=0,
) noexcept nogil:
    """Exact transport between weights ``a`` (rows) and ``b`` (columns).

    Bins of zero mass are left out.  The first phase pivots over candidate
    arcs: the INITIAL_K cheapest of every row and column (``builtin``) and the
    ``given`` keys (local ``row * m + col``); then full pricing passes add the
    SCAN_K most violated arcs of every row and column until a pass finds
    nothing.  ``point_bound`` bounds every point cost (used for the
    artificial arcs of point sources).
    """
    cdef Py_ssize_t n = 0, m = 0, i, k, count, n_iter = 0, cursor = 0
    cdef Py_ssize_t tied_rows = 0, n_stair
    cdef PairLoop loop
    cdef bint staircase = False
    cdef bint reversed_cols = False  # the staircase runs over the columns last to first
    cdef int direction
    cdef const double* row_ptr
    cdef double biggest = 0.0, art, worst = INFINITY
    cdef int status
    cdef PairSource D
    cdef bint fill
    cdef Py_ssize_t n_plan = 0   # given keys that are a start plan's support
    out.clean = False
    out.worst = INFINITY
    out.n_iter = 0
    out.n_scans = 0
    out.cost = NAN
    if not ensure_nodes(W, na + nb + 1):
        out.status = PAIR_NO_MEMORY
        return
    for i in range(na):
        if a[i] > 0:
            W.row_map[n] = i
            n += 1
    for i in range(nb):
        if b[i] > 0:
            W.col_map[m] = i
            m += 1
    out.n_rows = n
    out.n_cols = m
    W.all_cols = m == nb
    if not (ensure_keys(W, (INITIAL_K + SCAN_K + 1) * (n + m) + n_given + 1)
            and ensure_lines(W, (INITIAL_K + SCAN_K) * (n + m) + 2 * INITIAL_K)):
        out.status = PAIR_NO_MEMORY
        return
    # A small point pair gets its costs computed once, by the candidate search,
    # into a matrix that the pricing passes then read as a dense source.
    # The buffer is indexed by original positions, so it is sized by all points.
    fill = builtin and S.kind == SOURCE_POINTS and forms_matrix(S.d, na * nb)
    if fill and W.cost_cap < na * nb:
        if not grow(<void**> &W.cost_buf, <size_t> (na * nb) * sizeof(double)):
            out.status = PAIR_NO_MEMORY
            return
        W.cost_cap = na * nb
    if fill:
        fill_costs(W, S, n, m, nb)
        D.kind = SOURCE_DENSE
        D.matrix = W.cost_buf
        D.stride = nb
        S = &D
    W.T.n_nodes = n + m  # read by sort_unique
    W.n_arcs = 0
    W.complete_width = 0
    if builtin and S.kind == SOURCE_DENSE and n * m <= ALL_CELLS:
        # Small problems pivot over every arc from the start (candidates and
        # their pricing passes cost more than they save there); the given keys
        # are among them, and one pricing pass proves the end.
        if not grow_arc_list(&W.tails, &W.heads, &W.costs, &W.arc_cap, n * m):
            out.status = PAIR_NO_MEMORY
            return
        list_every_pair(W, S, n, m, &biggest)
    else:
        count = cheapest_keys(W, S, n, m, &biggest, not fill, &tied_rows, SMALL_CELLS) if builtin else 0
        if S.kind == SOURCE_DENSE and not fill and 2 * tied_rows > n:
            n_stair = staircase_keys(W, a, b, n, m, &W.keys[count])
            # Ties among each row's cheapest arcs say that many plans may be optimal
            # (zero, constant, i + j, row-constant costs), and there the staircase is
            # one of them.  Random small integers tie too, but their staircase crosses
            # arbitrary costs: the tree starts from it only when most of its arcs are
            # tight under the row and column minima cheapest_keys left in W.supply.
            # Measured (2026-12-04, CPU time, median of 5, integer costs 0..9, random
            # weights): 8000 x 100 166 -> 60 ms (POT 66 ms), 2000 x 2000 89 -> 55 ms,
            # 1000 x 1000 27.5 -> 16.9 ms; the four classes above keep their 0 pivots.
            staircase = 2 * tight_keys(W, S, &W.keys[count], n_stair, n, m) >= n_stair
            count += n_stair
        elif S.kind == SOURCE_DENSE and not fill:
            # Monge-like costs start from their staircase too (see monge_direction).
            direction = monge_direction(W, S, n, m)
            if direction != 0:
                count += staircase_keys(W, a, b, n, m, &W.keys[count], direction < 0)
                staircase = True
                reversed_cols = direction < 0
        for i in range(n_given):
            W.keys[count + i] = given[i]
        count = sort_unique(W, count + n_given, m)
        if count < 0 or not append_arcs(W, S, n, m, count):
            out.status = PAIR_NO_MEMORY
            return
        if n_start <= n_given:
            n_plan = n_start
    out.max_abs = biggest if S.kind == SOURCE_DENSE else point_bound
    art = out.max_abs if out.max_abs > 0 else 1.0
    # Potentials and sums must stay finite (emd._validation.check_scale).
    if not fabs(art * (n + m + 2) * 16.0 * (scale_mass if scale_mass > 1.0 else 1.0)) < INFINITY:
        out.status = PAIR_SCALE
        return
    W.T.n_nodes = n + m
    W.T.root = n + m
    W.T.artificial_cost = art
    for i in range(n):
        W.supply[i] = a[W.row_map[i]]
    for i in range(m):
        W.supply[n + i] = -b[W.col_map[i]]
    init_star(&W.T, W.supply)
    if n_plan > 0 and not start_from_plan(W, given, n_plan, n, m):
        out.status = PAIR_NO_MEMORY
        return
    if staircase and n_plan == 0:
        # The tree starts on the staircase itself (the keys are free again).
        count = staircase_keys(W, a, b, n, m, W.keys, reversed_cols)
        if not start_from_plan(W, W.keys, count, n, m):
            out.status = PAIR_NO_MEMORY
            return
    status = simplex_on_arcs(W, max_iter, &n_iter, &cursor, &worst)
    if status == OPTIMAL and W.complete_width > 0:
        # Every pair is an arc, so the simplex's last exact pass, on the final
        # potentials, was a full pricing pass that found nothing, and its bound is
        # the one a separate pass would give.
        out.n_scans = 1
        out.clean = True
        out.worst = worst
    if status == OPTIMAL and not out.clean:
        # The tree is optimal on the candidates; price every pair exactly.
        loop.W = W
        loop.S = S
        loop.n = n
        loop.m = m
        loop.max_iter = max_iter
        loop.cursor = &cursor
        loop.may_complete = S.kind == SOURCE_DENSE and not fill and n * m <= COMPLETE_CELLS
        loop.passes = 0
        loop.final_worst = INFINITY
        status = generate_columns(&loop, price_pair, simplex_pair, status, &n_iter,
                                  &out.n_scans, &out.clean, &out.worst)
        if status == PAIR_NO_MEMORY:
            out.status = PAIR_NO_MEMORY
            return
    out.status = status
    out.n_iter = n_iter
    subtree_flows(&W.T, W.supply, W.flows)
    out.cost = tree_cost(&W.T, W.flows)


cdef inline double axis_span(
    const double* x, Py_ssize_t nx, const double* y, Py_ssize_t ny, Py_ssize_t d, Py_ssize_t k,
) noexcept nogil:
    """The width of both sets' bounding box along axis ``k``."""
    cdef Py_ssize_t i
    cdef double lo = INFINITY, hi = -INFINITY
    for i in range(nx):
        lo = x[i * d + k] if x[i * d + k] < lo else lo
        hi = x[i * d + k] if x[i * d + k] > hi else hi
    for i in range(ny):
        lo = y[i * d + k] if y[i * d + k] < lo else lo
        hi = y[i * d + k] if y[i * d + k] > hi else hi
    return hi - lo


cdef double points_bound(
    const double* x, Py_ssize_t nx, const double* y, Py_ssize_t ny, Py_ssize_t d,
    int metric, double p,
) noexcept nogil:
    """An upper bound on every d(x_i, y_j) from the bounding box of both sets."""
    cdef Py_ssize_t k
    cdef double span, top = 0.0, acc = 0.0, ratio
    for k in range(d):
        span = axis_span(x, nx, y, ny, d, k)
        if metric == SQEUCLIDEAN:
            acc += span * span
        elif span > top:
            top = span
    if metric == SQEUCLIDEAN:
        return acc
    if top == 0.0 or not top < INFINITY:
        return top
    for k in range(d):
        ratio = axis_span(x, nx, y, ny, d, k) / top
        if metric == EUCLIDEAN:
            acc += ratio * ratio
        elif metric == MINKOWSKI:
            acc += pow(ratio, p)
        elif metric == CITYBLOCK:
            acc += ratio
        elif ratio > acc:  # chebyshev
            acc = ratio
    if metric == EUCLIDEAN:
        return top * sqrt(acc)
    if metric == MINKOWSKI:
        return top * pow(acc, 1.0 / p)
    return top * acc


cdef bint certify_pair(Workspace* W, PairOutcome* o, double rtol) noexcept nogil:
    """Whether the pair's cost is proven within ``rtol`` relative of the exact optimum:
    :func:`certify_tree` on the transport (paths of one arc, costs at most
    ``max_abs``), once the solve ended on a clean pricing pass whose rigorous bound
    covers every pair; inconclusive (False) otherwise."""
    if not o.clean:
        return False
    return certify_tree(&W.T, W.supply, W.T.arc_cost, W.flows, W.sum_err, o.cost, o.worst,
                        o.max_abs, 1.0, rtol)


cdef bint batch_entry(
    Workspace* W, PairSource* S, const double* wa, Py_ssize_t na, const double* wb,
    Py_ssize_t nb, double point_bound, double scale_mass, Py_ssize_t max_iter, double rtol,
    double* value, signed char* code,
) noexcept nogil:
    """One pair of a batch, as its single solve: the totals balanced exactly first (a
    pair whose balancing needs more than 128-bit integers is left as it is), then
    solved; an optimal pair gets its ``value`` and ``code`` (1: proven within
    ``rtol``).  False when out of memory."""
    cdef const double* pa
    cdef const double* pb
    cdef PairOutcome o
    if balance_pair(&W.balance, wa, na, wb, nb, &pa, &pb) < 0:
        return True
    solve_pair(W, S, pa, na, pb, nb, NULL, 0, True, point_bound, scale_mass, max_iter, &o)
    if o.status == PAIR_NO_MEMORY:
        return False
    if o.status == OPTIMAL:
        value[0] = o.cost
        code[0] = certify_pair(W, &o, rtol)
    return True


cdef tuple bind_source(PairSource* S, matrix, x, y, int metric, double p):
    """Point ``S`` at a dense cost matrix (rows x columns) or, when ``matrix`` is None,
    at the coordinates ``x`` (rows) and ``y`` (columns); returns ``(rows, columns)``.

    ``S`` keeps raw pointers: the caller holds the arrays while ``S`` is in use
    (the typed views below never copy, they refuse non-contiguous input).
    """
    cdef const double[:, ::1] mat
    cdef const double[:, ::1] xv
    cdef const double[:, ::1] yv
    if matrix is not None:
        mat = matrix
        S.kind = SOURCE_DENSE
        S.matrix = &mat[0, 0]
        S.stride = mat.shape[1]
        return mat.shape[0], mat.shape[1]
    xv = x
    yv = y
    if xv.shape[1] != yv.shape[1]:
        raise ValueError("x and y must have the same dimension")
    S.kind = SOURCE_POINTS
    S.x = &xv[0, 0]
    S.y = &yv[0, 0]
    S.d = xv.shape[1]
    S.metric = metric
    S.p = p
    return xv.shape[0], yv.shape[0]


cdef class PairWorkspace:
    """Reusable memory for compiled bipartite solves (one per thread: not thread-safe).

    Every method releases the GIL for the solve itself.  A solve resets the
    workspace; arrays grow to the largest problem seen and are kept.
    """

    cdef Workspace W

    def __cinit__(self):
        pass  # the struct starts zeroed: every pointer NULL, every capacity 0

    def __dealloc__(self):
        free_workspace(&self.W)

    def solve(
        self,
        const double[::1] a not None,
        const double[::1] b not None,
        matrix,
        x,
        y,
        int metric,
        double p,
        given,
        bint builtin,
        double point_bound,
        double scale_mass,
        Py_ssize_t max_iter,
        int n_threads=1,
        Py_ssize_t n_start=0,
        Py_ssize_t block_div=0,
        double rtol=0.0,
    ):
        """One transport problem; ``matrix`` (dense, rows x columns) or ``x``, ``y``
        (coordinates) gives the costs.  ``n_threads`` threads share each large full
        pricing pass (the answer is the same for any number).  The tree starts from
        the first ``n_start`` keys of ``given`` (a plan's support, see
        :func:`start_from_plan`) when the pair is solved on candidates.  A long arc
        list is priced in blocks of its square root over ``block_div`` arcs (0: the
        default, LONG_LIST_DIV; see LONG_ARC_LIST).

        Returns ``(status, clean, worst, max_abs, cost, n_iter, tails, heads, flows,
        arc_costs, pi, pi_low, proven)``: the real tree arcs with positive flow
        (local row and column positions), the potentials of the rows then columns
        with mass, and whether the compiled certificate (:func:`certify_pair`)
        proves the cost within ``rtol`` relative (never when ``rtol`` is 0, nor when
        the totals of ``a`` and ``b`` are not exactly equal: the proof assumes a
        feasible problem).  ``status`` -2 means the magnitudes overflow.
        """
        cdef PairSource S
        cdef PairOutcome o
        cdef bint proven = False
        cdef const int64_t[::1] keys = np.ascontiguousarray(
            given if given is not None else np.empty(0, dtype=np.int64), dtype=np.int64)
        cdef Py_ssize_t na = a.shape[0], nb = b.shape[0], n_given = keys.shape[0]
        if bind_source(&S, matrix, x, y, metric, p) != (na, nb):
            raise ValueError("the costs must have one row per entry of a and one column "
                             "per entry of b")
        if not builtin and n_given == 0:
            raise ValueError("no candidate arcs")
        if n_threads < 1:
            raise ValueError(f"n_threads must be at least 1, got {n_threads}")
        if block_div < 0:
            raise ValueError(f"block_div must be at least 0, got {block_div}")
        if not 0 <= n_start <= n_given:
            raise ValueError(f"n_start must be in [0, {n_given}], got {n_start}")
        # Only this call uses threads: the batch methods, which may run on every
        # core already, find the workspace back on one.
        self.W.n_threads = n_threads
        self.W.block_div = block_div
        with nogil:
            solve_pair(&self.W, &S, &a[0], na, &b[0], nb,
                       &keys[0] if n_given else NULL, n_given, builtin, point_bound,
                       scale_mass, max_iter, &o, n_start)
        self.W.n_threads = 1
        self.W.block_div = 0
        global passes_total
        passes_total += o.n_scans
        if o.status == PAIR_NO_MEMORY:
            raise MemoryError("out of memory in the transport solver")
        cdef Py_ssize_t n = o.n_rows, n_nodes = o.n_rows + o.n_cols
        if o.status == PAIR_SCALE:
            return (o.status, False, INFINITY, o.max_abs, NAN, 0, None, None, None, None,
                    None, None, False)
        # The real tree arcs with flow, read in one pass (a handful of NumPy calls
        # cost more than a small solve itself).
        cdef Py_ssize_t v, k = 0, up, n_arcs = 0
        cdef Py_ssize_t* parent = self.W.T.parent
        cdef double* tree_flows = self.W.flows
        for v in range(n_nodes):
            if parent[v] != n_nodes and tree_flows[v] > 0:
                n_arcs += 1
        tails = np.empty(n_arcs, dtype=np.intp)
        heads = np.empty(n_arcs, dtype=np.intp)
        flows = np.empty(n_arcs, dtype=np.float64)
        arc_costs = np.empty(n_arcs, dtype=np.float64)
        cdef Py_ssize_t[::1] tail_view = tails
        cdef Py_ssize_t[::1] head_view = heads
        cdef double[::1] flow_view = flows
        cdef double[::1] cost_view = arc_costs
        for v in range(n_nodes):
            up = parent[v]
            if up == n_nodes or not tree_flows[v] > 0:
                continue
            if self.W.T.toward_parent[v]:
                tail_view[k], head_view[k] = v, up - n
            else:
                tail_view[k], head_view[k] = up, v - n
            flow_view[k] = tree_flows[v]
            cost_view[k] = self.W.T.arc_cost[v]
            k += 1
        # Copied before the certificate, which uses W.flows as scratch.
        if rtol > 0.0 and o.status == OPTIMAL and na > 0 and nb > 0:
            with nogil:
                proven = totals_agree(&a[0], na, &b[0], nb) and certify_pair(&self.W, &o, rtol)
        return (
            o.status, bool(o.clean), o.worst, o.max_abs, o.cost, o.n_iter, tails, heads,
            flows, arc_costs,
            np.array(<double[:n_nodes]> self.W.T.pi) if n_nodes else np.empty(0),
            np.array(<double[:n_nodes]> self.W.T.pi_low) if n_nodes else np.empty(0),
            bool(proven),
        )

    def batch_dense(
        self,
        const double[:, ::1] cost not None,
        const double[:, ::1] left not None,
        const double[:, ::1] right not None,
        const Py_ssize_t[:, ::1] pairs not None,
        double scale_mass,
        Py_ssize_t max_iter,
        double rtol,
    ):
        """Costs of the pairs ``(left[i], right[j])`` on one cost matrix, and a code per
        pair: 1 proven within ``rtol`` here, 0 to be settled by the full single
        solve (stopped, a compiled check that was inconclusive, or totals whose
        exact balancing needs more than 128-bit integers).  Each pair's weights are
        first balanced exactly as ``emd._certify.balance_exactly`` does."""
        cdef Py_ssize_t k, n_pairs = pairs.shape[0], nb = cost.shape[0]
        cdef PairSource S
        cdef bint failed = False
        if cost.shape[1] != nb or left.shape[1] != nb or right.shape[1] != nb:
            raise ValueError("histograms and cost matrix have inconsistent sizes")
        check_pairs(pairs, left.shape[0], right.shape[0])
        S.kind = SOURCE_DENSE
        S.matrix = &cost[0, 0]
        S.stride = nb
        values = np.full(n_pairs, np.nan)
        codes = np.zeros(n_pairs, dtype=np.int8)
        cdef double[::1] vals = values
        cdef signed char[::1] code = codes
        with nogil:
            for k in range(n_pairs):
                if not batch_entry(&self.W, &S, &left[pairs[k, 0], 0], nb, &right[pairs[k, 1], 0],
                                   nb, 0.0, scale_mass, max_iter, rtol, &vals[k], &code[k]):
                    failed = True
                    break
        if failed:
            raise MemoryError("out of memory in the transport solver")
        return values, codes

    def batch_points(
        self,
        const double[:, ::1] x_left not None,
        const double[::1] w_left not None,
        const Py_ssize_t[::1] off_left not None,
        const double[:, ::1] x_right not None,
        const double[::1] w_right not None,
        const Py_ssize_t[::1] off_right not None,
        const Py_ssize_t[:, ::1] pairs not None,
        int metric,
        double p,
        double scale_mass,
        Py_ssize_t max_iter,
        double rtol,
        Py_ssize_t max_cells,
    ):
        """:meth:`batch_dense` for point sets: set ``i`` of a side is rows
        ``off[i]:off[i + 1]`` of its coordinates and weights.  Pairs with more than
        ``max_cells`` pairs of points with mass are left (code 0) to the single solve."""
        cdef Py_ssize_t k, i, j, na, nb, kept_a, kept_b, n_pairs = pairs.shape[0]
        cdef Py_ssize_t d = x_left.shape[1]
        cdef PairSource S
        if x_right.shape[1] != d:
            raise ValueError("point sets of both sides must have the same dimension")
        if (w_left.shape[0] != x_left.shape[0] or w_right.shape[0] != x_right.shape[0]
                or off_left[off_left.shape[0] - 1] != w_left.shape[0]
                or off_right[off_right.shape[0] - 1] != w_right.shape[0]):
            raise ValueError("offsets, weights and coordinates have inconsistent sizes")
        check_pairs(pairs, off_left.shape[0] - 1, off_right.shape[0] - 1)
        S.kind = SOURCE_POINTS
        S.d = d
        S.metric = metric
        S.p = p
        values = np.full(n_pairs, np.nan)
        codes = np.zeros(n_pairs, dtype=np.int8)
        cdef double[::1] vals = values
        cdef signed char[::1] code = codes
        cdef bint failed = False
        with nogil:
            for k in range(n_pairs):
                i = pairs[k, 0]
                j = pairs[k, 1]
                na = off_left[i + 1] - off_left[i]
                nb = off_right[j + 1] - off_right[j]
                kept_a = 0
                kept_b = 0
                for i in range(off_left[pairs[k, 0]], off_left[pairs[k, 0] + 1]):
                    kept_a += w_left[i] > 0
                for j in range(off_right[pairs[k, 1]], off_right[pairs[k, 1] + 1]):
                    kept_b += w_right[j] > 0
                if kept_a * kept_b > max_cells:
                    continue
                i = pairs[k, 0]
                j = pairs[k, 1]
                S.x = &x_left[off_left[i], 0]
                S.y = &x_right[off_right[j], 0]
                if not batch_entry(&self.W, &S, &w_left[off_left[i]], na,
                                   &w_right[off_right[j]], nb,
                                   points_bound(S.x, na, S.y, nb, d, metric, p),
                                   scale_mass, max_iter, rtol, &vals[k], &code[k]):
                    failed = True
                    break
        if failed:
            raise MemoryError("out of memory in the transport solver")
        return values, codes


def points_cost_bound(
    const double[:, ::1] x not None, const double[:, ::1] y not None, int metric, double p,
):
    """An upper bound on every distance between ``x`` and ``y`` (bounding boxes); the one
    the compiled pair solve uses for its artificial arcs."""
    if x.shape[1] != y.shape[1] or x.shape[0] == 0 or y.shape[0] == 0:
        raise ValueError("x and y must be nonempty with the same dimension")
    return points_bound(&x[0, 0], x.shape[0], &y[0, 0], y.shape[0], x.shape[1], metric, p)


def pricing_pass(
    matrix, x, y, int metric, double p,
    const double[::1] pi not None, const double[::1] pi_low not None, int n_threads=1,
):
    """One full pricing pass of the pair solve over every pair, for the potentials
    ``pi + pi_low`` of the rows then the columns (the tree's sign convention:
    reduced cost ``C_ij + pi_i - pi_(n+j)``).  Returns the keys found (``row * m +
    col``, sorted, unique) and the pass's ``worst``: a rigorous lower bound on every
    pair's reduced cost when no key is found, which is what proves the end of the
    column generation of partial and unbalanced point clouds
    (:func:`emd.unbalanced._solve_points_generated`)."""
    cdef Workspace W
    cdef PairSource S
    cdef Py_ssize_t n, m, i, count
    cdef double worst = INFINITY
    memset(&W, 0, sizeof(W))
    n, m = bind_source(&S, matrix, x, y, metric, p)
    if n == 0 or m == 0 or pi.shape[0] != n + m or pi_low.shape[0] != n + m:
        raise ValueError("pi and pi_low need one entry per row and column")
    if n_threads < 1:
        raise ValueError(f"n_threads must be at least 1, got {n_threads}")
    try:
        if not (ensure_nodes(&W, n + m + 1) and ensure_keys(&W, SCAN_K * (n + m) + 1)
                and ensure_lines(&W, SCAN_K * (n + m))):
            raise MemoryError("out of memory in the pricing pass")
        for i in range(n):
            W.row_map[i] = i
        for i in range(m):
            W.col_map[i] = i
        for i in range(n + m):
            W.T.pi[i] = pi[i]
            W.T.pi_low[i] = pi_low[i]
        W.all_cols = True
        W.n_threads = n_threads
        W.T.n_nodes = n + m
        with nogil:
            count = sort_unique(&W, scan_keys(&W, &S, n, m, &worst), m)
        keys = np.empty(count, dtype=np.int64)
        for i in range(count):
            keys[i] = W.keys[i]
        return keys, worst
    finally:
        free_workspace(&W)
