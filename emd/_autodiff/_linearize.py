"""One problem solved in NumPy with the Jacobian factors of its value: the pieces the
tensor twins and the batches share.  Nothing here warns; callers report statuses."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from emd._autodiff._rules import position_gradients, weight_gradient
from emd._planner import on_the_line
from emd._validation import (
    as_point_pair,
    balance,
    check_metric,
    input_eps,
    optional_weights,
)


def points_parts(
    x: Any, y: Any, a: Any, b: Any, metric: str, p: float | None, normalize: bool,
    gradients: bool = True, names: tuple[str, str, str, str] = ("x", "y", "a", "b"),
) -> tuple[float, dict[str, np.ndarray] | None, Any]:
    """``(value, jacobians, result)`` of :func:`emd.wasserstein` on NumPy arguments.

    The value is the NumPy call's, bit for bit: on the line (every metric but
    sqeuclidean in 1-D) the closed form, elsewhere the exact solve.  ``jacobians`` (a
    dict with the keys ``x``, ``y``, ``a``, ``b``; None unless ``gradients``) come from
    that solve's plan and potentials; on the line from the monotone plan and CDF
    potentials of the same transport.  ``result`` is the :class:`emd.TransportResult`
    behind them (None on the line without gradients).
    """
    from emd.transport import line_cost, solve_points_validated

    if not isinstance(normalize, (bool, np.bool_)):
        raise TypeError(f"normalize must be True or False, got {normalize!r}")
    normalize = bool(normalize)
    x_arr, y_arr = as_point_pair(x, y, names[:2])
    metric_name, p_value = check_metric(metric, p)
    a_arr = optional_weights(a, names[2], x_arr.shape[0])
    b_arr = optional_weights(b, names[3], y_arr.shape[0])
    a_moved, b_moved = balance(a_arr, b_arr, normalize, names[2:], input_eps(a, b))
    result: Any = None  # a TransportResult; None only on the line without gradients
    if on_the_line(x_arr.shape[1], metric_name):  # the planner's rule, as emd.wasserstein
        if normalize:
            from emd.structured._onedim import wasserstein_1d

            # As emd.wasserstein: the closed form divides each side by its own total.
            value = wasserstein_1d(x_arr[:, 0], y_arr[:, 0], None if a is None else a_arr,
                                   None if b is None else b_arr)
        else:
            value = line_cost(x_arr[:, 0], y_arr[:, 0], a_moved, b_moved)
        if gradients:
            result = solve_points_validated(x_arr, y_arr, a_moved, b_moved, metric_name,
                                            p_value, None)
    else:
        result = solve_points_validated(x_arr, y_arr, a_moved, b_moved, metric_name, p_value,
                                        None)
        value = result.cost
    if not gradients:
        return value, None, result
    plan = result.plan
    grad_x, grad_y = position_gradients(x_arr, y_arr, plan.row, plan.col, plan.data,
                                        metric_name, p_value)
    return value, {
        "x": grad_x.reshape(np.shape(x)), "y": grad_y.reshape(np.shape(y)),
        "a": weight_gradient(result.u, a_arr, normalize),
        "b": weight_gradient(result.v, b_arr, normalize),
    }, result


def status_of(result: Any) -> str:
    """A solve's status; the line's closed form (no result) is exact."""
    return "optimal" if result is None else result.status


def normalized(weights: np.ndarray, normalize: bool) -> np.ndarray:
    """The weights a batch entry moves: divided by their own total (``math.fsum``, as
    :func:`emd._validation.balance` divides them) when ``normalize``."""
    return weights / math.fsum(weights.ravel()) if normalize else weights
