/* test_optim.c - optimizers against updates worked out by hand (two steps on
 * three parameters, so momentum, moments and bias correction all count),
 * weight decay on the decay ranges only, L2 (Adam) against decoupled (AdamW)
 * decay, global-norm clipping, every schedule at its boundaries, state
 * sizes, determinism and bit-exact resume from a copied checkpoint. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "pool/pool.h"
#include "nn/optim.h"
#include "tests.h"

/* Hand-computed values are rounded to 10 digits and the code works in
 * float (ulp of 1.0 is 1.2e-7): absolute tolerance 1e-6 on values O(1). */
#define TOL 1e-6

/* The 3-parameter example shared by the hand-computed tests:
 *   w0 = [1, -2, 0.5],  g1 = [0.5, -1, 2] (step t=1),  g2 = [0.25, 0.5, -1] (t=2),
 *   lr = 0.1, every parameter decayed when weight decay is on. */
static const float W0[3] = {1.0f, -2.0f, 0.5f};
static const float G1[3] = {0.5f, -1.0f, 2.0f};
static const float G2[3] = {0.25f, 0.5f, -1.0f};
static const nn_optim_range ALL3 = {0, 3};

/* Runs the two steps of the example; state must hold the optimizer's state. */
static void two_steps(const nn_optim_cfg *c, float w[3], float *state)
{
    memcpy(w, W0, sizeof W0);
    nn_optim_step(c, w, G1, state, 3, &ALL3, 1, 0.1, 1);
    nn_optim_step(c, w, G2, state, 3, &ALL3, 1, 0.1, 2);
}

static void assert_vec(const float *got, const double *want, size_t n, double tol)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabs((double)got[i] - want[i]) <= tol, "element %zu: got %.9g, want %.9g",
                      i, (double)got[i], want[i]);
}

START_TEST(test_sgd_plain_two_steps_hand_computed)
{
    /* w1 = w0 - 0.1 g1 = [0.95, -1.9, 0.3];  w2 = w1 - 0.1 g2 = [0.925, -1.95, 0.4] */
    nn_optim_cfg c = {.kind = NN_OPTIM_SGD, .lr = 0.1};
    float w[3];
    two_steps(&c, w, NULL);
    assert_vec(w, (const double[]){0.925, -1.95, 0.4}, 3, TOL);
}
END_TEST

START_TEST(test_sgd_momentum_two_steps_hand_computed)
{
    /* mu = 0.9.  v1 = g1 = [0.5, -1, 2];  w1 = w0 - 0.1 v1 = [0.95, -1.9, 0.3]
     * v2 = 0.9 v1 + g2 = [0.7, -0.4, 0.8];  w2 = w1 - 0.1 v2 = [0.88, -1.86, 0.22] */
    nn_optim_cfg c = {.kind = NN_OPTIM_SGD, .lr = 0.1, .momentum = 0.9};
    float w[3], state[3] = {0};
    two_steps(&c, w, state);
    assert_vec(w, (const double[]){0.88, -1.86, 0.22}, 3, TOL);
    assert_vec(state, (const double[]){0.7, -0.4, 0.8}, 3, TOL);
}
END_TEST

START_TEST(test_sgd_nesterov_two_steps_hand_computed)
{
    /* mu = 0.9.  v1 = g1;  w1 = w0 - 0.1 (g1 + 0.9 v1) = w0 - 0.19 g1 = [0.905, -1.81, 0.12]
     * v2 = 0.9 v1 + g2 = [0.7, -0.4, 0.8];  g2 + 0.9 v2 = [0.88, 0.14, -0.28]
     * w2 = w1 - 0.1 [0.88, 0.14, -0.28] = [0.817, -1.824, 0.148] */
    nn_optim_cfg c = {.kind = NN_OPTIM_SGD, .lr = 0.1, .momentum = 0.9, .nesterov = true};
    float w[3], state[3] = {0};
    two_steps(&c, w, state);
    assert_vec(w, (const double[]){0.817, -1.824, 0.148}, 3, TOL);
    assert_vec(state, (const double[]){0.7, -0.4, 0.8}, 3, TOL);
}
END_TEST

