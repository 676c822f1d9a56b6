/* dense.c - the dense layer kind: Z = X W^T + b, with the activation fused
 * into the kernels' epilogue where they have it.
 *
 * Forward, for one sample (row) x of X:
 *     z_j = sum_k W[j,k] x_k + b_j          (the matrix product and bias add)
 *     y_j = f(z_j)                          (the activation)
 *
 * Backward.  The cost C depends on the layer only through y, and the layer
 * receives g_j = dC/dy_j.  The chain rule through each vertex of the layer:
 *   activation  dC/dz_j  = g_j f'(z_j)            (element-wise; f' is taken
 *               from the output: a(1-a) for sigmoid, 1 for identity)
 *   bias add    dC/db_j  = sum over samples of dC/dz_j
 *               (z_j depends on b_j with slope 1, and b is shared by every
 *               sample of the batch, so the contributions add)
 *   product     dC/dW[j,k] = sum over samples of dC/dz_j x_k
 *               (dz_j/dW[j,k] = x_k; again summed over the batch)
 *               dC/dx_k  = sum_j dC/dz_j W[j,k]
 *               (x_k reaches C through every z_j)
 * In matrix form, with dZ (B, out):  dZ = dY .* f'(Z),  dW += dZ^T X,
 * db += 1^T dZ,  dX = dZ W.  dX is what the layer below receives as its g.
 *
 * Parameters: W (out, in) row-major (group "weight", with weight decay),
 * then b (out) (group "bias", no decay) unless the layer has no bias (under
 * batch normalisation).  Without a bias the kernels, which always add one,
 * get a vector of zeros, and the bias gradient they sum goes to a scratch
 * vector that nothing reads: the scratch is [zeros (out)][sink (out)].
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kernels/kernels.h"
#include "nn/layer.h"
#include "util/profile.h"

static size_t weights(const nn_layer *y)
{
    return (size_t)y->out * (size_t)y->in;
}

static size_t dense_group_size(const nn_layer *y, int group)
{
    return group == 0 ? weights(y) : y->bias ? (size_t)y->out : 0;
}

static size_t dense_n_params(const nn_layer *y)
{
    size_t out = (size_t)y->out, in = (size_t)y->in + (y->bias ? 1 : 0);
    return in > SIZE_MAX / out ? SIZE_MAX : out * in; /* SIZE_MAX: overflows */
}

static size_t dense_n_state(const nn_layer *y)
{
    (void)y;
    return 0;
}

static size_t dense_n_scratch(const nn_layer *y, int max_batch)
{
    (void)max_batch;
    return y->bias ? 0 : 2 * (size_t)y->out;
}

static int dense_check(const nn_layer *y, char *why, size_t cap)
{
    (void)y, (void)why, (void)cap;
    return 0;
}

/* Glorot/Xavier uniform W ~ U(-r, r), r = sqrt(6 / (in + out)), or He
 * uniform, r = sqrt(6 / in); the bias zero. */
static void dense_init(const nn_layer *y, float *params, float *state, nn_rng *rng)
{
    (void)state;
    double r = y->init == NN_INIT_HE ? sqrt(6.0 / (double)y->in)
                                     : sqrt(6.0 / (double)(y->in + y->out));
    size_t nw = weights(y);
    for (size_t i = 0; i < nw; i++)
        params[i] = (float)((2.0 * nn_rng_double(rng) - 1.0) * r);
    if (y->bias)
        memset(params + nw, 0, sizeof(float) * (size_t)y->out);
}

static bool dense_fuses(nn_act act)
{
    return act == NN_ACT_IDENTITY || act == NN_ACT_SIGMOID || act == NN_ACT_RELU;
}

/* The bias the kernels add, and where they sum its gradient. */
static const float *bias_of(const nn_layer *y, const nn_layer_bufs *b)
{
    return y->bias ? b->params + weights(y) : b->scratch;
}

static float *bias_grad_of(const nn_layer *y, const nn_layer_bufs *b)
{
    if (y->bias)
        return b->grads + weights(y);
    float *sink = b->scratch + y->out;
    memset(sink, 0, sizeof(float) * (size_t)y->out);
    return sink;
}

static void dense_forward(const nn_layer *y, const nn_layer_bufs *b, const float *X, float *Y,
                          int B, bool train, nn_act act)
{
    (void)train;
    if (!y->bias) /* the zeros the kernels add */
        memset(b->scratch, 0, sizeof(float) * (size_t)y->out);
    double t0 = nn_prof_begin();
    nn_kernels_get()->dense_forward(Y, X, b->params, bias_of(y, b), B, y->in, y->out, act);
    nn_prof_end(NN_PROF_KERNELS, t0);
}

/* The batch in slices (nn/slices.h): dY becomes dZ (its bias sum, taken
 * in one piece, goes to the sink), dX = dZ W with W as it is, then dW and
 * db as the slices' tree, or their SGD step (sgd). */
static void sliced_backward(const nn_layer *y, const nn_layer_bufs *b, const float *X,
                            const float *Y, float *dY, float *dX, int B, nn_act act, int sgd,
                            float lr, float wd)
{
    const nn_kernels *k = nn_kernels_get();
    float *to = sgd ? b->params : b->grads;
    memset(b->slicing->sink, 0, sizeof(float) * (size_t)y->out);
    k->act_backward(dY, b->slicing->sink, Y, B, y->out, act);
    if (dX)
        k->dense_backward_input(dX, dY, b->params, B, y->in, y->out);
    nn_slices_dense(b->slicing, k, to, y->bias ? to + weights(y) : NULL, dY, X, B, y->in,
                    y->out, sgd, lr, wd);
}

