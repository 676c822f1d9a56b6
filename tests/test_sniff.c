/* test_sniff.c - the CSV sniffer behind --init: each file shape (a count
 * line, no header, a named header, numeric headers, whitespace, tab and ';'
 * delimiters, quoted fields holding the delimiter, comments, gzip), the
 * label kinds (0..K-1, 1..K, text, regression targets), missing values,
 * --label by name and index, and each error with its message and code.
 * The files are generated here. */
#include "tests.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data/csv.h"
#include "data/sniff.h"

/* --- generated files ----------------------------------------------------- */

typedef struct {
    char *text;
    size_t n;
    FILE *f;
    unsigned long long rng;
} gen;

static void gen_start(gen *g)
{
    g->text = NULL;
    g->f = open_memstream(&g->text, &g->n);
    ck_assert_ptr_nonnull(g->f);
    g->rng = 88172645463325252ull;
}

static void put(gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(gen *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(g->f, fmt, ap);
    va_end(ap);
}

/* A number in [0, 1) from a xorshift generator. */
static double uni(gen *g)
{
    g->rng ^= g->rng << 13;
    g->rng ^= g->rng >> 7;
    g->rng ^= g->rng << 17;
    return (double)(g->rng >> 11) / 9007199254740992.0;
}

/* `rows` lines of `nfeat` features "x.yz" then the label label_of(i),
 * separated by sep. */
static void rows(gen *g, int n, int nfeat, const char *sep, const char *(*label_of)(int, char *))
{
    char buf[64];
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < nfeat; j++)
            put(g, "%.2f%s", uni(g) * 10, sep);
        put(g, "%s\n", label_of(i, buf));
    }
}

static const char *put_file(gen *g, const char *name)
{
    ck_assert_int_eq(fclose(g->f), 0);
    const char *p = nn_test_put(name, g->text);
    free(g->text);
    return p;
}

static const char *mod3(int i, char *b) { snprintf(b, 64, "%d", i % 3); return b; }
static const char *mod2(int i, char *b) { snprintf(b, 64, "%d", i % 2); return b; }
static const char *one_to_four(int i, char *b) { snprintf(b, 64, "%d", 1 + i % 4); return b; }
static const char *fruit(int i, char *b) { return strcpy(b, i % 3 == 0 ? "pear" : i % 3 == 1 ? "apple" : "fig"); }
static const char *real(int i, char *b) { snprintf(b, 64, "%.3f", i * 0.37 - 4); return b; }
static const char *many_ints(int i, char *b) { snprintf(b, 64, "%d", 100 + i); return b; }
static const char *same(int i, char *b) { (void)i; return strcpy(b, "7"); }

static void sniff_ok(nn_sniff *s, const char *path, const char *label)
{
    nn_error err = {0};
    int rc = nn_sniff_csv(s, path, label, &err);
    ck_assert_msg(rc == 0, "sniff failed: %s", err.msg);
}

static void sniff_fails(const char *path, const char *label, int code, const char *msg)
{
    nn_error err = {0};
    nn_sniff s;
    ck_assert_int_eq(nn_sniff_csv(&s, path, label, &err), -1);
    ck_assert_int_eq(err.code, code);
    ck_assert_msg(strstr(err.msg, msg), "message '%s' lacks '%s'", err.msg, msg);
    ck_assert_int_eq(s.n_notes, 0);
}

static bool has_note(const nn_sniff *s, const char *text)
{
    for (int i = 0; i < s->n_notes; i++)
        if (strstr(s->notes[i], text))
            return true;
    return false;
}

/* --- shapes ------------------------------------------------------------ */

START_TEST(test_sniff_count_line_with_class_names)
{
    gen g;
    gen_start(&g);
    put(&g, "60,4,setosa,versicolor,virginica\n");
    rows(&g, 60, 4, ",", mod3);
    nn_sniff s;
    sniff_ok(&s, put_file(&g, "iris.csv"), NULL);
    ck_assert_int_eq(s.delimiter, ',');
    ck_assert_int_eq(s.skip_lines, 1);
    ck_assert(!s.header);
    ck_assert_uint_eq(s.ncols, 5);
    ck_assert_uint_eq(s.label_col, 4);
    ck_assert_uint_eq(s.rows, 60);
    ck_assert(!s.regression);
    ck_assert_int_eq(s.n_classes, 3);
    ck_assert(s.int_labels);
    ck_assert_ptr_null(s.classes); /* the labels are 0..2, not the names */
    ck_assert_str_eq(s.label_names[0], "setosa");
    ck_assert_str_eq(s.label_names[2], "virginica");
    ck_assert_str_eq(s.missing, "error");
    ck_assert(has_note(&s, "line 1 is a count line (60 rows, 4 features, then class names)"));
    ck_assert(has_note(&s, "holds integers 0..2, which the count line names (0 setosa, 1 "
                           "versicolor, 2 virginica): classification with 3 classes"));
    nn_sniff_free(&s);
}
END_TEST

