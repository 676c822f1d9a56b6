/* checkpoint.c - save and load the checkpoint file (see checkpoint.h).
 *
 * Exact layout, format version 3 (1 had no DATA section, 2 no EPOC and
 * TRAI).  u32/u64/i64 are little-endian; f32/f64
 * are IEEE-754 bit patterns stored as little-endian u32/u64, so NaN payloads,
 * -0.0 and denormals survive bit for bit.  Every byte goes through the put_*
 * and get_* helpers below, so the bytes do not depend on the host's order.
 *
 *   offset   size  field
 *   0        8     magic "NNTRCKPT"
 *   8        4     u32 format version (NN_CKPT_VERSION)
 *   12       4     u32 section count (10 as written here)
 *   16       ...   sections, each: 4-byte ASCII tag, u64 payload length L,
 *                  then L payload bytes
 *   size-4   4     u32 CRC-32 (nn_crc32) of bytes [0, size-4)
 *
 * Sections, written in this order; a reader accepts any order but wants
 * each one exactly once and no other tag:
 *   "VERS"  nntrain version string, no NUL            L = strlen
 *   "CONF"  effective config JSON text, no NUL        L = strlen
 *   "ARCH"  u32 n_inputs, u32 n_layers,
 *           n_layers x (u32 units, u32 act),
 *           u32 loss, u32 optimizer, u32 n_classes    L = 20 + 8*n_layers
 *   "SCAL"  u32 scale, u32 count (0 or n_inputs),
 *           count x f32 shift, count x f32 mult        L = 8 + 8*count
 *   "PROG"  i64 epoch, i64 step, 4 x u64 rng, u64 seed,
 *           f64 train_loss, f64 train_accuracy,
 *           f64 val_loss, f64 val_accuracy            L = 88
 *   "PARM"  u64 n_params, n_params x f32              L = 8 + 4*n_params
 *   "OPTS"  u64 n_opt_state, n_opt_state x f32        L = 8 + 4*n_opt_state
 *   "DATA"  u32 data format (nn_format_kind: 0 IDX, 1 CSV), u32 n_targets,
 *           u32 count of class names (0 or n_classes), each: u32 length, bytes;
 *           u32 header, u32 delimiter (int32 bits), u64 n_columns,
 *           i64 label column, n_targets x i64 target columns,
 *           u32 count of column names (0 or n_columns), each: u32 length, bytes
 *   "TRAI"  u32 n_layers, n_layers x f32 alpha, f64 huber_delta,
 *           f64 best_val_loss, i64 best_epoch, i64 bad_epochs, u32 stopped
 *                                                     L = 40 + 4*n_layers
 *   "EPOC"  i64 batch, 4 x u64 epoch_rng, f64 acc_loss_sum, u64 acc_n,
 *           u64 acc_correct, u32 acc_k, 4*acc_k x f64 acc_reg
 *                                                     L = 68 + 32*acc_k
 *
 * A NULL version or config string is written as an empty one (and reads back
 * as ""); NULL shift/mult are written as count 0 and read back as NULL.
 *
 * Loading reads the whole file (at most NN_CKPT_MAX_BYTES) and checks, in
 * this order: the magic, the version, the CRC, then every section length
 * against the bytes that remain, then the values.  Every length is bounded by
 * the size of the file already in memory before anything is allocated from it.
 *
 * Saving builds the whole file in memory, writes it to "<path>.tmp.<pid>.<k>"
 * (created with O_EXCL, mode 0644 less the umask) in the target's folder,
 * fsyncs and closes it, renames it over the target and fsyncs the folder.
 * A missing parent folder is created with all its missing ancestors, like
 * `mkdir -p` (mode 0777 less the umask).
 */
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "util/crc32.h"

#define MAGIC "NNTRCKPT"
#define MAGIC_LEN 8
#define HEADER_LEN 16   /* magic, version, section count */
#define SECTION_HEAD 12 /* tag, u64 length */
#define TRAILER_LEN 4   /* CRC-32 */
#define PROG_LEN 88

enum { S_VERS, S_CONF, S_ARCH, S_SCAL, S_PROG, S_PARM, S_OPTS, S_DATA, S_EPOC, S_TRAI, S_COUNT };
static const char section_tags[S_COUNT][5] = {"VERS", "CONF", "ARCH", "SCAL", "PROG",
                                              "PARM", "OPTS", "DATA", "EPOC", "TRAI"};

/* ---- little-endian encoding ------------------------------------------- */

typedef struct {
    unsigned char *p; /* (cap,) */
    size_t pos, cap;
} writer;

static void put_bytes(writer *w, const void *src, size_t n)
{
    if (n)
        memcpy(w->p + w->pos, src, n);
    w->pos += n;
}

static void put_u32(writer *w, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        w->p[w->pos++] = (unsigned char)(v >> (8 * i));
}

static void put_u64(writer *w, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        w->p[w->pos++] = (unsigned char)(v >> (8 * i));
}

static void put_f32s(writer *w, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], sizeof u);
        put_u32(w, u);
    }
}

static void put_f64(writer *w, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    put_u64(w, u);
}

