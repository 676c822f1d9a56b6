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
 * forward for the backward: [mu and then m2 or the gradients' sums, 2 x out
 * doubles][s (out)][xh (max_batch, out)]; inference puts its per-feature
 * scale and shift (floats) where the doubles go.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

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

/* In floats: two double vectors, s, and xh. */
static size_t bn_n_scratch(const nn_layer *y, int max_batch)
{
    return 5 * (size_t)y->out + (size_t)max_batch * (size_t)y->out;
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

typedef struct {
    double *acc0, *acc1; /* (out,) each */
    float *s;            /* (out,) */
    float *xh;           /* (B, out) */
} bn_scratch;

static bn_scratch scratch_of(const nn_layer *y, float *scratch)
{
    size_t n = (size_t)y->out;
    double *d = (double *)(void *)scratch; /* the model allocates each scratch aligned */
    return (bn_scratch){d, d + n, scratch + 4 * n, scratch + 5 * n};
}

static void forward_train(const nn_layer *y, const nn_layer_bufs *b, const float *X, float *Z,
                          int B)
{
    int n = y->out;
    bn_scratch sc = scratch_of(y, b->scratch);
    double *mu = sc.acc0, *m2 = sc.acc1;
    const float *gamma = b->params, *beta = b->params + n;
    float *rmean = b->state, *rvar = b->state + n;
    for (int j = 0; j < n; j++)
        mu[j] = m2[j] = 0.0;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < n; j++)
            mu[j] += X[(size_t)i * n + j];
    for (int j = 0; j < n; j++)
        mu[j] /= B;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < n; j++) {
            double d = X[(size_t)i * n + j] - mu[j];
            m2[j] += d * d;
        }
    for (int j = 0; j < n; j++)
        sc.s[j] = (float)(1.0 / sqrt(m2[j] / B + y->eps));
    for (int i = 0; i < B; i++)
        for (int j = 0; j < n; j++) {
            size_t p = (size_t)i * n + j;
            float xh = (float)((X[p] - mu[j]) * sc.s[j]);
            sc.xh[p] = xh;
            Z[p] = gamma[j] * xh + beta[j];
        }
    double m = y->momentum, unbiased = B > 1 ? (double)B / (B - 1) : 1.0;
    for (int j = 0; j < n; j++) {
        rmean[j] = (float)((1.0 - m) * rmean[j] + m * mu[j]);
        rvar[j] = (float)((1.0 - m) * rvar[j] + m * (m2[j] / B) * unbiased);
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
    for (int i = 0; i < B; i++)
        for (int j = 0; j < n; j++) {
            size_t p = (size_t)i * n + j;
            Z[p] = X[p] * scale[j] + shift[j];
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
    int n = y->out;
    bn_scratch sc = scratch_of(y, b->scratch);
    double *dbeta = sc.acc0, *dgamma = sc.acc1;
    const float *gamma = b->params;
    float *ggamma = b->grads, *gbeta = b->grads + n;
    for (int j = 0; j < n; j++)
        dbeta[j] = dgamma[j] = 0.0;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < n; j++) {
            size_t p = (size_t)i * n + j;
            dbeta[j] += dY[p];
            dgamma[j] += (double)dY[p] * sc.xh[p];
        }
    for (int j = 0; j < n; j++) {
        ggamma[j] += (float)dgamma[j];
        gbeta[j] += (float)dbeta[j];
    }
    if (!dX)
        return;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < n; j++) {
            size_t p = (size_t)i * n + j;
            double k = (double)gamma[j] * sc.s[j] / B;
            dX[p] = (float)(k * ((double)B * dY[p] - dbeta[j] - sc.xh[p] * dgamma[j]));
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
    .forward = bn_forward,
    .backward = bn_backward,
    .backward_sgd = NULL,
    .n_work_d = bn_n_work_d,
    .forward_d = bn_forward_d,
    .backward_d = bn_backward_d,
    .put = bn_put,
    .get = bn_get,
};
