/* gradcheck_report.c - what --gradcheck shows: a header line, one row per
 * layer of the architecture with the largest error of each parameter group
 * (and of the inputs on the first row), the worst value with both numbers,
 * the float engine's error and the verdict; or JSON lines (cli.h). */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/csvout.h"
#include "nn/layer.h"

/* "-" for a group the layer does not have (a dense layer without bias). */
static void print_error_or_dash(FILE *f, const char *fmt, double v, bool present)
{
    if (present)
        fprintf(f, fmt, v);
    else
        fprintf(f, "%-9s", "-");
}

/* One row per layer of the architecture: the declared layer it belongs to,
 * its units and activation (a batch-norm row says "batch_norm"; its two
 * columns are the scale and the shift), the largest error of each
 * parameter group, and the inputs' on the first row. */
static void print_layer_text(FILE *f, const nn_arch *a, int l, const nn_gradcheck_result *r)
{
    const nn_layer *y = &a->layers[l];
    const nn_layer_ops *ops = nn_layer_ops_of(y->kind);
    bool dense = y->kind == NN_LAYER_DENSE;
    fprintf(f, "%-5d  %-5d  %-10s  ", y->origin + 1, y->out,
            dense ? nn_act_name(y->act) : ops->name);
    print_error_or_dash(f, "%-9.2e", r->max_rel[l][0], ops->group_size(y, 0) > 0);
    fputs("  ", f);
    print_error_or_dash(f, "%-9.2e", r->max_rel[l][1], ops->group_size(y, 1) > 0);
    if (l == 0)
        fprintf(f, "  %.2e", r->max_rel_x);
    fputc('\n', f);
}

static void print_layer_json(FILE *f, const nn_arch *a, int l, const nn_gradcheck_result *r)
{
    const nn_layer *y = &a->layers[l];
    const nn_layer_ops *ops = nn_layer_ops_of(y->kind);
    fprintf(f, "{\"layer\":%d,\"units\":%d,\"activation\":\"%s\"", y->origin + 1, y->out,
            nn_act_name(y->act));
    for (int g = 0; g < 2; g++) {
        fprintf(f, ",\"%s\":", ops->group_plural[g]);
        if (ops->group_size(y, g) > 0)
            nn_json_number(f, "%.3g", r->max_rel[l][g]);
        else
            fputs("null", f);
    }
    if (l == 0) {
        fputs(",\"inputs\":", f);
        nn_json_number(f, "%.3g", r->max_rel_x);
    }
    fprintf(f, ",\"kind\":\"%s\"}\n", ops->name);
}

/* The largest of the families' errors of one kind. */
static double max_engine(const nn_gradcheck_report *g)
{
    double e = 0;
    for (int i = 0; i < g->n_families; i++)
        e = e > g->fam[i].engine_error ? e : g->fam[i].engine_error;
    return e;
}

static double max_optim(const nn_gradcheck_report *g)
{
    double e = 0;
    for (int i = 0; i < g->n_families; i++) {
        e = e > g->fam[i].optim_error ? e : g->fam[i].optim_error;
        e = e > g->fam[i].sgd_error ? e : g->fam[i].sgd_error;
    }
    return e;
}

