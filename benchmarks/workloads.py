"""The benchmark workloads: each times emd and its peer on the same input in the same run.

Every workload yields rows ``{"family", "case", "size", "ours_s", "peer", "peer_s",
"ratio", "rel_diff", ...}``; ``ratio`` is ours / peer (below 1: we are faster)
and ``rel_diff`` the relative difference of the two answers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import numpy as np

import emd

from ._timing import Timing, fingerprint, measure, peak_memory

try:  # POT is the reference peer; the suite still runs (ours only) without it.
    import ot
except ImportError:  # pragma: no cover - depends on the environment
    ot = None


# From this size on, dense and on-the-fly rows also time every core (n_jobs=-1).
THREADED_FROM = 2000


def _cores() -> int:
    return os.cpu_count() or 1


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def _clouds(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x, y = rng.random((n, 2)), rng.random((n, 2))
    a, b = rng.random(n), rng.random(n)
    return x, y, a / a.sum(), b / b.sum()


def _row(family, case, size, ours, peer_name=None, peer=None, **extra) -> dict:
    row = {
        "family": family, "case": case, "size": size,
        "ours_s": ours.seconds, "ours_runs": ours.runs, "answer": fingerprint(ours.value),
        "peer": peer_name, "peer_s": None, "ratio": None, "rel_diff": None,
    }
    if peer is not None:
        row.update(
            peer_s=peer.seconds, peer_runs=peer.runs, ratio=ours.seconds / peer.seconds,
            rel_diff=_rel(float(ours.value), float(peer.value)),
        )
    row.update(extra)
    return row


def dense(sizes) -> Iterator[dict]:
    """emd.solve vs ot.emd2 (and scipy's LP for small n) on the same Euclidean cost matrix."""
    from scipy.spatial.distance import cdist
    from scipy.stats import wasserstein_distance_nd

    for n in sizes:
        x, y, a, b = _clouds(n)
        cost = cdist(x, y)
        ours = measure(lambda a=a, b=b, cost=cost: emd.solve(a, b, cost).cost)
        # Every core shares the pricing passes (same answer); POT's emd2 stays on one.
        threaded = measure(
            lambda a=a, b=b, cost=cost: emd.solve(a, b, cost, n_jobs=-1).cost
        ) if n >= THREADED_FROM else None
        if ot is not None:
            peer = measure(lambda a=a, b=b, cost=cost: ot.emd2(a, b, cost, numItermax=10**9))
            yield _row("dense", "2-D clouds, random weights", n, ours, "ot.emd2", peer)
            if threaded is not None:
                yield _row("dense", f"2-D clouds, random weights, n_jobs={_cores()}", n,
                           threaded, "ot.emd2", peer)
        if n <= 250:
            scipy_peer = measure(
                lambda x=x, y=y, a=a, b=b: wasserstein_distance_nd(x, y, a, b), repeat=1
            )
            yield _row("dense", "2-D clouds, random weights", n, ours,
                       "scipy.stats.wasserstein_distance_nd", scipy_peer)


#: Calls per timed run of a small solve: one call is about 0.1 ms, near the clock's noise.
SMALL_CALLS = 200


def small(sizes) -> Iterator[dict]:
    """emd.solve vs ot.emd2 on small problems, called one after another as a loop over many
    would: the time per call, Python around the solver included."""
    from scipy.spatial.distance import cdist

    def per_call(solve):
        def run():
            for _ in range(SMALL_CALLS):
                value = solve()
            return value

        timing = measure(run, repeat=7)
        return Timing(timing.seconds / SMALL_CALLS, timing.runs, timing.warmup, timing.value)

    for n in sizes:
        x, y, a, b = _clouds(n)
        cost = cdist(x, y)
        ours = per_call(lambda a=a, b=b, cost=cost: emd.solve(a, b, cost).cost)
        if ot is not None:
            peer = per_call(lambda a=a, b=b, cost=cost: ot.emd2(a, b, cost, numItermax=10**9))
            yield _row("dense", "2-D clouds, random weights, per call of a loop", n, ours,
                       "ot.emd2", peer)


#: Costs under which many plans are optimal (issue 14): rows beside the random clouds.
DEGENERATE_COSTS = {
    "all-zero": lambda i, j: 0.0 * (i + j),
    "constant": lambda i, j: 0.0 * (i + j) + 3.0,
    "i + j": lambda i, j: (i + j).astype(float),
    "row-constant": lambda i, j: i + 0.0 * j,
}


def degenerate(sizes) -> Iterator[dict]:
    """emd.solve vs ot.emd2 on costs whose every plan, or most of them, is optimal."""
    for n in sizes:
        _, _, a, b = _clouds(n)
        i, j = np.meshgrid(np.arange(n, dtype=float), np.arange(n, dtype=float),
                           indexing="ij")
        for name, make in DEGENERATE_COSTS.items():
            cost = np.ascontiguousarray(make(i, j))
            ours = measure(lambda a=a, b=b, cost=cost: emd.solve(a, b, cost).cost)
            peer = None if ot is None else measure(
                lambda a=a, b=b, cost=cost: ot.emd2(a, b, cost, numItermax=10**9))
            yield _row("dense", f"degenerate costs: {name}", n, ours,
                       None if peer is None else "ot.emd2", peer)


def lazy(sizes, pot_max: int) -> Iterator[dict]:
    """emd.solve_points vs ot.emd2_lazy: costs on the fly, with peak memory."""
    for n in sizes:
        x, y, a, b = _clouds(n, seed=1)

        def ours_fn(x=x, y=y, a=a, b=b):
            return emd.solve_points(x, y, a, b, metric="euclidean").cost

        ours = measure(ours_fn, repeat=3)
        extra = {"ours_peak_mb": _mb(peak_memory(ours_fn)), "dense_matrix_mb": 8 * n * n / 2**20}
        if n >= THREADED_FROM:
            # The same solve with every core sharing the pricing passes (same answer).
            extra["ours_all_cores_s"] = measure(
                lambda x=x, y=y, a=a, b=b: emd.solve_points(x, y, a, b, n_jobs=-1).cost,
                repeat=3,
            ).seconds
            extra["cores"] = _cores()
        if ot is not None and n <= pot_max:
            def peer_fn(x=x, y=y, a=a, b=b):
                return ot.emd2_lazy(x, y, a, b, metric="euclidean", numItermax=10**9,
                                    return_matrix=False)

            peer = measure(peer_fn, repeat=3)
            extra["peer_peak_mb"] = _mb(peak_memory(peer_fn))
            yield _row("lazy", "2-D clouds, euclidean", n, ours, "ot.emd2_lazy", peer, **extra)
        else:
            yield _row("lazy", "2-D clouds, euclidean", n, ours, **extra)


def _mb(value):
    return None if value is None else value / 2**20


def test_image(kind: str, size: int, seed: int) -> np.ndarray:
    """DOTmark-style image classes, generated in code (no downloads)."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    if kind == "white noise":
        image = rng.random((size, size))
    elif kind == "gaussian field":
        image = np.exp(ndimage.gaussian_filter(rng.normal(size=(size, size)), size / 12) * size / 8)
    elif kind == "shapes":
        yy, xx = np.mgrid[0:size, 0:size] / size
        image = np.full((size, size), 1e-3)
        for _ in range(4):
            cx, cy, r = rng.random(3) * [0.8, 0.8, 0.2] + [0.1, 0.1, 0.05]
            image[(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] += rng.random() + 0.5
    elif kind == "photo-like":
        yy, xx = np.mgrid[0:size, 0:size] / size
        image = (1.2 + np.sin(6 * xx + 3 * rng.random()) * np.cos(4 * yy) + (xx > 0.6) * 0.8
                 + 0.2 * ndimage.gaussian_filter(rng.random((size, size)), 1.5))
    else:
        raise ValueError(kind)
    image = np.clip(image, 0, None)
    return image / image.sum()


def grids(sizes, kinds, metrics, pot_max: int) -> Iterator[dict]:
    """emd.wasserstein_grid vs ot.emd2 on the full bins x bins cost matrix (while it fits)."""
    from scipy.spatial.distance import cdist

    for size in sizes:
        coords = np.stack(np.unravel_index(np.arange(size * size), (size, size)), 1).astype(float)
        for kind in kinds:
            a, b = test_image(kind, size, 1), test_image(kind, size, 2)
            for metric in metrics:
                def ours_fn(a=a, b=b, metric=metric):
                    return emd.wasserstein_grid(a, b, metric=metric)

                ours = measure(ours_fn, repeat=3, budget=30)
                # wasserstein_grid's default L = 3 for the Euclidean graph.
                bound = emd.structured.euclidean_offsets(3)[1] if metric == "euclidean" else 0.0
                extra = {"rel_error_bound": bound}
                if size >= 256:
                    extra["ours_peak_mb"] = _mb(peak_memory(ours_fn))
                if ot is not None and size <= pot_max:
                    cost = cdist(coords, coords, metric)
                    peer = measure(
                        lambda a=a, b=b, cost=cost: ot.emd2(a.ravel(), b.ravel(), cost,
                                                            numItermax=10**9),
                        repeat=3, budget=30,
                    )
                    row = _row("grid", f"{kind}, {metric}", size, ours, "ot.emd2 (full matrix)",
                               peer, **extra)
                    # Euclidean on the sparse graph is an upper bound within its bound.
                    if metric == "euclidean":
                        exact = peer.value
                        row["within_bound"] = bool(
                            exact * (1 - 1e-9) <= ours.value <= exact * (1 + bound) + 1e-12
                        )
                    yield row
                else:
                    yield _row("grid", f"{kind}, {metric}", size, ours, **extra)


def onedim(sizes) -> Iterator[dict]:
    """emd.wasserstein_1d vs scipy and POT, with numpy's sort of the same data as the floor."""
    from scipy.stats import wasserstein_distance

    for n in sizes:
        rng = np.random.default_rng(3)
        u, v = rng.normal(size=n), rng.normal(0.5, 1.2, size=n)
        both = np.concatenate([u, v])
        ours = measure(lambda u=u, v=v: emd.wasserstein_1d(u, v))
        floor = measure(lambda both=both: np.sort(both))
        scipy_peer = measure(lambda u=u, v=v: wasserstein_distance(u, v))
        yield _row("1-D", "normal samples", n, ours, "scipy.stats.wasserstein_distance",
                   scipy_peer, sort_floor_s=floor.seconds)
        if ot is not None:
            pot_peer = measure(lambda u=u, v=v: ot.wasserstein_1d(u, v, p=1))
            yield _row("1-D", "normal samples", n, ours, "ot.wasserstein_1d", pot_peer,
                       sort_floor_s=floor.seconds)


def pairwise(n_hists: int, size: int, dask: bool) -> Iterator[dict]:
    """100 grid histograms: 2 threads against 1, and a Dask local cluster against the pool."""
    hists = [test_image("gaussian field", size, seed) for seed in range(n_hists)]
    pairs = n_hists * (n_hists - 1) // 2
    one = measure(lambda: emd.pairwise(hists, n_jobs=1)[0, 1], repeat=3, budget=60)
    cores = os.cpu_count() or 1
    many = measure(lambda: emd.pairwise(hists, n_jobs=cores)[0, 1], repeat=3, budget=60)
    yield _row("pairwise", f"{n_hists} grids {size}x{size} ({pairs} pairs), {cores} threads",
               n_hists, many, "1 thread", one, speedup=one.seconds / many.seconds)
    if dask:
        try:
            import distributed
        except ImportError:
            return
        with distributed.LocalCluster(n_workers=1, threads_per_worker=cores, processes=False,
                                      dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client:
            on_dask = measure(lambda: emd.pairwise(hists, client=client)[0, 1], repeat=3,
                              budget=60)
        yield _row("pairwise", f"{n_hists} grids {size}x{size}, Dask local cluster", n_hists,
                   on_dask, "thread pool", many, overhead=on_dask.seconds / many.seconds - 1)


def machine() -> dict:
    import platform

    import numpy
    import scipy

    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        pass
    return {
        "date": time.strftime("%Y-%m-%d"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "pot": getattr(ot, "__version__", None),
        "emd": emd.__version__,
    }


__all__ = ["dense", "grids", "lazy", "machine", "onedim", "pairwise", "test_image"]
