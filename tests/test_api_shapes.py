"""One shape per kind of function, one mass rule per family, one place for each input rule.

``wasserstein_*`` return a float, ``solve_*`` a result object; the grid
functions refuse RGB-like arrays; masses of low-precision dtypes agree to
their own precision.
"""

from __future__ import annotations

import copy
import math
import pickle
import warnings

import numpy as np
import pytest
from oracles import pot_cost

import emd
from emd._validation import MASS_RTOL, balance, input_eps, mass_rtol


def _grid_cost_matrix(shape, metric):
    coords = np.stack(np.unravel_index(np.arange(math.prod(shape)), shape), axis=1)
    diff = np.abs(coords[:, None, :] - coords[None, :, :]).astype(float)
    return diff.sum(-1) if metric == "cityblock" else diff.max(-1)


# --- wasserstein_grid gives the number, solve_grid the result ---------------------------------

@pytest.mark.parametrize("metric", ["cityblock", "chebyshev"])
def test_wasserstein_grid_is_the_float_of_solve_grid_and_matches_pot(metric):
    rng = np.random.default_rng(5)
    A, B = rng.random((6, 5)), rng.random((6, 5))
    A /= A.sum()
    B /= B.sum()
    result = emd.solve_grid(A, B, metric=metric)
    value = emd.wasserstein_grid(A, B, metric=metric)
    assert isinstance(result, emd.GridResult)
    assert type(value) is not emd.GridResult and isinstance(value, float)
    assert float(value) == result.cost
    assert value == pytest.approx(
        pot_cost(A.ravel(), B.ravel(), _grid_cost_matrix(A.shape, metric)), rel=1e-9
    )


def test_the_float_works_silently_where_floats_do():
    A = np.zeros((4, 4))
    A[0, 0] = 1.0
    B = np.zeros((4, 4))
    B[2, 3] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = emd.wasserstein_grid(A, B)
        assert float(value) == 5.0 and round(value) == 5 and f"{value:.3f}" == "5.000"
        assert value + 1 == 6.0 and value * 2 == 10.0 and value < 6
        assert np.isclose(value, 5.0) and math.isclose(value, 5.0)
        assert repr(value) == "5.0"
    # Copies and pickles are plain floats (the deprecated attributes do not travel).
    for clone in (pickle.loads(pickle.dumps(value)), copy.copy(value), copy.deepcopy(value)):
        assert clone == 5.0 and type(clone) is float


def test_old_grid_result_attributes_warn_and_name_solve_grid():
    rng = np.random.default_rng(2)
    A, B = rng.random((5, 5)), rng.random((5, 5))
    kwargs = {"normalize": True, "metric": "euclidean", "L": 2, "return_flows": True}
    value = emd.wasserstein_grid(A, B, **kwargs)
    result = emd.solve_grid(A, B, **kwargs)
    for name in ("cost", "potential", "rel_error_bound", "L", "flows", "status", "lower_bound"):
        with pytest.warns(DeprecationWarning, match=rf"use emd\.solve_grid\(\.\.\.\)\.{name}"):
            old = getattr(value, name)
        if isinstance(old, tuple):
            for got, want in zip(old, getattr(result, name), strict=True):
                np.testing.assert_array_equal(got, want)
        else:
            np.testing.assert_array_equal(old, getattr(result, name))
    with pytest.raises(AttributeError, match="wasserstein_grid returns a float"):
        value.plan  # noqa: B018


def test_a_stopped_solver_gives_nan_with_the_solver_warning():
    rng = np.random.default_rng(4)
    A, B = rng.random((30, 30)), rng.random((30, 30))
    with pytest.warns(emd.SolverWarning, match="max_iter=1"):
        value = emd.wasserstein_grid(A, B, normalize=True, max_iter=1)
    assert math.isnan(value)


# --- RGB arrays on grids -----------------------------------------------------------------------

