/* sgd.c - the update rule w <- w - eta dC/dw, applied to the one parameter
 * buffer with the one gradient buffer (same layout). */
#include "nn/sgd.h"

void nn_sgd_step(float *params, const float *grads, size_t n, float lr)
{
    for (size_t i = 0; i < n; i++)
        params[i] -= lr * grads[i];
}
