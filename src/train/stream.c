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

/* With training.slices S > 1 the source is read in parts, one per slice,
 * so that each process reads only the rows it trains on (nn/slices.h):
 *   - an epoch's sequence of training rows (data/stream.h) is cut into S
 *     runs, run s holding exactly the rows slice s takes from every batch
 *     in turn; each run is its own pass, with windows of an S-th of the
 *     plan's and its own shuffles, and slice s of each batch is its next
 *     rows;
 *   - the opening pass (labels, scaling) and the measure of held-out rows
 *     cut their rows into S runs in file order; each run's sums (shifted
 *     by one row every run shares) and metrics are taken alone and
 *     combined in the slices' tree (nn_trainer_parts_combine).
 * The result depends on S, never on how many processes share the runs. */
static bool sliced(const trainer *t)
{
    return t->cfg->slices > 1;
}

/* Run s of S of n rows: [n s / S, n (s + 1) / S). */
static void run_rows(uint64_t n, int S, int s, uint64_t *from, uint64_t *to)
{
    *from = (uint64_t)((unsigned __int128)n * (unsigned)s / (unsigned)S);
    *to = (uint64_t)((unsigned __int128)n * (unsigned)(s + 1) / (unsigned)S);
}

/* A part's window: an S-th of the plan's blocks, at least one. */
static uint64_t part_window(const trainer *t)
{
    uint64_t w = t->plan.blocks_per_window / (uint64_t)t->cfg->slices;
    return w ? w : 1;
}

/* Several processes: one that failed reading its part stops the others
 * before they wait for it in a sum. */
static int agree_parts(int rc, nn_error *err)
{
    return nn_trainer_agree(rc, "another process could not read its part of the data", err);
}

/* Room for n parts' values of L doubles each, zeroed; NULL when out of
 * memory.  Freed with free(v[0]), free(v). */
static double **part_values(int n, size_t L)
{
    double **v = malloc(sizeof(double *) * (size_t)(n ? n : 1));
    double *all = calloc((size_t)(n ? n : 1) * (L ? L : 1), sizeof(double));
    if (!v || !all) {
        free(v);
        free(all);
        return NULL;
    }
    for (int i = 0; i < n; i++)
        v[i] = all + (size_t)i * L;
    if (n == 0)
        v[0] = all;
    return v;
}

static void free_values(double **v)
{
    if (v) {
        free(v[0]);
        free(v);
    }
}

static void merge_sums(double *a, const double *b, size_t L, void *ctx)
{
    (void)ctx;
    for (size_t i = 0; i < L; i++)
        a[i] += b[i];
}

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

/* A pass over run s of S of the rows of a kind in file order (S 1: the
 * whole pass). */
static nn_stream *start_run(trainer *t, int kind, int S, int s, nn_error *err)
{
    nn_stream_range r = {kind, false, 0, 0, UINT64_MAX, 0, 0, 0};
    if (S > 1) {
        run_rows(nn_stream_kind_rows(&t->plan, kind), S, s, &r.from, &r.to);
        r.part = s + 1;
        r.window_blocks = part_window(t);
    }
    return nn_stream_start_range(&t->plan, &r, err);
}

/* The rows of one run of a pass into chunk, OPEN_CHUNK at a time: each
 * chunk to fn.  0, or -1 with *err. */
typedef int (*chunk_fn)(trainer *t, nn_dataset *chunk, const uint64_t *rows, long n, void *ctx,
                        nn_error *err);
static int read_run(trainer *t, int kind, int S, int s, nn_dataset *chunk, uint64_t *rows,
                    chunk_fn fn, void *ctx, nn_error *err)
{
    nn_stream *pass = start_run(t, kind, S, s, err);
    if (!pass)
        return -1;
    long n;
    while ((n = nn_stream_next(pass, chunk, OPEN_CHUNK, rows, err)) > 0)
        if (fn(t, chunk, rows, n, ctx, err) < 0) {
            n = -1;
            break;
        }
    nn_stream_stop(pass);
    return n < 0 ? -1 : 0;
}

