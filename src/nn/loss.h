/* loss.h - the cost and its gradient with respect to the network's output.
 *
 * Classification targets come from integer labels: with K > 1 outputs the
 * target of a sample with label c is the one-hot vector e_c; with K == 1 the
 * target is the label itself (0 or 1, a binary problem). */
#ifndef NN_LOSS_H
#define NN_LOSS_H

#include <stdint.h>

/* Mean squared error over a batch of B samples with K outputs:
 *     C = 1/(2B) * sum_i sum_k (yhat[i,k] - t[i,k])^2
 * (half the squared Euclidean distance, averaged over the batch, summed
 * over the outputs).  Accumulated in double. */
double nn_mse_forward(const float *yhat, const int32_t *labels, int B, int K);

/* dC/dyhat (B, K) = (yhat - t) / B. */
void nn_mse_backward(float *dyhat, const float *yhat, const int32_t *labels, int B, int K);

/* The predicted class of one output row: the index of the largest output
 * (the first on ties) when K > 1; (yhat >= 0.5) when K == 1. */
int nn_predict_class(const float *yhat, int K);

#endif
