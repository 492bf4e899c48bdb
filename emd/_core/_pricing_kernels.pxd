# cython: language_level=3
"""The pricing kernels of ``_pricing_kernels.h``, for Cython.

The fast phase's entering test (the simplex's block search in emd._core._tree and
the grid's column generation apply it), the block search over a complete arc list, plane
euclidean distance rows, and the eight-pair skip test of a dense pricing pass;
scalar, SSE2 and AVX2 paths with the same bits.  A pxd of C declarations only: any
room may cimport it without depending on another room.
"""

cdef extern from "_pricing_kernels.h":
    bint cpu_has_avx2 "emd_cpu_has_avx2" () noexcept nogil
    int ctz "__builtin_ctz" (unsigned x) noexcept nogil
    int ctz64 "__builtin_ctzll" (unsigned long long x) noexcept nogil
    int popcount64 "emd_popcount64" (unsigned long long x) noexcept nogil
    bint fast_test "emd_fast_test" (
        double ct, double pt, double ph, double rc, double noise) noexcept nogil
    Py_ssize_t complete_search "emd_complete_search" (
        const double* c, const double* pi, const double* pc, Py_ssize_t width,
        Py_ssize_t n_arcs, Py_ssize_t block_size, Py_ssize_t* cursor, double* best_rc,
        double noise, bint avx2) noexcept nogil
    Py_ssize_t plane_row "emd_plane_row" (
        double x0, double x1, const double* y, Py_ssize_t len, double* out, double tiny,
        bint avx2) noexcept nogil
    double max_abs "emd_max_abs" (const double* c, Py_ssize_t len, double top) noexcept nogil
    bint dense8_may_enter "emd_dense8_may_enter" (
        const double* c, double pr, const double* pc) noexcept nogil
    unsigned dense8_mask "emd_dense8_mask" (
        const double* c, double pr, const double* pc, bint avx2) noexcept nogil
    enum: SQ_COLS "EMD_SQ_COLS"
    void squares_rows2 "emd_squares_rows2" (
        const double* x0, const double* x1, const double* yt, Py_ssize_t d, double* out0,
        double* out1, bint avx2) noexcept nogil
