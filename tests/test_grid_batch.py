"""Grid batches: one compiled call per chunk, every value the single solve's, every pair certified."""

import numpy as np
import pytest
from emd._core._grid import GridWorkspace

import emd
from emd.structured import _grid


def _hists(n, shape, seed, zeros=0.2):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        h = rng.random(shape)
        h[rng.random(shape) < zeros] = 0.0
        out.append(h / h.sum())
    return out


# 20 x 20 (no warm start), 40 x 40 (warm-started) and 70 x 70 (above 4096 bins).
CASES = [(shape, metric, L) for shape in [(20, 20), (40, 40), (70, 70)]
         for metric, L in [("cityblock", None), ("chebyshev", None), ("euclidean", 3)]]
CASES += [((40, 40), "euclidean", 5)]  # column generation beyond the core offsets


@pytest.mark.parametrize("shape,metric,L", CASES)
def test_pairwise_equals_single_solves_bitwise_and_is_certified(shape, metric, L):
    hists = _hists(3, shape, seed=shape[0] + len(metric))
    D, ok = emd.pairwise(hists, metric=metric, L=L, n_jobs=2, chunk_size=1, return_status=True)
    assert ok.all()
    for i in range(3):
        for j in range(i + 1, 3):
            single = emd.solve_grid(hists[i], hists[j], metric=metric, L=L)
            assert D[i, j] == D[j, i] == single.cost
            assert single.certificate().optimal()


def test_three_dimensional_and_line_batches_equal_single_solves():
    cubes = _hists(3, (9, 8, 7), seed=3)
    D, ok = emd.pairwise(cubes, metric="chebyshev", return_status=True)
    assert ok.all()
    assert D[0, 2] == emd.solve_grid(cubes[0], cubes[2], metric="chebyshev", volume=True).cost
    lines = _hists(4, (300,), seed=4)
    D, ok = emd.pairwise(lines, spacing=0.5, return_status=True)
    assert ok.all()
    for i, j in [(0, 1), (2, 3)]:
        single = emd.solve_grid(lines[i], lines[j], spacing=0.5)
        assert D[i, j] == single.cost and single.certificate().optimal()


@pytest.mark.parametrize("seed", [2, 4])
def test_line_cost_is_the_exact_closed_form_correctly_rounded(seed):
    # sum_i |s_1 + ... + s_i| for the float64 supply s = a - b, evaluated in rationals:
    # the double-double running sums keep the bits that plain partial sums drop
    # (math.fsum(abs(cumsum(s))) is off by 4e-16 relative on these inputs).
    from fractions import Fraction

    hists = _hists(2, (500,), seed=seed, zeros=0.5)
    for k in range(0, 400, 40):  # large masses moving 20 bins: partial sums lose low bits
        hists[0][k] += 1e6
        hists[1][k + 20] += 1e6
    value = emd.pairwise(hists, grid=True)[0, 1]
    assert value == emd.solve_grid(hists[0], hists[1]).cost
    # The problem solved: the totals (equal to rounding) balanced exactly first.
    a, b = emd._certify.balance_exactly(hists[0], hists[1])
    running, exact = Fraction(0), Fraction(0)
    for s in (a - b)[:-1]:
        running += Fraction(s)
        exact += abs(running)
    assert abs(Fraction(value) - exact) <= exact * Fraction(2.0**-53)


@pytest.mark.parametrize("metric,L", [("cityblock", None), ("euclidean", 4)])
def test_compiled_check_never_certifies_what_the_full_certificate_rejects(metric, L):
    shape = (36, 36)
    solver = _grid.GridSolver(shape, metric, 0.5, L)
    hists = np.stack([h.ravel() for h in _hists(5, shape, seed=7)])
    pairs = np.array([[i, j] for i in range(5) for j in range(i + 1, 5)], dtype=np.intp)
    # The compiled batch is handed every pair balanced exactly, as pair_costs hands it
    # (the single solve's problem: a mass left over by rounding would have nowhere to go).
    balanced = [emd._certify.balance_exactly(hists[i], hists[j]) for i, j in pairs]
    left, right = np.stack([a for a, _ in balanced]), np.stack([b for _, b in balanced])
    local = np.repeat(np.arange(len(pairs), dtype=np.intp)[:, None], 2, axis=1)
    values, codes = GridWorkspace(solver.graph.plan()).batch(left, right, local, -1, 0.5e-9)
    assert (codes == 1).all()
    for (i, j), value in zip(pairs, values, strict=True):
        result = emd.solve_grid(hists[i].reshape(shape), hists[j].reshape(shape),
                                metric=metric, L=L, spacing=0.5)
        assert value == result.cost
        certificate = result.certificate()
        assert certificate.optimal(0.5e-9)
    # Asked for more than float64 sums can prove, the compiled check declines every pair,
    # and the batch settles them by single solves with the full certificate.
    _, strict = GridWorkspace(solver.graph.plan()).batch(left, right, local, -1, 1e-30)
    assert not strict.any()
    settled, optimal = solver.pair_costs(hists, hists, pairs, rtol=1e-30)
    np.testing.assert_array_equal(settled, values)
    assert optimal.all()
    # The check on a single solve's tree, as the batch makes it.
    workspace = GridWorkspace(solver.graph.plan())
    workspace.solve(left[0] - right[0], -1)
    assert workspace.certify(0.5e-9) and not workspace.certify(1e-30)


