/* avx512.c - the dense kernels with AVX-512F (16 floats a vector); the only
 * file built with -mavx512f -mfma.  cpu.c selects this table only when the
 * processor has AVX-512F, AVX2 and FMA and the OS saves the zmm state.
 *
 * Micro-kernels (driven by tiled.c):
 *   forward  tiles of 16 samples x 8 outputs, in blocks of 2 samples x 8
 *            outputs: 16 zmm accumulators, each a dot product split over 16
 *            lanes of k; per 16 k, 2 loads of X and 8 of W (the tile's 8 W
 *            rows, 25 KB at in = 784, stay in L1 while X streams) feed 16
 *            FMAs.  The 16 sums are reduced into one zmm (lane 8r+c) by a
 *            fixed transpose-and-add tree, so bias and activation run on
 *            whole vectors, eight blocks at a time, and each output row is
 *            one masked store.  A tile of at most 4 outputs (a layer's last)
 *            uses 4 x 4 blocks instead, lane 4r+c.  Per-block costs (the
 *            reduction, the stores) are what the larger blocks and vector
 *            stores cut: on in = 784 the kernel is compute-bound, not
 *            limited by X's traffic from L2.  The k ends are masked loads
 *            (zeros add nothing).  Every sum, whatever the block shape or
 *            its place in it, is the same: lane j of the accumulator sums
 *            k = j, j + 16, ... in order, then the same tree.
 *   dX, dW   8 rows x 48 columns: 24 zmm accumulators; per k, 3 vector loads
 *            of a row of the right operand and 8 broadcasts of the left one
 *            feed 24 FMAs.  The k loop does two k an iteration: 3-8% faster
 *            on every shape, in alternating runs against one k (four k, and
 *            tiles of 6 x 64, 12 x 32 and 14 x 32, were not faster; neither
 *            was prefetching the next rows of the right operand or the next
 *            tile's C).  Only a narrower tile masks its last vector; a full
 *            one loads it plainly.  A tile of at most 4 rows (the last row
 *            block of dW for out = 10) computes 4 rows, not 8 copies of
 *            them: 1.3x on those layers' dW.
 * Sums run k = 0, 1, 2, ... in every lane; nothing depends on the thread
 * count.  Neither operand needs packing: the forward reads rows of X and W
 * along k, the backward reads rows of W or X along their columns.
 */
#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/avx512_act.h"
#include "kernels/kernels.h"
#include "kernels/tiled.h"
#include "math/activation.h"

static void act_backward(float *dY, float *db, const float *Y, int B, int out, nn_act act)
{
    /* 16 columns at a time, the rows in order: the same sums as ref.c. */
    for (int j = 0; j < out; j += 16) {
        __mmask16 m = out - j >= 16 ? 0xFFFF : (__mmask16)((1u << (out - j)) - 1);
        __m512 s = _mm512_setzero_ps();
        for (int i = 0; i < B; i++) {
            float *g = dY + (size_t)i * out + j;
            __m512 dz = _mm512_maskz_loadu_ps(m, g);
            if (act != NN_ACT_IDENTITY) {
                __m512 a = _mm512_maskz_loadu_ps(m, Y + (size_t)i * out + j);
                dz = _mm512_mul_ps(dz, act_derivative_ps(a, act));
                _mm512_mask_storeu_ps(g, m, dz);
            }
            s = _mm512_add_ps(s, dz);
        }
        _mm512_mask_storeu_ps(db + j, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, db + j), s));
    }
}

/* ---- forward: blocks of 16 dot products ------------------------------------ */

#define FT_ROWS 16 /* samples (rows of X) per tile */
#define FT_COLS 8  /* outputs (rows of W) per tile */

/* Per 128-bit lane l: [sum of a's lanes 4l..4l+3, the same of b, c, d]. */
static inline __m512 sum4_by_quarter(__m512 a, __m512 b, __m512 c, __m512 d)
{
    __m512 ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
    __m512 cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
    __m512d abd = _mm512_castps_pd(ab), cdd = _mm512_castps_pd(cd);
    return _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(abd, cdd)),
                         _mm512_castpd_ps(_mm512_unpackhi_pd(abd, cdd)));
}

/* The lane rotation that puts lane (i + m) mod 16 in lane i. */
static inline __m512 rotate_lanes(__m512 v, __m512i rot)
{
    return _mm512_permutexvar_ps(rot, v);
}

/* The 16 dot products acc[i] into lane i, each summed by the same fixed
 * tree (whatever i).  When the accumulators' lanes are rotated by m (see
 * dot_block), `rot` undoes it first; for m a multiple of 4 the rotation
 * moves whole 128-bit blocks, which the first two levels of the tree
 * (within blocks) commute with, so it is undone after them on 4 vectors
 * instead of 16. */
static inline __m512 reduce_16(__m512 acc[16], int m, __m512i rot)
{
    if (m & 3) {
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++)
            acc[i] = rotate_lanes(acc[i], rot);
    }
    __m512 u[4];
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) {
        u[q] = sum4_by_quarter(acc[4 * q], acc[4 * q + 1], acc[4 * q + 2], acc[4 * q + 3]);
        if (m && !(m & 3))
            u[q] = rotate_lanes(u[q], rot);
    }
    /* u[q] lane block l holds sums q*4 .. q*4+3 over k lanes 4l..4l+3. */
    __m512 s01 = _mm512_add_ps(_mm512_shuffle_f32x4(u[0], u[1], _MM_SHUFFLE(1, 0, 1, 0)),
                               _mm512_shuffle_f32x4(u[0], u[1], _MM_SHUFFLE(3, 2, 3, 2)));
    __m512 s23 = _mm512_add_ps(_mm512_shuffle_f32x4(u[2], u[3], _MM_SHUFFLE(1, 0, 1, 0)),
                               _mm512_shuffle_f32x4(u[2], u[3], _MM_SHUFFLE(3, 2, 3, 2)));
    return _mm512_add_ps(_mm512_shuffle_f32x4(s01, s23, _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(s01, s23, _MM_SHUFFLE(3, 1, 3, 1)));
}

