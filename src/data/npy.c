/* npy.c - NumPy .npy arrays: header parsing, reading rows with pread,
 * streaming rows from a byte stream, writing (see npy.h).
 *
 * Nothing is allocated from a header's claim before it is checked: the
 * header text is capped (NN_NPY_MAX_HEADER) and must lie inside the file,
 * the data size (rows x cols x itemsize, computed without overflow) must
 * match the file's length exactly, and rows are read through a fixed-size
 * chunk buffer.  Rows and columns in messages count from 0, like byte
 * offsets.
 */
#include "data/npy.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/limits.h"

#define NPY_CHUNK ((size_t)256 * 1024) /* bytes converted at a time */
#define NPY_MAX_DIM ((uint64_t)1 << 62)
#define NPY_MAX_DATA ((uint64_t)1 << 62)
#define NPY_EXACT ((double)((uint64_t)1 << 53))

static bool host_little(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* --- the prefix ---------------------------------------------------------- */

int nn_npy_parse_prefix(const unsigned char *p, size_t n, const char *name, int *prefix_len,
                        uint32_t *header_len, nn_error *err)
{
    if (n < NN_NPY_MAGIC_LEN || memcmp(p, NN_NPY_MAGIC, NN_NPY_MAGIC_LEN) != 0) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: not an NPY file (bytes 0-5 are not the magic \\x93NUMPY)", name);
        return -1;
    }
    if (n < 8) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: header truncated at byte %zu (the version is "
                     "bytes 6-7)", name, n);
        return -1;
    }
    int major = p[6], minor = p[7];
    if (major < 1 || major > 3 || minor != 0) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: NPY format version %d.%d at byte 6 (nntrain reads 1.0, 2.0 and 3.0)",
                     name, major, minor);
        return -1;
    }
    int plen = major == 1 ? 10 : 12;
    if (n < (size_t)plen) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: header truncated at byte %zu (%d bytes needed for the header length)",
                     name, n, plen);
        return -1;
    }
    uint32_t len = major == 1 ? (uint32_t)p[8] | (uint32_t)p[9] << 8
                              : (uint32_t)p[8] | (uint32_t)p[9] << 8 | (uint32_t)p[10] << 16 |
                                    (uint32_t)p[11] << 24;
    if (len > NN_NPY_MAX_HEADER) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: header length %lu at byte 8 is more than the maximum of %lu bytes", name,
                     (unsigned long)len, (unsigned long)NN_NPY_MAX_HEADER);
        return -1;
    }
    *prefix_len = plen;
    *header_len = len;
    return 0;
}

/* --- the header dict ----------------------------------------------------- */

typedef struct {
    const char *s;
    size_t len, pos;
    int prefix_len;
    const char *name;
    nn_error *err;
} hdr_parser;

static int hfail(hdr_parser *p, const char *fmt, const char *what)
{
    nn_error_set(p->err, NN_EXIT_RUNTIME, "%s: header byte %zu: %s%s", p->name,
                 (size_t)p->prefix_len + p->pos, fmt, what ? what : "");
    return -1;
}

static void skip_ws(hdr_parser *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                               p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

static bool peek(hdr_parser *p, char c)
{
    skip_ws(p);
    return p->pos < p->len && p->s[p->pos] == c;
}

/* A quoted string without escapes into out (cap bytes); *truncated when longer. */
static int parse_string(hdr_parser *p, char *out, size_t cap, const char *what)
{
    skip_ws(p);
    if (p->pos >= p->len || (p->s[p->pos] != '\'' && p->s[p->pos] != '"'))
        return hfail(p, "expected a quoted string ", what);
    char q = p->s[p->pos++];
    size_t start = p->pos;
    while (p->pos < p->len && p->s[p->pos] != q) {
        if (p->s[p->pos] == '\\' || p->s[p->pos] == '\n')
            return hfail(p, "unexpected character in a string", NULL);
        p->pos++;
    }
    if (p->pos >= p->len)
        return hfail(p, "unterminated string", NULL);
    size_t n = p->pos - start;
    p->pos++;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, p->s + start, n);
    out[n] = '\0';
    return 0;
}

