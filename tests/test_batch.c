/* test_batch.c - validation split, per-epoch shuffles, scaling and the
 * conversion of stored rows to float mini-batches. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/batch.h"
#include "kernels/kernels.h"
#include "pool/pool.h"
#include "tests.h"

START_TEST(test_split_is_deterministic_and_disjoint)
{
    nn_error e = {0};
    uint32_t *t1, *v1, *t2, *v2, *t3, *v3;
    size_t nt1, nv1, nt2, nv2, nt3, nv3;
    ck_assert_int_eq(nn_split(1001, 0.1, 7, &t1, &nt1, &v1, &nv1, &e), 0);
    ck_assert_int_eq(nn_split(1001, 0.1, 7, &t2, &nt2, &v2, &nv2, &e), 0);
    ck_assert_int_eq(nn_split(1001, 0.1, 8, &t3, &nt3, &v3, &nv3, &e), 0);
    ck_assert_uint_eq(nv1, 100); /* round(100.1) */
    ck_assert_uint_eq(nt1, 901);
    ck_assert_mem_eq(v1, v2, nv1 * sizeof(uint32_t));
    ck_assert_mem_eq(t1, t2, nt1 * sizeof(uint32_t));
    ck_assert(memcmp(v1, v3, nv1 * sizeof(uint32_t)) != 0); /* another seed, another split */
    char seen[1001] = {0};
    for (size_t i = 0; i < nt1; i++) {
        ck_assert(i == 0 || t1[i] > t1[i - 1]); /* sorted */
        seen[t1[i]]++;
    }
    for (size_t i = 0; i < nv1; i++) {
        ck_assert(i == 0 || v1[i] > v1[i - 1]);
        seen[v1[i]]++;
    }
    for (int i = 0; i < 1001; i++)
        ck_assert_int_eq(seen[i], 1); /* every row in exactly one set */
    free(t1), free(v1), free(t2), free(v2), free(t3), free(v3);
}
END_TEST

START_TEST(test_split_without_validation_keeps_file_order)
{
    nn_error e = {0};
    uint32_t *t, *v;
    size_t nt, nv;
    ck_assert_int_eq(nn_split(5, 0.0, 1, &t, &nt, &v, &nv, &e), 0);
    ck_assert_uint_eq(nt, 5);
    ck_assert_uint_eq(nv, 0);
    ck_assert_ptr_null(v);
    for (uint32_t i = 0; i < 5; i++)
        ck_assert_uint_eq(t[i], i);
    free(t);
}
END_TEST

START_TEST(test_epoch_shuffles_differ_but_repeat_for_a_seed)
{
    /* The trainer draws each epoch's order from the sorted row list with the
     * running generator: two epochs differ, the same seed repeats them. */
    enum { N = 50 };
    uint32_t e1[N], e2[N], again[N];
    nn_rng r, r2;
    nn_rng_seed(&r, 1, NN_STREAM_SHUFFLE);
    nn_rng_seed(&r2, 1, NN_STREAM_SHUFFLE);
    for (uint32_t i = 0; i < N; i++)
        e1[i] = e2[i] = again[i] = i;
    nn_rng_shuffle(&r, e1, N);
    nn_rng_shuffle(&r, e2, N);
    nn_rng_shuffle(&r2, again, N);
    ck_assert(memcmp(e1, e2, sizeof e1) != 0);
    ck_assert_mem_eq(e1, again, sizeof e1);
}
END_TEST

static nn_dataset make_u8(void)
{
    /* 3 rows x 2 features: [[0, 10], [255, 20], [51, 30]] */
    static uint8_t x[6] = {0, 10, 255, 20, 51, 30};
    static int32_t y[3] = {0, 1, 2};
    nn_dataset d = {0};
    d.type = NN_DT_U8;
    d.n = 3;
    d.features = 2;
    d.x = x;
    d.labels = y;
    d.n_classes = 3;
    return d;
}

