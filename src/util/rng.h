/* rng.h - the seeded random generator: xoshiro256** (Blackman and Vigna,
 * 2018), its 256-bit state filled from the seed by splitmix64.  Every random
 * choice of nntrain (initial weights, validation split, shuffles) comes from
 * one of these, so a seed fixes a run.  The state is four uint64 and is saved
 * in checkpoints. */
#ifndef NN_RNG_H
#define NN_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t s[4];
} nn_rng;

/* Seeds from one 64-bit value through splitmix64; `stream` separates
 * independent generators derived from the same seed. */
void nn_rng_seed(nn_rng *r, uint64_t seed, uint64_t stream);

/* The next 64 random bits (inline: dropout draws one per unit and sample). */
static inline uint64_t nn_rng_next(nn_rng *r)
{
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5;
    uint64_t result = ((x << 7) | (x >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}

/* Uniform in [0, 1) with 53 random bits. */
double nn_rng_double(nn_rng *r);

/* Uniform integer in [0, n), n >= 1, without modulo bias (the short low
 * range 2^64 mod n is rejected). */
uint64_t nn_rng_below(nn_rng *r, uint64_t n);

/* Fisher-Yates shuffle of idx[0..n-1]. */
void nn_rng_shuffle(nn_rng *r, uint32_t *idx, size_t n);

#endif
