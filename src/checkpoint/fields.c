/* fields.c - the section bodies formats 3 and 4 share, and the checks of a
 * whole nn_ckpt (internal.h).  Every read goes through a bounded reader
 * (util/bytes.h) and every count is checked against the bytes left before
 * anything is allocated from it. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint/internal.h"
#include "nn/loss.h"

int nn_ckpt_expect_end(const nn_bytes_in *r, const char *tag, const char *name, nn_error *err)
{
    if (r->bad || r->pos != r->n)
        return nn_ckpt_malformed(err, name, "section \"%s\" has the wrong length", tag);
    return 0;
}

/* ---- text and float arrays -------------------------------------------------- */

void nn_ckpt_put_text(nn_bytes *w, const char *s)
{
    nn_put_raw(w, s ? s : "", s ? strlen(s) : 0);
}

int nn_ckpt_get_text(nn_bytes_in *r, char **out, const char *what, const char *name,
                     nn_error *err)
{
    size_t n = nn_bytes_left(r);
    const unsigned char *q = nn_get_raw(r, n);
    if (n && memchr(q, '\0', n))
        return nn_ckpt_malformed(err, name, "a NUL byte inside the %s text", what);
    char *s = malloc(n + 1);
    if (!s)
        return nn_ckpt_nomem(err, name);
    if (n)
        memcpy(s, q, n);
    s[n] = '\0';
    *out = s;
    return 0;
}

void nn_ckpt_put_floats(nn_bytes *w, const float *v, size_t n)
{
    nn_put_u64(w, n);
    nn_put_f32s(w, v, n);
}

int nn_ckpt_get_floats(nn_bytes_in *r, float **v, size_t *n, const char *tag, const char *name,
                       nn_error *err)
{
    if (nn_bytes_left(r) < 8)
        return nn_ckpt_malformed(err, name, "section \"%s\" is %zu bytes, too short", tag, r->n);
    uint64_t cnt = nn_get_u64(r);
    size_t rest = nn_bytes_left(r);
    if (rest % 4 != 0 || cnt != rest / 4)
        return nn_ckpt_malformed(err, name, "section \"%s\" claims %llu values but holds %zu "
                                 "bytes", tag, (unsigned long long)cnt, rest);
    *n = (size_t)cnt;
    if (cnt) {
        *v = malloc((size_t)cnt * sizeof **v);
        if (!*v)
            return nn_ckpt_nomem(err, name);
        nn_get_f32s(r, *v, (size_t)cnt);
    }
    return 0;
}

/* ---- SCAL --------------------------------------------------------------------- */

/* A u32 that must fit an int, or -1 (reported by the checks). */
static int get_int(nn_bytes_in *r)
{
    uint32_t u = nn_get_u32(r);
    return u > INT_MAX ? -1 : (int)u;
}

void nn_ckpt_put_scal(nn_bytes *w, const nn_ckpt *c)
{
    uint32_t cnt = c->shift ? (uint32_t)c->arch.n_inputs : 0;
    nn_put_u32(w, (uint32_t)c->scale);
    nn_put_u32(w, cnt);
    nn_put_f32s(w, c->shift, cnt);
    nn_put_f32s(w, c->mult, cnt);
}

int nn_ckpt_get_scal(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err)
{
    if (r->n < 8)
        return nn_ckpt_malformed(err, name, "section \"SCAL\" is %zu bytes, too short", r->n);
    c->scale = (nn_scale)get_int(r);
    uint32_t cnt = nn_get_u32(r);
    if (cnt != 0 && cnt != (uint32_t)c->arch.n_inputs)
        return nn_ckpt_malformed(err, name, "input scaling has %lu features but the model has "
                                 "%d inputs", (unsigned long)cnt, c->arch.n_inputs);
    if (r->n != 8 + 8 * (size_t)cnt)
        return nn_ckpt_malformed(err, name, "section \"SCAL\" is %zu bytes, %zu expected", r->n,
                                 8 + 8 * (size_t)cnt);
    if (cnt) {
        c->shift = malloc(cnt * sizeof *c->shift);
        c->mult = malloc(cnt * sizeof *c->mult);
        if (!c->shift || !c->mult)
            return nn_ckpt_nomem(err, name);
        nn_get_f32s(r, c->shift, cnt);
        nn_get_f32s(r, c->mult, cnt);
    }
    return 0;
}

