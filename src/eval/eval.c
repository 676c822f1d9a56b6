/* eval.c - --eval's core (eval.h). */
#include "eval/eval.h"

#include <stdlib.h>
#include <string.h>

#include "checkpoint/checkpoint.h"
#include "eval/measure.h"

int nn_evaluate(const char *ckpt_path, const nn_source *src, const char *spec,
                nn_eval_report *out, nn_error *err)
{
    nn_ckpt c = {0};
    nn_dataset d = {0};
    nn_source own = {0};
    nn_model *m = NULL;
    int rc = -1;
    memset(out, 0, sizeof *out);
    if (nn_ckpt_load(ckpt_path, &c, err) < 0)
        goto out;
    if (!src) {
        if (nn_source_from_spec(&own, spec, &c.layout, NULL, true, err) < 0)
            goto out;
        src = &own;
    }
    int n_targets = c.layout.n_targets;
    bool regression = n_targets > 0;
    if (regression && src->format != NN_FORMAT_CSV) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: the checkpoint's model is a regression model; it needs CSV data with "
                     "its %d target columns",
                     nn_source_name(src), n_targets);
        goto out;
    }
    if (nn_source_load(&d, NULL, src, c.class_names, c.class_names ? c.n_classes : 0,
                       !regression, err) < 0)
        goto out;
    if (d.features != (size_t)c.arch.n_inputs) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: samples have %zu features, the checkpoint's model takes %d",
                     nn_source_name(src), d.features, c.arch.n_inputs);
        goto out;
    }
    if (regression) {
        if (d.n_targets != n_targets) {
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "%s: %d target columns, the checkpoint's model has %d outputs",
                         nn_source_name(src), d.n_targets, n_targets);
            goto out;
        }
    } else if (nn_check_labels(&d, nn_arch_outputs(&c.arch), nn_source_labels_name(src),
                               err) < 0) {
        goto out;
    }
    m = nn_ckpt_model(&c, NN_MEASURE_BATCH, err);
    if (!m)
        goto out;
    nn_loss_spec ls = {c.loss, c.huber_delta};
    if (nn_measure(m, &d, NULL, d.n, c.shift, c.mult, &ls, regression, true, &out->r, &out->acc,
                   err) < 0)
        goto out;
    out->regression = regression;
    /* the names outlive the checkpoint: they move to the report */
    out->class_names = c.class_names;
    out->n_classes = c.class_names ? c.n_classes : 0;
    c.class_names = NULL;
    rc = 0;
out:
    nn_model_free(m);
    nn_dataset_free(&d);
    nn_source_clear(&own);
    nn_ckpt_free(&c);
    return rc;
}

void nn_eval_report_free(nn_eval_report *r)
{
    nn_acc_free(&r->acc);
    for (int i = 0; r->class_names && i < r->n_classes; i++)
        free(r->class_names[i]);
    free(r->class_names);
    memset(r, 0, sizeof *r);
}
