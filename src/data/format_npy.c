/* format_npy.c - the NPY entry of the format table (see format.h): NumPy
 * arrays of samples with their labels or targets, in one or more shards,
 * read by data/npy.c. */
#include "data/format.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/npy.h"
#include "util/limits.h"

static bool npy_recognise(const unsigned char *h, size_t n)
{
    return n >= NN_NPY_MAGIC_LEN && memcmp(h, NN_NPY_MAGIC, NN_NPY_MAGIC_LEN) == 0;
}

/* What the first pass learns of one shard. */
typedef struct {
    nn_npy_header x, y;
} shard_info;

static int same_header(const nn_npy_header *a, const nn_npy_header *b, const char *name,
                       nn_error *err)
{
    if (a->rows == b->rows && a->cols == b->cols && a->dtype == b->dtype &&
        a->big_endian == b->big_endian && a->data_offset == b->data_offset)
        return 0;
    nn_error_set(err, NN_EXIT_RUNTIME, "%s: the file changed while it was being read", name);
    return -1;
}

/* Checks every shard's two arrays and what they must share; fills info[]. */
static int npy_survey(shard_info *info, const nn_source *s, uint64_t *rows, nn_error *err)
{
    *rows = 0;
    for (int i = 0; i < s->n_parts; i++) {
        const nn_npy_part *p = &s->parts[i];
        nn_npy_file fx, fy;
        if (nn_npy_open(&fx, p->x_path, NN_MAX_FEATURES, err) < 0)
            return -1;
        info[i].x = fx.h;
        nn_npy_close(&fx);
        if (nn_npy_open(&fy, p->y_path, NN_MAX_UNITS, err) < 0)
            return -1;
        info[i].y = fy.h;
        nn_npy_close(&fy);
        const nn_npy_header *x = &info[i].x, *y = &info[i].y;
        if (y->rows != x->rows) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: %llu rows but %s has %llu", p->y_path,
                         (unsigned long long)y->rows, p->x_path, (unsigned long long)x->rows);
            return -1;
        }
        if (y->ndim > 2) {
            char shape[200];
            nn_npy_describe(shape, sizeof shape, y);
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: %s must be 1-D or 2-D, found shape %s",
                         p->y_path, s->npy_targets ? "targets" : "labels", shape);
            return -1;
        }
        if (i > 0 && x->cols != info[0].x.cols) {
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "%s: shard %d has %llu features per row, the first shard (%s) %llu",
                         p->x_path, i, (unsigned long long)x->cols, s->parts[0].x_path,
                         (unsigned long long)info[0].x.cols);
            return -1;
        }
        if (i > 0 && s->npy_targets && y->cols != info[0].y.cols) {
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "%s: shard %d has %llu targets per row, the first shard (%s) %llu",
                         p->y_path, i, (unsigned long long)y->cols, s->parts[0].y_path,
                         (unsigned long long)info[0].y.cols);
            return -1;
        }
        *rows += x->rows;
        if (*rows > UINT32_MAX) {
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "%s: more than %lu rows in all (the most a data set holds)", p->x_path,
                         (unsigned long)UINT32_MAX);
            return -1;
        }
    }
    return 0;
}

/* The samples become the shards' common storage type, or double when they
 * differ. */
