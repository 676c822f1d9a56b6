/* avx2.c - the dense kernels with AVX2 and FMA (8 floats a vector); the only
 * file built with -mavx2 -mfma.  cpu.c selects this table only when the
 * processor has both and the OS saves the ymm state.
 *
 * The same tiling as avx512.c, sized for 16 vector registers.  Figures are
 * GFLOP/s at 1 thread on the W1/W2 shapes, in alternating runs against the
 * previous version of this file (AVX2 FMA peak here ~92):
 *   forward  tiles of 12 samples x 4 outputs, in blocks of 3 samples x 4
 *            outputs: 12 ymm accumulators, each a dot product split over 8
 *            lanes of k; per 8 k, 3 loads of X and 4 of W feed 12 FMAs, which
 *            with the 3 X vectors and 1 W vector fills the 16 registers.
 *            The loads go through an empty asm barrier (in_register): without
 *            it GCC folded a load into every FMA that used it, repeating it
 *            (the previous 2 x 4 blocks did 10 loads per 8 FMAs, not 6).
 *            Each row's 4 sums go through one fixed hadd tree into 4 lanes;
 *            rows are paired into vectors for the bias and the activation
 *            (6 independent chains a tile) and each output row is one 4-float
 *            store (masked when the tile has fewer than 4 outputs), instead of
 *            single-float stores.  62 -> 78 on 128x256x784, 55 -> 69 on
 *            128x128x256, 36 -> 46 on the 10-output layers.  3 x 4 beat 2 x 4
 *            with the same barrier (68 on 128x256x784); two 8-k steps an
 *            iteration (as avx512.c does) made GCC spill accumulators and
 *            cost 13%, so the loop takes one.  The k ends are masked loads.
 *   dX, dW   6 rows x 16 columns: 12 ymm accumulators; per k, 2 vector loads
 *            and 6 broadcasts feed 12 FMAs.  As in avx512.c: two k an
 *            iteration, only a narrower tile masks its last vector (a full
 *            one loads it plainly), and a tile of at most 4 or 2 rows (the
 *            last row block of most layers: B = 32, 128 and out = 10, 128,
 *            256 leave 2 or 4) computes only 4 or 2 rows instead of repeating
 *            the last.  dX +1-6%, dW and the fused SGD +3-17% (the most on
 *            the small layers).
 *   blocked  panel.c's path for large products (tiled.h), with panels 16
 *            columns wide and acc_tile as the tile: the forward always
 *            (above panel.c's minimum), dW and the fused SGD always
 *            (panel_dw_always), dX where panel.c's rule says.  AMD Zen 3,
 *            1 thread, % of the FMA peak, plain tiles against blocked
 *            (bench_kernels): 128 x 1024 x 1024 dW 41-50% -> 61-67%, dX
 *            52% -> 73-78%, forward 70-75% -> 72-80%.  Whole vectors of C
 *            are loaded and stored plainly, only a partial one masked: a
 *            masked store is microcoded on AMD (the 10-output layer's dX
 *            went from 25% to 50% of the peak with that alone).
 * Every plain forward sum, whatever the block or its place in it, is lane j
 * of an accumulator summing k = j, j + 8, ... in order, then the same tree;
 * the blocked forward's and all backward sums run k = 0, 1, 2, ...; nothing
 * depends on the thread count or (see dot_block) on the buffers' alignment.
 */
#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/avx2_act.h"
#include "kernels/avx2_pack.h"
#include "kernels/kernels.h"
#include "kernels/tiled.h"
#include "math/activation.h"

/* ---- activations (avx2_act.h has their vector forms) ------------------------ */

static void act_backward(float *dY, float *db, const float *Y, int B, int out, nn_act act)
{
    /* 8 columns at a time, the rows in order: the same sums as ref.c. */
    for (int j = 0; j < out; j += 8) {
        __m256i m = lane_mask(out - j >= 8 ? 8 : out - j);
        __m256 s = _mm256_setzero_ps();
        for (int i = 0; i < B; i++) {
            float *g = dY + (size_t)i * out + j;
            __m256 dz = _mm256_maskload_ps(g, m);
            if (act != NN_ACT_IDENTITY) {
                __m256 a = _mm256_maskload_ps(Y + (size_t)i * out + j, m);
                dz = _mm256_mul_ps(dz, act_derivative_ps(a, act));
                _mm256_maskstore_ps(g, m, dz);
            }
            s = _mm256_add_ps(s, dz);
        }
        _mm256_maskstore_ps(db + j, m, _mm256_add_ps(_mm256_maskload_ps(db + j, m), s));
    }
}

