/* csvcache.c - a CSV file parsed once into NPY arrays (see csvcache.h).
 *
 * Building: data/csv.c's loader reads the head of the file (header, layout,
 * the rows "auto" looks at); the main thread then reads the rest in parts of
 * about chunk_bytes, each cut after the last record end in it
 * (nn_csv_parts_split) with its first line counted, and puts them in a ring
 * of slots; worker threads parse the slots in order of their filling; the
 * main thread takes the parsed slots in file order, maps their label ids to
 * the file's (first appearances in file order), and appends their rows to
 * the arrays' temporary files.  Nothing is summed, so nothing depends on the
 * thread count.  At the end the labels' classes are known: a second pass
 * over the labels file turns label ids into class indices, the NPY headers
 * (a fixed 128 bytes each, left free at the start) get the row count, and
 * the files are synced and renamed, the key last.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include "data/csvcache.h"

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h> /* kill */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "data/npy.h"
#include "data/reader.h"

#define NPY_HEADER_BYTES 128            /* room left for each array's header */
#define KEY_MAX_BYTES ((size_t)64 << 20) /* a key file larger than this is not read */
#define MAX_NA 65536                    /* missing-value strings a key may list */

/* --- hashing --------------------------------------------------------------- */

static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* A 64-bit hash of p[0..n) continuing from h: eight bytes at a time
 * (little-endian, so the same on every host), each word mixed in. */
static uint64_t hash_more(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    h ^= mix64(n + 0x9e3779b97f4a7c15ULL);
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t w = 0;
        for (int b = 7; b >= 0; b--)
            w = w << 8 | p[b];
        h = (h ^ mix64(w)) * 0x9e3779b97f4a7c15ULL;
        h = h << 31 | h >> 33;
    }
    uint64_t w = 0;
    for (size_t b = n; b > 0; b--)
        w = w << 8 | p[b - 1];
    h = (h ^ mix64(w ^ n)) * 0x9e3779b97f4a7c15ULL;
    return mix64(h);
}

static uint64_t hash_str(uint64_t h, const char *s)
{
    return s ? hash_more(h ^ 1, s, strlen(s)) : hash_more(h, "", 0);
}

static uint64_t hash_int(uint64_t h, long long v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((unsigned long long)v >> (8 * i));
    return hash_more(h, b, 8);
}

static uint64_t hash_column(uint64_t h, const nn_column *c)
{
    return hash_int(hash_str(h, c->name), c->name ? 0 : c->index);
}

/* Every option that changes what the file gives, and the cache version. */
static uint64_t options_hash(const nn_csv_spec *sp, const nn_csv_opts *o)
{
    uint64_t h = hash_int(0, NN_CSV_CACHE_VERSION);
    h = hash_int(h, sp->header);
    h = hash_int(h, sp->delimiter ? sp->delimiter : ',');
    h = hash_int(h, sp->has_label);
    if (sp->has_label)
        h = hash_column(h, &sp->label);
    h = hash_int(h, sp->n_targets);
    for (int i = 0; i < sp->n_targets; i++)
        h = hash_column(h, &sp->targets[i]);
    h = hash_int(h, sp->skip_lines);
    h = hash_int(h, sp->comment);
    h = hash_int(h, sp->has_na);
    h = hash_int(h, sp->has_na ? sp->n_na : 0);
    for (int i = 0; sp->has_na && i < sp->n_na; i++)
        h = hash_str(h, sp->na_values[i]);
    h = hash_int(h, sp->missing);
    h = hash_int(h, sp->n_class_list);
    for (int i = 0; i < sp->n_class_list; i++)
        h = hash_str(h, sp->class_list[i]);
    h = hash_int(h, o->classes ? o->n_classes : -1);
    for (int i = 0; o->classes && i < o->n_classes; i++)
        h = hash_str(h, o->classes[i]);
    h = hash_int(h, o->units);
    h = hash_int(h, o->integer_classes);
    return h;
}

/* --- the stamp: what identifies the CSV ------------------------------------ */

static int read_at(int fd, void *buf, size_t n, off_t off)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t k = pread(fd, p, n, off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
        off += k;
    }
    return 0;
}

static int write_at(int fd, const void *buf, size_t n, off_t off)
{
    const unsigned char *p = buf;
    while (n > 0) {
        ssize_t k = pwrite(fd, p, n, off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (k == 0)
                errno = EIO;
            return -1;
        }
        p += k;
        n -= (size_t)k;
        off += k;
    }
    return 0;
}

/* The stamp of path (size, mtime, a hash of each end) into *st, and the
 * file's size and mtime for the check after parsing.  The name hash (the
 * files' names) covers the path and the options only. */
static int make_stamp(const char *path, uint64_t opts, nn_csv_cache_stamp *st,
                      uint64_t *name_hash, struct stat *sb, nn_error *err)
{
    memset(st, 0, sizeof *st);
    if (strcmp(path, "-") == 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "stdin: a CSV read from stdin cannot be cached");
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, sb) < 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (!S_ISREG(sb->st_mode)) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: not a regular file (a CSV to cache must be one)",
                     path);
        close(fd);
        return -1;
    }
    char *real = realpath(path, NULL);
    snprintf(st->csv, sizeof st->csv, "%s", real ? real : path);
    free(real);
    uint64_t size = (uint64_t)sb->st_size;
    snprintf(st->size, sizeof st->size, "%llu", (unsigned long long)size);
    snprintf(st->mtime_ns, sizeof st->mtime_ns, "%lld",
             (long long)sb->st_mtim.tv_sec * 1000000000LL + (long long)sb->st_mtim.tv_nsec);
    size_t edge = size < NN_CSV_CACHE_EDGE ? (size_t)size : NN_CSV_CACHE_EDGE;
    unsigned char *buf = malloc(edge ? edge : 1);
    if (!buf) {
        close(fd);
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        return -1;
    }
    uint64_t h[2];
    for (int end = 0; end < 2; end++) {
        if (read_at(fd, buf, edge, end ? (off_t)(size - edge) : 0) < 0) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: read error: %s", path,
                         errno ? strerror(errno) : "file shrank");
            free(buf);
            close(fd);
            return -1;
        }
        h[end] = hash_more((uint64_t)end, buf, edge);
    }
    free(buf);
    close(fd);
    snprintf(st->head, sizeof st->head, "%016llx", (unsigned long long)h[0]);
    snprintf(st->tail, sizeof st->tail, "%016llx", (unsigned long long)h[1]);
    snprintf(st->options, sizeof st->options, "%016llx", (unsigned long long)opts);
    *name_hash = hash_int(hash_str(0x6e6e7472, st->csv), (long long)opts);
    return 0;
}

