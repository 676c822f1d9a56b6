/* test_npy.c - NumPy .npy arrays: every dtype in both byte orders and every
 * format version read back exactly against values this file encodes itself,
 * rows [a, b) of an array, >2-D flattening, the NPY source (labels,
 * targets, shards), the row stream, --convert's files, and every malformed
 * header or data rejected with its message and exit code 1. */
#include "tests.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/convert.h"
#include "data/dataset.h"
#include "data/idx.h"
#include "data/npy.h"
#include "data/reader.h"
#include "data/source.h"

/* --- the generator ------------------------------------------------------ */

/* An NPY file: version major.0, the header dict text as given (padded with
 * spaces to a multiple of 64 and ended by '\n'), then n data bytes. */
static const char *put_npy(const char *name, int major, const char *dict, const void *data,
                           size_t n)
{
    size_t plen = major == 1 ? 10 : 12, dlen = strlen(dict);
    size_t hlen = dlen + 1;
    hlen += (64 - (plen + hlen) % 64) % 64;
    size_t total = plen + hlen + n;
    unsigned char *b = malloc(total);
    ck_assert_ptr_nonnull(b);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)major;
    b[7] = 0;
    b[8] = (unsigned char)(hlen & 0xff);
    b[9] = (unsigned char)(hlen >> 8);
    if (major > 1) {
        b[10] = (unsigned char)(hlen >> 16);
        b[11] = (unsigned char)(hlen >> 24);
    }
    memcpy(b + plen, dict, dlen);
    memset(b + plen + dlen, ' ', hlen - dlen - 1);
    b[plen + hlen - 1] = '\n';
    if (n)
        memcpy(b + plen + hlen, data, n);
    const char *path = nn_test_put_bytes(name, b, total);
    free(b);
    return path;
}

static const char *dict_of(const char *descr, const char *shape)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
             descr, shape);
    return buf[k];
}

/* size bytes of `bits`, little- or big-endian, at p. */
static void put_bits(unsigned char *p, uint64_t bits, int size, bool big)
{
    for (int i = 0; i < size; i++)
        p[big ? size - 1 - i : i] = (unsigned char)(bits >> (8 * i));
}

typedef struct {
    const char *code; /* "u1" ... */
    int size;
    nn_dtype storage;
    uint64_t bits[5]; /* the elements' bits */
    double want[5];   /* their values */
} dtype_case;

static uint64_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static uint64_t f64_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

#define I(v) ((uint64_t)(int64_t)(v))
static dtype_case cases[8];

static void init_cases(void)
{
    const int64_t p53 = (int64_t)1 << 53;
    dtype_case c[8] = {
        {"u1", 1, NN_DT_U8, {0, 1, 127, 128, 255}, {0, 1, 127, 128, 255}},
        {"i1", 1, NN_DT_I8, {I(-128), I(-1), 0, 1, 127}, {-128, -1, 0, 1, 127}},
        {"i2", 2, NN_DT_I16, {I(-32768), I(-1), 0, 300, 32767}, {-32768, -1, 0, 300, 32767}},
        {"i4", 4, NN_DT_I32, {I(INT32_MIN), I(-1), 0, 70000, INT32_MAX},
         {(double)INT32_MIN, -1, 0, 70000, (double)INT32_MAX}},
        {"i8", 8, NN_DT_F64, {I(-p53), I(-1), 0, I(((int64_t)1 << 40) + 3), I(p53)},
         {(double)-p53, -1, 0, (double)(((int64_t)1 << 40) + 3), (double)p53}},
        {"f2", 2, NN_DT_F32, {0x3c00, 0xc000, 0x0001, 0x7bff, 0x3555},
         {1.0, -2.0, ldexp(1, -24), 65504.0, 0.333251953125}},
        {"f4", 4, NN_DT_F32,
         {f32_bits(1.5f), f32_bits(-0.1f), f32_bits(3.4e38f), f32_bits(1e-45f), 0},
         {1.5, (double)-0.1f, (double)3.4e38f, (double)1e-45f, 0}},
        {"f8", 8, NN_DT_F64, {f64_bits(0.1), f64_bits(-1e300), f64_bits(5e-324), f64_bits(2.5), 0},
         {0.1, -1e300, 5e-324, 2.5, 0}},
    };
    memcpy(cases, c, sizeof c);
}

