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

void nn_cli_print_gradcheck(FILE *f, const nn_config *cfg, const nn_gradcheck_report *g,
                            bool json)
{
    const nn_arch *a = &g->arch;
    const nn_gradcheck_result *r = &g->r;
    if (json) {
        for (int l = 0; l < a->n_layers; l++)
            print_layer_json(f, a, l, r);
        fprintf(f, "{\"samples\":%d,\"step\":%g,\"tolerance\":%g,\"checked\":%zu,\"worst\":",
                g->samples, NN_GRADCHECK_STEP, NN_GRADCHECK_TOL, r->n_checked);
        nn_json_number(f, "%.3g", r->worst); /* a NaN or infinite error: null, a failure */
        fputs(",\"engine_error\":", f);
        nn_json_number(f, "%.3g", g->engine_error);
        fprintf(f, ",\"engine_tolerance\":%g,\"pass\":%s}\n", NN_GRADCHECK_ENGINE_TOL,
                g->pass ? "true" : "false");
        return;
    }
    fprintf(f, "gradcheck: %d samples of %s, loss %s, step h = %g, error |a - n| / max(|a|, "
               "|n|, floor)\n",
            g->samples, nn_source_name(&cfg->train), nn_loss_name(cfg->loss), NN_GRADCHECK_STEP);
    fprintf(f, "layer  units  activation  weights    biases     inputs\n");
    for (int l = 0; l < a->n_layers; l++)
        print_layer_text(f, a, l, r);
    fprintf(f, "checked %zu values; worst %.2e (layer %d %s %zu: analytic %.10g, numeric "
               "%.10g)\n",
            r->n_checked, r->worst, nn_gradcheck_worst_layer(g) + 1,
            nn_gradcheck_group_name(a, r->worst_layer, r->worst_group), r->worst_index,
            r->worst_analytic, r->worst_numeric);
    fprintf(f, "float engine against the double-precision gradient: %.2e (tolerance %g)\n",
            g->engine_error, NN_GRADCHECK_ENGINE_TOL);
    fprintf(f, "%s (tolerance %g)\n", g->pass ? "pass" : "FAIL", NN_GRADCHECK_TOL);
}
