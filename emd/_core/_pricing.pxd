# cython: language_level=3
"""The pricing passes of the pair solve (emd._core._pricing): what other rooms may use.

The pair solve's first candidates, its cost matrix and its full pricing passes; the
C kernels they share with the simplex are declared in ``_pricing_kernels.pxd``.
"""

from emd._core._pair cimport PairSource, Workspace

# Candidate arcs per row and per column before the first full pricing pass
# (measured on random point clouds, n = 500..4000, 8 is near the best: fewer
# leave more work to the full passes, more make the sparse phase slower), and
# violated arcs kept per row and per column by each full pricing pass.  The pair
# solve sizes its key and line buffers by them.
cdef enum:
    INITIAL_K = 8
    SCAN_K = 8          # the most a pass keeps per line (large passes)
    SCAN_K_SMALL = 4    # what a pass keeps per line below WIDE_SCAN_MIN_PAIRS


cdef void fill_costs(
    Workspace* W, PairSource* S, Py_ssize_t n, Py_ssize_t m, Py_ssize_t stride,
) noexcept nogil
cdef Py_ssize_t cheapest_keys(
    Workspace* W, PairSource* S, Py_ssize_t n, Py_ssize_t m, double* biggest, bint reduced,
    Py_ssize_t* tied_rows, Py_ssize_t small_cells,
) noexcept nogil
cdef Py_ssize_t scan_keys(
    Workspace* W, PairSource* S, Py_ssize_t n, Py_ssize_t m, double* worst_out,
) noexcept nogil
