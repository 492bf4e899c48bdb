"""The arithmetic of optimality certificates: bounds that rounding cannot break.

A certificate bounds ``|cost - OPT|``, where ``OPT`` is the exact optimum of
the problem as the solver holds it in float64 (the given masses and costs, or
the metric as the kernels evaluate it).  Three ingredients, each computed so
that its rounding is counted against the claim rather than excused:

* the *basic flow* of the plan: on a support that is a forest the flow with
  the given marginals is unique, so it is recomputed exactly, in integers
  (every float64 is an integer times a power of two), by peeling leaves;
  the plan's float64 entries are its rounding;
* the *dual value* ``sum(a u) + sum(b v)`` and the plan's cost, summed with
  exact products (Dekker's TwoProduct) and a correctly rounded sum
  (``math.fsum``), so each carries one rounding of its own result;
* the *dual violation* ``max(u_i + v_j - C_ij)``, from the compiled kernels,
  which evaluate it with error-free transformations and a rigorous bound.

Weak duality then gives ``D - violation * mass <= OPT <= cost(basic flow)``
(plus the cost of routing whatever the basic flow leaves unrouted).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

#: Unit roundoff of float64.
UNIT_ROUNDOFF = 2.0**-53
_SPLITTER = 2.0**27 + 1.0
#: Below this a product's error term may have underflowed: Dekker's TwoProduct
#: is then no longer exact, by at most a few units of the smallest subnormal.
_UNDERFLOW = 2.0**-960
_UNDERFLOW_ALLOWANCE = 8 * 2.0**-1074


def round_up(x: float) -> float:
    """An upper bound on a nonnegative quantity computed with a few roundings."""
    return x * (1.0 + 8 * UNIT_ROUNDOFF) if x > 0 else 0.0


def two_product(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``a * b`` rounded and its exact error, elementwise (Dekker 1971, Veltkamp's split).

    Exact for finite inputs below about 2**995 whose product does not underflow.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        product = a * b
        a_hi, a_lo = _split(a)
        b_hi, b_lo = _split(b)
        error = ((a_hi * b_hi - product) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    return product, error


def _split(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Veltkamp's split into two 26-bit halves; values near the top of the range are
    scaled down by 2**30 first (exactly) so that the splitter cannot overflow."""
    big = np.abs(x) > 2.0**995
    scaled = np.where(big, x * 2.0**-30, x)
    t = _SPLITTER * scaled
    hi = t - (t - scaled)
    lo = scaled - hi
    return np.where(big, hi * 2.0**30, hi), np.where(big, lo * 2.0**30, lo)


def exact_dot(*pairs: tuple[np.ndarray, np.ndarray]) -> tuple[float, float]:
    """``sum_k x_k . y_k`` over the given pairs of arrays, correctly rounded, and a rigorous
    bound on its error: ``u |result|``, plus an underflow allowance only when a product is
    small enough to have lost bits.  Returns ``(inf, inf)`` when a term overflows."""
    parts = []
    allowance = 0.0
    for x, y in pairs:
        product, error = two_product(x, y)
        if not (np.isfinite(product).all() and np.isfinite(error).all()):
            return math.inf, math.inf
        tiny = (product != 0) & (np.abs(product) < _UNDERFLOW)
        allowance += _UNDERFLOW_ALLOWANCE * int(np.count_nonzero(tiny))
        parts.append(product)
        parts.append(error)
    total = math.fsum(np.concatenate(parts)) if parts else 0.0
    return total, UNIT_ROUNDOFF * abs(total) + allowance


