"""Regenerate the small example inputs of ``emd-compute`` in this directory.

Run ``python examples/data/make_data.py [OUT_DIR]``.  The output is fully
deterministic (closed-form shapes, no random numbers), so rerunning it leaves
the committed files unchanged; the PNG files need Pillow
(``pip install "emd-ot[images]"``).

Files
-----
``hist_a.csv``, ``hist_b.csv``
    1-D histograms of 12 bins, header ``weight``, total mass 52 each.
``hist_c.json``
    A bimodal 1-D histogram as a JSON list, also of mass 52.
``image_a.csv``, ``image_b.csv``, ``image_a.png``, ``image_b.png``
    16x16 grey-level images (0-255): a round blob, and a smaller elongated
    blob moved towards the lower right.  The CSV grids hold exactly the
    pixels of the PNG files; read them with ``kind="grid"``.
``points_a.csv``, ``points_b.csv``
    20 weighted points in 2-D each (header ``x,y,weight``), total mass 50:
    a circle, and a shifted ellipse with the weights reversed.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# Hand-written integer counts keep the files readable and the totals equal,
# so the balanced solvers can use them without normalisation.
HIST_A = [0, 1, 3, 6, 10, 12, 10, 6, 3, 1, 0, 0]
HIST_B = [0, 0, 0, 1, 2, 4, 7, 10, 11, 9, 6, 2]
HIST_C = [8, 10, 6, 2, 0, 0, 0, 2, 6, 10, 8, 0]

IMAGE_SIZE = 16
N_POINTS = 20


def blob(center: tuple[float, float], sigma: tuple[float, float], peak: float) -> np.ndarray:
    """Gaussian blob on the 16x16 pixel grid, as uint8 grey levels with a clean zero tail."""
    rows, cols = np.indices((IMAGE_SIZE, IMAGE_SIZE), dtype=np.float64)
    r2 = ((rows - center[0]) / sigma[0]) ** 2 + ((cols - center[1]) / sigma[1]) ** 2
    image = np.rint(peak * np.exp(-0.5 * r2))
    # Cut the faint tail so the images have exact zeros, as real masks do.
    image[image < 8] = 0
    return image.astype(np.uint8)


def point_set(
    center: tuple[float, float], radii: tuple[float, float], phase: float, weights: list[int]
) -> list[tuple[str, str, int]]:
    rows = []
    for k in range(N_POINTS):
        angle = phase + 2 * math.pi * k / N_POINTS
        x = center[0] + radii[0] * math.cos(angle)
        y = center[1] + radii[1] * math.sin(angle)
        # Four decimals keep the files short; "+ 0.0" turns -0.0 into 0.0.
        rows.append((f"{round(x, 4) + 0.0:.4f}", f"{round(y, 4) + 0.0:.4f}", weights[k % 4]))
    return rows


def write_text(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")


def main(out_dir: Path = HERE) -> list[Path]:
    """Write every example file into ``out_dir`` and return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []

    for name, counts in (("hist_a.csv", HIST_A), ("hist_b.csv", HIST_B)):
        write_text(out_dir / name, ["weight", *map(str, counts)])
        written.append(out_dir / name)
    write_text(out_dir / "hist_c.json", [json.dumps(HIST_C)])
    written.append(out_dir / "hist_c.json")

    images = {
        "image_a": blob(center=(5.5, 6.0), sigma=(2.2, 2.2), peak=255),
        "image_b": blob(center=(10.0, 9.5), sigma=(1.4, 3.0), peak=230),
    }
    for name, image in images.items():
        write_text(out_dir / f"{name}.csv", [",".join(map(str, row)) for row in image.tolist()])
        written.append(out_dir / f"{name}.csv")

    points = {
        "points_a": point_set(center=(2.0, 2.0), radii=(1.5, 1.5), phase=0.0, weights=[1, 2, 3, 4]),
        "points_b": point_set(
            center=(5.0, 3.0), radii=(2.0, 1.0), phase=math.pi / 20, weights=[4, 3, 2, 1]
        ),
    }
    for name, rows in points.items():
        write_text(out_dir / f"{name}.csv", ["x,y,weight", *(f"{x},{y},{w}" for x, y, w in rows)])
        written.append(out_dir / f"{name}.csv")

    try:
        from PIL import Image
    except ImportError:
        print('skipping PNG files: pip install "emd-ot[images]"', file=sys.stderr)
        return written
    for name, image in images.items():
        Image.fromarray(image).save(out_dir / f"{name}.png", format="PNG")
        written.append(out_dir / f"{name}.png")
    return written


if __name__ == "__main__":
    for path in main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(path)
