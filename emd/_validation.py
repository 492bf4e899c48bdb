"""Input validation shared by every public entry point.

Everything a user hands to ``emd`` passes through here once; the compiled core
trusts what it receives.  Errors are ``ValueError`` (or ``TypeError`` for
values that are not numbers at all) and name the argument and the problem.
"""

from __future__ import annotations

import math
import operator
import os
import sys
from typing import Any

import numpy as np

from emd._core._certify import rounded_sum

#: Smallest relative tolerance on the difference of total masses (float64
#: inputs of up to a few million bins).  Float64 sums of a million normalised
#: weights drift by ~1e-13, so this is loose enough for real data and tight
#: enough to catch a forgotten normalisation.  See :func:`mass_rtol` for the
#: rule at every precision.
MASS_RTOL = 1e-9

_EPS64 = float(np.finfo(np.float64).eps)

#: The one table of ground metrics, by canonical name: the code the compiled core
#: knows it by (``code``: the metric enum of ``emd._core._metric``, exported as the
#: integers ``emd._core._costs.METRIC_EUCLIDEAN`` ...; the core spells no names), whether
#: the grid solver prices it on the grid itself and by which code of the grid driver
#: (``grid``: ``emd._core._grid.GRID_METRIC_CITYBLOCK`` ...; None: other metrics on grids
#: go through the points' solve over the bins), and whether the command line offers it
#: (``cli``; minkowski needs an exponent, which it does not take).
#: tests/test_metrics_table.py checks the codes against the core's constants.
METRIC_TABLE = {
    "euclidean": {"code": 0, "grid": 3, "cli": True},
    "sqeuclidean": {"code": 1, "grid": None, "cli": True},
    "cityblock": {"code": 2, "grid": 1, "cli": True},
    "chebyshev": {"code": 3, "grid": 2, "cli": True},
    "minkowski": {"code": 4, "grid": None, "cli": False},
}
METRICS = tuple(METRIC_TABLE)
GRID_METRICS = tuple(name for name, use in METRIC_TABLE.items() if use["grid"] is not None)
CLI_METRICS = tuple(name for name, use in METRIC_TABLE.items() if use["cli"])


def metric_code(metric: str) -> int:
    """The core's code of a canonical metric name (see :data:`METRIC_TABLE`)."""
    return METRIC_TABLE[metric]["code"]


def grid_metric_code(metric: str) -> int:
    """The grid driver's code of a canonical metric name in :data:`GRID_METRICS`."""
    return METRIC_TABLE[metric]["grid"]


_METRIC_ALIASES = {
    "l2": "euclidean",
    "l1": "cityblock",
    "manhattan": "cityblock",
    "linf": "chebyshev",
    "infinity": "chebyshev",
}


def _is_sparse(value: Any) -> bool:
    """Whether ``value`` is a scipy.sparse array, without importing scipy.sparse: a sparse
    array can only exist once its module is loaded."""
    module = sys.modules.get("scipy.sparse")
    return module is not None and bool(module.issparse(value))


