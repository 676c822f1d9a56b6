/* test_loss.c - the activations (math/activation.h) and the losses (nn/loss.h):
 * forward against hand-computed values, stability for huge logits, every
 * local derivative against central differences of its own forward in
 * double, the fused gradients, the softmax and its backward, the pairings. */
#include <math.h>
#include <string.h>

#include "math/activation.h"
#include "nn/loss.h"
#include "tests.h"

enum { B = 2, K = 3, N = B * K };

/* Outputs and one-hot targets (labels 0 and 2) used by the element-wise
 * losses; every value is exact in binary, so the hand sums are exact:
 *   e = Y - T = [[-0.5, 0.25, 0.25], [0.125, 0.625, -0.75]] */
static const float Y_EX[N] = {0.5f, 0.25f, 0.25f, 0.125f, 0.625f, 0.25f};
static const float T_EX[N] = {1, 0, 0, 0, 0, 1};

/* Central difference of f at x, in double. */
#define CENTRAL(f, x, h) (((f)((x) + (h)) - (f)((x) - (h))) / (2.0 * (h)))

/* |a - n| <= tol * max(|a|, |n|, 1): relative for large values, absolute
 * near 0. */
static void assert_close(double a, double n, double tol, const char *what, int i)
{
    double scale = fmax(fmax(fabs(a), fabs(n)), 1.0);
    ck_assert_msg(fabs(a - n) <= tol * scale, "%s [%d]: analytic %.12g, numeric %.12g", what, i,
                  a, n);
}

/* ---- losses: forward by hand ---------------------------------------------- */

START_TEST(test_mse_forward_hand_computed)
{
    /* squares: 0.25 + 0.0625 + 0.0625 = 0.375;  0.015625 + 0.390625 + 0.5625 = 0.96875
     * C = (0.375 + 0.96875) / (2 * 2) = 0.3359375 */
    double c = nn_loss_forward(NN_LOSS_MSE, NN_ACT_SIGMOID, Y_EX, NULL, T_EX, B, K, 1.0);
    ck_assert_double_eq(c, 0.3359375);
    ck_assert_double_eq(c, nn_mse_forward(Y_EX, T_EX, B, K));
}
END_TEST

START_TEST(test_mae_forward_hand_computed)
{
    /* |e|: 0.5 + 0.25 + 0.25 = 1;  0.125 + 0.625 + 0.75 = 1.5;  C = 2.5 / 2 = 1.25 */
    ck_assert_double_eq(nn_loss_forward(NN_LOSS_MAE, NN_ACT_IDENTITY, Y_EX, NULL, T_EX, B, K, 1.0),
                        1.25);
}
END_TEST

START_TEST(test_huber_forward_hand_computed_both_regimes)
{
    /* delta = 0.5:  |e| <= 0.5 gives e^2/2, otherwise 0.5 (|e| - 0.25)
     *   row 0: 0.125 + 0.03125 + 0.03125                 = 0.1875
     *   row 1: 0.0078125 + 0.5 * 0.375 + 0.5 * 0.5       = 0.4453125
     *   C = (0.1875 + 0.4453125) / 2 = 0.31640625 */
    ck_assert_double_eq(
        nn_loss_forward(NN_LOSS_HUBER, NN_ACT_IDENTITY, Y_EX, NULL, T_EX, B, K, 0.5),
        0.31640625);
    /* delta = 1 covers every |e|: all quadratic, so huber equals mse. */
    ck_assert_double_eq(
        nn_loss_forward(NN_LOSS_HUBER, NN_ACT_IDENTITY, Y_EX, NULL, T_EX, B, K, 1.0), 0.3359375);
    /* delta = 0.1 covers none: C = sum (0.1 |e| - 0.005) / 2 = (0.25 - 0.03) / 2 = 0.11 */
    ck_assert_double_eq_tol(
        nn_loss_forward(NN_LOSS_HUBER, NN_ACT_IDENTITY, Y_EX, NULL, T_EX, B, K, 0.1), 0.11,
        1e-15);
}
END_TEST

