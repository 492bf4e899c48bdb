"""The ``emd-compute`` command line tool.

``emd-compute A B`` prints the Wasserstein-1 distance between two histograms;
``emd-compute --pairwise FILE...`` prints the matrix of distances between
many.  The tool is a thin layer over the public API: it reads files with
:func:`emd.io.read_histogram`, hands the arrays to :func:`emd.solve`,
:func:`emd.solve_points`, :func:`emd.wasserstein`, :func:`emd.wasserstein_grid`
or :func:`emd.pairwise`, and writes results with the atomic writers of
:mod:`emd.io`.  Run ``emd-compute --help`` for the options and examples.

Exit statuses
-------------
0
    Success.
1
    Internal error (a bug; ``--debug`` shows the traceback).
2
    Bad usage or bad input: one line on standard error names the file and
    the problem.
3
    The solver stopped before proving optimality (``--max-iter``), or it
    finished but its certificate could not prove the distance to 1e-9
    relative (status ``uncertified``).
4
    ``--check-pot``: POT's distance differs from ours beyond the tolerance.
130
    Interrupted (Ctrl-C).

Nothing is written to an output file unless the exit status is 0.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import math
import os
import re
import sys
import time
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

import emd
from emd._validation import mass_rtol
from emd.io import (
    Histogram,
    HistogramFileError,
    atomic_batch,
    atomic_write,
    labels_path,
    read_cost_matrix,
    read_histogram,
    write_matrix,
    write_plan,
    write_vector,
)
from emd.structured._coupling import coupling_from_flow

__all__ = ["EXIT_INPUT", "EXIT_INTERNAL", "EXIT_NOT_OPTIMAL", "EXIT_OK", "EXIT_POT", "main"]

PROG = "emd-compute"

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_INPUT = 2
EXIT_NOT_OPTIMAL = 3
EXIT_POT = 4
EXIT_INTERRUPTED = 130

METRICS = ("euclidean", "cityblock", "chebyshev", "sqeuclidean")
#: Metrics :func:`emd.wasserstein_grid` solves on the grid itself; other
#: metrics on grids go through :func:`emd.solve_points` over the bins.
GRID_METRICS = ("cityblock", "chebyshev", "euclidean")

# Extensions a directory given to --pairwise is scanned for: those that
# emd.io.read_histogram reads.
HISTOGRAM_EXTS = (
    ".npy", ".npz", ".csv", ".tsv", ".txt", ".json",
    ".png", ".pgm", ".ppm", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff",
)  # fmt: skip
TEXT_EXTS = (".csv", ".tsv", ".txt")
DELIMITERS = {".csv": ",", ".tsv": "\t", ".txt": " "}

#: Relative difference tolerated between POT and emd.  Both are exact
#: simplex solvers in float64, so anything beyond rounding is a real
#: disagreement (the euclidean grid bound is added on top).
POT_RTOL = 1e-7
#: Largest cost matrix (entries) that --check-pot builds: 8 bytes each.
POT_MAX_ENTRIES = 50_000_000

EPILOG = """\
examples:
  emd-compute hist_a.csv hist_b.csv
      1-D histograms of weights, bins at positions 0, 1, 2, ...
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
  emd-compute --check-pot points_a.csv points_b.csv
      recompute with POT's ot.emd2 and report the difference

inputs:
  .npy .npz .csv .tsv .txt .json and images (.png .pgm .jpg .tif ...; needs Pillow).
  One column of weights, or rows of coordinates followed by a weight (a point
  set: with --points, or under a header such as x,y,weight whose last name is
  weight, mass, count or p).  Weights without coordinates sit on a grid:
  positions 0, 1, 2, ... in 1-D, pixel/voxel indices for 2-D/3-D arrays and
  images.  A text table with several columns and no such header is refused
  unless --grid or --points says which it is; so is a pandas index column.

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
  file names, .npz with arrays matrix and labels, .npy with the names in
  NAME.labels.txt beside it).
  Outputs are written only when the run succeeds, and then all of them (each
  goes to a temporary file first); an output that is the same file as an
  input or as another output is refused before any work.

exit status:
  0 success, 1 internal error, 2 bad usage or input, 3 solver stopped before
  optimality or could not prove it (uncertified), 4 --check-pot disagreement,
  130 interrupted
