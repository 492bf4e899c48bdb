"""What each import loads: ``import emd`` leaves the optional parts for first use.

Each check runs in a fresh interpreter, since this one has imported everything.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import emd

# `python -c` puts its working directory first on sys.path: run where the emd under test
# lives (the checkout, or site-packages for an installed package), never beside a source
# tree that was not built.
EMD_HOME = Path(emd.__file__).resolve().parents[1]

def _modules_after(*statements: str) -> list[set[str]]:
    """The modules loaded after each statement, run in order in a fresh interpreter."""
    code = "import json, sys\nseen = []\n" + "".join(
        f"{s}\nseen.append(sorted(sys.modules))\n" for s in statements
    ) + "print(json.dumps(seen))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=EMD_HOME
    ).stdout
    return [set(mods) for mods in json.loads(out)]


def test_import_emd_leaves_dual_and_divergences_for_first_use():
    (after,) = _modules_after("import emd")
    assert "emd.dual" not in after
    assert "emd.divergences" not in after


@pytest.mark.parametrize(
    "statement",
    [
        "import emd.dual",
        "from emd.dual import certify, kr_witness, w1_bracket",
        "import emd.divergences",
    ],
)
def test_dual_and_divergences_load_no_scipy_module_of_their_own(statement):
    base, after = _modules_after("import emd", statement)
    assert sorted(m for m in after - base if m.split(".")[0] == "scipy") == []


def test_critics_load_on_first_use():
    after_dual, after_use = _modules_after("import emd.dual", "emd.dual.train_critic")
    assert "emd.dual._critics" not in after_dual
    assert "emd.dual._critics" in after_use


def test_lazy_names_resolve_like_eager_ones():
    import emd
    from emd import divergences, dual
    from emd.dual import _critics

    assert emd.dual is dual and emd.divergences is divergences
    assert dual.audit_critic is _critics.audit_critic
    assert {"dual", "divergences"} <= set(dir(emd))
    assert set(dual.__all__) <= set(dir(dual))
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        _ = dual.nonexistent
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        _ = emd.nonexistent


@pytest.mark.parametrize(
    "module_name",
    [
        "emd",
        "emd.divergences",
        "emd.dual",
        "emd.dual._certificate",
        "emd.dual._checks",
        "emd.dual._critics",
        "emd.dual._estimators",
        "emd.dual._permutation",
        "emd.dual._sliced",
        "emd.dual._witness",
    ],
)
def test_no_module_level_scipy_import(module_name):
    # SciPy subpackages cost a tenth of a second or more each; these modules
    # import them inside the functions that use them.
    path = importlib.import_module(module_name).__file__
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    eager = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            eager += [alias.name for alias in node.names if alias.name.split(".")[0] == "scipy"]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "scipy":
            eager.append(node.module)
    assert eager == []


def test_import_emd_loads_no_scipy():
    """`import emd` pays for numpy alone: scipy is imported where it is first used."""
    code = "import sys, emd; print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=EMD_HOME)
    assert out.stdout.strip() == "[]"
