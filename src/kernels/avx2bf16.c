/* avx2bf16.c - the bf16 dense kernels on AVX2 and FMA, for processors
 * without AVX512-BF16 (before it, a bf16 run on them took the scalar
 * reference: about 40 samples/s on Fashion-MNIST's 784-768-768-10); the
 * only bf16 file built with -mavx2 -mfma, 64-bit x86 only (its tile holds
 * 12 accumulators in named registers).  The selection (cpu.c) uses this
 * table where the avx2 one can run.  Bit-identical to the scalar reference
 * (bf16.c), NaN payloads included, as avx512bf16 is.
 *
 * vdpbf16ps's sums with fp32 arithmetic: every output is one fp32
 * accumulator from +0, one step a term, over the pairs of k in ascending
 * order and within a pair the odd element first (an odd K's last pair has
 * a zero partner, summed first); a step is acc <- round(acc + a b), which is
 * what one FMA does (the product of two bf16 values is exact in fp32).  Two
 * things make the FMA agree with vdpbf16ps to the bit:
 *   denormals  vdpbf16ps flushes a denormal sum to zero and reads a
 *              denormal accumulator as zero: MXCSR's FTZ and DAZ do the
 *              same; they are set for a tile's sums only (the epilogue runs
 *              in the caller's mode), and x86 decides tininess after
 *              rounding, as the reference does;
 *   NaNs       when more than one operand is a NaN, the FMA returns the
 *              first of its sources; vfmadd231ps acc, a, b returns a's, then
 *              b's, then acc's, the reference's order.  The FMA is inline
 *              asm so the compiler cannot swap a and b (it treats the
 *              product as commutative) or choose another form.
 * (A probe of 2 x 10^8 random steps, with tiny, huge, infinite and NaN
 * operands, found no difference from nn_bf16_dot_step on AMD Zen 3.)
 *
 * Every product is C (rows x cols) = sum over K of A(r, k) B(k, c):
 *   forward  C = Y (B x out), A = X, B(k, c) = W[c, k]     then act(C + b)
 *   dX       C = dX (B x in), A = dZ, B(k, c) = W[k, c]
 *   dW       C = dW (out x in), A(r, k) = dZ[k, r], B(k, c) = X[k, c]   C += sum
 *   SGD      as dW, C = W <- W - lr (sum + wd W)
 * Both operands are rounded to bf16 as they are packed (round_bf16: the
 * integer form of nn_bf16_from_float) and kept as floats, in the order of
 * the sums: step q reads k = q ^ 1 (1, 0, 3, 2, ...), zeros past K.
 *   A  packed once per call into a buffer shared by the threads, in blocks
 *      of 6 rows: [row block][step][6 rows], two blocks (a unit) at a time
 *      by the first tile that needs them (a_unit), in the same run of the
 *      pool as the products;
 *   B  packed a panel of 16 columns at a time by the thread that needs it,
 *      into that thread's own buffer: [step][16 columns] (the forward
 *      transposes W in 8 x 8 blocks; dX's and dW's rows are fetched ahead).
 * Micro-kernel: 6 rows x 16 columns, 12 ymm accumulators; per step, 2
 * vector loads of the panel and 6 broadcasts of A feed 12 FMAs.  A panel of
 * at most 8 columns uses one vector.  The pool's threads share whole panels
 * (or, with fewer than 8, bands of a panel's row blocks), so each panel is
 * packed once and kept while its row blocks pass; each output is computed
 * whole by one tile: results do not depend on the thread count.
 * bench_bf16 on AMD Zen 3, 1 thread: 70-84% of the FMA peak on the wide
 * layers of W2, W3 and the best config, 0.86-1.22x the fp32 avx2 kernels
 * (dW ahead, dX behind); 18-35% on the 10-output layers (0.3-0.85x), where
 * packing both operands costs as much as the few sums.
 * If a buffer cannot be allocated, the product falls back to the same sums
 * computed one by one (bf16.c), with the same bits.
 */
#if defined(__x86_64__)

#include <immintrin.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/avx2_act.h"
#include "kernels/avx2_pack.h"
#include "kernels/bf16.h"
#include "kernels/buffer.h"
#include "math/activation.h"
#include "pool/pool.h"

