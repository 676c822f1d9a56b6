/* train.c - the training loop: data -> mini-batches -> forward, loss,
 * backward, SGD step -> per-epoch metrics -> checkpoint.
 *
 * Each step: forward (with dropout masks drawn from a generator seeded by
 * the seed and the step number, so no generator state needs saving), the
 * loss and its gradient (fused dC/dZ for softmax/cross-entropy and
 * sigmoid/binary-cross-entropy), backward, clipping by global norm, and the
 * optimizer's update at the scheduled learning rate.
 *
 * Mini-batches: every epoch draws a fresh order of the training rows (a
 * Fisher-Yates shuffle of the sorted row list with the training generator,
 * whose state is saved in the checkpoint), cuts it into batches of
 * training.batch_size, and trains on the last, smaller batch too; its
 * gradient is averaged over its own size.  Nothing is dropped.
 *
 * Interruption: SIGINT or SIGTERM sets a flag; the loop finishes the
 * mini-batch in progress, writes a checkpoint that records the position
 * inside the epoch (the generator state before the epoch's shuffle, the
 * batches done, the running metrics), and stops with exit code 130 or 143.
 * --resume redraws the same order, skips the done batches and continues,
 * so the result equals an uninterrupted run bit for bit.  A second signal
 * ends the process at once (the default action).
 */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "data/batch.h"
#include "data/source.h"
#include "metrics.h"
#include "nn/loss.h"
#include "nn/optim.h"
#include "run.h"
#include "util/profile.h"
#include "util/progress.h"

typedef struct {
    nn_dataset train, val;       /* val.x is NULL when validation comes from a split */
    nn_data_layout layout;       /* of the training file */
    const nn_dataset *val_set;   /* the set the validation rows index: &train or &val */
    uint32_t *train_idx, *val_idx;
    size_t n_train, n_val;
    float *shift, *mult;         /* (features,) input scaling */
    nn_model *model;
    nn_rng rng;                  /* the training generator (shuffles) */
    int64_t epoch, step;
    nn_result train_m, val_m;    /* metrics of the last epoch */
    bool regression;
    nn_scale scale;              /* cfg->scale with "auto" resolved for the data */
    float *X, *dOut, *T;         /* (batch, features), (batch, outputs), (batch, outputs) */
    int32_t *y;                  /* (batch,) */
    uint32_t *order;             /* (n_train,) */
    nn_acc acc;                  /* the running epoch's training metrics */
    nn_optim_cfg optim;
    nn_schedule sched;
    float *opt_state;            /* (n_opt_state,) in the parameters' layout */
    size_t n_opt_state;
    nn_optim_range decay[NN_MAX_LAYERS]; /* the weights (not biases): weight decay */
    double best_val_loss;        /* early stopping / keep_best */
    int64_t best_epoch, bad_epochs;
    int stopped;
    int64_t batch;               /* batches of epoch+1 done (interrupted epoch) */
    nn_rng epoch_rng;            /* rng before epoch+1's shuffle */
} trainer;

/* --- signals ----------------------------------------------------------- */

static volatile sig_atomic_t stop_signal; /* the first SIGINT/SIGTERM seen, or 0 */

static void on_stop_signal(int sig)
{
    if (stop_signal) { /* the second one: stop now */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    stop_signal = sig;
}

typedef struct {
    struct sigaction int_old, term_old;
} signal_guard;

static void signals_catch(signal_guard *g)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    stop_signal = 0;
    sigaction(SIGINT, &sa, &g->int_old);
    sigaction(SIGTERM, &sa, &g->term_old);
}

static void signals_restore(const signal_guard *g)
{
    sigaction(SIGINT, &g->int_old, NULL);
    sigaction(SIGTERM, &g->term_old, NULL);
}

static void trainer_free(trainer *t)
{
    nn_dataset_free(&t->train);
    nn_dataset_free(&t->val);
    nn_data_layout_free(&t->layout);
    free(t->train_idx);
    free(t->val_idx);
    free(t->shift);
    free(t->mult);
    nn_model_free(t->model);
    free(t->X);
    free(t->dOut);
    free(t->T);
    free(t->y);
    free(t->order);
    nn_acc_free(&t->acc);
    free(t->opt_state);
}

