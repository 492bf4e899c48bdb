# cython: language_level=3
"""The pricing of the pair solve: which arcs it looks at, by their (reduced) costs.

* :func:`fill_costs`: a small point pair's costs, computed once into a matrix that
  the passes then read as a dense source (plane euclidean rows by the SIMD kernel
  of ``_pricing_kernels.h``).
* :func:`cheapest_keys`: the first candidates, the cheapest arcs of every row and
  every column.
* :func:`scan_keys`: a full pricing pass over every pair with the exact test,
  threaded over blocks of rows, which proves the end of a solve when it finds
  nothing.

The block search the simplex runs per pivot is not here: it stays with the pivot
loop in :mod:`emd._core._tree`, which applies the same fast test of
``_pricing_kernels.h``.  ``_pricing.pxd`` declares these functions for the pair solve.
"""

from cython.parallel cimport prange
from libc.math cimport INFINITY, exp, fabs, log, pow, sqrt
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset

from emd._core._exact cimport filter_band
from emd._core._metric cimport (
    CHEBYSHEV as CHEBYSHEV_CODE, CITYBLOCK as CITYBLOCK_CODE, EUCLIDEAN, SQEUCLIDEAN, distance,
    finish_distance, from_power, keep_smallest, point_pair_may_price_below, power_distance,
    power_in_range, reduced_cost_bounds, tiny_power, to_power,
)
from emd._core._pair cimport SOURCE_DENSE, SOURCE_POINTS, PairSource, Workspace
from emd._core._pricing_kernels cimport SQ_COLS, dense8_may_enter, plane_row, squares_rows2
from emd._core._tree cimport avx2_enabled

# Small problems (at most ``small_cells`` cells, the limit emd._planner sets) start
# from SMALL_K candidates per line.
cdef enum:
    SMALL_K = 4

INITIAL_CANDIDATES = INITIAL_K
SCAN_PER_LINE = SCAN_K_SMALL
WIDE_SCAN_PER_LINE = SCAN_K

# From this many pairs on a pass keeps SCAN_K arcs per line instead of
# SCAN_K_SMALL: measured on 2-D clouds, dense n = 4000 takes 5 passes instead of
# 7 (-10 % in all) and points n = 20 000 8 instead of 10 (-10 %); 16 is worse
# on both.  Small problems (the pairwise batches) keep the smaller number.
cdef Py_ssize_t WIDE_SCAN_MIN_PAIRS = 1 << 18
WIDE_SCAN_FROM = WIDE_SCAN_MIN_PAIRS


cdef void fill_costs(
    Workspace* W, PairSource* S, Py_ssize_t n, Py_ssize_t m, Py_ssize_t stride,
) noexcept nogil:
    """Every cost between a row and a column with mass, into ``W.cost_buf`` at
    ``[row * stride + col]`` (original indices): the values :func:`distance` gives."""
    cdef Py_ssize_t r, c, d = S.d
    cdef const double* xr
    cdef const double* y = S.y
    cdef const Py_ssize_t* col_map = W.col_map
    cdef double* out
    cdef double dx, dy, acc, x0, x1
    # Plane euclidean points (the common case) unrolled: the same operations in
    # the same order as power_distance, and finish_distance outside its range.
    cdef bint plane = d == 2 and S.metric == EUCLIDEAN
    cdef bint use_avx2 = avx2_enabled()
    if (d >= 3 and (S.metric == EUCLIDEAN or S.metric == SQEUCLIDEAN)
            and fill_squares_tiled(W, S, n, m, stride)):
        return
    for r in range(n):
        xr = &S.x[W.row_map[r] * d]
        out = &W.cost_buf[W.row_map[r] * stride]
        if plane and W.all_cols:
            # Every column: contiguous points, several at a time.
            c = 0
            while c < m:
                c += plane_row(xr[0], xr[1], &y[2 * c], m - c, &out[c], tiny_power(), use_avx2)
                if c < m:
                    out[c] = distance(xr, &y[2 * c], 2, EUCLIDEAN, S.p)
                    c += 1
        elif plane:
            x0 = xr[0]
            x1 = xr[1]
            for c in range(m):
                dx = x0 - y[col_map[c] * 2]
                dy = x1 - y[col_map[c] * 2 + 1]
                acc = 0.0 + dx * dx
                acc = acc + dy * dy
                if power_in_range(acc, EUCLIDEAN):
                    out[col_map[c]] = sqrt(acc)
                else:
                    out[col_map[c]] = finish_distance(acc, xr, &y[col_map[c] * 2], 2,
                                                      EUCLIDEAN, S.p)
        else:
            for c in range(m):
                out[col_map[c]] = distance(xr, &y[col_map[c] * d], d, S.metric, S.p)


# Tiles of fill_squares_tiled: ROW_TILE rows of x (in d = 768, 32 x 768 x 8 bytes =
# 192 KB, within L2) against blocks of SQ_COLS columns (16 x 768 x 8 = 96 KB).
cdef enum:
    ROW_TILE = 32


cdef void fill_tile(
    Workspace* W, PairSource* S, const double* yt, Py_ssize_t r0, Py_ssize_t r1,
    Py_ssize_t m, Py_ssize_t stride, bint use_avx2,
) noexcept nogil:
    """Rows ``r0:r1`` of :func:`fill_squares_tiled`, block by block of columns, two
    rows at a time (the last alone if odd)."""
    cdef Py_ssize_t d = S.d, blocks = (m + SQ_COLS - 1) // SQ_COLS
    cdef Py_ssize_t bl, r, q, col, t
    cdef const double* xr[2]
    cdef double sums[2][SQ_COLS]
    for bl in range(blocks):
        r = r0
        while r < r1:
            xr[0] = &S.x[W.row_map[r] * d]
            xr[1] = &S.x[W.row_map[r + 1] * d] if r + 1 < r1 else xr[0]
            squares_rows2(xr[0], xr[1], &yt[bl * d * SQ_COLS], d, sums[0], sums[1],
                          use_avx2)
            for t in range(2 if r + 1 < r1 else 1):
                for q in range(SQ_COLS):
                    if bl * SQ_COLS + q < m:
                        col = W.col_map[bl * SQ_COLS + q]
                        W.cost_buf[W.row_map[r + t] * stride + col] = finish_distance(
                            sums[t][q], xr[t], &S.y[col * d], d, S.metric, S.p)
            r += 2