extern const nn_kernels nn_kernels_avx2;

enum { MR = 6, NR = 16 };

/* rows of a panel's source fetched ahead while it is packed */
#define PREFETCH_ROWS 12

/* MXCSR: flush-to-zero (bit 15) and denormals-are-zero (bit 6) */
#define CSR_FTZ_DAZ 0x8040u

typedef enum { K_FWD, K_DX, K_DW, K_SGD } kind;

typedef struct {
    kind kind;
    float *C;
    int rows, cols, K, KQ; /* C is rows x cols, row stride cols; KQ: K rounded up to even */
    /* fp32 operands: A(r, k) = As[r*asr + k*ask]; B's source Bs, with row
     * stride ldb: B(k, c) = Bs[c*ldb + k] (forward) or Bs[k*ldb + c] */
    const float *As, *Bs;
    size_t asr, ask;
    int ldb;
    /* packed A: unit u (row blocks 2u, 2u + 1) at Ap + u*unit_floats,
     * block b of it at + b*KQ*MR, step q of row r at + q*MR + r */
    float *Ap;
    size_t unit_floats;
    const float *bias;
    nn_act act;
    float lr, wd;
    int rb, cb; /* row blocks of MR, column panels of NR */
    int bands;  /* a panel's row blocks cut into this many parts (sharing the work) */
    long parts, part_chunks;
    /* A's units: 0 not packed, 1 being packed, 2 in Ap */
    atomic_uchar *ready;
    unsigned long id; /* this call's number: a thread's packed panel is reused within it */
} job;

static _Thread_local buffer a_buffer;     /* the calling thread's packed A */
static _Thread_local buffer ready_buffer; /* and its units' states */
static _Thread_local buffer a_private;    /* a thread's own copy of a unit of A */
static _Thread_local buffer panel_buffer; /* each thread's packed B panel */
/* which panel panel_buffer holds: of the call numbered panel_id, panel_cb */
static _Thread_local unsigned long panel_id;
static _Thread_local int panel_cb;
static atomic_ulong calls;

/* ---- rounding and packing -------------------------------------------------- */

/* nn_bf16_from_float on 8 lanes, the result as floats: nearest even on the
 * low 16 bits (a carry into the exponent is right, up to infinity), a NaN
 * quieted with the top of its payload kept, a denormal or zero to a zero of
 * its sign. */
static inline __m256 round_bf16(__m256 x)
{
    const __m256i high = _mm256_set1_epi32((int)0xffff0000u);
    __m256i u = _mm256_castps_si256(x);
    __m256i mag = _mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff));
    __m256i nan = _mm256_cmpgt_epi32(mag, _mm256_set1_epi32(0x7f800000));
    __m256i tiny = _mm256_cmpeq_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7f800000)),
                                      _mm256_setzero_si256());
    __m256i odd = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    __m256i r = _mm256_add_epi32(u, _mm256_add_epi32(odd, _mm256_set1_epi32(0x7fff)));
    r = _mm256_and_si256(r, high);
    __m256i quiet = _mm256_and_si256(_mm256_or_si256(u, _mm256_set1_epi32(0x00400000)), high);
    r = _mm256_blendv_epi8(r, quiet, nan);
    r = _mm256_blendv_epi8(r, _mm256_and_si256(u, _mm256_set1_epi32((int)0x80000000u)), tiny);
    return _mm256_castsi256_ps(r);
}

/* The n (0..8) floats at p, zeros above; plain load when n is 8. */
static inline __m256 load_upto(const float *p, int n)
{
    return n >= 8 ? _mm256_loadu_ps(p) : n <= 0 ? _mm256_setzero_ps()
                                                : _mm256_maskload_ps(p, lane_mask(n));
}

/* Steps k0..k0+7 (those below KQ) of up to 8 rows S[i*ld + k], i < nr (the
 * others zero), rounded: dst[q*ldd + i] for each step q.  Rows of 8 are
 * stored whole, in ascending q, each overwriting the 8 - ldd floats the
 * previous one wrote past its own (the last writes ldd - 8 floats past step
 * KQ - 1 when ldd < 8: the caller leaves room). */
