r"""Unequal masses, exactly: partial transport and unbalanced W1.

Both problems are solved as balanced ones that the exact solvers of
:func:`emd.solve` and :func:`emd.min_cost_flow` already certify, by adding
dummy bins (dense and point problems) or extra nodes (graphs and trees: a
sink and a source for partial transport, one node for unbalanced; grids: one
node for unbalanced).  Point clouds above ``DENSE_POINT_PAIRS`` pairs keep
their costs on the fly: the dummy rows and columns have one constant cost to
every point, so their O(n + m) arcs are all listed, and the real pairs are
priced by the full passes of the balanced point solve (see
``_solve_points_generated``).

**Partial transport** (``partial=mass``) moves exactly ``mass`` (at most the
smaller total) at least cost:

.. math::
    \min_{P \ge 0} \langle C, P \rangle \quad\text{s.t.}\quad
    P \mathbf{1} \le a,\; P^\top \mathbf{1} \le b,\; \mathbf{1}^\top P \mathbf{1} = m.

A dummy target with demand ``|a| - m`` takes, at cost 0, what each source
keeps; a dummy source with supply ``|b| - m`` fills, at cost 0, what each
target does not receive.  The dummy source may not feed the dummy target:
their pair costs ``D = 2 max|C|`` (1 when every cost is 0), and since
``D + C_ij > 0`` for every pair, any plan that moves mass between the dummies
is strictly improved by moving it between a real pair instead (take ``e`` off
``P_ij`` and off the dummy pair, put it on ``(i, dummy)`` and ``(dummy, j)``:
the cost falls by ``e (D + C_ij)``).  So every optimum of the balanced problem
leaves the dummy pair empty, and the two problems have the same optimum.

**Unbalanced W1** (``unbalanced=lam``) destroys or creates mass at ``lam`` per
unit:

.. math::
    \min_{P \ge 0} \langle C, P \rangle + \lambda \left(\|a - P \mathbf{1}\|_1
    + \|b - P^\top \mathbf{1}\|_1\right) \quad\text{s.t.}\quad
    P \mathbf{1} \le a,\; P^\top \mathbf{1} \le b.

A dummy target reached from every source at cost ``lam`` (destruction) and a
dummy source reaching every target at cost ``lam`` (creation), each with
room for all of the other side's mass, and a free pair between the two
dummies that carries the rest: plans of the two problems correspond one to
one at equal cost.  Its dual is the bounded-Lipschitz (Kantorovich-
Rubinstein) norm: the supremum of ``sum f (a - b)`` over 1-Lipschitz ``f``
with ``|f| <= lam``.  With equal totals and ``lam`` at least half the largest
cost it is W1; it tends to 0 with ``lam``.

On graphs, trees and grids the same problem is one extra node tied to every
bin by an arc of cost ``lam`` each way, so the network keeps O(n) arcs: graphs
and trees are solved by the network simplex of :func:`emd.min_cost_flow`,
grids by the compiled grid driver, whose trees have that node as their root on
every level (:func:`emd.solve_grid`).

**Partial transport on a graph or tree** (costs ``C = d``, the shortest-path
metric of a connected network with nonnegative lengths) is a flow on O(n)
arcs too: node ``i`` supplies ``a_i - b_i``; a sink ``X_a`` with demand
``|a| - m`` is fed by every node at cost 0, a source ``X_b`` with supply
``|b| - m`` feeds every node at cost 0, and there is no arc from ``X_b`` to
``X_a``.  The two problems have the same optimum:

* *Plan to flow.*  A partial plan ``P`` of mass ``m`` leaves ``a_i - (P 1)_i``
  at each source and ``b_j - (P^T 1)_j`` at each target.  Route every ``P_ij``
  along a shortest path, send what ``i`` leaves to ``X_a`` and feed what ``j``
  misses from ``X_b``: node ``i`` then sends exactly ``a_i - b_i`` net, the
  sink receives ``|a| - m`` and the source gives ``|b| - m``, at cost
  ``<C, P>``.  So the flow optimum is at most the partial one.
* *Flow to plan.*  Take an optimal flow and split it into paths from a supply
  (a node with ``a_i > b_i``, or ``X_b``) to a demand (a node with ``a_i <
  b_i``, or ``X_a``) and cycles; lengths are nonnegative, so dropping the
  cycles costs nothing.  A path ``s -> ... -> X_a`` is replaced by the arc
  ``s -> X_a`` (discard at the origin), ``X_b -> ... -> t`` by ``X_b -> t``
  (create at the destination), and ``X_b -> v -> ... -> X_a`` by ``X_b -> v ->
  X_a`` through its first node: none of these costs more.  What is left is
  ``r`` units through ``X_b -> v -> X_a`` for some nodes ``v``, real paths from
  surplus nodes ``s`` to deficit nodes ``t``, costing at least ``d(s, t)``, and
  discards and creations at surplus and deficit nodes only.  W1 on a graph
  depends only on ``a - b``: the mass ``min(a_i, b_i)`` that sits on both sides
  of node ``i`` matches itself at cost 0.  Matching it so, plus the real paths
  as pairs ``(s, t)``, is a plan with row sums ``a_s - (discard at s) <= a_s``
  and column sums ``b_t - (creation at t) <= b_t`` that moves ``|a| - (|a| - m
  - r) = m + r`` (the sink takes ``|a| - m`` in all, ``r`` of it from
  ``X_b``), at no more than the flow's cost.  When these local matches exceed
  ``m`` (``r > 0``), taking ``r`` off any entries (costs are nonnegative) leaves
  a plan of mass exactly ``m`` that costs no more.  So the partial optimum is
  at most the flow optimum.

The network as solved has one more arc, from ``X_a`` to ``X_b`` at a cost
``D`` above every shortest path (four times the farthest distance from node 0),
so that every node reaches every other and the certificate of a graph (one
component, exact balance) applies.  No optimum uses it: a path through it,
``u -> X_a -> X_b -> w``, costs at least ``D > d(u, w)`` and is strictly
improved by a shortest path from ``u`` to ``w``, and a cycle through it costs
at least ``D > 0``.  A flow that still puts mass on it is reported
``"uncertified"``, as is a dense plan with mass on the dummy pair.
``destroyed`` and ``created`` are then the flows into ``X_a`` and out of
``X_b``: an optimal flow may route mass to a node before discarding it there
(with edges of length 0, say), so a node's ``destroyed`` can exceed its
``a``; the totals are exactly ``|a| - m`` and ``|b| - m``.

**What the certificate proves.**  :meth:`UnbalancedResult.certificate` is the
certificate of the balanced problem actually solved (:class:`emd.Certificate`),
whose optimum *is* the optimum of the partial or unbalanced problem (above):
its bound holds for :attr:`UnbalancedResult.cost` against that optimum.  The
dummy masses are chosen so that the balanced problem's totals agree exactly
(what rounding drops from ``|b| - m`` or ``|a| - m`` rides on further dummy
bins of the same costs, computed exactly), so no real bin is ever changed to
balance it.  For partial transport, ``status == "optimal"`` also requires the
plan found to leave the dummy pair exactly empty (otherwise it moves more than
``mass`` and is reported ``"uncertified"``).

**Totals.**  ``normalize=True`` is refused with ``partial=`` or
``unbalanced=``: making the totals equal is exactly what these problems exist
not to do.  ``mass`` is the mass moved as given; a ``mass`` above the smaller
total by no more than that total's rounding is taken as that total.

Examples
--------
>>> import emd
>>> result = emd.solve([1.0, 1.0], [1.0, 2.0], [[0.0, 1.0], [1.0, 0.0]], unbalanced=0.4)
>>> result.cost, result.mass_created, result.certificate().optimal()
(0.4, 1.0, True)
>>> emd.solve([1.0, 1.0], [1.0, 2.0], [[0.0, 1.0], [1.0, 0.0]], partial=1.5).mass_moved
1.5
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emd._result import Certificate
from emd._validation import check_scale

__all__ = ["UnbalancedResult"]

#: Partial transport, unbalanced transport.
PARTIAL, UNBALANCED = "partial", "unbalanced"


@dataclass(frozen=True, slots=True)
class UnbalancedResult:
    """The answer of a partial or unbalanced transport problem.

    Attributes
    ----------
    cost : float
        The optimal value: for ``kind == "partial"`` the cost of moving
        :attr:`parameter` units; for ``"unbalanced"`` the transport cost plus
        ``lam`` times the mass created and destroyed.  Proven within 1e-9
        relative when ``status == "optimal"`` (see :meth:`certificate`).
    kind : str
        ``"partial"`` or ``"unbalanced"``.
    parameter : float
        The mass moved (partial) or the price ``lam`` per unit created or destroyed.
    transport_cost : float
        The part of :attr:`cost` paid for moving mass.
    mass_moved, mass_created, mass_destroyed : float
        Totals: mass carried from sources to targets, target mass not received
        (created, for unbalanced transport) and source mass not sent (destroyed).
        For partial transport these are what is left unmatched on each side.
    created : ndarray, shape of ``b``
        Per target bin (for graphs and grids: per node), the mass it receives
        from nowhere.
    destroyed : ndarray, shape of ``a``
        Per source bin (per node), the mass it sends nowhere.  For partial
        transport on a graph or tree these are the flows out of the source and
        into the sink of the network solved: their totals are exact, but an
        optimal flow may carry mass to a node before it is discarded there (see
        the proof above), so a node's share can differ from a plan's.
    plan : scipy.sparse.coo_array or None
        The transport plan between the real bins (dense and point problems);
        None for graphs, trees and grids, whose arc flows are in
        ``reduced.flow`` (:class:`emd.FlowResult`, whose own ``certificate()``
        asks the float flow to balance by itself; :meth:`certificate` here
        uses the network's single component, as :func:`emd.solve_graph` does).
    status : str
        ``"optimal"``, ``"uncertified"`` or ``"max_iter_reached"``, as for the
        balanced solvers.
    reduced : TransportResult or FlowResult or None
        The balanced problem solved, with its potentials: dummy bins after
        the real ones (dense and point problems); for graphs and trees the
        extra nodes after the nodes (one for ``unbalanced``; a sink and a
        source for ``partial``) and what rounding leaves on nodes of its own
        after them; for grids the flow on the arcs the driver's certificate
        reads (the tree's arcs with flow, then the extra node's, then the
        rounding twins').  None when nothing was solved (``unbalanced=0`` with
        nonnegative costs: the empty plan).
    """

    cost: float
    kind: str
    parameter: float
    transport_cost: float
    mass_moved: float
    mass_created: float
    mass_destroyed: float
    created: np.ndarray
    destroyed: np.ndarray
    plan: Any
    status: str
    reduced: Any = field(repr=False, compare=False)
    #: Makes the certificate when it is not the reduced result's own (networks: with
    #: the one component that every arc's reverse and the extra node make).
    _proof: Any = field(default=None, repr=False, compare=False)

    @property
    def converged(self) -> bool:
        """Whether optimality is proven (``status == "optimal"``)."""
        return self.status == "optimal"

    def dense_plan(self) -> np.ndarray:
        """The plan between the real bins as a dense array (dense and point problems)."""
        if self.plan is None:
            raise ValueError("a network result has arc flows, not a plan: see reduced.flow")
        return self.plan.toarray()

    def witness(self) -> np.ndarray:
        """The dual witness of unbalanced W1 on a graph, tree or grid: ``f`` with
        ``|f| <= lam`` everywhere, ``f_i - f_j <= length`` on every edge (so 1-Lipschitz
        for the shortest-path metric) and ``cost == sum((a - b) * f)`` at optimality, up
        to the rounding of the potentials to float64: the bounded-Lipschitz dual.

        It is the flow's node potentials less the extra node's: the arcs of cost
        ``lam`` both ways between a node and the extra node bound it, the edges make
        it Lipschitz.  Shaped like ``created``.  Dense and point problems keep their
        two potentials in ``reduced.u`` and ``reduced.v`` instead (a ``ValueError``).
        """
        if self.plan is not None or self.kind != UNBALANCED:
            raise ValueError("witness() is offered for unbalanced transport on graphs, trees "
                             "and grids; dense and point problems have reduced.u, reduced.v")
        potentials = self.reduced.potentials
        n = self.created.size
        return (potentials[:n] - potentials[n]).reshape(np.shape(self.created))

    def certificate(self) -> Certificate:
        """The certificate of the balanced problem solved, whose optimum equals this
        problem's (see :mod:`emd.unbalanced`): its :attr:`~emd.Certificate.bound`
        bounds ``|cost - OPT|`` with every rounding counted, and feasibility is proven
        exactly.  For partial transport it proves the value; ``status`` also checks
        that the plan moves exactly the mass asked (the dummy pair left empty)."""
        if self._proof is not None:
            return self._proof()
        return self.reduced.certificate()

    def __repr__(self) -> str:
        return (
            f"UnbalancedResult(cost={self.cost:.12g}, kind={self.kind!r}, "
            f"parameter={self.parameter:.6g}, mass_moved={self.mass_moved:.6g}, "
            f"mass_created={self.mass_created:.6g}, mass_destroyed={self.mass_destroyed:.6g}, "
            f"status={self.status!r})"
        )


def check_keywords(
    partial: Any, unbalanced: Any, normalize: Any = False
) -> tuple[str, float] | None:
    """``(kind, value)`` for ``partial=`` / ``unbalanced=``, None when neither is given.

    The one home of the rules: at most one of them, a finite number (``partial``
    positive, ``unbalanced`` nonnegative), and never with ``normalize=True``.
    """
    if partial is None and unbalanced is None:
        return None
    if partial is not None and unbalanced is not None:
        raise ValueError("partial and unbalanced are mutually exclusive: pass one of them")
    kind, value = (PARTIAL, partial) if partial is not None else (UNBALANCED, unbalanced)
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{kind} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{kind} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{kind} must be finite, got {number!r}")
    if kind == PARTIAL and not number > 0:
        raise ValueError(f"partial (the mass to move) must be positive, got {number!r}")
    if kind == UNBALANCED and number < 0:
        raise ValueError(f"unbalanced (the price per unit created or destroyed) must be "
                         f"nonnegative, got {number!r}")
    if normalize is True or (isinstance(normalize, np.bool_) and bool(normalize)):
        raise ValueError(
            f"normalize=True cannot be combined with {kind}=: it would make the totals equal, "
            f"which {kind} transport exists not to do; pass the masses as they are"
        )
    return kind, number


def exact_residual(values: list[np.ndarray]) -> list[float]:
    """Floats whose exact sum is the exact sum of every entry of ``values``.

    Each :func:`math.fsum` is the correctly rounded exact sum, so subtracting it
    and summing again leaves the exact remainder; every round takes at least 53
    bits off, so the loop ends within the float64 range (about 40 rounds; one
    or two in practice).
    """
    parts: list[float] = []
    flat = np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in values])
    terms = flat.tolist()
    while True:
        rounded = math.fsum(terms + [-p for p in parts])
        if rounded == 0.0:
            return parts
        parts.append(rounded)


def _partial_mass(kind_value: float, sum_a: float, sum_b: float) -> float:
    smaller = min(sum_a, sum_b)
    if kind_value > smaller:
        # A mass above the smaller total by its rounding is that total.
        if kind_value - smaller <= 4 * np.finfo(np.float64).eps * smaller:
            return smaller
        raise ValueError(
            f"partial={kind_value!r} is more than the smaller total mass "
            f"(sum(a)={sum_a!r}, sum(b)={sum_b!r})"
        )
    return kind_value


def _dummies(kind: str, value: float, a: np.ndarray, b: np.ndarray):
    """The dummy rows (supplies) and columns (demands) of the balanced problem, and the
    mass parameter actually used.

    The first dummy row and column are the dummy source and target; any further
    ones carry what rounding leaves (see :func:`exact_residual`) and behave like
    the first (same costs), so the balanced totals agree exactly.
    """
    sum_a, sum_b = math.fsum(a), math.fsum(b)
    if kind == PARTIAL:
        mass = _partial_mass(value, sum_a, sum_b)
        row = max(0.0, math.fsum([*b.tolist(), -mass]))   # |b| - m
        col = max(0.0, math.fsum([*a.tolist(), -mass]))   # |a| - m
    else:
        mass = value
        # Room for every unit either side can lose, and more: the dummy pair, at
        # cost 0, carries the rest.
        row = col = 2.0 * max(sum_a, sum_b)
    rows, cols = [row], [col]
    for part in exact_residual([a, [row], -b, [-col]]):
        (cols if part > 0 else rows).append(abs(part))
    return np.array(rows), np.array(cols), mass


def _reduced_matrix(kind: str, value: float, real: np.ndarray, n_rows: int, n_cols: int
                    ) -> np.ndarray:
    n, m = real.shape
    cost = np.empty((n + n_rows, m + n_cols))
    cost[:n, :m] = real
    if kind == PARTIAL:
        top = float(np.abs(real).max(initial=0.0))
        forbid = 2.0 * top if top > 0 else 1.0
        cost[:n, m:] = 0.0
        cost[n:, :m] = 0.0
        cost[n:, m:] = forbid
    else:
        cost[:n, m:] = value
        cost[n:, :m] = value
        cost[n:, m:] = 0.0
    return cost


def _from_transport(kind: str, value: float, result, shape: tuple[int, int], real_costs
                    ) -> UnbalancedResult:
    """The answer from the balanced problem solved; ``real_costs(rows, cols)`` gives the
    costs of real pairs (the dense matrix's entries, or the points' distances)."""
    import scipy.sparse

    n, m = shape
    plan = result.plan
    rows, cols, flows = plan.row, plan.col, plan.data
    real = (rows < n) & (cols < m)
    destroyed = np.bincount(rows[(rows < n) & (cols >= m)],
                            flows[(rows < n) & (cols >= m)], minlength=n)
    created = np.bincount(cols[(rows >= n) & (cols < m)],
                          flows[(rows >= n) & (cols < m)], minlength=m)
    dummy_pair = flows[(rows >= n) & (cols >= m)]
    real_plan = scipy.sparse.coo_array((flows[real], (rows[real], cols[real])), shape=(n, m))
    transport_cost = math.fsum(flows[real] * real_costs(rows[real], cols[real]))
    status = result.status
    if kind == PARTIAL and status == "optimal" and np.any(dummy_pair > 0):
        # The value is proven, but this plan moves more than the mass asked.
        status = "uncertified"
    return UnbalancedResult(
        cost=result.cost,
        kind=kind,
        parameter=value,
        transport_cost=transport_cost,
        mass_moved=math.fsum(flows[real]),
        mass_created=math.fsum(created),
        mass_destroyed=math.fsum(destroyed),
        created=created,
        destroyed=destroyed,
        plan=real_plan,
        status=status,
        reduced=result,
    )


def _free_destruction(a: np.ndarray, b: np.ndarray) -> UnbalancedResult:
    """Unbalanced transport at price 0 with nonnegative costs: the empty plan, cost 0,
    proven without a solve (the zero potentials are dual feasible, so ``0 <= OPT``, and
    the empty plan costs 0).  The balanced detour would carry all the mass through the
    dummies, whose float flows leave some of it unrouted: a bound above 0 at cost 0,
    which proves nothing."""
    import scipy.sparse

    proof = Certificate(cost=0.0, dual_value=0.0, max_dual_violation=0.0, worst_pair=(-1, -1),
                        marginal_error=0.0, unrouted=0.0, mass=math.fsum(a) + math.fsum(b),
                        bound=0.0)
    return UnbalancedResult(
        cost=0.0, kind=UNBALANCED, parameter=0.0, transport_cost=0.0, mass_moved=0.0,
        mass_created=math.fsum(b), mass_destroyed=math.fsum(a), created=b.copy(),
        destroyed=a.copy(), plan=scipy.sparse.coo_array((a.size, b.size)), status="optimal",
        reduced=None, _proof=lambda: proof,
    )


def solve_dense(a: np.ndarray, b: np.ndarray, cost: np.ndarray, kind: str, value: float,
                max_iter: int | None, n_jobs: int) -> UnbalancedResult:
    """:func:`emd.solve` with ``partial=`` / ``unbalanced=`` on validated inputs.

    The balanced problem is a dense matrix with a few more rows and columns:
    O(n m) memory, as the input's (a copy of it, padded).
    """
    from emd.transport import solve_validated

    if kind == UNBALANCED and value == 0.0 and (cost.size == 0 or float(cost.min()) >= 0.0):
        return _free_destruction(a, b)
    rows, cols, value = _dummies(kind, value, a, b)
    reduced_cost = _reduced_matrix(kind, value, cost, rows.size, cols.size)
    result = solve_validated(np.concatenate([a, rows]), np.concatenate([b, cols]),
                             reduced_cost, max_iter, n_jobs=n_jobs)
    return _from_transport(kind, value, result, cost.shape, lambda i, j: cost[i, j])


#: Point problems with at most this many pairs (rows x columns, zero-mass points
#: included) are solved on a dense matrix of their costs, as :func:`emd.solve` solves
#: them (18 MB at this size); larger ones by column generation with the costs on the
#: fly (``_solve_points_generated``), in O(n + m) memory.  Measured on 2-D uniform
#: clouds, partial m = 0.8 of totals 1 and 1.3 (one loaded machine, process included):
#: n = 1000, dense 0.30 s, generated 0.58 s; n = 2000, 1.22 s against 0.55 s.
DENSE_POINT_PAIRS = 2_250_000


def solve_points(x: np.ndarray, y: np.ndarray, a: np.ndarray, b: np.ndarray, metric: str,
                 p: float, kind: str, value: float, max_iter: int | None, n_jobs: int
                 ) -> UnbalancedResult:
    """:func:`emd.solve_points` with ``partial=`` / ``unbalanced=`` on validated inputs.

    Up to ``DENSE_POINT_PAIRS`` pairs the costs of the real pairs are evaluated
    once by the same compiled metric the point solver prices with, and the balanced
    problem is solved as a dense one; above it, by column generation on the points
    with the dummy row and column priced beside them (``_solve_points_generated``):
    no n x m matrix is formed.
    """
    if x.shape[0] * y.shape[0] > DENSE_POINT_PAIRS:
        from emd import _engine

        source = _engine.PointCosts(x, y, metric, p)
        source.check_range()
        return _solve_points_generated(source, a, b, kind, value, max_iter, n_jobs)
    return solve_dense(a, b, point_costs(x, y, metric, p), kind, value, max_iter, n_jobs)


def point_costs(x: np.ndarray, y: np.ndarray, metric: str, p: float) -> np.ndarray:
    """The dense matrix of the real pairs' costs that :func:`solve_points` solves on,
    evaluated by the compiled metric the point solver prices with (range checked)."""
    from emd import _engine

    source = _engine.PointCosts(x, y, metric, p)
    source.check_range()
    n, m = x.shape[0], y.shape[0]
    rows = np.repeat(np.arange(n, dtype=np.intp), m)
    cols = np.tile(np.arange(m, dtype=np.intp), n)
    return source.arc_costs(rows, cols).reshape(n, m)


class _PaddedPoints:
    """The costs of a point problem with dummy rows and columns after the real ones:
    ``d(x_i, y_j)`` between real points, computed on demand (:class:`emd._engine.PointCosts`),
    ``row_cost`` from a dummy row to a real column, ``col_cost`` from a real row to a
    dummy column and ``corner`` between dummies.  The interface of the cost sources of
    :class:`emd.TransportResult` (``arc_costs``, ``min_reduced_cost``, ``max_abs_cost``),
    so that its certificate, recomputed, prices every pair of the padded problem in
    O(n + m) memory."""

    def __init__(self, points, n_rows: int, n_cols: int, row_cost: float, col_cost: float,
                 corner: float) -> None:
        self.points = points
        self.n, self.m = points.x.shape[0], points.y.shape[0]
        self.n_rows, self.n_cols = n_rows, n_cols
        self.row_cost, self.col_cost, self.corner = row_cost, col_cost, corner

    def arc_costs(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        rows, cols = np.asarray(rows, dtype=np.intp), np.asarray(cols, dtype=np.intp)
        real_row, real_col = rows < self.n, cols < self.m
        out = np.where(real_row, self.col_cost, np.where(real_col, self.row_cost, self.corner))
        real = real_row & real_col
        out[real] = self.points.arc_costs(rows[real], cols[real])
        return out

    def _dummy_block(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The dense costs of ``rows`` x ``cols`` when one of the two is dummies only."""
        return np.ascontiguousarray(self.arc_costs(np.repeat(rows, cols.size),
                                                   np.tile(cols, rows.size))
                                    .reshape(rows.size, cols.size))

    def min_reduced_cost(self, u, v, u_low, v_low, rows=None, cols=None, real_pairs=True
                         ) -> tuple[float, int, int, float]:
        """A rigorous lower bound on ``C_ij - u_i - v_j`` (double-double potentials) over
        ``rows`` x ``cols`` of the padded problem, where it is attained and the largest
        absolute cost: the compiled point kernel on the real pairs (left out with
        ``real_pairs=False``), the compiled dense kernel on the blocks of dummy rows or
        columns (O(n + m) entries, formed)."""
        from emd._core import _costs

        rows = np.arange(self.n + self.n_rows) if rows is None else np.asarray(rows, np.intp)
        cols = np.arange(self.m + self.n_cols) if cols is None else np.asarray(cols, np.intp)
        real_rows, dummy_rows = rows[rows < self.n], rows[rows >= self.n]
        real_cols, dummy_cols = cols[cols < self.m], cols[cols >= self.m]
        found = [(math.inf, -1, -1, 0.0)]
        if real_pairs and real_rows.size and real_cols.size:
            found.append(self.points.min_reduced_cost(
                u[: self.n], v[: self.m], u_low[: self.n], v_low[: self.m], real_rows,
                real_cols))
        for block_rows, block_cols in ((dummy_rows, cols), (real_rows, dummy_cols)):
            if block_rows.size and block_cols.size:
                low, i, j, top = _costs.dense_min_reduced_cost(
                    self._dummy_block(block_rows, block_cols),
                    np.ascontiguousarray(u[block_rows]), np.ascontiguousarray(v[block_cols]),
                    np.ascontiguousarray(u_low[block_rows]),
                    np.ascontiguousarray(v_low[block_cols]))
                found.append((low, int(block_rows[i]), int(block_cols[j]), top))
        low, i, j, _ = min(found, key=lambda f: f[0])
        return low, i, j, max(f[3] for f in found)

    def max_abs_cost(self) -> float:
        return max(self.points.max_abs_cost(), abs(self.row_cost), abs(self.col_cost),
                   abs(self.corner))


def _solve_points_generated(source, a: np.ndarray, b: np.ndarray, kind: str, value: float,
                            max_iter: int | None, n_jobs: int) -> UnbalancedResult:
    """Partial or unbalanced transport between point clouds without an n x m matrix.

    The balanced problem of :func:`solve_dense` (dummy rows and columns of constant
    cost: 0 for partial, ``lam`` for unbalanced; the dummy corner ``2 D``, ``D`` the
    compiled bound on every distance, for partial, 0 for unbalanced) is solved by
    column generation: the network simplex of :func:`emd.min_cost_flow` runs on the
    arcs of every dummy row and column (O(n + m) of them, all kept) and on candidate
    arcs between real points (the nearest neighbours of every point, by k-d trees);
    then a full pricing pass of the pair solve computes every real pair's cost on the
    fly with the tree's potentials and returns the most violated arcs of every row
    and column, which join the list, and the simplex resumes from the same tree.  A
    pass that finds nothing bounds every real reduced cost from below (rigorously:
    the pass the balanced point solve ends on), the dummy arcs are all in the list
    and are priced exactly by the simplex's last exact phase and again by the
    certificate, so the certificate of the balanced problem covers every arc.
    Memory: the candidates and the arcs the passes add, O(n + m) for a fixed number
    of passes; each pass costs O(n m) time, shared by ``n_jobs`` threads.
    """
    from emd import _engine
    from emd._core._pair import column_generation, pricing_pass
    from emd._core._pricing import INITIAL_CANDIDATES
    from emd._core._tree import STATUS_NAMES, SpanningTree
    from emd.transport import _assemble

    n, m = a.size, b.size
    if kind == UNBALANCED and value == 0.0:
        return _free_destruction(a, b)  # distances are nonnegative
    dummy_rows, dummy_cols, value = _dummies(kind, value, a, b)
    bound = source.compiled_bound()
    if kind == PARTIAL:
        padded = _PaddedPoints(source, dummy_rows.size, dummy_cols.size, 0.0, 0.0,
                               2.0 * bound if bound > 0 else 1.0)
    else:
        padded = _PaddedPoints(source, dummy_rows.size, dummy_cols.size, value, value, 0.0)
    all_a, all_b = np.concatenate([a, dummy_rows]), np.concatenate([b, dummy_cols])
    live_rows, live_cols = np.flatnonzero(all_a > 0), np.flatnonzero(all_b > 0)
    n_live, m_live = live_rows.size, live_cols.size
    real_rows, real_cols = live_rows[live_rows < n], live_cols[live_cols < m]
    nr, mr = real_rows.size, real_cols.size
    x_live = np.ascontiguousarray(source.x[real_rows])
    y_live = np.ascontiguousarray(source.y[real_cols])
    mass = math.fsum(all_a)
    top = padded.max_abs_cost()
    check_scale(top, mass, all_a.size + all_b.size)

    # Local nodes: the live rows, then the live columns; real ones first on each side.
    def listed(rows_local, cols_local):
        return rows_local, n_live + cols_local, padded.arc_costs(live_rows[rows_local],
                                                                 live_cols[cols_local])

    pieces = []
    for row_range, col_range in ((np.arange(nr, n_live), np.arange(m_live)),
                                 (np.arange(nr), np.arange(mr, m_live))):
        pieces.append(listed(np.repeat(row_range, col_range.size),
                             np.tile(col_range, row_range.size)))
    have = np.zeros(0, dtype=np.int64)
    if nr and mr:
        t, h = _engine._kd_candidates(x_live, y_live, INITIAL_CANDIDATES, source.p)
        have = np.unique(t.astype(np.int64) * mr + h)
        pieces.append(listed(*np.divmod(have, mr)))
    arcs = [np.ascontiguousarray(np.concatenate([q[k] for q in pieces]), dtype=dtype)
            for k, dtype in ((0, np.intp), (1, np.intp), (2, np.float64))]
    supply = np.concatenate([all_a[live_rows], -all_b[live_cols]])
    tree = SpanningTree(supply, top if top > 0 else 1.0)
    limit = _engine.iteration_limit(max_iter, n_live + m_live)
    pick = np.concatenate([np.arange(nr), n_live + np.arange(mr)])

    def price():
        # The pair solve's full pass over the real pairs, costs on the fly; the arcs
        # it finds that are not listed yet join the list.
        nonlocal have
        keys, bound = pricing_pass(None, x_live, y_live, source.code, source.p,
                                   np.ascontiguousarray(tree.pi[pick]),
                                   np.ascontiguousarray(tree.pi_low[pick]), n_threads=n_jobs)
        new = keys[~np.isin(keys, have)]
        if new.size:
            have = np.union1d(have, new)
            t, h, c = listed(*np.divmod(new, mr))
            arcs[:] = (np.concatenate([arcs[0], t.astype(np.intp)]),
                       np.concatenate([arcs[1], h.astype(np.intp)]),
                       np.concatenate([arcs[2], c]))
        return keys.size, bound

    def simplex():
        return tree.solve(*arcs, limit), tree.n_iter

    # The pair solve's column-generation loop (a pass that finds nothing proves the
    # end; found arcs already listed stall the simplex, and the certificate decides).
    code, n_iter = simplex()
    clean, worst = not (nr and mr), math.inf  # no real pair: every arc is listed
    if not clean:
        code, clean, worst, _ = column_generation(price, simplex, code, n_iter)
    status = STATUS_NAMES[code]
    tails, heads = arcs[0], arcs[1]
    flows = tree.arc_flows(tails.size)
    carry = flows > 0
    pi, pi_low = tree.pi, tree.pi_low
    violation = None
    if status == "optimal" and clean:
        # Every real pair by the last pass; the dummy arcs (all listed) priced again
        # here, exactly.
        full = [_scatter(values, where, size) for values, where, size in (
            (-pi[:n_live], live_rows, all_a.size),
            (pi[n_live : n_live + m_live], live_cols, all_b.size),
            (-pi_low[:n_live], live_rows, all_a.size),
            (pi_low[n_live : n_live + m_live], live_cols, all_b.size))]
        low, i, j, _ = padded.min_reduced_cost(*full, live_rows, live_cols, real_pairs=False)
        if worst <= low:
            low, i, j = worst, -1, -1
        elif i >= 0:
            i, j = int(np.searchsorted(live_rows, i)), int(np.searchsorted(live_cols, j))
        violation = (low, i, j, top)
    plan_rows, plan_cols, plan_flows = tails[carry], heads[carry] - n_live, flows[carry]
    cost = float(tree.cost())
    if status != "optimal":
        status = status if status == "max_iter_reached" else "uncertified"
        # Stopped early: mass may still sit on artificial arcs.  Route it by the
        # north-west corner rule, as the balanced solve does, so the padded plan is
        # feasible (its dummy corner may then carry mass, so the real plan moves more
        # than asked: the status says so).
        extra_rows, extra_cols, extra_flows = _engine._north_west_corner(
            all_a[live_rows] - np.bincount(plan_rows, plan_flows, minlength=n_live),
            all_b[live_cols] - np.bincount(plan_cols, plan_flows, minlength=m_live))
        plan_rows = np.concatenate([plan_rows, extra_rows])
        plan_cols = np.concatenate([plan_cols, extra_cols])
        plan_flows = np.concatenate([plan_flows, extra_flows])
        cost = math.fsum(plan_flows * padded.arc_costs(live_rows[plan_rows],
                                                       live_cols[plan_cols]))
    solution = _engine.BipartiteSolution(
        rows=live_rows[plan_rows], cols=live_cols[plan_cols],
        flows=plan_flows, cost=cost,
        u=-pi[:n_live].copy(), v=pi[n_live : n_live + m_live].copy(),
        u_low=-pi_low[:n_live].copy(), v_low=pi_low[n_live : n_live + m_live].copy(),
        n_iter=int(tree.n_iter), status=status, violation=violation,
    )

    def fill(u, v, rows, cols):
        # Zero-mass points by c-transform, as the point solve does: over the real points
        # by the compiled kernel (the metric is symmetric, so it serves
        # columns too), over the dummies by their constant costs.
        def most(values):
            return float(np.max(values, initial=-math.inf))

        # Columns against every row, zero-mass ones filled first, so that a zero-mass
        # row and column stay dual feasible too.
        for own, pot, out, live, ours, theirs, to_dummy, from_dummy in (
                (all_a, v, u, cols, source.x, source.y, padded.col_cost, padded.row_cost),
                (all_b, u, v, np.arange(all_a.size), source.y, source.x, padded.row_cost,
                 padded.col_cost)):
            size, other_size = (n, m) if own is all_a else (m, n)
            zero = np.flatnonzero(own == 0)
            real_zero, dummy_zero = zero[zero < size], zero[zero >= size]
            real_live, dummy_live = live[live < other_size], live[live >= other_size]
            if real_zero.size:
                best = np.full(real_zero.size, math.inf)
                if real_live.size:
                    best = source.c_transform(np.ascontiguousarray(ours[real_zero]),
                                              np.ascontiguousarray(theirs[real_live]),
                                              np.ascontiguousarray(pot[real_live]))
                out[real_zero] = np.minimum(best, to_dummy - most(pot[dummy_live]))
            if dummy_zero.size:
                out[dummy_zero] = min(from_dummy - most(pot[real_live]),
                                      padded.corner - most(pot[dummy_live]))

    result = _assemble(solution, all_a, all_b, fill, padded, source.metric)
    return _from_transport(kind, value, result, (n, m), source.arc_costs)


def _scatter(values: np.ndarray, where: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(size)
    out[where] = values
    return out


def _detour_cost(tails: np.ndarray, heads: np.ndarray, lengths: np.ndarray, n: int) -> float:
    """The cost ``D`` of the partial network's arc from the sink to the source: more than
    the longest shortest path, so that no optimum uses it (see :mod:`emd.unbalanced`).

    Every shortest path is at most twice the eccentricity ``e`` of node 0 (through node
    0), so ``4 e`` leaves a factor 2 over any rounding of ``e``; 1 when every length is 0.
    One Dijkstra, O(arcs log n), which also proves the network connected (a
    ``ValueError`` otherwise: mass could not travel between its components, and the
    sink-to-source arc would carry it at a made-up price).
    """
    from scipy.sparse import coo_array, csgraph

    if n == 0:
        return 1.0
    # Explicitly stored zeros are edges for scipy.sparse.csgraph: zero lengths count.
    graph = coo_array((lengths, (tails, heads)), shape=(n, n)).tocsr()
    n_comp, _ = csgraph.connected_components(graph, directed=False)
    if n_comp > 1:
        raise ValueError(f"partial= on a graph needs it connected (it has {n_comp} connected "
                         f"components: mass cannot travel between them)")
    far = float(np.max(csgraph.dijkstra(graph, directed=False, indices=0)))
    return 4.0 * far if far > 0 else 1.0


def solve_arcs(tails: np.ndarray, heads: np.ndarray, lengths: np.ndarray, a: np.ndarray,
               b: np.ndarray, kind: str, value: float, max_iter: int | None,
               shape: tuple[int, ...] | None = None) -> UnbalancedResult:
    """Partial or unbalanced transport on a network given by its directed arcs (each way
    listed), with O(nodes + arcs) arcs in all.

    *Unbalanced:* the extra node ``n`` with arcs of cost ``lam`` to and from every
    node; flow on ``i -> extra`` is mass destroyed at ``i``, on ``extra -> i`` mass
    created there.  *Partial:* the sink ``n`` (demand ``|a| - m``) fed by every node at
    cost 0, the source ``n + 1`` (supply ``|b| - m``) feeding every node at cost 0, and
    one arc from the sink to the source at the cost of :func:`_detour_cost`, which no
    optimum uses (it only makes the network one component for the certificate); flow
    into the sink is mass left unmoved at ``i`` (``destroyed``), flow from the source
    mass not received (``created``).  See :mod:`emd.unbalanced` for both proofs.

    Node ``i`` supplies ``a_i - b_i`` (as an exact double-double: what rounding
    drops rides on a twin node tied to ``i`` by one arc of cost 0), the extra nodes
    the rest (with what rounding drops on twins of their own).  Solved by the
    network simplex of :func:`emd.min_cost_flow` and certified as a graph is (one
    component).
    """
    from emd import _certify, _engine
    from emd._result import FlowResult, certify_flow
    from emd._status import cost_if_finished

    n = a.size
    nodes = np.arange(n, dtype=np.intp)
    supply, supply_low = _certify.difference(a, b)
    if kind == PARTIAL:
        value = _partial_mass(value, math.fsum(a), math.fsum(b))
        detour = _detour_cost(tails, heads, lengths, n)
        sink, source = n, n + 1
        hub_supply = [-max(0.0, math.fsum([*a.tolist(), -value])),   # -(|a| - m)
                      max(0.0, math.fsum([*b.tolist(), -value]))]    # |b| - m
        # What rounding drops from the two (exactly: their sum must be |b| - |a|):
        # surplus rides on a twin of the source, deficit on a twin of the sink.
        rest = np.asarray(exact_residual([b, -a, [-hub_supply[0]], [-hub_supply[1]]]),
                          dtype=np.float64)
        hub_twin_of = np.where(rest > 0, source, sink)
        hub_tails = np.concatenate([nodes, np.full(n, source), [sink]])
        hub_heads = np.concatenate([np.full(n, sink), nodes, [source]])
        hub_costs = np.concatenate([np.zeros(2 * n), [detour]])
        top_cost = max(float(np.abs(lengths).max(initial=0.0)), detour)
    else:
        extra_parts = exact_residual([b, -a])  # exact |b| - |a|, highest part first
        extra = n
        hub_supply = [extra_parts[0] if extra_parts else 0.0]
        rest = np.asarray(extra_parts[1:], dtype=np.float64)
        hub_twin_of = np.full(rest.size, extra)
        hub_tails = np.concatenate([nodes, np.full(n, extra)])
        hub_heads = np.concatenate([np.full(n, extra), nodes])
        hub_costs = np.full(2 * n, value)
        top_cost = max(float(np.abs(lengths).max(initial=0.0)), value)
    n_hub = len(hub_supply)
    # What rounding drops rides on twin nodes, each tied to its node by ONE zero-cost
    # arc in the direction its mass must go (a twin with supply feeds its node, a twin
    # with demand is fed by it).  Zero-cost arcs both ways measured worse: on masses
    # spanning many binades the arc simplex reported such 2-cycles "unbounded" (7 of
    # 300 random 5 x 5 grids with lam = 0.01), and one-way arcs lose nothing.
    split = np.flatnonzero(supply_low)
    twins = n + n_hub + np.arange(split.size)
    twin_supply = supply_low[split]
    hub_twins = n + n_hub + split.size + np.arange(rest.size)

    def one_way(node, twin, twin_mass):
        sends = twin_mass > 0
        return np.where(sends, twin, node), np.where(sends, node, twin)

    twin_tails, twin_heads = one_way(split, twins, twin_supply)
    rest_tails, rest_heads = one_way(hub_twin_of, hub_twins, rest)
    tails_all = np.concatenate([tails, hub_tails, twin_tails, rest_tails])
    heads_all = np.concatenate([heads, hub_heads, twin_heads, rest_heads])
    costs_all = np.concatenate([lengths, hub_costs, np.zeros(split.size + rest.size)])
    supply_all = np.concatenate([supply, hub_supply, twin_supply, rest])
    check_scale(top_cost, math.fsum(a) + math.fsum(b), supply_all.size)
    max_iter = None if max_iter is None else int(max_iter)
    solution = _engine.solve_arcs(supply_all, tails_all, heads_all, costs_all, max_iter)
    status = solution.status
    flow = solution.flow.copy()
    # A twin has one arc, so every feasible flow carries exactly its supply there.  The
    # simplex may leave a twin of 1e-16 on its artificial arc (a degenerate tree whose
    # float flows call that balanced), and the certificate, which routes the exact basic
    # flow of the arcs carrying flow, would find it unrouted: say it on the arc.
    twin_arcs = tails.size + hub_tails.size + np.arange(split.size + rest.size)
    flow[twin_arcs] = np.abs(np.concatenate([twin_supply, rest]))
    problem = (tails_all, heads_all, costs_all, supply_all, solution.potentials_low)
    flow_result = FlowResult(
        cost=cost_if_finished(status, lambda: math.fsum(flow * costs_all)),
        flow=flow, potentials=solution.potentials, n_iter=solution.n_iter,
        status=status, _problem=problem,
    )

    def prove() -> Certificate:
        # The extra node(s) tie every node to every other both ways (partial: node ->
        # sink -> source -> node), and each twin only supplies (an arc out) or only
        # demands (an arc in): every supply reaches every demand, so feasibility is
        # the exact balance of the one component (which exact_residual made exact)
        # and what the float flow leaves unrouted is repaired at a path's cost, as
        # for graphs (see emd.Certificate).
        return certify_flow(
            tails_all, heads_all, costs_all, supply_all, flow,
            (solution.potentials, solution.potentials_low),
            flow_result.cost if math.isfinite(flow_result.cost)
            else math.fsum(flow * costs_all),
            components=np.zeros(supply_all.size, dtype=np.intp),
        )

    if status == "optimal" and not prove().optimal():
        status = "uncertified"
    k = tails.size
    if kind == PARTIAL and status == "optimal" and flow[k + 2 * n] > 0:
        # The value is proven, but this flow routes mass through the sink-to-source
        # arc: it does not describe a partial plan of the mass asked.
        status = "uncertified"
    destroyed = flow[k : k + n].copy()
    created = flow[k + n : k + 2 * n].copy()
    if shape is not None:
        destroyed, created = destroyed.reshape(shape), created.reshape(shape)
    transport_cost = math.fsum(flow[:k] * lengths)
    mass_destroyed, mass_created = math.fsum(destroyed.ravel()), math.fsum(created.ravel())
    return UnbalancedResult(
        cost=flow_result.cost,
        kind=kind,
        parameter=value,
        transport_cost=transport_cost,
        mass_moved=math.fsum(a) - mass_destroyed,
        mass_created=mass_created,
        mass_destroyed=mass_destroyed,
        created=created,
        destroyed=destroyed,
        plan=None,
        status=status,
        reduced=flow_result,
        _proof=prove,
    )
