"""From an optimal flow on a graph to a source-to-target transport plan (a coupling).

The grid and graph solvers move mass along arcs between neighbouring bins; a
user asking for "the plan" wants to know how much of the mass of bin ``i`` of
``A`` ends in bin ``j`` of ``B``.  :func:`coupling_from_flow` turns the first
into the second in two steps:

1. **Path decomposition.**  Nodes are visited in topological order of the
   flow (an optimal flow with positive arc costs carries no cycle; rounding
   residue cycles are cancelled first).  Each node holds parcels of mass
   labelled by the bin they left from: its own mass ``A[i]`` first, then
   what arrives along its in-arcs.  The parcels serve the node's own demand
   ``B[i]`` first, then fill its out-arcs in order (a north-west corner
   rule), and travel on.  A parcel that meets a demand adds an entry
   ``(origin, node, mass)`` to the coupling.
2. **Cycle cancelling.**  The entries may contain cycles (``i1 -> j1 <- i2
   -> j2 <- ... <- i1``).  Moving mass around such a cycle keeps both
   marginals; pushing it in the direction that does not raise the cost until
   an entry empties removes the cycle.  What is left is a forest: a basic
   plan with at most ``nnz(A) + nnz(B) - 1`` entries.

Why the cost is unchanged: in an optimal flow on a graph whose shortest
paths give the metric, every path that carries mass is a shortest path
(rerouting some of it along a shorter one would lower the cost), so a parcel
from ``i`` to ``j`` pays exactly ``d(i, j)`` and the plan costs what the flow
costs.  A plan of optimal cost satisfies complementary slackness on every
entry, so every cycle of its support has zero cost and cancelling leaves
the cost as it is.  For the Euclidean grid graph (offsets up to ``L``), the
graph's shortest paths are the metric of that graph, so the plan's
Euclidean cost lies between the exact W1 and the flow's cost.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["coupling_from_flow", "grid_coupling"]

CostFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def coupling_from_flow(
    a: np.ndarray,
    b: np.ndarray,
    tails: np.ndarray,
    heads: np.ndarray,
    flow: np.ndarray,
    cost: CostFn | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decompose an optimal flow into a basic source-to-target coupling.

    Parameters
    ----------
    a, b : numpy.ndarray
        Nonnegative masses of the two histograms over the same nodes (flat
        bin indices), with equal totals.
    tails, heads : numpy.ndarray of int
        Arcs of the flow, as node indices.
    flow : numpy.ndarray
        Nonnegative flow on each arc, with ``outflow - inflow = a - b`` at
        every node (up to rounding).
    cost : callable, optional
        ``cost(rows, cols)`` gives the ground cost of the pairs; cycles are
        then cancelled in the direction that does not raise it.  Without it
        the direction is arbitrary, which keeps the cost of an optimal
        coupling (its cycles cost zero) but not of an arbitrary one.

    Returns
    -------
    rows, cols : numpy.ndarray of int64
        Source node (bin of ``a``) and target node (bin of ``b``) of each entry.
    masses : numpy.ndarray of float64
        Mass moved from ``rows[k]`` to ``cols[k]``; positive.  The row sums
        are ``a`` and the column sums ``b`` up to rounding, and the entries
        form a forest, so there are at most ``nnz(a) + nnz(b) - 1`` of them.

    Raises
    ------
    ValueError
        If the arrays do not fit together or the flow does not carry ``a``
        to ``b``.

    Examples
    --------
    Mass 1 at bin 0 moves to bin 2 along a path 0 -> 1 -> 2; bin 1 keeps its own:

    >>> a, b = np.array([1.0, 0.5, 0.0]), np.array([0.0, 0.5, 1.0])
    >>> rows, cols, masses = coupling_from_flow(
    ...     a, b, np.array([0, 1]), np.array([1, 2]), np.array([1.0, 1.0]))
    >>> sorted(zip(rows.tolist(), cols.tolist(), masses.tolist()))
    [(0, 2, 1.0), (1, 1, 0.5)]
    """
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    tails = np.asarray(tails, dtype=np.int64).ravel()
    heads = np.asarray(heads, dtype=np.int64).ravel()
    flow = np.asarray(flow, dtype=np.float64).ravel()
    n = a.size
    if b.size != n:
        raise ValueError(f"a and b must have the same size, got {n} and {b.size}")
    if not (tails.size == heads.size == flow.size):
        raise ValueError(
            f"tails, heads and flow must have equal lengths, got {tails.size}, {heads.size} "
            f"and {flow.size}"
        )
    if tails.size and (min(tails.min(), heads.min()) < 0 or max(tails.max(), heads.max()) >= n):
        raise ValueError(f"arc endpoints must be node indices in [0, {n})")
    keep = (flow > 0) & (tails != heads)
    tails, heads, flow = tails[keep], heads[keep], flow[keep].copy()
    scale = max(float(a.sum()), float(b.sum()), np.finfo(float).tiny)
    imbalance = (
        np.bincount(tails, flow, minlength=n) - np.bincount(heads, flow, minlength=n) - (a - b)
    )
    # Conservation holds to rounding: a few ulps of the mass per arc at a node.
    if np.abs(imbalance).max(initial=0.0) > 1e-9 * scale:
        raise ValueError("the flow does not carry a to b (outflow - inflow differs from a - b)")

    flow = _cancel_flow_cycles(n, tails, heads, flow)
    rows, cols, masses = _decompose(a, b, tails, heads, flow)
    return _cancel_plan_cycles(rows, cols, masses, cost)


