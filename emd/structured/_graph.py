"""Exact W1 under the shortest-path metric of a weighted undirected graph.

Transport between masses on the nodes of a graph, where moving a unit of mass
costs the length of the shortest path, is a minimum-cost flow on the graph
itself: one arc each way per edge, no all-pairs distance matrix.  Trees take
the closed form of :mod:`emd.structured._tree` in O(n).
"""

from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike

from emd import _certify, _engine
from emd._result import Certificate, certify_flow
from emd._status import cost_if_finished
from emd._status import warn_status as _warn_status
from emd._validation import as_float_array, as_positive_int, as_weights, balance, input_eps
from emd.structured._deprecation import DeprecatedResultFloat
from emd.structured._tree import _tree_certificate, solve_tree
from emd.unbalanced import UnbalancedResult, check_keywords, solve_arcs

__all__ = ["GraphResult", "solve_graph", "wasserstein_graph"]


@dataclass(frozen=True, slots=True)
class GraphResult:
    """W1 between two mass distributions on the nodes of a graph.

    Attributes
    ----------
    cost : float
        The distance.
    potential : ndarray, shape (n_nodes,)
        Kantorovich potential: 1-Lipschitz for the shortest-path metric, with
        ``cost == sum((a - b) * potential)``.
    edges : ndarray, shape (n_edges, 2)
        The undirected edges used, as ``(i, j)`` with ``i < j``.
    edge_flows : ndarray, shape (n_edges,)
        Net flow on each edge, positive from ``i`` to ``j``.
    method : str
        ``"tree"`` (closed form) or ``"network_simplex"``.
    n_iter : int
        Simplex pivots (0 for trees).
    status : str
        ``"optimal"`` (the certificate proves the cost to 1e-9 relative),
        ``"uncertified"`` or ``"max_iter_reached"``.  Mass that cannot reach its
        target is refused before solving (``ValueError``), so a graph result is
        never infeasible.
    """

    cost: float
    potential: np.ndarray
    edges: np.ndarray
    edge_flows: np.ndarray
    method: str
    n_iter: int
    status: str
    #: What :meth:`certificate` checks (the arc problem, or the tree's exact flow).
    _proof: Any = field(default=None, repr=False, compare=False)

    def certificate(self) -> Certificate:
        """The proof of :attr:`cost` on the graph's shortest-path metric: feasibility (every
        connected component's masses balance exactly, so every unit can be delivered),
        conservation at every node through the exact basic flow, the potential's
        feasibility on every arc with exact-sign arithmetic and the duality gap (trees:
        the exact cost of their unique flow).  See :class:`emd.Certificate`."""
        if self._proof is None:
            raise ValueError("this result does not keep its problem; certificate() is unavailable")
        kind, data = self._proof
        if kind == "tree":
            return _tree_certificate(data, self.cost, self.potential)
        tails, heads, costs, supply, flow, potential, potential_low, components = data
        return certify_flow(
            tails, heads, costs, supply, flow, (potential, potential_low), self.cost,
            components=components,
        )

    def __repr__(self) -> str:
        return (
            f"GraphResult(cost={self.cost:.12g}, n_nodes={self.potential.size}, "
            f"n_edges={len(self.edges)}, method={self.method!r}, status={self.status!r})"
        )


_GRAPH_FORMS = (
    "a square adjacency matrix (a dense array or a scipy.sparse array), an (edges, lengths) "
    "pair or a networkx.Graph"
)


