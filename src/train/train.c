/* train.c - nn_train: setting a run up, the loop over its epochs, and
 * cleaning up (train.h; the other files of src/train are listed in
 * trainer.h). */
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/batch.h"
#include "data/source.h"
#include "eval/measure.h"
#include "dist/dist.h"
#include "pool/pool.h"
#include "train/trainer.h"
#include "util/clock.h"

void nn_trainer_note(const trainer *t, const char *fmt, ...)
{
    if (!t->o->on_note)
        return;
    char note[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(note, sizeof note, fmt, ap);
    va_end(ap);
    t->o->on_note(t->o->ctx, note);
}

static void trainer_free(trainer *t)
{
    free(t->aug_rows);
    free(t->ema);
    free(t->ema_hold);
    free(t->aug_tmp);
    nn_trainer_stream_free(t);
    nn_dataset_free(&t->train);
    nn_dataset_free(&t->val);
    nn_data_layout_free(&t->layout);
    free(t->train_idx);
    free(t->val_idx);
    free(t->test_idx);
    free(t->target_mean);
    free(t->target_std);
    free(t->shift);
    free(t->mult);
    nn_trainer_ranks_free(t);
    nn_model_free(t->model);
    free(t->X);
    free(t->dOut);
    free(t->T);
    free(t->y);
    free(t->order);
    nn_acc_free(&t->acc);
    nn_history_free(&t->hist);
    free(t->opt_state);
}

/* The optimizer, its state and the schedule, from the config. */
static int setup_optimizer(trainer *t, nn_error *err)
{
    const nn_config *cfg = t->cfg;
    nn_model *m = t->model;
    t->n_decay = nn_model_decay_ranges(m, t->decay, sizeof t->decay / sizeof t->decay[0]);
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

/* data.augment: the training images' size, and the buffers. */
static int setup_augment(trainer *t, nn_error *err)
{
    const nn_augment_cfg *a = &t->cfg->augment;
    if (!a->enabled || (a->shift == 0 && !a->flip))
        return 0;
    const nn_dataset *d = &t->train;
    const char *name = nn_source_name(&t->cfg->train);
    if (d->ndim != 3) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: data.augment needs images (samples of 2 dimensions, as IDX images or "
                     "an NPY array of shape (n, height, width)); its samples have %d",
                     name, d->ndim > 0 ? d->ndim - 1 : 1);
        return -1;
    }
    int H = (int)d->dims[1], W = (int)d->dims[2];
    if (a->shift >= H || a->shift >= W) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: data.augment.shift (%d) must be below the images' height and width "
                     "(%d x %d)",
                     name, a->shift, H, W);
        return -1;
    }
    size_t bs = (size_t)t->cfg->batch_size;
    t->aug_rows = malloc(sizeof(uint64_t) * bs);
    t->aug_tmp = malloc(sizeof(float) * (size_t)H * (size_t)W);
    if (!t->aug_rows || !t->aug_tmp) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory for augmentation");
        return -1;
    }
    t->aug_h = H;
    t->aug_w = W;
    return 0;
}

/* The data, the model of the config's architecture over the data's
 * features, the optimizer and the batch buffers. */
