/* predict.c - the --predict command: samples in, one CSV line per sample
 * out, streaming.
 *
 * Input is any data format (known from the first bytes), read as a row
 * stream (data/format.h) through one reader that is never rewound, so stdin
 * works; a CSV stream reads rows laid out like the training file.  Rows are
 * gathered into batches of up to PREDICT_BATCH; a batch is run and its lines
 * written and flushed when it is full or when no more input is buffered (the
 * next read could wait), so a pipeline sees each answer as soon as its
 * sample has arrived.  Memory is fixed by the batch size, whatever the input
 * length.
 */
#include <stdlib.h>

#include "data/format.h"
#include "nn/loss.h"
#include "run.h"
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

/* Every row of the stream through the model, in batches: a batch is run
 * when it is full, and before a read that could wait for input. */
static int predict_rows(predictor *p, nn_rows *rows, nn_error *err)
{
    nn_rows_info info = nn_rows_describe(rows);
    if (info.features != (size_t)p->ck->n_inputs) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: samples have %zu features, the checkpoint's model takes %d",
                     info.name, info.features, p->ck->n_inputs);
        return -1;
    }
    for (;;) {
        if (p->B > 0 && nn_rows_pending(rows) == 0)
            flush_batch(p);
        int got = nn_rows_read(rows, p->row, err);
        if (got < 0)
            return -1;
        if (got == 0)
            break;
        add_row(p);
        if (p->B == PREDICT_BATCH)
            flush_batch(p);
    }
    flush_batch(p);
    return 0;
}

int nn_predict(const char *ckpt_path, const char *spec, bool scores, const nn_run_opts *o,
               nn_error *err)
{
    nn_ckpt c = {0};
    predictor p = {0};
    nn_reader *r = NULL;
    nn_rows *rows = NULL;
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
    rows = nn_rows_open(r, &c.layout, (size_t)c.n_inputs, err); /* owns r from here */
    if (!rows)
        goto out;
    rc = predict_rows(&p, rows, err);
out:
    nn_rows_close(rows);
    free(p.X);
    free(p.row);
    nn_model_free(p.m);
    nn_ckpt_free(&c);
    return rc;
}
