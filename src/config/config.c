/* config.c - the JSON config: cJSON parses, this file validates.
 *
 * cJSON keeps no source positions, so after a successful parse a small JSON
 * scanner walks the text in document order in step with a pre-order walk of
 * the cJSON tree and records, for every node, the byte offset of its key (for
 * object members) and of its value.  Every error then points at the offending
 * key or value as FILE:LINE:COL (1-based; columns count UTF-8 characters).
 *
 * The scanner is also a strict JSON checker: it rejects what cJSON lets
 * through (leading zeros, "1.", raw control characters in strings, control
 * characters as white space) and, when cJSON fails, it locates the syntax
 * error more precisely than cJSON's error pointer does.
 *
 * --set KEY=VALUE overrides edit the cJSON tree between parsing and
 * validation.  The nodes they create get position records of their own that
 * name the argument (cfg_pos.set), so validation reports them as
 * "--set ARG: ..." with no other change; the nodes they replace are kept
 * alive until the end (a "graveyard") so that no node address is reused
 * while the position index holds it.
 */
#include "config/config.h"

#include <cJSON.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CFG_MAX_BYTES ((size_t)16 << 20) /* larger config files are refused */
#define CFG_MAX_DEPTH CJSON_NESTING_LIMIT
#define CFG_NO_KEY ((size_t)-1)
#define CFG_MAX_SEED ((int64_t)1 << 53)
#define CFG_MAX_EPOCHS 1000000
#define CFG_MAX_BATCH 65536
#define CFG_CLIP 40 /* bytes of a user's string or number quoted in a message */
#define CFG_SET_CLIP 200 /* bytes of a --set argument quoted in a message */
#define CFG_MAX_COLUMN 1000000 /* |column index| in a CSV source is below this */
#define CFG_MAX_TARGETS 65536  /* target columns of a CSV source */
/* how get_double's messages word the common ranges */
#define CFG_RANGE_UNIT "from 0 up to but not including 1" /* [0, 1) */
#define CFG_RANGE_POS "greater than 0"                    /* (0, inf) */
#define CFG_RANGE_NONNEG "0 or greater"                   /* [0, inf) */

/* ---- position index ------------------------------------------------------ */

typedef struct {
    const cJSON *node;
    size_t key;   /* offset of the member's opening quote, or CFG_NO_KEY */
    size_t start; /* offset of the value's first byte */
    size_t end;   /* one past the value's last byte */
    int set;      /* -1: offsets are in the config text; else they are in
                     the --set argument sets[set] (a node it created) */
} cfg_pos;

enum { SCAN_OK = 0, SCAN_SYNTAX, SCAN_NUL_ESCAPE, SCAN_TOO_DEEP, SCAN_NOMEM };

typedef struct {
    const char *s;
    size_t n;
    size_t i;       /* current offset */
    int status;     /* SCAN_* */
    size_t bad;     /* offset of the error when status != SCAN_OK */
    bool record;    /* false: only check the syntax (no tree) */
    int set;        /* cfg_pos.set of the records: -1 for the config text */
    cfg_pos *pos;   /* [npos], in document order until sorted */
    size_t npos, cap;
} scanner;

static int scan_fail(scanner *sc, int status, size_t at)
{
    sc->status = status;
    sc->bad = at;
    return -1;
}

static void scan_ws(scanner *sc)
{
    while (sc->i < sc->n) {
        char c = sc->s[sc->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        sc->i++;
    }
}

static bool scan_is_digit(scanner *sc)
{
    return sc->i < sc->n && sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9';
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string starting at the opening quote. */
static int scan_string(scanner *sc)
{
    sc->i++;
    while (sc->i < sc->n) {
        unsigned char c = (unsigned char)sc->s[sc->i];
        if (c == '"') {
            sc->i++;
            return 0;
        }
        if (c < 0x20)
            return scan_fail(sc, SCAN_SYNTAX, sc->i);
        if (c != '\\') {
            sc->i++;
            continue;
        }
        size_t esc = sc->i++;
        if (sc->i >= sc->n || !strchr("\"\\/bfnrtu", sc->s[sc->i]) || sc->s[sc->i] == '\0')
            return scan_fail(sc, SCAN_SYNTAX, esc);
        if (sc->s[sc->i++] != 'u')
            continue;
        if (sc->n - sc->i < 4)
            return scan_fail(sc, SCAN_SYNTAX, esc);
        for (int k = 0; k < 4; k++)
            if (!is_hex(sc->s[sc->i + k]))
                return scan_fail(sc, SCAN_SYNTAX, esc);
        if (memcmp(sc->s + sc->i, "0000", 4) == 0)
            return scan_fail(sc, SCAN_NUL_ESCAPE, esc); /* cJSON would cut the string */
        sc->i += 4;
    }
    return scan_fail(sc, SCAN_SYNTAX, sc->n);
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int scan_number(scanner *sc)
{
    size_t start = sc->i;
    if (sc->s[sc->i] == '-')
        sc->i++;
    if (sc->i < sc->n && sc->s[sc->i] == '0')
        sc->i++;
    else if (scan_is_digit(sc))
        while (scan_is_digit(sc))
            sc->i++;
    else
        return scan_fail(sc, SCAN_SYNTAX, start);
    if (sc->i < sc->n && sc->s[sc->i] == '.') {
        sc->i++;
        if (!scan_is_digit(sc))
            return scan_fail(sc, SCAN_SYNTAX, start);
        while (scan_is_digit(sc))
            sc->i++;
    }
    if (sc->i < sc->n && (sc->s[sc->i] == 'e' || sc->s[sc->i] == 'E')) {
        sc->i++;
        if (sc->i < sc->n && (sc->s[sc->i] == '+' || sc->s[sc->i] == '-'))
            sc->i++;
        if (!scan_is_digit(sc))
            return scan_fail(sc, SCAN_SYNTAX, start);
        while (scan_is_digit(sc))
            sc->i++;
    }
    /* "01" or "1x": the number must end here */
    if (sc->i < sc->n && (scan_is_digit(sc) || strchr("+-.eE", sc->s[sc->i]) ||
                          (sc->s[sc->i] >= 'a' && sc->s[sc->i] <= 'z')))
        return scan_fail(sc, SCAN_SYNTAX, start);
    return 0;
}

static int scan_literal(scanner *sc, const char *word)
{
    size_t len = strlen(word);
    if (sc->n - sc->i < len || memcmp(sc->s + sc->i, word, len) != 0)
        return scan_fail(sc, SCAN_SYNTAX, sc->i);
    sc->i += len;
    return 0;
}

/* Appends a position record; returns its index, or -1 (out of memory). */
static long scan_record(scanner *sc, const cJSON *node, size_t key)
{
    if (sc->npos == sc->cap) {
        size_t cap = sc->cap ? 2 * sc->cap : 64;
        cfg_pos *p = realloc(sc->pos, cap * sizeof *p);
        if (!p)
            return scan_fail(sc, SCAN_NOMEM, sc->i);
        sc->pos = p;
        sc->cap = cap;
    }
    sc->pos[sc->npos] = (cfg_pos){node, key, sc->i, sc->i, sc->set};
    return (long)sc->npos++;
}

/* The tree and the text disagree: cannot happen when both parsers agree on
 * the syntax; reported as a syntax error at the scanner's position. */
static bool scan_mismatch(const scanner *sc, const cJSON *node, int type)
{
    return sc->record && (!node || (node->type & 0xFF) != type);
}

/* One value (with its key offset when it is an object member).  In record
 * mode `node` is the cJSON node parsed from the same text. */
static int scan_value(scanner *sc, const cJSON *node, size_t key, int depth)
{
    scan_ws(sc);
    if (sc->i >= sc->n)
        return scan_fail(sc, SCAN_SYNTAX, sc->n);
    long idx = -1;
    if (sc->record && (idx = scan_record(sc, node, key)) < 0)
        return -1;
    char c = sc->s[sc->i];
    int rc = 0;
    if (c == '{' || c == '[') {
        bool obj = c == '{';
        if (depth >= CFG_MAX_DEPTH)
            return scan_fail(sc, SCAN_TOO_DEEP, sc->i);
        if (scan_mismatch(sc, node, obj ? cJSON_Object : cJSON_Array))
            return scan_fail(sc, SCAN_SYNTAX, sc->i);
        const cJSON *child = sc->record ? node->child : NULL;
        sc->i++;
        scan_ws(sc);
        if (sc->i < sc->n && sc->s[sc->i] == (obj ? '}' : ']')) {
            if (child)
                return scan_fail(sc, SCAN_SYNTAX, sc->i);
            sc->i++;
        } else {
            for (;;) {
                size_t k = CFG_NO_KEY;
                scan_ws(sc);
                if (obj) {
                    if (sc->i >= sc->n || sc->s[sc->i] != '"')
                        return scan_fail(sc, SCAN_SYNTAX, sc->i);
                    k = sc->i;
                    if (scan_string(sc) < 0)
                        return -1;
                    scan_ws(sc);
                    if (sc->i >= sc->n || sc->s[sc->i] != ':')
                        return scan_fail(sc, SCAN_SYNTAX, sc->i);
                    sc->i++;
                }
                if (sc->record && !child)
                    return scan_fail(sc, SCAN_SYNTAX, sc->i);
                if (scan_value(sc, child, k, depth + 1) < 0)
                    return -1;
                scan_ws(sc);
                if (sc->i < sc->n && sc->s[sc->i] == ',') {
                    sc->i++;
                    child = child ? child->next : NULL;
                    continue;
                }
                if (sc->i < sc->n && sc->s[sc->i] == (obj ? '}' : ']')) {
                    if (child && child->next)
                        return scan_fail(sc, SCAN_SYNTAX, sc->i);
                    sc->i++;
                    break;
                }
                return scan_fail(sc, SCAN_SYNTAX, sc->i);
            }
        }
    } else if (c == '"') {
        if (scan_mismatch(sc, node, cJSON_String))
            return scan_fail(sc, SCAN_SYNTAX, sc->i);
        rc = scan_string(sc);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        if (scan_mismatch(sc, node, cJSON_Number))
            return scan_fail(sc, SCAN_SYNTAX, sc->i);
        rc = scan_number(sc);
    } else if (c == 't' || c == 'f') {
        if (scan_mismatch(sc, node, c == 't' ? cJSON_True : cJSON_False))
            return scan_fail(sc, SCAN_SYNTAX, sc->i);
        rc = scan_literal(sc, c == 't' ? "true" : "false");
    } else if (c == 'n') {
        if (scan_mismatch(sc, node, cJSON_NULL))
            return scan_fail(sc, SCAN_SYNTAX, sc->i);
        rc = scan_literal(sc, "null");
    } else {
        return scan_fail(sc, SCAN_SYNTAX, sc->i);
    }
    if (rc == 0 && idx >= 0)
        sc->pos[idx].end = sc->i;
    return rc;
}

/* The whole document from offset `body` (after a byte-order mark). */
static int scan_document(scanner *sc, const cJSON *root, size_t body)
{
    sc->i = body;
    if (scan_value(sc, root, CFG_NO_KEY, 0) < 0)
        return -1;
    scan_ws(sc);
    if (sc->i != sc->n)
        return scan_fail(sc, SCAN_SYNTAX, sc->i);
    return 0;
}

static int pos_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const cfg_pos *)a)->node;
    uintptr_t y = (uintptr_t)((const cfg_pos *)b)->node;
    return x < y ? -1 : x > y;
}

