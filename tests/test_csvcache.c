/* test_csvcache.c - the CSV cache (data/csvcache.c) and the loader cut into
 * parts behind it (csv.c's nn_csv_parts): the cached rows, bit for bit, are
 * what loading the CSV in memory gives, for 1, 2 and 3 threads and parts as
 * small as one byte (quoted fields with line ends and delimiters across the
 * cuts); the same errors with the same FILE:LINE; a cache reused, and built
 * again after a change of the file (also one of the same size and time) or
 * of an option; the key file read strictly. */
#define _GNU_SOURCE /* utimensat, in <sys/stat.h> */
#include "tests.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/csv.h"
#include "data/csvcache.h"
#include "data/dataset.h"
#include "data/source.h"

static nn_csv_spec spec_label_last(void)
{
    nn_csv_spec s = {.header = NN_HEADER_AUTO, .delimiter = ',', .has_label = true};
    s.label.index = -1;
    return s;
}

static nn_source csv_source(const char *path, const nn_csv_spec *sp)
{
    nn_source s = {.format = NN_FORMAT_CSV, .file = (char *)path, .file_path = (char *)path,
                   .csv = *sp};
    return s;
}

/* Part sizes tried: one byte, a few, and the default. */
static const size_t chunks[] = {1, 2, 3, 5, 8, 13, 31, 64, 0};
#define N_CHUNKS (sizeof chunks / sizeof chunks[0])

static void expect_same_data(const nn_dataset *a, const nn_dataset *b, const char *what)
{
    ck_assert_msg(a->n == b->n && a->features == b->features, "%s: %zu x %zu, want %zu x %zu",
                  what, b->n, b->features, a->n, a->features);
    ck_assert_msg(b->type == NN_DT_F32, "%s: type", what);
    ck_assert_msg(memcmp(a->x, b->x, a->n * a->features * sizeof(float)) == 0,
                  "%s: features differ", what);
    ck_assert_int_eq(a->n_targets, b->n_targets);
    if (a->n_targets)
        ck_assert_msg(memcmp(a->targets, b->targets, a->n * (size_t)a->n_targets * 4) == 0,
                      "%s: targets differ", what);
    ck_assert_msg((a->labels == NULL) == (b->labels == NULL), "%s: labels", what);
    if (a->labels)
        ck_assert_msg(memcmp(a->labels, b->labels, a->n * sizeof *a->labels) == 0,
                      "%s: labels differ", what);
    ck_assert_msg(a->n_classes == b->n_classes, "%s: %d classes, want %d", what, b->n_classes,
                  a->n_classes);
    ck_assert_msg((a->class_names == NULL) == (b->class_names == NULL), "%s: class names", what);
    for (int32_t k = 0; a->class_names && k < a->n_classes; k++)
        ck_assert_str_eq(a->class_names[k], b->class_names[k]);
}

static void expect_same_layout(const nn_data_layout *a, const nn_data_layout *b)
{
    ck_assert_int_eq(a->format, b->format);
    ck_assert_int_eq(a->header, b->header);
    ck_assert_int_eq(a->delimiter, b->delimiter);
    ck_assert_uint_eq(a->n_columns, b->n_columns);
    ck_assert_int_eq(a->label_col, b->label_col);
    ck_assert_int_eq(a->n_targets, b->n_targets);
    for (int i = 0; i < a->n_targets; i++)
        ck_assert_int_eq(a->target_cols[i], b->target_cols[i]);
    ck_assert((a->names == NULL) == (b->names == NULL));
    for (size_t i = 0; a->names && i < a->n_columns; i++)
        ck_assert_str_eq(a->names[i], b->names[i]);
    ck_assert_int_eq(a->missing, b->missing);
    ck_assert_int_eq(a->n_na, b->n_na);
    for (int i = 0; i < a->n_na; i++)
        ck_assert_str_eq(a->na_values[i], b->na_values[i]);
}

