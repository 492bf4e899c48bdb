"""The spanning-tree kernel and the sparse transshipment entry point."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.optimize
import scipy.sparse
from emd._core._pair import search_block_size
from emd._core._tree import SpanningTree
from oracles import random_weights

import emd


def _bipartite_arcs(n, m):
    rows, cols = np.meshgrid(np.arange(n), np.arange(m), indexing="ij")
    return rows.ravel().astype(np.intp), (cols.ravel() + n).astype(np.intp)


@pytest.mark.parametrize("seed", range(8))
def test_tree_invariants_hold_after_every_pivot_budget(seed):
    """Stop the solver after k pivots for many k and check thread, sizes and last nodes."""
    rng = np.random.default_rng(seed)
    n, m = rng.integers(2, 15, size=2)
    a, b = random_weights(rng, n), random_weights(rng, m)
    cost = rng.integers(0, 4, size=(n, m)).astype(float)  # many ties: degenerate pivots
    tails, heads = _bipartite_arcs(n, m)
    supply = np.concatenate([a, -b])
    for budget in range(1, 60, 3):
        tree = SpanningTree(supply, 4.0)
        tree.solve(tails, heads, cost.ravel().copy(), budget)
        _check_tree(tree, supply)


def _check_tree(tree, supply):
    """Structure, strong feasibility, conservation and tight tree arcs."""
    assert tree.check_structure()  # includes: no zero-flow arc points away from the root
    assert tree.check_potentials()
    n = supply.size
    _, tails, heads, flows, _ = tree.tree_arcs()
    # Artificial arcs join each node to the root (index n); they carry the rest.
    up = tree.toward_parent[:n].astype(bool)
    art = tree.parent[:n] == n
    art_out = np.where(art & up, tree.flow[:n], 0.0) - np.where(art & ~up, tree.flow[:n], 0.0)
    net = np.bincount(tails, flows, minlength=n) - np.bincount(heads, flows, minlength=n)
    np.testing.assert_allclose(net + art_out, supply, atol=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_tree_invariants_with_transit_nodes(seed):
    """Transshipment on a grid with many zero-supply nodes, stopped at many pivot budgets."""
    rng = np.random.default_rng(seed)
    side = 7
    supply = np.where(rng.random(side * side) < 0.5, 0.0, rng.random(side * side) - 0.5)
    supply[0] -= supply.sum()
    index = np.arange(side * side).reshape(side, side)
    pairs = [(index[:, :-1], index[:, 1:]), (index[:-1, :], index[1:, :])]
    tails = np.concatenate([np.concatenate([p.ravel(), q.ravel()]) for p, q in pairs])
    heads = np.concatenate([np.concatenate([q.ravel(), p.ravel()]) for p, q in pairs])
    costs = rng.integers(1, 3, size=tails.size).astype(float)
    for budget in (1, 2, 5, 10, 20, 40, 80, 10**6):
        tree = SpanningTree(supply, 100.0)
        tree.solve(tails.astype(np.intp), heads.astype(np.intp), costs, budget)
        _check_tree(tree, supply)


def test_strongly_feasible_tree_terminates_on_maximal_degeneracy():
    n = 60
    a = np.full(n, 1.0 / n)
    tails, heads = _bipartite_arcs(n, n)
    tree = SpanningTree(np.concatenate([a, -a]), 1.0)
    status = tree.solve(tails, heads, np.ones(n * n), 10**6)
    assert status == 0
    assert tree.check_structure()


def _random_graph(rng, n_nodes, n_arcs):
    tails = rng.integers(0, n_nodes, size=n_arcs)
    heads = rng.integers(0, n_nodes, size=n_arcs)
    keep = tails != heads
    # A Hamiltonian cycle both ways keeps the graph strongly connected.
    ring = np.arange(n_nodes)
    tails = np.concatenate([tails[keep], ring, (ring + 1) % n_nodes])
    heads = np.concatenate([heads[keep], (ring + 1) % n_nodes, ring])
    costs = rng.random(tails.size) * 10
    return tails, heads, costs


@pytest.mark.parametrize("seed", range(6))
def test_min_cost_flow_matches_highs(seed):
    rng = np.random.default_rng(seed)
    n_nodes = int(rng.integers(5, 40))
    tails, heads, costs = _random_graph(rng, n_nodes, 4 * n_nodes)
    supply = rng.random(n_nodes) - 0.5
    supply -= supply.mean()
    result = emd.min_cost_flow(tails, heads, costs, supply)
    incidence = scipy.sparse.coo_array(
        (np.concatenate([np.ones(tails.size), -np.ones(tails.size)]),
         (np.concatenate([tails, heads]), np.tile(np.arange(tails.size), 2))),
        shape=(n_nodes, tails.size),
    ).tocsr()
    lp = scipy.optimize.linprog(costs, A_eq=incidence, b_eq=supply, bounds=(0, None),
                                method="highs")
    assert result.status == "optimal"
    assert result.cost == pytest.approx(lp.fun, rel=1e-9)
    np.testing.assert_allclose(incidence @ result.flow, supply, atol=1e-12)
    # Dual feasibility and strong duality for the returned potentials.
    y = result.potentials
    assert (y[tails] - y[heads] <= costs + 1e-12).all()
    assert (supply * y).sum() == pytest.approx(result.cost, rel=1e-9)


def test_min_cost_flow_matches_networkx_on_integers():
    rng = np.random.default_rng(3)
    n_nodes = 30
    tails, heads, costs = _random_graph(rng, n_nodes, 90)
    costs = np.round(costs).astype(int)
    supply = rng.integers(-5, 6, size=n_nodes)
    supply[-1] -= supply.sum()
    graph = nx.MultiDiGraph()
    for v in range(n_nodes):
        graph.add_node(v, demand=-int(supply[v]))
    for t, h, c in zip(tails, heads, costs, strict=True):
        graph.add_edge(int(t), int(h), weight=int(c))
    expected, _ = nx.network_simplex(graph)
    assert emd.min_cost_flow(tails, heads, costs, supply).cost == expected


def test_min_cost_flow_reports_infeasible_and_unbounded():
    # Two components: supply in one, demand in the other.
    result_warning = pytest.warns(emd.SolverWarning, match="infeasible")
    with result_warning:
        result = emd.min_cost_flow([0, 2], [1, 3], [1.0, 1.0], [1.0, 0.0, 0.0, -1.0])
    assert result.status == "infeasible"
    # A negative cycle 0 -> 1 -> 0.
    with pytest.warns(emd.SolverWarning, match="unbounded"):
        result = emd.min_cost_flow([0, 1, 0], [1, 0, 2], [-1.0, -1.0, 1.0], [1.0, 0.0, -1.0])
    assert result.status == "unbounded"


@pytest.mark.parametrize("args,match", [
    (([0], [1], [1.0], [1.0, -2.0]), "supply must sum to zero"),
    (([0], [2], [1.0], [1.0, -1.0]), r"heads has node indices outside \[0, 2\)"),
    (([0, 1], [1], [1.0], [1.0, -1.0]), "tails and heads differ in length"),
    (([0], [1], [1.0, 2.0], [1.0, -1.0]), "costs has 2 entries but there are 1 arcs"),
    (([0], [1], [np.nan], [1.0, -1.0]), "costs has non-finite entries"),
    (([0], [1], [1.0], []), "supply is empty"),
])
def test_min_cost_flow_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        emd.min_cost_flow(*args)
    with pytest.raises(TypeError, match="integer node indices"):
        emd.min_cost_flow([0.5], [1], [1.0], [1.0, -1.0])


def _complete_against_general(rng, n, m, rounded):
    cost = rng.random((n, m)) * 10.0**rng.integers(-3, 4)
    if rounded:
        cost = np.round(cost, 1)  # ties and degenerate pivots
    a = rng.integers(1, 20, size=n).astype(float)
    b = rng.integers(1, 20, size=m).astype(float)
    b[-1] += a.sum() - b.sum() if a.sum() > b.sum() else 0.0
    a[-1] += b.sum() - a.sum() if b.sum() > a.sum() else 0.0
    result = emd.solve(a, b, cost)
    tree = SpanningTree(np.concatenate([a, -b]), float(np.abs(cost).max()) or 1.0)
    tails = np.repeat(np.arange(n), m)
    heads = n + np.tile(np.arange(m), n)
    # The same blocks (rows of at least two blocks are searched whole).
    block = search_block_size(n * m, m)
    assert tree.solve(tails, heads, cost.ravel().copy(), 10**6, block) == 0
    assert result.n_iter == tree.n_iter
    assert result.cost == tree.cost()


@pytest.mark.parametrize("seed", range(4))
def test_complete_bipartite_pricing_picks_the_arcs_of_the_general_search(seed, simd):
    # A small dense problem pivots over every pair with a pricing kernel that reads
    # the row's potential once and the columns' potentials in a row: it must pick
    # the very arcs of the general block search over the same arc list.
    rng = np.random.default_rng(seed)
    _complete_against_general(rng, int(rng.integers(2, 40)), int(rng.integers(2, 40)),
                              seed % 2)


@pytest.mark.parametrize("m", [5, 8, 9, 12, 15, 16, 17, 23, 30])
def test_rows_of_every_width_pick_the_arcs_of_the_general_search(m, simd):
    # The kernels take eight pairs of a row at a time and end a row of eight or more on
    # its last eight (the pairs already seen tested again), and pass over groups above
    # a cut from the row's potential; rows of every remainder must still pick the arcs
    # of the general search.
    rng = np.random.default_rng(m)
    for rounded in (False, True):
        _complete_against_general(rng, int(rng.integers(2, 40)), m, rounded)


@pytest.mark.parametrize("seed", range(10))
def test_the_last_exact_pass_bounds_every_reduced_cost(seed, simd):
    # A pair whose every pair is an arc ends on the simplex's own last exact pass,
    # whose bound must hold for the exact reduced cost of every pair (checked in
    # rationals on the potentials returned) and be tight.  Rows of 9 to 15 pairs
    # end on an overlapping group of eight.
    from fractions import Fraction

    from emd._core._pair import PairWorkspace

    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(2, 30)), int(rng.integers(2, 30) if seed < 6 else 9 + 2 * (seed - 6))
    cost = rng.random((n, m)) * 10.0 ** rng.integers(-12, 12, (n, m)) if seed % 2 else (
        rng.normal(size=(n, m)))
    a = rng.random(n) + 0.1
    b = rng.random(m) + 0.1
    b *= a.sum() / b.sum()
    a, b = emd._certify.balance_exactly(a, b)
    out = PairWorkspace().solve(a, b, np.ascontiguousarray(cost), None, None, 0, 0.0, None,
                                True, 0.0, 1.0, 10**6)
    status, clean, worst, pi, pi_low = out[0], out[1], out[2], out[10], out[11]
    assert status == 0 and clean
    potential = [Fraction(h) + Fraction(lo) for h, lo in zip(pi, pi_low, strict=True)]
    exact_min = min(Fraction(cost[i, j]) + potential[i] - potential[n + j]
                    for i in range(n) for j in range(m))
    assert Fraction(worst) <= exact_min
    assert exact_min - Fraction(worst) <= Fraction(1e-12) * (1 + abs(np.max(np.abs(pi))))


@pytest.mark.parametrize("seed", range(3))
def test_plain_and_two_cursor_shifts_of_potentials_agree_bit_for_bit(seed):
    # Small shifts of potentials walk the thread plainly, large ones with two
    # cursors (emd._planner.SHORT_SHIFT_NODES): the same additions, so every pivot,
    # potential and flow must be the same whichever walk runs.
    from emd._core import _tree

    rng = np.random.default_rng(seed)
    n, m = 70, 90
    cost = rng.random((n, m))
    if seed == 2:
        cost = np.round(cost, 1)  # ties and degenerate pivots
    a, b = rng.random(n) + 0.01, rng.random(m) + 0.01
    b *= a.sum() / b.sum()
    a, b = emd._certify.balance_exactly(a, b)
    tails = np.repeat(np.arange(n), m)
    heads = n + np.tile(np.arange(m), n)
    states = []
    for limit in (0, 10**9):
        old = _tree.set_short_shift(limit)
        try:
            tree = SpanningTree(np.concatenate([a, -b]), 1.0)
            assert tree.solve(tails, heads, cost.ravel().copy(), 10**6) == 0
        finally:
            _tree.set_short_shift(old)
        states.append((tree.n_iter, tree.pi.tobytes(), tree.pi_low.tobytes(),
                       tree.flow.tobytes(), tree.parent.tobytes(), tree.cost()))
    assert states[0] == states[1]
    assert states[0][0] > n + m  # enough pivots to move large and small subtrees


@pytest.mark.parametrize("seed", range(12))
def test_small_trees_pivot_on_bit_sets_as_on_the_thread(seed):
    # Trees of up to 64 nodes pivot on bit sets of their subtrees in the fast phase
    # (emd._core._tree.pivot_small) and rebuild the thread when they leave it: the
    # same pivots, so the same parents, flows and potentials as the thread's pivots
    # (the refreshed potentials hang on the root's first child, which must be the
    # thread's), and a thread that passes the structure check, after a full solve or
    # a stop.  Seeds 8-11 fill the 64 nodes (the shift then takes the complement of
    # a full word) or come one short, with a small artificial cost and empty columns
    # (-0.0 demands) so that the root's children hang both ways.
    from emd._core import _tree

    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(2, 34)), int(rng.integers(2, 30))
    n = min(n, 63 - m)
    if seed >= 8:
        n, m = (32, 31) if seed % 2 == 0 else (31, 31)
    cost = rng.random((n, m))
    if seed % 3 == 1:
        cost = np.round(cost * 3)  # ties, degenerate pivots
    a, b = rng.random(n) + 0.01, rng.random(m) + 0.01
    if seed % 4 == 2:
        a[::3] = 0.0  # transit nodes: zero supply, arcs without flow
    if seed >= 8:
        b[::4] = 0.0
    b *= a.sum() / b.sum()
    a, b = emd._certify.balance_exactly(a, b)
    artificial = 0.3 if seed >= 8 else 1.0
    tails = np.repeat(np.arange(n), m)
    heads = n + np.tile(np.arange(m), n)
    for budget in (10**6, max(1, (n + m) // 2)):
        states = []
        for flag in (True, False):
            old = _tree._use_small_trees(flag)
            try:
                tree = SpanningTree(np.concatenate([a, -b]), artificial)
                status = tree.solve(tails, heads, cost.ravel().copy(), budget)
            finally:
                _tree._use_small_trees(old)
            assert tree.check_structure() and tree.check_potentials()
            states.append((status, tree.n_iter, tree.pi.tobytes(), tree.pi_low.tobytes(),
                           tree.flow.tobytes(), tree.parent.tobytes(), tree.thread[n + m]))
        assert states[0] == states[1]
        if budget < 10**6:
            assert states[0][0] == 1  # stopped in the fast phase
    if n + m > 6:
        assert states[0][1] > 0


def test_the_pricing_kernels_compile_without_sse2_or_avx2(tmp_path):
    # The kernels' scalar fallbacks serve processors without SSE2 (ARM, for one),
    # which no CI machine here is: compile the header as such a build sees it.
    import shutil
    import subprocess
    import sysconfig
    from pathlib import Path

    header_dir = Path(__file__).resolve().parents[1] / "emd" / "_core"
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None or not (header_dir / "_pricing_kernels.h").exists():
        pytest.skip("needs a C compiler and the source tree")
    source = tmp_path / "scalar.c"
    source.write_text(
        "#include <Python.h>\n#undef __x86_64__\n#undef __SSE2__\n"
        '#include "_pricing_kernels.h"\n'
        "int main(void) { double c[8] = {0}, pc[8] = {0};\n"
        "  return (int)emd_dense8_mask(c, 0.0, pc, 0)\n"
        "    + (int)emd_complete_search(c, pc, pc, 4, 8, 4, (Py_ssize_t[]){0}, c, 0.0, 0); }\n")
    compiled = subprocess.run(
        [compiler, "-fsyntax-only", "-Werror=implicit-function-declaration",
         f"-I{header_dir}", f"-I{sysconfig.get_paths()['include']}", str(source)],
        capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr
