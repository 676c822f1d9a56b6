/* step.c - the mini-batches of one epoch, one training step each
 * (trainer.h; the step itself is described in train.h). */
#include <math.h>
#include <string.h>

#include "data/augment.h"
#include "data/batch.h"
#include "nn/loss.h"
#include "train/trainer.h"
#include "util/clock.h"

/* Plain SGD (no momentum, no clipping) runs fused into the backward pass:
 * the weight gradients are consumed as the kernels compute them instead of
 * being stored and read again by the optimizer (nn_model_backward_sgd; the
 * same bits as the separate step). */
static bool fused_sgd(const trainer *t)
{
    const nn_optim_cfg *c = &t->optim;
    /* several processes: the step needs the gradients summed over them first */
    return c->kind == NN_OPTIM_SGD && c->momentum == 0 && c->clip_norm == 0 && t->ranks <= 1;
}

/* Rows [off, off + B) of the epoch's order into X, T and y; the next
 * batch's rows start loading while this one trains.  Streaming: the pass's
 * next B rows, staged as stored, then converted the same way. */
static int load_batch(trainer *t, int64_t e, size_t off, int B, size_t next, nn_error *err)
{
    const nn_dataset *d = &t->train;
    const uint32_t *rows = t->order + off;
    if (t->streaming) {
        if (nn_trainer_stream_batch(t, B, err) < 0) /* the rows' numbers into aug_rows */
            return -1;
        d = &t->stage;
        rows = t->order;
        next = 0;
    }
    int K = nn_model_outputs(t->model);
    nn_batch_gather(t->X, d, rows, (size_t)B, t->shift, t->mult);
    if (t->aug_h) {
        const nn_augment_cfg *a = &t->cfg->augment;
        for (int i = 0; i < B && !t->streaming; i++)
            t->aug_rows[i] = rows[i];
        nn_augment_rows(t->X, (size_t)B, t->aug_h, t->aug_w, t->aug_rows, t->cfg->seed, e,
                        a->shift, a->flip, t->shift, t->mult, t->aug_tmp);
    }
    nn_batch_targets(t->T, d, rows, (size_t)B, K);
    if (!t->regression) {
        nn_batch_labels(t->y, d, rows, (size_t)B);
        nn_targets_smooth(t->T, (size_t)B, K, t->cfg->label_smoothing);
    }
    if (next > 0)
        nn_batch_prefetch(d, rows + B, next);
    return 0;
}

/* The update of one batch: backward and the optimizer's step at the
 * scheduled rate, leaving the gradients zero for the next one. */
static void update(trainer *t, int B, bool is_dz, size_t batches)
{
    nn_model *m = t->model;
    const nn_config *cfg = t->cfg;
    double lr = nn_schedule_lr(&t->sched, cfg->learning_rate, t->step, (int64_t)batches);
    double t0 = nn_prof_begin();
    if (fused_sgd(t)) {
        /* the update happens inside the backward pass; timed there */
        nn_model_backward_sgd(m, t->X, t->dOut, B, is_dz, (float)lr,
                              (float)t->optim.weight_decay);
        nn_prof_end(NN_PROF_BACKWARD, t0);
        t0 = nn_prof_begin();
    } else {
        nn_model_backward(m, t->X, t->dOut, B, NULL, is_dz);
        if (t->ranks > 1)
            nn_trainer_ranks_wait(t); /* the sums over the processes, started per layer */
        nn_prof_end(NN_PROF_BACKWARD, t0);
        t0 = nn_prof_begin();
        if (t->optim.clip_norm > 0)
            nn_optim_clip(m->grads, m->n_params, t->optim.clip_norm);
        /* training.ema's average in the same pass (see step()) */
        nn_optim_step_clear_ema(&t->optim, m->params, m->grads, t->opt_state, m->n_params,
                                t->decay, t->n_decay, lr, t->step + 1, t->ema,
                                (float)cfg->ema);
    }
    nn_prof_end(NN_PROF_OPTIM, t0);
}

/* One training step on rows [off, off + Bg) of the order (this process's
 * share of them when several share the batch): forward with this step's
 * dropout masks, the loss, and the update.  -1 with *err when the loss is
 * not finite. */
