"""Independent reference solvers every test compares with.

None of these share code with emd: POT's LEMON-derived network simplex,
HiGHS through scipy's linprog, and networkx's network simplex run on
integers (exact arithmetic) for the cases where floating-point LP solvers
are themselves unreliable.
"""

from __future__ import annotations

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
