"""Tests of emd.io: readers, writers and the example data files."""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import json
import math
import os
import pickle
import stat
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from emd.io import (
    Histogram,
    HistogramFileError,
    atomic_open,
    atomic_write,
    read_cost_matrix,
    read_histogram,
    write_matrix,
    write_plan,
    write_vector,
)

DATA = Path(__file__).resolve().parents[1] / "examples" / "data"


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_bytes(content.encode("utf-8"))
    else:
        path.write_bytes(content)
    return path


def npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def npz_bytes(**arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def image_bytes(arr: np.ndarray, fmt: str) -> bytes:
    pil = pytest.importorskip("PIL.Image")
    buf = io.BytesIO()
    pil.fromarray(arr).save(buf, format=fmt)
    return buf.getvalue()


def expect_error(call, source: str | Path, *fragments: str) -> str:
    """Run ``call`` and check the error is a one-line HistogramFileError naming the file."""
    with pytest.raises(HistogramFileError) as info:
        call()
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert message.startswith(f"{source}: "), message
    assert "\n" not in message
    assert info.value.source == str(source)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def short_id(value: object) -> str | None:
    """Readable test ids for parametrised byte strings and very long text."""
    if isinstance(value, bytes):
        return f"{len(value)}bytes"
    if isinstance(value, str) and len(value) > 24:
        return value[:24] + "..."
    return None


@pytest.fixture
def stdin(monkeypatch):
    def feed(data: bytes) -> None:
        monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(data)))

    return feed


# ---------------------------------------------------------------------------
# Histogram
# ---------------------------------------------------------------------------


def test_histogram_grid_fields_and_helpers():
    h = Histogram(np.arange(6, dtype=np.int32).reshape(2, 3), source="g.npy")
    assert h.kind == "grid" and h.positions is None
    assert h.weights.dtype == np.float64 and h.weights.flags.c_contiguous
    assert h.ndim_grid == 2 and h.dim == 2 and h.mass == 15.0
    assert repr(h) == "Histogram(kind='grid', shape=(2, 3), mass=15, source='g.npy')"
    pos, w = h.as_points()
    np.testing.assert_array_equal(pos, [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]])
    np.testing.assert_array_equal(w, np.arange(6.0))
    pos, w = h.as_points(nonzero=True)
    assert len(pos) == 5 and w.min() > 0


def test_histogram_3d_grid_points_are_c_order():
    weights = np.arange(1.0, 25.0).reshape(2, 3, 4)
    pos, w = Histogram(weights).as_points()
    assert pos.shape == (24, 3)
    for m in range(24):
        assert weights[tuple(pos[m].astype(int))] == w[m]


def test_histogram_points():
    h = Histogram([1.0, 2.0], positions=[[0.0, 1.0], [2.0, 3.0]], source="p.csv")
    assert h.kind == "points" and h.ndim_grid is None and h.dim == 2
    assert repr(h) == "Histogram(kind='points', n=2, dim=2, mass=3, source='p.csv')"
    pos, w = h.as_points()
    assert pos is h.positions and w is h.weights
    h1 = Histogram([1.0, 2.0], positions=[5.0, 6.0])
    assert h1.positions.shape == (2, 1)


def test_histogram_is_frozen():
    h = Histogram([1.0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        h.kind = "points"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"weights": [1.0, 2.0], "positions": [[0.0], [1.0], [2.0]]}, "3 positions but 2"),
        ({"weights": [1.0], "positions": [[0.0]], "kind": "grid"}, "has no positions"),
        ({"weights": [1.0], "kind": "points"}, "needs positions"),
        ({"weights": np.ones((2, 2, 2, 2))}, "shape (2, 2, 2, 2)"),
        ({"weights": [1.0, -1.0]}, "negative weight -1.0 at index 1"),
        ({"weights": [0.0, 0.0]}, "zero total mass"),
        ({"weights": []}, "empty"),
        ({"weights": [1.0], "kind": "cloud"}, "kind must be"),
    ],
)
def test_histogram_rejects_bad_fields(kwargs, fragment):
    expect_error(lambda: Histogram(source="x.npz", **kwargs), "x.npz", fragment)


# ---------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------


def test_text_single_column_with_header(tmp_path):
    path = write(tmp_path, "h.csv", "weight\n1\n2.5\n0\n")
    h = read_histogram(path)
    assert h.kind == "grid" and h.source == str(path)
    np.testing.assert_array_equal(h.weights, [1.0, 2.5, 0.0])


def test_text_without_header_and_str_path(tmp_path):
    path = write(tmp_path, "h.txt", "3\n4\n")
    np.testing.assert_array_equal(read_histogram(str(path)).weights, [3.0, 4.0])


