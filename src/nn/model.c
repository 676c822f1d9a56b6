/* model.c - the network's buffers and its passes over the layer kinds
 * (model.h). */
#include "nn/model.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "math/activation.h"

/* n floats on a 64-byte boundary (a cache line, an AVX-512 vector), zeroed
 * if asked; at least one float (free() releases them).  malloc aligns large
 * blocks to 16 bytes only, so rows of 16 floats would straddle two cache
 * lines, and the buffers' common offset in their pages made W2's training
 * step about 5% slower. */
static float *alloc_floats(size_t n, bool zero)
{
    size_t bytes = ((n ? n : 1) * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes);
    if (p && zero)
        memset(p, 0, bytes);
    return p;
}

static const nn_layer_ops *ops_of(const nn_model *m, int l)
{
    return nn_layer_ops_of(m->arch.layers[l].kind);
}

nn_model *nn_model_create(const nn_arch *a, int max_batch, nn_error *err)
{
    char why[256];
    if (max_batch < 1 || nn_arch_check(a, why, sizeof why) != 0) {
        if (max_batch < 1)
            snprintf(why, sizeof why, "batches of %d rows", max_batch);
        nn_error_set(err, NN_EXIT_USAGE, "impossible model: %s", why);
        return NULL;
    }
    size_t n_params = nn_arch_param_count(a), n_state = nn_arch_state_count(a);
    nn_model *m = calloc(1, sizeof *m);
    if (!m)
        goto oom;
    m->arch = *a;
    m->max_batch = max_batch;
    m->n_params = n_params;
    m->n_state = n_state;
    size_t poff = 0, soff = 0, widest = (size_t)a->n_inputs, rows = (size_t)max_batch;
    for (int l = 0; l < a->n_layers; l++) {
        const nn_layer *y = &a->layers[l];
        const nn_layer_ops *ops = ops_of(m, l);
        m->param_off[l] = poff;
        m->state_off[l] = soff;
        poff += ops->n_params(y);
        soff += ops->n_state(y);
        if ((size_t)y->out > widest)
            widest = (size_t)y->out;
        size_t n = rows * (size_t)y->out, ns = ops->n_scratch(y, max_batch);
        m->acts[l] = alloc_floats(n, false);
        if (!m->acts[l])
            goto oom;
        if (ns && !(m->scratch[l] = alloc_floats(ns, false)))
            goto oom;
        if (y->dropout > 0) {
            m->mask[l] = alloc_floats(n, false);
            m->kept[l] = alloc_floats(n, false);
            if (!m->mask[l] || !m->kept[l])
                goto oom;
        }
    }
    m->params = alloc_floats(n_params, true);
    m->grads = alloc_floats(n_params, true);
    m->state = alloc_floats(n_state, true);
    m->logits = alloc_floats(rows * (size_t)nn_arch_outputs(a), false);
    m->delta[0] = alloc_floats(rows * widest, false);
    m->delta[1] = alloc_floats(rows * widest, false);
    if (!m->params || !m->grads || !m->state || !m->logits || !m->delta[0] || !m->delta[1])
        goto oom;
    return m;
oom:
    nn_model_free(m);
    nn_error_set(err, NN_EXIT_RUNTIME, "out of memory for a model of %zu parameters", n_params);
    return NULL;
}

nn_layer_bufs nn_model_bufs(const nn_model *m, int l)
{
    return (nn_layer_bufs){m->params + m->param_off[l], m->grads + m->param_off[l],
                           m->state + m->state_off[l], m->scratch[l],
                           m->slicing.S > 1 ? (nn_slicing *)&m->slicing : NULL};
}

