/* check.c - --gradcheck's core (check.h). */
#include "gradcheck/check.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/batch.h"
#include "data/source.h"
#include "eval/measure.h"
#include "gradcheck/optim_ref.h"
#include "nn/layer.h"
#include "nn/loss.h"
#include "nn/model.h"

/* The batch checked: the first B samples of the training data with their
 * targets, scaled as training scales them (statistics of every row). */
typedef struct {
    int B, K;
    size_t F, rows;
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
    b->rows = d.n;
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

/* ---- where a value is ------------------------------------------------------------ */

/* The parameter groups in buffer order: group k is [off[k], off[k] + len[k])
 * of layer layer[k], group group[k]. */
typedef struct {
    int n;
    size_t off[2 * NN_MAX_ARCH_LAYERS], len[2 * NN_MAX_ARCH_LAYERS];
    int layer[2 * NN_MAX_ARCH_LAYERS], group[2 * NN_MAX_ARCH_LAYERS];
} groups;

static void groups_of(const nn_arch *a, groups *gs)
{
    size_t off = 0;
    gs->n = 0;
    for (int l = 0; l < a->n_layers; l++)
        for (int g = 0; g < 2; g++) {
            size_t n = nn_layer_ops_of(a->layers[l].kind)->group_size(&a->layers[l], g);
            gs->off[gs->n] = off;
            gs->len[gs->n] = n;
            gs->layer[gs->n] = l;
            gs->group[gs->n] = g;
            gs->n++;
            off += n;
        }
}

static nn_gradcheck_where where_param(const groups *gs, size_t q, int state)
{
    nn_gradcheck_where w = {0, 0, q, state};
    for (int k = 0; k < gs->n; k++)
        if (q >= gs->off[k] && q - gs->off[k] < gs->len[k]) {
            w.layer = gs->layer[k];
            w.group = gs->group[k];
            w.index = q - gs->off[k];
        }
    return w;
}

void nn_gradcheck_where_name(const nn_arch *a, const nn_gradcheck_where *w, char *buf, size_t n)
{
    static const char *const state_name[] = {"", " m", " v"};
    if (w->group == NN_GRADCHECK_INPUT) {
        size_t F = a->n_inputs > 0 ? (size_t)a->n_inputs : 1;
        snprintf(buf, n, "input [%zu,%zu]", w->index / F, w->index % F);
        return;
    }
    const nn_layer *y = &a->layers[w->layer];
    const char *s = w->state >= 0 && w->state <= 2 ? state_name[w->state] : "";
    if (y->kind == NN_LAYER_DENSE && w->group == 0) {
        size_t in = y->in > 0 ? (size_t)y->in : 1;
        snprintf(buf, n, "layer %d weight%s [%zu,%zu]", y->origin + 1, s, w->index / in,
                 w->index % in);
    } else {
        snprintf(buf, n, "layer %d %s%s [%zu]", y->origin + 1,
                 nn_gradcheck_group_name(a, w->layer, w->group), s, w->index);
    }
}

/* ---- the float engine's gradient ---------------------------------------------------- */

/* fp32: e = |g - fl(r)| / max(|fl(r)|, 1e-2 M_group, 1e-6 M_all) per value
 * (check.h), the largest kept in f->engine_error.  NaN counts as infinite. */
static void engine_group(const float *g, const double *ref, size_t n, double all_max,
                         nn_gradcheck_where at, nn_gradcheck_family *f)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)(float)ref[i]));
    double floor = fmax(fmax(1e-2 * m, 1e-6 * all_max), DBL_MIN);
    for (size_t i = 0; i < n; i++) {
        double r = (float)ref[i];
        double e = fabs((double)g[i] - r) / fmax(fabs(r), floor);
        if (isnan(e))
            e = INFINITY;
        if (e > f->engine_error) {
            f->engine_error = e;
            f->engine_at = at;
            f->engine_at.index = i;
            f->engine_value = g[i];
            f->engine_ref = r;
        }
    }
}

/* bf16: e = ||g - fl(r)||_2 / ||fl(r)||_2 over one vector (a layer's
 * parameters, or the inputs), placed at its value of largest |g - fl(r)|
 * (index q0 + i of `gs`, or an input when gs is NULL). */