START_TEST(test_cross_entropy_forward_hand_computed)
{
    /* Row 0: z = (0, 0, 0), label 0: softmax 1/3 each, cost ln 3 = 1.0986123.
     * Row 1: z = (1, 2, 3), label 2: cost lse(z) - 3 = ln(e^-2 + e^-1 + 1)
     *        = ln(0.13533528 + 0.36787944 + 1) = ln 1.50321472 = 0.40760596.
     * C = (1.09861229 + 0.40760596) / 2 = 0.75310912. */
    const float Z[N] = {0, 0, 0, 1, 2, 3};
    const float T[N] = {1, 0, 0, 0, 0, 1};
    float Y[N];
    nn_softmax_rows(Y, Z, B, K);
    double want = (log(3.0) + log(exp(-2.0) + exp(-1.0) + 1.0)) / 2;
    double c = nn_loss_forward(NN_LOSS_CROSS_ENTROPY, NN_ACT_SOFTMAX, Y, Z, T, B, K, 1.0);
    ck_assert_double_eq_tol(c, want, 1e-15);
    ck_assert_double_eq_tol(c, 0.75310912, 1e-8);
    /* The plain definition -sum t log y on the (float) softmax agrees. */
    double plain = nn_loss_forward(NN_LOSS_CROSS_ENTROPY, NN_ACT_IDENTITY, Y, NULL, T, B, K, 1.0);
    ck_assert_double_eq_tol(plain, want, 1e-6);
}
END_TEST

START_TEST(test_binary_cross_entropy_forward_hand_computed)
{
    /* sigmoid(0) = 1/2, sigmoid(ln 3) = 3/4, sigmoid(-ln 3) = 1/4.
     * Row 0: z = (0, ln 3, -ln 3), t = (1, 1, 0):
     *        -ln(1/2) - ln(3/4) - ln(3/4) = ln 2 + 2 ln(4/3)
     * Row 1: z = (ln 3, 0, -ln 3), t = (0, 1, 1):
     *        -ln(1/4) - ln(1/2) - ln(1/4) = 5 ln 2
     * C = (6 ln 2 + 2 ln(4/3)) / 2 = 3 ln 2 + ln(4/3) = 2.0794415 + 0.2876821 = 2.3671236 */
    const float l3 = (float)log(3.0);
    const float Z[N] = {0, l3, -l3, l3, 0, -l3};
    const float T[N] = {1, 1, 0, 0, 1, 1};
    float Y[N];
    for (int p = 0; p < N; p++)
        Y[p] = nn_act_apply(NN_ACT_SIGMOID, 0, Z[p]);
    double want = 3 * log(2.0) + log(4.0 / 3.0);
    double c = nn_loss_forward(NN_LOSS_BINARY_CROSS_ENTROPY, NN_ACT_SIGMOID, Y, Z, T, B, K, 1.0);
    ck_assert_double_eq_tol(c, want, 1e-6); /* ln 3 rounded to float */
    ck_assert_double_eq_tol(c, 2.3671236, 1e-6);
    double plain =
        nn_loss_forward(NN_LOSS_BINARY_CROSS_ENTROPY, NN_ACT_IDENTITY, Y, NULL, T, B, K, 1.0);
    ck_assert_double_eq_tol(plain, want, 1e-6);
}
END_TEST

/* ---- stability --------------------------------------------------------------- */

START_TEST(test_cross_entropy_huge_logits_finite_and_exact)
{
    /* z = (1000, -1000, 0): lse = 1000 + ln(1 + e^-2000 + e^-1000) = 1000
     * exactly, so the costs of labels 0, 1, 2 are 0, 2000, 1000 exactly
     * (log of the float softmax would give ln 0 = -inf for labels 1, 2). */
    const float Z[3] = {1000, -1000, 0};
    float Y[3];
    nn_softmax_rows(Y, Z, 1, 3);
    ck_assert_float_eq(Y[0], 1.0f);
    ck_assert_float_eq(Y[1], 0.0f);
    ck_assert_float_eq(Y[2], 0.0f);
    const double want[3] = {0, 2000, 1000};
    for (int label = 0; label < 3; label++) {
        float T[3] = {0, 0, 0};
        T[label] = 1;
        double c = nn_loss_forward(NN_LOSS_CROSS_ENTROPY, NN_ACT_SOFTMAX, Y, Z, T, 1, 3, 1.0);
        ck_assert_double_eq(c, want[label]);
        float G[3];
        nn_loss_backward(NN_LOSS_CROSS_ENTROPY, NN_ACT_SOFTMAX, G, Y, Z, T, 1, 3, 1.0);
        for (int k = 0; k < 3; k++)
            ck_assert_float_eq(G[k], Y[k] - T[k]);
    }
}
END_TEST

