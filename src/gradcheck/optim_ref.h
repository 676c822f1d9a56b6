/* optim_ref.h - the double-precision reference of one optimizer step and of
 * the learning-rate schedule, written from the README's formulas ("What
 * training does, exactly": Update) and not from nn/optim.c, so that
 * --gradcheck can hold the engine's step against them.
 *
 * One step, with g the gradient of the batch, w the parameters, t >= 1 the
 * 1-based count of updates including this one and lr this step's rate:
 *   clipping   norm = |g|_2; if clip_norm > 0 and norm > clip_norm:
 *              g <- g clip_norm / norm
 *   decay      wd on the parameters marked in `decays` (dense weights), 0
 *              elsewhere: sgd, adam: g <- g + wd w; adamw: w <- w - lr wd w
 *   sgd        w <- w - lr g; momentum mu: v <- mu v + g, w <- w - lr v;
 *              Nesterov: v <- mu v + g, w <- w - lr (g + mu v)
 *   adam(w)    m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g^2,
 *              m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t),
 *              w <- w - lr m_hat / (sqrt(v_hat) + eps)
 * Everything in double, in plain loops. */
#ifndef NN_GRADCHECK_OPTIM_REF_H
#define NN_GRADCHECK_OPTIM_REF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nn/optim.h"

/* The step above on n parameters, in place: w (n,), g (n,) (clipped in
 * place), m and v (n,) each, Adam's moments (SGD with momentum uses v alone
 * as its velocity; NULL where the optimizer has none), and decays (n,),
 * true where weight decay applies. */
void nn_gradcheck_optim_step(const nn_optim_cfg *c, double *w, double *g, double *m, double *v,
                             const bool *decays, size_t n, double lr, int64_t t);

/* The rate of update `step` (0-based) with spe steps per epoch, from the
 * README's schedule formulas:  e = floor(step / spe);
 *   constant lr;  step lr gamma^floor(e / step_epochs);  exponential lr gamma^e;
 *   cosine min_lr + (lr - min_lr)(1 + cos(pi step / (total_epochs spe)))/2
 *          until step = total_epochs spe, min_lr from there on;
 * then for step < W = warmup_epochs spe, times (step + 1) / W. */
double nn_gradcheck_lr(const nn_schedule *s, double base_lr, int64_t step, int64_t spe);

#endif
