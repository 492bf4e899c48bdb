"""A permutation test of ``P = Q`` with a Wasserstein statistic."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from emd._validation import as_positive_int
from emd.dual._checks import Seed, _choice, _samples, _true_metric
from emd.dual._estimators import _w1_samples
from emd.dual._sliced import _random_directions, _w1_along


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
