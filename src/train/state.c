/* state.c - the trainer's state to a checkpoint and back: the one place
 * that maps the fields of a training run onto nn_ckpt (trainer.h). */
#include <stdlib.h>
#include <string.h>

#include "util/version.h"
#include "train/trainer.h"

/* The running metrics of an interrupted epoch, regression part: (4, K)
 * doubles, mean, m2, sse, sae per output.  NULL with *err on out of
 * memory. */
static double *pack_running(const nn_acc *a, nn_error *err)
{
    int K = a->K;
    double *v = malloc(sizeof(double) * 4 * (size_t)K);
    if (!v) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory writing the checkpoint");
        return NULL;
    }
    memcpy(v, a->mean, sizeof(double) * (size_t)K);
    memcpy(v + K, a->m2, sizeof(double) * (size_t)K);
    memcpy(v + 2 * K, a->sse, sizeof(double) * (size_t)K);
    memcpy(v + 3 * K, a->sae, sizeof(double) * (size_t)K);
    return v;
}

static int save_here(trainer *t, const char *path, nn_error *err);

/* Rank 0 writes; the others learn whether it could. */
int nn_trainer_save(trainer *t, const char *path, nn_error *err)
{
    int rc = t->rank == 0 ? save_here(t, path, err) : 0;
    if (t->ranks <= 1)
        return rc;
    if (nn_trainer_ranks_any(t, rc < 0)) {
        if (rc == 0)
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: rank 0 could not write the checkpoint",
                         path);
        err->scope = NN_ERR_SAME;
        return -1;
    }
    return 0;
}

static int save_here(trainer *t, const char *path, nn_error *err)
{
    const nn_config *cfg = t->cfg;
    nn_model *m = t->model;
    nn_ckpt c = {0};
    c.version = (char *)NN_VERSION;
    c.config_json = nn_config_to_json(cfg);
    if (!c.config_json) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory writing the checkpoint");
        return -1;
    }
    c.format = NN_CKPT_VERSION;
    c.arch = m->arch;
    c.loss = cfg->loss;
    c.optimizer = cfg->optimizer;
    c.n_classes = t->regression ? 0 : t->train.n_classes;
    c.class_names = t->regression ? NULL : t->train.class_names;
    c.layout = t->layout;
    c.scale = t->scale;
    c.shift = t->shift;
    c.mult = t->mult;
    if (t->target_mean) {
        c.n_target_scale = nn_model_outputs(m);
        c.target_mean = t->target_mean;
        c.target_std = t->target_std;
    }
    if (t->streaming) {
        c.stream_block = t->plan.block_rows;
        c.stream_window = t->plan.window_rows;
    }
    c.epoch = t->epoch;
    c.step = t->step;
    memcpy(c.rng, t->rng.s, sizeof c.rng);
    c.seed = cfg->seed;
    c.train_loss = t->train_m.loss;
    c.train_accuracy = t->train_m.accuracy;
    c.val_loss = t->val_m.loss;
    c.val_accuracy = t->val_m.accuracy;
    c.params = m->params;
    c.n_params = m->n_params;
    c.state = m->state;
    c.n_state = m->n_state;
    c.opt_state = t->opt_state;
    c.n_opt_state = t->n_opt_state;
    c.huber_delta = cfg->huber_delta;
    c.best_val_loss = t->best_val_loss;
    c.best_epoch = t->best_epoch;
    c.bad_epochs = t->bad_epochs;
    c.stopped = t->stopped;
    c.hist = t->hist; /* borrowed, like the buffers above */
    c.precision = cfg->precision;
    c.label_smoothing = cfg->label_smoothing;
    c.ema = t->ema;
    c.ema_decay = t->ema ? cfg->ema : 0;
    double *running = NULL;
    if (t->batch > 0) { /* inside an epoch: where, and the metrics so far */
        c.batch = t->batch;
        memcpy(c.epoch_rng, t->epoch_rng.s, sizeof c.epoch_rng);
        c.acc_loss_sum = t->acc.loss_sum;
        c.acc_n = t->acc.n;
        c.acc_correct = t->acc.correct;
        if (t->acc.mean) {
            if (!(running = pack_running(&t->acc, err))) {
                free(c.config_json);
                return -1;
            }
            c.acc_k = t->acc.K;
            c.acc_reg = running;
        }
    }
    int rc = nn_ckpt_save(path, &c, err);
    free(running);
    free(c.config_json);
    return rc;
}