static int setup(trainer *t, nn_error *err)
{
    const nn_config *cfg = t->cfg;
    int K = cfg->layers[cfg->n_layers - 1].units;
    /* the products in training.precision: a caller that selected kernels of
     * the other precision (or none) gets the best of this one (the command
     * line has selected them already, NNTRAIN_ISA included) */
    if (nn_kernels_precision() != cfg->precision &&
        nn_kernels_select(cfg->precision, NULL, err) < 0)
        return -1;
    t->regression = cfg->regression;
    if (nn_trainer_load_data(t, K, err) < 0)
        return -1;
    size_t F = t->train.features, bs = (size_t)cfg->batch_size;
    t->scale = cfg->scale;
    t->scale = nn_scale_resolve(t->scale, t->train.type);
    nn_arch arch;
    if (nn_arch_from_layers(&arch, (int)F, cfg->layers, cfg->n_layers, err) < 0 ||
        nn_trainer_check_batches(t, &arch, err) < 0)
        return -1;
    t->model = nn_model_create(&arch, cfg->batch_size, err);
    if (!t->model ||
        nn_model_set_slices(t->model, cfg->slices, 0, cfg->slices,
                            nn_pool_threads_for(NN_POOL_MIN_FLOPS), err) < 0)
        return -1;
    t->shift = malloc(sizeof(float) * F);
    t->mult = malloc(sizeof(float) * F);
    /* the batch the first layer reads, on a cache-line boundary like the
     * model's buffers (malloc aligns large blocks to 16 bytes only) */
    t->X = aligned_alloc(64, (sizeof(float) * F * bs + 63) / 64 * 64);
    t->dOut = malloc(sizeof(float) * (size_t)K * bs);
    t->T = malloc(sizeof(float) * (size_t)K * bs);
    t->y = malloc(sizeof(int32_t) * bs);
    /* the epoch's order of the rows; streaming: the rows of the staged batch */
    t->order = malloc(sizeof(uint32_t) * (t->streaming ? bs : t->n_train));
    if (!t->shift || !t->mult || !t->X || !t->dOut || !t->T || !t->y || !t->order) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory for training buffers");
        return -1;
    }
    if (t->streaming)
        for (size_t i = 0; i < bs; i++)
            t->order[i] = (uint32_t)i;
    if (setup_augment(t, err) < 0)
        return -1;
    if (cfg->ema > 0) {
        t->ema = malloc(sizeof(float) * t->model->n_params);
        t->ema_hold = malloc(sizeof(float) * t->model->n_params);
        if (!t->ema || !t->ema_hold) {
            nn_error_set(err, NN_EXIT_RUNTIME, "out of memory for the moving average");
            return -1;
        }
    }
    if (nn_trainer_ranks_setup(t, err) < 0)
        return -1;
    t->train_m = t->val_m = nn_acc_result(&(nn_acc){0});
    t->best_val_loss = NAN;
    return setup_optimizer(t, err);
}

/* A fresh run: the scaling fitted on the training rows, the initial
 * weights and the shuffling generator from the seed. */
static int start(trainer *t, nn_error *err)
{
    const nn_config *cfg = t->cfg;
    if (t->streaming) { /* fitted by the opening pass */
        memcpy(t->shift, t->stream_shift, sizeof(float) * t->train.features);
        memcpy(t->mult, t->stream_mult, sizeof(float) * t->train.features);
        if (t->stream_tmean &&
            nn_trainer_scale_targets(t, t->stream_tmean, t->stream_tstd, err) < 0)
            return -1;
    } else if (nn_scaler_fit(t->shift, t->mult, t->scale, &t->train, t->train_idx, t->n_train,
                             nn_source_name(&cfg->train), err) < 0)
        return -1;
    if (!t->streaming && t->regression && cfg->scale_targets) {
        size_t K = (size_t)t->train.n_targets;
        double *mean = malloc(sizeof(double) * K), *sd = malloc(sizeof(double) * K);
        int rc = -1;
        if (!mean || !sd)
            nn_error_set(err, NN_EXIT_RUNTIME, "out of memory for the target scaling");
        else {
            nn_target_scaler_fit(mean, sd, &t->train, t->train_idx, t->n_train);
            rc = nn_trainer_scale_targets(t, mean, sd, err);
        }
        free(mean);
        free(sd);
        if (rc < 0)
            return -1;
    }
    nn_rng init;
    nn_rng_seed(&init, cfg->seed, NN_STREAM_INIT);
    nn_model_init(t->model, &init);
    if (t->ema) /* the average starts at the initial weights */
        memcpy(t->ema, t->model->params, sizeof(float) * t->model->n_params);
    nn_rng_seed(&t->rng, cfg->seed, NN_STREAM_SHUFFLE);
    if (!cfg->checkpoint_path && !t->cv_folds)
        nn_trainer_note(t, "note: no checkpoint.path in the config, the trained model will not "
                           "be saved");
    return 0;
}

/* A resumed run that has nothing left to do says so and ends. */
static bool finished(const trainer *t)
{
    const nn_config *cfg = t->cfg;
    if (t->stopped && t->batch == 0) {
        nn_trainer_note(t, "%s: early stopping ended this training after epoch %lld (best "
                           "validation loss at epoch %lld): nothing to do",
                        cfg->checkpoint_path, (long long)t->epoch, (long long)t->best_epoch);
        return true;
    }
    if (t->epoch >= cfg->epochs) {
        nn_trainer_note(t, "%s already has %lld epochs (training.epochs is %d): nothing to do",
                        cfg->checkpoint_path, (long long)t->epoch, cfg->epochs);
        return true;
    }
    return false;
}

