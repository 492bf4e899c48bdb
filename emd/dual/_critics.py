"""WGAN-style critics, for comparison only, and :func:`audit_critic` to check any critic.

A trained critic is not a reliable W1 estimator (see :func:`train_critic`);
:func:`audit_critic` measures how far a function is from a valid
Kantorovich-Rubinstein witness.  :mod:`emd.dual` imports this module lazily,
on first use of one of its names.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from emd._engine import PointCosts
from emd._validation import as_positive_int
from emd.dual._certificate import _lipschitz_ratio
from emd.dual._checks import (
    Seed,
    _choice,
    _critic_values,
    _eval_points,
    _fraction,
    _samples,
    _split,
    _true_metric,
)
from emd.dual._estimators import _mean_difference, _w1_samples
from emd.dual._sliced import _random_directions

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
    dist = PointCosts(z, w, name, p_value).arc_costs(idx, idx)
    fz, fw = _critic_values(f, z), _critic_values(f, w)
    ratio = _lipschitz_ratio(fz - fw, dist, 0.0)

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
