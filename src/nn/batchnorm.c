/* batchnorm.c - the batch normalisation layer kind: each feature of its
 * input (the pre-activation of the dense product before it) normalised over
 * the mini-batch, then scaled and shifted by learned parameters, before the
 * layer's activation.  PyTorch BatchNorm1d's conventions.
 *
 * Training forward, per feature j over the B rows i of the batch:
 *     mu_j   = (1/B) sum_i x_ij                        batch mean
 *     var_j  = (1/B) sum_i (x_ij - mu_j)^2             batch variance (biased)
 *     s_j    = 1 / sqrt(var_j + eps)
 *     xh_ij  = (x_ij - mu_j) s_j                       normalised
 *     z_ij   = gamma_j xh_ij + beta_j                  scaled and shifted
 * and the running statistics, which inference uses in place of the batch's:
 *     rmean_j <- (1 - m) rmean_j + m mu_j
 *     rvar_j  <- (1 - m) rvar_j  + m var_j B / (B - 1)  (the unbiased variance)
 * with m the momentum (0.1 by default), starting from rmean 0 and rvar 1.
 * Inference: z_ij = gamma_j (x_ij - rmean_j) / sqrt(rvar_j + eps) + beta_j.
 * A batch of one row has no variance; training refuses such batches before
 * it starts (src/train).
 *
 * Backward (derivation in docs/backprop.md), given g_ij = dC/dz_ij:
 *     dC/dbeta_j  = sum_i g_ij
 *     dC/dgamma_j = sum_i g_ij xh_ij
 *     dC/dx_ij    = (gamma_j s_j / B) (B g_ij - dC/dbeta_j - xh_ij dC/dgamma_j)
 * The last line is the chain rule through xh, mu and var together: x_ij
 * moves z_ij directly and every z_kj of its column through mu_j and var_j;
 * the two batch sums collect those paths.
 *
 * Every sum over the batch runs over the rows in order, in double, on the
 * calling thread: the result does not depend on the thread count.  The
 * parameters are gamma (group "scale") then beta (group "shift"), neither
 * with weight decay; the state is rmean then rvar.  Scratch, from a training
 * forward for the backward: [mu and m2, or the gradients' sums, and a factor:
 * 3 x out doubles][s (out)][xh (max_batch, out)]; inference puts its
 * per-feature scale and shift (floats) where the doubles go.  The float
 * engine's loops are compiled for each vector width, like the batch
 * conversion (data/batch.c).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kernels/kernels.h"
#include "nn/layer.h"

static size_t bn_group_size(const nn_layer *y, int group)
{
    (void)group;
    return (size_t)y->out;
}

static size_t bn_n_params(const nn_layer *y)
{
    return 2 * (size_t)y->out;
}

static size_t bn_n_state(const nn_layer *y)
{
    return 2 * (size_t)y->out;
}

/* In floats: three double vectors, s, and xh. */
static size_t bn_n_scratch(const nn_layer *y, int max_batch)
{
    return 7 * (size_t)y->out + (size_t)max_batch * (size_t)y->out;
}

static int bn_check(const nn_layer *y, char *why, size_t cap)
{
    if (y->in != y->out) {
        snprintf(why, cap, "layer %d: batch normalization of %d inputs into %d outputs",
                 y->origin + 1, y->in, y->out);
        return -1;
    }
    if (!(y->momentum >= 0.0 && y->momentum <= 1.0) || !(y->eps > 0.0 && isfinite(y->eps))) {
        snprintf(why, cap, "layer %d: batch normalization momentum %g, eps %g", y->origin + 1,
                 y->momentum, y->eps);
        return -1;
    }
    return 0;
}

/* gamma 1, beta 0; running mean 0 and variance 1.  No random draws. */
static void bn_init(const nn_layer *y, float *params, float *state, nn_rng *rng)
{
    (void)rng;
    size_t n = (size_t)y->out;
    for (size_t j = 0; j < n; j++) {
        params[j] = 1.0f;
        params[n + j] = 0.0f;
        state[j] = 0.0f;
        state[n + j] = 1.0f;
    }
}

