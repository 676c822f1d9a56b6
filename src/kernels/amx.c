/* amx.c - the bf16 dense kernels on AMX tiles (tdpbf16ps); the only file
 * built with -mamx-tile -mamx-bf16.  x86-64 Linux only: the tile data
 * state must be granted to the process first (nn_amx_request_permission,
 * bf16.h); the selection (cpu.c) does so, and run() below asks again (once)
 * and falls back to the avx512bf16 kernels if it is refused rather than
 * fault.
 *
 * Written on an AMD Zen 4 (no AMX) from Intel's description of LDTILECFG
 * and TDPBF16PS, and checked there through a C emulation of the tile
 * intrinsics; since run on an Intel Xeon with AMX, where tests/test_bf16.c
 * holds it to the reference's accumulation bound on odd sizes, unaligned
 * operands and block edges and to identical bits across thread counts.
 *
 * Each product C (rows x cols) = sum over K of A(r, k) B(k, c) (the roles
 * as in avx512bf16.c) is cut into blocks of 32 x 32 outputs, each four
 * 16 x 16 fp32 tiles (tmm0-3) fed by two A tiles (tmm4-5: 16 rows x 16
 * pairs) and two B tiles (tmm6-7: 16 pairs x 16 columns, the "VNNI" layout:
 * a dword holds the pair (k even in the low half, k odd) of one column).
 * Both operands are rounded by vcvtne2ps2bf16 and packed, zero-padded to
 * whole tiles:
 *   A  rows of pairs (dW's A = dZ^T transposed in 16 x 16 dword blocks),
 *      once per call, into a buffer the pool's threads share
 *   B  pairs of rows (the forward's B = W^T transposed), a block column at
 *      a time into the panel of the thread that computes it
 * each stored tile by tile (see a_at below).
 * All eight tiles are configured 16 rows x 64 bytes.  After the k loop the
 * four C tiles go to a 32 x 32 scratch and the epilogue (bias +
 * activation, dW +=, the SGD rule) runs on it with AVX-512 (avx512_act.h).
 *
 * Rounding: TDPBF16PS accumulates in fp32 with round to nearest even,
 * treats denormal inputs as zero and flushes denormal outputs; the order in
 * which it adds the products of a row of pairs is not specified, so results
 * agree with the reference within the accumulation bound, not bit for bit.
 * Each block is computed whole by one thread in a fixed order: results do
 * not depend on the thread count.
 */
#if defined(__x86_64__) && defined(__linux__)

#include <immintrin.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/avx512_act.h"
#include "kernels/bf16.h"
#include "kernels/bf16_pack.h"
#include "math/activation.h"
#include "pool/pool.h"

extern const nn_kernels nn_kernels_avx512;

enum { TILE = 16, BLOCK = 32 };

typedef enum { K_FWD, K_DX, K_DW, K_SGD } kind;

typedef struct {
    kind kind;
    float *C;
    int rows, cols, K;   /* C is rows x cols (row stride cols), K terms a sum */
    int KP;              /* pairs, (K + 1) / 2 */
    int kpad, rpad, cpad; /* KP, rows and cols rounded up to 16, 32 and 32 */
    const float *As, *Bs; /* fp32 sources (see pack_a / pack_panel) */
    uint32_t *Ap;        /* A(r, p) in tiles, at Ap[a_at(j, r, p)] */
    uint32_t *panels;    /* B's panel slots, one per thread, each panel_u32 */
    size_t panel_u32;    /* 2 kpad 16: the two tile columns of a block column */
    atomic_int *busy;    /* which slots a thread holds */
    int slots;
    const float *bias;
    nn_act act;
    float lr, wd;
    int nrb, ncb;        /* blocks of 32 rows, of 32 columns */
    long a_units, pack_chunks;
} job;

/* The calling thread's packed A, B's panel slots and the slots' flags. */
static _Thread_local buffer a_buffer, b_buffer, busy_buffer;

/* The packed operands are stored tile by tile, each tile's 16 rows of 64
 * bytes contiguous, so a tile load reads 1 KB in a row.  (Rows of a whole
 * packed matrix apart, the 4 KB stride of a 1024-wide B put a tile's 16
 * rows in one L1 set: W3's products spent most of their time waiting for
 * tile loads.)  A is packed whole, before the tiles run: the tiles of rows
 * 16 rb.. follow each other along the pairs.  B is packed one block column
 * (32 columns) at a time, by the thread about to use it, into a panel of
 * two tile columns, each its tiles along the pairs: 2 x 16 x kpad dwords
 * (64 KB for K = 1024) per thread rather than the whole of B (2 MB for
 * W3's 1024 x 1024). */
