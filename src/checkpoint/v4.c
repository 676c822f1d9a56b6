/* v4.c - checkpoint format 4: the table of its sections, encode and decode
 * (checkpoint.h, internal.h).
 *
 * Sections, written in this order (a reader accepts any order); "req"
 * marks the required ones:
 *   VERS       nntrain version string, no NUL
 *   CONF       effective config JSON text, no NUL
 *   ARCH  req  u32 n_inputs, u32 n_layers, then per layer: kind name (u32
 *              length, bytes), u32 declared layer, u32 inputs, u32 outputs,
 *              u32 activation, f32 alpha, u32 length L of the kind's own
 *              fields and those L bytes (nn/layer.h: dense u32 bias;
 *              batch_norm f64 momentum, f64 eps)
 *   LOSS  req  u32 loss, f64 huber_delta
 *   DATA  req  u32 n_classes, then the training data's layout (fields.c)
 *   SCAL  req  input scaling (fields.c)
 *   PARM  req  u64 n_params, n_params f32
 *   STAT  req  u64 n_state, n_state f32: the layers' state (batch-norm
 *              running mean and variance), in layer order
 *   OPTM  req  u32 optimizer, u64 n, n f32 of its state
 *   PROG  req  progress (fields.c)
 *   TRAI  req  f64 best_val_loss, i64 best_epoch, i64 bad_epochs, u32 stopped
 *   EPOC  req  an interrupted epoch (fields.c)
 *   TSCL  req  regression target scaling, only when the targets were scaled:
 *              u32 n (the model's outputs), n f64 means, n f64 standard
 *              deviations (each finite, std > 0).  Required: a reader that
 *              skipped it would report standardised values as predictions
 *   HIST       the metrics of every epoch (checkpoint.h: nn_history): u32
 *              n_metrics M, M names (u32 length, bytes), u64 stride, u64
 *              count N, then N records of i64 epoch and M f64; M 0 and N 0
 *              when there is none yet
 *   MISS  req  only when the CSV training source's missing values are not the
 *              defaults: u32 missing (0 error, 1 drop, 2 mean), u32 count and
 *              that many strings (u32 length, bytes): the na_values, u64 n
 *              (0 or n_inputs) and n f32: the means that fill a missing
 *              feature.  Required, since a reader that skipped it would take
 *              a missing-value string such as "-999" for a number.
 *   EMAP  req  only with training.ema: f64 decay in (0, 1), then u64 n and n
 *              f32: the moving average of the parameters (n = PARM's), the
 *              weights --eval and --predict use.  Required: a reader that
 *              skipped it would predict with other weights
 *   SMTH       only when the loss smooths the class targets (label_smoothing):
 *              f64 in (0, 1).  Optional: a reader that skips it predicts the
 *              same, reporting the loss against unsmoothed targets.
 *   STRM       only when the training data was streamed: u64 block rows, u64
 *              window rows (data/stream.h's plan, kept for --resume)
 *   PREC       only when the run trained in another precision than fp32
 *              (training.precision): u32 precision (kernels.h: 1 bf16).
 *              Optional: a reader that skips it runs the model in fp32,
 *              which --precision fp32 does on purpose; fp32 checkpoints
 *              keep the bytes they had before the section existed.
 * Every known section must appear once, except those written only when
 * present (TSCL, MISS, PREC, STRM, SMTH, EMAP), which appear at most once.  An unknown tag is skipped when
 * the section is optional and refused when it is required. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint/internal.h"
#include "nn/layer.h"

/* ---- ARCH ---------------------------------------------------------------------- */

