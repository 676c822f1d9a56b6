/* dense.h - one dense layer with its activation: a = f(z), z = x W^T + b.
 * Forward and backward are a pair; the derivation is in dense.c. */
#ifndef NN_DENSE_H
#define NN_DENSE_H

#include "nn/types.h"

/* Y (B, out) = f(X (B, in) W^T (in, out) + b (out)). */
void nn_dense_forward(float *Y, const float *X, const float *W, const float *b,
                      int B, int in, int out, nn_act act);

/* Given dY = dC/dY (B, out) and the forward's X and Y:
 *   dY is overwritten with dC/dZ,
 *   dW (out, in) += dC/dW, db (out) += dC/db,
 *   dX (B, in) = dC/dX unless dX is NULL. */
void nn_dense_backward(float *dX, float *dW, float *db, float *dY, const float *X,
                       const float *Y, const float *W, int B, int in, int out, nn_act act);

/* The backward pass fused with a plain SGD step (no momentum, no clipping):
 * dY becomes dC/dZ, dX (unless NULL) = dC/dX with W before the step, then
 *   W <- W - lr * (dC/dW + wd * W),   b <- b - lr * (dC/db + 0 * b)
 * element by element, the gradient of W never stored (the kernel table's
 * dense_sgd_weights).  db must be zero on entry (it holds dC/db for the
 * step) and is zero again on return.  Bit-identical to nn_dense_backward into
 * zeroed gradients followed by nn_optim_step's plain SGD rule. */
void nn_dense_backward_sgd(float *dX, float *W, float *b, float *db, float *dY, const float *X,
                           const float *Y, int B, int in, int out, nn_act act, float lr,
                           float wd);

#endif