@pytest.mark.parametrize("channels", [3, 4])
def test_rgb_like_arrays_are_refused_with_the_choice_named(channels):
    rng = np.random.default_rng(0)
    A, B = rng.random((8, 9, channels)), rng.random((8, 9, channels))
    for function in (emd.solve_grid, emd.wasserstein_grid):
        with pytest.raises(ValueError, match=rf"A has shape \(8, 9, {channels}\), like an RGB") as info:
            function(A, B, normalize=True)
        assert "A.mean(axis=-1)" in str(info.value) and "volume=True" in str(info.value)
        assert "\n" not in str(info.value)


def test_volume_true_solves_the_3d_grid():
    rng = np.random.default_rng(1)
    A, B = rng.random((3, 2, 3)), rng.random((3, 2, 3))
    A /= A.sum()
    B /= B.sum()
    value = emd.wasserstein_grid(A, B, volume=True)
    assert value == pytest.approx(
        pot_cost(A.ravel(), B.ravel(), _grid_cost_matrix(A.shape, "cityblock")), rel=1e-9
    )
    # Other 3-D shapes need no option; 2-D grids with 3 columns are not images.
    emd.solve_grid(np.ones((3, 3, 5)), np.ones((3, 3, 5)))
    emd.solve_grid(np.ones((7, 3)), np.ones((7, 3)))


# --- masses of low-precision dtypes ------------------------------------------------------------

def test_mass_rule_values():
    eps32 = float(np.finfo(np.float32).eps)
    assert mass_rtol(10) == MASS_RTOL
    assert mass_rtol(100, eps32) == pytest.approx(100 * eps32)
    assert mass_rtol(10**6, eps32) == pytest.approx(math.sqrt(eps32))  # capped at half the digits
    assert mass_rtol(10**8) == pytest.approx(math.sqrt(np.finfo(float).eps))
    assert input_eps([1.0], np.ones(2, dtype=np.int32), np.ones(2, dtype=np.longdouble)) == np.finfo(float).eps
    assert input_eps(np.ones(2), np.ones(2, dtype=np.float32)) == eps32
    assert input_eps(np.ones(2, dtype=np.float16)) == np.finfo(np.float16).eps


def test_float32_histograms_normalised_in_float32_are_equal_masses():
    rng = np.random.default_rng(8)
    A = rng.random((20, 20)).astype(np.float32)
    B = rng.random((20, 20)).astype(np.float32)
    A /= A.sum()
    B /= B.sum()
    gap = abs(math.fsum(A.ravel().astype(float)) - math.fsum(B.ravel().astype(float)))
    assert gap > 1e-9  # refused before, at float64's tolerance
    value = emd.wasserstein_grid(A, B)
    # The problem solved: b rescaled to a's total, both as float64.
    a64 = A.ravel().astype(float)
    b64 = B.ravel().astype(float)
    b64 *= a64.sum() / b64.sum()
    assert value == pytest.approx(pot_cost(a64, b64, _grid_cost_matrix(A.shape, "cityblock")), rel=1e-9)
    # The same values as float64 claim float64 precision: refused.
    with pytest.raises(ValueError, match="equal total mass"):
        emd.wasserstein_grid(A.astype(float), B.astype(float))


def test_a_forgotten_normalisation_is_refused_at_every_precision():
    A = np.ones((40, 40), dtype=np.float32)
    B = A * np.float32(1.001)
    with pytest.raises(ValueError, match=r"equal total mass.*above 0.00035.*normalize=True"):
        emd.wasserstein_grid(A, B)


def test_balance_rescales_b_only_beyond_float64_rounding():
    a = np.array([0.25, 0.75])
    b = np.array([0.5, 0.5 + 1e-12])
    assert balance(a, b, False)[1] is b
    b32 = np.array([0.5, 0.5 + 1e-7])
    _, rescaled = balance(a, b32, False, eps=float(np.finfo(np.float32).eps))
    assert math.fsum(rescaled) == pytest.approx(1.0, abs=1e-15)
    np.testing.assert_allclose(rescaled / b32, rescaled[0] / b32[0])
