/* json_pos.c - the strict JSON scanner and the position index.
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
 */
#include "config/internal.h"

#include <stdlib.h>
#include <string.h>

static int scan_fail(nn_cfg_scanner *sc, int status, size_t at)
{
    sc->status = status;
    sc->bad = at;
    return -1;
}

static void scan_ws(nn_cfg_scanner *sc)
{
    while (sc->i < sc->n) {
        char c = sc->s[sc->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        sc->i++;
    }
}

static bool scan_is_digit(nn_cfg_scanner *sc)
{
    return sc->i < sc->n && sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9';
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string starting at the opening quote. */
static int scan_string(nn_cfg_scanner *sc)
{
    sc->i++;
    while (sc->i < sc->n) {
        unsigned char c = (unsigned char)sc->s[sc->i];
        if (c == '"') {
            sc->i++;
            return 0;
        }
        if (c < 0x20)
            return scan_fail(sc, CFG_SCAN_SYNTAX, sc->i);
        if (c != '\\') {
            sc->i++;
            continue;
        }
        size_t esc = sc->i++;
        if (sc->i >= sc->n || !strchr("\"\\/bfnrtu", sc->s[sc->i]) || sc->s[sc->i] == '\0')
            return scan_fail(sc, CFG_SCAN_SYNTAX, esc);
        if (sc->s[sc->i++] != 'u')
            continue;
        if (sc->n - sc->i < 4)
            return scan_fail(sc, CFG_SCAN_SYNTAX, esc);
        for (int k = 0; k < 4; k++)
            if (!is_hex(sc->s[sc->i + k]))
                return scan_fail(sc, CFG_SCAN_SYNTAX, esc);
        if (memcmp(sc->s + sc->i, "0000", 4) == 0)
            return scan_fail(sc, CFG_SCAN_NUL_ESCAPE, esc); /* cJSON would cut the string */
        sc->i += 4;
    }
    return scan_fail(sc, CFG_SCAN_SYNTAX, sc->n);
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int scan_number(nn_cfg_scanner *sc)
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
        return scan_fail(sc, CFG_SCAN_SYNTAX, start);
    if (sc->i < sc->n && sc->s[sc->i] == '.') {
        sc->i++;
        if (!scan_is_digit(sc))
            return scan_fail(sc, CFG_SCAN_SYNTAX, start);
        while (scan_is_digit(sc))
            sc->i++;
    }
    if (sc->i < sc->n && (sc->s[sc->i] == 'e' || sc->s[sc->i] == 'E')) {
        sc->i++;
        if (sc->i < sc->n && (sc->s[sc->i] == '+' || sc->s[sc->i] == '-'))
            sc->i++;
        if (!scan_is_digit(sc))
            return scan_fail(sc, CFG_SCAN_SYNTAX, start);
        while (scan_is_digit(sc))
            sc->i++;
    }
    /* "01" or "1x": the number must end here */
    if (sc->i < sc->n && (scan_is_digit(sc) || strchr("+-.eE", sc->s[sc->i]) ||
                          (sc->s[sc->i] >= 'a' && sc->s[sc->i] <= 'z')))
        return scan_fail(sc, CFG_SCAN_SYNTAX, start);
    return 0;
}

static int scan_literal(nn_cfg_scanner *sc, const char *word)
{
    size_t len = strlen(word);
    if (sc->n - sc->i < len || memcmp(sc->s + sc->i, word, len) != 0)
        return scan_fail(sc, CFG_SCAN_SYNTAX, sc->i);
    sc->i += len;
    return 0;
}

long nn_cfg_scan_record(nn_cfg_scanner *sc, const cJSON *node, size_t key)
{
    if (sc->npos == sc->cap) {
        size_t cap = sc->cap ? 2 * sc->cap : 64;
        nn_cfg_pos *p = realloc(sc->pos, cap * sizeof *p);
        if (!p)
            return scan_fail(sc, CFG_SCAN_NOMEM, sc->i);
        sc->pos = p;
        sc->cap = cap;
    }
    sc->pos[sc->npos] = (nn_cfg_pos){node, key, sc->i, sc->i, sc->set};
    return (long)sc->npos++;
}

/* The tree and the text disagree: cannot happen when both parsers agree on
 * the syntax; reported as a syntax error at the scanner's position. */
static bool scan_mismatch(const nn_cfg_scanner *sc, const cJSON *node, int type)
{
    return sc->record && (!node || (node->type & 0xFF) != type);
}

/* One value (with its key offset when it is an object member).  In record
 * mode `node` is the cJSON node parsed from the same text. */
static int scan_value(nn_cfg_scanner *sc, const cJSON *node, size_t key, int depth)
{
    scan_ws(sc);
    if (sc->i >= sc->n)
        return scan_fail(sc, CFG_SCAN_SYNTAX, sc->n);
    long idx = -1;
    if (sc->record && (idx = nn_cfg_scan_record(sc, node, key)) < 0)
        return -1;
    char c = sc->s[sc->i];
    int rc = 0;
    if (c == '{' || c == '[') {
        bool obj = c == '{';
        if (depth >= CFG_MAX_DEPTH)
            return scan_fail(sc, CFG_SCAN_TOO_DEEP, sc->i);
        if (scan_mismatch(sc, node, obj ? cJSON_Object : cJSON_Array))
            return scan_fail(sc, CFG_SCAN_SYNTAX, sc->i);
        const cJSON *child = sc->record ? node->child : NULL;
        sc->i++;
        scan_ws(sc);
        if (sc->i < sc->n && sc->s[sc->i] == (obj ? '}' : ']')) {
            if (child)
                return scan_fail(sc, CFG_SCAN_SYNTAX, sc->i);
            sc->i++;
        } else {
            for (;;) {
                size_t k = CFG_NO_KEY;
                scan_ws(sc);
                if (obj) {
                    if (sc->i >= sc->n || sc->s[sc->i] != '"')
                        return scan_fail(sc, CFG_SCAN_SYNTAX, sc->i);
                    k = sc->i;
                    if (scan_string(sc) < 0)
                        return -1;
                    scan_ws(sc);
                    if (sc->i >= sc->n || sc->s[sc->i] != ':')
                        return scan_fail(sc, CFG_SCAN_SYNTAX, sc->i);
                    sc->i++;
                }
                if (sc->record && !child)
                    return scan_fail(sc, CFG_SCAN_SYNTAX, sc->i);
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
                        return scan_fail(sc, CFG_SCAN_SYNTAX, sc->i);
                    sc->i++;
                    break;
                }
                return scan_fail(sc, CFG_SCAN_SYNTAX, sc->i);
            }
        }
    } else if (c == '"') {
        if (scan_mismatch(sc, node, cJSON_String))
            return scan_fail(sc, CFG_SCAN_SYNTAX, sc->i);
        rc = scan_string(sc);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        if (scan_mismatch(sc, node, cJSON_Number))
            return scan_fail(sc, CFG_SCAN_SYNTAX, sc->i);
        rc = scan_number(sc);
    } else if (c == 't' || c == 'f') {
        if (scan_mismatch(sc, node, c == 't' ? cJSON_True : cJSON_False))
            return scan_fail(sc, CFG_SCAN_SYNTAX, sc->i);
        rc = scan_literal(sc, c == 't' ? "true" : "false");
    } else if (c == 'n') {
        if (scan_mismatch(sc, node, cJSON_NULL))
            return scan_fail(sc, CFG_SCAN_SYNTAX, sc->i);
        rc = scan_literal(sc, "null");
    } else {
        return scan_fail(sc, CFG_SCAN_SYNTAX, sc->i);
    }
    if (rc == 0 && idx >= 0)
        sc->pos[idx].end = sc->i;
    return rc;
}

int nn_cfg_scan_document(nn_cfg_scanner *sc, const cJSON *root, size_t body)
{
    sc->i = body;
    if (scan_value(sc, root, CFG_NO_KEY, 0) < 0)
        return -1;
    scan_ws(sc);
    if (sc->i != sc->n)
        return scan_fail(sc, CFG_SCAN_SYNTAX, sc->i);
    return 0;
}

int nn_cfg_pos_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const nn_cfg_pos *)a)->node;
    uintptr_t y = (uintptr_t)((const nn_cfg_pos *)b)->node;
    return x < y ? -1 : x > y;
}

