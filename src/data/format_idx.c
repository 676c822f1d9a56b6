/* format_idx.c - the IDX entry of the format table (see format.h): an IDX
 * images file and its labels file, read by data/idx.c. */
#include "data/format.h"

#include <stdlib.h>
#include <string.h>

#include "data/idx.h"

/* Two zero bytes, a known element type, 1 to NN_IDX_MAX_DIMS dimensions. */
static bool idx_recognise(const unsigned char *h, size_t n)
{
    return n >= 4 && h[0] == 0 && h[1] == 0 && nn_dtype_size(h[2]) > 0 && h[3] >= 1 &&
           h[3] <= NN_IDX_MAX_DIMS;
}

/* An IDX pair has no columns: the layout is the empty one.  Labels are
 * always whole numbers, so `classes` has nothing to map. */
static int idx_load(nn_dataset *d, nn_data_layout *layout, const nn_source *s,
                    char *const *classes, int n_classes, nn_error *err)
{
    if (layout) {
        memset(layout, 0, sizeof *layout);
        layout->format = NN_FORMAT_IDX;
        layout->label_col = -1;
    }
    return nn_idx_read_pair(d, s->file_path, s->labels_path, err);
}

/* --- rows: nn_idx_stream on a reader this state owns -------------------- */

typedef struct {
    nn_reader *r;
    nn_idx_stream *idx;
} idx_rows;

static void idx_rows_close(void *st)
{
    idx_rows *s = st;
    if (!s)
        return;
    nn_idx_stream_close(s->idx);
    nn_reader_close(s->r);
    free(s);
}

static void *idx_rows_open(nn_reader *r, const nn_data_layout *trained, size_t n_features,
                           nn_error *err)
{
    idx_rows *s = calloc(1, sizeof *s);
    if (!s) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", nn_reader_name(r));
        nn_reader_close(r);
        return NULL;
    }
    s->r = r;
    s->idx = nn_idx_stream_open(r, err);
    if (!s->idx) {
        idx_rows_close(s);
        return NULL;
    }
    return s;
}

static nn_rows_info idx_rows_describe(const void *st)
{
    const idx_rows *s = st;
    return (nn_rows_info){nn_idx_stream_features(s->idx), nn_reader_name(s->r)};
}

static int idx_rows_read(void *st, double *x, nn_error *err)
{
    idx_rows *s = st;
    return nn_idx_stream_next(s->idx, x, err);
}

static size_t idx_rows_pending(const void *st)
{
    const idx_rows *s = st;
    return nn_idx_stream_pending(s->idx);
}

const nn_format nn_format_idx = {
    .kind = NN_FORMAT_IDX,
    .name = "idx",
    .recognise = idx_recognise,
    .load = idx_load,
    .rows = {idx_rows_open, idx_rows_describe, idx_rows_read, idx_rows_pending,
             idx_rows_close},
};
