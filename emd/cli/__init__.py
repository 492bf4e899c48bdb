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
    Interrupted (Ctrl-C).  With ``--pairwise ... -o FILE.npy`` the message
    gives the command that continues the run (the same arguments, with
    ``--resume``).

Nothing is written to an output file unless the exit status is 0, except
with ``--resume``: the matrix is then written block by block, and every
entry not yet computed holds NaN.

Layout: ``_parser`` (options and help), ``_report`` (exit statuses, errors,
warnings), ``_checks`` (checks shared by both modes), ``_pair`` (one pair and
``--check-pot``), ``_pairwise`` (``--pairwise``).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import warnings
from collections.abc import Sequence

from emd.io import HistogramFileError

from ._pair import _run_pair
from ._pairwise import _run_pairwise
from ._parser import build_parser
from ._report import (
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_NOT_OPTIMAL,
    EXIT_OK,
    EXIT_POT,
    PROG,
    CLIError,
    _report_error,
    _silence_stdout,
)

__all__ = ["EXIT_INPUT", "EXIT_INTERNAL", "EXIT_NOT_OPTIMAL", "EXIT_OK", "EXIT_POT", "main"]


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
    args = None
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
            _report_error(_interrupted(args, argv), debug)
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


def _interrupted(args: argparse.Namespace | None, argv: list[str]) -> str:
    """What to say on Ctrl-C: for a matrix on disk, the command that continues it."""
    if args is None or args.pairwise is None:
        return "interrupted"
    output = str(args.output or "")
    if not output.lower().endswith(".npy"):
        return "interrupted"
    command = shlex.join([PROG, *argv, *([] if args.resume else ["--resume"])])
    if args.resume:
        kept = (f"{output} keeps the finished blocks (entries not yet computed are NaN); "
                if os.path.exists(output) else "")
        return f"interrupted; {kept}to continue, run the same command again: {command}"
    return (
        f"interrupted; nothing was written to {output}; to write it block by block and "
        f"continue after an interruption, add --resume: {command}"
    )


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