const nn_cfg_pos *nn_cfg_pos_of(const nn_cfg_parser *p, const cJSON *node)
{
    nn_cfg_pos key = {node, 0, 0, 0, -1};
    if (!p->pos)
        return NULL;
    return bsearch(&key, p->pos, p->npos, sizeof key, nn_cfg_pos_cmp);
}

const char *nn_cfg_pos_text(const nn_cfg_parser *p, const nn_cfg_pos *q)
{
    return q->set < 0 ? p->text : p->sets[q->set];
}

/* ---- syntax ---------------------------------------------------------------- */

static int fail_syntax(const nn_cfg_parser *p, int status, size_t at)
{
    if (status == CFG_SCAN_NOMEM)
        return nn_cfg_fail_nomem(p);
    if (status == CFG_SCAN_NUL_ESCAPE)
        return nn_cfg_fail_at(p, nn_cfg_file_loc(at), "\"\\u0000\" is not allowed in strings");
    if (status == CFG_SCAN_TOO_DEEP)
        return nn_cfg_fail_at(p, nn_cfg_file_loc(at), "invalid JSON: nested deeper than %d levels",
                           CFG_MAX_DEPTH);
    if (at >= p->len)
        return nn_cfg_fail_at(p, nn_cfg_file_loc(at), "invalid JSON near end of file");
    size_t n = 0; /* the excerpt: the rest of the line, at most 16 bytes */
    while (at + n < p->len && n < 16 && p->text[at + n] != '\n' && p->text[at + n] != '\r')
        n++;
    while (n > 0 && (p->text[at + n - 1] == ' ' || p->text[at + n - 1] == '\t'))
        n--;
    if (n == 0)
        return nn_cfg_fail_at(p, nn_cfg_file_loc(at), "invalid JSON near end of line");
    char ex[32];
    nn_cfg_clip(ex, sizeof ex, p->text + at, n, n);
    return nn_cfg_fail_at(p, nn_cfg_file_loc(at), "invalid JSON near '%s'", ex);
}