/* ---- PROG ----------------------------------------------------------------------- */

#define PROG_LEN 88

void nn_ckpt_put_prog(nn_bytes *w, const nn_ckpt *c)
{
    nn_put_u64(w, (uint64_t)c->epoch);
    nn_put_u64(w, (uint64_t)c->step);
    for (int i = 0; i < 4; i++)
        nn_put_u64(w, c->rng[i]);
    nn_put_u64(w, c->seed);
    nn_put_f64(w, c->train_loss);
    nn_put_f64(w, c->train_accuracy);
    nn_put_f64(w, c->val_loss);
    nn_put_f64(w, c->val_accuracy);
}

int nn_ckpt_get_prog(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err)
{
    if (r->n != PROG_LEN)
        return nn_ckpt_malformed(err, name, "section \"PROG\" is %zu bytes, %d expected", r->n,
                                 PROG_LEN);
    uint64_t e = nn_get_u64(r), s = nn_get_u64(r);
    if (e > INT64_MAX || s > INT64_MAX)
        return nn_ckpt_malformed(err, name, "negative epoch or step");
    c->epoch = (int64_t)e;
    c->step = (int64_t)s;
    for (int i = 0; i < 4; i++)
        c->rng[i] = nn_get_u64(r);
    c->seed = nn_get_u64(r);
    c->train_loss = nn_get_f64(r);
    c->train_accuracy = nn_get_f64(r);
    c->val_loss = nn_get_f64(r);
    c->val_accuracy = nn_get_f64(r);
    return 0;
}

/* ---- DATA ------------------------------------------------------------------------- */

static void put_strings(nn_bytes *w, char *const *v, uint32_t n)
{
    nn_put_u32(w, v ? n : 0);
    for (uint32_t i = 0; v && i < n; i++)
        nn_put_str(w, v[i]);
}

void nn_ckpt_put_data(nn_bytes *w, const nn_ckpt *c)
{
    const nn_data_layout *l = &c->layout;
    nn_put_u32(w, (uint32_t)l->format);
    nn_put_u32(w, (uint32_t)l->n_targets);
    put_strings(w, c->class_names, (uint32_t)c->n_classes);
    /* the CSV layout; an IDX source writes an empty one */
    int csv = l->format == NN_FORMAT_CSV;
    nn_put_u32(w, csv && l->header ? 1 : 0);
    nn_put_u32(w, (uint32_t)(int32_t)(csv ? l->delimiter : 0));
    nn_put_u64(w, csv ? (uint64_t)l->n_columns : 0);
    nn_put_u64(w, (uint64_t)(int64_t)(csv ? l->label_col : -1));
    for (int i = 0; csv && i < l->n_targets; i++)
        nn_put_u64(w, (uint64_t)(int64_t)l->target_cols[i]);
    put_strings(w, csv ? l->names : NULL, (uint32_t)(csv && l->names ? l->n_columns : 0));
}

/* A list of strings: u32 count, then (u32 length, bytes) each.  The count
 * must be 0 or `want`; lengths are bounded by the bytes left before any
 * allocation. */
static int get_strings(nn_bytes_in *r, char ***out, uint64_t want, const char *what,
                       const char *name, nn_error *err)
{
    uint32_t cnt = nn_get_u32(r);
    if (cnt == 0)
        return 0;
    if (cnt != want || (uint64_t)cnt * 4 > nn_bytes_left(r))
        return nn_ckpt_malformed(err, name, "%lu %s where %llu are expected", (unsigned long)cnt,
                                 what, (unsigned long long)want);
    char **v = calloc(cnt, sizeof *v);
    if (!v)
        return nn_ckpt_nomem(err, name);
    *out = v;
    for (uint32_t i = 0; i < cnt; i++) {
        bool oom = false;
        v[i] = nn_get_str(r, &oom);
        if (oom)
            return nn_ckpt_nomem(err, name);
        if (!v[i])
            return nn_ckpt_malformed(err, name, "%s %lu is cut short or holds a NUL byte", what,
                                     (unsigned long)i + 1);
    }
    return 0;
}

