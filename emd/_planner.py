"""One planner: which path a transport problem takes, decided from its shape and size.

Single solves (:mod:`emd.transport`, :mod:`emd._engine`) and batches
(:mod:`emd.batch`) ask the functions here, and the compiled pair solve takes its
limits (sizes, the wide-matrix rule, the Monge test) from the constants here (set
once, at import, by :func:`_configure_core`).
A batch entry equals the single solve of its pair bit for bit because both ask
the same questions here, not because each keeps a copy of the answers.

The paths, in the order a problem meets them:

* **closed form on the line** (:func:`on_the_line`): 1-D points under a metric
  that is a function of ``|x - y|`` with the monotone plan optimal;
* **few sources** (:func:`few_sources`): a handful of bins with mass on one
  side and very many on the other: shortest paths on the small side
  (:mod:`emd._few`), finished by the simplex;
* the **column-generation simplex** (:mod:`emd._engine`), whose first candidate
  arcs depend on the size (:func:`point_candidates`): all arcs of a small dense
  problem, a compiled brute-force search, k-d trees, or a **multiscale start**
  from a coarsened problem (:mod:`emd._multiscale`);
* **grids** go to :mod:`emd.structured._grid` by the caller's choice (their
  form, not their size, decides);
* **batches** chunk their pairs by :func:`default_chunk`.

Every threshold carries the measurement that set it.
"""

from __future__ import annotations

import numpy as np

from emd._core import _pair, _tree

__all__ = [
    "batch_alone",
    "core_limits",
    "default_chunk",
    "few_sources",
    "grid_pair_cells",
    "kept_counts",
    "on_the_line",
    "point_candidates",
    "support_matrix",
]

# ---------------------------------------------------------------------------
# Few sources (emd._few)

#: The small side may have at most this many bins with mass, the large side at
#: least LARGE_MIN and RATIO times as many.  Measured on random 2-D clouds
#: against the simplex on all nodes (time ratio new / old): 5 x 10 000: 0.07,
#: 20 x 10 000: 0.17, 50 x 20 000: 0.15, 64 x 10 000: 0.97, 64 x 50 000: 0.07,
#: 100 x 20 000: 0.53, but 100 x 5 000: 3.3 and 200 x 10 000: 5.5 (Dijkstra
#: costs O(n^2) per augmentation, and there are about as many augmentations as
#: large-side bins that change hands).
SMALL_MAX = 64
LARGE_MIN = 10_000
RATIO = 200
#: Costs and amounts are held as two small x large float64 arrays, and the heaps
#: take 16 (small - 1) bytes per large-side bin: about 32 small bytes per
#: large-side bin in all (at most about 260 MB here).  Beyond this the simplex on
#: all nodes, whose memory is O(small + large), takes over.
CELLS_MAX = 8_000_000

# ---------------------------------------------------------------------------
# First candidates of the column-generation simplex (emd._engine)

#: Point problems with at most this many pairs of points with mass take their
#: first candidates by a compiled brute-force pass (the k cheapest arcs of
#: every row and column, exactly); larger ones by k-d trees.  Batches solve
#: pairs up to this size in one compiled loop.
BRUTE_FORCE_CELLS = 4_000_000

#: Point problems with at least this many pairs of points with mass start from a
#: coarse plan.  Above :data:`BRUTE_FORCE_CELLS` on purpose: batches solve
#: pairs up to that size in their own compiled loop, which must give every pair the
#: single solve's value bit for bit, so no such pair may take this path.  Measured on
#: 2-D uniform clouds (2026-11-30, median CPU seconds, before -> after), n = 2100
#: (the first size on the path) 0.21 -> 0.13 s, 4000 0.41 -> 0.19 s, 10 000
#: 2.2 -> 0.74 s, 20 000 15.4 -> 3.1 s.
MULTISCALE_CELLS = 1 << 22

