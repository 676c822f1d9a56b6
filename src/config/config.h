/* config.h - the JSON config (contract section 5), parsed with cJSON and
 * validated strictly into an nn_config.
 *
 * Errors are exit code 2 (NN_EXIT_USAGE) with `FILE:LINE:COL: message`, the
 * position being that of the offending key or value; a misspelt key names
 * the nearest valid key ("did you mean ...?").  A key or value that came
 * from a --set override is named by that argument instead of a position:
 * `--set optimizer.learing_rate=0.1: unknown key ...`.  A file that cannot
 * be read is exit code 1.  Relative data and checkpoint paths are resolved
 * against the folder of the config file; "-" (stdin) stays "-".
 *
 * Two settings that do not fit together (a key that does not apply to the
 * optimizer, schedule, activation or loss chosen; a loss that does not suit
 * the output layer) are reported at whichever of the two was written later:
 * the config text in order, then each --set in turn.  So a --set that breaks
 * a setting of the file is the one named.  "Validation data" below means
 * data.validation_fraction > 0 or data.validation.
 *
 * Each key is declared once, in the table of src/config/schema.c (type,
 * range, default, when it applies, where it lands below); the fields below
 * document the same keys for the program that uses them.
 */
#ifndef NN_CONFIG_H
#define NN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/source.h"
#include "kernels/kernels.h"
#include "nn/arch.h"
#include "nn/types.h"
#include "util/error.h"

/* A data source in the config (an nn_source, data/source.h): an IDX pair
 * {"images", "labels"} (file and labels), or a CSV file {"path", "label" |
 * "targets", "header", "delimiter"} (file and csv).  The format is decided
 * by "path" versus "images"/"labels"; both at once is an error.  Paths are
 * kept as written (file, labels: for the checkpoint's config) and resolved
 * (file_path, labels_path: to open).  CSV options: header (default "auto"),
 * delimiter (default ","), and the label column (default -1, the last) or
 * the target columns (1..65536 distinct names or indices; then has_label
 * is false); a column index satisfies |index| < 1000000.  Every string is
 * malloc'd and freed by nn_config_free. */

/* One layer, "model.layers[i]": nn_layer_cfg in nn/arch.h, with the keys' ranges,
 * defaults and rules (batch_norm and its momentum and eps: PyTorch BatchNorm1d's
 * conventions; hidden layers only, and not with a training.batch_size of 1). */

/* "optimizer.schedule": the learning rate of each epoch from the base rate
 * "optimizer.learning_rate" (lr).  A key that does not apply to `name` is an
 * error; such a field keeps the value nn_config_defaults gives it. */
/* data.stream */
enum { NN_STREAM_AUTO = 0, NN_STREAM_ON = 1, NN_STREAM_OFF = 2 };

typedef struct {
    nn_sched_name name; /* "name": "constant" (default), "step", "exponential", "cosine" */
    double gamma;       /* "gamma", step and exponential only: number in (0, 1]; default
                           0.1 for step, 0.95 for exponential (0.1 when unused) */
    int step_epochs;    /* "step_epochs", step only: integer 1..1000000, default 10 */
    double min_lr;      /* "min_lr", cosine only: number >= 0 and < lr, default 0 */
    int warmup_epochs;  /* "warmup_epochs", any schedule: integer 0..1000000, default 0 */
} nn_schedule_cfg;

/* "training.early_stopping": {"patience", "min_delta"}.  Training stops when
 * the validation loss has not fallen below (best so far - min_delta) for
 * `patience` epochs in a row.  Needs validation data. */
typedef struct {
    bool enabled;     /* the object is given (default: absent, no early stopping) */
    int patience;     /* "patience": integer 1..1000000, required in the object; 0 when
                         disabled */
    double min_delta; /* "min_delta": number >= 0, default 0 */
} nn_early_stopping_cfg;

/* "data.augment": {"shift", "flip"}, for images (samples of 2 dimensions,
 * IDX or NPY): each training row, each epoch, is moved by a random whole
 * number of pixels in [-shift, shift] down and across and, with flip, mirrored
 * left to right with chance 1/2, drawn from the seed, the epoch and the row
 * (data/augment.h).  Never for validation, evaluation or prediction. */
typedef struct {
    bool enabled; /* the object is given (default: absent, no augmentation) */
    int shift;    /* "shift": integer 0..64, default 0 */
    bool flip;    /* "flip": default false */
} nn_augment_cfg;

