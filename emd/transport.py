"""Exact optimal transport between discrete distributions: the main public entry points."""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import overload

import numpy as np
from numpy.typing import ArrayLike

from emd import _certify, _engine, _few, _planner
from emd import unbalanced as _unbalanced
from emd._arrays import has_tensor, twin
from emd._core._certify import rounded_sum
from emd._result import Certificate, FlowResult, TransportResult, certify_transport
from emd._status import SolverWarning, cost_if_finished
from emd._status import warn_status as _warn_status
from emd._validation import (
    as_cost_matrix,
    as_float_array,
    as_n_jobs,
    as_point_pair,
    as_positive_int,
    as_weights,
    balance,
    check_metric,
    check_scale,
    input_eps,
    mass_rtol,
    optional_weights,
)
from emd.unbalanced import UnbalancedResult

__all__ = ["SolverWarning", "min_cost_flow", "solve", "solve_points", "wasserstein"]


def _check_max_iter(max_iter: int | None) -> int | None:
    return None if max_iter is None else as_positive_int(max_iter, "max_iter")


def center_potentials(a, b, u, u_low, v, v_low):
    """Shift the potentials to ``u + t``, ``v - t`` (which leaves the dual value unchanged)
    so that ``sum(a u) == sum(b v)``, in double-double so the certificate's proof holds.

    Shared by the solvers here and :mod:`emd.compat.pot` (POT's centred duals); not
    part of the public API (not in ``__all__``)."""
    shift = (rounded_sum(b * v) - rounded_sum(a * u)) / (rounded_sum(a) + rounded_sum(b))
    u, u_low = _certify.dd_shift(u, u_low, shift)
    v, v_low = _certify.dd_shift(v, v_low, -shift)
    return u, u_low, v, v_low


def _dense_fill(cost: np.ndarray, a, b, u, v, rows, cols) -> None:
    """Potentials of zero-mass bins by c-transform, so every pair stays dual feasible."""
    zero_rows = np.flatnonzero(a == 0)
    zero_cols = np.flatnonzero(b == 0)
    for start in range(0, zero_rows.size, 256):
        block = zero_rows[start : start + 256]
        u[block] = (cost[np.ix_(block, cols)] - v[cols]).min(axis=1)
    for start in range(0, zero_cols.size, 256):
        block = zero_cols[start : start + 256]
        v[block] = (cost[:, block] - u[:, None]).min(axis=0)


def _solve_bipartite(a, b, source, max_iter, initial_arcs, n_jobs):
    """A handful of bins with mass on one side and very many on the other (and the default
    pivot budget, no warm start): :mod:`emd._few`; otherwise the column-generation simplex."""
    if _planner.takes_few_sources(a, b, max_iter, initial_arcs):
        return _few.solve_bipartite(a, b, source)
    return _engine.solve_bipartite(a, b, source, max_iter, initial_arcs, n_jobs)


def _transport_certificate(rows, cols, flows, a, b, potentials, source, cost, violation):
    """:func:`certify_transport` of a solve's plan, its arc costs read from ``source``."""
    return certify_transport(rows, cols, flows, a, b, potentials,
                             source.arc_costs(rows, cols), cost, violation)


