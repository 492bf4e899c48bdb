# cython: language_level=3
"""Error-free transformations and exact-sign reduced costs, shared by the kernels.

Potentials are carried as unevaluated double-double sums ``hi + lo``; these
helpers add them and evaluate reduced costs with a rigorous a-posteriori
error bound (Knuth's TwoSum, Dekker's FastTwoSum; Ogita, Rump & Oishi 2005
for the bound of a cascaded sum).
"""

from libc.math cimport fabs

# Unit roundoff u = 2**-53 (a .pxd holds no initialised variables, hence literals).
cdef inline double unit_roundoff() noexcept nogil:
    return 1.1102230246251565e-16


cdef inline double filter_band(double magnitude) noexcept nogil:
    """Half-width of the band around 0 where a plain float64 reduced cost may have the
    wrong sign: the exact value of ``cost + (pi_t + low_t) - (pi_h + low_h)`` is within
    4u (1 + u) of the magnitudes ``|cost| + |pi_t| + |pi_h|`` of the plain one (the low
    parts are at most u of the high parts, and two roundings add 2u)."""
    # The same constant as EMD_FILTER_BAND in _pricing_kernels.h (its lane filters).
    return (4.0000001 * 1.1102230246251565e-16) * magnitude


cdef inline double two_sum(double a, double b, double* err) noexcept nogil:
    """``a + b`` rounded, with the exact rounding error in ``err``."""
    cdef double s = a + b
    cdef double bb = s - a
    err[0] = (a - (s - bb)) + (b - bb)
    return s


cdef inline double fast_two_sum(double a, double b, double* err) noexcept nogil:
    """:func:`two_sum` for ``|a| >= |b|`` (or a == 0)."""
    cdef double s = a + b
    err[0] = b - (s - a)
    return s


cdef inline double dd_add(double hi, double lo, double x_hi, double x_lo, double* out_lo) noexcept nogil:
    """Double-double ``(hi + lo) + (x_hi + x_lo)``, normalised; relative error O(u**2)."""
    cdef double e, s = two_sum(hi, x_hi, &e)
    e += lo + x_lo
    return fast_two_sum(s, e, out_lo)


cdef inline double exact_reduced_cost(
    double cost, double pi_tail, double low_tail, double pi_head, double low_head,
    double* err, double* value_low,
) noexcept nogil:
    """``cost + (pi_tail + low_tail) - (pi_head + low_head)``, rounded, with a rigorous
    bound ``err`` on the rounding error and the next bits in ``value_low``.

    The two large terms are combined by TwoSum, so only the sum of four small
    error terms rounds: at most 3u of their magnitudes (gamma_3), plus u of the
    result for the final rounding.  When every error term is zero the result
    is exact and so is the bound, 0.
    """
    cdef double e1, e2, low
    cdef double s = two_sum(pi_tail, -pi_head, &e1)
    s = two_sum(s, cost, &e2)
    low = (e1 + e2) + (low_tail - low_head)
    s = fast_two_sum(s, low, value_low) if fabs(s) >= fabs(low) else two_sum(s, low, value_low)
    err[0] = (3.0000001 * unit_roundoff()) * (
        fabs(e1) + fabs(e2) + fabs(low_tail) + fabs(low_head)
    ) + (1.0000001 * unit_roundoff()) * fabs(s)
    return s