static void put_arch(const nn_ckpt *c, nn_bytes *w)
{
    const nn_arch *a = &c->arch;
    nn_put_u32(w, (uint32_t)a->n_inputs);
    nn_put_u32(w, (uint32_t)a->n_layers);
    for (int l = 0; l < a->n_layers; l++) {
        const nn_layer *y = &a->layers[l];
        const nn_layer_ops *ops = nn_layer_ops_of(y->kind);
        nn_put_str(w, ops->name);
        nn_put_u32(w, (uint32_t)y->origin);
        nn_put_u32(w, (uint32_t)y->in);
        nn_put_u32(w, (uint32_t)y->out);
        nn_put_u32(w, (uint32_t)y->act);
        nn_put_f32(w, y->alpha);
        size_t at = w->len;
        nn_put_u32(w, 0); /* the length of the kind's fields, once written */
        ops->put(y, w);
        if (!w->oom) {
            uint32_t len = (uint32_t)(w->len - at - 4);
            for (int i = 0; i < 4; i++)
                w->p[at + (size_t)i] = (unsigned char)(len >> (8 * i));
        }
    }
}

/* One layer's record; -1 with *err. */
static int get_layer(nn_bytes_in *r, nn_layer *y, int l, const char *name, nn_error *err)
{
    bool oom = false;
    char *kind = nn_get_str(r, &oom);
    if (oom)
        return nn_ckpt_nomem(err, name);
    if (!kind)
        return nn_ckpt_malformed(err, name, "layer record %d is cut short", l + 1);
    int k = nn_layer_kind_from_name(kind);
    if (k < 0) {
        char shown[48];
        snprintf(shown, sizeof shown, "%.40s", kind);
        free(kind);
        return nn_ckpt_malformed(err, name, "layer record %d has kind \"%s\", unknown to this "
                                 "nntrain", l + 1, shown);
    }
    free(kind);
    uint32_t origin = nn_get_u32(r), in = nn_get_u32(r), out = nn_get_u32(r);
    uint32_t act = nn_get_u32(r);
    float alpha = nn_get_f32(r);
    uint32_t len = nn_get_u32(r);
    if (r->bad || len > nn_bytes_left(r))
        return nn_ckpt_malformed(err, name, "layer record %d is cut short", l + 1);
    if (origin >= NN_MAX_LAYERS) /* before any message counts from it */
        return nn_ckpt_malformed(err, name, "layer record %d belongs to declared layer %lu", l + 1,
                                 (unsigned long)origin + 1);
    *y = (nn_layer){.kind = (nn_layer_kind)k,
                    .origin = origin > INT_MAX ? -1 : (int)origin,
                    .in = in > INT_MAX ? -1 : (int)in,
                    .out = out > INT_MAX ? -1 : (int)out,
                    .act = act > INT_MAX ? (nn_act)-1 : (nn_act)act,
                    .alpha = alpha};
    nn_bytes_in own = {nn_get_raw(r, len), len, 0, false};
    char why[256];
    if (nn_layer_ops_of(y->kind)->get(y, &own, why, sizeof why) != 0)
        return nn_ckpt_malformed(err, name, "%s", why);
    if (own.bad || own.pos != own.n)
        return nn_ckpt_malformed(err, name, "layer record %d: %u bytes of %s fields", l + 1,
                                 (unsigned)len, nn_layer_ops_of(y->kind)->name);
    return 0;
}

static int get_arch(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err)
{
    nn_arch *a = &c->arch;
    uint32_t n_inputs = nn_get_u32(r), n = nn_get_u32(r);
    if (r->bad)
        return nn_ckpt_malformed(err, name, "section \"ARCH\" is %zu bytes, too short", r->n);
    if (n < 1 || n > NN_MAX_ARCH_LAYERS)
        return nn_ckpt_malformed(err, name, "%lu layers, not in 1..%d", (unsigned long)n,
                                 NN_MAX_ARCH_LAYERS);
    a->n_inputs = n_inputs > INT_MAX ? -1 : (int)n_inputs;
    a->n_layers = (int)n;
    for (int l = 0; l < a->n_layers; l++)
        if (get_layer(r, &a->layers[l], l, name, err) != 0)
            return -1;
    if (nn_ckpt_expect_end(r, "ARCH", name, err) != 0)
        return -1;
    char why[256];
    if (nn_arch_check(a, why, sizeof why) != 0)
        return nn_ckpt_malformed(err, name, "%s", why);
    return 0;
}

