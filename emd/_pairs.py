"""The pair-solver layer of distance matrices: one solver per form of input.

A :class:`PairSolver` turns pairs of distribution indices into distances: the
single solve a user would make for one pair, and the compiled batch that solves a
whole chunk without the GIL, with the same bits for a pair.  :func:`validate`,
:func:`check_collections` and :func:`build` read a collection of histograms (or of
``(points, weights)`` sets) once and pick the solver; :mod:`emd.batch` runs the
solvers' chunks on threads or Dask, and :mod:`emd.neighbors` uses them for its
queries.
"""

from __future__ import annotations

import math
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike

from emd import _engine, _planner
from emd import unbalanced as _unbalanced
from emd._core._pair import PairWorkspace
from emd._engine import PointCosts
from emd._result import COMPILED_RTOL as _COMPILED_RTOL
from emd._validation import (
    as_cost_matrix,
    as_float_array,
    as_points,
    check_metric,
    check_scale,
    check_weight_values,
    mass_rtol,
    metric_code,
)
from emd.structured._grid import GridSolver
from emd.transport import line_cost, solve_points_validated, solve_validated

__all__ = [
    "DensePairs",
    "GridPairs",
    "LinePairs",
    "PairSolver",
    "PointPairs",
    "UnequalPairs",
    "build",
    "build_unequal",
    "check_collections",
    "check_item",
    "progress_bar",
    "validate",
]

# One reusable workspace per thread (each compiled call owns it while it runs).
_LOCAL = threading.local()


def _workspace() -> PairWorkspace:
    ws = getattr(_LOCAL, "workspace", None)
    if ws is None:
        ws = _LOCAL.workspace = PairWorkspace()
    return ws


