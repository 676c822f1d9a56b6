/* epoch.c - the end of an epoch: the parameters still finite, the profile,
 * the validation, early stopping, the history of metrics and the report
 * (trainer.h). */
#include <math.h>
#include <string.h>

#include "eval/measure.h"
#include "train/trainer.h"
#include "util/clock.h"

/* The running metrics become the epoch's; training must still be finite. */
static int close_training(trainer *t, int64_t e, nn_error *err)
{
    nn_model *m = t->model;
    size_t bs = (size_t)t->cfg->batch_size, batches = (t->n_train + bs - 1) / bs, at;
    t->train_m = nn_acc_result(&t->acc);
    nn_acc_free(&t->acc);
    t->batch = 0;
    if (nn_first_nonfinite(m->params, m->n_params, &at)) {
        char why[640];
        nn_trainer_diagnose(t, 0, batches, why, sizeof why);
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "training diverged: parameter %zu is not finite after epoch %lld, batch %zu: "
                     "%s; %s", at, (long long)e, batches, why, nn_trainer_kept(t));
        err->scope = NN_ERR_SAME; /* the same parameters on every process */
        err->kind = NN_ERR_DIVERGED;
        return -1;
    }
    return 0;
}

/* Early stopping and the best checkpoint follow the validation loss: an
 * improvement must beat the best so far by more than min_delta (0 without
 * early stopping); patience epochs without one stop the run. */
static bool follow_validation(trainer *t, int64_t e)
{
    const nn_early_stopping_cfg *es = &t->cfg->early_stopping;
    double margin = es->enabled ? es->min_delta : 0.0;
    bool improved = t->best_epoch == 0 || t->val_m.loss < t->best_val_loss - margin;
    if (improved) {
        t->best_val_loss = t->val_m.loss;
        t->best_epoch = e;
        t->bad_epochs = 0;
        t->best_val_m = t->val_m;
        t->best_val_known = true;
    } else {
        t->bad_epochs++;
    }
    if (es->enabled && t->bad_epochs >= es->patience)
        t->stopped = 1;
    return improved;
}

static const char *const class_metrics[] = {"train_loss", "train_accuracy", "val_loss",
                                            "val_accuracy"};
static const char *const reg_metrics[] = {"train_loss", "train_mse", "train_mae", "train_r2",
                                          "val_loss",   "val_mse",   "val_mae",   "val_r2"};

const char *const *nn_trainer_history_names(const trainer *t, int *n)
{
    if (t->regression) {
        *n = (int)(sizeof reg_metrics / sizeof reg_metrics[0]);
        return reg_metrics;
    }
    *n = (int)(sizeof class_metrics / sizeof class_metrics[0]);
    return class_metrics;
}

/* The epoch's line, as numbers, into the history (NaN for what was not
 * measured: the val_ ones without validation data). */
static int record_history(trainer *t, const nn_epoch_report *r, nn_error *err)
{
    int n;
    const char *const *names = nn_trainer_history_names(t, &n);
    if (!nn_history_same_metrics(&t->hist, names, n)) {
        nn_history_free(&t->hist);
        if (nn_history_init(&t->hist, names, n, err) < 0)
            return -1;
    }
    double v[8];
    const nn_result *part[2] = {&r->train, &r->val};
    for (int p = 0; p < 2; p++) {
        const nn_result *m = part[p];
        bool have = p == 0 || r->has_val;
        if (t->regression) {
            double vals[4] = {m->loss, m->mse, m->mae, m->r2};
            for (int k = 0; k < 4; k++)
                v[4 * p + k] = have ? vals[k] : NAN;
        } else {
            v[2 * p] = have ? m->loss : NAN;
            v[2 * p + 1] = have ? m->accuracy : NAN;
        }
    }
    return nn_history_add(&t->hist, r->epoch, v, err);
}

int nn_trainer_end_epoch(trainer *t, int64_t e, double started, bool *improved,
                         nn_error *err)
{
    const nn_train_opts *o = t->o;
    *improved = false;
    if (close_training(t, e, err) < 0)
        return -1;
    double train_seconds = nn_now() - started;
    if (o->profile && o->on_profile) {
        nn_profile_report p = {e, train_seconds, {0}};
        for (int i = 0; i < NN_PROF_PHASES; i++)
            p.phases[i] = nn_prof_seconds[i];
        o->on_profile(o->ctx, &p);
    }
    t->epoch = e;
    t->val_m = nn_acc_result(&(nn_acc){0});
    bool has_val = t->n_val > 0;
    if (has_val) {
        /* training.ema: the average is what is validated (and saved) */
        nn_model *m = t->model;
        if (t->ema) {
            memcpy(t->ema_hold, m->params, sizeof(float) * m->n_params);
            memcpy(m->params, t->ema, sizeof(float) * m->n_params);
        }
        nn_loss_spec ls = {t->cfg->loss, t->cfg->huber_delta, t->target_std,
                           t->cfg->label_smoothing};
        int rc = !t->val_set /* the held-out rows of a streamed source */
                     ? nn_trainer_stream_measure(t, NN_ROW_VAL, &t->val_m, err)
                     : nn_trainer_ranks_measure(t, &ls, &t->val_m, err);
        if (t->ema)
            memcpy(m->params, t->ema_hold, sizeof(float) * m->n_params);
        if (rc < 0)
            return -1;
        *improved = follow_validation(t, e);
    }
    nn_epoch_report r = {e, t->cfg->epochs, t->regression, t->train_m, has_val, t->val_m,
                         nn_now() - started,
                         train_seconds > 0 ? (double)t->n_train / train_seconds : 0.0};
    if (record_history(t, &r, err) < 0)
        return -1;
    if (o->on_epoch)
        o->on_epoch(o->ctx, &r);
    return 0;
}