/* The training data must suit the model: as many targets as outputs for
 * regression, labels within the outputs for classification. */
static int check_fit(const nn_dataset *d, const nn_source *src, int K, bool regression,
                     nn_error *err)
{
    if (regression) {
        if (d->n_targets != K) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: %d target columns for %d output units",
                         nn_source_name(src), d->n_targets, K);
            return -1;
        }
        return 0;
    }
    return nn_check_labels(d, K, nn_source_labels_name(src), err);
}

static int load_data(trainer *t, const nn_config *cfg, int K, nn_error *err)
{
    const nn_source *src = &cfg->train;
    if (nn_source_load(&t->train, &t->layout, src, NULL, 0, false, err) < 0)
        return -1;
    if (check_fit(&t->train, src, K, t->regression, err) < 0)
        return -1;
    if (t->train.n > UINT32_MAX) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %zu samples, at most %u are supported",
                     nn_source_name(src), t->train.n, UINT32_MAX);
        return -1;
    }
    if (cfg->has_validation) {
        const nn_source *vs = &cfg->validation;
        if (nn_source_load(&t->val, NULL, vs, t->train.class_names,
                           t->train.class_names ? t->train.n_classes : 0,
                           !t->train.class_names && !t->regression, err) < 0)
            return -1;
        if (t->val.features != t->train.features) {
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "%s: samples have %zu features, the training data %zu",
                         nn_source_name(vs), t->val.features, t->train.features);
            return -1;
        }
        if (check_fit(&t->val, vs, K, t->regression, err) < 0)
            return -1;
        /* A separate validation set: every row of each set, in file order. */
        if (nn_split(t->train.n, 0.0, cfg->seed, &t->train_idx, &t->n_train, &t->val_idx,
                     &t->n_val, err) < 0)
            return -1;
        uint32_t *unused = NULL;
        size_t n_unused = 0;
        if (nn_split(t->val.n, 0.0, cfg->seed, &t->val_idx, &t->n_val, &unused, &n_unused,
                     err) < 0)
            return -1;
        t->val_set = &t->val;
    } else {
        if (nn_split(t->train.n, cfg->validation_fraction, cfg->seed, &t->train_idx,
                     &t->n_train, &t->val_idx, &t->n_val, err) < 0)
            return -1;
        t->val_set = &t->train;
    }
    if (t->n_train == 0) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: no training samples left after taking %zu for validation",
                     nn_source_name(src), t->n_val);
        return -1;
    }
    return 0;
}

/* The checkpoint must describe the same network the config asks for. */
static int check_resumable(const nn_ckpt *c, const nn_config *cfg, nn_scale scale,
                           size_t features, const char *path, nn_error *err)
{
    if ((size_t)c->n_inputs != features) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: cannot resume: the checkpoint's model takes %d inputs, the data has %zu",
                     path, c->n_inputs, features);
        return -1;
    }
    if (c->n_layers != cfg->n_layers) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: cannot resume: the checkpoint has %d layers, the config %d", path,
                     c->n_layers, cfg->n_layers);
        return -1;
    }
    for (int l = 0; l < c->n_layers; l++) {
        if (c->units[l] != cfg->layers[l].units || c->act[l] != cfg->layers[l].act) {
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "%s: cannot resume: layer %d is %d %s units in the checkpoint, "
                         "%d %s in the config",
                         path, l, c->units[l], nn_act_name(c->act[l]), cfg->layers[l].units,
                         nn_act_name(cfg->layers[l].act));
            return -1;
        }
    }
    if (c->loss != cfg->loss || c->scale != scale || c->seed != cfg->seed) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: cannot resume: the checkpoint was trained with loss %s, scale %s, "
                     "seed %llu; the config has loss %s, scale %s, seed %llu",
                     path, nn_loss_name(c->loss), nn_scale_name(c->scale),
                     (unsigned long long)c->seed, nn_loss_name(cfg->loss),
                     nn_scale_name(scale), (unsigned long long)cfg->seed);
        return -1;
    }
    return 0;
}

