"""Matrices on disk: ``out=`` equals the in-memory matrix bit for bit, and ``resume=`` survives kills."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import emd
from emd import _pairs, batch


def _grids(n, shape=(6, 6), seed=0):
    rng = np.random.default_rng(seed)
    hists = [rng.random(shape) * (rng.random(shape) < 0.7) + 1e-3 for _ in range(n)]
    return [h / h.sum() for h in hists]


def _forms():
    rng = np.random.default_rng(11)
    grids = _grids(13, seed=1)
    positions = rng.random((36, 2))
    shared = [h.ravel() for h in grids]
    sets = [(rng.random((int(k), 2)), np.full(int(k), 1.0 / k)) for k in rng.integers(3, 9, 11)]
    return {
        "grid": (grids, {}),
        "grid-chebyshev": (grids, {"metric": "chebyshev"}),
        "positions": (shared, {"positions": positions}),
        "points": (sets, {}),
    }


@pytest.mark.parametrize("form", list(_forms()))
def test_out_equals_the_in_memory_matrix_bitwise(tmp_path, form):
    hists, kwargs = _forms()[form]
    expected = emd.pairwise(hists, n_jobs=1, **kwargs)
    for n_jobs, block in ((1, 4), (2, 3), (2, 64)):
        path = tmp_path / f"D{n_jobs}_{block}.npy"
        stored = emd.pairwise(hists, out=path, n_jobs=n_jobs, block_size=block, **kwargs)
        assert isinstance(stored, np.memmap)
        assert stored.tobytes() == expected.tobytes(), (n_jobs, block)
        assert np.load(path).tobytes() == expected.tobytes()
    rect = emd.cdist(hists[:5], hists[3:], out=tmp_path / "C.npy", block_size=2, n_jobs=2,
                     **kwargs)
    assert rect.shape == (5, len(hists) - 3)
    assert rect.tobytes() == emd.cdist(hists[:5], hists[3:], n_jobs=1, **kwargs).tobytes()


def _count_solves(monkeypatch):
    solved = []
    original = _pairs.PairSolver.chunk

    def counting(self, pairs):
        solved.append(len(pairs))
        return original(self, pairs)

    monkeypatch.setattr(_pairs.PairSolver, "chunk", counting)
    return solved


def test_resume_after_ctrl_c_solves_only_the_missing_blocks(tmp_path, monkeypatch, interrupt_at_chunk):
    hists = _grids(20)
    expected = emd.pairwise(hists, n_jobs=1)
    path = tmp_path / "D.npy"
    interrupt_at_chunk(4)
    with pytest.raises(KeyboardInterrupt):
        emd.pairwise(hists, out=path, block_size=4, n_jobs=1)
    lines = Path(str(path) + ".progress").read_text().splitlines()
    assert len(lines) == 1 + 3  # the header and the three blocks finished before the interrupt
    solved = _count_solves(monkeypatch)
    matrix = emd.pairwise(hists, out=path, block_size=4, n_jobs=2, resume=True)
    assert matrix.tobytes() == expected.tobytes()
    # 15 blocks on or above the diagonal of a 5 x 5 grid of blocks; 3 were kept.
    assert len(solved) == 15 - 3
    assert sum(solved) == 190 - (6 + 16 + 16)
    solved.clear()
    again = emd.pairwise(hists, out=path, block_size=4, resume=True)
    assert not solved and again.tobytes() == expected.tobytes()


def test_a_recorded_block_that_does_not_match_its_hash_is_solved_again(tmp_path, monkeypatch):
    hists = _grids(10)
    expected = emd.cdist(hists[:6], hists, n_jobs=1)
    path = tmp_path / "C.npy"
    emd.cdist(hists[:6], hists, out=path, block_size=4)
    # A page that never reached the disk reads back as zeros: the block is not trusted.
    damaged = np.load(path, mmap_mode="r+")
    damaged[5, 9] = 0.0
    damaged.flush()
    del damaged
    solved = _count_solves(monkeypatch)
    matrix = emd.cdist(hists[:6], hists, out=path, block_size=4, resume=True)
    assert solved == [2 * 2]  # only block (1, 2): rows 4..5, columns 8..9
    assert matrix.tobytes() == expected.tobytes()


def test_a_cut_last_record_line_is_ignored(tmp_path):
    hists = _grids(9)
    path = tmp_path / "D.npy"
    emd.pairwise(hists, out=path, block_size=4)
    record = Path(str(path) + ".progress")
    text = record.read_text()
    record.write_text(text[: len(text) - 7])  # a kill in the middle of the last write
    assert emd.pairwise(hists, out=path, block_size=4, resume=True).tobytes() == (
        emd.pairwise(hists).tobytes()
    )


def test_resuming_with_other_inputs_or_options_is_refused(tmp_path):
    hists = _grids(8)
    path = tmp_path / "D.npy"
    emd.pairwise(hists, out=path, block_size=4)
    other = [h.copy() for h in hists]
    other[7][0, 0] += 1e-12
    with pytest.raises(ValueError, match="inputs or options differ"):
        emd.pairwise(other, out=path, block_size=4, resume=True, normalize=True)
    with pytest.raises(ValueError, match="inputs or options differ"):
        emd.pairwise(hists, out=path, resume=True, metric="chebyshev")
    with pytest.raises(ValueError, match="matrix shape differ"):
        emd.pairwise(hists[:7], out=path, resume=True)
    with pytest.raises(ValueError, match="pairwise/cdist call differ"):
        emd.cdist(hists, hists, out=path, resume=True)
    # resume=False starts afresh, whatever was there.
    fresh = emd.pairwise(hists[:7], out=path, metric="chebyshev")
    assert fresh.tobytes() == emd.pairwise(hists[:7], metric="chebyshev").tobytes()


def test_bad_out_and_resume_arguments(tmp_path):
    hists = _grids(3)
    with pytest.raises(ValueError, match=r"out must name a \.npy file or a \.zarr store"):
        emd.pairwise(hists, out=tmp_path / "D.csv")
    with pytest.raises(TypeError, match="out must be a path"):
        emd.pairwise(hists, out=3)
    with pytest.raises(ValueError, match="resume=True needs out="):
        emd.pairwise(hists, resume=True)
    with pytest.raises(TypeError, match="resume must be True or False"):
        emd.pairwise(hists, out=tmp_path / "D.npy", resume="yes")
    with pytest.raises(ValueError, match="block_size must be >= 1"):
        emd.pairwise(hists, out=tmp_path / "D.npy", block_size=0)
    np.save(tmp_path / "E.npy", np.zeros((3, 3)))
    with pytest.raises(ValueError, match="has no record of finished blocks"):
        emd.pairwise(hists, out=tmp_path / "E.npy", resume=True)


def test_zarr_store_when_zarr_is_installed(tmp_path, monkeypatch):
    zarr = pytest.importorskip("zarr")
    hists = _grids(9)
    expected = emd.pairwise(hists)
    stored = emd.pairwise(hists, out=tmp_path / "D.zarr", block_size=4)
    assert isinstance(stored, zarr.Array)
    assert np.asarray(stored[:]).tobytes() == expected.tobytes()
    rect = emd.cdist(hists[:4], hists, out=tmp_path / "C.zarr", block_size=3, n_jobs=2)
    assert np.asarray(rect[:]).tobytes() == emd.cdist(hists[:4], hists).tobytes()
    original = _pairs.PairSolver.chunk
    calls = []

    def interrupting(self, pairs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(self, pairs)

    monkeypatch.setattr(_pairs.PairSolver, "chunk", interrupting)
    with pytest.raises(KeyboardInterrupt):
        emd.pairwise(hists, out=tmp_path / "E.zarr", block_size=4, n_jobs=1)
    solved = _count_solves(monkeypatch)
    again = emd.pairwise(hists, out=tmp_path / "E.zarr", block_size=4, resume=True)
    assert np.asarray(again[:]).tobytes() == expected.tobytes()
    # Six blocks, of which (2, 2) holds no pair (one row); two were finished.
    assert len(solved) == 5 - 2


def test_max_iter_stops_are_reported_across_a_resume(tmp_path):
    hists = _grids(6)
    path = tmp_path / "D.npy"
    with pytest.warns(emd.SolverWarning, match="15 of 15 pairs stopped at max_iter=2"):
        emd.pairwise(hists, out=path, block_size=4, max_iter=2)
    with pytest.warns(emd.SolverWarning, match="15 of 15 pairs"):
        matrix = emd.pairwise(hists, out=path, block_size=4, max_iter=2, resume=True)
    assert np.isnan(matrix[np.triu_indices(6, 1)]).all()


_CHILD = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[1])
    import numpy as np
    import emd
    rng = np.random.default_rng(5)
    hists = [rng.random((16, 16)) + 1e-3 for _ in range(int(sys.argv[3]))]
    emd.pairwise(hists, normalize=True, out=sys.argv[2], block_size=6, n_jobs=2,
                 resume=True)
""")


