/* test_stream.c - streamed sources (data/stream.h, data/rowsrc.h): the
 * holdout rule's shares, the plan within max_memory_mb, passes that give
 * every row of their kind exactly once with its own values, orders that are
 * a pure function of the seed (and differ between seeds), a resumed pass
 * equal to the tail of a whole one, a file that shrinks under a pass, and
 * the scalers' parts giving the bits of one call. */
#include "tests.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/batch.h"
#include "data/npy.h"
#include "data/rowsrc.h"
#include "data/source.h"
#include "data/stream.h"

/* x.npy (n x F <f4, x[r][f] = r * 10 + f) and y.npy (n <i4, r % 3). */
static void put_data(size_t n, size_t F)
{
    float *x = malloc(sizeof(float) * n * F);
    int32_t *y = malloc(sizeof(int32_t) * n);
    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_nonnull(y);
    for (size_t r = 0; r < n; r++) {
        for (size_t f = 0; f < F; f++)
            x[r * F + f] = (float)(r * 10 + f);
        y[r] = (int32_t)(r % 3);
    }
    FILE *fx = fopen(nn_test_path("x.npy"), "wb"), *fy = fopen(nn_test_path("y.npy"), "wb");
    ck_assert_ptr_nonnull(fx);
    ck_assert_ptr_nonnull(fy);
    uint64_t sx[2] = {n, F}, sy[1] = {n};
    ck_assert_int_eq(nn_npy_write_stream(fx, "<f4", 2, sx, x), 0);
    ck_assert_int_eq(nn_npy_write_stream(fy, "<i4", 1, sy, y), 0);
    fclose(fx);
    fclose(fy);
    free(x);
    free(y);
}

static void open_src(nn_source *s, nn_rowsrc *r)
{
    nn_error err = {0};
    char spec[2048];
    snprintf(spec, sizeof spec, "%s,%s", nn_test_path("x.npy"), nn_test_path("y.npy"));
    ck_assert_msg(nn_source_from_spec(s, spec, NULL, NULL, true, &err) == 0, "%s", err.msg);
    ck_assert_msg(nn_rowsrc_open(r, s, &err) == 0, "%s", err.msg);
}

/* Every row of a pass: its row numbers in order (*n of them), each row's
 * values checked against its number. */
static uint64_t *drain(nn_stream *p, const nn_rowsrc *src, size_t cap, size_t *n)
{
    nn_dataset d;
    nn_error err = {0};
    ck_assert_int_eq(nn_stream_staging(&d, src, cap, &err), 0);
    uint64_t *all = malloc(sizeof(uint64_t) * (size_t)(src->n + 1)), *rows = malloc(sizeof(uint64_t) * cap);
    ck_assert_ptr_nonnull(all);
    ck_assert_ptr_nonnull(rows);
    *n = 0;
    long got;
    while ((got = nn_stream_next(p, &d, cap, rows, &err)) > 0) {
        ck_assert_uint_le(*n + (size_t)got, src->n);
        for (long i = 0; i < got; i++) {
            ck_assert(nn_dataset_get(&d, (size_t)i, 1) == (double)(rows[i] * 10 + 1));
            ck_assert_int_eq(d.labels[i], (int)(rows[i] % 3));
            all[(*n)++] = rows[i];
        }
    }
    ck_assert_msg(got == 0, "%s", err.msg);
    nn_dataset_free(&d);
    free(rows);
    return all;
}

START_TEST(test_stream_holdout_rule_gives_the_fractions)
{
    size_t n = 100000, k[3] = {0, 0, 0};
    for (uint64_t r = 0; r < n; r++) {
        int a = nn_holdout_kind(9, 0.2, 0.1, r);
        ck_assert_int_eq(a, nn_holdout_kind(9, 0.2, 0.1, r));
        k[a]++;
        /* a test row stays a test row when the validation share changes */
        if (a == NN_ROW_TEST)
            ck_assert_int_eq(nn_holdout_kind(9, 0.4, 0.1, r), NN_ROW_TEST);
        ck_assert_int_eq(nn_holdout_kind(9, 0, 0, r), NN_ROW_TRAIN);
    }
    ck_assert(fabs((double)k[NN_ROW_VAL] / (double)n - 0.2) < 0.01);
    ck_assert(fabs((double)k[NN_ROW_TEST] / (double)n - 0.1) < 0.01);
    /* another seed, other rows */
    size_t same = 0;
    for (uint64_t r = 0; r < 1000; r++)
        same += nn_holdout_kind(9, 0.5, 0, r) == nn_holdout_kind(10, 0.5, 0, r);
    ck_assert_uint_lt(same, 600);
}
END_TEST

