"""Compare the answers of two benchmark runs: ``python -m benchmarks.compare OLD.json NEW.json``.

Rows are matched by family, case and size.  For each pair the answers are
compared bit for bit (their fingerprints, see ``benchmarks._timing.fingerprint``);
where two numbers differ the relative difference is printed, so a change that
only moves the last bits (another optimal basis, another summation order) is
told apart from a change of the answer.  Timings are printed side by side.
Exit status 1 when some matched answer differs, 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _key(row: dict) -> tuple:
    return row["family"], row["case"], row["size"]


def _numbers(answer) -> list[float]:
    if isinstance(answer, str):
        return [float.fromhex(answer)]
    if isinstance(answer, list):
        return [x for item in answer for x in _numbers(item)]
    if isinstance(answer, dict) and answer.get("sum") is not None:
        return [answer["sum"]]
    return []


def relative_difference(old, new) -> float | None:
    """Largest relative difference of the numbers two fingerprints hold (None: not numbers)."""
    a, b = _numbers(old), _numbers(new)
    if not a or len(a) != len(b):
        return None
    return max(abs(x - y) / max(abs(x), abs(y), 1e-300) for x, y in zip(a, b, strict=True))


def compare(old: dict, new: dict) -> tuple[list[tuple], int]:
    """Rows ``(key, identical, rel_diff, old_s, new_s)`` for every row with an answer in both runs,
    and how many of them differ."""
    before = {_key(r): r for r in old["rows"] if r.get("answer") is not None}
    out, differ = [], 0
    for row in new["rows"]:
        key = _key(row)
        if row.get("answer") is None or key not in before:
            continue
        identical = before[key]["answer"] == row["answer"]
        differ += not identical
        out.append((key, identical, None if identical else
                    relative_difference(before[key]["answer"], row["answer"]),
                    before[key]["ours_s"], row["ours_s"]))
    return out, differ


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", type=Path, help="results.json of the earlier run")
    parser.add_argument("new", type=Path, help="results.json of the later run")
    args = parser.parse_args(argv)
    rows, differ = compare(json.loads(args.old.read_text()), json.loads(args.new.read_text()))
    print(f"{'family':<9} {'case':<44} {'size':>8} {'answer':<18} {'old [s]':>9} {'new [s]':>9}")
    for (family, case, size), identical, rel, old_s, new_s in rows:
        verdict = "identical" if identical else (
            f"rel {rel:.1e}" if rel is not None else "differs")
        print(f"{family:<9} {case[:44]:<44} {size:>8} {verdict:<18} "
              f"{old_s if old_s is not None else float('nan'):>9.4f} "
              f"{new_s if new_s is not None else float('nan'):>9.4f}")
    print(f"{len(rows)} answers compared, {differ} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
