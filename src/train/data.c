/* data.c - the rows a run trains and validates on (trainer.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/batch.h"
#include "data/source.h"
#include "eval/measure.h"
#include "train/trainer.h"

/* The data must suit the model: as many targets as outputs for regression,
 * labels within the outputs for classification. */
static int check_fit(const nn_dataset *d, const nn_source *src, int K, bool regression,
                     nn_error *err)
{
    if (regression) {
        if (d->n_targets != K) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: %d target columns for %d output units",
                         nn_source_name(src), d->n_targets, K);
            return -1;
        }
        return 0;
    }
    return nn_check_labels(d, K, nn_source_labels_name(src), err);
}

/* What reading a CSV file decided, as notes: the header guess, rows left out. */
void nn_trainer_data_notes(const trainer *t, const nn_source *src, const nn_csv_info *info)
{
    if (src->format != NN_FORMAT_CSV)
        return;
    const char *name = nn_source_name(src);
    if (info->count_line)
        nn_trainer_note(t, "note: %s: first line taken as a count line (%s) and skipped", name,
                        info->count_why);
    if (info->header_auto)
        nn_trainer_note(t, "note: %s: %s taken as %s (%s)", name,
                        info->count_line ? "line 2" : "first line",
                        info->header ? "a header" : "data", info->header_why);
    if (info->dropped)
        nn_trainer_note(t, "note: %s: %zu row%s with a missing value left out", name,
                        info->dropped, info->dropped == 1 ? "" : "s");
}

/* A separate validation set: read like the training data (its class names,
 * its features), every row in file order. */
static int load_validation_set(trainer *t, int K, nn_error *err)
{
    const nn_config *cfg = t->cfg;
    const nn_source *vs = &cfg->validation;
    nn_csv_info info;
    nn_csv_opts o = {t->train.class_names, t->train.class_names ? t->train.n_classes : 0, K,
                     !t->train.class_names && !t->regression, &info};
    if (nn_source_load_opts(&t->val, NULL, vs, &o, err) < 0)
        return -1;
    nn_trainer_data_notes(t, vs, &info);
    if (t->val.features != t->train.features) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: samples have %zu features, the training data %zu",
                     nn_source_name(vs), t->val.features, t->train.features);
        return -1;
    }
    if (check_fit(&t->val, vs, K, t->regression, err) < 0)
        return -1;
    free(t->val_idx);
    t->val_idx = NULL;
    uint32_t *unused = NULL;
    size_t n_unused = 0;
    if (nn_split(t->val.n, 0.0, cfg->seed, &t->val_idx, &t->n_val, &unused, &n_unused, err) < 0)
        return -1;
    t->val_set = &t->val;
    return 0;
}

/* The same with the training rows of an in-memory set: all of them but the
 * test share. */
static int load_validation(trainer *t, int K, nn_error *err)
{
    const nn_config *cfg = t->cfg;
    if (!t->cv_folds && nn_split3(NULL, t->train.n, 0.0, cfg->test_fraction, cfg->seed,
                                  &t->train_idx, &t->n_train, &t->val_idx, &t->n_val,
                                  &t->test_idx, &t->n_test, err) < 0)
        return -1;
    return load_validation_set(t, K, err);
}

/* Training rows left after the held-out ones, and a width the model takes. */
static int check_rows(const trainer *t, const nn_source *src, nn_error *err)
{
    if (t->n_train == 0) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: no training samples left after taking %zu for validation and %zu "
                     "for testing",
                     nn_source_name(src), t->n_val, t->n_test);
        return -1;
    }
    if (t->train.features > NN_MAX_FEATURES) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %zu features, at most %d are supported",
                     nn_source_name(src), t->train.features, NN_MAX_FEATURES);
        return -1;
    }
    return 0;
}

/* A streamed training source: its rows stay on disk; held-out rows follow
 * the rule of data/stream.h. */
static int load_streamed(trainer *t, int K, nn_error *err)
{
    const nn_config *cfg = t->cfg;
    const nn_source *src = &cfg->train;
    if (nn_trainer_stream_open(t, K, err) < 0)
        return -1;
    t->val_set = NULL;
    if (cfg->has_validation && load_validation_set(t, K, err) < 0)
        return -1;
    return check_rows(t, src, err);
}

/* --cv: the fold's rows are the test rows, the others the pool that the
 * training and validation rows come from. */
static int cv_split(trainer *t, uint32_t **pool, size_t *n_pool, nn_error *err)
{
    const nn_config *cfg = t->cfg;
    size_t n = t->train.n;
    if ((size_t)t->cv_folds > n) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: --cv %d needs at least %d rows, the data has %zu",
                     nn_source_name(&cfg->train), t->cv_folds, t->cv_folds, n);
        return -1;
    }
    return nn_cv_fold(n, t->cv_folds, t->cv_fold, cfg->seed, pool, n_pool, &t->test_idx,
                      &t->n_test, err);
}

int nn_trainer_scale_targets(trainer *t, const double *mean, const double *std, nn_error *err)
{
    size_t K = (size_t)t->train.n_targets;
    if (!t->target_mean) {
        t->target_mean = malloc(sizeof(double) * K);
        t->target_std = malloc(sizeof(double) * K);
        if (!t->target_mean || !t->target_std) {
            nn_error_set(err, NN_EXIT_RUNTIME, "out of memory for the target scaling");
            return -1;
        }
    }
    memmove(t->target_mean, mean, sizeof(double) * K);
    memmove(t->target_std, std, sizeof(double) * K);
    if (t->train.targets) /* a streamed set's are scaled batch by batch */
        nn_targets_scale(&t->train, t->target_mean, t->target_std, true);
    if (t->val.targets)
        nn_targets_scale(&t->val, t->target_mean, t->target_std, true);
    return 0;
}

