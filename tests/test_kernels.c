/* test_kernels.c - every kernel table this machine can run (scalar, avx2,
 * avx512, chosen through nn_kernels_select as NNTRAIN_ISA would) against
 * products computed here in double precision by the definition, on odd sizes
 * and unaligned buffers; the vector sigmoid's accuracy; bit-identical results
 * for any thread count; and the selection itself.
 *
 * Tolerance of a sum of k float products of values in [-1, 1]:
 *   |got - want| <= 1e-5 (|want| + k) + 1e-6,
 * far above the rounding of any summation order (the kernels order their
 * sums differently) and far below any indexing mistake.  The +1e-6 also
 * covers the vector sigmoid, whose error is at most a few ulp of a value
 * below 1 (checked on its own below).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "pool/pool.h"
#include "math/activation.h"
#include "tests.h"
#include "util/rng.h"

static const int sizes[] = {1, 3, 7, 17, 33, 255};
#define NSIZES ((int)(sizeof sizes / sizeof sizes[0]))

static const char *const isa_names[] = {"scalar", "avx2", "avx512"};
#define NISA ((int)(sizeof isa_names / sizeof isa_names[0]))

/* The table NNTRAIN_ISA=isa_names[i] would select, or NULL when this machine
 * cannot run it. */
static const nn_kernels *table(int i)
{
    nn_error e = {0};
    if (nn_kernels_select(NN_PREC_FP32, isa_names[i], &e) < 0)
        return NULL;
    const nn_kernels *k = nn_kernels_get();
    ck_assert_str_eq(k->name, isa_names[i]);
    return k;
}

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

static void close_enough(double got, double want, int k, const char *isa, const char *what,
                         int B, int in, int out)
{
    /* Checked before calling Check: each ck_assert costs a write(2). */
    if (!(fabs(got - want) <= 1e-5 * (fabs(want) + (double)k) + 1e-6))
        ck_abort_msg("%s %s (B=%d in=%d out=%d): got %.9g, want %.9g", isa, what, B, in, out,
                     got, want);
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
                z += (double)X.p[(size_t)i * in + k] * W.p[(size_t)j * in + k];
            double want = act == NN_ACT_SIGMOID ? 1.0 / (1.0 + exp(-z))
                          : act == NN_ACT_RELU  ? (z > 0 ? z : 0.0)
                                                : z;
            close_enough(Y.p[(size_t)i * out + j], want, in, kt->name,
                         act == NN_ACT_SIGMOID ? "forward sigmoid"
                         : act == NN_ACT_RELU  ? "forward relu"
                                               : "forward identity",
                         B, in, out);
        }
    free(X.base);
    free(W.base);
    free(b.base);
    free(Y.base);
}

static void check_backward_products(const nn_kernels *kt, int B, int in, int out, int skew)
{
    nn_rng r;
    nn_rng_seed(&r, (uint64_t)(B * 7919 + in * 31 + out), 6);
    buf dZ = buf_make((size_t)B * out, skew, &r), W = buf_make((size_t)out * in, skew, &r),
        X = buf_make((size_t)B * in, skew, &r), dX = buf_make((size_t)B * in, skew, &r),
        dW = buf_make((size_t)out * in, skew, &r);
    float *dW0 = malloc(sizeof(float) * (size_t)out * in);
    memcpy(dW0, dW.p, sizeof(float) * (size_t)out * in); /* accumulation: += onto this */

    kt->dense_backward_input(dX.p, dZ.p, W.p, B, in, out);
    for (int i = 0; i < B; i++)
        for (int k = 0; k < in; k++) {
            double s = 0;
            for (int j = 0; j < out; j++)
                s += (double)dZ.p[(size_t)i * out + j] * W.p[(size_t)j * in + k];
            close_enough(dX.p[(size_t)i * in + k], s, out, kt->name, "dX", B, in, out);
        }

    kt->dense_backward_weights(dW.p, dZ.p, X.p, B, in, out);
    for (int j = 0; j < out; j++)
        for (int k = 0; k < in; k++) {
            double s = dW0[(size_t)j * in + k];
            for (int i = 0; i < B; i++)
                s += (double)dZ.p[(size_t)i * out + j] * X.p[(size_t)i * in + k];
            close_enough(dW.p[(size_t)j * in + k], s, B, kt->name, "dW", B, in, out);
        }
    free(dZ.base);
    free(W.base);
    free(X.base);
    free(dX.base);
    free(dW.base);
    free(dW0);
}

