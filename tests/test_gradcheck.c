/* test_gradcheck.c - the double-precision reference network and the central
 * finite-difference check (src/gradcheck.c): it passes for every activation
 * and every sound loss pairing on many shapes (layers of 1 unit included),
 * it matches the worked example of docs/backprop.md, and it fails, at the
 * right layer and kind, when the gradient it is given is wrong - also under
 * a cost near 1e6.  The reference optimizer step and schedule against hand
 * computations, and the engine's optimizer (every kernel family's loops)
 * against the reference. */
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck/check.h"
#include "gradcheck/optim_ref.h"
#include "gradcheck/reference.h"
#include "kernels/kernels.h"
#include "nn/optim.h"
#include "tests.h"

/* splitmix64: a fixed, self-contained stream of test numbers. */
static uint64_t rng_state;

static double uniform(double lo, double hi)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return lo + (hi - lo) * (double)(z >> 11) / 9007199254740992.0;
}

/* A network, its parameters U(-1, 1), inputs U(-2, 2) and targets that suit
 * the loss: one-hot rows (cross_entropy), 0/1 (binary_cross_entropy), or
 * U(-1.5, 1.5) (regression losses). */
typedef struct {
    const nn_gradcheck_net *net;
    int B;
    size_t n_params, n_x;
    double *params, *X, *T;
} fixture;

static void fixture_make(fixture *f, const nn_gradcheck_net *net, int B, uint64_t seed)
{
    f->net = net;
    f->B = B;
    rng_state = seed;
    f->n_params = nn_gradcheck_param_count(net);
    ck_assert_uint_gt(f->n_params, 0);
    f->n_x = (size_t)B * (size_t)net->arch->n_inputs;
    int K = nn_arch_outputs(net->arch);
    f->params = malloc(f->n_params * sizeof(double));
    f->X = malloc(f->n_x * sizeof(double));
    f->T = malloc((size_t)B * (size_t)K * sizeof(double));
    ck_assert(f->params && f->X && f->T);
    for (size_t q = 0; q < f->n_params; q++)
        f->params[q] = uniform(-1, 1);
    for (size_t q = 0; q < f->n_x; q++)
        f->X[q] = uniform(-2, 2);
    for (int i = 0; i < B; i++)
        for (int k = 0; k < K; k++) {
            double *t = f->T + (size_t)i * K + k;
            if (net->loss == NN_LOSS_CROSS_ENTROPY)
                *t = k == (i * 7 + 3) % K;
            else if (net->loss == NN_LOSS_BINARY_CROSS_ENTROPY)
                *t = uniform(0, 1) < 0.5;
            else
                *t = uniform(-1.5, 1.5);
        }
}

static void fixture_free(fixture *f)
{
    free(f->params);
    free(f->X);
    free(f->T);
}

/* A network and the architecture it points at. */
typedef struct {
    nn_arch arch;
    nn_gradcheck_net net;
} tnet;

/* A chain of dense layers with biases: sizes[0] inputs, then n_layers
 * layers of sizes[1..].  Built field by field, unchecked, so the tests of
 * unsound networks reach nn_gradcheck's own checks. */
static void chain(tnet *t, int n_layers, const int *sizes, nn_act hidden, double alpha,
                  nn_act out, nn_loss loss, double huber_delta)
{
    memset(t, 0, sizeof *t);
    t->arch.n_inputs = sizes[0];
    t->arch.n_layers = n_layers;
    for (int l = 0; l < n_layers; l++)
        t->arch.layers[l] = (nn_layer){.kind = NN_LAYER_DENSE, .origin = l, .in = sizes[l],
                                       .out = sizes[l + 1],
                                       .act = l == n_layers - 1 ? out : hidden,
                                       .alpha = (float)alpha, .bias = true,
                                       .init = NN_INIT_GLOROT};
    t->net = (nn_gradcheck_net){&t->arch, loss, huber_delta};
}

/* Runs nn_gradcheck and asserts that it passes, naming the worst value. */
static void assert_passes(const nn_gradcheck_net *net, int B, uint64_t seed, const char *what)
{
    fixture f;
    fixture_make(&f, net, B, seed);
    nn_gradcheck_result r;
    nn_error err = {0};
    ck_assert_int_eq(nn_gradcheck(net, f.params, f.X, f.T, B, 0.0, &r, &err), 0);
    ck_assert_uint_eq(r.n_checked, f.n_params + f.n_x);
    ck_assert_msg(r.worst <= NN_GRADCHECK_TOL && r.n_over_tol == 0,
                  "%s: rel %.3g at layer %d %s %zu: analytic %.12g numeric %.12g", what, r.worst,
                  r.worst_layer, nn_gradcheck_group_name(net->arch, r.worst_layer, r.worst_group),
                  r.worst_index, r.worst_analytic, r.worst_numeric);
    ck_assert(isfinite(r.cost));
    fixture_free(&f);
}

/* The shapes every activation is checked on: inputs, then layer sizes. */
static const int shapes[][5] = {
    {3, 1, 1, 1},    /* 1-1-1 */
    {3, 3, 1, 2},    /* 3-1-2 */
    {3, 5, 4, 3},    /* 5-4-3 */
    {4, 2, 6, 1, 4}, /* 2-6-1-4: a one-unit bottleneck in the middle */
};

START_TEST(test_gradcheck_passes_for_every_hidden_activation_and_shape)
{
    static const struct {
        nn_act act;
        double alpha;
    } hidden[] = {
        {NN_ACT_IDENTITY, 0},     {NN_ACT_SIGMOID, 0}, {NN_ACT_TANH, 0},
        {NN_ACT_RELU, 0},         {NN_ACT_LEAKY_RELU, 0.01}, {NN_ACT_LEAKY_RELU, 0.2},
        {NN_ACT_ELU, 1.0},        {NN_ACT_ELU, 0.5},   {NN_ACT_SOFTPLUS, 0},
    };
    for (size_t a = 0; a < sizeof hidden / sizeof hidden[0]; a++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            int n_layers = shapes[s][0] - 1;
            tnet t;
            chain(&t, n_layers, shapes[s] + 1, hidden[a].act, hidden[a].alpha, NN_ACT_IDENTITY,
                  NN_LOSS_MSE, 1.0);
            char what[64];
            snprintf(what, sizeof what, "%s(%g) shape %zu", nn_act_name(hidden[a].act),
                     hidden[a].alpha, s);
            assert_passes(&t.net, 4, 1000 + 10 * a + s, what);
        }
}
END_TEST

START_TEST(test_gradcheck_passes_for_every_sound_loss_pairing)
{
    static const struct {
        nn_loss loss;
        nn_act out;
        double delta;
        int K;
    } pairs[] = {
        {NN_LOSS_MSE, NN_ACT_IDENTITY, 1, 3},
        {NN_LOSS_MSE, NN_ACT_SIGMOID, 1, 3},
        {NN_LOSS_MSE, NN_ACT_TANH, 1, 2},
        {NN_LOSS_MSE, NN_ACT_SIGMOID, 1, 1},
        {NN_LOSS_CROSS_ENTROPY, NN_ACT_SOFTMAX, 1, 3},
        {NN_LOSS_CROSS_ENTROPY, NN_ACT_SOFTMAX, 1, 2},
        {NN_LOSS_BINARY_CROSS_ENTROPY, NN_ACT_SIGMOID, 1, 1},
        {NN_LOSS_BINARY_CROSS_ENTROPY, NN_ACT_SIGMOID, 1, 3},
        {NN_LOSS_MAE, NN_ACT_IDENTITY, 1, 3},
        {NN_LOSS_MAE, NN_ACT_TANH, 1, 1},
        {NN_LOSS_HUBER, NN_ACT_IDENTITY, 0.05, 3}, /* mostly the linear regime */
        {NN_LOSS_HUBER, NN_ACT_IDENTITY, 100, 3},  /* all quadratic */
        {NN_LOSS_HUBER, NN_ACT_IDENTITY, 0.7, 3},  /* both */
    };
    static const nn_act hidden[] = {NN_ACT_TANH, NN_ACT_SIGMOID, NN_ACT_RELU};
    for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++)
        for (size_t h = 0; h < sizeof hidden / sizeof hidden[0]; h++) {
            int sizes[3] = {4, 5, pairs[p].K};
            tnet t;
            chain(&t, 2, sizes, hidden[h], 0, pairs[p].out, pairs[p].loss, pairs[p].delta);
            char what[96];
            snprintf(what, sizeof what, "%s + %s (delta %g), hidden %s",
                     nn_loss_name(pairs[p].loss), nn_act_name(pairs[p].out), pairs[p].delta,
                     nn_act_name(hidden[h]));
            assert_passes(&t.net, 5, 2000 + 10 * p + h, what);
        }
}
END_TEST

START_TEST(test_gradcheck_passes_for_a_deep_mixed_network)
{
    /* 6 -> relu 5 -> elu 4 -> softplus 4 -> leaky 3 -> tanh 3 -> softmax 4 */
    const int sizes[7] = {6, 5, 4, 4, 3, 3, 4};
    const nn_act act[6] = {NN_ACT_RELU,       NN_ACT_ELU,  NN_ACT_SOFTPLUS,
                           NN_ACT_LEAKY_RELU, NN_ACT_TANH, NN_ACT_SOFTMAX};
    const float alpha[6] = {0, 0.7f, 0, 0.1f, 0, 0};
    tnet t;
    chain(&t, 6, sizes, NN_ACT_RELU, 0, NN_ACT_SOFTMAX, NN_LOSS_CROSS_ENTROPY, 1.0);
    for (int l = 0; l < 6; l++) {
        t.arch.layers[l].act = act[l];
        t.arch.layers[l].alpha = alpha[l];
    }
    assert_passes(&t.net, 7, 3000, "deep mixed");
}
END_TEST

