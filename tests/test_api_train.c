/* test_api_train.c - nntrain_train and nntrain_evaluate (include/nntrain.h)
 * on small generated data: the events, the overrides, a stop and its
 * resume, the error classes, evaluation against nn_evaluate, and
 * cross-validation's folds. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "config/config.h"
#include "data/idx.h"
#include "eval/eval.h"
#include "nntrain.h"
#include "tests.h"
#include "util/rng.h"

/* A two-class problem of n rows of 4 byte features into dir/stem-*.idx
 * (class 1 has features 0 and 1 high). */
static void write_separable(const char *dir, const char *stem, int n, uint64_t seed)
{
    nn_rng r;
    nn_rng_seed(&r, seed, 0);
    uint8_t *x = malloc((size_t)n * 4), *y = malloc((size_t)n);
    for (int i = 0; i < n; i++) {
        y[i] = (uint8_t)(i % 2);
        for (int f = 0; f < 4; f++)
            x[i * 4 + f] = (uint8_t)((f < 2 && y[i] ? 180 : 0) + nn_rng_below(&r, 76));
    }
    char path[4200];
    nn_error e = {0};
    uint32_t dims[2] = {(uint32_t)n, 4}, ldim[1] = {(uint32_t)n};
    snprintf(path, sizeof path, "%s/%s-images.idx", dir, stem);
    ck_assert_int_eq(nn_idx_write(path, 0, NN_DT_U8, 2, dims, x, &e), 0);
    snprintf(path, sizeof path, "%s/%s-labels.idx", dir, stem);
    ck_assert_int_eq(nn_idx_write(path, 0, NN_DT_U8, 1, ldim, y, &e), 0);
    free(x);
    free(y);
}

static const char config_text[] =
    "{\"seed\": 3,"
    " \"data\": {\"train\": {\"images\": \"train-images.idx\", \"labels\": \"train-labels.idx\"},"
    "          \"test\": {\"images\": \"test-images.idx\", \"labels\": \"test-labels.idx\"},"
    "          \"validation_fraction\": 0.2, \"scale\": \"unit\"},"
    " \"model\": {\"layers\": [{\"units\": 5, \"activation\": \"relu\"},"
    "                        {\"units\": 2, \"activation\": \"softmax\"}]},"
    " \"loss\": \"cross_entropy\", \"optimizer\": {\"name\": \"sgd\", \"learning_rate\": 0.3},"
    " \"training\": {\"batch_size\": 7, \"epochs\": 3},"
    " \"checkpoint\": {\"path\": \"model.ckpt\"}}";

/* A fresh folder with the data and config.json; returns the config's path
 * (static storage). */
static const char *setup(void)
{
    static char config[4200];
    const char *dir = nn_test_tmpdir();
    write_separable(dir, "train", 200, 1);
    write_separable(dir, "test", 60, 2);
    snprintf(config, sizeof config, "%s/config.json", dir);
    nn_test_write_file(config, config_text, strlen(config_text));
    return config;
}

