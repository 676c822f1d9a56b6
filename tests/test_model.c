/* test_model.c - the model: forward against hand-computed values, every
 * gradient (weights, biases, inputs) against central finite differences of
 * the cost computed here in double precision, the loss and the SGD step. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "nn/loss.h"
#include "nn/model.h"
#include "nn/optim.h"
#include "tests.h"
#include "util/rng.h"

/* A model of dense layers: units[l] and act[l], dropout rates[l] (NULL:
 * none), weights to be initialised by Glorot; NULL with *e when the
 * architecture is impossible. */
static nn_model *stack(int n_in, int n_layers, const int *units, const nn_act *act,
                       const float *rates, int max_batch, nn_error *e)
{
    nn_layer_cfg cfg[NN_MAX_LAYERS];
    memset(cfg, 0, sizeof cfg);
    for (int l = 0; l < n_layers; l++) {
        cfg[l].units = units[l];
        cfg[l].act = act[l];
        cfg[l].alpha = nn_act_default_alpha(act[l]);
        cfg[l].init = NN_INIT_GLOROT;
        cfg[l].dropout = rates ? rates[l] : 0.0;
    }
    nn_arch a;
    if (nn_arch_from_layers(&a, n_in, cfg, n_layers, e) < 0)
        return NULL;
    return nn_model_create(&a, max_batch, e);
}

/* Where layer l's weights and biases start (a dense stack with biases). */
static size_t w_off(const nn_model *m, int l)
{
    return m->param_off[l];
}

static size_t b_off(const nn_model *m, int l)
{
    return m->param_off[l] + (size_t)m->arch.layers[l].out * (size_t)m->arch.layers[l].in;
}

START_TEST(test_dense_forward_hand_computed)
{
    /* One layer, 2 inputs -> 2 units.  W = [[1, 2], [3, -1]], b = [0.5, -1],
     * x = [1, 2]:  z = [1 + 4 + 0.5, 3 - 2 - 1] = [5.5, 0]. */
    int units[1] = {2};
    nn_error e = {0};
    for (int a = 0; a < 2; a++) {
        nn_act act[1] = {a ? NN_ACT_SIGMOID : NN_ACT_IDENTITY};
        nn_model *m = stack(2, 1, units, act, NULL, 4, &e);
        ck_assert_ptr_nonnull(m);
        ck_assert_uint_eq(m->n_params, 6);
        const float p[6] = {1, 2, 3, -1, 0.5f, -1};
        memcpy(m->params, p, sizeof p);
        const float x[2] = {1, 2};
        const float *y = nn_model_forward(m, x, 1);
        if (a) {
            ck_assert_float_eq_tol(y[0], 1.0 / (1.0 + exp(-5.5)), 1e-7);
            ck_assert_float_eq(y[1], 0.5f); /* sigmoid(0) is exactly 1/2 */
        } else {
            ck_assert_float_eq(y[0], 5.5f);
            ck_assert_float_eq(y[1], 0.0f);
        }
        nn_model_free(m);
    }
}
END_TEST

START_TEST(test_two_layer_forward_hand_computed)
{
    /* 1 input -> 1 sigmoid unit -> 1 identity unit.  w1 = 0, b1 = 0 gives
     * h = 1/2 whatever x is; then y = 4 h - 1 = 1. */
    int units[2] = {1, 1};
    nn_act act[2] = {NN_ACT_SIGMOID, NN_ACT_IDENTITY};
    nn_error e = {0};
    nn_model *m = stack(1, 2, units, act, NULL, 1, &e);
    ck_assert_ptr_nonnull(m);
    const float p[4] = {0, 0, 4, -1};
    memcpy(m->params, p, sizeof p);
    const float x[1] = {123.0f};
    ck_assert_float_eq(nn_model_forward(m, x, 1)[0], 1.0f);
    nn_model_free(m);
}
END_TEST

