"""Rows of the ``unequal`` family: partial and unbalanced transport (issue 24).

* Dense partial transport, ``emd.solve(a, b, C, partial=m)`` against POT's exact
  ``ot.partial.partial_wasserstein2`` on the same matrix: random points in the
  unit square, Euclidean costs, uniform ``a`` (total 1) and ``b`` (total 1.3),
  ``m = 0.8``.  Each row asserts our status ``"optimal"`` and agreement with POT.
* Unbalanced grids against the balanced ``emd.solve_grid(A, B')`` of the same pair
  (``B'`` rescaled to the total of ``A``), white noise, city-block, in two regimes:
  ``emd.solve_grid(A, 1.3 B, unbalanced=5)`` (mass created everywhere) and the
  equal masses ``emd.solve_grid(A, B', unbalanced=size)`` (a price above half the
  diameter: the answer is W1 and the extra node carries nothing).  Both are solved
  by the compiled grid driver with the extra node as its tree's root; the ratio is
  the price of that node.  Every answer must be certified optimal; the answers
  differ by design, so there is no ``rel_diff`` (the equal-masses one is checked
  against the balanced cost).
* Distance matrices, ``emd.pairwise(sets, unbalanced=lam, n_jobs=k)`` of point
  sets (200 random points in the unit square, weights of totals 1 to 1.4) on
  ``k = 1`` and 2 threads, against the pair-by-pair loop of
  ``emd.solve_points`` over the same pairs (what ``pairwise`` did before it
  ran on the batch machinery).  Each matrix must equal the loop bit for bit.
* Multi-scale partial point clouds, ``emd.solve_points(x, y, a, b, partial=m)`` from
  coordinates (the same points and masses as the dense rows; above 1500 x 1500 points
  solved by column generation with the costs on the fly, no n x n matrix), with the
  peak memory it adds (``ours_peak_mb``, a forked child) beside the dense matrix POT
  needs (``dense_matrix_mb``).  Peer, where it can run (``points_pot_max``): POT's
  ``ot.dist`` then ``ot.partial.partial_wasserstein2`` (forming the matrix is part
  of POT's work here).  Each size also has a row against the balanced
  ``emd.solve_points`` of the same clouds (``b`` rescaled to the total of ``a``).
* Partial transport on graphs, ``emd.solve_graph(G, a, b, partial=m)`` on O(n) arcs:
  a random geometric graph (points in the unit square, each joined to its 6 nearest
  neighbours, Euclidean lengths; connected), ``a`` total 1, ``b`` total 1.3,
  ``m = 0.8``.  Peer where it fits (``graph_pot_max`` nodes): all shortest paths
  (``scipy.sparse.csgraph``) then ``ot.partial.partial_wasserstein2`` on that dense
  matrix; and at every size the balanced ``emd.solve_graph`` of the same pair.

Run alone with ``python -m benchmarks.workloads_unequal [--quick]``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator

import numpy as np

import emd

from ._timing import measure, peak_memory
from .workloads import _rel

try:
    import ot
    import ot.partial
except ImportError:  # pragma: no cover - depends on the environment
    ot = None

MASS, SURPLUS, PRICE = 0.8, 1.3, 5.0


def _checked(result, label: str) -> float:
    if result.status != "optimal" or not result.certificate().optimal():
        raise AssertionError(f"{label}: status {result.status}, {result.certificate()!r}")
    return float(result.cost)


def dense_partial(sizes, pot_max: int, repeat: int = 3) -> Iterator[dict]:
    for n in sizes:
        rng = np.random.default_rng(n)
        x, y = rng.random((n, 2)), rng.random((n, 2))
        a, b = np.full(n, 1.0 / n), np.full(n, SURPLUS / n)
        cost = np.sqrt(((x[:, None, :] - y[None, :, :]) ** 2).sum(axis=-1))
        label = f"dense partial {n} x {n}"
        value = _checked(emd.solve(a, b, cost, partial=MASS), label)
        ours = measure(lambda a=a, b=b, cost=cost: emd.solve(a, b, cost, partial=MASS).cost,
                       repeat=repeat, budget=30)
        row = {"family": "unequal", "case": f"partial m={MASS}, dense euclidean", "size": n,
               "ours_s": ours.seconds, "ours_runs": ours.runs, "peer": None, "peer_s": None,
               "ratio": None, "rel_diff": None}
        if ot is not None and n <= pot_max:
            peer = measure(lambda a=a, b=b, cost=cost: float(ot.partial.partial_wasserstein2(
                a, b, cost, m=MASS)), repeat=repeat, budget=120)
            row.update(peer="ot.partial.partial_wasserstein2", peer_s=peer.seconds,
                       peer_runs=peer.runs, ratio=ours.seconds / peer.seconds,
                       rel_diff=_rel(value, float(peer.value)))
        yield row


def grid_unbalanced(sizes, repeat: int = 3) -> Iterator[dict]:
    for size in sizes:
        rng = np.random.default_rng(size)
        A, B = rng.random((size, size)), rng.random((size, size))
        balanced_b = B * (A.sum() / B.sum())
        label = f"grid {size} x {size}"
        # 512 x 512 white noise takes about a minute balanced on a loaded machine: one
        # timed call each (the first call is the measurement when it exceeds budget / 3).
        budget = 60 if size <= 256 else 150
        # The timed calls return the results, checked afterwards: no solve is repeated
        # just to check it.
        peer = measure(lambda A=A, b=balanced_b: emd.solve_grid(A, b), repeat=repeat,
                       budget=budget)
        w1 = _checked(peer.value, label + " balanced")
        cases = [(f"grid unbalanced lam={PRICE}, masses x{SURPLUS}, cityblock", SURPLUS * B,
                  PRICE),
                 ("grid unbalanced lam=size, equal masses, cityblock", balanced_b, float(size))]
        for case, b, lam in cases:
            ours = measure(lambda A=A, b=b, lam=lam: emd.solve_grid(A, b, unbalanced=lam),
                           repeat=repeat, budget=budget)
            value = _checked(ours.value, f"{label} {case}")
            if b is balanced_b and _rel(value, w1) > 1e-9:
                raise AssertionError(f"{label}: lam above half the diameter gave {value}, "
                                     f"W1 {w1}")
            yield {"family": "unequal", "case": case, "size": size, "ours_s": ours.seconds,
                   "ours_runs": ours.runs, "peer": "emd.solve_grid balanced, same pair",
                   "peer_s": peer.seconds, "peer_runs": peer.runs,
                   "ratio": ours.seconds / peer.seconds, "rel_diff": None}


def pairwise_unbalanced(n_sets: int, n_points: int, repeat: int = 3) -> Iterator[dict]:
    rng = np.random.default_rng(n_sets)
    sets = [(rng.random((n_points, 2)), np.full(n_points, (1 + 0.4 * k / n_sets) / n_points))
            for k in range(n_sets)]
    pairs = [(i, j) for i in range(n_sets) for j in range(i + 1, n_sets)]

    def loop():
        matrix = np.zeros((n_sets, n_sets))
        for i, j in pairs:
            (x, a), (y, b) = sets[i], sets[j]
            matrix[i, j] = matrix[j, i] = emd.solve_points(x, y, a, b, unbalanced=PRICE).cost
        return matrix

    peer = measure(loop, repeat=repeat, budget=60)
    for jobs in (1, 2):
        ours = measure(lambda jobs=jobs: emd.pairwise(sets, unbalanced=PRICE, n_jobs=jobs),
                       repeat=repeat, budget=60)
        if ours.value.tobytes() != peer.value.tobytes():
            raise AssertionError(f"pairwise n_jobs={jobs} differs from the single solves")
        yield {"family": "unequal",
               "case": f"pairwise {n_sets} sets unbalanced lam={PRICE}, n_jobs={jobs}",
               "size": n_points, "ours_s": ours.seconds, "ours_runs": ours.runs,
               "peer": "loop of emd.solve_points, same pairs", "peer_s": peer.seconds,
               "peer_runs": peer.runs, "ratio": ours.seconds / peer.seconds, "rel_diff": 0.0}


def _mb(value):
    return None if value is None else value / 2**20


def points_partial(sizes, pot_max: int, repeat: int = 3) -> Iterator[dict]:
    for n in sizes:
        rng = np.random.default_rng(n)
        x, y = rng.random((n, 2)), rng.random((n, 2))
        a, b = np.full(n, 1.0 / n), np.full(n, SURPLUS / n)
        label = f"points partial {n} x {n}"

        def ours_fn(x=x, y=y, a=a, b=b):
            return emd.solve_points(x, y, a, b, partial=MASS).cost

        value = _checked(emd.solve_points(x, y, a, b, partial=MASS), label)
        ours = measure(ours_fn, repeat=repeat, budget=60)
        extra = {"ours_peak_mb": _mb(peak_memory(ours_fn)), "dense_matrix_mb": 8 * n * n / 2**20}
        row = {"family": "unequal", "case": f"partial m={MASS}, points euclidean (on the fly)",
               "size": n, "ours_s": ours.seconds, "ours_runs": ours.runs, "peer": None,
               "peer_s": None, "ratio": None, "rel_diff": None, **extra}
        if ot is not None and n <= pot_max:
            def peer_fn(x=x, y=y, a=a, b=b):
                return float(ot.partial.partial_wasserstein2(a, b, ot.dist(x, y, "euclidean"),
                                                             m=MASS))

            peer = measure(peer_fn, repeat=repeat, budget=120)
            row.update(peer="ot.dist + ot.partial.partial_wasserstein2", peer_s=peer.seconds,
                       peer_runs=peer.runs, ratio=ours.seconds / peer.seconds,
                       rel_diff=_rel(value, float(peer.value)))
            if peer.seconds < 30:  # one more POT solve, in a forked child
                row["peer_peak_mb"] = _mb(peak_memory(peer_fn))
        yield row
        balanced_b = np.full(n, 1.0 / n)
        _checked(emd.solve_points(x, y, a, balanced_b), label + " balanced")
        peer = measure(lambda x=x, y=y, a=a, b=balanced_b: emd.solve_points(x, y, a, b).cost,
                       repeat=repeat, budget=60)
        yield {"family": "unequal", "case": f"partial m={MASS}, points vs balanced solve",
               "size": n, "ours_s": ours.seconds, "ours_runs": ours.runs,
               "peer": "emd.solve_points balanced, same points", "peer_s": peer.seconds,
               "peer_runs": peer.runs, "ratio": ours.seconds / peer.seconds, "rel_diff": None}


def _geometric_graph(n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Each of n random points joined to its 6 nearest neighbours (Euclidean lengths), and
    consecutive points along x joined too, so that the graph is connected."""
    from scipy.spatial import cKDTree

    points = rng.random((n, 2))
    _, near = cKDTree(points).query(points, k=7)
    tails = np.repeat(np.arange(n), 6)
    heads = near[:, 1:].ravel()
    order = np.argsort(points[:, 0])
    tails = np.concatenate([tails, order[:-1]])
    heads = np.concatenate([heads, order[1:]])
    # Each edge once (a sparse matrix would sum duplicates into a longer edge).
    edges = np.unique(np.sort(np.stack([tails, heads], axis=1), axis=1), axis=0)
    lengths = np.linalg.norm(points[edges[:, 0]] - points[edges[:, 1]], axis=1)
    return edges, lengths