START_TEST(test_stream_plan_stays_within_the_memory)
{
    put_data(1000, 5);
    nn_source s;
    nn_rowsrc r;
    open_src(&s, &r);
    size_t R = nn_rowsrc_row_bytes(&r) + sizeof(uint32_t);
    ck_assert_uint_eq(R, 5 * 4 + 4 + 4);
    nn_stream_plan p;
    nn_error err = {0};
    for (double mb = 0.0001; mb < 0.1; mb *= 1.7) {
        ck_assert_msg(nn_stream_plan_init(&p, &r, mb, 0, 0, 0, 1, 0, 0, 1, &err) == 0, "%s",
                      err.msg);
        ck_assert_uint_ge(p.window_rows, 1);
        ck_assert(2.0 * (double)p.window_rows * (double)R <= mb * 1048576.0);
        ck_assert_uint_eq(p.window_rows % p.block_rows, 0);
        ck_assert(p.window_rows < 8 || p.block_rows <= p.window_rows / 8);
        ck_assert_uint_le(p.window_rows, 1000);
        ck_assert_uint_eq(p.n_blocks, (1000 + p.block_rows - 1) / p.block_rows);
        ck_assert_uint_eq(p.total[NN_ROW_TRAIN], 1000);
        nn_stream_plan_free(&p);
    }
    /* a given buffer, and a checkpoint's plan */
    ck_assert_int_eq(nn_stream_plan_init(&p, &r, 1, 100, 0, 0, 1, 0, 0, 1, &err), 0);
    ck_assert_uint_le(p.window_rows, 100);
    ck_assert_uint_ge(p.window_rows, 96);
    nn_stream_plan_free(&p);
    ck_assert_int_eq(nn_stream_plan_init(&p, &r, 1, 0, 7, 21, 1, 0, 0, 1, &err), 0);
    ck_assert_uint_eq(p.block_rows, 7);
    ck_assert_uint_eq(p.window_rows, 21);
    nn_stream_plan_free(&p);
    /* too little memory */
    ck_assert_int_eq(nn_stream_plan_init(&p, &r, 0.01, 1000, 0, 0, 1, 0, 0, 1, &err), -1);
    ck_assert_int_eq(err.code, NN_EXIT_RUNTIME);
    ck_assert_str_eq(err.msg, nn_test_fmt("%s: data.shuffle_buffer of 1000 rows of 28 bytes does "
                                          "not fit twice (the window in use and the next) in "
                                          "data.max_memory_mb (0.01 MB)", r.name));
    ck_assert_int_eq(nn_stream_plan_init(&p, &r, 1e-6, 0, 0, 0, 1, 0, 0, 1, &err), -1);
    ck_assert_str_eq(err.msg, nn_test_fmt("%s: data.max_memory_mb (1e-06 MB) does not hold two "
                                          "rows of 28 bytes", r.name));
    ck_assert_int_eq(nn_stream_plan_init(&p, &r, 1, 0, 7, 20, 1, 0, 0, 1, &err), -1);
    nn_rowsrc_close(&r);
    nn_source_clear(&s);
}
END_TEST

