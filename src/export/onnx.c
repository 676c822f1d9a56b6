/* onnx.c - a checkpoint as an ONNX model (onnx.h).
 *
 * The graph is planned first as a list of nodes and initializers (names
 * and where their floats come from), so the last node can take the name
 * "output"; then the protobuf messages are written (export/pb.h).  The
 * field numbers are those of onnx/onnx.proto (IR version 8).
 */
#include "export/onnx.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export/pb.h"
#include "kernels/kernels.h"
#include "nn/layer.h"
#include "nn/model.h"
#include "nn/types.h"
#include "util/file.h"
#include "util/version.h"

/* onnx.proto field numbers */
enum { MODEL_IR_VERSION = 1, MODEL_PRODUCER_NAME = 2, MODEL_PRODUCER_VERSION = 3,
       MODEL_DOC = 6, MODEL_GRAPH = 7, MODEL_OPSET = 8, MODEL_METADATA = 14 };
enum { OPSET_DOMAIN = 1, OPSET_VERSION = 2 };
enum { ENTRY_KEY = 1, ENTRY_VALUE = 2 };
enum { GRAPH_NODE = 1, GRAPH_NAME = 2, GRAPH_INITIALIZER = 5, GRAPH_DOC = 10,
       GRAPH_INPUT = 11, GRAPH_OUTPUT = 12 };
enum { NODE_INPUT = 1, NODE_OUTPUT = 2, NODE_NAME = 3, NODE_OP = 4, NODE_ATTR = 5,
       NODE_DOC = 6 };
enum { ATTR_NAME = 1, ATTR_F = 2, ATTR_I = 3, ATTR_TYPE = 20 };
enum { ATTR_TYPE_FLOAT = 1, ATTR_TYPE_INT = 2 };
enum { TENSOR_DIMS = 1, TENSOR_DATA_TYPE = 2, TENSOR_NAME = 8, TENSOR_RAW = 9 };
enum { TENSOR_FLOAT = 1 };
enum { VI_NAME = 1, VI_TYPE = 2 };
enum { TYPE_TENSOR = 1 };
enum { TT_ELEM = 1, TT_SHAPE = 2 };
enum { SHAPE_DIM = 1 };
enum { DIM_VALUE = 1, DIM_PARAM = 2 };

#define NAME_MAX_LEN 48
/* nodes: scaling 2, per layer 3 (Gemm or Mul+Add, then the activation),
 * target scaling 2; initializers: 2 per layer and 2 + 2 */
#define MAX_NODES (4 + 3 * NN_MAX_ARCH_LAYERS)
#define MAX_INITS (4 + 2 * NN_MAX_ARCH_LAYERS)

typedef struct {
    char name[NAME_MAX_LEN];
    int64_t dims[2];
    int n_dims;
    const float *data; /* (dims product,) */
} init_plan;

typedef struct {
    const char *op;
    char in[3][NAME_MAX_LEN];
    int n_in;
    char out[NAME_MAX_LEN];
    char name[NAME_MAX_LEN];
    const char *attr;  /* NULL, or the one attribute: "alpha", "transB", "axis" */
    float attr_f;      /* alpha */
    int64_t attr_i;    /* transB, axis */
    bool attr_is_int;
} node_plan;

typedef struct {
    node_plan nodes[MAX_NODES];
    init_plan inits[MAX_INITS];
    int n_nodes, n_inits;
    char cur[NAME_MAX_LEN]; /* the tensor the next node reads */
    float *owned;           /* (owned_floats,) computed here: folded batch norm, zero
                               biases, target scaling */
    size_t n_owned;
} plan;

/* n floats of the plan's own buffer, sized by owned_floats before planning
 * to hold every request. */
static float *own(plan *p, size_t n)
{
    float *f = p->owned + p->n_owned;
    p->n_owned += n;
    return f;
}

