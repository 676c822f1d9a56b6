/* checkpoint.h - the checkpoint file (contract section 7).
 *
 * Format 4, the one written (all integers little-endian, floats IEEE-754
 * binary32/64 little-endian bit patterns):
 *   header   8 bytes magic "NNTRCKPT", u32 format version, u32 section count
 *   sections each: 4-byte tag, u32 flags (bit 0: required), u64 payload
 *            length, payload
 *   trailer  u32 CRC-32 (IEEE 802.3 polynomial, as zlib's crc32) of every
 *            byte before it
 * A reader skips a section whose tag it does not know when the section is
 * optional, and refuses the file when it is required, naming the section
 * and the format version that wrote it.  From format 4 on the framing above
 * never changes and a section's layout never changes under its tag: a
 * newer nntrain adds sections (and raises the version), so an older one
 * reads what it can and refuses only what it must.  The sections are
 * listed in sections.c; each layer of the architecture records its kind by
 * name, with the fields its kind defines (nn/layer.h).
 *
 * Format 3 files (nntrain 0.1.0: no flags, a fixed set of sections, dense
 * layers only) are still read by --inspect, --predict, --eval and --resume
 * (v3.c).  Older ones are refused.
 *
 * The file is rejected whole when the magic, the version, a length, a
 * value or the checksum is wrong.  It is written atomically: a temporary
 * file in the same folder, fsync, rename over the target, fsync of the
 * folder.  It holds no time stamps, host names, working-directory paths or
 * thread counts, so two runs that should agree give the same bytes.
 */
#ifndef NN_CHECKPOINT_H
#define NN_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/layout.h"
#include "kernels/kernels.h"
#include "nn/arch.h"
#include "nn/model.h"
#include "nn/types.h"
#include "util/error.h"

#define NN_CKPT_VERSION 4        /* the format written */
#define NN_CKPT_OLDEST_VERSION 3 /* the oldest format read */

/* The metrics of every epoch trained so far, across --resume (section
 * HIST): per record the epoch and one value per metric name ("train_loss",
 * "train_accuracy", "val_loss", ...; NaN when not measured, e.g. val_ ones
 * without validation data).  Metrics only, no times, so a resumed run
 * writes the same bytes as one that never stopped.
 *
 * Bounded: while a run has at most NN_HIST_MAX_RECORDS epochs every one is
 * kept (stride 1).  The record after that halves the history: the stride
 * doubles and only the epochs that are multiples of it stay, plus always
 * the latest epoch (replaced by the next one when it is not a multiple).
 * So a long run keeps between 1,024 and 2,048 evenly spaced epochs plus the
 * last (1,000,000 epochs: stride 512, 1,954 records), at most 2,049 records
 * of 8 + 8 per metric bytes (148 KiB for regression with validation), and
 * the records depend only on the epoch numbers, not on when the run was
 * stopped and resumed. */
#define NN_HIST_MAX_RECORDS 2048
#define NN_HIST_MAX_METRICS 16
#define NN_HIST_MAX_NAME 64
typedef struct {
    int n_metrics;          /* 0: no history */
    char **names;           /* (n_metrics,) distinct, [a-z0-9_], 1..NN_HIST_MAX_NAME bytes */
    int64_t stride;         /* a power of two: the epochs kept are its multiples and the last */
    size_t n, cap;          /* records held, and allocated */
    int64_t *epochs;        /* (n,) increasing, from 1 */
    double *values;         /* (n, n_metrics) */
} nn_history;

/* Starts an empty history of these metrics (copied).  -1 with *err on out
 * of memory. */
int nn_history_init(nn_history *h, const char *const *names, int n_metrics, nn_error *err);
/* Adds epoch `epoch` (greater than the last one) with values[n_metrics],
 * thinning as described above.  -1 with *err on out of memory. */
int nn_history_add(nn_history *h, int64_t epoch, const double *values, nn_error *err);
/* The index of metric `name`, or -1. */
int nn_history_find(const nn_history *h, const char *name);
/* Whether the history's metrics are exactly these, in this order. */
bool nn_history_same_metrics(const nn_history *h, const char *const *names, int n_metrics);
/* Everything a history must satisfy (the limits, names, stride, increasing
 * epochs, the kept ones multiples of the stride but the last); 0 or -1
 * with what[cap]. */
int nn_history_check(const nn_history *h, char *what, size_t cap);
void nn_history_free(nn_history *h);

