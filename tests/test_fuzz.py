"""Fuzzing every public entry point: a finite, checked answer or a ValueError/TypeError.

Hypothesis draws arbitrary shapes (empty and single-bin included), dtypes (float64,
float32, float16, long double, signed and unsigned ints, bool, object, complex, str,
nested lists), values (NaN, inf, negative, subnormal, huge) and layouts (Fortran order,
strided views, read-only and byte-swapped arrays).  Every call must either return a finite
answer that passes its optimality check (the certificate, or the dual identity and
Lipschitz bound of the structured solvers) or raise ValueError or TypeError with a message:
never another exception, a crash or a hang.  A hang is caught by :func:`guard`, which
dumps every thread's stack and ends the run.

The runs are derandomized and keep no example database, so CI sees the same examples
every time; ``tests/fuzz/`` holds the coverage-guided (atheris) targets for long runs.
"""

from __future__ import annotations

import contextlib
import faulthandler
import io
import json
import math
import warnings
import zipfile

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse
import scipy.sparse.csgraph
import scipy.stats
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import emd
import emd.compat.pot as pot
from emd import dual
from emd._validation import MASS_RTOL
from emd.io import read_cost_matrix, read_histogram

#: Seconds one call may take before the run is declared hung and ended.
GUARD_SECONDS = 120


def fuzz(max_examples: int):
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


