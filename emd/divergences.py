"""Information divergences between discrete distributions on a shared support.

These compare two histograms bin by bin and ignore where the bins are.  When
the supports are disjoint nothing is shared bin by bin, so the divergences
saturate at a constant however far apart the masses lie: KL is infinite,
Jensen-Shannon is ``log 2`` and total variation is 1, both for two point
masses at distance 0.01 and at distance 100.  The Wasserstein-1 distance
uses the ground metric and grows with the distance the mass has to travel,
which is why it still has a useful gradient between distributions with
disjoint supports (the motivation of the Wasserstein GAN, Arjovsky et al.,
2017).

Every function validates its arguments as weights (finite, nonnegative, not
all zero) and normalises each one to sum 1 before comparing.  Logarithms are
natural (nats).  The ``scipy.special`` functions they use are imported on
first call, so that ``import emd`` does not pay for that module.

Examples
--------
>>> from emd.divergences import js, kl, tv
>>> p, q = [1, 0, 0, 0], [0, 0, 0, 1]
>>> kl(p, q), round(js(p, q), 6), tv(p, q)
(inf, 0.693147, 1.0)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._docstrings import fill
from ._validation import as_weights

__all__ = ["cross_entropy", "entropy", "js", "kl", "tv"]

_LOG2 = math.log(2.0)

# The text every divergence of two distributions shares.
_pairwise_doc = fill(
    two_weights="""
        Parameters
        ----------
        p, q : array_like, shape (n,)
            Nonnegative finite weights on the same bins; each is normalised to
            sum 1.
        """,
    raises_two="""
        Raises
        ------
        ValueError
            Empty, negative, non-finite or all-zero weights, or different lengths.
        """,
)


def _distribution(value: Any, name: str, size: int | None = None) -> np.ndarray:
    w = as_weights(value, name, size)
    return w / w.sum()


def _pair(p: ArrayLike, q: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    pn = _distribution(p, "p")
    return pn, _distribution(q, "q", pn.size)


def _relative_entropy(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``p log(p / q)`` per bin (0 where ``p == 0``, inf where only ``q == 0``).

    ``scipy.special.rel_entr`` of older SciPy (1.10) forms ``p / q``, which overflows to inf
    for a subnormal ``q`` although the logarithm is finite (``log(1 / 2.2e-313)`` is 720);
    where the quotient overflows, ``log p - log q`` has no cancellation to fear.
    """
    from scipy.special import rel_entr

    terms = rel_entr(p, q)
    overflowed = np.isinf(terms) & (q > 0)
    terms[overflowed] = p[overflowed] * (np.log(p[overflowed]) - np.log(q[overflowed]))
    return terms


@_pairwise_doc
def kl(p: ArrayLike, q: ArrayLike) -> float:
    """Kullback-Leibler divergence ``KL(p || q) = sum p log(p / q)``.

    %(two_weights)s

    Returns
    -------
    float
        In ``[0, inf]``; ``inf`` when some bin has ``p > 0`` and ``q == 0``.
        Bins with ``p == 0`` contribute 0.

    %(raises_two)s

    Examples
    --------
    >>> from emd.divergences import kl
    >>> kl([1, 1], [1, 0])
    inf
    >>> round(kl([0.5, 0.5], [0.25, 0.75]), 6)
    0.143841
    """
    pn, qn = _pair(p, q)
    return float(_relative_entropy(pn, qn).sum())


@_pairwise_doc
def js(p: ArrayLike, q: ArrayLike) -> float:
    """Jensen-Shannon divergence ``(KL(p || m) + KL(q || m)) / 2``, ``m = (p + q) / 2``.

    This is the divergence itself, not the Jensen-Shannon *distance* (its
    square root) that :func:`scipy.spatial.distance.jensenshannon` returns.

    %(two_weights)s

    Returns
    -------
    float
        In ``[0, log 2]``, with ``log 2`` exactly when the supports are
        disjoint.

    %(raises_two)s

    Examples
    --------
    >>> from emd.divergences import js
    >>> js([1, 2, 3], [1, 2, 3])
    0.0
    >>> round(js([1, 0], [0, 1]), 6)
    0.693147
    """
    pn, qn = _pair(p, q)
    # Halving the smallest subnormal rounds to 0, which would make KL(q || m) infinite.
    m = np.maximum(0.5 * (pn + qn), np.nextafter(0.0, 1.0))
    value = 0.5 * float(_relative_entropy(pn, m).sum() + _relative_entropy(qn, m).sum())
    # Rounding can step just outside the mathematical range.
    return min(max(value, 0.0), _LOG2)


@_pairwise_doc
def tv(p: ArrayLike, q: ArrayLike) -> float:
    """Total variation distance ``sum |p - q| / 2``.

    %(two_weights)s

    Returns
    -------
    float
        In ``[0, 1]``, with 1 exactly when the supports are disjoint.

    %(raises_two)s

    Examples
    --------
    >>> from emd.divergences import tv
    >>> tv([0.5, 0.5, 0.0], [0.0, 0.5, 0.5])
    0.5
    """
    pn, qn = _pair(p, q)
    return float(0.5 * np.abs(pn - qn).sum())


def entropy(p: ArrayLike) -> float:
    """Shannon entropy ``-sum p log p``, with ``0 log 0 = 0``.

    Parameters
    ----------
    p : array_like, shape (n,)
        Nonnegative finite weights; normalised to sum 1.

    Returns
    -------
    float
        In ``[0, log n]``.

    Raises
    ------
    ValueError
        Empty, negative, non-finite or all-zero weights.

    Examples
    --------
    >>> from emd.divergences import entropy
    >>> round(entropy([1, 1, 1, 1]), 6)  # log 4
    1.386294
    >>> entropy([0, 3, 0])
    0.0
    """
    from scipy.special import entr

    return float(entr(_distribution(p, "p")).sum())


@_pairwise_doc
def cross_entropy(p: ArrayLike, q: ArrayLike) -> float:
    """Cross entropy ``-sum p log q = entropy(p) + kl(p, q)``.

    %(two_weights)s

    Returns
    -------
    float
        ``inf`` when some bin has ``p > 0`` and ``q == 0``; bins with
        ``p == 0`` contribute 0.

    %(raises_two)s

    Examples
    --------
    >>> from emd.divergences import cross_entropy
    >>> round(cross_entropy([1, 1], [1, 3]), 6)
    0.836988
    >>> cross_entropy([1, 1], [0, 1])
    inf
    """
    from scipy.special import xlogy

    pn, qn = _pair(p, q)
    return float(-xlogy(pn, qn).sum())
