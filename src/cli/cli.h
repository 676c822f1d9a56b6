/* cli.h - the command line's own pieces: the options main.c parses, and
 * how each command's result is shown (the commands themselves print
 * nothing; see train/train.h, eval/eval.h, eval/predict.h,
 * gradcheck/check.h and checkpoint/checkpoint.h). */
#ifndef NN_CLI_H
#define NN_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "config/config.h"
#include "eval/eval.h"
#include "gradcheck/check.h"
#include "util/error.h"

typedef struct {
    bool resume;   /* --resume */
    bool json;     /* --json */
    bool quiet;    /* --quiet: no progress bar, notes or per-epoch lines */
    bool progress; /* draw the progress bar (stderr is a terminal, not quiet) */
    bool profile;  /* --profile: report each epoch's time by phase on diag */
    int threads;   /* --threads: the pool's worker threads */
    FILE *out;     /* results: stdout */
    FILE *diag;    /* notes and progress: stderr */
} nn_run_opts;

/* eval_report.c: --eval's report, text or one JSON object. */
void nn_cli_print_eval(FILE *f, const nn_eval_report *r, bool json);

/* inspect.c: --inspect FILE. */
int nn_cli_inspect(const char *path, const nn_run_opts *o, nn_error *err);

/* gradcheck_report.c: --gradcheck's table (text) or JSON lines. */
void nn_cli_print_gradcheck(FILE *f, const nn_config *cfg, const nn_gradcheck_report *r,
                            bool json);

/* predict_output.c: --predict, one CSV line per sample on o->out: the
 * predicted label (or the outputs, for regression), the outputs appended
 * with `scores`; flushed after every batch. */
int nn_cli_predict(const char *ckpt_path, const char *spec, bool scores, const nn_run_opts *o,
                   nn_error *err);

/* init.c: --init DATA [--label COLUMN] [-o FILE]: a config for the CSV file
 * DATA on o->out, or written to out_path (never over an existing file),
 * every choice explained in a note on o->diag unless o->quiet. */
int nn_cli_init(const char *data, const char *label, const char *out_path,
                const nn_run_opts *o, nn_error *err);

#endif