/* The checkpoint must describe the same network, data and settings. */
static int check_resumable(const trainer *t, const nn_ckpt *c, nn_error *err)
{
    const nn_config *cfg = t->cfg;
    const char *path = cfg->checkpoint_path;
    size_t features = t->train.features;
    if ((size_t)c->arch.n_inputs != features) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: cannot resume: the checkpoint's model takes %d inputs, the data has %zu",
                     path, c->arch.n_inputs, features);
        return -1;
    }
    char why[512];
    if (!nn_arch_same(&c->arch, &t->model->arch, "checkpoint", "config", why, sizeof why)) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: cannot resume: %s", path, why);
        return -1;
    }
    if (c->n_params != t->model->n_params || c->n_state != t->model->n_state) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: cannot resume: the checkpoint holds %zu parameters and %zu state "
                     "values, the config's model %zu and %zu",
                     path, c->n_params, c->n_state, t->model->n_params, t->model->n_state);
        return -1;
    }
    if (c->n_target_scale && c->n_target_scale != nn_model_outputs(t->model)) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: cannot resume: the checkpoint scales %d targets, "
                     "the model has %d outputs", path, c->n_target_scale,
                     nn_model_outputs(t->model));
        return -1;
    }
    if (c->loss != cfg->loss || c->scale != t->scale || c->seed != cfg->seed) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: cannot resume: the checkpoint was trained with loss %s, scale %s, "
                     "seed %llu; the config has loss %s, scale %s, seed %llu",
                     path, nn_loss_name(c->loss), nn_scale_name(c->scale),
                     (unsigned long long)c->seed, nn_loss_name(cfg->loss),
                     nn_scale_name(t->scale), (unsigned long long)cfg->seed);
        return -1;
    }
    if (c->precision != cfg->precision) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: cannot resume: the checkpoint was trained in %s, the config's "
                     "training.precision is %s",
                     path, nn_precision_name(c->precision), nn_precision_name(cfg->precision));
        return -1;
    }
    if (c->n_opt_state != t->n_opt_state || c->optimizer != cfg->optimizer) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: cannot resume: the checkpoint was trained with optimizer %s "
                     "(%zu state values), the config uses %s (%zu)",
                     path, nn_opt_name(c->optimizer), c->n_opt_state,
                     nn_opt_name(cfg->optimizer), t->n_opt_state);
        return -1;
    }
    return 0;
}

/* The position inside an interrupted epoch: its generator and the running
 * metrics so far. */
static int restore_running(trainer *t, const nn_ckpt *c, nn_error *err)
{
    int K = nn_model_outputs(t->model);
    size_t bs = (size_t)t->cfg->batch_size, batches = (t->n_train + bs - 1) / bs;
    if ((uint64_t)c->batch > batches || c->acc_k != (t->regression ? K : 0)) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: cannot resume: the checkpoint stopped at batch %lld of an epoch, the "
                     "config's batch size gives %zu batches",
                     t->cfg->checkpoint_path, (long long)c->batch, batches);
        return -1;
    }
    if (nn_acc_init(&t->acc, K, t->regression, false, err) < 0)
        return -1;
    t->acc.target_std = t->target_std;
    t->batch = c->batch;
    memcpy(t->epoch_rng.s, c->epoch_rng, sizeof t->epoch_rng.s);
    t->acc.loss_sum = c->acc_loss_sum;
    t->acc.n = (size_t)c->acc_n;
    t->acc.correct = (size_t)c->acc_correct;
    for (int k = 0; k < c->acc_k; k++) {
        t->acc.mean[k] = c->acc_reg[k];
        t->acc.m2[k] = c->acc_reg[c->acc_k + k];
        t->acc.sse[k] = c->acc_reg[2 * c->acc_k + k];
        t->acc.sae[k] = c->acc_reg[3 * c->acc_k + k];
    }
    return 0;
}

int nn_trainer_restore(trainer *t, nn_error *err)
{
    nn_ckpt c = {0};
    int rc = -1;
    size_t F = t->train.features;
    if (nn_trainer_load_ckpt(t, t->cfg->checkpoint_path, &c, err) < 0 ||
        check_resumable(t, &c, err) < 0)
        goto out;
    memcpy(t->model->params, c.params, sizeof(float) * t->model->n_params);
    if (t->ema) /* a checkpoint without the average starts it at its weights */
        memcpy(t->ema, c.ema ? c.ema : c.params, sizeof(float) * t->model->n_params);
    if (t->model->n_state)
        memcpy(t->model->state, c.state, sizeof(float) * t->model->n_state);
    if (t->n_opt_state)
        memcpy(t->opt_state, c.opt_state, sizeof(float) * t->n_opt_state);
    t->best_val_loss = c.best_val_loss;
    t->best_epoch = c.best_epoch;
    t->bad_epochs = c.bad_epochs;
    t->stopped = c.stopped;
    memcpy(t->shift, c.shift, sizeof(float) * F);
    memcpy(t->mult, c.mult, sizeof(float) * F);
    memcpy(t->rng.s, c.rng, sizeof t->rng.s);
    /* the target scaling is the checkpoint's (none in one written before it existed) */
    if (c.n_target_scale && nn_trainer_scale_targets(t, c.target_mean, c.target_std, err) < 0)
        goto out;
    t->epoch = c.epoch;
    t->step = c.step;
    if (c.batch > 0 && restore_running(t, &c, err) < 0)
        goto out;
    t->train_m.loss = c.train_loss;
    t->train_m.accuracy = c.train_accuracy;
    t->val_m.loss = c.val_loss;
    t->val_m.accuracy = c.val_accuracy;
    /* the history goes on from the checkpoint's (a file without one, or
     * with other metrics, starts a fresh one at the next epoch) */
    int n;
    const char *const *names = nn_trainer_history_names(t, &n);
    if (nn_history_same_metrics(&c.hist, names, n)) {
        nn_history_free(&t->hist);
        t->hist = c.hist;
        memset(&c.hist, 0, sizeof c.hist);
    }
    rc = 0;
out:
    nn_ckpt_free(&c);
    return rc;
}
