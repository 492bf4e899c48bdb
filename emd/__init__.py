"""emd: exact Wasserstein-1 (Earth Mover's) distances with a certified network simplex.

The public API::

    emd.solve(a, b, cost)                 # dense cost matrix
    emd.solve_points(x, y, a, b, metric)  # costs computed on the fly, O(n) memory
    emd.wasserstein(x, y, a, b, metric)   # the distance only
    emd.wasserstein_batch(xs, ys)         # one distance per pair of a minibatch
    emd.min_cost_flow(tails, heads, costs, supply)  # sparse transshipment
    emd.wasserstein_1d / wasserstein_grid / wasserstein_graph / wasserstein_tree  # floats
    emd.solve_1d / solve_grid / solve_graph / solve_tree                          # results

``wasserstein*`` functions give the number, ``solve*`` functions a small
result object with the plan or flows and the dual potentials (transport
results also a ``certificate()`` of optimality).

PyTorch tensors and JAX arrays are accepted by ``wasserstein``,
``wasserstein_1d``, ``wasserstein_batch``, ``solve``, ``solve_points``,
``solve_grid``, ``wasserstein_grid``, ``pairwise``, ``cdist`` and
``emd.compat.pot``: the answer comes back as the same kind (dtype, device),
differentiable, with gradients from the optimal plan and potentials (see
"Training with PyTorch or JAX" in the README).  Neither library is imported
until such an array arrives.

Total masses
------------
Each function follows one of two rules, whatever the totals turn out to be
(no rounding of a total can move a call from one rule to the other):

* **Distributions** (:func:`wasserstein`, :func:`wasserstein_1d`,
  :func:`wasserstein_batch`, :func:`solve_1d`, :mod:`emd.divergences`): each
  weight vector is divided by its own total, as
  :func:`scipy.stats.wasserstein_distance` does.
  Totals need not agree.  (The estimators of :mod:`emd.dual` take samples,
  each of weight ``1/n``.)
* **Masses as given** (:func:`solve`, :func:`solve_points`,
  :func:`solve_grid` and :func:`wasserstein_grid`, :func:`solve_graph` and
  :func:`wasserstein_graph`, :func:`solve_tree` and :func:`wasserstein_tree`,
  :func:`pairwise`, :func:`cdist`, :func:`knn`, :func:`emd.dual.kr_witness`,
  :func:`emd.dual.certify`): the totals must be equal to the precision of
  the inputs.  Their relative difference ``|sum(a) - sum(b)| / max(sum(a),
  sum(b))`` may be at most ``max(1e-9, min(n * eps, sqrt(eps)))``, where ``n``
  counts the bins of both sides and ``eps`` is the machine epsilon of the
  inputs' dtype (float64: 1e-9 up to 4.5 million bins; float32: ``n *
  1.2e-7``, at most 3.5e-4).  A larger difference is a ``ValueError`` naming
  both totals; a smaller one is rounding: beyond 1e-9, ``b`` is rescaled to
  the total of ``a``, and what remains is balanced exactly before solving
  (``result.a`` and ``result.b`` hold what was moved).  ``pairwise``,
  ``cdist`` and ``knn`` read every histogram as float64 and compare each
  total with the first histogram's by the float64 tolerance.
  ``normalize=True`` divides each side by its own total instead.

:func:`min_cost_flow` takes supplies that sum to zero (within 1e-9 of the
total supply), and :mod:`emd.compat.pot` follows POT: totals equal to 6
decimals, then ``b`` rescaled to the total of ``a``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from emd._minibatch import wasserstein_batch
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
    "wasserstein_batch",
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