static size_t a_at(const job *j, int r, int p)
{
    return (size_t)(r & ~15) * j->kpad + (size_t)(p & ~15) * 16 + (size_t)(r & 15) * 16 +
           (size_t)(p & 15);
}

/* ---- packing (16 rows, pairs or columns a unit) ----------------------------------- */

/* A, rows r0..r0+15.  Forward and dX: A(r, p) = (S[r, 2p], S[r, 2p + 1]),
 * S = X or dZ (rows x K).  dW: A(r, p) = (dZ[2p, r], dZ[2p + 1, r]), dZ
 * (K x rows), transposed 16 x 16 pairs at a time. */
static void pack_a(const job *j, int r0)
{
    const float *S = j->As;
    if (j->kind == K_FWD || j->kind == K_DX) {
        for (int r = r0; r < r0 + TILE; r++) {
            const float *s = r < j->rows ? S + (size_t)r * j->K : NULL;
            for (int p = 0; p < j->kpad; p += 16) {
                __m512i v = _mm512_setzero_si512();
                if (s)
                    v = bf16_row_pairs(s, j->K, p);
                _mm512_store_si512(j->Ap + a_at(j, r, p), v);
            }
        }
        return;
    }
    for (int p0 = 0; p0 < j->kpad; p0 += 16) {
        __m512i t[16];
        for (int q = 0; q < 16; q++) {
            int k = 2 * (p0 + q);
            t[q] = _mm512_setzero_si512();
            if (k < j->K) {
                const float *m0 = S + (size_t)k * j->rows;
                const float *m1 = k + 1 < j->K ? m0 + j->rows : NULL;
                /* lane i: (r0 + i, p0 + q) */
                t[q] = bf16_row_pair(m0, m1, (size_t)r0, j->rows - r0);
            }
        }
        transpose16(t); /* t[i] lane q: (r0 + i, p0 + q) */
        for (int i = 0; i < 16; i++)
            _mm512_store_si512(j->Ap + a_at(j, r0 + i, p0), t[i]);
    }
}

/* B's block column cb into `panel`: B(p, 32 cb + 16 t + i) at
 * panel[t * 16 kpad + 16 p + i].  Forward: B(p, c) = (W[c, 2p], W[c, 2p + 1]),
 * W (cols x K), transposed 16 x 16 pairs at a time.  dX and dW: B(p, c) =
 * (M[2p, c], M[2p + 1, c]), M = W or X (K x cols). */
static void pack_panel(const job *j, int cb, uint32_t *panel)
{
    const float *M = j->Bs;
    uint32_t *d1 = panel + (size_t)16 * j->kpad; /* the second tile column */
    int c0 = BLOCK * cb;
    if (j->kind == K_FWD) {
        for (int t = 0; t < 2; t++)
            for (int p0 = 0; p0 < j->kpad; p0 += 16) {
                __m512i v[16];
                /* v[q] lane i: (p0 + q, c0 + 16 t + i) */
                bf16_pairs_transposed(v, M, (size_t)j->K, c0 + TILE * t, j->cols, j->K, p0);
                for (int q = 0; q < 16; q++)
                    _mm512_store_si512((t ? d1 : panel) + (size_t)(p0 + q) * 16, v[q]);
            }
        return;
    }
    /* a pair of M's rows at a time, both tile columns: the 128 bytes of
     * each row are used together (rows 4 KB apart, as in a 1024-wide M,
     * share L1 sets and do not stay there for a second pass) */
    for (int p = 0; p < j->kpad; p++) {
        int k = 2 * p;
        __m512i v0 = _mm512_setzero_si512(), v1 = v0;
        if (k < j->K) {
            const float *m0 = M + (size_t)k * j->cols;
            const float *m1 = k + 1 < j->K ? m0 + j->cols : NULL;
            v0 = bf16_row_pair(m0, m1, (size_t)c0, j->cols - c0);
            v1 = bf16_row_pair(m0, m1, (size_t)c0 + TILE, j->cols - c0 - TILE);
        }
        _mm512_store_si512(panel + (size_t)p * 16, v0);
        _mm512_store_si512(d1 + (size_t)p * 16, v1);
    }
}