def _assemble(solution, a, b, fill, source, metric) -> TransportResult:
    n, m = a.size, b.size
    kept_rows, kept_cols = np.flatnonzero(a > 0), np.flatnonzero(b > 0)
    every_bin = kept_rows.size == n and kept_cols.size == m
    if every_bin:
        # The solver's arrays are its own copies; ``fill`` has nothing to write.
        u, u_low, v, v_low = solution.u, solution.u_low, solution.v, solution.v_low
    else:
        u, v = np.zeros(n), np.zeros(m)
        u_low, v_low = np.zeros(n), np.zeros(m)
        u[kept_rows], u_low[kept_rows] = solution.u, solution.u_low
        v[kept_cols], v_low[kept_cols] = solution.v, solution.v_low
    status = solution.status
    certificate = None
    if solution.violation is not None:
        min_rc, i, j, max_cost = solution.violation
        if i >= 0:
            i, j = int(kept_rows[i]), int(kept_cols[j])
        # Bound now, before ``fill`` and the centring change the arrays; a partial of a
        # module function, so that the result still pickles.
        potentials = (u, u_low, v, v_low) if every_bin else (u.copy(), u_low, v.copy(), v_low)
        certificate = functools.partial(
            _transport_certificate, solution.rows, solution.cols, solution.flows, a, b,
            potentials, source, solution.cost, (min_rc, i, j, max_cost),
        )
        if not (solution.proven and status == "optimal"):
            certificate = certificate()
    if not every_bin:
        fill(u, v, kept_rows, kept_cols)
    u, u_low, v, v_low = center_potentials(a, b, u, u_low, v, v_low)
    import scipy.sparse  # only when a plan is built: `import emd` pays for numpy alone

    plan = scipy.sparse.coo_array(
        (solution.flows, (solution.rows, solution.cols)), shape=(n, m)
    )
    result = TransportResult(
        cost=solution.cost,
        plan=plan,
        u=u,
        v=v,
        a=a,
        b=b,
        n_iter=solution.n_iter,
        status=status,
        metric=metric,
        _costs=source,
        _u_low=u_low,
        _v_low=v_low,
    )
    if status == "optimal" and certificate is None:
        # The solve did not end on a clean pricing pass: prove it afresh.
        certificate = result.certificate(recompute=True)
    if certificate is not None:
        # A certificate the compiled one already implies (solution.proven) is built only
        # when asked for: it costs O(n + m) in Python, a fifth of a small solve.
        object.__setattr__(result, "_certificate", (plan, u, v, certificate))
        if (status == "optimal" and not callable(certificate)
                and not certificate.optimal()):
            object.__setattr__(result, "status", "uncertified")
    return result


# Without partial= or unbalanced= the result is the balanced problem's (type checkers
# see it); with either, an UnbalancedResult.
@overload
def solve(
    a: ArrayLike,
    b: ArrayLike,
    cost: ArrayLike,
    *,
    normalize: bool = ...,
    max_iter: int | None = ...,
    n_jobs: int | None = ...,
    partial: None = ...,
    unbalanced: None = ...,
) -> TransportResult: ...


@overload
def solve(
    a: ArrayLike,
    b: ArrayLike,
    cost: ArrayLike,
    *,
    normalize: bool = ...,
    max_iter: int | None = ...,
    n_jobs: int | None = ...,
    partial: float | None = ...,
    unbalanced: float | None = ...,
) -> TransportResult | UnbalancedResult: ...


