"""The public API as a user's code meets it, checked by mypy in CI (``.ci/run``).

Each line calls a public function the way the docs show and states the type it
expects back; mypy fails when a signature or a return annotation stops saying
what the function does.  The file also runs (``python tests/typecheck/public_api.py``),
so every call here is a real one.
"""

from __future__ import annotations

import numpy as np

import emd
import emd.compat.pot as ot
from emd import dual
from emd.divergences import js, kl

rng = np.random.default_rng(0)
x, y = rng.random((20, 2)), rng.random((15, 2))
a, b = np.full(20, 1 / 20), np.full(15, 1 / 15)
cost = np.hypot(*(x[:, None, :] - y[None, :, :]).transpose(2, 0, 1))

transport: emd.TransportResult = emd.solve(a, b, cost)
points: emd.TransportResult = emd.solve_points(x, y, a, b, metric="cityblock")
unequal: emd.TransportResult | emd.unbalanced.UnbalancedResult = emd.solve(
    a, 2 * b, cost, unbalanced=0.5
)
certificate: emd.Certificate = transport.certificate()
proven: bool = certificate.optimal()
plan: np.ndarray = transport.dense_plan()
distance: float = emd.wasserstein(x, y)
line: float = emd.wasserstein_1d([0.0, 1.0, 3.0], [5.0, 6.0, 8.0])

A = rng.random((8, 8))
B = rng.random((8, 8))
grid: emd.GridResult = emd.solve_grid(A, B, normalize=True)
grid_distance: float = emd.wasserstein_grid(A, B, normalize=True)
graph: emd.GraphResult = emd.solve_graph(
    np.array([[0.0, 1.0], [1.0, 0.0]]), [1.0, 0.0], [0.0, 1.0]
)
tree: emd.TreeResult = emd.solve_tree([-1, 0, 0], [0.0, 1.0, 2.0], [1.0, 0.0, 0.0], [0.0, 0.5, 0.5])
flow: emd.FlowResult = emd.min_cost_flow([0], [1], [2.0], [1.0, -1.0])

hists = [A / A.sum(), B / B.sum(), (A + B) / (A + B).sum()]
matrix: np.ndarray = emd.pairwise(hists)
neighbours: emd.NeighborsResult = emd.knn(hists, k=1)

witness = dual.kr_witness(x, y, a, b)
value: float = witness.value
divergence: float = kl([0.5, 0.5], [0.25, 0.75]) + js([1, 2], [2, 1])
pot_cost: float = ot.emd2(a, b, cost)
