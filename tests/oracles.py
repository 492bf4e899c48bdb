"""Independent reference solvers every test compares with.

None of these share code with emd: POT's LEMON-derived network simplex,
HiGHS through scipy's linprog, and networkx's network simplex run on
integers (exact arithmetic) for the cases where floating-point LP solvers
are themselves unreliable.
"""

from __future__ import annotations

from fractions import Fraction

import networkx as nx
import numpy as np
import ot
import scipy.optimize
import scipy.sparse
from scipy.spatial.distance import cdist


def pot_cost(a, b, cost) -> float:
    """POT's ``ot.emd2`` with a generous iteration limit."""
    return float(ot.emd2(np.asarray(a, float), np.asarray(b, float), np.asarray(cost, float),
                         numItermax=10**8))


def highs_cost(a, b, cost) -> float:
    """The transportation LP solved by HiGHS with its tightest tolerances."""
    cost = np.asarray(cost, float)
    n, m = cost.shape
    rows = scipy.sparse.kron(scipy.sparse.eye(n), np.ones((1, m)))
    cols = scipy.sparse.kron(np.ones((1, n)), scipy.sparse.eye(m))
    res = scipy.optimize.linprog(
        cost.ravel(),
        A_eq=scipy.sparse.vstack([rows, cols]).tocsr(),
        b_eq=np.concatenate([a, b]),
        bounds=(0, None),
        method="highs",
        options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
    )
    assert res.status == 0, res.message
    return float(res.fun)


def exact_integer_cost(a_int, b_int, cost_int) -> int:
    """Exact optimum for integer masses and costs (networkx network simplex, Python ints)."""
    graph = nx.DiGraph()
    n, m = len(a_int), len(b_int)
    for i in range(n):
        graph.add_node(("s", i), demand=-int(a_int[i]))
    for j in range(m):
        graph.add_node(("t", j), demand=int(b_int[j]))
    for i in range(n):
        for j in range(m):
            graph.add_edge(("s", i), ("t", j), weight=int(cost_int[i][j]))
    cost, _ = nx.network_simplex(graph)
    return int(cost)


def metric_cost(x, y, metric: str, p: float | None = None) -> np.ndarray:
    """The cost matrix of a point-cloud problem, computed by scipy."""
    x = np.asarray(x, float).reshape(len(x), -1)
    y = np.asarray(y, float).reshape(len(y), -1)
    if metric == "minkowski":
        return cdist(x, y, "minkowski", p=p)
    return cdist(x, y, metric)


def random_weights(rng: np.random.Generator, n: int, zeros: int = 0) -> np.ndarray:
    w = rng.random(n) + 0.05
    if zeros:
        w[rng.choice(n, size=min(zeros, n - 1), replace=False)] = 0.0
    return w / w.sum()


