r"""Differentiable distances for PyTorch tensors and JAX arrays.

The public functions of :mod:`emd` that accept tensors route such calls here
(see :mod:`emd._arrays`).  Each twin converts its arrays to NumPy once, runs
the same NumPy solve, and returns the answer as a tensor of the caller's kind
with a backward rule attached: a ``torch.autograd.Function`` (:mod:`._torch`)
or a ``jax.custom_vjp`` (:mod:`._jax`) around one :class:`._rules.Rule`.

Gradients, as the theory gives them
-----------------------------------
By linear-programming duality the optimal cost is
``max sum(a u) + sum(b v)`` over ``u_i + v_j <= C_ij``, and equally
``min sum(P C)`` over the plans ``P``.  Where the optimal plan and the
optimal potentials are unique (up to the constant below), the cost is
differentiable and

* with respect to a cost matrix ``C``: the plan ``P``;
* with respect to point positions: ``sum_j P_ij grad_x d(x_i, y_j)`` (and the
  same with ``-grad`` for ``y``).  Where two coupled points coincide the
  metric has no gradient; the rule takes the subgradient of least norm,
  ``0`` for ``euclidean``, ``cityblock`` and ``minkowski``, and for
  ``chebyshev`` ties between coordinates share the unit step equally;
* with respect to the weights: the potentials.  The potentials are defined
  only up to ``(u + t, v - t)``, and with masses as given the totals of
  ``a`` and ``b`` must stay equal, so the gradient is defined only on the
  tangent space ``sum(da) = sum(db) = 0``; any constant added to it changes
  nothing there.  The rule gives POT's representative, ``u - mean(u)`` and
  ``v - mean(v)`` (the one orthogonal to the constants), so gradients agree
  with ``ot.emd2``'s.  Where each side is divided by its own total
  (``normalize=True``, the default of :func:`emd.wasserstein`) the distance
  is a function of every positive ``a`` and its gradient is unique:
  ``(u - sum(a u) / sum(a)) / sum(a)``, which no constant changes;
* for grids, the potential ``f`` on the bins (``u = f``, ``v = -f``), centred
  the same way.

Where the optimum is not unique (ties) these are subgradients, not
gradients.  The distance is piecewise linear in the weights and the cost
matrix, so second derivatives are zero or undefined: differentiating a
gradient again is an error (PyTorch: the backward is
``once_differentiable``; JAX: a clear ``ValueError``), never a silent zero.
"""
