"""The tensor twins of the single-problem functions: :func:`emd.wasserstein`,
:func:`emd.solve`, :func:`emd.solve_points`, :func:`emd.wasserstein_1d`,
:func:`emd.solve_grid` and :func:`emd.wasserstein_grid`.

Each runs the NumPy function on NumPy copies (so the value, the status and its
warnings are the NumPy call's), and turns the plan and potentials of that one
solve into the Jacobian factors of :mod:`._rules`.  ``wasserstein*`` give a 0-d
tensor; ``solve*`` give the usual result object, computed in NumPy (its plan,
potentials and :meth:`certificate` unchanged), with only ``cost`` replaced by
the differentiable 0-d tensor.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from emd._autodiff._call import Call
from emd._autodiff._linearize import points_parts, status_of
from emd._autodiff._rules import Rule, Term, position_gradients, weight_gradient
from emd._status import warn_status
from emd._validation import as_point_pair, as_points, check_metric, optional_weights
from emd.structured._grid import GridResult

NEEDS_VALUES = (
    "{name} with JAX arrays needs concrete values (not inside jax.jit or jax.vmap): its "
    "result object holds the plan and potentials as NumPy arrays; the distances "
    "(emd.wasserstein, emd.wasserstein_grid, emd.compat.pot.emd2) trace under jit"
)


def unequal_weight_gradients(result: Any, a: np.ndarray, b: np.ndarray
                             ) -> tuple[np.ndarray, np.ndarray]:
    """The gradients of a partial or unbalanced cost in the masses ``a`` and ``b``: the
    optimal dual of the problem (its value is an LP optimum, linear in the masses with
    these coefficients wherever the optimal dual is unique).

    Unbalanced: ``f`` and ``-g`` of the bounded-Lipschitz witness
    (:func:`emd.dual.unbalanced_witness`, ``cost = sum a f - sum b g``).  Partial:
    ``alpha`` and ``beta`` of :func:`emd.dual.partial_dual` (``cost = sum a alpha +
    sum b beta + m t``).  Neither is centred: unlike balanced transport, whose value
    exists only where the totals agree, these are defined for every pair of masses,
    and the derivative along a change of one total is real (``lam`` per unit destroyed,
    ``alpha`` per unit of source capacity).
    """
    from emd.dual._unequal import partial_dual_of, witness_of

    # Whatever the status, as balanced transport's rule reads the potentials it has: a
    # solve stopped by max_iter (warned) still has a gradient, not an error.
    if result.kind == "partial":
        dual = partial_dual_of(result, a, b)
        return dual.source, dual.target
    witness = witness_of(result, a, b)
    return witness.source, -witness.target


def _as_float64(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=np.float64)


def _scalar_rule(call: Call, parts: Any) -> Rule:
    """A rule for a scalar output: ``parts(args)`` returns the value and a dict of the
    Jacobian factor of each argument that may be a leaf."""

    def compute(arrays: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        value, jacobians = parts(call.numpy(arrays))
        return np.asarray(value, dtype=np.float64), [
            np.asarray(jacobians[path[0]], dtype=np.float64).reshape(shape)
            for path, shape in zip(call.paths, call.shapes, strict=True)
        ]

    return Rule(compute, (), tuple(Term(k) for k in range(len(call.paths))), call.shapes)


def _with_result(call: Call, rule: Rule, kept: list, name: str) -> Any:
    """The solve's result object with ``cost`` the differentiable tensor."""
    cost = call.apply(rule)
    if not kept:  # traced JAX arrays: the callback has not run
        raise ValueError(NEEDS_VALUES.format(name=name))
    result = kept[-1]
    if isinstance(result, GridResult):
        # A grid's proof reads the cost: proven here on the float, so that certificate()
        # never has to read a tensor that requires grad.
        return dataclasses.replace(result, cost=cost, _proof=result.certificate())
    return dataclasses.replace(result, cost=cost)


def _point_gradients(x, y, result, metric: str, p: float) -> tuple[np.ndarray, np.ndarray]:
    plan = result.plan
    x_arr, y_arr = as_point_pair(x, y)
    return position_gradients(x_arr, y_arr, plan.row, plan.col, plan.data, metric, p)


# Point sets and cost matrices
# ----------------------------

