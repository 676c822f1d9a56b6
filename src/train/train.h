/* train.h - training a config's network: the loop of mini-batch steps,
 * the end of each epoch (validation, early stopping, the best checkpoint),
 * the save policy, and --resume.
 *
 * Mini-batches: every epoch draws a fresh order of the training rows (a
 * Fisher-Yates shuffle of the sorted row list with the training generator,
 * whose state is saved in the checkpoint), cuts it into batches of
 * training.batch_size, and trains on the last, smaller batch too; its
 * gradient is averaged over its own size.  Nothing is dropped.
 *
 * Each step: forward (with dropout masks drawn from a generator seeded by
 * the seed and the step number, so no generator state needs saving), the
 * loss and its gradient (fused dC/dZ for softmax/cross-entropy and
 * sigmoid/binary-cross-entropy), backward, clipping by global norm, and the
 * optimizer's update at the scheduled learning rate.
 *
 * Stopping: when *stop (set by the caller's signal handler to SIGINT or
 * SIGTERM) becomes non-zero, the loop finishes the mini-batch in progress,
 * writes a checkpoint that records the position inside the epoch (the
 * generator state before the epoch's shuffle, the batches done, the running
 * metrics), and returns -1 with err->code 130 or 143.  --resume redraws the
 * same order, skips the done batches and continues, so the result equals an
 * uninterrupted run bit for bit.
 *
 * Nothing here prints: the per-epoch metrics, the progress within an epoch,
 * the profile and the notes go to the caller's callbacks (any may be NULL).
 */
#ifndef NN_TRAIN_H
#define NN_TRAIN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "eval/metrics.h"
#include "util/error.h"
#include "util/profile.h"

/* One finished epoch. */
typedef struct {
    int64_t epoch, epochs;     /* this epoch (1-based) of training.epochs */
    bool regression;
    nn_result train;           /* running metrics over the epoch's batches */
    bool has_val;
    nn_result val;             /* validation after the epoch (when has_val) */
    double seconds;            /* the whole epoch, validation included */
    double samples_per_second; /* training rows over the training part */
} nn_epoch_report;

/* Where training stands inside an epoch, after each mini-batch. */
typedef struct {
    int64_t epoch, epochs;
    int64_t batch, batches;
    double started;            /* nn_now() when the epoch started */
    double samples;            /* rows trained in this epoch so far */
} nn_batch_report;

/* Where an epoch's training time went (--profile): phases[NN_PROF_*]. */
typedef struct {
    int64_t epoch;
    double seconds;            /* the training part of the epoch */
    double phases[NN_PROF_PHASES];
} nn_profile_report;

/* One fold of --cv, trained and measured on the fold's rows. */
typedef struct {
    int fold, folds;           /* this fold (1-based) of folds */
    bool regression;
    size_t n_train, n_val;     /* the rows it trained and validated on */
    nn_result r;               /* the fold's rows: samples, loss; accuracy or mse, mae, r2
                                  (in the targets' units) */
} nn_fold_report;
/* How a run ended. */
typedef enum {
    NN_END_COMPLETED,          /* training.epochs done */
    NN_END_EARLY_STOPPING,     /* early stopping ended it */
    NN_END_SIGNAL              /* stopped by SIGINT/SIGTERM, the checkpoint written */
} nn_train_end;

/* The whole run, once at its end (on_end): after the last checkpoint, also
 * after early stopping and after a stop by a signal; never after an error,
 * nor when a resumed checkpoint had nothing left to do. */