@pytest.mark.parametrize(
    "content",
    [
        "x,y,weight\n0,1,2\n3,4,5\n",
        "x\ty\tweight\n0\t1\t2\n3\t4\t5\n",
        "x;y;weight\n0;1;2\n3;4;5\n",
        "x y weight\n0 1 2\n3   4\t5\n",
        "x, y, weight\n0, 1, 2\n3 ,4 , 5\n",
        "\ufeffx,y,weight\r\n0,1,2\r\n\r\n# comment\r\n3,4,5\r\n",
        "X,Y,Mass\n0,1,2\n3,4,5\n",
    ],
    ids=["comma", "tab", "semicolon", "whitespace", "comma-spaces", "bom-crlf", "mass"],
)
def test_text_points_delimiters_and_headers(tmp_path, content):
    h = read_histogram(write(tmp_path, "p.csv", content))
    assert h.kind == "points"
    np.testing.assert_array_equal(h.positions, [[0, 1], [3, 4]])
    np.testing.assert_array_equal(h.weights, [2, 5])


@pytest.mark.parametrize(
    "content",
    ["0,1,2\n3,4,5\n", "a,b,c\n0,1,2\n3,4,5\n", "x,weight,y\n0,1,2\n3,4,5\n"],
    ids=["no-header", "header-without-weight", "weight-not-last"],
)
def test_text_table_layout_is_never_guessed(tmp_path, content):
    # As a grid this is W1 between 2 x 3 grids; as points, between 2 points:
    # the answers differ, so the reader asks.
    path = write(tmp_path, "t.csv", content)
    expect_error(lambda: read_histogram(path), path, "--grid", "--points", "2 x 3 grid")
    assert read_histogram(path, kind="points").positions.tolist() == [[0, 1], [3, 4]]
    assert read_histogram(path, kind="grid").weights.shape == (2, 3)


def test_ambiguous_table_offers_only_readings_that_work(tmp_path):
    # The shipped image table: its last column is all zero, so as points it has no mass.
    err = expect_error(lambda: read_histogram(DATA / "image_a.csv"), DATA / "image_a.csv", "--grid")
    assert "--points" not in str(err) and "zero total mass" in str(err)
    assert read_histogram(DATA / "image_a.csv", kind="grid").weights.shape == (16, 16)
    # Negative coordinates cannot be grid weights: only --points is offered.
    path = write(tmp_path, "n.csv", "-1,2\n3,4\n")
    err = expect_error(lambda: read_histogram(path), path, "--points", "1 coordinate")
    assert "--grid to" not in str(err)
    # Neither reading works: both problems are named.
    path = write(tmp_path, "z.csv", "-1,0\n3,0\n")
    expect_error(lambda: read_histogram(path), path, "neither a grid nor a point set")


@pytest.mark.parametrize("kind", [None, "points", "grid"])
@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (",x,weight\n0,0,1\n1,3,2\n", ("row index", "index=False")),
        ("Unnamed: 0,x,weight\n0,0,1\n1,3,2\n", ("row index", "unnamed: 0")),
        ("index,x,weight\n0,0,1\n1,3,2\n", ("row index",)),
        (",0,1\n0,1,2\n1,3,4\n", ("line 1", "pandas column labels")),
    ],
    ids=["empty", "unnamed", "index", "matrix-labels"],
)
def test_pandas_index_column_is_never_a_coordinate(tmp_path, kind, content, fragments):
    path = write(tmp_path, "p.csv", content)
    expect_error(lambda: read_histogram(path, kind=kind), path, *fragments)


def test_text_header_with_spaces_and_numbers(tmp_path):
    path = write(tmp_path, "p.csv", "pos 1,pos 2,weight\n0,1,2\n3,4,5\n")
    assert read_histogram(path).weights.tolist() == [2.0, 5.0]
    # A numeric-looking header is data, so the typo in it is reported.
    path = write(tmp_path, "q.csv", "1,2x,3\n0,1,2\n")
    expect_error(lambda: read_histogram(path), path, "line 1", "'2x'")


def test_error_pickles_with_source():
    err = pickle.loads(pickle.dumps(HistogramFileError("a.csv: bad", source="a.csv")))
    assert str(err) == "a.csv: bad" and err.source == "a.csv"


def test_text_semicolon_wins_over_decimal_commas(tmp_path):
    path = write(tmp_path, "p.csv", "1;2,5\n")
    expect_error(lambda: read_histogram(path), path, "line 1", "'2,5'")


def test_text_kind_grid_reads_a_matrix(tmp_path):
    path = write(tmp_path, "g.csv", "# an image\n1,2,3\n4,5,6\n")
    h = read_histogram(path, kind="grid")
    assert h.kind == "grid" and h.weights.shape == (2, 3)
    np.testing.assert_array_equal(h.weights, [[1, 2, 3], [4, 5, 6]])
    assert read_histogram(write(tmp_path, "c.csv", "1\n2\n"), kind="grid").weights.shape == (2,)


