/* source.c - data sources: an IDX pair {"images", "labels"}, a CSV file
 * {"path", "label" | "targets", "header", "delimiter"}, or NPY arrays
 * {"npy", "labels" | "targets"} (or a list of those: shards), read from the config,
 * checked against data.train, written back out and freed.  The data section
 * of the table (schema.c) checks each source is an object; its last check,
 * nn_cfg_read_sources, reads them. */
#include "config/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CFG_MAX_COLUMN 1000000 /* |column index| in a CSV source is below this */
#define CFG_MAX_TARGETS 65536  /* target columns of a CSV source */

/* The keys of a source, in the order "valid keys" lists them; `formats`
 * holds a bit (1 << kind) for each format the key belongs to. */
#define CSV_ (1u << NN_FORMAT_CSV)
#define IDX_ (1u << NN_FORMAT_IDX)
#define NPY_ (1u << NN_FORMAT_NPY)
static const struct {
    const char *key;
    unsigned formats;
    const char *help;
} source_keys[] = {
    {"path", CSV_, "a CSV file (\"-\" is stdin)"},
    {"label", CSV_, "the class column: a name, or an index (negative from the end)"},
    {"targets", CSV_ | NPY_, "regression: the target columns (names or indices), or an NPY "
                             "array of targets"},
    {"header", CSV_, "whether the first line names the columns: true, false or \"auto\""},
    {"delimiter", CSV_, "the field separator: one character, or \"whitespace\""},
    {"skip_lines", CSV_, "leading lines to ignore, before the header"},
    {"comment", CSV_, "a character starting lines to ignore"},
    {"na_values", CSV_, "the fields that mean a missing value"},
    {"missing", CSV_, "what a missing value does: \"error\", \"drop\" or \"mean\""},
    {"classes", CSV_ | NPY_, "the class names in class order (NPY: of the labels 0, 1, ...; "
                             "in the first shard)"},
    {"images", IDX_, "an IDX images file"},
    {"labels", IDX_ | NPY_, "an IDX labels file, or an NPY array of class indices"},
    {"npy", NPY_, "an NPY array of samples (with \"labels\" or \"targets\")"},
};
#define N_SOURCE_KEYS ((int)(sizeof source_keys / sizeof *source_keys))
#define FIRST_READING_KEY 5 /* skip_lines: the reading options from here on */

const char *nn_config_source_key(int i, const char **help)
{
    if (i < 0 || i >= N_SOURCE_KEYS)
        return NULL;
    if (help)
        *help = source_keys[i].help;
    return source_keys[i].key;
}

/* The keys of a source of format `kind` (-1: of either) into keys[]; their
 * number. */
static int keys_of(int kind, const char **keys)
{
    int n = 0;
    for (int i = 0; i < N_SOURCE_KEYS; i++)
        if (kind < 0 || (source_keys[i].formats & (1u << kind)))
            keys[n++] = source_keys[i].key;
    return n;
}

static int parse_idx_source(const nn_cfg_parser *p, const cJSON *obj, const char *path,
                            nn_source *src)
{
    const char *keys[N_SOURCE_KEYS];
    int n_keys = keys_of(NN_FORMAT_IDX, keys);
    const char *images = NULL, *labels = NULL;
    /* a CSV reading option on an IDX pair: say so, rather than "unknown" */
    for (const cJSON *m = obj->child; m; m = m->next)
        for (int i = 0; i < N_SOURCE_KEYS; i++)
            if (i >= FIRST_READING_KEY && source_keys[i].formats == CSV_ &&
                strcmp(m->string, source_keys[i].key) == 0)
                return nn_cfg_fail_at(p, nn_cfg_key_loc(p, m), "\"%s.%s\" is a CSV option; \"%s\" is "
                                   "an IDX source", path, m->string, path);
    if (nn_cfg_check_members(p, obj, path, keys, n_keys) < 0 ||
        nn_cfg_get_string(p, obj, path, "images", &images) < 0 ||
        nn_cfg_get_string(p, obj, path, "labels", &labels) < 0)
        return -1;
    if (!images)
        return nn_cfg_fail_missing(p, obj, path, "images");
    if (!labels)
        return nn_cfg_fail_missing(p, obj, path, "labels");
    src->format = NN_FORMAT_IDX;
    src->file = strdup(images);
    src->labels = strdup(labels);
    src->file_path = nn_cfg_resolve(p->dir, images);
    src->labels_path = nn_cfg_resolve(p->dir, labels);
    if (!src->file || !src->labels || !src->file_path || !src->labels_path)
        return nn_cfg_fail_nomem(p);
    return 0;
}

