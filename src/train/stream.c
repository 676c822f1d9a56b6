/* stream.c - training on a streamed source (trainer.h, data/stream.h): the
 * mode, the opening pass, an epoch's batches and the held-out rows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/batch.h"
#include "data/csvcache.h"
#include "data/format.h"
#include "data/source.h"
#include "eval/measure.h"
#include "pool/pool.h"
#include "train/trainer.h"
#include "util/clock.h"

/* Rows the opening pass reads at a time. */
#define OPEN_CHUNK 4096

/* A CSV file (not stdin), which is streamed through its binary cache. */
static bool csv_file(const nn_source *src)
{
    return src->format == NN_FORMAT_CSV && strcmp(src->file_path, "-") != 0;
}

int nn_trainer_stream_mode(trainer *t, nn_error *err)
{
    const nn_config *cfg = t->cfg;
    const nn_source *src = &cfg->train;
    bool want;
    struct stat st;
    if (t->resume_known)
        want = t->resume_window != 0;
    else if (cfg->stream == NN_STREAM_ON)
        want = true;
    else if (cfg->stream == NN_STREAM_OFF || t->cv_folds)
        want = false;
    else if (csv_file(src)) /* auto: the file's size stands for its rows' */
        want = stat(src->file_path, &st) == 0 &&
               (double)st.st_size > cfg->max_memory_mb * 1048576.0;
    else if (!nn_rowsrc_supported(src))
        want = false;
    else {
        /* auto: the size the source would take in memory */
        if (nn_rowsrc_open(&t->rows, src, err) < 0)
            return -1;
        double bytes = (double)t->rows.n * (double)nn_rowsrc_row_bytes(&t->rows);
        want = bytes > cfg->max_memory_mb * 1048576.0;
        if (!want)
            nn_rowsrc_close(&t->rows);
    }
    if (want && !nn_rowsrc_supported(src) && !csv_file(src)) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: only NPY arrays and CSV files can be streamed (data.stream); write the "
                     "data as NPY with: nntrain --convert %s%s%s -o PREFIX",
                     nn_source_name(src), nn_source_name(src),
                     src->format == NN_FORMAT_IDX && src->labels ? "," : "",
                     src->format == NN_FORMAT_IDX && src->labels ? src->labels : "");
        return -1;
    }
    if (want && t->cv_folds) {
        nn_error_set(err, NN_EXIT_USAGE,
                     "--cv needs the training data in memory; set data.stream to false");
        return -1;
    }
    t->streaming = want;
    return 0;
}

/* The labels of rows a chunk holds must fit K outputs (as nn_check_labels);
 * a message names the shard's labels file and the row in it. */
static int check_chunk_labels(const nn_dataset *d, const uint64_t *rows, int K,
                              const nn_rowsrc *src, int32_t *top, nn_error *err)
{
    for (size_t i = 0; i < d->n; i++) {
        int p = 0;
        while (p + 1 < src->n_parts && src->first[p + 1] <= rows[i])
            p++;
        const char *name = src->y[p].name;
        unsigned long long item = (unsigned long long)(rows[i] - src->first[p]);
        int32_t y = d->labels[i];
        if (nn_check_label(y, K, name, item, err) < 0)
            return -1;
        if (y > *top)
            *top = y;
    }
    return 0;
}

/* "missing": "mean" (a CSV cache keeps missing features as NaN): each
 * feature's mean over the training rows, NaN left out, summed in row order
 * (as nn_dataset_column_means does in memory), into the layout. */