static void engine_vector(const float *g, const double *ref, size_t n, const groups *gs,
                          size_t q0, nn_gradcheck_family *f)
{
    double dd = 0, rr = 0, far = -1;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        double r = (float)ref[i], d = fabs((double)g[i] - r);
        dd += d * d;
        rr += r * r;
        if (!(d <= far)) {
            far = d;
            at = i;
        }
    }
    double e = dd == 0 ? 0 : sqrt(dd) / sqrt(rr);
    if (isnan(e))
        e = INFINITY;
    if (n && e > f->engine_error) {
        f->engine_error = e;
        if (gs) {
            f->engine_at = where_param(gs, q0 + at, 0);
        } else {
            nn_gradcheck_where w = {0, NN_GRADCHECK_INPUT, at, 0};
            f->engine_at = w;
        }
        f->engine_value = g[at];
        f->engine_ref = (float)ref[at];
    }
}

static void engine_gradient(nn_model *m, const nn_config *cfg, const batch *b, const groups *gs,
                            const double *gp, const double *gx, float *G, float *dX,
                            nn_gradcheck_family *f)
{
    bool bf16 = cfg->precision == NN_PREC_BF16;
    nn_act out_act = nn_arch_output_act(&m->arch);
    const float *yhat = nn_model_forward_train(m, b->X, b->B, NULL); /* no dropout */
    nn_loss_backward(cfg->loss, out_act, G, yhat, m->logits, b->T, b->B, b->K,
                     cfg->huber_delta);
    nn_model_zero_grad(m);
    nn_model_backward(m, b->X, G, b->B, dX, nn_loss_fused(cfg->loss, out_act));
    size_t NX = (size_t)b->B * b->F;
    double all = 0;
    for (size_t q = 0; q < m->n_params; q++)
        all = fmax(all, fabs((double)(float)gp[q]));
    for (size_t q = 0; q < NX; q++)
        all = fmax(all, fabs((double)(float)gx[q]));
    if (bf16) {
        /* every parameter as one vector; not the inputs' gradient: bf16
         * training never computes it, and its sums over a layer's units
         * cancel too much for a bound of the operands' rounding to hold */
        engine_vector(m->grads, gp, m->n_params, gs, 0, f);
    } else {
        for (int k = 0; k < gs->n; k++) {
            nn_gradcheck_where at = {gs->layer[k], gs->group[k], 0, 0};
            engine_group(m->grads + gs->off[k], gp + gs->off[k], gs->len[k], all, at, f);
        }
        nn_gradcheck_where at = {0, NN_GRADCHECK_INPUT, 0, 0};
        engine_group(dX, gx, NX, all, at, f);
    }
    nn_model_zero_grad(m);
}

/* ---- the optimizer ------------------------------------------------------------------- */

typedef struct {
    const nn_config *cfg;
    const batch *b;
    nn_optim_cfg oc;
    nn_schedule sched;
    nn_optim_range decay[2 * NN_MAX_ARCH_LAYERS];
    size_t n_decay;
    bool *decays;       /* (P,) the reference's own: dense weights only */
    size_t P, S;        /* parameters, optimizer state floats */
    float *state, *G, *dOut, *p0, *s0, *p1;
    double *w, *g, *mv; /* the reference's (P,), (P,), (2P,) */
} optim_run;

/* The forward pass, the loss's gradient and the backward pass of the batch
 * into m->grads (zero on entry). */
static void batch_gradient(nn_model *m, optim_run *o)
{
    const batch *b = o->b;
    nn_act out_act = nn_arch_output_act(&m->arch);
    const float *yhat = nn_model_forward_train(m, b->X, b->B, NULL);
    nn_loss_backward(o->cfg->loss, out_act, o->dOut, yhat, m->logits, b->T, b->B, b->K,
                     o->cfg->huber_delta);
    nn_model_backward(m, b->X, o->dOut, b->B, NULL, nn_loss_fused(o->cfg->loss, out_act));
}

/* One engine step of optimizer c at update s (training's order: the
 * gradient, clipping, the step clearing the gradient). */
