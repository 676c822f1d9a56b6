/* test_csv.c - the CSV row reader and loader: every dialect feature, the
 * header rule, labels (integer, string, from a checkpoint's classes),
 * regression targets, every error with its full message and code 1, the
 * record-length limit, chunk boundaries and locale independence. */
#include "tests.h"

#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "data/csv.h"
#include "data/dataset.h"
#include "data/reader.h"

/* --- fixtures --------------------------------------------------------- */

/* Every record of path as "<f1><f2>\n" lines, into out (malloc'd);
 * returns the last nn_csv_next result (0, or -1 with *err). */
static int records(const char *path, int delim, char **out, nn_error *err)
{
    size_t cap = 1024, n = 0;
    char *s = malloc(cap);
    ck_assert_ptr_nonnull(s);
    s[0] = '\0';
    nn_csv *c = nn_csv_open(path, delim, err);
    ck_assert_ptr_nonnull(c);
    int k;
    while ((k = nn_csv_next(c, err)) == 1) {
        for (size_t i = 0; i <= nn_csv_nfields(c); i++) {
            const char *f = i < nn_csv_nfields(c) ? nn_csv_field(c, i) : NULL;
            size_t need = (f ? strlen(f) : 0) + 4;
            while (cap - n < need + 1) {
                cap *= 2;
                s = realloc(s, cap);
                ck_assert_ptr_nonnull(s);
            }
            n += (size_t)(f ? snprintf(s + n, cap - n, "<%s>", f) : snprintf(s + n, cap - n, "\n"));
        }
    }
    nn_csv_close(c);
    *out = s;
    return k;
}

/* The records of `text` (written to a file) must be exactly `want`. */
static void expect_records(const char *text, int delim, const char *want)
{
    nn_error err = {0};
    char *got;
    int k = records(nn_test_put("r.csv", text), delim, &got, &err);
    ck_assert_msg(k == 0, "error: %s", err.msg);
    ck_assert_str_eq(got, want);
    free(got);
}

/* Reading the records of `text` fails with exactly `msg` (after "FILE"). */
static void expect_records_error(const char *text, int delim, const char *msg)
{
    nn_error err = {0};
    char *got;
    const char *p = nn_test_put("bad.csv", text);
    char want[8192];
    snprintf(want, sizeof want, "%s%s", p, msg);
    ck_assert_int_eq(records(p, delim, &got, &err), -1);
    free(got);
    ck_assert_int_eq(err.code, 1);
    ck_assert_str_eq(err.msg, want);
}

static nn_csv_spec spec_label_index(long i)
{
    nn_csv_spec s = {.header = NN_HEADER_AUTO, .delimiter = ',', .has_label = true};
    s.label.index = i;
    return s;
}

static nn_csv_spec spec_label_name(const char *name)
{
    nn_csv_spec s = spec_label_index(0);
    s.label.name = (char *)name;
    return s;
}

static void read_ok(nn_dataset *d, nn_data_layout *l, const char *path, const nn_csv_spec *s)
{
    nn_error err = {0};
    int rc = nn_csv_read(d, l, path, s, NULL, 0, &err);
    ck_assert_msg(rc == 0, "nn_csv_read failed: %s", err.msg);
    ck_assert_int_eq(d->type, NN_DT_F32);
}

static float X(const nn_dataset *d, size_t r, size_t i)
{
    ck_assert_uint_lt(r, d->n);
    ck_assert_uint_lt(i, d->features);
    return ((const float *)d->x)[r * d->features + i];
}

/* Loading `text` with spec s fails with "FILE" + msg and code 1, and leaves
 * the data set and layout empty. */
static void expect_read_error_cls(const char *text, const nn_csv_spec *s, char *const *classes,
                                  int n_classes, const char *msg)
{
    const char *p = nn_test_put("bad.csv", text);
    char want[8192];
    snprintf(want, sizeof want, "%s%s", p, msg);
    nn_dataset d;
    nn_data_layout l;
    nn_error err = {0};
    ck_assert_int_eq(nn_csv_read(&d, &l, p, s, classes, n_classes, &err), -1);
    ck_assert_int_eq(err.code, 1);
    ck_assert_str_eq(err.msg, want);
    ck_assert_ptr_null(d.x);
    ck_assert_ptr_null(d.labels);
    ck_assert_ptr_null(l.names);
}

static void expect_read_error(const char *text, const nn_csv_spec *s, const char *msg)
{
    expect_read_error_cls(text, s, NULL, 0, msg);
}

static void write_gz(const char *path, const char *text)
{
    gzFile g = gzopen(path, "wb");
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(gzwrite(g, text, (unsigned)strlen(text)), (int)strlen(text));
    ck_assert_int_eq(gzclose(g), Z_OK);
}

/* --- the row reader: dialect ---------------------------------------------- */

START_TEST(test_csv_splits_simple_records)
{
    expect_records("a,b,c\n1,2,3\n", ',', "<a><b><c>\n<1><2><3>\n");
    expect_records("a,,c,\n", ',', "<a><><c><>\n");
}
END_TEST

START_TEST(test_csv_unquotes_fields_with_doubled_quotes_delimiters_and_newlines)
{
    expect_records("\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"\"\nx,\"\",\"\"\"\"\n", ',',
                   "<a,b><say \"hi\"><two\nlines><>\n<x><><\">\n");
    /* a quote inside an unquoted field is kept as it is */
    expect_records("5\" disk,b\n", ',', "<5\" disk><b>\n");
}
END_TEST

START_TEST(test_csv_counts_lines_inside_quoted_fields)
{
    nn_error err = {0};
    nn_csv *c = nn_csv_open(nn_test_put("q.csv", "\"a\nb\nc\",1\nx,2\n"), ',', &err);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(nn_csv_next(c, &err), 1);
    ck_assert_uint_eq(nn_csv_line(c), 1);
    ck_assert_int_eq(nn_csv_next(c, &err), 1);
    ck_assert_uint_eq(nn_csv_line(c), 4);
    ck_assert_str_eq(nn_csv_field(c, 0), "x");
    ck_assert_ptr_null(nn_csv_field(c, 2));
    ck_assert_int_eq(nn_csv_next(c, &err), 0);
    nn_csv_close(c);
}
END_TEST

