/* test_onnx.c - the protobuf writer (export/pb.h) and the ONNX model built
 * from a checkpoint (export/onnx.h), read back by a tiny protobuf reader
 * written here.  tests/onnx/run.sh proves the files with onnx and OpenCV. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint/checkpoint.h"
#include "export/onnx.h"
#include "export/pb.h"
#include "tests.h"

/* ---- a tiny reader ---------------------------------------------------------- */

typedef struct {
    const unsigned char *p;
    size_t n, i;
} reader;

typedef struct {
    int field, wire;
    uint64_t v;                /* a varint's value */
    const unsigned char *data; /* length-delimited or fixed32 bytes */
    size_t len;
} field;

static uint64_t read_varint(reader *r)
{
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
        ck_assert_msg(shift < 70, "varint longer than 10 bytes");
        ck_assert_msg(r->i < r->n, "varint past the end");
        unsigned char b = r->p[r->i++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
}

static int read_field(reader *r, field *f)
{
    if (r->i >= r->n)
        return 0;
    uint64_t key = read_varint(r);
    f->field = (int)(key >> 3);
    f->wire = (int)(key & 7);
    f->data = NULL;
    f->len = 0;
    switch (f->wire) {
    case NN_PB_VARINT:
        f->v = read_varint(r);
        break;
    case NN_PB_LEN:
        f->len = (size_t)read_varint(r);
        ck_assert_msg(f->len <= r->n - r->i, "length %zu past the end", f->len);
        f->data = r->p + r->i;
        r->i += f->len;
        break;
    case NN_PB_FIXED32:
        ck_assert(r->i + 4 <= r->n);
        f->data = r->p + r->i;
        f->len = 4;
        r->i += 4;
        break;
    default:
        ck_abort_msg("wire type %d", f->wire);
    }
    return 1;
}

/* The k-th (0-based) occurrence of field `num` in the message p[n]; 0 when
 * there are fewer. */
static int find(const unsigned char *p, size_t n, int num, int k, field *out)
{
    reader r = {p, n, 0};
    field f;
    while (read_field(&r, &f))
        if (f.field == num && k-- == 0) {
            *out = f;
            return 1;
        }
    return 0;
}

static int count(const unsigned char *p, size_t n, int num)
{
    field f;
    int k = 0;
    while (find(p, n, num, k, &f))
        k++;
    return k;
}

/* A string field as a C string (static storage, one at a time). */
static const char *str(const field *f)
{
    static char s[4096];
    ck_assert(f->len < sizeof s);
    memcpy(s, f->data, f->len);
    s[f->len] = '\0';
    return s;
}

static float f32_le(const unsigned char *b)
{
    uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                 (uint32_t)b[3] << 24;
    float x;
    memcpy(&x, &u, 4);
    return x;
}

/* ---- the writer --------------------------------------------------------------- */

START_TEST(test_varint_edge_cases_exact_bytes_and_read_back)
{
    static const struct {
        uint64_t v;
        int len;
        unsigned char first, last;
    } cases[] = {
        {0, 1, 0x00, 0x00},           {1, 1, 0x01, 0x01},
        {127, 1, 0x7f, 0x7f},         {128, 2, 0x80, 0x01},
        {300, 2, 0xac, 0x02},         {16383, 2, 0xff, 0x7f},
        {16384, 3, 0x80, 0x01},       {UINT32_MAX, 5, 0xff, 0x0f},
        {(uint64_t)INT64_MAX, 9, 0xff, 0x7f}, {UINT64_MAX, 10, 0xff, 0x01},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        nn_pb b = {0};
        nn_pb_varint(&b, cases[c].v);
        ck_assert(!b.failed);
        ck_assert_uint_eq(b.n, (size_t)cases[c].len);
        ck_assert_int_eq(nn_pb_varint_size(cases[c].v), cases[c].len);
        ck_assert_uint_eq(b.p[0], cases[c].first);
        ck_assert_uint_eq(b.p[b.n - 1], cases[c].last);
        reader r = {b.p, b.n, 0};
        ck_assert(read_varint(&r) == cases[c].v);
        ck_assert_uint_eq(r.i, b.n);
        nn_pb_free(&b);
    }
    /* a negative int64 is its two's complement: ten bytes */
    nn_pb b = {0};
    nn_pb_int64(&b, 1, -1);
    ck_assert_uint_eq(b.n, 11);
    reader r = {b.p, b.n, 0};
    field f;
    ck_assert(read_field(&r, &f));
    ck_assert_int_eq(f.field, 1);
    ck_assert_int_eq((int64_t)f.v, -1);
    nn_pb_free(&b);
    /* a field number that needs a two-byte key: (20 << 3) | 0 = 160 */
    nn_pb_int64(&b, 20, 2);
    ck_assert_uint_eq(b.n, 3);
    ck_assert_uint_eq(b.p[0], 0xa0);
    ck_assert_uint_eq(b.p[1], 0x01);
    nn_pb_free(&b);
}
END_TEST

START_TEST(test_message_round_trip_through_the_reader)
{
    nn_pb inner = {0}, outer = {0};
    nn_pb_string(&inner, 1, "dim");
    nn_pb_int64(&inner, 2, 42);
    int64_t dims[3] = {0, 300, -2};
    float vals[3] = {1.5f, -0.0f, 3.0e38f};
    nn_pb_int64(&outer, 1, 8);
    nn_pb_float(&outer, 2, 0.25f);
    nn_pb_string(&outer, 3, "");
    nn_pb_message(&outer, 4, &inner);
    nn_pb_packed_int64(&outer, 5, dims, 3);
    nn_pb_packed_float(&outer, 6, vals, 3);
    nn_pb_message(&outer, 4, &inner); /* repeated */
    ck_assert(!outer.failed);

    field f;
    ck_assert(find(outer.p, outer.n, 1, 0, &f) && f.wire == NN_PB_VARINT && f.v == 8);
    ck_assert(find(outer.p, outer.n, 2, 0, &f) && f.wire == NN_PB_FIXED32);
    ck_assert(f32_le(f.data) == 0.25f);
    ck_assert(find(outer.p, outer.n, 3, 0, &f) && f.wire == NN_PB_LEN && f.len == 0);
    ck_assert_int_eq(count(outer.p, outer.n, 4), 2);
    ck_assert(find(outer.p, outer.n, 4, 1, &f) && f.len == inner.n);
    field g;
    ck_assert(find(f.data, f.len, 1, 0, &g));
    ck_assert_str_eq(str(&g), "dim");
    ck_assert(find(f.data, f.len, 2, 0, &g) && g.v == 42);
    ck_assert(find(outer.p, outer.n, 5, 0, &f));
    reader r = {f.data, f.len, 0};
    ck_assert(read_varint(&r) == 0);
    ck_assert(read_varint(&r) == 300);
    ck_assert((int64_t)read_varint(&r) == -2);
    ck_assert_uint_eq(r.i, f.len);
    ck_assert(find(outer.p, outer.n, 6, 0, &f) && f.len == 12);
    for (int i = 0; i < 3; i++) {
        float x = f32_le(f.data + 4 * i);
        ck_assert(memcmp(&x, &vals[i], 4) == 0); /* bit for bit, -0 included */
    }
    nn_pb_free(&inner);
    nn_pb_free(&outer);
}
END_TEST

START_TEST(test_a_failed_part_fails_the_whole)
{
    nn_pb inner = {0}, outer = {0};
    inner.failed = true;
    nn_pb_int64(&outer, 1, 1);
    nn_pb_message(&outer, 2, &inner);
    ck_assert(outer.failed);
    size_t n = outer.n;
    nn_pb_string(&outer, 3, "ignored");
    ck_assert_uint_eq(outer.n, n);
    nn_pb_free(&outer);
    nn_pb_free(&inner);
}
END_TEST

/* ---- the model -------------------------------------------------------------- */

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    ck_assert_ptr_nonnull(p);
    return p;
}