class BasicFlow:
    """The flow on a forest of arcs that meets the node supplies (leaf peeling, compiled).

    On a forest the flow with given supplies is unique: a leaf passes its
    whole remaining supply along its one arc.  The compiled kernel carries the
    remaining supplies as double-double sums with an a-posteriori bound on
    their rounding, which is zero when every sum is exact (integer masses).

    Parameters
    ----------
    tails, heads : ndarray of int
        The arcs of the support.
    supply, supply_low : ndarray
        Net supply of every node (positive: sends), with optional low parts.

    Attributes
    ----------
    is_forest : bool
        Whether the arcs form a forest; if not, nothing else is set.
    high, low : ndarray
        ``high + low`` is each arc's exact flow to within the per-arc error.
    error : float
        Upper bound on ``sum |exact - high - low|`` over the arcs.
    negative : ndarray
        Upper bound on ``max(0, -exact flow)`` per arc: flow the basis sends against
        an arc, zero for a feasible basis.
    unrouted : float
        Upper bound on the total supply the forest cannot route (each tree's
        imbalance).
    """

    def __init__(
        self, tails: np.ndarray, heads: np.ndarray, supply: np.ndarray,
        supply_low: np.ndarray | None = None,
    ):
        from emd._core._certify import basic_flow

        is_forest, high, low, error, rest, rest_error, peeled_into = basic_flow(
            np.ascontiguousarray(tails, dtype=np.intp),
            np.ascontiguousarray(heads, dtype=np.intp),
            np.ascontiguousarray(supply, dtype=np.float64),
            supply_low,
        )
        self.is_forest = bool(is_forest)
        if not self.is_forest:
            return
        self.high, self.low = high, low
        value = high + low
        self.negative = np.where(value - error < 0, np.maximum(-value, 0.0) + error, 0.0)
        self.negative = self.negative * (1 + 4 * UNIT_ROUNDOFF)
        self.error = round_up(float(error.sum()))
        self.unrouted = round_up(float(np.abs(rest).sum() + rest_error.sum()))
        if self.unrouted > 0:
            self.unrouted = min(self.unrouted, _exact_imbalance(
                peeled_into, np.flatnonzero((rest != 0) | (rest_error != 0)), supply,
                supply_low))


# Trees whose imbalance is summed exactly; beyond this many (a support split
# into very many trees, each off by rounding) the a-posteriori bound is kept.
_EXACT_IMBALANCE_TREES = 64


def _exact_imbalance(
    peeled_into: np.ndarray, roots: np.ndarray, supply: np.ndarray,
    supply_low: np.ndarray | None,
) -> float:
    """Upper bound on the total |net supply| of the trees ending at ``roots``, each
    summed exactly (``math.fsum``): exactly 0 when every tree balances, which the
    leaf peeling's rounding bound cannot show (e.g. totals balanced exactly at 1e15)."""
    if roots.size > _EXACT_IMBALANCE_TREES:
        return math.inf
    tree = np.where(peeled_into < 0, np.arange(peeled_into.size), peeled_into)
    while True:  # pointer jumping: each node ends at the last node of its tree
        jumped = tree[tree]
        if np.array_equal(jumped, tree):
            break
        tree = jumped
    total = 0.0
    for root in roots:
        members = tree == root
        parts = [supply[members]] if supply_low is None else [
            supply[members], np.asarray(supply_low)[members]]
        # fsum is correctly rounded: zero exactly when the tree balances exactly.
        total += abs(math.fsum(np.concatenate(parts)))
    return total * (1.0 + 2 * (roots.size + 1) * UNIT_ROUNDOFF) if total > 0 else 0.0


def reduced_cost_bounds(
    cost: np.ndarray, pi_tail: np.ndarray, low_tail: np.ndarray, pi_head: np.ndarray,
    low_head: np.ndarray,
) -> np.ndarray:
    """Rigorous lower bounds on ``cost + (pi_tail + low_tail) - (pi_head + low_head)``,
    elementwise: the numpy twin of the compiled kernels' exact evaluation (TwoSum of the
    large terms, the small ones summed with a gamma_3 bound)."""
    s = pi_tail - pi_head
    back = s - pi_tail
    e1 = (pi_tail - (s - back)) + (-pi_head - back)
    t = s + cost
    back = t - s
    e2 = (s - (t - back)) + (cost - back)
    low = (e1 + e2) + (low_tail - low_head)
    value = t + low
    err = (3.0000001 * UNIT_ROUNDOFF) * (
        np.abs(e1) + np.abs(e2) + np.abs(low_tail) + np.abs(low_head)
    ) + (2.0000001 * UNIT_ROUNDOFF) * np.abs(value)
    return value - err


