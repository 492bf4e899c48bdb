"""Reading histograms and cost matrices from files, and writing results safely.

This is the file layer behind ``emd-compute``.  Readers turn every problem with
a file (missing, unknown format, bad content) into a :class:`HistogramFileError`
whose one-line message starts with the file name, so the command-line tool can
print it as is.  Writers go through :func:`atomic_write`, so an interrupted run
never leaves a truncated result behind.

Supported inputs
----------------
``.npy``
    A 1-, 2- or 3-D array of weights on a grid; with ``kind="points"`` a 2-D
    array whose last column is the weights and whose other columns are the
    coordinates.
``.npz``
    Arrays ``weights`` and optionally ``positions`` (a point set), or a single
    array of any name read like ``.npy``.
``.csv``, ``.tsv``, ``.txt``
    One column of weights (a 1-D grid), or several columns: a 2-D grid with
    ``kind="grid"``, rows of coordinates followed by a weight with
    ``kind="points"`` or under a header whose last name is a weight column
    (``weight``, ``mass``, ``count``, ``p``, ...).  A table with several
    columns and no such header is refused without ``kind``: the two readings
    give different distances.  A first column named like a row index (empty,
    ``Unnamed: 0``, ``index``, as pandas writes it) is refused too.  The
    delimiter (comma, tab, semicolon or whitespace) is sniffed, a header line
    without numbers is skipped, blank lines and lines starting with ``#`` are
    ignored.
``.json``
    A list of weights, nested lists for a grid, or an object
    ``{"positions": [...], "weights": [...]}``.
``.png``, ``.pgm``, ``.ppm``, ``.jpg``, ``.jpeg``, ``.bmp``, ``.tif``, ``.tiff``
    Grey levels as a 2-D grid (row 0 is the top of the image; first frame
    only; alpha ignored); colour is reduced to luminance.  Needs Pillow:
    ``pip install "emd-ot[images]"``.

The path ``"-"`` reads standard input, with the format sniffed from the bytes.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import math
import os
import re
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from ._validation import as_float_array, check_weight_values
from ._validation import as_points as _as_point_array

__all__ = [
    "Histogram",
    "HistogramFileError",
    "atomic_batch",
    "atomic_open",
    "atomic_write",
    "labels_path",
    "read_cost_matrix",
    "read_histogram",
    "write_matrix",
    "write_plan",
    "write_vector",
]

PathLike = str | os.PathLike[str]

KINDS = ("points", "grid")
#: Header names of a weight column: a text table whose header ends with one
#: of them (after named coordinate columns) is a point set without --points.
WEIGHT_NAMES = frozenset(
    {"weight", "weights", "w", "mass", "masses", "count", "counts", "probability", "prob",
     "p", "density", "frequency", "freq"}
)  # fmt: skip
#: First header names that mark a row index column (pandas writes "" or "Unnamed: 0").
INDEX_NAMES = frozenset({"", "unnamed: 0", "index", "idx"})
STDIN_NAME = "<stdin>"

_TEXT_EXTS = (".csv", ".tsv", ".txt")
_IMAGE_EXTS = (".png", ".pgm", ".ppm", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
_FORMAT_OF_EXT = {
    ".npy": "npy",
    ".npz": "npz",
    ".json": "json",
    **{ext: "text" for ext in _TEXT_EXTS},
    **{ext: "image" for ext in _IMAGE_EXTS},
}
# Text writers pick the delimiter from the extension so that the files they
# write read back through the same sniffing as hand-made ones.
_WRITE_DELIMITERS = {".csv": ",", ".tsv": "\t", ".txt": " "}
_PILLOW_HINT = 'reading images needs Pillow: pip install "emd-ot[images]"'


class HistogramFileError(ValueError):
    """A file (or standard input) that cannot be read or written as requested.

    The message is one line of the form ``"<file>: <problem>"``; the file name
    is also available as :attr:`source`.  Being a :class:`ValueError`, it is
    caught by code that handles bad input in general.

    Examples
    --------
    >>> err = HistogramFileError("a.csv: empty file", source="a.csv")
    >>> isinstance(err, ValueError), err.source
    (True, 'a.csv')
    """

    def __init__(self, message: str, *, source: str | None = None) -> None:
        # Library messages (json, numpy, Pillow) sometimes span lines; the CLI
        # prints ours verbatim, so keep them on one.
        super().__init__(" ".join(str(message).split()))
        self.source = source


def _fail(source: str, problem: str) -> HistogramFileError:
    return HistogramFileError(f"{source}: {problem}", source=source)


# ---------------------------------------------------------------------------
# The Histogram record
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class Histogram:
    """A distribution read from a file: weights on a grid or on a point set.

    Parameters
    ----------
    weights : numpy.ndarray
        Nonnegative finite float64 weights with positive total mass.  1-D for
        a point set or a 1-D grid (weights only), 2-D or 3-D for a grid.
    positions : numpy.ndarray or None
        Point coordinates, shape ``(n, d)``, for ``kind="points"``; ``None``
        for a grid, whose bins sit at integer coordinates.
    source : str
        Where the data came from: a file name or ``"<stdin>"``.
    kind : {"points", "grid"}, optional
        Inferred from ``positions`` when omitted.

    Raises
    ------
    HistogramFileError
        If the fields are inconsistent or the weights invalid; the message
        names ``source``.

    Notes
    -----
    Instances compare by identity (``eq=False``): comparing arrays elementwise
    has no single truth value.

    Examples
    --------
    >>> h = Histogram(np.array([[0.0, 1.0], [2.0, 1.0]]), source="grid.npy")
    >>> h
    Histogram(kind='grid', shape=(2, 2), mass=4, source='grid.npy')
    >>> h.ndim_grid
    2
    >>> positions, weights = h.as_points()
    >>> positions
    array([[0., 0.],
           [0., 1.],
           [1., 0.],
           [1., 1.]])
    >>> weights
    array([0., 1., 2., 1.])
    """

    weights: np.ndarray
    positions: np.ndarray | None = None
    source: str = "<array>"
    kind: str | None = None

    def __post_init__(self) -> None:
        source = self.source
        kind = self.kind
        if kind is None:
            kind = "grid" if self.positions is None else "points"
        if kind not in KINDS:
            raise _fail(source, f"kind must be 'points' or 'grid', got {kind!r}")
        positions = None
        try:
            if kind == "grid":
                if self.positions is not None:
                    raise ValueError("a grid histogram has no positions; use kind='points'")
                weights = as_float_array(self.weights, "weights", (1, 2, 3))
            else:
                if self.positions is None:
                    raise ValueError("a point set needs positions")
                weights = as_float_array(self.weights, "weights", 1)
                positions = _as_point_array(self.positions, "positions")
                if positions.shape[0] != weights.size:
                    raise ValueError(f"{positions.shape[0]} positions but {weights.size} weights")
            if weights.size == 0:
                raise ValueError("no weights (empty data)")
            check_weight_values(weights, "weights")
        except (TypeError, ValueError) as exc:
            raise _fail(source, str(exc)) from None
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "positions", positions)
        object.__setattr__(self, "kind", kind)

    @property
    def ndim_grid(self) -> int | None:
        """Number of grid axes (1, 2 or 3) for a grid; ``None`` for a point set."""
        return self.weights.ndim if self.kind == "grid" else None

    @property
    def dim(self) -> int:
        """Dimension of the space the mass lives in (grid axes or coordinates per point)."""
        if self.positions is not None:
            return int(self.positions.shape[1])
        return self.weights.ndim

    @property
    def mass(self) -> float:
        """Total mass, summed without cancellation error."""
        return math.fsum(self.weights.ravel().tolist())

    def as_points(self, *, nonzero: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Return the distribution as ``(positions, weights)`` of shapes (n, d) and (n,).

        Grid bins become points at their float index coordinates ``(i, j, k)``,
        enumerated in C order, so point ``m`` is ``weights.ravel()[m]``.

        Parameters
        ----------
        nonzero : bool, default False
            Drop bins or points of zero weight; they carry no mass but would
            still enlarge a transport problem.

        Returns
        -------
        positions : numpy.ndarray
            Float64 array of shape (n, d).
        weights : numpy.ndarray
            Float64 array of shape (n,).

        Examples
        --------
        >>> h = Histogram(np.array([3.0, 0.0, 1.0]))
        >>> pos, w = h.as_points(nonzero=True)
        >>> pos.ravel(), w
        (array([0., 2.]), array([3., 1.]))
        """
        if self.positions is not None:
            positions, weights = self.positions, self.weights
        else:
            shape = self.weights.shape
            positions = np.indices(shape, dtype=np.float64).reshape(len(shape), -1).T
            positions = np.ascontiguousarray(positions)
            weights = self.weights.ravel()
        if nonzero:
            keep = weights > 0
            positions, weights = positions[keep], weights[keep]
        return positions, weights

    def __repr__(self) -> str:
        if self.kind == "points":
            size = f"n={self.weights.size}, dim={self.dim}"
        else:
            size = f"shape={self.weights.shape}"
        mass = f"{self.mass:.6g}"
        return f"Histogram(kind={self.kind!r}, {size}, mass={mass}, source={self.source!r})"


