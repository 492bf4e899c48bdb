"""Shared test set-up: the reference solvers in ``tests/oracles.py`` and hypothesis settings."""

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

sys.path.insert(0, os.path.dirname(__file__))


def pytest_configure(config):
    # CI's installed-package legs set EMD_TEST_INSTALLED: a suite that silently imported the
    # source tree beside it would prove nothing about the wheel or the sdist.
    if os.environ.get("EMD_TEST_INSTALLED"):
        import emd

        source_tree = Path(__file__).resolve().parents[1]
        if source_tree in Path(emd.__file__).resolve().parents:
            pytest.exit(f"emd was imported from the source tree ({emd.__file__}), "
                        "not from the installed package", returncode=1)
        print(f"testing the installed emd {emd.__version__} at {Path(emd.__file__).parent}")

# Property tests draw the same examples on every run, so a CI failure can be
# reproduced exactly; HYPOTHESIS_PROFILE=explore draws fresh ones locally.
settings.register_profile("reproducible", derandomize=True, database=None, deadline=None)
settings.register_profile("explore", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "reproducible"))


@pytest.fixture(params=["avx2", "sse2"])
def simd(request):
    """Run a test with the AVX2 kernels (where the processor has them) and without."""
    from emd._core import _tree

    before = _tree._use_avx2(request.param == "avx2")
    yield request.param
    _tree._use_avx2(before)


@pytest.fixture
def interrupt_at_chunk(monkeypatch):
    """``interrupt_at_chunk(k)``: the k-th chunk a pair solver starts raises
    KeyboardInterrupt (Ctrl-C mid-run); calling it with None restores the solver."""
    from emd import _pairs

    original = _pairs.PairSolver.chunk

    def arm(k):
        if k is None:
            monkeypatch.setattr(_pairs.PairSolver, "chunk", original)
            return
        calls = []

        def interrupting(self, pairs):
            calls.append(1)
            if len(calls) == k:
                raise KeyboardInterrupt
            return original(self, pairs)

        monkeypatch.setattr(_pairs.PairSolver, "chunk", interrupting)

    return arm
