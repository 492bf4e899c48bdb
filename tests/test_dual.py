"""Kantorovich-Rubinstein duality: exact witnesses, certificates and the W1 estimators.

Every estimator is held to what it claims: the witness is 1-Lipschitz and
attains the cost, projections never exceed the plug-in, lower bounds are
below it, and a critic that cheats is caught.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
import scipy.stats
from scipy.spatial.distance import cdist

import emd
from emd.dual import (
    CriticAudit,
    DualCertificate,
    HeldoutEstimate,
    PermutationTest,
    PluginEstimate,
    SlicedEstimate,
    TrainedCritic,
    W1Bracket,
    WideBracketWarning,
    Witness,
    _critics,
    _sliced,
    audit_critic,
    certify,
    kr_witness,
    max_sliced_w1,
    permutation_test,
    sliced_w1,
    train_critic,
    w1_bracket,
    w1_heldout_lower,
    w1_plugin,
    witness_from_result,
)

SCIPY_METRIC = {"euclidean": "euclidean", "cityblock": "cityblock", "chebyshev": "chebyshev"}


def _problem(rng, n, m, d):
    """Points on a small integer grid (duplicates, shared points, tied distances) with
    random weights, some of them zero."""
    x = rng.integers(0, 4, size=(n, d)).astype(float)
    y = rng.integers(0, 4, size=(m, d)).astype(float) + rng.choice([0.0, 0.5], size=(m, d))
    a = rng.random(n)
    b = rng.random(m)
    if n > 2:
        a[rng.random(n) < 0.25] = 0.0
        x[1] = x[0]
    if m > 2:
        b[rng.random(m) < 0.25] = 0.0
        y[-1] = x[-1]
    a[a.argmax()] += 0.1
    b[b.argmax()] += 0.1
    return x, y, a / a.sum(), b / b.sum()


def _distances(z, w, metric, p=None):
    if metric == "minkowski":
        return cdist(z, w, "minkowski", p=p)
    return cdist(z, w, SCIPY_METRIC[metric])


def _pairwise_ratio(f_values, points, metric="euclidean", p=None):
    """max |f(z) - f(w)| / d(z, w) over all pairs; inf when equal points get unequal values.

    Differences within a few ulps of the values are rounding, not slope: close
    pairs would otherwise report ratios like 1 + 1e-11.
    """
    dist = _distances(points, points, metric, p)
    allowance = 8 * np.finfo(float).eps * (np.abs(f_values).max() + np.abs(points).max())
    diff = np.maximum(np.abs(f_values[:, None] - f_values[None, :]) - allowance, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(dist > 0, diff / np.where(dist > 0, dist, 1), np.where(diff > 0, np.inf, 0))
    return float(ratio.max())


# --------------------------------------------------------------------------- exactness

METRICS = [("euclidean", None), ("cityblock", None), ("chebyshev", None), ("minkowski", 3.0)]


@pytest.mark.parametrize("d", [1, 2, 5])
@pytest.mark.parametrize("m", [1, 2, 10, 300])
@pytest.mark.parametrize("n", [1, 2, 10, 300])
def test_witness_is_exact_and_1_lipschitz(n, m, d):
    rng = np.random.default_rng(1000 * n + 10 * m + d)
    x, y, a, b = _problem(rng, n, m, d)
    metric, p = METRICS[(n + m + d) % len(METRICS)]
    res = emd.solve_points(x, y, a, b, metric=metric, p=p)
    for kind in ("upper", "lower", "mid"):
        cert = certify(x, y, a, b, metric=metric, p=p, result=res, kind=kind, n_probes=300, seed=0)
        assert isinstance(cert, DualCertificate)
        scale = max(cert.cost, 1e-300)
        # Raw figures, not only the rounding-aware relative ones.
        assert abs(cert.gap) <= 1e-9 * scale + 1e-15
        # An upper bound: it includes a few roundings of the data's magnitudes.
        assert cert.max_dual_violation <= 1e-9 * scale + 1e-13
        assert abs(cert.kr_value - res.cost) <= 1e-9 * scale + 1e-15
        assert cert.lipschitz_ratio <= 1 + 1e-9
        assert cert.ok and cert.optimal(1e-12)
        assert cert.n_pairs >= min(n + m, 3) - 1

    f = witness_from_result(res)
    tol = 1e-12 * (1 + np.abs(res.u).max() + np.abs(res.v).max())
    # The upper extension dominates u on the sources and sits below -v on the targets.
    assert np.all(f(x)[a > 0] >= res.u[a > 0] - tol)
    assert np.all(f(y)[b > 0] <= -res.v[b > 0] + tol)
    # And it is 1-Lipschitz on all data points and random points, checked independently.
    z = np.vstack([x, y, rng.uniform(-1, 5, size=(50, d))])
    assert _pairwise_ratio(f(z), z, metric, p) <= 1 + 1e-12


def test_dual_certificate_reads_the_plan_certificate_and_adds_the_witness():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(30, 2)), rng.normal(size=(25, 2)) + np.array([1.0, 0.0])
    res = emd.solve_points(x, y, metric="cityblock")
    cert = certify(res, seed=0)
    # One source for the LP figures: the result's own certificate, not a copy of it.
    assert cert.transport == res.certificate()
    for name in ("cost", "dual_value", "gap", "max_dual_violation", "marginal_error",
                 "unrouted", "mass", "bound", "relative_gap"):
        assert getattr(cert, name) == getattr(cert.transport, name), name
    assert cert.ok and cert.transport.optimal()
    # What the witness adds can fail on its own while the plan stays optimal.
    off = dataclasses.replace(cert, kr_value=cert.cost * (1 + 1e-6))
    assert off.relative_kr_error > 1e-7 and not off.ok and off.optimal(1e-5)
    assert not dataclasses.replace(cert, lipschitz_ratio=1.01).ok
    assert not dataclasses.replace(cert, status="max_iter_reached").ok


def test_lower_extension_never_exceeds_upper():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(40, 3)), rng.normal(size=(30, 3)) + 0.5
    res = emd.solve_points(x, y)
    up, lo, mid = (witness_from_result(res, kind=k) for k in ("upper", "lower", "mid"))
    z = rng.normal(size=(500, 3)) * 3
    assert np.all(lo(z) <= up(z) + 1e-12)
    np.testing.assert_allclose(mid(z), 0.5 * (lo(z) + up(z)), rtol=0, atol=1e-12)
    for f in (up, lo, mid):
        assert f.value == pytest.approx(res.cost, rel=1e-12)


def test_kr_witness_accepts_a_result_and_points_alike():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(20, 2)), rng.normal(size=(25, 2))
    res = emd.solve_points(x, y, metric="cityblock")
    f_res = kr_witness(res, kind="lower")
    f_pts = kr_witness(x, y, metric="cityblock", kind="lower")
    assert isinstance(f_res, Witness)
    assert f_res.metric == "cityblock" and f_res.kind == "lower"
    assert f_res.value == pytest.approx(res.cost, rel=1e-12)
    assert f_pts.value == pytest.approx(res.cost, rel=1e-12)
    assert f_res.support.shape == (20, 2) and f_res.potentials.shape == (20,)
    mid = kr_witness(x, y, kind="mid")
    assert mid.support.shape == (45, 2)
    assert "Witness(kind='mid'" in repr(mid)


def test_normalize_and_unnormalized_mass():
    x, y = [[0.0, 0.0], [1.0, 0.0]], [[0.0, 2.0], [1.0, 2.0]]
    f = kr_witness(x, y, [1.0, 3.0], [2.0, 2.0])
    assert f.value == pytest.approx(emd.solve_points(x, y, [1.0, 3.0], [2.0, 2.0]).cost)
    g = kr_witness(x, y, [1.0, 3.0], [1.0, 1.0], normalize=True)
    assert g.value == pytest.approx(f.value / 4)


def test_naive_witness_fails_where_ours_does_not():
    """Potentials that are valid and optimal but not tight at a zero-mass point shared
    by both sides make the naive 'u on x, -v on y' function not even a function."""
    x = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]])
    y = np.array([[1.0, 0.0], [2.0, 0.0], [5.0, 5.0]])
    a = np.array([0.5, 0.5, 0.0])
    b = np.array([0.5, 0.5, 0.0])
    res = emd.solve_points(x, y, a, b)
    u = res.u.copy()
    u[2] -= 100.0  # still dual feasible (it only lowers u) and the dual value is unchanged
    loose = dataclasses.replace(res, u=u)
    assert np.all(u[:, None] + loose.v[None, :] <= cdist(x, y) + 1e-12)
    assert loose.certificate().optimal()

    points = np.vstack([x, y])
    naive = np.concatenate([loose.u, -loose.v])
    assert _pairwise_ratio(naive, points) > 10  # inf: (5, 5) gets two values

    f = witness_from_result(loose)
    assert _pairwise_ratio(f(points), points) <= 1 + 1e-12
    assert f.value == pytest.approx(1.0, rel=1e-12)
    cert = certify(loose, seed=0)
    assert cert.ok and cert.lipschitz_ratio <= 1 + 1e-12

    # Zero-mass points far from the data: the naive values -v there are arbitrary.
    v = res.v.copy()
    v[2] -= 50.0
    naive = np.concatenate([res.u, -v])
    assert _pairwise_ratio(naive, points) > 5
    assert _pairwise_ratio(witness_from_result(dataclasses.replace(res, v=v))(points), points) <= 1


# --------------------------------------------------------------------------- closed forms


@pytest.mark.parametrize("kind", ["upper", "lower", "mid"])
def test_one_dimensional_value_is_the_cdf_integral(kind):
    rng = np.random.default_rng(11)
    for n, m in [(1, 1), (2, 7), (50, 80), (300, 300)]:
        x, y = rng.normal(size=n), rng.exponential(size=m)
        a, b = rng.random(n) + 0.01, rng.random(m) + 0.01
        ref = scipy.stats.wasserstein_distance(x, y, a, b)
        f = kr_witness(x, y, a, b, normalize=True, kind=kind)
        assert f.value == pytest.approx(ref, rel=1e-12, abs=1e-14)
        # The 1-D fast path and the network simplex agree.
        res = emd.solve_points(x, y, a, b, normalize=True)
        assert witness_from_result(res, kind=kind).value == pytest.approx(ref, rel=1e-12)
        z = np.concatenate([x, y, rng.uniform(-4, 6, size=30)])
        assert _pairwise_ratio(f(z), z[:, None]) <= 1 + 1e-12


@pytest.mark.parametrize("metric,p", METRICS)
def test_translation_distance_is_the_norm_of_the_shift(metric, p):
    rng = np.random.default_rng(12)
    x = rng.normal(size=(40, 3))
    t = np.array([0.7, -1.2, 0.4])
    a = rng.random(40)
    a /= a.sum()
    norm = float(np.linalg.norm(t, ord={"euclidean": 2, "cityblock": 1, "chebyshev": np.inf,
                                        "minkowski": 3.0}[metric]))
    f = kr_witness(x, x + t, a, a, metric=metric, p=p)
    assert f.value == pytest.approx(norm, rel=1e-12)
    assert emd.solve_points(x, x + t, a, a, metric=metric, p=p).cost == pytest.approx(norm, rel=1e-12)


@pytest.mark.parametrize("theta", [0.3, -2.0, 1e-3])
def test_parallel_lines(theta):
    """P_0 uniform on {0} x [0, 1], P_theta on {theta} x [0, 1] (Arjovsky et al., Example 1)."""
    m = 50
    t = np.linspace(0.0, 1.0, m)
    x = np.column_stack([np.zeros(m), t])
    y = np.column_stack([np.full(m, theta), t])
    f = kr_witness(x, y, kind="mid")
    assert f.value == pytest.approx(abs(theta), rel=1e-12)
    # Every unit moves horizontally by |theta| and f drops by exactly that much.
    np.testing.assert_allclose(f(x) - f(y), abs(theta), rtol=1e-10, atol=0)
    assert certify(x, y, seed=1).ok


def test_translated_point_set_through_plugin_and_max_sliced():
    rng = np.random.default_rng(13)
    x = rng.normal(size=(60, 4))
    t = np.array([0.0, 1.5, 0.0, -2.0])
    assert w1_plugin(x, x + t).estimate == pytest.approx(2.5, rel=1e-12)
    ms = max_sliced_w1(x, x + t, seed=0)
    assert ms.estimate == pytest.approx(2.5, rel=1e-9)
    np.testing.assert_allclose(np.abs(ms.directions[0]), np.abs(t) / 2.5, atol=1e-6)


# --------------------------------------------------------------------------- projections


@pytest.mark.parametrize("d", [2, 3, 5])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sliced_below_max_sliced_below_plugin(d, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(80, d))
    Y = rng.standard_t(3, size=(70, d)) * 0.8 + rng.normal(size=d)
    s = sliced_w1(X, Y, n_projections=30, seed=seed)
    ms = max_sliced_w1(X, Y, n_projections=30, seed=seed)
    plug = w1_plugin(X, Y).estimate
    assert s.estimate <= ms.estimate
    assert ms.estimate <= plug * (1 + 1e-12)
    assert s.values.max() <= ms.estimate
    # Witness values agree with the estimates, and the witnesses are 1-Lipschitz.
    assert s.witness.value == pytest.approx(s.estimate, rel=1e-9)
    assert ms.witness.value == pytest.approx(ms.estimate, rel=1e-9)
    z = np.vstack([X, Y, rng.normal(size=(40, d)) * 3])
    for f in (s.witness, ms.witness):
        assert _pairwise_ratio(f(z), z) <= 1 + 1e-9
    assert isinstance(s, SlicedEstimate) and s.kind == "sliced" and ms.kind == "max_sliced"
    assert s.directions.shape == (30, d) and ms.directions.shape == (1, d)
    np.testing.assert_allclose(np.linalg.norm(s.directions, axis=1), 1.0)


def test_max_sliced_uses_given_directions_and_local_search():
    rng = np.random.default_rng(21)
    X = rng.normal(size=(100, 6))
    Y = rng.normal(size=(100, 6))
    Y[:, 4] *= 4.0  # the best direction is a spread difference along axis 4
    coarse = max_sliced_w1(X, Y, n_projections=5, n_iter=0, seed=0)
    refined = max_sliced_w1(X, Y, n_projections=5, seed=0)
    assert refined.estimate >= coarse.estimate
    hint = np.zeros(6)
    hint[4] = 3.0
    hinted = max_sliced_w1(X, Y, n_projections=5, n_iter=0, directions=hint, seed=0)
    assert hinted.estimate >= _sliced._w1_along(X, Y, hint / 3.0)


def test_one_dimensional_slices_are_the_distance():
    rng = np.random.default_rng(22)
    x, y = rng.normal(size=(50, 1)), rng.normal(size=(60, 1)) + 1
    ref = scipy.stats.wasserstein_distance(x[:, 0], y[:, 0])
    assert sliced_w1(x, y, n_projections=3, seed=0).estimate == pytest.approx(ref, rel=1e-12)
    assert max_sliced_w1(x, y, seed=0).estimate == pytest.approx(ref, rel=1e-12)


# --------------------------------------------------------------------------- estimators


def test_plugin_is_the_exact_empirical_distance():
    rng = np.random.default_rng(31)
    X, Y = rng.normal(size=(40, 2)), rng.normal(size=(50, 2))
    res = w1_plugin(X, Y, metric="cityblock")
    assert isinstance(res, PluginEstimate)
    assert res.biased_upward is True and res.interval is None
    assert res.estimate == pytest.approx(emd.wasserstein(X, Y, metric="cityblock"), rel=1e-12)
    assert "biased_upward=True" in repr(res)


def test_plugin_bootstrap_interval():
    rng = np.random.default_rng(32)
    X, Y = rng.normal(size=(200, 1)), rng.normal(size=(200, 1)) + 1
    res = w1_plugin(X, Y, bootstrap=100, seed=0)
    lo, hi = res.interval
    assert 0 <= lo <= res.estimate <= hi
    assert res.subsample == (math.ceil(200 ** (2 / 3)),) * 2
    assert res.replicates.shape == (100,)
    again = w1_plugin(X, Y, bootstrap=100, seed=0)
    assert again.interval == res.interval
    assert w1_plugin(X, Y, bootstrap=10, subsample=(30, 40), seed=0).subsample == (30, 40)


def test_heldout_lower_bound():
    rng = np.random.default_rng(33)
    X, Y = rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) + np.array([1.0, 0.0])
    plug = w1_plugin(X, Y).estimate
    for witness in ("ctransform", "projection"):
        clt = w1_heldout_lower(X, Y, witness=witness, seed=0)
        hoe = w1_heldout_lower(X, Y, witness=witness, bound="hoeffding", seed=0)
        assert isinstance(clt, HeldoutEstimate)
        assert clt.lower < clt.estimate and clt.se > 0
        assert clt.estimate == hoe.estimate  # same split
        assert hoe.lower < clt.lower and hoe.range_bound > 0
        assert clt.n_train == (100, 100) and clt.n_test == (100, 100)
        assert clt.lower < plug
        # The fitted witness is 1-Lipschitz.
        z = np.vstack([X, Y])
        assert _pairwise_ratio(clt.witness(z), z) <= 1 + 1e-9
    # A given function is evaluated on all the data.
    res = w1_heldout_lower(X, Y, witness=lambda z: -z[:, 0], seed=0)
    assert res.n_test == (200, 200) and res.train_value is None
    assert res.estimate == pytest.approx(Y[:, 0].mean() - X[:, 0].mean())


def test_projection_witness_is_1_lipschitz_for_other_metrics():
    rng = np.random.default_rng(34)
    X, Y = rng.normal(size=(150, 3)), rng.normal(size=(150, 3)) + np.array([0.5, 0.5, 0.5])
    for metric, p in [("cityblock", None), ("chebyshev", None), ("minkowski", 1.5)]:
        res = w1_heldout_lower(X, Y, witness="projection", metric=metric, p=p, seed=0)
        z = np.vstack([X, Y, rng.normal(size=(100, 3)) * 2])
        assert _pairwise_ratio(res.witness(z), z, metric, p) <= 1 + 1e-9
        assert res.estimate <= w1_plugin(X, Y, metric=metric, p=p).estimate


def test_bracket_warns_when_wide():
    rng = np.random.default_rng(35)
    X, Y = rng.normal(size=(150, 10)), rng.normal(size=(150, 10))
    Y[:, 0] += 1.0
    with pytest.warns(WideBracketWarning, match="dimension 10"):
        br = w1_bracket(X, Y, seed=0)
    assert isinstance(br, W1Bracket)
    assert br.wide and br.relative_width > 0.25 and br.lower < 1.0 < br.upper
    assert br.estimate == pytest.approx((br.lower + br.upper) / 2)
    assert issubclass(WideBracketWarning, UserWarning)

    X1, Y1 = rng.normal(size=(400, 1)), rng.normal(size=(400, 1)) + 3.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        br = w1_bracket(X1, Y1, seed=0)
    assert not br.wide and br.lower < 3.0 < br.upper * 1.1


def test_permutation_test():
    rng = np.random.default_rng(36)
    X, Y = rng.normal(size=(30, 2)), rng.normal(size=(30, 2)) + 3.0
    res = permutation_test(X, Y, n_perm=49, seed=0)
    assert isinstance(res, PermutationTest)
    assert res.p_value == pytest.approx(1 / 50)
    assert res.estimate == pytest.approx(w1_plugin(X, Y).estimate)
    same = permutation_test(X, X[::-1], n_perm=49, seed=0)
    assert same.p_value == 1.0  # a zero statistic is matched by every relabelling
    res = permutation_test(X, Y, n_perm=20, statistic="sliced", seed=0)
    assert res.p_value * 21 == pytest.approx(round(res.p_value * 21))

    def mean_gap(u, v):
        return float(np.linalg.norm(u.mean(0) - v.mean(0)))

    res = permutation_test(X, Y, n_perm=20, statistic=mean_gap, seed=0)
    assert res.statistic == "mean_gap" and res.null.shape == (20,)


# --------------------------------------------------------------------------- critics


def _numeric_grad(fun, params, h=1e-6):
    grads = []
    for param in params:
        g = np.zeros_like(param)
        for idx in np.ndindex(param.shape):
            old = param[idx]
            param[idx] = old + h
            up = fun()
            param[idx] = old - h
            down = fun()
            param[idx] = old
            g[idx] = (up - down) / (2 * h)
        grads.append(g)
    return grads


@pytest.mark.parametrize("hidden", [(5,), (4, 3)])
def test_gradient_penalty_gradient_matches_finite_differences(hidden):
    rng = np.random.default_rng(41)
    params = _critics._mlp_init(3, hidden, rng)
    # Nonzero biases too, and weights large enough that some gradients exceed norm 1
    # (the one-sided penalty is zero below it).
    params = [2 * p + 0.1 * rng.normal(size=p.shape) for p in params]
    z = rng.normal(size=(7, 3))

    for one_sided in (False, True):
        penalty, grads = _critics._gp_penalty(params, z, 10.0, one_sided)
        numeric = _numeric_grad(
            lambda one_sided=one_sided: _critics._gp_penalty(params, z, 10.0, one_sided)[0], params
        )
        assert penalty > 0
        for g, ng in zip(grads, numeric, strict=True):
            np.testing.assert_allclose(g, ng, rtol=1e-5, atol=1e-7)

    coef = rng.normal(size=7)
    _, grads = _critics._mlp_output_grad(params, z, coef)
    numeric = _numeric_grad(lambda: _critics._mlp_output_grad(params, z, coef)[0], params)
    for g, ng in zip(grads, numeric, strict=True):
        np.testing.assert_allclose(g, ng, rtol=1e-6, atol=1e-8)

    g = _critics._mlp_input_grad(params, z)[0]
    h = 1e-6
    for k in range(3):
        e = np.zeros(3)
        e[k] = h
        fd = (_critics._mlp_forward(params, z + e)[0] - _critics._mlp_forward(params, z - e)[0]) / (2 * h)
        np.testing.assert_allclose(g[:, k], fd, rtol=1e-6, atol=1e-8)


def test_train_critic_small():
    rng = np.random.default_rng(42)
    X, Y = rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) + np.array([2.0, 0.0])
    gp = train_critic(X, Y, "gp", hidden=16, steps=300, seed=0)
    assert isinstance(gp, TrainedCritic)
    assert 1.0 < gp.estimate < 3.0 and gp.se > 0
    assert gp(X).shape == (200,)
    clip = train_critic(X, Y, "clip", hidden=(8, 8), steps=100, clip=0.05, seed=0)
    assert all(np.abs(p).max() <= 0.05 for p in clip.params)
    # Clipping fixes the Lipschitz constant only up to an unknown, here tiny, factor.
    assert 0 < clip.estimate < 0.5
    assert "TrainedCritic(method='clip'" in repr(clip)


def test_audit_flags_a_2_lipschitz_function_and_passes_the_exact_witness():
    rng = np.random.default_rng(43)
    X, Y = rng.normal(size=(120, 2)), rng.normal(size=(100, 2)) + np.array([1.0, 0.5])
    for kind in ("upper", "mid"):
        f = kr_witness(X, Y, kind=kind)
        audit = audit_critic(f, X, Y, seed=0)
        assert isinstance(audit, CriticAudit)
        assert not audit.flagged and audit.reasons == ()
        assert audit.lipschitz_ratio <= 1 + 1e-9
        assert audit.estimate == pytest.approx(audit.plugin, rel=1e-12)
    bad = audit_critic(lambda z: 2 * f(z), X, Y, seed=0)
    assert bad.flagged and len(bad.reasons) == 2
    assert bad.lipschitz_ratio == pytest.approx(2.0, rel=1e-6)
    # Steep but honest about the value: flagged for the slope alone.
    steep = audit_critic(lambda z: 0.05 * np.sin(100 * z[:, 0]), X, Y, seed=0)
    assert steep.flagged and steep.lipschitz_ratio > 1.5 and len(steep.reasons) == 1
    # A cityblock witness is not 1-Lipschitz for chebyshev distances.
    g = kr_witness(X, Y, metric="cityblock")
    assert not audit_critic(g, X, Y, metric="cityblock", seed=0).flagged
    assert audit_critic(g, X, Y, metric="chebyshev", seed=0).flagged


# --------------------------------------------------------------------------- evaluation & repr


def test_witness_evaluation_shapes():
    f = kr_witness([[0.0, 0.0]], [[3.0, 4.0]])
    assert f([1.0, 1.0]).shape == (1,)
    assert f([[1.0, 1.0], [2.0, 2.0]]).shape == (2,)
    assert f.dim == 2
    g = kr_witness([0.0, 1.0], [2.0, 3.0])
    assert g([0.5, 1.5, 2.5]).shape == (3,)
    with pytest.raises(ValueError, match="z"):
        f([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="coordinates"):
        f([[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="non-finite"):
        f([[np.nan, 0.0]])


def test_reprs_are_short():
    rng = np.random.default_rng(44)
    X, Y = rng.normal(size=(30, 2)), rng.normal(size=(30, 2))
    for obj in (
        certify(X, Y, n_probes=10, seed=0),
        sliced_w1(X, Y, n_projections=5, seed=0),
        w1_heldout_lower(X, Y, seed=0),
        permutation_test(X, Y, n_perm=5, seed=0),
        audit_critic(kr_witness(X, Y), X, Y, n_pairs=30, seed=0),
        sliced_w1(X, Y, n_projections=5, seed=0).witness,
    ):
        text = repr(obj)
        assert len(text) < 200 and "\n" not in text


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: kr_witness([[0.0]], [[1.0]], metric="sqeuclidean"), "sqeuclidean"),
        (lambda: certify([[0.0]], [[1.0]], metric="sqeuclidean"), "sqeuclidean"),
        (lambda: w1_plugin([[0.0]], [[1.0]], metric="sqeuclidean"), "sqeuclidean"),
        (lambda: w1_heldout_lower(np.zeros((5, 1)), np.ones((5, 1)), metric="sqeuclidean"), "sqeuclidean"),
        (lambda: audit_critic(abs, np.zeros((5, 1)), np.ones((5, 1)), metric="sqeuclidean"), "sqeuclidean"),
        (lambda: kr_witness([[0.0]], [[1.0]], metric="hamming"), "metric"),
        (lambda: kr_witness([[0.0, 1.0]], [[1.0]]), "same number of coordinates"),
        (lambda: kr_witness([[0.0]], [[1.0]], kind="median"), "kind"),
        (lambda: kr_witness([[0.0]]), "y is required"),
        (lambda: kr_witness([[0.0]], [[1.0]], [1.0], [2.0]), "equal total mass"),
        (lambda: kr_witness([[0.0]], [[1.0]], [-1.0]), "negative"),
        (lambda: kr_witness([[np.inf]], [[1.0]]), "non-finite"),
        (lambda: kr_witness([], [[1.0]]), "x is empty"),
        (lambda: witness_from_result(emd.solve([1.0], [1.0], [[0.0]])), "cost matrix"),
        (lambda: witness_from_result(emd.solve_points([[0.0]], [[1.0]], metric="sqeuclidean")), "sqeuclidean"),
        (lambda: kr_witness(emd.solve_points([[0.0]], [[1.0]]), [[1.0]]), "either"),
        (lambda: kr_witness(emd.solve_points([[0.0]], [[1.0]]), metric="cityblock"), "differs"),
        (lambda: certify([[0.0]], [[2.0]], result=emd.solve_points([[0.0]], [[1.0]])), "not solved for these"),
        (lambda: certify([[0.0]], [[1.0]], n_probes=-1), "n_probes"),
        (lambda: w1_plugin(np.zeros((3, 1)), np.ones((3, 1)), alpha=1.5), "alpha"),
        (lambda: w1_plugin(np.zeros((3, 1)), np.ones((3, 1)), bootstrap=-2), "bootstrap"),
        (lambda: w1_plugin(np.zeros((3, 1)), np.ones((3, 1)), bootstrap=2, subsample=(1, 2, 3)), "subsample"),
        (lambda: w1_heldout_lower(np.zeros((5, 1)), np.ones((5, 1)), split=1.0), "split"),
        (lambda: w1_heldout_lower(np.zeros((5, 1)), np.ones((5, 1)), bound="bernstein"), "bound"),
        (lambda: w1_heldout_lower(np.zeros((5, 1)), np.ones((5, 1)), witness="mlp"), "witness"),
        (lambda: w1_heldout_lower(np.zeros((2, 1)), np.ones((5, 1))), "X needs at least 3"),
        (lambda: w1_heldout_lower(np.zeros((5, 1)), np.ones((5, 1)), witness=lambda z: z[:2]), "shape"),
        (lambda: w1_bracket(np.zeros((5, 1)), np.ones((5, 1)), max_relative_width=0), "max_relative_width"),
        (lambda: sliced_w1(np.zeros((5, 2)), np.ones((5, 2)), n_projections=0), "n_projections"),
        (lambda: max_sliced_w1(np.zeros((5, 2)), np.ones((5, 2)), directions=[0.0, 0.0]), "directions"),
        (lambda: permutation_test(np.zeros((5, 1)), np.ones((5, 1)), n_perm=0), "n_perm"),
        (lambda: permutation_test(np.zeros((5, 1)), np.ones((5, 1)), statistic="ks"), "statistic"),
        (lambda: train_critic(np.zeros((5, 1)), np.ones((5, 1)), "spectral"), "method"),
        (lambda: train_critic(np.zeros((5, 1)), np.ones((5, 1)), hidden=()), "hidden"),
        (lambda: train_critic(np.zeros((5, 1)), np.ones((5, 1)), lr=-1.0), "lr"),
        (lambda: audit_critic(lambda z: np.ones((len(z), 2)), np.zeros((5, 1)), np.ones((5, 1))), "shape"),
        (lambda: audit_critic(lambda z: np.full(len(z), np.nan), np.zeros((5, 1)), np.ones((5, 1))), "non-finite"),
        (lambda: audit_critic(np.zeros((5, 1)), np.zeros((5, 1)), np.ones((5, 1))), "callable"),
    ],
)
def test_validation_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_unconverged_result_is_refused():
    rng = np.random.default_rng(45)
    x, y = rng.normal(size=(30, 2)), rng.normal(size=(30, 2))
    with pytest.warns(emd.SolverWarning):
        res = emd.solve_points(x, y, max_iter=1)
    with pytest.raises(ValueError, match="not optimal"):
        witness_from_result(res)
