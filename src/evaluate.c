/* evaluate.c - measuring a model on data, and the --eval and --inspect
 * commands, which need nothing but a checkpoint (and data for --eval). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/batch.h"
#include "data/idx.h"
#include "nn/loss.h"
#include "run.h"

enum { MEASURE_BATCH = 256 };

int nn_check_labels(const nn_dataset *d, int K, const char *name, nn_error *err)
{
    for (size_t i = 0; i < d->n; i++) {
        int32_t y = d->labels[i];
        if (K == 1 && y > 1) {
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "%s: label %d at item %zu does not fit the model's single output "
                         "unit (a one-unit model is a binary classifier: labels 0 and 1)",
                         name, (int)y, i);
            return -1;
        }
        if (K > 1 && y >= K) {
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "%s: label %d at item %zu is beyond the model's %d output units", name,
                         (int)y, i, K);
            return -1;
        }
    }
    return 0;
}

int nn_measure(nn_model *m, const nn_dataset *d, const uint32_t *idx, size_t n,
               const float *shift, const float *mult, bool want_confusion, nn_metrics *out,
               nn_error *err)
{
    int K = m->units[m->n_layers - 1];
    int bmax = m->max_batch < MEASURE_BATCH ? m->max_batch : MEASURE_BATCH;
    memset(out, 0, sizeof *out);
    out->classes = K > 1 ? K : 2;
    float *X = malloc(sizeof(float) * (size_t)bmax * d->features);
    int32_t *y = malloc(sizeof(int32_t) * (size_t)bmax);
    uint32_t *rows = malloc(sizeof(uint32_t) * (size_t)bmax);
    if (want_confusion)
        out->confusion = calloc((size_t)out->classes * (size_t)out->classes, sizeof(size_t));
    if (!X || !y || !rows || (want_confusion && !out->confusion)) {
        free(X);
        free(y);
        free(rows);
        free(out->confusion);
        out->confusion = NULL;
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory measuring %zu samples", n);
        return -1;
    }
    double sum = 0.0;
    for (size_t off = 0; off < n; off += (size_t)bmax) {
        int B = n - off < (size_t)bmax ? (int)(n - off) : bmax;
        for (int i = 0; i < B; i++)
            rows[i] = idx ? idx[off + (size_t)i] : (uint32_t)(off + (size_t)i);
        nn_batch_gather(X, d, rows, (size_t)B, shift, mult);
        nn_batch_labels(y, d, rows, (size_t)B);
        const float *yhat = nn_model_forward(m, X, B);
        sum += nn_mse_forward(yhat, y, B, K) * B;
        for (int i = 0; i < B; i++) {
            int p = nn_predict_class(yhat + (size_t)i * K, K);
            out->correct += p == y[i];
            if (out->confusion)
                out->confusion[(size_t)y[i] * (size_t)out->classes + (size_t)p]++;
        }
    }
    out->samples = n;
    out->loss = n ? sum / (double)n : NAN;
    free(X);
    free(y);
    free(rows);
    return 0;
}

nn_model *nn_model_from_ckpt(const nn_ckpt *c, int max_batch, nn_error *err)
{
    nn_model *m = nn_model_create(c->n_inputs, c->n_layers, c->units, c->act, max_batch, err);
    if (!m)
        return NULL;
    if (m->n_params != c->n_params) { /* the loader checks this; keep the model safe anyway */
        nn_model_free(m);
        nn_error_set(err, NN_EXIT_RUNTIME, "checkpoint holds %zu parameters, its architecture %zu",
                     c->n_params, m->n_params);
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

