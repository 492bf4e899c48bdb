"""Graph and tree metrics against shortest-path matrices fed to POT."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.optimize
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
    result = emd.solve_graph((edges, lengths), a, b)
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
    result = emd.solve_graph((edges, lengths), a, b)
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
        emd.wasserstein_graph((edges, lengths), a, b),
        emd.wasserstein_graph(sparse, a, b),
        emd.wasserstein_graph(sparse.tocsr(), a, b),
    }
    assert max(costs) - min(costs) < 1e-12
    assert emd.wasserstein_graph(dense, a, b) == pytest.approx(min(costs), rel=1e-12)


def test_parallel_edges_keep_the_shortest():
    edges = np.array([[0, 1], [1, 0], [0, 1]])
    assert emd.wasserstein_graph((edges, [3.0, 2.0, 5.0]), [1, 0], [0, 1]) == 2.0


def test_disconnected_graph_with_stranded_mass_is_an_error():
    edges = np.array([[0, 1], [2, 3]])
    with pytest.raises(ValueError, match=r"mass cannot reach its target.*node 0 has net mass"):
        emd.wasserstein_graph((edges, [1.0, 1.0]), [1, 0, 0, 0], [0, 0, 0, 1])
    # Balanced components are fine.
    assert emd.wasserstein_graph((edges, [1.0, 2.0]), [1, 0, 1, 0], [0, 1, 0, 1]) == pytest.approx(3.0)


def test_totals_equal_to_rounding_are_balanced_per_component():
    """sum([1/3, 2/3]) rounds to 1 but is 1 - 2**-54 exactly: each component is balanced
    exactly, so the plan is proven (found by the fuzz tests: cost 0, 'uncertified')."""
    edges = np.array([[0, 0], [0, 1], [2, 0], [1, 2]])
    result = emd.solve_graph((edges, [0.0, 0.0, 0.0, 1.0]), [0, 0, 1.0], [0, 1 / 3, 2 / 3])
    assert result.status == "optimal" and result.cost == 0.0
    assert result.certificate().bound == 0.0
    # Two components, each off by rounding; closed form 1/3 * 1 + 1/3 * 2 = 1.
    two = emd.solve_graph((np.array([[0, 1], [2, 3]]), [1.0, 2.0]), [0, 1.0, 0, 1.0],
                          [1 / 3, 2 / 3, 1 / 3, 2 / 3])
    assert two.status == "optimal"
    assert two.cost == pytest.approx(1.0, rel=1e-15)


def test_differences_that_are_not_floats_are_moved_exactly():
    """a - b rounds at nodes 0, 2 (1 - 2**-60 and 2**-59 - 1 are not floats) and the two
    roundings cancel, so the rounded problem is balanced with optimum 0; the exact one
    must send 2**-60 over the unit edge 2-1 (zero-length edges 0-1, 2-3; the chord 0-3
    is longer).  The answer used to be 0, certified."""
    e = 2.0**-60
    edges = np.array([[0, 1], [1, 2], [2, 3], [0, 3]])
    result = emd.solve_graph((edges, [0.0, 1.0, 0.0, 5.0]), [1.0, 0, 2 * e, 1.0],
                             [e, 1.0, 1.0, e])
    assert result.status == "optimal"
    assert result.cost == e
    assert result.potential.shape == (4,) and result.edge_flows.shape == (4,)


@pytest.mark.parametrize("graph,a,b,match", [
    ((np.array([[0, 1]]), [-1.0]), [1, 0], [0, 1], "finite and nonnegative"),
    ((np.array([[0, 5]]), [1.0]), [1, 0], [0, 1], r"outside \[0, 2\)"),
    ((np.array([[0, 1]]), [1.0, 2.0]), [1, 0], [0, 1], "1 edges but 2 weights"),
    (np.ones((2, 3)), [1, 0], [0, 1], "must be square"),
    (np.ones((3, 3)), [1, 0], [0, 1], "a has 2 entries but the graph has 3 nodes"),
    (np.ones((2, 2)), [1, 0], [0, 2], "equal total mass"),
    (np.ones((2, 2)), np.ma.array([1.0, 0.0], mask=[0, 1]), [0, 1], "a is a masked array"),
    (np.ones((2, 2)), np.array(["1", "0"], dtype=object), [0, 1], "got the string '1'"),
])
def test_graph_rejects_bad_input(graph, a, b, match):
    with pytest.raises((ValueError, TypeError), match=match):
        emd.solve_graph(graph, a, b)
    with pytest.raises((ValueError, TypeError), match=match):
        emd.wasserstein_graph(graph, a, b)


def test_graph_refuses_a_bool_iteration_limit():
    with pytest.raises(TypeError, match="max_iter must be an integer, got the bool True"):
        emd.solve_graph(np.ones((2, 2)), [1, 0], [0, 1], max_iter=True)


# --- wasserstein_graph gives the number, solve_graph the result -----------------------------

def test_wasserstein_graph_is_the_float_of_solve_graph():
    rng = np.random.default_rng(3)
    n = 15
    edges, lengths = _random_connected_graph(rng, n, extra=n)
    a, b = _masses(rng, n)
    result = emd.solve_graph((edges, lengths), a, b)
    value = emd.wasserstein_graph((edges, lengths), a, b)
    assert isinstance(result, emd.GraphResult)
    assert isinstance(value, float) and float(value) == result.cost
    assert value == pytest.approx(_reference(edges, lengths, n, a, b), rel=1e-9)
    assert f"{value:.3f}" == f"{result.cost:.3f}" and round(value, 2) == round(result.cost, 2)


def test_old_result_attributes_still_work_with_a_deprecation_warning():
    edges = np.array([[0, 1], [1, 2], [2, 0]])
    value = emd.wasserstein_graph((edges, [1.0, 2.0, 2.5]), [1, 0, 0], [0, 0, 1])
    with pytest.warns(DeprecationWarning, match=r"solve_graph\(\.\.\.\)\.potential"):
        potential = value.potential
    np.testing.assert_array_equal(
        potential, emd.solve_graph((edges, [1.0, 2.0, 2.5]), [1, 0, 0], [0, 0, 1]).potential
    )
    with pytest.warns(DeprecationWarning, match="wasserstein_graph"):
        assert value.cost == 2.5
    with pytest.raises(AttributeError, match="no attribute 'plan'"):
        value.plan  # noqa: B018


def test_float32_masses_that_agree_to_float32_precision_are_equal():
    # Totals 1 - 6e-8 and 1 + 6e-8: refused at float64's 1e-9, equal at float32's precision.
    edges = np.array([[0, 1], [1, 2], [2, 3], [3, 0]])
    a = np.array([0.3, 0.2, 0.5, 0.0], dtype=np.float32)
    b = np.array([0.0, 0.5, 0.2, 0.3], dtype=np.float32)
    b[2] += np.float32(1.2e-7)
    assert abs(float(a.astype(float).sum()) - float(b.astype(float).sum())) > 1e-8
    value = emd.wasserstein_graph((edges, [1.0, 1.0, 1.0, 1.0]), a, b)
    # b is rescaled to a's total: the cost is that of the balanced problem.
    b64 = b.astype(float) * (a.astype(float).sum() / b.astype(float).sum())
    ring = np.array([[0, 1, 2, 1], [1, 0, 1, 2], [2, 1, 0, 1], [1, 2, 1, 0]], dtype=float)
    expected = pot_cost(a.astype(float), b64, ring)
    assert value == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="equal total mass"):
        emd.wasserstein_graph((edges, np.ones(4)), a.astype(float), b.astype(float))


# --------------------------------------------------------------------------- networkx graphs


def test_networkx_graphs_are_read_with_their_weights_and_node_order():
    nx = pytest.importorskip("networkx")
    rng = np.random.default_rng(11)
    n = 12
    edges, lengths = _random_connected_graph(rng, n, extra=8)
    # Nodes named by strings and inserted in a shuffled order: node k of the
    # masses is list(graph)[k], whatever the names.
    names = [f"v{k}" for k in rng.permutation(n)]
    graph = nx.Graph()
    graph.add_nodes_from(names)
    for (i, j), length in zip(edges, lengths, strict=True):
        graph.add_edge(names[i], names[j], weight=float(length))
    order = [names.index(node) for node in graph]  # our index of each networkx position
    a, b = rng.random(n), rng.random(n)
    b *= a.sum() / b.sum()
    # The reference: shortest paths computed by networkx itself, then POT.
    dist = dict(nx.all_pairs_dijkstra_path_length(graph, weight="weight"))
    nodes = list(graph)
    cost = np.array([[dist[p][q] for q in nodes] for p in nodes])
    expected = pot_cost(a[order], b[order], cost)
    assert emd.wasserstein_graph(graph, a[order], b[order]) == pytest.approx(expected, rel=1e-9)
    result = emd.solve_graph(graph, a[order], b[order])
    assert result.status == "optimal" and result.certificate().optimal()
    assert result.cost == pytest.approx(
        emd.wasserstein_graph((edges, lengths), a, b), rel=1e-12)


def test_networkx_edges_without_a_weight_have_length_one():
    nx = pytest.importorskip("networkx")
    # A path of 5 nodes: all the mass moves from one end to the other, 4 unit edges.
    assert emd.wasserstein_graph(nx.path_graph(5), [1, 0, 0, 0, 0], [0, 0, 0, 0, 1]) == 4.0
    # A 6-cycle: the opposite node is 3 edges away either way.
    assert emd.wasserstein_graph(nx.cycle_graph(6), np.eye(6)[0], np.eye(6)[3]) == 3.0


@pytest.mark.parametrize("make,match", [
    (lambda nx: nx.DiGraph(nx.path_graph(3)), r"directed networkx graph.*to_undirected\(\)"),
    (lambda nx: nx.MultiGraph(nx.path_graph(3)), "multigraph"),
    (lambda nx: nx.Graph(), "graph has no nodes"),
])
def test_networkx_graphs_that_do_not_fit_are_refused_by_name(make, match):
    nx = pytest.importorskip("networkx")
    with pytest.raises(ValueError, match=match):
        emd.solve_graph(make(nx), [1, 0, 0], [0, 0, 1])


def test_networkx_weights_that_are_not_lengths_are_refused():
    nx = pytest.importorskip("networkx")
    graph = nx.path_graph(3)
    graph.edges[0, 1]["weight"] = "far"
    with pytest.raises(ValueError, match="edge attribute 'weight' must hold edge lengths"):
        emd.solve_graph(graph, [1, 0, 0], [0, 0, 1])
    graph.edges[0, 1]["weight"] = -1.0
    with pytest.raises(ValueError, match="finite and nonnegative"):
        emd.solve_graph(graph, [1, 0, 0], [0, 0, 1])


@pytest.mark.parametrize("graph", [np.ones(5), object(), "graph", [[0, 1], [1]]])
def test_a_graph_of_no_known_form_is_refused_with_the_forms_accepted(graph):
    with pytest.raises(ValueError, match=r"graph must be a square adjacency matrix .* networkx"):
        emd.solve_graph(graph, [1, 0, 0, 0, 0], [0, 0, 0, 0, 1])


def test_solving_a_graph_does_not_import_networkx():
    import subprocess
    import sys

    code = ("import sys, numpy as np, emd\n"
            "emd.solve_graph(np.array([[0, 1.0], [1.0, 0]]), [1, 0], [0, 1])\n"
            "print('networkx' in sys.modules)")
    # Run where the emd under test lives (python -c puts its directory first on sys.path).
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(emd.__file__).resolve().parents[1]).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize("seed", range(10))
def test_geometric_graphs_with_inexact_differences_are_not_unbounded(seed):
    """Random masses make many ``a - b`` inexact, so twins carry what rounding drops.  Tied
    to their nodes by zero-cost arcs both ways they made 2-cycles that the simplex
    reported "unbounded" (2 of 20 such 200-node graphs, 20 of 20 at 1000 nodes); one arc
    in the direction of the twin's mass fixes it.  Checked against HiGHS on the flow LP."""
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(seed)
    n = 200
    points = rng.random((n, 2))
    _, near = cKDTree(points).query(points, k=7)
    order = np.argsort(points[:, 0])
    edges = np.concatenate([np.stack([np.repeat(np.arange(n), 6), near[:, 1:].ravel()], 1),
                            np.stack([order[:-1], order[1:]], 1)])
    edges = np.unique(np.sort(edges, axis=1), axis=0)
    lengths = np.linalg.norm(points[edges[:, 0]] - points[edges[:, 1]], axis=1)
    a, b = rng.random(n), rng.random(n)
    a, b = a / a.sum(), b / b.sum()
    result = emd.solve_graph((edges, lengths), a, b)
    assert result.status == "optimal"
    # HiGHS on the flow LP over the edges both ways (node-arc incidence, n rows): small
    # and fast on every SciPy (the dense 200 x 200 transport LP stalled on SciPy 1.10).
    tails = np.concatenate([edges[:, 0], edges[:, 1]])
    heads = np.concatenate([edges[:, 1], edges[:, 0]])
    arcs = np.arange(tails.size)
    incidence = scipy.sparse.coo_array(
        (np.concatenate([np.ones(arcs.size), -np.ones(arcs.size)]),
         (np.concatenate([tails, heads]), np.concatenate([arcs, arcs]))), shape=(n, arcs.size))
    reference = scipy.optimize.linprog(
        np.concatenate([lengths, lengths]), A_eq=incidence.tocsr(), b_eq=a - b,
        bounds=(0, None), method="highs",
        options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10})
    assert reference.status == 0, reference.message
    assert result.cost == pytest.approx(reference.fun, rel=1e-7)