/* v, made to live in a register: otherwise the compiler may fold a load
 * into every FMA that uses it (a memory operand each), repeating the load
 * R times. */
static inline __m512 in_register(__m512 v)
{
    __asm__("" : "+v"(v));
    return v;
}

/* One step of 16 k: lanes j hold k = k0 + j (k0 may be negative in the
 * first, masked step); the addresses are computed as integers because they
 * may point before the rows (masked lanes are never read).  The R rows of X
 * are loaded once, then each of the C rows of W feeds R FMAs. */
#define AT(p, k0) ((const float *)((uintptr_t)(p) + (uintptr_t)(intptr_t)(k0) * sizeof(float)))
#define DOT_STEP(LOAD)                                                          \
    do {                                                                        \
        __m512 xv[4];                                                           \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                     \
            xv[r] = LOAD(AT(x[r], k0));                                         \
        _Pragma("GCC unroll 8") for (int c = 0; c < C; c++) {                   \
            __m512 wv = in_register(LOAD(AT(w[c], k0)));                        \
            _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                 \
                acc[r * C + c] = _mm512_fmadd_ps(xv[r], wv, acc[r * C + c]);    \
        }                                                                       \
    } while (0)

/* The R x C = 16 sums z[r][c] = sum_k x[r][k] w[c][k] of a block, in lane
 * r*C + c.  Inlined with constant R, C so the accumulators live in
 * registers. */
static inline __attribute__((always_inline)) __m512
dot_block(const float *const *x, const float *const *w, int K, const int R, const int C)
{
    __m512 acc[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++)
        acc[i] = _mm512_setzero_ps();

    /* Loads that straddle two cache lines cost two, so the steps start at
     * k0 = -m, m = w[0]'s offset in its 64-byte line: W's loads are aligned
     * (and X's too when X shares W's alignment, as buffers from one
     * allocator usually do).  Lane j then sums the k = j - m (mod 16); the
     * accumulators are rotated back by m lanes (reduce_16), so every lane holds
     * exactly the sum, in the same order, that steps from k0 = 0 would give:
     * the result does not depend on where the buffers lie in memory (the
     * extra zero products of masked lanes add +0 to sums that start at +0). */
    int m = (int)((uintptr_t)w[0] / sizeof(float) & 15), k0 = 0;
    if (m) {
        int hi = K + m < 16 ? K + m : 16; /* lanes m..hi-1 hold k = 0..hi-m-1 */
        __mmask16 first = (__mmask16)(((1u << hi) - 1) & ~((1u << m) - 1));
        k0 = -m;
#define FIRST_LOAD(p) _mm512_maskz_loadu_ps(first, (p))
        DOT_STEP(FIRST_LOAD);
#undef FIRST_LOAD
        k0 += 16;
    }
    /* Two steps an iteration: half the loop's integer work, which competes
     * with the FMAs for their ports. */
    for (; k0 + 32 <= K; k0 += 16) {
        DOT_STEP(_mm512_loadu_ps);
        k0 += 16;
        DOT_STEP(_mm512_loadu_ps);
    }
    if (k0 + 16 <= K) {
        DOT_STEP(_mm512_loadu_ps);
        k0 += 16;
    }
    if (k0 < K) {
        __mmask16 tail = (__mmask16)((1u << (K - k0)) - 1);
#define TAIL_LOAD(p) _mm512_maskz_loadu_ps(tail, (p))
        DOT_STEP(TAIL_LOAD);
#undef TAIL_LOAD
    }
    __m512i rot = _mm512_and_si512(
        _mm512_add_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                         _mm512_set1_epi32(m)),
        _mm512_set1_epi32(15));
    return reduce_16(acc, m, rot);
}

/* v's lanes from 4q on, moved down to lane 0 (q = 0..3; the lanes above
 * the end are don't-cares). */
static inline __m512 from_quarter(__m512 v, int q)
{
    switch (q) {
    case 0:
        return v;
    case 1:
        return _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(3, 3, 2, 1));
    case 2:
        return _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(3, 3, 3, 2));
    default:
        return _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(3, 3, 3, 3));
    }
}

/* Y[r][c] = act(X[r] . W[c] + b[c]) for r < nr <= FT_ROWS, c < nc <= C, by
 * blocks of R x C (R*C = 16) stacked down the tile.  The blocks' sums are
 * computed first and the activation then runs on their vectors together:
 * independent chains that overlap, where one sigmoid after each block would
 * leave its ~100-cycle latency exposed. */
