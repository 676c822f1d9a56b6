/* emit.c - the effective config as canonical JSON text: every key of the table
 * (schema.c) that applies, in the table's order, defaults filled, paths as
 * written.  An optional section or source is written when it was given, a
 * path when it is set.
 *
 * Numbers are written by hand (cJSON_CreateRaw): cJSON's own printer checks
 * its 15-digit form only approximately, so 0.30000000000000004 would come
 * back as 0.3 and a seed near 2^53 would lose its last digits. */
#include "config/internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void nn_cfg_fmt_double(char *buf, size_t n, double v)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
}

static bool add_raw_int(cJSON *obj, const char *key, const nn_cfg_row *r, const void *base)
{
    char buf[32];
    if (r->size == sizeof(uint64_t)) {
        uint64_t u;
        memcpy(&u, (const char *)base + r->off, sizeof u);
        snprintf(buf, sizeof buf, "%" PRIu64, u);
    } else {
        snprintf(buf, sizeof buf, "%" PRId64, nn_cfg_row_int(r, base));
    }
    return cJSON_AddRawToObject(obj, key, buf) != NULL;
}

/* The shortest form that reads back as the same double (nn_cfg_fmt_double). */
static bool add_raw_double(cJSON *obj, const char *key, double v)
{
    char buf[40] = "null";
    if (isfinite(v))
        nn_cfg_fmt_double(buf, sizeof buf, v);
    return cJSON_AddRawToObject(obj, key, buf) != NULL;
}

static bool add_rows(cJSON *obj, const nn_cfg_row *rows, int n, const void *base, bool out_layer);

/* The layers, each an object; the last is the output layer. */
static bool add_array(cJSON *obj, const nn_cfg_row *r, const void *base)
{
    cJSON *a = cJSON_AddArrayToObject(obj, r->key);
    int n = *(const int *)((const char *)base + r->count);
    if (n > r->max)
        n = (int)r->max;
    bool ok = a != NULL;
    for (int i = 0; ok && i < n; i++) {
        cJSON *item = cJSON_CreateObject();
        ok = item && cJSON_AddItemToArray(a, item);
        if (!ok)
            cJSON_Delete(item);
        const char *item_base = (const char *)base + r->off + (size_t)i * r->item_size;
        ok = ok && add_rows(item, r->rows, r->n_rows, item_base, i == n - 1);
    }
    return ok;
}

static bool add_row(cJSON *obj, const nn_cfg_row *r, const void *base, bool out_layer)
{
    const char *f = (const char *)base + r->off;
    bool given = !r->given || *(const bool *)((const char *)base + r->given - 1);
    switch (r->kind) {
    case CFG_INT:
        return add_raw_int(obj, r->key, r, base);
    case CFG_NUM: {
        double v;
        memcpy(&v, f, sizeof v);
        return add_raw_double(obj, r->key, v);
    }
    case CFG_BOOL:
        return cJSON_AddBoolToObject(obj, r->key, *(const bool *)f) != NULL;
    case CFG_ENUM: {
        const char *name = r->names->name((int)nn_cfg_row_int(r, base));
        if (r->names->bools && (!strcmp(name, "true") || !strcmp(name, "false")))
            return cJSON_AddBoolToObject(obj, r->key, name[0] == 't') != NULL;
        return cJSON_AddStringToObject(obj, r->key, name);
    }
    case CFG_PATH: {
        const char *path = *(char *const *)f;
        return !path || cJSON_AddStringToObject(obj, r->key, path);
    }
    case CFG_SECTION: {
        cJSON *o = given ? cJSON_AddObjectToObject(obj, r->key) : NULL;
        return !given || (o && add_rows(o, r->rows, r->n_rows, base, out_layer));
    }
    case CFG_ARRAY:
        return add_array(obj, r, base);
    case CFG_SOURCE:
        return !given || nn_cfg_add_source(obj, r->key, (const nn_source *)f);
    case CFG_CHECK:
        break;
    }
    return true;
}

/* A quiet_default row holding its default is left out (rows without a
 * computed default), so a config without the key keeps the bytes it had
 * before the key existed. */
static bool left_out(const nn_cfg_row *r, const void *base)
{
    if (!r->quiet_default)
        return false;
    if (r->kind == CFG_NUM) {
        double v;
        memcpy(&v, (const char *)base + r->off, sizeof v);
        return v == r->def;
    }
    return (double)nn_cfg_row_int(r, base) == r->def;
}

static bool add_rows(cJSON *obj, const nn_cfg_row *rows, int n, const void *base, bool out_layer)
{
    bool ok = true;
    for (int i = 0; ok && i < n; i++)
        if (rows[i].kind != CFG_CHECK && nn_cfg_row_applies(rows, n, &rows[i], base, out_layer) &&
            !left_out(&rows[i], base))
            ok = add_row(obj, &rows[i], base, out_layer);
    return ok;
}

char *nn_config_to_json(const nn_config *cfg)
{
    int n;
    const nn_cfg_row *rows = nn_cfg_root_rows(&n);
    cJSON *root = cJSON_CreateObject();
    bool ok = root && add_rows(root, rows, n, cfg, false);
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return text;
}
