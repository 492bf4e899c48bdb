"""Drop-in replacements for POT's exact solvers: change one import.

>>> import emd.compat.pot as ot   # instead of: import ot

``emd``, ``emd2`` and ``emd2_lazy`` take POT's arguments and follow its
conventions: an empty ``a`` or ``b`` means uniform weights, masses are
compared to 6 decimals and ``b`` is then rescaled to the mass of ``a``, a 2-D
``b`` in ``emd2`` solves one problem per column, the log dictionary has the
keys ``cost``, ``u``, ``v``, ``warning`` and ``result_code`` (POT's codes: 1
optimal, 3 iteration limit), and hitting ``numItermax`` gives POT's
``UserWarning``.  Plans and potentials come back in the float dtype POT gives
them (that of ``a``, else ``b``, else ``M`` or ``X_a``, lists taking the
dtype of the first array argument), computed in float64; costs are Python
floats.  Integer inputs give float64 (POT casts the plan to integers), and a
sparse plan of float16 inputs is float32 where scipy.sparse has no float16.  Bad
input raises :class:`POTCompatError`, which is both a ``ValueError`` and the
``AssertionError`` that POT raises, so existing ``except`` clauses keep
working.

As in POT 0.9.7, a ``scipy.sparse`` cost matrix ``M`` lists the only
allowed pairs: its stored entries are the arcs (an explicit zero is an arc
of cost 0, duplicate entries are summed as scipy sums them) and the plan
comes back as a ``scipy.sparse.coo_array``.  A pattern that admits no plan
gets POT's result code 0 and its ``UserWarning`` ("Problem infeasible",
here with the row or column that cannot be served), however little mass is
stranded (POT itself calls a row of 2**-40 with nowhere to go optimal); the
cost is NaN rather than POT's 0.0, which would read as a distance, and the
plan is empty.  Within each connected part of the pattern, totals that agree
to rounding are balanced exactly first (``emd._certify.balance_components``).
``potentials_init=(u, v)`` warm-starts the solver from the arcs that are
tight under those potentials; it changes how fast the answer is found, never
the answer.  ``numThreads`` other than 1 gives POT's
``DeprecationWarning`` and is ignored.

The answers are those of :func:`emd.solve`, each proven by its certificate
to 1e-9 relative before result code 1 is given (a solve that finishes
without that proof gets code 3 and a ``UserWarning`` saying so).  On costs
spanning many orders of magnitude POT's own solver can return a plan far
from optimal with code 1 (``tests/test_transport.py`` holds a 50 x 50 case
where it is 10-100x too costly); these functions do not.

PyTorch tensors and JAX arrays work as with POT's backends: answers come
back in the inputs' kind, POT's dtype and the inputs' device, and
``emd2`` / ``emd2_lazy`` return a cost with POT's gradients (centred
potentials for ``a`` and ``b``, the plan for ``M``, including a sparse
``torch.sparse_coo_tensor`` ``M``; see :ref:`training`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sized
from typing import Any, cast

import numpy as np
import scipy.sparse
from numpy.typing import ArrayLike

from emd import _engine
from emd._arrays import has_tensor, twin
from emd._result import TransportResult, certify_flow
from emd._validation import (
    as_cost_matrix,
    as_float_array,
    as_point_pair,
    check_weight_values,
    input_eps,
    mass_rtol,
)
from emd.compat import pot_partial as partial  # POT's ot.partial: exact partial transport
from emd.transport import center_potentials, solve_points_validated, solve_validated

__all__ = ["POTCompatError", "emd", "emd2", "emd2_lazy", "partial"]


def __dir__() -> list[str]:
    # What this module offers is what POT's offers: not the names it imports.
    return sorted(__all__)

# POT has no code for a finished solve whose optimality could not be proven; 3
# ("not optimal") is the honest one, with a warning that says why.
_RESULT_CODES = {
    "optimal": 1, "max_iter_reached": 3, "uncertified": 3, "unbounded": 2, "infeasible": 0,
}
_ITER_WARNING = "numItermax reached before optimality. Try to increase numItermax."
_INFEASIBLE_WARNING = "Problem infeasible."
_UNCERTIFIED_WARNING = (
    "the solver finished but could not prove the plan optimal to 1e-9 relative "
    "(see emd.solve(...).certificate())"
)
_THREADS_WARNING = (
    "The 'numThreads' parameter is deprecated and will be removed in a future version. "
    "The network simplex solver does not use threads, so this parameter is ignored."
)
#: Tight arcs per row and per column seeded from ``potentials_init``.
_WARM_ARCS = 2
#: Rows priced at a time when looking for tight arcs (bounds the scratch memory).
_WARM_BLOCK = 512


class POTCompatError(ValueError, AssertionError):
    """Invalid input, raised where POT raises ``AssertionError``."""


def _is_empty(value: Any) -> bool:
    try:
        return value is None or len(value) == 0
    except TypeError:  # a sparse matrix or a scalar
        return False


def _dtype_of(value: Any) -> np.dtype:
    dtype = getattr(value, "dtype", None)
    return dtype if isinstance(dtype, np.dtype) else np.asarray(value).dtype


def _pot_dtypes(*args: Any) -> list[np.dtype | None]:
    """The dtype each argument has once POT has read it (``ot.utils.list_to_array``):
    a Python list takes the dtype of the first argument that is not a list and has
    no ``len()`` or a nonzero one (None among them: lists then keep their own
    ``np.array`` dtype, as they do when there is no such argument); other arguments
    keep theirs (``None`` for None)."""

    def is_reference(arg: Any) -> bool:
        if isinstance(arg, list):
            return False
        try:
            return len(arg) > 0
        except TypeError:
            return True

    reference = next((arg for arg in args if is_reference(arg)), None)
    out: list[np.dtype | None] = []
    for arg in args:
        if arg is None:
            out.append(None)
        elif isinstance(arg, list) and reference is not None:
            out.append(_dtype_of(reference))
        else:
            out.append(_dtype_of(arg))
    return out


def _output_dtype(args: tuple[Any, ...], fallback: int) -> np.dtype:
    """The float dtype of POT's plan and potentials, for ``args`` in POT's order
    (``a, b, M`` or ``a, b, X_a, X_b``): that of ``a``, or of ``b`` when ``a`` is
    empty, or of ``args[fallback]`` when both are (``a`` itself in ``emd`` and
    ``emd2``, ``X_a`` in ``emd2_lazy``).  The arrays are computed in float64 and
    cast to it, as POT casts them.  An integer dtype gives float64 (POT casts the
    plan to integers, with a warning; a plan rounded to integers is not optimal)."""
    dtypes = _pot_dtypes(*args)
    a, b = args[0], args[1]
    dtype = dtypes[0] if not _is_empty(a) else dtypes[1] if not _is_empty(b) else dtypes[fallback]
    return dtype if dtype is not None and dtype.kind == "f" else np.dtype(np.float64)


def _weights(w: ArrayLike | None, name: str, size: int) -> np.ndarray:
    try:
        empty = w is None or len(cast(Sized, w)) == 0
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


def _match_masses(
    a: np.ndarray, b: np.ndarray, check_marginals: bool, sparse: bool = False
) -> np.ndarray:
    if check_marginals and not abs(a.sum() - b.sum()) < 1.5e-6:
        raise POTCompatError(
            f"a and b vector must have the same sum, got {a.sum()!r} and {b.sum()!r}"
        )
    if sparse:
        sum_a, sum_b = math.fsum(a), math.fsum(b)
        if abs(sum_a - sum_b) <= mass_rtol(a.size + b.size) * max(sum_a, sum_b):
            # Totals equal to rounding are balanced exactly per connected part of the
            # pattern downstream.  Scaling b would move every column by an ulp and can break
            # a tight pattern: 2 rows of 1/100 reaching only 3 columns of 1/150 hold exactly
            # 0.02 each way, and b * (1 - 2**-53) no longer takes the rows' mass.
            return b
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


def _check_threads(numThreads: Any) -> None:
    """POT 0.9.7's rule: 1 is silent, ``"max"``/None or any other positive int warns."""
    if numThreads is None or (isinstance(numThreads, str) and numThreads.lower() == "max"):
        pass
    elif not isinstance(numThreads, int) or numThreads < 1:
        raise POTCompatError('numThreads should either be "max" or a strictly positive integer')
    elif numThreads == 1:
        return
    # stacklevel 3: the user's call of emd/emd2, as POT's warning points to it.
    warnings.warn(_THREADS_WARNING, DeprecationWarning, stacklevel=3)


