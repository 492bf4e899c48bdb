"""Moving blocks: the earth mover's distance in one dimension, by hand and by the solver.

A distribution is a pile of unit blocks; turning one pile into another costs
the number of blocks moved times the distance they travel.  A *transport plan*
says how many blocks go from each source position to each target position;
divided by the number of blocks it is a joint distribution whose marginals
are the two piles.  The Wasserstein-1 distance is the cheapest plan's cost per
block.

(a) Eight blocks at 1, 2, 3 (counts 2, 3, 3) go to 7, 8, 9 (counts 3, 3, 2).
    Every block moves right, so each plan costs sum(targets) - sum(sources):
    all plans tie, and the solver's optimum is that same number.
(b) Blocks at 2 and 8 go to 3 and 7.  Moving each to its neighbour costs 1 per
    block; crossing them over costs 5 per block.  Now plans differ, and the
    solver picks the cheap one.

Run ``python examples/moving_blocks.py [--out DIR] [--small]``.
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

SRC_A, SRC_COUNTS_A = np.array([1.0, 2.0, 3.0]), np.array([2, 3, 3])
DST_A, DST_COUNTS_A = np.array([7.0, 8.0, 9.0]), np.array([3, 3, 2])
# Two hand-made plans (blocks moved from row position to column position).
PLAN_A1 = np.array([[2, 0, 0], [1, 2, 0], [0, 1, 2]])  # fill the targets in order
PLAN_A2 = np.array([[0, 0, 2], [3, 0, 0], [0, 3, 0]])  # a deliberately scrambled one
SRC_B, DST_B = np.array([2.0, 8.0]), np.array([3.0, 7.0])
PLAN_B_NEAR = np.array([[1, 0], [0, 1]])
PLAN_B_CROSS = np.array([[0, 1], [1, 0]])
SOURCE_STYLE = {"facecolor": "tab:blue", "edgecolor": "white", "linewidth": 1.5}
TARGET_STYLE = {"facecolor": "none", "edgecolor": "tab:orange", "linestyle": "--", "linewidth": 1.5}


def print_plan(title, plan, xs, ys):
    """Print a plan as a table of blocks and as a joint distribution; return its cost per block.

    Parameters
    ----------
    title : str
    plan : ndarray of int, shape (n, m)
        Blocks moved from ``xs[i]`` to ``ys[j]``.
    xs, ys : ndarray
        Source and target positions.

    Returns
    -------
    float
        ``sum(plan * |x - y|) / plan.sum()``.
    """
    total = plan.sum()
    print(f"{title}: blocks moved from position (row) to position (column)")
    print("        " + "".join(f"{y:>7g}" for y in ys) + "   | pile")
    for x, row in zip(xs, plan, strict=True):
        print(f"  {x:>4g}  " + "".join(f"{c:>7d}" for c in row) + f"   | {row.sum():>4d}")
    print("  pile  " + "".join(f"{c:>7d}" for c in plan.sum(axis=0)))
    print(f"  as a joint distribution (divided by {total}):")
    print("        " + "".join(f"{y:>7g}" for y in ys))
    for x, row in zip(xs, plan / total, strict=True):
        print(f"  {x:>4g}  " + "".join(f"{p:>7.3f}" for p in row))
    blocks_moved = float((plan * np.abs(xs[:, None] - ys[None, :])).sum())
    print(f"  {title} cost = {blocks_moved / total:g}  ({blocks_moved:g} block-steps / {total})")
    return blocks_moved / total


def solve_piles(xs, a, ys, b):
    """Optimal plan between two piles with the general network-simplex solver."""
    cost = np.abs(xs[:, None] - ys[None, :])
    return emd.solve(a / a.sum(), b / b.sum(), cost)


def block_moves(plan, xs, ys):
    """Turn a plan into one arrow per block: ((x, level), (y, level)), stacking piles."""
    left = {i: int(n) for i, n in enumerate(plan.sum(axis=1))}  # blocks still on pile i
    filled = dict.fromkeys(range(plan.shape[1]), 0)
    moves = []
    for (i, j), count in np.ndenumerate(plan):
        for _ in range(count):
            left[i] -= 1  # take from the top of the source pile
            moves.append(((xs[i], left[i] + 0.5), (ys[j], filled[j] + 0.5)))
            filled[j] += 1
    return moves


def plot(panels, path):
    """Draw each plan: filled source piles, dashed target piles and one arrow per block."""
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed (pip install 'emd-ot[plot]'): no figure written")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, Rectangle

    fig, axes = plt.subplots(2, 2, figsize=(11, 6), gridspec_kw={"height_ratios": [3, 2]})
    for ax, (title, plan, xs, ys) in zip(axes.ravel(), panels, strict=True):
        piles = ((xs, plan.sum(axis=1), SOURCE_STYLE), (ys, plan.sum(axis=0), TARGET_STYLE))
        for pos, counts, style in piles:
            for x, c in zip(pos, counts, strict=True):
                for k in range(c):
                    ax.add_patch(Rectangle((x - 0.4, k), 0.8, 1.0, **style))
        for (x0, h0), (x1, h1) in block_moves(plan, xs, ys):
            # Bend every arrow upwards whichever way it goes, so crossings stay visible.
            ax.add_patch(FancyArrowPatch((x0, h0), (x1, h1), arrowstyle="-|>", mutation_scale=12,
                                         connectionstyle=f"arc3,rad={-0.3 * np.sign(x1 - x0)}",
                                         color="0.25", linewidth=1))
        lo, hi = min(xs.min(), ys.min()) - 1, max(xs.max(), ys.max()) + 1
        top = max(plan.sum(axis=1).max(), plan.sum(axis=0).max()) + 1.6
        ax.set(xlim=(lo, hi), ylim=(0, top), xticks=np.arange(lo + 1, hi), yticks=[],
               title=title, xlabel="position")
    axes[0, 0].legend(handles=[Rectangle((0, 0), 1, 1, **SOURCE_STYLE),
                               Rectangle((0, 0), 1, 1, **TARGET_STYLE)],
                      labels=["source blocks", "target slots"], loc="upper center")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "output",
                        help="folder for the figure (default: examples/output)")
    parser.add_argument("--small", action="store_true", help="accepted for uniformity; always fast")
    args = parser.parse_args(argv)

    print("(a) 8 blocks at 1, 2, 3 (counts 2, 3, 3) -> 7, 8, 9 (counts 3, 3, 2)")
    cost_1 = print_plan("plan A1", PLAN_A1, SRC_A, DST_A)
    cost_2 = print_plan("plan A2", PLAN_A2, SRC_A, DST_A)
    shift = (DST_A @ DST_COUNTS_A - SRC_A @ SRC_COUNTS_A) / SRC_COUNTS_A.sum()
    print(f"  every block moves right: mean(target) - mean(source) = {shift:g}")
    res = solve_piles(SRC_A, SRC_COUNTS_A, DST_A, DST_COUNTS_A)
    print(f"  solver W1 (a) = {res.cost:.12g}  (its plan is a third one, just as cheap)")
    print_plan("solver plan (a)", np.rint(8 * res.dense_plan()).astype(int), SRC_A, DST_A)
    closed = emd.wasserstein_1d(SRC_A, DST_A, SRC_COUNTS_A, DST_COUNTS_A)
    print(f"  closed form 1-D W1 (a) = {closed:.12g}")

    print("\n(b) 2 blocks at 2, 8 -> 3, 7")
    near = print_plan("neighbour plan", PLAN_B_NEAR, SRC_B, DST_B)
    cross = print_plan("crossing plan", PLAN_B_CROSS, SRC_B, DST_B)
    res_b = solve_piles(SRC_B, np.ones(2), DST_B, np.ones(2))
    print(f"  solver W1 (b) = {res_b.cost:.12g}")
    print_plan("solver plan (b)", np.rint(2 * res_b.dense_plan()).astype(int), SRC_B, DST_B)

    args.out.mkdir(parents=True, exist_ok=True)
    panels = [(f"(a) plan A1: {cost_1:g} per block", PLAN_A1, SRC_A, DST_A),
              (f"(a) plan A2: {cost_2:g} per block", PLAN_A2, SRC_A, DST_A),
              (f"(b) neighbours (optimal): {near:g} per block", PLAN_B_NEAR, SRC_B, DST_B),
              (f"(b) crossing: {cross:g} per block", PLAN_B_CROSS, SRC_B, DST_B)]
    path = plot(panels, args.out / "moving_blocks.png")
    if path is not None:
        print(f"figure: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
