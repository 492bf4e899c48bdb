"""Nearest digits: the exact k nearest neighbours of handwritten digits under W1.

Each 8 x 8 image of scikit-learn's bundled digits (1797 of them, nothing to
download) is a pile of ink; W1 with the city-block ground metric is the least
ink-times-distance needed to turn one digit into another.  ``emd.knn`` finds
each query's nearest digits exactly, the answer brute force would give, while
solving only a few percent of the transport problems: cheap lower bounds
(the distance between the centres of ink, relaxed transport, 1-D projections)
rule out most candidates, and only those whose bound beats the current k-th
distance are solved.

Run ``python examples/nearest_digits.py [--out DIR] [--small] [--k K] [--queries Q]``
(needs scikit-learn; the figure needs matplotlib).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

try:
    import emd
except ImportError:  # run from a source checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import emd


def load(small: bool):
    """The digits as histograms of total mass 1, and their labels."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise SystemExit("this example needs scikit-learn: pip install scikit-learn") from None
    digits = load_digits()
    images, labels = digits.images, digits.target
    if small:
        images, labels = images[:300], labels[:300]
    return images / images.sum(axis=(1, 2), keepdims=True), labels


def plot(images, labels, queries, result, path):
    """One row per query: the query, then its neighbours with their distances."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no figure (pip install 'emd-ot[plot]')")
        return
    k = result.indices.shape[1]
    fig, axes = plt.subplots(len(queries), k + 1, figsize=(1.45 * (k + 1), 1.6 * len(queries)),
                             squeeze=False)
    for row, q in enumerate(queries):
        axes[row, 0].imshow(images[q], cmap="gray_r")
        axes[row, 0].set_title(f"query #{q}\nlabel {labels[q]}", fontsize=8, color="tab:blue")
        for col in range(k):
            j, d = result.indices[row, col], result.distances[row, col]
            ax = axes[row, col + 1]
            ax.imshow(images[j], cmap="gray_r")
            color = "black" if labels[j] == labels[q] else "tab:red"
            ax.set_title(f"#{j} (label {labels[j]})\nW1 = {d:.3f}", fontsize=8, color=color)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"Exact {k} nearest digits under W1 (city-block; 1 = one pixel; red: another "
                 f"label): {result.n_solves} exact solves instead of {result.n_pairs}",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"figure: {path}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "output")
    parser.add_argument("--small", action="store_true", help="300 digits only (a second)")
    parser.add_argument("--k", type=int, default=5, help="neighbours per query (default 5)")
    parser.add_argument("--queries", type=int, default=6, help="queries (default 6)")
    args = parser.parse_args(argv)
    images, labels = load(args.small)
    rng = np.random.default_rng(0)
    queries = np.sort(rng.choice(len(images), size=args.queries, replace=False))
    # The queries are searched among all the other digits: held out of their own list.
    others = np.setdiff1d(np.arange(len(images)), queries)
    start = time.perf_counter()
    found = emd.knn(images[queries], images[others], k=args.k)
    seconds = time.perf_counter() - start
    result = emd.NeighborsResult(
        others[found.indices], found.distances, found.n_solves, found.n_pairs,
        found.n_bound_solves, found.uncertified,
    )
    print(f"digits = {len(images)}")
    print(f"exact solves = {result.n_solves} (brute force: {result.n_pairs}) in {seconds:.2f} s")
    print("query label | neighbour label (W1) ...")
    agree = 0
    for row, q in enumerate(queries):
        cells = [f"{labels[j]} ({d:.3f})" for j, d in
                 zip(result.indices[row], result.distances[row], strict=True)]
        agree += int(np.sum(labels[result.indices[row]] == labels[q]))
        print(f"  {q:4d} {labels[q]} | " + "  ".join(cells))
    print(f"same label = {agree / result.indices.size:.2f} of the neighbours")
    args.out.mkdir(parents=True, exist_ok=True)
    plot(images, labels, queries, result, args.out / "nearest_digits.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
