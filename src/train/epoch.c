/* epoch.c - the end of an epoch: the parameters still finite, the profile,
 * the validation, early stopping and the report (trainer.h). */
#include <math.h>

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
        char where[96];
        nn_trainer_where_not_finite(m, 0, where, sizeof where);
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "training diverged: parameter %zu is not finite after epoch %lld, batch %zu "
                     "(%s; lower optimizer.learning_rate); %s",
                     at, (long long)e, batches, where, nn_trainer_kept(t));
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
        nn_loss_spec ls = {t->cfg->loss, t->cfg->huber_delta, t->target_std};
        if (nn_measure(t->model, t->val_set, t->val_idx, t->n_val, t->shift, t->mult, &ls,
                       t->regression, false, &t->val_m, NULL, err) < 0)
            return -1;
        *improved = follow_validation(t, e);
    }
    if (o->on_epoch) {
        nn_epoch_report r = {e, t->cfg->epochs, t->regression, t->train_m, has_val, t->val_m,
                             nn_now() - started,
                             train_seconds > 0 ? (double)t->n_train / train_seconds : 0.0};
        o->on_epoch(o->ctx, &r);
    }
    return 0;
}
