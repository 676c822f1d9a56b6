#include "nn/model.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
    return m;
oom:
    nn_model_free(m);
    nn_error_set(err, NN_EXIT_RUNTIME, "out of memory for a model of %zu parameters", n_params);
    return NULL;
}

void nn_model_init_glorot(nn_model *m, nn_rng *rng)
{
    for (int l = 0; l < m->n_layers; l++) {
        int in = layer_in(m, l), out = m->units[l];
        double r = sqrt(6.0 / (double)(in + out));
        float *W = m->params + m->w_off[l];
        for (size_t i = 0; i < (size_t)in * out; i++)
            W[i] = (float)((2.0 * nn_rng_double(rng) - 1.0) * r);
        memset(m->params + m->b_off[l], 0, sizeof(float) * (size_t)out);
    }
}

const float *nn_model_forward(nn_model *m, const float *X, int B)
{
    const float *x = X;
    for (int l = 0; l < m->n_layers; l++) {
        nn_dense_forward(m->acts[l], x, m->params + m->w_off[l], m->params + m->b_off[l], B,
                         layer_in(m, l), m->units[l], m->act[l]);
        x = m->acts[l];
    }
    return m->acts[m->n_layers - 1];
}

void nn_model_zero_grad(nn_model *m)
{
    memset(m->grads, 0, sizeof(float) * m->n_params);
}

void nn_model_backward(nn_model *m, const float *X, float *dOut, int B, float *dX)
{
    /* g is dC/d(output of layer l); each layer turns it into dC/d(its input),
     * which is the g of the layer below.  The two scratch buffers alternate. */
    float *g = dOut;
    for (int l = m->n_layers - 1; l >= 0; l--) {
        const float *x = l == 0 ? X : m->acts[l - 1];
        float *below = l == 0 ? dX : m->delta[l & 1];
        nn_dense_backward(below, m->grads + m->w_off[l], m->grads + m->b_off[l], g, x,
                          m->acts[l], m->params + m->w_off[l], B, layer_in(m, l), m->units[l],
                          m->act[l]);
        g = below;
    }
}

void nn_model_free(nn_model *m)
{
    if (!m)
        return;
    free(m->params);
    free(m->grads);
    for (int l = 0; l < NN_MAX_LAYERS; l++)
        free(m->acts[l]);
    free(m->delta[0]);
    free(m->delta[1]);
    free(m);
}
