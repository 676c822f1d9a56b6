/* test_csv_options.c - the CSV reading options of a source (skip_lines,
 * comment, na_values, missing), the header rule of "auto" with numeric
 * headers, and how labels become classes (indices, 1..K, negative integers,
 * numeric order, strings, a classes list), with the errors' full text. */
#include "tests.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/csv.h"
#include "data/dataset.h"

static nn_csv_spec spec(void)
{
    nn_csv_spec s = {.header = NN_HEADER_AUTO, .delimiter = ',', .has_label = true};
    s.label.index = -1;
    return s;
}

/* Reads text with spec s and `units` output units; info into *info. */
static int load(nn_dataset *d, const char *text, const nn_csv_spec *s, int units,
                nn_csv_info *info, nn_error *err)
{
    const char *p = nn_test_put("o.csv", text);
    nn_csv_opts o = {NULL, 0, units, false, info};
    return nn_csv_read_opts(d, NULL, p, s, &o, err);
}

static void load_ok(nn_dataset *d, const char *text, const nn_csv_spec *s, int units,
                    nn_csv_info *info)
{
    nn_error err = {0};
    ck_assert_msg(load(d, text, s, units, info, &err) == 0, "%s", err.msg);
}

/* The error is "PATH" + msg, code 1. */
static void load_fails(const char *text, const nn_csv_spec *s, int units, const char *msg)
{
    nn_dataset d;
    nn_error err = {0};
    ck_assert_int_eq(load(&d, text, s, units, NULL, &err), -1);
    ck_assert_int_eq(err.code, 1);
    char want[1024];
    snprintf(want, sizeof want, "%s%s", nn_test_path("o.csv"), msg);
    ck_assert_str_eq(err.msg, want);
}

static float X(const nn_dataset *d, size_t r, size_t i)
{
    ck_assert_uint_lt(r, d->n);
    return ((const float *)d->x)[r * d->features + i];
}

START_TEST(test_skip_lines_and_comments)
{
    nn_csv_spec s = spec();
    s.skip_lines = 2;
    nn_dataset d;
    nn_csv_info info;
    /* the skipped lines may hold anything, an open quote too */
    load_ok(&d, "150,4,a,\"b\nmore\n1.5,0\n2.5,1\n", &s, 2, &info);
    ck_assert_uint_eq(d.n, 2);
    ck_assert_float_eq(X(&d, 0, 0), 1.5f);
    ck_assert(!info.header);
    nn_dataset_free(&d);

    s = spec();
    s.comment = '#';
    load_ok(&d, "# title\nx,y\n# inside\n1.5,0\n#\n2.5,1\n", &s, 2, &info);
    ck_assert_uint_eq(d.n, 2);
    ck_assert(info.header);
    ck_assert_float_eq(X(&d, 1, 0), 2.5f);
    nn_dataset_free(&d);
    /* a line number still counts the skipped and commented lines */
    load_fails("# title\n1.5,0\n# x\nabc,1\n", &s, 2, ":4: field 1 is not a number: \"abc\"");
}
END_TEST