def solve(
    a: ArrayLike,
    b: ArrayLike,
    cost: ArrayLike,
    *,
    normalize: bool = False,
    max_iter: int | None = None,
    n_jobs: int | None = 1,
    partial: float | None = None,
    unbalanced: float | None = None,
) -> TransportResult | UnbalancedResult:
    r"""Solve the optimal transport problem for a dense cost matrix, exactly.

    .. math::
        \min_{P \ge 0} \sum_{ij} P_{ij} C_{ij} \quad\text{s.t.}\quad
        P \mathbf{1} = a,\; P^\top \mathbf{1} = b

    Parameters
    ----------
    a : array_like, shape (n,)
        Nonnegative source weights.
    b : array_like, shape (m,)
        Nonnegative target weights with the same total as ``a`` (to the
        precision of the inputs: see "Total masses" in :mod:`emd`).
    cost : array_like, shape (n, m)
        Finite costs.  A float64 C-contiguous array is read in place, never copied.
    normalize : bool, default False
        Rescale ``a`` and ``b`` to total mass 1 instead of requiring equal totals.
    max_iter : int, optional
        Limit on simplex pivots; the default is far above what any problem needs.
    n_jobs : int or None, default 1
        Threads that share each full pricing pass of a large problem (from about
        500 x 500 pairs up); ``None`` or -1 uses every core.  The answer is the
        same, bit for bit, for any number of threads.  One by default: on a
        machine busy with other work, or inside a pool of your own, more threads
        wait for each other rather than help.
    partial : float, optional
        Move exactly this much mass (at most the smaller total) at least cost;
        totals need not agree.  See :mod:`emd.unbalanced`.
    unbalanced : float, optional
        Unbalanced W1: mass may be destroyed or created at this price per unit;
        totals need not agree.  Exclusive with ``partial`` and with
        ``normalize=True``.  See :mod:`emd.unbalanced`.

    Returns
    -------
    TransportResult
        Optimal cost, sparse plan, dual potentials and :meth:`~TransportResult.certificate`;
        an :class:`emd.unbalanced.UnbalancedResult` with ``partial`` or ``unbalanced``.
        For PyTorch tensors or JAX arrays: the same result, computed in NumPy (plan,
        potentials and certificate as for NumPy), with ``cost`` a 0-d tensor of the
        inputs' kind, differentiable in ``a``, ``b`` (the centred potentials) and
        ``cost`` (the plan) (README: "Training with PyTorch or JAX"); not with
        ``partial`` or ``unbalanced``.

    Raises
    ------
    ValueError
        Empty, negative, NaN or infinite weights, non-finite costs, mismatched
        shapes, or unequal totals without ``normalize=True``.

    Warns
    -----
    SolverWarning
        When ``max_iter`` stops the solver before optimality.

    Notes
    -----
    A primal network simplex (block-search pricing over a strongly feasible
    spanning tree) runs on a growing set of candidate arcs; each full pricing
    pass over the matrix adds the most violated arc of every row and column,
    and the solver stops only when a pass finds none.  Potentials are
    recomputed from the tree before that final pass, so the answer is
    optimal to rounding, not to a loose pricing tolerance.

    With at most 64 bins of mass on one side and at least 200 times as many
    (and 10 000) on the other, the starting tree comes from successive
    shortest paths on the small side (``emd._few``), and the same simplex
    and pricing passes finish from it.

    Examples
    --------
    >>> import emd
    >>> result = emd.solve([0.5, 0.5], [0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]])
    >>> result.cost
    0.0
    >>> result.dense_plan()
    array([[0.5, 0. ],
           [0. , 0.5]])
    >>> result.certificate().optimal()
    True
    """
    if has_tensor((a, b, cost)):  # PyTorch or JAX arrays: the differentiable twin
        return twin("emd._autodiff._transport:solve")(
            a, b, cost, normalize, max_iter, n_jobs, partial, unbalanced)
    a_arr = as_weights(a, "a")
    b_arr = as_weights(b, "b")
    cost_arr = as_cost_matrix(cost, (a_arr.size, b_arr.size))
    unequal = _unbalanced.check_keywords(partial, unbalanced, normalize)
    if unequal is not None:
        result = _unbalanced.solve_dense(
            a_arr, b_arr, cost_arr, *unequal, _check_max_iter(max_iter), as_n_jobs(n_jobs))
        _warn_status(result.status, max_iter)
        return result
    a_arr, b_arr = balance(a_arr, b_arr, normalize, eps=input_eps(a, b))
    max_iter = _check_max_iter(max_iter)
    result = solve_validated(a_arr, b_arr, cost_arr, max_iter, n_jobs=as_n_jobs(n_jobs))
    _warn_status(result.status, max_iter)
    return result


def solve_validated(
    a: np.ndarray, b: np.ndarray, cost: np.ndarray, max_iter: int | None, initial_arcs=None,
    n_jobs: int = 1,
) -> TransportResult:
    """:func:`solve` on inputs already validated and balanced; never warns.

    ``initial_arcs=(rows, cols)`` adds candidate arcs to the first simplex phase
    (a warm start; the answer does not depend on them).  ``n_jobs`` threads share
    the pricing passes; one by default, as a solve inside a batch must.
    """
    a, b = _certify.balance_exactly(a, b)
    source = _engine.DenseCosts(cost)
    solution = _solve_bipartite(a, b, source, max_iter, initial_arcs, n_jobs)

    def fill(u, v, rows, cols):
        _dense_fill(cost, a, b, u, v, rows, cols)

    return _assemble(solution, a, b, fill, source, None)


# Without partial= or unbalanced= the result is the balanced problem's (type checkers
# see it); with either, an UnbalancedResult.
@overload
def solve_points(
    x: ArrayLike,
    y: ArrayLike,
    a: ArrayLike | None = ...,
    b: ArrayLike | None = ...,
    *,
    metric: str = ...,
    p: float | None = ...,
    normalize: bool = ...,
    max_iter: int | None = ...,
    n_jobs: int | None = ...,
    partial: None = ...,
    unbalanced: None = ...,
) -> TransportResult: ...