@contextlib.contextmanager
def guard(seconds: float = GUARD_SECONDS):
    """End the process with every thread's stack if the block runs longer than ``seconds``.

    The solver runs without the GIL in compiled loops, where no Python-level timeout
    can interrupt it; faulthandler's watchdog thread still fires.
    """
    faulthandler.dump_traceback_later(seconds, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


class Refused(Exception):
    """Marks a call that raised ValueError or TypeError, the allowed refusals."""


def as_solved(a, b, normalize):
    """The masses the solver transports: normalised, or ``b`` rescaled to the total of ``a``
    when low-precision inputs agree only to their own precision (emd._validation.balance)."""
    if normalize:
        return a / a.sum(), b / b.sum()
    sum_a, sum_b = math.fsum(a.ravel()), math.fsum(b.ravel())
    if abs(sum_a - sum_b) > MASS_RTOL * max(sum_a, sum_b):
        b = b * (sum_a / sum_b)
    return a, b


def attempt(call, *, solver_warning_ok: bool = False):
    """Run ``call``; return its value, or None if it refused the input properly.

    Any exception other than ValueError/TypeError (with a non-empty message) fails.  A
    SolverWarning fails too unless ``solver_warning_ok``: without an iteration limit
    every solve must reach optimality.
    """
    with guard(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = call()
        except (ValueError, TypeError) as exc:
            assert str(exc).strip(), f"{type(exc).__name__} without a message"
            return None
    if not solver_warning_ok:
        solver = [w for w in caught if issubclass(w.category, emd.SolverWarning)]
        assert not solver, [str(w.message) for w in solver]
    return value


# --------------------------------------------------------------------------- strategies

HUGE = float(np.finfo(np.float64).max)
SPECIAL = (
    0.0, -0.0, 1.0, -1.0, 0.5, 3.0, 1e-15, 5e-324, 2.2250738585072014e-308, 1e-300,
    1e15, 1e300, HUGE, -HUGE, math.nan, math.inf, -math.inf,
)
ANY_FLOAT = st.one_of(st.sampled_from(SPECIAL), st.floats())


def mostly(good, bad=ANY_FLOAT, one_in: int = 10):
    """``good`` values with, one time in ``one_in``, an arbitrary one."""
    return st.integers(0, one_in - 1).flatmap(lambda k: bad if k == 0 else good)


WEIGHT = mostly(st.one_of(st.floats(0.0, 10.0), st.integers(0, 4).map(float)))
COST = mostly(st.one_of(st.floats(-5.0, 20.0), st.integers(0, 6).map(float)))
COORD = mostly(st.one_of(st.floats(-10.0, 10.0), st.integers(-3, 3).map(float)))

DTYPES = (
    "float64", "float64", "float64", "float64", "float32", "float16", "longdouble",
    "int64", "int8", "uint8", "uint64", "bool", "object", "object", "list", "complex", "str",
)
LAYOUTS = ("C", "C", "C", "F", "strided", "readonly", "swapped")


def convert(values: np.ndarray, dtype: str, layout: str):
    """``values`` (float64) as an array of another dtype and memory layout."""
    with np.errstate(all="ignore"):
        if dtype == "list":
            return values.tolist()
        if dtype == "object":
            # Python ints where exact, ints beyond float64 for infinities, None for NaN.
            def item(v: float):
                if math.isnan(v):
                    return None
                if math.isinf(v):
                    return 10**400 if v > 0 else -(10**400)
                return int(v) if v == int(v) else v

            out = np.empty(values.shape, dtype=object)
            for index in np.ndindex(values.shape):
                out[index] = item(float(values[index]))
            arr = out
        elif dtype in ("int64", "int8", "uint8", "uint64"):
            info = np.iinfo(dtype)
            clean = np.nan_to_num(values, nan=0.0, posinf=info.max, neginf=info.min)
            arr = np.clip(clean, float(info.min), float(info.max)).astype(dtype)
        elif dtype == "bool":
            arr = values != 0
        elif dtype == "str":
            arr = values.astype(str)
        else:
            arr = values.astype(dtype)
    arr = np.asarray(arr)  # comparisons of 0-d arrays give scalars
    if layout == "F":
        arr = np.asfortranarray(arr)
    elif layout == "strided" and arr.ndim:
        arr = np.repeat(arr, 2, axis=-1)[..., ::2]
    elif layout == "readonly":
        arr = arr.copy()
        arr.flags.writeable = False
    elif layout == "swapped" and arr.dtype.kind in "iufc" and arr.dtype.itemsize > 1:
        arr = arr.astype(arr.dtype.newbyteorder())
    return arr


@st.composite
def values_of(draw, shape, elements):
    size = math.prod(shape)
    return np.array(
        draw(st.lists(elements, min_size=size, max_size=size)), dtype=np.float64
    ).reshape(shape)


@st.composite
def any_array(draw, shape, elements):
    """An array of the given shape, in a random dtype and layout."""
    values = draw(values_of(shape, elements))
    return convert(values, draw(st.sampled_from(DTYPES)), draw(st.sampled_from(LAYOUTS)))


@st.composite
def weights_pair(draw, n, m, elements=WEIGHT):
    """Weights ``a``, ``b`` and ``normalize``; without it, ``b`` mostly carries ``a``'s mass."""
    a = draw(values_of((n,), elements))
    b = draw(values_of((m,), elements))
    normalize = draw(st.booleans())
    with np.errstate(all="ignore"):
        total_a, total_b = a.sum(), b.sum()
        if not normalize and np.isfinite(total_a) and total_b > 0 and np.isfinite(total_b):
            b = b * (total_a / total_b)
    dtype_a, dtype_b = draw(st.sampled_from(DTYPES)), draw(st.sampled_from(DTYPES))
    layout = draw(st.sampled_from(LAYOUTS))
    return convert(a, dtype_a, layout), convert(b, dtype_b, layout), normalize


SIDE = st.integers(0, 6)
MAX_ITER = st.one_of(st.none(), st.none(), st.none(), st.integers(-1, 30), st.just(10**30))


# --------------------------------------------------------------------------- checks


def as_float(value) -> np.ndarray:
    return np.asarray(value, dtype=np.float64)


def full(*arrays) -> str:
    """Arrays at full precision, for failure messages (reprs round to 8 digits)."""
    return "; ".join(np.array2string(np.asarray(a), precision=17, separator=", ") for a in arrays)


def problem_of(result) -> str:
    source = result._costs
    data = [source.x, source.y] if hasattr(source, "x") else [source.matrix]
    return full(result.a, result.b, *data)


def check_transport(result, max_iter) -> None:
    """A finite cost and, when optimal, a certificate; otherwise a feasible plan."""
    assert isinstance(result, emd.TransportResult)
    assert math.isfinite(result.cost)
    assert np.isfinite(result.u).all() and np.isfinite(result.v).all()
    assert (result.plan.data >= 0).all()
    if result.status == "optimal":
        cert = result.certificate()
        assert cert.optimal(), (cert, problem_of(result))
    else:
        assert max_iter is not None and result.status == "max_iter_reached"
        plan = result.dense_plan()
        scale = max(result.a.sum(), 1e-300)
        np.testing.assert_allclose(plan.sum(axis=1), result.a, atol=1e-9 * scale)
        np.testing.assert_allclose(plan.sum(axis=0), result.b, atol=1e-9 * scale)


def close(value: float, reference: float, magnitude: float, rtol: float = 1e-9) -> bool:
    """``value`` within ``rtol`` of ``reference``, relative to the magnitudes summed."""
    return abs(value - reference) <= rtol * magnitude + 1e-300


# --------------------------------------------------------------------------- dense and points


@fuzz(150)
@given(st.data())
def test_solve(data):
    n, m = data.draw(SIDE), data.draw(SIDE)
    a, b, normalize = data.draw(weights_pair(n, m))
    shape = data.draw(st.sampled_from([(n, m)] * 4 + [(m, n), (n,), (n, m, 1)]))
    cost = data.draw(any_array(shape, COST))
    max_iter = data.draw(MAX_ITER)
    result = attempt(
        lambda: emd.solve(a, b, cost, normalize=normalize, max_iter=max_iter),
        solver_warning_ok=max_iter is not None,
    )
    if result is not None:
        check_transport(result, max_iter)


METRICS = st.sampled_from([
    ("euclidean", None), ("euclidean", None), ("sqeuclidean", None), ("cityblock", None),
    ("chebyshev", None), ("minkowski", 3.0), ("minkowski", 1.5), ("minkowski", math.inf),
    ("minkowski", 1.0), ("minkowski", 2000.0), ("minkowski", 0.5), ("minkowski", math.nan),
    ("minkowski", None), ("L1", None), ("cosine", None), (3, None), ("euclidean", 2.0),
])


@st.composite
def point_problem(draw):
    n, m = draw(SIDE), draw(SIDE)
    d = draw(st.integers(0, 3))
    shapes = [(n, d), (n, d), (n,)] if d else [(n, 0), (n,)]
    x = draw(values_of(draw(st.sampled_from(shapes)), COORD))
    y = draw(values_of(draw(st.sampled_from([(m, d), (m, d), (m,), (m, d + 1)])), COORD))
    if draw(st.integers(0, 3)) == 0:
        # Clouds spread over very small or very large scales.
        scale = draw(st.sampled_from([1e-300, 1e-160, 1e-140, 1e-100, 1e100, 1e150, 1e300]))
        with np.errstate(all="ignore"):
            x, y = x * scale, y * scale
    x = convert(x, draw(st.sampled_from(DTYPES)), draw(st.sampled_from(LAYOUTS)))
    y = convert(y, draw(st.sampled_from(DTYPES)), draw(st.sampled_from(LAYOUTS)))
    a, b, normalize = draw(weights_pair(n, m))
    if draw(st.booleans()):
        a = b = None
    metric, p = draw(METRICS)
    return x, y, a, b, metric, p, normalize


@fuzz(150)
@given(point_problem(), MAX_ITER)
def test_solve_points(problem, max_iter):
    x, y, a, b, metric, p, normalize = problem
    result = attempt(
        lambda: emd.solve_points(
            x, y, a, b, metric=metric, p=p, normalize=normalize, max_iter=max_iter
        ),
        solver_warning_ok=max_iter is not None,
    )
    if result is not None:
        check_transport(result, max_iter)


@fuzz(100)
@given(point_problem())
def test_wasserstein(problem):
    x, y, a, b, metric, p, normalize = problem
    value = attempt(lambda: emd.wasserstein(x, y, a, b, metric=metric, p=p, normalize=normalize))
    if value is not None:
        assert isinstance(value, float) and math.isfinite(value) and value >= 0.0


# --------------------------------------------------------------------------- one dimension


@st.composite
def line_problem(draw):
    n, m = draw(SIDE), draw(SIDE)
    u = draw(any_array(draw(st.sampled_from([(n,), (n,), (n, 1)])), COORD))
    v = draw(any_array((m,), COORD))
    uw = draw(st.one_of(st.none(), any_array((n,), WEIGHT)))
    vw = draw(st.one_of(st.none(), any_array(draw(st.sampled_from([(m,), (m + 1,)])), WEIGHT)))
    return u, v, uw, vw


@fuzz(150)
@given(line_problem())
def test_wasserstein_1d_and_solve_1d(problem):
    u, v, uw, vw = problem
    value = attempt(lambda: emd.wasserstein_1d(u, v, uw, vw))
    result = attempt(lambda: emd.solve_1d(u, v, uw, vw))
    assert (value is None) == (result is None)
    if result is None:
        return
    x, y = as_float(u), as_float(v)
    ra = np.ones(x.size) if uw is None else as_float(uw)
    rb = np.ones(y.size) if vw is None else as_float(vw)
    a, b = ra / ra.sum(), rb / rb.sum()
    span = max(x.max(), y.max()) - min(x.min(), y.min())
    assert math.isfinite(value) and math.isfinite(result.cost)
    assert close(value, result.cost, span, 1e-12 * (x.size + y.size))
    reference = scipy.stats.wasserstein_distance(x, y, ra, rb)
    assert close(value, reference, span, 1e-12 * (x.size + y.size))
    # The plan is feasible, the potentials are dual feasible and attain the cost.
    plan = result.dense_plan()
    np.testing.assert_allclose(plan.sum(axis=1), a, atol=1e-12)
    np.testing.assert_allclose(plan.sum(axis=0), b, atol=1e-12)
    slack = np.abs(x[:, None] - y[None, :]) - result.u[:, None] - result.v[None, :]
    assert slack.min() >= -1e-12 * span
    assert close(a @ result.u + b @ result.v, result.cost, span, 1e-12 * (x.size + y.size))


# --------------------------------------------------------------------------- grids


@st.composite
def grid_problem(draw):
    ndim = draw(st.sampled_from([1, 2, 2, 3, 0]))
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=ndim, max_size=ndim)))
    A = draw(values_of(shape, WEIGHT))
    B = draw(values_of(draw(st.sampled_from([shape, shape, shape[::-1]])), WEIGHT))
    with np.errstate(all="ignore"):
        total_a, total_b = A.sum(), B.sum()
        if draw(st.booleans()) and np.isfinite(total_a) and np.isfinite(total_b) and total_b > 0:
            B = B * (total_a / total_b)  # equal masses: solved without normalize
    A = convert(A, draw(st.sampled_from(DTYPES)), draw(st.sampled_from(LAYOUTS)))
    B = convert(B, draw(st.sampled_from(DTYPES)), draw(st.sampled_from(LAYOUTS)))
    metric = draw(st.sampled_from(["cityblock", "cityblock", "chebyshev", "euclidean", "l1", 5]))
    kwargs = {
        "metric": metric,
        "spacing": draw(st.sampled_from([1.0, 1.0, 0.5, 3.0, 1e-300, 1e300, 0.0, -1.0,
                                         math.nan, math.inf, "x"])),
        "normalize": draw(st.booleans()),
        "return_flows": draw(st.booleans()),
        "max_iter": draw(MAX_ITER),
    }
    if metric == "euclidean":
        choice = draw(st.sampled_from(["L", "error", "exact", "none"]))
        if choice == "L":
            kwargs["L"] = draw(st.sampled_from([1, 2, 3, 0, 1025, 2.5, "x"]))
        elif choice == "error":
            kwargs["max_rel_error"] = draw(st.sampled_from([0.1, 0.002, 1e-300, 0.0, math.nan]))
        elif choice == "exact":
            kwargs["exact"] = True
    return A, B, kwargs


