"""Tests for tree Wasserstein: networkx path metric + POT / HiGHS as references."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import highs_cost, pot_cost

from emd.structured._tree import TreeResult, solve_tree, wasserstein_tree


def tree_metric(parents, lengths):
    """All-pairs shortest-path distances of the tree, computed by networkx."""
    n = len(parents)
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    for child, parent in enumerate(parents):
        if parent >= 0:
            graph.add_edge(child, int(parent), weight=float(lengths[child]))
    dist = np.zeros((n, n))
    for i, row in nx.all_pairs_dijkstra_path_length(graph):
        for j, d in row.items():
            dist[i, j] = d
    return dist


def random_tree(rng, n):
    """Uniform random recursive tree on a random labelling (root anywhere)."""
    labels = rng.permutation(n)
    parents = np.full(n, -1)
    for k in range(1, n):
        parents[labels[k]] = labels[rng.integers(0, k)]
    return parents


def check_tree(parents, lengths, a, b, normalize=False):
    """Cost against the LP on the tree metric; flows and potential certify it."""
    parents = np.asarray(parents)
    a, b = np.asarray(a, float), np.asarray(b, float)
    res = solve_tree(parents, lengths, a, b, normalize=normalize)
    if normalize:
        a, b = a / a.sum(), b / b.sum()
    dist = tree_metric(parents, lengths)
    scale = max(1.0, float(dist.max())) * max(1.0, float(a.sum()))
    ref = pot_cost(a, b, dist)
    assert res.cost == pytest.approx(ref, rel=1e-9, abs=1e-12 * scale)
    assert wasserstein_tree(parents, lengths, a, b) == pytest.approx(res.cost, rel=1e-14)

    # Flow conservation: what leaves node i upward minus what its children
    # send into it is its own surplus a_i - b_i.
    child = parents >= 0
    inflow = np.bincount(parents[child], weights=res.edge_flows[child], minlength=len(a))
    np.testing.assert_allclose(res.edge_flows - inflow, a - b, rtol=0, atol=1e-12 * scale)
    assert res.edge_flows[parents < 0] == 0.0
    assert res.cost == pytest.approx(
        float(np.dot(np.where(child, lengths, 0.0), np.abs(res.edge_flows))), rel=1e-14
    )

    # Potential: 0 at the root, 1-Lipschitz for the tree metric, strong duality.
    pot = res.potential
    assert pot[parents < 0] == 0.0
    assert np.all(np.abs(pot[:, None] - pot[None, :]) <= dist + 1e-12 * scale)
    assert float(a @ pot - b @ pot) == pytest.approx(res.cost, rel=1e-12, abs=1e-12 * scale)
    return res


# --------------------------------------------------------------------------- hand-checked


def test_single_node():
    res = solve_tree([-1], [np.nan], [2.0], [2.0])
    assert res.cost == 0.0
    np.testing.assert_array_equal(res.edge_flows, [0.0])
    np.testing.assert_array_equal(res.potential, [0.0])


def test_path_hand_computed():
    # 0 -(1)- 1 -(2)- 2, all mass from node 0 to node 2.
    res = check_tree([-1, 0, 1], [0.0, 1.0, 2.0], [1, 0, 0], [0, 0, 1])
    assert res.cost == 3.0
    # Subtree of 1 is {1, 2}: deficit 1, so mass flows down (negative).
    np.testing.assert_array_equal(res.edge_flows, [0.0, -1.0, -1.0])
    np.testing.assert_array_equal(res.potential, [0.0, -1.0, -3.0])


def test_star_hand_computed():
    # Centre 2 is the root; leaves 0, 1, 3 with lengths 1, 2, 4.
    parents = [2, 2, -1, 2]
    lengths = [1.0, 2.0, 99.0, 4.0]  # root entry ignored
    a = [0.5, 0.5, 0.0, 0.0]
    b = [0.0, 0.0, 0.25, 0.75]
    # 0.5 * 1 + 0.5 * 2 up to the centre, 0.75 * 4 down to leaf 3.
    res = check_tree(parents, lengths, a, b)
    assert res.cost == pytest.approx(4.5)
    np.testing.assert_allclose(res.edge_flows, [0.5, 0.5, 0.0, -0.75])


def test_zero_length_edges_and_cancelling_masses():
    # Masses that balance inside a subtree never cross its edge.
    parents = [-1, 0, 1, 1]
    lengths = [0.0, 10.0, 0.0, 3.0]
    res = check_tree(parents, lengths, [0, 0, 1, 0], [0, 0, 0, 1])
    assert res.cost == pytest.approx(3.0)
    assert res.edge_flows[1] == 0.0


def test_normalize_rescales():
    parents, lengths = [-1, 0, 0], [0.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="equal total mass"):
        wasserstein_tree(parents, lengths, [1, 0, 0], [0, 0, 3])
    assert wasserstein_tree(parents, lengths, [1, 0, 0], [0, 0, 3], normalize=True) == 1.0
    check_tree(parents, lengths, [2, 1, 0], [0, 1, 5], normalize=True)


def test_unnormalised_equal_masses_scale_linearly():
    rng = np.random.default_rng(1)
    parents = random_tree(rng, 12)
    lengths, a, b = rng.random(12), rng.random(12), rng.random(12)
    b *= a.sum() / b.sum()
    base = wasserstein_tree(parents, lengths, a, b)
    assert wasserstein_tree(parents, lengths, 7 * a, 7 * b) == pytest.approx(7 * base)
    assert wasserstein_tree(parents, 2 * lengths, a, b) == pytest.approx(2 * base)
    check_tree(parents, lengths, 7 * a, 7 * b)


def test_repr_and_frozen():
    res = solve_tree([-1, 0], [0.0, 2.0], [1, 0], [0, 1])
    assert repr(res) == "TreeResult(cost=2, n=2)"
    assert isinstance(res, TreeResult)
    with pytest.raises(AttributeError):
        res.cost = 1.0


def test_inputs_are_not_modified():
    parents = np.array([1, -1, 1])
    lengths = np.array([1.0, np.nan, 2.0])
    a, b = np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.0, 1.0])
    copies = [x.copy() for x in (parents, lengths, a, b)]
    assert wasserstein_tree(parents, lengths, a, b) == 3.0
    solve_tree(parents, lengths, a, b)
    for arr, copy in zip((parents, lengths, a, b), copies, strict=True):
        np.testing.assert_array_equal(arr, copy)


def test_float_and_unsigned_parent_arrays():
    assert wasserstein_tree(np.array([-1.0, 0.0]), [0, 1], [1, 0], [0, 1]) == 1.0
    assert wasserstein_tree(np.array([-1, 0], dtype=np.int8), [0, 1], [1, 0], [0, 1]) == 1.0


# --------------------------------------------------------------------------- random trees


def test_random_trees_against_pot():
    rng = np.random.default_rng(0)
    for trial in range(60):
        n = int(rng.integers(1, 31))
        parents = random_tree(rng, n)
        lengths = rng.random(n) * 3
        lengths[rng.random(n) < 0.15] = 0.0
        a = rng.random(n) * (rng.random(n) < 0.7)
        a[rng.integers(n)] += 0.5
        b = rng.random(n)
        if trial % 2 == 0:
            b *= a.sum() / b.sum()  # equal, unnormalised totals
        check_tree(parents, lengths, a, b, normalize=bool(trial % 2))


def test_random_trees_against_highs():
    rng = np.random.default_rng(7)
    for _ in range(5):
        n = 25
        parents = random_tree(rng, n)
        lengths = rng.integers(0, 5, n).astype(float)
        a, b = rng.random(n), rng.random(n)
        a, b = a / a.sum(), b / b.sum()
        ref = highs_cost(a, b, tree_metric(parents, lengths))
        assert wasserstein_tree(parents, lengths, a, b) == pytest.approx(ref, rel=1e-8)


def test_deep_path_matches_one_dimensional_distance():
    # A path whose edge lengths are the gaps between sorted points is the real
    # line: many doubling rounds, and scipy's 1-D distance as the reference.
    rng = np.random.default_rng(2)
    n = 5000
    points = np.sort(rng.normal(size=n))
    order = rng.permutation(n)  # node label of the k-th point
    parents = np.full(n, -1)
    parents[order[1:]] = order[:-1]
    lengths = np.zeros(n)
    lengths[order[1:]] = np.diff(points)
    a, b = rng.random(n), rng.random(n)
    a, b = a / a.sum(), b / b.sum()
    ref = scipy.stats.wasserstein_distance(points, points, a[order], b[order])
    res = solve_tree(parents, lengths, a, b)
    assert res.cost == pytest.approx(ref, rel=1e-10)
    assert float(a @ res.potential - b @ res.potential) == pytest.approx(ref, rel=1e-10)
    # 1-Lipschitz along the path is 1-Lipschitz for the whole (path) metric.
    steps = np.abs(np.diff(res.potential[order]))
    assert np.all(steps <= np.diff(points) + 1e-12)


@st.composite
def trees(draw):
    n = draw(st.integers(1, 15))
    parents = [-1] + [draw(st.integers(0, k - 1)) for k in range(1, n)]
    labels = draw(st.permutations(range(n)))
    relabelled = np.full(n, -1)
    for k in range(1, n):
        relabelled[labels[k]] = labels[parents[k]]
    mass = st.floats(0.0, 5.0) | st.just(0.0)
    lengths = draw(st.lists(st.floats(0.0, 10.0), min_size=n, max_size=n))
    a = draw(st.lists(mass, min_size=n, max_size=n))
    b = draw(st.lists(mass, min_size=n, max_size=n))
    a[0] += 1.0
    b[-1] += 1.0
    return relabelled, lengths, a, b


@settings(max_examples=80, deadline=None)
@given(trees())
def test_property_against_pot(tree):
    parents, lengths, a, b = tree
    check_tree(parents, np.asarray(lengths), a, b, normalize=True)


# --------------------------------------------------------------------------- validation

GOOD = dict(parents=[-1, 0, 0], edge_lengths=[0.0, 1.0, 1.0], a=[1, 0, 0], b=[0, 0, 1])


@pytest.mark.parametrize("func", [wasserstein_tree, solve_tree])
@pytest.mark.parametrize(
    ("change", "match"),
    [
        (dict(parents=[], edge_lengths=[], a=[], b=[]), "parents is empty"),
        (dict(parents=[-1, 0.5, 0]), r"parents must hold integer node indices, got 0\.5"),
        (dict(parents=[-1, np.nan, 0]), "parents must hold integer node indices"),
        (dict(parents=[[-1, 0, 0]]), "parents must be 1-dimensional"),
        (dict(parents=[-1, 3, 0]), r"parents\[1\] = 3 is out of range"),
        (dict(parents=[-1, -2, 0]), r"parents\[1\] = -2 is out of range"),
        (dict(parents=[1, 2, 0]), "parents has no root"),
        (dict(parents=[-1, -1, 0]), "parents has 2 roots"),
        (dict(parents=[-1, 1, 0]), r"parents\[1\] = 1 is a self-loop"),
        (dict(parents=[-1, 2, 1]), r"parents contains a cycle through node [12]"),
        (dict(edge_lengths=[0.0, 1.0]), "edge_lengths has 2 entries but parents has 3"),
        (dict(edge_lengths=[0.0, -1.0, 1.0]), "edge_lengths has a negative length -1.0 at node 1"),
        (dict(edge_lengths=[0.0, 1.0, np.inf]), "edge_lengths has a non-finite length inf"),
        (dict(edge_lengths=[0.0, np.nan, 1.0]), "edge_lengths has a non-finite length nan"),
        (dict(a=[1, 0]), "a has 2 entries but 3 were expected"),
        (dict(b=[0, -1, 2]), "b has a negative weight"),
        (dict(a=[np.nan, 0, 1]), "a has a non-finite weight"),
        (dict(a=[0, 0, 0]), "a has zero total mass"),
        (dict(b=[0, 0, 2]), "a and b must have equal total mass"),
    ],
)
def test_validation_errors(func, change, match):
    kwargs = {**GOOD, **change}
    with pytest.raises(ValueError, match=match):
        func(**kwargs)


def test_longer_cycle_with_tail_is_rejected():
    # 0 is the root; 1 -> 2 -> 3 -> 1 is a cycle and 4 hangs off it.
    parents = [-1, 2, 3, 1, 1]
    with pytest.raises(ValueError, match=r"cycle through node [123]"):
        wasserstein_tree(parents, np.ones(5), np.ones(5), np.ones(5))
