/* clock.h - a monotonic clock for timing epochs, phases and progress. */
#ifndef NN_CLOCK_H
#define NN_CLOCK_H

/* Seconds from an arbitrary fixed point (CLOCK_MONOTONIC). */
double nn_now(void);

#endif
