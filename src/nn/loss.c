/* loss.c - mean squared error.
 *
 * C = 1/(2B) sum_i sum_k (yhat_ik - t_ik)^2.  Its partial derivative with
 * respect to one output is dC/dyhat_ik = (yhat_ik - t_ik) / B: the 2 of the
 * square cancels the 1/2, and 1/B stays because each sample contributes to
 * the average.  This vector is where backpropagation starts.
 */
#include "nn/loss.h"

static float target(const int32_t *labels, int i, int k, int K)
{
    if (K == 1)
        return (float)labels[i];
    return labels[i] == k ? 1.0f : 0.0f;
}

double nn_mse_forward(const float *yhat, const int32_t *labels, int B, int K)
{
    double sum = 0.0;
    for (int i = 0; i < B; i++)
        for (int k = 0; k < K; k++) {
            double d = (double)yhat[(long)i * K + k] - target(labels, i, k, K);
            sum += d * d;
        }
    return sum / (2.0 * B);
}

void nn_mse_backward(float *dyhat, const float *yhat, const int32_t *labels, int B, int K)
{
    float inv_b = 1.0f / (float)B;
    for (int i = 0; i < B; i++)
        for (int k = 0; k < K; k++) {
            long p = (long)i * K + k;
            dyhat[p] = (yhat[p] - target(labels, i, k, K)) * inv_b;
        }
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