static inline __attribute__((always_inline)) void
forward_blocks(float *Y, int ldy, const float *X, const float *W, int ld, const float *b, int K,
               int nr, int nc, nn_act act, const int R, const int C)
{
    /* Rows past nr or nc repeat the last real one; their sums are dropped. */
    const float *w[FT_COLS];
    float bias[16];
    for (int c = 0; c < C; c++)
        w[c] = W + (size_t)(c < nc ? c : nc - 1) * ld;
    for (int i = 0; i < 16; i++)
        bias[i] = b[i % C < nc ? i % C : nc - 1];
    __m512 bv = _mm512_loadu_ps(bias);
    __m512 z[FT_ROWS / 2];
    int blocks = (nr + R - 1) / R;
    for (int g = 0; g < blocks; g++) {
        const float *x[4];
        for (int r = 0; r < R; r++) {
            int row = g * R + r < nr ? g * R + r : nr - 1;
            x[r] = X + (size_t)row * ld;
        }
        z[g] = _mm512_add_ps(dot_block(x, w, K, R, C), bv);
    }
    if (blocks == FT_ROWS / R && act == NN_ACT_SIGMOID) { /* the common case, unrolled */
        const int n = FT_ROWS / R; /* (a bound GCC can annotate at every -O level) */
#pragma GCC unroll 8
        for (int g = 0; g < n; g++)
            z[g] = sigmoid_ps(z[g]);
    } else {
        for (int g = 0; g < blocks; g++)
            z[g] = act_forward_ps(z[g], act);
    }
    /* Row r of a block is lanes r*C .. r*C + nc - 1: one masked store. */
    __mmask16 cols = (__mmask16)((1u << nc) - 1);
    for (int g = 0; g < blocks; g++) {
        int rows = nr - g * R < R ? nr - g * R : R;
        for (int r = 0; r < rows; r++)
            _mm512_mask_storeu_ps(Y + (size_t)(g * R + r) * ldy, cols,
                                  from_quarter(z[g], r * C / 4));
    }
}

/* A tile of FT_ROWS x FT_COLS in 2 x 8 blocks; one of at most 4 outputs (the
 * last column block of a layer whose width is 4 mod 8 or less) in 4 x 4
 * blocks, so it does not compute 8 outputs for 4. */
static void forward_tile(float *Y, int ldy, const float *X, const float *W, int ld,
                         const float *b, int K, int nr, int nc, nn_act act)
{
    if (nc > 4)
        forward_blocks(Y, ldy, X, W, ld, b, K, nr, nc, act, 2, 8);
    else
        forward_blocks(Y, ldy, X, W, ld, b, K, nr, nc, act, 4, 4);
}

/* ---- dX and dW: 8 x 48 broadcast tiles ---------------------------------------- */

#define AR 8 /* rows per tile */
#define AV 3 /* vectors of 16 columns per tile */

/* C[r][c] (+)= sum_k A[r*a_rs + k*a_cs] Bm[k*ldb + c] for r < mr <= R,
 * c < 16 nv (the last vector masked by `last`); with `sgd`, the sums (from
 * zero) are instead consumed by the SGD rule C -= lr * (sum + wd * C), in the
 * optimizer's order of operations and without contraction, so the bits equal
 * the unfused path.  Inlined with constant R, nv (and `last`, when full) so
 * the accumulators live in registers. */
static inline __attribute__((always_inline)) void
acc_tile(float *C, int ldc, const float *A, size_t a_rs, size_t a_cs, const float *Bm, int ldb,
         int K, int mr, const int R, const int nv, __mmask16 last, const int accumulate,
         const int sgd, float lr, float wd)
{
    const float *a[AR];
    __m512 acc[AR][AV];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
        a[r] = A + (size_t)(r < mr ? r : mr - 1) * a_rs;
#pragma GCC unroll 3
        for (int v = 0; v < nv; v++) {
            __mmask16 m = v == nv - 1 ? last : 0xFFFF;
            acc[r][v] = accumulate && r < mr
                            ? _mm512_maskz_loadu_ps(m, C + (size_t)r * ldc + 16 * v)
                            : _mm512_setzero_ps();
        }
    }
    /* One k: a row of Bm (the last vector masked only when the tile is
     * narrower than 16 nv), then a broadcast of A(r, k) per row. */
#define ACC_STEP(k)                                                                 \
    do {                                                                            \
        const float *bk = Bm + (size_t)(k) * ldb;                                   \
        __m512 bv[AV];                                                              \
        _Pragma("GCC unroll 3") for (int v = 0; v < nv; v++)                        \
            bv[v] = v == nv - 1 && last != 0xFFFF                                   \
                        ? _mm512_maskz_loadu_ps(last, bk + 16 * v)                  \
                        : _mm512_loadu_ps(bk + 16 * v);                             \
        _Pragma("GCC unroll 8") for (int r = 0; r < R; r++) {                       \
            __m512 av = _mm512_set1_ps(a[r][(size_t)(k) * a_cs]);                   \
            _Pragma("GCC unroll 3") for (int v = 0; v < nv; v++)                    \
                acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);                  \
        }                                                                           \
    } while (0)
    /* Two k an iteration: measured 3-8% faster than one, and than four. */
    int k = 0;
    for (; k + 2 <= K; k += 2) {
        ACC_STEP(k);
        ACC_STEP(k + 1);
    }
    if (k < K)
        ACC_STEP(k);
#undef ACC_STEP
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
        if (r >= mr)
            break;
#pragma GCC unroll 3
        for (int v = 0; v < nv; v++) {
            float *c = C + (size_t)r * ldc + 16 * v;
            __mmask16 m = v == nv - 1 ? last : 0xFFFF;
            __m512 out = acc[r][v];
            if (sgd) {
                __m512 w = _mm512_maskz_loadu_ps(m, c);
                __m512 g = _mm512_add_ps(out, _mm512_mul_ps(_mm512_set1_ps(wd), w));
                out = _mm512_sub_ps(w, _mm512_mul_ps(_mm512_set1_ps(lr), g));
            }
            _mm512_mask_storeu_ps(c, m, out);
        }
    }
}