START_TEST(test_gather_unit_scale_converts_selected_rows)
{
    nn_dataset d = make_u8();
    nn_error e = {0};
    float shift[2], mult[2], X[4];
    uint32_t idx[3] = {0, 1, 2};
    ck_assert_int_eq(nn_scaler_fit(shift, mult, NN_SCALE_UNIT, &d, idx, 3, "x", &e), 0);
    uint32_t rows[2] = {2, 1};
    nn_batch_gather(X, &d, rows, 2, shift, mult);
    ck_assert_float_eq_tol(X[0], 51.0f / 255, 1e-7);
    ck_assert_float_eq_tol(X[1], 30.0f / 255, 1e-7);
    ck_assert_float_eq_tol(X[2], 1.0f, 1e-7);
    ck_assert_float_eq_tol(X[3], 20.0f / 255, 1e-7);
    int32_t y[2];
    nn_batch_labels(y, &d, rows, 2);
    ck_assert_int_eq(y[0], 2);
    ck_assert_int_eq(y[1], 1);
}
END_TEST

START_TEST(test_standard_and_minmax_scaling_from_training_rows)
{
    nn_dataset d = make_u8();
    nn_error e = {0};
    float shift[2], mult[2], X[2];
    uint32_t idx[2] = {0, 2}; /* fitted on rows 0 and 2 only */
    ck_assert_int_eq(nn_scaler_fit(shift, mult, NN_SCALE_STANDARD, &d, idx, 2, "x", &e), 0);
    /* feature 0: mean 25.5, std 25.5; feature 1: mean 20, std 10 */
    ck_assert_float_eq_tol(shift[0], 25.5f, 1e-6);
    ck_assert_float_eq_tol(mult[0], 1.0f / 25.5f, 1e-7);
    ck_assert_float_eq_tol(shift[1], 20.0f, 1e-6);
    ck_assert_float_eq_tol(mult[1], 0.1f, 1e-7);
    uint32_t row = 2;
    nn_batch_gather(X, &d, &row, 1, shift, mult);
    ck_assert_float_eq_tol(X[0], 1.0f, 1e-6);
    ck_assert_float_eq_tol(X[1], 1.0f, 1e-6);

    ck_assert_int_eq(nn_scaler_fit(shift, mult, NN_SCALE_MINMAX, &d, idx, 2, "x", &e), 0);
    ck_assert_float_eq(shift[0], 0.0f);
    ck_assert_float_eq_tol(mult[0], 1.0f / 51, 1e-7);
    ck_assert_float_eq(shift[1], 10.0f);
    ck_assert_float_eq_tol(mult[1], 0.05f, 1e-7);

    /* a constant feature keeps a multiplier of 1 instead of dividing by 0 */
    uint32_t one = 1;
    ck_assert_int_eq(nn_scaler_fit(shift, mult, NN_SCALE_STANDARD, &d, &one, 1, "x", &e), 0);
    ck_assert_float_eq(mult[0], 1.0f);
    ck_assert_float_eq(shift[0], 255.0f);
}
END_TEST

START_TEST(test_unit_scale_rejects_float_data)
{
    float x[2] = {0.5f, 1.5f};
    nn_dataset d = {0};
    d.type = NN_DT_F32;
    d.n = 1;
    d.features = 2;
    d.x = x;
    nn_error e = {0};
    float shift[2], mult[2];
    uint32_t idx = 0;
    ck_assert_int_eq(nn_scaler_fit(shift, mult, NN_SCALE_UNIT, &d, &idx, 1, "f.idx", &e), -1);
    ck_assert_int_eq(e.code, 1);
    ck_assert_str_eq(e.msg, "f.idx: data.scale \"unit\" needs integer data, the file holds "
                            "float values (use \"none\", \"minmax\" or \"standard\")");
    ck_assert_int_eq(nn_scaler_fit(shift, mult, NN_SCALE_NONE, &d, &idx, 1, "f.idx", &e), 0);
    float X[2];
    nn_batch_gather(X, &d, &idx, 1, shift, mult);
    ck_assert_float_eq(X[0], 0.5f);
    ck_assert_float_eq(X[1], 1.5f);
}
END_TEST