"""


class CLIError(Exception):
    """A problem to report as one line on standard error, with an exit status."""

    def __init__(self, message: str, status: int = EXIT_INPUT) -> None:
        super().__init__(" ".join(str(message).split()))
        self.status = status


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, like every other error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise CLIError(f"{message} (see {self.prog} --help)")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value == 0 or value < -1:
        raise argparse.ArgumentTypeError(f"must be a positive integer or -1, got {text!r}")
    return value


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
        help="--pairwise: write the matrix to FILE (.csv .tsv .txt .npz .npy; default: CSV on "
        "stdout)",
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


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``emd-compute`` and return its exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments without the program name; ``sys.argv[1:]`` when omitted.

    Returns
    -------
    int
        The exit status (see the module docstring); ``--help`` and
        ``--version`` return 0.

    Examples
    --------
    >>> main(["--version"])  # doctest: +ELLIPSIS
    emd-compute ...
    0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    # Known before parsing so that even a parser failure can show its traceback.
    debug = "--debug" in argv
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            args = build_parser().parse_args(argv)
            status = _run(args, caught)
        except SystemExit as exc:  # --help, --version
            return exc.code if isinstance(exc.code, int) else EXIT_OK
        except BrokenPipeError:
            # The reader went away (``| head``): say nothing, and keep Python
            # from failing again when it flushes stdout at exit.
            _silence_stdout()
            return EXIT_INTERNAL
        except KeyboardInterrupt:
            _report_error("interrupted", debug)
            return EXIT_INTERRUPTED
        except CLIError as exc:
            _report_error(str(exc), debug)
            return exc.status
        except HistogramFileError as exc:
            # The message already reads "<file>: <problem>".
            _report_error(str(exc), debug)
            return EXIT_INPUT
        except (ValueError, TypeError) as exc:
            # What the library refuses is bad input that slipped past the checks here.
            _report_error(f"error: {exc}", debug)
            return EXIT_INPUT
        except MemoryError:
            _report_error("out of memory: the problem is too large", debug)
            return EXIT_INTERNAL
        except Exception as exc:
            _report_error(
                f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the "
                "traceback)",
                debug,
            )
            return EXIT_INTERNAL
    return status


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # stdout replaced, as in tests
        pass


def _report_error(message: str, debug: bool) -> None:
    if debug:
        traceback.print_exc()
    _stderr(message)


# Python reprs that library messages may carry: NumPy scalars (np.float64(1.5))
# and objects (<_io.BytesIO object at 0x...>); users see plain values.
_NUMPY_SCALAR = re.compile(r"\bnp\.(?:float|int|uint|bool|complex)\w*\(([^()]*)\)")
_OBJECT_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-fA-F]+>")


def _plain(message: str) -> str:
    message = _NUMPY_SCALAR.sub(r"\1", message)
    message = _OBJECT_REPR.sub("the data", message)
    return " ".join(message.split())


def _stderr(message: str) -> None:
    print(f"{PROG}: {_plain(message)}", file=sys.stderr, flush=True)


def _warn(message: str) -> None:
    _stderr(f"warning: {message}")


def _emit_warnings(caught: list[warnings.WarningMessage], skip_solver: bool) -> bool:
    """Print captured warnings one line each; return whether a solver warning was seen."""
    solver_seen = False
    seen: set[str] = set()
    for item in caught:
        is_solver = issubclass(item.category, emd.SolverWarning)
        solver_seen |= is_solver
        text = str(item.message)
        if (is_solver and skip_solver) or text in seen:
            continue
        seen.add(text)
        _warn(text)
    caught.clear()
    return solver_seen


def _run(args: argparse.Namespace, caught: list[warnings.WarningMessage]) -> int:
    inputs = [p for p in (args.a, args.b) if p is not None]
    if args.pairwise is not None:
        if inputs:
            raise CLIError(
                f"--pairwise takes all the files itself; unexpected input {inputs[0]!r} before it"
            )
        for option, value in (
            ("--plan", args.plan),
            ("--flows", args.flows),
            ("--potentials", args.potentials),
            ("--cost", args.cost),
            ("--check-pot", args.check_pot),
            # emd.pairwise reports no per-pair status, so an early stop
            # could not be flagged; the euclidean tuning is per call.
            ("--max-iter", args.max_iter),
            ("--exact", args.exact),
            ("--max-rel-error", args.max_rel_error),
        ):
            if value is not None and value is not False:
                raise CLIError(f"{option} applies to a single pair A B, not to --pairwise")
        return _run_pairwise(args, caught)
    if len(inputs) != 2:
        raise CLIError(
            f"expected two inputs A and B (or --pairwise FILE...), got {len(inputs)} "
            f"(see {PROG} --help)"
        )
    for option, value in (("--output", args.output), ("--jobs", args.jobs),
                          ("--resume", args.resume or None)):
        if value is not None:
            raise CLIError(f"{option} applies to --pairwise only")
    return _run_pair(args, caught)


# ---------------------------------------------------------------------------
# Shared checks
# ---------------------------------------------------------------------------


def _check_stdin_once(paths: Sequence[str]) -> None:
    if sum(p == "-" for p in paths) > 1:
        raise CLIError('standard input ("-") can be read only once')


def _check_masses(hists: Sequence[Histogram], normalize: bool) -> None:
    """Refuse unequal totals up front, naming the files (the library names ``a``, ``b``)."""
    if normalize:
        return
    first = hists[0]
    mass_first = first.mass
    for other in hists[1:]:
        mass = other.mass
        # The library's own rule (emd._validation.mass_rtol), checked here to name files.
        rtol = mass_rtol(first.weights.size + other.weights.size)
        if abs(mass - mass_first) > rtol * max(mass, mass_first):
            raise CLIError(
                f"{first.source} and {other.source} have unequal total mass "
                f"({mass_first:.12g} and {mass:.12g}); pass --normalize to rescale both to 1"
            )


def _check_output(path: str | None, allowed: Sequence[str], what: str) -> None:
    """Fail before any computation when an output could not be written at the end."""
    if path is None:
        return
    if path == "-":
        raise CLIError(f"{what}: give a file name; standard output carries the distance")
    ext = Path(path).suffix.lower()
    if ext not in allowed:
        problem = f"unknown extension {ext!r}" if ext else "no file extension"
        raise CLIError(f"{path}: {problem} for {what} (expected one of {', '.join(allowed)})")
    parent = Path(path).parent
    if not parent.is_dir():
        raise CLIError(f"{path}: directory {parent} does not exist")
    try:
        name_max = os.pathconf(parent, "PC_NAME_MAX")
    except (OSError, ValueError):  # no such limit reported
        name_max = None
    if name_max is not None and len(os.fsencode(Path(path).name)) > name_max:
        raise CLIError(f"{path}: file name too long (at most {name_max} bytes here)")
    if os.path.isdir(path):
        raise CLIError(f"{path}: is a directory, not a file")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CLIError(f"{path}: cannot write in directory {parent} (permission denied)")


def _same_file(first: str, second: str) -> bool:
    """Whether two paths name one file: same real path (symlinks resolved) or same inode."""
    if os.path.realpath(first) == os.path.realpath(second):
        return True
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them does not exist (yet)
        return False


def _check_distinct(inputs: Sequence[tuple[str, str]], outputs: Sequence[tuple[str, str]]) -> None:
    """Refuse, before any work, an output that would overwrite an input or another output.

    ``inputs`` and ``outputs`` are ``(role, path)`` pairs; standard input and
    output ("-") are not files and never clash.
    """
    for k, (role, path) in enumerate(outputs):
        if path == "-":
            continue
        for in_role, in_path in inputs:
            if in_path != "-" and _same_file(path, in_path):
                raise CLIError(f"{path}: {role} is the same file as {in_role} ({in_path})")
        for other_role, other in outputs[:k]:
            if other != "-" and _same_file(path, other):
                raise CLIError(f"{path}: {other_role} and {role} name the same file")


def _shape(shape: Sequence[int]) -> str:
    return " x ".join(str(n) for n in shape)


def _default_metric(metric: str | None, grid: bool) -> str:
    if metric is not None:
        return metric
    return "cityblock" if grid else "euclidean"


def _check_grid_options(args: argparse.Namespace, grids: bool, metric: str, ndim: int) -> None:
    """Refuse the euclidean-grid options where :func:`emd.wasserstein_grid` would."""
    tuning = args.exact or args.max_rel_error is not None
    if tuning and not (grids and metric == "euclidean"):
        raise CLIError("--exact and --max-rel-error apply to grids under the euclidean metric")
    if args.exact and args.max_rel_error is not None:
        raise CLIError("--exact and --max-rel-error exclude each other")
    if grids and metric == "euclidean" and ndim == 3 and not args.exact:
        raise CLIError(
            "the euclidean metric on a 3-D grid needs --exact (the error bound of the "
            "fast grid solver holds in 1-D and 2-D only)"
        )


def _stderr_is_terminal() -> bool:
    stream = sys.stderr
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # replaced or closed streams
        return False


def _number(value: Any) -> float | None:
    """A float for JSON: strict JSON has no NaN or infinity."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


