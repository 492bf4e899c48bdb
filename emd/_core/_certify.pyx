# cython: language_level=3
"""Exact arithmetic on masses and flows, and the compiled certificate of a tree.

* Exact balancing of a pair's totals, as ``emd._certify.balance_exactly`` does it:
  every float64 mass is an integer times 2**shift, with shift = (smallest binary
  exponent of the masses) - 53; when the masses span few binades these integers and
  their sums fit in 128 bits (``_int128.h``), and the balancing is done here on the
  same integers, step for step.  Otherwise the caller falls back to the Python
  implementation.
* :func:`basic_flow`: the flow on a forest that meets given supplies, with a rigorous
  bound on its rounding (the Python certificate's basic flow).
* :func:`certify_tree`: whether a tree's cost is proven within a relative tolerance
  of the optimum, the check the pair and grid batches make per pair without the GIL.
* :func:`rounded_sum`: ``math.fsum`` of an array, on the same integers.

The error-free transformations themselves are the inline ones of ``_exact.pxd``.
"""

import math

import numpy as np

from libc.math cimport INFINITY, fabs, fma, frexp, ldexp
from libc.stdint cimport uint64_t
from libc.stdlib cimport free
from libc.string cimport memset

from emd._core._exact cimport fast_two_sum, two_sum, unit_roundoff
from emd._core._grow cimport grow
from emd._core._tree cimport Tree

cdef extern from "_int128.h":
    ctypedef long long emd_int128  # a 128-bit integer in C; the Cython name only
    int emd_bit_length(emd_int128 v) nogil


cdef inline uint64_t float_bits(double x) noexcept nogil:
    return (<uint64_t*> &x)[0]


cdef inline double next_up(double x) noexcept nogil:
    """``nextafter(x, INFINITY)`` for a finite ``x > 0``: the next bit pattern."""
    cdef uint64_t bits = float_bits(x) + 1
    return (<double*> &bits)[0]


cdef inline int frexp_exponent(double x) noexcept nogil:
    """The exponent ``frexp`` gives a nonzero ``x``; -1022 stands for every subnormal
    (the callers only need to know that it is below -960)."""
    cdef int biased = <int> ((float_bits(x) >> 52) & 0x7FF)
    return biased - 1022 if biased else -1022


cdef inline emd_int128 to_units(double x, int shift) noexcept nogil:
    """``x / 2**shift`` for ``x >= 0``, exactly when it is an integer (as
    ``emd._certify._to_int``)."""
    cdef int e
    cdef double f
    cdef emd_int128 mantissa
    cdef uint64_t bits, fraction = 0xFFFFFFFFFFFFF, hidden = 0x10000000000000
    if x == 0.0:
        return 0
    bits = float_bits(x)
    if (bits >> 52) & 0x7FF:
        # A normal number: the 53-bit significand, read off its bits.
        mantissa = <emd_int128> ((bits & fraction) | hidden)
        e = <int> ((bits >> 52) & 0x7FF) - 1075 - shift
    else:
        f = frexp(x, &e)
        mantissa = <emd_int128> ldexp(f, 53)
        e = e - 53 - shift
    if e >= 0:
        return mantissa << e
    # Finer than the unit (a mass changed by balancing): exact if its low bits are
    # zero; otherwise 0, as _to_int's integer division gives.
    if e <= -53 or (mantissa & (((<emd_int128> 1) << -e) - 1)) != 0:
        return 0
    return mantissa >> -e


cdef inline double from_units(emd_int128 value, int shift) noexcept nogil:
    """``value * 2**shift`` correctly rounded (normal range: the caller checked)."""
    return ldexp(<double> value, shift)


# Entries absorb may visit before it gives up (tries x entries): each try rescans
# every entry for the smallest untried one, so a difference that many of many
# entries must share (9216 bins, 2026-12-04: 149 ms against the Python one's 0.9 ms)
# is left to emd._certify, which sorts once.  Nearly always the first entry tried
# takes the whole difference; small sets may try them all.
cdef Py_ssize_t ABSORB_VISITS = 1 << 18


