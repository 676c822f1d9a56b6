/* test_batchnorm.c - the batch-normalisation layer kind (src/nn/batchnorm.c)
 * and its place in an architecture: a small example worked by hand (forward
 * in training and inference mode, the running statistics, backward), its
 * double twin on the same example, every gradient against central finite
 * differences (--gradcheck's reference), the float engine against the
 * twin, and the fused SGD step bit-identical to backward-then-step. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck/reference.h"
#include "kernels/kernels.h"
#include "nn/arch.h"
#include "nn/layer.h"
#include "nn/loss.h"
#include "nn/model.h"
#include "nn/optim.h"
#include "tests.h"
#include "util/rng.h"

/* The example: B = 4 rows, 2 features, gamma = (2, -1), beta = (0.5, 0),
 * eps 1e-5, momentum 0.1, running statistics from (0, 1).
 *   X = [[1, 0], [2, 0], [3, 0], [4, 4]]
 * feature 0: mu = 2.5, var = (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25,
 *            s = 1 / sqrt(1.25001) = 0.8944236133, xh = (-1.5, -0.5, 0.5, 1.5) s,
 *            z = 2 xh + 0.5 = (-2.18327084, -0.39442361, 1.39442361, 3.18327084)
 *            rmean = 0.1 * 2.5 = 0.25, rvar = 0.9 + 0.1 * 1.25 * 4/3 = 1.0666667
 * feature 1: mu = 1, var = (1 + 1 + 1 + 9) / 4 = 3, s = 1 / sqrt(3.00001),
 *            z = -xh = (0.57734931, 0.57734931, 0.57734931, -1.73204792)
 *            rmean = 0.1, rvar = 0.9 + 0.1 * 3 * 4/3 = 1.3
 * Backward with dZ = [[1, 0.5], [-1, 0], [0.5, -0.5], [2, 1]]:
 *   dbeta = column sums = (2.5, 1)
 *   dgamma = sum dZ xh = (2.01245313, 1.73204792)
 *   dX = gamma s / 4 (4 dZ - dbeta - xh dgamma)
 *      = [[1.87827993, -0.28867417], [-2.50438934, 4.8112e-7],
 *         [-0.62609331, 0.28867513], [1.25220272, -1.44337e-6]]
 * Inference with rmean = (1, 2), rvar = (4, 0.25):
 *   z = gamma (x - rmean) / sqrt(rvar + eps) + beta
 *     = [[0.5, 3.99992], [1.4999988, 3.99992], [2.4999975, 3.99992],
 *        [3.4999963, -3.99992]] */
static const float ex_X[8] = {1, 0, 2, 0, 3, 0, 4, 4};
static const float ex_dZ[8] = {1, 0.5f, -1, 0, 0.5f, -0.5f, 2, 1};
static const double ex_Z[8] = {-2.1832708399378538, 0.5773493069415827, -0.394423613312618,
                               0.5773493069415827,  1.394423613312618,  0.5773493069415827,
                               3.1832708399378538,  -1.7320479208247481};
static const double ex_dX[8] = {1.8782799282587512,   -0.28867417234797266,
                                -2.504389337174579,   4.81122818722288e-07,
                                -0.6260933094195839,  0.28867513459361005,
                                1.2522027183354119,   -1.4433684561828888e-06};
static const double ex_infer[8] = {0.5, 3.9999200023999197, 1.4999987500023437,
                                   3.9999200023999197, 2.4999975000046875, 3.9999200023999197,
                                   3.499996250007031, -3.9999200023999197};

static nn_layer example_layer(void)
{
    return (nn_layer){.kind = NN_LAYER_BATCH_NORM, .origin = 0, .in = 2, .out = 2,
                      .act = NN_ACT_IDENTITY, .momentum = 0.1, .eps = 1e-5};
}