START_TEST(test_binary_cross_entropy_huge_logits_finite_and_exact)
{
    /* max(z,0) - z t + ln(1 + e^-|z|) with e^-800 = 0 in double:
     *   z = 800:  t = 1 -> 0,   t = 0 -> 800
     *   z = -800: t = 0 -> 0,   t = 1 -> 800 */
    const float Z[4] = {800, 800, -800, -800};
    const float T[4] = {1, 0, 0, 1};
    float Y[4];
    for (int p = 0; p < 4; p++)
        Y[p] = nn_act_apply(NN_ACT_SIGMOID, 0, Z[p]); /* 1, 1, 0, 0 */
    const double want[4] = {0, 800, 0, 800};
    for (int p = 0; p < 4; p++)
        ck_assert_double_eq(
            nn_loss_forward(NN_LOSS_BINARY_CROSS_ENTROPY, NN_ACT_SIGMOID, Y + p, Z + p, T + p, 1,
                            1, 1.0),
            want[p]);
    float G[4];
    nn_loss_backward(NN_LOSS_BINARY_CROSS_ENTROPY, NN_ACT_SIGMOID, G, Y, Z, T, 1, 4, 1.0);
    for (int p = 0; p < 4; p++)
        ck_assert(isfinite(G[p]));
}
END_TEST

/* ---- backward ------------------------------------------------------------------ */

START_TEST(test_fused_gradients_are_y_minus_t_over_b)
{
    const float Z[N] = {0.5f, -1.25f, 2.0f, 3.0f, 0.0f, -0.75f};
    const float T[N] = {0, 1, 0, 0, 0, 1};
    float Y[N], G[N];
    nn_softmax_rows(Y, Z, B, K);
    nn_loss_backward(NN_LOSS_CROSS_ENTROPY, NN_ACT_SOFTMAX, G, Y, Z, T, B, K, 1.0);
    for (int p = 0; p < N; p++)
        ck_assert_float_eq(G[p], (Y[p] - T[p]) * (1.0f / B));
    for (int p = 0; p < N; p++)
        Y[p] = nn_act_apply(NN_ACT_SIGMOID, 0, Z[p]);
    nn_loss_backward(NN_LOSS_BINARY_CROSS_ENTROPY, NN_ACT_SIGMOID, G, Y, Z, T, B, K, 1.0);
    for (int p = 0; p < N; p++)
        ck_assert_float_eq(G[p], (Y[p] - T[p]) * (1.0f / B));
    /* mse is exactly nn_mse_backward, whatever the output activation. */
    float M[N];
    nn_loss_backward(NN_LOSS_MSE, NN_ACT_TANH, G, Y, NULL, T, B, K, 1.0);
    nn_mse_backward(M, Y, T, B, K);
    ck_assert_mem_eq(G, M, sizeof G);
}
END_TEST

