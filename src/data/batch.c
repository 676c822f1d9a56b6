#include "data/batch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "pool/pool.h"

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int split_nomem(size_t n, nn_error *err)
{
    nn_error_set(err, NN_EXIT_RUNTIME, "out of memory splitting %zu samples", n);
    return -1;
}

/* A sorted copy of v[n] (NULL when n is 0); 0 or -1. */
static int sorted_copy(const uint32_t *v, size_t n, uint32_t **out)
{
    *out = NULL;
    if (n == 0)
        return 0;
    *out = malloc(sizeof(uint32_t) * n);
    if (!*out)
        return -1;
    memcpy(*out, v, sizeof(uint32_t) * n);
    qsort(*out, n, sizeof(uint32_t), cmp_u32);
    return 0;
}

/* rows (NULL: 0..n-1) shuffled by the split generator; NULL on out of memory. */
static uint32_t *split_order(const uint32_t *rows, size_t n, uint64_t seed, bool shuffle)
{
    uint32_t *all = malloc(sizeof(uint32_t) * (n ? n : 1));
    if (!all)
        return NULL;
    for (size_t i = 0; i < n; i++)
        all[i] = rows ? rows[i] : (uint32_t)i;
    if (shuffle) {
        nn_rng rng;
        nn_rng_seed(&rng, seed, NN_STREAM_SPLIT);
        nn_rng_shuffle(&rng, all, n);
    }
    return all;
}

int nn_split3(const uint32_t *rows, size_t n, double val_fraction, double test_fraction,
              uint64_t seed, uint32_t **train, size_t *n_train, uint32_t **val, size_t *n_val,
              uint32_t **test, size_t *n_test, nn_error *err)
{
    size_t nt = (size_t)llround(test_fraction * (double)n);
    size_t nv = (size_t)llround(val_fraction * (double)n);
    if (nt > n)
        nt = n;
    if (nv > n - nt)
        nv = n - nt;
    *train = *val = *test = NULL;
    uint32_t *all = split_order(rows, n, seed, nt + nv > 0);
    if (!all)
        return split_nomem(n, err);
    if (sorted_copy(all, nt, test) < 0 || sorted_copy(all + nt, nv, val) < 0) {
        free(all);
        free(*test);
        *test = NULL;
        return split_nomem(n, err);
    }
    memmove(all, all + nt + nv, sizeof(uint32_t) * (n - nt - nv));
    qsort(all, n - nt - nv, sizeof(uint32_t), cmp_u32);
    *train = all;
    *n_train = n - nt - nv;
    *n_val = nv;
    *n_test = nt;
    return 0;
}

int nn_split(size_t n, double fraction, uint64_t seed, uint32_t **train, size_t *n_train,
             uint32_t **val, size_t *n_val, nn_error *err)
{
    uint32_t *test;
    size_t n_test;
    return nn_split3(NULL, n, fraction, 0.0, seed, train, n_train, val, n_val, &test, &n_test,
                     err);
}

int nn_cv_fold(size_t n, int K, int f, uint64_t seed, uint32_t **train, size_t *n_train,
               uint32_t **fold, size_t *n_fold, nn_error *err)
{
    size_t lo = (size_t)f * n / (size_t)K, hi = (size_t)(f + 1) * n / (size_t)K;
    *train = *fold = NULL;
    uint32_t *all = split_order(NULL, n, seed, true);
    if (!all)
        return split_nomem(n, err);
    if (sorted_copy(all + lo, hi - lo, fold) < 0) {
        free(all);
        return split_nomem(n, err);
    }
    memmove(all + lo, all + hi, sizeof(uint32_t) * (n - hi));
    qsort(all, n - (hi - lo), sizeof(uint32_t), cmp_u32);
    *train = all;
    *n_train = n - (hi - lo);
    *n_fold = hi - lo;
    return 0;
}

/* One pass of shifted sums: each value x adds x - k and (x - k)^2, where k
 * is the first row's value; then mean = k + s1 / n and the population
 * variance is (s2 - s1^2 / n) / n.  Shifting by a value of the data keeps
 * the sums small, so the difference does not cancel, and a single pass in
 * row order gives the same bits in memory and when streaming. */
static inline void moments_add(double *k, double *s1, double *s2, bool first, double x)
{
    if (first)
        *k = x;
    double e = x - *k;
    *s1 += e;
    *s2 += e * e;
}