def test_kill_9_midway_then_resume_equals_an_uninterrupted_run(tmp_path):
    n = 60
    path = tmp_path / "D.npy"
    record = Path(str(path) + ".progress")
    root = str(Path(emd.__file__).resolve().parents[1])
    argv = [sys.executable, "-c", _CHILD, root, str(path), str(n)]
    child = subprocess.Popen(argv)
    n_blocks = 10 * 11 // 2
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and child.poll() is None:
            if record.exists() and len(record.read_text().splitlines()) > 1 + n_blocks // 3:
                break
            time.sleep(0.01)
        assert child.poll() is None, "the child finished before it could be killed"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    assert child.returncode == -signal.SIGKILL
    kept = len(record.read_text().splitlines()) - 1
    assert n_blocks // 3 < kept < n_blocks
    # Resume in a second process, killed by nothing this time.
    subprocess.run(argv, check=True, timeout=120)
    rng = np.random.default_rng(5)
    hists = [rng.random((16, 16)) + 1e-3 for _ in range(n)]
    expected = emd.pairwise(hists, normalize=True, n_jobs=2)
    assert np.load(path).tobytes() == expected.tobytes()
    # Every block recorded exactly once over the two runs: nothing solved twice.
    lines = record.read_text().splitlines()[1:]
    tiles = [tuple(line.split()[:2]) for line in lines]
    assert len(tiles) == len(set(tiles)) == n_blocks


