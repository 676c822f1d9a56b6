/* reference.h - the core of `--gradcheck`: a double-precision reference of
 * the network's forward and backward pass, and the check of its analytic
 * gradient against central finite differences of its cost.
 *
 * The reference runs the layers of an architecture (nn/arch.h) through the
 * double twins of their kinds (nn/layer.h: forward_d, backward_d, in
 * training mode - batch normalisation by the batch's statistics) and the
 * formulas of the float engine for the activations and losses
 * (math/activation.h, nn/loss.h), in double, in plain loops:
 *   forward   Z_l = kind_l(X_l),  A_l = f_l(Z_l),  X_{l+1} = A_l,
 *             C = loss(A_last, Z_last, T)
 *   backward  G = dC/dA_last, or dC/dZ_last = (A - T)/B for a fused pairing;
 *             per layer, last first: dZ = G .* f'(A) (softmax: its
 *             vector-Jacobian product), then the kind's backward gives
 *             dC/dparams_l and G = dC/dX_l, the G of the layer below
 *             (for a dense layer db = 1^T dZ, dW = dZ^T X_l, G = dZ W_l)
 * Dropout is not part of the check (it is a random mask, the identity in
 * evaluation).  Parameters are in the model's one-buffer layout
 * (nn/model.h): layer after layer, each its kind's group 0 then group 1
 * (a dense layer's W (out, in) row-major, then b (out)).
 *
 * The check.  For every parameter p (and every input x when asked), with
 * p+ = p + h and p- = p - h rounded to double:
 *     numeric n = (C(p+) - C(p-)) / (p+ - p-)
 * (the rounded step p+ - p- rather than 2h, so that the representation of
 * the step adds no error).  The error of n has two parts:
 *   truncation  (h^2 / 6) |C'''|       Taylor: the even terms cancel
 *   round-off   about u eps S / (2h)   C+ and C- each carry a few (u) ulps
 *                                      of S ~ max(|C|, 1)
 * h = 1e-6 (NN_GRADCHECK_STEP) puts truncation near 1e-13 for third
 * derivatives of order 1 and round-off near 1e-10 S: the numeric gradient
 * has about ten correct digits where the cost is of order 1, and h is small
 * enough that a kink (relu at z = 0, mae at y = t) is rarely straddled.
 * (The optimum of truncation + round-off is h ~ eps^(1/3) ~ 6e-6, a few
 * times larger; 1e-6 trades a little round-off for fewer kink crossings.)
 *
 * The measure, for an analytic value a and a numeric value n:
 *     rel   = |a - n| / max(|a|, |n|, floor)
 *     noise = NN_GRADCHECK_NOISE_ULPS * DBL_EPSILON * max(|C+|, |C-|, 1) / (p+ - p-)
 *     floor = noise / NN_GRADCHECK_TOL
 * noise bounds the round-off of n (64 ulps: over 2,000 random networks of
 * every activation and loss the largest seen was 23).  A gradient of size
 * >= floor is held to the plain relative error; below it (a gradient that is
 * 0, or too small for a difference quotient to resolve to 1e-6) the test
 * rel <= NN_GRADCHECK_TOL becomes |a - n| <= noise: the analytic value must
 * agree with the numeric one as closely as the numeric one is known.  For a
 * cost of order 1 and h = 1e-6: noise ~ 7e-9, floor ~ 7e-3.  A NaN or
 * infinite a or n gives rel = +inf.  The max(.., 1) covers costs that are
 * small differences of large terms (cross-entropy with confident logits,
 * mae with large targets), whose round-off follows the terms, not C. */
#ifndef NN_GRADCHECK_H
#define NN_GRADCHECK_H

#include <stddef.h>

#include "nn/arch.h"
#include "nn/types.h"
#include "util/error.h"

#define NN_GRADCHECK_TOL 1e-6        /* the caller's pass threshold on rel */
#define NN_GRADCHECK_STEP 1e-6       /* the default step h */
#define NN_GRADCHECK_NOISE_ULPS 64.0 /* round-off bound of C+ - C-, in ulps */

