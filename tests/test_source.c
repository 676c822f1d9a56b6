/* test_source.c - data sources: a --data SPEC made into a source (an IDX
 * pair, one file known by its bytes, CSV options from the config's source,
 * from the training layout or the defaults), and loading a source through
 * its format's table entry, with the layout it gives. */
#include "tests.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/idx.h"
#include "data/source.h"

/* --- fixtures --------------------------------------------------------- */

/* 2 images of 1 x 3 ubyte and their labels 0, 1. */
static void put_idx_pair(const char *images, const char *labels)
{
    static const uint8_t x[6] = {1, 2, 3, 4, 5, 6}, y[2] = {0, 1};
    uint32_t dx[] = {2, 1, 3}, dy[] = {2};
    nn_error err = {0};
    ck_assert_int_eq(nn_idx_write(images, 1, NN_DT_U8, 3, dx, x, &err), 0);
    ck_assert_int_eq(nn_idx_write(labels, 0, NN_DT_U8, 1, dy, y, &err), 0);
}

static void expect_spec_error(const char *spec, const nn_data_layout *trained, int code,
                              const char *msg)
{
    nn_source s;
    nn_error err = {0};
    ck_assert_int_eq(nn_source_from_spec(&s, spec, trained, NULL, true, &err), -1);
    ck_assert_int_eq(err.code, code);
    ck_assert_str_eq(err.msg, msg);
}

/* --- a source from a SPEC ------------------------------------------------ */

START_TEST(test_source_from_spec_takes_two_paths_as_an_idx_pair)
{
    nn_source s;
    nn_error err = {0};
    ck_assert_int_eq(nn_source_from_spec(&s, "im.idx,lab.idx", NULL, NULL, true, &err), 0);
    ck_assert_int_eq(s.format, NN_FORMAT_IDX);
    ck_assert_str_eq(s.file, "im.idx");
    ck_assert_str_eq(s.file_path, "im.idx");
    ck_assert_str_eq(s.labels, "lab.idx");
    ck_assert_str_eq(s.labels_path, "lab.idx");
    ck_assert_str_eq(nn_source_name(&s), "im.idx");
    ck_assert_str_eq(nn_source_labels_name(&s), "lab.idx");
    nn_source_clear(&s);
    ck_assert_ptr_null(s.file);
}
END_TEST

START_TEST(test_source_from_spec_knows_one_idx_file_by_its_bytes)
{
    const char *im = nn_test_path("im.idx.gz");
    put_idx_pair(im, nn_test_path("lab.idx"));
    expect_spec_error(im, NULL, NN_EXIT_USAGE,
                      nn_test_fmt("--data %s: an IDX images file needs its labels: give IMAGES,LABELS",
                          im));
    nn_source s;
    nn_error err = {0};
    ck_assert_int_eq(nn_source_from_spec(&s, im, NULL, NULL, false, &err), 0);
    ck_assert_int_eq(s.format, NN_FORMAT_IDX);
    ck_assert_str_eq(s.file_path, im);
    ck_assert_ptr_null(s.labels);
    nn_source_clear(&s);
}
END_TEST

START_TEST(test_source_from_spec_rejects_bad_specs_and_missing_files)
{
    expect_spec_error("a,b,c", NULL, NN_EXIT_USAGE,
                      "--data a,b,c: expected IMAGES,LABELS (two IDX files), X.npy,Y.npy (two "
                      "NPY arrays) or one CSV, IDX or NPY file");
    expect_spec_error(",b", NULL, NN_EXIT_USAGE,
                      "--data ,b: expected IMAGES,LABELS (two IDX files), X.npy,Y.npy (two "
                      "NPY arrays) or one CSV, IDX or NPY file");
    const char *p = nn_test_path("none.csv");
    expect_spec_error(p, NULL, NN_EXIT_RUNTIME, nn_test_fmt("%s: No such file or directory", p));
}
END_TEST

/* CSV with no guide: header auto, ',' and the label in the last column. */
START_TEST(test_source_from_spec_reads_csv_with_the_defaults)
{
    const char *p = nn_test_put("d.csv", "1,2,0\n");
    nn_data_layout idx = {.format = NN_FORMAT_IDX, .label_col = -1};
    const nn_data_layout *guides[] = {NULL, &idx};
    for (int g = 0; g < 2; g++) {
        nn_source s;
        nn_error err = {0};
        ck_assert_int_eq(nn_source_from_spec(&s, p, guides[g], NULL, true, &err), 0);
        ck_assert_int_eq(s.format, NN_FORMAT_CSV);
        ck_assert_str_eq(s.file, p);
        ck_assert_ptr_null(s.labels);
        ck_assert_int_eq(s.csv.header, NN_HEADER_AUTO);
        ck_assert_int_eq(s.csv.delimiter, ',');
        ck_assert(s.csv.has_label);
        ck_assert_ptr_null(s.csv.label.name);
        ck_assert_int_eq(s.csv.label.index, -1);
        nn_source_clear(&s);
    }
}
END_TEST

