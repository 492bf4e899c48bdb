"""The JAX glue: a ``jax.custom_vjp`` around any :class:`~._rules.Rule`.

Concrete arrays (eager calls, and ``jax.grad`` outside ``jit``) are solved
directly, so bad input raises its ``ValueError`` as it does for NumPy.
Traced arrays (inside ``jax.jit`` or ``jax.vmap``) reach the solver through
``jax.pure_callback``: the shapes of the value and of every Jacobian factor
follow from the input shapes, so the call traces, and ``vmap`` solves the
batch one problem at a time (``vmap_method="sequential"``).  Errors raised
inside a callback arrive wrapped in JAX's runtime error.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from emd._arrays import to_numpy
from emd._autodiff._rules import SECOND_ORDER, Rule, pullback


def _callback_options() -> dict[str, Any]:
    """One problem per batch entry under ``vmap``: ``vmap_method="sequential"`` where
    ``jax.pure_callback`` takes it (JAX 0.4.35 on), which older JAX does by default."""
    import inspect

    if "vmap_method" in inspect.signature(jax.pure_callback).parameters:
        return {"vmap_method": "sequential"}
    return {}


def _is_concrete(value: Any) -> bool:
    return not isinstance(value, jax.core.Tracer)


def result_dtype(leaves: list[Any]) -> Any:
    """The float dtype of the answer: the promoted dtype of the floating leaves, else JAX's
    default float (float64 only with ``jax_enable_x64``)."""
    floats = [leaf.dtype for leaf in leaves if jnp.issubdtype(leaf.dtype, jnp.floating)]
    if floats:
        return jnp.result_type(*floats)
    return jax.dtypes.canonicalize_dtype(np.float64)


def wrap(array: Any, like: Any = None, dtype: Any = None) -> Any:
    """A NumPy answer as a JAX array (in ``dtype``, or ``like``'s)."""
    return jnp.asarray(np.asarray(array), dtype=dtype if dtype is not None else like.dtype)


def apply(rule: Rule, leaves: list[Any], dtype: Any = None) -> Any:
    """The rule's value as a JAX array (in ``dtype``, else :func:`result_dtype`) that
    carries its backward."""
    leaves = [jnp.asarray(leaf) for leaf in leaves]
    dtype = result_dtype(leaves) if dtype is None else dtype
    shapes = (
        jax.ShapeDtypeStruct(rule.value_shape, dtype),
        [jax.ShapeDtypeStruct(rule.jacobian_shape(term), dtype) for term in rule.terms],
    )

    def host(*arrays: Any) -> Any:
        value, jacobians = rule.compute([np.asarray(array) for array in arrays])
        return (np.asarray(value, dtype=dtype),
                [np.asarray(J, dtype=dtype) for J in jacobians])

    @jax.custom_jvp
    def traced(*xs: Any) -> Any:
        return jax.pure_callback(host, shapes, *xs, **_callback_options())

    @traced.defjvp
    def _no_second_order(primals: Any, tangents: Any) -> Any:
        # Reached only when a gradient is differentiated again (the first derivative
        # goes through the custom_vjp below, which never differentiates the solve).
        raise ValueError(SECOND_ORDER)

    def run(xs: tuple[Any, ...]) -> Any:
        if all(_is_concrete(x) for x in xs):
            value, jacobians = host(*(to_numpy(x) for x in xs))
            return jnp.asarray(value), [jnp.asarray(J) for J in jacobians]
        return traced(*xs)

    @jax.custom_vjp
    def solve(*xs: Any) -> Any:
        return run(xs)[0]

    def forward(*xs: Any) -> Any:
        value, jacobians = run(xs)
        return value, jacobians

    def backward(jacobians: Any, g: Any) -> Any:
        grads = pullback(rule, jacobians, g, xp=jnp)
        out: list[Any] = []
        for leaf, part in zip(leaves, grads, strict=True):
            if not jnp.issubdtype(leaf.dtype, jnp.inexact):
                out.append(np.zeros(leaf.shape, dtype=jax.dtypes.float0))
            elif part is None:
                out.append(jnp.zeros(leaf.shape, leaf.dtype))
            else:
                out.append(part.astype(leaf.dtype))
        return tuple(out)

    solve.defvjp(forward, backward)
    return solve(*leaves)
