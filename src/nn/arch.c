/* arch.c - building, checking and comparing architectures (arch.h). */
#include "nn/arch.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "nn/layer.h"

static bool relu_like(nn_act a)
{
    return a == NN_ACT_RELU || a == NN_ACT_LEAKY_RELU || a == NN_ACT_ELU;
}

static bool uses_alpha(nn_act a)
{
    return a == NN_ACT_LEAKY_RELU || a == NN_ACT_ELU;
}

int nn_arch_from_layers(nn_arch *a, int n_inputs, const nn_layer_cfg *cfg, int n_cfg,
                        nn_error *err)
{
    memset(a, 0, sizeof *a);
    if (n_inputs < 1 || n_inputs > NN_MAX_FEATURES || n_cfg < 1 || n_cfg > NN_MAX_LAYERS) {
        nn_error_set(err, NN_EXIT_USAGE, "impossible model: %d inputs, %d layers", n_inputs,
                     n_cfg);
        return -1;
    }
    a->n_inputs = n_inputs;
    int in = n_inputs;
    for (int d = 0; d < n_cfg; d++) {
        const nn_layer_cfg *c = &cfg[d];
        bool last = d == n_cfg - 1;
        if (c->units < 1 || c->units > NN_MAX_UNITS) {
            nn_error_set(err, NN_EXIT_USAGE, "impossible model: layer %d has %d units", d + 1,
                         c->units);
            return -1;
        }
        if (c->act == NN_ACT_SOFTMAX && !last) {
            nn_error_set(err, NN_EXIT_USAGE,
                         "impossible model: layer %d: softmax is for the output layer only",
                         d + 1);
            return -1;
        }
        if (c->batch_norm && last) {
            nn_error_set(err, NN_EXIT_USAGE,
                         "impossible model: layer %d: batch normalization is for hidden layers",
                         d + 1);
            return -1;
        }
        nn_init init = c->init;
        if (init == NN_INIT_AUTO) /* by the declared activation, after any normalisation */
            init = relu_like(c->act) ? NN_INIT_HE : NN_INIT_GLOROT;
        float alpha = uses_alpha(c->act) ? (float)c->alpha : 0.0f;
        nn_layer *dense = &a->layers[a->n_layers++];
        *dense = (nn_layer){.kind = NN_LAYER_DENSE, .origin = d, .in = in, .out = c->units,
                            .act = c->act, .alpha = alpha, .dropout = (float)c->dropout,
                            .bias = true, .init = init};
        if (c->batch_norm) {
            dense->act = NN_ACT_IDENTITY;
            dense->alpha = 0.0f;
            dense->dropout = 0.0f;
            dense->bias = false;
            a->layers[a->n_layers++] = (nn_layer){
                .kind = NN_LAYER_BATCH_NORM, .origin = d, .in = c->units, .out = c->units,
                .act = c->act, .alpha = alpha, .dropout = (float)c->dropout,
                .momentum = c->batch_norm_momentum, .eps = c->batch_norm_eps};
        }
        in = c->units;
    }
    return 0;
}

