"""``--pairwise``: the matrix of distances between many histogram files."""

from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import json
import os
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import emd
from emd._validation import GRID_METRICS
from emd.batch import ResumeError
from emd.io import (
    atomic_batch,
    labels_path,
    read_histogram,
    write_labels,
    write_matrix,
)

from ._checks import (
    _check_comparable,
    _check_distinct,
    _check_layout,
    _check_masses,
    _check_output,
    _check_stdin_once,
    _default_metric,
    _number,
    _on_one_line,
    _same_file,
    _stderr_is_terminal,
    _unequal_keywords,
)
from ._pair import DELIMITERS, TEXT_EXTS, _print_json
from ._report import EXIT_NOT_OPTIMAL, EXIT_OK, CLIError, _emit_warnings, _stderr, _warn

#: What -o takes with --pairwise: the formats of emd.io.write_matrix.
MATRIX_EXTS = (*TEXT_EXTS, ".json", ".npz", ".npy")

# Extensions a directory given to --pairwise is scanned for: those that
# emd.io.read_histogram reads.
HISTOGRAM_EXTS = (
    ".npy", ".npz", ".csv", ".tsv", ".txt", ".json",
    ".png", ".pgm", ".ppm", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff",
)  # fmt: skip


# ---------------------------------------------------------------------------
# --pairwise
# ---------------------------------------------------------------------------


def _expand_inputs(
    items: Sequence[str], earlier_outputs: Sequence[str] = ()
) -> list[tuple[str, str]]:
    """Files from --pairwise arguments, as ``(path, description)``: directories are
    scanned and glob patterns expanded, in sorted order.

    Files that are one of ``earlier_outputs`` (an output of an earlier run with
    the same -o, and the files beside it) are left out of directories and
    patterns, so a result written into the input directory is never read back
    as an input.  Any other file found is an input, whatever its name.
    """
    import glob

    def is_earlier_output(path: str) -> bool:
        return any(_same_file(path, out) for out in earlier_outputs)

    found_inputs: list[tuple[str, str]] = []
    for item in items:
        if item == "-":
            found_inputs.append((item, "standard input"))
        elif os.path.isdir(item):
            found = sorted(
                str(p)
                for p in Path(item).iterdir()
                if p.is_file()
                and not p.name.startswith(".")
                and p.suffix.lower() in HISTOGRAM_EXTS
                and not is_earlier_output(str(p))
            )
            if not found:
                raise CLIError(
                    f"{item}: the directory holds no histogram file ({' '.join(HISTOGRAM_EXTS)})"
                )
            found_inputs.extend((p, f"input {p} (in directory {item})") for p in found)
        elif not os.path.exists(item) and any(c in item for c in "*?["):
            # Patterns reach us quoted (or unmatched by the shell): expand them here.
            found = sorted(
                p for p in glob.glob(item) if os.path.isfile(p) and not is_earlier_output(p)
            )
            if not found:
                raise CLIError(f"{item}: no file matches this pattern")
            found_inputs.extend((p, f"input {p} (matched by {item})") for p in found)
        elif not os.path.exists(item):
            raise CLIError(f"{item}: no such file or directory")
        else:
            found_inputs.append((item, f"input {item}"))
    return found_inputs


def _side_files(output: str, resume: bool) -> list[tuple[str, str]]:
    """The files an -o FILE writes, as ``(role, path)``: FILE and what goes beside it."""
    files = [("the output (-o)", output)]
    if Path(output).suffix.lower() == ".npy":
        files.append(("the labels file of the output", labels_path(output)))
        if resume:
            files.append(("the record of the output", _record_path(output)))
    return files


def _record_path(output: str) -> str:
    # Where emd.pairwise(out=...) keeps its record of finished blocks (documented).
    return output + ".progress"


def _is_earlier_output(path: str) -> bool:
    """Whether ``path`` holds a distance matrix that --pairwise -o wrote: square, with
    one name per row beside it or inside it (or, for .npy, a record of finished blocks).

    A histogram does not look like that, so a file in an input directory that
    is not recognised here is an input, and an -o naming it is refused.
    """
    if not os.path.isfile(path):
        return False
    ext = Path(path).suffix.lower()
    try:
        if ext == ".npy":
            matrix = np.load(path, mmap_mode="r", allow_pickle=False)
            if not (matrix.ndim == 2 and matrix.shape[0] == matrix.shape[1]):
                return False
            if os.path.isfile(_record_path(path)):
                return True
            labels = Path(labels_path(path)).read_text(encoding="utf-8").splitlines()
            return len(labels) == matrix.shape[0]
        if ext == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                if sorted(archive.files) != ["labels", "matrix"]:
                    return False
                matrix, labels = archive["matrix"], archive["labels"]
            return matrix.ndim == 2 and matrix.shape == (labels.size, labels.size)
        if ext == ".json":
            with open(path, encoding="utf-8") as fh:
                record = json.load(fh)
            return (
                isinstance(record, dict)
                and sorted(record) == ["labels", "matrix"]
                and all(len(row) == len(record["labels"]) for row in record["matrix"])
                and len(record["matrix"]) == len(record["labels"])
            )
        if ext in TEXT_EXTS:
            return _is_labelled_table(path, DELIMITERS[ext])
    except (OSError, ValueError, TypeError, UnicodeDecodeError):
        return False
    return False


