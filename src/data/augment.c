/* augment.c - random shifts and flips of training images (augment.h). */
#include "data/augment.h"

#include <string.h>

#include "data/batch.h"
#include "util/rng.h"

nn_augment_draw nn_augment_drawn(uint64_t seed, int64_t epoch, uint64_t row, int shift,
                                 bool flip)
{
    nn_rng g;
    nn_rng_seed(&g, seed ^ ((uint64_t)epoch * 0x9E3779B97F4A7C15u) ^ (row * 0xC2B2AE3D27D4EB4Fu),
                NN_STREAM_AUGMENT);
    nn_augment_draw d = {0, 0, false};
    if (shift > 0) {
        uint64_t span = 2 * (uint64_t)shift + 1;
        d.dy = (int)nn_rng_below(&g, span) - shift;
        d.dx = (int)nn_rng_below(&g, span) - shift;
    }
    if (flip)
        d.mirror = nn_rng_next(&g) >> 63;
    return d;
}

void nn_augment_image(float *out, const float *in, int H, int W, nn_augment_draw d,
                      const float *shift, const float *mult)
{
    for (int i = 0; i < H; i++) {
        int si = i - d.dy;
        for (int j = 0; j < W; j++) {
            int p = i * W + j, sj = j - d.dx;
            if (si < 0 || si >= H || sj < 0 || sj >= W) {
                out[p] = shift && mult ? (0.0f - shift[p]) * mult[p] : 0.0f;
                continue;
            }
            out[p] = in[si * W + (d.mirror ? W - 1 - sj : sj)];
        }
    }
}

void nn_augment_rows(float *X, size_t B, int H, int W, const uint64_t *rows, uint64_t seed,
                     int64_t epoch, int shift, bool flip, const float *sh, const float *mult,
                     float *tmp)
{
    size_t F = (size_t)H * (size_t)W;
    for (size_t i = 0; i < B; i++) {
        nn_augment_draw d = nn_augment_drawn(seed, epoch, rows[i], shift, flip);
        if (d.dy == 0 && d.dx == 0 && !d.mirror)
            continue;
        float *x = X + i * F;
        memcpy(tmp, x, sizeof(float) * F);
        nn_augment_image(x, tmp, H, W, d, sh, mult);
    }
}