def test_text_kind_points_needs_a_weight_column(tmp_path):
    path = write(tmp_path, "w.csv", "weight\n1\n2\n")
    expect_error(lambda: read_histogram(path, kind="points"), path, "1 column")


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        ("1,2\n3,4\n5\n", ("ragged rows", "line 3 has 1 fields", "line 1 has 2")),
        ("weight\n1\n2\nabc\n", ("line 4", "'abc'")),
        ("1,x\n2,3\n", ("line 1", "'x'", "column 2")),
        ("1,,2\n", ("line 1", "empty field in column 2")),
        ("1\t\t2\n", ("line 1", "empty field in column 2")),
        ("weight\n1\nnan\n", ("non-finite weight nan at index 1", "(line 3)")),
        ("weight\n1\n\n2\ninf\n", ("non-finite weight inf at index 2", "(line 5)")),
        ("1\n-2\n", ("negative weight -2.0 at index 1", "(line 2)")),
        ("0,0,1\n0,inf,1\n", ("non-finite coordinate inf at index (1, 1)", "(line 2)")),
        ("0\n0\n", ("zero total mass",)),
        ("weight\n", ("no data rows after the header on line 1",)),
        ("# only\n\n", ("no data",)),
        ("   \n\n", ("empty file",)),
        ("", ("empty file",)),
    ],
    ids=short_id,
)
def test_text_errors(tmp_path, content, fragments):
    path = write(tmp_path, "bad.csv", content)
    expect_error(lambda: read_histogram(path), path, *fragments)


def test_text_grid_error_names_line(tmp_path):
    path = write(tmp_path, "g.tsv", "1\t2\n3\t-4\n")
    expect_error(lambda: read_histogram(path, kind="grid"), path, "index (1, 1)", "(line 2)")


def test_text_not_utf8(tmp_path):
    path = write(tmp_path, "bin.csv", b"\x00\xff\xfe\x93garbage")
    expect_error(lambda: read_histogram(path), path, "not UTF-8")


# ---------------------------------------------------------------------------
# NPY / NPZ
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4)])
def test_npy_grids(tmp_path, shape):
    arr = np.arange(np.prod(shape), dtype=np.int64).reshape(shape)
    h = read_histogram(write(tmp_path, "g.npy", npy_bytes(arr)))
    assert h.kind == "grid" and h.ndim_grid == len(shape)
    np.testing.assert_array_equal(h.weights, arr)
    assert h.weights.dtype == np.float64


def test_npy_kind_points(tmp_path):
    arr = np.array([[0.0, 0.0, 1.0], [1.0, 2.0, 3.0]])
    h = read_histogram(write(tmp_path, "p.npy", npy_bytes(arr)), kind="points")
    np.testing.assert_array_equal(h.positions, arr[:, :2])
    np.testing.assert_array_equal(h.weights, arr[:, 2])


def test_npy_fortran_and_big_endian(tmp_path):
    arr = np.asfortranarray(np.arange(6.0).reshape(2, 3)).astype(">f8")
    h = read_histogram(write(tmp_path, "g.npy", npy_bytes(arr)))
    np.testing.assert_array_equal(h.weights, np.arange(6.0).reshape(2, 3))


@pytest.mark.parametrize(
    ("content", "kind", "fragments"),
    [
        (npy_bytes(np.ones(3)), "points", ("as a point set", "shape (3,)")),
        (npy_bytes(np.ones((2, 2, 2, 2))), None, ("1-, 2- or 3-D", "(2, 2, 2, 2)")),
        (npy_bytes(np.array(["a", "b"])), None, ("real numbers",)),
        (npy_bytes(np.array([1 + 2j])), None, ("complex",)),
        (npy_bytes(np.array(3.0)), None, ("single number",)),
        (npy_bytes(np.zeros(0)), None, ("empty",)),
        (npy_bytes(np.array([[1.0, 2.0], [np.nan, 1.0]])), None, ("nan at index (1, 0)",)),
        (npy_bytes(np.array([1, None], dtype=object)), None, ("cannot load .npy",)),
        (npy_bytes(np.ones(100))[:-40], None, ("cannot load .npy",)),
        (b"1,2,3\n", None, ("not a NumPy .npy file",)),
    ],
    ids=short_id,
)
def test_npy_errors(tmp_path, content, kind, fragments):
    path = write(tmp_path, "bad.npy", content)
    expect_error(lambda: read_histogram(path, kind=kind), path, *fragments)


def test_npz_points_and_grids(tmp_path):
    pos = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    h = read_histogram(write(tmp_path, "p.npz", npz_bytes(weights=np.ones(3), positions=pos)))
    assert h.kind == "points"
    np.testing.assert_array_equal(h.positions, pos)
    h = read_histogram(write(tmp_path, "p1.npz", npz_bytes(weights=np.ones(2), positions=[1, 2])))
    assert h.positions.shape == (2, 1)
    h = read_histogram(write(tmp_path, "w.npz", npz_bytes(weights=np.ones((2, 2)))))
    assert h.kind == "grid" and h.weights.shape == (2, 2)
    h = read_histogram(write(tmp_path, "s.npz", npz_bytes(data=np.ones((2, 3)))), kind="points")
    assert h.kind == "points" and h.positions.shape == (2, 2)