START_TEST(test_fused_gradients_equal_the_chain_rule_through_the_activation)
{
    /* dC/dY of the plain definitions, then the activation's backward, gives
     * the fused (Y - T)/B (in double, to rounding). */
    const double Z[N] = {0.5, -1.25, 2.0, 3.0, 0.0, -0.75};
    const double T[N] = {0, 1, 0, 0.25, 0.25, 0.5}; /* rows sum to 1 */
    double Y[N], G[N], F[N];
    nn_softmax_rows_d(Y, Z, B, K);
    nn_loss_backward_d(NN_LOSS_CROSS_ENTROPY, NN_ACT_IDENTITY, G, Y, NULL, T, B, K, 1.0);
    nn_softmax_backward_d(G, G, Y, B, K);
    nn_loss_backward_d(NN_LOSS_CROSS_ENTROPY, NN_ACT_SOFTMAX, F, Y, Z, T, B, K, 1.0);
    for (int p = 0; p < N; p++) {
        ck_assert_double_eq_tol(F[p], (Y[p] - T[p]) / B, 1e-16);
        ck_assert_double_eq_tol(G[p], F[p], 1e-15);
    }
    const double Tb[N] = {1, 0, 0.3, 0, 1, 0.8};
    for (int p = 0; p < N; p++)
        Y[p] = nn_act_apply_d(NN_ACT_SIGMOID, 0, Z[p]);
    nn_loss_backward_d(NN_LOSS_BINARY_CROSS_ENTROPY, NN_ACT_IDENTITY, G, Y, NULL, Tb, B, K, 1.0);
    nn_loss_backward_d(NN_LOSS_BINARY_CROSS_ENTROPY, NN_ACT_SIGMOID, F, Y, Z, Tb, B, K, 1.0);
    for (int p = 0; p < N; p++)
        ck_assert_double_eq_tol(G[p] * nn_act_grad_d(NN_ACT_SIGMOID, 0, Y[p]), F[p], 1e-15);
}
END_TEST

/* The loss as a function of one element of Y (or Z), for the differences. */
static struct {
    nn_loss loss;
    nn_act act;
    double Y[N], Z[N], T[N], delta;
    int p;
    int of_z; /* vary Z (and Y = f(Z)) instead of Y */
} lf;

static double loss_at(double v)
{
    double Y[N], Z[N];
    memcpy(Y, lf.Y, sizeof Y);
    memcpy(Z, lf.Z, sizeof Z);
    if (!lf.of_z) {
        Y[lf.p] = v;
    } else {
        Z[lf.p] = v;
        if (lf.act == NN_ACT_SOFTMAX)
            nn_softmax_rows_d(Y, Z, B, K);
        else
            Y[lf.p] = nn_act_apply_d(lf.act, 0, v);
    }
    return nn_loss_forward_d(lf.loss, lf.act, Y, Z, lf.T, B, K, lf.delta);
}

START_TEST(test_every_loss_backward_matches_central_differences)
{
    static const struct {
        nn_loss loss;
        nn_act act;
        double delta;
    } cases[] = {
        {NN_LOSS_MSE, NN_ACT_IDENTITY, 1},
        {NN_LOSS_MAE, NN_ACT_IDENTITY, 1},
        {NN_LOSS_HUBER, NN_ACT_IDENTITY, 0.4}, /* |e| on both sides of 0.4 */
        {NN_LOSS_HUBER, NN_ACT_IDENTITY, 10},
        {NN_LOSS_CROSS_ENTROPY, NN_ACT_IDENTITY, 1},        /* unfused: dC/dY */
        {NN_LOSS_BINARY_CROSS_ENTROPY, NN_ACT_IDENTITY, 1}, /* unfused: dC/dY */
        {NN_LOSS_CROSS_ENTROPY, NN_ACT_SOFTMAX, 1},         /* fused: dC/dZ */
        {NN_LOSS_BINARY_CROSS_ENTROPY, NN_ACT_SIGMOID, 1},  /* fused: dC/dZ */
    };
    /* Outputs in (0, 1) so that every loss is defined; no e is 0 or
     * +-delta (the kinks). */
    const double Y[N] = {0.7, 0.2, 0.15, 0.05, 0.9, 0.3};
    const double Z[N] = {0.5, -1.25, 2.0, 3.0, 0.1, -0.75};
    const double T[N] = {1, 0, 0, 0, 0.25, 0.75};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lf.loss = cases[c].loss;
        lf.act = cases[c].act;
        lf.delta = cases[c].delta;
        lf.of_z = nn_loss_fused(lf.loss, lf.act);
        memcpy(lf.Z, Z, sizeof Z);
        memcpy(lf.T, T, sizeof T);
        if (lf.act == NN_ACT_SOFTMAX)
            nn_softmax_rows_d(lf.Y, Z, B, K);
        else if (lf.of_z)
            for (int p = 0; p < N; p++)
                lf.Y[p] = nn_act_apply_d(lf.act, 0, Z[p]);
        else
            memcpy(lf.Y, Y, sizeof Y);
        double G[N];
        nn_loss_backward_d(lf.loss, lf.act, G, lf.Y, lf.Z, lf.T, B, K, lf.delta);
        float Yf[N], Zf[N], Tf[N], Gf[N];
        for (int p = 0; p < N; p++) {
            Yf[p] = (float)lf.Y[p];
            Zf[p] = (float)lf.Z[p];
            Tf[p] = (float)lf.T[p];
        }
        nn_loss_backward(lf.loss, lf.act, Gf, Yf, Zf, Tf, B, K, lf.delta);
        double cf = nn_loss_forward(lf.loss, lf.act, Yf, Zf, Tf, B, K, lf.delta);
        double cd = nn_loss_forward_d(lf.loss, lf.act, lf.Y, lf.Z, lf.T, B, K, lf.delta);
        assert_close(cf, cd, 1e-6, nn_loss_name(lf.loss), -1); /* float twin */
        for (lf.p = 0; lf.p < N; lf.p++) {
            double x = lf.of_z ? lf.Z[lf.p] : lf.Y[lf.p];
            assert_close(G[lf.p], CENTRAL(loss_at, x, 1e-6), 1e-8, nn_loss_name(lf.loss), lf.p);
            assert_close(Gf[lf.p], G[lf.p], 1e-6, nn_loss_name(lf.loss), lf.p);
        }
    }
}
END_TEST

