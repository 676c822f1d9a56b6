/* test_bf16.c - the bf16 kernels (kernels/bf16.h): the conversion and the
 * accumulation step on hand-made edge cases (ties, denormals, the tininess
 * boundary, infinities, NaN); the scalar reference against a double-precision
 * product of the rounded operands within the bound of its accumulation
 * length; each vector table this machine can run against the reference.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/bf16.h"
#include "math/activation.h"
#include "pool/pool.h"
#include "tests.h"
#include "util/rng.h"

static uint32_t bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static float from_bits(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

static float rnd_bf16(float x)
{
    return nn_bf16_to_float(nn_bf16_from_float(x));
}

/* ---- conversion -------------------------------------------------------------- */

START_TEST(test_bf16_conversion_edges)
{
    static const struct {
        uint32_t in;
        uint16_t out;
    } cases[] = {
        {0x3f800000, 0x3f80}, /* 1 */
        {0x3f808000, 0x3f80}, /* tie, even below: down */
        {0x3f818000, 0x3f82}, /* tie, odd below: up */
        {0x3f808001, 0x3f81}, /* above the tie */
        {0x3f807fff, 0x3f80}, /* below the tie */
        {0xbf818000, 0xbf82}, /* negative tie: away from zero to even */
        {0x7f7fffff, 0x7f80}, /* FLT_MAX rounds to infinity */
        {0x7f7f7fff, 0x7f7f}, /* the largest bf16 below it stays */
        {0x7f800000, 0x7f80}, /* inf */
        {0xff800000, 0xff80}, /* -inf */
        {0x7fc00000, 0x7fc0}, /* quiet NaN */
        {0x7f800001, 0x7fc0}, /* signalling NaN, payload low: quieted */
        {0x7fa12345, 0x7fe1}, /* signalling NaN with payload: top kept, quieted */
        {0xffc12345, 0xffc1}, /* negative NaN */
        {0x00000001, 0x0000}, /* smallest denormal: flushed */
        {0x807fffff, 0x8000}, /* largest negative denormal: -0 */
        {0x00800000, 0x0080}, /* smallest normal */
        {0x007fffff, 0x0000}, /* denormal that would round to 2^-126: still 0 */
        {0x00ff8000, 0x0100}, /* tie into the next binade */
        {0x80000000, 0x8000}, /* -0 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nn_bf16 h = nn_bf16_from_float(from_bits(cases[i].in));
        ck_assert_msg(h == cases[i].out, "%08x -> %04x, want %04x", cases[i].in, h,
                      cases[i].out);
    }
    for (uint32_t h = 0; h < 0x10000; h++) /* every bf16 back to float and again */
        if ((h & 0x7f80) != 0 && !((h & 0x7fff) > 0x7f80 && !(h & 0x40)))
            ck_assert_uint_eq(nn_bf16_from_float(nn_bf16_to_float((nn_bf16)h)), h);
}
END_TEST

START_TEST(test_bf16_conversion_is_nearest_even)
{
    /* Against the definition on a sweep of bit patterns: the nearest of the
     * two neighbouring bf16 values, ties to the even one. */
    for (uint32_t u = 0x00800000u; u < 0x7f7f0000u; u += 0x00012345u) {
        for (uint32_t lo = 0; lo < 0x10000u; lo += 0x3fffu) {
            uint32_t v = (u & 0xffff0000u) | lo;
            float x = from_bits(v);
            float dn = from_bits(v & 0xffff0000u), up = from_bits((v & 0xffff0000u) + 0x10000u);
            double dd = (double)x - dn, du = (double)up - x;
            float want = dd < du ? dn : du < dd ? up : ((bits(dn) >> 16 & 1) ? up : dn);
            ck_assert_uint_eq(bits(rnd_bf16(x)), bits(want));
            ck_assert_uint_eq(bits(rnd_bf16(-x)), bits(-want));
        }
    }
}
END_TEST

/* ---- one accumulation step ------------------------------------------------------ */

START_TEST(test_bf16_dot_step_edges)
{
    static const struct {
        uint32_t acc, a, b, want;
    } cases[] = {
        {0x3f800000, 0x3f800000, 0x40000000, 0x40400000}, /* 1 + 1*2 = 3 */
        /* round to nearest even: 1 + 2^-24 is a tie, stays 1; 1 + 3*2^-24 goes up */
        {0x3f800000, 0x33800000, 0x3f800000, 0x3f800000},
        {0x3f800000, 0x33800000, 0x40400000, 0x3f800002},
        /* 2^-126 - 2^-150: rounded to 24 bits it is still below 2^-126: 0 */
        {0x00800000, 0x1a000000, 0x9a000000, 0x00000000},
        /* 2^-126 - 2^-160 rounds up to 2^-126: kept */
        {0x00800000, 0x17800000, 0x97800000, 0x00800000},
        /* a tiny negative result: -0 */
        {0x00800000, 0x20000000, 0xa0400000, 0x80000000},
        /* a denormal accumulator is zero going in */
        {0x00400000, 0x3f800000, 0x00000000, 0x00000000},
        /* products are exact: (1 + 2^-7)^2 = 1 + 2^-6 + 2^-14 */
        {0x00000000, 0x3f810000, 0x3f810000, 0x3f820200},
        /* overflow to infinity */
        {0x7f7fffff, 0x7f000000, 0x40000000, 0x7f800000},
        /* invalid: the default NaN */
        {0x3f800000, 0x7f800000, 0x00000000, 0xffc00000},
        {0xff800000, 0x7f800000, 0x3f800000, 0xffc00000},
        /* NaN priority: a, then b, then the accumulator, quieted */
        {0x7fc11111, 0x7f850000, 0x7fc90000, 0x7fc50000},
        {0x7fc11111, 0x3f800000, 0xffc70000, 0xffc70000},
        {0x7f811111, 0x3f800000, 0x3f800000, 0x7fc11111},
        /* signed zeros: -0 + (-0) = -0, -0 + 0 = +0 */
        {0x80000000, 0x80000000, 0x3f800000, 0x80000000},
        {0x80000000, 0x00000000, 0x3f800000, 0x00000000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        float got = nn_bf16_dot_step(from_bits(cases[i].acc), from_bits(cases[i].a),
                                     from_bits(cases[i].b));
        ck_assert_msg(bits(got) == cases[i].want, "case %zu: %08x + %08x * %08x = %08x, want %08x",
                      i, cases[i].acc, cases[i].a, cases[i].b, bits(got), cases[i].want);
    }
}
END_TEST

/* ---- the reference against double precision -------------------------------------- */

/* Values in [-1, 1], some scaled far down or up so small terms meet large
 * ones. */
static void fill(float *p, size_t n, nn_rng *r)
{
    for (size_t i = 0; i < n; i++) {
        double v = 2.0 * nn_rng_double(r) - 1.0;
        double s = nn_rng_double(r);
        p[i] = (float)(s < 0.05 ? v * 1e-3 : s > 0.97 ? v * 64.0 : v);
    }
}

/* The bound on one output of K terms: fp32 recursive summation of K + 1
 * terms (the padding of an odd K counts one more) errs by at most
 * gamma(K + 1) = (K + 1) u / (1 - (K + 1) u) times the sum of the
 * magnitudes, u = 2^-24, plus 2^-126 a step for the flushing. */
static double bound(double mag, int K)
{
    double n = K + 1.0, u = 0x1p-24;
    return n * u / (1.0 - n * u) * mag + n * 0x1p-126;
}

static void ref_vs_double(int B, int in, int out)
{
    nn_rng r;
    nn_rng_seed(&r, (uint64_t)(B * 7919 + in * 104729 + out), 11);
    float *X = malloc(sizeof(float) * (size_t)B * in), *W = malloc(sizeof(float) * (size_t)out * in);
    float *dZ = malloc(sizeof(float) * (size_t)B * out), *b = calloc((size_t)out, sizeof(float));
    float *Y = malloc(sizeof(float) * (size_t)B * out), *dX = malloc(sizeof(float) * (size_t)B * in);
    float *dW = calloc((size_t)out * in, sizeof(float));
    ck_assert(X && W && dZ && b && Y && dX && dW);
    fill(X, (size_t)B * in, &r);
    fill(W, (size_t)out * in, &r);
    fill(dZ, (size_t)B * out, &r);
    nn_kernels_bf16_ref.dense_forward(Y, X, W, b, B, in, out, NN_ACT_IDENTITY);
    nn_kernels_bf16_ref.dense_backward_input(dX, dZ, W, B, in, out);
    nn_kernels_bf16_ref.dense_backward_weights(dW, dZ, X, B, in, out);
    for (int i = 0; i < B; i++)
        for (int j = 0; j < out; j++) {
            double s = 0, m = 0;
            for (int k = 0; k < in; k++) {
                double p = (double)rnd_bf16(X[(size_t)i * in + k]) * rnd_bf16(W[(size_t)j * in + k]);
                s += p;
                m += fabs(p);
            }
            double got = Y[(size_t)i * out + j];
            if (!(fabs(got - s) <= bound(m, in)))
                ck_abort_msg("forward %d %d %d [%d,%d]: %.9g, want %.9g", B, in, out, i, j, got, s);
        }
    for (int i = 0; i < B; i++)
        for (int k = 0; k < in; k++) {
            double s = 0, m = 0;
            for (int j = 0; j < out; j++) {
                double p = (double)rnd_bf16(dZ[(size_t)i * out + j]) * rnd_bf16(W[(size_t)j * in + k]);
                s += p;
                m += fabs(p);
            }
            double got = dX[(size_t)i * in + k];
            if (!(fabs(got - s) <= bound(m, out)))
                ck_abort_msg("dX %d %d %d [%d,%d]: %.9g, want %.9g", B, in, out, i, k, got, s);
        }
    for (int j = 0; j < out; j++)
        for (int k = 0; k < in; k++) {
            double s = 0, m = 0;
            for (int i = 0; i < B; i++) {
                double p = (double)rnd_bf16(dZ[(size_t)i * out + j]) * rnd_bf16(X[(size_t)i * in + k]);
                s += p;
                m += fabs(p);
            }
            double got = dW[(size_t)j * in + k];
            if (!(fabs(got - s) <= bound(m, B)))
                ck_abort_msg("dW %d %d %d [%d,%d]: %.9g, want %.9g", B, in, out, j, k, got, s);
        }
    free(X), free(W), free(dZ), free(b), free(Y), free(dX), free(dW);
}

START_TEST(test_bf16_ref_within_bound_of_double)
{
    static const int sz[] = {1, 3, 7, 17, 255};
    for (int a = 0; a < 5; a++)
        for (int c = 0; c < 5; c++)
            ref_vs_double(sz[a], sz[c], sz[(a + c) % 5]);
    ref_vs_double(64, 784, 10);
}
END_TEST

START_TEST(test_bf16_ref_epilogues_match_fp32_rules)
{
    /* Forward = act(c + b), dW += c, SGD = W - lr (c + wd W), with c the
     * identity forward's product (all from the reference). */
    enum { B = 9, IN = 13, OUT = 5 };
    nn_rng r;
    nn_rng_seed(&r, 3, 4);
    float X[B * IN], W[OUT * IN], b[OUT], dZ[B * OUT], Y[B * OUT], Z[B * OUT], Zb[B * OUT];
    fill(X, B * IN, &r), fill(W, OUT * IN, &r), fill(b, OUT, &r), fill(dZ, B * OUT, &r);
    float zero[OUT] = {0};
    nn_kernels_bf16_ref.dense_forward(Z, X, W, zero, B, IN, OUT, NN_ACT_IDENTITY);
    nn_kernels_bf16_ref.dense_forward(Zb, X, W, b, B, IN, OUT, NN_ACT_IDENTITY);
    nn_kernels_bf16_ref.dense_forward(Y, X, W, b, B, IN, OUT, NN_ACT_SIGMOID);
    for (int i = 0; i < B; i++)
        for (int j = 0; j < OUT; j++) {
            ck_assert_uint_eq(bits(Zb[i * OUT + j]), bits(Z[i * OUT + j] + b[j]));
            ck_assert_uint_eq(bits(Y[i * OUT + j]),
                              bits(nn_act_forward(NN_ACT_SIGMOID, Z[i * OUT + j] + b[j])));
        }
    /* dW^T = X^T dZ: the dW product is the forward of (dZ^T, X^T) */
    float dW[OUT * IN], W2[OUT * IN], G[OUT * IN] = {0};
    for (int k = 0; k < OUT * IN; k++)
        dW[k] = 0.25f;
    memcpy(W2, W, sizeof W);
    nn_kernels_bf16_ref.dense_backward_weights(G, dZ, X, B, IN, OUT);
    nn_kernels_bf16_ref.dense_backward_weights(dW, dZ, X, B, IN, OUT);
    nn_kernels_bf16_ref.dense_sgd_weights(W2, dZ, X, B, IN, OUT, 0.1f, 0.01f);
    for (int k = 0; k < OUT * IN; k++) {
        ck_assert_uint_eq(bits(dW[k]), bits(0.25f + G[k]));
        float w = W[k];
        w -= 0.1f * (G[k] + 0.01f * w);
        ck_assert_uint_eq(bits(W2[k]), bits(w));
    }
}
END_TEST

Suite *bf16_suite(void)
{
    Suite *s = suite_create("bf16");
    TCase *tc = tcase_create("reference");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_bf16_conversion_edges);
    tcase_add_test(tc, test_bf16_conversion_is_nearest_even);
    tcase_add_test(tc, test_bf16_dot_step_edges);
    tcase_add_test(tc, test_bf16_ref_within_bound_of_double);
    tcase_add_test(tc, test_bf16_ref_epilogues_match_fp32_rules);
    suite_add_tcase(s, tc);
    return s;
}
