"""Structured W1: closed forms and sparse transshipment where the ground metric allows it.

* :func:`wasserstein_1d`, :func:`solve_1d`: the line, from the CDFs in O(n log n).
* :func:`wasserstein_grid`, :func:`solve_grid`: histograms on 1-, 2- and 3-D grids on O(bins) arcs.
* :func:`wasserstein_graph`, :func:`solve_graph`: shortest-path metrics of weighted graphs.
* :func:`wasserstein_tree`, :func:`solve_tree`: tree metrics in O(n).

``wasserstein_*`` return the distance as a float; ``solve_*`` the result
object (plan or flows, potentials).  Masses (see "Total masses" in
:mod:`emd`): the 1-D functions follow :func:`scipy.stats.wasserstein_distance`
(each side divided by its own total); the grid, graph and tree functions move
the masses as given (equal totals) unless ``normalize=True``.
"""

from emd.structured._graph import GraphResult, solve_graph, wasserstein_graph
from emd.structured._grid import GridResult, euclidean_offsets, solve_grid, wasserstein_grid
from emd.structured._onedim import OneDimResult, solve_1d, wasserstein_1d
from emd.structured._tree import TreeResult, solve_tree, wasserstein_tree

__all__ = [
    "GraphResult",
    "GridResult",
    "OneDimResult",
    "TreeResult",
    "euclidean_offsets",
    "solve_1d",
    "solve_graph",
    "solve_grid",
    "solve_tree",
    "wasserstein_1d",
    "wasserstein_graph",
    "wasserstein_grid",
    "wasserstein_tree",
]