static inline void moments_result(double k, double s1, double s2, uint64_t n, double *mean,
                                  double *sd)
{
    if (n == 0) {
        *mean = 0.0;
        *sd = 0.0;
        return;
    }
    double dn = (double)n, var = (s2 - s1 * s1 / dn) / dn;
    *mean = k + s1 / dn;
    *sd = var > 0 ? sqrt(var) : 0.0;
}

int nn_target_acc_init(nn_target_acc *a, int K, nn_error *err)
{
    memset(a, 0, sizeof *a);
    a->K = K;
    a->m = calloc(3 * (size_t)(K > 0 ? K : 1), sizeof(double));
    if (!a->m) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory for the target scaling");
        return -1;
    }
    return 0;
}

void nn_target_acc_add(nn_target_acc *a, const nn_dataset *d, const uint32_t *idx, size_t n)
{
    size_t K = (size_t)a->K;
    for (size_t i = 0; i < n; i++, a->n++) {
        const float *t = d->targets + (size_t)(idx ? idx[i] : i) * K;
        for (size_t k = 0; k < K; k++)
            moments_add(&a->m[k], &a->m[K + k], &a->m[2 * K + k], a->n == 0 && !a->shifted,
                        t[k]);
    }
}

void nn_target_acc_result(const nn_target_acc *a, double *mean, double *std)
{
    size_t K = (size_t)a->K;
    for (size_t k = 0; k < K; k++) {
        double sd;
        moments_result(a->m[k], a->m[K + k], a->m[2 * K + k], a->n, &mean[k], &sd);
        std[k] = sd > 0 && isfinite(sd) ? sd : 1.0;
    }
}

void nn_target_acc_shift(nn_target_acc *a, const double *k)
{
    memcpy(a->m, k, sizeof(double) * (size_t)a->K);
    a->shifted = true;
}

void nn_target_acc_free(nn_target_acc *a)
{
    free(a->m);
    memset(a, 0, sizeof *a);
}

void nn_target_scaler_fit(double *mean, double *std, const nn_dataset *d, const uint32_t *idx,
                          size_t n)
{
    nn_target_acc a;
    if (nn_target_acc_init(&a, d->n_targets, &(nn_error){0}) < 0) {
        for (int k = 0; k < d->n_targets; k++) {
            mean[k] = 0.0;
            std[k] = 1.0;
        }
        return;
    }
    nn_target_acc_add(&a, d, idx, n);
    nn_target_acc_result(&a, mean, std);
    nn_target_acc_free(&a);
}

void nn_targets_scale(nn_dataset *d, const double *mean, const double *std, bool forward)
{
    int K = d->n_targets;
    for (size_t i = 0; i < d->n; i++)
        for (int k = 0; k < K; k++) {
            float *t = &d->targets[i * (size_t)K + (size_t)k];
            *t = forward ? (float)((*t - mean[k]) / std[k]) : (float)(*t * std[k] + mean[k]);
        }
}

void nn_targets_unscale(float *y, size_t B, int K, const double *mean, const double *std)
{
    for (size_t i = 0; i < B; i++)
        for (int k = 0; k < K; k++) {
            float *v = &y[i * (size_t)K + (size_t)k];
            *v = (float)(*v * std[k] + mean[k]);
        }
}

nn_scale nn_scale_resolve(nn_scale kind, nn_dtype t)
{
    if (kind != NN_SCALE_AUTO)
        return kind;
    return nn_dtype_max(t) > 0 ? NN_SCALE_UNIT : NN_SCALE_STANDARD;
}

int nn_scaler_acc_init(nn_scaler_acc *a, nn_scale kind, nn_dtype type, size_t F,
                       const char *name, nn_error *err)
{
    memset(a, 0, sizeof *a);
    a->kind = nn_scale_resolve(kind, type);
    a->type = type;
    a->F = F;
    if (a->kind == NN_SCALE_UNIT && nn_dtype_max(type) <= 0) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: data.scale \"unit\" needs integer data, the file holds %s values "
                     "(use \"none\", \"minmax\" or \"standard\")",
                     name, nn_dtype_name(type));
        return -1;
    }
    if (a->kind != NN_SCALE_MINMAX && a->kind != NN_SCALE_STANDARD)
        return 0;
    a->m = malloc(3 * sizeof(double) * (F ? F : 1));
    if (!a->m) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory for scaling %zu features", F);
        return -1;
    }
    for (size_t f = 0; f < F; f++) {
        a->m[f] = a->kind == NN_SCALE_MINMAX ? INFINITY : 0.0;
        a->m[F + f] = a->kind == NN_SCALE_MINMAX ? -INFINITY : 0.0;
        a->m[2 * F + f] = 0.0;
    }
    return 0;
}