int nn_model_set_slices(nn_model *m, int S, int lo, int hi, int threads, nn_error *err)
{
    nn_slicing_free(&m->slicing);
    m->slicing = (nn_slicing){.S = 1, .lo = 0, .hi = 1};
    /* the bits of a row must not depend on how many rows a process holds */
    nn_kernels_rows_free(S > 1);
    if (S <= 1)
        return 0;
    int widest = m->arch.n_inputs, max_in = 1;
    for (int l = 0; l < m->arch.n_layers; l++) {
        const nn_layer *y = &m->arch.layers[l];
        widest = y->out > widest ? y->out : widest;
        max_in = y->in > max_in ? y->in : max_in;
    }
    if (nn_slicing_init(&m->slicing, S, lo, hi, widest, max_in, m->max_batch, threads) < 0) {
        m->slicing = (nn_slicing){.S = 1, .lo = 0, .hi = 1};
        return nn_error_set(err, NN_EXIT_RUNTIME, "out of memory for the batch's slices"), -1;
    }
    return 0;
}

int nn_model_outputs(const nn_model *m)
{
    return nn_arch_outputs(&m->arch);
}

void nn_model_init(nn_model *m, nn_rng *rng)
{
    for (int l = 0; l < m->arch.n_layers; l++) {
        nn_layer_bufs b = nn_model_bufs(m, l);
        ops_of(m, l)->init(&m->arch.layers[l], b.params, b.state, rng);
    }
}

/* One loop per activation, so the activation is a constant inside it: the
 * compiler folds nn_act_apply's switch away, and vectorises the ones
 * without a libm call (the others call the scalar function, so every
 * path gives nn_act_apply's bits). */
#define ACT_LOOP(ACT, EXPR)                                                                      \
    case ACT:                                                                                    \
        _Pragma("omp simd") for (size_t i = 0; i < n; i++) EXPR;                                 \
        return
#define ACT_CALLS(ACT, EXPR)                                                                     \
    case ACT:                                                                                    \
        for (size_t i = 0; i < n; i++)                                                           \
            EXPR;                                                                                \
        return

static void apply_activation(float *Y, const float *Z, int B, int out, nn_act act, float alpha)
{
    size_t n = (size_t)B * (size_t)out;
    switch (act) {
    case NN_ACT_SOFTMAX:
        nn_softmax_rows(Y, Z, B, out);
        return;
    ACT_LOOP(NN_ACT_IDENTITY, Y[i] = nn_act_apply(NN_ACT_IDENTITY, alpha, Z[i]));
    ACT_LOOP(NN_ACT_RELU, Y[i] = nn_act_apply(NN_ACT_RELU, alpha, Z[i]));
    ACT_LOOP(NN_ACT_LEAKY_RELU, Y[i] = nn_act_apply(NN_ACT_LEAKY_RELU, alpha, Z[i]));
    ACT_CALLS(NN_ACT_SIGMOID, Y[i] = nn_act_apply(NN_ACT_SIGMOID, alpha, Z[i]));
    ACT_CALLS(NN_ACT_TANH, Y[i] = nn_act_apply(NN_ACT_TANH, alpha, Z[i]));
    ACT_CALLS(NN_ACT_ELU, Y[i] = nn_act_apply(NN_ACT_ELU, alpha, Z[i]));
    ACT_CALLS(NN_ACT_SOFTPLUS, Y[i] = nn_act_apply(NN_ACT_SOFTPLUS, alpha, Z[i]));
    }
}

/* g *= act'(a), element by element (the output layer and the activations
 * the kind does not fuse). */
static void apply_derivative(float *g, const float *a, size_t n, nn_act act, float alpha)
{
    switch (act) {
    case NN_ACT_SOFTMAX: /* its vector-Jacobian product is the caller's */
        return;
    ACT_LOOP(NN_ACT_IDENTITY, g[i] *= nn_act_grad(NN_ACT_IDENTITY, alpha, a[i]));
    ACT_LOOP(NN_ACT_SIGMOID, g[i] *= nn_act_grad(NN_ACT_SIGMOID, alpha, a[i]));
    ACT_LOOP(NN_ACT_TANH, g[i] *= nn_act_grad(NN_ACT_TANH, alpha, a[i]));
    ACT_LOOP(NN_ACT_RELU, g[i] *= nn_act_grad(NN_ACT_RELU, alpha, a[i]));
    ACT_LOOP(NN_ACT_LEAKY_RELU, g[i] *= nn_act_grad(NN_ACT_LEAKY_RELU, alpha, a[i]));
    ACT_LOOP(NN_ACT_ELU, g[i] *= nn_act_grad(NN_ACT_ELU, alpha, a[i]));
    ACT_CALLS(NN_ACT_SOFTPLUS, g[i] *= nn_act_grad(NN_ACT_SOFTPLUS, alpha, a[i]));
    }
}