/* Writes the training state to `path` (the checkpoint, or its .best twin). */
static int save_checkpoint_to(trainer *t, const nn_config *cfg, const char *path,
                              nn_error *err)
{
    nn_ckpt c = {0};
    nn_model *m = t->model;
    c.version = (char *)NN_VERSION;
    c.config_json = nn_config_to_json(cfg);
    if (!c.config_json) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory writing the checkpoint");
        return -1;
    }
    c.n_inputs = m->n_inputs;
    c.n_layers = m->n_layers;
    memcpy(c.units, m->units, sizeof c.units);
    memcpy(c.act, m->act, sizeof c.act);
    c.loss = cfg->loss;
    c.optimizer = cfg->optimizer;
    c.n_classes = t->regression ? 0 : t->train.n_classes;
    c.class_names = t->regression ? NULL : t->train.class_names;
    c.layout = t->layout;
    c.scale = t->scale;
    c.shift = t->shift;
    c.mult = t->mult;
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
    c.opt_state = t->opt_state;
    c.n_opt_state = t->n_opt_state;
    memcpy(c.alpha, m->alpha, sizeof c.alpha);
    c.huber_delta = cfg->huber_delta;
    c.best_val_loss = t->best_val_loss;
    c.best_epoch = t->best_epoch;
    c.bad_epochs = t->bad_epochs;
    c.stopped = t->stopped;
    double *acc_reg = NULL;
    if (t->batch > 0) { /* inside an epoch: where, and the metrics so far */
        c.batch = t->batch;
        memcpy(c.epoch_rng, t->epoch_rng.s, sizeof c.epoch_rng);
        c.acc_loss_sum = t->acc.loss_sum;
        c.acc_n = t->acc.n;
        c.acc_correct = t->acc.correct;
        if (t->acc.mean) {
            int K = t->acc.K;
            acc_reg = malloc(sizeof(double) * 4 * (size_t)K);
            if (!acc_reg) {
                free(c.config_json);
                nn_error_set(err, NN_EXIT_RUNTIME, "out of memory writing the checkpoint");
                return -1;
            }
            memcpy(acc_reg, t->acc.mean, sizeof(double) * (size_t)K);
            memcpy(acc_reg + K, t->acc.m2, sizeof(double) * (size_t)K);
            memcpy(acc_reg + 2 * K, t->acc.sse, sizeof(double) * (size_t)K);
            memcpy(acc_reg + 3 * K, t->acc.sae, sizeof(double) * (size_t)K);
            c.acc_k = K;
            c.acc_reg = acc_reg;
        }
    }
    int rc = nn_ckpt_save(path, &c, err);
    free(acc_reg);
    free(c.config_json);
    return rc;
}

static int save_checkpoint(trainer *t, const nn_config *cfg, nn_error *err)
{
    return save_checkpoint_to(t, cfg, cfg->checkpoint_path, err);
}

/* "layer 2 weights" etc.: the first place, input side first, where the
 * parameters or the last batch's outputs stopped being finite. */
static void first_bad_layer(const nn_model *m, int B, char *out, size_t cap)
{
    for (int l = 0; l < m->n_layers; l++) {
        int in = l == 0 ? m->n_inputs : m->units[l - 1];
        const float *W = m->params + m->w_off[l], *b = m->params + m->b_off[l];
        size_t nw = (size_t)in * (size_t)m->units[l], nb = (size_t)m->units[l];
        size_t ny = (size_t)B * (size_t)m->units[l];
        const char *what = NULL;
        for (size_t i = 0; i < nw && !what; i++)
            if (!isfinite(W[i]))
                what = "weights";
        for (size_t i = 0; i < nb && !what; i++)
            if (!isfinite(b[i]))
                what = "biases";
        for (size_t i = 0; i < ny && !what; i++)
            if (!isfinite(m->acts[l][i]))
                what = "outputs";
        if (what) {
            snprintf(out, cap, "first non-finite values in layer %d %s", l + 1, what);
            return;
        }
    }
    snprintf(out, cap, "parameters and outputs finite, the loss overflowed");
}

static int first_nonfinite(const float *p, size_t n, size_t *at)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(p[i])) {
            *at = i;
            return 1;
        }
    return 0;
}

