"""Coverage-guided fuzzing of the compiled core and the solvers built on it (atheris).

    python tests/fuzz/fuzz_core.py -atheris_runs=100000 -timeout=30
    python tests/fuzz/fuzz_core.py corpus/core -max_total_time=600 -timeout=30

Each input is decoded into one call: the spanning-tree kernel directly (arbitrary
arc lists, warm-start forests, batch pairs), the cost kernels directly, or a public
entry point (dense and point-cloud transport, min-cost flow, grids).  Allowed outcomes
are a result that passes its check, or ValueError/TypeError.  Anything else -- another
exception, a failed check, a crash, or a call slower than ``-timeout`` seconds -- is a
finding: libFuzzer stops and writes the input to ``crash-*`` or ``timeout-*``; replay
it with ``python tests/fuzz/fuzz_core.py crash-...``.  See tests/fuzz/README.md.
"""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path

import atheris

# Fuzz the checkout's in-place build (python setup.py build_ext --inplace) when it has
# one, else the installed package.
_ROOT = Path(__file__).resolve().parents[2]
if list(_ROOT.glob("emd/_core/_tree*.so")):
    sys.path.insert(0, str(_ROOT))

with atheris.instrument_imports(include=["emd"]):
    import numpy as np
    from emd._core._grid import GridWorkspace
    from emd._core._tree import SpanningTree

    import emd
    from emd._core import _costs

warnings.simplefilter("ignore")  # SolverWarning on purpose when max_iter is small

ALLOWED = (ValueError, TypeError)


def floats(fdp: atheris.FuzzedDataProvider, count: int, lo: float, hi: float) -> np.ndarray:
    """Mostly values in [lo, hi]; one draw in eight is any double (NaN, inf, subnormal...)."""
    out = np.empty(count)
    for k in range(count):
        if fdp.ConsumeIntInRange(0, 7) == 0:
            out[k] = fdp.ConsumeFloat()
        else:
            out[k] = fdp.ConsumeFloatInRange(lo, hi)
    return out


def indices(fdp: atheris.FuzzedDataProvider, count: int, n: int) -> np.ndarray:
    """Node indices, mostly in [0, n), sometimes just outside."""
    return np.array(
        [fdp.ConsumeIntInRange(-1, n) if fdp.ConsumeIntInRange(0, 15) == 0
         else fdp.ConsumeIntInRange(0, max(n - 1, 0)) for _ in range(count)],
        dtype=np.intp,
    )


def balanced(fdp: atheris.FuzzedDataProvider, n: int) -> np.ndarray:
    supply = floats(fdp, n, -5.0, 5.0)
    if n and fdp.ConsumeBool():
        with np.errstate(all="ignore"):
            supply[-1] -= supply.sum()
    return supply


def check_tree(tree: SpanningTree) -> None:
    assert tree.check_structure()
    arcs, tails, _, flows, _ = tree.tree_arcs()
    assert arcs.size == tails.size == flows.size
    float(tree.cost())


def fuzz_spanning_tree(fdp: atheris.FuzzedDataProvider) -> None:
    n = fdp.ConsumeIntInRange(0, 12)
    supply = balanced(fdp, n)
    n_arcs = fdp.ConsumeIntInRange(0, 40)
    tails, heads = indices(fdp, n_arcs, n), indices(fdp, n_arcs, n)
    costs = floats(fdp, n_arcs + (fdp.ConsumeIntInRange(0, 9) == 0), -3.0, 10.0)
    art = fdp.ConsumeFloatInRange(0.0, 1e3) if fdp.ConsumeBool() else fdp.ConsumeFloat()
    tree = SpanningTree(supply, art)
    for _ in range(fdp.ConsumeIntInRange(1, 3)):
        try:
            status = tree.solve(tails, heads, costs, fdp.ConsumeIntInRange(0, 500))
        except ALLOWED:
            return
        assert status in (0, 1, 2)
        if np.isfinite(supply).all() and np.isfinite(costs).all() and math.isfinite(art):
            check_tree(tree)