static void put_section_head(writer *w, int s, uint64_t len)
{
    put_bytes(w, section_tags[s], 4);
    put_u64(w, len);
}

static uint32_t load_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t load_u64(const unsigned char *p)
{
    return (uint64_t)load_u32(p) | (uint64_t)load_u32(p + 4) << 32;
}

/* A bounded cursor: reading past n sets `bad` and yields zeros, so a
 * length mistake here cannot read out of bounds. */
typedef struct {
    const unsigned char *p; /* (n,) */
    size_t n, pos;
    int bad;
} reader;

static const unsigned char *take(reader *r, size_t k)
{
    if (r->bad || k > r->n - r->pos) {
        r->bad = 1;
        return NULL;
    }
    const unsigned char *q = r->p + r->pos;
    r->pos += k;
    return q;
}

static uint32_t get_u32(reader *r)
{
    const unsigned char *q = take(r, 4);
    return q ? load_u32(q) : 0;
}

static uint64_t get_u64(reader *r)
{
    const unsigned char *q = take(r, 8);
    return q ? load_u64(q) : 0;
}

static double get_f64(reader *r)
{
    uint64_t u = get_u64(r);
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

static void get_f32s(reader *r, float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u = get_u32(r);
        memcpy(&v[i], &u, sizeof u);
    }
}

/* ---- checks shared by save and load ------------------------------------- */

static int act_ok(int v) { return strcmp(nn_act_name((nn_act)v), "?") != 0; }
static int loss_ok(int v) { return strcmp(nn_loss_name((nn_loss)v), "?") != 0; }
static int opt_ok(int v) { return strcmp(nn_opt_name((nn_opt)v), "?") != 0; }
static int scale_ok(int v) { return strcmp(nn_scale_name((nn_scale)v), "?") != 0; }

/* Parameters of the dense stack: sum over layers of units[l] * (in + 1),
 * in = n_inputs for layer 0 and units[l-1] after.  Needs valid sizes; the
 * result is below 2^47 so it cannot overflow. */
static uint64_t arch_params(const nn_ckpt *c)
{
    uint64_t total = 0, in = (uint64_t)c->n_inputs;
    for (int l = 0; l < c->n_layers; l++) {
        total += (uint64_t)c->units[l] * (in + 1);
        in = (uint64_t)c->units[l];
    }
    return total;
}

