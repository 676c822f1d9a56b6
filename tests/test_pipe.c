/* test_pipe.c - runs that are not lost: the checkpoint throttle
 * (checkpoint.every_seconds), --predict stopping when its reader goes away,
 * and the end-of-training summary's numbers (on_end). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint/checkpoint.h"
#include "config/config.h"
#include "data/idx.h"
#include "eval/predict.h"
#include "tests.h"
#include "train/train.h"
#include "util/rng.h"

/* ---- the throttle's decision -------------------------------------------------------- */

START_TEST(test_save_due_follows_every_epochs_without_throttle)
{
    /* every_seconds 0: today's policy, whatever the clock says */
    for (int e = 1; e <= 9; e++) {
        ck_assert(nn_train_save_due(e, 10, 1, 0, 0.0, false));
        ck_assert_int_eq(nn_train_save_due(e, 10, 3, 0, 0.0, false), e % 3 == 0);
        ck_assert(!nn_train_save_due(e, 10, 0, 0, 1e9, false)); /* 0: only the last */
    }
    ck_assert(nn_train_save_due(10, 10, 3, 0, 0.0, false));
    ck_assert(nn_train_save_due(10, 10, 0, 0, 0.0, false));
}
END_TEST

START_TEST(test_save_due_skips_a_periodic_write_within_every_seconds)
{
    ck_assert(!nn_train_save_due(4, 10, 1, 5, 0.0, false));
    ck_assert(!nn_train_save_due(4, 10, 1, 5, 4.999, false));
    ck_assert(nn_train_save_due(4, 10, 1, 5, 5.0, false));
    ck_assert(nn_train_save_due(4, 10, 1, 5, 60.0, false));
    /* the time never makes a write that every_epochs does not ask for */
    ck_assert(!nn_train_save_due(4, 10, 3, 5, 60.0, false));
    ck_assert(nn_train_save_due(6, 10, 3, 5, 60.0, false));
    ck_assert(!nn_train_save_due(6, 10, 3, 5, 1.0, false));
}
END_TEST

START_TEST(test_save_due_always_writes_the_last_epoch_and_early_stopping)
{
    ck_assert(nn_train_save_due(10, 10, 1, 1e9, 0.0, false));
    ck_assert(nn_train_save_due(10, 10, 7, 1e9, 0.0, false));
    ck_assert(nn_train_save_due(3, 10, 1, 1e9, 0.0, true)); /* early stopping ended it */
    ck_assert(nn_train_save_due(3, 10, 0, 1e9, 0.0, true));
}
END_TEST

/* ---- training with the throttle --------------------------------------------------- */

/* n samples of 4 byte features, two classes: class 1 has features 0 and 1 high */
static void write_data(const char *stem, int n)
{
    nn_rng r;
    nn_rng_seed(&r, 7, 0);
    uint8_t *x = malloc((size_t)n * 4), *y = malloc((size_t)n);
    ck_assert(x && y);
    for (int i = 0; i < n; i++) {
        y[i] = (uint8_t)(i % 2);
        for (int f = 0; f < 4; f++)
            x[i * 4 + f] = (uint8_t)((f < 2 && y[i] ? 180 : 0) + nn_rng_below(&r, 76));
    }
    nn_error e = {0};
    uint32_t dims[2] = {(uint32_t)n, 4}, ldim[1] = {(uint32_t)n};
    char name[64];
    snprintf(name, sizeof name, "%s-images.idx", stem);
    ck_assert_int_eq(nn_idx_write(nn_test_path(name), 0, NN_DT_U8, 2, dims, x, &e), 0);
    snprintf(name, sizeof name, "%s-labels.idx", stem);
    ck_assert_int_eq(nn_idx_write(nn_test_path(name), 0, NN_DT_U8, 1, ldim, y, &e), 0);
    free(x);
    free(y);
}

/* a config over train-*.idx with a validation split, checkpoint `ckpt` */
static void load_config(nn_config *cfg, const char *ckpt, const char *checkpoint_extra)
{
    char text[2048];
    snprintf(text, sizeof text,
             "{\"seed\": 5,"
             " \"data\": {\"train\": {\"images\": \"train-images.idx\", \"labels\": "
             "\"train-labels.idx\"}, \"validation_fraction\": 0.25, \"scale\": \"unit\"},"
             " \"model\": {\"layers\": [{\"units\": 4, \"activation\": \"sigmoid\"},"
             "                        {\"units\": 2, \"activation\": \"sigmoid\"}]},"
             " \"optimizer\": {\"name\": \"sgd\", \"learning_rate\": 0.5},"
             " \"training\": {\"epochs\": 6, \"batch_size\": 8},"
             " \"checkpoint\": {\"path\": \"%s\", \"every_epochs\": 1 %s}}",
             ckpt, checkpoint_extra);
    const char *path = nn_test_put("c.json", text);
    nn_error e = {0};
    ck_assert_msg(nn_config_load(cfg, path, &e) == 0, "%s", e.msg);
}

