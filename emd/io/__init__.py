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

Layout: ``_histogram`` (the record and the error), ``_formats`` (sources,
format sniffing and the parser of each format), ``_read`` (validated
histograms and cost matrices: the readers), ``_write`` (atomic writing and
the writers).
"""

from ._histogram import Histogram, HistogramFileError
from ._read import read_cost_matrix, read_histogram
from ._write import (
    atomic_batch,
    atomic_open,
    atomic_write,
    labels_path,
    write_labels,
    write_matrix,
    write_plan,
    write_vector,
)

__all__ = [
    "Histogram",
    "HistogramFileError",
    "atomic_batch",
    "atomic_open",
    "atomic_write",
    "labels_path",
    "read_cost_matrix",
    "read_histogram",
    "write_labels",
    "write_matrix",
    "write_plan",
    "write_vector",
]