void nn_scaler_acc_add(nn_scaler_acc *a, const nn_dataset *d, const uint32_t *idx, size_t n)
{
    size_t F = a->F;
    double *m = a->m;
    if (!m)
        return;
    /* row by row, so the data is read in memory order */
    for (size_t i = 0; i < n; i++, a->n++) {
        size_t r = idx ? idx[i] : i;
        if (a->kind == NN_SCALE_MINMAX) {
            for (size_t f = 0; f < F; f++) {
                double x = nn_dataset_get(d, r, f);
                if (x < m[f])
                    m[f] = x;
                if (x > m[F + f])
                    m[F + f] = x;
            }
        } else {
            for (size_t f = 0; f < F; f++)
                moments_add(&m[f], &m[F + f], &m[2 * F + f], a->n == 0 && !a->shifted,
                            nn_dataset_get(d, r, f));
        }
    }
}

void nn_scaler_acc_shift(nn_scaler_acc *a, const double *k)
{
    if (a->kind != NN_SCALE_STANDARD)
        return;
    memcpy(a->m, k, sizeof(double) * a->F);
    a->shifted = true;
}

void nn_scaler_acc_result(const nn_scaler_acc *a, float *shift, float *mult)
{
    size_t F = a->F;
    const double *m = a->m;
    for (size_t f = 0; f < F; f++) {
        shift[f] = 0.0f;
        mult[f] = 1.0f;
    }
    if (a->kind == NN_SCALE_UNIT)
        for (size_t f = 0; f < F; f++)
            mult[f] = (float)(1.0 / nn_dtype_max(a->type));
    if (!m || a->n == 0)
        return;
    for (size_t f = 0; f < F; f++) {
        if (a->kind == NN_SCALE_MINMAX) {
            shift[f] = (float)m[f];
            double range = m[F + f] - m[f];
            mult[f] = range > 0 ? (float)(1.0 / range) : 1.0f;
        } else {
            double mean, sd;
            moments_result(m[f], m[F + f], m[2 * F + f], a->n, &mean, &sd);
            shift[f] = (float)mean;
            mult[f] = sd > 0 ? (float)(1.0 / sd) : 1.0f;
        }
    }
}

void nn_scaler_acc_free(nn_scaler_acc *a)
{
    free(a->m);
    memset(a, 0, sizeof *a);
}

int nn_scaler_fit(float *shift, float *mult, nn_scale kind, const nn_dataset *d,
                  const uint32_t *idx, size_t n, const char *name, nn_error *err)
{
    nn_scaler_acc a;
    for (size_t f = 0; f < d->features; f++) {
        shift[f] = 0.0f;
        mult[f] = 1.0f;
    }
    if (nn_scaler_acc_init(&a, kind, d->type, d->features, name, err) < 0)
        return -1;
    nn_scaler_acc_add(&a, d, idx, n);
    nn_scaler_acc_result(&a, shift, mult);
    nn_scaler_acc_free(&a);
    return 0;
}

/* One conversion loop per stored type, so the type switch is outside the
 * inner loop; `omp simd` lets the compiler convert several values per
 * instruction (each value is independent; the build does not contract the
 * subtract and multiply into an FMA, so every path gives the same bits). */
#define GATHER_ROW(T)                                              \
    do {                                                           \
        const T *src = (const T *)d->x + (size_t)idx[i] * F;       \
        _Pragma("omp simd")                                        \
        for (size_t f = 0; f < F; f++)                             \
            x[f] = ((float)src[f] - shift[f]) * mult[f];           \
    } while (0)

typedef struct {
    float *X;
    const nn_dataset *d;
    const uint32_t *idx;
    size_t B;
    const float *shift, *mult;
    long chunks;
} gather_job;