static void pack_steps_transposed(float *dst, size_t ldd, const float *S, size_t ld, int nr,
                                  int K, int KQ, int k0)
{
    int kn = K - k0 < 8 ? K - k0 : 8;
    __m256 r[8];
    for (int i = 0; i < 8; i++)
        r[i] = i < nr ? round_bf16(load_upto(S + (size_t)i * ld + k0, kn)) : _mm256_setzero_ps();
    transpose_8(r); /* r[k] lane i: row i, k0 + k */
    int qn = KQ - k0 < 8 ? KQ - k0 : 8;
    for (int q = 0; q < qn; q++)
        _mm256_storeu_ps(dst + (size_t)(k0 + q) * ldd, r[q ^ 1]);
}

/* A's unit u, row blocks 2u and 2u + 1 (if < rb), into dst.  Forward and
 * dX: A(r, k) = As[r*asr + k], 8 x 8 blocks transposed; dW: A(r, k) =
 * dZ[k*ask + r], 6 floats of a row of dZ a step.  Rows past the end are
 * zeros. */
static void pack_a_unit(const job *j, int u, float *dst)
{
    for (int b = 0; b < 2 && 2 * u + b < j->rb; b++) {
        int r0 = (2 * u + b) * MR, nr = j->rows - r0 < MR ? j->rows - r0 : MR;
        float *d = dst + (size_t)b * j->KQ * MR;
        if (j->kind == K_DW || j->kind == K_SGD) {
            __m256i m = lane_mask(nr);
            for (int q = 0; q < j->KQ; q++) {
                int k = q ^ 1;
                __m256 v = k < j->K ? _mm256_maskload_ps(j->As + (size_t)k * j->ask + r0, m)
                                    : _mm256_setzero_ps();
                _mm256_storeu_ps(d + (size_t)q * MR, round_bf16(v));
            }
        } else {
            for (int k0 = 0; k0 < j->KQ; k0 += 8)
                pack_steps_transposed(d, MR, j->As + (size_t)r0 * j->asr, j->asr, nr, j->K,
                                      j->KQ, k0);
        }
    }
}

/* Unit u of A, packed: the shared copy, packed now by this thread if no
 * other has begun it; if another is packing it, this thread packs a copy of
 * its own rather than wait (a thread the system has descheduled must hold
 * nobody up).  The bits are the same either way.  NULL: no memory. */
static const float *a_unit(const job *j, int u)
{
    float *shared = j->Ap + (size_t)u * j->unit_floats;
    unsigned char st = atomic_load_explicit(&j->ready[u], memory_order_acquire);
    if (st == 2)
        return shared;
    unsigned char expect = 0;
    if (st == 0 && atomic_compare_exchange_strong_explicit(&j->ready[u], &expect, 1,
                                                           memory_order_acq_rel,
                                                           memory_order_acquire)) {
        pack_a_unit(j, u, shared);
        atomic_store_explicit(&j->ready[u], 2, memory_order_release);
        return shared;
    }
    if (expect == 2)
        return shared;
    float *mine = buffer_get(&a_private, j->unit_floats * sizeof(float) + 64);
    if (mine)
        pack_a_unit(j, u, mine);
    return mine;
}

/* Panel columns c0..c0+nc-1 into dst ([step][width], width 8 or 16, zeros
 * past nc and past K; dst 32-byte aligned). */
static void pack_panel(const job *j, float *dst, int c0, int nc, int width)
{
    if (j->kind == K_FWD) { /* B(k, c) = W[c*ldb + k]: 8 x 8 blocks transposed */
        for (int v = 0; v < width; v += 8)
            for (int k0 = 0; k0 < j->KQ; k0 += 8)
                pack_steps_transposed(dst + v, (size_t)width, j->Bs + (size_t)(c0 + v) * j->ldb,
                                      (size_t)j->ldb, nc - v, j->K, j->KQ, k0);
        return;
    }
    for (int q = 0; q < j->KQ; q++) { /* B(k, c) = M[k*ldb + c]: rows */
        int k = q ^ 1;
        const float *src = j->Bs + (size_t)k * j->ldb + c0;
        /* rows a row of W (dX) apart: fetched ahead, or each load waits on
         * the third-level cache (these loads were 6% of a bf16 epoch of
         * the best config) */
        if (k + PREFETCH_ROWS < j->K) {
            const char *ahead = (const char *)(src + (size_t)PREFETCH_ROWS * j->ldb);
            _mm_prefetch(ahead, _MM_HINT_T0);
            _mm_prefetch(ahead + 4 * (width - 1), _MM_HINT_T0);
        }
        for (int v = 0; v < width; v += 8) {
            __m256 x = k < j->K ? load_upto(src + v, nc - v) : _mm256_setzero_ps();
            _mm256_store_ps(dst + (size_t)q * width + v, round_bf16(x));
        }
    }
}

