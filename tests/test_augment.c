/* test_augment.c - image augmentation (data/augment.h): a shifted and
 * mirrored image against pixels worked out by hand, the border's scaled
 * zero, the draws' range, spread and determinism, and rows augmented in
 * place as image by image. */
#include "tests.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/augment.h"

/* A 3 x 4 image with pixel (i, j) = 10 i + j + 1. */
static void image(float *x)
{
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++)
            x[i * 4 + j] = (float)(10 * i + j + 1);
}

START_TEST(test_augment_shift_and_mirror_by_hand)
{
    float in[12], out[12];
    image(in);
    /*  1  2  3  4
     * 11 12 13 14
     * 21 22 23 24 */
    nn_augment_draw none = {0, 0, false};
    nn_augment_image(out, in, 3, 4, none, NULL, NULL);
    ck_assert_mem_eq(out, in, sizeof in);
    /* down 1, right 2: rows move down, columns right, zeros come in */
    nn_augment_draw d1 = {1, 2, false};
    static const float want1[12] = {0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 11, 12};
    nn_augment_image(out, in, 3, 4, d1, NULL, NULL);
    ck_assert_mem_eq(out, want1, sizeof want1);
    /* mirrored alone */
    nn_augment_draw d2 = {0, 0, true};
    static const float want2[12] = {4, 3, 2, 1, 14, 13, 12, 11, 24, 23, 22, 21};
    nn_augment_image(out, in, 3, 4, d2, NULL, NULL);
    ck_assert_mem_eq(out, want2, sizeof want2);
    /* mirrored, then up 1 and left 1: out(i, j) = mirror(i + 1, j + 1) */
    nn_augment_draw d3 = {-1, -1, true};
    static const float want3[12] = {13, 12, 11, 0, 23, 22, 21, 0, 0, 0, 0, 0};
    nn_augment_image(out, in, 3, 4, d3, NULL, NULL);
    ck_assert_mem_eq(out, want3, sizeof want3);
    /* the border is the scaled value of a zero pixel: (0 - shift) * mult */
    float sh[12], mult[12];
    for (int p = 0; p < 12; p++) {
        sh[p] = 0.5f * (float)p;
        mult[p] = 2.0f;
    }
    nn_augment_image(out, in, 3, 4, d1, sh, mult);
    for (int p = 0; p < 12; p++)
        ck_assert_float_eq(out[p], want1[p] != 0 ? want1[p] : -(float)p);
}
END_TEST

START_TEST(test_augment_draws_are_in_range_spread_and_repeatable)
{
    int seen[7][7] = {{0}}, mirrored = 0, n = 7000;
    for (int r = 0; r < n; r++) {
        nn_augment_draw d = nn_augment_drawn(5, 3, (uint64_t)r, 3, true);
        ck_assert_int_ge(d.dy, -3);
        ck_assert_int_le(d.dy, 3);
        ck_assert_int_ge(d.dx, -3);
        ck_assert_int_le(d.dx, 3);
        seen[d.dy + 3][d.dx + 3]++;
        mirrored += d.mirror;
        nn_augment_draw again = nn_augment_drawn(5, 3, (uint64_t)r, 3, true);
        ck_assert(again.dy == d.dy && again.dx == d.dx && again.mirror == d.mirror);
    }
    /* every shift about equally often (expected 143 each), half mirrored */
    for (int i = 0; i < 7; i++)
        for (int j = 0; j < 7; j++)
            ck_assert_msg(seen[i][j] > 80 && seen[i][j] < 210, "shift (%d, %d): %d", i - 3,
                          j - 3, seen[i][j]);
    ck_assert(abs(mirrored - n / 2) < 300);
    /* another epoch, another draw for most rows; nothing asked, nothing drawn */
    int same = 0;
    for (int r = 0; r < 1000; r++) {
        nn_augment_draw a = nn_augment_drawn(5, 3, (uint64_t)r, 3, true);
        nn_augment_draw b = nn_augment_drawn(5, 4, (uint64_t)r, 3, true);
        same += a.dy == b.dy && a.dx == b.dx && a.mirror == b.mirror;
        nn_augment_draw z = nn_augment_drawn(5, 3, (uint64_t)r, 0, false);
        ck_assert(z.dy == 0 && z.dx == 0 && !z.mirror);
    }
    ck_assert_int_lt(same, 100);
}
END_TEST

START_TEST(test_augment_rows_in_place_as_image_by_image)
{
    enum { B = 5, H = 3, W = 4 };
    float X[B * H * W], want[B * H * W], tmp[H * W];
    uint64_t rows[B] = {7, 0, 123456789, 7, 42};
    for (int i = 0; i < B; i++) {
        image(X + i * H * W);
        X[i * H * W] = (float)i; /* the rows differ */
    }
    for (int i = 0; i < B; i++) {
        nn_augment_draw d = nn_augment_drawn(9, 2, rows[i], 1, true);
        nn_augment_image(want + i * H * W, X + i * H * W, H, W, d, NULL, NULL);
    }
    nn_augment_rows(X, B, H, W, rows, 9, 2, 1, true, NULL, NULL, tmp);
    ck_assert_mem_eq(X, want, sizeof X);
}
END_TEST

Suite *augment_suite(void)
{
    Suite *s = suite_create("augment");
    TCase *t = tcase_create("core");
    tcase_add_test(t, test_augment_shift_and_mirror_by_hand);
    tcase_add_test(t, test_augment_draws_are_in_range_spread_and_repeatable);
    tcase_add_test(t, test_augment_rows_in_place_as_image_by_image);
    suite_add_tcase(s, t);
    return s;
}
