/* avx512bf16.c - the bf16 dense kernels with AVX512-BF16 (vdpbf16ps); the
 * only file built with -mavx512bf16.  The selection (cpu.c) uses this table
 * only where nn_cpu_has_avx512bf16().  Bit-identical to the scalar
 * reference (bf16.c): every output is one fp32 accumulator from +0 over the
 * pairs of k in ascending order, one vdpbf16ps a pair (odd element first,
 * as the instruction does), an odd K padded with a zero pair partner.
 *
 * Every product is C (rows x cols) = sum over K of A(r, k) B(k, c):
 *   forward  C = Y (B x out), A = X, B(k, c) = W[c, k]     then act(C + b)
 *   dX       C = dX (B x in), A = dZ, B(k, c) = W[k, c]
 *   dW       C = dW (out x in), A(r, k) = dZ[k, r], B(k, c) = X[k, c]   C += sum
 *   SGD      as dW, C = W <- W - lr (sum + wd W)
 * Both operands are rounded to bf16 by vcvtne2ps2bf16 and packed with the
 * two k of a pair side by side in one dword (the even k in the low half),
 * the layout vdpbf16ps multiplies:
 *   A  packed once per call into a buffer shared by the threads, in
 *      blocks of 8 rows: [row block][pair][8 rows] dwords, so a tile reads
 *      its A as one sequential stream (rows of X or dZ are transposed in
 *      16 x 16 dword blocks; dW's A = dZ^T takes two rows of dZ a pair),
 *      two row blocks at a time by the first tile that needs them (a_unit),
 *      in the same run of the pool as the products;
 *   B  packed a panel of 48 columns at a time by the thread that needs it,
 *      into that thread's own buffer: [pair][48 columns] dwords, read
 *      sequentially by the micro-kernel (the forward transposes W in 16 x 16
 *      dword blocks; the backward interleaves two rows with one vpermw).
 * Micro-kernel: 8 rows x 48 columns, 24 zmm accumulators; per pair, 3
 * vector loads of the panel and 8 broadcasts of A dwords feed 24
 * vdpbf16ps (in L1, a loop of it alone runs at 92% of the vdpbf16ps peak
 * on Zen 4; the products reach 70-80% with their packing).  Narrower
 * panels use 1 or 2 vectors; a narrow forward (out <= 16) is computed
 * transposed (forward_narrow).  The epilogues (bias + activation, dW +=, the SGD rule) run on
 * whole vectors (avx512_act.h) with masked stores at the right edge.
 * Tiles are numbered panel first (tile = panel * row_blocks + row block)
 * and shared among the pool's threads in runs of consecutive tiles, so a
 * thread packs a panel once and keeps it in L2 while the row blocks pass;
 * each output is computed whole by one thread: results do not depend on the
 * thread count.  If a buffer cannot be allocated, the product falls back to
 * the same sums computed one by one (bf16.c), with the same bits.
 */
#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "kernels/avx512_act.h"
#include "kernels/bf16.h"
#include "kernels/bf16_pack.h"
#include "math/activation.h"
#include "pool/pool.h"

extern const nn_kernels nn_kernels_avx512;

enum { MR = 8, NR = 48 };

/* K_FWDT: the forward's packing with plain stores (the transposed forward
 * of a narrow layer, below) */
typedef enum { K_FWD, K_FWDT, K_DX, K_DW, K_SGD } kind;

typedef struct {
    kind kind;
    float *C;
    int rows, cols, K, KP; /* C is rows x cols, row stride cols; KP = (K + 1) / 2 */
    /* fp32 operands: A(r, k) = As[r*asr + k*ask]; B's source Bs, with row
     * stride ldb: B(k, c) = Bs[c*ldb + k] (forward) or Bs[k*ldb + c] */
    const float *As, *Bs;
    size_t asr, ask;
    int ldb;
    /* packed A: A(r, p) pair at Ap[((r / MR) KP + p) MR + r % MR] */
    uint32_t *Ap;
    const float *bias;
    nn_act act;
    float lr, wd;
    int rb, cb; /* row blocks of MR, column panels (panel_of) */
    long tile_chunks;
    /* A's units (two row blocks each): 0 not packed, 1 being packed, 2 in Ap */
    atomic_uchar *ready;
    unsigned long id; /* this call's number: a thread's packed panel is reused within it */
} job;

/* ---- buffers (buffer_get: bf16_pack.h) ---------------------------------------- */