static bool take_word(hdr_parser *p, const char *w)
{
    size_t n = strlen(w);
    skip_ws(p);
    if (p->len - p->pos >= n && memcmp(p->s + p->pos, w, n) == 0) {
        p->pos += n;
        return true;
    }
    return false;
}

static const struct {
    const char *code; /* kind and size after the byte order */
    nn_npy_dtype t;
    int size;
} dtypes[] = {{"u1", NN_NPY_U1, 1}, {"i1", NN_NPY_I1, 1}, {"i2", NN_NPY_I2, 2},
              {"i4", NN_NPY_I4, 4}, {"i8", NN_NPY_I8, 8}, {"f2", NN_NPY_F2, 2},
              {"f4", NN_NPY_F4, 4}, {"f8", NN_NPY_F8, 8}};

static int parse_descr(hdr_parser *p, nn_npy_header *h)
{
    skip_ws(p);
    if (p->pos < p->len && (p->s[p->pos] == '[' || p->s[p->pos] == '{'))
        return hfail(p, "a structured dtype (a record of fields) is not read; nntrain reads "
                        "plain arrays of u1, i1, i2, i4, i8, f2, f4 or f8", NULL);
    char d[64];
    size_t at = p->pos;
    if (parse_string(p, d, sizeof d, "for 'descr'") < 0)
        return -1;
    size_t save = p->pos;
    p->pos = at;
    char shown[160];
    snprintf(shown, sizeof shown, "'%s'", d);
    const char *k = d[0] == '<' || d[0] == '>' || d[0] == '|' || d[0] == '=' ? d + 1 : d;
    if (k[0] == 'O') {
        snprintf(shown, sizeof shown, "dtype '%s' is an object array (pickled Python objects), "
                 "which nntrain does not read", d);
        return hfail(p, shown, NULL);
    }
    for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++) {
        if (strcmp(k, dtypes[i].code) != 0)
            continue;
        if (d[0] == '|' && dtypes[i].size > 1)
            break;
        if (d[0] != '<' && d[0] != '>' && d[0] != '|')
            break;
        h->dtype = dtypes[i].t;
        h->itemsize = dtypes[i].size;
        h->big_endian = d[0] == '>';
        memcpy(h->descr, d, strlen(d) + 1);
        p->pos = save;
        return 0;
    }
    char msg[400];
    snprintf(msg, sizeof msg, "dtype %s is not one nntrain reads (u1, i1, i2, i4, i8, f2, f4, "
             "f8 with byte order '<' or '>', or '|' for one byte)", shown);
    return hfail(p, msg, NULL);
}

/* (), (5,), (3, 4), also with Python 2's 3L. */
static int parse_shape(hdr_parser *p, nn_npy_header *h)
{
    skip_ws(p);
    if (p->pos >= p->len || p->s[p->pos] != '(')
        return hfail(p, "expected a tuple for 'shape'", NULL);
    p->pos++;
    h->ndim = 0;
    for (;;) {
        if (peek(p, ')')) {
            p->pos++;
            break;
        }
        if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9')
            return hfail(p, "expected a dimension (a non-negative integer) in 'shape'", NULL);
        uint64_t v = 0;
        while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
            v = v * 10 + (uint64_t)(p->s[p->pos] - '0');
            if (v > NPY_MAX_DIM)
                return hfail(p, "a dimension in 'shape' is too large", NULL);
            p->pos++;
        }
        if (p->pos < p->len && p->s[p->pos] == 'L')
            p->pos++;
        if (h->ndim == NN_NPY_MAX_DIMS)
            return hfail(p, "more dimensions in 'shape' than the maximum of 32", NULL);
        h->shape[h->ndim++] = v;
        if (peek(p, ',')) {
            p->pos++;
        } else if (!peek(p, ')')) {
            return hfail(p, "expected ',' or ')' in 'shape'", NULL);
        }
    }
    return 0;
}