/* acc_tile with constant R and nv: a full-width tile has no masked load;
 * a tile of at most 4 rows (the last row block of an out = 10 layer's dW)
 * computes 4 rows, not 8. */
#define ACC_TILE_BY_WIDTH(R, a_rs, a_cs, accumulate, sgd, lr, wd)                          \
    do {                                                                                   \
        int nv = (nc + 15) / 16;                                                           \
        __mmask16 last = (__mmask16)(0xFFFFu >> (16 * nv - nc));                           \
        if (nc == 16 * AV)                                                                 \
            acc_tile(C, ldc, A, a_rs, a_cs, Bm, ldb, K, mr, R, AV, 0xFFFF, accumulate, sgd, lr, wd); \
        else if (nv == 3)                                                                  \
            acc_tile(C, ldc, A, a_rs, a_cs, Bm, ldb, K, mr, R, 3, last, accumulate, sgd, lr, wd); \
        else if (nv == 2)                                                                  \
            acc_tile(C, ldc, A, a_rs, a_cs, Bm, ldb, K, mr, R, 2, last, accumulate, sgd, lr, wd); \
        else                                                                               \
            acc_tile(C, ldc, A, a_rs, a_cs, Bm, ldb, K, mr, R, 1, last, accumulate, sgd, lr, wd); \
    } while (0)
#define ACC_TILE(a_rs, a_cs, accumulate, sgd, lr, wd)                                      \
    do {                                                                                   \
        if (mr > 4)                                                                        \
            ACC_TILE_BY_WIDTH(AR, a_rs, a_cs, accumulate, sgd, lr, wd);                    \
        else                                                                               \
            ACC_TILE_BY_WIDTH(4, a_rs, a_cs, accumulate, sgd, lr, wd);                     \
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

/* ---- packed panels: the blocked path (tiled.h, nn_panel_*) -------------------- */

/* P[k*48 + c] = Bm[k*ldb + c] for k < kc, c < nc; columns nc..47 are zero. */
static void pack_rows(float *P, const float *Bm, int ldb, int kc, int nc)
{
    if (nc == 16 * AV) { /* a full panel: plain loads */
        for (int k = 0; k < kc; k++) {
            const float *src = Bm + (size_t)k * ldb;
            float *dst = P + (size_t)k * 16 * AV;
            __m512 v0 = _mm512_loadu_ps(src), v1 = _mm512_loadu_ps(src + 16),
                   v2 = _mm512_loadu_ps(src + 32);
            _mm512_store_ps(dst, v0);
            _mm512_store_ps(dst + 16, v1);
            _mm512_store_ps(dst + 32, v2);
        }
        return;
    }
    int nv = (nc + 15) / 16;
    __mmask16 last = (__mmask16)(0xFFFFu >> (16 * nv - nc));
    for (int k = 0; k < kc; k++) {
        const float *src = Bm + (size_t)k * ldb;
        float *dst = P + (size_t)k * 16 * AV;
        for (int v = 0; v < AV; v++) {
            __mmask16 m = v < nv - 1 ? 0xFFFF : v == nv - 1 ? last : 0;
            _mm512_store_ps(dst + 16 * v, _mm512_maskz_loadu_ps(m, src + 16 * v));
        }
    }
}

/* The 16 x 16 transpose: r[i] lane j becomes r[j] lane i. */
static inline __attribute__((always_inline)) void transpose_16(__m512 r[16])
{
    __m512 t[16], u[16];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    /* u[4g + j], 128-bit lane L: rows 4g..4g+3 of column 4L + j */
#pragma GCC unroll 4
    for (int g = 0; g < 4; g++) {
        __m512 lo = t[4 * g], hi = t[4 * g + 1], lo2 = t[4 * g + 2], hi2 = t[4 * g + 3];
        u[4 * g + 0] = _mm512_shuffle_ps(lo, lo2, _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * g + 1] = _mm512_shuffle_ps(lo, lo2, _MM_SHUFFLE(3, 2, 3, 2));
        u[4 * g + 2] = _mm512_shuffle_ps(hi, hi2, _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * g + 3] = _mm512_shuffle_ps(hi, hi2, _MM_SHUFFLE(3, 2, 3, 2));
    }
    /* column 4L + j gathers lane L of u[j], u[4 + j], u[8 + j], u[12 + j] */
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
        __m512 v0 = _mm512_shuffle_f32x4(u[j], u[4 + j], _MM_SHUFFLE(1, 0, 1, 0));
        __m512 v1 = _mm512_shuffle_f32x4(u[j], u[4 + j], _MM_SHUFFLE(3, 2, 3, 2));
        __m512 v2 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], _MM_SHUFFLE(1, 0, 1, 0));
        __m512 v3 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], _MM_SHUFFLE(3, 2, 3, 2));
        r[j] = _mm512_shuffle_f32x4(v0, v2, _MM_SHUFFLE(2, 0, 2, 0));
        r[4 + j] = _mm512_shuffle_f32x4(v0, v2, _MM_SHUFFLE(3, 1, 3, 1));
        r[8 + j] = _mm512_shuffle_f32x4(v1, v3, _MM_SHUFFLE(2, 0, 2, 0));
        r[12 + j] = _mm512_shuffle_f32x4(v1, v3, _MM_SHUFFLE(3, 1, 3, 1));
    }
}

