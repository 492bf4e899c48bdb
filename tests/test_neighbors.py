"""emd.knn: the brute-force answer (indices and bits), with fewer exact solves."""

from __future__ import annotations

import numpy as np
import pytest
from oracles import pot_cost

import emd
from emd import _pairs, neighbors


def brute_force(matrix: np.ndarray, k: int):
    """The k smallest entries of each row, ties broken by the smaller column."""
    columns = np.broadcast_to(np.arange(matrix.shape[1]), matrix.shape)
    order = np.lexsort((columns, matrix), axis=1)[:, :k]
    return order, np.take_along_axis(matrix, order, axis=1)


def _check(queries, database, k, **kwargs):
    result = emd.knn(queries, database, k=k, **kwargs)
    if database is None:
        matrix = emd.pairwise(queries, n_jobs=1, **kwargs)
        np.fill_diagonal(matrix, np.inf)
    else:
        matrix = emd.cdist(queries, database, n_jobs=1, **kwargs)
    indices, distances = brute_force(matrix, k)
    np.testing.assert_array_equal(result.indices, indices)
    assert result.distances.tobytes() == distances.tobytes()
    assert result.n_pairs == matrix.size - (len(queries) if database is None else 0)
    assert k * len(queries) <= result.n_solves <= result.n_pairs
    assert not result.uncertified
    return result


def _grids(rng, n, shape, sparse=0.5):
    hists = rng.random((n, *shape)) * (rng.random((n, *shape)) < sparse)
    hists[:, 0, 0] += 1e-3
    return hists / hists.sum(axis=tuple(range(1, hists.ndim)), keepdims=True)


def _blobs(rng, n, positions, width):
    centres = rng.random((n, positions.shape[1]))
    hists = np.exp(-((positions[None] - centres[:, None]) ** 2).sum(axis=2) / width)
    return hists / hists.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("metric", ["cityblock", "chebyshev", "euclidean"])
def test_grids_equal_brute_force(metric):
    for seed in range(12):
        rng = np.random.default_rng(seed)
        shape = [(6, 6), (5, 7), (4, 4, 3)][seed % 3]
        if metric == "euclidean" and len(shape) == 3:
            shape = (7, 5)
        database = _grids(rng, 30, shape, sparse=rng.uniform(0.2, 0.9))
        queries = _grids(rng, 4, shape)
        _check(queries, database, k=int(rng.integers(1, 6)), metric=metric)


def test_large_grids_use_the_coarse_bound_and_equal_brute_force():
    rng = np.random.default_rng(40)
    for metric in ("cityblock", "chebyshev", "euclidean"):
        yy, xx = np.mgrid[:16, :17]
        centres = rng.random((14, 2)) * 16
        database = np.exp(-((yy - centres[:, :1, None]) ** 2 + (xx - centres[:, 1:, None]) ** 2)
                          / 6.0)
        database /= database.sum(axis=(1, 2), keepdims=True)
        result = _check(database[:3], database[3:], k=3, metric=metric)
        assert result.n_bound_solves > 0


@pytest.mark.parametrize("metric", ["euclidean", "cityblock", "chebyshev", "sqeuclidean"])
def test_shared_support_equals_brute_force(metric):
    for seed in range(10):
        rng = np.random.default_rng(100 + seed)
        dim = 2 if seed % 2 else 3
        positions = rng.random((int(rng.integers(5, 40)), dim))
        database = _blobs(rng, 40, positions, width=float(rng.choice([0.02, 0.2, 2.0])))
        if seed % 3 == 0:  # sparse weights: the relaxed bound is no longer zero
            database = database * (rng.random(database.shape) < 0.4)
            database[:, 0] += 1e-2
            database /= database.sum(axis=1, keepdims=True)
        queries = _blobs(rng, 3, positions, width=0.05)
        _check(queries, database, k=int(rng.integers(1, 8)), positions=positions,
               metric=metric)


def test_points_on_a_line_equal_brute_force():
    for seed in range(8):
        rng = np.random.default_rng(200 + seed)
        positions = rng.random(int(rng.integers(3, 30)))
        database = _blobs(rng, 25, positions[:, None], width=0.05)
        _check(database[:4], database, k=3, positions=positions)


@pytest.mark.parametrize("metric", ["euclidean", "cityblock", "chebyshev", "sqeuclidean"])
def test_own_point_sets_equal_brute_force(metric):
    for seed in range(8):
        rng = np.random.default_rng(300 + seed)
        dim = 1 + seed % 3

        def cloud(rng=rng, dim=dim):
            n = int(rng.integers(2, 12))
            centre = rng.random(dim)
            return centre + 0.1 * rng.standard_normal((n, dim)), rng.random(n) + 0.01

        database = [cloud() for _ in range(20)]
        queries = [cloud() for _ in range(3)]
        _check(queries, database, k=4, metric=metric, normalize=True)


def test_one_collection_searches_the_others_and_matches_pairwise_bits():
    rng = np.random.default_rng(7)
    for shape in ((6, 6), (9,)):
        hists = _grids(rng, 25, shape) if len(shape) == 2 else rng.random((25, 9)) + 1e-3
        hists = hists / hists.sum(axis=tuple(range(1, hists.ndim)), keepdims=True)
        result = _check(hists, None, k=4)
        assert not (result.indices == np.arange(25)[:, None]).any()


def test_ties_are_broken_by_index():
    rng = np.random.default_rng(8)
    base = _grids(rng, 6, (5, 5))
    # Each histogram three times: equal distances, the smaller index first.
    database = np.concatenate([base, base, base])
    result = _check(base[:2], database, k=7)
    assert result.indices[0, :3].tolist() == [0, 6, 12]
    shifted = np.roll(base[:1], 1, axis=2)
    _check(shifted, database, k=18)  # every candidate, in order