static bool bn_fuses(nn_act act)
{
    return act == NN_ACT_IDENTITY;
}

/* The training pass's working set: per feature, two batch sums and a
 * factor in double and s, then xh (B, n). */
typedef struct {
    int B, n;
    const float *X, *gamma, *beta;
    float *Z;
    const float *dY;
    float *dX;
    double *acc0, *acc1, *acc2; /* (n,) each */
    float *s;                   /* (n,) */
    float *xh;                  /* (B, n) */
} bn_pass;

static bn_pass pass_of(const nn_layer *y, const nn_layer_bufs *b, int B)
{
    size_t n = (size_t)y->out;
    double *d = (double *)(void *)b->scratch; /* the model allocates each scratch aligned */
    return (bn_pass){.B = B, .n = y->out, .gamma = b->params, .beta = b->params + n,
                     .acc0 = d, .acc1 = d + n, .acc2 = d + 2 * n, .s = b->scratch + 6 * n,
                     .xh = b->scratch + 7 * n};
}

/* The loops over a batch, row by row with the features innermost, so they
 * run along memory and vectorise over the features; each feature's sums
 * still add the rows in order.  Compiled for each vector width (below):
 * no sum is reordered and nothing is contracted, so every width gives the
 * same bits. */

/* xh = (x - mu) s and Z = gamma xh + beta, row by row. */
static inline __attribute__((always_inline)) void normalize(const bn_pass *q, const double *mu)
{
    int B = q->B, n = q->n;
    for (int i = 0; i < B; i++) {
        const float *x = q->X + (size_t)i * n;
        float *xh = q->xh + (size_t)i * n, *z = q->Z + (size_t)i * n;
#pragma omp simd
        for (int j = 0; j < n; j++) {
            xh[j] = (float)((x[j] - mu[j]) * q->s[j]);
            z[j] = q->gamma[j] * xh[j] + q->beta[j];
        }
    }
}

/* dX from the sums dbeta = acc0 and dgamma = acc1 of a batch of `rows`
 * rows (k = gamma s / rows in acc2), for the q->B rows given. */
static inline __attribute__((always_inline)) void input_grad(const bn_pass *q, int rows)
{
    int B = q->B, n = q->n;
    double *dbeta = q->acc0, *dgamma = q->acc1, *k = q->acc2;
    for (int j = 0; j < n; j++)
        k[j] = (double)q->gamma[j] * q->s[j] / rows;
    for (int i = 0; i < B; i++) {
        const float *g = q->dY + (size_t)i * n, *xh = q->xh + (size_t)i * n;
        float *dx = q->dX + (size_t)i * n;
#pragma omp simd
        for (int j = 0; j < n; j++)
            dx[j] = (float)(k[j] * ((double)rows * g[j] - dbeta[j] - xh[j] * dgamma[j]));
    }
}

/* mu = acc0, m2 = acc1, s and xh, then Z = gamma xh + beta. */
static inline __attribute__((always_inline)) void forward_body(const bn_pass *q, double eps)
{
    int B = q->B, n = q->n;
    double *mu = q->acc0, *m2 = q->acc1;
    for (int j = 0; j < n; j++)
        mu[j] = m2[j] = 0.0;
    for (int i = 0; i < B; i++) {
        const float *x = q->X + (size_t)i * n;
#pragma omp simd
        for (int j = 0; j < n; j++)
            mu[j] += x[j];
    }
    for (int j = 0; j < n; j++)
        mu[j] /= B;
    for (int i = 0; i < B; i++) {
        const float *x = q->X + (size_t)i * n;
#pragma omp simd
        for (int j = 0; j < n; j++) {
            double d = x[j] - mu[j];
            m2[j] += d * d;
        }
    }
    for (int j = 0; j < n; j++)
        q->s[j] = (float)(1.0 / sqrt(m2[j] / B + eps));
    normalize(q, mu);
}