START_TEST(test_mae_gradient_is_zero_where_output_equals_target)
{
    const float Y[3] = {0.5f, 0.25f, 2.0f}, T[3] = {0.5f, 1.0f, 1.0f};
    float G[3];
    nn_loss_backward(NN_LOSS_MAE, NN_ACT_IDENTITY, G, Y, NULL, T, 1, 3, 1.0);
    ck_assert_float_eq(G[0], 0.0f);
    ck_assert_float_eq(G[1], -1.0f);
    ck_assert_float_eq(G[2], 1.0f);
    nn_loss_backward(NN_LOSS_MAE, NN_ACT_IDENTITY, G, Y, NULL, T, 3, 1, 1.0); /* B = 3 */
    ck_assert_float_eq(G[1], -1.0f / 3.0f);
}
END_TEST

/* ---- activations -------------------------------------------------------------------- */

static nn_act cur_act;
static double cur_alpha;
static double act_at(double z) { return nn_act_apply_d(cur_act, cur_alpha, z); }

START_TEST(test_every_activation_derivative_matches_central_differences)
{
    static const struct {
        nn_act act;
        double alpha;
    } cases[] = {
        {NN_ACT_IDENTITY, 0},    {NN_ACT_SIGMOID, 0},    {NN_ACT_TANH, 0},
        {NN_ACT_RELU, 0},        {NN_ACT_LEAKY_RELU, 0.01}, {NN_ACT_LEAKY_RELU, 0.3},
        {NN_ACT_LEAKY_RELU, 0},  {NN_ACT_ELU, 1},       {NN_ACT_ELU, 0.5},
        {NN_ACT_ELU, 0},         {NN_ACT_SOFTPLUS, 0},
    };
    /* No z at the kink 0; large |z| where the functions saturate. */
    const double zs[] = {-30, -4.5, -1.3, -0.2, -1e-3, 1e-3, 0.4, 1.7, 5, 30};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        cur_act = cases[c].act;
        cur_alpha = cases[c].alpha;
        for (size_t i = 0; i < sizeof zs / sizeof zs[0]; i++) {
            double z = zs[i], a = act_at(z);
            double g = nn_act_grad_d(cur_act, cur_alpha, a);
            assert_close(g, CENTRAL(act_at, z, 1e-6), 1e-8, nn_act_name(cur_act), (int)i);
            /* the float forms agree with the double ones */
            float af = nn_act_apply(cur_act, (float)cur_alpha, (float)z);
            assert_close(af, a, 1e-6, nn_act_name(cur_act), (int)i);
            assert_close(nn_act_grad(cur_act, (float)cur_alpha, af), g, 1e-6,
                         nn_act_name(cur_act), (int)i);
        }
    }
}
END_TEST

