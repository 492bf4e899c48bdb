"""Tests of the ``emd-compute`` command line tool (emd.cli, ``python -m emd``).

Most tests call :func:`emd.cli.main` in-process for speed; the ones that must
see the real console entry (exit status of the process, standard input,
tracebacks or their absence, files left behind) run it in a subprocess from a
temporary directory: the installed ``emd-compute`` script where the project is
installed in the running environment (as in CI), else ``python -m emd``.  Distances are checked against independent solvers:
:func:`scipy.stats.wasserstein_distance` in 1-D and POT's ``ot.emd2`` on an
explicit cost matrix otherwise.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from scipy.stats import wasserstein_distance

import emd
from emd.cli import main
from emd.io import read_cost_matrix, read_histogram

DATA = Path(__file__).resolve().parents[1] / "examples" / "data"
# Where the imported emd lives (the checkout with an in-place build, or
# site-packages): subprocesses must import the same package, not a source tree.
PACKAGE_ROOT = Path(emd.__file__).resolve().parents[1]

HIST_A = [0, 1, 3, 6, 10, 12, 10, 6, 3, 1, 0, 0]
HIST_B = [0, 0, 0, 1, 2, 4, 7, 10, 11, 9, 6, 2]
# scipy normalises both sides; the example histograms both carry mass 52.
W1_AB = 52 * wasserstein_distance(np.arange(12), np.arange(12), HIST_A, HIST_B)

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


# The console script of this environment, when the project is installed in it.
SCRIPT = Path(sys.executable).parent / "emd-compute"
COMMAND = [str(SCRIPT)] if SCRIPT.is_file() else [sys.executable, "-m", "emd"]


def run_cli(*args: object, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """Run ``emd-compute ARGS`` (or ``python -m emd ARGS``) as a separate process, from ``cwd``."""
    env = dict(os.environ)
    # The script and `python -m` must both import the package under test.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH")) if p)
    return subprocess.run(
        [*COMMAND, *map(str, args)],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


def call(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """Run :func:`main` in-process; return ``(status, stdout, stderr)``."""
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def one_line(err: str, *fragments: str) -> str:
    """Assert ``err`` is one ``emd-compute:`` line holding every fragment; return it."""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("emd-compute: "), line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


def distance_of(out: str) -> float:
    return float(out.splitlines()[0])


def labelled_matrix(text: str, delimiter: str = ",") -> tuple[list[str], np.ndarray]:
    """The file names of the first row and the matrix below them (a --pairwise CSV)."""
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    return rows[0], np.array([[float(x) for x in row] for row in rows[1:]])


def grid_reference(a: np.ndarray, b: np.ndarray, metric: str) -> float:
    """W1 between normalised grids by POT on the dense cost between bin coordinates."""
    ot = pytest.importorskip("ot")
    coords = np.indices(a.shape).reshape(a.ndim, -1).T.astype(float)
    cost = cdist(coords, coords, metric=metric)
    return float(ot.emd2(a.ravel() / a.sum(), b.ravel() / b.sum(), cost))


def points_reference(path_a: Path, path_b: Path, metric: str) -> float:
    ot = pytest.importorskip("ot")
    ha, hb = read_histogram(path_a), read_histogram(path_b)
    cost = cdist(ha.positions, hb.positions, metric=metric)
    return float(ot.emd2(ha.weights, hb.weights, cost))


def npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def write_formats(tmp_path: Path, weights: list[float], stem: str) -> dict[str, Path]:
    """The same 1-D histogram in every text and binary format the reader knows."""
    arr = np.asarray(weights, dtype=float)
    paths = {}
    for ext, delim_header in ((".csv", "weight\n"), (".tsv", ""), (".txt", "# bins\n")):
        paths[ext] = tmp_path / f"{stem}{ext}"
        paths[ext].write_text(delim_header + "\n".join(map(str, weights)) + "\n")
    paths[".json"] = tmp_path / f"{stem}.json"
    paths[".json"].write_text(json.dumps(weights))
    paths[".npy"] = tmp_path / f"{stem}.npy"
    np.save(paths[".npy"], arr)
    paths[".npz"] = tmp_path / f"{stem}.npz"
    np.savez(paths[".npz"], weights=arr)
    return paths


# ---------------------------------------------------------------------------
# The real console entry
# ---------------------------------------------------------------------------


def test_console_entry_prints_the_distance(tmp_path):
    proc = run_cli(DATA / "hist_a.csv", DATA / "hist_b.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""
    assert float(proc.stdout.decode()) == pytest.approx(W1_AB, rel=1e-12)


def test_console_entry_reads_standard_input(tmp_path):
    data = (DATA / "hist_a.csv").read_bytes()
    proc = run_cli("-", DATA / "hist_b.csv", "--json", cwd=tmp_path, stdin=data)
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["inputs"][0] == "<stdin>"
    assert record["distance"] == pytest.approx(W1_AB, rel=1e-12)


def test_console_entry_error_is_one_line_without_traceback(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("weight\n1\n-2\n3\n")
    plan = tmp_path / "plan.csv"
    proc = run_cli(bad, DATA / "hist_b.csv", "--plan", plan, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == b""
    one_line(proc.stderr.decode(), str(bad), "negative weight", "line 3")
    assert not plan.exists()
    assert list(tmp_path.iterdir()) == [bad]

    proc = run_cli(bad, DATA / "hist_b.csv", "--debug", cwd=tmp_path)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "Traceback" in err
    assert err.splitlines()[-1].startswith(f"emd-compute: {bad}: ")


def test_console_entry_usage_error(tmp_path):
    proc = run_cli("--metric", "hamming", DATA / "hist_a.csv", DATA / "hist_b.csv", cwd=tmp_path)
    assert proc.returncode == 2
    one_line(proc.stderr.decode(), "--metric", "hamming")


def test_console_entry_stopped_solver(tmp_path):
    plan = tmp_path / "plan.csv"
    proc = run_cli(
        DATA / "points_a.csv",
        DATA / "points_b.csv",
        "--max-iter",
        "2",
        "--plan",
        plan,
        cwd=tmp_path,
    )
    assert proc.returncode == 3
    one_line(proc.stderr.decode(), "warning", "max_iter_reached", "upper bound")
    assert "Traceback" not in proc.stderr.decode()
    # Feasible, hence no smaller than the optimum.
    assert float(proc.stdout) >= points_reference(
        DATA / "points_a.csv", DATA / "points_b.csv", "euclidean"
    ) * (1 - 1e-12)
    assert not plan.exists()


def test_console_entry_help_and_version(tmp_path):
    proc = run_cli("--help", cwd=tmp_path)
    assert proc.returncode == 0
    text = proc.stdout.decode()
    for fragment in (
        "examples:",
        "--pairwise",
        "--check-pot",
        "cityblock for grids",
        "exit status",
    ):
        assert fragment in text
    proc = run_cli("--version", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.decode().split() == ["emd-compute", emd.__version__]


@pytest.mark.skipif(
    not SCRIPT.is_file(), reason="emd-ot is not installed in this environment"
)
def test_installed_console_script(tmp_path):
    proc = subprocess.run(
        [str(SCRIPT), str(DATA / "hist_a.csv"), str(DATA / "hist_b.csv")],
        capture_output=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout) == pytest.approx(W1_AB, rel=1e-12)


# ---------------------------------------------------------------------------
# Input formats
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("ext", [".csv", ".tsv", ".txt", ".json", ".npy", ".npz"])
def test_every_1d_format(capsys, tmp_path, ext):
    a = write_formats(tmp_path, HIST_A, "a")[ext]
    b = write_formats(tmp_path, HIST_B, "b")[ext]
    status, out, err = call(capsys, a, b)
    assert (status, err) == (0, "")
    assert distance_of(out) == pytest.approx(W1_AB, rel=1e-12)


def test_json_histogram_example(capsys):
    # hist_c.json is bimodal: its mass has to travel from both ends.
    hist_c = json.loads((DATA / "hist_c.json").read_text())
    expected = 52 * wasserstein_distance(np.arange(12), np.arange(12), HIST_A, hist_c)
    status, out, _ = call(capsys, DATA / "hist_a.csv", DATA / "hist_c.json")
    assert status == 0
    assert distance_of(out) == pytest.approx(expected, rel=1e-12)


def test_points_with_unequal_sizes(capsys, tmp_path):
    ot = pytest.importorskip("ot")
    a = tmp_path / "a.json"
    a.write_text(json.dumps({"positions": [[0, 0], [1, 0], [4, 3]], "weights": [1, 2, 3]}))
    b = tmp_path / "b.npz"
    np.savez(b, positions=np.array([[0.5, 0.5], [2.0, 2.0]]), weights=np.array([4.0, 2.0]))
    status, out, _ = call(capsys, a, b)
    assert status == 0
    cost = cdist([[0, 0], [1, 0], [4, 3]], [[0.5, 0.5], [2.0, 2.0]])
    assert distance_of(out) == pytest.approx(ot.emd2([1, 2, 3], [4.0, 2.0], cost), rel=1e-12)


def test_images_and_grid_tables_agree(capsys):
    pytest.importorskip("PIL")
    status, from_png, _ = call(capsys, "--normalize", DATA / "image_a.png", DATA / "image_b.png")
    assert status == 0
    status, from_csv, _ = call(
        capsys, "--normalize", "--grid", DATA / "image_a.csv", DATA / "image_b.csv"
    )
    assert status == 0
    assert distance_of(from_png) == distance_of(from_csv)
    a = np.loadtxt(DATA / "image_a.csv", delimiter=",")
    b = np.loadtxt(DATA / "image_b.csv", delimiter=",")
    assert distance_of(from_png) == pytest.approx(grid_reference(a, b, "cityblock"), rel=1e-9)


def test_grid_csv_without_grid_flag_is_refused(capsys):
    # 16 columns read as 15 coordinates and a weight column that is all zero.
    status, _, err = call(capsys, DATA / "image_a.csv", DATA / "image_b.csv")
    assert status == 2
    one_line(err, "image_a.csv", "zero total mass")


def test_npy_grids_in_3d(capsys, tmp_path):
    rng = np.random.default_rng(3)
    a, b = rng.random((3, 4, 2)), rng.random((3, 4, 2))
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    for metric in ("cityblock", "chebyshev"):
        status, out, _ = call(
            capsys, tmp_path / "a.npy", tmp_path / "b.npy", "--normalize", "--metric", metric
        )
        assert status == 0
        assert distance_of(out) == pytest.approx(grid_reference(a, b, metric), rel=1e-9)
    status, out, _ = call(
        capsys,
        tmp_path / "a.npy",
        tmp_path / "b.npy",
        "--normalize",
        "--metric",
        "euclidean",
        "--exact",
    )
    assert status == 0
    assert distance_of(out) == pytest.approx(grid_reference(a, b, "euclidean"), rel=1e-9)


def test_points_flag_reads_arrays_as_rows(capsys, tmp_path):
    # Rows [x, weight]: the same 1-D problem with the bins spread out by 2.
    a = np.column_stack([2.0 * np.arange(12), HIST_A])
    b = np.column_stack([2.0 * np.arange(12), HIST_B])
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    status, out, _ = call(capsys, "--points", tmp_path / "a.npy", tmp_path / "b.npy")
    assert status == 0
    assert distance_of(out) == pytest.approx(2 * W1_AB, rel=1e-12)
    # Without --points the same arrays are 12 x 2 grids.
    status, out, _ = call(capsys, "--json", tmp_path / "a.npy", tmp_path / "b.npy")
    assert status == 0
    assert json.loads(out)["shapes"] == [[12, 2], [12, 2]]


def test_weights_against_a_point_set_sit_at_integer_positions(capsys, tmp_path):
    b = tmp_path / "b.csv"
    b.write_text("x,w\n" + "".join(f"{i},{w}\n" for i, w in enumerate(HIST_B)))
    status, out, _ = call(capsys, "--json", DATA / "hist_a.csv", b)
    assert status == 0
    record = json.loads(out)
    assert record["kinds"] == ["grid", "points"]
    assert record["solver"] == "points"
    assert record["distance"] == pytest.approx(W1_AB, rel=1e-12)


def test_standard_input_in_process(capsys, monkeypatch):
    data = npy_bytes(np.asarray(HIST_B, dtype=float))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    status, out, _ = call(capsys, DATA / "hist_a.csv", "-")
    assert status == 0
    assert distance_of(out) == pytest.approx(W1_AB, rel=1e-12)


# ---------------------------------------------------------------------------
# Metrics, normalisation and the cost matrix
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("metric", ["euclidean", "cityblock", "chebyshev", "sqeuclidean"])
def test_point_metrics_against_pot(capsys, metric):
    a, b = DATA / "points_a.csv", DATA / "points_b.csv"
    status, out, _ = call(capsys, "--metric", metric, a, b)
    assert status == 0
    assert distance_of(out) == pytest.approx(points_reference(a, b, metric), rel=1e-9)


@pytest.mark.parametrize("metric", ["cityblock", "chebyshev", "sqeuclidean"])
def test_grid_metrics_against_pot(capsys, metric):
    pytest.importorskip("PIL")
    status, out, _ = call(
        capsys, "--normalize", "--metric", metric, DATA / "image_a.png", DATA / "image_b.png"
    )
    assert status == 0
    a = np.loadtxt(DATA / "image_a.csv", delimiter=",")
    b = np.loadtxt(DATA / "image_b.csv", delimiter=",")
    assert distance_of(out) == pytest.approx(grid_reference(a, b, metric), rel=1e-9)


def test_euclidean_grid_within_its_bound_and_exact(capsys):
    pytest.importorskip("PIL")
    a = np.loadtxt(DATA / "image_a.csv", delimiter=",")
    b = np.loadtxt(DATA / "image_b.csv", delimiter=",")
    exact = grid_reference(a, b, "euclidean")
    args = ("--normalize", "--metric", "euclidean", DATA / "image_a.png", DATA / "image_b.png")
    status, out, _ = call(capsys, *args, "--json")
    assert status == 0
    record = json.loads(out)
    bound = record["rel_error_bound"]
    assert 0 < bound < 0.05
    assert exact * (1 - 1e-12) <= record["distance"] <= exact * (1 + bound) * (1 + 1e-12)

    status, out, _ = call(capsys, *args, "--max-rel-error", "0.002", "--json")
    assert status == 0
    tighter = json.loads(out)
    assert tighter["rel_error_bound"] <= 0.002
    assert exact * (1 - 1e-12) <= tighter["distance"] <= record["distance"] * (1 + 1e-12)

    status, out, _ = call(capsys, *args, "--exact")
    assert status == 0
    assert distance_of(out) == pytest.approx(exact, rel=1e-9)


def test_normalize(capsys, tmp_path):
    doubled = tmp_path / "doubled.json"
    doubled.write_text(json.dumps([2 * w for w in HIST_B]))
    status, _, err = call(capsys, DATA / "hist_a.csv", doubled)
    assert status == 2
    one_line(err, "hist_a.csv", "doubled.json", "unequal total mass", "--normalize")
    status, out, _ = call(capsys, "--normalize", DATA / "hist_a.csv", doubled)
    assert status == 0
    assert distance_of(out) == pytest.approx(W1_AB / 52, rel=1e-12)


def test_cost_matrix(capsys, tmp_path):
    ot = pytest.importorskip("ot")
    rng = np.random.default_rng(7)
    cost = rng.random((12, 12)) * 10
    path = tmp_path / "cost.csv"
    np.savetxt(path, cost, delimiter=",")
    status, out, _ = call(capsys, "--cost", path, DATA / "hist_a.csv", DATA / "hist_b.csv")
    assert status == 0
    a, b = np.asarray(HIST_A, float), np.asarray(HIST_B, float)
    assert distance_of(out) == pytest.approx(
        ot.emd2(a, b, np.loadtxt(path, delimiter=",")), rel=1e-9
    )

    # |i - j| as an explicit matrix gives back the 1-D distance.
    line = np.abs(np.subtract.outer(np.arange(12.0), np.arange(12.0)))
    np.save(tmp_path / "line.npy", line)
    status, out, _ = call(
        capsys, "--cost", tmp_path / "line.npy", DATA / "hist_a.csv", DATA / "hist_b.csv"
    )
    assert status == 0
    assert distance_of(out) == pytest.approx(W1_AB, rel=1e-12)


def test_cost_matrix_flattens_grids(capsys, tmp_path):
    a = np.array([[1.0, 0.0], [0.0, 1.0]])
    b = np.array([[0.0, 1.0], [1.0, 0.0]])
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    coords = np.indices(a.shape).reshape(2, -1).T
    np.save(tmp_path / "cost.npy", cdist(coords, coords, "cityblock"))
    status, out, _ = call(
        capsys, "--cost", tmp_path / "cost.npy", tmp_path / "a.npy", tmp_path / "b.npy"
    )
    assert status == 0
    assert distance_of(out) == 2.0


# ---------------------------------------------------------------------------
# --json, --plan, --potentials
# ---------------------------------------------------------------------------


def test_json_record_points(capsys):
    status, out, err = call(capsys, "--json", DATA / "points_a.csv", DATA / "points_b.csv")
    assert (status, err) == (0, "")
    record = json.loads(out)
    assert record["distance"] == pytest.approx(
        points_reference(DATA / "points_a.csv", DATA / "points_b.csv", "euclidean"), rel=1e-9
    )
    assert record["metric"] == "euclidean"
    assert record["solver"] == "points"
    assert record["sizes"] == [20, 20]
    assert record["shapes"] == [[20, 2], [20, 2]]
    assert record["masses"] == [50.0, 50.0]
    assert record["status"] == "optimal" and record["optimal"] is True
    assert record["n_iter"] > 0
    cert = record["certificate"]
    assert cert["optimal"] is True
    assert cert["relative_gap"] < 1e-9
    assert cert["max_dual_violation"] < 1e-9
    assert cert["marginal_error"] < 1e-9 and cert["bound"] <= 1e-9 * record["distance"]
    assert record["rel_error_bound"] is None
    assert 0 <= record["solve_time_s"] <= record["wall_time_s"]
    assert record["version"] == emd.__version__


def test_json_record_grid(capsys):
    status, out, _ = call(capsys, "--json", DATA / "hist_a.csv", DATA / "hist_b.csv")
    assert status == 0
    record = json.loads(out)
    assert record["metric"] == "cityblock"
    assert record["solver"] == "grid"
    assert record["kinds"] == ["grid", "grid"]
    assert record["shapes"] == [[12], [12]]
    assert record["rel_error_bound"] == 0.0
    assert record["certificate"]["optimal"] is True and record["certificate"]["bound"] == 0.0
    assert record["distance"] == pytest.approx(W1_AB, rel=1e-12)


def read_triplets(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if path.suffix == ".npz":
        with np.load(path) as data:
            return data["rows"], data["cols"], data["masses"]
    delimiter = {".csv": ",", ".tsv": "\t"}[path.suffix]
    table = np.loadtxt(path, delimiter=delimiter, skiprows=1, ndmin=2)
    assert path.read_text().splitlines()[0] == delimiter.join(("source", "target", "mass"))
    return table[:, 0].astype(int), table[:, 1].astype(int), table[:, 2]


@pytest.mark.parametrize("ext", [".csv", ".npz"])
def test_plan_and_duals_for_points(capsys, tmp_path, ext):
    plan, duals = tmp_path / f"plan{ext}", tmp_path / f"duals{ext}"
    a, b = DATA / "points_a.csv", DATA / "points_b.csv"
    status, out, _ = call(capsys, a, b, "--plan", plan, "--potentials", duals)
    assert status == 0
    distance = distance_of(out)
    ha, hb = read_histogram(a), read_histogram(b)
    cost = cdist(ha.positions, hb.positions)

    rows, cols, masses = read_triplets(plan)
    assert np.all(masses > 0)
    assert np.bincount(rows, masses, minlength=20) == pytest.approx(ha.weights)
    assert np.bincount(cols, masses, minlength=20) == pytest.approx(hb.weights)
    assert np.sum(masses * cost[rows, cols]) == pytest.approx(distance, rel=1e-12)

    if ext == ".npz":
        with np.load(duals) as data:
            u, v = data["u"], data["v"]
    else:
        lines = duals.read_text().splitlines()
        assert lines[0] == "side,index,potential"
        sides = [line.split(",") for line in lines[1:]]
        u = np.array([float(p) for s, _, p in sides if s == "a"])
        v = np.array([float(p) for s, _, p in sides if s == "b"])
    # Dual feasibility and strong duality.
    assert np.all(u[:, None] + v[None, :] <= cost + 1e-9)
    assert u @ ha.weights + v @ hb.weights == pytest.approx(distance, rel=1e-9)


def test_plan_flows_and_potentials_for_1d_grid(capsys, tmp_path):
    plan, flows, pot = tmp_path / "plan.tsv", tmp_path / "flows.tsv", tmp_path / "f.txt"
    status, _, _ = call(
        capsys, DATA / "hist_a.csv", DATA / "hist_b.csv",
        "--plan", plan, "--flows", flows, "--potentials", pot,
    )  # fmt: skip
    assert status == 0
    # The plan is a coupling: bin i of A to bin j of B, marginals A and B, cost W1.
    rows, cols, masses = read_triplets(plan)
    np.testing.assert_allclose(np.bincount(rows, masses, minlength=12), HIST_A, atol=1e-12)
    np.testing.assert_allclose(np.bincount(cols, masses, minlength=12), HIST_B, atol=1e-12)
    assert masses @ np.abs(rows - cols) == pytest.approx(W1_AB, rel=1e-12)
    assert masses.size <= np.count_nonzero(HIST_A) + np.count_nonzero(HIST_B) - 1

    lines = flows.read_text().splitlines()
    assert lines[0] == "tail\thead\tflow"
    table = np.array([[float(x) for x in line.split("\t")] for line in lines[1:]])
    # 1-D cityblock flows run between neighbouring bins at unit cost.
    assert np.all(np.abs(table[:, 0] - table[:, 1]) == 1)
    assert table[:, 2].sum() == pytest.approx(W1_AB, rel=1e-12)

    lines = pot.read_text().splitlines()
    assert lines[0] == "potential"
    f = np.array([float(x) for x in lines[1:]])
    assert np.all(np.abs(np.diff(f)) <= 1 + 1e-12)
    assert np.dot(np.subtract(HIST_A, HIST_B), f) == pytest.approx(W1_AB, rel=1e-12)


@pytest.mark.parametrize("metric", ["cityblock", "chebyshev", "euclidean"])
def test_grid_plan_is_a_basic_coupling(capsys, tmp_path, metric):
    pytest.importorskip("PIL")
    plan, flows = tmp_path / "plan.npz", tmp_path / "flows.npz"
    args = [DATA / "image_a.png", DATA / "image_b.png", "--normalize", "--metric", metric]
    status, out, err = call(capsys, *args, "--plan", plan, "--flows", flows, "--json")
    assert (status, err) == (0, "")
    distance = json.loads(out)["distance"]
    a = read_histogram(DATA / "image_a.png").weights
    b = read_histogram(DATA / "image_b.png").weights
    a, b = a / a.sum(), b / b.sum()
    with np.load(plan) as data:
        rows, cols, masses = data["rows"], data["cols"], data["masses"]
    np.testing.assert_allclose(np.bincount(rows, masses, minlength=a.size), a.ravel(), atol=1e-14)
    np.testing.assert_allclose(np.bincount(cols, masses, minlength=b.size), b.ravel(), atol=1e-14)
    assert masses.size <= np.count_nonzero(a) + np.count_nonzero(b) - 1
    coords = np.indices(a.shape).reshape(2, -1).T
    plan_cost = masses @ cdist(coords, coords, metric)[rows, cols]
    exact = grid_reference(a, b, metric)
    if metric == "euclidean":
        # The graph approximation: its plan lies between the exact W1 and the bound.
        assert exact * (1 - 1e-12) <= plan_cost <= distance * (1 + 1e-12)
    else:
        assert plan_cost == pytest.approx(exact, rel=1e-12)
        assert distance == pytest.approx(exact, rel=1e-12)
    with np.load(flows) as data:
        assert sorted(data.files) == ["flow", "head", "tail"]


def test_plain_output_marks_the_euclidean_approximation(capsys):
    pytest.importorskip("PIL")
    args = [DATA / "image_a.png", DATA / "image_b.png", "--normalize", "--metric", "euclidean"]
    status, out, _ = call(capsys, *args)
    assert status == 0
    value, note = out.splitlines()
    record = json.loads(call(capsys, *args, "--json")[1])
    bound = record["rel_error_bound"]
    assert float(value) == record["distance"] and bound > 0
    assert note.startswith("approximation: ") and f"{bound:.3g}" in note
    assert repr(float(value) / (1 + bound)) in note
    # Exact solves print the bare number.
    status, out, _ = call(capsys, *args, "--exact")
    assert len(out.splitlines()) == 1


@pytest.mark.parametrize("ext", [".csv", ".npy", ".npz"])
def test_potentials_for_2d_grid(capsys, tmp_path, ext):
    pytest.importorskip("PIL")
    pot = tmp_path / f"witness{ext}"
    status, out, _ = call(
        capsys, "--normalize", DATA / "image_a.png", DATA / "image_b.png", "--potentials", pot
    )
    assert status == 0
    if ext == ".csv":
        f = np.loadtxt(pot, delimiter=",")
    elif ext == ".npy":
        f = np.load(pot)
    else:
        with np.load(pot) as data:
            f = data["potential"]
    assert f.shape == (16, 16)
    a = np.loadtxt(DATA / "image_a.csv", delimiter=",")
    b = np.loadtxt(DATA / "image_b.csv", delimiter=",")
    assert np.sum((a / a.sum() - b / b.sum()) * f) == pytest.approx(distance_of(out), rel=1e-9)
    # 1-Lipschitz in the city-block metric: neighbours differ by at most 1.
    assert np.abs(np.diff(f, axis=0)).max() <= 1 + 1e-9
    assert np.abs(np.diff(f, axis=1)).max() <= 1 + 1e-9


def test_plan_with_cost_matrix(capsys, tmp_path):
    cost = np.abs(np.subtract.outer(np.arange(12.0), np.arange(12.0))) ** 1.5
    np.save(tmp_path / "cost.npy", cost)
    plan = tmp_path / "plan.csv"
    status, out, _ = call(
        capsys,
        "--cost",
        tmp_path / "cost.npy",
        DATA / "hist_a.csv",
        DATA / "hist_c.json",
        "--plan",
        plan,
        "--json",
    )
    assert status == 0
    record = json.loads(out)
    assert record["solver"] == "cost" and record["metric"] is None
    assert record["cost_matrix"] == str(tmp_path / "cost.npy")
    rows, cols, masses = read_triplets(plan)
    assert np.sum(masses * cost[rows, cols]) == pytest.approx(record["distance"], rel=1e-12)


# ---------------------------------------------------------------------------
# --check-pot
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        (DATA / "points_a.csv", DATA / "points_b.csv"),
        (DATA / "hist_a.csv", DATA / "hist_c.json", "--metric", "chebyshev"),
        ("--normalize", DATA / "image_a.png", DATA / "image_b.png", "--metric", "euclidean"),
    ],
    ids=["points", "1d", "euclidean-grid"],
)
def test_check_pot_agrees(capsys, args):
    pytest.importorskip("ot")
    if any(str(a).endswith(".png") for a in args):
        pytest.importorskip("PIL")
    status, out, err = call(capsys, *args, "--check-pot")
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[-1].startswith("POT ot.emd2: ")
    # A euclidean grid value is an approximation, and plain output says so.
    approximate = "euclidean" in map(str, args)
    assert len(lines) == 2 + approximate
    assert lines[1].startswith("approximation: ") == approximate
    status, out, _ = call(capsys, *args, "--check-pot", "--json")
    assert status == 0
    check = json.loads(out)["check_pot"]
    assert check["agrees"] is True
    assert check["rel_difference"] <= check["tolerance"]
    assert check["distance"] == pytest.approx(json.loads(out)["distance"], rel=0.02)


def test_check_pot_disagreement(capsys, tmp_path, monkeypatch):
    ot = pytest.importorskip("ot")
    monkeypatch.setattr(ot, "emd2", lambda *args, **kwargs: 1.0)
    plan = tmp_path / "plan.csv"
    status, out, err = call(
        capsys, DATA / "points_a.csv", DATA / "points_b.csv", "--check-pot", "--plan", plan
    )
    assert status == 4
    one_line(err, "warning", "POT")
    assert len(out.splitlines()) == 2
    assert not plan.exists()


def test_check_pot_without_pot(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ot", None)  # import ot now raises ImportError
    status, out, err = call(capsys, DATA / "hist_a.csv", DATA / "hist_b.csv", "--check-pot")
    assert (status, out) == (2, "")
    one_line(err, "--check-pot", "pip install pot")


# ---------------------------------------------------------------------------
# Errors: one line, status 2, nothing written
# ---------------------------------------------------------------------------


def error_cases(tmp: Path) -> list[tuple[list[object], list[str]]]:
    """(arguments, fragments of the error line) for every input or usage error."""
    (tmp / "neg.csv").write_text("weight\n1\n-1\n2\n")
    (tmp / "nan.json").write_text("[1, NaN, 2]")
    (tmp / "text.csv").write_text("weight\n1\nabc\n")
    (tmp / "empty.csv").write_text("")
    (tmp / "garbage.npy").write_bytes(b"not numpy at all")
    (tmp / "hist.xyz").write_text("1\n2\n")
    (tmp / "short.csv").write_text("1\n2\n3\n")
    (tmp / "grid.npy").write_bytes(npy_bytes(np.ones((3, 4))))
    (tmp / "grid2.npy").write_bytes(npy_bytes(np.ones((4, 3))))
    (tmp / "cube.npy").write_bytes(npy_bytes(np.ones((2, 2, 3))))
    (tmp / "cube4.npy").write_bytes(npy_bytes(np.ones((4, 4, 4))))
    (tmp / "line.npy").write_bytes(npy_bytes(np.ones(5)))
    np.save(tmp / "cost.npy", np.ones((12, 11)))
    (tmp / "index.csv").write_text(",x,y,weight\n0,3.5,2,1\n")
    (tmp / "x").mkdir()
    (tmp / "link.csv").symlink_to(DATA / "hist_b.csv")
    a, b, p = DATA / "hist_a.csv", DATA / "hist_b.csv", DATA / "points_a.csv"
    return [
        ([tmp / "missing.csv", b], ["missing.csv", "no such file"]),
        ([a, tmp / "hist.xyz"], ["hist.xyz", "unknown extension"]),
        ([tmp / "neg.csv", b], ["neg.csv", "negative weight"]),
        ([a, tmp / "nan.json"], ["nan.json"]),
        ([tmp / "text.csv", b], ["text.csv", "'abc'"]),
        ([tmp / "empty.csv", b], ["empty.csv", "empty"]),
        ([tmp / "garbage.npy", b], ["garbage.npy", "not a NumPy"]),
        # 1-D files of other lengths lie on one line; these masses differ.
        ([a, tmp / "short.csv"], ["short.csv", "hist_a.csv", "unequal total mass", "--normalize"]),
        ([tmp / "grid.npy", tmp / "grid2.npy", "--normalize"], ["grid2.npy", "4 x 3", "3 x 4"]),
        ([DATA / "image_a.csv", DATA / "image_b.csv"], ["image_a.csv", "--grid", "16 x 16"]),
        ([tmp / "index.csv", p], ["index.csv", "row index"]),
        ([a, b, "--plan", a], ["--plan", "same file as input A"]),
        ([a, b, "--potentials", tmp / "link.csv"], ["link.csv", "same file as input B"]),
        ([a, b, "--plan", tmp / "o.csv", "--flows", tmp / "." / "o.csv"], ["--plan and --flows"]),
        ([a, b, "--plan", tmp / "o.csv", "--potentials", tmp / "x" / ".." / "o.csv"], ["same file"]),
        ([a, b, "--cost", tmp / "cost.npy", "--plan", tmp / "cost.npy"], ["the --cost matrix"]),
        ([a, b, "--plan", tmp / ("x" * 300 + ".csv")], ["file name too long"]),
        ([p, DATA / "points_b.csv", "--flows", tmp / "f.csv"], ["--flows", "use --plan"]),
        ([p, a], ["hist_a.csv", "2-D", "1-D"]),
        (
            [a, DATA / "hist_c.json", "--cost", tmp / "cost.npy"],
            ["cost.npy", "(12, 11)", "(12, 12)"],
        ),
        ([p, b, "--cost", tmp / "cost.npy"], ["points_a.csv", "--cost", "point set"]),
        ([a, b, "--cost", tmp / "cost.npy", "--metric", "cityblock"], ["--metric", "--cost"]),
        (
            [tmp / "cube.npy", tmp / "cube.npy", "--metric", "euclidean", "--volume"],
            ["3-D", "--exact"],
        ),
        # Shaped like colour images: the file and the flag, no Python argument.
        ([tmp / "cube.npy", tmp / "cube.npy"], ["cube.npy", "2 x 2 x 3", "--volume"]),
        ([tmp / "cube4.npy", tmp / "cube4.npy"], ["cube4.npy", "4 x 4 x 4", "--volume"]),
        (["--pairwise", tmp / "cube.npy", tmp / "cube.npy"], ["cube.npy", "--volume"]),
        (
            [DATA / "image_a.png", DATA / "image_b.png", "--normalize", "--metric", "euclidean",
             "--max-rel-error", "1e-9"],
            ["--max-rel-error", "--exact"],
        ),
        ([tmp / "line.npy", tmp / "line.npy", "--points"], ["line.npy", "as a point set"]),
        ([DATA / "image_a.png", DATA / "image_b.png", "--points"], ["image_a.png", "is a grid"]),
        ([p, DATA / "points_b.csv", "--exact"], ["--exact"]),
        ([a, b, "--plan", tmp / "plan.png"], ["plan.png", "extension"]),
        ([a, b, "--plan", tmp / "no" / "plan.csv"], ["plan.csv", "does not exist"]),
        ([p, DATA / "points_b.csv", "--potentials", tmp / "duals.npy"], ["duals.npy", ".npz"]),
        ([a, b, "--plan", "-"], ["plan", "file name"]),
        (["-", "-"], ["standard input", "once"]),
        ([a], ["two inputs"]),
        ([a, b, "c.csv"], ["unrecognized arguments"]),
        ([a, b, "--metric", "hamming"], ["--metric", "invalid choice"]),
        ([a, b, "--max-iter", "0"], ["--max-iter", "positive integer"]),
        ([a, b, "--grid", "--points"], ["--points", "not allowed"]),
        ([a, b, "-o", tmp / "out.csv"], ["--output", "--pairwise"]),
        ([a, b, "--jobs", "2"], ["--jobs", "--pairwise"]),
    ]


# A Python argument in a message (volume=True, kind='points', metric='euclidean'):
# the command line has flags, not arguments.
PYTHON_ARGUMENT = re.compile(r"\b[a-z_]+=(True|False|None|'|\"|\d)")


def test_error_paths_in_process(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"1\n2\n")))
    for args, fragments in error_cases(tmp_path):
        before = sorted(tmp_path.iterdir())
        status, out, err = call(capsys, *args)
        assert status == 2, (args, err)
        assert out == "", args
        line = one_line(err, *fragments)
        # pandas' own call that writes the file right is advice, not our argument.
        assert not PYTHON_ARGUMENT.search(re.sub(r"to_csv\([^)]*\)", "", line)), line
        # Output files named in the failing runs must not appear.
        assert sorted(tmp_path.iterdir()) == before


def test_error_paths_leave_no_output(capsys, tmp_path):
    plan, pot = tmp_path / "plan.csv", tmp_path / "pot.csv"
    plan.write_text("old\n")
    status, _, err = call(
        capsys, tmp_path / "missing.csv", DATA / "hist_b.csv", "--plan", plan, "--potentials", pot
    )
    assert status == 2
    one_line(err, "missing.csv")
    assert plan.read_text() == "old\n"
    assert not pot.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.csv"]


def test_stopped_solver_on_a_grid(capsys, tmp_path):
    pot = tmp_path / "f.npy"
    # A 2-D grid: on a line the closed form needs no iterations to stop early.
    status, out, err = call(
        capsys,
        DATA / "image_a.png",
        DATA / "image_b.png",
        "--normalize",
        "--max-iter",
        "1",
        "--potentials",
        pot,
        "--json",
    )
    assert status == 3
    one_line(err, "warning", "before optimality")
    assert json.loads(out)["status"] == "max_iter_reached"
    assert not pot.exists()


def test_internal_error(capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(emd, "solve_points", broken)
    args = (DATA / "points_a.csv", DATA / "points_b.csv", "--json")
    status, out, err = call(capsys, *args)
    assert (status, out) == (1, "")
    one_line(err, "internal error", "simulated bug", "--debug")
    status, _, err = call(capsys, *args, "--debug")
    assert status == 1
    assert "Traceback" in err and "simulated bug" in err


def test_help_and_version_in_process(capsys):
    status, out, _ = call(capsys, "--help")
    assert status == 0
    assert "emd-compute --pairwise" in out
    status, out, _ = call(capsys, "--version")
    assert (status, out.strip()) == (0, f"emd-compute {emd.__version__}")


def test_module_entry_exits_with_main_status(capsys, monkeypatch):
    import runpy

    monkeypatch.setattr(sys, "argv", ["emd", str(DATA / "missing.csv"), str(DATA / "hist_b.csv")])
    with pytest.raises(SystemExit) as exc:
        runpy.run_module("emd", run_name="__main__")
    assert exc.value.code == 2
    one_line(capsys.readouterr().err, "missing.csv")


# ---------------------------------------------------------------------------
# --pairwise
# ---------------------------------------------------------------------------


@pytest.fixture
def histogram_dir(tmp_path: Path) -> Path:
    """Four 1-D histograms of mass 52 in four formats."""
    folder = tmp_path / "hists"
    folder.mkdir()
    shutil.copy(DATA / "hist_a.csv", folder / "a.csv")
    shutil.copy(DATA / "hist_b.csv", folder / "b.csv")
    shutil.copy(DATA / "hist_c.json", folder / "c.json")
    np.save(folder / "d.npy", np.full(12, 52 / 12))
    (folder / "notes.md").write_text("not a histogram\n")
    return folder


def pairwise_reference(folder: Path) -> np.ndarray:
    hists = [read_histogram(p).weights for p in sorted(folder.glob("[abcd].*"))]
    x = np.arange(12)
    return np.array([[52 * wasserstein_distance(x, x, u, v) for v in hists] for u in hists])


def test_pairwise_console_entry(tmp_path, histogram_dir):
    out = tmp_path / "d.npy"
    proc = run_cli("--pairwise", histogram_dir, "--jobs", "2", "-o", out, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    # stderr is a pipe, not a terminal: no progress bar.
    assert proc.stderr == b"" and proc.stdout == b""
    np.testing.assert_allclose(
        np.load(out), pairwise_reference(histogram_dir), rtol=1e-12, atol=1e-12
    )


def test_pairwise_to_stdout_and_csv(capsys, tmp_path, histogram_dir):
    expected = pairwise_reference(histogram_dir)
    files = sorted(histogram_dir.glob("[abcd].*"))
    status, out, err = call(capsys, "--pairwise", *files)
    assert (status, err) == (0, "")
    names, matrix = labelled_matrix(out)
    assert names == [str(f) for f in files]
    np.testing.assert_allclose(matrix, expected, atol=1e-12)

    target = tmp_path / "d.csv"
    status, out, _ = call(capsys, "--pairwise", str(histogram_dir / "[abcd].*"), "-o", target)
    assert (status, out) == (0, "")
    names, matrix = labelled_matrix(target.read_text())
    assert names == [str(f) for f in files]
    np.testing.assert_allclose(matrix, expected, atol=1e-12)
    # The names row is a header that emd's own reader skips.
    np.testing.assert_allclose(read_cost_matrix(target), expected, atol=1e-12)


def test_pairwise_json_and_points(capsys):
    status, out, _ = call(
        capsys,
        "--pairwise",
        DATA / "points_a.csv",
        DATA / "points_b.csv",
        DATA / "points_a.csv",
        "--json",
        "--metric",
        "cityblock",
    )
    assert status == 0
    record = json.loads(out)
    assert record["n"] == 3 and record["metric"] == "cityblock"
    matrix = np.array(record["distances"])
    d = points_reference(DATA / "points_a.csv", DATA / "points_b.csv", "cityblock")
    np.testing.assert_allclose(matrix, [[0, d, 0], [d, 0, d], [0, d, 0]], atol=1e-9 * d)


def test_pairwise_images(capsys):
    pytest.importorskip("PIL")
    status, out, _ = call(
        capsys, "--pairwise", DATA / "image_a.png", DATA / "image_b.png", "--normalize", "--grid"
    )
    assert status == 0
    matrix = labelled_matrix(out)[1]
    a = np.loadtxt(DATA / "image_a.csv", delimiter=",")
    b = np.loadtxt(DATA / "image_b.csv", delimiter=",")
    assert matrix[0, 1] == pytest.approx(grid_reference(a, b, "cityblock"), rel=1e-9)


@pytest.fixture
def fake_tqdm(tmp_path, monkeypatch):
    """A stand-in ``tqdm`` package (the real one is an optional extra) that logs its bar."""
    package = tmp_path / "fake_site" / "tqdm"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "auto.py").write_text(
        "import sys\n"
        "class tqdm:\n"
        "    def __init__(self, total, **kwargs):\n"
        "        self.total, self.n = total, 0\n"
        "    def update(self, k):\n"
        "        self.n += k\n"
        "    def close(self):\n"
        "        sys.stderr.write(f'fake bar {self.n}/{self.total}\\n')\n"
    )
    saved = {name: sys.modules.pop(name) for name in ("tqdm", "tqdm.auto") if name in sys.modules}
    monkeypatch.syspath_prepend(str(package.parent))
    yield
    for name in ("tqdm", "tqdm.auto"):
        sys.modules.pop(name, None)
    sys.modules.update(saved)


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("tty", [True, False])
def test_pairwise_progress_bar_only_on_a_terminal(monkeypatch, histogram_dir, fake_tqdm, tty):
    for k in range(3):  # 7 histograms: 21 pairs, more than one chunk of work
        np.save(histogram_dir / f"x{k}.npy", np.roll(np.asarray(HIST_A, float), k))
    stderr = FakeTerminal() if tty else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert main(["--pairwise", str(histogram_dir), "--jobs", "2"]) == 0
    assert stderr.getvalue() == ("fake bar 21/21\n" if tty else "")


def test_pairwise_without_tqdm_has_no_bar(monkeypatch, histogram_dir):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now raises ImportError
    stderr = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", stderr)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert main(["--pairwise", str(histogram_dir), "--jobs", "2"]) == 0
    assert stderr.getvalue() == ""


def test_pairwise_reads_standard_input(capsys, monkeypatch, histogram_dir):
    data = (histogram_dir / "a.csv").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    status, out, _ = call(capsys, "--pairwise", "-", histogram_dir / "b.csv")
    assert status == 0
    matrix = labelled_matrix(out)[1]
    assert matrix[0, 1] == pytest.approx(W1_AB, rel=1e-12)


def test_pairwise_errors(capsys, tmp_path, histogram_dir):
    out = tmp_path / "d.npy"
    np.save(histogram_dir / "e.npy", np.ones(12))
    status, _, err = call(capsys, "--pairwise", histogram_dir, "-o", out)
    assert status == 2
    one_line(err, "e.npy", "unequal total mass")
    assert not out.exists()

    empty = tmp_path / "empty"
    empty.mkdir()
    for args, fragments in [
        (["--pairwise", empty], ["empty", "no histogram file"]),
        (["--pairwise", str(tmp_path / "*.nothing")], ["*.nothing", "no file matches"]),
        (["--pairwise", DATA / "hist_a.csv"], ["at least two"]),
        (
            ["--pairwise", DATA / "hist_a.csv", DATA / "image_a.csv", "--grid"],
            ["image_a.csv", "shape"],
        ),
        (
            ["--pairwise", DATA / "hist_a.csv", DATA / "hist_b.csv", "-o", tmp_path / "d.png"],
            ["d.png", "extension"],
        ),
        ([DATA / "hist_a.csv", "--pairwise", DATA / "hist_b.csv"], ["--pairwise"]),
        (
            ["--pairwise", DATA / "hist_a.csv", DATA / "hist_b.csv", "--plan", tmp_path / "p.csv"],
            ["--plan"],
        ),
        (
            ["--pairwise", DATA / "hist_a.csv", DATA / "hist_b.csv", "--max-iter", "5"],
            ["--max-iter"],
        ),
        (
            [
                "--pairwise",
                DATA / "image_a.png",
                DATA / "image_b.png",
                "--metric",
                "euclidean",
                "--exact",
            ],
            ["--exact"],
        ),
        (["--pairwise", DATA / "hist_a.csv", "-", "-"], ["standard input"]),
    ]:
        status, stdout, err = call(capsys, *args)
        assert (status, stdout) == (2, ""), args
        one_line(err, *fragments)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "hists"]


def test_spacing_scales_grid_distances(capsys):
    status, out, err = call(capsys, DATA / "hist_a.csv", DATA / "hist_b.csv", "--spacing", "0.25")
    assert status == 0, err
    assert float(out) == pytest.approx(0.25 * W1_AB, rel=1e-12)
    status, out, err = call(
        capsys, "--pairwise", DATA / "hist_a.csv", DATA / "hist_b.csv", "--spacing", "2"
    )
    assert status == 0, err
    matrix = labelled_matrix(out)[1]
    assert matrix[0, 1] == pytest.approx(2 * W1_AB, rel=1e-12)


def test_spacing_is_refused_for_point_sets(capsys):
    status, _, err = call(capsys, DATA / "points_a.csv", DATA / "points_b.csv", "--spacing", "2")
    assert status == 2
    one_line(err, "--spacing applies to grid histograms")


# ---------------------------------------------------------------------------
# Outputs: labelled, all or nothing, never onto an input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("ext", [".csv", ".npy", ".npz"])
def test_pairwise_output_inside_the_input_directory_is_not_read_back(
    tmp_path, histogram_dir, ext
):
    out = histogram_dir / f"out{ext}"
    expected = pairwise_reference(histogram_dir)
    names = [str(p) for p in sorted(histogram_dir.glob("[abcd].*"))]
    for _ in range(2):  # the second run finds the first one's output in the folder
        proc = run_cli("--pairwise", histogram_dir, "-o", out, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        if ext == ".csv":
            labels, matrix = labelled_matrix(out.read_text())
        elif ext == ".npz":
            with np.load(out) as data:
                labels, matrix = data["labels"].tolist(), data["matrix"]
        else:
            matrix = np.load(out)
            labels = (histogram_dir / "out.labels.txt").read_text().splitlines()
        assert labels == names
        np.testing.assert_allclose(matrix, expected, rtol=1e-12, atol=1e-12)


def test_pairwise_json_names_the_labels_file_and_stays_compact(capsys, tmp_path, histogram_dir):
    out = tmp_path / "d.npy"
    status, text, _ = call(capsys, "--pairwise", histogram_dir, "-o", out, "--json")
    assert status == 0
    record = json.loads(text)
    assert record["labels_file"] == str(tmp_path / "d.labels.txt")
    assert len(record["inputs"]) == 4
    # One line per key; the matrix (on stdout) one line per row.
    assert len(text.splitlines()) == len(record) + 2
    status, text, _ = call(capsys, "--pairwise", histogram_dir, "--json")
    assert len(text.splitlines()) == len(json.loads(text)) + 2 + 4 + 1
    status, text, _ = call(capsys, DATA / "hist_a.csv", DATA / "hist_b.csv", "--json")
    assert len(text.splitlines()) == len(json.loads(text)) + 2


def test_pairwise_refuses_an_output_that_is_an_input(capsys, tmp_path, histogram_dir):
    a = histogram_dir / "a.csv"
    before = a.read_bytes()
    status, out, err = call(capsys, "--pairwise", a, histogram_dir / "b.csv", "-o", a)
    assert (status, out) == (2, "")
    one_line(err, "a.csv", "same file as input")
    assert a.read_bytes() == before
    # A .npy's labels file is an output too.
    labels = tmp_path / "d.labels.txt"
    labels.write_text("1\n2\n")
    status, _, err = call(capsys, "--pairwise", a, labels, "-o", tmp_path / "d.npy")
    assert status == 2
    one_line(err, "labels file", "same file as input")


def test_missing_pairwise_path_says_it_is_missing(capsys, tmp_path):
    status, _, err = call(capsys, "--pairwise", DATA / "hist_a.csv", tmp_path / "nothere")
    assert status == 2
    one_line(err, "nothere", "no such file or directory")


def test_pairwise_on_the_example_data_asks_for_the_layout(capsys):
    status, _, err = call(capsys, "--pairwise", DATA)
    assert status == 2
    line = one_line(err, "image_a.csv", "--grid")
    assert "--points" not in line  # the weight column of that table is all zero
    # Following the advice: image tables and images compare as grids.
    files = [DATA / "image_a.csv", DATA / "image_b.csv", DATA / "image_a.png"]
    status, out, err = call(capsys, "--pairwise", *files, "--grid", "--normalize")
    assert (status, err) == (0, "")
    matrix = labelled_matrix(out)[1]
    assert matrix[0, 2] == pytest.approx(0.0, abs=1e-12)  # the PNG holds the same image


def test_pairwise_euclidean_grid_says_it_is_approximate(capsys):
    pytest.importorskip("PIL")
    files = [DATA / "image_a.png", DATA / "image_b.png"]
    status, _, err = call(capsys, "--pairwise", *files, "--normalize", "--metric", "euclidean")
    assert status == 0
    one_line(err, "note:", "relative error")
    record = json.loads(call(capsys, "--pairwise", *files, "--normalize", "--metric",
                             "euclidean", "--json")[1])
    assert record["rel_error_bound"] > 0


def test_no_output_is_written_unless_all_can_be(tmp_path):
    plan = tmp_path / "plan.csv"
    plan.write_text("old\n")
    long_name = tmp_path / ("p" * 300 + ".csv")
    proc = run_cli(
        DATA / "hist_a.csv", DATA / "hist_b.csv", "--plan", plan, "--potentials", long_name,
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 2
    assert b"too long" in proc.stderr and b"Traceback" not in proc.stderr
    assert plan.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.csv"]


def test_same_file_spelt_two_ways_is_refused_in_a_subprocess(tmp_path):
    proc = run_cli(
        DATA / "hist_a.csv", DATA / "hist_b.csv", "--plan", "p.csv", "--potentials", "./p.csv",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 2
    assert b"--plan and --potentials name the same file" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_messages_carry_no_python_reprs():
    from emd.cli._report import _plain

    text = "sum(a)=np.float64(1.1) in <_io.BytesIO object at 0x7f00aa> got np.int64(3)"
    assert _plain(text) == "sum(a)=1.1 in the data got 3"


# ---------------------------------------------------------------------------
# An output never overwrites an input
# ---------------------------------------------------------------------------


@pytest.fixture
def issue_data(tmp_path: Path) -> Path:
    """data/ with hist_a.csv, hist_b.csv and hist_c.json (the example histograms)."""
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("hist_a.csv", "hist_b.csv", "hist_c.json"):
        shutil.copy(DATA / name, folder / name)
    return folder


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every file under ``root``, with its bytes (symlinks: their target)."""
    return {
        str(p.relative_to(root)): (os.readlink(p) if p.is_symlink() else p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_symlink() or p.is_file()
    }


def overwrite_cases(tmp: Path, data: Path) -> list[tuple[list[object], str, str]]:
    """(arguments, the output as named, the input it is) for every way to name an input."""
    a, b, c = data / "hist_a.csv", data / "hist_b.csv", data / "hist_c.json"
    (tmp / "link.csv").symlink_to(a)
    os.link(b, tmp / "hard.csv")
    outside = tmp / "outside"
    outside.mkdir()
    shutil.copy(c, outside / "far.json")
    (data / "near.json").symlink_to(outside / "far.json")  # an input reached through a link
    os.link(c, tmp / "m.labels.txt")  # the labels file of m.npy would be hist_c.json
    os.link(a, tmp / "r.npy.progress")  # the record of r.npy would be hist_a.csv
    dotdot = f"{data}/../{data.name}/hist_a.csv"
    return [
        (["--pairwise", a, b, c, "-o", a], str(a), "hist_a.csv"),
        (["--pairwise", data, "-o", a], str(a), "hist_a.csv (in directory"),
        (["--pairwise", f"{data}/*.csv", "-o", b], str(b), "hist_b.csv (matched by"),
        (["--pairwise", data, "-o", dotdot], dotdot, "hist_a.csv (in directory"),
        (["--pairwise", a, b, "-o", tmp / "link.csv"], "link.csv", "input " + str(a)),
        (["--pairwise", data, "-o", tmp / "link.csv"], "link.csv", "hist_a.csv (in directory"),
        (["--pairwise", f"{data}/*", "-o", tmp / "hard.csv"], "hard.csv", "hist_b.csv (matched"),
        (["--pairwise", data, "-o", outside / "far.json"], "far.json", "near.json (in directory"),
        (["--pairwise", data, "-o", tmp / "m.npy"], "m.labels.txt", "hist_c.json"),
        (["--pairwise", a, b, "-o", tmp / "r.npy", "--resume"], "r.npy.progress", "hist_a.csv"),
        # One pair: --plan, --potentials and --flows alike.
        ([a, b, "--plan", tmp / "hard.csv"], "hard.csv", "input B"),
        ([a, b, "--potentials", tmp / "link.csv"], "link.csv", "input A"),
        ([a, b, "--flows", dotdot], dotdot, "input A"),
    ]


def test_an_output_that_is_an_input_is_refused_before_any_work(capsys, tmp_path, issue_data):
    for args, output, input_name in overwrite_cases(tmp_path, issue_data):
        before = snapshot(tmp_path)
        status, out, err = call(capsys, *args)
        assert (status, out) == (2, ""), (args, err)
        line = one_line(err, output, input_name, "same file as", "never overwrites an input")
        assert line.index(output) < line.index(input_name)
        # Every input byte for byte, and nothing new.
        assert snapshot(tmp_path) == before, args


def test_an_output_that_is_an_input_is_refused_by_the_console_entry(tmp_path, issue_data):
    before = snapshot(tmp_path)
    for output in ("data/hist_a.csv", "./data/../data/hist_a.csv"):
        proc = run_cli("--pairwise", "data", "-o", output, cwd=tmp_path)
        assert proc.returncode == 2 and proc.stdout == b"", proc.stderr
        assert proc.stderr.decode() == (
            f"emd-compute: {output}: the output (-o) is the same file as input data/hist_a.csv "
            "(in directory data); an output never overwrites an input\n"
        )
    proc = run_cli("--pairwise", "data/*.csv", "-o", "data/hist_b.csv", cwd=tmp_path)
    assert proc.returncode == 2
    assert b"data/hist_b.csv (matched by data/*.csv)" in proc.stderr
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("ext", [".csv", ".tsv", ".txt", ".json", ".npz", ".npy"])
def test_an_earlier_output_in_the_input_directory_is_not_an_input(tmp_path, issue_data, ext):
    """A new output inside an input directory is fine; on the next run the file found
    there is recognised as this tool's matrix, not read (and not refused)."""
    out = issue_data / f"D{ext}"
    names = sorted(str(p) for p in issue_data.iterdir())
    for pattern in (str(issue_data), f"{issue_data}/*", f"{issue_data}/*"):
        status = main(["--pairwise", pattern, "-o", str(out)])
        assert status == 0
        matrix, labels = read_matrix_output(out)
        assert labels == names
    hists = [read_histogram(name).weights for name in names]
    assert matrix.tobytes() == emd.pairwise(hists).tobytes()


def read_matrix_output(path: Path) -> tuple[np.ndarray, list[str]]:
    """The matrix and the names of an --pairwise -o file, read by standard tools."""
    ext = path.suffix
    if ext == ".json":
        record = json.loads(path.read_text())
        return np.array(record["matrix"], dtype=float), record["labels"]
    if ext == ".npz":
        with np.load(path) as data:
            return data["matrix"], data["labels"].tolist()
    if ext == ".npy":
        return np.load(path), path.with_name(path.stem + ".labels.txt").read_text().splitlines()
    delimiter = {".csv": ",", ".tsv": "\t", ".txt": " "}[ext]
    labels, matrix = labelled_matrix(path.read_text(), delimiter)
    return matrix, labels


def test_a_file_like_an_output_but_not_one_is_still_an_input(capsys, tmp_path, issue_data):
    # A table with a quoted header whose rows are points, not a symmetric matrix
    # with a zero diagonal: an input, so -o naming it is refused.
    points = issue_data / "pts.csv"
    points.write_text('"x","y","weight"\n0,1,2\n1,0,3\n2,2,1\n')
    before = points.read_bytes()
    status, _, err = call(capsys, "--pairwise", issue_data, "-o", points)
    assert status == 2
    one_line(err, "pts.csv", "same file as input")
    assert points.read_bytes() == before


# ---------------------------------------------------------------------------
# An interrupted --resume run: NaN where unfinished, and how to continue
# ---------------------------------------------------------------------------


def test_interrupted_resumable_run_says_how_to_continue_and_finishes_bitwise(tmp_path):
    folder = tmp_path / "big"
    folder.mkdir()
    rng = np.random.default_rng(21)
    hists = [rng.random((24, 24)) for _ in range(36)]
    for k, hist in enumerate(hists):
        np.save(folder / f"g{k:02d}.npy", hist)
    out = tmp_path / "R.npy"
    record = tmp_path / "R.npy.progress"
    args = ["--pairwise", "big", "--normalize", "-o", "R.npy", "--resume", "--jobs", "1"]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH")) if p)
    child = subprocess.Popen([*COMMAND, *args], cwd=tmp_path, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        # Ctrl-C once two of the 15 blocks are recorded.
        while time.monotonic() < deadline and child.poll() is None:
            if record.exists() and len(record.read_text().splitlines()) >= 3:
                break
            time.sleep(0.005)
        assert child.poll() is None, "the run finished before it could be interrupted"
        child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130 and stdout == b""
    line = one_line(stderr.decode(), "interrupted", "NaN", shlex.join(["emd-compute", *args]))
    assert line.endswith(shlex.join(["emd-compute", *args]))

    expected = emd.pairwise(hists, normalize=True, n_jobs=2)
    partial = np.load(out)
    unfinished = np.isnan(partial)
    assert 0 < unfinished.sum() < partial.size
    # Every value present is a finished one, and a zero is only a finished diagonal entry.
    assert partial[~unfinished].tobytes() == expected[~unfinished].tobytes()
    rows, cols = np.nonzero(partial == 0.0)
    assert (rows == cols).all()
    # Damage a finished block: resuming checks each block against its hash.
    finished = np.argwhere(~unfinished & ~np.eye(36, dtype=bool))
    i, j = finished[0]
    damaged = np.load(out, mmap_mode="r+")
    damaged[i, j] += 0.25
    damaged.flush()
    del damaged

    proc = run_cli(*args, cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"", b"")
    assert np.load(out).tobytes() == expected.tobytes()
    labels = (tmp_path / "R.labels.txt").read_text().splitlines()
    assert labels == [f"big/g{k:02d}.npy" for k in range(36)]


def test_interrupted_run_without_resume_gives_the_command_with_resume(
    capsys, tmp_path, histogram_dir, monkeypatch
):
    from emd import _pairs

    def interrupted(self, pairs):  # what Ctrl-C raises between chunks
        raise KeyboardInterrupt

    monkeypatch.setattr(_pairs.PairSolver, "chunk", interrupted)
    args = ["--pairwise", str(histogram_dir), "-o", str(tmp_path / "D.npy")]
    status, out, err = call(capsys, *args)
    assert (status, out) == (130, "")
    line = one_line(err, "interrupted", "nothing was written", "--resume")
    assert line.endswith(shlex.join(["emd-compute", *args, "--resume"]))
    assert not (tmp_path / "D.npy").exists()
    # Another output: nothing to resume.
    status, _, err = call(capsys, "--pairwise", histogram_dir)
    assert status == 130
    assert err == "emd-compute: interrupted\n"


def test_resume_refusals_name_the_file_and_the_flag(capsys, tmp_path, histogram_dir):
    out = tmp_path / "D.npy"
    assert main(["--pairwise", str(histogram_dir), "-o", str(out)]) == 0
    # Written in one go: there is no record to resume from.
    status, _, err = call(capsys, "--pairwise", histogram_dir, "-o", out, "--resume")
    assert status == 2
    line = one_line(err, str(out), "cannot resume", "no record", "without --resume")
    assert not PYTHON_ARGUMENT.search(line)
    out.unlink()
    assert main(["--pairwise", str(histogram_dir), "-o", str(out), "--resume"]) == 0
    status, _, err = call(capsys, "--pairwise", histogram_dir, "--normalize", "-o", out,
                          "--resume")
    assert status == 2
    line = one_line(err, "inputs or options differ", "pass the same files and options",
                    "without --resume")
    assert not PYTHON_ARGUMENT.search(line)


# ---------------------------------------------------------------------------
# 1-D files of different lengths, on one line
# ---------------------------------------------------------------------------


def test_1d_files_of_different_lengths_lie_on_one_line(capsys, tmp_path):
    rng = np.random.default_rng(8)
    u, v = rng.random(7), rng.random(11)
    np.savetxt(tmp_path / "u.csv", u)
    np.savetxt(tmp_path / "v.csv", v)
    (tmp_path / "u0.csv").write_text((tmp_path / "u.csv").read_text() + "0\n0\n")
    # scipy with the positions written out: bins at 0..6 and 0..10.
    expected = wasserstein_distance(np.arange(7), np.arange(11), u, v)
    status, out, err = call(capsys, tmp_path / "u.csv", tmp_path / "v.csv", "--normalize")
    assert (status, err) == (0, "")
    assert distance_of(out) == pytest.approx(expected, rel=1e-12)
    # A trailing zero bin changes nothing, bit for bit.
    status, out0, _ = call(capsys, tmp_path / "u0.csv", tmp_path / "v.csv", "--normalize")
    assert (status, out0) == (0, out)
    status, out, _ = call(capsys, tmp_path / "u.csv", tmp_path / "u0.csv", "--normalize")
    assert float(out) == 0.0
    # The record keeps the sizes of the files.
    status, out, _ = call(capsys, tmp_path / "u.csv", tmp_path / "v.csv", "--normalize", "--json")
    record = json.loads(out)
    assert record["sizes"] == [7, 11] and record["distance"] == pytest.approx(expected, rel=1e-12)

    status, out, err = call(capsys, "--pairwise", tmp_path / "u.csv", tmp_path / "v.csv",
                            tmp_path / "u0.csv", "--normalize")
    assert (status, err) == (0, "")
    matrix = labelled_matrix(out)[1]
    assert matrix[0, 1] == pytest.approx(expected, rel=1e-12)
    assert matrix[0, 2] == 0.0 and matrix[1, 2] == matrix[0, 1]
    # Unequal masses are still refused without --normalize.
    status, _, err = call(capsys, tmp_path / "u.csv", tmp_path / "v.csv")
    assert status == 2
    one_line(err, "unequal total mass", "--normalize")


def test_help_says_how_1d_files_of_different_lengths_compare(capsys):
    status, out, _ = call(capsys, "--help")
    assert status == 0
    assert "different lengths are compared on one line" in " ".join(out.split())


# ---------------------------------------------------------------------------
# --pairwise -o D.json
# ---------------------------------------------------------------------------


def test_pairwise_json_output_reads_back_as_the_matrix(capsys, tmp_path, histogram_dir):
    out = tmp_path / "D.json"
    files = sorted(str(p) for p in histogram_dir.glob("[abcd].*"))
    status, stdout, err = call(capsys, "--pairwise", histogram_dir, "-o", out)
    assert (status, stdout, err) == (0, "", "")
    record = json.loads(out.read_text())
    assert sorted(record) == ["labels", "matrix"]
    assert record["labels"] == files
    hists = [read_histogram(f).weights for f in files]
    # Every float as the shortest text that reads back to the same double.
    assert np.array(record["matrix"]).tobytes() == emd.pairwise(hists).tobytes()
    # Atomic, like the other formats: a failing run leaves the old file untouched.
    before = out.read_bytes()
    np.save(histogram_dir / "e.npy", np.ones(12))  # mass 12, not 52
    status, _, err = call(capsys, "--pairwise", histogram_dir, "-o", out)
    assert status == 2
    one_line(err, "e.npy", "unequal total mass")
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["D.json", "hists"]
