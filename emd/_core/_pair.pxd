# cython: language_level=3
"""The compiled pair solve (emd._core._pair): the workspace its rooms share.

The pricing passes (emd._core._pricing) and the starts (emd._core._starts) read and
fill a pair's :c:type:`Workspace` through its fields; the batch loops of the pair
and grid workspaces check their pair lists with :func:`check_pairs`.
"""

from libc.stdint cimport int64_t, uint64_t

from emd._core._certify cimport Balance
from emd._core._tree cimport Tree

cdef enum:
    SOURCE_DENSE = 0
    SOURCE_POINTS = 1


cdef struct PairSource:
    int kind
    const double* matrix        # dense: row-major costs, ``stride`` per row
    Py_ssize_t stride
    const double* x             # points: coordinates of the rows' and columns' points
    const double* y
    Py_ssize_t d
    int metric
    double p


cdef struct Workspace:
    Tree T
    Py_ssize_t node_cap, arc_cap, key_cap, line_cap
    double* supply
    double* flows
    double* sum_err
    Py_ssize_t* row_map
    Py_ssize_t* col_map
    Py_ssize_t* tails
    Py_ssize_t* heads
    double* costs
    Py_ssize_t n_arcs
    bint all_cols               # every column has mass: col_map is the identity
    Py_ssize_t complete_width   # > 0: the arcs are every pair, row-major, this many per row
    Py_ssize_t listed_rows      # tails and heads hold every pair of listed_rows rows x
    Py_ssize_t listed_cols      # listed_cols columns, row-major (0: not known to)
    int64_t* keys
    int64_t* keys_tmp           # scratch of the same size for sorting
    Py_ssize_t* counts          # per-row counts for sorting (n + 1)
    double* line_val
    Py_ssize_t* line_arg
    double* col_cut
    Balance balance             # exactly balanced copies of a pair's weights
    int n_threads               # threads for a large pricing pass (0 or 1: one)
    Py_ssize_t block_div        # long arc lists price in blocks of sqrt(arcs) / this (0: 4)
    double* cost_buf            # a small point pair's costs, computed once
    Py_ssize_t cost_cap
    uint64_t* marks             # one byte per cell, for sort_unique on dense key sets
    Py_ssize_t mark_cap         # in 8-byte words


cdef inline check_pairs(const Py_ssize_t[:, ::1] pairs, Py_ssize_t n_left, Py_ssize_t n_right):
    """The batch loops index ``left[pairs[k, 0]]`` and ``right[pairs[k, 1]]`` unchecked:
    check once."""
    cdef Py_ssize_t k
    if pairs.shape[0] and pairs.shape[1] != 2:
        raise ValueError("pairs must have shape (k, 2)")
    for k in range(pairs.shape[0]):
        if not (0 <= pairs[k, 0] < n_left and 0 <= pairs[k, 1] < n_right):
            raise ValueError(f"pair {k} indexes outside left and right")
