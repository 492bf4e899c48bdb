"""Pairwise matrices: equal to the loop of single solves, in threads and on Dask."""

from __future__ import annotations

import itertools
import math
import threading

import numpy as np
import pytest
from oracles import exact_float_cost, metric_cost, pot_cost
from test_exactness import block_costs

import emd
from emd import _pairs, _planner, batch
from emd._result import COMPILED_RTOL


def _grids(n, shape=(12, 12), seed=0):
    rng = np.random.default_rng(seed)
    hists = [rng.random(shape) * (rng.random(shape) < 0.7) for _ in range(n)]
    return [h / h.sum() for h in hists]


def test_grid_matrix_equals_single_solves_bitwise():
    hists = _grids(7)
    matrix = emd.pairwise(hists, n_jobs=2, chunk_size=3)
    assert matrix.shape == (7, 7)
    assert (np.diag(matrix) == 0).all()
    assert (matrix == matrix.T).all()
    for i in range(7):
        for j in range(i + 1, 7):
            assert matrix[i, j] == emd.wasserstein_grid(hists[i], hists[j])


def test_normalize_matches_single_calls_bitwise():
    rng = np.random.default_rng(8)
    hists = [rng.random((10, 10)) * (k + 1) for k in range(5)]
    matrix = emd.pairwise(hists, normalize=True, n_jobs=2, chunk_size=2)
    for i in range(5):
        for j in range(i + 1, 5):
            single = emd.wasserstein_grid(hists[i], hists[j], normalize=True)
            assert matrix[i, j] == single
    positions = rng.random((100, 2))
    flat = [h.ravel() for h in hists]
    near = emd.pairwise(flat, positions=positions, normalize=True)
    # Shared positions use one scipy cost matrix: the single call on the same matrix.
    cost = metric_cost(positions, positions, "euclidean")
    assert near[1, 3] == emd.solve(flat[1], flat[3], cost, normalize=True).cost


def test_threads_and_serial_agree_for_every_metric():
    hists = _grids(6, shape=(9, 7), seed=1)
    for metric in ("cityblock", "chebyshev", "euclidean"):
        serial = emd.pairwise(hists, metric=metric, n_jobs=1)
        threaded = emd.pairwise(hists, metric=metric, n_jobs=2, chunk_size=2)
        assert (serial == threaded).all()
        assert serial[0, 1] == emd.wasserstein_grid(hists[0], hists[1], metric=metric)


def test_shared_positions_use_one_cost_matrix_and_match_pot():
    rng = np.random.default_rng(2)
    positions = rng.random((30, 2))
    hists = [rng.random(30) for _ in range(5)]
    hists = [h / h.sum() for h in hists]
    matrix = emd.pairwise(hists, positions=positions, n_jobs=2)
    cost = metric_cost(positions, positions, "euclidean")
    for i in range(5):
        for j in range(i + 1, 5):
            assert matrix[i, j] == emd.solve(hists[i], hists[j], cost).cost
            assert matrix[i, j] == pytest.approx(pot_cost(hists[i], hists[j], cost), rel=1e-9)


def test_point_set_pairs_and_rectangular_cdist():
    rng = np.random.default_rng(3)
    sets = [(rng.random((n, 2)), np.full(n, 1.0 / n)) for n in (5, 8, 11)]
    matrix = emd.pairwise(sets)
    assert matrix[0, 2] == emd.solve_points(sets[0][0], sets[2][0], sets[0][1], sets[2][1]).cost
    rect = emd.cdist(sets[:1], sets[1:], n_jobs=2)
    assert rect.shape == (1, 2)
    np.testing.assert_array_equal(rect, matrix[:1, 1:])


def test_one_dimensional_weights_use_the_line():
    hists = [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.0, 0.5]]
    matrix = emd.pairwise(hists, spacing=2.0)
    np.testing.assert_allclose(matrix, [[0, 4, 2], [4, 0, 2], [2, 2, 0]])


def test_bad_histogram_is_reported_by_index_before_any_work(monkeypatch):
    hists = _grids(5)
    hists[3] = hists[3].copy()
    hists[3][0, 0] = -1.0
    calls = []
    monkeypatch.setattr(_pairs.PairSolver, "chunk", lambda self, pairs: calls.append(1))
    with pytest.raises(ValueError, match=r"hists\[3\]: histogram has a negative weight"):
        emd.pairwise(hists)
    assert not calls