START_TEST(test_csv_accepts_crlf_line_ends)
{
    expect_records("a,b\r\n1,2\r\n", ',', "<a><b>\n<1><2>\n");
    expect_records("\"a\"\r\n\"b\r\nc\"\r\n", ',', "<a>\n<b\r\nc>\n");
    /* a CR not followed by LF is data */
    expect_records("a\rb,c\n", ',', "<a\rb><c>\n");
}
END_TEST

START_TEST(test_csv_skips_utf8_bom)
{
    expect_records("\xEF\xBB\xBF" "a,b\n1,2\n", ',', "<a><b>\n<1><2>\n");
    expect_records("x\xEF\xBB\xBF,b\n", ',', "<x\xEF\xBB\xBF><b>\n"); /* not at the start: data */
}
END_TEST

START_TEST(test_csv_accepts_missing_final_newline)
{
    expect_records("a,b\n1,2", ',', "<a><b>\n<1><2>\n");
    expect_records("a,b\r\n1,2\r", ',', "<a><b>\n<1><2>\n");
    expect_records("a,\"b\"", ',', "<a><b>\n");
    expect_records("a,", ',', "<a><>\n");
}
END_TEST

START_TEST(test_csv_skips_blank_trailing_lines)
{
    expect_records("a,b\n1,2\n\n\n", ',', "<a><b>\n<1><2>\n");
    expect_records("a,b\r\n1,2\r\n\r\n\r\n", ',', "<a><b>\n<1><2>\n");
    expect_records("a,b\n1,2\n  \n\t\n", ',', "<a><b>\n<1><2>\n");
    expect_records("", ',', "");
    expect_records("\n\n", ',', "");
}
END_TEST

START_TEST(test_csv_rejects_blank_line_inside_data)
{
    expect_records_error("a,b\n1,2\n\n3,4\n", ',', ":3: blank line inside the data");
    expect_records_error("a,b\r\n\r\n\r\n3,4\r\n", ',', ":2: blank line inside the data");
    expect_records_error("\na,b\n", ',', ":1: blank line inside the data");
}
END_TEST

START_TEST(test_csv_whitespace_delimiter_takes_runs_of_spaces_and_tabs)
{
    expect_records("  a \t b   c  \n1 2\t\t3\r\n \"x y\"  z\n", NN_CSV_WHITESPACE,
                   "<a><b><c>\n<1><2><3>\n<x y><z>\n");
    expect_records("1 2\n  \n\t\n", NN_CSV_WHITESPACE, "<1><2>\n");
    expect_records_error("1 2\n   \n3 4\n", NN_CSV_WHITESPACE, ":2: blank line inside the data");
}
END_TEST

START_TEST(test_csv_semicolon_tab_and_pipe_delimiters)
{
    expect_records("a;b,c;\"d;e\"\n", ';', "<a><b,c><d;e>\n");
    expect_records("a\tb c\t\n", '\t', "<a><b c><>\n");
    expect_records("a|b|\"c|d\"\n", '|', "<a><b><c|d>\n");
}
END_TEST

START_TEST(test_csv_rejects_bad_delimiter)
{
    nn_error err = {0};
    ck_assert_ptr_null(nn_csv_open(nn_test_put("a.csv", "a\n"), '"', &err));
    ck_assert_int_eq(err.code, 1);
    ck_assert_str_eq(err.msg, nn_test_fmt("%s: invalid CSV delimiter (byte 34)", nn_test_path("a.csv")));
}
END_TEST

START_TEST(test_csv_rejects_missing_file)
{
    nn_error err = {0};
    ck_assert_ptr_null(nn_csv_open(nn_test_path("none.csv"), ',', &err));
    ck_assert_int_eq(err.code, 1);
    ck_assert_str_eq(err.msg, nn_test_fmt("%s: No such file or directory", nn_test_path("none.csv")));
}
END_TEST

START_TEST(test_csv_rejects_unterminated_quote)
{
    expect_records_error("a,b\n1,\"2\n3,4\n", ',', ":2: unterminated quoted field");
}
END_TEST

START_TEST(test_csv_rejects_text_after_closing_quote)
{
    expect_records_error("x\n\"a\"b,c\n", ',', ":2: text after the closing quote of field 1");
    expect_records_error("x,\"a\"\rb\n", ',', ":1: text after the closing quote of field 2");
}
END_TEST

START_TEST(test_csv_rejects_nul_byte)
{
    const char *p = nn_test_path("nul.csv");
    nn_test_write_file(p, "a,b\n1,\0\n", 8);
    nn_error err = {0};
    char *got;
    ck_assert_int_eq(records(p, ',', &got, &err), -1);
    free(got);
    ck_assert_str_eq(err.msg, nn_test_fmt("%s:2: NUL byte in the data (not a text file?)", p));
}
END_TEST

/* A 2 MiB line fails at the limit; so does one inside quotes. */
START_TEST(test_csv_rejects_line_over_limit)
{
    size_t n = 2u << 20;
    char *buf = malloc(n + 16);
    ck_assert_ptr_nonnull(buf);
    memcpy(buf, "a,b\n", 4);
    memset(buf + 4, '7', n);
    memcpy(buf + 4 + n, ",1\n", 4);
    expect_records_error(buf, ',', ":2: line longer than 1048576 bytes");
    buf[4] = '"';
    expect_records_error(buf, ',', ":2: line longer than 1048576 bytes");
    /* exactly the limit is fine */
    memset(buf + 4, '7', NN_CSV_MAX_LINE - 2);
    memcpy(buf + 4 + NN_CSV_MAX_LINE - 2, ",1\r\n", 5);
    nn_error err = {0};
    char *got;
    ck_assert_int_eq(records(nn_test_put("max.csv", buf), ',', &got, &err), 0);
    ck_assert_uint_eq(strlen(got), 7 + 1 + NN_CSV_MAX_LINE - 2 + 1 + 3 + 1);
    free(got);
    free(buf);
}
END_TEST

