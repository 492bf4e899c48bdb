/* The pricing kernels of emd's compiled core, in C: the scalar tests and their SIMD
 * twins.
 *
 * Every wide path here performs the same IEEE operations, in the same order and
 * without contraction (the core is built with -ffp-contract=off), as the scalar loop
 * it stands for, so it picks the same arcs and computes the same bits; SIMD only
 * decides several candidates at a time.  AVX2 code is compiled for x86-64 with GCC or
 * Clang whatever the build flags and chosen at run time (the caller passes the flag
 * of emd._core._tree, which detects the processor once), so one build runs on any
 * x86-64; SSE2, part of x86-64, is used unconditionally where it is compiled in.
 *
 * Declared for Cython in _pricing_kernels.pxd.
 */
#ifndef EMD_PRICING_KERNELS_H
#define EMD_PRICING_KERNELS_H

#include <Python.h> /* Py_ssize_t */

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define EMD_AVX2_DISPATCH 1
#endif

/* The exact pass's filter band (emd._core._exact.filter_band: the same constant):
   an arc whose reduced cost exceeds it times the terms' magnitude cannot enter, so
   skipping such lanes is sound only while the two stay equal.  Every build reads it,
   the scalar filter of processors without SSE2 included. */
#define EMD_FILTER_BAND (4.0000001 * 1.1102230246251565e-16)

/* Whether the processor runs AVX2 (0 where this build has no AVX2 kernels). */
static inline int emd_cpu_has_avx2(void) {
#if defined(EMD_AVX2_DISPATCH)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? 1 : 0;
#else
    return 0;
#endif
}

/* The number of set bits of a word: the instruction where the build may use it, else
   the SWAR sum (the generic builtin is a library call). */
static inline int emd_popcount64(unsigned long long x) {
#if defined(__POPCNT__)
    return __builtin_popcountll(x);
#else
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    return (int)((x * 0x0101010101010101ULL) >> 56);
#endif
}

/* The fast phase's relative tolerance: an arc enters only if its reduced cost is below
   -EMD_PRICING_RTOL * (|cost| + |pi[tail]| + |pi[head]|), which ignores the rounding
   noise of incrementally updated potentials.  What it ignores, the exact phase of the
   simplex (emd._core._tree) finds. */
#define EMD_PRICING_RTOL 1e-13

/* The reduced cost an arc of magnitude mag (|cost| + |pi[tail]| + |pi[head]|) must be
   below to enter in the fast phase; every step is monotone in mag, so a lower bound on
   an arc's magnitude gives an upper bound on its threshold (the block search's cut).
   The vector kernels below compute it with the same operations. */
static inline double emd_fast_threshold(double mag, double noise) {
    return -EMD_PRICING_RTOL * mag - noise;
}

/* The fast phase's test of an arc of cost ct between potentials pt (tail) and ph
   (head) whose plain reduced cost is rc: below the relative tolerance of the
   magnitudes and the noise floor (the one rule every fast pricing loop applies). */
static inline int emd_fast_test(double ct, double pt, double ph, double rc, double noise) {
    double mag = (__builtin_fabs(ct) + __builtin_fabs(pt)) + __builtin_fabs(ph);
    return rc < emd_fast_threshold(mag, noise);
}

/* The fast phase's block search over len arcs whose tail potential is pt and whose
   costs and head potentials are c[q] and pc[q]: the arc with the most negative plain
   reduced cost (c[q] + pt) - pc[q] below best[0] that passes the fast test, the first
   such among equal ones; returns its q (best[0] updated) or -1.  Nearly every arc
   fails the first comparison, so several are compared at a time (eight with AVX2,
   four with SSE2), and the few that pass are tested one by one in place. */

/* The arcs q0 <= k < q1 one by one: the best below *bound enters *bound, *found. */
static inline void emd_scan_arcs(const double* c, double pt, const double* pc,
                                 Py_ssize_t q0, Py_ssize_t q1, double noise, double* bound,
                                 Py_ssize_t* found) {
    for (Py_ssize_t k = q0; k < q1; k++) {
        double rc = (c[k] + pt) - pc[k];
        if (rc < *bound && emd_fast_test(c[k], pt, pc[k], rc, noise)) {
            *bound = rc;
            *found = k;
        }
    }
}

