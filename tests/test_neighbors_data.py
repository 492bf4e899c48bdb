"""emd.knn on real images shipped inside packages: scikit-learn's digits, scikit-image's photographs.

Nothing is downloaded: both datasets are part of the installed packages.  The
tests are skipped when a package is missing (they are optional, in the
``data`` extra); the random-instance tests in ``test_neighbors.py`` need neither.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from oracles import pot_cost

import emd

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def brute_force(matrix: np.ndarray, k: int):
    columns = np.broadcast_to(np.arange(matrix.shape[1]), matrix.shape)
    order = np.lexsort((columns, matrix), axis=1)[:, :k]
    return order, np.take_along_axis(matrix, order, axis=1)


def _digits():
    datasets = pytest.importorskip("sklearn.datasets")
    images = datasets.load_digits().images
    return images / images.sum(axis=(1, 2), keepdims=True)


def test_digits_knn_equals_brute_force_and_pot():
    images = _digits()
    rng = np.random.default_rng(0)
    picked = rng.choice(len(images), size=400, replace=False)
    queries, database = images[picked[:8]], images[picked[8:]]
    for metric in ("cityblock", "chebyshev"):
        result = emd.knn(queries, database, k=4, metric=metric)
        matrix = emd.cdist(queries, database, metric=metric)
        indices, distances = brute_force(matrix, 4)
        np.testing.assert_array_equal(result.indices, indices)
        assert result.distances.tobytes() == distances.tobytes()
        assert result.n_solves < result.n_pairs / 3
    # The grid distance is the W1 of the bins' coordinates: POT on the full cost matrix agrees.
    yy, xx = np.mgrid[:8, :8]
    coords = np.stack([yy.ravel(), xx.ravel()], axis=1)
    cost = np.abs(coords[:, None] - coords[None]).max(axis=2).astype(float)
    for q in range(2):
        j = result.indices[q, 0]
        expected = pot_cost(queries[q].ravel(), database[j].ravel(), cost)
        assert result.distances[q, 0] == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_nearest_digits_example_prints_the_brute_force_neighbours(tmp_path, capsys):
    images = _digits()
    spec = importlib.util.spec_from_file_location("nearest_digits",
                                                  EXAMPLES / "nearest_digits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--small", "--k", "3", "--queries", "4", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    images = images[:300]
    rows = [line.split("|") for line in out.splitlines()
            if "|" in line and line.split()[0].isdigit()]
    assert len(rows) == 4
    for left, right in rows:
        q = int(left.split()[0])
        printed = [float(cell.split(")")[0]) for cell in right.split("(")[1:]]
        row = emd.cdist(images[q:q + 1], images)[0]
        row[q] = np.inf
        expected = np.sort(row)[:3]
        np.testing.assert_allclose(printed, expected, atol=5e-4)
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / "nearest_digits.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_photograph_patches_knn_equals_brute_force():
    data = pytest.importorskip("skimage.data")
    patches = []
    for name in ("camera", "coins", "moon", "text"):
        image = getattr(data, name)().astype(float)
        h, w = (s // 4 * 4 for s in image.shape)
        small = image[:h, :w].reshape(h // 4, 4, w // 4, 4).mean(axis=(1, 3))  # 4x4 binning
        for i in range(0, small.shape[0] - 16, 23):
            for j in range(0, small.shape[1] - 16, 29):
                patches.append(small[i:i + 16, j:j + 16] + 1.0)
    patches = np.array(patches[:: max(1, len(patches) // 60)])
    patches /= patches.sum(axis=(1, 2), keepdims=True)
    queries, database = patches[:3], patches[3:]
    result = emd.knn(queries, database, k=3)
    indices, distances = brute_force(emd.cdist(queries, database), 3)
    np.testing.assert_array_equal(result.indices, indices)
    assert result.distances.tobytes() == distances.tobytes()
    assert result.n_bound_solves > 0  # 16 x 16 grids: the coarse bound is in play
