/* train_report.c - training's output (train_report.h). */
#include "cli/train_report.h"

#include <math.h>
#include <signal.h>

#include "cli/csvout.h"
#include "cli/out.h"
#include "cli/signals.h"
#include "util/clock.h"
#include "util/profile.h"

/* ,"name":v in JSON, v in the printf format fmt (null when not finite) */
static void json_field(FILE *f, const char *name, const char *fmt, double v)
{
    fprintf(f, ",\"%s\":", name);
    nn_json_number(f, fmt, v);
}

/* One metric as " name value" (text; left out when not a finite number) or
 * ,"name":value (JSON; null when not a finite number). */
static void put_metric(FILE *f, bool json, const char *prefix, const char *name, double v,
                       int digits)
{
    char key[64];
    snprintf(key, sizeof key, "%s_%s", prefix, name);
    if (json)
        json_field(f, key, "%.9g", v);
    else if (isfinite(v))
        fprintf(f, "  %s %.*f", key, digits, v);
}

static void put_metrics(FILE *f, bool json, const char *prefix, const nntrain_metrics *r,
                        bool regression)
{
    put_metric(f, json, prefix, "loss", r->loss, 6);
    if (regression) {
        put_metric(f, json, prefix, "mse", r->mse, 6);
        put_metric(f, json, prefix, "mae", r->mae, 6);
        put_metric(f, json, prefix, "r2", r->r2, 4);
    } else {
        put_metric(f, json, prefix, "accuracy", r->accuracy, 4);
    }
}

static void on_epoch(nn_train_report *r, const nntrain_event *e)
{
    nn_progress_clear(&r->bar);
    if (r->quiet || !nn_out_open()) /* a closed stdout: training goes on */
        return;
    FILE *f = r->out;
    if (r->json)
        fprintf(f, "{\"epoch\":%lld", (long long)e->epoch);
    else
        fprintf(f, "epoch %lld/%lld", (long long)e->epoch, (long long)e->epochs);
    put_metrics(f, r->json, "train", &e->train, e->regression);
    if (e->has_val)
        put_metrics(f, r->json, "val", &e->val, e->regression);
    if (r->json) {
        json_field(f, "seconds", "%.3f", e->seconds);
        json_field(f, "samples_per_second", "%.0f", e->samples_per_second);
        fputs("}\n", f);
    } else
        fprintf(f, "  seconds %.2f  samples_per_second %.0f\n", e->seconds,
                e->samples_per_second);
    nn_out_flush(f);
}

static void on_batch(nn_train_report *r, const nntrain_event *b)
{
    if (r->bar.enabled)
        nn_progress_update(&r->bar, (long)b->epoch, (long)b->epochs, (long)b->batch,
                           (long)b->batches, nn_now() - b->seconds, b->samples);
}

/* One epoch's --profile line (a JSON object with --json). */
static void on_profile(nn_train_report *r, const nntrain_event *p)
{
    nn_progress_clear(&r->bar);
    FILE *f = r->diag;
    double phases[NN_PROF_PHASES] = {0};
    for (int i = 0; i < NNTRAIN_PROFILE_PHASES; i++)
        phases[i] = p->phases[i];
    phases[NN_PROF_COMM] = r->hooks ? r->hooks->profile_comm : 0;
    double seconds = p->seconds, total = seconds > 0 ? seconds : 1e-300;
    double outside = seconds - phases[NN_PROF_KERNELS];
    if (r->json) {
        fprintf(f, "{\"profile_epoch\":%lld", (long long)p->epoch);
        json_field(f, "seconds", "%.6f", seconds);
        for (int i = 0; i < NN_PROF_PHASES; i++) {
            fprintf(f, ",\"%s_seconds\":", nn_prof_phase_name((nn_prof_phase)i));
            nn_json_number(f, "%.6f", phases[i]);
        }
        json_field(f, "outside_kernels_seconds", "%.6f", outside);
        json_field(f, "outside_kernels_share", "%.4f", outside / total);
        fputs("}\n", f);
    } else {
        fprintf(f, "profile epoch %lld: %.3f s", (long long)p->epoch, seconds);
        for (int i = 0; i <= NN_PROF_KERNELS; i++)
            fprintf(f, "%s %s %.3f s (%.1f%%)", i == 0 || i == NN_PROF_KERNELS ? ";" : ",",
                    nn_prof_phase_name((nn_prof_phase)i), phases[i],
                    100.0 * phases[i] / total);
        if (phases[NN_PROF_COMM] > 0) /* only with several processes */
            fprintf(f, "; communication %.3f s (%.1f%%)", phases[NN_PROF_COMM],
                    100.0 * phases[NN_PROF_COMM] / total);
        fprintf(f, "; outside the kernels %.3f s (%.1f%%)\n", outside, 100.0 * outside / total);
    }
    fflush(f);
}

