# cython: language_level=3
"""Growable C buffers, shared by the rooms that keep memory from solve to solve."""

from libc.stdlib cimport realloc


cdef inline bint grow(void** ptr, size_t size) noexcept nogil:
    """Resize ``ptr[0]`` to ``size`` bytes; False, with the old block kept, when memory is
    short (so the caller can report it and free as usual)."""
    cdef void* new = realloc(ptr[0], size if size > 0 else 1)
    if new == NULL:
        return False
    ptr[0] = new
    return True


cdef inline bint grow_arc_list(
    Py_ssize_t** tails, Py_ssize_t** heads, double** costs, Py_ssize_t* cap, Py_ssize_t n,
) noexcept nogil:
    """Room for ``n`` arcs in the parallel arrays of an arc list of capacity ``cap[0]``,
    grown by half again as much so that appending arcs pass after pass costs amortised
    O(1) per arc; False when memory is short."""
    if n <= cap[0]:
        return True
    n = n + n // 2
    if not (grow(<void**> tails, <size_t> n * sizeof(Py_ssize_t))
            and grow(<void**> heads, <size_t> n * sizeof(Py_ssize_t))
            and grow(<void**> costs, <size_t> n * sizeof(double))):
        return False
    cap[0] = n
    return True