static void pack_part(void *ctx, long chunk)
{
    const job *j = ctx;
    long lo, hi;
    nn_pool_chunk(j->a_units, j->pack_chunks, chunk, &lo, &hi);
    for (long u = lo; u < hi; u++)
        pack_a(j, (int)u * TILE);
}

/* ---- the tiles ---------------------------------------------------------------------- */

/* Palette 1; tiles 0-7 all 16 rows of 64 bytes. */
typedef struct {
    uint8_t palette, start_row, reserved0[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

static void load_tile_config(void)
{
    _Alignas(64) tile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg.colsb[t] = 64;
        cfg.rows[t] = 16;
    }
    _tile_loadconfig(&cfg);
}

/* Block (rb, cb): rows 32 rb.., columns 32 cb.., B's block column packed
 * in `panel`. */
static void block(const job *j, int rb, int cb, const uint32_t *panel)
{
    int r0 = rb * BLOCK, c0 = cb * BLOCK;
    const uint32_t *a0 = j->Ap + a_at(j, r0, 0), *a1 = j->Ap + a_at(j, r0 + TILE, 0);
    const uint32_t *b0 = panel, *b1 = panel + (size_t)16 * j->kpad;
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    for (int p0 = 0; p0 < j->kpad; p0 += 16) {
        _tile_loadd(4, a0 + (size_t)p0 * 16, 64);
        _tile_loadd(5, a1 + (size_t)p0 * 16, 64);
        _tile_loadd(6, b0 + (size_t)p0 * 16, 64);
        _tile_loadd(7, b1 + (size_t)p0 * 16, 64);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    _Alignas(64) float out[BLOCK * BLOCK];
    _tile_stored(0, out, BLOCK * 4);
    _tile_stored(1, out + TILE, BLOCK * 4);
    _tile_stored(2, out + TILE * BLOCK, BLOCK * 4);
    _tile_stored(3, out + TILE * BLOCK + TILE, BLOCK * 4);

    int nr = j->rows - r0 < BLOCK ? j->rows - r0 : BLOCK;
    for (int r = 0; r < nr; r++) {
        float *c = j->C + (size_t)(r0 + r) * j->cols + c0;
        for (int v = 0; v < 2; v++) {
            int n = j->cols - c0 - 16 * v;
            if (n <= 0)
                break;
            __mmask16 m = first_n(n);
            __m512 z = _mm512_load_ps(out + r * BLOCK + 16 * v);
            float *cv = c + 16 * v;
            switch (j->kind) {
            case K_FWD:
                z = _mm512_add_ps(z, _mm512_maskz_loadu_ps(m, j->bias + c0 + 16 * v));
                z = act_forward_ps(z, j->act);
                break;
            case K_DX:
                break;
            case K_DW:
                z = _mm512_add_ps(_mm512_maskz_loadu_ps(m, cv), z);
                break;
            case K_SGD: {
                __m512 w = _mm512_maskz_loadu_ps(m, cv);
                __m512 g = _mm512_add_ps(z, _mm512_mul_ps(_mm512_set1_ps(j->wd), w));
                z = _mm512_sub_ps(w, _mm512_mul_ps(_mm512_set1_ps(j->lr), g));
                break;
            }
            }
            _mm512_mask_storeu_ps(cv, m, z);
        }
    }
}

static long chunks_of(long n)
{
    return n < NN_POOL_MAX_CHUNKS ? n : NN_POOL_MAX_CHUNKS;
}

/* A chunk is a run of block columns: for each, the panel, then its blocks
 * top to bottom.  At most `slots` chunks run at once (one per thread), so
 * a free slot is always there to take. */
static void compute_part(void *ctx, long chunk)
{
    const job *j = ctx;
    long lo, hi;
    nn_pool_chunk(j->ncb, chunks_of(j->ncb), chunk, &lo, &hi);
    int s = 0;
    for (;; s = (s + 1) % j->slots) {
        int idle = 0;
        if (atomic_compare_exchange_strong(&j->busy[s], &idle, 1))
            break;
    }
    uint32_t *panel = j->panels + (size_t)s * j->panel_u32;
    load_tile_config(); /* per thread; released when the chunk is done */
    for (long cb = lo; cb < hi; cb++) {
        pack_panel(j, (int)cb, panel);
        for (int rb = 0; rb < j->nrb; rb++)
            block(j, rb, (int)cb, panel);
    }
    _tile_release();
    atomic_store(&j->busy[s], 0);
}

/* 1 when the tile state is granted, -1 when refused; asked once. */
static int amx_usable(void)
{
    static atomic_int state;
    int s = atomic_load(&state);
    if (!s) {
        s = nn_amx_request_permission() == 0 ? 1 : -1;
        atomic_store(&state, s);
    }
    return s > 0;
}

/* Runs the product; -1 (nothing written) when it cannot: no tile state or
 * no memory for the packed operands. */
static int run(job *j)
{
    if (j->rows <= 0 || j->cols <= 0)
        return 0;
    if (!amx_usable())
        return -1;
    j->KP = (j->K + 1) / 2;
    j->kpad = (j->KP + 15) / 16 * 16;
    j->rpad = (j->rows + BLOCK - 1) / BLOCK * BLOCK;
    j->cpad = (j->cols + BLOCK - 1) / BLOCK * BLOCK;
    j->nrb = j->rpad / BLOCK;
    j->ncb = j->cpad / BLOCK;
    double flops = 2.0 * j->rows * j->cols * j->K;
    int threads = flops < NN_AMX_MIN_FLOPS ? 1 : nn_pool_threads_for(flops);
    j->slots = threads;
    j->panel_u32 = (size_t)2 * 16 * (j->kpad > 0 ? j->kpad : 16);
    size_t na = (size_t)j->rpad * j->kpad;
    j->Ap = buffer_get(&a_buffer, (na > 0 ? na : 16) * sizeof(uint32_t));
    j->panels = buffer_get(&b_buffer, (size_t)threads * j->panel_u32 * sizeof(uint32_t));
    j->busy = buffer_get(&busy_buffer, (size_t)threads * sizeof(atomic_int));
    if (!j->Ap || !j->panels || !j->busy)
        return -1;
    for (int s = 0; s < threads; s++)
        atomic_init(&j->busy[s], 0);
    j->a_units = j->rpad / TILE;
    j->pack_chunks = chunks_of(j->a_units);
    nn_pool_run(pack_part, j, j->pack_chunks, threads);
    nn_pool_run(compute_part, j, chunks_of(j->ncb), threads);
    return 0;
}

/* ---- the table ---------------------------------------------------------------------- */

static void amx_forward(float *Y, const float *X, const float *W, const float *b, int B, int in,
                        int out, nn_act act)
{
    job j = {.kind = K_FWD, .C = Y, .rows = B, .cols = out, .K = in, .As = X, .Bs = W,
             .bias = b, .act = act};
    if (run(&j) < 0)
        nn_kernels_avx512bf16.dense_forward(Y, X, W, b, B, in, out, act);
}

static void amx_act_backward(float *dY, float *db, const float *Y, int B, int out, nn_act act)
{
    nn_kernels_avx512.act_backward(dY, db, Y, B, out, act);
}

static void amx_backward_input(float *dX, const float *dZ, const float *W, int B, int in,
                               int out)
{
    job j = {.kind = K_DX, .C = dX, .rows = B, .cols = in, .K = out, .As = dZ, .Bs = W};
    if (run(&j) < 0)
        nn_kernels_avx512bf16.dense_backward_input(dX, dZ, W, B, in, out);
}

static void amx_backward_weights(float *dW, const float *dZ, const float *X, int B, int in,
                                 int out)
{
    job j = {.kind = K_DW, .C = dW, .rows = out, .cols = in, .K = B, .As = dZ, .Bs = X};
    if (run(&j) < 0)
        nn_kernels_avx512bf16.dense_backward_weights(dW, dZ, X, B, in, out);
}

static void amx_sgd_weights(float *W, const float *dZ, const float *X, int B, int in, int out,
                            float lr, float wd)
{
    job j = {.kind = K_SGD, .C = W, .rows = out, .cols = in, .K = B, .As = dZ, .Bs = X,
             .lr = lr, .wd = wd};
    if (run(&j) < 0)
        nn_kernels_avx512bf16.dense_sgd_weights(W, dZ, X, B, in, out, lr, wd);
}

const nn_kernels nn_kernels_amx = {
    .name = "amx",
    .dense_forward = amx_forward,
    .act_backward = amx_act_backward,
    .dense_backward_input = amx_backward_input,
    .dense_backward_weights = amx_backward_weights,
    .dense_sgd_weights = amx_sgd_weights,
};

#endif
