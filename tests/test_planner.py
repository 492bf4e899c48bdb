"""The planner (emd._planner): one home for every path choice, which the core and the
batches read rather than copy."""

import ast
from pathlib import Path

import numpy as np

from emd import _multiscale, _planner
from emd._core import _pair


def test_the_compiled_pair_solve_runs_with_the_planners_limits():
    # set_limits returns the limits in force (every one of them: the planner owns
    # the thresholds, the core only applies them); set them back unchanged.
    current = _pair.set_limits(matrix_cells=1, all_arcs_cells=2, small_cells=3, wide_dim=4,
                               wide_cells=5, monge_samples=6, monge_agree=0.5,
                               complete_cells=7, complete_after=8, complete_share=9)
    changed = _pair.set_limits(**current)
    assert current == _planner.core_limits()
    assert changed == {"matrix_cells": 1, "all_arcs_cells": 2, "small_cells": 3,
                       "wide_dim": 4, "wide_cells": 5, "monge_samples": 6, "monge_agree": 0.5,
                       "complete_cells": 7, "complete_after": 8, "complete_share": 9}
    assert _pair.set_limits() == current


def test_no_pair_of_the_compiled_batch_takes_the_multiscale_path():
    # The batch solves pairs up to BRUTE_FORCE_CELLS in its compiled loop; a pair
    # there must take the single solve's path, which is "compiled" up to that size.
    limit = _planner.BRUTE_FORCE_CELLS
    for n, m in [(1, limit), (2000, limit // 2000), (limit, 1)]:
        assert n * m <= limit
        assert _planner.point_candidates(n, m, 2) == "compiled"
    assert _planner.point_candidates(2100, 2100, 2) == "multiscale"
    assert _planner.point_candidates(2100, 2100, _planner.MULTISCALE_MAX_DIM + 1) == "nearest"
    assert _planner.point_candidates(2001, 2000, 2) == "nearest"


def test_batches_set_aside_exactly_the_pairs_the_single_solve_sends_to_few_sources():
    rng = np.random.default_rng(0)
    sizes = [3, 64, 65, 100, 10_000, 12_800, 50_000]
    hists = [np.where(rng.random(n) < 0.5, 0.0, 1.0) for n in sizes]
    kept = _planner.kept_counts(hists, points=False)
    pairs = np.array([(i, j) for i in range(len(sizes)) for j in range(len(sizes))])
    alone = _planner.batch_alone(kept, kept, pairs, None)
    single = [_planner.takes_few_sources(hists[i], hists[j], None, None) for i, j in pairs]
    assert alone.tolist() == single
    assert any(single) and not all(single)
    # A pivot limit keeps every pair off the path, in both.
    assert not _planner.batch_alone(kept, kept, pairs, 10).any()
    assert not any(_planner.takes_few_sources(hists[i], hists[j], 10, None) for i, j in pairs)


def test_multiscale_does_not_call_back_into_the_engine():
    tree = ast.parse(Path(_multiscale.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                for alias in node.names}
    assert "_engine" not in imported and "solve_bipartite" not in imported