START_TEST(test_csv_rejects_too_many_fields)
{
    size_t n = NN_CSV_MAX_COLUMNS; /* n delimiters: n + 1 fields */
    char *buf = malloc(n + 2);
    ck_assert_ptr_nonnull(buf);
    memset(buf, ',', n);
    memcpy(buf + n, "\n", 2);
    expect_records_error(buf, ',', ":1: more than 1000000 fields in one record");
    free(buf);
}
END_TEST

START_TEST(test_csv_reads_gzip_input)
{
    const char *p = nn_test_path("g.csv.gz");
    write_gz(p, "x,y,label\n1.5,2,a\n3,4,b\n");
    nn_csv_spec s = spec_label_name("label");
    nn_dataset d;
    read_ok(&d, NULL, p, &s);
    ck_assert_uint_eq(d.n, 2);
    ck_assert_float_eq(X(&d, 0, 0), 1.5f);
    ck_assert_float_eq(X(&d, 1, 1), 4.0f);
    ck_assert_int_eq(d.labels[1], 1);
    nn_dataset_free(&d);
}
END_TEST

/* A reader opened by the caller is taken over (and closed, also on failure). */
START_TEST(test_csv_reads_from_an_open_reader)
{
    const char *p = nn_test_path("r.csv.gz");
    write_gz(p, "\xEF\xBB\xBF" "a;b\r\n1;2\r\n");
    nn_error err = {0};
    nn_reader *r = nn_reader_open(p, &err);
    ck_assert_ptr_nonnull(r);
    nn_csv *c = nn_csv_from_reader(r, ';', &err);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(nn_csv_name(c), p);
    ck_assert_int_eq(nn_csv_next(c, &err), 1);
    ck_assert_str_eq(nn_csv_field(c, 0), "a");
    ck_assert_int_eq(nn_csv_next(c, &err), 1);
    ck_assert_str_eq(nn_csv_field(c, 1), "2");
    ck_assert_int_eq(nn_csv_next(c, &err), 0);
    nn_csv_close(c);
    r = nn_reader_open(p, &err);
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_null(nn_csv_from_reader(r, '\n', &err));
    ck_assert_str_eq(err.msg, nn_test_fmt("%s: invalid CSV delimiter (byte 10)", p));
}
END_TEST