START_TEST(test_stream_pass_gives_each_row_of_its_kind_once)
{
    put_data(1000, 3);
    nn_source s;
    nn_rowsrc r;
    open_src(&s, &r);
    nn_stream_plan p;
    nn_error err = {0};
    /* windows of 96 rows in blocks of 12 */
    ck_assert_int_eq(nn_stream_plan_init(&p, &r, 1, 100, 0, 0, 4, 0.2, 0.1, 1, &err), 0);
    ck_assert_uint_eq(p.block_rows, 12);
    ck_assert_uint_eq(p.window_rows, 96);
    static const size_t caps[] = {1, 7, 32, 200};
    for (int kind = 0; kind <= NN_ROW_ANY; kind++) {
        for (int c = 0; c < 4; c++) {
            nn_stream *ps = nn_stream_start(&p, kind, true, nn_stream_epoch_seed(4, 1), 0, &err);
            ck_assert_msg(ps != NULL, "%s", err.msg);
            size_t n;
            uint64_t *rows = drain(ps, &r, caps[c], &n);
            nn_stream_stop(ps);
            size_t want = kind == NN_ROW_ANY ? 1000 : (size_t)p.total[kind];
            ck_assert_uint_eq(n, want);
            char *seen = calloc(1000, 1);
            size_t in_order = 0;
            for (size_t i = 0; i < n; i++) {
                ck_assert_int_eq(seen[rows[i]], 0);
                seen[rows[i]] = 1;
                if (kind != NN_ROW_ANY)
                    ck_assert_int_eq(nn_holdout_kind(4, 0.2, 0.1, rows[i]), kind);
                in_order += i > 0 && rows[i] > rows[i - 1];
            }
            /* shuffled: far from the file's order */
            ck_assert_uint_lt(in_order, n * 3 / 4);
            free(seen);
            free(rows);
        }
    }
    /* without shuffling: the file's order */
    nn_stream *ps = nn_stream_start(&p, NN_ROW_TRAIN, false, 0, 0, &err);
    size_t n;
    uint64_t *rows = drain(ps, &r, 50, &n);
    nn_stream_stop(ps);
    for (size_t i = 1; i < n; i++)
        ck_assert_uint_lt(rows[i - 1], rows[i]);
    free(rows);
    nn_stream_plan_free(&p);
    nn_rowsrc_close(&r);
    nn_source_clear(&s);
}
END_TEST

START_TEST(test_stream_order_is_a_function_of_the_seed_and_resumes_exactly)
{
    put_data(700, 2);
    nn_source s;
    nn_rowsrc r;
    open_src(&s, &r);
    nn_stream_plan p;
    nn_error err = {0};
    ck_assert_int_eq(nn_stream_plan_init(&p, &r, 1, 64, 0, 0, 4, 0.1, 0, 1, &err), 0);
    size_t n1, n2, n3;
    nn_stream *a = nn_stream_start(&p, NN_ROW_TRAIN, true, nn_stream_epoch_seed(4, 1), 0, &err);
    uint64_t *r1 = drain(a, &r, 16, &n1);
    nn_stream_stop(a);
    a = nn_stream_start(&p, NN_ROW_TRAIN, true, nn_stream_epoch_seed(4, 1), 0, &err);
    uint64_t *r2 = drain(a, &r, 5, &n2);
    nn_stream_stop(a);
    ck_assert_uint_eq(n1, n2);
    ck_assert_mem_eq(r1, r2, n1 * sizeof(uint64_t));
    free(r2);
    /* another epoch, another order */
    a = nn_stream_start(&p, NN_ROW_TRAIN, true, nn_stream_epoch_seed(4, 2), 0, &err);
    r2 = drain(a, &r, 16, &n2);
    nn_stream_stop(a);
    ck_assert_uint_eq(n1, n2);
    ck_assert(memcmp(r1, r2, n1 * sizeof(uint64_t)) != 0);
    free(r2);
    /* a pass that skips k rows is the whole pass's tail, for every k at and
     * around window boundaries */
    static const size_t skips[] = {1, 63, 64, 65, 100, 333};
    for (int i = 0; i < 6; i++) {
        size_t k = skips[i];
        a = nn_stream_start(&p, NN_ROW_TRAIN, true, nn_stream_epoch_seed(4, 1), k, &err);
        ck_assert_msg(a != NULL, "%s", err.msg);
        uint64_t *r3 = drain(a, &r, 9, &n3);
        nn_stream_stop(a);
        ck_assert_uint_eq(n3, n1 - k);
        ck_assert_mem_eq(r3, r1 + k, n3 * sizeof(uint64_t));
        free(r3);
    }
    ck_assert_ptr_null(nn_stream_start(&p, NN_ROW_TRAIN, true, 1, n1 + 1, &err));
    free(r1);
    nn_stream_plan_free(&p);
    nn_rowsrc_close(&r);
    nn_source_clear(&s);
}
END_TEST

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Parts of a pass (nn_stream_start_range): in file order their rows one
 * after the other are the whole pass's; shuffled, each part holds exactly
 * the rows of its range of the unshuffled sequence; a part resumed at k is
 * its tail; and the parts together read no more rows than the whole. */
