"""Validated histograms and cost matrices from files: the public readers."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_points as _as_point_array
from .._validation import check_weight_values
from ._formats import (
    INDEX_NAMES,
    WEIGHT_NAMES,
    _decode,
    _json_array,
    _json_type,
    _load_image,
    _load_json,
    _load_npy,
    _load_npz,
    _parse_table,
    _parse_table_with_header,
    _read_source,
)
from ._histogram import KINDS, Histogram, HistogramFileError, PathLike, _fail

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
                "cannot be read as a point set: that needs a 2-D array of rows "
                f"[coordinates..., weight], got shape {arr.shape}",
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
        raise _fail(source, "cannot be read as a grid: the file holds positions (a point set)")
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
                raise _fail(source, "cannot be read as a point set: an image is a grid")
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
        line is skipped); ``.json`` as nested lists, or an object holding
        them under ``"matrix"`` (as :func:`write_matrix` writes it); or
        ``"-"`` for standard input.

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
        obj = _load_json(data, source)
        if isinstance(obj, dict) and "matrix" in obj:
            obj = obj["matrix"]
        cost = _json_array(obj, source, "cost matrix")
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
