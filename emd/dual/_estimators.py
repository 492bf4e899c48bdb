"""Estimators of W1(P, Q) from samples, each with what it bounds.

The plug-in (exact W1 between the empirical measures, biased upward), the
held-out lower confidence bound (a witness fitted on one half, evaluated on
the other), and the bracket of the two.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from emd._validation import as_points, as_positive_int
from emd.dual._checks import (
    Seed,
    _choice,
    _critic_values,
    _fraction,
    _samples,
    _split,
    _true_metric,
)
from emd.dual._sliced import ProjectionWitness, _projection_witness, _w1_along, max_sliced_w1
from emd.dual._witness import _fit_witness
from emd.structured._onedim import wasserstein_1d
from emd.transport import solve_points_validated


class WideBracketWarning(UserWarning):
    """The lower bound and the plug-in estimate of W1 are far apart (see :func:`w1_bracket`)."""


def _dual_exponent(p: float) -> float:
    if p == 1.0:
        return math.inf
    if math.isinf(p):
        return 1.0
    return p / (p - 1.0)


def _mean_difference(fx: np.ndarray, fy: np.ndarray) -> tuple[float, float]:
    """``mean(fx) - mean(fy)`` and its standard error (two independent samples)."""
    est = float(np.mean(fx) - np.mean(fy))
    var = 0.0
    for values in (fx, fy):
        if values.size > 1:
            var += float(np.var(values, ddof=1)) / values.size
    return est, math.sqrt(var)


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
        first, second = (as_positive_int(s, "subsample") for s in subsample)
        return first, second
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
    directions = np.vstack(cands)
    directions /= np.linalg.norm(directions, ord=q, axis=1, keepdims=True)
    values = [_w1_along(x, y, theta) for theta in directions]
    best = directions[int(np.argmax(values))]
    return _projection_witness(x, y, best[None, :], np.ones(1), metric, p)


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
        # Imported here, where it is used, so that `import emd` does not load scipy.special.
        from scipy.special import ndtri

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
