/* optim.h - optimizers (SGD, momentum, Nesterov, Adam, AdamW), gradient
 * clipping by global norm, and learning-rate schedules.
 *
 * Everything works on the model's one parameter buffer and one gradient
 * buffer of n floats.  The optimizer state has the same layout, k moment
 * buffers of n floats one after the other (k from nn_optim_state_size):
 *   SGD, momentum == 0          : no state (0 floats)
 *   SGD, momentum > 0 (Nesterov): [v (n)]
 *   Adam, AdamW                 : [m (n)][v (n)]
 * The checkpoint stores the state as one float array together with the step
 * count t, which the CALLER keeps (an int64): this module holds no state of
 * its own, so an update depends only on (params, grads, state, t, lr) and a
 * run resumed from a checkpoint continues bit for bit.
 *
 * One training step, with `step` the number of updates done so far (0-based):
 *   double lr = nn_schedule_lr(&sched, cfg.lr, step, steps_per_epoch);
 *   nn_optim_clip(grads, n, cfg.clip_norm);
 *   nn_optim_step(&cfg, params, grads, state, n, decay, n_decay, lr, step + 1);
 *   step++;
 *
 * Arithmetic: the clipping norm is accumulated in double in index order; the
 * update is computed element by element in float, in the order written
 * below, with lr, betas, eps and weight decay rounded to float once per call;
 * 1 - b1, 1 - b2 and Adam's alpha and r (below) are computed in double and
 * rounded to float.  Nothing depends on threads or on earlier calls except
 * through params, state and t.  Large updates are shared among the pool's
 * worker threads (nn_pool_set_threads) in chunks of whole elements; each
 * element's update is independent of the others, so the split changes no
 * bit.
 */
#ifndef NN_OPTIM_H
#define NN_OPTIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* Values equal those of nn_opt in nn/types.h (sgd = 0, adam = 1, adamw = 2). */
typedef enum { NN_OPTIM_SGD = 0, NN_OPTIM_ADAM = 1, NN_OPTIM_ADAMW = 2 } nn_optim_kind;

typedef struct {
    nn_optim_kind kind;
    double lr;           /* base learning rate (> 0); the schedule's base_lr */
    double momentum;     /* SGD only: mu in [0, 1); 0 = plain SGD */
    bool nesterov;       /* SGD only: Nesterov momentum (needs momentum > 0) */
    double beta1, beta2; /* Adam/AdamW: in [0, 1), e.g. 0.9 and 0.999 */
    double eps;          /* Adam/AdamW: > 0, e.g. 1e-8 */
    double weight_decay; /* >= 0: L2 for SGD/Adam, decoupled for AdamW */
    double clip_norm;    /* > 0: clip the global gradient norm; 0 = off */
} nn_optim_cfg;

/* A run of `count` parameters starting at index `off` of params/grads. */
typedef struct {
    size_t off, count;
} nn_optim_range;

/* Checks the ranges above (finite numbers; nesterov needs momentum > 0).
 * Returns 0, or -1 with *err (code NN_EXIT_USAGE) naming the field. */
int nn_optim_check(const nn_optim_cfg *c, nn_error *err);

/* Floats of optimizer state for n parameters: 0, n or 2n (see the top). */
size_t nn_optim_state_size(const nn_optim_cfg *c, size_t n);

/* One update of params (n,) from grads (n,) and state (nn_optim_state_size
 * floats, all zero before the first step; may be NULL when that is 0).
 * Updates params and state in place; grads is only read.
 *
 * decay (n_decay ranges, sorted by off, not overlapping, inside [0, n))
 * lists the parameters that get weight decay (the weights W, not the biases);
 * decay may be NULL when n_decay is 0.  Ranges past n are clipped to n.
 * lr is this step's rate (from nn_schedule_lr); t >= 1 is the 1-based count
 * of updates including this one (t < 1 is taken as 1).
 *
 * Per element, with wd = weight_decay inside a decay range and 0 outside:
 *   SGD:       g = g + wd*w
 *              plain     w = w - lr*g
 *              momentum  v = mu*v + g;  w = w - lr*v
 *              nesterov  v = mu*v + g;  w = w - lr*(g + mu*v)
 *   Adam:      g = g + wd*w                    (L2, through the moments)
 *   AdamW:     w = w - lr*wd*w                 (decoupled, before the step)
 *   both:      m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g*g
 *              w = w - alpha * m / (sqrt(v) * r + eps),
 *                  alpha = lr / (1 - b1^t),  r = 1 / sqrt(1 - b2^t)
 *              which is w - lr * m_hat / (sqrt(v_hat) + eps) with the bias-
 *              corrected m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t),
 *              at one square root and one division per element
 */
