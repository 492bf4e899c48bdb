r"""Exact k nearest neighbours under W1: cheap lower bounds prune, exact solves confirm.

For each query the candidates are visited in increasing order of a lower
bound on their distance; each visited candidate is solved exactly, and the
search stops as soon as the k-th exact distance lies below every remaining
bound.  Every bound is valid for any pair of distributions, so the answer is
the brute-force answer; only the number of exact solves changes.

The bounds (their maximum is used; none dominates the others):

* **Weighted means** (Jensen; Kusner et al.'s WCD [1]_): for a ground metric that
  is a norm, :math:`W_1(a, b) \ge \|\bar x_a - \bar x_b\|`, the distance
  between the weighted means.
* **Relaxed transport** (RWMD): dropping the constraint on one marginal, every
  unit of mass moves to its nearest point of the other support; the larger of
  the two directions.  It is zero when the two supports coincide, so only the
  bins that carry mass count as support.
* **1-D projections**: for a direction :math:`\theta`,
  :math:`|\langle x - y, \theta\rangle| \le \|\theta\|_* \|x - y\|`, so the W1
  of the projected distributions divided by the dual norm
  :math:`\|\theta\|_*` is a bound (L1 norm of :math:`\theta` for Chebyshev,
  max norm for city-block).
* **Coarse grids**: summing the histograms over blocks of ``f`` bins per axis
  and placing each sum at its block centre moves every unit of mass by at
  most ``r``, the largest bin-to-centre distance; by the triangle inequality
  :math:`W_1(a, b) \ge W_1(a_c, b_c) - 2 \cdot \text{mass} \cdot r`.  (The
  coarse distance alone is not a bound.)  Solved only when a candidate
  reaches the front of the queue, for grids of at least 16 x 16 bins.

Rounding: every bound is lowered by ``64 n eps * mass * diameter`` (``n`` the
number of bins or points, ``diameter`` the largest ground distance the
support allows).  Each bound is a sum of at most ``n`` terms no larger than
``mass * diameter`` (after centring the coordinates), so its rounding error
is about ``n eps * mass * diameter``: the margin exceeds it 64-fold.  The
computed distances of certified pairs are proven to ``1e-9`` relative, so
a candidate is pruned only when its bound exceeds the k-th computed distance
by that much, and coarse costs enter bounds at the low end of their proof;
pairs that are not certified are listed apart, not ranked.  For the
Euclidean grid with offsets up to ``L`` the distance ranked is the one
:func:`emd.pairwise` gives, an upper bound on W1, so lower bounds on W1 remain
lower bounds on it.

References
----------
.. [1] M. J. Kusner, Y. Sun, N. I. Kolkin, K. Q. Weinberger, "From word
   embeddings to document distances", ICML 2015.
"""

from __future__ import annotations

import heapq
import math
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from emd import _pairs
from emd._result import DEFAULT_RTOL
from emd._status import SolverWarning
from emd._validation import as_n_jobs, as_points, as_positive_int, check_metric
from emd.structured._grid import GridSolver

__all__ = ["NeighborsResult", "knn"]


def _scipy_cdist(x: np.ndarray, y: np.ndarray, metric: str) -> np.ndarray:
    """scipy's cdist, imported on first use so that ``import emd`` pays for numpy alone."""
    from scipy.spatial.distance import cdist

    return cdist(x, y, metric)

_EPS = np.finfo(np.float64).eps
#: What status "optimal" proves of a computed distance (emd._result.DEFAULT_RTOL).
_CERTIFIED_RTOL = DEFAULT_RTOL

#: Exact solves per round after the first k: small, so few solves are wasted
#: once the bounds would have stopped the search, yet enough to batch the
#: grid solver's GIL-free loop.
_ROUND = 4

#: Dual norm of a direction for each normed ground metric.
_DUAL_ORD = {"euclidean": 2, "cityblock": np.inf, "chebyshev": 1}
#: The norm itself.
_NORM_ORD = {"euclidean": 2, "cityblock": 1, "chebyshev": np.inf}


