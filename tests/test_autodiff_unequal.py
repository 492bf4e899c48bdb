"""Gradients of partial and unbalanced transport (PyTorch and JAX): in the masses the
optimal dual of the problem, in the costs and points the plan.  Checked against central
finite differences of the NumPy value at random (non-degenerate) points, and the cost
gradient against POT's ot.partial (whose torch value is sum(plan * M))."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

import emd

torch = pytest.importorskip("torch")

H = 1e-6


def _fd(function, array, indices):
    """Central differences of ``function`` at ``array`` along the given flat indices."""
    out = []
    for k in indices:
        step = np.zeros(array.size)
        step[k] = H
        step = step.reshape(array.shape)
        out.append((function(array + step) - function(array - step)) / (2 * H))
    return np.array(out)


def _data(seed, n=6, m=5):
    rng = np.random.default_rng(seed)
    x, y = rng.random((n, 2)), rng.random((m, 2))
    a, b = rng.random(n) + 0.1, 1.5 * rng.random(m) + 0.1
    return x, y, a, b


KEYWORDS = [{"unbalanced": 0.05}, {"unbalanced": 0.3}, {"unbalanced": 3.0},
            {"partial": 1.2}, {"partial": 2.0}]


@pytest.mark.parametrize("keyword", KEYWORDS)
def test_solve_gradients_are_the_dual_and_the_plan(keyword):
    x, y, a, b = _data(1)
    cost = cdist(x, y)
    ta, tb, tc = (torch.tensor(v, requires_grad=True) for v in (a, b, cost))
    result = emd.solve(ta, tb, tc, **keyword)
    result.cost.backward()
    assert float(result.cost.detach()) == emd.solve(a, b, cost, **keyword).cost

    def value(a_=a, b_=b, c_=cost):
        return emd.solve(a_, b_, c_, **keyword).cost

    every = range(a.size)
    np.testing.assert_allclose(ta.grad.numpy(), _fd(lambda v: value(a_=v), a, every),
                               atol=1e-6)
    np.testing.assert_allclose(tb.grad.numpy(), _fd(lambda v: value(b_=v), b, range(b.size)),
                               atol=1e-6)
    some = [0, 7, 13, 29]
    np.testing.assert_allclose(tc.grad.numpy().ravel()[some],
                               _fd(lambda v: value(c_=v), cost, some), atol=1e-6)


@pytest.mark.parametrize("keyword", [{"unbalanced": 0.3}, {"partial": 1.2}])
def test_point_gradients_match_finite_differences(keyword):
    x, y, a, b = _data(2)
    tx, ty, ta = (torch.tensor(v, requires_grad=True) for v in (x, y, a))
    value = emd.wasserstein(tx, ty, ta, torch.tensor(b), normalize=False, **keyword)
    value.backward()

    def numpy_value(x_=x, y_=y, a_=a):
        return emd.wasserstein(x_, y_, a_, b, normalize=False, **keyword)

    assert float(value.detach()) == numpy_value()
    np.testing.assert_allclose(tx.grad.numpy().ravel(),
                               _fd(lambda v: numpy_value(x_=v), x, range(x.size)), atol=1e-6)
    np.testing.assert_allclose(ty.grad.numpy().ravel(),
                               _fd(lambda v: numpy_value(y_=v), y, range(y.size)), atol=1e-6)
    np.testing.assert_allclose(ta.grad.numpy(), _fd(lambda v: numpy_value(a_=v), a,
                                                    range(a.size)), atol=1e-6)
    result = emd.solve_points(tx.detach(), ty.detach(), ta.detach(), torch.tensor(b),
                              **keyword)
    assert float(result.cost) == numpy_value() and result.mass_moved > 0


@pytest.mark.parametrize("keyword", [{"unbalanced": 0.7}, {"unbalanced": 4.0},
                                     {"partial": 3.0}])
def test_grid_gradients_match_finite_differences(keyword):
    rng = np.random.default_rng(3)
    A, B = rng.random((3, 4)) + 0.05, 1.4 * rng.random((3, 4)) + 0.05
    tA, tB = torch.tensor(A, requires_grad=True), torch.tensor(B, requires_grad=True)
    value = emd.wasserstein_grid(tA, tB, **keyword)
    value.backward()
    assert float(value.detach()) == emd.wasserstein_grid(A, B, **keyword)
    np.testing.assert_allclose(
        tA.grad.numpy().ravel(),
        _fd(lambda v: emd.wasserstein_grid(v, B, **keyword), A, range(A.size)), atol=1e-6)
    np.testing.assert_allclose(
        tB.grad.numpy().ravel(),
        _fd(lambda v: emd.wasserstein_grid(A, v, **keyword), B, range(B.size)), atol=1e-6)
    result = emd.solve_grid(tA.detach(), tB.detach(), **keyword)
    assert result.certificate().optimal()


def test_cost_gradient_is_pots_partial_plan():
    ot_partial = pytest.importorskip("ot.partial")

    x, y, a, b = _data(4, 7, 7)
    cost = cdist(x, y)
    mass = 0.7 * min(a.sum(), b.sum())
    ours = torch.tensor(cost, requires_grad=True)
    emd.solve(torch.tensor(a), torch.tensor(b), ours, partial=mass).cost.backward()
    theirs = torch.tensor(cost, requires_grad=True)
    pot_value = ot_partial.partial_wasserstein2(torch.tensor(a), torch.tensor(b), theirs,
                                                 m=mass)
    pot_value.backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize(("keyword", "on_sets"), [({"unbalanced": 0.6}, {"unbalanced": 0.6}),
                                                  ({"partial": 3.0}, {"partial": 1.0})])
def test_distance_matrices_of_tensors(keyword, on_sets):
    rng = np.random.default_rng(6)
    grids = rng.random((4, 3, 3)) * np.array([1.0, 1.3, 0.8, 1.6])[:, None, None]
    stacked = torch.tensor(grids, requires_grad=True)
    matrix = emd.pairwise(stacked, grid=True, **keyword)
    expected = emd.pairwise(grids, grid=True, **keyword)
    assert matrix.detach().numpy().tobytes() == expected.tobytes()
    weights = torch.tensor(rng.random((4, 4)))
    (matrix * weights).sum().backward()

    def numpy_value(v):
        return float(np.sum(emd.pairwise(v, grid=True, **keyword) * weights.numpy()))

    np.testing.assert_allclose(stacked.grad.numpy().ravel(),
                               _fd(numpy_value, grids, range(grids.size)), atol=1e-6)
    # cdist of (points, weights) sets: the points' gradients along the plans.
    sets = [_data(7 + k, 5, 5)[::2] for k in range(3)]  # (x, a) of each
    x0 = torch.tensor(sets[0][0], requires_grad=True)
    table = emd.cdist([(x0, torch.tensor(sets[0][1]))],
                      [(torch.tensor(x), torch.tensor(w)) for x, w in sets], **on_sets)
    table.sum().backward()

    def numpy_table(x):
        return float(emd.cdist([(x, sets[0][1])], sets, **on_sets).sum())

    np.testing.assert_allclose(x0.grad.numpy().ravel(),
                               _fd(numpy_table, sets[0][0], range(10)), atol=1e-6)


def test_jax_gradients_agree_with_torch():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    x, y, a, b = _data(5)

    def value(a_, b_):
        return emd.wasserstein(jnp.asarray(x), jnp.asarray(y), a_, b_, normalize=False,
                               unbalanced=0.4)

    ga, gb = jax.grad(value, argnums=(0, 1))(jnp.asarray(a), jnp.asarray(b))
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    emd.wasserstein(torch.tensor(x), torch.tensor(y), ta, tb, normalize=False,
                    unbalanced=0.4).backward()
    np.testing.assert_array_equal(np.asarray(ga), ta.grad.numpy())
    np.testing.assert_array_equal(np.asarray(gb), tb.grad.numpy())
    # Under jit too: the distance traces, the solve runs on the concrete values.
    ga_jit = jax.jit(jax.grad(value))(jnp.asarray(a), jnp.asarray(b))
    np.testing.assert_array_equal(np.asarray(ga_jit), np.asarray(ga))


def test_a_stopped_solve_still_has_a_gradient_as_in_balanced_transport():
    x, y, a, b = _data(8, 30, 30)
    ta = torch.tensor(a, requires_grad=True)
    with pytest.warns(emd.SolverWarning, match="max_iter"):
        result = emd.solve(ta, torch.tensor(b), torch.tensor(cdist(x, y)), unbalanced=0.3,
                           max_iter=2)
    assert result.status == "max_iter_reached"
    result.cost.backward()
    assert ta.grad.shape == (30,) and torch.isfinite(ta.grad).all()
    # The public dual refuses it: its potentials prove nothing.
    from emd.dual import unbalanced_witness

    with pytest.raises(ValueError, match="not optimal"):
        unbalanced_witness(result)