static int parse_strings(const nn_cfg_parser *p, const cJSON *v, const char *what, bool nonempty,
                         bool distinct, int max, char ***out, int *n);

/* One NPY shard {"npy", "labels" | "targets"} at `path` into *part;
 * *targets says which of the two it has. */
static int parse_npy_part(const nn_cfg_parser *p, const cJSON *obj, const char *path,
                          nn_npy_part *part, bool *targets)
{
    const char *keys[N_SOURCE_KEYS];
    int n_keys = keys_of(NN_FORMAT_NPY, keys);
    const char *x = NULL, *labels = NULL, *tg = NULL;
    for (const cJSON *m = obj->child; m; m = m->next)
        for (int i = 0; i < N_SOURCE_KEYS; i++)
            if (source_keys[i].formats == CSV_ && i != 0 && i != 1 &&
                strcmp(m->string, source_keys[i].key) == 0)
                return nn_cfg_fail_at(p, nn_cfg_key_loc(p, m), "\"%s.%s\" is a CSV option; \"%s\" is "
                                   "an NPY source", path, m->string, path);
    if (nn_cfg_check_members(p, obj, path, keys, n_keys) < 0 ||
        nn_cfg_get_string(p, obj, path, "npy", &x) < 0)
        return -1;
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(obj, "labels");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "targets");
    if (l && t) {
        const cJSON *at = nn_cfg_loc_after(nn_cfg_key_loc(p, l), nn_cfg_key_loc(p, t)) ? l : t;
        return nn_cfg_fail_at(p, nn_cfg_key_loc(p, at), "\"%s\" cannot have both \"labels\" (class "
                           "indices) and \"targets\" (regression values)", path);
    }
    if ((l && nn_cfg_get_string(p, obj, path, "labels", &labels) < 0) ||
        (t && nn_cfg_get_string(p, obj, path, "targets", &tg) < 0))
        return -1;
    if (!x)
        return nn_cfg_fail_missing(p, obj, path, "npy");
    if (!l && !t)
        return nn_cfg_fail_at(p, nn_cfg_value_loc(p, obj), "\"%s\" must have \"labels\" (an NPY "
                           "array of class indices) or \"targets\" (an NPY array of regression "
                           "values)", path);
    const char *y = l ? labels : tg;
    *targets = t != NULL;
    part->x = strdup(x);
    part->y = strdup(y);
    part->x_path = nn_cfg_resolve(p->dir, x);
    part->y_path = nn_cfg_resolve(p->dir, y);
    if (!part->x || !part->y || !part->x_path || !part->y_path)
        return nn_cfg_fail_nomem(p);
    return 0;
}