cdef emd_int128 absorb(
    double* masses, Py_ssize_t count, emd_int128 missing, int shift, int sign,
    Py_ssize_t* done, bint* gave_up,
) noexcept nogil:
    """``emd._certify._absorb``: move up to ``missing`` units into (``sign`` +1) or out
    of (-1) the nonzero entries, smallest first (stable), in steps each holds exactly;
    ``gave_up`` is set (and the masses are then not to be used) once the tries have
    visited ABSORB_VISITS entries."""
    cdef double limit = from_units(missing, shift), mass, new_mass
    cdef Py_ssize_t k, idx, tries = 0
    cdef emd_int128 value, unit, step, new_value, whole
    cdef int bits
    # The entries that can take a step, smallest first and in index order among
    # equals (a stable sort), picked one at a time: nearly always the first one
    # absorbs everything.  ``done`` (count entries of scratch) flags those tried.
    for k in range(count):
        done[k] = 0
    while missing != 0:
        idx = -1
        for k in range(count):
            mass = masses[k]
            if done[k] or not (mass > 0 and (next_up(mass) - mass <= limit or limit == 0.0)):
                continue
            if idx < 0 or mass < masses[idx]:
                idx = k
        if idx < 0:
            break
        tries += 1
        if tries * count > ABSORB_VISITS:
            gave_up[0] = True
            break
        done[idx] = 1
        value = to_units(masses[idx], shift)
        if value == 0:
            continue
        bits = emd_bit_length(value) - 53
        unit = (<emd_int128> 1) << (bits if bits > 0 else 0)
        step = (missing // unit) * unit
        if sign < 0:
            whole = (value // unit) * unit
            step = whole if whole < step else step
        if step == 0:
            continue
        new_value = value + sign * step
        new_mass = from_units(new_value, shift)
        if to_units(new_mass, shift) != new_value:
            continue
        masses[idx] = new_mass
        missing -= step
    return missing


cdef inline void exponent_range(
    const double* x, Py_ssize_t n, int* lo_e, int* hi_e,
) noexcept nogil:
    """Widen ``[lo_e, hi_e]`` to the binary exponents of the nonzero entries of ``x``
    (infinities and NaNs read as 1025)."""
    cdef Py_ssize_t k
    cdef int e
    for k in range(n):
        if x[k] != 0.0:
            e = frexp_exponent(x[k])
            lo_e[0] = e if e < lo_e[0] else lo_e[0]
            hi_e[0] = e if e > hi_e[0] else hi_e[0]


cdef int units_shift(int lo_e, int hi_e, Py_ssize_t count, int* shift) noexcept nogil:
    """The unit ``2**shift`` in which ``count`` entries of binary exponents in ``[lo_e,
    hi_e]`` are integers whose sum fits 128 bits: 0, or 1 when there is no nonzero entry,
    or -1 when they span too many binades (or come near the subnormal range)."""
    cdef int bits = hi_e - lo_e + 53
    if hi_e < lo_e:
        return 1
    while count > 0:
        bits += 1
        count >>= 1
    # Sums below 2**124 and masses far from the subnormal range.
    if bits > 124 or lo_e < -960:
        return -1
    shift[0] = lo_e - 53
    return 0


cdef int units_difference(
    const double* a, Py_ssize_t na, const double* b, Py_ssize_t nb, emd_int128* total,
    int* shift,
) noexcept nogil:
    """``sum(a) - sum(b)`` exactly, in units of ``2**shift`` (the finest entry's last
    bit): 0, or 1 when every mass is zero (``total`` 0), or -1 when the masses span too
    many binades for 128-bit integers."""
    cdef Py_ssize_t k
    cdef int lo_e = 100000, hi_e = -100000, found
    total[0] = 0
    exponent_range(a, na, &lo_e, &hi_e)
    exponent_range(b, nb, &lo_e, &hi_e)
    found = units_shift(lo_e, hi_e, na + nb, shift)
    if found != 0:
        return found
    for k in range(na):
        total[0] += to_units(a[k], shift[0])
    for k in range(nb):
        total[0] -= to_units(b[k], shift[0])
    return 0


def rounded_sum(values):
    """``math.fsum(values)`` (the exact sum, rounded once) of a float64 array, several
    times faster: the entries are integers in units of ``2**shift`` (as for the
    balancing) summed exactly in 128 bits, and the integer's conversion to double is
    the one rounding, exact scaling by ``2**shift`` aside.  Arrays whose entries span
    too many binades for that, or hold non-finite or only zero entries (the sign of
    an all-zero sum), or whose sum could leave the normal range, go to
    ``math.fsum`` itself, so every result and exception is ``math.fsum``'s.
    """
    cdef const double[::1] x = np.ascontiguousarray(values, dtype=np.float64).reshape(-1)
    cdef Py_ssize_t k, n = x.shape[0]
    cdef int lo_e = 100000, hi_e = -100000, shift
    cdef emd_int128 total = 0
    with nogil:
        exponent_range(&x[0] if n else NULL, n, &lo_e, &hi_e)
    # A non-finite entry's exponent, 1025, fails the last test, as does a sum that
    # could overflow.
    if units_shift(lo_e, hi_e, n, &shift) != 0 or hi_e + 64 > 1020:
        return math.fsum(x)
    with nogil:
        for k in range(n):
            if x[k] > 0.0:
                total += to_units(x[k], shift)
            elif x[k] < 0.0:
                total -= to_units(-x[k], shift)
    return ldexp(<double> total, shift)


cdef bint totals_agree(
    const double* a, Py_ssize_t na, const double* b, Py_ssize_t nb,
) noexcept nogil:
    """Whether ``sum(a) == sum(b)`` exactly (False when it cannot tell)."""
    cdef emd_int128 total
    cdef int shift
    return units_difference(a, na, b, nb, &total, &shift) >= 0 and total == 0


cdef int balance_pair(
    Balance* B, const double* a, Py_ssize_t na, const double* b, Py_ssize_t nb,
    const double** out_a, const double** out_b,
) noexcept nogil:
    """Point ``out_a``, ``out_b`` at the weights the single solve uses: ``a``, ``b`` when
    their exact totals agree, else balanced copies in ``B``.  Returns 0, or -1 when the
    masses span too many binades for 128-bit integers, when no entry holds the
    difference whole (the caller then balances in Python) or memory runs out."""
    cdef Py_ssize_t k
    cdef int shift, found
    cdef emd_int128 total = 0, missing
    cdef double* lighter
    cdef double* heavier
    cdef Py_ssize_t n_light, n_heavy
    out_a[0] = a
    out_b[0] = b
    found = units_difference(a, na, b, nb, &total, &shift)
    if found != 0:
        return 0 if found > 0 else -1
    if total == 0:
        return 0
    if B.cap < na + nb:
        if not (grow(<void**> &B.a, <size_t> (na + nb) * sizeof(double))
                and grow(<void**> &B.b, <size_t> (na + nb) * sizeof(double))
                and grow(<void**> &B.tried, <size_t> (na + nb) * sizeof(Py_ssize_t))):
            return -1
        B.cap = na + nb
    for k in range(na):
        B.a[k] = a[k]
    for k in range(nb):
        B.b[k] = b[k]
    if total > 0:
        lighter, n_light, heavier, n_heavy = B.b, nb, B.a, na
        missing = total
    else:
        lighter, n_light, heavier, n_heavy = B.a, na, B.b, nb
        missing = -total
    cdef bint gave_up = False
    missing = absorb(lighter, n_light, missing, shift, 1, B.tried, &gave_up)
    if not gave_up:
        missing = absorb(heavier, n_heavy, missing, shift, -1, B.tried, &gave_up)
    if missing != 0 or gave_up:
        return -1  # not balanced here: the single solve (emd._certify's fallback) decides
    out_a[0] = B.a
    out_b[0] = B.b
    return 0


cdef void free_balance(Balance* B) noexcept nogil:
    free(B.a)
    free(B.b)
    free(B.tried)


def balance_weights(a_array, b_array):
    """The compiled twin of ``emd._certify.balance_exactly`` (its fast path: float64
    C-contiguous, nonempty weights): the inputs themselves when their totals agree
    exactly, balanced copies when one entry can take the difference, None when it
    defers to the Python one."""
    cdef const double[::1] a = a_array
    cdef const double[::1] b = b_array
    cdef Balance B
    cdef const double* pa
    cdef const double* pb
    if a.shape[0] == 0 or b.shape[0] == 0:
        return None
    memset(&B, 0, sizeof(B))
    try:
        if balance_pair(&B, &a[0], a.shape[0], &b[0], b.shape[0], &pa, &pb) < 0:
            return None
        if pa == &a[0] and pb == &b[0]:
            return a_array, b_array
        return (np.array(<double[:a.shape[0]]> pa), np.array(<double[:b.shape[0]]> pb))
    finally:
        free_balance(&B)


def basic_flow(
    const Py_ssize_t[::1] tails not None,
    const Py_ssize_t[::1] heads not None,
    const double[::1] supply not None,
    supply_low=None,
):
    """The flow on a forest of arcs that meets the node supplies, by leaf peeling.

    On a forest the flow with given supplies is unique: a leaf passes its
    whole remaining supply along its one arc.  Remaining supplies are carried
    as double-double sums with an a-posteriori bound on their rounding (zero
    when every sum is exact, as with integer masses).  ``supply_low`` adds low
    parts to the supplies (e.g. the exact rounding error of ``a - b``).

    Returns ``(is_forest, high, low, error, residual, residual_error,
    peeled_into)``: ``high + low`` is each arc's flow to within ``error`` (per
    arc), ``residual`` (with its own error bound) is what each node keeps at
    the end -- nonzero only at the last node of a tree that does not balance --
    and ``peeled_into[v]`` the node that took over ``v``'s supply (-1 for the
    last node of each tree), so that following it finds each node's tree.
    """
    cdef Py_ssize_t n = supply.shape[0], k = tails.shape[0], e, v, w, slot, top = 0, peeled = 0
    if heads.shape[0] != k:
        raise ValueError("tails and heads must have the same length")
    for e in range(k):
        if not (0 <= tails[e] < n and 0 <= heads[e] < n):
            raise ValueError(f"arc {e} has a node outside [0, {n})")
    cdef Py_ssize_t[::1] degree = np.zeros(n + 1, dtype=np.intp)
    cdef Py_ssize_t[::1] start = np.zeros(n + 1, dtype=np.intp)
    cdef Py_ssize_t[::1] incident = np.empty(2 * k, dtype=np.intp)
    cdef Py_ssize_t[::1] stack = np.empty(n + 1, dtype=np.intp)
    cdef char[::1] used = np.zeros(k, dtype=np.int8)
    cdef double[::1] rest = np.array(supply, dtype=np.float64)
    cdef double[::1] rest_low = (
        np.zeros(n) if supply_low is None else np.array(supply_low, dtype=np.float64)
    )
    if rest_low.shape[0] != n:
        raise ValueError("supply_low must have one entry per node")
    cdef double[::1] rest_err = np.zeros(n)
    peeled_into = np.full(n, -1, dtype=np.intp)
    cdef Py_ssize_t[::1] peeled_into_v = peeled_into
    high = np.zeros(k)
    low = np.zeros(k)
    error = np.zeros(k)
    cdef double[::1] high_v = high, low_v = low, error_v = error
    cdef double s, t, add_err, sign
    cdef double gamma2 = 2.0000001 * 1.1102230246251565e-16
    with nogil:
        for e in range(k):
            degree[tails[e]] += 1
            degree[heads[e]] += 1
        for v in range(n):
            start[v + 1] = start[v] + degree[v]
        for v in range(n + 1):
            stack[v] = start[v]  # fill cursors
        for e in range(k):
            incident[stack[tails[e]]] = e
            stack[tails[e]] += 1
            incident[stack[heads[e]]] = e
            stack[heads[e]] += 1
        for v in range(n):
            if degree[v] == 1:
                stack[top] = v
                top += 1
        while top > 0:
            top -= 1
            v = stack[top]
            if degree[v] != 1:
                continue
            e = -1
            for slot in range(start[v], start[v + 1]):
                if not used[incident[slot]]:
                    e = incident[slot]
                    break
            used[e] = 1
            peeled += 1
            w = heads[e] if tails[e] == v else tails[e]
            peeled_into_v[v] = w
            sign = 1.0 if tails[e] == v else -1.0
            high_v[e] = sign * rest[v]
            low_v[e] = sign * rest_low[v]
            error_v[e] = rest_err[v]
            # rest[w] += rest[v], in double-double: TwoSum is exact, the low sum rounds twice.
            s = two_sum(rest[w], rest[v], &t)
            add_err = fabs(t) + fabs(rest_low[w]) + fabs(rest_low[v])
            t = t + (rest_low[w] + rest_low[v])
            rest[w] = fast_two_sum(s, t, &rest_low[w]) if fabs(s) >= fabs(t) else two_sum(s, t, &rest_low[w])
            rest_err[w] += rest_err[v] + gamma2 * add_err
            rest[v] = 0.0
            rest_low[v] = 0.0
            rest_err[v] = 0.0
            degree[v] -= 1
            degree[w] -= 1
            if degree[w] == 1:
                stack[top] = w
                top += 1
    return peeled == k, high, low, error, np.asarray(rest), np.asarray(rest_err), peeled_into


cdef inline void sum_term(double x, double* hi, double* lo, double* lo_abs) noexcept nogil:
    """Add an exact term: TwoSum into ``hi``, its error into the plain sum ``lo``."""
    cdef double t
    hi[0] = two_sum(hi[0], x, &t)
    lo[0] += t
    lo_abs[0] += fabs(t)


cdef bint certify_tree(
    Tree* T, const double* supply, const double* arc_length, double* rest, double* rest_err,
    double cost, double worst, double max_cost, double path_arcs, double rtol,
) noexcept nogil:
    """Whether the tree's cost is proven within ``rtol`` relative of the exact optimum of
    its transshipment: the arithmetic of ``emd._result._certify_arcs`` on the tree.

    ``worst`` is a rigorous lower bound on every arc's reduced cost, ``arc_length``
    the cost of each node's tree arc, ``max_cost`` a bound on every arc's cost and
    ``path_arcs`` on the arcs of a path (1 for transport, bins - 1 on a grid).
    Exact terms are summed in ``hi + lo``, rounded ones bounded by u of their size,
    ``lo``'s own rounding by ``1.01 N u`` of its terms' magnitudes:

    * ``cost - OPT <= cost - D + violation * path_arcs * mass`` (weak duality on an
      acyclic optimal flow, ``D = sum_v supply_v (pi_v + pi_low_v)`` negated);
    * ``OPT - cost <= cost(basic flow) - cost + repair``, the basic flow being the
      tree's exact subtree sums (double-double with an a-posteriori bound), the
      repair routing what it leaves unrouted or sends against an arc at
      ``path_arcs * max_cost`` per unit.

    False (inconclusive: the caller then builds the full certificate) unless both
    are at most ``rtol * |cost|``; a zero or tiny cost is always left to it.
    """
    cdef Py_ssize_t n_nodes = T.n_nodes, v, p, n_terms = 3 * n_nodes + 3
    cdef double u = unit_roundoff(), gamma2 = 2.0000001 * 1.1102230246251565e-16
    cdef double s, prod, e, q, hi, lo, lo_abs, extra, g, above, below, longest
    cdef double mass = 0.0, t, add_err, sign, value_hi, value_lo, c, error = 0.0
    cdef double unrouted = 0.0, negative = 0.0, negative_cost = 0.0, flow_low, repair
    cdef double* rest_low = T.scratch_low
    if not (fabs(cost) > 1e-250 and fabs(cost) < INFINITY):
        return False
    # Upper side: cost - D.
    hi = cost
    lo = 0.0
    lo_abs = 0.0
    extra = 0.0
    for v in range(n_nodes):
        s = supply[v]
        if s > 0.0:
            mass += s
        prod = s * T.pi[v]
        e = fma(s, T.pi[v], -prod)
        q = s * T.pi_low[v]
        sum_term(prod, &hi, &lo, &lo_abs)
        lo += e + q
        lo_abs += fabs(e) + fabs(q)
        extra += fabs(q)
    g = hi + lo
    above = g + (1.01 * n_terms * u * lo_abs + u * extra + n_terms * 1e-300
                 + 8.0 * u * (fabs(g) + fabs(cost) + lo_abs))
    mass *= 1.0 + (n_nodes + 4) * u
    if worst < 0.0:
        above += -worst * mass * path_arcs * (1.0 + 8.0 * u)
    if not above <= rtol * fabs(cost):
        return False
    # Lower side: the exact flow of the tree, by subtree sums in double-double.
    for v in range(n_nodes):
        rest[v] = supply[v]
        rest_low[v] = 0.0
        rest_err[v] = 0.0
    v = T.rev_thread[T.root]
    while v != T.root:
        p = T.parent[v]
        if p != T.root:
            s = two_sum(rest[p], rest[v], &t)
            add_err = fabs(t) + fabs(rest_low[p]) + fabs(rest_low[v])
            t = t + (rest_low[p] + rest_low[v])
            rest[p] = fast_two_sum(s, t, &rest_low[p]) if fabs(s) >= fabs(t) else two_sum(
                s, t, &rest_low[p])
            rest_err[p] += rest_err[v] + gamma2 * add_err
        v = T.rev_thread[v]
    hi = -cost
    lo = 0.0
    lo_abs = 0.0
    extra = 0.0
    for v in range(n_nodes):
        if T.parent[v] == T.root:
            # What the real arcs leave in this tree: unrouted mass.
            unrouted += fabs(rest[v]) + fabs(rest_low[v]) + rest_err[v]
            continue
        sign = 1.0 if T.toward_parent[v] else -1.0
        value_hi = sign * rest[v]
        value_lo = sign * rest_low[v]
        c = arc_length[v]
        error += rest_err[v]
        if value_hi + value_lo - rest_err[v] < 0.0 or value_hi < 0.0:
            # Possibly against the arc: counted as in _certify_arcs.
            flow_low = fabs(value_hi) + fabs(value_lo) + rest_err[v]
            negative += flow_low
            negative_cost += flow_low * fabs(c)
        prod = value_hi * c
        e = fma(value_hi, c, -prod)
        q = value_lo * c
        sum_term(prod, &hi, &lo, &lo_abs)
        lo += e + q
        lo_abs += fabs(e) + fabs(q)
        extra += fabs(q)
    g = hi + lo
    longest = path_arcs * max_cost  # its rounding is inside the factor below
    repair = (error * max_cost + 2.0 * negative_cost
              + (unrouted + 2.0 * negative) * longest) * (1.0 + 16.0 * u)
    below = g + (1.01 * n_terms * u * lo_abs + u * extra + n_terms * 1e-300
                 + 8.0 * u * (fabs(g) + fabs(cost) + lo_abs)) + repair
    return below <= rtol * fabs(cost)
