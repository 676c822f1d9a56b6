/* nntrain.h - the public interface of libnntrain: train a multilayer
 * perceptron from a config, evaluate a checkpoint, and load a checkpoint to
 * predict from C.  The nntrain command line is a client of these functions.
 *
 * Conventions
 *   - Every function that can fail returns an nntrain_status (NNTRAIN_OK is
 *     0) and, when `err` is not NULL, fills it with the status, the exit code
 *     the command line would use and a one-line message naming the file and
 *     place.  Nothing is ever written to stdout or stderr: progress reaches
 *     the caller through callbacks.
 *   - Misuse (a NULL handle or pointer, a buffer of the wrong size, an option
 *     out of range) returns NNTRAIN_ERR_ARGUMENT; it never crashes.
 *   - Handles are opaque.  A model (nntrain_model) is immutable after
 *     nntrain_open*: any number of threads may call nntrain_describe,
 *     nntrain_class_name and nntrain_predict on one model at the same time;
 *     nntrain_close must not race with them.
 *   - Process-wide services, each initialised once on first use and never
 *     torn down: the choice of dense kernels (NNTRAIN_ISA or the best the
 *     processor has, see nntrain_select_kernels), the worker thread pool
 *     (nntrain_set_threads) and, on Intel processors with AMX, the
 *     permission to use its tiles.  There is no other global state.
 *
 * Link with `pkg-config --cflags --libs nntrain`.  See nntrain(3).
 */
#ifndef NNTRAIN_H
#define NNTRAIN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NNTRAIN_VERSION_MAJOR 0
#define NNTRAIN_VERSION_MINOR 2
#define NNTRAIN_VERSION_PATCH 0
#define NNTRAIN_VERSION_STRING "0.2.0"
/* MAJOR * 10000 + MINOR * 100 + PATCH, for #if comparisons. */
#define NNTRAIN_VERSION_NUMBER \
    (NNTRAIN_VERSION_MAJOR * 10000 + NNTRAIN_VERSION_MINOR * 100 + NNTRAIN_VERSION_PATCH)

/* The version of the library actually linked ("0.2.0"). */
const char *nntrain_version(void);

/* ---- errors ------------------------------------------------------------ */

typedef enum {
    NNTRAIN_OK = 0,
    NNTRAIN_ERR_ARGUMENT = 1,   /* misuse: NULL handle or pointer, wrong buffer size, bad option */
    NNTRAIN_ERR_CONFIG = 2,     /* an invalid config, or settings that do not fit together */
    NNTRAIN_ERR_IO = 3,         /* a file could not be opened, read or written */
    NNTRAIN_ERR_FORMAT = 4,     /* not a checkpoint, corrupt or truncated data */
    NNTRAIN_ERR_VERSION = 5,    /* a checkpoint of a format newer than this library reads */
    NNTRAIN_ERR_DATA = 6,       /* data that does not fit the model or the config */
    NNTRAIN_ERR_DIVERGED = 7,   /* training went non-finite */
    NNTRAIN_ERR_NOMEM = 8,      /* out of memory */
    NNTRAIN_ERR_STOPPED = 9,    /* training stopped on request; its checkpoint is written */
    NNTRAIN_ERR_RUNTIME = 10    /* any other failure while running */
} nntrain_status;

typedef struct {
    nntrain_status status;
    int exit_code;       /* what the command line exits with: 1, 2, 130 or 143 (0: no error) */
    char message[1024];  /* one line, no trailing newline, no "nntrain: " prefix */
} nntrain_error;

/* A fixed English phrase for a status ("invalid argument", ...); never NULL. */
const char *nntrain_status_string(nntrain_status s);

/* ---- process-wide services ----------------------------------------------- */

/* Worker threads for training and prediction (n >= 1; 0: all online cores). */
nntrain_status nntrain_set_threads(int n, nntrain_error *err);

/* Forces the kernel family of a precision ("fp32": "scalar", "avx2",
 * "avx512"; "bf16": "scalar", "avx2bf16", "avx512bf16", "amx"), as
 * NNTRAIN_ISA does; family NULL: the best this processor supports.
 * Predictions, training and evaluation in that precision use it from then
 * on. */
