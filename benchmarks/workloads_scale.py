"""Workloads beyond one call: exact nearest neighbours, and matrices on disk that survive a kill.

Rows as in :mod:`benchmarks.workloads`: ``ours`` is the scaled method, ``peer`` the
brute-force or uninterrupted run it replaces, timed in the same process (or,
for the kill-and-resume row, in child processes started the same way), with
the answers compared bit for bit before any time is reported.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

import emd
from emd._store import default_block

from ._timing import measure

ROOT = str(Path(emd.__file__).resolve().parents[1])


def _brute_force(matrix: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    columns = np.broadcast_to(np.arange(matrix.shape[1]), matrix.shape)
    order = np.lexsort((columns, matrix), axis=1)[:, :k]
    return order, np.take_along_axis(matrix, order, axis=1)


def _knn_row(case, size, queries, database, k, **kwargs) -> dict:
    ours = measure(lambda: emd.knn(queries, database, k=k, n_jobs=1, **kwargs), repeat=3,
                   budget=20)
    peer = measure(lambda: emd.cdist(queries, database, n_jobs=1, **kwargs), repeat=1, budget=60)
    result, (indices, distances) = ours.value, _brute_force(peer.value, k)
    identical = bool((result.indices == indices).all()
                     and result.distances.tobytes() == distances.tobytes())
    if not identical:
        raise AssertionError(f"{case}: knn differs from brute force")
    return {
        "family": "scale", "case": case, "size": size, "ours_s": ours.seconds,
        "ours_runs": ours.runs, "peer": "brute force (emd.cdist)", "peer_s": peer.seconds,
        "peer_runs": peer.runs, "ratio": ours.seconds / peer.seconds, "rel_diff": 0.0,
        "identical": identical, "exact_solves": result.n_solves, "brute_solves": result.n_pairs,
        "fewer_solves": result.n_pairs / result.n_solves,
        "coarse_solves": result.n_bound_solves,
    }


def knn_digits(n_queries: int = 50, k: int = 5) -> Iterator[dict]:
    """scikit-learn's 1797 bundled 8 x 8 digits as grids: 50 held-out queries, k = 5."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        print("scale: scikit-learn is not installed: no digits row (pip install scikit-learn)")
        return
    images = load_digits().images
    images = images / images.sum(axis=(1, 2), keepdims=True)
    rng = np.random.default_rng(0)
    picked = rng.choice(len(images), size=n_queries, replace=False)
    rest = np.setdiff1d(np.arange(len(images)), picked)
    yield _knn_row(f"knn digits 8x8, {n_queries} queries vs {len(rest)}, k={k}", len(rest),
                   images[picked], images[rest], k)


def knn_shared(n_points=64, n_hists=500, n_queries=20, k=10) -> Iterator[dict]:
    """Histograms on 64 shared random points, each concentrated around its own centre."""
    rng = np.random.default_rng(1)
    positions = rng.random((n_points, 2))

    def blobs(count):
        centres = rng.random((count, 2))
        weights = np.exp(-((positions[None] - centres[:, None]) ** 2).sum(axis=2) / 0.02)
        return weights / weights.sum(axis=1, keepdims=True)

    database, queries = blobs(n_hists), blobs(n_queries)
    yield _knn_row(f"knn shared support {n_points} pts, {n_queries} queries, k={k}", n_hists,
                   queries, database, k, positions=positions)


_CHILD = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[1])
    import numpy as np
    import emd
    rng = np.random.default_rng(2)
    hists = rng.random((int(sys.argv[3]), 16, 16)) + 1e-3
    emd.pairwise(list(hists), normalize=True, out=sys.argv[2], resume=True, n_jobs=2)
