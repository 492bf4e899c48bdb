# cython: language_level=3
"""The line's closed form on raw arrays, shared with the grid batch."""

cdef double line_cost_sorted(const double* values, const double* signed, Py_ssize_t n) noexcept nogil