/* act_backward against the definition, and bit for bit against ref.c (the
 * kernels promise the reference's operations and summation order there). */
static void check_act_backward(const nn_kernels *kt, int B, int out, nn_act act, int skew)
{
    nn_rng r;
    nn_rng_seed(&r, (uint64_t)(B * 131 + out), 7);
    size_t n = (size_t)B * out;
    buf dY = buf_make(n, skew, &r), Y = buf_make(n, skew, &r), db = buf_make((size_t)out, skew, &r);
    for (size_t i = 0; i < n; i++)
        /* sigmoid outputs lie in (0, 1); relu's in [0, 1), about half 0 */
        Y.p[i] = act == NN_ACT_RELU ? (Y.p[i] > 0 ? Y.p[i] : 0.0f) : 0.5f + 0.5f * Y.p[i];
    float *dY0 = malloc(sizeof(float) * n), *db0 = malloc(sizeof(float) * out);
    float *dYr = malloc(sizeof(float) * n), *dbr = malloc(sizeof(float) * out);
    memcpy(dY0, dY.p, sizeof(float) * n);
    memcpy(db0, db.p, sizeof(float) * out);
    memcpy(dYr, dY.p, sizeof(float) * n);
    memcpy(dbr, db.p, sizeof(float) * out);

    kt->act_backward(dY.p, db.p, Y.p, B, out, act);
    nn_kernels_ref.act_backward(dYr, dbr, Y.p, B, out, act);
    for (int j = 0; j < out; j++) {
        double s = db0[j];
        for (int i = 0; i < B; i++) {
            size_t e = (size_t)i * out + j;
            double d = act == NN_ACT_SIGMOID ? (double)Y.p[e] * (1.0 - Y.p[e])
                       : act == NN_ACT_RELU  ? (Y.p[e] > 0 ? 1.0 : 0.0)
                                             : 1.0;
            close_enough(dY.p[e], dY0[e] * d, 1, kt->name, "act_backward dZ", B, 0, out);
            s += dY0[e] * d;
        }
        close_enough(db.p[j], s, B, kt->name, "act_backward db", B, 0, out);
    }
    ck_assert_msg(memcmp(dY.p, dYr, sizeof(float) * n) == 0, "%s act_backward dZ != ref",
                  kt->name);
    ck_assert_msg(memcmp(db.p, dbr, sizeof(float) * out) == 0, "%s act_backward db != ref",
                  kt->name);
    free(dY0);
    free(db0);
    free(dYr);
    free(dbr);
    free(dY.base);
    free(Y.base);
    free(db.base);
}

START_TEST(test_kernels_forward_matches_definition_on_odd_sizes)
{
    const nn_kernels *kt = table(_i);
    if (!kt)
        return; /* this machine cannot run isa_names[_i] */
    for (int a = 0; a < NSIZES; a++)
        for (int c = 0; c < NSIZES; c++)
            for (int d = 0; d < NSIZES; d++) {
                check_forward(kt, sizes[a], sizes[c], sizes[d], NN_ACT_IDENTITY, (a + c + d) % 4);
                check_forward(kt, sizes[a], sizes[c], sizes[d], NN_ACT_SIGMOID, (a + c) % 3);
                check_forward(kt, sizes[a], sizes[c], sizes[d], NN_ACT_RELU, (c + d) % 4);
            }
}
END_TEST

/* Every count of rows and outputs a forward tile can be left with at the
 * edge of a layer (the kernels' tiles are up to 16 x 8), each a partial
 * block of its own. */
START_TEST(test_kernels_forward_matches_definition_at_every_tile_edge)
{
    const nn_kernels *kt = table(_i);
    if (!kt)
        return;
    for (int B = 1; B <= 17; B++)
        for (int out = 1; out <= 17; out++) {
            check_forward(kt, B, 5, out, NN_ACT_IDENTITY, (B + out) % 16);
            check_forward(kt, B, 40, out, NN_ACT_SIGMOID, (B * 3 + out) % 16);
        }
}
END_TEST

START_TEST(test_kernels_backward_matches_definition_on_odd_sizes)
{
    const nn_kernels *kt = table(_i);
    if (!kt)
        return;
    for (int a = 0; a < NSIZES; a++)
        for (int c = 0; c < NSIZES; c++)
            for (int d = 0; d < NSIZES; d++)
                check_backward_products(kt, sizes[a], sizes[c], sizes[d], (a + 2 * c + d) % 4);
}
END_TEST

