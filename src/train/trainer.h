/* trainer.h - the state of a training run, shared by the files of
 * src/train (internal to them).
 *
 *   train.c    nn_train: setting up, the loop over epochs, cleaning up
 *   data.c     the training and validation rows, and whether they suit
 *              the model
 *   step.c     the mini-batches of one epoch, one training step each
 *   epoch.c    the end of an epoch: validation, early stopping, the report
 *   save.c     when to write a checkpoint, and the stop after a signal
 *   state.c    the trainer's state to a checkpoint and back (--resume)
 *   diverge.c  where a run that stopped being finite went wrong
 */
#ifndef NN_TRAINER_H
#define NN_TRAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "checkpoint/checkpoint.h"
#include "data/csv.h"
#include "data/dataset.h"
#include "data/rowsrc.h"
#include "data/stream.h"
#include "dist/dist.h"
#include "eval/measure.h"
#include "eval/metrics.h"
#include "nn/model.h"
#include "nn/optim.h"
#include "train/train.h"
#include "util/rng.h"

typedef struct {
    const nn_config *cfg;
    const nn_train_opts *o;

    /* the data (data.c) */
    nn_dataset train, val;       /* val.x is NULL when validation comes from a split */
    nn_data_layout layout;       /* of the training file */
    const nn_dataset *val_set;   /* the set the validation rows index: &train or &val */
    uint32_t *train_idx, *val_idx; /* (n_train,), (n_val,) */
    size_t n_train, n_val;
    uint32_t *test_idx;          /* (n_test,) rows of the training file held out: the
                                    data.test_fraction split, or the fold of --cv */
    size_t n_test;
    int cv_folds, cv_fold;       /* --cv: fold cv_fold (0-based) of cv_folds; 0: no --cv */
    double *target_mean, *target_std; /* (outputs,) regression target scaling; NULL: none */
    bool regression;
    nn_scale scale;              /* cfg->scale with "auto" resolved for the data */
    float *shift, *mult;         /* (features,) input scaling */

    /* a streamed training source (stream.c): train holds its description
     * only (x, labels and targets NULL), the rows come from `pass` */
    bool streaming;
    nn_source cache_src;         /* a streamed CSV: its binary cache, as an NPY source */
    char **cache_classes;        /* its class names until the set takes them */
    int32_t cache_n_classes;
    nn_rowsrc rows;
    nn_stream_plan plan;
    nn_stream *pass;             /* the running epoch's, or NULL */
    /* training.slices > 1: the running epoch's passes, one per held slice
     * (stream.c), parts[i] feeding slice part_lo + i of every batch */
    nn_stream *parts[NN_SLICES_MAX];
    int part_lo, n_parts;
    /* data.augment: the images' height and width (0: no augmentation), the
     * source row of each of the batch's rows, an image's room */
    int aug_h, aug_w;
    /* training.ema: the moving average of the parameters, and room to hold
     * the trained ones while the average is measured (NULL without) */
    float *ema, *ema_hold;
    uint64_t *aug_rows;
    float *aug_tmp;
    nn_dataset stage;            /* one batch of rows as stored */
    float *stream_shift, *stream_mult;     /* the scaling fitted by the opening pass */
    double *stream_tmean, *stream_tstd;    /* the target scaling fitted by it (or NULL) */
    uint64_t resume_block, resume_window;  /* --resume: the checkpoint's plan (0: in memory) */
    bool resume_known;           /* --resume: the checkpoint was read for them */

    /* the model and its optimizer */
    nn_model *model;
    nn_optim_cfg optim;
    nn_schedule sched;
    float *opt_state;            /* (n_opt_state,) in the parameters' layout */
    size_t n_opt_state;
    nn_optim_range decay[2 * NN_MAX_ARCH_LAYERS]; /* what gets weight decay (dense weights) */
    size_t n_decay;

    /* one mini-batch */
    float *X, *dOut, *T;         /* (batch, features), (batch, outputs), (batch, outputs) */
    int32_t *y;                  /* (batch,) labels */
    uint32_t *order;             /* (n_train,) this epoch's order of the training rows */

    /* progress, all of it in the checkpoint */
    nn_rng rng;                  /* the training generator (shuffles) */
    int64_t epoch, step;         /* epochs and updates done */
    int64_t batch;               /* batches of epoch+1 done (inside an epoch) */
    nn_rng epoch_rng;            /* rng before epoch+1's shuffle */
    nn_acc acc;                  /* the running epoch's training metrics */
    nn_result train_m, val_m;    /* metrics of the last epoch */
    double best_val_loss;        /* early stopping / keep_best */
    int64_t best_epoch, bad_epochs;
    int stopped;                 /* early stopping ended the run */

    /* this run only, never in the checkpoint */
    double last_save;            /* nn_now() when the latest checkpoint (PATH) was
                                    written, or training started: the throttle */
    double started;              /* nn_now() when training started (the summary) */
    int64_t first_epoch;         /* the first epoch this run trains */
    double samples_run;          /* training rows trained on by this run */
    nn_result best_val_m;        /* the best epoch's validation metrics, when it ran in
                                    this run (best_val_known) */
    bool best_val_known;
    nn_history hist;             /* the metrics of every epoch (nn_trainer_history_names) */

    /* the processes sharing the run (ranks.c); ranks 1: this one alone */
    int rank, ranks;
    nn_dist_req *reqs[NN_MAX_ARCH_LAYERS]; /* the layers' gradient sums in flight */
    int n_reqs;
    size_t gather_bytes;         /* a rank's part of a batch's gathered outputs */
    unsigned char *gather_mine, *gather_all; /* (gather_bytes), (ranks x it) at rank 0 */
    void *gather_rows;           /* rank 0: the batch's outputs, targets, labels */
} trainer;