static void expect_same_info(const nn_csv_info *a, const nn_csv_info *b)
{
    ck_assert_int_eq(a->header_auto, b->header_auto);
    ck_assert_int_eq(a->header, b->header);
    ck_assert_str_eq(a->header_why, b->header_why);
    ck_assert_uint_eq(a->header_line, b->header_line);
    ck_assert_int_eq(a->count_line, b->count_line);
    ck_assert_str_eq(a->count_why, b->count_why);
    ck_assert_uint_eq(a->dropped, b->dropped);
    ck_assert_uint_eq(a->missing_fields, b->missing_fields);
}

/* The file `text` read with sp and units: the cache, for every thread count
 * and part size, gives what loading it in memory gives. */
static void check_same(const char *text, const nn_csv_spec *sp, int units)
{
    const char *path = nn_test_put("data.csv", text);
    char p[4200];
    snprintf(p, sizeof p, "%s", path);
    nn_source src = csv_source(p, sp);
    nn_dataset want;
    nn_data_layout wl;
    nn_csv_info wi;
    nn_error err = {0};
    nn_csv_opts o = {NULL, 0, units, false, &wi};
    ck_assert_msg(nn_source_load_opts(&want, &wl, &src, &o, &err) == 0, "%s", err.msg);
    o.info = NULL;
    for (int threads = 1; threads <= 3; threads++)
        for (size_t c = 0; c < N_CHUNKS; c++) {
            char dir[4200];
            snprintf(dir, sizeof dir, "%s", nn_test_tmpdir());
            nn_csv_cache_opts co = {.threads = threads, .chunk_bytes = chunks[c]};
            nn_csv_cache cache;
            ck_assert_msg(nn_csv_cache_get(&src, &o, dir, &co, &cache, &err) == 0,
                          "threads %d chunk %zu: %s", threads, chunks[c], err.msg);
            ck_assert(cache.built);
            nn_dataset got;
            ck_assert_msg(nn_csv_cache_load(&cache, &got, &err) == 0, "%s", err.msg);
            char what[64];
            snprintf(what, sizeof what, "threads %d chunk %zu", threads, chunks[c]);
            expect_same_data(&want, &got, what);
            expect_same_layout(&wl, &cache.layout);
            expect_same_info(&wi, &cache.info);
            /* a second call reads the key back: the same again */
            nn_csv_cache again;
            ck_assert_msg(nn_csv_cache_get(&src, &o, dir, &co, &again, &err) == 0, "%s",
                          err.msg);
            ck_assert(!again.built);
            expect_same_layout(&wl, &again.layout);
            expect_same_info(&wi, &again.info);
            nn_dataset_free(&got);
            ck_assert_msg(nn_csv_cache_load(&again, &got, &err) == 0, "%s", err.msg);
            expect_same_data(&want, &got, what);
            nn_dataset_free(&got);
            nn_csv_cache_free(&again);
            nn_csv_cache_free(&cache);
        }
    nn_dataset_free(&want);
    nn_data_layout_free(&wl);
}

/* Loading text fails; the cache fails with the same message for every
 * thread count and part size. */
static void check_same_error(const char *text, const nn_csv_spec *sp, int units,
                             const char *tail)
{
    const char *path = nn_test_put("bad.csv", text);
    char p[4200];
    snprintf(p, sizeof p, "%s", path);
    nn_source src = csv_source(p, sp);
    nn_dataset d;
    nn_error want = {0};
    nn_csv_opts o = {NULL, 0, units, false, NULL};
    ck_assert_int_eq(nn_source_load_opts(&d, NULL, &src, &o, &want), -1);
    if (tail)
        ck_assert_str_eq(want.msg, nn_test_fmt("%s%s", p, tail));
    for (int threads = 1; threads <= 3; threads++)
        for (size_t c = 0; c < N_CHUNKS; c++) {
            nn_csv_cache_opts co = {.threads = threads, .chunk_bytes = chunks[c]};
            nn_csv_cache cache;
            nn_error err = {0};
            ck_assert_int_eq(nn_csv_cache_get(&src, &o, nn_test_tmpdir(), &co, &cache, &err), -1);
            ck_assert_int_eq(err.code, 1);
            ck_assert_msg(strcmp(err.msg, want.msg) == 0, "threads %d chunk %zu: \"%s\", want \"%s\"",
                          threads, chunks[c], err.msg, want.msg);
        }
}