/* P[k*48 + c] = Bm[c*ldb + k] for k < kc, c < nc (the forward's W^T);
 * columns nc..47 are zero.  16 x 16 blocks: 16 rows of Bm in, transposed,
 * 16 rows of P out. */
static void pack_cols(float *P, const float *Bm, int ldb, int kc, int nc)
{
    for (int k0 = 0; k0 < kc; k0 += 16) {
        int kn = kc - k0 < 16 ? kc - k0 : 16;
        __mmask16 km = (__mmask16)(0xFFFFu >> (16 - kn));
        for (int c0 = 0; c0 < 16 * AV; c0 += 16) {
            __m512 r[16];
            const float *src = Bm + (size_t)c0 * ldb + k0;
            if (kn == 16 && c0 + 16 <= nc) { /* a full block: plain loads */
#pragma GCC unroll 16
                for (int i = 0; i < 16; i++)
                    r[i] = _mm512_loadu_ps(src + (size_t)i * ldb);
            } else {
                for (int i = 0; i < 16; i++)
                    r[i] = c0 + i < nc ? _mm512_maskz_loadu_ps(km, src + (size_t)i * ldb)
                                       : _mm512_setzero_ps();
            }
            transpose_16(r);
            if (kn == 16) {
#pragma GCC unroll 16
                for (int i = 0; i < 16; i++)
                    _mm512_store_ps(P + (size_t)(k0 + i) * 16 * AV + c0, r[i]);
            } else {
                for (int i = 0; i < kn; i++)
                    _mm512_store_ps(P + (size_t)(k0 + i) * 16 * AV + c0, r[i]);
            }
        }
    }
}

/* Ap[t*kc*8 + k*8 + r] = A[(8t + r)*lda + k] for the row tiles t of mr
 * rows (the forward's X, dX's dZ): 8 x 16 blocks transposed, rows past mr
 * zero. */
static void pack_a_rows(float *Ap, const float *A, size_t lda, int kc, int mr)
{
    for (int r0 = 0; r0 < mr; r0 += 2 * AR) {
        float *t0 = Ap + (size_t)(r0 / AR) * kc * AR, *t1 = t0 + (size_t)kc * AR;
        int rows = mr - r0 < 2 * AR ? mr - r0 : 2 * AR;
        for (int k0 = 0; k0 < kc; k0 += 16) {
            int kn = kc - k0 < 16 ? kc - k0 : 16;
            __mmask16 km = (__mmask16)(0xFFFFu >> (16 - kn));
            __m512 r[16];
            for (int i = 0; i < 16; i++)
                r[i] = i < rows ? _mm512_maskz_loadu_ps(km, A + (size_t)(r0 + i) * lda + k0)
                                : _mm512_setzero_ps();
            transpose_16(r);
            for (int i = 0; i < kn; i++) {
                _mm256_store_ps(t0 + (size_t)(k0 + i) * AR, _mm512_castps512_ps256(r[i]));
                if (rows > AR)
                    _mm256_store_ps(t1 + (size_t)(k0 + i) * AR,
                                    _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(r[i]), 1)));
            }
        }
    }
}

/* Ap[t*kc*8 + k*8 + r] = A[k*lda + 8t + r] (dW's dZ, read down its columns):
 * 8 floats a k, rows past mr zero. */
static void pack_a_cols(float *Ap, const float *A, size_t lda, int kc, int mr)
{
    for (int r0 = 0; r0 < mr; r0 += AR) {
        float *t = Ap + (size_t)(r0 / AR) * kc * AR;
        int rows = mr - r0 < AR ? mr - r0 : AR;
        __mmask16 m = (__mmask16)(0xFFu >> (AR - rows));
        for (int k = 0; k < kc; k++)
            _mm256_store_ps(t + (size_t)k * AR, _mm512_castps512_ps256(_mm512_maskz_loadu_ps(
                                                    m, A + (size_t)k * lda + r0)));
    }
}

/* The tile's k loop: the 8 x nv sums s[r][v] (row r, columns 16v..16v+15;
 * nv = 1, 2 or 3 vectors) start as src[r*ls + 16v..] (ls in floats), take
 * A(r, k) P[k*48 + 16v..] for k = 0..n-1 in order, and end in
 * dst[r*ld + 16v..]: held in zmm(3r + v) throughout.  Written out in
 * assembly because the compilers' register allocation of the same loop in
 * intrinsics spilled accumulators and copied registers inside it (GCC 12).
 * Per k: nv aligned loads of the panel (zmm24..26), 8 broadcasts (zmm27..30
 * in turn), 8 nv FMAs; two k a pass.  A panel narrower than 48 (the last of
 * a product whose width is 16 or 32 past a multiple of 48) runs the loop of
 * its own width instead of multiplying zeros.
 *   panel_loop_cols: A(r, k) = A[k*a_cs + r] (dW's dZ, or a packed tile)
 *   panel_loop_rows: A(r, k) = A[r*a_rs + k] (the forward's X, dX's dZ)
 * The two differ only in the broadcasts' addresses: the instruction text
 * is built from the macros below, the operands named alike in both. */
typedef struct {
    const float *src;
    float *dst;
    size_t ls, ld;
} tile_io;