@overload
def solve_points(
    x: ArrayLike,
    y: ArrayLike,
    a: ArrayLike | None = ...,
    b: ArrayLike | None = ...,
    *,
    metric: str = ...,
    p: float | None = ...,
    normalize: bool = ...,
    max_iter: int | None = ...,
    n_jobs: int | None = ...,
    partial: float | None = ...,
    unbalanced: float | None = ...,
) -> TransportResult | UnbalancedResult: ...


def solve_points(
    x: ArrayLike,
    y: ArrayLike,
    a: ArrayLike | None = None,
    b: ArrayLike | None = None,
    *,
    metric: str = "euclidean",
    p: float | None = None,
    normalize: bool = False,
    max_iter: int | None = None,
    n_jobs: int | None = 1,
    partial: float | None = None,
    unbalanced: float | None = None,
) -> TransportResult | UnbalancedResult:
    """Solve optimal transport between weighted point sets, costs computed on the fly.

    Memory is O((n + m) d): the n x m cost matrix is never formed, except for
    small problems (at most 2**21 pairs of points with mass, 16 MB), whose costs
    are computed once because reading them beats recomputing them, and when
    one side has at most 64 points with mass and the other at least 200 times
    as many (and 10 000): the solve then starts on the small side (see
    :func:`solve`) and holds those costs, at most 64 per point of the large side.

    Parameters
    ----------
    x : array_like, shape (n, d) or (n,)
        Source points (a 1-D array is n points on the line).
    y : array_like, shape (m, d) or (m,)
        Target points, same dimension ``d``.
    a, b : array_like, optional
        Weights; uniform (summing to 1) when omitted.  Moved as given: equal
        totals, by the tolerance of "Total masses" in :mod:`emd`.
    metric : {"euclidean", "sqeuclidean", "cityblock", "chebyshev", "minkowski"}
        Ground cost between points.
    p : float, optional
        Exponent of the Minkowski metric (``p >= 1``); only with ``metric="minkowski"``.
    normalize : bool, default False
        Rescale both weight vectors to total mass 1 instead of requiring equal totals.
    max_iter : int, optional
        Limit on simplex pivots.
    n_jobs : int or None, default 1
        Threads that share each full pricing pass of a large problem (from about
        500 x 500 pairs up); ``None`` or -1 uses every core.  The answer is the
        same, bit for bit, for any number of threads.  One by default: on a
        machine busy with other work, or inside a pool of your own, more threads
        wait for each other rather than help.
    partial, unbalanced : float, optional
        As in :func:`solve`.  Up to ``emd.unbalanced.DENSE_POINT_PAIRS`` pairs
        (1500 x 1500 points) a dense problem over the pairs' costs (evaluated once
        by the same metric); above it column generation with the costs on the fly,
        certified over every pair: O(n + m) memory.

    Returns
    -------
    TransportResult
        Or an :class:`emd.unbalanced.UnbalancedResult` with ``partial`` or ``unbalanced``.
        For PyTorch tensors or JAX arrays: the same result, computed in NumPy (plan,
        potentials and certificate as for NumPy), with ``cost`` a 0-d tensor of the
        inputs' kind, differentiable in ``x``, ``y`` (the plan's sum of the metric's
        gradient) and ``a``, ``b`` (README: "Training with PyTorch or JAX"); not with
        ``partial`` or ``unbalanced``.

    Examples
    --------
    >>> import emd
    >>> result = emd.solve_points([[0.0], [1.0]], [[0.5], [3.0]])
    >>> round(result.cost, 12)
    1.25
    >>> result.plan.nnz
    2
    """
    if has_tensor((x, y, a, b)):  # PyTorch or JAX arrays: the differentiable twin
        return twin("emd._autodiff._transport:solve_points")(
            x, y, a, b, metric, p, normalize, max_iter, n_jobs, partial, unbalanced)
    x_arr, y_arr = as_point_pair(x, y)
    metric, p_value = check_metric(metric, p)
    a_arr = optional_weights(a, "a", x_arr.shape[0])
    b_arr = optional_weights(b, "b", y_arr.shape[0])
    unequal = _unbalanced.check_keywords(partial, unbalanced, normalize)
    if unequal is not None:
        result = _unbalanced.solve_points(
            x_arr, y_arr, a_arr, b_arr, metric, p_value, *unequal, _check_max_iter(max_iter),
            as_n_jobs(n_jobs))
        _warn_status(result.status, max_iter)
        return result
    a_arr, b_arr = balance(a_arr, b_arr, normalize, eps=input_eps(a, b))
    max_iter = _check_max_iter(max_iter)
    result = solve_points_validated(
        x_arr, y_arr, a_arr, b_arr, metric, p_value, max_iter, n_jobs=as_n_jobs(n_jobs)
    )
    _warn_status(result.status, max_iter)
    return result


