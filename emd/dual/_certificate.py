"""The certificate of a dual: :func:`certify` and :class:`DualCertificate`.

The transport plan's own :class:`emd.Certificate` (primal cost, dual value,
dual violation, slackness, marginals) is kept whole; on top of it the KR
witness built from the potentials is checked for its value and for its
Lipschitz ratio on data points and random probes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from emd._engine import PointCosts
from emd._result import DEFAULT_RTOL, Certificate, TransportResult
from emd._validation import (
    as_positive_int,
    balance,
    check_metric,
    input_eps,
    optional_weights,
)
from emd.dual._checks import _EPS, Seed, _samples, _solved_points, _true_metric
from emd.dual._witness import _RESULT_OR_POINTS, witness_from_result
from emd.transport import solve_points_validated


def _from_transport(name: str) -> property:
    def read(self: DualCertificate):
        return getattr(self.transport, name)

    return property(read, doc=f"``transport.{name}``: see :class:`emd.Certificate`.")


@dataclass(frozen=True, slots=True, repr=False)
class DualCertificate:
    """Evidence that a transport cost is W1, from the primal, the dual and the KR witness.

    The LP figures are those of :attr:`transport`, the plan's own
    :class:`emd.Certificate`, read through unchanged: ``cost``,
    ``dual_value``, ``gap``, ``max_dual_violation``, ``marginal_error``,
    ``unrouted``, ``mass``, ``bound`` and ``relative_gap`` (see
    :class:`emd.Certificate` for what each one bounds).  This class adds what
    the witness shows.

    Attributes
    ----------
    transport : emd.Certificate
        ``result.certificate()`` of the transport problem that was solved.
    kr_value : float
        ``sum(a f(x)) - sum(b f(y))`` for the witness ``f``.
    lipschitz_ratio : float
        Largest ``(|f(z) - f(w)| - r) / d(z, w)`` over the pairs checked, where
        ``r`` is a rounding allowance of a few ulps of the values of ``f`` and
        of the diameter of the data.
    n_pairs : int
        Number of pairs checked.
    kind : str
        Witness extension checked.
    status : str
        Solver status.
    """

    transport: Certificate
    kr_value: float
    lipschitz_ratio: float
    n_pairs: int
    kind: str
    status: str

    cost = _from_transport("cost")
    dual_value = _from_transport("dual_value")
    gap = _from_transport("gap")
    max_dual_violation = _from_transport("max_dual_violation")
    marginal_error = _from_transport("marginal_error")
    unrouted = _from_transport("unrouted")
    mass = _from_transport("mass")
    bound = _from_transport("bound")
    relative_gap = _from_transport("relative_gap")

    @property
    def relative_kr_error(self) -> float:
        """``|kr_value - cost|`` beyond what the transport certificate's :attr:`bound` and
        the two roundings (each value is within u of itself: exact products, one
        correct rounding) allow, relative to ``|cost|``.

        The one figure computed here rather than read from :attr:`transport`.
        """
        t = self.transport
        slack = t.bound + 2.0**-52 * (abs(self.kr_value) + abs(t.cost))
        excess = max(0.0, abs(self.kr_value - t.cost) - slack)
        if excess == 0.0:
            return 0.0
        return excess / abs(t.cost) if t.cost != 0.0 else math.inf

    def optimal(self, rtol: float = DEFAULT_RTOL) -> bool:
        """True when the solver finished, :attr:`transport` is optimal to ``rtol``, the
        KR value matches the cost to ``rtol`` and the Lipschitz ratio is within ``1 + rtol``."""
        return bool(
            self.status == "optimal"
            and self.transport.optimal(rtol)
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


def _diameter_bound(points: np.ndarray, p: float) -> float:
    """Bounding-box diagonal under the Minkowski-p norm: at least every pairwise distance."""
    span = points.max(axis=0) - points.min(axis=0)
    return float(np.linalg.norm(span, ord=p))


def _lipschitz_ratio(df: np.ndarray, dist: np.ndarray, allowance: float) -> float:
    """Largest ``(|df| - allowance) / dist``; a difference beyond rounding at distance 0 is inf."""
    excess = np.abs(df) - allowance
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(dist > 0, excess / np.where(dist > 0, dist, 1.0),
                         np.where(excess > 0, np.inf, 0.0))
    return max(0.0, float(ratio.max())) if ratio.size else 0.0


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
    normalize: bool = False,
) -> DualCertificate:
    """Certify a W1 computation from both sides: LP optimality and the KR witness.

    Solves the problem (or takes ``result``), recomputes the primal cost,
    the dual value, the largest dual violation over all pairs, the
    complementary slackness and the marginals (via
    :meth:`emd.TransportResult.certificate`), builds the witness and measures its
    KR value and its empirical Lipschitz ratio over all pairs of data points
    (a random 250 000 of them beyond ~700 points) and ``n_probes`` random
    probes: points of the bounding box and points on segments between a
    source and a target point, each paired with data points and other probes.

    Parameters
    ----------
    x, y, a, b, metric, p
        As in :func:`kr_witness` (masses moved as given: equal totals, by the
        tolerance of "Total masses" in :mod:`emd`); ``x`` may be a
        TransportResult instead.
    result : TransportResult, optional
        A solution for these points (its coordinates must equal ``x``, ``y``).
    kind : {"upper", "lower", "mid"}, default "upper"
        Witness extension to check.
    n_probes : int, default 1000
        Random probe points.
    seed : int or numpy.random.Generator, optional
    normalize : bool, default False
        Rescale both weight vectors to total mass 1, as in :func:`kr_witness`
        (with ``result``: the given ``a``, ``b`` are compared with its weights
        after that rescaling).

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
        source = _solved_points(result)
        if (
            source is None
            or not np.array_equal(xs, source.x)
            or not np.array_equal(ys, source.y)
        ):
            raise ValueError("result was not solved for these points x, y")
        for name, given, kept in (("a", a, result.a), ("b", b, result.b)):
            if given is None:
                continue
            given = optional_weights(given, name, kept.size)
            if normalize:
                given = given / math.fsum(given)
            # The solver may have balanced the totals exactly, moving a few units in
            # the last place: that is the same problem, anything more is not.
            if not np.allclose(given, kept, rtol=0.0, atol=1e-12 * float(kept.sum())):
                raise ValueError(f"{name} differs from the weights result was solved with")
    else:
        if y is None:
            raise ValueError("y is required when x is a point set")
        xs, ys = _samples(x, y, ("x", "y"))
        name, p_value = _true_metric("euclidean" if metric is None else metric, p)
        a_arr = optional_weights(a, "a", xs.shape[0])
        b_arr = optional_weights(b, "b", ys.shape[0])
        a_arr, b_arr = balance(a_arr, b_arr, normalize, eps=input_eps(a, b))
        result = solve_points_validated(xs, ys, a_arr, b_arr, name, p_value, None)
    n_probes = as_positive_int(n_probes, "n_probes", minimum=0)
    witness = witness_from_result(result, kind=kind)
    if metric is not None and check_metric(metric, p)[0] != witness.metric:
        raise ValueError(f"metric={metric!r} differs from the result's metric {witness.metric!r}")
    base = result.certificate()
    source = _solved_points(result)
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
    dist = PointCosts(points, points, witness.metric, witness.p).arc_costs(i, j)
    # Each value is a min of (distance - potential), exact to a few ulps of
    # the magnitudes involved; differences below that are noise, not slope.
    allowance = 4.0 * (data.shape[1] + 4) * _EPS * (float(np.abs(values).max()) + diameter)
    ratio = _lipschitz_ratio(values[i] - values[j], dist, allowance)

    return DualCertificate(
        transport=base,
        kr_value=witness.value,
        lipschitz_ratio=ratio,
        n_pairs=int(i.size),
        kind=witness.kind,
        status=result.status,
    )