cdef bint fill_squares_tiled(
    Workspace* W, PairSource* S, Py_ssize_t n, Py_ssize_t m, Py_ssize_t stride,
) noexcept nogil:
    """:func:`fill_costs` for euclidean and sqeuclidean points in ``d >= 3``: the same
    bits as :func:`distance` (each sum of squares from 0.0 in coordinate order, then
    finish_distance), computed by the kernel ``squares_rows2`` of
    ``_pricing_kernels.h`` over a copy of the columns' coordinates laid out
    coordinate-major per block of SQ_COLS columns (every column a lane of its own),
    and tiled so that a block of rows stays in cache while the columns stream past
    once per block.  ``W.n_threads`` threads share the tiles of a large matrix; every
    entry is computed alone, so the matrix does not depend on their number.
    Measured (2026-12-04, d = 768, 2000 x 2000 points): the row-at-a-time loop read
    all of y for every row, 24 GB in all; the tiled loop of eight columns in plain
    Cython took about 2.5 s on one thread, the AVX2 kernel (two rows by sixteen
    columns) about 0.4 s.  False (nothing written) when the copy cannot be
    allocated."""
    cdef Py_ssize_t d = S.d, blocks = (m + SQ_COLS - 1) // SQ_COLS
    cdef Py_ssize_t tiles = (n + ROW_TILE - 1) // ROW_TILE
    cdef Py_ssize_t bl, q, k, col, tile
    cdef int threads = W.n_threads if n * m >= PARALLEL_MIN_PAIRS else 1
    cdef bint use_avx2 = avx2_enabled()
    cdef double* yt = <double*> malloc(<size_t> (blocks * SQ_COLS * d) * sizeof(double))
    if yt == NULL:
        return False
    for bl in range(blocks):
        for q in range(SQ_COLS):
            # A short last block repeats its last column (computed, not written).
            col = bl * SQ_COLS + q if bl * SQ_COLS + q < m else m - 1
            for k in range(d):
                yt[(bl * d + k) * SQ_COLS + q] = S.y[W.col_map[col] * d + k]
    if threads > MAX_SCAN_THREADS:
        threads = MAX_SCAN_THREADS
    if threads > 1:
        for tile in prange(tiles, schedule="dynamic", num_threads=threads):
            fill_tile(W, S, yt, tile * ROW_TILE,
                      (tile + 1) * ROW_TILE if (tile + 1) * ROW_TILE < n else n,
                      m, stride, use_avx2)
    else:
        for tile in range(tiles):
            fill_tile(W, S, yt, tile * ROW_TILE,
                      (tile + 1) * ROW_TILE if (tile + 1) * ROW_TILE < n else n,
                      m, stride, use_avx2)
    free(yt)
    return True


cdef inline double offer_arc(
    double value, Py_ssize_t r, Py_ssize_t c, double* row_val, Py_ssize_t* row_idx,
    Py_ssize_t kr, double row_cut, double* col_val, Py_ssize_t* col_idx, Py_ssize_t kc,
    double* col_cut,
) noexcept nogil:
    """Offer arc (r, c) of ranking ``value`` to row r's kr cheapest (cut ``row_cut``)
    and to column c's kc cheapest (cut ``col_cut[c]``); returns row r's new cut.  Inline:
    it is the body of the tight loop over a dense row."""
    if value < row_cut:
        keep_smallest(row_val, row_idx, kr, value, c)
        row_cut = row_val[kr - 1]
    if value < col_cut[c]:
        keep_smallest(&col_val[c * kc], &col_idx[c * kc], kc, value, r)
        col_cut[c] = col_val[c * kc + kc - 1]
    return row_cut


cdef Py_ssize_t cheapest_keys(
    Workspace* W, PairSource* S, Py_ssize_t n, Py_ssize_t m, double* biggest, bint reduced,
    Py_ssize_t* tied_rows, Py_ssize_t small_cells,
) noexcept nogil:
    """The INITIAL_K cheapest arcs of every row and of every column (SMALL_K of a problem
    of at most ``small_cells`` cells), as keys (repeats possible); the largest |cost|
    seen in ``biggest``, and in ``tied_rows`` how many rows had all their kept
    candidates tie.  Returns the number of keys."""
    cdef Py_ssize_t k = SMALL_K if n * m <= small_cells else INITIAL_K
    cdef Py_ssize_t kr = k if k < m else m
    cdef Py_ssize_t kc = k if k < n else n
    cdef double* row_val = W.line_val
    cdef Py_ssize_t* row_idx = W.line_arg
    cdef double* col_val = W.line_val + kr
    cdef Py_ssize_t* col_idx = W.line_arg + kr
    cdef Py_ssize_t r, c, q, half, lo, hi, start, out = 0
    cdef double value, ranked, row_cut, big = 0.0
    cdef double* col_cut = W.col_cut
    cdef const double* row_ptr = NULL
    # Dense costs are ranked by ``C_ij - u_i - v_j`` for the row minima u and the
    # column minima v of what is left (a dual-feasible start): on costs that rise
    # along every row and column alike (``i + j``) the raw cheapest arcs of every
    # line crowd into the first columns and rows and cannot route the mass, while
    # these reduced costs tie and the diagonal scan below spreads them.  The
    # node-sized supply buffer is free until the simplex starts.
    cdef double* row_min = W.supply
    cdef double* col_min = W.supply + n
    reduced = reduced and S.kind == SOURCE_DENSE
    if reduced:
        for c in range(m):
            col_min[c] = INFINITY
        for r in range(n):
            row_ptr = &S.matrix[W.row_map[r] * S.stride]
            value = INFINITY
            for c in range(m):
                if (row_ptr[c] if W.all_cols else row_ptr[W.col_map[c]]) < value:
                    value = row_ptr[c] if W.all_cols else row_ptr[W.col_map[c]]
            row_min[r] = value
        for r in range(n):
            row_ptr = &S.matrix[W.row_map[r] * S.stride]
            for c in range(m):
                value = (row_ptr[c] if W.all_cols else row_ptr[W.col_map[c]]) - row_min[r]
                if value < col_min[c]:
                    col_min[c] = value
    for q in range(m * kc):
        col_val[q] = INFINITY
        col_idx[q] = 0
    for c in range(m):
        col_cut[c] = INFINITY
    for r in range(n):
        for q in range(kr):
            row_val[q] = INFINITY
            row_idx[q] = q  # valid columns even if no value ranks below INFINITY
        row_cut = INFINITY
        if S.kind == SOURCE_DENSE:
            row_ptr = &S.matrix[W.row_map[r] * S.stride]
        # Each row scans from its own place on the diagonal, so that among equal
        # costs (zero, constant or row-constant matrices, duplicated points) the
        # rows keep different columns: the candidates then hold a spread-out
        # matching rather than every row's first few columns, on which the
        # simplex would need a pricing round per handful of pivots.
        start = (r * m) // n
        for half in range(2):
            lo = start if half == 0 else 0
            hi = m if half == 0 else start
            if S.kind == SOURCE_DENSE and not reduced:
                # Costs read in place and ranked as they are (the tight loop).
                for c in range(lo, hi):
                    value = row_ptr[c] if W.all_cols else row_ptr[W.col_map[c]]
                    if fabs(value) > big:
                        big = fabs(value)
                    row_cut = offer_arc(value, r, c, row_val, row_idx, kr, row_cut,
                                        col_val, col_idx, kc, col_cut)
                continue
            for c in range(lo, hi):
                if S.kind != SOURCE_DENSE:
                    # The order of the root-free power is the distance's order (a
                    # candidate list is a heuristic: the pricing passes decide).
                    value = power_distance(&S.x[W.row_map[r] * S.d],
                                           &S.y[W.col_map[c] * S.d], S.d, S.metric, S.p)
                elif W.all_cols:
                    value = row_ptr[c]
                else:
                    value = row_ptr[W.col_map[c]]
                if fabs(value) > big:
                    big = fabs(value)
                if reduced:
                    ranked = (value - row_min[r]) - col_min[c]
                    # Costs near the top of the range can overflow the difference:
                    # rank those by the cost itself (a candidate list is a heuristic).
                    if fabs(ranked) < INFINITY:
                        value = ranked
                row_cut = offer_arc(value, r, c, row_val, row_idx, kr, row_cut,
                                    col_val, col_idx, kc, col_cut)
        if kr > 1 and row_val[0] == row_val[kr - 1]:
            tied_rows[0] += 1
        for q in range(kr):
            W.keys[out] = <int64_t> r * m + row_idx[q]
            out += 1
    for c in range(m):
        for q in range(kc):
            W.keys[out] = <int64_t> col_idx[c * kc + q] * m + c
            out += 1
    biggest[0] = big
    return out


