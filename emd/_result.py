"""Result objects: small frozen dataclasses with named fields and derived views."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from emd import _certify

if TYPE_CHECKING:  # scipy.sparse is imported where a plan is built
    import scipy.sparse

#: Relative accuracy the solver promises and :meth:`Certificate.optimal` checks.
DEFAULT_RTOL = 1e-9
#: The compiled check of a batch pair's certificate claims half the relative
#: accuracy that ``Certificate.optimal`` checks, so that rounding differences
#: between the two evaluations can never let it pass a pair the full certificate
#: would reject; pairs it cannot prove get the full single solve.
COMPILED_RTOL = 0.5 * DEFAULT_RTOL


class _CostSource(Protocol):
    """What a certificate needs to know about the costs of a bipartite problem."""

    def arc_costs(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray: ...

    def min_reduced_cost(
        self, u: np.ndarray, v: np.ndarray, u_low: np.ndarray, v_low: np.ndarray, rows, cols
    ) -> tuple[float, int, int, float]: ...


@dataclass(frozen=True, slots=True)
class Certificate:
    """A proof of how far a reported cost can be from the exact optimum.

    The reference is the exact optimum ``OPT`` of the problem as the solver
    holds it in float64: the given weights and costs, or the metric evaluated
    in float64 as the kernels evaluate it (a rounded square root is the cost).
    :attr:`bound` is a rigorous upper bound on ``|cost - OPT|``: every
    rounding made while computing it is counted against the claim, never
    excused, so :meth:`optimal` can be trusted (``emd._certify`` has the
    arithmetic).

    By weak duality, ``OPT >= dual_value - max_dual_violation * mass`` for the
    potentials held (the dual value summed with exact products and a
    correctly rounded sum, the violation evaluated with error-free
    transformations), and ``OPT <=`` the cost of the plan's basic flow (the
    exact flow with the given marginals on the plan's support, recomputed in
    integer arithmetic) plus the cost of routing what that flow leaves
    unrouted.

    The proof includes feasibility: a finite :attr:`bound` (and so
    :meth:`optimal`) requires, in exact arithmetic, that every unit of mass can
    be delivered.  Where every unit can travel to every demand of its
    component (transport plans, grids, graphs), each component's supply and
    demand must balance exactly (after the documented exact balancing of totals
    that differ only by rounding); for a general min-cost flow or a sparse
    pattern of allowed pairs, the basic flow itself must meet every supply and
    demand exactly, on nonnegative flows.  Stranded mass of any size, even
    2**-60 beside 1, makes the bound ``inf``: the optimum of an infeasible
    problem is not a number.

    Attributes
    ----------
    cost : float
        The reported cost.
    dual_value : float
        ``sum(a u) + sum(b v)`` for the potentials the proof uses, correctly rounded.
    max_dual_violation : float
        Upper bound on ``max(0, u_i + v_j - C_ij)`` over the pairs that can carry
        mass (for flows: ``max(0, y_tail - y_head - cost)`` over every arc); NaN
        where the proof needs no dual (trees, whose flow is unique; the 1-D
        closed form, optimal by the Monge property).
    worst_pair : tuple of int
        Where that bound is attained (``(-1, -1)`` when nothing is violated or
        the notion does not apply).
    marginal_error : float
        Half the L1 distance between the net supply of the float64 flow (for a
        plan: its marginals) and the supplies ``a``, ``-b`` (the rounding of the
        flows; informational, the bound accounts for it).
    unrouted : float
        Mass the plan's basic flow does not deliver (supply the plan does not
        carry), summed exactly and rounded up: 0.0 exactly when the flow meets
        every supply and demand.  Where the problem lets it travel (see above),
        it is repaired at the cost of a longest path; otherwise the bound is inf.
    mass : float
        Total mass.
    bound : float
        Rigorous upper bound on ``|cost - OPT|``: ``inf`` when nothing can be proven,
        in particular when feasibility is not (see above).

    Examples
    --------
    >>> import emd
    >>> cert = emd.solve([1.0, 1.0], [1.0, 1.0], [[1.0, 3.0], [3.0, 1.0]]).certificate()
    >>> cert.cost, cert.bound, cert.optimal()
    (2.0, 0.0, True)
    """

    cost: float
    dual_value: float
    max_dual_violation: float
    worst_pair: tuple[int, int]
    marginal_error: float
    unrouted: float
    mass: float
    bound: float

    @property
    def gap(self) -> float:
        """``cost - dual_value`` (rounded; :attr:`bound` accounts for its rounding)."""
        return self.cost - self.dual_value

    @property
    def suboptimality_bound(self) -> float:
        """The same as :attr:`bound`: an upper bound on ``|cost - OPT|``."""
        return self.bound

    @property
    def relative_gap(self) -> float:
        """``bound / |cost|``: 0 when the bound is 0, inf when only the cost is 0."""
        if self.bound == 0.0:
            return 0.0
        return self.bound / abs(self.cost) if self.cost != 0.0 else math.inf

    def optimal(self, rtol: float = DEFAULT_RTOL) -> bool:
        """True when the cost is proven within ``rtol`` relative of the exact optimum.

        A zero cost is certified only by a bound of exactly 0: no absolute
        tolerance is assumed.
        """
        return bool(self.bound <= rtol * abs(self.cost))

    def __repr__(self) -> str:
        return (
            f"Certificate(cost={self.cost:.12g}, bound={self.bound:.3g}, "
            f"relative_gap={self.relative_gap:.2e}, "
            f"max_dual_violation={self.max_dual_violation:.2e}, optimal={self.optimal()})"
        )


def _certify_arcs(
    tails: np.ndarray,
    heads: np.ndarray,
    arc_costs: np.ndarray,
    flow: np.ndarray,
    supply: np.ndarray,
    potentials: tuple[np.ndarray, np.ndarray],
    cost: float,
    violation: tuple[float, int, int],
    max_cost: float,
    path_arcs: int,
    supply_low: np.ndarray | None = None,
    components: np.ndarray | None = None,
) -> Certificate:
    """The one proof behind every flow certificate (a transport plan is a flow from rows
    to columns).

    ``supply_low`` carries what rounding dropped from ``supply`` (e.g. the exact error
    of ``a - b``): the proof is about ``supply + supply_low``, the problem as given,
    not about its rounding, whose optimum can differ by all of a small cost.

    Weak duality: for a feasible flow ``g``, ``sum(c g) >= sum(supply y) - violation *
    sum(g)``, and an optimal flow can be taken acyclic, so ``sum(g) <= path_arcs * mass``
    (``mass`` half the absolute supply; ``path_arcs`` is 1 for transport, ``n - 1`` for a
    transshipment).  Above: the exact flow on the support (the basic flow, unique on a
    forest) costs at least the optimum once it is made feasible.  ``arc_costs``,
    ``flow`` are over the arcs given (the support); ``violation`` covers every arc of
    the problem.

    Feasibility is part of the proof, in exact arithmetic (``emd._certify``'s exact
    sums).  ``components`` labels the nodes by the parts of the problem inside which
    mass can travel from any node to any other along paths of at most ``path_arcs``
    arcs of cost at most ``max_cost`` each way (transport with every pair allowed,
    grids, graphs): a feasible flow then exists exactly when every component
    balances exactly, and what the basic flow leaves unrouted or sends against an
    arc is repaired along such paths.  ``components=None`` (a general arc list,
    where nothing says a path exists) proves feasibility only by the flow itself:
    the basic flow must meet every supply exactly, on nonnegative flows.  Without
    that proof the bound is ``inf``.
    """
    y, y_low = potentials
    n_nodes = supply.size
    low = np.zeros_like(supply) if supply_low is None else np.asarray(supply_low, dtype=float)
    mass = 0.5 * math.fsum(np.abs(np.concatenate([supply, low[low != 0]])))
    longest_path = path_arcs * max_cost
    max_violation, wi, wj = violation
    net = np.bincount(tails, flow, minlength=n_nodes) - np.bincount(heads, flow, minlength=n_nodes)
    marginal_error = 0.5 * float(np.abs(net - supply - low).sum())

    dual_terms = [(supply, y), (supply, y_low), (low, y), (low, y_low)]
    dual_value, _ = _certify.exact_dot(*dual_terms)
    reported = (np.array([float(cost)]), np.ones(1))
    over_dual, over_dual_err = _certify.exact_dot(reported, *((-x, z) for x, z in dual_terms))
    above = over_dual + over_dual_err + _certify.round_up(max_violation * path_arcs * mass)

    feasible = True
    if components is not None:
        # Mass travels freely inside a component: only its exact net can strand it.
        labels = np.asarray(components, dtype=np.intp)
        feasible = _certify.exact_imbalance(np.tile(labels, 2), np.concatenate([supply, low])) == 0
    support = flow > 0
    basic = _certify.BasicFlow(tails[support], heads[support], supply,
                               None if supply_low is None else low)
    minus_reported = (np.array([-float(cost)]), np.ones(1))
    support_costs = arc_costs[support]
    if basic.is_forest:
        under, under_err = _certify.exact_dot(
            (basic.high, support_costs), (basic.low, support_costs), minus_reported
        )
        # ``basic.error`` bounds the L1 error of the flow on the support, so
        # it is priced at the support's own costs (zero-cost supports, the
        # common case for identical histograms, then prove a bound of 0).
        largest_support_cost = float(np.abs(support_costs).max(initial=0.0))
        repair = (
            basic.error * largest_support_cost
            + 2 * float(np.dot(basic.negative, np.abs(support_costs)))
            + (basic.unrouted + 2 * float(basic.negative.sum())) * longest_path
        )
        unrouted = basic.unrouted
        if components is None:
            # No path is known to exist: the basic flow must be feasible itself.
            feasible = basic.unrouted == 0.0 and not basic.negative.any()
    else:
        # No unique flow on the support: the flow's own imbalance at every node,
        # summed exactly (so that 0 means conservation holds exactly).
        nodes = np.arange(n_nodes)
        imbalance = _certify.exact_imbalance(
            np.concatenate([tails[support], heads[support], nodes, nodes]),
            np.concatenate([flow[support], -flow[support], -supply, -low]),
        )
        under, under_err = _certify.exact_dot((flow[support], support_costs), minus_reported)
        repair = imbalance * longest_path
        unrouted = 0.5 * imbalance
        if components is None:
            feasible = imbalance == 0.0
    below = under + under_err + _certify.round_up(repair)
    bound = _certify.round_up(max(above, below, 0.0)) if feasible else math.inf
    return Certificate(
        cost=float(cost),
        dual_value=float(dual_value),
        max_dual_violation=max_violation,
        worst_pair=(int(wi), int(wj)),
        marginal_error=marginal_error,
        unrouted=float(unrouted),
        mass=mass,
        bound=bound if math.isfinite(bound) else math.inf,
    )


def certify_transport(
    rows: np.ndarray,
    cols: np.ndarray,
    flows: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    potentials: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    arc_costs: np.ndarray,
    cost: float,
    violation: tuple[float, int, int, float],
) -> Certificate:
    """The certificate of a transport plan: :func:`_certify_arcs` on the flow from rows
    ``0..n-1`` to columns ``n..n+m-1`` with potentials ``y = (u, -v)``.

    ``potentials`` is ``(u, u_low, v, v_low)`` (double-double), ``violation`` a
    rigorous ``(lower bound of min C_ij - u_i - v_j, i, j, max |C_ij|)`` over the
    pairs with mass on both sides, from the final pricing scan or a fresh one.
    """
    u, u_low, v, v_low = potentials
    min_rc, wi, wj, max_cost = violation
    max_violation = max(0.0, -float(min_rc))
    if max_violation == 0.0:
        wi = wj = -1
    # Bins without mass carry no flow and their potentials do not enter the dual value.
    keep_a, keep_b = np.where(a > 0, 1.0, 0.0), np.where(b > 0, 1.0, 0.0)
    # Every row reaches every column in one arc: the plan's problem is feasible
    # exactly when the totals of a and b are equal, exactly.
    return _certify_arcs(
        rows, cols + a.size, arc_costs, flows, np.concatenate([a, -b]),
        (np.concatenate([u * keep_a, -v * keep_b]), np.concatenate([u_low * keep_a,
                                                                   -v_low * keep_b])),
        cost, (max_violation, wi, wj), max_cost, path_arcs=1,
        components=np.zeros(a.size + b.size, dtype=np.intp),
    )


def certify_flow(
    tails: np.ndarray,
    heads: np.ndarray,
    costs: np.ndarray,
    supply: np.ndarray,
    flow: np.ndarray,
    potentials: tuple[np.ndarray, np.ndarray],
    cost: float,
    violation: tuple[float, int, int] | None = None,
    max_cost: float | None = None,
    supply_low: np.ndarray | None = None,
    components: np.ndarray | None = None,
) -> Certificate:
    """The certificate of a min-cost flow (transshipment) on an arc list.

    ``potentials`` is ``(y, y_low)`` (double-double) with the convention
    ``y[tail] - y[head] <= cost`` on every arc.  ``violation`` (an upper bound on
    the largest violation over every arc of the problem, with the arc) may be
    computed by the caller when the arcs given here are only those carrying flow;
    by default it is computed over the arcs given.  ``max_cost`` bounds every arc's
    absolute cost (by default: over the arcs given).  ``supply_low`` is what rounding
    dropped from ``supply`` (see :func:`_certify_arcs`).

    ``components`` labels the connected components of a problem whose every arc
    has its reverse (graphs, grids): mass then travels both ways inside each, and
    feasibility is proven by each component balancing exactly.  Without it the
    flow must meet every supply and demand exactly by itself (see
    :func:`_certify_arcs`); either way an infeasible problem gets ``bound = inf``.
    """
    y, y_low = potentials
    if max_cost is None:
        max_cost = float(np.abs(costs).max(initial=0.0))
    if violation is None:
        violation = _certify.arc_violation(tails, heads, costs, y, y_low)
    return _certify_arcs(
        tails, heads, costs, flow, supply, (y, y_low), cost, violation, max_cost,
        path_arcs=max(supply.size - 1, 1), supply_low=supply_low, components=components,
    )


@dataclass(frozen=True, slots=True)
class TransportResult:
    """An optimal transport plan between two discrete distributions, with its duals.

    Attributes
    ----------
    cost : float
        The cost ``sum_ij P_ij C_ij`` of the plan (the Wasserstein-1 distance for a
        metric cost), proven within ``1e-9`` relative of the exact optimum when
        ``status == "optimal"``.
    plan : scipy.sparse.coo_array, shape (n, m)
        The positive entries of the plan; at most ``n + m - 1`` of them (a basic
        solution) when ``status == "optimal"``.
    u, v : ndarray, shapes (n,) and (m,)
        Dual potentials, shifted so that ``sum(a u) == sum(b v)`` up to rounding.
        At optimality ``u_i + v_j <= C_ij`` holds for every pair (zero-mass bins
        included) up to the rounding of the potentials to float64: the
        certificate works with their double-double values, of which these are
        the leading parts.  After an early stop they are those of the
        unfinished tree and may violate it.
    a, b : ndarray
        The weights that were transported (after ``normalize``, if asked).
    n_iter : int
        Number of simplex pivots.
    status : str
        ``"optimal"`` (the certificate proves the cost to ``1e-9`` relative),
        ``"uncertified"`` (the solver finished but the proof falls short of that
        tolerance: see :meth:`certificate`), or ``"max_iter_reached"`` when the
        iteration limit stopped the solver first (the plan is then completed to
        a feasible one by the north-west corner rule, but it is not optimal).
    metric : str or None
        Ground metric for point-cloud problems; None for an explicit cost matrix.
    """

    cost: float
    plan: scipy.sparse.coo_array
    u: np.ndarray
    v: np.ndarray
    a: np.ndarray
    b: np.ndarray
    n_iter: int
    status: str
    metric: str | None = None
    _costs: _CostSource | None = field(default=None, repr=False, compare=False)
    _u_low: np.ndarray | None = field(default=None, repr=False, compare=False)
    _v_low: np.ndarray | None = field(default=None, repr=False, compare=False)
    #: ``(plan, u, v, certificate)`` made at the end of the solve; it applies only
    #: while the result holds those very objects (not after ``dataclasses.replace``).
    _certificate: tuple | None = field(default=None, repr=False, compare=False)

    @property
    def converged(self) -> bool:
        """Whether the solver proved optimality (``status == "optimal"``)."""
        return self.status == "optimal"

    @property
    def shape(self) -> tuple[int, int]:
        return self.plan.shape

    def dense_plan(self) -> np.ndarray:
        """The plan as a dense ``(n, m)`` array."""
        return self.plan.toarray()

    def certificate(self, recompute: bool = False) -> Certificate:
        """The proof of the cost: a rigorous bound on its distance to the exact optimum.

        By default the certificate of the solve, whose dual violation comes from
        the solver's final full pricing pass (so it costs O(n + m) on top of the
        solve).  When the solver's compiled check already proved the cost (a
        rigorous bound at half the tolerance, on which ``status`` rests), it is
        built on the first call and kept; its own bound, rounded differently, is
        expected to meet the tolerance as well, and the tests check that it does.
        ``recompute=True`` checks the plan held from scratch (its cost, correctly
        rounded, is the one judged), pricing every pair again with the potentials
        stored here: O(n m) time, O(n + m) memory.
        """
        if self._certificate is not None and not recompute:
            plan, u, v, certificate = self._certificate
            if plan is self.plan and u is self.u and v is self.v:
                if callable(certificate):
                    # Proven at the solve by the compiled check; the full one on demand.
                    certificate = certificate()
                    object.__setattr__(self, "_certificate", (plan, u, v, certificate))
                return certificate
        if self._costs is None:
            raise ValueError("this result does not keep its costs; certificate() is unavailable")
        rows, cols, flows = self.plan.row, self.plan.col, self.plan.data
        u_low = np.zeros_like(self.u) if self._u_low is None else self._u_low
        v_low = np.zeros_like(self.v) if self._v_low is None else self._v_low
        support_rows, support_cols = np.flatnonzero(self.a > 0), np.flatnonzero(self.b > 0)
        violation = self._costs.min_reduced_cost(
            self.u, self.v, u_low, v_low, support_rows, support_cols
        )
        arc_costs = self._costs.arc_costs(rows, cols)
        # The plan held is what is proven: its own cost, correctly rounded.
        plan_cost, _ = _certify.exact_dot((flows, arc_costs))
        return certify_transport(
            rows, cols, flows, self.a, self.b, (self.u, u_low, self.v, v_low),
            arc_costs, plan_cost, violation,
        )

    def __repr__(self) -> str:
        n, m = self.plan.shape
        return (
            f"TransportResult(cost={self.cost:.12g}, shape=({n}, {m}), nnz={self.plan.nnz}, "
            f"n_iter={self.n_iter}, status={self.status!r})"
        )


@dataclass(frozen=True, slots=True)
class FlowResult:
    """A minimum-cost flow on an arc list (transshipment), with node potentials.

    Attributes
    ----------
    cost : float
        ``sum(flow * costs)``, proven within ``1e-9`` relative of the exact optimum when
        ``status == "optimal"``; NaN when the solver stopped short (the flow then
        leaves some supply undelivered).
    flow : ndarray, shape (n_arcs,)
        Flow on every arc (zero off the spanning tree).
    potentials : ndarray, shape (n_nodes,)
        Dual potentials ``y`` with ``y[tail] - y[head] <= cost`` on every arc and
        ``sum(supply * y) == cost`` at optimality, up to their rounding to float64
        (the certificate uses their double-double values).
    n_iter : int
        Number of simplex pivots.
    status : str
        ``"optimal"``, ``"uncertified"`` (finished, but the proof falls short of
        ``1e-9`` relative: see :meth:`certificate`), ``"max_iter_reached"``,
        ``"infeasible"`` (some supply cannot reach a demand, however little:
        proven in exact arithmetic) or ``"unbounded"`` (a negative-cost cycle).
    """

    cost: float
    flow: np.ndarray
    potentials: np.ndarray
    n_iter: int
    status: str
    #: ``(tails, heads, costs, supply, potentials_low)`` for the certificate.
    _problem: tuple | None = field(default=None, repr=False, compare=False)

    @property
    def converged(self) -> bool:
        return self.status == "optimal"

    def certificate(self) -> Certificate:
        """The proof of the cost: conservation at every node, exactly (the exact basic flow
        of the flow's support must meet every supply and demand, so an infeasible
        problem never passes: its bound is inf), potential feasibility on every arc
        (exact-sign), and the duality gap, all with their rounding counted (see
        :class:`Certificate`).  The supplies are those solved: each weakly connected
        component's totals balanced exactly when they agree to rounding (see
        :func:`emd.min_cost_flow`)."""
        if self._problem is None:
            raise ValueError("this result does not keep its problem; certificate() is unavailable")
        tails, heads, costs, supply, low = self._problem
        return certify_flow(
            tails, heads, costs, supply, self.flow, (self.potentials, low),
            self.cost if math.isfinite(self.cost) else math.fsum(self.flow * costs),
        )

    def __repr__(self) -> str:
        return (
            f"FlowResult(cost={self.cost:.12g}, n_arcs={self.flow.size}, "
            f"n_nodes={self.potentials.size}, n_iter={self.n_iter}, status={self.status!r})"
        )


def cost_source(result: TransportResult) -> _CostSource | None:
    """The costs a transport result was solved with (a dense matrix or coordinates with a
    metric: ``emd._engine.DenseCosts`` or ``PointCosts``), or None when it keeps none.

    The one reader of the result's private field outside this class, for the package's
    own tools (duality checks, grid potentials); not part of the public API."""
    return result._costs