/* stdin is "-" and is called "stdin" in messages. */
START_TEST(test_csv_reads_stdin_and_names_it)
{
    const char *p = nn_test_put("in.csv", "a,b\n1,2\n3\n");
    int saved = dup(0), fd = open(p, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(dup2(fd, 0), 0);
    close(fd);
    nn_csv_spec s = spec_label_index(-1);
    nn_dataset d;
    nn_error err = {0};
    int rc = nn_csv_read(&d, NULL, "-", &s, NULL, 0, &err);
    dup2(saved, 0);
    close(saved);
    ck_assert_int_eq(rc, -1);
    ck_assert_str_eq(err.msg, "stdin:3: expected 2 fields, found 1");
}
END_TEST

START_TEST(test_csv_pending_is_zero_after_the_last_record)
{
    nn_error err = {0};
    nn_csv *c = nn_csv_open(nn_test_put("p.csv", "a,b\n1,2\n3,4\n"), ',', &err);
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(nn_csv_pending(c), 12);
    ck_assert_int_eq(nn_csv_next(c, &err), 1);
    ck_assert_uint_eq(nn_csv_pending(c), 8);
    ck_assert_int_eq(nn_csv_next(c, &err), 1);
    ck_assert_int_eq(nn_csv_next(c, &err), 1);
    ck_assert_str_eq(nn_csv_field(c, 1), "4");
    ck_assert_uint_eq(nn_csv_pending(c), 0);
    ck_assert_int_eq(nn_csv_next(c, &err), 0);
    ck_assert_uint_eq(nn_csv_pending(c), 0);
    ck_assert_uint_eq(nn_csv_nfields(c), 0);
    nn_csv_close(c);
}
END_TEST

/* 100k rows cross the 64 KiB chunk boundary many times (also inside
 * quoted fields and CRLF pairs); every row must come out whole. */
START_TEST(test_csv_records_across_chunk_boundaries_match_small_files)
{
    size_t rows = 100000, cap = rows * 40 + 64, n = 0;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    n += (size_t)snprintf(buf + n, cap - n, "a,b,\"c\",label\r\n");
    for (size_t r = 0; r < rows; r++)
        n += (size_t)snprintf(buf + n, cap - n, "%zu,%zu.25,\"-%zu\"\"\",%s\r\n", r, r % 977,
                              r * 3, r % 3 == 0 ? "\"x\ny\"" : r % 3 == 1 ? "b" : "a");
    const char *p = nn_test_path("big.csv");
    nn_test_write_file(p, buf, n);
    nn_error err = {0};
    nn_csv *c = nn_csv_open(p, ',', &err);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(nn_csv_next(c, &err), 1);
    uint64_t line = 2;
    char want[64];
    for (size_t r = 0; r < rows; r++) {
        ck_assert_int_eq(nn_csv_next(c, &err), 1);
        ck_assert_uint_eq(nn_csv_nfields(c), 4);
        ck_assert_uint_eq(nn_csv_line(c), line);
        line += r % 3 == 0 ? 2 : 1;
        snprintf(want, sizeof want, "%zu", r);
        ck_assert_str_eq(nn_csv_field(c, 0), want);
        snprintf(want, sizeof want, "-%zu\"", r * 3);
        ck_assert_str_eq(nn_csv_field(c, 2), want);
        ck_assert_str_eq(nn_csv_field(c, 3), r % 3 == 0 ? "x\ny" : r % 3 == 1 ? "b" : "a");
    }
    ck_assert_int_eq(nn_csv_next(c, &err), 0);
    nn_csv_close(c);

    /* The loader on the same file (column "c" has a trailing quote, so
     * drop it from a numeric copy): values equal those of a small file. */
    n = 0;
    n += (size_t)snprintf(buf + n, cap - n, "a,b,label\n");
    for (size_t r = 0; r < rows; r++)
        n += (size_t)snprintf(buf + n, cap - n, "%zu,%zu.25,%s\n", r, r % 977,
                              r % 3 == 0 ? "\"x\ny\"" : r % 3 == 1 ? "b" : "a");
    nn_test_write_file(p, buf, n);
    nn_csv_spec s = spec_label_name("label");
    nn_dataset d;
    read_ok(&d, NULL, p, &s);
    ck_assert_uint_eq(d.n, rows);
    ck_assert_int_eq(d.n_classes, 3);
    for (size_t r = 0; r < rows; r += 997) {
        ck_assert_float_eq(X(&d, r, 0), (float)r);
        ck_assert_float_eq(X(&d, r, 1), (float)(r % 977) + 0.25f);
        ck_assert_int_eq(d.labels[r], r % 3 == 0 ? 2 : r % 3 == 1 ? 1 : 0);
    }
    ck_assert_float_eq(X(&d, rows - 1, 0), (float)(rows - 1));
    nn_dataset_free(&d);
    free(buf);
}
END_TEST

/* --- numbers ------------------------------------------------------------- */

START_TEST(test_csv_parse_number_accepts_decimal_forms)
{
    static const struct {
        const char *s;
        double v;
    } ok[] = {{"1", 1.0},          {"-2.5e3", -2500.0}, {" 7 ", 7.0},     {"+3", 3.0},
              {"0.5", 0.5},        {".5", 0.5},         {"5.", 5.0},      {"1E-2", 0.01},
              {"\t12\t", 12.0},    {"-0", -0.0},        {"1e+2", 100.0},  {"007", 7.0},
              {"1e-400", 0.0},     {"255", 255.0},      {"1.7976931348623157e308", 1.7976931348623157e308},
              {"123456789012345678901234567890", 123456789012345678901234567890.0},
              {"0.000000000000000000000000001", 1e-27}, {"4.9406564584124654e-324", 4.9406564584124654e-324}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        double v = 42;
        ck_assert_msg(nn_csv_parse_number(ok[i].s, &v) == 0, "rejected \"%s\"", ok[i].s);
        ck_assert_msg(v == ok[i].v, "\"%s\" gave %.17g", ok[i].s, v);
    }
    double v;
    ck_assert_int_eq(nn_csv_parse_number("-0", &v), 0);
    ck_assert(signbit(v));
}
END_TEST

START_TEST(test_csv_parse_number_rounds_correctly)
{
    double v;
    ck_assert_int_eq(nn_csv_parse_number("0.1", &v), 0);
    ck_assert(v == 0.1);
    ck_assert_int_eq(nn_csv_parse_number("0.3", &v), 0);
    ck_assert(v == 0.3);
    /* 20+ digits: the strtod path */
    ck_assert_int_eq(nn_csv_parse_number("0.1000000000000000000000000", &v), 0);
    ck_assert(v == 0.1);
    ck_assert_int_eq(nn_csv_parse_number("3.14159265358979323846264338327950288", &v), 0);
    ck_assert(v == 3.14159265358979323846264338327950288);
    /* halfway between 1 and the next double: rounds to even (1) */
    ck_assert_int_eq(nn_csv_parse_number("1.00000000000000011102230246251565404236316680908203125", &v), 0);
    ck_assert(v == 1.0);
    ck_assert_int_eq(nn_csv_parse_number("1.00000000000000011102230246251565404236316680908203126", &v), 0);
    ck_assert(v > 1.0);
    ck_assert_int_eq(nn_csv_parse_number("9007199254740993", &v), 0); /* 2^53 + 1 */
    ck_assert(v == 9007199254740992.0);
    ck_assert_int_eq(nn_csv_parse_number("2.2250738585072011e-308", &v), 0);
    ck_assert(v == 2.2250738585072011e-308);
}
END_TEST

START_TEST(test_csv_parse_number_rejects_non_numbers)
{
    static const char *bad[] = {"",    " ",    "nan", "NaN",  "inf",   "-inf", "Infinity", "0x10",
                                "1e",  "1e+",  "1.2.3", "1,5", ".",   "-",    "+-1",     "1 2",
                                "e5",  "abc",  "1e999", "-1e400", "1.8e308", "1d5", "١"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double v = 42;
        ck_assert_msg(nn_csv_parse_number(bad[i], &v) == -1, "accepted \"%s\"", bad[i]);
        ck_assert(v == 42);
    }
}
END_TEST

/* Numbers ignore LC_NUMERIC: with a comma-decimal locale, "1.5" is still
 * 1.5 and "1,5" is still rejected.  `make check` builds de_DE.UTF-8 into
 * build/locale and sets LOCPATH and NN_TEST_NEED_LOCALE=1, so there the
 * locale part always runs (and a missing locale fails the test); a bare run
 * of the test binary on a machine without such a locale says so instead. */
START_TEST(test_csv_numbers_ignore_the_locale)
{
    static const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "de_DE", "fr_FR.UTF-8",
                                  "fr_FR.utf8",  "nl_NL.UTF-8", "ru_RU.UTF-8", "es_ES.UTF-8"};
    const char *found = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !found; i++)
        if (setlocale(LC_NUMERIC, names[i]) && strcmp(localeconv()->decimal_point, ",") == 0)
            found = names[i];
    double v;
    if (found) {
        ck_assert(strtod("1.5", NULL) == 1.0); /* the trap being avoided */
        ck_assert_int_eq(nn_csv_parse_number("1.5", &v), 0);
        ck_assert(v == 1.5);
        ck_assert_int_eq(nn_csv_parse_number("0.1000000000000000000000001", &v), 0);
        ck_assert(v == 0.1);
        ck_assert_int_eq(nn_csv_parse_number("1,5", &v), -1);
        nn_csv_spec s = spec_label_index(-1);
        nn_dataset d;
        read_ok(&d, NULL, nn_test_put("l.csv", "x,y\n1.5,0\n2.25,1\n"), &s);
        ck_assert_float_eq(X(&d, 1, 0), 2.25f);
        nn_dataset_free(&d);
    } else {
        const char *need = getenv("NN_TEST_NEED_LOCALE");
        ck_assert_msg(!need || strcmp(need, "1") != 0,
                      "no comma-decimal locale found (LOCPATH=%s)", getenv("LOCPATH"));
        fprintf(stderr, "test_csv_numbers_ignore_the_locale: no comma-decimal locale installed, "
                        "locale part not run\n");
    }
    setlocale(LC_NUMERIC, "C");
    ck_assert_int_eq(nn_csv_parse_number("1.5", &v), 0);
    ck_assert(v == 1.5);
    ck_assert_int_eq(nn_csv_parse_number("1,5", &v), -1);
}
END_TEST

