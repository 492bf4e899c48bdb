"""Drive the compiled network simplex on dense, coordinate and arc-list problems.

Bipartite problems are solved by *column generation* on the spanning tree:
the simplex first pivots over a sparse set of candidate arcs (the cheapest
arcs of every row and column), then a full pricing pass over all n x m
pairs adds, for every row and column, its most violated arc; the simplex
resumes from the same tree.  When a full pass finds nothing, the solution is
optimal for the whole problem.  Each pass touches the costs once, in place,
so the dense path never copies the cost matrix and the coordinate path
never forms it.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from emd._core import _costs
from emd._core._network_simplex import STATUS_NAMES, SpanningTree
from emd._validation import check_scale

#: Candidate arcs per row and per column before the first full pricing pass.
#: Measured on random point clouds (n = 500..4000), 8 is near the best: fewer
#: leave more work to the full passes, more make the sparse phase slower.
INITIAL_CANDIDATES = 8
#: Violated arcs kept per row and per column by each full pricing pass.
SCAN_PER_LINE = 4


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

    def oracle(self, rows: np.ndarray | None, cols: np.ndarray | None) -> _DenseOracle:
        return _DenseOracle(self.matrix, rows, cols)


@dataclass(frozen=True, slots=True)
class PointCosts:
    """Costs ``d(x_i, y_j)`` computed on demand from coordinates."""

    x: np.ndarray
    y: np.ndarray
    metric: str
    p: float

    @property
    def code(self) -> int:
        return _costs.METRIC_CODES[self.metric]

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
                f"points spanning {diameter:.3g} are out of range for metric={self.metric!r} "
                f"(p={self.p:g}): float64 evaluates |x - y|^p only for spans in "
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

    def oracle(self, rows: np.ndarray | None, cols: np.ndarray | None) -> _PointOracle:
        x = self.x if rows is None else np.ascontiguousarray(self.x[rows])
        y = self.y if cols is None else np.ascontiguousarray(self.y[cols])
        return _PointOracle(PointCosts(x, y, self.metric, self.p), self.max_cost_bound())


class _DenseOracle:
    """The dense cost matrix restricted to the bins with mass, as the engine sees it."""

    def __init__(self, matrix: np.ndarray, rows: np.ndarray | None, cols: np.ndarray | None):
        self.matrix, self.rows, self.cols = matrix, rows, cols
        self.max_abs_cost = 0.0

    def initial(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        tails, heads, self.max_abs_cost = _costs.dense_cheapest(
            self.matrix, self.rows, self.cols, k
        )
        return tails, heads

    def costs_of(self, tails: np.ndarray, heads: np.ndarray) -> np.ndarray:
        rows = tails if self.rows is None else self.rows[tails]
        cols = heads if self.cols is None else self.cols[heads]
        return self.matrix[rows, cols]

    def scan(self, pi, pi_low, n: int) -> tuple[np.ndarray, np.ndarray, float]:
        (tails, heads), worst = _costs.dense_scan(
            self.matrix, self.rows, self.cols, pi[:n], pi[n:], pi_low[:n], pi_low[n:],
            SCAN_PER_LINE,
        )
        return tails, heads, worst


class _PointOracle:
    def __init__(self, costs: PointCosts, max_cost: float):
        self.costs = costs
        self.max_abs_cost = max_cost

    def initial(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.costs.x, self.costs.y
        # Nearest neighbours under the same Minkowski exponent are the cheapest
        # arcs: squaring (sqeuclidean) keeps the order.
        tails, heads = [], []
        for source, target, swap in ((x, y, False), (y, x, True)):
            kk = min(k, len(target))
            _, idx = cKDTree(target).query(source, k=kk, p=self.costs.p)
            idx = np.asarray(idx, dtype=np.intp).reshape(len(source), kk)
            own = np.repeat(np.arange(len(source), dtype=np.intp), kk)
            other = idx.ravel()
            # A neighbour at a distance that overflows comes back as len(target).
            found = other < len(target)
            own, other = own[found], other[found]
            tails.append(other if swap else own)
            heads.append(own if swap else other)
        return np.concatenate(tails), np.concatenate(heads)

    def costs_of(self, tails: np.ndarray, heads: np.ndarray) -> np.ndarray:
        return self.costs.arc_costs(tails, heads)

    def scan(self, pi, pi_low, n: int) -> tuple[np.ndarray, np.ndarray, float]:
        c = self.costs
        (tails, heads), worst = _costs.points_scan(
            c.x, c.y, c.code, c.p, pi[:n], pi[n:], pi_low[:n], pi_low[n:], SCAN_PER_LINE
        )
        return tails, heads, worst


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


def _unique_arcs(tails: np.ndarray, heads: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    key = np.unique(tails.astype(np.int64) * m + heads)
    t, h = np.divmod(key, m)
    return t.astype(np.intp), h.astype(np.intp)


def solve_bipartite(
    a: np.ndarray, b: np.ndarray, source, max_iter: int | None, initial_arcs=None
) -> BipartiteSolution:
    """Exact transport between weights ``a`` and ``b`` with costs from ``source``.

    Bins of zero mass are left out of the simplex; their potentials are filled
    in afterwards by the caller.  ``initial_arcs=(rows, cols)`` (original
    indices) adds candidate arcs to the first phase, e.g. a warm start's
    tight arcs; the full pricing passes still decide optimality.
    """
    rows = np.flatnonzero(a > 0)
    cols = np.flatnonzero(b > 0)
    row_map = None if rows.size == a.size else rows
    col_map = None if cols.size == b.size else cols
    n, m = rows.size, cols.size
    oracle = source.oracle(row_map, col_map)
    max_iter = iteration_limit(max_iter, n + m)

    tails, heads = oracle.initial(INITIAL_CANDIDATES)
    if initial_arcs is not None:
        row_pos = np.full(a.size, -1, dtype=np.intp)
        col_pos = np.full(b.size, -1, dtype=np.intp)
        row_pos[rows], col_pos[cols] = np.arange(n), np.arange(m)
        extra_t, extra_h = row_pos[initial_arcs[0]], col_pos[initial_arcs[1]]
        both = (extra_t >= 0) & (extra_h >= 0)
        tails = np.concatenate([tails, extra_t[both]])
        heads = np.concatenate([heads, extra_h[both]])
    tails, heads = _unique_arcs(tails, heads, m)
    costs = oracle.costs_of(tails, heads)
    # Artificial arcs cost more than half of any real arc, so the optimum of
    # a balanced problem leaves no flow on them (an artificial detour
    # i -> root -> j would cost more than the direct arc i -> j); keeping it
    # no larger keeps the potentials on the scale of the costs.
    art_cost = oracle.max_abs_cost if oracle.max_abs_cost > 0 else 1.0
    # Zero-mass bins get potentials too (by c-transform), so their costs count.
    cost_scale = art_cost if rows.size + cols.size == a.size + b.size else max(
        art_cost, source.max_abs_cost()
    )
    check_scale(cost_scale, math.fsum(a), a.size + b.size)
    tree = SpanningTree(np.concatenate([a[rows], -b[cols]]), art_cost)
    heads_nodes = heads + n
    status = tree.solve(tails, heads_nodes, costs, max_iter)
    violation = None
    while status == 0:
        # The tree is optimal on the candidates; price every pair exactly.
        new_tails, new_heads, worst = oracle.scan(tree.pi[: n + m], tree.pi_low[: n + m], n)
        if new_tails.size == 0:
            # A pass that finds nothing bounds every reduced cost from below.
            violation = (worst, -1, -1, oracle.max_abs_cost)
            break
        pivots_before = tree.n_iter
        tails = np.concatenate([tails, new_tails])
        heads_nodes = np.concatenate([heads_nodes, new_heads + n])
        costs = np.concatenate([costs, oracle.costs_of(new_tails, new_heads)])
        status = tree.solve(tails, heads_nodes, costs, max_iter)
        if status == 0 and tree.n_iter == pivots_before:
            # The scan and the simplex use the same exact test, so this should
            # not happen; if it does, the certificate (priced afresh) decides.
            break

    _, t, h, flows, arc_costs = tree.tree_arcs()
    keep = flows > 0
    t, h, flows, arc_costs = t[keep], h[keep] - n, flows[keep], arc_costs[keep]
    cost = tree.cost()
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
        arc_costs = np.concatenate([arc_costs, oracle.costs_of(extra_t, extra_h)])
        cost = math.fsum(flows * arc_costs)
    pi, pi_low = tree.pi, tree.pi_low
    return BipartiteSolution(
        rows=rows[t],
        cols=cols[h],
        flows=flows,
        cost=cost,
        u=-pi[:n],
        v=pi[n : n + m].copy(),
        u_low=-pi_low[:n],
        v_low=pi_low[n : n + m].copy(),
        n_iter=int(tree.n_iter),
        status=STATUS_NAMES[status],
        violation=violation,
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
    imbalance: float = 0.0,
) -> ArcSolution:
    """Min-cost flow on an arc list.

    ``imbalance`` is supply the caller knows cannot be delivered and accepts (the
    rounding left in each connected component), on top of the global imbalance.
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
    arcs, _, _, flows, _ = tree.tree_arcs()
    flow = np.zeros(tails.size)
    flow[arcs] = flows
    if status == "optimal":
        # The root absorbs the rounding imbalance of the supplies; anything
        # beyond that is supply that found no path to a demand.
        allowed = 1e-9 * float(np.abs(supply).sum()) + 2 * (abs(math.fsum(supply)) + imbalance)
        if tree.artificial_flow() > allowed:
            status = "infeasible"
    return ArcSolution(
        flow=flow,
        potentials=-tree.pi[:n_nodes],
        potentials_low=-tree.pi_low[:n_nodes],
        n_iter=int(tree.n_iter),
        status=status,
    )