def _cancel_flow_cycles(
    n: int, tails: np.ndarray, heads: np.ndarray, flow: np.ndarray
) -> np.ndarray:
    """Remove directed cycles from the flow's support (rounding residue only).

    Pushing back the smallest flow of a directed cycle keeps conservation and,
    with positive arc costs, lowers the cost, so an optimal flow has none;
    this only guards the topological sort against near-zero leftovers.
    """
    while True:
        order = _topological_order(n, tails, heads, flow)
        if order is not None:
            return flow
        cycle = _find_cycle(n, tails, heads, flow)
        flow[cycle] -= flow[cycle].min()
        flow[flow <= 0] = 0.0


def _topological_order(
    n: int, tails: np.ndarray, heads: np.ndarray, flow: np.ndarray
) -> np.ndarray | None:
    """Kahn's algorithm on the arcs with positive flow; ``None`` if there is a cycle."""
    live = flow > 0
    t, h = tails[live], heads[live]
    indegree = np.bincount(h, minlength=n)
    order_arcs = np.argsort(t, kind="stable")
    starts = np.searchsorted(t[order_arcs], np.arange(n + 1))
    out_heads = h[order_arcs]
    stack = np.flatnonzero(indegree == 0).tolist()
    indegree = indegree.tolist()
    starts = starts.tolist()
    out_heads = out_heads.tolist()
    order = []
    while stack:
        node = stack.pop()
        order.append(node)
        for k in range(starts[node], starts[node + 1]):
            head = out_heads[k]
            indegree[head] -= 1
            if indegree[head] == 0:
                stack.append(head)
    if len(order) < n:
        return None
    return np.array(order, dtype=np.int64)