/* An NPY source: one shard (an object) or a non-empty list of them. */
static int parse_npy_source(const nn_cfg_parser *p, const cJSON *v, const char *path,
                            nn_source *src)
{
    bool list = cJSON_IsArray(v);
    int n = list ? cJSON_GetArraySize(v) : 1;
    if (list && n == 0)
        return nn_cfg_fail_at(p, nn_cfg_value_loc(p, v), "\"%s\" must be a source object or a "
                           "non-empty list of NPY shards, found an empty array", path);
    if (n > 65536)
        return nn_cfg_fail_at(p, nn_cfg_value_loc(p, v), "\"%s\" must hold at most 65536 shards, "
                           "found %d", path, n);
    src->format = NN_FORMAT_NPY;
    src->npy_list = list;
    src->parts = calloc((size_t)n, sizeof *src->parts);
    if (!src->parts)
        return nn_cfg_fail_nomem(p);
    src->n_parts = n;
    const cJSON *e = list ? v->child : v;
    for (int i = 0; i < n; i++, e = e->next) {
        char sub[320];
        if (list)
            snprintf(sub, sizeof sub, "%s.%d", path, i);
        else
            snprintf(sub, sizeof sub, "%s", path);
        if (!cJSON_IsObject(e))
            return nn_cfg_fail_at(p, nn_cfg_value_loc(p, e), "\"%s\" must be an object "
                               "{\"npy\", \"labels\" or \"targets\"}, found %s", sub,
                               nn_cfg_type_phrase(e));
        if (list && !cJSON_GetObjectItemCaseSensitive(e, "npy"))
            return nn_cfg_fail_at(p, nn_cfg_value_loc(p, e), "\"%s\" must be an NPY shard with "
                               "\"npy\" (only NPY sources come as a list)", sub);
        bool targets = false;
        if (parse_npy_part(p, e, sub, &src->parts[i], &targets) < 0)
            return -1;
        const cJSON *cl = cJSON_GetObjectItemCaseSensitive(e, "classes");
        if (cl) { /* the names of labels 0, 1, ... (what --convert writes to
                     PREFIX-classes.json), given once, in the first shard */
            char csub[340];
            snprintf(csub, sizeof csub, "%s.classes", sub);
            if (i > 0)
                return nn_cfg_fail_at(p, nn_cfg_key_loc(p, cl), "\"%s\": the class names go in the "
                                   "first shard only", csub);
            if (targets)
                return nn_cfg_fail_at(p, nn_cfg_key_loc(p, cl), "\"%s\" is for labels, not "
                                   "regression targets", csub);
            if (parse_strings(p, cl, csub, true, true, 65536, &src->csv.class_list,
                              &src->csv.n_class_list) < 0)
                return -1;
        }
        if (i == 0)
            src->npy_targets = targets;
        else if (targets != src->npy_targets)
            return nn_cfg_fail_at(p, nn_cfg_value_loc(p, e), "\"%s\" must have \"%s\" like the "
                               "first shard", sub, src->npy_targets ? "targets" : "labels");
    }
    src->file = strdup(src->parts[0].x);
    src->file_path = strdup(src->parts[0].x_path);
    src->labels = strdup(src->parts[0].y);
    src->labels_path = strdup(src->parts[0].y_path);
    if (!src->file || !src->file_path || !src->labels || !src->labels_path)
        return nn_cfg_fail_nomem(p);
    return 0;
}

/* A CSV column: a non-empty name, or an integer index with |index| <
 * CFG_MAX_COLUMN (negative counts from the end).  out->name is malloc'd. */
static int parse_column(const nn_cfg_parser *p, const cJSON *v, const char *path, nn_column *out)
{
    int64_t x;
    if (cJSON_IsString(v) && *v->valuestring) {
        out->name = strdup(v->valuestring);
        out->index = 0;
        return out->name ? 0 : nn_cfg_fail_nomem(p);
    }
    if (nn_cfg_node_int64(p, v, &x) && x > -CFG_MAX_COLUMN && x < CFG_MAX_COLUMN) {
        out->name = NULL;
        out->index = (long)x;
        return 0;
    }
    char buf[CFG_CLIP + 8];
    return nn_cfg_fail_at(p, nn_cfg_value_loc(p, v),
                       "\"%s\" must be a column name or an integer from %d to %d, found %s", path,
                       -(CFG_MAX_COLUMN - 1), CFG_MAX_COLUMN - 1,
                       nn_cfg_found(p, v, cJSON_IsNumber(v) || cJSON_IsString(v), buf, sizeof buf));
}

typedef struct {
    const nn_column *col;
    const cJSON *node;
    int i; /* position in the array */
} col_ref;

/* Names before indices; then by name or index. */
static int col_cmp_value(const nn_column *a, const nn_column *b)
{
    if (!a->name != !b->name)
        return a->name ? -1 : 1;
    if (a->name)
        return strcmp(a->name, b->name);
    return (a->index > b->index) - (a->index < b->index);
}

static int col_ref_cmp(const void *a, const void *b)
{
    const col_ref *x = a, *y = b;
    int d = col_cmp_value(x->col, y->col);
    return d ? d : (x->i > y->i) - (x->i < y->i);
}

/* "targets": 1..CFG_MAX_TARGETS distinct columns.  A repeated column is
 * reported at its first repetition in document order (found by sorting, so
 * 65536 targets cost n log n, not n^2). */
