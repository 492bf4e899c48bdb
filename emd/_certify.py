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
(plus the cost of routing whatever the basic flow leaves unrouted, where a
route is known to exist).  The upper side needs a feasible flow, so
feasibility is decided here too, in exact arithmetic (:func:`exact_sums`):
totals that agree to the documented tolerance are balanced exactly first
(:func:`balance_exactly`, :func:`balance_components`), and whatever still does
not balance, however small, is mass that cannot be delivered.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from emd._core._certify import balance_weights as _compiled_balance
from emd._core._certify import basic_flow
from emd._validation import mass_rtol

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
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        # Terms with a zero factor add nothing exactly (unless the other factor is not
        # finite): certificates pair supplies with the low parts of potentials and
        # low parts of supplies with potentials, mostly zeros, and zero-cost arcs.
        if x.shape == y.shape:
            keep = (x != 0) & (y != 0)
            if not keep.all():
                if not (np.isfinite(x[~keep]).all() and np.isfinite(y[~keep]).all()):
                    return math.inf, math.inf
                x, y = x[keep], y[keep]
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
        The total supply the forest cannot route (the sum of each tree's exact
        imbalance), rounded up: exactly 0 when, and only when, every tree balances
        exactly, i.e. the flow meets every supply exactly.
    trees : ndarray of int
        The tree of every node, named by its last node (set only when ``unrouted > 0``).
    imbalanced, imbalance : ndarray
        The trees that do not balance (by ``trees`` name) and the correctly rounded
        sum of the supplies of each (set only when ``unrouted > 0``).
    """

    def __init__(
        self, tails: np.ndarray, heads: np.ndarray, supply: np.ndarray,
        supply_low: np.ndarray | None = None,
    ):
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
        self.unrouted = 0.0
        # The leaf peeling's remainders are exact when their error bound is 0; any
        # other tree is summed again exactly, so that ``unrouted`` is 0 exactly when
        # every tree balances (which a rounding bound could never show).
        roots = np.flatnonzero((rest != 0) | (rest_error != 0))
        if roots.size:
            self.trees = _last_nodes(peeled_into)
            values = supply if supply_low is None else np.concatenate(
                [supply, np.asarray(supply_low, dtype=np.float64)])
            labels = self.trees if supply_low is None else np.tile(self.trees, 2)
            sums = exact_sums(labels, values, roots)
            keep = sums != 0
            self.imbalanced, self.imbalance = roots[keep], sums[keep]
            self.unrouted = _rounded_up_total(self.imbalance)


def _last_nodes(peeled_into: np.ndarray) -> np.ndarray:
    """The last node of every node's tree, following ``peeled_into`` (pointer jumping)."""
    tree = np.where(peeled_into < 0, np.arange(peeled_into.size), peeled_into)
    while True:
        jumped = tree[tree]
        if np.array_equal(jumped, tree):
            return tree
        tree = jumped


