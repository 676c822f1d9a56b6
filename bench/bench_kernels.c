/* bench_kernels.c - `make bench`, parts (a) and (b): the machine's fp32 FMA
 * peak, then GFLOP/s of nntrain's three dense products on the reference
 * layer shapes beside OpenBLAS's cblas_sgemm on the same shapes.
 *
 *   bench_kernels [THREADS [FILTER]]
 *       THREADS: the "all threads" count (default: online processors); with
 *                1, the products are measured on one thread only
 *       FILTER:  measure only the layers whose "net, in-out" label or
 *                "B x in x out" shape contains this text (e.g. "4096",
 *                "W3", "256x1024x1024")
 *
 * Prints Markdown tables on stdout.  OpenBLAS is loaded with dlopen() so this
 * program builds and runs without it (the columns then say why they are
 * empty); nntrain itself never uses it.  The kernel table is the one nntrain
 * would pick (NNTRAIN_ISA is honoured).
 *
 * Timing: 7 rounds of ~30 ms of back-to-back calls on the same buffers (all
 * in cache, as they are in training), after a warm-up; FLOPs are 2 M N K per
 * product.  One thread: the thread's CPU time; several: wall time.  The
 * rounds alternate nntrain, OpenBLAS and (one thread) the FMA peak loop, and
 * the ratios are medians of per-round ratios: this machine's speed drifts on
 * a scale of seconds, which would skew a ratio of two separate best-ofs.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "kernels/kernels.h"
#include "pool/pool.h"

/* ---- (a) FMA peak ------------------------------------------------------------- */

/* The peak loops: bench_util.h's fma_loop_ymm and fma_loop_zmm. */

typedef struct {
    int zmm;
    long iters;
    pthread_barrier_t *start;
    double t0, t1; /* when this thread started and ended its loop */
    volatile float sink;
} peak_arg;

static void *peak_thread(void *p)
{
    peak_arg *a = p;
    if (a->start)
        pthread_barrier_wait(a->start);
    a->t0 = now();
#ifdef BENCH_X86
    a->sink = a->zmm ? fma_loop_zmm(a->iters) : fma_loop_ymm(a->iters);
#endif
    a->t1 = now();
    return NULL;
}

/* GFLOP/s of `threads` threads each running the FMA loop (one thread: on
 * this thread, by its CPU time). */
static double peak_gflops(int zmm, int threads)
{
    long iters = 1000000; /* calibrated below to ~0.3 s */
    for (int pass = 0; pass < 2; pass++) {
        double dt;
        if (threads == 1) {
            peak_arg arg = {.zmm = zmm, .iters = iters};
            use_cpu_time = 1;
            peak_thread(&arg);
            use_cpu_time = 0;
            dt = arg.t1 - arg.t0;
        } else {
            /* From the first thread's start to the last one's end. */
            pthread_barrier_t start;
            pthread_barrier_init(&start, NULL, (unsigned)threads);
            peak_arg *args = calloc((size_t)threads, sizeof *args);
            pthread_t *tid = calloc((size_t)threads, sizeof *tid);
            for (int t = 0; t < threads; t++) {
                args[t] = (peak_arg){.zmm = zmm, .iters = iters, .start = &start};
                pthread_create(&tid[t], NULL, peak_thread, &args[t]);
            }
            double t0 = 1e300, t1 = 0;
            for (int t = 0; t < threads; t++) {
                pthread_join(tid[t], NULL);
                t0 = args[t].t0 < t0 ? args[t].t0 : t0;
                t1 = args[t].t1 > t1 ? args[t].t1 : t1;
            }
            dt = t1 - t0;
            pthread_barrier_destroy(&start);
            free(args);
            free(tid);
        }
        double flops = (double)threads * (double)iters * (zmm ? 16 * 16 : 12 * 8) * 2.0;
        if (pass == 1)
            return flops / dt * 1e-9;
        iters = (long)((double)iters * 0.3 / dt);
    }
    return 0;
}

/* ---- OpenBLAS, if it can be loaded ------------------------------------------------ */

enum { RowMajor = 101, NoTrans = 111, Trans = 112 }; /* the CBLAS ABI's values */
typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *,
                         int, float, float *, int);
static sgemm_fn cblas_sgemm_p;
static void (*openblas_threads_p)(int);

static char blas_note[256];