START_TEST(test_stream_parts_split_a_pass)
{
    put_data(900, 3);
    nn_source s;
    nn_rowsrc r;
    open_src(&s, &r);
    nn_stream_plan p;
    nn_error err = {0};
    /* 4 slices: blocks of at most 96 / 8 / 4 = 3 rows */
    ck_assert_int_eq(nn_stream_plan_init(&p, &r, 1, 96, 0, 0, 4, 0.2, 0.1, 4, &err), 0);
    ck_assert_uint_eq(p.block_rows, 3);
    static const int kinds[] = {NN_ROW_TRAIN, NN_ROW_VAL, NN_ROW_ANY};
    for (int ki = 0; ki < 3; ki++) {
        int kind = kinds[ki];
        uint64_t total = nn_stream_kind_rows(&p, kind);
        for (int shuffle = 0; shuffle < 2; shuffle++) {
            uint64_t seed = nn_stream_epoch_seed(4, 3);
            /* the sequence: the whole pass a block a window, each block's
             * rows put back in file order */
            nn_stream_range whole = {kind, shuffle, seed, 0, UINT64_MAX, 0, 0, 1};
            p.rows_read = 0;
            nn_stream *a = nn_stream_start_range(&p, &whole, &err);
            ck_assert_msg(a != NULL, "%s", err.msg);
            size_t n;
            uint64_t *seq = drain(a, &r, 7, &n);
            nn_stream_stop(a);
            for (size_t i = 0, j; i < n; i = j) {
                for (j = i; j < n && seq[j] / p.block_rows == seq[i] / p.block_rows; j++)
                    ;
                qsort(seq + i, j - i, sizeof *seq, cmp_u64);
            }
            uint64_t read_whole = p.rows_read;
            ck_assert_uint_eq(n, total);
            /* 5 parts, some starting and ending inside blocks */
            static const uint64_t cut[] = {0, 1, 100, 101, 377, UINT64_MAX};
            uint64_t read_parts = 0;
            for (int q = 0; q < 5; q++) {
                uint64_t from = cut[q] < total ? cut[q] : total;
                uint64_t to = cut[q + 1] < total ? cut[q + 1] : total;
                nn_stream_range part = {kind, shuffle, seed, from, cut[q + 1], 0, q + 1, 2};
                p.rows_read = 0;
                a = nn_stream_start_range(&p, &part, &err);
                ck_assert_msg(a != NULL, "%s", err.msg);
                size_t m;
                uint64_t *got = drain(a, &r, 5, &m);
                nn_stream_stop(a);
                read_parts += p.rows_read;
                ck_assert_uint_eq(m, to - from);
                if (!shuffle) {
                    ck_assert_mem_eq(got, seq + from, m * sizeof(uint64_t));
                } else { /* the same rows, in another order */
                    uint64_t *want = malloc(sizeof(uint64_t) * (m ? m : 1));
                    memcpy(want, seq + from, m * sizeof(uint64_t));
                    for (size_t i = 0; i < m; i++) {
                        size_t j = 0;
                        while (j < m && want[j] != got[i])
                            j++;
                        ck_assert_msg(j < m, "part %d: row %llu is not in its range", q,
                                      (unsigned long long)got[i]);
                        want[j] = UINT64_MAX;
                    }
                    free(want);
                    /* resumed at 3: the tail */
                    if (m <= 3) {
                        free(got);
                        continue;
                    }
                    part.skip = 3;
                    a = nn_stream_start_range(&p, &part, &err);
                    ck_assert_msg(a != NULL, "%s", err.msg);
                    size_t m3;
                    uint64_t *tail = drain(a, &r, 4, &m3);
                    nn_stream_stop(a);
                    ck_assert_uint_eq(m3, m - 3);
                    ck_assert_mem_eq(tail, got + 3, m3 * sizeof(uint64_t));
                    free(tail);
                }
                free(got);
            }
            ck_assert_uint_le(read_parts, read_whole);
            ck_assert_uint_ge(read_parts, total);
            free(seq);
        }
    }
    /* an empty part */
    nn_stream_range none = {NN_ROW_TRAIN, true, 1, 50, 50, 0, 1, 2};
    nn_stream *a = nn_stream_start_range(&p, &none, &err);
    ck_assert_msg(a != NULL, "%s", err.msg);
    size_t m;
    free(drain(a, &r, 5, &m));
    nn_stream_stop(a);
    ck_assert_uint_eq(m, 0);
    nn_stream_plan_free(&p);
    nn_rowsrc_close(&r);
    nn_source_clear(&s);
}
END_TEST

