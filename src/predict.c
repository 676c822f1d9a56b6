/* predict.c - the --predict command: samples in, one CSV line per sample
 * out, streaming.
 *
 * Input is an IDX images file or CSV (known from the first bytes), read
 * through one reader that is never rewound, so stdin works.  Rows are
 * gathered into batches of up to PREDICT_BATCH; a batch is run and its lines
 * written and flushed when it is full or when no more input is buffered (the
 * next read could wait), so a pipeline sees each answer as soon as its
 * sample has arrived.  Memory is fixed by the batch size, whatever the input
 * length.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/csv.h"
#include "data/idx.h"
#include "data/reader.h"
#include "run.h"
#include "nn/loss.h"
#include "util/csvout.h"

enum { PREDICT_BATCH = 64 };

typedef struct {
    const nn_ckpt *ck;
    nn_model *m;
    int K;
    bool scores;
    FILE *out;
    float *X;        /* (PREDICT_BATCH, n_inputs) */
    double *row;     /* (n_inputs,) one sample before scaling */
    int B;           /* rows in X */
} predictor;

static void add_row(predictor *p)
{
    const nn_ckpt *c = p->ck;
    float *x = p->X + (size_t)p->B * (size_t)c->n_inputs;
    for (int i = 0; i < c->n_inputs; i++) {
        float v = (float)p->row[i];
        x[i] = c->shift ? (v - c->shift[i]) * c->mult[i] : v;
    }
    p->B++;
}

static void flush_batch(predictor *p)
{
    if (p->B == 0)
        return;
    const float *yhat = nn_model_forward(p->m, p->X, p->B);
    for (int i = 0; i < p->B; i++) {
        const float *y = yhat + (size_t)i * p->K;
        if (p->ck->layout.n_targets > 0) {
            for (int k = 0; k < p->K; k++)
                fprintf(p->out, "%s%.9g", k ? "," : "", y[k]);
        } else {
            int cls = nn_predict_class(y, p->K);
            if (p->ck->class_names)
                nn_csv_string(p->out, p->ck->class_names[cls]);
            else
                fprintf(p->out, "%d", cls);
        }
        if (p->scores)
            for (int k = 0; k < p->K; k++)
                fprintf(p->out, ",%.9g", y[k]);
        fputc('\n', p->out);
    }
    fflush(p->out);
    p->B = 0;
}

static int predict_idx(predictor *p, nn_reader *r, nn_error *err)
{
    nn_idx_stream *s = nn_idx_stream_open(r, err);
    if (!s)
        return -1;
    int rc = -1;
    if (nn_idx_stream_features(s) != (size_t)p->ck->n_inputs) {
        const char *name = nn_reader_path(r);
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: samples have %zu features, the checkpoint's model takes %d",
                     strcmp(name, "-") == 0 ? "stdin" : name, nn_idx_stream_features(s),
                     p->ck->n_inputs);
        goto out;
    }
    for (;;) {
        if (p->B > 0 && nn_idx_stream_pending(s) == 0)
            flush_batch(p);
        int got = nn_idx_stream_next(s, p->row, err);
        if (got < 0)
            goto out;
        if (got == 0)
            break;
        add_row(p);
        if (p->B == PREDICT_BATCH)
            flush_batch(p);
    }
    flush_batch(p);
    rc = 0;
out:
    nn_idx_stream_close(s);
    return rc;
}

/* Which input fields hold the features: cols[i] is the field of feature i.
 * With a header (when the training file had one) the features are found by
 * name; without, a row holds either the features only or the training
 * row's full width, whose label/target fields are skipped. */
typedef struct {
    bool by_name;
    long *cols;      /* (n_inputs,) when by_name */
    size_t width;    /* fields per row when by_name */
} column_map;

static bool is_feature_col(const nn_data_layout *l, long j)
{
    if (j == l->label_col)
        return false;
    for (int t = 0; t < l->n_targets; t++)
        if (l->target_cols[t] == j)
            return false;
    return true;
}

static int map_header(column_map *map, nn_csv *csv, const nn_ckpt *c, nn_error *err)
{
    const nn_data_layout *l = &c->layout;
    map->by_name = true;
    map->width = nn_csv_nfields(csv);
    map->cols = malloc(sizeof(long) * (size_t)c->n_inputs);
    if (!map->cols) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        return -1;
    }
    int f = 0;
    for (long j = 0; j < (long)l->n_columns; j++) {
        if (!is_feature_col(l, j))
            continue;
        long found = -1;
        for (size_t k = 0; k < map->width && found < 0; k++)
            if (strcmp(nn_csv_field(csv, k), l->names[j]) == 0)
                found = (long)k;
        if (found < 0) {
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "%s:%llu: no column \"%s\" in the header (the model was trained on it)",
                         nn_csv_name(csv), (unsigned long long)nn_csv_line(csv), l->names[j]);
            return -1;
        }
        map->cols[f++] = found;
    }
    return 0;
}