START_TEST(test_gradcheck_matches_the_worked_example)
{
    /* docs/backprop.md: 2-2-1, sigmoid everywhere, mse, one sample.
     *   x = (1, 2), W1 = [[0.5, -0.25], [0.25, 0.5]], b1 = (0, -0.5),
     *   W2 = [[1, -1]], b2 = 0.5, t = 1
     *   z1 = (0, 0.75), h = (0.5, 0.679179), z2 = 0.320821, y = 0.579524
     *   C = (y - t)^2 / 2 = 0.088400
     *   delta2 = (y - t) y (1 - y) = -0.102460
     *   dW2 = delta2 h = (-0.051230, -0.069588), db2 = -0.102460
     *   delta1 = delta2 W2 .* h (1 - h) = (-0.025615, 0.022325)
     *   dW1 = delta1 x^T = [[-0.025615, -0.051230], [0.022325, 0.044651]]
     *   dx = W1^T delta1 = (-0.007226, 0.017566) */
    const int sizes[3] = {2, 2, 1};
    tnet tn;
    chain(&tn, 2, sizes, NN_ACT_SIGMOID, 0, NN_ACT_SIGMOID, NN_LOSS_MSE, 1.0);
    const nn_gradcheck_net *net = &tn.net;
    const double p[9] = {0.5, -0.25, 0.25, 0.5, 0, -0.5, 1, -1, 0.5};
    const double x[2] = {1, 2}, t[1] = {1};
    const double want[9] = {-0.025615, -0.051230, 0.022325, 0.044651, -0.025615,
                            0.022325,  -0.051230, -0.069588, -0.102460};
    double g[9], dx[2], cost;
    nn_error err = {0};
    ck_assert_int_eq(nn_gradcheck_forward_backward(net, p, x, t, 1, g, dx, &cost, &err), 0);
    ck_assert_double_eq_tol(cost, 0.088400, 5e-7);
    for (int q = 0; q < 9; q++)
        ck_assert_double_eq_tol(g[q], want[q], 5e-7);
    ck_assert_double_eq_tol(dx[0], -0.007226, 5e-7);
    ck_assert_double_eq_tol(dx[1], 0.017566, 5e-7);
    nn_gradcheck_result r;
    ck_assert_int_eq(nn_gradcheck(net, p, x, t, 1, 0.0, &r, &err), 0);
    ck_assert_double_le(r.worst, NN_GRADCHECK_TOL);
    /* one SGD step, learning rate 0.5, lowers the cost to 0.076503 */
    double p2[9];
    for (int q = 0; q < 9; q++)
        p2[q] = p[q] - 0.5 * g[q];
    double cost2;
    ck_assert_int_eq(nn_gradcheck_cost(net, p2, x, t, 1, &cost2, &err), 0);
    ck_assert_double_eq_tol(cost2, 0.076503, 5e-7);
}
END_TEST

START_TEST(test_forward_backward_without_input_gradient_gives_the_same_parameters)
{
    const int sizes[4] = {3, 4, 2, 2};
    tnet t;
    chain(&t, 3, sizes, NN_ACT_TANH, 0, NN_ACT_SOFTMAX, NN_LOSS_CROSS_ENTROPY, 1.0);
    fixture f;
    fixture_make(&f, &t.net, 3, 7);
    double *g1 = malloc(f.n_params * sizeof(double)), *g2 = malloc(f.n_params * sizeof(double));
    double *gx = malloc(f.n_x * sizeof(double));
    nn_error err = {0};
    double c1, c2;
    ck_assert_int_eq(
        nn_gradcheck_forward_backward(&t.net, f.params, f.X, f.T, 3, g1, gx, &c1, &err), 0);
    memset(g2, 0xff, f.n_params * sizeof(double)); /* NaNs: every value must be set */
    ck_assert_int_eq(
        nn_gradcheck_forward_backward(&t.net, f.params, f.X, f.T, 3, g2, NULL, &c2, &err), 0);
    ck_assert_mem_eq(g1, g2, f.n_params * sizeof(double));
    ck_assert_double_eq(c1, c2);
    double c3;
    ck_assert_int_eq(nn_gradcheck_cost(&t.net, f.params, f.X, f.T, 3, &c3, &err), 0);
    ck_assert_double_eq(c1, c3);
    free(g1);
    free(g2);
    free(gx);
    fixture_free(&f);
}
END_TEST

/* ---- a wrong gradient is caught where it is wrong ------------------------------ */

/* The analytic gradient of a 4-3-3-2 tanh/sigmoid/mse network, to corrupt. */
typedef struct {
    tnet t;
    fixture f;
    double *g, *gx;
    size_t w_off[3], b_off[3];
} corrupt_case;

static void corrupt_make(corrupt_case *c)
{
    const int sizes[4] = {4, 3, 3, 2};
    chain(&c->t, 3, sizes, NN_ACT_TANH, 0, NN_ACT_SIGMOID, NN_LOSS_MSE, 1.0);
    fixture_make(&c->f, &c->t.net, 4, 42);
    c->g = malloc(c->f.n_params * sizeof(double));
    c->gx = malloc(c->f.n_x * sizeof(double));
    nn_error err = {0};
    ck_assert_int_eq(nn_gradcheck_forward_backward(c->f.net, c->f.params, c->f.X, c->f.T, 4,
                                                    c->g, c->gx, NULL, &err),
                     0);
    size_t off = 0;
    int in = 4;
    for (int l = 0; l < 3; l++) {
        c->w_off[l] = off;
        c->b_off[l] = off + (size_t)sizes[l + 1] * in;
        off = c->b_off[l] + sizes[l + 1];
        in = sizes[l + 1];
    }
}

static void corrupt_free(corrupt_case *c)
{
    free(c->g);
    free(c->gx);
    fixture_free(&c->f);
}

static nn_gradcheck_result corrupt_compare(corrupt_case *c)
{
    nn_gradcheck_result r;
    nn_error err = {0};
    ck_assert_int_eq(nn_gradcheck_compare(c->f.net, c->f.params, c->f.X, c->f.T, 4, 0.0, c->g,
                                          c->gx, &r, &err),
                     0);
    return r;
}