/* "100 x 4 <f4" */
void nn_npy_describe(char *out, size_t cap, const nn_npy_header *h)
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < h->ndim && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%llu", i ? " x " : "",
                                (unsigned long long)h->shape[i]);
    if (len < cap)
        snprintf(out + len, cap - len, " %s", h->descr);
}

int nn_npy_parse_header(nn_npy_header *h, const char *text, size_t len, int prefix_len,
                        uint64_t max_cols, const char *name, nn_error *err)
{
    int major = h->major, minor = h->minor;
    memset(h, 0, sizeof *h);
    h->major = major;
    h->minor = minor;
    hdr_parser p = {text, len, 0, prefix_len, name, err};
    bool have_descr = false, have_order = false, have_shape = false;
    if (!peek(&p, '{'))
        return hfail(&p, "expected '{' (the header is a Python dict)", NULL);
    p.pos++;
    for (;;) {
        if (peek(&p, '}')) {
            p.pos++;
            break;
        }
        char key[32];
        size_t key_at = p.pos;
        if (parse_string(&p, key, sizeof key, "(a key)") < 0)
            return -1;
        if (!peek(&p, ':'))
            return hfail(&p, "expected ':' after a key", NULL);
        p.pos++;
        bool *seen = strcmp(key, "descr") == 0           ? &have_descr
                     : strcmp(key, "fortran_order") == 0 ? &have_order
                     : strcmp(key, "shape") == 0         ? &have_shape
                                                         : NULL;
        if (!seen) {
            p.pos = key_at;
            return hfail(&p, "unknown key (the header holds 'descr', 'fortran_order' and "
                             "'shape')", NULL);
        }
        if (*seen) {
            p.pos = key_at;
            return hfail(&p, "repeated key ", key);
        }
        *seen = true;
        if (seen == &have_descr) {
            if (parse_descr(&p, h) < 0)
                return -1;
        } else if (seen == &have_shape) {
            if (parse_shape(&p, h) < 0)
                return -1;
        } else {
            size_t at = (skip_ws(&p), p.pos);
            if (take_word(&p, "True")) {
                p.pos = at;
                return hfail(&p, "the array is in Fortran (column-major) order; nntrain "
                                 "reads C order (numpy.ascontiguousarray before numpy.save)",
                             NULL);
            }
            if (!take_word(&p, "False"))
                return hfail(&p, "expected True or False for 'fortran_order'", NULL);
        }
        if (peek(&p, ',')) {
            p.pos++;
        } else if (!peek(&p, '}')) {
            return hfail(&p, "expected ',' or '}' in the header dict", NULL);
        }
    }
    skip_ws(&p);
    if (p.pos < len)
        return hfail(&p, "unexpected bytes after the header dict", NULL);
    if (!have_descr || !have_order || !have_shape) {
        p.pos = 0;
        return hfail(&p, "the header lacks ", !have_descr ? "'descr'"
                                               : !have_order ? "'fortran_order'"
                                                             : "'shape'");
    }
    if (h->ndim == 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: shape () is a single value, not rows", name);
        return -1;
    }
    char shape[200];
    nn_npy_describe(shape, sizeof shape, h);
    h->rows = h->shape[0];
    if (h->rows == 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: shape %s has no rows", name, shape);
        return -1;
    }
    h->cols = 1;
    for (int i = 1; i < h->ndim; i++) {
        if (h->shape[i] == 0) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: shape %s has no columns (dimension %d is 0)",
                         name, shape, i);
            return -1;
        }
        if (h->cols > NPY_MAX_DATA / h->shape[i]) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: shape %s claims more data than any file holds",
                         name, shape);
            return -1;
        }
        h->cols *= h->shape[i];
    }
    if (max_cols && h->cols > max_cols) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: shape %s has %llu values per row, more than the maximum of %llu", name,
                     shape, (unsigned long long)h->cols, (unsigned long long)max_cols);
        return -1;
    }
    h->row_bytes = h->cols * (uint64_t)h->itemsize; /* cols < 2^62 / 1, checked below */
    if (h->cols > NPY_MAX_DATA / (uint64_t)h->itemsize ||
        h->rows > NPY_MAX_DATA / h->row_bytes) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: shape %s claims more data than any file holds",
                     name, shape);
        return -1;
    }
    h->data_bytes = h->rows * h->row_bytes;
    h->data_offset = (uint64_t)prefix_len + len;
    return 0;
}