def _high_low(values: list[int], shift: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact integers times ``2**shift`` as float64 pairs: the correct rounding, then the
    rounding of what it left."""
    high = np.array([_from_int(f, shift) for f in values], dtype=np.float64)
    pairs = zip(values, high.tolist(), strict=True)
    low = np.array([_from_int(f - _to_int(h, shift), shift) for f, h in pairs], dtype=np.float64)
    return high, low


def _to_int(x: float, shift: int) -> int:
    num, den = float(x).as_integer_ratio()
    # den is a power of two no larger than 2**-shift for every mass of the problem.
    return num * ((1 << -shift) // den) if shift < 0 else num // (den << shift)


def _from_int(value: int, shift: int) -> float:
    """``value * 2**shift`` correctly rounded to float64."""
    if value == 0:
        return 0.0
    if shift >= 0:
        return float(value << shift)
    return value / (1 << -shift)  # int / int is correctly rounded in Python


def dd_shift(high: np.ndarray, low: np.ndarray, shift: float) -> tuple[np.ndarray, np.ndarray]:
    """Double-double ``(high + low) + shift`` elementwise (TwoSum, then renormalised)."""
    total = high + shift
    back = total - high
    error = (high - (total - back)) + (shift - back) + low
    new_high = total + error
    return new_high, error - (new_high - total)


def monotone_plan(
    x: np.ndarray, y: np.ndarray, a: np.ndarray, b: np.ndarray, normalize: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The monotone (north-west corner on sorted positions) plan on the line, exactly.

    Masses are carried as integers (every float64 is an integer times a power of
    two), so no mass is lost beside a larger one, however small.  With
    ``normalize=True`` the plan is that of ``a / sum(a)`` and ``b / sum(b)``
    taken exactly (each side scaled by the other's exact total), so equal
    weights give entries on exact common levels, with no rounding slivers.
    Returns ``(rows, cols, high, low)``: ``high`` is the correct rounding of each
    exact entry and ``high + low`` is within u of ``|low|`` of it.
    """
    masses = np.concatenate([a, b])
    nonzero = masses[masses != 0]
    shift = int(np.frexp(np.abs(nonzero))[1].min()) - 53 if nonzero.size else 0
    order_x = [i for i in np.argsort(x, kind="stable").tolist() if a[i] > 0]
    order_y = [j for j in np.argsort(y, kind="stable").tolist() if b[j] > 0]
    left = [_to_int(a[i], shift) for i in order_x]
    right = [_to_int(b[j], shift) for j in order_y]
    scale = None
    if normalize:
        total_left, total_right = sum(left), sum(right)
        left = [w * total_right for w in left]
        right = [w * total_left for w in right]
        scale = total_left * total_right
    rows, cols, amounts = [], [], []
    i = j = 0
    while i < len(left) and j < len(right):
        amount = min(left[i], right[j])
        rows.append(order_x[i])
        cols.append(order_y[j])
        amounts.append(amount)
        left[i] -= amount
        right[j] -= amount
        if left[i] == 0:
            i += 1
        if right[j] == 0:
            j += 1
    if scale is None:
        high, low = _high_low(amounts, shift)
    else:
        exact = [Fraction(f, scale) for f in amounts]  # the normalised entries, exactly
        high = np.array([float(q) for q in exact], dtype=np.float64)
        low = np.array([float(q - Fraction(h)) for q, h in zip(exact, high.tolist(),
                                                                  strict=True)])
    return np.asarray(rows, dtype=np.intp), np.asarray(cols, dtype=np.intp), high, low


def balance_exactly(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Make the totals of ``a`` and ``b`` equal exactly, by the least change possible.

    Totals that agree to rounding (or to the accepted mass tolerance) leave an
    imbalance ``d`` that the solver would park on an artificial arc, and the
    optimum of such a problem is ambiguous by up to ``d`` times the largest
    cost.  Every float64 mass is an integer multiple of the finest unit of the
    inputs, and so is ``d``: adding it to entries of the lighter side, smallest
    first (their unit is that finest one, so the sum is exact), balances the
    totals exactly.  Returns new arrays when a change was needed, and the inputs
    themselves when none was, or when no entry is fine enough to take the
    difference (the certificate then counts the imbalance).
    """
    signed = np.concatenate([a, -b])
    # fsum is correctly rounded, so it is 0 exactly when the totals are equal.
    first = math.fsum(signed)
    if first == 0.0:
        return a, b
    # The exact difference as a short expansion: each fsum of what is left is
    # correctly rounded, so a few terms carry it exactly.
    terms = [first]
    while True:
        rest = math.fsum(np.concatenate([signed, -np.asarray(terms)]))
        if rest == 0.0:
            break
        terms.append(rest)
    masses = np.abs(signed)
    nonzero = masses[masses != 0]
    shift = int(np.frexp(nonzero)[1].min()) - 53
    difference = sum(_to_int(t, shift) for t in terms)
    # Raise the lighter side (no entry can go negative), finest entries first;
    # if its units are too coarse, lower the heavier side's smallest entries.
    lighter = (b if difference > 0 else a).copy()
    heavier = (a if difference > 0 else b).copy()
    missing = abs(difference)
    missing = _absorb(lighter, missing, shift, +1)
    missing = _absorb(heavier, missing, shift, -1)
    if missing:
        # No exact balance within the entries' own precision (the imbalance is
        # finer than every entry that could take it): leave the totals as given;
        # the certificate then counts the imbalance as unrouted mass.
        return a, b
    return (heavier, lighter) if difference > 0 else (lighter, heavier)


def _absorb(masses: np.ndarray, missing: int, shift: int, sign: int) -> int:
    """Move up to ``missing`` units into (``sign=+1``) or out of (``-1``) the nonzero
    entries, smallest first, in steps each entry holds exactly; return what is left."""
    # Only entries whose unit in the last place fits in what is missing can take a step.
    limit = _from_int(missing, shift)
    fits = np.flatnonzero((masses > 0) & ((np.spacing(masses) <= limit) | (limit == 0.0)))
    for k in fits[np.argsort(masses[fits], kind="stable")].tolist():
        if missing == 0:
            break
        value = _to_int(masses[k], shift)
        if value == 0:
            continue  # zero-mass bins stay empty
        unit = 1 << max(0, value.bit_length() - 53)
        step = (missing // unit) * unit
        if sign < 0:
            step = min(step, (value // unit) * unit)  # down to zero at most
        if step == 0:
            continue
        new_value = value + sign * step
        new_mass = _from_int(new_value, shift)
        if _to_int(new_mass, shift) != new_value:
            continue  # crossed a binade: leave this entry alone
        masses[k] = new_mass
        missing -= step
    return missing


def difference(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``a - b`` elementwise as exact double-double pairs (TwoSum)."""
    high = a - b
    back = high - a
    return high, (a - (high - back)) + (-b - back)


def arc_violation(
    tails: np.ndarray, heads: np.ndarray, costs: np.ndarray, y: np.ndarray, y_low: np.ndarray
) -> tuple[float, int, int]:
    """Upper bound on ``max(0, y[tail] - y[head] - cost)`` over the arcs (double-double
    ``y``), and the arc attaining it (``-1, -1`` when nothing is violated)."""
    if tails.size == 0:
        return 0.0, -1, -1
    lower = reduced_cost_bounds(costs, -y[tails], -y_low[tails], -y[heads], -y_low[heads])
    worst = int(np.argmin(lower))
    if lower[worst] >= 0:
        return 0.0, -1, -1
    return float(-lower[worst]), int(tails[worst]), int(heads[worst])


def cdf_difference_signs(order: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``sign(F_a - F_b)`` after each point of the merged support, for the exactly
    normalised ``a / sum(a)`` and ``b / sum(b)`` (points of ``a`` first in ``order``'s
    indexing: ``order[k] < a.size`` means a point of ``a``), in integer arithmetic.

    The same exact problem as :func:`monotone_plan` with ``normalize=True``, so the
    potentials built from these signs are complementary to that plan even where
    ``F_a - F_b`` is far below the rounding of the running totals.
    """
    masses = np.concatenate([a, b])
    nonzero = masses[masses != 0]
    shift = int(np.frexp(np.abs(nonzero))[1].min()) - 53 if nonzero.size else 0
    left = [_to_int(w, shift) for w in a.tolist()]
    right = [_to_int(w, shift) for w in b.tolist()]
    total_left, total_right = sum(left), sum(right)
    n = a.size
    signs = np.empty(len(order))
    running = 0
    for k, item in enumerate(order.tolist()):
        running += left[item] * total_right if item < n else -right[item - n] * total_left
        signs[k] = (running > 0) - (running < 0)
    return signs
