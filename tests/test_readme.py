"""The README's code is true: every ```python block runs as pasted, in order, in one
namespace, and the values its text states hold against independent computations
(scipy, POT, closed forms); every ``emd-compute`` line runs on the files it names.

Each expression statement of a block is evaluated as an interactive session would
show it, and its value kept under its source text, so the checks below are about the
README's own lines, not about calls of their own.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shlex
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import ot
import pytest
import scipy.sparse
import scipy.stats
from oracles import metric_cost, pot_cost
from scipy.sparse.csgraph import shortest_path

import emd
import emd.cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(text: str) -> list[tuple[str, str]]:
    """The fenced blocks of a Markdown text, in order: ``(info string, code)``."""
    blocks, info, lines = [], None, []
    for line in text.splitlines(keepends=True):
        if line.startswith("```"):
            if info is None:
                info, lines = line[3:].strip(), []
            else:
                blocks.append((info, "".join(lines)))
                info = None
        elif info is not None:
            lines.append(line)
    assert info is None, "README.md has an unclosed code fence"
    return blocks


def _python_blocks(text: str) -> list[str]:
    return [code for info, code in _blocks(text) if info == "python"]


def _cli_lines(text: str) -> list[str]:
    """Every ``emd-compute`` command of the shell blocks (also after ``&&``)."""
    lines = []
    for info, code in _blocks(text):
        if info not in ("bash", "sh", ""):
            continue
        for line in code.splitlines():
            for part in line.split("&&"):
                part = part.strip()
                if part.startswith("emd-compute "):
                    lines.append(part)
    return lines


def _run_block(code: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """Run ``code`` statement by statement; return each expression statement's value
    keyed by its source text (comments excluded)."""
    values = {}
    for node in ast.parse(code).body:
        source = ast.get_source_segment(code, node)
        if isinstance(node, ast.Expr):
            values[source] = eval(compile(ast.Expression(node.value), "README.md", "eval"),
                                  namespace)
        else:
            exec(compile(ast.Module([node], type_ignores=[]), "README.md", "exec"), namespace)
    return values


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """The README's blocks run in order in one namespace, in an empty directory (a
    block writes ``D.npy``): each block with the namespace as it left it, and the
    values of its expression statements."""
    blocks = _python_blocks(README)
    assert len(blocks) >= 6, "the README's python blocks were not found"
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    runs = []
    before = Path.cwd()
    os.chdir(tmp_path_factory.mktemp("readme"))
    try:
        with warnings.catch_warnings():
            # w1_bracket "warns when wide", as the README says; nothing else may fail.
            warnings.simplefilter("ignore", emd.dual.WideBracketWarning)
            for block in blocks:
                if "import torch" in block and importlib.util.find_spec("torch") is None:
                    continue  # runs where PyTorch is installed (CI's checkout leg)
                values = _run_block(block, namespace)
                runs.append((block, {**namespace, "__cwd__": Path.cwd()}, values))
    finally:
        os.chdir(before)
    return runs


def _block(session, marker: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The namespace after the block that contains ``marker``, and that block's values."""
    found = [(ns, values) for block, ns, values in session if marker in block]
    assert len(found) == 1, f"{len(found)} README blocks contain {marker!r}"
    return found[0]


def _grid_coords(shape):
    return np.stack(np.unravel_index(np.arange(np.prod(shape)), shape), axis=1).astype(float)


# --------------------------------------------------------------------------- Quick start


def test_quick_start_transport(session):
    ns, values = _block(session, "result = emd.solve_points(")
    x, y, a, b = ns["x"], ns["y"], ns["a"], ns["b"]
    cost = metric_cost(x, y, "euclidean")
    reference = pot_cost(a, b, cost)
    assert values["result.cost"] == pytest.approx(reference, rel=1e-9)
    plan = values["result.plan"]
    assert isinstance(plan, scipy.sparse.coo_array)
    assert plan.nnz <= x.shape[0] + y.shape[0] - 1  # "at most n + m - 1 entries"
    u, v = values["result.u, result.v"]
    # "feasible on every pair": u_i + v_j <= C_ij on all 500 x 400 pairs.
    assert float((u[:, None] + v[None, :] - cost).max()) <= 1e-12
    certificate = values["result.certificate()"]
    assert certificate.optimal() and repr(certificate).startswith("Certificate(cost=")
    assert "optimal=True" in repr(certificate) and "relative_gap=" in repr(certificate)
    assert values["emd.solve(a, b, cdist(x, y)).cost"] == pytest.approx(reference, rel=1e-9)
    assert values["emd.wasserstein(x, y, a, b)"] == pytest.approx(reference, rel=1e-9)


