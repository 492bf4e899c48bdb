"""One rule per family for unequal totals, and no rounding of a total can switch rules.

Distributions (``wasserstein``, ``wasserstein_1d``, ``solve_1d``) divide each
side by its own total, as scipy does; masses-as-given functions compare the
totals with the tolerance of "Total masses" in :mod:`emd` and refuse more.
"""

from __future__ import annotations

import warnings

import numpy as np
import ot
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import metric_cost, pot_cost

import emd
from emd import dual

EPS = np.finfo(np.float64).eps


def _normalised_pot(x, y, a, b, metric="euclidean"):
    """The distributions' distance by POT on the normalised weights."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return pot_cost(a / a.sum(), b / b.sum(), metric_cost(x, y, metric))


# --------------------------------------------------------------------------- the cases


@pytest.mark.parametrize("last", [1.0, 1.0 + 1e-15, 1.0 - 1e-15, np.nextafter(1.0, 2.0)])
def test_equal_totals_other_than_one_are_divided_like_scipy(last):
    x, y, a, b = [0.0, 1.0, 3.0], [5.0, 6.0, 8.0], [1.0, 2.0, 3.0], [3.0, 2.0, last]
    expected = scipy.stats.wasserstein_distance(x, y, a, b)
    assert expected == pytest.approx(4.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no FutureWarning: the rule is settled
        assert emd.wasserstein(x, y, a, b) == pytest.approx(expected, rel=1e-14)
        assert emd.wasserstein_1d(x, y, a, b) == pytest.approx(expected, rel=1e-14)
        assert emd.solve_1d(x, y, a, b).cost == pytest.approx(expected, rel=1e-14)
        # The same points as 2-D points (the network simplex, not the closed form).
        xy = np.c_[x, np.zeros(3)], np.c_[y, np.zeros(3)]
        assert emd.wasserstein(*xy, a, b) == pytest.approx(expected, rel=1e-12)


def test_totals_that_are_equal_only_after_rounding_are_divided_like_scipy():
    # 30 x 0.1 and 25 x 0.12 both sum to 3.0 in float64.
    rng = np.random.default_rng(1)
    a, b = np.full(30, 0.1), np.full(25, 0.12)
    x1, y1 = rng.random(30) * 10, rng.random(25) * 10
    expected = scipy.stats.wasserstein_distance(x1, y1, a, b)
    assert emd.wasserstein(x1, y1, a, b) == pytest.approx(expected, rel=1e-12)
    x2, y2 = rng.random((30, 2)), rng.random((25, 2))
    assert emd.wasserstein(x2, y2, a, b) == pytest.approx(
        _normalised_pot(x2, y2, a, b), rel=1e-9)
    # The 1-D values at integers, the setting: scipy's 2.5.
    assert emd.wasserstein(np.arange(30.0), np.arange(25.0), a, b) == pytest.approx(
        scipy.stats.wasserstein_distance(np.arange(30.0), np.arange(25.0), a, b), rel=1e-12)


@pytest.mark.parametrize("dim", [1, 2])
def test_scaling_one_side_by_a_power_of_two_changes_no_bit(dim):
    rng = np.random.default_rng(2)
    x, y = rng.random((9, dim)), rng.random((7, dim))
    a, b = rng.random(9), rng.random(7)
    base = emd.wasserstein(x, y, a, b)
    for scale in (0.5, 4.0, 2.0**40):
        assert emd.wasserstein(x, y, a * scale, b) == base
        assert emd.wasserstein(x, y, a, b * scale) == base
    if dim == 1:
        assert emd.wasserstein_1d(x[:, 0], y[:, 0], 8 * a, b) == emd.wasserstein_1d(
            x[:, 0], y[:, 0], a, b)


# --------------------------------------------------------------------------- a few ulps


@st.composite
def _perturbed_problem(draw):
    n, m = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    dim = draw(st.sampled_from([1, 2]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x, y = rng.random((n, dim)), rng.random((m, dim))
    a = rng.integers(1, 5, n).astype(float) * draw(st.sampled_from([1.0, 0.1, 3.0, 1e-3]))
    b = rng.integers(1, 5, m).astype(float)
    b *= a.sum() / b.sum()  # equal totals, to rounding
    ulps = draw(st.integers(-4, 4).filter(bool))
    index = draw(st.integers(0, m - 1))
    return x, y, a, b, ulps, index


def _nudge(values, index, ulps):
    out = values.copy()
    for _ in range(abs(ulps)):
        out[index] = np.nextafter(out[index], np.inf if ulps > 0 else -np.inf)
    return out


@settings(max_examples=80)
@given(_perturbed_problem())
def test_a_few_ulps_on_a_total_change_no_answer_beyond_rounding(problem):
    x, y, a, b, ulps, index = problem
    nudged = _nudge(b, index, ulps)
    n_bins = a.size + b.size
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Distributions: the same rule on both sides of the nudge.
        base, moved = emd.wasserstein(x, y, a, b), emd.wasserstein(x, y, a, nudged)
        assert moved == pytest.approx(base, rel=64 * n_bins * EPS, abs=1e-300)
        assert moved == pytest.approx(_normalised_pot(x, y, a, nudged), rel=1e-9, abs=1e-12)
        # Masses as given: still equal totals, and the same cost to rounding.
        cost = metric_cost(x, y, "euclidean")
        solved, nudged_solved = emd.solve(a, b, cost), emd.solve(a, nudged, cost)
        assert nudged_solved.status == "optimal"
        scale = abs(solved.cost) + a.sum() * cost.max()
        assert abs(nudged_solved.cost - solved.cost) <= 64 * n_bins * EPS * scale
        assert emd.solve_points(x, y, a, nudged).cost == pytest.approx(
            solved.cost, rel=1e-12, abs=64 * n_bins * EPS * scale)
        # And moving the masses as given is the distance times the common total.
        assert emd.wasserstein(x, y, a, nudged, normalize=False) == pytest.approx(
            a.sum() * base, rel=1e-9, abs=1e-12)


# --------------------------------------------------------------------------- masses as given


def _unequal():
    a = np.array([1.0, 2.0, 3.0])
    return a, np.array([1.0, 2.0, 3.1])


_POINTS = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
_TREE = ([-1, 0, 0], [0.0, 1.0, 1.0])
_GRAPH = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]])

_MASSES_AS_GIVEN = {
    "solve": lambda a, b, **kw: emd.solve(a, b, _GRAPH, **kw),
    "solve_points": lambda a, b, **kw: emd.solve_points(_POINTS, _POINTS, a, b, **kw),
    "wasserstein(normalize=False)": lambda a, b, normalize=False: emd.wasserstein(
        _POINTS, _POINTS, a, b, normalize=normalize),
    "solve_grid": lambda a, b, **kw: emd.solve_grid(a, b, **kw),
    "wasserstein_grid": lambda a, b, **kw: emd.wasserstein_grid(a, b, **kw),
    "solve_graph": lambda a, b, **kw: emd.solve_graph(_GRAPH, a, b, **kw),
    "wasserstein_graph": lambda a, b, **kw: emd.wasserstein_graph(_GRAPH, a, b, **kw),
    "solve_tree": lambda a, b, **kw: emd.solve_tree(*_TREE, a, b, **kw),
    "wasserstein_tree": lambda a, b, **kw: emd.wasserstein_tree(*_TREE, a, b, **kw),
    "kr_witness": lambda a, b, **kw: dual.kr_witness(_POINTS, _POINTS, a, b, **kw),
    "certify": lambda a, b, **kw: dual.certify(_POINTS, _POINTS, a, b, n_probes=10, **kw),
}


@pytest.mark.parametrize("name", sorted(_MASSES_AS_GIVEN))
def test_masses_as_given_refuse_unequal_totals_naming_both(name):
    call = _MASSES_AS_GIVEN[name]
    a, b = _unequal()
    with pytest.raises(ValueError, match=r"must have equal total mass, got sum\((a|A)\)=6\.0 "
                       r"and sum\((b|B)\)=6\.1.*pass normalize=True"):
        call(a, b)
    # What the message offers works.
    value = call(a, b, normalize=True)
    if not isinstance(value, float):
        value = getattr(value, "cost", getattr(value, "value", None))
    assert np.isfinite(value)


@pytest.mark.parametrize("call,match", [
    (lambda a, b: emd.pairwise([a, b]), r"hists\[1\] has total mass 6\.1 but hists\[0\] has 6\.0"),
    (lambda a, b: emd.cdist([a], [a, b]),
     r"hists_b\[1\] has total mass 6\.1 but hists_a\[0\] has 6\.0"),
    (lambda a, b: emd.knn([b], [a, a]), r"queries\[0\] has total mass 6\.1 but database\[0\]"),
])
def test_batches_refuse_unequal_totals_naming_the_histogram(call, match):
    with pytest.raises(ValueError, match=match + ".*pass normalize=True"):
        call(*_unequal())


def test_masses_as_given_accept_a_difference_of_rounding_and_solve_it():
    rng = np.random.default_rng(5)
    a = rng.random(40)
    b = rng.random(40)
    b *= a.sum() / b.sum()
    b[0] *= 1 + 1e-12  # far below the tolerance, far above one ulp
    x = rng.random((40, 2))
    cost = metric_cost(x, x, "euclidean")
    result = emd.solve(a, b, cost)
    assert result.status == "optimal"
    # What was moved balances exactly, and the cost is POT's on the same problem.
    assert np.isclose(result.a.sum(), result.b.sum(), rtol=4 * EPS, atol=0)
    assert result.cost == pytest.approx(ot.emd2(a, b * a.sum() / b.sum(), cost), rel=1e-9)


def test_the_tolerance_follows_the_inputs_precision():
    # float32 weights normalised in float32 differ by about n * eps32 in their sums:
    # equal masses for float32 inputs, refused as float64 ones.
    a = np.full(1000, 1 / 1000, dtype=np.float32)
    b = np.full(1000, 1 / 1000, dtype=np.float32)
    b[0] += np.float32(2e-7)  # relative difference 2e-7: below 2000 * 1.2e-7, above 1e-9
    value = emd.wasserstein_grid(a, b)
    assert np.isfinite(value)
    with pytest.raises(ValueError, match="equal total mass"):
        emd.wasserstein_grid(a.astype(np.float64), b.astype(np.float64))


@settings(max_examples=300)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=40),
       st.integers(0, 3))
def test_the_compiled_exact_sum_is_math_fsum(values, scale):
    # Totals are checked with the compiled exact sum (emd._core._certify.rounded_sum):
    # it must be math.fsum to the bit, its sign of zero and its exceptions included,
    # whatever the entries' binades (wide ranges go to math.fsum itself).
    import math

    from emd._core._certify import rounded_sum

    with np.errstate(over="ignore", invalid="ignore"):
        x = np.array(values, dtype=np.float64) * 10.0 ** (30 * scale)
    try:
        expected = math.fsum(x)
    except (OverflowError, ValueError) as error:
        with pytest.raises(type(error)):
            rounded_sum(x)
        return
    got = rounded_sum(x)
    assert repr(got) == repr(expected)


def test_the_compiled_exact_sum_cancels_and_rounds_as_math_fsum():
    import math

    from emd._core._certify import rounded_sum

    rng = np.random.default_rng(3)
    for _ in range(2000):
        x = np.round(rng.normal(size=int(rng.integers(1, 60))), int(rng.integers(0, 17)))
        x = np.concatenate([x, -x[::2], rng.random(3) * 1e-20])
        rng.shuffle(x)
        assert repr(rounded_sum(x)) == repr(math.fsum(x))