/* --- the loader: header, columns ------------------------------------------ */

START_TEST(test_csv_reads_features_labels_and_layout)
{
    nn_csv_spec s = spec_label_name("species");
    nn_dataset d;
    nn_data_layout l;
    read_ok(&d, &l, nn_test_put("iris.csv", "sl,species,sw\n5.1,setosa,3.5\n-4.9,virginica,3e0\n"), &s);
    ck_assert_uint_eq(d.n, 2);
    ck_assert_uint_eq(d.features, 2);
    ck_assert_int_eq(d.ndim, 2);
    ck_assert_uint_eq(d.dims[0], 2);
    ck_assert_uint_eq(d.dims[1], 2);
    ck_assert_float_eq(X(&d, 0, 0), 5.1f);
    ck_assert_float_eq(X(&d, 0, 1), 3.5f);
    ck_assert_float_eq(X(&d, 1, 0), -4.9f);
    ck_assert_float_eq(X(&d, 1, 1), 3.0f);
    ck_assert_ptr_null(d.targets);
    ck_assert(l.header);
    ck_assert_uint_eq(l.n_columns, 3);
    ck_assert_str_eq(l.names[0], "sl");
    ck_assert_str_eq(l.names[1], "species");
    ck_assert_str_eq(l.names[2], "sw");
    ck_assert_int_eq(l.label_col, 1);
    ck_assert_int_eq(l.n_targets, 0);
    ck_assert_int_eq(l.delimiter, ',');
    nn_data_layout_free(&l);
    nn_dataset_free(&d);
}
END_TEST

START_TEST(test_csv_header_auto_detects_a_header)
{
    nn_csv_spec s = spec_label_index(-1);
    nn_dataset d;
    nn_data_layout l;
    /* only one field differs: name over number */
    read_ok(&d, &l, nn_test_put("h.csv", "1,x,2\n3,4,5\n"), &s);
    ck_assert(l.header);
    ck_assert_uint_eq(d.n, 1);
    nn_data_layout_free(&l);
    nn_dataset_free(&d);
}
END_TEST

START_TEST(test_csv_header_auto_detects_no_header)
{
    nn_csv_spec s = spec_label_index(-1);
    nn_dataset d;
    nn_data_layout l;
    /* text over text is data (string labels), numbers over numbers too */
    read_ok(&d, &l, nn_test_put("n.csv", "1,2,cat\n3,4,dog\n"), &s);
    ck_assert(!l.header);
    ck_assert_ptr_null(l.names);
    ck_assert_uint_eq(d.n, 2);
    ck_assert_int_eq(d.labels[0], 0);
    ck_assert_int_eq(d.labels[1], 1);
    nn_data_layout_free(&l);
    nn_dataset_free(&d);
    /* a file of one line has no header */
    read_ok(&d, &l, nn_test_put("one.csv", "1,2,c\n"), &s);
    ck_assert(!l.header);
    ck_assert_uint_eq(d.n, 1);
    nn_data_layout_free(&l);
    nn_dataset_free(&d);
}
END_TEST

START_TEST(test_csv_header_yes_and_no_are_obeyed)
{
    nn_csv_spec s = spec_label_index(0);
    nn_dataset d;
    nn_data_layout l;
    s.header = NN_HEADER_YES; /* numeric names are still a header */
    read_ok(&d, &l, nn_test_put("y.csv", "1,2\n3,4\n"), &s);
    ck_assert(l.header);
    ck_assert_str_eq(l.names[1], "2");
    ck_assert_uint_eq(d.n, 1);
    ck_assert_float_eq(X(&d, 0, 0), 4.0f);
    nn_data_layout_free(&l);
    nn_dataset_free(&d);
    s.header = NN_HEADER_NO; /* so the text line is data and fails */
    expect_read_error("x,y\n3,4\n", &s,
                      ":1: field 2 is not a number: \"y\" (a header line? set \"header\": true)");
}
END_TEST

START_TEST(test_csv_label_by_name_index_and_negative_index)
{
    const char *p = nn_test_put("c.csv", "a,b,c\n1,2,3\n4,5,6\n");
    long idx[] = {0, 1, 2, -1, -2, -3};
    long want_col[] = {0, 1, 2, 2, 1, 0};
    for (int k = 0; k < 7; k++) {
        nn_csv_spec s = k < 6 ? spec_label_index(idx[k]) : spec_label_name("b");
        long col = k < 6 ? want_col[k] : 1;
        nn_dataset d;
        nn_data_layout l;
        read_ok(&d, &l, p, &s);
        ck_assert_int_eq(l.label_col, col);
        ck_assert_uint_eq(d.n, 2);
        ck_assert_uint_eq(d.features, 2);
        ck_assert_int_eq(d.labels[0], col + 1);
        ck_assert_int_eq(d.labels[1], col + 4);
        /* the features are the other columns, in file order */
        ck_assert_float_eq(X(&d, 1, 0), col == 0 ? 5.0f : 4.0f);
        ck_assert_float_eq(X(&d, 1, 1), col == 2 ? 5.0f : 6.0f);
        nn_data_layout_free(&l);
        nn_dataset_free(&d);
    }
}
END_TEST

