"""emd.compat.pot behaves like POT where users can see it, and is exact."""

from __future__ import annotations

import math
import warnings

import numpy as np
import ot
import pytest
import scipy.optimize
import scipy.sparse
from oracles import highs_cost, metric_cost, random_weights

import emd
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


# --- numThreads: POT 0.9.7's deprecation -----------------------------------------------------

@pytest.mark.parametrize("function", [pot.emd, pot.emd2])
def test_num_threads_other_than_one_warns_and_is_ignored(function, problem):
    a, b, x, y = problem
    cost = metric_cost(x, y, "euclidean")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        silent = function(a, b, cost, numThreads=1)
    for threads in (2, 8, "max", None):
        with pytest.warns(DeprecationWarning, match="'numThreads' parameter is deprecated") as caught:
            loud = function(a, b, cost, numThreads=threads)
        # The warning points at the caller's line, as POT's does.
        assert caught[0].filename == __file__
        np.testing.assert_array_equal(loud, silent)


@pytest.mark.parametrize("threads", [0, -1, 2.5, "many"])
def test_invalid_num_threads_are_refused_as_pot_refuses_them(threads, problem):
    a, b, x, y = problem
    with pytest.raises(ValueError, match='numThreads should either be "max"'):
        pot.emd2(a, b, metric_cost(x, y, "euclidean"), numThreads=threads)


# --- sparse cost matrices: only the stored entries are arcs ---------------------------------

def _highs_on_arcs(a, b, rows, cols, costs) -> float:
    """The transport LP whose variables are the given arcs only, solved by HiGHS."""
    k = rows.size
    incidence = scipy.sparse.vstack([
        scipy.sparse.coo_array((np.ones(k), (rows, np.arange(k))), shape=(a.size, k)),
        scipy.sparse.coo_array((np.ones(k), (cols, np.arange(k))), shape=(b.size, k)),
    ]).tocsr()
    res = scipy.optimize.linprog(
        costs, A_eq=incidence, b_eq=np.concatenate([a, b]), bounds=(0, None), method="highs",
        options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
    )
    assert res.status == 0, res.message
    return float(res.fun)


def _sparse_problem(seed, n, m, per_row=3):
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(n), per_row)
    cols = rng.integers(0, m, size=rows.size)
    # Every column reachable, and a diagonal band so uniform masses are feasible.
    band_rows = np.arange(max(n, m)) % n
    band_cols = np.arange(max(n, m)) % m
    rows = np.concatenate([rows, band_rows, (band_rows + 1) % n])
    cols = np.concatenate([cols, band_cols, band_cols])
    costs = rng.random(rows.size) * 10 - 2  # negative costs are allowed
    return scipy.sparse.coo_array((costs, (rows, cols)), shape=(n, m))


@pytest.mark.parametrize("seed,n,m", [(0, 30, 30), (1, 25, 40), (2, 50, 20)])
def test_sparse_cost_matches_an_lp_on_the_stored_arcs(seed, n, m):
    M = _sparse_problem(seed, n, m)
    a, b = np.full(n, 1.0 / n), np.full(m, 1.0 / m)
    canonical = M.copy()
    canonical.sum_duplicates()
    reference = _highs_on_arcs(a, b, canonical.row, canonical.col, canonical.data)
    plan, log = pot.emd(a, b, M, log=True)
    assert isinstance(plan, scipy.sparse.coo_array) and plan.shape == (n, m)
    assert log["cost"] == pytest.approx(reference, rel=1e-9, abs=1e-12)
    assert pot.emd2(a, b, M) == log["cost"]
    dense_plan = plan.toarray()
    np.testing.assert_allclose(dense_plan.sum(axis=1), a, atol=1e-14)
    np.testing.assert_allclose(dense_plan.sum(axis=0), b, atol=1e-14)
    stored = canonical.toarray() != 0
    stored[canonical.row, canonical.col] = True
    assert not (dense_plan[~stored] > 0).any()  # mass only on stored entries
    assert plan.nnz <= n + m - 1  # a basic solution
    # Dual feasibility on every stored arc, tight on the plan, equal values.
    reduced = canonical.data - log["u"][canonical.row] - log["v"][canonical.col]
    assert reduced.min() >= -1e-12
    assert abs(reduced[dense_plan[canonical.row, canonical.col] > 0]).max() <= 1e-12
    assert log["u"] @ a + log["v"] @ b == pytest.approx(log["cost"], rel=1e-12, abs=1e-14)
    # Other sparse formats and POT's own sparse solver agree.
    assert pot.emd2(a, b, M.tocsr()) == pytest.approx(log["cost"], rel=1e-12, abs=1e-14)
    assert ot.emd2(a, b, canonical) == pytest.approx(log["cost"], rel=1e-7, abs=1e-9)