#: The simplex of a problem on the multiscale path prices its arcs in blocks of
#: sqrt(arcs) / MULTISCALE_BLOCK_DIV (the pair solve's default, for every other
#: problem, is 4; its rule LONG_ARC_LIST in emd._core._pair): shorter blocks keep
#: successive pivots nearer each other, and their subtree moves smaller.  Measured
#: (2026-12-04, n = 20 000, uniform weights, CPU s, pivots, one process, load about 2),
#: 4 / 16 / 32 / 64: disk to annulus 6 apart 4.01 / 3.49-3.50 / 3.37-3.52 / 3.36 s
#: (481k / 569k / 674k / 773k pivots), three clusters to a disk 5.65 / 5.12-5.60 /
#: 5.08-5.15 / 5.03 s, a disk to a 1.5x wider disk 3.99 / 3.54 / 3.46 s; the other zoo
#: shapes, 4 / 16 / 32: uniform square 0.92 / 0.87 / 0.86 s, 8 clusters 3.64 / 3.05-3.12 /
#: 3.04-3.09 s (769k / 1.12M / 1.45M pivots), squares 3 apart 1.38 / 1.32-1.37 /
#: 1.37-1.49 s, strip 3.20 / 2.88 / 2.87 s, circle 1.34 / 1.36 / 1.30 s, cube 1.56 /
#: 1.27 / 1.17 s, Gaussian shifted 3.95 / 3.43-3.55 / 3.30-3.36 s, three clusters 1.76 /
#: 1.76 / 1.78 s.  16 takes most of the gain for the fewest extra pivots.
MULTISCALE_BLOCK_DIV = 16

#: The multiscale grid is built in at most this many dimensions (a finer split of
#: higher dimensions leaves most cells with one point).
MULTISCALE_MAX_DIM = 3

#: Nearest neighbours per point taken as first candidates on the multiscale path
#: (without the moved ones below, 16 beat 8: n = 4000 / 10 000 / 20 000, CPU seconds,
#: k = 8 0.56 / 1.45 / 4.21 s, k = 16 0.52 / 1.23 / 3.83 s, k = 24 0.52 / 1.31 / 3.91 s) ...
MULTISCALE_CANDIDATES = 8

#: ... and as many again around where the coarse plan sends each point (its cell's
#: mean displacement): measured on 2-D clouds, n = 20 000 (CPU seconds, 2026-11-30),
#: 16 + 0 3.8 s, 16 + 8 3.2 s, 8 + 8 3.1 s, 16 + 16 3.5 s; clouds shifted by half
#: their width (long-range transport) 24.4 -> 21.7 s with 8 moved.
MOVED_CANDIDATES = 8

#: Euclidean clouds on the multiscale path whose spread (standard deviation) along a
#: principal axis is below this fraction of the widest search their nearest
#: neighbours with that axis stretched to THIN_STRETCH of the widest
#: (emd._multiscale.thin_stretch).  Measured on strips 1 x h, n = 20 000
#: (2026-12-04, load 3.5-4.5, one run each, wall s, pivots), plain against stretched
#: to 0.3: h = 1e-4 12.6 s 1.23M / 6.2 s 681k, h = 1e-3 (the zoo's strip) 12.3 s
#: 1.01M / 5.9 s 588k, h = 1e-2 4.2 s 648k / 5.8 s 533k (time noise),
#: h = 0.1 3.2 s 349k / 2.9 s 311k; to 0.1: h = 1e-2 3.9 s 565k, 1e-3 8.7 s 599k, 1e-4
#: 8.0 s 695k; to 1 (round): h = 1e-3 7.8 s 683k.  Below h = 0.05 only, so that clouds
#: about as wide as long keep their candidates.
THIN_ASPECT = 0.05
THIN_STRETCH = 0.3
#: A coarse plan that splits cells: when more than SPLIT_SHARE of its mass moves on
#: arcs whose displacement lies more than SPLIT_FAR cell widths from the mean
#: displacement of their source or target cell (emd._multiscale.split_share), each
#: point is moved by every coarse arc of its cell (as many positions as arcs) instead
#: of by its cell's mean, MOVED_CANDIDATES each.  The share at n = 20 000 (rows / columns,
#: 2026-12-04): uniform square 0.003 / 0.003, annulus 0.002 / 0.003, cube 0 / 0,
#: three clusters of different sizes 0.019 / 0.033, 3-D helix 0.028 / 0.032, circle
#: 0.10 / 0.10, strip 0.23 / 0.23, 8 clusters 0.19 / 0.27, Gaussian shifted by 1 sd
#: 0.31 / 0.29.  Per-arc candidates on every cloud (fine solve, CPU s, pivots, passes,
#: one process, load about 1): 8 clusters 6.74 s 976k 10 -> 3.97 s 521k 7, Gaussian
#: shifted 9.85 s 1.13M 8 -> 7.75 s 795k 7, circle 1.86 s 302k 8 -> 1.59 s 242k 7, strip
#: 7.61 s 967k 8 -> 7.00 s 930k 7, but uniform square 0.94 -> 1.22 s, cube 1.82 -> 2.07 s,
#: three clusters 3.32 -> 3.88 s, annulus 0.90 -> 1.04 s: the threshold sits in the gap
#: (0.03 to 0.10), and those four keep the mean.  At SPLIT_FAR = 1 the uniform square
#: has 0.066 (neighbouring cells are a width apart).  Not tuned on (whole solve, CPU s,
#: load 4-5): 5 clusters to 3, uniform weights, 10.8 s 1.20M 21 -> 5.3 s 577k 12, random
#: weights 14.5 s 1.09M 19 -> 13.2 s 879k 13; but 8 clusters with random weights
#: 10.2-10.8 s 876k 17 -> 11.9-13.2 s 739k 12: fewer pivots, dearer ones (a third of the
#: time moves potentials over subtrees).
SPLIT_FAR = 2.0
SPLIT_SHARE = 0.05
#: ... unless that gives more than this many positions per point on a side (a cap on
#: memory: a crowded cell with many arcs; the split clouds above have about 2.6).
SPLIT_MAX_POSITIONS = 8