/* --- reading a file ------------------------------------------------------ */

/* Exactly n bytes at off, or -1 with *err ("ends at byte", read error). */
static int pread_full(int fd, void *buf, size_t n, uint64_t off, const char *name, nn_error *err)
{
    unsigned char *p = buf;
    size_t done = 0;
    while (done < n) {
        ssize_t k = pread(fd, p + done, n - done, (off_t)(off + done));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: read error at byte %llu: %s", name,
                         (unsigned long long)(off + done), strerror(errno));
            return -1;
        }
        if (k == 0) {
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "%s: the file ends at byte %llu, %zu bytes short (did it shrink?)", name,
                         (unsigned long long)(off + done), n - done);
            return -1;
        }
        done += (size_t)k;
    }
    return 0;
}

int nn_npy_open(nn_npy_file *f, const char *path, uint64_t max_cols, nn_error *err)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    f->name = strdup(path);
    if (!f->name) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", path);
        return -1;
    }
    const char *name = f->name;
    char *text = NULL;
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %s", name, strerror(errno));
        goto fail;
    }
    struct stat st;
    if (fstat(f->fd, &st) != 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %s", name, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: an NPY array must be a regular file", name);
        goto fail;
    }
    uint64_t size = (uint64_t)st.st_size;
    unsigned char pre[NN_NPY_PREFIX_MAX];
    size_t n = size < sizeof pre ? (size_t)size : sizeof pre;
    if (n == 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: file is empty (expected an NPY header)", name);
        goto fail;
    }
    if (pread_full(f->fd, pre, n, 0, name, err) < 0)
        goto fail;
    int plen;
    uint32_t hlen;
    if (nn_npy_parse_prefix(pre, n, name, &plen, &hlen, err) < 0)
        goto fail;
    f->h.major = pre[6];
    f->h.minor = pre[7];
    if ((uint64_t)plen + hlen > size) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: the header length at byte 8 claims %lu bytes but the file holds %llu "
                     "after the %d-byte prefix",
                     name, (unsigned long)hlen, (unsigned long long)(size - (uint64_t)plen), plen);
        goto fail;
    }
    text = malloc(hlen ? hlen : 1);
    if (!text) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", name);
        goto fail;
    }
    if (pread_full(f->fd, text, hlen, (uint64_t)plen, name, err) < 0 ||
        nn_npy_parse_header(&f->h, text, hlen, plen, max_cols, name, err) < 0)
        goto fail;
    free(text);
    text = NULL;
    uint64_t avail = size - f->h.data_offset;
    if (avail != f->h.data_bytes) {
        char shape[200];
        nn_npy_describe(shape, sizeof shape, &f->h);
        if (avail < f->h.data_bytes)
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "%s: header claims %s (%llu bytes of data) but the file holds %llu bytes "
                         "after the %llu-byte header",
                         name, shape, (unsigned long long)f->h.data_bytes,
                         (unsigned long long)avail, (unsigned long long)f->h.data_offset);
        else
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "%s: %llu trailing bytes after the data at byte %llu", name,
                         (unsigned long long)(avail - f->h.data_bytes),
                         (unsigned long long)(f->h.data_offset + f->h.data_bytes));
        goto fail;
    }
    return 0;
fail:
    free(text);
    nn_npy_close(f);
    return -1;
}

void nn_npy_close(nn_npy_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    free(f->name);
    f->fd = -1;
    f->name = NULL;
}

nn_dtype nn_npy_storage_type(nn_npy_dtype t)
{
    switch (t) {
    case NN_NPY_U1: return NN_DT_U8;
    case NN_NPY_I1: return NN_DT_I8;
    case NN_NPY_I2: return NN_DT_I16;
    case NN_NPY_I4: return NN_DT_I32;
    case NN_NPY_F2:
    case NN_NPY_F4: return NN_DT_F32;
    case NN_NPY_I8:
    case NN_NPY_F8: break;
    }
    return NN_DT_F64;
}

