"""Drop-in replacements for POT's exact solvers: change one import.

>>> import emd.compat.pot as ot   # instead of: import ot

``emd``, ``emd2`` and ``emd2_lazy`` take POT's arguments and follow its
conventions: an empty ``a`` or ``b`` means uniform weights, masses are
compared to 6 decimals and ``b`` is then rescaled to the mass of ``a``, a 2-D
``b`` in ``emd2`` solves one problem per column, the log dictionary has the
keys ``cost``, ``u``, ``v``, ``warning`` and ``result_code`` (POT's codes: 1
optimal, 3 iteration limit), and hitting ``numItermax`` gives POT's
``UserWarning``.  Bad input raises :class:`POTCompatError`, which is both a
``ValueError`` and the ``AssertionError`` that POT raises, so existing
``except`` clauses keep working.

The answers are those of :func:`emd.solve`: exact where POT's pricing
tolerance can stop early.  Only NumPy inputs are supported (POT's other
backends are not).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse
from numpy.typing import ArrayLike

from emd._validation import as_cost_matrix, as_float_array, as_points, check_weight_values
from emd.transport import solve_points_validated, solve_validated

__all__ = ["POTCompatError", "emd", "emd2", "emd2_lazy"]

_RESULT_CODES = {"optimal": 1, "max_iter_reached": 3, "unbounded": 2, "infeasible": 0}
_ITER_WARNING = "numItermax reached before optimality. Try to increase numItermax."


class POTCompatError(ValueError, AssertionError):
    """Invalid input, raised where POT raises ``AssertionError``."""


def _weights(w: ArrayLike | None, name: str, size: int) -> np.ndarray:
    try:
        empty = w is None or len(w) == 0
    except TypeError:  # a scalar: refused below as not 1-D
        empty = False
    if empty:
        if size == 0:
            raise POTCompatError("M is empty: the weights need at least one bin")
        return np.full(size, 1.0 / size)
    arr = as_float_array(w, name, 1)
    if arr.shape[0] != size:
        raise POTCompatError("Dimension mismatch, check dimensions of M with a and b")
    check_weight_values(arr, name)
    return arr


def _match_masses(a: np.ndarray, b: np.ndarray, check_marginals: bool) -> np.ndarray:
    if check_marginals and not abs(a.sum() - b.sum()) < 1.5e-6:
        raise POTCompatError(
            f"a and b vector must have the same sum, got {a.sum()!r} and {b.sum()!r}"
        )
    return b * (a.sum() / b.sum())


def _iteration_limit(numItermax: Any) -> int | None:
    try:
        return int(numItermax)
    except OverflowError:  # float("inf"): no limit
        if numItermax > 0:
            return None
        raise POTCompatError(
            f"numItermax must be a number of iterations, got {numItermax!r}"
        ) from None


def _log(result, warning: str | None) -> dict[str, Any]:
    return {
        "cost": result.cost,
        "u": result.u.copy(),
        "v": result.v.copy(),
        "warning": warning,
        "result_code": _RESULT_CODES[result.status],
    }


def _status_warning(result) -> str | None:
    if result.status == "optimal":
        return None
    message = _ITER_WARNING if result.status == "max_iter_reached" else result.status
    warnings.warn(message, UserWarning, stacklevel=3)
    return message


def _solve(a, b, M, numItermax: int, check_marginals: bool):
    try:
        cost = as_float_array(M, "M", 2)
        n, m = cost.shape
        a_arr = _weights(a, "a", n)
        b_arr = _weights(b, "b", m)
        b_arr = _match_masses(a_arr, b_arr, check_marginals)
        cost = as_cost_matrix(cost, (n, m), "M")
        result = solve_validated(a_arr, b_arr, cost, _iteration_limit(numItermax))
    except POTCompatError:
        raise
    except ValueError as exc:
        raise POTCompatError(str(exc)) from None
    return result, _status_warning(result)


def emd(
    a: ArrayLike,
    b: ArrayLike,
    M: ArrayLike,
    numItermax: int = 100000,
    log: bool = False,
    center_dual: bool = True,
    numThreads: int = 1,
    check_marginals: bool = True,
) -> np.ndarray | tuple[np.ndarray, dict[str, Any]]:
    """The optimal transport plan as a dense array, like ``ot.emd``.

    ``center_dual`` and ``numThreads`` are accepted for compatibility; the
    duals are always centred (``sum(a u) == sum(b v)``).

    Examples
    --------
    >>> import emd.compat.pot as ot
    >>> ot.emd([0.5, 0.5], [0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]])
    array([[0.5, 0. ],
           [0. , 0.5]])
    """
    result, warning = _solve(a, b, M, numItermax, check_marginals)
    plan = result.dense_plan()
    return (plan, _log(result, warning)) if log else plan


def emd2(
    a: ArrayLike,
    b: ArrayLike,
    M: ArrayLike,
    processes: int = 1,
    numItermax: int = 100000,
    log: bool = False,
    return_matrix: bool = False,
    center_dual: bool = True,
    numThreads: int = 1,
    check_marginals: bool = True,
):
    """The optimal transport cost, like ``ot.emd2``; a 2-D ``b`` gives one cost per column.

    Examples
    --------
    >>> import emd.compat.pot as ot
    >>> ot.emd2([1.0, 0.0], [0.0, 1.0], [[0.0, 2.0], [2.0, 0.0]])
    2.0
    """
    b_arr = np.asarray(b) if b is not None else None
    if b_arr is not None and b_arr.ndim == 2:
        return [
            emd2(a, b_arr[:, k], M, numItermax=numItermax, log=log,
                 return_matrix=return_matrix, check_marginals=check_marginals)
            for k in range(b_arr.shape[1])
        ]
    result, warning = _solve(a, b, M, numItermax, check_marginals)
    if not log:
        return result.cost
    info = _log(result, warning)
    if return_matrix:
        info["G"] = result.dense_plan()
    return result.cost, info


def emd2_lazy(
    X_a: ArrayLike,
    X_b: ArrayLike,
    a: ArrayLike | None = None,
    b: ArrayLike | None = None,
    metric: str = "sqeuclidean",
    numItermax: int = 100000,
    log: bool = False,
    return_matrix: bool = True,
    center_dual: bool = True,
    check_marginals: bool = True,
):
    """The optimal cost with costs computed from coordinates, like ``ot.emd2_lazy``.

    As in POT, ``log=True`` or ``return_matrix=True`` (the default) returns
    ``(cost, log)``, and ``return_matrix`` puts the sparse plan in ``log["G"]``
    (a ``scipy.sparse.coo_array``).  Memory stays O((n + m) d).

    Examples
    --------
    >>> import emd.compat.pot as ot
    >>> ot.emd2_lazy([[0.0], [1.0]], [[0.0], [3.0]], metric="euclidean", return_matrix=False)
    1.0
    """
    try:
        x = as_points(X_a, "X_a")
        y = as_points(X_b, "X_b")
        if x.shape[1] != y.shape[1]:
            raise POTCompatError(
                f"X_a and X_b must have the same number of dimensions, "
                f"got {x.shape[1]} and {y.shape[1]}"
            )
        a_arr = _weights(a, "a", x.shape[0])
        b_arr = _match_masses(a_arr, _weights(b, "b", y.shape[0]), check_marginals)
        p = {"sqeuclidean": 2.0, "euclidean": 2.0, "cityblock": 1.0}.get(metric)
        if p is None:
            raise POTCompatError(
                f"metric must be 'sqeuclidean', 'euclidean' or 'cityblock', got {metric!r}"
            )
        result = solve_points_validated(x, y, a_arr, b_arr, metric, p, _iteration_limit(numItermax))
    except POTCompatError:
        raise
    except ValueError as exc:
        raise POTCompatError(str(exc)) from None
    warning = _status_warning(result)
    # As in POT, return_matrix (on by default here) alone already asks for the log.
    if not (log or return_matrix):
        return result.cost
    info = _log(result, warning)
    if return_matrix:
        info["G"] = scipy.sparse.coo_array(result.plan)
    return result.cost, info