#: Plane clouds on the multiscale path whose means lie at least this many radii
#: (root mean square distance to the mean) apart start from the monotone plan
#: across the shift instead (emd._multiscale.line_axis).  Measured on unit squares
#: side by side (radius 0.41, 2026-12-04, one process, load average 8-10, wall s,
#: pivots, passes), coarse start against line start: n = 5000, shift 0.5 2.7 s 192k 14
#: / 1.4 s 61k 5, 1.0 3.5 s 195k 14 / 1.4 s 32k 4, 3.0 2.7 s 182k 15 / 1.0 s 24k 3;
#: n = 20 000, shift 0.25 43 s 1.04M 15 / 38 s 574k 7, 0.5 42 s 1.18M 17 / 44 s 383k
#: 6, 1.0 100 s 1.13M 16 / 41 s 204k 5 (band of 8 ranks, then): the line start wins
#: from about two radii on; below it has fewer pivots, not less time.
LINE_FAR = 2.0

#: Plane clouds on the multiscale path whose means lie between STRIP_NEAR and LINE_FAR
#: radii apart and whose marginals across the shift agree (about translates of each
#: other: the 1-D Wasserstein distance of the two marginals at most STRIP_MATCH radii)
#: start the fine solve from the Knothe-Rosenblatt plan along the shift, in strips of
#: STRIP_POINTS points (emd._multiscale.strip_axis), with the STRIP_CANDIDATES nearest
#: neighbours of each start arc's two ends as candidates too.  Measured (2026-12-04,
#: n = 20 000, fine solve, CPU s, pivots, passes, per-arc candidates in both): Gaussian
#: shifted by 1 sd (0.70 radii) 7.46 s 795k 6 -> 6.12 s 450k 6, another draw 7.26 s 787k
#: 7 -> 5.94 s 460k 6; not tuned on: unit squares 0.5 apart (1.22 radii) 7.48 s 732k 7
#: -> 5.46 s 389k 5, Gaussian shifted diagonally by 1.5 sd (1.06 radii) 8.74 s 752k 7 ->
#: 6.27 s 426k 5; but a disk to an annulus 0.8 apart (0.92 radii, not translates) 5.37 s
#: 563k 6 -> 6.26 s 712k 6, hence STRIP_MATCH.  The marginals' distance (three draws
#: each, n = 2100 / 20 000): Gaussian shifted, squares, diagonal Gaussian at most
#: 0.031 / 0.010; a disk to a disk of radius 1.2 0.09-0.10 / 0.10, the disk to the
#: annulus 0.13-0.15 / 0.13-0.14.  Strips of 25 / 50 / 100 / 140 points on the
#: Gaussian: 514k / 493k / 574k / 624k pivots.  Closer means, one process, two runs
#: each (whole solve): Gaussian shifted by 0.5 sd (0.35 radii) 6.97 / 6.75 s 805k 13 ->
#: 5.89 / 5.67 s 570k 12, by 0.75 sd 7.48 s 810k 13 -> 7.07 s 529k 11; below 0.35
#: radii not measured, hence 0.3.
STRIP_NEAR = 0.3
STRIP_MATCH = 0.05
STRIP_POINTS = 50
STRIP_CANDIDATES = 8

