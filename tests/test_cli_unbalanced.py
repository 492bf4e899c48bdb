"""emd-compute --partial / --unbalanced on every input kind, against the library and HiGHS."""

from __future__ import annotations

import json

import numpy as np
import pytest
from oracles import highs_partial_cost, highs_unbalanced_cost
from scipy.spatial.distance import cdist

import emd
from emd.cli import EXIT_INPUT, EXIT_OK, main


def _json(capsys, argv):
    status = main([*argv, "--json"])
    out = capsys.readouterr().out
    assert status == EXIT_OK, out
    return json.loads(out)


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    paths = {}
    ga, gb = rng.random((5, 6)), 3 * rng.random((5, 6))
    np.save(tmp_path / "ga.npy", ga)
    np.save(tmp_path / "gb.npy", gb)
    pa, pb = rng.random((6, 2)), rng.random((4, 2))
    wa, wb = rng.random(6), 2 * rng.random(4)
    for name, x, w in (("pa", pa, wa), ("pb", pb, wb)):
        rows = ["x,y,weight"] + [f"{float(p[0])!r},{float(p[1])!r},{float(v)!r}"
                                for p, v in zip(x, w, strict=True)]
        (tmp_path / f"{name}.csv").write_text("\n".join(rows) + "\n")
    cost = rng.random((3, 4))
    np.savetxt(tmp_path / "cost.csv", cost, delimiter=",")
    np.savetxt(tmp_path / "wa.csv", [1.0, 2.0, 0.5])
    np.savetxt(tmp_path / "wb.csv", [0.5, 0.5, 1.0, 0.25])
    for key in ("ga", "gb"):
        paths[key] = str(tmp_path / f"{key}.npy")
    for key in ("pa", "pb", "cost", "wa", "wb"):
        paths[key] = str(tmp_path / f"{key}.csv")
    paths["arrays"] = (ga, gb, pa, pb, wa, wb, cost)
    return paths


def test_grid_unbalanced_json_reports_masses(capsys, files):
    ga, gb = files["arrays"][:2]
    record = _json(capsys, [files["ga"], files["gb"], "--unbalanced", "0.8"])
    expected = emd.solve_grid(ga, gb, unbalanced=0.8)
    assert record["distance"] == expected.cost
    assert record["unbalanced"] == 0.8 and record["certificate"]["optimal"]
    assert record["mass_created"] == pytest.approx(expected.mass_created)
    assert record["mass_destroyed"] == pytest.approx(expected.mass_destroyed)
    assert record["mass_moved"] + record["mass_destroyed"] == pytest.approx(ga.sum())


def test_points_and_cost_match_highs(capsys, files):
    _, _, pa, pb, wa, wb, cost = files["arrays"]
    record = _json(capsys, [files["pa"], files["pb"], "--unbalanced", "0.3"])
    assert record["distance"] == pytest.approx(highs_unbalanced_cost(wa, wb, cdist(pa, pb), 0.3),
                                               rel=1e-8)
    record = _json(capsys, [files["pa"], files["pb"], "--partial", "0.4"])
    assert record["distance"] == pytest.approx(highs_partial_cost(wa, wb, cdist(pa, pb), 0.4),
                                               rel=1e-8)
    assert record["mass_moved"] == pytest.approx(0.4)
    a, b = [1.0, 2.0, 0.5], [0.5, 0.5, 1.0, 0.25]
    record = _json(capsys, ["--cost", files["cost"], files["wa"], files["wb"], "--partial", "1"])
    assert record["distance"] == pytest.approx(highs_partial_cost(a, b, cost, 1.0), rel=1e-8)


def test_pairwise(capsys, files, tmp_path):
    ga, gb = files["arrays"][:2]
    record = _json(capsys, ["--pairwise", files["ga"], files["gb"], "--unbalanced", "2"])
    assert record["unbalanced"] == 2.0
    assert record["distances"][0][1] == emd.solve_grid(ga, gb, unbalanced=2.0).cost
    out = tmp_path / "D.npy"
    assert main(["--pairwise", files["pa"], files["pb"], "--partial", "0.3", "-o",
                 str(out)]) == EXIT_OK
    assert np.load(out)[0, 1] > 0


@pytest.mark.parametrize("extra", [["--normalize"], ["--partial", "1"], ["--check-pot"],
                                   ["--potentials", "f.csv"]])
def test_refused_combinations(capsys, files, extra):
    status = main([files["ga"], files["gb"], "--unbalanced", "1", *extra])
    assert status == EXIT_INPUT
    assert "--unbalanced" in capsys.readouterr().err or "exclusive" in capsys.readouterr().err


def test_pairwise_resume_and_jobs(capsys, files, tmp_path):
    """--pairwise with --unbalanced writes block by block, resumes, and runs on --jobs."""
    ga, gb = files["arrays"][:2]
    out = tmp_path / "D.npy"
    argv = ["--pairwise", files["ga"], files["gb"], files["ga"], "--unbalanced", "0.5",
            "-o", str(out), "--resume", "--jobs", "2"]
    assert main(argv) == EXIT_OK
    first = np.load(out)
    assert (tmp_path / "D.npy.progress").exists()
    assert first[0, 1] == first[1, 0] == emd.solve_grid(ga, gb, unbalanced=0.5).cost
    assert main(argv) == EXIT_OK  # every block recorded: nothing solved again
    assert np.load(out).tobytes() == first.tobytes()
    capsys.readouterr()
