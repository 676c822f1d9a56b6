/* set.c - --set KEY=VALUE overrides, applied to the cJSON tree between parsing
 * and validation.
 *
 * The nodes they create get position records of their own that name the
 * argument (nn_cfg_pos.set), so validation reports them as "--set ARG: ..."
 * with no other change; the nodes they replace are kept alive until the end
 * (a "graveyard") so that no node address is reused while the position
 * index holds it.
 */
#include "config/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((format(printf, 3, 4)))
static int fail_set(const nn_cfg_parser *p, int set, const char *fmt, ...)
{
    char msg[sizeof p->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return nn_cfg_fail_at(p, (nn_cfg_loc){set, 0}, "%s", msg);
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
static int set_value(const nn_cfg_parser *p, nn_cfg_scanner *rec, int set, size_t voff, cJSON **out)
{
    const char *arg = p->sets[set];
    size_t n = strlen(arg);
    nn_cfg_scanner chk = {.s = arg, .n = n, .set = set};
    cJSON *v = NULL;
    if (nn_cfg_scan_document(&chk, NULL, voff) == 0)
        v = cJSON_ParseWithOpts(arg + voff, NULL, true);
    if (v) {
        size_t mark = rec->npos;
        rec->s = arg;
        rec->n = n;
        rec->set = set;
        if (nn_cfg_scan_document(rec, v, voff) < 0) {
            rec->npos = mark; /* no record may outlive its node */
            cJSON_Delete(v);
            v = NULL;
            if (rec->status == CFG_SCAN_NOMEM)
                return nn_cfg_fail_nomem(p);
            rec->status = CFG_SCAN_OK;
        }
    }
    if (!v) {
        v = cJSON_CreateString(arg + voff);
        rec->i = voff;
        rec->set = set;
        if (!v || nn_cfg_scan_record(rec, v, CFG_NO_KEY) < 0) {
            cJSON_Delete(v);
            return nn_cfg_fail_nomem(p);
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
 * `grave` (see above). */
static int apply_set(const nn_cfg_parser *p, cJSON *root, nn_cfg_scanner *rec, cJSON *grave, int set)
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
            nn_cfg_clip(cut, sizeof cut, arg, at - 1, CFG_SET_CLIP);
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
                nn_cfg_clip(cut, sizeof cut, comp, clen, CFG_CLIP);
                return fail_set(p, set, "index %s is out of range for %s, which has %d element%s",
                                cut, where, len, len == 1 ? "" : "s");
            }
            child = cJSON_GetArrayItem(cur, (int)k);
        } else if (cJSON_IsObject(cur) && !num) {
            name = strndup(comp, clen);
            if (!name)
                return nn_cfg_fail_nomem(p);
            child = cJSON_GetObjectItemCaseSensitive(cur, name);
        } else {
            return fail_set(p, set, "%s is %s, not %s", where, nn_cfg_type_phrase(cur),
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
            if (!next || nn_cfg_scan_record(rec, next, CFG_NO_KEY) < 0) {
                cJSON_Delete(next);
                free(name);
                return nn_cfg_fail_nomem(p);
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
                return nn_cfg_fail_nomem(p);
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

int nn_cfg_apply_sets(nn_cfg_parser *p, cJSON *root, cJSON *grave)
{
    nn_cfg_scanner rec = {.record = true, .set = -1};
    int rc = 0;
    for (int i = 0; rc == 0 && i < p->n_sets; i++)
        rc = apply_set(p, root, &rec, grave, i);
    if (rc == 0 && rec.npos > 0) {
        nn_cfg_pos *all = realloc(p->pos, (p->npos + rec.npos) * sizeof *all);
        if (!all) {
            rc = nn_cfg_fail_nomem(p);
        } else {
            memcpy(all + p->npos, rec.pos, rec.npos * sizeof *all);
            p->pos = all;
            p->npos += rec.npos;
            qsort(p->pos, p->npos, sizeof *p->pos, nn_cfg_pos_cmp);
        }
    }
    free(rec.pos);
    return rc;
}