def check_grid(result, A, B, kwargs) -> None:
    assert math.isfinite(result.cost) and result.cost >= 0
    f = result.potential
    assert np.isfinite(f).all()
    a, b = as_solved(as_float(A), as_float(B), kwargs["normalize"])
    spacing = float(kwargs["spacing"])
    # Dual identity: the potential attains the cost ...
    magnitude = spacing * sum(a.shape) * max(a.sum(), b.sum())
    assert close(float(np.sum((a - b) * f)), result.cost, magnitude, 1e-12 * a.size + 1e-9), (
        result, float(np.sum((a - b) * f))
    )
    # ... and is 1-Lipschitz along every axis (an arc of every grid graph).
    for axis in range(f.ndim):
        step = np.abs(np.diff(f, axis=axis))
        assert (step <= spacing * (1 + 1e-9)).all()
    if result.flows is not None:
        tails, heads, flow = result.flows
        assert (flow >= 0).all()
        net = np.bincount(tails, flow, minlength=a.size) - np.bincount(heads, flow, minlength=a.size)
        np.testing.assert_allclose(net, (a - b).ravel(), atol=1e-9 * max(a.sum(), b.sum()))


@fuzz(150)
@given(grid_problem())
def test_wasserstein_grid(problem):
    A, B, kwargs = problem
    result = attempt(
        lambda: emd.solve_grid(A, B, volume=True, **kwargs),
        solver_warning_ok=kwargs["max_iter"] is not None,
    )
    if result is None:
        return
    if result.status != "optimal":
        # NaN from the transshipment; an upper bound from the exact (point) solver.
        assert kwargs["max_iter"] is not None and result.status == "max_iter_reached"
        return
    check_grid(result, A, B, kwargs)