static void add_init(plan *p, const char *name, const float *data, int64_t d0, int64_t d1)
{
    init_plan *t = &p->inits[p->n_inits++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->data = data;
    t->dims[0] = d0;
    t->dims[1] = d1;
    t->n_dims = d1 > 0 ? 2 : 1;
}

/* A node reading p->cur (then in1 and in2 when not NULL), writing a new
 * tensor `out` that becomes p->cur. */
static node_plan *add_node(plan *p, const char *op, const char *out, const char *in1,
                           const char *in2)
{
    node_plan *nd = &p->nodes[p->n_nodes++];
    memset(nd, 0, sizeof *nd);
    nd->op = op;
    snprintf(nd->in[nd->n_in++], NAME_MAX_LEN, "%s", p->cur);
    if (in1)
        snprintf(nd->in[nd->n_in++], NAME_MAX_LEN, "%s", in1);
    if (in2)
        snprintf(nd->in[nd->n_in++], NAME_MAX_LEN, "%s", in2);
    snprintf(nd->out, NAME_MAX_LEN, "%s", out);
    snprintf(nd->name, NAME_MAX_LEN, "%s", out);
    snprintf(p->cur, sizeof p->cur, "%s", out);
    return nd;
}

/* The activation node of a layer (none for the identity); -1 when ONNX
 * has no operator for it. */
static int add_activation(plan *p, nn_act act, float alpha, const char *base)
{
    char out[NAME_MAX_LEN];
    snprintf(out, sizeof out, "%.24s_%.16s", base, nn_act_name(act));
    node_plan *nd;
    switch (act) {
    case NN_ACT_IDENTITY:
        return 0;
    case NN_ACT_SIGMOID:
        add_node(p, "Sigmoid", out, NULL, NULL);
        return 0;
    case NN_ACT_TANH:
        add_node(p, "Tanh", out, NULL, NULL);
        return 0;
    case NN_ACT_RELU:
        add_node(p, "Relu", out, NULL, NULL);
        return 0;
    case NN_ACT_SOFTPLUS:
        add_node(p, "Softplus", out, NULL, NULL);
        return 0;
    case NN_ACT_LEAKY_RELU:
    case NN_ACT_ELU:
        nd = add_node(p, act == NN_ACT_ELU ? "Elu" : "LeakyRelu", out, NULL, NULL);
        nd->attr = "alpha";
        nd->attr_f = alpha;
        return 0;
    case NN_ACT_SOFTMAX:
        nd = add_node(p, "Softmax", out, NULL, NULL);
        nd->attr = "axis";
        nd->attr_i = 1;
        nd->attr_is_int = true;
        return 0;
    }
    return -1;
}

/* The floats planning computes for itself. */
static size_t owned_floats(const nn_ckpt *c)
{
    size_t n = 2 * (size_t)c->n_target_scale;
    for (int l = 0; l < c->arch.n_layers; l++) {
        const nn_layer *y = &c->arch.layers[l];
        n += 2 * (size_t)y->out; /* folded batch norm, or a dense layer's zero bias */
    }
    return n;
}

/* Whether the checkpoint scales its inputs at all: "none" keeps shift 0
 * and mult 1, which need no nodes ((x - 0) * 1 is x exactly). */
static bool scales_inputs(const nn_ckpt *c)
{
    if (!c->shift)
        return false;
    for (int i = 0; i < c->arch.n_inputs; i++)
        if (c->shift[i] != 0.0f || c->mult[i] != 1.0f)
            return true;
    return false;
}

/* The graph of model m (the checkpoint's weights as --predict uses them). */
static int plan_graph(plan *p, const nn_ckpt *c, const nn_model *m, const char *name,
                      nn_error *err)
{
    const nn_arch *a = &c->arch;
    snprintf(p->cur, sizeof p->cur, "input");
    if (scales_inputs(c)) {
        add_init(p, "input_shift", c->shift, a->n_inputs, 0);
        add_init(p, "input_mult", c->mult, a->n_inputs, 0);
        add_node(p, "Sub", "input_shifted", "input_shift", NULL);
        add_node(p, "Mul", "input_scaled", "input_mult", NULL);
    }
    for (int l = 0; l < a->n_layers; l++) {
        const nn_layer *y = &a->layers[l];
        const float *w = m->params + m->param_off[l];
        char base[24], t1[NAME_MAX_LEN], t2[NAME_MAX_LEN];
        if (y->kind == NN_LAYER_DENSE) {
            snprintf(base, sizeof base, "dense%d", l + 1);
            snprintf(t1, sizeof t1, "%s.weight", base);
            snprintf(t2, sizeof t2, "%s.bias", base);
            add_init(p, t1, w, y->out, y->in);
            const float *bias = w + (size_t)y->out * (size_t)y->in;
            if (!y->bias) { /* the kernels add zeros: so does the Gemm */
                float *z = own(p, (size_t)y->out);
                memset(z, 0, sizeof(float) * (size_t)y->out);
                bias = z;
            }
            add_init(p, t2, bias, y->out, 0);
            node_plan *nd = add_node(p, "Gemm", base, t1, t2);
            nd->attr = "transB";
            nd->attr_i = 1;
            nd->attr_is_int = true;
        } else if (y->kind == NN_LAYER_BATCH_NORM) {
            /* inference's fold (nn/batchnorm.c): scale and shift in double,
             * rounded to float, then x scale + shift */
            int n = y->out;
            const float *gamma = w, *beta = w + n;
            const float *rmean = m->state + m->state_off[l], *rvar = rmean + n;
            float *scale = own(p, (size_t)n), *shift = own(p, (size_t)n);
            for (int j = 0; j < n; j++) {
                double s = gamma[j] / sqrt((double)rvar[j] + y->eps);
                scale[j] = (float)s;
                shift[j] = (float)(beta[j] - rmean[j] * s);
            }
            snprintf(base, sizeof base, "batch_norm%d", l + 1);
            snprintf(t1, sizeof t1, "%s.scale", base);
            snprintf(t2, sizeof t2, "%s.shift", base);
            add_init(p, t1, scale, n, 0);
            add_init(p, t2, shift, n, 0);
            char mid[NAME_MAX_LEN];
            snprintf(mid, sizeof mid, "%s_scaled", base);
            add_node(p, "Mul", mid, t1, NULL);
            add_node(p, "Add", base, t2, NULL);
        } else {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: layer %d: a %s layer cannot be expressed "
                         "in ONNX", name, y->origin + 1, nn_layer_ops_of(y->kind)->name);
            return -1;
        }
        if (add_activation(p, y->act, y->alpha, base) < 0) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: layer %d: activation %s cannot be "
                         "expressed in ONNX", name, y->origin + 1, nn_act_name(y->act));
            return -1;
        }
    }
    if (c->n_target_scale) { /* back to the targets' units: y std + mean */
        int K = c->n_target_scale;
        float *sd = own(p, (size_t)K), *mean = own(p, (size_t)K);
        for (int k = 0; k < K; k++) {
            sd[k] = (float)c->target_std[k];
            mean[k] = (float)c->target_mean[k];
        }
        add_init(p, "target_std", sd, K, 0);
        add_init(p, "target_mean", mean, K, 0);
        add_node(p, "Mul", "targets_scaled", "target_std", NULL);
        add_node(p, "Add", "targets", "target_mean", NULL);
    }
    /* the last node's tensor is the graph's output */
    node_plan *last = &p->nodes[p->n_nodes - 1];
    snprintf(last->out, sizeof last->out, "output");
    return 0;
}