/* ---- forward: 3 x 4 dot-product blocks ------------------------------------- */

#define FR 3 /* samples (rows of X) per block */
#define FC 4  /* outputs (rows of W) per block and per tile */
#define FG 4  /* blocks per tile, stacked */
#define FT_ROWS (FR * FG) /* samples per tile */

/* v, made to live in a register: otherwise GCC folds a W load into each of
 * the FR FMAs that use it (a memory operand each), repeating the load FR
 * times (see avx512.c). */
static inline __m256 in_register(__m256 v)
{
    __asm__("" : "+x"(v));
    return v;
}

/* The four dot products of a row, acc[0..3], into lanes 0..3: per 128-bit
 * half, two levels of horizontal adds, then the halves added.  Every sum of
 * every block shape goes through this same tree. */
static inline __m128 reduce_row(const __m256 acc[FC])
{
    __m256 g = _mm256_hadd_ps(_mm256_hadd_ps(acc[0], acc[1]), _mm256_hadd_ps(acc[2], acc[3]));
    return _mm_add_ps(_mm256_castps256_ps128(g), _mm256_extractf128_ps(g, 1));
}

/* One step of 8 k: lanes j hold k = k0 + j (k0 may be negative in the
 * first, masked step); the addresses are computed as integers because they
 * may point before the rows (masked lanes are never read).  The R rows of X
 * are loaded once, then each of the 4 rows of W feeds R FMAs: with R = 3,
 * 12 accumulators + 3 X + 1 W = the 16 ymm registers. */
#define AT(p, k0) ((const float *)((uintptr_t)(p) + (uintptr_t)(intptr_t)(k0) * sizeof(float)))
#define DOT_STEP(LOAD)                                                  \
    do {                                                                \
        __m256 xv[FR];                                                  \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)             \
            xv[r] = in_register(LOAD(AT(x[r], k0)));                    \
        _Pragma("GCC unroll 4") for (int c = 0; c < FC; c++) {          \
            __m256 wv = in_register(LOAD(AT(w[c], k0)));                \
            _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)         \
                acc[r][c] = _mm256_fmadd_ps(xv[r], wv, acc[r][c]);      \
        }                                                               \
    } while (0)

/* The R x 4 sums z[r][c] = sum_k x[r][k] w[c][k] of a block, row r in
 * lanes 0..3 of z[r].  Inlined with constant R so the accumulators live in
 * registers. */
static inline __attribute__((always_inline)) void
dot_block(__m128 *z, const float *const *x, const float *const *w, int K, const int R)
{
    __m256 acc[FR][FC];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int c = 0; c < FC; c++)
            acc[r][c] = _mm256_setzero_ps();

    /* Steps start at k0 = -m, m = w[0]'s offset in its 32-byte block, so
     * W's loads never straddle cache lines; the accumulators are rotated
     * back by m lanes below, which makes the result independent of the
     * buffers' addresses (see avx512.c). */
    int m = (int)((uintptr_t)w[0] / sizeof(float) & 7), k0 = 0;
    if (m) {
        int hi = K + m < 8 ? K + m : 8; /* lanes m..hi-1 hold k = 0..hi-m-1 */
        __m256i first = _mm256_andnot_si256(lane_mask(m), lane_mask(hi));
        k0 = -m;
#define FIRST_LOAD(p) _mm256_maskload_ps((p), first)
        DOT_STEP(FIRST_LOAD);
#undef FIRST_LOAD
        k0 += 8;
    }
    /* One step an iteration: two (as avx512.c does) leave GCC short of
     * registers (16 are in use), and its spills made the loop 13% slower. */
    for (; k0 + 8 <= K; k0 += 8)
        DOT_STEP(_mm256_loadu_ps);
    if (k0 < K) {
        __m256i tail = lane_mask(K - k0);
#define TAIL_LOAD(p) _mm256_maskload_ps((p), tail)
        DOT_STEP(TAIL_LOAD);
#undef TAIL_LOAD
    }
    if (m) {
        __m256i rot = _mm256_and_si256(
            _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(m)),
            _mm256_set1_epi32(7));
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
#pragma GCC unroll 4
            for (int c = 0; c < FC; c++)
                acc[r][c] = _mm256_permutevar8x32_ps(acc[r][c], rot);
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
        z[r] = reduce_row(acc[r]);
}