/* ---- messages ------------------------------------------------------------ */

typedef struct {
    const char *name;   /* the config's name in messages */
    const char *text;   /* [len], NUL-terminated */
    size_t len;
    size_t body;        /* offset after a UTF-8 byte-order mark */
    cfg_pos *pos;       /* [npos], sorted by node */
    size_t npos;
    const char *dir;    /* folder for relative paths */
    char *const *sets;  /* [n_sets] --set arguments, "KEY=VALUE" */
    int n_sets;
    nn_error *err;
} cfg_parser;

/* Where an error is reported: a byte offset in the config text, or a --set
 * argument (set >= 0). */
typedef struct {
    int set;
    size_t off;
} cfg_loc;

static cfg_loc file_loc(size_t off)
{
    return (cfg_loc){-1, off};
}

static const cfg_pos *pos_of(const cfg_parser *p, const cJSON *node)
{
    cfg_pos key = {node, 0, 0, 0, -1};
    if (!p->pos)
        return NULL;
    return bsearch(&key, p->pos, p->npos, sizeof key, pos_cmp);
}

/* The text a record's offsets refer to. */
static const char *pos_text(const cfg_parser *p, const cfg_pos *q)
{
    return q->set < 0 ? p->text : p->sets[q->set];
}

static cfg_loc value_loc(const cfg_parser *p, const cJSON *node)
{
    const cfg_pos *q = pos_of(p, node);
    return q ? (cfg_loc){q->set, q->start} : file_loc(p->body);
}

static cfg_loc key_loc(const cfg_parser *p, const cJSON *node)
{
    const cfg_pos *q = pos_of(p, node);
    return q && q->key != CFG_NO_KEY ? (cfg_loc){q->set, q->key} : value_loc(p, node);
}

/* a comes after b in the order the user wrote them: the config text, then
 * each --set in turn. */
static bool loc_after(cfg_loc a, cfg_loc b)
{
    return a.set != b.set ? a.set > b.set : a.off > b.off;
}

/* 1-based line and column (in UTF-8 characters) of a byte offset. */
static void line_col(const cfg_parser *p, size_t off, long *line, long *col)
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

static void clip(char *out, size_t outsz, const char *s, size_t len, size_t max);

/* "FILE:LINE:COL: message", or "--set ARG: message" for a --set argument. */
__attribute__((format(printf, 3, 4)))
static int fail_at(const cfg_parser *p, cfg_loc at, const char *fmt, ...)
{
    char msg[sizeof p->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (at.set >= 0) {
        char arg[CFG_SET_CLIP + 8];
        const char *s = p->sets[at.set];
        clip(arg, sizeof arg, s, strlen(s), CFG_SET_CLIP);
        nn_error_set(p->err, NN_EXIT_USAGE, "--set %s: %s", arg, msg);
        return -1;
    }
    long line, col;
    line_col(p, at.off, &line, &col);
    nn_error_set(p->err, NN_EXIT_USAGE, "%s:%ld:%ld: %s", p->name, line, col, msg);
    return -1;
}

static int fail_nomem(const cfg_parser *p)
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

/* Copies at most `max` bytes of s[len] into out[outsz] for a message:
 * control characters and invalid UTF-8 become '?', a multi-byte character
 * is never cut, and "..." marks a shortened text. */
static void clip(char *out, size_t outsz, const char *s, size_t len, size_t max)
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

static const char *type_phrase(const cJSON *v)
{
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsBool(v)) return "a boolean";
    if (cJSON_IsNull(v)) return "null";
    if (cJSON_IsArray(v)) return "an array";
    if (cJSON_IsObject(v)) return "an object";
    return "an invalid value";
}

/* What was found: a number as written, a string quoted, anything else by
 * its type ("found a string" when a number was wanted reads better than the
 * string itself, so callers pass `literal` only for values of the right type). */
static const char *found(const cfg_parser *p, const cJSON *v, bool literal, char *buf, size_t n)
{
    const cfg_pos *q = pos_of(p, v);
    if (literal && cJSON_IsNumber(v) && q) {
        clip(buf, n, pos_text(p, q) + q->start, q->end - q->start, CFG_CLIP);
        return buf;
    }
    if (literal && cJSON_IsString(v) && n > 2) {
        buf[0] = '"';
        clip(buf + 1, n - 2, v->valuestring, strlen(v->valuestring), CFG_CLIP);
        strcat(buf, "\"");
        return buf;
    }
    return type_phrase(v);
}

/* "parent.key", or "key" at the top level. */
static void join(char *out, size_t n, const char *parent, const char *key)
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

static int fail_unknown_key(const cfg_parser *p, const cJSON *m, const char *path,
                            const char *const *keys, int nkeys)
{
    char name[CFG_CLIP + 8], where[300] = "", hint[400];
    clip(name, sizeof name, m->string, strlen(m->string), CFG_CLIP);
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
    return fail_at(p, key_loc(p, m), "unknown key \"%s\"%s (%s)", name, where, hint);
}

/* Every member of `obj` must be one of keys[nkeys] and appear once. */
static int check_members(const cfg_parser *p, const cJSON *obj, const char *path,
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
                return fail_at(p, key_loc(p, m), "duplicate key \"%s\"%s", m->string, where);
            }
    }
    return 0;
}

static int fail_missing(const cfg_parser *p, const cJSON *obj, const char *parent,
                        const char *key)
{
    char path[300];
    join(path, sizeof path, parent, key);
    return fail_at(p, value_loc(p, obj), "missing required key \"%s\"", path);
}

/* ---- typed values ---------------------------------------------------------
 * Each getter leaves *out unchanged when the key is absent. */

/* The exact value of a JSON number token when it is an integer that fits in
 * int64_t ("1e3" and "10.0" are integers, "1.5" is not); false otherwise. */
static bool token_to_int64(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = i < n && s[i] == '-';
    if (neg)
        i++;
    size_t m0 = i; /* mantissa: digits and at most one '.' */
    while (i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
        i++;
    size_t m1 = i;
    long exp = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = i < n && s[i] == '-';
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (exp < 100000)
                exp = exp * 10 + (s[i] - '0');
        if (eneg)
            exp = -exp;
    }
    size_t first = m0; /* first nonzero digit */
    while (first < m1 && (s[first] == '0' || s[first] == '.'))
        first++;
    if (first == m1) {
        *out = 0;
        return true;
    }
    size_t last = m1; /* one past the last nonzero digit */
    while (s[last - 1] == '0' || s[last - 1] == '.')
        last--;
    const char *dot = memchr(s + m0, '.', m1 - m0);
    size_t dotpos = dot ? (size_t)(dot - s) : m1;
    /* value = digits[first, last) * 10^e */
    long e = exp + (last <= dotpos ? (long)(dotpos - last) : -(long)(last - dotpos - 1));
    size_t nd = last - first - (dotpos > first && dotpos < last);
    if (e < 0 || (long)nd + e > 19)
        return false;
    uint64_t v = 0;
    for (size_t j = first; j < last; j++)
        if (s[j] != '.')
            v = v * 10 + (uint64_t)(s[j] - '0');
    for (long j = 0; j < e; j++) {
        if (v > UINT64_MAX / 10)
            return false;
        v *= 10;
    }
    if (v > (uint64_t)INT64_MAX)
        return false;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return true;
}

/* The exact integer value of a number node, from its token as written. */
static bool node_int64(const cfg_parser *p, const cJSON *v, int64_t *out)
{
    const cfg_pos *q = pos_of(p, v);
    return cJSON_IsNumber(v) && q &&
           token_to_int64(pos_text(p, q) + q->start, q->end - q->start, out);
}

static int get_int64(const cfg_parser *p, const cJSON *obj, const char *parent,
                     const char *key, int64_t lo, int64_t hi, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return 0;
    char path[300], buf[CFG_CLIP + 8];
    join(path, sizeof path, parent, key);
    int64_t x;
    if (!node_int64(p, v, &x) || x < lo || x > hi)
        return fail_at(p, value_loc(p, v),
                       "\"%s\" must be an integer from %" PRId64 " to %" PRId64 ", found %s", path,
                       lo, hi, found(p, v, cJSON_IsNumber(v), buf, sizeof buf));
    *out = x;
    return 0;
}