#if defined(EMD_AVX2_DISPATCH)
/* The fast test of eight arcs from q whose plain reduced costs are r0, r1 (lanes 0-3,
   4-7): the first of the most negative that passes goes to *found and its reduced cost
   to *bound if it is below *bound, as a scan lane by lane would pick it (the same
   operations, so the same arc), without a branch a lane.  The group's minimum does
   not wait for *bound: only the last comparison does, so a row's groups overlap. */
__attribute__((target("avx2"), always_inline))
static inline void emd_pick8_avx2(const double* c, double pt, const double* pc, Py_ssize_t q,
                                  __m256d r0, __m256d r1, double noise, double* bound,
                                  Py_ssize_t* found) {
    const __m256d sign = _mm256_set1_pd(-0.0);
    const __m256d apt = _mm256_set1_pd(__builtin_fabs(pt));
    const __m256d scale = _mm256_set1_pd(-EMD_PRICING_RTOL);
    const __m256d vnoise = _mm256_set1_pd(noise);
    const __m256d inf = _mm256_set1_pd(__builtin_inf());
    __m256d m0 = _mm256_add_pd(_mm256_add_pd(_mm256_andnot_pd(sign, _mm256_loadu_pd(c + q)), apt),
                               _mm256_andnot_pd(sign, _mm256_loadu_pd(pc + q)));
    __m256d m1 = _mm256_add_pd(
        _mm256_add_pd(_mm256_andnot_pd(sign, _mm256_loadu_pd(c + q + 4)), apt),
        _mm256_andnot_pd(sign, _mm256_loadu_pd(pc + q + 4)));
    __m256d ok0 = _mm256_cmp_pd(r0, _mm256_sub_pd(_mm256_mul_pd(scale, m0), vnoise), _CMP_LT_OQ);
    __m256d ok1 = _mm256_cmp_pd(r1, _mm256_sub_pd(_mm256_mul_pd(scale, m1), vnoise), _CMP_LT_OQ);
    __m256d x0 = _mm256_blendv_pd(inf, r0, ok0), x1 = _mm256_blendv_pd(inf, r1, ok1);
    __m256d low = _mm256_min_pd(x0, x1);
    low = _mm256_min_pd(low, _mm256_permute2f128_pd(low, low, 1));
    low = _mm256_min_pd(low, _mm256_permute_pd(low, 5));
    double group_low = _mm256_cvtsd_f64(low);
    unsigned at = (unsigned)_mm256_movemask_pd(_mm256_cmp_pd(x0, low, _CMP_EQ_OQ))
                  | ((unsigned)_mm256_movemask_pd(_mm256_cmp_pd(x1, low, _CMP_EQ_OQ)) << 4);
    if (group_low < *bound) {
        *found = q + __builtin_ctz(at);
        *bound = group_low;
    }
}

/* Only the groups of eight with an arc below the cut go to the fast test
   (emd_pick8_avx2).  The cut is the bound at the group's start (an arc above it cannot
   pass a later, lower bound) or, when lower, emd_fast_threshold of the row's |pt|:
   every arc's magnitude is at least that, so its threshold is at most this one, and no
   arc above the cut can pass.  Tree arcs, whose reduced costs are rounding noise
   around zero, then stop sending their groups to the test.  A row of eight arcs or
   more ends with the group of its last eight instead of a scalar loop. */
