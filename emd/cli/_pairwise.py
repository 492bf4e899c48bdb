"""``--pairwise``: the matrix of distances between many histogram files."""

from __future__ import annotations

import argparse
import importlib.util
import os
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import emd
from emd.io import (
    atomic_batch,
    labels_path,
    read_histogram,
    write_matrix,
)

from ._checks import (
    _check_comparable,
    _check_distinct,
    _check_masses,
    _check_output,
    _check_stdin_once,
    _default_metric,
    _number,
    _same_file,
    _stderr_is_terminal,
)
from ._pair import TEXT_EXTS, _print_json
from ._parser import GRID_METRICS
from ._report import EXIT_NOT_OPTIMAL, EXIT_OK, CLIError, _emit_warnings, _stderr, _warn

# Extensions a directory given to --pairwise is scanned for: those that
# emd.io.read_histogram reads.
HISTOGRAM_EXTS = (
    ".npy", ".npz", ".csv", ".tsv", ".txt", ".json",
    ".png", ".pgm", ".ppm", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff",
)  # fmt: skip


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
        _check_comparable(first, hist, grids)
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