START_TEST(test_csvcache_string_labels_quotes_across_parts)
{
    nn_csv_spec s = spec_label_last();
    check_same("a,b,kind\n"
               "1.5,2,\"dog\"\n"
               "3,\"4.25\",cat\n"
               "-1e3,0.1,\"bird,\nsmall\"\n"
               "7,8,\"say \"\"hi\"\"\"\n"
               "9,10,cat\n"
               "0.3333333333,1e-40,\"\n\n,\"\n"
               "11,12,dog\n"
               "13,14,ant\n",
               &s, 0);
    /* CRLF line ends and no final line end */
    check_same("x,y,c\r\n1,2,b\r\n3,\"4\",\"a\r\n\"\r\n5,6,b", &s, 0);
}
END_TEST

START_TEST(test_csvcache_labels_and_targets)
{
    nn_csv_spec s = spec_label_last();
    /* whole-number labels are indices; with units 3, 1..3 become classes */
    check_same("1,0\n2,2\n3,1\n4,2\n5,0\n6,1\n", &s, 0);
    check_same("1,1\n2,3\n3,2\n4,3\n5,1\n", &s, 3);
    /* numbers sorted by value: 9 before 10 */
    check_same("1,10\n2,9.5\n3,10\n4,-2\n5,9.5\n", &s, 0);
    /* a count line names the classes */
    check_same("4,2,setosa,versicolor\n5.1,3.5,0\n4.9,3,1\n4.7,3.2,1\n4.6,3.1,0\n", &s, 0);
    /* targets, by name */
    nn_csv_spec t = {.header = NN_HEADER_AUTO, .delimiter = ','};
    nn_column cols[2] = {{.name = "y1"}, {.name = "y0"}};
    t.n_targets = 2;
    t.targets = cols;
    check_same("y0,a,y1,b\n0.5,1,2,3\n1.5,4,\"5\",6\n2.5,7,8,9\n", &t, 0);
}
END_TEST

START_TEST(test_csvcache_missing_comments_whitespace)
{
    nn_csv_spec s = spec_label_last();
    s.missing = NN_MISSING_DROP;
    check_same("a,b,c\n1,2,x\nNA,3,y\n4,,x\n5,6,\n7,8,y\n", &s, 0);
    s.missing = NN_MISSING_MEAN;
    check_same("a,b,c\n1,2,x\nNA,3,y\n4,,x\n5,6,\n7,8,y\n", &s, 0);
    s = spec_label_last();
    s.comment = '#';
    check_same("# a \"quote in a comment\n1,2,a\n#,\"\n3,4,b\n# end\n", &s, 0);
    s = spec_label_last();
    s.delimiter = NN_CSV_WHITESPACE;
    check_same("  1  2\t\"a b\"\n3 4 \"c\nd\"  \n 5\t6 ab\n", &s, 0);
    /* skipped lines, trailing blank lines */
    s = spec_label_last();
    s.skip_lines = 2;
    check_same("junk \"\nmore\n1,2,a\n3,4,b\n\n\n", &s, 0);
}
END_TEST

START_TEST(test_csvcache_many_rows)
{
    /* more rows than "auto" samples, labels first seen late */
    char *text = malloc(64 * 400);
    size_t k = 0;
    k += (size_t)sprintf(text + k, "f0,f1,label\n");
    for (int i = 0; i < 300; i++)
        k += (size_t)sprintf(text + k, "%d.%d,\"%d\",%s\n", i, i % 7, i * 3,
                             i % 50 == 0 ? "\"late,one\"" : i % 2 ? "odd" : "even");
    nn_csv_spec s = spec_label_last();
    check_same(text, &s, 0);
    free(text);
}
END_TEST

