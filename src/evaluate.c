/* evaluate.c - measuring a model on data, and the --eval and --inspect
 * commands, which need nothing but a checkpoint (and data for --eval). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/batch.h"
#include "data/format.h"
#include "data/source.h"
#include "nn/loss.h"
#include "run.h"
#include "util/csvout.h"

#include "eval/measure.h"

int nn_ckpt_arch(const nn_ckpt *c, nn_arch *a, nn_error *err)
{
    nn_layer_cfg layers[NN_MAX_LAYERS];
    memset(layers, 0, sizeof layers);
    for (int l = 0; l < c->n_layers; l++)
        layers[l] = (nn_layer_cfg){.units = c->units[l], .act = c->act[l], .alpha = c->alpha[l]};
    return nn_arch_from_layers(a, c->n_inputs, layers, c->n_layers, err);
}

nn_model *nn_model_from_ckpt(const nn_ckpt *c, int max_batch, nn_error *err)
{
    nn_arch a;
    if (nn_ckpt_arch(c, &a, err) < 0)
        return NULL;
    nn_model *m = nn_model_create(&a, max_batch, err);
    if (!m)
        return NULL;
    if (m->n_params != c->n_params) { /* the loader checks this; keep the model safe anyway */
        nn_error_set(err, NN_EXIT_RUNTIME, "checkpoint holds %zu parameters, its architecture %zu",
                     c->n_params, m->n_params);
        nn_model_free(m);
        return NULL;
    }
    memcpy(m->params, c->params, sizeof(float) * c->n_params);
    return m;
}

/* --- --eval ------------------------------------------------------------- */

static void print_number_or_null(FILE *f, double v, bool json)
{
    if (isfinite(v))
        fprintf(f, json ? "%.6g" : "%.4f", v);
    else
        fputs(json ? "null" : "-", f);
}

static void print_regression(FILE *f, const nn_result *r, bool json)
{
    if (json) {
        fprintf(f, "{\"samples\":%zu,\"loss\":%.9g,\"mse\":%.9g,\"mae\":%.9g,\"r2\":", r->samples,
                r->loss, r->mse, r->mae);
        print_number_or_null(f, r->r2, true);
        fputs("}\n", f);
        return;
    }
    fprintf(f, "samples   %zu\nloss      %.6f\nmse       %.6f\nmae       %.6f\nr2        ",
            r->samples, r->loss, r->mse, r->mae);
    print_number_or_null(f, r->r2, false);
    fputc('\n', f);
}

/* A class as shown to the user: its original name, or its number. */
static void class_text(char *buf, size_t cap, char *const *names, int c)
{
    if (names)
        snprintf(buf, cap, "%s", names[c]);
    else
        snprintf(buf, cap, "%d", c);
}

static void print_classification(FILE *f, const nn_result *r, const nn_acc *a,
                                 char *const *names, bool json)
{
    int C = a->classes;
    const size_t *cm = a->confusion;
    int width = 6; /* widest class name, for the text tables */
    char name[64];
    for (int c = 0; names && c < C; c++) {
        int w = (int)strlen(names[c]);
        width = w > width ? (w > 20 ? 20 : w) : width;
    }
    if (json)
        fprintf(f, "{\"samples\":%zu,\"loss\":%.9g,\"accuracy\":%.6g,\"classes\":[", r->samples,
                r->loss, r->accuracy);
    else
        fprintf(f, "samples   %zu\nloss      %.6f\naccuracy  %.4f\n\n%-*s  precision  recall  support\n",
                r->samples, r->loss, r->accuracy, width, "class");
    for (int c = 0; c < C; c++) {
        size_t tp = cm[(size_t)c * C + c], predicted = 0, actual = 0;
        for (int k = 0; k < C; k++) {
            predicted += cm[(size_t)k * C + c];
            actual += cm[(size_t)c * C + k];
        }
        double precision = predicted ? (double)tp / (double)predicted : NAN;
        double recall = actual ? (double)tp / (double)actual : NAN;
        if (json) {
            fputs(c ? ",{\"class\":" : "{\"class\":", f);
            if (names)
                nn_json_string(f, names[c]);
            else
                fprintf(f, "%d", c);
            fputs(",\"precision\":", f);
            print_number_or_null(f, precision, true);
            fputs(",\"recall\":", f);
            print_number_or_null(f, recall, true);
            fprintf(f, ",\"support\":%zu}", actual);
        } else {
            class_text(name, sizeof name, names, c);
            fprintf(f, "%-*.*s  ", width, width, name);
            print_number_or_null(f, precision, false);
            fputs(isfinite(precision) ? "     " : "          ", f);
            print_number_or_null(f, recall, false);
            fprintf(f, isfinite(recall) ? "  %7zu\n" : "       %7zu\n", actual);
        }
    }
    if (json) {
        fputs("],\"confusion\":[", f);
        for (int row = 0; row < C; row++) {
            fputs(row ? ",[" : "[", f);
            for (int c = 0; c < C; c++)
                fprintf(f, "%s%zu", c ? "," : "", cm[(size_t)row * C + c]);
            fputc(']', f);
        }
        fputs("]}\n", f);
        return;
    }
    fprintf(f, "\nconfusion matrix (rows: true class, columns: predicted class)\n%-*s", width, "");
    for (int c = 0; c < C; c++) {
        class_text(name, sizeof name, names, c);
        fprintf(f, " %*.*s", width, width, name);
    }
    fputc('\n', f);
    for (int row = 0; row < C; row++) {
        class_text(name, sizeof name, names, row);
        fprintf(f, "%-*.*s", width, width, name);
        for (int c = 0; c < C; c++)
            fprintf(f, " %*zu", width, cm[(size_t)row * C + c]);
        fputc('\n', f);
    }
}

