"""The backward rules in NumPy: what each solve's gradient is, and how a cotangent
pulls back through it.  Shared by the PyTorch and JAX glue, which only convert.

A :class:`Rule` is a function of the differentiable inputs (its *leaves*, as
NumPy arrays) that returns the value and one Jacobian factor per :class:`Term`.
A term says how the output's cotangent ``g`` meets its factor ``J``:

* ``FULL`` (with an ``index`` into ``g``): ``tensordot(g[index], J)`` over all
  of ``g[index]``'s axes: a scalar output (``J`` has the leaf's shape), or one
  row or column of a distance matrix for a leaf that is one histogram;
* ``ROWS`` / ``COLS``: a matrix output ``(N, M)`` and a stacked leaf whose first
  axis runs along its rows (columns): ``J`` has shape ``(N, M) + leaf.shape[1:]``;
* ``DIAG``: a vector output ``(B,)`` whose entry ``k`` depends only on entry ``k``
  of a stacked leaf (a batch of pairs): ``J`` has the leaf's shape.

These factors are exactly the residuals the backward needs, so the backward
never solves again.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

FULL, ROWS, COLS, DIAG = "full", "rows", "cols", "diag"

SECOND_ORDER = (
    "emd: the gradient of an optimal transport cost cannot be differentiated again (the "
    "cost is piecewise linear in the weights and costs: second derivatives are zero or "
    "undefined); take first derivatives only"
)


@dataclass(frozen=True)
class Term:
    """Leaf ``leaf`` meets the cotangent as ``kind`` says (``index`` for ``FULL``)."""

    leaf: int
    kind: str = FULL
    index: tuple = ()


@dataclass(frozen=True)
class Rule:
    """A NumPy function of the leaves with its backward rule (see the module docstring)."""

    compute: Callable[[list[np.ndarray]], tuple[np.ndarray, list[np.ndarray]]]
    value_shape: tuple[int, ...]
    terms: tuple[Term, ...]
    leaf_shapes: tuple[tuple[int, ...], ...]

    def jacobian_shape(self, term: Term) -> tuple[int, ...]:
        leaf = self.leaf_shapes[term.leaf]
        if term.kind == FULL:
            return tuple(np.empty(self.value_shape)[term.index].shape) + leaf
        if term.kind in (ROWS, COLS):
            return self.value_shape + leaf[1:]
        return leaf


def pullback(rule: Rule, jacobians: list[Any], g: Any, xp: Any = np) -> list[Any]:
    """The cotangent of every leaf (None for a leaf no term reaches), in the array
    namespace ``xp`` (NumPy for PyTorch's backward, ``jax.numpy`` for JAX's)."""
    grads: list[Any] = [None] * len(rule.leaf_shapes)
    for term, J in zip(rule.terms, jacobians, strict=True):
        if term.kind == FULL:
            part = g[term.index]
            contribution = xp.tensordot(part, J, axes=part.ndim)
        elif term.kind == ROWS:
            contribution = xp.einsum("ij,ij...->i...", g, J)
        elif term.kind == COLS:
            contribution = xp.einsum("ij,ij...->j...", g, J)
        else:
            contribution = xp.reshape(g, g.shape + (1,) * (J.ndim - 1)) * J
        previous = grads[term.leaf]
        grads[term.leaf] = contribution if previous is None else previous + contribution
    return grads


# The gradients themselves
# ------------------------


def weight_gradient(potential: np.ndarray, weights: np.ndarray, normalize: bool) -> np.ndarray:
    """The gradient of the cost with respect to one side's weights, from its potential.

    Masses as given: POT's representative ``u - mean(u)`` (the gradient is defined only
    on ``sum(da) = 0``, where any constant is invisible).  ``normalize=True``: the
    distance sees ``w / sum(w)``, and the chain rule gives ``(u - sum(w u) / sum(w)) /
    sum(w)``, unique (the constant cancels).
    """
    u = np.asarray(potential, dtype=np.float64)
    if not normalize:
        return u - math.fsum(u) / u.size
    total = math.fsum(weights)
    return (u - math.fsum(weights * u) / total) / total


def metric_gradient(delta: np.ndarray, metric: str, p: float) -> np.ndarray:
    """``grad_x d(x, y)`` at ``x - y = delta`` (rows), the subgradient of least norm where
    ``d`` has no gradient (coinciding points; ties between coordinates for chebyshev)."""
    if metric == "sqeuclidean":
        return 2.0 * delta
    if metric == "cityblock":
        return np.sign(delta)
    size = np.abs(delta)
    if metric == "chebyshev":
        top = size.max(axis=1, keepdims=True)
        ties = (size == top) & (top > 0)
        share = ties.sum(axis=1, keepdims=True)
        return np.sign(delta) * ties / np.maximum(share, 1)
    # euclidean (p = 2) and minkowski: sign(delta) (|delta| / |delta|_p) ** (p - 1),
    # the ratio formed first so that no power over- or underflows.
    norm = np.linalg.norm(delta, ord=p, axis=1, keepdims=True)
    safe = np.where(norm > 0, norm, 1.0)
    ratio = size / safe
    step = ratio if p == 2 else ratio ** (p - 1.0)
    return np.where(norm > 0, np.sign(delta) * step, 0.0)


def position_gradients(
    x: np.ndarray, y: np.ndarray, rows: np.ndarray, cols: np.ndarray, flows: np.ndarray,
    metric: str, p: float,
) -> tuple[np.ndarray, np.ndarray]:
    """``sum_j P_ij grad_x d(x_i, y_j)`` and ``sum_i P_ij grad_y d(x_i, y_j)`` over the plan's
    entries ``(rows, cols, flows)``, for points of shape ``(n, d)``."""
    step = flows[:, None] * metric_gradient(x[rows] - y[cols], metric, p)
    grad_x = np.zeros(x.shape)
    grad_y = np.zeros(y.shape)
    np.add.at(grad_x, rows, step)
    np.add.at(grad_y, cols, -step)
    return grad_x, grad_y
