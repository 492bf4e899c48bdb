"""Argument checks shared by the duality tools: metrics, samples, fractions, choices.

Each helper raises a ``ValueError`` (or ``TypeError``) naming the argument;
the estimators and certificates trust what passes through here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from emd._result import TransportResult, cost_source
from emd._validation import as_float_array, as_point_pair, as_points, check_metric

Seed = int | np.random.Generator | None

_EPS = float(np.finfo(float).eps)


def _true_metric(metric: str, p: float | None) -> tuple[str, float]:
    name, p_value = check_metric(metric, p)
    if name == "sqeuclidean":
        raise ValueError(
            "metric='sqeuclidean' is not a metric (it breaks the triangle inequality) and "
            "Kantorovich-Rubinstein duality needs one; use 'euclidean', 'cityblock', "
            "'chebyshev' or 'minkowski'"
        )
    return name, p_value


def _samples(X: Any, Y: Any, names: tuple[str, str] = ("X", "Y")) -> tuple[np.ndarray, np.ndarray]:
    return as_point_pair(X, Y, names)


def _fraction(value: Any, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number in (0, 1), got {value!r}") from None
    if not 0.0 < number < 1.0:
        raise ValueError(f"{name} must be in (0, 1), got {value!r}")
    return number


def _choice(value: Any, name: str, options: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}")
    return value


def _eval_points(z: Any, dim: int, name: str = "z") -> np.ndarray:
    """Points to evaluate a function of ``dim`` coordinates at, as a (k, dim) array.

    A 1-D array is ``k`` points on the line when ``dim == 1`` and a single
    point when its length is ``dim``.
    """
    arr = as_float_array(z, name, (1, 2))
    if arr.ndim == 1 and dim > 1:
        if arr.size != dim:
            raise ValueError(f"{name} must have shape (k, {dim}) or ({dim},), got {arr.shape}")
        arr = arr[None, :]
    pts = as_points(arr, name)
    if pts.shape[1] != dim:
        raise ValueError(f"{name} has {pts.shape[1]} coordinates but {dim} were expected")
    return pts


def _critic_values(f: Any, z: np.ndarray, name: str = "f") -> np.ndarray:
    """``f(z)`` as a finite (k,) array, or a ValueError naming ``f``."""
    values = np.asarray(f(z), dtype=np.float64)
    if values.shape not in ((z.shape[0],), (z.shape[0], 1)):
        raise ValueError(
            f"{name} must map points of shape (k, d) to values of shape (k,), got "
            f"{values.shape} for k={z.shape[0]}"
        )
    values = values.reshape(-1)
    if not np.isfinite(values).all():
        raise ValueError(f"{name} returned non-finite values")
    return values


def _split(arr: np.ndarray, split: float, rng: np.random.Generator, name: str):
    """A random ``split`` fraction of the rows of ``arr`` and the rest (at least 2 of them)."""
    n = arr.shape[0]
    n_train = min(max(round(split * n), 1), n - 2)
    if n_train < 1:
        raise ValueError(f"{name} needs at least 3 points to split into training and test")
    perm = rng.permutation(n)
    return arr[perm[:n_train]], arr[perm[n_train:]]


def _solved_points(result: TransportResult):
    """The coordinates and metric a point-cloud result was solved with, or None.

    The one place the duality tools read a result's cost source
    (:func:`emd._result.cost_source`): ``TransportResult`` has no public accessor
    for its coordinates yet.  The value has attributes ``x``, ``y``, ``metric`` and ``p``.
    """
    source = cost_source(result)
    if source is None or not hasattr(source, "x") or result.metric is None:
        return None
    return source
