/* diverge.c - what went non-finite first when a run stopped being finite,
 * and what to do about it, for the divergence messages (trainer.h).
 *
 * Training watches one number per batch, the loss it computes anyway, and
 * the parameters once per epoch.  Only when one of them has failed does the
 * diagnosis below look further, in the order a step computes things:
 *
 *   data      a training row as the network sees it (after data.scale, the
 *             targets after scale_targets) holds a value that is not finite:
 *             every training row in memory, this batch's when streamed;
 *   gradient  the parameters are not finite: an earlier update made them so,
 *   / update  with gradients that were not finite or with finite ones that
 *             the step took out of the float range (below: which one);
 *   forward   the data and the parameters are finite, the outputs are not;
 *   loss      the outputs are finite, their loss is not.
 *
 * Gradient or update: the gradients of the step that broke the parameters
 * are gone (the optimizer clears them), but what they left tells.  Adam's
 * first moment and momentum's velocity take in every gradient, so they are
 * not finite after a non-finite gradient, while a step from finite moments
 * overflows only through its rate.  Plain SGD keeps nothing; its step
 * w - lr (g + wd w) from a finite w and g stays in the float range at a rate
 * of at most 1 (up to weights within a factor 2 of FLT_MAX), so there a
 * non-finite weight means a non-finite gradient, and above 1 the step. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "data/batch.h"
#include "data/scale.h"
#include "nn/layer.h"
#include "train/trainer.h"

bool nn_first_nonfinite(const float *p, size_t n, size_t *at)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(p[i])) {
            *at = i;
            return true;
        }
    return false;
}

/* The first place, input side first: a layer's parameters (by the kind's
 * group names: weights, biases, scales, shifts) or its outputs of the last
 * batch. */
bool nn_trainer_where_not_finite(const nn_model *m, int B, char *out, size_t cap)
{
    for (int l = 0; l < m->arch.n_layers; l++) {
        const nn_layer *y = &m->arch.layers[l];
        const nn_layer_ops *ops = nn_layer_ops_of(y->kind);
        const float *params = m->params + m->param_off[l];
        const char *what = NULL;
        size_t at;
        for (int g = 0; g < 2 && !what; g++) {
            size_t count = ops->group_size(y, g);
            if (nn_first_nonfinite(params, count, &at))
                what = ops->group_plural[g];
            params += count;
        }
        if (!what && nn_first_nonfinite(m->acts[l], (size_t)B * (size_t)y->out, &at))
            what = "outputs";
        if (what) {
            snprintf(out, cap, "layer %d %s", y->origin + 1, what);
            return true;
        }
    }
    snprintf(out, cap, "no layer");
    return false;
}

/* A value that is not finite, in words. */
static const char *kind_of(float v)
{
    return isnan(v) ? "NaN" : "infinite";
}

/* The first value of the training data, as the network sees it, that is
 * not finite: "row 7 of x.csv (counting data rows from 1), feature 2, is
 * infinite after data.scale ...".  In memory
 * every training row is looked at (B rows at a time through X and T, which
 * the failed step no longer needs); streamed, the batch in X and T. */
static bool bad_data(trainer *t, int B, char *out, size_t cap)
{
    int F = t->model->arch.n_inputs, K = nn_model_outputs(t->model);
    const char *scale = nn_scale_name(t->scale);
    size_t at;
    if (t->streaming || !t->train.x) {
        if (nn_first_nonfinite(t->X, (size_t)B * (size_t)F, &at)) {
            snprintf(out, cap, "feature %zu of a row of this batch is %s after data.scale \"%s\"",
                     at % (size_t)F + 1, kind_of(t->X[at]), scale);
            return true;
        }
        if (t->regression && nn_first_nonfinite(t->T, (size_t)B * (size_t)K, &at)) {
            snprintf(out, cap, "target %zu of a row of this batch is %s", at % (size_t)K + 1,
                     kind_of(t->T[at]));
            return true;
        }
        return false;
    }
    size_t bs = (size_t)t->cfg->batch_size;
    for (size_t off = 0; off < t->n_train; off += bs) {
        size_t n = t->n_train - off < bs ? t->n_train - off : bs;
        const uint32_t *rows = t->train_idx + off;
        nn_batch_gather(t->X, &t->train, rows, n, t->shift, t->mult);
        if (t->regression)
            nn_batch_targets(t->T, &t->train, rows, n, K);
        size_t ax, ay;
        bool in = nn_first_nonfinite(t->X, n * (size_t)F, &ax);
        bool target = !in && t->regression && nn_first_nonfinite(t->T, n * (size_t)K, &ay);
        if (!in && !target)
            continue;
        size_t row = in ? ax / (size_t)F : ay / (size_t)K;
        int len = snprintf(out, cap, "row %lu of %s (counting data rows from 1), ",
                           (unsigned long)rows[row] + 1, nn_source_name(&t->cfg->train));
        size_t used = len > 0 && (size_t)len < cap ? (size_t)len : 0;
        if (in)
            snprintf(out + used, cap - used, "feature %zu, is %s after data.scale \"%s\"",
                     ax % (size_t)F + 1, kind_of(t->X[ax]), scale);
        else
            snprintf(out + used, cap - used, "target %zu, is %s", ay % (size_t)K + 1,
                     kind_of(t->T[ay]));
        return true;
    }
    return false;
}