void nn_optim_step(const nn_optim_cfg *c, float *params, const float *grads, float *state,
                   size_t n, const nn_optim_range *decay, size_t n_decay, double lr, int64_t t);

/* nn_optim_step, and then every gradient is set to 0, in the same pass over
 * memory: the next backward pass can accumulate into the gradients without
 * a clearing pass of its own. */
void nn_optim_step_clear(const nn_optim_cfg *c, float *params, float *grads, float *state,
                         size_t n, const nn_optim_range *decay, size_t n_decay, double lr,
                         int64_t t);

/* nn_optim_step_clear, and then nn_ema_update(ema, params, n, d), in the
 * same pass over memory (the same bits as the two calls one after the
 * other: each element's average reads its own updated parameter). */
void nn_optim_step_clear_ema(const nn_optim_cfg *c, float *params, float *grads, float *state,
                             size_t n, const nn_optim_range *decay, size_t n_decay, double lr,
                             int64_t t, float *ema, float d);

/* The plain SGD rule of nn_optim_step on n parameters, each in float:
 *   g = grads[i] + wd * params[i];  params[i] -= lr * g;  grads[i] = 0
 * (the same operations, so the same bits): the update a layer kind without
 * a fused form gets in the fused SGD path (nn/model.c). */
void nn_optim_sgd_plain(float *params, float *grads, size_t n, float lr, float wd);

/* Global-norm clipping: norm = sqrt(sum_i grads[i]^2), summed in double in
 * index order.  If clip_norm > 0 and norm > clip_norm, every grads[i] is
 * replaced by (float)(grads[i] * (clip_norm / norm)) (product in double).
 * A non-finite norm leaves grads unchanged (the caller's divergence check
 * sees it).  Returns the norm before clipping. */
double nn_optim_clip(float *grads, size_t n, double clip_norm);

typedef enum {
    NN_SCHED_CONSTANT = 0,
    NN_SCHED_STEP = 1,
    NN_SCHED_EXPONENTIAL = 2,
    NN_SCHED_COSINE = 3
} nn_sched_kind;

typedef struct {
    nn_sched_kind kind;
    double gamma;      /* step, exponential: factor in (0, 1] */
    int step_epochs;   /* step: epochs between two multiplications (>= 1) */
    double min_lr;     /* cosine: final rate (>= 0) */
    int total_epochs;  /* cosine: epochs over which it decays (>= 1) */
    int warmup_epochs; /* any: linear warmup epochs (>= 0; 0 = none) */
} nn_schedule;

/* Checks the fields used by s->kind.  Returns 0, or -1 with *err (code
 * NN_EXIT_USAGE) naming the field. */
int nn_schedule_check(const nn_schedule *s, nn_error *err);

/* training.ema: the exponential moving average of the parameters after an
 * update, in float: ema[i] = d * ema[i] + (1 - d) * p[i]. */
void nn_ema_update(float *ema, const float *p, size_t n, float d);

/* The learning rate of update number `step` (0-based: the updates done so
 * far), with spe = steps_per_epoch mini-batches per epoch (< 1 taken as 1;
 * step < 0 taken as 0).  A pure function.  With e = step / spe (integer
 * division: the 0-based epoch) and lr = base_lr:
 *   constant      lr
 *   step          lr * gamma^(e / step_epochs)       (integer division)
 *   exponential   lr * gamma^e
 *   cosine        S = total_epochs * spe;
 *                 step < S: min_lr + (lr - min_lr) * (1 + cos(pi*step/S)) / 2
 *                 else:     min_lr
 * step and exponential change only at epoch boundaries; cosine every step.
 * Warmup multiplies any of them: W = warmup_epochs * spe; for step < W
 *   rate = schedule(step) * (step + 1) / W
 * so the first update uses schedule(0)/W and update W-1 the full rate. */
double nn_schedule_lr(const nn_schedule *s, double base_lr, int64_t step, int64_t steps_per_epoch);

#endif