/* The index of the largest |v[q]|, q < n. */
static size_t argmax_abs(const double *v, size_t n)
{
    size_t best = 0;
    for (size_t q = 1; q < n; q++)
        if (fabs(v[q]) > fabs(v[best]))
            best = q;
    return best;
}

START_TEST(test_compare_passes_the_true_gradient)
{
    corrupt_case c;
    corrupt_make(&c);
    nn_gradcheck_result r = corrupt_compare(&c);
    ck_assert_double_le(r.worst, NN_GRADCHECK_TOL);
    ck_assert_uint_eq(r.n_over_tol, 0);
    corrupt_free(&c);
}
END_TEST

START_TEST(test_compare_catches_a_bias_gradient_off_by_1e_4)
{
    corrupt_case c;
    corrupt_make(&c);
    size_t j = argmax_abs(c.g + c.b_off[1], 3);
    c.g[c.b_off[1] + j] *= 1.0 + 1e-4;
    nn_gradcheck_result r = corrupt_compare(&c);
    ck_assert_double_gt(r.worst, NN_GRADCHECK_TOL);
    ck_assert_uint_eq(r.n_over_tol, 1);
    ck_assert_int_eq(r.worst_layer, 1);
    ck_assert_int_eq(r.worst_group, 1);
    ck_assert_uint_eq(r.worst_index, j);
    ck_assert_double_eq(r.worst_analytic, c.g[c.b_off[1] + j]);
    ck_assert_double_gt(r.max_rel[1][1], NN_GRADCHECK_TOL);
    for (int l = 0; l < 3; l++) {
        ck_assert_double_le(r.max_rel[l][0], NN_GRADCHECK_TOL);
        if (l != 1)
            ck_assert_double_le(r.max_rel[l][1], NN_GRADCHECK_TOL);
    }
    ck_assert_double_le(r.max_rel_x, NN_GRADCHECK_TOL);
    corrupt_free(&c);
}
END_TEST

START_TEST(test_compare_catches_a_weight_gradient_with_the_wrong_sign)
{
    corrupt_case c;
    corrupt_make(&c);
    size_t q = 5; /* W_0[1, 1] */
    c.g[c.w_off[0] + q] = -c.g[c.w_off[0] + q];
    nn_gradcheck_result r = corrupt_compare(&c);
    ck_assert_int_eq(r.worst_layer, 0);
    ck_assert_int_eq(r.worst_group, 0);
    ck_assert_uint_eq(r.worst_index, q);
    ck_assert_double_gt(r.max_rel[0][0], 1.0); /* |a - n| = 2|n| */
    corrupt_free(&c);
}
END_TEST

START_TEST(test_compare_catches_a_small_gradient_set_to_zero)
{
    /* The smallest weight gradient of the last layer, replaced by 0: below
     * the floor it is judged by |a - n| <= noise, which still fails. */
    corrupt_case c;
    corrupt_make(&c);
    size_t n_w = 6, best = 0;
    for (size_t q = 1; q < n_w; q++)
        if (fabs(c.g[c.w_off[2] + q]) < fabs(c.g[c.w_off[2] + best]))
            best = q;
    ck_assert_double_gt(fabs(c.g[c.w_off[2] + best]), 1e-7); /* still resolvable */
    c.g[c.w_off[2] + best] = 0.0;
    nn_gradcheck_result r = corrupt_compare(&c);
    ck_assert_double_gt(r.worst, NN_GRADCHECK_TOL);
    ck_assert_int_eq(r.worst_layer, 2);
    ck_assert_int_eq(r.worst_group, 0);
    ck_assert_uint_eq(r.worst_index, best);
    corrupt_free(&c);
}
END_TEST

START_TEST(test_compare_catches_a_wrong_input_gradient)
{
    corrupt_case c;
    corrupt_make(&c);
    size_t q = argmax_abs(c.gx, c.f.n_x);
    c.gx[q] *= 1.001;
    nn_gradcheck_result r = corrupt_compare(&c);
    ck_assert_int_eq(r.worst_group, NN_GRADCHECK_INPUT);
    ck_assert_int_eq(r.worst_layer, 0);
    ck_assert_uint_eq(r.worst_index, q);
    ck_assert_double_gt(r.max_rel_x, NN_GRADCHECK_TOL);
    ck_assert_double_le(r.max_rel[0][0], NN_GRADCHECK_TOL);
    corrupt_free(&c);
}
END_TEST

START_TEST(test_compare_catches_a_missing_batch_average_and_nan)
{
    /* The classic slip of forgetting 1/B: every value is B times too large. */
    corrupt_case c;
    corrupt_make(&c);
    for (size_t q = 0; q < c.f.n_params; q++)
        c.g[q] *= 4;
    nn_gradcheck_result r = corrupt_compare(&c);
    ck_assert_double_gt(r.worst, 0.5);
    ck_assert_uint_gt(r.n_over_tol, c.f.n_params / 2);
    for (size_t q = 0; q < c.f.n_params; q++)
        c.g[q] /= 4;
    c.g[c.b_off[2]] = NAN;
    r = corrupt_compare(&c);
    ck_assert(isinf(r.worst));
    ck_assert_int_eq(r.worst_layer, 2);
    ck_assert_int_eq(r.worst_group, 1);
    corrupt_free(&c);
}
END_TEST

/* ---- the measure and the arguments ------------------------------------------------- */