/* The runs this process holds (all of them alone, the whole pass without
 * slices), run lo + i read by read_run into fn with ctxs[i]; with slices,
 * every process then agrees that every one read its runs. */
static int read_runs(trainer *t, int kind, chunk_fn fn, void **ctxs, nn_error *err)
{
    int lo = 0, hi = 1, S = sliced(t) ? t->cfg->slices : 1;
    if (S > 1)
        nn_trainer_held_parts(t->cfg, &lo, &hi);
    uint64_t *rows = malloc(sizeof(uint64_t) * OPEN_CHUNK);
    nn_dataset chunk = {0};
    int rc = -1;
    if (!rows) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        goto out;
    }
    if (nn_stream_staging(&chunk, &t->rows, OPEN_CHUNK, err) < 0)
        goto out;
    rc = 0;
    for (int s = lo; s < hi && rc == 0; s++)
        rc = read_run(t, kind, S, s, &chunk, rows, fn, ctxs[s - lo], err);
out:
    nn_dataset_free(&chunk);
    free(rows);
    return S == 1 ? rc : agree_parts(rc, err);
}

/* "missing": "mean": a run's per-feature sums and counts of the present
 * values, v = (sum[F], count[F]). */
static int means_chunk(trainer *t, nn_dataset *chunk, const uint64_t *rows, long n, void *ctx,
                       nn_error *err)
{
    (void)rows;
    (void)err;
    double *sum = ctx;
    size_t F = t->rows.features;
    double *cnt = sum + F;
    const float *x = chunk->x;
    for (long i = 0; i < n; i++)
        for (size_t j = 0; j < F; j++) {
            float v = x[(size_t)i * F + j];
            if (!isnan(v)) {
                sum[j] += v;
                cnt[j]++;
            }
        }
    return 0;
}

/* "missing": "mean" (a CSV cache keeps missing features as NaN): each
 * feature's mean over the training rows, NaN left out, summed in row order
 * (as nn_dataset_column_means does in memory; with slices, run by run and
 * the runs' sums in their tree), into the layout. */
static int means_pass(trainer *t, nn_error *err)
{
    size_t F = t->rows.features, L = 2 * (F ? F : 1);
    int lo = 0, hi = 1;
    if (sliced(t))
        nn_trainer_held_parts(t->cfg, &lo, &hi);
    double **v = part_values(hi - lo, L);
    void **ctxs = malloc(sizeof(void *) * (size_t)(hi - lo));
    float *means = malloc(sizeof(float) * (F ? F : 1));
    int rc = -1;
    if (!v || !ctxs || !means) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        if (sliced(t))
            agree_parts(-1, err);
        goto out;
    }
    for (int i = 0; i < hi - lo; i++)
        ctxs[i] = v[i];
    if (read_runs(t, NN_ROW_TRAIN, means_chunk, ctxs, err) < 0 ||
        (sliced(t) && nn_trainer_parts_combine(t, v, hi - lo, L, merge_sums, NULL, err) < 0))
        goto out;
    for (size_t j = 0; j < F; j++)
        means[j] = v[0][F + j] > 0 ? (float)(v[0][j] / v[0][F + j]) : 0.0f;
    free(t->layout.means);
    t->layout.means = means;
    t->layout.n_means = F;
    means = NULL;
    rc = 0;
out:
    free_values(v);
    free(ctxs);
    free(means);
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

/* The opening pass's sums over one run of the rows. */
typedef struct {
    nn_scaler_acc sa;
    nn_target_acc ta;
    int32_t top;
    uint32_t *sel;
    int K;
    bool targets;
} open_run;

static int open_chunk(trainer *t, nn_dataset *chunk, const uint64_t *rows, long n, void *ctx,
                      nn_error *err)
{
    open_run *o = ctx;
    if (!t->regression && check_chunk_labels(chunk, rows, o->K, &t->rows, &o->top, err) < 0)
        return -1;
    if (t->layout.means)
        nn_dataset_fill_missing(chunk, t->layout.means);
    size_t m = 0;
    for (long i = 0; i < n; i++)
        if (nn_holdout_kind(t->plan.seed, t->plan.val_fraction, t->plan.test_fraction, rows[i]) ==
            NN_ROW_TRAIN)
            o->sel[m++] = (uint32_t)i;
    nn_scaler_acc_add(&o->sa, chunk, o->sel, m);
    if (o->targets)
        nn_target_acc_add(&o->ta, chunk, o->sel, m);
    return 0;
}