typedef struct {
    uint64_t seed;               /* "seed", default 1; 0..2^53 */

    bool has_train;              /* "data.train" (required for training) */
    nn_source train;
    bool has_test;               /* "data.test" */
    nn_source test;
    bool has_validation;         /* "data.validation" (a source; excludes the fraction) */
    nn_source validation;
    double validation_fraction;  /* "data.validation_fraction", default 0, in [0, 1) */
    double test_fraction;        /* "data.test_fraction", default 0, in [0, 1); with
                                    validation_fraction below 1 together: the first
                                    round(test_fraction n) rows of the split's shuffle are
                                    held out for --eval (nn_split3, data/batch.h) */
    int stream;                  /* "data.stream": NN_STREAM_AUTO (default), NN_STREAM_ON,
                                    NN_STREAM_OFF (data/stream.h's plan; train/data.c) */
    double max_memory_mb;        /* "data.max_memory_mb", default 4096: "auto" streams a
                                    source larger than this in memory; a stream's windows
                                    stay within it */
    char *cache_dir;             /* "data.cache_dir" as written; NULL: the checkpoint's
                                    folder (else the config's) holds a streamed CSV's cache */
    char *cache_dir_path;        /* resolved */
    int shuffle_buffer;          /* "data.shuffle_buffer", rows of a streaming window; 0
                                    (default): as many as fit in max_memory_mb */
    nn_scale scale;              /* "data.scale", default "auto": unit for integer data,
                                    standard for float data */
    nn_augment_cfg augment;      /* "data.augment", default absent */
    bool scale_targets;          /* "data.scale_targets", regression only (an error when
                                    given otherwise; false then), default true: targets
                                    standardised for training by the training rows' mean
                                    and population std, predictions and metrics in the
                                    original units */

    bool regression;             /* data.train is a CSV source with "targets": the last
                                    layer has n_targets units and defaults to "identity",
                                    and data.test/validation are CSV with as many targets */
    int n_targets;               /* train.csv.n_targets when regression, else 0 */

    int n_layers;                /* "model.layers", 1..NN_MAX_LAYERS, required */
    nn_layer_cfg layers[NN_MAX_LAYERS];

    /* "loss"; its default and the output layer's activation's are a pair (schema.c):
     * neither given: regression identity + mse, K > 1 units softmax + cross_entropy,
     * one unit sigmoid + binary_cross_entropy; one given: the other follows it.  It must
     * suit the output layer (errors at the later of
     * the "loss" value and the last layer's "activation" value):
     *   cross_entropy          needs a softmax output layer, and a softmax output layer
     *                          needs cross_entropy
     *   binary_cross_entropy   needs a sigmoid output layer (outputs in (0, 1))
     *   mse, mae, huber        any output layer but softmax
     * cross_entropy and binary_cross_entropy are classification losses: an error
     * when data.train has targets (regression). */
    nn_loss loss;
    double label_smoothing;      /* "label_smoothing", in [0, 1), default 0, cross_entropy and
                                    binary_cross_entropy only: the targets of K classes become
                                    (1 - e) one_hot + e / K (one sigmoid unit: K = 2), in
                                    training, validation and --eval alike */
    double huber_delta;          /* "huber_delta", number > 0, default 1: where the huber loss
                                    turns from quadratic to linear; the key is an error
                                    unless loss is "huber" */

    /* "optimizer".  A key that does not apply to the optimizer chosen is an error
     * ("\"optimizer.momentum\" applies only to sgd"); its field keeps the value
     * nn_config_defaults gives it. */
    nn_opt optimizer;            /* "optimizer.name", default "adam" */
    double learning_rate;        /* "optimizer.learning_rate", > 0 and finite; default 0.1
                                    for sgd, 0.001 for adam and adamw */
    double momentum;             /* "optimizer.momentum", sgd only, in [0, 1), default 0 */
    bool nesterov;               /* "optimizer.nesterov", sgd only, default false; true needs
                                    momentum > 0 */
    double beta1;                /* "optimizer.beta1", adam/adamw only, in [0, 1), default 0.9 */
    double beta2;                /* "optimizer.beta2", adam/adamw only, in [0, 1),
                                    default 0.999 */
    double eps;                  /* "optimizer.eps", adam/adamw only, > 0, default 1e-8 */
    double weight_decay;         /* "optimizer.weight_decay", >= 0, default 0: L2 (added to
                                    the gradient) for sgd and adam, decoupled for adamw */
    double clip_norm;            /* "optimizer.clip_norm", >= 0, default 0 = off: the global
                                    gradient norm is clipped to this */
    nn_schedule_cfg schedule;    /* "optimizer.schedule", default {"name": "constant"} */

    int epochs;                  /* "training.epochs", default 200, 1..1000000 */
    int batch_size;              /* "training.batch_size", default 32, 1..65536; at least 2
                                    when a layer has batch_norm */
    bool shuffle;                /* "training.shuffle", default true */
    double ema;                  /* "training.ema", in [0, 1), default 0 = off: the decay d
                                    of an exponential moving average of the parameters,
                                    ema = d ema + (1 - d) params after every update, from
                                    the initial ones; validation, early stopping, --eval,
                                    --predict and the saved model use it */
    nn_early_stopping_cfg early_stopping; /* "training.early_stopping", default absent */
    nn_precision precision;      /* "training.precision", "fp32" (default) or "bf16": the
                                    three products of every dense layer take bf16 operands
                                    and accumulate in fp32; everything else stays fp32.
                                    Written out (nn_config_to_json) only when "bf16", so an
                                    fp32 run's canonical config is as before the key */
    int slices;                  /* "training.slices", a power of two 1..64, default 1: each
                                    batch's sums over its rows (gradients, batch statistics,
                                    the loss) are taken slice by slice and added in a fixed
                                    tree (nn/slices.h), so MPI ranks that each hold a share of
                                    the slices get the one-process bits.  Written out only
                                    when not 1 */

    char *checkpoint;            /* "checkpoint.path" as written; NULL if absent */
    char *checkpoint_path;       /* resolved; NULL if absent */
    int checkpoint_every;        /* "checkpoint.every_epochs", default 1, 0..1000000;
                                    0 = only after the last epoch */
    double checkpoint_every_seconds; /* "checkpoint.every_seconds", number >= 0, default 5:
                                    a write due by every_epochs is skipped when the latest
                                    checkpoint was written (or training started) less than
                                    this many seconds ago; 0 = no throttle.  The last epoch,
                                    early stopping, the best checkpoint and a stop by a
                                    signal always write. */
    bool keep_best;              /* "checkpoint.keep_best", default false: also keep the
                                    checkpoint of the epoch with the lowest validation loss
                                    beside the latest one, at checkpoint_path + ".best"
                                    ("runs/a.ckpt" -> "runs/a.ckpt.best"); true needs
                                    validation data and checkpoint.path */

    char *config_dir;            /* folder of the config file ("." for stdin) */
} nn_config;

