/* idx.c - reading and writing IDX files (see idx.h).
 *
 * Reading goes header -> checks -> data -> trailing-bytes check -> byte
 * order -> value checks.  The data size the header claims is only trusted
 * once it is known to be there: for a plain regular file it is compared with
 * the file's size before anything is allocated; for a gzip stream or a pipe
 * the buffer starts small and doubles as bytes really arrive, up to the
 * claimed size.  Items in messages are counted from 0, like byte offsets.
 */
#include "data/idx.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data/reader.h"
#include "util/limits.h"

#define IDX_FIRST_CHUNK ((size_t)64 * 1024)        /* stream buffer to start with */
#define IDX_MAX_TRAILING_COUNT ((uint64_t)1 << 24) /* stop counting extra bytes here */

/* One IDX file as read: header fields and the data in host byte order. */
typedef struct {
    nn_dtype type;
    int ndim;
    uint32_t dims[NN_IDX_MAX_DIMS];
    uint64_t n;          /* dims[0] */
    uint64_t features;   /* product of dims[1..] (1 when ndim == 1) */
    uint64_t bytes;      /* n * features * element size */
    unsigned header_len; /* 4 + 4 * ndim */
    void *data;          /* (n, features) of type */
} idx_file;

static const char *display_name(const char *path)
{
    return strcmp(path, "-") == 0 ? "stdin" : path;
}

static uint32_t load_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* "60000 x 784 ubyte" */
static void describe(char *out, size_t cap, const idx_file *f)
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < f->ndim && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%u", i ? " x " : "", f->dims[i]);
    if (len < cap)
        snprintf(out + len, cap - len, " %s", nn_dtype_name(f->type));
}

/* Big-endian elements of `size` bytes to host order, in place. */
static void to_host_order(unsigned char *p, uint64_t count, size_t size)
{
    if (size == 2) {
        for (uint64_t i = 0; i < count; i++, p += 2) {
            uint16_t v = (uint16_t)(p[0] << 8 | p[1]);
            memcpy(p, &v, 2);
        }
    } else if (size == 4) {
        for (uint64_t i = 0; i < count; i++, p += 4) {
            uint32_t v = load_be32(p);
            memcpy(p, &v, 4);
        }
    } else if (size == 8) {
        for (uint64_t i = 0; i < count; i++, p += 8) {
            uint64_t v = (uint64_t)load_be32(p) << 32 | load_be32(p + 4);
            memcpy(p, &v, 8);
        }
    }
}

/* Reads and checks the header; on return the reader stands at the data. */
static int read_header(idx_file *f, nn_reader *r, const char *name, int max_ndim, nn_error *err)
{
    unsigned char h[4 + 4 * NN_IDX_MAX_DIMS];
    long long got = nn_reader_read(r, h, 4, err);
    if (got < 0)
        return -1;
    if (got == 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: file is empty (expected an IDX header)", name);
        return -1;
    }
    if (got >= 2 && (h[0] != 0 || h[1] != 0)) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: not an IDX file (bytes 0-1 are 0x%02x 0x%02x, expected 0x00 0x00)",
                     name, h[0], h[1]);
        return -1;
    }
    if (got >= 3 && nn_dtype_size(h[2]) == 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: unknown IDX element type 0x%02x at byte 2", name,
                     h[2]);
        return -1;
    }
    if (got < 4) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: header truncated at byte %lld (4 bytes needed)",
                     name, got);
        return -1;
    }
    f->type = (nn_dtype)h[2];
    f->ndim = h[3];
    if (f->ndim < 1 || f->ndim > max_ndim) {
        if (max_ndim == 1)
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "%s: %d dimensions at byte 3 (a labels file has exactly 1)", name,
                         f->ndim);
        else
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: %d dimensions at byte 3 (expected 1 to %d)",
                         name, f->ndim, max_ndim);
        return -1;
    }
    f->header_len = 4 + 4 * (unsigned)f->ndim;
    got = nn_reader_read(r, h + 4, 4 * (size_t)f->ndim, err);
    if (got < 0)
        return -1;
    if (got < 4 * f->ndim) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: header truncated at byte %lld (%u bytes needed for %d dimension%s)", name,
                     4 + got, f->header_len, f->ndim, f->ndim == 1 ? "" : "s");
        return -1;
    }
    for (int i = 0; i < f->ndim; i++)
        f->dims[i] = load_be32(h + 4 + 4 * i);

    char shape[160];
    describe(shape, sizeof shape, f);
    if (f->dims[0] == 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: dimension 0 is 0 (no samples)", name);
        return -1;
    }
    /* Each step stays below 2^24 * 2^32, so the product cannot overflow. */
    f->n = f->dims[0];
    f->features = 1;
    for (int i = 1; i < f->ndim; i++) {
        if (f->dims[i] == 0) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: dimension %d is 0 (no features)", name, i);
            return -1;
        }
        f->features *= f->dims[i];
        if (f->features > NN_MAX_FEATURES) {
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "%s: header claims %s, more than the maximum of %d features per sample",
                         name, shape, NN_MAX_FEATURES);
            return -1;
        }
    }
    /* n < 2^32, features <= 2^24, size <= 8: bytes < 2^59. */
    f->bytes = f->n * f->features * nn_dtype_size(f->type);
    if (f->bytes > SIZE_MAX || f->n * sizeof(int32_t) > SIZE_MAX) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: header claims %s (%llu bytes of data), more than this machine can address",
                     name, shape, (unsigned long long)f->bytes);
        return -1;
    }
    return 0;
}