/* A run's sums as L doubles: the scaler's count and (3, F) sums, the
 * targets' count and (3, K) sums, the largest label. */
typedef struct {
    size_t F, K;
    nn_scale kind;
} open_shape;

static size_t open_len(const open_shape *sh)
{
    return 3 + 3 * sh->F + 3 * sh->K;
}

static void open_values(const open_shape *sh, open_run *o, double *v, bool out)
{
    size_t T0 = 1 + 3 * sh->F;
    if (out) {
        v[0] = (double)o->sa.n;
        if (o->sa.m)
            memcpy(v + 1, o->sa.m, sizeof(double) * 3 * sh->F);
        v[T0] = (double)o->ta.n;
        if (o->targets)
            memcpy(v + T0 + 1, o->ta.m, sizeof(double) * 3 * sh->K);
        v[T0 + 1 + 3 * sh->K] = o->top;
        return;
    }
    o->sa.n = (uint64_t)v[0];
    if (o->sa.m)
        memcpy(o->sa.m, v + 1, sizeof(double) * 3 * sh->F);
    o->ta.n = (uint64_t)v[T0];
    if (o->targets)
        memcpy(o->ta.m, v + T0 + 1, sizeof(double) * 3 * sh->K);
    o->top = (int32_t)v[T0 + 1 + 3 * sh->K];
}

/* Two runs' sums added (the shifts are the same), extremes compared. */
static void merge_open(double *a, const double *b, size_t L, void *ctx)
{
    const open_shape *sh = ctx;
    size_t F = sh->F, K = sh->K, T0 = 1 + 3 * F;
    (void)L;
    a[0] += b[0];
    for (size_t f = 0; f < F; f++) {
        if (sh->kind == NN_SCALE_MINMAX) {
            a[1 + f] = b[1 + f] < a[1 + f] ? b[1 + f] : a[1 + f];
            a[1 + F + f] = b[1 + F + f] > a[1 + F + f] ? b[1 + F + f] : a[1 + F + f];
        } else if (sh->kind == NN_SCALE_STANDARD) {
            a[1 + F + f] += b[1 + F + f];
            a[1 + 2 * F + f] += b[1 + 2 * F + f];
        }
    }
    a[T0] += b[T0];
    for (size_t k = 0; k < K; k++) {
        a[T0 + 1 + K + k] += b[T0 + 1 + K + k];
        a[T0 + 1 + 2 * K + k] += b[T0 + 1 + 2 * K + k];
    }
    if (b[T0 + 1 + 3 * K] > a[T0 + 1 + 3 * K])
        a[T0 + 1 + 3 * K] = b[T0 + 1 + 3 * K];
}

/* With slices: the shift every run's sums take, the first training row's
 * values (features with the missing ones filled, targets), read alone. */
static int shared_shift(trainer *t, open_run *runs, int n, nn_error *err)
{
    uint64_t r0 = 0;
    while (r0 < t->plan.n && nn_holdout_kind(t->plan.seed, t->plan.val_fraction,
                                             t->plan.test_fraction, r0) != NN_ROW_TRAIN)
        r0++;
    if (r0 == t->plan.n)
        return 0;
    size_t F = t->rows.features, K = (size_t)runs[0].K;
    nn_dataset one = {0};
    double *k = malloc(sizeof(double) * (F + K + 1));
    int rc = -1;
    if (!k) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        goto out;
    }
    if (nn_stream_staging(&one, &t->rows, 1, err) < 0 ||
        nn_rowsrc_read(&t->rows, r0, r0 + 1, one.x, one.labels, one.targets, err) < 0)
        goto out;
    one.n = 1;
    if (t->layout.means)
        nn_dataset_fill_missing(&one, t->layout.means);
    for (size_t f = 0; f < F; f++)
        k[f] = nn_dataset_get(&one, 0, f);
    for (size_t j = 0; j < K && one.targets; j++)
        k[F + j] = one.targets[j];
    for (int i = 0; i < n; i++) {
        nn_scaler_acc_shift(&runs[i].sa, k);
        if (runs[i].targets)
            nn_target_acc_shift(&runs[i].ta, k + F);
    }
    rc = 0;