START_TEST(test_kernels_act_backward_matches_definition_and_ref)
{
    const nn_kernels *kt = table(_i);
    if (!kt)
        return;
    for (int a = 0; a < NSIZES; a++)
        for (int c = 0; c < NSIZES; c++)
            for (int skew = 0; skew < 2; skew++) {
                check_act_backward(kt, sizes[a], sizes[c], NN_ACT_SIGMOID, skew + a % 2);
                check_act_backward(kt, sizes[a], sizes[c], NN_ACT_IDENTITY, skew);
                check_act_backward(kt, sizes[a], sizes[c], NN_ACT_RELU, 1 - skew);
            }
}
END_TEST

/* dense_sgd_weights against the same table's gradient summed into zeros
 * followed by the optimizer's SGD rule, w - lr * (g + wd * w): bit for bit
 * (the fused tile promises the same sums and operations). */
static void check_sgd_weights(const nn_kernels *kt, int B, int in, int out, int skew, float wd)
{
    nn_rng r;
    nn_rng_seed(&r, (uint64_t)(B * 977 + in * 13 + out), 9);
    size_t nw = (size_t)out * in;
    buf dZ = buf_make((size_t)B * out, skew, &r), X = buf_make((size_t)B * in, (skew + 1) % 4, &r),
        W = buf_make(nw, skew, &r);
    float *G = calloc(nw, sizeof(float)), *want = malloc(sizeof(float) * nw);
    ck_assert(G && want);
    const float lr = 0.37f;
    kt->dense_backward_weights(G, dZ.p, X.p, B, in, out);
    for (size_t i = 0; i < nw; i++)
        want[i] = W.p[i] - lr * (G[i] + wd * W.p[i]);
    kt->dense_sgd_weights(W.p, dZ.p, X.p, B, in, out, lr, wd);
    if (memcmp(W.p, want, sizeof(float) * nw) != 0) {
        size_t i = 0;
        while (memcmp(&W.p[i], &want[i], sizeof(float)) == 0)
            i++;
        ck_abort_msg("%s sgd_weights (B=%d in=%d out=%d skew %d wd %g): W[%zu] = %.9g, want %.9g",
                     kt->name, B, in, out, skew, (double)wd, i, (double)W.p[i], (double)want[i]);
    }
    free(G);
    free(want);
    free(dZ.base);
    free(X.base);
    free(W.base);
}

START_TEST(test_kernels_sgd_weights_is_gradient_then_step)
{
    const nn_kernels *kt = table(_i);
    if (!kt)
        return;
    for (int a = 0; a < NSIZES; a++)
        for (int c = 0; c < NSIZES; c++)
            for (int d = 0; d < NSIZES; d++)
                check_sgd_weights(kt, sizes[a], sizes[c], sizes[d], (a + c + 2 * d) % 4,
                                  (a + c + d) % 2 ? 0.01f : 0.0f);
    /* large enough to be split among threads, at several thread counts */
    static const int threads[] = {1, 2, 3, 5};
    for (int t = 0; t < 4; t++) {
        nn_pool_set_threads(threads[t]);
        check_sgd_weights(kt, 37, 259, 131, t, 0.01f);
        check_sgd_weights(kt, 130, 100, 45, 3 - t, 0.0f);
    }
    nn_pool_set_threads(1);
}
END_TEST

/* Every row count of a short last row block (dX: B; dW: out), widths
 * around one and two vector tiles, and odd and even k (the loop takes two k
 * a step): against the definition, and the fused SGD tile bit for bit. */
START_TEST(test_kernels_backward_at_every_tile_edge)
{
    const nn_kernels *kt = table(_i);
    if (!kt)
        return;
    static const int widths[] = {16, 47, 48, 49, 96, 113};
    for (int m = 1; m <= 17; m++)
        for (int w = 0; w < 6; w++) {
            int K = 4 + (m + w) % 3;
            check_backward_products(kt, m, widths[w], K, (m + w) % 16);
            check_backward_products(kt, K, widths[w], m, (m * 3 + w) % 16);
            check_sgd_weights(kt, K, widths[w], m, (m + w) % 4, m % 2 ? 0.01f : 0.0f);
        }
}
END_TEST