static bool stamps_equal(const nn_csv_cache_stamp *a, const nn_csv_cache_stamp *b)
{
    return strcmp(a->csv, b->csv) == 0 && strcmp(a->size, b->size) == 0 &&
           strcmp(a->mtime_ns, b->mtime_ns) == 0 && strcmp(a->head, b->head) == 0 &&
           strcmp(a->tail, b->tail) == 0 && strcmp(a->options, b->options) == 0;
}

/* --- the key file ------------------------------------------------------------ */

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void nn_csv_cache_free(nn_csv_cache *c)
{
    if (!c)
        return;
    free(c->key_path);
    free(c->x_path);
    free(c->y_path);
    free(c->classes_path);
    free_names(c->class_names, c->class_names ? (size_t)c->n_classes : 0);
    nn_data_layout_free(&c->layout);
    memset(c, 0, sizeof *c);
}

/* Strings v[0..n) as a JSON array added to o under `key`; false when out of
 * memory. */
static bool add_strings(cJSON *o, const char *key, char *const *v, size_t n)
{
    cJSON *a = cJSON_AddArrayToObject(o, key);
    for (size_t i = 0; a && i < n; i++) {
        cJSON *e = cJSON_CreateString(v[i]);
        if (!e || !cJSON_AddItemToArray(a, e)) {
            cJSON_Delete(e);
            return false;
        }
    }
    return a != NULL;
}

char *nn_csv_cache_format_key(const nn_csv_cache_stamp *st, const nn_csv_cache *c)
{
    const nn_data_layout *l = &c->layout;
    const nn_csv_info *in = &c->info;
    cJSON *root = cJSON_CreateObject();
    bool ok = root && cJSON_AddNumberToObject(root, "nntrain_csv_cache", NN_CSV_CACHE_VERSION) &&
              cJSON_AddStringToObject(root, "csv", st->csv) &&
              cJSON_AddStringToObject(root, "size", st->size) &&
              cJSON_AddStringToObject(root, "mtime_ns", st->mtime_ns) &&
              cJSON_AddStringToObject(root, "head", st->head) &&
              cJSON_AddStringToObject(root, "tail", st->tail) &&
              cJSON_AddStringToObject(root, "options", st->options) &&
              cJSON_AddNumberToObject(root, "rows", (double)c->rows) &&
              cJSON_AddNumberToObject(root, "features", (double)c->features) &&
              cJSON_AddNumberToObject(root, "targets", c->n_targets) &&
              cJSON_AddNumberToObject(root, "classes", c->n_classes);
    ok = ok && (c->class_names
                    ? add_strings(root, "class_names", c->class_names, (size_t)c->n_classes)
                    : cJSON_AddNullToObject(root, "class_names") != NULL);
    cJSON *lay = ok ? cJSON_AddObjectToObject(root, "layout") : NULL;
    ok = lay && cJSON_AddBoolToObject(lay, "header", l->header) &&
         cJSON_AddNumberToObject(lay, "delimiter", l->delimiter) &&
         cJSON_AddNumberToObject(lay, "columns", (double)l->n_columns) &&
         (l->names ? add_strings(lay, "names", l->names, l->n_columns)
                   : cJSON_AddNullToObject(lay, "names") != NULL) &&
         cJSON_AddNumberToObject(lay, "label_col", (double)l->label_col) &&
         cJSON_AddNumberToObject(lay, "missing", l->missing) &&
         add_strings(lay, "na", l->na_values, l->na_values ? (size_t)l->n_na : 0);
    cJSON *tc = ok ? cJSON_AddArrayToObject(lay, "target_cols") : NULL;
    ok = tc != NULL;
    for (int i = 0; ok && i < l->n_targets; i++) {
        cJSON *e = cJSON_CreateNumber((double)l->target_cols[i]);
        ok = e && cJSON_AddItemToArray(tc, e);
        if (!ok)
            cJSON_Delete(e);
    }
    cJSON *inf = ok ? cJSON_AddObjectToObject(root, "info") : NULL;
    ok = inf && cJSON_AddBoolToObject(inf, "header_auto", in->header_auto) &&
         cJSON_AddBoolToObject(inf, "header", in->header) &&
         cJSON_AddStringToObject(inf, "header_why", in->header_why) &&
         cJSON_AddNumberToObject(inf, "header_line", (double)in->header_line) &&
         cJSON_AddBoolToObject(inf, "count_line", in->count_line) &&
         cJSON_AddStringToObject(inf, "count_why", in->count_why) &&
         cJSON_AddNumberToObject(inf, "dropped", (double)in->dropped) &&
         cJSON_AddNumberToObject(inf, "missing_fields", (double)in->missing_fields);
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return text;
}

/* The strict reader's state: the object being read and the file's name. */
typedef struct {
    const char *name;
    nn_error *err;
} keyctx;

static int key_bad(keyctx *k, const char *what)
{
    nn_error_set(k->err, NN_EXIT_RUNTIME, "%s: not a valid CSV cache key file (%s)", k->name,
                 what);
    return -1;
}

/* Object o has exactly the keys keys[0..n), each once. */
static int only_keys(keyctx *k, const cJSON *o, const char *const *keys, int n)
{
    if (!cJSON_IsObject(o))
        return key_bad(k, "an object expected");
    unsigned long long seen = 0;
    for (const cJSON *e = o->child; e; e = e->next) {
        int i = 0;
        while (i < n && (!e->string || strcmp(e->string, keys[i]) != 0))
            i++;
        if (i == n || (seen >> i & 1))
            return key_bad(k, i == n ? "an unknown key" : "a key given twice");
        seen |= 1ULL << i;
    }
    if (seen != (n == 64 ? ~0ULL : (1ULL << n) - 1))
        return key_bad(k, "a key missing");
    return 0;
}

static int key_int(keyctx *k, const cJSON *o, const char *key, double lo, double hi,
                   long long *out)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(e) || !(e->valuedouble >= lo && e->valuedouble <= hi) ||
        e->valuedouble != floor(e->valuedouble))
        return key_bad(k, key);
    *out = (long long)e->valuedouble;
    return 0;
}