/* Reads f->bytes of data into a new f->data, allocating only for bytes that
 * are there, then checks the stream ends right after them. */
static int read_data(idx_file *f, nn_reader *r, const char *name, nn_error *err)
{
    char shape[160];
    describe(shape, sizeof shape, f);
    unsigned long long end = f->header_len + f->bytes;

    long long fsize = nn_reader_size(r);
    int known = fsize >= (long long)f->header_len;
    if (known) {
        uint64_t avail = (uint64_t)fsize - f->header_len;
        if (avail < f->bytes) {
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "%s: header claims %s (%llu bytes of data) but the file holds %llu bytes "
                         "after the %u-byte header",
                         name, shape, (unsigned long long)f->bytes, (unsigned long long)avail,
                         f->header_len);
            return -1;
        }
        if (avail > f->bytes) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: %llu trailing bytes after the data at byte %llu",
                         name, (unsigned long long)(avail - f->bytes), end);
            return -1;
        }
    }

    size_t total = (size_t)f->bytes;
    size_t cap = known || total < IDX_FIRST_CHUNK ? total : IDX_FIRST_CHUNK;
    unsigned char *buf = malloc(cap);
    if (!buf) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory for %zu bytes of data", name, cap);
        return -1;
    }
    size_t have = 0;
    while (have < total) {
        if (have == cap) {
            size_t ncap = cap > total / 2 ? total : cap * 2;
            unsigned char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory for %zu bytes of data",
                             name, ncap);
                return -1;
            }
            buf = nb;
            cap = ncap;
        }
        long long got = nn_reader_read(r, buf + have, cap - have, err);
        if (got < 0) {
            free(buf);
            return -1;
        }
        have += (size_t)got;
        if (have < cap)
            break; /* end of stream */
    }
    if (have < total) {
        free(buf);
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: data ends at byte %llu but the header claims %s (%llu bytes of data, "
                     "to byte %llu)",
                     name, (unsigned long long)(f->header_len + have), shape,
                     (unsigned long long)f->bytes, end);
        return -1;
    }

    /* Reading on to the end also makes zlib check the gzip trailer's CRC. */
    unsigned char extra[4096];
    uint64_t trailing = 0;
    for (;;) {
        long long got = nn_reader_read(r, extra, sizeof extra, err);
        if (got < 0) {
            free(buf);
            return -1;
        }
        trailing += (uint64_t)got;
        if ((size_t)got < sizeof extra || trailing > IDX_MAX_TRAILING_COUNT)
            break;
    }
    if (trailing > 0) {
        free(buf);
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %s%llu trailing bytes after the data at byte %llu",
                     name, trailing > IDX_MAX_TRAILING_COUNT ? "more than " : "",
                     (unsigned long long)(trailing > IDX_MAX_TRAILING_COUNT
                                              ? IDX_MAX_TRAILING_COUNT
                                              : trailing),
                     end);
        return -1;
    }

    to_host_order(buf, f->n * f->features, nn_dtype_size(f->type));
    f->data = buf;
    return 0;
}

