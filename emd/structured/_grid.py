r"""Exact W1 between histograms on a regular grid, by transshipment on O(n) arcs.

Because the ground cost of W1 is a metric, mass may be routed through
intermediate bins at no extra cost, so W1 equals a minimum-cost flow on any
graph whose shortest-path distance is the ground metric.  For the city-block
metric that graph is the grid with its 2d axis neighbours; for Chebyshev the
grid with all :math:`3^d - 1` neighbours.  For the Euclidean metric in 2-D the
graph with arcs to every primitive offset :math:`(v, w)`,
:math:`\gcd(v, w) = 1`, :math:`|v|, |w| \le L` has shortest paths at most
:math:`1/\cos(\theta_L/2)` times the straight line, :math:`\theta_L` being the
largest angle between neighbouring offsets (Bassetti, Gualandi & Veneroni
2018): consecutive offsets are Farey neighbours, so every lattice vector is a
nonnegative integer combination of the two that bracket it.

References
----------
.. [1] F. Bassetti, S. Gualandi, M. Veneroni, "On the computation of
   Kantorovich-Wasserstein distances between 2D-histograms by uncapacitated
   minimum cost flows", SIAM J. Optim. 30(3), 2020 (arXiv:1804.00445).
.. [2] H. Ling, K. Okada, "An efficient Earth Mover's Distance algorithm for
   robust histogram comparison", IEEE TPAMI 29(5), 2007.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import threading
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike

from emd import _certify, _engine
from emd._arrays import has_tensor, twin
from emd._core import _line
from emd._core._grid import GridPlan, GridWorkspace, line_batch
from emd._core._tree import STATUS_NAMES
from emd._result import COMPILED_RTOL, Certificate, certify_flow, cost_source
from emd._status import cost_if_finished
from emd._status import warn_status as _warn_status
from emd._validation import (
    GRID_METRICS,
    as_float_array,
    as_positive_int,
    balance,
    check_grid_layout,
    check_scale,
    check_weight_values,
    grid_metric_code,
    input_eps,
)
from emd.structured._deprecation import DeprecatedResultFloat
from emd.transport import solve_points_validated
from emd.unbalanced import UnbalancedResult, check_keywords, exact_residual

__all__ = ["GridResult", "GridSolver", "euclidean_offsets", "solve_grid", "wasserstein_grid"]

#: Largest Euclidean offset size: L = 1024 already bounds the error by 1.2e-6
#: with ~2.5 million offsets; beyond it use ``exact=True``.
MAX_L = 1024


@dataclass(frozen=True, slots=True)
class GridResult:
    """W1 between two grid histograms.

    Attributes
    ----------
    cost : float
        The distance (for ``euclidean`` with finite ``L``: an upper bound on it,
        within :attr:`rel_error_bound`); NaN if ``max_iter`` stopped the solver
        before every unit of mass found its way (``status`` then says so).
    potential : ndarray, shape of the grid
        Kantorovich potential ``f``: 1-Lipschitz for the graph metric (hence
        for the ground metric up to the error bound) with
        ``cost == sum((A - B) * f)``, ``A`` and ``B`` as transported.
    rel_error_bound : float
        Guaranteed ``(cost - W1) / W1 <= rel_error_bound``; zero for exact metrics.
    metric : str
    L : int or None
        Largest offset used for ``euclidean``.
    n_arcs : int
        Arcs in the transshipment graph.
    n_iter : int
        Simplex pivots, the coarse levels of the warm start included.
    status : str
        ``"optimal"`` (proven by :meth:`certificate` to 1e-9 relative),
        ``"uncertified"`` or ``"max_iter_reached"``.
    flows : tuple of ndarray or None
        ``(tails, heads, flow)`` over flat C-order bin indices, positive flows
        only, when ``return_flows=True``.
    """

    cost: float
    potential: np.ndarray
    rel_error_bound: float
    metric: str
    L: int | None
    n_arcs: int
    n_iter: int
    status: str
    flows: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    #: What :meth:`certificate` checks: ``("graph", ...)``, ``("line", ...)`` or a
    #: transport certificate for ``exact=True``.
    _proof: Any = field(default=None, repr=False, compare=False)

    @property
    def converged(self) -> bool:
        return self.status == "optimal"

    def certificate(self) -> Certificate:
        """The proof of :attr:`cost` on the grid graph (for ``euclidean`` with finite ``L``,
        of ``W_L``, which brackets W1 as ``W_L / (1 + rel_error_bound) <= W1 <= W_L``).

        Checked afresh: the arc lengths are recomputed from the offsets under the
        metric (so the proof is about the metric, whatever the solver used),
        conservation at every bin through the exact basic flow of the flow's
        support, and the feasibility of the potential on every arc of the full
        graph with exact-sign arithmetic (see :class:`emd.Certificate`).
        """
        if isinstance(self._proof, Certificate):
            return self._proof
        if self._proof is None:
            raise ValueError("this result does not keep its problem; certificate() is unavailable")
        kind, data = self._proof
        return _grid_certificate(kind, data, self)

    @property
    def lower_bound(self) -> float:
        """A guaranteed lower bound on the true distance: ``cost / (1 + rel_error_bound)``."""
        return self.cost / (1.0 + self.rel_error_bound)

    def __repr__(self) -> str:
        extra = f", L={self.L}, rel_error_bound={self.rel_error_bound:.2e}" if self.L else ""
        return (
            f"GridResult(cost={self.cost:.12g}, shape={self.potential.shape}, "
            f"metric={self.metric!r}{extra}, n_arcs={self.n_arcs}, status={self.status!r})"
        )


def euclidean_offsets(L: int) -> tuple[np.ndarray, float]:
    """Primitive 2-D offsets with coordinates in ``[-L, L]`` and their error bound.

    Returns ``(offsets, rel_error_bound)`` where ``offsets`` has shape (k, 2)
    and ``rel_error_bound = 1 / cos(theta / 2) - 1`` for the largest angle
    ``theta`` between angularly consecutive offsets.

    Examples
    --------
    >>> offsets, bound = euclidean_offsets(1)
    >>> len(offsets), round(bound, 4)
    (8, 0.0824)
    >>> round(euclidean_offsets(3)[1], 4)
    0.0131
    """
    L = as_positive_int(L, "L")
    if L > MAX_L:
        raise ValueError(f"L must be at most {MAX_L}, got {L}; exact=True gives the exact distance")
    span = np.arange(-L, L + 1)
    v_grid, w_grid = np.meshgrid(span, span, indexing="ij")
    v, w = v_grid.ravel(), w_grid.ravel()
    keep = np.gcd(v, w) == 1
    offsets = np.stack([v[keep], w[keep]], axis=1)
    angles = np.sort(np.arctan2(offsets[:, 1], offsets[:, 0]))
    gaps = np.diff(np.concatenate([angles, angles[:1] + 2 * np.pi]))
    return offsets, 1.0 / math.cos(gaps.max() / 2) - 1.0


def _offsets_for(metric: str, ndim: int, L: int | None) -> tuple[np.ndarray, float]:
    if metric == "cityblock":
        eye = np.eye(ndim, dtype=np.int64)
        return np.concatenate([eye, -eye]), 0.0
    if metric == "chebyshev":
        steps = np.array(list(itertools.product((-1, 0, 1), repeat=ndim)), dtype=np.int64)
        return steps[np.any(steps != 0, axis=1)], 0.0
    if ndim == 1:
        return np.array([[1], [-1]], dtype=np.int64), 0.0
    if L is None:
        raise ValueError("metric='euclidean' on a 2-D grid needs the offset radius L")
    return euclidean_offsets(L)


#: 2-D grids with more bins than this are warm-started from the solution of
#: the grid coarsened 2x along every axis (recursively).  Above it the warm
#: start cuts pivots and their subtrees (64 x 64 photographs, Euclidean L = 3:
#: 0.19 s from the artificial start, 0.07 s warm; 256 x 256: 57 s against 5 s).
WARM_START_MIN_BINS = 1024

#: Pricing block of warm-started and column-generated solves.  Arcs are laid
#: out offset by offset in row-major order, so a short block keeps consecutive
#: entering arcs in one region of the grid and the subtrees each pivot moves
#: small, where the kernel's default sqrt(arcs) block jumps across the grid
#: (256 x 256 white noise, city-block: 4.3 s -> 1.1 s; blocks of 3 to 10
#: measured alike, 20 and more slower).  3-D grids, never warm-started,
#: measured faster with the default (30^3 Chebyshev: 2.4 s against 6.2 s).
GRID_BLOCK_SIZE = 10

#: Euclidean graphs with offsets beyond this start from the offsets up to it
#: and add longer arcs by column generation (see :func:`_solve_on_grid`).
#: Starting from the 8 neighbours (CORE_L = 1) added more arcs in the first
#: round and measured up to 2x slower at L = 10; CORE_L = 3 was no faster.
CORE_L = 2


class _GridGraph:
    """The transshipment graph of a grid: an arc from every bin to every in-grid ``bin + offset``.

    Arcs are laid out offset by offset, so the index of the arc leaving a
    given bin along a given offset is computed, never searched.  The arc
    arrays of a graph solved by column generation are built only on demand
    (its solves use those of its :attr:`core` and the arcs they add).
    """

    def __init__(
        self,
        shape: tuple[int, ...],
        offsets: np.ndarray,
        spacing: float,
        metric: str,
        coarse_offsets: np.ndarray | None = None,
        core_offsets: np.ndarray | None = None,
    ):
        self.shape = tuple(shape)
        self.spacing = spacing
        self.metric = metric
        self.offsets = np.asarray(offsets, dtype=np.intp)
        order = {"cityblock": 1, "chebyshev": np.inf, "euclidean": 2}[metric]
        dims = np.asarray(shape)
        self.low = np.maximum(0, -self.offsets)          # first source bin, per offset
        self.extent = dims - np.abs(self.offsets)         # source bins per axis
        counts = np.where((self.extent > 0).all(axis=1), self.extent.prod(axis=1), 0)
        self.start = np.concatenate([[0], np.cumsum(counts)])
        self.lengths = spacing * np.linalg.norm(self.offsets, ord=order, axis=1)
        # A detour through the artificial root must cost more than half of any
        # path: the grid's diameter under the graph metric bounds that.
        diameter = float(np.abs(self.lengths).max()) * sum(self.shape)
        self.art_cost = diameter if diameter > 0 else 1.0
        # Column generation: the solve starts on the arcs of the core offsets
        # (a graph of its own, whose layout the warm start indexes) and prices
        # the other offsets of this graph between rounds.
        self.core = self
        self.extra = np.zeros(0, dtype=np.intp)
        if core_offsets is not None:
            self.core = _GridGraph(shape, core_offsets, spacing, metric)
            self.core.art_cost = self.art_cost
            in_core = {tuple(o) for o in np.asarray(core_offsets).tolist()}
            self.extra = np.array(
                [q for q, o in enumerate(self.offsets.tolist())
                 if tuple(o) not in in_core and self.start[q + 1] > self.start[q]],
                dtype=np.intp,
            )
        # The warm start's chain of coarser grids, built once and shared by
        # every problem solved on this graph.
        self.coarse: _GridGraph | None = None
        # 2-D only: on 3-D grids the refined forest measured slower than the
        # artificial start (20^3 Chebyshev: 0.56 s against 0.16 s).
        large = math.prod(shape) > WARM_START_MIN_BINS
        if coarse_offsets is not None and large and len(shape) == 2:
            coarse_shape = tuple((s + 1) // 2 for s in shape)
            self.coarse = _GridGraph(
                coarse_shape, coarse_offsets, 2 * spacing, metric, coarse_offsets
            )
        # Solved graphs need their arcs; a column-generated one only its core's.
        self._arcs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        if not self.column_generation:
            self._arcs = self._build_arcs()

    @property
    def n_arcs(self) -> int:
        return int(self.start[-1])

    @property
    def column_generation(self) -> bool:
        return self.core is not self

    @property
    def plain(self) -> bool:
        """Whether solves run on the full arc list from the artificial start with the
        kernel's default pricing block (small grids); others are warm-started or
        column-generated and price with the short :data:`GRID_BLOCK_SIZE`."""
        return self.coarse is None and not self.column_generation

    @property
    def tails(self) -> np.ndarray:
        return self.arcs()[0]

    @property
    def heads(self) -> np.ndarray:
        return self.arcs()[1]

    @property
    def costs(self) -> np.ndarray:
        return self.arcs()[2]

    def arcs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(tails, heads, costs)`` of every arc (built once, then shared)."""
        arcs = self._arcs
        if arcs is None:  # threads racing here build equal arrays: harmless
            arcs = self._arcs = self._build_arcs()
        return arcs

    def _slices(self, q: int) -> tuple[tuple[slice, ...], tuple[slice, ...]]:
        """Grid slices of the tails and the heads of the arcs along offset ``q``."""
        src = tuple(
            slice(lo, lo + ext) for lo, ext in zip(self.low[q], self.extent[q], strict=True)
        )
        dst = tuple(
            slice(sl.start + o, sl.stop + o) for sl, o in zip(src, self.offsets[q], strict=True)
        )
        return src, dst

    def _build_arcs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        index = np.arange(math.prod(self.shape), dtype=np.intp).reshape(self.shape)
        tails, heads, costs = [], [], []
        for q in range(len(self.offsets)):
            if self.start[q + 1] == self.start[q]:
                continue
            src, dst = self._slices(q)
            tails.append(index[src].ravel())
            heads.append(index[dst].ravel())
            costs.append(np.full(tails[-1].size, self.lengths[q]))
        if not tails:  # a single bin
            return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp), np.zeros(0)
        return np.concatenate(tails), np.concatenate(heads), np.concatenate(costs)

    def __getstate__(self) -> dict:
        # Compiled plans point into this process's memory: pickles (Dask workers)
        # rebuild them on first use.
        state = dict(self.__dict__)
        state.pop("_plan", None)
        state.pop("_plan_all", None)
        return state

    def plan(self, all_arcs: bool = False, unbalanced: float | None = None) -> GridPlan:
        """The levels of this graph (itself, then its chain of coarser grids) as the
        compiled driver reads them; built once.  ``all_arcs=True``: the finest level
        solved on its full arc list, without column generation (the reference).
        ``unbalanced=lam``: every level with the extra node at price ``lam`` (see
        :class:`emd._core._grid.GridPlan`), built afresh for each ``lam``."""
        if unbalanced is not None:
            levels = []
            graph: _GridGraph | None = self
            while graph is not None:
                levels.append(graph._level(all_arcs and graph is self))
                graph = graph.coarse
            return GridPlan(levels, float(unbalanced))
        key = "_plan_all" if all_arcs else "_plan"
        plan = self.__dict__.get(key)
        if plan is None:  # threads racing here build equal plans: harmless
            levels = []
            graph: _GridGraph | None = self
            while graph is not None:
                levels.append(graph._level(all_arcs and graph is self))
                graph = graph.coarse
            plan = self.__dict__[key] = GridPlan(levels)
        return plan

    def _level(self, all_arcs: bool) -> tuple:
        pad = 3 - len(self.shape)

        def padded(rows: ArrayLike, fill: int) -> np.ndarray:
            rows = np.asarray(rows, dtype=np.intp).reshape(-1, len(self.shape))
            return np.hstack([np.full((rows.shape[0], pad), fill, dtype=np.intp), rows])

        core = self if all_arcs else self.core
        # Every core offset by its code: the warm starts look their arcs up by step.
        steps = padded(core.offsets, 0)
        radius = max(1, int(np.abs(steps).max(initial=0)))
        base = 2 * radius + 1
        core_lookup = np.full(base**3, -1, dtype=np.intp)
        core_lookup[((steps + radius) * np.array([1, base, base * base])).sum(axis=1)] = (
            np.arange(len(steps)))
        tails, heads, costs = core.arcs()
        extra = np.zeros(0, dtype=np.intp) if all_arcs else self.extra
        return (
            padded(self.shape, 1)[0], self.spacing, grid_metric_code(self.metric),
            self.art_cost, 0 if self.plain else GRID_BLOCK_SIZE, self.coarse is not None,
            _engine.default_max_iter(math.prod(self.shape)),
            padded(self.offsets, 0), self.lengths, padded(self.low, 0), padded(self.extent, 1),
            self.start, padded(core.low, 0), padded(core.extent, 1), core.start, core_lookup,
            tails, heads, costs, extra,
        )


