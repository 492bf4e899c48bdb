"""Many small problems: pairwise matrices of point sets and of histograms on a shared support.

Rows of issue 13.  The peer, ``wasserstein.PairwiseEMD`` (a LEMON-derived
network simplex with OpenMP threads), needs numpy < 2, so it runs from its own
virtual environment (``EMD_WASSERSTEIN_PYTHON``, default
``/tmp/wassvenv/bin/python``: ``python -m venv /tmp/wassvenv`` then
``/tmp/wassvenv/bin/pip install "numpy<2" wasserstein``) in a subprocess on the
same input, warm-up first and median of repeats, like every other row; when
it is missing the rows say so and carry no ratio.  Shared-support rows
compare the wall time per pair of ``emd.pairwise`` with the time spent inside
the compiled batch solve for the same pairs (the glue around it).  Grid rows time
``emd.pairwise`` of grid histograms on two threads against one thread (every
chunk of pairs one compiled, GIL-free call).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
from emd._core._pair import PairWorkspace
from scipy.spatial.distance import cdist as scipy_cdist

import emd
from emd import _certify
from emd._result import COMPILED_RTOL

from ._timing import measure

PEER_PYTHON = os.environ.get("EMD_WASSERSTEIN_PYTHON", "/tmp/wassvenv/bin/python")

_PEER_SCRIPT = textwrap.dedent("""
    import json, statistics, sys, time
    import numpy as np
    import wasserstein
    data = np.load(sys.argv[1])
    threads, repeat = int(sys.argv[2]), int(sys.argv[3])
    offsets = data["offsets"]
    events = [np.ascontiguousarray(np.column_stack([data["w"][a:b], data["x"][a:b]]))
              for a, b in zip(offsets[:-1], offsets[1:])]
    def run():
        pemd = wasserstein.PairwiseEMD(R=100.0, beta=1.0, norm=True, num_threads=threads,
                                       verbose=0, print_every=0)
        pemd(events)
        return pemd.emds()
    run()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        matrix = run()
        samples.append(time.perf_counter() - start)
    print(json.dumps({"seconds": statistics.median(samples), "d01": float(matrix[0, 1])}))