def test_dask_worker_killed_mid_run_costs_only_its_blocks(tmp_path):
    distributed = pytest.importorskip("distributed")
    import threading

    n = 48
    rng = np.random.default_rng(6)
    hists = [rng.random((16, 16)) + 1e-3 for _ in range(n)]
    expected = emd.pairwise(hists, normalize=True, n_jobs=2)
    path = tmp_path / "D.npy"
    record = Path(str(path) + ".progress")
    n_blocks = 8 * 9 // 2
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
    ) as cluster, distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
        killed = []

        def kill_one_worker():
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if record.exists() and len(record.read_text().splitlines()) > 1 + n_blocks // 4:
                    victim = sorted(pids.values())[0]
                    os.kill(victim, signal.SIGKILL)
                    killed.append((victim, len(record.read_text().splitlines()) - 1))
                    return
                time.sleep(0.005)

        killer = threading.Thread(target=kill_one_worker)
        killer.start()
        matrix = emd.pairwise(hists, normalize=True, out=path, block_size=6, client=client)
        killer.join()
        assert killed, "no worker was killed"
        assert killed[0][1] < n_blocks, "the run ended before the worker was killed"
        assert killed[0][0] not in client.run(os.getpid).values()
    assert matrix.tobytes() == expected.tobytes()
    tiles = [tuple(line.split()[:2]) for line in record.read_text().splitlines()[1:]]
    assert len(tiles) == len(set(tiles)) == n_blocks


def test_cli_pairwise_resume_writes_the_same_matrix(tmp_path, capsys):
    from emd.cli import main

    folder = tmp_path / "hists"
    folder.mkdir()
    hists = _grids(7)
    for k, hist in enumerate(hists):
        np.save(folder / f"h{k}.npy", hist)
    out = tmp_path / "D.npy"
    expected = emd.pairwise(hists)
    assert main(["--pairwise", str(folder), "-o", str(out), "--resume"]) == 0
    assert np.load(out).tobytes() == expected.tobytes()
    assert Path(str(out) + ".progress").exists()
    # Run again: everything is recorded, nothing is solved, the file is unchanged.
    assert main(["--pairwise", str(folder), "-o", str(out), "--resume"]) == 0
    assert np.load(out).tobytes() == expected.tobytes()
    np.save(folder / "h0.npy", hists[0] * 0.5 + hists[1] * 0.5)
    assert main(["--pairwise", str(folder), "-o", str(out), "--resume"]) != 0
    assert "differ from those of the run recorded" in capsys.readouterr().err
    assert main(["--pairwise", str(folder), "-o", str(tmp_path / "D.csv"), "--resume"]) != 0
    assert "--resume needs -o FILE.npy" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# No unfinished entry reads as a distance
# ---------------------------------------------------------------------------


def _read_all(path) -> np.ndarray:
    """The stored matrix as a reader opening it now would see it."""
    if str(path).endswith(".npy"):
        return np.array(np.load(path, mmap_mode="r"))
    import zarr

    return np.asarray(zarr.open_array(str(path), mode="r")[:])


def _interrupt_after(monkeypatch, calls_before: int, seen: list | None = None, path=None):
    """Make the batch raise KeyboardInterrupt (as Ctrl-C does between chunks) at chunk
    number ``calls_before + 1``; with ``seen``, record the file as the first chunk finds it."""
    original = _pairs.PairSolver.chunk
    calls = []

    def interrupting(self, pairs):
        if not calls and seen is not None:
            seen.append(_read_all(path))
        calls.append(1)
        if len(calls) > calls_before:
            raise KeyboardInterrupt
        return original(self, pairs)

    monkeypatch.setattr(_pairs.PairSolver, "chunk", interrupting)


