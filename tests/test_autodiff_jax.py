"""JAX arrays in, differentiable distances out: ``jax.custom_vjp`` around the NumPy solve.

``jax.test_util.check_grads`` (order 1, reverse mode) on small float64 problems with a
unique optimum, central differences of the NumPy functions, and ``jax.jit`` /
``jax.vmap`` through ``jax.pure_callback``.
"""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402
from autodiff_helpers import cost_problem, directional_difference, points_problem, tangent  # noqa: E402
from jax.test_util import check_grads  # noqa: E402

import emd  # noqa: E402


@pytest.fixture(autouse=True)
def float64():
    """Gradient checks need float64 (JAX's default is float32); restored afterwards."""
    before = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", before)


def J(value):
    return jnp.asarray(np.asarray(value, dtype=np.float64))


def test_check_grads_every_form():
    x, y, a, b = points_problem(40, n=4, m=5)
    a2, b2, cost = cost_problem(40, n=4, m=4)
    rng = np.random.default_rng(40)
    A, B = rng.random((3, 4)) + 0.1, rng.random((3, 4)) + 0.1
    checks = [
        (lambda x, y, a, b: emd.wasserstein(x, y, a, b), (x, y, a, b)),
        (lambda x, y: emd.wasserstein(x, y, metric="cityblock"), (x, y)),
        (lambda a, b, c: emd.solve(a / a.sum(), b / b.sum(), c).cost, (a2, b2, cost)),
        (lambda x, y, a, b: emd.solve_points(x, y, a / a.sum(), b / b.sum()).cost,
         (x, y, a, b)),
        (lambda u, v, wu, wv: emd.wasserstein_1d(u, v, wu, wv), (x[:, 0], y[:, 0], a, b)),
        (lambda A, B: emd.wasserstein_grid(A, B, normalize=True), (A, B)),
    ]
    for function, args in checks:
        check_grads(function, tuple(J(v) for v in args), order=1, modes=["rev"],
                    eps=1e-6, atol=1e-6, rtol=1e-6)


def test_gradients_match_finite_differences_and_torch_free_numpy():
    a, b, cost = cost_problem(41)
    ga, gb, gc = jax.grad(lambda a, b, c: emd.solve(a, b, c).cost, argnums=(0, 1, 2))(
        J(a), J(b), J(cost))
    rng = np.random.default_rng(41)
    for k, (arg, grad) in enumerate(zip((a, b, cost), (ga, gb, gc), strict=True)):
        direction = tangent(rng, arg.size) if k < 2 else rng.normal(size=arg.shape)
        expected = directional_difference(lambda a, b, c: emd.solve(a, b, c).cost,
                                          [a, b, cost], k, direction)
        assert float(jnp.sum(grad * direction)) == pytest.approx(expected, rel=1e-7, abs=1e-10)
    # The POT convention: centred potentials.
    assert float(jnp.sum(ga)) == pytest.approx(0.0, abs=1e-15)


def test_jit_and_vmap_run_through_a_host_callback():
    x, y, a, b = points_problem(42)

    def loss(x):
        return emd.wasserstein(x, J(y), J(a), J(b))

    eager_value, eager_grad = jax.value_and_grad(loss)(J(x))
    jit_value, jit_grad = jax.jit(jax.value_and_grad(loss))(J(x))
    assert float(jit_value) == float(eager_value)
    np.testing.assert_array_equal(np.asarray(jit_grad), np.asarray(eager_grad))
    batch = jnp.stack([J(x), J(x) + 1.0, 2.0 * J(x)])
    values = jax.vmap(loss)(batch)
    expected = [emd.wasserstein(np.asarray(xk), y, a, b) for xk in batch]
    np.testing.assert_array_equal(np.asarray(values), expected)
    grads = jax.jit(jax.vmap(jax.grad(loss)))(batch)
    np.testing.assert_allclose(np.asarray(grads[0]), np.asarray(eager_grad), rtol=1e-15)


def test_float32_without_x64():
    jax.config.update("jax_enable_x64", False)
    x, y, _, _ = points_problem(43)
    value = emd.wasserstein(jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32))
    assert value.dtype == jnp.float32
    grad = jax.grad(lambda x: emd.wasserstein(x, jnp.asarray(y, jnp.float32)))(
        jnp.asarray(x, jnp.float32))
    assert grad.dtype == jnp.float32 and grad.shape == x.shape


def test_second_derivative_is_an_error():
    x, y, a, b = points_problem(44)

    def loss(x):
        return emd.wasserstein(x, J(y), J(a), J(b))

    with pytest.raises(ValueError, match="cannot be differentiated again"):
        jax.grad(lambda x: jnp.sum(jax.grad(loss)(x)))(J(x))


def test_result_objects_need_concrete_values():
    a, b, cost = cost_problem(45)
    result = emd.solve(J(a), J(b), J(cost))
    assert result.certificate().optimal() and float(result.cost) == emd.solve(a, b, cost).cost
    with pytest.raises(ValueError, match="needs concrete values"):
        jax.jit(lambda c: emd.solve(J(a), J(b), c).cost)(J(cost))


def test_bad_input_is_the_numpy_value_error():
    a, b, cost = cost_problem(46)
    with pytest.raises(ValueError, match="must have equal total mass"):
        emd.solve(J(2 * a), J(b), J(cost))
    # NumPy arrays beside JAX arrays are constants, as in JAX itself.
    ga = jax.grad(lambda a: emd.solve(a, J(b), cost).cost)(J(a))
    np.testing.assert_allclose(np.asarray(ga), jax.grad(
        lambda a: emd.solve(a, J(b), J(cost)).cost)(J(a)), rtol=0, atol=0)


def test_batches_matrices_and_the_pot_layer():
    import emd.compat.pot as pot

    problems = [points_problem(50 + k, n=4, m=5) for k in range(3)]
    xs, ys = (np.stack([pr[i] for pr in problems]) for i in (0, 1))
    check_grads(lambda x, y: emd.wasserstein_batch(x, y), (J(xs), J(ys)), order=1,
                modes=["rev"], eps=1e-6, atol=1e-6, rtol=1e-6)
    jitted = jax.jit(lambda x, y: emd.wasserstein_batch(x, y))(J(xs), J(ys))
    np.testing.assert_array_equal(np.asarray(jitted), emd.wasserstein_batch(xs, ys))
    hists = np.random.default_rng(51).random((3, 5)) + 0.1
    check_grads(lambda h: emd.pairwise(h, positions=jnp.arange(5.0), normalize=True),
                (J(hists),), order=1, modes=["rev"], eps=1e-6, atol=1e-6, rtol=1e-6)
    a, b, cost = cost_problem(52)
    value = pot.emd2(J(a), J(b), J(cost))
    assert float(value) == pot.emd2(a, b, cost)
    ga = jax.jit(jax.grad(lambda a: pot.emd2(a, J(b), J(cost))))(J(a))
    _, log = pot.emd2(a, b, cost, log=True)
    np.testing.assert_allclose(np.asarray(ga), log["u"] - log["u"].mean(), atol=1e-14)
    assert pot.emd(J(a), J(b), J(cost)).shape == cost.shape