static int get_int(const cfg_parser *p, const cJSON *obj, const char *parent, const char *key,
                   int lo, int hi, int *out)
{
    int64_t x = *out;
    if (get_int64(p, obj, parent, key, lo, hi, &x) < 0)
        return -1;
    *out = (int)x;
    return 0;
}

/* A finite number with lo <= x, and x < hi (hi_open) or x <= hi; `range`
 * words the allowed range for the message. */
static int get_double(const cfg_parser *p, const cJSON *obj, const char *parent, const char *key,
                      bool lo_open, double lo, bool hi_open, double hi, const char *range,
                      double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return 0;
    char path[300], buf[CFG_CLIP + 8];
    join(path, sizeof path, parent, key);
    if (!cJSON_IsNumber(v))
        return fail_at(p, value_loc(p, v), "\"%s\" must be a number, found %s", path,
                       type_phrase(v));
    double x = v->valuedouble;
    if (!isfinite(x) || (lo_open ? x <= lo : x < lo) || (hi_open ? x >= hi : x > hi))
        return fail_at(p, value_loc(p, v), "\"%s\" must be a number %s, found %s", path, range,
                       found(p, v, true, buf, sizeof buf));
    *out = x;
    return 0;
}

static int get_bool(const cfg_parser *p, const cJSON *obj, const char *parent, const char *key,
                    bool *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return 0;
    if (!cJSON_IsBool(v)) {
        char path[300];
        join(path, sizeof path, parent, key);
        return fail_at(p, value_loc(p, v), "\"%s\" must be true or false, found %s", path,
                       type_phrase(v));
    }
    *out = cJSON_IsTrue(v);
    return 0;
}

/* A non-empty string; *out points into the cJSON tree. */
static int get_string(const cfg_parser *p, const cJSON *obj, const char *parent,
                      const char *key, const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return 0;
    if (!cJSON_IsString(v) || !*v->valuestring) {
        char path[300], buf[CFG_CLIP + 8];
        join(path, sizeof path, parent, key);
        return fail_at(p, value_loc(p, v), "\"%s\" must be a non-empty string, found %s", path,
                       found(p, v, cJSON_IsString(v), buf, sizeof buf));
    }
    *out = v->valuestring;
    return 0;
}

/* An object member; *out NULL when absent. */
static int get_object(const cfg_parser *p, const cJSON *obj, const char *parent,
                      const char *key, const cJSON **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = NULL;
    if (!v)
        return 0;
    if (!cJSON_IsObject(v)) {
        char path[300];
        join(path, sizeof path, parent, key);
        return fail_at(p, value_loc(p, v), "\"%s\" must be an object, found %s", path,
                       type_phrase(v));
    }
    *out = v;
    return 0;
}

/* Enum names come from the nn_*_name functions, so the list stays in step
 * with types.c. */
typedef struct {
    const char *(*name)(int v);
    int (*from_name)(const char *s);
} cfg_enum;

static const char *act_name(int v) { return nn_act_name((nn_act)v); }
static const char *loss_name(int v) { return nn_loss_name((nn_loss)v); }
static const char *opt_name(int v) { return nn_opt_name((nn_opt)v); }
static const char *scale_name(int v) { return nn_scale_name((nn_scale)v); }
static const char *init_name(int v) { return nn_init_name((nn_init)v); }
static const char *sched_name(int v) { return nn_sched_name_name((nn_sched_name)v); }

static const cfg_enum enum_act = {act_name, nn_act_from_name};
static const cfg_enum enum_loss = {loss_name, nn_loss_from_name};
static const cfg_enum enum_opt = {opt_name, nn_opt_from_name};
static const cfg_enum enum_scale = {scale_name, nn_scale_from_name};
static const cfg_enum enum_init = {init_name, nn_init_from_name};
static const cfg_enum enum_sched = {sched_name, nn_sched_name_from_name};

static int get_enum(const cfg_parser *p, const cJSON *obj, const char *parent, const char *key,
                    const cfg_enum *e, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return 0;
    int x = cJSON_IsString(v) ? e->from_name(v->valuestring) : -1;
    if (x >= 0) {
        *out = x;
        return 0;
    }
    char path[300], names[300] = "", buf[CFG_CLIP + 8];
    join(path, sizeof path, parent, key);
    size_t o = 0;
    for (int k = 0; k < 32 && o < sizeof names && strcmp(e->name(k), "?") != 0; k++)
        o += (size_t)snprintf(names + o, sizeof names - o, "%s\"%s\"", k ? ", " : "", e->name(k));
    return fail_at(p, value_loc(p, v), "\"%s\" must be one of %s, found %s", path, names,
                   found(p, v, cJSON_IsString(v), buf, sizeof buf));
}

/* ---- settings that must fit together ---------------------------------------- */

/* The place of a conflict between the setting at `a` and the value `b` (NULL
 * when b is a default): whichever of the two the user wrote later. */
static cfg_loc later_loc(const cfg_parser *p, cfg_loc a, const cJSON *b)
{
    if (!b)
        return a;
    cfg_loc lb = value_loc(p, b);
    return loc_after(lb, a) ? lb : a;
}

/* The member `key` of obj, when present, must be one that applies to the
 * choice made by `chooser` (the value that chose, NULL for a default):
 * otherwise "\"PATH\" applies only to WHAT". */
static int check_applies(const cfg_parser *p, const cJSON *obj, const char *parent,
                         const char *key, bool applies, const cJSON *chooser, const char *what)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!m || applies)
        return 0;
    char path[300];
    join(path, sizeof path, parent, key);
    return fail_at(p, later_loc(p, key_loc(p, m), chooser), "\"%s\" applies only to %s", path,
                   what);
}

/* The shortest of %.15g..%.17g that reads back as the same double. */
static void fmt_double(char *buf, size_t n, double v)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
}

/* ---- paths ---------------------------------------------------------------- */

/* `path` resolved against `dir` (absolute paths and "-" unchanged); malloc'd. */
static char *resolve(const char *dir, const char *path)
{
    if (path[0] == '/' || strcmp(dir, ".") == 0 || strcmp(path, "-") == 0)
        return strdup(path);
    size_t ld = strlen(dir), lp = strlen(path);
    bool slash = ld > 0 && dir[ld - 1] == '/';
    char *s = malloc(ld + lp + 2);
    if (!s)
        return NULL;
    memcpy(s, dir, ld);
    if (!slash)
        s[ld++] = '/';
    memcpy(s + ld, path, lp + 1);
    return s;
}

/* The folder of a file name: "a/b.json" -> "a", "b.json" -> ".", "/b" -> "/". */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    size_t n = (size_t)(slash - path);
    while (n > 0 && path[n - 1] == '/')
        n--;
    if (n == 0)
        return strdup("/");
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

/* ---- sections ------------------------------------------------------------- */

static int parse_idx_source(const cfg_parser *p, const cJSON *obj, const char *path,
                            nn_source *src)
{
    static const char *const keys[] = {"images", "labels"};
    const char *images = NULL, *labels = NULL;
    if (check_members(p, obj, path, keys, 2) < 0 ||
        get_string(p, obj, path, "images", &images) < 0 ||
        get_string(p, obj, path, "labels", &labels) < 0)
        return -1;
    if (!images)
        return fail_missing(p, obj, path, "images");
    if (!labels)
        return fail_missing(p, obj, path, "labels");
    src->kind = NN_SRC_IDX;
    src->images = strdup(images);
    src->labels = strdup(labels);
    src->images_path = resolve(p->dir, images);
    src->labels_path = resolve(p->dir, labels);
    if (!src->images || !src->labels || !src->images_path || !src->labels_path)
        return fail_nomem(p);
    return 0;
}

/* A CSV column: a non-empty name, or an integer index with |index| <
 * CFG_MAX_COLUMN (negative counts from the end).  out->name is malloc'd. */
