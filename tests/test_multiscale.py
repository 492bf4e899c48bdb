"""The multiscale start of large point clouds (emd._multiscale): points listed along a
space-filling curve, the tree started from a plan spread from a coarsened problem.

The path is taken from _planner.MULTISCALE_CELLS pairs on (millions); the tests lower that
threshold (and the k-d tree one before it) so that problems small enough for the
independent solvers take it, and check the answers, the potentials (which the path
permutes and must map back), the certificate, and that any start, even a bad one,
only changes the pivot path.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from oracles import highs_cost, metric_cost, pot_cost, random_weights

import emd
from emd import _engine, _multiscale, _planner


@contextlib.contextmanager
def recording(name: str):
    """What every call of ``emd._multiscale.<name>`` returns inside the block, in order."""
    results = []
    original = getattr(_multiscale, name)

    def recorded(*args, **kwargs):
        results.append(original(*args, **kwargs))
        return results[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_multiscale, name, recorded)
        yield results


def take_the_coarse_path(monkeypatch):
    """Lower the thresholds so that small point problems take the multiscale path."""
    monkeypatch.setattr(_planner, "BRUTE_FORCE_CELLS", 0)
    monkeypatch.setattr(_planner, "MULTISCALE_CELLS", 0)
    monkeypatch.setattr(_multiscale, "POINTS_PER_CELL", 4)


@pytest.fixture
def spy(monkeypatch):
    """Lower the thresholds so small problems take the path; count coarse plans made."""
    take_the_coarse_path(monkeypatch)
    calls = []
    original = _multiscale.spread

    def counted(*args, **kwargs):
        plan = original(*args, **kwargs)
        calls.append(plan)
        return plan

    monkeypatch.setattr(_multiscale, "spread", counted)
    return calls


def check_solution(result, x, y, a, b, metric="euclidean", p=None, rtol=1e-9):
    """Cost against POT and HiGHS, marginals, and the potentials on every pair."""
    cost = metric_cost(x, y, metric, p)
    expected = pot_cost(a, b, cost)
    assert result.status == "optimal"
    assert result.cost == pytest.approx(expected, rel=rtol, abs=1e-15)
    assert result.cost == pytest.approx(highs_cost(a, b, cost), rel=1e-7, abs=1e-12)
    plan = result.plan.toarray()
    assert np.all(plan >= 0)
    np.testing.assert_allclose(plan.sum(axis=1), a, atol=1e-12)
    np.testing.assert_allclose(plan.sum(axis=0), b, atol=1e-12)
    assert float((plan * cost).sum()) == pytest.approx(expected, rel=rtol, abs=1e-15)
    # The potentials belong to their own points: dual feasible on every pair and
    # tight on the plan (a permutation left unmapped would break both).
    slack = cost - result.u[:, None] - result.v[None, :]
    scale = 1e-9 * max(1.0, float(np.abs(cost).max()))
    assert slack.min() >= -scale
    assert np.all(np.abs(slack[plan > 0]) <= scale)
    cert = result.certificate()
    assert cert.optimal()
    assert cert.bound <= 1e-9 * max(abs(result.cost), 1e-300) + 1e-15


def clouds(rng, n, m, d=2):
    return rng.random((n, d)), rng.random((m, d))


def test_uniform_clouds_take_the_path_and_match_the_peers(spy):
    rng = np.random.default_rng(0)
    x, y = clouds(rng, 300, 260)
    a, b = random_weights(rng, 300), random_weights(rng, 260)
    result = emd.solve_points(x, y, a, b)
    assert spy and spy[-1] is not None and spy[-1][0].size > 0
    check_solution(result, x, y, a, b)


def test_threads_give_the_same_answer_on_the_path(spy):
    rng = np.random.default_rng(1)
    x, y = clouds(rng, 400, 400)
    a, b = random_weights(rng, 400), random_weights(rng, 400)
    one = emd.solve_points(x, y, a, b, n_jobs=1)
    two = emd.solve_points(x, y, a, b, n_jobs=2)
    assert one.cost == two.cost
    check_solution(two, x, y, a, b)


def test_clustered_duplicated_and_zero_mass_points(spy):
    rng = np.random.default_rng(2)
    centres = rng.random((5, 2)) * 10
    x = centres[rng.integers(0, 5, 250)] + 0.01 * rng.standard_normal((250, 2))
    y = centres[rng.integers(0, 5, 240)] + 0.01 * rng.standard_normal((240, 2))
    x[100:140] = x[0]          # many copies of one point
    y[50:60] = x[0]            # ... also on the other side: zero-cost pairs
    y[200:230] = y[199]
    a, b = random_weights(rng, 250, zeros=30), random_weights(rng, 240, zeros=25)
    result = emd.solve_points(x, y, a, b)
    assert spy and spy[-1] is not None
    check_solution(result, x, y, a, b)


def test_all_points_in_one_place(spy):
    rng = np.random.default_rng(3)
    x, y = np.ones((120, 2)), np.ones((90, 2))
    a, b = random_weights(rng, 120), random_weights(rng, 90)
    result = emd.solve_points(x, y, a, b)
    assert result.status == "optimal"
    assert result.cost == 0.0


@pytest.mark.parametrize(
    "metric, p", [("euclidean", None), ("sqeuclidean", None), ("cityblock", None),
                  ("chebyshev", None), ("minkowski", 3.0)]
)
def test_three_dimensions_and_other_metrics(spy, metric, p):
    rng = np.random.default_rng(4)
    x, y = clouds(rng, 260, 230, d=3)
    a, b = random_weights(rng, 260), random_weights(rng, 230)
    result = emd.solve_points(x, y, a, b, metric=metric, p=p)
    assert spy and spy[-1] is not None
    check_solution(result, x, y, a, b, metric, p)


def test_more_dimensions_than_the_grid_keep_the_plain_path(spy):
    rng = np.random.default_rng(5)
    x, y = clouds(rng, 150, 150, d=5)
    a, b = random_weights(rng, 150), random_weights(rng, 150)
    result = emd.solve_points(x, y, a, b)
    assert not spy
    check_solution(result, x, y, a, b)


@pytest.mark.parametrize("kind", ["random", "reversed", "empty", "cycles"])
def test_any_start_only_changes_the_pivot_path(monkeypatch, kind):
    """A plan that is not feasible, closes cycles or points the wrong way still starts
    a valid tree: the solve ends on its own exact phase."""
    monkeypatch.setattr(_planner, "BRUTE_FORCE_CELLS", 0)
    monkeypatch.setattr(_planner, "MULTISCALE_CELLS", 0)
    rng = np.random.default_rng(6)
    x, y = clouds(rng, 200, 180)
    a, b = random_weights(rng, 200), random_weights(rng, 180)

    def bad_plan(xs, ys, aa, bb, *args, **kwargs):
        n, m = len(aa), len(bb)
        if kind == "empty":
            rows, cols = np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
        elif kind == "random":
            rows, cols = rng.integers(0, n, 3 * n), rng.integers(0, m, 3 * n)
        elif kind == "reversed":
            # The support of the north-west corner plan of the reversed columns.
            rows, cols, _ = _engine._north_west_corner(aa.copy(), bb[::-1].copy())
            cols = m - 1 - cols
        else:
            every = np.arange(n * m)
            rows, cols = every // m, every % m  # every pair: cycles everywhere
        return _multiscale.Start(rows, cols, xs[::-1].copy(), ys)

    monkeypatch.setattr(_multiscale, "spread", bad_plan)
    check_solution(emd.solve_points(x, y, a, b), x, y, a, b)


@pytest.mark.parametrize("n, m", [(1200, 1100), (20000, 20000)])
def test_the_start_plan_is_a_forest_covering_every_point(n, m):
    """The spread plan itself (before the fine solve): every point with mass is on it,
    and its support is a forest (no rounding slivers join groups the coarse plan does
    not join: at 20 000 points the running sums' rounding exceeds the piece tolerance)."""
    import scipy.sparse
    from scipy.sparse.csgraph import connected_components

    rng = np.random.default_rng(1)  # the benchmark's clouds at n = m = 20 000
    x, y = clouds(rng, n, m)
    a, b = rng.random(n), rng.random(m)
    a, b = a / a.sum(), b / b.sum()
    coarse = _multiscale.coarsen(x, y, a, b)
    plan = _engine.solve_bipartite(
        coarse.a, coarse.b, _engine.PointCosts(coarse.x, coarse.y, "euclidean", 2.0), 10**7
    )
    assert plan.n_iter > 0 and plan.status == "optimal"
    start = _multiscale.spread(x, y, a, b, coarse, plan.rows, plan.cols, plan.flows)
    rows, cols, x_moved, y_moved = start.rows, start.cols, start.x_moved, start.y_moved
    assert np.unique(rows).size == n and np.unique(cols).size == m
    graph = scipy.sparse.coo_array(
        (np.ones(rows.size), (rows, n + cols)), shape=(n + m, n + m)
    )
    n_parts, _ = connected_components(graph, directed=False)
    assert rows.size == n + m - n_parts  # acyclic, and so no pair twice
    # Uniform clouds: the coarse plan does not split cells, and moves points by less
    # than a few cells.
    assert start.x_owner is None and start.y_owner is None
    assert x_moved.shape == x.shape and y_moved.shape == y.shape
    assert np.abs(x_moved - x).max() < 0.5 and np.abs(y_moved - y).max() < 0.5


def test_spatial_order_is_a_permutation_along_the_curve():
    rng = np.random.default_rng(8)
    pts = rng.random((500, 2))
    order = _multiscale.spatial_order(pts)
    assert np.array_equal(np.sort(order), np.arange(500))
    # Successive points along the curve are much closer than random pairs.
    step = np.linalg.norm(np.diff(pts[order], axis=0), axis=1).mean()
    assert step < 0.25 * np.linalg.norm(np.diff(pts, axis=0), axis=1).mean()
    assert np.array_equal(_multiscale.spatial_order(np.zeros((4, 3))), np.arange(4))


@pytest.mark.parametrize("budget", [1, 5, 200, 1000])
def test_the_pivot_budget_covers_the_coarse_solve(spy, budget):
    """``max_iter`` bounds the pivots of the coarse and the fine solve together, and
    ``n_iter`` counts both; a stop leaves a feasible plan either way."""
    rng = np.random.default_rng(10)
    x, y = clouds(rng, 300, 300)
    a, b = random_weights(rng, 300), random_weights(rng, 300)
    full = emd.solve_points(x, y, a, b)
    assert full.status == "optimal" and full.n_iter > 1000
    with pytest.warns(emd.SolverWarning):
        stopped = emd.solve_points(x, y, a, b, max_iter=budget)
    assert stopped.status == "max_iter_reached"
    assert stopped.n_iter <= budget
    plan = stopped.plan.toarray()
    assert np.all(plan >= 0)
    np.testing.assert_allclose(plan.sum(axis=1), a, atol=1e-12)
    np.testing.assert_allclose(plan.sum(axis=0), b, atol=1e-12)
    assert stopped.cost >= full.cost * (1 - 1e-12)


def test_no_pair_a_batch_solves_in_its_compiled_loop_takes_the_path():
    assert _planner.MULTISCALE_CELLS > _planner.BRUTE_FORCE_CELLS


def test_batch_entries_stay_the_single_solves():
    """The path depends only on the pair's size, so a batch's large pair is its single
    solve (both take it here, with the default thresholds: 2100 x 2100 points)."""
    rng = np.random.default_rng(9)
    x, y = clouds(rng, 2100, 2100)
    a, b = random_weights(rng, 2100), random_weights(rng, 2100)
    assert 2100 * 2100 >= _planner.MULTISCALE_CELLS
    single = emd.solve_points(x, y, a, b)
    assert single.status == "optimal" and single.certificate().optimal()
    assert single.cost == pytest.approx(pot_cost(a, b, metric_cost(x, y, "euclidean")),
                                        rel=1e-9)
    values = emd.cdist([(x, a)], [(y, b)], metric="euclidean", n_jobs=1)
    assert float(np.asarray(values).ravel()[0]) == single.cost


def test_crowded_grids_are_refined_and_filled_ones_kept():
    """The coarse grid follows where the points are: a cloud filling its box keeps the
    first guess; two squares far apart, points on a circle and tight clusters crowd
    into few cells of it and get a finer grid (cells of about POINTS_PER_CELL points)."""
    rng = np.random.default_rng(4)
    n = 4000
    first = int((n / _multiscale.POINTS_PER_CELL) ** 0.5)

    def per_axis(x, y):
        lo = np.minimum(x.min(axis=0), y.min(axis=0))
        span = np.maximum(x.max(axis=0), y.max(axis=0)) - lo
        return _multiscale._refined_per_axis(x, y, lo, span, first)

    assert per_axis(rng.random((n, 2)), rng.random((n, 2))) == first
    t = rng.random(n) * 2 * np.pi
    shapes = {
        "squares 3 apart": (rng.random((n, 2)), rng.random((n, 2)) + np.array([3.0, 0.0])),
        "circle": (np.stack([np.cos(t), np.sin(t)], 1), np.stack([np.sin(t), np.cos(t)], 1)),
        "clusters": (0.01 * rng.normal(size=(n, 2)) + rng.integers(0, 2, (n, 1)),
                     0.01 * rng.normal(size=(n, 2)) - rng.integers(0, 2, (n, 1))),
    }
    for x, y in shapes.values():
        refined = per_axis(x, y)
        assert refined > first
        lo = np.minimum(x.min(axis=0), y.min(axis=0))
        span = np.maximum(x.max(axis=0), y.max(axis=0)) - lo
        width = span / refined
        for cloud in (x, y):
            occupied = np.unique(_multiscale._cells(cloud, lo, width, refined)).size
            assert n / occupied <= 2 * _multiscale.POINTS_PER_CELL


@pytest.mark.parametrize("shape", ["squares 3 apart", "circle"])
def test_refined_grids_give_the_exact_answer(spy, monkeypatch, shape):
    # Squares 3 apart now take the line start; the refined grid is tested without it.
    monkeypatch.setattr(_planner, "LINE_FAR", np.inf)
    rng = np.random.default_rng(5)
    n, m = 300, 260
    if shape == "circle":
        s, t = rng.random(n) * 2 * np.pi, rng.random(m) * 2 * np.pi
        x, y = np.stack([np.cos(s), np.sin(s)], 1), np.stack([np.cos(t), np.sin(t)], 1)
    else:
        x, y = rng.random((n, 2)), rng.random((m, 2)) + np.array([3.0, 0.0])
    a, b = random_weights(rng, n), random_weights(rng, m)
    result = emd.solve_points(x, y, a, b)
    assert spy and spy[-1] is not None
    check_solution(result, x, y, a, b)


@pytest.fixture
def line_spy(monkeypatch):
    """Lower the thresholds as ``spy`` does; record the axes of the line starts made."""
    take_the_coarse_path(monkeypatch)
    axes = []
    original = _multiscale.line_start

    def recorded(x, y, a, b, axis, width):
        axes.append(axis)
        return original(x, y, a, b, axis, width)

    monkeypatch.setattr(_multiscale, "line_start", recorded)
    return axes


def disk(rng, n, radius=1.0):
    r, t = radius * np.sqrt(rng.random(n)), 2 * np.pi * rng.random(n)
    return np.stack([r * np.cos(t), r * np.sin(t)], 1)


def far_shape(rng, shape, n, m):
    """Far-apart clouds that are not translates (shapes the far rules were not tuned
    on: the zoo has a disk to an annulus 6 apart and two unit squares side by side)."""
    if shape == "disk to annulus":
        x = disk(rng, n)
        y = disk(rng, m)
        y = y / np.linalg.norm(y, axis=1)[:, None] * (1.0 + 0.3 * rng.random((m, 1)))
    elif shape == "gaussian to triangle":
        x = 0.5 * rng.standard_normal((n, 2))
        u = rng.random((m, 2))
        y = np.where(u.sum(1, keepdims=True) > 1, 1 - u, u)
    else:
        centres = np.array([[0.0, 0.0], [1.0, 0.3], [0.2, 1.0]])
        x = centres[rng.choice(3, n, p=[0.6, 0.3, 0.1])] + 0.05 * rng.standard_normal((n, 2))
        y = disk(rng, m, 0.8)
    return x, y


FAR_SHAPES = ["disk to annulus", "gaussian to triangle", "three clusters"]


@pytest.mark.parametrize("shape", FAR_SHAPES)
def test_far_apart_clouds_that_are_not_translates_start_from_the_coarse_plan(
        line_spy, spy, shape):
    """Far apart along a diagonal, with random weights, not translates: every level spreads
    a coarse plan, the band of candidates lies across the shift, and the answer is POT's
    and HiGHS's, certified."""
    rng = np.random.default_rng(11)
    n, m = 240, 210
    shift = np.array([6.0, -4.5])
    x, y = far_shape(rng, shape, n, m)
    y = y + shift
    a, b = random_weights(rng, n), random_weights(rng, m)
    result = emd.solve_points(x, y, a, b)
    # A band per coarse start, and the line start of a level too small to coarsen.
    assert spy and len(spy) <= len(line_spy) <= len(spy) + 1
    for axis in line_spy:
        assert abs(float(axis @ shift)) < 0.2 * np.linalg.norm(shift)  # about across
    check_solution(result, x, y, a, b)


@pytest.mark.parametrize("shape", FAR_SHAPES)
@pytest.mark.parametrize("metric", ["cityblock", "sqeuclidean"])
def test_far_apart_clouds_under_other_metrics_keep_the_line_start(line_spy, spy, shape,
                                                                   metric):
    """The stretched search along the shift is a rule of the euclidean cost; other metrics
    start far-apart clouds from the monotone plan alone, and their answers are the peers'."""
    rng = np.random.default_rng(12)
    n, m = 200, 180
    x, y = far_shape(rng, shape, n, m)
    y = y + np.array([6.0, -4.5])
    a, b = random_weights(rng, n), random_weights(rng, m)
    result = emd.solve_points(x, y, a, b, metric=metric)
    assert len(line_spy) == 1 and not spy
    check_solution(result, x, y, a, b, metric=metric)


def test_far_apart_translates_keep_the_line_start(line_spy, spy):
    """Two squares side by side (uniform and random weights) and a Gaussian moved far:
    the monotone plan alone, no coarse plan, and POT's answer, certified."""
    rng = np.random.default_rng(16)
    n = 1000
    for x, y, w in ((rng.random((n, 2)), rng.random((n, 2)) + np.array([3.0, 0.0]), np.full(n, 1 / n)),
                    (rng.random((n, 2)), rng.random((n, 2)) + np.array([0.0, 3.0]),
                     random_weights(rng, n)),
                    (rng.standard_normal((n, 2)), rng.standard_normal((n, 2)) + np.array([6.0, 6.0]),
                     random_weights(rng, n))):
        line_spy.clear()
        result = emd.solve_points(x, y, w, w)
        assert len(line_spy) == 1
        assert result.status == "optimal" and result.certificate().optimal()
        assert result.cost == pytest.approx(pot_cost(w, w, metric_cost(x, y, "euclidean")),
                                            rel=1e-9)
    assert not spy


def test_far_stretch_lengthens_the_search_along_the_shift():
    """Under the map, two points a step apart across the shift lie FAR_STRETCH times as far
    apart as two a step apart along it; the map is the same at every scale."""
    rng = np.random.default_rng(17)
    x, y = disk(rng, 50), disk(rng, 40) + np.array([5.0, 5.0])
    across = np.array([1.0, -1.0]) / np.sqrt(2.0)
    along = np.array([1.0, 1.0]) / np.sqrt(2.0)
    stretch = _multiscale.far_stretch(x, y, across)
    base = stretch(np.zeros((1, 2)))
    step_across = np.linalg.norm(stretch(0.01 * across[None, :]) - base)
    step_along = np.linalg.norm(stretch(0.01 * along[None, :]) - base)
    assert step_across == pytest.approx(_planner.FAR_STRETCH * step_along, rel=1e-12)
    for scale in (1e-150, 1e150):  # the frame's units keep the coordinates finite
        scaled = _multiscale.far_stretch(scale * x, scale * y, across)
        np.testing.assert_allclose(scaled(scale * y), stretch(y), rtol=1e-9, atol=1e-12)
    one = np.ones((3, 2))
    assert _multiscale.far_stretch(one, one, across) is None


@pytest.mark.parametrize("shape", FAR_SHAPES)
def test_far_rule_matches_pot_on_larger_uniform_clouds(spy, shape):
    """n = 1500 with uniform weights (ties everywhere, the zoo's case), on the far rule's
    path at every level: the answer is POT's, certified."""
    rng = np.random.default_rng(18)
    n = 1500
    x, y = far_shape(rng, shape, n, n)
    y = y + np.array([-3.0, 5.5])
    w = np.full(n, 1.0 / n)
    result = emd.solve_points(x, y, w, w)
    assert spy
    assert result.status == "optimal" and result.certificate().optimal()
    assert result.cost == pytest.approx(pot_cost(w, w, metric_cost(x, y, "euclidean")),
                                        rel=1e-9)


def test_the_line_band_is_narrow_only_for_clouds_that_are_not_translates():
    """Translates (two squares, a Gaussian moved, with random weights) keep the wide band
    their near-monotone plans need; far clouds of other shapes take the narrow one."""
    rng = np.random.default_rng(12)
    n = 3000
    shift = np.array([5.0, 2.0])
    uniform = np.full(n, 1.0 / n)
    weights = random_weights(rng, n)
    translates = [(rng.random((n, 2)), rng.random((n, 2)) + shift, uniform),
                  (rng.standard_normal((n, 2)), rng.standard_normal((n, 2)) + 3 * shift, weights)]
    for x, y, w in translates:
        assert _multiscale.line_width(x, y, w, w) == _planner.LINE_WIDTH
    annulus = disk(rng, n)
    annulus = annulus / np.linalg.norm(annulus, axis=1)[:, None] * (0.7 + 0.3 * rng.random((n, 1)))
    others = [(disk(rng, n), annulus + shift), (disk(rng, n), disk(rng, n, 1.5) + shift)]
    for x, y in others:
        assert _multiscale.line_width(x, y, uniform, uniform) == _planner.LINE_WIDTH_UNEQUAL
    assert _planner.LINE_WIDTH_UNEQUAL < _planner.LINE_WIDTH


def test_overlapping_and_three_dimensional_clouds_keep_the_coarse_start(line_spy, spy):
    rng = np.random.default_rng(12)
    for x, y in (clouds(rng, 200, 180), (disk(rng, 200), disk(rng, 180) + np.array([0.5, 0.0])),
                 (rng.random((150, 3)), rng.random((150, 3)) + np.array([5.0, 0.0, 0.0]))):
        a, b = random_weights(rng, len(x)), random_weights(rng, len(y))
        check_solution(emd.solve_points(x, y, a, b), x, y, a, b)
    assert not line_spy and len(spy) >= 3  # coarse levels spread their plans too


def test_the_line_start_is_the_monotone_plan():
    """Its support is a staircase along the axis that carries both marginals, and every
    candidate lies within the band of ranks around it."""
    rng = np.random.default_rng(13)
    x, y = disk(rng, 300), disk(rng, 250) + np.array([8.0, 0.0])
    a, b = random_weights(rng, 300), random_weights(rng, 250)
    axis = _multiscale.line_axis(x, y, a, b)
    assert axis is not None and abs(axis[0]) < 0.05  # across the shift of the means
    rows, cols, tails, heads = _multiscale.line_start(x, y, a, b, axis, 3)
    rank_x = np.argsort(np.argsort(x @ axis, kind="stable"))
    rank_y = np.argsort(np.argsort(y @ axis, kind="stable"))
    assert np.all(np.diff(rank_x[rows]) >= 0) and np.all(np.diff(rank_y[cols]) >= 0)
    assert rows.size <= 300 + 250 - 1
    assert np.unique(rows).size == 300 and np.unique(cols).size == 250
    # The north-west corner flows on this support, recomputed here: they match the marginals.
    flows = np.minimum.reduce([np.cumsum(a[np.argsort(rank_x)])[rank_x[rows]],
                               np.cumsum(b[np.argsort(rank_y)])[rank_y[cols]]]) - np.maximum(
        np.cumsum(a[np.argsort(rank_x)])[rank_x[rows]] - a[rows],
        np.cumsum(b[np.argsort(rank_y)])[rank_y[cols]] - b[cols])
    assert np.all(flows > 0)
    np.testing.assert_allclose(np.bincount(rows, flows, 300), a, atol=1e-12)
    np.testing.assert_allclose(np.bincount(cols, flows, 250), b, atol=1e-12)
    # Candidates: within 3 ranks of a plan arc on one side, equal rank on the other.
    band = {(int(rank_x[r]), int(rank_y[c])) for r, c in zip(rows, cols, strict=True)}
    for t, h in zip(tails[:50], heads[:50], strict=True):
        rt, rh = int(rank_x[t]), int(rank_y[h])
        assert any((rt, rh + s) in band or (rt + s, rh) in band for s in range(-3, 4))


def test_line_axis_is_scale_free_and_declines_degenerate_clouds():
    rng = np.random.default_rng(14)
    x, y = disk(rng, 100), disk(rng, 90) + np.array([0.0, 5.0])
    a, b = random_weights(rng, 100), random_weights(rng, 90)
    axis = _multiscale.line_axis(x, y, a, b)
    assert axis is not None and abs(axis[1]) < 0.05
    for scale in (1e-150, 1e150):  # squares of these coordinates under- or overflow
        np.testing.assert_allclose(_multiscale.line_axis(scale * x, scale * y, a, b), axis,
                                   rtol=1e-9, atol=1e-12)
    one = np.ones((5, 2))
    assert _multiscale.line_axis(one, one, np.full(5, 0.2), np.full(5, 0.2)) is None


def test_the_line_start_keeps_its_arc_cap_when_the_sides_differ_in_size(monkeypatch):
    """The band is sized from the plan's n + m - 1 pieces, not from one side's count: with
    a cloud twenty times the other's, the candidates stay under the planner's cap (the
    old rule, from n alone, listed about 127 000), and the answer is still the exact one."""
    take_the_coarse_path(monkeypatch)
    monkeypatch.setattr(_planner, "LINE_MAX_ARCS", 6000)
    counts = []
    original = _multiscale.line_start

    def counted(x, y, a, b, axis, width):
        start = original(x, y, a, b, axis, width)
        counts.append(start[2].size)
        return start

    monkeypatch.setattr(_multiscale, "line_start", counted)
    rng = np.random.default_rng(13)
    n, m = 60, 1200
    x, y = rng.random((n, 2)), rng.random((m, 2)) + np.array([3.0, 0.0])
    a, b = random_weights(rng, n), random_weights(rng, m)
    result = emd.solve_points(x, y, a, b)
    assert counts and counts[0] <= 6000
    check_solution(result, x, y, a, b)


def split_shapes(rng, n):
    """Clouds whose coarse plan splits cells (the first two are the zoo's, the rule's
    measurements; the others it was not tuned on), and a uniform square that does not."""
    def clusters(k, sd):
        centres = rng.random((k, 2))
        return centres[rng.integers(0, k, n)] + sd * rng.standard_normal((n, 2))

    ring = disk(rng, n)
    ring = ring / np.linalg.norm(ring, axis=1)[:, None] * (0.7 + 0.3 * rng.random((n, 1)))
    return {
        "8 clusters": (clusters(8, 0.03), clusters(8, 0.03)),
        "Gaussian shifted by 1 sd": (rng.standard_normal((n, 2)),
                                     rng.standard_normal((n, 2)) + np.array([1.0, 0.0])),
        "5 clusters to 3": (clusters(5, 0.02), clusters(3, 0.05)),
        "disk to an annulus 0.8 apart": (disk(rng, n), ring + np.array([0.8, 0.0])),
        "Gaussian shifted diagonally by 1.5 sd": (rng.standard_normal((n, 2)),
                                                  rng.standard_normal((n, 2)) + np.array([1.06, 1.06])),
        "uniform square": (rng.random((n, 2)), rng.random((n, 2))),
    }


SPLIT_NAMES = list(split_shapes(np.random.default_rng(0), 10))


@pytest.mark.parametrize("name", SPLIT_NAMES)
def test_moving_points_by_every_arc_of_their_cell_keeps_the_exact_answer(spy, monkeypatch,
                                                                          name):
    """The per-arc candidates (forced on every shape: at 200 points the rule's statistic
    is noise) only change the pivot path: the answer is POT's and HiGHS's, certified."""
    monkeypatch.setattr(_planner, "SPLIT_SHARE", -1.0)
    rng = np.random.default_rng(21)
    n = 200
    x, y = split_shapes(rng, n)[name]
    a, b = random_weights(rng, n), random_weights(rng, n)
    result = emd.solve_points(x, y, a, b)
    fine = spy[-1]  # the last plan spread is the fine problem's
    # One position per (point, coarse arc of its cell): every point has one or more.
    assert np.unique(fine.x_owner).size == n and np.unique(fine.y_owner).size == n
    assert fine.x_moved.shape == (fine.x_owner.size, 2)
    check_solution(result, x, y, a, b)


@pytest.mark.parametrize("name", ["8 clusters", "Gaussian shifted by 1 sd", "5 clusters to 3",
                                  "disk to an annulus 0.8 apart", "uniform square"])
def test_split_clouds_on_the_natural_path_match_pot(name):
    """At n = 2100 the problem takes the multiscale path with the shipped thresholds (no
    monkeypatching); the rule splits the cells of every shape but the uniform square
    (the last two clusters and the annulus were not measured when it was set), and the
    cost is ``ot.emd2`` on ``ot.dist``, certified."""
    ot = pytest.importorskip("ot")
    rng = np.random.default_rng(22)
    n = 2100
    assert _planner.point_candidates(n, n, 2) == "multiscale"
    x, y = split_shapes(rng, n)[name]
    a = b = np.full(n, 1.0 / n)
    with recording("spread") as calls:
        result = emd.solve_points(x, y, a, b, metric="euclidean")
    assert calls and (calls[-1].x_owner is None) == (name == "uniform square")
    expected = ot.emd2(a, b, ot.dist(x, y, metric="euclidean"), numItermax=10**8)
    assert result.status == "optimal"
    assert result.cost == pytest.approx(expected, rel=1e-12)
    assert result.certificate().optimal()


def test_split_share_counts_the_mass_sent_far_from_its_cell_mean():
    """One cell sending half its mass each way, ten widths apart: all of it lies five
    widths from the mean (share 1); sent to two neighbouring cells, half a width (0)."""
    width = np.array([0.1, 0.1])
    big_i, big_j = np.array([0, 0]), np.array([0, 1])
    flow = np.array([0.5, 0.5])
    for step, share in ((np.array([[-0.5, 0.0], [0.5, 0.0]]), 1.0),
                        (np.array([[0.05, 0.0], [0.0, 0.05]]), 0.0)):
        shift_i = (flow @ step)[None, :] / flow.sum()
        shift_j = step  # each target cell receives from this one cell only
        assert _multiscale.split_share(step, flow, big_i, big_j, shift_i, shift_j,
                                       width) == share


def test_too_many_positions_per_point_fall_back_to_the_mean(spy, monkeypatch):
    """The cap on memory: beyond SPLIT_MAX_POSITIONS per point the cell mean serves, and
    the answer is still the exact one."""
    monkeypatch.setattr(_planner, "SPLIT_MAX_POSITIONS", 0)
    rng = np.random.default_rng(23)
    x, y = split_shapes(rng, 150)["8 clusters"]
    a, b = random_weights(rng, 150), random_weights(rng, 150)
    result = emd.solve_points(x, y, a, b)
    assert spy and all(start.x_owner is None for start in spy)
    check_solution(result, x, y, a, b)


def test_the_strip_start_of_an_exact_translate_is_the_translation():
    """The Knothe-Rosenblatt plan along the shift pairs every point of a cloud with its
    own translate (same weights): strips across the shift hold the same points on both
    sides, ordered alike along it."""
    rng = np.random.default_rng(24)
    x = rng.standard_normal((500, 2))
    shift = np.array([0.6, -0.8])
    y = x + shift
    a = random_weights(rng, 500)
    along = _multiscale.strip_axis(x, y, a, a)
    assert along is not None
    np.testing.assert_allclose(along, shift / np.linalg.norm(shift), atol=1e-12)
    rows, cols = _multiscale.strip_start(x, y, a, a, along, 50)
    assert np.array_equal(np.sort(rows), np.arange(500))
    assert np.array_equal(rows, cols)


def test_strip_axis_takes_translates_only():
    """Overlapping translates (a Gaussian shifted by 1 sd, squares half a side apart) take
    the strip start; a disk to an annulus, clouds that hardly move, and clouds far
    apart (the line start's) do not."""
    rng = np.random.default_rng(25)
    n = 2100
    a = np.full(n, 1.0 / n)
    ring = disk(rng, n)
    ring = ring / np.linalg.norm(ring, axis=1)[:, None] * (0.7 + 0.3 * rng.random((n, 1)))
    gauss, square = rng.standard_normal((n, 2)), rng.random((n, 2))
    taken = {
        "Gaussian shifted by 1 sd": (gauss, rng.standard_normal((n, 2)) + np.array([1.0, 0.0])),
        "squares 0.5 apart": (square, rng.random((n, 2)) + np.array([0.0, 0.5])),
    }
    declined = {
        "disk to an annulus 0.8 apart": (disk(rng, n), ring + np.array([0.8, 0.0])),
        "uniform square": (square, rng.random((n, 2))),
        "squares 3 apart": (square, rng.random((n, 2)) + np.array([3.0, 0.0])),
        "3-D": (rng.random((n, 3)), rng.random((n, 3)) + 0.5),
    }
    for x, y in taken.values():
        assert _multiscale.strip_axis(x, y, a, a) is not None
    for x, y in declined.values():
        assert _multiscale.strip_axis(x, y, a, a) is None


@pytest.mark.parametrize("name", ["Gaussian shifted diagonally by 1.5 sd"])
def test_translates_on_the_natural_path_match_pot(name):
    """At n = 2100 (the shipped thresholds) translates start from the strip plan, with
    random weights (the rule was measured on uniform ones), and the cost is ``ot.emd2``
    on ``ot.dist``, certified."""
    ot = pytest.importorskip("ot")
    rng = np.random.default_rng(26)
    n = 2100
    if name == "squares 0.5 apart":
        x, y = rng.random((n, 2)), rng.random((n, 2)) + np.array([0.5, 0.0])
    else:
        x = rng.standard_normal((n, 2))
        y = rng.standard_normal((n, 2)) + np.array([1.06, 1.06])
    a, b = random_weights(rng, n), random_weights(rng, n)
    a, b = a / a.sum(), b / b.sum()
    with recording("strip_start") as starts:
        result = emd.solve_points(x, y, a, b, metric="euclidean")
    assert len(starts) == 1
    expected = ot.emd2(a, b, ot.dist(x, y, metric="euclidean"), numItermax=10**8)
    assert result.status == "optimal"
    assert result.cost == pytest.approx(expected, rel=1e-12)
    assert result.certificate().optimal()


def test_the_strip_start_keeps_the_exact_answer_at_small_sizes(spy, monkeypatch):
    """Forced on small clouds (POT, HiGHS, potentials, certificate)."""
    monkeypatch.setattr(_planner, "STRIP_MATCH", np.inf)
    rng = np.random.default_rng(27)
    x, y = disk(rng, 150), rng.random((140, 2)) + np.array([0.7, 0.0])
    a, b = random_weights(rng, 150), random_weights(rng, 140)
    assert _multiscale.strip_axis(x, y, a, b) is not None
    check_solution(emd.solve_points(x, y, a, b), x, y, a, b)


def test_the_multiscale_path_asks_for_short_blocks_and_keeps_the_answer(monkeypatch):
    """n = 4000 on the path (candidates near the length from which the pair solve's block
    rule applies): the pair solve gets MULTISCALE_BLOCK_DIV there, the default (0) off
    it, and the answer with short blocks is POT's, certified, as with the default's."""
    take_the_coarse_path(monkeypatch)
    asked = []
    original = _engine.PairWorkspace

    class Recorded:
        def __init__(self):
            self.workspace = original()

        def solve(self, *args, **kwargs):
            asked.append(kwargs.get("block_div"))
            return self.workspace.solve(*args, **kwargs)

    monkeypatch.setattr(_engine, "PairWorkspace", Recorded)
    rng = np.random.default_rng(19)
    n = 4000
    x, y = rng.random((n, 2)), rng.random((n, 2)) + np.array([0.3, 0.1])
    a, b = random_weights(rng, n), random_weights(rng, n)
    expected = pot_cost(a, b, metric_cost(x, y, "euclidean"))
    costs = []
    for div in (_planner.MULTISCALE_BLOCK_DIV, 4):
        monkeypatch.setattr(_planner, "MULTISCALE_BLOCK_DIV", div)
        asked.clear()
        result = emd.solve_points(x, y, a, b)
        assert asked[-1] == div  # the fine solve, after its coarse levels
        assert result.status == "optimal" and result.certificate().optimal()
        assert result.cost == pytest.approx(expected, rel=1e-9)
        costs.append(result.cost)
    monkeypatch.setattr(_planner, "BRUTE_FORCE_CELLS", n * n)  # off the path
    asked.clear()
    w = np.full(300, 1 / 300)
    emd.solve_points(x[:300], y[:300], w, w)
    assert asked == [0]


def test_a_negative_block_divisor_is_refused():
    from emd._core._pair import PairWorkspace

    a = np.full(3, 1 / 3)
    with pytest.raises(ValueError, match="block_div"):
        PairWorkspace().solve(a, a, np.ones((3, 3)), None, None, 0, 0.0, None, True, 0.0, 1.0,
                              100, block_div=-1)


@pytest.mark.parametrize("shape", FAR_SHAPES)
def test_the_coarse_problem_of_far_clouds_starts_across_the_shift(shape):
    """The far rule solves its coarse problem on the multiscale path whatever its size
    (the compiled search would start it from the near edge): at the planner's own
    thresholds a 300-point problem so marked asks for the axis across the shift, one not
    so marked does not, and both give POT's answer."""
    rng = np.random.default_rng(20)
    n, m = 300, 280
    x, y = far_shape(rng, shape, n, m)
    y = y + np.array([5.0, 5.0])
    a, b = random_weights(rng, n), random_weights(rng, m)
    expected = pot_cost(a, b, metric_cost(x, y, "euclidean"))
    source = _engine.PointCosts(x, y, "euclidean", 2.0)
    for far_coarse in (True, False):
        with recording("line_axis") as axes:
            plan = _engine.solve_bipartite(a, b, source, None, far_coarse=far_coarse)
        assert bool(axes) == far_coarse
        assert plan.status == "optimal"
        cost = float(np.sum(plan.flows * metric_cost(x, y, "euclidean")[plan.rows, plan.cols]))
        assert cost == pytest.approx(expected, rel=1e-9)