# --------------------------------------------------------------------------- graphs and trees


@st.composite
def graph_problem(draw):
    n = draw(st.integers(0, 6))
    form = draw(st.sampled_from(["dense", "sparse", "edges", "edges"]))
    lengths = mostly(st.one_of(st.floats(0.0, 5.0), st.just(0.0), st.integers(1, 3).map(float)))
    if form == "edges":
        k = draw(st.integers(0, 10))
        ends = draw(values_of((k, 2), mostly(st.integers(0, max(n - 1, 0)).map(float),
                                             st.integers(-2, n + 2).map(float), 20)))
        edges = convert(ends, draw(st.sampled_from(["int64", "int64", "uint8", "float64",
                                                    "object", "bool"])), "C")
        graph = (edges, draw(any_array((draw(st.sampled_from([k, k, k + 1])),), lengths)))
    else:
        dense = draw(values_of((n, n), st.one_of(st.just(0.0), st.just(0.0), lengths)))
        graph = scipy.sparse.coo_array(dense) if form == "sparse" else convert(
            dense, draw(st.sampled_from(DTYPES)), draw(st.sampled_from(LAYOUTS))
        )
    a, b, normalize = draw(weights_pair(n, n))
    return graph, a, b, normalize


@fuzz(150)
@given(graph_problem(), MAX_ITER)
def test_wasserstein_graph(problem, max_iter):
    graph, a, b, normalize = problem
    result = attempt(
        lambda: emd.solve_graph(graph, a, b, normalize=normalize, max_iter=max_iter),
        solver_warning_ok=max_iter is not None,
    )
    if result is None:
        return
    if result.status != "optimal":
        assert max_iter is not None and result.status == "max_iter_reached"
        assert math.isnan(result.cost)
        return
    wa, wb = as_solved(as_float(a), as_float(b), normalize)
    f = result.potential
    assert math.isfinite(result.cost) and np.isfinite(f).all()
    lo, hi = result.edges[:, 0], result.edges[:, 1]
    if isinstance(graph, tuple):
        ends, weights = np.asarray(graph[0]).astype(np.intp), as_float(graph[1])
        i, j = ends[:, 0], ends[:, 1]
    else:
        coo = scipy.sparse.coo_array(as_float(graph) if not scipy.sparse.issparse(graph) else graph)
        coo.sum_duplicates()
        i, j, weights = coo.row, coo.col, as_float(coo.data)
    # 1-Lipschitz on every edge given (to the rounding of the potentials), hence for
    # the shortest-path metric.
    slack = 8 * np.finfo(float).eps * (np.abs(f[i]) + np.abs(f[j]))
    with np.errstate(over="ignore"):
        assert (np.abs(f[i] - f[j]) <= weights * (1 + 1e-9) + slack + 1e-300).all()
    # The dual identity, but for the rounding each connected component keeps of
    # sum(a) - sum(b): potentials of different components are unrelated.
    adjacency = scipy.sparse.coo_array((np.ones(i.size), (i, j)), shape=(wa.size, wa.size))
    _, labels = scipy.sparse.csgraph.connected_components(adjacency, directed=False)
    kept = np.abs(np.bincount(labels, wa - wb)).sum() * float(np.abs(f).max(initial=0.0))
    with np.errstate(over="ignore"):
        magnitude = max(wa.sum(), wb.sum()) * max(float(weights.sum()), 1e-300)
    # (kept doubled: the sum that carries it is itself rounded.)
    assert close(float(np.sum((wa - wb) * f)), result.cost, magnitude + 2 * kept / 1e-9)
    net = np.bincount(lo, result.edge_flows, minlength=wa.size) - np.bincount(
        hi, result.edge_flows, minlength=wa.size
    )
    np.testing.assert_allclose(net, wa - wb, atol=1e-9 * max(wa.sum(), wb.sum()))


