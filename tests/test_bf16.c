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
#include "util/bits.h"
#include "util/rng.h"

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
        nn_bf16 h = nn_bf16_from_float(nn_f32_from_bits(cases[i].in));
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
            float x = nn_f32_from_bits(v);
            float dn = nn_f32_from_bits(v & 0xffff0000u);
            float up = nn_f32_from_bits((v & 0xffff0000u) + 0x10000u);
            double dd = (double)x - dn, du = (double)up - x;
            float want = dd < du ? dn : du < dd ? up : ((nn_f32_bits(dn) >> 16 & 1) ? up : dn);
            ck_assert_uint_eq(nn_f32_bits(rnd_bf16(x)), nn_f32_bits(want));
            ck_assert_uint_eq(nn_f32_bits(rnd_bf16(-x)), nn_f32_bits(-want));
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
        float got = nn_bf16_dot_step(nn_f32_from_bits(cases[i].acc),
                                     nn_f32_from_bits(cases[i].a), nn_f32_from_bits(cases[i].b));
        ck_assert_msg(nn_f32_bits(got) == cases[i].want,
                      "case %zu: %08x + %08x * %08x = %08x, want %08x", i, cases[i].acc,
                      cases[i].a, cases[i].b, nn_f32_bits(got), cases[i].want);
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
    float *X = malloc(sizeof(float) * (size_t)B * in);
    float *W = malloc(sizeof(float) * (size_t)out * in);
    float *dZ = malloc(sizeof(float) * (size_t)B * out), *b = calloc((size_t)out, sizeof(float));
    float *Y = malloc(sizeof(float) * (size_t)B * out);
    float *dX = malloc(sizeof(float) * (size_t)B * in);
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
                double p = (double)rnd_bf16(X[(size_t)i * in + k]) *
                           rnd_bf16(W[(size_t)j * in + k]);
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
                double p = (double)rnd_bf16(dZ[(size_t)i * out + j]) *
                           rnd_bf16(W[(size_t)j * in + k]);
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
                double p = (double)rnd_bf16(dZ[(size_t)i * out + j]) *
                           rnd_bf16(X[(size_t)i * in + k]);
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
            ck_assert_uint_eq(nn_f32_bits(Zb[i * OUT + j]), nn_f32_bits(Z[i * OUT + j] + b[j]));
            ck_assert_uint_eq(nn_f32_bits(Y[i * OUT + j]),
                              nn_f32_bits(nn_act_forward(NN_ACT_SIGMOID, Z[i * OUT + j] + b[j])));
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
        ck_assert_uint_eq(nn_f32_bits(dW[k]), nn_f32_bits(0.25f + G[k]));
        float w = W[k];
        w -= 0.1f * (G[k] + 0.01f * w);
        ck_assert_uint_eq(nn_f32_bits(W2[k]), nn_f32_bits(w));
    }
}
END_TEST

/* ---- the vector tables against the reference ------------------------------------- */

/* The vector tables this machine can run: 0 avx512bf16, 1 amx, 2 avx2bf16
 * (where the fp32 avx2 table can run). */
#define NVEC 3

/* Table i is bit-identical to the reference (all but amx). */
#define EXACT(i) ((i) != 1)

static const nn_kernels *vec_table(int i)
{
#if defined(__x86_64__) || defined(__i386__)
    if (i == 0)
        return nn_cpu_has_avx512bf16() ? &nn_kernels_avx512bf16 : NULL;
#endif
#if defined(__x86_64__)
    if (i == 2) {
        const char *names[8];
        int n = nn_kernels_families(NN_PREC_FP32, names, 8);
        for (int f = 0; f < n; f++)
            if (strcmp(names[f], "avx2") == 0)
                return &nn_kernels_avx2bf16;
        return NULL;
    }
#endif
#if defined(__x86_64__) && defined(__linux__) /* where amx.c has its table */
    if (i == 1)
        return nn_cpu_has_amx_bf16() && nn_amx_request_permission() == 0 ? &nn_kernels_amx
                                                                         : NULL;
#endif
    (void)i;
    return NULL;
}

/* n floats, `skew` floats past a 64-byte boundary. */
typedef struct {
    float *base, *p;
} buf;