static void print_eval(FILE *f, const nn_metrics *mt, bool json)
{
    int C = mt->classes;
    double acc = mt->samples ? (double)mt->correct / (double)mt->samples : NAN;
    if (json) {
        fprintf(f, "{\"samples\":%zu,\"loss\":%.9g,\"accuracy\":%.6g,\"classes\":[", mt->samples,
                mt->loss, acc);
    } else {
        fprintf(f, "samples   %zu\nloss      %.6f\naccuracy  %.4f\n\n", mt->samples, mt->loss,
                acc);
        fprintf(f, "class  precision  recall  support\n");
    }
    for (int c = 0; c < C; c++) {
        size_t tp = mt->confusion[(size_t)c * C + c], predicted = 0, actual = 0;
        for (int k = 0; k < C; k++) {
            predicted += mt->confusion[(size_t)k * C + c];
            actual += mt->confusion[(size_t)c * C + k];
        }
        double precision = predicted ? (double)tp / (double)predicted : NAN;
        double recall = actual ? (double)tp / (double)actual : NAN;
        if (json) {
            fprintf(f, "%s{\"class\":%d,\"precision\":", c ? "," : "", c);
            print_number_or_null(f, precision, true);
            fputs(",\"recall\":", f);
            print_number_or_null(f, recall, true);
            fprintf(f, ",\"support\":%zu}", actual);
        } else {
            fprintf(f, "%-5d  ", c);
            print_number_or_null(f, precision, false);
            fputs(isfinite(precision) ? "     " : "          ", f);
            print_number_or_null(f, recall, false);
            fprintf(f, isfinite(recall) ? "  %7zu\n" : "       %7zu\n", actual);
        }
    }
    if (json) {
        fputs("],\"confusion\":[", f);
        for (int r = 0; r < C; r++) {
            fputs(r ? ",[" : "[", f);
            for (int c = 0; c < C; c++)
                fprintf(f, "%s%zu", c ? "," : "", mt->confusion[(size_t)r * C + c]);
            fputc(']', f);
        }
        fputs("]}\n", f);
        return;
    }
    fprintf(f, "\nconfusion matrix (rows: true class, columns: predicted class)\n     ");
    for (int c = 0; c < C; c++)
        fprintf(f, " %6d", c);
    fputc('\n', f);
    for (int r = 0; r < C; r++) {
        fprintf(f, "%-5d", r);
        for (int c = 0; c < C; c++)
            fprintf(f, " %6zu", mt->confusion[(size_t)r * C + c]);
        fputc('\n', f);
    }
}

int nn_eval(const char *ckpt_path, const char *images, const char *labels,
            const nn_run_opts *o, nn_error *err)
{
    nn_ckpt c = {0};
    nn_dataset d = {0};
    nn_model *m = NULL;
    nn_metrics mt = {0};
    int rc = -1;
    if (nn_ckpt_load(ckpt_path, &c, err) < 0)
        goto out;
    if (nn_idx_read_pair(&d, images, labels, err) < 0)
        goto out;
    if (d.features != (size_t)c.n_inputs) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: samples have %zu features, the checkpoint's model takes %d", images,
                     d.features, c.n_inputs);
        goto out;
    }
    if (nn_check_labels(&d, c.units[c.n_layers - 1], labels, err) < 0)
        goto out;
    m = nn_model_from_ckpt(&c, MEASURE_BATCH, err);
    if (!m)
        goto out;
    if (nn_measure(m, &d, NULL, d.n, c.shift, c.mult, true, &mt, err) < 0)
        goto out;
    print_eval(o->out, &mt, o->json);
    rc = 0;
out:
    free(mt.confusion);
    nn_model_free(m);
    nn_dataset_free(&d);
    nn_ckpt_free(&c);
    return rc;
}

/* --- --inspect ---------------------------------------------------------- */

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

int nn_inspect(const char *path, const nn_run_opts *o, nn_error *err)
{
    nn_ckpt c = {0};
    if (nn_ckpt_load(path, &c, err) < 0)
        return -1;
    FILE *f = o->out;
    double metrics[4] = {c.train_loss, c.train_accuracy, c.val_loss, c.val_accuracy};
    const char *metric_names[4] = {"train_loss", "train_accuracy", "val_loss", "val_accuracy"};
    if (o->json) {
        fputs("{\"version\":", f);
        json_string(f, c.version);
        fprintf(f, ",\"format\":%d,\"inputs\":%d,\"layers\":[", NN_CKPT_VERSION, c.n_inputs);
        for (int l = 0; l < c.n_layers; l++)
            fprintf(f, "%s{\"units\":%d,\"activation\":\"%s\"}", l ? "," : "", c.units[l],
                    nn_act_name(c.act[l]));
        fprintf(f, "],\"parameters\":%zu,\"loss\":\"%s\",\"optimizer\":\"%s\",\"classes\":%d,"
                   "\"scale\":\"%s\",\"epoch\":%lld,\"step\":%lld,\"seed\":%llu",
                c.n_params, nn_loss_name(c.loss), nn_opt_name(c.optimizer), c.n_classes,
                nn_scale_name(c.scale), (long long)c.epoch, (long long)c.step,
                (unsigned long long)c.seed);
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
        fprintf(f, "loss         %s\noptimizer    %s\nclasses      %d\nscale        %s\n",
                nn_loss_name(c.loss), nn_opt_name(c.optimizer), c.n_classes,
                nn_scale_name(c.scale));
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