START_TEST(test_relative_error_measure)
{
    ck_assert_double_eq(nn_gradcheck_rel_error(0.0, 0.0, 1e-3), 0.0);
    ck_assert_double_eq(nn_gradcheck_rel_error(0.0, 0.0, 0.0), 0.0);
    ck_assert_double_eq_tol(nn_gradcheck_rel_error(2.0, 1.0, 1e-3), 0.5, 1e-15);
    ck_assert_double_eq_tol(nn_gradcheck_rel_error(-1.0, 1.0, 1e-3), 2.0, 1e-15);
    /* below the floor: |a - n| / floor */
    ck_assert_double_eq_tol(nn_gradcheck_rel_error(1e-9, 0.0, 1e-3), 1e-6, 1e-18);
    ck_assert(isinf(nn_gradcheck_rel_error(NAN, 1.0, 1e-3)));
    ck_assert(isinf(nn_gradcheck_rel_error(1.0, INFINITY, 1e-3)));
    tnet t;
    const int sizes[3] = {2, 3, 2};
    chain(&t, 2, sizes, NN_ACT_TANH, 0, NN_ACT_IDENTITY, NN_LOSS_MSE, 1.0);
    ck_assert_str_eq(nn_gradcheck_group_name(&t.arch, 1, 0), "weight");
    ck_assert_str_eq(nn_gradcheck_group_name(&t.arch, 1, 1), "bias");
    ck_assert_str_eq(nn_gradcheck_group_name(&t.arch, 0, NN_GRADCHECK_INPUT), "input");
}
END_TEST

START_TEST(test_gradcheck_rejects_unsound_networks)
{
    const int sizes[3] = {2, 3, 2};
    const double p[17] = {0}, x[2] = {0}, t[2] = {0};
    nn_gradcheck_result r;
    nn_error err = {0};
    /* softmax in a hidden layer */
    tnet tn;
    const nn_gradcheck_net *net = &tn.net;
    chain(&tn, 2, sizes, NN_ACT_SOFTMAX, 0, NN_ACT_SOFTMAX, NN_LOSS_CROSS_ENTROPY, 1.0);
    ck_assert_int_eq(nn_gradcheck(net, p, x, t, 1, 0, &r, &err), -1);
    ck_assert_int_eq(err.code, NN_EXIT_USAGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "softmax"));
    /* cross_entropy without softmax */
    chain(&tn, 2, sizes, NN_ACT_TANH, 0, NN_ACT_SIGMOID, NN_LOSS_CROSS_ENTROPY, 1.0);
    ck_assert_int_eq(nn_gradcheck(net, p, x, t, 1, 0, &r, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "cross_entropy"));
    /* huber_delta <= 0, negative alpha, B = 0 */
    chain(&tn, 2, sizes, NN_ACT_TANH, 0, NN_ACT_IDENTITY, NN_LOSS_HUBER, 0.0);
    ck_assert_int_eq(nn_gradcheck(net, p, x, t, 1, 0, &r, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "huber_delta"));
    chain(&tn, 2, sizes, NN_ACT_LEAKY_RELU, -0.1, NN_ACT_IDENTITY, NN_LOSS_MSE, 1.0);
    ck_assert_int_eq(nn_gradcheck(net, p, x, t, 1, 0, &r, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "activation parameter -0.1"));
    ck_assert_uint_eq(nn_gradcheck_param_count(net), 0);
    chain(&tn, 2, sizes, NN_ACT_TANH, 0, NN_ACT_IDENTITY, NN_LOSS_MSE, 1.0);
    ck_assert_uint_eq(nn_gradcheck_param_count(net), 3 * 3 + 2 * 4);
    ck_assert_int_eq(nn_gradcheck(net, p, x, t, 0, 0, &r, &err), -1);
    ck_assert_int_eq(err.code, NN_EXIT_USAGE);
    /* zero units */
    tn.arch.layers[0].out = 0;
    ck_assert_int_eq(nn_gradcheck(net, p, x, t, 1, 0, &r, &err), -1);
}
END_TEST

START_TEST(test_gradcheck_step_can_be_chosen)
{
    /* h = 1e-5 and 1e-7 pass too on a smooth network; h <= 0 is the default. */
    const int sizes[3] = {3, 4, 2};
    tnet t;
    chain(&t, 2, sizes, NN_ACT_SOFTPLUS, 0, NN_ACT_IDENTITY, NN_LOSS_MSE, 1.0);
    fixture f;
    fixture_make(&f, &t.net, 3, 99);
    const double steps[3] = {1e-5, 1e-7, -1.0};
    for (int s = 0; s < 3; s++) {
        nn_gradcheck_result r;
        nn_error err = {0};
        ck_assert_int_eq(nn_gradcheck(&t.net, f.params, f.X, f.T, 3, steps[s], &r, &err), 0);
        ck_assert_msg(r.worst <= NN_GRADCHECK_TOL, "h = %g: worst %g", steps[s], r.worst);
    }
    fixture_free(&f);
}
END_TEST

/* ---- a large cost cannot hide a wrong gradient ------------------------------------ */