START_TEST(test_activation_kinks_take_the_left_derivative)
{
    ck_assert_float_eq(nn_act_grad(NN_ACT_RELU, 0, 0.0f), 0.0f);
    ck_assert_float_eq(nn_act_grad(NN_ACT_LEAKY_RELU, 0.25f, 0.0f), 0.25f);
    ck_assert_float_eq(nn_act_grad(NN_ACT_ELU, 0.5f, 0.0f), 0.5f);
    /* alpha = 0: leaky_relu is relu, elu is max(z, 0); slope 0 below 0. */
    float a = nn_act_apply(NN_ACT_LEAKY_RELU, 0, -2.0f);
    ck_assert_float_eq(a, 0.0f);
    ck_assert_float_eq(nn_act_grad(NN_ACT_LEAKY_RELU, 0, a), 0.0f);
    a = nn_act_apply(NN_ACT_ELU, 0, -2.0f);
    ck_assert_float_eq(a, 0.0f);
    ck_assert_float_eq(nn_act_grad(NN_ACT_ELU, 0, a), 0.0f);
}
END_TEST

START_TEST(test_softplus_is_stable_for_large_inputs)
{
    ck_assert_float_eq(nn_act_apply(NN_ACT_SOFTPLUS, 0, 1000.0f), 1000.0f);
    ck_assert_double_eq(nn_act_apply_d(NN_ACT_SOFTPLUS, 0, 1000.0), 1000.0);
    float tail = nn_act_apply(NN_ACT_SOFTPLUS, 0, -80.0f); /* e^-80 = 1.8e-35 */
    ck_assert(tail > 0.0f && isfinite(tail));
    ck_assert_double_eq_tol(tail, exp(-80.0), 1e-6 * exp(-80.0));
    ck_assert_float_eq(nn_act_grad(NN_ACT_SOFTPLUS, 0, 1000.0f), 1.0f);
    /* 1 - e^-a for tiny a: -expm1(-a) = a, where 1 - exp(-a) would be 0. */
    ck_assert_double_eq_tol(nn_act_grad_d(NN_ACT_SOFTPLUS, 0, 1e-30), 1e-30, 1e-45);
}
END_TEST

START_TEST(test_alpha_free_forms_keep_sigmoid_and_identity_and_default_alpha)
{
    const float zs[] = {-100.0f, -3.5f, -0.25f, 0.0f, 0.75f, 12.0f};
    for (size_t i = 0; i < sizeof zs / sizeof zs[0]; i++) {
        float z = zs[i], s = 1.0f / (1.0f + expf(-z));
        ck_assert_float_eq(nn_act_forward(NN_ACT_SIGMOID, z), s);
        ck_assert_float_eq(nn_act_derivative(NN_ACT_SIGMOID, s), s * (1.0f - s));
        ck_assert_float_eq(nn_act_forward(NN_ACT_IDENTITY, z), z);
        ck_assert_float_eq(nn_act_derivative(NN_ACT_IDENTITY, z), 1.0f);
        ck_assert_float_eq(nn_act_forward(NN_ACT_LEAKY_RELU, z),
                           nn_act_apply(NN_ACT_LEAKY_RELU, 0.01f, z));
        ck_assert_float_eq(nn_act_forward(NN_ACT_ELU, z), nn_act_apply(NN_ACT_ELU, 1.0f, z));
    }
}
END_TEST

/* ---- softmax ------------------------------------------------------------------------- */

