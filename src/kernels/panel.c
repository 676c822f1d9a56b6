/* panel.c - the blocked path of the dense products (see tiled.h): a packed
 * right operand, K blocks, register tiles.  Portable C: the packing and the
 * tile are the instruction set's (avx512.c: panels 48 wide, tiles of 8 rows;
 * avx2.c: 16 and 6; the figures below are AVX-512's).
 *
 * Loop order, per chunk of consecutive column panels (the pool's unit):
 *   for each K block kb (<= panel_k)         A's rows x kb block: in L2
 *     for each block of rows                 the band; dW: 256 rows (whole
 *                                            tiles: 252 with AVX2), packed
 *       for each panel p of the chunk
 *         pack B(kb, p) into b_buf            kb x 48, aligned, contiguous
 *         for each row tile r (8 rows)
 *           C(r, p) (+)= A(r, kb) B(kb, p)    epilogue on the last K block
 * The forward's and dX's A is read where it lies: a tile's 8 rows of it are
 * 8 short streams the tile's loop walks along k; only a partial last row
 * tile is packed (its missing rows as zeros).  dW's A is dZ read down 8
 * columns, one 32-byte piece a k, `out` floats apart: for a 1024-wide layer
 * every k of a tile falls in one L1 set, so a block of 256 rows is packed
 * tile by tile (8 floats a k, contiguous) before its tiles run: 512 x 4096
 * x 4096's dW from 79-103 to 110-121 GFLOP/s on one core (Intel Xeon with
 * AVX-512, bench_kernels; W3's dW unchanged, 130-145).  While a panel's
 * tiles run, the slice of B packed next and the next tile's C are
 * prefetched, so the packing and the tile's first loads do not stall.
 * Which thread runs a chunk changes nothing: every element of C is summed
 * by one tile chain, k in order, whatever the chunking.
 */
#include "kernels/tiled.h"

#include "pool/pool.h"

#include <stdint.h>

/* Each thread's packing buffers: allocated with the thread, sized by
 * constants (nn_panel_fits checks the table against them), 64-byte aligned
 * (the tiles load them with aligned loads). */
static _Thread_local _Alignas(64) float b_buf[NN_PANEL_FLOATS];
static _Thread_local _Alignas(64) float a_buf[NN_PANEL_ROWS * NN_PANEL_KMAX];
static _Thread_local _Alignas(64) float a_blk[NN_PANEL_AROWS * NN_PANEL_KMAX];

/* The smallest product the blocked path takes: below it packing costs
 * more than it saves. */
#define PANEL_MIN_ROWS 64
#define PANEL_MIN_COLS 128
#define PANEL_MIN_K 128
#define PANEL_MIN_FLOPS 8e6

/* Columns a chunk of the pool holds at least (when there are that many),
 * in whole panels: each chunk packs its A blocks once for all its panels
 * (3 panels of AVX-512's 48 columns, 9 of AVX2's 16: with 3 of 16, dW's
 * packing of dZ took a fifth of its time on AMD Zen 3). */
#define COLUMNS_PER_CHUNK 144

typedef struct {
    const nn_tiles *t;
    float *C;
    const float *A, *Bm, *b;
    size_t lda;
    int a_trans; /* A(r, k) = A[k*lda + r] (dW) rather than A[r*lda + k] */
    int ldb, trans_b;
    int rows, cols, K, kc;
    int accumulate, epi;
    nn_act act;
    float lr, wd;
    long panels, groups, bands, chunks; /* chunk = group * bands + band */
} panel_job;

