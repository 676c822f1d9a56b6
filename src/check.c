/* check.c - the --gradcheck command.
 *
 * Builds the config's network with the weights training would start from
 * (same seed, same initialisation), takes the first few samples of the
 * training data (scaled as training scales them) with their targets, and
 * compares in double precision every analytic gradient - each weight, each
 * bias, and the gradient with respect to the inputs - with central finite
 * differences (gradcheck.h states the step and the error measure).  It then
 * runs the float engine (the kernels nntrain trains with) on the same batch
 * and compares its gradient with the double-precision analytic one, so the
 * derivation that was checked is the one the engine computes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/batch.h"
#include "data/source.h"
#include "gradcheck.h"
#include "nn/layer.h"
#include "nn/loss.h"
#include "run.h"

enum { CHECK_SAMPLES = 4 };

/* The float engine's gradient against the double reference: the largest
 * |a_float - a_double| / max(|a_double|, 1e-3 * max |a_double|). */
#define ENGINE_TOL 1e-3

static double engine_error(const float *g, const double *ref, size_t n)
{
    double scale = 0, worst = 0;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(ref[i]));
    double floor = 1e-3 * scale + 1e-30;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)g[i] - ref[i]) / fmax(fabs(ref[i]), floor);
        if (!(e <= worst)) /* also catches NaN */
            worst = isnan(e) ? INFINITY : e;
    }
    return worst;
}

/* The declared layer of the worst value (inputs belong to the first). */
static int worst_origin(const nn_arch *a, const nn_gradcheck_result *r)
{
    return r->worst_group < 0 ? 0 : a->layers[r->worst_layer].origin;
}

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
            fprintf(f, "%.3g", r->max_rel[l][g]);
        else
            fputs("null", f);
    }
    if (l == 0)
        fprintf(f, ",\"inputs\":%.3g", r->max_rel_x);
    fprintf(f, ",\"kind\":\"%s\"}\n", ops->name);
}