__attribute__((target("avx2"), always_inline))
static inline Py_ssize_t emd_block_min_avx2(const double* c, double pt, const double* pc,
                                            Py_ssize_t len, double* best, double noise) {
    Py_ssize_t q = 0, found = -1;
    double bound = best[0];
    const double row_cut = emd_fast_threshold(__builtin_fabs(pt), noise);
    const __m256d vpt = _mm256_set1_pd(pt);
    __m256d vb = _mm256_set1_pd(bound < row_cut ? bound : row_cut), r0, r1;
    for (; q + 8 <= len; q += 8) {
        r0 = _mm256_sub_pd(_mm256_add_pd(_mm256_loadu_pd(c + q), vpt), _mm256_loadu_pd(pc + q));
        r1 = _mm256_sub_pd(_mm256_add_pd(_mm256_loadu_pd(c + q + 4), vpt),
                           _mm256_loadu_pd(pc + q + 4));
        if (!_mm256_movemask_pd(_mm256_or_pd(_mm256_cmp_pd(r0, vb, _CMP_LT_OQ),
                                             _mm256_cmp_pd(r1, vb, _CMP_LT_OQ))))
            continue;
        emd_pick8_avx2(c, pt, pc, q, r0, r1, noise, &bound, &found);
        vb = _mm256_set1_pd(bound < row_cut ? bound : row_cut);
    }
    if (q < len) {
        if (len >= 8) {
            /* The row's last eight: those already tested come again, and an arc
               equal to the bound cannot replace it (a strict comparison), so the find
               is the one the arcs in order give. */
            const Py_ssize_t at = len - 8;
            r0 = _mm256_sub_pd(_mm256_add_pd(_mm256_loadu_pd(c + at), vpt),
                               _mm256_loadu_pd(pc + at));
            r1 = _mm256_sub_pd(_mm256_add_pd(_mm256_loadu_pd(c + at + 4), vpt),
                               _mm256_loadu_pd(pc + at + 4));
            if (_mm256_movemask_pd(_mm256_or_pd(_mm256_cmp_pd(r0, vb, _CMP_LT_OQ),
                                                _mm256_cmp_pd(r1, vb, _CMP_LT_OQ))))
                emd_pick8_avx2(c, pt, pc, at, r0, r1, noise, &bound, &found);
        } else {
            emd_scan_arcs(c, pt, pc, q, len, noise, &bound, &found);
        }
    }
    best[0] = bound;
    return found;
}
#endif

static inline Py_ssize_t emd_block_min_sse2(const double* c, double pt, const double* pc,
                                            Py_ssize_t len, double* best, double noise) {
    Py_ssize_t q = 0, found = -1;
    double bound = best[0];
#if defined(__SSE2__)
    /* the cut of emd_block_min_avx2 */
    const double row_cut = emd_fast_threshold(__builtin_fabs(pt), noise);
    const __m128d vpt = _mm_set1_pd(pt);
    __m128d vb = _mm_set1_pd(bound < row_cut ? bound : row_cut);
    for (; q + 4 <= len; q += 4) {
        __m128d r0 = _mm_sub_pd(_mm_add_pd(_mm_loadu_pd(c + q), vpt), _mm_loadu_pd(pc + q));
        __m128d r1 = _mm_sub_pd(_mm_add_pd(_mm_loadu_pd(c + q + 2), vpt),
                                _mm_loadu_pd(pc + q + 2));
        if (!_mm_movemask_pd(_mm_or_pd(_mm_cmplt_pd(r0, vb), _mm_cmplt_pd(r1, vb))))
            continue;
        emd_scan_arcs(c, pt, pc, q, q + 4, noise, &bound, &found);
        vb = _mm_set1_pd(bound < row_cut ? bound : row_cut);
    }
#endif
    emd_scan_arcs(c, pt, pc, q, len, noise, &bound, &found);
    best[0] = bound;
    return found;
}

/* The fast phase's block search (emd._core._tree.find_entering_arc) over a complete
   bipartite arc list: arc row * width + col joins row `row` (potential pi[row]) to
   column `col` (potential pc[col]), costs c[arc], n_arcs = rows * width.  Blocks of
   block_size arcs from *cursor, wrapping around; the most negative arc passing the
   fast test in the first block that holds one (the first among equal ones); its
   reduced cost in *best_rc, the cursor left after that block; -1 when no arc passes.
   The same arcs, operations and order as the general search over the same list, so
   the same arc: only the row kernel runs a row's stretch of a block several arcs at
   a time, and one call scans every block instead of one call a row. */
