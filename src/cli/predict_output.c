/* predict_output.c - --predict's output: one CSV line per sample, in input
 * order, no header (cli.h). */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/csvout.h"
#include "cli/out.h"
#include "eval/predict.h"
#include "nn/loss.h"

typedef struct {
    FILE *out;
    bool scores;
} lines;

/* false once stdout failed (cli/out.h): its reader went away, or an error
 * that main reports */
static bool write_rows(void *ctx, const nn_ckpt *c, const float *Y, int B, int K)
{
    lines *l = ctx;
    for (int i = 0; i < B; i++) {
        const float *y = Y + (size_t)i * K;
        if (c->layout.n_targets > 0) {
            for (int k = 0; k < K; k++)
                fprintf(l->out, "%s%.9g", k ? "," : "", y[k]);
        } else {
            int cls = nn_predict_class(y, K);
            if (c->class_names && cls < c->n_classes) /* a unit no label named: its index */
                nn_csv_string(l->out, c->class_names[cls]);
            else
                fprintf(l->out, "%d", cls);
        }
        if (l->scores && c->layout.n_targets == 0) /* regression: the values are the scores */
            for (int k = 0; k < K; k++)
                fprintf(l->out, ",%.9g", y[k]);
        fputc('\n', l->out);
    }
    return nn_out_flush(l->out);
}

int nn_cli_predict(const char *ckpt_path, const char *spec, bool scores, const nn_run_opts *o,
                   nn_error *err)
{
    lines l = {o->out, scores};
    nn_predict_sink sink = {&l, write_rows};
    return nn_predict(ckpt_path, spec, &sink, err);
}
