"""Brightness matters: normalised W1 hides it, the unbalanced distance shows it.

Two photographs of the same scene, the second taken with a longer exposure,
carry different amounts of light.  Normalising both to mass 1 (what
``scipy.stats.wasserstein_distance`` and ``normalize=True`` do) asks how the
light is *arranged*, and a uniformly brighter image is then identical to the
original: its W1 is 0.  Unbalanced W1 (``unbalanced=LAM``) moves the masses as
given and charges LAM for every unit of light created or destroyed, so the
extra light is counted: its distance is LAM times the extra mass.

(a) B = 2 A, everywhere twice as bright: normalised W1 = 0; unbalanced =
    LAM * sum(A) exactly (every unit of the excess must be created somewhere,
    and creating it where it is needed moves nothing).
(b) B = A plus one bright spot: normalisation turns the new light into light
    *moving*: rescaled, B has less light everywhere but at the spot, so W1
    carries a share of the whole image across to the spot and reports a
    rearrangement.  The unbalanced distance is LAM times the spot's mass,
    created exactly at the spot, and nothing moves.

The figure shows A, B and the created mass of each case.  Run ``python
examples/unbalanced_brightness.py [--out DIR] [--small]``.
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

#: Price per unit of light created or destroyed, in pixels of travel.
LAM = 3.0


def scene(size: int) -> np.ndarray:
    """A smooth blob of light, total mass 1."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    image = np.exp(-((xx - 0.4) ** 2 + (yy - 0.45) ** 2) / 0.03) + 0.05
    return image / image.sum()


def spot(size: int) -> np.ndarray:
    """A bright spot of 4 pixels, total mass 0.25."""
    extra = np.zeros((size, size))
    row, col = (3 * size) // 4, (3 * size) // 4
    extra[row : row + 2, col : col + 2] = 0.25 / 4
    return extra


def compare(title: str, a: np.ndarray, b: np.ndarray):
    """Print normalised W1 and the unbalanced distance; return the unbalanced result."""
    normalised = emd.wasserstein_grid(a, b, normalize=True)
    result = emd.solve_grid(a, b, unbalanced=LAM)
    assert result.status == "optimal", result.status
    print(title)
    print(f"  masses: sum(A) = {a.sum():.6g}, sum(B) = {b.sum():.6g}")
    print(f"  normalised W1 {title[:3]} = {normalised:.12g}")
    print(f"  unbalanced {title[:3]} = {result.cost:.12g}  (lam = {LAM:g} per unit)")
    print(f"  created mass {title[:3]} = {result.mass_created:.12g}  (destroyed "
          f"{result.mass_destroyed:.6g}, moved {result.mass_moved:.6g})")
    print(f"  certificate bound = {result.certificate().bound:.3g}")
    return result


def plot(panels, path):
    """Rows of (A, B, created mass) images."""
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed (pip install 'emd-ot[plot]'): no figure written")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(panels), 3, figsize=(10, 3.3 * len(panels)))
    for row, (label, a, b, created) in zip(axes, panels, strict=True):
        # The 98th percentile, so a small bright spot saturates rather than darkening
        # everything else.
        top = max(a.max(), float(np.quantile(b, 0.98)))
        for ax, image, title, cmap, vmax in (
            (row[0], a, f"{label}: A (mass {a.sum():.2f})", "gray", top),
            (row[1], b, f"B (mass {b.sum():.2f})", "gray", top),
            (row[2], created, f"created by unbalanced W1 ({created.sum():.2f})", "magma", None),
        ):
            ax.imshow(image, cmap=cmap, vmin=0, vmax=vmax)
            ax.set(title=title, xticks=[], yticks=[])
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "output",
                        help="folder for the figure (default: examples/output)")
    parser.add_argument("--small", action="store_true", help="16 x 16 images instead of 48 x 48")
    args = parser.parse_args(argv)
    size = 16 if args.small else 48

    a = scene(size)
    brighter = 2 * a
    spotted = a + spot(size)
    first = compare("(a) B = 2 A", a, brighter)
    second = compare("(b) B = A + spot", a, spotted)
    print(f"  spot mass = {spot(size).sum():.12g}")

    args.out.mkdir(parents=True, exist_ok=True)
    panels = [("(a)", a, brighter, first.created), ("(b)", a, spotted, second.created)]
    path = plot(panels, args.out / "unbalanced_brightness.png")
    if path is not None:
        print(f"figure: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