/* Inverted dropout on layer l's output: keep each unit with probability
 * q = 1 - p and scale it by 1/q, so no change is needed at inference. */
static void dropout_forward(nn_model *m, int l, int B, nn_rng *rng)
{
    size_t n = (size_t)B * (size_t)m->arch.layers[l].out;
    double p = m->arch.layers[l].dropout;
    float scale = (float)(1.0 / (1.0 - p));
    /* u = next >> 11 is nn_rng_double's 53-bit integer, and u * 2^-53 < p
     * exactly when u < ceil(p * 2^53): the same draws without the
     * conversion.  Then a loop that vectorises. */
    uint64_t below = (uint64_t)ceil(p * 0x1p53);
    float *mask = m->mask[l], *a = m->acts[l], *kept = m->kept[l];
    if (m->slicing.S > 1) {
        /* a row's mask a function of its place in the whole batch, not of
         * which process holds it: its own stream of a seed drawn here */
        size_t out = (size_t)m->arch.layers[l].out;
        uint64_t seed = nn_rng_next(rng);
        int first = nn_slicing_first_row(&m->slicing, B);
        for (int i = 0; i < B; i++) {
            nn_rng r;
            nn_rng_seed(&r, seed, (uint64_t)(first + i));
            for (size_t j = 0; j < out; j++)
                mask[(size_t)i * out + j] = (nn_rng_next(&r) >> 11) < below ? 0.0f : scale;
        }
    } else {
        for (size_t i = 0; i < n; i++)
            mask[i] = (nn_rng_next(rng) >> 11) < below ? 0.0f : scale;
    }
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        kept[i] = a[i];
        a[i] *= mask[i];
    }
}

/* Layer l forward: acts[l] = f(Z), the output layer through logits; the
 * activation inside the kind's pass when it fuses it. */
static void layer_forward(nn_model *m, int l, const float *x, int B, bool train)
{
    const nn_layer *y = &m->arch.layers[l];
    const nn_layer_ops *ops = ops_of(m, l);
    nn_layer_bufs b = nn_model_bufs(m, l);
    if (l == m->arch.n_layers - 1) {
        ops->forward(y, &b, x, m->logits, B, train, NN_ACT_IDENTITY);
        apply_activation(m->acts[l], m->logits, B, y->out, y->act, y->alpha);
    } else if (ops->fuses(y->act)) {
        ops->forward(y, &b, x, m->acts[l], B, train, y->act);
    } else {
        ops->forward(y, &b, x, m->acts[l], B, train, NN_ACT_IDENTITY);
        apply_activation(m->acts[l], m->acts[l], B, y->out, y->act, y->alpha);
    }
}

static const float *forward(nn_model *m, const float *X, int B, bool train, nn_rng *rng)
{
    const float *x = X;
    m->dropped = train && rng;
    for (int l = 0; l < m->arch.n_layers; l++) {
        layer_forward(m, l, x, B, train);
        if (m->dropped && m->mask[l])
            dropout_forward(m, l, B, rng);
        x = m->acts[l];
    }
    return m->acts[m->arch.n_layers - 1];
}

const float *nn_model_forward(nn_model *m, const float *X, int B)
{
    return forward(m, X, B, false, NULL);
}

const float *nn_model_forward_train(nn_model *m, const float *X, int B, nn_rng *rng)
{
    return forward(m, X, B, true, rng);
}

void nn_model_zero_grad(nn_model *m)
{
    memset(m->grads, 0, sizeof(float) * m->n_params);
}

typedef struct {
    float lr, wd;
} sgd_step;