/* Above the minimum, the blocked path is taken where the plain tiles fall
 * behind it (measured on W2's and W3's layers and 512 x 4096 x 4096, AMD
 * Zen 5, in alternating runs: bench_kernels); elsewhere the plain tiles,
 * which read the operands in place and pack nothing, are faster (W2's dX
 * and dW: 89-96% of the FMA peak against 81-88%):
 *   dX, dW, SGD  K > 1024 (the tile's k x 48 slice of the right operand no
 *                longer stays in L2 beside the rest), or the right
 *                operand's rows a multiple of 4 KB apart (cols % 1024 == 0:
 *                the slice's cache lines fall in 3 of L1's 64 sets and
 *                evict each other; 67-73% of peak on W3's 1024 x 1024 layer
 *                in the plain tiles, 86% blocked);
 *   forward      always (the lane-split dot products pay a reduction per
 *                output that short K does not cover: 66-73% of the FMA
 *                peak on W2's 128 x 128 x 256 and 73-85% on 128 x 256 x 784
 *                against 83% and 82% blocked, where the panels of 16 or 32
 *                columns past a multiple of 48 run a tile of their own
 *                width; 75-80% on W3's layers, 37% on 512 x 4096 x 4096,
 *                against 82-84% and 80%).
 * With panel_dw_always (AVX2), dW and the fused SGD take it whatever their
 * shape: AMD Zen 3, 1 thread, % of the FMA peak in alternating runs
 * (bench_kernels), plain tiles against blocked: 1024 x 784 x 128 55-58%
 * against 69-70%, 256 x 784 x 128 60-61% against 71-73%, 128 x 256 x 128
 * 71-72% against 64-75%; AVX2's dX keeps the rule above (128 x 784 x 256:
 * 90-91% plain, 76-77% blocked). */
static bool rows_free; /* nn_kernels_rows_free */

void nn_kernels_rows_free(bool on)
{
    rows_free = on;
}

int nn_panel_fits(const nn_tiles *t, int rows, int cols, int K, int epi, int a_trans)
{
    if (!t->panel_tile || t->panel_k <= 0 || t->panel_k > NN_PANEL_KMAX ||
        t->acc_cols * NN_PANEL_KMAX > NN_PANEL_FLOATS || t->acc_rows > NN_PANEL_ROWS)
        return 0;
    if (epi == NN_PANEL_SGD && K > NN_PANEL_KMAX) /* the SGD rule needs all of K at once */
        return 0;
    if (epi != NN_PANEL_BIAS_ACT && !(K > 1024 || cols % 1024 == 0) &&
        !(a_trans && t->panel_dw_always))
        return 0;
    /* the forward's choice by columns and K alone: as for PANEL_MIN_ROWS
     * rows (the backward products sum alike on either path) */
    if (rows_free && epi == NN_PANEL_BIAS_ACT)
        rows = PANEL_MIN_ROWS;
    return rows >= PANEL_MIN_ROWS && cols >= PANEL_MIN_COLS && K >= PANEL_MIN_K &&
           2.0 * rows * cols * K >= PANEL_MIN_FLOPS;
}

/* The source of B's slice for K block [k0, k0 + kb) and panel p: `lines`
 * runs of `bytes` bytes, `stride` bytes apart, from *src. */
typedef struct {
    const char *src;
    size_t stride;
    int lines, bytes;
} region;

static region slice_of(const panel_job *j, int k0, int kb, long p)
{
    int w = j->t->acc_cols, c0 = (int)p * w, nc = j->cols - c0 < w ? j->cols - c0 : w;
    region g = {.stride = (size_t)j->ldb * sizeof(float)};
    if (j->trans_b) { /* nc rows of Bm, kb floats each */
        g.src = (const char *)(j->Bm + (size_t)c0 * j->ldb + k0);
        g.lines = nc;
        g.bytes = kb * (int)sizeof(float);
    } else { /* kb rows of Bm, nc floats each */
        g.src = (const char *)(j->Bm + (size_t)k0 * j->ldb + c0);
        g.lines = kb;
        g.bytes = nc * (int)sizeof(float);
    }
    return g;
}

