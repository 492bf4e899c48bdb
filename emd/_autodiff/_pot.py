"""Tensor twins of :mod:`emd.compat.pot`: ``emd``, ``emd2`` and ``emd2_lazy`` with
PyTorch tensors or JAX arrays, as POT's backends give them.

Each runs the NumPy compat function on NumPy copies and returns its answers in the
inputs' kind and POT's dtype (that of ``a``, else ``b``, else ``M``; float64 for
integers), on the inputs' device.  ``emd`` returns the plan, not differentiable (as
POT's).  ``emd2`` and ``emd2_lazy`` return a 0-d cost with POT's gradients: the
centred potentials ``u - mean(u)``, ``v - mean(v)`` for ``a`` and ``b``, the plan for
``M`` (for a sparse ``M``: the plan's flow on each stored entry, as a sparse tensor
of ``M``'s pattern), and for ``X_a``, ``X_b`` the sum over the plan of the metric's
gradient.  A sparse ``M`` is a ``torch.sparse_coo_tensor`` (PyTorch only, as in POT).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from emd._arrays import JAX, TORCH, kind_of, tensor_kind, to_numpy
from emd._autodiff._call import Call
from emd._autodiff._rules import Rule, Term, position_gradients


def _is_sparse_tensor(value: Any) -> bool:
    return kind_of(value) == TORCH and value.layout != _torch().strided


def _torch() -> Any:
    import torch

    return torch


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    try:
        return len(value) == 0
    except TypeError:
        return False


def _pot_dtype(a: Any, b: Any, M: Any, kind: str) -> Any:
    """POT's output dtype in the library's terms: ``a``'s, else ``b``'s, else ``M``'s;
    float64 (JAX: its default float) for integers and lists."""
    for value in (a, b, M):
        if not _is_empty(value) or value is M:
            dtype = getattr(value, "dtype", None)
            if kind_of(value) not in (TORCH, JAX) or dtype is None:
                break
            if kind == TORCH:
                return dtype if dtype.is_floating_point else _torch().float64
            import jax.numpy as jnp

            return dtype if jnp.issubdtype(dtype, jnp.floating) else None
    if kind == TORCH:
        return _torch().float64
    return None


class _SparseM:
    """A sparse torch ``M`` as a differentiable values tensor over a fixed pattern."""

    def __init__(self, M: Any):
        coalesced = M.coalesce()
        self.values = coalesced.values()
        self.indices = coalesced.indices()
        self.rows, self.cols = (np.array(index.cpu().numpy(), dtype=np.intp)
                                for index in self.indices)
        self.shape = tuple(M.shape)

    def scipy(self, values: np.ndarray) -> Any:
        import scipy.sparse

        return scipy.sparse.coo_array((values, (self.rows, self.cols)), shape=self.shape)

    def on_pattern(self, plan: Any) -> np.ndarray:
        """The plan's value on each stored entry of ``M`` (zero off the plan's support)."""
        import scipy.sparse

        dense = scipy.sparse.csr_array(plan)
        return np.asarray(dense[self.rows, self.cols], dtype=np.float64).ravel()

    def tensor(self, plan: Any, like: Any, dtype: Any) -> Any:
        torch = _torch()
        coo = plan.tocoo() if hasattr(plan, "tocoo") else plan
        indices = torch.as_tensor(np.stack([coo.row, coo.col]).astype(np.int64),
                                  device=like.device)
        values = torch.as_tensor(np.asarray(coo.data), dtype=dtype, device=like.device)
        return torch.sparse_coo_tensor(indices, values, self.shape, check_invariants=True)


def _constants(value: Any) -> Any:
    """``potentials_init`` and the like: NumPy copies of any tensors inside."""
    if isinstance(value, (list, tuple)):
        return type(value)(_constants(item) for item in value)
    return to_numpy(value)


def _wrap_plan(call: Call, plan: Any, dtype: Any, sparse: _SparseM | None) -> Any:
    if sparse is not None:
        return sparse.tensor(plan, call.leaves[0], dtype)
    if hasattr(plan, "toarray"):  # emd2_lazy's sparse plan
        if call.kind == TORCH:
            torch = _torch()
            coo = plan.tocoo()
            indices = torch.as_tensor(np.stack([coo.row, coo.col]).astype(np.int64),
                                      device=call.leaves[0].device)
            return torch.sparse_coo_tensor(
                indices, torch.as_tensor(coo.data, dtype=dtype, device=call.leaves[0].device),
                plan.shape, check_invariants=True)
        plan = plan.toarray()  # JAX has no sparse array here: dense, as POT's JAX backend
    return call.wrap(plan, dtype)


def _wrap_log(call: Call, info: dict[str, Any], dtype: Any, sparse: _SparseM | None,
              cost: Any = None) -> dict[str, Any]:
    out = dict(info)
    out["u"] = call.wrap(info["u"], dtype)
    out["v"] = call.wrap(info["v"], dtype)
    if "G" in info:
        out["G"] = _wrap_plan(call, info["G"], dtype, sparse)
    if cost is not None:
        out["cost"] = cost
    return out


def _call_with_sparse(a: Any, b: Any, M: Any) -> tuple[Call, _SparseM | None]:
    tensor_kind({"a": a, "b": b, "M": M})
    if _is_sparse_tensor(M):
        sparse = _SparseM(M)
        return Call({"a": a, "b": b, "M": sparse.values}), sparse
    return Call({"a": a, "b": b, "M": M}), None


def _numpy_args(call: Call, arrays: list[np.ndarray], sparse: _SparseM | None) -> dict:
    args = call.numpy(arrays)
    if sparse is not None:
        args["M"] = sparse.scipy(np.asarray(args["M"], dtype=np.float64))
    return args


def emd(a, b, M, numItermax, log, center_dual, numThreads, check_marginals,
        potentials_init) -> Any:
    """Tensor twin of :func:`emd.compat.pot.emd`: the plan (and log) as tensors."""
    from emd.compat import pot

    call, sparse = _call_with_sparse(a, b, M)
    dtype = _pot_dtype(a, b, M, call.kind)
    if any(not _concrete(leaf) for leaf in call.leaves):
        raise ValueError("emd.compat.pot.emd with JAX arrays needs concrete values (not inside "
                         "jax.jit or jax.vmap); emd2 traces")
    args = _numpy_args(call, [to_numpy(leaf) for leaf in call.leaves], sparse)
    out = pot.emd(args["a"], args["b"], args["M"], numItermax=numItermax, log=True,
                  center_dual=center_dual, numThreads=numThreads,
                  check_marginals=check_marginals,
                  potentials_init=_constants(potentials_init))
    plan, info = out
    plan = _wrap_plan(call, plan, dtype, sparse)
    return (plan, _wrap_log(call, info, dtype, sparse)) if log else plan


def _concrete(value: Any) -> bool:
    if kind_of(value) != JAX:
        return True
    import jax

    return not isinstance(value, jax.core.Tracer)


def emd2(a, b, M, processes, numItermax, log, return_matrix, center_dual, numThreads,
         check_marginals, potentials_init) -> Any:
    """Tensor twin of :func:`emd.compat.pot.emd2`: the cost as a 0-d tensor with POT's
    gradients; a 2-D ``b`` gives a list, one cost per column."""
    from emd.compat import pot

    if getattr(b, "ndim", 1) == 2:
        return [emd2(a, b[:, k], M, processes, numItermax, log, return_matrix, center_dual,
                     numThreads, check_marginals, potentials_init)
                for k in range(b.shape[1])]
    call, sparse = _call_with_sparse(a, b, M)
    dtype = _pot_dtype(a, b, M, call.kind)
    init = _constants(potentials_init)
    kept: list[dict[str, Any]] = []

    def compute(arrays: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        args = _numpy_args(call, arrays, sparse)
        cost, info = pot.emd2(args["a"], args["b"], args["M"], numItermax=numItermax,
                              log=True, return_matrix=True, center_dual=center_dual,
                              numThreads=numThreads, check_marginals=check_marginals,
                              potentials_init=init)
        kept.append(info)
        u = np.asarray(info["u"], dtype=np.float64)
        v = np.asarray(info["v"], dtype=np.float64)
        plan = info["G"]
        factors = {"a": u - u.mean(), "b": v - v.mean(),
                   "M": (sparse.on_pattern(plan) if sparse is not None
                         else np.asarray(plan, dtype=np.float64))}
        return np.asarray(cost, dtype=np.float64), [factors[path[0]] for path in call.paths]

    return _cost_and_log("emd2", call, compute, dtype, kept, log, return_matrix, sparse)


def emd2_lazy(X_a, X_b, a, b, metric, numItermax, log, return_matrix, center_dual,
              check_marginals, potentials_init) -> Any:
    """Tensor twin of :func:`emd.compat.pot.emd2_lazy`: the cost as a 0-d tensor,
    differentiable in ``X_a``, ``X_b`` (the plan's sum of the metric's gradient), ``a``
    and ``b`` (centred potentials); the plan in ``log["G"]`` is sparse (PyTorch) or
    dense (JAX)."""
    from emd.compat import pot

    call = Call({"X_a": X_a, "X_b": X_b, "a": a, "b": b})
    dtype = _pot_dtype(a, b, X_a, call.kind)
    init = _constants(potentials_init)
    kept: list[dict[str, Any]] = []

    def compute(arrays: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        args = call.numpy(arrays)
        cost, info = pot.emd2_lazy(args["X_a"], args["X_b"], args["a"], args["b"],
                                   metric=metric, numItermax=numItermax, log=True,
                                   return_matrix=True, center_dual=center_dual,
                                   check_marginals=check_marginals, potentials_init=init)
        kept.append(info)
        x = np.asarray(args["X_a"], dtype=np.float64)
        y = np.asarray(args["X_b"], dtype=np.float64)
        x2, y2 = x.reshape(x.shape[0], -1), y.reshape(y.shape[0], -1)
        plan = info["G"].tocoo()
        p = 1.0 if metric == "cityblock" else 2.0
        grad_x, grad_y = position_gradients(x2, y2, plan.row, plan.col,
                                            np.asarray(plan.data, dtype=np.float64), metric, p)
        u = np.asarray(info["u"], dtype=np.float64)
        v = np.asarray(info["v"], dtype=np.float64)
        factors = {"X_a": grad_x.reshape(x.shape), "X_b": grad_y.reshape(y.shape),
                   "a": u - u.mean(), "b": v - v.mean()}
        return np.asarray(cost, dtype=np.float64), [factors[path[0]] for path in call.paths]

    return _cost_and_log("emd2_lazy", call, compute, dtype, kept, log, return_matrix, None)


def _cost_and_log(name, call, compute, dtype, kept, log, return_matrix, sparse) -> Any:
    """Apply the backward rule of ``compute`` (one factor per input path) and shape what
    ``emd2``/``emd2_lazy`` return: the cost, or the cost and POT's log dict."""
    rule = Rule(compute, (), tuple(Term(k) for k in range(len(call.paths))), call.shapes)
    cost = call.backend.apply(rule, call.leaves, dtype)
    if not (log or return_matrix):
        return cost
    if not kept:
        raise ValueError(f"{name}(log=True) with JAX arrays needs concrete values (not "
                         "inside jax.jit or jax.vmap)")
    info = dict(kept[-1])
    if not return_matrix:
        info.pop("G")
    return cost, _wrap_log(call, info, dtype, sparse, cost)