START_TEST(test_batch_norm_forward_and_backward_by_hand)
{
    const nn_layer_ops *ops = nn_layer_ops_of(NN_LAYER_BATCH_NORM);
    nn_layer y = example_layer();
    ck_assert_uint_eq(ops->n_params(&y), 4);
    ck_assert_uint_eq(ops->n_state(&y), 4);
    float params[4], grads[4] = {0}, state[4];
    float *scratch = malloc(sizeof(float) * ops->n_scratch(&y, 4));
    nn_layer_bufs b = {params, grads, state, scratch, NULL};
    ops->init(&y, params, state, NULL);
    ck_assert_float_eq(params[0], 1.0f); /* gamma 1, beta 0, rmean 0, rvar 1 */
    ck_assert_float_eq(params[2], 0.0f);
    ck_assert_float_eq(state[0], 0.0f);
    ck_assert_float_eq(state[2], 1.0f);
    const float gamma_beta[4] = {2, -1, 0.5f, 0};
    memcpy(params, gamma_beta, sizeof params);

    float Z[8], dZ[8], dX[8];
    ops->forward(&y, &b, ex_X, Z, 4, true, NN_ACT_IDENTITY);
    for (int p = 0; p < 8; p++)
        ck_assert_double_eq_tol(Z[p], ex_Z[p], 1e-6);
    ck_assert_double_eq_tol(state[0], 0.25, 1e-7);   /* rmean */
    ck_assert_double_eq_tol(state[1], 0.1, 1e-7);
    ck_assert_double_eq_tol(state[2], 1.0666667, 1e-6); /* rvar, unbiased batch variance */
    ck_assert_double_eq_tol(state[3], 1.3, 1e-6);

    memcpy(dZ, ex_dZ, sizeof dZ);
    ops->backward(&y, &b, ex_X, Z, dZ, dX, 4, NN_ACT_IDENTITY);
    ck_assert_double_eq_tol(grads[0], 2.01245312995339, 1e-6);  /* dgamma */
    ck_assert_double_eq_tol(grads[1], 1.7320479208247481, 1e-6);
    ck_assert_double_eq_tol(grads[2], 2.5, 1e-6);               /* dbeta */
    ck_assert_double_eq_tol(grads[3], 1.0, 1e-6);
    for (int p = 0; p < 8; p++)
        ck_assert_double_eq_tol(dX[p], ex_dX[p], 2e-6);
    /* a second backward accumulates into the gradients */
    memcpy(dZ, ex_dZ, sizeof dZ);
    ops->backward(&y, &b, ex_X, Z, dZ, NULL, 4, NN_ACT_IDENTITY);
    ck_assert_double_eq_tol(grads[2], 5.0, 1e-6);

    /* inference: the running statistics, not the batch's */
    const float running[4] = {1, 2, 4, 0.25f};
    memcpy(state, running, sizeof state);
    ops->forward(&y, &b, ex_X, Z, 4, false, NN_ACT_IDENTITY);
    for (int p = 0; p < 8; p++)
        ck_assert_double_eq_tol(Z[p], ex_infer[p], 2e-6);
    ck_assert_mem_eq(state, running, sizeof state); /* inference leaves them alone */
    free(scratch);
}
END_TEST

START_TEST(test_batch_norm_double_twin_by_hand)
{
    const nn_layer_ops *ops = nn_layer_ops_of(NN_LAYER_BATCH_NORM);
    nn_layer y = example_layer();
    const double params[4] = {2, -1, 0.5, 0};
    double X[8], dZ[8], Z[8], dX[8], dp[4];
    for (int p = 0; p < 8; p++) {
        X[p] = ex_X[p];
        dZ[p] = ex_dZ[p];
    }
    double *work = malloc(sizeof(double) * ops->n_work_d(&y, 4));
    ops->forward_d(&y, params, X, Z, work, 4);
    for (int p = 0; p < 8; p++)
        ck_assert_double_eq_tol(Z[p], ex_Z[p], 1e-12);
    ops->backward_d(&y, params, X, work, dZ, dX, dp, 4);
    ck_assert_double_eq_tol(dp[0], 2.01245312995339, 1e-12);
    ck_assert_double_eq_tol(dp[1], 1.7320479208247481, 1e-12);
    ck_assert_double_eq_tol(dp[2], 2.5, 1e-12);
    ck_assert_double_eq_tol(dp[3], 1.0, 1e-12);
    for (int p = 0; p < 8; p++)
        ck_assert_double_eq_tol(dX[p], ex_dX[p], 1e-12);
    free(work);
}
END_TEST

