"""Threaded pricing passes: the same keys, bound and answer for any number of threads.

A full pricing pass of the pair solve splits its rows across threads, each with
its own column buffers, merged by (reduced cost, row).  Nothing it returns may
depend on the number of threads: the keys found, the rigorous bound ``worst``,
and so every pivot after it.  The keys are also checked against a brute-force
selection in numpy.
"""

from __future__ import annotations

import numpy as np
import pytest
from emd._core._pair import pricing_pass
from emd._core._pricing import SCAN_PER_LINE, WIDE_SCAN_FROM, WIDE_SCAN_PER_LINE
from oracles import pot_cost
from scipy.spatial.distance import cdist

import emd

METRICS = {"euclidean": 0, "sqeuclidean": 1, "cityblock": 2, "chebyshev": 3, "minkowski": 4}
THREADS = (1, 2, 3, 5, 8)


def _passes(source, pi, pi_low):
    return [pricing_pass(*source, pi, pi_low, n_threads=t) for t in THREADS]


def _assert_same(passes):
    keys, worst = passes[0]
    for other_keys, other_worst in passes[1:]:
        np.testing.assert_array_equal(other_keys, keys)
        assert np.float64(other_worst).tobytes() == np.float64(worst).tobytes()


def _brute_keys(cost, pi, n, m):
    """The most negative reduced costs of every row and column (as many as a pass of
    this size keeps), from numpy."""
    rc = cost + pi[:n, None] - pi[None, n:]
    k = WIDE_SCAN_PER_LINE if n * m >= WIDE_SCAN_FROM else SCAN_PER_LINE
    keys = set()
    for i in range(n):
        neg = np.flatnonzero(rc[i] < 0)
        keys.update(int(i * m + j) for j in neg[np.argsort(rc[i, neg], kind="stable")][:k])
    for j in range(m):
        neg = np.flatnonzero(rc[:, j] < 0)
        keys.update(int(i * m + j) for i in neg[np.argsort(rc[neg, j], kind="stable")][:k])
    return np.array(sorted(keys), dtype=np.int64)


@pytest.mark.parametrize("seed", range(4))
def test_dense_pass_is_the_brute_force_selection_for_any_thread_count(seed):
    rng = np.random.default_rng(seed)
    n, m = 700, 650  # above the size from which a pass uses threads
    cost = rng.random((n, m))
    pi = rng.normal(0.0, 0.2, n + m)  # far from optimal: most buffers fill up
    passes = _passes((cost, None, None, 0, 0.0), pi, np.zeros(n + m))
    _assert_same(passes)
    np.testing.assert_array_equal(passes[0][0], _brute_keys(cost, pi, n, m))
    assert passes[0][1] == -np.inf  # something found: no bound claimed


@pytest.mark.parametrize("layout", ["uniform", "clusters", "strip", "hair"])
@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("metric", sorted(METRICS))
def test_points_pass_is_the_brute_force_selection_for_any_thread_count(metric, d, layout):
    """For d = 2, 3 the pass skips whole cells of columns by a bound; the keys must
    still be exactly the brute-force selection (clusters: repeated points, cells of
    zero width, empty cells; a strip: cells short along it and spanning its height;
    a hair: thinner than one cell is long)."""
    rng = np.random.default_rng(len(metric) + d)
    n, m = 640, 700
    x, y = rng.random((n, d)), rng.random((m, d))
    if layout == "clusters":
        x = np.round(x * 3) / 3 + 1e-3 * rng.random((n, d)) * (rng.random((n, 1)) < 0.5)
        y = np.round(y * 3) / 3
    if layout in ("strip", "hair"):
        h = 1e-3 if layout == "strip" else 1e-6
        x, y = x * np.r_[1.0, h, h][:d], y * np.r_[1.0, h, h][:d]
    p = 3.0 if metric == "minkowski" else 0.0
    pi = rng.normal(0.0, 0.3, n + m)
    passes = _passes((None, x, y, METRICS[metric], p), pi, np.zeros(n + m))
    _assert_same(passes)
    kwargs = {"p": p} if metric == "minkowski" else {}
    cost = cdist(x, y, metric, **kwargs)
    np.testing.assert_array_equal(passes[0][0], _brute_keys(cost, pi, n, m))


def test_ties_are_broken_by_index_for_any_thread_count():
    """Integer costs and potentials: many equal reduced costs compete for the buffers."""
    rng = np.random.default_rng(5)
    n, m = 800, 600
    cost = rng.integers(0, 4, (n, m)).astype(float)
    pi = rng.integers(-3, 3, n + m).astype(float)
    passes = _passes((cost, None, None, 0, 0.0), pi, np.zeros(n + m))
    _assert_same(passes)
    x = rng.integers(0, 6, (n, 2)).astype(float)  # repeated points: tied distances
    y = rng.integers(0, 6, (m, 2)).astype(float)
    _assert_same(_passes((None, x, y, METRICS["cityblock"], 0.0), pi, np.zeros(n + m)))


def test_a_clean_pass_gives_the_same_rigorous_bound_for_any_thread_count():
    """Dual-feasible potentials (rows at 0, columns at their column minimum): nothing is
    found and ``worst`` bounds every reduced cost from below, the same for any count."""
    rng = np.random.default_rng(11)
    n, m = 600, 500
    x, y = rng.random((n, 2)), rng.random((m, 2))
    cost = cdist(x, y)
    pi = np.concatenate([np.zeros(n), cost.min(axis=0)])
    for source in ((cost, None, None, 0, 0.0), (None, x, y, 0, 0.0)):
        passes = _passes(source, pi, np.zeros(n + m))
        _assert_same(passes)
        keys, worst = passes[0]
        assert keys.size == 0
        rc = cost + pi[:n, None] - pi[None, n:]
        # Each column's minimum is evaluated (reduced cost 0 up to rounding).
        assert -1e-15 <= worst <= rc.min() + 1e-15


@pytest.mark.parametrize("kind", ["dense", "points"])
def test_solves_are_bit_identical_for_any_thread_count(kind):
    rng = np.random.default_rng(3)
    n, m = 700, 603
    x, y = rng.random((n, 2)), rng.random((m, 2))
    a, b = rng.random(n), rng.random(m)
    a[::7] = 0.0  # zero-mass rows and columns: the pass runs on a subset
    b[::11] = 0.0
    a, b = a / a.sum(), b / b.sum()
    cost = cdist(x, y)
    if kind == "dense":
        results = [emd.solve(a, b, cost, n_jobs=t) for t in (1, 2, 3, 4)]
    else:
        results = [emd.solve_points(x, y, a, b, n_jobs=t) for t in (1, 2, 3, 4)]
    first = results[0]
    assert first.status == "optimal"
    for other in results[1:]:
        assert other.cost == first.cost
        assert other.n_iter == first.n_iter
        np.testing.assert_array_equal(other.u, first.u)
        np.testing.assert_array_equal(other.v, first.v)
        np.testing.assert_array_equal(other.plan.toarray(), first.plan.toarray())
        assert other.certificate().bound == first.certificate().bound
    assert abs(first.cost - pot_cost(a, b, cost)) <= 1e-12 * first.cost


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2"])
def test_n_jobs_is_checked(bad):
    error = TypeError if isinstance(bad, (bool, float, str)) else ValueError
    with pytest.raises(error, match="n_jobs"):
        emd.solve([1.0], [1.0], [[0.0]], n_jobs=bad)
    with pytest.raises(error, match="n_jobs"):
        emd.solve_points([[0.0, 0.0]], [[1.0, 0.0]], n_jobs=bad)
