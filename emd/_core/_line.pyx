# cython: language_level=3
"""Prefix sums in double-double: the CDF differences of transport on the line.

``F_u - F_v`` on each gap of the merged support is a running sum of signed
weights; in plain float64 a weight far below the running total vanishes
(``1 + 1e-16 - 1 == 0``), and with it its share of the distance.  Carried as
unevaluated double-double sums (TwoSum), the running total keeps it.
"""

import numpy as np

from libc.math cimport fabs

from emd._core._exact cimport fast_two_sum, two_sum


def prefix_sums(
    const double[::1] values not None, double start_high=0.0, double start_low=0.0,
    double start_error=0.0,
):
    """Running sums of ``values`` as double-double pairs, with error bounds.

    Returns ``(high, low, error)``: ``high[k] + low[k]`` is within ``error[k]``
    of the exact ``start + sum(values[:k + 1])`` (``start`` given as a pair with
    its own error, to chain blocks), and ``high`` is its rounding.  The bound is
    a-posteriori (zero while every step is exact).
    """
    cdef Py_ssize_t n = values.shape[0], k
    high = np.empty(n)
    low = np.empty(n)
    error = np.empty(n)
    cdef double[::1] hi_v = high, lo_v = low, err_v = error
    cdef double hi = start_high, lo = start_low, err = start_error, s, t
    cdef double gamma2 = 2.0000001 * 1.1102230246251565e-16
    with nogil:
        for k in range(n):
            s = two_sum(hi, values[k], &t)
            err += gamma2 * (fabs(t) + fabs(lo))
            t = t + lo
            hi = fast_two_sum(s, t, &lo) if fabs(s) >= fabs(t) else two_sum(s, t, &lo)
            hi_v[k] = hi
            lo_v[k] = lo
            err_v[k] = err
    return high, low, error