def test_explicit_zeros_are_arcs_and_duplicates_are_summed():
    # Row 0 may go to column 0 at the explicit cost 0 or to column 1 at 1 + 2 = 3.
    rows = np.array([0, 0, 0, 1])
    cols = np.array([0, 1, 1, 1])
    M = scipy.sparse.coo_array((np.array([0.0, 1.0, 2.0, 5.0]), (rows, cols)), shape=(2, 2))
    assert M.nnz == 4
    plan, log = pot.emd([0.5, 0.5], [0.5, 0.5], M, log=True)
    assert log["cost"] == 2.5  # 0.5 * 0 (the stored zero) + 0.5 * 5
    np.testing.assert_array_equal(plan.toarray(), [[0.5, 0.0], [0.0, 0.5]])
    plan = pot.emd([0.5, 0.5], [0.0, 1.0], M)
    # The summed duplicate: cost 3, not 1 or 2.
    assert pot.emd2([0.5, 0.5], [0.0, 1.0], M) == pytest.approx(0.5 * 3 + 0.5 * 5)
    np.testing.assert_allclose(plan.toarray(), [[0.0, 0.5], [0.0, 0.5]])


@pytest.mark.parametrize("shape,entries,match", [
    # Row 1 has mass and nothing stored.
    ((2, 2), ([0, 0], [0, 1], [1.0, 1.0]), r"row 1 of M has mass a\[1\]=0.5 but no stored entry"),
    # Column 1 has mass and nothing stored.
    ((2, 2), ([0, 1], [0, 0], [1.0, 1.0]), r"column 1 of M has mass b\[1\]=0.5 but no stored entry"),
    # Every line has an entry, but rows 0 and 1 can only reach column 0 (Hall's condition).
    ((3, 3), ([0, 1, 2, 2], [0, 0, 1, 2], [1.0] * 4), "some rows have more mass than the columns"),
])
def test_a_pattern_without_a_feasible_plan_gets_the_infeasible_code(shape, entries, match):
    # POT's convention: result code 0 and a UserWarning starting "Problem infeasible";
    # here the cost is NaN (POT's 0.0 reads as a distance) and the plan is empty.
    rows, cols, costs = (np.array(e) for e in entries)
    M = scipy.sparse.coo_array((costs, (rows, cols)), shape=shape)
    a, b = np.full(shape[0], 1.0 / shape[0]), np.full(shape[1], 1.0 / shape[1])
    expected = "Problem infeasible. M's stored entries admit no transport plan between a and b: "
    with pytest.warns(UserWarning, match=expected + match):
        plan, log = pot.emd(a, b, M, log=True)
    assert plan.nnz == 0 and log["result_code"] == 0 and math.isnan(log["cost"])
    assert log["warning"].startswith("Problem infeasible.")
    with pytest.warns(UserWarning, match="Problem infeasible"):
        assert math.isnan(pot.emd2(a, b, M))


def test_sparse_emd2_log_and_return_matrix():
    M = _sparse_problem(4, 20, 20)
    a = np.full(20, 0.05)
    value, log = pot.emd2(a, a, M, log=True, return_matrix=True)
    assert scipy.sparse.issparse(log["G"]) and log["cost"] == value and log["result_code"] == 1
    assert pot.emd2(a, np.stack([a, a], axis=1), M) == [value, value]


def test_dense_and_points_paths_still_refuse_sparse_input():
    M = scipy.sparse.coo_array(np.ones((2, 2)))
    with pytest.raises(TypeError, match=r"cost is a scipy\.sparse matrix"):
        emd.solve([0.5, 0.5], [0.5, 0.5], M)


