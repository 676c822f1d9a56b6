/* test_metrics.c - loss, accuracy, confusion and regression errors against
 * values worked out by hand. */
#include <math.h>

#include "eval/metrics.h"
#include "tests.h"

START_TEST(test_regression_metrics_hand_computed)
{
    /* Two outputs, three samples, added in two batches.
     *   targets  y1 = 1, 2, 3        y2 = 0, 0, 6
     *   outputs     1.5, 2, 2           1, -1, 6
     *   errors      0.5, 0, -1          1, -1, 0
     * SSE = (0.25 + 0 + 1) + (1 + 1 + 0) = 3.25 over 6 values: MSE 0.541666...
     * SAE = 1.5 + 2 = 3.5 over 6: MAE 0.583333...
     * SS_tot: y1 mean 2 -> 2; y2 mean 2 -> 4 + 4 + 16 = 24
     * R^2 = mean(1 - 1.25/2, 1 - 2/24) = mean(0.375, 0.916666...) = 0.6458333... */
    nn_acc a;
    nn_error e = {0};
    ck_assert_int_eq(nn_acc_init(&a, 2, true, false, &e), 0);
    const float T1[4] = {1, 0, 2, 0}, Y1[4] = {1.5f, 1, 2, -1};
    const float T2[2] = {3, 6}, Y2[2] = {2, 6};
    nn_acc_add(&a, Y1, T1, NULL, 2, 0.75);  /* mean cost of the batch, whatever it is */
    nn_acc_add(&a, Y2, T2, NULL, 1, 0.25);
    nn_result r = nn_acc_result(&a);
    ck_assert_uint_eq(r.samples, 3);
    ck_assert_double_eq_tol(r.loss, (0.75 * 2 + 0.25) / 3, 1e-12);
    ck_assert_double_eq_tol(r.mse, 3.25 / 6, 1e-12);
    ck_assert_double_eq_tol(r.mae, 3.5 / 6, 1e-12);
    ck_assert_double_eq_tol(r.r2, (0.375 + (1.0 - 2.0 / 24)) / 2, 1e-12);
    ck_assert(isnan(r.accuracy));
    nn_acc_free(&a);
}
END_TEST

START_TEST(test_r2_undefined_for_constant_target)
{
    nn_acc a;
    nn_error e = {0};
    ck_assert_int_eq(nn_acc_init(&a, 1, true, false, &e), 0);
    const float T[3] = {2, 2, 2}, Y[3] = {1, 2, 3};
    nn_acc_add(&a, Y, T, NULL, 3, 1.0);
    nn_result r = nn_acc_result(&a);
    ck_assert(isnan(r.r2));
    ck_assert_double_eq_tol(r.mse, 2.0 / 3, 1e-12);
    nn_acc_free(&a);
}
END_TEST

START_TEST(test_classification_accuracy_and_confusion)
{
    /* 3 classes; predictions by the largest output. */
    nn_acc a;
    nn_error e = {0};
    ck_assert_int_eq(nn_acc_init(&a, 3, false, true, &e), 0);
    const float Y[12] = {0.9f, 0.1f, 0.0f,   /* -> 0 */
                         0.1f, 0.2f, 0.7f,   /* -> 2 */
                         0.3f, 0.6f, 0.1f,   /* -> 1 */
                         0.5f, 0.4f, 0.1f};  /* -> 0 */
    const float T[12] = {0};
    const int32_t y[4] = {0, 2, 2, 1};
    nn_acc_add(&a, Y, T, y, 4, 0.5);
    nn_result r = nn_acc_result(&a);
    ck_assert_double_eq(r.accuracy, 0.5);
    ck_assert_double_eq(r.loss, 0.5);
    const size_t want[9] = {1, 0, 0,  /* true 0 */
                            1, 0, 0,  /* true 1 predicted 0 */
                            0, 1, 1}; /* true 2: one 1, one 2 */
    for (int i = 0; i < 9; i++)
        ck_assert_uint_eq(a.confusion[i], want[i]);
    nn_acc_free(&a);
}
END_TEST

START_TEST(test_f1_hand_computed)
{
    /* 5 classes, the confusion matrix (rows true, columns predicted) set by hand:
     *   true 0: 3 1 0 0 0   class 0: TP 3, FP 1, FN 1: P 3/4, R 3/4, F1 6/8 = 0.75
     *   true 1: 1 2 0 0 0   class 1: TP 2, FP 1, FN 1: F1 4/6
     *   true 2: 0 0 0 2 0   class 2: TP 0, FN 2: F1 0 (recall 0, precision undefined)
     *   true 3: 0 0 0 0 0   class 3: TP 0, FP 2: F1 0 (absent but predicted)
     *   true 4: 0 0 0 0 0   class 4: neither present nor predicted: undefined
     * macro F1 over the four defined: (0.75 + 2/3 + 0 + 0) / 4 */
    nn_acc a;
    nn_error e = {0};
    ck_assert_int_eq(nn_acc_init(&a, 5, false, true, &e), 0);
    const size_t cm[25] = {3, 1, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 2, 0,
                           0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 25; i++)
        a.confusion[i] = cm[i];
    ck_assert_double_eq_tol(nn_acc_f1(&a, 0), 0.75, 1e-15);
    ck_assert_double_eq_tol(nn_acc_f1(&a, 1), 2.0 / 3, 1e-15);
    ck_assert_double_eq(nn_acc_f1(&a, 2), 0.0);
    ck_assert_double_eq(nn_acc_f1(&a, 3), 0.0);
    ck_assert(isnan(nn_acc_f1(&a, 4)));
    ck_assert(isnan(nn_acc_f1(&a, 5)));
    ck_assert_double_eq_tol(nn_acc_macro_f1(&a), (0.75 + 2.0 / 3) / 4, 1e-15);
    nn_acc_free(&a);

    /* no samples: nothing defined */
    ck_assert_int_eq(nn_acc_init(&a, 3, false, true, &e), 0);
    ck_assert(isnan(nn_acc_macro_f1(&a)));
    nn_acc_free(&a);
    /* no confusion matrix kept: undefined rather than a guess */
    ck_assert_int_eq(nn_acc_init(&a, 3, false, false, &e), 0);
    ck_assert(isnan(nn_acc_f1(&a, 0)));
    nn_acc_free(&a);
}
END_TEST

Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_regression_metrics_hand_computed);
    tcase_add_test(tc, test_r2_undefined_for_constant_target);
    tcase_add_test(tc, test_classification_accuracy_and_confusion);
    tcase_add_test(tc, test_f1_hand_computed);
    suite_add_tcase(s, tc);
    return s;
}