# Full pricing passes
# -------------------
# A pass prices every pair exactly and keeps, for every row and every column,
# its SCAN_K_SMALL most negative reduced costs (SCAN_K from WIDE_SCAN_MIN_PAIRS
# pairs on).  One kernel serves both sources: a
# pair is first decided by a cheap proof that it cannot enter (dense: plain
# float64 already nonnegative beyond the rounding band; points: the root-free
# distance test of ``point_pair_may_price_below``), and every other pair gets
# the exact test, the ``worst`` bound and the two buffers in one place.
#
# Rows are split into contiguous blocks, one per thread, each with its own
# column buffers; the buffers are merged by (reduced cost, row).  Every skip
# is a proof about the pair alone (its lower bound is at least the cut it was
# tested against, so it could not have entered), a buffer admits only strictly
# smaller values (ties go to the pair met first: a row meets its columns in an
# order fixed by the problem, a block its rows in increasing order), and so
# the keys found are the same for any number of threads; so is ``worst`` when
# nothing is found (every cut then stays at 0).

# Pairs per pass below which a pass stays on one thread (about a millisecond of
# work, far above the cost of starting the threads); a solve inside a batch
# always uses one.
cdef Py_ssize_t PARALLEL_MIN_PAIRS = 1 << 18
cdef enum:
    MAX_SCAN_THREADS = 64


cdef struct ColumnLines:
    double* val                 # per column, its SCAN_K best (ascending; 0 = empty slot)
    Py_ssize_t* arg             # their rows, -1 for an empty slot
    double* cut                 # per column, the value a pair must beat to enter
    double worst


# Column cells: pruning a point pass by blocks of columns
# ------------------------------------------------------
# For d = 2 or 3 the columns are bucketed into a grid of cells (about
# CELL_POINTS each, in one fixed order).  A row skips a whole cell when the distance to
# the cell's bounding box, computed by the same operations as a pair's
# root-free power and so, by the monotonicity of rounding, no larger than any
# pair's, already proves every pair of the cell skippable against the cell's
# largest potential with the cut at 0 (the loosest a pass uses).  A pruned pair
# is therefore one ``point_pair_may_price_below`` would have skipped: pruning
# changes the order in which a row meets its columns (fixed by the problem, so
# the same in single solves, batches and for any thread count), never which
# pairs may enter.
#
# Euclidean passes try a second, tilted bound on a cell the first one keeps
# (``tilted_prunable``, with each cell's slope from ``tilt_cell``): it takes out
# the linear part the potentials of far-apart clouds carry along the shift, and
# it too prunes only pairs the per-pair test skips (so the same keys, worst and
# pivots as without it).  What it bought, n = 20 000, 2026-12-04: one pass at the
# final potentials on one thread, disk to annulus 6 apart 2.11 -> 0.46 s, the
# strip 0.94 -> 0.60 s, a uniform square 0.19 -> 0.11 s; whole solves in
# benchmarks/reference/2026-12-04-clouds.md (disk to annulus about 24 -> 12 s at
# load 4, the rest of its time is the simplex's 609k pivots).
#
# Runs of GROUP_CELLS cells along a line of the grid are tested as one group first
# (``build_groups``: the group's box, largest potential and tilted data): a group the
# bounds prune is skipped whole, one that they keep has its cells tested as before.
# Only pairs the per-pair test skips are pruned either way, so a pass finds the same
# keys and worst.  One pass at the final potentials, n = 20 000, one thread, CPU s,
# 2026-12-04, without / with groups of 5 (10 / 3): uniform square 0.071 / 0.047 (0.052 /
# 0.059), cube 0.130 / 0.061 (0.054 / 0.074), 8 clusters 0.188 / 0.180, disk to annulus
# 6 apart 0.268 / 0.248, three clusters to a disk 0.362 / 0.344: on far-apart clouds the
# pairs along each row's ray, which no bound prunes, take most of a pass.
#
# The cells follow the shape of the columns' box (about as long as wide, see
# build_cells): a square box keeps its grid; the strip's (1 x 0.001) 791 x 1 cells
# instead of 25 x 25 leave 6 % of its pairs to the per-pair test at the final
# potentials instead of 14 % (the same keys: only ties are met in another order).

cdef enum:
    CELL_POINTS = 32    # measured at n = 4000 and 20 000: 8 and 16 are slower, 128 no better
    GROUP_CELLS = 5     # cells per group (build_groups)

cdef Py_ssize_t PRUNE_MIN_PAIRS = 1 << 16

# Whether euclidean passes also try tilted_prunable, and whether cells follow the
# box's shape (build_cells); test and benchmark hooks turn them off to show that a
# pass finds the same keys and worst either way, and to time what they buy.
cdef bint TILTED = True
cdef bint SHAPED = True
cdef bint GROUPED = True


def _set_groups(bint grouped):
    """Test hook: turn the groups of cells of the pricing passes (build_groups) on or
    off; returns whether they were on."""
    global GROUPED
    was = bool(GROUPED)
    GROUPED = grouped
    return was


def _set_cell_bounds(bint tilted, bint shaped):
    """Test hook: turn the tilted cell bound and the shaped cells of the pricing passes
    on or off; returns the previous ``(tilted, shaped)``."""
    global TILTED, SHAPED
    was = (bool(TILTED), bool(SHAPED))
    TILTED = tilted
    SHAPED = shaped
    return was


cdef struct ColumnCells:
    Py_ssize_t n_cells
    Py_ssize_t* start           # cell g holds positions start[g]:start[g + 1]
    Py_ssize_t* col             # per position, the local column
    double* y                   # per position, the column's coordinates
    double* pc                  # per position, the column's potential
    double* lo                  # per cell, the bounding box of its points
    double* hi
    double* top                 # per cell, its largest potential
    double* slope               # per cell (euclidean only, else NULL): the slope g of
    double* wtop                # its potentials, an upper bound on pc - <g, y> over it,
    double* ctr                 # its box's centre and half-widths (rounded up),
    double* half
    double* amax                # and its largest |pc| (see tilted_prunable)
    Py_ssize_t* gid             # per cell, its place in the full grid (cells only)
    Py_ssize_t last             # the grid's count along its last axis (cells only)
    Py_ssize_t* first           # group G holds cells first[G]:first[G + 1] (groups only)
    void* block