out:
    nn_dataset_free(&one);
    free(k);
    return rc;
}

/* The opening pass: every row in file order (with slices, the runs this
 * process holds); the labels checked and counted, the scalings fitted on
 * the training rows. */
static int opening_pass(trainer *t, int K, nn_error *err)
{
    const nn_config *cfg = t->cfg;
    const nn_source *src = &cfg->train;
    const char *name = nn_source_name(src);
    size_t F = t->rows.features;
    bool targets = t->regression && cfg->scale_targets;
    int lo = 0, hi = 1;
    if (sliced(t))
        nn_trainer_held_parts(cfg, &lo, &hi);
    int n = hi - lo;
    open_run *runs = calloc((size_t)n, sizeof *runs);
    void **ctxs = malloc(sizeof(void *) * (size_t)n);
    open_shape sh = {F, targets ? (size_t)K : 0, nn_scale_resolve(t->scale, t->rows.type)};
    double **v = sliced(t) ? part_values(n, open_len(&sh)) : NULL;
    int rc = -1, ready = runs && ctxs && (v || !sliced(t));
    t->stream_shift = malloc(sizeof(float) * (F ? F : 1));
    t->stream_mult = malloc(sizeof(float) * (F ? F : 1));
    if (targets) {
        t->stream_tmean = malloc(sizeof(double) * (size_t)K);
        t->stream_tstd = malloc(sizeof(double) * (size_t)K);
    }
    if (!ready || !t->stream_shift || !t->stream_mult ||
        (targets && (!t->stream_tmean || !t->stream_tstd))) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        goto fail;
    }
    for (int i = 0; i < n; i++) {
        open_run *o = &runs[i];
        o->K = K;
        o->targets = targets;
        ctxs[i] = o;
        if (!(o->sel = malloc(sizeof(uint32_t) * OPEN_CHUNK))) {
            nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
            goto fail;
        }
        if (nn_scaler_acc_init(&o->sa, t->scale, t->rows.type, F, name, err) < 0 ||
            (targets && nn_target_acc_init(&o->ta, K, err) < 0))
            goto fail;
    }
    if (sliced(t) && shared_shift(t, runs, n, err) < 0)
        goto fail;
    if (read_runs(t, NN_ROW_ANY, open_chunk, ctxs, err) < 0)
        goto out;
    if (sliced(t)) {
        for (int i = 0; i < n; i++)
            open_values(&sh, &runs[i], v[i], true);
        if (nn_trainer_parts_combine(t, v, n, open_len(&sh), merge_open, &sh, err) < 0)
            goto out;
        open_values(&sh, &runs[0], v[0], false);
    }
    nn_scaler_acc_result(&runs[0].sa, t->stream_shift, t->stream_mult);
    if (targets)
        nn_target_acc_result(&runs[0].ta, t->stream_tmean, t->stream_tstd);
    int32_t top = runs[0].top;
    if (!t->regression && top + 1 > t->train.n_classes)
        t->train.n_classes = top + 1;
    if (!t->regression && !t->train.class_names &&
        nn_npy_class_names(&t->train, &t->cfg->train, top, err) < 0)
        goto out;
    rc = 0;
    goto out;
fail: /* before reading: the others are told */
    if (sliced(t))
        agree_parts(-1, err);
