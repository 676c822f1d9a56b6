/* bench_util.h - the timing harness the benchmark programs share
 * (bench_kernels.c, bench_bf16.c): the clock, the FMA peak loops and
 * the median of per-round ratios.  Each program includes it once; the
 * definitions are static.
 */
#ifndef NN_BENCH_UTIL_H
#define NN_BENCH_UTIL_H

#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define BENCH_X86 1
#endif

/* One-thread figures are timed with the thread's CPU time, so time the
 * system gave to other processes (the machines are shared) does not count;
 * several threads need wall time. */
static int use_cpu_time;

static inline double now(void)
{
    struct timespec ts;
    clock_gettime(use_cpu_time ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#ifdef BENCH_X86
/* Defines float NAME(long iters), a peak loop built with target TARGET: 16
 * independent chains acc[j] = STEP(acc[j], a, b) from acc[j] = j, enough
 * to cover the instruction's latency on every port, iters times; a and b
 * (of type T) are A and B.  Returns the sum of the chains, so the loop
 * cannot be optimised away. */
#define ZMM_PEAK_LOOP(NAME, TARGET, T, A, B, STEP)                                 \
    __attribute__((target(TARGET))) static inline float NAME(long iters)           \
    {                                                                              \
        __m512 acc[16];                                                            \
        T a = A, b = B;                                                            \
        for (int j = 0; j < 16; j++)                                               \
            acc[j] = _mm512_set1_ps((float)j);                                     \
        for (long i = 0; i < iters; i++)                                           \
            _Pragma("GCC unroll 16") for (int j = 0; j < 16; j++)                  \
                acc[j] = STEP(acc[j], a, b);                                       \
        __m512 s = acc[0];                                                         \
        for (int j = 1; j < 16; j++)                                               \
            s = _mm512_add_ps(s, acc[j]);                                          \
        return _mm512_reduce_add_ps(s);                                            \
    }

/* The fp32 FMA peak: acc = acc * a + b (a < 1, so values settle, no
 * denormals); 16 x 16 x 2 FLOPs an iteration. */
ZMM_PEAK_LOOP(fma_loop_zmm, "avx512f,fma", __m512, _mm512_set1_ps(0.999f),
              _mm512_set1_ps(1e-3f), _mm512_fmadd_ps)

/* The same on ymm with AVX2's FMA, 12 chains (enough to cover the FMA
 * latency on every port); 12 x 8 x 2 FLOPs an iteration. */
#define YMM_FMA_FLOPS (12 * 8 * 2.0)
__attribute__((target("avx2,fma"))) static inline float fma_loop_ymm(long iters)
{
    __m256 acc[12], a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(1e-3f);
    for (int j = 0; j < 12; j++)
        acc[j] = _mm256_set1_ps((float)j);
    for (long i = 0; i < iters; i++)
#pragma GCC unroll 12
        for (int j = 0; j < 12; j++)
            acc[j] = _mm256_fmadd_ps(acc[j], a, b);
    float t[8], s = 0;
    for (int j = 0; j < 12; j++) {
        _mm256_storeu_ps(t, acc[j]);
        for (int l = 0; l < 8; l++)
            s += t[l];
    }
    return s;
}
#endif

static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0..n-1] (sorts v). */
static inline double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#endif
