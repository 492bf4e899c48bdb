# cython: language_level=3
"""Exact balancing and the compiled certificate (emd._core._certify): what other rooms
may use."""

from emd._core._tree cimport Tree


cdef struct Balance:
    double* a                   # exactly balanced copies of a pair's weights
    double* b
    Py_ssize_t* tried           # scratch: the entries a balancing step has tried
    Py_ssize_t cap


cdef bint totals_agree(
    const double* a, Py_ssize_t na, const double* b, Py_ssize_t nb,
) noexcept nogil
cdef int balance_pair(
    Balance* B, const double* a, Py_ssize_t na, const double* b, Py_ssize_t nb,
    const double** out_a, const double** out_b,
) noexcept nogil
cdef void free_balance(Balance* B) noexcept nogil
cdef bint certify_tree(
    Tree* T, const double* supply, const double* arc_length, double* rest, double* rest_err,
    double cost, double worst, double max_cost, double path_arcs, double rtol,
) noexcept nogil