@pytest.mark.parametrize("hists,kwargs,match", [
    ([np.ones((2, 2)), np.ones((4, 1))], {}, "same shape"),
    ([np.ones(3), 2 * np.ones(3)], {}, r"hists\[1\] has total mass 6.0"),
    ([], {}, "hists is empty"),
    (5, {}, "must be a sequence of histograms"),
    ([np.ones(3)], {"positions": np.ones((4, 2))}, "positions has 4 points"),
    ([np.full(3, np.nan)], {}, r"hists\[0\]: histogram has a non-finite weight"),
    ([np.ones(3)] * 2, {"n_jobs": 0}, "n_jobs must be >= 1"),
])
def test_pairwise_rejects_bad_input(hists, kwargs, match):
    with pytest.raises(ValueError, match=match):
        emd.pairwise(hists, **kwargs)


@pytest.mark.parametrize("call,match", [
    # Shapes differ and so do the totals: the shapes are the problem, named first.
    (lambda h: emd.pairwise([h(8, 8), h(4, 8)]),
     r"hists\[1\] has shape \(4, 8\) but hists\[0\] has shape \(8, 8\)"),
    (lambda h: emd.pairwise([h(8, 8), h(8, 8), h(8, 4)], normalize=True),
     r"hists\[2\] has shape \(8, 4\) but hists\[0\] has shape \(8, 8\)"),
    (lambda h: emd.cdist([h(8, 8)], [h(8, 8), h(4, 8)]),
     r"hists_b\[1\] has shape \(4, 8\) but hists_a\[0\] has shape \(8, 8\)"),
    (lambda h: emd.pairwise([(h(5, 2), h(5)), (h(5, 3), h(5))], normalize=True),
     r"hists\[1\] has points in 3 dimensions but hists\[0\] has points in 2"),
])
def test_histograms_of_different_shapes_are_named_with_their_shapes(call, match):
    rng = np.random.default_rng(8)

    def h(*shape):
        return rng.random(shape)

    with pytest.raises(ValueError, match=match):
        call(h)


def test_a_failing_pair_is_reported_and_the_pool_shuts_down(monkeypatch):
    rng = np.random.default_rng(4)
    sets = [(rng.random((6, 2)), np.full(6, 1 / 6)) for _ in range(6)]
    original = _pairs.PointPairs.compiled

    def flaky(self, pairs):
        if [2, 4] in pairs.tolist():
            raise RuntimeError("boom")
        return original(self, pairs)

    monkeypatch.setattr(_pairs.PointPairs, "compiled", flaky)
    before = threading.active_count()
    with pytest.raises(RuntimeError, match=r"pairs \[2, 4\]..\[2, 4\]: boom"):
        emd.pairwise(sets, n_jobs=2, chunk_size=1)
    monkeypatch.setattr(_pairs.PointPairs, "compiled", original)
    assert emd.pairwise(sets, n_jobs=2).shape == (6, 6)
    # Worker threads do not pile up after a failure.
    assert threading.active_count() <= before + 2


def test_interrupt_cancels_queued_chunks(monkeypatch):
    hists = _grids(12, shape=(6, 6))
    solved = []
    original = _pairs.PairSolver.chunk

    def interrupting(self, pairs):
        solved.append(pairs)
        if len(solved) == 5:
            raise KeyboardInterrupt
        return original(self, pairs)

    monkeypatch.setattr(_pairs.PairSolver, "chunk", interrupting)
    with pytest.raises(KeyboardInterrupt):
        emd.pairwise(hists, n_jobs=2, chunk_size=1)
    assert len(solved) < 66 // 2  # most of the 66 pairs never ran


def test_pairs_stopped_by_max_iter_are_reported():
    hists = _grids(4)
    with pytest.warns(emd.SolverWarning, match=r"6 of 6 pairs stopped at max_iter=2"):
        matrix = emd.pairwise(hists, max_iter=2, n_jobs=2, chunk_size=2)
    # A stopped transshipment has no distance: NaN, never a misleading number.
    assert np.isnan(matrix[np.triu_indices(4, 1)]).all()
    rng = np.random.default_rng(5)
    sets = [(rng.random((40, 2)), np.full(40, 1 / 40)) for _ in range(3)]
    with pytest.warns(emd.SolverWarning, match="3 of 3 pairs"):
        bounds = emd.pairwise(sets, max_iter=3)
    # Stopped point-set solves return feasible plans: upper bounds.
    assert (bounds >= emd.pairwise(sets) - 1e-12).all()


def test_progress_bar_counts_pairs(capsys):
    pytest.importorskip("tqdm")
    emd.pairwise(_grids(5), n_jobs=2, chunk_size=2, progress=True)
    assert "10/10" in capsys.readouterr().err