int nn_gradcheck_run(const nn_config *cfg, const nn_run_opts *o, nn_error *err)
{
    nn_dataset d = {0};
    nn_model *m = NULL;
    double *params = NULL, *X = NULL, *T = NULL, *gp = NULL, *gx = NULL;
    float *Xf = NULL, *Tf = NULL, *G = NULL, *dXf = NULL, *shift = NULL, *mult = NULL;
    int rc = -1;

    if (nn_source_load(&d, NULL, &cfg->train, NULL, 0, false, err) < 0)
        goto out;
    int B = d.n < CHECK_SAMPLES ? (int)d.n : CHECK_SAMPLES;
    size_t F = d.features;
    int K = cfg->layers[cfg->n_layers - 1].units;
    if (!cfg->regression && nn_check_labels(&d, K, nn_source_labels_name(&cfg->train), err) < 0)
        goto out;

    nn_arch arch;
    if (nn_arch_from_layers(&arch, (int)F, cfg->layers, cfg->n_layers, err) < 0)
        goto out;
    nn_gradcheck_net net = {&arch, cfg->loss, cfg->huber_delta};
    if (nn_gradcheck_net_check(&net, err) < 0)
        goto out;
    m = nn_model_create(&arch, B, err);
    if (!m)
        goto out;
    nn_rng init;
    nn_rng_seed(&init, cfg->seed, NN_STREAM_INIT);
    nn_model_init(m, &init);

    size_t P = m->n_params, NX = (size_t)B * F, NT = (size_t)B * (size_t)K;
    params = malloc(sizeof(double) * P);
    gp = malloc(sizeof(double) * P);
    X = malloc(sizeof(double) * NX);
    gx = malloc(sizeof(double) * NX);
    T = malloc(sizeof(double) * NT);
    Xf = malloc(sizeof(float) * NX);
    dXf = malloc(sizeof(float) * NX);
    Tf = malloc(sizeof(float) * NT);
    G = malloc(sizeof(float) * NT);
    shift = malloc(sizeof(float) * F);
    mult = malloc(sizeof(float) * F);
    uint32_t rows[CHECK_SAMPLES];
    if (!params || !gp || !X || !gx || !T || !Xf || !dXf || !Tf || !G || !shift || !mult) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory for the gradient check");
        goto out;
    }
    for (int i = 0; i < B; i++)
        rows[i] = (uint32_t)i;
    nn_scale scale = cfg->scale;
    if (scale == NN_SCALE_AUTO)
        scale = nn_dtype_max(d.type) > 0 ? NN_SCALE_UNIT : NN_SCALE_NONE;
    uint32_t *all = malloc(sizeof(uint32_t) * d.n);
    if (!all) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory for the gradient check");
        goto out;
    }
    for (size_t i = 0; i < d.n; i++)
        all[i] = (uint32_t)i;
    int fit = nn_scaler_fit(shift, mult, scale, &d, all, d.n, nn_source_name(&cfg->train), err);
    free(all);
    if (fit < 0)
        goto out;
    nn_batch_gather(Xf, &d, rows, (size_t)B, shift, mult);
    nn_batch_targets(Tf, &d, rows, (size_t)B, K);
    for (size_t i = 0; i < P; i++)
        params[i] = m->params[i];
    for (size_t i = 0; i < NX; i++)
        X[i] = Xf[i];
    for (size_t i = 0; i < NT; i++)
        T[i] = Tf[i];

    nn_gradcheck_result r;
    if (nn_gradcheck(&net, params, X, T, B, NN_GRADCHECK_STEP, &r, err) < 0)
        goto out;
    double cost;
    if (nn_gradcheck_forward_backward(&net, params, X, T, B, gp, gx, &cost, err) < 0)
        goto out;

    /* the float engine on the same batch, in training mode without dropout */
    nn_act out_act = nn_arch_output_act(&arch);
    const float *yhat = nn_model_forward_train(m, Xf, B, NULL);
    nn_loss_backward(cfg->loss, out_act, G, yhat, m->logits, Tf, B, K, cfg->huber_delta);
    nn_model_zero_grad(m);
    nn_model_backward(m, Xf, G, B, dXf, nn_loss_fused(cfg->loss, out_act));
    double eng = fmax(engine_error(m->grads, gp, P), engine_error(dXf, gx, NX));

    bool pass = r.worst <= NN_GRADCHECK_TOL && eng <= ENGINE_TOL;
    FILE *f = o->out;
    if (o->json) {
        for (int l = 0; l < arch.n_layers; l++)
            print_layer_json(f, &arch, l, &r);
        fprintf(f, "{\"samples\":%d,\"step\":%g,\"tolerance\":%g,\"checked\":%zu,\"worst\":%.3g,"
                   "\"engine_error\":%.3g,\"engine_tolerance\":%g,\"pass\":%s}\n",
                B, NN_GRADCHECK_STEP, NN_GRADCHECK_TOL, r.n_checked, r.worst, eng, ENGINE_TOL,
                pass ? "true" : "false");
    } else {
        fprintf(f, "gradcheck: %d samples of %s, loss %s, step h = %g, error |a - n| / max(|a|, "
                   "|n|, floor)\n",
                B, nn_source_name(&cfg->train), nn_loss_name(cfg->loss), NN_GRADCHECK_STEP);
        fprintf(f, "layer  units  activation  weights    biases     inputs\n");
        for (int l = 0; l < arch.n_layers; l++)
            print_layer_text(f, &arch, l, &r);
        fprintf(f, "checked %zu values; worst %.2e (layer %d %s %zu: analytic %.10g, numeric "
                   "%.10g)\n",
                r.n_checked, r.worst, worst_origin(&arch, &r) + 1,
                nn_gradcheck_group_name(&arch, r.worst_layer, r.worst_group), r.worst_index,
                r.worst_analytic, r.worst_numeric);
        fprintf(f, "float engine against the double-precision gradient: %.2e (tolerance %g)\n",
                eng, ENGINE_TOL);
        fprintf(f, "%s (tolerance %g)\n", pass ? "pass" : "FAIL", NN_GRADCHECK_TOL);
    }
    if (!pass) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "gradient check failed: %s (largest relative error %.2e at layer %d %s %zu, "
                     "tolerance %g; float engine %.2e, tolerance %g)",
                     nn_source_name(&cfg->train), r.worst, worst_origin(&arch, &r) + 1,
                     nn_gradcheck_group_name(&arch, r.worst_layer, r.worst_group), r.worst_index,
                     NN_GRADCHECK_TOL, eng,
                     ENGINE_TOL);
        goto out;
    }
    rc = 0;
out:
    free(params);
    free(gp);
    free(X);
    free(gx);
    free(T);
    free(Xf);
    free(dXf);
    free(Tf);
    free(G);
    free(shift);
    free(mult);
    nn_model_free(m);
    nn_dataset_free(&d);
    return rc;
}