/* The blocked path (kernels/panel.c: packed panels 48 wide and tiles 8 rows
 * tall with AVX-512, 16 and 6 with AVX2, K blocks of at most 512 split
 * evenly, SGD in one K block of at most 512; taken from 64 rows, 128
 * columns, K = 128 and 8 MFLOP up, for the forward always, for dX and dW
 * when K > 1024 or in % 1024 == 0, and AVX2's dW and SGD always; a last
 * panel of 16 or 32 columns past a multiple of 48, or of 1-15 past a
 * multiple of 16, runs a tile of its own width) on shapes that straddle
 * each of those edges
 * by one, unaligned, for each product's own M, N, K (forward B x out x in,
 * dX B x in x out, dW out x in x B): against the definition, and the fused
 * SGD bit for bit.  Tables without the path run the same checks on their
 * tiles. */
START_TEST(test_kernels_blocked_path_at_every_block_edge)
{
    const nn_kernels *kt = table(_i);
    if (!kt)
        return;
    static const int shapes[][3] = {
        /* B, in, out */
        {65, 129, 513},   /* fwd: 8 tiles + 1, 10 panels + 33, K = 129 */
        {71, 1024, 130},  /* fwd: K = 1024, 2 blocks; dX: 8 tiles + 7, 21 panels + 16 */
        {129, 1024, 72},  /* dW: 9 tiles, K = 129; SGD: one block */
        {64, 1024, 1025}, /* dX: K = 1025, 3 blocks of 342; fwd: 21 panels + 17 */
        {513, 1024, 64},  /* dW: K = 513, 2 blocks of 257; SGD: the plain tiles */
        {512, 1024, 65},  /* dW: K = 512, one block; SGD: one block of 512 */
        {129, 1024, 300}, /* dW, SGD: A packed in 2 row blocks (256 + 44), a last tile of 4 */
        {64, 1023, 130},  /* one under the thresholds: the plain tiles */
        {72, 2049, 128},  /* fwd: K = 2049, 5 blocks of 410, exactly 8 panels */
        {64, 143, 1100},  /* dX: K = 1100, 3 blocks, 3 panels - 1; fwd: 23 panels - 4 */
        {1100, 145, 64},  /* dW: K = 1100, 3 blocks of 367, 3 panels + 1 */
        {64, 128, 1100},  /* dX: K = 1100, 2 panels + 32 (a 2-vector tile) */
        {1100, 176, 64},  /* dW: K = 1100, 3 panels + 32 */
        {129, 256, 128},  /* fwd: 16 tiles + 1, 2 panels + 32 (a 2-vector tile), K = 256 */
        {128, 784, 256},  /* fwd: W2's first layer, 5 panels + 16 (a 1-vector tile) */
        {64, 490, 160},   /* fwd: 3 panels + 16, K = 490 */
        {66, 450, 145},   /* fwd: 3 panels + 1, 8 tiles + 2 */
        {128, 255, 128},  /* fwd: 8.36 MFLOP, blocked; K = 255 (a last odd k) */
        {128, 244, 128},  /* fwd: 7.99 MFLOP, one under: the plain tiles */
        {63, 600, 200},   /* fwd: 63 rows, one under: the plain tiles */
    };
    for (int s = 0; s < (int)(sizeof shapes / sizeof shapes[0]); s++) {
        int B = shapes[s][0], in = shapes[s][1], out = shapes[s][2];
        check_forward(kt, B, in, out, s % 3 == 0 ? NN_ACT_SIGMOID : s % 3 == 1 ? NN_ACT_RELU
                                                                              : NN_ACT_IDENTITY,
                      (s * 5) % 16);
        check_backward_products(kt, B, in, out, (s * 7 + 3) % 16);
        check_sgd_weights(kt, B, in, out, s % 4, s % 2 ? 0.01f : 0.0f);
    }
}
END_TEST

/* The vector sigmoid against double precision over [-90, 90] (every
 * activation region, both clamps) through a forward pass that computes
 * z = x * 1 + 0 exactly: relative error at most 4 ulp (2^-22) where the
 * result is a normal float, and NaN, +-inf handled. */