@dataclass(frozen=True)
class NeighborsResult:
    """The k nearest neighbours of each query, and what it took to find them.

    Attributes
    ----------
    indices : ndarray of int, shape (n_queries, k)
        Database indices, nearest first; ties broken by the smaller index.
        -1 where fewer than k candidates had a certified distance.
    distances : ndarray, shape (n_queries, k)
        Their distances, exactly as :func:`emd.cdist` (or :func:`emd.pairwise`
        without a database) gives them; ``inf`` beside an index of -1.
    n_solves : int
        Exact transport problems solved.
    n_pairs : int
        The problems brute force would solve.
    n_bound_solves : int
        Coarse-grid problems solved for bounds (each far smaller than an exact one).
    uncertified : tuple of (int, int, float, str)
        ``(query, index, value, reason)`` for every candidate whose exact solve
        could not be certified optimal (``max_iter`` reached, or any status but
        ``"optimal"``): it is left out of the ranking and listed here.
    """

    indices: np.ndarray
    distances: np.ndarray
    n_solves: int
    n_pairs: int
    n_bound_solves: int
    uncertified: tuple[tuple[int, int, float, str], ...]

    def __repr__(self) -> str:
        q, k = self.indices.shape
        return (
            f"NeighborsResult(n_queries={q}, k={k}, n_solves={self.n_solves}, "
            f"n_pairs={self.n_pairs}, uncertified={len(self.uncertified)})"
        )


def _directions(dim: int) -> np.ndarray:
    """Unit directions to project on: 8 angles in the plane, axes and diagonals beyond."""
    if dim == 1:
        return np.ones((1, 1))
    if dim == 2:
        angles = np.arange(8) * (np.pi / 8)
        return np.stack([np.cos(angles), np.sin(angles)], axis=1)
    signs = np.array(np.meshgrid(*[[1.0, -1.0]] * (dim - 1), indexing="ij")).reshape(dim - 1, -1).T
    diagonals = np.concatenate([np.ones((len(signs), 1)), signs], axis=1) / math.sqrt(dim)
    return np.concatenate([np.eye(dim), diagonals])


def _projected_w1(points: np.ndarray, wa: np.ndarray, wb: np.ndarray) -> float:
    """W1 on the line between weights ``wa`` at ``points[:na]`` and ``wb`` at ``points[na:]``."""
    order = np.argsort(points, kind="stable")
    surplus = np.cumsum(np.concatenate([wa, -wb])[order])[:-1]
    return float(np.abs(surplus) @ np.diff(points[order]))