@dataclass(frozen=True)
class PairSolver(ABC):
    """Everything a worker needs to turn pairs of distribution indices into distances.

    One subclass per form of input: :meth:`__call__` is the single solve a user
    would make for one pair (its value and whether its certificate proves it),
    :meth:`compiled` the compiled batch that solves a whole chunk without the
    GIL, where the form has one.  Both give the same bits for a pair.
    """

    left: Any
    right: Any
    max_iter: int | None

    @property
    def pair_cells(self) -> int:
        """The work of a typical pair, in cells of a dense transport (sets the chunk size)."""
        return _planner.CHUNK_CELLS

    @abstractmethod
    def __call__(self, i: int, j: int) -> tuple[float, bool]:
        """The distance between ``left[i]`` and ``right[j]`` and whether it is proven optimal."""

    def compiled(self, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """``(values, codes)`` for a chunk, or None without a compiled path: code 1 for a
        pair proven optimal, 0 for one to settle by :meth:`__call__`, -1 for one whose
        value is final but unproven (stopped by ``max_iter``)."""
        return None

    def alone(self, pairs: np.ndarray) -> np.ndarray:
        """Which pairs of a chunk the compiled batch leaves to :meth:`__call__` because the
        single solve takes another path for them (boolean mask)."""
        return np.zeros(len(pairs), dtype=bool)

    def chunk(self, pairs: np.ndarray) -> np.ndarray:
        """``(k, 2)`` rows of (distance, 1.0 if proven optimal else 0.0) for ``pairs``."""
        out = np.empty((len(pairs), 2))
        todo = range(len(pairs))
        if len(pairs):
            # Pairs the single solve hands to another method (emd._few) go to it
            # whole, so that a batch entry is that solve's value bit for bit.
            alone = self.alone(pairs)
            rest = np.flatnonzero(~alone)
            result = None
            if rest.size:
                try:
                    result = self.compiled(pairs[rest])
                except Exception as exc:
                    raise type(exc)(
                        f"pairs {pairs[0].tolist()}..{pairs[-1].tolist()}: {exc}") from exc
            if result is not None:
                values, codes = result
                out[rest, 0] = values
                out[rest, 1] = codes == 1
                # The full single solve settles the rest: same value, full certificate.
                todo = sorted(np.flatnonzero(alone).tolist() + rest[codes == 0].tolist())
        for k in todo:
            i, j = pairs[k]
            try:
                out[k] = self(int(i), int(j))
            except Exception as exc:
                raise type(exc)(f"pair ({i}, {j}): {exc}") from exc
        return out


def _budget(max_iter: int | None) -> int:
    # The default pivot budget grows with a pair's size; the smallest one serves
    # every pair of a compiled batch, and a pair that reaches it is solved again alone.
    return _engine.iteration_limit(max_iter, 0)


@dataclass(frozen=True)
class GridPairs(PairSolver):
    """Grid histograms (stacked, flattened) on one prebuilt :class:`GridSolver`."""

    solver: Any = None
    warm_start: bool = False

    @property
    def pair_cells(self) -> int:
        return _planner.grid_pair_cells(self.left.shape[1])

    def __call__(self, i: int, j: int) -> tuple[float, bool]:
        result = self.solver.solve_pair(self.left[i], self.right[j], self.max_iter)
        return result.cost, result.status == "optimal"

    def compiled(self, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # The grid solver settles every pair itself (compiled check, then single solves).
        values, optimal = self.solver.pair_costs(
            self.left, self.right, pairs, self.max_iter, _COMPILED_RTOL, self.warm_start
        )
        return values, np.where(optimal, 1, -1)


@dataclass(frozen=True)
class LinePairs(PairSolver):
    """Weight arrays on shared 1-D positions: the closed form, no compiled batch."""

    positions: np.ndarray | None = None

    @property
    def pair_cells(self) -> int:
        return len(self.positions)  # the closed form is one pass over the support

    def __call__(self, i: int, j: int) -> tuple[float, bool]:
        return line_cost(self.positions, self.positions, self.left[i], self.right[j]), True


@dataclass(frozen=True)
class _TransportPairs(PairSolver):
    """Pairs that the single solve may send to the few-sources path: the planner says
    which (:func:`emd._planner.batch_alone`), and the batch leaves them to it."""

    #: Whether the items are ``(points, weights)`` sets rather than weight arrays.
    POINTS: ClassVar[bool] = False

    @cached_property
    def _kept(self) -> tuple[np.ndarray, np.ndarray]:
        return (_planner.kept_counts(self.left, self.POINTS),
                _planner.kept_counts(self.right, self.POINTS))

    def alone(self, pairs: np.ndarray) -> np.ndarray:
        return _planner.batch_alone(*self._kept, pairs, self.max_iter)


@dataclass(frozen=True)
class DensePairs(_TransportPairs):
    """Weight arrays on one cost matrix; ``stacked`` (left, right) feeds the compiled batch
    (None when the magnitudes rule it out: every pair's single solve then raises)."""

    cost: np.ndarray | None = None
    stacked: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    scale_mass: float = 1.0

    @property
    def pair_cells(self) -> int:
        return self.cost.shape[0] * self.cost.shape[1]

    def __call__(self, i: int, j: int) -> tuple[float, bool]:
        result = solve_validated(self.left[i], self.right[j], self.cost, self.max_iter)
        return result.cost, result.status == "optimal"

    def compiled(self, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        if self.stacked is None:
            return None
        left, right = self.stacked
        return _workspace().batch_dense(
            self.cost, left, right, np.ascontiguousarray(pairs, dtype=np.intp),
            self.scale_mass, _budget(self.max_iter), _COMPILED_RTOL,
        )


@dataclass(frozen=True)
class PointPairs(_TransportPairs):
    """``(points, weights)`` pairs; ``packed`` holds every set end to end per side, for the
    compiled batch (None when the union is out of range: every single solve then checks
    its own range)."""

    POINTS: ClassVar[bool] = True

    metric: str = "euclidean"
    p: float = 2.0
    packed: tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]] | None = field(
        default=None, repr=False)
    scale_mass: float = 1.0

    @property
    def pair_cells(self) -> int:
        def mean_size(sets):
            return sum(len(weights) for _, weights in sets) / len(sets)

        return max(1, int(mean_size(self.left) * mean_size(self.right)))

    def __call__(self, i: int, j: int) -> tuple[float, bool]:
        (x, wa), (y, wb) = self.left[i], self.right[j]
        result = solve_points_validated(x, y, wa, wb, self.metric, self.p, self.max_iter)
        return result.cost, result.status == "optimal"

    def compiled(self, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        if self.packed is None:
            return None
        (xl, wl, ol), (xr, wr, orr) = self.packed
        return _workspace().batch_points(
            xl, wl, ol, xr, wr, orr, np.ascontiguousarray(pairs, dtype=np.intp),
            metric_code(self.metric), self.p, self.scale_mass, _budget(self.max_iter),
            _COMPILED_RTOL, _planner.BRUTE_FORCE_CELLS,
        )


@dataclass(frozen=True)
class UnequalPairs(PairSolver):
    """Partial transport or unbalanced W1 (``kind``, ``value``: see :mod:`emd.unbalanced`)
    for every pair, each the single solve of its form (no compiled batch: the pairs run
    through the same solver on threads or Dask, with the same bits as single calls).

    ``form`` is ``"dense"`` (weight arrays on the ``cost`` matrix: given, or the
    distances between shared ``positions``, computed once as :func:`emd.solve_points`
    computes them), ``"points"`` (``(points, weights)`` sets, and shared ``positions``
    above ``emd.unbalanced.DENSE_POINT_PAIRS`` pairs, where the single solve forms
    no matrix either), ``"grid"`` (grid
    histograms, :func:`emd.solve_grid`) or ``"line"`` (1-D weights at 0, 1, 2, ...
    times ``spacing`` without ``grid=True``: a 1-D grid for ``unbalanced``, points on
    the line for ``partial``, which has no grid form of its own).
    """

    kind: str = _unbalanced.UNBALANCED
    value: float = 0.0
    form: str = "points"
    metric: str = "euclidean"
    p: float = 2.0
    cost: np.ndarray | None = field(default=None, repr=False)
    spacing: float = 1.0
    L: int | None = None

    @property
    def pair_cells(self) -> int:
        if self.form == "dense":
            return self.cost.size
        if self.form == "points":
            def mean_size(sets):
                return sum(len(weights) for _, weights in sets) / len(sets)

            return max(1, int(mean_size(self.left) * mean_size(self.right)))
        return _planner.grid_pair_cells(self.left[0].size)

    def __call__(self, i: int, j: int) -> tuple[float, bool]:
        result = self.solve(i, j)
        return result.cost, result.status == "optimal"

    def solve(self, i: int, j: int) -> _unbalanced.UnbalancedResult:
        """The whole result of pair ``(i, j)``: the single solve's, bit for bit."""
        keyword = {self.kind: self.value}
        p, q = self.left[i], self.right[j]
        if self.form == "dense":
            return _unbalanced.solve_dense(p.ravel(), q.ravel(), self.cost, self.kind,
                                           self.value, self.max_iter, 1)
        if self.form == "points":
            return _unbalanced.solve_points(p[0], q[0], p[1], q[1], self.metric, self.p,
                                            self.kind, self.value, self.max_iter, 1)
        if self.form == "line" and self.kind == _unbalanced.PARTIAL:
            line = np.arange(p.size, dtype=np.float64).reshape(-1, 1) * self.spacing
            return _unbalanced.solve_points(line, line, p, q, "cityblock", 1.0, self.kind,
                                            self.value, self.max_iter, 1)
        from emd.structured import solve_grid

        return solve_grid(p, q, metric=self.metric, spacing=self.spacing, L=self.L,
                          max_iter=self.max_iter, volume=True, **keyword)


def validate(hists: Any, name: str, normalize: bool, points: bool) -> list[Any]:
    """Validate every histogram before any work starts; errors name the index."""
    if isinstance(hists, np.ndarray):
        items = list(hists) if hists.ndim >= 2 else None
    elif isinstance(hists, Iterable) and not isinstance(hists, (str, bytes)):
        items = list(hists)
    else:
        items = None
    if items is None:
        raise ValueError(f"{name} must be a sequence of histograms (or an array stacking them)")
    if not items:
        raise ValueError(f"{name} is empty")
    out = []
    for k, item in enumerate(items):
        checked = check_item(item, f"{name}[{k}]", points)
        # math.fsum as in emd._validation.balance: single calls with normalize=True see
        # bit-identical weights.
        if points:
            x, w = checked
            out.append((x, w / math.fsum(w) if normalize else w))
        else:
            out.append(checked / math.fsum(checked.ravel()) if normalize else checked)
    return out


def check_item(item: Any, label: str, points: bool) -> Any:
    """One histogram of a collection, validated and as given: a ``(points, weights)``
    pair or a weight array (1-D to 3-D); errors start with ``label``."""
    try:
        if points:
            if not (isinstance(item, (tuple, list)) and len(item) == 2):
                raise ValueError("must be a (points, weights) pair")
            x = as_points(item[0], "points")
            w = as_float_array(item[1], "weights", 1)
            if w.size != x.shape[0]:
                raise ValueError(f"has {x.shape[0]} points but {w.size} weights")
            check_weight_values(w, "weights")
            return x, w
        w = as_float_array(item, "histogram", (1, 2, 3))
        if w.size == 0:
            raise ValueError("is empty")
        check_weight_values(w.ravel(), "histogram")
        return w
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"{label}: {exc}") from None


def _shape_of(item: Any, points: bool) -> tuple[int, ...]:
    """What must agree between histograms: the shape of a weight array, or the
    dimension of a point set's points."""
    return (item[0].shape[1],) if points else item.shape


def check_collections(
    left: list[Any], right: list[Any], names: tuple[str, str], points: bool, hint: str = "",
    masses: bool = True,
) -> float:
    """Refuse histograms that do not fit together, naming the first that does not:
    shapes first (a mass mismatch between histograms of different shapes is only a
    symptom), then total masses (unless ``masses`` is False: partial and unbalanced
    transport), each against ``left[0]``.  ``hint`` ends a message about shapes.
    Returns the total mass of ``left[0]``."""
    first_label = f"{names[0]}[0]"
    first_shape = _shape_of(left[0], points)
    sides = [(names[0], left)] if right is left else [(names[0], left), (names[1], right)]
    for name, items in sides:
        for k, item in enumerate(items):
            shape = _shape_of(item, points)
            if shape == first_shape:
                continue
            if points:
                raise ValueError(
                    f"{name}[{k}] has points in {shape[0]} dimensions but {first_label} has "
                    f"points in {first_shape[0]}; every point set must have the same dimension"
                    + hint
                )
            raise ValueError(
                f"{name}[{k}] has shape {shape} but {first_label} has shape {first_shape}; "
                "every histogram must have the same shape" + hint
            )
    if not masses:
        return math.fsum((left[0][1] if points else left[0]).ravel())
    mass = _check_masses(left, names[0], points, None, first_label)
    if right is not left:
        _check_masses(right, names[1], points, mass, first_label)
    return mass


def _check_masses(
    items: list[Any], name: str, points: bool, reference: float | None, reference_label: str,
) -> float:
    weights = [item[1] if points else item.ravel() for item in items]
    masses = [math.fsum(w) for w in weights]
    first = masses[0] if reference is None else reference
    for k, mass in enumerate(masses):
        # The single solve's rule for a pair of this size (emd._validation.mass_rtol).
        if abs(mass - first) > mass_rtol(2 * weights[k].size) * max(mass, first):
            raise ValueError(
                f"{name}[{k}] has total mass {mass!r} but {reference_label} has {first!r}; "
                "pass normalize=True to rescale every histogram to 1"
            )
    return first


def build(
    left: list[Any], right: list[Any], *, metric: str | None, positions: ArrayLike | None,
    grid: bool, points: bool, spacing: float, L: int | None, max_iter: int | None,
    cost: ArrayLike | None = None, mass: float = 1.0, warm_start: bool = False,
) -> PairSolver:
    if not isinstance(warm_start, bool):
        raise TypeError(f"warm_start must be True or False, got {warm_start!r}")
    if warm_start and (points or cost is not None or not (grid or positions is None)):
        raise ValueError("warm_start=True applies to grid histograms only (weight arrays "
                         "without positions= or cost=)")
    if points:
        _no_cost_for_points(cost)
        metric_name, p = check_metric(metric or "euclidean", None)
        dims = {x.shape[1] for x, _ in left + right}
        if len(dims) > 1:
            raise ValueError(f"point sets must all have the same dimension, got {sorted(dims)}")
        packed = None
        if not _planner.on_the_line(dims.pop(), metric_name):  # the line: closed form
            packed = _pack_points(left, right, metric_name, p, mass)
        return PointPairs(left, right, max_iter, metric_name, p, packed, mass)
    shapes = {h.shape for h in left + right}
    if len(shapes) > 1:
        raise ValueError(f"histograms must all have the same shape, got {sorted(shapes)}")
    shape = shapes.pop()
    flat_left = [h.ravel() for h in left]
    flat_right = flat_left if right is left else [h.ravel() for h in right]
    if cost is not None:
        matrix = _given_cost(cost, positions, grid, metric, flat_left[0].size)
        return _dense_solver(flat_left, flat_right, matrix, max_iter, mass)
    if grid or positions is None:
        # Weights alone sit on a grid (a line for 1-D ones): exactly what
        # emd.wasserstein_grid solves for one pair.
        solver = GridSolver(shape, metric or "cityblock", spacing, L)
        stacked = np.ascontiguousarray(np.stack(flat_left), dtype=np.float64)
        other = stacked if right is left else np.ascontiguousarray(
            np.stack(flat_right), dtype=np.float64)
        return GridPairs(stacked, other, max_iter, solver, warm_start)
    support = _shared_support(positions, flat_left[0].size)
    metric_name, p = check_metric(metric or "euclidean", None)
    if _planner.on_the_line(support.shape[1], metric_name):
        return LinePairs(flat_left, flat_right, max_iter, support[:, 0].copy())
    # The dense path prices with scipy's cdist, which works in powers of distances.
    PointCosts(support, support, metric_name, p).check_range(underflow=True)
    if _planner.support_matrix(support.shape[0]):
        kwargs = {"p": p} if metric_name == "minkowski" else {}
        from scipy.spatial.distance import cdist as scipy_cdist  # imported on first use

        matrix = np.ascontiguousarray(scipy_cdist(support, support, metric_name, **kwargs))
        return _dense_solver(flat_left, flat_right, matrix, max_iter, mass)
    return PointPairs(
        [(support, h) for h in flat_left], [(support, h) for h in flat_right], max_iter,
        metric_name, p,
    )


def build_unequal(
    left: list[Any], right: list[Any], kind: str, value: float, *, metric: str | None,
    positions: ArrayLike | None, grid: bool, points: bool, spacing: float, L: int | None,
    max_iter: int | None, cost: ArrayLike | None = None,
) -> UnequalPairs:
    """The :class:`UnequalPairs` for validated items (see :func:`build` for the forms)."""
    common = {"kind": kind, "value": value}
    if points:
        _no_cost_for_points(cost)
        metric_name, p = check_metric(metric or "euclidean", None)
        return UnequalPairs(left, right, max_iter, form="points", metric=metric_name, p=p,
                            **common)
    flat_left = [h.ravel() for h in left]
    flat_right = flat_left if right is left else [h.ravel() for h in right]
    if cost is not None:
        matrix = _given_cost(cost, positions, grid, metric, flat_left[0].size)
        return UnequalPairs(flat_left, flat_right, max_iter, form="dense", cost=matrix,
                            **common)
    if positions is not None and not grid:
        support = _shared_support(positions, flat_left[0].size)
        metric_name, p = check_metric(metric or "euclidean", None)
        if support.shape[0] ** 2 > _unbalanced.DENSE_POINT_PAIRS:
            # What emd.solve_points does at this size: no matrix, costs on the fly.
            sets = [(support, h) for h in flat_left]
            other = sets if flat_right is flat_left else [(support, h) for h in flat_right]
            return UnequalPairs(sets, other, max_iter, form="points", metric=metric_name,
                                p=p, **common)
        # Computed once for every pair, as emd.solve_points computes it for one.
        matrix = _unbalanced.point_costs(support, support, metric_name, p)
        return UnequalPairs(flat_left, flat_right, max_iter, form="dense", cost=matrix,
                            **common)
    if grid or left[0].ndim > 1:
        return UnequalPairs(left, right, max_iter, form="grid", metric=metric or "cityblock",
                            spacing=spacing, L=L, **common)
    return UnequalPairs(flat_left, flat_right, max_iter, form="line", metric="cityblock",
                        spacing=spacing, **common)


def _no_cost_for_points(cost: ArrayLike | None) -> None:
    if cost is not None:
        raise ValueError("cost= applies to weight arrays on a shared support, not point sets")


def _given_cost(cost: ArrayLike, positions: ArrayLike | None, grid: bool, metric: str | None,
                size: int) -> np.ndarray:
    """``cost=`` as the (size, size) ground cost, refused beside the options it replaces."""
    if positions is not None or grid:
        raise ValueError("pass either cost= or positions= (or grid=True), not both")
    if metric is not None:
        raise ValueError("metric= does not apply with cost=: the matrix is the ground cost")
    return as_cost_matrix(cost, (size, size))


def _shared_support(positions: ArrayLike, size: int) -> np.ndarray:
    """``positions=`` as points, one per bin of the histograms."""
    support = as_points(positions, "positions")
    if support.shape[0] != size:
        raise ValueError(
            f"positions has {support.shape[0]} points but the histograms have {size} bins"
        )
    return support


def _dense_solver(flat_left, flat_right, matrix, max_iter, mass) -> DensePairs:
    """Histograms on one cost matrix; the compiled batch when the magnitudes allow it
    (otherwise every pair's single solve raises its own error)."""
    stacked = None
    try:
        check_scale(float(np.abs(matrix).max()), mass, 2 * matrix.shape[0])
    except ValueError:
        pass
    else:
        left = np.ascontiguousarray(np.stack(flat_left), dtype=np.float64)
        right = left if flat_right is flat_left else np.ascontiguousarray(
            np.stack(flat_right), dtype=np.float64)
        stacked = (left, right)
    return DensePairs(flat_left, flat_right, max_iter, matrix, stacked, mass)


def _pack_points(left, right, metric_name: str, p: float, mass: float) -> tuple | None:
    """Point sets packed end to end for the compiled batch, or None when the union of all
    of them is out of range for the metric or the solver's sums (then every pair's
    single solve checks its own range and raises its own error)."""
    def pack(items):
        x = np.ascontiguousarray(np.concatenate([item[0] for item in items]), dtype=np.float64)
        w = np.ascontiguousarray(np.concatenate([item[1] for item in items]), dtype=np.float64)
        offsets = np.zeros(len(items) + 1, dtype=np.intp)
        np.cumsum([len(item[1]) for item in items], out=offsets[1:])
        return x, w, offsets

    packed_left = pack(left)
    packed_right = packed_left if right is left else pack(right)
    union = packed_left[0] if right is left else np.concatenate(
        [packed_left[0], packed_right[0]])
    costs = PointCosts(union, union, metric_name, p)
    largest = max(len(item[1]) for item in left) + max(len(item[1]) for item in right)
    try:
        costs.check_range()
        check_scale(costs.compiled_bound(), mass, largest)
    except ValueError:
        return None
    return packed_left, packed_right


def progress_bar(total: int, progress: bool):
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        raise ValueError(
            'progress=True needs tqdm: pip install "emd-ot[progress]"'
        ) from None
    return tqdm(total=total, unit="pair", desc="emd")