START_TEST(test_compare_catches_a_wrong_gradient_under_a_large_cost)
{
    /* 3-5-2, sigmoid then identity, mse, targets near 1e3 (unscaled
     * regression): the cost is near 1e6, where a fixed step of 1e-6 knows
     * a difference quotient only to 64 eps C / 2e-6 ~ 7e-3. */
    const int sizes[3] = {3, 5, 2};
    tnet t;
    chain(&t, 2, sizes, NN_ACT_SIGMOID, 0, NN_ACT_IDENTITY, NN_LOSS_MSE, 1.0);
    fixture f;
    fixture_make(&f, &t.net, 4, 1515);
    for (int i = 0; i < 4 * 2; i++)
        f.T[i] = (i % 2 ? -800.0 : 1000.0) + 30.0 * f.T[i];
    f.params[15] = 9.5; /* hidden unit 0 near saturation: its gradients are small */
    double *g = malloc(f.n_params * sizeof(double)), *gx = malloc(f.n_x * sizeof(double));
    ck_assert(g && gx);
    nn_error err = {0};
    double cost;
    ck_assert_int_eq(nn_gradcheck_forward_backward(&t.net, f.params, f.X, f.T, 4, g, gx, &cost,
                                                   &err),
                     0);
    ck_assert_double_gt(cost, 1e5);
    nn_gradcheck_result r;
    ck_assert_int_eq(nn_gradcheck_compare(&t.net, f.params, f.X, f.T, 4, 0.0, g, gx, &r, &err), 0);
    ck_assert_msg(r.worst <= NN_GRADCHECK_TOL, "the true gradient: %g at layer %d group %d %zu",
                  r.worst, r.worst_layer, r.worst_group, r.worst_index);
    ck_assert_double_gt(r.max_step, NN_GRADCHECK_STEP); /* the larger steps were needed */

    /* the gradient nearest 0.06 in size, 0.56% off, as the audit found
     * (0.059504 against 0.059837) */
    size_t q = 0;
    for (size_t k = 1; k < f.n_params; k++)
        if (fabs(log(fabs(g[k]) / 0.06)) < fabs(log(fabs(g[q]) / 0.06)))
            q = k;
    double wrong = g[q] * (1.0 + 0.0056);
    /* the old fixed step's noise floor would have hidden it */
    ck_assert_double_gt(NN_GRADCHECK_NOISE_ULPS * DBL_EPSILON * cost / (2 * NN_GRADCHECK_STEP),
                        fabs(wrong - g[q]));
    g[q] = wrong;
    ck_assert_int_eq(nn_gradcheck_compare(&t.net, f.params, f.X, f.T, 4, 0.0, g, gx, &r, &err), 0);
    ck_assert_double_gt(r.worst, 10 * NN_GRADCHECK_TOL);
    ck_assert_int_eq(r.worst_layer, 0);
    ck_assert_int_eq(r.worst_group, 0);
    ck_assert_uint_eq(r.worst_index, q);
    ck_assert_uint_eq(r.n_over_tol, 1);
    ck_assert_double_lt(r.worst_noise, 0.0056 * fabs(wrong) / 10);
    free(g);
    free(gx);
    fixture_free(&f);
}
END_TEST

START_TEST(test_value_names_say_where)
{
    const int sizes[3] = {3, 4, 2};
    tnet t;
    chain(&t, 2, sizes, NN_ACT_TANH, 0, NN_ACT_IDENTITY, NN_LOSS_MSE, 1.0);
    char buf[96];
    nn_gradcheck_where w = {1, 0, 5, 0};
    nn_gradcheck_where_name(&t.arch, &w, buf, sizeof buf);
    ck_assert_str_eq(buf, "layer 2 weight [1,1]"); /* W_2 is (2, 4) */
    w = (nn_gradcheck_where){0, 1, 3, 0};
    nn_gradcheck_where_name(&t.arch, &w, buf, sizeof buf);
    ck_assert_str_eq(buf, "layer 1 bias [3]");
    w = (nn_gradcheck_where){0, NN_GRADCHECK_INPUT, 7, 0};
    nn_gradcheck_where_name(&t.arch, &w, buf, sizeof buf);
    ck_assert_str_eq(buf, "input [2,1]"); /* 3 inputs a sample */
    w = (nn_gradcheck_where){0, 0, 11, 2};
    nn_gradcheck_where_name(&t.arch, &w, buf, sizeof buf);
    ck_assert_str_eq(buf, "layer 1 weight v [3,2]");
}
END_TEST

/* ---- the reference optimizer, by hand --------------------------------------------- */