START_TEST(test_kernels_sigmoid_accuracy)
{
    const nn_kernels *kt = table(_i);
    if (!kt)
        return;
    enum { N = 36001 };
    float *X = malloc(sizeof(float) * (N + 3)), *Y = malloc(sizeof(float) * (N + 3));
    float one = 1.0f, zero = 0.0f;
    for (int i = 0; i < N; i++)
        X[i] = -90.0f + 180.0f * (float)i / (N - 1);
    X[N] = NAN;
    X[N + 1] = INFINITY;
    X[N + 2] = -INFINITY;
    kt->dense_forward(Y, X, &one, &zero, N + 3, 1, 1, NN_ACT_SIGMOID);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double want = 1.0 / (1.0 + exp(-(double)X[i]));
        if (want < 0x1p-126) {
            if (!(fabs(Y[i] - want) < 1e-37))
                ck_abort_msg("%s sigmoid(%g) = %g", kt->name, X[i], Y[i]);
            continue;
        }
        double rel = fabs(Y[i] - want) / want;
        worst = rel > worst ? rel : worst;
    }
    ck_assert_msg(worst <= 0x1p-22, "%s sigmoid: max relative error %.3g (%.2f ulp)", kt->name,
                  worst, worst / 0x1p-24);
    ck_assert_msg(isnan(Y[N]), "%s sigmoid(NaN) = %g", kt->name, Y[N]);
    ck_assert_msg(Y[N + 1] == 1.0f && Y[N + 2] == 0.0f, "%s sigmoid(+-inf) = %g, %g", kt->name,
                  Y[N + 1], Y[N + 2]);
    free(X);
    free(Y);
}
END_TEST

/* Each product on 1, 2, 3 and 5 threads gives the same bits.  The shapes are
 * above the threading threshold, odd, and leave partial tiles. */
START_TEST(test_kernels_bit_identical_for_any_thread_count)
{
    const nn_kernels *kt = table(_i);
    if (!kt)
        return;
    /* B, in, out; the last four take the blocked path (kernels/panel.c):
     * {129, 260, 130} with one group of 3 panels, which is cut into bands
     * of rows when there are several threads; the last with dW's A packed
     * in two row blocks */
    static const int shapes[][3] = {{37, 259, 131}, {130, 100, 45}, {130, 1024, 136},
                                    {129, 300, 520}, {129, 260, 130},
                                    {129, 1024, 300}};
    static const int threads[] = {1, 2, 3, 5};
    for (int s = 0; s < 5; s++) {
        int B = shapes[s][0], in = shapes[s][1], out = shapes[s][2];
        ck_assert(2.0 * B * in * out >= NN_POOL_MIN_FLOPS);
        nn_rng r;
        nn_rng_seed(&r, (uint64_t)s, 8);
        buf X = buf_make((size_t)B * in, 1, &r), W = buf_make((size_t)out * in, 2, &r),
            b = buf_make((size_t)out, 3, &r), dZ = buf_make((size_t)B * out, 1, &r),
            dW0 = buf_make((size_t)out * in, 0, &r);
        size_t ny = (size_t)B * out, nx = (size_t)B * in, nw = (size_t)out * in;
        float *Y[4], *dX[4], *dW[4];
        for (int t = 0; t < 4; t++) {
            nn_pool_set_threads(threads[t]);
            Y[t] = malloc(sizeof(float) * ny);
            dX[t] = malloc(sizeof(float) * nx);
            dW[t] = malloc(sizeof(float) * nw);
            memcpy(dW[t], dW0.p, sizeof(float) * nw);
            kt->dense_forward(Y[t], X.p, W.p, b.p, B, in, out, NN_ACT_SIGMOID);
            kt->dense_backward_input(dX[t], dZ.p, W.p, B, in, out);
            kt->dense_backward_weights(dW[t], dZ.p, X.p, B, in, out);
            if (t == 0)
                continue;
            ck_assert_msg(memcmp(Y[t], Y[0], sizeof(float) * ny) == 0,
                          "%s forward differs on %d threads", kt->name, threads[t]);
            ck_assert_msg(memcmp(dX[t], dX[0], sizeof(float) * nx) == 0,
                          "%s dX differs on %d threads", kt->name, threads[t]);
            ck_assert_msg(memcmp(dW[t], dW[0], sizeof(float) * nw) == 0,
                          "%s dW differs on %d threads", kt->name, threads[t]);
        }
        for (int t = 0; t < 4; t++) {
            free(Y[t]);
            free(dX[t]);
            free(dW[t]);
        }
        free(X.base);
        free(W.base);
        free(b.base);
        free(dZ.base);
        free(dW0.base);
    }
    nn_pool_set_threads(1);
}
END_TEST