static _Thread_local buffer a_buffer;     /* the calling thread's packed A */
static _Thread_local buffer ready_buffer; /* and its units' states */
static _Thread_local buffer a_private;    /* a thread's own copy of a unit of A */
static _Thread_local buffer panel_buffer; /* each thread's packed B panel */
/* which panel panel_buffer holds: of the call numbered panel_id, panel_cb */
static _Thread_local unsigned long panel_id;
static _Thread_local int panel_cb;
static atomic_ulong calls;

/* ---- conversion and packing ------------------------------------------------- */

/* Pairs of rows: dst[p*ld + c] = (M[2p, c0 + c], M[2p + 1, c0 + c]) for
 * pairs p0..p1-1, c < width (a multiple of 16; zeros past nc columns and
 * past row K - 1).  M has row stride ldm. */
static void pack_pair_rows(uint32_t *dst, size_t ld, const float *M, int ldm, int K, int c0,
                           int nc, int width, int p0, int p1)
{
    for (int p = p0; p < p1; p++) {
        const float *m0 = M + (size_t)(2 * p) * ldm + c0;
        const float *m1 = 2 * p + 1 < K ? m0 + ldm : NULL;
        uint32_t *d = dst + (size_t)p * ld;
        for (int c = 0; c < width; c += 16)
            _mm512_store_si512(d + c, bf16_row_pair(m0, m1, (size_t)c, nc - c));
    }
}

/* The forward's panel: dst[p*width + c] = (W[c0 + c, 2p], W[c0 + c, 2p + 1])
 * for p < KP, c < width (zeros past nc and past K); W has row stride K. */
static void pack_transposed(uint32_t *dst, const float *W, int K, int KP, int c0, int nc,
                            int width)
{
    for (int v = 0; v < width; v += 16)
        for (int p0 = 0; p0 < KP; p0 += 16) {
            __m512i r[16];
            bf16_pairs_transposed(r, W, (size_t)K, c0 + v, c0 + nc, K, p0);
            int np = KP - p0 < 16 ? KP - p0 : 16;
            for (int s = 0; s < np; s++)
                _mm512_store_si512(dst + (size_t)(p0 + s) * width + v, r[s]);
        }
}

/* A's unit u, row blocks 2u and 2u + 1 (if < nrb), into dst ([block][pair]
 * [8 rows], the unit's part of the shared layout).  Forward and dX:
 * A(r, p) = (S[r, 2p], S[r, 2p + 1]), S with `rows` rows of K, 16 rows
 * transposed at a time; dW: A(r, p) = (dZ[2p, r], dZ[2p + 1, r]), dZ with
 * K rows of `rows`, two rows of dZ interleaved.  Rows past the end are
 * zeros. */
static void pack_a_unit(const job *j, int u, uint32_t *dst)
{
    const int KP = j->KP, K = j->K, rows = j->rows, r0 = 16 * u;
    const int two = 2 * u + 1 < j->rb; /* the unit has its second block */
    uint32_t *d1 = dst + (size_t)KP * MR;
    if (j->kind == K_DW || j->kind == K_SGD) {
        for (int p = 0; p < KP; p++) {
            const float *m0 = j->As + (size_t)(2 * p) * rows;
            const float *m1 = 2 * p + 1 < K ? m0 + rows : NULL;
            __m512i v = bf16_row_pair(m0, m1, (size_t)r0, rows - r0);
            _mm256_store_si256((__m256i *)(dst + (size_t)p * MR), _mm512_castsi512_si256(v));
            if (two)
                _mm256_store_si256((__m256i *)(d1 + (size_t)p * MR),
                                   _mm512_extracti64x4_epi64(v, 1));
        }
        return;
    }
    for (int p0 = 0; p0 < KP; p0 += 16) {
        __m512i r[16];
        bf16_pairs_transposed(r, j->As, (size_t)K, r0, rows, K, p0);
        int np = KP - p0 < 16 ? KP - p0 : 16;
        for (int q = 0; q < np; q++) {
            _mm256_store_si256((__m256i *)(dst + (size_t)(p0 + q) * MR),
                               _mm512_castsi512_si256(r[q]));
            if (two)
                _mm256_store_si256((__m256i *)(d1 + (size_t)(p0 + q) * MR),
                                   _mm512_extracti64x4_epi64(r[q], 1));
        }
    }
}