nntrain_status nntrain_select_kernels(const char *precision, const char *family,
                                      nntrain_error *err);

/* ---- a trained model ------------------------------------------------------ */

typedef struct nntrain_model nntrain_model;

typedef enum { NNTRAIN_TASK_CLASSIFICATION = 0, NNTRAIN_TASK_REGRESSION = 1 } nntrain_task;
typedef enum { NNTRAIN_PRECISION_FP32 = 0, NNTRAIN_PRECISION_BF16 = 1 } nntrain_precision;

typedef struct {
    nntrain_task task;
    nntrain_precision precision; /* what it was trained in, and what nntrain_predict uses */
    int n_inputs;           /* features of a row, in the training data's layout */
    int n_outputs;          /* values of a row's output vector */
    int n_classes;          /* classification: the classes (2 for one sigmoid output); 0 */
    int has_class_names;    /* 1: string labels (nntrain_class_name); 0: integer labels */
    int n_layers;           /* dense layers, the output layer included */
    int64_t epochs;         /* epochs it was trained for */
    int checkpoint_format;  /* the file's format version */
} nntrain_info;

/* Opens the checkpoint at `path`, or the `size` bytes at `data` (copied;
 * the caller may free them on return).  *out is set to the model, or NULL
 * on failure. */
nntrain_status nntrain_open(const char *path, nntrain_model **out, nntrain_error *err);
nntrain_status nntrain_open_memory(const void *data, size_t size, nntrain_model **out,
                                   nntrain_error *err);

/* Frees the model; NULL is ignored. */
void nntrain_close(nntrain_model *m);

nntrain_status nntrain_describe(const nntrain_model *m, nntrain_info *info, nntrain_error *err);

/* Class k's name (the original string label), or NULL when the model has
 * integer labels, is a regression model, or k is out of range.  Valid until
 * nntrain_close. */
const char *nntrain_class_name(const nntrain_model *m, int k);

/* Predicts n_rows rows.  x holds n_rows * n_inputs floats, row after row, in
 * the training data's layout (input scaling is applied inside); x_len is its
 * length in floats and must equal n_rows * n_inputs.  Either output may be
 * NULL, not both:
 *   labels (n_rows ints): each row's predicted class, 0-based (-1 for a
 *     regression model);
 *   outputs (outputs_len floats, which must equal n_rows * n_outputs): each
 *     row's output vector, what `nntrain --predict --scores` prints
 *     (probabilities for softmax and sigmoid outputs; regression values in
 *     the targets' units).
 * The products run in the model's precision.  Thread-safe on one model. */
nntrain_status nntrain_predict(const nntrain_model *m, const float *x, size_t n_rows,
                               size_t x_len, int *labels, float *outputs, size_t outputs_len,
                               nntrain_error *err);

/* ---- training ------------------------------------------------------------- */

/* Metrics of a pass over data; NaN where they do not apply (accuracy for
 * regression, mse/mae/r2 for classification) or were not measured. */
typedef struct {
    double samples;
    double loss;
    double accuracy;
    double mse, mae, r2;
} nntrain_metrics;

typedef enum {
    NNTRAIN_EVENT_START,    /* data loaded, the first epoch starts (a stop is honoured from here) */
    NNTRAIN_EVENT_BATCH,    /* a mini-batch done */
    NNTRAIN_EVENT_EPOCH,    /* an epoch done, validated */
    NNTRAIN_EVENT_NOTE,     /* a note for the user (one line) */
    NNTRAIN_EVENT_PROFILE,  /* where an epoch's time went (with profile on) */
    NNTRAIN_EVENT_FOLD,     /* a fold of cross-validation done */
    NNTRAIN_EVENT_END       /* the run ended: completed, early-stopped or stopped */
} nntrain_event_type;

typedef enum {
    NNTRAIN_END_COMPLETED = 0,
    NNTRAIN_END_EARLY_STOPPING = 1,
    NNTRAIN_END_STOPPED = 2
} nntrain_end;

#define NNTRAIN_PROFILE_PHASES 6 /* data, forward, loss, backward, optimizer, dense kernels */

