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

Run alone with ``python -m benchmarks.workloads_unequal [--quick]``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator

import numpy as np

import emd

from ._timing import measure
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


def run(config: dict) -> Iterator[dict]:
    """The family's rows for ``config`` (``dense_sizes``, ``pot_max``, ``grid_sizes``,
    ``pairwise``: the number of point sets and their size)."""
    yield from dense_partial(config["dense_sizes"], config["pot_max"])
    yield from grid_unbalanced(config["grid_sizes"])
    if config.get("pairwise"):
        yield from pairwise_unbalanced(*config["pairwise"])


QUICK = {"dense_sizes": [1000, 2000], "pot_max": 2000, "grid_sizes": [128, 512],
         "pairwise": (20, 200)}
FULL = {"dense_sizes": [1000, 2000, 4000], "pot_max": 4000, "grid_sizes": [128, 256, 512],
        "pairwise": (40, 200)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.workloads_unequal",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the small sizes only")
    args = parser.parse_args(argv)
    print(f"{'case':<40} {'size':>6} {'emd [s]':>8} {'peer [s]':>9} {'ratio':>6} {'rel diff':>8}")
    for row in run(QUICK if args.quick else FULL):
        peer = "-" if row["peer_s"] is None else f"{row['peer_s']:.3f}"
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.3f}"
        rel = "-" if row["rel_diff"] is None else f"{row['rel_diff']:.0e}"
        print(f"{row['case'][:40]:<40} {row['size']:>6} {row['ours_s']:8.3f} {peer:>9} "
              f"{ratio:>6} {rel:>8}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
