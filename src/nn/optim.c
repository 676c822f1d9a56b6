/* optim.c - the update rules of optim.h, element by element in float, and
 * the learning-rate schedules as pure functions of the step. */
#include "nn/optim.h"

#include <math.h>
#include <string.h>

#include "kernels/kernels.h"
#include "pool/pool.h"

static const double pi = 3.14159265358979323846;

/* The constants of one call, rounded to float once. */
typedef struct {
    nn_optim_kind kind;
    float lr, mu, b1, b2, eps, wd;
    float omb1, omb2; /* Adam: 1 - b1, 1 - b2, computed in double and rounded:
                       * 1.0f - 0.999f is off by 1.3e-5 relative */
    float alpha, rs2; /* Adam: lr / (1 - b1^t) and 1 / sqrt(1 - b2^t), in double, rounded */
    bool nesterov;
} step_consts;

/* Updates elements [lo, hi) with weight decay wd (0 outside decay ranges).
 * m and v point at the start of the moment buffers (NULL when unused).
 * Each element is independent of the others (`omp simd` tells the compiler
 * so; the buffers are distinct), and the build does not contract a * b + c
 * into an FMA, so vector and scalar code give the same bits. */
static inline __attribute__((always_inline)) void
update_body(const step_consts *k, float *w, const float *grads, float *m, float *v, size_t lo,
            size_t hi, float wd)
{
    switch (k->kind) {
    case NN_OPTIM_SGD:
        if (!v) {
#pragma omp simd
            for (size_t i = lo; i < hi; i++) {
                float g = grads[i] + wd * w[i];
                w[i] -= k->lr * g;
            }
        } else if (!k->nesterov) {
#pragma omp simd
            for (size_t i = lo; i < hi; i++) {
                float g = grads[i] + wd * w[i];
                v[i] = k->mu * v[i] + g;
                w[i] -= k->lr * v[i];
            }
        } else {
#pragma omp simd
            for (size_t i = lo; i < hi; i++) {
                float g = grads[i] + wd * w[i];
                v[i] = k->mu * v[i] + g;
                w[i] -= k->lr * (g + k->mu * v[i]);
            }
        }
        break;
    case NN_OPTIM_ADAM:
    case NN_OPTIM_ADAMW: {
        bool decoupled = k->kind == NN_OPTIM_ADAMW;
#pragma omp simd
        for (size_t i = lo; i < hi; i++) {
            float g = grads[i];
            if (decoupled)
                w[i] -= k->lr * wd * w[i];
            else
                g += wd * w[i];
            m[i] = k->b1 * m[i] + k->omb1 * g;
            v[i] = k->b2 * v[i] + k->omb2 * (g * g);
            /* lr * m_hat / (sqrt(v_hat) + eps) with the bias corrections
             * folded into two constants: one square root and one division
             * per element instead of three divisions */
            w[i] -= k->alpha * m[i] / (sqrtf(v[i]) * k->rs2 + k->eps);
        }
        break;
    }
    }
}

/* The same loops compiled for the vector widths the kernels use: on x86,
 * the table nn_kernels_get() selected (cpuid, or NNTRAIN_ISA) picks one.
 * Every operation is correctly rounded in any width and nothing is
 * contracted, so all give the same bits (tests/test_optim.c checks). */
typedef void (*update_fn)(const step_consts *k, float *w, const float *grads, float *m,
                          float *v, size_t lo, size_t hi, float wd);

static void update_generic(const step_consts *k, float *w, const float *grads, float *m,
                           float *v, size_t lo, size_t hi, float wd)
{
    update_body(k, w, grads, m, v, lo, hi, wd);
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2"))) static void update_avx2(const step_consts *k, float *w,
                                                       const float *grads, float *m, float *v,
                                                       size_t lo, size_t hi, float wd)
{
    update_body(k, w, grads, m, v, lo, hi, wd);
}

__attribute__((target("avx512f"))) static void update_avx512(const step_consts *k, float *w,
                                                            const float *grads, float *m,
                                                            float *v, size_t lo, size_t hi,
                                                            float wd)
{
    update_body(k, w, grads, m, v, lo, hi, wd);
}
#endif

static update_fn pick_update(void)
{
#if defined(__x86_64__) || defined(__i386__)
    static const update_fn by_isa[] = {update_generic, update_avx2, update_avx512};
    return by_isa[nn_kernels_isa()];
#else
    return update_generic;
#endif
}