#define EMD_COMPLETE_SEARCH(NAME, ROW_MIN, ATTRIBUTES)                                    \
    ATTRIBUTES static Py_ssize_t NAME(                                                  \
        const double* c, const double* pi, const double* pc, Py_ssize_t width,          \
        Py_ssize_t n_arcs, Py_ssize_t block_size, Py_ssize_t* cursor, double* best_rc,  \
        double noise) {                                                                 \
        Py_ssize_t e = *cursor, best = -1, remaining = block_size, scanned = 0;        \
        Py_ssize_t row = e / width, col = e - row * width, stop, k, end, q;             \
        double min_rc = 0.0;                                                            \
        while (scanned < n_arcs) {                                                      \
            /* One stretch without wrapping around or ending a block. */                \
            stop = n_arcs;                                                              \
            if (e + remaining < stop) stop = e + remaining;                             \
            if (e + (n_arcs - scanned) < stop) stop = e + (n_arcs - scanned);           \
            for (k = e; k < stop; k = end) {                                            \
                end = k + (width - col);                                                \
                if (end > stop) end = stop;                                             \
                q = ROW_MIN(c + k, pi[row], pc + col, end - k, &min_rc, noise);         \
                if (q >= 0) best = k + q;                                               \
                col += end - k;                                                         \
                if (col == width) {                                                     \
                    col = 0;                                                            \
                    row++;                                                              \
                }                                                                       \
            }                                                                           \
            scanned += stop - e;                                                        \
            remaining -= stop - e;                                                      \
            e = stop;                                                                   \
            if (stop == n_arcs) e = row = col = 0;                                      \
            if (remaining == 0) {                                                       \
                if (best >= 0) break;                                                   \
                remaining = block_size;                                                 \
            }                                                                           \
        }                                                                               \
        *cursor = e;                                                                    \
        *best_rc = min_rc;                                                              \
        return best;                                                                    \
    }

EMD_COMPLETE_SEARCH(emd_complete_search_sse2, emd_block_min_sse2, )
#if defined(EMD_AVX2_DISPATCH)
EMD_COMPLETE_SEARCH(emd_complete_search_avx2, emd_block_min_avx2,
                    __attribute__((target("avx2"))))
#endif

static inline Py_ssize_t emd_complete_search(
        const double* c, const double* pi, const double* pc, Py_ssize_t width,
        Py_ssize_t n_arcs, Py_ssize_t block_size, Py_ssize_t* cursor, double* best_rc,
        double noise, int avx2) {
#if defined(EMD_AVX2_DISPATCH)
    if (avx2)
        return emd_complete_search_avx2(c, pi, pc, width, n_arcs, block_size, cursor,
                                        best_rc, noise);
#else
    (void)avx2;
#endif
    return emd_complete_search_sse2(c, pi, pc, width, n_arcs, block_size, cursor, best_rc,
                                    noise);
}

/* The largest of top and |c[k]| for k < len, as the scalar loop
   `if (|c[k]| > top) top = |c[k]|` gives it (a NaN entry is passed over: maxpd returns
   its second operand, the running maximum, when the first is a NaN), two lanes at a
   time; a maximum is exact, so the order of the comparisons does not matter. */
static inline double emd_max_abs(const double* c, Py_ssize_t len, double top) {
    Py_ssize_t k = 0;
#if defined(__SSE2__)
    const __m128d sign = _mm_set1_pd(-0.0);
    __m128d m0 = _mm_set1_pd(top), m1 = m0;
    double lanes[2];
    for (; k + 4 <= len; k += 4) {
        m0 = _mm_max_pd(_mm_andnot_pd(sign, _mm_loadu_pd(c + k)), m0);
        m1 = _mm_max_pd(_mm_andnot_pd(sign, _mm_loadu_pd(c + k + 2)), m1);
    }
    _mm_storeu_pd(lanes, _mm_max_pd(m1, m0));
    top = lanes[0] > lanes[1] ? lanes[0] : lanes[1];
#endif
    for (; k < len; k++) {
        double v = __builtin_fabs(c[k]);
        if (v > top) top = v;
    }
    return top;
}

/* Plane euclidean distances from (x0, x1) to the points y[2c], y[2c + 1] for c < len,
   into out[c], as sqrt((0.0 + dx * dx) + dy * dy): the operations of the scalar loop
   of fill_costs (emd._core._pricing), two or four at a time (correctly rounded sqrt:
   the same bits).  Stops at the first c whose squared distance is outside [tiny, inf),
   which the caller finishes on its own; returns that c, or len. */