static char *xstrdup(const char *s)
{
    char *d = xcalloc(strlen(s) + 1, 1);
    strcpy(d, s);
    return d;
}

/* 3 inputs -> 4 relu (batch norm) -> 2 softmax with input scaling, string
 * class names (one needing JSON escapes), the moving average of the
 * weights beside them; regression: 2 identity outputs with target
 * standardisation instead. */
static void make_ckpt(nn_ckpt *c, bool regression)
{
    memset(c, 0, sizeof *c);
    c->format = NN_CKPT_VERSION;
    c->version = xstrdup("0.1.0");
    c->config_json = xstrdup("{}");
    nn_layer_cfg layers[2] = {
        {.units = 4, .act = NN_ACT_RELU, .batch_norm = true, .batch_norm_momentum = 0.1,
         .batch_norm_eps = 1e-5},
        {.units = 2, .act = regression ? NN_ACT_IDENTITY : NN_ACT_SOFTMAX}};
    nn_error err = {0};
    ck_assert_msg(nn_arch_from_layers(&c->arch, 3, layers, 2, &err) == 0, "%s", err.msg);
    c->n_params = nn_arch_param_count(&c->arch);
    c->n_state = nn_arch_state_count(&c->arch);
    c->params = xcalloc(c->n_params, sizeof(float));
    c->ema = xcalloc(c->n_params, sizeof(float));
    c->state = xcalloc(c->n_state, sizeof(float));
    for (size_t i = 0; i < c->n_params; i++) {
        c->params[i] = 0.5f + (float)i;
        c->ema[i] = -0.25f * (float)i;
    }
    for (size_t i = 0; i < c->n_state; i++)
        c->state[i] = 1.0f + 0.5f * (float)i;
    c->ema_decay = 0.99;
    c->loss = regression ? NN_LOSS_MSE : NN_LOSS_CROSS_ENTROPY;
    c->optimizer = NN_OPT_ADAM;
    c->scale = NN_SCALE_STANDARD;
    c->shift = xcalloc(3, sizeof(float));
    c->mult = xcalloc(3, sizeof(float));
    for (int i = 0; i < 3; i++) {
        c->shift[i] = (float)i;
        c->mult[i] = 1.0f / (float)(i + 2);
    }
    c->train_loss = c->val_loss = 0.5;
    c->train_accuracy = c->val_accuracy = NAN;
    c->best_val_loss = NAN;
    if (regression) {
        c->layout.n_targets = 2;
        c->n_target_scale = 2;
        c->target_mean = xcalloc(2, sizeof(double));
        c->target_std = xcalloc(2, sizeof(double));
        c->target_mean[0] = 100, c->target_mean[1] = -3;
        c->target_std[0] = 10, c->target_std[1] = 0.5;
    } else {
        c->n_classes = 2;
        c->class_names = xcalloc(2, sizeof(char *));
        c->class_names[0] = xstrdup("cat");
        c->class_names[1] = xstrdup("say \"hi\"\\");
    }
}