/* The target columns: distinct, and none of them the label column. */
static int get_targets(nn_bytes_in *r, nn_data_layout *l, uint32_t nt, const char *name,
                       nn_error *err)
{
    if ((uint64_t)nt * 8 > nn_bytes_left(r))
        return nn_ckpt_malformed(err, name, "target columns cut short");
    l->target_cols = malloc(sizeof(long) * nt);
    if (!l->target_cols)
        return nn_ckpt_nomem(err, name);
    for (uint32_t i = 0; i < nt; i++) {
        int64_t t = (int64_t)nn_get_u64(r);
        if (t < 0 || (uint64_t)t >= l->n_columns || t == l->label_col)
            return nn_ckpt_malformed(err, name, "target column %lld of %zu", (long long)t,
                                     l->n_columns);
        l->target_cols[i] = (long)t;
    }
    for (uint32_t i = 1; i < nt; i++) /* n^2 over at most 65536 targets is fine once */
        for (uint32_t k = 0; k < i; k++)
            if (l->target_cols[i] == l->target_cols[k])
                return nn_ckpt_malformed(err, name, "target column %ld twice", l->target_cols[i]);
    return 0;
}

int nn_ckpt_get_data(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err)
{
    nn_data_layout *l = &c->layout;
    uint32_t kind = nn_get_u32(r), nt = nn_get_u32(r);
    int outputs = nn_arch_outputs(&c->arch);
    if (kind != NN_FORMAT_IDX && kind != NN_FORMAT_CSV && kind != NN_FORMAT_NPY)
        return nn_ckpt_malformed(err, name, "unknown data kind %lu", (unsigned long)kind);
    if (nt && nt != (uint32_t)outputs)
        return nn_ckpt_malformed(err, name, "%lu regression targets for %d output units",
                                 (unsigned long)nt, outputs);
    l->format = (nn_format_kind)kind;
    l->n_targets = (int)nt;
    if (get_strings(r, &c->class_names, (uint64_t)c->n_classes, "class names", name, err) != 0)
        return -1;
    l->header = nn_get_u32(r) != 0;
    l->delimiter = (int)(int32_t)nn_get_u32(r);
    uint64_t cols = nn_get_u64(r);
    int64_t label = (int64_t)nn_get_u64(r);
    if (cols > NN_LAYOUT_MAX_COLUMNS || (kind == NN_FORMAT_CSV && cols < 1))
        return nn_ckpt_malformed(err, name, "%llu data columns", (unsigned long long)cols);
    l->n_columns = (size_t)cols;
    if (label < -1 || (label >= 0 && (uint64_t)label >= cols))
        return nn_ckpt_malformed(err, name, "label column %lld of %llu", (long long)label,
                                 (unsigned long long)cols);
    l->label_col = (long)label;
    if (kind == NN_FORMAT_CSV && nt && get_targets(r, l, nt, name, err) != 0)
        return -1;
    if (get_strings(r, &l->names, cols, "column names", name, err) != 0 ||
        nn_ckpt_expect_end(r, "DATA", name, err) != 0)
        return -1;
    if (kind == NN_FORMAT_CSV && (uint64_t)c->arch.n_inputs + (label >= 0) + nt != cols)
        return nn_ckpt_malformed(err, name, "%llu data columns for %d inputs",
                                 (unsigned long long)cols, c->arch.n_inputs);
    return 0;
}

/* ---- early stopping ----------------------------------------------------------------- */

void nn_ckpt_put_stopping(nn_bytes *w, const nn_ckpt *c)
{
    nn_put_f64(w, c->best_val_loss);
    nn_put_u64(w, (uint64_t)c->best_epoch);
    nn_put_u64(w, (uint64_t)c->bad_epochs);
    nn_put_u32(w, c->stopped ? 1 : 0);
}

int nn_ckpt_get_stopping(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err)
{
    c->best_val_loss = nn_get_f64(r);
    uint64_t be = nn_get_u64(r), bad = nn_get_u64(r);
    uint32_t stopped = nn_get_u32(r);
    if (be > INT64_MAX || bad > INT64_MAX || stopped > 1)
        return nn_ckpt_malformed(err, name, "bad early-stopping state");
    c->best_epoch = (int64_t)be;
    c->bad_epochs = (int64_t)bad;
    c->stopped = (int)stopped;
    return 0;
}