/* The plain SGD step of layer l's parameters from its gradients, which are
 * cleared: the rule of nn_optim_step, group by group. */
static void sgd_layer(nn_model *m, int l, const sgd_step *sgd)
{
    const nn_layer *y = &m->arch.layers[l];
    const nn_layer_ops *ops = ops_of(m, l);
    nn_layer_bufs b = nn_model_bufs(m, l);
    size_t off = 0;
    for (int g = 0; g < 2; g++) {
        size_t n = ops->group_size(y, g);
        nn_optim_sgd_plain(b.params + off, b.grads + off, n, sgd->lr,
                           ops->group_decays[g] ? sgd->wd : 0.0f);
        off += n;
    }
}

/* g is dC/d(output of layer l); each layer turns it into dC/d(its input),
 * the g of the layer below.  The two scratch buffers alternate.  Where the
 * kind does not fuse the activation, its derivative is applied here and
 * the kind sees an identity layer. */
static void backward(nn_model *m, const float *X, float *dOut, int B, float *dX, bool is_dz,
                     const sgd_step *sgd)
{
    float *g = dOut;
    int last = m->arch.n_layers - 1;
    for (int l = last; l >= 0; l--) {
        const nn_layer *y = &m->arch.layers[l];
        const nn_layer_ops *ops = ops_of(m, l);
        const float *x = l == 0 ? X : m->acts[l - 1];
        float *below = l == 0 ? dX : m->delta[l & 1];
        size_t n = (size_t)B * (size_t)y->out;
        bool dropped = m->dropped && m->mask[l];
        const float *out = dropped ? m->kept[l] : m->acts[l];
        if (dropped) { /* through the dropout mask */
            const float *mask = m->mask[l];
#pragma omp simd
            for (size_t i = 0; i < n; i++)
                g[i] *= mask[i];
        }
        nn_act kact = y->act;
        if (l == last && is_dz) {
            kact = NN_ACT_IDENTITY; /* the loss gave dC/dZ already */
        } else if (y->act == NN_ACT_SOFTMAX) {
            nn_softmax_backward(g, g, out, B, y->out);
            kact = NN_ACT_IDENTITY;
        } else if (l == last || !ops->fuses(y->act)) {
            apply_derivative(g, out, n, y->act, y->alpha);
            kact = NN_ACT_IDENTITY;
        }
        nn_layer_bufs b = nn_model_bufs(m, l);
        if (sgd && ops->backward_sgd) {
            ops->backward_sgd(y, &b, x, out, g, below, B, kact, sgd->lr, sgd->wd);
        } else {
            ops->backward(y, &b, x, out, g, below, B, kact);
            if (sgd)
                sgd_layer(m, l, sgd);
            else if (m->slicing.on_grads && !ops->sums_across)
                m->slicing.on_grads(m->slicing.on_grads_ctx, b.grads, ops->n_params(y));
        }
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

size_t nn_model_decay_ranges(const nn_model *m, nn_optim_range *out, size_t cap)
{
    size_t k = 0;
    for (int l = 0; l < m->arch.n_layers; l++) {
        const nn_layer *y = &m->arch.layers[l];
        const nn_layer_ops *ops = ops_of(m, l);
        size_t off = m->param_off[l];
        for (int g = 0; g < 2; g++) {
            size_t n = ops->group_size(y, g);
            if (ops->group_decays[g] && n > 0 && k < cap)
                out[k++] = (nn_optim_range){off, n};
            off += n;
        }
    }
    return k;
}

void nn_model_free(nn_model *m)
{
    if (!m)
        return;
    free(m->params);
    free(m->grads);
    free(m->state);
    for (int l = 0; l < NN_MAX_ARCH_LAYERS; l++) {
        free(m->acts[l]);
        free(m->kept[l]);
        free(m->mask[l]);
        free(m->scratch[l]);
    }
    free(m->logits);
    free(m->delta[0]);
    free(m->delta[1]);
    nn_slicing_free(&m->slicing);
    free(m);
}