static int parse_targets(const nn_cfg_parser *p, const cJSON *v, const char *path, nn_csv_spec *csv)
{
    char tpath[320];
    snprintf(tpath, sizeof tpath, "%s.targets", path);
    if (!cJSON_IsArray(v) || !v->child)
        return nn_cfg_fail_at(p, nn_cfg_value_loc(p, v),
                           "\"%s\" must be a non-empty array of column names or indices, found %s",
                           tpath, cJSON_IsArray(v) ? "an empty array" : nn_cfg_type_phrase(v));
    int n = cJSON_GetArraySize(v);
    if (n > CFG_MAX_TARGETS)
        return nn_cfg_fail_at(p, nn_cfg_value_loc(p, v), "\"%s\" must hold at most %d columns, found %d",
                           tpath, CFG_MAX_TARGETS, n);
    csv->targets = calloc((size_t)n, sizeof *csv->targets);
    col_ref *refs = malloc((size_t)n * sizeof *refs);
    if (!csv->targets || !refs) {
        free(refs);
        return nn_cfg_fail_nomem(p);
    }
    csv->n_targets = n;
    int i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        char epath[340];
        snprintf(epath, sizeof epath, "%s.%d", tpath, i);
        if (parse_column(p, e, epath, &csv->targets[i]) < 0) {
            free(refs);
            return -1;
        }
        refs[i] = (col_ref){&csv->targets[i], e, i};
    }
    qsort(refs, (size_t)n, sizeof *refs, col_ref_cmp);
    const col_ref *dup = NULL;
    for (int k = 1; k < n; k++)
        if (col_cmp_value(refs[k - 1].col, refs[k].col) == 0 && (!dup || refs[k].i < dup->i))
            dup = &refs[k];
    int rc = 0;
    if (dup && dup->col->name) {
        char name[CFG_CLIP + 8];
        nn_cfg_clip(name, sizeof name, dup->col->name, strlen(dup->col->name), CFG_CLIP);
        rc = nn_cfg_fail_at(p, nn_cfg_value_loc(p, dup->node), "duplicate column \"%s\" in \"%s\"", name,
                         tpath);
    } else if (dup) {
        rc = nn_cfg_fail_at(p, nn_cfg_value_loc(p, dup->node), "duplicate column %ld in \"%s\"",
                         dup->col->index, tpath);
    }
    free(refs);
    return rc;
}

/* An array of strings (trimmed of nothing) into *out, *n: non-empty when
 * `nonempty`, at most `max`, distinct when `distinct`. */
static int parse_strings(const nn_cfg_parser *p, const cJSON *v, const char *what, bool nonempty,
                         bool distinct, int max, char ***out, int *n)
{
    char buf[CFG_CLIP + 8];
    if (!cJSON_IsArray(v) || (nonempty && !v->child))
        return nn_cfg_fail_at(p, nn_cfg_value_loc(p, v), "\"%s\" must be a %sarray of strings, found %s",
                           what, nonempty ? "non-empty " : "",
                           cJSON_IsArray(v) ? "an empty array" : nn_cfg_type_phrase(v));
    int cnt = cJSON_GetArraySize(v);
    if (cnt > max)
        return nn_cfg_fail_at(p, nn_cfg_value_loc(p, v), "\"%s\" must hold at most %d strings, found %d",
                           what, max, cnt);
    *out = calloc((size_t)cnt + 1, sizeof **out);
    if (!*out)
        return nn_cfg_fail_nomem(p);
    int i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        if (!cJSON_IsString(e))
            return nn_cfg_fail_at(p, nn_cfg_value_loc(p, e), "\"%s.%d\" must be a string, found %s",
                               what, i, nn_cfg_found(p, e, cJSON_IsNumber(e), buf, sizeof buf));
        if (distinct && !*e->valuestring)
            return nn_cfg_fail_at(p, nn_cfg_value_loc(p, e), "\"%s.%d\" must not be empty", what, i);
        for (int k = 0; distinct && k < i; k++)
            if (strcmp((*out)[k], e->valuestring) == 0) {
                nn_cfg_clip(buf, sizeof buf, e->valuestring, strlen(e->valuestring), CFG_CLIP);
                return nn_cfg_fail_at(p, nn_cfg_value_loc(p, e), "duplicate \"%s\" in \"%s\"", buf, what);
            }
        if (!((*out)[i] = strdup(e->valuestring)))
            return nn_cfg_fail_nomem(p);
        *n = i + 1;
    }
    return 0;
}