def _from_networkx(graph: Any) -> Any:
    """The sparse adjacency of a networkx graph (``None`` for anything else), by
    networkx's own ``to_scipy_sparse_array``: nodes in the graph's order
    (``list(graph)``), lengths from the edge attribute ``weight`` (1 where missing).

    networkx is not imported here: a networkx graph can only exist once its
    module is loaded, so the module is looked up, never loaded, and ``import emd``
    does not depend on it.
    """
    networkx = sys.modules.get("networkx")
    if networkx is None or not isinstance(graph, networkx.Graph):
        return None
    if graph.is_directed():
        raise ValueError(
            "graph is a directed networkx graph, but W1 on a graph uses undirected edges "
            "(travel either way); pass graph.to_undirected()"
        )
    if graph.is_multigraph():
        raise ValueError(
            "graph is a networkx multigraph; pass a networkx.Graph with one edge per pair "
            "of nodes (of parallel edges, only the shortest matters)"
        )
    if graph.number_of_nodes() == 0:
        raise ValueError("graph has no nodes")
    try:
        return networkx.to_scipy_sparse_array(graph, weight="weight", dtype=float, format="coo")
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"graph: the networkx edge attribute 'weight' must hold edge lengths ({exc})"
        ) from None


def _edge_list(graph: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, int | None]:
    """``(i, j, length, n_nodes)`` from a sparse/dense adjacency matrix, an edge list or
    a networkx graph."""
    adjacency = _from_networkx(graph)
    if adjacency is not None:
        graph = adjacency
    if isinstance(graph, tuple) and len(graph) == 2:
        edges = np.asarray(graph[0])
        if edges.ndim != 2 or edges.shape[1] != 2:
            raise ValueError(f"graph edges must have shape (k, 2), got {edges.shape}")
        if edges.size and edges.dtype.kind not in "iu":
            raise TypeError(f"graph edges must be integer node indices, got dtype {edges.dtype}")
        lengths = as_float_array(graph[1], "graph weights", 1)
        if lengths.size != edges.shape[0]:
            raise ValueError(
                f"graph has {edges.shape[0]} edges but {lengths.size} weights"
            )
        return edges[:, 0].astype(np.intp), edges[:, 1].astype(np.intp), lengths, None
    import scipy.sparse  # imported on first use: `import emd` pays for numpy alone

    if scipy.sparse.issparse(graph):
        coo = scipy.sparse.coo_array(graph)
        # Duplicate entries of a sparse matrix add up (scipy's convention), as
        # they would on conversion to CSR; only then is each entry one edge.
        coo.sum_duplicates()
        if coo.shape[0] != coo.shape[1]:
            raise ValueError(f"graph adjacency must be square, got shape {coo.shape}")
        lengths = as_float_array(coo.data, "graph weights", 1)
        return coo.row.astype(np.intp), coo.col.astype(np.intp), lengths, coo.shape[0]
    try:
        shape = np.shape(graph)
    except ValueError:  # ragged nested lists
        shape = None
    if shape is None or len(shape) != 2:
        what = type(graph).__name__ if not shape else f"{type(graph).__name__} of shape {shape}"
        raise ValueError(f"graph must be {_GRAPH_FORMS}; got {what}")
    dense = as_float_array(graph, "graph", 2)
    if dense.shape[0] != dense.shape[1]:
        raise ValueError(f"graph adjacency must be square, got shape {dense.shape}")
    # Dense input follows scipy.sparse.csgraph: a zero entry means no edge.
    i, j = np.nonzero(dense)
    return i.astype(np.intp), j.astype(np.intp), dense[i, j], dense.shape[0]


