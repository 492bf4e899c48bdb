"""Couplings from grid flows (emd.structured._coupling) against POT's ot.emd2."""

from __future__ import annotations

import numpy as np
import pytest
from oracles import metric_cost, pot_cost

import emd
from emd.structured._coupling import _cancel_plan_cycles, coupling_from_flow


def _coords(shape):
    return np.stack(np.unravel_index(np.arange(int(np.prod(shape))), shape), axis=1).astype(float)


def _pair(rng, shape, zeros):
    a, b = rng.random(shape), rng.random(shape)
    a[rng.random(shape) < zeros] = 0.0
    b[rng.random(shape) < zeros] = 0.0
    return a / a.sum(), b / b.sum()


def _check_coupling(a, b, rows, cols, masses, cost_matrix, expected_cost):
    """Marginals, positivity, basic support and cost of a coupling."""
    a, b = a.ravel(), b.ravel()
    assert (masses > 0).all()
    np.testing.assert_allclose(np.bincount(rows, masses, minlength=a.size), a, atol=1e-14)
    np.testing.assert_allclose(np.bincount(cols, masses, minlength=b.size), b, atol=1e-14)
    assert masses.size <= np.count_nonzero(a) + np.count_nonzero(b) - 1
    # A forest: no (row, col) pair twice.
    assert len(set(zip(rows.tolist(), cols.tolist(), strict=True))) == masses.size
    cost = float(masses @ cost_matrix[rows, cols])
    assert cost == pytest.approx(expected_cost, rel=1e-12, abs=1e-15)
    return cost


# --- bad input first --------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([1.0], [0.5, 0.5], [], [], []), "same size"),
        (([1.0, 0.0], [0.0, 1.0], [0], [1, 0], [1.0]), "equal lengths"),
        (([1.0, 0.0], [0.0, 1.0], [0], [2], [1.0]), "node indices"),
        (([1.0, 0.0], [0.0, 1.0], [0], [1], [0.5]), "does not carry a to b"),
    ],
)
def test_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        coupling_from_flow(*(np.asarray(x) for x in args))


# --- hand-checked cases ------------------------------------------------------


def test_path_through_a_node_with_its_own_mass():
    # 0 -> 1 -> 2 carries 1; bin 1 has mass 0.5 of its own and wants 0.5.
    rows, cols, masses = coupling_from_flow(
        np.array([1.0, 0.5, 0.0]), np.array([0.0, 0.5, 1.0]), [0, 1], [1, 2], [1.0, 1.0]
    )
    assert sorted(zip(rows.tolist(), cols.tolist(), masses.tolist(), strict=True)) == [
        (0, 2, 1.0),
        (1, 1, 0.5),
    ]


def test_no_flow_keeps_every_bin():
    a = np.array([0.25, 0.0, 0.75])
    rows, cols, masses = coupling_from_flow(a, a, [], [], [])
    assert rows.tolist() == [0, 2] and cols.tolist() == [0, 2]
    assert masses.tolist() == [0.25, 0.75]


def test_a_flow_cycle_is_removed():
    # 0 -> 1 carries 1 (the transport), plus a cycle 1 -> 2 -> 1 of 0.25.
    a, b = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    rows, cols, masses = coupling_from_flow(a, b, [0, 1, 2], [1, 2, 1], [1.0, 0.25, 0.25])
    assert (rows.tolist(), cols.tolist(), masses.tolist()) == ([0], [1], [1.0])


def test_plan_cycles_are_cancelled_without_raising_the_cost():
    # A full 2 x 2 plan has a cycle; the cost matrix makes one direction cheaper.
    cost = np.array([[0.0, 1.0], [1.0, 0.0]])
    rows, cols, masses = _cancel_plan_cycles(
        [0, 0, 1, 1], [0, 1, 0, 1], [0.3, 0.2, 0.2, 0.3], lambda i, j: cost[i, j]
    )
    plan = np.zeros((2, 2))
    plan[rows, cols] = masses
    np.testing.assert_allclose(plan, [[0.5, 0.0], [0.0, 0.5]])


