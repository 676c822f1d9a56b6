/* test_slices.c - the batch's sums in a fixed tree of slices (nn/slices.h):
 * the tree's shape, its independence of how many processes share the
 * slices and of the thread count, its agreement with the plain sums, and
 * the fused SGD step against the gradient then the optimizer's step. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "nn/optim.h"
#include "nn/slices.h"
#include "pool/pool.h"
#include "tests.h"
#include "util/rng.h"

static const struct {
    nn_precision prec;
    const char *isa;
} tables[] = {{NN_PREC_FP32, "scalar"},     {NN_PREC_FP32, "avx2"}, {NN_PREC_FP32, "avx512"},
              {NN_PREC_BF16, "scalar"},     {NN_PREC_BF16, "avx2bf16"},
              {NN_PREC_BF16, "avx512bf16"},
              {NN_PREC_BF16, "amx"}};
#define NTABLES ((int)(sizeof tables / sizeof tables[0]))

/* The table of loop index i, or NULL where this processor lacks it. */
static const nn_kernels *table(int i)
{
    nn_error e = {0};
    if (nn_kernels_select(tables[i].prec, tables[i].isa, &e) < 0)
        return NULL;
    return nn_kernels_get();
}

static float *rnd(size_t n, nn_rng *r)
{
    float *p = malloc(sizeof(float) * (n ? n : 1));
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (float)(2.0 * nn_rng_double(r) - 1.0);
    return p;
}

/* The share of slices [lo, hi) of S of a batch of `rows` rows, computed as
 * the process that holds just those rows would: G (out, in) and g (out)
 * from zero. */
static void share(const nn_kernels *k, int S, int lo, int hi, int rows, const float *dZ,
                  const float *X, int in, int out, float *G, float *g, int threads)
{
    nn_slicing sl;
    ck_assert_int_eq(nn_slicing_init(&sl, S, lo, hi, out > in ? out : in, in, rows, threads), 0);
    sl.rows = rows;
    int first, last, unused;
    nn_slice_rows(rows, S, lo, &first, &unused);
    nn_slice_rows(rows, S, hi - 1, &unused, &last);
    memset(G, 0, sizeof(float) * (size_t)out * in);
    memset(g, 0, sizeof(float) * (size_t)out);
    nn_pool_set_threads(threads);
    nn_slices_dense(&sl, k, G, g, dZ + (size_t)first * out, X + (size_t)first * in, last - first,
                    in, out, 0, 0.0f, 0.0f);
    nn_pool_set_threads(1);
    nn_slicing_free(&sl);
}

/* q[0..N) added in the balanced tree over ranks, into q[0]. */
static void rank_tree(float **q, int N, size_t n)
{
    for (int step = 1; step < N; step *= 2)
        for (int r = 0; r + step < N; r += 2 * step)
            for (size_t i = 0; i < n; i++)
                q[r][i] += q[r + step][i];
}

static const int shapes[][3] = {{37, 17, 45}, {256, 100, 70}, {5, 3, 1},
                                {64, 300, 33}, {130, 1024, 36}, {9, 7, 65}};
#define NSHAPES ((int)(sizeof shapes / sizeof shapes[0]))

/* For S = 2, 4, 8 and every N dividing S, the N processes' shares added in
 * the ranks' tree give the one process's G and g bit for bit, on 1 and 3
 * threads alike; and G is the plain sum within a stated bound. */