@pytest.mark.parametrize(
    ("arrays", "kind", "fragments"),
    [
        ({"a": np.ones(2), "b": np.ones(2)}, None, ("'weights'", "'a', 'b'")),
        ({"weights": np.ones(2), "extra": np.ones(2)}, None, ("unexpected arrays 'extra'",)),
        ({"weights": np.ones(2), "positions": np.ones((3, 2))}, None, ("3 positions but 2",)),
        ({"weights": np.ones(2), "positions": np.ones((2, 2))}, "grid", ("as a grid",)),
        ({"weights": np.ones((2, 2)), "positions": np.ones((2, 2))}, None, ("must be 1-D",)),
        ({"weights": np.array([1.0, -3.0])}, None, ("negative weight -3.0 at index 1",)),
    ],
)
def test_npz_errors(tmp_path, arrays, kind, fragments):
    path = write(tmp_path, "bad.npz", npz_bytes(**arrays))
    expect_error(lambda: read_histogram(path, kind=kind), path, *fragments)


def test_npz_corrupt(tmp_path):
    path = write(tmp_path, "bad.npz", npz_bytes(weights=np.ones(50))[:60])
    expect_error(lambda: read_histogram(path), path, "cannot load .npz")
    path = write(tmp_path, "text.npz", "1,2\n")
    expect_error(lambda: read_histogram(path), path, "not a NumPy .npz")


# ---------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------


def test_json_forms(tmp_path):
    h = read_histogram(write(tmp_path, "a.json", "[1, 2, 3.5]"))
    assert h.kind == "grid"
    np.testing.assert_array_equal(h.weights, [1, 2, 3.5])
    h = read_histogram(write(tmp_path, "b.json", "[[1, 2], [3, 4]]"))
    assert h.weights.shape == (2, 2)
    points = '{"positions": [[0, 0], [1, 2]], "weights": [1, 1]}'
    h = read_histogram(write(tmp_path, "c.json", points))
    assert h.kind == "points"
    np.testing.assert_array_equal(h.positions, [[0, 0], [1, 2]])
    h = read_histogram(write(tmp_path, "d.json", '{"positions": [0, 5], "weights": [1, 1]}'))
    assert h.positions.shape == (2, 1)
    h = read_histogram(write(tmp_path, "e.json", '{"weights": [[1, 0], [0, 1]]}'))
    assert h.kind == "grid" and h.weights.shape == (2, 2)
    h = read_histogram(write(tmp_path, "f.json", "[[0, 0, 1], [1, 1, 2]]"), kind="points")
    np.testing.assert_array_equal(h.weights, [1, 2])


@pytest.mark.parametrize(
    ("content", "kind", "fragments"),
    [
        ("[1, 2,\n 3", None, ("invalid JSON at line 2",)),
        ("[[1, 2], [3]]", None, ("ragged", "weights[1] has 1 entries, expected 2")),
        ("[[1, 2], 3]", None, ("ragged", "weights[1] is a number")),
        ("[1, [2]]", None, ("ragged", "weights[1] is a list")),
        ('[1, "a"]', None, ("weights[1] is the string 'a'",)),
        ("[1, true]", None, ("weights[1] is a boolean",)),
        ("[1, null]", None, ("weights[1] is null",)),
        ("[1, NaN]", None, ("non-finite weight nan at index 1",)),
        ("[1, -1]", None, ("negative weight -1.0 at index 1",)),
        ("[]", None, ("empty",)),
        ("5", None, ("expected a list of weights",)),
        ('{"w": [1]}', None, ("no 'weights' key", "'w'")),
        ('{"weights": [1], "position": [0]}', None, ("unexpected JSON keys 'position'",)),
        ('{"weights": [1, 2], "positions": [0]}', None, ("1 positions but 2 weights",)),
        ('{"weights": [1], "positions": [0]}', "grid", ("as a grid",)),
        ('{"weights": [1], "positions": [[[0]]]}', None, ("list of points",)),
        ("[1, 2]", "points", ("as a point set",)),
        ("[1e999999999]", None, ("non-finite weight inf",)),
        ("[" * 100000 + "]" * 100000, None, ("nested too deeply",)),
    ],
    ids=short_id,
)
def test_json_errors(tmp_path, content, kind, fragments):
    path = write(tmp_path, "bad.json", content)
    expect_error(lambda: read_histogram(path, kind=kind), path, *fragments)


# ---------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------

GREY = np.array([[0, 10, 255], [128, 1, 7]], dtype=np.uint8)


@pytest.mark.parametrize(
    ("ext", "fmt"), [(".png", "PNG"), (".pgm", "PPM"), (".bmp", "BMP"), (".tif", "TIFF")]
)
def test_image_8bit_grey(tmp_path, ext, fmt):
    path = write(tmp_path, "img" + ext, image_bytes(GREY, fmt))
    h = read_histogram(path)
    assert h.kind == "grid" and h.weights.dtype == np.float64
    np.testing.assert_array_equal(h.weights, GREY)


@pytest.mark.parametrize(("ext", "fmt"), [(".png", "PNG"), (".pgm", "PPM"), (".tif", "TIFF")])
def test_image_16bit_keeps_full_precision(tmp_path, ext, fmt):
    arr = np.array([[0, 1000, 65535], [3, 4, 40001]], dtype=np.uint16)
    h = read_histogram(write(tmp_path, "deep" + ext, image_bytes(arr, fmt)))
    np.testing.assert_array_equal(h.weights, arr)


