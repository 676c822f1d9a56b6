/* bf16.c - bfloat16 conversion and the scalar reference bf16 kernels (see
 * bf16.h for the rounding they reproduce).  Plain C: runs on every machine,
 * and is the standard the avx512bf16 and amx kernels are tested against.
 */
#include "kernels/bf16.h"

#include <math.h>
#include <stddef.h>

#include "math/activation.h"
#include "util/bits.h"

nn_bf16 nn_bf16_from_float(float x)
{
    uint32_t u = nn_f32_bits(x);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep the top of the payload, quiet */
        return (nn_bf16)(u >> 16 | 0x40u);
    if ((u & 0x7f800000u) == 0) /* zero or denormal: a zero of its sign */
        return (nn_bf16)(u >> 16 & 0x8000u);
    /* Round to nearest even on the low 16 bits; a carry into the exponent
     * is right, up to infinity. */
    u += 0x7fffu + (u >> 16 & 1u);
    return (nn_bf16)(u >> 16);
}

float nn_bf16_to_float(nn_bf16 h)
{
    return nn_f32_from_bits((uint32_t)h << 16);
}

/* x as the bf16 operand the products use, as a float. */
static float rounded(float x)
{
    return nn_bf16_to_float(nn_bf16_from_float(x));
}

static float quiet(float x)
{
    return nn_f32_from_bits(nn_f32_bits(x) | 0x00400000u);
}

float nn_bf16_dot_step(float acc, float a, float b)
{
    if ((nn_f32_bits(acc) & 0x7f800000u) == 0) /* a denormal accumulator counts as zero */
        acc = nn_f32_from_bits(nn_f32_bits(acc) & 0x80000000u);
    /* The product of two bf16 values (8-bit significands) is exact in
     * double, and so is, wherever it matters, the sum: see below. */
    double p = (double)a * (double)b;
    double s = (double)acc + p;
    if (isnan(s)) {
        if (isnan(a))
            return quiet(a);
        if (isnan(b))
            return quiet(b);
        if (isnan(acc))
            return quiet(acc);
        return nn_f32_from_bits(0xffc00000u);
    }
    /* s is acc + p rounded to double; rounding it again to float gives the
     * correctly rounded sum: either s is exact, or the exponents of acc and
     * p lie so far apart that the sum is not near a float rounding boundary
     * (the smaller term is below the larger one's float ulp by more than 2^29
     * and only decides the direction, which the double keeps). */
    /* Tininess is decided after rounding, as x86 does: on the sum rounded
     * to 24 significant bits with an unbounded exponent (the scaling by
     * 2^64 is exact and moves it into float's normal range).  A sum that
     * rounds up to 2^-126 is kept; one below it becomes a zero of its
     * sign. */
    if (fabs(s) < 0x1p-125 && fabsf((float)(s * 0x1p64)) < 0x1p-62f)
        return (float)copysign(0.0, s);
    return (float)s;
}

/* sum over k < K of a[k sa] b[k sb], operands rounded to bf16, summed as
 * bf16.h describes. */
float nn_bf16_dot(const float *a, size_t sa, const float *b, size_t sb, int K)
{
    float acc = 0.0f;
    for (int k = 0; k < K; k += 2) {
        float a1 = 0.0f, b1 = 0.0f; /* an odd K's zero partner */
        if (k + 1 < K) {
            a1 = rounded(a[(size_t)(k + 1) * sa]);
            b1 = rounded(b[(size_t)(k + 1) * sb]);
        }
        acc = nn_bf16_dot_step(acc, a1, b1);
        acc = nn_bf16_dot_step(acc, rounded(a[(size_t)k * sa]), rounded(b[(size_t)k * sb]));
    }
    return acc;
}

static void bf16_ref_forward(float *Y, const float *X, const float *W, const float *b, int B,
                             int in, int out, nn_act act)
{
    for (int i = 0; i < B; i++)
        for (int j = 0; j < out; j++)
            Y[(size_t)i * out + j] = nn_act_forward(
                act, nn_bf16_dot(X + (size_t)i * in, 1, W + (size_t)j * in, 1, in) + b[j]);
}

static void bf16_ref_act_backward(float *dY, float *db, const float *Y, int B, int out,
                                  nn_act act)
{
    nn_kernels_ref.act_backward(dY, db, Y, B, out, act);
}

static void bf16_ref_backward_input(float *dX, const float *dZ, const float *W, int B, int in,
                                    int out)
{
    /* dX[i,k] = sum_j dZ[i,j] W[j,k] */
    for (int i = 0; i < B; i++)
        for (int k = 0; k < in; k++)
            dX[(size_t)i * in + k] = nn_bf16_dot(dZ + (size_t)i * out, 1, W + k, (size_t)in, out);
}

static void bf16_ref_backward_weights(float *dW, const float *dZ, const float *X, int B, int in,
                                      int out)
{
    /* dW[j,k] += sum_i dZ[i,j] X[i,k] */
    for (int j = 0; j < out; j++)
        for (int k = 0; k < in; k++)
            dW[(size_t)j * in + k] += nn_bf16_dot(dZ + j, (size_t)out, X + k, (size_t)in, B);
}

static void bf16_ref_sgd_weights(float *W, const float *dZ, const float *X, int B, int in,
                                 int out, float lr, float wd)
{
    for (int j = 0; j < out; j++)
        for (int k = 0; k < in; k++) {
            float g = nn_bf16_dot(dZ + j, (size_t)out, X + k, (size_t)in, B);
            float *w = W + (size_t)j * in + k;
            *w -= lr * (g + wd * *w);
        }
}

const nn_kernels nn_kernels_bf16_ref = {
    .name = "scalar",
    .dense_forward = bf16_ref_forward,
    .act_backward = bf16_ref_act_backward,
    .dense_backward_input = bf16_ref_backward_input,
    .dense_backward_weights = bf16_ref_backward_weights,
    .dense_sgd_weights = bf16_ref_sgd_weights,
};
