/* avx512_act.h - the AVX-512F vector forms of the activations and their
 * derivatives, shared by the kernel files built with -mavx512f (avx512.c,
 * and any other that fuses an activation into an AVX-512 epilogue).  Include
 * it only from such a file; internal to src/kernels.
 */
#ifndef NN_KERNELS_AVX512_ACT_H
#define NN_KERNELS_AVX512_ACT_H

#include <immintrin.h>

#include "math/activation.h"

/* ---- activations ---------------------------------------------------------- */

/* Identity, sigmoid and relu have vector forms (the ones nn/model.c lets the
 * kernels fuse); any other activation falls back to the scalar one per lane. */

/* e^x.  x is first clamped to [-100, 100] (NaN stays NaN); then x = n ln2 + r
 * with n = round(x / ln2), |r| <= ln2/2 (ln2 split in a part exact in 9 bits
 * and a correction, the Cody-Waite reduction), e^r by its Taylor polynomial
 * of degree 7 (truncation error below 7e-9 relative, a twentieth of an ulp),
 * and e^x = e^r 2^n by vscalefps, which also gives correct denormals, zero and
 * infinity at the ends of the range.  Rounding in the reduction and the
 * Horner steps leaves about 1 ulp. */
static inline __m512 exp_ps(__m512 x)
{
    x = _mm512_min_ps(_mm512_set1_ps(100.0f), _mm512_max_ps(_mm512_set1_ps(-100.0f), x));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/* 1 / (1 + e^-z).  Maximum relative error, measured against double
 * precision on 2,000,001 points of [-90, 90]: 1.46e-7 (2.45 x 2^-24; the
 * scalar 1 / (1 + expf(-z)) measures 1.42e-7).  tests/test_kernels.c checks
 * the bound 2^-22 and NaN and +-infinity. */
static inline __m512 sigmoid_ps(__m512 z)
{
    __m512 one = _mm512_set1_ps(1.0f);
    return _mm512_div_ps(one, _mm512_add_ps(one, exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), z))));
}

static inline __m512 act_forward_ps(__m512 z, nn_act act)
{
    switch (act) {
    case NN_ACT_IDENTITY:
        return z;
    case NN_ACT_SIGMOID:
        return sigmoid_ps(z);
    case NN_ACT_RELU: /* z > 0 ? z : +0, as nn_act_apply (NaN gives 0) */
        return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_GT_OQ), z);
    default: { /* an activation without a vector form: the generic one per lane */
        float t[16];
        _mm512_storeu_ps(t, z);
        for (int i = 0; i < 16; i++)
            t[i] = nn_act_forward(act, t[i]);
        return _mm512_loadu_ps(t);
    }
    }
}

/* act'(a) from the output a; the same operations as nn_act_derivative, so
 * the results are bit-identical to the reference. */
static inline __m512 act_derivative_ps(__m512 a, nn_act act)
{
    switch (act) {
    case NN_ACT_IDENTITY:
        return _mm512_set1_ps(1.0f);
    case NN_ACT_SIGMOID:
        return _mm512_mul_ps(a, _mm512_sub_ps(_mm512_set1_ps(1.0f), a));
    case NN_ACT_RELU: /* a > 0 ? 1 : 0 */
        return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a, _mm512_setzero_ps(), _CMP_GT_OQ),
                                   _mm512_set1_ps(1.0f));
    default: {
        float t[16];
        _mm512_storeu_ps(t, a);
        for (int i = 0; i < 16; i++)
            t[i] = nn_act_derivative(act, t[i]);
        return _mm512_loadu_ps(t);
    }
    }
}

#endif