START_TEST(test_mse_loss_and_gradient_hand_computed)
{
    /* Two samples, 3 outputs, labels 0 and 2 (one-hot targets):
     *   d = yhat - t = [[-0.5, 0.5, 0], [0, 1, -1]]
     *   C = (0.25 + 0.25 + 0 + 0 + 1 + 1) / (2 * 2) = 0.625
     *   dC/dyhat = d / 2. */
    const float yhat[6] = {0.5f, 0.5f, 0, 0, 1, 0};
    const float T[6] = {1, 0, 0, 0, 0, 1};
    ck_assert_double_eq_tol(nn_mse_forward(yhat, T, 2, 3), 0.625, 1e-12);
    float g[6];
    nn_mse_backward(g, yhat, T, 2, 3);
    const float want[6] = {-0.25f, 0.25f, 0, 0, 0.5f, -0.5f};
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(g[i], want[i]);
    /* One output unit: the target is the label itself. */
    const float y1[2] = {0.25f, 0.75f};
    const float t1[2] = {1, 0};
    ck_assert_double_eq_tol(nn_mse_forward(y1, t1, 2, 1), (0.5625 + 0.5625) / 4, 1e-12);
    ck_assert_int_eq(nn_predict_class(y1, 1), 0);
    ck_assert_int_eq(nn_predict_class(y1 + 1, 1), 1);
    const float tie[3] = {0.2f, 0.7f, 0.7f};
    ck_assert_int_eq(nn_predict_class(tie, 3), 1); /* the first of equal maxima */
}
END_TEST


START_TEST(test_glorot_init_range_and_seed)
{
    int units[2] = {30, 10};
    nn_act act[2] = {NN_ACT_SIGMOID, NN_ACT_SIGMOID};
    nn_error e = {0};
    nn_model *a = stack(50, 2, units, act, NULL, 1, &e), *b = stack(50, 2, units, act, NULL, 1, &e);
    nn_rng r1, r2;
    nn_rng_seed(&r1, 5, 1);
    nn_rng_seed(&r2, 5, 1);
    nn_model_init(a, &r1);
    nn_model_init(b, &r2);
    ck_assert_mem_eq(a->params, b->params, sizeof(float) * a->n_params);
    double r0 = sqrt(6.0 / 80), rl = sqrt(6.0 / 40), maxabs = 0;
    for (size_t i = 0; i < 30 * 50; i++) {
        ck_assert(fabs(a->params[i]) <= r0);
        maxabs = fmax(maxabs, fabs(a->params[i]));
    }
    ck_assert(maxabs > 0.9 * r0); /* uses the whole range */
    for (size_t i = 0; i < 30; i++)
        ck_assert_float_eq(a->params[b_off(a, 0) + i], 0.0f);
    for (size_t i = 0; i < 10 * 30; i++)
        ck_assert(fabs(a->params[w_off(a, 1) + i]) <= rl);
    nn_model_free(a);
    nn_model_free(b);
}
END_TEST

START_TEST(test_model_rejects_impossible_architecture)
{
    int units[1] = {0};
    nn_act act[1] = {NN_ACT_SIGMOID};
    nn_error e = {0};
    ck_assert_ptr_null(stack(3, 1, units, act, NULL, 1, &e));
    ck_assert_int_eq(e.code, 2);
    ck_assert_str_eq(e.msg, "impossible model: layer 1 has 0 units");
}
END_TEST

/* --- gradients against central finite differences ----------------------- */

/* The cost of the model's parameters p (double) on X, computed here from the
 * definitions, independently of the engine. */
static double ref_cost(const nn_model *m, const double *p, const double *X, const int32_t *y,
                       int B)
{
    double cost = 0;
    double a[2][64];
    for (int i = 0; i < B; i++) {
        const double *x = X + (size_t)i * m->arch.n_inputs;
        int in = m->arch.n_inputs;
        for (int l = 0; l < m->arch.n_layers; l++) {
            const nn_layer *ly = &m->arch.layers[l];
            const double *W = p + w_off(m, l), *b = p + b_off(m, l);
            double *out = a[l & 1];
            for (int j = 0; j < ly->out; j++) {
                double z = b[j];
                for (int k = 0; k < in; k++)
                    z += W[(size_t)j * in + k] * x[k];
                out[j] = ly->act == NN_ACT_SIGMOID ? 1 / (1 + exp(-z)) : z;
            }
            x = out;
            in = ly->out;
        }
        int K = in;
        for (int k = 0; k < K; k++) {
            double t = K == 1 ? y[i] : (y[i] == k);
            cost += (x[k] - t) * (x[k] - t);
        }
    }
    return cost / (2.0 * B);
}

