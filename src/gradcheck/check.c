/* check.c - --gradcheck's core (check.h). */
#include "gradcheck/check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/batch.h"
#include "data/source.h"
#include "eval/measure.h"
#include "nn/loss.h"
#include "nn/model.h"

/* The largest |g - ref| / max(|ref|, 1e-3 max |ref|) over n values; NaN
 * counts as infinite. */
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

/* The batch checked: the first B samples of the training data with their
 * targets, scaled as training scales them (statistics of every row). */
typedef struct {
    int B, K;
    size_t F;
    float *X, *T;               /* (B, F), (B, K) */
} batch;

static int load_batch(const nn_config *cfg, batch *b, nn_error *err)
{
    nn_dataset d = {0};
    float *shift = NULL, *mult = NULL;
    uint32_t *all = NULL;
    int rc = -1;
    b->K = cfg->layers[cfg->n_layers - 1].units;
    nn_csv_opts lo = {NULL, 0, cfg->regression ? 0 : b->K, false, NULL};
    if (nn_source_load_opts(&d, NULL, &cfg->train, &lo, err) < 0)
        return -1;
    b->B = d.n < NN_GRADCHECK_SAMPLES ? (int)d.n : NN_GRADCHECK_SAMPLES;
    b->F = d.features;
    if (cfg->train.format == NN_FORMAT_CSV && cfg->train.csv.missing == NN_MISSING_MEAN) {
        float *means = malloc(sizeof(float) * (d.features ? d.features : 1));
        if (!means) {
            nn_dataset_free(&d);
            nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
            return -1;
        }
        nn_dataset_column_means(&d, NULL, d.n, means);
        nn_dataset_fill_missing(&d, means);
        free(means);
    }
    if (!cfg->regression &&
        nn_check_labels(&d, b->K, nn_source_labels_name(&cfg->train), err) < 0)
        goto out;
    nn_scale scale = cfg->scale;
    scale = nn_scale_resolve(scale, d.type);
    shift = malloc(sizeof(float) * b->F);
    mult = malloc(sizeof(float) * b->F);
    all = malloc(sizeof(uint32_t) * (d.n ? d.n : 1));
    b->X = malloc(sizeof(float) * (size_t)b->B * b->F + 1);
    b->T = malloc(sizeof(float) * (size_t)b->B * (size_t)b->K + 1);
    if (!shift || !mult || !all || !b->X || !b->T) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory for the gradient check");
        goto out;
    }
    for (size_t i = 0; i < d.n; i++)
        all[i] = (uint32_t)i;
    if (nn_scaler_fit(shift, mult, scale, &d, all, d.n, nn_source_name(&cfg->train), err) < 0)
        goto out;
    nn_batch_gather(b->X, &d, all, (size_t)b->B, shift, mult);
    nn_batch_targets(b->T, &d, all, (size_t)b->B, b->K);
    if (!cfg->regression) /* the loss's targets, as training takes them */
        nn_targets_smooth(b->T, (size_t)b->B, b->K, cfg->label_smoothing);
    rc = 0;
out:
    free(shift);
    free(mult);
    free(all);
    nn_dataset_free(&d);
    return rc;
}

/* The float engine's gradient on the batch, against the reference's. */
static double engine_against(nn_model *m, const nn_config *cfg, const batch *b,
                             const double *gp, const double *gx, float *G, float *dX)
{
    nn_act out_act = nn_arch_output_act(&m->arch);
    const float *yhat = nn_model_forward_train(m, b->X, b->B, NULL); /* no dropout */
    nn_loss_backward(cfg->loss, out_act, G, yhat, m->logits, b->T, b->B, b->K,
                     cfg->huber_delta);
    nn_model_zero_grad(m);
    nn_model_backward(m, b->X, G, b->B, dX, nn_loss_fused(cfg->loss, out_act));
    return fmax(engine_error(m->grads, gp, m->n_params),
                engine_error(dX, gx, (size_t)b->B * b->F));
}