/* Describes the first thing wrong with c in what[] and returns -1. */
static int check_fields(const nn_ckpt *c, char *what, size_t cap)
{
    if (c->n_inputs < 1 || c->n_inputs > NN_MAX_FEATURES) {
        snprintf(what, cap, "n_inputs %d not in 1..%d", c->n_inputs, NN_MAX_FEATURES);
        return -1;
    }
    if (c->n_layers < 1 || c->n_layers > NN_MAX_LAYERS) {
        snprintf(what, cap, "n_layers %d not in 1..%d", c->n_layers, NN_MAX_LAYERS);
        return -1;
    }
    for (int l = 0; l < c->n_layers; l++) {
        if (c->units[l] < 1 || c->units[l] > NN_MAX_UNITS) {
            snprintf(what, cap, "layer %d has %d units, not in 1..%d", l + 1,
                     c->units[l], NN_MAX_UNITS);
            return -1;
        }
        if (!act_ok((int)c->act[l])) {
            snprintf(what, cap, "layer %d has unknown activation %d", l + 1, (int)c->act[l]);
            return -1;
        }
    }
    if (!loss_ok((int)c->loss)) {
        snprintf(what, cap, "unknown loss %d", (int)c->loss);
        return -1;
    }
    if (!opt_ok((int)c->optimizer)) {
        snprintf(what, cap, "unknown optimizer %d", (int)c->optimizer);
        return -1;
    }
    if (c->n_classes < 0 || c->n_classes > NN_MAX_UNITS) {
        snprintf(what, cap, "n_classes %d not in 0..%d", c->n_classes, NN_MAX_UNITS);
        return -1;
    }
    if (!scale_ok((int)c->scale)) {
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
    if (c->epoch < 0 || c->step < 0) {
        snprintf(what, cap, "negative epoch %lld or step %lld", (long long)c->epoch,
                 (long long)c->step);
        return -1;
    }
    uint64_t want = arch_params(c);
    if ((uint64_t)c->n_params != want) {
        snprintf(what, cap, "%llu parameters but the architecture has %llu",
                 (unsigned long long)c->n_params, (unsigned long long)want);
        return -1;
    }
    if (!c->params) {
        snprintf(what, cap, "no parameter buffer");
        return -1;
    }
    if (c->n_opt_state > 0 && !c->opt_state) {
        snprintf(what, cap, "no optimizer state buffer for %zu values", c->n_opt_state);
        return -1;
    }
    return 0;
}

/* ---- the DATA section ------------------------------------------------------ */

static uint64_t strings_len(char *const *v, uint64_t n)
{
    uint64_t total = 4;
    for (uint64_t i = 0; v && i < n; i++)
        total += 4 + strlen(v[i]);
    return total;
}

static int data_len(const nn_ckpt *c, uint64_t *len)
{
    const nn_data_layout *l = &c->layout;
    int csv = l->format == NN_FORMAT_CSV;
    if ((l->format != NN_FORMAT_IDX && !csv) || l->n_targets < 0 ||
        l->n_targets > NN_MAX_UNITS || (csv && l->n_targets && !l->target_cols))
        return -1;
    uint64_t n = 8 + strings_len(c->class_names, c->class_names ? (uint64_t)c->n_classes : 0);
    n += 4 + 4 + 8 + 8 + 8 * (uint64_t)(csv ? l->n_targets : 0);
    n += strings_len(csv ? l->names : NULL, csv && l->names ? l->n_columns : 0);
    *len = n;
    return 0;
}

static void put_strings(writer *w, char *const *v, uint32_t n)
{
    put_u32(w, v ? n : 0);
    for (uint32_t i = 0; v && i < n; i++) {
        uint32_t k = (uint32_t)strlen(v[i]);
        put_u32(w, k);
        put_bytes(w, v[i], k);
    }
}

static void put_data(writer *w, const nn_ckpt *c)
{
    const nn_data_layout *l = &c->layout;
    put_u32(w, (uint32_t)l->format);
    put_u32(w, (uint32_t)l->n_targets);
    put_strings(w, c->class_names, (uint32_t)c->n_classes);
    /* the CSV layout; an IDX source writes an empty one */
    int csv = l->format == NN_FORMAT_CSV;
    put_u32(w, csv && l->header ? 1 : 0);
    put_u32(w, (uint32_t)(int32_t)(csv ? l->delimiter : 0));
    put_u64(w, csv ? (uint64_t)l->n_columns : 0);
    put_u64(w, (uint64_t)(int64_t)(csv ? l->label_col : -1));
    for (int i = 0; csv && i < l->n_targets; i++)
        put_u64(w, (uint64_t)(int64_t)l->target_cols[i]);
    put_strings(w, csv ? l->names : NULL, (uint32_t)(csv && l->names ? l->n_columns : 0));
}

/* ---- encode -------------------------------------------------------------- */

int nn_ckpt_encode(const nn_ckpt *c, unsigned char **out, size_t *n,
                   const char *name, nn_error *err)
{
    *out = NULL;
    *n = 0;
    char what[256];
    if (check_fields(c, what, sizeof what) != 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: cannot save checkpoint: %s", name, what);
        return -1;
    }
    const char *vers = c->version ? c->version : "";
    const char *conf = c->config_json ? c->config_json : "";
    uint64_t lv = strlen(vers), lc = strlen(conf);
    uint64_t cnt = c->shift ? (uint64_t)c->n_inputs : 0;
    uint64_t np = c->n_params, no = c->n_opt_state;
    const uint64_t max = NN_CKPT_MAX_BYTES;
    if (lv > max || lc > max || np > max / 4 || no > max / 4) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: checkpoint would be larger than 4 GiB", name);
        return -1;
    }
    uint64_t len[S_COUNT];
    len[S_VERS] = lv;
    len[S_CONF] = lc;
    len[S_ARCH] = 20 + 8 * (uint64_t)c->n_layers;
    len[S_SCAL] = 8 + 8 * cnt;
    len[S_PROG] = PROG_LEN;
    len[S_PARM] = 8 + 4 * np;
    len[S_OPTS] = 8 + 4 * no;
    if (c->batch < 0 || c->acc_k < 0 || c->acc_k > NN_MAX_UNITS || (c->acc_k && !c->acc_reg)) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: cannot save checkpoint: inconsistent epoch state",
                     name);
        return -1;
    }
    len[S_EPOC] = 68 + 32 * (uint64_t)c->acc_k;
    len[S_TRAI] = 40 + 4 * (uint64_t)c->n_layers;
    if (data_len(c, &len[S_DATA]) != 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: cannot save checkpoint: inconsistent data layout",
                     name);
        return -1;
    }
    uint64_t total = HEADER_LEN + TRAILER_LEN; /* each term <= 2^32 + 8: no overflow */
    for (int s = 0; s < S_COUNT; s++)
        total += SECTION_HEAD + len[s];
    if (total > max || total > SIZE_MAX) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: checkpoint would be larger than 4 GiB", name);
        return -1;
    }
    writer w = {malloc((size_t)total), 0, (size_t)total};
    if (!w.p) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", name);
        return -1;
    }

    put_bytes(&w, MAGIC, MAGIC_LEN);
    put_u32(&w, NN_CKPT_VERSION);
    put_u32(&w, S_COUNT);

    put_section_head(&w, S_VERS, len[S_VERS]);
    put_bytes(&w, vers, (size_t)lv);

    put_section_head(&w, S_CONF, len[S_CONF]);
    put_bytes(&w, conf, (size_t)lc);

    put_section_head(&w, S_ARCH, len[S_ARCH]);
    put_u32(&w, (uint32_t)c->n_inputs);
    put_u32(&w, (uint32_t)c->n_layers);
    for (int l = 0; l < c->n_layers; l++) {
        put_u32(&w, (uint32_t)c->units[l]);
        put_u32(&w, (uint32_t)c->act[l]);
    }
    put_u32(&w, (uint32_t)c->loss);
    put_u32(&w, (uint32_t)c->optimizer);
    put_u32(&w, (uint32_t)c->n_classes);

    put_section_head(&w, S_SCAL, len[S_SCAL]);
    put_u32(&w, (uint32_t)c->scale);
    put_u32(&w, (uint32_t)cnt);
    if (cnt) {
        put_f32s(&w, c->shift, (size_t)cnt);
        put_f32s(&w, c->mult, (size_t)cnt);
    }

    put_section_head(&w, S_PROG, len[S_PROG]);
    put_u64(&w, (uint64_t)c->epoch);
    put_u64(&w, (uint64_t)c->step);
    for (int i = 0; i < 4; i++)
        put_u64(&w, c->rng[i]);
    put_u64(&w, c->seed);
    put_f64(&w, c->train_loss);
    put_f64(&w, c->train_accuracy);
    put_f64(&w, c->val_loss);
    put_f64(&w, c->val_accuracy);

    put_section_head(&w, S_PARM, len[S_PARM]);
    put_u64(&w, np);
    put_f32s(&w, c->params, (size_t)np);

    put_section_head(&w, S_OPTS, len[S_OPTS]);
    put_u64(&w, no);
    if (no)
        put_f32s(&w, c->opt_state, (size_t)no);

    put_section_head(&w, S_DATA, len[S_DATA]);
    put_data(&w, c);

    put_section_head(&w, S_EPOC, len[S_EPOC]);
    put_u64(&w, (uint64_t)c->batch);
    for (int i = 0; i < 4; i++)
        put_u64(&w, c->epoch_rng[i]);
    put_f64(&w, c->acc_loss_sum);
    put_u64(&w, c->acc_n);
    put_u64(&w, c->acc_correct);
    put_u32(&w, (uint32_t)c->acc_k);
    for (int i = 0; i < 4 * c->acc_k; i++)
        put_f64(&w, c->acc_reg[i]);

    put_section_head(&w, S_TRAI, len[S_TRAI]);
    put_u32(&w, (uint32_t)c->n_layers);
    put_f32s(&w, c->alpha, (size_t)c->n_layers);
    put_f64(&w, c->huber_delta);
    put_f64(&w, c->best_val_loss);
    put_u64(&w, (uint64_t)c->best_epoch);
    put_u64(&w, (uint64_t)c->bad_epochs);
    put_u32(&w, c->stopped ? 1 : 0);

    put_u32(&w, nn_crc32(0, w.p, w.pos));
    if (w.pos != w.cap) { /* the sizes above and the writes disagree: a bug */
        free(w.p);
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: internal error encoding checkpoint", name);
        return -1;
    }
    *out = w.p;
    *n = w.pos;
    return 0;
}