/* The five values of a case as an NPY file of shape `shape` (5 elements). */
static const char *put_case(const char *name, const dtype_case *c, char order, int major,
                            const char *shape)
{
    unsigned char data[40];
    for (int i = 0; i < 5; i++)
        put_bits(data + i * c->size, c->bits[i], c->size, order == '>');
    char descr[8];
    snprintf(descr, sizeof descr, "%c%s", order, c->code);
    return put_npy(name, major, dict_of(descr, shape), data, 5 * (size_t)c->size);
}

static double storage_get(const void *p, nn_dtype t, size_t k)
{
    switch (t) {
    case NN_DT_U8: return ((const uint8_t *)p)[k];
    case NN_DT_I8: return ((const int8_t *)p)[k];
    case NN_DT_I16: return ((const int16_t *)p)[k];
    case NN_DT_I32: return ((const int32_t *)p)[k];
    case NN_DT_F32: return ((const float *)p)[k];
    case NN_DT_F64: return ((const double *)p)[k];
    }
    return NAN;
}

static void open_ok(nn_npy_file *f, const char *path)
{
    nn_error err = {0};
    int rc = nn_npy_open(f, path, 0, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
}

/* --- reading every dtype ------------------------------------------------- */

START_TEST(test_npy_reads_every_dtype_byte_order_and_version_exactly)
{
    init_cases();
    for (int ci = 0; ci < 8; ci++) {
        const dtype_case *c = &cases[ci];
        const char orders[3] = {'<', '>', '|'};
        for (int oi = 0; oi < 3; oi++) {
            if (orders[oi] == '|' && c->size > 1)
                continue;
            for (int major = 1; major <= 3; major++) {
                const char *path = put_case("a.npy", c, orders[oi], major, "(5,)");
                nn_npy_file f;
                open_ok(&f, path);
                ck_assert_int_eq(f.h.major, major);
                ck_assert_uint_eq(f.h.rows, 5);
                ck_assert_uint_eq(f.h.cols, 1);
                ck_assert_int_eq(nn_npy_storage_type(f.h.dtype), c->storage);
                nn_error err = {0};
                unsigned char raw[40];
                double d[5];
                ck_assert_int_eq(nn_npy_read_rows(&f, 0, 5, c->storage, raw, &err), 0);
                ck_assert_int_eq(nn_npy_read_rows(&f, 0, 5, NN_DT_F64, d, &err), 0);
                for (int i = 0; i < 5; i++) {
                    ck_assert_msg(storage_get(raw, c->storage, (size_t)i) == c->want[i],
                                  "%c%s v%d element %d: %.17g, want %.17g", orders[oi], c->code,
                                  major, i, storage_get(raw, c->storage, (size_t)i), c->want[i]);
                    ck_assert_msg(d[i] == c->want[i], "%c%s as double element %d", orders[oi],
                                  c->code, i);
                }
                /* rows [1, 4) alone */
                double mid[3];
                ck_assert_int_eq(nn_npy_read_rows(&f, 1, 4, NN_DT_F64, mid, &err), 0);
                for (int i = 0; i < 3; i++)
                    ck_assert(mid[i] == c->want[i + 1]);
                nn_npy_close(&f);
            }
        }
    }
}
END_TEST

START_TEST(test_npy_reads_rows_as_floats)
{
    init_cases();
    const char *path = put_case("a.npy", &cases[6], '>', 1, "(5,)");
    nn_npy_file f;
    open_ok(&f, path);
    float out[5];
    nn_error err = {0};
    ck_assert_int_eq(nn_npy_read_rows(&f, 0, 5, NN_DT_F32, out, &err), 0);
    for (int i = 0; i < 5; i++)
        ck_assert(out[i] == (float)cases[6].want[i]);
    nn_npy_close(&f);
    /* an f8 beyond float range cannot become a float */
    path = put_case("b.npy", &cases[7], '<', 1, "(5,)");
    open_ok(&f, path);
    ck_assert_int_eq(nn_npy_read_rows(&f, 0, 5, NN_DT_F32, out, &err), -1);
    ck_assert_int_eq(err.code, NN_EXIT_RUNTIME);
    ck_assert_str_eq(err.msg, nn_test_fmt("%s: row 1 column 0: -1.0000000000000001e+300 is "
                                          "beyond the range of a float", path));
    /* integers become floats */
    nn_npy_close(&f);
    path = put_case("c.npy", &cases[2], '>', 2, "(5,)");
    open_ok(&f, path);
    ck_assert_int_eq(nn_npy_read_rows(&f, 0, 5, NN_DT_F32, out, &err), 0);
    ck_assert(out[0] == -32768.0f && out[3] == 300.0f);
    nn_npy_close(&f);
}
END_TEST

START_TEST(test_npy_flattens_more_dimensions_per_row)
{
    /* (2, 3, 2) int16 big-endian: rows of 6 values */
    unsigned char data[24];
    for (int i = 0; i < 12; i++)
        put_bits(data + 2 * i, (uint64_t)(int64_t)(i * 100 - 500), 2, true);
    const char *path = put_npy("m.npy", 3, dict_of(">i2", "(2, 3, 2)"), data, sizeof data);
    nn_npy_file f;
    open_ok(&f, path);
    ck_assert_int_eq(f.h.ndim, 3);
    ck_assert_uint_eq(f.h.rows, 2);
    ck_assert_uint_eq(f.h.cols, 6);
    int16_t v[6];
    nn_error err = {0};
    ck_assert_int_eq(nn_npy_read_rows(&f, 1, 2, NN_DT_I16, v, &err), 0);
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(v[i], (i + 6) * 100 - 500);
    nn_npy_close(&f);
}
END_TEST

START_TEST(test_npy_header_accepts_python_spellings)
{
    /* double quotes, another key order, no trailing comma, Python 2's 3L */
    float data[6] = {1, 2, 3, 4, 5, 6};
    const char *path = put_npy("p.npy", 1,
                               "{\"shape\": (3L, 2L), \"fortran_order\": False, "
                               "\"descr\": \"<f4\"}",
                               data, sizeof data);
    nn_npy_file f;
    open_ok(&f, path);
    ck_assert_uint_eq(f.h.rows, 3);
    ck_assert_uint_eq(f.h.cols, 2);
    nn_npy_close(&f);
}
END_TEST

/* --- errors ------------------------------------------------------------- */

static void expect_open_error(const char *path, const char *msg)
{
    nn_npy_file f;
    nn_error err = {0};
    ck_assert_int_eq(nn_npy_open(&f, path, 0, &err), -1);
    ck_assert_int_eq(err.code, NN_EXIT_RUNTIME);
    ck_assert_str_eq(err.msg, nn_test_fmt("%s: %s", path, msg));
}

START_TEST(test_npy_rejects_bad_headers)
{
    float d4[4] = {0};
    expect_open_error(nn_test_put("e.npy", ""), "file is empty (expected an NPY header)");
    expect_open_error(nn_test_put("t.npy", "a,b\n1,2\n"),
                      "not an NPY file (bytes 0-5 are not the magic \\x93NUMPY)");
    const char *p = put_npy("v.npy", 1, dict_of("<f4", "(4,)"), d4, sizeof d4);
    FILE *fp = fopen(p, "r+b");
    fseek(fp, 6, SEEK_SET);
    fputc(4, fp);
    fclose(fp);
    expect_open_error(p, "NPY format version 4.0 at byte 6 (nntrain reads 1.0, 2.0 and 3.0)");
    /* a header length running past the end */
    unsigned char big[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0, 0, 1, 0};
    p = nn_test_put_bytes("h.npy", big, sizeof big);
    expect_open_error(p, "the header length at byte 8 claims 65536 bytes but the file holds 0 "
                         "after the 12-byte prefix");
    unsigned char huge[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', 3, 0, 0xff, 0xff, 0xff, 0x7f};
    p = nn_test_put_bytes("g.npy", huge, sizeof huge);
    expect_open_error(p, "header length 2147483647 at byte 8 is more than the maximum of "
                         "1048576 bytes");
    p = put_npy("f.npy", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", d4,
                sizeof d4);
    expect_open_error(p, "header byte 44: the array is in Fortran (column-major) order; nntrain "
                         "reads C order (numpy.ascontiguousarray before numpy.save)");
    p = put_npy("o.npy", 1, dict_of("|O", "(2,)"), d4, 16);
    expect_open_error(p, "header byte 20: dtype '|O' is an object array (pickled Python "
                         "objects), which nntrain does not read");
    p = put_npy("s.npy", 1, "{'descr': [('a', '<f4'), ('b', '<f4')], 'fortran_order': False, "
                            "'shape': (2,), }", d4, sizeof d4);
    expect_open_error(p, "header byte 20: a structured dtype (a record of fields) is not read; "
                         "nntrain reads plain arrays of u1, i1, i2, i4, i8, f2, f4 or f8");
    p = put_npy("c.npy", 1, dict_of("<c8", "(2,)"), d4, sizeof d4);
    expect_open_error(p, "header byte 20: dtype '<c8' is not one nntrain reads (u1, i1, i2, i4, "
                         "i8, f2, f4, f8 with byte order '<' or '>', or '|' for one byte)");
    p = put_npy("b.npy", 1, dict_of("|f4", "(4,)"), d4, sizeof d4);
    expect_open_error(p, "header byte 20: dtype '|f4' is not one nntrain reads (u1, i1, i2, i4, "
                         "i8, f2, f4, f8 with byte order '<' or '>', or '|' for one byte)");
    p = put_npy("k.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'x': 1}",
                d4, sizeof d4);
    expect_open_error(p, "header byte 66: unknown key (the header holds 'descr', "
                         "'fortran_order' and 'shape')");
    p = put_npy("m.npy", 1, "{'descr': '<f4', 'fortran_order': False}", d4, sizeof d4);
    expect_open_error(p, "header byte 10: the header lacks 'shape'");
    p = put_npy("z.npy", 1, dict_of("<f4", "()"), d4, 4);
    expect_open_error(p, "shape () is a single value, not rows");
    p = put_npy("r.npy", 1, dict_of("<f4", "(0, 3)"), NULL, 0);
    expect_open_error(p, "shape 0 x 3 <f4 has no rows");
    p = put_npy("q.npy", 1, dict_of("<f4", "(3, 0)"), NULL, 0);
    expect_open_error(p, "shape 3 x 0 <f4 has no columns (dimension 1 is 0)");
    p = put_npy("w.npy", 1, dict_of("<f4", "(4, 2"), d4, sizeof d4);
    expect_open_error(p, "header byte 67: expected a dimension (a non-negative integer) in "
                         "'shape'");
}
END_TEST

START_TEST(test_npy_rejects_headers_that_lie_about_the_size)
{
    float d[4] = {1, 2, 3, 4};
    const char *p = put_npy("s.npy", 1, dict_of("<f4", "(100, 4)"), d, sizeof d);
    expect_open_error(p, "header claims 100 x 4 <f4 (1600 bytes of data) but the file holds 16 "
                         "bytes after the 128-byte header");
    p = put_npy("h.npy", 1, dict_of("<f8", "(4611686018427387904, 4611686018427387904)"), d,
                sizeof d);
    expect_open_error(p, "shape 4611686018427387904 x 4611686018427387904 <f8 claims more data "
                         "than any file holds");
    p = put_npy("o.npy", 1, dict_of("<f8", "(99999999999999999999999, 2)"), d, sizeof d);
    expect_open_error(p, "header byte 79: a dimension in 'shape' is too large");
    p = put_npy("t.npy", 2, dict_of("<f4", "(3,)"), d, sizeof d);
    expect_open_error(p, "4 trailing bytes after the data at byte 140");
    /* wider rows than asked for */
    nn_npy_file f;
    nn_error err = {0};
    p = put_npy("w.npy", 1, dict_of("<f4", "(1, 4)"), d, sizeof d);
    ck_assert_int_eq(nn_npy_open(&f, p, 3, &err), -1);
    ck_assert_str_eq(err.msg, nn_test_fmt("%s: shape 1 x 4 <f4 has 4 values per row, more than "
                                          "the maximum of 3", p));
}
END_TEST

START_TEST(test_npy_rejects_nan_infinite_and_inexact_values)
{
    float d[4] = {1, 2, NAN, 4};
    const char *p = put_npy("n.npy", 1, dict_of("<f4", "(2, 2)"), d, sizeof d);
    nn_npy_file f;
    open_ok(&f, p);
    float out[4];
    nn_error err = {0};
    ck_assert_int_eq(nn_npy_read_rows(&f, 0, 2, NN_DT_F32, out, &err), -1);
    ck_assert_str_eq(err.msg, nn_test_fmt("%s: row 1 column 0 is NaN", p));
    nn_npy_close(&f);
    uint16_t h[2] = {0x3c00, 0xfc00}; /* 1, -inf (little-endian host order, written '<' ...) */
    unsigned char hb[4];
    put_bits(hb, h[0], 2, false);
    put_bits(hb + 2, h[1], 2, false);
    p = put_npy("h.npy", 1, dict_of("<f2", "(2,)"), hb, sizeof hb);
    open_ok(&f, p);
    ck_assert_int_eq(nn_npy_read_rows(&f, 0, 2, NN_DT_F32, out, &err), -1);
    ck_assert_str_eq(err.msg, nn_test_fmt("%s: row 1 column 0 is infinite", p));
    nn_npy_close(&f);
    unsigned char ib[8];
    put_bits(ib, ((uint64_t)1 << 53) + 1, 8, true);
    p = put_npy("i.npy", 1, dict_of(">i8", "(1,)"), ib, sizeof ib);
    open_ok(&f, p);
    double dv;
    ck_assert_int_eq(nn_npy_read_rows(&f, 0, 1, NN_DT_F64, &dv, &err), -1);
    ck_assert_str_eq(err.msg, nn_test_fmt("%s: row 0 column 0 is an integer beyond 2^53, which "
                                          "a double cannot hold exactly", p));
    nn_npy_close(&f);
}
END_TEST

START_TEST(test_npy_labels_follow_the_idx_rules)
{
    unsigned char b[8];
    for (int i = 0; i < 4; i++)
        put_bits(b + 2 * i, (uint64_t)(int64_t)(i == 2 ? -1 : i), 2, false);
    const char *p = put_npy("l.npy", 1, dict_of("<i2", "(4,)"), b, sizeof b);
    nn_npy_file f;
    open_ok(&f, p);
    int32_t lab[4];
    nn_error err = {0};
    ck_assert_int_eq(nn_npy_read_labels(&f, 0, 2, lab, &err), 0);
    ck_assert_int_eq(lab[1], 1);
    ck_assert_int_eq(nn_npy_read_labels(&f, 0, 4, lab, &err), -1);
    ck_assert_str_eq(err.msg, nn_test_fmt("%s: label -1 at row 2 is negative", p));
    nn_npy_close(&f);
    int32_t big[2] = {3, 65536};
    unsigned char bb[8];
    put_bits(bb, (uint64_t)big[0], 4, true);
    put_bits(bb + 4, (uint64_t)big[1], 4, true);
    p = put_npy("m.npy", 1, dict_of(">i4", "(2, 1)"), bb, sizeof bb);
    open_ok(&f, p);
    ck_assert_int_eq(nn_npy_read_labels(&f, 0, 2, lab, &err), -1);
    ck_assert_str_eq(err.msg, nn_test_fmt("%s: label 65536 at row 1 exceeds the maximum 65535", p));
    nn_npy_close(&f);
    float fl[2] = {0, 1};
    p = put_npy("f.npy", 1, dict_of("<f4", "(2,)"), fl, sizeof fl);
    open_ok(&f, p);
    ck_assert_int_eq(nn_npy_read_labels(&f, 0, 2, lab, &err), -1);
    ck_assert_str_eq(err.msg, nn_test_fmt("%s: labels must be an integer array (class indices), "
                                          "found <f4; a float array is regression \"targets\"",
                                          p));
    nn_npy_close(&f);
    p = put_npy("w.npy", 1, dict_of("|u1", "(2, 2)"), b, 4);
    open_ok(&f, p);
    ck_assert_int_eq(nn_npy_read_labels(&f, 0, 2, lab, &err), -1);
    ck_assert_str_eq(err.msg, nn_test_fmt("%s: labels must be one class index per row, found "
                                          "shape 2 x 2 |u1", p));
    nn_npy_close(&f);
}
END_TEST

/* --- the NPY source ------------------------------------------------------ */

/* X (rows x 3 |u1, values r*10+c) and y (rows, <i8, r % 3) with a name
 * stem; returns nothing, the paths are nn_test_path(stem-x/-y). */
static void put_pair(const char *stem, int rows, int cols, int first)
{
    unsigned char x[64], y[64];
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++)
            x[r * cols + c] = (unsigned char)((first + r) * 10 + c);
        put_bits(y + 8 * r, (uint64_t)((first + r) % 3), 8, false);
    }
    char name[64], shape[32];
    snprintf(name, sizeof name, "%s-x.npy", stem);
    snprintf(shape, sizeof shape, "(%d, %d)", rows, cols);
    put_npy(name, 1, dict_of("|u1", shape), x, (size_t)(rows * cols));
    snprintf(name, sizeof name, "%s-y.npy", stem);
    snprintf(shape, sizeof shape, "(%d,)", rows);
    put_npy(name, 2, dict_of("<i8", shape), y, 8 * (size_t)rows);
}