def solve_points_validated(
    x: np.ndarray,
    y: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    metric: str,
    p: float,
    max_iter: int | None,
    initial_arcs=None,
    n_jobs: int = 1,
) -> TransportResult:
    """:func:`solve_points` on validated inputs (canonical metric name); never warns.

    ``initial_arcs`` and ``n_jobs`` as in :func:`solve_validated` (ignored on the
    line, solved in closed form).
    """
    a, b = _certify.balance_exactly(a, b)
    source = _engine.PointCosts(x, y, metric, p)
    source.check_range()
    if _planner.on_the_line(x.shape[1], metric):
        return _solve_line(x, y, a, b, source)
    solution = _solve_bipartite(a, b, source, max_iter, initial_arcs, n_jobs)

    def fill(u, v, rows, cols):
        zero_rows = np.flatnonzero(a == 0)
        zero_cols = np.flatnonzero(b == 0)
        if zero_rows.size:
            u[zero_rows] = source.c_transform(
                np.ascontiguousarray(x[zero_rows]), np.ascontiguousarray(y[cols]), v[cols]
            )
        if zero_cols.size:
            # The metric is symmetric, so the c-transform of u over x serves v.
            v[zero_cols] = source.c_transform(np.ascontiguousarray(y[zero_cols]), x, u)

    return _assemble(solution, a, b, fill, source, metric)


def _solve_line(x, y, a, b, source) -> TransportResult:
    """Transport on the line: the monotone plan, computed exactly, with the CDF potentials of
    ``solve_1d``.

    Every metric but sqeuclidean is ``|s - t|`` on the line, and the closed form
    takes O(n log n) where the simplex pivots about n^2 / 250 times (a minute
    for 20000 points).  The monotone plan is optimal for ``|s - t|`` (a Monge
    cost), so the certificate needs no dual: its bound is the rounding of the
    plan's entries and of the cost, plus 2u of the cost for the rounding of
    each ``fl(|s - t|)``, which can break the Monge property by that much.
    """
    # In the function: emd.structured imports this module (its grids solve points here).
    from emd.structured._onedim import solve_1d

    mass = math.fsum(a)
    check_scale(source.max_abs_cost(), mass, a.size + b.size)
    rows, cols, high, low = _certify.monotone_plan(x[:, 0], y[:, 0], a, b)
    arc_costs = source.arc_costs(rows, cols)
    # The exact plan's cost, and the cost of the entries reported (``high``).
    cost, cost_err = _certify.exact_dot((high, arc_costs), (low, arc_costs))
    reported, reported_err = _certify.exact_dot((high, arc_costs))
    bound = _certify.round_up(
        abs(reported - cost) + reported_err + cost_err
        + _certify.UNIT_ROUNDOFF * float(np.abs(low) @ arc_costs)  # high + low vs exact
        + 2 * _certify.UNIT_ROUNDOFF * abs(cost)  # fl(|s - t|) vs |s - t|
    )
    # The monotone plan meets both marginals exactly only when the totals are equal
    # exactly (balance_exactly above); otherwise no plan exists and nothing is proven.
    stranded = abs(math.fsum(np.concatenate([a, -b])))
    if stranded:
        bound = math.inf
    line = solve_1d(x[:, 0], y[:, 0], a, b)  # potentials for weights normalised to 1
    u, v = line.u.copy(), line.v.copy()
    u, _, v, _ = center_potentials(a, b, u, np.zeros_like(u), v, np.zeros_like(v))
    certificate = Certificate(
        cost=reported,
        dual_value=math.fsum(a * u) + math.fsum(b * v),
        max_dual_violation=_line_violation(x[:, 0], y[:, 0], u, v, a > 0, b > 0),
        worst_pair=(-1, -1),
        marginal_error=float(
            max(
                np.abs(np.bincount(rows, high, minlength=a.size) - a).sum(),
                np.abs(np.bincount(cols, high, minlength=b.size) - b).sum(),
            )
        ),
        unrouted=stranded,
        mass=mass,
        bound=bound,
    )
    import scipy.sparse

    plan = scipy.sparse.coo_array((high, (rows, cols)), shape=(a.size, b.size))
    return TransportResult(
        cost=reported,
        plan=plan,
        u=u,
        v=v,
        a=a,
        b=b,
        n_iter=0,
        status="optimal" if certificate.optimal() else "uncertified",
        metric=source.metric,
        _costs=source,
        _certificate=(plan, u, v, certificate),
    )