# ---------------------------------------------------------------------------
# Getting the bytes and the format
# ---------------------------------------------------------------------------


def _sniff(data: bytes) -> str:
    """Guess the format of standard input, which has no file name to go by."""
    head = data.lstrip()
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:].lstrip()
    if head[:1] in (b"[", b"{"):
        return "json"
    if data.startswith(b"\x93NUMPY"):
        return "npy"
    if data.startswith(b"PK\x03\x04"):
        return "npz"
    if (
        data.startswith(b"\x89PNG\r\n\x1a\n")
        or data.startswith(b"\xff\xd8\xff")
        or data[:4] in (b"II*\x00", b"MM\x00*")
        # Netpbm magic is two printable bytes, so demand the whitespace that
        # follows it before taking text such as "P2,P5" for an image.
        or re.match(rb"P[1-6]\s", data[:3]) is not None
    ):
        return "image"
    return "text"


def _read_source(path: PathLike, formats: tuple[str, ...], what: str) -> tuple[bytes, str, str]:
    """Return ``(data, source_name, format)`` or raise HistogramFileError."""
    if isinstance(path, str) and path == "-":
        source = STDIN_NAME
        try:
            data = sys.stdin.buffer.read()
        except (AttributeError, OSError, ValueError) as exc:
            raise _fail(source, f"cannot read standard input ({exc})") from None
        fmt = _sniff(data)
        if fmt not in formats:
            raise _fail(source, f"looks like {fmt} data, which cannot hold {what}")
    else:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
        source = os.fspath(path)
        ext = Path(source).suffix.lower()
        fmt = _FORMAT_OF_EXT.get(ext, "")
        if fmt not in formats:
            allowed = ", ".join(e for e, f in _FORMAT_OF_EXT.items() if f in formats)
            problem = f"unknown extension {ext!r}" if ext else "no file extension"
            raise _fail(source, f"{problem} for {what} (expected one of {allowed})")
        try:
            data = Path(source).read_bytes()
        except FileNotFoundError:
            raise _fail(source, "no such file") from None
        except IsADirectoryError:
            raise _fail(source, "is a directory, not a file") from None
        except PermissionError:
            raise _fail(source, "permission denied") from None
        except OSError as exc:
            raise _fail(source, f"cannot read file ({exc.strerror or exc})") from None
    # isspace() rather than strip(): no copy of a large binary file.
    if not data or data.isspace():
        raise _fail(source, "empty input" if source == STDIN_NAME else "empty file")
    return data, source, fmt


