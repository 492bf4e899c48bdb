"""One distance per pair of a minibatch: the loss of a training step, on every core.

A training step compares B pairs ``(xs[k], ys[k])`` (generated against real
samples), not all B x B pairs of :func:`emd.cdist`.  Each pair is the single
solve of :func:`emd.wasserstein`; the pairs run on a thread pool, and the
compiled solve of each releases the GIL, so the threads solve side by side.
With tensors the plan and potentials of every pair are kept from the forward
solve as the backward's Jacobian factors (:mod:`emd._autodiff._batch`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from emd._arrays import has_tensor, twin
from emd._autodiff._linearize import points_parts, status_of
from emd._status import warn_pairs
from emd._validation import as_n_jobs

__all__ = ["wasserstein_batch"]


@dataclass(frozen=True)
class PairOutcome:
    """One pair's distance, Jacobian factors (None without gradients) and status."""

    value: float
    jacobians: dict[str, np.ndarray] | None
    status: str

    def factor(self, key: str) -> np.ndarray:
        """The Jacobian factor of ``key`` (``x``, ``y``, ``a`` or ``b``)."""
        if self.jacobians is None:
            raise ValueError("this pair was solved without gradients")
        return self.jacobians[key]


def batch_size(xs: Any, ys: Any, a: Any, b: Any) -> int:
    """The number of pairs, after checking that every argument has one entry per pair."""
    sizes = {}
    for name, value in (("xs", xs), ("ys", ys), ("a", a), ("b", b)):
        if value is None and name in ("a", "b"):
            continue
        if isinstance(value, (list, tuple)):
            sizes[name] = len(value)
        elif isinstance(value, np.ndarray) and value.ndim >= 2:
            sizes[name] = value.shape[0]
        else:
            raise ValueError(
                f"{name} must stack one entry per pair (an array of at least 2 dimensions "
                f"whose first axis runs over the pairs) or be a list of them, got "
                f"{type(value).__name__} of shape {np.shape(value)}"
            )
    if sizes["xs"] == 0:
        raise ValueError("xs is empty: a batch needs at least one pair")
    for name, size in sizes.items():
        if size != sizes["xs"]:
            raise ValueError(
                f"{name} has {size} entries but xs has {sizes['xs']}: one per pair"
            )
    return sizes["xs"]


def map_threads(function: Callable[[Any], Any], items: Sequence[Any],
                n_jobs: int | None) -> list[Any]:
    """``[function(item) for item in items]`` on ``n_jobs`` threads (``None`` or -1: every
    core), in order.  The solves release the GIL, so the threads work side by side."""
    jobs = min(as_n_jobs(n_jobs), len(items))
    if jobs <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="emd-batch") as pool:
        return list(pool.map(function, items))


def solve_pairs(
    xs: Any, ys: Any, a: Any, b: Any, metric: str, p: float | None, normalize: bool,
    n_jobs: int | None, gradients: bool,
) -> list[PairOutcome]:
    """Every pair ``(xs[k], ys[k], a[k], b[k])`` solved as :func:`emd.wasserstein` solves
    it, on ``n_jobs`` threads; errors name the pair's entry (``xs[3]``)."""
    count = batch_size(xs, ys, a, b)

    def one(k: int) -> PairOutcome:
        names = (f"xs[{k}]", f"ys[{k}]", f"a[{k}]", f"b[{k}]")
        value, jacobians, result = points_parts(
            xs[k], ys[k], None if a is None else a[k], None if b is None else b[k],
            metric, p, normalize, gradients, names,
        )
        return PairOutcome(value, jacobians, status_of(result))

    return map_threads(one, range(count), n_jobs)


def warn_unproven(outcomes: list[PairOutcome]) -> None:
    """One warning for the pairs whose distance is not proven optimal."""
    unproven = [k for k, outcome in enumerate(outcomes) if outcome.status != "optimal"]
    warn_pairs(unproven, len(outcomes), "were not proven optimal",
               "their distances are upper bounds, see emd.solve_points(...).certificate() "
               "for one of them", stacklevel=3)


def wasserstein_batch(
    xs: Sequence[ArrayLike] | np.ndarray,
    ys: Sequence[ArrayLike] | np.ndarray,
    a: Sequence[ArrayLike] | np.ndarray | None = None,
    b: Sequence[ArrayLike] | np.ndarray | None = None,
    *,
    metric: str = "euclidean",
    p: float | None = None,
    normalize: bool = True,
    n_jobs: int | None = None,
) -> Any:
    """The Wasserstein-1 distance of each pair ``(xs[k], ys[k])``: a minibatch's losses.

    Entry ``k`` is ``emd.wasserstein(xs[k], ys[k], a[k], b[k], metric=metric, p=p,
    normalize=normalize)``, bit for bit, proven by that solve's certificate.  Unlike
    :func:`emd.cdist`, which solves every pair of two collections, this solves the B
    pairs given, one per thread of a pool: the compiled solve releases the GIL, so the
    pairs run side by side on every core.

    PyTorch tensors and JAX arrays give a tensor of distances of the same kind, dtype
    and device, differentiable in ``xs``, ``ys``, ``a`` and ``b``: the backward reads
    the plans and potentials kept from the forward solves (no second solve).  The
    gradients are those of :func:`emd.wasserstein` (see :ref:`training`).

    Parameters
    ----------
    xs, ys : array_like, shape (B, n, d) and (B, m, d), or sequences of B point sets
        The pairs' point sets; a stacked ``(B, n)`` array (or 1-D sets) is points on
        the line.  Sequences may hold sets of different sizes.
    a, b : array_like, shape (B, n) and (B, m), or sequences of B weight arrays, optional
        Weights; uniform when omitted.
    metric, p, normalize
        As in :func:`emd.wasserstein` (each side divided by its own total by default).
    n_jobs : int or None, default None
        Threads; ``None`` or -1 uses every core.  The values do not depend on it.

    Returns
    -------
    ndarray, shape (B,)
        Float64 distances (for tensors: a tensor of the inputs' kind).

    Raises
    ------
    ValueError
        Entries whose counts differ between ``xs``, ``ys``, ``a`` and ``b``, or a bad
        pair, named by its entry (``xs[3] has a non-finite coordinate ...``).

    Warns
    -----
    SolverWarning
        Once, naming the pairs whose distance could not be proven optimal.

    Examples
    --------
    >>> import numpy as np
    >>> import emd
    >>> xs = np.array([[[0.0, 0.0], [1.0, 0.0]], [[0.0, 0.0], [0.0, 2.0]]])
    >>> ys = xs + np.array([0.0, 1.0])   # every point moved up by 1
    >>> emd.wasserstein_batch(xs, ys)
    array([1., 1.])
    """
    if has_tensor((xs, ys, a, b)):  # PyTorch or JAX arrays: the differentiable twin
        return twin("emd._autodiff._batch:wasserstein_batch")(
            xs, ys, a, b, metric, p, normalize, n_jobs)
    outcomes = solve_pairs(xs, ys, a, b, metric, p, normalize, n_jobs, gradients=False)
    warn_unproven(outcomes)
    return np.array([outcome.value for outcome in outcomes], dtype=np.float64)
