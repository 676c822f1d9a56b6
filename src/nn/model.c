#include "nn/model.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "math/activation.h"
#include "nn/dense.h"

static int layer_in(const nn_model *m, int l) { return l == 0 ? m->n_inputs : m->units[l - 1]; }

size_t nn_model_param_count(int n_inputs, int n_layers, const int *units)
{
    size_t total = 0;
    size_t in = (size_t)n_inputs;
    for (int l = 0; l < n_layers; l++) {
        size_t out = (size_t)units[l];
        if (out == 0 || in + 1 > SIZE_MAX / out)
            return 0;
        size_t n = out * (in + 1);
        if (total > SIZE_MAX - n)
            return 0;
        total += n;
        in = out;
    }
    return total;
}

nn_model *nn_model_create(int n_inputs, int n_layers, const int *units, const nn_act *act,
                          int max_batch, nn_error *err)
{
    if (n_inputs < 1 || n_inputs > NN_MAX_FEATURES || n_layers < 1 || n_layers > NN_MAX_LAYERS ||
        max_batch < 1) {
        nn_error_set(err, NN_EXIT_USAGE, "impossible model: %d inputs, %d layers", n_inputs,
                     n_layers);
        return NULL;
    }
    for (int l = 0; l < n_layers; l++) {
        if (units[l] < 1 || units[l] > NN_MAX_UNITS) {
            nn_error_set(err, NN_EXIT_USAGE, "impossible model: layer %d has %d units", l,
                         units[l]);
            return NULL;
        }
    }
    size_t n_params = nn_model_param_count(n_inputs, n_layers, units);
    nn_model *m = calloc(1, sizeof *m);
    if (!m || n_params == 0)
        goto oom;
    m->n_inputs = n_inputs;
    m->n_layers = n_layers;
    m->max_batch = max_batch;
    m->n_params = n_params;
    memcpy(m->units, units, sizeof(int) * (size_t)n_layers);
    memcpy(m->act, act, sizeof(nn_act) * (size_t)n_layers);
    for (int l = 0; l < n_layers; l++)
        m->alpha[l] = (float)nn_act_default_alpha(act[l]);

    size_t off = 0, widest = (size_t)n_inputs;
    for (int l = 0; l < n_layers; l++) {
        size_t in = (size_t)layer_in(m, l), out = (size_t)units[l];
        m->w_off[l] = off;
        m->b_off[l] = off + out * in;
        off += out * (in + 1);
        if (out > widest)
            widest = out;
    }
    m->params = calloc(n_params, sizeof(float));
    m->grads = calloc(n_params, sizeof(float));
    if (!m->params || !m->grads)
        goto oom;
    for (int l = 0; l < n_layers; l++) {
        m->acts[l] = malloc(sizeof(float) * (size_t)max_batch * (size_t)units[l]);
        if (!m->acts[l])
            goto oom;
    }
    for (int i = 0; i < 2; i++) {
        m->delta[i] = malloc(sizeof(float) * (size_t)max_batch * widest);
        if (!m->delta[i])
            goto oom;
    }
    m->logits = malloc(sizeof(float) * (size_t)max_batch * (size_t)units[n_layers - 1]);
    if (!m->logits)
        goto oom;
    return m;
oom:
    nn_model_free(m);
    nn_error_set(err, NN_EXIT_RUNTIME, "out of memory for a model of %zu parameters", n_params);
    return NULL;
}

static bool relu_like(nn_act a)
{
    return a == NN_ACT_RELU || a == NN_ACT_LEAKY_RELU || a == NN_ACT_ELU;
}