static void engine_step(nn_model *m, optim_run *o, const nn_optim_cfg *c, double lr, int64_t s)
{
    batch_gradient(m, o);
    if (c->clip_norm > 0)
        nn_optim_clip(m->grads, m->n_params, c->clip_norm);
    nn_optim_step_clear(c, m->params, m->grads, o->state, m->n_params, o->decay, o->n_decay, lr,
                        s + 1);
}

/* |f - r| / max(|r - b|, 2^-22 (|b| + |r|) / TOL_OPT) (check.h). */
static double optim_measure(double b, double f, double r)
{
    double e = fabs(f - r) / fmax(fmax(fabs(r - b), ldexp(fabs(b) + fabs(r), -22) /
                                                        NN_GRADCHECK_OPTIM_TOL),
                                  DBL_MIN);
    return isnan(e) ? INFINITY : e;
}

static void optim_worst(double e, const groups *gs, size_t q, int state, double f, double r,
                        nn_gradcheck_family *fam)
{
    if (e > fam->optim_error) {
        fam->optim_error = e;
        fam->optim_at = where_param(gs, q, state);
        fam->optim_value = f;
        fam->optim_ref = r;
    }
}

/* The engine's step s of optimizer c from m's parameters and o->state
 * against the reference's, from the same parameters, state and float
 * gradient; leaves m at the engine's result.  Returns the largest measure
 * (the worst recorded in *fam when record). */
static double optim_against(nn_model *m, optim_run *o, const nn_optim_cfg *c, double lr_engine,
                            double lr_ref, int64_t s, const groups *gs, nn_gradcheck_family *fam,
                            bool record)
{
    size_t P = o->P;
    nn_model_zero_grad(m);
    batch_gradient(m, o);
    memcpy(o->G, m->grads, sizeof(float) * P);
    memcpy(o->p0, m->params, sizeof(float) * P);
    size_t S = nn_optim_state_size(c, P);
    if (S)
        memcpy(o->s0, o->state, sizeof(float) * S);
    if (c->clip_norm > 0)
        nn_optim_clip(m->grads, P, c->clip_norm);
    nn_optim_step_clear(c, m->params, m->grads, o->state, P, o->decay, o->n_decay, lr_engine,
                        s + 1);

    double *m1 = NULL, *v1 = NULL;
    for (size_t q = 0; q < P; q++) {
        o->w[q] = o->p0[q];
        o->g[q] = o->G[q];
    }
    if (c->kind == NN_OPTIM_SGD) {
        v1 = S ? o->mv : NULL;
    } else {
        m1 = o->mv;
        v1 = o->mv + P;
    }
    for (size_t q = 0; q < S; q++)
        o->mv[q] = o->s0[q];
    nn_gradcheck_optim_step(c, o->w, o->g, m1, v1, o->decays, P, lr_ref, s + 1);

    double worst = 0;
    for (size_t q = 0; q < P; q++) {
        double e = optim_measure(o->p0[q], m->params[q], o->w[q]);
        worst = fmax(worst, e);
        if (record)
            optim_worst(e, gs, q, 0, m->params[q], o->w[q], fam);
    }
    for (size_t q = 0; q < S; q++) {
        double e = optim_measure(o->s0[q], o->state[q], o->mv[q]);
        worst = fmax(worst, e);
        int st = c->kind == NN_OPTIM_SGD ? 2 : 1 + (int)(q / P);
        if (record)
            optim_worst(e, gs, q % P, st, o->state[q], o->mv[q], fam);
    }
    return worst;
}

/* The fused SGD path against the separate one from m's parameters p0:
 * bit for bit, and the separate step against the reference's. */