START_TEST(test_csvcache_errors_name_the_line)
{
    nn_csv_spec s = spec_label_last();
    check_same_error("a,b,c\n1,2,x\n3,4,y\n5,abc,x\n6,7,y\n", &s, 0,
                     ":4: field 2 (\"b\") is not a number: \"abc\"");
    check_same_error("a,b,c\n1,2,x\n3,\"4\",\"y\n\"\n5,7\n6,7,y\n", &s, 0,
                     ":5: expected 3 fields, found 2");
    check_same_error("a,b,c\n1,2,x\n\n3,4,y\n", &s, 0, ":3: blank line inside the data");
    check_same_error("a,b,c\n1,2,x\n3,4,\"y\n", &s, 0, ":3: unterminated quoted field");
    check_same_error("a,b,c\n1,2,x\n3,4,\"y\"z\n", &s, 0,
                     ":3: text after the closing quote of field 3");
    s.missing = NN_MISSING_DROP;
    check_same_error("a,b,c\n1,,x\n3,NA,y\n", &s, 0,
                     ": no rows left: each of the 2 rows has a missing value");
    s = spec_label_last();
    check_same_error("5,1,a,b\n1,a\n2,b\n3,a\n", &s, 0, NULL); /* a count line that lies */
    check_same_error("1,0\n2,1\n3,2\n4,5\n", &s, 3, NULL);      /* too many labels */
}
END_TEST

static struct timespec mtime_of(const char *path)
{
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    return sb.st_mtim;
}

START_TEST(test_csvcache_reused_and_invalidated)
{
    const char *p0 = nn_test_put("r.csv", "a,b\n1,x\n2,y\n3,x\n");
    char path[4200], dir[4200];
    snprintf(path, sizeof path, "%s", p0);
    snprintf(dir, sizeof dir, "%s", nn_test_path("cache"));
    nn_csv_spec s = spec_label_last();
    nn_source src = csv_source(path, &s);
    nn_csv_opts o = {NULL, 0, 0, false, NULL};
    nn_csv_cache_opts co = {.threads = 2, .chunk_bytes = 4};
    nn_csv_cache c;
    nn_error err = {0};
    ck_assert_msg(nn_csv_cache_get(&src, &o, dir, &co, &c, &err) == 0, "%s", err.msg);
    ck_assert(c.built);
    ck_assert_uint_eq(c.rows, 3);
    char key[4200];
    snprintf(key, sizeof key, "%s", c.key_path);
    struct timespec k0 = mtime_of(key);
    nn_csv_cache_free(&c);

    /* reused: nothing written */
    ck_assert(nn_csv_cache_get(&src, &o, dir, &co, &c, &err) == 0);
    ck_assert(!c.built);
    ck_assert_str_eq(c.key_path, key);
    struct timespec k1 = mtime_of(key);
    ck_assert(k0.tv_sec == k1.tv_sec && k0.tv_nsec == k1.tv_nsec);
    nn_csv_cache_free(&c);

    /* the same size and modification time, other bytes: the checksum tells */
    struct timespec t = mtime_of(path);
    nn_test_write_file(path, "a,b\n1,x\n5,y\n3,x\n", 16);
    struct timespec times[2] = {t, t};
    ck_assert_int_eq(utimensat(AT_FDCWD, path, times, 0), 0);
    ck_assert(nn_csv_cache_get(&src, &o, dir, &co, &c, &err) == 0);
    ck_assert(c.built);
    nn_dataset d;
    ck_assert(nn_csv_cache_load(&c, &d, &err) == 0);
    ck_assert_float_eq(((float *)d.x)[1], 5.0f);
    nn_dataset_free(&d);
    nn_csv_cache_free(&c);

    /* only touched: built again */
    times[0].tv_sec = times[1].tv_sec = t.tv_sec + 10;
    ck_assert_int_eq(utimensat(AT_FDCWD, path, times, 0), 0);
    ck_assert(nn_csv_cache_get(&src, &o, dir, &co, &c, &err) == 0);
    ck_assert(c.built);
    nn_csv_cache_free(&c);
    ck_assert(nn_csv_cache_get(&src, &o, dir, &co, &c, &err) == 0);
    ck_assert(!c.built);
    nn_csv_cache_free(&c);

    /* another option: another cache, built */
    nn_csv_spec s2 = s;
    s2.header = NN_HEADER_YES;
    nn_source src2 = csv_source(path, &s2);
    ck_assert(nn_csv_cache_get(&src2, &o, dir, &co, &c, &err) == 0);
    ck_assert(c.built);
    ck_assert_str_ne(c.key_path, key);
    nn_csv_cache_free(&c);
    nn_csv_opts o2 = {NULL, 0, 5, false, NULL};
    ck_assert(nn_csv_cache_get(&src, &o2, dir, &co, &c, &err) == 0);
    ck_assert(c.built);
    nn_csv_cache_free(&c);

    /* a damaged key or array: built again, never trusted */
    ck_assert(nn_csv_cache_get(&src, &o, dir, &co, &c, &err) == 0);
    ck_assert(!c.built);
    char xp[4200];
    snprintf(xp, sizeof xp, "%s", c.x_path);
    nn_csv_cache_free(&c);
    ck_assert_int_eq(truncate(xp, 130), 0);
    ck_assert(nn_csv_cache_get(&src, &o, dir, &co, &c, &err) == 0);
    ck_assert(c.built);
    nn_csv_cache_free(&c);
    nn_test_write_file(key, "{\"nntrain_csv_cache\": 1}", 24);
    ck_assert(nn_csv_cache_get(&src, &o, dir, &co, &c, &err) == 0);
    ck_assert(c.built);
    nn_csv_cache_free(&c);
}
END_TEST