def test_unbalanced_supplies_are_not_certified():
    shape = (12, 12)
    solver = _grid.GridSolver(shape, "cityblock")
    left = np.stack([h.ravel() for h in _hists(2, shape, seed=8)])
    right = left * (1 + 1e-6)  # a millionth of the mass has nowhere to go
    _values, codes = GridWorkspace(solver.graph.plan()).batch(
        left, right, np.array([[0, 1]], dtype=np.intp), -1, 0.5e-9)
    assert codes[0] == 0


def test_stopped_pairs_are_nan_and_marked(monkeypatch):
    monkeypatch.setattr(_grid, "WARM_START_MIN_BINS", 16)
    hists = _hists(3, (24, 24), seed=9, zeros=0.0)
    with pytest.warns(emd.SolverWarning, match="3 of 3 pairs"):
        D, ok = emd.pairwise(hists, max_iter=20, return_status=True)
    assert np.isnan(D[0, 1]) and not ok[0, 1]
    assert ok[0, 0]  # the diagonal is never solved


def test_warm_started_batches_equal_single_solves_with_forced_levels(monkeypatch):
    # Several coarse levels on odd shapes, pairs solved on one reused workspace.
    monkeypatch.setattr(_grid, "WARM_START_MIN_BINS", 16)
    for shape, metric, L in [((17, 10), "chebyshev", None), ((23, 30), "euclidean", 4)]:
        solver = _grid.GridSolver(shape, metric, 1.0, L)
        assert solver.graph.coarse is not None and solver.graph.coarse.coarse is not None
        hists = np.stack([h.ravel() for h in _hists(4, shape, seed=shape[0])])
        pairs = np.array([[0, 1], [2, 3], [1, 0], [3, 1]], dtype=np.intp)
        values, optimal = solver.pair_costs(hists, hists, pairs)
        assert optimal.all()
        for (i, j), value in zip(pairs, values, strict=True):
            assert value == solver.solve_pair(hists[i], hists[j]).cost


@pytest.mark.parametrize("metric,L", [("cityblock", None), ("chebyshev", None),
                                      ("euclidean", 4)])
def test_warm_start_values_are_certified_and_agree_with_single_solves(metric, L):
    # Near-duplicates on the right: the case warm starts are for.
    rng = np.random.default_rng(12)
    base = rng.random((40, 40))
    right = [h / h.sum() for h in (base + 0.05 * rng.random((6, 40, 40)))]
    left = _hists(2, (40, 40), seed=13)
    D, ok = emd.cdist(left, right, metric=metric, L=L, warm_start=True, chunk_size=6,
                      return_status=True)
    assert ok.all()
    for i in range(2):
        for j in range(6):
            single = emd.solve_grid(left[i], right[j], metric=metric, L=L).cost
            assert D[i, j] == pytest.approx(single, rel=1e-12)
    # The first pair of a chunk has no tree to start from: it is the single solve.
    assert D[0, 0] == emd.solve_grid(left[0], right[0], metric=metric, L=L).cost


def test_warm_start_applies_to_grids_only():
    sets = [(np.eye(2), np.full(2, 0.5))] * 2
    with pytest.raises(ValueError, match="warm_start=True applies to grid histograms only"):
        emd.pairwise(sets, warm_start=True)
    with pytest.raises(ValueError, match="grid histograms only"):
        emd.pairwise([np.ones(3), np.ones(3)], positions=np.eye(3), warm_start=True)
    with pytest.raises(TypeError, match="warm_start must be True or False"):
        emd.pairwise([np.ones((3, 3))] * 2, warm_start=1)