START_TEST(test_gather_every_stored_type)
{
    int8_t i8[2] = {-128, 127};
    int16_t i16[2] = {-32768, 32767};
    int32_t i32[2] = {-100000, 2147483647};
    double f64[2] = {-1.25, 3.5};
    struct {
        nn_dtype t;
        void *x;
        float want0, want1;
    } cases[] = {{NN_DT_I8, i8, -128.0f / 127, 1.0f},
                 {NN_DT_I16, i16, -32768.0f / 32767, 1.0f},
                 {NN_DT_I32, i32, -100000.0f / 2147483647.0f, 1.0f},
                 {NN_DT_F64, f64, -1.25f, 3.5f}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        nn_dataset d = {0};
        d.type = cases[c].t;
        d.n = 1;
        d.features = 2;
        d.x = cases[c].x;
        nn_error e = {0};
        float shift[2], mult[2], X[2];
        uint32_t idx = 0;
        nn_scale k = cases[c].t == NN_DT_F64 ? NN_SCALE_NONE : NN_SCALE_UNIT;
        ck_assert_int_eq(nn_scaler_fit(shift, mult, k, &d, &idx, 1, "x", &e), 0);
        nn_batch_gather(X, &d, &idx, 1, shift, mult);
        ck_assert_float_eq_tol(X[0], cases[c].want0, 1e-6);
        ck_assert_float_eq_tol(X[1], cases[c].want1, 1e-6);
    }
}
END_TEST

/* A batch large enough to be shared among threads, of every stored type,
 * at thread counts 1, 2, 3 and 5: each value is exactly (x - shift) * mult
 * computed one at a time, rows in idx order (repeats and reversed order
 * included), so no thread count changes a bit. */
START_TEST(test_gather_large_batch_any_thread_count_matches_the_definition)
{
    enum { N = 300, F = 787, B = 257 };
    static const nn_dtype types[] = {NN_DT_U8, NN_DT_I8, NN_DT_I16, NN_DT_I32, NN_DT_F32,
                                     NN_DT_F64};
    static const int threads[] = {1, 2, 3, 5};
    uint32_t idx[B];
    for (int i = 0; i < B; i++)
        idx[i] = (uint32_t)((N - 1 - i * 7 % N + N) % N); /* scattered, backwards */
    idx[B - 1] = idx[0]; /* a row twice */
    float *shift = malloc(sizeof(float) * F), *mult = malloc(sizeof(float) * F);
    float *X = malloc(sizeof(float) * B * F), *want = malloc(sizeof(float) * B * F);
    void *x = malloc(sizeof(double) * N * F);
    ck_assert(shift && mult && X && want && x);
    for (int f = 0; f < F; f++) {
        shift[f] = (float)(f % 13) - 6.5f;
        mult[f] = 1.0f / (float)(1 + f % 11);
    }
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        nn_dataset d = {0};
        d.type = types[t];
        d.n = N;
        d.features = F;
        d.x = x;
        for (size_t i = 0; i < (size_t)N * F; i++) {
            uint32_t v = (uint32_t)(i * 2654435761u >> 7);
            switch (d.type) {
            case NN_DT_U8: ((uint8_t *)x)[i] = (uint8_t)v; break;
            case NN_DT_I8: ((int8_t *)x)[i] = (int8_t)(uint8_t)v; break;
            case NN_DT_I16: ((int16_t *)x)[i] = (int16_t)(uint16_t)v; break;
            case NN_DT_I32: ((int32_t *)x)[i] = (int32_t)v; break;
            case NN_DT_F32: ((float *)x)[i] = (float)(int32_t)v / 3.0f; break;
            case NN_DT_F64: ((double *)x)[i] = (double)(int32_t)v / 7.0; break;
            }
        }
        for (int i = 0; i < B; i++)
            for (int f = 0; f < F; f++) {
                float v = (float)nn_dataset_get(&d, idx[i], (size_t)f);
                want[(size_t)i * F + f] = (v - shift[f]) * mult[f];
            }
        /* every thread count with the best instruction set, then each
         * instruction set this processor has (their vector widths differ) */
        static const char *const isas[] = {"scalar", "avx2", "avx512"};
        for (size_t k = 0; k < 7; k++) {
            nn_error e = {0};
            if (k >= 4 && nn_kernels_select(NN_PREC_FP32, isas[k - 4], &e) < 0)
                continue; /* the processor lacks it */
            nn_pool_set_threads(k < 4 ? threads[k] : 2);
            memset(X, 0xff, sizeof(float) * B * F);
            nn_batch_gather(X, &d, idx, B, shift, mult);
            ck_assert_msg(memcmp(X, want, sizeof(float) * B * F) == 0,
                          "type %s, %s kernels, %d threads: the batch differs",
                          nn_dtype_name(d.type), nn_kernels_get()->name, k < 4 ? threads[k] : 2);
        }
    }
    nn_error e = {0};
    ck_assert_int_eq(nn_kernels_select(NN_PREC_FP32, NULL, &e), 0);
    nn_pool_set_threads(1);
    free(shift);
    free(mult);
    free(X);
    free(want);
    free(x);
}
END_TEST