@st.composite
def tree_problem(draw):
    n = draw(st.integers(0, 7))
    parents = [-1] + [draw(st.integers(0, k - 1)) for k in range(1, n)]
    order = draw(st.permutations(range(n)))
    relabel = {old: new for new, old in enumerate(order)}
    values = np.array([-1 if p < 0 else relabel[p] for p in parents], dtype=float)
    permuted = np.empty(n)
    permuted[[relabel[k] for k in range(n)]] = values
    if draw(st.integers(0, 5)) == 0 and n:
        permuted[draw(st.integers(0, n - 1))] = draw(ANY_FLOAT)  # break it
    parents_arr = convert(permuted, draw(st.sampled_from(["int64", "float64", "object", "list",
                                                          "int8", "str"])), "C")
    lengths = draw(any_array((draw(st.sampled_from([n, n, n + 1])),),
                             mostly(st.floats(0.0, 5.0))))
    a, b, normalize = draw(weights_pair(n, n))
    return parents_arr, lengths, a, b, normalize


@fuzz(150)
@given(tree_problem())
def test_wasserstein_tree_and_solve_tree(problem):
    parents, lengths, a, b, normalize = problem
    value = attempt(lambda: emd.wasserstein_tree(parents, lengths, a, b, normalize))
    result = attempt(lambda: emd.solve_tree(parents, lengths, a, b, normalize))
    assert (value is None) == (result is None)
    if result is None:
        return
    assert math.isfinite(value) and value == result.cost
    par = as_float(parents).astype(np.int64)
    length = as_float(lengths).copy()
    length[par == -1] = 0.0
    wa, wb = as_solved(as_float(a), as_float(b), normalize)
    f = result.potential
    child = np.flatnonzero(par >= 0)
    slack = 8 * np.finfo(float).eps * (np.abs(f[child]) + np.abs(f[par[child]]))
    assert (np.abs(f[child] - f[par[child]]) <= length[child] * (1 + 1e-12) + slack + 1e-300).all()
    magnitude = max(wa.sum(), wb.sum()) * max(float(length.sum()), 1e-300)
    assert close(float(np.sum((wa - wb) * f)), result.cost, magnitude)


# --------------------------------------------------------------------------- min-cost flow


def highs_status(tails, heads, costs, supply) -> tuple[int, float]:
    """scipy/HiGHS on the same transshipment: (status, cost); 2 infeasible, 3 unbounded."""
    n = supply.size
    if tails.size == 0:
        return (0, 0.0) if not supply.any() else (2, math.nan)
    incidence = np.zeros((n, tails.size))
    incidence[tails, np.arange(tails.size)] += 1.0
    incidence[heads, np.arange(tails.size)] -= 1.0
    res = scipy.optimize.linprog(
        costs, A_eq=incidence, b_eq=supply, bounds=(0, None), method="highs"
    )
    return res.status, (res.fun if res.status == 0 else math.nan)


@st.composite
def flow_problem(draw):
    n = draw(st.integers(0, 6))
    k = draw(st.integers(0, 12))
    node = st.integers(0, max(n - 1, 0)).map(float)
    ends = draw(values_of((2, k), mostly(node, st.integers(-2, n + 2).map(float), 20)))
    kind = draw(st.sampled_from(["int64", "int64", "int64", "float64", "object", "bool",
                                 "uint8"]))
    tails, heads = convert(ends[0], kind, "C"), convert(ends[1], kind, "C")
    costs = draw(any_array((draw(st.sampled_from([k, k, k, k + 1])),),
                           mostly(st.integers(-2, 8).map(float))))
    supply = draw(values_of((n,), mostly(st.integers(-3, 3).map(float))))
    if n and draw(st.booleans()):
        with np.errstate(all="ignore"):
            supply[-1] -= supply.sum()  # balanced
    supply = convert(supply, draw(st.sampled_from(DTYPES)), draw(st.sampled_from(LAYOUTS)))
    return tails, heads, costs, supply