def _as_scaled_integers(values) -> tuple[list[int], int]:
    """Float64 values as exact integers times ``2**shift``."""
    values = np.asarray(values, float).ravel()
    nonzero = np.abs(values[values != 0])
    shift = int(np.frexp(nonzero)[1].min()) - 53 if nonzero.size else 0
    out = []
    for x in values.tolist():
        num, den = x.as_integer_ratio()
        out.append(num * (2**-shift // den) if shift < 0 else num // (den * 2**shift))
    return out, shift


def exact_float_cost(a, b, cost) -> Fraction:
    """The exact optimum, as a fraction, of the transport problem with these float64 masses
    and costs: everything is scaled to integers exactly and solved by networkx's network
    simplex in Python integers.  The totals of ``a`` and ``b`` must be equal exactly."""
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    cost = np.asarray(cost, float)
    masses, mass_shift = _as_scaled_integers(np.concatenate([a, b]))
    costs, cost_shift = _as_scaled_integers(cost)
    n, m = a.size, b.size
    assert sum(masses[:n]) == sum(masses[n:]), "totals differ"
    graph = nx.DiGraph()
    for i in range(n):
        graph.add_node(("s", i), demand=-masses[i])
    for j in range(m):
        graph.add_node(("t", j), demand=masses[n + j])
    for i in range(n):
        for j in range(m):
            graph.add_edge(("s", i), ("t", j), weight=costs[i * m + j])
    value, _ = nx.network_simplex(graph)
    return Fraction(value) * Fraction(2) ** (mass_shift + cost_shift)


def exact_flow_cost(tails, heads, costs, supply) -> Fraction | None:
    """The exact optimum, as a fraction, of the uncapacitated min-cost flow with these
    float64 supplies (positive: sends) and costs, or None when no flow meets them:
    scaled to integers exactly and solved by networkx's network simplex in Python
    integers, so that stranded mass of any size, even 2**-60 beside 1, counts."""
    supply_int, mass_shift = _as_scaled_integers(supply)
    costs_int, cost_shift = _as_scaled_integers(costs)
    if sum(supply_int) != 0:
        return None
    graph = nx.MultiDiGraph()
    for v, s in enumerate(supply_int):
        graph.add_node(v, demand=-s)
    for t, h, c in zip(np.asarray(tails).tolist(), np.asarray(heads).tolist(), costs_int,
                       strict=True):
        graph.add_edge(t, h, weight=c)
    try:
        value, _ = nx.network_simplex(graph)
    except nx.NetworkXUnfeasible:
        return None
    return Fraction(value) * Fraction(2) ** (mass_shift + cost_shift)


def highs_flow_cost(tails, heads, costs, supply) -> float:
    """The min-cost flow LP solved by HiGHS with its tightest tolerances (feasible only)."""
    tails, heads = np.asarray(tails), np.asarray(heads)
    n, k = len(supply), tails.size
    incidence = scipy.sparse.coo_array(
        (np.r_[np.ones(k), -np.ones(k)], (np.r_[tails, heads], np.r_[np.arange(k), np.arange(k)])),
        shape=(n, k),
    ).tocsr()
    res = scipy.optimize.linprog(
        np.asarray(costs, float), A_eq=incidence, b_eq=np.asarray(supply, float),
        bounds=(0, None), method="highs",
        options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
    )
    assert res.status == 0, res.message
    return float(res.fun)


def _plan_inequalities(n: int, m: int):
    rows = scipy.sparse.kron(scipy.sparse.eye(n), np.ones((1, m)))
    cols = scipy.sparse.kron(np.ones((1, n)), scipy.sparse.eye(m))
    return scipy.sparse.vstack([rows, cols]).tocsr()


def highs_partial_cost(a, b, cost, mass) -> float:
    """Partial transport as HiGHS sees it: ``min <C, P>`` over ``P >= 0`` with row sums
    at most ``a``, column sums at most ``b`` and total ``mass`` (no dummy bins)."""
    cost = np.asarray(cost, float)
    n, m = cost.shape
    res = scipy.optimize.linprog(
        cost.ravel(), A_ub=_plan_inequalities(n, m), b_ub=np.concatenate([a, b]),
        A_eq=np.ones((1, n * m)), b_eq=[mass], bounds=(0, None), method="highs",
        options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
    )
    assert res.status == 0, res.message
    return float(res.fun)


def highs_unbalanced_cost(a, b, cost, lam) -> float:
    """Unbalanced W1 as HiGHS sees it: with ``P 1 <= a`` and ``P^T 1 <= b`` the penalty
    ``lam (|a - P 1|_1 + |b - P^T 1|_1)`` is ``lam (|a| + |b| - 2 sum P)``, so the LP is
    ``min <C - 2 lam, P> + lam (|a| + |b|)`` (no extra node)."""
    cost = np.asarray(cost, float)
    n, m = cost.shape
    res = scipy.optimize.linprog(
        (cost - 2 * lam).ravel(), A_ub=_plan_inequalities(n, m), b_ub=np.concatenate([a, b]),
        bounds=(0, None), method="highs",
        options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
    )
    assert res.status == 0, res.message
    return float(res.fun) + lam * (float(np.sum(a)) + float(np.sum(b)))


def binary_tree(rng: np.random.Generator, n: int):
    """A binary tree on ``n`` nodes (node k's parent is (k - 1) // 2) with random edge
    lengths in [0.1, 1.1): ``(parents, lengths, edges, distances)``, ``lengths[0] = 0``
    for the root, ``edges`` its ``(child, parent)`` pairs and ``distances`` the
    shortest-path matrix (scipy's csgraph, independent of emd)."""
    from scipy.sparse import csgraph

    parents = np.r_[-1, np.arange(n - 1) // 2]
    lengths = np.r_[0.0, rng.random(n - 1) + 0.1]
    edges = np.stack([np.arange(1, n), parents[1:]], axis=1)
    graph = scipy.sparse.coo_array((lengths[1:], (edges[:, 0], edges[:, 1])), shape=(n, n))
    return parents, lengths, edges, csgraph.shortest_path(graph, directed=False)
