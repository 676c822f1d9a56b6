/* rowsrc.c - a data source read in place (rowsrc.h). */
#include "data/rowsrc.h"

#include <stdlib.h>
#include <string.h>

#include "util/limits.h"

bool nn_rowsrc_supported(const nn_source *s)
{
    return s->format == NN_FORMAT_NPY && s->n_parts > 0;
}

void nn_rowsrc_close(nn_rowsrc *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n_parts; i++) {
        if (s->x)
            nn_npy_close(&s->x[i]);
        if (s->y)
            nn_npy_close(&s->y[i]);
    }
    free(s->x);
    free(s->y);
    free(s->first);
    memset(s, 0, sizeof *s);
}

/* One shard's two arrays against each other and against the first shard. */
static int check_shard(const nn_rowsrc *s, const nn_source *src, int i, nn_error *err)
{
    const nn_npy_part *p = &src->parts[i];
    const nn_npy_header *x = &s->x[i].h, *y = &s->y[i].h;
    if (y->rows != x->rows) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %llu rows but %s has %llu", p->y_path,
                     (unsigned long long)y->rows, p->x_path, (unsigned long long)x->rows);
        return -1;
    }
    if (y->ndim > 2) {
        char shape[200];
        nn_npy_describe(shape, sizeof shape, y);
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %s must be 1-D or 2-D, found shape %s",
                     p->y_path, src->npy_targets ? "targets" : "labels", shape);
        return -1;
    }
    if (i > 0 && x->cols != s->x[0].h.cols) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: shard %d has %llu features per row, the first shard (%s) %llu",
                     p->x_path, i, (unsigned long long)x->cols, src->parts[0].x_path,
                     (unsigned long long)s->x[0].h.cols);
        return -1;
    }
    if (i > 0 && src->npy_targets && y->cols != s->y[0].h.cols) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: shard %d has %llu targets per row, the first shard (%s) %llu",
                     p->y_path, i, (unsigned long long)y->cols, src->parts[0].y_path,
                     (unsigned long long)s->y[0].h.cols);
        return -1;
    }
    return 0;
}

int nn_rowsrc_open(nn_rowsrc *s, const nn_source *src, nn_error *err)
{
    memset(s, 0, sizeof *s);
    if (!nn_rowsrc_supported(src)) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: only NPY arrays are read in place",
                     nn_source_name(src));
        return -1;
    }
    int n = src->n_parts;
    s->x = calloc((size_t)n, sizeof *s->x);
    s->y = calloc((size_t)n, sizeof *s->y);
    s->first = calloc((size_t)n + 1, sizeof *s->first);
    if (!s->x || !s->y || !s->first) {
        nn_rowsrc_close(s);
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        s->x[i].fd = s->y[i].fd = -1;
    }
    s->n_parts = n;
    s->has_targets = src->npy_targets;
    s->name = nn_source_name(src);
    for (int i = 0; i < n; i++) {
        const nn_npy_part *p = &src->parts[i];
        if (nn_npy_open(&s->x[i], p->x_path, NN_MAX_FEATURES, err) < 0 ||
            nn_npy_open(&s->y[i], p->y_path, NN_MAX_UNITS, err) < 0 ||
            check_shard(s, src, i, err) < 0)
            goto fail;
        s->first[i + 1] = s->first[i] + s->x[i].h.rows;
        if (s->first[i + 1] > UINT32_MAX) {
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "%s: more than %lu rows in all (the most a data set holds)", p->x_path,
                         (unsigned long)UINT32_MAX);
            goto fail;
        }
    }
    s->n = s->first[n];
    s->features = (size_t)s->x[0].h.cols;
    s->type = nn_npy_storage_type(s->x[0].h.dtype);
    for (int i = 1; i < n; i++)
        if (nn_npy_storage_type(s->x[i].h.dtype) != s->type)
            s->type = NN_DT_F64;
    s->n_targets = s->has_targets ? (int)s->y[0].h.cols : 0;
    const nn_npy_header *x0 = &s->x[0].h;
    bool fits = n == 1 && x0->ndim <= 8;
    for (int k = 0; fits && k < x0->ndim; k++)
        fits = x0->shape[k] <= UINT32_MAX;
    if (fits) {
        s->ndim = x0->ndim;
        for (int k = 0; k < x0->ndim; k++)
            s->dims[k] = (uint32_t)x0->shape[k];
    } else {
        s->ndim = s->features > 1 ? 2 : 1;
        s->dims[0] = (uint32_t)s->n;
        s->dims[1] = s->features > UINT32_MAX ? UINT32_MAX : (uint32_t)s->features;
    }
    return 0;
fail:
    nn_rowsrc_close(s);
    return -1;
}

size_t nn_rowsrc_row_bytes(const nn_rowsrc *s)
{
    return s->features * nn_dtype_size((int)s->type) +
           (s->has_targets ? sizeof(float) * (size_t)s->n_targets : sizeof(int32_t));
}

int nn_rowsrc_read(const nn_rowsrc *s, uint64_t a, uint64_t b, void *x, int32_t *labels,
                   float *targets, nn_error *err)
{
    size_t esz = nn_dtype_size((int)s->type);
    int i = 0;
    while (i + 1 < s->n_parts && s->first[i + 1] <= a)
        i++;
    for (uint64_t at = a; at < b; i++) {
        uint64_t lo = at - s->first[i], hi = (b < s->first[i + 1] ? b : s->first[i + 1]) -
                                             s->first[i];
        size_t off = (size_t)(at - a);
        if (nn_npy_read_rows(&s->x[i], lo, hi, s->type,
                             (unsigned char *)x + off * s->features * esz, err) < 0)
            return -1;
        if (s->has_targets && targets &&
            nn_npy_read_rows(&s->y[i], lo, hi, NN_DT_F32, targets + off * (size_t)s->n_targets,
                             err) < 0)
            return -1;
        if (!s->has_targets && labels &&
            nn_npy_read_labels(&s->y[i], lo, hi, labels + off, err) < 0)
            return -1;
        at += hi - lo;
    }
    return 0;
}
