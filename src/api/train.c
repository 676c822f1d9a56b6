/* train.c - nntrain_train (include/nntrain.h) and the command line's
 * nn_api_train (api.h): a config loaded with its overrides, trained by
 * nn_train or cross-validated by nn_cross_validate, the internal reports
 * turned into nntrain_event for the caller's callback. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "checkpoint/checkpoint.h"
#include "config/config.h"
#include "data/source.h"
#include "kernels/kernels.h"
#include "train/train.h"
#include "util/clock.h"

#define MAX_EPOCHS 1000000 /* training.epochs' range */

/* What the callbacks of nn_train_opts share. */
typedef struct {
    const nntrain_train_options *o;
    nn_api_train_hooks *h;
} bridge;

static nntrain_metrics metrics_of(const nn_result *r, bool regression)
{
    nntrain_metrics m = {.samples = (double)r->samples, .loss = r->loss};
    m.accuracy = regression ? NAN : r->accuracy;
    m.mse = regression ? r->mse : NAN;
    m.mae = regression ? r->mae : NAN;
    m.r2 = regression ? r->r2 : NAN;
    return m;
}

static void emit(const bridge *b, const nntrain_event *e)
{
    if (b->o->on_event)
        b->o->on_event(b->o->user, e);
}

static void on_start(void *ctx)
{
    nntrain_event e = {.type = NNTRAIN_EVENT_START};
    emit(ctx, &e);
}

static void on_epoch(void *ctx, const nn_epoch_report *r)
{
    nntrain_event e = {.type = NNTRAIN_EVENT_EPOCH,
                       .regression = r->regression,
                       .epoch = r->epoch,
                       .epochs = r->epochs,
                       .seconds = r->seconds,
                       .samples_per_second = r->samples_per_second,
                       .train = metrics_of(&r->train, r->regression),
                       .has_val = r->has_val};
    e.val = r->has_val ? metrics_of(&r->val, r->regression)
                       : (nntrain_metrics){NAN, NAN, NAN, NAN, NAN, NAN};
    emit(ctx, &e);
}

static void on_batch(void *ctx, const nn_batch_report *r)
{
    nntrain_event e = {.type = NNTRAIN_EVENT_BATCH,
                       .epoch = r->epoch,
                       .epochs = r->epochs,
                       .batch = r->batch,
                       .batches = r->batches,
                       .samples = r->samples,
                       .seconds = nn_now() - r->started};
    emit(ctx, &e);
}

static void on_profile(void *ctx, const nn_profile_report *r)
{
    const bridge *b = ctx;
    nntrain_event e = {.type = NNTRAIN_EVENT_PROFILE, .epoch = r->epoch, .seconds = r->seconds};
    for (int i = 0; i < NNTRAIN_PROFILE_PHASES && i < NN_PROF_PHASES; i++)
        e.phases[i] = r->phases[i];
    if (b->h)
        b->h->profile_comm = r->phases[NN_PROF_COMM];
    emit(b, &e);
}

static void on_note(void *ctx, const char *note)
{
    nntrain_event e = {.type = NNTRAIN_EVENT_NOTE, .note = note};
    emit(ctx, &e);
}

static void on_fold(void *ctx, const nn_fold_report *r)
{
    nntrain_event e = {.type = NNTRAIN_EVENT_FOLD,
                       .regression = r->regression,
                       .fold = r->fold,
                       .folds = r->folds,
                       .fold_train = r->n_train,
                       .fold_val = r->n_val,
                       .fold_metrics = metrics_of(&r->r, r->regression)};
    emit(ctx, &e);
}

static void on_end(void *ctx, const nn_train_summary *s)
{
    nntrain_event e = {.type = NNTRAIN_EVENT_END,
                       .regression = s->regression,
                       .epoch = s->final_epoch,
                       .epochs = s->epochs,
                       .samples = s->samples,
                       .seconds = s->seconds,
                       .train = metrics_of(&s->train, s->regression),
                       .has_val = s->has_val,
                       .signal = s->end == NN_END_SIGNAL ? s->signal : 0,
                       .epochs_run = s->epochs_run,
                       .best_epoch = s->best_epoch,
                       .best_val = metrics_of(&s->best_val, s->regression)};
    e.end = s->end == NN_END_SIGNAL            ? NNTRAIN_END_STOPPED
            : s->end == NN_END_EARLY_STOPPING ? NNTRAIN_END_EARLY_STOPPING
                                              : NNTRAIN_END_COMPLETED;
    e.val = s->has_val ? metrics_of(&s->val, s->regression)
                       : (nntrain_metrics){NAN, NAN, NAN, NAN, NAN, NAN};
    emit(ctx, &e);
}

/* The failure *e as the caller sees it: status s (NNTRAIN_OK: from the exit
 * code, divergence told by its kind), the internal record to the hooks. */
static nntrain_status fail(nntrain_error *err, nn_api_train_hooks *h, const nn_error *e,
                           nntrain_status s)
{
    if (s == NNTRAIN_OK && e->kind == NN_ERR_DIVERGED)
        s = NNTRAIN_ERR_DIVERGED; /* train/step.c, train/epoch.c */
    if (h && h->error)
        *h->error = *e;
    return nn_api_fail(err, e, s);
}