def as_float_array(value: Any, name: str, ndim: int | tuple[int, ...]) -> np.ndarray:
    """Convert an array-like of numbers to a float64 array with checked dimension.

    Bool, integer and float inputs of any byte order and memory layout are
    accepted; object arrays are accepted only if every element is a real
    number.  No copy is made of a float64 array that is already C-contiguous.
    """
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(
            f"{name} is a masked array and masks are not applied; pass {name}.filled(0) "
            f"to drop the masked entries or {name}.data to keep them"
        )
    if _is_sparse(value):
        raise TypeError(f"{name} is a scipy.sparse matrix; pass a dense array ({name}.toarray())")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} must be an array of numbers: {exc}") from None
    if arr.dtype.kind in "biuf":
        pass
    elif arr.dtype.kind == "O":
        # float("1.5") would parse a string silently; text is data to read, not a number.
        text = next((x for x in arr.flat if isinstance(x, (str, bytes))), None)
        if text is not None:
            raise TypeError(
                f"{name} must contain numbers, got the string {text!r}; convert text first "
                f"(e.g. np.asarray({name}, dtype=float))"
            )
        try:
            arr = arr.astype(np.float64)
        except OverflowError:  # Python ints beyond the float64 range
            raise ValueError(f"{name} has a number too large for float64") from None
        except (TypeError, ValueError):
            raise TypeError(f"{name} must contain real numbers, got objects") from None
    elif arr.dtype.kind == "c":
        raise TypeError(f"{name} must be real, got a complex array")
    else:
        raise TypeError(f"{name} must contain real numbers, got dtype {arr.dtype}")
    ndims = (ndim,) if isinstance(ndim, int) else ndim
    if arr.ndim not in ndims:
        want = " or ".join(str(d) for d in ndims)
        raise ValueError(f"{name} must be {want}-dimensional, got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float64)


def first_bad(mask: np.ndarray) -> tuple[int, ...] | int:
    index = np.unravel_index(int(np.argmax(mask)), mask.shape)
    return int(index[0]) if len(index) == 1 else tuple(int(i) for i in index)


def as_weights(value: Any, name: str, size: int | None = None) -> np.ndarray:
    """Validate nonnegative finite weights (a 1-D histogram).

    Parameters
    ----------
    value : array_like
        The weights.
    name : str
        Argument name used in error messages.
    size : int, optional
        Required length; ``None`` accepts any nonzero length.
    """
    w = as_float_array(value, name, 1)
    if w.size == 0:
        raise ValueError(f"{name} is empty: a distribution needs at least one bin")
    if size is not None and w.size != size:
        raise ValueError(f"{name} has {w.size} entries but {size} were expected")
    check_weight_values(w, name)
    return w


def check_finite(values: np.ndarray, name: str, what: str, where: str = "index") -> None:
    """Raise unless every entry is finite, naming the first that is not (``what``: the
    entries' name, ``where``: their position's)."""
    finite = np.isfinite(values)
    if not finite.all():
        bad = first_bad(~finite)
        raise ValueError(f"{name} has a non-finite {what} {values[bad]} at {where} {bad}")


def check_nonnegative(values: np.ndarray, name: str, what: str, where: str = "index") -> None:
    """Raise unless every entry is nonnegative, naming the first that is not."""
    negative = values < 0
    if negative.any():
        bad = first_bad(negative)
        raise ValueError(f"{name} has a negative {what} {values[bad]} at {where} {bad}")


def check_weight_values(w: np.ndarray, name: str) -> None:
    """Raise unless every weight is finite and nonnegative and some are positive."""
    # The common case in two passes (NaN fails the comparisons, and a total below
    # size * largest cannot overflow); the checks below name what is wrong.
    if w.size and 0.0 <= float(w.min()) and 0.0 < float(w.max()) * w.size < math.inf:
        return
    check_finite(w, name, "weight")
    check_nonnegative(w, name, "weight")
    if not (w > 0).any():
        raise ValueError(f"{name} has zero total mass")
    with np.errstate(over="ignore"):
        total = w.sum()
    if not np.isfinite(total):
        raise ValueError(f"{name} has a total mass too large for float64")


def input_eps(*values: Any) -> float:
    """Machine epsilon of the least precise floating dtype among the raw inputs.

    Inputs without a floating dtype (lists, integers, bools, objects) are read
    as float64, and dtypes wider than float64 are converted to it, so both
    count as float64.  Nothing is converted here: only ``dtype`` is read.
    """
    eps = _EPS64
    for value in values:
        dtype = getattr(value, "dtype", None)
        if isinstance(dtype, np.dtype) and dtype.kind == "f" and dtype.itemsize < 8:
            eps = max(eps, float(np.finfo(dtype).eps))
    return eps


def mass_rtol(n_bins: int, eps: float = _EPS64) -> float:
    """Relative tolerance within which two total masses count as equal.

    ``n_bins * eps``, where ``eps`` is the machine epsilon of the inputs'
    dtype (:func:`input_eps`): summing ``n`` numbers rounded to that
    precision can be off by about that much (Higham, *Accuracy and Stability
    of Numerical Algorithms*, ch. 4), so histograms normalised in float32
    agree to it.  It is never below :data:`MASS_RTOL` and never above
    ``sqrt(eps)``, half the input's digits, so that a forgotten normalisation
    is never taken for rounding.  float64: 1e-9 up to 4.5 million bins, at
    most 1.5e-8; float32: 1.2e-7 per bin, at most 3.5e-4; float16: at most 3%.

    This is the one balancing tolerance: :func:`balance` applies it to whole
    problems, :func:`emd._certify.balance_components` to every connected
    component of problems whose mass cannot leave its component (graphs,
    min-cost flows, sparse patterns), relative to the component's own mass.
    Totals within it are then balanced *exactly*; feasibility itself is decided
    in exact arithmetic, with no tolerance: whatever does not balance exactly
    after that, however small, is mass that cannot be delivered.
    """
    return max(MASS_RTOL, min(n_bins * eps, math.sqrt(eps)))


def balance(
    a: np.ndarray,
    b: np.ndarray,
    normalize: bool,
    names: tuple[str, str] = ("a", "b"),
    eps: float = _EPS64,
) -> tuple[np.ndarray, np.ndarray]:
    """Check that two histograms carry the same mass, or rescale both to 1.

    With ``normalize=True`` both are divided by their sums.  Otherwise totals
    that differ by more than :func:`mass_rtol` (``eps`` from :func:`input_eps`
    of the raw inputs) relative raise ``ValueError``, and totals within it are
    equal masses: when they differ by more than :data:`MASS_RTOL` (possible
    only for inputs of lower precision than float64, or beyond 4.5 million
    bins), ``b`` is rescaled to the total of ``a``, so the problem solved is
    balanced to float64 rounding and the leftover imbalance moves no mass.
    """
    try:
        sum_a, sum_b = rounded_sum(a), rounded_sum(b)
    except OverflowError:
        raise ValueError(
            f"{names[0]} or {names[1]} has a total mass too large for float64"
        ) from None
    if normalize:
        return a / sum_a, b / sum_b
    rtol = mass_rtol(a.size + b.size, eps)
    if abs(sum_a - sum_b) > rtol * max(sum_a, sum_b):
        raise ValueError(
            f"{names[0]} and {names[1]} must have equal total mass, got "
            f"sum({names[0]})={sum_a!r} and sum({names[1]})={sum_b!r} (a relative difference "
            f"above {rtol:.2g}, the inputs' precision); pass normalize=True to rescale both to 1"
        )
    if abs(sum_a - sum_b) > MASS_RTOL * max(sum_a, sum_b):
        # The solver absorbs differences at float64 rounding level (and
        # rescaling then would change results in the last bits); a wider
        # one, accepted for low-precision inputs, must not be left in.
        b = b * (sum_a / sum_b)
    return a, b


def check_grid_layout(shape: tuple[int, ...], name: str, volume: bool) -> None:
    """Refuse a 3-D grid whose last axis of 3 or 4 looks like colour channels.

    An ``(H, W, 3)`` RGB image would otherwise be solved as a 3-D histogram,
    moving mass between colour channels; ``volume=True`` says that it is one.
    """
    if len(shape) == 3 and shape[-1] in (3, 4) and not volume:
        channels = "RGB" if shape[-1] == 3 else "RGBA"
        raise ValueError(
            f"{name} has shape {shape}, like an {channels} image, which would be solved as a "
            f"3-D grid with mass moving between colour channels; convert it to one channel "
            f"first (e.g. {name}.mean(axis=-1)), or pass volume=True if it is a 3-D histogram"
        )


def check_scale(cost: float, mass: float, n_nodes: int, what: str = "costs") -> None:
    """Refuse a problem whose potentials or total cost could overflow float64.

    Potentials are sums of up to ``n_nodes`` costs of magnitude at most
    ``cost``, and a cost sums at most ``n_nodes`` flows of at most ``mass``
    each; the factor 16 leaves room for reduced costs and certificate sums.
    """
    if not math.isfinite(cost * (n_nodes + 2) * 16.0 * max(1.0, mass)):
        raise ValueError(
            f"{what} too large for float64: magnitudes up to {cost:.3g} with total mass "
            f"{mass:.3g} on {n_nodes} nodes overflow the solver's sums; rescale them"
        )


def as_cost_matrix(value: Any, shape: tuple[int, int], name: str = "cost") -> np.ndarray:
    """Validate a dense cost matrix of the given shape; no copy when already float64 C."""
    if _is_sparse(value):
        raise TypeError(
            f"{name} is a scipy.sparse matrix, but here every pair (i, j) is an arc and needs "
            f"a cost: pass {name}.toarray(), or use emd.compat.pot.emd, where only the stored "
            "entries are arcs"
        )
    cost = as_float_array(value, name, 2)
    if cost.shape != shape:
        raise ValueError(
            f"{name} has shape {cost.shape} but the weights need shape {shape} "
            f"(len(a), len(b))"
        )
    if cost.size == 0:
        raise ValueError(f"{name} is empty")
    check_finite(cost, name, "entry")
    return cost


def as_points(value: Any, name: str) -> np.ndarray:
    """Validate a point set: shape (n, d), or (n,) read as n points in 1-D."""
    pts = as_float_array(value, name, (1, 2))
    if pts.ndim == 1:
        pts = pts[:, None]
    if pts.shape[0] == 0:
        raise ValueError(f"{name} is empty: a point set needs at least one point")
    if pts.shape[1] == 0:
        raise ValueError(f"{name} has points with zero coordinates, shape {pts.shape}")
    check_finite(pts, name, "coordinate")
    return pts


def as_point_pair(
    x: Any, y: Any, names: tuple[str, str] = ("x", "y")
) -> tuple[np.ndarray, np.ndarray]:
    """Validate two point sets that must live in the same space (same number of
    coordinates): the one check every point-cloud entry point makes."""
    x_arr = as_points(x, names[0])
    y_arr = as_points(y, names[1])
    if x_arr.shape[1] != y_arr.shape[1]:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same number of coordinates, got shapes "
            f"{x_arr.shape} and {y_arr.shape}"
        )
    return x_arr, y_arr


