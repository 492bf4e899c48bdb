"""Run the examples in every public docstring of the installed package."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import emd

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(emd.__path__, prefix="emd.")
    if "._core" not in info.name
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    # The backward rules of an array library import it: they are tested where it is installed.
    for library in ("torch", "jax"):
        if name.endswith(f"_autodiff._{library}"):
            pytest.importorskip(library)
    module = importlib.import_module(name)
    failures, _ = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert failures == 0