/* skip_lines, comment, na_values, missing, classes. */
static int parse_csv_reading(const nn_cfg_parser *p, const cJSON *obj, const char *path,
                             nn_csv_spec *csv)
{
    char sub[320], buf[CFG_CLIP + 8];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "skip_lines");
    int64_t x;
    if (v) {
        if (!nn_cfg_node_int64(p, v, &x) || x < 0 || x > 1000000)
            return nn_cfg_fail_at(p, nn_cfg_value_loc(p, v), "\"%s.skip_lines\" must be an integer from "
                               "0 to 1000000, found %s", path,
                               nn_cfg_found(p, v, cJSON_IsNumber(v) || cJSON_IsString(v), buf,
                                         sizeof buf));
        csv->skip_lines = (long)x;
    }
    v = cJSON_GetObjectItemCaseSensitive(obj, "comment");
    if (v) {
        const char *d = cJSON_IsString(v) ? v->valuestring : "";
        unsigned char c = (unsigned char)d[0];
        if (c == 0 || d[1] != '\0' || c >= 0x80 || c == '"' || c == '\r' || c == '\n' ||
            c == ' ' || c == '\t' || c == (unsigned char)csv->delimiter)
            return nn_cfg_fail_at(p, nn_cfg_value_loc(p, v), "\"%s.comment\" must be one ASCII "
                               "character other than a quote, a space, a tab, CR, LF or the "
                               "delimiter, found %s", path,
                               nn_cfg_found(p, v, cJSON_IsString(v), buf, sizeof buf));
        csv->comment = c;
    }
    v = cJSON_GetObjectItemCaseSensitive(obj, "na_values");
    if (v) {
        snprintf(sub, sizeof sub, "%s.na_values", path);
        if (parse_strings(p, v, sub, false, false, 1000, &csv->na_values, &csv->n_na) < 0)
            return -1;
        csv->has_na = true;
    }
    v = cJSON_GetObjectItemCaseSensitive(obj, "missing");
    if (v) {
        const char *m = cJSON_IsString(v) ? v->valuestring : "";
        if (strcmp(m, "error") == 0)
            csv->missing = NN_MISSING_ERROR;
        else if (strcmp(m, "drop") == 0)
            csv->missing = NN_MISSING_DROP;
        else if (strcmp(m, "mean") == 0)
            csv->missing = NN_MISSING_MEAN;
        else
            return nn_cfg_fail_at(p, nn_cfg_value_loc(p, v), "\"%s.missing\" must be \"error\", "
                               "\"drop\" or \"mean\", found %s", path,
                               nn_cfg_found(p, v, cJSON_IsString(v), buf, sizeof buf));
    }
    v = cJSON_GetObjectItemCaseSensitive(obj, "classes");
    if (v) {
        snprintf(sub, sizeof sub, "%s.classes", path);
        if (cJSON_GetObjectItemCaseSensitive(obj, "targets"))
            return nn_cfg_fail_at(p, nn_cfg_key_loc(p, v), "\"%s\" is for a label column, not "
                               "regression targets", sub);
        if (parse_strings(p, v, sub, true, true, 65536, &csv->class_list, &csv->n_class_list) < 0)
            return -1;
    }
    return 0;
}