out:
    for (int i = 0; runs && i < n; i++) {
        nn_scaler_acc_free(&runs[i].sa);
        if (targets)
            nn_target_acc_free(&runs[i].ta);
        free(runs[i].sel);
    }
    free(runs);
    free(ctxs);
    free_values(v);
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
    int rc = 0, first = nn_dist_size() > 1;
    if (!dir) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        rc = -1;
    }
    nn_csv_info info;
    nn_csv_opts o = {NULL, 0, t->regression ? 0 : K, false, &info};
    int threads = nn_pool_threads_for(1e30);
    nn_csv_cache_opts co = {threads, t->o->progress, 0};
    nn_csv_cache c;
    double t0 = nn_now();
    /* several processes: rank 0 parses first; the others then find its
     * cache (a shared file system) or parse their own */
    bool got = false;
    if (first && rc == 0 && nn_dist_rank() == 0)
        got = (rc = nn_csv_cache_get(src, &o, dir, &co, &c, err)) == 0;
    if (first && agree_parts(rc, err) < 0) {
        if (got)
            nn_csv_cache_free(&c);
        free(dir);
        return -1;
    }
    if (rc == 0 && (!first || nn_dist_rank() != 0))
        rc = nn_csv_cache_get(src, &o, dir, &co, &c, err);
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

/* What nn_trainer_stream_open does on its own: the files opened, the
 * plan, the staging batch. */
static int open_local(trainer *t, int K, nn_error *err)
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
                            cfg->test_fraction, cfg->slices, err) < 0)
        return -1;
    t->n_train = (size_t)t->plan.total[NN_ROW_TRAIN];
    t->n_val = (size_t)t->plan.total[NN_ROW_VAL];
    t->n_test = (size_t)t->plan.total[NN_ROW_TEST];
    t->scale = nn_scale_resolve(cfg->scale, r->type);
    return nn_stream_staging(&t->stage, r, (size_t)cfg->batch_size, err);
}

int nn_trainer_stream_open(trainer *t, int K, nn_error *err)
{
    /* several processes: every one opened its files before the passes,
     * whose sums wait for all of them */
    if (agree_parts(open_local(t, K, err), err) < 0)
        return -1;
    if (t->layout.missing == NN_MISSING_MEAN && means_pass(t, err) < 0)
        return -1;
    return opening_pass(t, K, err);
}

/* With slices: run s of an epoch's training rows is the rows slice s
 * takes from every batch, [from, to) of the epoch's sequence. */
static void train_run(const trainer *t, int s, uint64_t *from, uint64_t *to)
{
    uint64_t T = t->plan.total[NN_ROW_TRAIN], bs = (uint64_t)t->cfg->batch_size;
    uint64_t full = T / bs, last = T % bs;
    int S = t->cfg->slices;
    /* slice q of a batch of B rows is [B q / S, B (q + 1) / S) */
    *from = full * (bs * (uint64_t)s / (uint64_t)S) + last * (uint64_t)s / (uint64_t)S;
    *to = full * (bs * (uint64_t)(s + 1) / (uint64_t)S) + last * (uint64_t)(s + 1) / (uint64_t)S;
}

int nn_trainer_stream_begin(trainer *t, int64_t e, nn_error *err)
{
    const nn_config *cfg = t->cfg;
    nn_trainer_stream_end(t);
    uint64_t seed = nn_stream_epoch_seed(cfg->seed, e), done = (uint64_t)t->batch;
    if (!sliced(t)) {
        t->pass = nn_stream_start(&t->plan, NN_ROW_TRAIN, cfg->shuffle, seed,
                                  done * (uint64_t)cfg->batch_size, err);
        return t->pass ? 0 : -1;
    }
    int lo, hi, S = cfg->slices;
    nn_trainer_held_parts(cfg, &lo, &hi);
    t->part_lo = lo;
    for (int s = lo; s < hi; s++) {
        int a, b;
        nn_slice_rows(cfg->batch_size, S, s, &a, &b);
        nn_stream_range r = {NN_ROW_TRAIN, cfg->shuffle, seed, 0, 0, done * (uint64_t)(b - a),
                             s + 1, part_window(t)};
        train_run(t, s, &r.from, &r.to);
        if (!(t->parts[t->n_parts] = nn_stream_start_range(&t->plan, &r, err)))
            return -1;
        t->n_parts++;
    }
    return 0;
}