static int key_bool(keyctx *k, const cJSON *o, const char *key, bool *out)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsBool(e))
        return key_bad(k, key);
    *out = cJSON_IsTrue(e);
    return 0;
}

/* A string of at most cap - 1 bytes, copied into out[cap]; `hex` 16 lowercase
 * hex digits, `digits` decimal digits only. */
static int key_text(keyctx *k, const cJSON *o, const char *key, char *out, size_t cap,
                    int kind)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(e) || strlen(e->valuestring) >= cap)
        return key_bad(k, key);
    const char *s = e->valuestring;
    size_t n = strlen(s);
    if (kind == 1 && n != 16)
        return key_bad(k, key);
    if (kind == 2 && (n == 0 || n > 20))
        return key_bad(k, key);
    for (size_t i = 0; kind && i < n; i++) {
        bool ok = (s[i] >= '0' && s[i] <= '9') || (kind == 1 && s[i] >= 'a' && s[i] <= 'f');
        if (!ok)
            return key_bad(k, key);
    }
    memcpy(out, s, n + 1);
    return 0;
}

/* An array of exactly n strings (n < 0: any count up to MAX_NA), copied. */
static int key_strings(keyctx *k, const cJSON *a, const char *key, long long n, char ***out,
                       int *count)
{
    *out = NULL;
    if (!cJSON_IsArray(a))
        return key_bad(k, key);
    long long len = 0;
    for (const cJSON *e = a->child; e; e = e->next)
        if (!cJSON_IsString(e) || ++len > (n < 0 ? MAX_NA : n))
            return key_bad(k, key);
    if (n >= 0 && len != n)
        return key_bad(k, key);
    char **v = calloc((size_t)len + 1, sizeof *v);
    if (!v) {
        nn_error_set(k->err, NN_EXIT_RUNTIME, "out of memory");
        return -1;
    }
    long long i = 0;
    for (const cJSON *e = a->child; e; e = e->next, i++)
        if (!(v[i] = strdup(e->valuestring))) {
            free_names(v, (size_t)i);
            nn_error_set(k->err, NN_EXIT_RUNTIME, "out of memory");
            return -1;
        }
    *out = v;
    if (count)
        *count = (int)len;
    return 0;
}

static bool good_delimiter(long long d)
{
    return d == NN_CSV_WHITESPACE || (d > 0 && d < 256 && d != '"' && d != '\r' && d != '\n');
}

static int parse_layout(keyctx *k, const cJSON *o, nn_csv_cache *c)
{
    static const char *const keys[] = {"names", "na", "target_cols", "header", "delimiter",
                                       "columns", "label_col", "missing"};
    nn_data_layout *l = &c->layout;
    long long v, cols, label;
    bool header;
    if (only_keys(k, o, keys, 8) < 0 || key_bool(k, o, "header", &header) < 0 ||
        key_int(k, o, "delimiter", -1, 255, &v) < 0)
        return -1;
    if (!good_delimiter(v))
        return key_bad(k, "delimiter");
    l->format = NN_FORMAT_CSV;
    l->header = header;
    l->delimiter = (int)v;
    if (key_int(k, o, "columns", 1, NN_LAYOUT_MAX_COLUMNS, &cols) < 0 ||
        key_int(k, o, "label_col", -1, (double)cols - 1, &label) < 0 ||
        key_int(k, o, "missing", 0, 2, &v) < 0)
        return -1;
    l->n_columns = (size_t)cols;
    l->label_col = (long)label;
    l->missing = (int)v;
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(o, "names");
    if (header != !cJSON_IsNull(names))
        return key_bad(k, "names");
    if (header && key_strings(k, names, "names", cols, &l->names, NULL) < 0)
        return -1;
    if (key_strings(k, cJSON_GetObjectItemCaseSensitive(o, "na"), "na", -1, &l->na_values,
                    &l->n_na) < 0)
        return -1;
    const cJSON *tc = cJSON_GetObjectItemCaseSensitive(o, "target_cols");
    if (!cJSON_IsArray(tc))
        return key_bad(k, "target_cols");
    int nt = cJSON_GetArraySize(tc);
    if (nt < 0 || nt > cols)
        return key_bad(k, "target_cols");
    unsigned char *used = calloc((size_t)cols, 1);
    l->target_cols = calloc((size_t)nt + 1, sizeof *l->target_cols);
    if (!used || !l->target_cols) {
        free(used);
        nn_error_set(k->err, NN_EXIT_RUNTIME, "out of memory");
        return -1;
    }
    if (label >= 0)
        used[label] = 1;
    int i = 0;
    for (const cJSON *e = tc->child; e; e = e->next, i++) {
        double d = cJSON_IsNumber(e) ? e->valuedouble : -1;
        if (!(d >= 0 && d < (double)cols) || d != floor(d) || used[(size_t)d]) {
            free(used);
            return key_bad(k, "target_cols");
        }
        used[(size_t)d] = 1;
        l->target_cols[i] = (long)d;
    }
    free(used);
    l->n_targets = nt;
    if ((label >= 0) == (nt > 0))
        return key_bad(k, "a label or targets expected");
    return 0;
}

static int parse_info(keyctx *k, const cJSON *o, nn_csv_info *in)
{
    static const char *const keys[] = {"header_auto", "header",  "header_why", "header_line",
                                       "count_line",  "count_why", "dropped",  "missing_fields"};
    long long v;
    if (only_keys(k, o, keys, 8) < 0 || key_bool(k, o, "header_auto", &in->header_auto) < 0 ||
        key_bool(k, o, "header", &in->header) < 0 ||
        key_text(k, o, "header_why", in->header_why, sizeof in->header_why, 0) < 0 ||
        key_int(k, o, "header_line", 0, 9007199254740992.0, &v) < 0)
        return -1;
    in->header_line = (uint64_t)v;
    if (key_bool(k, o, "count_line", &in->count_line) < 0 ||
        key_text(k, o, "count_why", in->count_why, sizeof in->count_why, 0) < 0 ||
        key_int(k, o, "dropped", 0, 9007199254740992.0, &v) < 0)
        return -1;
    in->dropped = (size_t)v;
    if (key_int(k, o, "missing_fields", 0, 9007199254740992.0, &v) < 0)
        return -1;
    in->missing_fields = (size_t)v;
    return 0;
}