/* One metric as " name value" (text) or ,"name":value (JSON); NaN omitted. */
static void put_metric(FILE *f, bool json, const char *prefix, const char *name, double v,
                       int digits)
{
    if (!isfinite(v))
        return;
    if (json)
        fprintf(f, ",\"%s_%s\":%.9g", prefix, name, v);
    else
        fprintf(f, "  %s_%s %.*f", prefix, name, digits, v);
}

static void put_metrics(FILE *f, bool json, const char *prefix, const nn_result *r,
                        bool regression)
{
    put_metric(f, json, prefix, "loss", r->loss, 6);
    if (regression) {
        put_metric(f, json, prefix, "mse", r->mse, 6);
        put_metric(f, json, prefix, "mae", r->mae, 6);
        put_metric(f, json, prefix, "r2", r->r2, 4);
    } else {
        put_metric(f, json, prefix, "accuracy", r->accuracy, 4);
    }
}

static void print_epoch(const nn_run_opts *o, const trainer *t, int64_t epochs, bool has_val,
                        double seconds, double rate)
{
    FILE *f = o->out;
    if (o->json)
        fprintf(f, "{\"epoch\":%lld", (long long)t->epoch);
    else
        fprintf(f, "epoch %lld/%lld", (long long)t->epoch, (long long)epochs);
    put_metrics(f, o->json, "train", &t->train_m, t->regression);
    if (has_val)
        put_metrics(f, o->json, "val", &t->val_m, t->regression);
    if (o->json)
        fprintf(f, ",\"seconds\":%.3f,\"samples_per_second\":%.0f}\n", seconds, rate);
    else
        fprintf(f, "  seconds %.2f  samples_per_second %.0f\n", seconds, rate);
    fflush(f);
}

static const char *kept(const trainer *t, const nn_config *cfg)
{
    return t->epoch > 0 && cfg->checkpoint_path ? "the last good checkpoint is kept"
                                                 : "no checkpoint was written";
}

/* Stops after a signal: saves where training stands and sets the error. */
static int interrupted(trainer *t, const nn_config *cfg, nn_error *err)
{
    int sig = stop_signal;
    const char *name = sig == SIGINT ? "SIGINT" : "SIGTERM";
    int code = sig == SIGINT ? NN_EXIT_SIGINT : NN_EXIT_SIGTERM;
    if (!cfg->checkpoint_path) {
        nn_error_set(err, code, "interrupted by %s at epoch %lld, batch %lld; no checkpoint.path, "
                                "nothing saved",
                     name, (long long)t->epoch + 1, (long long)t->batch);
        return -1;
    }
    if (save_checkpoint(t, cfg, err) < 0)
        return -1;
    if (t->batch > 0)
        nn_error_set(err, code,
                     "interrupted by %s at epoch %lld, batch %lld; checkpoint written to %s "
                     "(continue with --resume)",
                     name, (long long)t->epoch + 1, (long long)t->batch, cfg->checkpoint_path);
    else
        nn_error_set(err, code,
                     "interrupted by %s after epoch %lld; checkpoint written to %s (continue "
                     "with --resume)",
                     name, (long long)t->epoch, cfg->checkpoint_path);
    return -1;
}

/* Plain SGD (no momentum, no clipping) runs fused into the backward pass:
 * the weight gradients are consumed as the kernels compute them instead of
 * being stored and read again by the optimizer (nn_model_backward_sgd; the
 * same bits as the separate step). */
static bool fused_sgd(const nn_optim_cfg *c)
{
    return c->kind == NN_OPTIM_SGD && c->momentum == 0 && c->clip_norm == 0;
}

