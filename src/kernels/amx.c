/* amx.c - the bf16 dense kernels on AMX tiles (tdpbf16ps); the only file
 * built with -mamx-tile -mamx-bf16.  x86-64 Linux only: the tile data
 * state must be granted to the process first (nn_amx_request_permission,
 * bf16.h); the selection (cpu.c) does so, and run() below asks again (once)
 * and falls back to the avx512bf16 kernels if it is refused rather than
 * fault.
 *
 * Not run on the machine it was written on (an AMD Zen 4: no AMX); written
 * from Intel's description of LDTILECFG and TDPBF16PS.  Its packing, tile
 * addressing, configuration, steps and epilogues were checked there only
 * through a throwaway C emulation of the six tile intrinsics (asserting a
 * valid palette-1 configuration, summing in the reference's order): bit
 * for bit the reference's results (but the sign of a zero sum, which the
 * zero padding of a tile makes +0) on 363 shapes, the step boundaries and
 * three threads included.  The instructions themselves never ran.
 *
 * Each product C (rows x cols) = sum over K of A(r, k) B(k, c) (the roles
 * as in avx512bf16.c) is cut into blocks of 32 x 32 outputs, each four
 * 16 x 16 fp32 tiles (tmm0-3) fed by two A tiles (tmm4-5: 16 rows x 16
 * pairs) and two B tiles (tmm6-7: 16 pairs x 16 columns, the "VNNI" layout:
 * a dword holds the pair (k even in the low half, k odd) of one column).
 * As in avx512bf16.c the product runs in steps (plan()), a group of rows by
 * a block of pairs, so the packed operands are bounded by the blocks, not
 * by the operands; both are rounded by vcvtne2ps2bf16 and zero-padded to
 * whole tiles:
 *   A  the step's rows by its pairs, [row][pair] (dW's A = dZ^T transposed
 *      in 16 x 16 dword blocks), packed 16 rows a unit by the pool's
 *      threads into the calling thread's buffer (a run of the pool of its
 *      own, then the blocks' run);
 *   B  a panel of 32 columns by the step's pairs, [pair][32 columns],
 *      packed by the thread that needs it into its own buffer (the
 *      forward's B = W^T transposed).
 * Blocks are numbered panel first, so a thread packs a panel once for the
 * row blocks that follow.  The forward and dX block k, a later K block's
 * tiles starting from the sums the earlier left in C; dW and SGD keep K
 * (the batch) whole and put their rows in groups.  All eight tiles are
 * configured 16 rows x 64 bytes.  After a step's k loop the four C tiles
 * go to a 32 x 32 scratch and the epilogue (bias + activation, dW +=, the
 * SGD rule: bf16_epilogue, bf16_pack.h; a plain store before the last K
 * block) runs on it with AVX-512.
 *
 * Rounding: TDPBF16PS accumulates in fp32 with round to nearest even,
 * treats denormal inputs as zero and flushes denormal outputs; the order in
 * which it adds the products of a row of pairs is not specified, so results
 * agree with the reference within the accumulation bound, not bit for bit.
 * Each block is computed by one thread a step, in a fixed order: results
 * do not depend on the thread count.
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

/* The blocks, as avx512bf16.c's: a step's packed A at most A_WORDS dwords
 * (128 KB), a group at most MC_MAX rows, a K block at most KC_MAX pairs
 * (a panel: 32 KB). */
enum { A_WORDS = 32768, KC_MAX = 256, MC_MAX = 512 };

typedef enum { K_FWD, K_DX, K_DW, K_SGD } kind;

typedef struct {
    kind kind;
    float *C;
    int rows, cols, K; /* C is rows x cols (row stride cols), K terms a sum */
    int KP;            /* pairs, (K + 1) / 2 */
    const float *As, *Bs; /* fp32 sources (see pack_a / pack_panel) */
    const float *bias;
    nn_act act;
    float lr, wd;
    int ncb;    /* panels (blocks of 32 columns) */
    int mc, kc; /* rows of a group (a multiple of 32), pairs of a K block (of 16) */
    /* the step being run: rows g0..g0+gn-1, pairs p0..p0+np-1 (np may be
     * 0: K = 0), padded to kpad (a multiple of 16); nrb blocks of 32 rows;
     * first: it starts the sums (else they go on from C); epi: what its
     * sums become */
    int g0, gn, p0, np, kpad, nrb, first;
    bf16_epi epi;
    uint32_t *Ap; /* the step's A: pair p0 + p of row g0 + r at Ap[r * kpad + p] */
    unsigned long id; /* the step's number: a thread's packed panel is reused within it */
} job;