static int idx_load(idx_file *f, const char *path, int max_ndim, nn_error *err)
{
    memset(f, 0, sizeof *f);
    nn_reader *r = nn_reader_open(path, err);
    if (!r)
        return -1;
    const char *name = display_name(path);
    int rc = read_header(f, r, name, max_ndim, err) == 0 && read_data(f, r, name, err) == 0;
    nn_reader_close(r);
    return rc ? 0 : -1;
}

/* Float data must be finite: a NaN would poison every weight it touches. */
static int check_finite(const idx_file *f, const char *name, nn_error *err)
{
    uint64_t count = f->n * f->features;
    for (uint64_t k = 0; k < count; k++) {
        double v = f->type == NN_DT_F32 ? ((const float *)f->data)[k]
                                        : ((const double *)f->data)[k];
        if (isfinite(v))
            continue;
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: item %llu feature %llu is %s", name,
                     (unsigned long long)(k / f->features), (unsigned long long)(k % f->features),
                     isnan(v) ? "NaN" : "infinite");
        return -1;
    }
    return 0;
}

int nn_idx_read_images(nn_dataset *d, const char *path, nn_error *err)
{
    memset(d, 0, sizeof *d);
    idx_file f;
    if (idx_load(&f, path, NN_IDX_MAX_DIMS, err) < 0)
        return -1;
    if ((f.type == NN_DT_F32 || f.type == NN_DT_F64) &&
        check_finite(&f, display_name(path), err) < 0) {
        free(f.data);
        return -1;
    }
    d->type = f.type;
    d->n = (size_t)f.n;
    d->features = (size_t)f.features;
    d->ndim = f.ndim;
    memcpy(d->dims, f.dims, sizeof d->dims);
    d->x = f.data;
    return 0;
}

/* The shortest of %.{6,9}g (float) or %.{15,17}g (double) that reads back as v. */
static void format_value(char *out, size_t cap, double v, int is_float)
{
    snprintf(out, cap, "%.*g", is_float ? 6 : 15, v);
    double back = strtod(out, NULL);
    if (is_float ? (float)back != (float)v : back != v)
        snprintf(out, cap, "%.*g", is_float ? 9 : 17, v);
}

int nn_idx_read_labels(int32_t **labels, size_t *n, const char *path, nn_error *err)
{
    *labels = NULL;
    *n = 0;
    idx_file f;
    if (idx_load(&f, path, 1, err) < 0)
        return -1;
    const char *name = display_name(path);
    int32_t *out = malloc((size_t)f.n * sizeof *out);
    if (!out) {
        free(f.data);
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory for %llu labels", name,
                     (unsigned long long)f.n);
        return -1;
    }
    int is_float = f.type == NN_DT_F32 || f.type == NN_DT_F64;
    for (size_t i = 0; i < (size_t)f.n; i++) {
        double v = 0;
        switch (f.type) {
        case NN_DT_U8: v = ((const uint8_t *)f.data)[i]; break;
        case NN_DT_I8: v = ((const int8_t *)f.data)[i]; break;
        case NN_DT_I16: v = ((const int16_t *)f.data)[i]; break;
        case NN_DT_I32: v = ((const int32_t *)f.data)[i]; break;
        case NN_DT_F32: v = ((const float *)f.data)[i]; break;
        case NN_DT_F64: v = ((const double *)f.data)[i]; break;
        }
        const char *why = NULL;
        char max[32] = "";
        if (isnan(v))
            why = "is NaN";
        else if (isinf(v))
            why = "is infinite";
        else if (v != floor(v))
            why = "is not a whole number";
        else if (v < 0)
            why = "is negative";
        else if (v > NN_MAX_UNITS - 1) {
            snprintf(max, sizeof max, " %d", NN_MAX_UNITS - 1);
            why = "exceeds the maximum";
        }
        if (why) {
            char val[40];
            format_value(val, sizeof val, v, f.type == NN_DT_F32);
            if (!is_float)
                snprintf(val, sizeof val, "%.0f", v);
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: label %s at item %zu %s%s", name, val, i, why,
                         max);
            free(f.data);
            free(out);
            return -1;
        }
        out[i] = (int32_t)v;
    }
    free(f.data);
    *labels = out;
    *n = (size_t)f.n;
    return 0;
}

