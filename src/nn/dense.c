/* dense.c - the dense layer, forward and backward.
 *
 * Forward, for one sample (row) x of X:
 *     z_j = sum_k W[j,k] x_k + b_j          (the matrix product and bias add)
 *     y_j = f(z_j)                          (the activation)
 *
 * Backward.  The cost C depends on the layer only through y, and the layer
 * receives g_j = dC/dy_j.  The chain rule through each vertex of the layer:
 *   activation  dC/dz_j  = g_j f'(z_j)            (element-wise; f' is taken
 *               from the output: a(1-a) for sigmoid, 1 for identity)
 *   bias add    dC/db_j  = sum over samples of dC/dz_j
 *               (z_j depends on b_j with slope 1, and b is shared by every
 *               sample of the batch, so the contributions add)
 *   product     dC/dW[j,k] = sum over samples of dC/dz_j x_k
 *               (dz_j/dW[j,k] = x_k; again summed over the batch)
 *               dC/dx_k  = sum_j dC/dz_j W[j,k]
 *               (x_k reaches C through every z_j)
 * In matrix form, with dZ (B, out):  dZ = dY .* f'(Z),  dW += dZ^T X,
 * db += 1^T dZ,  dX = dZ W.  dX is what the layer below receives as its g.
 */
#include "nn/dense.h"

#include "kernels/kernels.h"
#include "util/profile.h"

void nn_dense_forward(float *Y, const float *X, const float *W, const float *b,
                      int B, int in, int out, nn_act act)
{
    double t0 = nn_prof_begin();
    nn_kernels_get()->dense_forward(Y, X, W, b, B, in, out, act);
    nn_prof_end(NN_PROF_KERNELS, t0);
}

void nn_dense_backward(float *dX, float *dW, float *db, float *dY, const float *X,
                       const float *Y, const float *W, int B, int in, int out, nn_act act)
{
    const nn_kernels *k = nn_kernels_get();
    double t0 = nn_prof_begin();
    k->act_backward(dY, db, Y, B, out, act);            /* dY becomes dZ; db += 1^T dZ */
    k->dense_backward_weights(dW, dY, X, B, in, out);  /* dW += dZ^T X */
    if (dX)
        k->dense_backward_input(dX, dY, W, B, in, out); /* dX = dZ W */
    nn_prof_end(NN_PROF_KERNELS, t0);
}

void nn_dense_backward_sgd(float *dX, float *W, float *b, float *db, float *dY, const float *X,
                           const float *Y, int B, int in, int out, nn_act act, float lr, float wd)
{
    const nn_kernels *k = nn_kernels_get();
    double t0 = nn_prof_begin();
    k->act_backward(dY, db, Y, B, out, act);            /* dY becomes dZ; db += 1^T dZ */
    if (dX)
        k->dense_backward_input(dX, dY, W, B, in, out); /* dX = dZ W, with W before the step */
    k->dense_sgd_weights(W, dY, X, B, in, out, lr, wd); /* W -= lr (dZ^T X + wd W) */
    nn_prof_end(NN_PROF_KERNELS, t0);
    /* the biases' step, the optimizer's rule with no decay, from db (zero on
     * entry, so it holds 1^T dZ), which is left zero again */
    for (int j = 0; j < out; j++) {
        b[j] -= lr * (db[j] + 0.0f * b[j]);
        db[j] = 0.0f;
    }
}