static int means_pass(trainer *t, nn_error *err)
{
    size_t F = t->rows.features;
    double *sum = calloc(F ? F : 1, sizeof(double));
    uint64_t *cnt = calloc(F ? F : 1, sizeof(uint64_t));
    float *means = malloc(sizeof(float) * (F ? F : 1));
    uint64_t *rows = malloc(sizeof(uint64_t) * OPEN_CHUNK);
    nn_dataset chunk = {0};
    nn_stream *pass = NULL;
    int rc = -1;
    if (!sum || !cnt || !means || !rows) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        goto out;
    }
    if (nn_stream_staging(&chunk, &t->rows, OPEN_CHUNK, err) < 0 ||
        !(pass = nn_stream_start(&t->plan, NN_ROW_TRAIN, false, 0, 0, err)))
        goto out;
    long n;
    while ((n = nn_stream_next(pass, &chunk, OPEN_CHUNK, rows, err)) > 0) {
        const float *x = chunk.x;
        for (long i = 0; i < n; i++)
            for (size_t j = 0; j < F; j++) {
                float v = x[(size_t)i * F + j];
                if (!isnan(v)) {
                    sum[j] += v;
                    cnt[j]++;
                }
            }
    }
    if (n < 0)
        goto out;
    for (size_t j = 0; j < F; j++)
        means[j] = cnt[j] ? (float)(sum[j] / (double)cnt[j]) : 0.0f;
    free(t->layout.means);
    t->layout.means = means;
    t->layout.n_means = F;
    means = NULL;
    rc = 0;
out:
    nn_stream_stop(pass);
    nn_dataset_free(&chunk);
    free(sum);
    free(cnt);
    free(means);
    free(rows);
    return rc;
}

/* Rows just read: missing features filled with the training means,
 * regression targets scaled, as an in-memory set has them. */
static void prepare_rows(trainer *t, nn_dataset *d)
{
    if (t->layout.means && t->layout.n_means == d->features)
        nn_dataset_fill_missing(d, t->layout.means);
    if (t->target_mean)
        nn_targets_scale(d, t->target_mean, t->target_std, true);
}

/* The opening pass: every row in file order; the labels checked and
 * counted, the scalings fitted on the training rows. */
static int opening_pass(trainer *t, int K, nn_error *err)
{
    const nn_config *cfg = t->cfg;
    const nn_source *src = &cfg->train;
    const char *name = nn_source_name(src);
    size_t F = t->rows.features;
    nn_dataset chunk = {0};
    nn_scaler_acc sa = {0};
    nn_target_acc ta = {0};
    uint64_t *rows = malloc(sizeof(uint64_t) * OPEN_CHUNK);
    uint32_t *sel = malloc(sizeof(uint32_t) * OPEN_CHUNK);
    nn_stream *pass = NULL;
    int rc = -1;
    int32_t top = 0;
    bool targets = t->regression && cfg->scale_targets;
    t->stream_shift = malloc(sizeof(float) * (F ? F : 1));
    t->stream_mult = malloc(sizeof(float) * (F ? F : 1));
    if (targets) {
        t->stream_tmean = malloc(sizeof(double) * (size_t)K);
        t->stream_tstd = malloc(sizeof(double) * (size_t)K);
    }
    if (!rows || !sel || !t->stream_shift || !t->stream_mult ||
        (targets && (!t->stream_tmean || !t->stream_tstd))) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        goto out;
    }
    if (nn_stream_staging(&chunk, &t->rows, OPEN_CHUNK, err) < 0 ||
        nn_scaler_acc_init(&sa, t->scale, t->rows.type, F, name, err) < 0 ||
        (targets && nn_target_acc_init(&ta, K, err) < 0))
        goto out;
    pass = nn_stream_start(&t->plan, NN_ROW_ANY, false, 0, 0, err);
    if (!pass)
        goto out;
    for (;;) {
        long n = nn_stream_next(pass, &chunk, OPEN_CHUNK, rows, err);
        if (n < 0)
            goto out;
        if (n == 0)
            break;
        if (!t->regression && check_chunk_labels(&chunk, rows, K, &t->rows, &top, err) < 0)
            goto out;
        if (t->layout.means)
            nn_dataset_fill_missing(&chunk, t->layout.means);
        size_t m = 0;
        for (long i = 0; i < n; i++)
            if (nn_holdout_kind(t->plan.seed, t->plan.val_fraction, t->plan.test_fraction,
                                rows[i]) == NN_ROW_TRAIN)
                sel[m++] = (uint32_t)i;
        nn_scaler_acc_add(&sa, &chunk, sel, m);
        if (targets)
            nn_target_acc_add(&ta, &chunk, sel, m);
    }
    nn_scaler_acc_result(&sa, t->stream_shift, t->stream_mult);
    if (targets)
        nn_target_acc_result(&ta, t->stream_tmean, t->stream_tstd);
    if (!t->regression && top + 1 > t->train.n_classes)
        t->train.n_classes = top + 1;
    if (!t->regression && !t->train.class_names &&
        nn_npy_class_names(&t->train, &t->cfg->train, top, err) < 0)
        goto out;
    rc = 0;