int nn_eval(const char *ckpt_path, const nn_source *src, const char *spec,
            const nn_run_opts *o, nn_error *err)
{
    nn_ckpt c = {0};
    nn_dataset d = {0};
    nn_source own = {0};
    nn_model *m = NULL;
    nn_acc acc = {0};
    nn_result r;
    int rc = -1;
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
    if (d.features != (size_t)c.n_inputs) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: samples have %zu features, the checkpoint's model takes %d",
                     nn_source_name(src), d.features, c.n_inputs);
        goto out;
    }
    if (regression) {
        if (d.n_targets != n_targets) {
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "%s: %d target columns, the checkpoint's model has %d outputs",
                         nn_source_name(src), d.n_targets, n_targets);
            goto out;
        }
    } else if (nn_check_labels(&d, c.units[c.n_layers - 1], nn_source_labels_name(src), err) <
               0) {
        goto out;
    }
    m = nn_model_from_ckpt(&c, NN_MEASURE_BATCH, err);
    if (!m)
        goto out;
    nn_loss_spec ls = {c.loss, c.huber_delta};
    if (nn_measure(m, &d, NULL, d.n, c.shift, c.mult, &ls, regression, true, &r, &acc, err) < 0)
        goto out;
    if (regression)
        print_regression(o->out, &r, o->json);
    else
        print_classification(o->out, &r, &acc, c.class_names, o->json);
    rc = 0;
out:
    nn_acc_free(&acc);
    nn_model_free(m);
    nn_dataset_free(&d);
    nn_source_clear(&own);
    nn_ckpt_free(&c);
    return rc;
}

/* --- --inspect ---------------------------------------------------------- */

int nn_inspect(const char *path, const nn_run_opts *o, nn_error *err)
{
    nn_ckpt c = {0};
    if (nn_ckpt_load(path, &c, err) < 0)
        return -1;
    FILE *f = o->out;
    int n_targets = c.layout.n_targets;
    const char *data = nn_format_get(c.layout.format)->name; /* nn_ckpt_load knows the kind */
    double metrics[4] = {c.train_loss, c.train_accuracy, c.val_loss, c.val_accuracy};
    const char *metric_names[4] = {"train_loss", "train_accuracy", "val_loss", "val_accuracy"};
    if (o->json) {
        fputs("{\"version\":", f);
        nn_json_string(f, c.version);
        fprintf(f, ",\"format\":%d,\"inputs\":%d,\"layers\":[", NN_CKPT_VERSION, c.n_inputs);
        for (int l = 0; l < c.n_layers; l++)
            fprintf(f, "%s{\"units\":%d,\"activation\":\"%s\"}", l ? "," : "", c.units[l],
                    nn_act_name(c.act[l]));
        fprintf(f, "],\"parameters\":%zu,\"loss\":\"%s\",\"optimizer\":\"%s\",\"targets\":%d,"
                   "\"data\":\"%s\",\"classes\":%d,"
                   "\"scale\":\"%s\",\"epoch\":%lld,\"step\":%lld,\"seed\":%llu",
                c.n_params, nn_loss_name(c.loss), nn_opt_name(c.optimizer), n_targets,
                data, c.n_classes, nn_scale_name(c.scale),
                (long long)c.epoch, (long long)c.step, (unsigned long long)c.seed);
        if (c.class_names) {
            fputs(",\"class_names\":[", f);
            for (int i = 0; i < c.n_classes; i++) {
                if (i)
                    fputc(',', f);
                nn_json_string(f, c.class_names[i]);
            }
            fputc(']', f);
        }
        for (int i = 0; i < 4; i++)
            if (isfinite(metrics[i]))
                fprintf(f, ",\"%s\":%.9g", metric_names[i], metrics[i]);
        fputs(",\"config\":", f);
        fputs(c.config_json && *c.config_json ? c.config_json : "null", f);
        fputs("}\n", f);
    } else {
        fprintf(f, "checkpoint   %s (format %d, written by nntrain %s)\n", path, NN_CKPT_VERSION,
                c.version);
        fprintf(f, "model        %d inputs", c.n_inputs);
        for (int l = 0; l < c.n_layers; l++)
            fprintf(f, " -> %d %s", c.units[l], nn_act_name(c.act[l]));
        fprintf(f, "\nparameters   %zu\n", c.n_params);
        fprintf(f, "loss         %s\noptimizer    %s\n", nn_loss_name(c.loss),
                nn_opt_name(c.optimizer));
        if (n_targets)
            fprintf(f, "targets      %d (regression)\n", n_targets);
        else
            fprintf(f, "classes      %d", c.n_classes);
        for (int i = 0; !n_targets && c.class_names && i < c.n_classes; i++)
            fprintf(f, "%s%s", i ? ", " : " (", c.class_names[i]);
        if (!n_targets)
            fputs(c.class_names && c.n_classes ? ")\n" : "\n", f);
        fprintf(f, "data         %s\nscale        %s\n", data, nn_scale_name(c.scale));
        fprintf(f, "epoch        %lld\nstep         %lld\nseed         %llu\n", (long long)c.epoch,
                (long long)c.step, (unsigned long long)c.seed);
        for (int i = 0; i < 4; i++)
            if (isfinite(metrics[i]))
                fprintf(f, "%-12s %.6f\n", metric_names[i], metrics[i]);
        fprintf(f, "config       %s\n", c.config_json ? c.config_json : "");
    }
    nn_ckpt_free(&c);
    return 0;
}
