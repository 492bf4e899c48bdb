"""What ``emd-compute`` says: exit statuses, one-line errors and warnings."""

from __future__ import annotations

import os
import re
import sys
import traceback
import warnings

import emd

PROG = "emd-compute"

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_INPUT = 2
EXIT_NOT_OPTIMAL = 3
EXIT_POT = 4
EXIT_INTERRUPTED = 130


class CLIError(Exception):
    """A problem to report as one line on standard error, with an exit status."""

    def __init__(self, message: str, status: int = EXIT_INPUT) -> None:
        super().__init__(" ".join(str(message).split()))
        self.status = status


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