static void dense_backward(const nn_layer *y, const nn_layer_bufs *b, const float *X,
                           const float *Y, float *dY, float *dX, int B, nn_act act)
{
    const nn_kernels *k = nn_kernels_get();
    double t0 = nn_prof_begin();
    if (b->slicing) {
        sliced_backward(y, b, X, Y, dY, dX, B, act, 0, 0.0f, 0.0f);
        nn_prof_end(NN_PROF_KERNELS, t0);
        return;
    }
    float *db = bias_grad_of(y, b);
    k->act_backward(dY, db, Y, B, y->out, act);                  /* dY becomes dZ; db += 1^T dZ */
    k->dense_backward_weights(b->grads, dY, X, B, y->in, y->out); /* dW += dZ^T X */
    if (dX)
        k->dense_backward_input(dX, dY, b->params, B, y->in, y->out); /* dX = dZ W */
    nn_prof_end(NN_PROF_KERNELS, t0);
}

static void dense_backward_sgd(const nn_layer *y, const nn_layer_bufs *b, const float *X,
                               const float *Y, float *dY, float *dX, int B, nn_act act,
                               float lr, float wd)
{
    const nn_kernels *k = nn_kernels_get();
    float *W = b->params;
    double t0 = nn_prof_begin();
    if (b->slicing) {
        sliced_backward(y, b, X, Y, dY, dX, B, act, 1, lr, wd);
        nn_prof_end(NN_PROF_KERNELS, t0);
        return;
    }
    float *db = bias_grad_of(y, b);
    k->act_backward(dY, db, Y, B, y->out, act);                   /* dY becomes dZ; db += 1^T dZ */
    if (dX)
        k->dense_backward_input(dX, dY, W, B, y->in, y->out);     /* dX = dZ W, W before the step */
    k->dense_sgd_weights(W, dY, X, B, y->in, y->out, lr, wd);     /* W -= lr (dZ^T X + wd W) */
    nn_prof_end(NN_PROF_KERNELS, t0);
    if (!y->bias)
        return;
    /* the biases' step, the optimizer's rule with no decay, from db (zero on
     * entry, so it holds 1^T dZ), which is left zero again */
    float *bias = W + weights(y);
    for (int j = 0; j < y->out; j++) {
        bias[j] -= lr * (db[j] + 0.0f * bias[j]);
        db[j] = 0.0f;
    }
}

/* ---- the double twin ------------------------------------------------------ */

static size_t dense_n_work_d(const nn_layer *y, int B)
{
    (void)y, (void)B;
    return 0;
}

static void dense_forward_d(const nn_layer *y, const double *params, const double *X, double *Z,
                            double *work, int B)
{
    (void)work;
    int in = y->in, out = y->out;
    const double *W = params, *bias = y->bias ? params + weights(y) : NULL;
    for (int i = 0; i < B; i++) {
        const double *xi = X + (size_t)i * in;
        for (int j = 0; j < out; j++) {
            const double *wj = W + (size_t)j * in;
            double z = bias ? bias[j] : 0.0;
            for (int k = 0; k < in; k++)
                z += wj[k] * xi[k];
            Z[(size_t)i * out + j] = z;
        }
    }
}

/* db = 1^T dZ, dW = dZ^T X (sums over the batch), dX = dZ W. */
static void dense_backward_d(const nn_layer *y, const double *params, const double *X,
                             const double *work, const double *dZ, double *dX, double *dparams,
                             int B)
{
    (void)work;
    int in = y->in, out = y->out;
    const double *W = params;
    double *dW = dparams, *db = y->bias ? dparams + weights(y) : NULL;
    for (int j = 0; j < out; j++) {
        if (db) {
            double sb = 0.0;
            for (int i = 0; i < B; i++)
                sb += dZ[(size_t)i * out + j];
            db[j] = sb;
        }
        for (int k = 0; k < in; k++) {
            double sw = 0.0;
            for (int i = 0; i < B; i++)
                sw += dZ[(size_t)i * out + j] * X[(size_t)i * in + k];
            dW[(size_t)j * in + k] = sw;
        }
    }
    if (!dX)
        return;
    for (int i = 0; i < B; i++)
        for (int k = 0; k < in; k++) {
            double s = 0.0;
            for (int j = 0; j < out; j++)
                s += dZ[(size_t)i * out + j] * W[(size_t)j * in + k];
            dX[(size_t)i * in + k] = s;
        }
}

/* ---- checkpoint fields: u32 bias (0 or 1) ------------------------------------- */

static void dense_put(const nn_layer *y, nn_bytes *w)
{
    nn_put_u32(w, y->bias ? 1 : 0);
}

static int dense_get(nn_layer *y, nn_bytes_in *r, char *why, size_t cap)
{
    uint32_t bias = nn_get_u32(r);
    if (bias > 1) {
        snprintf(why, cap, "layer %d has bias flag %lu", y->origin + 1, (unsigned long)bias);
        return -1;
    }
    y->bias = bias == 1;
    y->init = NN_INIT_GLOROT; /* not stored: the weights are past their start */
    return 0;
}

const nn_layer_ops nn_layer_dense = {
    .name = "dense",
    .group_name = {"weight", "bias"},
    .group_plural = {"weights", "biases"},
    .group_decays = {true, false},
    .group_size = dense_group_size,
    .n_params = dense_n_params,
    .n_state = dense_n_state,
    .n_scratch = dense_n_scratch,
    .check = dense_check,
    .init = dense_init,
    .fuses = dense_fuses,
    .forward = dense_forward,
    .backward = dense_backward,
    .backward_sgd = dense_backward_sgd,
    .n_work_d = dense_n_work_d,
    .forward_d = dense_forward_d,
    .backward_d = dense_backward_d,
    .put = dense_put,
    .get = dense_get,
};