/* breast_cancer.csv's count line has fewer fields than the rows */
START_TEST(test_sniff_short_count_line)
{
    gen g;
    gen_start(&g);
    put(&g, "40,6,malignant,benign\n");
    rows(&g, 40, 6, ",", mod2);
    nn_sniff s;
    sniff_ok(&s, put_file(&g, "bc.csv"), NULL);
    ck_assert_int_eq(s.skip_lines, 1);
    ck_assert_uint_eq(s.ncols, 7);
    ck_assert_int_eq(s.n_classes, 2);
    ck_assert_str_eq(s.label_names[0], "malignant");
    ck_assert_str_eq(s.label_names[1], "benign");
    nn_sniff_free(&s);
}
END_TEST

/* a first line of two integers that do not count the rows is data */
START_TEST(test_sniff_integers_that_do_not_count_are_data)
{
    gen g;
    gen_start(&g);
    put(&g, "5,3,0\n");
    for (int i = 0; i < 30; i++)
        put(&g, "%d,%d,%d\n", i % 7, i % 5, i % 2);
    nn_sniff s;
    sniff_ok(&s, put_file(&g, "ints.csv"), NULL);
    ck_assert_int_eq(s.skip_lines, 0);
    ck_assert(!s.header);
    ck_assert_uint_eq(s.rows, 31);
    ck_assert(has_note(&s, "no header (\"header\": false)"));
    nn_sniff_free(&s);
}
END_TEST

START_TEST(test_sniff_no_header_labels_one_to_k)
{
    gen g;
    gen_start(&g);
    rows(&g, 40, 3, ",", one_to_four);
    nn_sniff s;
    sniff_ok(&s, put_file(&g, "nohdr.csv"), NULL);
    ck_assert(!s.header);
    ck_assert_ptr_null(s.names);
    ck_assert(s.int_labels);
    ck_assert_int_eq(s.n_classes, 4);
    ck_assert_ptr_null(s.classes);
    ck_assert(s.label_min == 1 && s.label_max == 4);
    ck_assert(has_note(&s, "4 distinct integers (1 to 4)"));
    nn_sniff_free(&s);
}
END_TEST

START_TEST(test_sniff_named_header_quoted_text_labels)
{
    gen g;
    gen_start(&g);
    put(&g, "width,\"height, cm\",kind\n");
    for (int i = 0; i < 30; i++)
        put(&g, "%d.5,%d,%s\n", i, i * 2, i % 2 ? "\"red, dark\"" : "blue");
    nn_sniff s;
    sniff_ok(&s, put_file(&g, "q.csv"), NULL);
    ck_assert_int_eq(s.delimiter, ',');
    ck_assert(s.header);
    ck_assert_uint_eq(s.ncols, 3);
    ck_assert_str_eq(s.names[1], "height, cm");
    ck_assert_str_eq(s.names[2], "kind");
    ck_assert_int_eq(s.n_classes, 2);
    ck_assert_str_eq(s.classes[0], "blue");
    ck_assert_str_eq(s.classes[1], "red, dark");
    ck_assert(has_note(&s, "field 1 (\"width\") is not a number"));
    nn_sniff_free(&s);
}
END_TEST

START_TEST(test_sniff_numeric_header_counting_columns)
{
    gen g;
    gen_start(&g);
    put(&g, "0,1,2,3\n");
    rows(&g, 30, 3, ",", mod3);
    nn_sniff s;
    sniff_ok(&s, put_file(&g, "num.csv"), NULL);
    ck_assert(s.header);
    ck_assert_str_eq(s.names[3], "3");
    ck_assert_uint_eq(s.rows, 30);
    ck_assert(has_note(&s, "its fields number the columns 0..3"));
    nn_sniff_free(&s);
}
END_TEST

START_TEST(test_sniff_numeric_header_over_decimal_columns)
{
    gen g;
    gen_start(&g);
    put(&g, "17,4,99,5\n");
    rows(&g, 30, 3, ",", mod3);
    nn_sniff s;
    sniff_ok(&s, put_file(&g, "num2.csv"), NULL);
    ck_assert(s.header);
    ck_assert(has_note(&s, "distinct integers over 3 of 4 columns"));
    nn_sniff_free(&s);
}
END_TEST

/* integer data (digits-like): the first row is data */
START_TEST(test_sniff_integer_rows_have_no_header)
{
    gen g;
    gen_start(&g);
    for (int i = 0; i < 40; i++)
        put(&g, "%d,%d,%d,%d\n", (i * 7) % 16, (i * 3) % 16, i % 11, i % 10);
    nn_sniff s;
    sniff_ok(&s, put_file(&g, "digits.csv"), NULL);
    ck_assert(!s.header);
    ck_assert_int_eq(s.n_classes, 10);
    nn_sniff_free(&s);
}
END_TEST

