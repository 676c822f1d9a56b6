/* bytes.c - little-endian writing and bounded reading (bytes.h). */
#include "util/bytes.h"

#include <stdlib.h>
#include <string.h>

/* Room for n more bytes; false (and oom) when there is none. */
static bool reserve(nn_bytes *w, size_t n)
{
    if (w->oom)
        return false;
    if (n <= w->cap - w->len)
        return true;
    size_t cap = w->cap ? w->cap : 256;
    while (cap - w->len < n) {
        if (cap > SIZE_MAX / 2) {
            w->oom = true;
            return false;
        }
        cap *= 2;
    }
    unsigned char *p = realloc(w->p, cap);
    if (!p) {
        w->oom = true;
        return false;
    }
    w->p = p;
    w->cap = cap;
    return true;
}

void nn_put_raw(nn_bytes *w, const void *src, size_t n)
{
    if (n && reserve(w, n)) {
        memcpy(w->p + w->len, src, n);
        w->len += n;
    }
}

void nn_put_u32(nn_bytes *w, uint32_t v)
{
    unsigned char b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    nn_put_raw(w, b, 4);
}

void nn_put_u64(nn_bytes *w, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    nn_put_raw(w, b, 8);
}

void nn_put_f32(nn_bytes *w, float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    nn_put_u32(w, u);
}

void nn_put_f64(nn_bytes *w, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    nn_put_u64(w, u);
}

void nn_put_f32s(nn_bytes *w, const float *v, size_t n)
{
    if (n > SIZE_MAX / 4 || !reserve(w, 4 * n))
        return;
    for (size_t i = 0; i < n; i++)
        nn_put_f32(w, v[i]);
}

void nn_put_str(nn_bytes *w, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    nn_put_u32(w, (uint32_t)n);
    nn_put_raw(w, s, n);
}

void nn_put_u64_at(nn_bytes *w, size_t at, uint64_t v)
{
    if (w->oom || at > w->len || w->len - at < 8)
        return;
    for (int i = 0; i < 8; i++)
        w->p[at + (size_t)i] = (unsigned char)(v >> (8 * i));
}

uint32_t nn_load_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t nn_load_u64(const unsigned char *p)
{
    return (uint64_t)nn_load_u32(p) | (uint64_t)nn_load_u32(p + 4) << 32;
}

const unsigned char *nn_get_raw(nn_bytes_in *r, size_t k)
{
    if (r->bad || k > r->n - r->pos) {
        r->bad = true;
        return NULL;
    }
    const unsigned char *q = r->p + r->pos;
    r->pos += k;
    return q;
}

uint32_t nn_get_u32(nn_bytes_in *r)
{
    const unsigned char *q = nn_get_raw(r, 4);
    return q ? nn_load_u32(q) : 0;
}

uint64_t nn_get_u64(nn_bytes_in *r)
{
    const unsigned char *q = nn_get_raw(r, 8);
    return q ? nn_load_u64(q) : 0;
}

float nn_get_f32(nn_bytes_in *r)
{
    uint32_t u = nn_get_u32(r);
    float v;
    memcpy(&v, &u, sizeof v);
    return v;
}

double nn_get_f64(nn_bytes_in *r)
{
    uint64_t u = nn_get_u64(r);
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

void nn_get_f32s(nn_bytes_in *r, float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = nn_get_f32(r);
}

char *nn_get_str(nn_bytes_in *r, bool *oom)
{
    uint32_t k = nn_get_u32(r);
    const unsigned char *q = nn_get_raw(r, k);
    if (!q || memchr(q, '\0', k)) {
        r->bad = true;
        return NULL;
    }
    char *s = malloc((size_t)k + 1);
    if (!s) {
        *oom = true;
        return NULL;
    }
    memcpy(s, q, k);
    s[k] = '\0';
    return s;
}

size_t nn_bytes_left(const nn_bytes_in *r)
{
    return r->bad ? 0 : r->n - r->pos;
}
