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
 *
 * Activations: sigmoid, relu and identity hidden layers run fused in the kernels'
 * epilogues; the others (tanh, leaky_relu, elu, softplus) are applied
 * in a pass over the layer's output.  The output layer always keeps its
 * pre-activation Z (the logits), so losses can be computed stably from it
 * and softmax (row-wise) can be applied.  Dropout on a hidden layer's output
 * multiplies it by a mask of 0 and 1/(1-p) drawn per sample and unit
 * (inverted dropout), in training passes only.
 */
#ifndef NN_MODEL_H
#define NN_MODEL_H

#include <stdbool.h>
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

    float alpha[NN_MAX_LAYERS];   /* leaky_relu slope / elu alpha (0 for the others) */
    float dropout[NN_MAX_LAYERS]; /* dropout rate of layer l's output, 0 = none */

    int max_batch;
    float *acts[NN_MAX_LAYERS]; /* acts[l] is (max_batch, units[l]): outputs of layer l
                                   (after dropout in a training pass) */
    float *kept[NN_MAX_LAYERS]; /* (max_batch, units[l]) outputs before dropout, and */
    float *mask[NN_MAX_LAYERS]; /* the dropout mask (0 or 1/(1-p)); NULL without dropout */
    float *logits;              /* (max_batch, units[last]): the output layer's Z */
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

/* Weights per layer by init[l] (NULL or NN_INIT_AUTO: He for relu,
 * leaky_relu and elu, Glorot otherwise): Glorot U(-r, r) with r = sqrt(6 /
 * (in + out)), He U(-r, r) with r = sqrt(6 / in); drawn in parameter order
 * from rng; biases zero. */
void nn_model_init(nn_model *m, nn_rng *rng, const nn_init *init);

/* Sets dropout rates (rates[l] in [0, 1), NULL = none; the last layer must
 * be 0) and allocates the masks.  Returns -1 with *err on out of memory. */
int nn_model_set_dropout(nn_model *m, const float *rates, nn_error *err);

/* Forward pass of B <= max_batch samples X (B, n_inputs), without dropout.
 * Returns the output activations (B, units[n_layers-1]), owned by the
 * model; the output layer's pre-activation is in m->logits. */
const float *nn_model_forward(nn_model *m, const float *X, int B);

/* The same as a training pass: dropout masks are drawn from rng. */
const float *nn_model_forward_train(nn_model *m, const float *X, int B, nn_rng *rng);

/* Sets every gradient to zero. */
void nn_model_zero_grad(nn_model *m);

/* Backward pass after a forward pass of (X, B): dOut (B, units[last]) is
 * dC/d(output) (or, when is_dz, already dC/dZ of the output layer, as a
 * fused softmax/cross-entropy or sigmoid/binary-cross-entropy gradient
 * gives); it is overwritten.  Accumulates dC/dparams into m->grads.  If dX
 * is not NULL it receives dC/dX (B, n_inputs); otherwise that product is
 * skipped. */
void nn_model_backward(nn_model *m, const float *X, float *dOut, int B, float *dX, bool is_dz);

/* The backward pass fused with a plain SGD step (sgd, momentum 0, no
 * clipping), layer by layer from the top: each layer's dC/dX is computed
 * with its weights before the step, then W <- W - lr * (dC/dW + wd * W) and
 * b <- b - lr * dC/db, the weight gradient consumed as the kernels compute it
 * (nn_dense_backward_sgd).  m->grads must be zero and is left zero.  The
 * parameters are bit-identical to nn_model_backward followed by
 * nn_optim_step with the weights (not the biases) as decay ranges. */
void nn_model_backward_sgd(nn_model *m, const float *X, float *dOut, int B, bool is_dz, float lr,
                           float wd);

void nn_model_free(nn_model *m);

#endif