/* nn_split3: one shuffle; the test rows first, then the validation rows;
 * with no test share it is nn_split. */
START_TEST(test_split3_takes_test_then_validation_rows_from_one_shuffle)
{
    nn_error e = {0};
    uint32_t *tr, *va, *te, *tr2, *va2;
    size_t ntr, nva, nte, ntr2, nva2;
    ck_assert_int_eq(nn_split3(NULL, 50, 0.2, 0.3, 9, &tr, &ntr, &va, &nva, &te, &nte, &e), 0);
    ck_assert_uint_eq(nte, 15);
    ck_assert_uint_eq(nva, 10);
    ck_assert_uint_eq(ntr, 25);
    /* a partition of 0..49 */
    int seen[50] = {0};
    for (size_t i = 0; i < ntr; i++)
        seen[tr[i]]++;
    for (size_t i = 0; i < nva; i++)
        seen[va[i]]++;
    for (size_t i = 0; i < nte; i++)
        seen[te[i]]++;
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(seen[i], 1);
    /* the test and validation rows together are the validation rows of a
     * single share of 0.5, and the test rows those of a share of 0.3 */
    ck_assert_int_eq(nn_split(50, 0.5, 9, &tr2, &ntr2, &va2, &nva2, &e), 0);
    ck_assert_uint_eq(ntr2, ntr);
    ck_assert_mem_eq(tr2, tr, ntr * sizeof *tr);
    free(tr2);
    free(va2);
    ck_assert_int_eq(nn_split(50, 0.3, 9, &tr2, &ntr2, &va2, &nva2, &e), 0);
    ck_assert_uint_eq(nva2, nte);
    ck_assert_mem_eq(va2, te, nte * sizeof *te);
    free(tr2);
    free(va2);
    free(tr);
    free(va);
    free(te);
    /* no shares: every row trains, in order */
    ck_assert_int_eq(nn_split3(NULL, 5, 0, 0, 9, &tr, &ntr, &va, &nva, &te, &nte, &e), 0);
    ck_assert_uint_eq(ntr, 5);
    ck_assert_ptr_null(va);
    ck_assert_ptr_null(te);
    for (uint32_t i = 0; i < 5; i++)
        ck_assert_uint_eq(tr[i], i);
    free(tr);
}
END_TEST

/* nn_cv_fold: the folds partition the rows, sizes floor((f+1)n/K) - floor(fn/K),
 * and fold f's rows are positions [f n / K, (f + 1) n / K) of the split's
 * shuffle: the first fold is a test share of n/K when that is whole. */
START_TEST(test_cv_folds_partition_the_rows)
{
    nn_error e = {0};
    int seen[23] = {0};
    for (int f = 0; f < 4; f++) {
        uint32_t *tr, *fo;
        size_t ntr, nfo;
        ck_assert_int_eq(nn_cv_fold(23, 4, f, 5, &tr, &ntr, &fo, &nfo, &e), 0);
        ck_assert_uint_eq(nfo, (size_t)((f + 1) * 23 / 4 - f * 23 / 4));
        ck_assert_uint_eq(ntr + nfo, 23);
        for (size_t i = 0; i < nfo; i++)
            seen[fo[i]]++;
        for (size_t i = 1; i < nfo; i++)
            ck_assert_uint_lt(fo[i - 1], fo[i]);
        free(tr);
        free(fo);
    }
    for (int i = 0; i < 23; i++)
        ck_assert_int_eq(seen[i], 1);
    uint32_t *tr, *fo, *a, *b;
    size_t ntr, nfo, na, nb;
    ck_assert_int_eq(nn_cv_fold(20, 4, 0, 5, &tr, &ntr, &fo, &nfo, &e), 0);
    ck_assert_int_eq(nn_split(20, 0.25, 5, &a, &na, &b, &nb, &e), 0);
    ck_assert_uint_eq(nb, nfo);
    ck_assert_mem_eq(b, fo, nfo * sizeof *fo);
    free(tr);
    free(fo);
    free(a);
    free(b);
}
END_TEST

/* Target scaling: mean and population std of the training rows only; a
 * constant target keeps std 1; forward then back gives the targets again,
 * and unscaling outputs is the same map. */
