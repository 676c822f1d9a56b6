/* bench_bf16.c - GFLOP/s of the bf16 dense products (avx512bf16 and, where
 * the processor has it, amx) beside nntrain's fp32 AVX-512 kernels on the
 * layer shapes of W2 (784-256-128-10, batch 128), W3 (784-1024-1024-10,
 * batch 256) and configs/fashion-mnist-best.json (784-768-768-10, batch
 * 128), with a share of the bf16 peak of each instruction set: a vdpbf16ps
 * loop of independent accumulators, and on AMX a tdpbf16ps loop on four
 * accumulator tiles (no loads).  On a processor without AVX512-BF16 but
 * with AVX2 (64-bit), avx2bf16 beside the fp32 avx2 kernels instead, both
 * as a share of the AVX2 FMA peak (avx2bf16 sums with FMAs).
 *
 *   bench_bf16 [THREADS [ROUNDS]]     defaults 1 and 7
 *
 * Each round times ~25 ms of back-to-back calls of each table on the same
 * buffers (in cache, as in training), the tables interleaved, and on one
 * thread also the peak loops; ratios are medians of per-round ratios (the
 * machine's speed drifts), GFLOP/s the best round.  One thread: the
 * thread's CPU time; several: wall time.  FLOPs are 2 M N K a product; a
 * vdpbf16ps counts 64 (32 multiply-adds), an fp32 FMA on a zmm 32.
 * Run it under `flock /tmp/nntrain-bench.lock` on a shared machine.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "kernels/bf16.h"
#include "kernels/kernels.h"
#include "pool/pool.h"

#ifdef BENCH_X86
extern const nn_kernels nn_kernels_avx512, nn_kernels_avx2;

/* The bf16 peak, vdpbf16ps; small products (1e-3 squared) keep the sums
 * finite and normal. */
ZMM_PEAK_LOOP(bf16_peak_loop, "avx512f,avx512bf16", __m512bh,
              _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(-1e-3f)),
              _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(1e-3f)),
              _mm512_dpbf16_ps)
#endif

#if defined(BENCH_X86) && defined(__x86_64__) && defined(__linux__) /* as amx.c */
#define BENCH_AMX
/* The AMX bf16 peak: tdpbf16ps on four 16 x 16 fp32 accumulators (tmm0-3)
 * fed by two A tiles and two B tiles (tmm4-7) loaded once, the blocking
 * amx.c uses, without its loads; 4 x 16 x 16 x 32 x 2 FLOPs an iteration.
 * The caller must hold the tile permission. */
__attribute__((target("amx-tile,amx-bf16"))) static float amx_peak_loop(long iters)
{
    struct {
        uint8_t palette, start_row, reserved[14];
        uint16_t colsb[16];
        uint8_t rows[16];
    } __attribute__((aligned(64))) cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++)
        cfg.colsb[t] = 64, cfg.rows[t] = 16;
    static uint16_t ops[16 * 32] __attribute__((aligned(64)));
    for (int i = 0; i < 16 * 32; i++)
        ops[i] = 0x3a83; /* about 1e-3 in bf16: the sums stay finite and normal */
    float out[16 * 16] __attribute__((aligned(64)));
    _tile_loadconfig(&cfg);
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    _tile_loadd(4, ops, 64);
    _tile_loadd(5, ops, 64);
    _tile_loadd(6, ops, 64);
    _tile_loadd(7, ops, 64);
    for (long i = 0; i < iters; i++) {
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    _tile_stored(0, out, 64);
    _tile_release();
    return out[0];
}
#endif

static volatile float sink;

/* avx2bf16 beside avx2 (no AVX512-BF16 here): the FMA peak is AVX2's. */
static int avx2_mode;

/* The peak loops: 0 fp32 FMA, 1 vdpbf16ps, 2 AMX tdpbf16ps. */
enum { PEAK_FMA, PEAK_DPBF16, PEAK_AMX, NPEAK };
static const char *const peak_names[NPEAK] = {"fp32 FMA", "bf16 vdpbf16ps",
                                              "bf16 AMX tdpbf16ps"};

static float peak_run(int kind, long n)
{
#ifdef BENCH_X86
    switch (kind) {
    case PEAK_FMA:
        return avx2_mode ? fma_loop_ymm(n) : fma_loop_zmm(n);
    case PEAK_DPBF16:
        return bf16_peak_loop(n);
#ifdef BENCH_AMX
    default:
        return amx_peak_loop(n);
#endif
    }
#endif
    (void)kind, (void)n;
    return 0;
}

/* FLOPs an iteration of each loop (the FMA loop's on zmm; on ymm:
 * YMM_FMA_FLOPS). */