/* Rows [lo, hi) of chunk c: each row is converted by one thread. */
static inline __attribute__((always_inline)) void gather_body(const gather_job *j, long c)
{
    const nn_dataset *d = j->d;
    const uint32_t *idx = j->idx;
    const float *shift = j->shift, *mult = j->mult;
    size_t F = d->features;
    long lo, hi;
    nn_pool_chunk((long)j->B, j->chunks, c, &lo, &hi);
    for (size_t i = (size_t)lo; i < (size_t)hi; i++) {
        float *x = j->X + i * F;
        switch (d->type) {
        case NN_DT_U8: GATHER_ROW(uint8_t); break;
        case NN_DT_I8: GATHER_ROW(int8_t); break;
        case NN_DT_I16: GATHER_ROW(int16_t); break;
        case NN_DT_I32: GATHER_ROW(int32_t); break;
        case NN_DT_F32: GATHER_ROW(float); break;
        case NN_DT_F64: GATHER_ROW(double); break;
        }
    }
}

/* The same loops compiled for the vector widths of the kernel table in use
 * (nn_kernels_get(): cpuid, or NNTRAIN_ISA); conversions and the two
 * operations are exact or correctly rounded in any width. */
static void gather_generic(void *ctx, long c)
{
    gather_body(ctx, c);
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2"))) static void gather_avx2(void *ctx, long c)
{
    gather_body(ctx, c);
}

__attribute__((target("avx512f"))) static void gather_avx512(void *ctx, long c)
{
    gather_body(ctx, c);
}
#endif

static nn_pool_fn pick_gather(void)
{
#if defined(__x86_64__) || defined(__i386__)
    static const nn_pool_fn by_isa[] = {gather_generic, gather_avx2, gather_avx512};
    return by_isa[nn_kernels_isa()];
#else
    return gather_generic;
#endif
}

void nn_batch_gather(float *X, const nn_dataset *d, const uint32_t *idx, size_t B,
                     const float *shift, const float *mult)
{
    if (B == 0)
        return;
    gather_job j = {X, d, idx, B, shift, mult, 0};
    /* A converted value, read from a scattered row, is weighed as 64 flops
     * of a product: batches above about 16,000 values (W1's 32 x 784 among
     * them: faster split, by --profile) are shared, smaller ones stay on
     * the calling thread. */
    double work = 64.0 * (double)B * (double)d->features;
    j.chunks = (long)(B < NN_POOL_MAX_CHUNKS ? B : NN_POOL_MAX_CHUNKS);
    nn_pool_run(pick_gather(), &j, j.chunks, nn_pool_threads_for(work));
}

void nn_batch_prefetch(const nn_dataset *d, const uint32_t *idx, size_t B)
{
    size_t row = d->features * nn_dtype_size(d->type);
    for (size_t i = 0; i < B; i++) {
        const char *p = (const char *)d->x + (size_t)idx[i] * row;
        for (size_t at = 0; at < row; at += 64)
            __builtin_prefetch(p + at, 0, 3);
        __builtin_prefetch(p + row - 1, 0, 3); /* the last line, when the row is not aligned */
    }
}

void nn_batch_labels(int32_t *labels, const nn_dataset *d, const uint32_t *idx, size_t B)
{
    for (size_t i = 0; i < B; i++)
        labels[i] = d->labels[idx[i]];
}

void nn_batch_targets(float *T, const nn_dataset *d, const uint32_t *idx, size_t B, int K)
{
    size_t k = (size_t)K;
    if (d->targets) {
        for (size_t i = 0; i < B; i++)
            memcpy(T + i * k, d->targets + (size_t)idx[i] * k, sizeof(float) * k);
        return;
    }
    for (size_t i = 0; i < B; i++) {
        int32_t y = d->labels[idx[i]];
        float *t = T + i * k;
        if (K == 1) {
            t[0] = (float)y;
            continue;
        }
        for (size_t j = 0; j < k; j++)
            t[j] = 0.0f;
        t[y] = 1.0f;
    }
}

void nn_targets_smooth(float *T, size_t B, int K, double e)
{
    if (!(e > 0))
        return;
    double keep = 1.0 - e, share = e / (K == 1 ? 2.0 : (double)K);
    for (size_t p = 0; p < B * (size_t)K; p++)
        T[p] = (float)(keep * (double)T[p] + share);
}