int nn_csv_cache_parse_key(const char *text, size_t n, const char *name,
                           nn_csv_cache_stamp *st, nn_csv_cache *c, nn_error *err)
{
    static const char *const keys[] = {"nntrain_csv_cache", "csv",      "size",  "mtime_ns",
                                       "head",              "tail",     "options", "rows",
                                       "features",          "targets",  "classes", "class_names",
                                       "layout",            "info"};
    keyctx k = {name, err};
    memset(st, 0, sizeof *st);
    memset(c, 0, sizeof *c);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, n, &end, 0);
    if (!root)
        return key_bad(&k, "not JSON");
    for (; end && end < text + n; end++)
        if (*end != ' ' && *end != '\n' && *end != '\t' && *end != '\r') {
            cJSON_Delete(root);
            return key_bad(&k, "text after the JSON");
        }
    long long v, rows, feats, targets, classes;
    int rc = -1;
    if (only_keys(&k, root, keys, 14) < 0 ||
        key_int(&k, root, "nntrain_csv_cache", 0, 1e9, &v) < 0)
        goto out;
    if (v != NN_CSV_CACHE_VERSION) {
        key_bad(&k, "another version");
        goto out;
    }
    if (key_text(&k, root, "csv", st->csv, sizeof st->csv, 0) < 0 ||
        key_text(&k, root, "size", st->size, sizeof st->size, 2) < 0 ||
        key_text(&k, root, "mtime_ns", st->mtime_ns, sizeof st->mtime_ns, 2) < 0 ||
        key_text(&k, root, "head", st->head, sizeof st->head, 1) < 0 ||
        key_text(&k, root, "tail", st->tail, sizeof st->tail, 1) < 0 ||
        key_text(&k, root, "options", st->options, sizeof st->options, 1) < 0 ||
        key_int(&k, root, "rows", 1, UINT32_MAX, &rows) < 0 ||
        key_int(&k, root, "features", 1, NN_LAYOUT_MAX_COLUMNS, &feats) < 0 ||
        key_int(&k, root, "targets", 0, NN_LAYOUT_MAX_COLUMNS, &targets) < 0 ||
        key_int(&k, root, "classes", 0, 65536, &classes) < 0)
        goto out;
    c->rows = (size_t)rows;
    c->features = (size_t)feats;
    c->n_targets = (int)targets;
    if (parse_layout(&k, cJSON_GetObjectItemCaseSensitive(root, "layout"), c) < 0 ||
        parse_info(&k, cJSON_GetObjectItemCaseSensitive(root, "info"), &c->info) < 0)
        goto out;
    const nn_data_layout *l = &c->layout;
    if (l->n_targets != targets ||
        (size_t)feats + (size_t)targets + (l->label_col >= 0) != l->n_columns) {
        key_bad(&k, "features, targets and columns disagree");
        goto out;
    }
    if (targets > 0 && classes != 0) {
        key_bad(&k, "classes");
        goto out;
    }
    const cJSON *cn = cJSON_GetObjectItemCaseSensitive(root, "class_names");
    if (!cJSON_IsNull(cn)) {
        if (targets > 0 || classes == 0) {
            key_bad(&k, "class_names");
            goto out;
        }
        if (key_strings(&k, cn, "class_names", classes, &c->class_names, NULL) < 0)
            goto out;
    }
    c->n_classes = (int32_t)classes;
    rc = 0;
out:
    cJSON_Delete(root);
    if (rc < 0)
        nn_csv_cache_free(c);
    return rc;
}

/* --- files ------------------------------------------------------------------ */

enum { F_X, F_Y, F_CLASSES, F_KEY, N_FILES };
static const char *const file_suffix[N_FILES] = {"-x.npy", "-y.npy", "-classes.json", ".key"};

typedef struct {
    char *path[N_FILES];
    char *tmp[N_FILES];
    int fd[N_FILES];
} cache_files;

static char *path_join(const char *dir, const char *base, uint64_t h, const char *suffix)
{
    size_t n = strlen(dir) + strlen(base) + strlen(suffix) + 24;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s-%016llx%s", dir, base, (unsigned long long)h, suffix);
    return p;
}

static int make_paths(cache_files *f, const char *dir, const char *csv_path, uint64_t h,
                      nn_error *err)
{
    const char *base = strrchr(csv_path, '/');
    base = base ? base + 1 : csv_path;
    for (int i = 0; i < N_FILES; i++) {
        f->fd[i] = -1;
        f->tmp[i] = NULL;
        if (!(f->path[i] = path_join(dir, base, h, file_suffix[i]))) {
            nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
            return -1;
        }
    }
    return 0;
}

static void files_clear(cache_files *f)
{
    for (int i = 0; i < N_FILES; i++) {
        if (f->fd[i] >= 0)
            close(f->fd[i]);
        if (f->tmp[i])
            unlink(f->tmp[i]);
        free(f->tmp[i]);
        free(f->path[i]);
        f->fd[i] = -1;
        f->tmp[i] = f->path[i] = NULL;
    }
}

/* A new temporary file beside f->path[i], open for reading and writing. */
static int open_temp(cache_files *f, int i, const char *dir, nn_error *err)
{
    size_t len = strlen(f->path[i]) + 48;
    if (!(f->tmp[i] = malloc(len))) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        return -1;
    }
    int fd = -1;
    for (int k = 0; k < 100 && fd < 0; k++) {
        snprintf(f->tmp[i], len, "%s.tmp.%ld.%d", f->path[i], (long)getpid(), k);
        fd = open(f->tmp[i], O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: cannot write the CSV cache: %s", dir,
                     strerror(errno));
        free(f->tmp[i]);
        f->tmp[i] = NULL;
        return -1;
    }
    f->fd[i] = fd;
    return 0;
}

static int write_error(const cache_files *f, int i, nn_error *err)
{
    nn_error_set(err, NN_EXIT_RUNTIME, "%s: write failed: %s", f->path[i],
                 strerror(errno ? errno : EIO));
    return -1;
}

static bool host_little(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

/* n 4-byte values to little-endian, in place. */
static void to_little4(void *p, size_t n)
{
    if (host_little())
        return;
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++, b += 4) {
        unsigned char t0 = b[0], t1 = b[1];
        b[0] = b[3];
        b[1] = b[2];
        b[2] = t1;
        b[3] = t0;
    }
}