static buf buf_new(size_t n, int skew)
{
    buf b;
    b.base = aligned_alloc(64, ((n + (size_t)skew) * sizeof(float) + 63) / 64 * 64 + 64);
    ck_assert_ptr_nonnull(b.base);
    b.p = b.base + skew;
    return b;
}

/* Values that make the rounding work: mostly [-1, 1]; some ties (a bf16
 * value plus half its last place), denormals, values so small that their
 * products underflow (flushed sums), and large ones. */
static void fill_hard(float *p, size_t n, nn_rng *r)
{
    for (size_t i = 0; i < n; i++) {
        double v = 2.0 * nn_rng_double(r) - 1.0, s = nn_rng_double(r);
        float x = (float)v;
        if (s < 0.05)
            x = nn_f32_from_bits((nn_f32_bits(rnd_bf16(x)) & 0xffff0000u) | 0x8000u); /* a tie */
        else if (s < 0.07)
            x = (float)(v * 1e-39); /* denormal */
        else if (s < 0.10)
            x = (float)(v * 1e-20); /* products near and below 2^-126 */
        else if (s < 0.12)
            x = (float)(v * 1e4);
        p[i] = x;
    }
}

typedef struct {
    buf X, W, b, dZ, dW0, W0;
} operands;

static operands operands_new(int B, int in, int out, int skew, uint64_t seed, int hard)
{
    nn_rng r;
    nn_rng_seed(&r, seed, 21);
    operands o = {buf_new((size_t)B * in, skew), buf_new((size_t)out * in, (skew + 1) % 16),
                  buf_new((size_t)out, (skew + 2) % 16), buf_new((size_t)B * out, (skew + 3) % 16),
                  buf_new((size_t)out * in, skew), buf_new((size_t)out * in, (skew + 5) % 16)};
    void (*f)(float *, size_t, nn_rng *) = hard ? fill_hard : fill;
    f(o.X.p, (size_t)B * in, &r);
    f(o.W.p, (size_t)out * in, &r);
    fill(o.b.p, (size_t)out, &r);
    f(o.dZ.p, (size_t)B * out, &r);
    fill(o.dW0.p, (size_t)out * in, &r);
    fill(o.W0.p, (size_t)out * in, &r);
    return o;
}

static void operands_free(operands *o)
{
    free(o->X.base), free(o->W.base), free(o->b.base), free(o->dZ.base), free(o->dW0.base);
    free(o->W0.base);
}

/* The outputs of one table on one set of operands. */
typedef struct {
    float *Y, *Ys, *Yr, *Yt, *dX, *dW, *Wn;
} results;

static results results_of(const nn_kernels *kt, const operands *o, int B, int in, int out,
                          int skew)
{
    size_t ny = (size_t)B * out, nx = (size_t)B * in, nw = (size_t)out * in;
    results res;
    float **all[] = {&res.Y, &res.Ys, &res.Yr, &res.Yt};
    for (int a = 0; a < 4; a++) {
        size_t bytes = ((ny + 16) * sizeof(float) + 63) / 64 * 64;
        *all[a] = (float *)aligned_alloc(64, bytes) + skew % 16;
        ck_assert_ptr_nonnull(*all[a]);
    }
    res.dX = malloc(sizeof(float) * nx);
    res.dW = malloc(sizeof(float) * nw);
    res.Wn = malloc(sizeof(float) * nw);
    ck_assert(res.dX && res.dW && res.Wn);
    kt->dense_forward(res.Y, o->X.p, o->W.p, o->b.p, B, in, out, NN_ACT_IDENTITY);
    kt->dense_forward(res.Ys, o->X.p, o->W.p, o->b.p, B, in, out, NN_ACT_SIGMOID);
    kt->dense_forward(res.Yr, o->X.p, o->W.p, o->b.p, B, in, out, NN_ACT_RELU);
    kt->dense_forward(res.Yt, o->X.p, o->W.p, o->b.p, B, in, out, NN_ACT_TANH);
    kt->dense_backward_input(res.dX, o->dZ.p, o->W.p, B, in, out);
    memcpy(res.dW, o->dW0.p, sizeof(float) * nw);
    kt->dense_backward_weights(res.dW, o->dZ.p, o->X.p, B, in, out);
    memcpy(res.Wn, o->W0.p, sizeof(float) * nw);
    kt->dense_sgd_weights(res.Wn, o->dZ.p, o->X.p, B, in, out, 0.05f, 0.001f);
    return res;
}

