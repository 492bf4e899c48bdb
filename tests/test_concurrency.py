"""Threads and determinism: the same input gives the same bits, alone or in company.

The solvers keep no shared state and release the GIL, so many threads may call them at
once; each result must equal the serial one bit for bit.  Repeated calls, thread counts
of the pairwise pool and separate processes must not change a single bit either.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
from oracles import random_weights

import emd
from emd import _pairs

ROOT = Path(__file__).resolve().parents[1]


def fingerprint(result) -> bytes:
    """Every array and number a result holds, as bytes."""
    parts = []
    if isinstance(result, emd.TransportResult):
        plan = result.plan
        parts += [plan.row, plan.col, plan.data, result.u, result.v, [result.cost, result.n_iter]]
    elif isinstance(result, emd.GridResult):
        parts += [result.potential, [result.cost, result.n_iter]]
        if result.flows is not None:
            parts += list(result.flows)
    elif isinstance(result, emd.FlowResult):
        parts += [result.flow, result.potentials, [result.cost, result.n_iter]]
    elif isinstance(result, emd.GraphResult):
        parts += [result.potential, result.edge_flows, [result.cost, result.n_iter]]
    else:
        parts.append(result)
    return b"".join(np.ascontiguousarray(np.asarray(p, dtype=np.float64)).tobytes()
                    for p in parts)


def _problems():
    rng = np.random.default_rng(31)
    calls = []
    for k in range(3):
        a, b = random_weights(rng, 60, zeros=3), random_weights(rng, 50)
        cost = rng.integers(0, 5, size=(60, 50)).astype(float)  # ties: degenerate pivots
        calls.append(lambda a=a, b=b, cost=cost: emd.solve(a, b, cost))
        x, y = rng.random((120, 2)), rng.random((100, 2))
        calls.append(lambda x=x, y=y, metric=("euclidean", "cityblock", "chebyshev")[k]:
                     emd.solve_points(x, y, metric=metric))
        A, B = rng.random((20, 20)), rng.random((20, 20))
        calls.append(lambda A=A, B=B: emd.solve_grid(A, B, normalize=True,
                                                           return_flows=True))
    # Large enough for the warm start from the coarsened grid.
    A, B = rng.random((72, 72)), rng.random((72, 72))
    calls.append(lambda: emd.solve_grid(A, B, normalize=True))
    calls.append(lambda: emd.solve_grid(A[:30, :30], B[:30, :30], metric="euclidean",
                                              normalize=True))
    n = 40
    tails = rng.integers(0, n, size=300)
    heads = (tails + rng.integers(1, n, size=300)) % n
    supply = rng.random(n) - 0.5
    supply -= supply.mean()
    costs = rng.random(300)
    calls.append(lambda: emd.min_cost_flow(tails, heads, costs, supply))
    edges = np.stack([tails, heads], axis=1)
    a_nodes, b_nodes = random_weights(rng, n), random_weights(rng, n)
    calls.append(lambda: emd.solve_graph((edges, costs), a_nodes, b_nodes))
    return calls


def test_many_threads_at_once_match_serial_results_bitwise():
    calls = _problems()
    serial = [fingerprint(call()) for call in calls]
    # Every call twice, all started together behind a barrier.
    jobs = list(range(len(calls))) * 2
    results: list[bytes | None] = [None] * len(jobs)
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(jobs))

    def work(slot: int) -> None:
        try:
            barrier.wait()
            results[slot] = fingerprint(calls[jobs[slot]]())
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    for slot, k in enumerate(jobs):
        assert results[slot] == serial[k], f"call {k} differs under threads"


def test_repeated_calls_give_identical_bits():
    for call in _problems():
        first = fingerprint(call())
        assert all(fingerprint(call()) == first for _ in range(2))


def _hists(seed, count=6, shape=(8, 8)):
    rng = np.random.default_rng(seed)
    return [rng.random(shape) * (rng.random(shape) < 0.8) + 1e-3 for _ in range(count)]


@pytest.mark.parametrize("form", ["grid", "grid-euclidean", "positions", "points", "line"])
def test_pairwise_bits_do_not_depend_on_threads_or_chunks(form):
    rng = np.random.default_rng(32)
    kwargs = {"normalize": True}
    hists = _hists(33)
    if form == "grid-euclidean":
        kwargs["metric"] = "euclidean"
    elif form == "positions":
        kwargs["positions"] = rng.random((64, 2))
        hists = [h.ravel() for h in hists]
    elif form == "line":
        kwargs["positions"] = rng.random(64)
        hists = [h.ravel() for h in hists]
    elif form == "points":
        hists = [(rng.random((30, 2)), rng.random(30)) for _ in range(6)]
    serial = emd.pairwise(hists, n_jobs=1, **kwargs)
    for n_jobs, chunk in ((2, 1), (2, 4), (3, 2)):
        threaded = emd.pairwise(hists, n_jobs=n_jobs, chunk_size=chunk, **kwargs)
        assert serial.tobytes() == threaded.tobytes(), (n_jobs, chunk)
    rect = emd.cdist(hists[:2], hists[2:], n_jobs=2, chunk_size=1, **kwargs)
    assert rect.tobytes() == serial[:2, 2:].tobytes()


def test_the_pool_survives_a_failing_pair(monkeypatch):
    hists = _hists(34)
    expected = emd.pairwise(hists, n_jobs=1, normalize=True)
    original = _pairs.PairSolver.chunk

    def flaky(self, pairs):
        if any(tuple(p) == (1, 3) for p in pairs.tolist()):
            raise RuntimeError("boom")
        return original(self, pairs)

    monkeypatch.setattr(_pairs.PairSolver, "chunk", flaky)
    before = threading.active_count()
    for _ in range(3):
        with pytest.raises(RuntimeError, match="boom"):
            emd.pairwise(hists, n_jobs=2, chunk_size=1, normalize=True)
    monkeypatch.setattr(_pairs.PairSolver, "chunk", original)
    # Nothing left behind: the next matrices are complete and identical.
    assert emd.pairwise(hists, n_jobs=2, chunk_size=1, normalize=True).tobytes() == (
        expected.tobytes()
    )
    assert threading.active_count() <= before + 2


_SCRIPT = textwrap.dedent("""
    import hashlib, sys
    sys.path.insert(0, sys.argv[1])
    import test_concurrency as t
    digest = hashlib.sha256()
    for call in t._problems():
        digest.update(t.fingerprint(call()))
    print(digest.hexdigest())
""")


def test_separate_processes_give_identical_bits():
    digest = hashlib.sha256()
    for call in _problems():
        digest.update(fingerprint(call()))
    tests = str(Path(__file__).resolve().parent)
    # The child imports emd the way this process did (the checkout or the install).
    env_path = str(Path(emd.__file__).resolve().parents[1])
    out = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {env_path!r})\n" + _SCRIPT,
         tests],
        capture_output=True, text=True, check=True, timeout=120,
    )
    assert out.stdout.strip() == digest.hexdigest()
