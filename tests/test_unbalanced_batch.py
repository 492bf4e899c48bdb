"""emd.pairwise and emd.cdist with partial= / unbalanced= on the batch machinery: every
entry the single solve of its pair bit for bit (threads, Dask, out= and resume=), the
values checked against HiGHS on the LP written without dummies."""

import itertools
from pathlib import Path

import numpy as np
import pytest
from oracles import highs_partial_cost, highs_unbalanced_cost
from scipy.spatial.distance import cdist as scipy_cdist

import emd
from emd.batch import ResumeError


def _forms(rng):
    """(name, items, pairwise options, single solve of items i and j) for every form."""
    support = rng.random((7, 2))
    cost = scipy_cdist(support, support)
    weights = [rng.random(7) * (1 + k) for k in range(5)]
    clouds = [(rng.random((5 + k, 2)), rng.random(5 + k) * (1 + 0.3 * k)) for k in range(5)]
    grids = [rng.random((4, 5)) * (1 + 0.4 * k) for k in range(5)]
    lines = [rng.random(9) * (1 + 0.5 * k) for k in range(5)]
    line_points = np.arange(9.0).reshape(-1, 1)
    return [
        ("cost", weights, {"cost": cost},
         lambda p, q, kw: emd.solve(p, q, cost, **kw)),
        ("positions", weights, {"positions": support},
         lambda p, q, kw: emd.solve_points(support, support, p, q, **kw)),
        ("points", clouds, {},
         lambda p, q, kw: emd.solve_points(p[0], q[0], p[1], q[1], **kw)),
        ("grid", grids, {"grid": True},
         lambda p, q, kw: emd.solve_grid(p, q, **kw)),
        ("line", lines, {},
         lambda p, q, kw: (emd.solve_grid(p, q, **kw) if "unbalanced" in kw else
                           emd.solve_points(line_points, line_points, p, q,
                                            metric="cityblock", **kw))),
    ]


def _keyword(kind, items):
    if kind == "unbalanced":
        return {"unbalanced": 0.35}
    totals = [float(np.sum(item[1] if isinstance(item, tuple) else item)) for item in items]
    return {"partial": 0.6 * min(totals)}


@pytest.mark.parametrize("kind", ["unbalanced", "partial"])
def test_every_form_is_its_single_solve_bit_for_bit_on_threads(kind):
    rng = np.random.default_rng(3)
    for name, items, options, single in _forms(rng):
        keyword = _keyword(kind, items)
        serial, proven = emd.pairwise(items, n_jobs=1, return_status=True, **options,
                                      **keyword)
        threaded = emd.pairwise(items, n_jobs=2, chunk_size=1, **options, **keyword)
        assert proven.all(), name
        assert threaded.tobytes() == serial.tobytes(), name
        assert (np.diag(serial) == 0).all()
        for i, j in itertools.combinations(range(len(items)), 2):
            expected = single(items[i], items[j], keyword).cost
            assert serial[i, j] == serial[j, i] == expected, (name, i, j)
        table = emd.cdist(items[:2], items[1:], n_jobs=2, chunk_size=1, **options, **keyword)
        for i, j in itertools.product(range(2), range(len(items) - 1)):
            assert table[i, j] == single(items[i], items[1 + j], keyword).cost, (name, i, j)


def test_entries_agree_with_highs():
    rng = np.random.default_rng(4)
    support = rng.random((6, 2))
    cost = scipy_cdist(support, support)
    weights = [rng.random(6) * (1 + k) for k in range(4)]
    matrix = emd.pairwise(weights, positions=support, unbalanced=0.2, n_jobs=2, chunk_size=1)
    part = emd.cdist(weights[:2], weights, cost=cost, partial=0.5, n_jobs=2, chunk_size=1)
    for i, j in itertools.combinations(range(4), 2):
        reference = highs_unbalanced_cost(weights[i], weights[j], cost, 0.2)
        assert matrix[i, j] == pytest.approx(reference, rel=1e-8, abs=1e-10)
    for i, j in itertools.product(range(2), range(4)):
        reference = highs_partial_cost(weights[i], weights[j], cost, 0.5)
        assert part[i, j] == pytest.approx(reference, rel=1e-8, abs=1e-10)


