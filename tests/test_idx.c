/* test_idx.c - the IDX reader and writer: every element type read back
 * exactly, plain and gzip, 1 to 4 dimensions, and every malformed input
 * rejected with its full message and exit code 1. */
#include "tests.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "data/dataset.h"
#include "data/idx.h"

/* --- fixtures --------------------------------------------------------- */

static void write_gz_file(const char *path, const void *data, size_t n)
{
    size_t gn;
    unsigned char *g = nn_test_gzip(data, n, &gn);
    nn_test_write_file(path, g, gn);
    free(g);
}

/* An IDX header: type, ndim, then ndim sizes; returns its length. */
static size_t header(unsigned char *h, int type, int ndim, const uint32_t *dims)
{
    h[0] = h[1] = 0;
    h[2] = (unsigned char)type;
    h[3] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++) {
        h[4 + 4 * i] = (unsigned char)(dims[i] >> 24);
        h[5 + 4 * i] = (unsigned char)(dims[i] >> 16);
        h[6 + 4 * i] = (unsigned char)(dims[i] >> 8);
        h[7 + 4 * i] = (unsigned char)dims[i];
    }
    return 4 + 4 * (size_t)ndim;
}

/* A file made of a header for (type, dims) followed by `data_n` bytes of
 * value 1; gzip when gz. */
static void write_idx_raw(const char *path, int gz, int type, int ndim, const uint32_t *dims,
                          size_t data_n)
{
    unsigned char *buf = malloc(4 + 4 * 255 + data_n);
    ck_assert_ptr_nonnull(buf);
    size_t h = header(buf, type, ndim, dims);
    memset(buf + h, 1, data_n);
    if (gz)
        write_gz_file(path, buf, h + data_n);
    else
        nn_test_write_file(path, buf, h + data_n);
    free(buf);
}

/* Writes (type, dims, data) with nn_idx_write, reads it back as images and
 * checks every field and every byte. */
static void round_trip(int gz, nn_dtype type, int ndim, const uint32_t *dims, const void *data)
{
    const char *p = nn_test_path(gz ? "rt.idx.gz" : "rt.idx");
    nn_error err = {0};
    ck_assert_int_eq(nn_idx_write(p, gz, type, ndim, dims, data, &err), 0);

    FILE *f = fopen(p, "rb");
    ck_assert_ptr_nonnull(f);
    int c0 = fgetc(f), c1 = fgetc(f);
    fclose(f);
    if (gz)
        ck_assert(c0 == 0x1f && c1 == 0x8b);
    else
        ck_assert(c0 == 0 && c1 == 0);

    nn_dataset d;
    ck_assert_int_eq(nn_idx_read_images(&d, p, &err), 0);
    size_t features = 1;
    for (int i = 1; i < ndim; i++)
        features *= dims[i];
    ck_assert_int_eq(d.type, type);
    ck_assert_uint_eq(d.n, dims[0]);
    ck_assert_uint_eq(d.features, features);
    ck_assert_int_eq(d.ndim, ndim);
    for (int i = 0; i < ndim; i++)
        ck_assert_uint_eq(d.dims[i], dims[i]);
    ck_assert_ptr_null(d.labels);
    ck_assert_int_eq(d.n_classes, 0);
    ck_assert_int_eq(memcmp(d.x, data, dims[0] * features * nn_dtype_size(type)), 0);
    nn_dataset_free(&d);
    ck_assert_ptr_null(d.x);
}

static void round_trip_both(nn_dtype type, int ndim, const uint32_t *dims, const void *data)
{
    round_trip(0, type, ndim, dims, data);
    round_trip(1, type, ndim, dims, data);
}

/* Reading `path` as images fails with code 1 and exactly `msg`. */
static void expect_images_error(const char *path, const char *msg)
{
    nn_dataset d;
    nn_error err = {0};
    ck_assert_int_eq(nn_idx_read_images(&d, path, &err), -1);
    ck_assert_int_eq(err.code, 1);
    ck_assert_str_eq(err.msg, msg);
    ck_assert_ptr_null(d.x);
}

static void expect_labels_error(const char *path, const char *msg)
{
    int32_t *lab = (int32_t *)&lab;
    size_t n = 99;
    nn_error err = {0};
    ck_assert_int_eq(nn_idx_read_labels(&lab, &n, path, &err), -1);
    ck_assert_int_eq(err.code, 1);
    ck_assert_str_eq(err.msg, msg);
    ck_assert_ptr_null(lab);
    ck_assert_uint_eq(n, 0);
}

/* --- every type, read back exactly -------------------------------------- */

