/* predict.c - --predict's core (predict.h). */
#include "eval/predict.h"

#include <stdlib.h>

#include "data/batch.h"
#include "data/format.h"

typedef struct {
    const nn_ckpt *ck;
    nn_model *m;
    const nn_predict_sink *sink;
    float *X;        /* (NN_PREDICT_BATCH, n_inputs) */
    double *row;     /* (n_inputs,) one sample before scaling */
    int B;           /* rows in X */
} predictor;

static void add_row(predictor *p)
{
    const nn_ckpt *c = p->ck;
    int F = c->arch.n_inputs;
    float *x = p->X + (size_t)p->B * (size_t)F;
    for (int i = 0; i < F; i++) {
        float v = (float)p->row[i];
        x[i] = c->shift ? (v - c->shift[i]) * c->mult[i] : v;
    }
    p->B++;
}

/* The batch through the model to the sink; false when the sink wants no
 * more. */
static bool flush_batch(predictor *p)
{
    if (p->B == 0)
        return true;
    float *yhat = (float *)nn_model_forward(p->m, p->X, p->B); /* the model's scratch output */
    const nn_ckpt *c = p->ck;
    if (c->n_target_scale) /* back to the targets' units */
        nn_targets_unscale(yhat, (size_t)p->B, c->n_target_scale, c->target_mean, c->target_std);
    bool more = p->sink->rows(p->sink->ctx, p->ck, yhat, p->B, nn_model_outputs(p->m));
    p->B = 0;
    return more;
}

/* Every row of the stream through the model, in batches: a batch is run
 * when it is full, and before a read that could wait for input.  Reading
 * stops when the sink wants no more. */
static int predict_rows(predictor *p, nn_rows *rows, nn_error *err)
{
    nn_rows_info info = nn_rows_describe(rows);
    if (info.features != (size_t)p->ck->arch.n_inputs) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: samples have %zu features, the checkpoint's model takes %d",
                     info.name, info.features, p->ck->arch.n_inputs);
        return -1;
    }
    for (;;) {
        if (p->B > 0 && nn_rows_pending(rows) == 0 && !flush_batch(p))
            return 0;
        int got = nn_rows_read(rows, p->row, err);
        if (got < 0)
            return -1;
        if (got == 0)
            break;
        add_row(p);
        if (p->B == NN_PREDICT_BATCH && !flush_batch(p))
            return 0;
    }
    flush_batch(p);
    return 0;
}

int nn_predict(const char *ckpt_path, const char *spec, const nn_predict_sink *sink,
               nn_error *err)
{
    nn_ckpt c = {0};
    predictor p = {.ck = &c, .sink = sink};
    nn_reader *r = NULL;
    nn_rows *rows = NULL;
    int rc = -1;
    if (nn_ckpt_load(ckpt_path, &c, err) < 0)
        return -1;
    size_t F = (size_t)c.arch.n_inputs;
    p.m = nn_ckpt_model(&c, NN_PREDICT_BATCH, err);
    if (!p.m)
        goto out;
    p.X = malloc(sizeof(float) * NN_PREDICT_BATCH * F);
    p.row = malloc(sizeof(double) * F);
    if (!p.X || !p.row) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        goto out;
    }
    r = nn_reader_open(spec, err);
    if (!r)
        goto out;
    rows = nn_rows_open(r, &c.layout, F, err); /* owns r from here */
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