def test_plan_cycles_of_zero_cost_keep_the_cost():
    rng = np.random.default_rng(5)
    # A dense optimal plan of a problem where every plan is optimal
    # (cost u_i + v_j): cancelling must reach a forest at the same cost.
    u, v = rng.random(6), rng.random(5)
    cost = u[:, None] + v[None, :]
    a, b = rng.random(6), rng.random(5)
    a, b = a / a.sum(), b / b.sum()
    plan = np.outer(a, b)
    i, j = np.nonzero(plan)
    rows, cols, masses = _cancel_plan_cycles(
        i.tolist(), j.tolist(), plan[i, j].tolist(), lambda r, c: cost[r, c]
    )
    _check_coupling(a, b, rows, cols, masses, cost, float((plan * cost).sum()))


# --- against POT on the same ground cost -------------------------------------


@pytest.mark.parametrize("shape", [(9,), (6, 7), (12, 10), (3, 4, 3)])
@pytest.mark.parametrize("metric", ["cityblock", "chebyshev"])
def test_grid_coupling_matches_pot(shape, metric):
    rng = np.random.default_rng(int(np.prod(shape)))
    a, b = _pair(rng, shape, zeros=0.3)
    result = emd.solve_grid(a, b, metric=metric, volume=a.ndim == 3, return_flows=True)
    coords = _coords(shape)
    cost = metric_cost(coords, coords, metric)
    rows, cols, masses = coupling_from_flow(
        a, b, *result.flows, cost=lambda i, j: cost[i, j]
    )
    reference = pot_cost(a.ravel(), b.ravel(), cost)
    assert float(result.cost) == pytest.approx(reference, rel=1e-12)
    _check_coupling(a, b, rows, cols, masses, cost, reference)


def test_euclidean_graph_coupling_lies_between_exact_and_flow_cost():
    rng = np.random.default_rng(11)
    a, b = _pair(rng, (9, 8), zeros=0.2)
    result = emd.solve_grid(a, b, metric="euclidean", return_flows=True)
    coords = _coords(a.shape)
    cost = metric_cost(coords, coords, "euclidean")
    rows, cols, masses = coupling_from_flow(a, b, *result.flows, cost=lambda i, j: cost[i, j])
    exact = pot_cost(a.ravel(), b.ravel(), cost)
    plan_cost = float(masses @ cost[rows, cols])
    assert exact * (1 - 1e-12) <= plan_cost <= float(result.cost) * (1 + 1e-12)
    np.testing.assert_allclose(np.bincount(rows, masses, minlength=a.size), a.ravel(), atol=1e-14)
    np.testing.assert_allclose(np.bincount(cols, masses, minlength=b.size), b.ravel(), atol=1e-14)
    assert masses.size <= np.count_nonzero(a) + np.count_nonzero(b) - 1


def test_exact_euclidean_plan_passes_through():
    rng = np.random.default_rng(12)
    a, b = _pair(rng, (5, 6), zeros=0.3)
    result = emd.solve_grid(a, b, metric="euclidean", exact=True, return_flows=True)
    coords = _coords(a.shape)
    cost = metric_cost(coords, coords, "euclidean")
    rows, cols, masses = coupling_from_flow(a, b, *result.flows, cost=lambda i, j: cost[i, j])
    _check_coupling(a, b, rows, cols, masses, cost, pot_cost(a.ravel(), b.ravel(), cost))


def test_unnormalised_integer_masses():
    # Counts on a line: the coupling moves whole units, matched with POT.
    a = np.array([3.0, 0.0, 5.0, 1.0, 0.0, 2.0])
    b = np.array([0.0, 4.0, 1.0, 0.0, 6.0, 0.0])
    result = emd.solve_grid(a, b, return_flows=True)
    coords = _coords(a.shape)
    cost = metric_cost(coords, coords, "cityblock")
    rows, cols, masses = coupling_from_flow(a, b, *result.flows)
    _check_coupling(a, b, rows, cols, masses, cost, pot_cost(a, b, cost))