/* Loads OpenBLAS; returns NULL, or why it is not there.  Which of its
 * kernels it uses (it picks them by processor model, and may not know this
 * one) goes into blas_note; bench/run.py sets OPENBLAS_CORETYPE when the
 * pick would be weaker than the processor. */
static const char *load_openblas(void)
{
    static const char *const names[] = {"libopenblas.so.0", "libopenblas.so"};
    void *h = NULL;
    for (int i = 0; i < 2 && !h; i++)
        h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return "libopenblas.so.0 not found (apt-get install libopenblas-dev)";
    cblas_sgemm_p = (sgemm_fn)dlsym(h, "cblas_sgemm");
    openblas_threads_p = (void (*)(int))dlsym(h, "openblas_set_num_threads");
    char *(*corename)(void) = (char *(*)(void))dlsym(h, "openblas_get_corename");
    if (!cblas_sgemm_p || !openblas_threads_p)
        return "libopenblas.so.0 has no cblas_sgemm";
    const char *forced = getenv("OPENBLAS_CORETYPE");
    snprintf(blas_note, sizeof blas_note, "OpenBLAS kernels: %s%s%s%s",
             corename ? corename() : "unknown", forced ? " (OPENBLAS_CORETYPE=" : "",
             forced ? forced : "", forced ? ")" : "");
    return NULL;
}

/* ---- (b) the products ------------------------------------------------------------ */

typedef struct {
    const char *net;
    int B, in, out;
} layer;

typedef struct {
    int B, in, out;
    float *X, *W, *b, *Y, *dZ, *dX, *dW;
} bufs;