typedef struct {
    nntrain_event_type type;
    int regression;           /* 1: the metrics are mse, mae, r2 */
    int64_t epoch, epochs;    /* BATCH, EPOCH, PROFILE, END: the epoch (1-based) of epochs */
    int64_t batch, batches;   /* BATCH */
    double samples;           /* BATCH: rows so far in this epoch; END: rows trained by this run */
    double seconds;           /* BATCH: since the epoch started; EPOCH: the epoch; PROFILE:
                                 its training part (what phases divide); END: the run */
    double samples_per_second;/* EPOCH */
    nntrain_metrics train;    /* EPOCH, END: the (last) epoch's running training metrics */
    int has_val;
    nntrain_metrics val;      /* EPOCH, END: validation, when has_val */
    const char *note;         /* NOTE */
    double phases[NNTRAIN_PROFILE_PHASES]; /* PROFILE: seconds per phase */
    int fold, folds;          /* FOLD */
    size_t fold_train, fold_val; /* FOLD: the rows trained and measured on */
    nntrain_metrics fold_metrics; /* FOLD */
    nntrain_end end;          /* END */
    int signal;               /* END with NNTRAIN_END_STOPPED: the stop value */
    int64_t epochs_run;       /* END: epochs completed by this run */
    int64_t best_epoch;       /* END: the best validation loss's epoch; 0: none */
    nntrain_metrics best_val; /* END */
} nntrain_event;

typedef struct {
    /* "KEY=VALUE" overrides of config keys by dotted path, applied in order
     * (as --set); n_sets of them */
    const char *const *sets;
    int n_sets;
    const char *checkpoint;   /* the checkpoint to write or resume; NULL: the config's */
    int resume;               /* 1: continue from the checkpoint */
    int64_t epochs;           /* > 0: the total epochs (training.epochs); 0: the config's */
    int has_seed;             /* 1: seed replaces the config's */
    uint64_t seed;
    int profile;              /* 1: NNTRAIN_EVENT_PROFILE after each epoch */
    int cv_folds;             /* >= 2: K-fold cross-validation instead (no checkpoint) */
    /* when not NULL and it becomes SIGINT or SIGTERM (set by the caller's
     * signal handler, say), training finishes the mini-batch in progress,
     * writes a checkpoint and returns NNTRAIN_ERR_STOPPED (exit code 130 or
     * 143) */
    const volatile sig_atomic_t *stop;
    void (*on_event)(void *user, const nntrain_event *e);
    void *user;
} nntrain_train_options;

/* Trains the config at config_path (JSON; relative paths in it are relative
 * to its folder) with options o (NULL: the defaults).  Returns NNTRAIN_OK
 * when training ends (its checkpoint written), or an error. */
nntrain_status nntrain_train(const char *config_path, const nntrain_train_options *o,
                             nntrain_error *err);

/* ---- evaluation ------------------------------------------------------------ */

typedef struct {
    const char *const *sets;  /* "KEY=VALUE" overrides of the config's keys, as --set */
    int n_sets;
    const char *checkpoint;   /* NULL: the config's checkpoint.path */
    const char *data;         /* a CSV file, an IDX images file, IMAGES,LABELS or an NPY
                                 pair, as --data takes; NULL: the config's data.test or
                                 its held-out test share */
    int precision;            /* -1: the model's; else an nntrain_precision */
} nntrain_eval_options;

typedef struct {
    nntrain_task task;
    nntrain_metrics metrics;
    int n_classes;            /* classification */
    uint64_t *confusion;      /* (n_classes * n_classes), row = true class; owned */
    char **class_names;       /* (n_classes) string labels; NULL for integer labels; owned */
} nntrain_evaluation;

/* Evaluates a checkpoint on labelled data.  config_path may be NULL when
 * o->checkpoint and o->data are both given; otherwise what they leave out
 * comes from the config, as `nntrain --eval CONFIG` does.  Free *out with
 * nntrain_evaluation_free (also after a failure; it is then empty). */
nntrain_status nntrain_evaluate(const char *config_path, const nntrain_eval_options *o,
                                nntrain_evaluation *out, nntrain_error *err);
void nntrain_evaluation_free(nntrain_evaluation *e);

#ifdef __cplusplus
}
#endif

#endif
