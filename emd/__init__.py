"""emd: exact Wasserstein-1 (Earth Mover's) distances with a certified network simplex.

The public API::

    emd.solve(a, b, cost)                 # dense cost matrix
    emd.solve_points(x, y, a, b, metric)  # costs computed on the fly, O(n) memory
    emd.wasserstein(x, y, a, b, metric)   # the distance only
    emd.min_cost_flow(tails, heads, costs, supply)  # sparse transshipment
    emd.wasserstein_1d / wasserstein_grid / wasserstein_graph / wasserstein_tree

Every solve returns a small result object with the plan, the dual
potentials and a ``certificate()`` of optimality.
"""

from emd import divergences, dual
from emd._result import Certificate, FlowResult, TransportResult
from emd.batch import cdist, pairwise
from emd.neighbors import NeighborsResult, knn
from emd.structured import (
    GraphResult,
    GridResult,
    OneDimResult,
    TreeResult,
    solve_1d,
    solve_tree,
    wasserstein_1d,
    wasserstein_graph,
    wasserstein_grid,
    wasserstein_tree,
)
from emd.transport import SolverWarning, min_cost_flow, solve, solve_points, wasserstein

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
    "solve_points",
    "solve_tree",
    "wasserstein",
    "wasserstein_1d",
    "wasserstein_graph",
    "wasserstein_grid",
    "wasserstein_tree",
]