static int parse_csv_source(const nn_cfg_parser *p, const cJSON *obj, const char *path,
                            nn_source *src)
{
    const char *keys[N_SOURCE_KEYS];
    int n_keys = keys_of(NN_FORMAT_CSV, keys);
    const char *file = NULL;
    char sub[320], buf[CFG_CLIP + 8];
    if (nn_cfg_check_members(p, obj, path, keys, n_keys) < 0 ||
        nn_cfg_get_string(p, obj, path, "path", &file) < 0)
        return -1;
    src->format = NN_FORMAT_CSV;
    src->csv.header = NN_HEADER_AUTO;
    src->csv.delimiter = ',';
    src->file = strdup(file);
    src->file_path = nn_cfg_resolve(p->dir, file);
    if (!src->file || !src->file_path)
        return nn_cfg_fail_nomem(p);

    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "header");
    if (v) {
        if (cJSON_IsBool(v))
            src->csv.header = cJSON_IsTrue(v) ? NN_HEADER_YES : NN_HEADER_NO;
        else if (!cJSON_IsString(v) || strcmp(v->valuestring, "auto") != 0)
            return nn_cfg_fail_at(p, nn_cfg_value_loc(p, v), "\"%s.header\" must be true, false or "
                               "\"auto\", found %s", path,
                               nn_cfg_found(p, v, cJSON_IsString(v), buf, sizeof buf));
    }

    v = cJSON_GetObjectItemCaseSensitive(obj, "delimiter");
    if (v) {
        const char *d = cJSON_IsString(v) ? v->valuestring : "";
        unsigned char c = (unsigned char)d[0];
        if (strcmp(d, "whitespace") == 0)
            src->csv.delimiter = NN_CSV_WHITESPACE;
        else if (c != 0 && d[1] == '\0' && c < 0x80 && c != '"' && c != '\r' && c != '\n')
            src->csv.delimiter = c;
        else
            return nn_cfg_fail_at(p, nn_cfg_value_loc(p, v), "\"%s.delimiter\" must be one ASCII "
                               "character other than a double quote, CR or LF, or \"whitespace\", "
                               "found %s", path,
                               nn_cfg_found(p, v, cJSON_IsString(v), buf, sizeof buf));
    }

    if (parse_csv_reading(p, obj, path, &src->csv) < 0)
        return -1;
    const cJSON *label = cJSON_GetObjectItemCaseSensitive(obj, "label");
    const cJSON *targets = cJSON_GetObjectItemCaseSensitive(obj, "targets");
    if (label && targets) {
        const cJSON *at = nn_cfg_loc_after(nn_cfg_key_loc(p, label), nn_cfg_key_loc(p, targets)) ? label
                                                                                         : targets;
        return nn_cfg_fail_at(p, nn_cfg_key_loc(p, at), "\"%s\" cannot have both \"label\" (a class "
                           "column) and \"targets\" (regression columns)", path);
    }
    if (targets)
        return parse_targets(p, targets, path, &src->csv);
    src->csv.has_label = true;
    src->csv.label = (nn_column){NULL, -1};
    snprintf(sub, sizeof sub, "%s.label", path);
    return label ? parse_column(p, label, sub, &src->csv.label) : 0;
}

/* An IDX pair, a CSV file or NPY arrays, told apart by "images"/"labels"
 * versus "path" versus "npy" (a list is NPY shards). */
static int parse_source(const nn_cfg_parser *p, const cJSON *obj, const char *path, nn_source *src)
{
    if (cJSON_IsArray(obj))
        return parse_npy_source(p, obj, path, src);
    const cJSON *csv_key = NULL, *idx_key = NULL, *npy_key = NULL;
    for (const cJSON *m = obj->child; m; m = m->next) {
        if (!npy_key && strcmp(m->string, "npy") == 0)
            npy_key = m;
        if (!csv_key && strcmp(m->string, "path") == 0)
            csv_key = m;
        if (!idx_key && (strcmp(m->string, "images") == 0 || strcmp(m->string, "labels") == 0))
            idx_key = m;
    }
    if (csv_key && idx_key) {
        /* {"path", "labels"} is most likely a misspelt CSV "label" */
        bool hint = strcmp(idx_key->string, "labels") == 0 &&
                    !cJSON_GetObjectItemCaseSensitive(obj, "label");
        const cJSON *at = hint || nn_cfg_loc_after(nn_cfg_key_loc(p, idx_key), nn_cfg_key_loc(p, csv_key))
                              ? idx_key : csv_key;
        return nn_cfg_fail_at(p, nn_cfg_key_loc(p, at), "\"%s\" cannot have both \"path\" (a CSV source) "
                           "and \"%s\" (an IDX source)%s", path, idx_key->string,
                           hint ? "; did you mean \"label\"?" : "");
    }
    if (npy_key && (csv_key || (idx_key && strcmp(idx_key->string, "images") == 0))) {
        const cJSON *other = csv_key ? csv_key : idx_key;
        return nn_cfg_fail_at(p, nn_cfg_key_loc(p, other), "\"%s\" cannot have both \"npy\" (an NPY "
                           "source) and \"%s\" (%s)", path, other->string,
                           csv_key ? "a CSV source" : "an IDX source");
    }
    if (npy_key)
        return parse_npy_source(p, obj, path, src);
    if (csv_key)
        return parse_csv_source(p, obj, path, src);
    if (idx_key)
        return parse_idx_source(p, obj, path, src);
    const char *keys[N_SOURCE_KEYS];
    if (nn_cfg_check_members(p, obj, path, keys, keys_of(-1, keys)) < 0)
        return -1;
    if (obj->child) /* only CSV keys such as "label" */
        return nn_cfg_fail_missing(p, obj, path, "path");
    return nn_cfg_fail_at(p, nn_cfg_value_loc(p, obj), "\"%s\" must have \"path\" (a CSV source), "
                       "\"images\" and \"labels\" (an IDX source) or \"npy\" (an NPY "
                       "source)", path);
}