""")


def peer_available() -> bool:
    if not Path(PEER_PYTHON).exists():
        return False
    probe = subprocess.run([PEER_PYTHON, "-c", "import wasserstein"], capture_output=True)
    return probe.returncode == 0


def _peer(sets, threads: int, repeat: int) -> dict | None:
    if not peer_available():
        return None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sets.npz"
        offsets = np.concatenate([[0], np.cumsum([len(w) for _, w in sets])])
        np.savez(path, x=np.concatenate([x for x, _ in sets]),
                 w=np.concatenate([w for _, w in sets]), offsets=offsets)
        script = Path(folder) / "peer.py"
        script.write_text(_PEER_SCRIPT)
        out = subprocess.run([PEER_PYTHON, str(script), str(path), str(threads), str(repeat)],
                             capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def _point_sets(n_sets: int, size: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    sets = []
    for _ in range(n_sets):
        w = rng.random(size)
        sets.append((rng.random((size, 2)), w / w.sum()))
    return sets


def point_rows(n_sets: int, size: int, threads: int, repeat: int = 3) -> dict:
    sets = _point_sets(n_sets, size)
    ours = measure(lambda: emd.pairwise(sets, n_jobs=threads, return_status=True),
                   repeat=repeat, budget=60)
    matrix, ok = ours.value
    peer = _peer(sets, threads, repeat)
    row = {"family": "pairs", "case": f"{n_sets} sets x {size} points, {threads} thread(s)",
           "size": n_sets * (n_sets - 1) // 2, "ours_s": ours.seconds,
           "peer": "wasserstein.PairwiseEMD", "peer_s": None, "ratio": None, "rel_diff": None,
           "certified": bool(ok.all())}
    if peer is None:
        row["peer"] = f"wasserstein missing ({PEER_PYTHON})"
    else:
        row["peer_s"] = peer["seconds"]
        row["ratio"] = ours.seconds / peer["seconds"]
        row["rel_diff"] = abs(100.0 * peer["d01"] - matrix[0, 1]) / matrix[0, 1]
        # The peer reports distances divided by its radius R (100).
        row["agree"] = bool(abs(100.0 * peer["d01"] - matrix[0, 1]) <= 1e-6 * matrix[0, 1])
    return row


def shared_rows(n_bins: int, n_hists: int, repeat: int = 3) -> dict:
    rng = np.random.default_rng(1)
    positions = rng.random((n_bins, 2))
    hists = rng.random((n_hists, n_bins))
    hists /= hists.sum(axis=1, keepdims=True)
    cost = np.ascontiguousarray(scipy_cdist(positions, positions))
    wall = measure(lambda: emd.pairwise(list(hists), cost=cost, n_jobs=1), repeat=repeat,
                   budget=60)
    rows, cols = np.triu_indices(n_hists, 1)
    pairs = np.ascontiguousarray(np.stack([rows, cols], axis=1), dtype=np.intp)
    # The compiled solve alone, on the same pairs (balanced first, outside the clock).
    balanced = [_certify.balance_exactly(hists[i], hists[j]) for i, j in pairs]
    left = np.ascontiguousarray([a for a, _ in balanced])
    right = np.ascontiguousarray([b for _, b in balanced])
    own = np.ascontiguousarray(np.stack([np.arange(len(pairs))] * 2, axis=1), dtype=np.intp)
    ws = PairWorkspace()

    def inside():
        return ws.batch_dense(cost, left, right, own, 1.0, 10**6, COMPILED_RTOL)

    solve = measure(inside, repeat=repeat, budget=60)
    threads = measure(lambda: emd.pairwise(list(hists), cost=cost, n_jobs=2), repeat=repeat,
                      budget=60)
    # ours_s: wall per pair of emd.pairwise (1 thread); peer_s: the compiled solve alone.
    return {"family": "pairs", "case": f"shared support {n_bins} bins x {n_hists}: glue",
            "size": len(pairs), "ours_s": wall.seconds / len(pairs),
            "peer": "compiled batch solve alone", "peer_s": solve.seconds / len(pairs),
            "ratio": wall.seconds / solve.seconds, "rel_diff": 0.0,
            "threads_speedup": wall.seconds / threads.seconds,
            "agree": bool((wall.value[rows, cols] == solve.value[0]).all())}


def grid_rows(size: int, metric: str, L: int | None, n_hists: int, repeat: int = 3) -> dict:
    """``emd.pairwise`` of grid histograms on 2 threads against 1 thread (the ratio is the
    speed-up), and the time of a pair's compiled certificate check, alone and as a share
    of the pair's time in the compiled batch."""
    from emd._core._grid import GridWorkspace

    from emd.structured import _grid

    rng = np.random.default_rng(2)
    hists = [h / h.sum() for h in rng.random((n_hists, size, size))]
    one = measure(lambda: emd.pairwise(hists, metric=metric, L=L, n_jobs=1,
                                       return_status=True), repeat=repeat, budget=60)
    two = measure(lambda: emd.pairwise(hists, metric=metric, L=L, n_jobs=2,
                                       return_status=True), repeat=repeat, budget=60)
    matrix, ok = one.value
    single = emd.solve_grid(hists[0], hists[1], metric=metric, L=L).cost
    plan = _grid.GridSolver((size, size), metric, 1.0, L).graph.plan()
    flat = np.stack([h.ravel() for h in hists])
    rows, cols = np.triu_indices(n_hists, 1)
    pairs = np.ascontiguousarray(np.stack([rows, cols], axis=1), dtype=np.intp)
    ws = GridWorkspace(plan)
    checked = measure(lambda: ws.batch(flat, flat, pairs, -1, COMPILED_RTOL),
                      repeat=repeat, budget=60)
    # The check alone, on the tree of the last pair the batch solved.
    alone = measure(lambda: ws.certify(COMPILED_RTOL), repeat=20, budget=10)
    case = f"grid {size}x{size} {metric}" + (f" L={L}" if L else "") + f", {n_hists} hists"
    return {"family": "pairs", "case": f"{case}: 2 threads vs 1",
            "size": len(pairs), "ours_s": two.seconds, "peer": "the same on 1 thread",
            "peer_s": one.seconds, "ratio": two.seconds / one.seconds, "rel_diff": 0.0,
            "threads_speedup": one.seconds / two.seconds,
            "certificate_s": alone.seconds,
            "certificate_share": alone.seconds * len(pairs) / checked.seconds,
            "certified": bool(ok.all()),
            "agree": bool((two.value[0] == matrix).all() and matrix[0, 1] == single)}


def dense_rows(sizes=(1000, 4000)) -> list[dict]:
    out = []
    for n in sizes:
        rng = np.random.default_rng(0)
        x, y = rng.random((n, 2)), rng.random((n, 2))
        a, b = rng.random(n), rng.random(n)
        cost = np.ascontiguousarray(scipy_cdist(x, y))
        timing = measure(lambda a=a, b=b, cost=cost: emd.solve(a, b, cost, normalize=True),
                         repeat=3, budget=30)
        out.append({"family": "pairs", "case": "emd.solve, dense (no regression)", "size": n,
                    "ours_s": timing.seconds, "peer": None, "peer_s": None, "ratio": None,
                    "rel_diff": None})
    return out


def run(config: dict):
    """Yield the rows of issue 13 (a config may shrink them: ``{"quick": True}``)."""
    quick = config.get("quick", False)
    cases = [(60, 150, 1), (60, 150, 2), (300, 30, 2), (20, 1000, 2)]
    if quick:
        cases = [(20, 50, 1), (20, 50, 2)]
    for n_sets, size, threads in cases:
        yield point_rows(n_sets, size, threads)
    for n_bins, n_hists in ([(64, 60)] if quick else [(64, 500), (1000, 50)]):
        yield shared_rows(n_bins, n_hists)
    grids = [(32, "cityblock", None, 8)] if quick else [
        (64, "cityblock", None, 10), (96, "euclidean", 3, 6), (128, "chebyshev", None, 5)]
    for size, metric, L, n_hists in grids:
        yield grid_rows(size, metric, L, n_hists)
    yield from dense_rows((1000,) if quick else (1000, 4000))


if __name__ == "__main__":
    for row in run({"quick": "--quick" in os.sys.argv}):
        print(json.dumps(row), flush=True)
        time.sleep(0)
