"""Distance matrices between many distributions, on every core or on a Dask cluster.

The compiled solver releases the GIL, so pairs run on a thread pool with no
pickling and no copies: every thread reads the same histograms (and, where
they share a support, the same cost matrix or grid graph).  Work goes out in
chunks of pairs so that memory stays bounded and Ctrl-C stops the pool
between chunks.  The same chunks can be sent to a Dask cluster, the
histograms scattered to the workers once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import threading
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from emd import _engine, _few
from emd._core import _costs
from emd._core._pair import PairWorkspace
from emd._engine import PointCosts
from emd._result import COMPILED_RTOL as _COMPILED_RTOL
from emd._status import SolverWarning
from emd._validation import (
    as_cost_matrix,
    as_float_array,
    as_points,
    as_positive_int,
    check_metric,
    check_scale,
    check_weight_values,
    mass_rtol,
)

__all__ = ["ResumeError", "cdist", "pairwise"]

#: Pairs per task for pairs of :data:`CHUNK_CELLS` cells: small enough for
#: prompt cancellation and a smooth progress bar, large enough that scheduling
#: costs nothing next to solving.  Other pairs get tasks of about the same
#: work (from 1 pair up to :data:`MAX_CHUNK`): a 64-bin pair solves in tens of
#: microseconds, and 16 of them left the GIL-bound glue of each task (and the
#: pool's hand-offs) a tenth of the work, which two threads then queued on;
#: a pair of big grids takes a second, and two per task left one thread idle
#: at the end of a short matrix.
DEFAULT_CHUNK = 16
CHUNK_CELLS = 1 << 16
MAX_CHUNK = 1024

#: Shared supports up to this many points get one precomputed cost matrix
#: (at most 128 MiB) that all threads read; larger ones price on the fly.
_DENSE_SUPPORT_MAX = 4096



# One reusable workspace per thread (each compiled call owns it while it runs).
_LOCAL = threading.local()


def _workspace() -> PairWorkspace:
    ws = getattr(_LOCAL, "workspace", None)
    if ws is None:
        ws = _LOCAL.workspace = PairWorkspace()
    return ws


@dataclass(frozen=True)
class _PairSolver(ABC):
    """Everything a worker needs to turn pairs of distribution indices into distances.

    One subclass per form of input: :meth:`__call__` is the single solve a user
    would make for one pair (its value and whether its certificate proves it),
    :meth:`compiled` the compiled batch that solves a whole chunk without the
    GIL, where the form has one.  Both give the same bits for a pair.
    """

    left: Any
    right: Any
    max_iter: int | None

    @property
    def pair_cells(self) -> int:
        """The work of a typical pair, in cells of a dense transport (sets the chunk size)."""
        return CHUNK_CELLS

    @abstractmethod
    def __call__(self, i: int, j: int) -> tuple[float, bool]:
        """The distance between ``left[i]`` and ``right[j]`` and whether it is proven optimal."""

    def compiled(self, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """``(values, codes)`` for a chunk, or None without a compiled path: code 1 for a
        pair proven optimal, 0 for one to settle by :meth:`__call__`, -1 for one whose
        value is final but unproven (stopped by ``max_iter``)."""
        return None

    def alone(self, pairs: np.ndarray) -> np.ndarray:
        """Which pairs of a chunk the compiled batch leaves to :meth:`__call__` because the
        single solve takes another path for them (boolean mask)."""
        return np.zeros(len(pairs), dtype=bool)

    def chunk(self, pairs: np.ndarray) -> np.ndarray:
        """``(k, 2)`` rows of (distance, 1.0 if proven optimal else 0.0) for ``pairs``."""
        out = np.empty((len(pairs), 2))
        todo = range(len(pairs))
        if len(pairs):
            # Pairs the single solve hands to another method (emd._few) go to it
            # whole, so that a batch entry is that solve's value bit for bit.
            alone = self.alone(pairs)
            rest = np.flatnonzero(~alone)
            result = None
            if rest.size:
                try:
                    result = self.compiled(pairs[rest])
                except Exception as exc:
                    raise type(exc)(
                        f"pairs {pairs[0].tolist()}..{pairs[-1].tolist()}: {exc}") from exc
            if result is not None:
                values, codes = result
                out[rest, 0] = values
                out[rest, 1] = codes == 1
                # The full single solve settles the rest: same value, full certificate.
                todo = sorted(np.flatnonzero(alone).tolist() + rest[codes == 0].tolist())
        for k in todo:
            i, j = pairs[k]
            try:
                out[k] = self(int(i), int(j))
            except Exception as exc:
                raise type(exc)(f"pair ({i}, {j}): {exc}") from exc
        return out


def _budget(max_iter: int | None) -> int:
    # The default pivot budget grows with a pair's size; the smallest one serves
    # every pair of a compiled batch, and a pair that reaches it is solved again alone.
    return _engine.iteration_limit(max_iter, 0)


@dataclass(frozen=True)
class _GridPairs(_PairSolver):
    """Grid histograms (stacked, flattened) on one prebuilt :class:`GridSolver`."""

    solver: Any = None
    warm_start: bool = False

    @property
    def pair_cells(self) -> int:
        # Measured (2026-11-30): a grid pair of b bins costs about what a dense pair
        # of 80 b cells does (32 x 32 city-block 2.2 ms, 64 x 64 7.6 ms; a dense
        # pair about 25 ns a cell).
        return 80 * self.left.shape[1]

    def __call__(self, i: int, j: int) -> tuple[float, bool]:
        result = self.solver.solve_pair(self.left[i], self.right[j], self.max_iter)
        return result.cost, result.status == "optimal"

    def compiled(self, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # The grid solver settles every pair itself (compiled check, then single solves).
        values, optimal = self.solver.pair_costs(
            self.left, self.right, pairs, self.max_iter, _COMPILED_RTOL, self.warm_start
        )
        return values, np.where(optimal, 1, -1)


@dataclass(frozen=True)
class _LinePairs(_PairSolver):
    """Weight arrays on shared 1-D positions: the closed form, no compiled batch."""

    positions: np.ndarray | None = None

    @property
    def pair_cells(self) -> int:
        return len(self.positions)  # the closed form is one pass over the support

    def __call__(self, i: int, j: int) -> tuple[float, bool]:
        from emd.transport import line_cost

        return line_cost(self.positions, self.positions, self.left[i], self.right[j]), True


@dataclass(frozen=True)
class _DensePairs(_PairSolver):
    """Weight arrays on one cost matrix; ``stacked`` (left, right) feeds the compiled batch
    (None when the magnitudes rule it out: every pair's single solve then raises)."""

    cost: np.ndarray | None = None
    stacked: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    scale_mass: float = 1.0

    @property
    def pair_cells(self) -> int:
        return self.cost.shape[0] * self.cost.shape[1]

    def __call__(self, i: int, j: int) -> tuple[float, bool]:
        from emd.transport import solve_validated

        result = solve_validated(self.left[i], self.right[j], self.cost, self.max_iter)
        return result.cost, result.status == "optimal"

    @cached_property
    def _kept(self) -> tuple[np.ndarray, np.ndarray]:
        return _few.kept_counts(self.left, False), _few.kept_counts(self.right, False)

    def alone(self, pairs: np.ndarray) -> np.ndarray:
        return _few.batch_alone(*self._kept, pairs, self.max_iter)

    def compiled(self, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        if self.stacked is None:
            return None
        left, right = self.stacked
        return _workspace().batch_dense(
            self.cost, left, right, np.ascontiguousarray(pairs, dtype=np.intp),
            self.scale_mass, _budget(self.max_iter), _COMPILED_RTOL,
        )


@dataclass(frozen=True)
class _PointPairs(_PairSolver):
    """``(points, weights)`` pairs; ``packed`` holds every set end to end per side, for the
    compiled batch (None when the union is out of range: every single solve then checks
    its own range)."""

    metric: str = "euclidean"
    p: float = 2.0
    packed: tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]] | None = field(
        default=None, repr=False)
    scale_mass: float = 1.0

    @property
    def pair_cells(self) -> int:
        def mean_size(sets):
            return sum(len(weights) for _, weights in sets) / len(sets)

        return max(1, int(mean_size(self.left) * mean_size(self.right)))

    def __call__(self, i: int, j: int) -> tuple[float, bool]:
        from emd.transport import solve_points_validated

        (x, wa), (y, wb) = self.left[i], self.right[j]
        result = solve_points_validated(x, y, wa, wb, self.metric, self.p, self.max_iter)
        return result.cost, result.status == "optimal"

    @cached_property
    def _kept(self) -> tuple[np.ndarray, np.ndarray]:
        return _few.kept_counts(self.left, True), _few.kept_counts(self.right, True)

    def alone(self, pairs: np.ndarray) -> np.ndarray:
        return _few.batch_alone(*self._kept, pairs, self.max_iter)

    def compiled(self, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        if self.packed is None:
            return None
        (xl, wl, ol), (xr, wr, orr) = self.packed
        return _workspace().batch_points(
            xl, wl, ol, xr, wr, orr, np.ascontiguousarray(pairs, dtype=np.intp),
            _costs.METRIC_CODES[self.metric], self.p, self.scale_mass, _budget(self.max_iter),
            _COMPILED_RTOL, _engine.BRUTE_FORCE_CELLS,
        )


def _default_chunk(n_pairs: int, jobs: int, pair_cells: int = CHUNK_CELLS) -> int:
    """Pairs per task: about the work of :data:`DEFAULT_CHUNK` pairs of
    :data:`CHUNK_CELLS` cells, fewer when a small matrix would otherwise leave
    threads idle: at least four tasks per thread."""
    per_task = min(MAX_CHUNK, DEFAULT_CHUNK * CHUNK_CELLS // max(1, pair_cells))
    return max(1, min(per_task, n_pairs // (4 * jobs)))


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


def _shape_of(item: Any, points: bool) -> tuple[int, ...]:
    """What must agree between histograms: the shape of a weight array, or the
    dimension of a point set's points."""
    return (item[0].shape[1],) if points else item.shape


def check_collections(
    left: list[Any], right: list[Any], names: tuple[str, str], points: bool, hint: str = "",
) -> float:
    """Refuse histograms that do not fit together, naming the first that does not:
    shapes first (a mass mismatch between histograms of different shapes is only a
    symptom), then total masses, each against ``left[0]``.  ``hint`` ends a message
    about shapes.  Returns the total mass of ``left[0]``."""
    first_label = f"{names[0]}[0]"
    first_shape = _shape_of(left[0], points)
    sides = [(names[0], left)] if right is left else [(names[0], left), (names[1], right)]
    for name, items in sides:
        for k, item in enumerate(items):
            shape = _shape_of(item, points)
            if shape == first_shape:
                continue
            if points:
                raise ValueError(
                    f"{name}[{k}] has points in {shape[0]} dimensions but {first_label} has "
                    f"points in {first_shape[0]}; every point set must have the same dimension"
                    + hint
                )
            raise ValueError(
                f"{name}[{k}] has shape {shape} but {first_label} has shape {first_shape}; "
                "every histogram must have the same shape" + hint
            )
    mass = _check_masses(left, names[0], points, None, first_label)
    if right is not left:
        _check_masses(right, names[1], points, mass, first_label)
    return mass


def _check_masses(
    items: list[Any], name: str, points: bool, reference: float | None, reference_label: str,
) -> float:
    weights = [item[1] if points else item.ravel() for item in items]
    masses = [math.fsum(w) for w in weights]
    first = masses[0] if reference is None else reference
    for k, mass in enumerate(masses):
        # The single solve's rule for a pair of this size (emd._validation.mass_rtol).
        if abs(mass - first) > mass_rtol(2 * weights[k].size) * max(mass, first):
            raise ValueError(
                f"{name}[{k}] has total mass {mass!r} but {reference_label} has {first!r}; "
                "pass normalize=True to rescale every histogram to 1"
            )
    return first


def _build(
    left: list[Any], right: list[Any], *, metric: str | None, positions: ArrayLike | None,
    grid: bool, points: bool, spacing: float, L: int | None, max_iter: int | None,
    cost: ArrayLike | None = None, mass: float = 1.0, warm_start: bool = False,
) -> _PairSolver:
    if not isinstance(warm_start, bool):
        raise TypeError(f"warm_start must be True or False, got {warm_start!r}")
    if warm_start and (points or cost is not None or not (grid or positions is None)):
        raise ValueError("warm_start=True applies to grid histograms only (weight arrays "
                         "without positions= or cost=)")
    if points:
        if cost is not None:
            raise ValueError("cost= applies to weight arrays on a shared support, not point sets")
        metric_name, p = check_metric(metric or "euclidean", None)
        dims = {x.shape[1] for x, _ in left + right}
        if len(dims) > 1:
            raise ValueError(f"point sets must all have the same dimension, got {sorted(dims)}")
        packed = None
        if not (dims.pop() == 1 and metric_name != "sqeuclidean"):  # the line: closed form
            packed = _pack_points(left, right, metric_name, p, mass)
        return _PointPairs(left, right, max_iter, metric_name, p, packed, mass)
    shapes = {h.shape for h in left + right}
    if len(shapes) > 1:
        raise ValueError(f"histograms must all have the same shape, got {sorted(shapes)}")
    shape = shapes.pop()
    flat_left = [h.ravel() for h in left]
    flat_right = flat_left if right is left else [h.ravel() for h in right]
    if cost is not None:
        if positions is not None or grid:
            raise ValueError("pass either cost= or positions= (or grid=True), not both")
        if metric is not None:
            raise ValueError("metric= does not apply with cost=: the matrix is the ground cost")
        matrix = as_cost_matrix(cost, (flat_left[0].size, flat_left[0].size))
        return _dense_solver(flat_left, flat_right, matrix, max_iter, mass)
    if grid or positions is None:
        # Weights alone sit on a grid (a line for 1-D ones): exactly what
        # emd.wasserstein_grid solves for one pair.
        from emd.structured._grid import GridSolver

        solver = GridSolver(shape, metric or "cityblock", spacing, L)
        stacked = np.ascontiguousarray(np.stack(flat_left), dtype=np.float64)
        other = stacked if right is left else np.ascontiguousarray(
            np.stack(flat_right), dtype=np.float64)
        return _GridPairs(stacked, other, max_iter, solver, warm_start)
    support = as_points(positions, "positions")
    if support.shape[0] != flat_left[0].size:
        raise ValueError(
            f"positions has {support.shape[0]} points but the histograms have "
            f"{flat_left[0].size} bins"
        )
    metric_name, p = check_metric(metric or "euclidean", None)
    if support.shape[1] == 1 and metric_name != "sqeuclidean":
        return _LinePairs(flat_left, flat_right, max_iter, support[:, 0].copy())
    # The dense path prices with scipy's cdist, which works in powers of distances.
    PointCosts(support, support, metric_name, p).check_range(underflow=True)
    if support.shape[0] <= _DENSE_SUPPORT_MAX:
        kwargs = {"p": p} if metric_name == "minkowski" else {}
        from scipy.spatial.distance import cdist as scipy_cdist  # imported on first use

        matrix = np.ascontiguousarray(scipy_cdist(support, support, metric_name, **kwargs))
        return _dense_solver(flat_left, flat_right, matrix, max_iter, mass)
    return _PointPairs(
        [(support, h) for h in flat_left], [(support, h) for h in flat_right], max_iter,
        metric_name, p,
    )


def _dense_solver(flat_left, flat_right, matrix, max_iter, mass) -> _DensePairs:
    """Histograms on one cost matrix; the compiled batch when the magnitudes allow it
    (otherwise every pair's single solve raises its own error)."""
    stacked = None
    try:
        check_scale(float(np.abs(matrix).max()), mass, 2 * matrix.shape[0])
    except ValueError:
        pass
    else:
        left = np.ascontiguousarray(np.stack(flat_left), dtype=np.float64)
        right = left if flat_right is flat_left else np.ascontiguousarray(
            np.stack(flat_right), dtype=np.float64)
        stacked = (left, right)
    return _DensePairs(flat_left, flat_right, max_iter, matrix, stacked, mass)


def _pack_points(left, right, metric_name: str, p: float, mass: float) -> tuple | None:
    """Point sets packed end to end for the compiled batch, or None when the union of all
    of them is out of range for the metric or the solver's sums (then every pair's
    single solve checks its own range and raises its own error)."""
    def pack(items):
        x = np.ascontiguousarray(np.concatenate([item[0] for item in items]), dtype=np.float64)
        w = np.ascontiguousarray(np.concatenate([item[1] for item in items]), dtype=np.float64)
        offsets = np.zeros(len(items) + 1, dtype=np.intp)
        np.cumsum([len(item[1]) for item in items], out=offsets[1:])
        return x, w, offsets

    packed_left = pack(left)
    packed_right = packed_left if right is left else pack(right)
    union = packed_left[0] if right is left else np.concatenate(
        [packed_left[0], packed_right[0]])
    costs = PointCosts(union, union, metric_name, p)
    largest = max(len(item[1]) for item in left) + max(len(item[1]) for item in right)
    try:
        costs.check_range()
        check_scale(costs.compiled_bound(), mass, largest)
    except ValueError:
        return None
    return packed_left, packed_right


def _guided_chunks(n_pairs: int, chunk: int, n_jobs: int) -> list[slice]:
    """Tasks of ``chunk`` pairs, shrinking toward the end (to a share of what is left,
    down to one pair) so that the threads finish together: with equal tasks the last
    one can leave the other threads idle for a whole task."""
    out = []
    start = 0
    while start < n_pairs:
        size = min(chunk, max(1, (n_pairs - start) // (2 * n_jobs)))
        out.append(slice(start, start + size))
        start += size
    return out


def _run_threads(
    solver: _PairSolver, pairs: np.ndarray, n_jobs: int, chunk: int, progress: bool
) -> np.ndarray:
    values = np.empty((len(pairs), 2))
    chunks = _guided_chunks(len(pairs), chunk, n_jobs)
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


def _run_serial(solver: _PairSolver, pairs: np.ndarray, chunk: int, progress: bool) -> np.ndarray:
    if not progress:
        return solver.chunk(pairs) if len(pairs) else np.empty((0, 2))
    # One thread still shows its progress: chunk by chunk, as the pool would.
    values = np.empty((len(pairs), 2))
    bar = _progress_bar(len(pairs), progress)
    try:
        for start in range(0, len(pairs), chunk):
            part = slice(start, min(start + chunk, len(pairs)))
            values[part] = solver.chunk(pairs[part])
            bar.update(part.stop - part.start)
    finally:
        bar.close()
    return values


def _run_dask(
    solver: _PairSolver, pairs: np.ndarray, client: Any, chunk: int, progress: bool = False
) -> np.ndarray:
    # Scatter the solver (it holds the histograms and any shared costs) once;
    # every task then ships only its pair indices.
    # hash=False: a fresh key per call, so a release from an earlier call cannot
    # race with this one on the same key.
    [remote] = client.scatter([solver], broadcast=True, hash=False)
    parts = [pairs[k : k + chunk] for k in range(0, len(pairs), chunk)]
    futures = [client.submit(_dask_chunk, remote, part, pure=False) for part in parts]
    if progress and futures:
        from distributed import as_completed

        bar = _progress_bar(len(pairs), progress)
        sizes = {future.key: len(part) for future, part in zip(futures, parts, strict=True)}
        try:
            for future in as_completed(futures):
                bar.update(sizes[future.key])
        finally:
            bar.close()
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
    normalize, client, chunk_size, spacing, L, max_iter, out=None, resume=False, block_size=None,
    cost=None, return_status=False, warm_start=False,
) -> Any:
    probe = left_raw[0] if isinstance(left_raw, Sequence) and len(left_raw) else None
    points = isinstance(probe, tuple)
    left = _validate(left_raw, "hists" if symmetric else "hists_a", normalize, points)
    right = left if symmetric else _validate(right_raw, "hists_b", normalize, points)
    mass = check_collections(left, right, ("hists", "hists") if symmetric else
                             ("hists_a", "hists_b"), points)
    if max_iter is not None:
        max_iter = as_positive_int(max_iter, "max_iter")
    jobs = _jobs(n_jobs)
    n_pairs = len(left) * (len(left) - 1) // 2 if symmetric else len(left) * len(right)
    chunk = as_positive_int(chunk_size, "chunk_size") if chunk_size else None
    solver = _build(
        left, right, metric=metric, positions=positions, grid=grid, points=points,
        spacing=spacing, L=L, max_iter=max_iter, cost=cost, mass=mass * (1 + 1e-3),
        warm_start=warm_start,
    )
    if chunk is None:
        chunk = _default_chunk(n_pairs, jobs, solver.pair_cells)
    n, m = len(left), len(right)
    if not isinstance(return_status, bool):
        raise TypeError(f"return_status must be True or False, got {return_status!r}")
    if out is not None:
        if return_status:
            raise ValueError("return_status=True applies to in-memory matrices, not to out=")
        block = (_default_block(n, m) if block_size is None
                 else as_positive_int(block_size, "block_size"))
        config = {
            "metric": metric, "grid": grid, "normalize": normalize, "spacing": spacing,
            "L": L, "max_iter": max_iter,
            "positions": None if positions is None else _positions_hash(positions),
        }
        if cost is not None:
            config["cost"] = _positions_hash(cost)
        if warm_start:  # its values may differ in the last bits: not another run's
            config["warm_start"] = True
        return _compute_stored(
            solver, n, m, symmetric, out=out, resume=resume, block=block,
            fingerprint=_fingerprint(left, right, symmetric, config), jobs=jobs, client=client,
            progress=progress, max_iter=max_iter,
        )
    if resume:
        raise ValueError("resume=True needs out=: the path of the matrix to resume")
    if block_size is not None:
        raise ValueError("block_size applies to out= only (chunk_size sets pairs per task)")
    if symmetric:
        rows, cols = np.triu_indices(n, k=1)
    else:
        rows, cols = np.divmod(np.arange(n * m), m)
    pairs = np.stack([rows, cols], axis=1)
    if client is not None:
        results = _run_dask(solver, pairs, client, chunk, progress)
    elif jobs == 1 or len(pairs) <= chunk:
        results = _run_serial(solver, pairs, chunk, progress)
    else:
        results = _run_threads(solver, pairs, jobs, chunk, progress)
    values = results[:, 0]
    certified = results[:, 1] != 0
    stopped = np.flatnonzero(~certified)
    if stopped.size:
        first = ", ".join(str(tuple(int(k) for k in pairs[s])) for s in stopped[:5])
        warnings.warn(
            f"{stopped.size} of {len(pairs)} pairs stopped at max_iter={max_iter} or were not "
            f"proven optimal (the first: {first}{', ...' if stopped.size > 5 else ''}); their "
            "entries are upper bounds, or NaN for grid pairs that max_iter stopped; "
            "return_status=True marks them",
            SolverWarning,
            stacklevel=3,
        )
    out = np.zeros((n, m))
    out[rows, cols] = values
    if symmetric:
        out[cols, rows] = values
    if not return_status:
        return out
    status = np.ones((n, m), dtype=bool)
    status[rows, cols] = certified
    if symmetric:
        status[cols, rows] = certified
    return out, status


# On-disk matrices
# ----------------
# The matrix is cut into square blocks of ``block_size`` rows and columns
# (for ``pairwise`` only the blocks on and above the diagonal; each also fills
# its mirror image).  A block is solved whole, written into the on-disk array,
# and only then appended to a small text record beside it, with a hash of its
# bytes.  A process killed at any moment therefore leaves every recorded block
# complete; on resume each recorded block is read back and its hash checked, so
# a block whose pages never reached the disk (an OS crash) is solved again
# rather than trusted.
#
# Every entry that is not yet computed holds NaN, from the moment the file
# appears under its name (it is filled before it is renamed into place) and
# again on resume for any block not verified as finished: a partial matrix
# never shows an unfinished entry as a distance (0.0 would read as two
# identical histograms).

#: Rows (and columns) per block at most: 64 x 64 = 4096 pairs, 32 KiB of
#: results, so a killed run loses little work and the record stays one short
#: line per block.  Smaller matrices get smaller blocks (at least 32 per side,
#: down to 8 rows), so that the blocks in flight are a small part of the whole.
DEFAULT_BLOCK = 64


def _default_block(n: int, m: int) -> int:
    return min(DEFAULT_BLOCK, max(8, -(-max(n, m) // 32)))

_RECORD_FORMAT = "emd-pairwise-record/1"

#: Rows of a new ``.npy`` filled with NaN at a time: 64 MiB for the widest
#: matrices, so filling a large file never holds much of it in memory.
_FILL_CELLS = 1 << 23


class ResumeError(ValueError):
    """``resume=True`` cannot continue the on-disk matrix given as ``out``.

    Raised before any pair is solved.  The message says what to pass instead;
    :attr:`problem` says what is wrong without naming an argument, for tools
    that offer ``resume`` under another name.

    Attributes
    ----------
    problem : str
        What is wrong, e.g. the recorded run had other inputs.
    differs : bool
        True when the record belongs to a run with other inputs, options or
        matrix shape (passing the same ones resumes it); False when the file
        or its record cannot be used at all.  Either way, ``resume=False``
        starts afresh.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import emd
    >>> hists = [np.eye(3)[k] for k in range(3)]
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "D.npy")
    ...     _ = emd.pairwise(hists, out=path)
    ...     try:
    ...         emd.pairwise(hists[:2], out=path, resume=True)
    ...     except emd.batch.ResumeError as exc:
    ...         print(exc.differs, exc.problem.startswith("the matrix shape differs"))
    True True
    """

    def __init__(self, problem: str, advice: str, *, differs: bool = False) -> None:
        super().__init__(f"resume=True, but {problem}. {advice}")
        self.problem = problem
        self.differs = differs


def _digest_items(digest: Any, items: list[Any]) -> None:
    digest.update(str(len(items)).encode())
    for item in items:
        for array in (item if isinstance(item, tuple) else (item,)):
            array = np.ascontiguousarray(array, dtype=np.float64)
            digest.update(repr(array.shape).encode())
            digest.update(array.tobytes())


def _fingerprint(left: list[Any], right: list[Any], symmetric: bool, config: dict) -> str:
    """A hash of every input that can change a single entry of the matrix."""
    digest = hashlib.sha256()
    digest.update(json.dumps(config, sort_keys=True, default=repr).encode())
    _digest_items(digest, left)
    if not symmetric:
        _digest_items(digest, right)
    return digest.hexdigest()


def _positions_hash(positions: ArrayLike) -> str:
    array = np.ascontiguousarray(positions, dtype=np.float64)
    return hashlib.sha256(repr(array.shape).encode() + array.tobytes()).hexdigest()


def _tiles(n: int, m: int, block: int, symmetric: bool) -> Iterable[tuple[int, int]]:
    for bi in range(-(-n // block)):
        for bj in range(bi if symmetric else 0, -(-m // block)):
            yield bi, bj


def _tile_bounds(tile: tuple[int, int], n: int, m: int, block: int):
    bi, bj = tile
    return (slice(bi * block, min(n, (bi + 1) * block)),
            slice(bj * block, min(m, (bj + 1) * block)))


def _solve_tile(
    solver: _PairSolver, tile: tuple[int, int], n: int, m: int, block: int, symmetric: bool
) -> tuple[np.ndarray, int]:
    """The block's values as a (rows, cols) array, and how many pairs stopped early."""
    rows, cols = _tile_bounds(tile, n, m, block)
    r, c = np.meshgrid(np.arange(rows.start, rows.stop), np.arange(cols.start, cols.stop),
                       indexing="ij")
    values = np.zeros(r.shape)
    keep = r < c if symmetric and tile[0] == tile[1] else np.ones(r.shape, dtype=bool)
    if keep.any():
        pairs = np.stack([r[keep], c[keep]], axis=1)
        results = solver.chunk(pairs)
        values[keep] = results[:, 0]
        stopped = int(np.count_nonzero(results[:, 1] == 0))
    else:
        stopped = 0
    if symmetric and tile[0] == tile[1]:
        # The lower triangle mirrors the upper one; adding the zeros is exact.
        values = values + values.T
    return values, stopped


def _block_hash(values: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(values).tobytes(), digest_size=8).hexdigest()


def _check_reopened(path: Path, array: Any, shape: tuple[int, int]) -> None:
    """Refuse to resume into a stored array of another shape or dtype."""
    if tuple(array.shape) != shape or array.dtype != np.float64:
        raise ResumeError(
            f"{str(path)!r} holds a {array.dtype} array of shape {tuple(array.shape)}, not "
            f"the float64 {shape} this call computes",
            "Pass resume=False to overwrite it",
        )


class _NpyTarget:
    """A ``.npy`` file written through a memory map (its pages are the file's, not anonymous)."""

    def __init__(self, path: Path, shape: tuple[int, int], create: bool):
        self.path = path
        self.created = create
        if create:
            # Filled with NaN under a temporary name and then renamed: no reader
            # ever finds the file holding anything but NaN or finished blocks.
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            try:
                self.array = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float64,
                                                       shape=shape)
                step = max(1, _FILL_CELLS // max(1, shape[1]))
                for start in range(0, shape[0], step):
                    self.array[start:start + step] = np.nan
                self.array.flush()
                os.replace(tmp, path)  # the map stays on the same file, now named path
            except BaseException:
                self.array = None
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        else:
            try:
                self.array = np.load(path, mmap_mode="r+")
            except (OSError, ValueError) as exc:
                raise ResumeError(f"{str(path)!r} cannot be reopened ({exc})",
                                  "Pass resume=False to overwrite it") from None
            _check_reopened(path, self.array, shape)

    def write(self, rows: slice, cols: slice, values: np.ndarray) -> None:
        self.array[rows, cols] = values

    def read(self, rows: slice, cols: slice) -> np.ndarray:
        return np.array(self.array[rows, cols])

    def close(self) -> None:
        self.array.flush()

    def result(self) -> np.ndarray:
        self.close()
        del self.array
        return np.load(self.path, mmap_mode="r")


class _ZarrTarget:
    """A Zarr store on the local file system, chunked like the blocks."""

    def __init__(self, path: Path, shape: tuple[int, int], create: bool, block: int):
        self.created = create
        try:
            import zarr
        except ImportError:
            raise ValueError("out: a .zarr store needs zarr (pip install zarr)") from None
        if create:
            # Chunks never written read as the fill value: NaN, not a distance.
            self.array = zarr.open_array(str(path), mode="w", shape=shape, chunks=(block, block),
                                         dtype="f8", fill_value=np.nan)
        else:
            self.array = zarr.open_array(str(path), mode="r+")
            _check_reopened(path, self.array, shape)

    def write(self, rows: slice, cols: slice, values: np.ndarray) -> None:
        self.array[rows, cols] = values

    def read(self, rows: slice, cols: slice) -> np.ndarray:
        return np.asarray(self.array[rows, cols])

    def close(self) -> None:
        pass

    def result(self) -> Any:
        return self.array


class _Record:
    """The finished blocks of one on-disk matrix: a JSON header line, then one line per block."""

    def __init__(self, path: Path, header: dict):
        self.path = path
        self.header = header
        self.fd: int | None = None

    def read(self) -> dict[tuple[int, int], tuple[str, int]] | None:
        """Recorded blocks, or None without a record; raises if it records another run."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return None
        lines = text.split("\n")
        try:
            stored = json.loads(lines[0])
        except ValueError:
            stored = None
        if not isinstance(stored, dict) or stored.get("format") != _RECORD_FORMAT:
            raise ResumeError(f"{str(self.path)!r} is not a record of emd.pairwise",
                              "Pass resume=False to start again")
        for key, what in (("symmetric", "pairwise/cdist call differs"),
                          ("shape", "matrix shape differs"),
                          ("fingerprint", "inputs or options differ")):
            if stored.get(key) != self.header[key]:
                raise ResumeError(
                    f"the {what} from those of the run recorded in "
                    f"{str(self.path)!r}: resuming would mix two matrices",
                    "Pass the same inputs and options, or resume=False to start again",
                    differs=True,
                )
        self.header["block"] = stored["block"]
        done = {}
        # The last line may be cut short by a kill: only lines ending in a
        # newline are complete, and a malformed one is simply solved again.
        for line in lines[1:-1]:
            parts = line.split()
            if len(parts) == 4 and parts[0].isdigit() and parts[1].isdigit():
                done[int(parts[0]), int(parts[1])] = (parts[2], int(parts[3]))
        return done

    def create(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.header) + "\n")
        os.replace(tmp, self.path)

    def open(self) -> None:
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)

    def add(self, tile: tuple[int, int], digest: str, stopped: int) -> None:
        # One write() per line: a killed process leaves whole lines, or a cut
        # last line that read() ignores.
        os.write(self.fd, f"{tile[0]} {tile[1]} {digest} {stopped}\n".encode())

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _open_store(out: Any, resume: Any, block: int, header: dict):
    if not isinstance(resume, bool):
        raise TypeError(f"resume must be True or False, got {resume!r}")
    try:
        path = Path(os.fspath(out))
    except TypeError:
        raise TypeError(f"out must be a path to a .npy file or .zarr store, got {out!r}") from None
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".zarr"):
        raise ValueError(f"out must name a .npy file or a .zarr store, got {str(path)!r}")
    record = _Record(path.with_name(path.name + ".progress"), header)
    done = record.read() if resume else None
    shape = tuple(header["shape"])
    if done is None:
        if resume and path.exists():
            raise ResumeError(
                f"{str(path)!r} has no record of finished blocks ({record.path.name}): it was "
                "not written block by block, or its record was deleted",
                "Pass resume=False to overwrite it",
            )
        done = {}
        create = True
    else:
        if not path.exists():
            raise ResumeError(f"{str(path)!r} is missing while its record exists",
                              "Pass resume=False to start again")
        create = False
    block = header["block"]
    if suffix == ".npy":
        target: Any = _NpyTarget(path, shape, create)
    else:
        target = _ZarrTarget(path, shape, create, block)
    if create:
        record.create()
    return target, record, done


def _verified(target: Any, done: dict, n: int, m: int, block: int, symmetric: bool) -> dict:
    """The recorded blocks whose bytes on disk still hash as recorded (and their mirrors)."""
    kept = {}
    for tile, (digest, stopped) in done.items():
        if tile[0] * block >= n or tile[1] * block >= m:
            continue
        rows, cols = _tile_bounds(tile, n, m, block)
        if _block_hash(target.read(rows, cols)) != digest:
            continue
        if symmetric and tile[0] != tile[1] and _block_hash(target.read(cols, rows).T) != digest:
            continue
        kept[tile] = (digest, stopped)
    return kept


def _clear_unfinished(target: Any, done: dict, n: int, m: int, block: int,
                      symmetric: bool) -> None:
    """Set to NaN every entry of the blocks not verified as finished.

    Such a block may hold correct values (a kill between its write and its
    record line), but also what a failed hash or an older release's zero
    fill left: none of it is trusted, so until the block is solved again a
    reader sees NaN there, never a value that could pass for a distance.
    """
    for tile in _tiles(n, m, block, symmetric):
        if tile in done:
            continue
        rows, cols = _tile_bounds(tile, n, m, block)
        regions = [(rows, cols)]
        if symmetric and tile[0] != tile[1]:
            regions.append((cols, rows))
        for r, c in regions:
            if not np.isnan(target.read(r, c)).all():
                target.write(r, c, np.full((r.stop - r.start, c.stop - c.start), np.nan))


def _compute_stored(
    solver: _PairSolver, n: int, m: int, symmetric: bool, *, out: Any, resume: Any,
    block: int, fingerprint: str, jobs: int, client: Any, progress: bool, max_iter: int | None,
) -> Any:
    header = {"format": _RECORD_FORMAT, "symmetric": symmetric, "shape": [n, m],
              "block": block, "fingerprint": fingerprint}
    target, record, done = _open_store(out, resume, block, header)
    block = record.header["block"]
    done = _verified(target, done, n, m, block, symmetric)
    if not target.created:
        _clear_unfinished(target, done, n, m, block, symmetric)
    stopped_total = sum(stopped for _, stopped in done.values())

    def pairs_in(tile):
        rows, cols = _tile_bounds(tile, n, m, block)
        size = (rows.stop - rows.start) * (cols.stop - cols.start)
        if symmetric and tile[0] == tile[1]:
            side = rows.stop - rows.start
            size = side * (side - 1) // 2
        return size

    total = n * (n - 1) // 2 if symmetric else n * m
    bar = _progress_bar(total, progress)
    if bar is not None:
        bar.update(sum(pairs_in(tile) for tile in done))
    todo = (tile for tile in _tiles(n, m, block, symmetric) if tile not in done)

    def finish(tile, values, stopped):
        nonlocal stopped_total
        rows, cols = _tile_bounds(tile, n, m, block)
        target.write(rows, cols, values)
        if symmetric and tile[0] != tile[1]:
            target.write(cols, rows, values.T)
        # Recorded only once written: a kill in between costs this block, no more.
        record.add(tile, _block_hash(values), stopped)
        stopped_total += stopped
        if bar is not None:
            bar.update(pairs_in(tile))

    record.open()
    try:
        if client is not None:
            _tiles_on_dask(solver, todo, client, (n, m, block, symmetric), finish)
        elif jobs == 1:
            for tile in todo:
                finish(tile, *_solve_tile(solver, tile, n, m, block, symmetric))
        else:
            _tiles_on_threads(solver, todo, jobs, (n, m, block, symmetric), finish)
    finally:
        record.close()
        target.close()
        if bar is not None:
            bar.close()
    if stopped_total:
        warnings.warn(
            f"{stopped_total} of {total} pairs stopped at max_iter={max_iter} or were not "
            "proven optimal; their entries are upper bounds, or NaN for grid pairs that "
            "max_iter stopped",
            SolverWarning,
            stacklevel=4,
        )
    return target.result()


def _tiles_on_threads(solver, todo, jobs, shape_args, finish) -> None:
    executor = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="emd-pairwise")
    try:
        pending: dict[Any, tuple[int, int]] = {}
        for tile in todo:
            pending[executor.submit(_solve_tile, solver, tile, *shape_args)] = tile
            # One block per thread and one waiting: a kill loses little.
            if len(pending) >= jobs + 1:
                break
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                tile = pending.pop(future)
                finish(tile, *future.result())
                following = next(todo, None)
                if following is not None:
                    pending[executor.submit(_solve_tile, solver, following, *shape_args)] = (
                        following
                    )
    except BaseException:
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    executor.shutdown(wait=True)


def _tiles_on_dask(solver, todo, client, shape_args, finish) -> None:
    from distributed import as_completed

    [remote] = client.scatter([solver], broadcast=True, hash=False)
    # A bounded window of blocks in flight keeps the scheduler's queue (and
    # the client's memory) small whatever the size of the matrix.
    window = 2 * max(1, sum(client.nthreads().values()))
    tiles: dict[str, tuple[tuple[int, int], Any]] = {}
    queue = as_completed()

    def submit(tile):
        future = client.submit(_solve_tile, remote, tile, *shape_args, pure=False)
        tiles[future.key] = (tile, future)
        queue.add(future)

    try:
        for tile in todo:
            submit(tile)
            if len(tiles) >= window:
                break
        for future in queue:
            # A block whose worker died is rerun by Dask; only its result arrives here.
            tile, _ = tiles.pop(future.key)
            values, stopped = future.result()
            finish(tile, values, stopped)
            following = next(todo, None)
            if following is not None:
                submit(following)
    except BaseException:
        client.cancel([future for _, future in tiles.values()])
        raise


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
    out: str | os.PathLike | None = None,
    resume: bool = False,
    block_size: int | None = None,
    cost: ArrayLike | None = None,
    return_status: bool = False,
    warm_start: bool = False,
    partial: float | None = None,
    unbalanced: float | None = None,
) -> Any:
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
        Rescale every histogram to mass 1; otherwise every total must equal the
        first histogram's, by the float64 tolerance of "Total masses" in :mod:`emd`.
    client : dask.distributed.Client, optional
        Run the chunks on this Dask cluster instead of local threads.
    chunk_size : int, optional
        Pairs per task (default: 16 for pairs of 2**16 cells, in inverse
        proportion to the size of a pair for others, from 1 to 1024; fewer for
        small matrices: at least four tasks per thread).
    spacing, L : optional
        Grid spacing and Euclidean offset size, as in :func:`emd.wasserstein_grid`.
    max_iter : int, optional
        Pivot limit per pair.
    out : str or path, optional
        Write the matrix into this ``.npy`` file (through a memory map) or
        ``.zarr`` store (needs ``zarr``) instead of memory, block by block,
        with a record of finished blocks in ``<out>.progress`` beside it.
        Memory then stays bounded by the block size, not by ``n**2``.  Every
        entry not yet computed holds NaN (the file appears already filled with
        NaN, and the diagonal's zeros come with their blocks), so a partial
        matrix left by an interruption never shows a missing entry as a
        distance.
    resume : bool, default False
        With ``out``: continue a run that was interrupted (Ctrl-C, a killed
        process, a lost Dask worker), solving only the blocks not recorded as
        finished.  The record holds a hash of the inputs and options; resuming
        with different ones raises :class:`ResumeError` (a ``ValueError``).
        Without a record it starts afresh.  ``resume=False`` overwrites ``out``.
    block_size : int, optional
        With ``out``: rows and columns per block (default: ``n / 32`` between
        8 and 64).  A block is the unit of work, of recording and of loss when
        a run is killed.  A resumed run keeps the recorded block size.
    cost : array_like, shape (n_bins, n_bins), optional
        A precomputed ground cost for weight arrays on a shared support (instead
        of ``positions``).
    return_status : bool, default False
        Also return a boolean matrix, True where the pair's value is proven
        optimal by the pair's certificate (to 1e-9 relative; for Euclidean grids,
        the optimum on the offset graph, as :func:`emd.solve_grid` reports it).
        Weight arrays on 1-D ``positions`` are always True: their value is the
        closed form (no optimization to prove), summed in double-double.
        Not with ``out``.
    warm_start : bool, default False
        Grid histograms only: start each pair from the optimal spanning tree of
        the pair before it in the same row of the matrix (its edges along the
        short offsets) instead of from the coarse-to-fine start of a single
        solve.  Every value is still certified, but the pivots differ, so values
        may differ from single solves in the last bits.  It pays when the
        histograms a row is compared with are close to one another (a query
        against near-duplicates, measured: 2.5x faster on 64 x 64 city-block,
        3.4x on 96 x 96 Chebyshev, 1.4x on 64 x 64 Euclidean L=3 grids, but
        1.15x slower at L=6) and costs when they are unrelated (1.6-2x slower
        on white noise).
    partial, unbalanced : float, optional
        Partial transport or unbalanced W1 for every pair (see
        :mod:`emd.unbalanced`; totals need not agree, not with ``normalize``).
        Each pair goes through the single solve, one after the other: no
        threads, ``client``, ``out``, ``resume`` or ``warm_start``.

    Returns
    -------
    ndarray, shape (n, n)
        Symmetric, zero diagonal (never solved); each pair solved once, with
        exactly the value a single call would give (with ``warm_start=True``:
        certified, but possibly another optimal basis, a rounding apart).
        With ``out``, the file
        opened read-only as a memory map (or the Zarr array), holding the same
        bits as the in-memory result.

    Warns
    -----
    SolverWarning
        When ``max_iter`` stopped some pairs before optimality, or when some pairs
        could not be proven optimal (their count and the first pairs are named).

    Raises
    ------
    ValueError
        A bad histogram (named by its index) before any work starts, unequal
        totals without ``normalize`` or inconsistent shapes.
    ResumeError
        ``resume=True`` with inputs or options that differ from the recorded
        run, or an ``out`` (or its record) that cannot be resumed.

    Notes
    -----
    Every form of input except weight arrays on 1-D ``positions`` and 1-D
    point sets (closed forms, pair by pair) runs a whole chunk of pairs in one
    compiled call without the GIL, on a workspace reused by each thread: the
    same compiled solve as :func:`emd.solve`, :func:`emd.solve_points` and
    :func:`emd.solve_grid` (its coarse-to-fine warm start and column
    generation included), so the values are those of single calls, bit for
    bit.  Each pair's certificate is checked there too, claiming half of
    the tolerance of :meth:`Certificate.optimal
    <emd.Certificate.optimal>`; a pair it cannot prove (and a pair whose
    histograms' totals differ in the last bits, which a single solve first
    balances exactly) is solved again alone, with the full certificate.

    A block is written to ``out`` before its line (with a hash of its bytes)
    is appended to the record, and on resume every recorded block is read
    back and checked against its hash; so a killed process loses only the
    blocks in flight, and nothing half-written is ever taken as finished.

    Examples
    --------
    >>> import numpy as np
    >>> import emd
    >>> hists = [np.eye(3)[k] for k in range(3)]          # unit masses at 0, 1, 2
    >>> emd.pairwise(hists)
    array([[0., 1., 2.],
           [1., 0., 1.],
           [2., 1., 0.]])

    On disk, resumable after an interruption:

    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     D = emd.pairwise(hists, out=os.path.join(folder, "D.npy"), resume=True)
    ...     print(D[0, 2], sorted(os.listdir(folder)))
    2.0 ['D.npy', 'D.npy.progress']
    """
    if partial is not None or unbalanced is not None:
        return _unequal(hists, None, partial, unbalanced, normalize, return_status, locals())
    return _compute(
        hists, None, True, metric=metric, positions=positions, grid=grid, n_jobs=n_jobs,
        progress=progress, normalize=normalize, client=client, chunk_size=chunk_size,
        spacing=spacing, L=L, max_iter=max_iter,
        out=out, resume=resume, block_size=block_size, cost=cost, return_status=return_status,
        warm_start=warm_start,
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
    out: str | os.PathLike | None = None,
    resume: bool = False,
    block_size: int | None = None,
    cost: ArrayLike | None = None,
    return_status: bool = False,
    warm_start: bool = False,
    partial: float | None = None,
    unbalanced: float | None = None,
) -> Any:
    """The rectangular matrix of W1 distances between two collections of histograms.

    Arguments as in :func:`pairwise` (``out``, ``resume`` and ``block_size``
    included); ``hists_a`` and ``hists_b`` take the same form.

    Examples
    --------
    >>> import emd
    >>> emd.cdist([[1.0, 0.0]], [[0.0, 1.0], [1.0, 0.0]])
    array([[1., 0.]])

    With a precomputed ground cost, and the certified pairs:

    >>> D, ok = emd.cdist([[1.0, 0.0]], [[0.0, 1.0]], cost=[[0.0, 3.0], [3.0, 0.0]],
    ...                   return_status=True)
    >>> D, ok
    (array([[3.]]), array([[ True]]))
    """
    if partial is not None or unbalanced is not None:
        return _unequal(hists_a, hists_b, partial, unbalanced, normalize, return_status, locals())
    return _compute(
        hists_a, hists_b, False, metric=metric, positions=positions, grid=grid,
        n_jobs=n_jobs, progress=progress, normalize=normalize, client=client,
        chunk_size=chunk_size, spacing=spacing, L=L, max_iter=max_iter,
        out=out, resume=resume, block_size=block_size, cost=cost, return_status=return_status,
        warm_start=warm_start,
    )


def _unequal(hists_a, hists_b, partial, unbalanced, normalize, return_status, options) -> Any:
    """:func:`pairwise` / :func:`cdist` with ``partial=`` or ``unbalanced=``: every pair by
    the single solve (:func:`emd.unbalanced.pair_matrix`)."""
    from emd import unbalanced as _unbalanced

    kind, value = _unbalanced.check_keywords(partial, unbalanced, normalize)
    for name in ("client", "out", "chunk_size", "block_size"):
        if options[name] is not None:
            raise ValueError(f"{name} is not offered with partial= or unbalanced=")
    if options["resume"] or options["warm_start"]:
        raise ValueError("resume and warm_start are not offered with partial= or unbalanced=")
    matrix, proven = _unbalanced.pair_matrix(
        hists_a, hists_b, kind, value, metric=options["metric"], positions=options["positions"],
        grid=options["grid"], spacing=options["spacing"], L=options["L"], cost=options["cost"],
        max_iter=options["max_iter"], progress=options["progress"],
    )
    if not proven.all():
        warnings.warn(
            f"{int((~proven).sum())} entries could not be proven optimal", SolverWarning,
            stacklevel=3,
        )
    return (matrix, proven) if return_status else matrix