def wasserstein(x, y, a, b, metric, p, normalize, partial=None, unbalanced=None) -> Any:
    """Tensor twin of :func:`emd.wasserstein`: a 0-d tensor, differentiable in ``x``,
    ``y``, ``a`` and ``b``."""
    call = Call({"x": x, "y": y, "a": a, "b": b})
    if partial is not None or unbalanced is not None:
        # As emd.wasserstein: the cost of solve_points with the same keyword.
        def unequal_parts(args):
            # solve_points warns about its status itself.
            result, jacobians = _point_parts(args, metric, p, normalize, None, 1, partial,
                                             unbalanced)
            return result.cost, jacobians

        return call.apply(_scalar_rule(call, unequal_parts))

    def parts(args):
        value, jacobians, result = points_parts(args["x"], args["y"], args["a"], args["b"],
                                                metric, p, normalize)
        warn_status(status_of(result), None)
        return value, jacobians

    return call.apply(_scalar_rule(call, parts))


def solve_points(x, y, a, b, metric, p, normalize, max_iter, n_jobs, partial=None,
                 unbalanced=None) -> Any:
    """Tensor twin of :func:`emd.solve_points`: the NumPy result with ``cost`` a 0-d
    tensor, differentiable in ``x``, ``y``, ``a`` and ``b``."""
    call = Call({"x": x, "y": y, "a": a, "b": b})
    kept: list = []

    def parts(args):
        result, jacobians = _point_parts(args, metric, p, normalize, max_iter, n_jobs, partial,
                                         unbalanced)
        kept.append(result)
        return result.cost, jacobians

    return _with_result(call, _scalar_rule(call, parts), kept, "emd.solve_points")


def _point_parts(args, metric, p, normalize, max_iter, n_jobs, partial, unbalanced):
    """:func:`emd.solve_points` on NumPy arguments and the Jacobian factors of its cost:
    the plan's for the points, the potentials (or the dual of unequal masses) for the
    weights."""
    from emd.transport import solve_points as numpy_solve_points

    result = numpy_solve_points(args["x"], args["y"], args["a"], args["b"], metric=metric,
                                p=p, normalize=normalize, max_iter=max_iter, n_jobs=n_jobs,
                                partial=partial, unbalanced=unbalanced)
    x_arr = as_points(args["x"], "x")
    metric_name, p_value = check_metric(metric, p)
    grad_x, grad_y = _point_gradients(args["x"], args["y"], result, metric_name, p_value)
    a_raw = optional_weights(args["a"], "a", x_arr.shape[0])
    if partial is not None or unbalanced is not None:
        b_raw = optional_weights(args["b"], "b", result.created.size)
        grad_a, grad_b = unequal_weight_gradients(result, a_raw, b_raw)
        return result, {"x": grad_x, "y": grad_y, "a": grad_a, "b": grad_b}
    b_raw = optional_weights(args["b"], "b", result.b.size)
    return result, {
        "x": grad_x, "y": grad_y,
        "a": weight_gradient(result.u, a_raw, bool(normalize)),
        "b": weight_gradient(result.v, b_raw, bool(normalize)),
    }


def solve(a, b, cost, normalize, max_iter, n_jobs, partial=None, unbalanced=None) -> Any:
    """Tensor twin of :func:`emd.solve`: the NumPy result with ``cost`` a 0-d tensor,
    differentiable in ``a``, ``b`` (potentials) and ``cost`` (the plan)."""
    from emd.transport import solve as numpy_solve

    call = Call({"a": a, "b": b, "cost": cost})
    kept: list = []

    def parts(args):
        result = numpy_solve(args["a"], args["b"], args["cost"], normalize=normalize,
                             max_iter=max_iter, n_jobs=n_jobs, partial=partial,
                             unbalanced=unbalanced)
        kept.append(result)
        if partial is not None or unbalanced is not None:
            grad_a, grad_b = unequal_weight_gradients(result, _as_float64(args["a"]),
                                                      _as_float64(args["b"]))
            return result.cost, {"a": grad_a, "b": grad_b, "cost": result.dense_plan()}
        return result.cost, {
            "a": weight_gradient(result.u, _as_float64(args["a"]), bool(normalize)),
            "b": weight_gradient(result.v, _as_float64(args["b"]), bool(normalize)),
            "cost": result.dense_plan(),
        }

    return _with_result(call, _scalar_rule(call, parts), kept, "emd.solve")