/* Slices: of a batch of Bg rows, slice s's from run s, into the stage one
 * after the other. */
static int sliced_batch(trainer *t, int B, nn_error *err)
{
    int Bg = t->model->slicing.rows > 0 ? t->model->slicing.rows : B, S = t->cfg->slices;
    const nn_rowsrc *r = &t->rows;
    size_t esz = nn_dtype_size((int)r->type), F = r->features, K = (size_t)r->n_targets;
    int at = 0;
    for (int i = 0; i < t->n_parts; i++) {
        int a, b;
        nn_slice_rows(Bg, S, t->part_lo + i, &a, &b);
        nn_dataset view = t->stage;
        view.x = (unsigned char *)t->stage.x + (size_t)at * F * esz;
        if (view.labels)
            view.labels += at;
        if (view.targets)
            view.targets += (size_t)at * K;
        long n = nn_stream_next(t->parts[i], &view, (size_t)(b - a),
                                t->aug_rows ? t->aug_rows + at : NULL, err);
        if (n < 0)
            return -1;
        if (n != b - a) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: the data ended %ld rows into a batch of %d",
                         nn_source_name(&t->cfg->train), at + n, Bg);
            return -1;
        }
        at += b - a;
    }
    t->stage.n = (size_t)at;
    if (at != B) {
        nn_error_set(err, NN_EXIT_RUNTIME, "internal: %d rows of a batch's slices for %d", at, B);
        return -1;
    }
    return 0;
}

int nn_trainer_stream_batch(trainer *t, int B, nn_error *err)
{
    if (sliced(t)) {
        if (sliced_batch(t, B, err) < 0)
            return -1;
        prepare_rows(t, &t->stage);
        return 0;
    }
    long n = nn_stream_next(t->pass, &t->stage, (size_t)B, t->aug_rows, err);
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
    for (int i = 0; i < t->n_parts; i++)
        nn_stream_stop(t->parts[i]);
    t->n_parts = 0;
}

/* The rows of run s of S of a kind measured in batches into acc (alone:
 * the whole pass). */
static int measure_run(trainer *t, int kind, int S, int s, nn_acc *acc, nn_error *err)
{
    const nn_config *cfg = t->cfg;
    nn_loss_spec ls = {cfg->loss, cfg->huber_delta, t->target_std, cfg->label_smoothing};
    nn_stream *pass = start_run(t, kind, S, s, err);
    int rc = pass ? 0 : -1;
    while (rc == 0) {
        long n = nn_stream_next(pass, &t->stage, (size_t)cfg->batch_size, NULL, err);
        if (n <= 0) {
            rc = (int)n;
            break;
        }
        prepare_rows(t, &t->stage);
        rc = nn_measure_add(t->model, acc, &t->stage, NULL, (size_t)n, t->shift, t->mult, &ls,
                            t->regression, err);
    }
    nn_stream_stop(pass);
    return rc;
}

/* A run's metrics as doubles: the count, the summed cost, the correct
 * ones, and per output the targets' mean and squared deviations, the
 * squared and absolute errors. */
static size_t acc_len(int K)
{
    return 3 + 4 * (size_t)K;
}

static void acc_values(nn_acc *a, double *v, bool out)
{
    size_t K = (size_t)a->K;
    double *parts[4] = {a->mean, a->m2, a->sse, a->sae};
    if (out) {
        v[0] = (double)a->n;
        v[1] = a->loss_sum;
        v[2] = (double)a->correct;
    } else {
        a->n = (size_t)v[0];
        a->loss_sum = v[1];
        a->correct = (size_t)v[2];
    }
    for (int p = 0; p < 4 && a->regression; p++) {
        if (out)
            memcpy(v + 3 + (size_t)p * K, parts[p], sizeof(double) * K);
        else
            memcpy(parts[p], v + 3 + (size_t)p * K, sizeof(double) * K);
    }
}