/* ---- decode -------------------------------------------------------------- */

static int malformed(nn_error *err, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int malformed(nn_error *err, const char *name, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    nn_error_set(err, NN_EXIT_RUNTIME, "%s: malformed checkpoint: %s", name, what);
    return -1;
}

/* A tag as text for messages: "ABCD", or hex when not printable ASCII. */
static void tag_text(const unsigned char *t, char out[16])
{
    int printable = 1;
    for (int i = 0; i < 4; i++)
        if (t[i] < 0x20 || t[i] > 0x7e || t[i] == '"' || t[i] == '\\')
            printable = 0;
    if (printable)
        snprintf(out, 16, "\"%c%c%c%c\"", t[0], t[1], t[2], t[3]);
    else
        snprintf(out, 16, "0x%02x%02x%02x%02x", t[0], t[1], t[2], t[3]);
}

static char *dup_text(reader *r)
{
    size_t n = r->n;
    if (memchr(r->p, '\0', n))
        return NULL;
    char *s = malloc(n + 1);
    if (s) {
        if (n)
            memcpy(s, r->p, n);
        s[n] = '\0';
        r->pos = n;
    }
    return s;
}

/* Reads a u32 that must fit an int (all the ARCH and SCAL fields do). */
static int get_int(reader *r, int *v)
{
    uint32_t u = get_u32(r);
    if (u > INT_MAX)
        return -1;
    *v = (int)u;
    return 0;
}

static int parse_arch(reader *r, nn_ckpt *c, const char *name, nn_error *err)
{
    if (r->n < 8)
        return malformed(err, name, "section \"ARCH\" is %zu bytes, too short", r->n);
    if (get_int(r, &c->n_inputs) != 0 || c->n_inputs < 1 || c->n_inputs > NN_MAX_FEATURES)
        return malformed(err, name, "n_inputs not in 1..%d", NN_MAX_FEATURES);
    uint32_t nl = get_u32(r);
    if (nl < 1 || nl > NN_MAX_LAYERS)
        return malformed(err, name, "n_layers %lu not in 1..%d", (unsigned long)nl,
                         NN_MAX_LAYERS);
    c->n_layers = (int)nl;
    if (r->n != 20 + 8 * (size_t)nl)
        return malformed(err, name, "section \"ARCH\" is %zu bytes, %zu expected for %d layers",
                         r->n, 20 + 8 * (size_t)nl, c->n_layers);
    int v;
    for (int l = 0; l < c->n_layers; l++) {
        if (get_int(r, &c->units[l]) != 0)
            c->units[l] = -1; /* reported by check_fields */
        if (get_int(r, &v) != 0)
            v = -1;
        c->act[l] = (nn_act)v;
    }
    if (get_int(r, &v) != 0)
        v = -1;
    c->loss = (nn_loss)v;
    if (get_int(r, &v) != 0)
        v = -1;
    c->optimizer = (nn_opt)v;
    if (get_int(r, &c->n_classes) != 0)
        c->n_classes = -1;
    return 0;
}

static int parse_scal(reader *r, nn_ckpt *c, const char *name, nn_error *err)
{
    if (r->n < 8)
        return malformed(err, name, "section \"SCAL\" is %zu bytes, too short", r->n);
    int v;
    if (get_int(r, &v) != 0)
        v = -1;
    c->scale = (nn_scale)v;
    uint32_t cnt = get_u32(r);
    if (cnt != 0 && cnt != (uint32_t)c->n_inputs)
        return malformed(err, name, "input scaling has %lu features but the model has %d inputs",
                         (unsigned long)cnt, c->n_inputs);
    if (r->n != 8 + 8 * (size_t)cnt)
        return malformed(err, name, "section \"SCAL\" is %zu bytes, %zu expected", r->n,
                         8 + 8 * (size_t)cnt);
    if (cnt) {
        c->shift = malloc(cnt * sizeof *c->shift);
        c->mult = malloc(cnt * sizeof *c->mult);
        if (!c->shift || !c->mult) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", name);
            return -1;
        }
        get_f32s(r, c->shift, cnt);
        get_f32s(r, c->mult, cnt);
    }
    return 0;
}