static _Thread_local buffer a_buffer;     /* the calling thread's packed A of a step */
static _Thread_local buffer panel_buffer; /* each thread's packed B panel */
/* which panel panel_buffer holds: of the step numbered panel_id, panel_cb */
static _Thread_local unsigned long panel_id;
static _Thread_local int panel_cb;
static atomic_ulong calls;

/* ---- packing ------------------------------------------------------------------------ */

/* The step's A, rows g0 + r0..r0+15 (r0 from the group's start).  Forward
 * and dX: A(r, p) = (S[r, 2p], S[r, 2p + 1]), S = X or dZ (rows x K).  dW:
 * A(r, p) = (dZ[2p, r], dZ[2p + 1, r]), dZ (K x rows), transposed 16 x 16
 * pairs at a time.  Zeros past the rows, past K and past the step's pairs. */
static void pack_a(const job *j, int r0)
{
    const float *S = j->As;
    const int p1 = j->p0 + j->np;
    if (j->kind == K_FWD || j->kind == K_DX) {
        for (int r = r0; r < r0 + TILE; r++) {
            uint32_t *d = j->Ap + (size_t)r * j->kpad;
            int row = j->g0 + r;
            const float *s = row < j->rows ? S + (size_t)row * j->K : NULL;
            for (int p = 0; p < j->kpad; p += 16) {
                __m512i v = _mm512_setzero_si512();
                if (s && j->p0 + p < p1) {
                    /* pairs past the step: the next block's, not ours */
                    int kmax = 2 * p1 < j->K ? 2 * p1 : j->K;
                    v = bf16_row_pairs(s, kmax, j->p0 + p);
                }
                _mm512_store_si512(d + p, v);
            }
        }
        return;
    }
    const int row0 = j->g0 + r0;
    for (int p = 0; p < j->kpad; p += 16) {
        __m512i t[16];
        for (int q = 0; q < 16; q++) {
            int k = 2 * (j->p0 + p + q);
            t[q] = _mm512_setzero_si512();
            if (j->p0 + p + q < p1 && k < j->K) {
                const float *m0 = S + (size_t)k * j->rows;
                const float *m1 = k + 1 < j->K ? m0 + j->rows : NULL;
                /* lane i: (row0 + i, p + q) */
                t[q] = bf16_row_pair(m0, m1, (size_t)row0, j->rows - row0);
            }
        }
        transpose16(t); /* t[i] lane q: (row0 + i, p + q) */
        for (int i = 0; i < 16; i++)
            _mm512_store_si512(j->Ap + (size_t)(r0 + i) * j->kpad + p, t[i]);
    }
}

/* The step's panel cb: dst[p * BLOCK + c] = B(p0 + p, 32 cb + c), p <
 * kpad, c < 32.  Forward: B(p, c) = (W[c, 2p], W[c, 2p + 1]), W (cols x
 * K), transposed.  dX and dW: B(p, c) = (M[2p, c], M[2p + 1, c]), M = W or
 * X (K x cols).  Zeros past the columns, past K and past the step's
 * pairs. */
static void pack_panel(const job *j, uint32_t *dst, int cb)
{
    const float *M = j->Bs;
    const int c0 = BLOCK * cb, p1 = j->p0 + j->np;
    const int kmax = 2 * p1 < j->K ? 2 * p1 : j->K; /* the step's k end */
    if (j->kind == K_FWD) {
        for (int v = 0; v < BLOCK; v += TILE)
            for (int p = 0; p < j->kpad; p += 16) {
                __m512i t[16];
                /* t[q] lane i: (p0 + p + q, c0 + v + i) */
                bf16_pairs_transposed(t, M, (size_t)j->K, c0 + v, j->cols, kmax, j->p0 + p);
                for (int q = 0; q < 16; q++)
                    _mm512_store_si512(dst + (size_t)(p + q) * BLOCK + v, t[q]);
            }
        return;
    }
    for (int p = 0; p < j->kpad; p++) {
        int k = 2 * (j->p0 + p);
        uint32_t *d = dst + (size_t)p * BLOCK;
        for (int c = 0; c < BLOCK; c += 16) {
            __m512i v = _mm512_setzero_si512();
            if (k < kmax) {
                const float *m0 = M + (size_t)k * j->cols;
                const float *m1 = k + 1 < j->K ? m0 + j->cols : NULL;
                v = bf16_row_pair(m0, m1, (size_t)(c0 + c), j->cols - c0 - c);
            }
            _mm512_store_si512(d + c, v);
        }
    }
}

static long chunks_of(long n)
{
    return n < NN_POOL_MAX_CHUNKS ? n : NN_POOL_MAX_CHUNKS;
}

static long a_units(const job *j)
{
    return (long)j->nrb * (BLOCK / TILE);
}

