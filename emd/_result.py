"""Result objects: small frozen dataclasses with named fields and derived views."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import scipy.sparse

#: Relative accuracy the solver promises and :meth:`Certificate.optimal` checks.
DEFAULT_RTOL = 1e-9

#: Relative rounding excused in a certificate: a few dozen units in the last
#: place of the magnitudes involved, covering the evaluation of sums and of
#: potentials recomputed along tree paths.
_ROUNDING_EPS = 32 * np.finfo(float).eps


class _CostSource(Protocol):
    """What a certificate needs to know about the costs of a bipartite problem."""

    def arc_costs(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray: ...

    def min_reduced_cost(
        self, u: np.ndarray, v: np.ndarray, rows=None, cols=None, slack: float = 0.0
    ) -> tuple[float, int, int, float]: ...


@dataclass(frozen=True, slots=True)
class Certificate:
    """Evidence that a transport plan is optimal, all figures computed afresh in float64.

    For any feasible plan ``P*``, ``cost(P*) >= dual_value - max_dual_violation * mass``
    (weak duality with the violation paid on every unit of mass), so the
    returned plan is within :attr:`suboptimality_bound` of the optimum.

    Attributes
    ----------
    cost : float
        Primal cost ``sum(P * C)`` of the returned plan (exact summation).
    dual_value : float
        ``sum(a * u) + sum(b * v)``.
    gap : float
        ``cost - dual_value``.
    max_dual_violation : float
        ``max(0, max_ij(u_i + v_j - C_ij - r_ij))`` over the pairs that can carry
        mass (``a_i > 0`` and ``b_j > 0``), where ``r_ij = 32 eps (|u_i| + |v_j| +
        |C_ij|)`` excuses the rounding of evaluating each pair.
    worst_pair : tuple of int
        The pair ``(i, j)`` attaining it.
    complementary_slackness : float
        ``sum(P_ij * |C_ij - u_i - v_j|)``: zero when the plan only uses tight pairs.
    marginal_error : float
        Largest L1 distance between the plan's marginals and ``a``, ``b``.
    mass : float
        Total mass ``sum(a)``.
    rounding : float
        What float64 rounding alone can produce in the gap and the slackness:
        ``32 eps (sum P|C| + sum a|u| + sum b|v|)``, the magnitudes actually
        summed, plus the rounding-level imbalance of the totals
        ``|sum a - sum b| + 32 eps mass`` times the largest plan cost and
        support potentials.  The relative figures count only the part of an error above
        it, and divide by ``max(|cost|, rounding)``, so that a zero distance can
        be certified and a suboptimal plan on wide-ranging costs cannot hide.
    """

    cost: float
    dual_value: float
    gap: float
    max_dual_violation: float
    worst_pair: tuple[int, int]
    complementary_slackness: float
    marginal_error: float
    mass: float
    rounding: float

    @property
    def suboptimality_bound(self) -> float:
        """Upper bound on ``cost - optimal cost``: ``|gap| + max_dual_violation * mass``."""
        return abs(self.gap) + self.max_dual_violation * self.mass

    @property
    def scale(self) -> float:
        """Denominator of the relative figures: ``max(|cost|, rounding)``."""
        return max(abs(self.cost), self.rounding, np.finfo(float).tiny)

    @property
    def relative_gap(self) -> float:
        """:attr:`suboptimality_bound` beyond rounding, relative to :attr:`scale`."""
        return max(0.0, self.suboptimality_bound - self.rounding) / self.scale

    @property
    def relative_slackness(self) -> float:
        """:attr:`complementary_slackness` beyond rounding, relative to :attr:`scale`."""
        return max(0.0, self.complementary_slackness - self.rounding) / self.scale

    @property
    def relative_marginal_error(self) -> float:
        return self.marginal_error / self.mass

    def optimal(self, rtol: float = DEFAULT_RTOL) -> bool:
        """True when the plan is feasible and optimal to ``rtol`` relative."""
        return bool(
            self.relative_gap <= rtol
            and self.relative_marginal_error <= rtol
            and self.relative_slackness <= rtol
        )

    def __repr__(self) -> str:
        return (
            f"Certificate(cost={self.cost:.12g}, relative_gap={self.relative_gap:.2e}, "
            f"max_dual_violation={self.max_dual_violation:.2e}, "
            f"relative_marginal_error={self.relative_marginal_error:.2e}, "
            f"optimal={self.optimal()})"
        )


@dataclass(frozen=True, slots=True)
class TransportResult:
    """An optimal transport plan between two discrete distributions, with its duals.

    Attributes
    ----------
    cost : float
        The optimal cost ``sum_ij P_ij C_ij`` (the Wasserstein-1 distance for a metric cost).
    plan : scipy.sparse.coo_array, shape (n, m)
        The positive entries of the optimal plan; at most ``n + m - 1`` of them
        (a basic solution) when ``status == "optimal"``.
    u, v : ndarray, shapes (n,) and (m,)
        Dual potentials, shifted so that ``sum(a u) == sum(b v)``.  At
        optimality ``u_i + v_j <= C_ij`` for every pair (zero-mass bins
        included) and ``sum(a u) + sum(b v) == cost``; after an early stop they
        are those of the unfinished tree and may violate both.
    a, b : ndarray
        The weights that were transported (after ``normalize``, if asked).
    n_iter : int
        Number of simplex pivots.
    status : str
        ``"optimal"``, or ``"max_iter_reached"`` when the iteration limit stopped
        the solver first (the plan is then completed to a feasible one by the
        north-west corner rule, but it is not optimal).
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

    def certificate(self) -> Certificate:
        """Check optimality from scratch: duality gap, dual violation, slackness, marginals.

        Costs O(n m) time, O(n + m) memory: every pair is priced once, with
        costs read from the matrix or recomputed from the coordinates.
        """
        if self._costs is None:
            raise ValueError("this result does not keep its costs; certificate() is unavailable")
        rows, cols, mass_ij = self.plan.row, self.plan.col, self.plan.data
        c_ij = self._costs.arc_costs(rows, cols)
        cost = math.fsum(mass_ij * c_ij)
        dual = math.fsum(self.a * self.u) + math.fsum(self.b * self.v)
        # Only pairs that can carry mass bound the suboptimality; each is
        # excused the rounding of evaluating its own u_i + v_j - C_ij.
        support_rows, support_cols = np.flatnonzero(self.a > 0), np.flatnonzero(self.b > 0)
        min_rc, wi, wj, _ = self._costs.min_reduced_cost(
            self.u, self.v, support_rows, support_cols, _ROUNDING_EPS
        )
        slack = math.fsum(mass_ij * np.abs(c_ij - self.u[rows] - self.v[cols]))
        n, m = self.plan.shape
        row_err = np.abs(np.bincount(rows, mass_ij, minlength=n) - self.a).sum()
        col_err = np.abs(np.bincount(cols, mass_ij, minlength=m) - self.b).sum()
        mass = math.fsum(self.a)
        # Totals of a and b that agree only to rounding (or to MASS_RTOL) leave
        # their exact difference, plus the rounding of summing the masses, at
        # one bin with mass: that moves the cost and the dual value by up to
        # this much times one of its costs or potentials.
        residual = abs(math.fsum(np.concatenate([self.a, -self.b]))) + _ROUNDING_EPS * mass
        magnitude = float(
            np.abs(c_ij).max(initial=0.0)
            + np.abs(self.u[support_rows]).max(initial=0.0)
            + np.abs(self.v[support_cols]).max(initial=0.0)
        )
        # What float64 can get wrong in the gap: the magnitudes actually summed.
        rounding = _ROUNDING_EPS * (
            math.fsum(mass_ij * np.abs(c_ij))
            + math.fsum(self.a * np.abs(self.u))
            + math.fsum(self.b * np.abs(self.v))
        ) + residual * magnitude
        return Certificate(
            cost=cost,
            dual_value=dual,
            gap=cost - dual,
            max_dual_violation=max(0.0, -float(min_rc)),
            worst_pair=(int(wi), int(wj)),
            complementary_slackness=slack,
            marginal_error=float(max(row_err, col_err)),
            mass=mass,
            rounding=rounding,
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
        ``sum(flow * costs)``; NaN unless ``status == "optimal"`` (the flow then
        leaves some supply undelivered).
    flow : ndarray, shape (n_arcs,)
        Flow on every arc (zero off the spanning tree).
    potentials : ndarray, shape (n_nodes,)
        Dual potentials ``y`` with ``y[tail] - y[head] <= cost`` on every arc
        and ``sum(supply * y) == cost`` at optimality.
    n_iter : int
        Number of simplex pivots.
    status : str
        ``"optimal"``, ``"max_iter_reached"``, ``"infeasible"`` (some supply cannot
        reach a demand) or ``"unbounded"`` (a negative-cost cycle).
    """

    cost: float
    flow: np.ndarray
    potentials: np.ndarray
    n_iter: int
    status: str

    @property
    def converged(self) -> bool:
        return self.status == "optimal"

    def __repr__(self) -> str:
        return (
            f"FlowResult(cost={self.cost:.12g}, n_arcs={self.flow.size}, "
            f"n_nodes={self.potentials.size}, n_iter={self.n_iter}, status={self.status!r})"
        )