def _warm_potentials(potentials_init: Any, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        u0, v0 = potentials_init
    except (TypeError, ValueError):
        raise POTCompatError("potentials_init must be a pair of arrays (u, v)") from None
    u0 = as_float_array(u0, "potentials_init[0]", 1)
    v0 = as_float_array(v0, "potentials_init[1]", 1)
    if u0.size != n or v0.size != m:
        raise POTCompatError(
            f"potentials_init must have shapes ({n},) and ({m},), got {u0.shape} and {v0.shape}"
        )
    if not (np.isfinite(u0).all() and np.isfinite(v0).all()):
        raise POTCompatError("potentials_init must hold finite numbers")
    return u0, v0


def _tight_arcs(cost_rows, u0: np.ndarray, v0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The arcs of least reduced cost ``C_ij - u0_i - v0_j``, a few per row and per column.

    ``cost_rows(start, stop)`` returns the cost rows ``start:stop``; rows are
    priced in blocks so that no n x m scratch array is formed.
    """
    n, m = u0.size, v0.size
    k_row, k_col = min(_WARM_ARCS, m), min(_WARM_ARCS, n)
    rows, cols = [], []
    best_val = np.full((0, m), np.inf)
    best_row = np.zeros((0, m), dtype=np.intp)
    for start in range(0, n, _WARM_BLOCK):
        stop = min(start + _WARM_BLOCK, n)
        reduced = cost_rows(start, stop) - u0[start:stop, None] - v0[None, :]
        pick = np.argpartition(reduced, k_row - 1, axis=1)[:, :k_row]
        rows.append(np.repeat(np.arange(start, stop), k_row))
        cols.append(pick.ravel())
        # Running k smallest per column over the blocks seen so far.
        kb = min(k_col, stop - start)
        top = np.argpartition(reduced, kb - 1, axis=0)[:kb]
        vals = np.concatenate([best_val, np.take_along_axis(reduced, top, axis=0)])
        who = np.concatenate([best_row, top + start])
        keep = np.argsort(vals, axis=0)[:k_col]
        best_val = np.take_along_axis(vals, keep, axis=0)
        best_row = np.take_along_axis(who, keep, axis=0)
    rows.append(best_row.ravel())
    cols.append(np.tile(np.arange(m), best_row.shape[0]))
    return np.concatenate(rows).astype(np.intp), np.concatenate(cols).astype(np.intp)


def _warm_dense(a, b, cost, max_iter, potentials_init):
    u0, v0 = _warm_potentials(potentials_init, a.size, b.size)
    seeds = _tight_arcs(lambda start, stop: cost[start:stop], u0, v0)
    return solve_validated(a, b, cost, max_iter, initial_arcs=seeds)


def _warm_points(x, y, a, b, metric, p, max_iter, potentials_init):
    if x.shape[1] == 1 and metric != "sqeuclidean":
        # Solved in closed form on the line: nothing to warm-start.
        return solve_points_validated(x, y, a, b, metric, p, max_iter)
    source = _engine.PointCosts(x, y, metric, p)
    source.check_range()
    u0, v0 = _warm_potentials(potentials_init, a.size, b.size)
    m = y.shape[0]

    def cost_rows(start, stop):
        rows = np.repeat(np.arange(start, stop), m)
        cols = np.tile(np.arange(m), stop - start)
        return source.arc_costs(rows, cols).reshape(stop - start, m)

    seeds = _tight_arcs(cost_rows, u0, v0)
    return solve_points_validated(x, y, a, b, metric, p, max_iter, initial_arcs=seeds)


class _SparseResult:
    """What the compat functions read from a solve on a sparse pattern of arcs."""

    def __init__(self, cost, plan, u, v, status, reason=None):
        self.cost, self.plan, self.u, self.v, self.status = cost, plan, u, v, status
        #: Why the status is not optimal, when the solve knows more than its name.
        self.reason = reason


def _sparse_pattern(M: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]]:
    """Stored entries of a sparse ``M`` as arcs: duplicates summed, explicit zeros kept."""
    coo = scipy.sparse.coo_array(M)
    if coo.ndim != 2:
        raise POTCompatError(f"M must be 2-dimensional, got shape {coo.shape}")
    coo.sum_duplicates()
    costs = as_float_array(coo.data, "M", 1)
    if not np.isfinite(costs).all():
        raise POTCompatError("M has a non-finite stored entry")
    return coo.row.astype(np.intp), coo.col.astype(np.intp), costs, coo.shape


def _no_plan_message(a, b, rows, cols) -> str:
    n, m = a.size, b.size
    reach_row = np.bincount(rows[b[cols] > 0], minlength=n) > 0
    reach_col = np.bincount(cols[a[rows] > 0], minlength=m) > 0
    for line, mass, reached, other in (("row", a, reach_row, "column"),
                                       ("column", b, reach_col, "row")):
        stuck = np.flatnonzero((mass > 0) & ~reached)
        if stuck.size:
            k = int(stuck[0])
            name = "a" if line == "row" else "b"
            return (f"{line} {k} of M has mass {name}[{k}]={float(mass[k])!r} but no stored "
                    f"entry in a {other} with mass")
    return "some rows have more mass than the columns their stored entries reach can take"


def _solve_sparse(a, b, rows, cols, costs, shape, max_iter, eps) -> _SparseResult:
    """Transport restricted to the stored entries: a bipartite min-cost flow, rows
    ``0..n-1`` to columns ``n..n+m-1``, whose potentials are ``u = y[:n]``, ``v = -y[n:]``.

    The pattern's connected parts are balanced exactly where their totals agree to
    rounding; mass that still cannot be delivered, however small, makes the problem
    infeasible (``emd._engine.solve_arcs`` proves it in exact arithmetic)."""
    n, m = shape
    supply, _, stranded = _engine.balanced_supply(np.concatenate([a, -b]), rows, cols + n, eps)
    a, b = supply[:n], 0.0 - supply[n:]  # as solved (0.0 - keeps zeros positive)
    solution = _engine.solve_arcs(supply, rows, cols + n, costs, max_iter)
    flow, y = solution.flow, solution.potentials
    status = "infeasible" if stranded.size else solution.status
    if status == "infeasible":
        return _SparseResult(
            math.nan, scipy.sparse.coo_array(shape), np.full(n, math.nan), np.full(m, math.nan),
            status, "M's stored entries admit no transport plan between a and b: "
            + _no_plan_message(a, b, rows, cols),
        )
    cost = math.fsum(flow * costs)
    if status == "optimal":
        certificate = certify_flow(
            rows, cols + n, costs, supply, flow, (y, solution.potentials_low), cost
        )
        if not certificate.optimal():
            status = "uncertified"
    u, _, v, _ = center_potentials(a, b, y[:n], np.zeros(n), -y[n:], np.zeros(m))
    moving = flow > 0
    plan = scipy.sparse.coo_array((flow[moving], (rows[moving], cols[moving])), shape=shape)
    return _SparseResult(cost, plan, u, v, status)


def _log(result, warning: str | None, dtype: np.dtype) -> dict[str, Any]:
    return {
        "cost": result.cost,
        "u": result.u.astype(dtype),  # a copy, also for float64
        "v": result.v.astype(dtype),
        "warning": warning,
        "result_code": _RESULT_CODES[result.status],
    }


def _plan(result, sparse: bool, dtype: np.dtype) -> np.ndarray | scipy.sparse.coo_array:
    """The plan as POT returns it: dense, or a ``coo_array`` for a sparse ``M``, in ``dtype``
    (float32 for a sparse float16 plan where scipy.sparse cannot hold float16, as in recent
    scipy, on which POT fails)."""
    if sparse:
        plan = scipy.sparse.coo_array(result.plan)
        try:
            return plan.astype(dtype)
        except ValueError:  # "scipy.sparse does not support dtype float16"
            return plan.astype(np.float32)
    return result.plan.toarray().astype(dtype, copy=False)


def _status_warning(result) -> str | None:
    if result.status == "optimal":
        return None
    message = {"max_iter_reached": _ITER_WARNING, "uncertified": _UNCERTIFIED_WARNING}.get(
        result.status, result.status
    )
    if result.status == "infeasible":
        # POT's words first (code that filters on them keeps working), then why.
        message = f"{_INFEASIBLE_WARNING} {getattr(result, 'reason', None) or ''}".rstrip()
    warnings.warn(message, UserWarning, stacklevel=3)
    return message


def _solve(a, b, M, numItermax: int, check_marginals: bool, potentials_init=None):
    result: _SparseResult | TransportResult
    try:
        if scipy.sparse.issparse(M):
            rows, cols, costs, (n, m) = _sparse_pattern(M)
        else:
            cost = as_float_array(M, "M", 2)
            n, m = cost.shape
        a_arr = _weights(a, "a", n)
        b_arr = _weights(b, "b", m)
        b_arr = _match_masses(a_arr, b_arr, check_marginals, scipy.sparse.issparse(M))
        max_iter = _iteration_limit(numItermax)
        if scipy.sparse.issparse(M):
            # POT ignores potentials_init for sparse M too.
            result = _solve_sparse(a_arr, b_arr, rows, cols, costs, (n, m), max_iter,
                                   input_eps(a, b))
        else:
            cost = as_cost_matrix(cost, (n, m), "M")
            if potentials_init is None:
                result = solve_validated(a_arr, b_arr, cost, max_iter)
            else:
                result = _warm_dense(a_arr, b_arr, cost, max_iter, potentials_init)
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
    potentials_init: tuple[ArrayLike, ArrayLike] | None = None,
) -> np.ndarray | scipy.sparse.coo_array | tuple[Any, dict[str, Any]]:
    """The optimal transport plan, like ``ot.emd``: dense, or sparse for a sparse ``M``.

    ``center_dual`` is accepted for compatibility; the duals are always
    centred (``sum(a u) == sum(b v)``).  ``numThreads`` is ignored, with
    POT's ``DeprecationWarning`` unless it is 1.  ``potentials_init=(u, v)``
    seeds the solver with the arcs tight under those potentials (ignored for
    a sparse ``M``, as in POT); the plan and cost are the same as without it.

    Examples
    --------
    >>> import emd.compat.pot as ot
    >>> ot.emd([0.5, 0.5], [0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]])
    array([[0.5, 0. ],
           [0. , 0.5]])
    """
    if has_tensor((a, b, M)):  # PyTorch or JAX arrays: as POT's backends
        return twin("emd._autodiff._pot:emd")(
            a, b, M, numItermax, log, center_dual, numThreads, check_marginals,
            potentials_init)
    _check_threads(numThreads)
    result, warning = _solve(a, b, M, numItermax, check_marginals, potentials_init)
    dtype = _output_dtype((a, b, M), 0)
    plan = _plan(result, scipy.sparse.issparse(M), dtype)
    return (plan, _log(result, warning, dtype)) if log else plan


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
    potentials_init: tuple[ArrayLike, ArrayLike] | None = None,
):
    """The optimal transport cost, like ``ot.emd2``; a 2-D ``b`` gives one cost per column.

    ``M``, ``numThreads`` and ``potentials_init`` as in :func:`emd`; with
    ``return_matrix=True`` the plan is ``log["G"]`` (sparse for a sparse ``M``).

    Examples
    --------
    >>> import emd.compat.pot as ot
    >>> ot.emd2([1.0, 0.0], [0.0, 1.0], [[0.0, 2.0], [2.0, 0.0]])
    2.0
    """
    if has_tensor((a, b, M)):  # PyTorch or JAX arrays: differentiable, as POT's backends
        return twin("emd._autodiff._pot:emd2")(
            a, b, M, processes, numItermax, log, return_matrix, center_dual, numThreads,
            check_marginals, potentials_init)
    _check_threads(numThreads)
    b_arr = np.asarray(b) if b is not None else None
    if b_arr is not None and b_arr.ndim == 2:
        # Each column with the dtype POT gives b (a list takes that of a or M).
        b_arr = b_arr.astype(_pot_dtypes(a, b, M)[1], copy=False)
        return [
            emd2(a, b_arr[:, k], M, numItermax=numItermax, log=log,
                 return_matrix=return_matrix, check_marginals=check_marginals,
                 potentials_init=potentials_init)
            for k in range(b_arr.shape[1])
        ]
    result, warning = _solve(a, b, M, numItermax, check_marginals, potentials_init)
    if not log:
        return result.cost
    dtype = _output_dtype((a, b, M), 0)
    info = _log(result, warning, dtype)
    if return_matrix:
        info["G"] = _plan(result, scipy.sparse.issparse(M), dtype)
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
    potentials_init: tuple[ArrayLike, ArrayLike] | None = None,
):
    """The optimal cost with costs computed from coordinates, like ``ot.emd2_lazy``.

    As in POT, ``log=True`` or ``return_matrix=True`` (the default) returns
    ``(cost, log)``, and ``return_matrix`` puts the sparse plan in ``log["G"]``
    (a ``scipy.sparse.coo_array``).  Memory stays O((n + m) d), and O(512 m)
    more with ``potentials_init``, which seeds the solver as in :func:`emd`.

    Examples
    --------
    >>> import emd.compat.pot as ot
    >>> ot.emd2_lazy([[0.0], [1.0]], [[0.0], [3.0]], metric="euclidean", return_matrix=False)
    1.0
    """
    if has_tensor((X_a, X_b, a, b)):  # PyTorch or JAX arrays: differentiable
        return twin("emd._autodiff._pot:emd2_lazy")(
            X_a, X_b, a, b, metric, numItermax, log, return_matrix, center_dual,
            check_marginals, potentials_init)
    try:
        x, y = as_point_pair(X_a, X_b, ("X_a", "X_b"))
        a_arr = _weights(a, "a", x.shape[0])
        b_arr = _match_masses(a_arr, _weights(b, "b", y.shape[0]), check_marginals)
        p = {"sqeuclidean": 2.0, "euclidean": 2.0, "cityblock": 1.0}.get(metric)
        if p is None:
            raise POTCompatError(
                f"metric must be 'sqeuclidean', 'euclidean' or 'cityblock', got {metric!r}"
            )
        max_iter = _iteration_limit(numItermax)
        if potentials_init is None:
            result = solve_points_validated(x, y, a_arr, b_arr, metric, p, max_iter)
        else:
            result = _warm_points(x, y, a_arr, b_arr, metric, p, max_iter, potentials_init)
    except POTCompatError:
        raise
    except ValueError as exc:
        raise POTCompatError(str(exc)) from None
    warning = _status_warning(result)
    # As in POT, return_matrix (on by default here) alone already asks for the log.
    if not (log or return_matrix):
        return result.cost
    dtype = _output_dtype((a, b, X_a, X_b), 2)
    info = _log(result, warning, dtype)
    if return_matrix:
        info["G"] = _plan(result, True, dtype)
    return result.cost, info