# ---------------------------------------------------------------------------
# Text tables
# ---------------------------------------------------------------------------


def _decode(data: bytes, source: str) -> str:
    try:
        # utf-8-sig: spreadsheet exports often start with a byte-order mark.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _fail(source, f"not UTF-8 text (undecodable byte at offset {exc.start})") from None


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _sniff_delimiter(lines: list[str]) -> str | None:
    """Pick the delimiter of a sample of data lines; ``None`` means runs of whitespace.

    A delimiter found on every line wins, ties going to tab, then semicolon,
    then comma: a semicolon- or tab-separated file may contain decimal commas,
    while a comma-separated one rarely contains tabs or semicolons.  Failing
    that, a comma or semicolon on some lines still wins so that the ragged
    line is reported as such.  Tabs mixed with spaces are plain whitespace.
    """
    for delim in ("\t", ";", ","):
        if all(delim in line for line in lines):
            if delim == "\t" and any(
                len(field.split()) > 1 for line in lines for field in line.split("\t")
            ):
                return None
            return delim
    best, best_score = None, 0
    for delim in (";", ","):
        score = sum(delim in line for line in lines)
        if score > best_score:
            best, best_score = delim, score
    return best


def _parse_table(text: str, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Parse delimited text into a 2-D float array and the file line of each row."""
    values, line_of_row, _ = _parse_table_with_header(text, source)
    return values, line_of_row


def _header_name(field: str) -> str:
    return field.strip().strip("\"'").strip().lower()


def _parse_table_with_header(
    text: str, source: str
) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    """Like :func:`_parse_table`, plus the header's column names (``None`` without one)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    content = [
        (number, line.strip())
        for number, line in enumerate(lines, start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not content:
        raise _fail(source, "no data (only blank or comment lines)")
    delim = _sniff_delimiter([line for _, line in content[:50]])
    header = None
    first_fields = content[0][1].split(delim)
    if (
        len(first_fields) > 1
        and not first_fields[0].strip()
        and all(_is_number(field) for field in first_fields[1:])
    ):
        # pandas' DataFrame.to_csv() of a matrix: column labels 0, 1, ... over
        # an index column.  Reading either as data would shift every value.
        raise _fail(
            source,
            f"line {content[0][0]} looks like pandas column labels over an index column; "
            "write the table without them (to_csv(index=False, header=False))",
        )
    # A header is a first line none of whose fields is a number: a first row
    # with some numbers and one typo is far more likely a broken data row,
    # which should be reported rather than silently dropped.
    if not any(_is_number(field) for field in first_fields):
        header_line = content[0][0]
        header = [_header_name(field) for field in first_fields]
        content = content[1:]
        if not content:
            raise _fail(source, f"no data rows after the header on line {header_line}")

    first_number, first_line = content[0]
    ncols = len(first_line.split(delim))
    values = np.empty((len(content), ncols))
    line_of_row = np.empty(len(content), dtype=np.int64)
    for row, (number, line) in enumerate(content):
        fields = line.split(delim)
        if len(fields) != ncols:
            raise _fail(
                source,
                f"ragged rows: line {number} has {len(fields)} fields "
                f"but line {first_number} has {ncols}",
            )
        try:
            values[row] = [float(field) for field in fields]
        except ValueError:
            column, bad = next(
                (c, f.strip()) for c, f in enumerate(fields, start=1) if not _is_number(f)
            )
            if not bad:
                problem = f"empty field in column {column}"
            else:
                problem = f"cannot parse {bad!r} in column {column} as a number"
            raise _fail(source, f"line {number}: {problem}") from None
        line_of_row[row] = number
    return values, line_of_row, header


# ---------------------------------------------------------------------------
# Binary and structured formats
# ---------------------------------------------------------------------------


def _numeric(arr: np.ndarray, source: str, what: str = "array") -> np.ndarray:
    if not isinstance(arr, np.ndarray):
        # An .npz member that is not itself an .npy file loads as raw bytes.
        raise _fail(source, f"{what} is not a NumPy array")
    if arr.ndim == 0:
        raise _fail(source, f"{what} is a single number, not an array")
    try:
        return as_float_array(arr, what, arr.ndim)
    except (TypeError, ValueError) as exc:
        raise _fail(source, str(exc)) from None


def _load_npy(data: bytes, source: str) -> np.ndarray:
    # Checking the magic first gives a clear message for a mislabelled file
    # instead of numpy's complaint about pickled data.
    if not data.startswith(b"\x93NUMPY"):
        raise _fail(source, "not a NumPy .npy file (missing the \\x93NUMPY header)")
    try:
        arr = np.load(io.BytesIO(data), allow_pickle=False)
    # A corrupt header makes numpy raise SyntaxError, tokenize.TokenError and
    # more; a header declaring a huge shape, MemoryError.  All mean "bad file".
    except Exception as exc:
        raise _fail(source, f"cannot load .npy data: {exc}") from None
    return _numeric(arr, source)


def _load_npz(data: bytes, source: str) -> dict[str, np.ndarray]:
    if not data.startswith(b"PK"):
        raise _fail(source, "not a NumPy .npz archive (not a zip file)")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    # As for .npy, plus whatever zipfile and zlib raise on a corrupt archive.
    except Exception as exc:
        raise _fail(source, f"cannot load .npz data: {exc}") from None
    if not arrays:
        raise _fail(source, "empty .npz archive (no arrays)")
    return {name: _numeric(arr, source, name) for name, arr in arrays.items()}


def _load_json(data: bytes, source: str) -> Any:
    text = _decode(data, source)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise _fail(source, f"invalid JSON at {where}: {exc.msg}") from None
    except RecursionError:
        raise _fail(source, "invalid JSON: nested too deeply") from None


def _json_array(obj: Any, source: str, what: str) -> np.ndarray:
    """Convert nested JSON lists of numbers to an array, naming the first bad entry."""
    if not isinstance(obj, list):
        got = _json_type(obj)
        raise _fail(source, f"{what} must be a list of numbers or nested lists, got {got}")
    shape: list[int] = []
    node: Any = obj
    while isinstance(node, list):
        shape.append(len(node))
        if not node:
            break
        node = node[0]

    def check(item: Any, depth: int, where: str) -> None:
        if depth < len(shape):
            if not isinstance(item, list):
                raise _fail(source, f"ragged nested lists: {where} is a number, expected a list")
            if len(item) != shape[depth]:
                raise _fail(
                    source,
                    f"ragged nested lists: {where} has {len(item)} entries, "
                    f"expected {shape[depth]}",
                )
            for i, child in enumerate(item):
                check(child, depth + 1, f"{where}[{i}]")
        elif isinstance(item, list):
            raise _fail(source, f"ragged nested lists: {where} is a list, expected a number")
        elif isinstance(item, bool) or not isinstance(item, (int, float)):
            raise _fail(source, f"{where} is {_json_type(item)}, not a number")

    check(obj, 0, what)
    try:
        return np.array(obj, dtype=np.float64)
    except OverflowError:
        raise _fail(source, f"{what} holds an integer too large for a float") from None


def _json_type(value: Any) -> str:
    if isinstance(value, str):
        return f"the string {value!r}" if len(value) < 30 else "a string"
    return {bool: "a boolean", type(None): "null", dict: "an object", list: "a list"}.get(
        type(value), type(value).__name__
    )


def _load_image(data: bytes, source: str) -> np.ndarray:
    try:
        from PIL import Image
    except ImportError:
        raise _fail(source, _PILLOW_HINT) from None
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            mode = img.mode
            if mode in ("L", "F"):
                arr = np.asarray(img, dtype=np.float64)
            elif mode.startswith("I"):
                # 16- and 32-bit grey levels: "I" keeps every level, whereas
                # "L" would squash them to 8 bits and "F" to float32.
                arr = np.asarray(img.convert("I"), dtype=np.float64)
            else:
                # Colour, palette, alpha and bilevel images: Pillow's "F"
                # conversion is the ITU-R 601-2 luminance of "L" without the
                # rounding to integers.
                arr = np.asarray(img.convert("F"), dtype=np.float64)
    # Pillow reports corrupt data through OSError, SyntaxError, ValueError,
    # struct.error, DecompressionBombError and more; all mean "bad image".
    except Exception as exc:
        raise _fail(source, f"cannot decode image: {exc}") from None
    return np.ascontiguousarray(arr)


# ---------------------------------------------------------------------------
# Building a validated Histogram
# ---------------------------------------------------------------------------


def _first_index(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(mask)), mask.shape))