int nn_idx_read_pair(nn_dataset *d, const char *images, const char *labels, nn_error *err)
{
    if (nn_idx_read_images(d, images, err) < 0)
        return -1;
    int32_t *lab;
    size_t n;
    if (nn_idx_read_labels(&lab, &n, labels, err) < 0) {
        nn_dataset_free(d);
        return -1;
    }
    if (n != d->n) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %zu labels but %zu images",
                     display_name(labels), n, d->n);
        free(lab);
        nn_dataset_free(d);
        return -1;
    }
    int32_t top = 0;
    for (size_t i = 0; i < n; i++)
        if (lab[i] > top)
            top = lab[i];
    d->labels = lab;
    d->n_classes = top + 1;
    return 0;
}

/* --- writing ------------------------------------------------------------ */

typedef struct {
    FILE *f;  /* plain, or */
    gzFile g; /* gzip */
} idx_out;

static int out_write(idx_out *o, const void *p, size_t n)
{
    if (o->g)
        return gzwrite(o->g, p, (unsigned)n) == (int)n ? 0 : -1;
    return fwrite(p, 1, n, o->f) == n ? 0 : -1;
}

static void write_error(nn_error *err, const char *path, idx_out *o)
{
    int zerr = 0;
    const char *zmsg = o->g ? gzerror(o->g, &zerr) : NULL;
    if (zmsg && zerr != Z_OK && zerr != Z_ERRNO)
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: write failed: %s", path, zmsg);
    else
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: write failed: %s", path,
                     errno ? strerror(errno) : "I/O error");
}

int nn_idx_write(const char *path, int gz, nn_dtype type, int ndim, const uint32_t *dims,
                 const void *data, nn_error *err)
{
    size_t size = nn_dtype_size((int)type);
    if (size == 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: unknown IDX element type 0x%02x", path,
                     (unsigned)type & 0xffu);
        return -1;
    }
    if (ndim < 1 || ndim > 255) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %d dimensions (an IDX file has 1 to 255)", path,
                     ndim);
        return -1;
    }
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] != 0 && count > SIZE_MAX / size / dims[i]) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: dimensions too large to write", path);
            return -1;
        }
        count *= dims[i];
    }

    idx_out o = {NULL, NULL};
    errno = 0;
    if (gz)
        o.g = gzopen(path, "wb");
    else
        o.f = fopen(path, "wb");
    if (!o.f && !o.g) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %s", path,
                     errno ? strerror(errno) : "cannot open for writing");
        return -1;
    }

    unsigned char buf[64 * 1024];
    int ok = 1;
    buf[0] = buf[1] = 0;
    buf[2] = (unsigned char)type;
    buf[3] = (unsigned char)ndim;
    ok = out_write(&o, buf, 4) == 0;
    for (int i = 0; ok && i < ndim; i++) {
        unsigned char b[4] = {(unsigned char)(dims[i] >> 24), (unsigned char)(dims[i] >> 16),
                              (unsigned char)(dims[i] >> 8), (unsigned char)dims[i]};
        ok = out_write(&o, b, 4) == 0;
    }

    /* Elements to big-endian, a buffer at a time. */
    const unsigned char *src = data;
    size_t per = sizeof buf / size;
    for (size_t done = 0; ok && done < count;) {
        size_t k = count - done < per ? count - done : per;
        for (size_t e = 0; e < k; e++) {
            const unsigned char *s = src + (done + e) * size;
            unsigned char *t = buf + e * size;
            uint64_t v = 0;
            if (size == 1) {
                t[0] = s[0];
                continue;
            }
            if (size == 2) {
                uint16_t u;
                memcpy(&u, s, 2);
                v = u;
            } else if (size == 4) {
                uint32_t u;
                memcpy(&u, s, 4);
                v = u;
            } else {
                memcpy(&v, s, 8);
            }
            for (size_t b = 0; b < size; b++)
                t[b] = (unsigned char)(v >> (8 * (size - 1 - b)));
        }
        ok = out_write(&o, buf, k * size) == 0;
        done += k;
    }

    if (!ok)
        write_error(err, path, &o);
    if (o.g) {
        int rc = gzclose(o.g);
        if (ok && rc != Z_OK) {
            ok = 0;
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: write failed (gzclose error %d)", path, rc);
        }
    } else if (fclose(o.f) != 0 && ok) {
        ok = 0;
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: write failed: %s", path, strerror(errno));
    }
    return ok ? 0 : -1;
}

