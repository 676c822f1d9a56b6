/* loss.c - mean squared error.
 *
 * C = 1/(2B) sum_i sum_k (yhat_ik - t_ik)^2.  Its partial derivative with
 * respect to one output is dC/dyhat_ik = (yhat_ik - t_ik) / B: the 2 of the
 * square cancels the 1/2, and 1/B stays because each sample contributes to
 * the average.  This vector is where backpropagation starts.
 */
#include "nn/loss.h"

#include <stddef.h>

double nn_mse_forward(const float *yhat, const float *T, int B, int K)
{
    double sum = 0.0;
    size_t n = (size_t)B * (size_t)K;
    for (size_t p = 0; p < n; p++) {
        double d = (double)yhat[p] - (double)T[p];
        sum += d * d;
    }
    return sum / (2.0 * B);
}

void nn_mse_backward(float *dyhat, const float *yhat, const float *T, int B, int K)
{
    float inv_b = 1.0f / (float)B;
    size_t n = (size_t)B * (size_t)K;
    for (size_t p = 0; p < n; p++)
        dyhat[p] = (yhat[p] - T[p]) * inv_b;
}

int nn_predict_class(const float *yhat, int K)
{
    if (K == 1)
        return yhat[0] >= 0.5f;
    int best = 0;
    for (int k = 1; k < K; k++)
        if (yhat[k] > yhat[best])
            best = k;
    return best;
}
