"""Run the benchmark suite: ``python -m benchmarks [--quick] [--only FAMILY ...] [--out DIR]``.

Every row times emd and its peer on the same input in the same process,
warm-up first, median of repeated runs, and checks that the answers agree.
Prints a table, writes ``results.json`` and log-log PNG plots of time
against size into ``--out`` (default ``benchmarks/results``).  A peer that
is not installed is reported at the start and in ``results.json``
(``missing_peers``); its rows are then left out.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

from . import (
    workloads,
    workloads_few,
    workloads_grid_frontier,
    workloads_pairs,
    workloads_scale,
    workloads_training,
    workloads_unequal,
    workloads_zoo,
)

QUICK = {
    "dense": {"sizes": [250, 500, 1000], "small": [10, 100]},
    # 4000 points: the multiscale start of large clouds (emd._multiscale) in a quick run.
    "lazy": {"sizes": [1000, 2000, 4000], "pot_max": 2000},
    "grid": {"sizes": [16, 32], "kinds": ["white noise", "gaussian field"],
             "metrics": ["cityblock", "euclidean"], "pot_max": 32},
    "1-D": {"sizes": [10**5, 10**6]},
    "pairwise": {"n_hists": 30, "size": 16, "dask": True},
    "scale": {"resume_grids": 200, "memory_n": 20000, "memory_seconds": 10},
    "pairs": {"quick": True},
    "unequal": workloads_unequal.QUICK,
    "zoo": {"dense_sizes": [500], "cloud_n": 4000, "high_dim": [(50, 1000), (300, 500)],
            "thin_shapes": [(1000, 30)]},
    "training": {"quick": True},
}
FULL = {
    "dense": {"sizes": [250, 500, 1000, 2000, 4000], "small": [10, 30, 100]},
    "lazy": {"sizes": [1000, 4000, 10000, 20000], "pot_max": 4000},
    "grid": {"sizes": [16, 32, 64, 128, 256, 512],
             "kinds": ["white noise", "gaussian field", "shapes", "photo-like"],
             "metrics": ["cityblock", "chebyshev", "euclidean"], "pot_max": 64},
    "1-D": {"sizes": [10**5, 10**6, 10**7]},
    "pairwise": {"n_hists": 100, "size": 32, "dask": True},
    "scale": {"resume_grids": 2000, "memory_n": 20000, "memory_seconds": 120},
    "pairs": {"quick": False},
    "unequal": workloads_unequal.FULL,
    "zoo": {"dense_sizes": [1000, 2000, 4000], "cloud_n": 20000,
            "high_dim": workloads_zoo.HIGH_DIM},
    "training": {"quick": False},
}


#: The families ``--only`` takes, with what each times.
FAMILIES = {
    "dense": "emd.solve vs ot.emd2 and scipy's wasserstein_distance_nd, dense costs",
    "lazy": "emd.solve_points vs ot.emd2_lazy, costs on the fly, with peak memory",
    "grid": "emd.wasserstein_grid vs ot.emd2 on the full matrix, 4 image classes",
    "1-D": "emd.wasserstein_1d vs scipy's wasserstein_distance and ot.wasserstein_1d",
    "pairwise": "emd.pairwise: threads vs one thread, a Dask local cluster vs threads",
    "scale": "emd.knn vs brute force, resumable pairwise on disk, memory of a huge output",
    "frontier": "grids at the frontier: Euclidean L = 3 and 10, 512 x 512 city-block "
    "(Spatial-KWD's times as the yardstick); 5 points vs 40 000-200 000 (vs ot.emd2)",
    "pairs": "emd.pairwise of many small problems vs wasserstein.PairwiseEMD (own venv)",
    "unequal": "partial transport vs ot.partial.partial_wasserstein2 (dense); unbalanced "
    "grids vs the balanced solve of the same pair",
    "zoo": "dense costs of many structures vs ot.emd2, clouds of many shapes at n = 20 000 "
    "(5 s target), high-dimensional clouds vs ot.dist + ot.emd2, with pivots and passes",
    "training": "a training step (64 pairs x 256 points, forward + backward, torch): "
    "emd.wasserstein_batch vs ot.emd2 in a Python loop",
}  # fmt: skip

#: The peers of each family: (module, attribute or None, what to install).
PEERS = {
    "dense": [("ot", None, "POT: pip install pot"),
              ("scipy.stats", "wasserstein_distance_nd", "SciPy >= 1.13")],
    "lazy": [("ot", None, "POT: pip install pot")],
    "grid": [("ot", None, "POT: pip install pot")],
    "1-D": [("ot", None, "POT: pip install pot")],
    "pairwise": [("distributed", None, "Dask: pip install 'emd-ot[distributed]'")],
    "scale": [("sklearn", None, "scikit-learn (bundled digits): pip install scikit-learn")],
    "frontier": [("skimage", None, "scikit-image (photographs; else generated images): "
                                   "pip install scikit-image"),
                 ("ot", None, "POT (the 5 x 40 000 points row): pip install pot")],
    "zoo": [("ot", None, "POT: pip install pot")],
    "pairs": [],  # the peer runs from its own venv: workloads_pairs reports it missing
    "unequal": [("ot", None, "POT: pip install pot")],
    "training": [("torch", None, "PyTorch (CPU): pip install torch"),
                 ("ot", None, "POT: pip install pot")],
}  # fmt: skip


def missing_peers(families) -> dict[str, list[str]]:
    """For each family, the peers that cannot be imported here (what to install)."""
    missing: dict[str, list[str]] = {}
    for family in families:
        for module, attribute, install in PEERS.get(family, []):
            try:
                found = importlib.import_module(module)
                if attribute is not None:
                    getattr(found, attribute)
            except (ImportError, AttributeError):
                missing.setdefault(family, []).append(install)
    return missing


def _families(config: dict):

    def dense_rows():
        yield from workloads.small(config["dense"]["small"])
        yield from workloads.dense(config["dense"]["sizes"])
        yield from workloads.degenerate([n for n in config["dense"]["sizes"] if n >= 1000])

    yield "dense", dense_rows
    yield "lazy", lambda: workloads.lazy(**config["lazy"])
    grid = dict(config["grid"])

    def grid_rows():
        # Beyond 128 x 128 only the city-block metric: the others scale alike
        # and white noise at 512 x 512 alone takes minutes.
        small = [s for s in grid["sizes"] if s <= 128]
        large = [s for s in grid["sizes"] if s > 128]
        yield from workloads.grids(small, grid["kinds"], grid["metrics"], grid["pot_max"])
        yield from workloads.grids(large, grid["kinds"], ["cityblock"], grid["pot_max"])

    yield "grid", grid_rows
    yield "1-D", lambda: workloads.onedim(config["1-D"]["sizes"])
    yield "pairwise", lambda: workloads.pairwise(**config["pairwise"])
    yield "scale", lambda: workloads_scale.run(config["scale"])

    def frontier_rows():
        yield from workloads_grid_frontier.frontier(quick=config is QUICK)
        yield from workloads_few.few_sources(quick=config is QUICK)

    yield "frontier", frontier_rows
    yield "pairs", lambda: workloads_pairs.run(config["pairs"])
    yield "unequal", lambda: workloads_unequal.run(config["unequal"])
    yield "zoo", lambda: workloads_zoo.run(config["zoo"])
    yield "training", lambda: workloads_training.training(**config["training"])


def _fmt(value, spec):
    return "-" if value is None else format(value, spec)


#: Relative difference of two exact answers that counts as a disagreement; a row
#: of an approximation (Euclidean grid graphs) is allowed its proven bound on top.
AGREE_RTOL = 1e-9


def disagrees(row: dict) -> bool:
    """Whether a row's answer differs from its peer's beyond rounding (or the proven
    bound of an approximation)."""
    if row.get("rel_diff") is None:
        return False
    allowed = AGREE_RTOL + (row.get("rel_error_bound") or 0.0) * (1 + AGREE_RTOL)
    return not row["rel_diff"] <= allowed


def _print_row(row: dict) -> None:
    print(
        f"{row['family']:<9} {row['case'][:44]:<44} {row['size']:>8} "
        f"{_fmt(row['ours_s'], '10.4f')} {(row['peer'] or '-')[:34]:<34} "
        f"{_fmt(row['peer_s'], '10.4f')} {_fmt(row['ratio'], '8.3f')} "
        f"{_fmt(row['rel_diff'], '9.1e')}" + ("  DISAGREES" if disagrees(row) else "")
        + (f"  pivots {row['n_iter']} passes {row['passes']}" if "passes" in row else ""),
        flush=True,
    )


def _plot(rows: list[dict], out: Path) -> list[Path]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plots (pip install 'emd-ot[bench]')")
        return []
    written = []
    for family in sorted({r["family"] for r in rows if r["family"] not in ("pairwise", "scale")}):
        fig, ax = plt.subplots(figsize=(6.5, 4.5))
        series: dict[str, list[tuple[int, float]]] = {}
        for r in (r for r in rows if r["family"] == family):
            series.setdefault(f"emd: {r['case']}", []).append((r["size"], r["ours_s"]))
            if r["peer_s"] is not None:
                series.setdefault(f"{r['peer']}: {r['case']}", []).append((r["size"], r["peer_s"]))
        for label, points in series.items():
            points = sorted(set(points))
            ax.loglog(*zip(*points, strict=True), marker="o",
                      linestyle="-" if label.startswith("emd") else "--", label=label[:48])
        ax.set_xlabel("size (n points, grid side, or samples)")
        ax.set_ylabel("seconds (median)")
        ax.set_title(f"{family}: time against size")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6)
        fig.tight_layout()
        path = out / f"{family.replace('-', '').replace(' ', '_')}.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)
    return written


def main(argv=None) -> int:
    width = max(map(len, FAMILIES))
    epilog = "families (for --only):\n" + "\n".join(
        f"  {name:<{width}}  {text}" for name, text in FAMILIES.items()
    )
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     epilog=epilog,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes (under 2 minutes)")
    parser.add_argument("--only", nargs="+", metavar="FAMILY", choices=list(FAMILIES),
                        help="run only these families: " + ", ".join(FAMILIES))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results",
                        help="folder for results.json and the plots")
    args = parser.parse_args(argv)
    config = QUICK if args.quick else FULL
    args.out.mkdir(parents=True, exist_ok=True)
    info = workloads.machine()
    print(f"emd benchmarks ({'quick' if args.quick else 'full'}) on {info}")
    selected = [f for f in FAMILIES if not args.only or f in args.only]
    missing = missing_peers(selected)
    for family, installs in missing.items():
        print(f"missing peer for {family}: {'; '.join(installs)} (those rows are left out)")
    print(f"{'family':<9} {'case':<44} {'size':>8} {'emd [s]':>10} {'peer':<34} "
          f"{'peer [s]':>10} {'ratio':>8} {'rel diff':>9}")
    rows = []
    start = time.perf_counter()
    for family, run in _families(config):
        if args.only and family not in args.only:
            continue
        try:
            for row in run():
                _print_row(row)
                rows.append(row)
        except ImportError as exc:
            # A peer the family cannot run without: say so, keep the other families.
            print(f"{family}: stopped, {exc} (see the missing peers above)")
            missing.setdefault(family, []).append(str(exc))
    elapsed = time.perf_counter() - start
    results = {"machine": info, "mode": "quick" if args.quick else "full",
               "seconds": elapsed, "missing_peers": missing, "rows": rows}
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    plots = _plot(rows, args.out)
    print(f"done in {elapsed:.0f} s; wrote {args.out / 'results.json'}"
          + (f" and {len(plots)} plots" if plots else ""))
    bad = [row for row in rows if disagrees(row)]
    if bad:
        print(f"{len(bad)} row(s) disagree with their peer: "
              + "; ".join(f"{r['family']} {r['case']} {r['size']}" for r in bad))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