static int npy_load(nn_dataset *d, nn_data_layout *layout, const nn_source *s,
                    char *const *classes, int n_classes, nn_error *err)
{
    (void)classes;
    (void)n_classes;
    memset(d, 0, sizeof *d);
    if (layout) {
        memset(layout, 0, sizeof *layout);
        layout->format = NN_FORMAT_NPY;
        layout->label_col = -1;
    }
    if (s->n_parts < 1) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: an NPY source without arrays", nn_source_name(s));
        return -1;
    }
    shard_info *info = calloc((size_t)s->n_parts, sizeof *info);
    if (!info) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        return -1;
    }
    uint64_t rows;
    if (npy_survey(info, s, &rows, err) < 0) {
        free(info);
        return -1;
    }
    nn_dtype type = nn_npy_storage_type(info[0].x.dtype);
    for (int i = 1; i < s->n_parts; i++)
        if (nn_npy_storage_type(info[i].x.dtype) != type)
            type = NN_DT_F64;
    size_t cols = (size_t)info[0].x.cols, esz = nn_dtype_size((int)type);
    size_t K = s->npy_targets ? (size_t)info[0].y.cols : 0;
    /* each shard's size was checked against its file, so these are bounded
     * by (twice) the bytes on disk */
    if (rows > SIZE_MAX / cols / esz || (K && rows > SIZE_MAX / K / sizeof(float))) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %llu rows of %zu values are more than this "
                     "machine can address", nn_source_name(s), (unsigned long long)rows, cols);
        free(info);
        return -1;
    }
    d->type = type;
    d->n = (size_t)rows;
    d->features = cols;
    d->x = malloc(d->n * cols * esz);
    if (s->npy_targets)
        d->targets = malloc(d->n * K * sizeof(float));
    else
        d->labels = malloc(d->n * sizeof(int32_t));
    if (!d->x || (!d->targets && !d->labels)) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory for %llu rows", nn_source_name(s),
                     (unsigned long long)rows);
        goto fail;
    }
    size_t at = 0;
    for (int i = 0; i < s->n_parts; i++) {
        const nn_npy_part *p = &s->parts[i];
        nn_npy_file fx, fy;
        if (nn_npy_open(&fx, p->x_path, NN_MAX_FEATURES, err) < 0)
            goto fail;
        int rc = same_header(&fx.h, &info[i].x, p->x_path, err);
        if (rc == 0)
            rc = nn_npy_read_rows(&fx, 0, fx.h.rows, type,
                                  (unsigned char *)d->x + at * cols * esz, err);
        nn_npy_close(&fx);
        if (rc < 0 || nn_npy_open(&fy, p->y_path, NN_MAX_UNITS, err) < 0)
            goto fail;
        rc = same_header(&fy.h, &info[i].y, p->y_path, err);
        if (rc == 0 && s->npy_targets)
            rc = nn_npy_read_rows(&fy, 0, fy.h.rows, NN_DT_F32, d->targets + at * K, err);
        else if (rc == 0)
            rc = nn_npy_read_labels(&fy, 0, fy.h.rows, d->labels + at, err);
        nn_npy_close(&fy);
        if (rc < 0)
            goto fail;
        at += (size_t)info[i].x.rows;
    }
    /* the shape, as an IDX images file's (one shard with dimensions that fit) */
    const nn_npy_header *x0 = &info[0].x;
    bool fits = s->n_parts == 1 && x0->ndim <= 8;
    for (int k = 0; fits && k < x0->ndim; k++)
        fits = x0->shape[k] <= UINT32_MAX;
    if (fits) {
        d->ndim = x0->ndim;
        for (int k = 0; k < x0->ndim; k++)
            d->dims[k] = (uint32_t)x0->shape[k];
    } else {
        d->ndim = cols > 1 ? 2 : 1;
        d->dims[0] = (uint32_t)d->n;
        d->dims[1] = cols > UINT32_MAX ? UINT32_MAX : (uint32_t)cols;
    }
    if (s->npy_targets) {
        d->n_targets = (int)K;
        if (layout)
            layout->n_targets = (int)K;
    } else {
        int32_t top = 0;
        for (size_t i = 0; i < d->n; i++)
            if (d->labels[i] > top)
                top = d->labels[i];
        d->n_classes = top + 1;
    }
    free(info);
    return 0;
fail:
    free(info);
    nn_dataset_free(d);
    return -1;
}

/* --- rows: nn_npy_stream on a reader this state owns -------------------- */

typedef struct {
    nn_reader *r;
    nn_npy_stream *npy;
} npy_rows;

static void npy_rows_close(void *st)
{
    npy_rows *s = st;
    if (!s)
        return;
    nn_npy_stream_close(s->npy);
    nn_reader_close(s->r);
    free(s);
}

static void *npy_rows_open(nn_reader *r, const nn_data_layout *trained, size_t n_features,
                           nn_error *err)
{
    (void)trained;
    (void)n_features;
    npy_rows *s = calloc(1, sizeof *s);
    if (!s) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", nn_reader_name(r));
        nn_reader_close(r);
        return NULL;
    }
    s->r = r;
    s->npy = nn_npy_stream_open(r, err);
    if (!s->npy) {
        npy_rows_close(s);
        return NULL;
    }
    return s;
}

static nn_rows_info npy_rows_describe(const void *st)
{
    const npy_rows *s = st;
    return (nn_rows_info){nn_npy_stream_features(s->npy), nn_reader_name(s->r)};
}

static int npy_rows_read(void *st, double *x, nn_error *err)
{
    npy_rows *s = st;
    return nn_npy_stream_next(s->npy, x, err);
}

static size_t npy_rows_pending(const void *st)
{
    const npy_rows *s = st;
    return nn_npy_stream_pending(s->npy);
}

const nn_format nn_format_npy = {
    .kind = NN_FORMAT_NPY,
    .name = "npy",
    .recognise = npy_recognise,
    .load = npy_load,
    .rows = {npy_rows_open, npy_rows_describe, npy_rows_read, npy_rows_pending,
             npy_rows_close},
};
