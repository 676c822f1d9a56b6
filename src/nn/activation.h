/* activation.h - the element-wise activations, forward and local derivative.
 *
 * The derivative is written in terms of the activation's OUTPUT a = f(z),
 * which is what the forward pass keeps:
 *   sigmoid   a = 1 / (1 + e^-z)      da/dz = a (1 - a)
 *   identity  a = z                   da/dz = 1
 * Kernels inline these in their epilogues; the reference loops call them. */
#ifndef NN_ACTIVATION_H
#define NN_ACTIVATION_H

#include <math.h>

#include "nn/types.h"

static inline float nn_act_forward(nn_act act, float z)
{
    switch (act) {
    case NN_ACT_SIGMOID:
        /* expf(-z) overflows to +inf for z < -88, giving exactly 0: no NaN. */
        return 1.0f / (1.0f + expf(-z));
    case NN_ACT_IDENTITY:
    default:
        return z;
    }
}

static inline float nn_act_derivative(nn_act act, float a)
{
    switch (act) {
    case NN_ACT_SIGMOID:
        return a * (1.0f - a);
    case NN_ACT_IDENTITY:
    default:
        return 1.0f;
    }
}

#endif