static void check_gradients(int n_in, int n_layers, const int *units, const nn_act *act, int B)
{
    nn_error e = {0};
    nn_model *m = stack(n_in, n_layers, units, act, NULL, B, &e);
    ck_assert_ptr_nonnull(m);
    nn_rng r;
    nn_rng_seed(&r, (uint64_t)(n_in * 100 + n_layers * 10 + B), 11);
    /* wider than Glorot so the sigmoids are not all near 1/2 */
    for (size_t i = 0; i < m->n_params; i++)
        m->params[i] = (float)(3.0 * nn_rng_double(&r) - 1.5);
    int K = units[n_layers - 1];
    float *X = malloc(sizeof(float) * (size_t)B * n_in);
    double *Xd = malloc(sizeof(double) * (size_t)B * n_in);
    int32_t *y = malloc(sizeof(int32_t) * (size_t)B);
    for (int i = 0; i < B * n_in; i++)
        Xd[i] = X[i] = (float)(2.0 * nn_rng_double(&r) - 1.0);
    for (int i = 0; i < B; i++)
        y[i] = (int32_t)nn_rng_below(&r, K == 1 ? 2 : (uint64_t)K);

    float *T = calloc((size_t)B * K, sizeof(float));
    for (int i = 0; i < B; i++) {
        if (K == 1)
            T[i] = (float)y[i];
        else
            T[(size_t)i * K + y[i]] = 1.0f;
    }
    const float *yhat = nn_model_forward_train(m, X, B, NULL);
    float *dOut = malloc(sizeof(float) * (size_t)B * K), *dX = malloc(sizeof(float) * (size_t)B * n_in);
    nn_mse_backward(dOut, yhat, T, B, K);
    nn_model_zero_grad(m);
    nn_model_backward(m, X, dOut, B, dX, false);

    /* The engine's forward agrees with the double reference. */
    double *p = malloc(sizeof(double) * m->n_params);
    for (size_t i = 0; i < m->n_params; i++)
        p[i] = m->params[i];
    ck_assert_double_eq_tol(nn_mse_forward(yhat, T, B, K), ref_cost(m, p, Xd, y, B), 1e-5);

    /* dC/dp_i ~ (C(p + h e_i) - C(p - h e_i)) / 2h, error O(h^2) ~ 1e-12 in
     * double; what is left is the engine's float rounding. */
    const double h = 1e-5;
    for (size_t i = 0; i < m->n_params; i++) {
        double keep = p[i];
        p[i] = keep + h;
        double up = ref_cost(m, p, Xd, y, B);
        p[i] = keep - h;
        double down = ref_cost(m, p, Xd, y, B);
        p[i] = keep;
        double fd = (up - down) / (2 * h);
        ck_assert_msg(fabs(m->grads[i] - fd) <= 1e-4 * fabs(fd) + 2e-6,
                      "param %zu: analytic %.9g, finite difference %.9g", i, m->grads[i], fd);
    }
    for (int i = 0; i < B * n_in; i++) {
        double keep = Xd[i];
        Xd[i] = keep + h;
        double up = ref_cost(m, p, Xd, y, B);
        Xd[i] = keep - h;
        double down = ref_cost(m, p, Xd, y, B);
        Xd[i] = keep;
        double fd = (up - down) / (2 * h);
        ck_assert_msg(fabs(dX[i] - fd) <= 1e-4 * fabs(fd) + 2e-6,
                      "input %d: analytic %.9g, finite difference %.9g", i, dX[i], fd);
    }
    free(p);
    free(T);
    free(X);
    free(Xd);
    free(y);
    free(dOut);
    free(dX);
    nn_model_free(m);
}

