/* train_report.h - what training shows: one line per epoch on stdout (text
 * or JSON), the progress bar and the --profile lines on stderr, and the
 * notes; drawn from the events of nntrain_train (include/nntrain.h). */
#ifndef NN_CLI_TRAIN_REPORT_H
#define NN_CLI_TRAIN_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "api/api.h"
#include "cli/progress.h"

typedef struct {
    bool json;        /* --json */
    bool quiet;       /* --quiet: no epoch lines, notes or bar */
    FILE *out, *diag; /* results (stdout) and diagnostics (stderr) */
    nn_progress bar;  /* drawn when stderr is a terminal and not quiet */
    const nn_api_train_hooks *hooks; /* the --profile line's communication time */
} nn_train_report;

/* Sets up r and fills o's event callback and stop flag, and h's progress
 * terminal, for nn_api_train (the rest of o and h is the caller's). */
void nn_train_report_init(nn_train_report *r, nntrain_train_options *o, nn_api_train_hooks *h,
                          bool json, bool quiet, bool progress, FILE *out, FILE *diag);

/* After training: erases the bar and puts the signal handlers back. */
void nn_train_report_done(nn_train_report *r);

#endif