void nn_model_init(nn_model *m, nn_rng *rng, const nn_init *init)
{
    for (int l = 0; l < m->n_layers; l++) {
        int in = layer_in(m, l), out = m->units[l];
        nn_init how = init ? init[l] : NN_INIT_AUTO;
        if (how == NN_INIT_AUTO)
            how = relu_like(m->act[l]) ? NN_INIT_HE : NN_INIT_GLOROT;
        double r = how == NN_INIT_HE ? sqrt(6.0 / (double)in) : sqrt(6.0 / (double)(in + out));
        float *W = m->params + m->w_off[l];
        for (size_t i = 0; i < (size_t)in * out; i++)
            W[i] = (float)((2.0 * nn_rng_double(rng) - 1.0) * r);
        memset(m->params + m->b_off[l], 0, sizeof(float) * (size_t)out);
    }
}

void nn_model_init_glorot(nn_model *m, nn_rng *rng)
{
    nn_init glorot[NN_MAX_LAYERS];
    for (int l = 0; l < m->n_layers; l++)
        glorot[l] = NN_INIT_GLOROT;
    nn_model_init(m, rng, glorot);
}

int nn_model_set_dropout(nn_model *m, const float *rates, nn_error *err)
{
    for (int l = 0; l < m->n_layers; l++) {
        float p = rates ? rates[l] : 0.0f;
        m->dropout[l] = l < m->n_layers - 1 ? p : 0.0f;
        if (m->dropout[l] > 0 && !m->mask[l]) {
            size_t n = (size_t)m->max_batch * (size_t)m->units[l];
            m->mask[l] = malloc(sizeof(float) * n);
            m->kept[l] = malloc(sizeof(float) * n);
            if (!m->mask[l] || !m->kept[l]) {
                nn_error_set(err, NN_EXIT_RUNTIME, "out of memory for dropout masks");
                return -1;
            }
        }
    }
    return 0;
}

/* The kernels fuse these activations into the product's epilogue (and
 * their derivatives into act_backward); the others, which need alpha or
 * have no vector form in the kernels, are applied here, after an identity
 * product. */
static bool kernel_fused(nn_act a)
{
    return a == NN_ACT_IDENTITY || a == NN_ACT_SIGMOID || a == NN_ACT_RELU;
}

static void apply_activation(float *Y, const float *Z, int B, int out, nn_act act, float alpha)
{
    if (act == NN_ACT_SOFTMAX) {
        nn_softmax_rows(Y, Z, B, out);
        return;
    }
    size_t n = (size_t)B * (size_t)out;
    for (size_t i = 0; i < n; i++)
        Y[i] = nn_act_apply(act, alpha, Z[i]);
}

/* Layer l forward: acts[l] = f(x W^T + b), the output layer through logits. */
static void layer_forward(nn_model *m, int l, const float *x, int B)
{
    int in = layer_in(m, l), out = m->units[l];
    const float *W = m->params + m->w_off[l], *b = m->params + m->b_off[l];
    nn_act act = m->act[l];
    if (l == m->n_layers - 1) {
        nn_dense_forward(m->logits, x, W, b, B, in, out, NN_ACT_IDENTITY);
        apply_activation(m->acts[l], m->logits, B, out, act, m->alpha[l]);
    } else if (kernel_fused(act)) {
        nn_dense_forward(m->acts[l], x, W, b, B, in, out, act);
    } else {
        nn_dense_forward(m->acts[l], x, W, b, B, in, out, NN_ACT_IDENTITY);
        apply_activation(m->acts[l], m->acts[l], B, out, act, m->alpha[l]);
    }
}

static const float *forward(nn_model *m, const float *X, int B, nn_rng *rng)
{
    const float *x = X;
    for (int l = 0; l < m->n_layers; l++) {
        layer_forward(m, l, x, B);
        if (rng && m->dropout[l] > 0) {
            /* inverted dropout: keep each unit with probability q = 1 - p
             * and scale it by 1/q, so no change is needed at inference */
            size_t n = (size_t)B * (size_t)m->units[l];
            double p = m->dropout[l];
            float scale = (float)(1.0 / (1.0 - p));
            /* u = next >> 11 is nn_rng_double's 53-bit integer, and
             * u * 2^-53 < p exactly when u < ceil(p * 2^53): the same draws
             * without the conversion.  Then a loop that vectorises. */
            uint64_t below = (uint64_t)ceil(p * 0x1p53);
            float *mask = m->mask[l], *a = m->acts[l], *kept = m->kept[l];
            for (size_t i = 0; i < n; i++)
                mask[i] = (nn_rng_next(rng) >> 11) < below ? 0.0f : scale;
#pragma omp simd
            for (size_t i = 0; i < n; i++) {
                kept[i] = a[i];
                a[i] *= mask[i];
            }
        }
        x = m->acts[l];
    }
    return m->acts[m->n_layers - 1];
}

