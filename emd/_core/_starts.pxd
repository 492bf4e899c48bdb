# cython: language_level=3
"""Starting trees of the pair solve (emd._core._starts): what other rooms may use."""

from libc.stdint cimport int64_t

from emd._core._pair cimport Workspace


cdef Py_ssize_t staircase_keys(
    Workspace* W, const double* a, const double* b, Py_ssize_t n, Py_ssize_t m,
    int64_t* keys, bint reversed_cols=*,
) noexcept nogil
cdef bint start_from_plan(
    Workspace* W, const int64_t* plan, Py_ssize_t n_plan, Py_ssize_t n, Py_ssize_t m,
) noexcept nogil
cdef bint forest_order(
    Py_ssize_t n_nodes, const Py_ssize_t* parent, Py_ssize_t* start, Py_ssize_t* child,
    Py_ssize_t* stack, Py_ssize_t* preorder,
) noexcept nogil