# --- warm start from potentials_init -----------------------------------------------------------

def _early_potentials(a, b, cost):
    with pytest.warns(UserWarning, match="numItermax"):
        _, log = pot.emd(a, b, cost, numItermax=50, log=True)
    return log["u"], log["v"]


@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean"])
def test_warm_start_from_an_early_stop_gives_the_same_plan(metric):
    rng = np.random.default_rng(11)
    x, y = rng.normal(size=(80, 2)), rng.normal(size=(70, 2))
    a, b = random_weights(rng, 80, zeros=5), random_weights(rng, 70, zeros=5)
    cost = metric_cost(x, y, metric)
    init = _early_potentials(a, b, cost)
    cold_plan, cold = pot.emd(a, b, cost, log=True)
    warm_plan, warm = pot.emd(a, b, cost, log=True, potentials_init=init)
    # Random real costs: the optimum is unique, so the plans are equal too.
    np.testing.assert_allclose(warm_plan, cold_plan, rtol=0, atol=1e-15)
    assert warm["cost"] == pytest.approx(cold["cost"], rel=1e-12)
    assert warm["cost"] == pytest.approx(highs_cost(a, b, cost), rel=1e-9)
    assert pot.emd2(a, b, cost, potentials_init=init) == pytest.approx(cold["cost"], rel=1e-12)
    lazy = pot.emd2_lazy(x, y, a, b, metric=metric, return_matrix=False, potentials_init=init)
    assert lazy == pytest.approx(cold["cost"], rel=1e-12)


def test_any_potentials_leave_the_answer_unchanged():
    rng = np.random.default_rng(12)
    cost = rng.random((60, 50))
    a, b = random_weights(rng, 60), random_weights(rng, 50)
    cold_plan, cold = pot.emd(a, b, cost, log=True)
    for init in (
        (np.zeros(60), np.zeros(50)),
        (rng.normal(size=60) * 1e3, rng.normal(size=50) * 1e3),  # nonsense potentials
        (cold["u"], cold["v"]),  # the optimal ones
    ):
        plan, log = pot.emd(a, b, cost, log=True, potentials_init=init)
        np.testing.assert_allclose(plan, cold_plan, rtol=0, atol=1e-15)
        assert log["cost"] == pytest.approx(cold["cost"], rel=1e-12)


def test_engine_candidates_from_zero_mass_bins_are_dropped():
    from emd import _engine
    from emd.transport import solve_validated

    rng = np.random.default_rng(13)
    cost = rng.random((12, 10))
    a, b = random_weights(rng, 12, zeros=3), random_weights(rng, 10, zeros=2)
    every = np.divmod(np.arange(120), 10)
    warm = _engine.solve_bipartite(a, b, _engine.DenseCosts(cost), None, initial_arcs=every)
    cold = solve_validated(a, b, cost, None)
    assert warm.status == "optimal"
    assert warm.cost == pytest.approx(cold.cost, rel=1e-12)


@pytest.mark.parametrize("init,match", [
    ((np.zeros(3), np.zeros(30)), r"potentials_init must have shapes \(40,\) and \(30,\)"),
    ((np.zeros(40), np.full(30, np.nan)), "finite"),
    (np.zeros(40), "a pair of arrays"),
])
def test_bad_potentials_init_is_refused(init, match, problem):
    a, b, x, y = problem
    with pytest.raises(ValueError, match=match):
        pot.emd(a, b, metric_cost(x, y, "euclidean"), potentials_init=init)


# --------------------------------------------------------------------------- dtypes and names


def _dtypes(value):
    """The dtypes a caller sees: of the plan, and of the log's arrays."""
    if isinstance(value, (tuple, list)) and len(value) == 2 and isinstance(value[1], dict):
        return _dtypes(value[0]), {
            key: _dtypes(item) for key, item in value[1].items() if key in ("u", "v", "G")
        }
    if scipy.sparse.issparse(value):
        return ("sparse", value.dtype)
    return getattr(value, "dtype", type(value))


def _forms(a):
    return {"array": a, "float32": a.astype(np.float32), "float16": a.astype(np.float16),
            "list": a.tolist(), "empty": []}