/* dbeta = acc0, dgamma = acc1, then dX with k = gamma s / B in acc2. */
static inline __attribute__((always_inline)) void backward_body(const bn_pass *q)
{
    int B = q->B, n = q->n;
    double *dbeta = q->acc0, *dgamma = q->acc1;
    for (int j = 0; j < n; j++)
        dbeta[j] = dgamma[j] = 0.0;
    for (int i = 0; i < B; i++) {
        const float *g = q->dY + (size_t)i * n, *xh = q->xh + (size_t)i * n;
#pragma omp simd
        for (int j = 0; j < n; j++) {
            dbeta[j] += g[j];
            dgamma[j] += (double)g[j] * xh[j];
        }
    }
    if (q->dX)
        input_grad(q, B);
}

typedef void (*forward_fn)(const bn_pass *q, double eps);
typedef void (*backward_fn)(const bn_pass *q);

static void forward_generic(const bn_pass *q, double eps) { forward_body(q, eps); }
static void backward_generic(const bn_pass *q) { backward_body(q); }
#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2"))) static void forward_avx2(const bn_pass *q, double eps)
{
    forward_body(q, eps);
}
__attribute__((target("avx2"))) static void backward_avx2(const bn_pass *q) { backward_body(q); }
__attribute__((target("avx512f"))) static void forward_avx512(const bn_pass *q, double eps)
{
    forward_body(q, eps);
}
__attribute__((target("avx512f"))) static void backward_avx512(const bn_pass *q)
{
    backward_body(q);
}
#endif

/* The width of the kernel table in use (cpuid, or NNTRAIN_ISA). */
static forward_fn pick_forward(void)
{
#if defined(__x86_64__) || defined(__i386__)
    static const forward_fn by_isa[] = {forward_generic, forward_avx2, forward_avx512};
    return by_isa[nn_kernels_isa()];
#else
    return forward_generic;
#endif
}

static backward_fn pick_backward(void)
{
#if defined(__x86_64__) || defined(__i386__)
    static const backward_fn by_isa[] = {backward_generic, backward_avx2, backward_avx512};
    return by_isa[nn_kernels_isa()];
#else
    return backward_generic;
#endif
}

/* ---- the batch in slices (nn/slices.h) ------------------------------------
 * The same sums, each slice's alone (rows in order, from zero) and added in
 * the slices' tree, then across the processes that share the batch (the
 * slicing's reduce, when it has one); B is then the whole batch's rows.
 * Compiled once: the loops' sums are not reordered whatever the width. */

typedef struct {
    const bn_pass *q;
    const double *mu;
} leaf_ctx;

static void leaf_sum(void *ctx, int lo, int hi, double *buf)
{
    const bn_pass *q = ((const leaf_ctx *)ctx)->q;
    int n = q->n;
    for (int j = 0; j < n; j++)
        buf[j] = 0.0;
    for (int i = lo; i < hi; i++) {
        const float *x = q->X + (size_t)i * n;
#pragma omp simd
        for (int j = 0; j < n; j++)
            buf[j] += x[j];
    }
}

static void leaf_squares(void *ctx, int lo, int hi, double *buf)
{
    const leaf_ctx *c = ctx;
    int n = c->q->n;
    for (int j = 0; j < n; j++)
        buf[j] = 0.0;
    for (int i = lo; i < hi; i++) {
        const float *x = c->q->X + (size_t)i * n;
#pragma omp simd
        for (int j = 0; j < n; j++) {
            double d = x[j] - c->mu[j];
            buf[j] += d * d;
        }
    }
}

static void leaf_grads(void *ctx, int lo, int hi, double *buf)
{
    const bn_pass *q = ((const leaf_ctx *)ctx)->q;
    int n = q->n;
    double *dbeta = buf, *dgamma = buf + n;
    for (int j = 0; j < n; j++)
        dbeta[j] = dgamma[j] = 0.0;
    for (int i = lo; i < hi; i++) {
        const float *g = q->dY + (size_t)i * n, *xh = q->xh + (size_t)i * n;
#pragma omp simd
        for (int j = 0; j < n; j++) {
            dbeta[j] += g[j];
            dgamma[j] += (double)g[j] * xh[j];
        }
    }
}