static int parse_field(const nn_csv *csv, size_t k, double *v, nn_error *err)
{
    if (nn_csv_parse_number(nn_csv_field(csv, k), v) == 0)
        return 0;
    nn_error_set(err, NN_EXIT_RUNTIME, "%s:%llu: field %zu is not a number: \"%.40s\"",
                 nn_csv_name(csv), (unsigned long long)nn_csv_line(csv), k + 1,
                 nn_csv_field(csv, k));
    return -1;
}

static int csv_row(predictor *p, const column_map *map, const nn_csv *csv, nn_error *err)
{
    const nn_ckpt *c = p->ck;
    const nn_data_layout *l = &c->layout;
    size_t nf = nn_csv_nfields(csv), F = (size_t)c->n_inputs;
    if (map->by_name) {
        if (nf != map->width) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s:%llu: expected %zu fields, found %zu",
                         nn_csv_name(csv), (unsigned long long)nn_csv_line(csv), map->width, nf);
            return -1;
        }
        for (size_t i = 0; i < F; i++)
            if (parse_field(csv, (size_t)map->cols[i], &p->row[i], err) < 0)
                return -1;
        return 0;
    }
    if (nf == F) {
        for (size_t i = 0; i < F; i++)
            if (parse_field(csv, i, &p->row[i], err) < 0)
                return -1;
        return 0;
    }
    if (l->format == NN_FORMAT_CSV && nf == l->n_columns) {
        size_t i = 0;
        for (size_t k = 0; k < nf; k++)
            if (is_feature_col(l, (long)k) && parse_field(csv, k, &p->row[i++], err) < 0)
                return -1;
        return 0;
    }
    if (l->format == NN_FORMAT_CSV && l->n_columns != F)
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s:%llu: expected %zu fields (the features) or %zu (a training row), "
                     "found %zu",
                     nn_csv_name(csv), (unsigned long long)nn_csv_line(csv), F, l->n_columns,
                     nf);
    else
        nn_error_set(err, NN_EXIT_RUNTIME, "%s:%llu: expected %zu fields, found %zu",
                     nn_csv_name(csv), (unsigned long long)nn_csv_line(csv), F, nf);
    return -1;
}

static int predict_csv(predictor *p, nn_reader *r, nn_error *err)
{
    const nn_ckpt *c = p->ck;
    bool csv_trained = c->layout.format == NN_FORMAT_CSV;
    int delim = csv_trained ? c->layout.delimiter : ',';
    nn_csv *csv = nn_csv_from_reader(r, delim, err);
    if (!csv)
        return -1;
    column_map map = {0};
    int rc = -1;
    bool first = true;
    for (;;) {
        if (p->B > 0 && nn_csv_pending(csv) == 0)
            flush_batch(p);
        int got = nn_csv_next(csv, err);
        if (got < 0)
            goto out;
        if (got == 0)
            break;
        if (first && csv_trained && c->layout.header && c->layout.names) {
            first = false;
            if (map_header(&map, csv, c, err) < 0)
                goto out;
            continue;
        }
        first = false;
        if (csv_row(p, &map, csv, err) < 0)
            goto out;
        add_row(p);
        if (p->B == PREDICT_BATCH)
            flush_batch(p);
    }
    flush_batch(p);
    rc = 0;
out:
    free(map.cols);
    nn_csv_close(csv);
    return rc;
}

int nn_predict(const char *ckpt_path, const char *spec, bool scores, const nn_run_opts *o,
               nn_error *err)
{
    nn_ckpt c = {0};
    predictor p = {0};
    nn_reader *r = NULL;
    int rc = -1;
    if (nn_ckpt_load(ckpt_path, &c, err) < 0)
        return -1;
    p.ck = &c;
    p.K = c.units[c.n_layers - 1];
    p.scores = scores;
    p.out = o->out;
    p.m = nn_model_from_ckpt(&c, PREDICT_BATCH, err);
    if (!p.m)
        goto out;
    p.X = malloc(sizeof(float) * PREDICT_BATCH * (size_t)c.n_inputs);
    p.row = malloc(sizeof(double) * (size_t)c.n_inputs);
    if (!p.X || !p.row) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        goto out;
    }
    r = nn_reader_open(spec, err);
    if (!r)
        goto out;
    unsigned char head[4];
    long long got = nn_reader_read(r, head, sizeof head, err);
    if (got < 0 || nn_reader_unread(r, head, (size_t)got) < 0)
        goto out;
    bool idx = got == 4 && head[0] == 0 && head[1] == 0 && nn_dtype_size(head[2]) > 0 &&
               head[3] >= 1 && head[3] <= 8;
    if (idx) {
        rc = predict_idx(&p, r, err);
        nn_reader_close(r);
    } else {
        rc = predict_csv(&p, r, err); /* the CSV reader owns r from here */
    }
    r = NULL;
out:
    nn_reader_close(r);
    free(p.X);
    free(p.row);
    nn_model_free(p.m);
    nn_ckpt_free(&c);
    return rc;
}