/* ---- LOSS, DATA, the float arrays, TRAI ------------------------------------------- */

static void put_loss(const nn_ckpt *c, nn_bytes *w)
{
    nn_put_u32(w, (uint32_t)c->loss);
    nn_put_f64(w, c->huber_delta);
}

static int get_loss(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err)
{
    uint32_t loss = nn_get_u32(r);
    c->loss = loss > INT_MAX ? (nn_loss)-1 : (nn_loss)loss;
    c->huber_delta = nn_get_f64(r);
    return nn_ckpt_expect_end(r, "LOSS", name, err);
}

static void put_data(const nn_ckpt *c, nn_bytes *w)
{
    nn_put_u32(w, (uint32_t)c->n_classes);
    nn_ckpt_put_data(w, c);
}

static int get_data(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err)
{
    uint32_t k = nn_get_u32(r);
    if (k > NN_MAX_UNITS)
        return nn_ckpt_malformed(err, name, "n_classes %lu not in 0..%d", (unsigned long)k,
                                 NN_MAX_UNITS);
    c->n_classes = (int)k;
    return nn_ckpt_get_data(r, c, name, err);
}

static void put_scal(const nn_ckpt *c, nn_bytes *w) { nn_ckpt_put_scal(w, c); }
static int get_scal(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err)
{
    return nn_ckpt_get_scal(r, c, name, err);
}

static void put_parm(const nn_ckpt *c, nn_bytes *w) { nn_ckpt_put_floats(w, c->params, c->n_params); }
static int get_parm(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err)
{
    return nn_ckpt_get_floats(r, &c->params, &c->n_params, "PARM", name, err);
}

static void put_stat(const nn_ckpt *c, nn_bytes *w) { nn_ckpt_put_floats(w, c->state, c->n_state); }
static int get_stat(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err)
{
    return nn_ckpt_get_floats(r, &c->state, &c->n_state, "STAT", name, err);
}

static void put_optm(const nn_ckpt *c, nn_bytes *w)
{
    nn_put_u32(w, (uint32_t)c->optimizer);
    nn_ckpt_put_floats(w, c->opt_state, c->n_opt_state);
}

static int get_optm(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err)
{
    uint32_t opt = nn_get_u32(r);
    c->optimizer = opt > INT_MAX ? (nn_opt)-1 : (nn_opt)opt;
    return nn_ckpt_get_floats(r, &c->opt_state, &c->n_opt_state, "OPTM", name, err);
}

static void put_prog(const nn_ckpt *c, nn_bytes *w) { nn_ckpt_put_prog(w, c); }
static int get_prog(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err)
{
    return nn_ckpt_get_prog(r, c, name, err);
}

static void put_trai(const nn_ckpt *c, nn_bytes *w) { nn_ckpt_put_stopping(w, c); }
static int get_trai(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err)
{
    if (nn_ckpt_get_stopping(r, c, name, err) != 0)
        return -1;
    return nn_ckpt_expect_end(r, "TRAI", name, err);
}

static void put_epoc(const nn_ckpt *c, nn_bytes *w) { nn_ckpt_put_epoc(w, c); }
static int get_epoc(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err)
{
    return nn_ckpt_get_epoc(r, c, name, err);
}

static void put_vers(const nn_ckpt *c, nn_bytes *w) { nn_ckpt_put_text(w, c->version); }
static int get_vers(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err)
{
    return nn_ckpt_get_text(r, &c->version, "version", name, err);
}

static void put_conf(const nn_ckpt *c, nn_bytes *w) { nn_ckpt_put_text(w, c->config_json); }
static int get_conf(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err)
{
    return nn_ckpt_get_text(r, &c->config_json, "config", name, err);
}

/* ---- TSCL ------------------------------------------------------------------------- */