static int train_epochs(trainer *t, const nn_config *cfg, const nn_run_opts *o, nn_error *err)
{
    nn_model *m = t->model;
    int K = m->units[m->n_layers - 1];
    size_t bs = (size_t)cfg->batch_size;
    size_t batches = (t->n_train + bs - 1) / bs;
    bool has_val = t->n_val > 0;
    nn_progress bar;
    nn_progress_init(&bar, o->diag, o->progress);
    nn_model_zero_grad(m); /* from here on each update clears what it used */

    for (int64_t e = t->epoch + 1; e <= cfg->epochs; e++) {
        double started = nn_now();
        nn_prof_enabled = o->profile;
        nn_prof_reset();
        /* t->batch > 0 only when resuming an interrupted epoch: its rng and
         * running metrics were restored from the checkpoint */
        if (t->batch == 0) {
            t->epoch_rng = t->rng;
            if (nn_acc_init(&t->acc, K, t->regression, false, err) < 0)
                return -1;
        } else {
            t->rng = t->epoch_rng;
        }
        memcpy(t->order, t->train_idx, sizeof(uint32_t) * t->n_train);
        if (cfg->shuffle)
            nn_rng_shuffle(&t->rng, t->order, t->n_train);
        for (size_t b = (size_t)t->batch; b < batches; b++) {
            size_t off = b * bs;
            int B = (int)(t->n_train - off < bs ? t->n_train - off : bs);
            const uint32_t *rows = t->order + off;
            double t0 = nn_prof_begin();
            nn_batch_gather(t->X, &t->train, rows, (size_t)B, t->shift, t->mult);
            nn_batch_targets(t->T, &t->train, rows, (size_t)B, K);
            if (!t->regression)
                nn_batch_labels(t->y, &t->train, rows, (size_t)B);
            if (b + 1 < batches) /* the next batch's rows load while this one trains */
                nn_batch_prefetch(&t->train, rows + B,
                                  t->n_train - off - (size_t)B < bs ? t->n_train - off - (size_t)B
                                                                    : bs);
            nn_prof_end(NN_PROF_DATA, t0);
            t0 = nn_prof_begin();
            nn_rng drop;
            nn_rng_seed(&drop, cfg->seed ^ (uint64_t)t->step * 0x9E3779B97F4A7C15u,
                        NN_STREAM_DROPOUT);
            const float *yhat = nn_model_forward_train(m, t->X, B, &drop);
            nn_prof_end(NN_PROF_FORWARD, t0);
            t0 = nn_prof_begin();
            nn_act out_act = m->act[m->n_layers - 1];
            double loss = nn_loss_forward(cfg->loss, out_act, yhat, m->logits, t->T, B, K,
                                          cfg->huber_delta);
            if (!isfinite(loss)) {
                nn_progress_clear(&bar);
                char where[96];
                first_bad_layer(m, B, where, sizeof where);
                nn_error_set(err, NN_EXIT_RUNTIME,
                             "training diverged: the loss is %s at epoch %lld, batch %zu (%s; "
                             "lower optimizer.learning_rate); %s",
                             isnan(loss) ? "NaN" : "infinite", (long long)e, b + 1, where,
                             kept(t, cfg));
                return -1;
            }
            nn_acc_add(&t->acc, yhat, t->T, t->y, B, loss);
            nn_loss_backward(cfg->loss, out_act, t->dOut, yhat, m->logits, t->T, B, K,
                             cfg->huber_delta);
            nn_prof_end(NN_PROF_LOSS, t0);
            double lr = nn_schedule_lr(&t->sched, cfg->learning_rate, t->step, (int64_t)batches);
            if (fused_sgd(&t->optim)) {
                /* the update happens inside the backward pass; timed there */
                t0 = nn_prof_begin();
                nn_model_backward_sgd(m, t->X, t->dOut, B, nn_loss_fused(cfg->loss, out_act),
                                      (float)lr, (float)t->optim.weight_decay);
                nn_prof_end(NN_PROF_BACKWARD, t0);
                t0 = nn_prof_begin();
            } else {
                t0 = nn_prof_begin();
                nn_model_backward(m, t->X, t->dOut, B, NULL, nn_loss_fused(cfg->loss, out_act));
                nn_prof_end(NN_PROF_BACKWARD, t0);
                t0 = nn_prof_begin();
                if (t->optim.clip_norm > 0)
                    nn_optim_clip(m->grads, m->n_params, t->optim.clip_norm);
                /* the update leaves the gradients zero for the next backward pass */
                nn_optim_step_clear(&t->optim, m->params, m->grads, t->opt_state, m->n_params,
                                    t->decay, (size_t)m->n_layers, lr, t->step + 1);
            }
            nn_prof_end(NN_PROF_OPTIM, t0);
            t->step++;
            t->batch = (int64_t)b + 1;
            nn_progress_update(&bar, (long)e, (long)cfg->epochs, (long)b + 1, (long)batches,
                               started, (double)(off + (size_t)B));
            if (stop_signal && b + 1 < batches) {
                nn_progress_clear(&bar);
                return interrupted(t, cfg, err);
            }
        }
        nn_progress_clear(&bar);
        t->train_m = nn_acc_result(&t->acc);
        nn_acc_free(&t->acc);
        t->batch = 0;
        size_t at;
        if (first_nonfinite(m->params, m->n_params, &at)) {
            char where[96];
            first_bad_layer(m, 0, where, sizeof where);
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "training diverged: parameter %zu is not finite after epoch %lld, "
                         "batch %zu (%s; lower optimizer.learning_rate); %s",
                         at, (long long)e, batches, where, kept(t, cfg));
            return -1;
        }
        double train_seconds = nn_now() - started;
        if (o->profile)
            nn_prof_report(o->diag, o->json, (long long)e, train_seconds);
        t->epoch = e;
        t->val_m = nn_acc_result(&(nn_acc){0});
        nn_loss_spec ls = {cfg->loss, cfg->huber_delta};
        if (has_val && nn_measure(m, t->val_set, t->val_idx, t->n_val, t->shift, t->mult, &ls,
                                  t->regression, false, &t->val_m, NULL, err) < 0)
            return -1;
        /* early stopping and the best checkpoint follow the validation loss */
        bool improved = false;
        if (has_val) {
            double margin = cfg->early_stopping.enabled ? cfg->early_stopping.min_delta : 0.0;
            improved = t->best_epoch == 0 || t->val_m.loss < t->best_val_loss - margin;
            if (improved) {
                t->best_val_loss = t->val_m.loss;
                t->best_epoch = e;
                t->bad_epochs = 0;
            } else {
                t->bad_epochs++;
            }
            if (cfg->early_stopping.enabled && t->bad_epochs >= cfg->early_stopping.patience)
                t->stopped = 1;
        }
        double seconds = nn_now() - started;
        if (!o->quiet)
            print_epoch(o, t, cfg->epochs, has_val, seconds,
                        train_seconds > 0 ? (double)t->n_train / train_seconds : 0.0);
        if (improved && cfg->keep_best && cfg->checkpoint_path) {
            char best[4096];
            if (snprintf(best, sizeof best, "%s.best", cfg->checkpoint_path) >= (int)sizeof best) {
                nn_error_set(err, NN_EXIT_RUNTIME, "%s: path too long", cfg->checkpoint_path);
                return -1;
            }
            if (save_checkpoint_to(t, cfg, best, err) < 0)
                return -1;
        }
        bool due = cfg->checkpoint_every > 0 && e % cfg->checkpoint_every == 0;
        if (cfg->checkpoint_path && (due || e == cfg->epochs || t->stopped))
            if (save_checkpoint(t, cfg, err) < 0)
                return -1;
        if (t->stopped) {
            if (!o->quiet)
                fprintf(o->diag,
                        "nntrain: early stopping after epoch %lld: the validation loss has not "
                        "improved for %lld epochs (best %.6g at epoch %lld)\n",
                        (long long)e, (long long)t->bad_epochs, t->best_val_loss,
                        (long long)t->best_epoch);
            return 0;
        }
        if (stop_signal && e < cfg->epochs)
            return interrupted(t, cfg, err);
    }
    return 0;
}

