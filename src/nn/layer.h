/* layer.h - the layer kinds and their operations table.
 *
 * Every kind of layer (dense.c, batchnorm.c) is one nn_layer_ops entry of
 * the registry (layers.c): its parameter and state shapes, how it starts,
 * its forward pass (training and inference) and backward pass in float, the
 * double-precision twin that --gradcheck differentiates, and how its own
 * fields are written to and read from a checkpoint.  The model, the
 * checkpoint, the gradient check and --inspect iterate over the layers of
 * an architecture (nn/arch.h) and call these; none of them knows a kind by
 * name.  Adding a kind is its file, a value in nn_layer_kind and one line of
 * the registry; for a config to ask for it, its keys (config/schema.c) and
 * where nn_arch_from_layers puts it.
 *
 * What the framework does around a kind (nn/model.c, and src/gradcheck.c
 * for the twins):
 *   - the activation: a kind computes its pre-activation Z; the model
 *     applies the layer's activation to it (softmax row-wise) and, going
 *     back, its derivative, unless the kind says it `fuses` that
 *     activation into its own pass (the dense kernels' epilogues do for
 *     identity, sigmoid and relu).  The output layer always keeps Z (the
 *     logits the losses read), so it never fuses.
 *   - dropout on a layer's output, in training passes;
 *   - the buffers: one parameter buffer and one gradient buffer for the
 *     whole model, a state buffer for what a kind keeps but does not train,
 *     each layer a slice of them (in layer order), and per-layer scratch
 *     that a training forward fills for the backward;
 *   - the optimizer: weight decay applies to the parameter groups a kind
 *     marks, and a plain SGD step fused into the backward pass uses the
 *     kind's backward_sgd, or its backward followed by the plain update of
 *     its parameters when it has none.
 *
 * Shapes, row-major: X (B, in) the layer's input, Z and Y (B, out) its
 * pre-activation and output, dZ (B, out), dX (B, in).
 */
#ifndef NN_LAYER_H
#define NN_LAYER_H

#include <stdbool.h>
#include <stddef.h>

#include "nn/arch.h"
#include "nn/slices.h"
#include "util/bytes.h"
#include "util/rng.h"

/* One layer's slices of the model's buffers. */
typedef struct {
    float *params;  /* (n_params,): group 0 then group 1 */
    float *grads;   /* (n_params,), accumulated into by backward */
    float *state;   /* (n_state,) */
    float *scratch; /* (n_scratch,): kept from a training forward for the backward */
    nn_slicing *slicing; /* the batch's sums taken in slices (nn/slices.h); NULL: in one */
} nn_layer_bufs;

typedef struct {
    const char *name;       /* "dense", "batch_norm": also its name in checkpoints */
    /* The two parameter groups as --gradcheck names them, singular
     * ("weight", "bias") and plural ("weights", "biases"), and whether each
     * gets weight decay. */
    const char *group_name[2];
    const char *group_plural[2];
    bool group_decays[2];

    /* shapes, in floats */
    size_t (*group_size)(const nn_layer *y, int group);
    size_t (*n_params)(const nn_layer *y);            /* both groups; SIZE_MAX: overflows */
    size_t (*n_state)(const nn_layer *y);
    size_t (*n_scratch)(const nn_layer *y, int max_batch);

    /* The kind's own checks of a layer read from a checkpoint (arch.c does
     * the common ones); 0, or -1 with why[cap]. */
    int (*check)(const nn_layer *y, char *why, size_t cap);

    /* Initial parameters and state, drawing from rng in parameter order. */
    void (*init)(const nn_layer *y, float *params, float *state, nn_rng *rng);

    /* Whether the kind applies activation `act` within its own pass. */
    bool (*fuses)(nn_act act);

    /* The kind's backward already sums its parameter gradients over every
     * process that shares the batch (the slicing's reduce): batch
     * normalisation, whose input gradient needs those sums. */
    bool sums_across;

    /* Z (B, out) from X, then act(Z) when act (which it fuses) is not the
     * identity; writes Y.  A training pass (train) may use batch
     * statistics and keep what the backward needs in the scratch. */
    void (*forward)(const nn_layer *y, const nn_layer_bufs *b, const float *X, float *Y, int B,
                    bool train, nn_act act);

    /* After a training forward of (X, B) with output Y: dY = dC/dY (B, out)
     * on entry; when act (fused) is not the identity the kind multiplies
     * it by act'(Y) first; then dY holds dZ and is free to overwrite.
     * Accumulates the parameter gradients into b->grads; dX (B, in) =
     * dC/dX unless dX is NULL. */
    void (*backward)(const nn_layer *y, const nn_layer_bufs *b, const float *X, const float *Y,
                     float *dY, float *dX, int B, nn_act act);

    /* The backward pass fused with a plain SGD step (group g decays with wd
     * when group_decays[g]): dX with the parameters before the step, then
     *   p <- p - lr * (dC/dp + wd_g * p)
     * element by element, bit-identical to backward into zeroed gradients
     * followed by nn_optim_step's plain SGD rule; b->grads must be zero on
     * entry and is zero again on return.  NULL when the kind has no fused
     * form. */
    void (*backward_sgd)(const nn_layer *y, const nn_layer_bufs *b, const float *X,
                         const float *Y, float *dY, float *dX, int B, nn_act act, float lr,
                         float wd);

    /* The double-precision twin, in training mode, of the pre-activation
     * only (the gradient check applies activations itself):
     *   forward_d   Z (B, out) from X; work (n_work_d doubles) keeps what
     *               backward_d needs
     *   backward_d  from dZ (B, out): dparams (n_params) SET to dC/dparams,
     *               dX (B, in) SET to dC/dX unless NULL */
    size_t (*n_work_d)(const nn_layer *y, int B);
    void (*forward_d)(const nn_layer *y, const double *params, const double *X, double *Z,
                      double *work, int B);
    void (*backward_d)(const nn_layer *y, const double *params, const double *X,
                       const double *work, const double *dZ, double *dX, double *dparams,
                       int B);

    /* The kind's own fields of a layer record in a checkpoint (the common
     * ones - kind, origin, sizes, activation, alpha - are the checkpoint's).
     * get returns 0, or -1 with why[cap] (r->bad for a short record). */
    void (*put)(const nn_layer *y, nn_bytes *w);
    int (*get)(nn_layer *y, nn_bytes_in *r, char *why, size_t cap);
} nn_layer_ops;

/* The operations of a kind (every nn_layer_kind has an entry). */
const nn_layer_ops *nn_layer_ops_of(nn_layer_kind kind);

/* The kind named `name` in a checkpoint; -1 when unknown. */
int nn_layer_kind_from_name(const char *name);

/* The kinds themselves, for the registry. */
extern const nn_layer_ops nn_layer_dense;
extern const nn_layer_ops nn_layer_batch_norm;

#endif
