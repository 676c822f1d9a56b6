/* format.c - the table of data formats, telling them apart, and row streams
 * that dispatch to a format's operations (see format.h). */
#include "data/format.h"

#include <stdlib.h>
#include <string.h>

/* In the order nn_format_detect asks them: CSV last, it takes any bytes. */
static const nn_format *const formats[] = {&nn_format_idx, &nn_format_npy, &nn_format_csv};
enum { N_FORMATS = sizeof formats / sizeof formats[0] };

const nn_format *nn_format_get(nn_format_kind kind)
{
    for (int i = 0; i < N_FORMATS; i++)
        if (formats[i]->kind == kind)
            return formats[i];
    return NULL;
}

const nn_format *nn_format_detect(const unsigned char *head, size_t n)
{
    for (int i = 0; i < N_FORMATS - 1; i++)
        if (formats[i]->recognise(head, n))
            return formats[i];
    return formats[N_FORMATS - 1];
}

const nn_format *nn_format_sniff(nn_reader *r, nn_error *err)
{
    unsigned char head[NN_FORMAT_SNIFF_BYTES];
    long long got = nn_reader_read(r, head, sizeof head, err);
    if (got < 0)
        return NULL;
    if (nn_reader_unread(r, head, (size_t)got) < 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: the format is sniffed before anything is read",
                     nn_reader_name(r));
        return NULL;
    }
    return nn_format_detect(head, (size_t)got);
}

const nn_format *nn_format_of_file(const char *path, nn_error *err)
{
    if (strcmp(path, "-") == 0)
        return &nn_format_csv;
    nn_reader *r = nn_reader_open(path, err);
    if (!r)
        return NULL;
    const nn_format *f = nn_format_sniff(r, err);
    nn_reader_close(r);
    return f;
}

/* --- row streams --------------------------------------------------------- */

struct nn_rows {
    const nn_format *format;
    void *st; /* the format's state */
};

nn_rows *nn_rows_open(nn_reader *r, const nn_data_layout *trained, size_t n_features,
                      nn_error *err)
{
    const nn_format *f = nn_format_sniff(r, err);
    nn_rows *s = f ? malloc(sizeof *s) : NULL;
    if (f && !s)
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", nn_reader_name(r));
    if (!s) {
        nn_reader_close(r);
        return NULL;
    }
    s->format = f;
    s->st = f->rows.open(r, trained, n_features, err);
    if (!s->st) {
        free(s);
        return NULL;
    }
    return s;
}

const nn_format *nn_rows_format(const nn_rows *s)
{
    return s->format;
}

nn_rows_info nn_rows_describe(const nn_rows *s)
{
    return s->format->rows.describe(s->st);
}

int nn_rows_read(nn_rows *s, double *x, nn_error *err)
{
    return s->format->rows.read(s->st, x, err);
}

size_t nn_rows_pending(const nn_rows *s)
{
    return s->format->rows.pending(s->st);
}

void nn_rows_close(nn_rows *s)
{
    if (!s)
        return;
    s->format->rows.close(s->st);
    free(s);
}