/* Activation parameters, dropout, the optimizer, its state and the
 * schedule, from the config. */
static int setup_model(trainer *t, const nn_config *cfg, nn_error *err)
{
    nn_model *m = t->model;
    float rates[NN_MAX_LAYERS];
    for (int l = 0; l < cfg->n_layers; l++) {
        if (cfg->layers[l].act == NN_ACT_LEAKY_RELU || cfg->layers[l].act == NN_ACT_ELU)
            m->alpha[l] = (float)cfg->layers[l].alpha;
        rates[l] = (float)cfg->layers[l].dropout;
        t->decay[l].off = m->w_off[l];
        t->decay[l].count = m->b_off[l] - m->w_off[l];
    }
    if (nn_model_set_dropout(m, rates, err) < 0)
        return -1;
    t->optim = (nn_optim_cfg){(nn_optim_kind)cfg->optimizer, cfg->learning_rate, cfg->momentum,
                              cfg->nesterov, cfg->beta1, cfg->beta2, cfg->eps,
                              cfg->weight_decay, cfg->clip_norm};
    t->sched = (nn_schedule){(nn_sched_kind)cfg->schedule.name, cfg->schedule.gamma,
                             cfg->schedule.step_epochs, cfg->schedule.min_lr, cfg->epochs,
                             cfg->schedule.warmup_epochs};
    if (nn_optim_check(&t->optim, err) < 0 || nn_schedule_check(&t->sched, err) < 0)
        return -1;
    t->n_opt_state = nn_optim_state_size(&t->optim, m->n_params);
    if (t->n_opt_state) {
        t->opt_state = calloc(t->n_opt_state, sizeof(float));
        if (!t->opt_state) {
            nn_error_set(err, NN_EXIT_RUNTIME, "out of memory for the optimizer state");
            return -1;
        }
    }
    return 0;
}