#if defined(__x86_64__)
#define PL_S(x) #x
/* One row's nv vectors: loaded from, stored to, or FMA'd with the panel. */
#define PL_LOAD_1(a, b, c) "vmovups 0(%[t]), %%zmm" PL_S(a) "\n\t"
#define PL_LOAD_2(a, b, c) PL_LOAD_1(a, b, c) "vmovups 64(%[t]), %%zmm" PL_S(b) "\n\t"
#define PL_LOAD_3(a, b, c) PL_LOAD_2(a, b, c) "vmovups 128(%[t]), %%zmm" PL_S(c) "\n\t"
#define PL_STORE_1(a, b, c) "vmovups %%zmm" PL_S(a) ", 0(%[t])\n\t"
#define PL_STORE_2(a, b, c) PL_STORE_1(a, b, c) "vmovups %%zmm" PL_S(b) ", 64(%[t])\n\t"
#define PL_STORE_3(a, b, c) PL_STORE_2(a, b, c) "vmovups %%zmm" PL_S(c) ", 128(%[t])\n\t"
#define PL_FMA_1(x, a, b, c) "vfmadd231ps %%zmm24, %%zmm" PL_S(x) ", %%zmm" PL_S(a) "\n\t"
#define PL_FMA_2(x, a, b, c) PL_FMA_1(x, a, b, c) "vfmadd231ps %%zmm25, %%zmm" PL_S(x) ", %%zmm" PL_S(b) "\n\t"
#define PL_FMA_3(x, a, b, c) PL_FMA_2(x, a, b, c) "vfmadd231ps %%zmm26, %%zmm" PL_S(x) ", %%zmm" PL_S(c) "\n\t"
#define PL_PANEL_1(o0, o1, o2) "vmovaps " #o0 "(%[p]), %%zmm24\n\t"
#define PL_PANEL_2(o0, o1, o2) PL_PANEL_1(o0, o1, o2) "vmovaps " #o1 "(%[p]), %%zmm25\n\t"
#define PL_PANEL_3(o0, o1, o2) PL_PANEL_2(o0, o1, o2) "vmovaps " #o2 "(%[p]), %%zmm26\n\t"
/* All 8 rows of C, from src (ls bytes apart) or to dst (ld bytes apart). */
#define PL_ROWS(OP, NV, base, step)                                                            \
    "mov %[" base "], %[t]\n\t" OP##NV(0, 1, 2) "add %[" step "], %[t]\n\t" OP##NV(3, 4, 5)     \
    "add %[" step "], %[t]\n\t" OP##NV(6, 7, 8) "add %[" step "], %[t]\n\t" OP##NV(9, 10, 11)   \
    "add %[" step "], %[t]\n\t" OP##NV(12, 13, 14) "add %[" step "], %[t]\n\t"                 \
    OP##NV(15, 16, 17) "add %[" step "], %[t]\n\t" OP##NV(18, 19, 20)                          \
    "add %[" step "], %[t]\n\t" OP##NV(21, 22, 23)
/* One k: the panel's row at byte offsets o0, o1, o2 of %[p], and A(r, k)
 * at the addresses a0..a7. */
#define PL_STEP(NV, o0, o1, o2, a0, a1, a2, a3, a4, a5, a6, a7)                               \
    PL_PANEL_##NV(o0, o1, o2)                                                                  \
    "vbroadcastss " a0 ", %%zmm27\n\t" PL_FMA_##NV(27, 0, 1, 2)                               \
    "vbroadcastss " a1 ", %%zmm28\n\t" PL_FMA_##NV(28, 3, 4, 5)                               \
    "vbroadcastss " a2 ", %%zmm29\n\t" PL_FMA_##NV(29, 6, 7, 8)                               \
    "vbroadcastss " a3 ", %%zmm30\n\t" PL_FMA_##NV(30, 9, 10, 11)                             \
    "vbroadcastss " a4 ", %%zmm27\n\t" PL_FMA_##NV(27, 12, 13, 14)                            \
    "vbroadcastss " a5 ", %%zmm28\n\t" PL_FMA_##NV(28, 15, 16, 17)                            \
    "vbroadcastss " a6 ", %%zmm29\n\t" PL_FMA_##NV(29, 18, 19, 20)                            \
    "vbroadcastss " a7 ", %%zmm30\n\t" PL_FMA_##NV(30, 21, 22, 23)
/* The whole loop: load, two k a pass (K0, K1: the addresses of the pass's
 * first and second k; NEXT moves A on by two k), a last odd k, store. */
#define PL_LOOP(NV, K0, K1, NEXT)                                                              \
    PL_ROWS(PL_LOAD_, NV, "src", "ls")                                                         \
    "cmp $2, %[n]\n\t"                                                                         \
    "jl 2f\n\t"                                                                                \
    "1:\n\t" PL_STEP(NV, 0, 64, 128, K0) PL_STEP(NV, 192, 256, 320, K1)                        \
    "add $384, %[p]\n\t" NEXT                                                                  \
    "sub $2, %[n]\n\t"                                                                         \
    "cmp $2, %[n]\n\t"                                                                         \
    "jge 1b\n\t"                                                                               \
    "2:\n\t"                                                                                   \
    "test %[n], %[n]\n\t"                                                                      \
    "jz 3f\n\t" PL_STEP(NV, 0, 64, 128, K0)                                                    \
    "3:\n\t" PL_ROWS(PL_STORE_, NV, "dst", "ld")
/* A(r, k) addresses: down a column (cols: A[k*a_cs + r]) or along rows
 * (rows: A[r*a_rs + k], a4 = row 4, l = a_rs in bytes, l3 = 3 l). */