static float *rand_buf(size_t n)
{
    float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    if (!p) {
        perror("bench_kernels");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    return p;
}

enum { FWD, DX, DW };
static const char *const product_names[] = {"forward Y=XW^T+b", "dX=dZ W", "dW+=dZ^T X"};

static void call(int product, int blas, const bufs *m)
{
    const nn_kernels *k = nn_kernels_get();
    int B = m->B, in = m->in, out = m->out;
    if (!blas) {
        if (product == FWD)
            k->dense_forward(m->Y, m->X, m->W, m->b, B, in, out, NN_ACT_IDENTITY);
        else if (product == DX)
            k->dense_backward_input(m->dX, m->dZ, m->W, B, in, out);
        else
            k->dense_backward_weights(m->dW, m->dZ, m->X, B, in, out);
    } else if (product == FWD) {
        cblas_sgemm_p(RowMajor, NoTrans, Trans, B, out, in, 1.0f, m->X, in, m->W, in, 0.0f, m->Y,
                      out);
    } else if (product == DX) {
        cblas_sgemm_p(RowMajor, NoTrans, NoTrans, B, in, out, 1.0f, m->dZ, out, m->W, in, 0.0f,
                      m->dX, in);
    } else {
        cblas_sgemm_p(RowMajor, Trans, NoTrans, out, in, B, 1.0f, m->dZ, out, m->X, in, 1.0f,
                      m->dW, in);
    }
}

/* Calls per round so a round lasts about 30 ms. */
static long calibrate(int product, int blas, const bufs *m)
{
    long reps = 1;
    for (double t0 = now(); now() - t0 < 0.02; reps++) /* warm-up and calibration */
        call(product, blas, m);
    double t_first = now();
    for (long r = 0; r < reps; r++)
        call(product, blas, m);
    double per_call = (now() - t_first) / (double)reps;
    return (long)(0.03 / per_call) + 1;
}

static double round_gflops(int product, int blas, const bufs *m, long reps)
{
    double t0 = now();
    for (long r = 0; r < reps; r++)
        call(product, blas, m);
    return 2.0 * m->B * m->in * m->out / ((now() - t0) / (double)reps) * 1e-9;
}

/* The machine's speed drifts (other guests, clock changes) on a scale of
 * seconds, so the contenders run in alternating rounds and the ratios are
 * taken round by round: nntrain, then OpenBLAS, then (one thread) the FMA
 * peak loop, ROUNDS times.  Reported: the best GFLOP/s of each, and the
 * median over rounds of nntrain / OpenBLAS and of nntrain / peak. */
#define ROUNDS 7

typedef struct {
    double best[2];   /* GFLOP/s: nntrain, OpenBLAS */
    double ratio;     /* median of nntrain / OpenBLAS per round (0: no OpenBLAS) */
    double of_peak;   /* median of nntrain / FMA peak per round (0: not measured) */
} result;

static int peak_zmm;      /* the peak loop to pair with one-thread rounds: -1 none */
static long peak_iters;   /* its calibrated length, about 20 ms */

static double peak_once(void)
{
    peak_arg arg = {.zmm = peak_zmm, .iters = peak_iters};
    use_cpu_time = 1;
    peak_thread(&arg);
    return (double)peak_iters * (peak_zmm ? 16 * 16 : 12 * 8) * 2.0 / (arg.t1 - arg.t0) * 1e-9;
}

static result measure(int product, const bufs *m, int with_blas, int with_peak)
{
    result res = {{0, 0}, 0, 0};
    long reps[2] = {calibrate(product, 0, m), with_blas ? calibrate(product, 1, m) : 0};
    double ratio[ROUNDS], of_peak[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        double g[2] = {round_gflops(product, 0, m, reps[0]), 0};
        if (with_blas)
            g[1] = round_gflops(product, 1, m, reps[1]);
        for (int k = 0; k < 2; k++)
            res.best[k] = g[k] > res.best[k] ? g[k] : res.best[k];
        ratio[r] = with_blas ? g[0] / g[1] : 0;
        if (with_peak) {
            int cpu = use_cpu_time;
            of_peak[r] = g[0] / peak_once();
            use_cpu_time = cpu;
        }
    }
    res.ratio = with_blas ? median(ratio, ROUNDS) : 0;
    res.of_peak = with_peak ? median(of_peak, ROUNDS) : 0;
    return res;
}

int main(int argc, char **argv)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int nt = argc > 1 ? atoi(argv[1]) : (int)(cores > 0 ? cores : 1);
    if (nt < 1)
        nt = 1;
    nn_error err = {0};
    if (nn_kernels_select(NN_PREC_FP32, getenv("NNTRAIN_ISA"), &err) < 0) {
        fprintf(stderr, "bench_kernels: %s\n", err.msg);
        return 2;
    }
    const char *isa = nn_kernels_get()->name;
#ifdef BENCH_X86
    __builtin_cpu_init();
#endif

    /* (a) */
    double peak1 = 0;
    printf("### Peak fp32 FMA throughput\n\n");
#ifdef BENCH_X86
    int has512 = __builtin_cpu_supports("avx512f"), has2 = __builtin_cpu_supports("avx2") &&
                                                         __builtin_cpu_supports("fma");
    printf("| loop | 1 thread GFLOP/s | %d threads GFLOP/s |\n|---|---|---|\n", nt);
    if (has2) {
        double p1 = peak_gflops(0, 1), pn = peak_gflops(0, nt);
        printf("| AVX2 FMA, 12 ymm accumulators | %.1f | %.1f |\n", p1, pn);
        peak1 = p1;
    }
    if (has512) {
        double p1 = peak_gflops(1, 1), pn = peak_gflops(1, nt);
        printf("| AVX-512 FMA, 16 zmm accumulators | %.1f | %.1f |\n", p1, pn);
        peak1 = p1 > peak1 ? p1 : peak1;
    }
    if (!has2 && !has512)
        printf("| (no AVX2/AVX-512 here) | - | - |\n");
    peak_zmm = has512 ? 1 : has2 ? 0 : -1;
    if (peak_zmm >= 0) { /* about 20 ms a round */
        peak_iters = 1000000;
        peak_arg arg = {.zmm = peak_zmm, .iters = peak_iters};
        use_cpu_time = 1;
        peak_thread(&arg);
        use_cpu_time = 0;
        peak_iters = (long)((double)peak_iters * 0.02 / (arg.t1 - arg.t0)) + 1;
    }
#else
    peak_zmm = -1;
    printf("(not an x86 processor: no FMA loop; %% of peak not shown)\n");
#endif
    printf("\n1 thread: by CPU time; %d threads: by wall time. Best single-thread peak: %.1f "
           "GFLOP/s (the %% peak below pairs each round with the %s loop run in that round).\n\n",
           nt, peak1, peak_zmm == 1 ? "AVX-512" : peak_zmm == 0 ? "AVX2" : "(no)");

    /* (b) */
    const char *blas_missing = load_openblas();
    static const layer layers[] = {
        {"W1 784-128-10 b32", 32, 784, 128},  {"W1 784-128-10 b32", 32, 128, 10},
        {"W2 784-256-128-10 b128", 128, 784, 256}, {"W2 784-256-128-10 b128", 128, 256, 128},
        {"W2 784-256-128-10 b128", 128, 128, 10},
        {"W3 784-1024-1024-10 b256", 256, 784, 1024},
        {"W3 784-1024-1024-10 b256", 256, 1024, 1024},
        {"W3 784-1024-1024-10 b256", 256, 1024, 10},
        {"best 784-1024-1024-10 b128", 128, 784, 1024},
        {"best 784-1024-1024-10 b128", 128, 1024, 1024},
        {"large", 512, 4096, 4096},
    };
    const char *filter = argc > 2 ? argv[2] : NULL;
    printf("### Dense products: nntrain (%s kernels) and OpenBLAS cblas_sgemm\n\n", isa);
    if (blas_missing)
        printf("OpenBLAS columns empty: %s.\n\n", blas_missing);
    else
        printf("%s.\n\n", blas_note);
    use_cpu_time = 0;
    printf("GFLOP/s: the best of %d rounds of about 30 ms (1 thread: by CPU time; %d threads: "
           "by wall time). Forward is the identity activation (product + bias).\n", ROUNDS, nt);
    printf("Rounds alternate nntrain, OpenBLAS and (1 thread) the FMA peak loop, because this "
           "machine's speed drifts: %% peak is the median over rounds of nntrain / the peak "
           "measured in the same round, and ratio is the median over rounds of nntrain / "
           "OpenBLAS.\n\n");
    printf("| net, layer | product | M x N x K | nntrain 1t | %% peak | OpenBLAS 1t | ratio 1t "
           "| nntrain %dt | OpenBLAS %dt | ratio %dt |\n",
           nt, nt, nt);
    printf("|---|---|---|---|---|---|---|---|---|---|\n");
    for (size_t l = 0; l < sizeof layers / sizeof layers[0]; l++) {
        const layer *L = &layers[l];
        char label[96], shape[48];
        snprintf(label, sizeof label, "%s, %d-%d", L->net, L->in, L->out);
        snprintf(shape, sizeof shape, "%dx%dx%d", L->B, L->in, L->out);
        if (filter && !strstr(label, filter) && !strstr(shape, filter))
            continue;
        bufs m = {.B = L->B, .in = L->in, .out = L->out};
        m.X = rand_buf((size_t)L->B * L->in);
        m.W = rand_buf((size_t)L->out * L->in);
        m.b = rand_buf((size_t)L->out);
        m.Y = rand_buf((size_t)L->B * L->out);
        m.dZ = rand_buf((size_t)L->B * L->out);
        m.dX = rand_buf((size_t)L->B * L->in);
        m.dW = rand_buf((size_t)L->out * L->in);
        for (int p = FWD; p <= DW; p++) {
            int M = p == DW ? L->out : L->B, N = p == FWD ? L->out : L->in,
                K = p == FWD ? L->in : p == DX ? L->out : L->B;
            result r[2]; /* [threads] */
            r[1] = (result){{0, 0}, 0, 0};
            for (int th = 0; th < (nt > 1 ? 2 : 1); th++) {
                int n = th ? nt : 1;
                use_cpu_time = n == 1;
                nn_pool_set_threads(n);
                if (!blas_missing)
                    openblas_threads_p(n);
                r[th] = measure(p, &m, !blas_missing, n == 1 && peak_zmm >= 0);
            }
            use_cpu_time = 0;
            char b1[32] = "-", bn[32] = "-", q1[32] = "-", qn[32] = "-", pk[32] = "-";
            char gn[32] = "-";
            if (nt > 1)
                snprintf(gn, sizeof gn, "%.1f", r[1].best[0]);
            if (!blas_missing) {
                snprintf(b1, sizeof b1, "%.1f", r[0].best[1]);
                snprintf(q1, sizeof q1, "%.2f", r[0].ratio);
                if (nt > 1) {
                    snprintf(bn, sizeof bn, "%.1f", r[1].best[1]);
                    snprintf(qn, sizeof qn, "%.2f", r[1].ratio);
                }
            }
            if (r[0].of_peak > 0)
                snprintf(pk, sizeof pk, "%.0f%%", 100.0 * r[0].of_peak);
            printf("| %s | %s | %d x %d x %d | %.1f | %s | %s | %s | %s | %s | %s |\n", label,
                   product_names[p], M, N, K, r[0].best[0], pk, b1, q1, gn, bn, qn);
            fflush(stdout);
        }
        free(m.X);
        free(m.W);
        free(m.b);
        free(m.Y);
        free(m.dZ);
        free(m.dX);
        free(m.dW);
    }
    nn_pool_set_threads(1);
    return 0;
}