/* out (n) = the sliced sum of `leaf` over the process's rows, then over
 * every process's. */
static void sliced_sum(const nn_slicing *sl, const bn_pass *q, nn_slice_leaf leaf,
                       const leaf_ctx *c, size_t n, double *out)
{
    nn_slices_column_sums(sl, q->B, n, leaf, (void *)c, sl->dstack, out);
    if (sl->reduce)
        sl->reduce(out, n, sl->reduce_ctx);
}

static void forward_sliced(const nn_slicing *sl, const bn_pass *q, int rows, double eps)
{
    int n = q->n;
    double *mu = q->acc0, *m2 = q->acc1;
    leaf_ctx c = {q, mu};
    sliced_sum(sl, q, leaf_sum, &c, (size_t)n, mu);
    for (int j = 0; j < n; j++)
        mu[j] /= rows;
    sliced_sum(sl, q, leaf_squares, &c, (size_t)n, m2);
    for (int j = 0; j < n; j++)
        q->s[j] = (float)(1.0 / sqrt(m2[j] / rows + eps));
    normalize(q, mu);
}

/* dbeta = acc0, dgamma = acc1 (contiguous), then dX as backward_body. */
static void backward_sliced(const nn_slicing *sl, const bn_pass *q, int rows)
{
    leaf_ctx c = {q, NULL};
    sliced_sum(sl, q, leaf_grads, &c, 2 * (size_t)q->n, q->acc0);
    if (q->dX)
        input_grad(q, rows);
}

/* The rows of the whole batch: B, or more when other processes share it. */
static int batch_rows(const nn_layer_bufs *b, int B)
{
    return b->slicing && b->slicing->rows > 0 ? b->slicing->rows : B;
}

/* The batch's statistics, then the running ones. */
static void forward_train(const nn_layer *y, const nn_layer_bufs *b, const float *X, float *Z,
                          int B)
{
    bn_pass q = pass_of(y, b, B);
    q.X = X;
    q.Z = Z;
    if (b->slicing)
        forward_sliced(b->slicing, &q, batch_rows(b, B), y->eps);
    else
        pick_forward()(&q, y->eps);
    int n = y->out;
    float *rmean = b->state, *rvar = b->state + n;
    B = batch_rows(b, B);
    double m = y->momentum, unbiased = B > 1 ? (double)B / (B - 1) : 1.0;
    for (int j = 0; j < n; j++) {
        rmean[j] = (float)((1.0 - m) * rmean[j] + m * q.acc0[j]);
        rvar[j] = (float)((1.0 - m) * rvar[j] + m * (q.acc1[j] / B) * unbiased);
    }
}

/* z = x scale_j + shift_j, scale_j = gamma_j / sqrt(rvar_j + eps) and
 * shift_j = beta_j - rmean_j scale_j computed in double and rounded; the
 * two vectors live where a training pass keeps its batch sums. */
static void forward_infer(const nn_layer *y, const nn_layer_bufs *b, const float *X, float *Z,
                          int B)
{
    int n = y->out;
    const float *gamma = b->params, *beta = b->params + n;
    const float *rmean = b->state, *rvar = b->state + n;
    float *scale = b->scratch, *shift = b->scratch + n;
    for (int j = 0; j < n; j++) {
        double s = gamma[j] / sqrt((double)rvar[j] + y->eps);
        scale[j] = (float)s;
        shift[j] = (float)(beta[j] - rmean[j] * s);
    }
    for (int i = 0; i < B; i++) {
        const float *x = X + (size_t)i * n;
        float *z = Z + (size_t)i * n;
#pragma omp simd
        for (int j = 0; j < n; j++)
            z[j] = x[j] * scale[j] + shift[j];
    }
}

static void bn_forward(const nn_layer *y, const nn_layer_bufs *b, const float *X, float *Y,
                       int B, bool train, nn_act act)
{
    (void)act; /* only the identity is fused: the model applies the others */
    if (train)
        forward_train(y, b, X, Y, B);
    else
        forward_infer(y, b, X, Y, B);
}