int nn_cfg_parse_syntax(nn_cfg_parser *p, cJSON **root)
{
    nn_cfg_scanner sc = {.s = p->text, .n = p->len, .set = -1};
    *root = NULL;
    const char *nul = memchr(p->text, '\0', p->len);
    if (nul)
        return fail_syntax(p, CFG_SCAN_SYNTAX, (size_t)(nul - p->text));
    sc.i = p->body;
    scan_ws(&sc);
    if (sc.i == p->len)
        return nn_cfg_fail_at(p, nn_cfg_file_loc(p->body), "empty config, expected a JSON object");

    /* length + 1: cJSON then sees the terminating NUL and reports an error
     * at the end of the text as the offset of that NUL */
    const char *end = NULL;
    *root = cJSON_ParseWithLengthOpts(p->text, p->len + 1, &end, true);
    if (!*root) {
        /* cJSON's pointer is often a little off; the strict scanner finds
         * the first error exactly, and cJSON's pointer is the fallback */
        size_t at = end && end >= p->text ? (size_t)(end - p->text) : p->body;
        int status = CFG_SCAN_SYNTAX;
        if (nn_cfg_scan_document(&sc, NULL, p->body) < 0) {
            at = sc.bad;
            status = sc.status;
        }
        return fail_syntax(p, status, at);
    }
    sc.record = true;
    if (nn_cfg_scan_document(&sc, *root, p->body) < 0) {
        free(sc.pos);
        return fail_syntax(p, sc.status, sc.bad);
    }
    qsort(sc.pos, sc.npos, sizeof *sc.pos, nn_cfg_pos_cmp);
    p->pos = sc.pos;
    p->npos = sc.npos;
    if (!cJSON_IsObject(*root))
        return nn_cfg_fail_at(p, nn_cfg_value_loc(p, *root), "the config must be a JSON object, found %s",
                           nn_cfg_type_phrase(*root));
    return 0;
}