class _SharedBounds:
    """Bounds for histograms on one support (grid bins or ``positions``)."""

    def __init__(self, solver: Any, coords: np.ndarray, metric: str, database: np.ndarray,
                 mass: float, grid_shape: tuple[int, ...] | None):
        self.solver = solver
        coords = coords - coords.mean(axis=0)  # shift-invariant bounds; smaller rounding
        self.norm = _NORM_ORD.get(metric)
        self.database = database
        n_bins = coords.shape[0]
        if self.norm is None:  # sqeuclidean: no norm, no means or projections
            diameter = float(_scipy_cdist(coords, coords, "sqeuclidean").max()) if n_bins <= 4096 \
                else 4 * float((coords**2).sum(axis=1).max())
        else:
            diameter = 2 * float(np.linalg.norm(coords, ord=self.norm, axis=1).max())
        self.tol = 64 * n_bins * _EPS * mass * max(diameter, 1e-300)
        self.coords = coords
        self.means = database @ coords if self.norm is not None else None
        # Cumulative weights in each direction's order: W1 of a projection is
        # then one matrix-vector product against the gaps.
        self.projections = []
        if self.norm is not None:
            for theta in _directions(coords.shape[1]):
                values = coords @ theta
                order = np.argsort(values, kind="stable")
                gaps = np.diff(values[order])
                dual = float(np.linalg.norm(theta, ord=_DUAL_ORD[metric]))
                cdf = np.cumsum(database[:, order], axis=1)[:, :-1]
                self.projections.append((order, gaps / dual, cdf))
        # The ground distances between bins, for the relaxed bound (small supports only).
        self.cost = None
        if n_bins <= 2048:
            if isinstance(solver, _pairs.DensePairs):
                self.cost = solver.cost
            else:
                name = "sqeuclidean" if metric == "sqeuclidean" else metric
                self.cost = _scipy_cdist(coords, coords, name)
        self.coarse = None
        if grid_shape is not None and len(grid_shape) >= 2 and min(grid_shape) >= 16:
            self.coarse = _CoarseGrid(grid_shape, solver.solver, database, diameter)

    def initial(self, query: np.ndarray) -> np.ndarray:
        """Bounds from ``query`` to every database item, all at once."""
        bound = np.zeros(len(self.database))
        if self.means is not None:
            bound = np.maximum(bound, np.linalg.norm(self.means - query @ self.coords,
                                                     ord=self.norm, axis=1))
        for order, gaps, cdf in self.projections:
            mine = np.cumsum(query[order])[:-1]
            bound = np.maximum(bound, np.abs(cdf - mine) @ gaps)
        if self.cost is not None:
            # Each database item's mass moved to the query's nearest bin that holds mass.
            nearest = self.cost[query > 0].min(axis=0)
            bound = np.maximum(bound, self.database @ nearest)
        return bound - self.tol

    def refine(self, query: np.ndarray, j: int) -> tuple[float, int]:
        """A second, per-candidate bound, and how many coarse problems it solved."""
        bound, solves = -math.inf, 0
        if self.cost is not None:
            # The query's mass moved to the candidate's nearest bin that holds mass.
            held = query > 0
            nearest = self.cost[np.ix_(held, self.database[j] > 0)].min(axis=1)
            bound = float(query[held] @ nearest)
        if self.coarse is not None:
            bound = max(bound, self.coarse.bound(query, j))
            solves = 1
        return bound - self.tol, solves