def optional_weights(value: Any, name: str, size: int) -> np.ndarray:
    """Weights for ``size`` points, uniform (summing to 1) when ``value`` is None."""
    if value is None:
        return np.full(size, 1.0 / size)
    return as_weights(value, name, size)


def check_metric(metric: str, p: float | None) -> tuple[str, float]:
    """Normalise a metric name and its Minkowski exponent.

    Returns the canonical name and the exponent that the cost oracles use
    (2 for euclidean, 1 for cityblock, ``inf`` for chebyshev).
    """
    if not isinstance(metric, str):
        raise TypeError(f"metric must be a string, got {type(metric).__name__}")
    key = _METRIC_ALIASES.get(metric.lower(), metric.lower())
    if key not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}; got {metric!r}")
    if key == "minkowski":
        if p is None:
            raise ValueError("metric='minkowski' needs the exponent p (p >= 1)")
        p = float(p)
        if not (p >= 1):
            raise ValueError(
                f"p must be >= 1 (p < 1 breaks the triangle inequality), got {p}"
            )
        if p == 1:
            return "cityblock", 1.0
        if p == 2:
            return "euclidean", 2.0
        if math.isinf(p):
            return "chebyshev", math.inf
        return key, p
    if p is not None:
        raise ValueError(f"p is only used with metric='minkowski', not {key!r}")
    return key, {"euclidean": 2.0, "sqeuclidean": 2.0, "cityblock": 1.0, "chebyshev": math.inf}[key]


def as_n_jobs(n_jobs: Any) -> int:
    """Threads for a solve or a batch (``n_jobs``): ``None`` or -1 is every core."""
    if n_jobs is None or (not isinstance(n_jobs, (bool, np.bool_)) and n_jobs == -1):
        return os.cpu_count() or 1
    return as_positive_int(n_jobs, "n_jobs")


def as_positive_int(value: Any, name: str, minimum: int = 1) -> int:
    """An integer argument (iteration limits, chunk sizes) no smaller than ``minimum``."""
    if isinstance(value, (bool, np.bool_)):
        # operator.index(True) == 1: a flag passed by mistake would mean one pivot.
        raise TypeError(f"{name} must be an integer, got the bool {bool(value)}")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {value!r}") from None
    if number < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {number}")
    return number
