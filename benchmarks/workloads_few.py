"""Rows of the frontier family for issue 14's "n << m": a handful of points against very many.

Five (or 20, 50) random points with random weights against 40 000 to 200 000
in the unit square, Euclidean costs.  ``emd.solve_points`` computes costs on
the fly; POT's ``ot.emd2`` gets the dense cost matrix, built outside its
timing, and runs where it finishes (5 x 40 000; at 5 x 200 000 it stops at its
iteration limit with a non-optimal value, issue 14).  Every row asserts the
status ``"optimal"`` (the certificate proves the cost to 1e-9) and, beside
POT, agreement to 1e-9; the dense rows (both orientations) must agree with
the on-the-fly solve of the same points.

Run alone with ``python -m benchmarks.workloads_few [--quick]``.
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
except ImportError:  # pragma: no cover - depends on the environment
    ot = None

#: (n, m, POT runs too).
SIZES = ((5, 40_000, True), (5, 200_000, False), (20, 100_000, False), (50, 50_000, False))
QUICK_SIZES = ((5, 40_000, True), (5, 200_000, False))


def _problem(n: int, m: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x, y = rng.random((n, 2)), rng.random((m, 2))
    a, b = rng.random(n), rng.random(m)
    return x, y, a / a.sum(), b / b.sum()


def _checked(result, label: str) -> float:
    if result.status != "optimal" or not result.certificate().optimal():
        raise AssertionError(f"{label}: status {result.status}, {result.certificate()!r}")
    return result.cost


def few_sources(quick: bool = False, repeat: int = 3) -> Iterator[dict]:
    """The issue-14 "n << m" rows (family ``frontier``)."""
    for n, m, with_pot in QUICK_SIZES if quick else SIZES:
        x, y, a, b = _problem(n, m)
        label = f"{n} x {m} points"
        cost = _checked(emd.solve_points(x, y, a, b, normalize=True), label)
        ours = measure(lambda x=x, y=y, a=a, b=b: emd.solve_points(
            x, y, a, b, normalize=True).cost, repeat=repeat, budget=30)
        row = {
            "family": "frontier", "case": f"{n} vs {m} points, euclidean, solve_points",
            "size": m, "ours_s": ours.seconds, "ours_runs": ours.runs,
            "peer": None, "peer_s": None, "ratio": None, "rel_diff": None,
            "n_iter": emd.solve_points(x, y, a, b, normalize=True).n_iter,
        }
        matrix = np.sqrt(((x[:, None, :] - y[None, :, :]) ** 2).sum(axis=-1))
        if with_pot and ot is not None:
            peer = measure(lambda a=a, b=b, matrix=matrix: ot.emd2(
                a, b, matrix, numItermax=10**8), repeat=repeat, budget=60)
            rel = _rel(cost, float(peer.value))
            if rel > 1e-9:
                raise AssertionError(f"{label}: differs from ot.emd2 by {rel:.1e}")
            row.update(peer="ot.emd2 (dense matrix given)", peer_s=peer.seconds,
                       peer_runs=peer.runs, ratio=ours.seconds / peer.seconds, rel_diff=rel)
        yield row
        if n == 5:
            # The dense form, both orientations, against the on-the-fly solve.
            for case, args in (
                (f"{n} x {m} dense, emd.solve", (a, b, matrix)),
                (f"{m} x {n} dense, emd.solve", (b, a, np.ascontiguousarray(matrix.T))),
            ):
                value = _checked(emd.solve(*args, normalize=True), case)
                rel = _rel(cost, value)
                if rel > 1e-12:
                    raise AssertionError(f"{case}: differs from solve_points by {rel:.1e}")
                timing = measure(lambda args=args: emd.solve(*args, normalize=True).cost,
                                 repeat=repeat, budget=30)
                yield {
                    "family": "frontier", "case": case, "size": m,
                    "ours_s": timing.seconds, "ours_runs": timing.runs,
                    "peer": None, "peer_s": None, "ratio": None, "rel_diff": rel,
                }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.workloads_few",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="5 x 40 000 and 5 x 200 000 only")
    args = parser.parse_args(argv)
    print(f"{'case':<44} {'emd [s]':>8} {'runs':>4} {'peer [s]':>9} {'ratio':>6} {'rel diff':>8}")
    for row in few_sources(args.quick):
        peer = "-" if row["peer_s"] is None else f"{row['peer_s']:.3f}"
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.3f}"
        rel = "-" if row["rel_diff"] is None else f"{row['rel_diff']:.0e}"
        print(f"{row['case'][:44]:<44} {row['ours_s']:8.3f} {row['ours_runs']:>4} {peer:>9} "
              f"{ratio:>6} {rel:>8}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
