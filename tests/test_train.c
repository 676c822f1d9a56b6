/* test_train.c - the training loop end to end on small generated data:
 * learning a separable problem, determinism, resume exactness, divergence. */
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint/checkpoint.h"
#include "config/config.h"
#include "data/batch.h"
#include "data/idx.h"
#include "nn/model.h"
#include "eval/eval.h"
#include "eval/predict.h"
#include "nn/loss.h"
#include "pool/pool.h"
#include "tests.h"
#include "train/train.h"
#include "util/rng.h"

/* Writes a two-class problem into dir: n samples of 4 byte features; class
 * 1 has features 0 and 1 high, class 0 low (a margin of 100 in byte units). */
static void write_separable(const char *dir, const char *stem, int n, uint64_t seed)
{
    nn_rng r;
    nn_rng_seed(&r, seed, 0);
    uint8_t *x = malloc((size_t)n * 4), *y = malloc((size_t)n);
    for (int i = 0; i < n; i++) {
        y[i] = (uint8_t)(i % 2);
        for (int f = 0; f < 4; f++) {
            int base = f < 2 ? (y[i] ? 180 : 0) : 0;
            x[i * 4 + f] = (uint8_t)(base + nn_rng_below(&r, 76));
        }
    }
    char path[4200];
    nn_error e = {0};
    uint32_t dims[2] = {(uint32_t)n, 4}, ldim[1] = {(uint32_t)n};
    snprintf(path, sizeof path, "%s/%s-images.idx.gz", dir, stem);
    ck_assert_int_eq(nn_idx_write(path, 1, NN_DT_U8, 2, dims, x, &e), 0);
    snprintf(path, sizeof path, "%s/%s-labels.idx", dir, stem);
    ck_assert_int_eq(nn_idx_write(path, 0, NN_DT_U8, 1, ldim, y, &e), 0);
    free(x);
    free(y);
}

static void write_config(const char *dir, const char *extra_training, double lr, int units_out)
{
    char path[4200], text[4096];
    snprintf(text, sizeof text,
             "{\"seed\": 3,"
             " \"data\": {\"train\": {\"images\": \"train-images.idx.gz\", \"labels\": "
             "\"train-labels.idx\"},"
             "          \"test\": {\"images\": \"test-images.idx.gz\", \"labels\": "
             "\"test-labels.idx\"},"
             "          \"validation_fraction\": 0.2, \"scale\": \"unit\"},"
             " \"model\": {\"layers\": [{\"units\": 5, \"activation\": \"sigmoid\"},"
             "                        {\"units\": %d, \"activation\": \"sigmoid\"}]},"
             " \"loss\": \"mse\", \"optimizer\": {\"name\": \"sgd\", \"learning_rate\": %g},"
             " \"training\": {\"batch_size\": 7 %s},"
             " \"checkpoint\": {\"path\": \"model.ckpt\"}}",
             units_out, lr, extra_training);
    snprintf(path, sizeof path, "%s/config.json", dir);
    nn_test_write_file(path, text, strlen(text));
}

static int train_in(const char *dir, int epochs, bool resume, nn_error *e)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    nn_config cfg;
    ck_assert_int_eq(nn_config_load(&cfg, path, e), 0);
    cfg.epochs = epochs;
    nn_train_opts o = {.resume = resume};
    int rc = nn_train(&cfg, &o, e);
    nn_config_free(&cfg);
    return rc;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len + 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

static const char *setup(int units_out, double lr, const char *extra)
{
    const char *dir = nn_test_tmpdir();
    write_separable(dir, "train", 200, 1);
    write_separable(dir, "test", 60, 2);
    write_config(dir, extra, lr, units_out);
    return dir;
}

START_TEST(test_train_learns_separable_problem_to_full_accuracy)
{
    for (int units_out = 1; units_out <= 2; units_out++) {
        const char *dir = setup(units_out, 2.0, "");
        nn_error e = {0};
        ck_assert_msg(train_in(dir, 60, false, &e) == 0, "%s", e.msg);
        char ck[4200], images[4200], labels[4200], spec[8500];
        snprintf(ck, sizeof ck, "%s/model.ckpt", dir);
        nn_ckpt c = {0};
        ck_assert_int_eq(nn_ckpt_load(ck, &c, &e), 0);
        ck_assert_int_eq(c.epoch, 60);
        ck_assert_double_eq(c.train_accuracy, 1.0);
        ck_assert_double_eq(c.val_accuracy, 1.0);
        nn_ckpt_free(&c);

        /* and on held-out test data, through the --eval path */
        snprintf(images, sizeof images, "%s/test-images.idx.gz", dir);
        snprintf(labels, sizeof labels, "%s/test-labels.idx", dir);
        snprintf(spec, sizeof spec, "%s,%s", images, labels);
        nn_eval_report r;
        ck_assert_msg(nn_evaluate(ck, NULL, spec, &r, &e) == 0, "%s", e.msg);
        ck_assert_uint_eq(r.r.samples, 60);
        ck_assert_double_eq(r.r.accuracy, 1.0);
        ck_assert(!r.regression);
        ck_assert_int_eq(r.acc.classes, 2);
        const size_t want[4] = {30, 0, 0, 30}; /* rows: true class, columns: predicted */
        ck_assert_mem_eq(r.acc.confusion, want, sizeof want);
        nn_eval_report_free(&r);
    }
}
END_TEST