/* An architecture of declared layers: sizes[0] inputs, then sizes[1..n]
 * units; batch normalisation on the layers whose bn[l] is set. */
static void declared(nn_arch *a, int n, const int *sizes, const nn_act *act, const bool *bn)
{
    nn_layer_cfg cfg[8];
    memset(cfg, 0, sizeof cfg);
    for (int l = 0; l < n; l++)
        cfg[l] = (nn_layer_cfg){.units = sizes[l + 1], .act = act[l],
                                .alpha = nn_act_default_alpha(act[l]), .batch_norm = bn[l],
                                .batch_norm_momentum = 0.1, .batch_norm_eps = 1e-5};
    nn_error e = {0};
    ck_assert_msg(nn_arch_from_layers(a, sizes[0], cfg, n, &e) == 0, "%s", e.msg);
}

START_TEST(test_arch_expands_a_normalised_layer)
{
    const int sizes[4] = {5, 6, 4, 3};
    const nn_act act[3] = {NN_ACT_RELU, NN_ACT_TANH, NN_ACT_SOFTMAX};
    const bool bn[3] = {true, false, false};
    nn_arch a;
    declared(&a, 3, sizes, act, bn);
    ck_assert_int_eq(a.n_layers, 4);
    ck_assert_int_eq(nn_arch_declared(&a), 3);
    /* dense 6 without bias, identity, He (by the declared relu) ... */
    ck_assert_int_eq(a.layers[0].kind, NN_LAYER_DENSE);
    ck_assert(!a.layers[0].bias);
    ck_assert_int_eq(a.layers[0].act, NN_ACT_IDENTITY);
    ck_assert_int_eq(a.layers[0].init, NN_INIT_HE);
    /* ... then its normalisation, with the declared activation */
    ck_assert_int_eq(a.layers[1].kind, NN_LAYER_BATCH_NORM);
    ck_assert_int_eq(a.layers[1].origin, 0);
    ck_assert_int_eq(a.layers[1].act, NN_ACT_RELU);
    ck_assert_int_eq(a.layers[2].origin, 1);
    ck_assert(a.layers[2].bias);
    ck_assert_int_eq(nn_arch_declared_last(&a, 0)->kind, NN_LAYER_BATCH_NORM);
    ck_assert_ptr_nonnull(nn_arch_batch_norm_of(&a, 0));
    ck_assert_ptr_null(nn_arch_batch_norm_of(&a, 1));
    /* 6*5 weights, 2*6 scale and shift; 4*6+4; 3*4+3 */
    ck_assert_uint_eq(nn_arch_param_count(&a), 30 + 12 + 28 + 15);
    ck_assert_uint_eq(nn_arch_state_count(&a), 12);
    char why[256];
    ck_assert_int_eq(nn_arch_check(&a, why, sizeof why), 0);

    /* weight decay: the dense weights only, not the scale and shift */
    nn_error e = {0};
    nn_model *m = nn_model_create(&a, 4, &e);
    ck_assert_ptr_nonnull(m);
    nn_optim_range r[8];
    ck_assert_uint_eq(nn_model_decay_ranges(m, r, 8), 3);
    ck_assert_uint_eq(r[0].off, 0);
    ck_assert_uint_eq(r[0].count, 30);
    ck_assert_uint_eq(r[1].off, 42);
    ck_assert_uint_eq(r[1].count, 24);
    ck_assert_uint_eq(r[2].off, 70);
    ck_assert_uint_eq(r[2].count, 12);
    nn_model_free(m);

    /* on the output layer it is refused */
    nn_layer_cfg out[1] = {{.units = 2, .act = NN_ACT_SIGMOID, .batch_norm = true,
                            .batch_norm_momentum = 0.1, .batch_norm_eps = 1e-5}};
    ck_assert_int_eq(nn_arch_from_layers(&a, 3, out, 1, &e), -1);
    ck_assert_int_eq(e.code, NN_EXIT_USAGE);
    ck_assert_str_eq(e.msg, "impossible model: layer 1: batch normalization is for hidden layers");
}
END_TEST

