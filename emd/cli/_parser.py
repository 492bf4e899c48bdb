"""The command line of ``emd-compute``: its options, help and examples."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

import emd
from emd._validation import CLI_METRICS

from ._report import PROG, CLIError

#: The metrics the command line offers: emd._validation's table.
METRICS = CLI_METRICS

EPILOG = """\
examples:
  emd-compute hist_a.csv hist_b.csv
      1-D histograms of weights, bins at positions 0, 1, 2, ... (files of
      different lengths lie on one line: bins 0..n-1 and 0..m-1)
  emd-compute points_a.csv points_b.csv --json
      weighted 2-D point sets (rows x,y,weight); a JSON record on stdout
  emd-compute --normalize image_a.png image_b.png
      grey-level images as 2-D grids, rescaled to total mass 1
  emd-compute --grid --metric euclidean --normalize image_a.csv image_b.csv
      a CSV table read as a grid (a table without a header naming a weight
      column must say --grid or --points: the two give different distances)
  emd-compute --cost cost.csv a.csv b.csv --plan plan.csv --potentials duals.csv
      an explicit cost matrix between two weight vectors, with the plan and duals
  cat hist_a.csv | emd-compute - hist_b.csv
      "-" reads standard input (format sniffed from the content)
  emd-compute --pairwise data/ --jobs 4 -o distances.npy
      all distances between the histograms in data/ (also: files, "data/*.json");
      the file order goes to distances.labels.txt beside the .npy
  emd-compute --pairwise data/ -o distances.npy --resume
      written block by block; after an interruption the same command
      continues where it stopped (entries not yet computed hold NaN)
  emd-compute --check-pot points_a.csv points_b.csv
      recompute with POT's ot.emd2 and report the difference
  emd-compute --unbalanced 2.5 image_a.png image_b.png --json
      unequal masses as given: mass created or destroyed at 2.5 per unit
      (the bounded-Lipschitz distance); --json reports the mass moved,
      created and destroyed (also with --partial MASS: move exactly MASS)

inputs:
  .npy .npz .csv .tsv .txt .json and images (.png .pgm .jpg .tif ...; needs Pillow).
  One column of weights, or rows of coordinates followed by a weight (a point
  set: with --points, or under a header such as x,y,weight whose last name is
  weight, mass, count or p).  Weights without coordinates sit on a grid:
  positions 0, 1, 2, ... in 1-D, pixel/voxel indices for 2-D/3-D arrays and
  images.  1-D weight files of different lengths are compared on one line,
  with bins at 0..n-1 and 0..m-1 (trailing empty bins change nothing).  A
  text table with several columns and no such header is refused unless
  --grid or --points says which it is; so is a pandas index column.  A 3-D
  array whose last axis has 3 or 4 bins looks like a colour image and is
  refused unless --volume says it is a 3-D histogram.

metric (default: euclidean for point sets, cityblock for grids):
  Grids use the grid solver: cityblock and chebyshev are exact, euclidean comes
  with a relative error bound, printed on a second line (in --json:
  rel_error_bound; --exact or --max-rel-error tighten it); sqeuclidean on a
  grid solves over the bins as points.

outputs:
  --plan: the transport plan as sparse triplets source,target,mass (.csv .tsv
  .txt, or .npz with rows, cols, masses): how much of A's bin or point
  "source" goes to B's "target"; indices are input rows, flat C-order bins for
  grids.  A grid solve moves mass along the arcs of the grid graph; its plan
  is the decomposition of that flow into source-to-target paths, with cycles
  cancelled: the same cost, and at most nnz(A) + nnz(B) - 1 entries.  For the
  euclidean grid approximation the plan's euclidean cost lies between the
  exact distance and the printed value.
  --flows (grid solves only): the arc flows themselves, tail,head,flow
  (.npz: tail, head, flow), between nearby bins.
  --potentials: dual potentials as side,index,potential rows (.npz: u, v), or
  for a grid solve the Kantorovich-Rubinstein witness f with
  distance = sum((A - B) * f): a matrix for 2-D grids in text, .npy/.npz keep
  the grid's shape.
  -o with --pairwise: the matrix (.csv .tsv .txt with a first row of quoted
  file names, .npz with arrays matrix and labels, .json with lists labels and
  matrix, .npy with the names in NAME.labels.txt beside it).  With --resume
  the .npy is written block by block, its record in NAME.npy.progress.
  Outputs are written only when the run succeeds, and then all of them (each
  goes to a temporary file first; --resume excepted).  An output (or a file
  beside it) that is the same file as an input, listed, in a directory or
  matched by a pattern, or as another output, is refused before any work.

exit status:
  0 success, 1 internal error, 2 bad usage or input, 3 solver stopped before
  optimality or could not prove it (uncertified), 4 --check-pot disagreement,
  130 interrupted (with -o FILE.npy, the message gives the command that
  resumes)