static void fused_against(nn_model *m, optim_run *o, double lr, double wd, int64_t s,
                          const groups *gs, nn_gradcheck_family *fam)
{
    size_t P = o->P;
    nn_optim_cfg plain = {NN_OPTIM_SGD, lr, 0, false, 0, 0, 0, wd, 0};
    float *start = malloc(sizeof(float) * P);
    if (!start) {
        fam->fused_diffs = SIZE_MAX; /* counted as failing: cannot check */
        return;
    }
    memcpy(start, m->params, sizeof(float) * P);
    fam->sgd_error = optim_against(m, o, &plain, lr, lr, s, gs, fam, false);
    memcpy(o->p1, m->params, sizeof(float) * P); /* the separate step's result */
    memcpy(m->params, start, sizeof(float) * P);
    nn_model_zero_grad(m);
    const batch *b = o->b;
    nn_act out_act = nn_arch_output_act(&m->arch);
    const float *yhat = nn_model_forward_train(m, b->X, b->B, NULL);
    nn_loss_backward(o->cfg->loss, out_act, o->dOut, yhat, m->logits, b->T, b->B, b->K,
                     o->cfg->huber_delta);
    nn_model_backward_sgd(m, b->X, o->dOut, b->B, nn_loss_fused(o->cfg->loss, out_act),
                          (float)lr, (float)wd);
    for (size_t q = 0; q < P; q++)
        if (memcmp(&m->params[q], &o->p1[q], sizeof(float)) != 0 && fam->fused_diffs++ == 0) {
            fam->fused_at = where_param(gs, q, 0);
            fam->fused_value = m->params[q];
            fam->sep_value = o->p1[q];
        }
    free(start);
}

/* The engine with the kernels selected now: its gradient, the config's
 * optimizer, the fused SGD path. */
static void engine_family(nn_model *m, optim_run *o, const batch *b, const groups *gs,
                          const double *gp, const double *gx, float *G, float *dX,
                          nn_gradcheck_report *rep, nn_gradcheck_family *fam)
{
    nn_rng init;
    nn_rng_seed(&init, o->cfg->seed, NN_STREAM_INIT);
    nn_model_init(m, &init);
    engine_gradient(m, o->cfg, b, gs, gp, gx, G, dX, fam);

    int64_t spe = rep->steps_per_epoch, s = NN_GRADCHECK_OPTIM_STEPS;
    if (o->S)
        memset(o->state, 0, sizeof(float) * o->S);
    for (int64_t k = 0; k < s; k++) {
        nn_model_zero_grad(m);
        engine_step(m, o, &o->oc, nn_schedule_lr(&o->sched, o->cfg->learning_rate, k, spe), k);
    }
    double lr_engine = nn_schedule_lr(&o->sched, o->cfg->learning_rate, s, spe);
    optim_against(m, o, &o->oc, lr_engine, rep->lr, s, gs, fam, true);
    /* the fused path from the parameters before that step (o->p0) */
    memcpy(m->params, o->p0, sizeof(float) * o->P);
    fused_against(m, o, rep->lr, rep->fused_wd, s, gs, fam);
    nn_model_zero_grad(m);
    fam->pass = fam->engine_error <= rep->engine_tol && fam->optim_error <= NN_GRADCHECK_OPTIM_TOL &&
                fam->sgd_error <= NN_GRADCHECK_OPTIM_TOL && fam->fused_diffs == 0;
}

/* The schedule's rate against the reference formula at the steps where it
 * changes form, and the rate of the step checked. */
static void schedule_against(const nn_schedule *sc, double base, int64_t spe,
                             nn_gradcheck_report *rep)
{
    int64_t W = (int64_t)sc->warmup_epochs * spe, T = (int64_t)sc->total_epochs * spe;
    int64_t at[] = {0, 1, NN_GRADCHECK_OPTIM_STEPS, W - 1, W, W + 1, spe - 1, spe, spe + 1,
                    2 * spe, 3 * spe + 1, T / 2, T - 1, T, T + 1, 2 * T};
    rep->lr_error = 0;
    rep->lr_worst_step = 0;
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        if (at[i] < 0)
            continue;
        double e = nn_schedule_lr(sc, base, at[i], spe), r = nn_gradcheck_lr(sc, base, at[i], spe);
        double err = fabs(e - r) / fmax(fabs(r), DBL_MIN);
        if (e == r)
            err = 0;
        if (!(err <= rep->lr_error)) {
            rep->lr_error = isnan(err) ? INFINITY : err;
            rep->lr_worst_step = at[i];
        }
    }
    rep->lr = nn_gradcheck_lr(sc, base, NN_GRADCHECK_OPTIM_STEPS, spe);
}