/* Batch normalisation of a single row has no statistics to check. */
static int check_batch_norm(const nn_arch *a, int B, const char *name, nn_error *err)
{
    for (int l = 0; l < a->n_layers; l++)
        if (a->layers[l].kind == NN_LAYER_BATCH_NORM && B < 2) {
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "%s: one sample, but batch normalization (layer %d) needs two or more "
                         "to check",
                         name, a->layers[l].origin + 1);
            return -1;
        }
    return 0;
}

int nn_gradcheck_config(const nn_config *cfg, nn_gradcheck_report *out, nn_error *err)
{
    memset(out, 0, sizeof *out);
    batch b = {0};
    nn_model *m = NULL;
    double *params = NULL, *X = NULL, *T = NULL, *gp = NULL, *gx = NULL;
    float *G = NULL, *dX = NULL;
    int rc = -1;
    if (load_batch(cfg, &b, err) < 0 ||
        nn_arch_from_layers(&out->arch, (int)b.F, cfg->layers, cfg->n_layers, err) < 0 ||
        check_batch_norm(&out->arch, b.B, nn_source_name(&cfg->train), err) < 0)
        goto out;
    nn_gradcheck_net net = {&out->arch, cfg->loss, cfg->huber_delta};
    if (nn_gradcheck_net_check(&net, err) < 0 || !(m = nn_model_create(&out->arch, b.B, err)))
        goto out;
    nn_rng init;
    nn_rng_seed(&init, cfg->seed, NN_STREAM_INIT);
    nn_model_init(m, &init);

    size_t P = m->n_params, NX = (size_t)b.B * b.F, NT = (size_t)b.B * (size_t)b.K;
    params = malloc(sizeof(double) * P);
    gp = malloc(sizeof(double) * P);
    X = malloc(sizeof(double) * NX);
    gx = malloc(sizeof(double) * NX);
    T = malloc(sizeof(double) * NT);
    G = malloc(sizeof(float) * NT);
    dX = malloc(sizeof(float) * NX);
    if (!params || !gp || !X || !gx || !T || !G || !dX) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory for the gradient check");
        goto out;
    }
    for (size_t i = 0; i < P; i++)
        params[i] = m->params[i];
    for (size_t i = 0; i < NX; i++)
        X[i] = b.X[i];
    for (size_t i = 0; i < NT; i++)
        T[i] = b.T[i];
    if (nn_gradcheck(&net, params, X, T, b.B, NN_GRADCHECK_STEP, &out->r, err) < 0 ||
        nn_gradcheck_forward_backward(&net, params, X, T, b.B, gp, gx, NULL, err) < 0)
        goto out;
    out->samples = b.B;
    out->engine_error = engine_against(m, cfg, &b, gp, gx, G, dX);
    out->pass = out->r.worst <= NN_GRADCHECK_TOL && out->engine_error <= NN_GRADCHECK_ENGINE_TOL;
    rc = 0;
out:
    free(params);
    free(gp);
    free(X);
    free(gx);
    free(T);
    free(G);
    free(dX);
    free(b.X);
    free(b.T);
    nn_model_free(m);
    return rc;
}

int nn_gradcheck_worst_layer(const nn_gradcheck_report *r)
{
    return r->r.worst_group < 0 ? 0 : r->arch.layers[r->r.worst_layer].origin;
}

void nn_gradcheck_failure(const nn_config *cfg, const nn_gradcheck_report *r, nn_error *err)
{
    nn_error_set(err, NN_EXIT_RUNTIME,
                 "gradient check failed: %s (largest relative error %.2e at layer %d %s %zu, "
                 "tolerance %g; float engine %.2e, tolerance %g)",
                 nn_source_name(&cfg->train), r->r.worst, nn_gradcheck_worst_layer(r) + 1,
                 nn_gradcheck_group_name(&r->arch, r->r.worst_layer, r->r.worst_group),
                 r->r.worst_index, NN_GRADCHECK_TOL, r->engine_error, NN_GRADCHECK_ENGINE_TOL);
}