cdef inline double box_power(
    const double* x, const double* lo, const double* hi, Py_ssize_t d, int metric,
) noexcept nogil:
    """:func:`power_distance` from ``x`` to the nearest point of a box, by the same
    operations on coordinate gaps no larger than any point's of the box, so no
    larger than the power of any point in it."""
    cdef Py_ssize_t k
    cdef double acc = 0.0, gap
    for k in range(d):
        if x[k] < lo[k]:
            gap = lo[k] - x[k]
        elif x[k] > hi[k]:
            gap = x[k] - hi[k]
        else:
            gap = 0.0
        if metric == CHEBYSHEV_CODE:
            if gap > acc:
                acc = gap
        elif metric == CITYBLOCK_CODE:
            acc += gap
        else:
            acc += gap * gap
    return acc


cdef bint build_cells(
    Workspace* W, PairSource* S, Py_ssize_t n, Py_ssize_t m, ColumnCells* C,
) noexcept nogil:
    """Bucket the columns into cells; False (and no cells) when pruning does not apply
    or memory is short.  The pass is then the plain one, as exact; only which of
    several equal reduced costs a row keeps may differ."""
    cdef Py_ssize_t d = S.d, k, c, g, q, n_grid = 1, cell, used, wide = 0
    cdef Py_ssize_t grid[3]
    cdef bint flat[3]
    cdef bint again
    cdef Py_ssize_t it
    cdef double lo[3]
    cdef double hi[3]
    cdef double value, whole, side = 1.0
    cdef const double* yc
    cdef const double* pi_cols = W.T.pi + n
    C.n_cells = 0
    C.block = NULL
    if not (d == 2 or d == 3) or n * m < PRUNE_MIN_PAIRS or not (
            S.metric == EUCLIDEAN or S.metric == SQEUCLIDEAN
            or S.metric == CITYBLOCK_CODE or S.metric == CHEBYSHEV_CODE):
        return False
    for k in range(d):
        lo[k] = INFINITY
        hi[k] = -INFINITY
    for c in range(m):
        yc = &S.y[W.col_map[c] * d]
        for k in range(d):
            if yc[k] < lo[k]:
                lo[k] = yc[k]
            if yc[k] > hi[k]:
                hi[k] = yc[k]
    # No pair's power may overflow (the per-pair test treats that case apart).
    whole = 0.0
    for k in range(d):
        value = hi[k] - lo[k]
        whole += value * value if S.metric != CITYBLOCK_CODE else value
    if not whole < 1e300:
        return False
    # Cells about as long as wide: per axis, the box's extent over the side of a cube
    # holding CELL_POINTS of the columns spread evenly over the box's extended axes.
    # A square box keeps the same count on every axis; a strip's cells are short
    # along it and span its height (1 x 0.001, m = 20 000: 791 x 1 cells instead of
    # 25 x 25, whose 0.04 length was ten typical arcs of the strip).
    # An axis shorter than the side gets one cell, and the side is taken again over
    # the others (a strip 1e-6 high: 625 x 1 cells, not 25 000 x 1 of one point each).
    for k in range(d):
        flat[k] = not hi[k] > lo[k]
    for it in range(d):
        side = 0.0  # in logs: no product of extents under- or overflows
        wide = 0
        for k in range(d):
            if not flat[k]:
                side += log(hi[k] - lo[k])
                wide += 1
        if wide == 0:
            break
        side = exp((side + log(<double> CELL_POINTS / <double> m)) / wide)
        again = False
        for k in range(d):
            if not flat[k] and not (hi[k] - lo[k]) / side + 0.5 >= 1.0:
                flat[k] = True
                again = True
        if not again:
            break
    for k in range(d):
        if SHAPED:
            value = (hi[k] - lo[k]) / side + 0.5 if not flat[k] and side > 0.0 else 1.0
        else:  # the cubic grid of before (the same count on every axis)
            value = pow(<double> m / CELL_POINTS, 1.0 / d) + 0.5
        grid[k] = <Py_ssize_t> value if 1.0 <= value < <double> m else (1 if value < 1.0 else m)
        n_grid *= grid[k]
    if n_grid > 4 * m + 64:
        return False  # degenerate extents: no pruning (the plain pass is as exact)
    C.block = malloc(
        <size_t> (n_grid + 1) * sizeof(Py_ssize_t) + <size_t> m * sizeof(Py_ssize_t)
        + <size_t> m * d * sizeof(double) + <size_t> m * sizeof(double)
        + <size_t> n_grid * (5 * d + 3) * sizeof(double) + <size_t> m * sizeof(Py_ssize_t)
        + <size_t> n_grid * sizeof(Py_ssize_t))
    if C.block == NULL:
        return False
    C.start = <Py_ssize_t*> C.block
    C.col = C.start + n_grid + 1
    cdef Py_ssize_t* cell_of = C.col + m
    C.y = <double*> (cell_of + m)
    C.pc = C.y + m * d
    C.lo = C.pc + m
    C.hi = C.lo + n_grid * d
    C.top = C.hi + n_grid * d
    C.slope = C.top + n_grid
    C.ctr = C.slope + n_grid * d
    C.half = C.ctr + n_grid * d
    C.wtop = C.half + n_grid * d
    C.amax = C.wtop + n_grid
    C.gid = <Py_ssize_t*> (C.amax + n_grid)
    C.last = grid[d - 1]
    C.first = NULL
    for g in range(n_grid + 1):
        C.start[g] = 0
    for c in range(m):
        yc = &S.y[W.col_map[c] * d]
        cell = 0
        for k in range(d):
            q = <Py_ssize_t> ((yc[k] - lo[k]) / (hi[k] - lo[k]) * grid[k]) if hi[k] > lo[k] else 0
            if q >= grid[k]:
                q = grid[k] - 1
            if q < 0:
                q = 0
            cell = cell * grid[k] + q
        cell_of[c] = cell
        C.start[cell + 1] += 1
    for g in range(n_grid):
        C.start[g + 1] += C.start[g]
    for c in range(m):
        q = C.start[cell_of[c]]
        C.start[cell_of[c]] += 1
        C.col[q] = c
    # start[g] is now the end of cell g; shift back and drop empty cells.
    used = 0
    q = 0
    for g in range(n_grid):
        if C.start[g] > q:
            cell = C.start[g]
            C.start[used] = q
            C.gid[used] = g
            q = cell
            used += 1
    C.start[used] = m
    C.n_cells = used
    for g in range(used):
        for k in range(d):
            C.lo[g * d + k] = INFINITY
            C.hi[g * d + k] = -INFINITY
        C.top[g] = -INFINITY
        for q in range(C.start[g], C.start[g + 1]):
            c = C.col[q]
            yc = &S.y[W.col_map[c] * d]
            for k in range(d):
                C.y[q * d + k] = yc[k]
                if yc[k] < C.lo[g * d + k]:
                    C.lo[g * d + k] = yc[k]
                if yc[k] > C.hi[g * d + k]:
                    C.hi[g * d + k] = yc[k]
            C.pc[q] = pi_cols[c]
            if pi_cols[c] > C.top[g]:
                C.top[g] = pi_cols[c]
    if S.metric == EUCLIDEAN and TILTED:
        for g in range(used):
            tilt_cell(C, g, d)
    else:
        C.slope = NULL
    return True