def _solve_on_grid(
    supply: np.ndarray, graph: _GridGraph, max_iter: int | None, all_arcs: bool = False
):
    """Min-cost flow on a grid graph, warm-started from the coarsened grid when large.

    One compiled call (:class:`emd._core._grid.GridWorkspace`, the
    call that batches make for every pair): large 2-D grids start from the
    spanning tree of the grid coarsened 2x along every axis (recursively),
    refined into a spanning forest.  Graphs with a :attr:`_GridGraph.core` are
    solved by column generation: the simplex starts on the core arcs; whenever
    it stops optimal, every arc of the other offsets is priced against the
    tree's potentials (the kernel's own test and tolerance), the violated ones
    are appended to the arc list and the simplex continues from the same tree.
    It stops when a full scan over all offsets finds nothing, so the
    potentials meet the same pricing test on every arc of the full graph as
    an all-arcs solve's do, and the flow, optimal on a subgraph whose every
    other arc prices out, is optimal on the full graph.  ``all_arcs=True``
    solves on the full arc list instead (the reference the tests and
    benchmarks compare with).  ``max_iter`` bounds the pivots of all levels
    together.

    Returns ``(tails, heads, flow, potentials, n_iter, status, tree)`` over the
    arcs the solve used.
    """
    workspace = GridWorkspace(graph.plan(all_arcs))
    status, n_iter, tree, tails, heads, _ = workspace.solve(
        np.ascontiguousarray(supply, dtype=np.float64).ravel(), _budget(max_iter)
    )
    flow = tree.arc_flows(tails.size)
    return tails, heads, flow, -tree.pi[: supply.size].copy(), int(n_iter), STATUS_NAMES[
        status], tree