START_TEST(test_reference_optimizer_steps_by_hand)
{
    const bool both[2] = {true, true}, first[2] = {true, false};
    /* Adam, the same gradient twice: m_hat = g and v_hat = g^2 each time,
     * so each step moves lr * g / (|g| + eps), about lr sign(g) */
    nn_optim_cfg adam = {NN_OPTIM_ADAM, 0.1, 0, false, 0.9, 0.999, 1e-8, 0, 0};
    double w[2] = {1, 1}, g[2], m[2] = {0, 0}, v[2] = {0, 0};
    for (int t = 1; t <= 2; t++) {
        g[0] = 0.5;
        g[1] = -2;
        nn_gradcheck_optim_step(&adam, w, g, m, v, both, 2, 0.1, t);
    }
    ck_assert_double_eq_tol(w[0], 0.8, 1e-7);
    ck_assert_double_eq_tol(w[1], 1.2, 1e-7);
    ck_assert_double_eq_tol(m[0], (1 - 0.81) * 0.5, 1e-15); /* (1 - b1^2) g */
    ck_assert_double_eq_tol(v[1], (1 - 0.999 * 0.999) * 4, 1e-15);
    /* momentum 0.9, g = 1 twice: v = 1 then 1.9; Nesterov adds mu v */
    nn_optim_cfg mom = {NN_OPTIM_SGD, 0.1, 0.9, false, 0, 0, 0, 0, 0};
    double w1 = 1, vel = 0, one;
    for (int t = 1; t <= 2; t++) {
        one = 1;
        nn_gradcheck_optim_step(&mom, &w1, &one, NULL, &vel, both, 1, 0.1, t);
    }
    ck_assert_double_eq_tol(w1, 1 - 0.1 - 0.19, 1e-15);
    mom.nesterov = true;
    w1 = 1;
    vel = 0;
    for (int t = 1; t <= 2; t++) {
        one = 1;
        nn_gradcheck_optim_step(&mom, &w1, &one, NULL, &vel, both, 1, 0.1, t);
    }
    ck_assert_double_eq_tol(w1, 1 - 0.1 * 1.9 - 0.1 * 2.71, 1e-15);
    /* clipping (3, 4) to norm 1, then plain sgd at rate 1 */
    nn_optim_cfg sgd = {NN_OPTIM_SGD, 1, 0, false, 0, 0, 0, 0, 1};
    w[0] = w[1] = 1;
    g[0] = 3;
    g[1] = 4;
    nn_gradcheck_optim_step(&sgd, w, g, NULL, NULL, both, 2, 1, 1);
    ck_assert_double_eq_tol(w[0], 0.4, 1e-15);
    ck_assert_double_eq_tol(w[1], 0.2, 1e-15);
    /* weight decay on the first only: sgd adds wd w to g */
    sgd.clip_norm = 0;
    sgd.weight_decay = 0.1;
    w[0] = w[1] = 2;
    g[0] = g[1] = 0;
    nn_gradcheck_optim_step(&sgd, w, g, NULL, NULL, first, 2, 1, 1);
    ck_assert_double_eq_tol(w[0], 1.8, 1e-15);
    ck_assert_double_eq(w[1], 2);
    /* adamw: w - lr wd w first, then Adam's step of about lr */
    nn_optim_cfg adamw = {NN_OPTIM_ADAMW, 0.1, 0, false, 0.9, 0.999, 1e-8, 0.5, 0};
    w[0] = w[1] = 2;
    g[0] = g[1] = 1;
    m[0] = m[1] = v[0] = v[1] = 0;
    nn_gradcheck_optim_step(&adamw, w, g, m, v, first, 2, 0.1, 1);
    ck_assert_double_eq_tol(w[0], 1.8, 1e-7);
    ck_assert_double_eq_tol(w[1], 1.9, 1e-7);
}
END_TEST

START_TEST(test_reference_schedules_by_hand)
{
    nn_schedule cosine = {NN_SCHED_COSINE, 1, 1, 0.0, 2, 0};
    ck_assert_double_eq_tol(nn_gradcheck_lr(&cosine, 1, 0, 10), 1, 1e-15);
    ck_assert_double_eq_tol(nn_gradcheck_lr(&cosine, 1, 10, 10), 0.5, 1e-15);
    ck_assert_double_eq(nn_gradcheck_lr(&cosine, 1, 20, 10), 0);
    ck_assert_double_eq(nn_gradcheck_lr(&cosine, 1, 25, 10), 0);
    cosine.warmup_epochs = 1;
    ck_assert_double_eq_tol(nn_gradcheck_lr(&cosine, 1, 0, 10), 0.1, 1e-15);
    ck_assert_double_eq_tol(nn_gradcheck_lr(&cosine, 1, 9, 10),
                            (1 + cos(3.14159265358979323846 * 9 / 20)) / 2, 1e-15);
    nn_schedule step = {NN_SCHED_STEP, 0.5, 2, 0, 5, 0};
    ck_assert_double_eq(nn_gradcheck_lr(&step, 1, 35, 10), 0.5);  /* epoch 3 */
    ck_assert_double_eq(nn_gradcheck_lr(&step, 1, 40, 10), 0.25); /* epoch 4 */
    nn_schedule ex = {NN_SCHED_EXPONENTIAL, 0.5, 1, 0, 5, 0};
    ck_assert_double_eq(nn_gradcheck_lr(&ex, 2, 30, 10), 0.25);
    nn_schedule con = {NN_SCHED_CONSTANT, 1, 1, 0, 5, 2};
    ck_assert_double_eq_tol(nn_gradcheck_lr(&con, 3, 4, 5), 3 * 5.0 / 10, 1e-15);
    ck_assert_double_eq(nn_gradcheck_lr(&con, 3, 10, 5), 3);
}
END_TEST

/* ---- the engine's optimizer against the reference, every kernel family ---------- */

/* |f - r| <= max(TOL_OPT |r - b|, 2^-22 (|b| + |r|)) (gradcheck/check.h). */
static void assert_step_close(double b, double f, double r, const char *what, size_t q)
{
    double bound = fmax(NN_GRADCHECK_OPTIM_TOL * fabs(r - b), ldexp(fabs(b) + fabs(r), -22));
    ck_assert_msg(fabs(f - r) <= bound, "%s [%zu]: engine %.9g, reference %.9g (from %.9g)",
                  what, q, f, r, b);
}