typedef struct {
    const nn_arch *arch;   /* the layers (nn_arch_check holds) */
    nn_loss loss;          /* paired with the output activation as nn_loss_pairing_ok allows */
    double huber_delta;    /* huber: finite, > 0 */
} nn_gradcheck_net;

/* What a checked value is: one of a layer's two parameter groups (the
 * kind's group_name: a dense layer's "weight" and "bias", a batch-norm
 * layer's "scale" and "shift"), or an input. */
enum { NN_GRADCHECK_INPUT = -1 };

typedef struct {
    double cost;                            /* C at the given parameters */
    double max_rel[NN_MAX_ARCH_LAYERS][2];  /* largest rel over each layer's groups */
    double max_rel_x;                       /* largest rel over dC/dX (0 when not checked) */
    double worst;                           /* the largest of all of them */
    int worst_layer;                        /* where it occurred: the layer of the architecture */
    int worst_group;                        /* 0, 1, or NN_GRADCHECK_INPUT */
    size_t worst_index;                     /* index within the group (or into X) */
    double worst_analytic, worst_numeric;
    size_t n_checked;                       /* values compared */
    size_t n_over_tol;                      /* of which rel > NN_GRADCHECK_TOL */
} nn_gradcheck_result;

/* The name of group g (0, 1) of layer l, or "input". */
const char *nn_gradcheck_group_name(const nn_arch *a, int l, int group);

/* Parameters of the architecture, or 0 when net is invalid. */
size_t nn_gradcheck_param_count(const nn_gradcheck_net *net);

/* Checks net (nn_arch_check and nn_loss_pairing_ok, huber_delta).  Returns
 * 0, or -1 with *err (code NN_EXIT_USAGE) saying what is wrong. */
int nn_gradcheck_net_check(const nn_gradcheck_net *net, nn_error *err);

/* The measure above, with scale_floor the `floor` computed for this value. */
double nn_gradcheck_rel_error(double analytic, double numeric, double scale_floor);

/* The cost C of a batch X (B, n_inputs) with targets T (B, outputs).
 * Returns 0, or -1 with *err (usage: invalid net or B < 1; runtime: out of
 * memory). */
int nn_gradcheck_cost(const nn_gradcheck_net *net, const double *params, const double *X,
                      const double *T, int B, double *cost, nn_error *err);

/* The analytic gradient in double: grad_params (n_params,) = dC/dparams and,
 * unless grad_X is NULL, grad_X (B, n_inputs) = dC/dX; both are SET (not
 * accumulated).  *cost (unless NULL) receives C.  Returns 0 or -1 as above. */
int nn_gradcheck_forward_backward(const nn_gradcheck_net *net, const double *params,
                                  const double *X, const double *T, int B, double *grad_params,
                                  double *grad_X, double *cost, nn_error *err);

/* Compares a given analytic gradient, grad_params (n_params,) and grad_X
 * (B, n_inputs; NULL to skip the input check), with central differences of
 * the reference cost, step h (h <= 0 or not finite: NN_GRADCHECK_STEP).  This
 * is how another gradient (the float engine's, widened to double, or a
 * deliberately corrupted one in the tests) is checked; a float gradient
 * carries float rounding, so judge its `worst` with a float-sized tolerance,
 * not NN_GRADCHECK_TOL.  Fills *out; returns 0 or -1 as above.
 * Cost: two forward passes per value checked. */
int nn_gradcheck_compare(const nn_gradcheck_net *net, const double *params, const double *X,
                         const double *T, int B, double h, const double *grad_params,
                         const double *grad_X, nn_gradcheck_result *out, nn_error *err);

/* nn_gradcheck_forward_backward then nn_gradcheck_compare, inputs included:
 * the check of the reference's own derivation.  The caller decides pass or
 * fail from out->worst (e.g. > NN_GRADCHECK_TOL: exit 1). */
int nn_gradcheck(const nn_gradcheck_net *net, const double *params, const double *X,
                 const double *T, int B, double h, nn_gradcheck_result *out, nn_error *err);

#endif