cdef bint build_groups(ColumnCells* C, Py_ssize_t d, ColumnCells* G) noexcept nogil:
    """Group runs of up to GROUP_CELLS consecutive cells of one line of the grid (along
    its last axis) into the cells of ``G``, which shares the columns of ``C``: each group
    its points' box, largest potential and, for euclidean passes, tilted data, so that
    :func:`cell_prunable` and :func:`tilted_prunable` test a whole group at once.  A
    group they prune holds only pairs that the tests of its cells, and so the per-pair
    test, skip: the same keys and ``worst`` as without groups.  False (no groups) when
    memory is short."""
    cdef Py_ssize_t g, k, n_groups = 0, count = 0, line = -1
    G.n_cells = 0
    G.block = malloc(<size_t> (C.n_cells + 1) * 2 * sizeof(Py_ssize_t)
                     + <size_t> C.n_cells * (5 * d + 3) * sizeof(double))
    if G.block == NULL:
        return False
    G.start = <Py_ssize_t*> G.block
    G.first = G.start + C.n_cells + 1
    G.lo = <double*> (G.first + C.n_cells + 1)
    G.hi = G.lo + C.n_cells * d
    G.top = G.hi + C.n_cells * d
    G.slope = G.top + C.n_cells if C.slope != NULL else NULL
    G.ctr = G.top + C.n_cells + C.n_cells * d
    G.half = G.ctr + C.n_cells * d
    G.wtop = G.half + C.n_cells * d
    G.amax = G.wtop + C.n_cells
    G.col = C.col
    G.y = C.y
    G.pc = C.pc
    G.gid = NULL
    for g in range(C.n_cells):
        if count == GROUP_CELLS or C.gid[g] // C.last != line:
            G.first[n_groups] = g
            G.start[n_groups] = C.start[g]
            for k in range(d):
                G.lo[n_groups * d + k] = INFINITY
                G.hi[n_groups * d + k] = -INFINITY
            G.top[n_groups] = -INFINITY
            n_groups += 1
            count = 0
            line = C.gid[g] // C.last
        count += 1
        for k in range(d):
            if C.lo[g * d + k] < G.lo[(n_groups - 1) * d + k]:
                G.lo[(n_groups - 1) * d + k] = C.lo[g * d + k]
            if C.hi[g * d + k] > G.hi[(n_groups - 1) * d + k]:
                G.hi[(n_groups - 1) * d + k] = C.hi[g * d + k]
        if C.top[g] > G.top[n_groups - 1]:
            G.top[n_groups - 1] = C.top[g]
    G.first[n_groups] = C.n_cells
    G.start[n_groups] = C.start[C.n_cells]
    G.n_cells = n_groups
    if G.slope != NULL:
        for g in range(n_groups):
            tilt_cell(G, g, d)
    return True


cdef inline bint cell_prunable(
    const double* xr, ColumnCells* C, Py_ssize_t g, Py_ssize_t d, int metric, double p,
    double pr, double tiny_bound,
) noexcept nogil:
    """Whether every pair of row ``xr`` and cell ``g`` is one the per-pair test skips with
    the cut at 0 (the threshold of :func:`point_pair_may_price_below`, for the cell's
    largest potential: it only grows with the potential)."""
    cdef double u = 1.1102230246251565e-16, thr, limit
    thr = C.top[g] - pr
    thr = (thr + 16.0 * u * (fabs(C.top[g]) + fabs(pr))) * (1.0 + 16.0 * u)
    if thr <= 0.0:
        return True
    if thr < tiny_bound:
        return False
    limit = to_power(thr * (1.0 + 4.0 * u), metric, p) * (1.0 + 4.0 * u)
    return limit < INFINITY and box_power(xr, &C.lo[g * d], &C.hi[g * d], d, metric) >= limit


cdef void tilt_cell(ColumnCells* C, Py_ssize_t g, Py_ssize_t d) noexcept nogil:
    """The data of :func:`tilted_prunable` for cell ``g``: the least-squares slope
    ``s`` of its potentials over its points (0 when their spread is degenerate,
    scaled to norm 1 when longer: any slope keeps the bound rigorous, this one makes
    it tight), its box's centre and half-widths (rounded up), an upper bound on
    ``pc - <s, y>`` over its points and its largest ``|pc|``."""
    cdef double u = 1.1102230246251565e-16
    cdef Py_ssize_t q, k, j, q0 = C.start[g], q1 = C.start[g + 1]
    cdef double* sl = &C.slope[g * d]
    cdef double mean[3]
    cdef double cov[3][3]
    cdef double rhs[3]
    cdef double pbar = 0.0, det, e, norm = 0.0, lin, mag, top = -INFINITY, amax = 0.0
    cdef double lo, hi, c, width = 0.0
    for k in range(d):
        lo = C.lo[g * d + k]
        hi = C.hi[g * d + k]
        c = lo + 0.5 * (hi - lo)
        if c < lo:
            c = lo
        if c > hi:
            c = hi
        C.ctr[g * d + k] = c
        C.half[g * d + k] = (hi - c if hi - c > c - lo else c - lo) * (1.0 + 4.0 * u)
        if C.half[g * d + k] > width:
            width = C.half[g * d + k]
        mean[k] = 0.0
        rhs[k] = 0.0
        sl[k] = 0.0
        for j in range(d):
            cov[k][j] = 0.0
    # The fit in coordinates relative to the centre and scaled by the widest
    # half-width, so that its products neither over- nor underflow at any scale.
    if not (0.0 < width < INFINITY):
        width = 1.0  # a single point (no slope is fitted) or a cell without points
    for q in range(q0, q1):
        pbar += C.pc[q]
        for k in range(d):
            mean[k] += (C.y[q * d + k] - C.ctr[g * d + k]) / width
    pbar /= <double> (q1 - q0)
    for k in range(d):
        mean[k] /= <double> (q1 - q0)
    for q in range(q0, q1):
        e = C.pc[q] - pbar
        for k in range(d):
            rhs[k] += ((C.y[q * d + k] - C.ctr[g * d + k]) / width - mean[k]) * e
            for j in range(d):
                cov[k][j] += (((C.y[q * d + k] - C.ctr[g * d + k]) / width - mean[k])
                              * ((C.y[q * d + j] - C.ctr[g * d + j]) / width - mean[j]))
    # The normal equations by Cramer's rule (d is 2 or 3); a near-singular spread
    # (points on a line, one point) keeps the slope 0.
    if d == 2:
        det = cov[0][0] * cov[1][1] - cov[0][1] * cov[1][0]
        if fabs(det) > 1e-9 * (cov[0][0] * cov[1][1]) and det != 0.0:
            sl[0] = (rhs[0] * cov[1][1] - cov[0][1] * rhs[1]) / det
            sl[1] = (cov[0][0] * rhs[1] - rhs[0] * cov[1][0]) / det
    else:
        det = (cov[0][0] * (cov[1][1] * cov[2][2] - cov[1][2] * cov[2][1])
               - cov[0][1] * (cov[1][0] * cov[2][2] - cov[1][2] * cov[2][0])
               + cov[0][2] * (cov[1][0] * cov[2][1] - cov[1][1] * cov[2][0]))
        if fabs(det) > 1e-9 * (cov[0][0] * cov[1][1] * cov[2][2]) and det != 0.0:
            sl[0] = (rhs[0] * (cov[1][1] * cov[2][2] - cov[1][2] * cov[2][1])
                     - cov[0][1] * (rhs[1] * cov[2][2] - cov[1][2] * rhs[2])
                     + cov[0][2] * (rhs[1] * cov[2][1] - cov[1][1] * rhs[2])) / det
            sl[1] = (cov[0][0] * (rhs[1] * cov[2][2] - cov[1][2] * rhs[2])
                     - rhs[0] * (cov[1][0] * cov[2][2] - cov[1][2] * cov[2][0])
                     + cov[0][2] * (cov[1][0] * rhs[2] - rhs[1] * cov[2][0])) / det
            sl[2] = (cov[0][0] * (cov[1][1] * rhs[2] - rhs[1] * cov[2][1])
                     - cov[0][1] * (cov[1][0] * rhs[2] - rhs[1] * cov[2][0])
                     + rhs[0] * (cov[1][0] * cov[2][1] - cov[1][1] * cov[2][0])) / det
    for k in range(d):
        sl[k] /= width  # back to the coordinates' units
        if not fabs(sl[k]) < INFINITY:  # nan or inf: no slope
            for j in range(d):
                sl[j] = 0.0
            break
        norm += sl[k] * sl[k]
    if norm > 1.0:
        norm = sqrt(norm)
        for k in range(d):
            sl[k] /= norm
    # The bound on w = pc - <s, y>: each computed w is within (d + 1) u of the
    # magnitudes |pc| + sum |s_k y_k|; 16u covers that and the rounding of the sum.
    for q in range(q0, q1):
        lin = 0.0
        mag = fabs(C.pc[q])
        for k in range(d):
            lin += sl[k] * C.y[q * d + k]
            mag += fabs(sl[k] * C.y[q * d + k])
        e = (C.pc[q] - lin) + 16.0 * u * mag
        if e > top:
            top = e
        if fabs(C.pc[q]) > amax:
            amax = fabs(C.pc[q])
    C.wtop[g] = top
    C.amax[g] = amax


