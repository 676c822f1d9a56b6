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
 * v+ = v + h and v- = v - h rounded to double:
 *     n(h) = (C(v+) - C(v-)) / (v+ - v-)
 * (the rounded step v+ - v- rather than 2h, so that the representation of
 * the step adds no error).  The error of n(h) has two parts:
 *   truncation  (h^2 / 6) |C'''|       Taylor: the even terms cancel
 *   round-off   R(h) = U eps S / (v+ - v-),  S = max(|C+|, |C-|, 1)
 * with U = NN_GRADCHECK_NOISE_ULPS = 64 ulps (over 2,000 random networks of
 * every activation and loss the largest seen was 23; the max(.., 1) covers
 * costs that are small differences of large terms - cross-entropy with
 * confident logits, mae with large targets - whose round-off follows the
 * terms, not C).
 *
 * The step, per value.  Round-off grows with the cost S while a gradient
 * need not, so one fixed step cannot serve a cost near 1 and one near 1e6
 * (at h = 1e-6 and S = 1e6, R = 7e-3: a gradient of 0.06 would be known to
 * 12% only).  So each value first takes the base step h0 (NN_GRADCHECK_STEP,
 * 1e-6, or the caller's), where truncation is negligible (~1e-13 |C'''|):
 *     noise = R(h0)
 * and when that is above a quarter of the tolerance, R(h0) > TOL |n(h0)| / 4,
 * it also tries the step that brings the round-off there,
 *     h1 = min(h0 R(h0) / (TOL |n(h0)| / 4),  NN_GRADCHECK_STEP_MAX max(1, |v|))
 * (the cap when n(h0) = 0).  There truncation matters; it goes as
 * c h^2 + O(h^4), so n(2 h1) - n(h1) = 3 c h1^2 + O(h1^4), and the
 * extrapolation (Richardson's)
 *     n = (4 n(h1) - n(2 h1)) / 3
 * removes the h^2 term.  Its round-off is (4 R(h1) + R(2 h1)) / 3 =
 * 1.5 R(h1), and its truncation is held to the h^2 term it removed (a
 * generous bound: what is left is of order h1^4):
 *     noise = 1.5 R(h1) + |n(2 h1) - n(h1)| / 3
 * It is used only where C is smooth over [v - 2 h1, v + 2 h1]:
 *     |n(2 h1) - n(h1) - 3 (n(h1) - n(h0))| <= |n(2 h1) - n(h1)| / 4
 *                                              + R(2 h1) + 4 R(h1) + 3 R(h0)
 * (both sides are 3 c h1^2 up to the h^4 terms and the round-off); a kink
 * (relu at z = 0, mae at y = t) in that range breaks it, and the value keeps
 * n(h0), as a fixed step would.  Of n(h0) and the extrapolation, the one
 * with the smaller noise is kept.
 * Cost: 2 forward passes per value, 6 when the larger step is tried.
 *
 * The measure, for an analytic value a and the numeric value n:
 *     rel   = |a - n| / max(|a|, |n|, noise / NN_GRADCHECK_TOL)
 * A value whose noise is below TOL |n| is held to the plain relative error;
 * otherwise rel <= TOL becomes |a - n| <= noise: the error in units of the
 * numeric value's expected error.  Either way the test is
 *     |a - n| <= max(TOL max(|a|, |n|), noise)
 * and the noise follows the value, not the cost: at a cost near 1e6 a
 * gradient of 0.06 is known to about 1e-4 relative (h1 at the cap 1e-3), so
 * an error of 0.5% fails by a factor of about fifty.  A NaN or infinite a
 * or n gives rel = +inf. */
#ifndef NN_GRADCHECK_H
#define NN_GRADCHECK_H

#include <stddef.h>

#include "nn/arch.h"
#include "nn/types.h"
#include "util/error.h"

#define NN_GRADCHECK_TOL 1e-6        /* the caller's pass threshold on rel */
#define NN_GRADCHECK_STEP 1e-6       /* the default step h */
#define NN_GRADCHECK_NOISE_ULPS 64.0 /* round-off bound of C+ - C-, in ulps */
#define NN_GRADCHECK_STEP_MAX 1e-3   /* the largest step, relative to max(1, |v|) */

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
    double worst_noise;                     /* the expected error of its numeric value */
    double worst_step;                      /* and the step that gave it */
    double max_step;                        /* the largest step taken for any value */
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

/* The measure above: |a - n| / max(|a|, |n|, scale_floor), scale_floor being
 * noise / NN_GRADCHECK_TOL for the value. */
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