@fuzz(200)
@given(flow_problem(), MAX_ITER)
def test_min_cost_flow(problem, max_iter):
    tails, heads, costs, supply = problem
    result = attempt(
        lambda: emd.min_cost_flow(tails, heads, costs, supply, max_iter=max_iter),
        solver_warning_ok=True,  # infeasible and unbounded problems warn
    )
    if result is None:
        return
    t, h = np.asarray(tails).astype(np.intp), np.asarray(heads).astype(np.intp)
    c, s = as_float(costs), as_float(supply)
    nice = bool(np.all(np.abs(c) <= 100) and np.all(np.abs(s) <= 100))
    if result.status == "optimal":
        assert math.isfinite(result.cost)
        y, flow = result.potentials, result.flow
        assert np.isfinite(y).all() and (flow >= 0).all()
        scale = np.abs(c).sum() + np.abs(y).max() + 1.0
        assert (y[t] - y[h] <= c + 1e-9 * scale).all()  # dual feasible
        tight = np.abs(y[t] - y[h] - c) <= 1e-9 * scale
        assert tight[flow > 0].all()  # complementary slackness
        net = np.bincount(t, flow, minlength=s.size) - np.bincount(h, flow, minlength=s.size)
        np.testing.assert_allclose(net, s, atol=1e-9 * (np.abs(s).sum() + 1))
        if nice:
            status, cost = highs_status(t, h, c, s)
            assert status == 0 and cost == pytest.approx(result.cost, rel=1e-9, abs=1e-9)
    elif result.status in ("infeasible", "unbounded"):
        assert math.isnan(result.cost)
        if nice:
            # Infeasible with a negative cycle is either; feasible ones must agree.
            allowed = (2,) if result.status == "infeasible" else (2, 3)
            assert highs_status(t, h, c, s)[0] in allowed
    else:
        assert max_iter is not None and result.status == "max_iter_reached"


# --------------------------------------------------------------------------- batches


@st.composite
def batch_problem(draw):
    count = draw(st.integers(0, 4))
    form = draw(st.sampled_from(["grid", "grid", "positions", "points"]))
    positions = None
    if form == "points":
        hists = []
        for _ in range(count):
            n = draw(st.integers(0, 4))
            hists.append((draw(any_array((n, 2), COORD)), draw(any_array((n,), WEIGHT))))
    else:
        shape = draw(st.sampled_from([(3,), (2, 3), (1, 1), (4,)]))
        raw = [draw(values_of(shape, WEIGHT)) for _ in range(count)]
        if form == "positions":
            positions = draw(any_array((math.prod(shape), draw(st.integers(1, 2))), COORD))
        if count and draw(st.booleans()):
            hists = np.stack(raw)
        else:
            hists = [convert(h, draw(st.sampled_from(DTYPES)), "C") for h in raw]
    kwargs = {
        "positions": positions,
        "n_jobs": draw(st.sampled_from([1, 2, None, 0])),
        "chunk_size": draw(st.sampled_from([None, 1, 2])),
        "normalize": draw(st.booleans()),
        "metric": draw(st.sampled_from([None, None, "cityblock", "euclidean", "chebyshev"])),
    }
    return hists, kwargs


@fuzz(80)
@given(batch_problem(), st.booleans())
def test_pairwise_and_cdist(problem, rectangular):
    hists, kwargs = problem
    if rectangular:
        matrix = attempt(lambda: emd.cdist(hists, hists[::-1], **kwargs))
    else:
        matrix = attempt(lambda: emd.pairwise(hists, **kwargs))
    if matrix is None:
        return
    assert np.isfinite(matrix).all() and (matrix >= 0).all()
    if not rectangular:
        assert (matrix == matrix.T).all() and (np.diag(matrix) == 0).all()


# --------------------------------------------------------------------------- duality


@fuzz(100)
@given(point_problem(), st.sampled_from(["upper", "lower", "mid", "side"]))
def test_dual_witness_and_certificate(problem, kind):
    x, y, a, b, metric, p, normalize = problem
    witness = attempt(
        lambda: dual.kr_witness(x, y, a, b, metric=metric, p=p, kind=kind, normalize=normalize)
    )
    if witness is not None:
        assert math.isfinite(witness.value)
    if normalize:
        return  # certify takes the weights as they are
    cert = attempt(lambda: dual.certify(x, y, a, b, metric=metric, p=p, kind=kind,
                                        n_probes=20, seed=0))
    if cert is not None:
        assert cert.ok, cert


@fuzz(80)
@given(point_problem(), st.sampled_from([1, 3, 0]))
def test_dual_estimators(problem, n_projections):
    x, y, *_ = problem
    plugin = attempt(lambda: dual.w1_plugin(x, y))
    if plugin is not None:
        assert math.isfinite(plugin.estimate) and plugin.estimate >= 0
    sliced = attempt(lambda: dual.sliced_w1(x, y, n_projections, seed=0))
    if sliced is not None:
        assert math.isfinite(sliced.estimate) and sliced.estimate >= 0
        if plugin is not None:
            # Each projection is 1-Lipschitz for the euclidean metric.
            assert sliced.estimate <= plugin.estimate * (1 + 1e-9) + 1e-300


# --------------------------------------------------------------------------- POT compatibility


NUM_ITER = st.sampled_from([100000, 100000, 0, 3, -1, math.inf, math.nan, 10**30, "x", 2.5])