cdef inline bint tilted_prunable(
    const double* xr, ColumnCells* C, Py_ssize_t g, Py_ssize_t d, double pr,
) noexcept nogil:
    """Whether every euclidean pair of row ``xr`` and cell ``g`` is proven to have
    ``|x - y| >= pc - pr + 120u (|pc| + |pr|) + 0.99e-280`` (in exact arithmetic on the
    doubles: the test asks 128u and 1e-280 of the rounded sum, which loses at most a few
    u of its terms), more than :func:`point_pair_may_price_below` needs (about 45u) to skip it
    with the cut at 0: so, like :func:`cell_prunable`, it only prunes pairs the
    per-pair test skips, and a pass finds the same keys and ``worst`` with or without it.

    Far-apart clouds defeat :func:`cell_prunable`: there the column potentials grow
    along the shift nearly as fast as the distance, ``pc ~ <s, y> + w`` with ``|s|``
    close to 1, and "distance to the box minus the largest potential" loses twice
    the cell's width on every cell along the shift.  Here the linear part is taken
    out: with ``f(y) = |x - y| - <s, y>`` (convex) and ``w = pc - <s, y>`` (the cell's
    own slope ``s``, :func:`tilt_cell`), ``|x - y| + pr - pc = f(y) + pr - w``, and on
    the box of centre ``c`` and half-widths ``h``,
    ``f(y) >= f(c) - sum_k |df/dy_k (c)| h_k`` (a subgradient bound; the gradient
    ``(c - x) / |c - x| - s`` is small when ``x`` lies along the cell's slope, which
    is where the plain bound fails).  Every rounded term carries its error bound:
    the unit vector's components to 10u, ``f(c)`` to 8u of its terms' magnitudes,
    the sum of the final comparison to 8u of its terms'.
    """
    cdef double u = 1.1102230246251565e-16
    cdef const double* c = &C.ctr[g * d]
    cdef const double* h = &C.half[g * d]
    cdef const double* sl = &C.slope[g * d]
    cdef double q[3]
    cdef double d2 = 0.0, dist, lin = 0.0, alin = 0.0, f, spread = 0.0, err, lhs, need
    cdef Py_ssize_t k
    for k in range(d):
        q[k] = c[k] - xr[k]
        d2 += q[k] * q[k]
    if not (tiny_power() <= d2 < 1e300):
        return False
    dist = sqrt(d2)
    for k in range(d):
        lin += sl[k] * c[k]
        alin += fabs(sl[k] * c[k])
        spread += (fabs(q[k] / dist - sl[k]) + 10.0 * u) * h[k]
    spread *= 1.0 + 8.0 * u
    f = dist - lin
    err = 8.0 * u * ((dist + alin) + fabs(f))
    lhs = (((f - spread) - err) - C.wtop[g]) + pr
    need = (128.0 * u * (C.amax[g] + fabs(pr)) + 1e-280
            + 8.0 * u * ((((fabs(f) + spread) + err) + fabs(C.wtop[g])) + fabs(pr)))
    return lhs >= need



cdef inline bint cells_prunable(
    const double* xr, ColumnCells* C, Py_ssize_t g, Py_ssize_t d, int metric, double p,
    double pr, double tiny_bound,
) noexcept nogil:
    """Whether every pair of row ``xr`` and cell (or group of cells) ``g`` is proven to be
    one the per-pair test skips: :func:`cell_prunable`, or :func:`tilted_prunable` when
    the cells carry the shift's slope."""
    return cell_prunable(xr, C, g, d, metric, p, pr, tiny_bound) or (
        C.slope != NULL and tilted_prunable(xr, C, g, d, pr))

cdef inline void enter_pair(
    double value, double pr, double lr, double pc, double lc, Py_ssize_t r, Py_ssize_t c,
    Py_ssize_t kr, Py_ssize_t kc, double* row_val, Py_ssize_t* row_arg, double* row_cut,
    ColumnLines* L, double* worst,
) noexcept nogil:
    """The exact test of one pair that its source could not skip: the rigorous lower
    bound enters ``worst``, and a reduced cost negative beyond its error bound
    competes for the row's and the column's buffers (strictly smaller values win,
    so among equal ones the first met stays)."""
    cdef double upper, rc = reduced_cost_bounds(value, pr, lr, pc, lc, &upper)
    if rc < worst[0]:
        worst[0] = rc
    if upper >= 0.0:
        return
    if rc < row_cut[0]:
        keep_smallest(row_val, row_arg, kr, rc, c)
        row_cut[0] = row_val[kr - 1]
    if rc < L.cut[c]:
        keep_smallest(&L.val[c * kc], &L.arg[c * kc], kc, rc, r)
        L.cut[c] = L.val[c * kc + kc - 1]


cdef inline void dense_pairs(
    const double* row_ptr, bint all_cols, const Py_ssize_t* col_map, Py_ssize_t c0,
    Py_ssize_t c1, Py_ssize_t r, double pr, double lr, const double* pi_cols,
    const double* low_cols, Py_ssize_t kr, Py_ssize_t kc, double* row_val,
    Py_ssize_t* row_arg, double* row_cut, ColumnLines* L, double* worst,
) noexcept nogil:
    """Columns ``c0:c1`` of a dense row: a pair whose plain float64 reduced cost is
    positive beyond the rounding band is skipped (its lower bound is >= 0), every
    other one gets the exact test."""
    cdef Py_ssize_t c
    cdef double value, rc, pc
    for c in range(c0, c1):
        pc = pi_cols[c]
        value = row_ptr[c] if all_cols else row_ptr[col_map[c]]
        rc = value + pr - pc
        if rc > filter_band(fabs(value) + fabs(pr) + fabs(pc)):
            continue  # certainly nonnegative: nearly every pair
        enter_pair(value, pr, lr, pc, low_cols[c], r, c, kr, kc,
                   row_val, row_arg, row_cut, L, worst)


