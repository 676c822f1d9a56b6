/* avx2_act.h - the AVX2 vector forms of the activations and their
 * derivatives, shared by the kernel files built with -mavx2 -mfma (avx2.c,
 * avx2bf16.c).  Include it only from such a file; internal to src/kernels.
 * The forms themselves are simd_act.h's, instantiated here for 8 floats a
 * vector.
 */
#ifndef NN_KERNELS_AVX2_ACT_H
#define NN_KERNELS_AVX2_ACT_H

#include <immintrin.h>

#include "math/activation.h"

/* simd_act.h's forms for 8 floats a vector.  exp_ps as in avx512.c, with
 * 2^n built in the exponent field instead of by vscalefps: x is clamped to
 * [-104, 89] and 2^n applied in two halves (n = n1 + n2, each within the
 * normal exponents), so the result still overflows to infinity and fades
 * through the denormals to zero where e^x does. */
static inline __m256 round_nearest_ps(__m256 x)
{
    return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

static inline __m256 scale_pow2_ps(__m256 p, __m256 n)
{
    __m256i ni = _mm256_cvtps_epi32(n);
    __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    __m256i bias = _mm256_set1_epi32(127);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

static inline __m256 keep_where_positive_ps(__m256 c, __m256 x)
{
    return _mm256_and_ps(x, _mm256_cmp_ps(c, _mm256_setzero_ps(), _CMP_GT_OQ));
}

#define SIMD_V __m256
#define SIMD_VL 8
#define SIMD_OP(op) _mm256_##op
#define SIMD_EXP_LO -104.0f
#define SIMD_EXP_HI 89.0f
#include "kernels/simd_act.h"

#endif