START_TEST(test_gradients_match_finite_differences_sigmoid_stack)
{
    int u3[3] = {5, 4, 3};
    nn_act s3[3] = {NN_ACT_SIGMOID, NN_ACT_SIGMOID, NN_ACT_SIGMOID};
    check_gradients(7, 3, u3, s3, 4);
}
END_TEST

START_TEST(test_gradients_match_finite_differences_identity_and_mixed)
{
    int u2[2] = {6, 4};
    nn_act id2[2] = {NN_ACT_IDENTITY, NN_ACT_IDENTITY};
    nn_act mix[2] = {NN_ACT_SIGMOID, NN_ACT_IDENTITY};
    nn_act mix2[2] = {NN_ACT_IDENTITY, NN_ACT_SIGMOID};
    check_gradients(3, 2, u2, id2, 5);
    check_gradients(3, 2, u2, mix, 5);
    check_gradients(3, 2, u2, mix2, 1);
}
END_TEST

START_TEST(test_gradients_match_finite_differences_size_one)
{
    int u1[1] = {1};
    nn_act s1[1] = {NN_ACT_SIGMOID};
    check_gradients(1, 1, u1, s1, 1);   /* one input, one unit, one sample */
    int u2[2] = {1, 1};
    nn_act s2[2] = {NN_ACT_SIGMOID, NN_ACT_SIGMOID};
    check_gradients(1, 2, u2, s2, 3);
    int u3[2] = {17, 1};
    check_gradients(9, 2, u3, s2, 7);   /* binary output */
}
END_TEST

START_TEST(test_backward_accumulates_and_zero_grad_clears)
{
    int units[1] = {2};
    nn_act act[1] = {NN_ACT_IDENTITY};
    nn_error e = {0};
    nn_model *m = stack(2, 1, units, act, NULL, 1, &e);
    const float p[6] = {1, 0, 0, 1, 0, 0};
    memcpy(m->params, p, sizeof p);
    const float x[2] = {2, 3};
    nn_model_forward_train(m, x, 1, NULL);
    float g[2] = {1, -1};
    nn_model_zero_grad(m);
    nn_model_backward(m, x, g, 1, NULL, false);
    /* dW = g^T x = [[2, 3], [-2, -3]], db = g */
    const float want[6] = {2, 3, -2, -3, 1, -1};
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(m->grads[i], want[i]);
    float g2[2] = {1, -1};
    nn_model_backward(m, x, g2, 1, NULL, false);
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(m->grads[i], 2 * want[i]);
    nn_model_zero_grad(m);
    for (int i = 0; i < 6; i++)
        ck_assert_float_eq(m->grads[i], 0.0f);
    nn_model_free(m);
}
END_TEST

/* The backward pass fused with SGD against the backward pass into zeroed
 * gradients followed by nn_optim_step (weights decayed, biases not): the
 * same parameter bits, gradients left zero, on every instruction set, for
 * a stack with fused and unfused activations, dropout and a softmax output
 * with the fused cross-entropy gradient. */