/* A stop asked for on any process (the same answer on all). */
static bool stop_asked(const trainer *t)
{
    return nn_trainer_ranks_any(t, t->o->stop && *t->o->stop);
}

/* Epoch after epoch: the batches, the end of the epoch, its checkpoints. */
static int run(trainer *t, nn_error *err)
{
    const nn_config *cfg = t->cfg;
    nn_model_zero_grad(t->model); /* from here on each update clears what it used */
    for (int64_t e = t->epoch + 1; e <= cfg->epochs; e++) {
        double started = nn_now();
        bool improved;
        int rc = nn_trainer_run_epoch(t, e, started, err);
        if (rc < 0)
            return -1;
        if (rc > 0)
            return nn_trainer_interrupted(t, err);
        if (nn_trainer_end_epoch(t, e, started, &improved, err) < 0 ||
            nn_trainer_save_after_epoch(t, e, improved, err) < 0)
            return -1;
        if (t->stopped) {
            nn_trainer_note(t, "early stopping after epoch %lld: the validation loss has not "
                               "improved for %lld epochs (best %.6g at epoch %lld)",
                            (long long)e, (long long)t->bad_epochs, t->best_val_loss,
                            (long long)t->best_epoch);
            return 0;
        }
        if (stop_asked(t) && e < cfg->epochs)
            return nn_trainer_interrupted(t, err);
    }
    return 0;
}

/* One fold of --cv: trained as a fresh run without checkpoints, then
 * measured on the fold's rows. */
static int train_fold(const nn_config *cfg, const nn_train_opts *o, int folds, int f,
                      nn_fold_report *r, nn_error *err)
{
    trainer t = {0};
    t.cfg = cfg;
    t.o = o;
    t.cv_folds = folds;
    t.cv_fold = f;
    int rc = setup(&t, err);
    if (rc == 0)
        rc = start(&t, err);
    if (rc == 0)
        rc = run(&t, err);
    if (rc == 0) {
        nn_loss_spec ls = {cfg->loss, cfg->huber_delta, t.target_std, cfg->label_smoothing};
        *r = (nn_fold_report){f + 1, folds, t.regression, t.n_train, t.n_val, {0}};
        rc = nn_measure(t.model, &t.train, t.test_idx, t.n_test, t.shift, t.mult, &ls,
                        t.regression, false, &r->r, NULL, err);
    }
    trainer_free(&t);
    return rc;
}

int nn_cross_validate(const nn_config *cfg, int folds, const nn_train_opts *o, nn_error *err)
{
    if (folds < 2) {
        nn_error_set(err, NN_EXIT_USAGE, "--cv: expected at least 2 folds, found %d", folds);
        return -1;
    }
    if (nn_dist_size() > 1) {
        nn_error_set(err, NN_EXIT_USAGE, "--cv runs in one process: start it without mpirun");
        err->scope = NN_ERR_SAME;
        return -1;
    }
    /* no checkpoints: a copy of the config without a path or a best one */
    nn_config c = *cfg;
    c.checkpoint = c.checkpoint_path = NULL;
    c.keep_best = false;
    if (cfg->test_fraction > 0 && o->on_note)
        o->on_note(o->ctx, "note: --cv ignores data.test_fraction: each row is tested once, "
                           "in its fold");
    for (int f = 0; f < folds; f++) {
        if (o->stop && *o->stop) {
            int sig = *o->stop;
            nn_error_set(err, sig == SIGINT ? NN_EXIT_SIGINT : NN_EXIT_SIGTERM,
                         "interrupted by %s in fold %d of %d; nothing is saved by --cv",
                         sig == SIGINT ? "SIGINT" : "SIGTERM", f + 1, folds);
            return -1;
        }
        nn_fold_report r;
        if (train_fold(&c, o, folds, f, &r, err) < 0)
            return -1;
        if (o->on_fold)
            o->on_fold(o->ctx, &r);
    }
    return 0;
}

