"""Distance matrices stored on disk (``out=``) and resumed (``resume=``).

The ``.npy`` (memory map) and Zarr writers, the record of finished blocks beside
them, :class:`ResumeError`, and the loop that solves the blocks not yet recorded
on threads or Dask (:func:`compute_stored`); :mod:`emd.batch` calls it for
:func:`emd.pairwise` and :func:`emd.cdist` with ``out=``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import warnings
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from emd._pairs import PairSolver, progress_bar
from emd._status import SolverWarning

__all__ = [
    "DEFAULT_BLOCK",
    "ResumeError",
    "compute_stored",
    "default_block",
    "inputs_fingerprint",
    "positions_hash",
]


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


def default_block(n: int, m: int) -> int:
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

    # Its public home, as users import, catch and pickle it: emd.batch.ResumeError.
    __module__ = "emd.batch"

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


def inputs_fingerprint(left: list[Any], right: list[Any], symmetric: bool, config: dict) -> str:
    """A hash of every input that can change a single entry of the matrix."""
    digest = hashlib.sha256()
    digest.update(json.dumps(config, sort_keys=True, default=repr).encode())
    _digest_items(digest, left)
    if not symmetric:
        _digest_items(digest, right)
    return digest.hexdigest()


def positions_hash(positions: ArrayLike) -> str:
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


class _Target:
    """An on-disk matrix held as ``self.array`` (a memory map or a Zarr array)."""

    array: Any

    def write(self, rows: slice, cols: slice, values: np.ndarray) -> None:
        self.array[rows, cols] = values


class _NpyTarget(_Target):
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

    def read(self, rows: slice, cols: slice) -> np.ndarray:
        return np.array(self.array[rows, cols])

    def close(self) -> None:
        self.array.flush()

    def result(self) -> np.ndarray:
        self.close()
        del self.array
        return np.load(self.path, mmap_mode="r")


class _ZarrTarget(_Target):
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


def compute_stored(
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