START_TEST(test_arch_same_names_a_batch_norm_difference)
{
    const int sizes[3] = {4, 6, 2};
    const nn_act act[2] = {NN_ACT_RELU, NN_ACT_SIGMOID};
    const bool with[2] = {true, false}, without[2] = {false, false};
    nn_arch a, b;
    declared(&a, 2, sizes, act, with);
    declared(&b, 2, sizes, act, without);
    char why[256];
    ck_assert(nn_arch_same(&a, &a, "checkpoint", "config", why, sizeof why));
    ck_assert(!nn_arch_same(&a, &b, "checkpoint", "config", why, sizeof why));
    ck_assert_str_eq(why, "layer 1 has batch normalization in the checkpoint but not in the config");
    ck_assert(!nn_arch_same(&b, &a, "checkpoint", "config", why, sizeof why));
    ck_assert_str_eq(why, "layer 1 has batch normalization in the config but not in the checkpoint");
    /* momentum and eps are settings of the run, like alpha */
    a.layers[1].momentum = 0.3;
    nn_arch c;
    declared(&c, 2, sizes, act, with);
    ck_assert(nn_arch_same(&a, &c, "checkpoint", "config", why, sizeof why));
}
END_TEST

/* Random parameters (gamma near 1) and inputs for a network, the targets
 * suited to its loss. */
static void random_problem(const nn_arch *a, nn_loss loss, int B, uint64_t seed, double *p,
                           double *X, double *T)
{
    nn_rng r;
    nn_rng_seed(&r, seed, 1);
    size_t off = 0;
    for (int l = 0; l < a->n_layers; l++) {
        const nn_layer *y = &a->layers[l];
        size_t n = nn_layer_ops_of(y->kind)->n_params(y);
        for (size_t q = 0; q < n; q++) {
            double u = 2.0 * nn_rng_double(&r) - 1.0;
            p[off + q] = y->kind == NN_LAYER_BATCH_NORM && q < (size_t)y->out ? 1.0 + 0.5 * u : u;
        }
        off += n;
    }
    for (int q = 0; q < B * a->n_inputs; q++)
        X[q] = 4.0 * nn_rng_double(&r) - 2.0;
    int K = nn_arch_outputs(a);
    for (int i = 0; i < B; i++)
        for (int k = 0; k < K; k++)
            T[i * K + k] = loss == NN_LOSS_CROSS_ENTROPY ? (double)(k == i % K)
                                                          : 2.0 * nn_rng_double(&r) - 1.0;
}