/* An earlier run's best epoch (before a --resume): its validation metrics
 * from the checkpoint's history, when the history kept that epoch. */
static void best_from_history(const trainer *t, int64_t epoch, nn_result *r)
{
    const nn_history *h = &t->hist;
    for (size_t i = 0; i < h->n; i++) {
        if (h->epochs[i] != epoch)
            continue;
        const double *v = h->values + i * (size_t)h->n_metrics;
        int k;
        if ((k = nn_history_find(h, "val_accuracy")) >= 0)
            r->accuracy = v[k];
        if ((k = nn_history_find(h, "val_mse")) >= 0)
            r->mse = v[k];
        if ((k = nn_history_find(h, "val_mae")) >= 0)
            r->mae = v[k];
        if ((k = nn_history_find(h, "val_r2")) >= 0)
            r->r2 = v[k];
        return;
    }
}

/* The run's summary to on_end: it completed, early stopping ended it, or a
 * signal stopped it (its checkpoint written). */
static void summarize(const trainer *t, bool stopped_by_signal)
{
    nn_train_summary s = {0};
    s.end = stopped_by_signal ? NN_END_SIGNAL
            : t->stopped      ? NN_END_EARLY_STOPPING
                              : NN_END_COMPLETED;
    s.signal = stopped_by_signal ? (int)*t->o->stop : 0;
    s.epochs = t->cfg->epochs;
    s.final_epoch = t->epoch;
    s.epochs_run = t->epoch - (t->first_epoch - 1);
    s.regression = t->regression;
    s.train = t->train_m;
    s.has_val = t->n_val > 0;
    s.val = t->val_m;
    s.best_epoch = s.has_val ? t->best_epoch : 0;
    s.best_val = nn_acc_result(&(nn_acc){0});
    if (t->best_val_known)
        s.best_val = t->best_val_m;
    else if (s.best_epoch > 0)
        best_from_history(t, s.best_epoch, &s.best_val);
    s.best_val.loss = t->best_val_loss;
    s.seconds = nn_now() - t->started;
    s.samples = t->samples_run;
    t->o->on_end(t->o->ctx, &s);
}

/* Several processes: one that failed to set up (its own message) stops
 * the others too, before anything waits for it. */
static int agree(int rc, nn_error *err)
{
    bool mine = rc < 0;
    rc = nn_trainer_agree(rc, "another process could not start the run", err);
    if (mine && err->scope == NN_ERR_HERE)
        err->scope = NN_ERR_OWN; /* all stop here; each says why */
    return rc;
}

int nn_train(const nn_config *cfg, const nn_train_opts *o, nn_error *err)
{
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
    trainer t = {0};
    t.cfg = cfg;
    t.o = o;
    int rc = 0;
    if (o->resume) { /* the data is read as the checkpoint's was: streamed or in memory */
        nn_ckpt c = {0};
        rc = nn_trainer_load_ckpt(&t, cfg->checkpoint_path, &c, err);
        t.resume_known = rc == 0;
        t.resume_block = c.stream_block;
        t.resume_window = c.stream_window;
        nn_ckpt_free(&c);
    }
    if (rc == 0)
        rc = setup(&t, err);
    rc = agree(rc, err);
    if (rc == 0 && o->resume) {
        rc = nn_trainer_restore(&t, err);
        if (rc == 0 && finished(&t)) {
            trainer_free(&t);
            return 0;
        }
    } else if (rc == 0) {
        rc = start(&t, err);
    }
    rc = agree(rc, err);
    if (rc == 0)
        rc = nn_trainer_ranks_check(&t, err);
    if (rc == 0) {
        if (o->on_start)
            o->on_start(o->ctx);
        t.started = t.last_save = nn_now();
        t.first_epoch = t.epoch + 1;
        rc = run(&t, err);
        if (rc == 0)
            nn_trainer_stream_report(&t);
        bool stopped_by_signal = rc < 0 && (err->code == NN_EXIT_SIGINT ||
                                            err->code == NN_EXIT_SIGTERM);
        if ((rc == 0 || stopped_by_signal) && o->on_end)
            summarize(&t, stopped_by_signal);
    }
    trainer_free(&t);
    return rc;
}
