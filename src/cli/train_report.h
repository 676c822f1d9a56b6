/* train_report.h - what training shows: one line per epoch on stdout (text
 * or JSON), the progress bar and the --profile lines on stderr, and the
 * notes; the callbacks of train/train.h. */
#ifndef NN_CLI_TRAIN_REPORT_H
#define NN_CLI_TRAIN_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "cli/progress.h"
#include "train/train.h"

typedef struct {
    bool json;        /* --json */
    bool quiet;       /* --quiet: no epoch lines, notes or bar */
    FILE *out, *diag; /* results (stdout) and diagnostics (stderr) */
    nn_progress bar;  /* drawn when stderr is a terminal and not quiet */
} nn_train_report;

/* Sets up r and fills o's callbacks and stop flag for nn_train (o->resume
 * and o->profile are the caller's). */
void nn_train_report_init(nn_train_report *r, nn_train_opts *o, bool json, bool quiet,
                          bool progress, FILE *out, FILE *diag);

/* After nn_train: erases the bar and puts the signal handlers back. */
void nn_train_report_done(nn_train_report *r);

#endif
