/* check.h - --gradcheck's core: the gradient check of a config's network,
 * and of the optimizer step that uses it.
 *
 * Builds the config's network with the weights training would start from
 * (same seed, same initialisation), takes the first few samples of the
 * training data (scaled as training scales them) with their targets, and
 * compares in double precision every analytic gradient - each parameter of
 * each layer and the gradient with respect to the inputs - with central
 * finite differences (reference.h states the steps and the error measure),
 * in training mode (batch normalisation by the batch's statistics; no
 * dropout).
 *
 * Then, for each kernel family of the config's precision (every one this
 * processor runs, or the one the caller selected), the float engine:
 *  - its gradient on the same batch against the double reference's, in
 *    fp32 terms:  e = |g - fl(r)| / max(|fl(r)|, 1e-2 M, 1e-6 M_all)  per
 *    value, fl(r) the reference rounded to float, M the largest |fl(r)| of
 *    the value's group (a layer's weights, its biases, the inputs) and
 *    M_all the largest of all, held to NN_GRADCHECK_ENGINE_TOL; bf16:
 *    ||g - fl(r)||_2 / ||fl(r)||_2 over all the parameters (a product's
 *    rounding can move a pre-activation across relu's kink and change a
 *    unit's whole gradient), held to NN_GRADCHECK_ENGINE_TOL_BF16;
 *  - the config's optimizer (weight decay, clipping, momentum or moments,
 *    schedule and warmup): NN_GRADCHECK_OPTIM_STEPS engine steps on the
 *    batch, then one more (update s = NN_GRADCHECK_OPTIM_STEPS, 0-based)
 *    against the double reference step (optim_ref.h) from the same
 *    parameters, state and float gradient; each parameter and state value
 *    (before b, engine f, reference r) is held to
 *        |f - r| <= max(TOL_OPT |r - b|, 2^-22 (|b| + |r|))
 *    (the change to TOL_OPT, or a few float roundings of the values),
 *    reported as e = |f - r| / max(|r - b|, 2^-22 (|b| + |r|) / TOL_OPT);
 *    and the schedule's rate against the reference formula at the steps
 *    where it changes form (warmup's end, epoch edges, the cosine's end);
 *  - the fused SGD path (nn_model_backward_sgd) against the separate
 *    backward and plain SGD step, from the parameters after those steps,
 *    with the config's weight decay (0.01 when it has none, so that which
 *    parameters decay shows): they must agree bit for bit, and the separate
 *    step must match the reference's plain SGD step as above.
 * Nothing here prints: the command line shows the report. */
#ifndef NN_GRADCHECK_CHECK_H
#define NN_GRADCHECK_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "gradcheck/reference.h"
#include "kernels/kernels.h"
#include "util/error.h"

#define NN_GRADCHECK_SAMPLES 4            /* the batch checked (fewer when the data has fewer) */
#define NN_GRADCHECK_ENGINE_TOL 2e-4      /* fp32 engine against the double gradient */
#define NN_GRADCHECK_ENGINE_TOL_BF16 0.0625 /* bf16: 2^-4, per group (check.h) */
#define NN_GRADCHECK_OPTIM_TOL 1e-5       /* an optimizer step against the reference's */
#define NN_GRADCHECK_LR_TOL 1e-12         /* the schedule's rate against the reference's */
#define NN_GRADCHECK_OPTIM_STEPS 3        /* engine steps before the step checked */
#define NN_GRADCHECK_FUSED_WD 0.01        /* the fused check's decay when the config has none */
#define NN_GRADCHECK_MAX_FAMILIES 4

/* Where a value is: a parameter (layer of the architecture, group 0/1,
 * index in the group), an input (group NN_GRADCHECK_INPUT, index into X),
 * or an optimizer state buffer (state 0: the parameter; 1: m or SGD's v;
 * 2: Adam's v). */
typedef struct {
    int layer, group;
    size_t index;
    int state;
} nn_gradcheck_where;

/* The float engine with one kernel family. */
typedef struct {
    const char *family;          /* its name ("scalar", "avx2", ...) */
    double engine_error;         /* gradient against the reference (above) */
    nn_gradcheck_where engine_at;
    double engine_value, engine_ref; /* there: the engine's value and fl(reference) */
    double optim_error;          /* the config's optimizer step against the reference */
    nn_gradcheck_where optim_at;
    double optim_value, optim_ref;
    double sgd_error;            /* the separate plain SGD step against the reference */
    size_t fused_diffs;          /* parameters where fused and separate SGD differ */
    nn_gradcheck_where fused_at; /* the first of them */
    double fused_value, sep_value;
    bool pass;
} nn_gradcheck_family;

typedef struct {
    nn_arch arch;               /* the network checked */
    int samples;                /* its batch */
    nn_gradcheck_result r;      /* the reference against finite differences */
    nn_precision precision;     /* of the engine's products */
    double engine_tol;          /* NN_GRADCHECK_ENGINE_TOL or _BF16 */
    int64_t step;               /* the update checked (0-based) */
    int64_t steps_per_epoch;    /* ceil(rows of data.train / batch_size) */
    double lr;                  /* its rate (the reference's) */
    double lr_error;            /* the largest relative error of the schedule's rate */
    int64_t lr_worst_step;      /* where */
    double fused_wd;            /* the fused check's weight decay */
    int n_families;
    nn_gradcheck_family fam[NN_GRADCHECK_MAX_FAMILIES];
    bool pass;                  /* every part within its tolerance */
} nn_gradcheck_report;

/* Runs the check of cfg's network, the engine part with every kernel family
 * of cfg->precision this processor runs (all_families), or with the
 * selected one only (the caller selected it, e.g. from NNTRAIN_ISA); the
 * selection is restored afterwards.  Returns 0 with *out filled whether the
 * check passed or not (out->pass), or -1 with *err when it could not run
 * (the data, an impossible network, memory). */
int nn_gradcheck_config(const nn_config *cfg, bool all_families, nn_gradcheck_report *out,
                        nn_error *err);

/* The error (exit 1) of a failed check of cfg, naming the worst value. */
void nn_gradcheck_failure(const nn_config *cfg, const nn_gradcheck_report *r, nn_error *err);

/* The declared layer (0-based) where the report's worst value is. */
int nn_gradcheck_worst_layer(const nn_gradcheck_report *r);

/* "layer 2 weight [3,17]", "layer 1 bias [4]", "input [0,5]" (declared
 * layers, 1-based; a weight as [output unit, input], an input as [sample,
 * feature]; "... m [3,17]" for an optimizer state value) into buf[n]. */
void nn_gradcheck_where_name(const nn_arch *a, const nn_gradcheck_where *w, char *buf,
                             size_t n);

#endif