static uint64_t load_bits(const nn_npy_header *h, const unsigned char *p)
{
    uint64_t u = 0;
    int n = h->itemsize;
    if (h->big_endian)
        for (int i = 0; i < n; i++)
            u = u << 8 | p[i];
    else
        for (int i = n - 1; i >= 0; i--)
            u = u << 8 | p[i];
    return u;
}

static double half_to_double(uint16_t b)
{
    int sign = b >> 15, e = (b >> 10) & 0x1f, m = b & 0x3ff;
    double v;
    if (e == 0)
        v = ldexp((double)m, -24);
    else if (e == 31)
        v = m ? NAN : INFINITY;
    else
        v = ldexp((double)(m | 0x400), e - 25);
    return sign ? -v : v;
}

/* Two's-complement bits of `bits` width as a signed value. */
static int64_t to_signed(uint64_t u, int bits)
{
    if (bits < 64 && (u >> (bits - 1)) & 1)
        return (int64_t)(u | ~(((uint64_t)1 << bits) - 1));
    return (int64_t)u;
}

double nn_npy_element(const nn_npy_header *h, const unsigned char *p, bool *inexact)
{
    uint64_t u = load_bits(h, p);
    switch (h->dtype) {
    case NN_NPY_U1: return (double)u;
    case NN_NPY_I1:
    case NN_NPY_I2:
    case NN_NPY_I4: return (double)to_signed(u, 8 * h->itemsize);
    case NN_NPY_I8: {
        int64_t v = to_signed(u, 64);
        if (v > ((int64_t)1 << 53) || v < -((int64_t)1 << 53))
            *inexact = true;
        return (double)v;
    }
    case NN_NPY_F2: return half_to_double((uint16_t)u);
    case NN_NPY_F4: {
        uint32_t b = (uint32_t)u;
        float f;
        memcpy(&f, &b, 4);
        return f;
    }
    case NN_NPY_F8: {
        double d;
        memcpy(&d, &u, 8);
        return d;
    }
    }
    return 0;
}

static bool is_float(nn_npy_dtype t)
{
    return t == NN_NPY_F2 || t == NN_NPY_F4 || t == NN_NPY_F8;
}

static void store(void *out, size_t k, nn_dtype type, double v)
{
    switch (type) {
    case NN_DT_U8: ((uint8_t *)out)[k] = (uint8_t)v; break;
    case NN_DT_I8: ((int8_t *)out)[k] = (int8_t)v; break;
    case NN_DT_I16: ((int16_t *)out)[k] = (int16_t)v; break;
    case NN_DT_I32: ((int32_t *)out)[k] = (int32_t)v; break;
    case NN_DT_F32: ((float *)out)[k] = (float)v; break;
    case NN_DT_F64: ((double *)out)[k] = v; break;
    }
}

/* Applies fn to the raw elements of rows [first, end), a chunk at a time:
 * fn(ctx, bytes, count, index of the first element counted from row first). */
typedef int (*chunk_fn)(void *ctx, const unsigned char *p, size_t count, uint64_t k0,
                        nn_error *err);

static int for_chunks(const nn_npy_file *f, uint64_t first, uint64_t end, chunk_fn fn,
                      void *ctx, nn_error *err)
{
    const nn_npy_header *h = &f->h;
    if (first > end || end > h->rows) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: rows %llu to %llu asked of %llu", f->name,
                     (unsigned long long)first, (unsigned long long)end,
                     (unsigned long long)h->rows);
        return -1;
    }
    uint64_t total = (end - first) * h->cols, k = 0;
    size_t per = NPY_CHUNK / (size_t)h->itemsize;
    unsigned char *buf = malloc(NPY_CHUNK);
    if (!buf) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", f->name);
        return -1;
    }
    uint64_t off = h->data_offset + first * h->row_bytes;
    int rc = 0;
    while (k < total) {
        size_t cnt = total - k < per ? (size_t)(total - k) : per;
        size_t bytes = cnt * (size_t)h->itemsize;
        if (pread_full(f->fd, buf, bytes, off, f->name, err) < 0 ||
            fn(ctx, buf, cnt, k, err) < 0) {
            rc = -1;
            break;
        }
        off += bytes;
        k += cnt;
    }
    free(buf);
    return rc;
}