def test_distances_agree_with_pot():
    rng = np.random.default_rng(9)
    positions = rng.random((20, 2))
    database = _blobs(rng, 15, positions, 0.05)
    result = emd.knn(database[:2], database, k=3, positions=positions)
    cost = np.sqrt(((positions[:, None] - positions[None]) ** 2).sum(axis=2))
    for q in range(2):
        for j, d in zip(result.indices[q], result.distances[q], strict=True):
            assert d == pytest.approx(pot_cost(database[q], database[j], cost), rel=1e-9, abs=1e-12)


def test_every_bound_is_below_the_exact_distance():
    rng = np.random.default_rng(10)
    yy, xx = np.mgrid[:16, :16]
    hists = _grids(rng, 12, (16, 16), sparse=0.3)
    for metric in ("cityblock", "chebyshev", "euclidean"):
        solver = _pairs.build(list(hists), list(hists), metric=metric, positions=None, grid=False,
                              points=False, spacing=0.5, L=None, max_iter=None)
        coords = 0.5 * np.stack([yy.ravel(), xx.ravel()], axis=1).astype(float)
        bounds = neighbors._SharedBounds(solver, coords, metric, solver.right, 1.0, (16, 16))
        exact = emd.pairwise(list(hists), metric=metric, spacing=0.5)
        for q in range(4):
            first = bounds.initial(solver.left[q])
            assert (first <= exact[q]).all()
            for j in range(12):
                assert bounds.refine(solver.left[q], j)[0] <= exact[q, j]
                coarse = bounds.coarse.bound(solver.left[q], j)
                assert coarse <= exact[q, j]


def test_threads_and_dask_give_the_same_answer():
    distributed = pytest.importorskip("distributed")
    rng = np.random.default_rng(11)
    database = _grids(rng, 40, (6, 6))
    serial = emd.knn(database[:6], database, k=3, n_jobs=1)
    threaded = emd.knn(database[:6], database, k=3, n_jobs=2)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        remote = emd.knn(database[:6], database, k=3, client=client)
    for other in (threaded, remote):
        np.testing.assert_array_equal(other.indices, serial.indices)
        assert other.distances.tobytes() == serial.distances.tobytes()
        assert other.n_solves == serial.n_solves


def test_uncertified_solves_are_reported_not_ranked():
    rng = np.random.default_rng(12)
    database = _grids(rng, 10, (8, 8))
    with pytest.warns(emd.SolverWarning, match="could not be certified optimal"):
        result = emd.knn(database[:2], database, k=2, max_iter=1)
    assert result.uncertified
    ranked = {(q, int(j)) for q in range(2) for j in result.indices[q] if j >= 0}
    assert not ranked & {(q, j) for q, j, _, _ in result.uncertified}
    # What was ranked holds certified distances only (here: each query to itself).
    assert result.distances[result.indices >= 0].tolist() == [0.0] * len(ranked)


@pytest.mark.parametrize("args,kwargs,error,match", [
    (([np.ones(3)], [np.ones(3)]), {"k": 2}, ValueError, "k=2 but there are only 1 candidates"),
    (([np.ones(3)] * 2,), {"k": 2}, ValueError, "only 1 candidates"),
    (([np.ones(3)], [np.ones(3)]), {"k": 0}, ValueError, "k must be >= 1"),
    (([np.ones(3)], [np.ones(3)]), {"k": 1.5}, TypeError, "k must be an integer"),
    (([np.ones(3)], [np.full(4, 0.75)]), {}, ValueError, "same shape"),
    (([np.ones(3)], [2 * np.ones(3)]), {}, ValueError,
     r"queries\[0\] has total mass 3.0 but database\[0\] has 6.0"),
    (([-np.ones(3)], [np.ones(3)]), {}, ValueError, r"queries\[0\]: histogram has a negative"),
])
def test_knn_rejects_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        emd.knn(*args, **kwargs)


# --------------------------------------------------------------------------- one query


@pytest.mark.parametrize("form", ["grid", "positions", "points"])
def test_one_query_of_the_database_form_is_one_query(form):
    rng = np.random.default_rng(21)
    if form == "grid":
        database = [rng.random((8, 8)) for _ in range(12)]
        database = [h / h.sum() for h in database]
        query, kwargs = database[0] * 0.5 + database[5] * 0.5, {}
    elif form == "positions":
        positions = rng.random((16, 2))
        database = [w / w.sum() for w in rng.random((12, 16))]
        query, kwargs = 0.5 * database[3] + 0.5 * database[7], {"positions": positions}
    else:
        database = [(rng.random((6, 2)), np.full(6, 1 / 6)) for _ in range(12)]
        query, kwargs = (rng.random((6, 2)), np.full(6, 1 / 6)), {}
    one = emd.knn(query, database, k=3, **kwargs)
    listed = emd.knn([query], database, k=3, **kwargs)
    assert one.indices.shape == (1, 3)
    np.testing.assert_array_equal(one.indices, listed.indices)
    np.testing.assert_array_equal(one.distances, listed.distances)
    # The same row as brute force over cdist, bit for bit.
    row = emd.cdist([query], database, **kwargs)[0]
    order = np.lexsort((np.arange(row.size), row))[:3]
    np.testing.assert_array_equal(one.indices[0], order)
    np.testing.assert_array_equal(one.distances[0], row[order])


def test_a_query_of_another_shape_is_refused_with_the_shape_expected():
    rng = np.random.default_rng(22)
    database = [rng.random((8, 8)) for _ in range(4)]
    with pytest.raises(ValueError, match=r"queries\[0\] has shape \(8,\) but database\[0\] has "
                       r"shape \(8, 8\).*one query is one array of that shape"):
        emd.knn(rng.random((4, 8)), database, k=1, normalize=True)