/* data.test and data.validation must be labelled like data.train: targets
 * (as many) when data.train has targets, a label column otherwise. */
static int check_like_train(const nn_cfg_parser *p, const cJSON *obj, const char *path,
                            const nn_source *s, const nn_config *cfg)
{
    bool targets = nn_source_has_targets(s);
    const cJSON *first = cJSON_IsArray(obj) ? obj->child : obj;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(first, "targets");
    if (cfg->regression && s->format == NN_FORMAT_IDX)
        return nn_cfg_fail_at(p, nn_cfg_value_loc(p, obj), "\"%s\" must be a CSV or NPY source with "
                           "targets like \"data.train\", found an IDX source", path);
    if (cfg->regression && !targets) {
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(first, "label");
        if (!l)
            l = cJSON_GetObjectItemCaseSensitive(first, "labels");
        return nn_cfg_fail_at(p, l ? nn_cfg_key_loc(p, l) : nn_cfg_value_loc(p, obj), "\"%s\" must have "
                           "targets like \"data.train\", found a label column", path);
    }
    if (cfg->regression && s->format == NN_FORMAT_CSV && cfg->train.format == NN_FORMAT_CSV &&
        s->csv.n_targets != cfg->n_targets)
        return nn_cfg_fail_at(p, nn_cfg_value_loc(p, t), "\"%s.targets\" must have %d columns like "
                           "\"data.train.targets\", found %d", path, cfg->n_targets,
                           s->csv.n_targets);
    if (!cfg->regression && targets)
        return nn_cfg_fail_at(p, nn_cfg_key_loc(p, t), "\"%s\" must have a label column like "
                           "\"data.train\", found targets", path);
    return 0;
}

int nn_cfg_read_sources(const nn_cfg_parser *p, const nn_cfg_sec *s)
{
    nn_config *cfg = s->cfg;
    const cJSON *train = cJSON_GetObjectItemCaseSensitive(s->obj, "train");
    const cJSON *test = cJSON_GetObjectItemCaseSensitive(s->obj, "test");
    const cJSON *val = cJSON_GetObjectItemCaseSensitive(s->obj, "validation");
    if (parse_source(p, train, "data.train", &cfg->train) < 0)
        return -1;
    cfg->has_train = true;
    if (nn_source_has_targets(&cfg->train)) {
        cfg->regression = true;
        /* an NPY source's target count is known once its array is read */
        cfg->n_targets = cfg->train.format == NN_FORMAT_CSV ? cfg->train.csv.n_targets : 0;
    }
    if (test) {
        if (parse_source(p, test, "data.test", &cfg->test) < 0 ||
            check_like_train(p, test, "data.test", &cfg->test, cfg) < 0)
            return -1;
        cfg->has_test = true;
    }
    if (val) {
        if (parse_source(p, val, "data.validation", &cfg->validation) < 0 ||
            check_like_train(p, val, "data.validation", &cfg->validation, cfg) < 0)
            return -1;
        cfg->has_validation = true;
    }
    return 0;
}

void nn_cfg_source_free(nn_source *s)
{
    nn_source_clear(s);
}

/* A CSV column as a name (string) or an index (number). */
static cJSON *column_json(const nn_column *c)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", c->index);
    return c->name ? cJSON_CreateString(c->name) : cJSON_CreateRaw(buf);
}

/* {"images", "labels"}, {"npy", "labels" | "targets"} (or a list), or
 * {"path", "header", "delimiter", "label" | "targets"} with every default
 * written out. */
