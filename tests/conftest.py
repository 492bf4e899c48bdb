"""Shared test set-up: the reference solvers in ``tests/oracles.py`` and hypothesis settings."""

import os
import sys

import pytest
from hypothesis import settings

sys.path.insert(0, os.path.dirname(__file__))

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
