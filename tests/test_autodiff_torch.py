"""PyTorch tensors in, differentiable distances out (emd._arrays, emd._autodiff).

Gradients are checked against central finite differences of the NumPy functions on
problems with a unique optimum (tests/autodiff_helpers.py), against POT's own torch
gradients, and by ``torch.autograd.gradcheck``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ot  # noqa: E402
from autodiff_helpers import (  # noqa: E402
    cost_problem,
    directional_difference,
    points_problem,
    tangent,
)

import emd  # noqa: E402


def T(value, grad=True, dtype=torch.float64):
    return torch.tensor(np.asarray(value), dtype=dtype, requires_grad=grad)


def grads(value, *tensors):
    return [g.numpy() for g in torch.autograd.grad(value, tensors)]


# Refusals
# --------


def test_mixing_torch_and_numpy_names_the_arguments():
    x, y, a, b = points_problem(0)
    with pytest.raises(ValueError, match=r"torch tensors \(x, y\) and NumPy arrays \(a\)"):
        emd.wasserstein(T(x), T(y), a)
    with pytest.raises(ValueError, match=r"NumPy arrays \(cost\)"):
        emd.solve(T(a), T(b), np.ones((a.size, b.size)))


def test_bad_input_is_the_numpy_value_error():
    a, b, cost = cost_problem(0)
    bad = a.copy()
    bad[1] = -0.5
    with pytest.raises(ValueError, match="a has a negative weight"):
        emd.solve(T(bad), T(b), T(cost))
    with pytest.raises(ValueError, match="must have equal total mass"):
        emd.solve(T(2 * a), T(b), T(cost))


def test_second_derivative_is_an_error_not_a_zero():
    x, y, a, b = points_problem(1)
    xt = T(x)
    (gx,) = torch.autograd.grad(emd.wasserstein(xt, T(y), T(a), T(b)), xt, create_graph=True)
    with pytest.raises(RuntimeError, match="cannot be differentiated again"):
        gx.sum().backward()


def test_sparse_tensor_is_refused_outside_the_pot_layer():
    a, b, cost = cost_problem(2)
    sparse = T(cost, grad=False).to_sparse()
    with pytest.raises(TypeError, match="sparse torch tensor"):
        emd.solve(T(a), T(b), sparse)


def test_stopped_solve_warns_in_the_training_loop():
    x, y, a, b = points_problem(3, n=30, m=30)
    with pytest.warns(emd.SolverWarning, match="max_iter=1"):
        result = emd.solve_points(T(x), T(y), T(a), T(b), max_iter=1)
    assert result.status == "max_iter_reached"
    assert isinstance(result.cost, torch.Tensor)


# Values, kinds, dtypes
# ---------------------


def test_values_are_the_numpy_values_bit_for_bit():
    x, y, a, b = points_problem(4)
    a2, b2, cost = cost_problem(4)
    rng = np.random.default_rng(4)
    A, B = rng.random((4, 5)), rng.random((4, 5))
    B *= A.sum() / B.sum()
    cases = [
        (emd.wasserstein, (x, y, a, b), {}),
        (emd.wasserstein, (x, y, a, b), {"normalize": False}),
        (emd.wasserstein, (x[:, 0], y[:, 0], a, b), {}),
        (emd.wasserstein, (x, y), {"metric": "cityblock"}),
        (emd.wasserstein_1d, (x[:, 0], y[:, 0], a, b), {}),
        (emd.wasserstein_1d, (x[:, 0], y[:, 0]), {}),
        (emd.wasserstein_grid, (A, B), {}),
        (emd.wasserstein_grid, (A, B), {"metric": "euclidean", "L": 2}),
        (lambda *args: emd.solve(*args).cost, (a2, b2, cost), {}),
        (lambda *args: emd.solve_points(*args).cost, (x, y, a, b), {}),
        (lambda *args: emd.solve_grid(*args).cost, (A, B), {}),
    ]
    for function, args, kwargs in cases:
        ours = function(*(T(v) for v in args), **kwargs)
        assert isinstance(ours, torch.Tensor) and ours.ndim == 0
        assert float(ours.detach()) == float(function(*args, **kwargs)), function


def test_float32_in_float32_out_and_gradients_in_each_inputs_dtype():
    x, y, a, b = points_problem(5)
    xt, yt = T(x, dtype=torch.float32), T(y, dtype=torch.float32)
    at, bt = T(a, dtype=torch.float64), T(b, grad=False, dtype=torch.float32)
    value = emd.wasserstein(xt, yt, at, bt)
    assert value.dtype == torch.float64  # float32 with float64: promoted
    value = emd.wasserstein(xt, yt)
    assert value.dtype == torch.float32
    value.backward()
    assert xt.grad.dtype == torch.float32 and xt.grad.shape == xt.shape
    # The solve ran on the float32 values, in float64.
    assert value.item() == pytest.approx(emd.wasserstein(x.astype(np.float32),
                                                         y.astype(np.float32)), rel=1e-6)


def test_solve_returns_the_result_with_a_differentiable_cost():
    a, b, cost = cost_problem(6)
    ct = T(cost)
    result = emd.solve(T(a), T(b), ct)
    assert isinstance(result, emd.TransportResult)
    assert result.cost.requires_grad and result.cost.ndim == 0
    assert isinstance(result.u, np.ndarray) and result.plan.shape == cost.shape
    assert result.certificate().optimal() and result.status == "optimal"
    numpy_result = emd.solve(a, b, cost)
    np.testing.assert_array_equal(result.dense_plan(), numpy_result.dense_plan())
    assert "TransportResult(cost=" in repr(result)
    result.cost.backward()
    np.testing.assert_allclose(ct.grad.numpy(), numpy_result.dense_plan(), rtol=0, atol=0)


def test_grid_result_keeps_its_certificate():
    rng = np.random.default_rng(7)
    A, B = rng.random((5, 4)), rng.random((5, 4))
    result = emd.solve_grid(T(A), T(B), normalize=True)
    assert isinstance(result, emd.GridResult) and result.cost.requires_grad
    assert result.certificate().optimal()


# Closed forms
# ------------


def test_one_point_each_side_closed_form():
    x, y = T([[0.0, 0.0]]), T([[3.0, 4.0]])
    value = emd.wasserstein(x, y)
    assert value.item() == 5.0
    gx, gy = grads(value, x, y)
    np.testing.assert_allclose(gx, [[-0.6, -0.8]], rtol=1e-15)
    np.testing.assert_allclose(gy, [[0.6, 0.8]], rtol=1e-15)
    # Coinciding points: the subgradient of least norm.
    x = T([[1.0, 2.0]])
    (gx,) = grads(emd.wasserstein(x, T([[1.0, 2.0]])), x)
    np.testing.assert_array_equal(gx, [[0.0, 0.0]])


def test_line_closed_form():
    # Mass 1/2 at 0 and 1 against 1/2 at 5 and 6: W1 = 5; each source moves right.
    x, y = T([0.0, 1.0]), T([5.0, 6.0])
    value = emd.wasserstein_1d(x, y)
    assert value.item() == 5.0
    gx, gy = grads(value, x, y)
    np.testing.assert_array_equal(gx, [-0.5, -0.5])
    np.testing.assert_array_equal(gy, [0.5, 0.5])


# Finite differences, every form
# ------------------------------

POINT_METRICS = [("euclidean", None), ("sqeuclidean", None), ("cityblock", None),
                 ("chebyshev", None), ("minkowski", 3.0)]


@pytest.mark.parametrize(("metric", "p"), POINT_METRICS)
@pytest.mark.parametrize("normalize", [True, False])
def test_wasserstein_gradients_match_finite_differences(metric, p, normalize):
    x, y, a, b = points_problem(10, metric, p=p)
    if not normalize:
        b = b * (a.sum() / b.sum())
    args = [x, y, a, b]
    tensors = [T(v) for v in args]
    ours = grads(emd.wasserstein(*tensors, metric=metric, p=p, normalize=normalize), *tensors)

    def f(x, y, a, b):
        return emd.wasserstein(x, y, a, b, metric=metric, p=p, normalize=normalize)

    rng = np.random.default_rng(11)
    for k, arg in enumerate(args):
        for _ in range(3):
            if k >= 2 and not normalize:
                direction = tangent(rng, arg.size)  # masses as given: totals stay equal
            else:
                direction = rng.normal(size=arg.shape)
            expected = directional_difference(f, args, k, direction)
            assert float(np.sum(ours[k] * direction)) == pytest.approx(
                expected, rel=1e-6, abs=1e-8), (k, metric)


def test_solve_gradients_match_finite_differences():
    a, b, cost = cost_problem(12)
    args = [a, b, cost]
    tensors = [T(v) for v in args]
    ours = grads(emd.solve(*tensors).cost, *tensors)
    rng = np.random.default_rng(12)

    def f(a, b, cost):
        return emd.solve(a, b, cost).cost

    for k, arg in enumerate(args):
        for _ in range(4):
            direction = tangent(rng, arg.size) if k < 2 else rng.normal(size=arg.shape)
            expected = directional_difference(f, args, k, direction)
            assert float(np.sum(ours[k] * direction)) == pytest.approx(expected, rel=1e-7,
                                                                       abs=1e-10)


def test_normalized_solve_gradients_match_finite_differences_in_every_direction():
    a, b, cost = cost_problem(13)
    a, b = 3 * a, 0.5 * b  # each side divided by its own total
    args = [a, b, cost]
    tensors = [T(v) for v in args]
    ours = grads(emd.solve(*tensors, normalize=True).cost, *tensors)
    rng = np.random.default_rng(13)

    def f(a, b, cost):
        return emd.solve(a, b, cost, normalize=True).cost

    for k, arg in enumerate(args):
        for _ in range(4):
            direction = rng.normal(size=arg.shape)
            expected = directional_difference(f, args, k, direction)
            assert float(np.sum(ours[k] * direction)) == pytest.approx(expected, rel=1e-7,
                                                                       abs=1e-10)


def test_solve_points_and_line_gradients_match_finite_differences():
    x, y, a, b = points_problem(14, "cityblock")
    rng = np.random.default_rng(14)
    for args, f in [
        ([x, y, a, b], lambda x, y, a, b: emd.solve_points(x, y, a, b, metric="cityblock").cost),
        ([x[:, 0], y[:, 0], a, b], lambda x, y, a, b: emd.wasserstein_1d(x, y, a, b)),
    ]:
        tensors = [T(v) for v in args]
        ours = grads(f(*tensors), *tensors)
        for k, arg in enumerate(args):
            direction = tangent(rng, arg.size) if k >= 2 else rng.normal(size=arg.shape)
            expected = directional_difference(f, args, k, direction)
            assert float(np.sum(ours[k] * direction)) == pytest.approx(expected, rel=1e-6,
                                                                       abs=1e-9)


@pytest.mark.parametrize("metric", ["cityblock", "chebyshev", "euclidean"])
def test_grid_gradients_are_the_potential_and_match_finite_differences(metric):
    rng = np.random.default_rng(15)
    A, B = rng.random((4, 5)) + 0.1, rng.random((4, 5)) + 0.1
    A, B = A / A.sum(), B / B.sum()
    At, Bt = T(A), T(B)
    kwargs = {"metric": metric, "L": 2} if metric == "euclidean" else {"metric": metric}
    result = emd.solve_grid(At, Bt, **kwargs)
    gA, gB = grads(result.cost, At, Bt)
    f = result.potential
    np.testing.assert_allclose(gA, f - f.mean(), atol=1e-15)
    np.testing.assert_allclose(gB, -(f - f.mean()), atol=1e-15)
    for k, arg in enumerate([A, B]):
        direction = tangent(rng, arg.size).reshape(arg.shape)
        expected = directional_difference(
            lambda A, B: emd.wasserstein_grid(A, B, **kwargs), [A, B], k, direction)
        assert float(np.sum([gA, gB][k] * direction)) == pytest.approx(expected, rel=1e-6,
                                                                       abs=1e-10)


# Against POT's torch gradients
# -----------------------------


def test_gradients_are_pots_on_the_same_problem():
    for seed in range(3):
        a, b, cost = cost_problem(20 + seed, n=8, m=7)
        ours = [T(v) for v in (a, b, cost)]
        theirs = [T(v) for v in (a, b, cost)]
        emd.solve(*ours).cost.backward()
        ot.emd2(*theirs).backward()
        for mine, pot in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(mine.grad.numpy(), pot.grad.numpy(), rtol=1e-9,
                                       atol=1e-12)


def test_point_gradients_are_pots_through_its_cost_matrix():
    x, y, a, b = points_problem(23, n=7, m=8)
    ours = [T(v) for v in (x, y, a, b)]
    emd.solve_points(*ours).cost.backward()
    xt, yt, at, bt = (T(v) for v in (x, y, a, b))
    ot.emd2(at, bt, torch.cdist(xt, yt)).backward()
    for mine, pot in zip(ours, (xt, yt, at, bt), strict=True):
        np.testing.assert_allclose(mine.grad.numpy(), pot.grad.numpy(), rtol=1e-9, atol=1e-12)


# gradcheck
# ---------


def test_gradcheck_every_form():
    x, y, a, b = points_problem(30, n=4, m=5)
    a2, b2, cost = cost_problem(30, n=4, m=4)
    rng = np.random.default_rng(30)
    A, B = rng.random((3, 4)) + 0.1, rng.random((3, 4)) + 0.1
    checks = [
        (lambda x, y, a, b: emd.wasserstein(x, y, a, b), (x, y, a, b)),
        (lambda x, y: emd.wasserstein(x, y, metric="sqeuclidean"), (x, y)),
        # Masses as given: free parameters mapped onto equal totals by torch itself.
        (lambda a, b, c: emd.solve(a / a.sum(), b / b.sum(), c).cost, (a2, b2, cost)),
        (lambda x, y, a, b: emd.solve_points(x, y, a / a.sum(), b / b.sum()).cost,
         (x, y, a, b)),
        (lambda u, v, wu, wv: emd.wasserstein_1d(u, v, wu, wv), (x[:, 0], y[:, 0], a, b)),
        (lambda A, B: emd.wasserstein_grid(A, B, normalize=True), (A, B)),
    ]
    for function, args in checks:
        assert torch.autograd.gradcheck(function, tuple(T(v) for v in args))


def test_no_warning_on_a_clean_training_step():
    x, y, a, b = points_problem(31)
    xt = T(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        emd.wasserstein(xt, T(y), T(a), T(b)).backward()
    assert xt.grad is not None


# Minibatches: one distance per pair
# ----------------------------------


def test_batch_values_gradients_and_finite_differences():
    rng = np.random.default_rng(50)
    problems = [points_problem(50 + k, n=5, m=6) for k in range(4)]
    xs = np.stack([pr[0] for pr in problems])
    ys = np.stack([pr[1] for pr in problems])
    a = np.stack([pr[2] for pr in problems])
    b = np.stack([pr[3] for pr in problems])
    tensors = [T(v) for v in (xs, ys, a, b)]
    values = emd.wasserstein_batch(*tensors)
    np.testing.assert_array_equal(values.detach().numpy(), emd.wasserstein_batch(xs, ys, a, b))
    cotangent = rng.normal(size=4)
    ours = [g.numpy() for g in torch.autograd.grad(values, tensors, torch.tensor(cotangent))]

    def f(xs, ys, a, b):
        return float(cotangent @ emd.wasserstein_batch(xs, ys, a, b))

    for k, arg in enumerate((xs, ys, a, b)):
        direction = rng.normal(size=arg.shape)
        expected = directional_difference(f, [xs, ys, a, b], k, direction)
        assert float(np.sum(ours[k] * direction)) == pytest.approx(expected, rel=1e-6, abs=1e-9)
    assert torch.autograd.gradcheck(lambda x, y: emd.wasserstein_batch(x, y), tuple(tensors[:2]))


def test_batch_of_lists_of_different_sizes():
    xs = [T(points_problem(60 + k, n=3 + k, m=4)[0]) for k in range(3)]
    ys = [T(points_problem(60 + k, n=3 + k, m=4)[1], grad=False) for k in range(3)]
    values = emd.wasserstein_batch(xs, ys)
    values[1].backward()
    assert xs[0].grad is None or not xs[0].grad.any()
    single = T(xs[1].detach().numpy())
    emd.wasserstein(single, ys[1]).backward()
    np.testing.assert_array_equal(xs[1].grad.numpy(), single.grad.numpy())


def test_batch_backward_reuses_the_forward_plans(monkeypatch):
    import emd.transport

    calls = []
    solve = emd.transport.solve_points_validated

    def counted(*args, **kwargs):
        calls.append(1)
        return solve(*args, **kwargs)

    monkeypatch.setattr(emd.transport, "solve_points_validated", counted)
    xs = T(np.random.default_rng(61).normal(size=(6, 8, 2)))
    values = emd.wasserstein_batch(xs, T(np.zeros((6, 8, 2)), grad=False), n_jobs=1)
    assert len(calls) == 6
    values.sum().backward()
    assert len(calls) == 6  # no solve in the backward


# Distance matrices
# -----------------


@pytest.mark.parametrize("form", ["positions", "cost", "grid"])
def test_pairwise_and_cdist_of_histograms(form):
    rng = np.random.default_rng(70)
    hists = rng.random((4, 6)) + 0.1
    if form == "grid":
        hists = hists.reshape(4, 2, 3)
    kwargs = {"positions": rng.random((6, 2))} if form == "positions" else (
        {"cost": rng.random((6, 6)) + np.eye(6)} if form == "cost" else {})
    kwargs_t = {key: T(value, grad=False) for key, value in kwargs.items()}
    H = T(hists)
    D, proven = emd.pairwise(H, normalize=True, return_status=True, **kwargs_t)
    assert proven.all()  # every pair's certificate proves it
    expected = emd.pairwise(hists, normalize=True, **kwargs)
    np.testing.assert_allclose(D.detach().numpy(), expected, rtol=1e-12, atol=1e-15)
    cotangent = rng.normal(size=(4, 4))
    (grad,) = torch.autograd.grad(D, H, torch.tensor(cotangent))

    def f(hists):
        return float(np.sum(cotangent * emd.pairwise(hists, normalize=True, **kwargs)))

    for _ in range(3):
        direction = rng.normal(size=hists.shape)
        assert float(np.sum(grad.numpy() * direction)) == pytest.approx(
            directional_difference(f, [hists], 0, direction), rel=1e-6, abs=1e-9)
    C = emd.cdist(H[:3], H[1:], normalize=True, **kwargs_t)
    np.testing.assert_allclose(C.detach().numpy(),
                               emd.cdist(hists[:3], hists[1:], normalize=True, **kwargs),
                               rtol=1e-12, atol=1e-15)


def test_pairwise_of_point_sets_differentiates_the_points():
    sets = [points_problem(80 + k, n=4, m=5)[:3:2] for k in range(3)]
    tensors = [(T(x), T(w)) for x, w in sets]
    D = emd.pairwise(tensors, normalize=True)
    np.testing.assert_allclose(D.detach().numpy(), emd.pairwise(sets, normalize=True),
                               rtol=1e-12)
    D[0, 2].backward()
    single = [T(sets[0][0]), T(sets[2][0]), T(sets[0][1]), T(sets[2][1])]
    emd.wasserstein(*single).backward()
    # D[0, 2] and D[2, 0] are one solve; only D[0, 2] was differentiated.
    np.testing.assert_allclose(tensors[0][0].grad.numpy(), single[0].grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(tensors[2][1].grad.numpy(), single[3].grad.numpy(), rtol=1e-12)
    assert not tensors[1][0].grad.any()


def test_matrix_options_for_files_and_clusters_are_refused():
    with pytest.raises(ValueError, match="out applies to NumPy histograms only"):
        emd.pairwise(T(np.ones((3, 4))), out="D.npy")


# emd.compat.pot with tensors, as POT's torch backend
# ---------------------------------------------------


def test_pot_layer_gradients_are_pots():
    import emd.compat.pot as pot

    a, b, cost = cost_problem(90, n=9, m=8)
    ours = [T(v) for v in (a, b, cost)]
    theirs = [T(v) for v in (a, b, cost)]
    value, log = pot.emd2(*ours, log=True, return_matrix=True)
    value.backward()
    ot.emd2(*theirs).backward()
    for mine, pot_tensor in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(mine.grad.numpy(), pot_tensor.grad.numpy(), rtol=1e-9,
                                   atol=1e-12)
    np.testing.assert_allclose(log["G"].numpy(), ot.emd(a, b, cost), atol=1e-15)
    assert isinstance(log["u"], torch.Tensor) and log["cost"] is value
    # POT's dtype rule: that of a (float32 here), whatever M's.
    plan = pot.emd(T(a, dtype=torch.float32), T(b, dtype=torch.float32), T(cost))
    assert plan.dtype == torch.float32 and not plan.requires_grad
    assert pot.emd2([], [], T(cost)).dtype == torch.float64
    costs = pot.emd2(T(a), T(np.stack([b, b[::-1]], axis=1)), T(cost))
    assert isinstance(costs, list) and len(costs) == 2


def test_pot_layer_sparse_cost_gradient_is_the_plan_on_the_pattern():
    import emd.compat.pot as pot

    n = 6
    rows = np.repeat(np.arange(n), 2)
    cols = np.stack([np.arange(n), (np.arange(n) + 1) % n], axis=1).ravel()
    values = np.random.default_rng(91).random(rows.size) + 0.1
    sparse = torch.sparse_coo_tensor(torch.tensor(np.stack([rows, cols])),
                                     torch.tensor(values), (n, n), requires_grad=True,
                                     check_invariants=True)
    a = T(np.full(n, 1.0 / n))
    value = pot.emd2(a, T(np.full(n, 1.0 / n)), sparse)
    value.backward()
    plan = pot.emd(a.detach(), torch.full((n,), 1.0 / n, dtype=torch.float64), sparse.detach())
    assert plan.layout == torch.sparse_coo
    dense_plan = plan.to_dense().numpy()
    grad = sparse.grad.coalesce()
    idx = grad.indices().numpy()
    np.testing.assert_allclose(grad.values().numpy(), dense_plan[idx[0], idx[1]], atol=1e-15)
    assert value.item() == pytest.approx(float(np.sum(dense_plan[rows, cols] * values)))


def test_pot_lazy_gradients_match_the_dense_solve():
    import emd.compat.pot as pot

    x, y, a, b = points_problem(92, "sqeuclidean")
    xt, yt = T(x), T(y)
    value, log = pot.emd2_lazy(xt, yt, T(a), T(b), metric="sqeuclidean")
    value.backward()
    xd, yd = T(x), T(y)
    ot.emd2(T(a), T(b), ot.dist(xd, yd)).backward()
    np.testing.assert_allclose(xt.grad.numpy(), xd.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(yt.grad.numpy(), yd.grad.numpy(), rtol=1e-9, atol=1e-12)
    assert log["G"].layout == torch.sparse_coo
