/* test_format.c - the format table and the one sniffer (IDX plain and gzip,
 * CSV, files too short to tell, stdin never read unless through a stream),
 * and row streams of both formats: features, the end, pending bytes, and
 * every error with its exact message and code 1. */
#include "tests.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/format.h"
#include "data/idx.h"

/* --- fixtures --------------------------------------------------------- */

/* The same bytes gzip-compressed. */
static const char *put_gz(const char *name, const void *data, size_t n)
{
    size_t gn;
    unsigned char *gz = nn_test_gzip(data, n, &gn);
    const char *p = nn_test_put_bytes(name, gz, gn);
    free(gz);
    return p;
}

/* 3 items of 2 x 2 ubyte: item i holds 10i+1 .. 10i+4. */
static const unsigned char IDX_3x2x2[16 + 12] = {
    0, 0, 0x08, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2,
    1, 2, 3, 4, 11, 12, 13, 14, 21, 22, 23, 24};

/* stdin becomes the read end of a new pipe; returns the write end. */
static int stdin_pipe(void)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(dup2(fds[0], 0), 0);
    close(fds[0]);
    return fds[1];
}

static void write_all(int fd, const void *p, size_t n)
{
    ck_assert_int_eq(write(fd, p, n), (ssize_t)n);
}

/* A row stream on path, which must open. */
static nn_rows *open_rows(const char *path, const nn_data_layout *trained, size_t n_features)
{
    nn_error err = {0};
    nn_reader *r = nn_reader_open(path, &err);
    ck_assert_msg(r != NULL, "%s", err.msg);
    nn_rows *s = nn_rows_open(r, trained, n_features, &err);
    ck_assert_msg(s != NULL, "%s", err.msg);
    return s;
}

/* Opening a row stream on path fails with code 1 and exactly msg. */
static void expect_open_error(const char *path, const nn_data_layout *trained,
                              size_t n_features, const char *msg)
{
    nn_error err = {0};
    nn_reader *r = nn_reader_open(path, &err);
    ck_assert_msg(r != NULL, "%s", err.msg);
    ck_assert_ptr_null(nn_rows_open(r, trained, n_features, &err));
    ck_assert_int_eq(err.code, NN_EXIT_RUNTIME);
    ck_assert_str_eq(err.msg, msg);
}

/* The next row is want[0..n). */
static void expect_row(nn_rows *s, const double *want, size_t n)
{
    double x[16];
    nn_error err = {0};
    ck_assert_int_eq(nn_rows_read(s, x, &err), 1);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(x[i] == want[i], "value %zu is %g, expected %g", i, x[i], want[i]);
}

static void expect_end(nn_rows *s)
{
    double x[16];
    nn_error err = {0};
    ck_assert_int_eq(nn_rows_read(s, x, &err), 0);
}

/* The next read fails with code 1 and exactly msg. */
static void expect_read_error(nn_rows *s, const char *msg)
{
    double x[16];
    nn_error err = {0};
    ck_assert_int_eq(nn_rows_read(s, x, &err), -1);
    ck_assert_int_eq(err.code, NN_EXIT_RUNTIME);
    ck_assert_str_eq(err.msg, msg);
}

/* The layout of a CSV training file "a,label,b" (classification). */
static nn_data_layout csv_layout(bool header)
{
    static char *names[] = {"a", "label", "b"};
    return (nn_data_layout){.format = NN_FORMAT_CSV, .header = header, .delimiter = ',',
                            .n_columns = 3, .names = header ? names : NULL, .label_col = 1};
}

/* --- the table and the sniffer ----------------------------------------- */

START_TEST(test_format_table_has_one_entry_per_kind)
{
    ck_assert_ptr_eq(nn_format_get(NN_FORMAT_IDX), &nn_format_idx);
    ck_assert_ptr_eq(nn_format_get(NN_FORMAT_CSV), &nn_format_csv);
    ck_assert_str_eq(nn_format_get(NN_FORMAT_IDX)->name, "idx");
    ck_assert_str_eq(nn_format_get(NN_FORMAT_CSV)->name, "csv");
    ck_assert_int_eq(nn_format_idx.kind, NN_FORMAT_IDX);
    ck_assert_int_eq(nn_format_csv.kind, NN_FORMAT_CSV);
    ck_assert_ptr_eq(nn_format_get(NN_FORMAT_NPY), &nn_format_npy);
    ck_assert_str_eq(nn_format_get(NN_FORMAT_NPY)->name, "npy");
    ck_assert_ptr_null(nn_format_get((nn_format_kind)3));
    ck_assert_ptr_null(nn_format_get((nn_format_kind)-1));
}
END_TEST