static bool has_tscl(const nn_ckpt *c) { return c->n_target_scale > 0; }

static void put_tscl(const nn_ckpt *c, nn_bytes *w)
{
    nn_put_u32(w, (uint32_t)c->n_target_scale);
    for (int k = 0; k < c->n_target_scale; k++)
        nn_put_f64(w, c->target_mean[k]);
    for (int k = 0; k < c->n_target_scale; k++)
        nn_put_f64(w, c->target_std[k]);
}

static int get_tscl(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err)
{
    uint32_t n = nn_get_u32(r);
    if (r->bad || n < 1 || n > NN_MAX_UNITS || (size_t)n * 16 != nn_bytes_left(r))
        return nn_ckpt_malformed(err, name, "section \"TSCL\" does not hold a target scaling");
    c->target_mean = malloc(sizeof(double) * n);
    c->target_std = malloc(sizeof(double) * n);
    if (!c->target_mean || !c->target_std)
        return nn_ckpt_nomem(err, name);
    c->n_target_scale = (int)n;
    for (uint32_t k = 0; k < n; k++)
        c->target_mean[k] = nn_get_f64(r);
    for (uint32_t k = 0; k < n; k++)
        c->target_std[k] = nn_get_f64(r);
    return nn_ckpt_expect_end(r, "TSCL", name, err);
}

/* ---- HIST ------------------------------------------------------------------------- */

static void put_hist(const nn_ckpt *c, nn_bytes *w)
{
    const nn_history *h = &c->hist;
    nn_put_u32(w, (uint32_t)h->n_metrics);
    for (int i = 0; i < h->n_metrics; i++)
        nn_put_str(w, h->names[i]);
    nn_put_u64(w, (uint64_t)(h->stride > 0 ? h->stride : 1));
    nn_put_u64(w, (uint64_t)h->n);
    for (size_t i = 0; i < h->n; i++) {
        nn_put_u64(w, (uint64_t)h->epochs[i]);
        for (int k = 0; k < h->n_metrics; k++)
            nn_put_f64(w, h->values[i * (size_t)h->n_metrics + (size_t)k]);
    }
}

static int get_hist(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err)
{
    nn_history *h = &c->hist;
    uint32_t m = nn_get_u32(r);
    if (r->bad)
        return nn_ckpt_malformed(err, name, "section \"HIST\" is %zu bytes, too short", r->n);
    if (m > NN_HIST_MAX_METRICS)
        return nn_ckpt_malformed(err, name, "history of %lu metrics, not in 0..%d",
                                 (unsigned long)m, NN_HIST_MAX_METRICS);
    if (m && !(h->names = calloc(m, sizeof *h->names)))
        return nn_ckpt_nomem(err, name);
    h->n_metrics = (int)m;
    for (uint32_t i = 0; i < m; i++) {
        bool oom = false;
        if (!(h->names[i] = nn_get_str(r, &oom)))
            return oom ? nn_ckpt_nomem(err, name)
                       : nn_ckpt_malformed(err, name, "history metric %lu is cut short",
                                           (unsigned long)i + 1);
    }
    uint64_t stride = nn_get_u64(r), n = nn_get_u64(r);
    if (r->bad)
        return nn_ckpt_malformed(err, name, "section \"HIST\" is %zu bytes, too short", r->n);
    size_t record = 8 + 8 * (size_t)m;
    if (n > NN_HIST_MAX_RECORDS || n * record != nn_bytes_left(r))
        return nn_ckpt_malformed(err, name, "history of %llu epochs in %zu bytes",
                                 (unsigned long long)n, nn_bytes_left(r));
    h->stride = stride > INT64_MAX ? -1 : (int64_t)stride;
    if (n) {
        h->epochs = malloc((size_t)n * sizeof *h->epochs);
        h->values = malloc((size_t)n * (m ? m : 1) * sizeof *h->values);
        if (!h->epochs || !h->values)
            return nn_ckpt_nomem(err, name);
        h->n = h->cap = (size_t)n;
        for (size_t i = 0; i < h->n; i++) {
            uint64_t e = nn_get_u64(r);
            h->epochs[i] = e > INT64_MAX ? -1 : (int64_t)e;
            for (uint32_t k = 0; k < m; k++)
                h->values[i * m + k] = nn_get_f64(r);
        }
    }
    return nn_ckpt_expect_end(r, "HIST", name, err);
}