typedef struct {
    nn_train_end end;
    int signal;                /* SIGINT or SIGTERM when end is NN_END_SIGNAL */
    int64_t epochs;            /* training.epochs */
    int64_t final_epoch;       /* the last completed epoch, counted from the start of
                                  training (a resumed run continues the count); 0: none */
    int64_t epochs_run;        /* epochs completed by this run */
    bool regression;
    nn_result train;           /* the final epoch's metrics (NaN where unknown) */
    bool has_val;
    nn_result val;             /* its validation metrics (when has_val) */
    int64_t best_epoch;        /* the best validation loss's epoch (keep_best's; with
                                  early stopping's min_delta, the last epoch that beat
                                  the best by more than it); 0: no validation */
    nn_result best_val;        /* that epoch's validation metrics: the loss always, the
                                  others when that epoch ran in this run (NaN otherwise) */
    double seconds;            /* from the start of this run's first epoch to the end,
                                  validation and checkpoints included */
    double samples;            /* training rows trained on by this run */
} nn_train_summary;

typedef struct {
    bool resume;               /* continue from cfg->checkpoint_path */
    bool profile;              /* time the phases of each epoch (on_profile) */
    const volatile sig_atomic_t *stop; /* 0, or SIGINT / SIGTERM: stop and save; NULL: never */
    void *ctx;                 /* passed to the callbacks */
    /* once, when the data is loaded and the first epoch is about to start:
     * from here on a stop is honoured (the command line installs its
     * SIGINT/SIGTERM handlers here, so a signal while loading still ends
     * the process at once) */
    void (*on_start)(void *ctx);
    void (*on_epoch)(void *ctx, const nn_epoch_report *r);
    void (*on_batch)(void *ctx, const nn_batch_report *r);
    /* a terminal (a FILE *) where parsing a streamed CSV into its cache draws
     * a progress line; NULL: none */
    void *progress;
    void (*on_profile)(void *ctx, const nn_profile_report *r);
    /* a note for the user, one line without "nntrain: " ("no checkpoint.path
     * in the config, ...", "early stopping after epoch 7: ...") */
    void (*on_note)(void *ctx, const char *note);
    /* several processes: a failure inside a sum over them, after which they
     * cannot go on together; the job is ended (nn_dist_abort) right after.
     * Called with fatal_ctx, not ctx: rank 0's reporting is not the others'. */
    void (*on_fatal)(void *fatal_ctx, const nn_error *e);
    void *fatal_ctx;
    /* --cv: after each fold */
    void (*on_fold)(void *ctx, const nn_fold_report *r);
    /* once, when the run ends (nn_train_summary says when) */
    void (*on_end)(void *ctx, const nn_train_summary *s);
} nn_train_opts;

/* Whether the latest checkpoint is written after epoch e of `epochs` (the
 * save policy's decision, separate from the clock for its tests): always
 * after the last epoch and when early stopping ended the run; otherwise
 * every every_epochs epochs (0: never), unless the latest checkpoint was
 * written, or training started, less than every_seconds ago
 * (`since_last`; every_seconds 0: no throttle).  The throttle decides only
 * whether a write happens, never what is written. */
bool nn_train_save_due(int64_t e, int64_t epochs, int every_epochs, double every_seconds,
                       double since_last, bool early_stopped);

/* Trains cfg.  Returns 0 when training.epochs are done (or early stopping
 * ended it, or a resumed checkpoint had nothing left to do), or -1 with
 * *err: exit code 1 for data, divergence and I/O, 2 for settings that do not
 * fit together, 130/143 after a stop (the checkpoint written). */
int nn_train(const nn_config *cfg, const nn_train_opts *o, nn_error *err);

/* K-fold cross-validation (--cv K): the rows of data.train shuffled by the
 * split generator of cfg->seed; fold f (0-based) is the positions
 * [floor(f n / K), floor((f + 1) n / K)) of that order (nn_cv_fold).  Each
 * fold trains a fresh model from the same seed on the other rows (of which
 * data.validation_fraction is held out for validation, early stopping and
 * keep_best's choice when set; data.test_fraction is ignored, with a note;
 * a data.validation file is used as it is), writes no checkpoint, and is
 * measured on its own rows (o->on_fold).  Returns 0, or -1 with *err: code 2
 * for K < 2, 1 when K exceeds the rows, as nn_train otherwise. */
int nn_cross_validate(const nn_config *cfg, int K, const nn_train_opts *o, nn_error *err);

#endif