def test_quick_start_structured(session):
    ns, values = _block(session, "result = emd.solve_points(")
    u_values, v_values = ns["u_values"], ns["v_values"]
    assert values["emd.wasserstein_1d(u_values, v_values)"] == pytest.approx(
        scipy.stats.wasserstein_distance(u_values, v_values), rel=1e-12)
    image_a, image_b = ns["image_a"], ns["image_b"]
    coords = _grid_coords(image_a.shape)
    cityblock = pot_cost(image_a.ravel(), image_b.ravel(), metric_cost(coords, coords, "cityblock"))
    assert values["emd.wasserstein_grid(image_a, image_b)"] == pytest.approx(cityblock, rel=1e-9)
    # "within 0.12 %" of the exact Euclidean distance, from above (a path metric).
    exact = pot_cost(image_a.ravel(), image_b.ravel(), metric_cost(coords, coords, "euclidean"))
    approx = values['emd.wasserstein_grid(image_a, image_b, metric="euclidean", L=10)']
    assert exact * (1 - 1e-12) <= approx <= exact * 1.0012
    # "shortest paths" on the graph.
    adjacency, a_nodes, b_nodes = ns["adjacency"], ns["a_nodes"], ns["b_nodes"]
    distances = shortest_path(scipy.sparse.csr_array(adjacency), directed=False)
    assert values["emd.wasserstein_graph(adjacency, a_nodes, b_nodes)"] == pytest.approx(
        pot_cost(a_nodes, b_nodes, distances), rel=1e-9)
    # "all pairs": each entry is the city-block distance of its pair.
    images = ns["list_of_images"]
    matrix = values["emd.pairwise(list_of_images, n_jobs=-1)"]
    assert matrix.shape == (len(images), len(images))
    for i in range(len(images)):
        assert matrix[i, i] == 0.0
        for j in range(i + 1, len(images)):
            expected = pot_cost(images[i].ravel(), images[j].ravel(),
                                metric_cost(coords, coords, "cityblock"))
            assert matrix[i, j] == matrix[j, i] == pytest.approx(expected, rel=1e-9)


# --------------------------------------------------------------------------- dual estimators


def test_dual_block(session):
    ns, values = _block(session, "from emd import dual")
    x, y, a, b, f, z = ns["x"], ns["y"], ns["a"], ns["b"], ns["f"], ns["z"]
    w1 = pot_cost(a, b, metric_cost(x, y, "euclidean"))
    assert f.value == pytest.approx(w1, rel=1e-9)  # "f.value == W1"
    # "1-Lipschitz on the whole space": on the README's points and the data.
    points = np.vstack([z, x[:50], y[:50]])
    values_at = f(points)
    np.testing.assert_array_equal(values["f(z)"], values_at[: len(z)])
    gaps = np.abs(values_at[:, None] - values_at[None, :])
    assert (gaps <= metric_cost(points, points, "euclidean") * (1 + 1e-12) + 1e-15).all()

    X, Y = ns["X"], ns["Y"]
    n, m = len(X), len(Y)
    plug_in = pot_cost(np.full(n, 1 / n), np.full(m, 1 / m), metric_cost(X, Y, "euclidean"))
    # P = N(0, I), Q = N((1, 0), I): a translation by a unit vector, so W1(P, Q) = 1.
    lower = values["dual.w1_heldout_lower(X, Y, seed=0)"]
    assert lower.lower <= 1.0
    bracket = values["dual.w1_bracket(X, Y, seed=0)"]
    assert bracket.lower <= 1.0 and bracket.upper == pytest.approx(plug_in, rel=1e-9)
    sliced, max_sliced = values["dual.sliced_w1(X, Y), dual.max_sliced_w1(X, Y)"]
    assert 0 < sliced.estimate <= max_sliced.estimate <= plug_in * (1 + 1e-12)  # "each <= W1"
    audit = values["dual.audit_critic(my_critic, X, Y)"]
    assert audit.flagged and 1.0 < audit.lipschitz_ratio <= 2.0 * (1 + 1e-12)


# --------------------------------------------------------------------------- many distributions


def test_dask_block_runs_on_a_local_cluster_and_closes_it(session):
    ns, _ = _block(session, "Client(")
    hists, matrix = ns["hists"], ns["D"]
    client = ns["client"]
    assert client.status == "closed"
    assert client.cluster is None or client.cluster.status.name == "closed"
    # The same values as the thread pool, each the city-block distance of its pair.
    np.testing.assert_array_equal(matrix, emd.pairwise(hists))
    coords = _grid_coords(hists[0].shape)
    assert matrix[0, 1] == pytest.approx(
        pot_cost(hists[0].ravel(), hists[1].ravel(), metric_cost(coords, coords, "cityblock")),
        rel=1e-9)


