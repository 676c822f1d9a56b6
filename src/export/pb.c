/* pb.c - the protocol-buffers writer (pb.h). */
#include "export/pb.h"

#include <stdlib.h>
#include <string.h>

void nn_pb_init(nn_pb *b)
{
    memset(b, 0, sizeof *b);
}

void nn_pb_free(nn_pb *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* Room for `more` bytes after the n held; false (and failed) when out of
 * memory or past NN_PB_MAX_BYTES. */
static bool reserve(nn_pb *b, size_t more)
{
    if (b->failed)
        return false;
    if (more > NN_PB_MAX_BYTES - b->n) {
        b->failed = true;
        return false;
    }
    size_t need = b->n + more;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > NN_PB_MAX_BYTES / 2 ? NN_PB_MAX_BYTES : cap * 2;
    unsigned char *p = realloc(b->p, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void nn_pb_raw(nn_pb *b, const void *data, size_t n)
{
    if (n == 0 || !reserve(b, n))
        return;
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

int nn_pb_varint_size(uint64_t v)
{
    int k = 1;
    while (v >= 0x80) {
        v >>= 7;
        k++;
    }
    return k;
}

void nn_pb_varint(nn_pb *b, uint64_t v)
{
    unsigned char tmp[10];
    int k = 0;
    while (v >= 0x80) {
        tmp[k++] = (unsigned char)(v & 0x7f) | 0x80;
        v >>= 7;
    }
    tmp[k++] = (unsigned char)v;
    nn_pb_raw(b, tmp, (size_t)k);
}

void nn_pb_key(nn_pb *b, int field, int wire)
{
    nn_pb_varint(b, ((uint64_t)(uint32_t)field << 3) | (uint64_t)wire);
}

void nn_pb_int64(nn_pb *b, int field, int64_t v)
{
    nn_pb_key(b, field, NN_PB_VARINT);
    nn_pb_varint(b, (uint64_t)v);
}

void nn_pb_floats_le(unsigned char *out, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        out[4 * i] = (unsigned char)u;
        out[4 * i + 1] = (unsigned char)(u >> 8);
        out[4 * i + 2] = (unsigned char)(u >> 16);
        out[4 * i + 3] = (unsigned char)(u >> 24);
    }
}

void nn_pb_float(nn_pb *b, int field, float v)
{
    unsigned char le[4];
    nn_pb_floats_le(le, &v, 1);
    nn_pb_key(b, field, NN_PB_FIXED32);
    nn_pb_raw(b, le, 4);
}

void nn_pb_bytes(nn_pb *b, int field, const void *data, size_t n)
{
    nn_pb_key(b, field, NN_PB_LEN);
    nn_pb_varint(b, (uint64_t)n);
    nn_pb_raw(b, data, n);
}

void nn_pb_string(nn_pb *b, int field, const char *s)
{
    nn_pb_bytes(b, field, s, strlen(s));
}

void nn_pb_message(nn_pb *b, int field, const nn_pb *sub)
{
    if (sub->failed) {
        b->failed = true;
        return;
    }
    nn_pb_bytes(b, field, sub->p, sub->n);
}

void nn_pb_packed_int64(nn_pb *b, int field, const int64_t *v, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)nn_pb_varint_size((uint64_t)v[i]);
    nn_pb_key(b, field, NN_PB_LEN);
    nn_pb_varint(b, (uint64_t)len);
    for (size_t i = 0; i < n; i++)
        nn_pb_varint(b, (uint64_t)v[i]);
}

void nn_pb_packed_float(nn_pb *b, int field, const float *v, size_t n)
{
    if (n > NN_PB_MAX_BYTES / 4) {
        b->failed = true;
        return;
    }
    nn_pb_key(b, field, NN_PB_LEN);
    nn_pb_varint(b, (uint64_t)n * 4);
    if (n == 0 || !reserve(b, 4 * n))
        return;
    nn_pb_floats_le(b->p + b->n, v, n);
    b->n += 4 * n;
}