/* ---- the micro-kernel ------------------------------------------------------------ */

/* acc <- round(acc + a b), a's NaN first, then b's, then acc's (see the top). */
#define FMA_STEP(acc, a, b) __asm__("vfmadd231ps %2, %1, %0" : "+x"(acc) : "x"(a), "x"(b))

/* MXCSR <- csr, ordered after everything that wrote the accumulators so far
 * and before everything that reads them next (they pass through the asm).
 * The accumulators are 12 named variables: an array passed to asm stays in
 * memory, and each step would load and store it. */
#define CSR_SET(csr)                                                                   \
    __asm__ __volatile__("ldmxcsr %12"                                                 \
                         : "+x"(c00), "+x"(c01), "+x"(c10), "+x"(c11), "+x"(c20),      \
                           "+x"(c21), "+x"(c30), "+x"(c31), "+x"(c40), "+x"(c41),      \
                           "+x"(c50), "+x"(c51)                                        \
                         : "m"(csr))

/* Rows r0..r0+mr-1 (mr <= MR), columns c0..c0+nc-1 (nc <= 8 NV) of C from
 * the packed A block and the panel Bp ([step][8 NV]).  Inlined with
 * constant NV so the accumulators live in registers; rows past mr are A's
 * zero padding (computed, not stored). */
static inline __attribute__((always_inline)) void
tile(const job *j, const float *A, const float *Bp, int r0, int mr, int c0, int nc, const int NV)
{
    __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_ps();
    unsigned saved = _mm_getcsr(), ftz = saved | CSR_FTZ_DAZ;
    CSR_SET(ftz);
    const float *a = A, *b = Bp;
    /* one row of a step: A(r, q) broadcast, times the panel's NV vectors */
#define ROW(r, x0, x1)                                                                 \
    do {                                                                               \
        __m256 av = _mm256_broadcast_ss(a + (r));                                      \
        FMA_STEP(x0, av, b0);                                                          \
        if (NV == 2)                                                                   \
            FMA_STEP(x1, av, b1);                                                      \
    } while (0)
#pragma GCC unroll 2
    for (int q = 0; q < j->KQ; q++, a += MR, b += 8 * NV) {
        __m256 b0 = _mm256_load_ps(b), b1 = NV == 2 ? _mm256_load_ps(b + 8) : b0;
        ROW(0, c00, c01);
        ROW(1, c10, c11);
        ROW(2, c20, c21);
        ROW(3, c30, c31);
        ROW(4, c40, c41);
        ROW(5, c50, c51);
    }
#undef ROW
    CSR_SET(saved);

    const __m256 acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21},
                               {c30, c31}, {c40, c41}, {c50, c51}};
    for (int r = 0; r < mr; r++) {
        float *c = j->C + (size_t)(r0 + r) * j->cols + c0;
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) {
            int n = nc - 8 * v;
            if (n <= 0)
                break;
            __m256 z = acc[r][v];
            float *cv = c + 8 * v;
            switch (j->kind) {
            case K_FWD:
                z = _mm256_add_ps(z, load_upto(j->bias + c0 + 8 * v, n));
                z = act_forward_ps(z, j->act);
                break;
            case K_DX:
                break;
            case K_DW:
                z = _mm256_add_ps(load_upto(cv, n), z);
                break;
            case K_SGD: {
                __m256 w = load_upto(cv, n);
                __m256 g = _mm256_add_ps(z, _mm256_mul_ps(_mm256_set1_ps(j->wd), w));
                z = _mm256_sub_ps(w, _mm256_mul_ps(_mm256_set1_ps(j->lr), g));
                break;
            }
            }
            if (n >= 8) /* plain: a masked store is microcoded on AMD */
                _mm256_storeu_ps(cv, z);
            else
                _mm256_maskstore_ps(cv, lane_mask(n), z);
        }
    }
}