static int optim_setup(optim_run *o, const nn_config *cfg, const batch *b, nn_model *m,
                       nn_error *err)
{
    o->cfg = cfg;
    o->b = b;
    o->oc = (nn_optim_cfg){(nn_optim_kind)cfg->optimizer, cfg->learning_rate, cfg->momentum,
                           cfg->nesterov, cfg->beta1, cfg->beta2, cfg->eps,
                           cfg->weight_decay, cfg->clip_norm};
    o->sched = (nn_schedule){(nn_sched_kind)cfg->schedule.name, cfg->schedule.gamma,
                             cfg->schedule.step_epochs, cfg->schedule.min_lr, cfg->epochs,
                             cfg->schedule.warmup_epochs};
    if (nn_optim_check(&o->oc, err) < 0 || nn_schedule_check(&o->sched, err) < 0)
        return -1;
    o->n_decay = nn_model_decay_ranges(m, o->decay, sizeof o->decay / sizeof o->decay[0]);
    size_t P = o->P = m->n_params;
    o->S = nn_optim_state_size(&o->oc, P);
    size_t n = P ? P : 1;
    o->decays = calloc(n, sizeof(bool));
    o->state = calloc(2 * n, sizeof(float));
    o->G = malloc(sizeof(float) * n);
    o->dOut = malloc(sizeof(float) * (size_t)b->B * (size_t)b->K + 1);
    o->p0 = malloc(sizeof(float) * n);
    o->s0 = malloc(sizeof(float) * 2 * n);
    o->p1 = malloc(sizeof(float) * n);
    o->w = malloc(sizeof(double) * n);
    o->g = malloc(sizeof(double) * n);
    o->mv = malloc(sizeof(double) * 2 * n);
    if (!o->decays || !o->state || !o->G || !o->dOut || !o->p0 || !o->s0 || !o->p1 || !o->w ||
        !o->g || !o->mv) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory for the gradient check");
        return -1;
    }
    /* the README's rule, not the engine's ranges: dense weights decay */
    groups gs;
    groups_of(&m->arch, &gs);
    for (int k = 0; k < gs.n; k++)
        if (m->arch.layers[gs.layer[k]].kind == NN_LAYER_DENSE && gs.group[k] == 0)
            for (size_t q = 0; q < gs.len[k]; q++)
                o->decays[gs.off[k] + q] = true;
    return 0;
}

static void optim_free(optim_run *o)
{
    free(o->decays);
    free(o->state);
    free(o->G);
    free(o->dOut);
    free(o->p0);
    free(o->s0);
    free(o->p1);
    free(o->w);
    free(o->g);
    free(o->mv);
}

/* Every family of the precision in turn (or the selected one), then the
 * selection as it was. */
static int engine_families(nn_model *m, optim_run *o, const batch *b, const double *gp,
                           const double *gx, float *G, float *dX, bool all,
                           nn_gradcheck_report *rep, nn_error *err)
{
    groups gs;
    groups_of(&m->arch, &gs);
    const char *names[NN_GRADCHECK_MAX_FAMILIES];
    const char *was = nn_kernels_get()->name;
    int n = 1;
    names[0] = was;
    if (all)
        n = nn_kernels_families(rep->precision, names, NN_GRADCHECK_MAX_FAMILIES);
    for (int i = 0; i < n; i++) {
        if (all && nn_kernels_select(rep->precision, names[i], err) < 0)
            return -1;
        nn_gradcheck_family *fam = &rep->fam[rep->n_families++];
        memset(fam, 0, sizeof *fam);
        fam->family = nn_kernels_get()->name;
        engine_family(m, o, b, &gs, gp, gx, G, dX, rep, fam);
    }
    if (all && nn_kernels_select(rep->precision, was, err) < 0)
        return -1;
    return 0;
}

