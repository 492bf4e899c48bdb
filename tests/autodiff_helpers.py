"""Problems with a unique optimal plan and unique potentials, and the finite differences
the gradient tests of every array library compare with (NumPy only, no emd internals).

A transport problem is non-degenerate when its optimal plan has exactly ``n + m - 1``
positive entries (then the potentials are unique up to the constant) and every pair
off the plan has a positive reduced cost (then the plan is unique).  Near such a
point the cost is smooth in the positions and affine in the weights and costs, so
central differences with a small step give the gradient to rounding.
"""

from __future__ import annotations

import numpy as np
import ot
from scipy.spatial.distance import cdist


def nondegenerate(a, b, cost) -> bool:
    """Whether ``(a, b, cost)`` has a unique plan and unique potentials (POT's solve, an
    independent check of what the tests assume)."""
    a, b, cost = (np.asarray(v, dtype=np.float64) for v in (a, b, cost))
    plan, log = ot.emd(a, b, cost, log=True)
    support = plan > 1e-12 * plan.max()
    if support.sum() != a.size + b.size - 1:
        return False
    reduced = cost - log["u"][:, None] - log["v"][None, :]
    return bool(reduced[~support].min() > 1e-7 * np.abs(cost).max())


def weights(rng, n):
    w = rng.random(n) + 0.2
    return w / w.sum()


def cost_problem(seed: int, n: int = 5, m: int = 6):
    """Random weights (total 1) and a random cost matrix with a unique optimum."""
    rng = np.random.default_rng(seed)
    while True:
        a, b, cost = weights(rng, n), weights(rng, m), rng.random((n, m))
        if nondegenerate(a, b, cost):
            return a, b, cost


def points_problem(seed: int, metric: str = "euclidean", n: int = 5, m: int = 6, d: int = 2,
                   p: float | None = None):
    """Random points and weights whose transport under ``metric`` has a unique optimum."""
    rng = np.random.default_rng(seed)
    kwargs = {"p": p} if metric == "minkowski" else {}
    while True:
        x, y = rng.normal(size=(n, d)), rng.normal(size=(m, d)) + 0.5
        a, b = weights(rng, n), weights(rng, m)
        if nondegenerate(a, b, cdist(x, y, metric, **kwargs)):
            return x, y, a, b


def tangent(rng, n: int) -> np.ndarray:
    """A random direction with zero sum: where moved-as-given weights may vary."""
    d = rng.normal(size=n)
    return d - d.mean()


def directional_difference(f, args: list[np.ndarray], k: int, direction: np.ndarray,
                           h: float = 1e-6) -> float:
    """Central difference of ``f(*args)`` along ``direction`` in argument ``k``."""
    plus = [np.array(v, dtype=np.float64) for v in args]
    minus = [np.array(v, dtype=np.float64) for v in args]
    plus[k] = plus[k] + h * direction
    minus[k] = minus[k] - h * direction
    return (float(f(*plus)) - float(f(*minus))) / (2 * h)