static int step(trainer *t, int64_t e, size_t b, size_t off, int Bg, size_t batches,
                nn_error *err)
{
    nn_model *m = t->model;
    const nn_config *cfg = t->cfg;
    int K = nn_model_outputs(m), first, B;
    nn_trainer_ranks_share(t, Bg, &first, &B);
    m->slicing.rows = Bg;
    size_t bs = (size_t)cfg->batch_size, left = t->n_train - off - (size_t)Bg;
    double t0 = nn_prof_begin();
    if (load_batch(t, e, off + (size_t)first, B, b + 1 < batches ? (left < bs ? left : bs) : 0,
                   err) < 0)
        return -1;
    nn_prof_end(NN_PROF_DATA, t0);

    t0 = nn_prof_begin();
    nn_rng drop;
    nn_rng_seed(&drop, cfg->seed ^ (uint64_t)t->step * 0x9E3779B97F4A7C15u, NN_STREAM_DROPOUT);
    const float *yhat = nn_model_forward_train(m, t->X, B, &drop);
    nn_prof_end(NN_PROF_FORWARD, t0);

    t0 = nn_prof_begin();
    nn_act out_act = nn_arch_output_act(&m->arch);
    double loss = nn_trainer_batch_loss(t, yhat, m->logits, t->T, B, Bg);
    if (!isfinite(loss)) { /* the same loss on every process: all stop here */
        char why[640];
        nn_trainer_diagnose(t, B, batches, why, sizeof why);
        nn_error_set(err, NN_EXIT_RUNTIME, "training diverged: the loss is %s at epoch %lld, "
                     "batch %zu: %s; %s", isnan(loss) ? "NaN" : "infinite", (long long)e, b + 1,
                     why, nn_trainer_kept(t));
        err->scope = NN_ERR_SAME;
        err->kind = NN_ERR_DIVERGED;
        return -1;
    }
    nn_trainer_ranks_metrics(t, yhat, B, loss);
    nn_loss_backward_rows(cfg->loss, out_act, t->dOut, yhat, m->logits, t->T, B, Bg, K,
                          cfg->huber_delta);
    nn_prof_end(NN_PROF_LOSS, t0);

    update(t, B, nn_loss_fused(cfg->loss, out_act), batches);
    if (t->ema && fused_sgd(t)) /* otherwise done in the optimizer's pass */
        nn_ema_update(t->ema, m->params, m->n_params, (float)cfg->ema);
    t->step++;
    return 0;
}

/* The start of an epoch: its generator and running metrics (restored from
 * the checkpoint when resuming inside it), and its order of the rows (a
 * streamed source: the epoch's pass, from the batch it resumes at). */
static int begin(trainer *t, int64_t e, nn_error *err)
{
    if (t->batch == 0) {
        t->epoch_rng = t->rng;
        if (nn_acc_init(&t->acc, nn_model_outputs(t->model), t->regression, false, err) < 0)
            return -1;
        t->acc.target_std = t->target_std;
    } else {
        t->rng = t->epoch_rng;
    }
    if (t->streaming)
        return nn_trainer_stream_begin(t, e, err);
    memcpy(t->order, t->train_idx, sizeof(uint32_t) * t->n_train);
    if (t->cfg->shuffle)
        nn_rng_shuffle(&t->rng, t->order, t->n_train);
    return 0;
}

/* Streaming: a long epoch is not lost, so checkpoint.every_seconds also
 * applies between its batches (the checkpoint says where in the epoch). */
static int mid_epoch_save(trainer *t, nn_error *err)
{
    const nn_config *cfg = t->cfg;
    if (!cfg->checkpoint_path || !(cfg->checkpoint_every_seconds > 0))
        return 0;
    /* several processes: rank 0's clock decides, for all of them */
    if (!nn_trainer_ranks_decide(t, nn_now() - t->last_save >= cfg->checkpoint_every_seconds))
        return 0;
    if (nn_trainer_save(t, cfg->checkpoint_path, err) < 0)
        return -1;
    t->last_save = nn_now();
    return 0;
}

int nn_trainer_run_epoch(trainer *t, int64_t e, double started, nn_error *err)
{
    const nn_train_opts *o = t->o;
    size_t bs = (size_t)t->cfg->batch_size, batches = (t->n_train + bs - 1) / bs;
    nn_prof_enabled = o->profile;
    nn_prof_reset();
    if (begin(t, e, err) < 0)
        return -1;
    int rc = 0;
    for (size_t b = (size_t)t->batch; b < batches && rc == 0; b++) {
        size_t off = b * bs;
        int B = (int)(t->n_train - off < bs ? t->n_train - off : bs);
        if (step(t, e, b, off, B, batches, err) < 0) {
            rc = -1;
            break;
        }
        t->batch = (int64_t)b + 1;
        t->samples_run += B;
        if (o->on_batch) {
            nn_batch_report r = {e, t->cfg->epochs, (int64_t)b + 1, (int64_t)batches, started,
                                 (double)(off + (size_t)B)};
            o->on_batch(o->ctx, &r);
        }
        /* a stop on any process stops them all, at the same batch */
        if (nn_trainer_ranks_any(t, o->stop && *o->stop) && b + 1 < batches)
            rc = 1;
        else if (rc == 0 && t->streaming && b + 1 < batches && mid_epoch_save(t, err) < 0)
            rc = -1;
    }
    nn_trainer_stream_end(t);
    return rc;
}