# ---------------------------------------------------------------------------
# One pair
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class _Pair:
    """A validated single-pair problem, ready for the solver."""

    a: Histogram
    b: Histogram
    solver: str  # "grid" (emd.wasserstein_grid), "points" (solve_points), "cost" (solve)
    metric: str | None
    cost: np.ndarray | None = None
    cost_source: str | None = None


@dataclasses.dataclass
class _Outcome:
    """What a solve produced, in the terms the reports and writers need."""

    distance: float
    status: str
    n_iter: int | None = None
    certificate: Any = None
    rel_error_bound: float | None = None
    # (rows, cols, masses) of the source-to-target plan.
    plan: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    # (tails, heads, flows) on the arcs of a grid graph.
    flows: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    # Bipartite duals (u, v) or, for a grid solve, the KR witness.
    duals: tuple[np.ndarray, np.ndarray] | None = None
    witness: np.ndarray | None = None


def _run_pair(args: argparse.Namespace, caught: list[warnings.WarningMessage]) -> int:
    started = time.perf_counter()
    _check_stdin_once([args.a, args.b] + ([args.cost] if args.cost else []))
    if args.cost is not None and args.metric is not None:
        raise CLIError("--metric does not apply with --cost: the cost matrix is the ground cost")
    _check_distinct(
        [("input A", args.a), ("input B", args.b)]
        + ([("the --cost matrix", args.cost)] if args.cost is not None else []),
        [
            (option, path)
            for option, path in (
                ("--plan", args.plan),
                ("--flows", args.flows),
                ("--potentials", args.potentials),
            )
            if path is not None
        ],
    )
    _check_output(args.plan, (*TEXT_EXTS, ".npz"), "the plan")
    _check_output(args.flows, (*TEXT_EXTS, ".npz"), "the arc flows")
    ot = _import_pot() if args.check_pot else None

    hist_a = read_histogram(args.a, kind=args.kind)
    hist_b = read_histogram(args.b, kind=args.kind)
    cost = cost_source = None
    if args.cost is not None:
        cost = read_cost_matrix(args.cost)
        cost_source = "<stdin>" if args.cost == "-" else args.cost
    pair = _prepare_pair(args, hist_a, hist_b, cost, cost_source)
    _check_masses([hist_a, hist_b], args.normalize)
    if pair.solver == "grid":
        _check_output(args.potentials, (".npy", ".npz", *TEXT_EXTS), "the potentials")
    else:
        _check_output(args.potentials, (".npz", *TEXT_EXTS), "the dual potentials")
    if args.flows is not None and pair.solver != "grid":
        raise CLIError(
            "--flows applies to grid histograms solved on the grid (flows between nearby "
            "bins); this problem has a plan between its points: use --plan"
        )
    if ot is not None:
        _check_pot_size(pair)

    solve_started = time.perf_counter()
    outcome = _solve_pair(pair, args)
    solve_time = time.perf_counter() - solve_started
    solver_warned = _emit_warnings(caught, skip_solver=True)

    status = EXIT_OK
    if outcome.status != "optimal" or solver_warned:
        iterations = "" if outcome.n_iter is None else f" after {outcome.n_iter} iterations"
        if outcome.status == "uncertified":
            _warn(
                f"the solver finished{iterations} but could not prove the distance optimal to "
                "1e-9 relative (status uncertified; --json shows the certificate's bound), "
                "and no output file was written"
            )
        else:
            _warn(
                f"the solver stopped before optimality (status {outcome.status}{iterations}); "
                + ("the distance is not available (grid solves report nan)"
                   if math.isnan(outcome.distance) else
                   "the distance is an upper bound, not the optimum")
                + ", and no output file was written"
            )
        status = EXIT_NOT_OPTIMAL

    pot_record = None
    if ot is not None:
        pot_record = _check_with_pot(ot, pair, outcome, args.normalize)
        _emit_warnings(caught, skip_solver=False)
        if not pot_record["agrees"] and status == EXIT_OK:
            _warn(
                f"POT's distance {pot_record['distance']!r} differs from {outcome.distance!r} "
                f"by {pot_record['rel_difference']:.3g} relative (tolerance "
                f"{pot_record['tolerance']:.3g}); no output file was written"
            )
            status = EXIT_POT

    if status == EXIT_OK:
        # All outputs or none: a failure on the last one leaves the others untouched.
        with atomic_batch():
            _write_pair_outputs(args, outcome)

    if args.json:
        record = _pair_record(args, pair, outcome, pot_record)
        record["solve_time_s"] = solve_time
        record["wall_time_s"] = time.perf_counter() - started
        _print_json(record)
    else:
        print(repr(float(outcome.distance)), flush=True)
        if outcome.rel_error_bound:
            bound = outcome.rel_error_bound
            print(
                f"approximation: euclidean grid graph within relative error {bound:.3g}; "
                f"the exact distance lies in [{outcome.distance / (1 + bound)!r}, "
                f"{outcome.distance!r}] (--exact computes it)",
                flush=True,
            )
        if pot_record is not None:
            print(
                f"POT ot.emd2: {pot_record['distance']!r} (difference "
                f"{pot_record['abs_difference']:.3g}, relative {pot_record['rel_difference']:.3g})",
                flush=True,
            )
    return status