def test_progress_bar_shows_on_one_thread_and_for_few_pairs(capsys, tmp_path):
    pytest.importorskip("tqdm")
    hists = _grids(4)
    expected = emd.pairwise(hists)
    assert emd.pairwise(hists, n_jobs=1, progress=True).tobytes() == expected.tobytes()
    assert "6/6" in capsys.readouterr().err
    emd.pairwise(hists, n_jobs=2, chunk_size=100, progress=True)  # one chunk only
    assert "6/6" in capsys.readouterr().err
    emd.pairwise(hists, n_jobs=1, progress=True, out=tmp_path / "D.npy", block_size=2)
    assert "6/6" in capsys.readouterr().err


def test_dask_local_cluster_gives_the_same_matrix():
    distributed = pytest.importorskip("distributed")
    hists = _grids(6)
    expected = emd.pairwise(hists, n_jobs=1)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        matrix = emd.pairwise(hists, client=client, chunk_size=4, progress=True)
        rect = emd.cdist(hists[:2], hists[2:], client=client)
    np.testing.assert_array_equal(matrix, expected)
    np.testing.assert_array_equal(rect, expected[:2, 2:])


def test_dask_tasks_run_the_compiled_batch_for_point_sets_and_shared_supports():
    distributed = pytest.importorskip("distributed")
    rng = np.random.default_rng(24)
    sets = [(rng.random((12, 2)), rng.random(12)) for _ in range(5)]
    positions = rng.random((20, 2))
    hists = [rng.random(20) for _ in range(5)]
    expected_sets = emd.pairwise(sets, n_jobs=1, normalize=True)
    expected_hists = emd.pairwise(hists, positions=positions, n_jobs=1, normalize=True)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        by_sets = emd.pairwise(sets, client=client, chunk_size=3, normalize=True)
        by_hists = emd.pairwise(hists, positions=positions, client=client, normalize=True)
    assert by_sets.tobytes() == expected_sets.tobytes()
    assert by_hists.tobytes() == expected_hists.tobytes()


# The compiled batch: one GIL-free call per chunk, the single solve's value bit for bit
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "cityblock", "chebyshev"])
def test_point_set_batches_equal_single_solves_bitwise(metric):
    rng = np.random.default_rng(21)
    sets = []
    for _ in range(7):
        n = int(rng.integers(3, 40))
        w = rng.random(n) * (rng.random(n) < 0.8)  # some points without mass
        w[0] += 0.1
        sets.append((rng.random((n, 3)), w))
    matrix, ok = emd.pairwise(sets, metric=metric, normalize=True, n_jobs=2, chunk_size=3,
                              return_status=True)
    assert ok.all()
    for i in range(7):
        for j in range(i + 1, 7):
            single = emd.solve_points(sets[i][0], sets[j][0], sets[i][1], sets[j][1],
                                      metric=metric, normalize=True)
            assert matrix[i, j] == single.cost
    rect = emd.cdist(sets[:3], sets[3:], metric=metric, normalize=True, n_jobs=1)
    assert rect.tobytes() == np.ascontiguousarray(matrix[:3, 3:]).tobytes()