int nn_optim_check(const nn_optim_cfg *c, nn_error *err)
{
    if (!(isfinite(c->lr) && c->lr > 0))
        return nn_error_set(err, NN_EXIT_USAGE, "optimizer: learning rate must be > 0"), -1;
    if (!(isfinite(c->weight_decay) && c->weight_decay >= 0))
        return nn_error_set(err, NN_EXIT_USAGE, "optimizer: weight_decay must be >= 0"), -1;
    if (!(isfinite(c->clip_norm) && c->clip_norm >= 0))
        return nn_error_set(err, NN_EXIT_USAGE, "optimizer: clip_norm must be >= 0"), -1;
    switch (c->kind) {
    case NN_OPTIM_SGD:
        if (!(c->momentum >= 0 && c->momentum < 1))
            return nn_error_set(err, NN_EXIT_USAGE, "optimizer: momentum must be in [0, 1)"), -1;
        if (c->nesterov && c->momentum == 0)
            return nn_error_set(err, NN_EXIT_USAGE, "optimizer: nesterov needs momentum > 0"), -1;
        return 0;
    case NN_OPTIM_ADAM:
    case NN_OPTIM_ADAMW:
        if (!(c->beta1 >= 0 && c->beta1 < 1))
            return nn_error_set(err, NN_EXIT_USAGE, "optimizer: beta1 must be in [0, 1)"), -1;
        if (!(c->beta2 >= 0 && c->beta2 < 1))
            return nn_error_set(err, NN_EXIT_USAGE, "optimizer: beta2 must be in [0, 1)"), -1;
        if (!(isfinite(c->eps) && c->eps > 0))
            return nn_error_set(err, NN_EXIT_USAGE, "optimizer: eps must be > 0"), -1;
        return 0;
    }
    return nn_error_set(err, NN_EXIT_USAGE, "optimizer: unknown kind %d", (int)c->kind), -1;
}

size_t nn_optim_state_size(const nn_optim_cfg *c, size_t n)
{
    switch (c->kind) {
    case NN_OPTIM_SGD:
        return c->momentum > 0 ? n : 0;
    case NN_OPTIM_ADAM:
    case NN_OPTIM_ADAMW:
        return 2 * n;
    }
    return 0;
}

typedef struct {
    const step_consts *k;
    update_fn update;
    float *w, *grads, *m, *v;
    size_t n;
    const nn_optim_range *decay;
    size_t n_decay;
    bool clear;
    float *ema; /* training.ema's average, or NULL */
    float ema_decay;
    long blocks, chunks;
} step_job;

/* update() restricted to [from, to). */
static void update_within(update_fn update, const step_consts *k, float *w, const float *grads,
                          float *m, float *v, size_t lo, size_t hi, float wd, size_t from,
                          size_t to)
{
    if (lo < from)
        lo = from;
    if (hi > to)
        hi = to;
    if (lo < hi)
        update(k, w, grads, m, v, lo, hi, wd);
}

/* One chunk of the parameters: a run of 16-float blocks, so chunk edges
 * fall on vector boundaries of the buffers. */
static void step_part(void *ctx, long c)
{
    const step_job *j = ctx;
    long b0, b1;
    nn_pool_chunk(j->blocks, j->chunks, c, &b0, &b1);
    size_t from = (size_t)b0 * 16, to = (size_t)b1 * 16 < j->n ? (size_t)b1 * 16 : j->n;
    const step_consts *k = j->k;
    size_t n = j->n;
    /* Walk the decay ranges in order: the gap before each range without
     * decay, the range with it, then the tail.  Every element is updated
     * exactly once and independently, so neither this split nor the chunks
     * change any result. */
    size_t at = 0;
    for (size_t r = 0; r < j->n_decay; r++) {
        size_t lo = j->decay[r].off, hi;
        if (lo < at)
            lo = at; /* overlapping or unsorted: never update twice */
        if (lo > n)
            lo = n;
        hi = j->decay[r].count > n - lo ? n : lo + j->decay[r].count;
        update_within(j->update, k, j->w, j->grads, j->m, j->v, at, lo, 0.0f, from, to);
        update_within(j->update, k, j->w, j->grads, j->m, j->v, lo, hi, k->wd, from, to);
        at = hi;
    }
    update_within(j->update, k, j->w, j->grads, j->m, j->v, at, n, 0.0f, from, to);
    if (j->clear && from < to) /* still in cache: cheaper than a pass of its own */
        memset(j->grads + from, 0, sizeof(float) * (to - from));
    if (j->ema && from < to) /* likewise: the chunk's new parameters are in cache */
        nn_ema_update(j->ema + from, j->w + from, to - from, j->ema_decay);
}

static void step(const nn_optim_cfg *c, float *params, float *grads, float *state, size_t n,
                 const nn_optim_range *decay, size_t n_decay, double lr, int64_t t, bool clear,
                 float *ema, float ema_decay)
{
    if (t < 1)
        t = 1;
    step_consts k = {
        .kind = c->kind,
        .lr = (float)lr,
        .mu = (float)c->momentum,
        .b1 = (float)c->beta1,
        .b2 = (float)c->beta2,
        .eps = (float)c->eps,
        .omb1 = (float)(1.0 - c->beta1),
        .omb2 = (float)(1.0 - c->beta2),
        .wd = (float)c->weight_decay,
        .alpha = (float)(lr / (1.0 - pow(c->beta1, (double)t))),
        .rs2 = (float)(1.0 / sqrt(1.0 - pow(c->beta2, (double)t))),
        .nesterov = c->nesterov,
    };
    step_job j = {.k = &k, .update = pick_update(), .w = params, .grads = grads, .n = n, .decay = decay,
                  .n_decay = n_decay, .clear = clear, .ema = ema, .ema_decay = ema_decay};
    if (c->kind == NN_OPTIM_SGD) {
        j.v = c->momentum > 0 ? state : NULL;
    } else {
        j.m = state;
        j.v = state + n;
    }
    if (n == 0)
        return;
    j.blocks = (long)((n + 15) / 16);
    j.chunks = j.blocks < NN_POOL_MAX_CHUNKS ? j.blocks : NN_POOL_MAX_CHUNKS;
    /* an update reads and writes a few floats per parameter: about as long
     * as 16 flops of a product */
    nn_pool_run(step_part, &j, j.chunks, nn_pool_threads_for(16.0 * (double)n));
}