/* The training loop prints nothing: everything reaches the caller through
 * its callbacks (epochs in order, every batch, the start, the notes), and
 * stdout and stderr stay empty. */
typedef struct {
    int starts, epochs, batches, notes;
    int64_t last_epoch;
    char note[256];
} seen;

static void seen_start(void *ctx) { ((seen *)ctx)->starts++; }
static void seen_batch(void *ctx, const nn_batch_report *b)
{
    seen *s = ctx;
    s->batches++;
    ck_assert_int_eq(b->epoch, s->last_epoch + 1);
}
static void seen_epoch(void *ctx, const nn_epoch_report *r)
{
    seen *s = ctx;
    s->epochs++;
    ck_assert_int_eq(r->epoch, s->last_epoch + 1);
    ck_assert_int_eq(r->epochs, 3);
    ck_assert(r->has_val && !r->regression);
    ck_assert(r->train.accuracy >= 0 && r->val.accuracy <= 1);
    s->last_epoch = r->epoch;
}
static void seen_note(void *ctx, const char *note)
{
    seen *s = ctx;
    s->notes++;
    snprintf(s->note, sizeof s->note, "%s", note);
}

START_TEST(test_train_prints_nothing_and_reports_through_callbacks)
{
    const char *dir = setup(2, 0.5, "");
    char path[4200], out[4300];
    snprintf(path, sizeof path, "%s/config.json", dir);
    snprintf(out, sizeof out, "%s/printed", dir);
    nn_config cfg;
    nn_error e = {0};
    ck_assert_int_eq(nn_config_load(&cfg, path, &e), 0);
    cfg.epochs = 3;
    free(cfg.checkpoint); /* no checkpoint: a note says so */
    free(cfg.checkpoint_path);
    cfg.checkpoint = cfg.checkpoint_path = NULL;
    seen s = {0};
    nn_train_opts o = {.ctx = &s, .on_start = seen_start, .on_epoch = seen_epoch,
                       .on_batch = seen_batch, .on_note = seen_note};
    fflush(stdout);
    fflush(stderr);
    int keep_out = dup(1), keep_err = dup(2);
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert(keep_out >= 0 && keep_err >= 0 && fd >= 0);
    dup2(fd, 1);
    dup2(fd, 2);
    int rc = nn_train(&cfg, &o, &e);
    fflush(stdout);
    fflush(stderr);
    dup2(keep_out, 1);
    dup2(keep_err, 2);
    close(keep_out);
    close(keep_err);
    close(fd);
    nn_config_free(&cfg);
    ck_assert_msg(rc == 0, "%s", e.msg);
    struct stat st;
    ck_assert_int_eq(stat(out, &st), 0);
    ck_assert_int_eq(st.st_size, 0);
    ck_assert_int_eq(s.starts, 1);
    ck_assert_int_eq(s.epochs, 3);
    ck_assert_int_eq(s.batches, 3 * 23); /* 160 training rows in batches of 7 */
    ck_assert_int_eq(s.notes, 1);
    ck_assert_str_eq(s.note,
                     "note: no checkpoint.path in the config, the trained model will not be saved");
}
END_TEST

START_TEST(test_train_is_deterministic_for_a_seed)
{
    const char *dir = setup(2, 0.5, "");
    char ck[4200];
    snprintf(ck, sizeof ck, "%s/model.ckpt", dir);
    nn_error e = {0};
    ck_assert_int_eq(train_in(dir, 3, false, &e), 0);
    size_t n1, n2;
    unsigned char *a = slurp(ck, &n1);
    ck_assert_int_eq(train_in(dir, 3, false, &e), 0);
    unsigned char *b = slurp(ck, &n2);
    ck_assert_uint_eq(n1, n2);
    ck_assert_mem_eq(a, b, n1);
    free(a);
    free(b);
}
END_TEST

START_TEST(test_resume_n_then_m_equals_n_plus_m)
{
    for (int shuffle = 0; shuffle < 2; shuffle++) {
        const char *dir =
            setup(2, 0.5, shuffle ? ", \"shuffle\": true" : ", \"shuffle\": false");
        char ck[4200];
        snprintf(ck, sizeof ck, "%s/model.ckpt", dir);
        nn_error e = {0};
        ck_assert_int_eq(train_in(dir, 5, false, &e), 0);
        size_t n1, n2;
        unsigned char *whole = slurp(ck, &n1);
        ck_assert_int_eq(train_in(dir, 2, false, &e), 0);
        ck_assert_msg(train_in(dir, 5, true, &e) == 0, "%s", e.msg);
        unsigned char *resumed = slurp(ck, &n2);
        ck_assert_uint_eq(n1, n2);
        ck_assert_msg(memcmp(whole, resumed, n1) == 0, "resumed checkpoint differs");
        free(whole);
        free(resumed);
    }
}
END_TEST

/* One step an epoch (a batch larger than the data), with training.ema d. */
static int train_ema(const char *dir, int epochs, bool resume, double d, nn_error *e)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    nn_config cfg;
    ck_assert_int_eq(nn_config_load(&cfg, path, e), 0);
    cfg.epochs = epochs;
    cfg.batch_size = 1000;
    cfg.ema = d;
    nn_train_opts o = {.resume = resume};
    int rc = nn_train(&cfg, &o, e);
    nn_config_free(&cfg);
    return rc;
}