def test_image_float_tiff(tmp_path):
    arr = np.array([[0.25, 1.5], [2.0, 0.0]], dtype=np.float32)
    h = read_histogram(write(tmp_path, "f.tiff", image_bytes(arr, "TIFF")))
    np.testing.assert_array_equal(h.weights, arr)


def test_image_colour_to_luminance(tmp_path):
    rgb = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [10, 20, 30]]], dtype=np.uint8)
    h = read_histogram(write(tmp_path, "rgb.ppm", image_bytes(rgb, "PPM")))
    expected = rgb.astype(float) @ np.array([0.299, 0.587, 0.114])
    np.testing.assert_allclose(h.weights, expected, rtol=1e-6)
    rgba = np.dstack([rgb, np.full((2, 2), 255, dtype=np.uint8)])
    h = read_histogram(write(tmp_path, "rgba.png", image_bytes(rgba, "PNG")))
    np.testing.assert_allclose(h.weights, expected, rtol=1e-6)


def test_image_jpeg(tmp_path):
    arr = np.full((8, 8), 200, dtype=np.uint8)
    h = read_histogram(write(tmp_path, "img.JPG", image_bytes(arr, "JPEG")))
    assert h.weights.shape == (8, 8)
    np.testing.assert_allclose(h.weights, 200, atol=2)


def test_image_errors(tmp_path):
    png = image_bytes(GREY, "PNG")
    path = write(tmp_path, "img.png", png)
    expect_error(lambda: read_histogram(path, kind="points"), path, "an image is a grid")
    path = write(tmp_path, "broken.png", png[:30])
    expect_error(lambda: read_histogram(path), path, "cannot decode image")
    path = write(tmp_path, "text.png", "not an image at all")
    expect_error(lambda: read_histogram(path), path, "cannot decode image")
    path = write(tmp_path, "black.png", image_bytes(np.zeros((2, 2), np.uint8), "PNG"))
    expect_error(lambda: read_histogram(path), path, "zero total mass")


def test_image_without_pillow(tmp_path, monkeypatch):
    # A None entry in sys.modules makes "import PIL" raise ImportError.
    monkeypatch.setitem(sys.modules, "PIL", None)
    path = write(tmp_path, "img.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    message = expect_error(lambda: read_histogram(path), path, "Pillow")
    assert 'pip install "emd-ot[images]"' in message


# ---------------------------------------------------------------------------
# Standard input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "kind", "expected_kind"),
    [
        (b"weight\n1\n2\n", None, "grid"),
        (b"x y w\n0 0 1\n1 1 2\n", None, "points"),
        (b"  \n[1, 2]", None, "grid"),
        (b'{"positions": [[0], [1]], "weights": [1, 2]}', None, "points"),
        (npy_bytes(np.array([[0.0, 1.0], [1.0, 2.0]])), "points", "points"),
        (npz_bytes(weights=np.array([1.0, 2.0])), None, "grid"),
    ],
    ids=short_id,
)
def test_stdin_formats(stdin, data, kind, expected_kind):
    stdin(data)
    h = read_histogram("-", kind=kind)
    assert h.source == "<stdin>" and h.kind == expected_kind
    assert h.weights.tolist() == [1.0, 2.0]


def test_stdin_image(stdin):
    stdin(image_bytes(GREY, "PNG"))
    np.testing.assert_array_equal(read_histogram("-").weights, GREY)
    stdin(image_bytes(GREY, "PPM"))
    np.testing.assert_array_equal(read_histogram("-").weights, GREY)


def test_stdin_errors(stdin, monkeypatch):
    stdin(b"")
    expect_error(lambda: read_histogram("-"), "<stdin>", "empty input")
    stdin(b"1\nfoo\n")
    expect_error(lambda: read_histogram("-"), "<stdin>", "line 2", "'foo'")
    stdin(b"\x89PNG\r\n\x1a\n")
    expect_error(lambda: read_cost_matrix("-"), "<stdin>", "image", "cost matrix")
    monkeypatch.setattr(sys, "stdin", None)
    expect_error(lambda: read_histogram("-"), "<stdin>", "cannot read standard input")


def test_dash_path_object_is_a_file(tmp_path, monkeypatch):
    # Only the string "-" means stdin; a Path named "-" has no extension.
    monkeypatch.chdir(tmp_path)
    expect_error(lambda: read_histogram(Path("-")), "-", "no file extension")


# ---------------------------------------------------------------------------
# Paths and arguments
# ---------------------------------------------------------------------------


def test_path_errors(tmp_path):
    missing = tmp_path / "missing.csv"
    expect_error(lambda: read_histogram(missing), missing, "no such file")
    unknown = write(tmp_path, "h.xlsx", "1\n")
    message = expect_error(lambda: read_histogram(unknown), unknown, "unknown extension '.xlsx'")
    assert ".csv" in message and ".png" in message
    bare = write(tmp_path, "hist", "1\n")
    expect_error(lambda: read_histogram(bare), bare, "no file extension")
    folder = tmp_path / "dir.csv"
    folder.mkdir()
    expect_error(lambda: read_histogram(folder), folder, "is a directory")


