/* tiled.h - the three dense products driven over a fixed grid of register
 * tiles (internal to src/kernels).
 *
 * An instruction set (avx2.c, avx512.c) provides micro-kernels that each
 * compute one small tile of an output completely, over the whole k range,
 * holding the tile in registers; tiled.c cuts the output into tiles, hands
 * the tiles to the threads of the pool (pool/pool.h) and calls the kernels.
 * The grid depends only on the shapes, never on the thread count.
 *
 *   forward   Y (B, out) = act(X W^T + b)   tile: fwd_rows samples x fwd_cols
 *             outputs, each a dot product over `in` of a row of X and a row
 *             of W (both contiguous: no packing needed)
 *   dX        dX (B, in) = dZ W             tile: acc_rows samples x acc_cols
 *             inputs; k runs over `out`: a broadcast dZ[i,k] times a vector of
 *             row k of W
 *   dW        dW (out, in) += dZ^T X        tile: acc_rows outputs x acc_cols
 *             inputs; k runs over the batch: a broadcast dZ[k,j] times a
 *             vector of row k of X
 * Each element of dX and dW is summed over k in order, whatever tile holds
 * it, so their grids are free to start with a narrow column block that
 * makes the right operand's vector loads aligned (loads straddling two cache
 * lines cost two).  The forward handles alignment inside its tile.
 */
#ifndef NN_KERNELS_TILED_H
#define NN_KERNELS_TILED_H

#include <stddef.h>

#include "kernels/kernels.h"
#include "math/activation.h"

/* The blocked path (panel.c) for large products, BLIS's loop structure with
 * acc_tile's broadcast tiles: the output is cut into column panels of
 * acc_cols; for each K block (at most NN_PANEL_K rows of k) a thread packs
 * the panel's slice of the right operand into a contiguous, aligned
 * K-block x acc_cols buffer of its own (NN_PANEL_FLOATS floats; 96 KB, read
 * as one stream from L2 and L1 whatever the operand's stride, where W's or
 * X's rows 4 KB apart would fight over a few sets of L1), and runs every
 * row tile of the panel over it; partial sums go through C between K
 * blocks (stored and reloaded as fp32, which changes nothing: each element
 * is still one chain of FMAs, k in order).  The epilogue (bias and
 * activation, or the SGD rule) runs on the last K block. */
enum { NN_PANEL_NONE, NN_PANEL_BIAS_ACT, NN_PANEL_SGD };
#define NN_PANEL_K 512     /* rows of k per K block */
#define NN_PANEL_KMAX 512  /* the most: a fused SGD product runs in one block */
#define NN_PANEL_FLOATS (NN_PANEL_KMAX * 48)
#define NN_PANEL_AROWS 256 /* rows of dW's A packed at a time */
#define NN_PANEL_ROWS 8    /* the most rows of a tile (a partial one is packed) */

typedef struct {
    int fwd_rows, fwd_cols;
    /* Y[r*ldy + c] = act(sum_k X[r*ld + k] W[c*ld + k] + b[c]) for r < nr,
     * c < nc (nr <= fwd_rows, nc <= fwd_cols), k < K. */
    void (*forward_tile)(float *Y, int ldy, const float *X, const float *W, int ld,
                         const float *b, int K, int nr, int nc, nn_act act);

    int acc_rows, acc_cols;
    int vec; /* floats in a vector: the backward grids align columns to it */
    /* C[r*ldc + c] = sum_k A[r*lda + k] Bm[k*ldb + c]   (dX), or
     * C[r*ldc + c] += sum_k A[k*lda + r] Bm[k*ldb + c]  (dW),
     * for r < mr <= acc_rows, c < nc <= acc_cols, k < K. */
    void (*input_tile)(float *C, int ldc, const float *A, int lda, const float *Bm, int ldb,
                       int K, int mr, int nc);
    void (*weight_tile)(float *C, int ldc, const float *A, int lda, const float *Bm, int ldb,
                        int K, int mr, int nc);
    /* The dW tile's sums, from zero, consumed by the plain SGD rule while
     * in registers (C is W):
     * C[r*ldc + c] -= lr * (sum_k A[k*lda + r] Bm[k*ldb + c] + wd * C[r*ldc + c]),
     * in that order of operations, uncontracted: the same bits as
     * weight_tile into zeros followed by the optimizer's rule. */
    void (*weight_sgd_tile)(float *C, int ldc, const float *A, int lda, const float *Bm,
                            int ldb, int K, int mr, int nc, float lr, float wd);

    /* The blocked path (0 / NULL: none); panels are acc_cols wide (at most
     * 48) and tiles acc_rows tall.  panel_k: the K block (<= NN_PANEL_KMAX).
     * pack_rows: P[k*acc_cols + c] = Bm[k*ldb + c]; pack_cols:
     * P[k*acc_cols + c] = Bm[c*ldb + k]; both for k < kc, c < nc, with
     * columns nc..acc_cols-1 zero and P 64-byte aligned. */
    int panel_k;
    /* dW and the fused SGD take the blocked path at every size above the
     * minimum, not only where the right operand's rows are 4 KB apart or
     * K > 1024 (see panel.c) */
    int panel_dw_always;
    void (*pack_rows)(float *P, const float *Bm, int ldb, int kc, int nc);
    void (*pack_cols)(float *P, const float *Bm, int ldb, int kc, int nc);
    /* pack_a_rows: Ap[t*kc*R + k*R + r] = A[(t*R + r)*lda + k]; pack_a_cols:
     * Ap[t*kc*R + k*R + r] = A[k*lda + t*R + r]; R = acc_rows, for the row
     * tiles t of mr rows, the rows past mr zero, Ap 64-byte aligned. */
    void (*pack_a_rows)(float *Ap, const float *A, size_t lda, int kc, int mr);
    void (*pack_a_cols)(float *Ap, const float *A, size_t lda, int kc, int mr);
    /* C[r*ldc + c] for r < mr, c < nc: the sum from load_c ? C : 0, plus
     * A[r*a_rs + k*a_cs] P[k*acc_cols + c] for k = 0..kc-1 in order, then
     * the epilogue `epi`: NN_PANEL_NONE stores the sum, NN_PANEL_BIAS_ACT
     * stores act(sum + b[c]), NN_PANEL_SGD (load_c = 0 only) does
     * C -= lr * (sum + wd * C) as weight_sgd_tile does.  a_rs or a_cs is 1,
     * and A has acc_rows readable rows whatever mr (a partial tile is packed
     * first). */
    void (*panel_tile)(float *C, int ldc, const float *A, size_t a_rs, size_t a_cs,
                       const float *P, int kc, int mr, int nc, int load_c, int epi,
                       const float *b, nn_act act, float lr, float wd);
} nn_tiles;


