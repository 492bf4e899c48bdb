"""Parallel lines: why a loss should know where the mass is (the WGAN paper's example).

P_0 is uniform on the segment {0} x [0, 1] and P_theta on {theta} x [0, 1],
here discretised on m points each.  For theta != 0 the supports are disjoint,
so the bin-by-bin divergences cannot tell theta = 0.01 from theta = 100:

* KL(P_0 || P_theta) = inf,   JS = log 2,   total variation = 1,

while the Wasserstein-1 distance is |theta|: it shrinks smoothly as the
lines approach, which is what makes it a usable loss for a generator.

Its dual, the Kantorovich-Rubinstein witness f (a 1-Lipschitz function with
E_P0 f - E_Ptheta f = W1), slopes down by exactly 1 per unit of the first
coordinate between the lines: it tells every point which way to move.

Run ``python examples/parallel_lines.py [--out DIR] [--small]``.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

try:
    import emd
except ImportError:  # run from a source checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import emd
from emd.divergences import js, kl, tv
from emd.dual import kr_witness


def segment(theta, m):
    """m equally weighted points of {theta} x [0, 1] (cell midpoints)."""
    return np.column_stack([np.full(m, theta), (np.arange(m) + 0.5) / m])


def compare(theta, m):
    """W1 from the solver, and KL, JS, TV on the union of the two supports.

    Returns
    -------
    dict
        Keys ``"W1"``, ``"KL"``, ``"JS"``, ``"TV"``.
    """
    p0, pt = segment(0.0, m), segment(theta, m)
    w1 = emd.solve_points(p0, pt).cost
    if theta == 0:
        p = q = np.ones(m)  # identical supports: one shared set of bins
    else:
        # Disjoint supports: each histogram is zero on the other's bins.
        p = np.concatenate([np.ones(m), np.zeros(m)])
        q = np.concatenate([np.zeros(m), np.ones(m)])
    return {"W1": w1, "KL": kl(p, q), "JS": js(p, q), "TV": tv(p, q)}


def plot(thetas, rows, theta_w, s, profiles, path):
    """Left: the four losses against theta.  Right: the witness along the first coordinate."""
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed (pip install 'emd-ot[plot]'): no figure written")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.3))
    col = {k: np.array([r[k] for r in rows]) for k in ("W1", "JS", "TV", "KL")}
    top, kl_row = 1.7, 1.2
    ax.plot(thetas, col["W1"], "o-", ms=3, label="W1 = |theta| (solver)")
    ax.plot(thetas, col["JS"], "s", ms=3, label="JS (log 2 off 0)")
    ax.plot(thetas, col["TV"], "^", ms=3, label="total variation (1 off 0)")
    # KL is infinite off 0: draw it pinned to the top edge of the axes.
    ax.plot(thetas, np.where(np.isinf(col["KL"]), kl_row, col["KL"]), "x", ms=4,
            color="tab:red", label="KL (inf off 0, drawn at 1.2)")
    ax.axhline(math.log(2), color="0.6", lw=0.8, ls=":")
    ax.set(xlabel="theta", ylabel="distance / divergence", ylim=(-0.05, top),
           title="Only W1 sees how far apart the lines are")
    ax.legend(loc="upper center", ncol=2, fontsize=8)

    bx.axvspan(0, theta_w, color="0.92")
    bx.axvline(0, color="tab:blue", lw=3, label="P_0 (s = 0)")
    bx.axvline(theta_w, color="tab:orange", lw=3, label=f"P_theta (s = {theta_w:g})")
    for k, values in enumerate(profiles):
        # The rows coincide: f depends on s alone between the lines.
        bx.plot(s, values, color="k", lw=1.2, label="f(s, y), every grid row y" if k == 0 else None)
    bx.set(xlabel="first coordinate s", ylabel="witness f",
           title=f"KR witness, theta = {theta_w:g}: slope -1 between the lines")
    bx.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "output",
                        help="folder for the figure (default: examples/output)")
    parser.add_argument("--small", action="store_true", help="fewer points and angles (fast)")
    args = parser.parse_args(argv)
    m, n_theta = (8, 11) if args.small else (40, 41)

    thetas = np.linspace(-1.0, 1.0, n_theta)
    print(f"P_0 = {{0}} x [0,1], P_theta = {{theta}} x [0,1], {m} points each")
    print(f"{'theta':>8} {'W1':>15} {'KL':>6} {'JS':>10} {'TV':>6}")
    rows = []
    for theta in thetas:
        rows.append(compare(theta, m))
        r = rows[-1]
        print(f"{theta:>8.3f} {r['W1']:>15.12f} {r['KL']:>6g} {r['JS']:>10.7f} {r['TV']:>6g}")
    print(f"log 2 = {math.log(2):.7f}")

    theta_w = 0.5
    f = kr_witness(segment(0.0, m), segment(theta_w, m))
    print(f"witness value E_P0 f - E_Ptheta f = {f.value:.12g} (theta = {theta_w:g})")
    ys = segment(0.0, m)[:, 1]
    drop = f(segment(0.0, m)) - f(segment(theta_w, m))
    # Each point's drop is at most theta (1-Lipschitz) and they average theta: all equal theta.
    worst = np.abs(drop - theta_w).max()
    print(f"largest |f(0, y) - f(theta, y) - theta| over the grid = {worst:.3g}")
    s = np.linspace(-1.0, theta_w + 0.5, 301)
    profiles = [f(np.column_stack([s, np.full_like(s, y)])) for y in ys]

    args.out.mkdir(parents=True, exist_ok=True)
    path = plot(thetas, rows, theta_w, s, profiles, args.out / "parallel_lines.png")
    if path is not None:
        print(f"figure: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