# One reusable workspace per thread, for the plan it was last used on.
_LOCAL = threading.local()


def _workspace(plan: GridPlan) -> GridWorkspace:
    held = getattr(_LOCAL, "grid", None)
    if held is None or held[0] is not plan:
        held = _LOCAL.grid = (plan, GridWorkspace(plan))
    return held[1]


def _budget(max_iter: int | None) -> int:
    """The compiled driver's pivot limit: -1 for each level's default."""
    return -1 if max_iter is None else _engine.iteration_limit(max_iter, 0)


def _line_flow(supply: np.ndarray) -> np.ndarray:
    # The mass crossing from bin i to bin i + 1 is the surplus to its left.
    return np.cumsum(supply)[:-1]


def _grid_metric(metric, spacing, L, max_rel_error) -> tuple[str, float]:
    """The metric's name in lower case and the spacing as a float, checked (with the rule
    that ``L`` and ``max_rel_error`` are Euclidean options)."""
    if not isinstance(metric, str) or metric.lower() not in GRID_METRICS:
        raise ValueError(f"metric must be one of {', '.join(GRID_METRICS)}; got {metric!r}")
    metric = metric.lower()
    spacing = float(spacing)
    if not (math.isfinite(spacing) and spacing > 0):
        raise ValueError(f"spacing must be a positive finite number, got {spacing}")
    if metric != "euclidean" and (L is not None or max_rel_error is not None):
        raise ValueError(
            f"L, max_rel_error and exact only apply to metric='euclidean', not {metric!r}"
        )
    return metric, spacing


