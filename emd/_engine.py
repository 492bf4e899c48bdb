"""Drive the compiled network simplex on dense, coordinate and arc-list problems.

Bipartite problems are solved by *column generation* on the spanning tree:
the simplex first pivots over a sparse set of candidate arcs (the cheapest
arcs of every row and column), then a full pricing pass over all n x m
pairs adds, for every row and column, its most violated arcs; the simplex
resumes from the same tree.  When a full pass finds nothing, the solution is
optimal for the whole problem.  Each pass touches the costs once, in place,
so the dense path never copies the cost matrix and the coordinate path
never forms it.  The whole loop is one compiled call without the GIL
(:class:`emd._core._pair.PairWorkspace`), the same call that
``emd.batch`` makes for every pair of a distance matrix.

Large point clouds (at least ``emd._planner.MULTISCALE_CELLS`` pairs with
mass, in at most three dimensions) are solved on their points listed along a
space-filling curve, and the tree starts from a spanning forest of a feasible
plan spread from a coarsened problem (:mod:`emd._multiscale`); the candidates
add the neighbours of where that plan sends each point.  This changes only the
pivot path: the end is the same exact phase, pricing pass and certificate.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np

from emd import _certify, _multiscale, _planner
from emd._core import _costs
from emd._core._certify import rounded_sum
from emd._core._pair import PairWorkspace, points_cost_bound
from emd._core._pricing import INITIAL_CANDIDATES
from emd._core._tree import STATUS_NAMES, SpanningTree
from emd._result import COMPILED_RTOL
from emd._validation import check_scale, metric_code

__all__ = ["INITIAL_CANDIDATES", "solve_arcs", "solve_bipartite"]


def default_max_iter(n_nodes: int) -> int:
    """A pivot budget far above what any problem of this size needs, so hitting it means a bug
    or pathological numerics, reported as ``max_iter_reached`` rather than a hang."""
    return 10**6 + 100 * n_nodes


def iteration_limit(max_iter: int | None, n_nodes: int) -> int:
    """The pivot limit handed to the compiled solver: the default for None, and no more
    than a C ``Py_ssize_t`` holds (a larger limit can never be reached anyway)."""
    return default_max_iter(n_nodes) if max_iter is None else min(max_iter, sys.maxsize)


@dataclass(frozen=True, slots=True)
class DenseCosts:
    """A cost matrix read in place (float64, C-contiguous, validated by the caller)."""

    matrix: np.ndarray

    def arc_costs(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return self.matrix[rows, cols]

    def min_reduced_cost(
        self, u: np.ndarray, v: np.ndarray, u_low: np.ndarray, v_low: np.ndarray,
        rows=None, cols=None,
    ) -> tuple[float, int, int, float]:
        return _costs.dense_min_reduced_cost(self.matrix, u, v, u_low, v_low, rows, cols)

    def max_abs_cost(self) -> float:
        return max(float(self.matrix.max()), -float(self.matrix.min()))



@dataclass(frozen=True, slots=True)
class PointCosts:
    """Costs ``d(x_i, y_j)`` computed on demand from coordinates."""

    x: np.ndarray
    y: np.ndarray
    metric: str
    p: float

    @property
    def code(self) -> int:
        return metric_code(self.metric)

    def arc_costs(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return _costs.points_arc_costs(
            self.x, self.y, self.code, self.p,
            np.ascontiguousarray(rows, dtype=np.intp), np.ascontiguousarray(cols, dtype=np.intp),
        )

    def min_reduced_cost(
        self, u: np.ndarray, v: np.ndarray, u_low: np.ndarray, v_low: np.ndarray,
        rows=None, cols=None,
    ) -> tuple[float, int, int, float]:
        return _costs.points_min_reduced_cost(
            self.x, self.y, self.code, self.p, u, v, u_low, v_low, rows, cols
        )

    def c_transform(self, z: np.ndarray, targets: np.ndarray, v: np.ndarray) -> np.ndarray:
        """``min_j d(z_k, targets_j) - v_j`` for every ``z_k``."""
        return _costs.points_c_transform(z, targets, self.code, self.p, v)

    def max_abs_cost(self) -> float:
        return self.max_cost_bound()

    def check_range(self, underflow: bool = False) -> None:
        """Refuse coordinates whose distances float64 powers cannot carry.

        Euclidean and Minkowski distances go through ``sum |x_k - y_k|^p``
        (p = 2 for euclidean), which must not overflow at the largest distance
        ``D``.  The compiled kernels recompute a power that underflows in a
        scaled form (as hypot does).  SciPy's ``cdist`` does not: for it
        (``underflow=True``) distances above ``D / 2**30`` must not underflow
        either, or they evaluate to 0, and for large p (about p > 45) no scale
        satisfies both.
        """
        if self.metric not in ("euclidean", "minkowski"):
            return  # sums and maxima of |x_k - y_k|: no powers
        with np.errstate(over="ignore", invalid="ignore"):
            span = np.maximum(self.x.max(axis=0), self.y.max(axis=0)) - np.minimum(
                self.x.min(axis=0), self.y.min(axis=0)
            )
            top = float(span.max())
            if top == 0.0:
                return  # one point: every distance is exactly 0
            diameter = top * float(np.linalg.norm(span / top, ord=self.p))
        info = np.finfo(np.float64)
        high = float(info.max) ** (1.0 / self.p) / 2.0
        low = float(info.tiny) ** (1.0 / self.p) * 2.0**30 if underflow else 0.0
        if low > high:
            raise ValueError(
                f"metric='minkowski' with p={self.p:g} cannot be evaluated in float64 "
                "(|x - y|^p under- or overflows at every scale); use a smaller p or chebyshev"
            )
        if not low <= diameter <= high:
            raise ValueError(
                f"points spanning {diameter:.3g} are out of range for the {self.metric} metric: "
                f"float64 evaluates |x - y|^{self.p:g} only for spans in "
                f"[{low:.3g}, {high:.3g}]; rescale the points"
            )

    def max_cost_bound(self) -> float:
        """An upper bound on every d(x_i, y_j) from the two bounding boxes."""
        lo = np.minimum(self.x.min(axis=0), self.y.min(axis=0))
        hi = np.maximum(self.x.max(axis=0), self.y.max(axis=0))
        with np.errstate(over="ignore"):
            span = hi - lo
            if self.metric == "sqeuclidean":
                return float(np.dot(span, span))
            # Scaled by the largest side, so a finite diagonal never overflows.
            top = float(span.max(initial=0.0))
            if top == 0.0 or not math.isfinite(top):
                return top
            return top * float(np.linalg.norm(span / top, ord=self.p))

    def compiled_bound(self) -> float:
        """The bound of :meth:`max_cost_bound` as the compiled pair solve computes it
        (what its artificial arcs cost)."""
        return float(points_cost_bound(self.x, self.y, self.code, self.p))


@dataclass(frozen=True, slots=True)
class BipartiteSolution:
    """Raw solver output on the original indices (zero-mass bins have no potentials yet)."""

    rows: np.ndarray
    cols: np.ndarray
    flows: np.ndarray
    cost: float
    u: np.ndarray
    v: np.ndarray
    u_low: np.ndarray
    v_low: np.ndarray
    n_iter: int
    status: str
    #: Rigorous ``(lower bound of min reduced cost, row, col, max |cost|)`` over all
    #: pairs of bins with mass, from the final pricing pass (local indices); None
    #: when the solve did not end on a pass that found nothing.
    violation: tuple[float, int, int, float] | None
    #: Whether the compiled certificate already proves ``cost`` within
    #: :data:`emd._result.COMPILED_RTOL` relative (on exactly balanced weights); the
    #: full certificate, which it implies, can then be built when asked for.
    proven: bool = False


def _kd_nearest(source: np.ndarray, target: np.ndarray, k: int, p: float):
    """The ``k`` nearest points of ``target`` to every point of ``source`` under the
    Minkowski exponent ``p``: ``(source index, target index)`` pairs."""
    from scipy.spatial import cKDTree  # only for large point sets: imported on first use

    kk = min(k, len(target))
    _, idx = cKDTree(target).query(source, k=kk, p=p)
    idx = np.asarray(idx, dtype=np.intp).reshape(len(source), kk)
    own = np.repeat(np.arange(len(source), dtype=np.intp), kk)
    other = idx.ravel()
    # A neighbour at a distance that overflows comes back as len(target).
    found = other < len(target)
    return own[found], other[found]


def _kd_candidates(x: np.ndarray, y: np.ndarray, k: int, p: float,
                   stretch=None) -> tuple[np.ndarray, ...]:
    """The ``k`` nearest neighbours of every point in the other set, as arcs: under the
    same Minkowski exponent the cheapest arcs (squaring, for sqeuclidean, keeps the order);
    searched on ``stretch(x)`` and ``stretch(y)`` when given (thin clouds,
    :func:`emd._multiscale.thin_stretch`)."""
    if stretch is not None:
        x, y = stretch(x), stretch(y)
    t1, h1 = _kd_nearest(x, y, k, p)
    h2, t2 = _kd_nearest(y, x, k, p)
    return np.concatenate([t1, t2]), np.concatenate([h1, h2])


def _moved_candidates(start, x: np.ndarray, y: np.ndarray, k: int, p: float, stretch=None):
    """The candidates around where the coarse plan sends every point (see
    :class:`emd._multiscale.Start`), as arcs; searched stretched as
    :func:`_kd_candidates` is."""
    x_moved, y_moved = start.x_moved, start.y_moved
    if stretch is not None:
        x, y, x_moved, y_moved = stretch(x), stretch(y), stretch(x_moved), stretch(y_moved)
    if start.x_owner is None:
        return _kd_candidates(x_moved, y_moved, k, p)
    own, col = _kd_nearest(x_moved, y, k, p)
    own_col, row = _kd_nearest(y_moved, x, k, p)
    return (np.concatenate([start.x_owner[own], row]),
            np.concatenate([col, start.y_owner[own_col]]))


def _partner_candidates(rows: np.ndarray, cols: np.ndarray, x: np.ndarray, y: np.ndarray,
                        k: int, p: float):
    """For every arc ``(rows[e], cols[e])`` of a plan, the ``k`` nearest columns of its
    column and the ``k`` nearest rows of its row, as arcs from its row and to its column."""
    arc, col = _kd_nearest(y[cols], y, k, p)
    arc_r, row = _kd_nearest(x[rows], x, k, p)
    return np.concatenate([rows[arc], row]), np.concatenate([col, cols[arc_r]])


def solve_bipartite(
    a: np.ndarray, b: np.ndarray, source, max_iter: int | None, initial_arcs=None,
    n_jobs: int = 1, far_coarse: bool = False,
) -> BipartiteSolution:
    """Exact transport between weights ``a`` and ``b`` with costs from ``source``.

    Bins of zero mass are left out of the simplex; their potentials are filled
    in afterwards by the caller.  ``initial_arcs=(rows, cols)`` (original
    indices) adds candidate arcs to the first phase, e.g. a warm start's
    tight arcs; the full pricing passes still decide optimality.  ``n_jobs``
    threads share each large pricing pass; the answer is the same for any number.
    ``far_coarse`` marks the coarse problem of far-apart clouds (below): it takes the
    multiscale path whatever its size, so that it too starts across the shift.
    """
    rows = np.flatnonzero(a > 0)
    cols = np.flatnonzero(b > 0)
    n, m = rows.size, cols.size
    max_iter = iteration_limit(max_iter, n + m)
    mass = rounded_sum(a)
    keys = []
    builtin = True
    point_bound = 0.0
    n_start = 0
    start = None
    coarse_iter = 0
    multiscale = False
    solve_a, solve_b, solve_source = a, b, source
    if isinstance(source, PointCosts):
        point_bound = source.compiled_bound()
        check_scale(point_bound, mass, a.size + b.size)
        path = _planner.point_candidates(n, m, source.x.shape[1], a.size * b.size)
        if far_coarse and source.x.shape[1] <= _planner.MULTISCALE_MAX_DIM:
            # Below the path's size the compiled search would start far clouds from
            # their nearest neighbours, the near edge: n = 10 000, the disk to annulus's
            # coarse problem of 1250 points took 240k pivots and 16 passes (0.3 s).
            path = "multiscale"
        if path != "compiled":
            builtin = False
            line = None
            stretch = None
            along = None
            far_band = None
            if path == "multiscale":
                multiscale = True
                # Solve on the points with mass listed along a space-filling curve,
                # from a coarse plan (emd._multiscale) or, for far-apart translates
                # (and far clouds under other metrics), from the monotone plan across
                # the shift; local positions then follow
                # the permuted rows and cols, which map them back.
                rows = rows[_multiscale.spatial_order(source.x[rows])]
                cols = cols[_multiscale.spatial_order(source.y[cols])]
                solve_a, solve_b = a[rows], b[cols]
                solve_source = PointCosts(
                    np.ascontiguousarray(source.x[rows]), np.ascontiguousarray(source.y[cols]),
                    source.metric, source.p,
                )
                axis = _multiscale.line_axis(solve_source.x, solve_source.y, solve_a, solve_b)
                # The plan has at most n + m - 1 pieces, each with 2 width + 1
                # candidates: the cap holds for any n and m (down to width 1).
                cap = max(1, (_planner.LINE_MAX_ARCS // (n + m) - 1) // 2)
                band = (_multiscale.line_width(solve_source.x, solve_source.y, solve_a, solve_b)
                        if axis is not None else 0)
                coarse = None
                if (axis is not None and source.metric == "euclidean"
                        and band == _planner.LINE_WIDTH_UNEQUAL):
                    # Far apart, not translates: the coarse start, candidates searched
                    # along the shift, and a narrow band around the monotone plan.
                    coarse = _multiscale.coarsen(solve_source.x, solve_source.y, solve_a, solve_b)
                    far = _multiscale.far_stretch(solve_source.x, solve_source.y, axis)
                    if coarse is not None and far is not None:
                        stretch = far
                        far_band = _multiscale.line_start(
                            solve_source.x, solve_source.y, solve_a, solve_b, axis,
                            min(_planner.FAR_BAND, cap),
                        )[2:]
                    else:
                        coarse = None
                if axis is not None and far_band is None:
                    line = _multiscale.line_start(solve_source.x, solve_source.y, solve_a,
                                                  solve_b, axis, min(band, cap))
                elif axis is None:
                    coarse = _multiscale.coarsen(solve_source.x, solve_source.y, solve_a, solve_b)
                    if coarse is not None:
                        along = _multiscale.strip_axis(solve_source.x, solve_source.y, solve_a,
                                                       solve_b)
                if coarse is not None:
                    plan = solve_bipartite(
                        coarse.a, coarse.b, PointCosts(coarse.x, coarse.y, source.metric, source.p),
                        max_iter, n_jobs=n_jobs, far_coarse=far_band is not None,
                    )
                    start = _multiscale.spread(
                        solve_source.x, solve_source.y, solve_a, solve_b, coarse,
                        plan.rows, plan.cols, plan.flows,
                    )
                    # The pivot budget and count cover the coarse solve too.
                    coarse_iter = plan.n_iter
                    if along is not None:
                        # About translates: the tree starts from the Knothe-Rosenblatt
                        # plan along the shift; the coarse plan still gives candidates.
                        strip_rows, strip_cols = _multiscale.strip_start(
                            solve_source.x, solve_source.y, solve_a, solve_b, along,
                            _planner.STRIP_POINTS,
                        )
                        start = start._replace(rows=strip_rows, cols=strip_cols)
                max_iter = max(max_iter - coarse_iter, 0)
            if line is not None:
                # The plan's support first: the tree starts from it.  No nearest
                # neighbours: those of a far cloud are its near edge, not its partners.
                keys.append(line[0].astype(np.int64) * m + line[1])
                n_start = keys[0].size
                keys.append(line[2].astype(np.int64) * m + line[3])
            elif far_band is not None:
                # No plain neighbours: those of a far cloud are its near edge.
                t = h = np.zeros(0, dtype=np.intp)
            else:
                # Thin euclidean clouds search their neighbours stretched across.
                stretch = (_multiscale.thin_stretch(solve_source.x, solve_source.y)
                           if path == "multiscale" and source.metric == "euclidean" else None)
                t, h = _kd_candidates(
                    np.ascontiguousarray(source.x[rows]), np.ascontiguousarray(source.y[cols]),
                    INITIAL_CANDIDATES if start is None else _planner.MULTISCALE_CANDIDATES,
                    source.p, stretch,
                )
            if start is not None:
                # The plan's support first: the tree starts from it.
                keys.append(start.rows.astype(np.int64) * m + start.cols)
                n_start = keys[0].size
                moved_t, moved_h = _moved_candidates(
                    start, solve_source.x, solve_source.y, _planner.MOVED_CANDIDATES, source.p,
                    stretch,
                )
                t, h = np.concatenate([t, moved_t]), np.concatenate([h, moved_h])
                if along is not None:
                    # The start's arcs are long (rays along the shift): the neighbours
                    # of both their ends.
                    near_t, near_h = _partner_candidates(
                        start.rows, start.cols, solve_source.x, solve_source.y,
                        _planner.STRIP_CANDIDATES, source.p,
                    )
                    t, h = np.concatenate([t, near_t]), np.concatenate([h, near_h])
                if far_band is not None:
                    t, h = np.concatenate([t, far_band[0]]), np.concatenate([h, far_band[1]])
            if line is None:
                keys.append(t.astype(np.int64) * m + h)
    if initial_arcs is not None:
        row_pos = np.full(a.size, -1, dtype=np.intp)
        col_pos = np.full(b.size, -1, dtype=np.intp)
        row_pos[rows], col_pos[cols] = np.arange(n), np.arange(m)
        extra_t, extra_h = row_pos[initial_arcs[0]], col_pos[initial_arcs[1]]
        both = (extra_t >= 0) & (extra_h >= 0)
        keys.append(extra_t[both].astype(np.int64) * m + extra_h[both])
    given = np.concatenate(keys) if keys else None
    dense = isinstance(source, DenseCosts)
    (status, clean, worst, max_abs, cost, n_iter, t, h, flows, arc_costs, pi,
     pi_low, proven) = PairWorkspace().solve(
        solve_a, solve_b, source.matrix if dense else None,
        None if dense else solve_source.x, None if dense else solve_source.y,
        0 if dense else source.code, 0.0 if dense else source.p, given, builtin,
        point_bound, mass, max_iter, n_threads=n_jobs, n_start=n_start, rtol=COMPILED_RTOL,
        block_div=_planner.MULTISCALE_BLOCK_DIV if multiscale else 0,
    )
    # Artificial arcs cost max_abs (more than half of any real arc), so the
    # optimum of a balanced problem leaves no flow on them.  Zero-mass bins get
    # potentials too (by c-transform), so their costs count for the scale.
    art_cost = max_abs if max_abs > 0 else 1.0
    cost_scale = art_cost if n + m == a.size + b.size else max(art_cost, source.max_abs_cost())
    check_scale(cost_scale, mass, a.size + b.size)
    if status < 0:  # the compiled guard against overflow; check_scale above is stricter
        raise ValueError("costs too large for float64: rescale them")
    violation = (worst, -1, -1, max_abs) if clean else None
    if status != 0:
        # Stopped early: mass may still sit on artificial arcs.  Route it by
        # the north-west corner rule so that the plan returned is feasible.
        extra_t, extra_h, extra_f = _north_west_corner(
            a[rows] - np.bincount(t, flows, minlength=n),
            b[cols] - np.bincount(h, flows, minlength=m),
        )
        t = np.concatenate([t, extra_t])
        h = np.concatenate([h, extra_h])
        flows = np.concatenate([flows, extra_f])
        arc_costs = np.concatenate([arc_costs, source.arc_costs(rows[extra_t], cols[extra_h])])
        cost = math.fsum(flows * arc_costs)
    # Potentials in the order of the bins with mass (the multiscale path permutes them).
    row_order = np.argsort(rows, kind="stable") if multiscale else slice(None)
    col_order = np.argsort(cols, kind="stable") if multiscale else slice(None)
    return BipartiteSolution(
        rows=rows[t],
        cols=cols[h],
        flows=flows,
        cost=cost,
        u=-pi[:n][row_order],
        v=pi[n : n + m][col_order],
        u_low=-pi_low[:n][row_order],
        v_low=pi_low[n : n + m][col_order],
        n_iter=int(n_iter) + coarse_iter,
        status=STATUS_NAMES[status],
        violation=violation,
        proven=proven,
    )


def _north_west_corner(
    supply: np.ndarray, demand: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A feasible plan for leftover supply and demand (entries below rounding are dropped)."""
    scale = max(float(np.abs(supply).sum()), float(np.abs(demand).sum()))
    tol = 1e-14 * scale
    supply = np.where(supply > tol, supply, 0.0)
    demand = np.where(demand > tol, demand, 0.0)
    i_list, j_list, f_list = [], [], []
    rows, cols = np.flatnonzero(supply), np.flatnonzero(demand)
    i = j = 0
    while i < rows.size and j < cols.size:
        amount = min(supply[rows[i]], demand[cols[j]])
        i_list.append(rows[i])
        j_list.append(cols[j])
        f_list.append(amount)
        supply[rows[i]] -= amount
        demand[cols[j]] -= amount
        if supply[rows[i]] <= tol:
            i += 1
        if demand[cols[j]] <= tol:
            j += 1
    return (
        np.asarray(i_list, dtype=np.intp),
        np.asarray(j_list, dtype=np.intp),
        np.asarray(f_list, dtype=np.float64),
    )