START_TEST(test_csv_integer_labels_are_their_values)
{
    nn_csv_spec s = spec_label_index(0);
    nn_dataset d;
    read_ok(&d, NULL, nn_test_put("i.csv", "label,x\n3,0.5\n0,1\n7,2\n3,3\n"), &s);
    ck_assert_uint_eq(d.n, 4);
    ck_assert_int_eq(d.n_classes, 8);
    ck_assert_ptr_null(d.class_names);
    ck_assert_int_eq(d.labels[0], 3);
    ck_assert_int_eq(d.labels[1], 0);
    ck_assert_int_eq(d.labels[2], 7);
    ck_assert_int_eq(d.labels[3], 3);
    ck_assert_uint_eq(d.features, 1);
    nn_dataset_free(&d);
    /* 65535 is still an integer label; 65536, -1 or 1.5 make them strings */
    read_ok(&d, NULL, nn_test_put("i.csv", "label,x\n65535,0\n0,1\n"), &s);
    ck_assert_int_eq(d.n_classes, 65536);
    ck_assert_ptr_null(d.class_names);
    nn_dataset_free(&d);
    read_ok(&d, NULL, nn_test_put("i.csv", "label,x\n65536,0\n7,1\n"), &s);
    ck_assert_int_eq(d.n_classes, 2);
    ck_assert_str_eq(d.class_names[0], "7"); /* numbers sort by value */
    ck_assert_str_eq(d.class_names[1], "65536");
    ck_assert_int_eq(d.labels[0], 1);
    nn_dataset_free(&d);
    read_ok(&d, NULL, nn_test_put("i.csv", "label,x\n1.5,0\n2,1\n"), &s);
    ck_assert_ptr_nonnull(d.class_names);
    nn_dataset_free(&d);
    read_ok(&d, NULL, nn_test_put("i.csv", "label,x\n-1,0\n2,1\n"), &s);
    ck_assert_ptr_nonnull(d.class_names);
    nn_dataset_free(&d);
}
END_TEST

START_TEST(test_csv_string_labels_map_to_sorted_classes)
{
    nn_csv_spec s = spec_label_name("species");
    nn_dataset d;
    read_ok(&d, NULL,
            nn_test_put("s.csv", "x,species\n1,virginica\n2,setosa\n3, versicolor \n4,virginica\n5,\"setosa\"\n"),
            &s);
    ck_assert_int_eq(d.n_classes, 3);
    ck_assert_str_eq(d.class_names[0], "setosa");
    ck_assert_str_eq(d.class_names[1], "versicolor");
    ck_assert_str_eq(d.class_names[2], "virginica");
    int want[] = {2, 0, 1, 2, 0};
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(d.labels[i], want[i]);
    nn_dataset_free(&d);
    /* byte order: upper case before lower case, "B" before "a" */
    read_ok(&d, NULL, nn_test_put("s.csv", "x,species\n1,a\n2,B\n3,\xc3\xa9\n4,b\n"), &s);
    ck_assert_str_eq(d.class_names[0], "B");
    ck_assert_str_eq(d.class_names[1], "a");
    ck_assert_str_eq(d.class_names[2], "b");
    ck_assert_str_eq(d.class_names[3], "\xc3\xa9");
    nn_dataset_free(&d);
}
END_TEST

START_TEST(test_csv_classes_from_a_checkpoint_are_looked_up)
{
    char *classes[] = {"virginica", "setosa", "versicolor"};
    nn_csv_spec s = spec_label_name("species");
    nn_dataset d;
    nn_error err = {0};
    ck_assert_int_eq(nn_csv_read(&d, NULL, nn_test_put("k.csv", "x,species\n1,setosa\n2,virginica\n"), &s,
                                 classes, 3, &err),
                     0);
    ck_assert_int_eq(d.n_classes, 3);
    ck_assert_int_eq(d.labels[0], 1);
    ck_assert_int_eq(d.labels[1], 0);
    ck_assert_str_eq(d.class_names[2], "versicolor");
    nn_dataset_free(&d);
    /* numbers are looked up as strings too */
    char *digits[] = {"0", "1"};
    s = spec_label_index(1);
    ck_assert_int_eq(nn_csv_read(&d, NULL, nn_test_put("k.csv", "x,y\n1,1\n2,0\n"), &s, digits, 2, &err),
                     0);
    ck_assert_int_eq(d.labels[0], 1);
    ck_assert_int_eq(d.labels[1], 0);
    ck_assert_str_eq(d.class_names[0], "0");
    nn_dataset_free(&d);
}
END_TEST

START_TEST(test_csv_rejects_label_not_seen_in_training)
{
    char *classes[] = {"setosa", "versicolor"};
    nn_csv_spec s = spec_label_name("species");
    expect_read_error_cls("x,species\n1,setosa\n2,virginica\n", &s, classes, 2,
                          ":3: label \"virginica\" was not seen in training");
}
END_TEST

START_TEST(test_csv_reads_regression_targets)
{
    nn_column t[] = {{.name = "y2"}, {.index = 0}};
    nn_csv_spec s = {.header = NN_HEADER_AUTO, .delimiter = ';', .n_targets = 2, .targets = t};
    nn_dataset d;
    nn_data_layout l;
    read_ok(&d, &l, nn_test_put("t.csv", "y1;a;y2;b\n0.5;1;-2e1;2\n1.25;3;7;4\n"), &s);
    ck_assert_uint_eq(d.n, 2);
    ck_assert_uint_eq(d.features, 2);
    ck_assert_int_eq(d.n_targets, 2);
    ck_assert_ptr_null(d.labels);
    ck_assert_int_eq(d.n_classes, 0);
    ck_assert_float_eq(d.targets[0], -20.0f);
    ck_assert_float_eq(d.targets[1], 0.5f);
    ck_assert_float_eq(d.targets[2], 7.0f);
    ck_assert_float_eq(d.targets[3], 1.25f);
    ck_assert_float_eq(X(&d, 0, 0), 1.0f);
    ck_assert_float_eq(X(&d, 1, 1), 4.0f);
    ck_assert_int_eq(l.label_col, -1);
    ck_assert_int_eq(l.n_targets, 2);
    ck_assert_int_eq(l.target_cols[0], 2);
    ck_assert_int_eq(l.target_cols[1], 0);
    nn_data_layout_free(&l);
    nn_dataset_free(&d);
}
END_TEST

