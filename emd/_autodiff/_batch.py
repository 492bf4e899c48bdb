"""Tensor twins of the many-pair functions: :func:`emd.wasserstein_batch`,
:func:`emd.pairwise` and :func:`emd.cdist`.

Every pair is one single solve (on a thread pool), whose plan and potentials are
kept as the Jacobian factors of the whole output, so the backward of a batch never
solves again.  A stacked tensor of histograms (or point sets) is one leaf whose
factor has an entry per output entry; a list of tensors gives one leaf per item.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from emd._arrays import JAX, has_tensor, tensor_kind, to_numpy
from emd._autodiff._call import Call, backend
from emd._autodiff._linearize import normalized
from emd._autodiff._rules import (
    COLS,
    DIAG,
    FULL,
    ROWS,
    Rule,
    Term,
    position_gradients,
    weight_gradient,
)
from emd._autodiff._transport import unequal_weight_gradients
from emd._minibatch import map_threads, solve_pairs, warn_unproven
from emd._pairs import build_unequal, check_collections, check_item
from emd._status import warn_pairs
from emd._validation import (
    as_cost_matrix,
    as_points,
    as_positive_int,
    check_metric,
)
from emd.unbalanced import check_keywords


def _count(value: Any, name: str) -> int:
    """How many entries a stacked array (first axis) or a list holds."""
    if isinstance(value, (list, tuple)):
        return len(value)
    shape: Any = getattr(value, "shape", ())
    if len(shape) < 2:
        raise ValueError(
            f"{name} must stack one entry per pair (at least 2 dimensions, the first over "
            f"the entries) or be a list of them, got shape {tuple(shape)}"
        )
    return int(shape[0])


def wasserstein_batch(xs, ys, a, b, metric, p, normalize, n_jobs) -> Any:
    """Tensor twin of :func:`emd.wasserstein_batch`: a ``(B,)`` tensor, differentiable in
    ``xs``, ``ys``, ``a`` and ``b``."""
    call = Call({"xs": xs, "ys": ys, "a": a, "b": b})
    count = _count(xs, "xs")
    keys = {"xs": "x", "ys": "y", "a": "a", "b": "b"}
    terms: list[Term] = []
    sources: list[tuple[str, int | None]] = []
    for name in keys:
        leaf = call.index(name)
        if leaf is not None:  # stacked: entry k of the output sees entry k of the leaf
            terms.append(Term(leaf, DIAG))
            sources.append((name, None))
            continue
        for k in range(count):
            leaf = call.index(name, k)
            if leaf is not None:
                terms.append(Term(leaf, FULL, (k,)))
                sources.append((name, k))
    shapes = call.shapes

    def compute(arrays: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        args = call.numpy(arrays)
        outcomes = solve_pairs(args["xs"], args["ys"], args["a"], args["b"], metric, p,
                               normalize, n_jobs, gradients=True)
        warn_unproven(outcomes)
        value = np.array([outcome.value for outcome in outcomes], dtype=np.float64)
        jacobians = []
        for term, (name, k) in zip(terms, sources, strict=True):
            key = keys[name]
            if k is None:
                factor = np.stack([outcome.factor(key) for outcome in outcomes])
            else:
                factor = outcomes[k].factor(key)
            jacobians.append(np.asarray(factor, dtype=np.float64).reshape(shapes[term.leaf]))
        return value, jacobians

    return call.apply(Rule(compute, (count,), tuple(terms), shapes))


# Distance matrices
# -----------------

#: Options of pairwise/cdist that organise NumPy work (files, clusters, progress bars);
#: the tensor twins solve in memory.
_NUMPY_ONLY = ("progress", "client", "chunk_size", "out", "resume", "block_size", "warm_start")
_DEFAULTS = {"progress": False, "client": None, "chunk_size": None, "out": None,
             "resume": False, "block_size": None, "warm_start": False}


def _refuse_numpy_only(options: dict[str, Any]) -> None:
    given = [name for name in _NUMPY_ONLY if options[name] != _DEFAULTS[name]]
    if given:
        raise ValueError(
            f"{', '.join(given)} applies to NumPy histograms only; with tensors pairwise and "
            "cdist solve in memory (convert with .detach().cpu().numpy() to use it)"
        )


class _Collection:
    """One side's histograms, validated: each item's arrays as given (float64) and as
    moved (normalised when asked)."""

    def __init__(self, value: Any, name: str, points: bool, normalize: bool):
        if isinstance(value, np.ndarray) and value.ndim >= 2:
            items = list(value)
        elif isinstance(value, (list, tuple)):
            items = list(value)
        else:
            raise ValueError(f"{name} must be a sequence of histograms (or an array stacking "
                             "them)")
        if not items:
            raise ValueError(f"{name} is empty")
        self.raw: list[Any] = []
        self.moved: list[Any] = []
        for k, item in enumerate(items):
            checked = check_item(item, f"{name}[{k}]", points)
            self.raw.append(checked)
            if points:
                self.moved.append((checked[0], normalized(checked[1], normalize)))
            else:
                self.moved.append(normalized(checked, normalize))


def _pair_solver(form: str, options: dict[str, Any], shape: tuple[int, ...],
                 matrix: np.ndarray | None):
    """``solve(left_item, right_item, left_raw, right_raw) -> (value, left_grads,
    right_grads, status)`` for one form of histograms (``matrix``: the ground cost of the
    dense form); grads are tuples over the item's arrays (``(points, weights)`` or
    ``(weights,)``)."""
    normalize = bool(options["normalize"])
    max_iter = options["max_iter"]
    if form == "points":
        from emd.transport import solve_points_validated

        metric, p = check_metric(options["metric"] or "euclidean", None)

        def solve_points(left, right, left_raw, right_raw):
            (x, wa), (y, wb) = left, right
            result = solve_points_validated(x, y, wa, wb, metric, p, max_iter)
            plan = result.plan
            grad_x, grad_y = position_gradients(x, y, plan.row, plan.col, plan.data, metric, p)
            shape_x, shape_y = np.shape(left_raw[0]), np.shape(right_raw[0])
            return (result.cost,
                    (grad_x.reshape(shape_x), weight_gradient(result.u, left_raw[1], normalize)),
                    (grad_y.reshape(shape_y), weight_gradient(result.v, right_raw[1], normalize)),
                    result.status)

        return solve_points
    if form == "grid":
        from emd.structured._grid import GridSolver

        grid = GridSolver(shape, options["metric"] or "cityblock", options["spacing"],
                          options["L"])

        def solve_grid(left, right, left_raw, right_raw):
            result = grid.solve_pair(left.ravel(), right.ravel(), max_iter)
            f = result.potential.ravel()
            return (result.cost,
                    (weight_gradient(f, left_raw.ravel(), normalize).reshape(shape),),
                    (weight_gradient(-f, right_raw.ravel(), normalize).reshape(shape),),
                    result.status)

        return solve_grid
    from emd.transport import solve_validated

    def solve_dense(left, right, left_raw, right_raw):
        result = solve_validated(left.ravel(), right.ravel(), matrix, max_iter)
        return (result.cost,
                (weight_gradient(result.u, left_raw.ravel(), normalize).reshape(shape),),
                (weight_gradient(result.v, right_raw.ravel(), normalize).reshape(shape),),
                result.status)

    return solve_dense


def _unequal_pair_solver(left: _Collection, right: _Collection, points: bool,
                         unequal: tuple[str, float], options: dict[str, Any]):
    """``one((i, j)) -> (value, left_grads, right_grads, status)`` with ``partial=`` or
    ``unbalanced=``: the NumPy matrix's own pair solver (:class:`emd._pairs.UnequalPairs`,
    so every entry has its bits), the weights' gradients the problem's dual
    (:func:`emd._autodiff._transport.unequal_weight_gradients`), the points' the plan's."""
    positions, cost = options["positions"], options["cost"]
    solver = build_unequal(
        left.moved, right.moved, *unequal, metric=options["metric"],
        positions=None if positions is None else to_numpy(positions), grid=options["grid"],
        points=points, spacing=options["spacing"], L=options["L"],
        max_iter=options["max_iter"], cost=None if cost is None else to_numpy(cost),
    )

    def one(pair):
        i, j = pair
        result = solver.solve(i, j)
        if points:
            (x, wa), (y, wb) = left.moved[i], right.moved[j]
            grad_a, grad_b = unequal_weight_gradients(result, wa, wb)
            plan = result.plan
            grad_x, grad_y = position_gradients(x, y, plan.row, plan.col, plan.data,
                                                solver.metric, solver.p)
            return (result.cost, (grad_x.reshape(np.shape(left.raw[i][0])), grad_a),
                    (grad_y.reshape(np.shape(right.raw[j][0])), grad_b), result.status)
        wa, wb = left.moved[i], right.moved[j]
        grad_a, grad_b = unequal_weight_gradients(result, wa.ravel(), wb.ravel())
        return (result.cost, (grad_a.reshape(wa.shape),), (grad_b.reshape(wb.shape),),
                result.status)

    return one


def _ground(options: dict[str, Any], size: int) -> np.ndarray | None:
    """The cost matrix of weight arrays on a shared support (``cost=`` or the metric
    between ``positions``), or None for grid histograms."""
    cost, positions = options["cost"], options["positions"]
    if cost is not None:
        if positions is not None or options["grid"]:
            raise ValueError("pass either cost= or positions= (or grid=True), not both")
        if options["metric"] is not None:
            raise ValueError("metric= does not apply with cost=: the matrix is the ground cost")
        return as_cost_matrix(to_numpy(cost), (size, size))
    if positions is None or options["grid"]:
        return None
    from scipy.spatial.distance import cdist as scipy_cdist

    from emd._engine import PointCosts

    support = as_points(to_numpy(positions), "positions")
    if support.shape[0] != size:
        raise ValueError(f"positions has {support.shape[0]} points but the histograms have "
                         f"{size} bins")
    metric, p = check_metric(options["metric"] or "euclidean", None)
    PointCosts(support, support, metric, p).check_range(underflow=True)
    return np.ascontiguousarray(scipy_cdist(support, support, metric))


def _matrix(call: Call, names: tuple[str, str], symmetric: bool,
            options: dict[str, Any]) -> Any:
    """The distance matrix of :func:`emd.pairwise` (``symmetric``) or :func:`emd.cdist`
    between the collections ``names`` of ``call``, differentiable in their tensors."""
    left_name, right_name = names
    raw_left = call.named[left_name]
    points = isinstance(raw_left, (list, tuple)) and len(raw_left) > 0 and isinstance(
        raw_left[0], tuple)
    n = _count(raw_left, left_name) if not points else len(raw_left)
    m = n if symmetric else (len(call.named[right_name]) if points
                             else _count(call.named[right_name], right_name))
    if options["max_iter"] is not None:
        options["max_iter"] = as_positive_int(options["max_iter"], "max_iter")
    if not isinstance(options["return_status"], bool):
        raise TypeError(f"return_status must be True or False, got {options['return_status']!r}")

    # The terms: each side's stacked leaf, or each item's leaves, meets its rows (left)
    # or columns (right) of the output's cotangent.
    terms: list[Term] = []
    sources: list[tuple[str, int | None, int]] = []  # (role, item, array of the item)
    for kind, name in ((ROWS, left_name), (COLS, right_name)):
        leaf = call.index(name)
        if leaf is not None:
            terms.append(Term(leaf, kind))
            sources.append((kind, None, 0))
            continue
        size = n if kind == ROWS else m
        for k in range(size):
            for part, path in ([(0, (name, k, 0)), (1, (name, k, 1))] if points
                               else [(0, (name, k))]):
                leaf = call.index(*path)
                if leaf is not None:
                    index = (k, slice(None)) if kind == ROWS else (slice(None), k)
                    terms.append(Term(leaf, FULL, index))
                    sources.append((kind, k, part))
    shapes = call.shapes
    statuses: list[np.ndarray] = []
    unequal = check_keywords(options["partial"], options["unbalanced"], options["normalize"])

    def compute(arrays: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        args = call.numpy(arrays)
        normalize = bool(options["normalize"])
        left = _Collection(args[left_name], left_name, points, normalize)
        right = left if symmetric else _Collection(args[right_name], right_name, points,
                                                   normalize)
        check_collections(left.moved, right.moved, names, points, masses=unequal is None)
        pairs = ([(i, j) for i in range(n) for j in range(i + 1, n)] if symmetric
                 else [(i, j) for i in range(n) for j in range(m)])
        if unequal is not None:
            one = _unequal_pair_solver(left, right, points, unequal, options)
        else:
            form, shape, matrix = "points", (), None
            if not points:
                shape = left.moved[0].shape
                matrix = _ground(options, int(np.prod(shape)))
                form = "grid" if matrix is None else "dense"
            solve = _pair_solver(form, options, shape, matrix)

            def one(pair):
                i, j = pair
                return solve(left.moved[i], right.moved[j], left.raw[i], right.raw[j])

        outcomes = map_threads(one, pairs, options["n_jobs"])
        value = np.zeros((n, m))
        proven = np.ones((n, m), dtype=bool)
        row_grads: dict[tuple[int, int], tuple] = {}
        col_grads: dict[tuple[int, int], tuple] = {}
        for (i, j), (cost, grads_i, grads_j, status) in zip(pairs, outcomes, strict=True):
            value[i, j] = cost
            proven[i, j] = status == "optimal"
            row_grads[i, j], col_grads[i, j] = grads_i, grads_j
            if symmetric:
                value[j, i], proven[j, i] = cost, proven[i, j]
                row_grads[j, i], col_grads[j, i] = grads_j, grads_i
        _warn_matrix(pairs, proven, options["max_iter"])
        statuses.append(proven)

        def factor(grads: dict, i: int, j: int, part: int, like: Any) -> np.ndarray:
            found = grads.get((i, j))
            return np.zeros(np.shape(like)) if found is None else found[part]

        jacobians = []
        for term, (kind, k, part) in zip(terms, sources, strict=True):
            grads = row_grads if kind == ROWS else col_grads
            items = left.raw if kind == ROWS else right.raw
            if k is None:  # a stacked leaf: an entry per (i, j)
                factor_ij = np.stack([
                    np.stack([factor(grads, i, j, 0, items[i if kind == ROWS else j])
                              for j in range(m)]) for i in range(n)])
            elif kind == ROWS:
                like = items[k][part] if points else items[k]
                factor_ij = np.stack([factor(grads, k, j, part, like) for j in range(m)])
            else:
                like = items[k][part] if points else items[k]
                factor_ij = np.stack([factor(grads, i, k, part, like) for i in range(n)])
            jacobians.append(factor_ij.reshape(rule.jacobian_shape(term)))
        return value, jacobians

    rule = Rule(compute, (n, m), tuple(terms), shapes)
    distances = call.apply(rule)
    if not options["return_status"]:
        return distances
    if not statuses:
        raise ValueError("return_status=True with JAX arrays needs concrete values (not "
                         "inside jax.jit or jax.vmap)")
    return distances, statuses[-1]


def _warn_matrix(pairs: list[tuple[int, int]], proven: np.ndarray, max_iter: Any) -> None:
    stopped = [pair for pair in pairs if not proven[pair]]
    warn_pairs(stopped, len(pairs), f"stopped at max_iter={max_iter} or were not proven optimal",
               "their entries are upper bounds; return_status=True marks them", stacklevel=4)


def _constant_matrix(kind: str | None, collections: tuple, options: dict[str, Any]) -> Any:
    """Histograms without tensors (NumPy, beside a JAX ``positions`` or ``cost``): the
    NumPy matrix, as an array of that kind (nothing to differentiate)."""
    import emd

    keyword = {key: (to_numpy(value) if key in ("positions", "cost") else value)
               for key, value in options.items()
               if key not in ("hists", "hists_a", "hists_b")}
    function = emd.pairwise if len(collections) == 1 else emd.cdist
    answer = function(*collections, **keyword)
    glue = backend(kind or JAX)  # only JAX mixes with NumPy (see emd._arrays.tensor_kind)
    dtype = glue.result_dtype([])
    if options["return_status"]:
        return glue.wrap(answer[0], None, dtype), answer[1]
    return glue.wrap(answer, None, dtype)


def pairwise(hists, *, metric, positions, grid, n_jobs, progress, normalize, client,
             chunk_size, spacing, L, max_iter, out, resume, block_size, cost, return_status,
             warm_start, partial=None, unbalanced=None) -> Any:
    """Tensor twin of :func:`emd.pairwise`: the ``(n, n)`` matrix as a tensor,
    differentiable in the histograms (and the points of ``(points, weights)`` pairs)."""
    options = dict(locals())
    _refuse_numpy_only(options)
    kind = tensor_kind({"hists": hists, "positions": positions, "cost": cost})
    if not has_tensor((hists,)):
        return _constant_matrix(kind, (hists,), options)
    return _matrix(Call({"hists": hists}), ("hists", "hists"), True, options)


def cdist(hists_a, hists_b, *, metric, positions, grid, n_jobs, progress, normalize, client,
          chunk_size, spacing, L, max_iter, out, resume, block_size, cost, return_status,
          warm_start, partial=None, unbalanced=None) -> Any:
    """Tensor twin of :func:`emd.cdist`: the ``(n, m)`` matrix as a tensor,
    differentiable in both collections of histograms."""
    options = dict(locals())
    _refuse_numpy_only(options)
    kind = tensor_kind({"hists_a": hists_a, "hists_b": hists_b, "positions": positions,
                        "cost": cost})
    if not has_tensor((hists_a, hists_b)):
        return _constant_matrix(kind, (hists_a, hists_b), options)
    return _matrix(Call({"hists_a": hists_a, "hists_b": hists_b}), ("hists_a", "hists_b"),
                   False, options)

