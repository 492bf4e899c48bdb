r"""Kantorovich-Rubinstein duality: exact witnesses, certificates and honest W1 estimators.

For a metric ``d``, the Wasserstein-1 distance has the dual form

.. math:: W_1(P, Q) = \sup_{\mathrm{Lip}(f) \le 1} \mathbb{E}_P f - \mathbb{E}_Q f,

and a function attaining the supremum is a *witness*.  This module builds
witnesses that are exactly 1-Lipschitz on the whole space from the potentials
of a solved transport problem (:func:`kr_witness`), checks them
(:func:`certify`), and turns them into estimators of ``W1(P, Q)`` from
samples, each with an honest statement of what it bounds:

* :func:`w1_plugin` -- exact W1 between the empirical measures; biased upward.
* :func:`w1_heldout_lower` -- a witness fitted on one half of the data and
  evaluated on the other: a confidence *lower* bound, valid because every
  1-Lipschitz ``f`` has ``E_P f - E_Q f <= W1``.
* :func:`w1_bracket` -- both of the above, with a warning when they disagree.
* :func:`sliced_w1`, :func:`max_sliced_w1` -- averages and maxima of 1-D
  distances along directions; never above W1 (euclidean metric).
* :func:`permutation_test` -- a test of ``P = Q``.

The WGAN-style critics of :func:`train_critic` (a small MLP trained under
weight clipping or a gradient penalty) are here for comparison, with
:func:`audit_critic` to measure how far they are from 1-Lipschitz.  They are
*not* reliable W1 estimators; the exact witness is.

Examples
--------
>>> import numpy as np
>>> from emd.dual import kr_witness
>>> f = kr_witness([[0.0, 0.0], [0.0, 1.0]], [[2.0, 0.0], [2.0, 1.0]])
>>> round(f.value, 12)
2.0
>>> # Every unit of mass moves by 2, and f drops by exactly 2 along each move.
>>> np.round(f([[0.0, 0.0], [0.0, 1.0]]) - f([[2.0, 0.0], [2.0, 1.0]]), 12)
array([2., 2.])
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtri

from emd._core import _costs
from emd._result import DEFAULT_RTOL, TransportResult
from emd._validation import (
    as_float_array,
    as_points,
    as_positive_int,
    balance,
    check_metric,
    optional_weights,
)
from emd.structured._onedim import solve_1d, wasserstein_1d
from emd.transport import solve_points_validated

__all__ = [
    "CriticAudit",
    "DualCertificate",
    "HeldoutEstimate",
    "PermutationTest",
    "PluginEstimate",
    "ProjectionWitness",
    "SlicedEstimate",
    "TrainedCritic",
    "W1Bracket",
    "WideBracketWarning",
    "Witness",
    "audit_critic",
    "certify",
    "kr_witness",
    "max_sliced_w1",
    "permutation_test",
    "sliced_w1",
    "train_critic",
    "w1_bracket",
    "w1_heldout_lower",
    "w1_plugin",
    "witness_from_result",
]

_EPS = float(np.finfo(float).eps)
_KINDS = ("upper", "lower", "mid")
_RESULT_OR_POINTS = "pass either a TransportResult or point sets x, y (with a, b), not both"

Seed = int | np.random.Generator | None


class WideBracketWarning(UserWarning):
    """The lower bound and the plug-in estimate of W1 are far apart (see :func:`w1_bracket`)."""


# --------------------------------------------------------------------------- validation


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
    x = as_points(X, names[0])
    y = as_points(Y, names[1])
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same number of coordinates, "
            f"got shapes {x.shape} and {y.shape}"
        )
    return x, y


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


def _dual_exponent(p: float) -> float:
    if p == 1.0:
        return math.inf
    if math.isinf(p):
        return 1.0
    return p / (p - 1.0)


def _diameter_bound(points: np.ndarray, p: float) -> float:
    """Bounding-box diagonal under the Minkowski-p norm: at least every pairwise distance."""
    span = points.max(axis=0) - points.min(axis=0)
    return float(np.linalg.norm(span, ord=p))


def _pair_distances(
    z: np.ndarray, w: np.ndarray, code: int, p: float, i: np.ndarray, j: np.ndarray
) -> np.ndarray:
    return _costs.points_arc_costs(
        z,
        w,
        code,
        p,
        np.ascontiguousarray(i, dtype=np.intp),
        np.ascontiguousarray(j, dtype=np.intp),
    )


def _ratio(df: np.ndarray, dist: np.ndarray, allowance: float) -> float:
    """Largest ``(|df| - allowance) / dist``; a difference beyond rounding at distance 0 is inf."""
    excess = np.abs(df) - allowance
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(dist > 0, excess / np.where(dist > 0, dist, 1.0),
                         np.where(excess > 0, np.inf, 0.0))
    return max(0.0, float(ratio.max())) if ratio.size else 0.0


def _mean_difference(fx: np.ndarray, fy: np.ndarray) -> tuple[float, float]:
    """``mean(fx) - mean(fy)`` and its standard error (two independent samples)."""
    est = float(np.mean(fx) - np.mean(fy))
    var = 0.0
    for values in (fx, fy):
        if values.size > 1:
            var += float(np.var(values, ddof=1)) / values.size
    return est, math.sqrt(var)


# --------------------------------------------------------------------------- exact witness


def _c_transform(z: np.ndarray, anchors: np.ndarray, pots: np.ndarray, code: int, p: float):
    # The compiled loop needs C-contiguous float64 and keeps O(1) extra memory.
    return _costs.points_c_transform(
        np.ascontiguousarray(z, dtype=np.float64),
        np.ascontiguousarray(anchors, dtype=np.float64),
        code,
        p,
        np.ascontiguousarray(pots, dtype=np.float64),
    )


def _evaluate(kind, support, pots, n_lower, code, p, z) -> np.ndarray:
    if kind == "upper":
        return _c_transform(z, support, pots, code, p)
    lower = -_c_transform(z, support[:n_lower], pots[:n_lower], code, p)
    if kind == "lower":
        return lower
    upper = _c_transform(z, support[n_lower:], pots[n_lower:], code, p)
    return 0.5 * (upper + lower)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Witness:
    r"""An exact Kantorovich-Rubinstein witness: 1-Lipschitz everywhere, optimal on the data.

    Built from dual potentials ``(u, v)`` of an optimal transport from
    ``(x, a)`` to ``(y, b)`` (``u_i + v_j <= d(x_i, y_j)``,
    ``sum(a u) + sum(b v) = W1``) by extension from the points with mass:

    * ``"upper"``: :math:`f(z) = \min_{j: b_j > 0} d(z, y_j) - v_j` (McShane),
    * ``"lower"``: :math:`f(z) = \max_{i: a_i > 0} u_i - d(z, x_i)` (Whitney),
    * ``"mid"``: their average.

    Each is a minimum (maximum) of 1-Lipschitz cones, hence 1-Lipschitz on the
    whole space by construction, and ``f(x_i) >= u_i``, ``f(y_j) <= -v_j``
    (for ``"upper"``; symmetrically for ``"lower"``), so
    ``sum(a f(x)) - sum(b f(y)) >= sum(a u) + sum(b v) = W1`` while the
    Lipschitz bound gives ``<= W1``: the witness attains the distance.  The
    lower extension never exceeds the upper one (triangle inequality), and
    every 1-Lipschitz function between them is also optimal.

    Evaluation costs O(k * s) distance computations for ``k`` points and
    ``s`` anchors, with O(1) extra memory (a compiled loop).

    Attributes
    ----------
    kind : {"upper", "lower", "mid"}
    metric : str
        Canonical metric name; ``p`` is its Minkowski exponent.
    p : float
    support : ndarray, shape (s, d)
        The anchor points: ``y`` with mass (upper), ``x`` with mass (lower), or
        both stacked, ``x`` first (mid).
    potentials : ndarray, shape (s,)
        The potentials at the anchors (``v`` for ``y``, ``u`` for ``x``).
    value : float
        ``sum(a f(x)) - sum(b f(y))`` over the supports (``E_a f - E_b f`` for
        weights summing to 1); equal to the transport cost up to rounding.
    """

    kind: str
    metric: str
    p: float
    support: np.ndarray
    potentials: np.ndarray
    value: float
    _n_lower: int = field(default=0, repr=False)

    @property
    def dim(self) -> int:
        """Number of coordinates of the points ``f`` takes."""
        return int(self.support.shape[1])

    def __call__(self, z: ArrayLike) -> np.ndarray:
        """Evaluate ``f`` at points ``z`` of shape (k, d) (or (k,) in 1-D, or one point (d,)).

        Examples
        --------
        >>> from emd.dual import kr_witness
        >>> f = kr_witness([0.0], [2.0])
        >>> f([-1.0, 0.0, 1.0, 2.0, 5.0])  # the cone |z - 2| - v around the target
        array([ 1.,  0., -1., -2.,  1.])
        """
        pts = _eval_points(z, self.dim)
        code = _costs.METRIC_CODES[self.metric]
        return _evaluate(self.kind, self.support, self.potentials, self._n_lower, code, self.p, pts)

    def __repr__(self) -> str:
        return (
            f"Witness(kind={self.kind!r}, metric={self.metric!r}, value={self.value:.12g}, "
            f"n_anchors={self.support.shape[0]}, dim={self.dim})"
        )


def _make_witness(x, y, a, b, u, v, metric, p, kind) -> Witness:
    kind = _choice(kind, "kind", _KINDS)
    keep_x, keep_y = a > 0, b > 0
    xa, ua, ya, va = x[keep_x], u[keep_x], y[keep_y], v[keep_y]
    if kind == "upper":
        support, pots, n_lower = ya, va, 0
    elif kind == "lower":
        support, pots, n_lower = xa, ua, xa.shape[0]
    else:
        support, pots, n_lower = np.vstack([xa, ya]), np.concatenate([ua, va]), xa.shape[0]
    support = np.ascontiguousarray(support, dtype=np.float64)
    pots = np.ascontiguousarray(pots, dtype=np.float64)
    code = _costs.METRIC_CODES[metric]
    fx = _evaluate(kind, support, pots, n_lower, code, p, np.ascontiguousarray(xa))
    fy = _evaluate(kind, support, pots, n_lower, code, p, np.ascontiguousarray(ya))
    value = math.fsum(a[keep_x] * fx) - math.fsum(b[keep_y] * fy)
    support.flags.writeable = False
    pots.flags.writeable = False
    return Witness(kind, metric, p, support, pots, value, n_lower)


def witness_from_result(result: TransportResult, kind: str = "upper") -> Witness:
    """The exact Kantorovich-Rubinstein witness of a solved point-cloud problem.

    Parameters
    ----------
    result : TransportResult
        From :func:`emd.solve_points` with a true metric (not ``"sqeuclidean"``),
        solved to optimality.
    kind : {"upper", "lower", "mid"}, default "upper"
        Which extension of the potentials; see :class:`Witness`.

    Returns
    -------
    Witness

    Raises
    ------
    ValueError
        The result comes from a cost matrix (no coordinates), uses
        ``"sqeuclidean"``, or did not reach optimality.

    Examples
    --------
    >>> import emd
    >>> from emd.dual import witness_from_result
    >>> res = emd.solve_points([[0.0], [1.0]], [[0.5], [3.0]])
    >>> f = witness_from_result(res, kind="mid")
    >>> round(f.value, 12) == round(res.cost, 12)
    True
    """
    if not isinstance(result, TransportResult):
        raise TypeError(f"result must be a TransportResult, got {type(result).__name__}")
    source = result._costs
    if source is None or not hasattr(source, "x") or result.metric is None:
        raise ValueError(
            "result was solved from a cost matrix and has no coordinates; a witness needs "
            "points in a metric space: use emd.solve_points"
        )
    metric, p = _true_metric(source.metric, None if source.metric != "minkowski" else source.p)
    if not result.converged:
        raise ValueError(
            f"result is not optimal (status {result.status!r}); its potentials give no exact "
            "witness"
        )
    return _make_witness(
        source.x, source.y, result.a, result.b, result.u, result.v, metric, p, kind
    )


def kr_witness(
    x: ArrayLike | TransportResult,
    y: ArrayLike | None = None,
    a: ArrayLike | None = None,
    b: ArrayLike | None = None,
    *,
    metric: str | None = None,
    p: float | None = None,
    kind: str = "upper",
    normalize: bool = False,
) -> Witness:
    """Exact 1-Lipschitz witness ``f`` with ``E_a f - E_b f = W1(a, b)``.

    Parameters
    ----------
    x : array_like, shape (n, d), or TransportResult
        Source points, or a solved problem (then ``y``, ``a``, ``b`` must be
        omitted and the metric is the result's).
    y : array_like, shape (m, d)
        Target points.
    a, b : array_like, optional
        Weights, uniform when omitted.
    metric : {"euclidean", "cityblock", "chebyshev", "minkowski"}, optional
        Default ``"euclidean"``.  ``"sqeuclidean"`` is rejected: duality
        with 1-Lipschitz functions needs a metric.
    p : float, optional
        Minkowski exponent (``metric="minkowski"`` only).
    kind : {"upper", "lower", "mid"}, default "upper"
        Which extension of the potentials; see :class:`Witness`.
    normalize : bool, default False
        Rescale both weight vectors to total mass 1.

    Returns
    -------
    Witness

    Notes
    -----
    The naive function equal to ``u`` on ``x`` and ``-v`` on ``y`` is not
    used: it is defined only on the data, and where potentials are not tight
    (zero-mass bins, shared points, duals from elsewhere) it need not be
    1-Lipschitz even there.  Extending from the points with mass gives a
    function that is 1-Lipschitz everywhere and still optimal.

    In 1-D the potentials come from the O(n log n) closed form.

    Examples
    --------
    >>> from emd.dual import kr_witness
    >>> f = kr_witness([[0.0, 0.0], [1.0, 0.0]], [[0.0, 3.0], [1.0, 3.0]], kind="mid")
    >>> f
    Witness(kind='mid', metric='euclidean', value=3, n_anchors=4, dim=2)
    >>> float(f([0.0, 0.0])[0] - f([0.0, 3.0])[0])
    3.0
    """
    if isinstance(x, TransportResult):
        if y is not None or a is not None or b is not None:
            raise ValueError(_RESULT_OR_POINTS)
        if metric is not None and check_metric(metric, p)[0] != x.metric:
            raise ValueError(f"metric={metric!r} differs from the result's metric {x.metric!r}")
        return witness_from_result(x, kind=kind)
    if y is None:
        raise ValueError("y is required when x is a point set")
    kind = _choice(kind, "kind", _KINDS)
    xs, ys = _samples(x, y, ("x", "y"))
    name, p_value = _true_metric("euclidean" if metric is None else metric, p)
    a_arr = optional_weights(a, "a", xs.shape[0])
    b_arr = optional_weights(b, "b", ys.shape[0])
    a_arr, b_arr = balance(a_arr, b_arr, normalize)
    return _fit_witness(xs, ys, a_arr, b_arr, name, p_value, kind)


def _fit_witness(x, y, a, b, metric, p, kind) -> Witness:
    """:func:`kr_witness` on validated, balanced inputs."""
    if x.shape[1] == 1:
        # Every Minkowski metric is |s - t| on the line; the potentials of the
        # closed form do not depend on the common mass.
        one = solve_1d(x[:, 0], y[:, 0], a, b)
        u, v = one.u, one.v
    else:
        res = solve_points_validated(x, y, a, b, metric, p, None)
        if not res.converged:
            raise RuntimeError(f"the transport solver stopped with status {res.status!r}")
        u, v = res.u, res.v
    return _make_witness(x, y, a, b, u, v, metric, p, kind)


# --------------------------------------------------------------------------- certificate


@dataclass(frozen=True, slots=True, repr=False)
class DualCertificate:
    """Evidence that a transport cost is W1, from the primal, the dual and the KR witness.

    Attributes
    ----------
    cost : float
        Primal cost of the plan.
    dual_value : float
        ``sum(a u) + sum(b v)``.
    gap : float
        ``cost - dual_value``.
    max_dual_violation : float
        ``max(0, max_ij u_i + v_j - d(x_i, y_j))`` over all pairs.
    complementary_slackness : float
        ``sum P_ij |d_ij - u_i - v_j|``.
    marginal_error : float
        L1 distance between the plan's marginals and ``a``, ``b`` (the larger).
    kr_value : float
        ``sum(a f(x)) - sum(b f(y))`` for the witness ``f``.
    lipschitz_ratio : float
        Largest ``(|f(z) - f(w)| - r) / d(z, w)`` over the pairs checked, where
        ``r`` is a rounding allowance of a few ulps of the problem's scale.
    n_pairs : int
        Number of pairs checked.
    mass : float
        Total mass.
    rounding : float
        What float64 cannot resolve, in cost units:
        ``16 eps * mass * (diameter + max|u| + max|v|)``.  Every relative
        figure counts only the excess over it, so that a zero distance is
        not judged by its rounding noise.
    scale : float
        Denominator of the relative figures: ``max(|cost|, rounding)``.
    kind : str
        Witness extension checked.
    status : str
        Solver status.
    """

    cost: float
    dual_value: float
    gap: float
    max_dual_violation: float
    complementary_slackness: float
    marginal_error: float
    kr_value: float
    lipschitz_ratio: float
    n_pairs: int
    mass: float
    rounding: float
    scale: float
    kind: str
    status: str

    def _relative(self, error: float) -> float:
        return max(0.0, error - self.rounding) / self.scale

    @property
    def relative_gap(self) -> float:
        """``|gap| + max_dual_violation * mass`` (which bounds the suboptimality), relative."""
        return self._relative(abs(self.gap) + self.max_dual_violation * self.mass)

    @property
    def relative_slackness(self) -> float:
        return self._relative(self.complementary_slackness)

    @property
    def relative_marginal_error(self) -> float:
        return self.marginal_error / self.mass

    @property
    def relative_kr_error(self) -> float:
        """``|kr_value - cost|``, relative."""
        return self._relative(abs(self.kr_value - self.cost))

    def optimal(self, rtol: float = DEFAULT_RTOL) -> bool:
        """True when every relative figure is within ``rtol`` and the ratio within ``1 + rtol``."""
        return (
            self.status == "optimal"
            and self.relative_gap <= rtol
            and self.relative_slackness <= rtol
            and self.relative_marginal_error <= rtol
            and self.relative_kr_error <= rtol
            and self.lipschitz_ratio <= 1.0 + rtol
        )

    @property
    def ok(self) -> bool:
        """:meth:`optimal` at the default tolerance."""
        return self.optimal()

    def __repr__(self) -> str:
        return (
            f"DualCertificate(cost={self.cost:.12g}, relative_gap={self.relative_gap:.1e}, "
            f"relative_kr_error={self.relative_kr_error:.1e}, "
            f"lipschitz_ratio={self.lipschitz_ratio:.12g}, ok={self.ok})"
        )


def _support_pairs(n_points: int, rng: np.random.Generator, limit: int = 250_000):
    if n_points * (n_points - 1) // 2 <= limit:
        return np.triu_indices(n_points, k=1)
    return rng.integers(n_points, size=limit), rng.integers(n_points, size=limit)


def certify(
    x: ArrayLike | TransportResult,
    y: ArrayLike | None = None,
    a: ArrayLike | None = None,
    b: ArrayLike | None = None,
    *,
    metric: str | None = None,
    p: float | None = None,
    result: TransportResult | None = None,
    kind: str = "upper",
    n_probes: int = 1000,
    seed: Seed = None,
) -> DualCertificate:
    """Certify a W1 computation from both sides: LP optimality and the KR witness.

    Solves the problem (or takes ``result``), recomputes the primal cost,
    the dual value, the largest dual violation over all pairs, the
    complementary slackness and the marginals (via
    :meth:`TransportResult.certificate`), builds the witness and measures its
    KR value and its empirical Lipschitz ratio over all pairs of data points
    (a random 250 000 of them beyond ~700 points) and ``n_probes`` random
    probes: points of the bounding box and points on segments between a
    source and a target point, each paired with data points and other probes.

    Parameters
    ----------
    x, y, a, b, metric, p
        As in :func:`kr_witness`; ``x`` may be a TransportResult instead.
    result : TransportResult, optional
        A solution for these points (its coordinates must equal ``x``, ``y``).
    kind : {"upper", "lower", "mid"}, default "upper"
        Witness extension to check.
    n_probes : int, default 1000
        Random probe points.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    DualCertificate

    Examples
    --------
    >>> from emd.dual import certify
    >>> cert = certify([[0.0, 0.0], [1.0, 1.0]], [[1.0, 0.0], [3.0, 1.0]], seed=0)
    >>> cert.ok, round(cert.cost, 12), cert.lipschitz_ratio <= 1.0
    (True, 1.5, True)
    """
    if isinstance(x, TransportResult):
        if result is not None:
            raise ValueError("pass the result either as x or as result=, not both")
        if y is not None or a is not None or b is not None:
            raise ValueError(_RESULT_OR_POINTS)
        result = x
    elif result is not None:
        if not isinstance(result, TransportResult):
            raise TypeError(f"result must be a TransportResult, got {type(result).__name__}")
        xs, ys = _samples(x, y, ("x", "y"))
        source = result._costs
        if (
            not hasattr(source, "x")
            or not np.array_equal(xs, source.x)
            or not np.array_equal(ys, source.y)
        ):
            raise ValueError("result was not solved for these points x, y")
        for name, given, kept in (("a", a, result.a), ("b", b, result.b)):
            if given is None:
                continue
            if not np.array_equal(optional_weights(given, name, kept.size), kept):
                raise ValueError(f"{name} differs from the weights result was solved with")
    else:
        if y is None:
            raise ValueError("y is required when x is a point set")
        xs, ys = _samples(x, y, ("x", "y"))
        name, p_value = _true_metric("euclidean" if metric is None else metric, p)
        a_arr = optional_weights(a, "a", xs.shape[0])
        b_arr = optional_weights(b, "b", ys.shape[0])
        a_arr, b_arr = balance(a_arr, b_arr, False)
        result = solve_points_validated(xs, ys, a_arr, b_arr, name, p_value, None)
    n_probes = as_positive_int(n_probes, "n_probes", minimum=0)
    witness = witness_from_result(result, kind=kind)
    if metric is not None and check_metric(metric, p)[0] != witness.metric:
        raise ValueError(f"metric={metric!r} differs from the result's metric {witness.metric!r}")
    base = result.certificate()
    source = result._costs
    xs, ys = source.x, source.y
    rng = np.random.default_rng(seed)

    data = np.vstack([xs, ys])
    n_data = data.shape[0]
    diameter = _diameter_bound(data, witness.p)
    lo, hi = data.min(axis=0), data.max(axis=0)
    n_box = n_probes // 2
    n_seg = n_probes - n_box
    box = lo + (hi - lo) * rng.random((n_box, data.shape[1]))
    ends_x = rng.integers(xs.shape[0], size=n_seg)
    ends_y = rng.integers(ys.shape[0], size=n_seg)
    t = rng.random((n_seg, 1))
    seg = (1.0 - t) * xs[ends_x] + t * ys[ends_y]
    points = np.ascontiguousarray(np.vstack([data, box, seg]))
    values = witness(points)

    i_data, j_data = _support_pairs(n_data, rng)
    box_idx = n_data + np.arange(n_box)
    seg_idx = n_data + n_box + np.arange(n_seg)
    probe_idx = np.concatenate([box_idx, seg_idx])
    i = np.concatenate([
        i_data,
        probe_idx,  # each probe against a random data point
        probe_idx,  # ... and against another probe
        seg_idx,  # segment probes against both ends of their segment
        seg_idx,
    ])
    j = np.concatenate([
        j_data,
        rng.integers(n_data, size=probe_idx.size),
        rng.permutation(probe_idx),
        ends_x,
        xs.shape[0] + ends_y,
    ])
    code = _costs.METRIC_CODES[witness.metric]
    dist = _pair_distances(points, points, code, witness.p, i, j)
    # Each value is a min of (distance - potential), exact to a few ulps of
    # the magnitudes involved; differences below that are noise, not slope.
    allowance = 4.0 * (data.shape[1] + 4) * _EPS * (float(np.abs(values).max()) + diameter)
    ratio = _ratio(values[i] - values[j], dist, allowance)

    mass = base.mass
    # The transport certificate's allowance: the magnitudes actually summed,
    # so that wide-ranging costs elsewhere cannot hide a real gap.
    rounding = base.rounding
    scale = base.scale
    return DualCertificate(
        cost=base.cost,
        dual_value=base.dual_value,
        gap=base.gap,
        max_dual_violation=base.max_dual_violation,
        complementary_slackness=base.complementary_slackness,
        marginal_error=base.marginal_error,
        kr_value=witness.value,
        lipschitz_ratio=ratio,
        n_pairs=int(i.size),
        mass=mass,
        rounding=rounding,
        scale=scale,
        kind=witness.kind,
        status=result.status,
    )


# --------------------------------------------------------------------------- projections


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
    vals = one.potential(knots)
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
    witness : ProjectionWitness
        1-Lipschitz (euclidean) with ``mean f(X) - mean f(Y) = estimate``.
    n_iter : int
        Local-search steps taken (max-sliced; 0 for sliced).
    """

    estimate: float
    kind: str
    directions: np.ndarray
    values: np.ndarray
    witness: ProjectionWitness
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
    cands = np.vstack(cands)
    values = np.array([_w1_along(x, y, theta) for theta in cands])
    order = np.argsort(-values, kind="stable")[:n_starts]
    best_theta, best_value, steps = cands[order[0]], float(values[order[0]]), 0
    for idx in order:
        theta, value, taken = _ascend(x, y, cands[idx], float(values[idx]), n_iter)
        steps += taken
        if value > best_value:
            best_theta, best_value = theta, value
    f = _projection_witness(x, y, best_theta[None, :], np.ones(1))
    return SlicedEstimate(
        best_value, "max_sliced", best_theta[None, :], np.array([best_value]), f, steps
    )


# --------------------------------------------------------------------------- estimators


def _w1_samples(x: np.ndarray, y: np.ndarray, metric: str, p: float) -> float:
    """Exact W1 between the uniform empirical measures of two validated samples."""
    if x.shape[1] == 1:
        return wasserstein_1d(x[:, 0], y[:, 0])
    a = np.full(x.shape[0], 1.0 / x.shape[0])
    b = np.full(y.shape[0], 1.0 / y.shape[0])
    res = solve_points_validated(x, y, a, b, metric, p, None)
    if not res.converged:
        raise RuntimeError(f"the transport solver stopped with status {res.status!r}")
    return res.cost


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class PluginEstimate:
    """Exact W1 between two empirical measures, an upward-biased estimate of W1(P, Q).

    Attributes
    ----------
    estimate : float
    n : tuple of int
        Sample sizes.
    metric : str
    biased_upward : bool
        Always True: ``E[W1(P_n, Q_m)] >= W1(P, Q)``.
    interval : tuple of float or None
        The m-out-of-n bootstrap interval, when asked for.
    alpha : float
        One minus the nominal coverage of ``interval``.
    subsample : tuple of int or None
        Bootstrap resample sizes.
    replicates : ndarray or None
        The bootstrap values.
    """

    estimate: float
    n: tuple[int, int]
    metric: str
    biased_upward: bool = True
    interval: tuple[float, float] | None = None
    alpha: float = 0.05
    subsample: tuple[int, int] | None = None
    replicates: np.ndarray | None = None

    def __repr__(self) -> str:
        extra = "" if self.interval is None else (
            f", interval=({self.interval[0]:.6g}, {self.interval[1]:.6g})"
        )
        return (
            f"PluginEstimate(estimate={self.estimate:.6g}, n={self.n}, "
            f"biased_upward=True{extra})"
        )


def _subsample_sizes(subsample: Any, n_x: int, n_y: int) -> tuple[int, int]:
    if subsample is None:
        return max(2, math.ceil(n_x ** (2 / 3))), max(2, math.ceil(n_y ** (2 / 3)))
    if isinstance(subsample, tuple | list):
        if len(subsample) != 2:
            raise ValueError(f"subsample must be an int or a pair of ints, got {subsample!r}")
        return tuple(as_positive_int(s, "subsample") for s in subsample)
    m = as_positive_int(subsample, "subsample")
    return m, m


def w1_plugin(
    X: ArrayLike,
    Y: ArrayLike,
    *,
    metric: str = "euclidean",
    p: float | None = None,
    bootstrap: int = 0,
    subsample: int | tuple[int, int] | None = None,
    alpha: float = 0.05,
    seed: Seed = None,
) -> PluginEstimate:
    r"""Plug-in estimate of W1(P, Q): the exact distance between the empirical measures.

    It is biased upward: ``W1`` is jointly convex, so by Jensen's inequality
    ``E[W1(P_n, Q_m)] >= W1(E P_n, E Q_m) = W1(P, Q)``.  The bias decays like
    ``n^(-1/d)`` in dimension ``d >= 3``, so in high dimension the plug-in is
    dominated by it (two samples of the *same* distribution are far apart).

    Parameters
    ----------
    X, Y : array_like, shapes (n, d) and (m, d)
        Samples of P and Q (uniform weights).
    metric, p
        A true metric (``"sqeuclidean"`` is rejected).
    bootstrap : int, default 0
        Number of m-out-of-n bootstrap replicates; 0 for none.
    subsample : int or (int, int), optional
        Resample sizes; default ``ceil(n^(2/3))`` per sample.
    alpha : float, default 0.05
        The interval has nominal coverage ``1 - alpha``.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    PluginEstimate

    Notes
    -----
    The interval is the "basic" m-out-of-n bootstrap interval assuming the
    root-n rate: with ``T*`` the distance between resamples of sizes
    ``m_x, m_y`` drawn with replacement, and ``m = m_x m_y / (m_x + m_y)``,
    ``n = n_x n_y / (n_x + n_y)`` the effective sizes,

    .. math:: [\hat W - \sqrt{m/n}\, q_{1-\alpha/2}(T^* - \hat W),\;
               \hat W - \sqrt{m/n}\, q_{\alpha/2}(T^* - \hat W)].

    The ordinary (n-out-of-n) bootstrap fails when ``P = Q``: there ``W1`` is
    at a kink (``(F, G) -> \int |F - G|`` is only directionally
    differentiable at ``F = G``), the limit law of the estimator is not
    Gaussian and the bootstrap law does not converge to it (Sommerfeld and
    Munk, 2018; Duembgen, 1993).  Resamples of size ``m -> inf`` with
    ``m / n -> 0`` restore consistency under mild conditions (Bickel, Goetze
    and van Zwet, 1997).  The root-n rate holds for ``P != Q`` in dimension 1
    and on finite spaces; in higher dimension the bias (of order
    ``n^(-1/d)``) dominates and the interval is only a rough guide.  It is
    centred on a biased estimate, so it need not cover ``W1(P, Q)``.

    Examples
    --------
    >>> from emd.dual import w1_plugin
    >>> w1_plugin([[0.0], [1.0]], [[2.0], [3.0]])
    PluginEstimate(estimate=2, n=(2, 2), biased_upward=True)
    """
    x, y = _samples(X, Y)
    name, p_value = _true_metric(metric, p)
    bootstrap = as_positive_int(bootstrap, "bootstrap", minimum=0)
    alpha = _fraction(alpha, "alpha")
    est = _w1_samples(x, y, name, p_value)
    n_x, n_y = x.shape[0], y.shape[0]
    if bootstrap == 0:
        return PluginEstimate(est, (n_x, n_y), name, alpha=alpha)
    m_x, m_y = _subsample_sizes(subsample, n_x, n_y)
    rng = np.random.default_rng(seed)
    reps = np.empty(bootstrap)
    for r in range(bootstrap):
        xb = x[rng.integers(n_x, size=m_x)]
        yb = y[rng.integers(n_y, size=m_y)]
        reps[r] = _w1_samples(xb, yb, name, p_value)
    n_eff = n_x * n_y / (n_x + n_y)
    m_eff = m_x * m_y / (m_x + m_y)
    rate = math.sqrt(m_eff / n_eff)
    lo_q, hi_q = np.quantile(reps - est, [alpha / 2, 1 - alpha / 2])
    interval = (max(0.0, est - rate * float(hi_q)), max(0.0, est - rate * float(lo_q)))
    return PluginEstimate(est, (n_x, n_y), name, True, interval, alpha, (m_x, m_y), reps)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class HeldoutEstimate:
    """A held-out evaluation of a 1-Lipschitz witness: a lower confidence bound on W1.

    Attributes
    ----------
    estimate : float
        ``mean f(X_test) - mean f(Y_test)``: unbiased for ``E_P f - E_Q f <= W1``.
    se : float
        Its standard error.
    lower : float
        ``estimate - z_{1-alpha} * se`` (CLT) or the Hoeffding bound.
    alpha : float
    bound : {"clt", "hoeffding"}
    witness : callable
        The fitted (or given) function.
    train_value : float or None
        ``mean f(X_train) - mean f(Y_train)``: for ``"ctransform"`` the plug-in
        distance of the training halves (optimistic).
    n_train, n_test : tuple of int
    range_bound : float or None
        The range of ``f`` assumed by the Hoeffding bound.
    """

    estimate: float
    se: float
    lower: float
    alpha: float
    bound: str
    witness: Callable[[np.ndarray], np.ndarray]
    train_value: float | None
    n_train: tuple[int, int]
    n_test: tuple[int, int]
    range_bound: float | None = None

    def __repr__(self) -> str:
        return (
            f"HeldoutEstimate(estimate={self.estimate:.6g}, se={self.se:.3g}, "
            f"lower={self.lower:.6g}, bound={self.bound!r}, alpha={self.alpha})"
        )


def _fit_projection(x, y, metric, p, rng) -> ProjectionWitness:
    """The 1-D witness along the best of a few directions, scaled 1-Lipschitz for ``metric``.

    ``|theta . (z - w)| <= |theta|_q |z - w|_p`` (Hoelder), so a direction of
    unit dual norm keeps the composed function 1-Lipschitz for any Minkowski metric.
    """
    q = _dual_exponent(p)
    dim = x.shape[1]
    cands = [np.eye(dim)]
    mean_diff = x.mean(axis=0) - y.mean(axis=0)
    if np.any(mean_diff != 0):
        cands += [mean_diff[None, :], np.sign(mean_diff)[None, :]]
    if dim > 1:
        ms = max_sliced_w1(x, y, n_projections=50, n_starts=2, n_iter=20, seed=rng)
        cands.append(ms.directions)
    cands = np.vstack(cands)
    cands /= np.linalg.norm(cands, ord=q, axis=1, keepdims=True)
    values = [_w1_along(x, y, theta) for theta in cands]
    best = cands[int(np.argmax(values))]
    return _projection_witness(x, y, best[None, :], np.ones(1), metric, p)


def _split(arr: np.ndarray, split: float, rng: np.random.Generator, name: str):
    n = arr.shape[0]
    n_train = min(max(round(split * n), 1), n - 2)
    if n_train < 1:
        raise ValueError(f"{name} needs at least 3 points to split into training and test")
    perm = rng.permutation(n)
    return arr[perm[:n_train]], arr[perm[n_train:]]


def w1_heldout_lower(
    X: ArrayLike,
    Y: ArrayLike,
    *,
    witness: str | Callable[[np.ndarray], np.ndarray] = "ctransform",
    metric: str = "euclidean",
    p: float | None = None,
    split: float = 0.5,
    alpha: float = 0.05,
    bound: str = "clt",
    seed: Seed = None,
) -> HeldoutEstimate:
    """A lower confidence bound on W1(P, Q) from a witness evaluated on held-out data.

    For any 1-Lipschitz ``f``, ``E_P f - E_Q f <= W1(P, Q)``.  The witness is
    fitted on a random ``split`` of each sample and evaluated on the rest,
    where its mean difference is an unbiased estimate of ``E_P f - E_Q f``;
    subtracting the sampling error gives a bound that holds with probability
    about ``1 - alpha`` whatever the dimension.  (Evaluating on the training
    data instead would reproduce the upward-biased plug-in.)

    Parameters
    ----------
    X, Y : array_like, shapes (n, d) and (m, d)
        Samples of P and Q.
    witness : {"ctransform", "projection"} or callable, default "ctransform"
        ``"ctransform"``: the exact KR witness (``kind="mid"``) between the
        training samples.  ``"projection"``: the optimal 1-D witness along the
        best of the coordinate axes, the mean-difference direction (and its
        sign vector) and the max-sliced direction, scaled to be 1-Lipschitz.
        A callable ``f(Z) -> (k,)`` must be 1-Lipschitz for ``metric`` (the
        bound is only as honest as that); it is not fitted, so all the data
        is used for evaluation and ``split`` is ignored.
    metric, p
        A true metric.
    split : float, default 0.5
        Fraction of each sample used for fitting.
    alpha : float, default 0.05
    bound : {"clt", "hoeffding"}, default "clt"
        ``"clt"``: ``estimate - z_{1-alpha} se`` (asymptotic).
        ``"hoeffding"``: ``estimate - R sqrt(log(1/alpha) (1/n_x + 1/n_y) / 2)``
        with ``R`` the range of ``f`` over all the data points (at most their
        diameter, since ``f`` is 1-Lipschitz).  This is a finite-sample bound
        *assuming* that ``f`` stays within that range on the supports of P and
        Q, which holds when the samples span them (compact supports) and is
        an approximation for unbounded distributions.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    HeldoutEstimate

    Examples
    --------
    >>> import numpy as np
    >>> from emd.dual import w1_heldout_lower
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 1)); Y = rng.normal(size=(400, 1)) + 2.0
    >>> res = w1_heldout_lower(X, Y, seed=1)
    >>> res.lower < res.estimate, abs(res.estimate - 2.0) < 0.2
    (True, True)
    """
    x, y = _samples(X, Y)
    name, p_value = _true_metric(metric, p)
    alpha = _fraction(alpha, "alpha")
    bound = _choice(bound, "bound", ("clt", "hoeffding"))
    rng = np.random.default_rng(seed)
    if callable(witness):
        f = witness
        x_test, y_test, train_value = x, y, None
        n_train = (0, 0)
    else:
        witness = _choice(witness, "witness", ("ctransform", "projection"))
        split = _fraction(split, "split")
        x_train, x_test = _split(x, split, rng, "X")
        y_train, y_test = _split(y, split, rng, "Y")
        if witness == "ctransform":
            f = _fit_witness(
                x_train,
                y_train,
                np.full(x_train.shape[0], 1.0 / x_train.shape[0]),
                np.full(y_train.shape[0], 1.0 / y_train.shape[0]),
                name,
                p_value,
                "mid",
            )
        else:
            f = _fit_projection(x_train, y_train, name, p_value, rng)
        train_value = float(f.value)
        n_train = (x_train.shape[0], y_train.shape[0])
    fx = _critic_values(f, x_test, "witness")
    fy = _critic_values(f, y_test, "witness")
    est, se = _mean_difference(fx, fy)
    n_x, n_y = fx.size, fy.size
    range_bound = None
    if bound == "clt":
        lower = est - float(ndtri(1.0 - alpha)) * se
    else:
        seen = [fx, fy]
        if train_value is not None:
            seen += [f(x_train), f(y_train)]
        everything = np.concatenate(seen)
        range_bound = float(everything.max() - everything.min())
        lower = est - range_bound * math.sqrt(math.log(1.0 / alpha) * (1 / n_x + 1 / n_y) / 2)
    return HeldoutEstimate(
        est, se, lower, alpha, bound, f, train_value, n_train, (n_x, n_y), range_bound
    )


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class W1Bracket:
    """W1(P, Q) bracketed by a held-out lower confidence bound and the plug-in estimate.

    Attributes
    ----------
    lower : float
        Lower confidence bound (level ``1 - alpha``) from :func:`w1_heldout_lower`.
    upper : float
        The plug-in estimate: upward-biased in expectation, *not* a
        confidence bound (it can fall below W1 by sampling noise).
    estimate : float
        The bracket's midpoint, a point summary only.
    relative_width : float
        ``(upper - lower) / upper``.
    wide : bool
        ``relative_width`` above the threshold (a :class:`WideBracketWarning` was issued).
    heldout : HeldoutEstimate
    plugin : PluginEstimate
    """

    lower: float
    upper: float
    estimate: float
    relative_width: float
    wide: bool
    heldout: HeldoutEstimate
    plugin: PluginEstimate

    def __repr__(self) -> str:
        return (
            f"W1Bracket(lower={self.lower:.6g}, upper={self.upper:.6g}, "
            f"relative_width={self.relative_width:.3g}, wide={self.wide})"
        )


def w1_bracket(
    X: ArrayLike,
    Y: ArrayLike,
    *,
    metric: str = "euclidean",
    p: float | None = None,
    witness: str | Callable[[np.ndarray], np.ndarray] = "ctransform",
    split: float = 0.5,
    alpha: float = 0.05,
    bound: str = "clt",
    max_relative_width: float = 0.25,
    seed: Seed = None,
) -> W1Bracket:
    """Bracket W1(P, Q) between a held-out lower bound and the plug-in, and say when it is wide.

    In low dimension with enough samples both ends are close to W1.  In
    dimension ``d >= 3`` the plug-in carries a bias of order ``n^(-1/d)``
    (two samples of the same distribution are at distance of that order)
    while the held-out witness generalises poorly, so the bracket stays wide
    whatever ``n`` is practical: that is the curse of dimensionality of W1
    estimation, not a defect of either estimator.

    Parameters
    ----------
    X, Y, metric, p, witness, split, alpha, bound, seed
        As in :func:`w1_heldout_lower` (the plug-in uses all the data).
    max_relative_width : float, default 0.25
        Warn when ``(upper - lower) / upper`` exceeds this.

    Returns
    -------
    W1Bracket

    Warns
    -----
    WideBracketWarning
        When the relative width exceeds ``max_relative_width``.

    Examples
    --------
    >>> import numpy as np
    >>> from emd.dual import w1_bracket
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 1)); Y = rng.normal(size=(300, 1)) + 3.0
    >>> br = w1_bracket(X, Y, seed=0)
    >>> br.lower < br.upper, br.wide
    (True, False)
    """
    try:
        threshold = float(max_relative_width)
    except (TypeError, ValueError):
        raise TypeError(
            f"max_relative_width must be a number, got {max_relative_width!r}"
        ) from None
    if not threshold > 0:
        raise ValueError(f"max_relative_width must be positive, got {max_relative_width!r}")
    rng = np.random.default_rng(seed)
    held = w1_heldout_lower(
        X, Y, witness=witness, metric=metric, p=p, split=split, alpha=alpha, bound=bound, seed=rng
    )
    plug = w1_plugin(X, Y, metric=metric, p=p)
    lower, upper = held.lower, plug.estimate
    if upper > 0:
        width = max(0.0, upper - lower) / upper
    else:
        width = 0.0 if lower >= upper else math.inf
    wide = width > threshold
    if wide:
        dim = as_points(X, "X").shape[1]
        warnings.warn(
            f"W1 is only bracketed within [{lower:.4g}, {upper:.4g}] (relative width "
            f"{width:.2f} > {threshold:g}); in dimension {dim} the plug-in is biased upward "
            f"by O(n^(-1/{max(dim, 2)})) and the held-out witness is noisy: more samples, a "
            "lower-dimensional summary or a sliced distance may be needed",
            WideBracketWarning,
            stacklevel=2,
        )
    return W1Bracket(lower, upper, 0.5 * (lower + upper), width, wide, held, plug)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class PermutationTest:
    """A permutation test of ``P = Q``.

    Attributes
    ----------
    estimate : float
        The statistic on the observed split.
    p_value : float
        ``(1 + #{null >= estimate}) / (1 + n_perm)``: valid (never
        anti-conservative) at any ``n_perm``.
    null : ndarray, shape (n_perm,)
        The statistic on relabelled pooled samples.
    statistic : str
    """

    estimate: float
    p_value: float
    null: np.ndarray
    statistic: str

    def __repr__(self) -> str:
        return (
            f"PermutationTest(statistic={self.statistic!r}, estimate={self.estimate:.6g}, "
            f"p_value={self.p_value:.4g}, n_perm={self.null.size})"
        )


def permutation_test(
    X: ArrayLike,
    Y: ArrayLike,
    n_perm: int = 200,
    *,
    statistic: str | Callable[[np.ndarray, np.ndarray], float] = "w1",
    metric: str = "euclidean",
    p: float | None = None,
    n_projections: int = 50,
    seed: Seed = None,
) -> PermutationTest:
    """Permutation test of ``H0: P = Q`` with a Wasserstein statistic.

    Under ``H0`` the pooled sample is exchangeable, so relabelling it gives
    draws of the statistic's null law, and the p-value with the +1
    correction is exactly valid (``P(p <= t) <= t``) for any ``n_perm``.

    Parameters
    ----------
    X, Y : array_like, shapes (n, d) and (m, d)
    n_perm : int, default 200
    statistic : {"w1", "sliced"} or callable, default "w1"
        ``"w1"``: the plug-in distance under ``metric``.  ``"sliced"``: sliced
        W1 with ``n_projections`` directions drawn once and reused for every
        relabelling.  A callable ``T(X, Y) -> float``, large against ``H0``.
    metric, p
        For ``"w1"``.
    n_projections : int, default 50
        For ``"sliced"``.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    PermutationTest

    Examples
    --------
    >>> import numpy as np
    >>> from emd.dual import permutation_test
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(30, 2)); Y = rng.normal(size=(30, 2)) + 2.0
    >>> permutation_test(X, Y, n_perm=99, seed=0).p_value
    0.01
    """
    x, y = _samples(X, Y)
    n_perm = as_positive_int(n_perm, "n_perm")
    rng = np.random.default_rng(seed)
    if callable(statistic):
        stat, label = statistic, getattr(statistic, "__name__", "callable")
    else:
        label = _choice(statistic, "statistic", ("w1", "sliced"))
        if label == "w1":
            name, p_value = _true_metric(metric, p)

            def stat(u, v):
                return _w1_samples(u, v, name, p_value)
        else:
            dirs = _random_directions(x.shape[1], as_positive_int(n_projections, "n_projections"),
                                      rng)

            def stat(u, v):
                return float(np.mean([_w1_along(u, v, theta) for theta in dirs]))

    observed = float(stat(x, y))
    pooled = np.vstack([x, y])
    n_x = x.shape[0]
    null = np.empty(n_perm)
    for r in range(n_perm):
        perm = rng.permutation(pooled.shape[0])
        null[r] = float(stat(pooled[perm[:n_x]], pooled[perm[n_x:]]))
    # Relabellings that reproduce the observed split give the same value up
    # to summation order; count them as ties, not as smaller.
    tie = 1e-12 * abs(observed)
    p_value = (1 + int(np.count_nonzero(null >= observed - tie))) / (1 + n_perm)
    return PermutationTest(observed, p_value, null, label)


# --------------------------------------------------------------------------- WGAN critics
#
# The critic is f(z) = w . h_L + c with h_l = tanh(h_{l-1} W_l + c_l), h_0 = z.
# Parameters are a flat list [W_1, c_1, ..., W_L, c_L, w, c].  tanh keeps the
# input gradient differentiable, which the gradient penalty needs.


def _mlp_init(dim: int, hidden: tuple[int, ...], rng: np.random.Generator) -> list[np.ndarray]:
    params = []
    fan_in = dim
    for width in hidden:
        params.append(rng.standard_normal((fan_in, width)) / math.sqrt(fan_in))
        params.append(np.zeros(width))
        fan_in = width
    params.append(rng.standard_normal(fan_in) / math.sqrt(fan_in))
    params.append(np.zeros(1))
    return params


def _mlp_forward(params, z):
    """Outputs ``f`` (B,), layer inputs ``h_{l-1}`` and activations ``t_l = tanh(a_l)``."""
    n_layers = (len(params) - 2) // 2
    inputs, acts = [], []
    h = z
    for layer in range(n_layers):
        inputs.append(h)
        h = np.tanh(h @ params[2 * layer] + params[2 * layer + 1])
        acts.append(h)
    return h @ params[-2] + params[-1][0], inputs, acts


def _mlp_output_grad(params, z, coef):
    """``sum_b coef_b f(z_b)`` and its gradient with respect to every parameter."""
    f, inputs, acts = _mlp_forward(params, z)
    n_layers = len(acts)
    grads: list[Any] = [None] * len(params)
    grads[-2] = acts[-1].T @ coef
    grads[-1] = np.array([coef.sum()])
    h_bar = np.outer(coef, params[-2])
    for layer in reversed(range(n_layers)):
        a_bar = h_bar * (1.0 - acts[layer] ** 2)
        grads[2 * layer] = inputs[layer].T @ a_bar
        grads[2 * layer + 1] = a_bar.sum(axis=0)
        h_bar = a_bar @ params[2 * layer].T
    return float(coef @ f), grads


def _mlp_input_grad(params, z):
    """``grad_z f`` (B, d) by backpropagation, with the intermediates the penalty needs."""
    _, inputs, acts = _mlp_forward(params, z)
    n_layers = len(acts)
    slopes = [1.0 - t**2 for t in acts]  # tanh'(a_l)
    e = np.broadcast_to(params[-2], acts[-1].shape)
    outer, deltas = [None] * n_layers, [None] * n_layers
    for layer in reversed(range(n_layers)):
        outer[layer] = e  # d f / d h_l
        deltas[layer] = e * slopes[layer]  # d f / d a_l
        e = deltas[layer] @ params[2 * layer].T  # d f / d h_{l-1}
    return e, inputs, acts, slopes, outer, deltas


def _gp_penalty(params, z, weight, one_sided=False):
    r"""Gradient penalty ``weight * mean_b r_b^2`` and its parameter gradient.

    ``r_b = |grad_z f(z_b)| - 1`` (two-sided, Gulrajani et al.) or its
    positive part (one-sided, Petzka et al., 2018).

    Hand-derived double backpropagation.  The input gradient is computed by
    the backward recursion ``e_L = w``, ``delta_l = e_l * s_l`` with
    ``s_l = tanh'(a_l) = 1 - t_l^2``, ``e_{l-1} = delta_l W_l^T``, ``g = e_0``.
    Reversing it: with ``bar`` denoting derivatives of the penalty,

    * ``g_bar = weight * 2/B * r g / |g|``, ``e_bar_0 = g_bar``;
    * for l = 1..L: ``W_bar_l += e_bar_{l-1}^T delta_l``,
      ``delta_bar_l = e_bar_{l-1} W_l``, ``s_bar_l = delta_bar_l * e_l``,
      ``e_bar_l = delta_bar_l * s_l``; finally ``w_bar = sum_b e_bar_L``;
    * then through the forward pass from l = L down to 1, with
      ``ds/da = -2 t s`` and ``h_bar_L = 0`` (the penalty does not use ``f``):
      ``a_bar_l = s_bar_l * (-2 t_l s_l) + h_bar_l * s_l``,
      ``W_bar_l += h_{l-1}^T a_bar_l``, ``c_bar_l = sum_b a_bar_l``,
      ``h_bar_{l-1} = a_bar_l W_l^T``.
    """
    g, inputs, acts, slopes, outer, deltas = _mlp_input_grad(params, z)
    n_layers = len(acts)
    batch = z.shape[0]
    norm = np.linalg.norm(g, axis=1)
    excess = norm - 1.0
    if one_sided:
        excess = np.maximum(excess, 0.0)
    penalty = weight * float(np.mean(excess**2))
    safe = np.where(norm > 0, norm, 1.0)
    coef = np.where(norm > 0, weight * 2.0 / batch * excess / safe, 0.0)
    e_bar = coef[:, None] * g
    grads = [np.zeros_like(param) for param in params]
    s_bars = [None] * n_layers
    for layer in range(n_layers):
        w_mat = params[2 * layer]
        grads[2 * layer] += e_bar.T @ deltas[layer]
        delta_bar = e_bar @ w_mat
        s_bars[layer] = delta_bar * outer[layer]
        e_bar = delta_bar * slopes[layer]
    grads[-2] += e_bar.sum(axis=0)
    h_bar = np.zeros_like(acts[-1])
    for layer in reversed(range(n_layers)):
        t, s = acts[layer], slopes[layer]
        a_bar = s_bars[layer] * (-2.0 * t * s) + h_bar * s
        grads[2 * layer] += inputs[layer].T @ a_bar
        grads[2 * layer + 1] += a_bar.sum(axis=0)
        h_bar = a_bar @ params[2 * layer].T
    return penalty, grads


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TrainedCritic:
    """A WGAN critic: a small tanh MLP trained to maximise ``E_P f - E_Q f``.

    ``f(z) = scale * net((z - center) / scale)``: an isotropic rescaling of
    the input undone on the output leaves every Lipschitz constant (and the
    input gradient) unchanged, so the network trains on unit-scale data.

    Attributes
    ----------
    estimate : float
        ``mean f(X_test) - mean f(Y_test)`` on the held-out data.
    se : float
        Its standard error.
    train_estimate : float
        The same on the training data.
    method : {"clip", "gp"}
    center : ndarray, shape (d,)
    scale : float
    params : tuple of ndarray
        ``(W_1, c_1, ..., W_L, c_L, w, c)``.
    history : ndarray
        The critic objective ``mean f(X) - mean f(Y)`` on training batches,
        every tenth step.
    """

    estimate: float
    se: float
    train_estimate: float
    method: str
    center: np.ndarray
    scale: float
    params: tuple[np.ndarray, ...]
    history: np.ndarray

    def __call__(self, z: ArrayLike) -> np.ndarray:
        """Evaluate the critic at points of shape (k, d)."""
        pts = _eval_points(z, self.center.size)
        f, _, _ = _mlp_forward(list(self.params), (pts - self.center) / self.scale)
        return self.scale * f

    def __repr__(self) -> str:
        return (
            f"TrainedCritic(method={self.method!r}, estimate={self.estimate:.6g}, "
            f"se={self.se:.3g}, hidden={tuple(w.shape[1] for w in self.params[:-2:2])})"
        )


def train_critic(
    X: ArrayLike,
    Y: ArrayLike,
    method: str = "gp",
    *,
    hidden: int | tuple[int, ...] = (32, 32),
    steps: int = 2000,
    lr: float = 2e-3,
    batch_size: int = 128,
    clip: float = 0.01,
    gp_weight: float = 10.0,
    one_sided: bool = False,
    split: float = 0.5,
    seed: Seed = None,
) -> TrainedCritic:
    """Train a WGAN-style critic and estimate W1 as ``E_P f - E_Q f`` on held-out data.

    For comparison with the exact methods only.  Trained critics are **not**
    reliable W1 estimators:

    * weight clipping (Arjovsky, Chintala and Bottou, 2017) bounds the
      Lipschitz constant by an unknown factor that depends on the clip value
      and the architecture, so the estimate is W1 times an unknown scale
      (with the default ``clip=0.01``, typically far below W1);
    * the gradient penalty (Gulrajani et al., 2017) pushes
      ``|grad f| -> 1`` only softly and only on random interpolates of
      training pairs, so ``f`` can be steeper elsewhere, and the estimate
      can land above or below W1;
    * training is non-convex and stops after ``steps``.  In one dimension
      the two-sided penalty even traps the critic: turning a slope of ``+1``
      into the optimal ``-1`` must pass through slope 0, which costs
      ``gp_weight`` per unit of penalty mass, so a critic that starts with
      the wrong sign stays at an estimate near ``-W1`` (about half of the
      random initialisations).  The one-sided penalty ``max(0, |grad f| - 1)^2``
      (``one_sided=True``) has no such barrier.

    Use :func:`kr_witness` (exact) or :func:`w1_heldout_lower` (a guaranteed
    lower bound), and :func:`audit_critic` to check a critic.

    Parameters
    ----------
    X, Y : array_like, shapes (n, d) and (m, d)
        Samples of P and Q.
    method : {"clip", "gp"}, default "gp"
    hidden : int or tuple of int, default (32, 32)
        Widths of the tanh hidden layers (one or two are typical).
    steps : int, default 2000
        Adam steps (beta1 = 0.5, beta2 = 0.9).
    lr : float, default 2e-3
    batch_size : int, default 128
    clip : float, default 0.01
        Weight-clipping bound (``method="clip"``).
    gp_weight : float, default 10
        Penalty weight lambda (``method="gp"``).
    one_sided : bool, default False
        Penalise only gradients steeper than 1 (``method="gp"``).
    split : float, default 0.5
        Fraction of each sample used for training.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    TrainedCritic

    Examples
    --------
    >>> import numpy as np
    >>> from emd.dual import train_critic
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)); Y = rng.normal(size=(200, 2)) + [2.0, 0.0]
    >>> critic = train_critic(X, Y, "gp", hidden=16, steps=300, seed=0)
    >>> critic.method, 1.0 < critic.estimate < 3.0
    ('gp', True)
    """
    x, y = _samples(X, Y)
    method = _choice(method, "method", ("clip", "gp"))
    widths = (hidden,) if isinstance(hidden, int | np.integer) else tuple(hidden)
    if not widths:
        raise ValueError("hidden must list at least one layer width")
    widths = tuple(as_positive_int(w, "hidden") for w in widths)
    steps = as_positive_int(steps, "steps")
    batch_size = as_positive_int(batch_size, "batch_size")
    for name, value in (("lr", lr), ("clip", clip), ("gp_weight", gp_weight)):
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    split = _fraction(split, "split")
    rng = np.random.default_rng(seed)
    x_train, x_test = _split(x, split, rng, "X")
    y_train, y_test = _split(y, split, rng, "Y")

    pooled = np.vstack([x_train, y_train])
    center = pooled.mean(axis=0)
    scale = float(np.sqrt(np.mean(np.sum((pooled - center) ** 2, axis=1)))) or 1.0
    xn, yn = (x_train - center) / scale, (y_train - center) / scale
    params = _mlp_init(x.shape[1], widths, rng)
    if method == "clip":
        params = [np.clip(param, -clip, clip) for param in params]
    m1 = [np.zeros_like(param) for param in params]
    m2 = [np.zeros_like(param) for param in params]
    beta1, beta2, tiny = 0.5, 0.9, 1e-8
    bx, by = min(batch_size, xn.shape[0]), min(batch_size, yn.shape[0])
    coef = np.concatenate([np.full(bx, -1.0 / bx), np.full(by, 1.0 / by)])
    history = []
    for step in range(1, steps + 1):
        xb = xn[rng.integers(xn.shape[0], size=bx)]
        yb = yn[rng.integers(yn.shape[0], size=by)]
        # Loss = mean f(Y) - mean f(X): minimising it maximises the KR objective.
        loss, grads = _mlp_output_grad(params, np.vstack([xb, yb]), coef)
        if method == "gp":
            k = min(bx, by)
            t = rng.random((k, 1))
            _, pgrads = _gp_penalty(params, t * xb[:k] + (1 - t) * yb[:k], gp_weight, one_sided)
            grads = [g + pg for g, pg in zip(grads, pgrads, strict=True)]
        for i, g in enumerate(grads):
            m1[i] = beta1 * m1[i] + (1 - beta1) * g
            m2[i] = beta2 * m2[i] + (1 - beta2) * g * g
            step_size = lr * math.sqrt(1 - beta2**step) / (1 - beta1**step)
            params[i] = params[i] - step_size * m1[i] / (np.sqrt(m2[i]) + tiny)
            if method == "clip":
                np.clip(params[i], -clip, clip, out=params[i])
        if step % 10 == 0:
            history.append(-loss * scale)
    frozen = tuple(params)
    critic = TrainedCritic(0.0, 0.0, 0.0, method, center, scale, frozen, np.array(history))
    est, se = _mean_difference(critic(x_test), critic(y_test))
    train_est, _ = _mean_difference(critic(x_train), critic(y_train))
    return TrainedCritic(est, se, train_est, method, center, scale, frozen, np.array(history))


def _critic_values(f: Callable, z: np.ndarray, name: str = "f") -> np.ndarray:
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


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class CriticAudit:
    """How far a critic is from a valid (1-Lipschitz) Kantorovich-Rubinstein witness.

    Attributes
    ----------
    lipschitz_ratio : float
        Largest ``|f(z) - f(w)| / d(z, w)`` found (a lower bound on the
        Lipschitz constant).
    estimate : float
        ``mean f(X) - mean f(Y)``.
    se : float
        Its standard error.
    plugin : float
        The plug-in W1 of ``X`` and ``Y``.
    flagged : bool
        Whether any of ``reasons`` applies.
    reasons : tuple of str
    n_pairs : int
    """

    lipschitz_ratio: float
    estimate: float
    se: float
    plugin: float
    flagged: bool
    reasons: tuple[str, ...]
    n_pairs: int

    def __repr__(self) -> str:
        return (
            f"CriticAudit(lipschitz_ratio={self.lipschitz_ratio:.4g}, "
            f"estimate={self.estimate:.6g}, plugin={self.plugin:.6g}, flagged={self.flagged})"
        )


def audit_critic(
    f: Callable[[np.ndarray], np.ndarray],
    X: ArrayLike,
    Y: ArrayLike,
    *,
    n_pairs: int = 3000,
    metric: str = "euclidean",
    p: float | None = None,
    tol: float = 1e-6,
    n_se: float = 1.0,
    plugin: float | None = None,
    seed: Seed = None,
) -> CriticAudit:
    """Check a critic against the two properties a W1 witness must have.

    1. *1-Lipschitz*: the largest ``|f(z) - f(w)| / d(z, w)`` over three
       kinds of pairs (a third each): random pairs of data points (global
       slope), nearby points on segments from an ``X`` point to a ``Y``
       point (the slope along transport directions), and each of random data
       points with a small random displacement (local slope).  Flagged above
       ``1 + tol``.
    2. *No more than W1*: any 1-Lipschitz ``f`` has
       ``mean f(X) - mean f(Y) <= W1(X, Y)`` (the plug-in), deterministically
       on the same data.  Flagged when the estimate exceeds the plug-in by
       more than ``n_se`` standard errors (the allowance covers a critic whose
       value is quoted from other data).

    Passing the audit does not prove the critic 1-Lipschitz (only sampled
    pairs are checked) nor that it is near optimal.

    Parameters
    ----------
    f : callable
        Maps points of shape (k, d) to values of shape (k,).
    X, Y : array_like, shapes (n, d) and (m, d)
    n_pairs : int, default 3000
    metric, p
        The metric the critic should be 1-Lipschitz for.
    tol : float, default 1e-6
    n_se : float, default 1
    plugin : float, optional
        The plug-in W1 if already known (skips solving).
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    CriticAudit

    Examples
    --------
    >>> import numpy as np
    >>> from emd.dual import audit_critic, kr_witness
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 2)); Y = rng.normal(size=(50, 2)) + 1.0
    >>> f = kr_witness(X, Y)
    >>> audit_critic(f, X, Y, seed=0).flagged
    False
    >>> audit = audit_critic(lambda z: 2 * f(z), X, Y, seed=0)
    >>> audit.flagged, round(audit.lipschitz_ratio, 6)
    (True, 2.0)
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    x, y = _samples(X, Y)
    name, p_value = _true_metric(metric, p)
    n_pairs = as_positive_int(n_pairs, "n_pairs", minimum=3)
    for label, value in (("tol", tol), ("n_se", n_se)):
        if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
            raise ValueError(f"{label} must be a nonnegative finite number, got {value!r}")
    rng = np.random.default_rng(seed)
    pooled = np.vstack([x, y])
    n_all, dim = pooled.shape
    k = n_pairs // 3
    spread = float(np.median(np.linalg.norm(pooled - pooled.mean(axis=0), axis=1))) or 1.0

    i, j = rng.integers(n_all, size=k), rng.integers(n_all, size=k)
    z1, w1 = pooled[i], pooled[j]
    xi, yj = x[rng.integers(x.shape[0], size=k)], y[rng.integers(y.shape[0], size=k)]
    t = rng.random((k, 1))
    step = 1e-3
    z2, w2 = xi + t * (yj - xi), xi + (t + step) * (yj - xi)
    k3 = n_pairs - 2 * k
    z3 = pooled[rng.integers(n_all, size=k3)]
    direction = _random_directions(dim, k3, rng)
    w3 = z3 + 1e-3 * spread * direction
    z = np.ascontiguousarray(np.vstack([z1, z2, z3]))
    w = np.ascontiguousarray(np.vstack([w1, w2, w3]))
    idx = np.arange(z.shape[0])
    dist = _pair_distances(z, w, _costs.METRIC_CODES[name], p_value, idx, idx)
    fz, fw = _critic_values(f, z), _critic_values(f, w)
    ratio = _ratio(fz - fw, dist, 0.0)

    est, se = _mean_difference(_critic_values(f, x), _critic_values(f, y))
    plug = _w1_samples(x, y, name, p_value) if plugin is None else float(plugin)
    reasons = []
    if ratio > 1.0 + tol:
        reasons.append(f"Lipschitz ratio {ratio:.4g} exceeds 1: not a valid KR witness")
    if est > plug + n_se * se:
        reasons.append(
            f"estimate {est:.6g} exceeds the plug-in W1 {plug:.6g} by more than "
            f"{n_se:g} standard error(s) ({se:.3g}): impossible for a 1-Lipschitz critic"
        )
    return CriticAudit(ratio, est, se, plug, bool(reasons), tuple(reasons), int(dist.size))