static void results_free(results *r, int skew)
{
    free(r->Y - skew % 16), free(r->Ys - skew % 16), free(r->Yr - skew % 16);
    free(r->Yt - skew % 16), free(r->dX), free(r->dW), free(r->Wn);
}

static void same_bits(const float *got, const float *want, size_t n, const char *name,
                      const char *what, int B, int in, int out)
{
    for (size_t i = 0; i < n; i++)
        if (nn_f32_bits(got[i]) != nn_f32_bits(want[i]))
            ck_abort_msg("%s %s (B=%d in=%d out=%d) [%zu]: %a (%08x), reference %a (%08x)", name,
                         what, B, in, out, i, (double)got[i], nn_f32_bits(got[i]),
                         (double)want[i], nn_f32_bits(want[i]));
}

/* The vector activations may differ from the scalar ones by a few ulps. */
static void near(const float *got, const float *want, size_t n, const char *name,
                 const char *what, int B, int in, int out)
{
    for (size_t i = 0; i < n; i++)
        if (!(fabsf(got[i] - want[i]) <= 4e-7f * fabsf(want[i]) + 1e-30f))
            ck_abort_msg("%s %s (B=%d in=%d out=%d) [%zu]: %.9g, reference %.9g", name, what, B,
                         in, out, i, (double)got[i], (double)want[i]);
}

/* Bit-identical to the reference (avx512bf16, avx2bf16), except the
 * sigmoid's last ulps. */
static void check_exact(const nn_kernels *kt, int B, int in, int out, int skew, int hard)
{
    operands o = operands_new(B, in, out, skew, (uint64_t)(B * 131 + in * 7 + out + skew), hard);
    results got = results_of(kt, &o, B, in, out, skew), want =
        results_of(&nn_kernels_bf16_ref, &o, B, in, out, skew);
    size_t ny = (size_t)B * out, nx = (size_t)B * in, nw = (size_t)out * in;
    same_bits(got.Y, want.Y, ny, kt->name, "forward", B, in, out);
    near(got.Ys, want.Ys, ny, kt->name, "forward sigmoid", B, in, out);
    same_bits(got.Yr, want.Yr, ny, kt->name, "forward relu", B, in, out);
    same_bits(got.Yt, want.Yt, ny, kt->name, "forward tanh", B, in, out);
    same_bits(got.dX, want.dX, nx, kt->name, "dX", B, in, out);
    same_bits(got.dW, want.dW, nw, kt->name, "dW", B, in, out);
    same_bits(got.Wn, want.Wn, nw, kt->name, "sgd", B, in, out);
    results_free(&got, skew), results_free(&want, skew);
    operands_free(&o);
}

/* Within the accumulation bound of a double product of the rounded
 * operands (amx, whose order is its own). */
static void within_bound(const float *got, const float *As, size_t asr, size_t ask,
                         const float *Bs, size_t bsc, size_t bsk, int rows, int cols, int K,
                         const float *base, int ldbase, const char *name, const char *what)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            double s = base ? base[(size_t)r * ldbase + c] : 0.0, m = fabs(s);
            for (int k = 0; k < K; k++) {
                double p = (double)rnd_bf16(As[r * asr + k * ask]) *
                           rnd_bf16(Bs[c * bsc + k * bsk]);
                s += p;
                m += fabs(p);
            }
            double g = got[(size_t)r * cols + c];
            if (!(fabs(g - s) <= bound(m, K + 1)))
                ck_abort_msg("%s %s [%d,%d] (K=%d): %.9g, want %.9g", name, what, r, c, K, g, s);
        }
}