#: Candidates of the line start: every column within this many ranks (along the
#: axis) of a row's partners in the monotone plan.  On two unit squares 3 apart,
#: n = 20 000 (optimal partners within 64 ranks for all but 0.005 % of the mass):
#: 8 ranks 5 passes 19 s, 16 4 passes 15 s, 32 3 passes 14 s, 64 1 pass 8 s
#: (loaded machine, as above); nearest neighbours on top cost 10 % more.
LINE_WIDTH = 64
#: ... and for far-apart clouds whose marginals across the shift do not agree
#: (emd._multiscale.line_width: the STRIP_MATCH test), whose optimal plan leaves the
#: monotone one whatever the band.  n = 20 000, CPU s, quiet machine (2026-12-04), 64
#: / 16 / 8 ranks: disk to annulus 6 apart 6.43 / 5.31 / 5.59 s, three clusters to a
#: disk 5 apart 9.02 / 7.75 / 7.68 s, disk to a disk 1.5 times as wide 4 apart 6.47 /
#: 5.16 / 6.24 s; translates keep 64 (two unit squares 3 apart: 16 ranks 4 passes
#: against 1).  Under the euclidean metric such clouds take the coarse start instead (FAR_*
#: below).
LINE_WIDTH_UNEQUAL = 16

#: Far-apart euclidean clouds whose marginals across the shift disagree (not translates:
#: the STRIP_MATCH test, emd._multiscale.line_width) leave the monotone plan by hundreds
#: of ranks, which no band holds: they start from the coarse plan (as overlapping
#: clouds do), with the coarse plan's MOVED_CANDIDATES moved neighbours searched with
#: the axis across the shift stretched FAR_STRETCH times (emd._multiscale.far_stretch),
#: no plain neighbours (a far cloud's are its near edge), and the band of FAR_BAND ranks
#: around the monotone plan across the shift.  n = 20 000, uniform weights, CPU s,
#: pivots, passes of all levels (2026-12-04, load about 2, two runs each), the line
#: start with a band of 16 ranks (the rule before) against this: disk to annulus 6 apart
#: (the zoo's) 5.21-5.34 s 656k 7 -> 4.13-4.30 s 482k 10; not tuned on: three clusters
#: of different sizes to a disk 5 apart 7.40-7.66 s 929k 10 -> 5.94-6.08 s 938k 26, a
#: disk to a disk 1.5 times as wide 4 apart 5.15-5.29 s 732k 7 -> 4.32-4.35 s 521k 21.
#: Variants, same runs: stretch 1 (plain) disk to annulus 4.56 s; stretch 4 with plain
#: neighbours too 4.23-4.62 s, but three clusters 11.2-11.6 s 1.38M 35 without the band
#: (the moved neighbours miss where a small cluster's points spread over the disk; the
#: band holds them) and 7.0-7.6 s with it; stretch 8 4.17 / 6.26 / 4.40 s; stretch 16
#: with 12 moved 4.42 / 6.54 / 4.45 s.  What is left: with the optimal plan itself as
#: the tree's start the disk to annulus still takes 135k pivots, 6 passes and 2.6 s.
#: The coarse problem takes the multiscale path whatever its size (emd._engine's
#: far_coarse): below it, the compiled search started it from the near edge (n = 10 000:
#: 1250 coarse points, 240k pivots, 16 passes, 0.3 s of the 1.25 s).  With that and the
#: blocks of MULTISCALE_BLOCK_DIV, line start against this rule (CPU s, two runs each):
#: n = 5000 disk to annulus 0.28-0.29 / 0.33-0.34 s, three clusters to a disk 0.79-0.80
#: / 0.69-0.70 s, wider disk 0.30 / 0.36 s (the one size where the rule loses, by 0.05
#: s); n = 10 000 1.02-1.03 / 1.01 s, 3.38-3.41 / 2.29 s, 1.07-1.09 / 1.05-1.07 s; n =
#: 40 000 (one run) disk to annulus 19.8 / 12.9 s, three clusters to a disk 36.2 s at
#: the pivot limit (9M, not optimal) / 33.8 s, 4.4M pivots (under the limit).
FAR_STRETCH = 4.0
FAR_BAND = 8

