"""Feasibility is exact: ``status == "optimal"`` and a passing certificate need every unit of
mass delivered.  Stranded mass of any size, from 2**-60 beside 1 up to 1, is infeasible (or
each family's documented error), and its certificate does not pass; the feasible twin (the
same instance with the stranded mass given a way) is optimal, certified and agrees with the
exact integer optimum (networkx on Python integers) and with HiGHS.  Totals that differ only
by rounding are still balanced exactly and proven.

Paths checked: ``emd.min_cost_flow`` (isolated and wrong-way stranded mass), ``emd.solve_graph``
and ``emd.wasserstein_graph`` (disconnected components), ``emd.compat.pot.emd``/``emd2`` with a
sparse ``M`` (stranded rows and columns), and the certificates themselves.  Paths with no way
to strand mass, each tested here for what it does instead: ``emd.solve_tree`` (a forest is
refused: exactly one root), ``emd.solve`` and POT's dense ``M`` (non-finite costs are refused;
POT documents no forbidden entries for a dense ``M``), and grids (every bin of a regular grid
reaches every other; no grid form takes a mask).
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse
from oracles import (
    exact_float_cost,
    exact_flow_cost,
    highs_cost,
    highs_flow_cost,
    random_weights,
)

import emd
import emd.compat.pot as pot
from emd import _certify
from emd._result import certify_flow

#: Stranded masses 2**-60 .. 2**0 (every power).
POWERS = list(range(60, -1, -1))


def _mass(k: int) -> float:
    return 2.0**-k


def _assert_matches_exact(cost: float, bound: float, exact: Fraction) -> None:
    """The reported cost is within its certificate's bound of the exact optimum, and that
    bound is the 1e-9 relative that "optimal" promises."""
    assert abs(Fraction(cost) - exact) <= Fraction(bound) * (1 + Fraction(1, 10**9))
    assert abs(Fraction(cost) - exact) <= Fraction(1, 10**9) * abs(exact)


# --------------------------------------------------------------------------- the findings


@pytest.mark.parametrize("mass", [2.0**-35, 2.0**-20])
def test_finding_min_cost_flow_supply_without_an_arc_is_infeasible(mass):
    # Node 2 supplies `mass` and has no arc; node 1 asks for it on top of node 0's unit.
    with pytest.warns(emd.SolverWarning, match="infeasible"):
        result = emd.min_cost_flow([0], [1], [1.0], [1.0, -1.0 - mass, mass])
    assert result.status == "infeasible" and math.isnan(result.cost)
    certificate = result.certificate()
    assert not certificate.optimal() and certificate.bound == math.inf
    assert certificate.unrouted >= mass
    assert exact_flow_cost([0], [1], [1.0], [1.0, -1.0 - mass, mass]) is None


def test_finding_graph_component_with_net_mass_is_an_error():
    e = 2.0**-35
    edges = np.array([[0, 1], [2, 3]])
    for solve in (emd.solve_graph, emd.wasserstein_graph):
        with pytest.raises(ValueError, match=r"mass cannot reach its target.*node 2 has net mass"):
            solve((edges, [1.0, 1.0]), [1.0, 0.0, e, 0.0], [0.0, 1.0 + e, 0.0, 0.0])


def test_finding_sparse_pot_row_whose_only_entry_has_no_mass_is_infeasible():
    e = 2.0**-40
    M = scipy.sparse.coo_array(([1.0, 2.0], ([0, 1], [0, 1])), shape=(2, 2))
    a, b = np.array([1.0, e]), np.array([1.0 + e, 0.0])
    with pytest.warns(UserWarning, match=r"Problem infeasible.*row 1 of M has mass"):
        cost, log = pot.emd2(a, b, M, log=True)
    assert log["result_code"] == 0 and math.isnan(cost) and math.isnan(log["cost"])
    # POT itself calls this optimal (its solver has a tolerance); the exact answer is no plan.
    assert exact_flow_cost([0, 1], [2, 3], [1.0, 2.0], [1.0, e, -1.0 - e, 0.0]) is None


# --------------------------------------------------------------------------- min-cost flow


def _flow_instances(mass: float):
    """(name, tails, heads, costs, supply, feasible twin's tails, heads, costs): node 0 sends
    a unit to node 1; nodes 2 and 3 hold +mass and -mass."""
    supply = [1.0, -1.0, mass, -mass]
    return [
        # No arc at 2 or 3: each is a component of its own.
        ("isolated", [0], [1], [1.0], supply, [0, 2], [1, 3], [1.0, 3.0]),
        # 2 and 3 are joined, but the wrong way: a component that balances, and still no
        # flow (the witness: {2}, which no arc leaves, holds +mass).
        ("wrong way", [0, 3, 2], [1, 1, 0], [1.0, 2.0, 5.0], supply,
         [0, 3, 2, 2], [1, 1, 0, 3], [1.0, 2.0, 5.0, 7.0]),
    ]


@pytest.mark.parametrize("k", POWERS)
def test_min_cost_flow_stranded_mass_sweep(k):
    mass = _mass(k)
    for name, tails, heads, costs, supply, *twin in _flow_instances(mass):
        assert exact_flow_cost(tails, heads, costs, supply) is None, name
        with pytest.warns(emd.SolverWarning, match="infeasible"):
            result = emd.min_cost_flow(tails, heads, costs, supply)
        assert result.status == "infeasible" and math.isnan(result.cost), name
        certificate = result.certificate()
        assert certificate.bound == math.inf and not certificate.optimal(), name
        # The twin: the stranded mass given an arc.
        t, h, c = twin
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fixed = emd.min_cost_flow(t, h, c, supply)
        assert fixed.status == "optimal", name
        certificate = fixed.certificate()
        assert certificate.optimal() and certificate.unrouted == 0.0, name
        _assert_matches_exact(fixed.cost, certificate.bound, exact_flow_cost(t, h, c, supply))
        assert fixed.cost == pytest.approx(highs_flow_cost(t, h, c, supply), rel=1e-9)


def test_infeasible_agrees_with_exact_arithmetic_on_random_directed_flows():
    """Random directed graphs, integer supplies scaled by 2**-k: feasibility does not depend
    on the scale, and the exact oracle decides it; "infeasible" must mean no flow exists and
    "optimal" the exact optimum."""
    rng = np.random.default_rng(8)
    seen = {"optimal": 0, "infeasible": 0}
    for trial in range(100):
        n = int(rng.integers(3, 8))
        k_arcs = int(rng.integers(1, 4 * n))
        tails = rng.integers(0, n, k_arcs)
        heads = rng.integers(0, n, k_arcs)
        keep = tails != heads
        tails, heads = tails[keep], heads[keep]
        costs = rng.integers(0, 6, tails.size).astype(float)
        supply = rng.integers(-3, 4, n).astype(float)
        supply[-1] -= supply.sum()
        if not supply.any():
            continue
        scaled = supply * 2.0 ** -int(rng.choice([0, 30, 60]))
        exact = exact_flow_cost(tails, heads, costs, scaled)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", emd.SolverWarning)
            result = emd.min_cost_flow(tails, heads, costs, scaled)
        seen[result.status] = seen.get(result.status, 0) + 1
        if exact is None:
            assert result.status == "infeasible", trial
            assert not result.certificate().optimal()
        else:
            assert result.status == "optimal", trial
            _assert_matches_exact(result.cost, result.certificate().bound, exact)
    assert seen["optimal"] >= 10 and seen["infeasible"] >= 10


def test_rounding_left_in_each_flow_component_is_balanced_and_proven():
    # 0.1 + 0.2 - 0.3 is 2**-54 + 2**-56 in float64, in each of two components.
    supply = np.array([0.1, 0.2, -0.3, 0.1, 0.2, -0.3])
    tails, heads, costs = [0, 1, 3, 4], [2, 2, 5, 5], [1.0, 2.0, 3.0, 4.0]
    assert math.fsum(supply[:3]) != 0.0 and math.fsum(supply[3:]) != 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = emd.min_cost_flow(tails, heads, costs, supply)
    assert result.status == "optimal" and result.certificate().optimal()
    assert result.cost == pytest.approx(highs_flow_cost(tails, heads, costs, supply), rel=1e-12)


# --------------------------------------------------------------------------- graphs


def _graph_instance(mass: float):
    """Two triangles (so the network simplex runs, not the tree closed form); the second
    holds `mass` that the first asks for."""
    edges = np.array([[0, 1], [1, 2], [0, 2], [3, 4], [4, 5], [3, 5]])
    lengths = np.array([1.0, 2.0, 2.5, 1.0, 1.0, 1.5])
    a = np.array([1.0, 0.0, 0.0, 0.0, mass, 0.0])
    b = np.array([0.0, mass, 1.0, 0.0, 0.0, 0.0])
    return edges, lengths, a, b


def _graph_arcs(edges, lengths):
    return (np.r_[edges[:, 0], edges[:, 1]], np.r_[edges[:, 1], edges[:, 0]],
            np.r_[lengths, lengths])


@pytest.mark.parametrize("k", POWERS)
def test_graph_stranded_mass_sweep(k):
    edges, lengths, a, b = _graph_instance(_mass(k))
    tails, heads, costs = _graph_arcs(edges, lengths)
    assert exact_flow_cost(tails, heads, costs, a - b) is None
    for solve in (emd.solve_graph, emd.wasserstein_graph):
        with pytest.raises(ValueError, match="mass cannot reach its target"):
            solve((edges, lengths), a, b)
    # The twin: a bridge between the triangles.
    bridged = np.vstack([edges, [[2, 3]]])
    bridged_lengths = np.r_[lengths, 4.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = emd.solve_graph((bridged, bridged_lengths), a, b)
    assert result.status == "optimal" and result.method == "network_simplex"
    certificate = result.certificate()
    assert certificate.optimal()
    tails, heads, costs = _graph_arcs(bridged, bridged_lengths)
    _assert_matches_exact(result.cost, certificate.bound,
                          exact_flow_cost(tails, heads, costs, a - b))
    assert result.cost == pytest.approx(highs_flow_cost(tails, heads, costs, a - b), rel=1e-9)


def test_rounding_left_in_each_graph_component_is_balanced_and_proven():
    # Each component holds 1 against 1/3 + 2/3, which is 1 - 2**-54 exactly.
    edges = np.array([[0, 1], [1, 2], [0, 2], [3, 4], [4, 5], [3, 5]])
    lengths = np.array([1.0, 2.0, 2.5, 1.0, 1.0, 1.5])
    a = np.array([1.0, 0.0, 0.0, 1.0, 0.0, 0.0])
    b = np.array([0.0, 1 / 3, 2 / 3, 0.0, 1 / 3, 2 / 3])
    assert math.fsum(a[:3] - b[:3]) != 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = emd.solve_graph((edges, lengths), a, b)
    assert result.status == "optimal" and result.certificate().optimal()
    tails, heads, costs = _graph_arcs(edges, lengths)
    assert result.cost == pytest.approx(highs_flow_cost(tails, heads, costs, a - b), rel=1e-12)


# --------------------------------------------------------------------------- trees


def test_trees_take_one_root_only_so_nothing_can_be_stranded():
    with pytest.raises(ValueError, match="parents has 2 roots"):
        emd.solve_tree([-1, -1, 0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0])


def test_tree_with_totals_equal_to_rounding_is_balanced_and_proven():
    rng = np.random.default_rng(5)
    n = 200
    parents = np.r_[-1, [int(rng.integers(0, v)) for v in range(1, n)]]
    lengths = rng.random(n)
    a, b = random_weights(rng, n, zeros=20), random_weights(rng, n, zeros=20)
    assert math.fsum(np.r_[a, -b]) != 0.0  # totals equal to rounding only
    result = emd.solve_tree(parents, lengths, a, b)
    certificate = result.certificate()
    assert certificate.optimal() and certificate.unrouted == 0.0


# --------------------------------------------------------------------------- POT compat


def _sparse_instances(mass: float):
    """(name, rows, cols, costs, a, b, twin entry): a unit from row 0 to column 0, and
    `mass` that cannot go where it must."""
    return [
        # Row 1 holds `mass`; its only entry is column 2, which has none.
        ("row", [0, 0, 1], [0, 1, 2], [1.0, 3.0, 2.0], [1.0, mass], [1.0, mass, 0.0],
         (1, 1, 2.0)),
        # Column 2 asks for `mass`; only row 1 (no mass) has an entry there.
        ("column", [0, 1, 2], [0, 2, 1], [1.0, 2.0, 4.0], [1.0, 0.0, mass], [1.0, 0.0, mass],
         (2, 2, 5.0)),
    ]


@pytest.mark.parametrize("k", POWERS)
def test_sparse_pot_stranded_mass_sweep(k):
    for name, rows, cols, costs, a, b, (i, j, c) in _sparse_instances(_mass(k)):
        shape = (len(a), len(b))
        M = scipy.sparse.coo_array((costs, (rows, cols)), shape=shape)
        supply = np.r_[a, -np.asarray(b)]
        assert exact_flow_cost(rows, np.asarray(cols) + shape[0], costs, supply) is None, name
        with pytest.warns(UserWarning, match="Problem infeasible"):
            plan, log = pot.emd(a, b, M, log=True)
        assert log["result_code"] == 0 and math.isnan(log["cost"]) and plan.nnz == 0, name
        with pytest.warns(UserWarning, match="Problem infeasible"):
            assert math.isnan(pot.emd2(a, b, M))
        # The twin: the entry the stranded mass needs.
        rows2, cols2, costs2 = [*rows, i], [*cols, j], [*costs, c]
        M2 = scipy.sparse.coo_array((costs2, (rows2, cols2)), shape=shape)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            cost, log = pot.emd2(a, b, M2, log=True)
        assert log["result_code"] == 1, name
        heads2 = np.asarray(cols2) + shape[0]
        exact = exact_flow_cost(rows2, heads2, costs2, supply)
        assert abs(Fraction(cost) - exact) <= Fraction(1, 10**9) * exact, name
        assert cost == pytest.approx(highs_flow_cost(rows2, heads2, costs2, supply), rel=1e-9)


def test_dense_costs_admit_no_forbidden_entries():
    # POT documents forbidden pairs for a sparse M only (its dense solver on inf entries
    # calls a feasible problem infeasible); here non-finite dense costs are refused.
    M = np.array([[1.0, np.inf], [1.0, 1.0]])
    with pytest.raises(pot.POTCompatError, match="non-finite"):
        pot.emd([0.5, 0.5], [0.5, 0.5], M)
    with pytest.raises(ValueError, match="non-finite"):
        emd.solve([0.5, 0.5], [0.5, 0.5], M)


# --------------------------------------------------------------------------- certificates


@pytest.mark.parametrize("k", POWERS)
def test_certificate_requires_every_supply_met_exactly(k):
    mass = _mass(k)
    tails, heads, costs = np.array([0, 2]), np.array([1, 3]), np.array([1.0, 2.0])
    supply = np.array([1.0, -1.0, mass, -mass])
    y = (np.array([1.0, 0.0, 2.0, 0.0]), np.zeros(4))  # y[tail] - y[head] == cost: tight
    # A general arc list: the flow itself must deliver every unit.
    short = certify_flow(tails, heads, costs, supply, np.array([1.0, 0.0]), y, 1.0)
    assert short.bound == math.inf and not short.optimal() and short.unrouted >= mass
    full = certify_flow(tails, heads, costs, supply, np.array([1.0, mass]), y, 1.0 + 2 * mass)
    assert full.optimal() and full.unrouted == 0.0
    # Where mass travels freely within a component (graphs, grids, transport), what the
    # flow leaves is repaired along paths; what the component cannot balance is stranded.
    one = np.zeros(4, dtype=np.intp)
    assert certify_flow(tails, heads, costs, supply, np.array([1.0, 0.0]), y, 1.0,
                        components=one).bound < math.inf
    unbalanced = np.array([1.0, -1.0, mass, 0.0])
    stranded = certify_flow(tails, heads, costs, unbalanced, np.array([1.0, 0.0]), y, 1.0,
                            components=one)
    assert stranded.bound == math.inf and not stranded.optimal()


@pytest.mark.parametrize("k", POWERS[::6])
def test_grid_supply_that_does_not_balance_exactly_is_not_proven(k):
    # No grid form strands mass (every bin reaches every other); the one way to have no
    # flow is a supply whose exact total is not zero, and then nothing is proven.
    from emd.structured import _grid

    rng = np.random.default_rng(k)
    a, b = random_weights(rng, 64), random_weights(rng, 64)
    solver = _grid.GridSolver((8, 8), "cityblock")
    assert solver.solve_pair(a, b).certificate().optimal()
    a2, b2 = _certify.balance_exactly(a, b)
    supply, low = _certify.difference(a2, b2)
    low = low.copy()
    low[0] += _mass(k)  # the exact supply now sums to 2**-k
    result = solver(supply, supply_low=low)
    assert result.status == "uncertified" and result.certificate().bound == math.inf


# --------------------------------------------------------------------------- rounding only


def test_transport_totals_equal_to_rounding_are_balanced_and_proven():
    rng = np.random.default_rng(3)
    checked = 0
    for _ in range(20):
        a, b = random_weights(rng, 12, zeros=2), random_weights(rng, 9, zeros=2)
        if math.fsum(np.r_[a, -b]) == 0.0:
            continue
        cost = rng.random((12, 9))
        result = emd.solve(a, b, cost)
        assert math.fsum(np.r_[result.a, -result.b]) == 0.0
        certificate = result.certificate()
        assert result.status == "optimal" and certificate.optimal()
        _assert_matches_exact(result.cost, certificate.bound,
                              exact_float_cost(result.a, result.b, cost))
        assert result.cost == pytest.approx(highs_cost(a, b, cost), rel=1e-9)
        checked += 1
    assert checked >= 10


def test_masses_over_many_binades_are_balanced_exactly(monkeypatch):
    """Masses from 1e-30 to 1 normalised on each side: no single entry can take the
    rounding of the totals, so the fallback spreads its bits; every problem is proven."""
    calls = []
    spread = _certify._absorb_by_units

    def counting(*args):
        calls.append(1)
        return spread(*args)

    monkeypatch.setattr(_certify, "_absorb_by_units", counting)
    rng = np.random.default_rng(11)
    for _ in range(40):
        a = np.exp(rng.normal(0.0, 18.0, 7))
        b = np.exp(rng.normal(0.0, 18.0, 6))
        a, b = a / a.sum(), b / b.sum()
        cost = rng.random((7, 6))
        result = emd.solve(a, b, cost)
        assert math.fsum(np.r_[result.a, -result.b]) == 0.0
        assert np.abs(result.a - a).sum() + np.abs(result.b - b).sum() <= 4e-16
        certificate = result.certificate()
        assert result.status == "optimal" and certificate.optimal()
        _assert_matches_exact(result.cost, certificate.bound,
                              exact_float_cost(result.a, result.b, cost))
    assert calls  # the fallback was needed


def test_grid_totals_equal_to_rounding_are_balanced_and_batches_agree():
    rng = np.random.default_rng(4)
    hists = []
    for _ in range(3):
        h = rng.random((12, 10))
        h[rng.random((12, 10)) < 0.2] = 0.0
        hists.append(h / h.sum())
    assert math.fsum(np.r_[hists[0].ravel(), -hists[1].ravel()]) != 0.0
    D, ok = emd.pairwise(hists, return_status=True)
    assert ok.all()
    for i, j in [(0, 1), (0, 2), (1, 2)]:
        single = emd.solve_grid(hists[i], hists[j])
        assert single.status == "optimal" and single.certificate().optimal()
        assert D[i, j] == single.cost


def test_line_totals_equal_to_rounding_are_balanced_and_proven():
    rng = np.random.default_rng(6)
    x, y = rng.random(30), rng.random(25)
    a, b = random_weights(rng, 30), random_weights(rng, 25)
    assert math.fsum(np.r_[a, -b]) != 0.0
    result = emd.solve_points(x, y, a, b)
    assert result.status == "optimal" and result.certificate().optimal()
    assert result.cost == pytest.approx(highs_cost(a, b, np.abs(x[:, None] - y[None, :])),
                                        rel=1e-9)


def test_sparse_pot_rounding_per_block_is_balanced_and_proven():
    # Two blocks of allowed pairs, each 1 against 1/3 + 2/3 (1 - 2**-54 exactly).
    M = scipy.sparse.coo_array(([1.0, 2.0, 3.0, 4.0], ([0, 0, 1, 1], [0, 1, 2, 3])),
                               shape=(2, 4))
    a, b = np.array([1.0, 1.0]), np.array([1 / 3, 2 / 3, 1 / 3, 2 / 3])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cost, log = pot.emd2(a, b, M, log=True)
    assert log["result_code"] == 1
    assert cost == pytest.approx(1 / 3 + 4 / 3 + 1 + 8 / 3, rel=1e-12)


def test_totals_whose_difference_spans_1074_bits_balance_by_moving_entries_both_ways():
    # Found by the fuzz tests: totals 1e300 + 1 and 1e300 + 2.2e-175 + 2**-1074 agree to
    # rounding, but their difference needs about 1074 bits: no entry can take it by
    # raising one side.  Moving entries both ways can (the tiny entries and the unit
    # entry go to zero: a change of the difference's size), so the problem is balanced
    # and proven; before, it was refused.
    a = np.zeros((3, 4, 3))
    b = np.zeros((3, 4, 3))
    a[0, 1, 2], a[1, 3, 2] = 1e300, 1.0
    b[1, 1, 1], b[1, 1, 2], b[2, 3, 2] = 2.21048907e-175, 1e300, 5e-324
    result = emd.solve_grid(a, b, volume=True)
    assert result.status == "optimal" and result.certificate().optimal()
    assert result.cost == pytest.approx(1e300, rel=1e-12)  # 1e300 moved one step
    # The same masses with a difference the entries can hold are balanced and proven.
    b[1, 1, 1] = 1.0
    result = emd.solve_grid(a, b, volume=True)
    assert result.status == "optimal" and result.certificate().optimal()


def _balanced_by_moving_both_ways(rng):
    """A heavy entry, tiny ones binades below it, and an other side whose total is the
    heavy entry plus one of its units in the last place: raising the lighter side alone
    cannot hold the bits of the difference."""
    big = float(rng.choice([1e15, 3e12, 7.5e8]))
    ulp = float(np.spacing(big))
    tiny = [float(rng.uniform(0.5, 1.0)) * 10.0 ** -int(rng.integers(12, 40)) * big * 1e-15,
            float(rng.uniform(0.5, 1.0)) * 10.0 ** -int(rng.integers(60, 120))]
    a = np.array([0.0, tiny[0], big, tiny[1]])
    total = big + ulp * int(rng.integers(1, 4))
    split = float(rng.uniform(0.2, 0.8)) * total
    b = np.array([0.0, split, total - split])
    return a, b


@pytest.mark.parametrize("seed", range(40))
def test_totals_that_need_entries_moved_both_ways_balance_exactly(seed):
    """Found by the fuzz test on the NumPy 1.x leg: points all in one place, ``a`` of
    1e15 beside 1e-15 and 5.5e-98, ``b`` totalling 1e15 + 0.125.  The totals agree to
    the inputs' precision, so they are balanced exactly; that needs the heavy entry
    raised and the tiny ones lowered, which the one-way passes could not do, and the
    problem was left infeasible as held (status "uncertified", bound inf)."""

    a, b = _balanced_by_moving_both_ways(np.random.default_rng(seed))
    a2, b2 = _certify.balance_exactly(a, b)
    assert sum(map(Fraction, a2)) == sum(map(Fraction, b2))
    assert (a2 >= 0).all() and (b2 >= 0).all()
    assert (a2[a == 0] == 0).all() and (b2[b == 0] == 0).all()  # empty bins stay empty
    moved = sum(abs(Fraction(p) - Fraction(q)) for p, q in zip([*a2, *b2], [*a, *b], strict=True))
    difference = abs(sum(map(Fraction, a)) - sum(map(Fraction, b)))
    assert moved <= 2 * difference + Fraction(float(np.spacing(max(a.max(), b.max()))))
    # All points in one place: every plan costs 0, which the certificate now proves.
    x, y = np.zeros((a.size, 1)), np.zeros((b.size, 1))
    result = emd.solve_points(x, y, a, b)
    assert result.status == "optimal" and result.cost == 0.0
    result = emd.solve_points(np.zeros((a.size, 2)), np.ones((b.size, 2)), a, b)
    assert result.status == "optimal"
    assert result.cost == pytest.approx(math.sqrt(2) * math.fsum(a), rel=1e-12)


def test_entries_of_one_unit_share_a_difference_none_holds_alone():
    # Found by the fuzz test on the NumPy 1.x leg after the fix above: a = [1, 1, 1.14e47]
    # against b totalling 1.14e47: the difference's low part (2) must go from both 1.0s,
    # neither of which can give it alone.
    big = 1.14085187e47
    a = np.array([0.0, 0.0, 1.0, 1.0, big])
    b = np.array([0.0, 9.12681493e46, big - 9.12681493e46])
    a2, b2 = _certify.balance_exactly(a, b)
    assert sum(map(Fraction, a2)) == sum(map(Fraction, b2))
    assert (a2 >= 0).all() and (b2 >= 0).all()
    result = emd.solve_points(np.zeros((5, 1)), np.zeros((3, 1)), a, b)
    assert result.status == "optimal" and result.cost == 0.0
    result = emd.solve_points(np.zeros((5, 2)), np.ones((3, 2)), a, b)
    assert result.status == "optimal"
    assert result.cost == pytest.approx(math.sqrt(2) * math.fsum(a), rel=1e-12)