START_TEST(test_format_detect_knows_an_idx_header_by_its_four_bytes)
{
    static const unsigned char types[] = {0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E};
    for (size_t t = 0; t < sizeof types; t++)
        for (unsigned char dims = 1; dims <= NN_IDX_MAX_DIMS; dims++) {
            unsigned char h[4] = {0, 0, types[t], dims};
            ck_assert_ptr_eq(nn_format_detect(h, 4), &nn_format_idx);
        }
    /* a zero byte missing, an unknown type, 0 or 9 dimensions: CSV */
    static const unsigned char not_idx[][4] = {
        {1, 0, 0x08, 1}, {0, 1, 0x08, 1}, {0, 0, 0x0A, 1}, {0, 0, 0x07, 1},
        {0, 0, 0x08, 0}, {0, 0, 0x08, 9}, {'1', ',', '2', '\n'}};
    for (size_t i = 0; i < sizeof not_idx / sizeof not_idx[0]; i++)
        ck_assert_ptr_eq(nn_format_detect(not_idx[i], 4), &nn_format_csv);
}
END_TEST

START_TEST(test_format_detect_takes_fewer_than_four_bytes_as_csv)
{
    static const unsigned char h[4] = {0, 0, 0x08, 1};
    for (size_t n = 0; n < 4; n++)
        ck_assert_ptr_eq(nn_format_detect(h, n), &nn_format_csv);
}
END_TEST

START_TEST(test_format_of_file_sniffs_idx_plain_and_gzip)
{
    nn_error err = {0};
    ck_assert_ptr_eq(nn_format_of_file(nn_test_put_bytes("i.idx", IDX_3x2x2, sizeof IDX_3x2x2), &err),
                     &nn_format_idx);
    ck_assert_ptr_eq(nn_format_of_file(put_gz("i.idx.gz", IDX_3x2x2, sizeof IDX_3x2x2), &err),
                     &nn_format_idx);
}
END_TEST

START_TEST(test_format_of_file_sniffs_text_as_csv_plain_and_gzip)
{
    nn_error err = {0};
    ck_assert_ptr_eq(nn_format_of_file(nn_test_put("a.csv", "a,b\n1,2\n"), &err), &nn_format_csv);
    ck_assert_ptr_eq(nn_format_of_file(put_gz("a.csv.gz", "a,b\n", 4), &err), &nn_format_csv);
}
END_TEST

/* A file shorter than an IDX header cannot be told from CSV by its bytes:
 * it is CSV (whose reader then says what is wrong with it). */
START_TEST(test_format_of_file_takes_a_file_too_short_to_tell_as_csv)
{
    nn_error err = {0};
    ck_assert_ptr_eq(nn_format_of_file(nn_test_put_bytes("three", "\0\0\x08", 3), &err),
                     &nn_format_csv);
    ck_assert_ptr_eq(nn_format_of_file(nn_test_put("empty", ""), &err), &nn_format_csv);
    ck_assert_ptr_eq(nn_format_of_file(put_gz("three.gz", "\0\0\x08", 3), &err),
                     &nn_format_csv);
}
END_TEST

START_TEST(test_format_of_file_reports_a_missing_file)
{
    nn_error err = {0};
    const char *p = nn_test_path("none.csv");
    ck_assert_ptr_null(nn_format_of_file(p, &err));
    ck_assert_int_eq(err.code, NN_EXIT_RUNTIME);
    ck_assert_str_eq(err.msg, nn_test_fmt("%s: No such file or directory", p));
}
END_TEST

/* "-" is CSV without a byte read: stdin could not be read again.  The same
 * bytes read through a row stream are sniffed, and are IDX. */
