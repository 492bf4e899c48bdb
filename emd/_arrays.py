"""Array libraries at the boundary: PyTorch and JAX arrays in, the same kind out.

The solvers work on NumPy float64 arrays.  A public function that receives a
PyTorch tensor or a JAX array routes the call (:func:`twin`) to its
differentiable twin in :mod:`emd._autodiff`, which converts every array to a
NumPy CPU copy once (:func:`to_numpy`), solves, and gives the answer back in
the caller's library, float dtype and device (the backends' ``wrap``).  The
libraries are recognised by the module of an argument's type (and, when a
library is already loaded, by ``isinstance``), so ``import emd`` imports
neither: a tensor can only exist once its library is loaded.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

TORCH = "torch"
JAX = "jax"
NUMPY = "numpy"

#: How a user names each kind in an error message.
_KIND_NAMES = {TORCH: "torch tensors", JAX: "JAX arrays", NUMPY: "NumPy arrays"}

def _loaded_type(module: str, *path: str) -> Any:
    """``module.path`` if ``module`` is already imported (never imports it), else None."""
    found: Any = sys.modules.get(module)
    for name in path:
        found = getattr(found, name, None)
    return found


def kind_of(value: Any) -> str | None:
    """``"torch"``, ``"jax"`` or ``"numpy"`` for an array of that library, None for
    anything else (lists, scalars, None, scipy.sparse matrices)."""
    top = type(value).__module__.partition(".")[0]
    if top == "torch":
        return TORCH
    if top in ("jax", "jaxlib"):  # concrete arrays (jaxlib) and tracers (jax._src)
        return JAX
    if isinstance(value, np.ndarray):
        return NUMPY
    # Subclasses defined elsewhere (a user's Tensor subclass): only libraries already
    # loaded can have made one.
    tensor = _loaded_type("torch", "Tensor")
    if tensor is not None and isinstance(value, tensor):
        return TORCH
    jax_array = _loaded_type("jax", "Array")
    if jax_array is not None and isinstance(value, jax_array):
        return JAX
    return None


def _items(value: Any) -> Iterable[Any]:
    """The value and, for a collection of arrays (a list or tuple whose first item is an
    array or a ``(points, weights)`` tuple), its items and the items of its tuples: where
    an array of some library can hide.  Lists of numbers or of lists of numbers are not
    walked, so that the NumPy path pays nothing per number."""
    yield value
    if not (isinstance(value, (list, tuple)) and value):
        return
    first = value[0]
    if kind_of(first) is None and not isinstance(first, tuple):
        return
    for item in value:
        yield item
        if isinstance(item, tuple):
            yield from item


def has_tensor(values: Iterable[Any]) -> bool:
    """Whether any value (or item of a list or tuple) is a PyTorch or JAX array."""
    return any(kind_of(item) in (TORCH, JAX) for value in values for item in _items(value))


def tensor_kind(named: dict[str, Any]) -> str | None:
    """The one array library among the arguments (``"torch"`` or ``"jax"``), or None when
    there is none.

    Mixing kinds is a ``ValueError`` naming the arguments: PyTorch with JAX, or PyTorch
    with NumPy arrays (as POT's backends refuse it: a NumPy array where a tensor was meant
    silently cuts the gradient).  NumPy arrays beside JAX arrays are constants, as they
    are in JAX itself (``jax.test_util.check_grads`` passes them).  Lists, scalars and
    None mix with anything.
    """
    found: dict[str, list[str]] = {}
    for name, value in named.items():
        for item in _items(value):
            kind = kind_of(item)
            if kind is not None and name not in found.setdefault(kind, []):
                found[kind].append(name)
    tensors = [kind for kind in (TORCH, JAX) if kind in found]
    if not tensors:
        return None
    clash = len(tensors) > 1 or (TORCH in found and NUMPY in found)
    if clash:
        parts = [f"{_KIND_NAMES[kind]} ({', '.join(names)})" for kind, names in found.items()]
        raise ValueError(
            "the array arguments mix kinds: " + " and ".join(parts) + "; pass every array "
            f"as {_KIND_NAMES[tensors[0]]} (the answer comes back in the arguments' kind)"
        )
    return tensors[0]


def to_numpy(value: Any) -> Any:
    """A NumPy CPU copy of a PyTorch or JAX array (detached: no gradient is tracked
    through it); anything else unchanged.  bfloat16 becomes float32, which NumPy has."""
    kind = kind_of(value)
    if kind == TORCH:
        tensor = value.detach()
        if tensor.layout != _loaded_type("torch", "strided"):
            raise TypeError(
                f"a sparse torch tensor (layout {tensor.layout}) is accepted only as the "
                "cost matrix M of emd.compat.pot.emd / emd2"
            )
        if tensor.dtype == _loaded_type("torch", "bfloat16"):
            tensor = tensor.float()
        if tensor.is_conj():
            tensor = tensor.resolve_conj()
        # .numpy() shares the CPU tensor's memory: copy, so that an optimizer's in-place
        # update after the call cannot change what a result holds.
        return np.array(tensor.cpu().numpy(), copy=True)
    if kind == JAX:
        try:
            array = np.array(value, copy=True)
        except Exception as exc:  # a tracer: the callers use a host callback instead
            raise TypeError(f"a traced JAX array has no value here: {exc}") from None
        if array.dtype.kind not in "biufc":  # bfloat16 and other ml_dtypes
            array = array.astype(np.float32)
        return array
    return value


def twin(target: str) -> Callable[..., Any]:
    """The differentiable twin ``"module:function"`` of a public function, imported on
    first use.  Public functions call it from their first lines when
    :func:`has_tensor` finds a PyTorch or JAX array among their arguments (inline, not
    a decorator: a wrapper frame would move where their warnings point)."""
    module_name, _, function_name = target.partition(":")
    return getattr(importlib.import_module(module_name), function_name)
