/* model.h - a multilayer perceptron: a stack of dense layers.
 *
 * All parameters live in one float buffer and all gradients in a second one
 * of the same layout; each layer is a view (offsets) into them.  Layer l
 * (0-based) maps in_l = (l == 0 ? n_inputs : units[l-1]) features to units[l]:
 *   params: [W_0 (units[0], in_0)][b_0 (units[0])][W_1 ...][b_1] ...
 * The same layout is used by the checkpoint and by any optimizer state.
 *
 * The model also owns the activations of the last forward pass, which the
 * backward pass needs, and scratch for the backward pass, sized for batches
 * of up to max_batch samples.
 */
#ifndef NN_MODEL_H
#define NN_MODEL_H

#include <stddef.h>

#include "nn/types.h"
#include "util/error.h"
#include "util/rng.h"

typedef struct {
    int n_inputs;
    int n_layers;
    int units[NN_MAX_LAYERS];
    nn_act act[NN_MAX_LAYERS];

    size_t n_params;
    float *params;              /* (n_params,) */
    float *grads;               /* (n_params,), same layout */
    size_t w_off[NN_MAX_LAYERS]; /* offset of W_l in params/grads */
    size_t b_off[NN_MAX_LAYERS]; /* offset of b_l */

    int max_batch;
    float *acts[NN_MAX_LAYERS]; /* acts[l] is (max_batch, units[l]): outputs of layer l */
    float *delta[2];            /* two (max_batch, max units or inputs) scratch buffers */
} nn_model;

/* Number of parameters of the architecture, or 0 when it overflows. */
size_t nn_model_param_count(int n_inputs, int n_layers, const int *units);

/* Allocates a model (parameters zero).  Returns NULL with *err (code 1 for
 * out of memory, 2 for an impossible architecture). */
nn_model *nn_model_create(int n_inputs, int n_layers, const int *units, const nn_act *act,
                          int max_batch, nn_error *err);

/* Glorot/Xavier-uniform weights, W ~ U(-r, r) with r = sqrt(6 / (in + out)),
 * drawn in parameter order from rng; biases zero. */
void nn_model_init_glorot(nn_model *m, nn_rng *rng);

/* Forward pass of B <= max_batch samples X (B, n_inputs).  Returns the
 * output activations (B, units[n_layers-1]), owned by the model. */
const float *nn_model_forward(nn_model *m, const float *X, int B);

/* Sets every gradient to zero. */
void nn_model_zero_grad(nn_model *m);

/* Backward pass after nn_model_forward(m, X, B): dOut (B, units[last]) is
 * dC/d(output); it is overwritten (it becomes dC/dZ of the last layer).
 * Accumulates dC/dparams into m->grads.  If dX is not NULL it receives
 * dC/dX (B, n_inputs); otherwise that product is skipped. */
void nn_model_backward(nn_model *m, const float *X, float *dOut, int B, float *dX);

void nn_model_free(nn_model *m);

#endif