/* Y[r][c] = act(X[r] . W[c] + b[c]) for r < nr <= FT_ROWS, c < nc <= 4.
 * The blocks' sums are computed first, then packed two rows a vector, and
 * the activation runs on those vectors together (independent chains that
 * overlap); each output row is then one 4-float store. */
static void forward_tile(float *Y, int ldy, const float *X, const float *W, int ld,
                         const float *b, int K, int nr, int nc, nn_act act)
{
    /* Rows past nr or nc repeat the last real one; their sums are dropped. */
    const float *w[FC];
    float bias[FC];
    for (int c = 0; c < FC; c++) {
        w[c] = W + (size_t)(c < nc ? c : nc - 1) * ld;
        bias[c] = b[c < nc ? c : nc - 1];
    }
    __m128 b4 = _mm_loadu_ps(bias);
    __m256 bv = _mm256_set_m128(b4, b4);
    __m128 rows[FT_ROWS + 1];
    int blocks = (nr + FR - 1) / FR;
    for (int g = 0; g < blocks; g++) {
        const float *x[FR];
        for (int r = 0; r < FR; r++) {
            int row = g * FR + r < nr ? g * FR + r : nr - 1;
            x[r] = X + (size_t)row * ld;
        }
        dot_block(rows + g * FR, x, w, K, FR);
    }
    rows[blocks * FR] = _mm_setzero_ps(); /* the odd row of the last pair, if any */
    __m256 z[(FT_ROWS + 1) / 2];
    int pairs = (nr + 1) / 2;
    for (int p = 0; p < pairs; p++)
        z[p] = _mm256_add_ps(_mm256_set_m128(rows[2 * p + 1], rows[2 * p]), bv);
    if (pairs == FT_ROWS / 2 && act == NN_ACT_SIGMOID) { /* the common case, unrolled */
        const int n = FT_ROWS / 2;
#pragma GCC unroll 6
        for (int p = 0; p < n; p++)
            z[p] = sigmoid_ps(z[p]);
    } else {
        for (int p = 0; p < pairs; p++)
            z[p] = act_forward_ps(z[p], act);
    }
    if (nc == FC) {
        for (int r = 0; r < nr; r++)
            _mm_storeu_ps(Y + (size_t)r * ldy, r & 1 ? _mm256_extractf128_ps(z[r / 2], 1)
                                                     : _mm256_castps256_ps128(z[r / 2]));
    } else {
        __m128i cols = _mm256_castsi256_si128(lane_mask(nc));
        for (int r = 0; r < nr; r++)
            _mm_maskstore_ps(Y + (size_t)r * ldy, cols,
                             r & 1 ? _mm256_extractf128_ps(z[r / 2], 1)
                                   : _mm256_castps256_ps128(z[r / 2]));
    }
}

/* ---- dX and dW: 6 x 16 broadcast tiles ---------------------------------------- */

#define AR 6 /* rows per tile */
#define AV 2 /* vectors of 8 columns per tile */

/* C[r][c] (+)= sum_k A[r*a_rs + k*a_cs] Bm[k*ldb + c] for r < mr <= R,
 * c < 8 nv (the last vector masked by `last`, unless `full`); with `sgd`,
 * the sums (from zero) are instead consumed by the SGD rule
 * C -= lr * (sum + wd * C), in the optimizer's order of operations and
 * without contraction, so the bits equal the unfused path.  Inlined with
 * constant R, nv and `full` so the accumulators live in registers. */
static inline __attribute__((always_inline)) void
acc_tile(float *C, int ldc, const float *A, size_t a_rs, size_t a_cs, const float *Bm, int ldb,
         int K, int mr, const int R, const int nv, const int full, __m256i last,
         const int accumulate, const int sgd, float lr, float wd, const float *b, nn_act act)
{
    const __m256i all = _mm256_set1_epi32(-1);
    const float *a[AR];
    __m256 acc[AR][AV];
#pragma GCC unroll 6
    for (int r = 0; r < R; r++) {
        a[r] = A + (size_t)(r < mr ? r : mr - 1) * a_rs;
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++)
            acc[r][v] = !accumulate || r >= mr ? _mm256_setzero_ps()
                        : v == nv - 1 && !full ? _mm256_maskload_ps(C + (size_t)r * ldc + 8 * v, last)
                                               : _mm256_loadu_ps(C + (size_t)r * ldc + 8 * v);
    }
    /* One k: a row of Bm (the last vector masked only when the tile is
     * narrower than 8 nv), then a broadcast of A(r, k) per row. */
