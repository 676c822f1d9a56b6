/* run.h - the commands behind the command line: train, eval, inspect.
 * main.c parses options into nn_run_opts and calls one of these; each
 * returns 0 or -1 with *err set (the exit code is err->code). */
#ifndef NN_RUN_H
#define NN_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "checkpoint.h"
#include "config/config.h"
#include "data/dataset.h"
#include "metrics.h"
#include "nn/model.h"
#include "util/error.h"

#define NN_VERSION "0.1.0"

typedef struct {
    bool resume;   /* --resume */
    bool json;     /* --json */
    bool quiet;    /* --quiet: no progress bar, notes or per-epoch lines */
    bool progress; /* draw the progress bar (stderr is a terminal, not quiet) */
    bool profile;  /* --profile: report each epoch's time by phase on diag */
    int threads;   /* --threads: the kernels' worker threads */
    FILE *out;     /* results: stdout */
    FILE *diag;    /* notes and progress: stderr */
} nn_run_opts;

/* Trains cfg (contract section 3 output on o->out). */
int nn_train(const nn_config *cfg, const nn_run_opts *o, nn_error *err);

/* Evaluates the checkpoint at ckpt_path on the source `src`, or when src is
 * NULL on the data named by `spec` (a --data argument, read like the
 * checkpoint's training data). */
int nn_eval(const char *ckpt_path, const nn_source *src, const char *spec,
            const nn_run_opts *o, nn_error *err);

/* Writes one CSV line per sample of `spec` ("-" = stdin; CSV or IDX
 * images) to o->out: the predicted label, or the output values for
 * regression; `scores` appends the output vector.  Streams: memory does
 * not grow with the input and output is flushed before reading blocks. */
int nn_predict(const char *ckpt_path, const char *spec, bool scores, const nn_run_opts *o,
               nn_error *err);

/* --gradcheck: every analytic gradient of cfg's network against central
 * finite differences in double precision; exit 1 above the tolerance. */
int nn_gradcheck_run(const nn_config *cfg, const nn_run_opts *o, nn_error *err);

/* Describes the checkpoint at path. */
int nn_inspect(const char *path, const nn_run_opts *o, nn_error *err);

/* --- shared by the commands -------------------------------------------- */

/* Loss and accuracy (classification) or regression errors of a model on
 * rows idx[0..n-1] of d (idx NULL: every row), with the cost `loss`.  If acc is not NULL it
 * receives the accumulator, with the confusion matrix when want_confusion
 * (the caller frees it with nn_acc_free). */
typedef struct {
    nn_loss loss;
    double huber_delta;
} nn_loss_spec;

int nn_measure(nn_model *m, const nn_dataset *d, const uint32_t *idx, size_t n,
               const float *shift, const float *mult, const nn_loss_spec *loss,
               bool regression, bool want_confusion, nn_result *out, nn_acc *acc,
               nn_error *err);

/* Checks that every label of d fits a model with K outputs (K > 1: label <
 * K; K == 1: label 0 or 1).  `name` is the labels file, for the message. */
int nn_check_labels(const nn_dataset *d, int K, const char *name, nn_error *err);

/* A model with the checkpoint's architecture and parameters. */
nn_model *nn_model_from_ckpt(const nn_ckpt *c, int max_batch, nn_error *err);

#endif
