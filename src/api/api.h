/* api.h - inside libnntrain: what the public functions (include/nntrain.h)
 * share.  The public header's types are the outside view; everything under
 * src/ below this folder stays internal. */
#ifndef NN_API_H
#define NN_API_H

#include <stdint.h>

#include "nntrain.h"
#include "eval/eval.h"
#include "kernels/kernels.h"
#include "util/error.h"

/* Clears *out (NULL is fine) and returns NNTRAIN_OK. */
nntrain_status nn_api_ok(nntrain_error *out);

/* Copies the internal error e into *out with status s (NULL out is fine)
 * and returns s.  s NNTRAIN_OK: the status follows from e's exit code
 * (2: NNTRAIN_ERR_CONFIG, 130 and 143: NNTRAIN_ERR_STOPPED, otherwise
 * NNTRAIN_ERR_RUNTIME). */
nntrain_status nn_api_fail(nntrain_error *out, const nn_error *e, nntrain_status s);

/* A misuse of the interface: NNTRAIN_ERR_ARGUMENT (exit code 2) with a
 * printf-style message. */
nntrain_status nn_api_argument(nntrain_error *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- the command line's extras ----------------------------------------
 *
 * nntrain_train and nntrain_evaluate are nn_api_train and nn_api_evaluate
 * with NULL hooks.  The command line (src/cli/main.c) passes hooks for what
 * it does that a library caller has no use for; every field may be left 0. */

typedef struct {
    /* in: --data SPEC, replacing data.train (its CSV options kept); the
     * caller has checked the spec (nn_source_check_spec) */
    const char *data;
    /* in: --resume --epochs +N: training.epochs becomes the checkpoint's
     * completed epochs plus more_epochs (> 0; o->epochs is then ignored) */
    int64_t more_epochs;
    /* in: a FILE * (a terminal) for the progress line of parsing a streamed
     * CSV into its cache (nn_train_opts.progress) */
    void *progress;
    /* in: the MPI build's report of a failure that ends every process
     * (nn_train_opts.on_fatal, fatal_ctx) */
    void (*on_fatal)(void *fatal_ctx, const nn_error *e);
    void *fatal_ctx;
    /* out: set before each NNTRAIN_EVENT_PROFILE, the epoch's seconds spent
     * waiting for the sums across processes (NN_PROF_COMM; 0 alone) */
    double profile_comm;
    /* out: on failure, the internal error (with its MPI scope), when not NULL */
    nn_error *error;
} nn_api_train_hooks;

nntrain_status nn_api_train(const char *config_path, const nntrain_train_options *o,
                            nn_api_train_hooks *h, nntrain_error *err);

typedef struct {
    /* a note for the user, one line without "nntrain: " (the kernels' note
     * "note: ...", when the family asked for falls back) */
    void (*on_note)(void *ctx, const char *note);
    /* the internal report before it becomes *out, with the checkpoint's
     * path and the name of the data as the command line shows them (--plot
     * draws from it); returns -1 with *e to fail the evaluation */
    int (*on_report)(void *ctx, const nn_eval_report *r, const char *ckpt, const char *data,
                     nn_error *e);
    void *ctx;
    /* out: on failure, the internal error, when not NULL */
    nn_error *error;
} nn_api_eval_hooks;

nntrain_status nn_api_evaluate(const char *config_path, const nntrain_eval_options *o,
                               nntrain_evaluation *out, nn_api_eval_hooks *h,
                               nntrain_error *err);

/* The kernel family training and evaluation in precision prec select: the
 * one nntrain_select_kernels chose for it, else NNTRAIN_ISA (NULL: the
 * best the processor has). */
const char *nn_api_family(nn_precision prec);

/* Selects the kernels (nn_api_family's) for running the checkpoint at path
 * in precision `precision`, or (-1) in the one it was trained in: the file
 * is read again for it, since the kernels must be chosen before its model
 * runs.  When NNTRAIN_ISA names a family of the other precision, the error
 * says how the file was trained and what --precision would run it.  0, or
 * -1 with *err; the fall-back's note is then nn_kernels_note(). */
int nn_api_checkpoint_kernels(const char *path, int precision, nn_error *err);

#endif