static int parse_column(const cfg_parser *p, const cJSON *v, const char *path, nn_column *out)
{
    int64_t x;
    if (cJSON_IsString(v) && *v->valuestring) {
        out->name = strdup(v->valuestring);
        out->index = 0;
        return out->name ? 0 : fail_nomem(p);
    }
    if (node_int64(p, v, &x) && x > -CFG_MAX_COLUMN && x < CFG_MAX_COLUMN) {
        out->name = NULL;
        out->index = (long)x;
        return 0;
    }
    char buf[CFG_CLIP + 8];
    return fail_at(p, value_loc(p, v),
                   "\"%s\" must be a column name or an integer from %d to %d, found %s", path,
                   -(CFG_MAX_COLUMN - 1), CFG_MAX_COLUMN - 1,
                   found(p, v, cJSON_IsNumber(v) || cJSON_IsString(v), buf, sizeof buf));
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
static int parse_targets(const cfg_parser *p, const cJSON *v, const char *path, nn_csv_spec *csv)
{
    char tpath[320];
    snprintf(tpath, sizeof tpath, "%s.targets", path);
    if (!cJSON_IsArray(v) || !v->child)
        return fail_at(p, value_loc(p, v),
                       "\"%s\" must be a non-empty array of column names or indices, found %s",
                       tpath, cJSON_IsArray(v) ? "an empty array" : type_phrase(v));
    int n = cJSON_GetArraySize(v);
    if (n > CFG_MAX_TARGETS)
        return fail_at(p, value_loc(p, v), "\"%s\" must hold at most %d columns, found %d", tpath,
                       CFG_MAX_TARGETS, n);
    csv->targets = calloc((size_t)n, sizeof *csv->targets);
    col_ref *refs = malloc((size_t)n * sizeof *refs);
    if (!csv->targets || !refs) {
        free(refs);
        return fail_nomem(p);
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
        clip(name, sizeof name, dup->col->name, strlen(dup->col->name), CFG_CLIP);
        rc = fail_at(p, value_loc(p, dup->node), "duplicate column \"%s\" in \"%s\"", name, tpath);
    } else if (dup) {
        rc = fail_at(p, value_loc(p, dup->node), "duplicate column %ld in \"%s\"",
                     dup->col->index, tpath);
    }
    free(refs);
    return rc;
}

static int parse_csv_source(const cfg_parser *p, const cJSON *obj, const char *path,
                            nn_source *src)
{
    static const char *const keys[] = {"path", "label", "targets", "header", "delimiter"};
    const char *file = NULL;
    char sub[320], buf[CFG_CLIP + 8];
    if (check_members(p, obj, path, keys, 5) < 0 || get_string(p, obj, path, "path", &file) < 0)
        return -1;
    src->kind = NN_SRC_CSV;
    src->csv.header = NN_HEADER_AUTO;
    src->csv.delimiter = ',';
    src->path = strdup(file);
    src->path_resolved = resolve(p->dir, file);
    if (!src->path || !src->path_resolved)
        return fail_nomem(p);

    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "header");
    if (v) {
        if (cJSON_IsBool(v))
            src->csv.header = cJSON_IsTrue(v) ? NN_HEADER_YES : NN_HEADER_NO;
        else if (!cJSON_IsString(v) || strcmp(v->valuestring, "auto") != 0)
            return fail_at(p, value_loc(p, v), "\"%s.header\" must be true, false or \"auto\", "
                           "found %s", path, found(p, v, cJSON_IsString(v), buf, sizeof buf));
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
            return fail_at(p, value_loc(p, v), "\"%s.delimiter\" must be one ASCII character "
                           "other than a double quote, CR or LF, or \"whitespace\", found %s",
                           path, found(p, v, cJSON_IsString(v), buf, sizeof buf));
    }

    const cJSON *label = cJSON_GetObjectItemCaseSensitive(obj, "label");
    const cJSON *targets = cJSON_GetObjectItemCaseSensitive(obj, "targets");
    if (label && targets) {
        const cJSON *at = loc_after(key_loc(p, label), key_loc(p, targets)) ? label : targets;
        return fail_at(p, key_loc(p, at), "\"%s\" cannot have both \"label\" (a class column) "
                       "and \"targets\" (regression columns)", path);
    }
    if (targets)
        return parse_targets(p, targets, path, &src->csv);
    src->csv.has_label = true;
    src->csv.label = (nn_column){NULL, -1};
    snprintf(sub, sizeof sub, "%s.label", path);
    return label ? parse_column(p, label, sub, &src->csv.label) : 0;
}

/* An IDX pair or a CSV file, told apart by "images"/"labels" versus "path". */
static int parse_source(const cfg_parser *p, const cJSON *obj, const char *path, nn_source *src)
{
    static const char *const any_keys[] = {"path", "label", "targets", "header", "delimiter",
                                           "images", "labels"};
    const cJSON *csv_key = NULL, *idx_key = NULL;
    for (const cJSON *m = obj->child; m; m = m->next) {
        if (!csv_key && strcmp(m->string, "path") == 0)
            csv_key = m;
        if (!idx_key && (strcmp(m->string, "images") == 0 || strcmp(m->string, "labels") == 0))
            idx_key = m;
    }
    if (csv_key && idx_key) {
        /* {"path", "labels"} is most likely a misspelt CSV "label" */
        bool hint = strcmp(idx_key->string, "labels") == 0 &&
                    !cJSON_GetObjectItemCaseSensitive(obj, "label");
        const cJSON *at = hint || loc_after(key_loc(p, idx_key), key_loc(p, csv_key))
                              ? idx_key : csv_key;
        return fail_at(p, key_loc(p, at), "\"%s\" cannot have both \"path\" (a CSV source) and "
                       "\"%s\" (an IDX source)%s", path, idx_key->string,
                       hint ? "; did you mean \"label\"?" : "");
    }
    if (csv_key)
        return parse_csv_source(p, obj, path, src);
    if (idx_key)
        return parse_idx_source(p, obj, path, src);
    if (check_members(p, obj, path, any_keys, 7) < 0)
        return -1;
    if (obj->child) /* only CSV keys such as "label" */
        return fail_missing(p, obj, path, "path");
    return fail_at(p, value_loc(p, obj), "\"%s\" must have \"path\" (a CSV source) or "
                   "\"images\" and \"labels\" (an IDX source)", path);
}

/* data.test and data.validation must be labelled like data.train: targets
 * (as many) when data.train has targets, a label column otherwise. */
static int check_like_train(const cfg_parser *p, const cJSON *obj, const char *path,
                            const nn_source *s, const nn_config *cfg)
{
    bool targets = s->kind == NN_SRC_CSV && !s->csv.has_label;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "targets");
    if (cfg->regression && s->kind == NN_SRC_IDX)
        return fail_at(p, value_loc(p, obj), "\"%s\" must be a CSV source with targets like "
                       "\"data.train\", found an IDX source", path);
    if (cfg->regression && !targets) {
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(obj, "label");
        return fail_at(p, l ? key_loc(p, l) : value_loc(p, obj), "\"%s\" must have targets "
                       "like \"data.train\", found a label column", path);
    }
    if (cfg->regression && s->csv.n_targets != cfg->n_targets)
        return fail_at(p, value_loc(p, t), "\"%s.targets\" must have %d columns like "
                       "\"data.train.targets\", found %d", path, cfg->n_targets,
                       s->csv.n_targets);
    if (!cfg->regression && targets)
        return fail_at(p, key_loc(p, t), "\"%s\" must have a label column like \"data.train\", "
                       "found targets", path);
    return 0;
}

static int parse_data(const cfg_parser *p, const cJSON *root, nn_config *cfg)
{
    static const char *const keys[] = {"train", "test", "validation", "validation_fraction",
                                       "scale"};
    const cJSON *obj, *train, *test, *val;
    int scale = (int)cfg->scale;
    if (get_object(p, root, "", "data", &obj) < 0)
        return -1;
    if (!obj)
        return fail_missing(p, root, "data", "train");
    if (check_members(p, obj, "data", keys, 5) < 0 ||
        get_object(p, obj, "data", "train", &train) < 0 ||
        get_object(p, obj, "data", "test", &test) < 0 ||
        get_object(p, obj, "data", "validation", &val) < 0 ||
        get_double(p, obj, "data", "validation_fraction", false, 0.0, true, 1.0,
                   "from 0 up to but not including 1", &cfg->validation_fraction) < 0 ||
        get_enum(p, obj, "data", "scale", &enum_scale, &scale) < 0)
        return -1;
    cfg->scale = (nn_scale)scale;
    if (!train)
        return fail_missing(p, obj, "data", "train");
    if (val && cfg->validation_fraction > 0) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "validation_fraction");
        char buf[CFG_CLIP + 8];
        return fail_at(p, value_loc(p, v),
                       "\"data.validation_fraction\" must be 0 when \"data.validation\" is "
                       "given, found %s", found(p, v, true, buf, sizeof buf));
    }
    if (parse_source(p, train, "data.train", &cfg->train) < 0)
        return -1;
    cfg->has_train = true;
    if (cfg->train.kind == NN_SRC_CSV && !cfg->train.csv.has_label) {
        cfg->regression = true;
        cfg->n_targets = cfg->train.csv.n_targets;
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

/* The per-layer keys after "units" and "activation": alpha, init, dropout. */
static int parse_layer_options(const cfg_parser *p, const cJSON *l, const char *path,
                               bool out_layer, nn_layer_cfg *layer)
{
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(l, "activation");
    bool leaky = layer->act == NN_ACT_LEAKY_RELU, elu = layer->act == NN_ACT_ELU;
    int init = (int)NN_INIT_AUTO;
    layer->alpha = nn_act_default_alpha(layer->act);
    layer->dropout = 0.0;
    if (check_applies(p, l, path, "alpha", leaky || elu, act, "leaky_relu and elu") < 0 ||
        (leaky && get_double(p, l, path, "alpha", false, 0.0, true, 1.0,
                             CFG_RANGE_UNIT " for leaky_relu", &layer->alpha) < 0) ||
        (elu && get_double(p, l, path, "alpha", true, 0.0, false, HUGE_VAL,
                           CFG_RANGE_POS " for elu", &layer->alpha) < 0) ||
        get_enum(p, l, path, "init", &enum_init, &init) < 0)
        return -1;
    layer->init = (nn_init)init;
    const cJSON *drop = cJSON_GetObjectItemCaseSensitive(l, "dropout");
    if (drop && out_layer)
        return fail_at(p, key_loc(p, drop), "\"%s.dropout\" is not allowed on the output layer: "
                       "dropout zeroes a layer's outputs at random, and these outputs are the "
                       "predictions", path);
    return get_double(p, l, path, "dropout", false, 0.0, true, 1.0, CFG_RANGE_UNIT,
                      &layer->dropout);
}

/* Softmax is row-wise over the output layer's units: only there, over at
 * least two units, and only for classes. */
static int check_softmax(const cfg_parser *p, const cJSON *l, const char *path, bool out_layer,
                         const nn_layer_cfg *layer, const nn_config *cfg)
{
    if (layer->act != NN_ACT_SOFTMAX)
        return 0;
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(l, "activation");
    const cJSON *units = cJSON_GetObjectItemCaseSensitive(l, "units");
    if (!out_layer)
        return fail_at(p, value_loc(p, act), "\"%s.activation\": softmax is only allowed on the "
                       "output layer", path);
    if (cfg->regression)
        return fail_at(p, value_loc(p, act), "\"%s.activation\": a softmax output layer is for "
                       "classes, but \"data.train\" has targets (regression)", path);
    if (layer->units < 2)
        return fail_at(p, later_loc(p, value_loc(p, act), units), "\"%s.activation\": softmax "
                       "needs at least 2 units (over one unit it is the constant 1), found %d",
                       path, layer->units);
    return 0;
}

static int parse_model(const cfg_parser *p, const cJSON *root, nn_config *cfg)
{
    static const char *const model_keys[] = {"layers"};
    static const char *const layer_keys[] = {"units", "activation", "alpha", "init", "dropout"};
    const cJSON *obj;
    if (get_object(p, root, "", "model", &obj) < 0)
        return -1;
    if (!obj)
        return fail_missing(p, root, "model", "layers");
    if (check_members(p, obj, "model", model_keys, 1) < 0)
        return -1;
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(obj, "layers");
    if (!layers)
        return fail_missing(p, obj, "model", "layers");
    if (!cJSON_IsArray(layers))
        return fail_at(p, value_loc(p, layers), "\"model.layers\" must be an array, found %s",
                       type_phrase(layers));
    int n = cJSON_GetArraySize(layers);
    if (n < 1 || n > NN_MAX_LAYERS)
        return fail_at(p, value_loc(p, layers),
                       "\"model.layers\" must hold from 1 to %d layers, found %d", NN_MAX_LAYERS,
                       n);
    int i = 0;
    for (const cJSON *l = layers->child; l; l = l->next, i++) {
        char path[64];
        snprintf(path, sizeof path, "model.layers.%d", i);
        if (!cJSON_IsObject(l))
            return fail_at(p, value_loc(p, l), "\"%s\" must be an object, found %s", path,
                           type_phrase(l));
        /* a regression output defaults to identity: sigmoid would bound it */
        bool out_layer = i == n - 1;
        int units = 0, act = (int)(cfg->regression && out_layer ? NN_ACT_IDENTITY
                                                                  : NN_ACT_SIGMOID);
        if (check_members(p, l, path, layer_keys, 5) < 0 ||
            get_int(p, l, path, "units", 1, NN_MAX_UNITS, &units) < 0 ||
            get_enum(p, l, path, "activation", &enum_act, &act) < 0)
            return -1;
        if (!units)
            return fail_missing(p, l, path, "units");
        if (out_layer && cfg->regression && units != cfg->n_targets) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(l, "units");
            char buf[CFG_CLIP + 8];
            return fail_at(p, value_loc(p, v), "\"%s.units\" must equal the number of "
                           "data.train.targets (%d), found %s", path, cfg->n_targets,
                           found(p, v, true, buf, sizeof buf));
        }
        nn_layer_cfg *layer = &cfg->layers[i];
        layer->units = units;
        layer->act = (nn_act)act;
        if (check_softmax(p, l, path, out_layer, layer, cfg) < 0 ||
            parse_layer_options(p, l, path, out_layer, layer) < 0)
            return -1;
    }
    cfg->n_layers = n;
    return 0;
}