START_TEST(test_softmax_rows_sum_to_one_and_ignore_shifts)
{
    enum { R = 4, C = 5 };
    const float Z[R * C] = {0, 1, 2, 3, 4,      -50, 50, 0, 1, 2,
                            88, 89, 90, -90, 0, 1e4f, -1e4f, 3e4f, 0, 7};
    float Y[R * C], S[R * C], P[R * C];
    nn_softmax_rows(Y, Z, R, C);
    for (int i = 0; i < R; i++) {
        double s = 0;
        for (int k = 0; k < C; k++) {
            ck_assert(Y[i * C + k] >= 0.0f && Y[i * C + k] <= 1.0f);
            s += Y[i * C + k];
        }
        ck_assert_double_eq_tol(s, 1.0, 1e-6);
    }
    for (int p = 0; p < R * C; p++)
        S[p] = Z[p] + (p < 2 * C ? 10.0f : 0.0f); /* shift rows 0 and 1 */
    nn_softmax_rows(P, S, R, C);
    for (int p = 0; p < R * C; p++)
        ck_assert_float_eq_tol(P[p], Y[p], 1e-6);
    /* in place */
    memcpy(P, Z, sizeof P);
    nn_softmax_rows(P, P, R, C);
    ck_assert_mem_eq(P, Y, sizeof P);
    /* one row by hand: z = (0, ln 3) -> (1/4, 3/4) */
    const float z2[2] = {0, (float)log(3.0)};
    float y2[2];
    nn_softmax_rows(y2, z2, 1, 2);
    ck_assert_float_eq_tol(y2[0], 0.25f, 1e-7);
    ck_assert_float_eq_tol(y2[1], 0.75f, 1e-7);
}
END_TEST

/* f(Z) = sum_ik g_ik softmax(Z)_ik: its gradient is the softmax's VJP of g. */
static struct {
    double Z[N], g[N];
    int p;
} sf;

static double softmax_dot(double v)
{
    double Z[N], Y[N], s = 0;
    memcpy(Z, sf.Z, sizeof Z);
    Z[sf.p] = v;
    nn_softmax_rows_d(Y, Z, B, K);
    for (int q = 0; q < N; q++)
        s += sf.g[q] * Y[q];
    return s;
}

START_TEST(test_softmax_backward_matches_central_differences)
{
    const double Z[N] = {0.3, -1.1, 2.4, 0.0, 0.5, -0.5};
    const double g[N] = {1.5, -0.25, 0.75, -2.0, 0.0, 1.0};
    memcpy(sf.Z, Z, sizeof Z);
    memcpy(sf.g, g, sizeof g);
    double Y[N], dZ[N];
    nn_softmax_rows_d(Y, Z, B, K);
    nn_softmax_backward_d(dZ, g, Y, B, K);
    float Yf[N], gf[N], dZf[N];
    for (int p = 0; p < N; p++) {
        Yf[p] = (float)Y[p];
        gf[p] = (float)g[p];
    }
    nn_softmax_backward(dZf, gf, Yf, B, K);
    double rowsum[B] = {0, 0};
    for (sf.p = 0; sf.p < N; sf.p++) {
        assert_close(dZ[sf.p], CENTRAL(softmax_dot, Z[sf.p], 1e-6), 1e-8, "softmax", sf.p);
        assert_close(dZf[sf.p], dZ[sf.p], 1e-6, "softmax float", sf.p);
        rowsum[sf.p / K] += dZ[sf.p];
    }
    /* softmax ignores shifts, so each row of dZ sums to 0 */
    ck_assert_double_eq_tol(rowsum[0], 0.0, 1e-15);
    ck_assert_double_eq_tol(rowsum[1], 0.0, 1e-15);
}
END_TEST

/* ---- pairings ------------------------------------------------------------------------- */