static void tile_1(const job *j, const float *A, const float *Bp, int r0, int mr, int c0, int nc)
{
    tile(j, A, Bp, r0, mr, c0, nc, 1);
}

static void tile_2(const job *j, const float *A, const float *Bp, int r0, int mr, int c0, int nc)
{
    tile(j, A, Bp, r0, mr, c0, nc, 2);
}

/* The same tile one output at a time by the reference's sums (when a
 * buffer could not be had). */
static void tile_scalar(const job *j, int r0, int mr, int c0, int nc)
{
    for (int r = r0; r < r0 + mr; r++)
        for (int c = c0; c < c0 + nc; c++) {
            const float *a = j->As + (size_t)r * j->asr;
            float s = j->kind == K_FWD
                          ? nn_bf16_dot(a, j->ask, j->Bs + (size_t)c * j->ldb, 1, j->K)
                          : nn_bf16_dot(a, j->ask, j->Bs + c, (size_t)j->ldb, j->K);
            float *o = j->C + (size_t)r * j->cols + c;
            switch (j->kind) {
            case K_FWD:
                *o = nn_act_forward(j->act, s + j->bias[c]);
                break;
            case K_DX:
                *o = s;
                break;
            case K_DW:
                *o += s;
                break;
            case K_SGD:
                *o -= j->lr * (s + j->wd * *o);
                break;
            }
        }
}

/* ---- sharing the work -------------------------------------------------------------- */

/* The pool's unit of work is a part: a panel's tiles, all of them, or with
 * few panels one of `bands` runs of its row blocks; parts are numbered panel
 * first, and a chunk is a run of consecutive parts.  So a panel is packed
 * once (chunks of tiles that cut panels in two had both threads pack most
 * panels, and packing took 17% of a bf16 epoch of the best config). */
static void compute_part(void *ctx, long chunk)
{
    const job *j = ctx;
    long lo, hi;
    nn_pool_chunk(j->parts, j->part_chunks, chunk, &lo, &hi);
    /* the panel this thread packed last, if of this call (a band of it) */
    float *panel = panel_id == j->id ? panel_buffer.p : NULL;
    int have = panel_id == j->id ? panel_cb : -1;
    for (long part = lo; part < hi; part++) {
        int cbi = (int)(part / j->bands), band = (int)(part % j->bands);
        int c0 = cbi * NR, nc = j->cols - c0 < NR ? j->cols - c0 : NR;
        int nv = nc > 8 ? 2 : 1;
        if (cbi != have) {
            panel = buffer_get(&panel_buffer, (size_t)j->KQ * 8 * nv * sizeof(float) + 64);
            if (panel)
                pack_panel(j, panel, c0, nc, 8 * nv);
            have = cbi;
            panel_id = panel ? j->id : 0;
            panel_cb = cbi;
        }
        int rlo = (int)((long)band * j->rb / j->bands);
        int rhi = (int)((long)(band + 1) * j->rb / j->bands);
        for (int rbi = rlo; rbi < rhi; rbi++) {
            int r0 = rbi * MR, mr = j->rows - r0 < MR ? j->rows - r0 : MR;
            const float *A = panel ? a_unit(j, rbi / 2) : NULL;
            if (A)
                A += (size_t)(rbi % 2) * j->KQ * MR;
            if (!panel || !A)
                tile_scalar(j, r0, mr, c0, nc);
            else if (nv == 2)
                tile_2(j, A, panel, r0, mr, c0, nc);
            else
                tile_1(j, A, panel, r0, mr, c0, nc);
        }
    }
}

/* Runs the product; returns -1 (nothing written) when A's buffer cannot be
 * had. */