START_TEST(test_sniff_whitespace_regression)
{
    gen g;
    gen_start(&g);
    for (int i = 0; i < 30; i++)
        put(&g, "  %d   %d.25 %d    %.3e\n", i, i % 4, i * 3, i * 1.5 + 0.1);
    nn_sniff s;
    sniff_ok(&s, put_file(&g, "ws.txt"), NULL);
    ck_assert_int_eq(s.delimiter, NN_CSV_WHITESPACE);
    ck_assert_str_eq(nn_sniff_delimiter_name(s.delimiter), "whitespace");
    ck_assert_uint_eq(s.ncols, 4);
    ck_assert(s.regression);
    ck_assert(s.label_min > 0.09 && s.label_min < 0.11);
    ck_assert(has_note(&s, "regression on that column"));
    nn_sniff_free(&s);
}
END_TEST

START_TEST(test_sniff_tab_and_semicolon)
{
    gen g;
    gen_start(&g);
    put(&g, "a b\tc d\ty\n");
    rows(&g, 20, 2, "\t", mod2);
    nn_sniff s;
    sniff_ok(&s, put_file(&g, "t.tsv"), NULL);
    ck_assert_int_eq(s.delimiter, '\t');
    ck_assert(s.header);
    ck_assert_str_eq(s.names[0], "a b");
    nn_sniff_free(&s);

    gen_start(&g);
    put(&g, "x;y;label\n");
    rows(&g, 20, 2, ";", fruit);
    sniff_ok(&s, put_file(&g, "s.csv"), NULL);
    ck_assert_int_eq(s.delimiter, ';');
    ck_assert_int_eq(s.n_classes, 3);
    ck_assert_str_eq(s.classes[0], "apple");
    ck_assert(has_note(&s, "delimiter ';'"));
    nn_sniff_free(&s);
}
END_TEST

START_TEST(test_sniff_real_labels_and_many_integers_are_regression)
{
    gen g;
    gen_start(&g);
    rows(&g, 30, 2, ",", real);
    nn_sniff s;
    sniff_ok(&s, put_file(&g, "r.csv"), NULL);
    ck_assert(s.regression);
    ck_assert(s.label_min == -4);
    nn_sniff_free(&s);

    gen_start(&g);
    rows(&g, 50, 2, ",", many_ints);
    sniff_ok(&s, put_file(&g, "r2.csv"), NULL);
    ck_assert(s.regression);
    ck_assert(has_note(&s, "50 distinct integers (100 to 149), too many for classes"));
    nn_sniff_free(&s);
}
END_TEST

START_TEST(test_sniff_missing_values)
{
    gen g;
    gen_start(&g);
    put(&g, "a,b,y\n");
    for (int i = 0; i < 30; i++)
        put(&g, "%s,%s,%d\n", i == 3 ? "NA" : "1.5", i == 5 ? "" : i == 9 ? " ? " : "2", i % 2);
    nn_sniff s;
    sniff_ok(&s, put_file(&g, "m.csv"), NULL);
    ck_assert_uint_eq(s.missing_features, 3);
    ck_assert_uint_eq(s.missing_rows, 3);
    ck_assert_uint_eq(s.missing_labels, 0);
    ck_assert_str_eq(s.missing, "mean");
    ck_assert(has_note(&s, "3 missing feature values"));
    nn_sniff_free(&s);

    gen_start(&g);
    put(&g, "a,b,y\n");
    for (int i = 0; i < 30; i++)
        put(&g, "1.5,2,%s\n", i == 4 ? "null" : i % 2 ? "x" : "z");
    sniff_ok(&s, put_file(&g, "m2.csv"), NULL);
    ck_assert_uint_eq(s.missing_labels, 1);
    ck_assert_str_eq(s.missing, "drop");
    ck_assert_int_eq(s.n_classes, 2); /* "null" is no class */
    nn_sniff_free(&s);
}
END_TEST

START_TEST(test_sniff_gzip_and_comments)
{
    gen g;
    gen_start(&g);
    put(&g, "# made by a test\n# two comment lines\n30,2,no,yes\n");
    for (int i = 0; i < 30; i++)
        put(&g, "%s%d.5,%d.25,%d\n", i == 10 ? "# in the middle\n" : "", i, i % 3, i % 2);
    ck_assert_int_eq(fclose(g.f), 0);
    const char *path = nn_test_path("c.csv.gz");
    gzFile z = gzopen(path, "wb");
    ck_assert_ptr_nonnull(z);
    ck_assert_int_eq(gzwrite(z, g.text, (unsigned)g.n), (int)g.n);
    ck_assert_int_eq(gzclose(z), Z_OK);
    free(g.text);
    nn_sniff s;
    sniff_ok(&s, path, NULL);
    ck_assert_int_eq(s.comment, '#');
    ck_assert_int_eq(s.skip_lines, 3);
    ck_assert_uint_eq(s.rows, 30);
    ck_assert_str_eq(s.label_names[1], "yes");
    ck_assert(has_note(&s, "lines starting with '#' are comments"));
    nn_sniff_free(&s);
}
END_TEST