/* The loss must suit the output layer and the kind of problem.  `loss` is the
 * "loss" value (NULL: the default), `act` the last layer's "activation" value
 * (NULL: its default). */
static int check_loss_pairing(const cfg_parser *p, const cJSON *loss, const cJSON *act,
                              const nn_config *cfg)
{
    nn_act out = cfg->layers[cfg->n_layers - 1].act;
    const char *ln = nn_loss_name(cfg->loss), *an = nn_act_name(out);
    bool ce = cfg->loss == NN_LOSS_CROSS_ENTROPY, bce = cfg->loss == NN_LOSS_BINARY_CROSS_ENTROPY;
    cfg_loc both = loss ? later_loc(p, value_loc(p, loss), act) : value_loc(p, act);
    if ((ce || bce) && cfg->regression)
        return fail_at(p, value_loc(p, loss), "loss \"%s\" is a classification loss, but "
                       "\"data.train\" has targets (regression): use \"mse\", \"mae\" or "
                       "\"huber\"", ln);
    if (ce && out != NN_ACT_SOFTMAX)
        return fail_at(p, both, "loss \"cross_entropy\" needs a softmax output layer (the last "
                       "layer's activation is \"%s\")", an);
    if (bce && out != NN_ACT_SIGMOID)
        return fail_at(p, both, "loss \"binary_cross_entropy\" needs a sigmoid output layer, "
                       "whose outputs lie in (0, 1) (the last layer's activation is \"%s\")",
                       an);
    if (out == NN_ACT_SOFTMAX && !ce)
        return fail_at(p, both, "a softmax output layer needs loss \"cross_entropy\": with "
                       "\"%s\" the outputs, tied to sum to 1, learn through the softmax Jacobian "
                       "diag(p) - p p^T, which vanishes as they saturate; cross-entropy cancels "
                       "it (gradient p - y) and is the pairing nntrain supports", ln);
    return 0;
}

static int parse_loss(const cfg_parser *p, const cJSON *root, nn_config *cfg)
{
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(model, "layers");
    const cJSON *last = cJSON_GetArrayItem(layers, cfg->n_layers - 1);
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(last, "activation");
    const cJSON *loss = cJSON_GetObjectItemCaseSensitive(root, "loss");
    int l = (int)cfg->loss;
    if (get_enum(p, root, "", "loss", &enum_loss, &l) < 0)
        return -1;
    cfg->loss = (nn_loss)l;
    if (check_applies(p, root, "", "huber_delta", cfg->loss == NN_LOSS_HUBER, loss,
                      "loss \"huber\"") < 0 ||
        get_double(p, root, "", "huber_delta", true, 0.0, false, HUGE_VAL, CFG_RANGE_POS,
                   &cfg->huber_delta) < 0)
        return -1;
    return check_loss_pairing(p, loss, act, cfg);
}

static int parse_schedule(const cfg_parser *p, const cJSON *opt, nn_config *cfg)
{
    static const char *const keys[] = {"name", "gamma", "step_epochs", "min_lr",
                                       "warmup_epochs"};
    static const char path[] = "optimizer.schedule";
    nn_schedule_cfg *s = &cfg->schedule;
    const cJSON *obj;
    int name = (int)s->name;
    if (get_object(p, opt, "optimizer", "schedule", &obj) < 0)
        return -1;
    if (!obj)
        return 0;
    if (check_members(p, obj, path, keys, 5) < 0 ||
        get_enum(p, obj, path, "name", &enum_sched, &name) < 0)
        return -1;
    s->name = (nn_sched_name)name;
    const cJSON *chooser = cJSON_GetObjectItemCaseSensitive(obj, "name");
    bool step = s->name == NN_SCHED_NAME_STEP, expo = s->name == NN_SCHED_NAME_EXPONENTIAL;
    bool cosine = s->name == NN_SCHED_NAME_COSINE;
    if (expo)
        s->gamma = 0.95;
    if (check_applies(p, obj, path, "gamma", step || expo, chooser, "step and exponential") < 0 ||
        check_applies(p, obj, path, "step_epochs", step, chooser, "step") < 0 ||
        check_applies(p, obj, path, "min_lr", cosine, chooser, "cosine") < 0 ||
        get_double(p, obj, path, "gamma", true, 0.0, false, 1.0, "greater than 0 and at most 1",
                   &s->gamma) < 0 ||
        get_int(p, obj, path, "step_epochs", 1, CFG_MAX_EPOCHS, &s->step_epochs) < 0 ||
        get_double(p, obj, path, "min_lr", false, 0.0, false, HUGE_VAL, CFG_RANGE_NONNEG,
                   &s->min_lr) < 0 ||
        get_int(p, obj, path, "warmup_epochs", 0, CFG_MAX_EPOCHS, &s->warmup_epochs) < 0)
        return -1;
    const cJSON *min_lr = cJSON_GetObjectItemCaseSensitive(obj, "min_lr");
    if (min_lr && s->min_lr >= cfg->learning_rate) {
        const cJSON *lr = cJSON_GetObjectItemCaseSensitive(opt, "learning_rate");
        char rate[40], buf[CFG_CLIP + 8];
        fmt_double(rate, sizeof rate, cfg->learning_rate);
        return fail_at(p, later_loc(p, value_loc(p, min_lr), lr), "\"%s.min_lr\" must be below "
                       "\"optimizer.learning_rate\" (%s), found %s", path, rate,
                       found(p, min_lr, true, buf, sizeof buf));
    }
    return 0;
}