START_TEST(test_adam_two_steps_hand_computed)
{
    /* b1 = 0.9, b2 = 0.999, eps = 1e-8.
     * t=1: m = 0.1 g1 = [0.05, -0.1, 0.2];  v = 0.001 g1^2 = [0.00025, 0.001, 0.004]
     *      m_hat = g1, v_hat = g1^2, so the step is 0.1 g1/(|g1| + 1e-8) ~ 0.1 sign(g1):
     *      w1 = [0.9000000020, -1.9000000010, 0.4000000005]
     * t=2: m = 0.9 m + 0.1 g2 = [0.07, -0.04, 0.08]
     *      v = 0.999 v + 0.001 g2^2 = [0.00031225, 0.001249, 0.004996]
     *      m_hat = m / (1 - 0.81) = [0.3684210526, -0.2105263158, 0.4210526316]
     *      v_hat = v / (1 - 0.998001) = [0.1562031016, 0.6248124062, 2.4992496248]
     *      sqrt(v_hat) = [0.3952253807, 0.7904507614, 1.5809015228]
     *      0.1 m_hat / sqrt(v_hat) = [0.0932179639, -0.0266337040, 0.0266337040]
     *      w2 = [0.8067820405, -1.8733662974, 0.3733662967]  */
    nn_optim_cfg c = {.kind = NN_OPTIM_ADAM, .lr = 0.1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    float w[3], state[6] = {0};
    two_steps(&c, w, state);
    assert_vec(w, (const double[]){0.8067820405, -1.8733662974, 0.3733662967}, 3, TOL);
    /* state is [m (3)][v (3)] */
    assert_vec(state, (const double[]){0.07, -0.04, 0.08}, 3, 1e-7);
    assert_vec(state + 3, (const double[]){0.00031225, 0.001249, 0.004996}, 3, 1e-9);
}
END_TEST

START_TEST(test_adamw_two_steps_hand_computed)
{
    /* As Adam, with weight_decay 0.1 decoupled: before each Adam step
     * w <- w - lr*wd*w = 0.99 w; the moments see only g, so the Adam steps
     * are those of test_adam_two_steps_hand_computed.
     * t=1: w1 = 0.99 w0 - [0.1, -0.1, 0.1] = [0.8900000020, -1.8800000010, 0.3950000005]
     * t=2: w2 = 0.99 w1 - [0.0932179639, -0.0266337040, 0.0266337040]
     *         = [0.7878820405, -1.8345662974, 0.3644162967] */
    nn_optim_cfg c = {.kind = NN_OPTIM_ADAMW, .lr = 0.1, .beta1 = 0.9, .beta2 = 0.999,
                      .eps = 1e-8, .weight_decay = 0.1};
    float w[3], state[6] = {0};
    two_steps(&c, w, state);
    assert_vec(w, (const double[]){0.7878820405, -1.8345662974, 0.3644162967}, 3, TOL);
    assert_vec(state, (const double[]){0.07, -0.04, 0.08}, 3, 1e-7);
}
END_TEST

START_TEST(test_weight_decay_applies_to_decay_ranges_only)
{
    /* A model-like layout [W0 (4)][b0 (2)][W1 (2)][b1 (1)] with zero
     * gradients: SGD (L2, lr 0.5, wd 0.1) scales the weights by 1 - 0.05 and
     * leaves the biases bit for bit; so do momentum and AdamW (lr*wd = 0.05). */
    const float w0[9] = {1, -2, 3, -4, 5, 6, 7, -8, 9};
    const float g[9] = {0};
    const nn_optim_range decay[2] = {{0, 4}, {6, 2}};
    const bool decayed[9] = {1, 1, 1, 1, 0, 0, 1, 1, 0};
    const nn_optim_cfg cfgs[3] = {
        {.kind = NN_OPTIM_SGD, .lr = 0.5, .weight_decay = 0.1},
        {.kind = NN_OPTIM_SGD, .lr = 0.5, .momentum = 0.9, .weight_decay = 0.1},
        {.kind = NN_OPTIM_ADAMW, .lr = 0.5, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
         .weight_decay = 0.1},
    };
    for (int k = 0; k < 3; k++) {
        float w[9], state[18] = {0};
        memcpy(w, w0, sizeof w);
        nn_optim_step(&cfgs[k], w, g, state, 9, decay, 2, 0.5, 1);
        for (int i = 0; i < 9; i++) {
            if (decayed[i])
                ck_assert_float_eq_tol(w[i], 0.95f * w0[i], 1e-6f);
            else
                ck_assert_float_eq(w[i], w0[i]);
        }
    }
    /* No ranges: nothing decays. */
    float w[9];
    memcpy(w, w0, sizeof w);
    nn_optim_step(&cfgs[0], w, g, NULL, 9, NULL, 0, 0.5, 1);
    ck_assert_mem_eq(w, w0, sizeof w);
}
END_TEST

START_TEST(test_adam_l2_is_normalized_adamw_decay_is_not)
{
    /* w = [2, -4 | 3], only the first two decayed, zero gradients, lr 0.1,
     * wd 0.01, one step.
     * Adam (L2): g = wd*w = [0.02, -0.04]; at t=1 m_hat/sqrt(v_hat) = sign(g),
     *   so the weights move by a full lr: [1.9, -3.9] (eps adds < 1e-7).
     * AdamW: w <- (1 - lr*wd) w = 0.999 w = [1.998, -3.996]; the moments
     *   see g = 0 and the Adam step is 0/(0 + eps) = 0.
     * The bias (3) stays exactly 3 in both. */
    const float w0[3] = {2, -4, 3};
    const float g[3] = {0};
    const nn_optim_range decay = {0, 2};
    nn_optim_cfg c = {.kind = NN_OPTIM_ADAM, .lr = 0.1, .beta1 = 0.9, .beta2 = 0.999,
                      .eps = 1e-8, .weight_decay = 0.01};
    float w[3], state[6] = {0};
    memcpy(w, w0, sizeof w);
    nn_optim_step(&c, w, g, state, 3, &decay, 1, 0.1, 1);
    assert_vec(w, (const double[]){1.9, -3.9, 3}, 3, TOL);
    ck_assert_float_eq(w[2], 3.0f);

    c.kind = NN_OPTIM_ADAMW;
    memset(state, 0, sizeof state);
    memcpy(w, w0, sizeof w);
    nn_optim_step(&c, w, g, state, 3, &decay, 1, 0.1, 1);
    assert_vec(w, (const double[]){1.998, -3.996, 3}, 3, TOL);
    ck_assert_float_eq(w[2], 3.0f);

    /* Without weight decay the two are the same update, bit for bit. */
    float wa[3], wb[3], sa[6] = {0}, sb[6] = {0};
    c.weight_decay = 0;
    c.kind = NN_OPTIM_ADAM;
    two_steps(&c, wa, sa);
    c.kind = NN_OPTIM_ADAMW;
    two_steps(&c, wb, sb);
    ck_assert_mem_eq(wa, wb, sizeof wa);
    ck_assert_mem_eq(sa, sb, sizeof sa);
}
END_TEST

START_TEST(test_clip_scales_above_threshold_only)
{
    /* g = [3, 4, 0, 0]: ||g|| = 5. */
    const float g0[4] = {3, 4, 0, 0};
    float g[4];

    memcpy(g, g0, sizeof g); /* below the threshold: unchanged */
    ck_assert_double_eq(nn_optim_clip(g, 4, 10.0), 5.0);
    ck_assert_mem_eq(g, g0, sizeof g);

    memcpy(g, g0, sizeof g); /* at the threshold: unchanged (clip only when >) */
    ck_assert_double_eq(nn_optim_clip(g, 4, 5.0), 5.0);
    ck_assert_mem_eq(g, g0, sizeof g);

    memcpy(g, g0, sizeof g); /* off */
    ck_assert_double_eq(nn_optim_clip(g, 4, 0.0), 5.0);
    ck_assert_mem_eq(g, g0, sizeof g);

    memcpy(g, g0, sizeof g); /* above: scale 2.5/5 = 0.5 exactly */
    ck_assert_double_eq(nn_optim_clip(g, 4, 2.5), 5.0);
    ck_assert_float_eq(g[0], 1.5f);
    ck_assert_float_eq(g[1], 2.0f);
    ck_assert_float_eq(g[2], 0.0f);
    ck_assert_float_eq(g[3], 0.0f);
    ck_assert_double_eq_tol(nn_optim_clip(g, 4, 2.5), 2.5, 1e-12);

    memcpy(g, g0, sizeof g); /* above, inexact scale 1/5: the norm becomes 1 */
    nn_optim_clip(g, 4, 1.0);
    ck_assert_float_eq_tol(g[0], 0.6f, 1e-7f);
    ck_assert_float_eq_tol(g[1], 0.8f, 1e-7f);
    ck_assert_double_eq_tol(nn_optim_clip(g, 4, 0.0), 1.0, 1e-7);

    /* A non-finite gradient: reported, grads left for the divergence check. */
    float bad[2] = {INFINITY, 1};
    ck_assert(isinf(nn_optim_clip(bad, 2, 1.0)));
    ck_assert_float_eq(bad[1], 1.0f);
    ck_assert_double_eq(nn_optim_clip(NULL, 0, 1.0), 0.0);
}
END_TEST

/* Schedules: base lr 0.1, 10 steps per epoch; steps 9/10 are the last step
 * of epoch 0 and the first of epoch 1.  Relative tolerance 1e-12. */
#define SPE 10
static void assert_lr(const nn_schedule *s, int64_t step, double want)
{
    double got = nn_schedule_lr(s, 0.1, step, SPE);
    ck_assert_msg(fabs(got - want) <= 1e-12 * fabs(want), "step %lld: got %.17g, want %.17g",
                  (long long)step, got, want);
}

START_TEST(test_schedule_constant_never_changes)
{
    nn_schedule s = {.kind = NN_SCHED_CONSTANT};
    assert_lr(&s, 0, 0.1);
    assert_lr(&s, 9, 0.1);
    assert_lr(&s, 10, 0.1);
    assert_lr(&s, 1000000, 0.1);
}
END_TEST

START_TEST(test_schedule_step_changes_every_step_epochs)
{
    nn_schedule s = {.kind = NN_SCHED_STEP, .gamma = 0.5, .step_epochs = 2};
    assert_lr(&s, 0, 0.1);
    assert_lr(&s, 9, 0.1);   /* end of epoch 0 */
    assert_lr(&s, 10, 0.1);  /* epoch 1: still the first period */
    assert_lr(&s, 19, 0.1);  /* last step of epoch 1 */
    assert_lr(&s, 20, 0.05); /* first step of epoch 2 */
    assert_lr(&s, 39, 0.05);
    assert_lr(&s, 40, 0.025);
}
END_TEST

START_TEST(test_schedule_exponential_changes_each_epoch)
{
    nn_schedule s = {.kind = NN_SCHED_EXPONENTIAL, .gamma = 0.5};
    assert_lr(&s, 0, 0.1);
    assert_lr(&s, 9, 0.1);
    assert_lr(&s, 10, 0.05);
    assert_lr(&s, 19, 0.05);
    assert_lr(&s, 20, 0.025);
    assert_lr(&s, 30, 0.0125);
}
END_TEST

START_TEST(test_schedule_cosine_reaches_min_lr_and_stays)
{
    /* S = 2 epochs * 10 = 20 steps from 0.1 to 0.01. */
    nn_schedule s = {.kind = NN_SCHED_COSINE, .min_lr = 0.01, .total_epochs = 2};
    assert_lr(&s, 0, 0.1);
    assert_lr(&s, 10, 0.055); /* half way: (1 + cos(pi/2))/2 = 1/2 */
    assert_lr(&s, 19, 0.01 + 0.09 * (1 + cos(3.14159265358979323846 * 19 / 20)) / 2);
    ck_assert_double_eq_tol(nn_schedule_lr(&s, 0.1, 19, SPE), 0.010554024673218806, 1e-15);
    assert_lr(&s, 20, 0.01);
    assert_lr(&s, 1000, 0.01);
    /* Decreasing every step, not only at epoch boundaries. */
    for (int64_t k = 0; k < 20; k++)
        ck_assert(nn_schedule_lr(&s, 0.1, k + 1, SPE) < nn_schedule_lr(&s, 0.1, k, SPE));
}
END_TEST

START_TEST(test_schedule_warmup_is_linear_and_composes)
{
    /* W = 1 epoch = 10 steps: rate = schedule(step) * (step + 1) / 10. */
    nn_schedule s = {.kind = NN_SCHED_CONSTANT, .warmup_epochs = 1};
    assert_lr(&s, 0, 0.01); /* first step: lr / W */
    assert_lr(&s, 4, 0.05);
    assert_lr(&s, 9, 0.1); /* last warmup step: the full rate */
    assert_lr(&s, 10, 0.1);

    s = (nn_schedule){.kind = NN_SCHED_STEP, .gamma = 0.5, .step_epochs = 1, .warmup_epochs = 1};
    assert_lr(&s, 9, 0.1);
    assert_lr(&s, 10, 0.05);

    s = (nn_schedule){.kind = NN_SCHED_COSINE, .min_lr = 0, .total_epochs = 2, .warmup_epochs = 1};
    assert_lr(&s, 0, 0.01);
    assert_lr(&s, 9, 0.05 * (1 + cos(3.14159265358979323846 * 9 / 20)));
    assert_lr(&s, 10, 0.05);
}
END_TEST

START_TEST(test_state_size_per_optimizer)
{
    nn_optim_cfg c = {.kind = NN_OPTIM_SGD};
    ck_assert_uint_eq(nn_optim_state_size(&c, 100), 0);
    c.momentum = 0.9;
    ck_assert_uint_eq(nn_optim_state_size(&c, 100), 100);
    c.nesterov = true;
    ck_assert_uint_eq(nn_optim_state_size(&c, 100), 100);
    c.kind = NN_OPTIM_ADAM;
    ck_assert_uint_eq(nn_optim_state_size(&c, 100), 200);
    c.kind = NN_OPTIM_ADAMW;
    ck_assert_uint_eq(nn_optim_state_size(&c, 100), 200);
    ck_assert_uint_eq(nn_optim_state_size(&c, 0), 0);
}
END_TEST

START_TEST(test_check_rejects_bad_settings)
{
    nn_error e = {0};
    nn_optim_cfg ok = {.kind = NN_OPTIM_ADAM, .lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999,
                       .eps = 1e-8};
    ck_assert_int_eq(nn_optim_check(&ok, &e), 0);
    nn_optim_cfg c = ok;
    c.beta2 = 1.0;
    ck_assert_int_eq(nn_optim_check(&c, &e), -1);
    ck_assert_int_eq(e.code, NN_EXIT_USAGE);
    ck_assert_ptr_nonnull(strstr(e.msg, "beta2"));
    c = ok;
    c.lr = 0;
    ck_assert_int_eq(nn_optim_check(&c, &e), -1);
    c = (nn_optim_cfg){.kind = NN_OPTIM_SGD, .lr = 0.1, .nesterov = true};
    ck_assert_int_eq(nn_optim_check(&c, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "nesterov"));

    nn_schedule s = {.kind = NN_SCHED_STEP, .gamma = 0.5, .step_epochs = 0};
    ck_assert_int_eq(nn_schedule_check(&s, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "step_epochs"));
    s.step_epochs = 1;
    ck_assert_int_eq(nn_schedule_check(&s, &e), 0);
    s.gamma = 0;
    ck_assert_int_eq(nn_schedule_check(&s, &e), -1);
    s = (nn_schedule){.kind = NN_SCHED_COSINE, .total_epochs = 0};
    ck_assert_int_eq(nn_schedule_check(&s, &e), -1);
}
END_TEST

/* A training run in miniature: N_P parameters, two decay ranges, gradients
 * that depend on the parameters and the step (like a real loss), clipping
 * and a warmup + cosine schedule.  Runs steps [from, to). */
#define N_P 37
static const nn_optim_range RUN_DECAY[2] = {{0, 20}, {25, 10}};
static const nn_schedule RUN_SCHED = {.kind = NN_SCHED_COSINE, .min_lr = 1e-4,
                                      .total_epochs = 3, .warmup_epochs = 1};

static float noise(uint64_t step, uint64_t i)
{
    uint64_t x = (step + 1) * 0x9E3779B97F4A7C15ull ^ (i + 1) * 0xBF58476D1CE4E5B9ull;
    x ^= x >> 31;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 29;
    return (float)((double)(x >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static void run_steps(const nn_optim_cfg *c, float *w, float *state, int64_t from, int64_t to)
{
    float g[N_P];
    for (int64_t step = from; step < to; step++) {
        for (size_t i = 0; i < N_P; i++)
            g[i] = 0.5f * w[i] + 3.0f * noise((uint64_t)step, i);
        nn_optim_clip(g, N_P, c->clip_norm);
        double lr = nn_schedule_lr(&RUN_SCHED, c->lr, step, 4);
        nn_optim_step(c, w, g, state, N_P, RUN_DECAY, 2, lr, step + 1);
    }
}

static nn_optim_cfg run_cfg(int k)
{
    nn_optim_cfg c = {.lr = 0.05, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                      .weight_decay = 0.01, .clip_norm = 5.0};
    c.kind = k < 3 ? NN_OPTIM_SGD : k == 3 ? NN_OPTIM_ADAM : NN_OPTIM_ADAMW;
    c.momentum = k == 1 || k == 2 ? 0.9 : 0;
    c.nesterov = k == 2;
    return c;
}

static void init_params(float *w)
{
    for (size_t i = 0; i < N_P; i++)
        w[i] = noise(999, i);
}

START_TEST(test_same_inputs_give_bit_identical_results)
{
    for (int k = 0; k < 5; k++) {
        nn_optim_cfg c = run_cfg(k);
        float wa[N_P], wb[N_P], sa[2 * N_P] = {0}, sb[2 * N_P] = {0};
        init_params(wa);
        init_params(wb);
        run_steps(&c, wa, sa, 0, 30);
        run_steps(&c, wb, sb, 0, 30);
        ck_assert_mem_eq(wa, wb, sizeof wa);
        ck_assert_mem_eq(sa, sb, sizeof sa);
        for (size_t i = 0; i < N_P; i++)
            ck_assert_msg(isfinite(wa[i]) && wa[i] != noise(999, i), "optimizer %d, w[%zu]", k, i);
    }
}
END_TEST

START_TEST(test_resume_from_copied_state_is_bit_exact)
{
    /* 2N steps in one go against N steps, a copy of params + state into
     * fresh buffers (what a checkpoint stores), and N more with the step
     * count carried over. */
    enum { N = 11 };
    for (int k = 0; k < 5; k++) {
        nn_optim_cfg c = run_cfg(k);
        size_t ns = nn_optim_state_size(&c, N_P);
        float w_once[N_P], s_once[2 * N_P] = {0};
        init_params(w_once);
        run_steps(&c, w_once, s_once, 0, 2 * N);

        float w_first[N_P], s_first[2 * N_P] = {0};
        init_params(w_first);
        run_steps(&c, w_first, s_first, 0, N);
        float *w_res = malloc(sizeof w_first), *s_res = malloc(sizeof s_first);
        ck_assert_ptr_nonnull(w_res);
        ck_assert_ptr_nonnull(s_res);
        memcpy(w_res, w_first, sizeof w_first);
        memcpy(s_res, s_first, ns * sizeof(float));
        memset(w_first, 0xff, sizeof w_first); /* the old run is gone */
        memset(s_first, 0xff, sizeof s_first);
        run_steps(&c, w_res, s_res, N, 2 * N);

        ck_assert_mem_eq(w_res, w_once, sizeof w_once);
        ck_assert_mem_eq(s_res, s_once, ns * sizeof(float));
        free(w_res);
        free(s_res);
    }
}
END_TEST

/* A plain element-by-element update of one element (the rules written out
 * again), the reference for the chunked, threaded nn_optim_step. */
static float ref_update(const nn_optim_cfg *c, float w, float g, float *m, float *v, float wd,
                        double lr, int64_t t)
{
    float flr = (float)lr, mu = (float)c->momentum;
    if (c->kind == NN_OPTIM_SGD) {
        g = g + wd * w;
        if (c->momentum == 0)
            return w - flr * g;
        *v = mu * *v + g;
        return c->nesterov ? w - flr * (g + mu * *v) : w - flr * *v;
    }
    if (c->kind == NN_OPTIM_ADAMW)
        w = w - flr * wd * w;
    else
        g = g + wd * w;
    float b1 = (float)c->beta1, b2 = (float)c->beta2;
    *m = b1 * *m + (float)(1.0 - c->beta1) * g;
    *v = b2 * *v + (float)(1.0 - c->beta2) * (g * g);
    float alpha = (float)(lr / (1.0 - pow(c->beta1, (double)t)));
    float r = (float)(1.0 / sqrt(1.0 - pow(c->beta2, (double)t)));
    return w - alpha * *m / (sqrtf(*v) * r + (float)c->eps);
}

/* Large enough to be split among threads; decay ranges that start and end
 * inside chunks and inside 16-float blocks. */
#define N_BIG 100003
static const nn_optim_range BIG_DECAY[3] = {{5, 40000}, {40017, 3}, {60001, 40002}};

static bool big_decayed(size_t i)
{
    for (int r = 0; r < 3; r++)
        if (i >= BIG_DECAY[r].off && i < BIG_DECAY[r].off + BIG_DECAY[r].count)
            return true;
    return false;
}

START_TEST(test_threaded_update_and_clear_match_the_plain_rule)
{
    static const int threads[] = {1, 2, 3, 5};
    static const char *const isas[] = {"scalar", "avx2", "avx512"};
    float *w0 = malloc(sizeof(float) * N_BIG), *g0 = malloc(sizeof(float) * N_BIG);
    float *want = malloc(sizeof(float) * N_BIG), *s_want = calloc(2 * N_BIG, sizeof(float));
    float *w = malloc(sizeof(float) * N_BIG), *g = malloc(sizeof(float) * N_BIG);
    float *st = malloc(sizeof(float) * 2 * N_BIG);
    float *ema = malloc(sizeof(float) * N_BIG), *ema_want = malloc(sizeof(float) * N_BIG);
    ck_assert(w0 && g0 && want && s_want && w && g && st && ema && ema_want);
    for (size_t i = 0; i < N_BIG; i++) {
        w0[i] = noise(7, i);
        g0[i] = noise(8, i);
    }
    for (int k = 0; k < 5; k++) {
        nn_optim_cfg c = run_cfg(k);
        memset(s_want, 0, sizeof(float) * 2 * N_BIG);
        for (size_t i = 0; i < N_BIG; i++) {
            float wd = big_decayed(i) ? (float)c.weight_decay : 0.0f;
            float *m = c.kind == NN_OPTIM_SGD ? NULL : s_want + i;
            float *v = c.kind == NN_OPTIM_SGD ? s_want + i : s_want + N_BIG + i;
            want[i] = ref_update(&c, w0[i], g0[i], m, v, wd, 0.01, 3);
        }
        size_t ns = nn_optim_state_size(&c, N_BIG);
        for (int t = 0; t < 7; t++) {
            /* every thread count with the best vector width, then every
             * instruction set this processor has on 2 threads */
            nn_error e = {0};
            if (t >= 4 && nn_kernels_select(NN_PREC_FP32, isas[t - 4], &e) < 0)
                continue; /* the processor lacks it */
            nn_pool_set_threads(t < 4 ? threads[t] : 2);
            /* clear 2: with training.ema's average in the same pass, which
             * must equal nn_ema_update run after the step */
            for (int clear = 0; clear < 3; clear++) {
                memcpy(w, w0, sizeof(float) * N_BIG);
                memcpy(g, g0, sizeof(float) * N_BIG);
                memset(st, 0, sizeof(float) * 2 * N_BIG);
                if (clear == 2) {
                    memcpy(ema, g0, sizeof(float) * N_BIG);
                    memcpy(ema_want, g0, sizeof(float) * N_BIG);
                    nn_ema_update(ema_want, want, N_BIG, 0.875f + 0.01f * (float)k);
                    nn_optim_step_clear_ema(&c, w, g, st, N_BIG, BIG_DECAY, 3, 0.01, 3, ema,
                                            0.875f + 0.01f * (float)k);
                    ck_assert_msg(memcmp(ema, ema_want, sizeof(float) * N_BIG) == 0,
                                  "optimizer %d, %s, %d threads: the fused average differs", k,
                                  nn_kernels_get()->name, threads[t % 4]);
                } else if (clear) {
                    nn_optim_step_clear(&c, w, g, st, N_BIG, BIG_DECAY, 3, 0.01, 3);
                } else {
                    nn_optim_step(&c, w, g, st, N_BIG, BIG_DECAY, 3, 0.01, 3);
                }
                /* the first difference, if any (one assertion: Check's are slow) */
                size_t bad_w = N_BIG, bad_g = N_BIG;
                for (size_t i = N_BIG; i-- > 0;) {
                    if (memcmp(&w[i], &want[i], sizeof(float)) != 0)
                        bad_w = i;
                    if (g[i] != (clear ? 0.0f : g0[i]))
                        bad_g = i;
                }
                ck_assert_msg(bad_w == N_BIG,
                              "optimizer %d, %s, %d threads, clear %d: w[%zu] = %.9g, want %.9g",
                              k, nn_kernels_get()->name, threads[t % 4], clear, bad_w, (double)w[bad_w % N_BIG],
                              (double)want[bad_w % N_BIG]);
                ck_assert_msg(bad_g == N_BIG, "optimizer %d, %s, clear %d: g[%zu] wrong", k,
                              nn_kernels_get()->name, clear, bad_g);
                ck_assert_mem_eq(st, s_want, sizeof(float) * ns);
            }
        }
    }
    nn_error e = {0};
    ck_assert_int_eq(nn_kernels_select(NN_PREC_FP32, NULL, &e), 0);
    nn_pool_set_threads(1);
    free(w0);
    free(g0);
    free(want);
    free(s_want);
    free(w);
    free(g);
    free(st);
    free(ema);
    free(ema_want);
}
END_TEST


Suite *optim_suite(void)
{
    Suite *s = suite_create("optim");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_sgd_plain_two_steps_hand_computed);
    tcase_add_test(tc, test_sgd_momentum_two_steps_hand_computed);
    tcase_add_test(tc, test_sgd_nesterov_two_steps_hand_computed);
    tcase_add_test(tc, test_adam_two_steps_hand_computed);
    tcase_add_test(tc, test_adamw_two_steps_hand_computed);
    tcase_add_test(tc, test_weight_decay_applies_to_decay_ranges_only);
    tcase_add_test(tc, test_adam_l2_is_normalized_adamw_decay_is_not);
    tcase_add_test(tc, test_clip_scales_above_threshold_only);
    tcase_add_test(tc, test_schedule_constant_never_changes);
    tcase_add_test(tc, test_schedule_step_changes_every_step_epochs);
    tcase_add_test(tc, test_schedule_exponential_changes_each_epoch);
    tcase_add_test(tc, test_schedule_cosine_reaches_min_lr_and_stays);
    tcase_add_test(tc, test_schedule_warmup_is_linear_and_composes);
    tcase_add_test(tc, test_state_size_per_optimizer);
    tcase_add_test(tc, test_check_rejects_bad_settings);
    tcase_add_test(tc, test_same_inputs_give_bit_identical_results);
    tcase_add_test(tc, test_resume_from_copied_state_is_bit_exact);
    tcase_add_test(tc, test_threaded_update_and_clear_match_the_plain_rule);
    suite_add_tcase(s, tc);
    return s;
}
