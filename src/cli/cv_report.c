/* cv_report.c - --cv K: the folds' metrics, one line (or JSON object) per
 * fold, then their mean and population standard deviation (cli.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "cli/cli.h"
#include "cli/csvout.h"

#define CV_METRICS 4 /* loss, then accuracy or mse, mae, r2 */

typedef struct {
    const nn_run_opts *o;
    int folds, done;
    bool regression;
    double v[NN_CV_MAX_FOLDS][CV_METRICS];
    size_t samples[NN_CV_MAX_FOLDS];
} cv_state;

static const char *const class_names[] = {"loss", "accuracy"};
static const char *const reg_names[] = {"loss", "mse", "mae", "r2"};

static int n_metrics(bool regression) { return regression ? 4 : 2; }
static const char *metric_name(bool regression, int i)
{
    return regression ? reg_names[i] : class_names[i];
}

/* A number for JSON (null when undefined) or text ("-"). */
static void put_num(FILE *f, bool json, double v)
{
    if (json)
        nn_json_number(f, "%.9g", v);
    else if (!isfinite(v))
        fputs("-", f);
    else
        fprintf(f, "%.6f", v);
}

static void on_fold(cv_state *s, const nntrain_event *r)
{
    FILE *f = s->o->out;
    bool json = s->o->json;
    double *v = s->v[s->done++];
    s->regression = r->regression;
    v[0] = r->fold_metrics.loss;
    if (r->regression) {
        v[1] = r->fold_metrics.mse;
        v[2] = r->fold_metrics.mae;
        v[3] = r->fold_metrics.r2;
    } else {
        v[1] = r->fold_metrics.accuracy;
    }
    size_t samples = (size_t)r->fold_metrics.samples;
    s->samples[s->done - 1] = samples;
    if (json)
        fprintf(f, "{\"fold\":%d,\"samples\":%zu", r->fold, samples);
    else
        fprintf(f, "fold %d/%d  samples %zu", r->fold, r->folds, samples);
    for (int i = 0; i < n_metrics(r->regression); i++) {
        fprintf(f, json ? ",\"%s\":" : "  %s ", metric_name(r->regression, i));
        put_num(f, json, v[i]);
    }
    fputs(json ? "}\n" : "\n", f);
    fflush(f);
}

/* The events of cross-validation: the folds and the notes. */
static void on_event(void *ctx, const nntrain_event *e)
{
    cv_state *s = ctx;
    if (e->type == NNTRAIN_EVENT_FOLD && s->done < NN_CV_MAX_FOLDS)
        on_fold(s, e);
    else if (e->type == NNTRAIN_EVENT_NOTE && !s->o->quiet)
        fprintf(s->o->diag, "nntrain: %s\n", e->note);
}

/* The mean and the population standard deviation over the folds. */
static void summarise(const cv_state *s)
{
    FILE *f = s->o->out;
    bool json = s->o->json;
    int m = n_metrics(s->regression);
    double mean[CV_METRICS], sd[CV_METRICS];
    for (int i = 0; i < m; i++) {
        double sum = 0, ss = 0;
        for (int k = 0; k < s->done; k++)
            sum += s->v[k][i];
        mean[i] = sum / s->done;
        for (int k = 0; k < s->done; k++)
            ss += (s->v[k][i] - mean[i]) * (s->v[k][i] - mean[i]);
        sd[i] = sqrt(ss / s->done);
    }
    if (json) {
        fprintf(f, "{\"cv\":{\"folds\":%d,\"mean\":{", s->done);
        for (int i = 0; i < m; i++) {
            fprintf(f, "%s\"%s\":", i ? "," : "", metric_name(s->regression, i));
            put_num(f, true, mean[i]);
        }
        fputs("},\"std\":{", f);
        for (int i = 0; i < m; i++) {
            fprintf(f, "%s\"%s\":", i ? "," : "", metric_name(s->regression, i));
            put_num(f, true, sd[i]);
        }
        fputs("}}}\n", f);
        return;
    }
    fprintf(f, "cv %d folds", s->done);
    for (int i = 0; i < m; i++) {
        fprintf(f, "  %s ", metric_name(s->regression, i));
        put_num(f, false, mean[i]);
        fputs(" +- ", f);
        put_num(f, false, sd[i]);
    }
    fputc('\n', f);
}

int nn_cli_cv(const char *config_path, nntrain_train_options *to, nn_api_train_hooks *h,
              const nn_run_opts *o, nn_error *err)
{
    static cv_state s; /* large: the folds' metrics */
    memset(&s, 0, sizeof s);
    s.o = o;
    s.folds = to->cv_folds;
    to->user = &s;
    to->on_event = on_event;
    h->error = err;
    if (nn_api_train(config_path, to, h, NULL) != NNTRAIN_OK)
        return -1;
    summarise(&s);
    /* as --eval: a held-out loss that is not a finite number fails the run,
     * after the report (its figures null in JSON, "-" in text) */
    for (int k = 0; k < s.done; k++) {
        double loss = s.v[k][0];
        if (s.samples[k] > 0 && !isfinite(loss)) {
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "%s: --cv: the loss on fold %d's held-out rows is %s: the model's "
                         "outputs are not finite numbers on them (are they on the scale of the "
                         "training data?)",
                         config_path, k + 1, isnan(loss) ? "NaN" : "infinite");
            return -1;
        }
    }
    return 0;
}