typedef struct {
    const nn_npy_file *f;
    uint64_t first;
    nn_dtype type;
    void *out;
} rows_ctx;

static int bad_value(const nn_npy_file *f, uint64_t row, uint64_t col, const char *what,
                     double v, nn_error *err)
{
    if (what)
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: row %llu column %llu is %s", f->name,
                     (unsigned long long)row, (unsigned long long)col, what);
    else
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: row %llu column %llu: %.17g is beyond the range "
                     "of a float", f->name, (unsigned long long)row, (unsigned long long)col, v);
    return -1;
}

static int rows_chunk(void *vctx, const unsigned char *p, size_t count, uint64_t k0,
                      nn_error *err)
{
    rows_ctx *c = vctx;
    const nn_npy_header *h = &c->f->h;
    bool check = is_float(h->dtype) || h->dtype == NN_NPY_I8;
    for (size_t i = 0; i < count; i++, p += h->itemsize) {
        bool inexact = false;
        double v = nn_npy_element(h, p, &inexact);
        uint64_t k = k0 + i;
        if (check) {
            const char *why = isnan(v) ? (c->f->nan_ok ? NULL : "NaN") : isinf(v) ? "infinite"
                              : inexact ? "an integer beyond 2^53, which a double cannot hold "
                                          "exactly" : NULL;
            if (why)
                return bad_value(c->f, c->first + k / h->cols, k % h->cols, why, v, err);
            if (c->type == NN_DT_F32 && isinf((float)v))
                return bad_value(c->f, c->first + k / h->cols, k % h->cols, NULL, v, err);
        }
        store(c->out, (size_t)k, c->type, v);
    }
    return 0;
}

int nn_npy_read_rows(const nn_npy_file *f, uint64_t first, uint64_t end, nn_dtype type,
                     void *out, nn_error *err)
{
    const nn_npy_header *h = &f->h;
    nn_dtype st = nn_npy_storage_type(h->dtype);
    if (type != st && type != NN_DT_F32 && type != NN_DT_F64) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %s cannot be read as %s", f->name, h->descr,
                     nn_dtype_name(type));
        return -1;
    }
    /* The same type in the host's byte order: straight into out. */
    bool native = h->itemsize == 1 || h->big_endian != host_little();
    if (native && type == st && h->dtype != NN_NPY_I8 &&
        nn_dtype_size((int)type) == (size_t)h->itemsize &&
        first <= end && end <= h->rows) {
        if (pread_full(f->fd, out, (size_t)((end - first) * h->row_bytes),
                       h->data_offset + first * h->row_bytes, f->name, err) < 0)
            return -1;
        if (!is_float(h->dtype))
            return 0;
        uint64_t total = (end - first) * h->cols;
        if (type == NN_DT_F32) { /* all finite: no exponent of all ones (a loop the
                                    compiler vectorises); else find the first */
            const uint32_t *u = out;
            uint32_t any = 0;
            for (uint64_t k = 0; k < total; k++)
                any |= (uint32_t)((u[k] & 0x7f800000u) == 0x7f800000u);
            if (!any)
                return 0;
        }
        for (uint64_t k = 0; k < total; k++) {
            double v = type == NN_DT_F32 ? ((const float *)out)[k] : ((const double *)out)[k];
            if (!isfinite(v) && !(isnan(v) && f->nan_ok))
                return bad_value(f, first + k / h->cols, k % h->cols,
                                 isnan(v) ? "NaN" : "infinite", v, err);
        }
        return 0;
    }
    rows_ctx c = {f, first, type, out};
    return for_chunks(f, first, end, rows_chunk, &c, err);
}

