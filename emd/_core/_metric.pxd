# cython: language_level=3
"""Ground metrics and per-line selection, shared by the cost oracles and the pair solver.

Both modules evaluate a distance through these inline functions, so a cost
computed while scanning and a cost computed inside the compiled pair solve
are the same float64.
"""

from libc.math cimport INFINITY, fabs, pow, sqrt

from emd._core._exact cimport exact_reduced_cost, filter_band

cdef enum:
    EUCLIDEAN = 0
    SQEUCLIDEAN = 1
    CITYBLOCK = 2
    CHEBYSHEV = 3
    MINKOWSKI = 4


cdef inline double power_distance(
    const double* x, const double* y, Py_ssize_t d, int metric, double p,
) noexcept nogil:
    """The distance raised to the power that avoids a root: |x-y|_2^2 for euclidean,
    sum |x-y|^p for minkowski, the distance itself otherwise."""
    cdef Py_ssize_t k
    cdef double acc = 0.0, diff
    if metric == EUCLIDEAN or metric == SQEUCLIDEAN:
        for k in range(d):
            diff = x[k] - y[k]
            acc += diff * diff
    elif metric == CITYBLOCK:
        for k in range(d):
            acc += fabs(x[k] - y[k])
    elif metric == CHEBYSHEV:
        for k in range(d):
            diff = fabs(x[k] - y[k])
            if diff > acc:
                acc = diff
    else:
        for k in range(d):
            acc += pow(fabs(x[k] - y[k]), p)
    return acc


cdef inline double from_power(double value, int metric, double p) noexcept nogil:
    if metric == EUCLIDEAN:
        return sqrt(value)
    if metric == MINKOWSKI:
        return pow(value, 1.0 / p)
    return value


cdef inline double to_power(double value, int metric, double p) noexcept nogil:
    if metric == EUCLIDEAN:
        return value * value
    if metric == MINKOWSKI:
        return pow(value, p)
    return value


cdef inline double tiny_power() noexcept nogil:
    """Powers below this (2**-960) may have lost relative precision to underflow."""
    return 1.0261342003245941e-289


cdef inline bint power_in_range(double value, int metric) noexcept nogil:
    """Whether the root-free power of a euclidean or Minkowski distance is exact to
    rounding: ``|x_k - y_k|^p`` underflows for tiny and overflows for huge differences
    (with p = 2000, already at 0.3 and 1.5), and the root would turn that into 0 or inf."""
    return not (metric == EUCLIDEAN or metric == MINKOWSKI) or (
        tiny_power() <= value < INFINITY
    )


cdef inline double scaled_distance(
    const double* x, const double* y, Py_ssize_t d, int metric, double p,
) noexcept nogil:
    """A euclidean or Minkowski distance scaled by its largest coordinate difference, as
    hypot does: no power leaves [0, d], so nothing under- or overflows."""
    cdef Py_ssize_t k
    cdef double top = 0.0, acc = 0.0, ratio
    for k in range(d):
        ratio = fabs(x[k] - y[k])
        if ratio > top:
            top = ratio
    if top == 0.0 or top == INFINITY:
        return top
    for k in range(d):
        ratio = fabs(x[k] - y[k]) / top
        acc += ratio * ratio if metric == EUCLIDEAN else pow(ratio, p)
    return top * (sqrt(acc) if metric == EUCLIDEAN else pow(acc, 1.0 / p))


cdef inline double finish_distance(
    double value, const double* x, const double* y, Py_ssize_t d, int metric, double p,
) noexcept nogil:
    """The distance from its root-free power ``value``, recomputed scaled if out of range."""
    if power_in_range(value, metric):
        return from_power(value, metric, p)
    return scaled_distance(x, y, d, metric, p)


cdef inline double distance(
    const double* x, const double* y, Py_ssize_t d, int metric, double p,
) noexcept nogil:
    return finish_distance(power_distance(x, y, d, metric, p), x, y, d, metric, p)


cdef inline void keep_smallest(
    double* values, Py_ssize_t* index, Py_ssize_t k, double value, Py_ssize_t idx,
) noexcept nogil:
    """Insert into a sorted buffer of the k smallest values seen (caller checked value < values[k-1])."""
    cdef Py_ssize_t pos = k - 1
    while pos > 0 and values[pos - 1] > value:
        values[pos] = values[pos - 1]
        index[pos] = index[pos - 1]
        pos -= 1
    values[pos] = value
    index[pos] = idx


cdef inline double reduced_cost_bounds(
    double cost, double pi_row, double low_row, double pi_col, double low_col, double* upper,
) noexcept nogil:
    """Rigorous bounds on the exact reduced cost ``cost + (pi_row + low_row) - (pi_col +
    low_col)``: returns a lower bound and stores an upper bound in ``upper``.

    Plain float64 decides the sign outside a band of 4u of the magnitudes;
    inside it the error-free evaluation of :mod:`emd._core._exact` does, with
    its own a-posteriori bound (zero when the evaluation is exact).
    """
    cdef double rc = cost + pi_row - pi_col, band, err, low
    band = filter_band(fabs(cost) + fabs(pi_row) + fabs(pi_col))
    if rc > band or rc < -band:
        upper[0] = rc + band
        return rc - band
    rc = exact_reduced_cost(cost, pi_row, low_row, pi_col, low_col, &err, &low)
    upper[0] = rc + err
    return rc - err


cdef inline bint point_pair_may_price_below(
    const double* x, const double* y, Py_ssize_t d, int metric, double p,
    double pi_row, double pi_col, double cut, double* value,
) noexcept nogil:
    """False only when the rigorous lower bound of :func:`reduced_cost_bounds` for the
    pair, ``d(x, y) + pi_row - pi_col`` on double-double potentials, is proven to be at
    least ``cut`` (``cut <= 0``); otherwise True with the distance in ``value``.

    Most pairs of a pricing pass are decided here without a root: that lower bound is
    at least ``exact - 9u (d + |pi_row| + |pi_col|)``, so it is at least ``cut`` once
    ``d >= T = (cut + pi_col - pi_row + 10u (|pi_row| + |pi_col|)) / (1 - 9u)``.  The
    threshold is overestimated below with room for its own rounding and compared
    with the distance's root-free power against ``to_power(T (1 + 4u)) (1 + 4u)``,
    which the rounded root (sqrt correctly rounded) of any larger power cannot
    take below ``T`` (Minkowski distances are compared whole).  A True decides nothing: the caller
    evaluates the pair exactly.  Because a False is a proof about the pair alone,
    what a pass keeps does not depend on which other pairs were looked at first.
    """
    cdef double u = 1.1102230246251565e-16, thr, limit, pw
    thr = cut + pi_col - pi_row
    thr = (thr + 16.0 * u * (fabs(pi_col) + fabs(pi_row) + fabs(cut))) * (1.0 + 16.0 * u)
    if thr <= 0.0:
        return False  # every distance is at least 0
    # Minkowski's root is pow(power, 1/p) with 1/p itself rounded: its error grows
    # like u |log power| / p, beyond the margin below, so compare the distance itself.
    if metric == MINKOWSKI or thr < from_power(tiny_power(), metric, p):
        value[0] = distance(x, y, d, metric, p)
        return value[0] < thr
    limit = to_power(thr * (1.0 + 4.0 * u), metric, p) * (1.0 + 4.0 * u)
    pw = power_distance(x, y, d, metric, p)
    if pw >= limit and pw < INFINITY:
        return False
    value[0] = finish_distance(pw, x, y, d, metric, p)
    return True