START_TEST(test_idx_reads_ubyte_exactly_plain_and_gzip)
{
    uint8_t v[2 * 3];
    for (int i = 0; i < 6; i++)
        v[i] = (uint8_t)(i * 51); /* 0 .. 255 */
    uint32_t dims[] = {2, 3};
    round_trip_both(NN_DT_U8, 2, dims, v);
}
END_TEST

START_TEST(test_idx_reads_signed_byte_negative_values)
{
    int8_t v[] = {-128, -1, 0, 1, 127};
    uint32_t dims[] = {5};
    round_trip_both(NN_DT_I8, 1, dims, v);
}
END_TEST

START_TEST(test_idx_reads_short_negative_values_in_3_dimensions)
{
    int16_t v[2 * 2 * 3] = {-32768, -1, 0, 1, 32767, -300, 258, -258, 12345, -12345, 7, -7};
    uint32_t dims[] = {2, 2, 3};
    round_trip_both(NN_DT_I16, 3, dims, v);
}
END_TEST

START_TEST(test_idx_reads_int_large_values_in_4_dimensions)
{
    int32_t v[2 * 2 * 2 * 2] = {INT32_MIN, INT32_MAX, -1, 0, 0x01020304, -0x01020304, 1000000000,
                                -1000000000, 65536, -65536, 16777217, 7, 8, 9, 10, 11};
    uint32_t dims[] = {2, 2, 2, 2};
    round_trip_both(NN_DT_I32, 4, dims, v);
}
END_TEST

START_TEST(test_idx_reads_float_exactly)
{
    float v[] = {0.0f, -0.0f, 0.1f, -1.5f, FLT_MAX, -FLT_MAX, FLT_MIN, 1e-45f, 3.14159265f};
    uint32_t dims[] = {3, 3};
    round_trip_both(NN_DT_F32, 2, dims, v);
}
END_TEST

START_TEST(test_idx_reads_double_exactly)
{
    double v[] = {0.1, -0.0, DBL_MAX, -DBL_MIN, 4.9e-324, 1.0 / 3.0, -1e300, 2.0};
    uint32_t dims[] = {2, 2, 2};
    round_trip_both(NN_DT_F64, 3, dims, v);
}
END_TEST

START_TEST(test_idx_reads_handwritten_big_endian_data)
{
    /* 2 x 2 shorts -2, 258, 1, -32768; then an int file; then a double file. */
    const unsigned char s[] = {0, 0, 0x0B, 2, 0, 0, 0, 2, 0, 0, 0, 2,
                               0xFF, 0xFE, 0x01, 0x02, 0x00, 0x01, 0x80, 0x00};
    nn_test_write_file(nn_test_path("s.idx"), s, sizeof s);
    nn_dataset d;
    nn_error err = {0};
    ck_assert_int_eq(nn_idx_read_images(&d, nn_test_path("s.idx"), &err), 0);
    const int16_t *x = d.x;
    ck_assert_int_eq(x[0], -2);
    ck_assert_int_eq(x[1], 258);
    ck_assert_int_eq(x[2], 1);
    ck_assert_int_eq(x[3], -32768);
    nn_dataset_free(&d);

    const unsigned char i32[] = {0, 0, 0x0C, 1, 0, 0, 0, 2, 0x80, 0, 0, 0, 0x01, 0x02, 0x03, 0x04};
    nn_test_write_file(nn_test_path("i.idx"), i32, sizeof i32);
    ck_assert_int_eq(nn_idx_read_images(&d, nn_test_path("i.idx"), &err), 0);
    ck_assert_int_eq(((const int32_t *)d.x)[0], INT32_MIN);
    ck_assert_int_eq(((const int32_t *)d.x)[1], 0x01020304);
    ck_assert_uint_eq(d.features, 1);
    nn_dataset_free(&d);

    /* 1.0 = 3FF0000000000000, -2.5 = C004000000000000 */
    const unsigned char f64[] = {0, 0, 0x0E, 1, 0, 0, 0, 2, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0,
                                 0xC0, 0x04, 0, 0, 0, 0, 0, 0};
    nn_test_write_file(nn_test_path("d.idx"), f64, sizeof f64);
    ck_assert_int_eq(nn_idx_read_images(&d, nn_test_path("d.idx"), &err), 0);
    ck_assert(((const double *)d.x)[0] == 1.0);
    ck_assert(((const double *)d.x)[1] == -2.5);
    nn_dataset_free(&d);

    /* 0.5f = 3F000000 */
    const unsigned char f32[] = {0, 0, 0x0D, 1, 0, 0, 0, 1, 0x3F, 0, 0, 0};
    nn_test_write_file(nn_test_path("f.idx"), f32, sizeof f32);
    ck_assert_int_eq(nn_idx_read_images(&d, nn_test_path("f.idx"), &err), 0);
    ck_assert(((const float *)d.x)[0] == 0.5f);
    nn_dataset_free(&d);
}
END_TEST

