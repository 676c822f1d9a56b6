/* simd_act.h - the vector forms of the activations and their derivatives,
 * written once for every vector width: avx2.c includes it for 8 floats a
 * vector (built with -mavx2 -mfma) and avx512_act.h for 16 (-mavx512f).
 * Internal to src/kernels; not an ordinary header.  The includer, in a file
 * built with the instruction set of its width, first includes
 * <immintrin.h> and "math/activation.h" and defines
 *   SIMD_V             the vector type (__m256, __m512)
 *   SIMD_VL            its lanes (8, 16)
 *   SIMD_OP(op)        the intrinsic op of that width (_mm256_##op, _mm512_##op)
 *   SIMD_EXP_LO, SIMD_EXP_HI  the clamp of exp_ps's argument
 * and three static inline functions, the parts where the instruction sets
 * differ:
 *   SIMD_V round_nearest_ps(SIMD_V x)     x to the nearest integer, ties to even
 *   SIMD_V scale_pow2_ps(SIMD_V p, SIMD_V n)   p 2^n, n integral (from round_nearest_ps
 *                                         of a clamped argument)
 *   SIMD_V keep_where_positive_ps(SIMD_V c, SIMD_V x)   x in the lanes where c > 0
 *                                         (ordered: NaN is not), +0 in the others
 * It defines exp_ps, sigmoid_ps, act_forward_ps and act_derivative_ps
 * (static inline) and undefines the SIMD_ macros.  Include it once a file.
 */
#ifndef NN_KERNELS_SIMD_ACT_H
#define NN_KERNELS_SIMD_ACT_H

/* Identity, sigmoid and relu have vector forms (the ones nn/model.c lets the
 * kernels fuse); any other activation falls back to the scalar one per lane. */

/* e^x.  x is first clamped to [SIMD_EXP_LO, SIMD_EXP_HI] (NaN stays NaN);
 * then x = n ln2 + r with n = round(x / ln2), |r| <= ln2/2 (ln2 split in a
 * part exact in 9 bits and a correction, the Cody-Waite reduction), e^r by
 * its Taylor polynomial of degree 7 (truncation error below 7e-9 relative,
 * a twentieth of an ulp), and e^x = e^r 2^n by scale_pow2_ps.  Rounding in
 * the reduction and the Horner steps leaves about 1 ulp. */
static inline SIMD_V exp_ps(SIMD_V x)
{
    x = SIMD_OP(min_ps)(SIMD_OP(set1_ps)(SIMD_EXP_HI),
                        SIMD_OP(max_ps)(SIMD_OP(set1_ps)(SIMD_EXP_LO), x));
    SIMD_V n = round_nearest_ps(SIMD_OP(mul_ps)(x, SIMD_OP(set1_ps)(1.44269504f)));
    SIMD_V r = SIMD_OP(fnmadd_ps)(n, SIMD_OP(set1_ps)(0.693359375f), x);
    r = SIMD_OP(fnmadd_ps)(n, SIMD_OP(set1_ps)(-2.12194440e-4f), r);
    SIMD_V p = SIMD_OP(set1_ps)(1.0f / 5040);
    p = SIMD_OP(fmadd_ps)(p, r, SIMD_OP(set1_ps)(1.0f / 720));
    p = SIMD_OP(fmadd_ps)(p, r, SIMD_OP(set1_ps)(1.0f / 120));
    p = SIMD_OP(fmadd_ps)(p, r, SIMD_OP(set1_ps)(1.0f / 24));
    p = SIMD_OP(fmadd_ps)(p, r, SIMD_OP(set1_ps)(1.0f / 6));
    p = SIMD_OP(fmadd_ps)(p, r, SIMD_OP(set1_ps)(0.5f));
    p = SIMD_OP(fmadd_ps)(p, r, SIMD_OP(set1_ps)(1.0f));
    p = SIMD_OP(fmadd_ps)(p, r, SIMD_OP(set1_ps)(1.0f));
    return scale_pow2_ps(p, n);
}

/* 1 / (1 + e^-z).  Maximum relative error, measured against double
 * precision on 2,000,001 points of [-90, 90]: 1.46e-7 (2.45 x 2^-24; the
 * scalar 1 / (1 + expf(-z)) measures 1.42e-7), at both widths.
 * tests/test_kernels.c checks the bound 2^-22 and NaN and +-infinity. */
static inline SIMD_V sigmoid_ps(SIMD_V z)
{
    SIMD_V one = SIMD_OP(set1_ps)(1.0f);
    return SIMD_OP(div_ps)(one,
                           SIMD_OP(add_ps)(one, exp_ps(SIMD_OP(sub_ps)(SIMD_OP(setzero_ps)(), z))));
}

static inline SIMD_V act_forward_ps(SIMD_V z, nn_act act)
{
    switch (act) {
    case NN_ACT_IDENTITY:
        return z;
    case NN_ACT_SIGMOID:
        return sigmoid_ps(z);
    case NN_ACT_RELU: /* z > 0 ? z : +0, as nn_act_apply (NaN gives 0) */
        return keep_where_positive_ps(z, z);
    default: { /* an activation without a vector form: the generic one per lane */
        float t[SIMD_VL];
        SIMD_OP(storeu_ps)(t, z);
        for (int i = 0; i < SIMD_VL; i++)
            t[i] = nn_act_forward(act, t[i]);
        return SIMD_OP(loadu_ps)(t);
    }
    }
}

/* act'(a) from the output a; the same operations as nn_act_derivative, so
 * the results are bit-identical to the reference. */
static inline SIMD_V act_derivative_ps(SIMD_V a, nn_act act)
{
    switch (act) {
    case NN_ACT_IDENTITY:
        return SIMD_OP(set1_ps)(1.0f);
    case NN_ACT_SIGMOID:
        return SIMD_OP(mul_ps)(a, SIMD_OP(sub_ps)(SIMD_OP(set1_ps)(1.0f), a));
    case NN_ACT_RELU: /* a > 0 ? 1 : 0 */
        return keep_where_positive_ps(a, SIMD_OP(set1_ps)(1.0f));
    default: {
        float t[SIMD_VL];
        SIMD_OP(storeu_ps)(t, a);
        for (int i = 0; i < SIMD_VL; i++)
            t[i] = nn_act_derivative(act, t[i]);
        return SIMD_OP(loadu_ps)(t);
    }
    }
}

#undef SIMD_V
#undef SIMD_VL
#undef SIMD_OP
#undef SIMD_EXP_LO
#undef SIMD_EXP_HI

#endif
