/* cli.h - the command line's own pieces: the options main.c parses, and
 * how each command's result is shown (the commands themselves print
 * nothing; see train/train.h, eval/eval.h, eval/predict.h,
 * gradcheck/check.h and checkpoint/checkpoint.h). */
#ifndef NN_CLI_H
#define NN_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "api/api.h"
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

/* eval_report.c: --eval's report (nntrain_evaluate's), text or one JSON object. */
void nn_cli_print_eval(FILE *f, const nntrain_evaluation *r, bool json);

/* plot_out.c: --plot CHECKPOINT: its learning curves as SVG on o->out, in
 * one write. */
int nn_cli_plot(const char *ckpt_path, const nn_run_opts *o, nn_error *err);
/* plot_out.c: writes n bytes to path whole or not at all: a temporary file
 * in the same folder, fsync, rename over path. */
int nn_cli_write_file(const char *path, const char *data, size_t n, nn_error *err);

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

/* cv_report.c: --cv K, K-fold cross-validation of the config (to->cv_folds
 * folds, through nn_api_train with to and h, whose event callback and error
 * it sets): each fold's metrics on o->out, then their mean and population
 * standard deviation; text lines, or one JSON object per fold and a summary
 * object {"cv": {...}} with --json.  No checkpoint is written. */
#define NN_CV_MAX_FOLDS 100000
int nn_cli_cv(const char *config_path, nntrain_train_options *to, nn_api_train_hooks *h,
              const nn_run_opts *o, nn_error *err);
/* init.c: --init DATA [--label COLUMN] [-o FILE]: a config for the CSV file
 * DATA on o->out, or written to out_path (never over an existing file),
 * every choice explained in a note on o->diag unless o->quiet. */
int nn_cli_init(const char *data, const char *label, const char *out_path,
                const nn_run_opts *o, nn_error *err);

#endif