START_TEST(test_idx_write_produces_big_endian_bytes)
{
    int16_t v[] = {-2, 258};
    uint32_t dims[] = {1, 2};
    nn_error err = {0};
    ck_assert_int_eq(nn_idx_write(nn_test_path("w.idx"), 0, NN_DT_I16, 2, dims, v, &err), 0);
    unsigned char got[64];
    FILE *f = fopen(nn_test_path("w.idx"), "rb");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(got, 1, sizeof got, f);
    fclose(f);
    const unsigned char want[] = {0, 0, 0x0B, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0xFF, 0xFE, 0x01, 0x02};
    ck_assert_uint_eq(n, sizeof want);
    ck_assert_int_eq(memcmp(got, want, sizeof want), 0);
}
END_TEST

START_TEST(test_idx_write_fails_with_code_1_on_bad_path)
{
    uint8_t v[] = {1};
    uint32_t dims[] = {1};
    nn_error err = {0};
    const char *p = nn_test_path("no-such-dir/x.idx");
    ck_assert_int_eq(nn_idx_write(p, 0, NN_DT_U8, 1, dims, v, &err), -1);
    ck_assert_int_eq(err.code, 1);
    ck_assert_str_eq(err.msg, nn_test_fmt("%s: No such file or directory", p));
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(nn_idx_write(p, 1, NN_DT_U8, 1, dims, v, &err), -1);
    ck_assert_int_eq(err.code, 1);
    ck_assert_ptr_nonnull(strstr(err.msg, p));
}
END_TEST

START_TEST(test_idx_dataset_get_converts_each_type)
{
    nn_dataset d = {0};
    int8_t b[] = {-5, 6};
    d.type = NN_DT_I8;
    d.n = 1;
    d.features = 2;
    d.x = b;
    ck_assert(nn_dataset_get(&d, 0, 0) == -5.0);
    ck_assert(nn_dataset_get(&d, 0, 1) == 6.0);
    double f[] = {1.5, -2.25, 3.0, 4.0};
    d.type = NN_DT_F64;
    d.n = 2;
    d.x = f;
    ck_assert(nn_dataset_get(&d, 1, 0) == 3.0);
    ck_assert(nn_dataset_get(&d, 0, 1) == -2.25);
    uint8_t u[] = {255, 0};
    d.type = NN_DT_U8;
    d.n = 1;
    d.x = u;
    ck_assert(nn_dataset_get(&d, 0, 0) == 255.0);

    ck_assert_uint_eq(nn_dtype_size(NN_DT_I16), 2);
    ck_assert_uint_eq(nn_dtype_size(NN_DT_F64), 8);
    ck_assert_uint_eq(nn_dtype_size(0x07), 0);
    ck_assert_str_eq(nn_dtype_name(NN_DT_U8), "ubyte");
    ck_assert_str_eq(nn_dtype_name(NN_DT_F32), "float");
    ck_assert_str_eq(nn_dtype_name(0x42), "?");
    ck_assert(nn_dtype_max(NN_DT_U8) == 255.0);
    ck_assert(nn_dtype_max(NN_DT_I32) == 2147483647.0);
    ck_assert(nn_dtype_max(NN_DT_F32) == 0.0);
}
END_TEST

/* --- labels and pairs ------------------------------------------------- */

