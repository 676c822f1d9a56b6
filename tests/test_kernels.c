/* test_kernels.c - the kernel table against products computed here in
 * double precision by the definition, on odd sizes and unaligned buffers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "nn/activation.h"
#include "tests.h"
#include "util/rng.h"

static const int sizes[] = {1, 3, 7, 17, 33, 255};
#define NSIZES ((int)(sizeof sizes / sizeof sizes[0]))

/* A buffer of n floats starting `skew` floats past a 64-byte boundary, so
 * the kernels see misaligned data. */
typedef struct {
    float *base, *p;
} buf;

static buf buf_make(size_t n, int skew, nn_rng *r)
{
    buf b;
    b.base = aligned_alloc(64, ((n + (size_t)skew) * sizeof(float) + 63) / 64 * 64 + 64);
    ck_assert_ptr_nonnull(b.base);
    b.p = b.base + skew;
    for (size_t i = 0; i < n; i++)
        b.p[i] = (float)(2.0 * nn_rng_double(r) - 1.0);
    return b;
}

static void close_enough(double got, double want, int k, const char *what)
{
    /* float products of up to 255 terms in [-1, 1]: a relative 1e-5 of the
     * sum of magnitudes bounds the rounding. */
    ck_assert_msg(fabs(got - want) <= 1e-5 * (fabs(want) + (double)k) + 1e-6,
                  "%s: got %.9g, want %.9g", what, got, want);
}

static void check_forward(const nn_kernels *kt, int B, int in, int out, nn_act act, int skew)
{
    nn_rng r;
    nn_rng_seed(&r, (uint64_t)(B * 1000003 + in * 1009 + out), 5);
    buf X = buf_make((size_t)B * in, skew, &r), W = buf_make((size_t)out * in, skew, &r),
        b = buf_make((size_t)out, skew, &r), Y = buf_make((size_t)B * out, skew, &r);
    kt->dense_forward(Y.p, X.p, W.p, b.p, B, in, out, act);
    for (int i = 0; i < B; i++)
        for (int j = 0; j < out; j++) {
            double z = b.p[j];
            for (int k = 0; k < in; k++)
                z += (double)X.p[i * in + k] * W.p[j * in + k];
            double want = act == NN_ACT_SIGMOID ? 1.0 / (1.0 + exp(-z)) : z;
            close_enough(Y.p[i * out + j], want, in, "dense_forward");
        }
    free(X.base);
    free(W.base);
    free(b.base);
    free(Y.base);
}

static void check_backward(const nn_kernels *kt, int B, int in, int out, int skew)
{
    nn_rng r;
    nn_rng_seed(&r, (uint64_t)(B * 7919 + in * 31 + out), 6);
    buf dZ = buf_make((size_t)B * out, skew, &r), W = buf_make((size_t)out * in, skew, &r),
        X = buf_make((size_t)B * in, skew, &r), dX = buf_make((size_t)B * in, skew, &r),
        dW = buf_make((size_t)out * in, skew, &r), db = buf_make((size_t)out, skew, &r);
    float *dW0 = malloc(sizeof(float) * (size_t)out * in), *db0 = malloc(sizeof(float) * out);
    memcpy(dW0, dW.p, sizeof(float) * (size_t)out * in); /* accumulation: += onto this */
    memcpy(db0, db.p, sizeof(float) * out);

    kt->dense_backward_input(dX.p, dZ.p, W.p, B, in, out);
    for (int i = 0; i < B; i++)
        for (int k = 0; k < in; k++) {
            double s = 0;
            for (int j = 0; j < out; j++)
                s += (double)dZ.p[i * out + j] * W.p[j * in + k];
            close_enough(dX.p[i * in + k], s, out, "dense_backward_input");
        }

    kt->dense_backward_params(dW.p, db.p, dZ.p, X.p, B, in, out);
    for (int j = 0; j < out; j++) {
        double sb = db0[j];
        for (int i = 0; i < B; i++)
            sb += dZ.p[i * out + j];
        close_enough(db.p[j], sb, B, "dense_backward_params db");
        for (int k = 0; k < in; k++) {
            double s = dW0[j * in + k];
            for (int i = 0; i < B; i++)
                s += (double)dZ.p[i * out + j] * X.p[i * in + k];
            close_enough(dW.p[j * in + k], s, B, "dense_backward_params dW");
        }
    }
    free(dZ.base);
    free(W.base);
    free(X.base);
    free(dX.base);
    free(dW.base);
    free(db.base);
    free(dW0);
    free(db0);
}

