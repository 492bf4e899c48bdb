"""Distance matrices between many distributions, on every core or on a Dask cluster.

The compiled solver releases the GIL, so pairs run on a thread pool with no
pickling and no copies: every thread reads the same histograms (and, where
they share a support, the same cost matrix or grid graph).  Work goes out in
chunks of pairs so that memory stays bounded and Ctrl-C stops the pool
between chunks.  The same chunks can be sent to a Dask cluster, the
histograms scattered to the workers once.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial.distance import cdist as _scipy_cdist

from emd._engine import PointCosts
from emd._status import SolverWarning
from emd._validation import (
    MASS_RTOL,
    as_float_array,
    as_points,
    as_positive_int,
    check_metric,
    check_weight_values,
)

__all__ = ["cdist", "pairwise"]

#: Pairs per task: small enough for prompt cancellation and a smooth
#: progress bar, large enough that scheduling costs nothing next to solving.
DEFAULT_CHUNK = 16

#: Shared supports up to this many points get one precomputed cost matrix
#: (at most 128 MiB) that all threads read; larger ones price on the fly.
_DENSE_SUPPORT_MAX = 4096


@dataclass(frozen=True)
class _PairSolver:
    """Everything a worker needs to turn two histogram indices into a distance."""

    left: Any                      # list of histograms, or a stacked array for grids
    right: Any
    kind: str                      # "grid", "dense", "points", "line"
    shared: Any                    # GridSolver, cost matrix, positions or metric tuple
    max_iter: int | None

    def __call__(self, i: int, j: int) -> tuple[float, bool]:
        """The distance between ``left[i]`` and ``right[j]`` and whether it is proven optimal."""
        a, b = self.left[i], self.right[j]
        if self.kind == "grid":
            result = self.shared(a - b, self.max_iter)
        elif self.kind == "dense":
            from emd.transport import solve_validated

            result = solve_validated(a, b, self.shared, self.max_iter)
        elif self.kind == "line":
            from emd.structured._onedim import wasserstein_1d

            cost = math.fsum(a) * wasserstein_1d(self.shared, self.shared, a, b)
            if not math.isfinite(cost):
                raise ValueError(f"the distance overflows float64 (total mass {math.fsum(a):.3g})")
            return cost, True
        else:
            from emd.transport import solve_points_validated

            metric, p = self.shared
            (x, wa), (y, wb) = a, b
            result = solve_points_validated(x, y, wa, wb, metric, p, self.max_iter)
        return result.cost, result.status == "optimal"

    def chunk(self, pairs: np.ndarray) -> np.ndarray:
        """``(k, 2)`` rows of (distance, 1.0 if proven optimal else 0.0) for ``pairs``."""
        if self.kind == "grid":
            # One call for the whole chunk: small grids solve it without the GIL.
            try:
                values, optimal = self.shared.pair_costs(
                    self.left, self.right, pairs, self.max_iter
                )
            except Exception as exc:
                raise type(exc)(f"pairs {pairs[0].tolist()}..{pairs[-1].tolist()}: {exc}") from exc
            return np.column_stack([values, optimal])
        out = np.empty((len(pairs), 2))
        for k, (i, j) in enumerate(pairs):
            try:
                out[k] = self(int(i), int(j))
            except Exception as exc:
                raise type(exc)(f"pair ({i}, {j}): {exc}") from exc
        return out


def _validate(hists: Any, name: str, normalize: bool, points: bool) -> list[Any]:
    """Validate every histogram before any work starts; errors name the index."""
    if isinstance(hists, np.ndarray):
        items = list(hists) if hists.ndim >= 2 else None
    elif isinstance(hists, Iterable) and not isinstance(hists, (str, bytes)):
        items = list(hists)
    else:
        items = None
    if items is None:
        raise ValueError(f"{name} must be a sequence of histograms (or an array stacking them)")
    if not items:
        raise ValueError(f"{name} is empty")
    out = []
    for k, item in enumerate(items):
        label = f"{name}[{k}]"
        try:
            if points:
                if not (isinstance(item, (tuple, list)) and len(item) == 2):
                    raise ValueError("must be a (points, weights) pair")
                x = as_points(item[0], "points")
                w = as_float_array(item[1], "weights", 1)
                if w.size != x.shape[0]:
                    raise ValueError(f"has {x.shape[0]} points but {w.size} weights")
                check_weight_values(w, "weights")
                # math.fsum as in emd._validation.balance: single calls with
                # normalize=True see bit-identical weights.
                out.append((x, w / math.fsum(w) if normalize else w))
            else:
                w = as_float_array(item, "histogram", (1, 2, 3))
                if w.size == 0:
                    raise ValueError("is empty")
                check_weight_values(w.ravel(), "histogram")
                out.append(w / math.fsum(w.ravel()) if normalize else w)
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"{label}: {exc}") from None
    return out


def _check_masses(items: list[Any], name: str, points: bool, reference: float | None) -> float:
    masses = [math.fsum(item[1] if points else item.ravel()) for item in items]
    first = masses[0] if reference is None else reference
    for k, mass in enumerate(masses):
        if abs(mass - first) > MASS_RTOL * max(mass, first):
            raise ValueError(
                f"{name}[{k}] has total mass {mass!r} but the first histogram has {first!r}; "
                "pass normalize=True to rescale every histogram to 1"
            )
    return first


def _build(
    left: list[Any], right: list[Any], *, metric: str | None, positions: ArrayLike | None,
    grid: bool, points: bool, spacing: float, L: int | None, max_iter: int | None,
) -> _PairSolver:
    if points:
        metric_name, p = check_metric(metric or "euclidean", None)
        dims = {x.shape[1] for x, _ in left + right}
        if len(dims) > 1:
            raise ValueError(f"point sets must all have the same dimension, got {sorted(dims)}")
        return _PairSolver(left, right, "points", (metric_name, p), max_iter)
    shapes = {h.shape for h in left + right}
    if len(shapes) > 1:
        raise ValueError(f"histograms must all have the same shape, got {sorted(shapes)}")
    shape = shapes.pop()
    if grid or positions is None:
        # Weights alone sit on a grid (a line for 1-D ones): exactly what
        # emd.wasserstein_grid solves for one pair.
        from emd.structured._grid import GridSolver

        solver = GridSolver(shape, metric or "cityblock", spacing, L)
        return _PairSolver(
            np.stack([h.ravel() for h in left]), np.stack([h.ravel() for h in right]), "grid",
            solver, max_iter,
        )
    flat_left = [h.ravel() for h in left]
    flat_right = [h.ravel() for h in right]
    support = as_points(positions, "positions")
    if support.shape[0] != flat_left[0].size:
        raise ValueError(
            f"positions has {support.shape[0]} points but the histograms have "
            f"{flat_left[0].size} bins"
        )
    metric_name, p = check_metric(metric or "euclidean", None)
    if support.shape[1] == 1 and metric_name != "sqeuclidean":
        return _PairSolver(flat_left, flat_right, "line", support[:, 0].copy(), max_iter)
    # The dense path prices with scipy's cdist, which works in powers of distances.
    PointCosts(support, support, metric_name, p).check_range(underflow=True)
    if support.shape[0] <= _DENSE_SUPPORT_MAX:
        kwargs = {"p": p} if metric_name == "minkowski" else {}
        cost = np.ascontiguousarray(_scipy_cdist(support, support, metric_name, **kwargs))
        return _PairSolver(flat_left, flat_right, "dense", cost, max_iter)
    return _PairSolver(
        [(support, h) for h in flat_left], [(support, h) for h in flat_right], "points",
        (metric_name, p), max_iter,
    )


def _run_threads(
    solver: _PairSolver, pairs: np.ndarray, n_jobs: int, chunk: int, progress: bool
) -> np.ndarray:
    values = np.empty((len(pairs), 2))
    chunks = [slice(k, min(k + chunk, len(pairs))) for k in range(0, len(pairs), chunk)]
    bar = _progress_bar(len(pairs), progress)
    executor = ThreadPoolExecutor(max_workers=n_jobs, thread_name_prefix="emd-pairwise")
    try:
        # Keep a bounded window of chunks in flight: memory stays O(window),
        # and an interrupt has little queued work to throw away.
        pending: dict[Any, slice] = {}
        queue = iter(chunks)
        for part in queue:
            pending[executor.submit(solver.chunk, pairs[part])] = part
            if len(pending) >= 4 * n_jobs:
                break
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                part = pending.pop(future)
                values[part] = future.result()
                if bar is not None:
                    bar.update(part.stop - part.start)
                following = next(queue, None)
                if following is not None:
                    pending[executor.submit(solver.chunk, pairs[following])] = following
    except BaseException:
        # Ctrl-C or a failing pair: drop the queue, let running chunks end.
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        if bar is not None:
            bar.close()
    executor.shutdown(wait=True)
    return values


def _run_dask(solver: _PairSolver, pairs: np.ndarray, client: Any, chunk: int) -> np.ndarray:
    # Scatter the solver (it holds the histograms and any shared costs) once;
    # every task then ships only its pair indices.
    # hash=False: a fresh key per call, so a release from an earlier call cannot
    # race with this one on the same key.
    [remote] = client.scatter([solver], broadcast=True, hash=False)
    parts = [pairs[k : k + chunk] for k in range(0, len(pairs), chunk)]
    futures = [client.submit(_dask_chunk, remote, part, pure=False) for part in parts]
    return np.concatenate(client.gather(futures)) if futures else np.empty((0, 2))


def _dask_chunk(solver: _PairSolver, pairs: np.ndarray) -> np.ndarray:
    return solver.chunk(pairs)


def _progress_bar(total: int, progress: bool):
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        raise ValueError(
            'progress=True needs tqdm: pip install "emd-ot[progress]"'
        ) from None
    return tqdm(total=total, unit="pair", desc="emd")


def _jobs(n_jobs: int | None) -> int:
    if n_jobs is None or n_jobs == -1:
        return os.cpu_count() or 1
    return as_positive_int(n_jobs, "n_jobs")


def _compute(
    left_raw, right_raw, symmetric: bool, *, metric, positions, grid, n_jobs, progress,
    normalize, client, chunk_size, spacing, L, max_iter,
) -> np.ndarray:
    probe = left_raw[0] if isinstance(left_raw, Sequence) and len(left_raw) else None
    points = isinstance(probe, tuple)
    left = _validate(left_raw, "hists" if symmetric else "hists_a", normalize, points)
    right = left if symmetric else _validate(right_raw, "hists_b", normalize, points)
    mass = _check_masses(left, "hists" if symmetric else "hists_a", points, None)
    if not symmetric:
        _check_masses(right, "hists_b", points, mass)
    if max_iter is not None:
        max_iter = as_positive_int(max_iter, "max_iter")
    chunk = as_positive_int(chunk_size or DEFAULT_CHUNK, "chunk_size")
    jobs = _jobs(n_jobs)
    solver = _build(
        left, right, metric=metric, positions=positions, grid=grid, points=points,
        spacing=spacing, L=L, max_iter=max_iter,
    )
    n, m = len(left), len(right)
    if symmetric:
        rows, cols = np.triu_indices(n, k=1)
    else:
        rows, cols = np.divmod(np.arange(n * m), m)
    pairs = np.stack([rows, cols], axis=1)
    if client is not None:
        results = _run_dask(solver, pairs, client, chunk)
    elif jobs == 1 or len(pairs) <= chunk:
        results = solver.chunk(pairs) if len(pairs) else np.empty((0, 2))
    else:
        results = _run_threads(solver, pairs, jobs, chunk, progress)
    values = results[:, 0]
    stopped = np.flatnonzero(results[:, 1] == 0)
    if stopped.size:
        first = tuple(int(k) for k in pairs[stopped[0]])
        warnings.warn(
            f"{stopped.size} of {len(pairs)} pairs stopped at max_iter={max_iter} before "
            f"optimality (the first is {first}); their entries are upper bounds "
            "(point sets) or NaN (grids)",
            SolverWarning,
            stacklevel=3,
        )
    out = np.zeros((n, m))
    out[rows, cols] = values
    if symmetric:
        out[cols, rows] = values
    return out


def pairwise(
    hists: Sequence[ArrayLike] | np.ndarray,
    *,
    metric: str | None = None,
    positions: ArrayLike | None = None,
    grid: bool = False,
    n_jobs: int | None = None,
    progress: bool = False,
    normalize: bool = False,
    client: Any = None,
    chunk_size: int | None = None,
    spacing: float = 1.0,
    L: int | None = None,
    max_iter: int | None = None,
) -> np.ndarray:
    """The symmetric matrix of W1 distances between all pairs of histograms.

    Parameters
    ----------
    hists : sequence of array_like
        The distributions, in one of three forms (all the same):

        * weight arrays on a shared support given by ``positions`` (n_bins, d);
        * grid histograms of one shape (2-D/3-D arrays, or any with ``grid=True``),
          solved by :func:`emd.wasserstein_grid`;
        * ``(points, weights)`` pairs, each its own point set.

        Weight arrays without ``positions`` are grid histograms (1-D ones sit
        at 0, 1, 2, ... times ``spacing``), as in :func:`emd.wasserstein_grid`.
    metric : str, optional
        Ground metric: default ``"cityblock"`` for grids, ``"euclidean"`` otherwise.
    positions : array_like, shape (n_bins, d), optional
        Shared support of weight arrays.
    grid : bool, default False
        Read weight arrays as grid histograms.
    n_jobs : int, optional
        Threads; ``None`` or -1 uses every core.
    progress : bool, default False
        Show a progress bar (needs tqdm, the ``progress`` extra).
    normalize : bool, default False
        Rescale every histogram to mass 1; otherwise all totals must agree.
    client : dask.distributed.Client, optional
        Run the chunks on this Dask cluster instead of local threads.
    chunk_size : int, optional
        Pairs per task (default 16).
    spacing, L : optional
        Grid spacing and Euclidean offset size, as in :func:`emd.wasserstein_grid`.
    max_iter : int, optional
        Pivot limit per pair.

    Returns
    -------
    ndarray, shape (n, n)
        Symmetric, zero diagonal (never solved); each pair solved once, with
        exactly the value a single call would give.

    Warns
    -----
    SolverWarning
        When ``max_iter`` stopped some pairs before optimality (named in the message).

    Raises
    ------
    ValueError
        A bad histogram (named by its index) before any work starts, unequal
        totals without ``normalize``, or inconsistent shapes.

    Examples
    --------
    >>> import numpy as np
    >>> import emd
    >>> hists = [np.eye(3)[k] for k in range(3)]          # unit masses at 0, 1, 2
    >>> emd.pairwise(hists)
    array([[0., 1., 2.],
           [1., 0., 1.],
           [2., 1., 0.]])
    """
    return _compute(
        hists, None, True, metric=metric, positions=positions, grid=grid, n_jobs=n_jobs,
        progress=progress, normalize=normalize, client=client, chunk_size=chunk_size,
        spacing=spacing, L=L, max_iter=max_iter,
    )


def cdist(
    hists_a: Sequence[ArrayLike] | np.ndarray,
    hists_b: Sequence[ArrayLike] | np.ndarray,
    *,
    metric: str | None = None,
    positions: ArrayLike | None = None,
    grid: bool = False,
    n_jobs: int | None = None,
    progress: bool = False,
    normalize: bool = False,
    client: Any = None,
    chunk_size: int | None = None,
    spacing: float = 1.0,
    L: int | None = None,
    max_iter: int | None = None,
) -> np.ndarray:
    """The rectangular matrix of W1 distances between two collections of histograms.

    Arguments as in :func:`pairwise`; ``hists_a`` and ``hists_b`` take the same form.

    Examples
    --------
    >>> import emd
    >>> emd.cdist([[1.0, 0.0]], [[0.0, 1.0], [1.0, 0.0]])
    array([[1., 0.]])
    """
    return _compute(
        hists_a, hists_b, False, metric=metric, positions=positions, grid=grid,
        n_jobs=n_jobs, progress=progress, normalize=normalize, client=client,
        chunk_size=chunk_size, spacing=spacing, L=L, max_iter=max_iter,
    )