def _line_violation(xs, ys, u, v, rows, cols) -> float:
    """An upper bound on ``max(0, u_i + v_j - |x_i - y_j|)`` over the pairs with mass, in
    O((n + m) log m): the float64 maximum plus the rounding of its few operations
    (informational: the line's certificate rests on the Monge property)."""
    xs, u, ys, v = xs[rows], u[rows], ys[cols], v[cols]
    if xs.size == 0 or ys.size == 0:
        return 0.0
    order = np.argsort(ys, kind="stable")
    ys, v = ys[order], v[order]
    # For y_j <= x: u + v_j + y_j - x; for y_j >= x: u + v_j - y_j + x.
    left = np.maximum.accumulate(v + ys)
    right = np.maximum.accumulate((v - ys)[::-1])[::-1]
    k = np.searchsorted(ys, xs, side="right")
    best = np.full(xs.size, -np.inf)
    has_left = k > 0
    best[has_left] = left[k[has_left] - 1] - xs[has_left]
    has_right = k < ys.size
    best[has_right] = np.maximum(best[has_right], right[k[has_right]] + xs[has_right])
    # Each candidate is u + (v +- y) -+ x and a distance fl(|x - y|): a handful of
    # roundings of the magnitudes involved.
    allowance = 8 * _certify.UNIT_ROUNDOFF * (
        float(np.abs(u).max()) + float(np.abs(v).max()) + float(np.abs(xs).max())
        + float(np.abs(ys).max())
    )
    return max(0.0, float(np.max(u + best)) + allowance)


