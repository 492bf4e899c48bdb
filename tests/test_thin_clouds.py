"""Thin clouds on the multiscale path: neighbours searched with the thin axis stretched.

A euclidean cloud much thinner along a principal axis than along the widest has
nearly degenerate costs whose optimal arcs are long and join points at about the
same height (``emd._multiscale.thin_stretch``); its first candidates are the nearest
neighbours under a linear map that stretches the thin axes.  Only the candidates
change: the answers must still be POT's, certified, and other clouds must keep
their candidates.
"""

from __future__ import annotations

import numpy as np
import pytest
from oracles import metric_cost, pot_cost, random_weights

import emd
from emd import _multiscale, _planner


@pytest.fixture
def stretch_spy(monkeypatch):
    """Records what thin_stretch returned for every cloud pair the solver asked about."""
    seen = []
    original = _multiscale.thin_stretch

    def recorded(x, y):
        out = original(x, y)
        seen.append(out)
        return out

    monkeypatch.setattr(_multiscale, "thin_stretch", recorded)
    return seen


def rotation(angle):
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


def test_the_stretch_finds_thin_principal_axes_and_declines_the_rest():
    rng = np.random.default_rng(1)
    n = 3000
    strip = rng.random((n, 2)) * [1.0, 1e-3], rng.random((n, 2)) * [1.0, 1e-3]
    turned = tuple(p @ rotation(0.7).T + 1e5 for p in strip)  # a diagonal strip, far out
    for x, y in (strip, turned):
        stretch = _multiscale.thin_stretch(x, y)
        assert stretch is not None
        sx = stretch(x)
        sd = np.sqrt(np.linalg.eigvalsh(np.cov(sx.T)))
        assert sd[0] / sd[1] == pytest.approx(_planner.THIN_STRETCH, rel=0.05)
    square = rng.random((n, 2)), rng.random((n, 2))
    t = 2 * np.pi * rng.random(n)
    circle = np.stack([np.cos(t), np.sin(t)], 1), np.stack([np.sin(t), np.cos(t)], 1)
    far = rng.random((n, 2)), rng.random((n, 2)) + np.array([30.0, 0.0])  # thin only as a pair
    needle = rng.random((n, 3)) * [1.0, 1e-3, 1e-3], rng.random((n, 3)) * [1.0, 1e-3, 1e-3]
    line = np.c_[rng.random(n), np.zeros(n)], np.c_[rng.random(n), np.zeros(n)]
    for x, y in (square, circle, line):
        assert _multiscale.thin_stretch(x, y) is None
    # Two squares far apart look thin together (1:50), not each about its own mean;
    # a needle stretches both thin axes.
    assert _multiscale.thin_stretch(*far) is None
    s = _multiscale.thin_stretch(*needle)
    sd = np.sqrt(np.linalg.eigvalsh(np.cov(s(needle[0]).T)))
    assert sd[0] / sd[2] == pytest.approx(_planner.THIN_STRETCH, rel=0.1)
    assert sd[1] / sd[2] == pytest.approx(_planner.THIN_STRETCH, rel=0.1)


@pytest.mark.parametrize("shape", ["strip", "diagonal strip, random weights", "needle (3-D)"])
def test_thin_clouds_take_the_stretch_and_match_pot(stretch_spy, shape):
    rng = np.random.default_rng(2)
    n = 2100  # just above the multiscale path's size (emd._planner.MULTISCALE_CELLS)
    d = 3 if "3-D" in shape else 2
    scale = np.array([1.0, 1e-3, 1e-3][:d])
    x, y = rng.random((n, d)) * scale, rng.random((n, d)) * scale
    if "diagonal" in shape:
        x, y = x @ rotation(-1.1).T, y @ rotation(-1.1).T
        a, b = random_weights(rng, n), random_weights(rng, n)
    else:
        a = b = np.full(n, 1.0 / n)
    result = emd.solve_points(x, y, a, b, metric="euclidean")
    assert result.status == "optimal" and result.certificate().optimal()
    assert result.cost == pytest.approx(pot_cost(a, b, metric_cost(x, y, "euclidean")), rel=1e-9)
    assert stretch_spy and stretch_spy[-1] is not None  # the fine level took the stretch


def test_other_metrics_and_wide_clouds_keep_their_candidates(stretch_spy):
    rng = np.random.default_rng(3)
    n = 2100
    strip = rng.random((n, 2)) * [1.0, 1e-3], rng.random((n, 2)) * [1.0, 1e-3]
    a = b = np.full(n, 1.0 / n)
    for metric in ("cityblock", "sqeuclidean"):
        result = emd.solve_points(*strip, a, b, metric=metric)
        assert result.status == "optimal"
    assert not stretch_spy  # not asked: the stretch is for euclidean costs
    square = rng.random((n, 2)), rng.random((n, 2))
    emd.solve_points(*square, a, b, metric="euclidean")
    assert stretch_spy and all(s is None for s in stretch_spy)