/* Unit u of A, packed: the shared copy, packed now by this thread if no
 * other has begun it; if another is packing it, this thread packs a copy of
 * its own rather than wait (a thread the system has descheduled must hold
 * nobody up).  The bits are the same either way.  NULL: no memory. */
static const uint32_t *a_unit(const job *j, int u)
{
    uint32_t *shared = j->Ap + (size_t)u * 2 * j->KP * MR;
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
    uint32_t *mine = buffer_get(&a_private, (size_t)2 * j->KP * MR * sizeof(uint32_t) + 64);
    if (mine)
        pack_a_unit(j, u, mine);
    return mine;
}

static void pack_panel(const job *j, uint32_t *dst, int c0, int nc, int width)
{
    if (j->kind == K_FWD || j->kind == K_FWDT)
        pack_transposed(dst, j->Bs, j->K, j->KP, c0, nc, width);
    else
        pack_pair_rows(dst, (size_t)width, j->Bs, j->ldb, j->K, c0, nc, width, 0, j->KP);
}

/* ---- the micro-kernel ------------------------------------------------------------ */

/* Rows r0..r0+mr-1 (mr <= MR), columns c0..c0+nc-1 (nc <= 16 NV) of C from
 * the packed A and the panel Bp ([pair][16 NV]).  Inlined with constant
 * NV so the 8 x NV accumulators live in registers; rows past mr are A's
 * zero padding (computed, not stored). */
static inline __attribute__((always_inline)) void
tile(const job *j, const uint32_t *Ablk, const uint32_t *Bp, int r0, int mr, int c0, int nc,
     const int NV)
{
    __m512 acc[MR][3];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 3
        for (int v = 0; v < NV; v++)
            acc[r][v] = _mm512_setzero_ps();
    const uint32_t *a = Ablk;
    const __m512i *b = (const __m512i *)Bp;
    /* dW and SGD read the tile's rows of C in the epilogue: fetched while the
     * sums run (4-13% on W2's and W3's dW; no gain for the stores of the
     * forward and dX) */
    if (j->kind == K_DW || j->kind == K_SGD)
        for (int r = 0; r < mr; r++)
            for (int v = 0; v < NV; v++)
                _mm_prefetch((const char *)(j->C + (size_t)(r0 + r) * j->cols + c0 + 16 * v),
                             _MM_HINT_T0);
    /* One pair: NV vectors of the panel, 8 broadcast dwords of A. */
#define PAIR_STEP(q)                                                                \
    do {                                                                            \
        __m512bh bv[3];                                                             \
        _Pragma("GCC unroll 3") for (int v = 0; v < NV; v++)                        \
            bv[v] = (__m512bh)_mm512_load_si512(b + (q) * NV + v);                  \
        _Pragma("GCC unroll 8") for (int r = 0; r < MR; r++) {                      \
            __m512bh av = (__m512bh)_mm512_set1_epi32((int)a[(q) * MR + r]);        \
            _Pragma("GCC unroll 3") for (int v = 0; v < NV; v++)                    \
                acc[r][v] = _mm512_dpbf16_ps(acc[r][v], av, bv[v]);                 \
        }                                                                           \
    } while (0)
    int p = 0;
    for (; p + 2 <= j->KP; p += 2, a += 2 * MR, b += 2 * NV) {
        PAIR_STEP(0);
        PAIR_STEP(1);
    }
    if (p < j->KP)
        PAIR_STEP(0);
#undef PAIR_STEP

    __mmask16 m[3];
    for (int v = 0; v < NV; v++)
        m[v] = first_n(nc - 16 * v);
    for (int r = 0; r < mr; r++) {
        float *c = j->C + (size_t)(r0 + r) * j->cols + c0;
#pragma GCC unroll 3
        for (int v = 0; v < NV; v++) {
            __m512 z = acc[r][v];
            float *cv = c + 16 * v;
            switch (j->kind) {
            case K_FWD:
                z = _mm512_add_ps(z, _mm512_maskz_loadu_ps(m[v], j->bias + c0 + 16 * v));
                z = act_forward_ps(z, j->act);
                break;
            case K_FWDT:
            case K_DX:
                break;
            case K_DW:
                z = _mm512_add_ps(_mm512_maskz_loadu_ps(m[v], cv), z);
                break;
            case K_SGD: {
                __m512 w = _mm512_maskz_loadu_ps(m[v], cv);
                __m512 g = _mm512_add_ps(z, _mm512_mul_ps(_mm512_set1_ps(j->wd), w));
                z = _mm512_sub_ps(w, _mm512_mul_ps(_mm512_set1_ps(j->lr), g));
                break;
            }
            }
            _mm512_mask_storeu_ps(cv, m[v], z);
        }
    }
}