void nn_optim_step(const nn_optim_cfg *c, float *params, const float *grads, float *state,
                   size_t n, const nn_optim_range *decay, size_t n_decay, double lr, int64_t t)
{
    step(c, params, (float *)grads, state, n, decay, n_decay, lr, t, false, /* not written */
         NULL, 0.0f);
}

void nn_optim_step_clear(const nn_optim_cfg *c, float *params, float *grads, float *state,
                         size_t n, const nn_optim_range *decay, size_t n_decay, double lr,
                         int64_t t)
{
    step(c, params, grads, state, n, decay, n_decay, lr, t, true, NULL, 0.0f);
}

void nn_optim_step_clear_ema(const nn_optim_cfg *c, float *params, float *grads, float *state,
                             size_t n, const nn_optim_range *decay, size_t n_decay, double lr,
                             int64_t t, float *ema, float d)
{
    step(c, params, grads, state, n, decay, n_decay, lr, t, true, ema, d);
}

void nn_optim_sgd_plain(float *params, float *grads, size_t n, float lr, float wd)
{
    for (size_t i = 0; i < n; i++) {
        float g = grads[i] + wd * params[i];
        params[i] -= lr * g;
        grads[i] = 0.0f;
    }
}

double nn_optim_clip(float *grads, size_t n, double clip_norm)
{
    double ss = 0.0;
    for (size_t i = 0; i < n; i++)
        ss += (double)grads[i] * (double)grads[i];
    double norm = sqrt(ss);
    if (clip_norm > 0 && isfinite(norm) && norm > clip_norm) {
        double scale = clip_norm / norm;
        for (size_t i = 0; i < n; i++)
            grads[i] = (float)((double)grads[i] * scale);
    }
    return norm;
}

int nn_schedule_check(const nn_schedule *s, nn_error *err)
{
    if (s->warmup_epochs < 0)
        return nn_error_set(err, NN_EXIT_USAGE, "schedule: warmup_epochs must be >= 0"), -1;
    switch (s->kind) {
    case NN_SCHED_CONSTANT:
        return 0;
    case NN_SCHED_STEP:
        if (s->step_epochs < 1)
            return nn_error_set(err, NN_EXIT_USAGE, "schedule: step_epochs must be >= 1"), -1;
        /* step also needs gamma: */
        /* fall through */
    case NN_SCHED_EXPONENTIAL:
        if (!(s->gamma > 0 && s->gamma <= 1))
            return nn_error_set(err, NN_EXIT_USAGE, "schedule: gamma must be in (0, 1]"), -1;
        return 0;
    case NN_SCHED_COSINE:
        if (!(isfinite(s->min_lr) && s->min_lr >= 0))
            return nn_error_set(err, NN_EXIT_USAGE, "schedule: min_lr must be >= 0"), -1;
        if (s->total_epochs < 1)
            return nn_error_set(err, NN_EXIT_USAGE, "schedule: total_epochs must be >= 1"), -1;
        return 0;
    }
    return nn_error_set(err, NN_EXIT_USAGE, "schedule: unknown kind %d", (int)s->kind), -1;
}

double nn_schedule_lr(const nn_schedule *s, double base_lr, int64_t step, int64_t steps_per_epoch)
{
    int64_t spe = steps_per_epoch < 1 ? 1 : steps_per_epoch;
    if (step < 0)
        step = 0;
    int64_t epoch = step / spe;
    double lr = base_lr;
    switch (s->kind) {
    case NN_SCHED_CONSTANT:
        break;
    case NN_SCHED_STEP:
        lr = base_lr * pow(s->gamma, (double)(epoch / (s->step_epochs < 1 ? 1 : s->step_epochs)));
        break;
    case NN_SCHED_EXPONENTIAL:
        lr = base_lr * pow(s->gamma, (double)epoch);
        break;
    case NN_SCHED_COSINE: {
        double S = (double)(s->total_epochs < 1 ? 1 : s->total_epochs) * (double)spe;
        if ((double)step < S)
            lr = s->min_lr + (base_lr - s->min_lr) * (1.0 + cos(pi * (double)step / S)) / 2.0;
        else
            lr = s->min_lr;
        break;
    }
    }
    if (s->warmup_epochs > 0) {
        double W = (double)s->warmup_epochs * (double)spe;
        if ((double)step < W)
            lr = lr * (double)(step + 1) / W;
    }
    return lr;
}

void nn_ema_update(float *ema, const float *p, size_t n, float d)
{
    float rest = 1.0f - d;
    for (size_t i = 0; i < n; i++)
        ema[i] = d * ema[i] + rest * p[i];
}