/* Asks for part `i` of `n` of the region's cache lines to be brought into
 * the cache: the next slice to pack, a part before each row tile, so its
 * loads from L3 or memory overlap the tiles' arithmetic instead of stalling
 * the packing loop (which has no arithmetic to hide them behind). */
static void prefetch_part(const region *g, int i, int n)
{
    if (!g->src)
        return;
    for (int l = (int)((long)g->lines * i / n); l < (int)((long)g->lines * (i + 1) / n); l++) {
        /* every cache line the run touches, its last one included */
        uintptr_t a = (uintptr_t)(g->src + (size_t)l * g->stride), end = a + (uintptr_t)g->bytes;
        for (a &= ~(uintptr_t)63; a < end; a += 64)
            __builtin_prefetch((const void *)a, 0, 2);
    }
}

static void panel_part(void *ctx, long chunk)
{
    const panel_job *j = ctx;
    const nn_tiles *t = j->t;
    int w = t->acc_cols, h = t->acc_rows, all_tiles = (j->rows + h - 1) / h;
    /* A(r, k) = A[r*a_rs + k*a_cs] */
    size_t a_rs = j->a_trans ? 1 : j->lda, a_cs = j->a_trans ? j->lda : 1;
    long lo, hi;
    long band_lo, band_hi;
    nn_pool_chunk(j->panels, j->groups, chunk / j->bands, &lo, &hi);
    nn_pool_chunk(all_tiles, j->bands, chunk % j->bands, &band_lo, &band_hi);
    int row_lo = (int)band_lo * h, row_hi = (int)band_hi * h < j->rows ? (int)band_hi * h : j->rows;
    /* dW's A (dZ read down its columns, `lda` floats apart: 4 KB for a
     * 1024-wide layer, every k in one L1 set) is packed a block of rows
     * at a time and the block's tiles read it contiguously; the forward's
     * and dX's A (rows read along k) is read in place, the band at once. */
    int block = j->a_trans ? NN_PANEL_AROWS / h * h : row_hi - row_lo; /* whole tiles: a_blk */
    for (int k0 = 0; k0 < j->K; k0 += j->kc) {
        int kb = j->K - k0 < j->kc ? j->K - k0 : j->kc;
        int load_c = k0 > 0 || j->accumulate;
        int epi = k0 + kb == j->K ? j->epi : NN_PANEL_NONE;
        for (int b0 = row_lo; b0 < row_hi; b0 += block) {
            int b1 = row_hi - b0 < block ? row_hi : b0 + block;
            int tiles = (b1 - b0 + h - 1) / h;
            if (j->a_trans)
                t->pack_a_cols(a_blk, j->A + b0 + (size_t)k0 * j->lda, j->lda, kb, b1 - b0);
            /* the forward's or dX's partial last row tile: packed once for
             * all the panels (its rows, zeros after) */
            int part_r0 = (b1 - b0) % h ? b1 - (b1 - b0) % h : -1;
            if (!j->a_trans && part_r0 >= 0)
                t->pack_a_rows(a_buf, j->A + part_r0 * a_rs + k0 * a_cs, j->lda, kb, b1 - part_r0);
            for (long p = lo; p < hi; p++) {
                int c0 = (int)p * w, nc = j->cols - c0 < w ? j->cols - c0 : w;
                if (j->trans_b)
                    t->pack_cols(b_buf, j->Bm + (size_t)c0 * j->ldb + k0, j->ldb, kb, nc);
                else
                    t->pack_rows(b_buf, j->Bm + (size_t)k0 * j->ldb + c0, j->ldb, kb, nc);
                /* the slice packed next: this block's next panel, the next
                 * block's first, or the next K block's first */
                region next = {0};
                if (p + 1 < hi) {
                    next = slice_of(j, k0, kb, p + 1);
                } else if (b1 < row_hi) {
                    next = slice_of(j, k0, kb, lo);
                } else if (k0 + kb < j->K) {
                    int k1 = k0 + kb, kb1 = j->K - k1 < j->kc ? j->K - k1 : j->kc;
                    next = slice_of(j, k1, kb1, lo);
                }
                for (int r0 = b0; r0 < b1; r0 += h) {
                    int mr = j->rows - r0 < h ? j->rows - r0 : h;
                    float *C = j->C + (size_t)r0 * j->cols + c0;
                    const float *bias = j->b ? j->b + c0 : NULL;
                    prefetch_part(&next, (r0 - b0) / h, tiles);
                    if (r0 + h < b1 && (load_c || epi == NN_PANEL_SGD)) {
                        /* the next tile's C, read first thing (dW's, a later K
                         * block's) or by the SGD rule: from L3 or memory it
                         * would stall the tile's start */
                        int nr = j->rows - r0 - h < h ? j->rows - r0 - h : h;
                        for (int r = 0; r < nr; r++)
                            for (int c = 0; c < nc; c += 16)
                                __builtin_prefetch(C + (size_t)(h + r) * j->cols + c, 1, 3);
                    }
                    if (j->a_trans) { /* packed above, zeros past the last row */
                        t->panel_tile(C, j->cols, a_blk + (size_t)(r0 - b0) * kb, 1, (size_t)h,
                                      b_buf, kb, mr, nc, load_c, epi, bias, j->act, j->lr, j->wd);
                    } else if (mr == h) {
                        const float *A = j->A + r0 * a_rs + k0 * a_cs;
                        t->panel_tile(C, j->cols, A, a_rs, a_cs, b_buf, kb, mr, nc, load_c, epi,
                                      bias, j->act, j->lr, j->wd);
                    } else { /* the last, partial row tile: packed above */
                        t->panel_tile(C, j->cols, a_buf, 1, (size_t)h, b_buf, kb, mr, nc, load_c,
                                      epi, bias, j->act, j->lr, j->wd);
                    }
                }
            }
        }
    }
}