/* ---- MISS ------------------------------------------------------------------------------ */

static void put_miss(const nn_ckpt *c, nn_bytes *w)
{
    const nn_data_layout *l = &c->layout;
    nn_put_u32(w, (uint32_t)l->missing);
    nn_put_u32(w, l->na_values ? (uint32_t)l->n_na : 0);
    for (int i = 0; l->na_values && i < l->n_na; i++)
        nn_put_str(w, l->na_values[i]);
    nn_put_u64(w, (uint64_t)l->n_means);
    nn_put_f32s(w, l->means, l->n_means);
}

static int get_miss(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err)
{
    nn_data_layout *l = &c->layout;
    uint32_t mode = nn_get_u32(r), n = nn_get_u32(r);
    if (r->bad || mode > 2 || c->layout.format != NN_FORMAT_CSV)
        return nn_ckpt_malformed(err, name, "section \"MISS\": missing-value mode %lu",
                                 (unsigned long)mode);
    if ((uint64_t)n * 4 > nn_bytes_left(r))
        return nn_ckpt_malformed(err, name, "section \"MISS\": %lu strings cut short",
                                 (unsigned long)n);
    l->missing = (int)mode;
    l->na_values = calloc((size_t)n + 1, sizeof *l->na_values);
    if (!l->na_values)
        return nn_ckpt_nomem(err, name);
    for (uint32_t i = 0; i < n; i++) {
        bool oom = false;
        l->na_values[i] = nn_get_str(r, &oom);
        if (oom)
            return nn_ckpt_nomem(err, name);
        if (!l->na_values[i])
            return nn_ckpt_malformed(err, name, "section \"MISS\": string %lu is cut short",
                                     (unsigned long)i + 1);
        l->n_na = (int)i + 1;
    }
    uint64_t m = nn_get_u64(r);
    if (r->bad || (m != 0 && m != (uint64_t)c->arch.n_inputs) || m * 4 != nn_bytes_left(r))
        return nn_ckpt_malformed(err, name, "section \"MISS\": %llu means for %d inputs",
                                 (unsigned long long)m, c->arch.n_inputs);
    if (m) {
        l->means = malloc((size_t)m * sizeof *l->means);
        if (!l->means)
            return nn_ckpt_nomem(err, name);
        nn_get_f32s(r, l->means, (size_t)m);
        l->n_means = (size_t)m;
    }
    return nn_ckpt_expect_end(r, "MISS", name, err);
}

static bool has_miss(const nn_ckpt *c)
{
    return nn_data_layout_has_missing(&c->layout);
}

/* ---- PREC ------------------------------------------------------------------------------ */

static bool has_prec(const nn_ckpt *c) { return c->precision != NN_PREC_FP32; }

static void put_prec(const nn_ckpt *c, nn_bytes *w) { nn_put_u32(w, (uint32_t)c->precision); }

static int get_prec(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err)
{
    uint32_t p = nn_get_u32(r);
    if (r->bad || r->pos != r->n)
        return nn_ckpt_malformed(err, name, "section \"PREC\" is %zu bytes, not 4", r->n);
    if (p > INT_MAX || strcmp(nn_precision_name((nn_precision)p), "?") == 0)
        return nn_ckpt_malformed(err, name,
                                 "section \"PREC\": precision %lu, unknown to this nntrain "
                                 "(0 fp32, 1 bf16)",
                                 (unsigned long)p);
    c->precision = (nn_precision)p;
    return 0;
}

/* ---- SMTH ------------------------------------------------------------------------------ */