def _find_cycle(n: int, tails: np.ndarray, heads: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Arc indices of one directed cycle among the arcs with positive flow."""
    out: dict[int, list[int]] = {}
    for k in np.flatnonzero(flow > 0).tolist():
        out.setdefault(int(tails[k]), []).append(k)
    state = [0] * n  # 0 unvisited, 1 on the current path, 2 done
    for root in list(out):
        if state[root]:
            continue
        path_arcs: list[int] = []
        stack = [(root, iter(out.get(root, [])))]
        state[root] = 1
        while stack:
            node, arcs = stack[-1]
            arc = next(arcs, None)
            if arc is None:
                state[node] = 2
                stack.pop()
                if path_arcs:
                    path_arcs.pop()
                continue
            head = int(heads[arc])
            if state[head] == 1:
                # The cycle runs from head's position on the path back to head.
                nodes_on_path = [s[0] for s in stack]
                start = nodes_on_path.index(head)
                return np.array([*path_arcs[start:], arc], dtype=np.int64)
            if state[head] == 0:
                state[head] = 1
                path_arcs.append(arc)
                stack.append((head, iter(out.get(head, []))))
    raise AssertionError("unreachable: _topological_order reported a cycle")  # pragma: no cover


def _decompose(
    a: np.ndarray, b: np.ndarray, tails: np.ndarray, heads: np.ndarray, flow: np.ndarray
) -> tuple[list[int], list[int], list[float]]:
    """Path decomposition: carry labelled parcels through the nodes in topological order."""
    n = a.size
    live = flow > 0
    tails, heads, flow = tails[live], heads[live], flow[live]
    order = _topological_order(n, tails, heads, flow)
    assert order is not None  # _cancel_flow_cycles removed every cycle
    by_tail = np.argsort(tails, kind="stable")
    starts = np.searchsorted(tails[by_tail], np.arange(n + 1)).tolist()
    out_heads = heads[by_tail].tolist()
    out_flow = flow[by_tail].tolist()
    a_list, b_list = a.tolist(), b.tolist()
    # Parcels waiting at each node: lists of [origin, mass] (origin = bin of a).
    arriving: dict[int, list[list]] = {}
    rows: list[int] = []
    cols: list[int] = []
    masses: list[float] = []
    for node in order.tolist():
        parcels = arriving.pop(node, [])
        if a_list[node] > 0:
            # Own mass first: it meets the node's own demand at zero cost.
            parcels.insert(0, [node, a_list[node]])
        if not parcels:
            continue
        # Consumers: the node's own demand, then its out-arcs.
        consumers = [(-1, b_list[node])] if b_list[node] > 0 else []
        consumers += [
            (out_heads[k], out_flow[k]) for k in range(starts[node], starts[node + 1])
        ]
        if not consumers:
            # Only rounding residue arrives at a node with nothing to serve:
            # hand it to the closest demand already met here would be
            # guesswork, so it stays with the last entry of its origin.
            for origin, mass in parcels:
                _add(rows, cols, masses, origin, node, mass)
            continue
        p = 0
        last = len(consumers) - 1
        for c, (target, need) in enumerate(consumers):
            bundle: list[list] = []
            while p < len(parcels) and (need > 0 or c == last):
                origin, mass = parcels[p]
                if c == last or mass <= need:
                    # The last consumer takes every remaining parcel, so the
                    # rows of the coupling sum exactly to a.
                    bundle.append([origin, mass])
                    need -= mass
                    p += 1
                else:
                    bundle.append([origin, need])
                    parcels[p][1] = mass - need
                    need = 0.0
            if target < 0:
                for origin, mass in bundle:
                    _add(rows, cols, masses, origin, node, mass)
            else:
                arriving.setdefault(target, []).extend(bundle)
    return rows, cols, masses


def _add(rows: list[int], cols: list[int], masses: list[float], i: int, j: int, m: float) -> None:
    if m > 0:
        rows.append(i)
        cols.append(j)
        masses.append(m)


def _cancel_plan_cycles(
    rows: list[int], cols: list[int], masses: list[float], cost: CostFn | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge duplicate entries, then cancel cycles until the support is a forest."""
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0)
    r = np.asarray(rows, dtype=np.int64)
    c = np.asarray(cols, dtype=np.int64)
    m = np.asarray(masses, dtype=np.float64)
    # Merge repeated (row, col) pairs: a cycle of length two.
    key = r * (int(c.max()) + 1) + c
    unique, inverse = np.unique(key, return_inverse=True)
    merged: np.ndarray = np.bincount(inverse, m)
    first = np.zeros(unique.size, dtype=np.int64)
    first[inverse] = np.arange(key.size)  # any occurrence: the key fixes (row, col)
    r, c, m = r[first], c[first], merged
    # Largest masses first: they are the ones worth keeping whole.
    order = np.argsort(-m, kind="stable")
    r_arr, c_arr = r[order], c[order]
    r, c, m = r_arr.tolist(), c_arr.tolist(), m[order].tolist()

    # Nodes: rows as ("r", i) -> 2 i, columns as 2 j + 1.
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        root = x
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    adjacency: dict[int, dict[int, int]] = {}  # node -> {neighbour: entry index}
    alive = [True] * len(m)
    for k in range(len(m)):
        u, v = 2 * r[k], 2 * c[k] + 1
        ru, rv = find(u), find(v)
        if ru != rv:
            parent[ru] = rv
            adjacency.setdefault(u, {})[v] = k
            adjacency.setdefault(v, {})[u] = k
            continue
        path = _forest_path(adjacency, v, u)  # entries from column c[k] back to row r[k]
        # Cycle: k (+), path[0] (-), path[1] (+), ...: alternating keeps the marginals.
        plus = [k, *path[1::2]]
        minus = path[0::2]
        direction = 1.0
        if cost is not None:
            idx_plus, idx_minus = np.array(plus), np.array(minus)
            change = float(
                np.sum(cost(r_arr[idx_plus], c_arr[idx_plus]))
                - np.sum(cost(r_arr[idx_minus], c_arr[idx_minus]))
            )
            if change > 0:
                direction = -1.0
        if direction < 0:
            plus, minus = minus, plus
        step = min(m[e] for e in minus)
        for e in plus:
            m[e] += step
        for e in minus:
            m[e] -= step
        # Empty the first entry that reached its minimum (exactly one leaves the forest).
        leaving = min(minus, key=lambda e: m[e])
        m[leaving] = 0.0
        alive[leaving] = False
        if leaving != k:
            lu, lv = 2 * r[leaving], 2 * c[leaving] + 1
            del adjacency[lu][lv], adjacency[lv][lu]
            adjacency.setdefault(u, {})[v] = k
            adjacency.setdefault(v, {})[u] = k
    keep = np.array([k for k in range(len(m)) if alive[k] and m[k] > 0], dtype=np.int64)
    rows_out, cols_out = r_arr[keep], c_arr[keep]
    masses_out = np.array(m, dtype=np.float64)[keep]
    # Sorted by source, then target: a stable, readable order for files.
    order = np.lexsort((cols_out, rows_out))
    return rows_out[order], cols_out[order], masses_out[order]