/* The NPY header of an array (descr, shape), exactly NPY_HEADER_BYTES long. */
static int npy_header(int fd, const char *descr, int ndim, const uint64_t *shape)
{
    char h[NPY_HEADER_BYTES];
    memset(h, ' ', sizeof h);
    memcpy(h, "\x93NUMPY\x01\x00", 8);
    h[8] = (char)(NPY_HEADER_BYTES - 10);
    h[9] = 0;
    char dict[NPY_HEADER_BYTES];
    int n = ndim == 1 ? snprintf(dict, sizeof dict,
                                 "{'descr': '%s', 'fortran_order': False, 'shape': (%llu,), }",
                                 descr, (unsigned long long)shape[0])
                      : snprintf(dict, sizeof dict,
                                 "{'descr': '%s', 'fortran_order': False, 'shape': (%llu, %llu), }",
                                 descr, (unsigned long long)shape[0],
                                 (unsigned long long)shape[1]);
    if (n < 0 || n >= NPY_HEADER_BYTES - 11) {
        errno = EOVERFLOW;
        return -1;
    }
    memcpy(h + 10, dict, (size_t)n);
    h[NPY_HEADER_BYTES - 1] = '\n';
    return write_at(fd, h, sizeof h, 0);
}

/* --- building ---------------------------------------------------------------- */

enum { SLOT_FREE, SLOT_READY, SLOT_BUSY, SLOT_DONE };

/* One part on its way: read, parsed, written. */
typedef struct {
    char *text;       /* (cap) the part is text[0, len); text[len, fill) goes on to the next */
    size_t cap, len, fill;
    uint64_t line;    /* the line of text[0] */
    bool whole;       /* text[0, len) ends with a record */
    int state;
    nn_csv_part part;
} slot;

typedef struct {
    nn_csv_parts *P;
    const char *csv_name;
    cache_files *files;
    size_t features;
    int n_targets;
    bool has_label;
    uint64_t off_x, off_y; /* bytes written to each array file */
    size_t rows;

    /* reading */
    nn_reader *r;        /* NULL once the input has ended */
    const char *carry;   /* bytes read but in no part yet */
    size_t carry_n;
    uint64_t line;       /* the line of carry[0] */
    size_t chunk;
    bool at_end;         /* every byte is in a part */

    /* progress */
    FILE *progress;
    long long total;     /* the file's size; -1 for gzip */
    double last_shown;
    uint64_t read_bytes; /* bytes of CSV (after gzip) read so far */

    /* the slots and the workers */
    slot *slots;
    int nslots;
    long filled, parsed;
    bool stop;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
} builder;

static uint64_t count_lines(const char *p, size_t n)
{
    uint64_t k = 0;
    for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
        k++;
    return k;
}

static int slot_reserve(slot *s, size_t n, nn_error *err)
{
    if (s->cap >= n)
        return 0;
    char *p = realloc(s->text, n);
    if (!p) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory for the CSV parser's buffers");
        return -1;
    }
    s->text = p;
    s->cap = n;
    return 0;
}

/* Fills s with the next part: 1, 0 when there is none left, -1 with *err. */
static int fill_slot(builder *b, slot *s, nn_error *err)
{
    if (b->at_end)
        return 0;
    size_t limit = b->chunk + NN_CSV_MAX_LINE + 64; /* a record must end within this */
    size_t want = b->chunk;
    if (slot_reserve(s, (want > b->carry_n ? want : b->carry_n) + 1, err) < 0)
        return -1;
    if (b->carry_n)
        memcpy(s->text, b->carry, b->carry_n); /* from another slot, or the head's buffer */
    s->fill = b->carry_n;
    for (;;) {
        if (b->r && s->fill < want) {
            if (slot_reserve(s, want, err) < 0)
                return -1;
            size_t ask = want - s->fill;
            long long got = nn_reader_read(b->r, s->text + s->fill, ask, err);
            if (got < 0)
                return -1;
            s->fill += (size_t)got;
            b->read_bytes += (uint64_t)got;
            if ((size_t)got < ask)
                b->r = NULL;
        }
        if (!b->r) {
            s->len = s->fill;
            s->whole = true;
            b->at_end = true;
            break;
        }
        size_t cut = nn_csv_parts_split(b->P, s->text, s->fill);
        if (cut > 0) {
            s->len = cut;
            s->whole = true;
            break;
        }
        if (s->fill >= limit) { /* the parser finds the record too long */
            s->len = s->fill;
            s->whole = false;
            break;
        }
        want = s->fill + (s->fill > 4096 ? s->fill : 4096);
        if (want > limit)
            want = limit;
    }
    s->line = b->line;
    b->carry = s->text + s->len;
    b->carry_n = s->fill - s->len;
    b->line += count_lines(s->text, s->len);
    return s->len > 0 || !b->at_end ? 1 : 0;
}