START_TEST(test_csvcache_unwritable_dir)
{
    const char *p0 = nn_test_put("u.csv", "1,a\n2,b\n");
    char path[4200];
    snprintf(path, sizeof path, "%s", p0);
    nn_csv_spec s = spec_label_last();
    nn_source src = csv_source(path, &s);
    nn_csv_opts o = {NULL, 0, 0, false, NULL};
    nn_csv_cache c;
    nn_error err = {0};
    /* a file where the folder should be (root may write anywhere else) */
    char dir[4300];
    snprintf(dir, sizeof dir, "%s/sub", path);
    ck_assert_int_eq(nn_csv_cache_get(&src, &o, dir, NULL, &c, &err), -1);
    ck_assert_int_eq(err.code, 1);
    ck_assert_str_eq(err.msg, nn_test_fmt("%s: cannot write the CSV cache: Not a directory", dir));
    ck_assert(strchr(err.msg, '\n') == NULL);
    if (geteuid() != 0) {
        snprintf(dir, sizeof dir, "%s", nn_test_path("ro"));
        ck_assert_int_eq(mkdir(dir, 0555), 0);
        ck_assert_int_eq(nn_csv_cache_get(&src, &o, dir, NULL, &c, &err), -1);
        ck_assert_str_eq(err.msg,
                         nn_test_fmt("%s: cannot write the CSV cache: Permission denied", dir));
        chmod(dir, 0755);
    }
    /* stdin cannot be cached */
    nn_source in = csv_source("-", &s);
    ck_assert_int_eq(nn_csv_cache_get(&in, &o, nn_test_dir(), NULL, &c, &err), -1);
}
END_TEST