def graph_partial(sizes, pot_max: int, repeat: int = 3) -> Iterator[dict]:
    for n in sizes:
        rng = np.random.default_rng(n)
        edges, lengths = _geometric_graph(n, rng)
        a = rng.random(n)
        a /= a.sum()
        b = rng.random(n)
        b *= SURPLUS / b.sum()
        label = f"graph partial {n}"

        def ours_fn(a=a, b=b, edges=edges, lengths=lengths):
            return emd.solve_graph((edges, lengths), a, b, partial=MASS).cost

        value = _checked(emd.solve_graph((edges, lengths), a, b, partial=MASS), label)
        ours = measure(ours_fn, repeat=repeat, budget=60)
        row = {"family": "unequal", "case": f"partial m={MASS}, graph kNN-6 (O(n) arcs)",
               "size": n, "ours_s": ours.seconds, "ours_runs": ours.runs, "peer": None,
               "peer_s": None, "ratio": None, "rel_diff": None,
               "ours_peak_mb": _mb(peak_memory(ours_fn)), "dense_matrix_mb": 8 * n * n / 2**20}
        if ot is not None and n <= pot_max:
            import scipy.sparse
            from scipy.sparse import csgraph

            def peer_fn(a=a, b=b, edges=edges, lengths=lengths, n=n):
                graph = scipy.sparse.coo_array((lengths, (edges[:, 0], edges[:, 1])),
                                               shape=(n, n))
                # Both directions stored (SciPy 1.10's Dijkstra misses edges of a
                # triangular matrix with directed=False).
                distances = csgraph.shortest_path((graph + graph.T).tocsr(), directed=True)
                return float(ot.partial.partial_wasserstein2(a, b, distances, m=MASS))

            peer = measure(peer_fn, repeat=repeat, budget=120)
            row.update(peer="csgraph.shortest_path + ot.partial.partial_wasserstein2",
                       peer_s=peer.seconds, peer_runs=peer.runs,
                       ratio=ours.seconds / peer.seconds, rel_diff=_rel(value, float(peer.value)))
        yield row
        balanced_b = b * (a.sum() / b.sum())
        _checked(emd.solve_graph((edges, lengths), a, balanced_b), label + " balanced")
        peer = measure(lambda a=a, b=balanced_b, g=(edges, lengths): emd.solve_graph(g, a, b).cost,
                       repeat=repeat, budget=60)
        yield {"family": "unequal", "case": f"partial m={MASS}, graph vs balanced solve",
               "size": n, "ours_s": ours.seconds, "ours_runs": ours.runs,
               "peer": "emd.solve_graph balanced, same pair", "peer_s": peer.seconds,
               "peer_runs": peer.runs, "ratio": ours.seconds / peer.seconds, "rel_diff": None}