#: ... but no more than this many candidates in all (8 M arcs, about 200 MB of arc
#: lists): a cap on memory for very large clouds, whose band narrows (the full
#: pricing passes add what it misses).
LINE_MAX_ARCS = 1 << 23

# ---------------------------------------------------------------------------
# Limits of the compiled pair solve (emd._core._pair), set there at import
# (core_limits)

#: Point pairs with at most this many cells (all rows x all columns: the matrix is
#: indexed by original positions) get their costs computed once into a
#: per-workspace matrix (16 MB at most), which the
#: pricing passes read as a dense source instead of recomputing every distance
#: per pass.  Measured (2-D, 2026-11-30): 150 points -25 % of a pair's
#: instructions, 1000 points -26 %, solve_points n = 1400 0.116 -> 0.081 s; at
#: n = 2000 the 32 MB matrix no longer pays (0.19 -> 0.22 s), hence the cap.
MATRIX_CELLS = 1 << 21

#: Dense sources (point pairs on their cost matrix included) with at most this
#: many cells pivot over all their arcs (from the artificial star: a least-cost
#: greedy start, counting-sorted by cost buckets, cut pivots but not the wall
#: time per pair at 30-220 points).  Measured on 2-D point pairs
#: (2026-11-30, wall time per pair): 30 points 72 -> 43 us, 150 points
#: 1028 -> 863 us, 220 points 1946 -> 1764 us, but 300 points 3.3 -> 4.6 ms
#: with scalar pricing; once every pair is priced row by row, several at a
#: time (the simplex's price_stretch_fast), 300 and 360 points take a third less CPU time
#: over all arcs (3.3 -> 2.2 ms and 4.5 -> 3.1 ms per pair), dense sources of
#: that size the same, while 1000 points lose (a cap of 2**20 cells: +23 %).
ALL_ARCS_CELLS = 1 << 17

#: A dense matrix of at most :data:`COMPLETE_CELLS` cells whose candidates keep
#: missing (its :data:`COMPLETE_AFTER`-th full pricing pass still finds arcs) and whose
#: arc list already holds a :data:`COMPLETE_SHARE`-th of the cells pivots over every
#: pair from then on, starting from the tree it has; its last exact pass is then the
#: final pricing pass.  That is the case of costs whose structure the cheapest arcs of
#: each line do not show (low-rank products), and of thin matrices, where every pair
#: is only a few times the candidates.  Measured (2026-12-04, CPU time, median of 5,
#: random weights unless said, rank-3 products of uniform factors): 3000 x 60 107 ->
#: 65 ms (uniform weights 133 -> 68 ms; POT 50-55 ms), 8000 x 100 1.55 -> 0.55 s
#: (POT 0.54 s), 2000 x 400 164 -> 99 ms, 400 x 2000 157 -> 100 ms.  Switching at
#: the second pass whatever the share cost up to +46 % on square n = 1000 matrices
#: (forming 10**6 arcs outweighs what they save: anti-Monge plus noise, inner
#: products, squared distances); with a share of 16 none of the zoo's n = 1000 rows
#: switches, and their pivots are unchanged.  Switching on the pivots made so far
#: (8 per node) came later and bought less.
COMPLETE_CELLS = 1 << 20
COMPLETE_AFTER = 2
COMPLETE_SHARE = 16

#: Small problems (at most this many cells) start from 4 candidates per line
#: instead of 8: on 30 x 30 point pairs 8 candidates are a quarter of the cells,
#: and 4 take 8 % fewer instructions per pair (callgrind, 2026-11-30); 150 x 150
#: pairs are indifferent.
SMALL_CELLS = 4096