START_TEST(test_format_of_file_never_reads_stdin)
{
    int w = stdin_pipe();
    write_all(w, IDX_3x2x2, sizeof IDX_3x2x2);
    close(w);
    nn_error err = {0};
    ck_assert_ptr_eq(nn_format_of_file("-", &err), &nn_format_csv);
    nn_rows *s = open_rows("-", NULL, 4);
    ck_assert_ptr_eq(nn_rows_format(s), &nn_format_idx);
    ck_assert_str_eq(nn_rows_describe(s).name, "stdin");
    expect_row(s, (const double[]){1, 2, 3, 4}, 4);
    nn_rows_close(s);
}
END_TEST

/* Sniffing gives the bytes back: the stream still starts at byte 0. */
START_TEST(test_format_sniff_gives_the_first_bytes_back)
{
    nn_error err = {0};
    nn_reader *r = nn_reader_open(put_gz("g.idx.gz", IDX_3x2x2, sizeof IDX_3x2x2), &err);
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_eq(nn_format_sniff(r, &err), &nn_format_idx);
    unsigned char back[sizeof IDX_3x2x2 + 1];
    ck_assert_int_eq(nn_reader_read(r, back, sizeof back, &err), (long long)sizeof IDX_3x2x2);
    ck_assert_int_eq(memcmp(back, IDX_3x2x2, sizeof IDX_3x2x2), 0);
    nn_reader_close(r);
}
END_TEST

/* --- IDX row streams --------------------------------------------------- */

START_TEST(test_rows_idx_reads_every_item_then_the_end)
{
    const char *p = put_gz("i.idx.gz", IDX_3x2x2, sizeof IDX_3x2x2);
    nn_rows *s = open_rows(p, NULL, 99); /* the header gives the width */
    ck_assert_ptr_eq(nn_rows_format(s), &nn_format_idx);
    nn_rows_info info = nn_rows_describe(s);
    ck_assert_uint_eq(info.features, 4);
    ck_assert_str_eq(info.name, p);
    expect_row(s, (const double[]){1, 2, 3, 4}, 4);
    expect_row(s, (const double[]){11, 12, 13, 14}, 4);
    expect_row(s, (const double[]){21, 22, 23, 24}, 4);
    expect_end(s);
    expect_end(s);
    nn_rows_close(s);
    nn_rows_close(NULL);
}
END_TEST

START_TEST(test_rows_idx_reads_float_items)
{
    float v[] = {0.5f, -1.25f, 1024.0f, -0.0f};
    uint32_t dims[] = {2, 2};
    nn_error err = {0};
    const char *p = nn_test_path("f.idx");
    ck_assert_int_eq(nn_idx_write(p, 0, NN_DT_F32, 2, dims, v, &err), 0);
    nn_rows *s = open_rows(p, NULL, 2);
    expect_row(s, (const double[]){0.5, -1.25}, 2);
    expect_row(s, (const double[]){1024, 0.0}, 2);
    expect_end(s);
    nn_rows_close(s);
}
END_TEST

/* Pending: 0 once the pipe holds nothing more (the next read would wait),
 * above 0 while read-ahead bytes are waiting. */
START_TEST(test_rows_idx_pending_says_when_a_read_would_wait)
{
    int w = stdin_pipe();
    write_all(w, IDX_3x2x2, 16 + 4);
    nn_rows *s = open_rows("-", NULL, 4);
    expect_row(s, (const double[]){1, 2, 3, 4}, 4);
    ck_assert_uint_eq(nn_rows_pending(s), 0);
    write_all(w, IDX_3x2x2 + 20, 8);
    close(w);
    expect_row(s, (const double[]){11, 12, 13, 14}, 4);
    ck_assert_uint_gt(nn_rows_pending(s), 0);
    expect_row(s, (const double[]){21, 22, 23, 24}, 4);
    ck_assert_uint_eq(nn_rows_pending(s), 0);
    expect_end(s);
    nn_rows_close(s);
}
END_TEST

START_TEST(test_rows_idx_rejects_truncated_data)
{
    const char *p = nn_test_put_bytes("t.idx", IDX_3x2x2, sizeof IDX_3x2x2 - 1);
    nn_rows *s = open_rows(p, NULL, 4);
    expect_row(s, (const double[]){1, 2, 3, 4}, 4);
    expect_row(s, (const double[]){11, 12, 13, 14}, 4);
    expect_read_error(s, nn_test_fmt("%s: data ends in item 2 at byte 27 but the header claims "
                             "3 x 2 x 2 ubyte", p));
    nn_rows_close(s);
}
END_TEST

