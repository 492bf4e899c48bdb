"""One call's arguments: the tensors become the leaves of a rule, the rest stay constants."""

from __future__ import annotations

import importlib
from typing import Any

from emd._arrays import JAX, TORCH, kind_of, tensor_kind
from emd._autodiff._rules import Rule


def backend(kind: str) -> Any:
    """The glue module of a library, imported on first use."""
    name = "_torch" if kind == TORCH else "_jax"
    return importlib.import_module(f"emd._autodiff.{name}")


def _is_tensor(value: Any) -> bool:
    return kind_of(value) in (TORCH, JAX)


class Call:
    """The named arguments of one call.

    Every PyTorch or JAX array among them, at the top level or inside a list or tuple
    (collections of histograms, ``(points, weights)`` pairs), is a leaf; its *path* is
    ``(name,)``, ``(name, i)`` or ``(name, i, j)``.  :meth:`numpy` rebuilds the arguments
    with NumPy copies in place of the leaves.  Mixing kinds is refused here (see
    :func:`emd._arrays.tensor_kind`).
    """

    def __init__(self, named: dict[str, Any]):
        kind = tensor_kind(named)
        if kind is None:
            raise TypeError("no PyTorch or JAX array among the arguments")
        self.kind: str = kind
        self.named = named
        self.paths: list[tuple] = []
        self.leaves: list[Any] = []
        for name, value in named.items():
            self._collect((name,), value)
        self.backend = backend(kind)

    def _collect(self, path: tuple, value: Any) -> None:
        if _is_tensor(value):
            self.paths.append(path)
            self.leaves.append(value)
        elif isinstance(value, (list, tuple)) and len(path) < 3:
            for k, item in enumerate(value):
                self._collect((*path, k), item)

    def index(self, *path: Any) -> int | None:
        """The leaf number of ``path``, or None when that argument is not a tensor."""
        try:
            return self.paths.index(tuple(path))
        except ValueError:
            return None

    @property
    def shapes(self) -> tuple[tuple[int, ...], ...]:
        return tuple(tuple(int(s) for s in leaf.shape) for leaf in self.leaves)

    def numpy(self, arrays: list[Any]) -> dict[str, Any]:
        """The arguments with each leaf replaced by its array in ``arrays``."""
        replaced = dict(zip(self.paths, arrays, strict=True))

        def rebuild(path: tuple, value: Any) -> Any:
            if path in replaced:
                return replaced[path]
            if isinstance(value, (list, tuple)) and len(path) < 3:
                items = [rebuild((*path, k), item) for k, item in enumerate(value)]
                return tuple(items) if isinstance(value, tuple) else items
            return value

        return {name: rebuild((name,), value) for name, value in self.named.items()}

    def apply(self, rule: Rule) -> Any:
        """The rule's value as an array of the call's kind that carries the backward."""
        return self.backend.apply(rule, self.leaves)

    def wrap(self, array: Any, dtype: Any = None) -> Any:
        """A NumPy array as the call's kind, on the first leaf's device (in ``dtype``, else
        the answer's float dtype); not differentiable."""
        like = self.leaves[0]
        return self.backend.wrap(array, like, dtype or self.backend.result_dtype(self.leaves))