START_TEST(test_batch_norm_passes_the_gradient_check)
{
    static const nn_act hidden[] = {NN_ACT_RELU, NN_ACT_SIGMOID, NN_ACT_TANH, NN_ACT_LEAKY_RELU,
                                    NN_ACT_ELU, NN_ACT_IDENTITY, NN_ACT_SOFTPLUS};
    for (size_t h = 0; h < sizeof hidden / sizeof hidden[0]; h++)
        for (int ce = 0; ce < 2; ce++) {
            const int sizes[4] = {3, 5, 4, ce ? 3 : 2};
            const nn_act act[3] = {hidden[h], hidden[h], ce ? NN_ACT_SOFTMAX : NN_ACT_IDENTITY};
            const bool bn[3] = {true, h % 2 == 0, false};
            nn_arch a;
            declared(&a, 3, sizes, act, bn);
            nn_gradcheck_net net = {&a, ce ? NN_LOSS_CROSS_ENTROPY : NN_LOSS_MSE, 1.0};
            enum { B = 6 };
            double p[96], X[B * 3], T[B * 3];
            ck_assert_uint_le(nn_arch_param_count(&a), 96);
            random_problem(&a, net.loss, B, 40 + h * 2 + (size_t)ce, p, X, T);
            nn_gradcheck_result r;
            nn_error e = {0};
            ck_assert_int_eq(nn_gradcheck(&net, p, X, T, B, 0.0, &r, &e), 0);
            ck_assert_msg(r.worst <= NN_GRADCHECK_TOL,
                          "%s, %s: rel %.3g at layer %d %s %zu (analytic %.12g, numeric %.12g)",
                          nn_act_name(hidden[h]), ce ? "cross_entropy" : "mse", r.worst,
                          r.worst_layer, nn_gradcheck_group_name(&a, r.worst_layer, r.worst_group),
                          r.worst_index, r.worst_analytic, r.worst_numeric);
            ck_assert_uint_eq(r.n_checked, nn_arch_param_count(&a) + B * 3);
        }
}
END_TEST

/* The float engine's gradient (training mode) against the double twin's,
 * on every instruction set. */
START_TEST(test_batch_norm_engine_matches_the_double_reference)
{
    static const char *const isas[] = {"scalar", "avx2", "avx512"};
    const int sizes[4] = {7, 9, 5, 3};
    const nn_act act[3] = {NN_ACT_RELU, NN_ACT_TANH, NN_ACT_SOFTMAX};
    const bool bn[3] = {true, true, false};
    nn_arch a;
    declared(&a, 3, sizes, act, bn);
    enum { B = 11 };
    size_t P = nn_arch_param_count(&a);
    double *p = malloc(sizeof(double) * P), *gp = malloc(sizeof(double) * P);
    double X[B * 7], T[B * 3], gx[B * 7];
    random_problem(&a, NN_LOSS_CROSS_ENTROPY, B, 77, p, X, T);
    nn_gradcheck_net net = {&a, NN_LOSS_CROSS_ENTROPY, 1.0};
    nn_error e = {0};
    ck_assert_int_eq(nn_gradcheck_forward_backward(&net, p, X, T, B, gp, gx, NULL, &e), 0);
    for (int isa = 0; isa < 3; isa++) {
        if (nn_kernels_select(NN_PREC_FP32, isas[isa], &e) < 0)
            continue;
        nn_model *m = nn_model_create(&a, B, &e);
        ck_assert_ptr_nonnull(m);
        float Xf[B * 7], Tf[B * 3], G[B * 3], dX[B * 7];
        for (size_t q = 0; q < P; q++)
            m->params[q] = (float)p[q];
        for (int q = 0; q < B * 7; q++)
            Xf[q] = (float)X[q];
        for (int q = 0; q < B * 3; q++)
            Tf[q] = (float)T[q];
        const float *yhat = nn_model_forward_train(m, Xf, B, NULL);
        nn_loss_backward(NN_LOSS_CROSS_ENTROPY, NN_ACT_SOFTMAX, G, yhat, m->logits, Tf, B, 3, 1);
        nn_model_zero_grad(m);
        nn_model_backward(m, Xf, G, B, dX, true);
        double scale = 0;
        for (size_t q = 0; q < P; q++)
            scale = fmax(scale, fabs(gp[q]));
        for (size_t q = 0; q < P; q++)
            ck_assert_msg(fabs(m->grads[q] - gp[q]) <= 1e-5 * scale + 1e-4 * fabs(gp[q]),
                          "%s: parameter %zu: float %.9g, double %.9g", isas[isa], q,
                          m->grads[q], gp[q]);
        for (int q = 0; q < B * 7; q++)
            ck_assert_msg(fabs(dX[q] - gx[q]) <= 1e-5 + 1e-4 * fabs(gx[q]),
                          "%s: input %d: float %.9g, double %.9g", isas[isa], q, dX[q], gx[q]);
        nn_model_free(m);
    }
    ck_assert_int_eq(nn_kernels_select(NN_PREC_FP32, NULL, &e), 0);
    free(p);
    free(gp);
}
END_TEST