def forest(fdp: atheris.FuzzedDataProvider, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A random depth-first preorder and its forest: each node hangs from a node on the
    current root path, or starts a new tree."""
    preorder = np.random.default_rng(fdp.ConsumeUInt(2)).permutation(n).astype(np.intp)
    parent = np.full(n, -1, dtype=np.intp)
    path: list[int] = []
    for v in preorder:
        del path[fdp.ConsumeIntInRange(0, len(path)):]
        if path:
            parent[v] = path[-1]
        path.append(int(v))
    return preorder, parent


def fuzz_warm_start(fdp: atheris.FuzzedDataProvider) -> None:
    n = fdp.ConsumeIntInRange(1, 10)
    supply = balanced(fdp, n)
    tree = SpanningTree(supply, 100.0)
    n_arcs = fdp.ConsumeIntInRange(0, 20)
    tails, heads = indices(fdp, n_arcs, n), indices(fdp, n_arcs, n)
    if fdp.ConsumeIntInRange(0, 3):
        # A valid forest whose edges are arcs both ways, after the random arcs.
        preorder, parent = forest(fdp, n)
        child = np.flatnonzero(parent >= 0)
        up, down = np.full(n, -1, dtype=np.intp), np.full(n, -1, dtype=np.intp)
        up[child] = n_arcs + np.arange(child.size)
        down[child] = n_arcs + child.size + np.arange(child.size)
        tails = np.concatenate([tails, child, parent[child]])
        heads = np.concatenate([heads, parent[child], child])
    else:
        preorder = np.array(fdp.ConsumeIntListInRange(n, -1, n), dtype=np.intp)
        parent = indices(fdp, n, n) - (np.arange(n) % 2)  # some -1 roots
        up, down = indices(fdp, n, n_arcs), indices(fdp, n, n_arcs)
    costs = floats(fdp, tails.size, 0.0, 5.0)
    try:
        tree.start_from_forest(preorder, parent, up, down, costs)
        tree.solve(tails, heads, costs, 1000)
    except ALLOWED:
        return
    if np.isfinite(supply).all() and np.isfinite(costs).all():
        check_tree(tree)


def fuzz_grid_batch(fdp: atheris.FuzzedDataProvider) -> None:
    from emd.structured._grid import GridSolver

    shape = (fdp.ConsumeIntInRange(1, 5), fdp.ConsumeIntInRange(1, 5))
    n = shape[0] * shape[1]
    k = fdp.ConsumeIntInRange(1, 4)
    left = np.abs(floats(fdp, k * n, 0.0, 3.0)).reshape(k, n)
    right = left[::-1].copy() if fdp.ConsumeBool() else np.abs(floats(fdp, k * n, 0, 3)).reshape(k, n)
    metric = ("cityblock", "chebyshev", "euclidean")[fdp.ConsumeIntInRange(0, 2)]
    plan = GridSolver(shape, metric, 1.0, 3 if metric == "euclidean" else None).graph.plan()
    pairs = indices(fdp, 2 * fdp.ConsumeIntInRange(0, 5), k).reshape(-1, 2)
    try:
        values, codes = GridWorkspace(plan).batch(left, right, pairs,
                                                  fdp.ConsumeIntInRange(-1, 300), 0.5e-9)
    except ALLOWED:
        return
    assert values.shape == codes.shape == (pairs.shape[0],)


def fuzz_cost_kernels(fdp: atheris.FuzzedDataProvider) -> None:
    n, m, d = (fdp.ConsumeIntInRange(0, 5) for _ in range(3))
    d2 = d if fdp.ConsumeIntInRange(0, 7) else fdp.ConsumeIntInRange(0, 5)
    x = floats(fdp, n * d, -5, 5).reshape(n, d)
    y = floats(fdp, m * d2, -5, 5).reshape(m, d2)
    code = fdp.ConsumeIntInRange(0, 5)
    p = fdp.ConsumeFloatInRange(1.0, 5.0)
    u = floats(fdp, n + (fdp.ConsumeIntInRange(0, 7) == 0), -3, 3)
    v = floats(fdp, m, -3, 3)
    which = fdp.ConsumeIntInRange(0, 6)
    cost = floats(fdp, n * m, -3, 3).reshape(n, m)
    rows = indices(fdp, fdp.ConsumeIntInRange(0, n + 1), n) if fdp.ConsumeBool() else None
    cols = indices(fdp, fdp.ConsumeIntInRange(0, m + 1), m) if fdp.ConsumeBool() else None
    arcs = fdp.ConsumeIntInRange(0, 10)
    t, h = indices(fdp, arcs, n), indices(fdp, arcs, m)
    try:
        if which <= 3:
            _costs.points_arc_costs(x, y, code, p, t, h)
        elif which == 4:
            _costs.dense_min_reduced_cost(cost, u, v, np.zeros_like(u), np.zeros_like(v),
                                          rows, cols)
        elif which == 5:
            _costs.points_min_reduced_cost(x, y, code, p, u, v, np.zeros_like(u),
                                           np.zeros_like(v), rows, cols)
        else:
            _costs.points_c_transform(x, y, code, p, v)
    except ALLOWED:
        return


def full(*arrays) -> str:
    """Inputs at full precision for the failure message (reprs round to 8 digits)."""
    return "; ".join(np.array2string(np.asarray(a), precision=17, separator=", ") for a in arrays)


def check_transport(result, max_iter, *inputs) -> None:
    assert math.isfinite(result.cost)
    if result.status == "optimal":
        cert = result.certificate()
        assert cert.optimal(), (cert, full(*inputs))
    else:
        assert max_iter is not None, (result, full(*inputs))


def fuzz_solve(fdp: atheris.FuzzedDataProvider) -> None:
    n, m = fdp.ConsumeIntInRange(0, 7), fdp.ConsumeIntInRange(0, 7)
    a = np.abs(floats(fdp, n, 0.0, 4.0))
    b = np.abs(floats(fdp, m, 0.0, 4.0))
    cost = floats(fdp, n * m, -2.0, 10.0).reshape(n, m)
    max_iter = fdp.ConsumeIntInRange(1, 50) if fdp.ConsumeIntInRange(0, 3) == 0 else None
    try:
        result = emd.solve(a, b, cost, normalize=True, max_iter=max_iter)
    except ALLOWED:
        return
    check_transport(result, max_iter, a, b, cost)


def fuzz_solve_points(fdp: atheris.FuzzedDataProvider) -> None:
    n, m, d = fdp.ConsumeIntInRange(0, 7), fdp.ConsumeIntInRange(0, 7), fdp.ConsumeIntInRange(1, 3)
    scale = math.ldexp(1.0, fdp.ConsumeIntInRange(-1070, 1020)) if fdp.ConsumeBool() else 1.0
    with np.errstate(all="ignore"):
        x = floats(fdp, n * d, -5.0, 5.0).reshape(n, d) * scale
        y = floats(fdp, m * d, -5.0, 5.0).reshape(m, d) * scale
    a = np.abs(floats(fdp, n, 0.0, 4.0))
    b = np.abs(floats(fdp, m, 0.0, 4.0))
    metric = fdp.PickValueInList(["euclidean", "sqeuclidean", "cityblock", "chebyshev",
                                  "minkowski"])
    p = fdp.ConsumeFloatInRange(1.0, 60.0) if metric == "minkowski" else None
    try:
        result = emd.solve_points(x, y, a, b, metric=metric, p=p, normalize=True)
    except ALLOWED:
        return
    check_transport(result, None, x, y, a, b, metric, p)


def fuzz_min_cost_flow(fdp: atheris.FuzzedDataProvider) -> None:
    n = fdp.ConsumeIntInRange(0, 8)
    supply = balanced(fdp, n)
    n_arcs = fdp.ConsumeIntInRange(0, 25)
    tails, heads = indices(fdp, n_arcs, n), indices(fdp, n_arcs, n)
    costs = floats(fdp, n_arcs, -2.0, 8.0)
    try:
        result = emd.min_cost_flow(tails, heads, costs, supply)
    except ALLOWED:
        return
    if result.status == "optimal":
        y, flow = result.potentials, result.flow
        assert math.isfinite(result.cost) and (flow >= 0).all()
        scale = np.abs(costs).sum() + np.abs(y).max() + 1.0
        assert (y[tails] - y[heads] <= costs + 1e-9 * scale).all()
    else:
        assert result.status in ("infeasible", "unbounded") and math.isnan(result.cost)


def fuzz_grid(fdp: atheris.FuzzedDataProvider) -> None:
    shape = tuple(fdp.ConsumeIntInRange(1, 5) for _ in range(fdp.ConsumeIntInRange(1, 3)))
    size = math.prod(shape)
    A = np.abs(floats(fdp, size, 0.0, 3.0)).reshape(shape)
    B = np.abs(floats(fdp, size, 0.0, 3.0)).reshape(shape)
    metric = fdp.PickValueInList(["cityblock", "chebyshev", "euclidean"])
    kwargs = {"metric": metric, "normalize": True, "spacing": fdp.ConsumeFloatInRange(0.1, 10)}
    if (metric == "euclidean" and len(shape) != 2) or fdp.ConsumeIntInRange(0, 4) == 0:
        kwargs["exact"] = metric == "euclidean"
    try:
        result = emd.solve_grid(A, B, volume=True, **kwargs)
    except ALLOWED:
        return
    assert math.isfinite(result.cost) and result.cost >= 0, result
    f = result.potential
    a, b = A / A.sum(), B / B.sum()
    magnitude = kwargs["spacing"] * sum(shape) * 2.0
    assert abs(float(np.sum((a - b) * f)) - result.cost) <= 1e-9 * magnitude, result


TARGETS = [
    fuzz_spanning_tree, fuzz_warm_start, fuzz_grid_batch, fuzz_cost_kernels, fuzz_solve,
    fuzz_solve_points, fuzz_min_cost_flow, fuzz_grid,
]


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    target = TARGETS[fdp.ConsumeIntInRange(0, len(TARGETS) - 1)]
    target(fdp)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