static int parse_optimizer(const cfg_parser *p, const cJSON *root, nn_config *cfg)
{
    static const char *const keys[] = {"name", "learning_rate", "momentum", "nesterov", "beta1",
                                       "beta2", "eps", "weight_decay", "clip_norm", "schedule"};
    static const char path[] = "optimizer";
    const cJSON *opt;
    int name = (int)cfg->optimizer;
    if (get_object(p, root, "", path, &opt) < 0)
        return -1;
    if (!opt)
        return 0;
    if (check_members(p, opt, path, keys, 10) < 0 ||
        get_enum(p, opt, path, "name", &enum_opt, &name) < 0)
        return -1;
    cfg->optimizer = (nn_opt)name;
    const cJSON *chooser = cJSON_GetObjectItemCaseSensitive(opt, "name");
    bool sgd = cfg->optimizer == NN_OPT_SGD;
    if (!sgd)
        cfg->learning_rate = 0.001; /* Adam's step is about lr whatever the gradient's size */
    if (check_applies(p, opt, path, "momentum", sgd, chooser, "sgd") < 0 ||
        check_applies(p, opt, path, "nesterov", sgd, chooser, "sgd") < 0 ||
        check_applies(p, opt, path, "beta1", !sgd, chooser, "adam and adamw") < 0 ||
        check_applies(p, opt, path, "beta2", !sgd, chooser, "adam and adamw") < 0 ||
        check_applies(p, opt, path, "eps", !sgd, chooser, "adam and adamw") < 0 ||
        get_double(p, opt, path, "learning_rate", true, 0.0, false, HUGE_VAL, CFG_RANGE_POS,
                   &cfg->learning_rate) < 0 ||
        get_double(p, opt, path, "momentum", false, 0.0, true, 1.0, CFG_RANGE_UNIT,
                   &cfg->momentum) < 0 ||
        get_bool(p, opt, path, "nesterov", &cfg->nesterov) < 0 ||
        get_double(p, opt, path, "beta1", false, 0.0, true, 1.0, CFG_RANGE_UNIT,
                   &cfg->beta1) < 0 ||
        get_double(p, opt, path, "beta2", false, 0.0, true, 1.0, CFG_RANGE_UNIT,
                   &cfg->beta2) < 0 ||
        get_double(p, opt, path, "eps", true, 0.0, false, HUGE_VAL, CFG_RANGE_POS,
                   &cfg->eps) < 0 ||
        get_double(p, opt, path, "weight_decay", false, 0.0, false, HUGE_VAL, CFG_RANGE_NONNEG,
                   &cfg->weight_decay) < 0 ||
        get_double(p, opt, path, "clip_norm", false, 0.0, false, HUGE_VAL, CFG_RANGE_NONNEG,
                   &cfg->clip_norm) < 0)
        return -1;
    if (cfg->nesterov && cfg->momentum == 0.0) {
        const cJSON *nesterov = cJSON_GetObjectItemCaseSensitive(opt, "nesterov");
        const cJSON *momentum = cJSON_GetObjectItemCaseSensitive(opt, "momentum");
        return fail_at(p, later_loc(p, value_loc(p, nesterov), momentum), "\"optimizer.nesterov\" "
                       "needs \"optimizer.momentum\" greater than 0 (Nesterov's look-ahead "
                       "follows the momentum; with 0 there is none)");
    }
    return parse_schedule(p, opt, cfg);
}

static bool has_validation_data(const nn_config *cfg)
{
    return cfg->has_validation || cfg->validation_fraction > 0;
}

static int parse_early_stopping(const cfg_parser *p, const cJSON *train, nn_config *cfg)
{
    static const char *const keys[] = {"patience", "min_delta"};
    static const char path[] = "training.early_stopping";
    nn_early_stopping_cfg *es = &cfg->early_stopping;
    const cJSON *obj;
    if (get_object(p, train, "training", "early_stopping", &obj) < 0)
        return -1;
    if (!obj)
        return 0;
    if (check_members(p, obj, path, keys, 2) < 0 ||
        get_int(p, obj, path, "patience", 1, CFG_MAX_EPOCHS, &es->patience) < 0 ||
        get_double(p, obj, path, "min_delta", false, 0.0, false, HUGE_VAL, CFG_RANGE_NONNEG,
                   &es->min_delta) < 0)
        return -1;
    if (!es->patience)
        return fail_missing(p, obj, path, "patience");
    if (!has_validation_data(cfg))
        return fail_at(p, key_loc(p, obj), "training.early_stopping needs validation data "
                       "(set data.validation_fraction or data.validation)");
    es->enabled = true;
    return 0;
}

static int parse_root(const cfg_parser *p, const cJSON *root, nn_config *cfg)
{
    static const char *const keys[] = {"seed", "data", "model", "loss", "huber_delta",
                                       "optimizer", "training", "checkpoint"};
    static const char *const train_keys[] = {"epochs", "batch_size", "shuffle",
                                             "early_stopping"};
    static const char *const ckpt_keys[] = {"path", "every_epochs", "keep_best"};
    const cJSON *train, *ckpt;
    int64_t seed = (int64_t)cfg->seed;

    if (check_members(p, root, "", keys, 8) < 0 ||
        get_int64(p, root, "", "seed", 0, CFG_MAX_SEED, &seed) < 0 ||
        parse_data(p, root, cfg) < 0 ||
        parse_model(p, root, cfg) < 0 ||
        parse_loss(p, root, cfg) < 0 ||
        parse_optimizer(p, root, cfg) < 0)
        return -1;
    cfg->seed = (uint64_t)seed;

    if (get_object(p, root, "", "training", &train) < 0)
        return -1;
    if (train && (check_members(p, train, "training", train_keys, 4) < 0 ||
                  get_int(p, train, "training", "epochs", 1, CFG_MAX_EPOCHS, &cfg->epochs) < 0 ||
                  get_int(p, train, "training", "batch_size", 1, CFG_MAX_BATCH,
                          &cfg->batch_size) < 0 ||
                  get_bool(p, train, "training", "shuffle", &cfg->shuffle) < 0 ||
                  parse_early_stopping(p, train, cfg) < 0))
        return -1;

    const char *path = NULL;
    if (get_object(p, root, "", "checkpoint", &ckpt) < 0)
        return -1;
    if (ckpt && (check_members(p, ckpt, "checkpoint", ckpt_keys, 3) < 0 ||
                 get_string(p, ckpt, "checkpoint", "path", &path) < 0 ||
                 get_int(p, ckpt, "checkpoint", "every_epochs", 0, CFG_MAX_EPOCHS,
                         &cfg->checkpoint_every) < 0 ||
                 get_bool(p, ckpt, "checkpoint", "keep_best", &cfg->keep_best) < 0))
        return -1;
    if (cfg->keep_best) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(ckpt, "keep_best");
        if (!has_validation_data(cfg))
            return fail_at(p, value_loc(p, v), "checkpoint.keep_best needs validation data "
                           "(set data.validation_fraction or data.validation)");
        /* a path may still come from --checkpoint: nn_train checks */
    }
    if (path) {
        cfg->checkpoint = strdup(path);
        cfg->checkpoint_path = resolve(p->dir, path);
        if (!cfg->checkpoint || !cfg->checkpoint_path)
            return fail_nomem(p);
    }
    return 0;
}

/* ---- syntax ---------------------------------------------------------------- */

static int fail_syntax(const cfg_parser *p, int status, size_t at)
{
    if (status == SCAN_NOMEM)
        return fail_nomem(p);
    if (status == SCAN_NUL_ESCAPE)
        return fail_at(p, file_loc(at), "\"\\u0000\" is not allowed in strings");
    if (status == SCAN_TOO_DEEP)
        return fail_at(p, file_loc(at), "invalid JSON: nested deeper than %d levels",
                       CFG_MAX_DEPTH);
    if (at >= p->len)
        return fail_at(p, file_loc(at), "invalid JSON near end of file");
    size_t n = 0; /* the excerpt: the rest of the line, at most 16 bytes */
    while (at + n < p->len && n < 16 && p->text[at + n] != '\n' && p->text[at + n] != '\r')
        n++;
    while (n > 0 && (p->text[at + n - 1] == ' ' || p->text[at + n - 1] == '\t'))
        n--;
    if (n == 0)
        return fail_at(p, file_loc(at), "invalid JSON near end of line");
    char ex[32];
    clip(ex, sizeof ex, p->text + at, n, n);
    return fail_at(p, file_loc(at), "invalid JSON near '%s'", ex);
}

/* Parses p->text into *root and builds the position index. */
static int parse_syntax(cfg_parser *p, cJSON **root)
{
    scanner sc = {.s = p->text, .n = p->len, .set = -1};
    *root = NULL;
    const char *nul = memchr(p->text, '\0', p->len);
    if (nul)
        return fail_syntax(p, SCAN_SYNTAX, (size_t)(nul - p->text));
    sc.i = p->body;
    scan_ws(&sc);
    if (sc.i == p->len)
        return fail_at(p, file_loc(p->body), "empty config, expected a JSON object");

    /* length + 1: cJSON then sees the terminating NUL and reports an error
     * at the end of the text as the offset of that NUL */
    const char *end = NULL;
    *root = cJSON_ParseWithLengthOpts(p->text, p->len + 1, &end, true);
    if (!*root) {
        /* cJSON's pointer is often a little off; the strict scanner finds
         * the first error exactly, and cJSON's pointer is the fallback */
        size_t at = end && end >= p->text ? (size_t)(end - p->text) : p->body;
        int status = SCAN_SYNTAX;
        if (scan_document(&sc, NULL, p->body) < 0) {
            at = sc.bad;
            status = sc.status;
        }
        return fail_syntax(p, status, at);
    }
    sc.record = true;
    if (scan_document(&sc, *root, p->body) < 0) {
        free(sc.pos);
        return fail_syntax(p, sc.status, sc.bad);
    }
    qsort(sc.pos, sc.npos, sizeof *sc.pos, pos_cmp);
    p->pos = sc.pos;
    p->npos = sc.npos;
    if (!cJSON_IsObject(*root))
        return fail_at(p, value_loc(p, *root), "the config must be a JSON object, found %s",
                       type_phrase(*root));
    return 0;
}

/* ---- --set KEY=VALUE ------------------------------------------------------ */