/* The fused SGD path gives the bits of backward then nn_optim_step: the
 * dense layer without bias takes its fused kernels, the normalisation the
 * plain rule after its backward (its scale and shift not decayed). */
START_TEST(test_batch_norm_fused_sgd_equals_backward_then_step)
{
    const int sizes[4] = {13, 17, 9, 4};
    const nn_act act[3] = {NN_ACT_SIGMOID, NN_ACT_RELU, NN_ACT_SOFTMAX};
    const bool bn[3] = {true, true, false};
    nn_arch a;
    declared(&a, 3, sizes, act, bn);
    a.layers[1].dropout = 0.2f; /* the first declared layer's dropout, after its normalisation */
    enum { B = 10 };
    nn_error e = {0};
    nn_model *x = nn_model_create(&a, B, &e), *y = nn_model_create(&a, B, &e);
    ck_assert(x && y);
    nn_rng r;
    nn_rng_seed(&r, 3, 1);
    nn_model_init(x, &r);
    memcpy(y->params, x->params, sizeof(float) * x->n_params);
    memcpy(y->state, x->state, sizeof(float) * x->n_state);
    nn_optim_range decay[8];
    size_t n_decay = nn_model_decay_ranges(y, decay, 8);
    nn_optim_cfg sgd = {.kind = NN_OPTIM_SGD, .lr = 0.2, .weight_decay = 0.01};
    float X[B * 13], dA[B * 4], dB[B * 4];
    for (int step = 0; step < 4; step++) {
        for (int i = 0; i < B * 13; i++)
            X[i] = (float)(2.0 * nn_rng_double(&r) - 1.0);
        for (int i = 0; i < B * 4; i++)
            dA[i] = dB[i] = (float)(nn_rng_double(&r) - 0.5);
        nn_rng da, db;
        nn_rng_seed(&da, (uint64_t)step, 4);
        db = da;
        nn_model_forward_train(x, X, B, &da);
        nn_model_forward_train(y, X, B, &db);
        nn_model_backward_sgd(x, X, dA, B, true, 0.2f, 0.01f);
        nn_model_zero_grad(y);
        nn_model_backward(y, X, dB, B, NULL, true);
        nn_optim_step(&sgd, y->params, y->grads, NULL, y->n_params, decay, n_decay, 0.2,
                      step + 1);
        ck_assert_msg(memcmp(x->params, y->params, sizeof(float) * x->n_params) == 0,
                      "parameters differ after step %d", step + 1);
        ck_assert_mem_eq(x->state, y->state, sizeof(float) * x->n_state);
        for (size_t i = 0; i < x->n_params; i++)
            if (x->grads[i] != 0.0f)
                ck_abort_msg("gradient %zu left %g", i, x->grads[i]);
    }
    nn_model_free(x);
    nn_model_free(y);
}
END_TEST

Suite *batchnorm_suite(void)
{
    Suite *s = suite_create("batchnorm");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_batch_norm_forward_and_backward_by_hand);
    tcase_add_test(tc, test_batch_norm_double_twin_by_hand);
    tcase_add_test(tc, test_arch_expands_a_normalised_layer);
    tcase_add_test(tc, test_arch_same_names_a_batch_norm_difference);
    tcase_add_test(tc, test_batch_norm_passes_the_gradient_check);
    tcase_add_test(tc, test_batch_norm_engine_matches_the_double_reference);
    tcase_add_test(tc, test_batch_norm_fused_sgd_equals_backward_then_step);
    suite_add_tcase(s, tc);
    return s;
}
