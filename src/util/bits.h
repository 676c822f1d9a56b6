/* bits.h - the IEEE-754 bit pattern of a float, and the float or double of
 * a bit pattern (through memcpy, so no aliasing rule is broken; compilers
 * turn it into a register move). */
#ifndef NN_BITS_H
#define NN_BITS_H

#include <stdint.h>
#include <string.h>

static inline uint32_t nn_f32_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static inline float nn_f32_from_bits(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

static inline double nn_f64_from_bits(uint64_t u)
{
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

#endif
