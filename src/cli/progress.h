/* progress.h - the live progress bar on stderr.
 * The bar is drawn only when enabled (stderr is a terminal and not --quiet);
 * it redraws at most ten times a second and erases itself when done. */
#ifndef NN_PROGRESS_H
#define NN_PROGRESS_H

#include <stdbool.h>
#include <stdio.h>

typedef struct {
    bool enabled;
    FILE *out;
    double last_draw;
} nn_progress;

void nn_progress_init(nn_progress *p, FILE *out, bool enabled);

/* Draws "epoch E/EE [=====>    ] batch b/bb  N samples/s  ETA 0:12" unless
 * drawn less than 0.1 s ago.  `started` is nn_now() at the start of the
 * epoch, `samples` the samples done in it. */
void nn_progress_update(nn_progress *p, long epoch, long epochs, long batch, long batches,
                        double started, double samples);

/* Erases the bar (nothing when disabled or never drawn). */
void nn_progress_clear(nn_progress *p);

#endif