static bool has_smth(const nn_ckpt *c) { return c->label_smoothing != 0; }

static void put_smth(const nn_ckpt *c, nn_bytes *w) { nn_put_f64(w, c->label_smoothing); }

static int get_smth(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err)
{
    double e = nn_get_f64(r);
    if (r->bad || r->pos != r->n)
        return nn_ckpt_malformed(err, name, "section \"SMTH\" is %zu bytes, not 8", r->n);
    if (!(e >= 0 && e < 1))
        return nn_ckpt_malformed(err, name, "section \"SMTH\": label smoothing %g, not in [0, 1)",
                                 e);
    c->label_smoothing = e;
    return 0;
}

/* ---- EMAP ------------------------------------------------------------------------------ */

static bool has_emap(const nn_ckpt *c) { return c->ema != NULL; }

static void put_emap(const nn_ckpt *c, nn_bytes *w)
{
    nn_put_f64(w, c->ema_decay);
    nn_ckpt_put_floats(w, c->ema, c->n_params);
}

static int get_emap(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err)
{
    double d = nn_get_f64(r);
    size_t n = 0;
    if (r->bad || !(d > 0 && d < 1))
        return nn_ckpt_malformed(err, name, "section \"EMAP\": decay %g, not in (0, 1)", d);
    if (nn_ckpt_get_floats(r, &c->ema, &n, "EMAP", name, err) != 0)
        return -1;
    if (n != c->n_params)
        return nn_ckpt_malformed(err, name,
                                 "section \"EMAP\" holds %zu parameters, \"PARM\" %zu", n,
                                 c->n_params);
    c->ema_decay = d;
    return 0;
}

/* ---- STRM ------------------------------------------------------------------------------ */

static bool has_strm(const nn_ckpt *c) { return c->stream_window != 0; }

static void put_strm(const nn_ckpt *c, nn_bytes *w)
{
    nn_put_u64(w, c->stream_block);
    nn_put_u64(w, c->stream_window);
}

static int get_strm(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err)
{
    uint64_t b = nn_get_u64(r), w = nn_get_u64(r);
    if (r->bad || r->pos != r->n)
        return nn_ckpt_malformed(err, name, "section \"STRM\" is %zu bytes, not 16", r->n);
    if (b == 0 || w == 0 || w % b != 0 || w > UINT32_MAX)
        return nn_ckpt_malformed(err, name,
                                 "section \"STRM\": a window of %llu rows in blocks of %llu",
                                 (unsigned long long)w, (unsigned long long)b);
    c->stream_block = b;
    c->stream_window = w;
    return 0;
}

/* ---- the table ----------------------------------------------------------------------- */

typedef struct {
    char tag[5];
    bool required;
    void (*put)(const nn_ckpt *c, nn_bytes *w);
    int (*get)(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err);
    bool (*present)(const nn_ckpt *c); /* NULL: always written; else only when it says so
                                          (a required section then is required when present) */
} section_def;

/* In the order written and decoded: ARCH before what is checked against it. */
static const section_def sections[] = {
    {"VERS", false, put_vers, get_vers, NULL}, {"CONF", false, put_conf, get_conf, NULL},
    {"ARCH", true, put_arch, get_arch, NULL},  {"LOSS", true, put_loss, get_loss, NULL},
    {"DATA", true, put_data, get_data, NULL},  {"SCAL", true, put_scal, get_scal, NULL},
    {"PARM", true, put_parm, get_parm, NULL},  {"STAT", true, put_stat, get_stat, NULL},
    {"OPTM", true, put_optm, get_optm, NULL},  {"PROG", true, put_prog, get_prog, NULL},
    {"TRAI", true, put_trai, get_trai, NULL},  {"EPOC", true, put_epoc, get_epoc, NULL},
    {"TSCL", true, put_tscl, get_tscl, has_tscl},
    {"HIST", false, put_hist, get_hist, NULL},
    {"MISS", true, put_miss, get_miss, has_miss},
    {"PREC", false, put_prec, get_prec, has_prec},
    {"STRM", false, put_strm, get_strm, has_strm},
    {"SMTH", false, put_smth, get_smth, has_smth},
    {"EMAP", true, put_emap, get_emap, has_emap},
};
enum { N_SECTIONS = (int)(sizeof sections / sizeof sections[0]) };

