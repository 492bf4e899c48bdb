"""The tilted cell bound of the full pricing pass (``_pricing.tilted_prunable``).

A pass prunes a whole cell of columns for a row when it can prove that no pair of
the cell has a negative reduced cost.  On far-apart clouds the column potentials
carry the linear part of the cost along the shift, and the tilted bound takes it
out.  A pass that finds nothing ends the solve, so the bound must never prune a
pair whose reduced cost is negative: checked here pair by pair in exact rational
arithmetic, on optimal potentials (many reduced costs exactly 0) nudged by a few
ulps, at ordinary, huge and tiny coordinates; then a pass must find the same keys
and the same ``worst`` with the bound on and off, and solves on the shapes it
targets (and some it was not tuned on) agree with POT and with a brute-force dual
check in numpy.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from emd._core._pair import pricing_pass
from emd._core._pricing import _set_cell_bounds, _set_groups, _tilted_pruned
from oracles import highs_cost, metric_cost, pot_cost, random_weights

import emd


def disk(rng, n, radius=1.0):
    r, t = radius * np.sqrt(rng.random(n)), 2 * np.pi * rng.random(n)
    return np.stack([r * np.cos(t), r * np.sin(t)], 1)


def annulus(rng, n):
    p = disk(rng, n)
    return p / np.linalg.norm(p, axis=1)[:, None] * (0.7 + 0.3 * rng.random((n, 1)))


def three_clusters(rng, n):
    c = np.array([[0.1, 0.2], [0.7, 0.4], [0.4, 0.9]])
    s = np.array([0.02, 0.05, 0.1])
    k = rng.choice(3, n, p=[0.6, 0.3, 0.1])
    return c[k] + s[k, None] * rng.standard_normal((n, 2))


def shape(name, rng, n):
    if name == "disk to annulus far apart":
        return disk(rng, n), annulus(rng, n) + np.array([4.2, 4.2])
    if name == "gaussians 4 sd apart":
        return rng.standard_normal((n, 2)), rng.standard_normal((n, 2)) + np.array([0.0, 4 * np.sqrt(2)])
    if name == "three clusters to a disk far apart":
        return three_clusters(rng, n), disk(rng, n, 0.8) + np.array([6.0, -4.5])
    if name == "nearly 1-D strip":
        return rng.random((n, 2)) * [1, 1e-3], rng.random((n, 2)) * [1, 1e-3]
    if name == "uniform square":
        return rng.random((n, 2)), rng.random((n, 2))
    if name == "3-D cubes 2 apart":
        return rng.random((n, 3)), rng.random((n, 3)) + np.array([2.0, 0.0, 0.0])
    raise AssertionError(name)


def optimal_potentials(x, y, rng):
    """Optimal potentials of the pair in the pass's convention (rows ``-u``, columns
    ``v``), with a few ulps of noise on the columns: many reduced costs then sit just
    below or above 0, where a loose bound would prune a negative one."""
    n, m = len(x), len(y)
    result = emd.solve_points(x, y, np.full(n, 1 / n), np.full(m, 1 / m))
    v = result.v * (1 + rng.integers(-4, 5, m) * 2.0**-52)
    return np.concatenate([-result.u, v])


def exact_reduced_cost_sign_ok(x, y, pi, rows, cols):
    """Whether ``|x_i - y_j| + pi_i - pi_(n+j) >= 0`` exactly for every listed pair."""
    n = len(x)
    for i, j in zip(rows, cols, strict=True):
        t = Fraction(float(pi[n + j])) - Fraction(float(pi[i]))  # need |x - y| >= t
        if t <= 0:
            continue
        sq = sum((Fraction(float(p)) - Fraction(float(q))) ** 2 for p, q in zip(x[i], y[j], strict=True))
        if sq < t * t:
            return False
    return True


@pytest.mark.parametrize("scale", [1.0, 1e145, 1e-140, 1e-160, "offset"])
@pytest.mark.parametrize("name", ["disk to annulus far apart", "three clusters to a disk far apart",
                                  "nearly 1-D strip", "uniform square", "3-D cubes 2 apart"])
def test_the_tilted_bound_never_prunes_a_negative_reduced_cost(name, scale):
    rng = np.random.default_rng(5)
    x, y = shape(name, rng, 300)  # 90 000 pairs: a pass builds cells
    pi = optimal_potentials(x, y, rng)
    if scale == "offset":  # coordinates far from 0: a large common part cancels
        x, y = x + 1e6, y + 1e6
        pi = pi + np.float64(3e5)
    else:
        x, y, pi = x * scale, y * scale, pi * scale
    pruned = _tilted_pruned(x, y, pi)
    n = len(x)
    dist = np.sqrt(((x[:, None, :] - y[None, :, :]) ** 2).sum(-1))
    rc = dist + pi[:n, None] - pi[None, n:]
    # Pairs far from 0 in float need no exact check; the rest are decided exactly.
    close = pruned & ~(rc > 1e-9 * (dist + np.abs(pi[:n, None]) + np.abs(pi[None, n:])))
    rows, cols = np.nonzero(close)
    assert exact_reduced_cost_sign_ok(x, y, pi, rows, cols)
    assert not (pruned & (rc < 0)).any()
    if (name.endswith("far apart") or "strip" in name) and scale in (1.0, 1e145, 1e-140):
        # Where it is meant to work it prunes a share of the pairs even with these coarse cells
        # (9 of 32 points): the checks above are not vacuous.
        assert pruned.mean() > 0.1
    if scale == 1e-160:
        assert not pruned.any()  # squared distances underflow: the bound declines


@pytest.mark.parametrize("n", [400, 3000])
@pytest.mark.parametrize("name", ["disk to annulus far apart", "nearly 1-D strip", "uniform square"])
def test_a_pass_finds_the_same_keys_and_bound_with_and_without_it(name, n):
    """And with the cells shaped to the box or cubic, and with or without the groups of
    cells tested first (build_groups; at n = 3000 a line of the grid holds several)."""
    rng = np.random.default_rng(6)
    x, y = shape(name, rng, n)
    n, m = len(x), len(y)
    optimal = optimal_potentials(x, y, rng)
    for pi in (optimal, optimal + rng.normal(0, 1e-3, n + m)):  # at the end, and mid-solve
        low = np.zeros(n + m)
        passes = {}
        # Without the tilted bound on the same cells; with neither (the cubic cells
        # of before: a row meets its columns in another order, and with distinct
        # reduced costs keeps the same ones); with both; each with and without groups.
        for tilted, shaped in ((False, True), (False, False), (True, True)):
            for grouped in (False, True):
                was = _set_cell_bounds(tilted, shaped)
                was_grouped = _set_groups(grouped)
                try:
                    passes[tilted, shaped, grouped] = [
                        pricing_pass(None, x, y, 0, 2.0, pi, low, n_threads=t) for t in (1, 3)]
                finally:
                    _set_cell_bounds(*was)
                    _set_groups(was_grouped)
        reference = passes[False, True, False]
        for other, found in passes.items():
            for (k0, w0), (k1, w1) in zip(reference, found, strict=True):
                np.testing.assert_array_equal(k1, k0, err_msg=str(other))
                assert np.float64(w1).tobytes() == np.float64(w0).tobytes()


def check_against_peers(x, y, a, b, highs=False):
    result = emd.solve_points(x, y, a, b, metric="euclidean")
    assert result.status == "optimal"
    assert result.certificate().optimal()
    cost = metric_cost(x, y, "euclidean")
    assert result.cost == pytest.approx(pot_cost(a, b, cost), rel=1e-9)
    if highs:
        assert result.cost == pytest.approx(highs_cost(a, b, cost), rel=1e-7)
    # Dual feasibility of the returned potentials over every pair, in numpy.
    slack = cost - result.u[:, None] - result.v[None, :]
    assert slack.min() >= -1e-12 * cost.max()
    assert a @ result.u + b @ result.v == pytest.approx(result.cost, rel=1e-9)


@pytest.mark.parametrize("name", ["disk to annulus far apart", "gaussians 4 sd apart",
                                  "three clusters to a disk far apart", "nearly 1-D strip",
                                  "uniform square", "3-D cubes 2 apart"])
def test_solves_on_pruned_passes_agree_with_pot(name):
    """n = 1500: above the size at which the pair solve keeps a cost matrix, so its
    passes price points by cells (and use the bound)."""
    rng = np.random.default_rng(7)
    x, y = shape(name, rng, 1500)
    a, b = random_weights(rng, len(x)), random_weights(rng, len(y))
    check_against_peers(x, y, a, b)


@pytest.mark.parametrize("name", ["disk to annulus far apart", "nearly 1-D strip"])
def test_small_solves_agree_with_highs(name):
    rng = np.random.default_rng(8)
    x, y = shape(name, rng, 200)
    a, b = random_weights(rng, len(x)), random_weights(rng, len(y))
    check_against_peers(x, y, a, b, highs=True)
