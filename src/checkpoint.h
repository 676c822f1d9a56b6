/* checkpoint.h - the checkpoint file (contract section 7).
 *
 * Layout (all integers little-endian, floats IEEE-754 binary32 little-endian):
 *   header   8 bytes magic "NNTRCKPT", u32 format version, u32 section count
 *   sections each: 4-byte tag, u64 payload length, payload
 *   trailer  u32 CRC-32 (IEEE 802.3 polynomial, as zlib's crc32) of every
 *            byte before it
 * The file is rejected whole when the magic, the version, a length, or the
 * checksum is wrong.  It is written atomically: a temporary file in the same
 * folder, fsync, rename over the target, fsync of the folder.  It holds no
 * time stamps, host names, working-directory paths or thread counts, so two
 * runs that should agree give the same bytes.
 */
#ifndef NN_CHECKPOINT_H
#define NN_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "data/layout.h"
#include "nn/types.h"
#include "util/error.h"

#define NN_CKPT_VERSION 3

typedef struct {
    char *version;          /* nntrain version that wrote it, e.g. "0.1.0" */
    char *config_json;      /* the full effective config (nn_config_to_json) */

    /* architecture */
    int n_inputs;           /* features per sample */
    int n_layers;
    int units[NN_MAX_LAYERS];
    nn_act act[NN_MAX_LAYERS];
    nn_loss loss;
    nn_opt optimizer;
    int n_classes;          /* classes of the training labels */

    /* input scaling: x' = (x - shift[i]) * mult[i], both (n_inputs,) */
    nn_scale scale;
    float *shift;
    float *mult;

    /* progress */
    int64_t epoch;          /* epochs completed */
    int64_t step;           /* mini-batch updates completed */
    uint64_t rng[4];        /* training generator state after `epoch` epochs */
    uint64_t seed;

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

    /* activation parameters and loss settings needed to run the model */
    float alpha[NN_MAX_LAYERS]; /* leaky_relu slope / elu alpha per layer (0 otherwise) */
    double huber_delta;         /* loss "huber" */

    /* early stopping and the best checkpoint */
    double best_val_loss;       /* best validation loss so far (NaN: none yet) */
    int64_t best_epoch;         /* its epoch (0: none) */
    int64_t bad_epochs;         /* epochs since it, for the patience */
    int stopped;                /* 1: early stopping ended the training */

    /* metrics of the last completed epoch; NaN when not measured */
    double train_loss, train_accuracy, val_loss, val_accuracy;

    /* the training data, so --eval and --predict can read data like it */
    char **class_names;     /* (n_classes,) string labels in class order; NULL for integer
                               labels */
    nn_data_layout layout;  /* its format, regression targets (layout.n_targets, 0 for
                               classification) and, for CSV, header, columns, label/target
                               positions and names */

    /* parameters in the model's one-buffer layout, and optimizer state */
    float *params;
    size_t n_params;
    float *opt_state;       /* NULL when n_opt_state == 0 (plain SGD) */
    size_t n_opt_state;
} nn_ckpt;

/* Writes c to path atomically.  On failure (including a full disk) returns
 * -1 with *err (code 1) and leaves any previous file at `path` untouched. */
int nn_ckpt_save(const char *path, const nn_ckpt *c, nn_error *err);

/* Reads and checks path.  Returns 0 and fills *c (free with nn_ckpt_free),
 * or -1 with *err (code 1): "FILE: not an nntrain checkpoint", "FILE:
 * checkpoint format version 7, this nntrain reads version 1", "FILE:
 * checksum mismatch (file is corrupt or truncated)", ... */
int nn_ckpt_load(const char *path, nn_ckpt *c, nn_error *err);

/* Frees everything c owns and zeroes it; safe on a zeroed struct. */
void nn_ckpt_free(nn_ckpt *c);

/* The in-memory halves of save and load (for tests and fuzz harnesses).
 * nn_ckpt_encode checks c and returns 0 with *out (free with free()) holding
 * the file's *n bytes, or -1 with *err.  nn_ckpt_decode checks n bytes the
 * same way nn_ckpt_load does; `name` starts every error message.  Neither
 * touches the file system. */
int nn_ckpt_encode(const nn_ckpt *c, unsigned char **out, size_t *n,
                   const char *name, nn_error *err);
int nn_ckpt_decode(const void *data, size_t n, const char *name, nn_ckpt *c,
                   nn_error *err);

/* Largest checkpoint file written or read: 4 GiB. */
#define NN_CKPT_MAX_BYTES ((uint64_t)4 << 30)

#endif
