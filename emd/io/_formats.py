"""Getting the bytes of a source, telling its format, and parsing each format into arrays."""

from __future__ import annotations

import io
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import as_float_array
from ._histogram import STDIN_NAME, PathLike, _fail

#: Header names of a weight column: a text table whose header ends with one
#: of them (after named coordinate columns) is a point set without --points.
WEIGHT_NAMES = frozenset(
    {"weight", "weights", "w", "mass", "masses", "count", "counts", "probability", "prob",
     "p", "density", "frequency", "freq"}
)  # fmt: skip
#: First header names that mark a row index column (pandas writes "" or "Unnamed: 0").
INDEX_NAMES = frozenset({"", "unnamed: 0", "index", "idx"})

_TEXT_EXTS = (".csv", ".tsv", ".txt")
_IMAGE_EXTS = (".png", ".pgm", ".ppm", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
_FORMAT_OF_EXT = {
    ".npy": "npy",
    ".npz": "npz",
    ".json": "json",
    **{ext: "text" for ext in _TEXT_EXTS},
    **{ext: "image" for ext in _IMAGE_EXTS},
}
_PILLOW_HINT = 'reading images needs Pillow: pip install "emd-ot[images]"'


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
