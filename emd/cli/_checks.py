"""Checks shared by a single pair and ``--pairwise``: inputs, outputs, comparability."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emd._validation import check_grid_layout, mass_rtol
from emd.io import (
    Histogram,
)

from ._report import CLIError

# ---------------------------------------------------------------------------
# Shared checks
# ---------------------------------------------------------------------------


def _check_stdin_once(paths: Sequence[str]) -> None:
    if sum(p == "-" for p in paths) > 1:
        raise CLIError('standard input ("-") can be read only once')


def _unequal_keywords(args: Any) -> dict[str, float]:
    """``{"partial": MASS}`` or ``{"unbalanced": LAM}`` from the options (empty without),
    refusing the combinations that make no sense for unequal masses."""
    chosen = {name: value for name, value in (("partial", args.partial),
                                              ("unbalanced", args.unbalanced))
              if value is not None}
    if len(chosen) > 1:
        raise CLIError("--partial and --unbalanced are exclusive: pass one of them")
    if chosen:
        option = "--" + next(iter(chosen))
        for other, value in (("--normalize", args.normalize), ("--check-pot", args.check_pot),
                             ("--exact", args.exact), ("--flows", args.flows),
                             ("--potentials", args.potentials)):
            if value:
                raise CLIError(f"{other} does not apply with {option} (masses are moved as "
                               f"given, the answer is not a balanced transport)")
    return chosen


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

    ``inputs`` are ``(description, path)`` pairs, the description naming the
    input as the user gave it ("input A (a.csv)"); ``outputs`` are ``(role,
    path)`` pairs.  Standard input and output ("-") are not files and never
    clash.
    """
    for k, (role, path) in enumerate(outputs):
        if path == "-":
            continue
        for description, in_path in inputs:
            if in_path != "-" and _same_file(path, in_path):
                raise CLIError(
                    f"{path}: {role} is the same file as {description}; an output never "
                    "overwrites an input"
                )
        for other_role, other in outputs[:k]:
            if other != "-" and _same_file(path, other):
                raise CLIError(f"{path}: {other_role} and {role} name the same file")


def _shape(shape: Sequence[int]) -> str:
    return " x ".join(str(n) for n in shape)


def _default_metric(metric: str | None, grid: bool) -> str:
    if metric is not None:
        return metric
    return "cityblock" if grid else "euclidean"


def _check_comparable(first: Histogram, other: Histogram, grids: bool) -> None:
    """Refuse two histograms that cannot be compared: grids of other shapes, or data of
    another dimension (the one home of these checks for pairs and --pairwise alike)."""
    if grids and other.weights.shape != first.weights.shape:
        raise CLIError(
            f"{other.source}: a {_shape(other.weights.shape)} grid cannot be compared with "
            f"{first.source}, a {_shape(first.weights.shape)} grid: the grid solver needs "
            "equal shapes"
        )
    if other.dim != first.dim:
        raise CLIError(
            f"{other.source}: {other.dim}-D data cannot be compared with "
            f"{first.source}: {first.dim}-D data"
        )


def _check_layout(hist: Histogram, volume: bool) -> None:
    """Refuse a 3-D grid shaped like a colour image unless --volume says it is a volume.

    The rule is the library's (:func:`emd._validation.check_grid_layout`);
    the message is the command line's, with the file and the flag.
    """
    if volume or hist.kind != "grid":
        return
    shape = hist.weights.shape
    try:
        check_grid_layout(shape, "A", False)
    except ValueError:
        raise CLIError(
            f"{hist.source}: a {_shape(shape)} array looks like an image with {shape[-1]} "
            "colour channels on its last axis, which would be compared as a 3-D grid with "
            "mass moving between the channels; save it with one grey level per pixel, or "
            "pass --volume if it is a 3-D histogram"
        ) from None


def _on_one_line(hists: Sequence[Histogram]) -> list[Histogram]:
    """1-D weight files of different lengths, on one line: bins at 0..n-1 and 0..m-1.

    The shorter ones get empty bins at the end, which carry no mass: the
    distance is that of the two lines, and a trailing zero bin changes nothing.
    """
    if not all(h.kind == "grid" and h.weights.ndim == 1 for h in hists):
        return list(hists)
    size = max(h.weights.size for h in hists)
    return [
        h if h.weights.size == size
        else Histogram(np.pad(h.weights, (0, size - h.weights.size)), source=h.source)
        for h in hists
    ]


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
