"""Sliced and max-sliced W1: 1-D distances along directions, each at most W1 (euclidean).

Each estimate comes with a :class:`ProjectionWitness`, a 1-Lipschitz function
of projections that attains it on the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from emd._validation import as_float_array, as_positive_int
from emd.dual._checks import _EPS, Seed, _eval_points, _samples
from emd.structured._onedim import solve_1d, wasserstein_1d


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ProjectionWitness:
    r"""A 1-Lipschitz function of projections, :math:`f(z) = \sum_k w_k \varphi_k(\theta_k z)`.

    Each :math:`\varphi_k` is the optimal 1-D Kantorovich potential (slopes
    in {-1, 0, 1}) along direction :math:`\theta_k`, with
    :math:`\sum_k w_k \|\theta_k\|_* \le 1` in the dual norm of ``metric``,
    so ``f`` is 1-Lipschitz for that metric.

    Attributes
    ----------
    directions : ndarray, shape (k, d)
    weights : ndarray, shape (k,)
    knots, knot_values : tuple of ndarray
        Breakpoints of each piecewise-linear profile (constant outside).
    value : float
        ``mean f(X) - mean f(Y)`` on the data it was fitted to.
    metric : str
    p : float
    """

    directions: np.ndarray
    weights: np.ndarray
    knots: tuple[np.ndarray, ...]
    knot_values: tuple[np.ndarray, ...]
    value: float
    metric: str = "euclidean"
    p: float = 2.0

    def __call__(self, z: ArrayLike) -> np.ndarray:
        """Evaluate at points of shape (k, d) (or (k,) in 1-D, or one point (d,))."""
        pts = _eval_points(z, self.directions.shape[1])
        out = np.zeros(pts.shape[0])
        for theta, w, knots, vals in zip(
            self.directions, self.weights, self.knots, self.knot_values, strict=True
        ):
            out += w * np.interp(pts @ theta, knots, vals)
        return out

    def __repr__(self) -> str:
        return (
            f"ProjectionWitness(n_directions={self.directions.shape[0]}, "
            f"dim={self.directions.shape[1]}, value={self.value:.6g})"
        )


def _profile(px: np.ndarray, py: np.ndarray) -> tuple[np.ndarray, np.ndarray, Any]:
    """The 1-D potential along a projection, kept only at its slope changes."""
    one = solve_1d(px, py)
    knots = np.unique(np.concatenate([px, py]))
    vals = np.asarray(one.potential(knots))
    if knots.size > 2:
        slope = np.diff(vals) / np.diff(knots)
        # Slopes are -1, 0 or 1 up to rounding; a knot matters only where it changes.
        keep = np.concatenate([[True], np.abs(np.diff(slope)) > 0.5, [True]])
        knots, vals = knots[keep], vals[keep]
    return knots, vals, one


def _projection_witness(X, Y, directions, weights, metric="euclidean", p=2.0):
    knots, vals = [], []
    for theta in directions:
        k, v, _ = _profile(X @ theta, Y @ theta)
        knots.append(k)
        vals.append(v)
    w = ProjectionWitness(
        np.ascontiguousarray(directions), np.asarray(weights, float), tuple(knots), tuple(vals),
        0.0, metric, p,
    )
    value = float(np.mean(w(X)) - np.mean(w(Y)))
    return ProjectionWitness(w.directions, w.weights, w.knots, w.knot_values, value, metric, p)


def _random_directions(dim: int, k: int, rng: np.random.Generator) -> np.ndarray:
    g = rng.standard_normal((k, dim))
    norms = np.linalg.norm(g, axis=1, keepdims=True)
    # A zero draw has probability zero; map it to the first axis rather than divide by 0.
    g[norms[:, 0] == 0, 0] = 1.0
    norms[norms == 0] = 1.0
    return g / norms


def _w1_along(X: np.ndarray, Y: np.ndarray, theta: np.ndarray) -> float:
    return wasserstein_1d(X @ theta, Y @ theta)


def _ascend(X: np.ndarray, Y: np.ndarray, theta: np.ndarray, value: float, n_iter: int):
    """Maximise ``g(theta) = W1(theta.X, theta.Y)`` over the unit sphere from ``theta``.

    ``g`` is a minimum over couplings of the convex functions
    ``theta -> sum P_ij |theta . (x_i - y_j)|``, hence neither convex nor
    concave.  Each step moves to the normalised gradient of the current
    optimal coupling's function, a heuristic ascent: a step is kept only if
    it raises ``g``, so the value never decreases, but the end point is not
    guaranteed to be a local maximum.  It stops after ``n_iter`` steps or
    when a step fails to improve by more than rounding.
    """
    steps = 0
    while steps < n_iter:
        steps += 1
        one = solve_1d(X @ theta, Y @ theta)
        rows, cols, mass = one.plan.row, one.plan.col, one.plan.data
        diff = X[rows] - Y[cols]
        s = (mass * np.sign(diff @ theta)) @ diff
        norm = float(np.linalg.norm(s))
        if norm == 0.0:
            break
        candidate = s / norm
        new_value = _w1_along(X, Y, candidate)
        if not new_value > value * (1.0 + 4 * _EPS):
            break
        theta, value = candidate, new_value
    return theta, value, steps


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class SlicedEstimate:
    """Sliced or max-sliced W1 between two samples, with its witness.

    Attributes
    ----------
    estimate : float
        The mean (sliced) or maximum (max-sliced) of the 1-D distances.
    kind : {"sliced", "max_sliced"}
    directions : ndarray, shape (k, d)
        Unit directions used (max-sliced: the best one, a single row).
    values : ndarray, shape (k,)
        The 1-D distance along each direction.
    witness : ProjectionWitness or None
        1-Lipschitz (euclidean) with ``mean f(X) - mean f(Y) = estimate``;
        None when it was not asked for (``witness=False``).
    n_iter : int
        Local-search steps taken (max-sliced; 0 for sliced).
    """

    estimate: float
    kind: str
    directions: np.ndarray
    values: np.ndarray
    witness: ProjectionWitness | None
    n_iter: int = 0

    def __repr__(self) -> str:
        return (
            f"SlicedEstimate(kind={self.kind!r}, estimate={self.estimate:.6g}, "
            f"n_directions={self.directions.shape[0]})"
        )


def sliced_w1(
    X: ArrayLike,
    Y: ArrayLike,
    n_projections: int = 200,
    *,
    seed: Seed = None,
    witness: bool = True,
) -> SlicedEstimate:
    r"""Sliced W1: the mean of 1-D distances along random unit directions (euclidean).

    .. math:: SW_1 = \frac1K \sum_k W_1(\theta_k \# P, \theta_k \# Q)

    A unit projection is 1-Lipschitz for the euclidean metric, so each term,
    and the mean, is at most W1 -- also between the empirical measures,
    so ``sliced_w1(X, Y) <= max_sliced_w1(X, Y) <= w1_plugin(X, Y)`` holds
    sample by sample (with the same seed and ``n_projections``).

    Parameters
    ----------
    X, Y : array_like, shapes (n, d) and (m, d)
        Samples of P and Q (uniform weights).
    n_projections : int, default 200
        Number of random directions (uniform on the sphere).
    seed : int or numpy.random.Generator, optional
    witness : bool, default True
        Also build the witness ``f(z) = mean_k phi_k(theta_k . z)``.

    Returns
    -------
    SlicedEstimate

    Examples
    --------
    >>> import numpy as np
    >>> from emd.dual import sliced_w1
    >>> X = np.zeros((4, 2)); Y = X + [3.0, 0.0]
    >>> res = sliced_w1(X, Y, n_projections=50, seed=0)
    >>> 0.0 < res.estimate < 3.0, round(res.witness.value - res.estimate, 12)
    (True, 0.0)
    """
    x, y = _samples(X, Y)
    k = as_positive_int(n_projections, "n_projections")
    rng = np.random.default_rng(seed)
    dirs = _random_directions(x.shape[1], k, rng)
    values = np.array([_w1_along(x, y, theta) for theta in dirs])
    est = float(values.mean())
    f = _projection_witness(x, y, dirs, np.full(k, 1.0 / k)) if witness else None
    return SlicedEstimate(est, "sliced", dirs, values, f)


def max_sliced_w1(
    X: ArrayLike,
    Y: ArrayLike,
    n_projections: int = 200,
    *,
    n_starts: int = 3,
    n_iter: int = 50,
    directions: ArrayLike | None = None,
    seed: Seed = None,
) -> SlicedEstimate:
    r"""Max-sliced W1: the largest 1-D distance over unit directions (euclidean).

    .. math:: \max_{|\theta| = 1} W_1(\theta \# P, \theta \# Q) \le W_1(P, Q)

    The candidates are the ``n_projections`` random directions that
    :func:`sliced_w1` draws from the same ``seed`` (so the result is never
    below the sliced value), the mean-difference direction, the coordinate
    axes and any given ``directions``.  The best ``n_starts`` are refined by
    a heuristic ascent that keeps only improving steps (toward the gradient
    of the current optimal coupling's cost).  ``theta -> W1(theta.X, theta.Y)``
    is neither convex nor concave, so the result is a lower bound on the true
    max-sliced distance, and at most W1.

    Parameters
    ----------
    X, Y : array_like, shapes (n, d) and (m, d)
    n_projections : int, default 200
    n_starts : int, default 3
        Candidates refined by local search.
    n_iter : int, default 50
        Ascent steps per start.
    directions : array_like, shape (k, d), optional
        Extra candidate directions (normalised here).
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    SlicedEstimate
        With the best direction and its witness ``f(z) = phi(theta . z)``.

    Examples
    --------
    >>> import numpy as np
    >>> from emd.dual import max_sliced_w1
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3)); Y = X + [0.0, 2.0, 0.0]
    >>> res = max_sliced_w1(X, Y, seed=0)
    >>> round(res.estimate, 9), np.round(np.abs(res.directions[0]), 6)
    (2.0, array([0., 1., 0.]))
    """
    x, y = _samples(X, Y)
    dim = x.shape[1]
    k = as_positive_int(n_projections, "n_projections")
    n_starts = as_positive_int(n_starts, "n_starts")
    n_iter = as_positive_int(n_iter, "n_iter", minimum=0)
    rng = np.random.default_rng(seed)
    cands = [_random_directions(dim, k, rng), np.eye(dim)]
    mean_diff = x.mean(axis=0) - y.mean(axis=0)
    if np.linalg.norm(mean_diff) > 0:
        cands.append(mean_diff[None, :] / np.linalg.norm(mean_diff))
    if directions is not None:
        extra = as_float_array(directions, "directions", (1, 2)).reshape(-1, dim)
        norms = np.linalg.norm(extra, axis=1, keepdims=True)
        if not np.isfinite(extra).all() or (norms == 0).any():
            raise ValueError("directions must be finite and nonzero")
        cands.append(extra / norms)
    stacked = np.vstack(cands)
    values = np.array([_w1_along(x, y, theta) for theta in stacked])
    order = np.argsort(-values, kind="stable")[:n_starts]
    best_theta, best_value, steps = stacked[order[0]], float(values[order[0]]), 0
    for idx in order:
        theta, value, taken = _ascend(x, y, stacked[idx], float(values[idx]), n_iter)
        steps += taken
        if value > best_value:
            best_theta, best_value = theta, value
    f = _projection_witness(x, y, best_theta[None, :], np.ones(1))
    return SlicedEstimate(
        best_value, "max_sliced", best_theta[None, :], np.array([best_value]), f, steps
    )