#define ACC_STEP(k)                                                                 \
    do {                                                                            \
        const float *bk = Bm + (size_t)(k) * ldb;                                   \
        __m256 bv[AV];                                                              \
        _Pragma("GCC unroll 2") for (int v = 0; v < nv; v++)                        \
            bv[v] = v == nv - 1 && !full ? _mm256_maskload_ps(bk + 8 * v, last)     \
                                         : _mm256_loadu_ps(bk + 8 * v);             \
        _Pragma("GCC unroll 6") for (int r = 0; r < R; r++) {                       \
            __m256 av = _mm256_broadcast_ss(a[r] + (size_t)(k) * a_cs);             \
            _Pragma("GCC unroll 2") for (int v = 0; v < nv; v++)                    \
                acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);                  \
        }                                                                           \
    } while (0)
    int k = 0;
    for (; k + 2 <= K; k += 2) {
        ACC_STEP(k);
        ACC_STEP(k + 1);
    }
    if (k < K)
        ACC_STEP(k);
#undef ACC_STEP
#pragma GCC unroll 6
    for (int r = 0; r < R; r++) {
        if (r >= mr)
            break;
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) {
            float *c = C + (size_t)r * ldc + 8 * v;
            __m256i mk = v == nv - 1 && !full ? last : all;
            __m256 out = acc[r][v];
            if (sgd) {
                __m256 w = _mm256_maskload_ps(c, mk);
                __m256 g = _mm256_add_ps(out, _mm256_mul_ps(_mm256_set1_ps(wd), w));
                out = _mm256_sub_ps(w, _mm256_mul_ps(_mm256_set1_ps(lr), g));
            } else if (b) { /* the blocked forward's epilogue: act(sum + b[c]) */
                out = act_forward_ps(_mm256_add_ps(out, _mm256_maskload_ps(b + 8 * v, mk)), act);
            }
            /* plain stores where whole: a masked one is microcoded on AMD */
            if (v == nv - 1 && !full)
                _mm256_maskstore_ps(c, mk, out);
            else
                _mm256_storeu_ps(c, out);
        }
    }
}

/* acc_tile with constant R, nv and `full`: a full-width tile has no masked
 * load; a tile of at most 4 or 2 rows (the last row block of most layers)
 * computes only those, not 6 rows. */
#define ACC_TILE_BY_WIDTH(R, a_rs, a_cs, accumulate, sgd, lr, wd)                          \
    do {                                                                                   \
        int nv = (nc + 7) / 8;                                                             \
        __m256i last = lane_mask(nc - 8 * (nv - 1));                                       \
        if (nc == 8 * AV)                                                                  \
            acc_tile(C, ldc, A, a_rs, a_cs, Bm, ldb, K, mr, R, AV, 1, last, accumulate, sgd, lr, \
                     wd, NULL, NN_ACT_IDENTITY);                                           \
        else if (nv == 2)                                                                  \
            acc_tile(C, ldc, A, a_rs, a_cs, Bm, ldb, K, mr, R, 2, 0, last, accumulate, sgd, lr, \
                     wd, NULL, NN_ACT_IDENTITY);                                           \
        else                                                                               \
            acc_tile(C, ldc, A, a_rs, a_cs, Bm, ldb, K, mr, R, 1, 0, last, accumulate, sgd, lr, \
                     wd, NULL, NN_ACT_IDENTITY);                                           \
    } while (0)
#define ACC_TILE(a_rs, a_cs, accumulate, sgd, lr, wd)                                      \
    do {                                                                                   \
        if (mr > 4)                                                                        \
            ACC_TILE_BY_WIDTH(AR, a_rs, a_cs, accumulate, sgd, lr, wd);                    \
        else if (mr > 2)                                                                   \
            ACC_TILE_BY_WIDTH(4, a_rs, a_cs, accumulate, sgd, lr, wd);                     \
        else                                                                               \
            ACC_TILE_BY_WIDTH(2, a_rs, a_cs, accumulate, sgd, lr, wd);                     \
    } while (0)