typedef struct {
    const nn_npy_file *f;
    uint64_t first;
    int32_t *out;
} labels_ctx;

static int labels_chunk(void *vctx, const unsigned char *p, size_t count, uint64_t k0,
                        nn_error *err)
{
    labels_ctx *c = vctx;
    const nn_npy_header *h = &c->f->h;
    for (size_t i = 0; i < count; i++, p += h->itemsize) {
        uint64_t u = load_bits(h, p);
        int64_t v = h->dtype == NN_NPY_U1 ? (int64_t)u : to_signed(u, 8 * h->itemsize);
        if (v < 0 || v > NN_MAX_UNITS - 1) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: label %lld at row %llu %s%s", c->f->name,
                         (long long)v, (unsigned long long)(c->first + k0 + i),
                         v < 0 ? "is negative" : "exceeds the maximum ",
                         v < 0 ? "" : "65535");
            return -1;
        }
        c->out[k0 + i] = (int32_t)v;
    }
    return 0;
}

int nn_npy_read_labels(const nn_npy_file *f, uint64_t first, uint64_t end, int32_t *out,
                       nn_error *err)
{
    const nn_npy_header *h = &f->h;
    if (is_float(h->dtype)) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: labels must be an integer array (class indices), found %s; a float "
                     "array is regression \"targets\"", f->name, h->descr);
        return -1;
    }
    if (h->cols != 1) {
        char shape[200];
        nn_npy_describe(shape, sizeof shape, h);
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: labels must be one class index per row, found shape %s", f->name,
                     shape);
        return -1;
    }
    labels_ctx c = {f, first, out};
    return for_chunks(f, first, end, labels_chunk, &c, err);
}

/* --- streaming ----------------------------------------------------------- */

struct nn_npy_stream {
    nn_reader *r;
    nn_npy_header h;
    uint64_t row;
    unsigned char *buf; /* (row_bytes), from the first row on */
    char *name;
};

nn_npy_stream *nn_npy_stream_open(nn_reader *r, nn_error *err)
{
    const char *name = nn_reader_name(r);
    nn_npy_stream *s = calloc(1, sizeof *s);
    if (!s || !(s->name = strdup(name))) {
        free(s);
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", name);
        return NULL;
    }
    unsigned char pre[NN_NPY_PREFIX_MAX];
    char *text = NULL;
    long long got = nn_reader_read(r, pre, 10, err);
    if (got < 0)
        goto fail;
    if (got >= 8 && pre[6] >= 2 && got == 10) {
        long long more = nn_reader_read(r, pre + 10, 2, err);
        if (more < 0)
            goto fail;
        got += more;
    }
    if (got == 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: file is empty (expected an NPY header)", s->name);
        goto fail;
    }
    int plen;
    uint32_t hlen;
    if (nn_npy_parse_prefix(pre, (size_t)got, s->name, &plen, &hlen, err) < 0)
        goto fail;
    long long size = nn_reader_size(r);
    if (size >= 0 && (uint64_t)plen + hlen > (uint64_t)size) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: the header length at byte 8 claims %lu bytes but the file holds %llu "
                     "after the %d-byte prefix",
                     s->name, (unsigned long)hlen, (unsigned long long)size - (unsigned)plen,
                     plen);
        goto fail;
    }
    text = malloc(hlen ? hlen : 1);
    if (!text) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", s->name);
        goto fail;
    }
    got = nn_reader_read(r, text, hlen, err);
    if (got < 0)
        goto fail;
    if ((uint64_t)got < hlen) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: header truncated at byte %llu (%lu bytes claimed)",
                     s->name, (unsigned long long)(plen + got), (unsigned long)hlen);
        goto fail;
    }
    s->h.major = pre[6];
    s->h.minor = pre[7];
    if (nn_npy_parse_header(&s->h, text, hlen, plen, NN_MAX_FEATURES, s->name, err) < 0)
        goto fail;
    free(text);
    if (size >= 0 && (uint64_t)size - s->h.data_offset < s->h.data_bytes) {
        char shape[200];
        nn_npy_describe(shape, sizeof shape, &s->h);
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: header claims %s (%llu bytes of data) but the file holds %llu bytes "
                     "after the %llu-byte header",
                     s->name, shape, (unsigned long long)s->h.data_bytes,
                     (unsigned long long)((uint64_t)size - s->h.data_offset),
                     (unsigned long long)s->h.data_offset);
        free(s->name);
        free(s);
        return NULL;
    }
    s->r = r;
    return s;
