/* avx512_act.h - the AVX-512F vector forms of the activations and their
 * derivatives, shared by the kernel files built with -mavx512f (avx512.c,
 * and any other that fuses an activation into an AVX-512 epilogue).  Include
 * it only from such a file; internal to src/kernels.  The forms themselves
 * are simd_act.h's, instantiated here for 16 floats a vector.
 */
#ifndef NN_KERNELS_AVX512_ACT_H
#define NN_KERNELS_AVX512_ACT_H

#include <immintrin.h>

#include "math/activation.h"

static inline __m512 round_nearest_ps(__m512 x)
{
    return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

/* vscalefps, which also gives correct denormals, zero and infinity at the
 * ends of exp_ps's range. */
static inline __m512 scale_pow2_ps(__m512 p, __m512 n)
{
    return _mm512_scalef_ps(p, n);
}

static inline __m512 keep_where_positive_ps(__m512 c, __m512 x)
{
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(c, _mm512_setzero_ps(), _CMP_GT_OQ), x);
}

#define SIMD_V __m512
#define SIMD_VL 16
#define SIMD_OP(op) _mm512_##op
#define SIMD_EXP_LO -100.0f
#define SIMD_EXP_HI 100.0f
#include "kernels/simd_act.h"

#endif