START_TEST(test_target_scaling_round_trip)
{
    float t[8] = {10000, 5, 10002, 5, 10004, 5, 99999, 5}; /* two targets, 4 rows */
    nn_dataset d = {.n = 4, .n_targets = 2, .targets = t};
    uint32_t rows[3] = {0, 1, 2}; /* the fourth row is held out */
    double mean[2], sd[2];
    nn_target_scaler_fit(mean, sd, &d, rows, 3);
    ck_assert_double_eq_tol(mean[0], 10002, 1e-9);
    ck_assert_double_eq_tol(sd[0], sqrt(8.0 / 3.0), 1e-9);
    ck_assert_double_eq(mean[1], 5);
    ck_assert_double_eq(sd[1], 1); /* constant */
    float orig[8];
    memcpy(orig, t, sizeof t);
    nn_targets_scale(&d, mean, sd, true);
    ck_assert_float_eq_tol(t[0], (float)(-2 / sqrt(8.0 / 3.0)), 1e-6);
    ck_assert_float_eq_tol(t[2], 0, 1e-6);
    ck_assert_float_eq(t[1], 0);
    float y[8];
    memcpy(y, t, sizeof t);
    nn_targets_scale(&d, mean, sd, false);
    nn_targets_unscale(y, 4, 2, mean, sd);
    for (int i = 0; i < 8; i++) {
        ck_assert_float_eq_tol(t[i], orig[i], 1e-2f);
        ck_assert_float_eq(y[i], t[i]);
    }
}
END_TEST

/* Label smoothing: one-hot rows of K classes become (1 - e) t + e / K, a
 * single sigmoid unit's 0/1 targets e / 2 and 1 - e / 2, and e = 0 leaves
 * them as they are. */
START_TEST(test_targets_smooth)
{
    int32_t labels[3] = {2, 0, 1};
    nn_dataset d = {0};
    d.n = 3;
    d.features = 1;
    d.type = NN_DT_F32;
    d.labels = labels;
    float T[9], want[9];
    uint32_t idx[3] = {0, 1, 2};
    nn_batch_targets(T, &d, idx, 3, 3);
    nn_targets_smooth(T, 3, 3, 0.3);
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++)
            want[i * 3 + k] = (float)((k == labels[i] ? 0.7 : 0.0) + 0.3 / 3.0);
    for (int p = 0; p < 9; p++)
        ck_assert_float_eq(T[p], want[p]);
    /* each row still sums to 1 */
    for (int i = 0; i < 3; i++)
        ck_assert_float_eq_tol(T[i * 3] + T[i * 3 + 1] + T[i * 3 + 2], 1.0f, 1e-6f);
    int32_t bin[2] = {1, 0};
    d.n = 2;
    d.labels = bin;
    float t1[2];
    nn_batch_targets(t1, &d, idx, 2, 1);
    nn_targets_smooth(t1, 2, 1, 0.2);
    ck_assert_float_eq(t1[0], 0.9f);
    ck_assert_float_eq(t1[1], 0.1f);
    nn_batch_targets(t1, &d, idx, 2, 1);
    nn_targets_smooth(t1, 2, 1, 0.0);
    ck_assert_float_eq(t1[0], 1.0f);
    ck_assert_float_eq(t1[1], 0.0f);
}
END_TEST

Suite *batch_suite(void)
{
    Suite *s = suite_create("batch");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_targets_smooth);
    tcase_add_test(tc, test_split_is_deterministic_and_disjoint);
    tcase_add_test(tc, test_split_without_validation_keeps_file_order);
    tcase_add_test(tc, test_epoch_shuffles_differ_but_repeat_for_a_seed);
    tcase_add_test(tc, test_gather_unit_scale_converts_selected_rows);
    tcase_add_test(tc, test_standard_and_minmax_scaling_from_training_rows);
    tcase_add_test(tc, test_unit_scale_rejects_float_data);
    tcase_add_test(tc, test_gather_every_stored_type);
    tcase_add_test(tc, test_gather_large_batch_any_thread_count_matches_the_definition);
    tcase_add_test(tc, test_split3_takes_test_then_validation_rows_from_one_shuffle);
    tcase_add_test(tc, test_cv_folds_partition_the_rows);
    tcase_add_test(tc, test_target_scaling_round_trip);
    suite_add_tcase(s, tc);
    return s;
}