START_TEST(test_rows_idx_rejects_nan_and_infinity)
{
    double v[] = {1, 2, 3, NAN, -INFINITY, 6};
    uint32_t dims[] = {3, 2};
    nn_error err = {0};
    const char *p = nn_test_path("nan.idx");
    ck_assert_int_eq(nn_idx_write(p, 0, NN_DT_F64, 2, dims, v, &err), 0);
    nn_rows *s = open_rows(p, NULL, 2);
    expect_row(s, (const double[]){1, 2}, 2);
    expect_read_error(s, nn_test_fmt("%s: item 1 feature 1 is NaN", p));
    nn_rows_close(s);
    v[3] = 4;
    ck_assert_int_eq(nn_idx_write(p, 0, NN_DT_F64, 2, dims, v, &err), 0);
    s = open_rows(p, NULL, 2);
    expect_row(s, (const double[]){1, 2}, 2);
    expect_row(s, (const double[]){3, 4}, 2);
    expect_read_error(s, nn_test_fmt("%s: item 2 feature 0 is infinite", p));
    nn_rows_close(s);
}
END_TEST

START_TEST(test_rows_idx_rejects_bytes_after_the_last_item)
{
    unsigned char b[sizeof IDX_3x2x2 + 1];
    memcpy(b, IDX_3x2x2, sizeof IDX_3x2x2);
    b[sizeof IDX_3x2x2] = 7;
    const char *p = nn_test_put_bytes("trail.idx", b, sizeof b);
    nn_rows *s = open_rows(p, NULL, 4);
    expect_row(s, (const double[]){1, 2, 3, 4}, 4);
    expect_row(s, (const double[]){11, 12, 13, 14}, 4);
    expect_read_error(s, nn_test_fmt("%s: trailing bytes after the data at byte 28", p));
    nn_rows_close(s);
}
END_TEST

/* A header that starts like IDX but is cut short or claims no samples. */
START_TEST(test_rows_idx_rejects_a_bad_header_on_open)
{
    const char *p = nn_test_put_bytes("h.idx", IDX_3x2x2, 10);
    expect_open_error(p, NULL, 4,
                      nn_test_fmt("%s: header truncated at byte 10 (16 bytes needed for 3 dimensions)",
                          p));
    static const unsigned char zero[] = {0, 0, 0x08, 2, 0, 0, 0, 0, 0, 0, 0, 4};
    p = nn_test_put_bytes("z.idx", zero, sizeof zero);
    expect_open_error(p, NULL, 4, nn_test_fmt("%s: dimension 0 is 0 (no samples)", p));
}
END_TEST

/* --- CSV row streams ---------------------------------------------------- */

/* With no CSV training layout: ',' and rows of the features alone. */
START_TEST(test_rows_csv_reads_features_then_the_end)
{
    const char *p = nn_test_put("f.csv", "1,2.5\n-3,4e2\n\n");
    nn_rows *s = open_rows(p, NULL, 2);
    ck_assert_ptr_eq(nn_rows_format(s), &nn_format_csv);
    nn_rows_info info = nn_rows_describe(s);
    ck_assert_uint_eq(info.features, 2);
    ck_assert_str_eq(info.name, p);
    expect_row(s, (const double[]){1, 2.5}, 2);
    expect_row(s, (const double[]){-3, 400}, 2);
    expect_end(s);
    nn_rows_close(s);
    nn_data_layout idx = {.format = NN_FORMAT_IDX, .label_col = -1};
    s = open_rows(put_gz("f.csv.gz", "7,8\n", 4), &idx, 2);
    expect_row(s, (const double[]){7, 8}, 2);
    expect_end(s);
    nn_rows_close(s);
}
END_TEST

START_TEST(test_rows_csv_rejects_rows_of_another_width)
{
    const char *p = nn_test_put("w.csv", "1,2\n1,2,3\n");
    nn_rows *s = open_rows(p, NULL, 2);
    expect_row(s, (const double[]){1, 2}, 2);
    expect_read_error(s, nn_test_fmt("%s:2: expected 2 fields, found 3", p));
    nn_rows_close(s);
}
END_TEST