static void input_tile(float *C, int ldc, const float *A, int lda, const float *Bm, int ldb,
                       int K, int mr, int nc)
{
    ACC_TILE((size_t)lda, 1, 0, 0, 0.0f, 0.0f); /* A(r, k) = dZ[r, k]; dX is overwritten */
}

static void weight_tile(float *C, int ldc, const float *A, int lda, const float *Bm, int ldb,
                        int K, int mr, int nc)
{
    ACC_TILE(1, (size_t)lda, 1, 0, 0.0f, 0.0f); /* A(r, k) = dZ[k, r]; dW accumulates */
}

static void weight_sgd_tile(float *C, int ldc, const float *A, int lda, const float *Bm,
                            int ldb, int K, int mr, int nc, float lr, float wd)
{
    ACC_TILE(1, (size_t)lda, 0, 1, lr, wd); /* C is W: updated in place */
}


/* ---- packed panels: the blocked path (tiled.h, panel.c) ------------------------ */

/* Panels are 16 columns (two vectors) wide and tiles 6 rows tall: the tile
 * is acc_tile itself, reading the packed panel (16 floats a k, 64-byte
 * aligned, zeros past the last column) where the plain path reads the
 * operand in place, so both paths sum every element k in order, one FMA
 * chain from C or zero: the same bits. */
#define PW (8 * AV)

/* P[k*16 + c] = Bm[k*ldb + c] for k < kc, c < nc; columns nc..15 are zero. */
static void pack_rows(float *P, const float *Bm, int ldb, int kc, int nc)
{
    if (nc == PW) {
        for (int k = 0; k < kc; k++) {
            const float *src = Bm + (size_t)k * ldb;
            _mm256_store_ps(P + (size_t)k * PW, _mm256_loadu_ps(src));
            _mm256_store_ps(P + (size_t)k * PW + 8, _mm256_loadu_ps(src + 8));
        }
        return;
    }
    __m256i m0 = lane_mask(nc < 8 ? nc : 8), m1 = lane_mask(nc > 8 ? nc - 8 : 0);
    for (int k = 0; k < kc; k++) {
        const float *src = Bm + (size_t)k * ldb;
        _mm256_store_ps(P + (size_t)k * PW, _mm256_maskload_ps(src, m0));
        _mm256_store_ps(P + (size_t)k * PW + 8, _mm256_maskload_ps(src + 8, m1));
    }
}

/* P[k*16 + c] = Bm[c*ldb + k] for k < kc, c < nc (the forward's W^T);
 * columns nc..15 are zero.  8 x 8 blocks: 8 rows of Bm in, transposed, 8
 * half-rows of P out. */
static void pack_cols(float *P, const float *Bm, int ldb, int kc, int nc)
{
    for (int k0 = 0; k0 < kc; k0 += 8) {
        int kn = kc - k0 < 8 ? kc - k0 : 8;
        __m256i km = lane_mask(kn);
        for (int c0 = 0; c0 < PW; c0 += 8) {
            __m256 r[8];
            const float *src = Bm + (size_t)c0 * ldb + k0;
            if (kn == 8 && c0 + 8 <= nc) { /* a full block: plain loads */
#pragma GCC unroll 8
                for (int i = 0; i < 8; i++)
                    r[i] = _mm256_loadu_ps(src + (size_t)i * ldb);
            } else {
                for (int i = 0; i < 8; i++)
                    r[i] = c0 + i < nc ? _mm256_maskload_ps(src + (size_t)i * ldb, km)
                                       : _mm256_setzero_ps();
            }
            transpose_8(r);
            for (int i = 0; i < kn; i++)
                _mm256_store_ps(P + (size_t)(k0 + i) * PW + c0, r[i]);
        }
    }
}

/* Ap[t*kc*6 + k*6 + r] = A[(6t + r)*lda + k] for the row tiles t of mr
 * rows (a partial last tile of the forward's X or dX's dZ), rows past mr
 * zero. */
static void pack_a_rows(float *Ap, const float *A, size_t lda, int kc, int mr)
{
    for (int t0 = 0; t0 < mr; t0 += AR) {
        float *t = Ap + (size_t)(t0 / AR) * kc * AR;
        for (int k = 0; k < kc; k++)
            for (int r = 0; r < AR; r++)
                t[(size_t)k * AR + r] = t0 + r < mr ? A[(size_t)(t0 + r) * lda + k] : 0.0f;
    }
}