START_TEST(test_slices_any_process_count_gives_the_same_bits)
{
    const nn_kernels *k = table(_i);
    if (!k)
        return;
    nn_rng r;
    nn_rng_seed(&r, 41, 0);
    for (int si = 0; si < NSHAPES; si++) {
        int B = shapes[si][0], in = shapes[si][1], out = shapes[si][2];
        size_t nw = (size_t)in * out;
        float *dZ = rnd((size_t)B * out, &r), *X = rnd((size_t)B * in, &r);
        float *G = malloc(sizeof(float) * nw), *g = malloc(sizeof(float) * out);
        float *G3 = malloc(sizeof(float) * nw), *g3 = malloc(sizeof(float) * out);
        float *q[8], *qb[8];
        for (int i = 0; i < 8; i++) {
            q[i] = malloc(sizeof(float) * nw);
            qb[i] = malloc(sizeof(float) * out);
        }
        for (int S = 2; S <= 8; S *= 2) {
            share(k, S, 0, S, B, dZ, X, in, out, G, g, 1);
            share(k, S, 0, S, B, dZ, X, in, out, G3, g3, 3);
            ck_assert_msg(memcmp(G, G3, sizeof(float) * nw) == 0 &&
                              memcmp(g, g3, sizeof(float) * out) == 0,
                          "%s: %dx%dx%d S=%d: 3 threads differ", k->name, B, in, out, S);
            for (int N = 2; N <= S; N *= 2) {
                for (int p = 0; p < N; p++)
                    share(k, S, p * S / N, (p + 1) * S / N, B, dZ, X, in, out, q[p], qb[p], 1);
                rank_tree(q, N, nw);
                rank_tree(qb, N, (size_t)out);
                ck_assert_msg(memcmp(G, q[0], sizeof(float) * nw) == 0,
                              "%s: %dx%dx%d S=%d N=%d: weights differ", k->name, B, in, out, S,
                              N);
                ck_assert_msg(memcmp(g, qb[0], sizeof(float) * out) == 0,
                              "%s: %dx%dx%d S=%d N=%d: biases differ", k->name, B, in, out, S,
                              N);
            }
            /* against the plain sums in double: fp32 products, or bf16
             * operands (8 significant bits each) */
            double rel = tables[_i].prec == NN_PREC_BF16 ? 1.6e-2 : 1e-5;
            for (int o = 0; o < out; o++) {
                double sb = 0, ab = 0;
                for (int i = 0; i < B; i++) {
                    sb += dZ[(size_t)i * out + o];
                    ab += fabs(dZ[(size_t)i * out + o]);
                }
                ck_assert_msg(fabs(g[o] - sb) <= 1e-5 * ab + 1e-30, "bias %d: %g vs %g", o,
                              g[o], sb);
                for (int c = 0; c < in; c++) {
                    double s = 0, a = 0;
                    for (int i = 0; i < B; i++) {
                        double t = (double)dZ[(size_t)i * out + o] * X[(size_t)i * in + c];
                        s += t;
                        a += fabs(t);
                    }
                    ck_assert_msg(fabs(G[(size_t)o * in + c] - s) <= rel * a + 1e-30,
                                  "%s: weight %d,%d: %g vs %g", k->name, o, c,
                                  G[(size_t)o * in + c], s);
                }
            }
        }
        free(dZ), free(X), free(G), free(g), free(G3), free(g3);
        for (int i = 0; i < 8; i++)
            free(q[i]), free(qb[i]);
    }
}
END_TEST

/* The tree's shape: four one-row slices whose products are 1e8, 1, -1e8, 1
 * sum to (1e8 + 1) + (-1e8 + 1) = 0 in float, where the rows in order
 * would give 1; eight give ((a+b)+(c+d))+((e+f)+(g+h)). */
START_TEST(test_slices_tree_shape)
{
    const nn_kernels *k = table(0);
    ck_assert_ptr_nonnull(k);
    float dZ[8] = {1e8f, 1.0f, -1e8f, 1.0f}, X[8] = {1, 1, 1, 1, 1, 1, 1, 1}, G, g;
    share(k, 4, 0, 4, 4, dZ, X, 1, 1, &G, &g, 1);
    ck_assert_float_eq(G, 0.0f);
    ck_assert_float_eq(g, 0.0f);
    /* in row order: ((1e8 + 1) - 1e8) + 1 = 1, so the check can fail */
    ck_assert_float_eq(((dZ[0] + dZ[1]) + dZ[2]) + dZ[3], 1.0f);
    /* ((1e8 + 3) + (3 + 3)) + ((3 - 1e8) + 0) = 8 in float; in row order 0 */
    float d8[8] = {1e8f, 3.0f, 3.0f, 3.0f, 3.0f, -1e8f, 0.0f, 0.0f};
    share(k, 8, 0, 8, 8, d8, X, 1, 1, &G, &g, 1);
    float want = ((d8[0] + d8[1]) + (d8[2] + d8[3])) + ((d8[4] + d8[5]) + (d8[6] + d8[7]));
    ck_assert_float_eq(want, 8.0f);
    ck_assert_float_eq(G, want);
    ck_assert_float_eq(g, want);
    ck_assert_float_ne(want, (((((((d8[0] + d8[1]) + d8[2]) + d8[3]) + d8[4]) + d8[5]) + d8[6]) +
                              d8[7]));
}
END_TEST

/* The fused SGD step: the sliced gradient, then nn_optim_sgd_plain on the
 * weights (with decay) and the biases (without), bit for bit. */
START_TEST(test_slices_sgd_is_gradient_then_step)
{
    const nn_kernels *k = table(_i);
    if (!k)
        return;
    nn_rng r;
    nn_rng_seed(&r, 7, 0);
    int B = 77, in = 130, out = 41, S = 4;
    size_t nw = (size_t)in * out;
    float *dZ = rnd((size_t)B * out, &r), *X = rnd((size_t)B * in, &r);
    float *W = rnd(nw + out, &r), *W2 = malloc(sizeof(float) * (nw + out));
    float *G = calloc(nw + out, sizeof(float));
    memcpy(W2, W, sizeof(float) * (nw + out));
    nn_slicing sl;
    ck_assert_int_eq(nn_slicing_init(&sl, S, 0, S, in, in, B, 2), 0);
    nn_pool_set_threads(2);
    nn_slices_dense(&sl, k, W, W + nw, dZ, X, B, in, out, 1, 0.05f, 0.01f);
    nn_slices_dense(&sl, k, G, G + nw, dZ, X, B, in, out, 0, 0.0f, 0.0f);
    nn_pool_set_threads(1);
    nn_optim_sgd_plain(W2, G, nw, 0.05f, 0.01f);
    nn_optim_sgd_plain(W2 + nw, G + nw, (size_t)out, 0.05f, 0.0f);
    ck_assert_msg(memcmp(W, W2, sizeof(float) * (nw + out)) == 0, "%s: the steps differ",
                  k->name);
    nn_slicing_free(&sl);
    free(dZ), free(X), free(W), free(W2), free(G);
}
END_TEST

