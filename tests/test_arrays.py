"""The array boundary (emd._arrays): which library an array is from, without importing it."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import emd
from emd._arrays import kind_of, tensor_kind, to_numpy


def _modules_after(code: str) -> list[str]:
    script = (f"import json, sys\n{code}\n"
              "print(json.dumps(sorted(m for m in sys.modules "
              "if m.split('.')[0] in ('torch', 'jax', 'jaxlib'))))")
    # Run where the emd under test lives (python -c puts its directory first on sys.path).
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, cwd=Path(emd.__file__).resolve().parents[1]).stdout
    return json.loads(out)


def test_import_emd_and_numpy_calls_load_no_array_library():
    code = ("import emd, numpy as np\n"
            "emd.wasserstein(np.zeros((3, 2)), np.ones((4, 2)))\n"
            "emd.solve([0.5, 0.5], [0.5, 0.5], np.eye(2))\n"
            "emd.pairwise([np.eye(3)[k] for k in range(3)])\n"
            "import emd.compat.pot as ot\n"
            "ot.emd2([], [], np.eye(2))")
    assert _modules_after(code) == []


def test_plain_values_have_no_kind():
    assert kind_of(np.zeros(2)) == "numpy"
    for value in ([1.0, 2.0], 3.0, None, np.float64(1.0), "text"):
        assert kind_of(value) is None
    assert tensor_kind({"a": np.zeros(2), "b": [1.0]}) is None


def test_public_signatures_are_kept():
    assert list(inspect.signature(emd.wasserstein).parameters)[:4] == ["x", "y", "a", "b"]
    assert "cost" in inspect.signature(emd.solve).parameters
    assert emd.wasserstein.__doc__.startswith("The Wasserstein-1 distance")


def test_torch_and_jax_together_is_an_error_naming_both():
    torch = pytest.importorskip("torch")
    jnp = pytest.importorskip("jax.numpy")
    assert kind_of(torch.zeros(2)) == "torch" and kind_of(jnp.zeros(2)) == "jax"
    assert kind_of(torch.nn.Parameter(torch.zeros(2))) == "torch"
    with pytest.raises(ValueError, match=r"torch tensors \(x\) and JAX arrays \(y\)"):
        emd.wasserstein(torch.zeros((2, 2)), jnp.ones((2, 2)))


def test_tensors_inside_collections_are_found():
    torch = pytest.importorskip("torch")
    hists = [torch.ones(3), np.ones(3)]
    with pytest.raises(ValueError, match=r"torch tensors \(hists\) and NumPy arrays \(hists\)"):
        tensor_kind({"hists": hists})
    assert tensor_kind({"pairs": [(torch.zeros((2, 1)), [0.5, 0.5])]}) == "torch"


def test_conversion_is_a_detached_copy():
    torch = pytest.importorskip("torch")
    tensor = torch.tensor([1.0, 2.0], requires_grad=True)
    array = to_numpy(tensor)
    with torch.no_grad():
        tensor += 1.0  # an optimizer's in-place step
    np.testing.assert_array_equal(array, [1.0, 2.0])
    assert to_numpy(torch.tensor([1.0], dtype=torch.bfloat16)).dtype == np.float32