static const double peak_flops[NPEAK] = {16 * 32.0, 16 * 64.0, 4 * 16 * 16 * 32 * 2.0};

static double flops_of(int kind)
{
#ifdef BENCH_X86
    if (kind == PEAK_FMA && avx2_mode)
        return YMM_FMA_FLOPS;
#endif
    return peak_flops[kind];
}

/* GFLOP/s of one run of the peak loop `kind` of ~20 ms; iters calibrated
 * on the first call. */
static double peak_once(int kind)
{
    static long iters[NPEAK];
    if (!iters[kind]) {
        long n = 1000;
        for (;;) {
            double t0 = now();
            sink = peak_run(kind, n);
            double dt = now() - t0;
            if (dt > 0.005) {
                iters[kind] = (long)(n * 0.02 / dt) + 1;
                break;
            }
            n *= 4;
        }
    }
    double t0 = now();
    sink = peak_run(kind, iters[kind]);
    double dt = now() - t0;
    return (double)iters[kind] * flops_of(kind) / dt * 1e-9;
}

typedef struct {
    const char *net;
    int B, in, out;
} layer;

static const layer layers[] = {
    {"W2", 128, 784, 256}, {"W2", 128, 256, 128},   {"W2", 128, 128, 10},
    {"W3", 256, 784, 1024}, {"W3", 256, 1024, 1024}, {"W3", 256, 1024, 10},
    {"best", 128, 784, 768}, {"best", 128, 768, 768},   {"best", 128, 768, 10},
};
#define NLAYERS ((int)(sizeof layers / sizeof layers[0]))

static const char *const product_names[] = {"forward", "dX", "dW", "sgd dW"};
#define NPROD 4

typedef struct {
    float *X, *W, *b, *Y, *dZ, *dX, *dW;
    int B, in, out;
} bufs;

static float *rand_buf(size_t n, unsigned *seed)
{
    float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    if (!p) {
        perror("bench_bf16");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        p[i] = ((float)(*seed >> 8 & 0xffff) / 32768.0f - 1.0f) * 0.5f;
    }
    return p;
}

static void call(const nn_kernels *k, int product, bufs *m)
{
    switch (product) {
    case 0:
        k->dense_forward(m->Y, m->X, m->W, m->b, m->B, m->in, m->out, NN_ACT_SIGMOID);
        break;
    case 1:
        k->dense_backward_input(m->dX, m->dZ, m->W, m->B, m->in, m->out);
        break;
    case 2:
        k->dense_backward_weights(m->dW, m->dZ, m->X, m->B, m->in, m->out);
        break;
    default: /* tiny lr: the weights stay where they are */
        k->dense_sgd_weights(m->W, m->dZ, m->X, m->B, m->in, m->out, 1e-9f, 0.0f);
        break;
    }
}

static double round_gflops(const nn_kernels *k, int product, bufs *m, long reps)
{
    double t0 = now();
    for (long r = 0; r < reps; r++)
        call(k, product, m);
    double dt = now() - t0;
    return 2.0 * m->B * m->in * m->out * (double)reps / dt * 1e-9;
}