def _prepare_pair(
    args: argparse.Namespace,
    hist_a: Histogram,
    hist_b: Histogram,
    cost: np.ndarray | None,
    cost_source: str | None,
) -> _Pair:
    """Pick the solver for a pair and check that the inputs fit together."""
    if cost is not None:
        for hist in (hist_a, hist_b):
            if hist.kind == "points":
                raise CLIError(
                    f"{hist.source}: --cost takes weight vectors, but this file holds a point "
                    "set (coordinates and weights), whose costs come from --metric instead"
                )
        n, m = hist_a.weights.size, hist_b.weights.size
        if cost.shape != (n, m):
            raise CLIError(
                f"{cost_source}: cost matrix has shape {cost.shape} but {hist_a.source} has "
                f"{n} weights and {hist_b.source} has {m}, so shape ({n}, {m}) is needed"
            )
        return _Pair(hist_a, hist_b, "cost", None, cost, cost_source)

    grids = hist_a.kind == "grid" and hist_b.kind == "grid"
    metric = _default_metric(args.metric, grids)
    if grids and hist_a.weights.shape != hist_b.weights.shape:
        raise CLIError(
            f"{hist_b.source}: a {_shape(hist_b.weights.shape)} grid cannot be compared with "
            f"{hist_a.source}, a {_shape(hist_a.weights.shape)} grid: the grid solver needs "
            "equal shapes"
        )
    if hist_a.dim != hist_b.dim:
        raise CLIError(
            f"{hist_b.source}: {hist_b.dim}-D data cannot be compared with "
            f"{hist_a.source}: {hist_a.dim}-D data"
        )
    _check_grid_options(args, grids, metric, hist_a.weights.ndim)
    solver = "grid" if grids and metric in GRID_METRICS else "points"
    return _Pair(hist_a, hist_b, solver, metric)