def exact_sums(labels: np.ndarray, values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """``sum(values[labels == g])`` for every ``g`` in ``groups``, each correctly rounded
    (``math.fsum``): exactly 0 when, and only when, the group sums to 0 exactly.

    The one exact test of balance that every feasibility check uses (trees of a
    basic flow, connected components, conservation at the nodes of a flow).
    """
    groups = np.asarray(groups)
    out = np.zeros(groups.size)
    if groups.size == 0 or values.size == 0:
        return out
    order = np.argsort(labels, kind="stable")
    ordered = labels[order]
    starts = np.searchsorted(ordered, groups, side="left").tolist()
    stops = np.searchsorted(ordered, groups, side="right").tolist()
    listed = values[order].tolist()
    for k, (start, stop) in enumerate(zip(starts, stops, strict=True)):
        if stop > start:
            out[k] = math.fsum(listed[start:stop])
    return out


def exact_imbalance(labels: np.ndarray, values: np.ndarray) -> float:
    """``sum_g |sum(values[labels == g])|`` over every label, each group summed exactly,
    rounded up: 0.0 exactly when, and only when, every group balances exactly."""
    if labels.size and labels.min() == labels.max():  # one group: no sorting needed
        return _rounded_up_total(np.array([math.fsum(values.tolist())]))
    groups = np.unique(labels[values != 0])
    return _rounded_up_total(exact_sums(labels, values, groups))


def _rounded_up_total(sums: np.ndarray) -> float:
    """An upper bound on ``sum |sums|`` (each term exact to one rounding): 0 only if all are."""
    total = float(np.abs(sums).sum())
    return total * (1.0 + 2 * (sums.size + 1) * UNIT_ROUNDOFF) if total > 0 else 0.0


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


def balance_or_refuse(
    a: np.ndarray, b: np.ndarray, names: tuple[str, str] = ("a", "b")
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`balance_exactly`, or a ``ValueError`` when no exact balance exists.

    Totals accepted as equal (they agree to the inputs' precision) whose difference
    needs more bits than the entries can hold, as with masses from 1e-324 to 1e300
    beside each other, leave a problem that is infeasible as held in float64: no
    certificate could pass, so the caller is told why instead of given an
    unproven number.  (Grids with masses moved as given use it; elsewhere such a
    problem is solved and reported ``"uncertified"``.)
    """
    balanced_a, balanced_b = balance_exactly(a, b)
    if math.fsum(np.concatenate([balanced_a, -balanced_b])) != 0.0:
        raise ValueError(
            f"the totals of {names[0]} and {names[1]} agree only to rounding, and their "
            "difference cannot be absorbed exactly by float64 entries (the masses span "
            "too many orders of magnitude); rescale them to a common total first, or pass "
            "normalize=True"
        )
    return balanced_a, balanced_b


def balance_exactly(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Make the totals of ``a`` and ``b`` equal exactly, by the least change possible:
    :func:`exact_balance`, by its compiled twin when that can (one entry takes the
    whole difference, in 128-bit integers: nearly always, and about ten times faster
    on small weights; the two give the same bits, tested)."""
    if (a.ndim == b.ndim == 1 and a.dtype == np.float64 and b.dtype == np.float64
            and a.flags.c_contiguous and b.flags.c_contiguous):
        balanced = _compiled_balance(a, b)
        if balanced is not None:
            return balanced
    return exact_balance(a, b)


def exact_balance(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Make the totals of ``a`` and ``b`` equal exactly, by the least change possible.

    Totals that agree to rounding (or to the accepted mass tolerance) leave an
    imbalance ``d`` that the solver would park on an artificial arc, and the
    optimum of such a problem is ambiguous by up to ``d`` times the largest
    cost.  Every float64 mass is an integer multiple of the finest unit of the
    inputs, and so is ``d``: adding it to entries of the lighter side, smallest
    first (their unit is that finest one, so the sum is exact), balances the
    totals exactly; when no single entry holds it (masses over many binades), its
    bits are spread over entries of several sizes.  Returns new arrays when a
    change was needed, and the inputs themselves when none was, or when even
    that fails (masses from 1e-324 to 1e300 side by side: the problem is then
    infeasible as held, no certificate passes, and :func:`balance_or_refuse`
    says so).
    """
    signed = np.concatenate([a, -b])
    nonzero = signed[signed != 0]
    if nonzero.size == 0:
        return a, b
    shift = int(np.frexp(nonzero)[1].min()) - 53
    # The exact difference of the totals, in units of the finest entry.
    difference = _exact_units(nonzero, shift)
    if difference == 0:
        return a, b
    # Raise the lighter side (no entry can go negative), finest entries first;
    # if its units are too coarse, lower the heavier side's smallest entries.
    lighter = (b if difference > 0 else a).copy()
    heavier = (a if difference > 0 else b).copy()
    missing = abs(difference)
    missing = _absorb(lighter, missing, shift, +1)
    missing = _absorb(heavier, missing, shift, -1)
    if missing:
        # Masses over many binades (e.g. 1e-34 beside 1): no single entry holds the
        # whole difference, but its bits do fit into entries of several sizes.
        missing = _absorb_by_units(lighter, heavier, missing, shift)
    if missing:
        # Neither side alone can take the bits: move entries both ways (a coarse
        # entry past the difference, finer ones back).
        both = a.copy(), b.copy()
        if _balance_both_ways(*both, shift):
            return both
        # No exact balance within the entries' own precision: leave the totals as
        # given; the problem is then infeasible as held and no certificate passes.
        return a, b
    return (heavier, lighter) if difference > 0 else (lighter, heavier)


def _balance_both_ways(a: np.ndarray, b: np.ndarray, shift: int) -> bool:
    """The last fallback of :func:`balance_exactly`, in place: entries finest unit in
    the last place first, each changed (up or down, never below zero) by the least
    amount that clears the difference's part that no coarser entry can hold (its
    residue modulo the next coarser unit); the coarsest takes what is left.  True
    when the totals then agree exactly.  E.g. ``a = [1e15, 1e-15, 5e-98]`` against
    ``b`` totalling ``1e15 + 0.125``: the two tiny entries go to zero and the
    ``1e15`` entry takes ``0.125``, where raising ``a`` alone cannot hold the bits
    of ``0.125 - 1e-15 - 5e-98``."""
    entries = []
    for masses, side in ((a, 1), (b, -1)):
        for k in np.flatnonzero(masses > 0).tolist():
            value = _to_int(masses[k], shift)
            entries.append((1 << max(0, value.bit_length() - 53), side, k, masses))
    entries.sort(key=lambda entry: entry[0])
    units = sorted({entry[0] for entry in entries})
    # sum(a) - sum(b) in units of 2**shift; an entry changed by t moves it by side * t.
    excess = _exact_units(np.concatenate([a[a > 0], -b[b > 0]]), shift)
    for unit, side, k, masses in entries:
        if excess == 0:
            return True
        if excess % unit:
            return False  # bits finer than every entry left
        coarser = next((u for u in units if u > unit), None)
        if coarser is None:
            choices = [-excess]
        else:
            residue = -excess % coarser
            choices = sorted((residue, residue - coarser), key=abs)
        value = _to_int(masses[k], shift)
        for change in choices:  # change of the difference, side * t
            new_value = value + side * change
            if new_value < 0:
                continue
            new_mass = _from_int(new_value, shift)
            if new_value == 0 or _to_int(new_mass, shift) == new_value:
                masses[k] = new_mass
                excess += change
                break
        else:
            # Neither fits: an entry smaller than the way down goes to zero, and the
            # entries of its unit after it take the rest (two 1.0s against a 2).
            if value and any(side * change < -value for change in choices):
                masses[k] = 0.0
                excess -= side * value
    return excess == 0


def _exact_units(values: np.ndarray, shift: int) -> int:
    """``sum(values) / 2**shift`` exactly, as an integer (every value a multiple of
    ``2**shift``): the mantissas, split into 26-bit halves, are summed per binary
    exponent by float64 bincounts, which are exact for fewer than 2**26 terms."""
    if values.size >= 1 << 26:
        return sum(_to_int(v, shift) for v in values.tolist())
    mantissa, exponent = np.frexp(values)
    whole = np.ldexp(mantissa, 53)  # integers below 2**53 in magnitude, exactly
    high = np.floor(whole * 2.0**-26)
    low = whole - high * 2.0**26  # in [0, 2**26)
    base = int(exponent.min())
    index = exponent - base
    total = 0
    for k, (h, lo) in enumerate(zip(np.bincount(index, high).tolist(),
                                    np.bincount(index, low).tolist(), strict=True)):
        if h or lo:
            total += ((int(h) << 26) + int(lo)) << k
    # Each value is whole * 2**(exponent - 53): rebase from 2**(base - 53) to 2**shift.
    offset = base - 53 - shift
    return total << offset if offset >= 0 else total >> -offset


def _smallest_first(values: np.ndarray):
    """The positions of ``values`` in stable ascending order, lazily: the few smallest
    (with every tie of the last) first, which is usually all that is asked for."""
    if values.size <= 64:
        yield from np.argsort(values, kind="stable").tolist()
        return
    kth = np.partition(values, 63)[63]
    for part in (np.flatnonzero(values <= kth), np.flatnonzero(values > kth)):
        yield from part[np.argsort(values[part], kind="stable")].tolist()


def _absorb(masses: np.ndarray, missing: int, shift: int, sign: int) -> int:
    """Move up to ``missing`` units into (``sign=+1``) or out of (``-1``) the nonzero
    entries, smallest first, in steps each entry holds exactly; return what is left."""
    if missing == 0:
        return 0
    # Only entries whose unit in the last place fits in what is missing can take a step.
    limit = _from_int(missing, shift)
    fits = np.flatnonzero((masses > 0) & ((np.spacing(masses) <= limit) | (limit == 0.0)))
    for k in (int(fits[j]) for j in _smallest_first(masses[fits])):
        if missing == 0:
            break
        value = _to_int(masses[k], shift)
        if value == 0:
            continue  # zero-mass bins stay empty
        unit = 1 << max(0, value.bit_length() - 53)
        if unit > missing:
            break  # later entries are no smaller, so their units are no finer: no steps
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


def _absorb_by_units(lighter: np.ndarray, heavier: np.ndarray, missing: int, shift: int) -> int:
    """The fallback of :func:`balance_exactly`: split ``missing`` units over the nonzero
    entries of both sides (raising ``lighter``, lowering ``heavier``), finest unit in the
    last place first, each entry taking all that is left if it can hold it exactly, or
    else the part no coarser entry can hold (what is left modulo the next coarser unit);
    return what is left.  Only runs where :func:`_absorb` leaves a remainder, so
    the answers it gives elsewhere (and the compiled twin's) are unchanged."""
    entries = []
    for masses, sign in ((lighter, +1), (heavier, -1)):
        for k in np.flatnonzero(masses > 0).tolist():
            value = _to_int(masses[k], shift)
            entries.append((1 << max(0, value.bit_length() - 53), value, sign, k, masses))
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    units = [entry[0] for entry in entries]
    for position, (unit, _, sign, k, masses) in enumerate(entries):
        if missing == 0:
            break
        if missing % unit:
            continue  # a finer part is still missing: no entry can take it any more
        coarser = next((u for u in units[position + 1:] if u > unit), None)
        needed = missing if coarser is None else missing % coarser
        value = _to_int(masses[k], shift)  # as it is now (earlier passes may have moved it)
        for step in (missing, needed):
            new_value = value + sign * step
            if step == 0 or new_value < 0:
                continue
            new_mass = _from_int(new_value, shift)
            if new_value == 0 or _to_int(new_mass, shift) == new_value:
                masses[k] = new_mass
                missing -= step
                break
    return missing


def balance_components(
    a: np.ndarray, b: np.ndarray, labels: np.ndarray, n_components: int, eps: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Balance ``a`` and ``b`` exactly within every connected component: the documented
    balancing of problems whose mass can only move inside its component (graphs,
    min-cost flows, sparse patterns).

    Each component is its own transport problem and is held to the rule of a whole
    one: totals that agree to :func:`emd._validation.mass_rtol` of the component's
    *own* mass (``eps`` the inputs' precision) are equal masses, balanced exactly by
    :func:`balance_exactly`; any other difference, however small, is mass that
    cannot reach its target.  Returns ``(a, b, stranded)``: the balanced masses and
    the components whose exact net mass is still not zero (the problem is then
    infeasible, and that is proven: no arc leaves a component).
    """
    if n_components == 1:
        members = [np.arange(a.size)]
        groups = [0]
    else:
        massive = ((a > 0) | (b > 0)).astype(np.float64)
        held = np.flatnonzero(np.bincount(labels, massive, minlength=n_components) > 0)
        order = np.argsort(labels, kind="stable")
        bounds = np.searchsorted(labels[order], np.arange(n_components + 1))
        members = [order[bounds[g]:bounds[g + 1]] for g in held.tolist()]
        groups = held.tolist()
    a_out, b_out = a, b
    stranded = []
    for group, nodes in zip(groups, members, strict=True):
        part_a, part_b = a[nodes], b[nodes]
        if math.fsum(np.concatenate([part_a, -part_b])) == 0.0:
            continue
        mass = max(math.fsum(part_a), math.fsum(part_b))
        net = math.fsum(part_a) - math.fsum(part_b)
        if abs(net) <= mass_rtol(2 * nodes.size, eps) * mass:
            part_a, part_b = balance_exactly(part_a, part_b)
            if math.fsum(np.concatenate([part_a, -part_b])) == 0.0:
                if a_out is a:
                    a_out, b_out = a.copy(), b.copy()
                a_out[nodes], b_out[nodes] = part_a, part_b
                continue
        stranded.append(group)
    return a_out, b_out, np.asarray(stranded, dtype=np.intp)


def proves_infeasible(
    tails: np.ndarray, heads: np.ndarray, flow: np.ndarray, supply: np.ndarray,
    basis: BasicFlow,
) -> bool:
    """Whether the supplies provably admit no flow on these (uncapacitated) arcs.

    ``basis`` is the exact basic flow of the solver's final tree (its real arcs),
    which leaves mass unrouted.  The witness is a set ``S`` of nodes that no arc
    leaves, whose exact net supply is positive (or one that no arc enters, with a
    negative net supply): every flow would have to carry that supply out of
    ``S``.  The candidate is the residual closure of the trees left with a surplus
    (every arc forward, and backward along arcs that carry flow) -- the set a
    max-flow min-cut argument names -- and only the two exact facts are checked,
    so a candidate spoiled by rounding proves nothing rather than something false.
    """
    if not basis.is_forest or basis.unrouted == 0.0:
        return False
    import scipy.sparse
    from scipy.sparse import csgraph

    n = supply.size
    carrying = flow > 0
    for sign in (+1, -1):
        sources = basis.imbalanced[sign * basis.imbalance > 0]
        if sources.size == 0:
            continue
        start = np.isin(basis.trees, sources)
        # Forward arcs for a surplus; their reverse for a deficit (no arc may enter S).
        forward_t, forward_h = (tails, heads) if sign > 0 else (heads, tails)
        rows = np.concatenate([forward_t, forward_h[carrying], np.full(n, n)])
        cols = np.concatenate([forward_h, forward_t[carrying], np.arange(n)])
        keep = np.ones(rows.size, dtype=bool)
        keep[-n:] = start  # the super-source reaches the nodes of those trees
        graph = scipy.sparse.coo_array(
            (np.ones(int(keep.sum())), (rows[keep], cols[keep])), shape=(n + 1, n + 1)
        ).tocsr()
        reached = csgraph.breadth_first_order(graph, n, directed=True,
                                              return_predecessors=False)
        inside = np.zeros(n + 1, dtype=bool)
        inside[reached] = True
        inside = inside[:n]
        # No arc may leave S (enter it, for a deficit): true by construction, checked
        # because the witness must not rest on how it was built.
        if (inside[forward_t] & ~inside[forward_h]).any():
            continue
        if sign * math.fsum(supply[inside]) > 0:
            return True
    return False


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
