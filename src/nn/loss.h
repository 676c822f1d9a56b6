/* loss.h - the cost and its gradient with respect to the network's output.
 *
 * A batch holds B samples with K outputs each.  Shapes, row-major:
 *   T (B, K)  targets: one-hot rows for classes, the label itself (0 or 1)
 *             for a one-unit binary classifier, the target values for
 *             regression (data/batch.h builds them)
 *   Y (B, K)  the network's output, after the output activation
 *   Z (B, K)  the output layer's pre-activation, Y = f(Z)
 *   G (B, K)  the gradient the backward pass starts from
 *
 * Every cost is the MEAN over the batch of a per-sample cost that is SUMMED
 * over the K outputs (i indexes samples, k outputs, e = y - t):
 *
 *   mse                   C = 1/(2B) sum_ik e_ik^2
 *   mae                   C = 1/B    sum_ik |e_ik|
 *   huber (delta > 0)     C = 1/B    sum_ik h(e_ik),
 *                             h(e) = e^2 / 2                  if |e| <= delta
 *                                    delta (|e| - delta / 2)  otherwise
 *   cross_entropy         C = -1/B   sum_ik t_ik log y_ik,  y_i = softmax(z_i)
 *                           = 1/B    sum_ik t_ik (lse(z_i) - z_ik),
 *                             lse(z) = m + log sum_k e^{z_k - m},  m = max_k z_k
 *   binary_cross_entropy  C = -1/B   sum_ik [t log y + (1 - t) log(1 - y)],
 *                             y = sigmoid(z)
 *                           = 1/B    sum_ik [max(z, 0) - z t + log(1 + e^-|z|)]
 *
 * The second forms are how the fused pairings below compute the cost: from
 * Z, without forming log y, so logits of +-1000 give finite, exact costs
 * (a log of a softmax or sigmoid output that rounded to 0 would be -inf).
 *
 * Fused pairings: (cross_entropy, softmax) and (binary_cross_entropy,
 * sigmoid).  Their gradient with respect to Z is simply
 *     dC/dZ = (Y - T) / B
 * (derived in loss.c and docs/backprop.md; for cross_entropy it assumes that
 * each row of T sums to 1, as one-hot rows do), so the backward pass starts
 * at Z and the output activation's own backward is skipped.  Every other
 * pairing starts from dC/dY and goes through the activation's backward:
 *   mse (Y - T)/B,  mae sign(Y - T)/B (0 where Y == T),
 *   huber e/B where |e| <= delta else delta sign(e)/B,
 *   cross_entropy -T/(B Y),  binary_cross_entropy (Y - T) / (B Y (1 - Y))
 * (the last two only for pairings nn_loss_pairing_ok rejects; they are the
 * plain definitions on Y, infinite where Y reaches 0 or 1).
 *
 * Sums are accumulated in double; a float gradient is computed in float. */
#ifndef NN_LOSS_H
#define NN_LOSS_H

#include <stdbool.h>

#include "nn/types.h"

/* Mean squared error, C = 1/(2B) sum_ik (yhat_ik - T_ik)^2, accumulated in
 * double.  nn_loss_forward(NN_LOSS_MSE, ...) returns exactly this. */
double nn_mse_forward(const float *yhat, const float *T, int B, int K);

/* dC/dyhat (B, K) = (yhat - T) / B.  nn_loss_backward(NN_LOSS_MSE, ...)
 * writes exactly this. */
void nn_mse_backward(float *dyhat, const float *yhat, const float *T, int B, int K);

/* The predicted class of one output row: the index of the largest output
 * (the first on ties) when K > 1; (yhat >= 0.5) when K == 1. */
int nn_predict_class(const float *yhat, int K);

/* True when the backward pass of (loss, out_act) starts at Z with
 * G = (Y - T)/B: (cross_entropy, softmax) and (binary_cross_entropy,
 * sigmoid). */
bool nn_loss_fused(nn_loss loss, nn_act out_act);

/* Whether the output activation suits the loss, for an output layer of K
 * units.  The sound pairings:
 *   cross_entropy         needs softmax and K >= 2
 *   binary_cross_entropy  needs sigmoid
 *   softmax               only with cross_entropy
 *   mse, mae, huber       any output activation but softmax
 * On false, *why (if why is not NULL) is set to a static one-line reason. */
bool nn_loss_pairing_ok(nn_loss loss, nn_act out_act, int K, const char **why);

/* The cost C (definitions above) of a batch.  Z is read only when
 * nn_loss_fused(loss, out_act) (it may be NULL otherwise); Y is read only
 * when it is not.  huber_delta (> 0) is used by huber alone. */
double nn_loss_forward(nn_loss loss, nn_act out_act, const float *Y, const float *Z,
                       const float *T, int B, int K, double huber_delta);

/* B times the cost: the sum over the rows (summed in order, from zero),
 * for a batch whose cost is added up in pieces (nn/slices.h); the cost of
 * a batch of N rows is the pieces' total / N. */
double nn_loss_total(nn_loss loss, nn_act out_act, const float *Y, const float *Z,
                     const float *T, int B, int K, double huber_delta);

/* Writes G (B, K): dC/dZ = (Y - T)/B for a fused pairing, dC/dY otherwise
 * (formulas above).  Element-wise, so G may be the same buffer as Y.  Z is
 * not read (it is in the signature so that the forward and backward calls
 * look alike). */
void nn_loss_backward(nn_loss loss, nn_act out_act, float *G, const float *Y, const float *Z,
                      const float *T, int B, int K, double huber_delta);

/* The same for B rows of a batch of N rows (the others elsewhere): its
 * gradient, divided by N. */
void nn_loss_backward_rows(nn_loss loss, nn_act out_act, float *G, const float *Y,
                           const float *Z, const float *T, int B, int N, int K,
                           double huber_delta);

/* Double twins with the same formulas, for the gradient check
 * (src/gradcheck.c) and the tests. */
double nn_loss_forward_d(nn_loss loss, nn_act out_act, const double *Y, const double *Z,
                         const double *T, int B, int K, double huber_delta);
void nn_loss_backward_d(nn_loss loss, nn_act out_act, double *G, const double *Y,
                        const double *Z, const double *T, int B, int K, double huber_delta);

#endif