def _forest_path(adjacency: dict[int, dict[int, int]], start: int, goal: int) -> list[int]:
    """Entry indices along the unique forest path from ``start`` to ``goal`` (BFS)."""
    previous: dict[int, tuple[int, int]] = {start: (start, -1)}
    frontier = [start]
    while frontier and goal not in previous:
        nxt = []
        for node in frontier:
            for neighbour, entry in adjacency.get(node, {}).items():
                if neighbour not in previous:
                    previous[neighbour] = (node, entry)
                    nxt.append(neighbour)
        frontier = nxt
    path = []
    node = goal
    while node != start:
        node, entry = previous[node]
        path.append(entry)
    # path runs from goal back to start; callers want it from start.
    path.reverse()
    return path


def grid_coupling(
    a: np.ndarray, b: np.ndarray, shape: tuple[int, ...], spacing: float, metric: str,
    flows: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The source-to-target coupling of a grid solve: :func:`coupling_from_flow` of its
    arc ``flows`` ``(tails, heads, flow)`` (as :func:`emd.solve_grid` returns them with
    ``return_flows=True``), cycles cancelled by the grid's ground cost.  ``a`` and ``b``
    are the flat masses as solved (equal totals)."""
    coords = spacing * np.indices(shape, dtype=np.float64).reshape(len(shape), -1).T

    def cost(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        step = np.abs(coords[rows] - coords[cols])
        if metric == "cityblock":
            return step.sum(axis=1)
        if metric == "chebyshev":
            return step.max(axis=1)
        return np.sqrt((step * step).sum(axis=1))

    return coupling_from_flow(a, b, *flows, cost=cost)