static int parse_prog(reader *r, nn_ckpt *c, const char *name, nn_error *err)
{
    if (r->n != PROG_LEN)
        return malformed(err, name, "section \"PROG\" is %zu bytes, %d expected", r->n,
                         PROG_LEN);
    uint64_t e = get_u64(r), s = get_u64(r);
    if (e > INT64_MAX || s > INT64_MAX)
        return malformed(err, name, "negative epoch or step");
    c->epoch = (int64_t)e;
    c->step = (int64_t)s;
    for (int i = 0; i < 4; i++)
        c->rng[i] = get_u64(r);
    c->seed = get_u64(r);
    c->train_loss = get_f64(r);
    c->train_accuracy = get_f64(r);
    c->val_loss = get_f64(r);
    c->val_accuracy = get_f64(r);
    return 0;
}

/* "PARM" and "OPTS": u64 count, then count floats filling exactly the rest. */
static int parse_floats(reader *r, int s, float **v, size_t *n, const char *name,
                        nn_error *err)
{
    if (r->n < 8)
        return malformed(err, name, "section \"%s\" is %zu bytes, too short", section_tags[s],
                         r->n);
    uint64_t cnt = get_u64(r);
    size_t rest = r->n - 8;
    if (rest % 4 != 0 || cnt != rest / 4)
        return malformed(err, name, "section \"%s\" claims %llu values but holds %zu bytes",
                         section_tags[s], (unsigned long long)cnt, rest);
    *n = (size_t)cnt;
    if (cnt) {
        *v = malloc((size_t)cnt * sizeof **v);
        if (!*v) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", name);
            return -1;
        }
        get_f32s(r, *v, (size_t)cnt);
    }
    return 0;
}

/* A list of strings: u32 count, then (u32 length, bytes) each.  The count
 * must be 0 or `want`; lengths are bounded by the bytes left before any
 * allocation. */
static int get_strings(reader *r, char ***out, uint64_t want, const char *what,
                       const char *name, nn_error *err)
{
    uint32_t cnt = get_u32(r);
    if (cnt == 0)
        return 0;
    if (cnt != want || (uint64_t)cnt * 4 > r->n - r->pos)
        return malformed(err, name, "%lu %s where %llu are expected", (unsigned long)cnt, what,
                         (unsigned long long)want);
    char **v = calloc(cnt, sizeof *v);
    if (!v) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", name);
        return -1;
    }
    *out = v;
    for (uint32_t i = 0; i < cnt; i++) {
        uint32_t k = get_u32(r);
        const unsigned char *q = take(r, k);
        if (!q || memchr(q, '\0', k))
            return malformed(err, name, "%s %lu is cut short or holds a NUL byte", what,
                             (unsigned long)i + 1);
        v[i] = malloc((size_t)k + 1);
        if (!v[i]) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", name);
            return -1;
        }
        memcpy(v[i], q, k);
        v[i][k] = '\0';
    }
    return 0;
}