def test_bad_arguments(tmp_path):
    path = write(tmp_path, "h.csv", "1\n")
    with pytest.raises(ValueError, match="kind must be") as info:
        read_histogram(path, kind="image")
    assert not isinstance(info.value, HistogramFileError)
    with pytest.raises(TypeError, match="path"):
        read_histogram(3)


def test_uppercase_extension(tmp_path):
    assert read_histogram(write(tmp_path, "H.CSV", "1\n2\n")).weights.tolist() == [1.0, 2.0]


# ---------------------------------------------------------------------------
# Cost matrices
# ---------------------------------------------------------------------------


def test_cost_matrix_formats(tmp_path):
    cost = np.array([[0.0, 1.5, 2.0], [1.5, 0.0, 0.1]])
    for name, content in [
        ("c.npy", npy_bytes(cost)),
        ("c.npz", npz_bytes(m=cost)),
        ("k.npz", npz_bytes(cost=cost, other=np.ones(2))),
        ("c.json", json.dumps(cost.tolist())),
        ("c.csv", "a,b,c\n0,1.5,2\n1.5,0,0.1\n"),
        ("c.tsv", "0\t1.5\t2\n1.5\t0\t0.1\n"),
        ("c.txt", "0 1.5 2\n1.5 0 0.1\n"),
    ]:
        got = read_cost_matrix(write(tmp_path, name, content))
        assert got.dtype == np.float64 and got.flags.c_contiguous
        np.testing.assert_array_equal(got, cost)


def test_cost_matrix_negative_entries_are_allowed(tmp_path):
    assert read_cost_matrix(write(tmp_path, "c.csv", "-1,2\n")).tolist() == [[-1.0, 2.0]]


@pytest.mark.parametrize(
    ("name", "content", "fragments"),
    [
        ("c.csv", "0,1\n1,nan\n", ("non-finite cost nan at row 1, column 1", "(line 2)")),
        ("c.npy", npy_bytes(np.array([[0.0, np.inf]])), ("non-finite cost inf at row 0",)),
        ("c.npy", npy_bytes(np.ones(3)), ("must be 2-D", "(3,)")),
        ("c.npy", npy_bytes(np.ones((0, 3))), ("empty cost matrix",)),
        ("c.npz", npz_bytes(a=np.ones((2, 2)), b=np.ones((2, 2))), ("'cost'", "'a', 'b'")),
        ("c.json", "[[0, 1], [1]]", ("ragged",)),
        ("c.json", "[1, 2]", ("must be 2-D",)),
        ("c.csv", "0,1\n1\n", ("ragged rows", "line 2")),
        ("c.csv", "0,1\n1,x\n", ("line 2", "'x'")),
        ("c.csv", "", ("empty file",)),
        ("c.png", b"\x89PNG", ("unknown extension '.png'", "cost matrix")),
    ],
    ids=short_id,
)
def test_cost_matrix_errors(tmp_path, name, content, fragments):
    path = write(tmp_path, name, content)
    expect_error(lambda: read_cost_matrix(path), path, *fragments)


def test_cost_matrix_stdin(stdin):
    stdin(b"0,2\n2,0\n")
    assert read_cost_matrix("-").tolist() == [[0.0, 2.0], [2.0, 0.0]]


# ---------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------

TRICKY = np.array([[0.1, 1 / 3, -2.5e-300], [1e300, 2.0**-1074, 123456789.123456789]])


@pytest.mark.parametrize("ext", [".npy", ".npz", ".json", ".csv", ".tsv", ".txt"])
def test_write_matrix_round_trip_is_exact(tmp_path, ext):
    path = tmp_path / f"m{ext}"
    write_matrix(path, TRICKY)
    got = read_cost_matrix(path)
    assert got.tobytes() == TRICKY.tobytes()
    assert os.listdir(tmp_path) == [path.name]
    if ext != ".npz":  # the reader takes numeric arrays only, not the labels
        labelled = tmp_path / f"l{ext}"
        write_matrix(labelled, TRICKY, labels=[f"h{k}" for k in range(TRICKY.shape[1])])
        assert read_cost_matrix(labelled).tobytes() == TRICKY.tobytes()


def test_write_matrix_json_layout_and_non_finite_entries(tmp_path):
    path = tmp_path / "m.json"
    write_matrix(path, [[0.0, 0.1], [math.inf, math.nan]], labels=["a", 'b "c"'])
    text = path.read_text()
    assert text == (
        '{\n  "labels": ["a", "b \\"c\\""],\n  "matrix": [\n    [0.0, 0.1],\n'
        '    [null, null]\n  ]\n}\n'
    )
    assert json.loads(text) == {"labels": ["a", 'b "c"'], "matrix": [[0.0, 0.1], [None, None]]}


def test_write_matrix_text_layout_and_stdout(tmp_path, capsys):
    write_matrix(tmp_path / "m.tsv", [[1, 2], [3, 4]])
    assert (tmp_path / "m.tsv").read_text() == "1.0\t2.0\n3.0\t4.0\n"
    write_matrix("-", np.array([[0.1, 0.2]]))
    assert capsys.readouterr().out == "0.1,0.2\n"