def _solve_pair(pair: _Pair, args: argparse.Namespace) -> _Outcome:
    if pair.solver == "cost":
        result = emd.solve(
            pair.a.weights.ravel(),
            pair.b.weights.ravel(),
            pair.cost,
            normalize=args.normalize,
            max_iter=args.max_iter,
        )
        return _transport_outcome(result, args.json)

    if args.spacing is not None and pair.solver != "grid":
        raise CLIError(
            "--spacing applies to grid histograms solved on the grid, not to point sets, "
            "explicit costs or sqeuclidean"
        )
    if pair.solver == "grid":
        spacing = 1.0 if args.spacing is None else args.spacing
        result = emd.solve_grid(
            pair.a.weights,
            pair.b.weights,
            metric=pair.metric,
            normalize=args.normalize,
            exact=args.exact,
            max_rel_error=args.max_rel_error,
            return_flows=args.plan is not None or args.flows is not None,
            max_iter=args.max_iter,
            spacing=spacing,
        )
        flows = plan = None
        if result.flows is not None:
            flows = tuple(np.asarray(x) for x in result.flows)
            if args.plan is not None and result.status == "optimal":
                plan = _grid_plan(pair, args.normalize, spacing, flows)
        return _Outcome(
            distance=float(result.cost),
            status=str(result.status),
            n_iter=None if result.n_iter is None else int(result.n_iter),
            rel_error_bound=float(result.rel_error_bound),
            plan=plan,
            flows=flows,
            # "+ 0.0" turns -0.0 into 0.0 in text output.
            witness=np.asarray(result.potential) + 0.0,
            certificate=result.certificate() if args.json else None,
        )

    x_a, w_a = pair.a.as_points()
    x_b, w_b = pair.b.as_points()
    details = args.json or args.plan or args.potentials or args.max_iter is not None
    if not details:
        # emd.wasserstein takes the O(n log n) closed form on the line.
        distance = emd.wasserstein(x_a, x_b, w_a, w_b, metric=pair.metric, normalize=args.normalize)
        return _Outcome(distance=float(distance), status="optimal")
    result = emd.solve_points(
        x_a,
        x_b,
        w_a,
        w_b,
        metric=pair.metric,
        normalize=args.normalize,
        max_iter=args.max_iter,
    )
    return _transport_outcome(result, args.json)