static nntrain_status argument(nntrain_error *err, nn_api_train_hooks *h, const char *msg)
{
    nntrain_status s = nn_api_argument(err, "nntrain_train: %s", msg);
    if (h && h->error)
        nn_error_set(h->error, NN_EXIT_USAGE, "nntrain_train: %s", msg);
    return s;
}

/* --epochs +N: the checkpoint's completed epochs plus N (an epoch
 * interrupted midway is one of the N). */
static int resumed_epochs(const char *path, long long more, int *epochs, nn_error *err)
{
    nn_ckpt c = {0};
    if (nn_ckpt_load(path, &c, err) < 0)
        return -1;
    long long total = (long long)c.epoch + more;
    nn_ckpt_free(&c);
    if (total > MAX_EPOCHS) {
        nn_error_set(err, NN_EXIT_USAGE,
                     "--epochs +%lld: %s already has %lld epochs, and training.epochs is at "
                     "most 1000000",
                     more, path, total - more);
        return -1;
    }
    *epochs = (int)total;
    return 0;
}

nntrain_status nn_api_train(const char *config_path, const nntrain_train_options *o,
                            nn_api_train_hooks *h, nntrain_error *err)
{
    static const nntrain_train_options defaults;
    if (!o)
        o = &defaults;
    if (!config_path)
        return argument(err, h, "config_path is NULL");
    if (o->n_sets < 0 || (o->n_sets > 0 && !o->sets))
        return argument(err, h, "sets is NULL or n_sets is negative");
    for (int i = 0; i < o->n_sets; i++)
        if (!o->sets[i])
            return argument(err, h, "a NULL string in sets");
    if (o->epochs < 0 || o->epochs > MAX_EPOCHS)
        return argument(err, h, "epochs is out of range (0 to 1000000)");
    if (o->cv_folds < 0 || o->cv_folds == 1)
        return argument(err, h, "cv_folds must be 0 or at least 2");
    if (o->cv_folds >= 2 && (o->resume || o->checkpoint || o->profile))
        return argument(err, h,
                        "cross-validation trains from scratch and writes no checkpoint: it "
                        "does not go with resume, checkpoint or profile");
    if (h && h->more_epochs > 0 && !o->resume)
        return argument(err, h, "more epochs go with resume");

    nn_error e = {0};
    nn_config cfg;
    if (nn_config_load_with_sets(&cfg, config_path, (char *const *)o->sets, o->n_sets, &e) < 0)
        return fail(err, h, &e, e.code == NN_EXIT_USAGE ? NNTRAIN_ERR_CONFIG : NNTRAIN_ERR_IO);
    nntrain_status s = NNTRAIN_OK;
    if (o->has_seed)
        cfg.seed = o->seed;
    if (o->epochs > 0 && !(h && h->more_epochs > 0))
        cfg.epochs = (int)o->epochs;
    if (o->checkpoint && nn_config_set_checkpoint(&cfg, o->checkpoint, &e) < 0)
        goto failed;
    if (h && h->more_epochs > 0 && cfg.checkpoint_path &&
        resumed_epochs(cfg.checkpoint_path, h->more_epochs, &cfg.epochs, &e) < 0)
        goto failed;
    if (h && h->data) {
        nn_source fresh;
        if (nn_source_from_spec(&fresh, h->data, NULL, &cfg.train, true, &e) < 0)
            goto failed;
        nn_source_clear(&cfg.train);
        cfg.train = fresh;
    }
    bridge b = {o, h};
    /* the kernels of the config's precision (nntrain_select_kernels's or NNTRAIN_ISA's family) */
    if (nn_kernels_select(cfg.precision, nn_api_family(cfg.precision), &e) < 0)
        goto failed;
    const char *kernel_note = nn_kernels_note();
    if (kernel_note) {
        char note[1100];
        snprintf(note, sizeof note, "note: %s", kernel_note);
        on_note(&b, note);
    }
    bool events = o->on_event != NULL;
    nn_train_opts to = {.resume = o->resume != 0,
                        .profile = o->profile != 0,
                        .stop = o->stop,
                        .ctx = &b,
                        .on_start = on_start,
                        .on_epoch = on_epoch,
                        .on_batch = events ? on_batch : NULL,
                        .progress = h ? h->progress : NULL,
                        .on_profile = on_profile,
                        .on_note = on_note,
                        .on_fatal = h ? h->on_fatal : NULL,
                        .fatal_ctx = h ? h->fatal_ctx : NULL,
                        .on_fold = on_fold,
                        .on_end = on_end};
    int rc = o->cv_folds >= 2 ? nn_cross_validate(&cfg, o->cv_folds, &to, &e)
                              : nn_train(&cfg, &to, &e);
    if (rc < 0)
        goto failed;
    nn_config_free(&cfg);
    return nn_api_ok(err);
failed:
    nn_config_free(&cfg);
    return fail(err, h, &e, s);
}

nntrain_status nntrain_train(const char *config_path, const nntrain_train_options *o,
                             nntrain_error *err)
{
    return nn_api_train(config_path, o, NULL, err);
}
