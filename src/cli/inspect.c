/* inspect.c - --inspect FILE: the checkpoint's format and nntrain version,
 * the architecture (which layers are batch-normalised), the parameter
 * count, loss, optimizer, the precision of the dense products, classes, data format, scaling, epoch, step,
 * seed, the last epoch's metrics and the full effective config; as text or
 * one JSON object (cli.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "checkpoint/checkpoint.h"
#include "cli/cli.h"
#include "cli/csvout.h"
#include "data/format.h"

static const char *const metric_names[4] = {"train_loss", "train_accuracy", "val_loss",
                                            "val_accuracy"};

/* "[{"units":8,"activation":"sigmoid"}, ...]": one object per declared
 * layer, with its batch normalisation when it has one. */
static void layers_json(FILE *f, const nn_arch *a)
{
    fputc('[', f);
    for (int d = 0; d < nn_arch_declared(a); d++) {
        const nn_layer *y = nn_arch_declared_last(a, d), *bn = nn_arch_batch_norm_of(a, d);
        fprintf(f, "%s{\"units\":%d,\"activation\":\"%s\"", d ? "," : "", y->out,
                nn_act_name(y->act));
        if (bn) {
            fputs(",\"batch_norm\":true,\"batch_norm_momentum\":", f);
            nn_json_number(f, "%.9g", bn->momentum);
            fputs(",\"batch_norm_eps\":", f);
            nn_json_number(f, "%.9g", bn->eps);
        }
        fputc('}', f);
    }
    fputc(']', f);
}

static void inspect_json(FILE *f, const nn_ckpt *c)
{
    const double metrics[4] = {c->train_loss, c->train_accuracy, c->val_loss, c->val_accuracy};
    fputs("{\"version\":", f);
    nn_json_string(f, c->version);
    fprintf(f, ",\"format\":%d,\"inputs\":%d,\"layers\":", c->format, c->arch.n_inputs);
    layers_json(f, &c->arch);
    fprintf(f, ",\"parameters\":%zu,\"loss\":\"%s\",\"optimizer\":\"%s\",\"precision\":\"%s\","
               "\"targets\":%d,\"data\":\"%s\",\"classes\":%d,"
               "\"scale\":\"%s\",\"epoch\":%lld,\"step\":%lld,\"seed\":%llu",
            c->n_params, nn_loss_name(c->loss), nn_opt_name(c->optimizer),
            nn_precision_name(c->precision), c->layout.n_targets,
            nn_format_get(c->layout.format)->name, c->n_classes, nn_scale_name(c->scale),
            (long long)c->epoch, (long long)c->step, (unsigned long long)c->seed);
    if (c->ema)
        fprintf(f, ",\"ema\":%.17g", c->ema_decay);
    if (c->label_smoothing > 0) { /* the shortest text that reads back the same */
        char num[32];
        snprintf(num, sizeof num, "%.15g", c->label_smoothing);
        if (strtod(num, NULL) != c->label_smoothing)
            snprintf(num, sizeof num, "%.17g", c->label_smoothing);
        fprintf(f, ",\"label_smoothing\":%s", num);
    }
    if (c->stream_window)
        fprintf(f, ",\"stream\":{\"window_rows\":%llu,\"block_rows\":%llu}",
                (unsigned long long)c->stream_window, (unsigned long long)c->stream_block);
    if (c->class_names) {
        fputs(",\"class_names\":[", f);
        for (int i = 0; i < c->n_classes; i++) {
            if (i)
                fputc(',', f);
            nn_json_string(f, c->class_names[i]);
        }
        fputc(']', f);
    }
    if (c->n_target_scale) { /* the targets' mean and std, in their units */
        fputs(",\"target_scale\":{\"mean\":[", f);
        for (int k = 0; k < c->n_target_scale; k++) {
            fputs(k ? "," : "", f);
            nn_json_number(f, "%.17g", c->target_mean[k]);
        }
        fputs("],\"std\":[", f);
        for (int k = 0; k < c->n_target_scale; k++) {
            fputs(k ? "," : "", f);
            nn_json_number(f, "%.17g", c->target_std[k]);
        }
        fputs("]}", f);
    }
    for (int i = 0; i < 4; i++) /* NaN: not measured (no validation data), left out */
        if (!isnan(metrics[i])) {
            fprintf(f, ",\"%s\":", metric_names[i]);
            nn_json_number(f, "%.9g", metrics[i]);
        }
    fputs(",\"config\":", f);
    fputs(c->config_json && *c->config_json ? c->config_json : "null", f);
    fputs("}\n", f);
}

static void inspect_text(FILE *f, const char *path, const nn_ckpt *c)
{
    const double metrics[4] = {c->train_loss, c->train_accuracy, c->val_loss, c->val_accuracy};
    int n_targets = c->layout.n_targets;
    fprintf(f, "checkpoint   %s (format %d, written by nntrain %s)\n", path, c->format,
            c->version);
    fprintf(f, "model        %d inputs", c->arch.n_inputs);
    for (int d = 0; d < nn_arch_declared(&c->arch); d++) {
        const nn_layer *y = nn_arch_declared_last(&c->arch, d);
        fprintf(f, " -> %d %s%s", y->out, nn_act_name(y->act),
                nn_arch_batch_norm_of(&c->arch, d) ? " (batch norm)" : "");
    }
    fprintf(f, "\nparameters   %zu\n", c->n_params);
    fprintf(f, "loss         %s", nn_loss_name(c->loss));
    if (c->label_smoothing > 0)
        fprintf(f, " (label smoothing %g)", c->label_smoothing);
    fprintf(f, "\noptimizer    %s\nprecision    %s\n", nn_opt_name(c->optimizer),
            nn_precision_name(c->precision));
    if (c->ema)
        fprintf(f, "weights      moving average, decay %g (training.ema)\n", c->ema_decay);
    if (n_targets)
        fprintf(f, "targets      %d (regression)\n", n_targets);
    else
        fprintf(f, "classes      %d", c->n_classes);
    for (int i = 0; !n_targets && c->class_names && i < c->n_classes; i++)
        fprintf(f, "%s%s", i ? ", " : " (", c->class_names[i]);
    if (!n_targets)
        fputs(c->class_names && c->n_classes ? ")\n" : "\n", f);
    fprintf(f, "data         %s\nscale        %s\n", nn_format_get(c->layout.format)->name,
            nn_scale_name(c->scale));
    for (int k = 0; k < c->n_target_scale; k++)
        fprintf(f, "target %-5d mean %.9g, std %.9g (trained on (t - mean) / std; the losses "
                   "below are in those units)\n", k + 1, c->target_mean[k], c->target_std[k]);
    if (c->stream_window)
        fprintf(f, "streamed     windows of %llu rows, blocks of %llu\n",
                (unsigned long long)c->stream_window, (unsigned long long)c->stream_block);
    fprintf(f, "epoch        %lld\nstep         %lld\nseed         %llu\n", (long long)c->epoch,
            (long long)c->step, (unsigned long long)c->seed);
    for (int i = 0; i < 4; i++)
        if (isfinite(metrics[i]))
            fprintf(f, "%-12s %.6f\n", metric_names[i], metrics[i]);
    fprintf(f, "config       %s\n", c->config_json ? c->config_json : "");
}

int nn_cli_inspect(const char *path, const nn_run_opts *o, nn_error *err)
{
    nn_ckpt c = {0};
    if (nn_ckpt_load(path, &c, err) < 0)
        return -1;
    if (o->json)
        inspect_json(o->out, &c);
    else
        inspect_text(o->out, path, &c);
    nn_ckpt_free(&c);
    return 0;
}