static inline Py_ssize_t emd_plane_scalar(double x0, double x1, const double* y,
                                          Py_ssize_t c, Py_ssize_t len, double* out,
                                          double tiny) {
    for (; c < len; c++) {
        double dx = x0 - y[2 * c], dy = x1 - y[2 * c + 1];
        double acc = (0.0 + dx * dx) + dy * dy;
        if (!(acc >= tiny && acc < __builtin_inf())) return c;
        out[c] = __builtin_sqrt(acc);
    }
    return len;
}

#if defined(EMD_AVX2_DISPATCH)
__attribute__((target("avx2")))
static Py_ssize_t emd_plane_row_avx2(double x0, double x1, const double* y, Py_ssize_t len,
                                     double* out, double tiny) {
    Py_ssize_t c = 0;
    const __m256d vx = _mm256_setr_pd(x0, x1, x0, x1), vt = _mm256_set1_pd(tiny);
    const __m256d vinf = _mm256_set1_pd(__builtin_inf()), zero = _mm256_setzero_pd();
    for (; c + 4 <= len; c += 4) {
        __m256d d01 = _mm256_sub_pd(vx, _mm256_loadu_pd(y + 2 * c));
        __m256d d23 = _mm256_sub_pd(vx, _mm256_loadu_pd(y + 2 * c + 4));
        d01 = _mm256_mul_pd(d01, d01);
        d23 = _mm256_mul_pd(d23, d23);
        /* dx*dx of the four points, then dy*dy, in point order */
        __m256d dxx = _mm256_unpacklo_pd(d01, d23), dyy = _mm256_unpackhi_pd(d01, d23);
        __m256d acc = _mm256_add_pd(_mm256_add_pd(zero, dxx), dyy);
        __m256d ok = _mm256_and_pd(_mm256_cmp_pd(acc, vt, _CMP_GE_OQ),
                                   _mm256_cmp_pd(acc, vinf, _CMP_LT_OQ));
        if (_mm256_movemask_pd(ok) != 15) break;
        /* unpack put the points in the order 0, 2, 1, 3 */
        __m256d root = _mm256_permute4x64_pd(_mm256_sqrt_pd(acc), 0xD8);
        _mm256_storeu_pd(out + c, root);
    }
    return emd_plane_scalar(x0, x1, y, c, len, out, tiny);
}
#endif

static inline Py_ssize_t emd_plane_row(double x0, double x1, const double* y, Py_ssize_t len,
                                       double* out, double tiny, int avx2) {
    Py_ssize_t c = 0;
#if defined(EMD_AVX2_DISPATCH)
    if (avx2) return emd_plane_row_avx2(x0, x1, y, len, out, tiny);
#else
    (void)avx2;
#endif
#if defined(__SSE2__)
    const __m128d vx = _mm_setr_pd(x0, x1), vt = _mm_set1_pd(tiny);
    const __m128d vinf = _mm_set1_pd(__builtin_inf()), zero = _mm_setzero_pd();
    for (; c + 2 <= len; c += 2) {
        __m128d d0 = _mm_sub_pd(vx, _mm_loadu_pd(y + 2 * c));
        __m128d d1 = _mm_sub_pd(vx, _mm_loadu_pd(y + 2 * c + 2));
        d0 = _mm_mul_pd(d0, d0);
        d1 = _mm_mul_pd(d1, d1);
        __m128d acc = _mm_add_pd(_mm_add_pd(zero, _mm_unpacklo_pd(d0, d1)),
                                 _mm_unpackhi_pd(d0, d1));
        __m128d ok = _mm_and_pd(_mm_cmpge_pd(acc, vt), _mm_cmplt_pd(acc, vinf));
        if (_mm_movemask_pd(ok) != 3) break;
        _mm_storeu_pd(out + c, _mm_sqrt_pd(acc));
    }
#endif
    return emd_plane_scalar(x0, x1, y, c, len, out, tiny);
}