"""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, like every other error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise CLIError(f"{message} (see {self.prog} --help)")


def _checked(kind: type, accept: Callable[[Any], bool], what: str) -> Callable[[str], Any]:
    """An argparse type: ``text`` read as ``kind`` and kept if ``accept`` takes it, else a
    one-line error saying it ``must be`` ``what``."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not accept(value):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value

    return parse


_positive_int = _checked(int, lambda value: value >= 1, "a positive integer")
_positive_float = _checked(
    float, lambda value: math.isfinite(value) and value > 0, "a positive number")
_nonnegative_float = _checked(
    float, lambda value: math.isfinite(value) and value >= 0, "a nonnegative number")
_jobs = _checked(int, lambda value: value >= 1 or value == -1, "a positive integer or -1")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``emd-compute`` (also used to render its documentation).

    Returns
    -------
    argparse.ArgumentParser
    """
    parser = _Parser(
        prog=PROG,
        description="Exact Wasserstein-1 (Earth Mover's) distance between histograms.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("a", nargs="?", metavar="A", help='first histogram file ("-" = stdin)')
    parser.add_argument("b", nargs="?", metavar="B", help='second histogram file ("-" = stdin)')

    group = parser.add_argument_group("problem")
    group.add_argument(
        "--metric",
        choices=METRICS,
        help="ground distance (default: euclidean for point sets, cityblock for grids)",
    )
    kind = group.add_mutually_exclusive_group()
    kind.add_argument(
        "--grid",
        dest="kind",
        action="store_const",
        const="grid",
        help="read inputs as weight grids (a multi-column table becomes a 2-D grid)",
    )
    kind.add_argument(
        "--points",
        dest="kind",
        action="store_const",
        const="points",
        help="read inputs as point sets (arrays as rows of coordinates then a weight)",
    )
    group.add_argument(
        "--normalize",
        action="store_true",
        help="rescale both histograms to total mass 1 (otherwise unequal totals are an error)",
    )
    group.add_argument(
        "--partial",
        type=_positive_float,
        metavar="MASS",
        help="partial transport: move exactly MASS (at most the smaller total) at least cost; "
        "totals may differ (grids: over the bins as points)",
    )
    group.add_argument(
        "--unbalanced",
        type=_nonnegative_float,
        metavar="LAM",
        help="unbalanced W1: mass may be created or destroyed at LAM per unit; totals may "
        "differ",
    )
    group.add_argument(
        "--cost",
        metavar="FILE",
        help="explicit cost matrix (rows for A, columns for B); A and B are then weight "
        "vectors (grids flattened in C order)",
    )
    group.add_argument(
        "--max-iter", type=_positive_int, metavar="N", help="limit on solver iterations"
    )
    group.add_argument(
        "--exact",
        action="store_true",
        help="euclidean grids: solve exactly instead of within the error bound",
    )
    group.add_argument(
        "--max-rel-error",
        type=_positive_float,
        metavar="X",
        help="euclidean grids: largest relative error allowed for the approximation",
    )
    group.add_argument(
        "--volume",
        action="store_true",
        help="grids: read a 3-D array whose last axis has 3 or 4 bins as a 3-D histogram "
        "(otherwise refused as a likely colour image)",
    )
    group.add_argument(
        "--spacing",
        type=_positive_float,
        metavar="H",
        help="grids: distance between neighbouring bins (default 1)",
    )

    group = parser.add_argument_group("output")
    group.add_argument(
        "--json",
        action="store_true",
        help="print a JSON record (distance, metric, sizes, status, iterations, "
        "certificate, error bound, wall time) instead of the bare distance",
    )
    group.add_argument(
        "--plan", metavar="FILE", help="write the transport plan, source to target (see below)"
    )
    group.add_argument(
        "--flows", metavar="FILE", help="grid solves: write the flows on the grid's arcs"
    )
    group.add_argument("--potentials", metavar="FILE", help="write the dual potentials (see below)")
    group.add_argument(
        "--check-pot",
        action="store_true",
        help="recompute the distance with POT (pip install pot) and report the difference",
    )

    group = parser.add_argument_group("many histograms")
    group.add_argument(
        "--pairwise",
        nargs="+",
        metavar="FILE",
        help="distance matrix between all these histograms (files, directories or quoted "
        "glob patterns; expanded in sorted order)",
    )
    group.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="--pairwise: write the matrix to FILE (.csv .tsv .txt .json .npz .npy; default: "
        "CSV on stdout)",
    )
    group.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        metavar="N",
        help="--pairwise: parallel workers (-1: all processors)",
    )
    group.add_argument(
        "--resume", action="store_true",
        help="--pairwise -o FILE.npy: write block by block, continue an interrupted run",
    )

    group = parser.add_argument_group("other")
    group.add_argument("--debug", action="store_true", help="show the traceback of an error")
    group.add_argument("--version", action="version", version=f"{PROG} {emd.__version__}")
    return parser
