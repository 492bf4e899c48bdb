r"""The duals of unequal-mass problems: :func:`unbalanced_witness`, :func:`partial_dual`.

Both read the potentials of a solved :class:`emd.unbalanced.UnbalancedResult`
and give a point of the dual of the problem *without* dummy bins, with its
value computed from it (exact products, one rounding).  The point is feasible
up to the roundings of the shifted potentials (a few ulps of the potentials,
not bounded here by a proof), so the value is a lower bound of the optimum by
weak duality to that accuracy; the bounds ``|f| <= lam`` and ``alpha, beta <=
0`` hold exactly.  The rigorous statement about a result is its
:meth:`~emd.unbalanced.UnbalancedResult.certificate`.  A result stopped by
``max_iter`` is refused.

**Unbalanced W1.**  The dual of
:math:`\min \langle C, P\rangle + \lambda(\|a - P1\|_1 + \|b - P^\top 1\|_1)`
over :math:`P \ge 0`, :math:`P1 \le a`, :math:`P^\top 1 \le b` is the
bounded-Lipschitz problem

.. math:: \max \sum_i a_i f_i - \sum_j b_j g_j \quad\text{s.t.}\quad
   f_i - g_j \le C_{ij},\; |f|, |g| \le \lambda

(``f`` on the sources, ``g`` on the targets; on a network one ``f`` on the
nodes, 1-Lipschitz for the path metric).  Any feasible ``(f, g)`` bounds every
plan from below: ``sum a f - sum b g = sum P_ij (f_i - g_j) + sum destroyed f -
sum created g <= <C, P> + lam (destroyed + created)``.

**Partial transport.**  The dual of :math:`\min \langle C, P\rangle` over
:math:`P \ge 0`, :math:`P1 \le a`, :math:`P^\top 1 \le b`,
:math:`1^\top P 1 = m` is

.. math:: \max \sum_i a_i \alpha_i + \sum_j b_j \beta_j + m t \quad\text{s.t.}\quad
   \alpha_i + \beta_j + t \le C_{ij},\; \alpha, \beta \le 0,

``t`` the multiplier of the mass constraint (the price of one more unit
moved), ``alpha`` and ``beta`` what a source's and a target's capacity is worth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from emd._certify import exact_dot
from emd._validation import as_float_array
from emd.dual._witness import shifted_potentials
from emd.unbalanced import PARTIAL, UNBALANCED, UnbalancedResult


@dataclass(frozen=True, slots=True, eq=False)
class BoundedWitness:
    """A feasible point of the bounded-Lipschitz dual of unbalanced W1, with its value.

    Attributes
    ----------
    lam : float
        The price per unit created or destroyed: ``|source|, |target| <= lam``.
    source : ndarray, shape of ``a``
        ``f`` on the source bins (for graphs, trees and grids: on the nodes).
    target : ndarray, shape of ``b``
        ``g`` on the target bins, with ``source_i - target_j <= C_ij`` (up to
        the roundings of the shifted potentials, a few ulps; for
        networks the same array as ``source``, with ``f_i - f_j <= length`` on
        every edge: 1-Lipschitz for the shortest-path metric).
    value : float
        ``sum(a * source) - sum(b * target)``, correctly rounded: a lower bound
        of the unbalanced cost for any ``(source, target)`` feasible as above,
        equal to it (to rounding) at the optimum.
    """

    lam: float
    source: np.ndarray
    target: np.ndarray
    value: float


@dataclass(frozen=True, slots=True, eq=False)
class PartialDual:
    """A feasible point of the dual of partial transport, with its value.

    Attributes
    ----------
    mass : float
        The mass moved, ``m``.
    source, target : ndarray
        ``alpha <= 0`` on the sources and ``beta <= 0`` on the targets.
    shift : float
        ``t``, the multiplier of the mass constraint, with
        ``alpha_i + beta_j + t <= C_ij``: the potentials are those of balanced
        transport shifted by it (``u = alpha + t``, ``v = beta``).
    value : float
        ``sum(a * alpha) + sum(b * beta) + m * t``, correctly rounded.
    """

    mass: float
    source: np.ndarray
    target: np.ndarray
    shift: float
    value: float


def _solved(result: Any, kind: str, name: str, optimal: bool = True) -> UnbalancedResult:
    if not isinstance(result, UnbalancedResult):
        raise TypeError(f"result must be an UnbalancedResult (from emd.solve*, with {kind}=), "
                        f"got {type(result).__name__}")
    if result.kind != kind:
        other = "partial_dual" if result.kind == PARTIAL else "unbalanced_witness"
        raise ValueError(f"{name} takes a result of {kind} transport, got {result.kind}: "
                         f"use emd.dual.{other}")
    if optimal and result.status != "optimal":
        raise ValueError(f"result is not optimal (status {result.status!r}); its potentials "
                         "give no dual optimum")
    return result


def _masses(value: ArrayLike | None, fallback: np.ndarray | None, shape: tuple, name: str
            ) -> np.ndarray:
    if value is None:
        if fallback is None:
            raise ValueError(f"{name} is required for graph, tree and grid results: they do "
                             "not keep the histograms solved")
        return fallback
    arr = as_float_array(value, name, (1, 2, 3))
    if arr.shape != shape and arr.size != math.prod(shape):
        raise ValueError(f"{name} has shape {arr.shape} but the result's bins have shape {shape}")
    return arr.reshape(shape)


def unbalanced_witness(result: UnbalancedResult, a: ArrayLike | None = None,
                       b: ArrayLike | None = None) -> BoundedWitness:
    """The bounded-Lipschitz dual witness of a solved unbalanced W1 problem.

    Parameters
    ----------
    result : UnbalancedResult
        From :func:`emd.solve`, :func:`emd.solve_points`, :func:`emd.solve_grid`,
        :func:`emd.solve_graph` or :func:`emd.solve_tree` with ``unbalanced=lam``
        (nonnegative costs), solved to optimality.
    a, b : array_like, optional
        The histograms solved: needed for graphs, trees and grids (their result
        does not keep them); dense and point results have their own.

    Returns
    -------
    BoundedWitness
        ``|f| <= lam`` exactly (clipped: clipping keeps every difference
        constraint, costs being nonnegative), and its value.

    Notes
    -----
    Dense and point problems: the potentials ``u``, ``v`` of the dummy-bin
    problem shifted by the dummies' own (``u_i + v_D``, ``v_j + u_D``; see
    :func:`kr_witness`), ``source = u'`` and ``target = -v'``.  Networks: the
    node potentials less the extra node's (``UnbalancedResult.witness()``).
    For point sets :func:`kr_witness` with ``unbalanced=`` extends the witness
    to the whole space.

    Examples
    --------
    >>> import emd
    >>> from emd.dual import unbalanced_witness
    >>> result = emd.solve([1.0, 1.0], [1.0, 2.0], [[0.0, 1.0], [1.0, 0.0]], unbalanced=0.4)
    >>> w = unbalanced_witness(result)
    >>> w.value == result.cost, w.source, w.target
    (True, array([-0.4, -0.4]), array([-0.4, -0.4]))
    """
    return witness_of(_solved(result, UNBALANCED, "unbalanced_witness"), a, b)


def witness_of(result: UnbalancedResult, a: ArrayLike | None = None,
               b: ArrayLike | None = None) -> BoundedWitness:
    """:func:`unbalanced_witness` of a result of any status (the gradients of
    :mod:`emd._autodiff` read it as balanced transport reads its potentials: a solve
    stopped by ``max_iter`` still has some)."""
    result = _solved(result, UNBALANCED, "unbalanced_witness", optimal=False)
    lam = float(result.parameter)
    shape_a, shape_b = np.shape(result.destroyed), np.shape(result.created)
    if result.plan is None:  # a network: one potential on the nodes
        f = np.clip(result.witness(), -lam, lam)
        source, target = f, f
        a_arr = _masses(a, None, shape_a, "a")
        b_arr = _masses(b, None, shape_b, "b")
    else:
        u, v = shifted_potentials(result)
        source = np.clip(u, -lam, lam)
        target = np.clip(-v, -lam, lam)
        reduced = result.reduced
        # lam = 0 solves nothing: f = 0, whose value is 0 whatever the masses.
        own_a = np.zeros(u.size) if reduced is None else reduced.a[: u.size]
        own_b = np.zeros(v.size) if reduced is None else reduced.b[: v.size]
        a_arr = _masses(a, own_a.reshape(shape_a), shape_a, "a")
        b_arr = _masses(b, own_b.reshape(shape_b), shape_b, "b")
        source, target = source.reshape(shape_a), target.reshape(shape_b)
    value, _ = exact_dot((a_arr.ravel(), source.ravel()), (-b_arr.ravel(), target.ravel()))
    return BoundedWitness(lam, source, target, value)


def partial_dual(result: UnbalancedResult, a: ArrayLike | None = None,
                 b: ArrayLike | None = None) -> PartialDual:
    """The dual of a solved partial transport problem: the capacities' prices and the
    multiplier of the mass constraint.

    Parameters
    ----------
    result : UnbalancedResult
        From :func:`emd.solve`, :func:`emd.solve_points`, :func:`emd.solve_grid`,
        :func:`emd.solve_graph` or :func:`emd.solve_tree` with ``partial=mass``,
        solved to optimality.
    a, b : array_like, optional
        The masses solved: required for results solved on a network (graphs, trees,
        city-block and Chebyshev grids), which keep only ``a - b``.

    Returns
    -------
    PartialDual

    Notes
    -----
    On a network (a sink fed by every node and a source feeding every node, both at
    cost 0) the node potentials ``y`` give ``alpha_i = y_i - y_sink``, ``beta_j =
    y_source - y_j`` and ``t = y_sink - y_source``, so that ``alpha_i + beta_j + t =
    y_i - y_j``, at most the shortest-path distance.
    The dummy-bin problem's potentials ``u``, ``v`` give ``alpha_i = u_i + v_D``
    (at most 0: a source keeps its mass on the dummy target at cost 0),
    ``beta_j = v_j + u_D`` (at most 0 likewise) and ``t = -(u_D + v_D)``, so
    ``alpha_i + beta_j + t = u_i + v_j <= C_ij`` in exact arithmetic; in floats up
    to the roundings of ``u_i + v_D``, ``v_j + u_D`` and ``t`` (a few ulps of the
    potentials, not bounded here by a proof); the value is the
    dummy-bin problem's dual value, term for term.  Values a rounding above 0 are set
    to 0 (which keeps every constraint and lowers the value by no more).

    Examples
    --------
    >>> import emd
    >>> from emd.dual import partial_dual
    >>> result = emd.solve([1.0, 1.0], [1.0, 2.0], [[0.0, 3.0], [3.0, 1.0]], partial=1.5)
    >>> d = partial_dual(result)
    >>> d.value == result.cost, d.shift
    (True, 1.0)
    """
    return partial_dual_of(_solved(result, PARTIAL, "partial_dual"), a, b)


def partial_dual_of(result: UnbalancedResult, a: ArrayLike | None = None,
                    b: ArrayLike | None = None) -> PartialDual:
    """:func:`partial_dual` of a result of any status (see :func:`witness_of`)."""
    result = _solved(result, PARTIAL, "partial_dual", optimal=False)
    reduced = result.reduced
    mass = float(result.parameter)
    if result.plan is None and reduced is not None and hasattr(reduced, "potentials"):
        # The sink-and-source network of emd.unbalanced.solve_arcs: bins, then the
        # sink and the source.
        shape = np.shape(result.destroyed)
        n = math.prod(shape)
        y = reduced.potentials
        alpha = np.minimum(y[:n] - y[n], 0.0)
        beta = np.minimum(y[n + 1] - y[:n], 0.0)
        shift = float(y[n] - y[n + 1])
        a_arr = _masses(a, None, shape, "a")
        b_arr = _masses(b, None, shape, "b")
        value, _ = exact_dot((a_arr.ravel(), alpha), (b_arr.ravel(), beta),
                             (np.array([mass]), np.array([shift])))
        return PartialDual(mass, alpha.reshape(shape), beta.reshape(shape), shift, value)
    if result.plan is None or reduced is None or not hasattr(reduced, "u"):
        raise ValueError("partial_dual needs the dummy-bin problem of a dense or point solve "
                         "or the network of a graph, tree or grid solve")
    n, m = np.size(result.destroyed), np.size(result.created)
    u, v = reduced.u, reduced.v
    alpha = np.minimum(u[:n] + v[m], 0.0)
    beta = np.minimum(v[:m] + u[n], 0.0)
    shift = -(u[n] + v[m])
    value, _ = exact_dot((reduced.a[:n], alpha), (reduced.b[:m], beta),
                         (np.array([mass]), np.array([shift])))
    return PartialDual(mass, alpha.reshape(np.shape(result.destroyed)),
                       beta.reshape(np.shape(result.created)), float(shift), value)