/* Which of 8 consecutive pairs of a dense row have a plain reduced cost (c + pr) - pc
   at most 4.0000001u ((|c| + |pr|) + |pc|) (bit q for pair q): the scalar test of a
   full pricing pass, evaluated by the same IEEE operations four (AVX2) or two lanes
   at a time. */
#if defined(EMD_AVX2_DISPATCH)
__attribute__((target("avx2")))
static unsigned emd_dense8_mask_avx2(const double* c, double pr, const double* pc) {
    const __m256d vpr = _mm256_set1_pd(pr);
    const __m256d apr = _mm256_set1_pd(pr < 0 ? -pr : pr);
    const __m256d k = _mm256_set1_pd(EMD_FILTER_BAND);
    const __m256d sign = _mm256_set1_pd(-0.0);
    unsigned mask = 0;
    for (int q = 0; q < 8; q += 4) {
        __m256d vc = _mm256_loadu_pd(c + q), vpc = _mm256_loadu_pd(pc + q);
        __m256d rc = _mm256_sub_pd(_mm256_add_pd(vc, vpr), vpc);
        __m256d mag = _mm256_add_pd(_mm256_add_pd(_mm256_andnot_pd(sign, vc), apr),
                                    _mm256_andnot_pd(sign, vpc));
        mask |= (unsigned)_mm256_movemask_pd(
                    _mm256_cmp_pd(rc, _mm256_mul_pd(k, mag), _CMP_NGT_UQ)) << q;
    }
    return mask;
}
#endif

static inline unsigned emd_dense8_mask(const double* c, double pr, const double* pc,
                                       int avx2) {
    unsigned mask = 0;
#if defined(EMD_AVX2_DISPATCH)
    if (avx2) return emd_dense8_mask_avx2(c, pr, pc);
#else
    (void)avx2;
#endif
#if defined(__SSE2__)
    const __m128d vpr = _mm_set1_pd(pr);
    const __m128d apr = _mm_set1_pd(pr < 0 ? -pr : pr);
    const __m128d k = _mm_set1_pd(EMD_FILTER_BAND);
    const __m128d sign = _mm_set1_pd(-0.0);
    for (int q = 0; q < 8; q += 2) {
        __m128d vc = _mm_loadu_pd(c + q), vpc = _mm_loadu_pd(pc + q);
        __m128d rc = _mm_sub_pd(_mm_add_pd(vc, vpr), vpc);
        __m128d mag = _mm_add_pd(_mm_add_pd(_mm_andnot_pd(sign, vc), apr),
                                 _mm_andnot_pd(sign, vpc));
        mask |= (unsigned)_mm_movemask_pd(_mm_cmpngt_pd(rc, _mm_mul_pd(k, mag))) << q;
    }
#else
    for (int q = 0; q < 8; q++) {
        double rc = (c[q] + pr) - pc[q];
        double mag = ((c[q] < 0 ? -c[q] : c[q]) + (pr < 0 ? -pr : pr))
                     + (pc[q] < 0 ? -pc[q] : pc[q]);
        if (!(rc > EMD_FILTER_BAND * mag)) mask |= 1u << q;
    }
#endif
    return mask;
}

/* Whether any of the 8 pairs passes that test. */
static inline int emd_dense8_may_enter(const double* c, double pr, const double* pc) {
    return emd_dense8_mask(c, pr, pc, 0) != 0;
}

/* Sums of squares for a point pair's cost matrix (d >= 3, euclidean or sqeuclidean):
   for a row x of d coordinates and the EMD_SQ_COLS columns of a block stored
   coordinate-major (yt[k * EMD_SQ_COLS + q] is coordinate k of column q),
   out[q] = the sum over k = 0, 1, ..., d - 1 of e * e with e = x[k] - yt[k, q], added
   to 0.0 in that order: the operations of power_distance (emd._core._metric) in its
   order.  The columns are independent lanes that never mix, so every sum has the
   same bits on every path (scalar, SSE2 by the compiler, AVX2 below); the SIMD paths
   only compute several columns, and with AVX2 two rows, per instruction. */
#define EMD_SQ_COLS 16

