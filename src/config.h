/* config.h - the JSON config (contract section 5), parsed with cJSON and
 * validated strictly into an nn_config.
 *
 * Errors are exit code 2 (NN_EXIT_USAGE) with `FILE:LINE:COL: message`, the
 * position being that of the offending key or value; a misspelt key names
 * the nearest valid key ("did you mean ...?").  A file that cannot be read is
 * exit code 1.  Relative data and checkpoint paths are resolved against the
 * folder of the config file.
 */
#ifndef NN_CONFIG_H
#define NN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/csv.h"
#include "nn/types.h"
#include "util/error.h"

typedef enum { NN_SRC_IDX = 0, NN_SRC_CSV = 1 } nn_source_kind;

/* A data source: an IDX pair {"images", "labels"}, or a CSV file {"path",
 * "label" | "targets", "header", "delimiter"}. */
typedef struct {
    nn_source_kind kind;
    char *images;      /* IDX: path as written in the config (kept for the checkpoint) */
    char *labels;
    char *images_path; /* IDX: path resolved against the config's folder (to open) */
    char *labels_path;
    char *path;        /* CSV: path as written */
    char *path_resolved; /* CSV: resolved */
    nn_csv_spec csv;   /* CSV: header (default "auto"), delimiter (default ","), and the
                          label column (default -1, the last) or the target columns */
} nn_source;

typedef struct {
    int units;  /* 1..NN_MAX_UNITS */
    nn_act act;
} nn_layer_cfg;

typedef struct {
    uint64_t seed;               /* "seed", default 1; 0..2^53 */

    bool has_train;              /* "data.train" (required for training) */
    nn_source train;
    bool has_test;               /* "data.test" */
    nn_source test;
    bool has_validation;         /* "data.validation" (a source; excludes the fraction) */
    nn_source validation;
    double validation_fraction;  /* "data.validation_fraction", default 0, in [0, 1) */
    nn_scale scale;              /* "data.scale", default "unit" */

    int n_layers;                /* "model.layers", 1..NN_MAX_LAYERS, required */
    nn_layer_cfg layers[NN_MAX_LAYERS];

    nn_loss loss;                /* "loss", default "mse" */
    nn_opt optimizer;            /* "optimizer.name", default "sgd" */
    double learning_rate;        /* "optimizer.learning_rate", default 0.1, > 0 and finite */

    int epochs;                  /* "training.epochs", default 10, 1..1000000 */
    int batch_size;              /* "training.batch_size", default 32, 1..65536 */
    bool shuffle;                /* "training.shuffle", default true */

    char *checkpoint;            /* "checkpoint.path" as written; NULL if absent */
    char *checkpoint_path;       /* resolved; NULL if absent */
    int checkpoint_every;        /* "checkpoint.every_epochs", default 1, 0..1000000;
                                    0 = only after the last epoch */

    char *config_dir;            /* folder of the config file ("." for stdin) */
} nn_config;

/* Fills *cfg with every default; pointers NULL.  Always succeeds. */
void nn_config_defaults(nn_config *cfg);

/* Reads and validates the JSON config at `path` ("-" = stdin).  On failure
 * returns -1 with *err set (code 2 for an invalid config, 1 when the file
 * cannot be read) and leaves *cfg freed.  On success returns 0; the caller
 * frees with nn_config_free. */
int nn_config_load(nn_config *cfg, const char *path, nn_error *err);

/* The same from text already in memory; `name` is used in messages and
 * `dir` as the folder for relative paths. */
int nn_config_parse(nn_config *cfg, const char *text, size_t len,
                    const char *name, const char *dir, nn_error *err);

/* The effective config as canonical JSON text (every key, defaults filled,
 * paths as written), malloc'd; NULL on out of memory.  Parsing the result
 * with nn_config_parse gives back an equal config. */
char *nn_config_to_json(const nn_config *cfg);

/* Replaces cfg->checkpoint/checkpoint_path with `path` (as given on the
 * command line: resolved against the current directory, not the config's). */
int nn_config_set_checkpoint(nn_config *cfg, const char *path, nn_error *err);

void nn_config_free(nn_config *cfg);

#endif