#define PL_COLS_K0 "0(%[a])", "4(%[a])", "8(%[a])", "12(%[a])", "16(%[a])", "20(%[a])", \
                   "24(%[a])", "28(%[a])"
#define PL_COLS_K1 "0(%[a],%[as],1)", "4(%[a],%[as],1)", "8(%[a],%[as],1)", "12(%[a],%[as],1)", \
                   "16(%[a],%[as],1)", "20(%[a],%[as],1)", "24(%[a],%[as],1)", "28(%[a],%[as],1)"
#define PL_COLS_NEXT "lea (%[a],%[as],2), %[a]\n\t"
#define PL_ROWS_K0 "(%[a])", "(%[a],%[l],1)", "(%[a],%[l],2)", "(%[a],%[l3],1)", "(%[a4])", \
                   "(%[a4],%[l],1)", "(%[a4],%[l],2)", "(%[a4],%[l3],1)"
#define PL_ROWS_K1 "4(%[a])", "4(%[a],%[l],1)", "4(%[a],%[l],2)", "4(%[a],%[l3],1)", "4(%[a4])", \
                   "4(%[a4],%[l],1)", "4(%[a4],%[l],2)", "4(%[a4],%[l3],1)"
#define PL_ROWS_NEXT "add $8, %[a]\n\t" "add $8, %[a4]\n\t"
#define PL_EXPAND(...) __VA_ARGS__
#define PL_CLOBBERS                                                                            \
    "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",    \
        "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17",         \
        "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26",        \
        "xmm27", "xmm28", "xmm29", "xmm30", "xmm31"

#define PL_DEFINE_COLS(NAME, NV)                                                               \
    static void NAME(const tile_io *io, const float *A, size_t a_cs, const float *P, long n)  \
    {                                                                                          \
        size_t as = a_cs * sizeof(float), ls = io->ls * sizeof(float);                        \
        size_t ld = io->ld * sizeof(float);                                                    \
        const float *t;                                                                        \
        __asm__ volatile(PL_EXPAND(PL_LOOP(NV, PL_COLS_K0, PL_COLS_K1, PL_COLS_NEXT))         \
                         : [a] "+r"(A), [p] "+r"(P), [n] "+r"(n), [t] "=&r"(t)                 \
                         : [as] "r"(as), [src] "r"(io->src), [ls] "r"(ls),                     \
                           [dst] "r"(io->dst), [ld] "r"(ld)                                    \
                         : PL_CLOBBERS);                                                       \
    }
#define PL_DEFINE_ROWS(NAME, NV)                                                               \
    static void NAME(const tile_io *io, const float *A, size_t a_rs, const float *P, long n)  \
    {                                                                                          \
        size_t l = a_rs * sizeof(float), l3 = 3 * l;                                          \
        size_t ls = io->ls * sizeof(float), ld = io->ld * sizeof(float);                      \
        const float *a4 = A + 4 * a_rs, *t;                                                    \
        __asm__ volatile(PL_EXPAND(PL_LOOP(NV, PL_ROWS_K0, PL_ROWS_K1, PL_ROWS_NEXT))         \
                         : [a] "+r"(A), [a4] "+r"(a4), [p] "+r"(P), [n] "+r"(n),               \
                           [t] "=&r"(t)                                                        \
                         : [l] "r"(l), [l3] "r"(l3), [src] "r"(io->src), [ls] "r"(ls),         \
                           [dst] "r"(io->dst), [ld] "r"(ld)                                    \
                         : PL_CLOBBERS);                                                       \
    }
PL_DEFINE_COLS(panel_loop_cols_3, 3)
PL_DEFINE_COLS(panel_loop_cols_2, 2)
PL_DEFINE_COLS(panel_loop_cols_1, 1)
PL_DEFINE_ROWS(panel_loop_rows_3, 3)
PL_DEFINE_ROWS(panel_loop_rows_2, 2)
PL_DEFINE_ROWS(panel_loop_rows_1, 1)
#endif



/* C[r][c] for r < 8, c < nc <= 48, from A(r, k) = A[r*a_rs + k*a_cs] (a_rs
 * or a_cs 1; all 8 rows readable) and a packed kc x 48 panel P:
 *   sum = (load_c ? C[r][c] : 0) + A(r, 0) P[0][c] + A(r, 1) P[1][c] + ...
 * in that order (one FMA per k); then the epilogue: none (store the sum),
 * NN_PANEL_BIAS_ACT (store act(sum + b[c])) or NN_PANEL_SGD
 * (C -= lr * (sum + wd * C), as acc_tile does it).  The sums are acc_tile's,
 * k in order, so a product cut into K blocks whose partial sums go through
 * C gives acc_tile's bits. */