static void *worker_main(void *arg)
{
    builder *b = arg;
    pthread_mutex_lock(&b->mu);
    while (!b->stop) {
        slot *s = &b->slots[b->parsed % b->nslots];
        if (b->parsed < b->filled && s->state == SLOT_READY) {
            s->state = SLOT_BUSY;
            b->parsed++;
            pthread_mutex_unlock(&b->mu);
            nn_csv_parts_parse(b->P, s->text, s->len, s->line, s->whole, &s->part);
            pthread_mutex_lock(&b->mu);
            s->state = SLOT_DONE;
            pthread_cond_broadcast(&b->done);
            continue;
        }
        pthread_cond_wait(&b->work, &b->mu);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void show_progress(builder *b, bool final)
{
    if (!b->progress)
        return;
    if (final) {
        fprintf(b->progress, "\r\033[K");
        fflush(b->progress);
        return;
    }
    double t = now_seconds();
    if (t - b->last_shown < 0.2)
        return;
    b->last_shown = t;
    double done = (double)b->read_bytes;
    if (b->total > 0)
        fprintf(b->progress, "\rcaching %s: %3.0f%% (%.0f of %.0f MB)", b->csv_name,
                100.0 * done / (double)b->total, done / 1e6, (double)b->total / 1e6);
    else
        fprintf(b->progress, "\rcaching %s: %.0f MB", b->csv_name, done / 1e6);
    fflush(b->progress);
}

/* Appends a part's rows to the arrays. */
static int write_part(builder *b, nn_csv_part *part, nn_error *err)
{
    if (nn_csv_parts_take(b->P, part, err) < 0)
        return -1;
    errno = 0;
    size_t nx = part->n * b->features;
    if (nx) {
        to_little4(part->x, nx);
        if (write_at(b->files->fd[F_X], part->x, nx * 4, (off_t)b->off_x) < 0)
            return write_error(b->files, F_X, err);
        b->off_x += nx * 4;
    }
    size_t ny = b->has_label ? part->n : part->n * (size_t)b->n_targets;
    void *y = b->has_label ? (void *)part->lab : (void *)part->t;
    if (ny) {
        to_little4(y, ny);
        if (write_at(b->files->fd[F_Y], y, ny * 4, (off_t)b->off_y) < 0)
            return write_error(b->files, F_Y, err);
        b->off_y += ny * 4;
    }
    b->rows += part->n;
    show_progress(b, false);
    return 0;
}

/* Reads, parses and writes every part after the head, with `threads`
 * parsers (on the calling thread alone when 1). */
static int run_parts(builder *b, int threads, nn_error *err)
{
    b->nslots = 2 * threads + 2;
    b->slots = calloc((size_t)b->nslots, sizeof *b->slots);
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    int started = 0, rc = -1;
    if (!b->slots || !tid) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        goto out;
    }
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->work, NULL);
    pthread_cond_init(&b->done, NULL);
    if (threads > 1)
        for (; started < threads; started++)
            if (pthread_create(&tid[started], NULL, worker_main, b) != 0)
                break;
    long written = 0;
    bool input_done = false;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        slot *f = &b->slots[b->filled % b->nslots];
        if (!input_done && f->state == SLOT_FREE) {
            pthread_mutex_unlock(&b->mu);
            int k = fill_slot(b, f, err);
            if (k > 0 && started == 0) { /* no workers: parse here */
                nn_csv_parts_parse(b->P, f->text, f->len, f->line, f->whole, &f->part);
                f->state = SLOT_DONE;
            }
            pthread_mutex_lock(&b->mu);
            if (k < 0)
                break;
            if (k == 0) {
                input_done = true;
                continue;
            }
            if (started > 0)
                f->state = SLOT_READY;
            else
                b->parsed++;
            b->filled++;
            pthread_cond_broadcast(&b->work);
            continue;
        }
        slot *w = &b->slots[written % b->nslots];
        if (written < b->filled && w->state == SLOT_DONE) {
            pthread_mutex_unlock(&b->mu);
            int k = write_part(b, &w->part, err);
            nn_csv_part_reset(&w->part); /* its arrays serve the slot's next part */
            pthread_mutex_lock(&b->mu);
            if (k < 0)
                break;
            w->state = SLOT_FREE;
            written++;
            continue;
        }
        if (input_done && written == b->filled) {
            rc = 0;
            break;
        }
        pthread_cond_wait(&b->done, &b->mu);
    }
    b->stop = true;
    pthread_cond_broadcast(&b->work);
    pthread_mutex_unlock(&b->mu);
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->work);
    pthread_cond_destroy(&b->done);
out:
    for (int i = 0; b->slots && i < b->nslots; i++) {
        nn_csv_part_free(&b->slots[i].part);
        free(b->slots[i].text);
    }
    free(b->slots);
    b->slots = NULL;
    free(tid);
    return rc;
}

/* Label ids -> class indices, in place in the labels file. */
static int remap_labels(builder *b, const int32_t *map, size_t n_map, nn_error *err)
{
    enum { BLOCK = 16384 };
    uint32_t *buf = malloc(BLOCK * sizeof *buf);
    if (!buf) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        return -1;
    }
    int fd = b->files->fd[F_Y];
    for (size_t i = 0; i < b->rows; i += BLOCK) {
        size_t n = b->rows - i < BLOCK ? b->rows - i : BLOCK;
        off_t off = (off_t)(NPY_HEADER_BYTES + 4 * (uint64_t)i);
        errno = 0;
        if (read_at(fd, buf, 4 * n, off) < 0) {
            free(buf);
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: read error: %s", b->files->tmp[F_Y],
                         strerror(errno ? errno : EIO));
            return -1;
        }
        to_little4(buf, n); /* back to host order (the swap is its own inverse) */
        for (size_t k = 0; k < n; k++)
            buf[k] = buf[k] < n_map ? (uint32_t)map[buf[k]] : 0;
        to_little4(buf, n);
        if (write_at(fd, buf, 4 * n, off) < 0) {
            free(buf);
            return write_error(b->files, F_Y, err);
        }
    }
    free(buf);
    return 0;
}

static int write_text(cache_files *f, int i, const char *text, nn_error *err)
{
    errno = 0;
    size_t n = strlen(text);
    if (write_at(f->fd[i], text, n, 0) < 0 || write_at(f->fd[i], "\n", 1, (off_t)n) < 0)
        return write_error(f, i, err);
    return 0;
}

/* Removes the temporary files of this cache that a process no longer
 * running left behind ("NAME.tmp.PID.K" beside each file NAME). */
static void remove_stale_temps(const cache_files *f, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        for (int i = 0; i < N_FILES; i++) {
            const char *base = strrchr(f->path[i], '/') + 1; /* path_join put one there */
            size_t n = strlen(base);
            if (strncmp(e->d_name, base, n) != 0 || strncmp(e->d_name + n, ".tmp.", 5) != 0)
                continue;
            char *end;
            long pid = strtol(e->d_name + n + 5, &end, 10);
            if (pid <= 0 || *end != '.' || pid == (long)getpid() ||
                kill((pid_t)pid, 0) == 0 || errno != ESRCH)
                continue;
            size_t len = strlen(dir) + strlen(e->d_name) + 2;
            char *p = malloc(len);
            if (p) {
                snprintf(p, len, "%s/%s", dir, e->d_name);
                unlink(p);
                free(p);
            }
        }
    closedir(d);
}