START_TEST(test_missing_values)
{
    nn_csv_spec s = spec();
    nn_dataset d;
    nn_csv_info info;
    const char *text = "a,b,y\n1,2,0\nNA,4,1\n5, ? ,1\n7,8,\n9,10,0\n";
    load_fails(text, &s, 2,
               ":3: field 1 (\"a\") is missing (\"NA\"): set \"missing\": \"drop\" to leave such "
               "rows out, or \"mean\" to use the column's mean");
    s.missing = NN_MISSING_DROP;
    load_ok(&d, text, &s, 2, &info);
    ck_assert_uint_eq(d.n, 2);
    ck_assert_uint_eq(info.dropped, 3);
    ck_assert_float_eq(X(&d, 1, 0), 9.0f);
    nn_dataset_free(&d);

    s.missing = NN_MISSING_MEAN;
    load_ok(&d, text, &s, 2, &info);
    ck_assert_uint_eq(d.n, 4); /* the row without a label is left out */
    ck_assert_uint_eq(info.dropped, 1);
    ck_assert_uint_eq(info.missing_fields, 2);
    ck_assert(isnan(X(&d, 1, 0)) && isnan(X(&d, 2, 1)));
    /* means over rows 0 and 3 only (as the training rows), then filled */
    uint32_t idx[2] = {0, 3};
    float means[2];
    ck_assert_int_eq(nn_dataset_column_means(&d, idx, 2, means), 0);
    ck_assert_float_eq(means[0], 5.0f); /* (1 + 9) / 2 */
    ck_assert_float_eq(means[1], 6.0f); /* (2 + 10) / 2 */
    ck_assert_uint_eq(nn_dataset_fill_missing(&d, means), 2);
    ck_assert_float_eq(X(&d, 1, 0), 5.0f);
    ck_assert_float_eq(X(&d, 2, 1), 6.0f);
    nn_dataset_free(&d);

    /* na_values replace the defaults: "-999" is missing, "NA" is text */
    char *na[] = {"-999"};
    s = spec();
    s.has_na = true;
    s.na_values = na;
    s.n_na = 1;
    s.missing = NN_MISSING_DROP;
    load_ok(&d, "1,0\n-999,1\n3,1\n", &s, 2, &info);
    ck_assert_uint_eq(d.n, 2);
    nn_dataset_free(&d);
    load_fails("1,0\nNA,1\n", &s, 2, ":2: field 1 is not a number: \"NA\"");
    /* every row dropped */
    load_fails("-999,0\n-999,1\n", &s, 2, ": no rows left: each of the 2 rows has a missing value");
}
END_TEST

START_TEST(test_header_rules)
{
    nn_csv_spec s = spec();
    nn_dataset d;
    nn_csv_info info;
    /* text above numbers */
    load_ok(&d, "x,species\n1.5,a\n2.5,b\n", &s, 2, &info);
    ck_assert(info.header_auto && info.header);
    ck_assert_str_eq(info.header_why, "field 1 \"x\" is not a number");
    nn_dataset_free(&d);
    /* every field a number */
    load_ok(&d, "1.5,0\n2.5,1\n", &s, 2, &info);
    ck_assert(!info.header);
    ck_assert_str_eq(info.header_why, "every field is a number");
    ck_assert_uint_eq(d.n, 2);
    nn_dataset_free(&d);
    /* names that count the columns, five or more */
    load_ok(&d, "1,2,3,4,5\n1,1,1,1,0\n2,2,2,2,1\n", &s, 2, &info);
    ck_assert(info.header);
    ck_assert_str_eq(info.header_why, "its fields 1..5 count the columns");
    ck_assert_uint_eq(d.n, 2);
    nn_dataset_free(&d);
    /* ... after an index column's empty name */
    load_ok(&d, ",0,1,2,3\n0,1,1,1,0\n1,2,2,2,1\n", &s, 2, &info);
    ck_assert(info.header);
    nn_dataset_free(&d);
    /* three columns counting over whole numbers: data; over fractions: a header */
    load_ok(&d, "0,1,2\n3,4,1\n5,6,0\n", &s, 3, &info);
    ck_assert(!info.header);
    ck_assert_uint_eq(d.n, 3);
    nn_dataset_free(&d);
    load_ok(&d, "0,1,2\n3.5,4,1\n5,6,0\n", &s, 2, &info);
    ck_assert(info.header);
    nn_dataset_free(&d);
    /* a whole number above a column of fractions */
    load_ok(&d, "7,3\n5.1,1\n4.9,0\n6.2,1\n", &s, 2, &info);
    ck_assert(info.header);
    ck_assert_str_eq(info.header_why, "field 1 \"7\" is a whole number above 3 rows of fractions");
    nn_dataset_free(&d);
    /* ... but one whole number in the column keeps the line as data */
    load_ok(&d, "7,3\n5.1,1\n5,0\n6.2,1\n", &s, 4, &info);
    ck_assert(!info.header);
    ck_assert_uint_eq(d.n, 4);
    nn_dataset_free(&d);
    /* a header not recognised, and refused with a hint */
    s.header = NN_HEADER_NO;
    load_fails("sepal length,y\n1.5,0\n", &s, 2,
               ":1: field 1 is not a number: \"sepal length\" (a header line? set \"header\": true)");
}
END_TEST

