/* value.c - typed values: the getters that read one member as an integer
 * (exactly, from its token), a number in a range, a boolean, a string, an
 * object or an enum name, each with its message. */
#include "config/internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

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

bool nn_cfg_node_int64(const nn_cfg_parser *p, const cJSON *v, int64_t *out)
{
    const nn_cfg_pos *q = nn_cfg_pos_of(p, v);
    return cJSON_IsNumber(v) && q &&
           token_to_int64(nn_cfg_pos_text(p, q) + q->start, q->end - q->start, out);
}

int nn_cfg_get_int64(const nn_cfg_parser *p, const cJSON *obj, const char *parent, const char *key,
                  int64_t lo, int64_t hi, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return 0;
    char path[300], buf[CFG_CLIP + 8];
    nn_cfg_join(path, sizeof path, parent, key);
    int64_t x;
    if (!nn_cfg_node_int64(p, v, &x) || x < lo || x > hi)
        return nn_cfg_fail_at(p, nn_cfg_value_loc(p, v),
                           "\"%s\" must be an integer from %" PRId64 " to %" PRId64 ", found %s",
                           path, lo, hi, nn_cfg_found(p, v, cJSON_IsNumber(v), buf, sizeof buf));
    *out = x;
    return 0;
}

int nn_cfg_get_double(const nn_cfg_parser *p, const cJSON *obj, const char *parent, const char *key,
                   const nn_cfg_range *range, const char *suffix, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return 0;
    char path[300], buf[CFG_CLIP + 8];
    nn_cfg_join(path, sizeof path, parent, key);
    if (!cJSON_IsNumber(v))
        return nn_cfg_fail_at(p, nn_cfg_value_loc(p, v), "\"%s\" must be a number, found %s", path,
                           nn_cfg_type_phrase(v));
    double x = v->valuedouble;
    const nn_cfg_range *r = range;
    if (!isfinite(x) || (r->lo_open ? x <= r->lo : x < r->lo) ||
        (r->hi_open ? x >= r->hi : x > r->hi))
        return nn_cfg_fail_at(p, nn_cfg_value_loc(p, v), "\"%s\" must be a number %s%s, found %s", path,
                           r->text, suffix, nn_cfg_found(p, v, true, buf, sizeof buf));
    *out = x;
    return 0;
}

int nn_cfg_get_bool(const nn_cfg_parser *p, const cJSON *obj, const char *parent, const char *key,
                 bool *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return 0;
    if (!cJSON_IsBool(v)) {
        char path[300];
        nn_cfg_join(path, sizeof path, parent, key);
        return nn_cfg_fail_at(p, nn_cfg_value_loc(p, v), "\"%s\" must be true or false, found %s", path,
                           nn_cfg_type_phrase(v));
    }
    *out = cJSON_IsTrue(v);
    return 0;
}

int nn_cfg_get_string(const nn_cfg_parser *p, const cJSON *obj, const char *parent, const char *key,
                   const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return 0;
    if (!cJSON_IsString(v) || !*v->valuestring) {
        char path[300], buf[CFG_CLIP + 8];
        nn_cfg_join(path, sizeof path, parent, key);
        return nn_cfg_fail_at(p, nn_cfg_value_loc(p, v), "\"%s\" must be a non-empty string, found %s",
                           path, nn_cfg_found(p, v, cJSON_IsString(v), buf, sizeof buf));
    }
    *out = v->valuestring;
    return 0;
}

int nn_cfg_get_object(const nn_cfg_parser *p, const cJSON *obj, const char *parent, const char *key,
                   const cJSON **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = NULL;
    if (!v)
        return 0;
    if (!cJSON_IsObject(v)) {
        char path[300];
        nn_cfg_join(path, sizeof path, parent, key);
        return nn_cfg_fail_at(p, nn_cfg_value_loc(p, v), "\"%s\" must be an object, found %s", path,
                           nn_cfg_type_phrase(v));
    }
    *out = v;
    return 0;
}

int nn_cfg_get_enum(const nn_cfg_parser *p, const cJSON *obj, const char *parent, const char *key,
                 const nn_cfg_enum *e, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return 0;
    int x = cJSON_IsString(v) ? e->from_name(v->valuestring) : -1;
    if (e->bools && cJSON_IsBool(v))
        x = e->from_name(cJSON_IsTrue(v) ? "true" : "false");
    if (x >= 0) {
        *out = x;
        return 0;
    }
    char path[300], names[300] = "", buf[CFG_CLIP + 8];
    nn_cfg_join(path, sizeof path, parent, key);
    size_t o = 0;
    for (int k = 0; k < 32 && o < sizeof names && strcmp(e->name(k), "?") != 0; k++)
        o += (size_t)snprintf(names + o, sizeof names - o,
                              e->bools && (!strcmp(e->name(k), "true") || !strcmp(e->name(k), "false"))
                                  ? "%s%s"
                                  : "%s\"%s\"",
                              k ? ", " : "", e->name(k));
    return nn_cfg_fail_at(p, nn_cfg_value_loc(p, v), "\"%s\" must be one of %s, found %s", path, names,
                       nn_cfg_found(p, v, cJSON_IsString(v), buf, sizeof buf));
}