void nn_panel_product(const nn_tiles *t, float *C, const float *A, size_t lda, int a_trans,
                      const float *Bm, int ldb, int trans_b, int rows, int cols, int K,
                      int accumulate, int epi, const float *b, nn_act act, float lr, float wd)
{
    /* K blocks of at most panel_k, as even as they go (SGD: one block). */
    int kmax = epi == NN_PANEL_SGD ? NN_PANEL_KMAX : t->panel_k;
    int blocks = (K + kmax - 1) / kmax;
    panel_job j = {.t = t, .C = C, .A = A, .Bm = Bm, .b = b, .lda = lda, .a_trans = a_trans,
                   .ldb = ldb, .trans_b = trans_b, .rows = rows, .cols = cols, .K = K,
                   .kc = (K + blocks - 1) / blocks, .accumulate = accumulate, .epi = epi,
                   .act = act, .lr = lr, .wd = wd,
                   .panels = (cols + t->acc_cols - 1) / t->acc_cols};
    long per_chunk = (COLUMNS_PER_CHUNK + t->acc_cols - 1) / t->acc_cols;
    long most = (j.panels + per_chunk - 1) / per_chunk;
    long tiles = (rows + t->acc_rows - 1) / t->acc_rows;
    j.groups = most < NN_POOL_MAX_CHUNKS ? most : NN_POOL_MAX_CHUNKS;
    int threads = nn_pool_threads_for(2.0 * rows * cols * K);
    /* Fewer panel groups than threads (W2's 256 -> 128 forward has one):
     * the rows are also cut into bands of whole row tiles, each band
     * packing its panels for itself, so every thread has a chunk.  Every
     * tile is computed as before: the same bits for any cut, and so for
     * any thread count. */
    j.bands = j.groups >= threads ? 1 : (threads + j.groups - 1) / j.groups;
    if (j.bands > tiles)
        j.bands = tiles;
    j.chunks = j.groups * j.bands;
    nn_pool_run(panel_part, &j, j.chunks, threads);
}