out:
    nn_stream_stop(pass);
    nn_scaler_acc_free(&sa);
    if (targets)
        nn_target_acc_free(&ta);
    nn_dataset_free(&chunk);
    free(rows);
    free(sel);
    return rc;
}

/* The folder of a path ("." for a bare name), malloc'd. */
static char *folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

/* A streamed CSV: parsed into its binary cache (data.cache_dir, else the
 * checkpoint's folder, else the config's) when the cache is missing or
 * stale, then read from the cache, whose class names and layout become the
 * run's. */
static int open_csv_cache(trainer *t, int K, nn_error *err)
{
    const nn_config *cfg = t->cfg;
    const nn_source *src = &cfg->train;
    char *dir = cfg->cache_dir_path      ? strdup(cfg->cache_dir_path)
                : cfg->checkpoint_path ? folder_of(cfg->checkpoint_path)
                                       : strdup(cfg->config_dir ? cfg->config_dir : ".");
    if (!dir) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        return -1;
    }
    nn_csv_info info;
    nn_csv_opts o = {NULL, 0, t->regression ? 0 : K, false, &info};
    int threads = nn_pool_threads_for(1e30);
    nn_csv_cache_opts co = {threads, t->o->progress, 0};
    nn_csv_cache c;
    double t0 = nn_now();
    int rc = nn_csv_cache_get(src, &o, dir, &co, &c, err);
    free(dir);
    if (rc < 0)
        return -1;
    double secs = nn_now() - t0;
    struct stat st;
    double mb = stat(src->file_path, &st) == 0 ? (double)st.st_size / 1e6 : 0;
    if (c.built)
        nn_trainer_note(t, "note: %s: parsed into the cache %s (%zu rows, %.1f MB) in %.1f s, "
                           "%.0f MB/s with %d thread%s",
                        nn_source_name(src), c.x_path, c.rows, mb, secs,
                        secs > 0 ? mb / secs : 0.0, threads, threads == 1 ? "" : "s");
    else
        nn_trainer_note(t, "note: %s: read from its cache %s", nn_source_name(src), c.x_path);
    nn_trainer_data_notes(t, src, &c.info);
    rc = nn_csv_cache_source(&c, &t->cache_src, err);
    if (rc == 0)
        rc = nn_rowsrc_open(&t->rows, &t->cache_src, err);
    if (rc == 0) {
        nn_data_layout_free(&t->layout);
        t->layout = c.layout;
        memset(&c.layout, 0, sizeof c.layout);
        if (t->layout.missing == NN_MISSING_MEAN)
            for (int i = 0; i < t->rows.n_parts; i++)
                t->rows.x[i].nan_ok = true;
        t->cache_classes = c.class_names;
        t->cache_n_classes = c.class_names ? c.n_classes : 0;
        c.class_names = NULL;
    }
    nn_csv_cache_free(&c);
    return rc;
}