@pytest.mark.parametrize("a_form", ["array", "float32", "float16", "list", "empty"])
@pytest.mark.parametrize("b_form", ["array", "float32", "list", "empty"])
@pytest.mark.parametrize("m_form", ["float64", "float32", "list", "sparse32", "sparse64"])
def test_outputs_have_the_dtype_pot_gives_them(a_form, b_form, m_form):
    rng = np.random.default_rng(31)
    a, b, cost = random_weights(rng, 4), random_weights(rng, 5), rng.random((4, 5))
    A = _forms(a)[a_form]
    B = _forms(b)[b_form]
    M = {"float64": cost, "float32": cost.astype(np.float32), "list": cost.tolist(),
         "sparse32": scipy.sparse.coo_array(cost.astype(np.float32)),
         "sparse64": scipy.sparse.coo_array(cost)}[m_form]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # float16 weights do not sum to 1 to 6 decimals: no marginal check here.
        for name, kwargs in (("emd", {}), ("emd", {"log": True}),
                             ("emd2", {"log": True, "return_matrix": True})):
            kwargs = {**kwargs, "check_marginals": False}
            ours = getattr(pot, name)(A, B, M, **kwargs)
            try:
                theirs = getattr(ot, name)(A, B, M, **kwargs)
            except ValueError:  # POT cannot make a float16 sparse plan; ours is float32
                assert m_form.startswith("sparse") and a_form == "float16"
                plan = ours[0] if isinstance(ours, tuple) else ours
                plan = plan if name == "emd" else ours[1]["G"]
                assert plan.dtype == np.float32
                continue
            assert _dtypes(ours) == _dtypes(theirs), (name, kwargs)
            if name == "emd2":
                assert isinstance(ours[0], float) and isinstance(theirs[0], float)


@pytest.mark.parametrize("w_form", ["array", "float32", "list", None])
@pytest.mark.parametrize("x_form", ["array", "float32", "list"])
def test_emd2_lazy_outputs_have_the_dtype_pot_gives_them(w_form, x_form):
    rng = np.random.default_rng(32)
    x, y = rng.random((4, 2)), rng.random((5, 2))
    a, b = random_weights(rng, 4), random_weights(rng, 5)
    X = {"array": x, "float32": x.astype(np.float32), "list": x.tolist()}[x_form]
    Y = y.astype(np.float32)
    A = None if w_form is None else _forms(a)[w_form]
    for B in (None, b, b.astype(np.float32), b.tolist()):
        for kwargs in ({}, {"log": True, "return_matrix": False}):
            ours = pot.emd2_lazy(X, Y, A, B, metric="euclidean", **kwargs)
            theirs = ot.emd2_lazy(X, Y, A, B, metric="euclidean", **kwargs)
            assert _dtypes(ours) == _dtypes(theirs), (type(B), kwargs)


def test_a_float32_plan_is_the_float64_plan_rounded():
    rng = np.random.default_rng(33)
    a, b, cost = random_weights(rng, 30), random_weights(rng, 20), rng.random((30, 20))
    plan32 = pot.emd(a.astype(np.float32), b.astype(np.float32), cost.astype(np.float32))
    plan64 = pot.emd(a.astype(np.float32).astype(np.float64),
                     b.astype(np.float32).astype(np.float64), cost.astype(np.float32))
    assert plan32.dtype == np.float32
    np.testing.assert_array_equal(plan32, plan64.astype(np.float32))


def test_integer_weights_give_a_float64_plan_not_a_rounded_one():
    plan = pot.emd(np.array([1, 1]), np.array([1, 1]), np.array([[0.0, 1.0], [1.0, 0.0]]))
    assert plan.dtype == np.float64
    np.testing.assert_array_equal(plan, np.eye(2))


def test_dir_lists_only_the_public_names():
    assert dir(pot) == sorted(pot.__all__)
    assert {"np", "scipy", "solve_validated", "math", "warnings"}.isdisjoint(dir(pot))
    namespace = {}
    exec("from emd.compat.pot import *", namespace)
    assert sorted(k for k in namespace if not k.startswith("__")) == sorted(pot.__all__)