def line_cost(x: np.ndarray, y: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """W1 on the line between masses of equal totals, by the closed form of
    :func:`emd.wasserstein_1d` (which normalises each side) scaled back to the common
    mass: the one home of the shortcut, for :func:`wasserstein` and the batches."""
    # In the function: emd.structured imports this module (its grids solve points here).
    from emd.structured._onedim import wasserstein_1d

    mass = math.fsum(a)
    cost = mass * wasserstein_1d(x, y, a, b)
    if not math.isfinite(cost):
        raise ValueError(f"the distance overflows float64 (total mass {mass:.3g})")
    return cost


def wasserstein(
    x: ArrayLike,
    y: ArrayLike,
    a: ArrayLike | None = None,
    b: ArrayLike | None = None,
    *,
    metric: str = "euclidean",
    p: float | None = None,
    normalize: bool = True,
    partial: float | None = None,
    unbalanced: float | None = None,
) -> float:
    """The Wasserstein-1 distance between weighted point sets, as distributions.

    Like :func:`scipy.stats.wasserstein_distance` (and ``wasserstein_distance_nd``),
    each weight vector is divided by its own total, whatever the totals are:
    the distance between the two *distributions*, so ``a`` and ``3 * a`` give
    the same answer (see "Total masses" in :mod:`emd`).  One-dimensional
    inputs under any Minkowski metric use the O(n log n) closed form of
    :func:`emd.wasserstein_1d`; everything else the exact network simplex of
    :func:`solve_points`.

    Parameters
    ----------
    x, y, a, b, metric, p
        As in :func:`solve_points`; ``a`` and ``b`` need not have equal totals.
    normalize : bool, default True
        True: divide each weight vector by its own total, as scipy does.
        False: move the masses as given, as :func:`solve_points` does (totals
        must agree, see "Total masses" in :mod:`emd`), which is
        ``solve_points(...).cost``.
    partial, unbalanced : float, optional
        ``solve_points(..., partial=..., unbalanced=...).cost``: see :func:`solve`.
        These move the masses as given, so they need ``normalize=False``
        (spelled out: the default would make the totals equal).

    Returns
    -------
    float
        For PyTorch tensors or JAX arrays: a 0-d tensor of the inputs' kind,
        differentiable in ``x``, ``y``, ``a`` and ``b`` (README: "Training with PyTorch
        or JAX").

    Raises
    ------
    ValueError
        As :func:`solve_points`; with ``normalize=False`` also for unequal totals.
    TypeError
        ``normalize`` other than True or False.

    Examples
    --------
    >>> import emd
    >>> emd.wasserstein([[0.0, 0.0], [1.0, 0.0]], [[0.0, 1.0], [1.0, 1.0]])
    1.0
    >>> emd.wasserstein([0, 1, 3], [5, 6, 8], [1, 2, 3], [3, 2, 1])  # totals 6 and 6
    4.0
    >>> emd.wasserstein([0, 1, 3], [5, 6, 8], [1, 2, 3], [3, 2, 1], normalize=False)
    24.0
    """
    if has_tensor((x, y, a, b)):  # PyTorch or JAX arrays: the differentiable twin
        return twin("emd._autodiff._transport:wasserstein")(
            x, y, a, b, metric, p, normalize, partial, unbalanced)
    if not isinstance(normalize, (bool, np.bool_)):
        raise TypeError(f"normalize must be True or False, got {normalize!r}")
    if partial is not None or unbalanced is not None:
        return solve_points(x, y, a, b, metric=metric, p=p, normalize=bool(normalize),
                            partial=partial, unbalanced=unbalanced).cost
    x_arr, y_arr = as_point_pair(x, y)
    metric_name, _ = check_metric(metric, p)
    a_arr = optional_weights(a, "a", x_arr.shape[0])
    b_arr = optional_weights(b, "b", y_arr.shape[0])
    line = _planner.on_the_line(x_arr.shape[1], metric_name)
    if line and normalize:
        # In the function: emd.structured imports this module (its grids solve points here).
        from emd.structured._onedim import wasserstein_1d

        balance(a_arr, b_arr, True)  # refuses totals that overflow float64
        # The closed form divides each side by its own total, as scipy's does.
        return wasserstein_1d(
            x_arr[:, 0], y_arr[:, 0], None if a is None else a_arr, None if b is None else b_arr
        )
    a_arr, b_arr = balance(a_arr, b_arr, bool(normalize), eps=input_eps(a, b))
    if line:
        return line_cost(x_arr[:, 0], y_arr[:, 0], a_arr, b_arr)
    return solve_points(x_arr, y_arr, a_arr, b_arr, metric=metric, p=p).cost


def min_cost_flow(
    tails: ArrayLike,
    heads: ArrayLike,
    costs: ArrayLike,
    supply: ArrayLike,
    *,
    max_iter: int | None = None,
) -> FlowResult:
    """Uncapacitated minimum-cost flow (transshipment) on a sparse arc list.

    Minimise ``sum(costs * flow)`` over ``flow >= 0`` such that, at every node,
    outgoing minus incoming flow equals ``supply``.

    Parameters
    ----------
    tails, heads : array_like of int, shape (n_arcs,)
        Arc ``k`` goes from node ``tails[k]`` to node ``heads[k]``.
    costs : array_like, shape (n_arcs,)
        Finite arc costs (negative costs are allowed; a negative cycle makes the
        problem unbounded).
    supply : array_like, shape (n_nodes,)
        Supply (positive) or demand (negative) of every node; must sum to zero.
        Sums that agree only to rounding are equal: within every weakly connected
        component of the arcs, supplies and demands whose totals agree to the
        tolerance of "Total masses" in :mod:`emd`, relative to the component's
        own mass (1e-9 for float64 inputs of up to 4.5 million nodes), are
        balanced exactly first.  Whatever still does not balance,
        however small, cannot be delivered: the status is then ``"infeasible"``.
    max_iter : int, optional
        Limit on simplex pivots.

    Returns
    -------
    FlowResult
        Flow per arc and node potentials ``y`` with ``y[tail] - y[head] <= cost``.
        ``status == "optimal"`` (and a passing certificate) means every unit of
        supply reaches a demand, proven in exact arithmetic; ``"infeasible"`` that
        some cannot (proven too: a set of nodes no arc leaves holds more supply than
        demand), with ``cost`` NaN.

    Raises
    ------
    ValueError
        Empty, non-finite or mismatched inputs, node indices out of range, or
        supplies whose sum is not zero to within that tolerance of the total.

    Examples
    --------
    >>> import emd
    >>> # Two routes from node 0 to node 2: direct (cost 5) or through node 1 (1 + 1).
    >>> result = emd.min_cost_flow([0, 0, 1], [2, 1, 2], [5.0, 1.0, 1.0], [1.0, 0.0, -1.0])
    >>> result.cost, result.flow.tolist()
    (2.0, [0.0, 1.0, 1.0])
    """
    supply_arr = as_float_array(supply, "supply", 1)
    n_nodes = supply_arr.size
    if n_nodes == 0:
        raise ValueError("supply is empty: the graph needs at least one node")
    if not np.isfinite(supply_arr).all():
        raise ValueError("supply has non-finite entries")
    with np.errstate(over="ignore"):
        total = float(np.abs(supply_arr).sum())
    if not math.isfinite(total):
        raise ValueError("supply is too large for float64: its total overflows")
    sources = math.fsum(np.maximum(supply_arr, 0.0))
    sinks = math.fsum(np.maximum(-supply_arr, 0.0))
    if abs(sources - sinks) > mass_rtol(2 * n_nodes) * max(sources, sinks):
        raise ValueError(
            f"supply must sum to zero, got sum(supply)={math.fsum(supply_arr)!r} "
            f"(supplies {sources!r}, demands {sinks!r}: a relative difference above "
            f"{mass_rtol(2 * n_nodes):.2g})"
        )
    tails_arr, heads_arr = _arc_ends(tails, heads, n_nodes)
    costs_arr = as_float_array(costs, "costs", 1)
    if costs_arr.size != tails_arr.size:
        raise ValueError(
            f"costs has {costs_arr.size} entries but there are {tails_arr.size} arcs"
        )
    if not np.isfinite(costs_arr).all():
        raise ValueError("costs has non-finite entries")
    max_iter = _check_max_iter(max_iter)
    supply_arr, _, stranded = _engine.balanced_supply(supply_arr, tails_arr, heads_arr)
    solution = _engine.solve_arcs(supply_arr, tails_arr, heads_arr, costs_arr, max_iter)
    # A component whose supply and demand differ exactly cannot be served by any flow.
    status = "infeasible" if stranded.size else solution.status
    result = FlowResult(
        cost=cost_if_finished(status, lambda: math.fsum(solution.flow * costs_arr)),
        flow=solution.flow,
        potentials=solution.potentials,
        n_iter=solution.n_iter,
        status=status,
        _problem=(tails_arr, heads_arr, costs_arr, supply_arr, solution.potentials_low),
    )
    if status == "optimal" and not result.certificate().optimal():
        result = dataclasses.replace(result, status="uncertified")
    _warn_status(result.status, max_iter)
    return result


def _arc_ends(tails: ArrayLike, heads: ArrayLike, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    out = []
    for name, value in (("tails", tails), ("heads", heads)):
        arr = np.asarray(value)
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-dimensional, got shape {arr.shape}")
        if arr.size and arr.dtype.kind not in "iu":
            if arr.dtype.kind == "f" and np.all(arr == np.round(arr)):
                arr = arr.astype(np.int64)
            else:
                raise TypeError(f"{name} must hold integer node indices, got dtype {arr.dtype}")
        arr = np.ascontiguousarray(arr, dtype=np.intp)
        if arr.size and (arr.min() < 0 or arr.max() >= n_nodes):
            raise ValueError(f"{name} has node indices outside [0, {n_nodes})")
        out.append(arr)
    if out[0].size != out[1].size:
        raise ValueError(f"tails and heads differ in length: {out[0].size} and {out[1].size}")
    return out[0], out[1]