#: Point pairs in at least this many dimensions get their cost matrix formed up to
#: :data:`WIDE_CELLS` cells (256 MB), far above :data:`MATRIX_CELLS`: there one
#: distance costs d multiply-adds against one 8-byte read, and every full pricing
#: pass (and the first candidates) recomputes all of them.  Measured (2026-12-04, one
#: thread, Gaussian clouds, random weights): d = 300, n = 2000 11.8 -> 1.6 s, d = 768
#: 25.9 -> 3.3 s, d = 50, n = 3000 3.9 -> 0.9 s, d = 10, n = 5000 3.5 -> 1.4 s; at
#: d = 8, n = 3000 1.15 -> 0.79 s (before the tiled fill); 8 is the smallest
#: dimension measured, not a tuned optimum.  Such pairs also take their first
#: candidates from the matrix (:func:`point_candidates`).
WIDE_DIM, WIDE_CELLS = 8, 1 << 25

#: Dense costs start from their staircase (north-west or north-east corner, optimal
#: for exactly Monge or anti-Monge costs) when at least MONGE_AGREE of MONGE_SAMPLES
#: 2 x 2 minors, drawn anywhere with a fixed seed, agree in sign.  Random costs give
#: half each way (1024 minors never reach 90 %: the binomial tail is below 1e-150),
#: so they keep their path bit for bit; i * j, -(i * j) and f(i) g(j) with monotone
#: f, g agree on every minor, and i * j + noise of amplitude n at n = 1000 on about
#: 97 % of random minors (adjacent minors alone would be noise).  Measured (n = 1000,
#: uniform weights, 2026-12-04): C = i * j took about 741 600 pivots from the
#: candidate start; the north-east staircase is its optimum.
MONGE_SAMPLES, MONGE_AGREE = 1024, 0.9

#: A shift of potentials over at most this many nodes (the subtree a pivot moves, or
#: the rest of the tree) walks the thread once, plainly; larger ones run the two
#: cursors of emd._core._tree.shift_potentials, which hide the latency of the thread's
#: chain of loads on large trees but cost more per node on small ones.  The same
#: additions either way: no bit changes.  Measured (2026-12-04, compiled batch of 2-D
#: point pairs with random weights, CPU time per pair, one process, load average 3-4):
#: 30 points 41.2 -> 38.4 us (-7 %), 150 points 525 -> 485 us (-8 %) with every shift
#: plain; 1000 points (trees of 2001 nodes) within 1 % with a limit of 400 or 4096.
SHORT_SHIFT_NODES = 512

# ---------------------------------------------------------------------------
# Batches (emd.batch)

#: Pairs per task for pairs of :data:`CHUNK_CELLS` cells: small enough for
#: prompt cancellation and a smooth progress bar, large enough that scheduling
#: costs nothing next to solving.  Other pairs get tasks of about the same
#: work (from 1 pair up to :data:`MAX_CHUNK`): a 64-bin pair solves in tens of
#: microseconds, and 16 of them left the GIL-bound glue of each task (and the
#: pool's hand-offs) a tenth of the work, which two threads then queued on;
#: a pair of big grids takes a second, and two per task left one thread idle
#: at the end of a short matrix.
DEFAULT_CHUNK = 16
CHUNK_CELLS = 1 << 16
MAX_CHUNK = 1024

#: Measured (2026-11-30): a grid pair of b bins costs about what a dense pair
#: of 80 b cells does (32 x 32 city-block 2.2 ms, 64 x 64 7.6 ms; a dense
#: pair about 25 ns a cell).
GRID_CELLS_PER_BIN = 80

#: Shared supports up to this many points get one precomputed cost matrix
#: (at most 128 MiB) that all threads read; larger ones price on the fly.
SUPPORT_MATRIX_MAX = 4096


def on_the_line(dim: int, metric: str) -> bool:
    """Whether points in ``dim`` dimensions under ``metric`` (a canonical name) are solved
    in closed form on the line: every metric but sqeuclidean is ``|x - y|`` there."""
    return dim == 1 and metric != "sqeuclidean"


def few_sources(n, m):
    """Whether a transport problem with ``n`` and ``m`` bins of mass goes to the few-sources
    path (elementwise for arrays of counts)."""
    if isinstance(n, np.ndarray) or isinstance(m, np.ndarray):
        small, large = np.minimum(n, m), np.maximum(n, m)
    else:
        # Every single solve asks: NumPy's ufuncs on scalars cost microseconds a call.
        small, large = min(n, m), max(n, m)
    return (
        (small >= 1)
        & (small <= SMALL_MAX)
        & (large >= LARGE_MIN)
        & (large >= RATIO * small)
        & (small * large <= CELLS_MAX)
    )


