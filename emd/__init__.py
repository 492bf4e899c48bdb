"""emd: exact Wasserstein-1 (Earth Mover's) distances with a certified network simplex.

The public API::

    emd.solve(a, b, cost)                 # dense cost matrix
    emd.solve_points(x, y, a, b, metric)  # costs computed on the fly, O(n) memory
    emd.wasserstein(x, y, a, b, metric)   # the distance only
    emd.min_cost_flow(tails, heads, costs, supply)  # sparse transshipment

Every solve returns a small result object with the plan, the dual
potentials and a ``certificate()`` of optimality.
"""

from emd._result import Certificate, FlowResult, TransportResult
from emd.transport import SolverWarning, min_cost_flow, solve, solve_points, wasserstein

__version__ = "0.1.0"

__all__ = [
    "Certificate",
    "FlowResult",
    "SolverWarning",
    "TransportResult",
    "__version__",
    "min_cost_flow",
    "solve",
    "solve_points",
    "wasserstein",
]