def test_solvers_with_compiled_plans_pickle_for_dask_workers():
    import pickle

    solver = _grid.GridSolver((40, 40), "euclidean", 1.0, 4)
    hists = np.stack([h.ravel() for h in _hists(2, (40, 40), seed=14)])
    pairs = np.array([[0, 1]], dtype=np.intp)
    before = solver.pair_costs(hists, hists, pairs)[0]
    copy = pickle.loads(pickle.dumps(solver))
    assert copy.pair_costs(hists, hists, pairs)[0][0] == before[0]


def test_dask_worker_processes_run_grid_batches():
    distributed = pytest.importorskip("distributed")
    hists = _hists(5, (36, 36), seed=15)
    expected = emd.pairwise(hists, n_jobs=1)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        matrix = emd.pairwise(hists, client=client, chunk_size=3)
    np.testing.assert_array_equal(matrix, expected)


def test_threads_reusing_workspaces_give_the_serial_matrix():
    # Many chunks per thread: each workspace is reused across pairs and chunks,
    # column-generated arc lists and warm-start levels included.
    hists = _hists(10, (40, 40), seed=16)
    serial = emd.pairwise(hists, metric="euclidean", L=4, n_jobs=1)
    threaded, ok = emd.pairwise(hists, metric="euclidean", L=4, n_jobs=2, chunk_size=2,
                                return_status=True)
    np.testing.assert_array_equal(threaded, serial)
    assert ok.all()


def test_line_batches_prove_pairs_in_compiled_code_and_never_more_than_the_certificate():
    from emd._core._grid import line_batch

    rng = np.random.default_rng(17)
    hists = np.stack([h / h.sum() for h in rng.random((6, 200))])
    hists[1] = hists[0]  # a zero distance: left to the single solve's certificate
    solver = _grid.GridSolver((200,), "cityblock", 0.7)
    pairs = np.array([[i, j] for i in range(6) for j in range(i + 1, 6)], dtype=np.intp)
    # Each pair balanced exactly, as pair_costs hands it to the compiled batch.
    left, right, local = _grid._balanced_pairs(hists, hists, pairs)
    values, codes = line_batch(left, right, local, 0.7, 0.5e-9)
    assert codes.sum() == len(pairs) - 1 and codes[0] == 0
    for (i, j), value, code in zip(pairs, values, codes, strict=True):
        single = solver.solve_pair(hists[i], hists[j])
        assert value == single.cost
        assert single.certificate().optimal(0.5e-9 if code else 1e-9)
    # Supplies that do not balance leave mass unrouted: nothing is proven.
    _, unbalanced = line_batch(hists, hists * (1 + 1e-6), pairs, 0.7, 0.5e-9)
    assert not unbalanced.any()
    D, ok = emd.pairwise(list(hists), spacing=0.7, return_status=True)
    assert ok.all() and D[0, 1] == 0.0


def test_spanning_tree_starts_from_a_forest_as_the_grid_driver_does():
    from emd._core._tree import SpanningTree

    # A 3 x 3 city-block grid; the forest: row 0 a path, rows 1 and 2 hanging below it.
    solver = _grid.GridSolver((3, 3), "cityblock")
    tails, heads, costs = solver.graph.arcs()
    arc = {(int(t), int(h)): k for k, (t, h) in enumerate(zip(tails, heads, strict=True))}
    parent = np.array([-1, 0, 1, 0, 1, 2, 3, 4, 5], dtype=np.intp)
    preorder = np.array([0, 1, 2, 5, 8, 4, 7, 3, 6], dtype=np.intp)
    child = np.arange(1, 9)
    up = np.full(9, -1, dtype=np.intp)
    down = np.full(9, -1, dtype=np.intp)
    up[child] = [arc[(int(v), int(parent[v]))] for v in child]
    down[child] = [arc[(int(parent[v]), int(v))] for v in child]
    supply = np.array([0.5, 0.0, -0.25, 0.0, 0.25, 0.0, -0.5, 0.0, 0.0])
    warm = SpanningTree(supply, 100.0)
    warm.start_from_forest(preorder, parent, up, down, costs)
    assert warm.check_structure() and warm.check_potentials()
    assert warm.solve(tails, heads, costs, 1000) == 0
    cold = SpanningTree(supply, 100.0)
    assert cold.solve(tails, heads, costs, 1000) == 0
    assert warm.cost() == cold.cost() == solver(supply).cost == 1.5
    with pytest.raises(ValueError, match="depth-first order"):
        SpanningTree(supply, 100.0).start_from_forest(
            np.array([0, 1, 3, 2, 5, 8, 4, 7, 6], dtype=np.intp), parent, up, down, costs)