def partial_plan(name: str, a: Any, b: Any, M: Any, extra: tuple, log: bool,
                 kwargs: dict[str, Any]) -> Any:
    """Tensor twin of :func:`emd.compat.pot_partial.partial_wasserstein` and
    ``partial_wasserstein_lagrange`` (``name``): the plan (and log) in the inputs' kind
    and POT's dtype, not differentiable (as POT's)."""
    from emd.compat import pot_partial

    call = Call({"a": a, "b": b, "M": M})
    dtype = _pot_dtype(a, b, M, call.kind)
    args = call.numpy([to_numpy(leaf) for leaf in call.leaves])
    plan, info = getattr(pot_partial, name)(args["a"], args["b"], args["M"], *extra, log=True,
                                            **kwargs)
    plan = call.wrap(plan, dtype)
    return (plan, _wrap_partial_log(call, info, dtype)) if log else plan


def _wrap_partial_log(call: Call, info: dict[str, Any], dtype: Any) -> dict[str, Any]:
    out = dict(info)
    for key in ("u", "v", "T"):
        if key in out:
            out[key] = call.wrap(np.asarray(out[key], dtype=np.float64), dtype)
    return out


def partial_wasserstein2(a: Any, b: Any, M: Any, m: Any, nb_dummies: int, log: bool,
                         kwargs: dict[str, Any]) -> Any:
    """Tensor twin of :func:`emd.compat.pot_partial.partial_wasserstein2`: the cost as a
    0-d tensor whose gradient in ``M`` is the plan, as POT's; ``a`` and ``b`` carry no
    gradient, as in POT (the plan does not depend on them differentiably there)."""
    from emd.compat import pot_partial

    kind = tensor_kind({"a": a, "b": b, "M": M})
    dtype = _pot_dtype(a, b, M, kind)
    if kind_of(M) != kind:  # a NumPy M: nothing to differentiate
        call = Call({"a": a, "b": b, "M": M})
        args = call.numpy([to_numpy(leaf) for leaf in call.leaves])
        value, info = pot_partial.partial_wasserstein2(args["a"], args["b"], args["M"], m,
                                                       nb_dummies, log=True, **kwargs)
        cost = call.wrap(np.asarray(value, dtype=np.float64), dtype)
        info = _wrap_partial_log(call, info, dtype)
        info["cost"] = info["partial_w_dist"] = cost
        return (cost, info) if log else cost
    call = Call({"M": M})
    a_values, b_values = to_numpy(a), to_numpy(b)
    kept: list[dict[str, Any]] = []

    def compute(arrays: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        value, info = pot_partial.partial_wasserstein2(a_values, b_values, arrays[0], m,
                                                       nb_dummies, log=True, **kwargs)
        kept.append(info)
        return np.asarray(value, dtype=np.float64), [np.asarray(info["T"], dtype=np.float64)]

    rule = Rule(compute, (), (Term(0),), call.shapes)
    cost = call.backend.apply(rule, call.leaves, dtype)
    if not log:
        return cost
    if not kept:
        raise ValueError("partial_wasserstein2(log=True) with JAX arrays needs concrete "
                         "values (not inside jax.jit or jax.vmap)")
    info = _wrap_partial_log(call, kept[-1], dtype)
    info["cost"] = info["partial_w_dist"] = cost
    return cost, info