/* ---- EPOC ------------------------------------------------------------------------- */

void nn_ckpt_put_epoc(nn_bytes *w, const nn_ckpt *c)
{
    nn_put_u64(w, (uint64_t)c->batch);
    for (int i = 0; i < 4; i++)
        nn_put_u64(w, c->epoch_rng[i]);
    nn_put_f64(w, c->acc_loss_sum);
    nn_put_u64(w, c->acc_n);
    nn_put_u64(w, c->acc_correct);
    nn_put_u32(w, (uint32_t)c->acc_k);
    for (int i = 0; i < 4 * c->acc_k; i++)
        nn_put_f64(w, c->acc_reg[i]);
}

int nn_ckpt_get_epoc(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err)
{
    if (r->n < 68)
        return nn_ckpt_malformed(err, name, "section \"EPOC\" is %zu bytes, too short", r->n);
    uint64_t b = nn_get_u64(r);
    if (b > INT64_MAX)
        return nn_ckpt_malformed(err, name, "negative batch in the epoch state");
    c->batch = (int64_t)b;
    for (int i = 0; i < 4; i++)
        c->epoch_rng[i] = nn_get_u64(r);
    c->acc_loss_sum = nn_get_f64(r);
    c->acc_n = nn_get_u64(r);
    c->acc_correct = nn_get_u64(r);
    uint32_t k = nn_get_u32(r);
    if (k > (uint32_t)nn_arch_outputs(&c->arch) || r->n != 68 + 32 * (size_t)k)
        return nn_ckpt_malformed(err, name, "epoch state for %lu outputs in %zu bytes",
                                 (unsigned long)k, r->n);
    c->acc_k = (int)k;
    if (k) {
        c->acc_reg = malloc(sizeof(double) * 4 * k);
        if (!c->acc_reg)
            return nn_ckpt_nomem(err, name);
        for (uint32_t i = 0; i < 4 * k; i++)
            c->acc_reg[i] = nn_get_f64(r);
    }
    return 0;
}

/* ---- the whole ---------------------------------------------------------------------- */

static bool named(const char *name)
{
    return strcmp(name, "?") != 0;
}

/* The rules a config's model obeys (config/rules.c: the loss against the
 * output layer and the kind of problem, a positive huber delta), applied to
 * the model the file describes: a checkpoint is validated like a config, so
 * no crafted or damaged file gives a loss of another problem's or an
 * infinite one.  (The parameters' bits are kept as they are, non-finite
 * ones too: a model file stores, it does not judge them.)  Needs a checked
 * architecture. */
static int check_model(const nn_ckpt *c, char *what, size_t cap)
{
    const char *ln = nn_loss_name(c->loss), *why = NULL;
    nn_act out = nn_arch_output_act(&c->arch);
    int K = nn_arch_outputs(&c->arch), targets = c->layout.n_targets;
    bool classes_loss = c->loss == NN_LOSS_CROSS_ENTROPY ||
                        c->loss == NN_LOSS_BINARY_CROSS_ENTROPY;
    if (targets > 0 && classes_loss) {
        snprintf(what, cap, "loss \"%s\" (section LOSS) is a classification loss, but the model "
                 "has %d regression targets (section DATA)", ln, targets);
        return -1;
    }
    if (targets > 0 && K != targets) {
        snprintf(what, cap, "the output layer (section ARCH) has %d units for %d regression "
                 "targets (section DATA)", K, targets);
        return -1;
    }
    if (!nn_loss_pairing_ok(c->loss, out, K, &why)) {
        snprintf(what, cap, "loss \"%s\" (section LOSS) does not fit the output layer of %d %s "
                 "units (section ARCH): %s", ln, K, nn_act_name(out), why);
        return -1;
    }
    if (c->loss == NN_LOSS_HUBER && !(c->huber_delta > 0)) {
        snprintf(what, cap, "loss \"huber\" with delta %g (section LOSS): it must be positive",
                 c->huber_delta);
        return -1;
    }
    return 0;
}