def test_pot_block(session):
    ns, values = _block(session, "import emd.compat.pot as ot")
    a, b, M = ns["a"], ns["b"], ns["M"]
    assert values["ot.emd2(a, b, M)"] == pytest.approx(ot.emd2(a, b, M), rel=1e-9)
    assert ns["ot"] is emd.compat.pot


def test_resumable_matrix_block(session):
    ns, _ = _block(session, 'out="D.npy"')
    stored = np.load(ns["__cwd__"] / "D.npy")
    # "the same bits as the in-memory emd.pairwise(hists)", "returned as a read-only
    # memory map".
    matrix = ns["D"]
    assert isinstance(matrix, np.memmap) and not matrix.flags.writeable
    np.testing.assert_array_equal(stored, emd.pairwise(ns["hists"]))
    np.testing.assert_array_equal(matrix, stored)


def test_knn_block(session):
    ns, values = _block(session, "emd.knn(queries")
    queries, database, result = ns["queries"], ns["database"], ns["result"]
    k = 5
    indices, distances = values["result.indices, result.distances"]
    assert indices.shape == distances.shape == (len(queries), k)
    brute = emd.cdist(queries, database)
    for q in range(len(queries)):
        order = np.lexsort((np.arange(len(database)), brute[q]))[:k]  # ties by index
        np.testing.assert_array_equal(indices[q], order)
        np.testing.assert_array_equal(distances[q], brute[q][order])  # the same bits
        coords = _grid_coords(queries[q].shape)
        cost = metric_cost(coords, coords, "cityblock")
        assert distances[q, 0] == pytest.approx(
            pot_cost(queries[q].ravel(), database[order[0]].ravel(), cost), rel=1e-9)
    n_solves, n_pairs = values["result.n_solves, result.n_pairs"]
    assert n_pairs == len(queries) * len(database) and k <= n_solves <= n_pairs
    assert result.n_solves == n_solves


# --------------------------------------------------------------------------- emd-compute

_OUTPUT_FLAGS = ("-o", "--output", "--plan", "--potentials", "--flows")
CLI_LINES = _cli_lines(README)


def test_the_cli_lines_name_files_that_exist():
    assert len(CLI_LINES) >= 6
    for line in CLI_LINES:
        argv = shlex.split(line, comments=True)[1:]
        outputs = {argv[k + 1] for k, arg in enumerate(argv) if arg in _OUTPUT_FLAGS}
        for arg in argv:
            if arg.startswith("-") or arg in outputs or not re.search(r"\.\w+$|\*", arg):
                continue
            assert list(ROOT.glob(arg)), f"{line!r} names {arg}, which is not in the checkout"


@pytest.mark.parametrize("line", CLI_LINES)
def test_cli_line_runs(line, tmp_path, monkeypatch, capsys):
    argv = shlex.split(line, comments=True)[1:]
    for k, arg in enumerate(argv[:-1]):
        if arg in _OUTPUT_FLAGS:
            argv[k + 1] = str(tmp_path / Path(argv[k + 1]).name)  # outputs to a temp dir
    monkeypatch.chdir(ROOT)
    try:
        status = emd.cli.main(argv)
    except SystemExit as stop:  # --help
        status = stop.code
    captured = capsys.readouterr()
    assert status == 0, captured.err
    for k, arg in enumerate(argv[:-1]):
        if arg in _OUTPUT_FLAGS:
            assert Path(argv[k + 1]).exists()
    if argv[:2] == ["examples/data/hist_a.csv", "examples/data/hist_b.csv"]:
        # Masses moved as given: the total (52) times scipy's distance of the 12 bins.
        a = np.loadtxt(ROOT / "examples/data/hist_a.csv", skiprows=1)
        b = np.loadtxt(ROOT / "examples/data/hist_b.csv", skiprows=1)
        bins = np.arange(a.size)
        assert float(captured.out) == pytest.approx(
            a.sum() * scipy.stats.wasserstein_distance(bins, bins, a, b), rel=1e-12)


# --------------------------------------------------------------------------- training


def test_training_block(session):
    pytest.importorskip("torch")
    ns, _ = _block(session, "emd.wasserstein_batch(fakes")
    fake, real = ns["fake"].detach().numpy(), ns["real"].numpy()
    n = len(fake)
    reference = pot_cost(np.full(n, 1 / n), np.full(n, 1 / n), metric_cost(fake, real, "euclidean"))
    assert ns["loss"].item() == pytest.approx(reference, rel=1e-9)  # "the exact W1"
    # "each point pulled along the plan": a sum of unit vectors weighted by its mass 1/n.
    grad = ns["fake"].grad.numpy()
    assert np.all(np.linalg.norm(grad, axis=1) <= (1 + 1e-12) / n)
    assert np.linalg.norm(grad, axis=1).min() > 0
    fakes, losses = ns["fakes"], ns["losses"]
    assert losses.shape == (64,) and fakes.grad.shape == fakes.shape