START_TEST(test_rows_csv_rejects_a_field_that_is_not_a_number)
{
    const char *p = nn_test_put("n.csv", "1,2\n3,abc\n");
    nn_rows *s = open_rows(p, NULL, 2);
    expect_row(s, (const double[]){1, 2}, 2);
    expect_read_error(s, nn_test_fmt("%s:2: field 2 is not a number: \"abc\"", p));
    nn_rows_close(s);
}
END_TEST

/* With a header in training, features are found by name in any order, and
 * the label column may be there or not. */
START_TEST(test_rows_csv_maps_training_columns_by_header_name)
{
    nn_data_layout l = csv_layout(true);
    nn_rows *s = open_rows(nn_test_put("h.csv", "b,x,a\n2,9,1\n4,9,3\n"), &l, 2);
    expect_row(s, (const double[]){1, 2}, 2);
    expect_row(s, (const double[]){3, 4}, 2);
    expect_end(s);
    nn_rows_close(s);
    s = open_rows(nn_test_put("h2.csv", "a,label,b\n5,red,6\n"), &l, 2);
    expect_row(s, (const double[]){5, 6}, 2);
    expect_end(s);
    nn_rows_close(s);
}
END_TEST

START_TEST(test_rows_csv_rejects_a_header_without_a_training_column)
{
    nn_data_layout l = csv_layout(true);
    const char *p = nn_test_put("h.csv", "a,label\n1,x\n");
    nn_rows *s = open_rows(p, &l, 2);
    expect_read_error(s, nn_test_fmt("%s:1: no column \"b\" in the header (the model was trained on it)",
                             p));
    nn_rows_close(s);
}
END_TEST

START_TEST(test_rows_csv_rejects_a_row_narrower_than_the_header)
{
    nn_data_layout l = csv_layout(true);
    const char *p = nn_test_put("h.csv", "a,b,c\n1,2,3\n1,2\n");
    nn_rows *s = open_rows(p, &l, 2);
    expect_row(s, (const double[]){1, 2}, 2);
    expect_read_error(s, nn_test_fmt("%s:3: expected 3 fields, found 2", p));
    nn_rows_close(s);
}
END_TEST

/* Without a header: the features alone, or a whole training row whose
 * label and target fields are skipped, in the training delimiter. */
START_TEST(test_rows_csv_skips_label_and_target_fields_of_a_training_row)
{
    nn_data_layout l = csv_layout(false);
    nn_rows *s = open_rows(nn_test_put("t.csv", "1,red,2\n3,4\n"), &l, 2);
    expect_row(s, (const double[]){1, 2}, 2);
    expect_row(s, (const double[]){3, 4}, 2);
    expect_end(s);
    nn_rows_close(s);

    long targets[] = {0, 3};
    nn_data_layout reg = {.format = NN_FORMAT_CSV, .n_targets = 2, .delimiter = ';',
                          .n_columns = 5, .label_col = -1, .target_cols = targets};
    s = open_rows(nn_test_put("r.csv", "9;1;2;9;3\n4;5;6\n"), &reg, 3);
    expect_row(s, (const double[]){1, 2, 3}, 3);
    expect_row(s, (const double[]){4, 5, 6}, 3);
    expect_end(s);
    nn_rows_close(s);
}
END_TEST

START_TEST(test_rows_csv_rejects_a_row_neither_features_nor_training_row)
{
    nn_data_layout l = csv_layout(false);
    const char *p = nn_test_put("t.csv", "1,red,2\n1\n");
    nn_rows *s = open_rows(p, &l, 2);
    expect_row(s, (const double[]){1, 2}, 2);
    expect_read_error(s, nn_test_fmt("%s:2: expected 2 fields (the features) or 3 (a training row), "
                             "found 1", p));
    nn_rows_close(s);
}
END_TEST

/* The training rows pick out the features: they must have as many as the
 * model takes. */
START_TEST(test_rows_csv_rejects_a_layout_with_other_feature_columns)
{
    nn_data_layout l = csv_layout(false);
    const char *p = nn_test_put("t.csv", "1,2,3\n");
    expect_open_error(p, &l, 3,
                      nn_test_fmt("%s: the training rows had 2 feature columns, the model takes 3", p));
}
END_TEST