int nn_ckpt_check(const nn_ckpt *c, char *what, size_t cap)
{
    if (nn_arch_check(&c->arch, what, cap) != 0)
        return -1;
    if (!named(nn_loss_name(c->loss))) {
        snprintf(what, cap, "unknown loss %d", (int)c->loss);
        return -1;
    }
    if (!(c->huber_delta >= 0) || !isfinite(c->huber_delta)) {
        snprintf(what, cap, "huber delta %g", c->huber_delta);
        return -1;
    }
    if (!(c->label_smoothing >= 0 && c->label_smoothing < 1)) {
        snprintf(what, cap, "label smoothing %g", c->label_smoothing);
        return -1;
    }
    if (!named(nn_precision_name(c->precision))) {
        snprintf(what, cap, "unknown precision %d", (int)c->precision);
        return -1;
    }
    if (!named(nn_opt_name(c->optimizer))) {
        snprintf(what, cap, "unknown optimizer %d", (int)c->optimizer);
        return -1;
    }
    if (c->n_classes < 0 || c->n_classes > NN_MAX_UNITS) {
        snprintf(what, cap, "n_classes %d not in 0..%d", c->n_classes, NN_MAX_UNITS);
        return -1;
    }
    if (!named(nn_scale_name(c->scale))) {
        snprintf(what, cap, "unknown input scaling %d", (int)c->scale);
        return -1;
    }
    if ((c->shift == NULL) != (c->mult == NULL)) {
        snprintf(what, cap, "input scaling has only one of shift and mult");
        return -1;
    }
    if (c->scale != NN_SCALE_NONE && !c->shift) {
        snprintf(what, cap, "input scaling \"%s\" without its shift and mult",
                 nn_scale_name(c->scale));
        return -1;
    }
    if (c->epoch < 0 || c->step < 0 || c->batch < 0 || c->best_epoch < 0 || c->bad_epochs < 0) {
        snprintf(what, cap, "negative epoch %lld or step %lld", (long long)c->epoch,
                 (long long)c->step);
        return -1;
    }
    size_t params = nn_arch_param_count(&c->arch), state = nn_arch_state_count(&c->arch);
    if (c->n_params != params) {
        snprintf(what, cap, "%zu parameters but the architecture has %zu", c->n_params, params);
        return -1;
    }
    if (c->n_state != state) {
        snprintf(what, cap, "%zu values of layer state but the architecture has %zu",
                 c->n_state, state);
        return -1;
    }
    if (!c->params || (state && !c->state)) {
        snprintf(what, cap, "no parameter buffer");
        return -1;
    }
    if (c->n_opt_state > 0 && !c->opt_state) {
        snprintf(what, cap, "no optimizer state buffer for %zu values", c->n_opt_state);
        return -1;
    }
    if (check_model(c, what, cap) != 0)
        return -1;
    if (c->acc_k < 0 || c->acc_k > nn_arch_outputs(&c->arch) || (c->acc_k && !c->acc_reg)) {
        snprintf(what, cap, "inconsistent epoch state");
        return -1;
    }
    const nn_data_layout *l = &c->layout;
    if ((l->format != NN_FORMAT_IDX && l->format != NN_FORMAT_CSV &&
         l->format != NN_FORMAT_NPY) || l->n_targets < 0 ||
        l->n_targets > NN_MAX_UNITS ||
        (l->format == NN_FORMAT_CSV && l->n_targets && !l->target_cols)) {
        snprintf(what, cap, "inconsistent data layout");
        return -1;
    }
    if (c->n_target_scale) {
        if (c->n_target_scale != l->n_targets || !c->target_mean || !c->target_std) {
            snprintf(what, cap, "target scaling for %d outputs, the model has %d targets",
                     c->n_target_scale, l->n_targets);
            return -1;
        }
        for (int k = 0; k < c->n_target_scale; k++)
            if (!isfinite(c->target_mean[k]) || !isfinite(c->target_std[k]) ||
                !(c->target_std[k] > 0)) {
                snprintf(what, cap, "target scaling of output %d is not finite and positive",
                         k + 1);
                return -1;
            }
    }
    if (nn_history_check(&c->hist, what, cap) != 0)
        return -1;
    if (c->hist.n && c->hist.epochs[c->hist.n - 1] > c->epoch) {
        snprintf(what, cap, "history reaches epoch %lld, past the %lld epochs done",
                 (long long)c->hist.epochs[c->hist.n - 1], (long long)c->epoch);
        return -1;
    }
    return 0;
}