/* ---- text: the summary and the class names ---------------------------------------- */

typedef struct {
    char *s;
    size_t n, cap;
    bool failed;
} text;

static void tx_add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tx_add(text *t, const char *fmt, ...)
{
    if (t->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(t->s ? t->s + t->n : NULL, t->s ? t->cap - t->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            t->failed = true;
            return;
        }
        if (t->s && (size_t)k < t->cap - t->n) {
            t->n += (size_t)k;
            return;
        }
        size_t cap = t->cap ? t->cap : 256;
        while (cap <= t->n + (size_t)k)
            cap *= 2;
        char *s = realloc(t->s, cap);
        if (!s) {
            t->failed = true;
            return;
        }
        t->s = s;
        t->cap = cap;
    }
}

/* s as a JSON string, quotes included */
static void tx_json_string(text *t, const char *s)
{
    tx_add(t, "\"");
    for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
        if (*q == '"' || *q == '\\')
            tx_add(t, "\\%c", *q);
        else if (*q < 0x20)
            tx_add(t, "\\u%04x", *q);
        else
            tx_add(t, "%c", *q);
    }
    tx_add(t, "\"");
}

static void tx_metric(text *t, const char *label, double v)
{
    if (isfinite(v))
        tx_add(t, ", %s %.6g", label, v);
}