class _CoarseGrid:
    """W1 between block sums at block centres, minus twice the mass times the block radius."""

    FACTOR = 2

    def __init__(self, shape: tuple[int, ...], fine: Any, database: np.ndarray,
                 diameter: float):
        f = self.FACTOR
        self.shape = shape
        self.padded = tuple(-(-s // f) * f for s in shape)
        coarse_shape = tuple(s // f for s in self.padded)
        self.solver = GridSolver(coarse_shape, fine.metric, fine.spacing * f, fine.L)
        half = (f - 1) / 2 * fine.spacing
        # Bins of a block lie within this ground distance of its centre
        # (zero-padded bins carry no mass, so edge blocks obey it too).
        self.radius = {"cityblock": len(shape) * half, "chebyshev": half,
                       "euclidean": math.sqrt(len(shape)) * half}[fine.metric]
        self.database = np.stack([self._coarsen(h) for h in database])
        # Block centres lie within a radius of the bins: a bound on every coarse distance.
        self.diameter = diameter + 2 * self.radius

    def _coarsen(self, flat: np.ndarray) -> np.ndarray:
        grid = np.zeros(self.padded)
        grid[tuple(slice(0, s) for s in self.shape)] = flat.reshape(self.shape)
        f = self.FACTOR
        split = []
        for s in self.padded:
            split += [s // f, f]
        return grid.reshape(split).sum(axis=tuple(range(1, 2 * len(self.shape), 2))).ravel()

    def bound(self, query: np.ndarray, j: int) -> float:
        coarse = self._coarsen(query)
        # Solved as every grid pair is, totals balanced exactly first (as are the fine
        # pair's): each balancing moves at most the difference of the totals, which
        # changes a distance by at most that times the diameter.
        result = self.solver.solve_pair(coarse, self.database[j])
        if result.status != "optimal":
            return -math.inf
        mass = math.fsum(query)
        moved = abs(math.fsum(coarse) - math.fsum(self.database[j]))
        # "optimal" proves the coarse cost to _CERTIFIED_RTOL: take the low end.
        return (result.lower_bound * (1 - _CERTIFIED_RTOL) - 2 * mass * self.radius
                - 2 * moved * self.diameter)


class _PointBounds:
    """Bounds between point sets, each with its own support."""

    def __init__(self, metric: str, database: list[tuple[np.ndarray, np.ndarray]], mass: float):
        self.metric = metric
        self.norm = _NORM_ORD.get(metric)
        self.database = database
        everything = np.concatenate([x for x, _ in database])
        centre = everything.mean(axis=0)
        self.centre = centre
        if self.norm is None:
            self.diameter = 4 * float(((everything - centre) ** 2).sum(axis=1).max())
        else:
            self.diameter = 2 * float(np.linalg.norm(everything - centre, ord=self.norm,
                                                     axis=1).max())
        self.mass = mass
        self.means = (np.stack([w @ (x - centre) for x, w in database])
                      if self.norm is not None else None)
        self.directions = [] if self.norm is None else [
            (theta, float(np.linalg.norm(theta, ord=_DUAL_ORD[metric])))
            for theta in _directions(everything.shape[1])
        ]

    def _tol(self, na: int, nb: int) -> float:
        return 64 * (na + nb) * _EPS * self.mass * max(self.diameter, 1e-300)

    def initial(self, query: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        x, w = query
        if self.means is None:
            return np.full(len(self.database), -math.inf)
        mean = w @ (x - self.centre)
        sizes = np.array([len(wb) for _, wb in self.database])
        return (np.linalg.norm(self.means - mean, ord=self.norm, axis=1)
                - 64 * (len(w) + sizes) * _EPS * self.mass * max(self.diameter, 1e-300))

    def refine(self, query: tuple[np.ndarray, np.ndarray], j: int) -> tuple[float, int]:
        x, w = query
        y, v = self.database[j]
        cost = _scipy_cdist(x - self.centre, y - self.centre, self.metric)
        # Relaxed transport, both directions: mass to the nearest point that holds any.
        bound = max(float(w[w > 0] @ cost[w > 0][:, v > 0].min(axis=1)),
                    float(v[v > 0] @ cost[w > 0][:, v > 0].min(axis=0)))
        both = np.concatenate([x, y]) - self.centre
        for theta, dual in self.directions:
            bound = max(bound, _projected_w1(both @ theta, w, v) / dual)
        return bound - self._tol(len(w), len(v)), 0


@dataclass
class _Search:
    """Everything one query's search needs; shipped once to threads or Dask workers."""

    solver: Any
    bounds: Any
    k: int
    exclude_self: bool

    def query_item(self, q: int) -> Any:
        items = self.solver.left
        return items[q]

    def __call__(self, q: int) -> tuple[list[tuple[float, int]], int, int, list]:
        query = self.query_item(q)
        bound = self.bounds.initial(query)
        heap = [(float(b), j, False) for j, b in enumerate(bound) if not (self.exclude_self
                                                                          and j == q)]
        heapq.heapify(heap)
        best: list[tuple[float, int]] = []  # (distance, index), sorted, at most k
        uncertified = []
        solves = bound_solves = 0
        while heap:
            kth = best[-1][0] if len(best) == self.k else math.inf
            batch_size = self.k if not best else _ROUND
            chosen = []
            while heap and len(chosen) < batch_size:
                lower, j, refined = heap[0]
                # Equal to the k-th distance is not enough to prune: the
                # candidate may tie it with a smaller index.  Its computed
                # distance may sit _CERTIFIED_RTOL below the true one.
                if lower * (1 - _CERTIFIED_RTOL) > kth:
                    break
                heapq.heappop(heap)
                if not refined:
                    extra, spent = self.bounds.refine(query, j)
                    bound_solves += spent
                    heapq.heappush(heap, (max(lower, extra), j, True))
                    continue
                chosen.append(j)
            if not chosen:
                break
            if self.exclude_self:
                # Solve (i, j) as pairwise does, the smaller index first: the same bits.
                pairs = np.array([(min(q, j), max(q, j)) for j in chosen], dtype=np.intp)
            else:
                pairs = np.array([(q, j) for j in chosen], dtype=np.intp)
            results = self.solver.chunk(pairs)
            solves += len(chosen)
            for j, (value, optimal) in zip(chosen, results, strict=True):
                if optimal != 1.0 or not math.isfinite(value):
                    uncertified.append((q, j, float(value), "not certified optimal"))
                    continue
                best.append((float(value), j))
            best.sort()
            del best[self.k:]
        return best, solves, bound_solves, uncertified


def _run(search: _Search, n_queries: int, jobs: int, client: Any) -> list:
    if client is not None:
        [remote] = client.scatter([search], broadcast=True, hash=False)
        futures = [client.submit(_remote_query, remote, q, pure=False) for q in range(n_queries)]
        return client.gather(futures)
    if jobs == 1 or n_queries == 1:
        return [search(q) for q in range(n_queries)]
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="emd-knn") as executor:
        return list(executor.map(search, range(n_queries)))


def _remote_query(search: _Search, q: int):
    return search(q)


def _is_one_item(queries: Any, item: Any, points: bool) -> bool:
    """Whether ``queries`` is one distribution of the database's form rather than a
    sequence of them: a ``(points, weights)`` pair whose first element is an array of
    points, or a weight array of exactly the shape of a database item.  (A stack of
    several queries has one more axis, so the two readings never collide.)"""
    if points:
        return (isinstance(queries, tuple) and len(queries) == 2
                and not isinstance(queries[0], tuple))
    try:
        shape = np.shape(queries)
    except ValueError:  # ragged: a sequence of histograms of different shapes
        return False
    return shape == item.shape


def knn(
    queries: Sequence[ArrayLike] | np.ndarray,
    database: Sequence[ArrayLike] | np.ndarray | None = None,
    k: int = 1,
    *,
    metric: str | None = None,
    positions: ArrayLike | None = None,
    grid: bool = False,
    normalize: bool = False,
    n_jobs: int | None = None,
    client: Any = None,
    spacing: float = 1.0,
    L: int | None = None,
    max_iter: int | None = None,
) -> NeighborsResult:
    """The k nearest neighbours of each query under W1, exactly, with few exact solves.

    Parameters
    ----------
    queries : sequence of array_like, or one array_like
        Distributions in one of the three forms of :func:`emd.pairwise`:
        weight arrays on a shared support ``positions``, grid histograms, or
        ``(points, weights)`` pairs.  With a ``database``, one distribution
        of the database's form (an array of the shape of its items, or one
        ``(points, weights)`` pair) is one query: the result has one row.
    database : sequence of array_like, optional
        The distributions to search, in the same form.  Without it, each
        query's neighbours are searched among the other queries (itself excluded).
    k : int, default 1
        Neighbours per query; at most the number of candidates.
    metric, positions, grid, normalize, spacing, L, max_iter
        As in :func:`emd.pairwise`; distances are exactly its entries.
    n_jobs : int, optional
        Threads, one query at a time each; ``None`` or -1 uses every core.
    client : dask.distributed.Client, optional
        Search the queries as tasks on this Dask cluster.

    Returns
    -------
    NeighborsResult
        ``indices`` and ``distances`` of shape (n_queries, k), sorted by
        distance then index, and the number of exact solves made.

    Warns
    -----
    SolverWarning
        When some exact solves could not be certified optimal; those
        candidates are left out of the ranking and listed in ``uncertified``.

    Raises
    ------
    ValueError
        As :func:`emd.pairwise` for bad histograms, or ``k`` larger than the
        number of candidates.

    Notes
    -----
    Candidates are solved in increasing order of a lower bound (see the
    module documentation for the bounds) and the search stops once the k-th
    exact distance is below every remaining bound, so the result equals the
    brute-force one: the same indices and the same bits as the entries of
    :func:`emd.cdist` (``emd.pairwise`` without a database).

    Examples
    --------
    >>> import numpy as np
    >>> import emd
    >>> database = [np.eye(5)[i] for i in range(5)]     # unit masses at 0, 1, ..., 4
    >>> result = emd.knn([np.eye(5)[3]], database, k=2)
    >>> result.indices, result.distances
    (array([[3, 2]]), array([[0., 1.]]))
    >>> emd.knn(np.eye(5)[3], database, k=1).indices    # one query, one row
    array([[3]])
    >>> emd.knn(database, k=1).indices.ravel()          # among the others
    array([1, 0, 1, 2, 3])
    """
    k = as_positive_int(k, "k")
    symmetric = database is None
    if symmetric:
        probe = queries[0] if isinstance(queries, Sequence) and len(queries) else None
        points = isinstance(probe, tuple)
        left = right = _pairs.validate(queries, "queries", normalize, points)
    else:
        probe = database[0] if isinstance(database, Sequence) and len(database) else None
        points = isinstance(probe, tuple)
        right = _pairs.validate(database, "database", normalize, points)
        if _is_one_item(queries, right[0], points):
            queries = [queries]
        left = _pairs.validate(queries, "queries", normalize, points)
    if symmetric:
        mass = _pairs.check_collections(left, left, ("queries", "queries"), points)
    else:
        # Measured against the database, which says what a query must look like.
        _pairs.check_collections(
            right, left, ("database", "queries"), points,
            hint=" (one query is one (points, weights) pair, several a sequence of them)"
            if points else " (one query is one array of that shape, several a sequence or a "
            "stack of them)",
        )
        mass = math.fsum(left[0][1] if points else left[0].ravel())
    if max_iter is not None:
        max_iter = as_positive_int(max_iter, "max_iter")
    candidates = len(right) - (1 if symmetric else 0)
    if k > candidates:
        raise ValueError(f"k={k} but there are only {candidates} candidates per query")
    jobs = as_n_jobs(n_jobs)
    solver = _pairs.build(
        left, right, metric=metric, positions=positions, grid=grid, points=points,
        spacing=spacing, L=L, max_iter=max_iter,
    )
    if isinstance(solver, _pairs.PointPairs):
        metric_name = solver.metric
        bounds: Any = _PointBounds(metric_name, solver.right, mass)
    else:
        if isinstance(solver, _pairs.GridPairs):
            shape = left[0].shape
            metric_name = solver.solver.metric
            coords = spacing * np.stack(np.unravel_index(np.arange(math.prod(shape)), shape),
                                        axis=1).astype(np.float64)
            database_flat = solver.right
        else:
            shape = None
            metric_name = check_metric(metric or "euclidean", None)[0]
            coords = as_points(positions, "positions")
            database_flat = np.stack(solver.right)
            if isinstance(solver, _pairs.LinePairs):
                metric_name = "cityblock"  # every norm is |x - y| on a line
        bounds = _SharedBounds(solver, coords, metric_name, database_flat, mass, shape)
    search = _Search(solver, bounds, k, symmetric)
    outcomes = _run(search, len(left), jobs, client)
    indices = np.full((len(left), k), -1, dtype=np.intp)
    distances = np.full((len(left), k), math.inf)
    uncertified: list[tuple[int, int, float, str]] = []
    n_solves = n_bound = 0
    for q, (best, solves, bound_solves, failed) in enumerate(outcomes):
        for rank, (value, j) in enumerate(best):
            indices[q, rank], distances[q, rank] = j, value
        n_solves += solves
        n_bound += bound_solves
        uncertified += failed
    if uncertified:
        warnings.warn(
            f"{len(uncertified)} exact solves could not be certified optimal (the first: query "
            f"{uncertified[0][0]}, candidate {uncertified[0][1]}); they are left out of the "
            "ranking and listed in NeighborsResult.uncertified",
            SolverWarning,
            stacklevel=2,
        )
    return NeighborsResult(indices, distances, n_solves, len(left) * candidates, n_bound,
                           tuple(uncertified))