static int make_dir(const char *dir, nn_error *err)
{
    struct stat sb;
    if (stat(dir, &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            return 0;
        errno = ENOTDIR;
    } else if (errno == ENOENT && mkdir(dir, 0777) == 0) {
        return 0;
    }
    nn_error_set(err, NN_EXIT_RUNTIME, "%s: cannot write the CSV cache: %s", dir,
                 strerror(errno));
    return -1;
}

/* Parses the CSV into the temporary files and renames them into place. */
static int build(const nn_source *s, const nn_csv_opts *o, const char *dir,
                 const nn_csv_cache_opts *co, const nn_csv_cache_stamp *st,
                 const struct stat *sb, cache_files *f, nn_csv_cache *out, nn_error *err)
{
    const char *path = s->file_path;
    if (make_dir(dir, err) < 0)
        return -1;
    remove_stale_temps(f, dir);
    for (int i = F_X; i <= F_Y; i++)
        if (open_temp(f, i, dir, err) < 0)
            return -1;
    builder b;
    memset(&b, 0, sizeof b);
    b.files = f;
    b.csv_name = path;
    b.chunk = co && co->chunk_bytes ? co->chunk_bytes : NN_CSV_CACHE_CHUNK;
    b.progress = co && co->progress && isatty(fileno(co->progress)) ? co->progress : NULL;
    b.last_shown = now_seconds();
    b.off_x = b.off_y = NPY_HEADER_BYTES;
    int threads = co && co->threads > 1 ? co->threads : 1;
    if (threads > 64)
        threads = 64;
    int rc = -1;
    int32_t *map = NULL;
    size_t n_map = 0;
    if (!(b.P = nn_csv_parts_open(path, &s->csv, o, err)))
        goto out;
    b.features = nn_csv_parts_features(b.P);
    b.n_targets = nn_csv_parts_targets(b.P);
    b.has_label = nn_csv_parts_has_label(b.P);
    b.carry = nn_csv_parts_rest(b.P, &b.carry_n, &b.line, &b.r);
    b.at_end = b.r == NULL && b.carry_n == 0;
    b.total = b.r && nn_reader_is_gzip(b.r) ? -1 : (long long)sb->st_size;
    b.read_bytes = b.r ? nn_reader_offset(b.r) : (uint64_t)sb->st_size;
    nn_csv_part head;
    nn_csv_parts_head(b.P, &head);
    int k = write_part(&b, &head, err);
    nn_csv_part_free(&head);
    if (k < 0 || run_parts(&b, threads, err) < 0)
        goto out;
    if (nn_csv_parts_finish(b.P, &map, &n_map, &out->n_classes, &out->class_names, &out->layout,
                            &out->info, err) < 0)
        goto out;
    if (map && remap_labels(&b, map, n_map, err) < 0)
        goto out;
    out->rows = b.rows;
    out->features = b.features;
    out->n_targets = b.n_targets;
    struct stat now;
    if (stat(path, &now) < 0 || now.st_size != sb->st_size ||
        now.st_mtim.tv_sec != sb->st_mtim.tv_sec || now.st_mtim.tv_nsec != sb->st_mtim.tv_nsec) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: the file changed while it was read for the cache",
                     path);
        goto out;
    }
    uint64_t xs[2] = {b.rows, b.features}, ys[2] = {b.rows, (uint64_t)b.n_targets};
    errno = 0;
    if (npy_header(f->fd[F_X], "<f4", 2, xs) < 0) {
        write_error(f, F_X, err);
        goto out;
    }
    if (npy_header(f->fd[F_Y], b.has_label ? "<i4" : "<f4", b.has_label ? 1 : 2, ys) < 0) {
        write_error(f, F_Y, err);
        goto out;
    }
    if (out->class_names) {
        cJSON *wrap = cJSON_CreateObject();
        char *text = NULL;
        if (wrap && add_strings(wrap, "c", out->class_names, (size_t)out->n_classes))
            text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(wrap, "c"));
        cJSON_Delete(wrap);
        if (!text) {
            nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
            goto out;
        }
        k = open_temp(f, F_CLASSES, dir, err) < 0 ? -1 : write_text(f, F_CLASSES, text, err);
        free(text);
        if (k < 0)
            goto out;
    }
    char *key = nn_csv_cache_format_key(st, out);
    if (!key) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        goto out;
    }
    k = open_temp(f, F_KEY, dir, err) < 0 ? -1 : write_text(f, F_KEY, key, err);
    free(key);
    if (k < 0)
        goto out;
    for (int i = 0; i < N_FILES; i++) {
        errno = 0;
        if (f->fd[i] >= 0 && (fsync(f->fd[i]) != 0 || close(f->fd[i]) != 0)) {
            f->fd[i] = -1;
            write_error(f, i, err);
            goto out;
        }
        f->fd[i] = -1;
    }
    /* the old key goes first, the new one comes last */
    unlink(f->path[F_KEY]);
    if (!out->class_names)
        unlink(f->path[F_CLASSES]);
    for (int i = 0; i < N_FILES; i++) {
        if (!f->tmp[i])
            continue;
        if (rename(f->tmp[i], f->path[i]) < 0) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: cannot write the CSV cache: %s", f->path[i],
                         strerror(errno));
            goto out;
        }
        free(f->tmp[i]);
        f->tmp[i] = NULL;
    }
    out->built = true;
    rc = 0;
out:
    show_progress(&b, true);
    free(map);
    nn_csv_parts_close(b.P);
    return rc;
}

/* --- reusing ------------------------------------------------------------------ */

/* Whether the arrays are what the key says. */
static bool arrays_match(const cache_files *f, const nn_csv_cache *c)
{
    nn_error e = {0};
    nn_npy_file x, y;
    if (nn_npy_open(&x, f->path[F_X], 0, &e) < 0)
        return false;
    bool ok = x.h.ndim == 2 && strcmp(x.h.descr, "<f4") == 0 && x.h.rows == c->rows &&
              x.h.cols == c->features;
    nn_npy_close(&x);
    if (!ok || nn_npy_open(&y, f->path[F_Y], 0, &e) < 0)
        return false;
    if (c->n_targets > 0)
        ok = y.h.ndim == 2 && strcmp(y.h.descr, "<f4") == 0 && y.h.rows == c->rows &&
             y.h.cols == (uint64_t)c->n_targets;
    else
        ok = y.h.ndim == 1 && strcmp(y.h.descr, "<i4") == 0 && y.h.rows == c->rows;
    nn_npy_close(&y);
    return ok;
}

