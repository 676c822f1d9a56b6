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

/* ---- the table -------------------------------------------------------------------- */

static const nn_tiles tiles = {
    .fwd_rows = FT_ROWS, .fwd_cols = FT_COLS, .forward_tile = forward_tile,
    .acc_rows = AR, .acc_cols = 16 * AV, .vec = 16, .input_tile = input_tile, .weight_tile = weight_tile,
    .weight_sgd_tile = weight_sgd_tile,
};

NN_TILED_KERNEL_TABLE(nn_kernels_avx512, "avx512", tiles, act_backward);

#endif