cdef inline void scan_rows(
    Workspace* W, PairSource* S, int kind, ColumnCells* C, ColumnCells* G, Py_ssize_t n,
    Py_ssize_t m, Py_ssize_t kr, Py_ssize_t kc, Py_ssize_t r0, Py_ssize_t r1, ColumnLines* L,
) noexcept nogil:
    """Price rows ``r0:r1`` against every column, into the rows' own buffers and the
    column buffers ``L`` (reset here).  ``kind`` is ``S.kind``, passed as a literal
    so that each source gets its own compiled loop; ``C`` the column cells of a
    point source, or NULL; ``kr`` and ``kc`` the buffer lengths of rows and columns."""
    cdef double* row_val = W.line_val
    cdef Py_ssize_t* row_arg = W.line_arg
    cdef const double* pi_cols = W.T.pi + n
    cdef const double* low_cols = W.T.pi_low + n
    cdef const Py_ssize_t* col_map = W.col_map
    cdef bint all_cols = W.all_cols
    cdef Py_ssize_t r, c, q, g, h, g0, g1, d = S.d
    cdef int metric = S.metric
    cdef double p = S.p, tiny_bound = 0.0
    cdef double value, rc, pr, lr, pc, row_cut, cut, worst = INFINITY
    cdef const double* row_ptr = NULL
    cdef const double* xr = NULL
    if kind == SOURCE_POINTS:
        tiny_bound = from_power(tiny_power(), metric, p)
    for q in range(m * kc):
        L.val[q] = 0.0
        L.arg[q] = -1
    for c in range(m):
        L.cut[c] = 0.0
    for q in range(r0 * kr, r1 * kr):
        row_val[q] = 0.0
        row_arg[q] = -1
    for r in range(r0, r1):
        pr = W.T.pi[r]
        lr = W.T.pi_low[r]
        row_cut = 0.0
        if kind == SOURCE_DENSE:
            row_ptr = &S.matrix[W.row_map[r] * S.stride]
            if not all_cols:
                dense_pairs(row_ptr, False, col_map, 0, m, r, pr, lr, pi_cols, low_cols,
                            kr, kc, &row_val[r * kr], &row_arg[r * kr], &row_cut, L, &worst)
                continue
            # Eight pairs at a time: nearly every group is proven skippable at once.
            c = 0
            while c + 8 <= m:
                if dense8_may_enter(&row_ptr[c], pr, &pi_cols[c]):
                    dense_pairs(row_ptr, True, col_map, c, c + 8, r, pr, lr, pi_cols,
                                low_cols, kr, kc, &row_val[r * kr], &row_arg[r * kr],
                                &row_cut, L, &worst)
                c += 8
            dense_pairs(row_ptr, True, col_map, c, m, r, pr, lr, pi_cols, low_cols,
                        kr, kc, &row_val[r * kr], &row_arg[r * kr], &row_cut, L, &worst)
        elif C == NULL:
            xr = &S.x[W.row_map[r] * d]
            for c in range(m):
                pc = pi_cols[c]
                cut = row_cut if row_cut > L.cut[c] else L.cut[c]
                if not point_pair_may_price_below(
                        xr, &S.y[col_map[c] * d], d, metric, p, pr, pc, cut, &value):
                    continue  # proven not to enter either buffer: nearly every pair
                enter_pair(value, pr, lr, pc, low_cols[c], r, c, kr, kc,
                           &row_val[r * kr], &row_arg[r * kr], &row_cut, L, &worst)
        else:
            xr = &S.x[W.row_map[r] * d]
            for h in range(G.n_cells if G != NULL else 1):
                if G != NULL:
                    if cells_prunable(xr, G, h, d, metric, p, pr, tiny_bound):
                        continue  # every pair of the group is one the test below skips
                    g0 = G.first[h]
                    g1 = G.first[h + 1]
                else:
                    g0 = 0
                    g1 = C.n_cells
                for g in range(g0, g1):
                    if cells_prunable(xr, C, g, d, metric, p, pr, tiny_bound):
                        continue  # every pair of the cell is one the test below skips
                    for q in range(C.start[g], C.start[g + 1]):
                        c = C.col[q]
                        pc = C.pc[q]
                        cut = row_cut if row_cut > L.cut[c] else L.cut[c]
                        if not point_pair_may_price_below(
                                xr, &C.y[q * d], d, metric, p, pr, pc, cut, &value):
                            continue
                        enter_pair(value, pr, lr, pc, low_cols[c], r, c, kr, kc,
                                   &row_val[r * kr], &row_arg[r * kr], &row_cut, L, &worst)
    L.worst = worst


cdef void merge_columns(ColumnLines* lines, int n_blocks, Py_ssize_t m, Py_ssize_t kc) noexcept nogil:
    """Merge the blocks' column buffers into ``lines[0]``: the kc smallest per column by
    (value, row); blocks hold ascending rows, so ties go to the earlier block."""
    cdef Py_ssize_t c, q
    cdef Py_ssize_t pos[MAX_SCAN_THREADS]
    cdef double best_val
    cdef double merged_val[SCAN_K]
    cdef Py_ssize_t merged_arg[SCAN_K]
    cdef int t, best
    for c in range(m):
        for t in range(n_blocks):
            pos[t] = 0
        for q in range(kc):
            best = -1
            best_val = 0.0
            for t in range(n_blocks):
                if pos[t] < kc and lines[t].arg[c * kc + pos[t]] >= 0 and (
                        best < 0 or lines[t].val[c * kc + pos[t]] < best_val):
                    best = t
                    best_val = lines[t].val[c * kc + pos[t]]
            if best < 0:
                merged_val[q] = 0.0
                merged_arg[q] = -1
            else:
                merged_val[q] = best_val
                merged_arg[q] = lines[best].arg[c * kc + pos[best]]
                pos[best] += 1
        for q in range(kc):
            lines[0].val[c * kc + q] = merged_val[q]
            lines[0].arg[c * kc + q] = merged_arg[q]


