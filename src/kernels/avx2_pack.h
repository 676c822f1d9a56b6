/* avx2_pack.h - AVX2 helpers for packing operands: lane masks and the 8 x 8
 * transpose; shared by the files built with -mavx2 -mfma (avx2.c,
 * avx2bf16.c).  Internal to src/kernels; include it only from such a file.
 */
#ifndef NN_KERNELS_AVX2_PACK_H
#define NN_KERNELS_AVX2_PACK_H

#include <immintrin.h>
#include <stdint.h>

/* mask_from[8 - n] as a vector: the first n lanes set (n = 0..8). */
static const int32_t mask_tab[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

static inline __m256i lane_mask(int n)
{
    return _mm256_loadu_si256((const __m256i *)(mask_tab + 8 - n));
}

/* The 8 x 8 transpose: r[i] lane j becomes r[j] lane i. */
static inline __attribute__((always_inline)) void transpose_8(__m256 r[8])
{
    __m256 t[8], u[8];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) { /* pairs of rows interleaved */
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    /* u[4g + j], 128-bit half h: rows 4g..4g+3 of column 4h + j */
#pragma GCC unroll 2
    for (int g = 0; g < 2; g++) {
        __m256 lo = t[4 * g], hi = t[4 * g + 1], lo2 = t[4 * g + 2], hi2 = t[4 * g + 3];
        u[4 * g + 0] = _mm256_shuffle_ps(lo, lo2, _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * g + 1] = _mm256_shuffle_ps(lo, lo2, _MM_SHUFFLE(3, 2, 3, 2));
        u[4 * g + 2] = _mm256_shuffle_ps(hi, hi2, _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * g + 3] = _mm256_shuffle_ps(hi, hi2, _MM_SHUFFLE(3, 2, 3, 2));
    }
    /* column j: the low halves of u[j] and u[4 + j]; column 4 + j: the high */
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
        r[j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x20);
        r[4 + j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x31);
    }
}

#endif
