"""The checkout itself runs: the package, its benchmark suite and examples from the root.

The README's set-up (``pip install -e ".[test]"``) compiles the core into the
checkout, so these hold there and in CI; they also hold after an in-place
build (``python setup.py build_ext --inplace``).
"""

from __future__ import annotations

import importlib.machinery
import os
import subprocess
import sys
from pathlib import Path

import emd._core._tree as core
import pytest

import emd

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess:
    # From the checkout root with no PYTHONPATH: what a user types there.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip


@pytest.mark.checkout
def test_tests_import_the_checkout_with_its_compiled_core():
    assert Path(emd.__file__).resolve().parent == ROOT / "emd"
    assert core.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


@pytest.mark.checkout
def test_import_from_the_checkout_root():
    proc = run("-c", "import emd, emd._core._tree as c; print(emd.__file__)")
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()).resolve() == ROOT / "emd" / "__init__.py"


@pytest.mark.checkout
def test_benchmark_help_lists_the_families(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))  # plain `pytest` leaves the root off sys.path
    from benchmarks.__main__ import FAMILIES

    proc = run("-m", "benchmarks", "--help")
    assert proc.returncode == 0, proc.stderr
    for family in FAMILIES:
        assert f"\n  {family} " in proc.stdout
    assert set(FAMILIES) == {
        "dense", "lazy", "grid", "1-D", "pairwise", "scale", "frontier", "pairs", "unequal", "zoo",
        "training",
    }


def test_a_missing_peer_is_reported(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks.__main__ import missing_peers

    monkeypatch.setitem(sys.modules, "ot", None)  # import ot now raises ImportError
    monkeypatch.setitem(sys.modules, "distributed", None)
    # The oldest SciPy we support (1.10) has no wasserstein_distance_nd: that is reported too.
    monkeypatch.delattr("scipy.stats.wasserstein_distance_nd", raising=False)
    missing = missing_peers(["dense", "1-D", "pairwise"])
    assert missing["dense"] == ["POT: pip install pot", "SciPy >= 1.13"]
    # Every family says what it needs, even when that is nothing beyond emd.
    from benchmarks.__main__ import FAMILIES, PEERS

    assert set(PEERS) == set(FAMILIES)
    assert missing["1-D"] == ["POT: pip install pot"]
    assert "Dask" in missing["pairwise"][0]


def test_benchmark_answers_are_compared_bit_for_bit():
    import numpy as np

    from benchmarks._timing import fingerprint
    from benchmarks.compare import compare

    def run(value, matrix):
        return {"rows": [
            {"family": "dense", "case": "c", "size": 10, "ours_s": 1.0,
             "answer": fingerprint(value)},
            {"family": "pairs", "case": "m", "size": 3, "ours_s": 2.0,
             "answer": fingerprint((matrix, matrix > 0))},
            {"family": "scale", "case": "no answer", "size": 1, "ours_s": 1.0},
        ]}

    matrix = np.array([[0.0, 0.5], [0.5, 0.0]])
    rows, differ = compare(run(0.1 + 0.2, matrix), run(0.1 + 0.2, matrix.copy()))
    assert differ == 0 and [r[1] for r in rows] == [True, True]
    # One unit in the last place is a difference, and its size is reported.
    rows, differ = compare(run(0.1 + 0.2, matrix), run(0.3, matrix))
    assert differ == 1
    (_, identical, rel, _, _), _ = rows
    assert not identical and 0 < rel < 1e-15
    nudged = matrix.copy()
    nudged[0, 1] = np.nextafter(0.5, 1.0)
    assert compare(run(0.3, matrix), run(0.3, nudged))[1] == 1


def test_a_benchmark_row_that_disagrees_with_its_peer_is_flagged():
    from benchmarks.__main__ import disagrees

    assert not disagrees({"rel_diff": 3e-16})
    assert not disagrees({"rel_diff": None})
    assert disagrees({"rel_diff": 1e-6})
    assert disagrees({"rel_diff": float("nan")})
    # An approximation is allowed its proven bound, not more.
    assert not disagrees({"rel_diff": 0.012, "rel_error_bound": 0.0131})
    assert disagrees({"rel_diff": 0.014, "rel_error_bound": 0.0131})


@pytest.mark.checkout
def test_pot_tests_tool_groups_outcomes_by_backend(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "tools"))
    import run_pot_tests as tool

    backends = ["numpy", "torch", "jax"]
    assert tool.backend_of("test_emd_backends[torch]", backends) == "torch"
    assert tool.backend_of("test_x[jax-float64]", backends) == "jax"
    assert tool.backend_of("test_emd2_gradients", backends) == "no backend"
    # The conftest written beside POT's tests is valid Python for every choice.
    for chosen in (["numpy"], backends):
        for patch in (True, False):
            compile(tool.CONFTEST.format(patch=patch, backends=chosen), "conftest.py", "exec")
    assert "torch==2.13.0" in tool.BACKENDS["torch"][1]  # the CPU build CI installs