@fuzz(120)
@given(st.data())
def test_pot_compat(data):
    n, m = data.draw(SIDE), data.draw(SIDE)
    a, b, _ = data.draw(weights_pair(n, m))
    if data.draw(st.booleans()):
        a = data.draw(st.sampled_from([[], None, a]))
        b = data.draw(st.sampled_from([[], None, b]))
    M = data.draw(any_array(data.draw(st.sampled_from([(n, m), (n, m), (n,)])), COST))
    num = data.draw(NUM_ITER)
    check = data.draw(st.booleans())
    plan = attempt(lambda: pot.emd(a, b, M, numItermax=num, check_marginals=check),
                   solver_warning_ok=True)
    if plan is not None:
        assert plan.shape == (n, m) and np.isfinite(plan).all() and (plan >= 0).all()
    cost = attempt(lambda: pot.emd2(a, b, M, numItermax=num, check_marginals=check),
                   solver_warning_ok=True)
    if cost is not None:
        assert math.isfinite(cost)
    metric = data.draw(st.sampled_from(["sqeuclidean", "euclidean", "cityblock", "cosine"]))
    X = data.draw(any_array((n, 2), COORD))
    Y = data.draw(any_array((m, 2), COORD))
    lazy = attempt(
        lambda: pot.emd2_lazy(X, Y, a, b, metric=metric, numItermax=num, check_marginals=check),
        solver_warning_ok=True,
    )
    if lazy is not None:
        assert math.isfinite(lazy[0])


# --------------------------------------------------------------------------- file readers


def _seed_files() -> list[bytes]:
    from PIL import Image

    seeds = []
    for arr in (np.arange(6.0).reshape(2, 3), np.array([[0.0, 1.0, 2.0], [1.0, 1.0, 3.0]])):
        buf = io.BytesIO()
        np.save(buf, arr)
        seeds.append(buf.getvalue())
    buf = io.BytesIO()
    np.savez(buf, weights=np.ones(3), positions=np.arange(6.0).reshape(3, 2))
    seeds.append(buf.getvalue())
    buf = io.BytesIO()
    np.savez_compressed(buf, cost=np.eye(2))
    seeds.append(buf.getvalue())
    seeds += [
        b"x,y,weight\n0,0,1\n3,4,2\n", b"1\t2\n3\t4\n", b"# comment\n0.5\n1e-3\n\n2\n",
        b"1;2,5\n3;4\n", json.dumps({"weights": [1, 2], "positions": [[0, 1], [2, 3]]}).encode(),
        b"[[1, 2], [3, 4]]", b"\xef\xbb\xbf1,2\r\n3,4\r\n",
    ]
    image = np.arange(12, dtype=np.uint8).reshape(3, 4)
    for fmt, mode in (("PNG", "L"), ("PPM", "RGB"), ("JPEG", "L"), ("BMP", "L"), ("TIFF", "F")):
        buf = io.BytesIO()
        Image.fromarray(image).convert(mode).save(buf, format=fmt)
        seeds.append(buf.getvalue())
    for member, body in (("weights.npy", seeds[0]), ("notes.txt", b"1 2 3")):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as archive:
            archive.writestr(member, body)
        seeds.append(buf.getvalue())
    return seeds


SEED_FILES = _seed_files()
EXTENSIONS = (".npy", ".npz", ".csv", ".tsv", ".txt", ".json", ".png", ".pgm", ".ppm",
              ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".dat", "")


