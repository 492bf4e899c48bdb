"""Honest timings: warm-up, then the median of repeated runs, and peak memory in a child."""

from __future__ import annotations

import multiprocessing
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Timing:
    """Median wall time of ``runs`` calls (after ``warmup`` discarded calls) and the value."""

    seconds: float
    runs: int
    warmup: int
    value: Any


def measure(fn: Callable[[], Any], *, repeat: int = 5, budget: float = 20.0) -> Timing:
    """Time ``fn``: one warm-up call, then up to ``repeat`` calls within ``budget`` seconds.

    A first call longer than ``budget / 3`` is itself the measurement (a
    warm-up would cost as much as the benchmark); otherwise it counts as the
    warm-up and the median of the following calls is reported.
    """
    start = time.perf_counter()
    value = fn()
    first = time.perf_counter() - start
    if first > budget / 3:
        return Timing(first, 1, 0, value)
    runs = max(1, min(repeat, int(budget / max(first, 1e-6))))
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        value = fn()
        samples.append(time.perf_counter() - start)
    return Timing(statistics.median(samples), runs, 1, value)


def _child(fn, queue):
    # Resident memory right after the fork is the parent's; only growth
    # beyond it belongs to the workload.
    with open("/proc/self/statm") as statm:
        baseline = int(statm.read().split()[1]) * resource.getpagesize()
    fn()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    queue.put(max(0, peak - baseline))


def peak_memory(fn: Callable[[], Any]) -> int | None:
    """Peak resident memory (bytes) that ``fn`` adds, measured in a forked child.

    Covers every allocation (C++ and Cython included), unlike tracemalloc.
    Returns None where fork is unavailable.
    """
    try:
        context = multiprocessing.get_context("fork")
    except ValueError:
        return None
    queue = context.Queue()
    process = context.Process(target=_child, args=(fn, queue))
    process.start()
    process.join()
    return queue.get() if process.exitcode == 0 else None


def fingerprint(value: Any) -> Any:
    """A JSON-able record of an answer that tells two runs' answers apart bit for bit.

    A number becomes its ``float.hex`` (every bit kept; ``benchmarks.compare``
    also reads back the relative difference), an array its dtype, shape,
    SHA-256 of the bytes and its float sum, a tuple or list one record per
    item.
    """
    if isinstance(value, (tuple, list)):
        return [fingerprint(item) for item in value]
    if isinstance(value, np.ndarray):
        import hashlib

        data = np.ascontiguousarray(value)
        return {"dtype": str(data.dtype), "shape": list(data.shape),
                "sha256": hashlib.sha256(data.tobytes()).hexdigest(),
                "sum": float(np.sum(data, dtype=np.float64)) if data.dtype.kind in "biuf" else None}
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    try:
        return float(value).hex()
    except (TypeError, ValueError):
        return None
