"""Grid rows at the frontier of issue 14, beside the Spatial-KWD yardstick.

Spatial-KWD (Bassetti, Gualandi & Veneroni's network simplex with column
generation) does not install on Python 3.11, so it is not run here: its times,
measured earlier on the project's 2-core machine and quoted in issue 14, are
printed beside ours as a yardstick, with the issue's target.  Every answer is
checked before its time is reported: against the all-arcs solve of the same
graph (Euclidean rows, which column generation solves on a growing subgraph),
against POT's ``ot.emd2`` on the graph's shortest-path ground cost (32 x 32
rows), and by its dual certificate on every row (the potential is feasible on
every arc of the full graph and its dual value equals the cost).

Run alone with ``python -m benchmarks.workloads_grid_frontier [--quick]``.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterator

import numpy as np

from emd import _certify
from emd.structured import _grid

from ._timing import fingerprint, measure
from .workloads import _rel, test_image

try:
    import ot
except ImportError:  # pragma: no cover - depends on the environment
    ot = None

#: Spatial-KWD's times (s) on this machine and the issue's targets (s).
#: Keys: (kind, size, metric, L).
YARDSTICK = {
    ("photographs", 64, "euclidean", 3): ("0.23-0.29", 0.15),
    ("photographs", 128, "euclidean", 3): ("2.6-2.9", 1.3),
    ("white noise", 128, "euclidean", 3): ("1.3", 0.65),
    ("photographs", 256, "euclidean", 3): ("28.7", 10.0),
    ("photographs", 64, "euclidean", 10): ("0.55", 0.55),
    ("photographs", 128, "euclidean", 10): ("4.2-6.6", 4.2),
    ("white noise", 64, "euclidean", 10): ("0.24", 0.25),
    ("white noise", 128, "euclidean", 10): ("1.5", 1.5),
    ("white noise", 512, "cityblock", None): ("-", 20.0),
    ("photographs", 512, "cityblock", None): ("-", 10.0),
    ("photo-like", 512, "cityblock", None): ("-", 10.0),
}

#: Pairs of different photographs from ``skimage.data`` (grey, resized).
PHOTO_PAIRS = (("camera", "moon"), ("coins", "astronaut"))

PEER = "Spatial-KWD, issue 14 (not rerun)"


def photograph(name: str, size: int) -> np.ndarray | None:
    """A grey ``skimage.data`` photograph resized to ``size`` x ``size``, mass 1 (None
    without scikit-image)."""
    try:
        from skimage import color, data, transform
    except ImportError:
        return None
    image = getattr(data, name)()
    if image.ndim == 3:
        image = color.rgb2gray(image)
    image = transform.resize(image.astype(np.float64), (size, size), anti_aliasing=True)
    image = np.clip(image, 0.0, None)
    return image / image.sum()


def _pairs(kind: str, size: int, n_pairs: int):
    if kind == "photo-like":  # the generated class of the main grid rows
        yield "seeds 1/2", test_image(kind, size, 1), test_image(kind, size, 2)
        return
    if kind == "white noise":
        for seed in range(n_pairs):
            rng = np.random.default_rng(seed)
            a, b = rng.random((size, size)), rng.random((size, size))
            yield f"seeds {2 * seed}/{2 * seed + 1}", a / a.sum(), b / b.sum()
        return
    for first, second in PHOTO_PAIRS[:n_pairs]:
        a, b = photograph(first, size), photograph(second, size)
        if a is None:  # no scikit-image: the generated photograph-like class
            yield "photo-like (no skimage)", test_image("photo-like", size, 1), test_image(
                "photo-like", size, 2)
            return
        yield f"{first}/{second}", a, b


def certificate_gap(graph, supply: np.ndarray, potential: np.ndarray, cost: float) -> float:
    """Largest violation of the dual certificate, relative to the magnitudes involved.

    Checks ``f[tail] - f[head] <= c`` on every arc of the full graph (the
    kernel's pricing tolerance, ``PRICING_RTOL`` of ``c + |f[tail]| + |f[head]|``,
    is the scale) and ``sum(supply * f) == cost`` (relative to the cost).
    """
    f = potential
    worst = 0.0
    for q in range(len(graph.offsets)):
        if graph.start[q + 1] == graph.start[q]:
            continue
        src, dst = graph._slices(q)
        tail, head = f[src], f[dst]
        length = graph.lengths[q]
        excess = (tail - head - length) / (length + np.abs(tail) + np.abs(head))
        worst = max(worst, float(excess.max()))
    dual = math.fsum((supply * f).ravel())
    return max(worst, abs(dual - cost) / max(abs(cost), 1e-300))


def _graph_cost_matrix(graph) -> np.ndarray:
    """Shortest-path distances of the grid graph: the ground cost it solves exactly."""
    import scipy.sparse
    from scipy.sparse import csgraph

    n = math.prod(graph.shape)
    tails, heads, costs = graph.arcs()
    adjacency = scipy.sparse.coo_array((costs, (tails, heads)), shape=(n, n)).tocsr()
    return csgraph.shortest_path(adjacency, method="D", directed=True)


def frontier(quick: bool = False, repeat: int = 3, n_pairs: int = 2) -> Iterator[dict]:
    """The issue-14 grid rows; ``quick`` keeps the sizes up to 64."""
    rows = [key for key in YARDSTICK if not quick or key[1] <= 64]
    checks = [("white noise", 32, "cityblock", None), ("white noise", 32, "euclidean", 3),
              ("white noise", 32, "euclidean", 10), ("photographs", 32, "euclidean", 10)]
    for kind, size, metric, L in checks + rows:
        solver = _grid.GridSolver((size, size), metric, 1.0, L)
        graph = solver.graph
        yardstick, target = YARDSTICK.get((kind, size, metric, L), ("-", None))
        # The big rows take seconds each: one pair, fewer repeats.
        pairs = 1 if size >= 256 else n_pairs
        for label, a, b in _pairs(kind, size, pairs):
            # What emd.solve_grid solves: the totals balanced exactly first.
            flat_a, flat_b = _certify.balance_exactly(a.ravel(), b.ravel())
            supply = (flat_a - flat_b).reshape(a.shape)
            result = solver.solve_pair(flat_a, flat_b)
            gap = certificate_gap(graph, supply, result.potential, result.cost)
            if not (result.converged and gap <= 1e-9):
                raise AssertionError(f"{kind} {size} {metric}: certificate gap {gap:.1e}")
            if size == 32 and ot is not None:
                check = "ot.emd2"
                reference = float(ot.emd2(a.ravel(), b.ravel(), _graph_cost_matrix(graph),
                                          numItermax=10**9))
            elif graph.column_generation:
                check = "all-arcs"
                full = _grid._solve_on_grid(supply, graph, None, all_arcs=True)
                reference = full[-1].cost()
            else:
                check, reference = "certificate", result.cost
            rel_diff = _rel(result.cost, reference)
            if rel_diff > (1e-9 if check == "ot.emd2" else 1e-12):
                raise AssertionError(f"{kind} {size} {metric}: differs from {check} by {rel_diff}")
            pair = (flat_a, flat_b)
            timing = measure(lambda solver=solver, pair=pair: solver.solve_pair(*pair).cost,
                             repeat=repeat if size < 512 else 1, budget=60)
            case = f"{kind} {label}, {metric}" + (f" L={L}" if L else "")
            # The ratio is taken against Spatial-KWD's fastest measured time.
            yardstick_s = None if yardstick == "-" else float(yardstick.split("-")[0])
            yield {
                "family": "frontier", "case": case, "size": size,
                "ours_s": timing.seconds, "ours_runs": timing.runs,
                "answer": fingerprint(timing.value),
                "peer": PEER if yardstick_s else None, "peer_s": yardstick_s,
                "ratio": timing.seconds / yardstick_s if yardstick_s else None,
                "rel_diff": rel_diff, "check": check, "certificate_gap": gap,
                "yardstick": yardstick, "target_s": target, "n_iter": result.n_iter,
            }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.workloads_grid_frontier",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="sizes up to 64 only")
    parser.add_argument("--pairs", type=int, default=2, help="image pairs per row (1 or 2)")
    args = parser.parse_args(argv)
    print(f"{'case':<46} {'size':>5} {'emd [s]':>8} {'runs':>4} {'Spatial-KWD [s]':>15} "
          f"{'target [s]':>10} {'check':>11} {'rel diff':>8} {'cert':>8} {'pivots':>8}")
    for row in frontier(args.quick, n_pairs=args.pairs):
        target = "-" if row["target_s"] is None else f"{row['target_s']:.2f}"
        print(f"{row['case'][:46]:<46} {row['size']:>5} {row['ours_s']:8.3f} "
              f"{row['ours_runs']:>4} {row['yardstick']:>15} {target:>10} {row['check']:>11} "
              f"{row['rel_diff']:8.0e} {row['certificate_gap']:8.0e} {row['n_iter']:>8}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