static void tile_1(const job *j, const uint32_t *A, const uint32_t *Bp, int r0, int mr, int c0,
                   int nc)
{
    tile(j, A, Bp, r0, mr, c0, nc, 1);
}

static void tile_2(const job *j, const uint32_t *A, const uint32_t *Bp, int r0, int mr, int c0,
                   int nc)
{
    tile(j, A, Bp, r0, mr, c0, nc, 2);
}

static void tile_3(const job *j, const uint32_t *A, const uint32_t *Bp, int r0, int mr, int c0,
                   int nc)
{
    tile(j, A, Bp, r0, mr, c0, nc, 3);
}

/* The same tile one output at a time by the reference's sums (when no
 * panel buffer could be had). */
static void tile_scalar(const job *j, int r0, int mr, int c0, int nc)
{
    for (int r = r0; r < r0 + mr; r++)
        for (int c = c0; c < c0 + nc; c++) {
            const float *a = j->As + (size_t)r * j->asr;
            float s = j->kind == K_FWD || j->kind == K_FWDT
                          ? nn_bf16_dot(a, j->ask, j->Bs + (size_t)c * j->ldb, 1, j->K)
                          : nn_bf16_dot(a, j->ask, j->Bs + c, (size_t)j->ldb, j->K);
            float *o = j->C + (size_t)r * j->cols + c;
            switch (j->kind) {
            case K_FWD:
                *o = nn_act_forward(j->act, s + j->bias[c]);
                break;
            case K_FWDT:
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

/* Panels are NR columns wide, the last one narrower; where that would be
 * 16 columns (784, 1024 and 256 = 48 n + 16), the last 64 columns are two
 * panels of 32 instead: a 16-column tile feeds one vdpbf16ps per broadcast,
 * a 32-column one two. */
static int panels(int cols)
{
    return cols % NR == 16 && cols > NR ? cols / NR + 1 : (cols + NR - 1) / NR;
}

static void panel_of(int cols, int cbi, int *c0, int *nc)
{
    int split = cols % NR == 16 && cols > NR; /* the last two are 32 wide */
    int n = panels(cols);
    if (split && cbi >= n - 2) {
        *c0 = (n - 2) * NR + (cbi - (n - 2)) * 32;
        *nc = 32;
        return;
    }
    *c0 = cbi * NR;
    *nc = cols - *c0 < NR ? cols - *c0 : NR;
}

static long tiles_of(const job *j)
{
    return (long)j->rb * j->cb;
}

static long chunks_of(long n)
{
    return n < NN_POOL_MAX_CHUNKS ? n : NN_POOL_MAX_CHUNKS;
}

static void compute_part(void *ctx, long chunk)
{
    const job *j = ctx;
    long lo, hi;
    nn_pool_chunk(tiles_of(j), j->tile_chunks, chunk, &lo, &hi);
    /* the panel this thread packed last, if of this call: a thread's chunks
     * are mostly consecutive, so each panel is packed about once a thread */
    uint32_t *panel = panel_id == j->id ? panel_buffer.p : NULL;
    int have = panel_id == j->id ? panel_cb : -1;
    for (long n = lo; n < hi; n++) {
        int cbi = (int)(n / j->rb), rbi = (int)(n % j->rb);
        int c0, nc;
        panel_of(j->cols, cbi, &c0, &nc);
        int r0 = rbi * MR, mr = j->rows - r0 < MR ? j->rows - r0 : MR;
        int nv = (nc + 15) / 16;
        if (cbi != have) {
            panel = buffer_get(&panel_buffer, (size_t)j->KP * 16 * nv * sizeof(uint32_t) + 64);
            if (panel)
                pack_panel(j, panel, c0, nc, 16 * nv);
            have = cbi;
            panel_id = panel ? j->id : 0;
            panel_cb = cbi;
        }
        const uint32_t *A = panel ? a_unit(j, rbi / 2) : NULL;
        if (A)
            A += (size_t)(rbi % 2) * j->KP * MR;
        if (!panel || !A)
            tile_scalar(j, r0, mr, c0, nc);
        else if (nv == 3)
            tile_3(j, A, panel, r0, mr, c0, nc);
        else if (nv == 2)
            tile_2(j, A, panel, r0, mr, c0, nc);
        else
            tile_1(j, A, panel, r0, mr, c0, nc);
    }
}

/* Runs the product; returns -1 (nothing written) when A's buffer cannot be
 * had. */
static int run(job *j)
{
    if (j->rows <= 0 || j->cols <= 0)
        return 0;
    j->id = atomic_fetch_add(&calls, 1) + 1;
    j->KP = (j->K + 1) / 2;
    j->rb = (j->rows + MR - 1) / MR;
    j->cb = panels(j->cols);
    /* A is packed by the tiles that need it, a unit of two row blocks at a
     * time (a_unit), all in one run of the pool: a separate packing run
     * cost a second round trip through the pool, as much as the product
     * itself on W2's second layer at 2 threads */
    int units = (j->rb + 1) / 2;
    size_t words = (size_t)units * 2 * j->KP * MR;
    j->Ap = buffer_get(&a_buffer, words * sizeof(uint32_t) + 64);
    j->ready = buffer_get(&ready_buffer, (size_t)units + 64);
    if (!j->Ap || !j->ready)
        return -1;
    for (int u = 0; u < units; u++)
        atomic_init(&j->ready[u], 0);
    /* runs of at least 4 tiles: a chunk costs a trip through the pool's
     * shared counter */
    long t = tiles_of(j) / 4;
    j->tile_chunks = chunks_of(t < 1 ? 1 : t);
    double flops = 2.0 * j->rows * j->cols * j->K;
    nn_pool_run(compute_part, j, j->tile_chunks, nn_pool_threads_for(flops));
    return 0;
}

/* ---- the table ------------------------------------------------------------------- */

static _Thread_local buffer t_buffer; /* the calling thread's Z^T of a narrow forward */

/* A narrow layer (out <= 16) would leave most of each 48-column panel empty
 * and make the micro-kernel wait on its broadcasts: it is computed
 * transposed instead, Z^T (out x B) = W X^T with the roles of X and W
 * swapped (the same sums: each product is exact, so a b = b a), into a
 * scratch, then Y = act(Z + b) a row at a time (a gather of the row's out
 * sums).  Returns -1 when the scratch cannot be had. */
static int forward_narrow(float *Y, const float *X, const float *W, const float *b, int B,
                          int in, int out, nn_act act)
{
    float *Zt = buffer_get(&t_buffer, (size_t)out * B * sizeof(float) + 64);
    if (!Zt)
        return -1;
    job j = {.kind = K_FWDT, .C = Zt, .rows = out, .cols = B, .K = in, .As = W,
             .asr = (size_t)in, .ask = 1, .Bs = X, .ldb = in};
    if (run(&j) < 0)
        return -1;
    __mmask16 m = first_n(out);
    __m512i idx = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32(B));
    __m512 bias = _mm512_maskz_loadu_ps(m, b);
    for (int i = 0; i < B; i++) {
        __m512 z = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, Zt + i, 4);
        _mm512_mask_storeu_ps(Y + (size_t)i * out, m, act_forward_ps(_mm512_add_ps(z, bias), act));
    }
    return 0;
}

static void bf16_forward(float *Y, const float *X, const float *W, const float *b, int B, int in,
                         int out, nn_act act)
{
    if (out <= 16 && B >= 32 && forward_narrow(Y, X, W, b, B, in, out, act) == 0)
        return;
    job j = {.kind = K_FWD, .C = Y, .rows = B, .cols = out, .K = in, .As = X, .asr = (size_t)in,
             .ask = 1, .Bs = W, .ldb = in, .bias = b, .act = act};
    if (run(&j) < 0)
        nn_kernels_bf16_ref.dense_forward(Y, X, W, b, B, in, out, act);
}

static void bf16_act_backward(float *dY, float *db, const float *Y, int B, int out, nn_act act)
{
    /* fp32, bit-identical to the reference's */
    nn_kernels_avx512.act_backward(dY, db, Y, B, out, act);
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

const nn_kernels nn_kernels_avx512bf16 = {
    .name = "avx512bf16",
    .dense_forward = bf16_forward,
    .act_backward = bf16_act_backward,
    .dense_backward_input = bf16_backward_input,
    .dense_backward_weights = bf16_backward_weights,
    .dense_sgd_weights = bf16_sgd_weights,
};

#endif
