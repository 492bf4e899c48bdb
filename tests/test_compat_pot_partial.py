"""emd.compat.pot.partial against POT's own ot.partial (exact solvers) and HiGHS."""

import numpy as np
import ot
import pytest
from oracles import highs_partial_cost, highs_unbalanced_cost

from emd.compat.pot import partial


def _problem(seed, n=12, m=9):
    rng = np.random.default_rng(seed)
    a, b = rng.random(n), rng.random(m)
    return a / a.sum() * 0.9, b / b.sum() * 0.7, rng.random((n, m))


def test_errors_follow_pot():
    a, b, M = _problem(0)
    with pytest.raises(ValueError, match="greater than 0"):
        partial.partial_wasserstein(a, b, M, m=-1)
    with pytest.raises(ValueError, match="lower or equal"):
        partial.partial_wasserstein(a, b, M, m=2)
    with pytest.raises(ValueError, match="simplex"):
        partial.partial_wasserstein_lagrange(a + 1, b, M, 1)
    with pytest.raises(ValueError, match="nb_dummies"):
        partial.partial_wasserstein(a, b, M, m=0.5, nb_dummies=0)
    with pytest.raises(TypeError, match="unexpected"):
        partial.partial_wasserstein(a, b, M, m=0.5, bogus=1)


@pytest.mark.parametrize("seed", range(3))
def test_partial_matches_pot_and_highs(seed):
    a, b, M = _problem(seed)
    for m in (0.1, 0.35, 0.7):
        gamma, log = partial.partial_wasserstein(a, b, M, m=m, log=True)
        reference = highs_partial_cost(a, b, M, m)
        assert float(np.sum(gamma * M)) == pytest.approx(reference, rel=1e-8, abs=1e-12)
        assert float(ot.partial.partial_wasserstein2(a, b, M, m=m)) == pytest.approx(
            reference, rel=1e-6)
        assert gamma.sum() == pytest.approx(m, rel=1e-12)
        assert (gamma.sum(axis=1) <= a * (1 + 1e-12)).all()
        assert (gamma.sum(axis=0) <= b * (1 + 1e-12)).all()
        assert log["certificate"].optimal() and log["warning"] is None
        cost, log2 = partial.partial_wasserstein2(a, b, M, m=m, log=True)
        assert cost == pytest.approx(reference, rel=1e-8, abs=1e-12)
        np.testing.assert_array_equal(log2["T"], gamma)


@pytest.mark.parametrize("reg_m", [None, -0.5, 0.3, 1.0, 100.0])
def test_lagrange_matches_highs_and_pot(reg_m):
    a, b, M = _problem(4)
    M = M - 0.2  # some negative costs, so a negative reg_m still moves mass
    gamma = partial.partial_wasserstein_lagrange(a, b, M, reg_m=reg_m)
    reg = M.max() + 1 if reg_m is None else reg_m
    # <gamma, M - reg> is the unbalanced objective at price reg / 2 (when reg >= 0),
    # less reg (|a| + |b|) / 2; HiGHS solves it directly either way.
    value = float(np.sum(gamma * (M - reg)))
    if reg >= 0:
        reference = highs_unbalanced_cost(a, b, M, reg / 2) - reg / 2 * (a.sum() + b.sum())
    else:
        reference = highs_unbalanced_cost(a, b, M - reg, 0.0)
    assert value == pytest.approx(reference, rel=1e-8, abs=1e-12)
    pot_gamma = ot.partial.partial_wasserstein_lagrange(a, b, M, reg_m=reg_m)
    assert value == pytest.approx(float(np.sum(pot_gamma * (M - reg))), rel=1e-6, abs=1e-12)


def test_defaults_follow_pot():
    M = np.random.default_rng(5).random((6, 6))
    gamma = partial.partial_wasserstein([], [], M, m=0.5)
    assert gamma.sum() == pytest.approx(0.5)
    assert partial.partial_wasserstein([], [], M, m=0.0).sum() == 0.0
    # m=None is the Lagrangian form with price max(M) + 1: everything moves.
    assert partial.partial_wasserstein([], [], M).sum() == pytest.approx(1.0)
    assert partial.partial_wasserstein_lagrange([], [], M, reg_m=-2.0).sum() == 0.0


def test_torch_inputs_as_pots_backend_with_the_plan_as_the_cost_gradient():
    """PyTorch tensors in, as POT's torch backend takes them: the plan and log come back
    as tensors, and the cost's gradient in M is the plan, as POT's own
    ``ot.partial.partial_wasserstein2`` gives it (compared on a problem whose optimal
    plan is unique: random costs)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    cost = rng.random((7, 6))
    a, b = rng.random(7), rng.random(6)
    a, b = a / a.sum(), 0.8 * b / b.sum()
    mass = 0.5

    def tensors():
        return (torch.tensor(a), torch.tensor(b),
                torch.tensor(cost, requires_grad=True))

    ta, tb, tM = tensors()
    value, log = partial.partial_wasserstein2(ta, tb, tM, m=mass, log=True)
    value.backward()
    pa, pb, pM = tensors()
    reference = ot.partial.partial_wasserstein2(pa, pb, pM, m=mass)
    reference.backward()
    assert isinstance(value, torch.Tensor) and value.ndim == 0
    assert float(value.detach()) == pytest.approx(float(reference.detach()), rel=1e-12)
    assert isinstance(log["T"], torch.Tensor)
    np.testing.assert_allclose(tM.grad.numpy(), log["T"].numpy(), rtol=0, atol=0)
    np.testing.assert_allclose(tM.grad.numpy(), pM.grad.numpy(), atol=1e-12)
    assert ta.grad is None and tb.grad is None  # as in POT: no gradient in a, b
    plan = partial.partial_wasserstein(torch.tensor(a), torch.tensor(b), torch.tensor(cost),
                                       m=mass)
    assert isinstance(plan, torch.Tensor)
    np.testing.assert_array_equal(plan.numpy(), partial.partial_wasserstein(a, b, cost, m=mass))
    lagrange = partial.partial_wasserstein_lagrange(torch.tensor(a), torch.tensor(b),
                                                    torch.tensor(cost), reg_m=0.5)
    np.testing.assert_array_equal(
        lagrange.numpy(), partial.partial_wasserstein_lagrange(a, b, cost, reg_m=0.5))