/* stdin is CSV without being read (its bytes could not be read again):
 * IDX bytes waiting there are neither sniffed nor taken. */
START_TEST(test_source_from_spec_takes_stdin_as_csv_unread)
{
    static const unsigned char head[8] = {0, 0, 0x08, 1, 0, 0, 0, 0};
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(dup2(fds[0], 0), 0);
    close(fds[0]);
    ck_assert_int_eq(write(fds[1], head, sizeof head), (ssize_t)sizeof head);
    close(fds[1]);
    nn_source s;
    nn_error err = {0};
    ck_assert_int_eq(nn_source_from_spec(&s, "-", NULL, NULL, true, &err), 0);
    ck_assert_int_eq(s.format, NN_FORMAT_CSV);
    ck_assert_str_eq(s.file_path, "-");
    nn_source_clear(&s);
    unsigned char back[sizeof head + 1];
    ck_assert_int_eq(read(0, back, sizeof back), (ssize_t)sizeof head);
}
END_TEST

/* Like the training file: its header, delimiter and label column by name. */
START_TEST(test_source_from_spec_reads_csv_like_the_training_layout)
{
    const char *p = nn_test_put("t.csv", "a;label;b\n1;x;2\n");
    char *names[] = {"a", "label", "b"};
    nn_data_layout l = {.format = NN_FORMAT_CSV, .header = true, .delimiter = ';',
                        .n_columns = 3, .names = names, .label_col = 1};
    nn_source s;
    nn_error err = {0};
    ck_assert_int_eq(nn_source_from_spec(&s, p, &l, NULL, true, &err), 0);
    ck_assert_int_eq(s.csv.header, NN_HEADER_YES);
    ck_assert_int_eq(s.csv.delimiter, ';');
    ck_assert(s.csv.has_label);
    ck_assert_str_eq(s.csv.label.name, "label");
    ck_assert_int_eq(s.csv.label.index, 1);
    nn_source_clear(&s);

    long targets[] = {0, 3};
    nn_data_layout reg = {.format = NN_FORMAT_CSV, .n_targets = 2, .delimiter = -1,
                          .n_columns = 4, .label_col = -1, .target_cols = targets};
    ck_assert_int_eq(nn_source_from_spec(&s, p, &reg, NULL, true, &err), 0);
    ck_assert_int_eq(s.csv.header, NN_HEADER_NO);
    ck_assert_int_eq(s.csv.delimiter, -1);
    ck_assert(!s.csv.has_label);
    ck_assert_int_eq(s.csv.n_targets, 2);
    ck_assert_ptr_null(s.csv.targets[0].name);
    ck_assert_int_eq(s.csv.targets[0].index, 0);
    ck_assert_int_eq(s.csv.targets[1].index, 3);
    nn_source_clear(&s);
}
END_TEST

/* The config's CSV options, when it has them, come before the layout's. */
START_TEST(test_source_from_spec_keeps_the_options_of_the_source_it_replaces)
{
    const char *p = nn_test_put("t.csv", "1|2\n");
    nn_column t = {"y", 0};
    nn_source like = {.format = NN_FORMAT_CSV,
                      .csv = {.header = NN_HEADER_NO, .delimiter = '|', .n_targets = 1,
                              .targets = &t}};
    nn_data_layout l = {.format = NN_FORMAT_CSV, .delimiter = ';', .n_columns = 2,
                        .label_col = 0};
    nn_source s;
    nn_error err = {0};
    ck_assert_int_eq(nn_source_from_spec(&s, p, &l, &like, true, &err), 0);
    ck_assert_int_eq(s.csv.header, NN_HEADER_NO);
    ck_assert_int_eq(s.csv.delimiter, '|');
    ck_assert_int_eq(s.csv.n_targets, 1);
    ck_assert_str_eq(s.csv.targets[0].name, "y");
    ck_assert_ptr_ne(s.csv.targets[0].name, t.name);
    nn_source_clear(&s);
}
END_TEST

/* --- loading through the table ------------------------------------------- */