/* data.c: loads the training data (and the validation set or split) for a
 * model with K outputs into t. */
int nn_trainer_load_data(trainer *t, int K, nn_error *err);
/* data.c: what reading a CSV file decided, as notes (the header guess,
 * rows left out). */
void nn_trainer_data_notes(const trainer *t, const nn_source *src, const nn_csv_info *info);
/* data.c: regression targets standardised by mean[K] and std[K] (copied
 * into t), in the training set and in a separate validation set. */
int nn_trainer_scale_targets(trainer *t, const double *mean, const double *std, nn_error *err);
/* data.c: batch normalisation needs every mini-batch to hold two rows or
 * more; the error says what to change. */
int nn_trainer_check_batches(const trainer *t, const nn_arch *a, nn_error *err);

/* stream.c: whether the training source is streamed (data.stream, and for
 * "auto" its size against data.max_memory_mb; --resume: the checkpoint's
 * mode).  -1 with *err when streaming is asked for a source that cannot be
 * read in place. */
int nn_trainer_stream_mode(trainer *t, nn_error *err);
/* stream.c: opens the streamed training source, plans it, and makes the
 * opening pass: the labels checked against K outputs, the class count, the
 * input and target scaling of the training rows. */
int nn_trainer_stream_open(trainer *t, int K, nn_error *err);
/* stream.c: the epoch's pass from batch t->batch on; its next B rows into
 * t->stage (targets scaled); stopping it. */
int nn_trainer_stream_begin(trainer *t, int64_t e, nn_error *err);
int nn_trainer_stream_batch(trainer *t, int B, nn_error *err);
void nn_trainer_stream_end(trainer *t);
/* stream.c: the model measured on the held-out rows of one kind
 * (NN_ROW_VAL or NN_ROW_TEST), in file order. */
int nn_trainer_stream_measure(trainer *t, int kind, nn_result *out, nn_error *err);
/* stream.c: a streamed run's note of the rows read from disk (several
 * processes: each one's, said by rank 0; every process calls it). */
void nn_trainer_stream_report(trainer *t);
void nn_trainer_stream_free(trainer *t);

/* step.c: trains the batches of epoch e from t->batch on.  Returns 0 at the
 * end of the epoch, 1 when a stop was asked for between two batches (t->batch
 * says where), -1 with *err when training diverged. */
int nn_trainer_run_epoch(trainer *t, int64_t e, double started, nn_error *err);

/* epoch.c: the end of epoch e: the parameters' check, the profile, the
 * validation, early stopping, the report.  *improved tells whether the
 * validation loss is the best so far.  Returns 0 or -1 with *err. */
int nn_trainer_end_epoch(trainer *t, int64_t e, double started, bool *improved,
                         nn_error *err);

/* epoch.c: the metrics the history keeps for this run's kind of problem
 * (*n of them): the train_ and val_ ones of the per-epoch lines. */
const char *const *nn_trainer_history_names(const trainer *t, int *n);

/* save.c: the checkpoints due after epoch e (the best one when improved,
 * the latest every checkpoint.every_epochs as checkpoint.every_seconds
 * allows, after the last epoch and when early stopping ended the run). */
int nn_trainer_save_after_epoch(trainer *t, int64_t e, bool improved, nn_error *err);
/* save.c: writes the checkpoint after a stop and sets *err to the stop's
 * message and exit code; returns -1. */
int nn_trainer_interrupted(trainer *t, nn_error *err);
/* save.c: "the last good checkpoint is kept" or "no checkpoint was
 * written", for messages about a failed run. */
const char *nn_trainer_kept(const trainer *t);