START_TEST(test_sniff_label_option)
{
    gen g;
    gen_start(&g);
    put(&g, "kind,a,b\n");
    for (int i = 0; i < 20; i++)
        put(&g, "%s,%d.5,%d\n", i % 2 ? "cat" : "dog", i, i * 3);
    const char *p = put_file(&g, "l.csv");
    nn_sniff s;
    sniff_ok(&s, p, "kind");
    ck_assert_uint_eq(s.label_col, 0);
    ck_assert_int_eq(s.n_classes, 2);
    ck_assert(has_note(&s, "(--label)"));
    nn_sniff_free(&s);
    sniff_ok(&s, p, "0");
    ck_assert_uint_eq(s.label_col, 0);
    nn_sniff_free(&s);
    sniff_ok(&s, p, "-3");
    ck_assert_uint_eq(s.label_col, 0);
    nn_sniff_free(&s);
    sniff_fails(p, "species", NN_EXIT_USAGE,
                "--label species: ");
    sniff_fails(p, "species", NN_EXIT_USAGE,
                "has no such column (columns: 0 \"kind\", 1 \"a\", 2 \"b\")");
    sniff_fails(p, "3", NN_EXIT_USAGE, "has no such column");
    /* the text column as a feature */
    sniff_fails(p, "b", NN_EXIT_RUNTIME,
                "l.csv:2: field 1 (\"kind\") is not a number: \"dog\"; features must be numbers");
}
END_TEST

/* --- errors ------------------------------------------------------------ */

START_TEST(test_sniff_errors)
{
    sniff_fails(nn_test_path("none.csv"), NULL, NN_EXIT_RUNTIME,
                "none.csv: No such file or directory");
    sniff_fails(nn_test_put("empty.csv", ""), NULL, NN_EXIT_RUNTIME, "empty.csv: empty file");
    gen g;
    gen_start(&g);
    for (int i = 0; i < 20; i++)
        put(&g, "%d.5\n", i);
    sniff_fails(put_file(&g, "one.csv"), NULL, NN_EXIT_RUNTIME, "one.csv: one column only");
    gen_start(&g);
    rows(&g, 20, 2, ",", same);
    sniff_fails(put_file(&g, "same.csv"), NULL, NN_EXIT_RUNTIME,
                "the label column 3 holds one value only (\"7\")");
    gen_start(&g);
    rows(&g, 5, 2, ",", mod2);
    sniff_fails(put_file(&g, "few.csv"), NULL, NN_EXIT_RUNTIME,
                "few.csv: 5 data rows: --init needs at least 10");
    gen_start(&g);
    rows(&g, 20, 2, ",", mod2);
    put(&g, "1,2\n");
    sniff_fails(put_file(&g, "ragged.csv"), NULL, NN_EXIT_RUNTIME,
                "ragged.csv:21: expected 3 fields, found 2");
    sniff_fails("-", NULL, NN_EXIT_USAGE, "--init needs a file, not stdin");
}
END_TEST

Suite *sniff_suite(void)
{
    Suite *s = suite_create("sniff");
    TCase *t = tcase_create("sniff");
    tcase_add_checked_fixture(t, nn_test_dir_fresh, NULL);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_sniff_count_line_with_class_names);
    tcase_add_test(t, test_sniff_short_count_line);
    tcase_add_test(t, test_sniff_integers_that_do_not_count_are_data);
    tcase_add_test(t, test_sniff_no_header_labels_one_to_k);
    tcase_add_test(t, test_sniff_named_header_quoted_text_labels);
    tcase_add_test(t, test_sniff_numeric_header_counting_columns);
    tcase_add_test(t, test_sniff_numeric_header_over_decimal_columns);
    tcase_add_test(t, test_sniff_integer_rows_have_no_header);
    tcase_add_test(t, test_sniff_whitespace_regression);
    tcase_add_test(t, test_sniff_tab_and_semicolon);
    tcase_add_test(t, test_sniff_real_labels_and_many_integers_are_regression);
    tcase_add_test(t, test_sniff_missing_values);
    tcase_add_test(t, test_sniff_gzip_and_comments);
    tcase_add_test(t, test_sniff_label_option);
    tcase_add_test(t, test_sniff_errors);
    suite_add_tcase(s, t);
    return s;
}
