/* test_api.c - libnntrain's model interface (include/nntrain.h): opening
 * from a file and from memory, describing, predicting (the same numbers as
 * --predict's internal path and as a forward computed by hand), every
 * misuse answered with a status and a message, damaged and newer
 * checkpoints, and one model predicting from several threads at once. */
#include "tests.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntrain.h"

#include "checkpoint/checkpoint.h"
#include "config/config.h"
#include "eval/predict.h"
#include "kernels/kernels.h"
#include "train/train.h"
#include "util/crc32.h"
#include "util/rng.h"

/* ---- helpers --------------------------------------------------------------- */

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    return p;
}

static char *xstrdup(const char *s)
{
    char *d = xmalloc(strlen(s) + 1);
    strcpy(d, s);
    return d;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = xmalloc((size_t)len + 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void fix_crc(unsigned char *buf, size_t n)
{
    put_le32(buf + n - 4, nn_crc32(0, buf, n - 4));
}

enum { NAMES, INTS, REGRESSION };

/* Trains a small model on a CSV of 3 features (`kind`: string labels, integer
 * labels or two regression targets) in a fresh folder; returns the
 * checkpoint's path (static storage) and leaves the features of its rows,
 * without labels, in rows.csv beside it. */
static const char *trained(int kind, const char *extra_training)
{
    static char ck[4200];
    const char *dir = nn_test_tmpdir();
    char path[4200], rows[4200], text[1200];
    snprintf(path, sizeof path, "%s/train.csv", dir);
    snprintf(rows, sizeof rows, "%s/rows.csv", dir);
    FILE *f = fopen(path, "w"), *r = fopen(rows, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(r);
    fputs(kind == REGRESSION ? "a,b,c,y1,y2\n" : "a,b,c,kind\n", f);
    nn_rng g;
    nn_rng_seed(&g, 9, 0);
    static const char *const names[3] = {"zebra", "ant", "moose"};
    for (int i = 0; i < 150; i++) {
        int k = i % 3;
        double a = k + 0.4 * nn_rng_double(&g), b = (k == 1) + 0.4 * nn_rng_double(&g),
               c = 10.0 * nn_rng_double(&g);
        fprintf(f, "%.3f,%.3f,%.3f,", a, b, c);
        fprintf(r, "%.3f,%.3f,%.3f\n", a, b, c);
        if (kind == NAMES)
            fprintf(f, "%s\n", names[k]);
        else if (kind == INTS)
            fprintf(f, "%d\n", k);
        else
            fprintf(f, "%.4f,%.4f\n", 100 + 3 * a - b, 0.01 * c);
    }
    fclose(f);
    fclose(r);
    snprintf(path, sizeof path, "%s/config.json", dir);
    snprintf(text, sizeof text,
             "{\"seed\": 5, \"data\": {\"train\": {\"path\": \"train.csv\", %s}, "
             "\"scale\": \"standard\"},"
             " \"model\": {\"layers\": [{\"units\": 6, \"activation\": \"tanh\"},"
             " {\"units\": %s}]}, \"loss\": \"%s\","
             " \"optimizer\": {\"name\": \"adam\", \"learning_rate\": 0.01},"
             " \"training\": {\"epochs\": 3, \"batch_size\": 10 %s},"
             " \"checkpoint\": {\"path\": \"m.ckpt\"}}",
             kind == REGRESSION ? "\"targets\": [\"y1\", \"y2\"]" : "\"label\": \"kind\"",
             kind == REGRESSION ? "2, \"activation\": \"identity\""
                                : "3, \"activation\": \"softmax\"",
             kind == REGRESSION ? "mse" : "cross_entropy", extra_training);
    nn_test_write_file(path, text, strlen(text));
    nn_error e = {0};
    nn_config cfg;
    ck_assert_msg(nn_config_load(&cfg, path, &e) == 0, "%s", e.msg);
    nn_train_opts o = {0};
    ck_assert_msg(nn_train(&cfg, &o, &e) == 0, "%s", e.msg);
    nn_config_free(&cfg);
    snprintf(ck, sizeof ck, "%s/m.ckpt", dir);
    return ck;
}

/* The rows of rows.csv beside the checkpoint at ck, as floats; *n rows of 3. */
static float *rows_of(const char *ck, size_t *n)
{
    char path[4200];
    snprintf(path, sizeof path, "%.*s/rows.csv", (int)(strrchr(ck, '/') - ck), ck);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    float *x = xmalloc(sizeof(float) * 3 * 1000);
    size_t k = 0;
    double a, b, c;
    while (k < 1000 && fscanf(f, "%lf,%lf,%lf", &a, &b, &c) == 3) {
        x[3 * k] = (float)a;
        x[3 * k + 1] = (float)b;
        x[3 * k + 2] = (float)c;
        k++;
    }
    fclose(f);
    *n = k;
    return x;
}

/* A model built by hand: `in` inputs, a relu layer of `hidden` units (none
 * when 0), `out` softmax outputs (sigmoid when 1), parameters params[i] (or
 * drawn when NULL), input scaling shift/mult (none when NULL), encoded into
 * *buf (free it). */
static void handmade(int in, int hidden, int out, const float *params, const float *shift,
                     const float *mult, unsigned char **buf, size_t *n)
{
    nn_ckpt c;
    memset(&c, 0, sizeof c);
    c.version = xstrdup("0.2.0");
    c.config_json = xstrdup("{}");
    c.format = NN_CKPT_VERSION;
    nn_layer_cfg layers[2];
    int nl = 0;
    memset(layers, 0, sizeof layers);
    if (hidden > 0)
        layers[nl++] = (nn_layer_cfg){.units = hidden, .act = NN_ACT_RELU};
    layers[nl++] = (nn_layer_cfg){.units = out, .act = out == 1 ? NN_ACT_SIGMOID : NN_ACT_SOFTMAX};
    nn_error err = {0};
    ck_assert_msg(nn_arch_from_layers(&c.arch, in, layers, nl, &err) == 0, "%s", err.msg);
    c.loss = out == 1 ? NN_LOSS_BINARY_CROSS_ENTROPY : NN_LOSS_CROSS_ENTROPY;
    c.optimizer = NN_OPT_SGD;
    c.n_classes = out == 1 ? 2 : out;
    c.layout.format = NN_FORMAT_IDX;
    c.layout.label_col = -1;
    if (shift) {
        c.scale = NN_SCALE_STANDARD;
        c.shift = xmalloc(sizeof(float) * (size_t)in);
        c.mult = xmalloc(sizeof(float) * (size_t)in);
        memcpy(c.shift, shift, sizeof(float) * (size_t)in);
        memcpy(c.mult, mult, sizeof(float) * (size_t)in);
    }
    c.n_params = hidden > 0 ? (size_t)hidden * (size_t)(in + 1) + (size_t)out * (size_t)(hidden + 1)
                            : (size_t)out * (size_t)(in + 1);
    c.params = xmalloc(sizeof(float) * c.n_params);
    nn_rng g;
    nn_rng_seed(&g, 11, 0);
    for (size_t i = 0; i < c.n_params; i++)
        c.params[i] = params ? params[i] : (float)(nn_rng_double(&g) - 0.5);
    c.epoch = 1;
    c.best_val_loss = NAN;
    c.train_loss = c.train_accuracy = c.val_loss = c.val_accuracy = NAN;
    ck_assert_msg(nn_ckpt_encode(&c, buf, n, "x", &err) == 0, "%s", err.msg);
    nn_ckpt_free(&c);
}

/* Every field of err says s, with a message. */
static void assert_failed(nntrain_status got, const nntrain_error *err, nntrain_status s)
{
    ck_assert_msg(got == s, "status %d (%s), expected %d: %s", (int)got,
                  nntrain_status_string(got), (int)s, err->message);
    ck_assert_int_eq(err->status, s);
    ck_assert_int_ne(err->exit_code, 0);
    ck_assert_msg(err->message[0] != '\0', "an empty message for status %d", (int)s);
    ck_assert_ptr_null(strchr(err->message, '\n'));
}

/* ---- tests ----------------------------------------------------------------- */

START_TEST(test_api_version_and_status_strings)
{
    ck_assert_str_eq(nntrain_version(), NNTRAIN_VERSION_STRING);
    ck_assert_int_eq(NNTRAIN_VERSION_NUMBER,
                     NNTRAIN_VERSION_MAJOR * 10000 + NNTRAIN_VERSION_MINOR * 100 +
                         NNTRAIN_VERSION_PATCH);
    for (int s = NNTRAIN_OK; s <= NNTRAIN_ERR_RUNTIME; s++)
        ck_assert_ptr_nonnull(nntrain_status_string((nntrain_status)s));
    ck_assert_str_eq(nntrain_status_string((nntrain_status)99), "unknown status");
}
END_TEST

/* The same file opened from its path and from its bytes predicts the same,
 * and the caller may free the bytes at once. */
START_TEST(test_api_open_and_open_memory_agree)
{
    const char *ck = trained(NAMES, "");
    size_t n_rows, n;
    float *x = rows_of(ck, &n_rows);
    unsigned char *bytes = slurp(ck, &n);
    nntrain_model *a = NULL, *b = NULL;
    nntrain_error err;
    ck_assert_msg(nntrain_open(ck, &a, &err) == NNTRAIN_OK, "%s", err.message);
    ck_assert_int_eq(err.status, NNTRAIN_OK);
    ck_assert_msg(nntrain_open_memory(bytes, n, &b, &err) == NNTRAIN_OK, "%s", err.message);
    memset(bytes, 0xAB, n);
    free(bytes);
    float *ya = xmalloc(sizeof(float) * 3 * n_rows), *yb = xmalloc(sizeof(float) * 3 * n_rows);
    int *la = xmalloc(sizeof(int) * n_rows), *lb = xmalloc(sizeof(int) * n_rows);
    ck_assert_int_eq(nntrain_predict(a, x, n_rows, 3 * n_rows, la, ya, 3 * n_rows, &err), 0);
    ck_assert_int_eq(nntrain_predict(b, x, n_rows, 3 * n_rows, lb, yb, 3 * n_rows, &err), 0);
    ck_assert_mem_eq(ya, yb, sizeof(float) * 3 * n_rows);
    ck_assert_mem_eq(la, lb, sizeof(int) * n_rows);
    nntrain_close(a);
    nntrain_close(b);
    free(x);
    free(ya);
    free(yb);
    free(la);
    free(lb);
}
END_TEST

START_TEST(test_api_describe_string_labels)
{
    const char *ck = trained(NAMES, ", \"ema\": 0.9");
    nntrain_model *m;
    nntrain_error err;
    nntrain_info info;
    ck_assert_msg(nntrain_open(ck, &m, &err) == NNTRAIN_OK, "%s", err.message);
    ck_assert_int_eq(nntrain_describe(m, &info, &err), NNTRAIN_OK);
    ck_assert_int_eq(info.task, NNTRAIN_TASK_CLASSIFICATION);
    ck_assert_int_eq(info.precision, NNTRAIN_PRECISION_FP32);
    ck_assert_int_eq(info.n_inputs, 3);
    ck_assert_int_eq(info.n_outputs, 3);
    ck_assert_int_eq(info.n_classes, 3);
    ck_assert_int_eq(info.has_class_names, 1);
    ck_assert_int_eq(info.n_layers, 2);
    ck_assert_int_eq((int)info.epochs, 3);
    ck_assert_int_eq(info.checkpoint_format, 4);
    ck_assert_str_eq(nntrain_class_name(m, 0), "ant");
    ck_assert_str_eq(nntrain_class_name(m, 1), "moose");
    ck_assert_str_eq(nntrain_class_name(m, 2), "zebra");
    ck_assert_ptr_null(nntrain_class_name(m, 3));
    ck_assert_ptr_null(nntrain_class_name(m, -1));
    ck_assert_ptr_null(nntrain_class_name(NULL, 0));
    nntrain_close(m);
}
END_TEST

START_TEST(test_api_describe_integer_labels_and_regression)
{
    const char *ck = trained(INTS, "");
    nntrain_model *m;
    nntrain_error err;
    nntrain_info info;
    ck_assert_msg(nntrain_open(ck, &m, &err) == NNTRAIN_OK, "%s", err.message);
    ck_assert_int_eq(nntrain_describe(m, &info, NULL), NNTRAIN_OK);
    ck_assert_int_eq(info.task, NNTRAIN_TASK_CLASSIFICATION);
    ck_assert_int_eq(info.n_classes, 3);
    ck_assert_int_eq(info.has_class_names, 0);
    ck_assert_ptr_null(nntrain_class_name(m, 0));
    nntrain_close(m);

    ck = trained(REGRESSION, "");
    ck_assert_msg(nntrain_open(ck, &m, &err) == NNTRAIN_OK, "%s", err.message);
    ck_assert_int_eq(nntrain_describe(m, &info, &err), NNTRAIN_OK);
    ck_assert_int_eq(info.task, NNTRAIN_TASK_REGRESSION);
    ck_assert_int_eq(info.n_inputs, 3);
    ck_assert_int_eq(info.n_outputs, 2);
    ck_assert_int_eq(info.n_classes, 0);
    ck_assert_int_eq(info.has_class_names, 0);
    ck_assert_ptr_null(nntrain_class_name(m, 0));
    /* labels of a regression model are -1; outputs in the targets' units */
    size_t n_rows;
    float *x = rows_of(ck, &n_rows);
    int *labels = xmalloc(sizeof(int) * n_rows);
    float *y = xmalloc(sizeof(float) * 2 * n_rows);
    ck_assert_int_eq(nntrain_predict(m, x, n_rows, 3 * n_rows, labels, y, 2 * n_rows, &err), 0);
    double mean = 0;
    for (size_t i = 0; i < n_rows; i++) {
        ck_assert_int_eq(labels[i], -1);
        mean += y[2 * i] / (double)n_rows;
    }
    ck_assert_msg(mean > 50, "the first target's mean prediction %g is not in its units", mean);
    nntrain_close(m);
    free(x);
    free(labels);
    free(y);
}
END_TEST

/* --predict's core with a sink that keeps the outputs. */
typedef struct {
    float *y;
    size_t n, cap;
} kept;

static bool keep_rows(void *ctx, const nn_ckpt *c, const float *Y, int B, int K)
{
    (void)c;
    kept *k = ctx;
    ck_assert_uint_le(k->n + (size_t)B * (size_t)K, k->cap);
    memcpy(k->y + k->n, Y, sizeof(float) * (size_t)B * (size_t)K);
    k->n += (size_t)B * (size_t)K;
    return true;
}

/* What --predict computes (nn_predict), bit for bit: scaling, the moving
 * average of the weights, target un-scaling. */
static void assert_same_as_predict(const char *ck, int K, nn_precision prec)
{
    /* the kernels --predict would take: NNTRAIN_ISA's when it is one of
     * this precision, else the best */
    const char *isa = getenv("NNTRAIN_ISA");
    nn_error e = {0};
    if (!isa || !*isa || nn_kernels_select(prec, isa, &e) != 0)
        ck_assert_msg(nn_kernels_select(prec, NULL, &e) == 0, "%s", e.msg);
    const char *family = nn_kernels_get()->name;
    size_t n_rows;
    float *x = rows_of(ck, &n_rows);
    char rows[4200];
    snprintf(rows, sizeof rows, "%.*s/rows.csv", (int)(strrchr(ck, '/') - ck), ck);
    kept k = {xmalloc(sizeof(float) * (size_t)K * n_rows), 0, (size_t)K * n_rows};
    nn_predict_sink sink = {&k, keep_rows};
    ck_assert_msg(nn_predict(ck, rows, &sink, &e) == 0, "%s", e.msg);
    ck_assert_uint_eq(k.n, (size_t)K * n_rows);

    nntrain_model *m;
    nntrain_error err;
    ck_assert_msg(nntrain_open(ck, &m, &err) == NNTRAIN_OK, "%s", err.message);
    float *y = xmalloc(sizeof(float) * (size_t)K * n_rows);
    int *labels = xmalloc(sizeof(int) * n_rows);
    ck_assert_int_eq(nntrain_predict(m, x, n_rows, 3 * n_rows, labels, y, (size_t)K * n_rows, &err),
                     NNTRAIN_OK);
    for (size_t i = 0; i < (size_t)K * n_rows; i++)
        ck_assert_msg(memcmp(&y[i], &k.y[i], sizeof(float)) == 0, "output %zu: %.9g, --predict %.9g",
                      i, y[i], k.y[i]);
    /* labels alone, and outputs alone, give the same */
    int *l2 = xmalloc(sizeof(int) * n_rows);
    float *y2 = xmalloc(sizeof(float) * (size_t)K * n_rows);
    ck_assert_int_eq(nntrain_predict(m, x, n_rows, 3 * n_rows, l2, NULL, 0, &err), NNTRAIN_OK);
    ck_assert_int_eq(nntrain_predict(m, x, n_rows, 3 * n_rows, NULL, y2, (size_t)K * n_rows, &err),
                     NNTRAIN_OK);
    ck_assert_mem_eq(labels, l2, sizeof(int) * n_rows);
    ck_assert_mem_eq(y, y2, sizeof(float) * (size_t)K * n_rows);
    /* the process's selection is left as it was */
    ck_assert_int_eq(nn_kernels_precision(), prec);
    ck_assert_str_eq(nn_kernels_get()->name, family);
    nntrain_close(m);
    free(x);
    free(k.y);
    free(y);
    free(y2);
    free(labels);
    free(l2);
}

START_TEST(test_api_predict_is_predicts_core)
{
    assert_same_as_predict(trained(NAMES, ""), 3, NN_PREC_FP32);
}
END_TEST

/* A bf16 model predicts with bf16 kernels on the calling thread only. */
START_TEST(test_api_predict_is_predicts_core_in_bf16)
{
    const char *ck = trained(NAMES, ", \"precision\": \"bf16\"");
    nntrain_model *m;
    nntrain_error err;
    nntrain_info info;
    ck_assert_msg(nntrain_open(ck, &m, &err) == NNTRAIN_OK, "%s", err.message);
    ck_assert_int_eq(nntrain_describe(m, &info, &err), NNTRAIN_OK);
    ck_assert_int_eq(info.precision, NNTRAIN_PRECISION_BF16);
    nntrain_close(m);
    assert_same_as_predict(ck, 3, NN_PREC_BF16);
    /* and while the process runs fp32 kernels */
    nn_error e = {0};
    ck_assert_int_eq(nn_kernels_select(NN_PREC_FP32, NULL, &e), 0);
    size_t n_rows;
    float *x = rows_of(ck, &n_rows);
    float *a = xmalloc(sizeof(float) * 3 * n_rows), *b = xmalloc(sizeof(float) * 3 * n_rows);
    ck_assert_int_eq(nntrain_open(ck, &m, &err), NNTRAIN_OK);
    ck_assert_int_eq(nntrain_predict(m, x, n_rows, 3 * n_rows, NULL, a, 3 * n_rows, &err), 0);
    ck_assert_int_eq(nn_kernels_precision(), NN_PREC_FP32);
    ck_assert_int_eq(nn_kernels_select(NN_PREC_BF16, NULL, &e), 0);
    ck_assert_int_eq(nntrain_predict(m, x, n_rows, 3 * n_rows, NULL, b, 3 * n_rows, &err), 0);
    ck_assert_mem_eq(a, b, sizeof(float) * 3 * n_rows);
    nntrain_close(m);
    free(x);
    free(a);
    free(b);
}
END_TEST

START_TEST(test_api_predict_is_predicts_core_with_ema)
{
    const char *ck = trained(INTS, ", \"ema\": 0.9");
    nn_ckpt c = {0};
    nn_error e = {0};
    ck_assert_int_eq(nn_ckpt_load(ck, &c, &e), 0);
    ck_assert_ptr_nonnull(c.ema);
    nn_ckpt_free(&c);
    assert_same_as_predict(ck, 3, NN_PREC_FP32);
}
END_TEST

START_TEST(test_api_predict_is_predicts_core_for_regression)
{
    assert_same_as_predict(trained(REGRESSION, ""), 2, NN_PREC_FP32);
}
END_TEST

/* 2 inputs -> 2 softmax outputs, scaled inputs, computed by hand. */
START_TEST(test_api_predict_by_hand)
{
    static const float W[6] = {0.5f, -1.0f, /* unit 0 */ 2.0f, 0.25f, /* unit 1 */ 0.1f, -0.3f};
    static const float shift[2] = {1.0f, -2.0f}, mult[2] = {0.5f, 2.0f};
    unsigned char *buf;
    size_t n;
    handmade(2, 0, 2, W, shift, mult, &buf, &n);
    nntrain_model *m;
    nntrain_error err;
    ck_assert_msg(nntrain_open_memory(buf, n, &m, &err) == NNTRAIN_OK, "%s", err.message);
    free(buf);
    nntrain_info info;
    ck_assert_int_eq(nntrain_describe(m, &info, &err), NNTRAIN_OK);
    ck_assert_int_eq(info.n_layers, 1);
    ck_assert_int_eq(info.n_classes, 2);
    static const float x[6] = {3.0f, -1.5f, 0.0f, 0.0f, -2.0f, 1.0f};
    float y[6];
    int labels[3];
    ck_assert_int_eq(nntrain_predict(m, x, 3, 6, labels, y, 6, &err), NNTRAIN_OK);
    for (int r = 0; r < 3; r++) {
        double s0 = (x[2 * r] - shift[0]) * mult[0], s1 = (x[2 * r + 1] - shift[1]) * mult[1];
        double z0 = W[0] * s0 + W[1] * s1 + W[4], z1 = W[2] * s0 + W[3] * s1 + W[5];
        double p0 = 1 / (1 + exp(z1 - z0));
        ck_assert_double_eq_tol(y[2 * r], p0, 1e-6);
        ck_assert_double_eq_tol(y[2 * r + 1], 1 - p0, 1e-6);
        ck_assert_int_eq(labels[r], p0 >= 1 - p0 ? 0 : 1);
    }
    nntrain_close(m);
}
END_TEST

START_TEST(test_api_misuse_is_an_error)
{
    unsigned char *buf;
    size_t n;
    handmade(4, 5, 3, NULL, NULL, NULL, &buf, &n);
    nntrain_model *m = (nntrain_model *)1;
    nntrain_error err;
    float x[8] = {0}, y[6];
    int labels[2];

    assert_failed(nntrain_open(NULL, &m, &err), &err, NNTRAIN_ERR_ARGUMENT);
    ck_assert_ptr_null(m);
    assert_failed(nntrain_open("x.ckpt", NULL, &err), &err, NNTRAIN_ERR_ARGUMENT);
    assert_failed(nntrain_open_memory(NULL, 10, &m, &err), &err, NNTRAIN_ERR_ARGUMENT);
    assert_failed(nntrain_open_memory(buf, n, NULL, &err), &err, NNTRAIN_ERR_ARGUMENT);
    /* NULL err is fine */
    ck_assert_int_eq(nntrain_open(NULL, &m, NULL), NNTRAIN_ERR_ARGUMENT);

    ck_assert_msg(nntrain_open_memory(buf, n, &m, &err) == NNTRAIN_OK, "%s", err.message);
    nntrain_info info;
    assert_failed(nntrain_describe(NULL, &info, &err), &err, NNTRAIN_ERR_ARGUMENT);
    assert_failed(nntrain_describe(m, NULL, &err), &err, NNTRAIN_ERR_ARGUMENT);

    assert_failed(nntrain_predict(NULL, x, 2, 8, labels, y, 6, &err), &err, NNTRAIN_ERR_ARGUMENT);
    assert_failed(nntrain_predict(m, NULL, 2, 8, labels, y, 6, &err), &err, NNTRAIN_ERR_ARGUMENT);
    assert_failed(nntrain_predict(m, x, 2, 8, NULL, NULL, 0, &err), &err, NNTRAIN_ERR_ARGUMENT);
    assert_failed(nntrain_predict(m, x, 2, 7, labels, y, 6, &err), &err, NNTRAIN_ERR_ARGUMENT);
    assert_failed(nntrain_predict(m, x, 2, 9, labels, y, 6, &err), &err, NNTRAIN_ERR_ARGUMENT);
    assert_failed(nntrain_predict(m, x, 2, 8, labels, y, 5, &err), &err, NNTRAIN_ERR_ARGUMENT);
    assert_failed(nntrain_predict(m, x, 2, 8, NULL, y, 7, &err), &err, NNTRAIN_ERR_ARGUMENT);
    assert_failed(nntrain_predict(m, x, SIZE_MAX, 8, labels, y, 6, &err), &err,
                  NNTRAIN_ERR_ARGUMENT);
    assert_failed(nntrain_predict(m, x, SIZE_MAX / 4 + 1, (SIZE_MAX / 4 + 1) * 4, labels, NULL, 0,
                                  &err),
                  &err, NNTRAIN_ERR_ARGUMENT);
    /* no rows is not a misuse */
    ck_assert_int_eq(nntrain_predict(m, NULL, 0, 0, labels, NULL, 0, &err), NNTRAIN_OK);
    ck_assert_int_eq(nntrain_predict(m, x, 2, 8, labels, y, 6, &err), NNTRAIN_OK);

    assert_failed(nntrain_set_threads(-1, &err), &err, NNTRAIN_ERR_ARGUMENT);
    assert_failed(nntrain_set_threads(100000, &err), &err, NNTRAIN_ERR_ARGUMENT);
    ck_assert_int_eq(nntrain_set_threads(0, &err), NNTRAIN_OK);
    ck_assert_int_eq(nntrain_set_threads(1, &err), NNTRAIN_OK);
    assert_failed(nntrain_select_kernels(NULL, NULL, &err), &err, NNTRAIN_ERR_ARGUMENT);
    assert_failed(nntrain_select_kernels("fp16", NULL, &err), &err, NNTRAIN_ERR_ARGUMENT);
    assert_failed(nntrain_select_kernels("fp32", "amx", &err), &err, NNTRAIN_ERR_ARGUMENT);
    assert_failed(nntrain_select_kernels("fp32", "nosuch", &err), &err, NNTRAIN_ERR_ARGUMENT);
    ck_assert_int_eq(nntrain_select_kernels("fp32", "scalar", &err), NNTRAIN_OK);
    ck_assert_int_eq(nntrain_predict(m, x, 2, 8, labels, y, 6, &err), NNTRAIN_OK);
    ck_assert_int_eq(nntrain_select_kernels("fp32", NULL, &err), NNTRAIN_OK);
    ck_assert_int_eq(nntrain_select_kernels("bf16", NULL, &err), NNTRAIN_OK);

    nntrain_close(m);
    nntrain_close(NULL);
    free(buf);
}
END_TEST

START_TEST(test_api_bad_files_and_buffers)
{
    unsigned char *buf;
    size_t n;
    handmade(4, 5, 3, NULL, NULL, NULL, &buf, &n);
    nntrain_model *m = (nntrain_model *)1;
    nntrain_error err;

    /* files: missing, a folder */
    assert_failed(nntrain_open("/nonexistent/m.ckpt", &m, &err), &err, NNTRAIN_ERR_IO);
    ck_assert_ptr_null(m);
    ck_assert_ptr_nonnull(strstr(err.message, "/nonexistent/m.ckpt"));
    assert_failed(nntrain_open(nn_test_tmpdir(), &m, &err), &err, NNTRAIN_ERR_IO);
    /* not a checkpoint, empty, truncated, a flipped bit */
    assert_failed(nntrain_open_memory("hello", 5, &m, &err), &err, NNTRAIN_ERR_FORMAT);
    assert_failed(nntrain_open_memory(buf, 0, &m, &err), &err, NNTRAIN_ERR_FORMAT);
    assert_failed(nntrain_open_memory(NULL, 0, &m, &err), &err, NNTRAIN_ERR_FORMAT);
    for (size_t cut = 1; cut < n; cut += 1 + cut / 3)
        assert_failed(nntrain_open_memory(buf, cut, &m, &err), &err, NNTRAIN_ERR_FORMAT);
    buf[n / 2] ^= 0x10;
    assert_failed(nntrain_open_memory(buf, n, &m, &err), &err, NNTRAIN_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "checksum"));
    buf[n / 2] ^= 0x10;
    /* a file of the same name on disk is damaged the same way */
    const char *path = nn_test_put_bytes("cut.ckpt", buf, n - 9);
    assert_failed(nntrain_open(path, &m, &err), &err, NNTRAIN_ERR_FORMAT);
    /* an older format */
    put_le32(buf + 8, 2);
    fix_crc(buf, n);
    assert_failed(nntrain_open_memory(buf, n, &m, &err), &err, NNTRAIN_ERR_FORMAT);
    put_le32(buf + 8, NN_CKPT_VERSION);
    fix_crc(buf, n);
    ck_assert_int_eq(nntrain_open_memory(buf, n, &m, &err), NNTRAIN_OK);
    nntrain_close(m);
    free(buf);
}
END_TEST

/* A format-5 file with a required section this library does not know. */
START_TEST(test_api_newer_format_is_a_version_error)
{
    unsigned char *buf;
    size_t n;
    handmade(4, 5, 3, NULL, NULL, NULL, &buf, &n);
    size_t extra = 16 + 8, m_len = n + extra;
    unsigned char *more = xmalloc(m_len);
    memcpy(more, buf, n - 4);
    unsigned char *s = more + n - 4;
    memcpy(s, "QNTZ", 4);
    put_le32(s + 4, 1);           /* required */
    put_le32(s + 8, 8);           /* u64 length 8 */
    put_le32(s + 12, 0);
    memset(s + 16, 7, 8);
    put_le32(more + 8, 5);
    uint32_t count = (uint32_t)more[12] | (uint32_t)more[13] << 8 | (uint32_t)more[14] << 16 |
                     (uint32_t)more[15] << 24;
    put_le32(more + 12, count + 1);
    fix_crc(more, m_len);
    nntrain_model *m = (nntrain_model *)1;
    nntrain_error err;
    assert_failed(nntrain_open_memory(more, m_len, &m, &err), &err, NNTRAIN_ERR_VERSION);
    ck_assert_ptr_null(m);
    ck_assert_ptr_nonnull(strstr(err.message, "QNTZ"));
    /* the same section marked optional is skipped */
    put_le32(s + 4, 0);
    fix_crc(more, m_len);
    ck_assert_msg(nntrain_open_memory(more, m_len, &m, &err) == NNTRAIN_OK, "%s", err.message);
    nntrain_info info;
    ck_assert_int_eq(nntrain_describe(m, &info, &err), NNTRAIN_OK);
    ck_assert_int_eq(info.checkpoint_format, 5);
    nntrain_close(m);
    free(more);
    free(buf);
}
END_TEST

/* ---- threads ----------------------------------------------------------------- */

#define T_IN 64
#define T_ROWS 300
typedef struct {
    const nntrain_model *m;
    const float *x;
    float y[T_ROWS * 10];
    int labels[T_ROWS];
    int failures;
} worker_job;

static void *predict_often(void *arg)
{
    worker_job *j = arg;
    nntrain_error err;
    for (int round = 0; round < 24; round++)
        if (nntrain_predict(j->m, j->x, T_ROWS, (size_t)T_ROWS * T_IN, j->labels, j->y,
                            (size_t)T_ROWS * 10, &err) != NNTRAIN_OK)
            j->failures++;
    return NULL;
}

/* 4 threads on one model (products big enough for the pool's 2 workers)
 * give what one thread gives. */
START_TEST(test_api_threads_share_a_model)
{
    unsigned char *buf;
    size_t n;
    handmade(T_IN, 256, 10, NULL, NULL, NULL, &buf, &n);
    nntrain_model *m;
    nntrain_error err;
    ck_assert_msg(nntrain_open_memory(buf, n, &m, &err) == NNTRAIN_OK, "%s", err.message);
    free(buf);
    ck_assert_int_eq(nntrain_set_threads(2, &err), NNTRAIN_OK);
    float *x = xmalloc(sizeof(float) * T_ROWS * T_IN);
    nn_rng g;
    nn_rng_seed(&g, 3, 0);
    for (size_t i = 0; i < (size_t)T_ROWS * T_IN; i++)
        x[i] = (float)(4 * nn_rng_double(&g) - 2);
    worker_job *one = calloc(1, sizeof *one), *jobs = calloc(4, sizeof *jobs);
    ck_assert_ptr_nonnull(one);
    ck_assert_ptr_nonnull(jobs);
    one->m = m;
    one->x = x;
    predict_often(one);
    ck_assert_int_eq(one->failures, 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        jobs[i].m = m;
        jobs[i].x = x;
        ck_assert_int_eq(pthread_create(&t[i], NULL, predict_often, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(jobs[i].failures, 0);
        ck_assert_mem_eq(jobs[i].y, one->y, sizeof one->y);
        ck_assert_mem_eq(jobs[i].labels, one->labels, sizeof one->labels);
    }
    nntrain_set_threads(1, NULL);
    nntrain_close(m);
    free(x);
    free(one);
    free(jobs);
}
END_TEST

Suite *api_suite(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("model");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, nn_test_dir_fresh, NULL);
    tcase_add_test(tc, test_api_version_and_status_strings);
    tcase_add_test(tc, test_api_open_and_open_memory_agree);
    tcase_add_test(tc, test_api_describe_string_labels);
    tcase_add_test(tc, test_api_describe_integer_labels_and_regression);
    tcase_add_test(tc, test_api_predict_is_predicts_core);
    tcase_add_test(tc, test_api_predict_is_predicts_core_in_bf16);
    tcase_add_test(tc, test_api_predict_is_predicts_core_with_ema);
    tcase_add_test(tc, test_api_predict_is_predicts_core_for_regression);
    tcase_add_test(tc, test_api_predict_by_hand);
    tcase_add_test(tc, test_api_misuse_is_an_error);
    tcase_add_test(tc, test_api_bad_files_and_buffers);
    tcase_add_test(tc, test_api_newer_format_is_a_version_error);
    tcase_add_test(tc, test_api_threads_share_a_model);
    suite_add_tcase(s, tc);
    return s;
}