START_TEST(test_csv_without_label_reads_every_column_as_a_feature)
{
    nn_csv_spec s = {.header = NN_HEADER_AUTO, .delimiter = NN_CSV_WHITESPACE};
    nn_dataset d;
    read_ok(&d, NULL, nn_test_put("w.txt", " 1  2\t3\n4 5 6 \n"), &s);
    ck_assert_uint_eq(d.n, 2);
    ck_assert_uint_eq(d.features, 3);
    ck_assert_ptr_null(d.labels);
    ck_assert_float_eq(X(&d, 1, 2), 6.0f);
    nn_dataset_free(&d);
}
END_TEST

/* --- the loader: errors ---------------------------------------------------- */

START_TEST(test_csv_rejects_ragged_row)
{
    nn_csv_spec s = spec_label_index(-1);
    expect_read_error("a,b,c,d,e\n1,2,3,4,5\n1,2,3,4,5\n1,2,3,4\n", &s,
                      ":4: expected 5 fields, found 4");
    expect_read_error("1,2,3\n1,2,3,4\n", &s, ":2: expected 3 fields, found 4");
    expect_read_error("a,b,c\n1,2\n", &s, ":2: expected 3 fields, found 2");
}
END_TEST

START_TEST(test_csv_rejects_non_numeric_feature)
{
    nn_csv_spec s = spec_label_index(-1);
    expect_read_error("sepal,petal_width,y\n1,2,0\n1,abc,1\n", &s,
                      ":3: field 2 (\"petal_width\") is not a number: \"abc\"");
    expect_read_error("1,2,0\n1,,1\n", &s,
                      ":2: field 2 is missing (\"\"): set \"missing\": \"drop\" to leave such rows "
                      "out, or \"mean\" to use the column's mean");
    expect_read_error("1,2,0\n1,\"1,5\",1\n", &s, ":2: field 2 is not a number: \"1,5\"");
}
END_TEST

START_TEST(test_csv_rejects_nan_and_infinite_values)
{
    nn_csv_spec s = spec_label_index(0);
    expect_read_error("0,1\n1,NaN\n", &s,
                      ":2: field 2 is missing (\"NaN\"): set \"missing\": \"drop\" to leave such "
                      "rows out, or \"mean\" to use the column's mean");
    expect_read_error("0,1\n1,-inf\n", &s, ":2: field 2 is not a finite number: \"-inf\"");
    expect_read_error("0,1\n1,1e999\n", &s, ":2: field 2 is not a finite number: \"1e999\"");
    expect_read_error("0,1\n1,1e300\n", &s,
                      ":2: field 2 is too large for a 32-bit float: \"1e300\"");
    nn_column t = {.index = 1};
    nn_csv_spec r = {.delimiter = ',', .n_targets = 1, .targets = &t};
    expect_read_error("a,y\n0,1\n1,nan\n", &r, ":3: field 2 (\"y\") is NaN");
}
END_TEST

START_TEST(test_csv_rejects_empty_file)
{
    nn_csv_spec s = spec_label_index(0);
    expect_read_error("", &s, ": empty file");
    expect_read_error("\xEF\xBB\xBF\n\n", &s, ": empty file");
}
END_TEST

START_TEST(test_csv_rejects_header_without_rows)
{
    nn_csv_spec s = spec_label_index(0);
    s.header = NN_HEADER_YES;
    expect_read_error("a,b\n", &s, ": header but no data rows");
}
END_TEST

START_TEST(test_csv_rejects_unknown_column_name)
{
    nn_csv_spec s = spec_label_name("species");
    expect_read_error("a,b,c\n1,2,3\n", &s,
                      ":1: no column \"species\" in the header (columns: a, b, c)");
    nn_column t = {.name = "z"};
    nn_csv_spec r = {.delimiter = ',', .header = NN_HEADER_YES, .n_targets = 1, .targets = &t};
    expect_read_error("a,b\n1,2\n", &r, ":1: no column \"z\" in the header (columns: a, b)");
}
END_TEST

START_TEST(test_csv_rejects_column_name_without_header)
{
    nn_csv_spec s = spec_label_name("species");
    expect_read_error("1,2,3\n4,5,6\n", &s,
                      ": label column \"species\" is given by name, but the file has no header line");
}
END_TEST

START_TEST(test_csv_rejects_duplicated_column_name_when_chosen)
{
    nn_csv_spec s = spec_label_name("a");
    expect_read_error("a,b,a\n1,2,3\n", &s,
                      ":1: column \"a\" appears more than once in the header (fields 1 and 3)");
    /* the duplicate is fine when not chosen */
    s = spec_label_name("b");
    nn_dataset d;
    read_ok(&d, NULL, nn_test_put("dup.csv", "a,b,a\n1,2,3\n"), &s);
    ck_assert_uint_eq(d.features, 2);
    nn_dataset_free(&d);
}
END_TEST

START_TEST(test_csv_rejects_column_index_out_of_range)
{
    nn_csv_spec s = spec_label_index(7);
    expect_read_error("1,2,3,4,5\n", &s, ": label column 7 does not exist (rows have 5 fields)");
    s = spec_label_index(-6);
    expect_read_error("1,2,3,4,5\n", &s, ": label column -6 does not exist (rows have 5 fields)");
    nn_column t = {.index = 5};
    nn_csv_spec r = {.delimiter = ',', .n_targets = 1, .targets = &t};
    expect_read_error("1,2,3,4,5\n", &r, ": target column 5 does not exist (rows have 5 fields)");
}
END_TEST