static int parse_data(reader *r, nn_ckpt *c, const char *name, nn_error *err)
{
    nn_data_layout *l = &c->layout;
    uint32_t kind = get_u32(r), nt = get_u32(r);
    if (kind != NN_FORMAT_IDX && kind != NN_FORMAT_CSV)
        return malformed(err, name, "unknown data kind %lu", (unsigned long)kind);
    if (nt && nt != (uint32_t)c->units[c->n_layers - 1])
        return malformed(err, name, "%lu regression targets for %d output units",
                         (unsigned long)nt, c->units[c->n_layers - 1]);
    l->format = (nn_format_kind)kind;
    l->n_targets = (int)nt;
    if (get_strings(r, &c->class_names, (uint64_t)c->n_classes, "class names", name, err) != 0)
        return -1;
    l->header = get_u32(r) != 0;
    l->delimiter = (int)(int32_t)get_u32(r);
    uint64_t cols = get_u64(r);
    int64_t label = (int64_t)get_u64(r);
    if (cols > NN_LAYOUT_MAX_COLUMNS || (kind == NN_FORMAT_CSV && cols < 1))
        return malformed(err, name, "%llu data columns", (unsigned long long)cols);
    l->n_columns = (size_t)cols;
    if (label < -1 || (label >= 0 && (uint64_t)label >= cols))
        return malformed(err, name, "label column %lld of %llu", (long long)label,
                         (unsigned long long)cols);
    l->label_col = (long)label;
    if (kind == NN_FORMAT_CSV && nt) {
        if ((uint64_t)nt * 8 > r->n - r->pos)
            return malformed(err, name, "target columns cut short");
        l->target_cols = malloc(sizeof(long) * nt);
        if (!l->target_cols) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", name);
            return -1;
        }
        for (uint32_t i = 0; i < nt; i++) {
            int64_t t = (int64_t)get_u64(r);
            if (t < 0 || (uint64_t)t >= cols)
                return malformed(err, name, "target column %lld of %llu", (long long)t,
                                 (unsigned long long)cols);
            l->target_cols[i] = (long)t;
        }
    }
    if (get_strings(r, &l->names, cols, "column names", name, err) != 0)
        return -1;
    if (r->bad || r->pos != r->n)
        return malformed(err, name, "section \"DATA\" has the wrong length");
    if (kind == NN_FORMAT_CSV && (uint64_t)c->n_inputs + (label >= 0) + nt != cols)
        return malformed(err, name, "%llu data columns for %d inputs", (unsigned long long)cols,
                         c->n_inputs);
    return 0;
}

static int parse_epoc(reader *r, nn_ckpt *c, const char *name, nn_error *err)
{
    if (r->n < 68)
        return malformed(err, name, "section \"EPOC\" is %zu bytes, too short", r->n);
    uint64_t b = get_u64(r);
    if (b > INT64_MAX)
        return malformed(err, name, "negative batch in the epoch state");
    c->batch = (int64_t)b;
    for (int i = 0; i < 4; i++)
        c->epoch_rng[i] = get_u64(r);
    c->acc_loss_sum = get_f64(r);
    c->acc_n = get_u64(r);
    c->acc_correct = get_u64(r);
    uint32_t k = get_u32(r);
    if (k > (uint32_t)c->units[c->n_layers - 1] || r->n != 68 + 32 * (size_t)k)
        return malformed(err, name, "epoch state for %lu outputs in %zu bytes", (unsigned long)k,
                         r->n);
    c->acc_k = (int)k;
    if (k) {
        c->acc_reg = malloc(sizeof(double) * 4 * k);
        if (!c->acc_reg) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", name);
            return -1;
        }
        for (uint32_t i = 0; i < 4 * k; i++)
            c->acc_reg[i] = get_f64(r);
    }
    return 0;
}

static int parse_trai(reader *r, nn_ckpt *c, const char *name, nn_error *err)
{
    if (r->n != 40 + 4 * (size_t)c->n_layers || get_u32(r) != (uint32_t)c->n_layers)
        return malformed(err, name, "section \"TRAI\" does not match %d layers", c->n_layers);
    get_f32s(r, c->alpha, (size_t)c->n_layers);
    c->huber_delta = get_f64(r);
    c->best_val_loss = get_f64(r);
    uint64_t be = get_u64(r), bad = get_u64(r);
    uint32_t stopped = get_u32(r);
    if (be > INT64_MAX || bad > INT64_MAX || stopped > 1)
        return malformed(err, name, "bad early-stopping state");
    c->best_epoch = (int64_t)be;
    c->bad_epochs = (int64_t)bad;
    c->stopped = (int)stopped;
    for (int l = 0; l < c->n_layers; l++)
        if (!isfinite(c->alpha[l]) || c->alpha[l] < 0)
            return malformed(err, name, "layer %d has activation parameter %g", l + 1,
                             (double)c->alpha[l]);
    if (!(c->huber_delta >= 0) || !isfinite(c->huber_delta))
        return malformed(err, name, "huber delta %g", c->huber_delta);
    return 0;
}