__attribute__((format(printf, 3, 4)))
static int fail_set(const cfg_parser *p, int set, const char *fmt, ...)
{
    char msg[sizeof p->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fail_at(p, (cfg_loc){set, 0}, "%s", msg);
}

static bool is_index(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* The value of a --set argument from offset voff: a complete JSON value
 * (checked by the strict scanner and parsed by cJSON), else the text as a
 * plain string.  Its nodes get records in rec naming the argument. */
static int set_value(const cfg_parser *p, scanner *rec, int set, size_t voff, cJSON **out)
{
    const char *arg = p->sets[set];
    size_t n = strlen(arg);
    scanner chk = {.s = arg, .n = n, .set = set};
    cJSON *v = NULL;
    if (scan_document(&chk, NULL, voff) == 0)
        v = cJSON_ParseWithOpts(arg + voff, NULL, true);
    if (v) {
        size_t mark = rec->npos;
        rec->s = arg;
        rec->n = n;
        rec->set = set;
        if (scan_document(rec, v, voff) < 0) {
            rec->npos = mark; /* no record may outlive its node */
            cJSON_Delete(v);
            v = NULL;
            if (rec->status == SCAN_NOMEM)
                return fail_nomem(p);
            rec->status = SCAN_OK;
        }
    }
    if (!v) {
        v = cJSON_CreateString(arg + voff);
        rec->i = voff;
        rec->set = set;
        if (!v || scan_record(rec, v, CFG_NO_KEY) < 0) {
            cJSON_Delete(v);
            return fail_nomem(p);
        }
        rec->pos[rec->npos - 1].end = n;
    }
    *out = v;
    return 0;
}

/* Puts `item` in the place of `old` among parent's children and unlinks
 * `old` (not freed).  Done by hand: cJSON_ReplaceItemViaPointer frees the
 * old item, and the cJSON_InsertItemInArray of Debian 12's cJSON 1.7.15
 * fails for every position but the first.  cJSON's list: the first
 * child's prev is the last child, the last child's next is NULL. */
static void replace_child(cJSON *parent, cJSON *old, cJSON *item)
{
    cJSON *prev = old->prev, *next = old->next;
    bool head = parent->child == old, tail = next == NULL;
    item->next = next;
    item->prev = head && tail ? item : prev;
    if (head)
        parent->child = item;
    else
        prev->next = item;
    if (tail)
        parent->child->prev = item;
    else
        next->prev = item;
    old->prev = old->next = NULL;
}

/* Applies sets[set] to the tree: walks KEY component by component, creating
 * what is missing, and puts VALUE at the end.  A replaced node goes to
 * `grave` (see the top of the file). */
static int apply_set(const cfg_parser *p, cJSON *root, scanner *rec, cJSON *grave, int set)
{
    const char *arg = p->sets[set];
    const char *eq = strchr(arg, '=');
    size_t klen = eq ? (size_t)(eq - arg) : 0;
    bool bad = klen == 0 || arg[0] == '.' || arg[klen - 1] == '.'; /* an empty component */
    for (size_t i = 1; !bad && i < klen; i++)
        bad = arg[i] == '.' && arg[i - 1] == '.';
    if (bad)
        return fail_set(p, set, "expected KEY=VALUE");
    size_t depth = 1;
    for (size_t i = 0; i < klen; i++)
        depth += arg[i] == '.';
    if (depth > CFG_MAX_DEPTH)
        return fail_set(p, set, "KEY is nested deeper than %d levels", CFG_MAX_DEPTH);

    cJSON *cur = root;
    for (size_t at = 0;;) {
        size_t end = at;
        while (end < klen && arg[end] != '.')
            end++;
        const char *comp = arg + at;
        size_t clen = end - at;
        bool last = end == klen, num = is_index(comp, clen);
        char where[CFG_SET_CLIP + 16] = "the config", cut[CFG_SET_CLIP + 8];
        if (at > 0) {
            clip(cut, sizeof cut, arg, at - 1, CFG_SET_CLIP);
            snprintf(where, sizeof where, "\"%s\"", cut);
        }

        cJSON *child = NULL;
        char *name = NULL;
        if (cJSON_IsArray(cur) && num) {
            int len = cJSON_GetArraySize(cur);
            long long k = 0;
            for (size_t i = 0; i < clen && k <= len; i++)
                k = k * 10 + (comp[i] - '0');
            if (k > len) {
                clip(cut, sizeof cut, comp, clen, CFG_CLIP);
                return fail_set(p, set, "index %s is out of range for %s, which has %d element%s",
                                cut, where, len, len == 1 ? "" : "s");
            }
            child = cJSON_GetArrayItem(cur, (int)k);
        } else if (cJSON_IsObject(cur) && !num) {
            name = strndup(comp, clen);
            if (!name)
                return fail_nomem(p);
            child = cJSON_GetObjectItemCaseSensitive(cur, name);
        } else {
            return fail_set(p, set, "%s is %s, not %s", where, type_phrase(cur),
                            num ? "an array" : "an object");
        }

        cJSON *next = NULL;
        if (last) {
            if (set_value(p, rec, set, klen + 1, &next) < 0) {
                free(name);
                return -1;
            }
        } else if (!child) {
            size_t after = end + 1, aend = after;
            while (aend < klen && arg[aend] != '.')
                aend++;
            next = is_index(arg + after, aend - after) ? cJSON_CreateArray()
                                                       : cJSON_CreateObject();
            rec->i = 0;
            rec->set = set;
            if (!next || scan_record(rec, next, CFG_NO_KEY) < 0) {
                cJSON_Delete(next);
                free(name);
                return fail_nomem(p);
            }
        }
        if (next) {
            /* added at the end (which gives a member its key), then moved to
             * the place of the node it replaces, if any */
            bool ok = name ? cJSON_AddItemToObject(cur, name, next)
                           : cJSON_AddItemToArray(cur, next);
            if (!ok) {
                cJSON_Delete(next);
                free(name);
                return fail_nomem(p);
            }
            if (child) {
                cJSON_DetachItemViaPointer(cur, next);
                replace_child(cur, child, next);
                cJSON_AddItemToArray(grave, child);
            }
        }
        free(name);
        if (last)
            return 0;
        cur = child ? child : next;
        at = end + 1;
    }
}

/* Applies every --set in order and adds the records of the nodes they
 * created to the position index. */
static int apply_sets(cfg_parser *p, cJSON *root, cJSON *grave)
{
    scanner rec = {.record = true, .set = -1};
    int rc = 0;
    for (int i = 0; rc == 0 && i < p->n_sets; i++)
        rc = apply_set(p, root, &rec, grave, i);
    if (rc == 0 && rec.npos > 0) {
        cfg_pos *all = realloc(p->pos, (p->npos + rec.npos) * sizeof *all);
        if (!all) {
            rc = fail_nomem(p);
        } else {
            memcpy(all + p->npos, rec.pos, rec.npos * sizeof *all);
            p->pos = all;
            p->npos += rec.npos;
            qsort(p->pos, p->npos, sizeof *p->pos, pos_cmp);
        }
    }
    free(rec.pos);
    return rc;
}

/* ---- public ---------------------------------------------------------------- */

void nn_config_defaults(nn_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->seed = 1;
    cfg->validation_fraction = 0.0;
    cfg->scale = NN_SCALE_AUTO;
    cfg->n_layers = 0;
    cfg->loss = NN_LOSS_MSE;
    cfg->huber_delta = 1.0;
    cfg->optimizer = NN_OPT_SGD;
    cfg->learning_rate = 0.1;
    cfg->momentum = 0.0;
    cfg->nesterov = false;
    cfg->beta1 = 0.9;
    cfg->beta2 = 0.999;
    cfg->eps = 1e-8;
    cfg->weight_decay = 0.0;
    cfg->clip_norm = 0.0;
    cfg->schedule = (nn_schedule_cfg){.name = NN_SCHED_NAME_CONSTANT, .gamma = 0.1,
                                      .step_epochs = 10, .min_lr = 0.0, .warmup_epochs = 0};
    cfg->epochs = 10;
    cfg->batch_size = 32;
    cfg->shuffle = true;
    cfg->early_stopping = (nn_early_stopping_cfg){.enabled = false, .patience = 0,
                                                  .min_delta = 0.0};
    cfg->checkpoint_every = 1;
    cfg->keep_best = false;
}

static void source_free(nn_source *s)
{
    free(s->images);
    free(s->labels);
    free(s->images_path);
    free(s->labels_path);
    free(s->path);
    free(s->path_resolved);
    free(s->csv.label.name);
    for (int i = 0; s->csv.targets && i < s->csv.n_targets; i++)
        free(s->csv.targets[i].name);
    free(s->csv.targets);
}

void nn_config_free(nn_config *cfg)
{
    if (!cfg)
        return;
    source_free(&cfg->train);
    source_free(&cfg->test);
    source_free(&cfg->validation);
    free(cfg->checkpoint);
    free(cfg->checkpoint_path);
    free(cfg->config_dir);
    nn_config_defaults(cfg);
}

int nn_config_parse_with_sets(nn_config *cfg, const char *text, size_t len, const char *name,
                              const char *dir, char *const *sets, int n_sets, nn_error *err)
{
    nn_config_defaults(cfg);
    cfg_parser p = {
        .name = name ? name : "<config>",
        .len = len,
        .dir = dir && *dir ? dir : ".",
        .sets = sets,
        .n_sets = sets && n_sets > 0 ? n_sets : 0,
        .err = err,
    };
    char *buf = malloc(len + 1);
    cfg->config_dir = strdup(p.dir);
    if (!buf || !cfg->config_dir) {
        free(buf);
        nn_config_free(cfg);
        return fail_nomem(&p);
    }
    if (len)
        memcpy(buf, text, len);
    buf[len] = '\0';
    p.text = buf;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        p.body = 3;

    cJSON *root = NULL, *grave = NULL;
    int rc = parse_syntax(&p, &root);
    if (rc == 0 && p.n_sets > 0) {
        grave = cJSON_CreateArray();
        rc = grave ? apply_sets(&p, root, grave) : fail_nomem(&p);
    }
    if (rc == 0)
        rc = parse_root(&p, root, cfg);
    cJSON_Delete(root);
    cJSON_Delete(grave);
    free(p.pos);
    free(buf);
    if (rc < 0)
        nn_config_free(cfg);
    return rc;
}

int nn_config_parse(nn_config *cfg, const char *text, size_t len, const char *name,
                    const char *dir, nn_error *err)
{
    return nn_config_parse_with_sets(cfg, text, len, name, dir, NULL, 0, err);
}

int nn_config_load(nn_config *cfg, const char *path, nn_error *err)
{
    return nn_config_load_with_sets(cfg, path, NULL, 0, err);
}

int nn_config_load_with_sets(nn_config *cfg, const char *path, char *const *sets, int n_sets,
                             nn_error *err)
{
    nn_config_defaults(cfg);
    bool is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "<stdin>" : path;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %s", name, strerror(errno));
        return -1;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (len == cap) {
            if (cap >= CFG_MAX_BYTES) {
                nn_error_set(err, NN_EXIT_USAGE, "%s: config is larger than %zu MiB", name,
                             CFG_MAX_BYTES >> 20);
                rc = -1;
                break;
            }
            cap = cap ? 2 * cap : 4096;
            char *b = realloc(buf, cap + 1);
            if (!b) {
                nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", name);
                rc = -1;
                break;
            }
            buf = b;
        }
        errno = 0;
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                nn_error_set(err, NN_EXIT_RUNTIME, "%s: %s", name,
                             strerror(errno ? errno : EIO));
                rc = -1;
            }
            break;
        }
    }
    if (!is_stdin)
        fclose(f);
    if (rc == 0) {
        char *dir = is_stdin ? strdup(".") : dir_of(path);
        if (!dir) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", name);
            rc = -1;
        } else {
            rc = nn_config_parse_with_sets(cfg, buf, len, name, dir, sets, n_sets, err);
        }
        free(dir);
    }
    free(buf);
    return rc;
}