@pytest.mark.parametrize("n_cols", range(1, 12))
def test_plane_costs_computed_several_at_a_time_are_the_scalar_distances(n_cols, simd):
    # Small plane pairs compute their costs several columns at a time; a column whose
    # squared distance underflows (a duplicate point, a tiny offset) is finished
    # alone (spans whose squares overflow are refused before any solve).  Put such columns at every position of a group.
    rng = np.random.default_rng(n_cols)
    x = rng.random((5, 2))
    y = rng.random((n_cols, 2))
    y[n_cols // 2] = x[1]                      # a duplicate: distance 0
    if n_cols > 2:
        y[-1] = x[2] + 1e-170                  # squared offset underflows
    if n_cols > 5:
        y[3] = x[0] + [3e-161, -1e-160]        # subnormal squared offset
    a = rng.integers(1, 9, size=5).astype(float)
    b = rng.integers(1, 9, size=n_cols).astype(float)
    b[-1] += a.sum() - b.sum() if a.sum() > b.sum() else 0.0
    a[-1] += b.sum() - a.sum() if b.sum() > a.sum() else 0.0
    dx = x[:, None, 0] - y[None, :, 0]
    dy = x[:, None, 1] - y[None, :, 1]
    squared = (0.0 + dx * dx) + dy * dy
    in_range = (squared >= 2.0**-960) & np.isfinite(squared)
    cost = np.where(in_range, np.sqrt(np.where(in_range, squared, 0.0)), np.hypot(dx, dy))
    exact = float(exact_float_cost(a, b, cost))
    single = emd.solve_points(x, y, a, b)
    assert single.cost == pytest.approx(exact, rel=1e-12, abs=0.0)
    sets = [(x, a), (y, b), (x[::-1].copy(), a[::-1].copy())]
    matrix = emd.pairwise(sets)
    assert matrix[0, 1] == single.cost


def test_shared_support_batches_equal_single_solves_and_match_pot():
    rng = np.random.default_rng(22)
    positions = rng.random((40, 2))
    hists = [rng.random(40) * (rng.random(40) < 0.7) + 1e-3 * (k % 2) for k in range(8)]
    cost = metric_cost(positions, positions, "euclidean")
    by_positions = emd.pairwise(hists, positions=positions, normalize=True, n_jobs=2,
                                chunk_size=5)
    by_cost, ok = emd.pairwise(hists, cost=cost, normalize=True, n_jobs=1, return_status=True)
    assert by_positions.tobytes() == by_cost.tobytes()
    assert ok.all()
    norm = [h / h.sum() for h in hists]
    for i in range(8):
        for j in range(i + 1, 8):
            assert by_cost[i, j] == emd.solve(hists[i], hists[j], cost, normalize=True).cost
            assert by_cost[i, j] == pytest.approx(pot_cost(norm[i], norm[j], cost), rel=1e-9)


def test_a_user_ground_cost_needs_no_positions():
    cost = np.array([[0.0, 2.0, 5.0], [2.0, 0.0, 1.0], [5.0, 1.0, 0.0]])
    hists = [np.eye(3)[k] for k in range(3)]
    matrix = emd.pairwise(hists, cost=cost)
    np.testing.assert_array_equal(matrix, cost)  # unit masses move along one arc
    with pytest.raises(ValueError, match="cost has shape"):
        emd.pairwise(hists, cost=np.ones((2, 2)))
    with pytest.raises(ValueError, match="not both"):
        emd.pairwise(hists, cost=cost, positions=np.ones((3, 2)))


def test_return_status_marks_stopped_pairs():
    rng = np.random.default_rng(23)
    sets = [(rng.random((40, 2)), np.full(40, 1 / 40)) for _ in range(3)]
    with pytest.warns(emd.SolverWarning, match=r"3 of 3 pairs.*\(0, 1\), \(0, 2\), \(1, 2\)"):
        values, ok = emd.pairwise(sets, max_iter=3, return_status=True)
    assert not ok[np.triu_indices(3, 1)].any() and ok.diagonal().all()
    assert np.isfinite(values).all()
    with pytest.raises(ValueError, match="not to out="):
        emd.pairwise(sets, out="x.npy", return_status=True)


def _multiscale(rng, n):
    x = rng.random((n, 2)) * 10.0 ** rng.integers(-6, 7, size=(n, 1))
    y = rng.random((n, 2)) * 10.0 ** rng.integers(-6, 7, size=(n, 1))
    return metric_cost(x, y, "euclidean")


@pytest.mark.parametrize("seed", range(4))
def test_point_set_statuses_are_those_of_the_full_certificates(seed):
    rng = np.random.default_rng(40 + seed)
    sets = []
    for _ in range(5):
        n = int(rng.integers(2, 25))
        scale = 10.0 ** rng.integers(-6, 7, size=(n, 1)) if seed % 2 else 1.0
        sets.append((rng.random((n, 2)) * scale, rng.random(n) * (rng.random(n) < 0.8) + 1e-12))
    matrix, ok = emd.pairwise(sets, normalize=True, return_status=True, n_jobs=2, chunk_size=2)
    for i in range(5):
        for j in range(i + 1, 5):
            single = emd.solve_points(sets[i][0], sets[j][0], sets[i][1], sets[j][1],
                                      normalize=True)
            assert matrix[i, j] == single.cost
            assert ok[i, j] == (single.status == "optimal") == single.certificate().optimal()


@pytest.mark.parametrize("seed", range(6))
def test_the_compiled_check_never_certifies_what_the_certificate_rejects(seed):
    from emd._core._pair import PairWorkspace

    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 30))
    cost = (_multiscale(rng, n), rng.random((n, n)) ** 3, block_costs(seed, n))[seed % 3]
    cost = np.ascontiguousarray(cost)
    hists = rng.random((6, n)) * (rng.random((6, n)) < 0.8)
    hists[:, 0] += 1e-9 if seed % 3 == 0 else 0.2
    hists /= hists.sum(axis=1, keepdims=True)
    one = np.zeros((1, 2), dtype=np.intp)
    ws = PairWorkspace()
    certified = 0
    for i in range(6):
        for j in range(6):
            if i == j:
                continue
            a, b = emd._certify.balance_exactly(hists[i], hists[j])
            cert = emd.solve(a, b, cost).certificate()
            for rtol in (COMPILED_RTOL, 1e-15):
                value, code = ws.batch_dense(cost, a[None, :], b[None, :], one, 1.0, 10**6, rtol)
                if code[0]:
                    certified += 1
                    assert value[0] == cert.cost
                    assert cert.optimal(rtol=2 * rtol)
    # The check is not vacuous: it settles most of these pairs itself.
    assert certified >= 30