static int run(job *j)
{
    if (j->rows <= 0 || j->cols <= 0)
        return 0;
    j->id = atomic_fetch_add(&calls, 1) + 1;
    j->KQ = j->K + (j->K & 1);
    j->rb = (j->rows + MR - 1) / MR;
    j->cb = (j->cols + NR - 1) / NR;
    /* a unit's two blocks, and the 2 floats its last step's whole-vector
     * store writes past them (pack_steps_transposed), rounded to 64 bytes */
    j->unit_floats = ((size_t)2 * j->KQ * MR + 2 + 15) / 16 * 16;
    int units = (j->rb + 1) / 2;
    j->Ap = buffer_get(&a_buffer, (size_t)units * j->unit_floats * sizeof(float) + 64);
    j->ready = buffer_get(&ready_buffer, (size_t)units + 64);
    if (!j->Ap || !j->ready)
        return -1;
    for (int u = 0; u < units; u++)
        atomic_init(&j->ready[u], 0);
    /* parts: whole panels when there are 8 or more, else each panel cut into
     * up to 8 / cb bands of row blocks, so that a narrow product still gives
     * every thread work */
    j->bands = j->cb >= 8 ? 1 : (8 + j->cb - 1) / j->cb;
    if (j->bands > j->rb)
        j->bands = j->rb;
    j->parts = (long)j->cb * j->bands;
    j->part_chunks = j->parts < NN_POOL_MAX_CHUNKS ? j->parts : NN_POOL_MAX_CHUNKS;
    nn_pool_run(compute_part, j, j->part_chunks,
                nn_pool_threads_for(2.0 * j->rows * j->cols * j->K));
    return 0;
}

/* ---- the table ------------------------------------------------------------------- */

static void bf16_forward(float *Y, const float *X, const float *W, const float *b, int B, int in,
                         int out, nn_act act)
{
    job j = {.kind = K_FWD, .C = Y, .rows = B, .cols = out, .K = in, .As = X, .asr = (size_t)in,
             .ask = 1, .Bs = W, .ldb = in, .bias = b, .act = act};
    if (run(&j) < 0)
        nn_kernels_bf16_ref.dense_forward(Y, X, W, b, B, in, out, act);
}

static void bf16_act_backward(float *dY, float *db, const float *Y, int B, int out, nn_act act)
{
    /* fp32, the same sums as the reference's */
    nn_kernels_avx2.act_backward(dY, db, Y, B, out, act);
}

static void bf16_backward_input(float *dX, const float *dZ, const float *W, int B, int in,
                                int out)
{
    job j = {.kind = K_DX, .C = dX, .rows = B, .cols = in, .K = out, .As = dZ,
             .asr = (size_t)out, .ask = 1, .Bs = W, .ldb = in};
    if (run(&j) < 0)
        nn_kernels_bf16_ref.dense_backward_input(dX, dZ, W, B, in, out);
}

static void bf16_backward_weights(float *dW, const float *dZ, const float *X, int B, int in,
                                  int out)
{
    job j = {.kind = K_DW, .C = dW, .rows = out, .cols = in, .K = B, .As = dZ, .asr = 1,
             .ask = (size_t)out, .Bs = X, .ldb = in};
    if (run(&j) < 0)
        nn_kernels_bf16_ref.dense_backward_weights(dW, dZ, X, B, in, out);
}

static void bf16_sgd_weights(float *W, const float *dZ, const float *X, int B, int in, int out,
                             float lr, float wd)
{
    job j = {.kind = K_SGD, .C = W, .rows = out, .cols = in, .K = B, .As = dZ, .asr = 1,
             .ask = (size_t)out, .Bs = X, .ldb = in, .lr = lr, .wd = wd};
    if (run(&j) < 0)
        nn_kernels_bf16_ref.dense_sgd_weights(W, dZ, X, B, in, out, lr, wd);
}

const nn_kernels nn_kernels_avx2bf16 = {
    .name = "avx2bf16",
    .dense_forward = bf16_forward,
    .act_backward = bf16_act_backward,
    .dense_backward_input = bf16_backward_input,
    .dense_backward_weights = bf16_backward_weights,
    .dense_sgd_weights = bf16_sgd_weights,
};

#endif