static long calibrate(const nn_kernels *k, int product, bufs *m)
{
    call(k, product, m); /* warm-up: buffers, pool threads */
    long reps = 1;
    for (;;) {
        double t0 = now();
        for (long r = 0; r < reps; r++)
            call(k, product, m);
        double dt = now() - t0;
        if (dt > 0.004)
            return (long)(reps * 0.025 / dt) + 1;
        reps *= 4;
    }
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    int rounds = argc > 2 ? atoi(argv[2]) : 7;
    if (threads < 1 || rounds < 1 || rounds > 99) {
        fprintf(stderr, "usage: bench_bf16 [THREADS [ROUNDS]]\n");
        return 2;
    }
#ifndef BENCH_X86
    printf("bench_bf16: not an x86 build; nothing to measure\n");
    return 0;
#else
    const nn_kernels *tabs[3] = {&nn_kernels_avx512, &nn_kernels_avx512bf16, NULL};
    int ntabs = 2;
    if (!nn_cpu_has_avx512bf16()) {
#ifdef __x86_64__ /* where avx2bf16 exists */
        const char *fams[8];
        int nf = nn_kernels_families(NN_PREC_FP32, fams, 8);
        for (int f = 0; f < nf; f++)
            if (strcmp(fams[f], "avx2") == 0)
                avx2_mode = 1;
#endif
        if (!avx2_mode) {
            printf("bench_bf16: no bf16 kernels but the scalar reference on this processor; "
                   "nothing to measure\n");
            return 0;
        }
#ifdef __x86_64__
        tabs[0] = &nn_kernels_avx2;
        tabs[1] = &nn_kernels_avx2bf16;
#endif
    }
#if defined(__x86_64__) && defined(__linux__) /* where amx.c has its table */
    if (nn_cpu_has_amx_bf16() && nn_amx_request_permission() == 0)
        tabs[ntabs++] = &nn_kernels_amx;
#endif
    nn_pool_set_threads(threads);
    use_cpu_time = threads == 1;
    int with_peak = threads == 1;

    printf("bf16 products beside fp32, %d thread%s, %d rounds (best GFLOP/s; ratios: median "
           "of per-round ratios)\n\n",
           threads, threads == 1 ? "" : "s", rounds);
    printf("| net | B x in -> out | product | fp32 %s | bf16 %s | bf16 / fp32 |%s%s%s\n",
           tabs[0]->name, tabs[1]->name,
           !with_peak ? ""
           : avx2_mode ? " bf16 % of FMA peak | fp32 % of FMA peak |"
                       : " bf16 % of vdpbf16ps peak | fp32 % of FMA peak |",
           ntabs > 2 ? " amx | amx / fp32 |" : "",
           ntabs > 2 && with_peak ? " amx % of AMX peak |" : "");
    printf("|---|---|---|---|---|---|%s%s%s\n", with_peak ? "---|---|" : "",
           ntabs > 2 ? "---|---|" : "", ntabs > 2 && with_peak ? "---|" : "");
    double peak_best[NPEAK] = {0, 0, 0};
    for (int l = 0; l < NLAYERS; l++) {
        unsigned seed = 12345u + (unsigned)l;
        bufs m = {.B = layers[l].B, .in = layers[l].in, .out = layers[l].out};
        size_t nx = (size_t)m.B * m.in, nw = (size_t)m.out * m.in, ny = (size_t)m.B * m.out;
        m.X = rand_buf(nx, &seed), m.W = rand_buf(nw, &seed), m.b = rand_buf((size_t)m.out, &seed);
        m.Y = rand_buf(ny, &seed), m.dZ = rand_buf(ny, &seed), m.dX = rand_buf(nx, &seed);
        m.dW = rand_buf(nw, &seed);
        for (int p = 0; p < NPROD; p++) {
            long reps[3];
            for (int t = 0; t < ntabs; t++)
                reps[t] = calibrate(tabs[t], p, &m);
            double best[3] = {0, 0, 0}, ratio[99], ratio_amx[99], share[99], share32[99];
            double share_amx[99];
            for (int r = 0; r < rounds; r++) {
                double g[3];
                for (int t = 0; t < ntabs; t++) {
                    g[t] = round_gflops(tabs[t], p, &m, reps[t]);
                    if (g[t] > best[t])
                        best[t] = g[t];
                }
                ratio[r] = g[1] / g[0];
                ratio_amx[r] = ntabs > 2 ? g[2] / g[0] : 0;
                if (with_peak) {
                    double pk[NPEAK] = {0, 0, 0};
                    for (int q = 0; q < (avx2_mode ? PEAK_DPBF16 : ntabs > 2 ? NPEAK : PEAK_AMX);
                         q++) {
                        pk[q] = peak_once(q);
                        if (pk[q] > peak_best[q])
                            peak_best[q] = pk[q];
                    }
                    share[r] = g[1] / pk[avx2_mode ? PEAK_FMA : PEAK_DPBF16];
                    share32[r] = g[0] / pk[PEAK_FMA];
                    share_amx[r] = ntabs > 2 ? g[2] / pk[PEAK_AMX] : 0;
                }
            }
            printf("| %s | %d x %d -> %d | %s | %.1f | %.1f | %.2fx |", layers[l].net, m.B, m.in,
                   m.out, product_names[p], best[0], best[1], median(ratio, rounds));
            if (with_peak)
                printf(" %.0f%% | %.0f%% |", 100 * median(share, rounds),
                       100 * median(share32, rounds));
            if (ntabs > 2)
                printf(" %.1f | %.2fx |", best[2], median(ratio_amx, rounds));
            if (ntabs > 2 && with_peak)
                printf(" %.0f%% |", 100 * median(share_amx, rounds));
            printf("\n");
            fflush(stdout);
        }
        free(m.X), free(m.W), free(m.b), free(m.Y), free(m.dZ), free(m.dX), free(m.dW);
    }
    if (with_peak) {
        printf("\npeak loops (best round):");
        for (int q = 0; q < (avx2_mode ? PEAK_DPBF16 : ntabs > 2 ? NPEAK : PEAK_AMX); q++)
            printf("%s %s%s %.1f GFLOP/s", q ? "," : "", peak_names[q],
                   avx2_mode ? " (ymm)" : "", peak_best[q]);
        printf("\n");
    }
    return 0;
#endif
}