def run(config: dict) -> Iterator[dict]:
    """The family's rows for ``config`` (``dense_sizes``, ``pot_max``, ``grid_sizes``,
    ``pairwise``: the number of point sets and their size; ``points_sizes``,
    ``points_pot_max``, ``graph_sizes``, ``graph_pot_max``)."""
    yield from dense_partial(config["dense_sizes"], config["pot_max"])
    yield from grid_unbalanced(config["grid_sizes"])
    yield from points_partial(config.get("points_sizes", []), config.get("points_pot_max", 0))
    yield from graph_partial(config.get("graph_sizes", []), config.get("graph_pot_max", 0))
    if config.get("pairwise"):
        yield from pairwise_unbalanced(*config["pairwise"])


QUICK = {"dense_sizes": [1000, 2000], "pot_max": 2000, "grid_sizes": [128, 512],
         "points_sizes": [2000, 5000], "points_pot_max": 2000,
         "graph_sizes": [1000, 10000], "graph_pot_max": 1000, "pairwise": (20, 200)}
FULL = {"dense_sizes": [1000, 2000, 4000], "pot_max": 4000, "grid_sizes": [128, 256, 512],
        "points_sizes": [4000, 10000, 20000], "points_pot_max": 4000,
        "graph_sizes": [1000, 10000, 30000], "graph_pot_max": 2000, "pairwise": (40, 200)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.workloads_unequal",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the small sizes only")
    parser.add_argument("--only", choices=["dense", "grid", "points", "graph"],
                        help="one kind of row")
    args = parser.parse_args(argv)
    config = dict(QUICK if args.quick else FULL)
    if args.only:
        keep = {"dense": "dense_sizes", "grid": "grid_sizes", "points": "points_sizes",
                "graph": "graph_sizes"}[args.only]
        for key in ("dense_sizes", "grid_sizes", "points_sizes", "graph_sizes"):
            if key != keep:
                config[key] = []
    print(f"{'case':<40} {'size':>6} {'emd [s]':>8} {'peer [s]':>9} {'ratio':>6} {'rel diff':>8}")
    for row in run(config):
        peer = "-" if row["peer_s"] is None else f"{row['peer_s']:.3f}"
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.3f}"
        rel = "-" if row["rel_diff"] is None else f"{row['rel_diff']:.0e}"
        memory = ""
        if row.get("ours_peak_mb") is not None:
            memory = (f"  peak {row['ours_peak_mb']:.0f} MB (dense matrix "
                      f"{row['dense_matrix_mb']:.0f} MB")
            if row.get("peer_peak_mb") is not None:
                memory += f", POT peak {row['peer_peak_mb']:.0f} MB"
            memory += ")"
        print(f"{row['case'][:40]:<40} {row['size']:>6} {row['ours_s']:8.3f} {peer:>9} "
              f"{ratio:>6} {rel:>8}{memory}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