const float *nn_model_forward(nn_model *m, const float *X, int B)
{
    return forward(m, X, B, NULL);
}

const float *nn_model_forward_train(nn_model *m, const float *X, int B, nn_rng *rng)
{
    return forward(m, X, B, rng);
}

void nn_model_zero_grad(nn_model *m)
{
    memset(m->grads, 0, sizeof(float) * m->n_params);
}

typedef struct {
    float lr, wd;
} sgd_step;

static void backward(nn_model *m, const float *X, float *dOut, int B, float *dX, bool is_dz,
                     const sgd_step *sgd)
{
    /* g is dC/d(output of layer l); each layer turns it into dC/d(its input),
     * which is the g of the layer below.  The two scratch buffers alternate.
     * Where the kernels do not fuse the activation's derivative, it is
     * applied here and the kernels see an identity layer. */
    float *g = dOut;
    int last = m->n_layers - 1;
    for (int l = last; l >= 0; l--) {
        const float *x = l == 0 ? X : m->acts[l - 1];
        float *below = l == 0 ? dX : m->delta[l & 1];
        int out = m->units[l];
        size_t n = (size_t)B * (size_t)out;
        nn_act act = m->act[l];
        const float *y = m->mask[l] && m->dropout[l] > 0 ? m->kept[l] : m->acts[l];
        if (m->mask[l] && m->dropout[l] > 0) { /* through the dropout mask */
            const float *mask = m->mask[l];
#pragma omp simd
            for (size_t i = 0; i < n; i++)
                g[i] *= mask[i];
        }
        nn_act kact = act;
        if (l == last && is_dz) {
            kact = NN_ACT_IDENTITY; /* the loss gave dC/dZ already */
        } else if (act == NN_ACT_SOFTMAX) {
            nn_softmax_backward(g, g, y, B, out);
            kact = NN_ACT_IDENTITY;
        } else if (l == last || !kernel_fused(act)) {
            for (size_t i = 0; i < n; i++)
                g[i] *= nn_act_grad(act, m->alpha[l], y[i]);
            kact = NN_ACT_IDENTITY;
        }
        if (sgd)
            nn_dense_backward_sgd(below, m->params + m->w_off[l], m->params + m->b_off[l],
                                  m->grads + m->b_off[l], g, x, y, B, layer_in(m, l), out, kact,
                                  sgd->lr, sgd->wd);
        else
            nn_dense_backward(below, m->grads + m->w_off[l], m->grads + m->b_off[l], g, x, y,
                              m->params + m->w_off[l], B, layer_in(m, l), out, kact);
        g = below;
    }
}

void nn_model_backward(nn_model *m, const float *X, float *dOut, int B, float *dX, bool is_dz)
{
    backward(m, X, dOut, B, dX, is_dz, NULL);
}

void nn_model_backward_sgd(nn_model *m, const float *X, float *dOut, int B, bool is_dz, float lr,
                           float wd)
{
    sgd_step step = {lr, wd};
    backward(m, X, dOut, B, NULL, is_dz, &step);
}

void nn_model_free(nn_model *m)
{
    if (!m)
        return;
    free(m->params);
    free(m->grads);
    for (int l = 0; l < NN_MAX_LAYERS; l++) {
        free(m->acts[l]);
        free(m->kept[l]);
        free(m->mask[l]);
    }
    free(m->logits);
    free(m->delta[0]);
    free(m->delta[1]);
    free(m);
}