class GridSolver:
    """Solve many grid problems of one shape and metric on one prebuilt graph.

    :func:`wasserstein_grid` builds one per call; :func:`emd.pairwise` builds
    one for a whole batch and calls :meth:`pair_costs` from several threads
    (the solver's mutable state lives in a workspace per thread, and the
    compiled solves release the GIL).

    Parameters
    ----------
    shape : tuple of int
        Grid shape (1, 2 or 3 axes).
    metric, spacing, L, max_rel_error
        As in :func:`wasserstein_grid` (``exact`` is not offered here).
    """

    def __init__(
        self,
        shape: tuple[int, ...],
        metric: str = "cityblock",
        spacing: float = 1.0,
        L: int | None = None,
        max_rel_error: float | None = None,
    ):
        metric, spacing = _grid_metric(metric, spacing, L, max_rel_error)
        ndim = len(shape)
        if metric == "euclidean" and ndim == 3:
            raise ValueError(
                "metric='euclidean' on a 3-D grid needs exact=True (the sparse-offset "
                "error bound is proven for 1-D and 2-D grids)"
            )
        self.metric = metric
        self.shape = tuple(shape)
        self.spacing = spacing
        self.L = _choose_L(L, max_rel_error) if metric == "euclidean" and ndim == 2 else None
        offsets, self.rel_error_bound = _offsets_for(metric, ndim, self.L)
        # On a line every metric is |i - j| and the transport has a closed form.
        self.graph = None
        if ndim > 1:
            # Coarse levels of the warm start only need arcs in {-1, 0, 1}^d.
            coarse_offsets, _ = _offsets_for(metric, ndim, 1)
            core_offsets = None
            if self.L is not None and self.L > CORE_L:
                core_offsets, _ = _offsets_for(metric, ndim, CORE_L)
            self.graph = _GridGraph(shape, offsets, spacing, metric, coarse_offsets, core_offsets)

    def _check_scale(self, mass: float) -> None:
        n_bins = math.prod(self.shape)
        if self.graph is None:
            check_scale(self.spacing, mass, n_bins, "spacing and masses")
        else:
            check_scale(self.graph.art_cost, mass, n_bins, "spacing and masses")

    def _line_cost(self, supply: np.ndarray) -> float:
        # The closed form with double-double running sums (emd._core._line): a bin's
        # supply far below the running total still counts.
        steps = np.arange(supply.size, dtype=np.float64)
        return self.spacing * _line.line_cost(steps, np.ascontiguousarray(supply,
                                                                          dtype=np.float64))

    def _line(
        self, supply: np.ndarray, return_flows: bool, supply_low: np.ndarray | None = None,
    ) -> GridResult:
        crossing = _line_flow(supply)
        # A Kantorovich potential falls by one spacing along every step that
        # carries mass to the right and rises along every step to the left.
        potential = np.concatenate([[0.0], -self.spacing * np.cumsum(np.sign(crossing))])
        flows = None
        if return_flows:
            step = np.arange(crossing.size, dtype=np.intp)
            right, left = crossing > 0, crossing < 0
            flows = (
                np.concatenate([step[right], step[left] + 1]),
                np.concatenate([step[right] + 1, step[left]]),
                np.concatenate([crossing[right], -crossing[left]]),
            )
        result = GridResult(
            cost=self._line_cost(supply),
            potential=potential,
            rel_error_bound=0.0,
            metric=self.metric,
            L=None,
            n_arcs=2 * crossing.size,
            n_iter=0,
            status="optimal",
            flows=flows,
            _proof=("line", (supply, self.spacing, supply_low)),
        )
        return _judged(result)

    def pair_costs(
        self, left: np.ndarray, right: np.ndarray, pairs: np.ndarray,
        max_iter: int | None = None, rtol: float = COMPILED_RTOL, warm_start: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Costs for the supplies ``left[i] - right[j]`` over ``pairs`` (k, 2), each pair's
        totals first balanced exactly as :func:`solve_grid` balances them, and whether
        each is proven optimal; every value equals the single solve's bit for bit.

        2-D and 3-D grids run the whole chunk in one compiled call without the GIL
        (warm start and column generation included), each pair's certificate checked
        there, claiming ``rtol``; a finished pair it cannot prove is solved again
        alone and judged by :meth:`GridResult.certificate`.  1-D grids take the
        closed form in the same way (one compiled call, a compiled proof on the path,
        the single solve's certificate for a pair it cannot prove).

        ``warm_start=True`` starts each pair that shares its ``left`` index with the
        pair before it from that pair's optimal tree (its edges along core offsets)
        instead of coarse to fine: values are certified as above but may differ from
        single solves in the last bits.
        """
        graph = self.graph
        pairs = np.ascontiguousarray(pairs, dtype=np.intp).reshape(-1, 2)
        if len(pairs) == 0:
            return np.zeros(0), np.zeros(0, dtype=bool)
        # Only the histograms of these pairs, each pair's totals balanced exactly as
        # solve_grid balances them: a chunk's glue stays O(chunk), not O(batch).
        left, right, pairs = _balanced_pairs(left, right, pairs)
        mass = max(float(left.sum(axis=1).max()), float(right.sum(axis=1).max()))
        self._check_scale(mass)
        if graph is None:
            values, codes = line_batch(left, right, pairs, self.spacing, rtol)
        else:
            values, codes = _workspace(graph.plan()).batch(
                left, right, pairs, _budget(max_iter), rtol, warm_start)
        optimal = codes == 1
        for k in np.flatnonzero(~optimal & ~np.isnan(values)):
            i, j = pairs[k]
            result = self.solve_pair(left[i], right[j], max_iter)
            values[k] = result.cost
            optimal[k] = result.status == "optimal"
        return values, optimal

    def solve_pair(
        self, a: np.ndarray, b: np.ndarray, max_iter: int | None = None,
        return_flows: bool = False,
    ) -> GridResult:
        """The single solve of two validated histograms (flat, float64, totals equal to
        rounding): the totals balanced exactly first (:func:`emd._certify.balance_exactly`:
        every bin reaches every other, so the problem is feasible exactly when they are
        equal), then :meth:`__call__` on ``a - b`` with what its rounding dropped."""
        a, b = _certify.balance_exactly(a, b)
        supply, supply_low = _certify.difference(a, b)
        return self(supply, max_iter, return_flows, supply_low=supply_low)

    def __call__(
        self, supply: np.ndarray, max_iter: int | None = None, return_flows: bool = False,
        supply_low: np.ndarray | None = None,
    ) -> GridResult:
        """Solve for ``supply = A - B`` (validated, of the solver's shape, with totals
        balanced exactly: :func:`emd._certify.balance_exactly`; a supply whose exact
        sum is not zero admits no flow, and its certificate proves nothing);
        ``supply_low``, what rounding dropped from ``A - B``, makes the certificate a
        proof about ``A - B`` itself."""
        graph = self.graph
        self._check_scale(float(np.maximum(supply, 0.0).sum()))
        low = None if supply_low is None else np.asarray(supply_low, dtype=np.float64).ravel()
        if graph is None:
            return self._line(np.asarray(supply, dtype=np.float64).ravel(), return_flows, low)
        tails, heads, flow, potentials, n_iter, status, tree = _solve_on_grid(
            supply.reshape(graph.shape), graph, max_iter
        )
        positive = flow > 0
        support = (tails[positive], heads[positive], flow[positive])
        result = GridResult(
            cost=cost_if_finished(status, tree.cost),
            potential=potentials.reshape(graph.shape),
            rel_error_bound=self.rel_error_bound,
            metric=self.metric,
            L=self.L,
            n_arcs=graph.n_arcs,
            n_iter=n_iter,
            status=status,
            flows=support if return_flows else None,
            _proof=("graph", (graph, supply.ravel(), -tree.pi_low[: supply.size], support,
                              low)),
        )
        return _judged(result)


def _balanced_pairs(
    left: np.ndarray, right: np.ndarray, pairs: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The histograms a chunk of pairs uses, with each pair's totals balanced exactly
    (:func:`emd._certify.balance_exactly`, as :func:`solve_grid` does), and the pairs
    indexed into them.  A histogram that balancing leaves alone keeps one row for
    all its pairs (so consecutive pairs with one left index still share it)."""
    rows: dict[tuple[str, int], int] = {}
    stacks: dict[str, list[np.ndarray]] = {"left": [], "right": []}

    def row(side: str, index: int, values: np.ndarray, original: np.ndarray) -> int:
        if values is not original and not np.array_equal(values, original):
            stacks[side].append(values)  # balanced for this pair alone
            return len(stacks[side]) - 1
        key = (side, index)
        if key not in rows:
            stacks[side].append(original)
            rows[key] = len(stacks[side]) - 1
        return rows[key]

    local = np.empty_like(pairs)
    for k, (i, j) in enumerate(pairs.tolist()):
        a = np.asarray(left[i], dtype=np.float64)
        b = np.asarray(right[j], dtype=np.float64)
        balanced_a, balanced_b = _certify.balance_exactly(a, b)
        local[k] = row("left", i, balanced_a, a), row("right", j, balanced_b, b)
    return (np.ascontiguousarray(np.stack(stacks["left"])),
            np.ascontiguousarray(np.stack(stacks["right"])), local)


def _as_grid(value: Any, name: str) -> np.ndarray:
    grid = as_float_array(value, name, (1, 2, 3))
    if grid.size == 0:
        raise ValueError(f"{name} is empty: a histogram needs at least one bin")
    check_weight_values(grid.ravel(), name)
    return grid


def _choose_L(L: int | None, max_rel_error: float | None) -> int:
    if L is not None and max_rel_error is not None:
        raise ValueError("give L or max_rel_error, not both")
    if L is not None:
        return as_positive_int(L, "L")
    if max_rel_error is None:
        return 3
    if not (max_rel_error > 0):
        raise ValueError(f"max_rel_error must be positive, got {max_rel_error}")
    # The bound falls like 1/L^2 and never rises (more offsets only split the
    # angular gaps), so bisect for the first L that meets the target.
    if euclidean_offsets(MAX_L)[1] > max_rel_error:
        raise ValueError(f"max_rel_error={max_rel_error} needs L > {MAX_L}; use exact=True")
    low, high = 0, MAX_L  # bound(low) > target >= bound(high)
    while high - low > 1:
        middle = (low + high) // 2
        if euclidean_offsets(middle)[1] <= max_rel_error:
            high = middle
        else:
            low = middle
    return high


# Without partial= or unbalanced= the result is the balanced problem's (type checkers
# see it); with either, an UnbalancedResult.
@overload
def solve_grid(
    A: ArrayLike,
    B: ArrayLike,
    *,
    metric: str = ...,
    spacing: float = ...,
    L: int | None = ...,
    max_rel_error: float | None = ...,
    exact: bool = ...,
    normalize: bool = ...,
    volume: bool = ...,
    return_flows: bool = ...,
    max_iter: int | None = ...,
    partial: None = ...,
    unbalanced: None = ...,
) -> GridResult: ...


@overload
def solve_grid(
    A: ArrayLike,
    B: ArrayLike,
    *,
    metric: str = ...,
    spacing: float = ...,
    L: int | None = ...,
    max_rel_error: float | None = ...,
    exact: bool = ...,
    normalize: bool = ...,
    volume: bool = ...,
    return_flows: bool = ...,
    max_iter: int | None = ...,
    partial: float | None = ...,
    unbalanced: float | None = ...,
) -> GridResult | UnbalancedResult: ...


def solve_grid(
    A: ArrayLike,
    B: ArrayLike,
    *,
    metric: str = "cityblock",
    spacing: float = 1.0,
    L: int | None = None,
    max_rel_error: float | None = None,
    exact: bool = False,
    normalize: bool = False,
    volume: bool = False,
    return_flows: bool = False,
    max_iter: int | None = None,
    partial: float | None = None,
    unbalanced: float | None = None,
) -> GridResult | UnbalancedResult:
    """Optimal transport between two histograms on the same regular grid, with its potential.

    Bin ``(i, j, k)`` sits at ``spacing * (i, j, k)``.  The problem is solved as
    a minimum-cost flow on a sparse graph with O(bins) arcs instead of the
    bins x bins cost matrix, so 512 x 512 images take seconds, not terabytes.
    :func:`wasserstein_grid` gives the distance alone.

    Parameters
    ----------
    A, B : array_like
        Nonnegative histograms of equal shape, in 1, 2 or 3 dimensions.  The
        masses are moved as given: their totals must be equal to the precision
        of the inputs, by the tolerance of "Total masses" in :mod:`emd`.  Or
        pass ``normalize=True``.
    metric : {"cityblock", "chebyshev", "euclidean"}
        Ground metric between bin centres.  City-block and Chebyshev are exact;
        Euclidean is exact in 1-D and, in 2-D, an upper bound within
        ``rel_error_bound`` (see Notes), or exact with ``exact=True``.
    spacing : float, default 1.0
        Distance between neighbouring bins.
    L : int, optional
        Largest offset for the Euclidean graph (default 3, bound 1.3%).
    max_rel_error : float, optional
        Alternative to ``L``: the smallest ``L`` whose bound meets this target.
    exact : bool, default False
        Euclidean only: solve the exact problem on the bins' coordinates with
        costs computed on the fly (O(bins) memory, O(bins^2) time per pricing pass).
    normalize : bool, default False
        Rescale both histograms to mass 1 instead of requiring equal totals.
    volume : bool, default False
        Accept a 3-D grid whose last axis has 3 or 4 bins.  Without it such an
        array is refused as a likely RGB(A) image: solved as a grid, mass
        would move between colour channels.  Convert images to one channel.
    return_flows : bool, default False
        Keep the positive arc flows in :attr:`GridResult.flows`.
    max_iter : int, optional
        Limit on simplex pivots.
    unbalanced : float, optional
        Unbalanced W1 (totals need not agree): mass is destroyed or created at
        this price per unit, through one extra node tied to every bin by arcs of
        that cost, on the grid graph (for ``euclidean`` with finite ``L``, the
        ``W_L`` metric of the balanced solve, whose relative error bound is its
        ``rel_error_bound``; not with ``exact=True``), solved by the compiled
        grid driver with the extra node as its trees' root: O(bins) arcs,
        about the time of a balanced solve.  Returns an
        :class:`emd.unbalanced.UnbalancedResult` (``created`` and ``destroyed``
        of the grid's shape).  See :mod:`emd.unbalanced`.
    partial : float, optional
        Partial transport (totals need not agree): move exactly this mass, with
        the exact metric.  ``cityblock`` and ``chebyshev`` on the network of unit
        steps between neighbouring bins (O(bins) arcs, a sink and a source, as
        :func:`emd.solve_graph` with ``partial=``); ``euclidean`` (exact too, on
        any grid) over the bins as points, as :func:`emd.solve_points` with
        ``partial=`` solves them: a dense bins x bins matrix up to
        ``emd.unbalanced.DENSE_POINT_PAIRS`` pairs, column generation with the
        costs on the fly (O(bins) memory) above.

    Returns
    -------
    GridResult
        For PyTorch tensors or JAX arrays: the same result, computed in NumPy
        (potential, flows and certificate as for NumPy), with ``cost`` a 0-d tensor of
        the inputs' kind, differentiable in ``A`` and ``B`` (the potential on the bins)
        (README: "Training with PyTorch or JAX").

    Raises
    ------
    ValueError
        Shapes differ, negative or non-finite entries, unequal totals without
        ``normalize``, an unknown metric, Euclidean on a 3-D grid without
        ``exact`` (or with ``unbalanced``; ``partial`` is exact under every metric:
        city-block and Chebyshev on the unit steps, Euclidean on the bins as points),
        or an RGB-like shape without ``volume=True``.

    Warns
    -----
    SolverWarning
        When ``max_iter`` stops the solver first (``cost`` is then NaN).

    Notes
    -----
    For ``euclidean`` with offsets up to ``L`` the graph distance ``d_L``
    satisfies ``d <= d_L <= d / cos(theta_L / 2)``, so the returned cost
    ``W_L`` obeys ``W1 <= W_L <= W1 / cos(theta_L / 2)``:
    ``rel_error_bound = 1 / cos(theta_L / 2) - 1`` (1.3% at L = 3, 0.12% at L = 10).

    Examples
    --------
    >>> import numpy as np
    >>> import emd
    >>> A = np.zeros((4, 4)); A[0, 0] = 1.0
    >>> B = np.zeros((4, 4)); B[2, 3] = 1.0
    >>> emd.solve_grid(A, B).cost
    5.0
    >>> emd.solve_grid(A, B, metric="chebyshev").cost
    3.0
    >>> result = emd.solve_grid(A, B, metric="euclidean", L=3)
    >>> round(result.cost, 6), result.cost <= 13 ** 0.5 * (1 + result.rel_error_bound)
    (3.605551, True)
    """
    if has_tensor((A, B)):  # PyTorch or JAX arrays: the differentiable twin
        return twin("emd._autodiff._transport:solve_grid")(
            A, B, metric, spacing, L, max_rel_error, exact, normalize, volume,
            return_flows, max_iter, partial, unbalanced)
    a_grid = _as_grid(A, "A")
    b_grid = _as_grid(B, "B")
    if a_grid.shape != b_grid.shape:
        raise ValueError(f"A and B must have the same shape, got {a_grid.shape} and {b_grid.shape}")
    check_grid_layout(a_grid.shape, "A", volume)
    if max_iter is not None:
        max_iter = as_positive_int(max_iter, "max_iter")
    unequal = check_keywords(partial, unbalanced, normalize)
    if unequal is not None:
        if exact:
            raise ValueError("exact=True cannot be combined with partial= or unbalanced=")
        result = _unbalanced_grid(a_grid, b_grid, metric, spacing, L, max_rel_error, unequal,
                                  max_iter)
        _warn_status(result.status, max_iter)
        return result
    a_flat, b_flat = balance(
        a_grid.ravel(), b_grid.ravel(), normalize, ("A", "B"), input_eps(A, B)
    )
    if exact:
        if not (isinstance(metric, str) and metric.lower() == "euclidean"):
            raise ValueError(
                f"L, max_rel_error and exact only apply to metric='euclidean', not {metric!r}"
            )
        if L is not None or max_rel_error is not None:
            raise ValueError("exact=True solves the exact problem: drop L and max_rel_error")
        if a_grid.ndim > 1:
            spacing = float(spacing)
            if not (math.isfinite(spacing) and spacing > 0):
                raise ValueError(f"spacing must be a positive finite number, got {spacing}")
            result = _exact_euclidean(a_flat, b_flat, a_grid.shape, spacing, return_flows, max_iter)
            _warn_status(result.status, max_iter)
            return result
    if not normalize:
        # Masses moved as given: totals that agree to rounding but that no float64
        # entries can balance exactly are refused, not solved into an unproven number.
        a_flat, b_flat = _certify.balance_or_refuse(a_flat, b_flat, ("A", "B"))
    solver = GridSolver(a_grid.shape, metric, spacing, L, max_rel_error)
    result = solver.solve_pair(a_flat, b_flat, max_iter, return_flows)
    _warn_status(result.status, max_iter)
    return result


def wasserstein_grid(
    A: ArrayLike,
    B: ArrayLike,
    *,
    metric: str = "cityblock",
    spacing: float = 1.0,
    L: int | None = None,
    max_rel_error: float | None = None,
    exact: bool = False,
    normalize: bool = False,
    volume: bool = False,
    max_iter: int | None = None,
    return_flows: bool = False,
    partial: float | None = None,
    unbalanced: float | None = None,
) -> float:
    """Wasserstein-1 distance between two histograms on the same regular grid.

    The number of :func:`solve_grid`, which takes the same arguments and
    returns the potential, flows and error bound as well.  Masses are moved
    as given (equal totals, by the tolerance of "Total masses" in :mod:`emd`)
    unless ``normalize=True`` rescales both to 1.

    Returns
    -------
    float
        The distance; for ``metric="euclidean"`` on a 2-D grid without
        ``exact=True``, an upper bound within ``solve_grid(...).rel_error_bound``.
        NaN if ``max_iter`` stopped the solver first.
        For PyTorch tensors or JAX arrays: a 0-d tensor of the inputs' kind,
        differentiable in ``A`` and ``B`` (the potential on the bins) (README: "Training
        with PyTorch or JAX").

        Until the next release the float also answers the attributes of the
        :class:`GridResult` this function used to return (``.cost``,
        ``.potential``, ...), each with a ``DeprecationWarning``: use
        :func:`solve_grid` for them.

    Examples
    --------
    >>> import numpy as np
    >>> import emd
    >>> A = np.zeros((4, 4)); A[0, 0] = 1.0
    >>> B = np.zeros((4, 4)); B[2, 3] = 1.0
    >>> emd.wasserstein_grid(A, B)
    5.0
    >>> f"{emd.wasserstein_grid(A, B, metric='euclidean', exact=True):.4f}"
    '3.6056'
    """
    if has_tensor((A, B)):  # PyTorch or JAX arrays: the differentiable twin
        return twin("emd._autodiff._transport:wasserstein_grid")(
            A, B, metric, spacing, L, max_rel_error, exact, normalize, volume,
            max_iter, return_flows, partial, unbalanced)
    if partial is not None or unbalanced is not None:
        return solve_grid(
            A, B, metric=metric, spacing=spacing, L=L, max_rel_error=max_rel_error, exact=exact,
            normalize=normalize, volume=volume, max_iter=max_iter, partial=partial,
            unbalanced=unbalanced,
        ).cost
    result = solve_grid(
        A, B, metric=metric, spacing=spacing, L=L, max_rel_error=max_rel_error, exact=exact,
        normalize=normalize, volume=volume, return_flows=return_flows, max_iter=max_iter,
    )
    return DeprecatedResultFloat(result, "wasserstein_grid", "solve_grid")


def _unit_step_arcs(shape: tuple[int, ...], diagonals: bool) -> tuple[np.ndarray, np.ndarray]:
    """Both directions of every unit step between the bins of a grid (flat indices): along
    the axes, and with ``diagonals`` to every bin whose coordinates all differ by at most
    one.  Shortest paths of steps of one length are then the city-block (Chebyshev)
    distances."""
    index = np.arange(math.prod(shape)).reshape(shape)
    tails, heads = [], []
    for step in itertools.product((-1, 0, 1), repeat=len(shape)):
        if not any(step) or (not diagonals and sum(map(abs, step)) != 1):
            continue
        here = tuple(slice(max(0, -s), n - max(0, s)) for s, n in zip(step, shape, strict=True))
        there = tuple(slice(max(0, s), n - max(0, -s)) for s, n in zip(step, shape, strict=True))
        tails.append(index[here].ravel())
        heads.append(index[there].ravel())
    return np.concatenate(tails), np.concatenate(heads)


def _unbalanced_grid(a_grid, b_grid, metric, spacing, L, max_rel_error, unequal, max_iter
                     ) -> UnbalancedResult:
    """Partial transport on the network of unit steps (city-block, Chebyshev) or on the
    bins as points (Euclidean); unbalanced transport on the grid driver
    (:func:`_unbalanced_on_driver`)."""
    if unequal[0] == "partial":
        # Partial transport has no form on the grid driver (it needs a sink and a
        # source, two nodes off the grid).  City-block and Chebyshev distances are
        # shortest paths of unit steps, so the network of those steps carries it on
        # O(bins) arcs (128 x 128: 4.0 -> 0.32 s city-block, 3.4 -> 0.41 s Chebyshev;
        # the balanced solve 0.22-0.38 s); Euclidean grids take the bins as points, as
        # solve_points does, with exact distances (3-D grids included).
        from emd.transport import solve_points
        from emd.unbalanced import solve_arcs

        metric, spacing = _grid_metric(metric, spacing, L, max_rel_error)
        if metric != "euclidean":
            tails, heads = _unit_step_arcs(a_grid.shape, diagonals=metric == "chebyshev")
            return solve_arcs(tails, heads, np.full(tails.size, spacing), a_grid.ravel(),
                              b_grid.ravel(), "partial", unequal[1], max_iter, a_grid.shape)
        coords = np.indices(a_grid.shape).reshape(a_grid.ndim, -1).T * spacing
        result = solve_points(coords.astype(np.float64), coords.astype(np.float64),
                              a_grid.ravel(), b_grid.ravel(), metric=metric,
                              max_iter=max_iter, partial=unequal[1])
        return dataclasses.replace(result, created=result.created.reshape(a_grid.shape),
                                   destroyed=result.destroyed.reshape(a_grid.shape))
    if a_grid.ndim == 3 and isinstance(metric, str) and metric.lower() == "euclidean":
        raise ValueError(
            "unbalanced= with metric='euclidean' on a 3-D grid is not supported: the grid "
            "driver's sparse-offset error bound is proven for 1-D and 2-D grids only; "
            "solve the bins as points, emd.solve_points(coords, coords, A.ravel(), "
            "B.ravel(), unbalanced=...)"
        )
    solver = GridSolver(a_grid.shape, metric, spacing, L, max_rel_error)
    return _unbalanced_on_driver(solver, a_grid.ravel(), b_grid.ravel(), unequal[1], max_iter,
                                 a_grid.shape)


def _unbalanced_on_driver(solver: GridSolver, a: np.ndarray, b: np.ndarray, lam: float,
                          max_iter: int | None, shape: tuple[int, ...]) -> UnbalancedResult:
    r"""Unbalanced W1 on the grid graph by the compiled grid driver: the artificial root of
    its spanning trees is the extra node of :mod:`emd.unbalanced`, tied to every bin by
    arcs of cost ``lam`` each way, on every level of the coarse-to-fine start
    (:class:`emd._core._grid.GridPlan` with ``unbalanced=lam``).  O(bins) arcs, about
    the cost of a balanced solve.

    The network: bin ``i`` supplies ``a_i - b_i``, the extra node ``X`` supplies
    ``|b| - |a|``; flow on ``i -> X`` is mass destroyed at ``i``, on ``X -> i`` mass
    created there, each at ``lam`` per unit.  Its optimum is the unbalanced optimum
    on the graph metric: a flow decomposes into paths, and a path from a supply to a
    demand costs its length, a path from ``i`` through ``X`` costs ``2 lam`` (create
    and destroy) or ``lam`` at either end; conversely every plan gives such a flow.
    On a line every metric is ``|i - j|`` (arcs to both neighbours).

    The certificate is :func:`emd.certify_flow`'s on that network, checked here afresh:
    the potentials' reduced costs on every arc of the full grid graph (lengths
    recomputed from the offsets under the metric) and on all ``2 n`` arcs of ``X``
    in exact-sign arithmetic; feasibility by the exact balance of the one component
    (``a - b`` with what its rounding dropped, ``X``'s supply as the exact
    :func:`emd.unbalanced.exact_residual` of ``|b| - |a|``, whose parts past the
    first ride on twin nodes each tied to ``X`` by one zero-cost arc in the
    direction its mass goes); and the exact basic flow of the support, the tree's
    arcs to ``X`` included.  No real bin is changed.
    """
    from emd._result import FlowResult

    graph = solver.graph
    metric = solver.metric
    if graph is None:  # a line: the grid graph of its two axis steps
        graph = _GridGraph(shape, np.array([[1], [-1]]), solver.spacing, "cityblock")
        metric = "cityblock"
    n = a.size
    # The certificate's lengths are the metric's, recomputed from the offsets.
    max_length = float(_metric_lengths(graph.offsets, metric, graph.spacing).max(initial=0.0))
    check_scale(max(max_length, lam), math.fsum(a) + math.fsum(b), n + 1)
    supply, supply_low = _certify.difference(a, b)
    workspace = GridWorkspace(graph.plan(unbalanced=lam))
    code, n_iter, tree, _, _, _ = workspace.solve(supply, _budget(max_iter))
    status = STATUS_NAMES[code]
    node_flow = tree.subtree_flows()
    toward = tree.toward_parent[:n].astype(bool)
    on_root = tree.parent[:n] == n
    destroyed = np.where(on_root & toward, node_flow, 0.0)
    created = np.where(on_root & ~toward, node_flow, 0.0)
    _, tree_tails, tree_heads, tree_flow, _ = tree.tree_arcs()
    moving = tree_flow > 0
    tree_tails, tree_heads, tree_flow = tree_tails[moving], tree_heads[moving], tree_flow[moving]
    coords = np.stack(np.unravel_index(np.arange(n), graph.shape), axis=1)
    lengths = _metric_lengths(coords[tree_heads] - coords[tree_tails], metric, graph.spacing)
    transport_cost = math.fsum((tree_flow * lengths).tolist())
    mass_destroyed, mass_created = math.fsum(destroyed.tolist()), math.fsum(created.tolist())

    # The network the certificate reads: bins, X = n, twins of X's exact supply.
    parts = exact_residual([b, -a])
    twin_parts = np.asarray(parts[1:], dtype=np.float64)
    twins = n + 1 + np.arange(twin_parts.size)
    sends = twin_parts > 0
    destroy_at, create_at = np.flatnonzero(destroyed > 0), np.flatnonzero(created > 0)
    extra = np.full(max(destroy_at.size, create_at.size), n, dtype=np.intp)
    tails_all = np.concatenate([tree_tails, destroy_at, extra[: create_at.size],
                                np.where(sends, twins, n)]).astype(np.intp)
    heads_all = np.concatenate([tree_heads, extra[: destroy_at.size], create_at,
                                np.where(sends, n, twins)]).astype(np.intp)
    costs_all = np.concatenate([lengths, np.full(destroy_at.size + create_at.size, lam),
                                np.zeros(twin_parts.size)])
    flow_all = np.concatenate([tree_flow, destroyed[destroy_at], created[create_at],
                               np.abs(twin_parts)])
    supply_all = np.concatenate([supply, [parts[0] if parts else 0.0], twin_parts])
    low_all = np.concatenate([supply_low, np.zeros(1 + twin_parts.size)])
    pi, pi_low = tree.pi, tree.pi_low
    y = -np.concatenate([pi, np.full(twin_parts.size, pi[n])])
    y_low = -np.concatenate([pi_low, np.full(twin_parts.size, pi_low[n])])
    finished = status not in ("max_iter_reached", "unbounded")
    cost = (math.fsum([transport_cost, lam * mass_destroyed, lam * mass_created])
            if finished else math.nan)
    flow_result = FlowResult(cost=cost, flow=flow_all, potentials=y, n_iter=int(n_iter),
                             status=status,
                             _problem=(tails_all, heads_all, costs_all, supply_all, y_low))

    def prove() -> Certificate:
        worst, wi, wj = _offset_violation(graph, metric, -pi[:n], -pi_low[:n])
        # The arcs i -> X and X -> i, every bin: exact-sign lower bounds.
        for side, bounds in enumerate((
            _certify.reduced_cost_bounds(lam, pi[:n], pi_low[:n], pi[n], pi_low[n]),
            _certify.reduced_cost_bounds(lam, pi[n], pi_low[n], pi[:n], pi_low[:n]),
        )):
            k = int(np.argmin(bounds)) if n else 0
            if n and bounds[k] < -worst:
                worst = float(-bounds[k])
                wi, wj = (k, n) if side == 0 else (n, k)
        return certify_flow(
            tails_all, heads_all, costs_all, supply_all, flow_all, (y, y_low),
            cost if finished else transport_cost, violation=(worst, wi, wj),
            max_cost=max(max_length, lam), supply_low=low_all,
            components=np.zeros(supply_all.size, dtype=np.intp),
        )

    if status == "optimal" and not prove().optimal():
        status = "uncertified"
        flow_result = dataclasses.replace(flow_result, status=status)
    return UnbalancedResult(
        cost=cost, kind="unbalanced", parameter=lam, transport_cost=transport_cost,
        mass_moved=math.fsum(a) - mass_destroyed, mass_created=mass_created,
        mass_destroyed=mass_destroyed, created=created.reshape(shape),
        destroyed=destroyed.reshape(shape), plan=None, status=status, reduced=flow_result,
        _proof=prove,
    )


def _exact_euclidean(a, b, shape, spacing, return_flows, max_iter) -> GridResult:
    coords = spacing * np.stack(
        np.unravel_index(np.arange(a.size), shape), axis=1
    ).astype(np.float64)
    result = solve_points_validated(coords, coords, a, b, "euclidean", 2.0, max_iter)
    # The Whitney extension f(z) = max_i u_i - d(z, x_i) = -min_i (d(z, x_i) - u_i)
    # is 1-Lipschitz and has the same dual value as (u, v).
    potential = -cost_source(result).c_transform(coords, coords, result.u)
    flows = None
    if return_flows:
        plan = result.plan
        moving = plan.row != plan.col
        flows = (plan.row[moving].astype(np.intp), plan.col[moving].astype(np.intp),
                 plan.data[moving])
    return GridResult(
        cost=result.cost,
        potential=potential.reshape(shape),
        rel_error_bound=0.0,
        metric="euclidean",
        L=None,
        n_arcs=0,
        n_iter=result.n_iter,
        status=result.status,
        flows=flows,
        _proof=result.certificate(),
    )


def _judged(result: GridResult) -> GridResult:
    """``"optimal"`` only when the certificate proves it."""
    if result.status == "optimal" and not result.certificate().optimal():
        return dataclasses.replace(result, status="uncertified")
    return result


def _metric_lengths(offsets: np.ndarray, metric: str, spacing: float) -> np.ndarray:
    """The metric's length of each integer offset, evaluated here independently of the
    graph's own table: the certificate's costs."""
    steps = np.abs(offsets).astype(np.float64)
    if metric == "cityblock":
        return spacing * steps.sum(axis=1)
    if metric == "chebyshev":
        return spacing * steps.max(axis=1)
    return spacing * np.sqrt((steps * steps).sum(axis=1))


def _offset_violation(graph: _GridGraph, metric: str, y: np.ndarray, y_low: np.ndarray
                      ) -> tuple[float, int, int]:
    """An upper bound on the largest violation ``y[tail] - y[head] - length`` (potentials
    ``y + y_low``) over every arc of the full grid graph, the metric's lengths recomputed
    from the offsets, with its arc: exact-sign bounds (:func:`emd._certify.reduced_cost_bounds`)."""
    lengths = _metric_lengths(graph.offsets, metric, graph.spacing)
    potential = y.reshape(graph.shape)
    potential_low = y_low.reshape(graph.shape)
    worst, wi, wj = 0.0, -1, -1
    index = np.arange(y.size).reshape(graph.shape)
    for q in range(len(graph.offsets)):
        if graph.start[q + 1] == graph.start[q]:
            continue
        src, dst = graph._slices(q)
        lower = _certify.reduced_cost_bounds(
            lengths[q], -potential[src], -potential_low[src], -potential[dst],
            -potential_low[dst],
        )
        k = int(np.argmin(lower))
        if lower.flat[k] < -worst:
            worst = float(-lower.flat[k])
            wi, wj = int(index[src].flat[k]), int(index[dst].flat[k])
    return worst, wi, wj


def _grid_certificate(kind: str, data: tuple, result: GridResult) -> Certificate:
    y = result.potential.ravel()
    if kind == "line":
        supply, spacing, supply_low = data
        n = supply.size
        step = np.arange(n - 1, dtype=np.intp)
        tails = np.concatenate([step, step + 1])
        heads = np.concatenate([step + 1, step])
        crossing = _line_flow(supply)
        flow = np.concatenate([np.maximum(crossing, 0.0), np.maximum(-crossing, 0.0)])
        costs = np.full(tails.size, spacing)
        return certify_flow(tails, heads, costs, supply, flow, (y, np.zeros(n)), result.cost,
                            supply_low=supply_low, components=np.zeros(n, dtype=np.intp))
    graph, supply, y_low, (tails, heads, flow), supply_low = data
    lengths = _metric_lengths(graph.offsets, result.metric, graph.spacing)
    worst, wi, wj = _offset_violation(graph, result.metric, y, y_low)
    coords = np.stack(np.unravel_index(np.arange(y.size), graph.shape), axis=1)
    arc_lengths = _metric_lengths(coords[heads] - coords[tails], result.metric, graph.spacing)
    # A grid is connected and every offset has its reverse: one component.
    return certify_flow(
        tails, heads, arc_lengths, supply, flow, (y, y_low), result.cost,
        violation=(worst, wi, wj), max_cost=float(lengths.max(initial=0.0)),
        supply_low=supply_low, components=np.zeros(y.size, dtype=np.intp),
    )