/* "missing": "mean": each feature's mean over the training rows (not the
 * validation rows) fills the missing ones of both sets, and is kept in the
 * layout for the checkpoint. */
static int impute(trainer *t, const nn_csv_info *info, nn_error *err)
{
    size_t F = t->train.features;
    float *means = malloc(sizeof(float) * (F ? F : 1));
    if (!means) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        return -1;
    }
    nn_dataset_column_means(&t->train, t->train_idx, t->n_train, means);
    nn_dataset_fill_missing(&t->train, means);
    if (t->val_set == &t->val)
        nn_dataset_fill_missing(&t->val, means);
    free(t->layout.means);
    t->layout.means = means;
    t->layout.n_means = F;
    if (info->missing_fields)
        nn_trainer_note(t, "note: %s: %zu missing value%s replaced by the training rows' mean",
                        nn_source_name(&t->cfg->train), info->missing_fields,
                        info->missing_fields == 1 ? "" : "s");
    return 0;
}

int nn_trainer_load_data(trainer *t, int K, nn_error *err)
{
    const nn_config *cfg = t->cfg;
    const nn_source *src = &cfg->train;
    /* several processes: all stream or none (a process that could not
     * open the data stops the others before the streamed passes' sums) */
    if (nn_trainer_agree(nn_trainer_stream_mode(t, err),
                         "another process could not open the training data", err) < 0)
        return -1;
    if (t->streaming)
        return load_streamed(t, K, err);
    nn_csv_info info;
    nn_csv_opts o = {NULL, 0, t->regression ? 0 : K, false, &info};
    if (nn_source_load_opts(&t->train, &t->layout, src, &o, err) < 0)
        return -1;
    nn_trainer_data_notes(t, src, &info);
    if (check_fit(&t->train, src, K, t->regression, err) < 0)
        return -1;
    if (t->train.n > UINT32_MAX) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %zu samples, at most %u are supported",
                     nn_source_name(src), t->train.n, UINT32_MAX);
        return -1;
    }
    uint32_t *pool = NULL;
    size_t n_pool = 0;
    if (t->cv_folds && cv_split(t, &pool, &n_pool, err) < 0)
        return -1;
    if (cfg->has_validation) {
        if (t->cv_folds) {
            t->train_idx = pool;
            t->n_train = n_pool;
            pool = NULL;
        }
        if (load_validation(t, K, err) < 0)
            return -1;
    } else {
        /* --cv: the validation share of the fold's training rows, test_fraction ignored */
        int rc = t->cv_folds
                     ? nn_split3(pool, n_pool, cfg->validation_fraction, 0.0, cfg->seed,
                                 &t->train_idx, &t->n_train, &t->val_idx, &t->n_val,
                                 (uint32_t *[]){NULL}, (size_t[]){0}, err)
                     : nn_split3(NULL, t->train.n, cfg->validation_fraction, cfg->test_fraction,
                                 cfg->seed, &t->train_idx, &t->n_train, &t->val_idx, &t->n_val,
                                 &t->test_idx, &t->n_test, err);
        free(pool);
        if (rc < 0)
            return -1;
        t->val_set = &t->train;
    }
    if (check_rows(t, src, err) < 0)
        return -1;
    if (src->format == NN_FORMAT_CSV && src->csv.missing == NN_MISSING_MEAN &&
        impute(t, &info, err) < 0)
        return -1;
    return 0;
}

/* Whether batches of bs rows leave a batch of one row over n rows. */
static bool single_row_batch(size_t n, size_t bs)
{
    return bs == 1 || n % bs == 1;
}

int nn_trainer_check_batches(const trainer *t, const nn_arch *a, nn_error *err)
{
    int d = -1;
    for (int l = 0; l < a->n_layers && d < 0; l++)
        if (a->layers[l].kind == NN_LAYER_BATCH_NORM)
            d = a->layers[l].origin;
    size_t n = t->n_train, bs = (size_t)t->cfg->batch_size;
    if (d < 0 || !single_row_batch(n, bs))
        return 0;
    const char *name = nn_source_name(&t->cfg->train);
    if (n < 2) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: %zu training row left, but batch normalization (layer %d) needs "
                     "batches of two rows or more: give it more data or a smaller "
                     "data.validation_fraction",
                     name, n, d + 1);
        return -1;
    }
    /* the nearest batch sizes that leave no batch of one row */
    size_t below = bs - 1, above = bs + 1;
    while (below >= 2 && single_row_batch(n, below))
        below--;
    while (above <= 65536 && single_row_batch(n, above))
        above++;
    char hint[96];
    if (below >= 2 && above <= 65536)
        snprintf(hint, sizeof hint, "%zu or %zu", below, above);
    else
        snprintf(hint, sizeof hint, "%zu", below >= 2 ? below : above);
    nn_error_set(err, NN_EXIT_RUNTIME,
                 "%s: %zu training rows in batches of %zu leave a last batch of one row, which "
                 "batch normalization (layer %d) cannot normalize: set training.batch_size to "
                 "%s, or change data.validation_fraction",
                 name, n, bs, d + 1, hint);
    return -1;
}