START_TEST(test_idx_reads_labels_of_each_integer_type)
{
    uint8_t u[] = {0, 9, 255};
    int16_t s[] = {0, 300, 32767};
    int32_t i[] = {65535, 0, 4};
    double f[] = {3.0, 0.0, 65535.0};
    uint32_t dims[] = {3};
    nn_error err = {0};
    ck_assert_int_eq(nn_idx_write(nn_test_path("u"), 0, NN_DT_U8, 1, dims, u, &err), 0);
    ck_assert_int_eq(nn_idx_write(nn_test_path("s"), 1, NN_DT_I16, 1, dims, s, &err), 0);
    ck_assert_int_eq(nn_idx_write(nn_test_path("i"), 0, NN_DT_I32, 1, dims, i, &err), 0);
    ck_assert_int_eq(nn_idx_write(nn_test_path("f"), 1, NN_DT_F64, 1, dims, f, &err), 0);
    int32_t *lab;
    size_t n;
    ck_assert_int_eq(nn_idx_read_labels(&lab, &n, nn_test_path("u"), &err), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert(lab[0] == 0 && lab[1] == 9 && lab[2] == 255);
    free(lab);
    ck_assert_int_eq(nn_idx_read_labels(&lab, &n, nn_test_path("s"), &err), 0);
    ck_assert(lab[0] == 0 && lab[1] == 300 && lab[2] == 32767);
    free(lab);
    ck_assert_int_eq(nn_idx_read_labels(&lab, &n, nn_test_path("i"), &err), 0);
    ck_assert(lab[0] == 65535 && lab[1] == 0 && lab[2] == 4);
    free(lab);
    ck_assert_int_eq(nn_idx_read_labels(&lab, &n, nn_test_path("f"), &err), 0);
    ck_assert(lab[0] == 3 && lab[1] == 0 && lab[2] == 65535);
    free(lab);
}
END_TEST

START_TEST(test_idx_reads_pair_and_counts_classes)
{
    uint8_t x[4 * 2] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t y[4] = {0, 3, 1, 3};
    uint32_t xd[] = {4, 2}, yd[] = {4};
    nn_error err = {0};
    ck_assert_int_eq(nn_idx_write(nn_test_path("x.gz"), 1, NN_DT_U8, 2, xd, x, &err), 0);
    ck_assert_int_eq(nn_idx_write(nn_test_path("y"), 0, NN_DT_U8, 1, yd, y, &err), 0);
    nn_dataset d;
    ck_assert_int_eq(nn_idx_read_pair(&d, nn_test_path("x.gz"), nn_test_path("y"), &err), 0);
    ck_assert_uint_eq(d.n, 4);
    ck_assert_uint_eq(d.features, 2);
    ck_assert_int_eq(d.n_classes, 4);
    ck_assert_int_eq(d.labels[1], 3);
    ck_assert_int_eq(d.labels[2], 1);
    ck_assert(nn_dataset_get(&d, 3, 1) == 8.0);
    nn_dataset_free(&d);
    ck_assert_ptr_null(d.labels);
}
END_TEST

START_TEST(test_idx_rejects_label_count_mismatch)
{
    uint8_t x[6] = {0}, y[2] = {0, 1};
    uint32_t xd[] = {6}, yd[] = {2};
    nn_error err = {0};
    ck_assert_int_eq(nn_idx_write(nn_test_path("x"), 0, NN_DT_U8, 1, xd, x, &err), 0);
    ck_assert_int_eq(nn_idx_write(nn_test_path("labels.idx"), 0, NN_DT_U8, 1, yd, y, &err), 0);
    nn_dataset d;
    ck_assert_int_eq(nn_idx_read_pair(&d, nn_test_path("x"), nn_test_path("labels.idx"), &err), -1);
    ck_assert_int_eq(err.code, 1);
    ck_assert_str_eq(err.msg, nn_test_fmt("%s: 2 labels but 6 images", nn_test_path("labels.idx")));
    ck_assert_ptr_null(d.x);
    ck_assert_ptr_null(d.labels);
}
END_TEST

START_TEST(test_idx_pair_reports_bad_labels_file_and_frees_images)
{
    uint8_t x[2] = {0};
    uint32_t xd[] = {2};
    nn_error err = {0};
    ck_assert_int_eq(nn_idx_write(nn_test_path("x"), 0, NN_DT_U8, 1, xd, x, &err), 0);
    nn_dataset d;
    const char *missing = nn_test_path("missing-labels");
    ck_assert_int_eq(nn_idx_read_pair(&d, nn_test_path("x"), missing, &err), -1);
    ck_assert_int_eq(err.code, 1);
    ck_assert_str_eq(err.msg, nn_test_fmt("%s: No such file or directory", missing));
    ck_assert_ptr_null(d.x);
}
END_TEST

START_TEST(test_idx_rejects_negative_label)
{
    int8_t y[20] = {0};
    y[17] = -3;
    uint32_t dims[] = {20};
    nn_error err = {0};
    const char *p = nn_test_path("labels.idx");
    ck_assert_int_eq(nn_idx_write(p, 0, NN_DT_I8, 1, dims, y, &err), 0);
    expect_labels_error(p, nn_test_fmt("%s: label -3 at item 17 is negative", p));
}
END_TEST

START_TEST(test_idx_rejects_label_beyond_maximum)
{
    int32_t y[6] = {0, 1, 2, 3, 4, 70000};
    uint32_t dims[] = {6};
    nn_error err = {0};
    const char *p = nn_test_path("labels.idx.gz");
    ck_assert_int_eq(nn_idx_write(p, 1, NN_DT_I32, 1, dims, y, &err), 0);
    expect_labels_error(p, nn_test_fmt("%s: label 70000 at item 5 exceeds the maximum 65535", p));
}
END_TEST

START_TEST(test_idx_rejects_non_integral_label)
{
    float y[5] = {0, 1, 2, 2.5f, 1};
    uint32_t dims[] = {5};
    nn_error err = {0};
    const char *p = nn_test_path("labels.idx");
    ck_assert_int_eq(nn_idx_write(p, 0, NN_DT_F32, 1, dims, y, &err), 0);
    expect_labels_error(p, nn_test_fmt("%s: label 2.5 at item 3 is not a whole number", p));

    double z[2] = {1, NAN};
    dims[0] = 2;
    ck_assert_int_eq(nn_idx_write(p, 0, NN_DT_F64, 1, dims, z, &err), 0);
    expect_labels_error(p, nn_test_fmt("%s: label nan at item 1 is NaN", p));

    double w[3] = {0.1, 1, 1};
    dims[0] = 3;
    ck_assert_int_eq(nn_idx_write(p, 0, NN_DT_F64, 1, dims, w, &err), 0);
    expect_labels_error(p, nn_test_fmt("%s: label 0.1 at item 0 is not a whole number", p));
}
END_TEST

START_TEST(test_idx_rejects_labels_with_two_dimensions)
{
    uint32_t dims[] = {3, 2};
    const char *p = nn_test_path("labels.idx");
    write_idx_raw(p, 0, NN_DT_U8, 2, dims, 6);
    expect_labels_error(p, nn_test_fmt("%s: 2 dimensions at byte 3 (a labels file has exactly 1)", p));
}
END_TEST

/* --- malformed files -------------------------------------------------- */

START_TEST(test_idx_rejects_missing_file)
{
    const char *p = nn_test_path("nope.idx");
    expect_images_error(p, nn_test_fmt("%s: No such file or directory", p));
    expect_labels_error(p, nn_test_fmt("%s: No such file or directory", p));
}
END_TEST

START_TEST(test_idx_rejects_bad_magic)
{
    const unsigned char b[] = {0x12, 0x34, 0x08, 0x01, 0, 0, 0, 1, 7};
    const char *p = nn_test_path("x.idx");
    nn_test_write_file(p, b, sizeof b);
    expect_images_error(
        p, nn_test_fmt("%s: not an IDX file (bytes 0-1 are 0x12 0x34, expected 0x00 0x00)", p));
    write_gz_file(p, b, sizeof b);
    expect_images_error(
        p, nn_test_fmt("%s: not an IDX file (bytes 0-1 are 0x12 0x34, expected 0x00 0x00)", p));
}
END_TEST

START_TEST(test_idx_rejects_unknown_type)
{
    const unsigned char b[] = {0, 0, 0x07, 0x01, 0, 0, 0, 1, 7};
    const char *p = nn_test_path("x.idx");
    nn_test_write_file(p, b, sizeof b);
    expect_images_error(p, nn_test_fmt("%s: unknown IDX element type 0x07 at byte 2", p));
}
END_TEST

START_TEST(test_idx_rejects_zero_or_too_many_dimensions)
{
    const unsigned char b[] = {0, 0, 0x08, 0, 7, 7, 7, 7};
    const char *p = nn_test_path("x.idx");
    nn_test_write_file(p, b, sizeof b);
    expect_images_error(p, nn_test_fmt("%s: 0 dimensions at byte 3 (expected 1 to 8)", p));
    uint32_t dims[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    write_idx_raw(p, 0, NN_DT_U8, 9, dims, 1);
    expect_images_error(p, nn_test_fmt("%s: 9 dimensions at byte 3 (expected 1 to 8)", p));
}
END_TEST

START_TEST(test_idx_reads_eight_dimensions)
{
    uint8_t v[2 * 2 * 2] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint32_t dims[8] = {2, 1, 2, 1, 1, 2, 1, 1};
    round_trip_both(NN_DT_U8, 8, dims, v);
}
END_TEST

START_TEST(test_idx_rejects_truncated_header)
{
    const unsigned char b[] = {0, 0, 0x08, 2, 0, 0, 0, 3, 0};
    const char *p = nn_test_path("x.idx");
    nn_test_write_file(p, b, sizeof b);
    expect_images_error(p, nn_test_fmt("%s: header truncated at byte 9 (12 bytes needed for 2 dimensions)", p));
    write_gz_file(p, b, sizeof b);
    expect_images_error(p, nn_test_fmt("%s: header truncated at byte 9 (12 bytes needed for 2 dimensions)", p));
    nn_test_write_file(p, b, 3);
    expect_images_error(p, nn_test_fmt("%s: header truncated at byte 3 (4 bytes needed)", p));
    nn_test_write_file(p, b, 0);
    expect_images_error(p, nn_test_fmt("%s: file is empty (expected an IDX header)", p));
}
END_TEST

START_TEST(test_idx_rejects_zero_samples_or_features)
{
    uint32_t d0[] = {0, 784};
    const char *p = nn_test_path("x.idx");
    write_idx_raw(p, 0, NN_DT_U8, 2, d0, 0);
    expect_images_error(p, nn_test_fmt("%s: dimension 0 is 0 (no samples)", p));
    uint32_t d2[] = {5, 28, 0};
    write_idx_raw(p, 0, NN_DT_U8, 3, d2, 0);
    expect_images_error(p, nn_test_fmt("%s: dimension 2 is 0 (no features)", p));
}
END_TEST

START_TEST(test_idx_rejects_too_many_features)
{
    uint32_t dims[] = {2, 8192, 4096};
    const char *p = nn_test_path("x.idx");
    write_idx_raw(p, 0, NN_DT_U8, 3, dims, 0);
    expect_images_error(
        p, nn_test_fmt("%s: header claims 2 x 8192 x 4096 ubyte, more than the maximum of 16777216 "
               "features per sample", p));
    uint32_t big[] = {1, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
    write_idx_raw(p, 1, NN_DT_F64, 4, big, 0);
    expect_images_error(
        p, nn_test_fmt("%s: header claims 1 x 4294967295 x 4294967295 x 4294967295 double, more than the "
               "maximum of 16777216 features per sample", p));
}
END_TEST

START_TEST(test_idx_rejects_truncated_data)
{
    uint32_t dims[] = {3, 4};
    const char *p = nn_test_path("x.idx");
    write_idx_raw(p, 0, NN_DT_U8, 2, dims, 10);
    expect_images_error(p, nn_test_fmt("%s: header claims 3 x 4 ubyte (12 bytes of data) but the file "
                               "holds 10 bytes after the 12-byte header", p));
    write_idx_raw(p, 1, NN_DT_U8, 2, dims, 10);
    expect_images_error(p, nn_test_fmt("%s: data ends at byte 22 but the header claims 3 x 4 ubyte "
                               "(12 bytes of data, to byte 24)", p));
    uint32_t ld[] = {4};
    write_idx_raw(p, 1, NN_DT_I16, 1, ld, 7);
    expect_labels_error(p, nn_test_fmt("%s: data ends at byte 15 but the header claims 4 short "
                               "(8 bytes of data, to byte 16)", p));
}
END_TEST

START_TEST(test_idx_rejects_trailing_bytes)
{
    uint32_t dims[] = {3, 4};
    const char *p = nn_test_path("x.idx");
    write_idx_raw(p, 0, NN_DT_U8, 2, dims, 15);
    expect_images_error(p, nn_test_fmt("%s: 3 trailing bytes after the data at byte 24", p));
    write_idx_raw(p, 1, NN_DT_U8, 2, dims, 15);
    expect_images_error(p, nn_test_fmt("%s: 3 trailing bytes after the data at byte 24", p));
    /* Many trailing bytes in a gzip stream: counting stops at 16 MiB. */
    write_idx_raw(p, 1, NN_DT_U8, 2, dims, 12 + (32u << 20));
    expect_images_error(p, nn_test_fmt("%s: more than 16777216 trailing bytes after the data at byte 24", p));
}
END_TEST

/* 65536 x 32768 ubyte claims 2^31 bytes; 4294967295 x 4096 x 4096 double
 * claims almost 2^59 bytes, which AddressSanitizer refuses to allocate (it
 * aborts the test), so passing shows no buffer of the claimed size was made. */
START_TEST(test_idx_rejects_huge_claim_in_tiny_plain_file)
{
    uint32_t d31[] = {65536, 32768};
    const char *p = nn_test_path("x.idx");
    write_idx_raw(p, 0, NN_DT_U8, 2, d31, 4);
    expect_images_error(p, nn_test_fmt("%s: header claims 65536 x 32768 ubyte (2147483648 bytes of data) "
                               "but the file holds 4 bytes after the 12-byte header", p));
    uint32_t d59[] = {0xFFFFFFFFu, 4096, 4096};
    write_idx_raw(p, 0, NN_DT_F64, 3, d59, 4);
    expect_images_error(p, nn_test_fmt("%s: header claims 4294967295 x 4096 x 4096 double "
                               "(576460752169205760 bytes of data) but the file holds 4 bytes "
                               "after the 16-byte header", p));
}
END_TEST

START_TEST(test_idx_rejects_huge_claim_in_tiny_gzip_file)
{
    uint32_t d31[] = {65536, 32768};
    const char *p = nn_test_path("x.idx.gz");
    write_idx_raw(p, 1, NN_DT_U8, 2, d31, 4);
    expect_images_error(p, nn_test_fmt("%s: data ends at byte 16 but the header claims 65536 x 32768 ubyte "
                               "(2147483648 bytes of data, to byte 2147483660)", p));
    uint32_t d59[] = {0xFFFFFFFFu, 4096, 4096};
    write_idx_raw(p, 1, NN_DT_F64, 3, d59, 4);
    expect_images_error(p, nn_test_fmt("%s: data ends at byte 20 but the header claims 4294967295 x 4096 "
                               "x 4096 double (576460752169205760 bytes of data, to byte "
                               "576460752169205776)", p));
    uint32_t ld[] = {0xFFFFFFFFu};
    write_idx_raw(p, 1, NN_DT_F64, 1, ld, 3);
    expect_labels_error(p, nn_test_fmt("%s: data ends at byte 11 but the header claims 4294967295 double "
                               "(34359738360 bytes of data, to byte 34359738368)", p));
}
END_TEST

/* A plain stream (a pipe on stdin) has no size: the stream path is used. */
START_TEST(test_idx_reads_plain_pipe_on_stdin)
{
    uint32_t dims[] = {65536, 32768};
    unsigned char b[64];
    size_t h = header(b, NN_DT_U8, 2, dims);
    memset(b + h, 9, 4);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(write(fds[1], b, h + 4), (ssize_t)(h + 4));
    close(fds[1]);
    int saved = dup(0);
    ck_assert_int_ge(saved, 0);
    ck_assert_int_eq(dup2(fds[0], 0), 0);
    close(fds[0]);
    nn_dataset d;
    nn_error err = {0};
    int rc = nn_idx_read_images(&d, "-", &err);
    dup2(saved, 0);
    close(saved);
    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(err.code, 1);
    ck_assert_str_eq(err.msg, "stdin: data ends at byte 16 but the header claims 65536 x 32768 "
                              "ubyte (2147483648 bytes of data, to byte 2147483660)");
}
END_TEST

START_TEST(test_idx_rejects_nan_and_inf_in_float_images)
{
    float v[6 * 12];
    for (int i = 0; i < 6 * 12; i++)
        v[i] = (float)i / 7.0f;
    v[4 * 12 + 10] = NAN;
    uint32_t dims[] = {6, 3, 4};
    nn_error err = {0};
    const char *p = nn_test_path("x.idx");
    ck_assert_int_eq(nn_idx_write(p, 0, NN_DT_F32, 3, dims, v, &err), 0);
    expect_images_error(p, nn_test_fmt("%s: item 4 feature 10 is NaN", p));

    double w[4] = {1, 2, -INFINITY, 4};
    uint32_t wd[] = {2, 2};
    ck_assert_int_eq(nn_idx_write(p, 1, NN_DT_F64, 2, wd, w, &err), 0);
    expect_images_error(p, nn_test_fmt("%s: item 1 feature 0 is infinite", p));
}
END_TEST

/* --- damaged gzip ----------------------------------------------------- */

/* A gzip IDX file of 50 x 20 ubyte, in memory. */
static unsigned char *gz_fixture(size_t *gn)
{
    unsigned char raw[12 + 1000];
    uint32_t dims[] = {50, 20};
    size_t h = header(raw, NN_DT_U8, 2, dims);
    for (size_t i = 0; i < 1000; i++)
        raw[h + i] = (unsigned char)(i * 7 % 251);
    return nn_test_gzip(raw, h + 1000, gn);
}

START_TEST(test_idx_rejects_corrupt_gzip)
{
    size_t gn;
    unsigned char *g = gz_fixture(&gn);
    const char *p = nn_test_path("x.idx.gz");

    /* First deflate byte: BFINAL=1, BTYPE=11 (reserved). */
    unsigned char keep = g[10];
    g[10] = 0xFF;
    nn_test_write_file(p, g, gn);
    expect_images_error(p, nn_test_fmt("%s: gzip data corrupt at byte 11 (invalid block type)", p));
    g[10] = keep;

    /* A flipped CRC in the trailer: found once the data has been read. */
    g[gn - 8] ^= 0x55;
    nn_test_write_file(p, g, gn);
    expect_images_error(p, nn_test_fmt("%s: gzip data corrupt at byte %zu (incorrect data check)", p, gn - 4));
    g[gn - 8] ^= 0x55;

    /* Flipped bytes in the middle of the deflate data. */
    for (size_t i = 20; i < 28; i++)
        g[i] ^= 0xA5;
    nn_test_write_file(p, g, gn);
    nn_dataset d;
    nn_error err = {0};
    ck_assert_int_eq(nn_idx_read_images(&d, p, &err), -1);
    ck_assert_int_eq(err.code, 1);
    ck_assert_msg(strstr(err.msg, "gzip data corrupt at byte ") || strstr(err.msg, "truncated") ||
                      strstr(err.msg, "data ends at byte") || strstr(err.msg, "trailing"),
                  "%s", err.msg);
    ck_assert_ptr_eq(strstr(err.msg, p), err.msg);
    free(g);
}
END_TEST

START_TEST(test_idx_rejects_truncated_gzip)
{
    size_t gn;
    unsigned char *g = gz_fixture(&gn);
    const char *p = nn_test_path("x.idx.gz");
    /* Without the 8-byte trailer: the data is all there, the CRC is not. */
    nn_test_write_file(p, g, gn - 8);
    expect_images_error(p, nn_test_fmt("%s: gzip stream truncated at byte %zu", p, gn - 8));
    /* Cut in the middle of the deflate data. */
    nn_test_write_file(p, g, gn / 2);
    expect_images_error(p, nn_test_fmt("%s: gzip stream truncated at byte %zu", p, gn / 2));
    /* Only the magic. */
    nn_test_write_file(p, g, 2);
    expect_images_error(p, nn_test_fmt("%s: gzip stream truncated at byte 2", p));
    free(g);
}
END_TEST

Suite *idx_suite(void)
{
    Suite *s = suite_create("idx");
    TCase *t = tcase_create("read");
    tcase_add_checked_fixture(t, nn_test_dir_fresh, NULL);
    tcase_set_timeout(t, 30);
    tcase_add_test(t, test_idx_reads_ubyte_exactly_plain_and_gzip);
    tcase_add_test(t, test_idx_reads_signed_byte_negative_values);
    tcase_add_test(t, test_idx_reads_short_negative_values_in_3_dimensions);
    tcase_add_test(t, test_idx_reads_int_large_values_in_4_dimensions);
    tcase_add_test(t, test_idx_reads_float_exactly);
    tcase_add_test(t, test_idx_reads_double_exactly);
    tcase_add_test(t, test_idx_reads_handwritten_big_endian_data);
    tcase_add_test(t, test_idx_reads_eight_dimensions);
    tcase_add_test(t, test_idx_write_produces_big_endian_bytes);
    tcase_add_test(t, test_idx_write_fails_with_code_1_on_bad_path);
    tcase_add_test(t, test_idx_dataset_get_converts_each_type);
    tcase_add_test(t, test_idx_reads_labels_of_each_integer_type);
    tcase_add_test(t, test_idx_reads_pair_and_counts_classes);
    tcase_add_test(t, test_idx_reads_plain_pipe_on_stdin);
    suite_add_tcase(s, t);

    TCase *e = tcase_create("errors");
    tcase_add_checked_fixture(e, nn_test_dir_fresh, NULL);
    tcase_set_timeout(e, 30);
    tcase_add_test(e, test_idx_rejects_missing_file);
    tcase_add_test(e, test_idx_rejects_bad_magic);
    tcase_add_test(e, test_idx_rejects_unknown_type);
    tcase_add_test(e, test_idx_rejects_zero_or_too_many_dimensions);
    tcase_add_test(e, test_idx_rejects_truncated_header);
    tcase_add_test(e, test_idx_rejects_zero_samples_or_features);
    tcase_add_test(e, test_idx_rejects_too_many_features);
    tcase_add_test(e, test_idx_rejects_truncated_data);
    tcase_add_test(e, test_idx_rejects_trailing_bytes);
    tcase_add_test(e, test_idx_rejects_huge_claim_in_tiny_plain_file);
    tcase_add_test(e, test_idx_rejects_huge_claim_in_tiny_gzip_file);
    tcase_add_test(e, test_idx_rejects_nan_and_inf_in_float_images);
    tcase_add_test(e, test_idx_rejects_corrupt_gzip);
    tcase_add_test(e, test_idx_rejects_truncated_gzip);
    tcase_add_test(e, test_idx_rejects_label_count_mismatch);
    tcase_add_test(e, test_idx_pair_reports_bad_labels_file_and_frees_images);
    tcase_add_test(e, test_idx_rejects_negative_label);
    tcase_add_test(e, test_idx_rejects_label_beyond_maximum);
    tcase_add_test(e, test_idx_rejects_non_integral_label);
    tcase_add_test(e, test_idx_rejects_labels_with_two_dimensions);
    suite_add_tcase(s, e);
    return s;
}