def test_write_matrix_errors(tmp_path):
    path = tmp_path / "m.xlsx"
    expect_error(lambda: write_matrix(path, [[1.0]]), path, "unknown extension '.xlsx'")
    with pytest.raises(ValueError, match="2-dimensional"):
        write_matrix(tmp_path / "m.csv", [1.0, 2.0])
    assert os.listdir(tmp_path) == []
    missing = tmp_path / "nodir" / "m.csv"
    expect_error(lambda: write_matrix(missing, [[1.0]]), missing, "cannot write")


def test_write_plan_csv_npz_and_stdout(tmp_path, capsys):
    rows, cols, masses = np.array([0, 2], dtype=np.intp), np.array([1, 0]), [0.1, 1 / 3]
    write_plan(tmp_path / "plan.csv", rows, cols, masses)
    text = (tmp_path / "plan.csv").read_text()
    assert text == "source,target,mass\n0,1,0.1\n2,0,0.3333333333333333\n"
    back = np.loadtxt(tmp_path / "plan.csv", delimiter=",", skiprows=1)
    assert back[:, 2].tolist() == [0.1, 1 / 3]

    write_plan(tmp_path / "plan.npz", rows, cols, masses)
    with np.load(tmp_path / "plan.npz") as z:
        assert sorted(z.files) == ["cols", "masses", "rows"]
        assert z["rows"].tolist() == [0, 2] and z["cols"].tolist() == [1, 0]
        assert z["masses"].tolist() == [0.1, 1 / 3]

    write_plan(tmp_path / "plan.tsv", rows, cols, masses)
    assert (tmp_path / "plan.tsv").read_text().splitlines()[0] == "source\ttarget\tmass"

    write_plan("-", [], [], [])
    assert capsys.readouterr().out == "source,target,mass\n"


def test_write_plan_errors(tmp_path):
    with pytest.raises(TypeError, match="rows must be an array of integers"):
        write_plan(tmp_path / "p.csv", [0.0], [1], [1.0])
    with pytest.raises(ValueError, match="cols has shape"):
        write_plan(tmp_path / "p.csv", [0], [1, 2], [1.0])
    with pytest.raises(ValueError, match="negative index"):
        write_plan(tmp_path / "p.csv", [-1], [1], [1.0])
    path = tmp_path / "p.npy"
    expect_error(lambda: write_plan(path, [0], [0], [1.0]), path, "transport plan")
    assert os.listdir(tmp_path) == []


def test_write_vector(tmp_path, capsys):
    values = np.array([-0.5, 0.1, 1e-20])
    write_vector(tmp_path / "u.csv", values, header="potential")
    assert (tmp_path / "u.csv").read_text() == "potential\n-0.5\n0.1\n1e-20\n"
    write_vector(tmp_path / "u.txt", values)
    assert np.loadtxt(tmp_path / "u.txt").tolist() == values.tolist()
    write_vector(tmp_path / "u.npy", values, header="ignored")
    assert np.load(tmp_path / "u.npy").tolist() == values.tolist()
    write_vector("-", [2.0])
    assert capsys.readouterr().out == "2.0\n"
    with pytest.raises(ValueError, match="single line"):
        write_vector(tmp_path / "v.csv", [1.0], header="a\nb")
    with pytest.raises(ValueError, match="1-dimensional"):
        write_vector(tmp_path / "v.csv", [[1.0]])
    path = tmp_path / "v.json"
    expect_error(lambda: write_vector(path, [1.0]), path, "unknown extension '.json'")


def test_write_vector_reads_back_as_histogram(tmp_path):
    write_vector(tmp_path / "w.csv", [0.25, 0.75], header="weight")
    assert read_histogram(tmp_path / "w.csv").weights.tolist() == [0.25, 0.75]


# ---------------------------------------------------------------------------
# Atomic writes
# ---------------------------------------------------------------------------


class Boom(Exception):
    pass


def test_atomic_write_success_binary_and_text(tmp_path):
    atomic_write(tmp_path / "a.bin", lambda fh: fh.write(b"\x00\x01"))
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    atomic_write(tmp_path / "a.txt", lambda fh: fh.write("é\n"), binary=False)
    assert (tmp_path / "a.txt").read_bytes() == "é\n".encode()
    assert sorted(os.listdir(tmp_path)) == ["a.bin", "a.txt"]


@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt])
def test_atomic_write_failure_leaves_nothing(tmp_path, error):
    def writer(fh):
        fh.write(b"partial data")
        raise error("stop")

    with pytest.raises(error):
        atomic_write(tmp_path / "out.csv", writer)
    assert os.listdir(tmp_path) == []


def test_atomic_write_failure_keeps_old_file(tmp_path):
    path = write(tmp_path, "out.csv", "old\n")

    def writer(fh):
        fh.write(b"new")
        raise Boom

    with pytest.raises(Boom):
        atomic_write(path, writer)
    assert path.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["out.csv"]