START_TEST(test_backward_sgd_equals_backward_then_step)
{
    static const char *const isas[] = {"scalar", "avx2", "avx512"};
    enum { IN = 37, B = 19, L = 4 };
    int units[L] = {33, 20, 17, 5};
    nn_act act[L] = {NN_ACT_SIGMOID, NN_ACT_RELU, NN_ACT_TANH, NN_ACT_SOFTMAX};
    float rates[L] = {0.2f, 0.0f, 0.1f, 0.0f};
    for (int isa = 0; isa < 3; isa++) {
        nn_error e = {0};
        if (nn_kernels_select(NN_PREC_FP32, isas[isa], &e) < 0)
            continue; /* the processor lacks it */
        for (int fused_dz = 0; fused_dz < 2; fused_dz++) {
            nn_model *a = stack(IN, L, units, act, rates, B, &e);
            nn_model *b = stack(IN, L, units, act, rates, B, &e);
            ck_assert(a && b);
            nn_rng r;
            nn_rng_seed(&r, 5, 1);
            nn_model_init(a, &r);
            memcpy(b->params, a->params, sizeof(float) * a->n_params);
            nn_optim_cfg sgd = {.kind = NN_OPTIM_SGD, .lr = 0.3, .weight_decay = 0.01};
            nn_optim_range decay[L];
            for (int l = 0; l < L; l++)
                decay[l] = (nn_optim_range){w_off(a, l), b_off(a, l) - w_off(a, l)};
            nn_optim_range ranges[2 * L];
            ck_assert_uint_eq(nn_model_decay_ranges(a, ranges, 2 * L), L);
            ck_assert_mem_eq(ranges, decay, sizeof decay);
            float X[B * IN], dA[B * 5], dB[B * 5];
            for (int step = 0; step < 3; step++) {
                for (int i = 0; i < B * IN; i++)
                    X[i] = (float)(2.0 * nn_rng_double(&r) - 1.0);
                for (int i = 0; i < B * 5; i++)
                    dA[i] = dB[i] = (float)(nn_rng_double(&r) - 0.5);
                nn_rng da, db;
                nn_rng_seed(&da, (uint64_t)step, 2);
                db = da;
                nn_model_forward_train(a, X, B, &da);
                nn_model_forward_train(b, X, B, &db);
                double lr = 0.3 / (step + 1);
                nn_model_backward_sgd(a, X, dA, B, fused_dz, (float)lr, (float)sgd.weight_decay);
                nn_model_zero_grad(b);
                nn_model_backward(b, X, dB, B, NULL, fused_dz);
                nn_optim_step(&sgd, b->params, b->grads, NULL, b->n_params, decay, L, lr, step + 1);
                ck_assert_msg(memcmp(a->params, b->params, sizeof(float) * a->n_params) == 0,
                              "%s, fused dZ %d: parameters differ after step %d", isas[isa],
                              fused_dz, step + 1);
                for (size_t i = 0; i < a->n_params; i++)
                    if (a->grads[i] != 0.0f)
                        ck_abort_msg("%s: gradient %zu left %g", isas[isa], i, a->grads[i]);
            }
            nn_model_free(a);
            nn_model_free(b);
        }
    }
    nn_error e = {0};
    ck_assert_int_eq(nn_kernels_select(NN_PREC_FP32, NULL, &e), 0);
}
END_TEST

/* Dropout masks follow the rule u < p ? 0 : 1 / (1 - p) with u =
 * nn_rng_double of the pass's generator, one draw per sample and unit in
 * row order, layer by layer, for rates whose p * 2^53 is and is not an
 * integer. */
START_TEST(test_dropout_masks_follow_the_uniform_draws)
{
    static const float ps[] = {0.3f, 0.5f, 0.1f, 0.9f};
    for (int k = 0; k < 4; k++) {
        int units[3] = {33, 17, 2};
        nn_act act[3] = {NN_ACT_RELU, NN_ACT_TANH, NN_ACT_SIGMOID};
        float rates[3] = {ps[k], ps[(k + 1) % 4], 0.0f};
        nn_error e = {0};
        nn_model *m = stack(5, 3, units, act, rates, 19, &e);
        ck_assert_ptr_nonnull(m);
        nn_rng r;
        nn_rng_seed(&r, 9, 1);
        nn_model_init(m, &r);
        float X[19 * 5];
        for (int i = 0; i < 19 * 5; i++)
            X[i] = (float)(2.0 * nn_rng_double(&r) - 1.0);
        nn_rng d, want;
        nn_rng_seed(&d, (uint64_t)k, 4);
        want = d;
        nn_model_forward_train(m, X, 19, &d);
        for (int l = 0; l < 2; l++) {
            double p = rates[l];
            float scale = (float)(1.0 / (1.0 - p));
            for (int i = 0; i < 19 * units[l]; i++) {
                float w = nn_rng_double(&want) < p ? 0.0f : scale;
                if (m->mask[l][i] != w)
                    ck_abort_msg("p %g, layer %d, mask %d: %g, want %g", p, l, i,
                                 (double)m->mask[l][i], (double)w);
                if (m->acts[l][i] != m->kept[l][i] * w)
                    ck_abort_msg("layer %d, unit %d: not the kept output times its mask", l, i);
            }
        }
        ck_assert_mem_eq(&d, &want, sizeof d); /* no other draws */
        nn_model_free(m);
    }
}
END_TEST

