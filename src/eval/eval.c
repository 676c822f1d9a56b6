/* eval.c - --eval's core (eval.h). */
#include "eval/eval.h"

#include <cJSON.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint/checkpoint.h"
#include "data/batch.h"
#include "data/stream.h"
#include "eval/measure.h"

/* The held-out shares in the checkpoint's config: data.test_fraction and
 * data.validation_fraction (0 when absent).  -1 with *err when the
 * checkpoint holds no test share. */
static int holdout_fractions(const nn_ckpt *c, const char *ckpt_path, double *test,
                             double *val, nn_error *err)
{
    cJSON *root = cJSON_Parse(c->config_json ? c->config_json : "");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(data, "test_fraction");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, "validation_fraction");
    *test = cJSON_IsNumber(t) ? t->valuedouble : 0.0;
    *val = cJSON_IsNumber(v) ? v->valuedouble : 0.0;
    cJSON_Delete(root);
    if (*test > 0 && *test < 1 && *val >= 0 && *test + *val < 1)
        return 0;
    nn_error_set(err, NN_EXIT_USAGE,
                 "%s: no test data: the checkpoint was trained without data.test_fraction; set "
                 "data.test or give --data SPEC",
                 ckpt_path);
    return -1;
}

static int evaluate(const char *ckpt_path, const nn_source *src, const char *spec, bool holdout,
                    nn_eval_report *out, nn_error *err)
{
    uint32_t *train = NULL, *val = NULL, *test = NULL;
    size_t n_train = 0, n_val = 0, n_test = 0;
    nn_ckpt c = {0};
    nn_dataset d = {0};
    nn_source own = {0};
    nn_model *m = NULL;
    int rc = -1;
    memset(out, 0, sizeof *out);
    if (nn_ckpt_load(ckpt_path, &c, err) < 0)
        goto out;
    double test_fraction = 0, val_fraction = 0;
    if (holdout && holdout_fractions(&c, ckpt_path, &test_fraction, &val_fraction, err) < 0)
        goto out;
    if (!src) {
        if (nn_source_from_spec(&own, spec, &c.layout, NULL, true, err) < 0)
            goto out;
        src = &own;
    }
    int n_targets = c.layout.n_targets;
    bool regression = n_targets > 0;
    if (regression && !nn_source_has_targets(src)) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: the checkpoint's model is a regression model; it needs CSV or NPY "
                     "data with its %d targets",
                     nn_source_name(src), n_targets);
        goto out;
    }
    nn_csv_info info;
    nn_csv_opts lo = {c.class_names, c.class_names ? c.n_classes : 0,
                      regression ? 0 : nn_arch_outputs(&c.arch), !regression && !c.class_names,
                      &info};
    if (nn_source_load_opts(&d, NULL, src, &lo, err) < 0)
        goto out;
    if (src->format == NN_FORMAT_CSV && info.missing_fields > 0) {
        /* missing features take the training rows' means */
        if (c.layout.n_means != d.features) {
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "%s: %zu missing values, but the model was not trained with "
                         "\"missing\": \"mean\" (it has no means to fill them with)",
                         nn_source_name(src), info.missing_fields);
            goto out;
        }
        nn_dataset_fill_missing(&d, c.layout.means);
    }
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
    /* the held-out rows: the training split redrawn with the checkpoint's
     * seed (a streamed training: its rule on row numbers, data/stream.h) */
    if (holdout && c.stream_window) {
        test = malloc(sizeof(uint32_t) * (d.n ? d.n : 1));
        if (!test) {
            nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
            goto out;
        }
        for (size_t r = 0; r < d.n; r++)
            if (nn_holdout_kind(c.seed, val_fraction, test_fraction, r) == NN_ROW_TEST)
                test[n_test++] = (uint32_t)r;
    } else if (holdout && nn_split3(NULL, d.n, val_fraction, test_fraction, c.seed, &train,
                                    &n_train, &val, &n_val, &test, &n_test, err) < 0)
        goto out;
    if (holdout && n_test == 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %zu rows leave no test rows for data.test_fraction",
                     nn_source_name(src), d.n);
        goto out;
    }
    m = nn_ckpt_model(&c, NN_MEASURE_BATCH, err);
    if (!m)
        goto out;
    if (c.n_target_scale) /* the model was trained on standardised targets */
        nn_targets_scale(&d, c.target_mean, c.target_std, true);
    nn_loss_spec ls = {c.loss, c.huber_delta, c.n_target_scale ? c.target_std : NULL,
                       c.label_smoothing};
    if (nn_measure(m, &d, holdout ? test : NULL, holdout ? n_test : d.n, c.shift, c.mult, &ls,
                   regression, true, &out->r, &out->acc, err) < 0)
        goto out;
    out->acc.target_std = NULL; /* the checkpoint's, freed below; the result is taken */
    if (c.n_target_scale && out->acc.points) /* the scatter's (target, output) pairs in the
                                                targets' units: each row is K targets, K outputs */
        nn_targets_unscale(out->acc.points, out->acc.n_points * 2, c.n_target_scale,
                           c.target_mean, c.target_std);
    out->regression = regression;
    /* the names outlive the checkpoint: they move to the report, one per
     * output unit (a unit no label named is shown by its index) */
    int units = nn_arch_outputs(&c.arch), want = units == 1 ? 2 : units;
    if (c.class_names && c.n_classes < want) {
        char **p = realloc(c.class_names, sizeof *p * (size_t)want);
        if (!p) {
            nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
            goto out;
        }
        c.class_names = p;
        for (; c.n_classes < want; c.n_classes++) {
            char num[16];
            snprintf(num, sizeof num, "%d", c.n_classes);
            if (!(p[c.n_classes] = strdup(num))) {
                nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
                goto out;
            }
        }
    }
    out->class_names = c.class_names;
    out->n_classes = c.class_names ? c.n_classes : 0;
    c.class_names = NULL;
    rc = 0;
out:
    free(train);
    free(val);
    free(test);
    nn_model_free(m);
    nn_dataset_free(&d);
    nn_source_clear(&own);
    nn_ckpt_free(&c);
    return rc;
}

int nn_evaluate(const char *ckpt_path, const nn_source *src, const char *spec,
                nn_eval_report *out, nn_error *err)
{
    return evaluate(ckpt_path, src, spec, false, out, err);
}

int nn_evaluate_holdout(const char *ckpt_path, const nn_source *train, nn_eval_report *out,
                        nn_error *err)
{
    return evaluate(ckpt_path, train, NULL, true, out, err);
}

void nn_eval_report_free(nn_eval_report *r)
{
    nn_acc_free(&r->acc);
    for (int i = 0; r->class_names && i < r->n_classes; i++)
        free(r->class_names[i]);
    free(r->class_names);
    memset(r, 0, sizeof *r);
}