int nn_train(const nn_config *cfg, const nn_run_opts *o, nn_error *err)
{
    trainer t = {0};
    nn_ckpt ck = {0};
    int rc = -1;
    int K = cfg->layers[cfg->n_layers - 1].units;
    int units[NN_MAX_LAYERS];
    nn_act act[NN_MAX_LAYERS];
    for (int l = 0; l < cfg->n_layers; l++) {
        units[l] = cfg->layers[l].units;
        act[l] = cfg->layers[l].act;
    }
    if (o->resume && !cfg->checkpoint_path) {
        nn_error_set(err, NN_EXIT_USAGE,
                     "--resume needs a checkpoint: set checkpoint.path or give --checkpoint");
        return -1;
    }
    if (cfg->keep_best && !cfg->checkpoint_path) {
        nn_error_set(err, NN_EXIT_USAGE,
                     "checkpoint.keep_best needs a checkpoint: set checkpoint.path or give "
                     "--checkpoint (the best checkpoint is written beside it, at PATH.best)");
        return -1;
    }
    t.regression = cfg->regression;
    if (load_data(&t, cfg, K, err) < 0)
        goto out;
    size_t F = t.train.features;
    t.scale = cfg->scale;
    if (t.scale == NN_SCALE_AUTO)
        t.scale = nn_dtype_max(t.train.type) > 0 ? NN_SCALE_UNIT : NN_SCALE_NONE;
    if (F > NN_MAX_FEATURES) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %zu features, at most %d are supported",
                     nn_source_name(&cfg->train), F, NN_MAX_FEATURES);
        goto out;
    }
    t.model = nn_model_create((int)F, cfg->n_layers, units, act, cfg->batch_size, err);
    t.shift = malloc(sizeof(float) * F);
    t.mult = malloc(sizeof(float) * F);
    t.X = malloc(sizeof(float) * F * (size_t)cfg->batch_size);
    t.dOut = malloc(sizeof(float) * (size_t)K * (size_t)cfg->batch_size);
    t.T = malloc(sizeof(float) * (size_t)K * (size_t)cfg->batch_size);
    t.y = malloc(sizeof(int32_t) * (size_t)cfg->batch_size);
    t.order = malloc(sizeof(uint32_t) * t.n_train);
    if (!t.model)
        goto out;
    if (!t.shift || !t.mult || !t.X || !t.dOut || !t.T || !t.y || !t.order) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory for training buffers");
        goto out;
    }
    t.train_m = t.val_m = nn_acc_result(&(nn_acc){0});
    t.best_val_loss = NAN;
    if (setup_model(&t, cfg, err) < 0)
        goto out;

    if (o->resume) {
        if (nn_ckpt_load(cfg->checkpoint_path, &ck, err) < 0)
            goto out;
        if (check_resumable(&ck, cfg, t.scale, F, cfg->checkpoint_path, err) < 0)
            goto out;
        memcpy(t.model->params, ck.params, sizeof(float) * t.model->n_params);
        if (ck.n_opt_state != t.n_opt_state || ck.optimizer != cfg->optimizer) {
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "%s: cannot resume: the checkpoint was trained with optimizer %s "
                         "(%zu state values), the config uses %s (%zu)",
                         cfg->checkpoint_path, nn_opt_name(ck.optimizer), ck.n_opt_state,
                         nn_opt_name(cfg->optimizer), t.n_opt_state);
            goto out;
        }
        if (t.n_opt_state)
            memcpy(t.opt_state, ck.opt_state, sizeof(float) * t.n_opt_state);
        t.best_val_loss = ck.best_val_loss;
        t.best_epoch = ck.best_epoch;
        t.bad_epochs = ck.bad_epochs;
        t.stopped = ck.stopped;
        memcpy(t.shift, ck.shift, sizeof(float) * F);
        memcpy(t.mult, ck.mult, sizeof(float) * F);
        memcpy(t.rng.s, ck.rng, sizeof t.rng.s);
        t.epoch = ck.epoch;
        t.step = ck.step;
        if (ck.batch > 0) { /* an interrupted epoch */
            size_t batches = (t.n_train + (size_t)cfg->batch_size - 1) / (size_t)cfg->batch_size;
            if ((uint64_t)ck.batch > batches || ck.acc_k != (t.regression ? K : 0)) {
                nn_error_set(err, NN_EXIT_RUNTIME,
                             "%s: cannot resume: the checkpoint stopped at batch %lld of an "
                             "epoch, the config's batch size gives %zu batches",
                             cfg->checkpoint_path, (long long)ck.batch, batches);
                goto out;
            }
            if (nn_acc_init(&t.acc, K, t.regression, false, err) < 0)
                goto out;
            t.batch = ck.batch;
            memcpy(t.epoch_rng.s, ck.epoch_rng, sizeof t.epoch_rng.s);
            t.acc.loss_sum = ck.acc_loss_sum;
            t.acc.n = (size_t)ck.acc_n;
            t.acc.correct = (size_t)ck.acc_correct;
            for (int k = 0; k < ck.acc_k; k++) {
                t.acc.mean[k] = ck.acc_reg[k];
                t.acc.m2[k] = ck.acc_reg[ck.acc_k + k];
                t.acc.sse[k] = ck.acc_reg[2 * ck.acc_k + k];
                t.acc.sae[k] = ck.acc_reg[3 * ck.acc_k + k];
            }
        }
        t.train_m.loss = ck.train_loss;
        t.train_m.accuracy = ck.train_accuracy;
        t.val_m.loss = ck.val_loss;
        t.val_m.accuracy = ck.val_accuracy;
        if (t.stopped && t.batch == 0) {
            if (!o->quiet)
                fprintf(o->diag,
                        "nntrain: %s: early stopping ended this training after epoch %lld "
                        "(best validation loss at epoch %lld): nothing to do\n",
                        cfg->checkpoint_path, (long long)t.epoch, (long long)t.best_epoch);
            rc = 0;
            goto out;
        }
        if (t.epoch >= cfg->epochs) {
            if (!o->quiet)
                fprintf(o->diag,
                        "nntrain: %s already has %lld epochs (training.epochs is %d): nothing "
                        "to do\n",
                        cfg->checkpoint_path, (long long)t.epoch, cfg->epochs);
            rc = 0;
            goto out;
        }
    } else {
        if (nn_scaler_fit(t.shift, t.mult, t.scale, &t.train, t.train_idx, t.n_train,
                          nn_source_name(&cfg->train), err) < 0)
            goto out;
        nn_rng init;
        nn_rng_seed(&init, cfg->seed, NN_STREAM_INIT);
        nn_init inits[NN_MAX_LAYERS];
        for (int l = 0; l < cfg->n_layers; l++)
            inits[l] = cfg->layers[l].init;
        nn_model_init(t.model, &init, inits);
        nn_rng_seed(&t.rng, cfg->seed, NN_STREAM_SHUFFLE);
        if (!cfg->checkpoint_path && !o->quiet)
            fprintf(o->diag, "nntrain: note: no checkpoint.path in the config, the trained "
                             "model will not be saved\n");
    }
    signal_guard guard;
    signals_catch(&guard);
    rc = train_epochs(&t, cfg, o, err);
    signals_restore(&guard);
out:
    nn_ckpt_free(&ck);
    trainer_free(&t);
    return rc;
}