/* --- streaming rows (for --predict) ------------------------------------ */

struct nn_idx_stream {
    nn_reader *r;
    idx_file f;
    uint64_t row;          /* rows delivered */
    unsigned char *buf;    /* (features * element size), from the first row on */
    char *name;
};

nn_idx_stream *nn_idx_stream_open(nn_reader *r, nn_error *err)
{
    const char *name = display_name(nn_reader_path(r));
    nn_idx_stream *s = calloc(1, sizeof *s);
    if (!s || !(s->name = strdup(name))) {
        free(s);
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", name);
        return NULL;
    }
    if (read_header(&s->f, r, s->name, NN_IDX_MAX_DIMS, err) < 0) {
        free(s->name);
        free(s);
        return NULL;
    }
    /* The row buffer waits for the first nn_idx_stream_next: the header's
     * width (up to 2^24 x 8 bytes) is only a claim until the caller, who
     * holds a row of that many doubles, has accepted it. */
    s->r = r;
    return s;
}

size_t nn_idx_stream_features(const nn_idx_stream *s)
{
    return (size_t)s->f.features;
}

size_t nn_idx_stream_pending(const nn_idx_stream *s)
{
    return nn_reader_pending(s->r);
}

int nn_idx_stream_next(nn_idx_stream *s, double *x, nn_error *err)
{
    if (s->row == s->f.n)
        return 0;
    size_t esz = nn_dtype_size(s->f.type), bytes = (size_t)s->f.features * esz;
    if (!s->buf && !(s->buf = malloc(bytes))) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory for a row of %zu bytes", s->name,
                     bytes);
        return -1;
    }
    long long got = nn_reader_read(s->r, s->buf, bytes, err);
    if (got < 0)
        return -1;
    if ((size_t)got < bytes) {
        char shape[160];
        describe(shape, sizeof shape, &s->f);
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: data ends in item %llu at byte %llu but the header claims %s", s->name,
                     (unsigned long long)s->row, (unsigned long long)nn_reader_offset(s->r),
                     shape);
        return -1;
    }
    to_host_order(s->buf, s->f.features, esz);
    for (size_t i = 0; i < (size_t)s->f.features; i++) {
        const unsigned char *p = s->buf + i * esz;
        double v = 0;
        switch (s->f.type) {
        case NN_DT_U8: v = *p; break;
        case NN_DT_I8: v = (int8_t)*p; break;
        case NN_DT_I16: { int16_t t; memcpy(&t, p, 2); v = t; break; }
        case NN_DT_I32: { int32_t t; memcpy(&t, p, 4); v = t; break; }
        case NN_DT_F32: { float t; memcpy(&t, p, 4); v = t; break; }
        case NN_DT_F64: memcpy(&v, p, 8); break;
        }
        if (!isfinite(v)) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: item %llu feature %zu is %s", s->name,
                         (unsigned long long)s->row, i, isnan(v) ? "NaN" : "infinite");
            return -1;
        }
        x[i] = v;
    }
    s->row++;
    if (s->row == s->f.n) { /* the file must end with the last row */
        unsigned char extra;
        long long more = nn_reader_read(s->r, &extra, 1, err);
        if (more < 0)
            return -1;
        if (more > 0) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: trailing bytes after the data at byte %llu",
                         s->name, (unsigned long long)nn_reader_offset(s->r) - 1);
            return -1;
        }
    }
    return 1;
}

void nn_idx_stream_close(nn_idx_stream *s)
{
    if (!s)
        return;
    free(s->buf);
    free(s->name);
    free(s);
}
