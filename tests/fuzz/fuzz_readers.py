"""Coverage-guided fuzzing of the file readers behind ``emd-compute`` (atheris).

    python tests/fuzz/fuzz_readers.py -atheris_runs=100000 -timeout=30
    python tests/fuzz/fuzz_readers.py corpus/readers -max_total_time=600 -timeout=30

The first byte of each input picks a file extension (or standard input); the rest is
written to a file and read with :func:`emd.io.read_histogram` (each ``kind``) and
:func:`emd.io.read_cost_matrix`.  Allowed outcomes are a validated result or
ValueError/TypeError (``HistogramFileError`` is a ValueError); anything else, a failed
check, a crash or a timeout is a finding.  Seed the corpus with ``--seed-corpus DIR``
(valid files of every format) for much faster coverage.  See tests/fuzz/README.md.
"""

from __future__ import annotations

import io
import json
import math
import os
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

import atheris

# Fuzz the checkout's in-place build (python setup.py build_ext --inplace) when it has
# one, else the installed package.
_ROOT = Path(__file__).resolve().parents[2]
if list(_ROOT.glob("emd/_core/_tree*.so")):
    sys.path.insert(0, str(_ROOT))

with atheris.instrument_imports(include=["emd"]):
    import numpy as np

    from emd.io import read_cost_matrix, read_histogram

warnings.simplefilter("ignore")  # Pillow's DecompressionBombWarning and the like

EXTENSIONS = (".npy", ".npz", ".csv", ".tsv", ".txt", ".json", ".png", ".pgm", ".ppm",
              ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".dat", "", "-")
ALLOWED = (ValueError, TypeError)
TMP = tempfile.mkdtemp(prefix="emd-fuzz-readers-")


def check_histogram(hist) -> None:
    w = hist.weights
    assert w.dtype == np.float64 and w.size and np.isfinite(w).all() and (w >= 0).all()
    assert 0 < hist.mass < math.inf
    if hist.positions is not None:
        assert hist.positions.shape[0] == w.size and np.isfinite(hist.positions).all()


def check_cost(cost) -> None:
    assert cost.dtype == np.float64 and cost.ndim == 2 and cost.size
    assert cost.flags.c_contiguous and np.isfinite(cost).all()


class _Stdin:
    """Stands in for sys.stdin with the fuzz bytes behind ``.buffer``."""

    def __init__(self, data: bytes):
        self.buffer = io.BytesIO(data)


def test_one_input(data: bytes) -> None:
    if not data:
        return
    ext = EXTENSIONS[data[0] % len(EXTENSIONS)]
    body = data[1:]
    if ext == "-":
        path, saved = "-", sys.stdin
    else:
        path = os.path.join(TMP, "input" + ext)
        with open(path, "wb") as fh:
            fh.write(body)
    for kind in (None, "points", "grid"):
        if ext == "-":
            sys.stdin = _Stdin(body)
        try:
            check_histogram(read_histogram(path, kind=kind))
        except ALLOWED:
            pass
        finally:
            if ext == "-":
                sys.stdin = saved
    if ext == "-":
        sys.stdin = _Stdin(body)
    try:
        check_cost(read_cost_matrix(path))
    except ALLOWED:
        pass
    finally:
        if ext == "-":
            sys.stdin = saved


def write_seed_corpus(directory: str) -> None:
    """Valid files of every format, each prefixed with the byte that selects its extension."""
    from PIL import Image

    os.makedirs(directory, exist_ok=True)
    seeds: dict[str, bytes] = {}
    buf = io.BytesIO()
    np.save(buf, np.arange(6.0).reshape(2, 3))
    seeds[".npy"] = buf.getvalue()
    buf = io.BytesIO()
    np.savez(buf, weights=np.ones(3), positions=np.arange(6.0).reshape(3, 2))
    seeds[".npz"] = buf.getvalue()
    seeds[".csv"] = b"x,y,weight\n0,0,1\n3,4,2\n"
    seeds[".tsv"] = b"1\t2\n3\t4\n"
    seeds[".txt"] = b"# comment\n0.5\n1e-3\n\n2\n"
    seeds[".json"] = json.dumps({"weights": [1, 2], "positions": [[0, 1], [2, 3]]}).encode()
    image = Image.fromarray(np.arange(12, dtype=np.uint8).reshape(3, 4))
    for ext, fmt in ((".png", "PNG"), (".pgm", "PPM"), (".jpg", "JPEG"), (".bmp", "BMP"),
                     (".tif", "TIFF")):
        buf = io.BytesIO()
        image.save(buf, format=fmt)
        seeds[ext] = buf.getvalue()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("cost.npy", seeds[".npy"])
    seeds[".npz-cost"] = buf.getvalue()
    for name, body in seeds.items():
        ext = name.split("-")[0]
        with open(os.path.join(directory, name.lstrip(".")), "wb") as fh:
            fh.write(bytes([EXTENSIONS.index(ext)]) + body)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--seed-corpus":
        write_seed_corpus(sys.argv[2])
        return
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