static void bn_backward(const nn_layer *y, const nn_layer_bufs *b, const float *X,
                        const float *Y, float *dY, float *dX, int B, nn_act act)
{
    (void)X, (void)Y, (void)act;
    bn_pass q = pass_of(y, b, B);
    q.dY = dY;
    q.dX = dX;
    if (b->slicing)
        backward_sliced(b->slicing, &q, batch_rows(b, B));
    else
        pick_backward()(&q);
    int n = y->out;
    float *ggamma = b->grads, *gbeta = b->grads + n;
    for (int j = 0; j < n; j++) {
        ggamma[j] += (float)q.acc1[j];
        gbeta[j] += (float)q.acc0[j];
    }
}

/* ---- the double twin ------------------------------------------------------------ */

/* work: xh (B, out), then s (out). */
static size_t bn_n_work_d(const nn_layer *y, int B)
{
    return ((size_t)B + 1) * (size_t)y->out;
}

static void bn_forward_d(const nn_layer *y, const double *params, const double *X, double *Z,
                         double *work, int B)
{
    int n = y->out;
    const double *gamma = params, *beta = params + n;
    double *xh = work, *s = work + (size_t)B * n;
    for (int j = 0; j < n; j++) {
        double mu = 0.0, m2 = 0.0;
        for (int i = 0; i < B; i++)
            mu += X[(size_t)i * n + j];
        mu /= B;
        for (int i = 0; i < B; i++) {
            double d = X[(size_t)i * n + j] - mu;
            m2 += d * d;
        }
        s[j] = 1.0 / sqrt(m2 / B + y->eps);
        for (int i = 0; i < B; i++) {
            size_t p = (size_t)i * n + j;
            xh[p] = (X[p] - mu) * s[j];
            Z[p] = gamma[j] * xh[p] + beta[j];
        }
    }
}

static void bn_backward_d(const nn_layer *y, const double *params, const double *X,
                          const double *work, const double *dZ, double *dX, double *dparams,
                          int B)
{
    (void)X;
    int n = y->out;
    const double *gamma = params, *xh = work, *s = work + (size_t)B * n;
    double *dgamma = dparams, *dbeta = dparams + n;
    for (int j = 0; j < n; j++) {
        double sb = 0.0, sg = 0.0;
        for (int i = 0; i < B; i++) {
            size_t p = (size_t)i * n + j;
            sb += dZ[p];
            sg += dZ[p] * xh[p];
        }
        dbeta[j] = sb;
        dgamma[j] = sg;
        if (!dX)
            continue;
        for (int i = 0; i < B; i++) {
            size_t p = (size_t)i * n + j;
            dX[p] = gamma[j] * s[j] / B * (B * dZ[p] - sb - xh[p] * sg);
        }
    }
}

/* ---- checkpoint fields: f64 momentum, f64 eps ------------------------------------ */

static void bn_put(const nn_layer *y, nn_bytes *w)
{
    nn_put_f64(w, y->momentum);
    nn_put_f64(w, y->eps);
}

static int bn_get(nn_layer *y, nn_bytes_in *r, char *why, size_t cap)
{
    y->momentum = nn_get_f64(r);
    y->eps = nn_get_f64(r);
    return r->bad ? 0 : bn_check(y, why, cap); /* a short record is the caller's to report */
}

const nn_layer_ops nn_layer_batch_norm = {
    .name = "batch_norm",
    .group_name = {"scale", "shift"},
    .group_plural = {"scales", "shifts"},
    .group_decays = {false, false},
    .group_size = bn_group_size,
    .n_params = bn_n_params,
    .n_state = bn_n_state,
    .n_scratch = bn_n_scratch,
    .check = bn_check,
    .init = bn_init,
    .fuses = bn_fuses,
    .sums_across = true,
    .forward = bn_forward,
    .backward = bn_backward,
    .backward_sgd = NULL,
    .n_work_d = bn_n_work_d,
    .forward_d = bn_forward_d,
    .backward_d = bn_backward_d,
    .put = bn_put,
    .get = bn_get,
};