START_TEST(test_csv_rejects_column_chosen_twice_and_no_features)
{
    nn_column t[] = {{.index = 1}, {.index = -1}};
    nn_csv_spec s = spec_label_index(0);
    s.n_targets = 2;
    s.targets = t;
    expect_read_error("1,2\n", &s, ": column -1 is chosen twice (as the label or a target)");
    s.n_targets = 1;
    expect_read_error("1,2\n", &s, ": no feature columns (every column is the label or a target)");
}
END_TEST

START_TEST(test_csv_rejects_empty_label)
{
    nn_csv_spec s = spec_label_name("y");
    expect_read_error("x,y\n1,a\n2, \n", &s,
                      ":3: field 2 (\"y\") is missing (\" \"): set \"missing\": \"drop\" to leave "
                      "such rows out");
}
END_TEST

START_TEST(test_csv_rejects_more_than_65536_labels)
{
    size_t cap = 70000 * 16, n = 0;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    size_t last = 0;
    n += (size_t)snprintf(buf, cap, "x,y\n");
    for (int i = 0; i < 65537; i++) {
        last = n;
        n += (size_t)snprintf(buf + n, cap - n, "1,c%d\n", i);
    }
    nn_csv_spec s = spec_label_name("y");
    expect_read_error(buf, &s, ":65538: more than 65536 distinct labels");
    /* 65536 distinct labels are fine */
    buf[last] = '\0';
    nn_dataset d;
    read_ok(&d, NULL, nn_test_put("many.csv", buf), &s);
    ck_assert_int_eq(d.n_classes, 65536);
    nn_dataset_free(&d);
    free(buf);
}
END_TEST

START_TEST(test_csv_reader_errors_reach_the_loader)
{
    nn_csv_spec s = spec_label_index(0);
    expect_read_error("1,2\n\"3,4\n", &s, ":2: unterminated quoted field");
    expect_read_error("1,2\n\n3,4\n", &s, ":2: blank line inside the data");
}
END_TEST

Suite *csv_suite(void)
{
    Suite *s = suite_create("csv");
    TCase *t = tcase_create("csv");
    tcase_add_checked_fixture(t, nn_test_dir_fresh, NULL);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_csv_splits_simple_records);
    tcase_add_test(t, test_csv_unquotes_fields_with_doubled_quotes_delimiters_and_newlines);
    tcase_add_test(t, test_csv_counts_lines_inside_quoted_fields);
    tcase_add_test(t, test_csv_accepts_crlf_line_ends);
    tcase_add_test(t, test_csv_skips_utf8_bom);
    tcase_add_test(t, test_csv_accepts_missing_final_newline);
    tcase_add_test(t, test_csv_skips_blank_trailing_lines);
    tcase_add_test(t, test_csv_rejects_blank_line_inside_data);
    tcase_add_test(t, test_csv_whitespace_delimiter_takes_runs_of_spaces_and_tabs);
    tcase_add_test(t, test_csv_semicolon_tab_and_pipe_delimiters);
    tcase_add_test(t, test_csv_rejects_bad_delimiter);
    tcase_add_test(t, test_csv_rejects_missing_file);
    tcase_add_test(t, test_csv_rejects_unterminated_quote);
    tcase_add_test(t, test_csv_rejects_text_after_closing_quote);
    tcase_add_test(t, test_csv_rejects_nul_byte);
    tcase_add_test(t, test_csv_rejects_line_over_limit);
    tcase_add_test(t, test_csv_rejects_too_many_fields);
    tcase_add_test(t, test_csv_reads_gzip_input);
    tcase_add_test(t, test_csv_reads_from_an_open_reader);
    tcase_add_test(t, test_csv_reads_stdin_and_names_it);
    tcase_add_test(t, test_csv_pending_is_zero_after_the_last_record);
    tcase_add_test(t, test_csv_records_across_chunk_boundaries_match_small_files);
    tcase_add_test(t, test_csv_parse_number_accepts_decimal_forms);
    tcase_add_test(t, test_csv_parse_number_rounds_correctly);
    tcase_add_test(t, test_csv_parse_number_rejects_non_numbers);
    tcase_add_test(t, test_csv_numbers_ignore_the_locale);
    tcase_add_test(t, test_csv_reads_features_labels_and_layout);
    tcase_add_test(t, test_csv_header_auto_detects_a_header);
    tcase_add_test(t, test_csv_header_auto_detects_no_header);
    tcase_add_test(t, test_csv_header_yes_and_no_are_obeyed);
    tcase_add_test(t, test_csv_label_by_name_index_and_negative_index);
    tcase_add_test(t, test_csv_integer_labels_are_their_values);
    tcase_add_test(t, test_csv_string_labels_map_to_sorted_classes);
    tcase_add_test(t, test_csv_classes_from_a_checkpoint_are_looked_up);
    tcase_add_test(t, test_csv_rejects_label_not_seen_in_training);
    tcase_add_test(t, test_csv_reads_regression_targets);
    tcase_add_test(t, test_csv_without_label_reads_every_column_as_a_feature);
    tcase_add_test(t, test_csv_rejects_ragged_row);
    tcase_add_test(t, test_csv_rejects_non_numeric_feature);
    tcase_add_test(t, test_csv_rejects_nan_and_infinite_values);
    tcase_add_test(t, test_csv_rejects_empty_file);
    tcase_add_test(t, test_csv_rejects_header_without_rows);
    tcase_add_test(t, test_csv_rejects_unknown_column_name);
    tcase_add_test(t, test_csv_rejects_column_name_without_header);
    tcase_add_test(t, test_csv_rejects_duplicated_column_name_when_chosen);
    tcase_add_test(t, test_csv_rejects_column_index_out_of_range);
    tcase_add_test(t, test_csv_rejects_column_chosen_twice_and_no_features);
    tcase_add_test(t, test_csv_rejects_empty_label);
    tcase_add_test(t, test_csv_rejects_more_than_65536_labels);
    tcase_add_test(t, test_csv_reader_errors_reach_the_loader);
    suite_add_tcase(s, t);
    return s;
}
