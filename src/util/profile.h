/* profile.h - where a training epoch's time goes (--profile).
 *
 * The training loop times its phases with nn_prof_begin/nn_prof_end, and
 * the dense layer (nn/dense.c) times the kernel calls inside the forward and
 * backward phases, so the report can say what share of the epoch is spent
 * outside the dense kernels: loading and converting batches, the loss, the
 * activation and dropout passes, the optimizer.  When profiling is off each
 * call is one predictable branch; when on, two reads of the monotonic clock
 * (a few tens of nanoseconds, against a step of tens of microseconds or
 * more).  Single-threaded use: only the training thread records.
 */
#ifndef NN_PROFILE_H
#define NN_PROFILE_H

#include <stdbool.h>

typedef enum {
    NN_PROF_DATA,     /* gathering, converting and scaling the batch; targets */
    NN_PROF_FORWARD,  /* the forward pass (kernels, activations, dropout) */
    NN_PROF_LOSS,     /* the loss, its gradient and the running metrics */
    NN_PROF_BACKWARD, /* the backward pass */
    NN_PROF_OPTIM,    /* clipping and the optimizer's update */
    NN_PROF_KERNELS,  /* the dense kernels alone (inside forward and backward) */
    NN_PROF_COMM,     /* several processes: waiting for the sums across them (inside the
                         others) */
    NN_PROF_PHASES
} nn_prof_phase;

extern bool nn_prof_enabled;
extern double nn_prof_seconds[NN_PROF_PHASES];

/* Seconds on the monotonic clock, or 0 when profiling is off. */
double nn_prof_begin(void);

/* Adds the time since `started` (from nn_prof_begin) to `phase`. */
void nn_prof_end(nn_prof_phase phase, double started);

void nn_prof_reset(void);

/* "data", "forward", "loss", "backward", "optimizer", "kernels",
 * "communication". */
const char *nn_prof_phase_name(nn_prof_phase phase);

#endif