/* A valid cache at f's paths for stamp st: 1 with *out filled, else 0. */
static int try_reuse(const cache_files *f, const nn_csv_cache_stamp *st, nn_csv_cache *out)
{
    int fd = open(f->path[F_KEY], O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct stat sb;
    char *text = NULL;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 &&
        (size_t)sb.st_size <= KEY_MAX_BYTES && (text = malloc((size_t)sb.st_size)) != NULL &&
        read_at(fd, text, (size_t)sb.st_size, 0) < 0) {
        free(text);
        text = NULL;
    }
    close(fd);
    if (!text)
        return 0;
    nn_csv_cache_stamp have;
    nn_error e = {0};
    int rc = nn_csv_cache_parse_key(text, (size_t)sb.st_size, f->path[F_KEY], &have, out, &e);
    free(text);
    if (rc < 0)
        return 0;
    if (!stamps_equal(&have, st) || !arrays_match(f, out) ||
        (out->class_names && access(f->path[F_CLASSES], R_OK) != 0)) {
        nn_csv_cache_free(out);
        return 0;
    }
    return 1;
}

int nn_csv_cache_get(const nn_source *s, const nn_csv_opts *o, const char *cache_dir,
                     const nn_csv_cache_opts *co, nn_csv_cache *out, nn_error *err)
{
    memset(out, 0, sizeof *out);
    if (s->format != NN_FORMAT_CSV) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: only a CSV source is cached", nn_source_name(s));
        return -1;
    }
    nn_csv_opts lo = *o;
    lo.info = NULL;
    nn_csv_cache_stamp st;
    uint64_t name_hash;
    struct stat sb;
    cache_files f;
    memset(&f, 0, sizeof f);
    for (int i = 0; i < N_FILES; i++)
        f.fd[i] = -1;
    int rc = -1;
    if (make_stamp(s->file_path, options_hash(&s->csv, &lo), &st, &name_hash, &sb, err) < 0 ||
        make_paths(&f, cache_dir, s->file_path, name_hash, err) < 0)
        goto out;
    if (!try_reuse(&f, &st, out) && build(s, &lo, cache_dir, co, &st, &sb, &f, out, err) < 0)
        goto out;
    out->key_path = f.path[F_KEY];
    out->x_path = f.path[F_X];
    out->y_path = f.path[F_Y];
    f.path[F_KEY] = f.path[F_X] = f.path[F_Y] = NULL;
    if (out->class_names) {
        out->classes_path = f.path[F_CLASSES];
        f.path[F_CLASSES] = NULL;
    }
    rc = 0;
out:
    files_clear(&f);
    if (rc < 0)
        nn_csv_cache_free(out);
    return rc;
}

/* --- reading ------------------------------------------------------------------ */

int nn_csv_cache_source(const nn_csv_cache *c, nn_source *npy, nn_error *err)
{
    memset(npy, 0, sizeof *npy);
    npy->format = NN_FORMAT_NPY;
    npy->npy_targets = c->n_targets > 0;
    npy->parts = calloc(1, sizeof *npy->parts);
    if (npy->parts) {
        npy->n_parts = 1;
        npy->parts[0].x = strdup(c->x_path);
        npy->parts[0].x_path = strdup(c->x_path);
        npy->parts[0].y = strdup(c->y_path);
        npy->parts[0].y_path = strdup(c->y_path);
    }
    npy->file = strdup(c->x_path);
    npy->file_path = strdup(c->x_path);
    npy->labels = strdup(c->y_path);
    npy->labels_path = strdup(c->y_path);
    if (!npy->parts || !npy->parts[0].x || !npy->parts[0].x_path || !npy->parts[0].y ||
        !npy->parts[0].y_path || !npy->file || !npy->file_path || !npy->labels ||
        !npy->labels_path) {
        nn_source_clear(npy);
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        return -1;
    }
    return 0;
}

/* The whole data of an array file as 4-byte values in host order. */
static int read_array(const char *path, uint64_t rows, uint64_t cols, const char *descr,
                      void **out, nn_error *err)
{
    nn_npy_file f;
    if (nn_npy_open(&f, path, 0, err) < 0)
        return -1;
    if (strcmp(f.h.descr, descr) != 0 || f.h.rows != rows || f.h.cols != cols) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: the cached array is not the one its key describes",
                     path);
        nn_npy_close(&f);
        return -1;
    }
    size_t n = (size_t)(rows * cols);
    void *p = malloc(n ? 4 * n : 1);
    errno = 0;
    if (!p || read_at(f.fd, p, 4 * n, (off_t)f.h.data_offset) < 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %s", path,
                     p ? (errno ? strerror(errno) : "file shrank") : "out of memory");
        free(p);
        nn_npy_close(&f);
        return -1;
    }
    nn_npy_close(&f);
    to_little4(p, n); /* the file is little-endian: the swap is its own inverse */
    *out = p;
    return 0;
}

int nn_csv_cache_load(const nn_csv_cache *c, nn_dataset *d, nn_error *err)
{
    memset(d, 0, sizeof *d);
    d->type = NN_DT_F32;
    d->n = c->rows;
    d->features = c->features;
    d->ndim = 2;
    d->dims[0] = (uint32_t)c->rows;
    d->dims[1] = c->features > UINT32_MAX ? UINT32_MAX : (uint32_t)c->features;
    void *x = NULL, *y = NULL;
    if (read_array(c->x_path, c->rows, c->features, "<f4", &x, err) < 0)
        goto fail;
    d->x = x;
    if (c->n_targets > 0) {
        if (read_array(c->y_path, c->rows, (uint64_t)c->n_targets, "<f4", &y, err) < 0)
            goto fail;
        d->targets = y;
        d->n_targets = c->n_targets;
        return 0;
    }
    if (read_array(c->y_path, c->rows, 1, "<i4", &y, err) < 0)
        goto fail;
    d->labels = y;
    d->n_classes = c->n_classes;
    for (size_t i = 0; i < d->n; i++)
        if (d->labels[i] < 0 || d->labels[i] >= c->n_classes) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: label %d at row %zu is not a class (0..%d)",
                         c->y_path, (int)d->labels[i], i, (int)c->n_classes - 1);
            goto fail;
        }
    if (c->class_names) {
        d->class_names = calloc((size_t)c->n_classes, sizeof *d->class_names);
        if (!d->class_names) {
            nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
            goto fail;
        }
        for (int32_t k = 0; k < c->n_classes; k++)
            if (!(d->class_names[k] = strdup(c->class_names[k]))) {
                d->n_classes = k;
                nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
                goto fail;
            }
    }
    return 0;
fail:
    nn_dataset_free(d);
    return -1;
}