int nn_ckpt_encode(const nn_ckpt *c, unsigned char **out, size_t *n, const char *name,
                   nn_error *err)
{
    *out = NULL;
    *n = 0;
    char what[256];
    if (nn_ckpt_check(c, what, sizeof what) != 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: cannot save checkpoint: %s", name, what);
        return -1;
    }
    nn_bytes w = {0};
    uint32_t written = 0;
    for (int s = 0; s < N_SECTIONS; s++)
        written += !sections[s].present || sections[s].present(c);
    nn_ckpt_frame_begin(&w, NN_CKPT_VERSION, written);
    for (int s = 0; s < N_SECTIONS; s++) {
        if (sections[s].present && !sections[s].present(c))
            continue;
        size_t head = nn_ckpt_section_begin(&w, sections[s].tag, sections[s].required);
        sections[s].put(c, &w);
        nn_ckpt_section_end(&w, head);
    }
    nn_ckpt_frame_end(&w);
    if (w.oom || w.len > NN_CKPT_MAX_BYTES) {
        free(w.p);
        if (w.oom)
            return nn_ckpt_nomem(err, name);
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: checkpoint would be larger than 4 GiB", name);
        return -1;
    }
    *out = w.p;
    *n = w.len;
    return 0;
}

/* Which known section each of the file's is (-1: unknown, and optional). */
static int sort_sections(const nn_ckpt_section *secs, size_t count, uint32_t version,
                         const char *name, int found[N_SECTIONS], nn_error *err)
{
    for (int s = 0; s < N_SECTIONS; s++)
        found[s] = -1;
    char tag[16];
    for (size_t i = 0; i < count; i++) {
        int s = 0;
        while (s < N_SECTIONS && memcmp(secs[i].tag, sections[s].tag, 4) != 0)
            s++;
        nn_ckpt_tag_text(secs[i].tag, tag);
        if (s == N_SECTIONS) {
            if (!secs[i].required)
                continue; /* from a newer nntrain, and safe to skip */
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "%s: section %s of checkpoint format %lu is required but unknown to "
                         "this nntrain (written by a newer one?)",
                         name, tag, (unsigned long)version);
            return -1;
        }
        if (found[s] >= 0)
            return nn_ckpt_malformed(err, name, "section %s appears twice", tag);
        found[s] = (int)i;
    }
    for (int s = 0; s < N_SECTIONS; s++)
        if (found[s] < 0 && sections[s].required && !sections[s].present)
            return nn_ckpt_malformed(err, name, "section \"%s\" is missing", sections[s].tag);
    return 0;
}

int nn_ckpt_decode_v4(const nn_ckpt_section *secs, size_t count, uint32_t version,
                      const char *name, nn_ckpt *c, nn_error *err)
{
    int found[N_SECTIONS];
    if (sort_sections(secs, count, version, name, found, err) != 0)
        return -1;
    for (int s = 0; s < N_SECTIONS; s++) {
        if (found[s] < 0)
            continue; /* an optional one left out */
        nn_bytes_in body = secs[found[s]].body;
        if (sections[s].get(&body, c, name, err) != 0)
            return -1;
    }
    if (!c->version && !(c->version = calloc(1, 1)))
        return nn_ckpt_nomem(err, name);
    if (!c->config_json && !(c->config_json = calloc(1, 1)))
        return nn_ckpt_nomem(err, name);
    c->format = version > INT_MAX ? INT_MAX : (int)version;
    char what[256];
    if (nn_ckpt_check(c, what, sizeof what) != 0)
        return nn_ckpt_malformed(err, name, "%s", what);
    return 0;
}