static void check_bounded(const nn_kernels *kt, int B, int in, int out, int skew)
{
    operands o = operands_new(B, in, out, skew, (uint64_t)(B * 131 + in * 7 + out + skew), 0);
    results got = results_of(kt, &o, B, in, out, skew);
    float *zb = calloc((size_t)out, sizeof(float)), *Y0 = malloc(sizeof(float) * (size_t)B * out);
    ck_assert(zb && Y0);
    kt->dense_forward(Y0, o.X.p, o.W.p, zb, B, in, out, NN_ACT_IDENTITY);
    within_bound(Y0, o.X.p, (size_t)in, 1, o.W.p, (size_t)in, 1, B, out, in, NULL, 0, kt->name,
                 "forward");
    within_bound(got.dX, o.dZ.p, (size_t)out, 1, o.W.p, 1, (size_t)in, B, in, out, NULL, 0,
                 kt->name, "dX");
    within_bound(got.dW, o.dZ.p, 1, (size_t)out, o.X.p, 1, (size_t)in, out, in, B, o.dW0.p, in,
                 kt->name, "dW");
    /* the epilogues on the table's own sums: act(sum + b) (tanh: scalar per
     * lane, the same bits), W - lr (sum + wd W) from a dW into zeros */
    for (size_t i = 0; i < (size_t)B * out; i++) {
        float z = Y0[i] + o.b.p[i % (size_t)out];
        ck_assert_uint_eq(nn_f32_bits(got.Y[i]), nn_f32_bits(z));
        ck_assert_uint_eq(nn_f32_bits(got.Yt[i]), nn_f32_bits(nn_act_forward(NN_ACT_TANH, z)));
    }
    float *G = calloc((size_t)out * in, sizeof(float));
    ck_assert_ptr_nonnull(G);
    kt->dense_backward_weights(G, o.dZ.p, o.X.p, B, in, out);
    for (size_t i = 0; i < (size_t)out * in; i++) {
        float w = o.W0.p[i];
        w -= 0.05f * (G[i] + 0.001f * w);
        ck_assert_uint_eq(nn_f32_bits(got.Wn[i]), nn_f32_bits(w));
    }
    free(G), free(zb), free(Y0);
    results_free(&got, skew);
    operands_free(&o);
}

static void check_table(const nn_kernels *kt, int exact, int B, int in, int out, int skew,
                        int hard)
{
    if (exact)
        check_exact(kt, B, in, out, skew, hard);
    else
        check_bounded(kt, B, in, out, skew);
}

START_TEST(test_bf16_vector_odd_sizes)
{
    const nn_kernels *kt = vec_table(_i);
    if (!kt)
        return;
    static const int sz[] = {1, 3, 7, 17};
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++)
            for (int c = 0; c < 4; c++)
                check_table(kt, EXACT(_i), sz[a], sz[b], sz[c], (a + b + c) % 16, 1);
    static const int big[][3] = {{255, 17, 7}, {7, 255, 17}, {17, 7, 255}, {255, 255, 3},
                                 {3, 255, 255}, {255, 3, 255}, {128, 784, 10}};
    for (int s = 0; s < 7; s++)
        check_table(kt, EXACT(_i), big[s][0], big[s][1], big[s][2], s, 1);
    if (EXACT(_i)) { /* the bounded check amx gets, on a table that can run here */
        check_bounded(kt, 17, 255, 7, 1);
        check_bounded(kt, 33, 65, 47, 3);
    }
}
END_TEST

START_TEST(test_bf16_vector_every_block_boundary)
{
    /* Rows around the micro-kernel's 8 (avx2bf16: 6, and units of 12),
     * columns around its 16-wide vectors and 48-wide panels (and the split
     * last panels; avx2bf16: 8-wide vectors, 16-wide panels), k around the
     * 32 elements of a packing block (avx2bf16: 8) and odd/even. */
    const nn_kernels *kt = vec_table(_i);
    if (!kt)
        return;
    static const int rows[] = {5, 6, 7, 8, 9, 12, 13, 16, 17};
    /* 64 and 112 (48 n + 16) end in two 32-column panels */
    static const int cols[] = {7, 8, 9, 15, 16, 17, 32, 47, 48, 49, 64, 97, 112};
    static const int ks[] = {1, 2, 7, 8, 9, 31, 32, 33, 64, 65};
    for (int a = 0; a < 9; a++)
        for (int b = 0; b < 13; b++)
            for (int c = 0; c < 10; c++) {
                /* each dimension in each role: the forward's cols are out,
                 * dX's are in, dW's rows are out */
                check_table(kt, EXACT(_i), rows[a], ks[c], cols[b], (a + b + c) % 4, (b + c) & 1);
                check_table(kt, EXACT(_i), ks[c], cols[b], rows[a], (a + c) % 4, 1);
            }
}
END_TEST