def takes_few_sources(a: np.ndarray, b: np.ndarray, max_iter, initial_arcs) -> bool:
    """Whether the single solve of weights ``a`` and ``b`` takes the few-sources path: only
    with the default pivot budget and no warm start."""
    return (max_iter is None and initial_arcs is None
            and bool(few_sources(int(np.count_nonzero(a)), int(np.count_nonzero(b)))))


def kept_counts(items, points: bool) -> np.ndarray:
    """Bins of mass of each histogram (or each ``(points, weights)`` set): computed
    once per batch for :func:`batch_alone`."""
    return np.array([np.count_nonzero(item[1] if points else item) for item in items],
                    dtype=np.int64)


def batch_alone(kept_left: np.ndarray, kept_right: np.ndarray, pairs: np.ndarray,
                max_iter) -> np.ndarray:
    """Which pairs ``(i, j)`` of a batch the single solve sends to the few-sources path
    (``kept_*`` from :func:`kept_counts`): the batch leaves them to it, so that its
    entries stay the single solve's values."""
    pairs = np.asarray(pairs).reshape(-1, 2)
    if max_iter is not None:
        return np.zeros(len(pairs), dtype=bool)
    return np.asarray(few_sources(kept_left[pairs[:, 0]], kept_right[pairs[:, 1]]), dtype=bool)


def point_candidates(n: int, m: int, dim: int, cells: int | None = None) -> str:
    """How a point problem with ``n`` x ``m`` points of mass in ``dim`` dimensions finds
    its first candidate arcs: ``"compiled"`` (the pair solve's own brute-force search,
    the path of the compiled batch), ``"nearest"`` (k-d trees) or ``"multiscale"``
    (k-d trees around a coarse plan, which also starts the tree).

    ``cells`` (all rows x all columns, zero-mass points included) lets a pair in many
    dimensions that the pair solve prices on its formed cost matrix (the wide-matrix
    rule, :data:`WIDE_DIM` and :data:`WIDE_CELLS`, which the core applies) take its
    candidates there too.
    """
    if n * m <= BRUTE_FORCE_CELLS:
        return "compiled"
    if cells is not None and _pair.forms_wide_point_matrix(dim, cells):
        return "compiled"
    if n * m >= MULTISCALE_CELLS and dim <= MULTISCALE_MAX_DIM:
        return "multiscale"
    return "nearest"


def support_matrix(n_points: int) -> bool:
    """Whether a batch on a shared support of ``n_points`` precomputes its cost matrix."""
    return n_points <= SUPPORT_MATRIX_MAX


def grid_pair_cells(n_bins: int) -> int:
    """The work of a grid pair of ``n_bins`` bins, in cells of a dense pair."""
    return GRID_CELLS_PER_BIN * n_bins


def default_chunk(n_pairs: int, jobs: int, pair_cells: int = CHUNK_CELLS) -> int:
    """Pairs per task: about the work of :data:`DEFAULT_CHUNK` pairs of
    :data:`CHUNK_CELLS` cells, fewer when a small matrix would otherwise leave
    threads idle: at least four tasks per thread."""
    per_task = min(MAX_CHUNK, DEFAULT_CHUNK * CHUNK_CELLS // max(1, pair_cells))
    return max(1, min(per_task, n_pairs // (4 * jobs)))


def core_limits() -> dict:
    """The compiled pair solve's limits, as :func:`emd._core._pair.set_limits` takes them."""
    return {"matrix_cells": MATRIX_CELLS, "all_arcs_cells": ALL_ARCS_CELLS,
            "small_cells": SMALL_CELLS, "wide_dim": WIDE_DIM, "wide_cells": WIDE_CELLS,
            "monge_samples": MONGE_SAMPLES, "monge_agree": MONGE_AGREE,
            "complete_cells": COMPLETE_CELLS, "complete_after": COMPLETE_AFTER,
            "complete_share": COMPLETE_SHARE}


def _configure_core() -> None:
    # The compiled pair solve reads its limits from C globals; they are set here once.
    _pair.set_limits(**core_limits())
    _tree.set_short_shift(SHORT_SHIFT_NODES)


_configure_core()
