/* model.h - a network built from an architecture (nn/arch.h): its buffers,
 * and the forward and backward passes over its layers.
 *
 * All parameters live in one float buffer and all gradients in a second one
 * of the same layout, each layer a slice of both in layer order (a layer's
 * slice is its kind's group 0 then group 1: a dense layer's W (out, in) then
 * b (out)).  The same layout is used by the checkpoint and by the
 * optimizer's state.  What a layer keeps without training it (batch-norm
 * running statistics) is a third buffer, `state`, also in layer order.
 *
 * The model also owns the outputs of the last forward pass, which the
 * backward pass needs, each layer's scratch (what a training forward keeps
 * for the backward), and scratch for the backward pass, all sized for
 * batches of up to max_batch samples.
 *
 * Around each layer's kind (nn/layer.h) the model applies the layer's
 * activation, unless the kind fuses it, and dropout.  The output layer
 * always keeps its pre-activation Z (the logits), so losses can be
 * computed stably from it and softmax (row-wise) can be applied.  Dropout
 * on a layer's output multiplies it by a mask of 0 and 1/(1-p) drawn per
 * sample and unit (inverted dropout), in training passes that are given a
 * generator only.
 */
#ifndef NN_MODEL_H
#define NN_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "nn/arch.h"
#include "nn/layer.h"
#include "nn/optim.h"
#include "util/error.h"
#include "util/rng.h"

typedef struct {
    nn_arch arch;
    int max_batch;

    size_t n_params, n_state;
    float *params;              /* (n_params,) */
    float *grads;               /* (n_params,), same layout */
    float *state;               /* (n_state,) */
    size_t param_off[NN_MAX_ARCH_LAYERS]; /* where layer l's slice starts in params/grads */
    size_t state_off[NN_MAX_ARCH_LAYERS]; /* and in state */

    float *acts[NN_MAX_ARCH_LAYERS];    /* (max_batch, out_l): outputs of layer l (after
                                           dropout in a training pass) */
    float *kept[NN_MAX_ARCH_LAYERS];    /* (max_batch, out_l) outputs before dropout, and */
    float *mask[NN_MAX_ARCH_LAYERS];    /* the dropout mask (0 or 1/(1-p)); NULL without */
    bool dropped;               /* the last forward pass drew dropout masks */
    float *scratch[NN_MAX_ARCH_LAYERS]; /* the kind's n_scratch floats; NULL when none */
    float *logits;              /* (max_batch, outputs): the output layer's Z */
    float *delta[2];            /* two (max_batch, widest layer or input) scratch buffers */
    nn_slicing slicing;         /* S > 1: every sum over the batch in slices (nn/slices.h) */
} nn_model;

/* Allocates a model of architecture `a` for batches of up to max_batch
 * rows (parameters and state zero: call nn_model_init, or copy them in).
 * Dropout masks are allocated for the layers whose dropout is > 0.
 * Returns NULL with *err (code 1 for out of memory, 2 for an impossible
 * architecture). */
nn_model *nn_model_create(const nn_arch *a, int max_batch, nn_error *err);

/* Initial parameters and state of every layer, in layer order, drawing
 * from rng (nn/layer.h: dense weights Glorot or He uniform, biases zero;
 * batch-norm scale 1 and shift 0, running mean 0 and variance 1). */
void nn_model_init(nn_model *m, nn_rng *rng);

/* Every sum over a batch's rows in a training pass (gradients, batch
 * statistics) taken as S slices added in a fixed tree, of which this
 * process holds slices [lo, hi) (0 and S alone), on up to `threads`
 * threads (nn/slices.h); S = 1: in one piece, as without this.  -1 with
 * *err when out of memory. */
int nn_model_set_slices(nn_model *m, int S, int lo, int hi, int threads, nn_error *err);

/* Layer l's slices of the model's buffers. */
nn_layer_bufs nn_model_bufs(const nn_model *m, int l);

/* The number of outputs (units of the last layer). */
int nn_model_outputs(const nn_model *m);

/* Forward pass of B <= max_batch samples X (B, n_inputs) in inference mode:
 * no dropout, batch normalisation by its running statistics.  Returns the
 * output activations (B, outputs), owned by the model; the output layer's
 * pre-activation is in m->logits. */
const float *nn_model_forward(nn_model *m, const float *X, int B);

/* The same as a training pass: batch normalisation by the batch's own
 * statistics (updating the running ones), and dropout masks drawn from rng
 * (no dropout when rng is NULL).  The backward pass needs this one. */
const float *nn_model_forward_train(nn_model *m, const float *X, int B, nn_rng *rng);

/* Sets every gradient to zero. */
void nn_model_zero_grad(nn_model *m);

/* Backward pass after a training forward pass of (X, B): dOut (B, outputs)
 * is dC/d(output) (or, when is_dz, already dC/dZ of the output layer, as a
 * fused softmax/cross-entropy or sigmoid/binary-cross-entropy gradient
 * gives); it is overwritten.  Accumulates dC/dparams into m->grads.  If dX
 * is not NULL it receives dC/dX (B, n_inputs); otherwise that product is
 * skipped. */
void nn_model_backward(nn_model *m, const float *X, float *dOut, int B, float *dX, bool is_dz);

/* The backward pass fused with a plain SGD step (sgd, momentum 0, no
 * clipping), layer by layer from the top: each layer's dC/dX is computed
 * with its parameters before the step, then p <- p - lr * (dC/dp + wd * p)
 * with wd only on the decayed groups (dense weights), the gradient consumed
 * as the kernels compute it where the kind can (nn_layer_ops.backward_sgd).
 * m->grads must be zero and is left zero.  The parameters are bit-identical
 * to nn_model_backward followed by nn_optim_step with the ranges of
 * nn_model_decay_ranges. */
void nn_model_backward_sgd(nn_model *m, const float *X, float *dOut, int B, bool is_dz, float lr,
                           float wd);

/* The parameter ranges that get weight decay (the groups the kinds mark:
 * dense weights), sorted and not overlapping, into out[cap]; returns how
 * many there are (at most NN_MAX_ARCH_LAYERS * 2). */
size_t nn_model_decay_ranges(const nn_model *m, nn_optim_range *out, size_t cap);

void nn_model_free(nn_model *m);

#endif