/* state.c: the training state as a checkpoint written to path. */
int nn_trainer_save(trainer *t, const char *path, nn_error *err);
/* state.c: restores the state of the checkpoint at cfg->checkpoint_path
 * after checking that it describes the same network, data and settings. */
int nn_trainer_restore(trainer *t, nn_error *err);

/* diverge.c: "layer 2 weights" etc., the first place, input side first,
 * with values that are not finite in a model after a batch of B rows (B 0:
 * the parameters only); false ("no layer") when there is none. */
bool nn_trainer_where_not_finite(const nn_model *m, int B, char *out, size_t cap);
/* diverge.c: what went non-finite first after the loss of a batch of B rows
 * (this process's share, in t->X, t->T and the model's outputs) was not
 * finite, or (B 0) the parameters after an epoch of `batches` batches were
 * not: the data, the forward pass, the loss, the gradients or the update,
 * with what to do, as one clause ("the data went non-finite first: ...")
 * into out.  Only after a failure: it may look at every training row, and
 * it overwrites t->X and t->T.  Every process calls it at the same point.
 * Returns which (NN_DIVERGED_*). */
enum { NN_DIVERGED_DATA, NN_DIVERGED_FORWARD, NN_DIVERGED_LOSS, NN_DIVERGED_GRADIENT,
       NN_DIVERGED_UPDATE };
int nn_trainer_diagnose(trainer *t, int B, size_t batches, char *out, size_t cap);
/* diverge.c: the index of the first non-finite value of p[n], if any. */
bool nn_first_nonfinite(const float *p, size_t n, size_t *at);

/* ranks.c: several processes share the run (nn_dist_size() > 1): this
 * rank's slices of every batch, the sums over ranks, the buffers. */
int nn_trainer_ranks_setup(trainer *t, nn_error *err);
/* ranks.c: every rank has the same config, data and kernels. */
int nn_trainer_ranks_check(trainer *t, nn_error *err);
/* ranks.c: the layers' gradient sums complete. */
void nn_trainer_ranks_wait(trainer *t);
/* ranks.c: true on every rank when flag is on any (alone: flag). */
bool nn_trainer_ranks_any(const trainer *t, bool flag);
/* ranks.c: rank 0's flag on every rank (alone: flag). */
bool nn_trainer_ranks_decide(const trainer *t, bool flag);
/* ranks.c: this rank's rows [first, first + B) of a batch of Bg rows. */
void nn_trainer_ranks_share(const trainer *t, int Bg, int *first, int *B);
/* ranks.c: the cost of a batch of Bg rows from this rank's B of them: the
 * slices' tree, then the ranks'. */
double nn_trainer_batch_loss(const trainer *t, const float *yhat, const float *logits,
                             const float *T, int B, int Bg);
/* ranks.c: the batch's outputs into the epoch's metrics (at rank 0). */
void nn_trainer_ranks_metrics(trainer *t, const float *yhat, int B, double loss);
void nn_trainer_ranks_free(trainer *t);
/* ranks.c: the validation rows measured (alone: nn_measure; several ranks:
 * shared out, the metrics taken by rank 0 and sent to all). */
int nn_trainer_ranks_measure(trainer *t, const nn_loss_spec *ls, nn_result *out, nn_error *err);
/* ranks.c: the checkpoint at path, read by rank 0 and sent to the others. */
int nn_trainer_load_ckpt(const trainer *t, const char *path, nn_ckpt *c, nn_error *err);

/* ranks.c: several processes: rc (0 or -1 with *err) agreed by all of
 * them, so that one that failed stops the others before they wait for it;
 * a process that did not fail gets the error `others` (said once, by rank
 * 0).  Alone: rc.  Every process must call it at the same point. */
int nn_trainer_agree(int rc, const char *others, nn_error *err);
/* ranks.c: the slices [lo, hi) of training.slices whose rows this
 * process reads and trains on (all of them alone). */
void nn_trainer_held_parts(const nn_config *cfg, int *lo, int *hi);
/* ranks.c: values of parts of the data (L doubles each: sums, counts,
 * extremes) combined as the slices' sums are: leaf[0..n) are this
 * process's parts, combined in the slices' tree by merge (a <- a (+) b),
 * then over the processes in the same tree; the whole is left in leaf[0]
 * on every process.  -1 with *err when out of memory (every process). */
typedef void (*nn_parts_merge)(double *a, const double *b, size_t L, void *ctx);
int nn_trainer_parts_combine(const trainer *t, double *const *leaf, int n, size_t L,
                             nn_parts_merge merge, void *ctx, nn_error *err);

/* a note through the caller's callback */
void nn_trainer_note(const trainer *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