static void on_note(nn_train_report *r, const char *note)
{
    nn_progress_clear(&r->bar);
    if (!r->quiet)
        fprintf(r->diag, "nntrain: %s\n", note);
}

static const char *end_name(const nntrain_event *s)
{
    switch (s->end) {
    case NNTRAIN_END_EARLY_STOPPING:
        return "early_stopping";
    case NNTRAIN_END_STOPPED:
        return s->signal == SIGINT ? "SIGINT" : "SIGTERM";
    case NNTRAIN_END_COMPLETED:
        break;
    }
    return "completed";
}

/* The end of training: text on stderr, or with --json one last line on
 * stdout, {"summary":{...}} (no top-level "epoch": never an epoch line). */
static void on_end(nn_train_report *r, const nntrain_event *s)
{
    nn_progress_clear(&r->bar);
    if (r->quiet)
        return;
    double rate = s->seconds > 0 ? s->samples / s->seconds : 0.0;
    bool best = s->has_val && s->best_epoch > 0;
    if (r->json) {
        if (!nn_out_open())
            return;
        FILE *f = r->out;
        fprintf(f, "{\"summary\":{\"ended\":\"%s\",\"epochs\":%lld,\"final_epoch\":%lld,"
                   "\"epochs_run\":%lld",
                end_name(s), (long long)s->epochs, (long long)s->epoch,
                (long long)s->epochs_run);
        put_metrics(f, true, "train", &s->train, s->regression);
        if (s->has_val)
            put_metrics(f, true, "val", &s->val, s->regression);
        if (best) {
            fprintf(f, ",\"best_epoch\":%lld", (long long)s->best_epoch);
            put_metrics(f, true, "best_val", &s->best_val, s->regression);
        }
        json_field(f, "seconds", "%.6f", s->seconds);
        json_field(f, "samples", "%.0f", s->samples);
        json_field(f, "samples_per_second", "%.0f", rate);
        fputs("}}\n", f);
        nn_out_flush(f);
        return;
    }
    FILE *f = r->diag;
    fprintf(f, "nntrain: summary: %lld epochs (%lld of %lld done) in %.2f s, %.0f samples, "
               "%.0f samples/s",
            (long long)s->epochs_run, (long long)s->epoch, (long long)s->epochs,
            s->seconds, s->samples, rate);
    if (s->end == NNTRAIN_END_EARLY_STOPPING)
        fputs("; ended by early stopping", f);
    else if (s->end == NNTRAIN_END_STOPPED)
        fprintf(f, "; stopped by %s", end_name(s));
    fprintf(f, "\nnntrain: final epoch %lld", (long long)s->epoch);
    put_metrics(f, false, "train", &s->train, s->regression);
    if (s->has_val)
        put_metrics(f, false, "val", &s->val, s->regression);
    if (best) {
        fprintf(f, "\nnntrain: best epoch %lld", (long long)s->best_epoch);
        put_metrics(f, false, "val", &s->best_val, s->regression);
    }
    fputc('\n', f);
    fflush(f);
}

/* The events of nntrain_train, to the lines above. */
static void on_event(void *ctx, const nntrain_event *e)
{
    nn_train_report *r = ctx;
    switch (e->type) {
    case NNTRAIN_EVENT_START:
        /* from here on a stop is honoured: a signal while loading still ends
         * the process at once */
        nn_cli_signals_catch();
        break;
    case NNTRAIN_EVENT_BATCH:
        on_batch(r, e);
        break;
    case NNTRAIN_EVENT_EPOCH:
        on_epoch(r, e);
        break;
    case NNTRAIN_EVENT_NOTE:
        on_note(r, e->note);
        break;
    case NNTRAIN_EVENT_PROFILE:
        on_profile(r, e);
        break;
    case NNTRAIN_EVENT_END:
        on_end(r, e);
        break;
    case NNTRAIN_EVENT_FOLD:
        break;
    }
}

void nn_train_report_init(nn_train_report *r, nntrain_train_options *o, nn_api_train_hooks *h,
                          bool json, bool quiet, bool progress, FILE *out, FILE *diag)
{
    r->json = json;
    r->quiet = quiet;
    r->out = out;
    r->diag = diag;
    r->hooks = h;
    nn_progress_init(&r->bar, diag, progress);
    o->stop = &nn_cli_stop;
    o->user = r;
    o->on_event = on_event;
    h->progress = progress ? diag : NULL;
}

void nn_train_report_done(nn_train_report *r)
{
    nn_progress_clear(&r->bar);
    nn_cli_signals_restore();
}
