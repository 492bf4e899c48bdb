"""Graph and tree metrics against shortest-path matrices fed to POT."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from oracles import pot_cost
from scipy.sparse.csgraph import shortest_path

import emd


def _random_connected_graph(rng, n, extra):
    parent = np.array([rng.integers(0, v) for v in range(1, n)])
    edges = [(int(p), v) for p, v in zip(parent, range(1, n), strict=True)]
    seen = {tuple(sorted(e)) for e in edges}
    for _ in range(extra):
        i, j = sorted(int(k) for k in rng.choice(n, size=2, replace=False))
        if (i, j) not in seen:
            seen.add((i, j))
            edges.append((i, j))
    edges = np.array(edges)
    return edges, rng.random(len(edges)) * 5 + 0.1


def _reference(edges, lengths, n, a, b):
    graph = scipy.sparse.coo_array((lengths, (edges[:, 0], edges[:, 1])), shape=(n, n))
    return pot_cost(a, b, shortest_path(graph, directed=False))


def _masses(rng, n):
    a, b = rng.random(n), rng.random(n)
    a[rng.random(n) < 0.3] = 0
    b[rng.random(n) < 0.3] = 0
    a[0] += 0.1
    b[-1] += 0.1
    return a / a.sum(), b / b.sum()


@pytest.mark.parametrize("seed", range(6))
def test_general_graphs_match_shortest_path_transport(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 40))
    edges, lengths = _random_connected_graph(rng, n, extra=2 * n)
    a, b = _masses(rng, n)
    result = emd.wasserstein_graph((edges, lengths), a, b)
    assert result.method == "network_simplex"
    assert result.cost == pytest.approx(_reference(edges, lengths, n, a, b), rel=1e-9)
    # KR witness: value equals cost and it is 1-Lipschitz along every edge.
    f = result.potential
    assert np.sum((a - b) * f) == pytest.approx(result.cost, rel=1e-9)
    e = result.edges
    lengths_used = {tuple(sorted(map(int, ij))): w for ij, w in zip(edges, lengths, strict=True)}
    for (i, j) in e:
        assert abs(f[i] - f[j]) <= lengths_used[(int(i), int(j))] + 1e-12


@pytest.mark.parametrize("seed", range(6))
def test_trees_use_the_closed_form_and_match(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(2, 30))
    edges, lengths = _random_connected_graph(rng, n, extra=0)
    a, b = _masses(rng, n)
    result = emd.wasserstein_graph((edges, lengths), a, b)
    assert result.method == "tree"
    assert result.cost == pytest.approx(_reference(edges, lengths, n, a, b), rel=1e-9)
    assert np.sum((a - b) * result.potential) == pytest.approx(result.cost, rel=1e-9)
    # Edge flows conserve mass: net outflow at each node is a - b.
    lo, hi = result.edges[:, 0], result.edges[:, 1]
    net = np.bincount(lo, result.edge_flows, minlength=n) - np.bincount(hi, result.edge_flows, minlength=n)
    np.testing.assert_allclose(net, a - b, atol=1e-12)
    parents = -np.ones(n, dtype=int)
    parents[edges[:, 1]] = edges[:, 0]
    edge_lengths = np.zeros(n)
    edge_lengths[edges[:, 1]] = lengths
    assert emd.wasserstein_tree(parents, edge_lengths, a, b) == pytest.approx(result.cost, rel=1e-12)


def test_input_forms_agree():
    rng = np.random.default_rng(7)
    n = 12
    edges, lengths = _random_connected_graph(rng, n, extra=10)
    a, b = _masses(rng, n)
    sparse = scipy.sparse.coo_array((lengths, (edges[:, 0], edges[:, 1])), shape=(n, n))
    dense = np.zeros((n, n))
    for (i, j), w in zip(edges, lengths, strict=True):
        dense[j, i] = w if dense[j, i] == 0 else min(dense[j, i], w)
    costs = {
        emd.wasserstein_graph((edges, lengths), a, b).cost,
        emd.wasserstein_graph(sparse, a, b).cost,
        emd.wasserstein_graph(sparse.tocsr(), a, b).cost,
    }
    assert max(costs) - min(costs) < 1e-12
    assert emd.wasserstein_graph(dense, a, b).cost == pytest.approx(min(costs), rel=1e-12)


def test_parallel_edges_keep_the_shortest():
    edges = np.array([[0, 1], [1, 0], [0, 1]])
    assert emd.wasserstein_graph((edges, [3.0, 2.0, 5.0]), [1, 0], [0, 1]).cost == 2.0


def test_disconnected_graph_with_stranded_mass_is_an_error():
    edges = np.array([[0, 1], [2, 3]])
    with pytest.raises(ValueError, match=r"mass cannot reach its target.*node 0 has net mass"):
        emd.wasserstein_graph((edges, [1.0, 1.0]), [1, 0, 0, 0], [0, 0, 0, 1])
    # Balanced components are fine.
    result = emd.wasserstein_graph((edges, [1.0, 2.0]), [1, 0, 1, 0], [0, 1, 0, 1])
    assert result.cost == pytest.approx(3.0)


@pytest.mark.parametrize("graph,a,b,match", [
    ((np.array([[0, 1]]), [-1.0]), [1, 0], [0, 1], "finite and nonnegative"),
    ((np.array([[0, 5]]), [1.0]), [1, 0], [0, 1], r"outside \[0, 2\)"),
    ((np.array([[0, 1]]), [1.0, 2.0]), [1, 0], [0, 1], "1 edges but 2 weights"),
    (np.ones((2, 3)), [1, 0], [0, 1], "must be square"),
    (np.ones((3, 3)), [1, 0], [0, 1], "a has 2 entries but the graph has 3 nodes"),
    (np.ones((2, 2)), [1, 0], [0, 2], "equal total mass"),
])
def test_graph_rejects_bad_input(graph, a, b, match):
    with pytest.raises(ValueError, match=match):
        emd.wasserstein_graph(graph, a, b)
