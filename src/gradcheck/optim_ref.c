/* optim_ref.c - the reference optimizer step and schedule (optim_ref.h). */
#include "gradcheck/optim_ref.h"

#include <math.h>

static const double pi = 3.14159265358979323846;

static void clip(double *g, size_t n, double clip_norm)
{
    if (!(clip_norm > 0))
        return;
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += g[i] * g[i];
    double norm = sqrt(ss);
    if (norm > clip_norm)
        for (size_t i = 0; i < n; i++)
            g[i] *= clip_norm / norm;
}

void nn_gradcheck_optim_step(const nn_optim_cfg *c, double *w, double *g, double *m, double *v,
                             const bool *decays, size_t n, double lr, int64_t t)
{
    clip(g, n, c->clip_norm);
    double mu = c->momentum, b1 = c->beta1, b2 = c->beta2;
    for (size_t i = 0; i < n; i++) {
        double wd = decays[i] ? c->weight_decay : 0.0;
        if (c->kind == NN_OPTIM_SGD) {
            double gi = g[i] + wd * w[i];
            if (mu == 0) {
                w[i] -= lr * gi;
            } else {
                v[i] = mu * v[i] + gi;
                w[i] -= lr * (c->nesterov ? gi + mu * v[i] : v[i]);
            }
            continue;
        }
        double gi = g[i];
        if (c->kind == NN_OPTIM_ADAMW)
            w[i] -= lr * wd * w[i];
        else
            gi += wd * w[i];
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        double m_hat = m[i] / (1 - pow(b1, (double)t));
        double v_hat = v[i] / (1 - pow(b2, (double)t));
        w[i] -= lr * m_hat / (sqrt(v_hat) + c->eps);
    }
}

double nn_gradcheck_lr(const nn_schedule *s, double base_lr, int64_t step, int64_t spe)
{
    double e = floor((double)step / (double)spe), lr = base_lr;
    if (s->kind == NN_SCHED_STEP)
        lr = base_lr * pow(s->gamma, floor(e / s->step_epochs));
    else if (s->kind == NN_SCHED_EXPONENTIAL)
        lr = base_lr * pow(s->gamma, e);
    else if (s->kind == NN_SCHED_COSINE) {
        double total = (double)s->total_epochs * (double)spe;
        lr = (double)step >= total
                 ? s->min_lr
                 : s->min_lr + (base_lr - s->min_lr) * (1 + cos(pi * (double)step / total)) / 2;
    }
    double W = (double)s->warmup_epochs * (double)spe;
    if ((double)step < W)
        lr *= ((double)step + 1) / W;
    return lr;
}