/* Ap[t*kc*6 + k*6 + r] = A[k*lda + 6t + r] (dW's dZ, read down its
 * columns): 6 floats a k, rows past mr zero.  Each k but the last is one
 * 8-float store whose last two floats the next k overwrites: a masked
 * store is microcoded on AMD (Zen 3: this packing, repeated for every
 * group of panels, took a third of dW's time with one). */
static void pack_a_cols(float *Ap, const float *A, size_t lda, int kc, int mr)
{
    for (int r0 = 0; r0 < mr; r0 += AR) {
        float *t = Ap + (size_t)(r0 / AR) * kc * AR;
        __m256i m = lane_mask(mr - r0 < AR ? mr - r0 : AR);
        for (int k = 0; k < kc - 1; k++)
            _mm256_storeu_ps(t + (size_t)k * AR, _mm256_maskload_ps(A + (size_t)k * lda + r0, m));
        __m256 v = _mm256_maskload_ps(A + (size_t)(kc - 1) * lda + r0, m);
        float *end = t + (size_t)(kc - 1) * AR;
        _mm_storeu_ps(end, _mm256_castps256_ps128(v));
        _mm_storel_pi((__m64 *)(end + 4), _mm256_extractf128_ps(v, 1));
    }
}

/* C[r][c] for r < mr <= 6, c < nc <= 16 from A(r, k) = A[r*a_rs + k*a_cs]
 * (all 6 rows readable) and a packed kc x 16 panel: the sum from C
 * (load_c) or zero, plus A(r, k) P[k][c] for k in order, then the
 * epilogue (tiled.h).  acc_tile with constant rows, widths and epilogue. */
#define PANEL_BY_WIDTH(LC, SGD, BIAS)                                                      \
    do {                                                                                   \
        if (nc == PW)                                                                      \
            acc_tile(C, ldc, A, a_rs, a_cs, P, PW, kc, mr, AR, AV, 1, last, LC, SGD, lr, wd, \
                     BIAS, act);                                                           \
        else if (nc > 8)                                                                   \
            acc_tile(C, ldc, A, a_rs, a_cs, P, PW, kc, mr, AR, 2, 0, last, LC, SGD, lr, wd, \
                     BIAS, act);                                                           \
        else                                                                               \
            acc_tile(C, ldc, A, a_rs, a_cs, P, PW, kc, mr, AR, 1, 0, last, LC, SGD, lr, wd, \
                     BIAS, act);                                                           \
    } while (0)

static void panel_tile(float *C, int ldc, const float *A, size_t a_rs, size_t a_cs,
                       const float *P, int kc, int mr, int nc, int load_c, int epi,
                       const float *b, nn_act act, float lr, float wd)
{
    __m256i last = lane_mask(nc - 8 * ((nc + 7) / 8 - 1));
    if (epi == NN_PANEL_BIAS_ACT) {
        if (load_c)
            PANEL_BY_WIDTH(1, 0, b);
        else
            PANEL_BY_WIDTH(0, 0, b);
    } else if (epi == NN_PANEL_SGD) { /* one K block: the sums start from zero */
        PANEL_BY_WIDTH(0, 1, NULL);
    } else if (load_c) {
        PANEL_BY_WIDTH(1, 0, NULL);
    } else {
        PANEL_BY_WIDTH(0, 0, NULL);
    }
}
#undef PANEL_BY_WIDTH

/* ---- the table -------------------------------------------------------------------- */

static const nn_tiles tiles = {
    .fwd_rows = FT_ROWS, .fwd_cols = FC, .forward_tile = forward_tile,
    .acc_rows = AR, .acc_cols = 8 * AV, .vec = 8, .input_tile = input_tile, .weight_tile = weight_tile,
    .weight_sgd_tile = weight_sgd_tile,
    .panel_k = NN_PANEL_K, .panel_dw_always = 1, .pack_rows = pack_rows,
    .pack_cols = pack_cols, .pack_a_rows = pack_a_rows, .pack_a_cols = pack_a_cols,
    .panel_tile = panel_tile,
};

NN_TILED_KERNEL_TABLE(nn_kernels_avx2, "avx2", tiles, act_backward);

#endif
