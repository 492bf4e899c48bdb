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
import os
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from emd import _planner
from emd._pairs import PairSolver, build, check_collections, n_threads, progress_bar, validate
from emd._status import SolverWarning
from emd._validation import as_positive_int

__all__ = ["ResumeError", "cdist", "pairwise"]


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
    solver: PairSolver, pairs: np.ndarray, n_jobs: int, chunk: int, progress: bool
) -> np.ndarray:
    values = np.empty((len(pairs), 2))
    chunks = _guided_chunks(len(pairs), chunk, n_jobs)
    bar = progress_bar(len(pairs), progress)
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


def _run_serial(solver: PairSolver, pairs: np.ndarray, chunk: int, progress: bool) -> np.ndarray:
    if not progress:
        return solver.chunk(pairs) if len(pairs) else np.empty((0, 2))
    # One thread still shows its progress: chunk by chunk, as the pool would.
    values = np.empty((len(pairs), 2))
    bar = progress_bar(len(pairs), progress)
    try:
        for start in range(0, len(pairs), chunk):
            part = slice(start, min(start + chunk, len(pairs)))
            values[part] = solver.chunk(pairs[part])
            bar.update(part.stop - part.start)
    finally:
        bar.close()
    return values


def _run_dask(
    solver: PairSolver, pairs: np.ndarray, client: Any, chunk: int, progress: bool = False
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

        bar = progress_bar(len(pairs), progress)
        sizes = {future.key: len(part) for future, part in zip(futures, parts, strict=True)}
        try:
            for future in as_completed(futures):
                bar.update(sizes[future.key])
        finally:
            bar.close()
    return np.concatenate(client.gather(futures)) if futures else np.empty((0, 2))


def _dask_chunk(solver: PairSolver, pairs: np.ndarray) -> np.ndarray:
    return solver.chunk(pairs)


def _compute(
    left_raw, right_raw, symmetric: bool, *, metric, positions, grid, n_jobs, progress,
    normalize, client, chunk_size, spacing, L, max_iter, out=None, resume=False, block_size=None,
    cost=None, return_status=False, warm_start=False,
) -> Any:
    probe = left_raw[0] if isinstance(left_raw, Sequence) and len(left_raw) else None
    points = isinstance(probe, tuple)
    left = validate(left_raw, "hists" if symmetric else "hists_a", normalize, points)
    right = left if symmetric else validate(right_raw, "hists_b", normalize, points)
    mass = check_collections(left, right, ("hists", "hists") if symmetric else
                             ("hists_a", "hists_b"), points)
    if max_iter is not None:
        max_iter = as_positive_int(max_iter, "max_iter")
    jobs = n_threads(n_jobs)
    n_pairs = len(left) * (len(left) - 1) // 2 if symmetric else len(left) * len(right)
    chunk = as_positive_int(chunk_size, "chunk_size") if chunk_size else None
    solver = build(
        left, right, metric=metric, positions=positions, grid=grid, points=points,
        spacing=spacing, L=L, max_iter=max_iter, cost=cost, mass=mass * (1 + 1e-3),
        warm_start=warm_start,
    )
    if chunk is None:
        chunk = _planner.default_chunk(n_pairs, jobs, solver.pair_cells)
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
    solver: PairSolver, tile: tuple[int, int], n: int, m: int, block: int, symmetric: bool
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
    solver: PairSolver, n: int, m: int, symmetric: bool, *, out: Any, resume: Any,
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
    bar = progress_bar(total, progress)
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
    return _compute(
        hists_a, hists_b, False, metric=metric, positions=positions, grid=grid,
        n_jobs=n_jobs, progress=progress, normalize=normalize, client=client,
        chunk_size=chunk_size, spacing=spacing, L=L, max_iter=max_iter,
        out=out, resume=resume, block_size=block_size, cost=cost, return_status=return_status,
        warm_start=warm_start,
    )