/* The CSV reader's own errors pass through, named as it names them. */
START_TEST(test_rows_csv_passes_the_readers_errors_through)
{
    int w = stdin_pipe();
    write_all(w, "1,2\n3,\"4\n", 9);
    close(w);
    nn_rows *s = open_rows("-", NULL, 2);
    ck_assert_str_eq(nn_rows_describe(s).name, "stdin");
    expect_row(s, (const double[]){1, 2}, 2);
    expect_read_error(s, "stdin:2: unterminated quoted field");
    nn_rows_close(s);
}
END_TEST

START_TEST(test_rows_csv_pending_says_when_a_read_would_wait)
{
    int w = stdin_pipe();
    write_all(w, "1,2\n3,4\n", 8);
    nn_rows *s = open_rows("-", NULL, 2);
    expect_row(s, (const double[]){1, 2}, 2);
    ck_assert_uint_gt(nn_rows_pending(s), 0);
    expect_row(s, (const double[]){3, 4}, 2);
    ck_assert_uint_eq(nn_rows_pending(s), 0);
    write_all(w, "5,6\n", 4);
    close(w);
    expect_row(s, (const double[]){5, 6}, 2);
    expect_end(s);
    nn_rows_close(s);
}
END_TEST

Suite *format_suite(void)
{
    Suite *s = suite_create("format");
    TCase *t = tcase_create("sniff");
    tcase_add_checked_fixture(t, nn_test_dir_fresh, NULL);
    tcase_add_test(t, test_format_table_has_one_entry_per_kind);
    tcase_add_test(t, test_format_detect_knows_an_idx_header_by_its_four_bytes);
    tcase_add_test(t, test_format_detect_takes_fewer_than_four_bytes_as_csv);
    tcase_add_test(t, test_format_of_file_sniffs_idx_plain_and_gzip);
    tcase_add_test(t, test_format_of_file_sniffs_text_as_csv_plain_and_gzip);
    tcase_add_test(t, test_format_of_file_takes_a_file_too_short_to_tell_as_csv);
    tcase_add_test(t, test_format_of_file_reports_a_missing_file);
    tcase_add_test(t, test_format_of_file_never_reads_stdin);
    tcase_add_test(t, test_format_sniff_gives_the_first_bytes_back);
    suite_add_tcase(s, t);

    TCase *i = tcase_create("idx rows");
    tcase_add_checked_fixture(i, nn_test_dir_fresh, NULL);
    tcase_add_test(i, test_rows_idx_reads_every_item_then_the_end);
    tcase_add_test(i, test_rows_idx_reads_float_items);
    tcase_add_test(i, test_rows_idx_pending_says_when_a_read_would_wait);
    tcase_add_test(i, test_rows_idx_rejects_truncated_data);
    tcase_add_test(i, test_rows_idx_rejects_nan_and_infinity);
    tcase_add_test(i, test_rows_idx_rejects_bytes_after_the_last_item);
    tcase_add_test(i, test_rows_idx_rejects_a_bad_header_on_open);
    suite_add_tcase(s, i);

    TCase *c = tcase_create("csv rows");
    tcase_add_checked_fixture(c, nn_test_dir_fresh, NULL);
    tcase_add_test(c, test_rows_csv_reads_features_then_the_end);
    tcase_add_test(c, test_rows_csv_rejects_rows_of_another_width);
    tcase_add_test(c, test_rows_csv_rejects_a_field_that_is_not_a_number);
    tcase_add_test(c, test_rows_csv_maps_training_columns_by_header_name);
    tcase_add_test(c, test_rows_csv_rejects_a_header_without_a_training_column);
    tcase_add_test(c, test_rows_csv_rejects_a_row_narrower_than_the_header);
    tcase_add_test(c, test_rows_csv_skips_label_and_target_fields_of_a_training_row);
    tcase_add_test(c, test_rows_csv_rejects_a_row_neither_features_nor_training_row);
    tcase_add_test(c, test_rows_csv_rejects_a_layout_with_other_feature_columns);
    tcase_add_test(c, test_rows_csv_passes_the_readers_errors_through);
    tcase_add_test(c, test_rows_csv_pending_says_when_a_read_would_wait);
    suite_add_tcase(s, c);
    return s;
}
