/* format_npy.c - the NPY entry of the format table (see format.h): NumPy
 * arrays of samples with their labels or targets, in one or more shards,
 * read by data/npy.c. */
#include "data/format.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/npy.h"
#include "data/rowsrc.h"
#include "util/limits.h"

static bool npy_recognise(const unsigned char *h, size_t n)
{
    return n >= NN_NPY_MAGIC_LEN && memcmp(h, NN_NPY_MAGIC, NN_NPY_MAGIC_LEN) == 0;
}

int nn_npy_class_names(nn_dataset *d, const nn_source *s, int32_t top, nn_error *err)
{
    int n = s->csv.n_class_list;
    if (n == 0)
        return 0;
    if (top >= n) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: label %d has no name: \"classes\" names %d class%s (labels 0 to %d)",
                     nn_source_labels_name(s), (int)top, n, n == 1 ? "" : "es", n - 1);
        return -1;
    }
    d->class_names = calloc((size_t)n, sizeof *d->class_names);
    if (!d->class_names) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        return -1;
    }
    d->n_classes = n;
    for (int i = 0; i < n; i++)
        if (!(d->class_names[i] = strdup(s->csv.class_list[i]))) {
            nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
            return -1;
        }
    return 0;
}

/* The whole source, read through the in-place reader (rowsrc.h) that a
 * streamed training uses too: the samples become the shards' common storage
 * type, or double when they differ. */
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
    nn_rowsrc r;
    if (nn_rowsrc_open(&r, s, err) < 0)
        return -1;
    size_t cols = r.features, esz = nn_dtype_size((int)r.type);
    size_t K = r.has_targets ? (size_t)r.n_targets : 0;
    /* each shard's size was checked against its file, so these are bounded
     * by (twice) the bytes on disk */
    if (r.n > SIZE_MAX / cols / esz || (K && r.n > SIZE_MAX / K / sizeof(float))) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %llu rows of %zu values are more than this "
                     "machine can address", nn_source_name(s), (unsigned long long)r.n, cols);
        nn_rowsrc_close(&r);
        return -1;
    }
    d->type = r.type;
    d->n = (size_t)r.n;
    d->features = cols;
    d->ndim = r.ndim;
    memcpy(d->dims, r.dims, sizeof d->dims);
    d->x = malloc(d->n * cols * esz);
    if (r.has_targets)
        d->targets = malloc(d->n * K * sizeof(float));
    else
        d->labels = malloc(d->n * sizeof(int32_t));
    if (!d->x || (!d->targets && !d->labels)) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory for %llu rows", nn_source_name(s),
                     (unsigned long long)r.n);
        goto fail;
    }
    if (nn_rowsrc_read(&r, 0, r.n, d->x, d->labels, d->targets, err) < 0)
        goto fail;
    if (r.has_targets) {
        d->n_targets = (int)K;
        if (layout)
            layout->n_targets = (int)K;
    } else {
        int32_t top = 0;
        for (size_t i = 0; i < d->n; i++)
            if (d->labels[i] > top)
                top = d->labels[i];
        d->n_classes = top + 1;
        if (nn_npy_class_names(d, s, top, err) < 0)
            goto fail;
    }
    nn_rowsrc_close(&r);
    return 0;
fail:
    nn_rowsrc_close(&r);
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