@st.composite
def file_bytes(draw):
    """A seed file of some format with a few random edits, or random bytes."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=300))
    data = bytearray(draw(st.sampled_from(SEED_FILES)))
    edits = st.tuples(st.integers(0, 3), st.integers(0, 10**6), st.binary(min_size=1, max_size=6))
    for op, where, chunk in draw(st.lists(edits, max_size=5)):
        pos = where % (len(data) + 1)
        if op == 0:
            data[pos : pos + len(chunk)] = chunk
        elif op == 1:
            data[pos:pos] = chunk
        elif op == 2:
            del data[pos : pos + len(chunk) * 7]
        else:
            del data[pos:]
    return bytes(data)


@fuzz(250)
@given(file_bytes(), st.sampled_from(EXTENSIONS), st.sampled_from([None, "points", "grid"]))
def test_readers_on_arbitrary_bytes(tmp_path_factory, data, ext, kind):
    path = tmp_path_factory.mktemp("fuzz") / f"input{ext}"
    path.write_bytes(data)
    hist = attempt(lambda: read_histogram(path, kind=kind))
    if hist is not None:
        w = hist.weights
        assert w.dtype == np.float64 and w.size and np.isfinite(w).all() and (w >= 0).all()
        assert 0 < hist.mass < math.inf
        if hist.positions is not None:
            assert hist.positions.shape[0] == w.size and np.isfinite(hist.positions).all()
    cost = attempt(lambda: read_cost_matrix(path))
    if cost is not None:
        assert cost.dtype == np.float64 and cost.ndim == 2 and cost.size
        assert cost.flags.c_contiguous and np.isfinite(cost).all()


# --------------------------------------------------------------------------- regressions
# Inputs the fuzzers found, each once a crash, a wrong answer or a hang.


def test_found_numbers_beyond_float64_are_refused():
    with pytest.raises(ValueError, match="too large for float64"):
        emd.solve(np.array([10**400], dtype=object), [1.0], [[1.0]])  # was OverflowError
    with pytest.raises(ValueError, match="total mass too large"):
        emd.solve([1e308, 1e308], [1e308, 1e308], [[0, 1], [1, 0]])  # fsum overflowed
    with pytest.raises(ValueError, match="total overflows"):
        emd.min_cost_flow([0], [1], [1.0], [1.7e308, -1.7e308])
    # Iteration limits beyond a C integer are no limit (was OverflowError).
    assert emd.solve([1.0], [1.0], [[2.0]], max_iter=10**30).cost == 2.0


def test_found_pot_compat_edge_cases():
    with pytest.raises(pot.POTCompatError, match="M is empty"):
        pot.emd([], [], np.zeros((0, 0)))  # was ZeroDivisionError
    assert pot.emd2([1.0], [1.0], [[2.0]], numItermax=math.inf) == 2.0  # was OverflowError
    with pytest.raises(pot.POTCompatError, match="1-dimensional"):
        pot.emd2(1.0, [1.0], [[1.0]])  # was a bare TypeError from len()


@pytest.mark.parametrize("header", [
    b"{'descr': '<f8', 'fortran_order': False, 'shape': )(2, 3) }",  # tokenize.TokenError
    b"{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000000,), }",  # MemoryError
])
def test_found_corrupt_npy_headers(tmp_path, header):
    header = header + b" " * (118 - len(header) - 1) + b"\n"
    path = tmp_path / "bad.npy"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + b"\0" * 48)
    with pytest.raises(ValueError, match=r"cannot load \.npy data"):
        read_histogram(path)


def test_found_grid_edge_cases():
    assert emd.wasserstein_grid([[1.0]], [[1.0]]) == 0.0  # a graph without arcs
    with pytest.raises(ValueError, match="L must be at most"):
        emd.wasserstein_grid(np.eye(3), np.eye(3), metric="euclidean", L=10**9)  # MemoryError
    with guard(30), pytest.raises(ValueError, match="needs L > 1024"):
        # Was a linear search over L = 1..1024: minutes.
        emd.wasserstein_grid(np.eye(3), np.eye(3), metric="euclidean", max_rel_error=1e-300)


def test_found_components_whose_rounding_cancels():
    # Two isolated nodes: node 0 asks for 1e-15 that nothing can bring, node 1 has
    # 1e-15 too much (totals equal).  Once taken for rounding and called optimal; it
    # is stranded mass (the whole of node 0's demand), so no plan exists.
    graph = scipy.sparse.coo_array((2, 2))
    with pytest.raises(ValueError, match=r"mass cannot reach its target.*node 0 has net mass"):
        emd.solve_graph(graph, [0.0, 1.0], [1e-15, 1.0 - 1e-15])
    # The same rounding inside one component is balanced exactly and proven.
    result = emd.solve_graph(scipy.sparse.coo_array(([1.0], ([0], [1])), shape=(2, 2)),
                             [0.0, 1.0], [1e-15, 1.0 - 1e-15])
    assert result.status == "optimal" and result.certificate().optimal()


def test_found_simplex_cycling_on_rounding_noise():
    # Costs 0, 4e-42 and 8e-23: potentials rounded at 8e-23 made four arcs price out
    # in turn forever, until max_iter.
    e = -2.428743184781542e-09
    x = np.full((5, 2), e)
    x[4, 0] = -2.428743184783568e-09
    y = np.full((5, 2), e)
    y[3, 1] = -2.437445112848554e-09
    b = np.array([0.9568627450980393, 3.2, 3.2, 3.2, 3.2])
    result = attempt(lambda: emd.solve_points(x, y, np.full(5, 0.9568627450980393), b,
                                              metric="sqeuclidean", normalize=True))
    check_transport(result, None)


def test_found_certificates_of_tiny_costs():
    # The totals of a and b agree only to rounding; that residual times a unit cost
    # is 2e-9 of a 3.5e-8 cost.
    b = np.array([9.999999654523980e-01, 3.454760208721411e-08])
    check_transport(emd.solve_points([[1.0]], [[1.0], [0.0]], [1.0], b), None)
    # A 1e-14 mass on an expensive arc next to masses of 1: its flow, updated by
    # pivots, was off by eps * mass, 3e-4 of the 5e-13 cost.
    x = np.array([[-4.999997550365972], [-3.9019775390575617], [-5.0],
                  [-3.9019607912986487], [-4.9999999995407585]])
    a = np.array([0.375, 0.0, 1.9764705882334965, 2.1510137421243414e-14, 1.9764705882352871])
    result = emd.solve_points(x, [[-5.0]], a, [1.9764705882352942], metric="sqeuclidean",
                              normalize=True)
    check_transport(result, None)


def test_found_js_of_the_smallest_subnormal():
    from emd.divergences import js

    assert js([0.0, 0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0, 5e-324]) == 0.0  # was log 2


def test_found_npz_member_that_is_not_an_array(tmp_path):
    path = tmp_path / "notes.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", b"1 2 3")  # numpy hands such members back as bytes
    with pytest.raises(ValueError, match="is not a NumPy array"):
        read_histogram(path)  # was AttributeError: 'bytes' object has no attribute 'ndim'
    with pytest.raises(ValueError, match="is not a NumPy array"):
        read_cost_matrix(path)
