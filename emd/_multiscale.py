"""A multiscale start for large point clouds: a feasible plan from a coarsened problem.

Both clouds are bucketed into the cells of one regular grid over their common
bounding box (about :data:`POINTS_PER_CELL` points per cell); each nonempty cell
becomes a coarse point at its mass-weighted centroid carrying the cell's mass.
The coarse problem is solved by the same exact solver, and its plan is spread
over the member points: each cell's points share out the cell's coarse arcs, and
each coarse arc's flow is split between the points of its two cells by the
north-west corner rule (points and arcs ordered along the first axis).  The
result is a plan of the fine problem, feasible up to rounding, whose support is
a forest (the coarse basis is one and every split a staircase); the fine solve
starts its spanning tree from it (see ``start_from_plan`` in
``emd._core._starts``, which cuts whatever a rounding or a bad plan
would make infeasible).  The coarse plan also says where each cell's mass goes:
the fine candidates add the neighbours of every point moved by its cell's mean
displacement (or by each coarse arc of its cell, when the plan splits cells).

What bought what, on 2-D uniform clouds, n = 20 000 (2026-11-30, one machine,
CPU seconds of one run under load, pivots): before 15.4 s, 535 000; points along
a Z-order curve alone 13.3 s (wall), 696 000; the plan's forest start alone
16 s (wall), 357 000; the plan's support as candidates without the forest start
(with the order) 8.4 s, 609 000; order and forest start 4.2 s, 287 000; with 16
instead of 8 neighbours 3.8 s, 261 000; with 8 neighbours plus 8 moved ones
2.9 s, 221 000; cells of 8 points instead of 16 2.7 s, 195 000; no rounding
slivers across groups when the plan is spread (they had closed some 2400 cycles,
whose cut arcs then left 2000 components) 2.3 s, 174 000 (wall: median of 3 2.0 s).
The order and the start only pay together: the forest start keeps pivots few,
the order keeps each one local.

Plane clouds far apart (:func:`line_axis`) take another start instead: the monotone
plan across their shift (:func:`line_start`), which the coarse plan and neighbour
candidates cannot find there (their optimal arcs are not local).  Thin clouds (a strip)
search their neighbours with the thin axes stretched (:func:`thin_stretch`): their
optimal arcs are long and join points at about the same height.

Two more rules, for long-range transport between overlapping clouds (2026-12-04,
n = 20 000, uniform weights; fine solve alone, CPU seconds in one process at load
about 1, pivots, passes).  Euclidean costs are degenerate there: the optimal plan
moves mass along rays, any partner along a ray costs about the same, and the
optimal partner of a point is among the 16 candidates of the old rule for 9 % of
the mass on 8 clusters and 6 % on a Gaussian shifted by 1 sd (68 % on a uniform
square).

* **Per-arc candidates** (:func:`split_share`): a coarse plan that sends a cell's
  mass to places far apart gives a mean displacement between them, where none of
  its points go; each point is then moved by every coarse arc of its cell.  The
  optimal partner is among the candidates for 29 % of the mass on 8 clusters.
  8 clusters 6.74 s 976k 10 -> 3.97 s 521k 7; Gaussian shifted 9.85 s 1.13M 8 ->
  7.75 s 795k 7; circle and strip fewer pivots too.  Clouds whose coarse plan does
  not split (uniform, cube, annulus, helix, three clusters of different sizes)
  lost 10-25 % with them and keep the mean, bit for bit.
* **The strip start** (:func:`strip_axis`, :func:`strip_start`): clouds that are
  about translates of each other, their means 0.3 to 2 radii apart, start from the
  Knothe-Rosenblatt plan along the shift (strips across it, monotone within each),
  the translation itself for an exact translate: Gaussian shifted 7.46 s 795k 6 ->
  6.12 s 450k 6, squares half a side apart 7.48 s 732k 7 -> 5.46 s 389k 5.

Tried and left out: the neighbours of each point's partner in the spread plan
instead of the per-arc ones (8 clusters as good, 4.1 s; cube +40 %, three
clusters +30 %), both together or 16 per-arc neighbours (no better), all pairs of
the coarse support's cells as candidates (Schmitzer's shielding, which needs a
strictly convex cost: 29 % of the mass covered with 900 000 candidates).

Only the pivot path changes: the fine solve still ends on its own exact phase and a
full pricing pass that finds nothing, so the coarse answer is never trusted.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from emd import _planner

#: Points per coarse cell (of the larger cloud, if it filled the grid evenly).
#: Measured at n = 20 000 with 8 neighbours only (wall seconds, loaded machine): 4
#: 8.9 s, 8 6.4 s, 16 6.5 s, 32 6.8 s, 64 7.2 s; with the moved neighbours (CPU
#: seconds), 8 against 16: n = 4000 0.44 / 0.47 s, 10 000 1.01 / 1.03 s, 20 000
#: 2.73 / 2.85 s, 3-D 20 000 5.2 / 5.7 s, 2-D clustered 20 000 2.9 / 3.3 s.  From
#: about 2 * 2**11 points a side the coarse problem takes this path in turn.
POINTS_PER_CELL = 8


def _cells(points: np.ndarray, lo: np.ndarray, width: np.ndarray, per_axis: int) -> np.ndarray:
    """The flat grid cell of every point."""
    idx = np.floor((points - lo) / width).astype(np.int64)
    np.clip(idx, 0, per_axis - 1, out=idx)
    flat = np.zeros(len(points), dtype=np.int64)
    for k in range(points.shape[1]):
        flat = flat * per_axis + idx[:, k]
    return flat


def _cluster(points: np.ndarray, mass: np.ndarray, cell: np.ndarray):
    """Group points by cell: (cluster of each point, cluster masses, centroids)."""
    _, member = np.unique(cell, return_inverse=True)
    member = member.ravel()
    total = np.bincount(member, weights=mass)
    centroid = np.empty((total.size, points.shape[1]))
    for k in range(points.shape[1]):
        centroid[:, k] = np.bincount(member, weights=mass * points[:, k]) / total
    return member, total, centroid


def _overlap(left: np.ndarray, right: np.ndarray, left_group: np.ndarray,
             right_group: np.ndarray, tol: float):
    """Pieces of two partitions of one interval into consecutive parts of lengths
    ``left`` and ``right``, both listed group by group (the same groups, in the same
    order, with about the same total each): for every piece longer than ``tol``
    within one group, the part of each side it lies in and its length.

    The two sides' group boundaries differ by the rounding of their running sums
    (which grows with the number of parts); a piece across groups is such a sliver,
    and is dropped rather than joining two points the coarse plan does not join.
    """
    cl, cr = np.cumsum(left), np.cumsum(right)
    ends = np.union1d(cl, cr)
    starts = np.concatenate(([0.0], ends[:-1]))
    length = ends - starts
    mid = starts + 0.5 * length
    i = np.searchsorted(cl, mid, side="right")
    j = np.searchsorted(cr, mid, side="right")
    keep = (length > tol) & (i < left.size) & (j < right.size)
    i, j, length = i[keep], j[keep], length[keep]
    same = left_group[i] == right_group[j]
    return i[same], j[same], length[same]


#: A grid whose occupied cells hold on average more than this many times
#: POINTS_PER_CELL points is refined (see _refined_per_axis).
CROWDED = 1.5


def _refined_per_axis(x: np.ndarray, y: np.ndarray, lo: np.ndarray, span: np.ndarray,
                      per_axis: int) -> int:
    """Cells per axis such that the occupied cells hold about POINTS_PER_CELL points.

    The first guess spreads the larger cloud over the whole bounding box; clouds
    that fill only part of it (two clouds far apart, points on a curve, clusters)
    then crowd into few cells, and the coarse plan says little about where each
    point goes.  Refined by the crowding (its d-th root: a filled box and a curve
    both converge) a few times; a cloud filling its box keeps the first grid, and
    its path.  Measured (2026-12-04, n = 20 000, loaded machine): see the zoo rows
    of ``python -m benchmarks --only zoo``.
    """
    d = x.shape[1]
    # int64 cell numbers: per_axis ** d must stay below 2**62.
    top = int(2 ** (62 / d))
    for _ in range(6):
        width = np.where(span > 0, span / per_axis, 1.0)
        crowding = max(
            len(x) / np.unique(_cells(x, lo, width, per_axis)).size,
            len(y) / np.unique(_cells(y, lo, width, per_axis)).size,
        ) / POINTS_PER_CELL
        if crowding <= CROWDED or per_axis >= top:
            break
        per_axis = min(top, math.ceil(per_axis * crowding ** (1.0 / d)))
    return per_axis


class Start(NamedTuple):
    """A start for the fine solve: the support of a feasible plan (``rows[k]``,
    ``cols[k]``), and where the coarse plan sends every point.

    Without owners, ``x_moved`` and ``y_moved`` are every point moved by its cell's
    mean displacement in the coarse plan (rows toward where they send, columns back
    to where they receive from), and the candidates pair the moved rows with the
    moved columns.  With owners (a coarse plan that splits cells, see
    :func:`split_share`), ``x_moved[k]`` is row ``x_owner[k]`` moved by one coarse arc
    of its cell (one position per arc), and likewise for the columns; the candidates
    pair those positions with the points of the other side where they are."""

    rows: np.ndarray
    cols: np.ndarray
    x_moved: np.ndarray
    y_moved: np.ndarray
    x_owner: np.ndarray | None = None
    y_owner: np.ndarray | None = None


class Coarse(NamedTuple):
    """The coarsened problem: one point per nonempty cell at its mass-weighted centroid
    (``x``, ``y``) carrying the cell's mass (``a``, ``b``), and the cell of every fine
    point (``row_of``, ``col_of``)."""

    a: np.ndarray
    b: np.ndarray
    x: np.ndarray
    y: np.ndarray
    row_of: np.ndarray
    col_of: np.ndarray
    width: np.ndarray


def coarsen(x: np.ndarray, y: np.ndarray, a: np.ndarray, b: np.ndarray) -> Coarse | None:
    """The :class:`Coarse` problem of two clouds; None when they are not coarsened (more
    than :data:`emd._planner.MULTISCALE_MAX_DIM` dimensions, or too few points for
    cells to merge any).  Every weight must be positive.  The caller solves it exactly
    and hands its plan to :func:`spread`."""
    n, m = len(a), len(b)
    d = x.shape[1]
    if d > _planner.MULTISCALE_MAX_DIM or d == 0:
        return None
    per_axis = max(1, math.floor((max(n, m) / POINTS_PER_CELL) ** (1.0 / d)))
    if per_axis < 2:
        return None
    lo = np.minimum(x.min(axis=0), y.min(axis=0))
    hi = np.maximum(x.max(axis=0), y.max(axis=0))
    span = hi - lo
    if not np.all(np.isfinite(span)):
        return None
    per_axis = _refined_per_axis(x, y, lo, span, per_axis)
    width = np.where(span > 0, span / per_axis, 1.0)
    row_of, ca, cx = _cluster(x, a, _cells(x, lo, width, per_axis))
    col_of, cb, cy = _cluster(y, b, _cells(y, lo, width, per_axis))
    if ca.size * 2 > n and cb.size * 2 > m:
        return None  # cells hardly merge points: the coarse problem is the fine one
    return Coarse(ca, cb, cx, cy, row_of, col_of, width)


def spread(
    x: np.ndarray, y: np.ndarray, a: np.ndarray, b: np.ndarray, coarse: Coarse,
    big_i: np.ndarray, big_j: np.ndarray, flow: np.ndarray,
) -> Start:
    """A :class:`Start` for the fine problem from the plan ``(big_i, big_j, flow)`` of its
    :func:`coarsen` ed problem ``coarse``."""
    d = x.shape[1]
    ca, cb, cx, cy, row_of, col_of, _ = coarse
    keep = flow > 0
    big_i, big_j, flow = big_i[keep], big_j[keep], flow[keep]
    tol = 1e-12 * max(math.fsum(a), math.fsum(b))
    # Within a cell, points and coarse arcs are both ordered along the first
    # axis, so the east side of a cell feeds the arcs toward the east.
    row_pts = np.lexsort((x[:, 0], row_of))
    arcs_by_row = np.lexsort((cy[big_j, 0], big_i))
    pi, pa, pf = _overlap(a[row_pts], flow[arcs_by_row], row_of[row_pts],
                          big_i[arcs_by_row], tol)
    x_point, x_arc = row_pts[pi], arcs_by_row[pa]
    col_pts = np.lexsort((y[:, 0], col_of))
    arcs_by_col = np.lexsort((cx[big_i, 0], big_j))
    qi, qa, qf = _overlap(b[col_pts], flow[arcs_by_col], col_of[col_pts],
                          big_j[arcs_by_col], tol)
    y_point, y_arc = col_pts[qi], arcs_by_col[qa]
    # Each coarse arc's flow between its row pieces and its column pieces.
    xs = np.lexsort((x[x_point, 0], x_arc))
    ys = np.lexsort((y[y_point, 0], y_arc))
    si, sj, _ = _overlap(pf[xs], qf[ys], x_arc[xs], y_arc[ys], tol)
    out_i = np.bincount(big_i, weights=flow, minlength=ca.size)
    in_j = np.bincount(big_j, weights=flow, minlength=cb.size)
    shift_i = np.empty_like(cx)
    shift_j = np.empty_like(cy)
    for k in range(d):
        step = cy[big_j, k] - cx[big_i, k]
        shift_i[:, k] = np.bincount(big_i, weights=flow * step, minlength=ca.size)
        shift_j[:, k] = np.bincount(big_j, weights=flow * step, minlength=cb.size)
    # A cell the coarse plan left without flow (it did not finish) stays in place.
    shift_i /= np.where(out_i > 0, out_i, np.inf)[:, None]
    shift_j /= np.where(in_j > 0, in_j, np.inf)[:, None]
    rows, cols = x_point[xs][si], y_point[ys][sj]
    step = cy[big_j] - cx[big_i]
    share = split_share(step, flow, big_i, big_j, shift_i, shift_j, coarse.width)
    if share <= _planner.SPLIT_SHARE:
        return Start(rows, cols, x + shift_i[row_of], y - shift_j[col_of])
    # Positions per point: the arcs of its cell (about 2.6 on the split clouds
    # measured); a crowded cell with many arcs (every point in one place) could
    # make it n * m, so beyond SPLIT_MAX_POSITIONS per point the mean serves.
    per_point_i = np.bincount(big_i, minlength=ca.size)[row_of]
    per_point_j = np.bincount(big_j, minlength=cb.size)[col_of]
    if (math.fsum(per_point_i) > _planner.SPLIT_MAX_POSITIONS * row_of.size
            or math.fsum(per_point_j) > _planner.SPLIT_MAX_POSITIONS * col_of.size):
        return Start(rows, cols, x + shift_i[row_of], y - shift_j[col_of])
    x_owner, x_arc = _per_arc(row_of, big_i, ca.size)
    y_owner, y_arc = _per_arc(col_of, big_j, cb.size)
    return Start(rows, cols, x[x_owner] + step[x_arc], y[y_owner] - step[y_arc], x_owner, y_owner)


def split_share(step: np.ndarray, flow: np.ndarray, big_i: np.ndarray, big_j: np.ndarray,
                shift_i: np.ndarray, shift_j: np.ndarray, width: np.ndarray) -> float:
    """The share of the coarse plan's mass on arcs whose displacement ``step`` lies more
    than :data:`emd._planner.SPLIT_FAR` cell widths from the mean displacement of its
    source cell (``shift_i``) or of its target cell (``shift_j``), the larger of the two.

    A cell whose mass goes to places far apart (two clusters, two ends of a long
    ray) has a mean displacement that points between them, where none of its
    points go: its points are then moved by each arc of their cell instead.
    """
    total = math.fsum(flow)
    if not total > 0:
        return 0.0
    share = 0.0
    for own, shift in ((big_i, shift_i), (big_j, shift_j)):
        off = np.sqrt(np.sum(((step - shift[own]) / width) ** 2, axis=1))
        share = max(share, math.fsum(flow[off > _planner.SPLIT_FAR]) / total)
    return share


def _per_arc(cell_of: np.ndarray, arc_cell: np.ndarray, n_cells: int):
    """Every (point, coarse arc of its cell) pair: the point and the arc, as two arrays."""
    by_cell = np.argsort(arc_cell, kind="stable")
    first = np.searchsorted(arc_cell[by_cell], np.arange(n_cells))
    count = np.bincount(arc_cell, minlength=n_cells)[cell_of]
    owner = np.repeat(np.arange(cell_of.size), count)
    # The k-th arc of each point's cell, k = 0 .. count - 1.
    rank = np.arange(owner.size) - np.repeat(np.cumsum(count) - count, count)
    return owner, by_cell[np.repeat(first[cell_of], count) + rank]


def spatial_order(points: np.ndarray) -> np.ndarray:
    """A permutation listing the points along a Z-order (Morton) curve over their bounding box.

    The pair solve sorts its candidate arcs by row and prices them in short blocks,
    and it keeps node arrays in point order: with points listed along the curve,
    successive pivots stay in one region and their tree updates touch nearby
    memory.
    """
    n, d = points.shape
    bits = 63 // max(d, 1)
    bits = min(bits, 21)
    lo = points.min(axis=0)
    span = float(np.max(points.max(axis=0) - lo)) if n else 0.0
    if n == 0 or not span > 0 or not math.isfinite(span):
        return np.arange(n)
    q = np.floor((points - lo) * ((2**bits - 1) / span)).astype(np.int64)
    np.clip(q, 0, 2**bits - 1, out=q)
    code = np.zeros(n, dtype=np.int64)
    for bit in range(bits - 1, -1, -1):
        for k in range(d):
            code = (code << 1) | ((q[:, k] >> bit) & 1)
    return np.argsort(code, kind="stable")


def line_axis(x: np.ndarray, y: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """The axis along which the optimal plan of two far-apart plane clouds is nearly
    monotone, or None.

    Clouds whose means lie ``D`` apart, more than :data:`emd._planner.LINE_FAR` times
    their radius, cost ``|D e + delta| = D + delta.e + |delta_perp|**2 / (2 D) + ...``
    (``e`` the direction of the shift, ``delta`` a point's displacement from the
    shift): every plan pays the first two terms alike, so the plan is, to leading
    order, that of the squared distance across ``e``, monotone along the
    perpendicular axis.  These costs are nearly degenerate and their optimal arcs are
    not local: on two unit squares 3 apart (n = 20 000) the optimal partner of a point
    is among the 256 nearest neighbours of the point moved by the shift for 13 % of the
    mass, but within 64 ranks of its monotone partner across the shift for all but
    0.005 %, and the monotone plan costs 2e-8 (relative) more than the optimum.
    """
    shifted = _shift(x, y, a, b)
    if shifted is None or not shifted[1] >= _planner.LINE_FAR * shifted[2]:
        return None
    e = shifted[0]
    return np.array([-e[1], e[0]])


def _gap_frame(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float] | None:
    """The corner ``lo`` of both clouds' bounding box and their largest coordinate gap
    ``unit``, so that ``(points - lo) / unit`` lies in the unit cube; None when the gap
    is zero or not finite."""
    lo = np.minimum(x.min(axis=0), y.min(axis=0))
    unit = float(np.max(np.maximum(x.max(axis=0), y.max(axis=0)) - lo))
    if not (unit > 0 and math.isfinite(unit)):
        return None
    return lo, unit


def _shift(x: np.ndarray, y: np.ndarray, a: np.ndarray, b: np.ndarray):
    """For plane clouds: the direction of the shift of their means, its length, the
    larger radius (root mean square distance to the mean), and both clouds, all in
    units of their largest coordinate gap; None when the means coincide."""
    if x.shape[1] != 2:
        return None
    # In units of the largest coordinate gap, so that no square overflows.
    frame = _gap_frame(x, y)
    if frame is None:
        return None
    x, y = (x - frame[0]) / frame[1], (y - frame[0]) / frame[1]
    mx = np.average(x, axis=0, weights=a)
    my = np.average(y, axis=0, weights=b)
    shift = my - mx
    rx = math.sqrt(float(np.average(np.sum((x - mx) ** 2, axis=1), weights=a)))
    ry = math.sqrt(float(np.average(np.sum((y - my) ** 2, axis=1), weights=b)))
    far = math.hypot(float(shift[0]), float(shift[1]))
    if not far > 0:
        return None
    return shift / far, far, max(rx, ry), x, y


def strip_axis(x: np.ndarray, y: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """The direction of the shift of two overlapping plane clouds that are about
    translates of each other, or None.

    Their means lie between :data:`emd._planner.STRIP_NEAR` and
    :data:`emd._planner.LINE_FAR` radii apart, and their marginals across the shift
    agree: the mean gap between their weighted quantiles (at 200 levels, the 1-D
    Wasserstein distance of the two marginals) is at most
    :data:`emd._planner.STRIP_MATCH` radii.  The optimal plan of a translate moves
    mass along parallel rays (Euclidean cost: on a Gaussian shifted by 1 sd, horizontal
    rays of every length), which the coarse plan of cells of 8 points does not resolve:
    :func:`strip_start` starts from the Knothe-Rosenblatt plan along the shift instead.
    """
    shifted = _shift(x, y, a, b)
    if shifted is None:
        return None
    e, far, radius, x, y = shifted
    if not _planner.STRIP_NEAR * radius <= far < _planner.LINE_FAR * radius:
        return None
    return e if _marginals_match(x, y, a, b, e, radius) else None


def _marginals_match(x, y, a, b, e, radius) -> bool:
    """Whether the clouds' marginals across the direction ``e`` agree: the mean gap
    between their weighted quantiles (at 200 levels, the 1-D Wasserstein distance of
    the two marginals) is at most :data:`emd._planner.STRIP_MATCH` radii."""
    across = np.array([-e[1], e[0]])
    levels = (np.arange(200) + 0.5) / 200
    qx = _weighted_quantiles(x @ across, a, levels)
    qy = _weighted_quantiles(y @ across, b, levels)
    return bool(float(np.mean(np.abs(qx - qy))) <= _planner.STRIP_MATCH * radius)


def line_width(x: np.ndarray, y: np.ndarray, a: np.ndarray, b: np.ndarray) -> int:
    """The band of the line start (:func:`line_start`) for two far-apart plane clouds:
    :data:`emd._planner.LINE_WIDTH` ranks for translates (marginals across the shift
    that agree, as :func:`strip_axis` tests them), whose optimal plan stays near the
    monotone one, :data:`emd._planner.LINE_WIDTH_UNEQUAL` for other shapes, whose plan
    the band does not hold anyway (its arcs then only make the pivots dearer).  Under
    the euclidean metric those take the coarse start instead (:func:`far_stretch`)."""
    shifted = _shift(x, y, a, b)
    if shifted is None:
        return _planner.LINE_WIDTH
    e, _, radius, x, y = shifted
    return (_planner.LINE_WIDTH if _marginals_match(x, y, a, b, e, radius)
            else _planner.LINE_WIDTH_UNEQUAL)


def far_stretch(x: np.ndarray, y: np.ndarray, across: np.ndarray):
    """For far-apart plane clouds that are not translates, the map under which the
    coarse plan's moved candidates are searched: the axis ``across`` the shift
    (:func:`line_axis`) stretched :data:`emd._planner.FAR_STRETCH` times; None when the
    clouds have no extent.

    Such clouds (marginals across the shift that disagree, :func:`line_width`) leave
    the monotone plan by hundreds of ranks, which no band of candidates holds (the
    zoo's disk to annulus at n = 20 000: median 90 ranks, 99 % within 508), so under the
    euclidean metric they start from the coarse plan, as overlapping clouds do.  Its
    cost is nearly degenerate along the shift: at the
    optimal potentials of the zoo's disk to annulus (n = 20 000) a row has a median 235
    columns within 1e-5 of a tight reduced cost (cost about 6), lying along the ray of
    its partner (half of them within 0.35 along it, but within 0.01 across it).  Plain
    neighbours of the moved point miss that ray; stretched ones follow it.  The map is
    linear (the same for both clouds, in units of their largest coordinate gap), so it
    only chooses candidates; the pricing passes decide.
    """
    frame = _gap_frame(x, y)
    if frame is None:
        return None
    lo, unit = frame
    along = np.array([across[1], -across[0]])
    transform = np.stack([along, _planner.FAR_STRETCH * across], axis=1)

    def stretch(points: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(((points - lo) / unit) @ transform)

    return stretch


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray, levels: np.ndarray):
    """The smallest value whose cumulative weight reaches each level (of the total)."""
    order = np.argsort(values, kind="stable")
    mass = np.cumsum(weights[order])
    return values[order][np.minimum(np.searchsorted(mass, levels * mass[-1]), values.size - 1)]


def strip_start(x: np.ndarray, y: np.ndarray, a: np.ndarray, b: np.ndarray, along: np.ndarray,
                points: int):
    """The Knothe-Rosenblatt plan along ``along`` as a start: both clouds cut across it
    into strips of equal mass (about ``points`` points of the larger cloud each), and
    within a strip the north-west corner of both sides ordered along it.  Returns its
    support ``(rows, cols)``."""
    across = np.array([-along[1], along[0]])
    quantum = points / max(x.shape[0], y.shape[0]) * max(math.fsum(a), math.fsum(b))

    def order(z, w):
        by_level = np.argsort(z @ across, kind="stable")
        ws = w[by_level]
        strip = np.floor((np.cumsum(ws) - 0.5 * ws) / quantum)
        return by_level[np.lexsort((z[by_level] @ along, strip))]

    ox, oy = order(x, a), order(y, b)
    tol = 1e-12 * max(math.fsum(a), math.fsum(b))
    one_x, one_y = np.zeros(x.shape[0], dtype=np.intp), np.zeros(y.shape[0], dtype=np.intp)
    pi, pj, _ = _overlap(a[ox], b[oy], one_x, one_y, tol)
    return ox[pi], oy[pj]


def line_start(x: np.ndarray, y: np.ndarray, a: np.ndarray, b: np.ndarray, axis: np.ndarray,
               width: int):
    """The monotone plan of two clouds along ``axis`` (the north-west corner of both
    sorted by their projections) as a start, and as candidates every pair whose ranks
    along the axis are within ``width`` of a pair of that plan.

    Returns ``(rows, cols, tails, heads)``: the plan's support, then the candidates."""
    px, py = x @ axis, y @ axis
    ox, oy = np.argsort(px, kind="stable"), np.argsort(py, kind="stable")
    tol = 1e-12 * max(math.fsum(a), math.fsum(b))
    one_x, one_y = np.zeros(x.shape[0], dtype=np.intp), np.zeros(y.shape[0], dtype=np.intp)
    pi, pj, _ = _overlap(a[ox], b[oy], one_x, one_y, tol)
    # Every column within width ranks of a piece's column: at most (n + m - 1) pieces
    # times (2 width + 1) candidates; the plan is monotone, so this band in rank
    # space also holds every row within about width of a column's partners when the
    # clouds have about the same size.
    step = np.arange(-width, width + 1)
    ti = np.repeat(pi, step.size)
    tj = (pj[:, None] + step).ravel()
    ok = (tj >= 0) & (tj < y.shape[0])
    ti, tj = ti[ok], tj[ok]
    return ox[pi], oy[pj], ox[ti], oy[tj]



def thin_stretch(x: np.ndarray, y: np.ndarray):
    """For clouds thin along some principal axis, the map under which the nearest
    neighbours of the first candidates are searched: the thin axes stretched to
    :data:`emd._planner.THIN_STRETCH` of the widest; None for other clouds.

    Euclidean costs of a thin cloud are nearly degenerate: on a strip of height ``h``,
    ``|delta| = |delta_1| + delta_2**2 / (2 |delta_1|) + ...``, so every plan that moves
    the mass along the strip the same way pays the first term alike, and the second
    prefers long arcs between points at about the same height.  Plain nearest
    neighbours are the points at about the same place along the strip whatever their
    height: on the strip of the zoo (1 x 0.001, n = 20 000) the optimal partner is among
    the 8 nearest for 10.5 % of the mass, among the 8 nearest with the height stretched
    100 or 300 times for 49 % and 52 % (64 nearest: 39 % against 89 %).  The map is
    linear (the same for both clouds, in units of their largest coordinate gap), so
    it only chooses candidates; the pricing passes decide.
    """
    if x.shape[1] < 2:
        return None
    frame = _gap_frame(x, y)
    if frame is None:
        return None
    lo, unit = frame
    # The spread of each cloud about its own mean: two wide clouds far apart are not
    # thin (their plane case takes the line start), two strips side by side are.
    sx, sy = (x - lo) / unit, (y - lo) / unit
    sx -= sx.mean(axis=0)
    sy -= sy.mean(axis=0)
    var, axes = np.linalg.eigh((sx.T @ sx + sy.T @ sy) / (len(sx) + len(sy)))
    sd = np.sqrt(np.maximum(var, 0.0))
    widest = float(sd[-1])
    thin = (sd < _planner.THIN_ASPECT * widest) & (sd > 0)
    if not (widest > 0 and thin.any()):
        return None
    # Capped: beyond it the stretched coordinates would be rounding noise.
    factor = np.where(thin, np.minimum(_planner.THIN_STRETCH * widest / np.where(thin, sd, 1.0),
                                       1e6), 1.0)
    transform = axes * factor  # rotate into the principal axes, then stretch

    def stretch(points: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(((points - lo) / unit) @ transform)

    return stretch