cdef Py_ssize_t scan_keys(
    Workspace* W, PairSource* S, Py_ssize_t n, Py_ssize_t m, double* worst_out,
) noexcept nogil:
    """A full pricing pass: for every row and every column its SCAN_K (SCAN_K_SMALL on
    a small problem) most negative reduced costs, counted only when negative beyond
    the rigorous bound of their exact evaluation (the simplex's exact test), as keys.  When nothing is found,
    ``worst_out`` gets a rigorous lower bound on every reduced cost; otherwise
    -inf.  ``W.n_threads`` threads share the rows of a large pass; the result does
    not depend on their number."""
    cdef Py_ssize_t k = SCAN_K if n * m >= WIDE_SCAN_MIN_PAIRS else SCAN_K_SMALL
    cdef Py_ssize_t kr = k if k < m else m
    cdef Py_ssize_t kc = k if k < n else n
    cdef Py_ssize_t r, c, q, out = 0
    cdef int t, n_blocks = 1
    cdef double worst = INFINITY
    cdef ColumnLines lines[MAX_SCAN_THREADS]
    cdef char* extra = NULL
    cdef size_t per_block = <size_t> m * kc * (sizeof(double) + sizeof(Py_ssize_t)) + <size_t> m * sizeof(double)
    lines[0].val = W.line_val + n * kr
    lines[0].arg = W.line_arg + n * kr
    lines[0].cut = W.col_cut
    if W.n_threads > 1 and n * m >= PARALLEL_MIN_PAIRS and n > 1:
        n_blocks = W.n_threads if W.n_threads < MAX_SCAN_THREADS else MAX_SCAN_THREADS
        if n_blocks > n:
            n_blocks = <int> n
        extra = <char*> malloc((n_blocks - 1) * per_block)
        if extra == NULL:
            n_blocks = 1  # the same result on one thread
    cdef ColumnCells cells, groups
    cdef ColumnCells* C = NULL
    cdef ColumnCells* G = NULL
    if S.kind == SOURCE_POINTS and build_cells(W, S, n, m, &cells):
        C = &cells
        if GROUPED and build_groups(C, S.d, &groups):
            G = &groups
    if n_blocks == 1:
        if S.kind == SOURCE_DENSE:
            scan_rows(W, S, SOURCE_DENSE, NULL, NULL, n, m, kr, kc, 0, n, &lines[0])
        else:
            scan_rows(W, S, SOURCE_POINTS, C, G, n, m, kr, kc, 0, n, &lines[0])
    else:
        for t in range(1, n_blocks):
            lines[t].val = <double*> (extra + (t - 1) * per_block)
            lines[t].arg = <Py_ssize_t*> (extra + (t - 1) * per_block + m * kc * sizeof(double))
            lines[t].cut = <double*> (extra + (t - 1) * per_block
                                      + m * kc * (sizeof(double) + sizeof(Py_ssize_t)))
        for t in prange(n_blocks, schedule="static", chunksize=1, num_threads=n_blocks):
            if S.kind == SOURCE_DENSE:
                scan_rows(W, S, SOURCE_DENSE, NULL, NULL, n, m, kr, kc, t * n // n_blocks,
                          (t + 1) * n // n_blocks, &lines[t])
            else:
                scan_rows(W, S, SOURCE_POINTS, C, G, n, m, kr, kc, t * n // n_blocks,
                          (t + 1) * n // n_blocks, &lines[t])
        merge_columns(lines, n_blocks, m, kc)
        free(extra)
    if G != NULL:
        free(groups.block)
    if C != NULL:
        free(cells.block)
    for t in range(n_blocks):
        if lines[t].worst < worst:
            worst = lines[t].worst
    for r in range(n):
        for q in range(kr):
            if W.line_arg[r * kr + q] >= 0:
                W.keys[out] = <int64_t> r * m + W.line_arg[r * kr + q]
                out += 1
    for c in range(m):
        for q in range(kc):
            if lines[0].arg[c * kc + q] >= 0:
                W.keys[out] = <int64_t> lines[0].arg[c * kc + q] * m + c
                out += 1
    # With something found, which pairs were evaluated depends on the order of
    # the pass (the cuts), and so would their minimum: report only what holds.
    worst_out[0] = worst if out == 0 else -INFINITY
    return out


cdef void _hook_problem(
    Workspace* W, PairSource* S, Py_ssize_t* rows, Py_ssize_t* cols, const double* x,
    const double* y, Py_ssize_t d, int metric, double p,
):
    """The test hooks' problem: every point of ``x`` a row and of ``y`` a column (the
    identity maps ``rows``, ``cols``), in a zeroed workspace."""
    memset(W, 0, sizeof(W[0]))
    W.row_map = rows
    W.col_map = cols
    W.all_cols = True
    S.kind = SOURCE_POINTS
    S.x = x
    S.y = y
    S.d = d
    S.metric = metric
    S.p = p


def _point_matrix(
    const double[:, ::1] x not None, const double[:, ::1] y not None, int metric, double p,
    int n_threads=1,
):
    """Test hook: the cost matrix :func:`fill_costs` forms for every point of ``x``
    against every point of ``y`` (metric code of emd._core._metric), on ``n_threads``
    threads (tests compare its bits with an independent evaluation and across thread
    counts)."""
    import numpy as np
    cdef Py_ssize_t n = x.shape[0], m = y.shape[0]
    if y.shape[1] != x.shape[1] or n == 0 or m == 0 or x.shape[1] == 0:
        raise ValueError("x and y must be non-empty with the same number of columns")
    if n_threads < 1:
        raise ValueError(f"n_threads must be at least 1, got {n_threads}")
    out = np.empty((n, m))
    cdef double[:, ::1] out_view = out
    cdef Py_ssize_t[::1] rows = np.arange(n, dtype=np.intp)
    cdef Py_ssize_t[::1] cols = np.arange(m, dtype=np.intp)
    cdef Workspace W
    cdef PairSource S
    _hook_problem(&W, &S, &rows[0], &cols[0], &x[0, 0], &y[0, 0], x.shape[1], metric, p)
    W.cost_buf = &out_view[0, 0]
    W.n_threads = n_threads
    with nogil:
        fill_costs(&W, &S, n, m, m)
    return out


def _tilted_pruned(
    const double[:, ::1] x not None, const double[:, ::1] y not None,
    const double[::1] pi not None,
):
    """Test hook: which euclidean pairs :func:`tilted_prunable` prunes, for the
    potentials ``pi`` of the rows then the columns (reduced cost ``|x_i - y_j| +
    pi_i - pi_(n+j)``), as an ``(n, m)`` boolean array; all False when a pass would
    not build cells (fewer than ``PRUNE_MIN_PAIRS`` pairs, not 2-D or 3-D).  The
    cells are those of a pass, bound by bound; the plain bound is not applied."""
    import numpy as np
    cdef Py_ssize_t n = x.shape[0], m = y.shape[0], r, q, g, d = x.shape[1]
    if y.shape[1] != d or n == 0 or m == 0 or pi.shape[0] != n + m:
        raise ValueError("x and y need the same columns, pi one entry per row and column")
    out = np.zeros((n, m), dtype=bool)
    cdef Py_ssize_t[::1] rows = np.arange(n, dtype=np.intp)
    cdef Py_ssize_t[::1] cols = np.arange(m, dtype=np.intp)
    cdef Workspace W
    cdef PairSource S
    cdef ColumnCells C
    _hook_problem(&W, &S, &rows[0], &cols[0], &x[0, 0], &y[0, 0], d, EUCLIDEAN, 2.0)
    W.T.pi = <double*> &pi[0]
    if not build_cells(&W, &S, n, m, &C):
        return out
    try:
        if C.slope == NULL:
            return out
        for r in range(n):
            for g in range(C.n_cells):
                if tilted_prunable(&x[r, 0], &C, g, d, pi[r]):
                    for q in range(C.start[g], C.start[g + 1]):
                        out[r, C.col[q]] = True
    finally:
        free(C.block)
    return out