static int decode(const unsigned char *p, size_t n, const char *name, nn_ckpt *c,
                  nn_error *err)
{
    /* The header, with a message the user can act on for each failure. */
    size_t m = n < MAGIC_LEN ? n : MAGIC_LEN;
    if (n == 0 || memcmp(p, MAGIC, m) != 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: not an nntrain checkpoint", name);
        return -1;
    }
    if (n >= MAGIC_LEN + 4) {
        uint32_t version = load_u32(p + MAGIC_LEN);
        if (version != NN_CKPT_VERSION) {
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "%s: checkpoint format version %lu, this nntrain reads version %d",
                         name, (unsigned long)version, NN_CKPT_VERSION);
            return -1;
        }
    }
    if (n < HEADER_LEN + TRAILER_LEN ||
        nn_crc32(0, p, n - TRAILER_LEN) != load_u32(p + n - TRAILER_LEN)) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: checksum mismatch (file is corrupt or truncated)", name);
        return -1;
    }

    /* The section table: every length checked against the bytes left. */
    uint32_t count = load_u32(p + MAGIC_LEN + 4);
    size_t end = n - TRAILER_LEN, pos = HEADER_LEN;
    size_t off[S_COUNT], len[S_COUNT];
    int seen[S_COUNT] = {0};
    char tag[16];
    for (uint32_t i = 0; i < count; i++) {
        if (end - pos < SECTION_HEAD)
            return malformed(err, name, "section %lu of %lu starts past the end of the data",
                             (unsigned long)i + 1, (unsigned long)count);
        const unsigned char *t = p + pos;
        uint64_t l = load_u64(p + pos + 4);
        pos += SECTION_HEAD;
        tag_text(t, tag);
        if (l > end - pos)
            return malformed(err, name, "section %s is %llu bytes, past the end of the file",
                             tag, (unsigned long long)l);
        int s = 0;
        while (s < S_COUNT && memcmp(t, section_tags[s], 4) != 0)
            s++;
        if (s == S_COUNT)
            return malformed(err, name, "unknown section %s", tag);
        if (seen[s])
            return malformed(err, name, "section %s appears twice", tag);
        seen[s] = 1;
        off[s] = pos;
        len[s] = (size_t)l;
        pos += (size_t)l;
    }
    if (pos != end)
        return malformed(err, name, "%zu unexpected bytes after the last section", end - pos);
    for (int s = 0; s < S_COUNT; s++)
        if (!seen[s])
            return malformed(err, name, "section \"%s\" is missing", section_tags[s]);

    /* The contents.  ARCH first: SCAL and PARM are checked against it. */
    reader r[S_COUNT];
    for (int s = 0; s < S_COUNT; s++)
        r[s] = (reader){p + off[s], len[s], 0, 0};
    if (parse_arch(&r[S_ARCH], c, name, err) != 0 ||
        parse_scal(&r[S_SCAL], c, name, err) != 0 ||
        parse_prog(&r[S_PROG], c, name, err) != 0 ||
        parse_floats(&r[S_PARM], S_PARM, &c->params, &c->n_params, name, err) != 0 ||
        parse_floats(&r[S_OPTS], S_OPTS, &c->opt_state, &c->n_opt_state, name, err) != 0 ||
        parse_data(&r[S_DATA], c, name, err) != 0 ||
        parse_epoc(&r[S_EPOC], c, name, err) != 0 ||
        parse_trai(&r[S_TRAI], c, name, err) != 0)
        return -1;
    c->version = dup_text(&r[S_VERS]);
    c->config_json = dup_text(&r[S_CONF]);
    if (!c->version || !c->config_json) {
        if (memchr(r[S_VERS].p, '\0', r[S_VERS].n) || memchr(r[S_CONF].p, '\0', r[S_CONF].n))
            return malformed(err, name, "a NUL byte inside the version or config text");
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", name);
        return -1;
    }
    for (int s = 0; s < S_COUNT; s++)
        if (r[s].bad || r[s].pos != r[s].n) /* cannot happen after the checks above */
            return malformed(err, name, "section \"%s\" has the wrong length", section_tags[s]);

    char what[256];
    if (check_fields(c, what, sizeof what) != 0)
        return malformed(err, name, "%s", what);
    return 0;
}

int nn_ckpt_decode(const void *data, size_t n, const char *name, nn_ckpt *c,
                   nn_error *err)
{
    memset(c, 0, sizeof *c);
    if (decode(data, n, name, c, err) != 0) {
        nn_ckpt_free(c);
        return -1;
    }
    return 0;
}

void nn_ckpt_free(nn_ckpt *c)
{
    if (!c)
        return;
    free(c->version);
    free(c->config_json);
    free(c->shift);
    free(c->mult);
    free(c->params);
    free(c->opt_state);
    if (c->class_names)
        for (int i = 0; i < c->n_classes; i++)
            free(c->class_names[i]);
    free(c->class_names);
    nn_data_layout_free(&c->layout);
    free(c->acc_reg);
    memset(c, 0, sizeof *c);
}

/* ---- files --------------------------------------------------------------- */

static int sys_error(nn_error *err, const char *path, int e)
{
    nn_error_set(err, NN_EXIT_RUNTIME, "%s: %s", path, strerror(e));
    return -1;
}