START_TEST(test_labels_indices_and_mapped)
{
    nn_csv_spec s = spec();
    nn_dataset d;
    /* 0..K-1 are classes, a class may be absent */
    load_ok(&d, "1,0\n2,2\n", &s, 3, NULL);
    ck_assert_ptr_null(d.class_names);
    ck_assert_int_eq(d.labels[1], 2);
    nn_dataset_free(&d);
    /* 1..3 with three units: classes 0..2 named "1".."3" */
    load_ok(&d, "1,1\n2,3\n3,2\n", &s, 3, NULL);
    ck_assert_int_eq(d.n_classes, 3);
    ck_assert_str_eq(d.class_names[0], "1");
    ck_assert_str_eq(d.class_names[2], "3");
    ck_assert_int_eq(d.labels[1], 2);
    ck_assert_int_eq(d.labels[2], 1);
    nn_dataset_free(&d);
    /* but 1..3 with four units are indices (class 0 absent) */
    load_ok(&d, "1,1\n2,3\n3,2\n", &s, 4, NULL);
    ck_assert_ptr_null(d.class_names);
    ck_assert_int_eq(d.labels[1], 3);
    nn_dataset_free(&d);
    /* negative integers and numeric order; equal values are one class */
    load_ok(&d, "1,10\n2,-1\n3,2\n4,2.0\n", &s, 3, NULL);
    ck_assert_int_eq(d.n_classes, 3);
    ck_assert_str_eq(d.class_names[0], "-1");
    ck_assert_str_eq(d.class_names[1], "2");
    ck_assert_str_eq(d.class_names[2], "10");
    ck_assert_int_eq(d.labels[0], 2);
    ck_assert_int_eq(d.labels[3], 1);
    nn_dataset_free(&d);
    /* one unit: two values sorted */
    load_ok(&d, "1,M\n2,B\n", &s, 1, NULL);
    ck_assert_str_eq(d.class_names[0], "B");
    ck_assert_int_eq(d.labels[0], 1);
    nn_dataset_free(&d);
    load_ok(&d, "1,0\n2,1\n", &s, 1, NULL);
    ck_assert_ptr_null(d.class_names);
    nn_dataset_free(&d);
    /* too many */
    load_fails("1,a\n2,b\n3,c\n", &s, 1,
               ":3: label \"c\" does not fit the output layer's single unit (two classes) (the "
               "file has 3 distinct labels: a, b, c): give the output layer 3 units");
    load_fails("1,1\n2,2\n3,3\n4,4\n", &s, 3,
               ":4: label \"4\" does not fit the output layer's 3 units (the file has 4 distinct "
               "labels: 1, 2, 3, 4): give the output layer 4 units; labels 1..4 are read as "
               "classes 0..3");
}
END_TEST

START_TEST(test_labels_class_list)
{
    nn_csv_spec s = spec();
    char *cls[] = {"z", "a", "m"};
    s.class_list = cls;
    s.n_class_list = 3;
    nn_dataset d;
    load_ok(&d, "1,a\n2, z \n3,m\n", &s, 3, NULL);
    ck_assert_int_eq(d.n_classes, 3);
    ck_assert_int_eq(d.labels[0], 1);
    ck_assert_int_eq(d.labels[1], 0);
    ck_assert_int_eq(d.labels[2], 2);
    ck_assert_str_eq(d.class_names[0], "z");
    nn_dataset_free(&d);
    load_fails("1,a\n2,q\n", &s, 3, ":2: label \"q\" is not one of the source's \"classes\" (z, a, m)");
    load_fails("1,a\n", &s, 2,
               ": the source's \"classes\" has 3 names for the output layer's 2 units (one per class)");
    /* numbers match names of the same value */
    char *num[] = {"1", "2"};
    s.class_list = num;
    s.n_class_list = 2;
    load_ok(&d, "1,2.0\n2,1\n", &s, 2, NULL);
    ck_assert_int_eq(d.labels[0], 1);
    nn_dataset_free(&d);
}
END_TEST

START_TEST(test_labels_of_an_index_model)
{
    nn_csv_spec s = spec();
    const char *p = nn_test_put("o.csv", "1,0\n2,4\n");
    nn_csv_opts o = {NULL, 0, 3, true, NULL};
    nn_dataset d;
    nn_error err = {0};
    ck_assert_int_eq(nn_csv_read_opts(&d, NULL, p, &s, &o, &err), -1);
    char want[512];
    snprintf(want, sizeof want,
             "%s:2: label \"4\" is not one of the model's classes 0..2 (it was trained on "
             "whole-number labels)", p);
    ck_assert_str_eq(err.msg, want);
}
END_TEST