def _recorded(path) -> set[tuple[int, int]]:
    lines = Path(str(path) + ".progress").read_text().splitlines()[1:]
    return {(int(line.split()[0]), int(line.split()[1])) for line in lines}


def _check_partial(partial, expected, done, block, symmetric):
    """Finished blocks (and mirrors) hold the in-memory bits; every other entry is NaN."""
    finished = np.zeros(expected.shape, dtype=bool)
    for bi, bj in done:
        finished[bi * block:(bi + 1) * block, bj * block:(bj + 1) * block] = True
        if symmetric:
            finished[bj * block:(bj + 1) * block, bi * block:(bi + 1) * block] = True
    assert finished.any() and not finished.all()
    assert partial[finished].tobytes() == expected[finished].tobytes()
    assert np.isnan(partial[~finished]).all()
    # A zero is a finished entry (pairwise's diagonal, or a histogram against
    # itself in cdist), never a missing one.
    assert finished[partial == 0.0].all()


@pytest.mark.parametrize("suffix", [".npy", ".zarr"])
@pytest.mark.parametrize("symmetric", [True, False])
def test_an_interrupted_matrix_holds_nan_wherever_it_is_unfinished(
    tmp_path, monkeypatch, suffix, symmetric
):
    if suffix == ".zarr":
        pytest.importorskip("zarr")
    hists = _grids(19)
    left, right = (hists, None) if symmetric else (hists[:11], hists)

    def compute(**kwargs):
        if symmetric:
            return emd.pairwise(left, **kwargs)
        return emd.cdist(left, right, **kwargs)

    expected = compute(n_jobs=1)
    path = tmp_path / f"D{suffix}"
    seen: list = []
    _interrupt_after(monkeypatch, 4, seen, path)
    with pytest.raises(KeyboardInterrupt):
        compute(out=path, block_size=4, n_jobs=1)
    # Before the first block was solved the file already existed, all NaN.
    assert seen and seen[0].shape == expected.shape and np.isnan(seen[0]).all()
    partial = _read_all(path)
    done = _recorded(path)
    assert len(done) == 4
    _check_partial(partial, expected, done, 4, symmetric)
    # Resuming finishes the same bits as the in-memory call.
    monkeypatch.undo()
    resumed = compute(out=path, block_size=4, n_jobs=2, resume=True)
    assert np.asarray(resumed[:]).tobytes() == expected.tobytes()


def test_resume_sets_every_unverified_block_to_nan_before_solving(tmp_path, monkeypatch):
    hists = _grids(16)
    expected = emd.pairwise(hists, n_jobs=1)
    path = tmp_path / "D.npy"
    _interrupt_after(monkeypatch, 3)
    with pytest.raises(KeyboardInterrupt):
        emd.pairwise(hists, out=path, block_size=4, n_jobs=1)
    done = sorted(_recorded(path))
    damaged = np.load(path, mmap_mode="r+")
    # A recorded block whose bytes no longer match its hash, and an unfinished
    # block holding zeros, as a file filled by an earlier release would.
    bi, bj = done[-1]
    damaged[bi * 4, bj * 4 + 1] += 0.5
    damaged[12:16, 12:16] = 0.0
    damaged.flush()
    del damaged
    seen: list = []
    _interrupt_after(monkeypatch, 0, seen, path)  # look at the file, then stop at once
    with pytest.raises(KeyboardInterrupt):
        emd.pairwise(hists, out=path, block_size=4, n_jobs=1, resume=True)
    _check_partial(seen[0], expected, set(done[:-1]), 4, True)
    monkeypatch.undo()
    matrix = emd.pairwise(hists, out=path, block_size=4, resume=True)
    assert matrix.tobytes() == expected.tobytes()


def test_resume_errors_say_what_is_wrong_without_naming_arguments(tmp_path):
    hists = _grids(6)
    path = tmp_path / "D.npy"
    emd.pairwise(hists, out=path, block_size=4)
    with pytest.raises(batch.ResumeError, match="resume=False") as info:
        emd.pairwise(hists[:5], out=path, resume=True)
    assert info.value.differs and "matrix shape differs" in info.value.problem
    with pytest.raises(batch.ResumeError) as info:
        emd.pairwise(hists, out=path, resume=True, metric="chebyshev")
    assert info.value.differs and "inputs or options differ" in info.value.problem
    Path(str(path) + ".progress").write_text("not a record\n")
    with pytest.raises(batch.ResumeError) as info:
        emd.pairwise(hists, out=path, resume=True)
    assert not info.value.differs and "not a record" in info.value.problem
    assert "=" not in info.value.problem and isinstance(info.value, ValueError)