START_TEST(test_bf16_vector_nan_and_infinity)
{
    /* NaNs with payloads (signalling and quiet, both signs) and infinities
     * beside zeros (inf * 0: the default NaN), in both operands of every
     * product, some at the same k so that two NaNs meet in one step: the
     * bits of the NaN that comes out are the reference's (a's payload, then
     * b's, then the accumulator's).  Sigmoid is left out: its vector form
     * may differ in the last ulps.  The bias, dW and W stay finite: which of
     * two NaNs an fp32 addition returns is the compiler's choice. */
    const nn_kernels *kt = vec_table(_i);
    if (!kt || !EXACT(_i))
        return;
    static const uint32_t odd[] = {0x7fa12345u, 0xffc0beefu, 0x7f800000u, 0xff800000u, 0u,
                                   0x7fc00001u, 0xff812345u};
    static const int shapes[][3] = {{9, 13, 11}, {13, 40, 19}, {70, 33, 66}};
    for (int s = 0; s < 3; s++) {
        int B = shapes[s][0], in = shapes[s][1], out = shapes[s][2];
        operands o = operands_new(B, in, out, s, (uint64_t)(77 + s), 0);
        nn_rng r;
        nn_rng_seed(&r, (uint64_t)s, 5);
        float *all[] = {o.X.p, o.W.p, o.dZ.p};
        size_t n[] = {(size_t)B * in, (size_t)out * in, (size_t)B * out};
        for (int m = 0; m < 3; m++)
            for (size_t i = 0; i < n[m]; i += 1 + nn_rng_below(&r, 7))
                all[m][i] = nn_f32_from_bits(odd[nn_rng_below(&r, 7)]);
        results got = results_of(kt, &o, B, in, out, s), want =
            results_of(&nn_kernels_bf16_ref, &o, B, in, out, s);
        size_t ny = (size_t)B * out, nx = (size_t)B * in, nw = (size_t)out * in;
        same_bits(got.Y, want.Y, ny, kt->name, "forward", B, in, out);
        same_bits(got.Yr, want.Yr, ny, kt->name, "forward relu", B, in, out);
        same_bits(got.dX, want.dX, nx, kt->name, "dX", B, in, out);
        same_bits(got.dW, want.dW, nw, kt->name, "dW", B, in, out);
        same_bits(got.Wn, want.Wn, nw, kt->name, "sgd", B, in, out);
        results_free(&got, s), results_free(&want, s);
        operands_free(&o);
    }
}
END_TEST

START_TEST(test_bf16_vector_tiny_sums)
{
    /* Operands near 1e-20, so every product and most sums lie below 2^-126:
     * each such sum must be flushed to a zero of its sign as it is formed
     * (vdpbf16ps does so; avx2bf16 sets MXCSR's FTZ and DAZ for its sums),
     * and a sum that rounds up to 2^-126 kept. */
    const nn_kernels *kt = vec_table(_i);
    if (!kt || !EXACT(_i))
        return;
    static const int shapes[][3] = {{7, 9, 5}, {13, 40, 19}, {30, 65, 33}};
    for (int s = 0; s < 3; s++) {
        int B = shapes[s][0], in = shapes[s][1], out = shapes[s][2];
        operands o = operands_new(B, in, out, s, (uint64_t)(91 + s), 0);
        float *all[] = {o.X.p, o.W.p, o.dZ.p};
        size_t n[] = {(size_t)B * in, (size_t)out * in, (size_t)B * out};
        for (int m = 0; m < 3; m++)
            for (size_t i = 0; i < n[m]; i++)
                all[m][i] *= 1.5e-19f;
        memset(o.b.p, 0, sizeof(float) * (size_t)out);
        memset(o.dW0.p, 0, sizeof(float) * (size_t)out * in);
        results got = results_of(kt, &o, B, in, out, s), want =
            results_of(&nn_kernels_bf16_ref, &o, B, in, out, s);
        size_t ny = (size_t)B * out, nx = (size_t)B * in, nw = (size_t)out * in;
        size_t nonzero = 0;
        for (size_t i = 0; i < ny; i++)
            nonzero += want.Y[i] != 0.0f;
        ck_assert_msg(nonzero > 0 && nonzero < ny, "%zu of %zu sums not flushed", nonzero, ny);
        same_bits(got.Y, want.Y, ny, kt->name, "forward", B, in, out);
        same_bits(got.dX, want.dX, nx, kt->name, "dX", B, in, out);
        same_bits(got.dW, want.dW, nw, kt->name, "dW", B, in, out);
        results_free(&got, s), results_free(&want, s);
        operands_free(&o);
    }
}
END_TEST

