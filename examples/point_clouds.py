"""Point clouds: the optimal plan between two weighted clouds, and its dual witness.

Two clouds of weighted points in the plane are two distributions.  The
optimal transport plan says how much mass each source point sends to each
target point; it uses at most n + m - 1 segments.  Its dual is the
Kantorovich-Rubinstein witness f: a 1-Lipschitz function (it never changes
faster than distance) whose average over the sources minus its average over
the targets equals W1.  Along every segment the plan uses, f drops by exactly
the segment's length: mass flows straight down the slope of f, and that is
why no cheaper plan exists.

Run ``python examples/point_clouds.py [--out DIR] [--small] [--points A.csv B.csv]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

try:
    import emd
except ImportError:  # run from a source checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import emd


def make_clouds(rng):
    """A round cloud and a crescent half wrapped around it, each with random weights."""
    xa = rng.normal([0.0, 0.0], 0.5, size=(25, 2))
    angle = np.linspace(-2.0, 2.0, 18) + rng.normal(0.0, 0.05, size=18)
    xb = np.column_stack([0.6 + 1.8 * np.cos(angle), 1.8 * np.sin(angle)])
    xb += rng.normal(0.0, 0.08, size=xb.shape)
    return xa, rng.uniform(0.5, 2.0, 25), xb, rng.uniform(0.5, 2.0, 18)


def plot(xa, xb, res, f, n_grid, path):
    """Left: the plan as segments (width ~ mass).  Right: the witness as a heat map."""
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed (pip install 'emd-ot[plot]'): no figure written")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = np.vstack([xa, xb])
    lo, hi = pts.min(axis=0) - 0.5, pts.max(axis=0) + 0.5
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], n_grid), np.linspace(lo[1], hi[1], n_grid))
    values = f(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    plan = res.plan
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.2), layout="constrained")
    for ax in axes:
        for i, j, mass in zip(plan.row, plan.col, plan.data, strict=True):
            ax.plot(*zip(xa[i], xb[j], strict=True), color="0.2", solid_capstyle="round",
                    lw=0.5 + 5 * mass / plan.data.max(), alpha=0.6, zorder=2)
        ax.scatter(*xa.T, s=300 * res.a / res.a.max(), c="tab:red", label="source (size ~ weight)",
                   edgecolor="k", zorder=3)
        ax.scatter(*xb.T, s=300 * res.b / res.b.max(), c="tab:blue", label="target (size ~ weight)",
                   edgecolor="k", zorder=3)
        ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), aspect="equal", xlabel="x",
               ylabel="y")
    axes[0].set_title(f"optimal plan: W1 = {res.cost:.4f}, {plan.nnz} segments (width ~ mass)")
    axes[0].legend(loc="lower left", fontsize=8)
    mesh = axes[1].pcolormesh(gx, gy, values, cmap="viridis", shading="auto", zorder=0)
    axes[1].contour(gx, gy, values, levels=15, colors="w", linewidths=0.5, zorder=1)
    fig.colorbar(mesh, ax=axes[1], label="f (1-Lipschitz)", shrink=0.8)
    axes[1].set_title("KR witness f: mass flows straight downhill")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "output",
                        help="folder for the figure (default: examples/output)")
    parser.add_argument("--small", action="store_true", help="a coarser heat map (fast)")
    parser.add_argument("--points", nargs=2, type=Path, metavar=("A", "B"),
                        help="two point files (x,y,weight) instead of the built-in clouds, "
                             "e.g. examples/data/points_a.csv examples/data/points_b.csv")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.points:
        from emd.io import read_histogram  # not imported by `import emd`

        hists = [read_histogram(p, kind="points") for p in args.points]
        (xa, wa), (xb, wb) = ((h.positions, h.weights) for h in hists)
    else:
        xa, wa, xb, wb = make_clouds(np.random.default_rng(args.seed))

    res = emd.solve_points(xa, xb, wa, wb, normalize=True)
    plan = res.plan
    print(f"{len(xa)} source and {len(xb)} target points, weights normalised to 1")
    print(f"W1 = {res.cost:.12f}")
    print(f"segments used = {plan.nnz} (at most n + m - 1 = {len(xa) + len(xb) - 1})")
    rows = np.bincount(plan.row, plan.data, minlength=len(xa))
    cols = np.bincount(plan.col, plan.data, minlength=len(xb))
    error = max(np.abs(rows - res.a).max(), np.abs(cols - res.b).max())
    print(f"largest marginal error = {error:.3g}")
    print(f"certificate optimal = {res.certificate().optimal()}")

    f = emd.dual.kr_witness(res)
    print(f"witness value E_a f - E_b f = {f.value:.12f}")
    # Complementary slackness: on every segment used, f falls by the segment's length.
    drop = f(xa[plan.row]) - f(xb[plan.col])
    length = np.linalg.norm(xa[plan.row] - xb[plan.col], axis=1)
    print(f"largest |f(x) - f(y) - |x - y|| on used segments = {np.abs(drop - length).max():.3g}")
    cert = emd.dual.certify(res, seed=0)
    print(f"largest slope of f found (Lipschitz ratio) = {cert.lipschitz_ratio:.12f}")

    args.out.mkdir(parents=True, exist_ok=True)
    path = plot(xa, xb, res, f, 60 if args.small else 200, args.out / "point_clouds.png")
    if path is not None:
        print(f"figure: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