def _is_labelled_table(path: str, delimiter: str) -> bool:
    """A first row of quoted names, then as many rows of as many numbers, zero diagonal."""
    with open(path, encoding="utf-8", newline="") as fh:
        first = fh.readline()
        names = next(csv.reader([first], delimiter=delimiter))
        # Exactly the line write_matrix writes: every name quoted.
        line = io.StringIO()
        csv.writer(line, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator="\n").writerow(
            names
        )
        if not names or first != line.getvalue():
            return False
        count = 0
        for row in csv.reader(fh, delimiter=delimiter):
            values = [float(x) for x in row]
            if len(values) != len(names) or count >= len(names) or values[count] != 0.0:
                return False
            count += 1
        return count == len(names)


def _run_pairwise(args: argparse.Namespace, caught: list[warnings.WarningMessage]) -> int:
    started = time.perf_counter()
    to_file = args.output not in (None, "-")
    if args.resume and Path(args.output or "").suffix.lower() != ".npy":
        raise CLIError("--resume needs -o FILE.npy: the matrix is written there block by block")
    outputs: list[tuple[str, str]] = []
    if to_file:
        _check_output(args.output, MATRIX_EXTS, "the distance matrix")
        outputs = _side_files(args.output, args.resume)
    earlier = [path for _, path in outputs] if to_file and _is_earlier_output(args.output) else []
    found = _expand_inputs(args.pairwise, earlier)
    paths = [path for path, _ in found]
    _check_distinct([(description, path) for path, description in found], outputs)
    _check_stdin_once(paths)
    if len(paths) < 2:
        raise CLIError(f"--pairwise needs at least two histograms, got {len(paths)}")
    hists = [read_histogram(path, kind=args.kind) for path in paths]
    for hist in hists:
        _check_layout(hist, args.volume)
    hists = _on_one_line(hists)

    grids = all(h.kind == "grid" for h in hists)
    metric = _default_metric(args.metric, grids)
    first = hists[0]
    for hist in hists[1:]:
        _check_comparable(first, hist, grids)
    unequal = _unequal_keywords(args)
    if not unequal:
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

    solve_started = time.perf_counter()
    options: dict[str, Any] = {
        "metric": metric,
        # 1-D weights without grid=True take the closed form on the line.
        "grid": use_grid and first.weights.ndim > 1,
        "n_jobs": args.jobs,
        "progress": progress,
        "normalize": args.normalize,
        "spacing": 1.0 if args.spacing is None else args.spacing,
        **unequal,
    }
    certified = None
    if args.resume:
        try:
            matrix = emd.pairwise(items, out=args.output, resume=True, **options)
        except ResumeError as exc:
            advice = "pass the same files and options, or " if exc.differs else ""
            raise CLIError(
                f"{args.output}: cannot resume: {exc.problem}; {advice}run without --resume to "
                f"start again (this overwrites {args.output})"
            ) from None
    else:
        try:
            matrix, certified = emd.pairwise(items, return_status=True, **options)
        except ValueError as exc:
            raise CLIError(f"--pairwise: {exc} (pairs number the inputs from 0, in the order "
                           "of the labels)") from None
    solve_time = time.perf_counter() - solve_started
    matrix = np.asarray(matrix, dtype=np.float64)
    labels = [h.source for h in hists]

    status = EXIT_OK
    solver_warned = _emit_warnings(caught, skip_solver=True)
    if certified is not None and not certified.all():
        rows, cols = np.nonzero(np.triu(~certified, 1))
        _warn(
            f"{rows.size} of {len(hists) * (len(hists) - 1) // 2} distances are not proven "
            f"optimal (the first: {labels[rows[0]]} and {labels[cols[0]]}): their values are "
            "upper bounds; no output file was written"
        )
        status = EXIT_NOT_OPTIMAL
    elif args.resume and solver_warned:
        _warn(
            f"some distances in {args.output} are not proven optimal: their values are upper "
            "bounds"
        )
        status = EXIT_NOT_OPTIMAL

    if rel_error_bound:
        _stderr(
            f"note: euclidean grid graph: each distance is within relative error "
            f"{rel_error_bound:.3g} above the exact one (compare single pairs with --exact "
            "for exact values)"
        )
    written = to_file and (status == EXIT_OK or args.resume)
    if args.resume:
        # The matrix is in place already; the names of its rows go beside it.
        write_labels(args.output, labels)
    elif written:
        with atomic_batch():
            write_matrix(args.output, matrix, labels=labels)
    if args.json:
        record: dict[str, Any] = {
            "inputs": labels,
            "metric": metric,
            "solver": "grid" if use_grid else "points",
            "n": len(hists),
            "normalized": bool(args.normalize),
            **unequal,
            "rel_error_bound": rel_error_bound,
            "output": args.output if written else None,
        }
        if written and Path(args.output).suffix.lower() == ".npy":
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