START_TEST(test_bf16_vector_bit_identical_for_any_thread_count)
{
    const nn_kernels *kt = vec_table(_i);
    if (!kt)
        return;
    /* the last is large enough for amx to split it among threads */
    static const int shapes[][3] = {{37, 259, 131}, {130, 100, 45}, {128, 784, 256},
                                    {257, 785, 255}};
    static const int threads[] = {1, 2, 3, 5};
    ck_assert(2.0 * 257 * 785 * 255 >= NN_AMX_MIN_FLOPS);
    for (int s = 0; s < 4; s++) {
        int B = shapes[s][0], in = shapes[s][1], out = shapes[s][2];
        ck_assert(2.0 * B * in * out >= NN_POOL_MIN_FLOPS);
        operands o = operands_new(B, in, out, s, (uint64_t)s, 1);
        results res[4];
        for (int t = 0; t < 4; t++) {
            nn_pool_set_threads(threads[t]);
            res[t] = results_of(kt, &o, B, in, out, 0);
            if (t == 0)
                continue;
            size_t ny = (size_t)B * out, nx = (size_t)B * in, nw = (size_t)out * in;
            ck_assert(memcmp(res[t].Ys, res[0].Ys, ny * sizeof(float)) == 0);
            ck_assert(memcmp(res[t].dX, res[0].dX, nx * sizeof(float)) == 0);
            ck_assert(memcmp(res[t].dW, res[0].dW, nw * sizeof(float)) == 0);
            ck_assert(memcmp(res[t].Wn, res[0].Wn, nw * sizeof(float)) == 0);
        }
        nn_pool_set_threads(1);
        if (EXACT(_i) && s < 2) { /* and the reference's bits, threaded */
            nn_pool_set_threads(3);
            check_exact(kt, B, in, out, 1, 1);
            nn_pool_set_threads(1);
        }
        for (int t = 0; t < 4; t++)
            results_free(&res[t], 0);
        operands_free(&o);
    }
}
END_TEST

START_TEST(test_bf16_cpu_features)
{
    /* amx implies avx512bf16; on a machine that is not x86 both are 0 and
     * the permission is refused */
    if (nn_cpu_has_amx_bf16())
        ck_assert(nn_cpu_has_avx512bf16());
#if !defined(__x86_64__) && !defined(__i386__)
    ck_assert_int_eq(nn_cpu_has_avx512bf16(), 0);
    ck_assert_int_eq(nn_amx_request_permission(), -1);
#endif
    ck_assert_str_eq(nn_kernels_bf16_ref.name, "scalar");
#if defined(__x86_64__) || defined(__i386__)
    ck_assert_str_eq(nn_kernels_avx512bf16.name, "avx512bf16");
#endif
#if defined(__x86_64__)
    ck_assert_str_eq(nn_kernels_avx2bf16.name, "avx2bf16");
#endif
#if defined(__x86_64__) && defined(__linux__)
    ck_assert_str_eq(nn_kernels_amx.name, "amx");
#endif
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
    tcase_add_test(tc, test_bf16_cpu_features);
    suite_add_tcase(s, tc);
    TCase *vec = tcase_create("vector");
    tcase_set_timeout(vec, 240);
    tcase_add_loop_test(vec, test_bf16_vector_odd_sizes, 0, NVEC);
    tcase_add_loop_test(vec, test_bf16_vector_every_block_boundary, 0, NVEC);
    tcase_add_loop_test(vec, test_bf16_vector_bit_identical_for_any_thread_count, 0, NVEC);
    tcase_add_loop_test(vec, test_bf16_vector_nan_and_infinity, 0, NVEC);
    tcase_add_loop_test(vec, test_bf16_vector_tiny_sums, 0, NVEC);
    suite_add_tcase(s, vec);
    return s;
}