/* The model's bytes for c, checked to be a ModelProto of IR 8, opset 13,
 * producer nntrain; *graph is its GraphProto. */
static unsigned char *encode(const nn_ckpt *c, size_t *n, field *graph)
{
    unsigned char *buf;
    nn_error err = {0};
    nn_onnx_info info;
    ck_assert_msg(nn_onnx_encode(c, "t.ckpt", &buf, n, &info, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(info.bytes, *n);
    field f, g;
    ck_assert(find(buf, *n, 1, 0, &f) && f.v == NN_ONNX_IR_VERSION);
    ck_assert(find(buf, *n, 2, 0, &f));
    ck_assert_str_eq(str(&f), "nntrain");
    ck_assert(find(buf, *n, 8, 0, &f));
    ck_assert(find(f.data, f.len, 2, 0, &g) && g.v == 13);
    ck_assert(find(buf, *n, 6, 0, &f) && f.len > 0); /* doc_string */
    ck_assert(find(buf, *n, 7, 0, graph));
    ck_assert_int_eq(count(graph->data, graph->len, 1), info.nodes);
    ck_assert_int_eq(count(graph->data, graph->len, 5), info.initializers);
    return buf;
}

/* The op_types of the graph's nodes, joined by spaces, and the output name
 * of the last. */
static void node_ops(const field *graph, char *ops, size_t cap, char *last_out)
{
    ops[0] = '\0';
    field nd, f;
    for (int k = 0; find(graph->data, graph->len, 1, k, &nd); k++) {
        ck_assert(find(nd.data, nd.len, 4, 0, &f));
        if (k)
            strncat(ops, " ", cap - strlen(ops) - 1);
        strncat(ops, str(&f), cap - strlen(ops) - 1);
        ck_assert(find(nd.data, nd.len, 2, 0, &f));
        strcpy(last_out, str(&f));
    }
}

/* The floats of initializer `name` (n of them), checked FLOAT with dims. */
static const unsigned char *initializer(const field *graph, const char *name, size_t n)
{
    field t, f;
    for (int k = 0; find(graph->data, graph->len, 5, k, &t); k++) {
        ck_assert(find(t.data, t.len, 8, 0, &f));
        if (strcmp(str(&f), name) != 0)
            continue;
        ck_assert(find(t.data, t.len, 2, 0, &f) && f.v == 1); /* FLOAT */
        ck_assert(find(t.data, t.len, 9, 0, &f));
        ck_assert_uint_eq(f.len, 4 * n);
        return f.data;
    }
    ck_abort_msg("no initializer %s", name);
    return NULL;
}

START_TEST(test_classifier_graph_scaling_batch_norm_softmax_and_ema_weights)
{
    nn_ckpt c;
    make_ckpt(&c, false);
    size_t n;
    field graph;
    unsigned char *buf = encode(&c, &n, &graph);
    char ops[256], last[64];
    node_ops(&graph, ops, sizeof ops, last);
    ck_assert_str_eq(ops, "Sub Mul Gemm Mul Add Relu Gemm Softmax");
    ck_assert_str_eq(last, "output");

    /* the moving average, not the trained weights: W1 (4, 3) first */
    const unsigned char *w = initializer(&graph, "dense1.weight", 12);
    for (int i = 0; i < 12; i++)
        ck_assert(f32_le(w + 4 * i) == c.ema[i]);
    const unsigned char *b = initializer(&graph, "dense1.bias", 4); /* no bias: zeros */
    for (int i = 0; i < 4; i++)
        ck_assert(f32_le(b + 4 * i) == 0.0f);
    /* batch norm folded as inference folds it: gamma, beta from the EMA
     * after W1 (12 floats); rmean, rvar the state */
    const unsigned char *sc = initializer(&graph, "batch_norm2.scale", 4);
    const unsigned char *sh = initializer(&graph, "batch_norm2.shift", 4);
    for (int j = 0; j < 4; j++) {
        double gamma = c.ema[12 + j], beta = c.ema[16 + j];
        double s = gamma / sqrt((double)c.state[4 + j] + 1e-5);
        ck_assert(f32_le(sc + 4 * j) == (float)s);
        ck_assert(f32_le(sh + 4 * j) == (float)(beta - c.state[j] * s));
    }
    const unsigned char *m = initializer(&graph, "input_mult", 3);
    ck_assert(f32_le(m + 4) == c.mult[1]);

    /* the input and output: float (batch, 3) and (batch, 2) */
    field vi, f, tt, shape, dim;
    ck_assert(find(graph.data, graph.len, 11, 0, &vi));
    ck_assert(find(vi.data, vi.len, 1, 0, &f));
    ck_assert_str_eq(str(&f), "input");
    ck_assert(find(vi.data, vi.len, 2, 0, &f) && find(f.data, f.len, 1, 0, &tt));
    ck_assert(find(tt.data, tt.len, 1, 0, &f) && f.v == 1);
    ck_assert(find(tt.data, tt.len, 2, 0, &shape));
    ck_assert(find(shape.data, shape.len, 1, 0, &dim) && find(dim.data, dim.len, 2, 0, &f));
    ck_assert_str_eq(str(&f), "batch");
    ck_assert(find(shape.data, shape.len, 1, 1, &dim) && find(dim.data, dim.len, 1, 0, &f));
    ck_assert(f.v == 3);
    ck_assert(find(graph.data, graph.len, 12, 0, &vi) && find(vi.data, vi.len, 1, 0, &f));
    ck_assert_str_eq(str(&f), "output");

    /* metadata: the task and the class names as a JSON array */
    int found = 0;
    field e, key, val;
    for (int k = 0; find(buf, n, 14, k, &e); k++) {
        ck_assert(find(e.data, e.len, 1, 0, &key) && find(e.data, e.len, 2, 0, &val));
        char kbuf[64];
        snprintf(kbuf, sizeof kbuf, "%s", str(&key));
        if (!strcmp(kbuf, "class_names")) {
            ck_assert_str_eq(str(&val), "[\"cat\",\"say \\\"hi\\\"\\\\\"]");
            found++;
        } else if (!strcmp(kbuf, "task")) {
            ck_assert_str_eq(str(&val), "classification");
            found++;
        }
    }
    ck_assert_int_eq(found, 2);
    free(buf);
    nn_ckpt_free(&c);
}
END_TEST

START_TEST(test_regression_graph_undoes_target_standardisation)
{
    nn_ckpt c;
    make_ckpt(&c, true);
    free(c.ema); /* the trained weights when there is no moving average */
    c.ema = NULL;
    for (int i = 0; i < 3; i++) /* data.scale "none": no scaling nodes */
        c.shift[i] = 0.0f, c.mult[i] = 1.0f;
    size_t n;
    field graph;
    unsigned char *buf = encode(&c, &n, &graph);
    char ops[256], last[64];
    node_ops(&graph, ops, sizeof ops, last);
    ck_assert_str_eq(ops, "Gemm Mul Add Relu Gemm Mul Add");
    ck_assert_str_eq(last, "output");
    const unsigned char *w = initializer(&graph, "dense1.weight", 12);
    ck_assert(f32_le(w + 4 * 5) == c.params[5]);
    const unsigned char *sd = initializer(&graph, "target_std", 2);
    const unsigned char *mean = initializer(&graph, "target_mean", 2);
    ck_assert(f32_le(sd) == 10.0f && f32_le(sd + 4) == 0.5f);
    ck_assert(f32_le(mean) == 100.0f && f32_le(mean + 4) == -3.0f);
    field e, key;
    for (int k = 0; find(buf, n, 14, k, &e); k++) {
        ck_assert(find(e.data, e.len, 1, 0, &key));
        ck_assert_str_ne(str(&key), "class_names");
    }
    free(buf);
    nn_ckpt_free(&c);
}
END_TEST

START_TEST(test_export_errors_name_the_file_and_leave_nothing)
{
    nn_ckpt c;
    make_ckpt(&c, false);
    nn_error err = {0};
    const char *ck = nn_test_path("m.ckpt");
    ck_assert_msg(nn_ckpt_save(ck, &c, &err) == 0, "%s", err.msg);
    nn_ckpt_free(&c);
    char out[1024];
    snprintf(out, sizeof out, "%s", nn_test_path("m.onnx"));
    ck_assert_msg(nn_onnx_export(ck, out, NULL, &err) == 0, "%s", err.msg);
    FILE *f = fopen(out, "rb");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    /* into a folder that does not exist: code 1, the file named */
    char bad[1024];
    snprintf(bad, sizeof bad, "%s", nn_test_path("no/such.onnx"));
    ck_assert_int_eq(nn_onnx_export(ck, bad, NULL, &err), -1);
    ck_assert_int_eq(err.code, NN_EXIT_RUNTIME);
    ck_assert_msg(strstr(err.msg, bad) == err.msg, "%s", err.msg);
    /* a checkpoint that is not one */
    const char *txt = nn_test_put("x.ckpt", "hello");
    ck_assert_int_eq(nn_onnx_export(txt, out, NULL, &err), -1);
    ck_assert_int_eq(err.code, NN_EXIT_RUNTIME);
    ck_assert_msg(strstr(err.msg, "x.ckpt: not an nntrain checkpoint") != NULL, "%s", err.msg);
}
END_TEST

Suite *onnx_suite(void)
{
    Suite *s = suite_create("onnx");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, nn_test_dir_fresh, NULL);
    tcase_add_test(tc, test_varint_edge_cases_exact_bytes_and_read_back);
    tcase_add_test(tc, test_message_round_trip_through_the_reader);
    tcase_add_test(tc, test_a_failed_part_fails_the_whole);
    tcase_add_test(tc, test_classifier_graph_scaling_batch_norm_softmax_and_ema_weights);
    tcase_add_test(tc, test_regression_graph_undoes_target_standardisation);
    tcase_add_test(tc, test_export_errors_name_the_file_and_leave_nothing);
    suite_add_tcase(s, tc);
    return s;
}