static void print_json(FILE *f, const nn_config *cfg, const nn_gradcheck_report *g,
                       const char *at)
{
    const nn_gradcheck_result *r = &g->r;
    for (int l = 0; l < g->arch.n_layers; l++)
        print_layer_json(f, &g->arch, l, r);
    /* every measured number through nn_json_number: a NaN or infinite
     * error is null (and a failure) */
    fprintf(f, "{\"samples\":%d,\"step\":%g,\"max_step\":", g->samples, NN_GRADCHECK_STEP);
    nn_json_number(f, "%g", r->max_step);
    fprintf(f, ",\"tolerance\":%g,\"checked\":%zu,\"worst\":", NN_GRADCHECK_TOL, r->n_checked);
    nn_json_number(f, "%.3g", r->worst);
    fprintf(f, ",\"worst_at\":\"%s\",\"analytic\":", at);
    nn_json_number(f, "%.10g", r->worst_analytic);
    fputs(",\"numeric\":", f);
    nn_json_number(f, "%.10g", r->worst_numeric);
    fputs(",\"noise\":", f);
    nn_json_number(f, "%.3g", r->worst_noise);
    fprintf(f, ",\"precision\":\"%s\",\"engine_error\":", nn_precision_name(g->precision));
    nn_json_number(f, "%.3g", max_engine(g));
    fprintf(f, ",\"engine_tolerance\":%g,\"optimizer\":\"%s\",\"optimizer_step\":%lld,"
               "\"learning_rate\":",
            g->engine_tol, nn_opt_name(cfg->optimizer), (long long)g->step + 1);
    nn_json_number(f, "%.10g", g->lr);
    fputs(",\"schedule_error\":", f);
    nn_json_number(f, "%.3g", g->lr_error);
    fputs(",\"optimizer_error\":", f);
    nn_json_number(f, "%.3g", max_optim(g));
    fprintf(f, ",\"optimizer_tolerance\":%g,\"kernels\":[", NN_GRADCHECK_OPTIM_TOL);
    for (int i = 0; i < g->n_families; i++) {
        const nn_gradcheck_family *k = &g->fam[i];
        fprintf(f, "%s{\"kernels\":\"%s\",\"engine_error\":", i ? "," : "", k->family);
        nn_json_number(f, "%.3g", k->engine_error);
        fputs(",\"optimizer_error\":", f);
        nn_json_number(f, "%.3g", k->optim_error);
        fputs(",\"sgd_error\":", f);
        nn_json_number(f, "%.3g", k->sgd_error);
        fprintf(f, ",\"fused_differences\":%zu,\"pass\":%s}", k->fused_diffs,
                k->pass ? "true" : "false");
    }
    fprintf(f, "],\"pass\":%s}\n", g->pass ? "true" : "false");
}

void nn_cli_print_gradcheck(FILE *f, const nn_config *cfg, const nn_gradcheck_report *g,
                            bool json)
{
    const nn_arch *a = &g->arch;
    const nn_gradcheck_result *r = &g->r;
    char at[96];
    nn_gradcheck_where w = {r->worst_layer, r->worst_group, r->worst_index, 0};
    nn_gradcheck_where_name(a, &w, at, sizeof at);
    if (json) {
        print_json(f, cfg, g, at);
        return;
    }
    fprintf(f, "gradcheck: %d samples of %s, loss %s, step h = %g (up to %g where the cost's "
               "round-off needs it), error |a - n| / max(|a|, |n|, noise / %g)\n",
            g->samples, nn_source_name(&cfg->train), nn_loss_name(cfg->loss), NN_GRADCHECK_STEP,
            NN_GRADCHECK_STEP_MAX, NN_GRADCHECK_TOL);
    fprintf(f, "layer  units  activation  weights    biases     inputs\n");
    for (int l = 0; l < a->n_layers; l++)
        print_layer_text(f, a, l, r);
    fprintf(f, "checked %zu values; worst %.2e at %s: analytic %.10g, numeric %.10g (noise "
               "%.2g, step %.2g)\n",
            r->n_checked, r->worst, at, r->worst_analytic, r->worst_numeric, r->worst_noise,
            r->worst_step);
    fprintf(f, "float engine (%s) against double precision: gradient tolerance %g; %s step %lld "
               "(rate %.6g) and plain sgd tolerance %g; fused sgd must equal separate\n",
            nn_precision_name(g->precision), g->engine_tol, nn_opt_name(cfg->optimizer),
            (long long)g->step + 1, g->lr, NN_GRADCHECK_OPTIM_TOL);
    fprintf(f, "kernels     gradient   %-9s  plain sgd  fused sgd\n", nn_opt_name(cfg->optimizer));
    for (int i = 0; i < g->n_families; i++) {
        const nn_gradcheck_family *k = &g->fam[i];
        fprintf(f, "%-10s  %-9.2e  %-9.2e  %-9.2e  ", k->family, k->engine_error,
                k->optim_error, k->sgd_error);
        if (k->fused_diffs)
            fprintf(f, "%zu differ\n", k->fused_diffs);
        else
            fprintf(f, "same\n");
    }
    fprintf(f, "schedule against its formula: %.2e (tolerance %g)\n", g->lr_error,
            NN_GRADCHECK_LR_TOL);
    fprintf(f, "%s (tolerance %g)\n", g->pass ? "pass" : "FAIL", NN_GRADCHECK_TOL);
}