int nn_trainer_stream_open(trainer *t, int K, nn_error *err)
{
    const nn_config *cfg = t->cfg;
    const nn_source *src = &cfg->train;
    bool csv = csv_file(src);
    if (csv && open_csv_cache(t, K, err) < 0)
        return -1;
    if (!t->rows.x && nn_rowsrc_open(&t->rows, src, err) < 0)
        return -1;
    const nn_rowsrc *r = &t->rows;
    nn_dataset *d = &t->train;
    memset(d, 0, sizeof *d);
    d->type = r->type;
    d->n = (size_t)r->n;
    d->features = r->features;
    d->ndim = r->ndim;
    memcpy(d->dims, r->dims, sizeof d->dims);
    d->n_targets = r->has_targets ? r->n_targets : 0;
    if (!csv) {
        nn_data_layout_free(&t->layout);
        memset(&t->layout, 0, sizeof t->layout);
        t->layout.format = src->format;
        t->layout.label_col = -1;
        t->layout.n_targets = d->n_targets;
    }
    d->class_names = t->cache_classes; /* the CSV's string labels: the set owns them now */
    t->cache_classes = NULL;
    d->n_classes = t->cache_n_classes;
    if (t->regression ? d->n_targets != K : r->has_targets) {
        if (t->regression)
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: %d target columns for %d output units",
                         nn_source_name(src), d->n_targets, K);
        else
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: the data has no labels",
                         nn_source_labels_name(src));
        return -1;
    }
    double val = cfg->has_validation ? 0.0 : cfg->validation_fraction;
    if (nn_stream_plan_init(&t->plan, r, cfg->max_memory_mb, (uint64_t)cfg->shuffle_buffer,
                            t->resume_block, t->resume_window, cfg->seed, val,
                            cfg->test_fraction, err) < 0)
        return -1;
    t->n_train = (size_t)t->plan.total[NN_ROW_TRAIN];
    t->n_val = (size_t)t->plan.total[NN_ROW_VAL];
    t->n_test = (size_t)t->plan.total[NN_ROW_TEST];
    t->scale = nn_scale_resolve(cfg->scale, r->type);
    if (nn_stream_staging(&t->stage, r, (size_t)cfg->batch_size, err) < 0)
        return -1;
    if (t->layout.missing == NN_MISSING_MEAN && means_pass(t, err) < 0)
        return -1;
    return opening_pass(t, K, err);
}

int nn_trainer_stream_begin(trainer *t, int64_t e, nn_error *err)
{
    const nn_config *cfg = t->cfg;
    nn_trainer_stream_end(t);
    t->pass = nn_stream_start(&t->plan, NN_ROW_TRAIN, cfg->shuffle,
                              nn_stream_epoch_seed(cfg->seed, e),
                              (uint64_t)t->batch * (uint64_t)cfg->batch_size, err);
    return t->pass ? 0 : -1;
}

int nn_trainer_stream_batch(trainer *t, int B, nn_error *err)
{
    long n = nn_stream_next(t->pass, &t->stage, (size_t)B, NULL, err);
    if (n < 0)
        return -1;
    if (n != B) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: the data ended %ld rows into a batch of %d",
                     nn_source_name(&t->cfg->train), n, B);
        return -1;
    }
    prepare_rows(t, &t->stage);
    return 0;
}

void nn_trainer_stream_end(trainer *t)
{
    nn_stream_stop(t->pass);
    t->pass = NULL;
}

int nn_trainer_stream_measure(trainer *t, int kind, nn_result *out, nn_error *err)
{
    const nn_config *cfg = t->cfg;
    nn_loss_spec ls = {cfg->loss, cfg->huber_delta, t->target_std};
    nn_acc acc;
    if (nn_acc_init(&acc, nn_model_outputs(t->model), t->regression, false, err) < 0)
        return -1;
    acc.target_std = t->target_std;
    nn_stream *pass = nn_stream_start(&t->plan, kind, false, 0, 0, err);
    int rc = pass ? 0 : -1;
    while (rc == 0) {
        long n = nn_stream_next(pass, &t->stage, (size_t)cfg->batch_size, NULL, err);
        if (n <= 0) {
            rc = (int)n;
            break;
        }
        prepare_rows(t, &t->stage);
        rc = nn_measure_add(t->model, &acc, &t->stage, NULL, (size_t)n, t->shift, t->mult, &ls,
                            t->regression, err);
    }
    nn_stream_stop(pass);
    if (rc == 0)
        *out = nn_acc_result(&acc);
    nn_acc_free(&acc);
    return rc;
}

void nn_trainer_stream_free(trainer *t)
{
    nn_trainer_stream_end(t);
    nn_stream_plan_free(&t->plan);
    nn_rowsrc_close(&t->rows);
    nn_source_clear(&t->cache_src);
    for (int32_t i = 0; t->cache_classes && i < t->cache_n_classes; i++)
        free(t->cache_classes[i]);
    free(t->cache_classes);
    t->cache_classes = NULL;
    nn_dataset_free(&t->stage);
    free(t->stream_shift);
    free(t->stream_mult);
    free(t->stream_tmean);
    free(t->stream_tstd);
    t->stream_shift = t->stream_mult = NULL;
    t->stream_tmean = t->stream_tstd = NULL;
}