/* The same numbers at other addresses give the same bits: the kernels align
 * their loads to the buffers, and must not let that change a sum's order
 * (buffer addresses may differ between runs, e.g. with the thread count). */
START_TEST(test_kernels_bit_identical_at_any_alignment)
{
    const nn_kernels *kt = table(_i);
    if (!kt)
        return;
    /* B, in, out; the last takes the blocked path (kernels/panel.c) */
    static const int shapes[][3] = {{9, 784, 21}, {6, 37, 50}, {5, 3, 17}, {64, 128, 513}};
    for (int s = 0; s < 4; s++) {
        int B = shapes[s][0], in = shapes[s][1], out = shapes[s][2];
        size_t nx = (size_t)B * in, nw = (size_t)out * in, ny = (size_t)B * out;
        nn_rng r;
        nn_rng_seed(&r, (uint64_t)s, 9);
        buf X0 = buf_make(nx, 0, &r), W0 = buf_make(nw, 0, &r), b0 = buf_make((size_t)out, 0, &r),
            dZ0 = buf_make(ny, 0, &r), dW0 = buf_make(nw, 0, &r);
        float *Y[2], *dX[2], *dW[2];
        for (int v = 0; v < 2; v++) {
            Y[v] = malloc(sizeof(float) * ny);
            dX[v] = malloc(sizeof(float) * nx);
            dW[v] = malloc(sizeof(float) * nw);
        }
        for (int skew = 0; skew < 16; skew++) {
            /* Every operand at its own offset from a 64-byte boundary. */
            buf X = buf_make(nx, skew, &r), W = buf_make(nw, (skew * 7) % 16, &r),
                dZ = buf_make(ny, (skew * 3) % 16, &r), dXb = buf_make(nx, (skew * 5) % 16, &r),
                dWb = buf_make(nw, (skew * 11) % 16, &r), Yb = buf_make(ny, (skew + 1) % 16, &r);
            memcpy(X.p, X0.p, sizeof(float) * nx);
            memcpy(W.p, W0.p, sizeof(float) * nw);
            memcpy(dZ.p, dZ0.p, sizeof(float) * ny);
            memcpy(dWb.p, dW0.p, sizeof(float) * nw);
            int v = skew > 0;
            kt->dense_forward(Yb.p, X.p, W.p, b0.p, B, in, out, NN_ACT_SIGMOID);
            kt->dense_backward_input(dXb.p, dZ.p, W.p, B, in, out);
            kt->dense_backward_weights(dWb.p, dZ.p, X.p, B, in, out);
            memcpy(Y[v], Yb.p, sizeof(float) * ny);
            memcpy(dX[v], dXb.p, sizeof(float) * nx);
            memcpy(dW[v], dWb.p, sizeof(float) * nw);
            free(X.base);
            free(W.base);
            free(dZ.base);
            free(dXb.base);
            free(dWb.base);
            free(Yb.base);
            if (!v)
                continue;
            ck_assert_msg(memcmp(Y[0], Y[1], sizeof(float) * ny) == 0,
                          "%s forward differs at skew %d (B=%d in=%d out=%d)", kt->name, skew, B,
                          in, out);
            ck_assert_msg(memcmp(dX[0], dX[1], sizeof(float) * nx) == 0,
                          "%s dX differs at skew %d (B=%d in=%d out=%d)", kt->name, skew, B, in,
                          out);
            ck_assert_msg(memcmp(dW[0], dW[1], sizeof(float) * nw) == 0,
                          "%s dW differs at skew %d (B=%d in=%d out=%d)", kt->name, skew, B, in,
                          out);
        }
        for (int v = 0; v < 2; v++) {
            free(Y[v]);
            free(dX[v]);
            free(dW[v]);
        }
        free(X0.base);
        free(W0.base);
        free(b0.base);
        free(dZ0.base);
        free(dW0.base);
    }
}
END_TEST