static void shard_source(nn_source *s, const char *const *stems, int n, bool targets)
{
    memset(s, 0, sizeof *s);
    s->format = NN_FORMAT_NPY;
    s->npy_targets = targets;
    s->parts = calloc((size_t)n, sizeof *s->parts);
    s->n_parts = n;
    for (int i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s-x.npy", stems[i]);
        s->parts[i].x = strdup(nn_test_path(name));
        s->parts[i].x_path = strdup(s->parts[i].x);
        snprintf(name, sizeof name, "%s-%s.npy", stems[i], targets ? "t" : "y");
        s->parts[i].y = strdup(nn_test_path(name));
        s->parts[i].y_path = strdup(s->parts[i].y);
    }
    s->file = strdup(s->parts[0].x);
    s->file_path = strdup(s->parts[0].x);
    s->labels = strdup(s->parts[0].y);
    s->labels_path = strdup(s->parts[0].y);
}

START_TEST(test_npy_source_from_a_data_spec_pair)
{
    put_pair("a", 4, 3, 0);
    char spec[600];
    snprintf(spec, sizeof spec, "%s,%s", nn_test_path("a-x.npy"), nn_test_path("a-y.npy"));
    nn_source s;
    nn_error err = {0};
    ck_assert_int_eq(nn_source_from_spec(&s, spec, NULL, NULL, true, &err), 0);
    ck_assert_int_eq(s.format, NN_FORMAT_NPY);
    ck_assert(!s.npy_targets);
    nn_dataset d;
    nn_data_layout l;
    ck_assert_msg(nn_source_load(&d, &l, &s, NULL, 0, false, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(l.format, NN_FORMAT_NPY);
    ck_assert_int_eq(d.type, NN_DT_U8);
    ck_assert_uint_eq(d.n, 4);
    ck_assert_uint_eq(d.features, 3);
    ck_assert_int_eq(d.n_classes, 3);
    ck_assert_int_eq(d.labels[3], 0);
    ck_assert(nn_dataset_get(&d, 2, 1) == 21);
    nn_dataset_free(&d);
    nn_source_clear(&s);
    /* one array alone: for --predict only */
    ck_assert_int_eq(nn_source_from_spec(&s, nn_test_path("a-x.npy"), NULL, NULL, true, &err), -1);
    ck_assert_int_eq(err.code, NN_EXIT_USAGE);
    ck_assert_str_eq(err.msg, nn_test_fmt("--data %s: an NPY array needs its labels or targets: "
                                          "give X.npy,Y.npy", nn_test_path("a-x.npy")));
}
END_TEST

START_TEST(test_npy_source_joins_shards)
{
    put_pair("a", 4, 3, 0);
    put_pair("b", 2, 3, 4);
    put_pair("c", 2, 2, 6);
    nn_source s;
    const char *const ab[] = {"a", "b"};
    shard_source(&s, ab, 2, false);
    nn_dataset d;
    nn_error err = {0};
    ck_assert_msg(nn_source_load(&d, NULL, &s, NULL, 0, false, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(d.n, 6);
    for (size_t r = 0; r < 6; r++) {
        ck_assert(nn_dataset_get(&d, r, 2) == (double)(r * 10 + 2));
        ck_assert_int_eq(d.labels[r], (int)(r % 3));
    }
    ck_assert_int_eq(d.ndim, 2);
    nn_dataset_free(&d);
    nn_source_clear(&s);
    const char *const ac[] = {"a", "c"};
    shard_source(&s, ac, 2, false);
    ck_assert_int_eq(nn_source_load(&d, NULL, &s, NULL, 0, false, &err), -1);
    ck_assert_int_eq(err.code, NN_EXIT_RUNTIME);
    ck_assert_str_eq(err.msg, nn_test_fmt("%s: shard 1 has 2 features per row, the first shard "
                                          "(%s) 3", s.parts[1].x_path, s.parts[0].x_path));
    nn_source_clear(&s);
    /* a labels array of another length */
    put_pair("d", 3, 3, 0);
    put_npy("d-y.npy", 1, dict_of("|u1", "(2,)"), "\1\2", 2);
    const char *const dd[] = {"d"};
    shard_source(&s, dd, 1, false);
    ck_assert_int_eq(nn_source_load(&d, NULL, &s, NULL, 0, false, &err), -1);
    ck_assert_str_eq(err.msg, nn_test_fmt("%s: 2 rows but %s has 3", s.parts[0].y_path,
                                          s.parts[0].x_path));
    nn_source_clear(&s);
}
END_TEST

START_TEST(test_npy_source_reads_targets)
{
    put_pair("a", 3, 3, 0);
    double t[6] = {0.5, -1, 2, 3, 1e10, 0};
    unsigned char tb[48];
    for (int i = 0; i < 6; i++)
        put_bits(tb + 8 * i, f64_bits(t[i]), 8, true);
    put_npy("a-t.npy", 1, dict_of(">f8", "(3, 2)"), tb, sizeof tb);
    nn_source s;
    const char *const a[] = {"a"};
    shard_source(&s, a, 1, true);
    nn_dataset d;
    nn_data_layout l;
    nn_error err = {0};
    ck_assert_msg(nn_source_load(&d, &l, &s, NULL, 0, false, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(d.n_targets, 2);
    ck_assert_int_eq(l.n_targets, 2);
    ck_assert_ptr_null(d.labels);
    for (int i = 0; i < 6; i++)
        ck_assert(d.targets[i] == (float)t[i]);
    nn_dataset_free(&d);
    nn_source_clear(&s);
}
END_TEST

/* --- the row stream ------------------------------------------------------ */

START_TEST(test_npy_stream_reads_rows_and_finds_truncation)
{
    init_cases();
    const char *p = put_case("a.npy", &cases[3], '>', 1, "(5, 1)");
    nn_error err = {0};
    nn_reader *r = nn_reader_open(p, &err);
    ck_assert_ptr_nonnull(r);
    nn_npy_stream *s = nn_npy_stream_open(r, &err);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(nn_npy_stream_features(s), 1);
    double x;
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(nn_npy_stream_next(s, &x, &err), 1);
        ck_assert(x == cases[3].want[i]);
    }
    ck_assert_int_eq(nn_npy_stream_next(s, &x, &err), 0);
    nn_npy_stream_close(s);
    nn_reader_close(r);

    /* gzip: no size known, the data ends early */
    unsigned char data[12] = {0};
    size_t plen = 10, total;
    const char *q = put_npy("t.npy", 1, dict_of("<f4", "(5,)"), data, sizeof data);
    FILE *f = fopen(q, "rb");
    unsigned char buf[256];
    total = fread(buf, 1, sizeof buf, f);
    fclose(f);
    (void)plen;
    size_t gn;
    unsigned char *g = nn_test_gzip(buf, total, &gn);
    const char *gz = nn_test_put_bytes("t.npy.gz", g, gn);
    free(g);
    r = nn_reader_open(gz, &err);
    s = nn_npy_stream_open(r, &err);
    ck_assert_ptr_nonnull(s);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(nn_npy_stream_next(s, &x, &err), 1);
    ck_assert_int_eq(nn_npy_stream_next(s, &x, &err), -1);
    ck_assert_str_eq(err.msg, nn_test_fmt("%s: data ends in row 3 at byte 140 but the header "
                                          "claims 5 <f4", gz));
    nn_npy_stream_close(s);
    nn_reader_close(r);
}
END_TEST

/* --- --convert ----------------------------------------------------------- */

START_TEST(test_npy_convert_writes_idx_bytes_as_u1_with_their_shape)
{
    uint8_t img[4 * 2 * 3], lab[4] = {1, 0, 3, 1};
    for (int i = 0; i < 24; i++)
        img[i] = (uint8_t)(i * 11);
    uint32_t dims[3] = {4, 2, 3}, ld[1] = {4};
    nn_error err = {0};
    const char *ip = nn_test_path("im.idx");
    ck_assert_int_eq(nn_idx_write(ip, 0, NN_DT_U8, 3, dims, img, &err), 0);
    const char *lp = nn_test_path("lab.idx");
    ck_assert_int_eq(nn_idx_write(lp, 1, NN_DT_U8, 1, ld, lab, &err), 0);
    char spec[600], prefix[300];
    snprintf(spec, sizeof spec, "%s,%s", ip, lp);
    snprintf(prefix, sizeof prefix, "%s", nn_test_path("out"));
    nn_convert_info info;
    ck_assert_msg(nn_convert(spec, prefix, &info, &err) == 0, "%s", err.msg);
    ck_assert_str_eq(info.x_descr, "|u1");
    ck_assert(!info.classes_file);
    nn_npy_file f;
    open_ok(&f, nn_test_fmt("%s-x.npy", prefix));
    ck_assert_str_eq(f.h.descr, "|u1");
    ck_assert_int_eq(f.h.ndim, 3);
    ck_assert_uint_eq(f.h.shape[1], 2);
    ck_assert_uint_eq(f.h.shape[2], 3);
    ck_assert_uint_eq(f.h.data_offset % 64, 0);
    uint8_t back[24];
    ck_assert_int_eq(nn_npy_read_rows(&f, 0, 4, NN_DT_U8, back, &err), 0);
    ck_assert_mem_eq(back, img, 24);
    nn_npy_close(&f);
    open_ok(&f, nn_test_fmt("%s-y.npy", prefix));
    ck_assert_str_eq(f.h.descr, "<i4");
    int32_t lb[4];
    ck_assert_int_eq(nn_npy_read_labels(&f, 0, 4, lb, &err), 0);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(lb[i], lab[i]);
    nn_npy_close(&f);
}
END_TEST

START_TEST(test_npy_convert_keeps_class_names_and_leaves_nothing_on_error)
{
    const char *csv = nn_test_put("d.csv", "a,b,kind\n1,2,cat\n3.5,4,dog\n5,6,\"a \"\"q\"\"\"\n");
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%s", nn_test_path("o"));
    nn_convert_info info;
    nn_error err = {0};
    ck_assert_msg(nn_convert(csv, prefix, &info, &err) == 0, "%s", err.msg);
    ck_assert(info.classes_file);
    FILE *f = fopen(nn_test_fmt("%s-classes.json", prefix), "r");
    ck_assert_ptr_nonnull(f);
    char line[200] = "";
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    fclose(f);
    ck_assert_str_eq(line, "[\"a \\\"q\\\"\",\"cat\",\"dog\"]\n");
    nn_npy_file x;
    open_ok(&x, nn_test_fmt("%s-x.npy", prefix));
    ck_assert_str_eq(x.h.descr, "<f4");
    float v[6];
    ck_assert_int_eq(nn_npy_read_rows(&x, 0, 3, NN_DT_F32, v, &err), 0);
    ck_assert(v[2] == 3.5f && v[5] == 6.0f);
    nn_npy_close(&x);

    /* a bad source: an error, and no file of the new prefix */
    const char *bad = nn_test_put("bad.csv", "a,b,kind\n1,x,cat\n");
    snprintf(prefix, sizeof prefix, "%s", nn_test_path("p"));
    ck_assert_int_eq(nn_convert(bad, prefix, &info, &err), -1);
    ck_assert_int_eq(err.code, NN_EXIT_RUNTIME);
    ck_assert_ptr_null(fopen(nn_test_fmt("%s-x.npy", prefix), "r"));
    /* an unwritable prefix: nothing left behind either */
    snprintf(prefix, sizeof prefix, "%s", nn_test_path("nodir/p"));
    ck_assert_int_eq(nn_convert(csv, prefix, &info, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "No such file or directory"));
}
END_TEST

Suite *npy_suite(void)
{
    Suite *s = suite_create("npy");
    TCase *t = tcase_create("read");
    tcase_add_checked_fixture(t, nn_test_dir_fresh, NULL);
    tcase_set_timeout(t, 30);
    tcase_add_test(t, test_npy_reads_every_dtype_byte_order_and_version_exactly);
    tcase_add_test(t, test_npy_reads_rows_as_floats);
    tcase_add_test(t, test_npy_flattens_more_dimensions_per_row);
    tcase_add_test(t, test_npy_header_accepts_python_spellings);
    tcase_add_test(t, test_npy_source_from_a_data_spec_pair);
    tcase_add_test(t, test_npy_source_joins_shards);
    tcase_add_test(t, test_npy_source_reads_targets);
    tcase_add_test(t, test_npy_stream_reads_rows_and_finds_truncation);
    tcase_add_test(t, test_npy_convert_writes_idx_bytes_as_u1_with_their_shape);
    tcase_add_test(t, test_npy_convert_keeps_class_names_and_leaves_nothing_on_error);
    suite_add_tcase(s, t);

    TCase *e = tcase_create("errors");
    tcase_add_checked_fixture(e, nn_test_dir_fresh, NULL);
    tcase_set_timeout(e, 30);
    tcase_add_test(e, test_npy_rejects_bad_headers);
    tcase_add_test(e, test_npy_rejects_headers_that_lie_about_the_size);
    tcase_add_test(e, test_npy_rejects_nan_infinite_and_inexact_values);
    tcase_add_test(e, test_npy_labels_follow_the_idx_rules);
    suite_add_tcase(s, e);
    return s;
}