int nn_gradcheck_config(const nn_config *cfg, bool all_families, nn_gradcheck_report *out,
                        nn_error *err)
{
    memset(out, 0, sizeof *out);
    batch b = {0};
    nn_model *m = NULL;
    optim_run o = {0};
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
    out->precision = cfg->precision;
    out->engine_tol =
        cfg->precision == NN_PREC_BF16 ? NN_GRADCHECK_ENGINE_TOL_BF16 : NN_GRADCHECK_ENGINE_TOL;
    size_t bs = cfg->batch_size > 0 ? (size_t)cfg->batch_size : 1;
    out->steps_per_epoch = (int64_t)((b.rows + bs - 1) / bs);
    if (out->steps_per_epoch < 1)
        out->steps_per_epoch = 1;
    out->step = NN_GRADCHECK_OPTIM_STEPS;
    out->fused_wd = cfg->weight_decay > 0 ? cfg->weight_decay : NN_GRADCHECK_FUSED_WD;
    if (optim_setup(&o, cfg, &b, m, err) < 0)
        goto out;
    schedule_against(&o.sched, cfg->learning_rate, out->steps_per_epoch, out);
    if (engine_families(m, &o, &b, gp, gx, G, dX, all_families, out, err) < 0)
        goto out;
    out->pass = out->r.worst <= NN_GRADCHECK_TOL && out->lr_error <= NN_GRADCHECK_LR_TOL;
    for (int i = 0; i < out->n_families; i++)
        out->pass = out->pass && out->fam[i].pass;
    rc = 0;
out:
    optim_free(&o);
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
    char at[96];
    const char *name = nn_source_name(&cfg->train);
    if (r->r.worst > NN_GRADCHECK_TOL) {
        nn_gradcheck_where w = {r->r.worst_layer, r->r.worst_group, r->r.worst_index, 0};
        nn_gradcheck_where_name(&r->arch, &w, at, sizeof at);
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "gradient check failed: %s (error %.2e at %s: analytic %.10g, numeric "
                     "%.10g; tolerance %g)",
                     name, r->r.worst, at, r->r.worst_analytic, r->r.worst_numeric,
                     NN_GRADCHECK_TOL);
        return;
    }
    if (r->lr_error > NN_GRADCHECK_LR_TOL) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "gradient check failed: %s (the learning rate of step %lld is off the "
                     "schedule's formula by %.2e; tolerance %g)",
                     name, (long long)r->lr_worst_step, r->lr_error, NN_GRADCHECK_LR_TOL);
        return;
    }
    for (int i = 0; i < r->n_families; i++) {
        const nn_gradcheck_family *f = &r->fam[i];
        if (f->engine_error > r->engine_tol) {
            nn_gradcheck_where_name(&r->arch, &f->engine_at, at, sizeof at);
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "gradient check failed: %s (the %s kernels' gradient is off the "
                         "double-precision one by %.2e at %s: %.8g against %.8g; tolerance %g)",
                         name, f->family, f->engine_error, at, f->engine_value, f->engine_ref,
                         r->engine_tol);
            return;
        }
        if (f->optim_error > NN_GRADCHECK_OPTIM_TOL) {
            nn_gradcheck_where_name(&r->arch, &f->optim_at, at, sizeof at);
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "gradient check failed: %s (the %s optimizer step %lld with the %s "
                         "kernels is off the reference step by %.2e at %s: %.8g against %.8g; "
                         "tolerance %g)",
                         name, nn_opt_name(cfg->optimizer), (long long)r->step + 1, f->family,
                         f->optim_error, at, f->optim_value, f->optim_ref,
                         NN_GRADCHECK_OPTIM_TOL);
            return;
        }
        if (f->sgd_error > NN_GRADCHECK_OPTIM_TOL || f->fused_diffs) {
            nn_gradcheck_where_name(&r->arch, &f->fused_at, at, sizeof at);
            if (f->fused_diffs)
                nn_error_set(err, NN_EXIT_RUNTIME,
                             "gradient check failed: %s (the fused SGD step of the %s kernels "
                             "differs from the separate one at %zu parameters, first %s: %.9g "
                             "against %.9g)",
                             name, f->family, f->fused_diffs, at, f->fused_value, f->sep_value);
            else
                nn_error_set(err, NN_EXIT_RUNTIME,
                             "gradient check failed: %s (the plain SGD step of the %s kernels "
                             "is off the reference step by %.2e; tolerance %g)",
                             name, f->family, f->sgd_error, NN_GRADCHECK_OPTIM_TOL);
            return;
        }
    }
    nn_error_set(err, NN_EXIT_RUNTIME, "gradient check failed: %s", name);
}