/* {"npy", "labels" | "targets"}, or a list of them. */
static bool add_npy_source(cJSON *data, const char *key, const nn_source *s)
{
    cJSON *list = s->npy_list ? cJSON_AddArrayToObject(data, key) : NULL;
    if (s->npy_list && !list)
        return false;
    for (int i = 0; i < s->n_parts; i++) {
        cJSON *o = list ? cJSON_CreateObject() : cJSON_AddObjectToObject(data, key);
        if (!o || (list && !cJSON_AddItemToArray(list, o))) {
            cJSON_Delete(list ? o : NULL);
            return false;
        }
        if (!cJSON_AddStringToObject(o, "npy", s->parts[i].x) ||
            !cJSON_AddStringToObject(o, s->npy_targets ? "targets" : "labels", s->parts[i].y))
            return false;
        if (i == 0 && s->csv.n_class_list > 0) {
            cJSON *cl = cJSON_AddArrayToObject(o, "classes");
            for (int k = 0; cl && k < s->csv.n_class_list; k++)
                if (!cJSON_AddItemToArray(cl, cJSON_CreateString(s->csv.class_list[k])))
                    return false;
            if (!cl)
                return false;
        }
        if (!list)
            break;
    }
    return true;
}

bool nn_cfg_add_source(cJSON *data, const char *key, const nn_source *s)
{
    if (s->format == NN_FORMAT_NPY)
        return add_npy_source(data, key, s);
    cJSON *o = cJSON_AddObjectToObject(data, key);
    if (!o)
        return false;
    if (s->format == NN_FORMAT_IDX)
        return cJSON_AddStringToObject(o, "images", s->file ? s->file : "") &&
               cJSON_AddStringToObject(o, "labels", s->labels ? s->labels : "");
    const nn_csv_spec *c = &s->csv;
    char delim[2] = {(char)c->delimiter, '\0'};
    cJSON *header = c->header == NN_HEADER_AUTO ? cJSON_CreateString("auto")
                                                : cJSON_CreateBool(c->header == NN_HEADER_YES);
    bool ok = cJSON_AddStringToObject(o, "path", s->file ? s->file : "") && header &&
              cJSON_AddItemToObject(o, "header", header);
    if (!ok)
        cJSON_Delete(header);
    ok = ok && cJSON_AddStringToObject(o, "delimiter", c->delimiter == NN_CSV_WHITESPACE
                                                           ? "whitespace" : delim);
    static const char *const missing[] = {"error", "drop", "mean"};
    char comment[2] = {(char)c->comment, '\0'};
    ok = ok && cJSON_AddNumberToObject(o, "skip_lines", (double)c->skip_lines);
    if (ok && c->comment)
        ok = cJSON_AddStringToObject(o, "comment", comment) != NULL;
    cJSON *na = ok ? cJSON_AddArrayToObject(o, "na_values") : NULL;
    ok = na != NULL;
    for (int i = 0; ok && i < (c->has_na ? c->n_na : NN_CSV_DEFAULT_NA); i++) {
        cJSON *e = cJSON_CreateString(c->has_na ? c->na_values[i] : nn_csv_default_na[i]);
        ok = e && cJSON_AddItemToArray(na, e);
        if (!ok)
            cJSON_Delete(e);
    }
    ok = ok && cJSON_AddStringToObject(o, "missing", missing[c->missing]);
    if (ok && c->n_class_list > 0) {
        cJSON *cl = cJSON_AddArrayToObject(o, "classes");
        ok = cl != NULL;
        for (int i = 0; ok && i < c->n_class_list; i++) {
            cJSON *e = cJSON_CreateString(c->class_list[i]);
            ok = e && cJSON_AddItemToArray(cl, e);
            if (!ok)
                cJSON_Delete(e);
        }
    }
    if (ok && c->has_label) {
        cJSON *l = column_json(&c->label);
        ok = l && cJSON_AddItemToObject(o, "label", l);
        if (!ok)
            cJSON_Delete(l);
        return ok;
    }
    cJSON *t = ok ? cJSON_AddArrayToObject(o, "targets") : NULL;
    ok = t != NULL;
    for (int i = 0; ok && i < c->n_targets; i++) {
        cJSON *e = column_json(&c->targets[i]);
        ok = e && cJSON_AddItemToArray(t, e);
        if (!ok)
            cJSON_Delete(e);
    }
    return ok;
}