typedef struct {
    int format;             /* the format version of the file read; NN_CKPT_VERSION written */
    char *version;          /* nntrain version that wrote it, e.g. "0.1.0" */
    char *config_json;      /* the full effective config (nn_config_to_json) */

    /* the model */
    nn_arch arch;           /* the architecture (dropout and init are not stored) */
    nn_loss loss;
    double huber_delta;     /* loss "huber" */
    float *params;          /* (n_params,) in the model's one-buffer layout */
    size_t n_params;
    float *state;           /* (n_state,) the layers' state (batch-norm running statistics);
                               NULL when n_state == 0 */
    size_t n_state;

    /* the data it was trained on */
    int n_classes;          /* classes of the training labels; 0 for regression */
    char **class_names;     /* (n_classes,) string labels in class order; NULL for integer
                               labels */
    nn_data_layout layout;  /* format, regression targets, CSV header/columns/positions */
    /* input scaling: x' = (x - shift[i]) * mult[i], both (n_inputs,) */
    nn_scale scale;
    float *shift;
    float *mult;

    /* regression target scaling (data.scale_targets): the model was trained on
     * (t - target_mean[k]) / target_std[k]; its outputs map back by y std + mean.
     * NULL (n_target_scale 0) when the targets were used as they are (and in
     * checkpoints written before the TSCL section existed). */
    int n_target_scale;     /* 0 or layout.n_targets */
    double *target_mean, *target_std;

    /* the optimizer */
    nn_opt optimizer;
    float *opt_state;       /* NULL when n_opt_state == 0 (plain SGD) */
    size_t n_opt_state;

    /* progress */
    int64_t epoch;          /* epochs completed */
    int64_t step;           /* mini-batch updates completed */
    uint64_t rng[4];        /* training generator state after `epoch` epochs */
    uint64_t seed;
    /* metrics of the last completed epoch; NaN when not measured */
    double train_loss, train_accuracy, val_loss, val_accuracy;

    /* early stopping and the best checkpoint */
    double best_val_loss;   /* best validation loss so far (NaN: none yet) */
    int64_t best_epoch;     /* its epoch (0: none) */
    int64_t bad_epochs;     /* epochs since it, for the patience */
    int stopped;            /* 1: early stopping ended the training */

    /* an interrupted epoch (SIGINT/SIGTERM): `batch` mini-batches of epoch
     * epoch+1 are done; 0 at an epoch boundary.  epoch_rng is the training
     * generator before that epoch's shuffle, so resuming redraws the same
     * order; acc_* are that epoch's running training metrics (nn_acc). */
    int64_t batch;
    uint64_t epoch_rng[4];
    double acc_loss_sum;
    uint64_t acc_n, acc_correct;
    int acc_k;              /* regression outputs accumulated, 0 otherwise */
    double *acc_reg;        /* (4, acc_k): mean, m2, sse, sae per output */

    /* the metrics of every epoch (HIST; empty for format 3 and files
     * written before the section existed) */
    nn_history hist;

    /* the precision of the dense products it was trained in (PREC; fp32 when
     * the section is absent: format 3, fp32 runs and files written before it
     * existed); --eval and --predict use it unless told otherwise */
    nn_precision precision;

    /* the loss's label smoothing (SMTH; 0 when absent), for the loss --eval
     * reports */
    double label_smoothing;

    /* training.ema (EMAP; absent without it): the decay and the moving
     * average of the parameters (n_params of them), which --eval and
     * --predict use; params stays the trained ones, for --resume */
    double ema_decay;
    float *ema;

    /* streamed training data (STRM; absent when the data was in memory): the
     * plan's block and window rows (data/stream.h), which --resume keeps so
     * the orders are redrawn the same; 0 and 0 in memory */
    uint64_t stream_block, stream_window;
} nn_ckpt;

/* Writes c to path atomically.  On failure (including a full disk) returns
 * -1 with *err (code 1) and leaves any previous file at `path` untouched. */
int nn_ckpt_save(const char *path, const nn_ckpt *c, nn_error *err);

/* Reads and checks path.  Returns 0 and fills *c (free with nn_ckpt_free),
 * or -1 with *err (code 1): "FILE: not an nntrain checkpoint", "FILE:
 * checkpoint format version 2, this nntrain reads formats 3 and later",
 * "FILE: checksum mismatch (file is corrupt or truncated)", "FILE: section
 * "XXXX" of checkpoint format 5 is required but unknown to this nntrain (written
 * by a newer one?)",
 * "FILE: malformed checkpoint: ...". */
/* The bytes of the file at path, as nn_ckpt_load reads them (*out
 * malloc'd), for a process that sends them on; 0, or -1 with *err. */
int nn_ckpt_read_bytes(const char *path, unsigned char **out, uint64_t *n, nn_error *err);
int nn_ckpt_load(const char *path, nn_ckpt *c, nn_error *err);

/* Frees everything c owns and zeroes it; safe on a zeroed struct. */
void nn_ckpt_free(nn_ckpt *c);

/* The in-memory halves of save and load (for tests and fuzz harnesses).
 * nn_ckpt_encode checks c and returns 0 with *out (free with free()) holding
 * the file's *n bytes in format NN_CKPT_VERSION, or -1 with *err.
 * nn_ckpt_decode checks n bytes the same way nn_ckpt_load does; `name`
 * starts every error message.  Neither touches the file system. */
int nn_ckpt_encode(const nn_ckpt *c, unsigned char **out, size_t *n,
                   const char *name, nn_error *err);
int nn_ckpt_decode(const void *data, size_t n, const char *name, nn_ckpt *c,
                   nn_error *err);

/* A model of the checkpoint's architecture, parameters and layer state,
 * for batches of up to max_batch rows.  NULL with *err. */
nn_model *nn_ckpt_model(const nn_ckpt *c, int max_batch, nn_error *err);

/* Largest checkpoint file written or read: 4 GiB. */
#define NN_CKPT_MAX_BYTES ((uint64_t)4 << 30)

#endif
