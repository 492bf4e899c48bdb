"""Writing results so that a run never leaves a truncated or half-written file."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from .._validation import as_float_array
from ._formats import _TEXT_EXTS
from ._histogram import PathLike, _fail

# Text writers pick the delimiter from the extension so that the files they
# write read back through the same sniffing as hand-made ones.
_WRITE_DELIMITERS = {".csv": ",", ".tsv": "\t", ".txt": " "}


# ---------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------


def _new_file_mode(target: str) -> int:
    """Permission bits the file would get from a plain ``open(target, "w")``.

    ``mkstemp`` creates files readable by the owner only, which would leak
    into the result; an existing file keeps its mode, a new one follows the
    umask.
    """
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        pass
    # The umask can only be read by setting it; restoring it at once keeps
    # the window in which another thread could see 0 tiny.
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_open(path: PathLike, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file that replaces ``path`` only if the block succeeds.

    The temporary file lives in the destination directory, so the final
    :func:`os.replace` is atomic: readers see either the old file or the
    complete new one, never a truncated one.  If the block raises, the
    temporary file is deleted and ``path`` is left untouched.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file.
    mode : {"wb", "w"}, default "wb"
        Binary, or UTF-8 text written without newline translation.

    Yields
    ------
    file object
        The open temporary file.

    Raises
    ------
    HistogramFileError
        If the temporary file cannot be created or moved into place (for
        example, a missing directory).  Exceptions raised inside the block
        propagate unchanged.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp, "out.txt")
    ...     with atomic_open(path, "w") as fh:
    ...         _ = fh.write("done\\n")
    ...     path.read_text()
    'done\\n'
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}")
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    try:
        # A short prefix: a target name near the file system's limit must
        # not fail only because its temporary name is longer.
        fd, tmp = tempfile.mkstemp(
            dir=directory, prefix=f".{os.path.basename(target)[:32]}.", suffix=".tmp"
        )
    except OSError as exc:
        raise _fail(target, f"cannot write ({exc.strerror or exc})") from None
    pending = getattr(_BATCH, "pending", None)
    try:
        stream = os.fdopen(fd, "wb") if mode == "wb" else os.fdopen(
            fd, mode, encoding="utf-8", newline=""
        )
        with stream as fh:
            yield fh
            fh.flush()
            # Without fsync a crash shortly after the rename can leave an
            # empty file under the final name on some filesystems.
            os.fsync(fh.fileno())
        try:
            os.chmod(tmp, _new_file_mode(target))
            if pending is None:
                os.replace(tmp, target)
        except OSError as exc:
            raise _fail(target, f"cannot write ({exc.strerror or exc})") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if pending is not None:
        pending.append((tmp, target))


@contextlib.contextmanager
def atomic_batch() -> Iterator[None]:
    """Write several files all together or not at all.

    Inside the block, :func:`atomic_open` and every writer of this module
    write complete temporary files but move none into place.  When the block
    ends without an exception, all of them are renamed to their targets;
    when it raises, all temporary files are deleted and no target changes.
    Nested blocks join the outermost one.

    Raises
    ------
    HistogramFileError
        If a rename fails; the files not yet renamed are deleted (renames
        are atomic one by one, so files renamed before the failure stay).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     first, second = pathlib.Path(tmp, "a.txt"), pathlib.Path(tmp, "b.txt")
    ...     try:
    ...         with atomic_batch():
    ...             write_vector(first, [1.0])
    ...             raise RuntimeError("the second output failed")
    ...     except RuntimeError:
    ...         pass
    ...     first.exists()
    False
    """
    if getattr(_BATCH, "pending", None) is not None:
        yield
        return
    pending: list[tuple[str, str]] = []
    _BATCH.pending = pending
    try:
        yield
    except BaseException:
        _BATCH.pending = None
        for tmp, _ in pending:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise
    _BATCH.pending = None
    for index, (tmp, target) in enumerate(pending):
        try:
            os.replace(tmp, target)
        except OSError as exc:
            for later, _ in pending[index:]:
                with contextlib.suppress(OSError):
                    os.unlink(later)
            raise _fail(target, f"cannot write ({exc.strerror or exc})") from None


# Temporary files of the atomic_batch() block open in this thread, if any.
_BATCH = threading.local()


def atomic_write(
    path: PathLike, writer: Callable[[IO[Any]], object], *, binary: bool = True
) -> None:
    """Call ``writer(file)`` on a temporary file and move it to ``path`` on success.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file.
    writer : callable
        Receives the open temporary file and writes the whole content.
    binary : bool, default True
        Open the file in binary mode, else as UTF-8 text.

    Raises
    ------
    HistogramFileError
        If the file cannot be created or moved into place.  Whatever
        ``writer`` raises propagates unchanged, and then neither ``path`` nor
        a temporary file is left behind (an existing ``path`` is untouched).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp, "weights.npy")
    ...     atomic_write(path, lambda fh: np.save(fh, np.arange(3.0)))
    ...     np.load(path)
    array([0., 1., 2.])
    """
    with atomic_open(path, "wb" if binary else "w") as fh:
        writer(fh)


def _float_text(values: Any) -> list[str]:
    # repr of a Python float is the shortest string that reads back to the
    # same double, so text output loses nothing and stays readable.
    return [repr(v) for v in values]


def _write_text(path: PathLike, text: str) -> None:
    if isinstance(path, str) and path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        data = text.encode("utf-8")
        atomic_write(path, lambda fh: fh.write(data))


def _output_kind(path: PathLike, allowed: tuple[str, ...], what: str) -> tuple[str, str]:
    """Return ``(extension, delimiter)``; ``"-"`` means CSV on standard output."""
    if isinstance(path, str) and path == "-":
        return ".csv", ","
    target = os.fspath(path)
    ext = Path(target).suffix.lower()
    if ext not in allowed:
        problem = f"unknown extension {ext!r}" if ext else "no file extension"
        raise _fail(target, f"{problem} for {what} (expected one of {', '.join(allowed)})")
    return ext, _WRITE_DELIMITERS.get(ext, "")


def write_matrix(path: PathLike, array: Any, labels: Sequence[str] | None = None) -> None:
    """Write a 2-D array as ``.npy``, ``.npz``, ``.json`` or delimited text, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        ``.npy``, ``.npz``, ``.json``, ``.csv`` (comma), ``.tsv`` (tab),
        ``.txt`` (space), or ``"-"`` for CSV on standard output.  Text and
        JSON hold the shortest decimal form of each float that reads back to
        exactly the same value.  JSON is an object ``{"labels": [...],
        "matrix": [[...], ...]}`` (``labels`` only when given), one matrix row
        per line; strict JSON has no NaN or infinity, so such entries are
        ``null``.
    array : array_like
        2-D array of real numbers.
    labels : sequence of str, optional
        Names of the columns (for a distance matrix, also of the rows): a
        first line of quoted names in text (skipped by
        :func:`read_cost_matrix`, as a header without numbers), an array
        ``labels`` beside ``matrix`` in ``.npz``, a list ``labels`` beside
        ``matrix`` in JSON, and for ``.npy``, which
        cannot hold them, a file ``<stem>.labels.txt`` beside it with one
        name per line (see :func:`labels_path`).

    Raises
    ------
    HistogramFileError
        For an unsupported extension or a file that cannot be written.
    ValueError, TypeError
        If ``array`` is not a 2-D array of real numbers.

    Examples
    --------
    >>> write_matrix("-", [[0.0, 0.1], [1 / 3, 2.0]])
    0.0,0.1
    0.3333333333333333,2.0
    >>> write_matrix("-", [[0.0, 2.5], [2.5, 0.0]], labels=["a.csv", "b, c.csv"])
    "a.csv","b, c.csv"
    0.0,2.5
    2.5,0.0
    """
    ext, delim = _output_kind(path, (".npy", ".npz", ".json", *_TEXT_EXTS), "a matrix")
    arr = as_float_array(array, "array", 2)
    names = None
    if labels is not None:
        names = _label_lines(labels)
        if len(names) != arr.shape[1]:
            raise ValueError(f"{len(names)} labels for a matrix of {arr.shape[1]} columns")
    if ext == ".npz":

        def save(fh: IO[bytes]) -> None:
            arrays: dict[str, Any] = {"matrix": arr}
            if names is not None:
                arrays["labels"] = np.array(names, dtype=str)
            np.savez(fh, **arrays)

        atomic_write(path, save)
        return
    if ext == ".json":
        rows = [[x if math.isfinite(x) else None for x in row] for row in arr.tolist()]
        parts = [] if names is None else [f'  "labels": {json.dumps(names)}']
        body = ",\n    ".join(json.dumps(row, allow_nan=False) for row in rows)
        parts.append(f'  "matrix": [\n    {body}\n  ]' if rows else '  "matrix": []')
        _write_text(path, "{\n" + ",\n".join(parts) + "\n}\n")
        return
    if ext == ".npy":
        with atomic_batch():
            atomic_write(path, lambda fh: np.save(fh, arr, allow_pickle=False))
            if names is not None:
                write_labels(path, names)
        return
    header = ""
    if names is not None:
        # Quoted names: never mistaken for numbers, so readers skip the line.
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=delim, quoting=csv.QUOTE_ALL, lineterminator="\n").writerow(
            names
        )
        header = buffer.getvalue()
    _write_text(
        path, header + "".join(delim.join(_float_text(row)) + "\n" for row in arr.tolist())
    )


def _label_lines(labels: Sequence[str]) -> list[str]:
    names = [str(label) for label in labels]
    if any("\n" in name or "\r" in name for name in names):
        raise ValueError("labels must be single lines")
    return names


def write_labels(path: PathLike, labels: Sequence[str]) -> None:
    """Write the names of a ``.npy`` matrix's rows beside it (:func:`labels_path`), atomically.

    :func:`write_matrix` calls it for ``.npy``; it serves on its own for a
    matrix written elsewhere, such as by ``emd.pairwise(out=...)``.

    Parameters
    ----------
    path : str or os.PathLike
        The matrix file; the names go to ``labels_path(path)``, one per line.
    labels : sequence of str
        The names, each on one line.

    Raises
    ------
    HistogramFileError
        If the file cannot be written.
    ValueError
        If a name spans several lines.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_labels(pathlib.Path(tmp, "D.npy"), ["a.csv", "b.csv"])
    ...     pathlib.Path(tmp, "D.labels.txt").read_text()
    'a.csv\\nb.csv\\n'
    """
    names = _label_lines(labels)
    _write_text(labels_path(path), "".join(name + "\n" for name in names))


def labels_path(path: PathLike) -> str:
    """The labels file :func:`write_matrix` writes beside a ``.npy`` matrix.

    Examples
    --------
    >>> labels_path("out/distances.npy")
    'out/distances.labels.txt'
    """
    target = Path(os.fspath(path))
    return str(target.with_name(target.stem + ".labels.txt"))


def write_plan(
    path: PathLike,
    rows: Any,
    cols: Any,
    masses: Any,
    *,
    columns: tuple[str, str, str] | None = None,
) -> None:
    """Write a sparse transport plan as ``source,target,mass`` triplets, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        ``.csv`` (with header ``source,target,mass``), ``.tsv``/``.txt``
        (same columns, tab/space separated), ``.npz`` (arrays ``rows``,
        ``cols``, ``masses``), or ``"-"`` for CSV on standard output.
    rows, cols : array_like of int
        Source and target indices (flat C-order bin indices for grids).
    masses : array_like of float
        Mass moved from ``rows[k]`` to ``cols[k]``.
    columns : tuple of three str, optional
        Other names for the three columns, used both as the text header and
        as the ``.npz`` array names (arc flows: ``("tail", "head", "flow")``).

    Raises
    ------
    HistogramFileError
        For an unsupported extension or a file that cannot be written.
    ValueError, TypeError
        If the arrays are not 1-D of equal length, indices are not
        nonnegative integers, or masses are not real numbers.

    Examples
    --------
    >>> write_plan("-", [0, 1], [1, 0], [0.25, 0.75])
    source,target,mass
    0,1,0.25
    1,0,0.75
    """
    ext, delim = _output_kind(path, (".npz", *_TEXT_EXTS), "a transport plan")
    masses_arr = as_float_array(masses, "masses", 1)
    index = []
    for name, value in (("rows", rows), ("cols", cols)):
        arr = np.asarray(value)
        if arr.size == 0:
            # np.asarray([]) is float64; an empty plan is still a valid plan.
            arr = arr.astype(np.int64)
        if arr.dtype.kind not in "iu":
            raise TypeError(f"{name} must be an array of integers, got dtype {arr.dtype}")
        if arr.ndim != 1 or arr.size != masses_arr.size:
            raise ValueError(
                f"{name} has shape {arr.shape} but masses has {masses_arr.size} entries"
            )
        if arr.size and arr.min() < 0:
            raise ValueError(f"{name} has a negative index {arr.min()}")
        index.append(arr.astype(np.int64))
    rows_arr, cols_arr = index
    if ext == ".npz":
        keys = columns or ("rows", "cols", "masses")

        def save(fh: IO[bytes]) -> None:
            arrays: dict[str, Any] = dict(zip(keys, (rows_arr, cols_arr, masses_arr), strict=True))
            np.savez(fh, **arrays)

        atomic_write(path, save)
        return
    lines = [delim.join(columns or ("source", "target", "mass"))]
    lines.extend(
        f"{r}{delim}{c}{delim}{m!r}"
        for r, c, m in zip(rows_arr.tolist(), cols_arr.tolist(), masses_arr.tolist(), strict=True)
    )
    _write_text(path, "\n".join(lines) + "\n")


def write_vector(path: PathLike, values: Any, header: str | None = None) -> None:
    """Write a 1-D array (such as dual potentials) one value per line, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        ``.npy``, ``.csv``, ``.tsv``, ``.txt``, or ``"-"`` for standard
        output.
    values : array_like
        1-D array of real numbers.
    header : str, optional
        A first line for text output, such as ``"potential"``; ignored for
        ``.npy``, which stores no column names.

    Raises
    ------
    HistogramFileError
        For an unsupported extension or a file that cannot be written.
    ValueError, TypeError
        If ``values`` is not 1-D real, or ``header`` spans several lines.

    Examples
    --------
    >>> write_vector("-", [-0.5, 1.25], header="potential")
    potential
    -0.5
    1.25
    """
    ext, _ = _output_kind(path, (".npy", *_TEXT_EXTS), "a vector")
    arr = as_float_array(values, "values", 1)
    if header is not None and ("\n" in header or "\r" in header):
        raise ValueError("header must be a single line")
    if ext == ".npy":
        atomic_write(path, lambda fh: np.save(fh, arr, allow_pickle=False))
        return
    lines = ([] if header is None else [header]) + _float_text(arr.tolist())
    _write_text(path, "\n".join(lines) + "\n")
