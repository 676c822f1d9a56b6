/* augment.h - image augmentation of training rows (data.augment): random
 * shifts and left-right flips, each row's drawn from the seed, the epoch
 * and the row's number in its source, so a run is the same for any thread
 * or process count and a resumed epoch redraws them exactly.
 *
 * A row is an H x W image, row-major.  Its draw: dy and dx uniform whole
 * numbers in [-shift, shift] and, with flip, a mirror with chance 1/2.  The
 * augmented image is
 *   out(i, j) = in(i - dy, m(j - dx))   where m(c) = W - 1 - c when mirrored,
 *                                       else c,
 * when i - dy and j - dx are inside the image, else the value a zero pixel
 * takes after the input scaling (the background of a shifted-in border).
 */
#ifndef NN_AUGMENT_H
#define NN_AUGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int dy, dx;
    bool mirror;
} nn_augment_draw;

/* Row `row`'s draw in epoch `epoch` of a run with `seed`. */
nn_augment_draw nn_augment_drawn(uint64_t seed, int64_t epoch, uint64_t row, int shift,
                                 bool flip);

/* out (H x W) = in moved as d says; a pixel from outside the image takes
 * (0 - shift[p]) * mult[p] for its place p (shift and mult: the input
 * scaling, or NULL for 0).  out and in must not overlap. */
void nn_augment_image(float *out, const float *in, int H, int W, nn_augment_draw d,
                      const float *shift, const float *mult);

/* The B rows of X (B x H*W, scaled), row i of source row rows[i], each
 * augmented in place; tmp holds H*W floats. */
void nn_augment_rows(float *X, size_t B, int H, int W, const uint64_t *rows, uint64_t seed,
                     int64_t epoch, int shift, bool flip, const float *sh, const float *mult,
                     float *tmp);

#endif
