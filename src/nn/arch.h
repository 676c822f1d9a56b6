/* arch.h - the one description of a network's architecture.
 *
 * An architecture is the number of inputs and a stack of layers, input side
 * first, each of a kind from the registry (nn/layer.h): a dense product, or
 * the batch normalisation of the product before it.  It is built from a
 * config's layer list (nn_arch_from_layers) or read from a checkpoint, and
 * the model (nn/model.h), the checkpoint, --gradcheck and --inspect all read
 * this one description; nothing else describes the network.
 *
 * The config speaks of layers as the user declares them ("model.layers[i]":
 * units, activation, batch_norm, ...); one declared layer becomes one or
 * two layers here:
 *   {"units": 64, "activation": "relu"}
 *       -> dense 64, relu, with bias
 *   {"units": 64, "activation": "relu", "batch_norm": true}
 *       -> dense 64, identity, no bias  ->  batch_norm 64, relu
 * Every layer records the declared layer it came from (`origin`), which is
 * what messages count ("layer 2"), and its activation is applied to its own
 * output; a declared layer's activation and dropout belong to its last
 * layer here.  The dense product under batch normalisation has no bias: the
 * normalisation subtracts the batch mean, which would cancel any bias, and
 * its learned shift (beta) takes the bias's place.
 */
#ifndef NN_ARCH_H
#define NN_ARCH_H

#include <stdbool.h>
#include <stddef.h>

#include "nn/types.h"
#include "util/error.h"

/* Layers of an architecture: a dense product and its normalisation for
 * each declared layer. */
#define NN_MAX_ARCH_LAYERS (2 * NN_MAX_LAYERS)

/* The layer kinds; the values are not stored (checkpoints store the kind's
 * name, nn/layer.h), so they may be renumbered. */
typedef enum { NN_LAYER_DENSE = 0, NN_LAYER_BATCH_NORM = 1, NN_LAYER_KINDS } nn_layer_kind;

/* One layer as the user declares it, "model.layers[i]" (config/config.h
 * fills these from the JSON; the ranges are checked there). */
typedef struct {
    int units;      /* "units": integer 1..NN_MAX_UNITS, required */
    nn_act act;     /* "activation": default "sigmoid", or "identity" for the output layer
                       of a regression config; "softmax" only on the output layer, with at
                       least 2 units, and not for regression */
    double alpha;   /* "alpha": number, only for leaky_relu (the slope for z < 0, in [0, 1),
                       default 0.01) and elu (alpha (e^z - 1) for z < 0, > 0, default 1);
                       the key is an error for any other activation, where this is 0 */
    nn_init init;   /* "init": "auto" (default), "glorot" or "he".  "auto" is kept as is;
                       nn_arch_from_layers resolves it: he for relu/leaky_relu/elu,
                       glorot otherwise */
    double dropout; /* "dropout": number in [0, 1), default 0: the rate at which this
                       layer's outputs are zeroed in training passes (inverted dropout: the
                       kept ones are scaled by 1/(1 - rate)).  The key is an error on the
                       output layer (its outputs are the predictions), where this is 0 */
    bool batch_norm;            /* "batch_norm": default false; hidden layers only */
    double batch_norm_momentum; /* "batch_norm_momentum": [0, 1], default 0.1 */
    double batch_norm_eps;      /* "batch_norm_eps": > 0, default 1e-5 */
} nn_layer_cfg;

/* One layer of the architecture. */
typedef struct {
    nn_layer_kind kind;
    int origin;     /* the declared layer (0-based) this one implements */
    int in, out;    /* features per sample in and out */
    nn_act act;     /* applied to this layer's output */
    float alpha;    /* leaky_relu / elu parameter; 0 for the other activations */
    float dropout;  /* training only: rate of inverted dropout on the output (0: none);
                       a setting of the run, not stored in checkpoints */
    /* dense */
    bool bias;      /* the product adds a bias (false under batch normalisation) */
    nn_init init;   /* glorot or he (never auto here); how training starts, not stored */
    /* batch_norm: running = (1 - momentum) running + momentum batch statistic */
    double momentum, eps;
} nn_layer;

typedef struct {
    int n_inputs;   /* features per sample, 1..NN_MAX_FEATURES */
    int n_layers;   /* 1..NN_MAX_ARCH_LAYERS */
    nn_layer layers[NN_MAX_ARCH_LAYERS];
} nn_arch;

/* The architecture of n_cfg declared layers over n_inputs features.
 * Returns 0, or -1 with *err (NN_EXIT_USAGE) for sizes out of range, a
 * softmax before the output layer, or batch normalisation on the output
 * layer. */
int nn_arch_from_layers(nn_arch *a, int n_inputs, const nn_layer_cfg *cfg, int n_cfg,
                        nn_error *err);

/* Checks a description that came from outside (a checkpoint): every size in
 * range, known kinds and activations, each layer's input the previous
 * layer's output, origins non-decreasing from 0 in steps of at most one,
 * softmax only last, finite alpha >= 0, batch-norm momentum in [0, 1] and
 * eps > 0.  Returns 0, or -1 with a one-line reason in why[cap]. */
int nn_arch_check(const nn_arch *a, char *why, size_t cap);

/* Declared layers (the origin of the last layer, plus one). */
int nn_arch_declared(const nn_arch *a);

/* The output units and the output activation (of the last layer). */
int nn_arch_outputs(const nn_arch *a);
nn_act nn_arch_output_act(const nn_arch *a);

/* The last layer of declared layer d (its units and activation are the
 * declared layer's), and whether declared layer d is batch-normalised. */
const nn_layer *nn_arch_declared_last(const nn_arch *a, int d);
const nn_layer *nn_arch_batch_norm_of(const nn_arch *a, int d);

/* Trainable parameters, in the model's one buffer (nn/model.h), and the
 * non-trainable state kept beside them (batch-norm running statistics);
 * 0 parameters means the count overflows. */
size_t nn_arch_param_count(const nn_arch *a);
size_t nn_arch_state_count(const nn_arch *a);

/* Whether two architectures have the same declared layers: units,
 * activation and batch normalisation, layer by layer (what --resume needs;
 * the caller compares the inputs).  The settings a run may change - alpha,
 * the batch-norm momentum and eps, dropout, init - are not compared, like
 * the learning rate.  On a difference, why[cap] says what differs in the
 * words of the declared layers ("layer 2 is 8 sigmoid units in the
 * checkpoint, 6 relu in the config"), `first` and `second` naming the two. */
bool nn_arch_same(const nn_arch *x, const nn_arch *y, const char *first, const char *second,
                  char *why, size_t cap);

#endif