/* dir's `name` (the folder of config), in one of two static buffers. */
static const char *beside(const char *config, const char *name)
{
    static char buf[2][4300];
    static int k;
    char *p = buf[k++ % 2];
    const char *slash = strrchr(config, '/');
    snprintf(p, sizeof buf[0], "%.*s/%s", (int)(slash - config), config, name);
    return p;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len + 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

/* What the events said. */
typedef struct {
    int starts, epochs, batches, notes, folds, ends, total;
    int64_t last_epoch, batches_per_epoch;
    int last_type;
    nntrain_event end;
    int fold_seen[8];
    double fold_samples;
    /* stop: set *stop_flag to stop_value at the BATCH event of this epoch
     * and batch (0: never) */
    volatile sig_atomic_t *stop_flag;
    int stop_value;
    int64_t stop_epoch, stop_batch;
    bool cv; /* cross-validation: each fold starts its epochs afresh */
} seen;

static void on_event(void *user, const nntrain_event *e)
{
    seen *s = user;
    s->total++;
    ck_assert_msg(s->ends == 0, "an event after END");
    if (s->cv && e->type == NNTRAIN_EVENT_END)
        s->total--;
    switch (e->type) {
    case NNTRAIN_EVENT_START:
        if (!s->cv)
            ck_assert_int_eq(s->total, 1 + s->notes); /* only notes before it */
        s->starts++;
        break;
    case NNTRAIN_EVENT_BATCH:
        if (s->cv)
            break;
        ck_assert_int_eq(s->starts, 1);
        ck_assert(e->batch >= 1 && e->batch <= e->batches);
        ck_assert_int_eq(e->epoch, s->last_epoch + 1);
        ck_assert(e->samples > 0 && e->seconds >= 0);
        s->batches_per_epoch = e->batches;
        s->batches++;
        if (s->stop_flag && e->epoch == s->stop_epoch && e->batch == s->stop_batch)
            *s->stop_flag = s->stop_value;
        break;
    case NNTRAIN_EVENT_EPOCH:
        if (!s->cv) {
            ck_assert_int_eq(s->starts, 1);
            ck_assert_int_eq(e->epoch, s->last_epoch + 1);
        }
        ck_assert(!e->regression && e->has_val);
        ck_assert(isfinite(e->train.loss) && isfinite(e->val.loss));
        ck_assert(e->train.accuracy >= 0 && e->train.accuracy <= 1);
        ck_assert(e->val.accuracy >= 0 && e->val.accuracy <= 1);
        ck_assert(isnan(e->train.mse) && isnan(e->val.r2));
        ck_assert(e->seconds >= 0 && e->samples_per_second >= 0);
        s->last_epoch = e->epoch;
        s->epochs++;
        break;
    case NNTRAIN_EVENT_NOTE:
        ck_assert_ptr_nonnull(e->note);
        s->notes++;
        break;
    case NNTRAIN_EVENT_PROFILE:
        break;
    case NNTRAIN_EVENT_FOLD:
        ck_assert(e->fold >= 1 && e->fold <= e->folds && e->folds < 8);
        s->fold_seen[e->fold]++;
        ck_assert(e->fold_train > 0 && e->fold_val > 0);
        ck_assert(isfinite(e->fold_metrics.loss));
        ck_assert(e->fold_metrics.accuracy >= 0 && e->fold_metrics.accuracy <= 1);
        s->fold_samples += e->fold_metrics.samples;
        s->folds++;
        break;
    case NNTRAIN_EVENT_END:
        if (s->cv) /* each fold's run */
            return;
        s->end = *e;
        s->ends++;
        break;
    }
    s->last_type = (int)e->type;
}

static nntrain_train_options options_for(seen *s)
{
    nntrain_train_options o = {.on_event = on_event, .user = s};
    return o;
}

START_TEST(test_api_train_reports_events_and_writes_the_checkpoint)
{
    const char *config = setup();
    seen s = {0};
    nntrain_train_options o = options_for(&s);
    nntrain_error err;
    ck_assert_int_eq(nntrain_train(config, &o, &err), NNTRAIN_OK);
    ck_assert_int_eq(err.status, NNTRAIN_OK);
    ck_assert_int_eq(err.exit_code, 0);
    ck_assert_int_eq(s.starts, 1);
    ck_assert_int_eq(s.epochs, 3);
    ck_assert_int_eq(s.batches, 3 * 23); /* 160 training rows in batches of 7 */
    ck_assert_int_eq(s.ends, 1);
    ck_assert_int_eq(s.last_type, NNTRAIN_EVENT_END);
    ck_assert_int_eq(s.end.end, NNTRAIN_END_COMPLETED);
    ck_assert_int_eq(s.end.epoch, 3);
    ck_assert_int_eq(s.end.epochs, 3);
    ck_assert_int_eq(s.end.epochs_run, 3);
    ck_assert(s.end.samples == 3 * 160.0);
    ck_assert(s.end.has_val && s.end.best_epoch >= 1 && s.end.best_epoch <= 3);
    ck_assert(s.end.val.accuracy > 0.9);
    struct stat st;
    ck_assert_int_eq(stat(beside(config, "model.ckpt"), &st), 0);
    ck_assert(st.st_size > 0);
    /* no callback, no options: the same run; nothing reaches stdout or
     * stderr, not even the note of a config without a checkpoint */
    const char *printed = beside(config, "printed");
    fflush(stdout);
    fflush(stderr);
    int keep_out = dup(1), keep_err = dup(2);
    int fd = open(printed, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert(keep_out >= 0 && keep_err >= 0 && fd >= 0);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    nntrain_status st1 = nntrain_train(config, NULL, NULL);
    const char *sets[] = {"checkpoint={}"};
    seen q = {0};
    o = options_for(&q);
    o.sets = sets;
    o.n_sets = 1;
    nntrain_status st2 = nntrain_train(config, &o, &err);
    fflush(stdout);
    fflush(stderr);
    dup2(keep_out, 1);
    dup2(keep_err, 2);
    close(keep_out);
    close(keep_err);
    ck_assert_int_eq(st1, NNTRAIN_OK);
    ck_assert_msg(st2 == NNTRAIN_OK, "%s", err.message);
    ck_assert_int_ge(q.notes, 1);
    ck_assert_int_eq(stat(printed, &st), 0);
    ck_assert_int_eq(st.st_size, 0);
}
END_TEST

START_TEST(test_api_train_honours_sets_epochs_and_seed)
{
    const char *config = setup();
    const char *sets[] = {"training.batch_size=40", "optimizer.learning_rate=0.5"};
    char ckpt[4300];
    snprintf(ckpt, sizeof ckpt, "%s", beside(config, "other.ckpt"));
    const uint64_t seeds[] = {11, 11, 12};
    unsigned char *bytes[3];
    size_t n[3];
    for (int i = 0; i < 3; i++) {
        seen s = {0};
        nntrain_train_options o = options_for(&s);
        o.sets = sets;
        o.n_sets = 2;
        o.epochs = 2;
        o.has_seed = 1;
        o.seed = seeds[i];
        o.checkpoint = ckpt;
        nntrain_error err;
        ck_assert_msg(nntrain_train(config, &o, &err) == NNTRAIN_OK, "%s", err.message);
        ck_assert_int_eq(s.epochs, 2);
        ck_assert_int_eq(s.end.epochs, 2);
        ck_assert_int_eq(s.batches_per_epoch, 4); /* 160 rows in batches of 40 */
        bytes[i] = slurp(ckpt, &n[i]);
    }
    ck_assert(n[0] == n[1] && memcmp(bytes[0], bytes[1], n[0]) == 0);
    ck_assert(n[0] != n[2] || memcmp(bytes[0], bytes[2], n[0]) != 0);
    for (int i = 0; i < 3; i++)
        free(bytes[i]);
    struct stat st;
    ck_assert_int_ne(stat(beside(config, "model.ckpt"), &st), 0); /* the config's is unused */
}
END_TEST

static volatile sig_atomic_t stop_flag;

START_TEST(test_api_train_stops_and_resumes_to_the_same_bytes)
{
    const char *config = setup();
    char parts[4300];
    snprintf(parts, sizeof parts, "%s", beside(config, "parts.ckpt"));
    nntrain_train_options o = {.checkpoint = parts};
    nntrain_error err;
    ck_assert_int_eq(nntrain_train(config, &o, &err), NNTRAIN_OK);
    size_t n_whole;
    unsigned char *whole = slurp(parts, &n_whole);

    const int signals[] = {SIGINT, SIGTERM};
    const int codes[] = {130, 143};
    for (int k = 0; k < 2; k++) {
        stop_flag = 0;
        seen s = {.stop_flag = &stop_flag, .stop_value = signals[k], .stop_epoch = 2,
                  .stop_batch = 5};
        o = options_for(&s);
        o.checkpoint = parts;
        o.stop = &stop_flag;
        ck_assert_int_eq(nntrain_train(config, &o, &err), NNTRAIN_ERR_STOPPED);
        ck_assert_int_eq(err.status, NNTRAIN_ERR_STOPPED);
        ck_assert_int_eq(err.exit_code, codes[k]);
        ck_assert(err.message[0] != '\0');
        ck_assert_int_eq(s.ends, 1);
        ck_assert_int_eq(s.end.end, NNTRAIN_END_STOPPED);
        ck_assert_int_eq(s.end.signal, signals[k]);
        ck_assert_int_eq(s.end.epochs_run, 1);

        stop_flag = 0;
        seen r = {.last_epoch = 1};
        o = options_for(&r);
        o.checkpoint = parts;
        o.resume = 1;
        o.stop = &stop_flag;
        ck_assert_msg(nntrain_train(config, &o, &err) == NNTRAIN_OK, "%s", err.message);
        ck_assert_int_eq(r.end.end, NNTRAIN_END_COMPLETED);
        ck_assert_int_eq(r.end.epoch, 3);
        size_t n;
        unsigned char *resumed = slurp(parts, &n);
        ck_assert(n == n_whole && memcmp(resumed, whole, n) == 0);
        free(resumed);
    }
    free(whole);
}
END_TEST

START_TEST(test_api_train_classifies_errors)
{
    const char *config = setup();
    nntrain_error err;
    /* a config error: the message the command line prints */
    const char *sets[] = {"training.batch_size=0"};
    nn_config cfg;
    nn_error e = {0};
    ck_assert_int_eq(nn_config_load_with_sets(&cfg, config, (char *const *)sets, 1, &e), -1);
    nntrain_train_options o = {.sets = sets, .n_sets = 1};
    ck_assert_int_eq(nntrain_train(config, &o, &err), NNTRAIN_ERR_CONFIG);
    ck_assert_int_eq(err.exit_code, 2);
    ck_assert_str_eq(err.message, e.msg);
    /* a missing file */
    ck_assert_int_eq(nntrain_train(beside(config, "missing.json"), NULL, &err), NNTRAIN_ERR_IO);
    ck_assert_int_eq(err.exit_code, 1);
    ck_assert(strstr(err.message, "missing.json") != NULL);
    /* misuse */
    ck_assert_int_eq(nntrain_train(NULL, NULL, &err), NNTRAIN_ERR_ARGUMENT);
    ck_assert_int_eq(err.exit_code, 2);
    ck_assert(err.message[0] != '\0');
    o = (nntrain_train_options){.epochs = -1};
    ck_assert_int_eq(nntrain_train(config, &o, &err), NNTRAIN_ERR_ARGUMENT);
    o = (nntrain_train_options){.cv_folds = 1};
    ck_assert_int_eq(nntrain_train(config, &o, &err), NNTRAIN_ERR_ARGUMENT);
    o = (nntrain_train_options){.n_sets = 1};
    ck_assert_int_eq(nntrain_train(config, &o, NULL), NNTRAIN_ERR_ARGUMENT);
    /* resuming without a checkpoint: a runtime failure */
    o = (nntrain_train_options){.resume = 1, .checkpoint = beside(config, "none.ckpt")};
    ck_assert_int_eq(nntrain_train(config, &o, &err), NNTRAIN_ERR_RUNTIME);
    ck_assert_int_eq(err.exit_code, 1);
    /* divergence: identity units and a huge rate */
    const char *wild[] = {"model.layers.0.activation=identity",
                          "model.layers.1.activation=identity", "loss=mse",
                          "optimizer.learning_rate=1e6"};
    o = (nntrain_train_options){.sets = wild, .n_sets = 4};
    ck_assert_int_eq(nntrain_train(config, &o, &err), NNTRAIN_ERR_DIVERGED);
    ck_assert_int_eq(err.exit_code, 1);
    ck_assert_msg(strncmp(err.message, "training diverged: ", 19) == 0, "%s", err.message);
    /* the same found by the parameters' check after an epoch (train/epoch.c): one
     * batch an epoch, whose update (its weight decay) overflows the weights */
    const char *wild_end[] = {"optimizer.learning_rate=1e38", "optimizer.weight_decay=1e3",
                              "training.batch_size=4096"};
    o = (nntrain_train_options){.sets = wild_end, .n_sets = 3};
    ck_assert_int_eq(nntrain_train(config, &o, &err), NNTRAIN_ERR_DIVERGED);
    ck_assert_int_eq(err.exit_code, 1);
    ck_assert_msg(strstr(err.message, "is not finite after epoch 1, batch 1: ") != NULL, "%s",
                  err.message);
}
END_TEST

START_TEST(test_api_evaluate_matches_nn_evaluate)
{
    const char *config = setup();
    nntrain_error err;
    ck_assert_int_eq(nntrain_train(config, NULL, &err), NNTRAIN_OK);
    nntrain_evaluation ev;
    ck_assert_msg(nntrain_evaluate(config, NULL, &ev, &err) == NNTRAIN_OK, "%s", err.message);

    nn_config cfg;
    nn_error e = {0};
    ck_assert_int_eq(nn_config_load(&cfg, config, &e), 0);
    nn_eval_report r;
    ck_assert_int_eq(nn_evaluate(cfg.checkpoint_path, &cfg.test, NULL, &r, &e), 0);
    ck_assert_int_eq(ev.task, NNTRAIN_TASK_CLASSIFICATION);
    ck_assert(ev.metrics.samples == 60 && ev.metrics.samples == (double)r.r.samples);
    ck_assert(ev.metrics.loss == r.r.loss);
    ck_assert(ev.metrics.accuracy == r.r.accuracy);
    ck_assert(isnan(ev.metrics.mse));
    ck_assert_int_eq(ev.n_classes, 2);
    ck_assert_ptr_null(ev.class_names);
    uint64_t sum = 0;
    for (int i = 0; i < 4; i++) {
        ck_assert_uint_eq(ev.confusion[i], r.acc.confusion[i]);
        sum += ev.confusion[i];
    }
    ck_assert_uint_eq(sum, 60);
    nn_eval_report_free(&r);
    nntrain_evaluation_free(&ev);
    ck_assert_ptr_null(ev.confusion);

    /* without a config: --checkpoint and --data; the other precision */
    char spec[9000];
    snprintf(spec, sizeof spec, "%s,%s", beside(config, "test-images.idx"),
             beside(config, "test-labels.idx"));
    char ckpt[4300];
    snprintf(ckpt, sizeof ckpt, "%s", beside(config, "model.ckpt"));
    nntrain_eval_options eo = {.checkpoint = ckpt, .data = spec, .precision = -1};
    ck_assert_msg(nntrain_evaluate(NULL, &eo, &ev, &err) == NNTRAIN_OK, "%s", err.message);
    ck_assert(ev.metrics.samples == 60);
    nntrain_evaluation_free(&ev);

    /* failures leave *out empty */
    ck_assert_int_eq(nntrain_evaluate(NULL, NULL, &ev, &err), NNTRAIN_ERR_ARGUMENT);
    ck_assert_ptr_null(ev.confusion);
    nntrain_evaluation_free(&ev);
    ck_assert_int_eq(nntrain_evaluate(config, NULL, NULL, &err), NNTRAIN_ERR_ARGUMENT);
    eo = (nntrain_eval_options){.checkpoint = beside(config, "none.ckpt"), .precision = -1};
    ck_assert_int_ne(nntrain_evaluate(config, &eo, &ev, &err), NNTRAIN_OK);
    ck_assert_int_eq(err.exit_code, 1);
    ck_assert_ptr_null(ev.confusion);
    nntrain_evaluation_free(&ev);
    nn_config_free(&cfg);
}
END_TEST

START_TEST(test_api_evaluation_free_is_safe_on_empty)
{
    nntrain_evaluation ev;
    memset(&ev, 0, sizeof ev);
    nntrain_evaluation_free(&ev);
    nntrain_evaluation_free(&ev);
    nntrain_evaluation_free(NULL);
}
END_TEST

/* A family chosen by nntrain_select_kernels is the one training runs on. */
START_TEST(test_api_train_uses_the_selected_kernels)
{
    const char *config = setup();
    nntrain_error err;
    ck_assert_int_eq(nntrain_select_kernels("fp32", "scalar", &err), NNTRAIN_OK);
    ck_assert_int_eq(nntrain_train(config, NULL, &err), NNTRAIN_OK);
    ck_assert_int_eq(nn_kernels_isa(), NN_ISA_SCALAR);
    ck_assert_str_eq(nn_api_family(NN_PREC_FP32), "scalar");
    ck_assert_int_eq(nntrain_select_kernels("fp32", NULL, &err), NNTRAIN_OK);
    ck_assert_int_eq(nntrain_train(config, NULL, &err), NNTRAIN_OK);
    ck_assert_str_ne(nn_api_family(NN_PREC_FP32), "");
}
END_TEST

START_TEST(test_api_train_cross_validates_with_fold_events)
{
    const char *config = setup();
    seen s = {.cv = true};
    nntrain_train_options o = options_for(&s);
    o.cv_folds = 4;
    o.epochs = 2;
    nntrain_error err;
    ck_assert_msg(nntrain_train(config, &o, &err) == NNTRAIN_OK, "%s", err.message);
    ck_assert_int_eq(s.folds, 4);
    for (int k = 1; k <= 4; k++)
        ck_assert_int_eq(s.fold_seen[k], 1);
    ck_assert(s.fold_samples == 200);
    struct stat st;
    ck_assert_int_ne(stat(beside(config, "model.ckpt"), &st), 0); /* no checkpoint */
    /* with a checkpoint: misuse */
    o.checkpoint = beside(config, "x.ckpt");
    ck_assert_int_eq(nntrain_train(config, &o, &err), NNTRAIN_ERR_ARGUMENT);
}
END_TEST

Suite *api_train_suite(void)
{
    Suite *s = suite_create("api_train");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_api_train_reports_events_and_writes_the_checkpoint);
    tcase_add_test(tc, test_api_train_honours_sets_epochs_and_seed);
    tcase_add_test(tc, test_api_train_stops_and_resumes_to_the_same_bytes);
    tcase_add_test(tc, test_api_train_classifies_errors);
    tcase_add_test(tc, test_api_evaluate_matches_nn_evaluate);
    tcase_add_test(tc, test_api_evaluation_free_is_safe_on_empty);
    tcase_add_test(tc, test_api_train_cross_validates_with_fold_events);
    tcase_add_test(tc, test_api_train_uses_the_selected_kernels);
    suite_add_tcase(s, tc);
    return s;
}
