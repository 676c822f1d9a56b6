/* diag.c - messages: where an error is (FILE:LINE:COL, or the --set argument
 * that made the value), what was found, quoted safely and clipped, the
 * nearest valid key for an unknown one, and "applies only to". */
#include "config/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- where ----------------------------------------------------------------- */

nn_cfg_loc nn_cfg_value_loc(const nn_cfg_parser *p, const cJSON *node)
{
    const nn_cfg_pos *q = nn_cfg_pos_of(p, node);
    return q ? (nn_cfg_loc){q->set, q->start} : nn_cfg_file_loc(p->body);
}

nn_cfg_loc nn_cfg_key_loc(const nn_cfg_parser *p, const cJSON *node)
{
    const nn_cfg_pos *q = nn_cfg_pos_of(p, node);
    return q && q->key != CFG_NO_KEY ? (nn_cfg_loc){q->set, q->key} : nn_cfg_value_loc(p, node);
}

/* a comes after b in the order the user wrote them: the config text, then
 * each --set in turn. */
bool nn_cfg_loc_after(nn_cfg_loc a, nn_cfg_loc b)
{
    return a.set != b.set ? a.set > b.set : a.off > b.off;
}

nn_cfg_loc nn_cfg_later_loc(const nn_cfg_parser *p, nn_cfg_loc a, const cJSON *b)
{
    if (!b)
        return a;
    nn_cfg_loc lb = nn_cfg_value_loc(p, b);
    return nn_cfg_loc_after(lb, a) ? lb : a;
}

/* 1-based line and column (in UTF-8 characters) of a byte offset. */
static void line_col(const nn_cfg_parser *p, size_t off, long *line, long *col)
{
    *line = 1;
    *col = 1;
    if (off > p->len)
        off = p->len;
    for (size_t i = p->body < off ? p->body : off; i < off; i++) {
        unsigned char c = (unsigned char)p->text[i];
        if (c == '\n') {
            ++*line;
            *col = 1;
        } else if ((c & 0xC0) != 0x80) {
            ++*col;
        }
    }
}

/* ---- what ------------------------------------------------------------------ */

