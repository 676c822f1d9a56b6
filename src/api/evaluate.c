/* evaluate.c - nntrain_evaluate and nntrain_evaluation_free
 * (include/nntrain.h), and the command line's nn_api_evaluate (api.h): a
 * checkpoint measured on the data --eval would use. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "checkpoint/checkpoint.h"
#include "config/config.h"
#include "data/source.h"
#include "kernels/kernels.h"

static nntrain_status fail(nntrain_error *err, nn_api_eval_hooks *h, const nn_error *e,
                           nntrain_status s)
{
    if (h && h->error)
        *h->error = *e;
    return nn_api_fail(err, e, s);
}

int nn_api_checkpoint_kernels(const char *path, int precision, nn_error *err)
{
    nn_precision prec = (nn_precision)precision;
    if (precision < 0) {
        nn_ckpt c = {0};
        if (nn_ckpt_load(path, &c, err) < 0)
            return -1;
        prec = c.precision;
        nn_ckpt_free(&c);
    }
    if (nn_kernels_select(prec, nn_api_family(prec), err) == 0)
        return 0;
    if (precision < 0 && strstr(err->msg, ": not a")) { /* a family of the other precision */
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof err->msg - n,
                 "; %s was trained in %s, --precision %s runs it in %s", path,
                 nn_precision_name(prec), prec == NN_PREC_FP32 ? "bf16" : "fp32",
                 prec == NN_PREC_FP32 ? "bf16" : "fp32");
    }
    return -1;
}

/* nn_api_checkpoint_kernels, the fall-back's note to the hooks. */
static int use_kernels(int precision, const char *path, nn_api_eval_hooks *h, nn_error *err)
{
    if (nn_api_checkpoint_kernels(path, precision, err) < 0)
        return -1;
    const char *note = nn_kernels_note();
    if (note && h && h->on_note) {
        char line[1100];
        snprintf(line, sizeof line, "note: %s", note);
        h->on_note(h->ctx, line);
    }
    return 0;
}

/* The internal report r (taken) as *out. */
static int publish(nn_eval_report *r, nntrain_evaluation *out, nn_error *e)
{
    out->task = r->regression ? NNTRAIN_TASK_REGRESSION : NNTRAIN_TASK_CLASSIFICATION;
    out->metrics = (nntrain_metrics){.samples = (double)r->r.samples,
                                     .loss = r->r.loss,
                                     .accuracy = r->regression ? NAN : r->r.accuracy,
                                     .mse = r->regression ? r->r.mse : NAN,
                                     .mae = r->regression ? r->r.mae : NAN,
                                     .r2 = r->regression ? r->r.r2 : NAN};
    if (!r->regression && r->acc.confusion) {
        size_t C = (size_t)r->acc.classes;
        out->confusion = malloc(C * C * sizeof *out->confusion);
        if (!out->confusion) {
            nn_error_set(e, NN_EXIT_RUNTIME, "out of memory");
            nn_eval_report_free(r);
            return -1;
        }
        for (size_t i = 0; i < C * C; i++)
            out->confusion[i] = r->acc.confusion[i];
        out->n_classes = r->acc.classes;
        if (r->class_names && r->n_classes == r->acc.classes) {
            out->class_names = r->class_names; /* taken over */
            r->class_names = NULL;
        }
    }
    nn_eval_report_free(r);
    return 0;
}

/* Measures ckpt on src (or the data spec), hands the report to the hooks,
 * and publishes it. */
static int measure(const char *ckpt, const nn_source *src, const char *spec, const char *what,
                   bool holdout, int precision, nntrain_evaluation *out, nn_api_eval_hooks *h,
                   nn_error *e)
{
    nn_eval_report r;
    if (use_kernels(precision, ckpt, h, e) < 0)
        return -1;
    if ((holdout ? nn_evaluate_holdout(ckpt, src, &r, e) : nn_evaluate(ckpt, src, spec, &r, e)) < 0)
        return -1;
    if (h && h->on_report && h->on_report(h->ctx, &r, ckpt, what, e) < 0) {
        nn_eval_report_free(&r);
        return -1;
    }
    return publish(&r, out, e);
}