/* What the checkpoint is and how it was trained, in one paragraph. */
static void summary(text *t, const nn_ckpt *c)
{
    const nn_arch *a = &c->arch;
    tx_add(t, "nntrain model exported by nntrain %s from a checkpoint written by nntrain %s "
              "(format %d). Network: %d inputs", NN_VERSION, c->version ? c->version : "?",
           c->format, a->n_inputs);
    if (scales_inputs(c))
        tx_add(t, ", scaled (x - input_shift) * input_mult");
    for (int l = 0; l < a->n_layers; l++) {
        const nn_layer *y = &a->layers[l];
        tx_add(t, " -> %s %d %s", nn_layer_ops_of(y->kind)->name, y->out, nn_act_name(y->act));
        if (y->act == NN_ACT_LEAKY_RELU || y->act == NN_ACT_ELU)
            tx_add(t, " (alpha %g)", (double)y->alpha);
    }
    if (c->n_target_scale)
        tx_add(t, " -> * target_std + target_mean");
    tx_add(t, ". Task: %s", c->layout.n_targets ? "regression" : "classification");
    if (c->layout.n_targets)
        tx_add(t, " (%d targets)", c->layout.n_targets);
    else
        tx_add(t, " (%d classes)", c->n_classes);
    tx_add(t, ". Loss %s, optimizer %s, trained in %s", nn_loss_name(c->loss),
           nn_opt_name(c->optimizer), nn_precision_name(c->precision));
    if (c->precision != NN_PREC_FP32)
        tx_add(t, " (exported as the fp32 parameters)");
    tx_add(t, "; %lld epochs, %lld steps, seed %llu", (long long)c->epoch, (long long)c->step,
           (unsigned long long)c->seed);
    if (c->stopped)
        tx_add(t, ", stopped early");
    tx_metric(t, "train_loss", c->train_loss);
    tx_metric(t, "train_accuracy", c->train_accuracy);
    tx_metric(t, "val_loss", c->val_loss);
    tx_metric(t, "val_accuracy", c->val_accuracy);
    if (c->ema)
        tx_add(t, ". Weights: the exponential moving average (decay %g)", c->ema_decay);
    tx_add(t, ".");
}

/* ---- protobuf ------------------------------------------------------------------ */

static void put_attr(nn_pb *node, const node_plan *nd)
{
    nn_pb a;
    nn_pb_init(&a);
    nn_pb_string(&a, ATTR_NAME, nd->attr);
    if (nd->attr_is_int) {
        nn_pb_int64(&a, ATTR_I, nd->attr_i);
        nn_pb_int64(&a, ATTR_TYPE, ATTR_TYPE_INT);
    } else {
        nn_pb_float(&a, ATTR_F, nd->attr_f);
        nn_pb_int64(&a, ATTR_TYPE, ATTR_TYPE_FLOAT);
    }
    nn_pb_message(node, NODE_ATTR, &a);
    nn_pb_free(&a);
}

static void put_node(nn_pb *g, const node_plan *nd)
{
    nn_pb b;
    nn_pb_init(&b);
    for (int i = 0; i < nd->n_in; i++)
        nn_pb_string(&b, NODE_INPUT, nd->in[i]);
    nn_pb_string(&b, NODE_OUTPUT, nd->out);
    nn_pb_string(&b, NODE_NAME, nd->name);
    nn_pb_string(&b, NODE_OP, nd->op);
    if (nd->attr)
        put_attr(&b, nd);
    nn_pb_message(g, GRAPH_NODE, &b);
    nn_pb_free(&b);
}