void nn_tiled_forward(const nn_tiles *t, float *Y, const float *X, const float *W,
                      const float *b, int B, int in, int out, nn_act act);
void nn_tiled_backward_input(const nn_tiles *t, float *dX, const float *dZ, const float *W,
                             int B, int in, int out);
void nn_tiled_backward_weights(const nn_tiles *t, float *dW, const float *dZ, const float *X,
                               int B, int in, int out);
void nn_tiled_sgd_weights(const nn_tiles *t, float *W, const float *dZ, const float *X, int B,
                          int in, int out, float lr, float wd);
/* The blocked path (panel.c): C (rows x cols) from A(r, k) = a_trans ?
 * A[k*lda + r] : A[r*lda + k] and Bm (k, c) = trans_b ? Bm[c*ldb + k] : Bm[k*ldb + c], summed
 * over K; `accumulate`: C += the product (else C = it); `epi` as in
 * panel_tile.  nn_panel_fits says whether the shape takes it (a function of
 * the shape and the table only, never of the thread count); a_trans: the
 * product is dW's or the fused SGD's. */
int nn_panel_fits(const nn_tiles *t, int rows, int cols, int K, int epi, int a_trans);
void nn_panel_product(const nn_tiles *t, float *C, const float *A, size_t lda, int a_trans,
                      const float *Bm, int ldb, int trans_b, int rows, int cols, int K,
                      int accumulate, int epi, const float *b, nn_act act, float lr, float wd);

/* The kernel table of an instruction set whose products are all tiled:
 * defines `const nn_kernels VAR` named NAME, its four products driven by
 * the nn_tiles TILES, and ACT_BACKWARD (the file's own) for the activation
 * and bias backward.  Used once by each of avx2.c and avx512.c. */
#define NN_TILED_KERNEL_TABLE(VAR, NAME, TILES, ACT_BACKWARD)                                \
    static void tiled_forward_(float *Y, const float *X, const float *W, const float *b,    \
                               int B, int in, int out, nn_act act)                          \
    {                                                                                       \
        nn_tiled_forward(&(TILES), Y, X, W, b, B, in, out, act);                           \
    }                                                                                       \
    static void tiled_backward_input_(float *dX, const float *dZ, const float *W, int B,    \
                                      int in, int out)                                      \
    {                                                                                       \
        nn_tiled_backward_input(&(TILES), dX, dZ, W, B, in, out);                          \
    }                                                                                       \
    static void tiled_backward_weights_(float *dW, const float *dZ, const float *X, int B,  \
                                        int in, int out)                                    \
    {                                                                                       \
        nn_tiled_backward_weights(&(TILES), dW, dZ, X, B, in, out);                        \
    }                                                                                       \
    static void tiled_sgd_weights_(float *W, const float *dZ, const float *X, int B, int in, \
                                   int out, float lr, float wd)                             \
    {                                                                                       \
        nn_tiled_sgd_weights(&(TILES), W, dZ, X, B, in, out, lr, wd);                      \
    }                                                                                       \
    const nn_kernels VAR = {                                                                \
        .name = (NAME),                                                                     \
        .dense_forward = tiled_forward_,                                                    \
        .act_backward = (ACT_BACKWARD),                                                     \
        .dense_backward_input = tiled_backward_input_,                                      \
        .dense_backward_weights = tiled_backward_weights_,                                  \
        .dense_sgd_weights = tiled_sgd_weights_,                                            \
    }

#endif
