"""emd: exact Wasserstein-1 (Earth Mover's) distances with a certified network simplex.

The public API::

    emd.solve(a, b, cost)                 # dense cost matrix
    emd.solve_points(x, y, a, b, metric)  # costs computed on the fly, O(n) memory
    emd.wasserstein(x, y, a, b, metric)   # the distance only
    emd.min_cost_flow(tails, heads, costs, supply)  # sparse transshipment
    emd.wasserstein_1d / wasserstein_grid / wasserstein_graph / wasserstein_tree  # floats
    emd.solve_1d / solve_grid / solve_graph / solve_tree                          # results

``wasserstein*`` functions give the number, ``solve*`` functions a small
result object with the plan or flows and the dual potentials (transport
results also a ``certificate()`` of optimality).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from emd._result import Certificate, FlowResult, TransportResult
from emd.batch import cdist, pairwise
from emd.neighbors import NeighborsResult, knn
from emd.structured import (
    GraphResult,
    GridResult,
    OneDimResult,
    TreeResult,
    solve_1d,
    solve_graph,
    solve_grid,
    solve_tree,
    wasserstein_1d,
    wasserstein_graph,
    wasserstein_grid,
    wasserstein_tree,
)
from emd.transport import SolverWarning, min_cost_flow, solve, solve_points, wasserstein

if TYPE_CHECKING:
    from emd import divergences, dual

__version__ = "0.1.0"

__all__ = [
    "Certificate",
    "FlowResult",
    "GraphResult",
    "GridResult",
    "NeighborsResult",
    "OneDimResult",
    "SolverWarning",
    "TransportResult",
    "TreeResult",
    "__version__",
    "cdist",
    "divergences",
    "dual",
    "knn",
    "min_cost_flow",
    "pairwise",
    "solve",
    "solve_1d",
    "solve_graph",
    "solve_grid",
    "solve_points",
    "solve_tree",
    "wasserstein",
    "wasserstein_1d",
    "wasserstein_graph",
    "wasserstein_grid",
    "wasserstein_tree",
]

# The submodules below are imported on first access (``emd.dual.kr_witness``,
# ``from emd import divergences``), so that ``import emd`` pays only for the solvers.
_LAZY_SUBMODULES = ("divergences", "dual")


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_SUBMODULES))