START_TEST(test_source_load_reads_an_idx_pair_with_an_empty_layout)
{
    const char *im = nn_test_path("im.idx.gz"), *lab = nn_test_path("lab.idx");
    put_idx_pair(im, lab);
    nn_source s = {.format = NN_FORMAT_IDX, .file_path = (char *)im, .labels_path = (char *)lab};
    nn_dataset d;
    nn_data_layout l;
    memset(&l, 0x55, sizeof l);
    nn_error err = {0};
    ck_assert_msg(nn_source_load(&d, &l, &s, NULL, 0, false, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(d.n, 2);
    ck_assert_uint_eq(d.features, 3);
    ck_assert_int_eq(d.labels[1], 1);
    ck_assert_int_eq(l.format, NN_FORMAT_IDX);
    ck_assert_int_eq(l.n_targets, 0);
    ck_assert(!l.header);
    ck_assert_int_eq(l.delimiter, 0);
    ck_assert_uint_eq(l.n_columns, 0);
    ck_assert_ptr_null(l.names);
    ck_assert_int_eq(l.label_col, -1);
    ck_assert_ptr_null(l.target_cols);
    nn_dataset_free(&d);
}
END_TEST

START_TEST(test_source_load_reads_csv_with_its_layout)
{
    const char *p = nn_test_put("c.csv", "x;kind;z\n1;b;2\n3;a;4\n");
    nn_source s = {.format = NN_FORMAT_CSV, .file_path = (char *)p,
                   .csv = {.header = NN_HEADER_AUTO, .delimiter = ';', .has_label = true,
                           .label = {"kind", 0}}};
    nn_dataset d;
    nn_data_layout l;
    nn_error err = {0};
    ck_assert_msg(nn_source_load(&d, &l, &s, NULL, 0, false, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(d.n, 2);
    ck_assert_uint_eq(d.features, 2);
    ck_assert_int_eq(l.format, NN_FORMAT_CSV);
    ck_assert(l.header);
    ck_assert_int_eq(l.delimiter, ';');
    ck_assert_uint_eq(l.n_columns, 3);
    ck_assert_int_eq(l.label_col, 1);
    ck_assert_str_eq(l.names[1], "kind");
    nn_data_layout_free(&l);
    nn_dataset_free(&d);

    /* string labels for a model trained on whole numbers */
    ck_assert_int_eq(nn_source_load(&d, NULL, &s, NULL, 0, true, &err), -1);
    ck_assert_int_eq(err.code, NN_EXIT_RUNTIME);
    ck_assert_str_eq(err.msg, nn_test_fmt("%s: labels such as \"a\" are not whole numbers, but the "
                                  "model was trained on whole-number labels", p));
}
END_TEST

START_TEST(test_source_load_rejects_an_unknown_format)
{
    nn_source s = {.format = (nn_format_kind)7, .file_path = (char *)"x"};
    nn_dataset d;
    nn_error err = {0};
    ck_assert_int_eq(nn_source_load(&d, NULL, &s, NULL, 0, false, &err), -1);
    ck_assert_int_eq(err.code, NN_EXIT_RUNTIME);
    ck_assert_str_eq(err.msg, "x: unknown data format 7");
}
END_TEST

Suite *source_suite(void)
{
    Suite *s = suite_create("source");
    TCase *t = tcase_create("spec");
    tcase_add_checked_fixture(t, nn_test_dir_fresh, NULL);
    tcase_add_test(t, test_source_from_spec_takes_two_paths_as_an_idx_pair);
    tcase_add_test(t, test_source_from_spec_knows_one_idx_file_by_its_bytes);
    tcase_add_test(t, test_source_from_spec_rejects_bad_specs_and_missing_files);
    tcase_add_test(t, test_source_from_spec_reads_csv_with_the_defaults);
    tcase_add_test(t, test_source_from_spec_takes_stdin_as_csv_unread);
    tcase_add_test(t, test_source_from_spec_reads_csv_like_the_training_layout);
    tcase_add_test(t, test_source_from_spec_keeps_the_options_of_the_source_it_replaces);
    suite_add_tcase(s, t);

    TCase *l = tcase_create("load");
    tcase_add_checked_fixture(l, nn_test_dir_fresh, NULL);
    tcase_add_test(l, test_source_load_reads_an_idx_pair_with_an_empty_layout);
    tcase_add_test(l, test_source_load_reads_csv_with_its_layout);
    tcase_add_test(l, test_source_load_rejects_an_unknown_format);
    suite_add_tcase(s, l);
    return s;
}