START_TEST(test_engine_optimizer_steps_match_the_reference_in_every_family)
{
    enum { N = 37 };
    const nn_optim_cfg cfgs[] = {
        {NN_OPTIM_SGD, 0.3, 0, false, 0, 0, 0, 0, 0},
        {NN_OPTIM_SGD, 0.3, 0, false, 0, 0, 0, 0.05, 0.5},
        {NN_OPTIM_SGD, 0.1, 0.9, false, 0, 0, 0, 0.01, 0},
        {NN_OPTIM_SGD, 0.1, 0.8, true, 0, 0, 0, 0.02, 1.0},
        {NN_OPTIM_ADAM, 0.01, 0, false, 0.9, 0.999, 1e-8, 0.01, 0},
        {NN_OPTIM_ADAM, 0.01, 0, false, 0.8, 0.99, 1e-3, 0, 0.3},
        {NN_OPTIM_ADAMW, 0.01, 0, false, 0.9, 0.999, 1e-8, 0.1, 2.0},
    };
    const char *fams[4];
    int n_fam = nn_kernels_families(NN_PREC_FP32, fams, 4);
    ck_assert_int_ge(n_fam, 1);
    const char *was = nn_kernels_get()->name;
    nn_optim_range decay = {5, 20}; /* the "weights": [5, 25) */
    bool decays[N];
    for (int i = 0; i < N; i++)
        decays[i] = i >= 5 && i < 25;
    for (int fi = 0; fi < n_fam; fi++) {
        nn_error err = {0};
        ck_assert_int_eq(nn_kernels_select(NN_PREC_FP32, fams[fi], &err), 0);
        for (size_t k = 0; k < sizeof cfgs / sizeof cfgs[0]; k++) {
            const nn_optim_cfg *c = &cfgs[k];
            rng_state = 500 + k;
            float w[N], g[N], st[2 * N] = {0}, w0[N], s0[2 * N];
            double rw[N], rg[N], rs[2 * N];
            for (int i = 0; i < N; i++)
                w[i] = (float)uniform(-1, 1);
            /* three steps to give the state something, then the one checked */
            for (int t = 1; t <= 4; t++) {
                for (int i = 0; i < N; i++)
                    g[i] = (float)uniform(-0.5, 0.5);
                memcpy(w0, w, sizeof w);
                memcpy(s0, st, sizeof st);
                double lr = c->lr * (1.0 - 0.1 * t);
                float gc[N];
                memcpy(gc, g, sizeof g);
                if (c->clip_norm > 0)
                    nn_optim_clip(gc, N, c->clip_norm);
                nn_optim_step(c, w, gc, st, N, &decay, 1, lr, t);
                if (t < 4)
                    continue;
                for (int i = 0; i < N; i++) {
                    rw[i] = w0[i];
                    rg[i] = g[i];
                }
                for (int i = 0; i < 2 * N; i++)
                    rs[i] = s0[i];
                bool sgd = c->kind == NN_OPTIM_SGD;
                nn_gradcheck_optim_step(c, rw, rg, sgd ? NULL : rs, sgd ? (c->momentum > 0 ? rs : NULL) : rs + N,
                                        decays, N, lr, t);
                char what[64];
                snprintf(what, sizeof what, "%s, optimizer %zu", fams[fi], k);
                for (int i = 0; i < N; i++)
                    assert_step_close(w0[i], w[i], rw[i], what, (size_t)i);
                size_t S = nn_optim_state_size(c, N);
                for (size_t i = 0; i < S; i++)
                    assert_step_close(s0[i], st[i], rs[i], what, N + i);
            }
        }
    }
    nn_error err = {0};
    ck_assert_int_eq(nn_kernels_select(NN_PREC_FP32, was, &err), 0);
}
END_TEST

Suite *gradcheck_suite(void)
{
    Suite *s = suite_create("gradcheck");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_gradcheck_passes_for_every_hidden_activation_and_shape);
    tcase_add_test(tc, test_gradcheck_passes_for_every_sound_loss_pairing);
    tcase_add_test(tc, test_gradcheck_passes_for_a_deep_mixed_network);
    tcase_add_test(tc, test_gradcheck_matches_the_worked_example);
    tcase_add_test(tc, test_forward_backward_without_input_gradient_gives_the_same_parameters);
    tcase_add_test(tc, test_compare_passes_the_true_gradient);
    tcase_add_test(tc, test_compare_catches_a_bias_gradient_off_by_1e_4);
    tcase_add_test(tc, test_compare_catches_a_weight_gradient_with_the_wrong_sign);
    tcase_add_test(tc, test_compare_catches_a_small_gradient_set_to_zero);
    tcase_add_test(tc, test_compare_catches_a_wrong_input_gradient);
    tcase_add_test(tc, test_compare_catches_a_missing_batch_average_and_nan);
    tcase_add_test(tc, test_relative_error_measure);
    tcase_add_test(tc, test_gradcheck_rejects_unsound_networks);
    tcase_add_test(tc, test_gradcheck_step_can_be_chosen);
    tcase_add_test(tc, test_compare_catches_a_wrong_gradient_under_a_large_cost);
    tcase_add_test(tc, test_value_names_say_where);
    tcase_add_test(tc, test_reference_optimizer_steps_by_hand);
    tcase_add_test(tc, test_reference_schedules_by_hand);
    tcase_add_test(tc, test_engine_optimizer_steps_match_the_reference_in_every_family);
    suite_add_tcase(s, tc);
    return s;
}