""")


def _child(path: Path, n: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _CHILD, ROOT, str(path), str(n)])


def pairwise_resume(n_grids: int = 2000) -> Iterator[dict]:
    """pairwise(out=) of 16 x 16 grids killed (SIGKILL) half way and resumed, against one run."""
    with tempfile.TemporaryDirectory() as folder:
        whole, broken = Path(folder) / "whole.npy", Path(folder) / "broken.npy"
        # Uninterrupted runs before and after the interrupted one: on a shared
        # machine their mean is the fairer reference.
        start = time.perf_counter()
        _child(whole, n_grids).wait()
        before = time.perf_counter() - start
        blocks = -(-n_grids // default_block(n_grids, n_grids))
        half = blocks * (blocks + 1) // 4
        record = Path(str(broken) + ".progress")
        start = time.perf_counter()
        first = _child(broken, n_grids)
        while first.poll() is None:
            if record.exists() and len(record.read_text().splitlines()) > half:
                first.send_signal(signal.SIGKILL)
                break
            time.sleep(0.02)
        first.wait()
        kept = len(record.read_text().splitlines()) - 1
        _child(broken, n_grids).wait()
        resumed = time.perf_counter() - start
        identical = np.load(whole).tobytes() == np.load(broken).tobytes()
        whole.unlink()
        Path(str(whole) + ".progress").unlink()
        start = time.perf_counter()
        _child(whole, n_grids).wait()
        after = time.perf_counter() - start
        identical = identical and np.load(whole).tobytes() == np.load(broken).tobytes()
        uninterrupted = (before + after) / 2
    if not identical:
        raise AssertionError("the resumed matrix differs from the uninterrupted one")
    pairs = n_grids * (n_grids - 1) // 2
    yield {
        "family": "scale", "case": f"pairwise out= {n_grids} grids 16x16, killed, resumed",
        "size": n_grids, "ours_s": resumed, "ours_runs": 1, "peer": "uninterrupted run",
        "peer_s": uninterrupted, "peer_runs": 1, "ratio": resumed / uninterrupted,
        "rel_diff": 0.0, "identical": identical, "pairs": pairs,
        "blocks_kept_at_kill": kept, "blocks": blocks * (blocks + 1) // 2,
        "uninterrupted_before_s": before, "uninterrupted_after_s": after,
    }


_MEMORY_CHILD = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[1])
    import numpy as np
    import emd
    rng = np.random.default_rng(3)
    side = int(sys.argv[4])
    hists = rng.random((int(sys.argv[3]), side, side)) + 1e-3
    hists /= hists.sum(axis=(1, 2), keepdims=True)
    print("ready", flush=True)
    emd.pairwise(list(hists), out=sys.argv[2], n_jobs=2)
""")


def _rss_anon(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return 0


def pairwise_memory(n: int = 20000, seconds: float = 60.0, side: int = 16) -> Iterator[dict]:
    """RssAnon of pairwise(out=) for an n x n output, sampled while it runs.

    Solving all n (n - 1) / 2 pairs takes hours on a small machine, so the run
    is stopped after ``seconds``; the blocks done by then and the memory
    samples over time show whether anonymous memory grows with the work done.
    Smaller grids (``side``) make the solves cheap, so that many blocks pass.
    """
    if not Path("/proc/self/status").exists():
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "D.npy"
        child = subprocess.Popen([sys.executable, "-c", _MEMORY_CHILD, ROOT, str(path), str(n),
                                  str(side)],
                                 stdout=subprocess.PIPE, text=True)
        child.stdout.readline()
        inputs = _rss_anon(child.pid)  # the histograms, numpy and emd: before any block
        samples = []
        start = time.perf_counter()
        while child.poll() is None and time.perf_counter() - start < seconds:
            samples.append((time.perf_counter() - start, _rss_anon(child.pid)))
            time.sleep(0.1)
        child.send_signal(signal.SIGKILL)
        child.wait()
        record = Path(str(path) + ".progress")
        blocks = len(record.read_text().splitlines()) - 1 if record.exists() else 0
    per_side = -(-n // default_block(n, n))
    total_blocks = per_side * (per_side + 1) // 2
    peak = max(rss for _, rss in samples)
    elapsed = samples[-1][0] if samples else 0.0
    quarter = [max((rss for t, rss in samples if t <= elapsed * f), default=0)
               for f in (0.25, 0.5, 1.0)]
    yield {
        "family": "scale",
        "case": f"out= {n}^2, {side}x{side}: RssAnon {peak / 2**20:.0f} MB",
        "size": n, "ours_s": None, "peer": None, "peer_s": None, "ratio": None, "rel_diff": None,
        "rss_anon_peak_mb": peak / 2**20, "rss_anon_before_blocks_mb": inputs / 2**20,
        "rss_anon_at_25_50_100_percent_of_run_mb": [q / 2**20 for q in quarter],
        "blocks_done": blocks, "blocks_total": total_blocks,
        "hours_for_all_blocks_at_this_rate": (elapsed * total_blocks / max(blocks, 1)) / 3600,
    }


def run(config: dict) -> Iterator[dict]:
    yield from knn_digits()
    yield from knn_shared()
    yield from pairwise_resume(config["resume_grids"])
    yield from pairwise_memory(config["memory_n"], config["memory_seconds"])
    # Tiny grids solve fast enough for a large part of the 20000 x 20000 matrix.
    yield from pairwise_memory(config["memory_n"], config["memory_seconds"], side=2)


__all__ = ["knn_digits", "knn_shared", "pairwise_memory", "pairwise_resume", "run"]
