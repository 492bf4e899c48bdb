# cython: language_level=3
"""Transport on the line with double-double running sums of the CDF differences.

``F_u - F_v`` on each gap of the merged support is a running sum of signed
weights; in plain float64 a weight far below the running total vanishes
(``1 + 1e-16 - 1 == 0``), and with it its share of the distance.  Carried as
unevaluated double-double sums (TwoSum), the running total keeps it.
"""

import numpy as np

from libc.math cimport fabs, fma

from emd._core._exact cimport fast_two_sum, two_sum


cdef double line_cost_sorted(const double* values, const double* signed, Py_ssize_t n) noexcept nogil:
    """:func:`line_cost` on raw arrays (also cimported by the grid batch)."""
    cdef Py_ssize_t k
    cdef double hi = 0.0, lo = 0.0, total = 0.0, total_low = 0.0, s, t, gap, p, e, mag, mag_low
    for k in range(n - 1):
        s = two_sum(hi, signed[k], &t)
        t = t + lo
        hi = fast_two_sum(s, t, &lo) if fabs(s) >= fabs(t) else two_sum(s, t, &lo)
        gap = values[k + 1] - values[k]
        if gap == 0.0 or (hi == 0.0 and lo == 0.0):
            continue
        mag = fabs(hi)
        mag_low = lo if hi >= 0.0 else -lo
        p = mag * gap
        e = fma(mag, gap, -p) + mag_low * gap
        s = two_sum(total, p, &t)
        t = t + (total_low + e)
        total = fast_two_sum(s, t, &total_low) if fabs(s) >= fabs(t) else two_sum(s, t, &total_low)
    return total + total_low


def line_cost(const double[::1] values not None, const double[::1] signed not None):
    """``integral |F_u - F_v|`` over the merged support, sorted: ``values`` ascending,
    ``signed`` each point's weight (positive for ``u``, negative for ``v``).

    The running sum ``F_u - F_v`` is a double-double, and each gap's share
    ``|F_u - F_v| * gap`` is an exact product (fma) added to a double-double
    total, rounded once at the end.
    """
    cdef Py_ssize_t n = values.shape[0]
    cdef double cost
    if signed.shape[0] != n:
        raise ValueError("values and signed must have the same length")
    if n == 0:
        return 0.0
    with nogil:
        cost = line_cost_sorted(&values[0], &signed[0], n)
    return cost