static void put_init(nn_pb *g, const init_plan *t)
{
    size_t count = (size_t)t->dims[0] * (size_t)(t->n_dims == 2 ? t->dims[1] : 1);
    nn_pb b;
    nn_pb_init(&b);
    nn_pb_packed_int64(&b, TENSOR_DIMS, t->dims, (size_t)t->n_dims);
    nn_pb_int64(&b, TENSOR_DATA_TYPE, TENSOR_FLOAT);
    nn_pb_string(&b, TENSOR_NAME, t->name);
    nn_pb_packed_float(&b, TENSOR_RAW, t->data, count); /* raw_data: the same bytes */
    nn_pb_message(g, GRAPH_INITIALIZER, &b);
    nn_pb_free(&b);
}

/* ValueInfoProto of a float tensor (batch, width), the batch symbolic. */
static void put_value_info(nn_pb *g, int field, const char *name, int width)
{
    nn_pb dim0, dim1, shape, tt, type, vi;
    nn_pb_init(&dim0), nn_pb_init(&dim1), nn_pb_init(&shape);
    nn_pb_init(&tt), nn_pb_init(&type), nn_pb_init(&vi);
    nn_pb_string(&dim0, DIM_PARAM, "batch");
    nn_pb_int64(&dim1, DIM_VALUE, width);
    nn_pb_message(&shape, SHAPE_DIM, &dim0);
    nn_pb_message(&shape, SHAPE_DIM, &dim1);
    nn_pb_int64(&tt, TT_ELEM, TENSOR_FLOAT);
    nn_pb_message(&tt, TT_SHAPE, &shape);
    nn_pb_message(&type, TYPE_TENSOR, &tt);
    nn_pb_string(&vi, VI_NAME, name);
    nn_pb_message(&vi, VI_TYPE, &type);
    nn_pb_message(g, field, &vi);
    nn_pb_free(&dim0), nn_pb_free(&dim1), nn_pb_free(&shape);
    nn_pb_free(&tt), nn_pb_free(&type), nn_pb_free(&vi);
}

static void put_entry(nn_pb *model, const char *key, const char *value)
{
    nn_pb e;
    nn_pb_init(&e);
    nn_pb_string(&e, ENTRY_KEY, key);
    nn_pb_string(&e, ENTRY_VALUE, value);
    nn_pb_message(model, MODEL_METADATA, &e);
    nn_pb_free(&e);
}

/* The class names as a JSON array, in output order: the names of string
 * labels, else the integer labels. */
static void class_names(text *t, const nn_ckpt *c)
{
    tx_add(t, "[");
    for (int k = 0; k < c->n_classes; k++) {
        if (k)
            tx_add(t, ",");
        if (c->class_names) {
            tx_json_string(t, c->class_names[k]);
        } else {
            tx_add(t, "\"%d\"", k);
        }
    }
    tx_add(t, "]");
}

