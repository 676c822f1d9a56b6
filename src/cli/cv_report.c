/* cv_report.c - --cv K: the folds' metrics, one line (or JSON object) per
 * fold, then their mean and population standard deviation (cli.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/csvout.h"
#include "train/train.h"

#define CV_METRICS 4 /* loss, then accuracy or mse, mae, r2 */

typedef struct {
    const nn_run_opts *o;
    int folds, done;
    bool regression;
    double v[NN_CV_MAX_FOLDS][CV_METRICS];
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

static void on_fold(void *ctx, const nn_fold_report *r)
{
    cv_state *s = ctx;
    FILE *f = s->o->out;
    bool json = s->o->json;
    double *v = s->v[s->done++];
    s->regression = r->regression;
    v[0] = r->r.loss;
    if (r->regression) {
        v[1] = r->r.mse;
        v[2] = r->r.mae;
        v[3] = r->r.r2;
    } else {
        v[1] = r->r.accuracy;
    }
    if (json)
        fprintf(f, "{\"fold\":%d,\"samples\":%zu", r->fold, r->r.samples);
    else
        fprintf(f, "fold %d/%d  samples %zu", r->fold, r->folds, r->r.samples);
    for (int i = 0; i < n_metrics(r->regression); i++) {
        fprintf(f, json ? ",\"%s\":" : "  %s ", metric_name(r->regression, i));
        put_num(f, json, v[i]);
    }
    fputs(json ? "}\n" : "\n", f);
    fflush(f);
}

static void on_note(void *ctx, const char *note)
{
    cv_state *s = ctx;
    if (!s->o->quiet)
        fprintf(s->o->diag, "nntrain: %s\n", note);
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

int nn_cli_cv(const nn_config *cfg, int folds, const nn_run_opts *o, nn_error *err)
{
    static cv_state s; /* large: the folds' metrics */
    memset(&s, 0, sizeof s);
    s.o = o;
    s.folds = folds;
    nn_train_opts to = {.ctx = &s, .on_note = on_note, .on_fold = on_fold};
    if (nn_cross_validate(cfg, folds, &to, err) < 0)
        return -1;
    summarise(&s);
    return 0;
}