/* The step that made the parameters non-finite: its gradients (true) or
 * its update (false), from what it left (the comment at the top). */
static bool gradient_was_bad(const trainer *t, double lr)
{
    size_t at;
    if (t->n_opt_state > 0)
        return nn_first_nonfinite(t->opt_state, t->n_opt_state, &at);
    return lr <= 1.0;
}

/* The largest |x| of the batch's inputs (this process's rows). */
static float largest_input(const trainer *t, int B)
{
    float big = 0.0f;
    size_t n = (size_t)B * (size_t)t->model->arch.n_inputs;
    for (size_t i = 0; i < n; i++)
        big = fabsf(t->X[i]) > big ? fabsf(t->X[i]) : big;
    return big;
}

int nn_trainer_diagnose(trainer *t, int B, size_t batches, char *out, size_t cap)
{
    const nn_model *m = t->model;
    const nn_config *cfg = t->cfg;
    char what[320] = "", where[64] = "", outs[64] = "";
    /* what the processes hold apart (their rows, their outputs) is agreed
     * on first, so that every one takes the same branch; the details are
     * this process's (rank 0's in the message) */
    float big = B > 0 ? largest_input(t, B) : 0.0f;
    bool mine = B > 0 && nn_trainer_where_not_finite(m, B, outs, sizeof outs);
    bool outputs = nn_trainer_ranks_any(t, mine);
    if (outputs && !mine)
        snprintf(outs, sizeof outs, "outputs of another process's rows");
    mine = bad_data(t, B, what, sizeof what);
    bool data = nn_trainer_ranks_any(t, mine);
    size_t at;
    if (data) {
        if (!mine)
            snprintf(what, sizeof what, "a row of another process's share");
        snprintf(out, cap, "the data went non-finite first: %s (check the data and its "
                 "scaling, data.scale)", what);
        return NN_DIVERGED_DATA;
    }
    if (nn_first_nonfinite(m->params, m->n_params, &at)) {
        nn_trainer_where_not_finite(m, 0, where, sizeof where);
        int64_t last = t->step > 0 ? t->step - 1 : 0;
        double lr = nn_schedule_lr(&t->sched, cfg->learning_rate, last, (int64_t)batches);
        if (gradient_was_bad(t, lr)) {
            snprintf(out, cap, "the gradients went non-finite first: an update with non-finite "
                     "gradients made the %s non-finite (%s); %s", where,
                     t->n_opt_state > 0 ? "the optimizer's moments are not finite"
                                        : "plain SGD at a rate of at most 1 cannot overflow "
                                          "a finite weight with a finite gradient",
                     cfg->clip_norm > 0 ? "clipping cannot bound a non-finite gradient: check "
                                          "the scale of the data and the targets"
                                        : "bound them with optimizer.clip_norm, or check the "
                                          "scale of the data and the targets");
            return NN_DIVERGED_GRADIENT;
        }
        snprintf(out, cap, "the update went non-finite first: a step at learning rate %g made "
                 "the %s non-finite from finite gradients (lower optimizer.learning_rate)", lr,
                 where);
        return NN_DIVERGED_UPDATE;
    }
    if (outputs) {
        if (t->step == 0)
            snprintf(out, cap, "the forward pass went non-finite first: the %s, from finite "
                     "data and parameters before any update (the batch's largest |input| is "
                     "%.3g: check the data's scale, data.scale, and the layers' init)", outs,
                     (double)big);
        else
            snprintf(out, cap, "the forward pass went non-finite first: the %s, from finite "
                     "data and parameters after %lld updates (the weights grew too large: lower "
                     "optimizer.learning_rate, or bound the steps with optimizer.clip_norm; the "
                     "batch's largest |input| is %.3g)", outs, (long long)t->step, (double)big);
        return NN_DIVERGED_FORWARD;
    }
    snprintf(out, cap, "the loss went non-finite first: the outputs are finite, their loss is "
             "not (check the targets' scale)");
    return NN_DIVERGED_LOSS;
}