static void check_act_backward(const nn_kernels *kt, size_t n, int skew)
{
    nn_rng r;
    nn_rng_seed(&r, n, 7);
    buf dY = buf_make(n, skew, &r), Y = buf_make(n, skew, &r);
    float *orig = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++)
        Y.p[i] = 0.5f + 0.5f * Y.p[i]; /* sigmoid outputs lie in (0, 1) */
    memcpy(orig, dY.p, sizeof(float) * n);
    kt->act_backward(dY.p, Y.p, n, NN_ACT_SIGMOID);
    for (size_t i = 0; i < n; i++)
        close_enough(dY.p[i], (double)orig[i] * Y.p[i] * (1.0 - Y.p[i]), 1, "act_backward");
    memcpy(dY.p, orig, sizeof(float) * n);
    kt->act_backward(dY.p, Y.p, n, NN_ACT_IDENTITY);
    ck_assert_mem_eq(dY.p, orig, sizeof(float) * n);
    free(orig);
    free(dY.base);
    free(Y.base);
}

START_TEST(test_kernels_forward_matches_definition_on_odd_sizes)
{
    const nn_kernels *kt = &nn_kernels_ref;
    for (int a = 0; a < NSIZES; a++)
        for (int c = 0; c < NSIZES; c++)
            for (int skew = 0; skew < 3; skew++) {
                check_forward(kt, sizes[a] % 40, sizes[c], sizes[(a + c) % NSIZES],
                              NN_ACT_IDENTITY, skew);
                check_forward(kt, sizes[c] % 40, sizes[a], sizes[c], NN_ACT_SIGMOID, skew);
            }
}
END_TEST

START_TEST(test_kernels_backward_matches_definition_on_odd_sizes)
{
    const nn_kernels *kt = &nn_kernels_ref;
    for (int a = 0; a < NSIZES; a++)
        for (int c = 0; c < NSIZES; c++)
            for (int skew = 0; skew < 3; skew += 2)
                check_backward(kt, sizes[a] % 40, sizes[c], sizes[(a + 2 * c) % NSIZES], skew);
}
END_TEST

START_TEST(test_kernels_act_backward_on_odd_sizes)
{
    for (int a = 0; a < NSIZES; a++)
        for (int skew = 0; skew < 4; skew++)
            check_act_backward(&nn_kernels_ref, (size_t)sizes[a], skew);
}
END_TEST

START_TEST(test_kernels_select_by_name)
{
    nn_error e = {0};
    ck_assert_int_eq(nn_kernels_select("scalar", &e), 0);
    ck_assert_str_eq(nn_kernels_get()->name, "scalar");
    ck_assert_int_eq(nn_kernels_select(NULL, &e), 0);
    ck_assert_int_eq(nn_kernels_select("sse9", &e), -1);
    ck_assert_int_eq(e.code, 2);
    ck_assert_str_eq(e.msg, "NNTRAIN_ISA=sse9: unknown instruction set (expected scalar, avx2 "
                            "or avx512)");
}
END_TEST

Suite *kernels_suite(void)
{
    Suite *s = suite_create("kernels");
    TCase *tc = tcase_create("reference");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_kernels_forward_matches_definition_on_odd_sizes);
    tcase_add_test(tc, test_kernels_backward_matches_definition_on_odd_sizes);
    tcase_add_test(tc, test_kernels_act_backward_on_odd_sizes);
    tcase_add_test(tc, test_kernels_select_by_name);
    suite_add_tcase(s, tc);
    return s;
}