typedef struct {
    const char *ckpt;
    int epochs, with_file; /* epochs reported, and how many found the checkpoint there */
} watch;

/* on_epoch runs before the epoch's checkpoints are written: the file seen
 * there was written after an earlier epoch */
static void watch_epoch(void *ctx, const nn_epoch_report *r)
{
    watch *w = ctx;
    (void)r;
    w->epochs++;
    w->with_file += access(w->ckpt, F_OK) == 0;
}

static void train_watched(const char *extra, const char *ckpt_name, watch *w)
{
    nn_config cfg;
    w->ckpt = strdup(nn_test_path(ckpt_name)); /* nn_test_path's buffer is reused */
    load_config(&cfg, ckpt_name, extra);
    nn_train_opts o = {.ctx = w, .on_epoch = watch_epoch};
    nn_error e = {0};
    ck_assert_msg(nn_train(&cfg, &o, &e) == 0, "%s", e.msg);
    nn_config_free(&cfg);
}

START_TEST(test_throttle_writes_only_the_last_epoch_and_changes_no_result)
{
    write_data("train", 96);
    watch slow = {0}, every = {0};
    train_watched(", \"every_seconds\": 1e6", "slow.ckpt", &slow);
    train_watched(", \"every_seconds\": 0", "every.ckpt", &every);
    ck_assert_int_eq(slow.epochs, 6);
    ck_assert_int_eq(slow.with_file, 0); /* nothing before the last epoch's write */
    ck_assert_int_eq(every.epochs, 6);
    ck_assert_int_eq(every.with_file, 5); /* written after epochs 1..5 */
    /* the same model: only the stored config (its every_seconds) differs */
    nn_ckpt a = {0}, b = {0};
    nn_error e = {0};
    ck_assert_msg(nn_ckpt_load(slow.ckpt, &a, &e) == 0, "%s", e.msg);
    ck_assert_msg(nn_ckpt_load(every.ckpt, &b, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(a.epoch, 6);
    ck_assert_int_eq(b.epoch, 6);
    ck_assert_uint_eq(a.n_params, b.n_params);
    ck_assert_mem_eq(a.params, b.params, sizeof(float) * a.n_params);
    ck_assert_uint_eq(a.n_opt_state, b.n_opt_state);
    ck_assert(memcmp(a.rng, b.rng, sizeof a.rng) == 0);
    nn_ckpt_free(&a);
    nn_ckpt_free(&b);
    free((char *)slow.ckpt);
    free((char *)every.ckpt);
}
END_TEST

/* ---- --predict stops reading when its sink wants no more ------------------------ */

typedef struct {
    int calls, rows, stop_after;
} sink_count;

static bool count_rows(void *ctx, const nn_ckpt *c, const float *Y, int B, int K)
{
    sink_count *s = ctx;
    (void)c, (void)Y, (void)K;
    s->calls++;
    s->rows += B;
    return s->stop_after == 0 || s->calls < s->stop_after;
}

START_TEST(test_predict_stops_reading_when_the_sink_wants_no_more)
{
    write_data("train", 96);
    write_data("many", 1000);
    nn_config cfg;
    load_config(&cfg, "p.ckpt", "");
    nn_train_opts o = {0};
    nn_error e = {0};
    ck_assert_msg(nn_train(&cfg, &o, &e) == 0, "%s", e.msg);
    nn_config_free(&cfg);
    char spec[4300];
    snprintf(spec, sizeof spec, "%s", nn_test_path("many-images.idx"));
    sink_count all = {0}, first = {.stop_after = 1}, two = {.stop_after = 2};
    nn_predict_sink s_all = {&all, count_rows}, s_first = {&first, count_rows},
                    s_two = {&two, count_rows};
    const char *ck = nn_test_path("p.ckpt");
    ck_assert_msg(nn_predict(ck, spec, &s_all, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(all.rows, 1000);
    ck_assert_int_gt(all.calls, 2);
    ck_assert_msg(nn_predict(ck, spec, &s_first, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(first.calls, 1);
    ck_assert_int_lt(first.rows, 1000);
    ck_assert_msg(nn_predict(ck, spec, &s_two, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(two.calls, 2);
}
END_TEST

/* ---- the summary (on_end) ------------------------------------------------------------- */

typedef struct {
    int ends;
    nn_train_summary s;
    double val_loss[16], val_acc[16]; /* by epoch, from on_epoch */
} ending;

static void end_epoch(void *ctx, const nn_epoch_report *r)
{
    ending *x = ctx;
    ck_assert(r->epoch < 16);
    x->val_loss[r->epoch] = r->val.loss;
    x->val_acc[r->epoch] = r->val.accuracy;
}

static void end_run(void *ctx, const nn_train_summary *s)
{
    ending *x = ctx;
    x->ends++;
    x->s = *s;
}

static int train_to(int epochs, bool resume, ending *x)
{
    nn_config cfg;
    load_config(&cfg, "s.ckpt", "");
    cfg.epochs = epochs;
    nn_train_opts o = {.resume = resume, .ctx = x, .on_epoch = end_epoch, .on_end = end_run};
    nn_error e = {0};
    int rc = nn_train(&cfg, &o, &e);
    ck_assert_msg(rc == 0, "%s", e.msg);
    nn_config_free(&cfg);
    return rc;
}

START_TEST(test_summary_counts_this_run_and_finds_the_best_epoch)
{
    write_data("train", 96); /* 72 training rows, 24 validation */
    ending x = {0};
    train_to(4, false, &x);
    ck_assert_int_eq(x.ends, 1);
    ck_assert_int_eq(x.s.end, NN_END_COMPLETED);
    ck_assert_int_eq(x.s.epochs, 4);
    ck_assert_int_eq(x.s.final_epoch, 4);
    ck_assert_int_eq(x.s.epochs_run, 4);
    ck_assert(x.s.samples == 4 * 72);
    ck_assert(x.s.seconds > 0);
    ck_assert(x.s.has_val);
    int best = 1;
    for (int e = 2; e <= 4; e++)
        if (x.val_loss[e] < x.val_loss[best])
            best = e;
    ck_assert_int_eq(x.s.best_epoch, best);
    ck_assert(x.s.best_val.loss == x.val_loss[best]);
    ck_assert(x.s.best_val.accuracy == x.val_acc[best]);
    ck_assert(x.s.val.loss == x.val_loss[4]);

    /* resumed: its own epochs and samples; an earlier best's metrics come
     * from the checkpoint's history */
    ending y = {0};
    train_to(6, true, &y);
    ck_assert_int_eq(y.ends, 1);
    ck_assert_int_eq(y.s.final_epoch, 6);
    ck_assert_int_eq(y.s.epochs_run, 2);
    ck_assert(y.s.samples == 2 * 72);
    double all[7];
    for (int e = 1; e <= 6; e++)
        all[e] = e <= 4 ? x.val_loss[e] : y.val_loss[e];
    int best6 = 1;
    for (int e = 2; e <= 6; e++)
        if (all[e] < all[best6])
            best6 = e;
    ck_assert_int_eq(y.s.best_epoch, best6);
    ck_assert(y.s.best_val.loss == all[best6]);
    ck_assert(y.s.best_val.accuracy == (best6 <= 4 ? x.val_acc[best6] : y.val_acc[best6]));

    /* nothing left to do: no summary */
    ending z = {0};
    train_to(6, true, &z);
    ck_assert_int_eq(z.ends, 0);
}
END_TEST

Suite *pipe_suite(void)
{
    Suite *s = suite_create("pipe");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, nn_test_dir_fresh, NULL);
    tcase_add_test(tc, test_save_due_follows_every_epochs_without_throttle);
    tcase_add_test(tc, test_save_due_skips_a_periodic_write_within_every_seconds);
    tcase_add_test(tc, test_save_due_always_writes_the_last_epoch_and_early_stopping);
    tcase_add_test(tc, test_throttle_writes_only_the_last_epoch_and_changes_no_result);
    tcase_add_test(tc, test_predict_stops_reading_when_the_sink_wants_no_more);
    tcase_add_test(tc, test_summary_counts_this_run_and_finds_the_best_epoch);
    suite_add_tcase(s, tc);
    return s;
}