/* Two runs' metrics: counts and sums added, the targets' means and
 * squared deviations combined (Chan et al.: with d the difference of the
 * means, m2 = m2a + m2b + d^2 na nb / n). */
static void merge_acc(double *a, const double *b, size_t L, void *ctx)
{
    (void)ctx;
    size_t K = (L - 3) / 4;
    double na = a[0], nb = b[0], n = na + nb;
    for (size_t k = 0; k < K && nb > 0; k++) {
        double *mean = &a[3 + k], *m2 = &a[3 + K + k];
        double d = b[3 + k] - *mean;
        if (na == 0) {
            *mean = b[3 + k];
            *m2 = b[3 + K + k];
        } else {
            *mean += d * (nb / n);
            *m2 += b[3 + K + k] + d * d * (na * nb / n);
        }
        a[3 + 2 * K + k] += b[3 + 2 * K + k];
        a[3 + 3 * K + k] += b[3 + 3 * K + k];
    }
    a[0] = n;
    a[1] += b[1];
    a[2] += b[2];
}

int nn_trainer_stream_measure(trainer *t, int kind, nn_result *out, nn_error *err)
{
    int K = nn_model_outputs(t->model), lo = 0, hi = 1, S = sliced(t) ? t->cfg->slices : 1;
    if (S > 1)
        nn_trainer_held_parts(t->cfg, &lo, &hi);
    int n = hi - lo;
    nn_acc *accs = calloc((size_t)n, sizeof *accs);
    double **v = S > 1 ? part_values(n, acc_len(K)) : NULL;
    int rc = accs && (v || S == 1) ? 0 : -1;
    if (rc < 0)
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory measuring the held-out rows");
    for (int i = 0; i < n && rc == 0; i++) {
        rc = nn_acc_init(&accs[i], K, t->regression, false, err);
        accs[i].target_std = t->target_std;
    }
    for (int i = 0; i < n && rc == 0; i++)
        rc = measure_run(t, kind, S, lo + i, &accs[i], err);
    if (S > 1) {
        rc = agree_parts(rc, err);
        for (int i = 0; i < n && rc == 0; i++)
            acc_values(&accs[i], v[i], true);
        if (rc == 0 && nn_trainer_parts_combine(t, v, n, acc_len(K), merge_acc, NULL, err) < 0)
            rc = -1;
        if (rc == 0)
            acc_values(&accs[0], v[0], false);
    }
    if (rc == 0)
        *out = nn_acc_result(&accs[0]);
    for (int i = 0; accs && i < n; i++)
        nn_acc_free(&accs[i]);
    free(accs);
    free_values(v);
    return rc;
}

void nn_trainer_stream_report(trainer *t)
{
    if (!t->streaming)
        return;
    const char *name = nn_source_name(&t->cfg->train);
    uint64_t mine = __atomic_load_n(&t->plan.rows_read, __ATOMIC_RELAXED), n = t->plan.n;
    int N = nn_dist_size();
    if (N <= 1) {
        nn_trainer_note(t, "note: %s: %llu rows read from disk (%.2f times its %llu rows)", name,
                        (unsigned long long)mine, n ? (double)mine / (double)n : 0.0,
                        (unsigned long long)n);
        return;
    }
    uint64_t *all = nn_dist_rank() == 0 ? calloc((size_t)N, sizeof *all) : NULL;
    nn_error e = {0};
    int failed = nn_dist_gather_bytes(&mine, sizeof mine, all, 0, &e) < 0;
    if (!failed && all) {
        char list[512];
        size_t at = 0;
        uint64_t sum = 0;
        for (int r = 0; r < N; r++) {
            sum += all[r];
            if (at < sizeof list)
                at += (size_t)snprintf(list + at, sizeof list - at, "%s%llu", r ? ", " : "",
                                       (unsigned long long)all[r]);
        }
        nn_trainer_note(t,
                        "note: %s: rows read from disk by each process: %s (%.2f times its "
                        "%llu rows in all)",
                        name, list, n ? (double)sum / (double)n : 0.0, (unsigned long long)n);
    }
    free(all);
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
