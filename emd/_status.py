"""Solver statuses turned into warnings, in one place for every entry point."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable


class SolverWarning(RuntimeWarning):
    """The solver stopped before proving optimality (iteration limit, infeasible, unbounded),
    or finished without a certificate that proves the answer (uncertified)."""


def cost_if_finished(status: str, cost: Callable[[], float]) -> float:
    """The cost of a transshipment, or NaN when the solver stopped short (``max_iter``,
    infeasible, unbounded): supply still sits on artificial arcs, so the flow is not a
    solution and has no distance to report.  A finished but uncertified solve keeps its
    cost (its status says what was not proven)."""
    return cost() if status in ("optimal", "uncertified") else math.nan


def warn_status(status: str, max_iter: int | None) -> None:
    """Warn, naming the limit, unless ``status`` is ``"optimal"``."""
    if status == "max_iter_reached":
        warnings.warn(
            f"the iteration limit max_iter={max_iter} was reached before optimality; "
            "the result is not optimal",
            SolverWarning,
            stacklevel=3,
        )
    elif status == "uncertified":
        warnings.warn(
            "the solver finished but its certificate could not prove the result optimal "
            "to 1e-9 relative; see result.certificate() for the bound that was proven",
            SolverWarning,
            stacklevel=3,
        )
    elif status != "optimal":
        warnings.warn(f"the solver stopped with status {status!r}", SolverWarning, stacklevel=3)


def warn_pairs(unproven: list, total: int, what: str, meaning: str, stacklevel: int) -> None:
    """One warning for the pairs of a batch in ``unproven`` (indices, the first five
    named) out of ``total``: they ``what`` (stopped, or were not proven) and ``meaning``
    says what their values are; ``stacklevel`` as the caller would give it."""
    if unproven:
        first = ", ".join(str(k) for k in unproven[:5])
        warnings.warn(
            f"{len(unproven)} of {total} pairs {what} (the first: "
            f"{first}{', ...' if len(unproven) > 5 else ''}); {meaning}",
            SolverWarning,
            stacklevel=stacklevel + 1,
        )
