"""The exact Kantorovich-Rubinstein witness: :func:`kr_witness`, :class:`Witness`.

From the dual potentials of an optimal transport, the McShane (upper) and
Whitney (lower) extensions give functions that are 1-Lipschitz on the whole
space and attain W1 on the data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from emd._certify import exact_dot
from emd._engine import PointCosts
from emd._result import TransportResult
from emd._validation import balance, check_metric, input_eps, optional_weights
from emd.dual._checks import _choice, _eval_points, _samples, _solved_points, _true_metric
from emd.structured._onedim import solve_1d
from emd.transport import solve_points_validated
from emd.unbalanced import UNBALANCED, check_keywords
from emd.unbalanced import solve_points as solve_points_unbalanced

_KINDS = ("upper", "lower", "mid")
_RESULT_OR_POINTS = "pass either a TransportResult or point sets x, y (with a, b), not both"


def _c_transform(z: np.ndarray, anchors: np.ndarray, pots: np.ndarray, metric: str, p: float):
    """``min_j d(z_k, anchors_j) - pots_j`` for every ``z_k``.

    The engine's compiled loop needs C-contiguous float64 and keeps O(1) extra memory.
    """
    z = np.ascontiguousarray(z, dtype=np.float64)
    anchors = np.ascontiguousarray(anchors, dtype=np.float64)
    pots = np.ascontiguousarray(pots, dtype=np.float64)
    return PointCosts(z, anchors, metric, p).c_transform(z, anchors, pots)


def _evaluate(kind, support, pots, n_lower, metric, p, z, bound=math.inf) -> np.ndarray:
    if kind == "upper":
        return _clip(_c_transform(z, support, pots, metric, p), bound)
    lower = _clip(-_c_transform(z, support[:n_lower], pots[:n_lower], metric, p), bound)
    if kind == "lower":
        return lower
    upper = _clip(_c_transform(z, support[n_lower:], pots[n_lower:], metric, p), bound)
    return 0.5 * (upper + lower)


def _clip(values: np.ndarray, bound: float) -> np.ndarray:
    # Clipping to [-bound, bound] is a 1-Lipschitz map: f stays 1-Lipschitz.
    return values if bound == math.inf else np.clip(values, -bound, bound)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Witness:
    r"""An exact Kantorovich-Rubinstein witness: 1-Lipschitz everywhere, optimal on the data.

    Built from dual potentials ``(u, v)`` of an optimal transport from
    ``(x, a)`` to ``(y, b)`` (``u_i + v_j <= d(x_i, y_j)``,
    ``sum(a u) + sum(b v) = W1``) by extension from the points with mass:

    * ``"upper"``: :math:`f(z) = \min_{j: b_j > 0} d(z, y_j) - v_j` (McShane),
    * ``"lower"``: :math:`f(z) = \max_{i: a_i > 0} u_i - d(z, x_i)` (Whitney),
    * ``"mid"``: their average.

    For unbalanced W1 (``kr_witness(..., unbalanced=lam)``) each is clipped to
    ``[-lam, lam]`` (:attr:`bound`): the bounded-Lipschitz witness, with
    ``sum(a f(x)) - sum(b f(y))`` equal to the unbalanced cost (see
    :func:`kr_witness`).

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
    bound : float
        ``|f| <= bound`` everywhere: ``lam`` for unbalanced W1, ``inf`` for W1.
    """

    kind: str
    metric: str
    p: float
    support: np.ndarray
    potentials: np.ndarray
    value: float
    _n_lower: int = field(default=0, repr=False)
    bound: float = math.inf

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
        return _evaluate(
            self.kind, self.support, self.potentials, self._n_lower, self.metric, self.p, pts,
            self.bound,
        )

    def __repr__(self) -> str:
        bounded = "" if self.bound == math.inf else f", bound={self.bound:.12g}"
        return (
            f"Witness(kind={self.kind!r}, metric={self.metric!r}, value={self.value:.12g}, "
            f"n_anchors={self.support.shape[0]}, dim={self.dim}{bounded})"
        )


def _make_witness(x, y, a, b, u, v, metric, p, kind, bound=math.inf) -> Witness:
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
    fx = _evaluate(kind, support, pots, n_lower, metric, p, np.ascontiguousarray(xa), bound)
    fy = _evaluate(kind, support, pots, n_lower, metric, p, np.ascontiguousarray(ya), bound)
    # Exact products and one correct rounding: the value is within u of itself.
    value, _ = exact_dot((a[keep_x], fx), (-b[keep_y], fy))
    support.flags.writeable = False
    pots.flags.writeable = False
    return Witness(kind, metric, p, support, pots, value, n_lower, bound)


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
    source = _solved_points(result)
    if source is None:
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
    unbalanced: float | None = None,
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
        Weights, uniform when omitted.  Moved as given: equal totals, by the
        tolerance of "Total masses" in :mod:`emd`, unless ``normalize``.
    metric : {"euclidean", "cityblock", "chebyshev", "minkowski"}, optional
        Default ``"euclidean"``.  ``"sqeuclidean"`` is rejected: duality
        with 1-Lipschitz functions needs a metric.
    p : float, optional
        Minkowski exponent (``metric="minkowski"`` only).
    kind : {"upper", "lower", "mid"}, default "upper"
        Which extension of the potentials; see :class:`Witness`.
    normalize : bool, default False
        Rescale both weight vectors to total mass 1.
    unbalanced : float, optional
        The price ``lam`` per unit created or destroyed (see
        :mod:`emd.unbalanced`; totals may differ, not with ``normalize``): the
        witness of the bounded-Lipschitz dual, 1-Lipschitz with ``|f| <= lam``
        everywhere and ``sum(a f(x)) - sum(b f(y))`` equal to the unbalanced
        cost.

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

    With ``unbalanced=lam`` the potentials of the dummy-bin problem solved by
    :func:`emd.solve_points` are shifted by the dummies' own: ``u_i + v_D`` and
    ``v_j + u_D`` are at most ``lam`` (the arcs to and from the dummies) and
    their sums are at most the costs (the dummy pair costs 0), so the extension
    of ``u`` and ``-v`` clipped to ``[-lam, lam]`` is feasible for the
    bounded-Lipschitz dual, and it attains the unbalanced cost: the dummy pair
    carries mass, so ``u_D + v_D = 0`` and the shift leaves the dual value
    unchanged.

    Examples
    --------
    >>> from emd.dual import kr_witness
    >>> f = kr_witness([[0.0, 0.0], [1.0, 0.0]], [[0.0, 3.0], [1.0, 3.0]], kind="mid")
    >>> f
    Witness(kind='mid', metric='euclidean', value=3, n_anchors=4, dim=2)
    >>> float(f([0.0, 0.0])[0] - f([0.0, 3.0])[0])
    3.0

    Unequal masses: a unit at 0 against two units at 3, at price 1 per unit
    created or destroyed.  Destroying the unit and creating both (1 + 2) costs
    less than moving it (3 + 1):

    >>> g = kr_witness([0.0], [3.0], [1.0], [2.0], unbalanced=1.0)
    >>> g.value, g.bound, g([0.0, 1.5, 3.0])
    (3.0, 1.0, array([ 1. ,  0.5, -1. ]))
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
    if unbalanced is not None:
        _, lam = check_keywords(None, unbalanced, normalize)
        return _fit_bounded_witness(xs, ys, a_arr, b_arr, name, p_value, kind, lam)
    a_arr, b_arr = balance(a_arr, b_arr, normalize, eps=input_eps(a, b))
    return _fit_witness(xs, ys, a_arr, b_arr, name, p_value, kind)


def _fit_bounded_witness(x, y, a, b, metric, p, kind, lam) -> Witness:
    """:func:`kr_witness` with ``unbalanced=lam`` on validated inputs."""
    result = solve_points_unbalanced(x, y, a, b, metric, p, UNBALANCED, lam, None, 1)
    if result.status != "optimal":
        raise RuntimeError(f"the transport solver stopped with status {result.status!r}")
    u, v = shifted_potentials(result)
    return _make_witness(x, y, a, b, u, v, metric, p, kind, bound=lam)


def shifted_potentials(result) -> tuple[np.ndarray, np.ndarray]:
    """``(u_i + v_D, v_j + u_D)`` on the real bins of a dense or point unbalanced result:
    the potentials of the dummy-bin problem shifted by the first dummy target's (``v_D``)
    and source's (``u_D``) own (see :func:`kr_witness`).  Zeros when nothing was solved
    (``lam = 0``: destroying everything is free, and ``f = 0`` is optimal)."""
    n, m = np.size(result.destroyed), np.size(result.created)
    reduced = result.reduced
    if reduced is None:
        return np.zeros(n), np.zeros(m)
    return reduced.u[:n] + reduced.v[m], reduced.v[:m] + reduced.u[n]


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
