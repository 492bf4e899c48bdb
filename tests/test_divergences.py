"""Tests for emd.divergences against scipy and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.spatial.distance
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from emd.divergences import cross_entropy, entropy, js, kl, tv
from emd.structured._onedim import wasserstein_1d

LOG2 = math.log(2.0)


def test_hand_computed_values():
    p, q = [0.5, 0.5], [0.25, 0.75]
    assert kl(p, q) == pytest.approx(0.5 * math.log(2) + 0.5 * math.log(2 / 3))
    assert kl(q, p) == pytest.approx(0.25 * math.log(0.5) + 0.75 * math.log(1.5))
    assert tv(p, q) == pytest.approx(0.25)
    assert entropy(p) == pytest.approx(LOG2)
    assert entropy(q) == pytest.approx(-(0.25 * math.log(0.25) + 0.75 * math.log(0.75)))
    assert cross_entropy(p, q) == pytest.approx(-0.5 * (math.log(0.25) + math.log(0.75)))
    # m = (p + q) / 2 = [0.375, 0.625]
    expected_js = 0.5 * (
        0.5 * math.log(0.5 / 0.375) + 0.5 * math.log(0.5 / 0.625)
        + 0.25 * math.log(0.25 / 0.375) + 0.75 * math.log(0.75 / 0.625)
    )
    assert js(p, q) == pytest.approx(expected_js)


def test_identical_distributions():
    p = [0.1, 0.0, 0.6, 0.3]
    assert kl(p, p) == 0.0
    assert js(p, p) == 0.0
    assert tv(p, p) == 0.0
    assert cross_entropy(p, p) == pytest.approx(entropy(p))


def test_inputs_are_normalised():
    p, q = np.array([1.0, 2.0, 3.0]), np.array([3.0, 3.0, 1.0])
    pn, qn = p / p.sum(), q / q.sum()
    for func in (kl, js, tv, cross_entropy):
        assert func(10 * p, q / 7) == pytest.approx(func(pn, qn), rel=1e-14)
    assert entropy(5 * p) == pytest.approx(entropy(pn), rel=1e-14)
    # Integer counts are accepted.
    assert entropy([1, 1, 1, 1]) == pytest.approx(math.log(4))


def test_zero_log_zero_conventions():
    # p == 0 bins contribute nothing, whatever q is there.
    assert kl([0.0, 1.0], [1.0, 1.0]) == pytest.approx(math.log(2))
    assert cross_entropy([0.0, 1.0], [0.0, 1.0]) == 0.0
    assert entropy([0.0, 0.0, 1.0]) == 0.0
    # p > 0 where q == 0 is infinite.
    assert kl([1.0, 1.0], [0.0, 1.0]) == math.inf
    assert cross_entropy([1.0, 1.0], [0.0, 1.0]) == math.inf
    # ... but JS and TV stay finite.
    assert js([1.0, 1.0], [0.0, 1.0]) < LOG2
    assert tv([1.0, 1.0], [0.0, 1.0]) == pytest.approx(0.5)


def test_disjoint_supports_saturate_while_w1_grows():
    n = 50
    grid = np.arange(n, dtype=float)
    p = np.zeros(n)
    p[0] = 1.0
    w1 = []
    for shift in (1, 10, 40):
        q = np.zeros(n)
        q[shift] = 1.0
        assert kl(p, q) == math.inf
        assert cross_entropy(p, q) == math.inf
        assert js(p, q) == pytest.approx(LOG2, rel=1e-15)
        assert js(p, q) <= LOG2
        assert tv(p, q) == 1.0
        w1.append(wasserstein_1d(grid, grid, p, q))
    assert w1 == [1.0, 10.0, 40.0]
    # Spread-out disjoint supports saturate too.
    assert js([1, 2, 0, 0], [0, 0, 3, 4]) == pytest.approx(LOG2, rel=1e-15)
    assert tv([1, 2, 0, 0], [0, 0, 3, 4]) == 1.0


def test_kl_of_a_subnormal_bin_is_finite():
    # p / q overflows for q = 2.2e-313 (SciPy 1.10's rel_entr returned inf); the
    # divergence itself is log(1 / q) and equals the cross entropy here, as entropy(p) = 0.
    q = [2.2250738585e-313, 0.0, 0.0, 1.0]
    expected = -math.log(q[0] / math.fsum(q))
    assert kl([1.0, 0.0, 0.0, 0.0], q) == pytest.approx(expected, rel=1e-14)
    assert cross_entropy([1.0, 0.0, 0.0, 0.0], q) == pytest.approx(expected, rel=1e-14)


def test_against_scipy_random():
    rng = np.random.default_rng(0)
    for trial in range(100):
        n = int(rng.integers(1, 20))
        p = rng.random(n) * (rng.random(n) < 0.8)
        q = rng.random(n) * (rng.random(n) < 0.8) if trial % 2 else rng.random(n)
        p[rng.integers(n)] += 0.1
        q[rng.integers(n)] += 0.1
        pn, qn = p / p.sum(), q / q.sum()
        assert entropy(p) == pytest.approx(scipy.stats.entropy(p), rel=1e-12, abs=1e-15)
        assert kl(p, q) == pytest.approx(scipy.stats.entropy(p, q), rel=1e-12, abs=1e-15)
        # scipy returns the JS *distance* sqrt(JS); base e by default.
        js_ref = scipy.spatial.distance.jensenshannon(p, q) ** 2
        assert js(p, q) == pytest.approx(js_ref, rel=1e-9, abs=1e-15)
        assert js(p, q) == pytest.approx(
            scipy.spatial.distance.jensenshannon(p, q, base=2) ** 2 * LOG2, rel=1e-9, abs=1e-15
        )
        assert tv(p, q) == pytest.approx(0.5 * np.abs(pn - qn).sum(), rel=1e-14, abs=1e-16)
        assert tv(p, q) == pytest.approx(
            0.5 * scipy.spatial.distance.cityblock(pn, qn), rel=1e-14, abs=1e-16
        )
        ce_ref = scipy.stats.entropy(p) + scipy.stats.entropy(p, q)
        assert cross_entropy(p, q) == pytest.approx(ce_ref, rel=1e-12, abs=1e-15)


histograms = st.integers(1, 10).flatmap(
    lambda n: st.tuples(
        st.lists(st.floats(0.0, 10.0), min_size=n, max_size=n).filter(lambda w: sum(w) > 0),
        st.lists(st.floats(0.0, 10.0), min_size=n, max_size=n).filter(lambda w: sum(w) > 0),
    )
)


@settings(max_examples=200, deadline=None)
@given(histograms)
def test_property_inequalities(pq):
    p, q = pq
    d_kl, d_js, d_tv = kl(p, q), js(p, q), tv(p, q)
    assert d_kl >= -1e-12
    assert 0.0 <= d_js <= LOG2
    assert 0.0 <= d_tv <= 1.0 + 1e-15
    assert js(q, p) == pytest.approx(d_js, rel=1e-12, abs=1e-15)
    assert tv(q, p) == pytest.approx(d_tv, rel=1e-12, abs=1e-15)
    # Pinsker: TV <= sqrt(KL / 2); and JS <= log(2) * TV.
    assert d_tv <= math.sqrt(max(d_kl, 0.0) / 2) + 1e-9
    assert d_js <= d_tv * LOG2 + 1e-12
    # Cross entropy decomposes into entropy + KL.
    ce = cross_entropy(p, q)
    if math.isinf(d_kl):
        assert math.isinf(ce)
    else:
        assert ce == pytest.approx(entropy(p) + d_kl, rel=1e-9, abs=1e-12)
    assert 0.0 <= entropy(p) <= math.log(len(p)) + 1e-12


TWO_ARG = [kl, js, tv, cross_entropy]


@pytest.mark.parametrize("func", TWO_ARG)
@pytest.mark.parametrize(
    ("p", "q", "match"),
    [
        ([], [], "p is empty"),
        ([1.0], [], "q is empty"),
        ([1.0, 2.0], [1.0], "q has 1 entries but 2 were expected"),
        ([1.0, -0.5], [1.0, 1.0], "p has a negative weight -0.5 at index 1"),
        ([1.0, 1.0], [np.nan, 1.0], "q has a non-finite weight nan at index 0"),
        ([np.inf, 1.0], [1.0, 1.0], "p has a non-finite weight inf"),
        ([0.0, 0.0], [1.0, 1.0], "p has zero total mass"),
        ([1.0, 0.0], [0.0, 0.0], "q has zero total mass"),
        ([[1.0, 1.0]], [1.0, 1.0], "p must be 1-dimensional"),
    ],
)
def test_validation_errors_two_arguments(func, p, q, match):
    with pytest.raises(ValueError, match=match):
        func(p, q)


@pytest.mark.parametrize(
    ("p", "match"),
    [
        ([], "p is empty"),
        ([1.0, -1.0], "p has a negative weight"),
        ([np.nan], "p has a non-finite weight"),
        ([0.0], "p has zero total mass"),
    ],
)
def test_validation_errors_entropy(p, match):
    with pytest.raises(ValueError, match=match):
        entropy(p)