def _make(
    weights: np.ndarray,
    positions: np.ndarray | None,
    kind: str,
    source: str,
    line_of_row: np.ndarray | None = None,
) -> Histogram:
    """Build a Histogram, adding the file line to weight errors in text input."""
    if line_of_row is not None:
        for name, values, check in (
            ("weights", weights, check_weight_values),
            ("positions", positions, _check_coordinates),
        ):
            if values is None:
                continue
            bad = ~np.isfinite(values) | (values < 0 if name == "weights" else False)
            try:
                check(values, name)
            except ValueError as exc:
                line = f" (line {line_of_row[_first_index(bad)[0]]})" if bad.any() else ""
                raise _fail(source, f"{exc}{line}") from None
    if kind == "grid" and weights.ndim not in (1, 2, 3):
        raise _fail(source, f"a weight grid must be 1-, 2- or 3-D, got shape {weights.shape}")
    return Histogram(weights=weights, positions=positions, source=source, kind=kind)


def _check_coordinates(positions: np.ndarray, name: str) -> None:
    _as_point_array(positions, name)


def _from_array(arr: np.ndarray, kind: str | None, source: str) -> Histogram:
    """Interpret a bare array: a weight grid, or ``[coords..., weight]`` rows for points."""
    if kind == "points":
        if arr.ndim != 2 or arr.shape[1] < 2:
            raise _fail(
                source,
                "kind='points' needs a 2-D array of rows [coordinates..., weight], "
                f"got shape {arr.shape}",
            )
        return _make(arr[:, -1], arr[:, :-1], "points", source)
    return _make(arr, None, "grid", source)


