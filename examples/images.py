"""Images: the earth mover's distance between two grayscale pictures.

A grayscale image is a pile of "ink" on a grid of pixels.  Its W1 distance to
another image is the least work needed to push the ink of one into the shape
of the other, work being ink moved times distance.  Because the ground cost is
a metric, ink can travel pixel to pixel along a sparse graph instead of
jumping between every pair of pixels, and ``emd.wasserstein_grid`` solves that
flow problem exactly in O(pixels) memory.

* city-block distance: the grid with its 4 neighbours is exact;
* euclidean: arcs to offsets up to L pixels give a distance at most
  ``1 + rel_error_bound`` times too long, so W1 lies in the bracket
  ``[cost / (1 + bound), cost]``; ``exact=True`` solves the dense problem.

The figure shows the two images and the optimal flow of ink for each metric:
the flow leaving each pixel, summed over blocks of pixels so that one arrow
stands for one block (an arrow per pixel would be an unreadable mesh).

Run ``python examples/images.py [--out DIR] [--small] [--images A.png B.png]``.
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

# The full grid result (cost, flows, error bound): solve_grid where the API has
# it, else wasserstein_grid, which returned the result in earlier versions.
solve_grid = getattr(emd, "solve_grid", None) or emd.wasserstein_grid


def make_images(n):
    """A disc and a shifted, elongated ellipse on an n x n grid, with soft edges."""
    rows, cols = np.indices((n, n)) / n
    radii = (np.hypot(rows - 0.32, cols - 0.30) / 0.18,  # 1 on the boundary of each shape
             np.hypot((rows - 0.62) / 0.26, (cols - 0.70) / 0.12))
    # A ramp about a pixel wide instead of a hard step: anti-aliased shapes.
    return tuple(np.clip((1 - r) * n * 0.15, 0, 1) for r in radii)


def net_flow(result, shape):
    """Sum flow * step over the arcs leaving each pixel: where the ink goes, per pixel.

    Parameters
    ----------
    result : GridResult
        Solved with ``return_flows=True``: arcs over flat C-order pixel indices.
    shape : tuple of int
        The image shape.

    Returns
    -------
    ndarray, shape (2,) + shape
        Row and column components.
    """
    tails, heads, flow = result.flows
    step = np.array(np.unravel_index(heads, shape)) - np.array(np.unravel_index(tails, shape))
    size = int(np.prod(shape))
    return np.stack([np.bincount(tails, flow * d, minlength=size).reshape(shape) for d in step])


def block_flow(d_row, d_col, max_arrows=20):
    """Sum a per-pixel flow over square blocks, at most ``max_arrows`` along each side.

    Returns the block centres (row, column, in pixel coordinates), the summed
    row and column components, and the block side in pixels.
    """
    height, width = d_row.shape
    side = max(1, math.ceil(max(height, width) / max_arrows))
    n_rows, n_cols = -(-height // side), -(-width // side)
    pad = ((0, n_rows * side - height), (0, n_cols * side - width))
    sums = [np.pad(d, pad).reshape(n_rows, side, n_cols, side).sum(axis=(1, 3))
            for d in (d_row, d_col)]

    def centres(n_blocks, length):
        start = np.arange(n_blocks) * side
        return (start + np.minimum(start + side, length) - 1) / 2

    rows, cols = np.meshgrid(centres(n_rows, height), centres(n_cols, width), indexing="ij")
    return rows, cols, sums[0], sums[1], side


def plot(A, B, flows, path):
    """Both images as one colour picture, then the flow of each metric over A - B."""
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed (pip install 'emd-ot[plot]'): no figure written")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a, b = A / A.sum(), B / B.sum()
    fig, axes = plt.subplots(1, 1 + len(flows), figsize=(4.4 * (1 + len(flows)), 4.6))
    an, bn = a / a.max(), b / b.max()
    axes[0].imshow(np.clip(np.stack([1 - bn, 1 - an - bn, 1 - an], axis=-1), 0, 1))
    axes[0].set_title("A (red) and B (blue)")
    lim = np.abs(a - b).max()
    for ax, (title, (d_row, d_col)) in zip(axes[1:], flows.items(), strict=True):
        ax.imshow(a - b, cmap="RdBu_r", vmin=-lim, vmax=lim)
        rows, cols, f_row, f_col, side = block_flow(d_row, d_col)
        size = np.hypot(f_row, f_col)
        moving = size > 1e-3 * size.max()
        # Length ~ sqrt(flux) so that thin streams stay visible next to the main
        # one; the busiest block's arrow is 0.9 blocks long.
        shrink = np.sqrt(size[moving] / size.max()) / size[moving] * 0.9 * side
        ax.quiver(cols[moving], rows[moving], f_col[moving] * shrink, f_row[moving] * shrink,
                  angles="xy", scale_units="xy", scale=1, width=0.006, color="k")
        blocks = f"one arrow per {side} x {side} pixels" if side > 1 else "one arrow per pixel"
        ax.set_title(f"{title}\n({blocks})", fontsize=10)
    for ax in axes:
        ax.set(xlabel="column (pixel)", ylabel="row (pixel)")
    fig.suptitle("flows of ink drawn over A - B (red: more ink in A, blue: more in B)",
                 fontsize=11)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "output",
                        help="folder for the figure (default: examples/output)")
    parser.add_argument("--small", action="store_true", help="a 16 x 16 grid (fast)")
    parser.add_argument("--images", nargs=2, type=Path, metavar=("A", "B"),
                        help="two image files of equal size instead of the built-in shapes "
                             "(e.g. examples/data/image_a.png image_b.png; PNG needs Pillow)")
    args = parser.parse_args(argv)
    if args.images:
        from emd.io import read_histogram  # not imported by `import emd`

        # kind="grid": a CSV table of grey levels is an image, not rows of points.
        A, B = (read_histogram(p, kind="grid").weights for p in args.images)
    else:
        A, B = make_images(16 if args.small else 32)
    print(f"two {A.shape[0]} x {A.shape[1]} images, each normalised to total ink 1")

    city = solve_grid(A, B, metric="cityblock", normalize=True, return_flows=True)
    eucl = solve_grid(A, B, metric="euclidean", normalize=True, return_flows=True)
    cheb = solve_grid(A, B, metric="chebyshev", normalize=True, return_flows=True)
    exact = solve_grid(A, B, metric="euclidean", exact=True, normalize=True)
    print(f"cityblock W1 = {city.cost:.9f}  ({city.n_arcs} arcs)")
    print(f"euclidean graph cost (L={eucl.L}) = {eucl.cost:.9f}  ({eucl.n_arcs} arcs)")
    print(f"euclidean rel_error_bound = {eucl.rel_error_bound:.6g}")
    print(f"euclidean bracket = [{eucl.lower_bound:.9f}, {eucl.cost:.9f}]")
    print(f"euclidean exact W1 = {exact.cost:.9f}")
    print(f"chebyshev W1 = {cheb.cost:.9f}")
    rows, cols = np.indices(A.shape)
    centre = [np.array([(w * rows).sum(), (w * cols).sum()]) / w.sum() for w in (A, B)]
    # Moving the ink can never cost less than moving its centre of mass.
    print(f"distance between centres of mass = {np.linalg.norm(centre[0] - centre[1]):.9f}")
    print("ordering: cityblock >= euclidean >= chebyshev, and the exact W1 lies in the bracket")

    args.out.mkdir(parents=True, exist_ok=True)
    flows = {f"city-block flow, W1 = {city.cost:.3f}": net_flow(city, A.shape),
             f"euclidean flow (L = {eucl.L}), W1 <= {eucl.cost:.3f}": net_flow(eucl, A.shape),
             f"Chebyshev flow, W1 = {cheb.cost:.3f}": net_flow(cheb, A.shape)}
    path = plot(A, B, flows, args.out / "images.png")
    if path is not None:
        print(f"figure: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
