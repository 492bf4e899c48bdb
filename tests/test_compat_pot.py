"""emd.compat.pot behaves like POT where users can see it, and is exact."""

from __future__ import annotations

import numpy as np
import ot
import pytest
from oracles import metric_cost, random_weights

import emd.compat.pot as pot


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 2)), rng.random((30, 2))
    return random_weights(rng, 40), random_weights(rng, 30), x, y


def test_emd_and_emd2_match_pot(problem):
    a, b, x, y = problem
    cost = metric_cost(x, y, "euclidean")
    plan = pot.emd(a, b, cost)
    assert isinstance(plan, np.ndarray) and plan.shape == (40, 30)
    assert (plan * cost).sum() == pytest.approx(ot.emd2(a, b, cost), rel=1e-9)
    assert pot.emd2(a, b, cost) == pytest.approx(ot.emd2(a, b, cost), rel=1e-9)


def test_log_has_pots_keys(problem):
    a, b, x, y = problem
    cost = metric_cost(x, y, "euclidean")
    value, log = pot.emd2(a, b, cost, log=True, return_matrix=True)
    _, pot_log = ot.emd2(a, b, cost, log=True, return_matrix=True)
    assert set(pot_log) <= set(log)
    assert log["result_code"] == pot_log["result_code"] == 1
    assert log["warning"] is None
    assert log["cost"] == value
    assert (log["u"] @ a + log["v"] @ b) == pytest.approx(value, rel=1e-9)
    _, plan_log = pot.emd(a, b, cost, log=True)
    assert plan_log["cost"] == pytest.approx(value)


def test_empty_weights_mean_uniform(problem):
    _, _, x, y = problem
    cost = metric_cost(x, y, "euclidean")
    assert pot.emd2([], [], cost) == pytest.approx(ot.emd2([], [], cost), rel=1e-9)


def test_two_dimensional_b_solves_each_column(problem):
    a, b, x, y = problem
    rng = np.random.default_rng(1)
    cost = metric_cost(x, y, "euclidean")
    bs = np.stack([b, random_weights(rng, 30)], axis=1)
    ours = pot.emd2(a, bs, cost)
    theirs = ot.emd2(a, bs, cost)
    assert len(ours) == 2
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)


def test_emd2_lazy_matches_pot(problem):
    a, b, x, y = problem
    for metric in ("sqeuclidean", "euclidean", "cityblock"):
        ours = pot.emd2_lazy(x, y, a, b, metric=metric, return_matrix=False)
        theirs = ot.emd2_lazy(x, y, a, b, metric=metric, return_matrix=False)
        assert ours == pytest.approx(theirs, rel=1e-9)
    # The default return_matrix=True returns the log with the sparse plan, as POT does.
    value, log = pot.emd2_lazy(x, y, metric="euclidean")
    theirs, their_log = ot.emd2_lazy(x, y, metric="euclidean")
    assert set(their_log) == set(log)
    assert log["G"].shape == their_log["G"].shape == (40, 30)
    assert value == pytest.approx(theirs, rel=1e-9)


def test_iteration_limit_warns_like_pot(problem):
    a, b, x, y = problem
    cost = metric_cost(x, y, "euclidean")
    with pytest.warns(UserWarning, match="numItermax"):
        _, log = pot.emd2(a, b, cost, numItermax=3, log=True)
    assert log["result_code"] == 3
    assert "numItermax" in log["warning"]


def test_errors_are_assertion_and_value_errors(problem):
    a, b, x, y = problem
    cost = metric_cost(x, y, "euclidean")
    with pytest.raises(AssertionError, match="Dimension mismatch"):
        pot.emd2(a[:-1], b, cost)
    with pytest.raises(ValueError, match="same sum"):
        pot.emd(a, 2 * b, cost)
    with pytest.raises(AssertionError, match="non-finite"):
        pot.emd2(a, b, np.full_like(cost, np.nan))
    with pytest.raises(pot.POTCompatError, match="metric"):
        pot.emd2_lazy(x, y, metric="chebyshev")
    # Masses equal to 6 decimals are accepted and b is rescaled, as in POT.
    assert pot.emd2(a, b * (1 + 1e-8), cost) == pytest.approx(ot.emd2(a, b, cost), rel=1e-7)