START_TEST(test_space_separated_hint)
{
    nn_csv_spec s = spec();
    load_fails("1.5 2.5 0\n", &s, 2,
               ": no feature columns (every column is the label or a target); is the file "
               "separated by spaces? set \"delimiter\": \"whitespace\"");
}
END_TEST

/* Header "auto": scikit-learn's first line of counts (rows, features, class
 * names) is skipped and names the classes; the same shape with a count that
 * does not match the rows is an error; a numeric first row is never one. */
START_TEST(test_count_line)
{
    nn_csv_spec s = spec();
    nn_dataset d;
    nn_csv_info info;
    /* same field count as the rows, names after the counts */
    load_ok(&d, "3,2,cat,dog\n1.5,2,0\n2.5,1,1\n0.5,0,1\n", &s, 2, &info);
    ck_assert(info.count_line);
    ck_assert_str_eq(info.count_why, "3 rows, 2 features, classes cat, dog");
    ck_assert_uint_eq(info.header_line, 2);
    ck_assert(!info.header);
    ck_assert_uint_eq(d.n, 3);
    ck_assert_int_eq(d.labels[0], 0);
    ck_assert_int_eq(d.labels[2], 1);
    ck_assert_str_eq(d.class_names[1], "dog");
    ck_assert(X(&d, 0, 0) == 1.5f);
    nn_dataset_free(&d);
    /* fewer fields than the rows (breast cancer's), text labels, a header after it */
    load_ok(&d, "2,3,no,yes\na,b,c,y\n1,2,3,yes\n4,5,6,no\n", &s, 2, &info);
    ck_assert(info.count_line && info.header);
    ck_assert_int_eq(d.labels[0], 1);
    ck_assert_str_eq(d.class_names[0], "no");
    nn_dataset_free(&d);
    /* counts only (no names): the labels are read as usual */
    load_ok(&d, "2,2\n1,2,1\n4,5,0\n", &s, 2, &info);
    ck_assert(info.count_line);
    ck_assert_str_eq(info.count_why, "2 rows, 2 features");
    ck_assert_ptr_null(d.class_names);
    nn_dataset_free(&d);
    /* a label the names do not cover */
    load_fails("2,1,a,b\n1,0\n2,5\n", &s, 2,
               ":3: label \"5\" is not one of the classes the count line names (a, b)");
    /* the row count does not match */
    load_fails("5,2,a,b\n1,2,0\n4,5,1\n", &s, 2,
               ":1: the first line looks like a count line (5) but the file has 2 rows; set "
               "\"skip_lines\": 1 to skip it, or \"header\"");
    /* a numeric first line of the rows' width is a row, whatever its values */
    load_ok(&d, "2,2,1\n1,2,0\n", &s, 2, &info);
    ck_assert(!info.count_line);
    ck_assert_uint_eq(d.n, 2);
    nn_dataset_free(&d);
    /* one name after the counts, as wide as a row: a row (string labels) */
    load_ok(&d, "1,2,cat\n3,4,dog\n", &s, 2, &info);
    ck_assert(!info.count_line);
    ck_assert_uint_eq(d.n, 2);
    nn_dataset_free(&d);
    /* with an explicit header setting the rule is off */
    s.header = NN_HEADER_NO;
    load_fails("3,2,cat,dog\n1.5,2,0\n2.5,1,1\n", &s, 2,
               ":1: field 3 is not a number: \"cat\" (a header line? set \"header\": true)");
}
END_TEST

Suite *csv_options_suite(void)
{
    Suite *s = suite_create("csv_options");
    TCase *t = tcase_create("csv_options");
    tcase_add_checked_fixture(t, nn_test_dir_fresh, NULL);
    tcase_add_test(t, test_skip_lines_and_comments);
    tcase_add_test(t, test_missing_values);
    tcase_add_test(t, test_header_rules);
    tcase_add_test(t, test_labels_indices_and_mapped);
    tcase_add_test(t, test_labels_class_list);
    tcase_add_test(t, test_labels_of_an_index_model);
    tcase_add_test(t, test_space_separated_hint);
    tcase_add_test(t, test_count_line);
    suite_add_tcase(s, t);
    return s;
}
