/* 128-bit integers for the exact balancing of a pair's totals (emd._core._certify):
 * every float64 mass is an integer number of units 2**shift, and when the masses span
 * few binades those integers and their sums fit here.  GCC and Clang provide
 * __int128 on 64-bit targets.
 */
#ifndef EMD_INT128_H
#define EMD_INT128_H

typedef __int128 emd_int128;

/* The number of bits of v (0 for 0), as Python's int.bit_length. */
static inline int emd_bit_length(unsigned __int128 v) {
    unsigned long long hi = (unsigned long long)(v >> 64), lo = (unsigned long long)v;
    if (hi) return 128 - __builtin_clzll(hi);
    if (lo) return 64 - __builtin_clzll(lo);
    return 0;
}

#endif /* EMD_INT128_H */