def _points_or_weights(
    weights: np.ndarray, positions: np.ndarray | None, kind: str | None, source: str
) -> Histogram:
    """Interpret explicit ``weights`` (and maybe ``positions``) from npz or JSON."""
    if positions is None:
        return _from_array(weights, kind, source)
    if kind == "grid":
        raise _fail(source, "kind='grid' does not apply: the file holds positions (a point set)")
    if weights.ndim != 1:
        raise _fail(source, f"weights of a point set must be 1-D, got shape {weights.shape}")
    if positions.shape[0] != weights.size:
        raise _fail(source, f"{positions.shape[0]} positions but {weights.size} weights")
    return _make(weights, positions, "points", source)


# ---------------------------------------------------------------------------
# Public readers
# ---------------------------------------------------------------------------


def read_histogram(path: PathLike, *, kind: str | None = None) -> Histogram:
    """Read a distribution from a file or from standard input.

    Parameters
    ----------
    path : str or os.PathLike
        The file; its extension selects the format (see the module docstring).
        ``"-"`` reads standard input and sniffs the format from its bytes:
        JSON if it starts with ``[`` or ``{``, NPY/NPZ/PNG/PGM/JPEG/TIFF by
        their magic bytes, delimited text otherwise.
    kind : {"points", "grid"}, optional
        Force an interpretation: ``"points"`` reads a 2-D ``.npy``/JSON array
        as rows of coordinates followed by a weight; ``"grid"`` reads a
        multi-column text file as a 2-D grid of weights.  Without it, arrays
        are grids, one text column is a 1-D grid, and several text columns
        are a point set only under a header naming a weight column last
        (otherwise the table is refused as ambiguous).

    Returns
    -------
    Histogram
        Validated float64 weights (finite, nonnegative, positive total).

    Raises
    ------
    HistogramFileError
        For a missing file, unknown extension, unparsable or ragged content,
        invalid weights or coordinates, mismatched lengths, an empty file, an
        image without Pillow, or a ``kind`` that does not fit the data.  The
        message names the file, and the line for text input.
    ValueError
        If ``kind`` is not one of the accepted values.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp, "points.csv")
    ...     _ = path.write_text("x,y,weight\\n0,0,1\\n3,4,2\\n")
    ...     hist = read_histogram(path)
    >>> hist.kind, hist.positions.tolist(), hist.weights.tolist()
    ('points', [[0.0, 0.0], [3.0, 4.0]], [1.0, 2.0])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp, "grid.txt")
    ...     _ = path.write_text("1 2 3\\n4 5 6\\n")
    ...     read_histogram(path, kind="grid").weights
    array([[1., 2., 3.],
           [4., 5., 6.]])
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be 'points', 'grid' or None, got {kind!r}")
    data, source, fmt = _read_source(path, ("npy", "npz", "text", "json", "image"), "a histogram")
    try:
        if fmt == "npy":
            return _from_array(_load_npy(data, source), kind, source)
        if fmt == "npz":
            return _histogram_from_npz(_load_npz(data, source), kind, source)
        if fmt == "json":
            return _histogram_from_json(_load_json(data, source), kind, source)
        if fmt == "image":
            if kind == "points":
                raise _fail(source, "kind='points' does not apply: an image is a grid")
            return _make(_load_image(data, source), None, "grid", source)
        return _histogram_from_text(_decode(data, source), kind, source)
    except HistogramFileError:
        raise
    except (TypeError, ValueError) as exc:
        # Safety net: whatever slipped past the specific checks is still bad
        # content in this file, and must not surface as a bare traceback.
        raise _fail(source, str(exc)) from None


def _histogram_from_npz(arrays: dict[str, np.ndarray], kind: str | None, source: str) -> Histogram:
    names = set(arrays)
    if "weights" not in names:
        if len(names) == 1:
            return _from_array(next(iter(arrays.values())), kind, source)
        raise _fail(
            source,
            f"expected arrays 'weights' and optional 'positions', found {_names(names)}",
        )
    extra = names - {"weights", "positions"}
    if extra:
        raise _fail(source, f"unexpected arrays {_names(extra)} besides 'weights'/'positions'")
    positions = arrays.get("positions")
    if positions is not None and positions.ndim == 1:
        positions = positions[:, None]
    return _points_or_weights(arrays["weights"], positions, kind, source)


def _histogram_from_json(obj: Any, kind: str | None, source: str) -> Histogram:
    if isinstance(obj, list):
        return _from_array(_json_array(obj, source, "weights"), kind, source)
    if not isinstance(obj, dict):
        raise _fail(
            source,
            "expected a list of weights, nested lists, or an object with 'weights' "
            f"and optional 'positions'; got {_json_type(obj)}",
        )
    if "weights" not in obj:
        raise _fail(source, f"JSON object has no 'weights' key (keys: {_names(obj)})")
    # Unknown keys are refused: a misspelt "position" would otherwise turn a
    # point set silently into a grid.
    extra = set(obj) - {"weights", "positions"}
    if extra:
        raise _fail(source, f"unexpected JSON keys {_names(extra)} besides 'weights'/'positions'")
    weights = _json_array(obj["weights"], source, "weights")
    positions = None
    if obj.get("positions") is not None:
        positions = _json_array(obj["positions"], source, "positions")
        if positions.ndim == 1:
            positions = positions[:, None]
        elif positions.ndim != 2:
            raise _fail(source, f"positions must be a list of points, got shape {positions.shape}")
    return _points_or_weights(weights, positions, kind, source)


def _histogram_from_text(text: str, kind: str | None, source: str) -> Histogram:
    values, line_of_row, header = _parse_table_with_header(text, source)
    ncols = values.shape[1]
    if header is not None and ncols > 1 and header[0] in INDEX_NAMES:
        shown = header[0] or "an empty name"
        raise _fail(
            source,
            f"column 1 of the header ({shown}) is a row index, as pandas writes one, not "
            "data; write the file without it (to_csv(index=False)) or delete the column",
        )
    if kind == "grid" or (kind is None and ncols == 1):
        weights = values[:, 0] if ncols == 1 else values
        return _make(weights, None, "grid", source, line_of_row)
    if ncols < 2:
        raise _fail(
            source,
            "a point set needs coordinate columns followed by a weight column, "
            "but the file has 1 column",
        )
    if kind is None and not _names_a_point_set(header):
        _refuse_ambiguous_table(values, source, line_of_row)
    return _make(values[:, -1], values[:, :-1], "points", source, line_of_row)


def _names_a_point_set(header: list[str] | None) -> bool:
    """Whether a header declares rows of points: named coordinates, then a weight column."""
    if header is None or len(header) < 2:
        return False
    return header[-1] in WEIGHT_NAMES and all(header[:-1])


def _refuse_ambiguous_table(values: np.ndarray, source: str, line_of_row: np.ndarray) -> None:
    """Stop on a multi-column table without a header that says what it holds.

    A grid and a point set give different distances, so the reader never
    picks one; the message offers each reading that the data admit.
    """
    nrows, ncols = values.shape
    offers, problems = [], []
    try:
        _make(values, None, "grid", source, line_of_row)
        offers.append(f"--grid to read it as a {nrows} x {ncols} grid of weights")
    except HistogramFileError as exc:
        problems.append(f"as a grid: {str(exc).removeprefix(source + ': ')}")
    try:
        _make(values[:, -1], values[:, :-1], "points", source, line_of_row)
        coords = "1 coordinate" if ncols == 2 else f"{ncols - 1} coordinates"
        offers.append(f"--points to read each row as {coords} then a weight")
    except HistogramFileError as exc:
        problems.append(f"as points: {str(exc).removeprefix(source + ': ')}")
    what = f"a table of {nrows} rows x {ncols} columns without a header naming its columns"
    if not offers:
        raise _fail(source, f"{what} is neither a grid nor a point set ({'; '.join(problems)})")
    raise _fail(
        source,
        f"{what} could be a grid of weights or a point set: pass {' or '.join(offers)}"
        + (f" ({problems[0]})" if problems else ""),
    )


def _names(names: Any) -> str:
    return ", ".join(repr(n) for n in sorted(names))


def read_cost_matrix(path: PathLike) -> np.ndarray:
    """Read a dense 2-D cost matrix of finite numbers.

    Parameters
    ----------
    path : str or os.PathLike
        ``.npy``; ``.npz`` with a single array or an array named ``cost``;
        ``.csv``/``.tsv``/``.txt`` with one matrix row per line (a header
        line is skipped); ``.json`` as nested lists; or ``"-"`` for standard
        input.

    Returns
    -------
    numpy.ndarray
        C-contiguous float64 array of shape (m, n) with m, n >= 1.

    Raises
    ------
    HistogramFileError
        For a missing or unreadable file, unknown extension, unparsable or
        ragged content, a non-2-D array, or a NaN/inf entry (with its row and
        column, and line for text).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp, "cost.csv")
    ...     _ = path.write_text("0,1.5\\n1.5,0\\n")
    ...     read_cost_matrix(path)
    array([[0. , 1.5],
           [1.5, 0. ]])
    """
    data, source, fmt = _read_source(path, ("npy", "npz", "text", "json"), "a cost matrix")
    line_of_row = None
    if fmt == "npy":
        cost = _load_npy(data, source)
    elif fmt == "npz":
        arrays = _load_npz(data, source)
        if "cost" in arrays:
            cost = arrays["cost"]
        elif len(arrays) == 1:
            cost = next(iter(arrays.values()))
        else:
            raise _fail(source, f"expected one array or one named 'cost', found {_names(arrays)}")
    elif fmt == "json":
        cost = _json_array(_load_json(data, source), source, "cost matrix")
    else:
        cost, line_of_row = _parse_table(_decode(data, source), source)
    if cost.ndim != 2:
        raise _fail(source, f"a cost matrix must be 2-D, got shape {cost.shape}")
    if cost.size == 0:
        raise _fail(source, f"empty cost matrix, shape {cost.shape}")
    finite = np.isfinite(cost)
    if not finite.all():
        row, col = _first_index(~finite)
        line = f" (line {line_of_row[row]})" if line_of_row is not None else ""
        raise _fail(source, f"non-finite cost {cost[row, col]} at row {row}, column {col}{line}")
    return np.ascontiguousarray(cost, dtype=np.float64)


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
        text_args = {} if mode == "wb" else {"encoding": "utf-8", "newline": ""}
        with os.fdopen(fd, mode, **text_args) as fh:
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
    """Write a 2-D array as ``.npy``, ``.npz`` or delimited text, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        ``.npy``, ``.npz``, ``.csv`` (comma), ``.tsv`` (tab), ``.txt``
        (space), or ``"-"`` for CSV on standard output.  Text holds the
        shortest decimal form of each float that reads back to exactly the
        same value.
    array : array_like
        2-D array of real numbers.
    labels : sequence of str, optional
        Names of the columns (for a distance matrix, also of the rows): a
        first line of quoted names in text (skipped by
        :func:`read_cost_matrix`, as a header without numbers), an array
        ``labels`` beside ``matrix`` in ``.npz``, and for ``.npy``, which
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
    ext, delim = _output_kind(path, (".npy", ".npz", *_TEXT_EXTS), "a matrix")
    arr = as_float_array(array, "array", 2)
    names = None
    if labels is not None:
        names = [str(label) for label in labels]
        if len(names) != arr.shape[1]:
            raise ValueError(f"{len(names)} labels for a matrix of {arr.shape[1]} columns")
        if any("\n" in name or "\r" in name for name in names):
            raise ValueError("labels must be single lines")
    if ext == ".npz":

        def save(fh: IO[bytes]) -> None:
            extra = {} if names is None else {"labels": np.array(names, dtype=str)}
            np.savez(fh, matrix=arr, **extra)

        atomic_write(path, save)
        return
    if ext == ".npy":
        with atomic_batch():
            atomic_write(path, lambda fh: np.save(fh, arr, allow_pickle=False))
            if names is not None:
                _write_text(labels_path(path), "".join(name + "\n" for name in names))
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
            np.savez(fh, **dict(zip(keys, (rows_arr, cols_arr, masses_arr), strict=True)))

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
