#include "rng.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

void nn_rng_seed(nn_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03u);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
    /* splitmix64 never yields four zeros from consecutive states, but the
     * all-zero state is the one state xoshiro cannot leave: guard anyway. */
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
        r->s[0] = 1;
}

double nn_rng_double(nn_rng *r)
{
    return (double)(nn_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t nn_rng_below(nn_rng *r, uint64_t n)
{
    /* Reject the lowest 2^64 mod n values so that the remaining range is a
     * whole multiple of n and x % n is exactly uniform. */
    uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t x = nn_rng_next(r);
        if (x >= threshold)
            return x % n;
    }
}

void nn_rng_shuffle(nn_rng *r, uint32_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)nn_rng_below(r, i);
        uint32_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}