START_TEST(test_loss_pairings)
{
    const char *why = NULL;
    ck_assert(nn_loss_pairing_ok(NN_LOSS_CROSS_ENTROPY, NN_ACT_SOFTMAX, 3, &why));
    ck_assert_ptr_null(why); /* untouched on success */
    ck_assert(nn_loss_pairing_ok(NN_LOSS_CROSS_ENTROPY, NN_ACT_SOFTMAX, 2, NULL));
    ck_assert(!nn_loss_pairing_ok(NN_LOSS_CROSS_ENTROPY, NN_ACT_SOFTMAX, 1, &why));
    ck_assert_ptr_nonnull(strstr(why, "at least 2"));
    ck_assert(!nn_loss_pairing_ok(NN_LOSS_CROSS_ENTROPY, NN_ACT_SIGMOID, 3, &why));
    ck_assert_ptr_nonnull(strstr(why, "softmax"));
    ck_assert(nn_loss_pairing_ok(NN_LOSS_BINARY_CROSS_ENTROPY, NN_ACT_SIGMOID, 1, NULL));
    ck_assert(nn_loss_pairing_ok(NN_LOSS_BINARY_CROSS_ENTROPY, NN_ACT_SIGMOID, 4, NULL));
    ck_assert(!nn_loss_pairing_ok(NN_LOSS_BINARY_CROSS_ENTROPY, NN_ACT_SOFTMAX, 2, &why));
    ck_assert(!nn_loss_pairing_ok(NN_LOSS_BINARY_CROSS_ENTROPY, NN_ACT_IDENTITY, 1, &why));
    ck_assert_ptr_nonnull(strstr(why, "sigmoid"));
    const nn_loss plain[3] = {NN_LOSS_MSE, NN_LOSS_MAE, NN_LOSS_HUBER};
    for (int l = 0; l < 3; l++) {
        for (int a = NN_ACT_IDENTITY; a <= NN_ACT_SOFTPLUS; a++)
            ck_assert(nn_loss_pairing_ok(plain[l], (nn_act)a, 1, NULL));
        ck_assert(!nn_loss_pairing_ok(plain[l], NN_ACT_SOFTMAX, 3, &why));
        ck_assert_ptr_nonnull(strstr(why, "cross_entropy"));
    }
    ck_assert(!nn_loss_pairing_ok((nn_loss)99, NN_ACT_IDENTITY, 1, &why));

    ck_assert(nn_loss_fused(NN_LOSS_CROSS_ENTROPY, NN_ACT_SOFTMAX));
    ck_assert(nn_loss_fused(NN_LOSS_BINARY_CROSS_ENTROPY, NN_ACT_SIGMOID));
    ck_assert(!nn_loss_fused(NN_LOSS_CROSS_ENTROPY, NN_ACT_SIGMOID));
    ck_assert(!nn_loss_fused(NN_LOSS_MSE, NN_ACT_SIGMOID));
    ck_assert(!nn_loss_fused(NN_LOSS_BINARY_CROSS_ENTROPY, NN_ACT_SOFTMAX));
}
END_TEST

Suite *loss_suite(void)
{
    Suite *s = suite_create("loss");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_mse_forward_hand_computed);
    tcase_add_test(tc, test_mae_forward_hand_computed);
    tcase_add_test(tc, test_huber_forward_hand_computed_both_regimes);
    tcase_add_test(tc, test_cross_entropy_forward_hand_computed);
    tcase_add_test(tc, test_binary_cross_entropy_forward_hand_computed);
    tcase_add_test(tc, test_cross_entropy_huge_logits_finite_and_exact);
    tcase_add_test(tc, test_binary_cross_entropy_huge_logits_finite_and_exact);
    tcase_add_test(tc, test_fused_gradients_are_y_minus_t_over_b);
    tcase_add_test(tc, test_fused_gradients_equal_the_chain_rule_through_the_activation);
    tcase_add_test(tc, test_every_loss_backward_matches_central_differences);
    tcase_add_test(tc, test_mae_gradient_is_zero_where_output_equals_target);
    tcase_add_test(tc, test_every_activation_derivative_matches_central_differences);
    tcase_add_test(tc, test_activation_kinks_take_the_left_derivative);
    tcase_add_test(tc, test_softplus_is_stable_for_large_inputs);
    tcase_add_test(tc, test_alpha_free_forms_keep_sigmoid_and_identity_and_default_alpha);
    tcase_add_test(tc, test_softmax_rows_sum_to_one_and_ignore_shifts);
    tcase_add_test(tc, test_softmax_backward_matches_central_differences);
    tcase_add_test(tc, test_loss_pairings);
    suite_add_tcase(s, tc);
    return s;
}