/* training.ema: after k updates the average is d e + (1 - d) p, step by
 * step from the initial weights (worked out here in float from the
 * checkpoints' weights); the trained weights are those of a run without
 * it; --eval and --predict take the average; resuming keeps it exact. */
START_TEST(test_ema_is_the_moving_average_of_the_weights)
{
    const double d = 0.75;
    const float df = 0.75f, rest = 0.25f;
    const char *dir = setup(2, 0.5, "");
    char ck[4200];
    snprintf(ck, sizeof ck, "%s/model.ckpt", dir);
    nn_error e = {0};
    nn_ckpt c0 = {0}, c1 = {0}, c2 = {0}, plain = {0};
    ck_assert_msg(train_ema(dir, 1, false, d, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(nn_ckpt_load(ck, &c1, &e), 0);
    ck_assert_msg(train_ema(dir, 2, true, d, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(nn_ckpt_load(ck, &c2, &e), 0);
    ck_assert_ptr_nonnull(c1.ema);
    ck_assert(c2.ema_decay == d);
    size_t n = c1.n_params;
    /* the initial weights, drawn as training draws them */
    nn_model *m0 = nn_model_create(&c1.arch, 4, &e);
    ck_assert_ptr_nonnull(m0);
    nn_rng init;
    nn_rng_seed(&init, 3, NN_STREAM_INIT);
    nn_model_init(m0, &init);
    size_t moved = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_float_eq(c1.ema[i], df * m0->params[i] + rest * c1.params[i]);
        ck_assert_float_eq(c2.ema[i], df * c1.ema[i] + rest * c2.params[i]);
        moved += c2.ema[i] != c2.params[i];
    }
    ck_assert_uint_gt(moved, n / 2);
    nn_model_free(m0);
    /* the weights trained are the plain run's */
    ck_assert_int_eq(train_ema(dir, 2, false, 0, &e), 0);
    ck_assert_int_eq(nn_ckpt_load(ck, &plain, &e), 0);
    ck_assert_ptr_null(plain.ema);
    ck_assert_mem_eq(plain.params, c2.params, n * sizeof(float));
    /* inference takes the average */
    nn_model *m = nn_ckpt_model(&c2, 4, &e);
    ck_assert_ptr_nonnull(m);
    ck_assert_mem_eq(m->params, c2.ema, n * sizeof(float));
    nn_model_free(m);
    /* 3 epochs straight, or 1 then resumed: the same bytes */
    size_t n1, n2;
    ck_assert_int_eq(train_ema(dir, 3, false, d, &e), 0);
    unsigned char *whole = slurp(ck, &n1);
    ck_assert_int_eq(train_ema(dir, 1, false, d, &e), 0);
    ck_assert_int_eq(train_ema(dir, 3, true, d, &e), 0);
    unsigned char *resumed = slurp(ck, &n2);
    ck_assert_uint_eq(n1, n2);
    ck_assert_msg(memcmp(whole, resumed, n1) == 0, "resumed checkpoint differs");
    free(whole);
    free(resumed);
    nn_ckpt_free(&c0);
    nn_ckpt_free(&c1);
    nn_ckpt_free(&c2);
    nn_ckpt_free(&plain);
}
END_TEST

START_TEST(test_resume_rejects_different_architecture)
{
    const char *dir = setup(2, 0.5, "");
    nn_error e = {0};
    ck_assert_int_eq(train_in(dir, 1, false, &e), 0);
    write_config(dir, "", 0.5, 1); /* now one output unit */
    ck_assert_int_eq(train_in(dir, 2, true, &e), -1);
    ck_assert_int_eq(e.code, 1);
    ck_assert_msg(strstr(e.msg, "model.ckpt: cannot resume: layer 2 is 2 sigmoid units in the "
                                "checkpoint, 1 sigmoid in the config") != NULL,
                  "%s", e.msg);
}
END_TEST

START_TEST(test_resume_without_checkpoint_is_an_error)
{
    const char *dir = setup(2, 0.5, "");
    nn_error e = {0};
    ck_assert_int_eq(train_in(dir, 2, true, &e), -1);
    ck_assert_int_eq(e.code, 1);
    ck_assert_msg(strstr(e.msg, "model.ckpt: No such file or directory") != NULL, "%s", e.msg);
}
END_TEST

START_TEST(test_divergence_stops_with_epoch_and_batch_and_keeps_checkpoint)
{
    const char *dir = setup(2, 0.5, "");
    char ck[4200];
    snprintf(ck, sizeof ck, "%s/model.ckpt", dir);
    nn_error e = {0};
    ck_assert_int_eq(train_in(dir, 1, false, &e), 0);
    size_t n1, n2;
    unsigned char *good = slurp(ck, &n1);
    /* identity units and a huge rate: the loss overflows within an epoch */
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    nn_config cfg;
    ck_assert_int_eq(nn_config_load(&cfg, path, &e), 0);
    cfg.layers[0].act = cfg.layers[1].act = NN_ACT_IDENTITY;
    cfg.learning_rate = 1e6;
    cfg.epochs = 3;
    cfg.checkpoint_every = 1;
    nn_train_opts o = {0};
    ck_assert_int_eq(nn_train(&cfg, &o, &e), -1);
    nn_config_free(&cfg);
    ck_assert_int_eq(e.code, 1);
    ck_assert_msg(strncmp(e.msg, "training diverged: the loss is ", 31) == 0 &&
                      strstr(e.msg, "at epoch 1, batch "),
                  "%s", e.msg);
    unsigned char *after = slurp(ck, &n2);
    ck_assert_uint_eq(n1, n2);
    ck_assert_mem_eq(good, after, n1); /* the earlier checkpoint is untouched */
    free(good);
    free(after);
}
END_TEST

START_TEST(test_label_beyond_outputs_is_an_error)
{
    const char *dir = setup(2, 0.5, "");
    /* labels 0..3 for a model with 2 outputs */
    uint8_t y[200];
    for (int i = 0; i < 200; i++)
        y[i] = (uint8_t)(i == 7 ? 3 : i % 2);
    char path[4200];
    uint32_t ldim[1] = {200};
    nn_error e = {0};
    snprintf(path, sizeof path, "%s/train-labels.idx", dir);
    ck_assert_int_eq(nn_idx_write(path, 0, NN_DT_U8, 1, ldim, y, &e), 0);
    ck_assert_int_eq(train_in(dir, 1, false, &e), -1);
    ck_assert_int_eq(e.code, 1);
    ck_assert_msg(strstr(e.msg, "train-labels.idx: label 3 at item 7 is beyond the model's 2 "
                                "output units") != NULL,
                  "%s", e.msg);
}
END_TEST

/* A CSV with string labels listed out of order, trained, evaluated and
 * predicted: the classes are the sorted strings and survive the checkpoint. */
/* A predict sink that appends each row's class name and a space. */
static bool predicted_names(void *ctx, const nn_ckpt *c, const float *Y, int B, int K)
{
    char *got = ctx;
    for (int i = 0; i < B; i++) {
        ck_assert_ptr_nonnull(c->class_names);
        strcat(got, c->class_names[nn_predict_class(Y + (size_t)i * K, K)]);
        strcat(got, " ");
    }
    return true;
}

START_TEST(test_csv_string_labels_round_trip_through_checkpoint)
{
    const char *dir = nn_test_tmpdir();
    char path[4200], ck[4200], text[600];
    FILE *f;
    snprintf(path, sizeof path, "%s/train.csv", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("a,b,kind\n", f);
    nn_rng r;
    nn_rng_seed(&r, 4, 0);
    static const char *const names[3] = {"zebra", "ant", "moose"};
    for (int i = 0; i < 150; i++) {
        int k = i % 3;
        fprintf(f, "%.3f,%.3f,%s\n", k + 0.3 * nn_rng_double(&r), (k == 1) + 0.3 * nn_rng_double(&r),
                names[k]);
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/config.json", dir);
    snprintf(text, sizeof text,
             "{\"data\": {\"train\": {\"path\": \"train.csv\", \"label\": \"kind\"}, "
             "\"scale\": \"standard\"},"
             " \"model\": {\"layers\": [{\"units\": 6, \"activation\": \"sigmoid\"},"
             " {\"units\": 3, \"activation\": \"sigmoid\"}]}, \"loss\": \"mse\","
             " \"optimizer\": {\"name\": \"sgd\", \"learning_rate\": 2}, \"training\": {\"epochs\": 80, "
             "\"batch_size\": 10},"
             " \"checkpoint\": {\"path\": \"m.ckpt\"}}");
    nn_test_write_file(path, text, strlen(text));
    nn_error e = {0};
    ck_assert_msg(train_in(dir, 80, false, &e) == 0, "%s", e.msg);
    snprintf(ck, sizeof ck, "%s/m.ckpt", dir);
    nn_ckpt c = {0};
    ck_assert_int_eq(nn_ckpt_load(ck, &c, &e), 0);
    ck_assert_int_eq(c.n_classes, 3);
    ck_assert_ptr_nonnull(c.class_names);
    ck_assert_str_eq(c.class_names[0], "ant");
    ck_assert_str_eq(c.class_names[1], "moose");
    ck_assert_str_eq(c.class_names[2], "zebra");
    ck_assert_int_eq(c.layout.format, 1);
    ck_assert_int_eq((int)c.layout.n_columns, 3);
    ck_assert_int_eq((int)c.layout.label_col, 2);
    ck_assert_str_eq(c.layout.names[2], "kind");
    ck_assert_double_eq(c.train_accuracy, 1.0);
    nn_ckpt_free(&c);

    /* predictions print the original strings, in input order */
    snprintf(path, sizeof path, "%s/in.csv", dir);
    const char *in = "a,b\n0.1,0.1\n2.1,0.1\n1.1,1.1\n";
    nn_test_write_file(path, in, strlen(in));
    char got[64] = "";
    nn_predict_sink sink = {got, predicted_names};
    ck_assert_msg(nn_predict(ck, path, &sink, &e) == 0, "%s", e.msg);
    ck_assert_str_eq(got, "zebra moose ant ");
}
END_TEST

START_TEST(test_csv_regression_learns_a_linear_map)
{
    const char *dir = nn_test_tmpdir();
    char path[4200], text[600];
    snprintf(path, sizeof path, "%s/lin.csv", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("x1;x2;y;z\n", f);
    nn_rng r;
    nn_rng_seed(&r, 5, 0);
    for (int i = 0; i < 200; i++) {
        double x1 = 2 * nn_rng_double(&r) - 1, x2 = 2 * nn_rng_double(&r) - 1;
        fprintf(f, "%.5f;%.5f;%.5f;%.5f\n", x1, x2, 0.5 * x1 - x2 + 0.25, x1 + x2);
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/config.json", dir);
    snprintf(text, sizeof text,
             "{\"data\": {\"train\": {\"path\": \"lin.csv\", \"delimiter\": \";\", "
             "\"targets\": [\"y\", -1]}, \"validation_fraction\": 0.25, \"scale\": \"none\","
             " \"scale_targets\": false},"
             " \"model\": {\"layers\": [{\"units\": 2}]},"
             " \"optimizer\": {\"name\": \"sgd\", \"learning_rate\": 0.2}, \"training\": {\"epochs\": 200, "
             "\"batch_size\": 8}, \"checkpoint\": {\"path\": \"m.ckpt\"}}");
    nn_test_write_file(path, text, strlen(text));
    nn_error e = {0};
    ck_assert_msg(train_in(dir, 200, false, &e) == 0, "%s", e.msg);
    char ck[4200];
    snprintf(ck, sizeof ck, "%s/m.ckpt", dir);
    nn_ckpt c = {0};
    ck_assert_int_eq(nn_ckpt_load(ck, &c, &e), 0);
    ck_assert_int_eq(c.layout.n_targets, 2);
    ck_assert_int_eq(c.arch.layers[0].act, NN_ACT_IDENTITY); /* the default for a regression output */
    ck_assert_msg(c.val_loss < 1e-4, "val loss %g", c.val_loss);
    /* the learnt weights are the linear map: y = 0.5 x1 - x2 + 0.25, z = x1 + x2 */
    ck_assert_double_eq_tol(c.params[0], 0.5, 0.02);
    ck_assert_double_eq_tol(c.params[1], -1.0, 0.02);
    ck_assert_double_eq_tol(c.params[2], 1.0, 0.02);
    ck_assert_double_eq_tol(c.params[3], 1.0, 0.02);
    ck_assert_double_eq_tol(c.params[4], 0.25, 0.02);
    ck_assert_double_eq_tol(c.params[5], 0.0, 0.02);
    nn_ckpt_free(&c);
}
END_TEST

/* A config for the separable problem with the given model/optimizer/training
 * JSON fragments. */
static const char *setup_with(const char *model, const char *rest)
{
    const char *dir = nn_test_tmpdir();
    write_separable(dir, "train", 200, 1);
    char path[4200], text[4096];
    snprintf(text, sizeof text,
             "{\"seed\": 3,"
             " \"data\": {\"train\": {\"images\": \"train-images.idx.gz\", \"labels\": "
             "\"train-labels.idx\"}, \"validation_fraction\": 0.2},"
             " \"model\": {\"layers\": %s}, %s,"
             " \"checkpoint\": {\"path\": \"model.ckpt\"}}",
             model, rest);
    snprintf(path, sizeof path, "%s/config.json", dir);
    nn_test_write_file(path, text, strlen(text));
    return dir;
}

START_TEST(test_resume_is_exact_with_every_optimizer)
{
    static const char *const optimizers[] = {
        "\"optimizer\": {\"name\": \"sgd\", \"learning_rate\": 0.5}",
        "\"optimizer\": {\"name\": \"sgd\", \"learning_rate\": 0.2, \"momentum\": 0.9, "
        "\"weight_decay\": 0.001}",
        "\"optimizer\": {\"name\": \"sgd\", \"learning_rate\": 0.2, \"momentum\": 0.9, "
        "\"nesterov\": true, \"clip_norm\": 0.5}",
        /* (cosine spans training.epochs, so a shorter first run would change it) */
        "\"optimizer\": {\"name\": \"adam\", \"learning_rate\": 0.01, \"schedule\": "
        "{\"name\": \"exponential\", \"gamma\": 0.9, \"warmup_epochs\": 1}}",
        "\"optimizer\": {\"name\": \"adamw\", \"learning_rate\": 0.01, \"weight_decay\": 0.01, "
        "\"schedule\": {\"name\": \"step\", \"step_epochs\": 2, \"gamma\": 0.5}}",
    };
    for (size_t i = 0; i < sizeof optimizers / sizeof optimizers[0]; i++) {
        char rest[1024];
        snprintf(rest, sizeof rest,
                 "%s, \"loss\": \"cross_entropy\", \"training\": {\"batch_size\": 9}",
                 optimizers[i]);
        const char *dir = setup_with("[{\"units\": 6, \"activation\": \"relu\", \"dropout\": 0.3},"
                                     " {\"units\": 2, \"activation\": \"softmax\"}]",
                                     rest);
        char ck[4200];
        snprintf(ck, sizeof ck, "%s/model.ckpt", dir);
        nn_error e = {0};
        ck_assert_msg(train_in(dir, 5, false, &e) == 0, "%s", e.msg);
        size_t n1, n2;
        unsigned char *whole = slurp(ck, &n1);
        ck_assert_int_eq(train_in(dir, 3, false, &e), 0);
        ck_assert_msg(train_in(dir, 5, true, &e) == 0, "%s", e.msg);
        unsigned char *resumed = slurp(ck, &n2);
        ck_assert_uint_eq(n1, n2);
        ck_assert_msg(memcmp(whole, resumed, n1) == 0, "optimizer %zu: resumed checkpoint differs",
                      i);
        nn_ckpt c = {0};
        ck_assert_int_eq(nn_ckpt_load(ck, &c, &e), 0);
        ck_assert_uint_eq(c.n_opt_state, i == 0 ? 0 : i < 3 ? c.n_params : 2 * c.n_params);
        nn_ckpt_free(&c);
        free(whole);
        free(resumed);
    }
}
END_TEST

START_TEST(test_dropout_is_seeded_and_off_at_eval)
{
    const char *dir = setup_with("[{\"units\": 8, \"activation\": \"relu\", \"dropout\": 0.5},"
                                 " {\"units\": 2, \"activation\": \"sigmoid\"}]",
                                 "\"loss\": \"mse\", \"optimizer\": {\"name\": \"sgd\", \"learning_rate\": 0.5}, \"training\": "
                                 "{\"batch_size\": 8}");
    char ck[4200];
    snprintf(ck, sizeof ck, "%s/model.ckpt", dir);
    nn_error e = {0};
    ck_assert_int_eq(train_in(dir, 2, false, &e), 0);
    size_t n1, n2;
    unsigned char *a = slurp(ck, &n1);
    ck_assert_int_eq(train_in(dir, 2, false, &e), 0);
    unsigned char *b = slurp(ck, &n2);
    ck_assert_uint_eq(n1, n2);
    ck_assert_mem_eq(a, b, n1); /* the same seed: the same masks */
    free(a);
    free(b);

}
END_TEST

START_TEST(test_early_stopping_stops_at_the_right_epoch)
{
    /* min_delta 10 means no epoch after the first improves the validation
     * loss enough: with patience 2, epochs 2 and 3 fail, and training stops
     * after epoch 3 of 20. */
    const char *dir = setup_with("[{\"units\": 4, \"activation\": \"sigmoid\"}, {\"units\": 2, \"activation\": \"sigmoid\"}]",
                                 "\"loss\": \"mse\", \"optimizer\": {\"name\": \"sgd\", \"learning_rate\": 0.5}, \"training\": "
                                 "{\"batch_size\": 8, \"early_stopping\": {\"patience\": 2, "
                                 "\"min_delta\": 10}}");
    nn_error e = {0};
    ck_assert_int_eq(train_in(dir, 20, false, &e), 0);
    char ck[4200];
    snprintf(ck, sizeof ck, "%s/model.ckpt", dir);
    nn_ckpt c = {0};
    ck_assert_int_eq(nn_ckpt_load(ck, &c, &e), 0);
    ck_assert_int_eq(c.epoch, 3);
    ck_assert_int_eq(c.stopped, 1);
    ck_assert_int_eq(c.best_epoch, 1);
    ck_assert_int_eq(c.bad_epochs, 2);
    nn_ckpt_free(&c);
    /* resuming a stopped run has nothing to do */
    ck_assert_int_eq(train_in(dir, 20, true, &e), 0);
    ck_assert_int_eq(nn_ckpt_load(ck, &c, &e), 0);
    ck_assert_int_eq(c.epoch, 3);
    nn_ckpt_free(&c);
}
END_TEST

START_TEST(test_keep_best_writes_the_best_epoch_beside_the_latest)
{
    const char *dir = setup_with("[{\"units\": 4, \"activation\": \"sigmoid\"}, {\"units\": 2, \"activation\": \"sigmoid\"}]",
                                 "\"loss\": \"mse\", \"optimizer\": {\"name\": \"sgd\", \"learning_rate\": 0.5}, \"training\": "
                                 "{\"batch_size\": 8}, \"checkpoint\": {\"path\": \"model.ckpt\", "
                                 "\"keep_best\": true}");
    nn_error e = {0};
    /* the config above gives "checkpoint" twice: a config error proves the
     * strict parser; write a proper one */
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    nn_config cfg;
    ck_assert_int_eq(nn_config_load(&cfg, path, &e), -1);
    ck_assert_int_eq(e.code, 2);
    dir = setup_with("[{\"units\": 4, \"activation\": \"sigmoid\"}, {\"units\": 2, \"activation\": \"sigmoid\"}]",
                     "\"loss\": \"mse\", \"optimizer\": {\"name\": \"sgd\", \"learning_rate\": 0.5}, \"training\": {\"batch_size\": 8}");
    snprintf(path, sizeof path, "%s/config.json", dir);
    ck_assert_int_eq(nn_config_load(&cfg, path, &e), 0);
    nn_config_free(&cfg);
    char *sets[1] = {"checkpoint.keep_best=true"};
    ck_assert_msg(nn_config_load_with_sets(&cfg, path, sets, 1, &e) == 0, "%s", e.msg);
    cfg.epochs = 6;
    nn_train_opts o = {0};
    ck_assert_msg(nn_train(&cfg, &o, &e) == 0, "%s", e.msg);
    nn_config_free(&cfg);
    char ck[4200], best[4300];
    snprintf(ck, sizeof ck, "%s/model.ckpt", dir);
    snprintf(best, sizeof best, "%s/model.ckpt.best", dir);
    nn_ckpt latest = {0}, b = {0};
    ck_assert_int_eq(nn_ckpt_load(ck, &latest, &e), 0);
    ck_assert_int_eq(nn_ckpt_load(best, &b, &e), 0);
    ck_assert_int_eq(latest.epoch, 6);
    ck_assert_int_eq(b.epoch, latest.best_epoch);
    ck_assert_double_eq(b.val_loss, latest.best_val_loss);
    ck_assert(b.val_loss <= latest.val_loss);
    nn_ckpt_free(&latest);
    nn_ckpt_free(&b);
}
END_TEST

/* ---- batch normalization end to end ------------------------------------------------ */

/* The stop flag the trainer reads, raised by on_batch at one batch. */
static volatile sig_atomic_t bn_stop;
static int64_t bn_stop_epoch, bn_stop_batch;

static void stop_at(void *ctx, const nn_batch_report *b)
{
    (void)ctx;
    if (b->epoch == bn_stop_epoch && b->batch == bn_stop_batch)
        bn_stop = SIGINT;
}

/* Trains dir's config to `epochs`, resuming or not; with stop_epoch > 0 a
 * SIGINT is simulated after that epoch's stop_batch-th batch. */
static int train_bn(const char *dir, int epochs, bool resume, int64_t stop_epoch,
                    int64_t stop_batch, nn_error *e)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    nn_config cfg;
    ck_assert_int_eq(nn_config_load(&cfg, path, e), 0);
    cfg.epochs = epochs;
    bn_stop = 0;
    bn_stop_epoch = stop_epoch;
    bn_stop_batch = stop_batch;
    nn_train_opts o = {.resume = resume, .stop = &bn_stop, .on_batch = stop_at};
    int rc = nn_train(&cfg, &o, e);
    nn_config_free(&cfg);
    return rc;
}

static const char bn_model[] =
    "[{\"units\": 6, \"activation\": \"relu\", \"batch_norm\": true, \"dropout\": 0.2},"
    " {\"units\": 5, \"activation\": \"tanh\", \"batch_norm\": true, "
    "\"batch_norm_momentum\": 0.3, \"batch_norm_eps\": 0.001},"
    " {\"units\": 2, \"activation\": \"softmax\"}]";

/* Stopped after epoch 2, or inside epoch 3 (with its running statistics
 * mid-way), and resumed to 4: the same bytes as 4 epochs in one run. */
START_TEST(test_batch_norm_resume_is_exact)
{
    static const char *const optimizers[] = {
        "\"optimizer\": {\"name\": \"sgd\", \"learning_rate\": 0.3}", /* the fused path */
        "\"optimizer\": {\"name\": \"adam\", \"learning_rate\": 0.01, \"weight_decay\": 0.01}",
    };
    for (int i = 0; i < 2; i++) {
        char rest[512];
        snprintf(rest, sizeof rest,
                 "%s, \"loss\": \"cross_entropy\", \"training\": {\"batch_size\": 9}",
                 optimizers[i]);
        const char *dir = setup_with(bn_model, rest);
        char ck[4200];
        snprintf(ck, sizeof ck, "%s/model.ckpt", dir);
        nn_error e = {0};
        ck_assert_msg(train_bn(dir, 4, false, 0, 0, &e) == 0, "%s", e.msg);
        size_t n0, n1, n2;
        unsigned char *whole = slurp(ck, &n0);
        nn_ckpt c = {0};
        ck_assert_int_eq(nn_ckpt_load(ck, &c, &e), 0);
        ck_assert_int_eq(c.arch.n_layers, 5);
        ck_assert_uint_eq(c.n_state, 2 * 6 + 2 * 5);
        ck_assert(c.state[0] != 0.0f && c.state[12] != 1.0f); /* running statistics moved */
        nn_ckpt_free(&c);

        ck_assert_int_eq(train_bn(dir, 2, false, 0, 0, &e), 0);
        ck_assert_msg(train_bn(dir, 4, true, 0, 0, &e) == 0, "%s", e.msg);
        unsigned char *resumed = slurp(ck, &n1);
        ck_assert_uint_eq(n0, n1);
        ck_assert_msg(memcmp(whole, resumed, n0) == 0, "optimizer %d: resumed after epoch 2", i);

        ck_assert_int_eq(train_bn(dir, 4, false, 3, 5, &e), -1);
        ck_assert_int_eq(e.code, NN_EXIT_SIGINT);
        ck_assert_msg(strstr(e.msg, "interrupted by SIGINT at epoch 3, batch 5;") != NULL, "%s",
                      e.msg);
        ck_assert_msg(train_bn(dir, 4, true, 0, 0, &e) == 0, "%s", e.msg);
        unsigned char *inside = slurp(ck, &n2);
        ck_assert_uint_eq(n0, n2);
        ck_assert_msg(memcmp(whole, inside, n0) == 0, "optimizer %d: resumed inside epoch 3", i);
        free(whole);
        free(resumed);
        free(inside);
    }
}
END_TEST

/* Batch-normalised layers wide enough that the products are shared among
 * the threads: the checkpoint is the same for 1, 2 and 3 threads. */
START_TEST(test_batch_norm_checkpoint_is_the_same_for_any_thread_count)
{
    const char *dir = nn_test_tmpdir();
    enum { N = 120, F = 300 };
    uint8_t *x = malloc(N * F), y[N];
    nn_rng r;
    nn_rng_seed(&r, 8, 0);
    for (int i = 0; i < N; i++) {
        y[i] = (uint8_t)(i % 3);
        for (int f = 0; f < F; f++)
            x[i * F + f] = (uint8_t)(nn_rng_below(&r, 100) + (f % 3 == y[i] ? 120 : 0));
    }
    char path[4200], text[1024];
    nn_error e = {0};
    uint32_t dims[2] = {N, F}, ldim[1] = {N};
    snprintf(path, sizeof path, "%s/x.idx", dir);
    ck_assert_int_eq(nn_idx_write(path, 0, NN_DT_U8, 2, dims, x, &e), 0);
    snprintf(path, sizeof path, "%s/y.idx", dir);
    ck_assert_int_eq(nn_idx_write(path, 0, NN_DT_U8, 1, ldim, y, &e), 0);
    free(x);
    snprintf(text, sizeof text,
             "{\"data\": {\"train\": {\"images\": \"x.idx\", \"labels\": \"y.idx\"}},"
             " \"model\": {\"layers\": [{\"units\": 96, \"activation\": \"relu\", "
             "\"batch_norm\": true}, {\"units\": 64, \"activation\": \"sigmoid\", \"batch_norm\": true},"
             " {\"units\": 3, \"activation\": \"sigmoid\"}]}, \"loss\": \"mse\","
             " \"optimizer\": {\"name\": \"sgd\"},"
             " \"training\": {\"epochs\": 2, \"batch_size\": 50},"
             " \"checkpoint\": {\"path\": \"m.ckpt\"}}");
    snprintf(path, sizeof path, "%s/config.json", dir);
    nn_test_write_file(path, text, strlen(text));
    char ck[4200];
    snprintf(ck, sizeof ck, "%s/m.ckpt", dir);
    unsigned char *first = NULL;
    size_t n0 = 0;
    static const int threads[] = {1, 2, 3};
    for (int t = 0; t < 3; t++) {
        nn_pool_set_threads(threads[t]);
        ck_assert_msg(train_bn(dir, 2, false, 0, 0, &e) == 0, "%s", e.msg);
        size_t n;
        unsigned char *bytes = slurp(ck, &n);
        if (!first) {
            first = bytes;
            n0 = n;
            continue;
        }
        ck_assert_uint_eq(n, n0);
        ck_assert_msg(memcmp(bytes, first, n) == 0, "%d threads: another checkpoint",
                      threads[t]);
        free(bytes);
    }
    nn_pool_set_threads(1);
    free(first);
}
END_TEST

/* A last batch of one row is refused before training, naming batch sizes
 * that work; so is data of one row. */
START_TEST(test_batch_norm_refuses_a_batch_of_one_row)
{
    /* 160 training rows: batches of 53 leave one */
    const char *dir = setup_with(bn_model, "\"loss\": \"cross_entropy\", \"training\": "
                                           "{\"batch_size\": 53}");
    nn_error e = {0};
    ck_assert_int_eq(train_bn(dir, 1, false, 0, 0, &e), -1);
    ck_assert_int_eq(e.code, 1);
    ck_assert_msg(strstr(e.msg, "train-images.idx.gz: 160 training rows in batches of 53 leave "
                                "a last batch of one row, which batch normalization (layer 1) "
                                "cannot normalize: set training.batch_size to 52 or 54, or "
                                "change data.validation_fraction") != NULL,
                  "%s", e.msg);
    char ck[4200];
    snprintf(ck, sizeof ck, "%s/model.ckpt", dir);
    ck_assert_int_eq(access(ck, F_OK), -1); /* nothing was written */
}
END_TEST

Suite *train_suite(void)
{
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("end to end");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_train_learns_separable_problem_to_full_accuracy);
    tcase_add_test(tc, test_train_is_deterministic_for_a_seed);
    tcase_add_test(tc, test_train_prints_nothing_and_reports_through_callbacks);
    tcase_add_test(tc, test_resume_n_then_m_equals_n_plus_m);
    tcase_add_test(tc, test_resume_rejects_different_architecture);
    tcase_add_test(tc, test_resume_without_checkpoint_is_an_error);
    tcase_add_test(tc, test_divergence_stops_with_epoch_and_batch_and_keeps_checkpoint);
    tcase_add_test(tc, test_label_beyond_outputs_is_an_error);
    tcase_add_test(tc, test_csv_string_labels_round_trip_through_checkpoint);
    tcase_add_test(tc, test_csv_regression_learns_a_linear_map);
    tcase_add_test(tc, test_resume_is_exact_with_every_optimizer);
    tcase_add_test(tc, test_batch_norm_resume_is_exact);
    tcase_add_test(tc, test_batch_norm_checkpoint_is_the_same_for_any_thread_count);
    tcase_add_test(tc, test_batch_norm_refuses_a_batch_of_one_row);
    tcase_add_test(tc, test_dropout_is_seeded_and_off_at_eval);
    tcase_add_test(tc, test_ema_is_the_moving_average_of_the_weights);
    tcase_add_test(tc, test_early_stopping_stops_at_the_right_epoch);
    tcase_add_test(tc, test_keep_best_writes_the_best_epoch_beside_the_latest);
    suite_add_tcase(s, tc);
    return s;
}