START_TEST(test_dropout_is_off_in_inference_passes)
{
    /* a model with dropout: inference is deterministic and unscaled, a
     * training pass drops units */
    int units[2] = {8, 2};
    nn_act act[2] = {NN_ACT_RELU, NN_ACT_SIGMOID};
    float rates[2] = {0.5f, 0.0f};
    nn_error e = {0};
    nn_model *m = stack(3, 2, units, act, rates, 4, &e);
    ck_assert_ptr_nonnull(m);
    nn_rng r;
    nn_rng_seed(&r, 1, 1);
    nn_model_init(m, &r);
    const float x[12] = {1, 2, 3, -1, 0.5f, 2, 0, 1, 1, 3, -2, 1};
    float y1[8], y2[8];
    memcpy(y1, nn_model_forward(m, x, 4), sizeof y1);
    memcpy(y2, nn_model_forward(m, x, 4), sizeof y2);
    ck_assert_mem_eq(y1, y2, sizeof y1);
    int dropped = 0;
    nn_rng d;
    nn_rng_seed(&d, 2, 4);
    nn_model_forward_train(m, x, 4, &d);
    for (int i = 0; i < 32; i++) {
        ck_assert(m->mask[0][i] == 0.0f || m->mask[0][i] == 2.0f); /* 1/(1 - 0.5) */
        dropped += m->mask[0][i] == 0.0f;
        ck_assert_float_eq(m->acts[0][i], m->kept[0][i] * m->mask[0][i]);
    }
    ck_assert(dropped > 4 && dropped < 28);
    nn_model_free(m);
}
END_TEST

/* Every buffer the model allocates starts on a 64-byte boundary (a cache
 * line, an AVX-512 vector), at sizes malloc would align to 16 bytes only,
 * and parameters and gradients start zeroed. */
START_TEST(test_model_buffers_are_line_aligned)
{
    int units[3] = {300, 77, 3};
    nn_act act[3] = {NN_ACT_SIGMOID, NN_ACT_RELU, NN_ACT_SIGMOID};
    float rates[3] = {0.5f, 0.0f, 0.0f};
    nn_error e = {0};
    nn_model *m = stack(785, 3, units, act, rates, 129, &e);
    ck_assert_ptr_nonnull(m);
    const void *p[] = {m->params, m->grads, m->state, m->logits, m->delta[0], m->delta[1],
                       m->acts[0], m->acts[1], m->acts[2], m->mask[0], m->kept[0]};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
        ck_assert_ptr_nonnull(p[i]);
        ck_assert_msg((uintptr_t)p[i] % 64 == 0, "buffer %zu is not 64-byte aligned", i);
    }
    for (size_t i = 0; i < m->n_params; i++)
        if (m->params[i] != 0.0f || m->grads[i] != 0.0f)
            ck_abort_msg("parameter %zu does not start at zero", i);
    nn_model_free(m);
}
END_TEST

Suite *model_suite(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_dense_forward_hand_computed);
    tcase_add_test(tc, test_two_layer_forward_hand_computed);
    tcase_add_test(tc, test_mse_loss_and_gradient_hand_computed);
    tcase_add_test(tc, test_glorot_init_range_and_seed);
    tcase_add_test(tc, test_model_rejects_impossible_architecture);
    tcase_add_test(tc, test_gradients_match_finite_differences_sigmoid_stack);
    tcase_add_test(tc, test_gradients_match_finite_differences_identity_and_mixed);
    tcase_add_test(tc, test_gradients_match_finite_differences_size_one);
    tcase_add_test(tc, test_backward_accumulates_and_zero_grad_clears);
    tcase_add_test(tc, test_backward_sgd_equals_backward_then_step);
    tcase_add_test(tc, test_dropout_masks_follow_the_uniform_draws);
    tcase_add_test(tc, test_dropout_is_off_in_inference_passes);
    tcase_add_test(tc, test_model_buffers_are_line_aligned);
    suite_add_tcase(s, tc);
    return s;
}