int nn_onnx_encode(const nn_ckpt *c, const char *name, unsigned char **out, size_t *n,
                   nn_onnx_info *info, nn_error *err)
{
    *out = NULL;
    *n = 0;
    /* raw_data of every parameter, with room for the rest: beyond 2 GiB
     * protobuf cannot hold it (external data is not written) */
    if (c->n_params > (NN_PB_MAX_BYTES - ((size_t)64 << 20)) / sizeof(float)) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %zu parameters take more than the 2 GiB an "
                     "ONNX file can hold", name, c->n_params);
        return -1;
    }
    nn_model *m = nn_ckpt_model(c, 1, err);
    if (!m) {
        nn_error_prefix(err, "%s", name);
        return -1;
    }
    int rc = -1;
    text sum = {0}, classes = {0};
    nn_pb graph, model;
    nn_pb_init(&graph);
    nn_pb_init(&model);
    plan *p = calloc(1, sizeof *p);
    size_t n_owned = owned_floats(c);
    if (!p || !(p->owned = malloc(sizeof(float) * (n_owned ? n_owned : 1)))) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", name);
        goto out;
    }
    if (plan_graph(p, c, m, name, err) < 0)
        goto out;

    summary(&sum, c);
    class_names(&classes, c);
    if (sum.failed || classes.failed) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", name);
        goto out;
    }
    for (int i = 0; i < p->n_nodes; i++)
        put_node(&graph, &p->nodes[i]);
    nn_pb_string(&graph, GRAPH_NAME, "nntrain");
    for (int i = 0; i < p->n_inits; i++)
        put_init(&graph, &p->inits[i]);
    nn_pb_string(&graph, GRAPH_DOC, sum.s);
    put_value_info(&graph, GRAPH_INPUT, "input", c->arch.n_inputs);
    put_value_info(&graph, GRAPH_OUTPUT, "output", nn_arch_outputs(&c->arch));

    nn_pb opset;
    nn_pb_init(&opset);
    nn_pb_string(&opset, OPSET_DOMAIN, "");
    nn_pb_int64(&opset, OPSET_VERSION, NN_ONNX_OPSET);
    nn_pb_int64(&model, MODEL_IR_VERSION, NN_ONNX_IR_VERSION);
    nn_pb_string(&model, MODEL_PRODUCER_NAME, "nntrain");
    nn_pb_string(&model, MODEL_PRODUCER_VERSION, NN_VERSION);
    nn_pb_string(&model, MODEL_DOC, sum.s);
    nn_pb_message(&model, MODEL_GRAPH, &graph);
    nn_pb_message(&model, MODEL_OPSET, &opset);
    nn_pb_free(&opset);
    put_entry(&model, "task", c->layout.n_targets ? "regression" : "classification");
    if (!c->layout.n_targets)
        put_entry(&model, "class_names", classes.s);
    if (model.failed) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory, or the model is larger than "
                     "the 2 GiB an ONNX file can hold", name);
        goto out;
    }
    if (info) {
        info->nodes = p->n_nodes;
        info->initializers = p->n_inits;
        info->bytes = model.n;
    }
    *out = model.p;
    *n = model.n;
    model.p = NULL; /* now the caller's */
    rc = 0;
out:
    if (p)
        free(p->owned);
    free(p);
    free(sum.s);
    free(classes.s);
    nn_pb_free(&graph);
    nn_pb_free(&model);
    nn_model_free(m);
    return rc;
}

/* ---- the file ------------------------------------------------------------------ */

/* The bytes to path, whole or not at all (util/file.h). */
static int write_atomic(const char *path, const unsigned char *buf, size_t n, nn_error *err)
{
    int folder_only;
    if (nn_replace_file(path, buf, n, &folder_only) == 0)
        return 0;
    if (folder_only)
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: cannot sync its folder: %s", path,
                     strerror(errno));
    else
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: cannot write: %s", path, strerror(errno));
    return -1;
}

int nn_onnx_export(const char *ckpt_path, const char *out_path, nn_onnx_info *info,
                   nn_error *err)
{
    nn_ckpt c = {0};
    if (nn_ckpt_load(ckpt_path, &c, err) < 0)
        return -1;
    /* writing over the checkpoint itself would lose it */
    struct stat a, b;
    if (stat(ckpt_path, &a) == 0 && stat(out_path, &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino) {
        nn_error_set(err, NN_EXIT_USAGE, "%s: is the checkpoint being exported; choose "
                     "another -o", out_path);
        nn_ckpt_free(&c);
        return -1;
    }
    unsigned char *buf;
    size_t n;
    int rc = nn_onnx_encode(&c, ckpt_path, &buf, &n, info, err);
    nn_ckpt_free(&c);
    if (rc < 0)
        return -1;
    rc = write_atomic(out_path, buf, n, err);
    free(buf);
    return rc;
}
