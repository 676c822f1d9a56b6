/* out.h - results on stdout, which may stop being read.
 *
 * nntrain ignores SIGPIPE (main.c), so a reader that goes away (`| head`)
 * shows as a write that fails with EPIPE.  nn_out_flush is called after
 * each piece of output (an epoch line, a batch of predictions, a report):
 * it flushes and, on a failure, decides once for the rest of the run:
 *   - EPIPE (or, when the failure was in an earlier implicit flush, a pipe
 *     whose reader is gone): the output is closed; nothing more is written
 *     and it is not an error;
 *   - anything else (ENOSPC on /dev/full, EIO, ...): the output stops too,
 *     and nn_out_error tells the errno of that failure, for main's message
 *     and exit status 1.
 * One state for the process: stdout is the only results stream. */
#ifndef NN_CLI_OUT_H
#define NN_CLI_OUT_H

#include <stdbool.h>
#include <stdio.h>

/* Flushes f; true while the output goes on (no failure so far). */
bool nn_out_flush(FILE *f);

/* True until a write has failed: further output would be lost. */
bool nn_out_open(void);

/* 0, or the failure that is an error: its errno, or -1 when it happened in
 * an implicit flush whose errno is no longer known. */
int nn_out_error(void);

#endif