START_TEST(test_csvcache_key_round_trip_and_strict)
{
    nn_csv_cache c;
    memset(&c, 0, sizeof c);
    char *names[3] = {"a", "b\"q\\", "\xc3\xa9t\xc3\xa9"};
    char *na[2] = {"", "NA"};
    nn_csv_cache_stamp st = {"/x/y.csv", "123", "1700000000123456789", "0123456789abcdef",
                             "fedcba9876543210", "00000000000000ff"};
    c.rows = 7;
    c.features = 2;
    c.n_classes = 3;
    c.class_names = names;
    c.layout = (nn_data_layout){.format = NN_FORMAT_CSV, .header = true, .delimiter = ';',
                                .n_columns = 3, .names = names, .label_col = 2,
                                .missing = 1, .n_na = 2, .na_values = na};
    c.info.header_auto = true;
    c.info.header = true;
    snprintf(c.info.header_why, sizeof c.info.header_why, "field 1 \"a\" is not a number");
    c.info.header_line = 1;
    c.info.dropped = 4;
    char *text = nn_csv_cache_format_key(&st, &c);
    ck_assert_ptr_nonnull(text);
    nn_csv_cache_stamp st2;
    nn_csv_cache back;
    nn_error err = {0};
    ck_assert_msg(nn_csv_cache_parse_key(text, strlen(text), "k", &st2, &back, &err) == 0, "%s",
                  err.msg);
    ck_assert_str_eq(st2.csv, st.csv);
    ck_assert_str_eq(st2.mtime_ns, st.mtime_ns);
    ck_assert_str_eq(st2.options, st.options);
    ck_assert_uint_eq(back.rows, 7);
    ck_assert_int_eq(back.n_classes, 3);
    ck_assert_str_eq(back.class_names[1], "b\"q\\");
    ck_assert_str_eq(back.class_names[2], "\xc3\xa9t\xc3\xa9");
    expect_same_layout(&c.layout, &back.layout);
    expect_same_info(&c.info, &back.info);
    nn_csv_cache_free(&back);

    /* a changed value out of range, an unknown or missing key, trailing text */
    static const char *const bad[][2] = {
        {"\"rows\":7", "\"rows\":0"},
        {"\"rows\":7", "\"rows\":7.5"},
        {"\"classes\":3", "\"classes\":2"},
        {"\"label_col\":2", "\"label_col\":3"},
        {"\"delimiter\":59", "\"delimiter\":34"},
        {"\"head\":\"0123456789abcdef\"", "\"head\":\"0123456789ABCDEF\""},
        {"\"size\":\"123\"", "\"size\":\"12a\""},
        {"\"missing\":1", "\"missing\":1, \"extra\":0"},
        {"\"missing\":1,", ""},
        {"\"nntrain_csv_cache\":1", "\"nntrain_csv_cache\":2"},
        {"\"features\":2", "\"features\":1"},
        {"\"target_cols\":[]", "\"target_cols\":[1]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *at = strstr(text, bad[i][0]);
        ck_assert_msg(at != NULL, "%s not in %s", bad[i][0], text);
        char *t2 = malloc(strlen(text) + 64);
        size_t pre = (size_t)(at - text);
        memcpy(t2, text, pre);
        strcpy(t2 + pre, bad[i][1]);
        strcat(t2, at + strlen(bad[i][0]));
        ck_assert_msg(nn_csv_cache_parse_key(t2, strlen(t2), "k", &st2, &back, &err) == -1,
                      "accepted: %s", t2);
        ck_assert(strncmp(err.msg, "k: not a valid CSV cache key file", 33) == 0);
        free(t2);
    }
    size_t n = strlen(text);
    char *t3 = malloc(n + 3);
    memcpy(t3, text, n);
    memcpy(t3 + n, "x\n", 3);
    ck_assert_int_eq(nn_csv_cache_parse_key(t3, n + 2, "k", &st2, &back, &err), -1);
    ck_assert_int_eq(nn_csv_cache_parse_key(text, n / 2, "k", &st2, &back, &err), -1);
    free(t3);
    free(text);
}
END_TEST

START_TEST(test_csvcache_split_respects_quotes)
{
    /* the cut is after the last record end, never inside quotes */
    const char *p = nn_test_put("s.csv", "a,b\n1,x\n");
    nn_csv_spec s = spec_label_last();
    nn_csv_opts o = {NULL, 0, 0, false, NULL};
    nn_error err = {0};
    nn_csv_parts *P = nn_csv_parts_open(p, &s, &o, &err);
    ck_assert_msg(P != NULL, "%s", err.msg);
    const char *t1 = "1,\"a\nb\"\n2,\"c\n";
    ck_assert_uint_eq(nn_csv_parts_split(P, t1, strlen(t1)), 8);
    const char *t2 = "1,a\"b\n2,c";
    ck_assert_uint_eq(nn_csv_parts_split(P, t2, strlen(t2)), 6);
    const char *t3 = "1,\"a\"\"\n\"\"\"\n";
    ck_assert_uint_eq(nn_csv_parts_split(P, t3, strlen(t3)), strlen(t3));
    const char *t4 = "1,\"abc";
    ck_assert_uint_eq(nn_csv_parts_split(P, t4, strlen(t4)), 0);
    const char *t5 = "1,2\r\n3,\"\r\n";
    ck_assert_uint_eq(nn_csv_parts_split(P, t5, strlen(t5)), 5);
    nn_csv_parts_close(P);
}
END_TEST

START_TEST(test_csvcache_gzip_and_source)
{
    const char *text = "a,b\n1,x\n2,\"y\nz\"\n3,x\n";
    size_t zn;
    unsigned char *z = nn_test_gzip(text, strlen(text), &zn);
    const char *p0 = nn_test_put_bytes("g.csv.gz", z, zn);
    free(z);
    char path[4200];
    snprintf(path, sizeof path, "%s", p0);
    nn_csv_spec s = spec_label_last();
    nn_source src = csv_source(path, &s);
    nn_csv_opts o = {NULL, 0, 0, false, NULL};
    nn_dataset want, got;
    nn_error err = {0};
    ck_assert(nn_source_load_opts(&want, NULL, &src, &o, &err) == 0);
    nn_csv_cache c;
    nn_csv_cache_opts co = {.threads = 2, .chunk_bytes = 3};
    ck_assert_msg(nn_csv_cache_get(&src, &o, nn_test_path("c"), &co, &c, &err) == 0, "%s",
                  err.msg);
    ck_assert(nn_csv_cache_load(&c, &got, &err) == 0);
    expect_same_data(&want, &got, "gzip");
    nn_dataset_free(&got);
    /* the cache as an NPY source loads the same rows (no NaN here) */
    nn_source npy;
    ck_assert(nn_csv_cache_source(&c, &npy, &err) == 0);
    ck_assert(nn_source_load(&got, NULL, &npy, NULL, 0, false, &err) == 0);
    ck_assert_uint_eq(got.n, want.n);
    for (size_t i = 0; i < got.n; i++) {
        ck_assert_float_eq((float)nn_dataset_get(&got, i, 0), ((float *)want.x)[i]);
        ck_assert_int_eq(got.labels[i], want.labels[i]);
    }
    nn_dataset_free(&got);
    nn_source_clear(&npy);
    nn_dataset_free(&want);
    nn_csv_cache_free(&c);
}
END_TEST

START_TEST(test_csvcache_decimals_as_the_number_parser_reads_them)
{
    /* the loader's inline path for plain decimals and integers gives what
     * nn_csv_parse_number (the general path) gives, rounded to float */
    static const char *const fields[] = {
        "0", "-0", "7", "-7", "123456789", "1234567890", "9007199254740992",
        "9007199254740993", "1234567890123456789", "12345678901234567890", "0.1", "-0.1",
        ".5", "-.5", "5.", "-5.", "0.000001", "-0.123456", "3.4028234", "1.00000005960464477",
        "16777217", "0.30000000000000004", "123.456e1", "+1.5", " 2.5", "1e-45",
        "0.00000000000000000001", "99999999999999999.5", "0.1234567890123456789"};
    size_t n = sizeof fields / sizeof fields[0];
    char text[2048];
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += (size_t)snprintf(text + k, sizeof text - k, "\"%s\",%zu\n", fields[i], i);
    const char *p = nn_test_put("dec.csv", text);
    nn_csv_spec s = spec_label_last();
    s.header = NN_HEADER_NO;
    nn_dataset d;
    nn_error err = {0};
    ck_assert_msg(nn_csv_read(&d, NULL, p, &s, NULL, 0, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(d.n, n);
    for (size_t i = 0; i < n; i++) {
        double v;
        ck_assert_int_eq(nn_csv_parse_number(fields[i], &v), 0);
        float want = (float)v, got = ((float *)d.x)[i];
        ck_assert_msg(memcmp(&want, &got, sizeof want) == 0, "%s: %a, want %a", fields[i],
                      (double)got, (double)want);
    }
    nn_dataset_free(&d);
    /* and random ones of every length, most of them short (the float
     * division path: below 2^24 with up to 10 decimals) */
    enum { N = 20000 };
    uint64_t r = 42;
    k = 0;
    char *big = malloc((size_t)N * 32);
    double *vals = malloc(N * sizeof *vals);
    for (int i = 0; i < N; i++) {
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        int digits = i % 4 ? 1 + (int)(r >> 60) % 8 : 1 + (int)(r >> 59) % 19;
        int frac = (int)(r >> 50) % (digits + 1);
        char num[40];
        size_t m = 0;
        if (r & 1)
            num[m++] = '-';
        for (int j = 0; j < digits; j++) {
            if (j == digits - frac)
                num[m++] = '.';
            r = r * 6364136223846793005ULL + 1442695040888963407ULL;
            num[m++] = (char)('0' + (r >> 59) % 10);
        }
        num[m] = '\0';
        ck_assert_int_eq(nn_csv_parse_number(num, &vals[i]), 0);
        k += (size_t)sprintf(big + k, "%s,0\n", num);
    }
    p = nn_test_put("dec2.csv", big);
    free(big);
    ck_assert_msg(nn_csv_read(&d, NULL, p, &s, NULL, 0, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(d.n, N);
    for (int i = 0; i < N; i++) {
        float want = (float)vals[i], got = ((float *)d.x)[i];
        ck_assert_msg(memcmp(&want, &got, sizeof want) == 0, "row %d: %a, want %a", i,
                      (double)got, (double)want);
    }
    free(vals);
    nn_dataset_free(&d);
}
END_TEST

/* Files in dir whose name holds ".tmp." */
static int temp_files(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

START_TEST(test_csvcache_stale_temps_removed)
{
    const char *p0 = nn_test_put("st.csv", "a,b\n1,x\n2,y\n3,x\n4,y\n");
    char path[4200], dir[4200];
    snprintf(path, sizeof path, "%s", p0);
    snprintf(dir, sizeof dir, "%s", nn_test_path("cache"));
    nn_csv_spec s = spec_label_last();
    nn_source src = csv_source(path, &s);
    nn_csv_opts o = {NULL, 0, 0, false, NULL};
    nn_csv_cache_opts co = {.threads = 2, .chunk_bytes = 4};
    nn_csv_cache c;
    nn_error err = {0};
    ck_assert(nn_csv_cache_get(&src, &o, dir, &co, &c, &err) == 0);
    ck_assert(c.built);
    ck_assert_int_eq(temp_files(dir), 0);
    /* a killed build's temporary file (a process that is gone) is removed by
     * the next build; one of a live process is not */
    char stale[4300], live[4300];
    snprintf(stale, sizeof stale, "%s.tmp.%d.0", c.x_path, 999999999);
    snprintf(live, sizeof live, "%s.tmp.%d.0", c.y_path, 1);
    nn_test_write_file(stale, "x", 1);
    nn_test_write_file(live, "x", 1);
    nn_csv_cache_free(&c);
    nn_test_write_file(path, "a,b\n1,x\n2,y\n3,x\n5,y\n", 20);
    ck_assert(nn_csv_cache_get(&src, &o, dir, &co, &c, &err) == 0);
    ck_assert(c.built);
    ck_assert_int_eq(access(stale, F_OK), -1);
    ck_assert_int_eq(access(live, F_OK), 0);
    nn_csv_cache_free(&c);
}
END_TEST

Suite *csvcache_suite(void)
{
    Suite *s = suite_create("csvcache");
    TCase *t = tcase_create("csvcache");
    tcase_add_checked_fixture(t, nn_test_dir_fresh, NULL);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_csvcache_string_labels_quotes_across_parts);
    tcase_add_test(t, test_csvcache_labels_and_targets);
    tcase_add_test(t, test_csvcache_missing_comments_whitespace);
    tcase_add_test(t, test_csvcache_many_rows);
    tcase_add_test(t, test_csvcache_errors_name_the_line);
    tcase_add_test(t, test_csvcache_reused_and_invalidated);
    tcase_add_test(t, test_csvcache_unwritable_dir);
    tcase_add_test(t, test_csvcache_key_round_trip_and_strict);
    tcase_add_test(t, test_csvcache_split_respects_quotes);
    tcase_add_test(t, test_csvcache_gzip_and_source);
    tcase_add_test(t, test_csvcache_stale_temps_removed);
    tcase_add_test(t, test_csvcache_decimals_as_the_number_parser_reads_them);
    suite_add_tcase(s, t);
    return s;
}
