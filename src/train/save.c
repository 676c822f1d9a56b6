/* save.c - when a run writes its checkpoints, and the stop after a signal
 * (trainer.h).
 *
 * After each epoch: the best checkpoint (PATH.best) when the validation loss
 * improved and checkpoint.keep_best is set, then the latest (PATH) every
 * checkpoint.every_epochs epochs unless it was written less than
 * checkpoint.every_seconds ago, and always after the last epoch and when
 * early stopping ended the run.  After a stop: the latest, wherever the run
 * is (inside an epoch, the position is in it).  A checkpoint's bytes never
 * depend on the clock: the throttle only skips writes. */
#include <signal.h>
#include <stdio.h>

#include "train/trainer.h"
#include "util/clock.h"

bool nn_train_save_due(int64_t e, int64_t epochs, int every_epochs, double every_seconds,
                       double since_last, bool early_stopped)
{
    if (e >= epochs || early_stopped)
        return true;
    if (every_epochs <= 0 || e % every_epochs != 0)
        return false;
    return !(every_seconds > 0) || since_last >= every_seconds;
}

const char *nn_trainer_kept(const trainer *t)
{
    return t->epoch > 0 && t->cfg->checkpoint_path ? "the last good checkpoint is kept"
                                                   : "no checkpoint was written";
}

int nn_trainer_save_after_epoch(trainer *t, int64_t e, bool improved, nn_error *err)
{
    const nn_config *cfg = t->cfg;
    if (!cfg->checkpoint_path)
        return 0;
    if (improved && cfg->keep_best) {
        char best[4096];
        if (snprintf(best, sizeof best, "%s.best", cfg->checkpoint_path) >= (int)sizeof best) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: path too long", cfg->checkpoint_path);
            return -1;
        }
        if (nn_trainer_save(t, best, err) < 0)
            return -1;
    }
    /* the clock is rank 0's: every process must take the same decision */
    if (!nn_trainer_ranks_decide(t, nn_train_save_due(e, cfg->epochs, cfg->checkpoint_every,
                                                      cfg->checkpoint_every_seconds,
                                                      nn_now() - t->last_save, t->stopped)))
        return 0;
    if (nn_trainer_save(t, cfg->checkpoint_path, err) < 0)
        return -1;
    t->last_save = nn_now();
    return 0;
}

int nn_trainer_interrupted(trainer *t, nn_error *err)
{
    const nn_config *cfg = t->cfg;
    int sig = *t->o->stop;
    const char *name = sig == SIGINT ? "SIGINT" : "SIGTERM";
    int code = sig == SIGINT ? NN_EXIT_SIGINT : NN_EXIT_SIGTERM;
    if (!cfg->checkpoint_path) {
        nn_error_set(err, code, "interrupted by %s at epoch %lld, batch %lld; no checkpoint.path, "
                                "nothing saved",
                     name, (long long)t->epoch + 1, (long long)t->batch);
        err->scope = NN_ERR_SAME;
        return -1;
    }
    if (nn_trainer_save(t, cfg->checkpoint_path, err) < 0)
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
    err->scope = NN_ERR_SAME; /* every process stops here; rank 0 says so */
    return -1;
}
