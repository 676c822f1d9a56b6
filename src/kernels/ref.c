/* ref.c - the reference kernels: plain loops, the standard every faster
 * kernel is tested against.  The loop orders keep the innermost loop on
 * contiguous memory: the forward pass is a dot product of two rows (a row of
 * X and a row of W), the two backward products are row updates (axpy) so no
 * matrix is walked by column.  `omp simd reduction` lets the compiler split
 * a dot product over vector lanes; the order is fixed at build time, so
 * results are repeatable. */
#include "kernels/kernels.h"

#include "math/activation.h"

static float dot(const float *a, const float *b, int n)
{
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int k = 0; k < n; k++)
        s += a[k] * b[k];
    return s;
}

static void axpy(float *y, float alpha, const float *x, int n)
{
    for (int k = 0; k < n; k++)
        y[k] += alpha * x[k];
}

static void ref_dense_forward(float *Y, const float *X, const float *W, const float *b,
                              int B, int in, int out, nn_act act)
{
    for (int i = 0; i < B; i++) {
        const float *x = X + (size_t)i * in;
        float *y = Y + (size_t)i * out;
        for (int j = 0; j < out; j++)
            y[j] = nn_act_forward(act, dot(x, W + (size_t)j * in, in) + b[j]);
    }
}

static void ref_act_backward(float *dY, float *db, const float *Y, int B, int out, nn_act act)
{
    /* One column at a time: dZ[i,j] = dY[i,j] act'(Y[i,j]) and its sum over
     * the batch in row order, added to db[j] once at the end. */
    for (int j = 0; j < out; j++) {
        float s = 0.0f;
        for (int i = 0; i < B; i++) {
            float *g = dY + (size_t)i * out + j;
            if (act != NN_ACT_IDENTITY)
                *g *= nn_act_derivative(act, Y[(size_t)i * out + j]);
            s += *g;
        }
        db[j] += s;
    }
}

static void ref_dense_backward_input(float *dX, const float *dZ, const float *W,
                                     int B, int in, int out)
{
    /* dX[i,:] = sum_j dZ[i,j] W[j,:] */
    for (int i = 0; i < B; i++) {
        float *dx = dX + (size_t)i * in;
        const float *dz = dZ + (size_t)i * out;
        for (int k = 0; k < in; k++)
            dx[k] = 0.0f;
        for (int j = 0; j < out; j++)
            axpy(dx, dz[j], W + (size_t)j * in, in);
    }
}

static void ref_dense_backward_weights(float *dW, const float *dZ, const float *X,
                                       int B, int in, int out)
{
    /* dW[j,:] += sum_i dZ[i,j] X[i,:], one row of dW at a time so it stays
     * in the first-level cache while the batch streams past. */
    for (int j = 0; j < out; j++) {
        float *dw = dW + (size_t)j * in;
        for (int i = 0; i < B; i++)
            axpy(dw, dZ[(size_t)i * out + j], X + (size_t)i * in, in);
    }
}

static void ref_dense_sgd_weights(float *W, const float *dZ, const float *X, int B, int in,
                                  int out, float lr, float wd)
{
    /* Row j of the gradient, a block of columns at a time, summed exactly as
     * ref_dense_backward_weights sums it, then the SGD rule on that block. */
    enum { COLS = 256 };
    float g[COLS];
    for (int j = 0; j < out; j++) {
        float *w = W + (size_t)j * in;
        for (int k0 = 0; k0 < in; k0 += COLS) {
            int n = in - k0 < COLS ? in - k0 : COLS;
            for (int k = 0; k < n; k++)
                g[k] = 0.0f;
            for (int i = 0; i < B; i++)
                axpy(g, dZ[(size_t)i * out + j], X + (size_t)i * in + k0, n);
            for (int k = 0; k < n; k++)
                w[k0 + k] -= lr * (g[k] + wd * w[k0 + k]);
        }
    }
}

const nn_kernels nn_kernels_ref = {
    .name = "scalar",
    .dense_forward = ref_dense_forward,
    .act_backward = ref_act_backward,
    .dense_backward_input = ref_dense_backward_input,
    .dense_backward_weights = ref_dense_backward_weights,
    .dense_sgd_weights = ref_dense_sgd_weights,
};
