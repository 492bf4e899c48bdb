"""Run every teaching example in ``examples/`` (``--small``) and check its printed numbers.

Each script is loaded by path, its ``main`` is called with ``--small`` and a
temporary ``--out`` folder, and the numbers it prints are compared with
closed forms worked out here, independently of the script.
"""

import importlib.util
import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


def load(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(name, tmp_path, capsys):
    """Run ``examples/<name>.py --small --out tmp_path``; return its standard output."""
    assert load(name).main(["--small", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    if HAS_MATPLOTLIB:
        png = tmp_path / f"{name}.png"
        assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"figure: {png}" in out
    return out


def value(out, label):
    """The number printed on the line ``<label> = <number> ...``."""
    match = re.search(rf"^\s*{re.escape(label)} = (\S+)", out, re.MULTILINE)
    assert match, f"no line {label!r} in the output:\n{out}"
    return float(match.group(1))


def table(out, n_columns):
    """Rows of a printed table: lines made of exactly ``n_columns`` numbers."""
    rows = []
    for line in out.splitlines():
        fields = line.split()
        try:
            numbers = [float(f) for f in fields]
        except ValueError:
            continue
        if len(numbers) == n_columns:
            rows.append(numbers)
    assert rows, f"no table of {n_columns} columns in the output:\n{out}"
    return np.array(rows)


def test_moving_blocks(tmp_path, capsys):
    out = run("moving_blocks", tmp_path, capsys)
    # (a) Every block moves right, so any plan costs sum(targets) - sum(sources), per block.
    sources = [1] * 2 + [2] * 3 + [3] * 3
    targets = [7] * 3 + [8] * 3 + [9] * 2
    shift = (sum(targets) - sum(sources)) / 8
    assert shift == 5.75
    for label in ("plan A1 cost", "plan A2 cost", "solver plan (a) cost", "solver W1 (a)",
                  "closed form 1-D W1 (a)",
                  "every block moves right: mean(target) - mean(source)"):
        assert value(out, label) == pytest.approx(shift, abs=1e-12), label
    # The two hand-made plans are genuinely different plans with the right piles.
    module = load("moving_blocks")
    for plan in (module.PLAN_A1, module.PLAN_A2):
        assert plan.sum(axis=1).tolist() == [2, 3, 3]
        assert plan.sum(axis=0).tolist() == [3, 3, 2]
    assert not np.array_equal(module.PLAN_A1, module.PLAN_A2)
    # (b) Neighbours: (|2-3| + |8-7|) / 2 = 1; crossing: (|2-7| + |8-3|) / 2 = 5.
    assert value(out, "neighbour plan cost") == 1
    assert value(out, "crossing plan cost") == 5
    assert value(out, "solver W1 (b)") == pytest.approx(1.0, abs=1e-12)
    assert value(out, "solver plan (b) cost") == pytest.approx(1.0, abs=1e-12)


def test_parallel_lines(tmp_path, capsys):
    out = run("parallel_lines", tmp_path, capsys)
    rows = table(out, 5)  # theta, W1, KL, JS, TV
    assert len(rows) >= 5 and np.any(rows[:, 0] == 0)
    theta, w1, kl, js, tv = rows.T
    np.testing.assert_allclose(w1, np.abs(theta), rtol=0, atol=1e-9)
    off = theta != 0
    assert np.all(np.isinf(kl[off]))
    np.testing.assert_allclose(js[off], math.log(2), atol=1e-7)
    np.testing.assert_array_equal(tv[off], 1.0)
    assert kl[~off] == js[~off] == tv[~off] == 0
    # The exact witness attains W1 and drops by exactly theta on every grid row.
    assert value(out, "witness value E_P0 f - E_Ptheta f") == pytest.approx(0.5, abs=1e-12)
    assert value(out, "largest |f(0, y) - f(theta, y) - theta| over the grid") <= 1e-12


def test_critic_tracks_distance(tmp_path, capsys):
    out = run("critic_tracks_distance", tmp_path, capsys)
    rows = table(out, 8)  # step, theta, plug-in, witness, held-out, lower, clip critic, JS
    _, theta, plugin, witness, heldout, lower, clip, js = rows.T
    assert len(rows) >= 3 and np.all(np.diff(theta) < 0)  # moving toward P_0
    # The exact witness attains the empirical W1, which is near the true W1 = theta.
    np.testing.assert_allclose(witness, plugin, atol=1e-6)
    assert value(out, "largest |witness - plug-in|") <= 1e-9
    np.testing.assert_allclose(plugin, theta, atol=0.15)
    # A held-out lower bound: below its own estimate, and not above W1 beyond sampling slack.
    assert np.all(lower <= heldout)
    assert np.all(lower <= theta + 0.05)
    assert np.all(lower <= plugin + 0.05)
    # JS cannot see the samples move: log 2 at every step.
    np.testing.assert_allclose(js, math.log(2), atol=1e-6)
    # The clipped critic is on its own (tiny) scale but follows W1.
    assert np.all(np.abs(clip) < 0.1 * theta)
    corr = value(out, "correlation(clip critic, W1)")
    assert corr > 0.9
    assert corr == pytest.approx(np.corrcoef(theta, clip)[0, 1], abs=1e-3)
    assert value(out, "correlation(exact witness, W1)") > 0.99


def test_images(tmp_path, capsys):
    out = run("images", tmp_path, capsys)
    city = value(out, "cityblock W1")
    graph = value(out, "euclidean graph cost (L=3)")
    bound = value(out, "euclidean rel_error_bound")
    exact = value(out, "euclidean exact W1")
    cheb = value(out, "chebyshev W1")
    centres = value(out, "distance between centres of mass")
    lo, hi = (float(x) for x in re.search(r"euclidean bracket = \[(\S+), (\S+)\]", out).groups())
    # |.|_inf <= |.|_2 <= |.|_1 pointwise, so the distances are ordered the same way.
    assert city >= graph >= exact >= cheb > 0
    assert 0 < bound < 0.02  # 1 / cos(theta_3 / 2) - 1 = 1.3% for offsets up to 3
    assert hi == graph and lo == pytest.approx(graph / (1 + bound), rel=1e-6)
    assert lo - 1e-8 <= exact <= hi + 1e-8
    # The mean is a 1-Lipschitz statistic: moving the ink moves its centre no further.
    assert centres <= exact + 1e-8


def test_point_clouds(tmp_path, capsys):
    out = run("point_clouds", tmp_path, capsys)
    w1 = value(out, "W1")
    assert w1 > 0
    assert value(out, "witness value E_a f - E_b f") == pytest.approx(w1, rel=1e-9)
    assert value(out, "largest marginal error") <= 1e-12
    assert "certificate optimal = True" in out
    assert value(out, "largest |f(x) - f(y) - |x - y|| on used segments") <= 1e-9
    assert value(out, "largest slope of f found (Lipschitz ratio)") <= 1 + 1e-9
    used, most = (int(x) for x in re.search(r"segments used = (\d+) .* = (\d+)\)", out).groups())
    assert 0 < used <= most


def test_numbers_without_matplotlib(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    assert load("moving_blocks").main(["--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "matplotlib is not installed" in out
    assert value(out, "solver W1 (b)") == pytest.approx(1.0)
    assert not list(tmp_path.glob("*.png"))


def test_images_draws_one_arrow_per_block():
    block_flow = load("images").block_flow
    rng = np.random.default_rng(0)
    d_row, d_col = rng.normal(size=(2, 120, 160))
    rows, cols, f_row, f_col, side = block_flow(d_row, d_col)
    # A 120 x 160 photo gets 15 x 20 arrows, not 19200.
    assert side == 8 and f_row.shape == f_col.shape == rows.shape == (15, 20)
    assert f_row[2, 3] == pytest.approx(d_row[16:24, 24:32].sum(), rel=1e-12)
    assert f_col.sum() == pytest.approx(d_col.sum(), rel=1e-9, abs=1e-9)
    assert (rows[2, 3], cols[2, 3]) == (19.5, 27.5)
    # Blocks cut by the edge are centred on the pixels they hold.
    rows, cols, f_row, _, side = block_flow(d_row[:, :150], d_col[:, :150], max_arrows=40)
    assert side == 4 and cols[0, -1] == (148 + 149) / 2
    assert f_row[0, -1] == pytest.approx(d_row[:4, 148:150].sum(), rel=1e-12)


def test_images_reads_tables_as_grids(tmp_path, capsys):
    data = EXAMPLES / "data"
    args = ["--images", str(data / "image_a.csv"), str(data / "image_b.csv"), "--out", str(tmp_path)]
    assert load("images").main(args) == 0
    out = capsys.readouterr().out
    assert "two 16 x 16 images" in out and value(out, "chebyshev W1") > 0


def test_unbalanced_brightness(tmp_path, capsys):
    out = run("unbalanced_brightness", tmp_path, capsys)
    lam = load("unbalanced_brightness").LAM
    # (a) B = 2 A: the same distribution (normalised W1 = 0), but one unit of light
    # more: at least lam * (sum(B) - sum(A)) = lam, attained by creating it in place.
    assert value(out, "normalised W1 (a)") == pytest.approx(0.0, abs=1e-12)
    assert value(out, "unbalanced (a)") == pytest.approx(lam * 1.0, rel=1e-12)
    assert value(out, "created mass (a)") == pytest.approx(1.0, rel=1e-12)
    # (b) a spot of 0.25 more: the same bound, lam * 0.25, created at the spot.
    assert value(out, "unbalanced (b)") == pytest.approx(lam * 0.25, rel=1e-12)
    assert value(out, "created mass (b)") == pytest.approx(0.25, rel=1e-12)
    assert value(out, "normalised W1 (b)") > 0.25  # a rearrangement, as normalised W1 sees it


def test_training_wgan(tmp_path, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    import ot

    out = run("training_wgan", tmp_path, capsys)
    rows = table(out, 4)  # step, W1 of the exact-loss run, W1 of the WGAN-GP run, critic
    assert len(rows) >= 3 and rows[0, 0] == 0
    # Both runs start from the same generator: the same first evaluation.
    assert rows[0, 1] == rows[0, 2] == value(out, "initial W1")
    # Gradients of the exact loss that pointed anywhere but downhill would not get here.
    assert value(out, "final W1 with the exact loss") < 0.6 * value(out, "initial W1")
    assert np.all(rows[:, 1:3] > 0)
    # The sampling floor, recomputed with POT on the example's own data split.
    module = load("training_wgan")
    train_set, held = module.digits_plane(0, 200)
    floor = ot.emd2(np.full(200, 1 / 200), np.full(200, 1 / 200),
                    ot.dist(train_set[:200], held, metric="euclidean"), numItermax=10**7)
    assert value(out, "exact W1 between 200 training and the held-out points") == pytest.approx(
        floor, abs=1e-6)  # printed to 6 decimals