fail:
    free(text);
    free(s->name);
    free(s);
    return NULL;
}

size_t nn_npy_stream_features(const nn_npy_stream *s)
{
    return (size_t)s->h.cols;
}

size_t nn_npy_stream_pending(const nn_npy_stream *s)
{
    return nn_reader_pending(s->r);
}

int nn_npy_stream_next(nn_npy_stream *s, double *x, nn_error *err)
{
    if (s->row == s->h.rows)
        return 0;
    size_t bytes = (size_t)s->h.row_bytes;
    if (!s->buf && !(s->buf = malloc(bytes))) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory for a row of %zu bytes", s->name,
                     bytes);
        return -1;
    }
    long long got = nn_reader_read(s->r, s->buf, bytes, err);
    if (got < 0)
        return -1;
    if ((size_t)got < bytes) {
        char shape[200];
        nn_npy_describe(shape, sizeof shape, &s->h);
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: data ends in row %llu at byte %llu but the header claims %s", s->name,
                     (unsigned long long)s->row, (unsigned long long)nn_reader_offset(s->r),
                     shape);
        return -1;
    }
    for (size_t i = 0; i < (size_t)s->h.cols; i++) {
        bool inexact = false;
        double v = nn_npy_element(&s->h, s->buf + i * (size_t)s->h.itemsize, &inexact);
        if (!isfinite(v) || inexact) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: row %llu column %zu is %s", s->name,
                         (unsigned long long)s->row, i,
                         isnan(v) ? "NaN" : isinf(v) ? "infinite"
                                          : "an integer beyond 2^53, which a double cannot hold "
                                            "exactly");
            return -1;
        }
        x[i] = v;
    }
    s->row++;
    if (s->row == s->h.rows) {
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

void nn_npy_stream_close(nn_npy_stream *s)
{
    if (!s)
        return;
    free(s->buf);
    free(s->name);
    free(s);
}

/* --- writing ------------------------------------------------------------- */

int nn_npy_write_stream(void *out, const char *descr, int ndim, const uint64_t *shape,
                        const void *data)
{
    FILE *fp = out;
    char dict[1200];
    int len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                       descr);
    uint64_t count = 1;
    for (int i = 0; i < ndim && len < 1000; i++) {
        len += snprintf(dict + len, sizeof dict - (size_t)len, "%s%llu", i ? ", " : "",
                        (unsigned long long)shape[i]);
        count *= shape[i];
    }
    len += snprintf(dict + len, sizeof dict - (size_t)len, "%s), }", ndim == 1 ? "," : "");
    /* pad with spaces so the data starts at a multiple of 64, then '\n' */
    int total = 10 + len + 1;
    int pad = (64 - total % 64) % 64;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0};
    unsigned hlen = (unsigned)(len + pad + 1);
    pre[8] = (unsigned char)(hlen & 0xff);
    pre[9] = (unsigned char)(hlen >> 8);
    if (fwrite(pre, 1, 10, fp) != 10 || fwrite(dict, 1, (size_t)len, fp) != (size_t)len)
        return -1;
    for (int i = 0; i < pad; i++)
        if (fputc(' ', fp) == EOF)
            return -1;
    if (fputc('\n', fp) == EOF)
        return -1;
    size_t size = (size_t)(descr[2] - '0');
    if (size == 1 || host_little())
        return fwrite(data, size, (size_t)count, fp) == (size_t)count ? 0 : -1;
    const unsigned char *p = data;
    for (uint64_t k = 0; k < count; k++, p += size)
        for (size_t b = 0; b < size; b++)
            if (fputc(p[size - 1 - b], fp) == EOF)
                return -1;
    return 0;
}
