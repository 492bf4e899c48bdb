"""Exact transport with a handful of bins on one side and very many on the other.

When ``min(n, m)`` is small and ``max(n, m)`` large, the network simplex on all
``n + m`` nodes spends its time moving subtrees of O(max(n, m)) nodes.  Here
the plan is found by successive shortest paths on the small side
(:mod:`emd._core._few_sources`, after Tokuyama & Nakano 1995 and Ahuja,
Magnanti & Orlin 1993, sec. 9.7), then handed as a spanning forest to the
exact network simplex, which finishes: it recomputes the flows from the
masses, prices every arc of the forest and every pair of the problem exactly
(the same rigorous test and the same column-generation loop,
``emd._core._pair.column_generation``, as :func:`emd._engine.solve_bipartite`) and
pivots until nothing prices out.  The answer is therefore the simplex's, with its
certificate; the shortest paths only choose where it starts.
"""

from __future__ import annotations

import numpy as np

from emd import _engine
from emd._core import _few_sources
from emd._core._certify import rounded_sum
from emd._core._pair import column_generation
from emd._core._starts import forest_start
from emd._core._tree import STATUS_NAMES, SpanningTree
from emd._engine import BipartiteSolution, DenseCosts, PointCosts, iteration_limit
from emd._validation import check_scale

__all__ = ["solve_bipartite"]

#: Augmentations allowed per node (random clouds take under one).
AUGMENT_BUDGET = 20


def solve_bipartite(a: np.ndarray, b: np.ndarray, source) -> BipartiteSolution:
    """:func:`emd._engine.solve_bipartite` (same inputs and output, default pivot
    budget) for a problem that :func:`emd._planner.few_sources` sends here."""
    rows = np.flatnonzero(a > 0)
    cols = np.flatnonzero(b > 0)
    n, m = rows.size, cols.size
    rows_small = n <= m
    mass = rounded_sum(a)
    if isinstance(source, PointCosts):
        max_abs = source.compiled_bound()
        check_scale(max_abs, mass, a.size + b.size)
        cost = _few_sources.point_costs_large_major(
            source.x, source.y, source.code, source.p, rows, cols, rows_small
        )
    elif isinstance(source, DenseCosts):
        full = n == a.size and m == b.size
        block = source.matrix if full else source.matrix[np.ix_(rows, cols)]
        max_abs = max(float(block.max()), -float(block.min()), 0.0)
        cost = np.ascontiguousarray(block.T if rows_small else block)
    else:
        raise TypeError(f"unsupported cost source {type(source).__name__}")
    art_cost = max_abs if max_abs > 0 else 1.0
    cost_scale = art_cost if n + m == a.size + b.size else max(art_cost, source.max_abs_cost())
    check_scale(cost_scale, mass, a.size + b.size)
    small_mass, large_mass = (a[rows], b[cols]) if rows_small else (b[cols], a[rows])

    # The budget only guards against a pathological run: the simplex below finishes
    # from whatever plan the paths reach.
    amounts, augments, _ = _few_sources.shortest_paths(
        cost, small_mass, large_mass, 2.0**-40 * mass, AUGMENT_BUDGET * (n + m) + 10_000
    )
    big, little = (np.ascontiguousarray(z, dtype=np.intp) for z in np.nonzero(amounts))
    # Tree nodes: rows 0..n-1, then columns n..n+m-1; every arc goes row -> column.
    tails = little if rows_small else big
    heads = (big if rows_small else little) + n
    arc_costs = cost[big, little]
    supply = np.concatenate([a[rows], -b[cols]])
    preorder, parent, up_arc, down_arc, _ = forest_start(
        n + m, tails, heads, supply
    )
    tree = SpanningTree(supply, art_cost)
    tree.start_from_forest(preorder, parent, up_arc, down_arc, arc_costs)
    max_iter = iteration_limit(None, n + m)
    arcs = [tails, heads, arc_costs]

    def price():
        new_r, new_c, new_costs, worst = _few_sources.pricing_scan(
            cost, rows_small, tree.pi, tree.pi_low
        )
        if new_r.size:
            arcs[:] = (np.concatenate([arcs[0], new_r]), np.concatenate([arcs[1], new_c + n]),
                       np.concatenate([arcs[2], new_costs]))
        return new_r.size, worst

    def simplex():
        return tree.solve(*arcs, max_iter), tree.n_iter

    # The pair solve's column-generation loop, from this start and with this pricing.
    status, n_iter = simplex()
    status, clean, worst, _ = column_generation(price, simplex, status, n_iter)
    if status != 0:
        # Not reached with the default budget; the simplex on all nodes reports it.
        return _engine.solve_bipartite(a, b, source, None)
    _, t, h, flows, _ = tree.tree_arcs()
    positive = flows > 0
    t, h, flows = t[positive], h[positive] - n, flows[positive]
    pi, pi_low = np.asarray(tree.pi), np.asarray(tree.pi_low)
    return BipartiteSolution(
        rows=rows[t],
        cols=cols[h],
        flows=flows,
        cost=float(tree.cost()),
        u=-pi[:n],
        v=pi[n : n + m].copy(),
        u_low=-pi_low[:n],
        v_low=pi_low[n : n + m].copy(),
        n_iter=int(tree.n_iter) + int(augments),
        status=STATUS_NAMES[status],
        violation=(worst, -1, -1, max_abs) if clean else None,
    )