nntrain_status nn_api_evaluate(const char *config_path, const nntrain_eval_options *o,
                               nntrain_evaluation *out, nn_api_eval_hooks *h,
                               nntrain_error *err)
{
    static const nntrain_eval_options defaults = {.precision = -1};
    nn_error e = {0};
    if (!out) {
        nn_error_set(&e, NN_EXIT_USAGE, "nntrain_evaluate: out is NULL");
        return fail(err, h, &e, NNTRAIN_ERR_ARGUMENT);
    }
    memset(out, 0, sizeof *out);
    if (!o)
        o = &defaults;
    const char *bad = NULL;
    if (o->n_sets < 0 || (o->n_sets > 0 && !o->sets))
        bad = "sets is NULL or n_sets is negative";
    for (int i = 0; !bad && i < o->n_sets; i++)
        if (!o->sets[i])
            bad = "a NULL string in sets";
    if (!bad && (o->precision < -1 || o->precision > NNTRAIN_PRECISION_BF16))
        bad = "precision must be -1, NNTRAIN_PRECISION_FP32 or NNTRAIN_PRECISION_BF16";
    if (!bad && !config_path && (!o->checkpoint || !o->data))
        bad = "config_path is NULL and checkpoint and data are not both given";
    if (!bad && !config_path && o->n_sets)
        bad = "sets change a config: config_path is NULL";
    if (!bad && o->data && nn_source_check_spec(o->data, &e) < 0)
        return fail(err, h, &e, NNTRAIN_ERR_ARGUMENT);
    if (bad) {
        nn_error_set(&e, NN_EXIT_USAGE, "nntrain_evaluate: %s", bad);
        return fail(err, h, &e, NNTRAIN_ERR_ARGUMENT);
    }
    if (!config_path) {
        if (measure(o->checkpoint, NULL, o->data, o->data, false, o->precision, out, h, &e) < 0)
            return fail(err, h, &e, NNTRAIN_OK);
        return nn_api_ok(err);
    }

    nn_config cfg;
    if (nn_config_load_with_sets(&cfg, config_path, (char *const *)o->sets, o->n_sets, &e) < 0)
        return fail(err, h, &e, e.code == NN_EXIT_USAGE ? NNTRAIN_ERR_CONFIG : NNTRAIN_ERR_IO);
    int rc = -1;
    if (o->checkpoint && nn_config_set_checkpoint(&cfg, o->checkpoint, &e) < 0)
        goto out;
    if (!cfg.checkpoint_path) {
        nn_error_set(&e, NN_EXIT_USAGE,
                     "%s: no checkpoint to use: set checkpoint.path or give --checkpoint",
                     config_path);
        goto out;
    }
    if (o->data) {
        nn_source fresh;
        if (nn_source_from_spec(&fresh, o->data, NULL, &cfg.test, true, &e) < 0)
            goto out;
        nn_source_clear(&cfg.test);
        cfg.test = fresh;
        cfg.has_test = true;
    }
    if (!cfg.has_test && cfg.test_fraction > 0) {
        /* the rows training held out (data.test_fraction) */
        char what[512];
        snprintf(what, sizeof what, "%s, the test rows", nn_source_name(&cfg.train));
        rc = measure(cfg.checkpoint_path, &cfg.train, NULL, what, true, o->precision, out, h,
                     &e);
        goto out;
    }
    if (!cfg.has_test) {
        nn_error_set(&e, NN_EXIT_USAGE,
                     "%s: no test data: set data.test or data.test_fraction, or give --data "
                     "SPEC", config_path);
        goto out;
    }
    rc = measure(cfg.checkpoint_path, &cfg.test, NULL, nn_source_name(&cfg.test), false,
                 o->precision, out, h, &e);
out:
    nn_config_free(&cfg);
    if (rc < 0)
        return fail(err, h, &e, NNTRAIN_OK);
    return nn_api_ok(err);
}

nntrain_status nntrain_evaluate(const char *config_path, const nntrain_eval_options *o,
                                nntrain_evaluation *out, nntrain_error *err)
{
    return nn_api_evaluate(config_path, o, out, NULL, err);
}

void nntrain_evaluation_free(nntrain_evaluation *e)
{
    if (!e)
        return;
    for (int i = 0; e->class_names && i < e->n_classes; i++)
        free(e->class_names[i]);
    free(e->class_names);
    free(e->confusion);
    memset(e, 0, sizeof *e);
}