def test_atomic_open_context_manager(tmp_path):
    with atomic_open(tmp_path / "x.txt", "w") as fh:
        fh.write("line\n")
        # Nothing is visible under the final name until the block ends.
        assert not (tmp_path / "x.txt").exists()
    assert (tmp_path / "x.txt").read_text() == "line\n"
    with pytest.raises(ValueError, match="mode"):
        with atomic_open(tmp_path / "y.txt", "a"):
            pass
    assert os.listdir(tmp_path) == ["x.txt"]


def test_atomic_write_into_missing_directory(tmp_path):
    path = tmp_path / "no" / "such" / "dir.csv"
    expect_error(lambda: atomic_write(path, lambda fh: None), path, "cannot write")


def test_atomic_write_target_is_a_directory(tmp_path):
    target = tmp_path / "taken"
    target.mkdir()
    expect_error(lambda: atomic_write(target, lambda fh: fh.write(b"x")), target, "cannot write")
    assert os.listdir(tmp_path) == ["taken"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_atomic_write_permissions(tmp_path):
    # mkstemp makes 0600 files; the result must look like a plain open().
    umask = os.umask(0o022)
    try:
        atomic_write(tmp_path / "new.csv", lambda fh: fh.write(b"1\n"))
        assert stat.S_IMODE(os.stat(tmp_path / "new.csv").st_mode) == 0o644
        old = write(tmp_path, "old.csv", "0\n")
        os.chmod(old, 0o640)
        atomic_write(old, lambda fh: fh.write(b"1\n"))
        assert stat.S_IMODE(os.stat(old).st_mode) == 0o640
    finally:
        os.umask(umask)


# ---------------------------------------------------------------------------
# Example data
# ---------------------------------------------------------------------------


def test_example_files_read_and_are_small():
    for path in DATA.iterdir():
        if path.is_file():
            assert path.stat().st_size < 10_000, path
    for name in ("hist_a.csv", "hist_b.csv", "hist_c.json"):
        h = read_histogram(DATA / name)
        assert h.kind == "grid" and h.weights.shape == (12,) and h.mass == 52
    for name in ("points_a.csv", "points_b.csv"):
        h = read_histogram(DATA / name)
        assert h.kind == "points" and h.positions.shape == (20, 2)
        assert (h.weights > 0).all() and h.mass == 50
    for name in ("image_a", "image_b"):
        grid = read_histogram(DATA / f"{name}.csv", kind="grid")
        assert grid.weights.shape == (16, 16)
        if importlib.util.find_spec("PIL") is not None:
            png = read_histogram(DATA / f"{name}.png")
            np.testing.assert_array_equal(png.weights, grid.weights)


def test_make_data_is_deterministic(tmp_path):
    spec = importlib.util.spec_from_file_location("make_data", DATA / "make_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for path in module.main(tmp_path):
        committed = DATA / path.name
        if path.suffix == ".png":
            # PNG bytes depend on the zlib build; the pixels must not.
            np.testing.assert_array_equal(
                read_histogram(path).weights, read_histogram(committed).weights
            )
        else:
            assert path.read_bytes() == committed.read_bytes(), path.name


def test_atomic_batch_writes_all_or_nothing(tmp_path):
    from emd.io import atomic_batch

    first, second = tmp_path / "a.csv", tmp_path / "b.npy"
    first.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_batch():
        write_vector(first, [1.0, 2.0])
        write_matrix(second, [[1.0]])
        raise RuntimeError("a later output failed")
    assert first.read_text() == "old\n" and not second.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]  # no temporary files
    with atomic_batch():
        write_vector(first, [1.0, 2.0])
        write_matrix(second, [[1.0]])
        # Nothing is in place before the block ends.
        assert first.read_text() == "old\n" and not second.exists()
    assert first.read_text() == "1.0\n2.0\n" and np.load(second).tolist() == [[1.0]]


def test_write_matrix_labels(tmp_path):
    from emd.io import labels_path

    matrix = [[0.0, 1.5], [1.5, 0.0]]
    write_matrix(tmp_path / "m.tsv", matrix, labels=["a b.csv", "1"])
    text = (tmp_path / "m.tsv").read_text()
    assert text.splitlines()[0] == '"a b.csv"\t"1"'
    np.testing.assert_array_equal(read_cost_matrix(tmp_path / "m.tsv"), matrix)
    write_matrix(tmp_path / "m.npy", matrix, labels=["x", "y"])
    assert Path(labels_path(tmp_path / "m.npy")).read_text() == "x\ny\n"
    write_matrix(tmp_path / "m.npz", matrix, labels=["x", "y"])
    with np.load(tmp_path / "m.npz") as data:
        assert data["labels"].tolist() == ["x", "y"]
    with pytest.raises(ValueError, match="3 labels"):
        write_matrix(tmp_path / "m.csv", matrix, labels=["x", "y", "z"])


def test_atomic_write_long_target_name(tmp_path):
    # The temporary name must not be longer than the target's.
    target = tmp_path / ("n" * 250 + ".npy")
    atomic_write(target, lambda fh: np.save(fh, np.ones(2)))
    assert np.load(target).tolist() == [1.0, 1.0]