static inline void emd_squares_row(const double* x, const double* yt, Py_ssize_t d,
                                   double* out) {
    double acc[EMD_SQ_COLS];
    for (int q = 0; q < EMD_SQ_COLS; q++) acc[q] = 0.0;
    for (Py_ssize_t k = 0; k < d; k++) {
        const double xk = x[k];
        const double* yk = yt + k * EMD_SQ_COLS;
        for (int q = 0; q < EMD_SQ_COLS; q++) {
            double e = xk - yk[q];
            acc[q] = acc[q] + e * e;
        }
    }
    for (int q = 0; q < EMD_SQ_COLS; q++) out[q] = acc[q];
}

#if defined(EMD_AVX2_DISPATCH)
/* Two rows against one block: each coordinate's four column loads serve both rows.
   Eight independent add chains hide the adder's latency; throughput is bound by the
   two adds (difference, sum) per pair and lane, as the scalar loop's. */
__attribute__((target("avx2")))
static void emd_squares_rows2_avx2(const double* x0, const double* x1, const double* yt,
                                   Py_ssize_t d, double* out0, double* out1) {
    __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
    __m256d a2 = _mm256_setzero_pd(), a3 = _mm256_setzero_pd();
    __m256d b0 = _mm256_setzero_pd(), b1 = _mm256_setzero_pd();
    __m256d b2 = _mm256_setzero_pd(), b3 = _mm256_setzero_pd();
    for (Py_ssize_t k = 0; k < d; k++) {
        const double* yk = yt + k * EMD_SQ_COLS;
        const __m256d u = _mm256_broadcast_sd(x0 + k), v = _mm256_broadcast_sd(x1 + k);
        const __m256d y0 = _mm256_loadu_pd(yk), y1 = _mm256_loadu_pd(yk + 4);
        const __m256d y2 = _mm256_loadu_pd(yk + 8), y3 = _mm256_loadu_pd(yk + 12);
        __m256d e;
        e = _mm256_sub_pd(u, y0); a0 = _mm256_add_pd(a0, _mm256_mul_pd(e, e));
        e = _mm256_sub_pd(u, y1); a1 = _mm256_add_pd(a1, _mm256_mul_pd(e, e));
        e = _mm256_sub_pd(u, y2); a2 = _mm256_add_pd(a2, _mm256_mul_pd(e, e));
        e = _mm256_sub_pd(u, y3); a3 = _mm256_add_pd(a3, _mm256_mul_pd(e, e));
        e = _mm256_sub_pd(v, y0); b0 = _mm256_add_pd(b0, _mm256_mul_pd(e, e));
        e = _mm256_sub_pd(v, y1); b1 = _mm256_add_pd(b1, _mm256_mul_pd(e, e));
        e = _mm256_sub_pd(v, y2); b2 = _mm256_add_pd(b2, _mm256_mul_pd(e, e));
        e = _mm256_sub_pd(v, y3); b3 = _mm256_add_pd(b3, _mm256_mul_pd(e, e));
    }
    _mm256_storeu_pd(out0, a0); _mm256_storeu_pd(out0 + 4, a1);
    _mm256_storeu_pd(out0 + 8, a2); _mm256_storeu_pd(out0 + 12, a3);
    _mm256_storeu_pd(out1, b0); _mm256_storeu_pd(out1 + 4, b1);
    _mm256_storeu_pd(out1 + 8, b2); _mm256_storeu_pd(out1 + 12, b3);
}
#endif

/* emd_squares_row for the rows x0 and x1 (x1 may be x0), into out0 and out1. */
static inline void emd_squares_rows2(const double* x0, const double* x1, const double* yt,
                                     Py_ssize_t d, double* out0, double* out1, int avx2) {
#if defined(EMD_AVX2_DISPATCH)
    if (avx2) {
        emd_squares_rows2_avx2(x0, x1, yt, d, out0, out1);
        return;
    }
#else
    (void)avx2;
#endif
    emd_squares_row(x0, yt, d, out0);
    if (x1 != x0) emd_squares_row(x1, yt, d, out1);
    else for (int q = 0; q < EMD_SQ_COLS; q++) out1[q] = out0[q];
}

#endif /* EMD_PRICING_KERNELS_H */
