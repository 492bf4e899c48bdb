"""The PyTorch glue: one ``torch.autograd.Function`` runs any :class:`~._rules.Rule`."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from emd._arrays import to_numpy
from emd._autodiff._rules import SECOND_ORDER, Rule, pullback


def result_dtype(leaves: list[Any]) -> Any:
    """The float dtype of the answer: the promoted dtype of the floating leaves, float64
    when none floats (as the solve)."""
    dtype = None
    for leaf in leaves:
        if leaf.is_floating_point():
            dtype = leaf.dtype if dtype is None else torch.promote_types(dtype, leaf.dtype)
    return torch.float64 if dtype is None else dtype


def wrap(array: Any, like: Any, dtype: Any = None) -> Any:
    """A NumPy answer as a tensor on ``like``'s device (in ``dtype``, or ``like``'s)."""
    return torch.as_tensor(np.asarray(array), dtype=dtype or like.dtype, device=like.device)


class _SecondOrder(torch.autograd.Function):
    """Passes the gradients through; differentiating them raises :data:`SECOND_ORDER`.

    ``torch.autograd.function.once_differentiable`` would do the same only when the
    incoming gradient itself requires grad (``backward(create_graph=True)`` on a loss
    does not), leaving PyTorch's "does not require grad" message instead; a leaf of
    its own (``anchor``) makes the error ours in every case.
    """

    @staticmethod
    def forward(ctx: Any, anchor: Any, *grads: Any) -> Any:
        return tuple(g.clone() for g in grads)

    @staticmethod
    def backward(ctx: Any, *_: Any) -> Any:
        raise RuntimeError(SECOND_ORDER)


class _Solve(torch.autograd.Function):
    """Forward: the rule's NumPy solve on CPU copies.  Backward: the stored Jacobian
    factors (plans, potentials), once; differentiating the backward again is an error."""

    @staticmethod
    def forward(ctx: Any, rule: Rule, dtype: Any, *leaves: Any) -> Any:
        value, jacobians = rule.compute([to_numpy(leaf) for leaf in leaves])
        ctx.rule = rule
        ctx.jacobians = jacobians
        ctx.leaf_types = [(leaf.dtype, leaf.device) for leaf in leaves]
        return torch.as_tensor(np.asarray(value), dtype=dtype, device=leaves[0].device)

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        g = grad.detach().cpu().numpy().astype(np.float64)
        grads = pullback(ctx.rule, ctx.jacobians, g)
        out: list[Any] = [None, None]
        for k, (part, (dtype, device)) in enumerate(zip(grads, ctx.leaf_types, strict=True)):
            wanted = ctx.needs_input_grad[2 + k]
            out.append(torch.as_tensor(part, dtype=dtype, device=device)
                       if wanted and part is not None else None)
        present = [k for k, part in enumerate(out) if part is not None]
        if torch.is_grad_enabled() and present:  # backward(create_graph=True)
            anchor = torch.zeros((), requires_grad=True)
            passed = _SecondOrder.apply(anchor, *(out[k] for k in present))
            for k, part in zip(present, passed, strict=True):
                out[k] = part
        return tuple(out)


def apply(rule: Rule, leaves: list[Any], dtype: Any = None) -> Any:
    """The rule's value as a tensor (in ``dtype``, else :func:`result_dtype`) that carries
    its backward."""
    return _Solve.apply(rule, dtype or result_dtype(leaves), *leaves)