def _undirected(i, j, lengths, n_nodes):
    """Unique edges (i < j) keeping the shortest of parallel ones; self-loops dropped."""
    keep = i != j
    i, j, lengths = i[keep], j[keep], lengths[keep]
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    key = lo.astype(np.int64) * n_nodes + hi
    order = np.argsort(key, kind="stable")
    key, lengths = key[order], lengths[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if key.size else np.zeros(0, int)
    shortest = np.minimum.reduceat(lengths, starts) if key.size else lengths
    unique = key[starts] if key.size else key
    lo, hi = np.divmod(unique, n_nodes)
    return lo.astype(np.intp), hi.astype(np.intp), shortest


# Without partial= or unbalanced= the result is the balanced problem's (type checkers
# see it); with either, an UnbalancedResult.
@overload
def solve_graph(
    graph: Any,
    a: ArrayLike,
    b: ArrayLike,
    *,
    normalize: bool = ...,
    max_iter: int | None = ...,
    partial: None = ...,
    unbalanced: None = ...,
) -> GraphResult: ...


@overload
def solve_graph(
    graph: Any,
    a: ArrayLike,
    b: ArrayLike,
    *,
    normalize: bool = ...,
    max_iter: int | None = ...,
    partial: float | None = ...,
    unbalanced: float | None = ...,
) -> GraphResult | UnbalancedResult: ...


def solve_graph(
    graph: Any,
    a: ArrayLike,
    b: ArrayLike,
    *,
    normalize: bool = False,
    max_iter: int | None = None,
    partial: float | None = None,
    unbalanced: float | None = None,
) -> GraphResult | UnbalancedResult:
    """Optimal transport between masses on the nodes of an undirected graph, with its flows.

    The cost of moving a unit of mass is the length of the shortest path.
    :func:`wasserstein_graph` gives the distance alone.

    Parameters
    ----------
    graph : sparse matrix, ndarray, (edges, weights) or networkx.Graph
        Edge lengths.  A ``scipy.sparse`` matrix (stored entries are edges, as
        in :mod:`scipy.sparse.csgraph`), a dense ``(n, n)`` array (nonzero
        entries are edges), a pair ``(edges, weights)`` with ``edges`` of
        shape ``(k, 2)``, or an undirected ``networkx.Graph``, read by
        ``networkx.to_scipy_sparse_array``: node ``k`` is ``list(graph)[k]``
        (the graph's node order) and lengths are the edge attribute
        ``weight`` (1 where it is missing).  Edges are undirected: ``G[i, j]``
        and ``G[j, i]`` both allow travel either way, and parallel edges keep
        the shortest (duplicate entries of a sparse matrix are first summed,
        as scipy does).
    a, b : array_like, shape (n_nodes,)
        Nonnegative masses on the nodes, moved as given: their totals must be
        equal to the precision of the inputs, by the tolerance of "Total
        masses" in :mod:`emd`.  Or pass ``normalize=True``.  The same rule holds
        in every connected component, relative to its own mass: totals that agree
        to it are balanced exactly, and any other difference, however small, is
        mass that cannot reach its target (a ``ValueError``).
    normalize : bool, default False
        Rescale both to mass 1.
    max_iter : int, optional
        Limit on simplex pivots.
    unbalanced : float, optional
        Unbalanced W1 (totals need not agree): mass is destroyed or created at
        this price per unit, through one extra node tied to every node by arcs
        of that cost (O(nodes + edges) arcs).  Returns an
        :class:`emd.unbalanced.UnbalancedResult`.  See :mod:`emd.unbalanced`.
    partial : float, optional
        Partial transport (totals need not agree): move exactly this mass, through a
        sink fed by every node and a source feeding every node at cost 0
        (O(nodes + edges) arcs; the graph must be connected).  Returns an
        :class:`emd.unbalanced.UnbalancedResult`.  See :mod:`emd.unbalanced`.

    Returns
    -------
    GraphResult

    Raises
    ------
    ValueError
        Negative or non-finite lengths or masses, mismatched sizes, unequal
        totals, or mass that cannot reach its target (a connected component
        whose net mass is not zero).

    Notes
    -----
    A connected graph with ``n - 1`` edges is a tree and is solved by the
    closed form ``sum_e length(e) * |mass difference below e|`` in O(n);
    other graphs by the network simplex on the 2 x edges arcs.

    Examples
    --------
    >>> import numpy as np
    >>> import emd
    >>> # A 4-cycle with unit edges and one chord of length 1.5 between 0 and 2.
    >>> edges = np.array([[0, 1], [1, 2], [2, 3], [3, 0], [0, 2]])
    >>> lengths = np.array([1.0, 1.0, 1.0, 1.0, 1.5])
    >>> emd.solve_graph((edges, lengths), [1, 0, 0, 0], [0, 0, 1, 0]).cost
    1.5
    >>> emd.solve_graph((edges[:3], lengths[:3]), [1, 0, 0, 0], [0, 0, 0, 1]).method
    'tree'
    >>> import networkx as nx                 # node k is list(graph)[k]; lengths: "weight"
    >>> emd.solve_graph(nx.path_graph(5), [1, 0, 0, 0, 0], [0, 0, 0, 0, 1]).cost
    4.0
    """
    i, j, lengths, n_nodes = _edge_list(graph)
    a_arr = as_weights(a, "a")
    if n_nodes is None:
        n_nodes = a_arr.size
    elif a_arr.size != n_nodes:
        raise ValueError(f"a has {a_arr.size} entries but the graph has {n_nodes} nodes")
    b_arr = as_weights(b, "b", n_nodes)
    unequal = check_keywords(partial, unbalanced, normalize)
    if unequal is None:
        a_arr, b_arr = balance(a_arr, b_arr, normalize, eps=input_eps(a, b))
    if i.size and (min(i.min(), j.min()) < 0 or max(i.max(), j.max()) >= n_nodes):
        raise ValueError(f"graph has edges to nodes outside [0, {n_nodes})")
    if not np.isfinite(lengths).all() or (lengths < 0).any():
        raise ValueError("graph weights (edge lengths) must be finite and nonnegative")
    if max_iter is not None:
        max_iter = as_positive_int(max_iter, "max_iter")
    lo, hi, lengths = _undirected(i, j, lengths, n_nodes)
    if unequal is not None:
        result = solve_arcs(np.concatenate([lo, hi]), np.concatenate([hi, lo]),
                            np.concatenate([lengths, lengths]), a_arr, b_arr, *unequal, max_iter)
        _warn_status(result.status, max_iter)
        return result

    import scipy.sparse
    from scipy.sparse import csgraph

    adjacency = scipy.sparse.coo_array(
        (np.ones(lo.size), (lo, hi)), shape=(n_nodes, n_nodes)
    ).tocsr()
    n_comp, labels = csgraph.connected_components(adjacency, directed=False)
    # Each component is its own transport problem: balanced exactly when its totals
    # agree to rounding; any other net mass, however small, cannot reach its target.
    balanced_a, balanced_b, stranded = _certify.balance_components(
        a_arr, b_arr, labels, n_comp, input_eps(a, b))
    if stranded.size:
        component = int(stranded[0])
        members = labels == component
        node = int(np.flatnonzero(members)[0])
        net = math.fsum(a_arr[members]) - math.fsum(b_arr[members])
        where = (f"the graph has {n_comp} connected components and the one containing "
                 f"node {node}" if n_comp > 1 else "the graph")
        raise ValueError(
            f"mass cannot reach its target: {where} has net mass {net!r} (sum of a - b "
            f"over it, which must be exactly zero once totals equal to rounding are "
            f"balanced)"
        )
    a_arr, b_arr = balanced_a, balanced_b
    supply, supply_low = _certify.difference(a_arr, b_arr)

    if n_comp == 1 and lo.size == n_nodes - 1:
        return _solve_tree(adjacency, lo, hi, lengths, a_arr, b_arr)

    # Where a - b is not a float, the part rounding dropped sits on a node of its
    # own, tied to its node by ONE zero-cost arc in the direction its mass must go (a
    # twin with supply feeds its node, one with demand is fed by it): the simplex then
    # moves exactly a - b (rounding it away can change the optimum by all of a small
    # cost).  Arcs both ways made zero-cost 2-cycles that the simplex reported
    # "unbounded" (20 of 20 random 1000-node geometric graphs, 6-nearest-neighbour
    # edges, random masses), as emd.unbalanced.solve_arcs found for its twins.
    split = np.flatnonzero(supply_low)
    twins = n_nodes + np.arange(split.size)
    sends = supply_low[split] > 0
    tails = np.concatenate([lo, hi, np.where(sends, twins, split)])
    heads = np.concatenate([hi, lo, np.where(sends, split, twins)])
    costs = np.concatenate([lengths, lengths, np.zeros(split.size)])
    supply = np.concatenate([supply, supply_low[split]])
    # A twin travels with its node: the same component.
    components = np.concatenate([labels, labels[split]])
    solution = _engine.solve_arcs(supply, tails, heads, costs, max_iter)
    flow, n_iter, status = solution.flow, solution.n_iter, solution.status
    result = GraphResult(
        cost=cost_if_finished(status, lambda: math.fsum(flow * costs)),
        potential=solution.potentials[:n_nodes],
        edges=np.stack([lo, hi], axis=1),
        edge_flows=flow[: lo.size] - flow[lo.size : 2 * lo.size],
        method="network_simplex",
        n_iter=n_iter,
        status=status,
        _proof=("flow", (tails, heads, costs, supply, flow, solution.potentials,
                         solution.potentials_low, components)),
    )
    if status == "optimal" and not result.certificate().optimal():
        result = dataclasses.replace(result, status="uncertified")
    _warn_status(result.status, max_iter)
    return result


def wasserstein_graph(
    graph: Any,
    a: ArrayLike,
    b: ArrayLike,
    *,
    normalize: bool = False,
    max_iter: int | None = None,
    partial: float | None = None,
    unbalanced: float | None = None,
) -> float:
    """Wasserstein-1 distance between masses on the nodes of an undirected graph.

    The number of :func:`solve_graph`, which takes the same arguments and
    also returns the potential and the edge flows.  Masses are moved as given
    (equal totals, by the tolerance of "Total masses" in :mod:`emd`) unless
    ``normalize=True`` rescales both to 1.  ``unbalanced=LAM`` gives
    ``solve_graph(..., unbalanced=LAM).cost``.

    Returns
    -------
    float
        The distance; NaN if ``max_iter`` stopped the solver first.

        Until the next release the float also answers the attributes of the
        :class:`GraphResult` this function used to return (``.cost``,
        ``.potential``, ...), each with a ``DeprecationWarning``: use
        :func:`solve_graph` for them.

    Examples
    --------
    >>> import numpy as np
    >>> import emd
    >>> edges = np.array([[0, 1], [1, 2], [2, 3], [3, 0], [0, 2]])
    >>> lengths = np.array([1.0, 1.0, 1.0, 1.0, 1.5])
    >>> emd.wasserstein_graph((edges, lengths), [1, 0, 0, 0], [0, 0, 1, 0])
    1.5
    """
    if partial is not None or unbalanced is not None:
        return solve_graph(graph, a, b, normalize=normalize, max_iter=max_iter,
                           partial=partial, unbalanced=unbalanced).cost
    result = solve_graph(graph, a, b, normalize=normalize, max_iter=max_iter)
    return DeprecatedResultFloat(result, "wasserstein_graph", "solve_graph")


def _solve_tree(adjacency, lo, hi, lengths, a, b) -> GraphResult:
    from scipy.sparse import csgraph

    n_nodes = a.size
    _, predecessors = csgraph.breadth_first_order(
        adjacency, 0, directed=False, return_predecessors=True
    )
    parents = np.where(predecessors < 0, -1, predecessors)
    # Length of the edge from each node to its parent, looked up by edge key.
    key = lo.astype(np.int64) * n_nodes + hi
    order = np.argsort(key)
    child = np.flatnonzero(parents >= 0)
    child_key = np.minimum(child, parents[child]).astype(np.int64) * n_nodes + np.maximum(
        child, parents[child]
    )
    edge_of_child = order[np.searchsorted(key[order], child_key)]
    edge_lengths = np.zeros(n_nodes)
    edge_lengths[child] = lengths[edge_of_child]
    tree = solve_tree(parents, edge_lengths, a, b)
    # Net flow toward the parent becomes flow along (lo -> hi).
    edge_flows = np.zeros(lo.size)
    toward_parent = tree.edge_flows[child]
    edge_flows[edge_of_child] = np.where(child == lo[edge_of_child], toward_parent, -toward_parent)
    return GraphResult(
        cost=tree.cost,
        potential=tree.potential,
        edges=np.stack([lo, hi], axis=1),
        edge_flows=edge_flows,
        method="tree",
        n_iter=0,
        status="optimal" if tree.certificate().optimal() else "uncertified",
        _proof=("tree", tree._proof),
    )
