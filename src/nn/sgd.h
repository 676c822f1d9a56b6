/* sgd.h - plain stochastic gradient descent. */
#ifndef NN_SGD_H
#define NN_SGD_H

#include <stddef.h>

/* params[i] -= lr * grads[i] for i < n. */
void nn_sgd_step(float *params, const float *grads, size_t n, float lr);

#endif