def balanced_supply(
    supply: np.ndarray, tails: np.ndarray, heads: np.ndarray, eps: float = 2.0**-52,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The supply of an arc problem as it is solved: each weakly connected component's
    sources and sinks balanced exactly when they agree to rounding
    (:func:`emd._certify.balance_components`, the documented rule).  Returns
    ``(supply, labels, stranded)``: the component of every node, and the components
    whose exact net supply is still not zero (no flow exists: no arc leaves a
    component)."""
    from scipy.sparse import coo_array, csgraph

    n = supply.size
    graph = coo_array((np.ones(tails.size), (tails, heads)), shape=(n, n))
    n_comp, labels = csgraph.connected_components(graph, directed=True, connection="weak")
    sources, sinks = np.maximum(supply, 0.0), np.maximum(-supply, 0.0)
    sources, sinks, stranded = _certify.balance_components(sources, sinks, labels, n_comp, eps)
    # Sources and sinks never share a node (no zero entry is raised), so this is exact.
    return sources - sinks, labels, stranded


@dataclass(frozen=True, slots=True)
class ArcSolution:
    """Raw output of :func:`solve_arcs`: a flow per arc and double-double potentials ``y``
    (``potentials + potentials_low``) with ``y[tail] - y[head] <= cost`` on every arc."""

    flow: np.ndarray
    potentials: np.ndarray
    potentials_low: np.ndarray
    n_iter: int
    status: str


def solve_arcs(
    supply: np.ndarray,
    tails: np.ndarray,
    heads: np.ndarray,
    costs: np.ndarray,
    max_iter: int | None,
) -> ArcSolution:
    """Min-cost flow on an arc list.

    ``supply`` must be the problem as the caller holds it: totals that differ only
    by rounding balanced exactly beforehand (:func:`emd._certify.balance_components`).
    The status is ``"infeasible"`` only when it is proven, in exact arithmetic: the
    final tree leaves mass on the artificial arcs (its basic flow, summed exactly,
    does not balance; stranded mass of any size counts) and a set of nodes that no
    arc leaves holds a positive net supply (:func:`emd._certify.proves_infeasible`).
    Mass left unrouted without such a proof is left to the certificate, which then
    cannot prove the flow (``"uncertified"``).
    """
    n_nodes = supply.size
    max_iter = iteration_limit(max_iter, n_nodes)
    max_abs = float(np.abs(costs).max()) if costs.size else 0.0
    # A detour through the root must cost more than any simple path of real
    # arcs (at most n_nodes - 1 of them).
    art_cost = n_nodes * max_abs if max_abs > 0 else 1.0
    check_scale(art_cost, 0.5 * float(np.abs(supply).sum()), n_nodes)
    tree = SpanningTree(supply, art_cost)
    status = STATUS_NAMES[tree.solve(tails, heads, costs, max_iter)]
    flow = tree.arc_flows(tails.size)
    if status == "optimal":
        # The basis itself (zero-flow arcs included), not the flows' float signs:
        # its exact basic flow leaves on the artificial arcs exactly what the
        # tree's real arcs cannot route.
        _, basis_tails, basis_heads, _, _ = tree.tree_arcs()
        basis = _certify.BasicFlow(basis_tails, basis_heads, supply)
        if basis.unrouted > 0 and _certify.proves_infeasible(tails, heads, flow, supply, basis):
            status = "infeasible"
    return ArcSolution(
        flow=flow,
        potentials=-tree.pi[:n_nodes],
        potentials_low=-tree.pi_low[:n_nodes],
        n_iter=int(tree.n_iter),
        status=status,
    )