def test_out_and_resume_give_the_in_memory_matrix(tmp_path, interrupt_at_chunk):
    rng = np.random.default_rng(5)
    grids = [rng.random((3, 4)) * (1 + 0.2 * k) for k in range(12)]
    expected = emd.pairwise(grids, grid=True, unbalanced=0.5, n_jobs=1)
    path = tmp_path / "D.npy"
    interrupt_at_chunk(3)
    with pytest.raises(KeyboardInterrupt):
        emd.pairwise(grids, grid=True, unbalanced=0.5, out=path, block_size=4, n_jobs=1)
    interrupt_at_chunk(None)
    assert len(Path(str(path) + ".progress").read_text().splitlines()) == 1 + 2
    # Another price is another problem: its record is not this one's.
    with pytest.raises(ResumeError):
        emd.pairwise(grids, grid=True, unbalanced=0.6, out=path, block_size=4, resume=True)
    with pytest.raises(ResumeError):
        emd.pairwise(grids, grid=True, out=path, block_size=4, resume=True, normalize=True)
    resumed = emd.pairwise(grids, grid=True, unbalanced=0.5, out=path, block_size=4,
                           n_jobs=2, resume=True)
    assert np.asarray(resumed).tobytes() == expected.tobytes()
    rect = emd.cdist(grids[:5], grids, grid=True, unbalanced=0.5, out=tmp_path / "C.npy",
                     block_size=2, n_jobs=2)
    # cdist solves (i, j) for every entry; pairwise solves i < j and mirrors it.
    for i, j in itertools.product(range(5), range(12)):
        assert rect[i, j] == emd.solve_grid(grids[i], grids[j], unbalanced=0.5).cost


def test_dask_gives_the_same_matrix():
    distributed = pytest.importorskip("distributed")
    rng = np.random.default_rng(6)
    clouds = [(rng.random((6, 2)), rng.random(6) * (1 + k)) for k in range(5)]
    expected = emd.pairwise(clouds, partial=0.4, n_jobs=1)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        matrix = emd.pairwise(clouds, partial=0.4, client=client, chunk_size=2)
        rect = emd.cdist(clouds[:2], clouds, unbalanced=0.3, client=client)
    assert matrix.tobytes() == expected.tobytes()
    assert rect.tobytes() == emd.cdist(clouds[:2], clouds, unbalanced=0.3, n_jobs=1).tobytes()


def test_refusals_name_the_problem():
    rng = np.random.default_rng(7)
    grids = [rng.random((3, 3)), rng.random((3, 4))]
    with pytest.raises(ValueError, match=r"hists\[1\] has shape"):
        emd.pairwise(grids, unbalanced=1.0)
    with pytest.raises(ValueError, match="warm_start"):
        emd.pairwise([rng.random((3, 3))] * 2, unbalanced=1.0, warm_start=True)
    with pytest.raises(ValueError, match="normalize=True"):
        emd.pairwise([rng.random((3, 3))] * 2, unbalanced=1.0, normalize=True)
    with pytest.raises(ValueError, match="resume=True needs out="):
        emd.pairwise([rng.random((3, 3))] * 2, unbalanced=1.0, resume=True)


def test_shared_positions_above_the_dense_size_form_no_matrix(monkeypatch):
    """Above DENSE_POINT_PAIRS a shared support is solved as the single solve solves it,
    with the costs on the fly: no support x support matrix, and each entry the single
    solve's bits."""
    from emd import unbalanced

    monkeypatch.setattr(unbalanced, "DENSE_POINT_PAIRS", 30 * 30)
    monkeypatch.setattr(unbalanced, "point_costs", None)  # a matrix would fail loudly
    rng = np.random.default_rng(5)
    support = rng.random((40, 2))
    hists = [rng.random(40) * (1.0 + 0.2 * k) for k in range(3)]
    matrix = emd.pairwise(hists, positions=support, partial=0.5)
    for i, j in itertools.combinations(range(3), 2):
        single = emd.solve_points(support, support, hists[i], hists[j], partial=0.5)
        assert matrix[i, j] == single.cost == matrix[j, i]
        assert single.status == "optimal"