/* Fills *cfg with every default; pointers NULL.  Always succeeds. */
void nn_config_defaults(nn_config *cfg);

/* Reads and validates the JSON config at `path` ("-" = stdin).  On failure
 * returns -1 with *err set (code 2 for an invalid config, 1 when the file
 * cannot be read) and leaves *cfg freed.  On success returns 0; the caller
 * frees with nn_config_free. */
int nn_config_load(nn_config *cfg, const char *path, nn_error *err);

/* nn_config_load with --set overrides: sets[n_sets] are "KEY=VALUE"
 * strings applied in order to the parsed JSON tree before it is validated.
 *
 * KEY is a dotted path split at the first '=' ("optimizer.learning_rate",
 * "model.layers.0.units").  A component that steps into an array must be a
 * decimal index: an existing element, or the array's length to append one.
 * A missing object member is created (an object, or an array when the next
 * component is an index); a member that exists is replaced.  VALUE that is
 * a complete JSON value (a number, true, false, null, a "quoted string", or
 * an array or object) is that value; anything else is taken as a plain
 * string, so data.scale=standard needs no quotes.
 *
 * Errors are exit code 2 and name the argument: "--set ARG: expected
 * KEY=VALUE" (no '=', an empty key or key component), "--set ARG: "PATH"
 * is a string, not an object" (stepping into a value that is no container,
 * or a name into an array / an index into an object), "--set ARG: index 5
 * is out of range for "model.layers", which has 2 elements", "--set ARG:
 * KEY is nested deeper than 1000 levels".  Every validation error at a key
 * or value an argument created reads "--set ARG: <message>" instead of
 * "FILE:LINE:COL: <message>".  A relative path set this way is resolved
 * against the config's folder, like one written in the file.  The strings
 * in sets are not kept. */
int nn_config_load_with_sets(nn_config *cfg, const char *path, char *const *sets, int n_sets,
                             nn_error *err);

/* The same from text already in memory; `name` is used in messages and
 * `dir` as the folder for relative paths. */
int nn_config_parse(nn_config *cfg, const char *text, size_t len,
                    const char *name, const char *dir, nn_error *err);
int nn_config_parse_with_sets(nn_config *cfg, const char *text, size_t len, const char *name,
                              const char *dir, char *const *sets, int n_sets, nn_error *err);

/* The effective config as canonical JSON text (every key, defaults filled,
 * paths as written), malloc'd; NULL on out of memory.  A CSV source is
 * written as {"path", "header", "delimiter", "label" | "targets"}.  Parsing
 * the result with nn_config_parse gives back an equal config. */
char *nn_config_to_json(const nn_config *cfg);

/* Replaces cfg->checkpoint/checkpoint_path with `path` (as given on the
 * command line: resolved against the current directory, not the config's). */
int nn_config_set_checkpoint(nn_config *cfg, const char *path, nn_error *err);

void nn_config_free(nn_config *cfg);

/* The config's keys, as the README's "Config reference" lists them: the i-th
 * key's dotted name in name[size] ("optimizer.schedule.gamma"; a layer's keys
 * as "model.layers[i].units"; a data source as "data.train") and a line of
 * help in *help (when help is not NULL).  Returns 0, or -1 past the last key.
 * An object of keys ("optimizer") is not itself listed. */
int nn_config_key(int i, char *name, size_t size, const char **help);

/* The keys of a data source ("path", "label", ..., "images", "labels"), the
 * i-th with its help in *help; NULL past the last. */
const char *nn_config_source_key(int i, const char **help);

#endif