int nn_cfg_fail_at(const nn_cfg_parser *p, nn_cfg_loc at, const char *fmt, ...)
{
    char msg[sizeof p->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (at.set >= 0) {
        char arg[CFG_SET_CLIP + 8];
        const char *s = p->sets[at.set];
        nn_cfg_clip(arg, sizeof arg, s, strlen(s), CFG_SET_CLIP);
        nn_error_set(p->err, NN_EXIT_USAGE, "--set %s: %s", arg, msg);
        return -1;
    }
    long line, col;
    line_col(p, at.off, &line, &col);
    nn_error_set(p->err, NN_EXIT_USAGE, "%s:%ld:%ld: %s", p->name, line, col, msg);
    return -1;
}

int nn_cfg_fail_nomem(const nn_cfg_parser *p)
{
    nn_error_set(p->err, NN_EXIT_RUNTIME, "%s: out of memory", p->name);
    return -1;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len = s[0] < 0x80 ? 1 : s[0] >= 0xC2 && s[0] <= 0xDF ? 2
               : s[0] >= 0xE0 && s[0] <= 0xEF ? 3 : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

void nn_cfg_clip(char *out, size_t outsz, const char *s, size_t len, size_t max)
{
    const unsigned char *u = (const unsigned char *)s;
    if (outsz < 5)
        max = 0;
    else if (max > outsz - 4)
        max = outsz - 4;
    size_t i = 0, o = 0;
    while (i < len) {
        size_t k = utf8_len(u + i, len - i);
        size_t w = k ? k : 1;
        if (o + w > max)
            break;
        if (k == 0 || (k == 1 && (u[i] < 0x20 || u[i] == 0x7F)))
            out[o++] = '?';
        else
            for (size_t j = 0; j < k; j++)
                out[o++] = (char)u[i + j];
        i += w;
    }
    strcpy(out + o, i < len ? "..." : "");
}

const char *nn_cfg_type_phrase(const cJSON *v)
{
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsBool(v)) return "a boolean";
    if (cJSON_IsNull(v)) return "null";
    if (cJSON_IsArray(v)) return "an array";
    if (cJSON_IsObject(v)) return "an object";
    return "an invalid value";
}

/* "found a string" when a number was wanted reads better than the string
 * itself, hence `literal`. */
const char *nn_cfg_found(const nn_cfg_parser *p, const cJSON *v, bool literal, char *buf, size_t n)
{
    const nn_cfg_pos *q = nn_cfg_pos_of(p, v);
    if (literal && cJSON_IsNumber(v) && q) {
        nn_cfg_clip(buf, n, nn_cfg_pos_text(p, q) + q->start, q->end - q->start, CFG_CLIP);
        return buf;
    }
    if (literal && cJSON_IsString(v) && n > 2) {
        buf[0] = '"';
        nn_cfg_clip(buf + 1, n - 2, v->valuestring, strlen(v->valuestring), CFG_CLIP);
        strcat(buf, "\"");
        return buf;
    }
    return nn_cfg_type_phrase(v);
}

void nn_cfg_join(char *out, size_t n, const char *parent, const char *key)
{
    if (*parent)
        snprintf(out, n, "%s.%s", parent, key);
    else
        snprintf(out, n, "%s", key);
}

/* Optimal string alignment distance (an adjacent swap costs 1); strings
 * longer than 64 bytes count as far from everything. */
static int edit_distance(const char *a, const char *b)
{
    enum { MAXL = 64 };
    size_t la = strlen(a), lb = strlen(b);
    if (la > MAXL || lb > MAXL)
        return 1 << 20;
    int d[MAXL + 1][MAXL + 1];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int cost = a[i - 1] != b[j - 1];
            int best = d[i - 1][j - 1] + cost;
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

static int fail_unknown_key(const nn_cfg_parser *p, const cJSON *m, const char *path,
                            const char *const *keys, int nkeys)
{
    char name[CFG_CLIP + 8], where[300] = "", hint[400];
    nn_cfg_clip(name, sizeof name, m->string, strlen(m->string), CFG_CLIP);
    if (*path)
        snprintf(where, sizeof where, " in \"%s\"", path);
    int best = -1, best_d = 0;
    for (int k = 0; k < nkeys; k++) {
        int d = edit_distance(m->string, keys[k]);
        if (best < 0 || d < best_d) {
            best = k;
            best_d = d;
        }
    }
    int len = (int)strlen(keys[best]);
    int limit = len / 3 > 2 ? len / 3 : 2;
    if (best_d <= limit && best_d < len) {
        snprintf(hint, sizeof hint, "did you mean \"%s\"?", keys[best]);
    } else {
        size_t o = (size_t)snprintf(hint, sizeof hint, "valid keys:");
        for (int k = 0; k < nkeys && o < sizeof hint; k++)
            o += (size_t)snprintf(hint + o, sizeof hint - o, "%s \"%s\"", k ? "," : "", keys[k]);
    }
    return nn_cfg_fail_at(p, nn_cfg_key_loc(p, m), "unknown key \"%s\"%s (%s)", name, where, hint);
}

int nn_cfg_check_members(const nn_cfg_parser *p, const cJSON *obj, const char *path,
                      const char *const *keys, int nkeys)
{
    for (const cJSON *m = obj->child; m; m = m->next) {
        int k = 0;
        while (k < nkeys && strcmp(m->string, keys[k]) != 0)
            k++;
        if (k == nkeys)
            return fail_unknown_key(p, m, path, keys, nkeys);
        /* the earlier members are known and distinct, so this loop is short */
        for (const cJSON *e = obj->child; e != m; e = e->next)
            if (strcmp(e->string, m->string) == 0) {
                char where[300] = "";
                if (*path)
                    snprintf(where, sizeof where, " in \"%s\"", path);
                return nn_cfg_fail_at(p, nn_cfg_key_loc(p, m), "duplicate key \"%s\"%s", m->string,
                                   where);
            }
    }
    return 0;
}

int nn_cfg_fail_missing(const nn_cfg_parser *p, const cJSON *obj, const char *parent,
                     const char *key)
{
    char path[300];
    nn_cfg_join(path, sizeof path, parent, key);
    return nn_cfg_fail_at(p, nn_cfg_value_loc(p, obj), "missing required key \"%s\"", path);
}

int nn_cfg_fail_applies(const nn_cfg_parser *p, const cJSON *m, const char *path, const cJSON *chooser,
                     const char *what)
{
    return nn_cfg_fail_at(p, nn_cfg_later_loc(p, nn_cfg_key_loc(p, m), chooser),
                       "\"%s\" applies only to %s", path, what);
}
