/* check.h - --gradcheck's core: the gradient check of a config's network.
 *
 * Builds the config's network with the weights training would start from
 * (same seed, same initialisation), takes the first few samples of the
 * training data (scaled as training scales them) with their targets, and
 * compares in double precision every analytic gradient - each parameter of
 * each layer and the gradient with respect to the inputs - with central
 * finite differences (reference.h states the step and the error measure),
 * in training mode (batch normalisation by the batch's statistics; no
 * dropout).  It then runs the float engine (the kernels nntrain trains
 * with) on the same batch and compares its gradient with the double
 * reference's, so the derivation that was checked is the one the engine
 * computes.  Nothing here prints: the command line shows the report. */
#ifndef NN_GRADCHECK_CHECK_H
#define NN_GRADCHECK_CHECK_H

#include <stdbool.h>

#include "config/config.h"
#include "gradcheck/reference.h"
#include "util/error.h"

#define NN_GRADCHECK_SAMPLES 4     /* the batch checked (fewer when the data has fewer) */
#define NN_GRADCHECK_ENGINE_TOL 1e-3 /* the float engine against the double gradient */

typedef struct {
    nn_arch arch;               /* the network checked */
    int samples;                /* its batch */
    nn_gradcheck_result r;      /* the reference against finite differences */
    double engine_error;        /* the float engine against the reference: the largest
                                   |a_float - a_double| / max(|a_double|, 1e-3 max |a_double|) */
    bool pass;                  /* r.worst <= NN_GRADCHECK_TOL and engine_error <=
                                   NN_GRADCHECK_ENGINE_TOL */
} nn_gradcheck_report;

/* Runs the check of cfg's network.  Returns 0 with *out filled whether the
 * check passed or not (out->pass), or -1 with *err when it could not run
 * (the data, an impossible network, memory). */
int nn_gradcheck_config(const nn_config *cfg, nn_gradcheck_report *out, nn_error *err);

/* The error (exit 1) of a failed check of cfg, naming the worst value. */
void nn_gradcheck_failure(const nn_config *cfg, const nn_gradcheck_report *r, nn_error *err);

/* The declared layer (0-based) where the report's worst value is. */
int nn_gradcheck_worst_layer(const nn_gradcheck_report *r);

#endif
