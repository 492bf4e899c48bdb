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