START_TEST(test_kernels_select_by_name)
{
    nn_error e = {0};
    ck_assert_int_eq(nn_kernels_select(NN_PREC_FP32, "scalar", &e), 0);
    ck_assert_str_eq(nn_kernels_get()->name, "scalar");
    ck_assert_ptr_eq(nn_kernels_get(), &nn_kernels_ref);
    ck_assert_int_eq(nn_kernels_select(NN_PREC_FP32, "sse9", &e), -1);
    ck_assert_int_eq(e.code, 2);
    ck_assert_str_eq(e.msg, "NNTRAIN_ISA=sse9: unknown kernel family (fp32 runs use scalar, "
                            "avx2 or avx512; bf16 runs scalar, avx2bf16, avx512bf16 or amx)");
    ck_assert_str_eq(nn_kernels_get()->name, "scalar"); /* a failed select changes nothing */
    ck_assert_int_eq(nn_kernels_isa(), NN_ISA_SCALAR);
    /* nn_kernels_isa follows the selected table, for every table this
     * processor can run */
    static const char *const names[] = {"scalar", "avx2", "avx512"};
    static const nn_isa isas[] = {NN_ISA_SCALAR, NN_ISA_AVX2, NN_ISA_AVX512};
    for (int i = 0; i < 3; i++)
        if (nn_kernels_select(NN_PREC_FP32, names[i], &e) == 0)
            ck_assert_int_eq(nn_kernels_isa(), isas[i]);
    ck_assert_int_eq(nn_kernels_select(NN_PREC_FP32, NULL, &e), 0);
}
END_TEST

/* avx2 and avx512 are selectable exactly when the compiler's own cpuid
 * check agrees; otherwise the error (code 2) names what is available, and
 * the default is the best available. */
START_TEST(test_kernels_select_follows_the_processor)
{
    int have[NISA] = {1, 0, 0};
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    have[1] = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    have[2] = have[1] && __builtin_cpu_supports("avx512f");
#endif
    int best = 0;
    for (int i = 1; i < NISA; i++) {
        nn_error e = {0};
        int rc = nn_kernels_select(NN_PREC_FP32, isa_names[i], &e);
        ck_assert_msg(rc == (have[i] ? 0 : -1), "select(%s) = %d", isa_names[i], rc);
        if (have[i]) {
            best = i;
            ck_assert_str_eq(nn_kernels_get()->name, isa_names[i]);
        } else {
            ck_assert_int_eq(e.code, 2);
            ck_assert_msg(strstr(e.msg, "this processor cannot run the") != NULL, "%s", e.msg);
        }
    }
    nn_error e = {0};
    ck_assert_int_eq(nn_kernels_select(NN_PREC_FP32, NULL, &e), 0);
    ck_assert_str_eq(nn_kernels_get()->name, isa_names[best]);
    ck_assert_int_eq(nn_kernels_select(NN_PREC_FP32, "", &e), 0);
    ck_assert_str_eq(nn_kernels_get()->name, isa_names[best]);
}
END_TEST

Suite *kernels_suite(void)
{
    Suite *s = suite_create("kernels");
    TCase *tc = tcase_create("products");
    tcase_set_timeout(tc, 120);
    /* Loop index: 0 scalar, 1 avx2, 2 avx512 (skipped where unavailable). */
    tcase_add_loop_test(tc, test_kernels_forward_matches_definition_on_odd_sizes, 0, NISA);
    tcase_add_loop_test(tc, test_kernels_forward_matches_definition_at_every_tile_edge, 0, NISA);
    tcase_add_loop_test(tc, test_kernels_backward_matches_definition_on_odd_sizes, 0, NISA);
    tcase_add_loop_test(tc, test_kernels_backward_at_every_tile_edge, 0, NISA);
    tcase_add_loop_test(tc, test_kernels_act_backward_matches_definition_and_ref, 0, NISA);
    tcase_add_loop_test(tc, test_kernels_sgd_weights_is_gradient_then_step, 0, NISA);
    tcase_add_loop_test(tc, test_kernels_blocked_path_at_every_block_edge, 0, NISA);
    tcase_add_loop_test(tc, test_kernels_sigmoid_accuracy, 0, NISA);
    tcase_add_loop_test(tc, test_kernels_bit_identical_for_any_thread_count, 0, NISA);
    tcase_add_loop_test(tc, test_kernels_bit_identical_at_any_alignment, 0, NISA);
    suite_add_tcase(s, tc);
    TCase *sel = tcase_create("selection");
    tcase_add_test(sel, test_kernels_select_by_name);
    tcase_add_test(sel, test_kernels_select_follows_the_processor);
    suite_add_tcase(s, sel);
    return s;
}
