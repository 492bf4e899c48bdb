"""POT's exact partial transport (``ot.partial``) on :mod:`emd.unbalanced`: certified.

Reached as ``emd.compat.pot.partial``, a drop-in for POT's
``ot.partial.partial_wasserstein``, ``partial_wasserstein2`` and
``partial_wasserstein_lagrange`` with their signatures and conventions:
``m`` the mass to move (``None``: the Lagrangian form with POT's default
price), empty ``a`` or ``b`` meaning uniform weights, ``log=True`` adding a
dict, and a ``ValueError`` where POT raises one (``m`` negative or above
the smaller total; masses above 1 in the Lagrangian form).

Differences, all on the side of exactness:

* ``nb_dummies`` is accepted and checked but changes nothing: POT spreads the
  dummy mass over several points to ease its solver's numerics, while the
  dummies here are exact (:mod:`emd.unbalanced`).
* A solve whose optimality is not proven raises ``ValueError`` (POT raises
  one when its solver warns), never returns an unproven plan.
* PyTorch tensors and JAX arrays work as with POT's backends: plans and logs
  come back in the inputs' kind, and ``partial_wasserstein2``'s cost is
  differentiable in ``M`` (its gradient is the plan), as POT's.
* ``log`` holds ``cost``, ``partial_w_dist`` (partial forms), ``u`` and ``v``
  (the potentials of the real bins in the balanced problem solved),
  ``warning`` (None), ``result_code`` (1) and ``certificate``
  (:class:`emd.Certificate`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from emd._arrays import has_tensor, twin

__all__ = ["partial_wasserstein", "partial_wasserstein2", "partial_wasserstein_lagrange"]

#: Keyword arguments POT forwards to its ``emd``; ``numItermax`` is honoured as the
#: pivot limit, the others have no effect on an exact solve.
_EMD_KWARGS = {"numItermax", "numThreads", "check_marginals", "center_dual"}


def _inputs(a: Any, b: Any, M: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cost = np.asarray(M, dtype=np.float64)
    if cost.ndim != 2:
        raise ValueError(f"M must be a 2-D cost matrix, got shape {cost.shape}")
    n, m = cost.shape
    a_arr = np.asarray(a, dtype=np.float64) if a is not None else np.zeros(0)
    b_arr = np.asarray(b, dtype=np.float64) if b is not None else np.zeros(0)
    # POT's convention: an empty weight vector is uniform.
    if a_arr.size == 0:
        a_arr = np.full(n, 1.0 / n)
    if b_arr.size == 0:
        b_arr = np.full(m, 1.0 / m)
    return a_arr, b_arr, cost


def _max_iter(kwargs: dict) -> int | None:
    unknown = set(kwargs) - _EMD_KWARGS
    if unknown:
        raise TypeError(f"unexpected keyword arguments: {', '.join(sorted(unknown))}")
    limit = kwargs.get("numItermax")
    return None if limit is None else int(limit)


def _check_dummies(nb_dummies: Any) -> None:
    if isinstance(nb_dummies, (bool, np.bool_)) or not isinstance(nb_dummies, (int, np.integer)) \
            or nb_dummies < 1:
        raise ValueError(f"nb_dummies must be a positive integer, got {nb_dummies!r}")


def _plan_and_log(result, shape: tuple[int, int]) -> tuple[np.ndarray, dict]:
    if result.status != "optimal":
        raise ValueError(
            f"the exact solve ended with status {result.status!r}: its plan is not proven "
            f"optimal (see emd.solve(..., partial=...).certificate())"
        )
    plan = np.zeros(shape)
    real = result.plan
    np.add.at(plan, (real.row, real.col), real.data)
    n, m = shape
    log = {
        "cost": result.transport_cost,
        "u": result.reduced.u[:n].copy(),
        "v": result.reduced.v[:m].copy(),
        "warning": None,
        "result_code": 1,
        "certificate": result.certificate(),
    }
    return plan, log


def partial_wasserstein(a: Any, b: Any, M: Any, m: float | None = None, nb_dummies: int = 1,
                        log: bool = False, **kwargs: Any):
    r"""Exact partial transport plan: move ``m`` units at least cost (POT's signature).

    .. math::
        \min_{\gamma \ge 0} \langle \gamma, M \rangle \quad\text{s.t.}\quad
        \gamma \mathbf{1} \le a,\; \gamma^\top \mathbf{1} \le b,\;
        \mathbf{1}^\top \gamma \mathbf{1} = m

    Parameters
    ----------
    a, b : array_like, shape (n,) and (m,)
        Nonnegative masses (totals may differ); empty means uniform.
    M : array_like, shape (n, m)
        Costs.
    m : float, optional
        Mass to move, ``0 <= m <= min(sum(a), sum(b))``; ``None`` solves
        :func:`partial_wasserstein_lagrange` with its default price, as POT does.
    nb_dummies : int, default 1
        Accepted for POT's signature; the dummies here are exact, so it changes nothing.
    log : bool, default False
        Also return a dict (see :mod:`emd.compat.pot_partial`).
    **kwargs
        POT's ``emd`` keywords: ``numItermax`` limits pivots, the others are ignored.

    Returns
    -------
    gamma : ndarray, shape (n, m)
    log : dict, only with ``log=True``

    Examples
    --------
    >>> from emd.compat.pot import partial
    >>> partial.partial_wasserstein([.1, .2], [.1, .1], [[0., 1.], [2., 3.]], m=0.1)
    array([[0.1, 0. ],
           [0. , 0. ]])
    """
    if has_tensor((a, b, M)):  # PyTorch or JAX arrays: as POT's backends
        return twin("emd._autodiff._pot:partial_plan")("partial_wasserstein", a, b, M,
                                                         (m, nb_dummies), log, kwargs)
    a_arr, b_arr, cost = _inputs(a, b, M)
    if m is None:
        return partial_wasserstein_lagrange(a_arr, b_arr, cost, nb_dummies=nb_dummies, log=log,
                                            **kwargs)
    _check_dummies(nb_dummies)
    max_iter = _max_iter(kwargs)
    if m < 0:
        raise ValueError("Problem infeasible. Parameter m should be greater than 0.")
    if m > min(math.fsum(a_arr), math.fsum(b_arr)):
        raise ValueError("Problem infeasible. Parameter m should lower or equal than "
                         "min(|a|_1, |b|_1).")
    from emd.transport import solve

    if m == 0:
        gamma = np.zeros(cost.shape)
        info = {"cost": 0.0, "u": np.zeros(cost.shape[0]), "v": np.zeros(cost.shape[1]),
                "warning": None, "result_code": 1, "certificate": None}
    else:
        result = solve(a_arr, b_arr, cost, partial=float(m), max_iter=max_iter)
        gamma, info = _plan_and_log(result, cost.shape)
    info["partial_w_dist"] = info["cost"]
    return (gamma, info) if log else gamma


def partial_wasserstein2(a: Any, b: Any, M: Any, m: float | None = None, nb_dummies: int = 1,
                         log: bool = False, **kwargs: Any):
    """The cost of :func:`partial_wasserstein` (POT's signature); ``log`` adds the plan
    as ``log["T"]``.

    Examples
    --------
    >>> from emd.compat.pot import partial
    >>> round(float(partial.partial_wasserstein2([.1, .2], [.1, .1], [[0., 1.], [2., 3.]])), 6)
    0.3
    """
    if has_tensor((a, b, M)):  # PyTorch or JAX arrays: differentiable in M, as POT's
        return twin("emd._autodiff._pot:partial_wasserstein2")(a, b, M, m, nb_dummies, log,
                                                                kwargs)
    gamma, info = partial_wasserstein(a, b, M, m, nb_dummies, log=True, **kwargs)
    info["T"] = gamma
    cost = info["cost"]
    return (cost, info) if log else cost


def partial_wasserstein_lagrange(a: Any, b: Any, M: Any, reg_m: float | None = None,
                                 nb_dummies: int = 1, log: bool = False, **kwargs: Any):
    r"""Exact Lagrangian partial transport (POT's signature and conventions).

    .. math::
        \min_{\gamma \ge 0} \langle \gamma, M - \lambda \rangle \quad\text{s.t.}\quad
        \gamma \mathbf{1} \le a,\; \gamma^\top \mathbf{1} \le b

    with ``lambda = reg_m`` (default ``max(M) + 1``).  This is unbalanced
    transport at price ``reg_m / 2`` per unit created or destroyed (its
    objective differs by the constant ``reg_m (|a| + |b|) / 2``), solved by
    ``emd.solve(..., unbalanced=...)``; for ``reg_m < 0`` the costs are
    shifted by ``-reg_m`` and the price is 0, the same problem.  As in POT,
    ``a`` and ``b`` must each have total at most 1 (a ``ValueError`` otherwise),
    and ``reg_m < -max(M)`` gives the zero plan.

    Examples
    --------
    >>> from emd.compat.pot import partial
    >>> partial.partial_wasserstein_lagrange([.1, .2], [.1, .1], [[0., 1.], [2., 3.]], reg_m=2)
    array([[0.1, 0. ],
           [0. , 0. ]])
    """
    if has_tensor((a, b, M)):  # PyTorch or JAX arrays: as POT's backends
        return twin("emd._autodiff._pot:partial_plan")("partial_wasserstein_lagrange", a, b,
                                                         M, (reg_m, nb_dummies), log, kwargs)
    a_arr, b_arr, cost = _inputs(a, b, M)
    _check_dummies(nb_dummies)
    max_iter = _max_iter(kwargs)
    if math.fsum(a_arr) > 1 + 1e-15 or math.fsum(b_arr) > 1 + 1e-15:
        raise ValueError("Problem infeasible. Check that a and b are in the simplex")
    top = float(cost.max()) if cost.size else 0.0
    reg = top + 1.0 if reg_m is None else float(reg_m)
    # Every cost M - reg nonnegative (POT's test is reg < -max(M)): the empty plan is
    # optimal, exactly, and nothing need be solved.
    if reg < -top or (cost.size and float((cost - reg).min()) >= 0.0):
        gamma = np.zeros(cost.shape)
        info = {"cost": 0.0, "u": np.zeros(cost.shape[0]), "v": np.zeros(cost.shape[1]),
                "warning": None, "result_code": 1, "certificate": None}
        return (gamma, info) if log else gamma
    from emd.transport import solve

    price = max(reg, 0.0) / 2
    shifted = cost if reg >= 0 else cost - reg
    result = solve(a_arr, b_arr, shifted, unbalanced=price, max_iter=max_iter)
    gamma, info = _plan_and_log(result, cost.shape)
    info["cost"] = float(np.sum(gamma * cost))
    return (gamma, info) if log else gamma
