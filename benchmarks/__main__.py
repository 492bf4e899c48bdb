"""Run the benchmark suite: ``python -m benchmarks [--quick] [--only FAMILY ...] [--out DIR]``.

Every row times emd and its peer on the same input in the same process,
warm-up first, median of repeated runs, and checks that the answers agree.
Prints a table, writes ``results.json`` and log-log PNG plots of time
against size into ``--out`` (default ``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import workloads, workloads_grid_frontier

QUICK = {
    "dense": {"sizes": [250, 500, 1000]},
    "lazy": {"sizes": [1000, 2000], "pot_max": 2000},
    "grid": {"sizes": [16, 32], "kinds": ["white noise", "gaussian field"],
             "metrics": ["cityblock", "euclidean"], "pot_max": 32},
    "1-D": {"sizes": [10**5, 10**6]},
    "pairwise": {"n_hists": 30, "size": 16, "dask": True},
}
FULL = {
    "dense": {"sizes": [250, 500, 1000, 2000, 4000]},
    "lazy": {"sizes": [1000, 4000, 10000, 20000], "pot_max": 4000},
    "grid": {"sizes": [16, 32, 64, 128, 256, 512],
             "kinds": ["white noise", "gaussian field", "shapes", "photo-like"],
             "metrics": ["cityblock", "chebyshev", "euclidean"], "pot_max": 64},
    "1-D": {"sizes": [10**5, 10**6, 10**7]},
    "pairwise": {"n_hists": 100, "size": 32, "dask": True},
}


def _families(config: dict):
    yield "dense", lambda: workloads.dense(config["dense"]["sizes"])
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
    yield "frontier", lambda: workloads_grid_frontier.frontier(quick=config is QUICK)


def _fmt(value, spec):
    return "-" if value is None else format(value, spec)


def _print_row(row: dict) -> None:
    print(
        f"{row['family']:<9} {row['case'][:44]:<44} {row['size']:>8} "
        f"{_fmt(row['ours_s'], '10.4f')} {(row['peer'] or '-')[:34]:<34} "
        f"{_fmt(row['peer_s'], '10.4f')} {_fmt(row['ratio'], '8.3f')} "
        f"{_fmt(row['rel_diff'], '9.1e')}",
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
    for family in sorted({r["family"] for r in rows if r["family"] != "pairwise"}):
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
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes (under 2 minutes)")
    parser.add_argument("--only", nargs="+", metavar="FAMILY",
                        choices=["dense", "lazy", "grid", "1-D", "pairwise", "frontier"],
                        help="run only these families")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results",
                        help="folder for results.json and the plots")
    args = parser.parse_args(argv)
    config = QUICK if args.quick else FULL
    args.out.mkdir(parents=True, exist_ok=True)
    info = workloads.machine()
    print(f"emd benchmarks ({'quick' if args.quick else 'full'}) on {info}")
    print(f"{'family':<9} {'case':<44} {'size':>8} {'emd [s]':>10} {'peer':<34} "
          f"{'peer [s]':>10} {'ratio':>8} {'rel diff':>9}")
    rows = []
    start = time.perf_counter()
    for family, run in _families(config):
        if args.only and family not in args.only:
            continue
        for row in run():
            _print_row(row)
            rows.append(row)
    elapsed = time.perf_counter() - start
    results = {"machine": info, "mode": "quick" if args.quick else "full",
               "seconds": elapsed, "rows": rows}
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    plots = _plot(rows, args.out)
    print(f"done in {elapsed:.0f} s; wrote {args.out / 'results.json'}"
          + (f" and {len(plots)} plots" if plots else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