# The line
# --------


def wasserstein_1d(u_values, v_values, u_weights, v_weights) -> Any:
    """Tensor twin of :func:`emd.wasserstein_1d`: a 0-d tensor, differentiable in the
    values (``sum_j P_ij sign(x_i - y_j)``) and the weights (the CDF potentials)."""
    from emd.structured._onedim import solve_1d
    from emd.structured._onedim import wasserstein_1d as numpy_wasserstein_1d

    call = Call({"u_values": u_values, "v_values": v_values, "u_weights": u_weights,
                 "v_weights": v_weights})

    def parts(args):
        x, y = args["u_values"], args["v_values"]
        wu, wv = args["u_weights"], args["v_weights"]
        value = numpy_wasserstein_1d(x, y, wu, wv)
        line = solve_1d(x, y, wu, wv)
        x_arr, y_arr = _as_float64(x).reshape(-1, 1), _as_float64(y).reshape(-1, 1)
        plan = line.plan
        grad_x, grad_y = position_gradients(x_arr, y_arr, plan.row, plan.col, plan.data,
                                            "cityblock", 1.0)
        jacobians = {"u_values": grad_x[:, 0], "v_values": grad_y[:, 0]}
        if wu is not None:
            jacobians["u_weights"] = weight_gradient(line.u, _as_float64(wu), True)
        if wv is not None:
            jacobians["v_weights"] = weight_gradient(line.v, _as_float64(wv), True)
        return value, jacobians

    return call.apply(_scalar_rule(call, parts))


# Grids
# -----


def _grid_parts(options: dict[str, Any]):
    from emd.structured._grid import solve_grid as numpy_solve_grid

    normalize = bool(options["normalize"])
    unequal = options.get("partial") is not None or options.get("unbalanced") is not None

    def parts(args):
        result = numpy_solve_grid(args["A"], args["B"], **options)
        if unequal:
            A, B = _as_float64(args["A"]), _as_float64(args["B"])
            grad_a, grad_b = unequal_weight_gradients(result, A, B)
            return result, {"A": grad_a.reshape(A.shape), "B": grad_b.reshape(B.shape)}
        potential = result.potential.ravel()
        return result, {
            "A": weight_gradient(potential, _as_float64(args["A"]).ravel(), normalize),
            "B": weight_gradient(-potential, _as_float64(args["B"]).ravel(), normalize),
        }

    return parts


def solve_grid(A, B, metric, spacing, L, max_rel_error, exact, normalize, volume,
               return_flows, max_iter, partial=None, unbalanced=None) -> Any:
    """Tensor twin of :func:`emd.solve_grid`: the NumPy result with ``cost`` a 0-d tensor,
    differentiable in ``A`` and ``B`` (the potential on the bins)."""
    call = Call({"A": A, "B": B})
    grid_parts = _grid_parts(dict(
        metric=metric, spacing=spacing, L=L, max_rel_error=max_rel_error, exact=exact,
        normalize=normalize, volume=volume, return_flows=return_flows, max_iter=max_iter,
        partial=partial, unbalanced=unbalanced))
    kept: list = []

    def parts(args):
        result, jacobians = grid_parts(args)
        kept.append(result)
        return result.cost, jacobians

    return _with_result(call, _scalar_rule(call, parts), kept, "emd.solve_grid")


def wasserstein_grid(A, B, metric, spacing, L, max_rel_error, exact, normalize, volume,
                     max_iter, return_flows, partial=None, unbalanced=None) -> Any:
    """Tensor twin of :func:`emd.wasserstein_grid`: a 0-d tensor, differentiable in ``A``
    and ``B``."""
    call = Call({"A": A, "B": B})
    grid_parts = _grid_parts(dict(
        metric=metric, spacing=spacing, L=L, max_rel_error=max_rel_error, exact=exact,
        normalize=normalize, volume=volume, return_flows=return_flows, max_iter=max_iter,
        partial=partial, unbalanced=unbalanced))

    def parts(args):
        result, jacobians = grid_parts(args)
        return result.cost, jacobians

    return call.apply(_scalar_rule(call, parts))