def _grid_plan(
    pair: _Pair, normalize: bool, spacing: float, flows: tuple[np.ndarray, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The source-to-target plan of a grid solve, from its arc flows."""
    a = pair.a.weights.ravel()
    b = pair.b.weights.ravel()
    mass_a, mass_b = math.fsum(a.tolist()), math.fsum(b.tolist())
    if normalize:
        a, b = a / mass_a, b / mass_b
    else:
        # Totals equal to the mass tolerance; the solver moved a's mass.
        b = b * (mass_a / mass_b)
    shape = pair.a.weights.shape
    coords = spacing * np.indices(shape, dtype=np.float64).reshape(len(shape), -1).T
    metric = pair.metric

    def cost(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        step = np.abs(coords[rows] - coords[cols])
        if metric == "cityblock":
            return step.sum(axis=1)
        if metric == "chebyshev":
            return step.max(axis=1)
        return np.sqrt((step * step).sum(axis=1))

    return coupling_from_flow(a, b, *flows, cost=cost)


def _transport_outcome(result: emd.TransportResult, certify: bool) -> _Outcome:
    plan = result.plan
    return _Outcome(
        distance=float(result.cost),
        status=result.status,
        n_iter=int(result.n_iter),
        # Made at the end of the solve: reading it costs nothing more.
        certificate=result.certificate() if certify else None,
        plan=(np.asarray(plan.row), np.asarray(plan.col), np.asarray(plan.data)),
        duals=(result.u, result.v),
    )


def _write_pair_outputs(args: argparse.Namespace, outcome: _Outcome) -> None:
    if args.plan is not None and outcome.plan is not None:
        write_plan(args.plan, *outcome.plan)
    if args.flows is not None and outcome.flows is not None:
        write_plan(args.flows, *outcome.flows, columns=("tail", "head", "flow"))
    if args.potentials is not None:
        if outcome.witness is not None:
            _write_witness(args.potentials, outcome.witness)
        elif outcome.duals is not None:
            _write_duals(args.potentials, *outcome.duals)


def _write_duals(path: str, u: np.ndarray, v: np.ndarray) -> None:
    ext = Path(path).suffix.lower()
    if ext == ".npz":

        def save(fh: IO[bytes]) -> None:
            np.savez(fh, u=u, v=v)

        atomic_write(path, save)
        return
    delim = DELIMITERS[ext]
    lines = [delim.join(("side", "index", "potential"))]
    for side, values in (("a", u), ("b", v)):
        # repr is the shortest text that reads back to the same float.
        lines.extend(f"{side}{delim}{i}{delim}{x!r}" for i, x in enumerate(values.tolist()))
    text = "\n".join(lines) + "\n"
    atomic_write(path, lambda fh: fh.write(text), binary=False)


def _write_witness(path: str, witness: np.ndarray) -> None:
    ext = Path(path).suffix.lower()
    if ext == ".npy":
        atomic_write(path, lambda fh: np.save(fh, witness, allow_pickle=False))
    elif ext == ".npz":

        def save(fh: IO[bytes]) -> None:
            np.savez(fh, potential=witness)

        atomic_write(path, save)
    elif witness.ndim == 2:
        # Same layout as a grid read from text, so it reads back with --grid.
        write_matrix(path, witness)
    else:
        write_vector(path, witness.ravel(), header="potential")


def _pair_record(
    args: argparse.Namespace, pair: _Pair, outcome: _Outcome, pot: dict[str, Any] | None
) -> dict[str, Any]:
    def shape(hist: Histogram) -> list[int]:
        if hist.positions is not None:
            return list(hist.positions.shape)
        return list(hist.weights.shape)

    certificate = None
    if outcome.certificate is not None:
        cert = outcome.certificate
        certificate = {
            "optimal": bool(cert.optimal()),
            "bound": _number(cert.bound),
            "relative_gap": _number(cert.relative_gap),
            "max_dual_violation": _number(cert.max_dual_violation),
            "marginal_error": _number(cert.marginal_error),
            "unrouted": _number(cert.unrouted),
        }
    record: dict[str, Any] = {
        "distance": _number(outcome.distance),
        "metric": pair.metric,
        "solver": pair.solver,
        "inputs": [pair.a.source, pair.b.source],
        "kinds": [pair.a.kind, pair.b.kind],
        "sizes": [int(pair.a.weights.size), int(pair.b.weights.size)],
        "shapes": [shape(pair.a), shape(pair.b)],
        "masses": [_number(pair.a.mass), _number(pair.b.mass)],
        "normalized": bool(args.normalize),
        "status": outcome.status,
        "optimal": outcome.status == "optimal",
        "n_iter": outcome.n_iter,
        "certificate": certificate,
        "rel_error_bound": _number(outcome.rel_error_bound),
    }
    if pair.cost_source is not None:
        record["cost_matrix"] = pair.cost_source
    if pot is not None:
        record["check_pot"] = {
            k: (_number(v) if isinstance(v, float) else v) for k, v in pot.items()
        }
    record["version"] = emd.__version__
    return record


def _print_json(record: dict[str, Any]) -> None:
    """One key per line, each value compact (a long matrix: one row per line)."""
    lines = []
    for key, value in record.items():
        text = json.dumps(value, allow_nan=False)
        if len(text) > 80 and isinstance(value, list) and all(isinstance(r, list) for r in value):
            rows = ",\n    ".join(json.dumps(row, allow_nan=False) for row in value)
            text = f"[\n    {rows}\n  ]"
        lines.append(f"  {json.dumps(key)}: {text}")
    print("{\n" + ",\n".join(lines) + "\n}", flush=True)


# ---------------------------------------------------------------------------
# --check-pot
# ---------------------------------------------------------------------------


def _import_pot() -> Any:
    try:
        import ot
    except ImportError:
        raise CLIError(
            "--check-pot needs POT (Python Optimal Transport), which is not installed: "
            "pip install pot"
        ) from None
    return ot


def _pot_problem(pair: _Pair) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Weights and, when it need not be computed, the cost matrix of a pair."""
    if pair.cost is not None:
        return pair.a.weights.ravel(), pair.b.weights.ravel(), pair.cost
    return pair.a.as_points()[1], pair.b.as_points()[1], None


def _check_pot_size(pair: _Pair) -> None:
    entries = pair.a.weights.size * pair.b.weights.size
    if pair.cost is None and entries > POT_MAX_ENTRIES:
        raise CLIError(
            f"--check-pot would need a dense {pair.a.weights.size} x {pair.b.weights.size} "
            f"cost matrix ({entries * 8 / 2**30:.1f} GiB); it is meant for smaller problems"
        )


def _check_with_pot(ot: Any, pair: _Pair, outcome: _Outcome, normalize: bool) -> dict[str, Any]:
    """Recompute the distance with POT's ``ot.emd2`` on an explicit cost matrix."""
    from scipy.spatial.distance import cdist

    w_a, w_b, cost = _pot_problem(pair)
    if cost is None:
        cost = cdist(pair.a.as_points()[0], pair.b.as_points()[0], metric=pair.metric)
    if normalize:
        w_a, w_b = w_a / math.fsum(w_a), w_b / math.fsum(w_b)
    else:
        # POT checks the totals to ~1e-7 relative; ours passed a tighter check,
        # so hand it exactly balanced weights.
        w_b = w_b * (math.fsum(w_a) / math.fsum(w_b))
    started = time.perf_counter()
    # POT's default limit (1e5 pivots) stops early on a few thousand points.
    distance = float(ot.emd2(w_a, w_b, cost, numItermax=max(10**6, 100 * (cost.size))))
    elapsed = time.perf_counter() - started
    diff = abs(distance - outcome.distance)
    scale = max(abs(distance), abs(outcome.distance), np.finfo(float).tiny)
    tolerance = POT_RTOL + (outcome.rel_error_bound or 0.0)
    return {
        "distance": distance,
        "abs_difference": diff,
        "rel_difference": diff / scale,
        "tolerance": tolerance,
        "agrees": diff / scale <= tolerance,
        "pot_version": getattr(ot, "__version__", None),
        "time_s": elapsed,
    }


# ---------------------------------------------------------------------------
# --pairwise
# ---------------------------------------------------------------------------


def _expand_inputs(items: Sequence[str], outputs: Sequence[str] = ()) -> list[str]:
    """Files from --pairwise arguments: directories are scanned, glob patterns expanded.

    Files that are one of ``outputs`` are left out of directories and
    patterns, so a result written into the input directory is never read
    back as an input on the next run with the same output.
    """
    import glob

    def is_output(path: str) -> bool:
        return any(_same_file(path, out) for out in outputs)

    paths: list[str] = []
    for item in items:
        if item == "-":
            paths.append(item)
        elif os.path.isdir(item):
            found = sorted(
                str(p)
                for p in Path(item).iterdir()
                if p.is_file()
                and not p.name.startswith(".")
                and p.suffix.lower() in HISTOGRAM_EXTS
                and not is_output(str(p))
            )
            if not found:
                raise CLIError(
                    f"{item}: the directory holds no histogram file ({' '.join(HISTOGRAM_EXTS)})"
                )
            paths.extend(found)
        elif not os.path.exists(item) and any(c in item for c in "*?["):
            # Patterns reach us quoted (or unmatched by the shell): expand them here.
            found = sorted(p for p in glob.glob(item) if os.path.isfile(p) and not is_output(p))
            if not found:
                raise CLIError(f"{item}: no file matches this pattern")
            paths.extend(found)
        elif not os.path.exists(item):
            raise CLIError(f"{item}: no such file or directory")
        else:
            paths.append(item)
    return paths


def _run_pairwise(args: argparse.Namespace, caught: list[warnings.WarningMessage]) -> int:
    started = time.perf_counter()
    outputs: list[tuple[str, str]] = []
    if args.output not in (None, "-"):
        _check_output(args.output, (*TEXT_EXTS, ".npz", ".npy"), "the distance matrix")
        outputs.append(("the output (-o)", args.output))
        if Path(args.output).suffix.lower() == ".npy":
            outputs.append(("the labels file of the output", labels_path(args.output)))
    paths = _expand_inputs(args.pairwise, [path for _, path in outputs])
    _check_distinct([(f"input {path}", path) for path in paths], outputs)
    _check_stdin_once(paths)
    if len(paths) < 2:
        raise CLIError(f"--pairwise needs at least two histograms, got {len(paths)}")
    hists = [read_histogram(path, kind=args.kind) for path in paths]

    grids = all(h.kind == "grid" for h in hists)
    metric = _default_metric(args.metric, grids)
    first = hists[0]
    for hist in hists[1:]:
        if grids and hist.weights.shape != first.weights.shape:
            raise CLIError(
                f"{hist.source}: a {_shape(hist.weights.shape)} grid cannot be compared with "
                f"{first.source}, a {_shape(first.weights.shape)} grid: the grid solver needs "
                "equal shapes"
            )
        if hist.dim != first.dim:
            raise CLIError(
                f"{hist.source}: {hist.dim}-D data cannot be compared with "
                f"{first.source}: {first.dim}-D data"
            )
    _check_masses(hists, args.normalize)
    use_grid = grids and metric in GRID_METRICS
    if use_grid and metric == "euclidean" and first.weights.ndim == 3:
        raise CLIError(
            "the euclidean metric on a 3-D grid needs --exact, which --pairwise does not "
            "offer; compare single pairs instead"
        )
    if args.spacing is not None and not use_grid:
        raise CLIError("--spacing applies to grid histograms, not to point sets")
    rel_error_bound = 0.0
    if use_grid and metric == "euclidean" and first.weights.ndim == 2:
        rel_error_bound = _default_euclidean_bound()
    if use_grid:
        items: list[Any] = [h.weights for h in hists]
    else:
        # (positions, weights) tuples: each histogram is its own point set.
        items = [h.as_points() for h in hists]
    # tqdm is optional: without it there is simply no bar.
    progress = _stderr_is_terminal() and importlib.util.find_spec("tqdm") is not None

    if args.resume and not str(args.output or "").lower().endswith(".npy"):
        raise CLIError("--resume needs -o FILE.npy: the matrix is written there block by block")
    solve_started = time.perf_counter()
    matrix = emd.pairwise(
        items,
        metric=metric,
        # 1-D weights without grid=True take the closed form on the line.
        grid=use_grid and first.weights.ndim > 1,
        n_jobs=args.jobs,
        progress=progress,
        normalize=args.normalize,
        spacing=1.0 if args.spacing is None else args.spacing,
        **({"out": args.output, "resume": True} if args.resume else {}),
    )
    solve_time = time.perf_counter() - solve_started
    matrix = np.asarray(matrix, dtype=np.float64)

    status = EXIT_OK
    if _emit_warnings(caught, skip_solver=False):
        _warn(
            "some distances are not proven optimal (upper bounds for point sets, nan for "
            "grids); no output file was written"
        )
        status = EXIT_NOT_OPTIMAL

    if rel_error_bound:
        _stderr(
            f"note: euclidean grid graph: each distance is within relative error "
            f"{rel_error_bound:.3g} above the exact one (compare single pairs with --exact "
            "for exact values)"
        )
    labels = [h.source for h in hists]
    to_file = args.output not in (None, "-")
    if status == EXIT_OK and to_file and not args.resume:  # --resume wrote it already
        with atomic_batch():
            write_matrix(args.output, matrix, labels=labels)
    if args.json:
        record: dict[str, Any] = {
            "inputs": labels,
            "metric": metric,
            "solver": "grid" if use_grid else "points",
            "n": len(hists),
            "normalized": bool(args.normalize),
            "rel_error_bound": rel_error_bound,
            "output": args.output if to_file and status == EXIT_OK else None,
        }
        if to_file and status == EXIT_OK and Path(args.output).suffix.lower() == ".npy":
            record["labels_file"] = labels_path(args.output)
        if not to_file:
            record["distances"] = [[_number(x) for x in row] for row in matrix.tolist()]
        record["solve_time_s"] = solve_time
        record["wall_time_s"] = time.perf_counter() - started
        record["version"] = emd.__version__
        _print_json(record)
    elif not to_file:
        write_matrix("-", matrix, labels=labels)
    return status


def _default_euclidean_bound() -> float:
    """The error bound of the euclidean grid graph emd.pairwise uses (default offsets)."""
    one = np.ones((2, 2))
    return float(emd.solve_grid(one, one, metric="euclidean").rel_error_bound)