static inline __attribute__((always_inline)) void
panel_tile_k(float *C, int ldc, const float *A, size_t a_rs, size_t a_cs, const float *P,
             int kc, int mr, int nc,
             const int load_c, const int epi, const float *b, nn_act act, float lr, float wd)
{
    /* A full tile's sums start from C (or zeros) and, with no epilogue, end
     * in C: the loop reads and writes it directly.  Otherwise they go
     * through acc (row r, vector v: acc[r][v]) and the epilogue below. */
    static const _Alignas(64) float zeros[AR][AV][16];
    _Alignas(64) float acc[AR][AV][16];
    int nv = (nc + 15) / 16;
    __mmask16 last = (__mmask16)(0xFFFFu >> (16 * nv - nc));
    /* full: whole vectors (the loop of nv vectors reads and writes C) */
    int full = mr == AR && nc == 16 * nv;
    tile_io io = {.src = &zeros[0][0][0], .dst = &acc[0][0][0], .ls = 16 * AV, .ld = 16 * AV};
    if (full && load_c) {
        io.src = C;
        io.ls = (size_t)ldc;
    } else if (load_c) {
        for (int r = 0; r < AR; r++) {
            for (int v = 0; v < AV; v++) {
                __mmask16 m = v < nv - 1 ? 0xFFFF : v == nv - 1 ? last : 0;
                _mm512_store_ps(acc[r][v], r < mr ? _mm512_maskz_loadu_ps(
                                                        m, C + (size_t)r * ldc + 16 * v)
                                                  : _mm512_setzero_ps());
            }
        }
        io.src = &acc[0][0][0];
    }
    if (full && epi == NN_PANEL_NONE) {
        io.dst = C;
        io.ld = (size_t)ldc;
    }
#if defined(__x86_64__)
    if (a_rs == 1) {
        if (nv == 3)
            panel_loop_cols_3(&io, A, a_cs, P, kc);
        else if (nv == 2)
            panel_loop_cols_2(&io, A, a_cs, P, kc);
        else
            panel_loop_cols_1(&io, A, a_cs, P, kc);
    } else {
        if (nv == 3)
            panel_loop_rows_3(&io, A, a_rs, P, kc);
        else if (nv == 2)
            panel_loop_rows_2(&io, A, a_rs, P, kc);
        else
            panel_loop_rows_1(&io, A, a_rs, P, kc);
    }
#else
    __m512 s[AR][AV];
    for (int r = 0; r < AR; r++)
        for (int v = 0; v < nv; v++)
            s[r][v] = _mm512_loadu_ps(io.src + r * io.ls + 16 * v);
    for (int k = 0; k < kc; k++) {
        const float *pk = P + (size_t)k * 16 * AV;
        for (int r = 0; r < AR; r++)
            for (int v = 0; v < nv; v++)
                s[r][v] = _mm512_fmadd_ps(_mm512_set1_ps(A[r * a_rs + k * a_cs]),
                                          _mm512_load_ps(pk + 16 * v), s[r][v]);
    }
    for (int r = 0; r < AR; r++)
        for (int v = 0; v < nv; v++)
            _mm512_storeu_ps(io.dst + r * io.ld + 16 * v, s[r][v]);
#endif
    if (full && epi == NN_PANEL_NONE)
        return;
    __m512 bias[AV];
    if (epi == NN_PANEL_BIAS_ACT) {
        for (int v = 0; v < AV; v++) {
            __mmask16 m = v < nv - 1 ? 0xFFFF : v == nv - 1 ? last : 0;
            bias[v] = _mm512_maskz_loadu_ps(m, b + 16 * v);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < AR; r++) {
        if (r >= mr)
            break;
#pragma GCC unroll 3
        for (int v = 0; v < AV; v++) {
            if (v >= nv)
                break;
            float *c = C + (size_t)r * ldc + 16 * v;
            __mmask16 m = v == nv - 1 ? last : 0xFFFF;
            __m512 out = _mm512_load_ps(acc[r][v]);
            if (epi == NN_PANEL_SGD) {
                __m512 w = _mm512_maskz_loadu_ps(m, c);
                __m512 g = _mm512_add_ps(out, _mm512_mul_ps(_mm512_set1_ps(wd), w));
                out = _mm512_sub_ps(w, _mm512_mul_ps(_mm512_set1_ps(lr), g));
            } else if (epi == NN_PANEL_BIAS_ACT) {
                out = act_forward_ps(_mm512_add_ps(out, bias[v]), act);
            }
            _mm512_mask_storeu_ps(c, m, out);
        }
    }
}

/* panel_tile_k with constants for the load and the epilogue, so the
 * accumulators stay in registers and the epilogue is straight-line code. */
static void panel_tile(float *C, int ldc, const float *A, size_t a_rs, size_t a_cs,
                       const float *P, int kc, int mr, int nc, int load_c, int epi,
                       const float *b, nn_act act, float lr, float wd)
{
#define PT(LC, EPI) panel_tile_k(C, ldc, A, a_rs, a_cs, P, kc, mr, nc, LC, EPI, b, act, lr, wd)
    if (epi == NN_PANEL_BIAS_ACT) {
        if (load_c)
            PT(1, NN_PANEL_BIAS_ACT);
        else
            PT(0, NN_PANEL_BIAS_ACT);
    } else if (epi == NN_PANEL_SGD) { /* one K block: the sums start from zero */
        PT(0, NN_PANEL_SGD);
    } else if (load_c) {
        PT(1, NN_PANEL_NONE);
    } else {
        PT(0, NN_PANEL_NONE);
    }
#undef PT
}

/* ---- the table -------------------------------------------------------------------- */

static const nn_tiles tiles = {
    .fwd_rows = FT_ROWS, .fwd_cols = FT_COLS, .forward_tile = forward_tile,
    .acc_rows = AR, .acc_cols = 16 * AV, .vec = 16, .input_tile = input_tile, .weight_tile = weight_tile,
    .weight_sgd_tile = weight_sgd_tile,
    .panel_k = NN_PANEL_K, .pack_rows = pack_rows, .pack_cols = pack_cols,
    .pack_a_rows = pack_a_rows, .pack_a_cols = pack_a_cols, .panel_tile = panel_tile,
};

NN_TILED_KERNEL_TABLE(nn_kernels_avx512, "avx512", tiles, act_backward);

#endif
