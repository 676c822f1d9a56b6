/* loss.h - the cost and its gradient with respect to the network's output.
 *
 * Targets are a matrix T (B, K) like the output: one-hot rows for classes,
 * the label itself for a one-unit binary classifier, the target values for
 * regression (data/batch.h builds them). */
#ifndef NN_LOSS_H
#define NN_LOSS_H

/* Mean squared error over a batch of B samples with K outputs:
 *     C = 1/(2B) * sum_i sum_k (yhat[i,k] - T[i,k])^2
 * (half the squared Euclidean distance, averaged over the batch, summed
 * over the outputs).  Accumulated in double. */
double nn_mse_forward(const float *yhat, const float *T, int B, int K);

/* dC/dyhat (B, K) = (yhat - T) / B. */
void nn_mse_backward(float *dyhat, const float *yhat, const float *T, int B, int K);

/* The predicted class of one output row: the index of the largest output
 * (the first on ties) when K > 1; (yhat >= 0.5) when K == 1. */
int nn_predict_class(const float *yhat, int K);

#endif