@pytest.mark.parametrize("kind", ["uniform", "multiscale", "integers", "scaled"])
def test_the_compiled_exact_balancing_is_balance_exactly(kind):
    from emd._core._certify import balance_weights as _balance_exactly

    from emd._certify import exact_balance as balance_exactly

    rng = np.random.default_rng(31)
    changed = declined = 0
    for _ in range(300):
        n, m = (int(k) for k in rng.integers(1, 60, size=2))
        a, b = rng.random(n), rng.random(m)
        if kind == "multiscale":
            a *= 10.0 ** rng.integers(-8, 8, n)
            b *= 10.0 ** rng.integers(-8, 8, m)
        elif kind == "integers":
            a, b = rng.integers(1, 5, n).astype(float), rng.integers(1, 5, m).astype(float)
        a[rng.random(n) < 0.2] = 0
        b[rng.random(m) < 0.2] = 0
        a[0] += 0.5
        b[0] += 0.5
        a, b = a / a.sum(), b / b.sum()
        if kind == "scaled":
            a, b = a * 3.0, b * 3.0
        expected = balance_exactly(a, b)
        # Balanced exactly, always (the Python one's fallback spreads what no single
        # entry holds over entries of several sizes).
        assert math.fsum(np.concatenate([expected[0], -expected[1]])) == 0.0
        got = _balance_exactly(a, b)
        changed += expected[0] is not a
        if got is None:
            # The compiled one declines what no single entry holds: a batch then hands
            # the pair to the single solve, so that both still see the same weights.
            declined += 1
            continue
        assert got[0].tobytes() == expected[0].tobytes()
        assert got[1].tobytes() == expected[1].tobytes()
        # Weights that balance already come back as themselves, as from the Python one.
        assert (got[0] is a) == (expected[0] is a) and (got[1] is b) == (expected[1] is b)
    assert changed > 200 or kind == "integers"
    assert declined <= 15
    # Masses over too many binades for 128-bit integers: left to the Python one.
    assert _balance_exactly(np.array([1.0, 1e-30]), np.array([1.0, 1e-30 + 1e-45])) is None


def test_small_pairs_go_to_threads_in_bigger_chunks():
    # Tasks of tiny pairs would spend their time in the GIL-bound glue.
    assert _planner.default_chunk(10**6, 2, _planner.CHUNK_CELLS) == _planner.DEFAULT_CHUNK
    assert _planner.default_chunk(10**6, 2, 4 * _planner.CHUNK_CELLS) == _planner.DEFAULT_CHUNK // 4
    assert _planner.default_chunk(10, 2, 80 * 128 * 128) == 1  # big grids
    assert _planner.default_chunk(10**6, 2, 64 * 64) == 16 * _planner.DEFAULT_CHUNK
    assert _planner.default_chunk(10**6, 2, 1) == _planner.MAX_CHUNK
    assert _planner.default_chunk(100, 2, 1) == 12  # still four tasks per thread
    assert _planner.default_chunk(10, 2, 1) == 1
    rng = np.random.default_rng(3)
    sets = [(rng.random((30, 2)), np.full(30, 1 / 30)) for _ in range(4)]
    assert _pairs.build(sets, sets, metric="euclidean", positions=None, grid=None,
                        points=True, spacing=None, L=None, max_iter=None, cost=None,
                        mass=1.0, warm_start=False).pair_cells == 900


def test_thread_tasks_shrink_toward_the_end_and_cover_every_pair_once():
    chunks = batch._guided_chunks(1770, 46, 2)
    sizes = [c.stop - c.start for c in chunks]
    assert chunks[0].start == 0 and chunks[-1].stop == 1770
    assert all(a.stop == b.start for a, b in itertools.pairwise(chunks))
    assert sizes[0] == 46 and sizes[-1] == 1 and max(sizes) == 46
    assert sizes == sorted(sizes, reverse=True)
    assert batch._guided_chunks(0, 16, 2) == []
