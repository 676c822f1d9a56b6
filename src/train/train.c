/* train.c - nn_train: setting a run up, the loop over its epochs, and
 * cleaning up (train.h; the other files of src/train are listed in
 * trainer.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "data/batch.h"
#include "data/source.h"
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

/* The data, the model of the config's architecture over the data's
 * features, the optimizer and the batch buffers. */
static int setup(trainer *t, nn_error *err)
{
    const nn_config *cfg = t->cfg;
    int K = cfg->layers[cfg->n_layers - 1].units;
    t->regression = cfg->regression;
    if (nn_trainer_load_data(t, K, err) < 0)
        return -1;
    size_t F = t->train.features, bs = (size_t)cfg->batch_size;
    t->scale = cfg->scale;
    if (t->scale == NN_SCALE_AUTO)
        t->scale = nn_dtype_max(t->train.type) > 0 ? NN_SCALE_UNIT : NN_SCALE_NONE;
    nn_arch arch;
    if (nn_arch_from_layers(&arch, (int)F, cfg->layers, cfg->n_layers, err) < 0 ||
        nn_trainer_check_batches(t, &arch, err) < 0)
        return -1;
    t->model = nn_model_create(&arch, cfg->batch_size, err);
    if (!t->model)
        return -1;
    t->shift = malloc(sizeof(float) * F);
    t->mult = malloc(sizeof(float) * F);
    t->X = malloc(sizeof(float) * F * bs);
    t->dOut = malloc(sizeof(float) * (size_t)K * bs);
    t->T = malloc(sizeof(float) * (size_t)K * bs);
    t->y = malloc(sizeof(int32_t) * bs);
    t->order = malloc(sizeof(uint32_t) * t->n_train);
    if (!t->shift || !t->mult || !t->X || !t->dOut || !t->T || !t->y || !t->order) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory for training buffers");
        return -1;
    }
    t->train_m = t->val_m = nn_acc_result(&(nn_acc){0});
    t->best_val_loss = NAN;
    return setup_optimizer(t, err);
}

/* A fresh run: the scaling fitted on the training rows, the initial
 * weights and the shuffling generator from the seed. */
static int start(trainer *t, nn_error *err)
{
    const nn_config *cfg = t->cfg;
    if (nn_scaler_fit(t->shift, t->mult, t->scale, &t->train, t->train_idx, t->n_train,
                      nn_source_name(&cfg->train), err) < 0)
        return -1;
    nn_rng init;
    nn_rng_seed(&init, cfg->seed, NN_STREAM_INIT);
    nn_model_init(t->model, &init);
    nn_rng_seed(&t->rng, cfg->seed, NN_STREAM_SHUFFLE);
    if (!cfg->checkpoint_path)
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

static bool stop_asked(const trainer *t)
{
    return t->o->stop && *t->o->stop;
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
    int rc = setup(&t, err);
    if (rc == 0 && o->resume) {
        rc = nn_trainer_restore(&t, err);
        if (rc == 0 && finished(&t)) {
            trainer_free(&t);
            return 0;
        }
    } else if (rc == 0) {
        rc = start(&t, err);
    }
    if (rc == 0) {
        if (o->on_start)
            o->on_start(o->ctx);
        rc = run(&t, err);
    }
    trainer_free(&t);
    return rc;
}