START_TEST(test_stream_reports_a_file_that_shrank)
{
    put_data(2000, 4);
    nn_source s;
    nn_rowsrc r;
    open_src(&s, &r);
    nn_stream_plan p;
    nn_error err = {0};
    ck_assert_int_eq(nn_stream_plan_init(&p, &r, 1, 200, 0, 0, 4, 0, 0, 1, &err), 0);
    ck_assert_int_eq(truncate(nn_test_path("x.npy"), 128 + 16 * 1000), 0);
    nn_stream *a = nn_stream_start(&p, NN_ROW_ANY, false, 0, 0, &err);
    nn_dataset d;
    ck_assert_int_eq(nn_stream_staging(&d, &r, 100, &err), 0);
    long got;
    size_t total = 0;
    while ((got = nn_stream_next(a, &d, 100, NULL, &err)) > 0)
        total += (size_t)got;
    ck_assert_int_eq(got, -1);
    ck_assert_uint_le(total, 1000);
    ck_assert_int_eq(err.code, NN_EXIT_RUNTIME);
    ck_assert_msg(strstr(err.msg, "x.npy: ") != NULL && strchr(err.msg, '\n') == NULL, "%s",
                  err.msg);
    nn_stream_stop(a);
    nn_dataset_free(&d);
    nn_stream_plan_free(&p);
    nn_rowsrc_close(&r);
    nn_source_clear(&s);
}
END_TEST

START_TEST(test_stream_scalers_in_parts_give_the_same_bits)
{
    /* float data far from 0 with a small spread: the shifted sums keep it exact enough */
    size_t n = 501, F = 3;
    float *x = malloc(sizeof(float) * n * F);
    double *tg = NULL;
    for (size_t r = 0; r < n; r++)
        for (size_t f = 0; f < F; f++)
            x[r * F + f] = (float)(1e4 * (double)(f + 1) + sin((double)(r * (f + 3))));
    nn_dataset d = {.type = NN_DT_F32, .n = n, .features = F, .x = x};
    nn_scale kinds[2] = {NN_SCALE_STANDARD, NN_SCALE_MINMAX};
    for (int k = 0; k < 2; k++) {
        float s1[3], m1[3], s2[3], m2[3];
        nn_error err = {0};
        ck_assert_int_eq(nn_scaler_fit(s1, m1, kinds[k], &d, NULL, n, "x", &err), 0);
        nn_scaler_acc a;
        ck_assert_int_eq(nn_scaler_acc_init(&a, kinds[k], d.type, F, "x", &err), 0);
        size_t cuts[4] = {0, 1, 200, n};
        for (int c = 0; c < 3; c++) {
            nn_dataset part = d;
            part.x = x + cuts[c] * F;
            part.n = cuts[c + 1] - cuts[c];
            nn_scaler_acc_add(&a, &part, NULL, part.n);
        }
        nn_scaler_acc_result(&a, s2, m2);
        nn_scaler_acc_free(&a);
        ck_assert_mem_eq(s1, s2, sizeof s1);
        ck_assert_mem_eq(m1, m2, sizeof m1);
        /* against a two-pass double reference */
        for (size_t f = 0; f < F && kinds[k] == NN_SCALE_STANDARD; f++) {
            double mean = 0, ss = 0;
            for (size_t r = 0; r < n; r++)
                mean += x[r * F + f];
            mean /= (double)n;
            for (size_t r = 0; r < n; r++)
                ss += (x[r * F + f] - mean) * (x[r * F + f] - mean);
            ck_assert(fabs(s1[f] - mean) <= 1e-7 * fabs(mean));
            ck_assert(fabs(m1[f] - 1.0 / sqrt(ss / (double)n)) <= 1e-5 / sqrt(ss / (double)n));
        }
    }
    free(x);
    free(tg);
}
END_TEST

Suite *stream_suite(void)
{
    Suite *s = suite_create("stream");
    TCase *t = tcase_create("core");
    tcase_add_checked_fixture(t, nn_test_dir_fresh, NULL);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_stream_holdout_rule_gives_the_fractions);
    tcase_add_test(t, test_stream_plan_stays_within_the_memory);
    tcase_add_test(t, test_stream_pass_gives_each_row_of_its_kind_once);
    tcase_add_test(t, test_stream_order_is_a_function_of_the_seed_and_resumes_exactly);
    tcase_add_test(t, test_stream_parts_split_a_pass);
    tcase_add_test(t, test_stream_reports_a_file_that_shrank);
    tcase_add_test(t, test_stream_scalers_in_parts_give_the_same_bits);
    suite_add_tcase(s, t);
    return s;
}
