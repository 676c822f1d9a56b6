/* bf16_pack.h - AVX-512 (F, BW, BF16) helpers that round fp32 to bf16 and
 * arrange the pairs the bf16 dot-product instructions read (the buffers
 * the packed operands go in: buffer.h); shared by the files built with
 * -mavx512bf16 (avx512bf16.c, amx.c).  Internal to src/kernels; include it
 * only from such a file.
 */
#ifndef NN_KERNELS_BF16_PACK_H
#define NN_KERNELS_BF16_PACK_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "kernels/buffer.h"

static inline __mmask16 first_n(int n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

/* The n (<= 16, may be <= 0) floats at base + i, zeros above; the address
 * is formed as an integer since it may lie past the end of the array
 * (masked lanes are never read). */
static inline __m512 load_n(const float *base, size_t i, int n)
{
    return _mm512_maskz_loadu_ps(first_n(n), (const float *)((uintptr_t)base + i * sizeof(float)));
}

/* 32 floats, lo = elements 0..15 and hi = 16..31, rounded to bf16 in
 * order: dword d holds elements 2d (low half) and 2d + 1. */
static inline __m512i bf16_in_order(__m512 lo, __m512 hi)
{
    return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

/* Two rows of 16 floats rounded to bf16 and interleaved: dword c holds
 * r0[c] (low half) and r1[c]. */
static inline __m512i bf16_interleaved(__m512 r0, __m512 r1)
{
    const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9,
                                         24, 8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1,
                                         16, 0);
    return _mm512_permutexvar_epi16(idx, (__m512i)_mm512_cvtne2ps_pbh(r1, r0));
}

/* The 16 pairs from pair p of a row s of K floats, rounded to bf16 in order
 * (dword d: elements 2(p + d) and 2(p + d) + 1), zeros past K. */
static inline __m512i bf16_row_pairs(const float *s, int K, int p)
{
    int left = K - 2 * p;
    return bf16_in_order(load_n(s, (size_t)(2 * p), left),
                         load_n(s, (size_t)(2 * p + 16), left - 16));
}

/* Two rows m0 and m1, the n (<= 16, may be <= 0) floats from c, rounded to
 * bf16 and interleaved: dword i holds (m0[c + i], m1[c + i]), zeros past n
 * and, where m1 is NULL (an odd row count's last pair), in the high
 * halves. */
static inline __m512i bf16_row_pair(const float *m0, const float *m1, size_t c, int n)
{
    __m512 lo = load_n(m0, c, n);
    __m512 hi = m1 ? load_n(m1, c, n) : _mm512_setzero_ps();
    return bf16_interleaved(lo, hi);
}

/* Transposes 16 rows of 16 dwords in place: r[i] lane j <- r[j] lane i. */
static inline void transpose16(__m512i r[16])
{
    __m512i a[16], b[16];
    for (int i = 0; i < 8; i++) {
        a[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        a[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    /* b[4g + e], 128-bit lane L: column 4L + e of rows 4g..4g+3 */
    for (int g = 0; g < 4; g++) {
        b[4 * g + 0] = _mm512_unpacklo_epi64(a[4 * g], a[4 * g + 2]);
        b[4 * g + 1] = _mm512_unpackhi_epi64(a[4 * g], a[4 * g + 2]);
        b[4 * g + 2] = _mm512_unpacklo_epi64(a[4 * g + 1], a[4 * g + 3]);
        b[4 * g + 3] = _mm512_unpackhi_epi64(a[4 * g + 1], a[4 * g + 3]);
    }
    for (int e = 0; e < 4; e++) {
        __m512i c0 = _mm512_shuffle_i32x4(b[e], b[4 + e], _MM_SHUFFLE(1, 0, 1, 0));
        __m512i c1 = _mm512_shuffle_i32x4(b[e], b[4 + e], _MM_SHUFFLE(3, 2, 3, 2));
        __m512i c2 = _mm512_shuffle_i32x4(b[8 + e], b[12 + e], _MM_SHUFFLE(1, 0, 1, 0));
        __m512i c3 = _mm512_shuffle_i32x4(b[8 + e], b[12 + e], _MM_SHUFFLE(3, 2, 3, 2));
        r[0 + e] = _mm512_shuffle_i32x4(c0, c2, _MM_SHUFFLE(2, 0, 2, 0));
        r[4 + e] = _mm512_shuffle_i32x4(c0, c2, _MM_SHUFFLE(3, 1, 3, 1));
        r[8 + e] = _mm512_shuffle_i32x4(c1, c3, _MM_SHUFFLE(2, 0, 2, 0));
        r[12 + e] = _mm512_shuffle_i32x4(c1, c3, _MM_SHUFFLE(3, 1, 3, 1));
    }
}

/* Pairs p..p+15 of rows r0..r0+15 of S (row stride ld, K floats a row; the
 * rows from `rows` on are zeros), rounded to bf16 and transposed: r[q] lane
 * i holds row r0 + i's pair p + q (bf16_row_pairs). */
static inline void bf16_pairs_transposed(__m512i r[16], const float *S, size_t ld, int r0,
                                         int rows, int K, int p)
{
    for (int i = 0; i < 16; i++) {
        if (r0 + i < rows)
            r[i] = bf16_row_pairs(S + (size_t)(r0 + i) * ld, K, p);
        else
            r[i] = _mm512_setzero_si512();
    }
    transpose16(r);
}

#endif