typedef struct {
    const double *v;
    size_t n;
} col_ctx;

/* buf[c] = sum over rows [lo, hi) of v[row * n + c], rows in order */
static void col_leaf(void *ctx, int lo, int hi, double *buf)
{
    const col_ctx *c = ctx;
    for (size_t j = 0; j < c->n; j++) {
        buf[j] = 0.0;
        for (int i = lo; i < hi; i++)
            buf[j] += c->v[(size_t)i * c->n + j];
    }
}

/* The column sums (batch statistics) in double: a process's share of the
 * slices, added over processes in the ranks' tree, gives the whole tree's
 * bits; and the tree differs from the rows in order on these values. */
START_TEST(test_slices_column_sums_any_process_count)
{
    enum { B = 19, N = 3 };
    double v[B * N], all[N], part[4][N], stack[8 * 2 * N];
    for (int i = 0; i < B * N; i++)
        v[i] = (i % 5 == 0 ? 1e17 : 1.0) * (i % 2 ? -1.0 : 1.0) + i * 0.25;
    for (int S = 2; S <= 8; S *= 2) {
        nn_slicing sl = {.S = S, .lo = 0, .hi = S, .rows = B};
        col_ctx c = {v, N};
        nn_slices_column_sums(&sl, B, N, col_leaf, &c, stack, all);
        for (int P = 2; P <= S && P <= 4; P *= 2) {
            for (int p = 0; p < P; p++) {
                nn_slicing mine = {.S = S, .lo = p * S / P, .hi = (p + 1) * S / P, .rows = B};
                int first, unused;
                nn_slice_rows(B, S, mine.lo, &first, &unused);
                col_ctx cm = {v + (size_t)first * N, N};
                int last;
                nn_slice_rows(B, S, mine.hi - 1, &unused, &last);
                nn_slices_column_sums(&mine, last - first, N, col_leaf, &cm, stack, part[p]);
            }
            for (int step = 1; step < P; step *= 2)
                for (int p = 0; p + step < P; p += 2 * step)
                    for (int j = 0; j < N; j++)
                        part[p][j] += part[p + step][j];
            ck_assert_msg(memcmp(all, part[0], sizeof all) == 0, "S=%d P=%d", S, P);
        }
    }
    double seq[N];
    col_ctx c = {v, N};
    col_leaf(&c, 0, B, seq);
    ck_assert_msg(memcmp(seq, all, sizeof seq) != 0, "the tree should differ from row order");
}
END_TEST

/* With nn_kernels_rows_free, a row's forward output is the same bits
 * whether the product has that row alone, 32 rows or 128 (wide enough for
 * the blocked path at 128 rows and not at 32). */
START_TEST(test_slices_forward_rows_free)
{
    const nn_kernels *k = table(_i);
    if (!k)
        return;
    enum { B = 128, IN = 256, OUT = 130 };
    nn_rng r;
    nn_rng_seed(&r, 3, 0);
    float *X = rnd((size_t)B * IN, &r), *W = rnd((size_t)OUT * IN, &r), *b = rnd(OUT, &r);
    float *Y = malloc(sizeof(float) * B * OUT), *Y32 = malloc(sizeof(float) * 32 * OUT);
    float *Y1 = malloc(sizeof(float) * OUT);
    nn_kernels_rows_free(true);
    k->dense_forward(Y, X, W, b, B, IN, OUT, NN_ACT_SIGMOID);
    k->dense_forward(Y32, X + (size_t)64 * IN, W, b, 32, IN, OUT, NN_ACT_SIGMOID);
    k->dense_forward(Y1, X + (size_t)100 * IN, W, b, 1, IN, OUT, NN_ACT_SIGMOID);
    nn_kernels_rows_free(false);
    ck_assert_msg(memcmp(Y + (size_t)64 * OUT, Y32, sizeof(float) * 32 * OUT) == 0,
                  "%s: 32 rows differ from the same rows of 128", k->name);
    ck_assert_msg(memcmp(Y + (size_t)100 * OUT, Y1, sizeof(float) * OUT) == 0,
                  "%s: one row differs from the same row of 128", k->name);
    free(X), free(W), free(b), free(Y), free(Y32), free(Y1);
}
END_TEST

Suite *slices_suite(void)
{
    Suite *s = suite_create("slices");
    TCase *tc = tcase_create("slices");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_slices_any_process_count_gives_the_same_bits, 0, NTABLES);
    tcase_add_test(tc, test_slices_tree_shape);
    tcase_add_loop_test(tc, test_slices_sgd_is_gradient_then_step, 0, NTABLES);
    tcase_add_test(tc, test_slices_column_sums_any_process_count);
    tcase_add_loop_test(tc, test_slices_forward_rows_free, 0, NTABLES);
    suite_add_tcase(s, tc);
    return s;
}