/* Reads all of path into *out (*n bytes), refusing more than the limit. */
static int read_whole(const char *path, unsigned char **out, size_t *n, nn_error *err)
{
    *out = NULL;
    *n = 0;
    int fd;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return sys_error(err, path, errno);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return sys_error(err, path, e);
    }
    const uint64_t max = NN_CKPT_MAX_BYTES;
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
        close(fd);
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %llu bytes, larger than a checkpoint can be "
                     "(4 GiB)", path, (unsigned long long)st.st_size);
        return -1;
    }
    /* The size from fstat is a hint (pipes report 0, files may grow). */
    size_t cap = 65536, len = 0;
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < SIZE_MAX)
        cap = (size_t)st.st_size + 1;
    unsigned char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", path);
        return -1;
    }
    for (;;) {
        if (len == cap) {
            if ((uint64_t)len > max) {
                free(buf);
                close(fd);
                nn_error_set(err, NN_EXIT_RUNTIME, "%s: larger than a checkpoint can be "
                             "(4 GiB)", path);
                return -1;
            }
            size_t ncap = cap < SIZE_MAX / 2 ? cap * 2 : SIZE_MAX;
            unsigned char *nb = ncap > cap ? realloc(buf, ncap) : NULL;
            if (!nb) {
                free(buf);
                close(fd);
                nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", path);
                return -1;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t got = read(fd, buf + len, cap - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return sys_error(err, path, e);
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    close(fd);
    if ((uint64_t)len > max) {
        free(buf);
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: larger than a checkpoint can be (4 GiB)", path);
        return -1;
    }
    *out = buf;
    *n = len;
    return 0;
}

int nn_ckpt_load(const char *path, nn_ckpt *c, nn_error *err)
{
    memset(c, 0, sizeof *c);
    unsigned char *buf;
    size_t n;
    if (read_whole(path, &buf, &n, err) != 0)
        return -1;
    int rc = nn_ckpt_decode(buf, n, path, c, err);
    free(buf);
    return rc;
}

/* Creates dir and its missing ancestors (mkdir -p); errno on failure. */
static int make_dirs(char *dir)
{
    size_t n = strlen(dir);
    for (size_t i = 1; i <= n; i++) {
        if (dir[i] != '/' && dir[i] != '\0')
            continue;
        if (dir[i - 1] == '/')
            continue;
        char keep = dir[i];
        dir[i] = '\0';
        int rc = mkdir(dir, 0777);
        int e = errno;
        dir[i] = keep;
        if (rc != 0 && e != EEXIST) {
            errno = e;
            return -1;
        }
    }
    return 0;
}

/* The folder that holds path: "." when it has no slash. */
static char *parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = !slash ? 0 : slash == path ? 1 : (size_t)(slash - path);
    char *dir = malloc(n ? n + 1 : 2);
    if (!dir)
        return NULL;
    if (n) {
        memcpy(dir, path, n);
        dir[n] = '\0';
    } else {
        strcpy(dir, ".");
    }
    return dir;
}

/* Creates a new "<path>.tmp.<pid>.<k>"; returns its fd and name, or -1 with
 * errno set. */
static int open_temp(const char *path, char *tmp, size_t cap)
{
    for (unsigned k = 0; k < 1000; k++) {
        snprintf(tmp, cap, "%s.tmp.%ld.%u", path, (long)getpid(), k);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0 || (errno != EEXIST && errno != EINTR))
            return fd;
    }
    errno = EEXIST;
    return -1;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t put = write(fd, p, n);
        if (put < 0 && errno == EINTR)
            continue;
        if (put < 0)
            return -1;
        if (put == 0) { /* no progress and no reason given */
            errno = EIO;
            return -1;
        }
        p += put;
        n -= (size_t)put;
    }
    return 0;
}

static int fsync_retry(int fd)
{
    int rc;
    do
        rc = fsync(fd);
    while (rc != 0 && errno == EINTR);
    return rc;
}

/* Syncs the folder so the rename itself is on disk.  File systems that
 * cannot sync a folder (EINVAL) are accepted. */
static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync_retry(fd);
    int e = errno;
    close(fd);
    if (rc != 0 && e != EINVAL) {
        errno = e;
        return -1;
    }
    return 0;
}

int nn_ckpt_save(const char *path, const nn_ckpt *c, nn_error *err)
{
    unsigned char *buf;
    size_t n;
    if (nn_ckpt_encode(c, &buf, &n, path, err) != 0)
        return -1;
    size_t cap = strlen(path) + 64;
    char *tmp = malloc(cap);
    char *dir = parent_dir(path);
    if (!tmp || !dir) {
        free(buf);
        free(tmp);
        free(dir);
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", path);
        return -1;
    }

    int rc = -1;
    int fd = open_temp(path, tmp, cap);
    if (fd < 0 && errno == ENOENT) {
        if (make_dirs(dir) != 0) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: cannot create folder %s: %s", path, dir,
                         strerror(errno));
            goto out;
        }
        fd = open_temp(path, tmp, cap);
    }
    if (fd < 0) {
        sys_error(err, path, errno);
        goto out;
    }
    if (write_all(fd, buf, n) != 0 || fsync_retry(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        sys_error(err, path, e);
        goto out;
    }
    if (close(fd) != 0) { /* NFS and some others report a full disk here */
        int e = errno;
        unlink(tmp);
        sys_error(err, path, e);
        goto out;
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        sys_error(err, path, e);
        goto out;
    }
    /* The new file is in place; a failure here means it may not survive a
     * crash, which is still worth reporting. */
    if (sync_dir(dir) != 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: cannot sync folder %s: %s", path, dir,
                     strerror(errno));
        goto out;
    }
    rc = 0;
out:
    free(buf);
    free(tmp);
    free(dir);
    return rc;
}