int nn_config_set_checkpoint(nn_config *cfg, const char *path, nn_error *err)
{
    if (!path || !*path) {
        nn_error_set(err, NN_EXIT_USAGE, "the checkpoint path is empty");
        return -1;
    }
    char *a = strdup(path), *b = strdup(path);
    if (!a || !b) {
        free(a);
        free(b);
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        return -1;
    }
    free(cfg->checkpoint);
    free(cfg->checkpoint_path);
    cfg->checkpoint = a;
    cfg->checkpoint_path = b;
    return 0;
}

/* ---- canonical JSON ---------------------------------------------------------
 * Numbers are written by hand (cJSON_CreateRaw): cJSON's own printer checks
 * its 15-digit form only approximately, so 0.30000000000000004 would come
 * back as 0.3 and a seed near 2^53 would lose its last digits. */

static bool add_raw_int(cJSON *obj, const char *key, int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    return cJSON_AddRawToObject(obj, key, buf) != NULL;
}

/* The shortest form that reads back as the same double (fmt_double). */
static bool add_raw_double(cJSON *obj, const char *key, double v)
{
    char buf[40] = "null";
    if (isfinite(v))
        fmt_double(buf, sizeof buf, v);
    return cJSON_AddRawToObject(obj, key, buf) != NULL;
}

/* A CSV column as a name (string) or an index (number). */
static cJSON *column_json(const nn_column *c)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", c->index);
    return c->name ? cJSON_CreateString(c->name) : cJSON_CreateRaw(buf);
}

/* {"images", "labels"}, or {"path", "header", "delimiter", "label" |
 * "targets"} with every default written out. */
static bool add_source(cJSON *data, const char *key, const nn_source *s)
{
    cJSON *o = cJSON_AddObjectToObject(data, key);
    if (!o)
        return false;
    if (s->kind == NN_SRC_IDX)
        return cJSON_AddStringToObject(o, "images", s->images ? s->images : "") &&
               cJSON_AddStringToObject(o, "labels", s->labels ? s->labels : "");
    const nn_csv_spec *c = &s->csv;
    char delim[2] = {(char)c->delimiter, '\0'};
    cJSON *header = c->header == NN_HEADER_AUTO ? cJSON_CreateString("auto")
                                                : cJSON_CreateBool(c->header == NN_HEADER_YES);
    bool ok = cJSON_AddStringToObject(o, "path", s->path ? s->path : "") && header &&
              cJSON_AddItemToObject(o, "header", header);
    if (!ok)
        cJSON_Delete(header);
    ok = ok && cJSON_AddStringToObject(o, "delimiter", c->delimiter == NN_CSV_WHITESPACE
                                                           ? "whitespace" : delim);
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

/* One layer: units, activation, alpha (leaky_relu and elu), init, dropout
 * (not on the output layer). */
static bool add_layer(cJSON *layers, const nn_layer_cfg *layer, bool out_layer)
{
    cJSON *l = cJSON_CreateObject();
    if (!l || !cJSON_AddItemToArray(layers, l)) {
        cJSON_Delete(l);
        return false;
    }
    bool ok = add_raw_int(l, "units", layer->units) &&
              cJSON_AddStringToObject(l, "activation", nn_act_name(layer->act));
    if (ok && (layer->act == NN_ACT_LEAKY_RELU || layer->act == NN_ACT_ELU))
        ok = add_raw_double(l, "alpha", layer->alpha);
    ok = ok && cJSON_AddStringToObject(l, "init", nn_init_name(layer->init));
    if (ok && !out_layer)
        ok = add_raw_double(l, "dropout", layer->dropout);
    return ok;
}

/* The optimizer with the keys of its kind, and its schedule with the keys of
 * the schedule's kind. */
static bool add_optimizer(cJSON *root, const nn_config *cfg)
{
    cJSON *opt = cJSON_AddObjectToObject(root, "optimizer");
    bool ok = opt && cJSON_AddStringToObject(opt, "name", nn_opt_name(cfg->optimizer)) &&
              add_raw_double(opt, "learning_rate", cfg->learning_rate);
    if (ok && cfg->optimizer == NN_OPT_SGD)
        ok = add_raw_double(opt, "momentum", cfg->momentum) &&
             cJSON_AddBoolToObject(opt, "nesterov", cfg->nesterov);
    else if (ok)
        ok = add_raw_double(opt, "beta1", cfg->beta1) && add_raw_double(opt, "beta2", cfg->beta2) &&
             add_raw_double(opt, "eps", cfg->eps);
    ok = ok && add_raw_double(opt, "weight_decay", cfg->weight_decay) &&
         add_raw_double(opt, "clip_norm", cfg->clip_norm);

    const nn_schedule_cfg *s = &cfg->schedule;
    cJSON *sched = ok ? cJSON_AddObjectToObject(opt, "schedule") : NULL;
    ok = sched && cJSON_AddStringToObject(sched, "name", nn_sched_name_name(s->name));
    if (ok && (s->name == NN_SCHED_NAME_STEP || s->name == NN_SCHED_NAME_EXPONENTIAL))
        ok = add_raw_double(sched, "gamma", s->gamma);
    if (ok && s->name == NN_SCHED_NAME_STEP)
        ok = add_raw_int(sched, "step_epochs", s->step_epochs);
    if (ok && s->name == NN_SCHED_NAME_COSINE)
        ok = add_raw_double(sched, "min_lr", s->min_lr);
    return ok && add_raw_int(sched, "warmup_epochs", s->warmup_epochs);
}

char *nn_config_to_json(const nn_config *cfg)
{
    cJSON *root = cJSON_CreateObject();
    char seed[32];
    snprintf(seed, sizeof seed, "%" PRIu64, cfg->seed);
    bool ok = root && cJSON_AddRawToObject(root, "seed", seed);

    cJSON *data = ok ? cJSON_AddObjectToObject(root, "data") : NULL;
    ok = data != NULL;
    if (ok && cfg->has_train)
        ok = add_source(data, "train", &cfg->train);
    if (ok && cfg->has_test)
        ok = add_source(data, "test", &cfg->test);
    if (ok && cfg->has_validation)
        ok = add_source(data, "validation", &cfg->validation);
    ok = ok && add_raw_double(data, "validation_fraction", cfg->validation_fraction) &&
         cJSON_AddStringToObject(data, "scale", nn_scale_name(cfg->scale));

    cJSON *model = ok ? cJSON_AddObjectToObject(root, "model") : NULL;
    cJSON *layers = model ? cJSON_AddArrayToObject(model, "layers") : NULL;
    ok = layers != NULL;
    int n = cfg->n_layers < NN_MAX_LAYERS ? cfg->n_layers : NN_MAX_LAYERS;
    for (int i = 0; ok && i < n; i++)
        ok = add_layer(layers, &cfg->layers[i], i == n - 1);
    ok = ok && cJSON_AddStringToObject(root, "loss", nn_loss_name(cfg->loss));
    if (ok && cfg->loss == NN_LOSS_HUBER)
        ok = add_raw_double(root, "huber_delta", cfg->huber_delta);
    ok = ok && add_optimizer(root, cfg);

    cJSON *train = ok ? cJSON_AddObjectToObject(root, "training") : NULL;
    ok = train && add_raw_int(train, "epochs", cfg->epochs) &&
         add_raw_int(train, "batch_size", cfg->batch_size) &&
         cJSON_AddBoolToObject(train, "shuffle", cfg->shuffle);
    if (ok && cfg->early_stopping.enabled) {
        cJSON *es = cJSON_AddObjectToObject(train, "early_stopping");
        ok = es && add_raw_int(es, "patience", cfg->early_stopping.patience) &&
             add_raw_double(es, "min_delta", cfg->early_stopping.min_delta);
    }

    cJSON *ckpt = ok ? cJSON_AddObjectToObject(root, "checkpoint") : NULL;
    ok = ckpt != NULL;
    if (ok && cfg->checkpoint)
        ok = cJSON_AddStringToObject(ckpt, "path", cfg->checkpoint) != NULL;
    ok = ok && add_raw_int(ckpt, "every_epochs", cfg->checkpoint_every) &&
         cJSON_AddBoolToObject(ckpt, "keep_best", cfg->keep_best);

    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return text;
}