int nn_arch_check(const nn_arch *a, char *why, size_t cap)
{
    if (a->n_inputs < 1 || a->n_inputs > NN_MAX_FEATURES) {
        snprintf(why, cap, "n_inputs %d not in 1..%d", a->n_inputs, NN_MAX_FEATURES);
        return -1;
    }
    if (a->n_layers < 1 || a->n_layers > NN_MAX_ARCH_LAYERS) {
        snprintf(why, cap, "%d layers, not in 1..%d", a->n_layers, NN_MAX_ARCH_LAYERS);
        return -1;
    }
    int in = a->n_inputs, origin = -1;
    for (int l = 0; l < a->n_layers; l++) {
        const nn_layer *y = &a->layers[l];
        if ((int)y->kind < 0 || y->kind >= NN_LAYER_KINDS) {
            snprintf(why, cap, "layer %d has an unknown kind", l + 1);
            return -1;
        }
        if (y->origin < 0 || y->origin >= NN_MAX_LAYERS ||
            (y->origin != origin && y->origin != origin + 1)) {
            snprintf(why, cap, "layer %d belongs to declared layer %lld after %d", l + 1,
                     (long long)y->origin + 1, origin + 1);
            return -1;
        }
        origin = y->origin;
        if (y->out < 1 || y->out > NN_MAX_UNITS) {
            snprintf(why, cap, "layer %d has %d units, not in 1..%d", y->origin + 1, y->out,
                     NN_MAX_UNITS);
            return -1;
        }
        if (y->in != in) {
            snprintf(why, cap, "layer %d takes %d inputs after %d outputs", y->origin + 1, y->in,
                     in);
            return -1;
        }
        if (strcmp(nn_act_name(y->act), "?") == 0) {
            snprintf(why, cap, "layer %d has unknown activation %d", y->origin + 1, (int)y->act);
            return -1;
        }
        if (y->act == NN_ACT_SOFTMAX && l != a->n_layers - 1) {
            snprintf(why, cap, "layer %d: softmax before the output layer", y->origin + 1);
            return -1;
        }
        if (!isfinite(y->alpha) || y->alpha < 0) {
            snprintf(why, cap, "layer %d has activation parameter %g", y->origin + 1,
                     (double)y->alpha);
            return -1;
        }
        if (nn_layer_ops_of(y->kind)->check(y, why, cap) != 0)
            return -1;
        in = y->out;
    }
    if (origin + 1 > NN_MAX_LAYERS) {
        snprintf(why, cap, "%d declared layers, not in 1..%d", origin + 1, NN_MAX_LAYERS);
        return -1;
    }
    if (nn_arch_param_count(a) == 0) {
        snprintf(why, cap, "the parameter count overflows");
        return -1;
    }
    return 0;
}

int nn_arch_declared(const nn_arch *a)
{
    return a->n_layers > 0 ? a->layers[a->n_layers - 1].origin + 1 : 0;
}

int nn_arch_outputs(const nn_arch *a)
{
    return a->layers[a->n_layers - 1].out;
}

nn_act nn_arch_output_act(const nn_arch *a)
{
    return a->layers[a->n_layers - 1].act;
}

const nn_layer *nn_arch_declared_last(const nn_arch *a, int d)
{
    const nn_layer *found = NULL;
    for (int l = 0; l < a->n_layers; l++)
        if (a->layers[l].origin == d)
            found = &a->layers[l];
    return found;
}

const nn_layer *nn_arch_batch_norm_of(const nn_arch *a, int d)
{
    for (int l = 0; l < a->n_layers; l++)
        if (a->layers[l].origin == d && a->layers[l].kind == NN_LAYER_BATCH_NORM)
            return &a->layers[l];
    return NULL;
}

/* Sums a count over the layers; 0 when it overflows (a kind says so with
 * SIZE_MAX). */
static size_t sum_counts(const nn_arch *a, bool params)
{
    size_t total = 0;
    for (int l = 0; l < a->n_layers; l++) {
        const nn_layer_ops *ops = nn_layer_ops_of(a->layers[l].kind);
        size_t n = params ? ops->n_params(&a->layers[l]) : ops->n_state(&a->layers[l]);
        if (n == SIZE_MAX || total > SIZE_MAX - n) /* SIZE_MAX: the kind's count overflowed */
            return 0;
        total += n;
    }
    return total;
}

size_t nn_arch_param_count(const nn_arch *a)
{
    return sum_counts(a, true);
}

size_t nn_arch_state_count(const nn_arch *a)
{
    return sum_counts(a, false);
}

bool nn_arch_same(const nn_arch *x, const nn_arch *y, const char *first, const char *second,
                  char *why, size_t cap)
{
    int dx = nn_arch_declared(x), dy = nn_arch_declared(y);
    if (dx != dy) {
        snprintf(why, cap, "the %s has %d layers, the %s %d", first, dx, second, dy);
        return false;
    }
    for (int d = 0; d < dx; d++) {
        const nn_layer *lx = nn_arch_declared_last(x, d), *ly = nn_arch_declared_last(y, d);
        if (lx->out != ly->out || lx->act != ly->act) {
            snprintf(why, cap, "layer %d is %d %s units in the %s, %d %s in the %s", d + 1,
                     lx->out, nn_act_name(lx->act), first, ly->out, nn_act_name(ly->act),
                     second);
            return false;
        }
        const nn_layer *bx = nn_arch_batch_norm_of(x, d), *by = nn_arch_batch_norm_of(y, d);
        if (!bx != !by) {
            snprintf(why, cap, "layer %d has batch normalization in the %s but not in the %s",
                     d + 1, bx ? first : second, bx ? second : first);
            return false;
        }
    }
    return true;
}