static void pack_part(void *ctx, long chunk)
{
    const job *j = ctx;
    long lo, hi;
    nn_pool_chunk(a_units(j), chunks_of(a_units(j)), chunk, &lo, &hi);
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

/* Block (rb, cb) of the step: rows g0 + 32 rb.., columns 32 cb.., from the
 * packed A and the panel Bp. */
static void block(const job *j, const uint32_t *Bp, int rb, int cb)
{
    int r0 = j->g0 + rb * BLOCK, c0 = cb * BLOCK;
    int nr = j->g0 + j->gn - r0 < BLOCK ? j->g0 + j->gn - r0 : BLOCK;
    const long sa = (long)j->kpad * 4, sb = (long)BLOCK * 4;
    const uint32_t *a0 = j->Ap + (size_t)(rb * BLOCK) * j->kpad, *a1 = a0 + (size_t)TILE * j->kpad;
    _Alignas(64) float out[BLOCK * BLOCK];
    if (j->first) {
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
    } else { /* a later K block: from the sums so far, left in C */
        for (int r = 0; r < BLOCK; r++)
            for (int v = 0; v < 2; v++) {
                int n = r < nr ? j->cols - c0 - 16 * v : 0; /* the columns inside C */
                _mm512_store_ps(out + r * BLOCK + 16 * v,
                                n > 0 ? _mm512_maskz_loadu_ps(
                                            first_n(n),
                                            j->C + (size_t)(r0 + r) * j->cols + c0 + 16 * v)
                                      : _mm512_setzero_ps());
            }
        _tile_loadd(0, out, BLOCK * 4);
        _tile_loadd(1, out + TILE, BLOCK * 4);
        _tile_loadd(2, out + TILE * BLOCK, BLOCK * 4);
        _tile_loadd(3, out + TILE * BLOCK + TILE, BLOCK * 4);
    }
    for (int p = 0; p < j->kpad; p += 16) {
        _tile_loadd(4, a0 + p, sa);
        _tile_loadd(5, a1 + p, sa);
        _tile_loadd(6, Bp + (size_t)p * BLOCK, sb);
        _tile_loadd(7, Bp + (size_t)p * BLOCK + TILE, sb);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    _tile_stored(0, out, BLOCK * 4);
    _tile_stored(1, out + TILE, BLOCK * 4);
    _tile_stored(2, out + TILE * BLOCK, BLOCK * 4);
    _tile_stored(3, out + TILE * BLOCK + TILE, BLOCK * 4);

    for (int r = 0; r < nr; r++) {
        float *c = j->C + (size_t)(r0 + r) * j->cols + c0;
        for (int v = 0; v < 2; v++) {
            int n = j->cols - c0 - 16 * v;
            if (n <= 0)
                break;
            bf16_epilogue(&j->epi, c + 16 * v, (size_t)(c0 + 16 * v), first_n(n),
                          _mm512_load_ps(out + r * BLOCK + 16 * v));
        }
    }
}

static long blocks_of(const job *j)
{
    return (long)j->nrb * j->ncb;
}

/* The same block one output at a time by the reference's sums over the
 * step's pairs (when no panel buffer could be had). */
static void block_scalar(const job *j, int rb, int cb)
{
    int r0 = j->g0 + rb * BLOCK, c0 = cb * BLOCK;
    int r1 = j->g0 + j->gn < r0 + BLOCK ? j->g0 + j->gn : r0 + BLOCK;
    int c1 = j->cols < c0 + BLOCK ? j->cols : c0 + BLOCK;
    const int k0 = 2 * j->p0, k1 = 2 * (j->p0 + j->np);
    for (int r = r0; r < r1; r++)
        for (int c = c0; c < c1; c++) {
            float *o = j->C + (size_t)r * j->cols + c;
            float s = j->first ? 0.0f : *o;
            if (j->kind == K_FWD)
                s = nn_bf16_dot_part(s, j->As + (size_t)r * j->K, 1, j->Bs + (size_t)c * j->K, 1,
                                     k0, k1, j->K);
            else if (j->kind == K_DX)
                s = nn_bf16_dot_part(s, j->As + (size_t)r * j->K, 1, j->Bs + c, (size_t)j->cols,
                                     k0, k1, j->K);
            else
                s = nn_bf16_dot_part(s, j->As + r, (size_t)j->rows, j->Bs + c, (size_t)j->cols,
                                     k0, k1, j->K);
            switch (j->epi.kind) {
            case BF16_BIAS_ACT:
                *o = nn_act_forward(j->act, s + j->bias[c]);
                break;
            case BF16_STORE:
                *o = s;
                break;
            case BF16_ADD:
                *o += s;
                break;
            case BF16_SGD:
                *o -= j->lr * (s + j->wd * *o);
                break;
            }
        }
}

static void compute_part(void *ctx, long chunk)
{
    const job *j = ctx;
    long lo, hi;
    nn_pool_chunk(blocks_of(j), chunks_of(blocks_of(j)), chunk, &lo, &hi);
    uint32_t *panel = panel_id == j->id ? panel_buffer.p : NULL;
    int have = panel_id == j->id ? panel_cb : -1;
    load_tile_config(); /* per thread; released when the chunk is done */
    for (long n = lo; n < hi; n++) {
        int cb = (int)(n / j->nrb), rb = (int)(n % j->nrb);
        if (cb != have) {
            size_t words = (size_t)j->kpad * BLOCK, most = (size_t)KC_MAX * BLOCK;
            panel = buffer_get(&panel_buffer, (words > most ? words : most) * sizeof(uint32_t));
            if (panel)
                pack_panel(j, panel, cb);
            have = cb;
            panel_id = panel ? j->id : 0;
            panel_cb = cb;
        }
        if (panel)
            block(j, panel, rb, cb);
        else
            block_scalar(j, rb, cb);
    }
    _tile_release();
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

/* n cut into parts of at most most, as even as they go: the part size. */
static int even_part(int n, int most)
{
    int parts = (n + most - 1) / most;
    return parts > 0 ? (n + parts - 1) / parts : 0;
}

/* The blocks of a product, as avx512bf16.c's plan(): dW and SGD keep K
 * whole and put their rows in groups of A_WORDS / (pairs padded to 16),
 * from 32 to MC_MAX; the forward and dX take groups of up to MC_MAX rows
 * and K blocks of up to A_WORDS / group rows and KC_MAX pairs.  Groups a
 * multiple of 32 rows, K blocks of 16 pairs (whole tiles); both as even as
 * they go. */
static void plan(job *j)
{
    int most = MC_MAX;
    int kp16 = (j->KP + 15) / 16 * 16;
    if (j->kind == K_DW || j->kind == K_SGD) {
        int fit = kp16 > 0 ? A_WORDS / kp16 / BLOCK * BLOCK : MC_MAX;
        most = fit < BLOCK ? BLOCK : fit < MC_MAX ? fit : MC_MAX;
    }
    j->mc = (even_part(j->rows, most) + BLOCK - 1) / BLOCK * BLOCK;
    if (j->kind == K_DW || j->kind == K_SGD) {
        j->kc = j->KP;
    } else {
        int kmax = (A_WORDS / j->mc < KC_MAX ? A_WORDS / j->mc : KC_MAX) / 16 * 16;
        j->kc = (even_part(j->KP, kmax) + 15) / 16 * 16;
    }
}

/* Runs the product step by step (plan: a group of rows by a K block; a
 * run of the pool packs the step's A, another computes its blocks); -1
 * (nothing written) when it cannot: no tile state or no memory for A. */
static int run(job *j)
{
    if (j->rows <= 0 || j->cols <= 0)
        return 0;
    if (!amx_usable())
        return -1;
    bf16_epi epi = {.kind = BF16_STORE, .bias = j->bias, .act = j->act, .lr = j->lr,
                    .wd = j->wd};
    if (j->kind == K_FWD)
        epi.kind = BF16_BIAS_ACT;
    else if (j->kind == K_DW)
        epi.kind = BF16_ADD;
    else if (j->kind == K_SGD)
        epi.kind = BF16_SGD;
    j->KP = (j->K + 1) / 2;
    j->ncb = (j->cols + BLOCK - 1) / BLOCK;
    plan(j);
    /* at least the bound, allocated once whatever the shapes */
    size_t most = (size_t)j->mc * (size_t)((j->kc + 15) / 16 * 16);
    j->Ap = buffer_get(&a_buffer, (most > A_WORDS ? most : A_WORDS) * sizeof(uint32_t));
    if (!j->Ap)
        return -1;
    int threads = nn_pool_threads_for(2.0 * j->rows * j->cols * j->K);
    for (j->g0 = 0; j->g0 < j->rows; j->g0 += j->mc) {
        j->gn = j->rows - j->g0 < j->mc ? j->rows - j->g0 : j->mc;
        j->nrb = (j->gn + BLOCK - 1) / BLOCK;
        j->p0 = 0;
        do {
            j->np = j->KP - j->p0 < j->kc ? j->KP - j->p0 : j->kc;
            j->kpad = (j->np + 15) / 16 * 16;
            j->first = j->p0 == 0;
            j->epi = j->p0 + j->np >= j->KP ? epi : (bf16_epi){.kind = BF16_STORE};
            j->id = atomic_fetch_add(&calls, 1) + 1;
            nn_pool_run(pack_part, j, chunks_of(a_units(j)), threads);
            nn_pool_run(compute_part, j, chunks_of(blocks_of(j)), threads);
            j->p0 += j->np;
        } while (j->p0 < j->KP);
    }
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
