"""Distance matrices between many distributions, on every core or on a Dask cluster.

The compiled solver releases the GIL, so pairs run on a thread pool with no
pickling and no copies: every thread reads the same histograms (and, where
they share a support, the same cost matrix or grid graph).  Work goes out in
chunks of pairs so that memory stays bounded and Ctrl-C stops the pool
between chunks.  The same chunks can be sent to a Dask cluster, the
histograms scattered to the workers once.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from emd import _planner
from emd import unbalanced as _unbalanced
from emd._arrays import has_tensor, twin
from emd._pairs import (
    PairSolver,
    build,
    build_unequal,
    check_collections,
    progress_bar,
    validate,
)
from emd._status import SolverWarning
from emd._store import (
    ResumeError,
    compute_stored,
    default_block,
    inputs_fingerprint,
    positions_hash,
)
from emd._validation import as_n_jobs, as_positive_int

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
    cost=None, return_status=False, warm_start=False, unequal=None,
) -> Any:
    probe = left_raw[0] if isinstance(left_raw, Sequence) and len(left_raw) else None
    points = isinstance(probe, tuple)
    left = validate(left_raw, "hists" if symmetric else "hists_a", normalize, points)
    right = left if symmetric else validate(right_raw, "hists_b", normalize, points)
    # Partial and unbalanced transport (``unequal``) exist for unequal totals.
    mass = check_collections(left, right, ("hists", "hists") if symmetric else
                             ("hists_a", "hists_b"), points, masses=unequal is None)
    if max_iter is not None:
        max_iter = as_positive_int(max_iter, "max_iter")
    jobs = as_n_jobs(n_jobs)
    n_pairs = len(left) * (len(left) - 1) // 2 if symmetric else len(left) * len(right)
    chunk = as_positive_int(chunk_size, "chunk_size") if chunk_size else None
    if unequal is not None:
        if warm_start:
            raise ValueError("warm_start=True is not offered with partial= or unbalanced=")
        solver: PairSolver = build_unequal(
            left, right, *unequal, metric=metric, positions=positions, grid=grid,
            points=points, spacing=spacing, L=L, max_iter=max_iter, cost=cost,
        )
    else:
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
        block = (default_block(n, m) if block_size is None
                 else as_positive_int(block_size, "block_size"))
        config = {
            "metric": metric, "grid": grid, "normalize": normalize, "spacing": spacing,
            "L": L, "max_iter": max_iter,
            "positions": None if positions is None else positions_hash(positions),
        }
        if cost is not None:
            config["cost"] = positions_hash(cost)
        if warm_start:  # its values may differ in the last bits: not another run's
            config["warm_start"] = True
        if unequal is not None:  # another problem: never resumed from a balanced run's
            config["unequal"] = [unequal[0], unequal[1]]
        return compute_stored(
            solver, n, m, symmetric, out=out, resume=resume, block=block,
            fingerprint=inputs_fingerprint(left, right, symmetric, config), jobs=jobs,
            client=client, progress=progress, max_iter=max_iter,
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
        with different ones raises :class:`emd.batch.ResumeError` (a ``ValueError``).
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
        Every pair is the single solve of its form (:func:`emd.solve`,
        :func:`emd.solve_points` or :func:`emd.solve_grid` with the same
        keyword), bit for bit, run on ``n_jobs`` threads or ``client`` and
        stored by ``out`` / ``resume`` as balanced pairs are (the compiled
        batch is balanced only); not with ``warm_start``.

    Returns
    -------
    ndarray, shape (n, n)
        Symmetric, zero diagonal (never solved); each pair solved once, with
        exactly the value a single call would give (with ``warm_start=True``:
        certified, but possibly another optimal basis, a rounding apart).
        With ``out``, the file
        opened read-only as a memory map (or the Zarr array), holding the same
        bits as the in-memory result.
        For PyTorch tensors or JAX arrays (stacked, or lists of them): the
        matrix as a tensor of that kind, differentiable in the histograms and
        the points of ``(points, weights)`` pairs, each pair one single solve
        in memory (``positions`` and ``cost`` are constants; ``out``,
        ``client`` and ``progress`` are NumPy-only).

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
    if has_tensor((hists, positions, cost)):  # PyTorch or JAX arrays: the differentiable twin
        return twin("emd._autodiff._batch:pairwise")(
            hists, metric=metric, positions=positions, grid=grid, n_jobs=n_jobs,
            progress=progress, normalize=normalize, client=client, chunk_size=chunk_size,
            spacing=spacing, L=L, max_iter=max_iter, out=out, resume=resume,
            block_size=block_size, cost=cost, return_status=return_status,
            warm_start=warm_start, partial=partial, unbalanced=unbalanced)
    unequal = _unbalanced.check_keywords(partial, unbalanced, normalize)
    return _compute(
        hists, None, True, metric=metric, positions=positions, grid=grid, n_jobs=n_jobs,
        progress=progress, normalize=normalize, client=client, chunk_size=chunk_size,
        spacing=spacing, L=L, max_iter=max_iter,
        out=out, resume=resume, block_size=block_size, cost=cost, return_status=return_status,
        warm_start=warm_start, unequal=unequal,
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
    if has_tensor((hists_a, hists_b, positions, cost)):  # PyTorch or JAX: the twin
        return twin("emd._autodiff._batch:cdist")(
            hists_a, hists_b, metric=metric, positions=positions, grid=grid, n_jobs=n_jobs,
            progress=progress, normalize=normalize, client=client, chunk_size=chunk_size,
            spacing=spacing, L=L, max_iter=max_iter, out=out, resume=resume,
            block_size=block_size, cost=cost, return_status=return_status,
            warm_start=warm_start, partial=partial, unbalanced=unbalanced)
    unequal = _unbalanced.check_keywords(partial, unbalanced, normalize)
    return _compute(
        hists_a, hists_b, False, metric=metric, positions=positions, grid=grid,
        n_jobs=n_jobs, progress=progress, normalize=normalize, client=client,
        chunk_size=chunk_size, spacing=spacing, L=L, max_iter=max_iter,
        out=out, resume=resume, block_size=block_size, cost=cost, return_status=return_status,
        warm_start=warm_start, unequal=unequal,
    )
