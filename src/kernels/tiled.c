/* tiled.c - cutting the dense products into register tiles and sharing the
 * tiles among threads; see tiled.h.  Portable C: the instruction-set code is
 * all in the micro-kernels.
 *
 * Tiles are numbered column block first, row block second (tile = cb *
 * row_blocks + rb), and a chunk of the pool is a run of consecutive numbers,
 * so a thread keeps the same few rows of W (forward) or the same columns of
 * the k-by-acc_cols panel it reads (backward) in its first-level cache while
 * the other operand streams past.
 */
#include "kernels/tiled.h"

#include <stddef.h>
#include <stdint.h>

#include "pool/pool.h"

typedef struct {
    const nn_tiles *t;
    float *C;
    const float *A, *Bm, *b;
    int rows, cols, K;   /* the product's output is rows x cols, summed over K */
    int rb, cb;          /* row and column blocks of the grid */
    int lead;            /* backward: width of a narrow first column block, or 0 */
    int lda, ldb, ldc;
    nn_act act;
} job;

static long tiles_of(const job *j)
{
    return (long)j->rb * j->cb;
}

static long chunks_of(const job *j)
{
    long t = tiles_of(j);
    return t < NN_POOL_MAX_CHUNKS ? t : NN_POOL_MAX_CHUNKS;
}

static void forward_part(void *ctx, long chunk)
{
    const job *j = ctx;
    const nn_tiles *t = j->t;
    long lo, hi;
    nn_pool_chunk(tiles_of(j), chunks_of(j), chunk, &lo, &hi);
    for (long n = lo; n < hi; n++) {
        int r0 = (int)(n % j->rb) * t->fwd_rows, c0 = (int)(n / j->rb) * t->fwd_cols;
        int nr = j->rows - r0 < t->fwd_rows ? j->rows - r0 : t->fwd_rows;
        int nc = j->cols - c0 < t->fwd_cols ? j->cols - c0 : t->fwd_cols;
        t->forward_tile(j->C + (size_t)r0 * j->ldc + c0, j->ldc, j->A + (size_t)r0 * j->K,
                        j->Bm + (size_t)c0 * j->K, j->K, j->b + c0, j->K, nr, nc, j->act);
    }
}

void nn_tiled_forward(const nn_tiles *t, float *Y, const float *X, const float *W,
                      const float *b, int B, int in, int out, nn_act act)
{
    /* From 64 x 128 x 128 and 8 MFLOP up (nn_panel_fits): the blocked
     * path, with broadcast tiles over packed panels of W^T.  Its sums run k in order, one chain per output, where
     * forward_tile splits each dot product over vector lanes and reduces
     * them by a tree: a different rounding, chosen by the shape alone (so
     * still the same bits for any thread count). */
    if (nn_panel_fits(t, B, out, in, NN_PANEL_BIAS_ACT, 0)) {
        nn_panel_product(t, Y, X, (size_t)in, 0, W, in, 1, B, out, in, 0, NN_PANEL_BIAS_ACT, b,
                         act, 0.0f, 0.0f);
        return;
    }
    job j = {.t = t, .C = Y, .A = X, .Bm = W, .b = b, .rows = B, .cols = out, .K = in,
             .rb = (B + t->fwd_rows - 1) / t->fwd_rows,
             .cb = (out + t->fwd_cols - 1) / t->fwd_cols, .ldc = out, .act = act};
    nn_pool_run(forward_part, &j, chunks_of(&j), nn_pool_threads_for(2.0 * B * in * out));
}

/* The backward products share a driver; `kind` picks the tile. */
enum { ACC_INPUT, ACC_WEIGHTS, ACC_SGD };

typedef struct {
    job j;
    int kind;
    float lr, wd; /* ACC_SGD */
} acc_job;

/* Column block cbi of a backward grid: [*c0, *c0 + *nc). */
static void acc_columns(const job *j, int cbi, int *c0, int *nc)
{
    int w = j->t->acc_cols;
    if (j->lead && cbi == 0) {
        *c0 = 0;
        *nc = j->lead;
        return;
    }
    *c0 = j->lead + (cbi - (j->lead > 0)) * w;
    *nc = j->cols - *c0 < w ? j->cols - *c0 : w;
}

static void acc_part(void *ctx, long chunk)
{
    const acc_job *aj = ctx;
    const job *j = &aj->j;
    const nn_tiles *t = j->t;
    long lo, hi;
    nn_pool_chunk(tiles_of(j), chunks_of(j), chunk, &lo, &hi);
    for (long n = lo; n < hi; n++) {
        /* dW (and its SGD form) walks row blocks outermost, so a run of
         * chunks is a band of W's rows, as in the forward pass: the thread
         * that takes the low chunks touches the same rows of W in both */
        long rbi = aj->kind == ACC_INPUT ? n % j->rb : n / j->cb;
        long cbi = aj->kind == ACC_INPUT ? n / j->rb : n % j->cb;
        int r0 = (int)rbi * t->acc_rows, c0, nc;
        int mr = j->rows - r0 < t->acc_rows ? j->rows - r0 : t->acc_rows;
        acc_columns(j, (int)cbi, &c0, &nc);
        float *C = j->C + (size_t)r0 * j->ldc + c0;
        if (aj->kind == ACC_SGD) {  /* C is W; A(r, k) = dZ[k, r0 + r] */
            t->weight_sgd_tile(C, j->ldc, j->A + r0, j->lda, j->Bm + c0, j->ldb, j->K, mr, nc,
                               aj->lr, aj->wd);
        } else if (aj->kind == ACC_WEIGHTS) { /* A(r, k) = dZ[k, r0 + r] */
            t->weight_tile(C, j->ldc, j->A + r0, j->lda, j->Bm + c0, j->ldb, j->K, mr, nc);
        } else {           /* A(r, k) = dZ[r0 + r, k] */
            t->input_tile(C, j->ldc, j->A + (size_t)r0 * j->lda, j->lda, j->Bm + c0, j->ldb,
                          j->K, mr, nc);
        }
    }
}

static void run_acc(const nn_tiles *t, float *C, const float *A, const float *Bm, int rows,
                    int cols, int K, int lda, int kind, float lr, float wd)
{
    /* The narrow first block ends where Bm's rows reach a vector boundary. */
    int mis = (int)((uintptr_t)Bm / sizeof(float) % (unsigned)t->vec);
    int lead = mis && t->vec - mis < cols ? t->vec - mis : 0;
    acc_job aj = {.j = {.t = t, .C = C, .A = A, .Bm = Bm, .rows = rows, .cols = cols, .K = K,
                        .rb = (rows + t->acc_rows - 1) / t->acc_rows,
                        .cb = (lead > 0) + (cols - lead + t->acc_cols - 1) / t->acc_cols,
                        .lead = lead, .lda = lda, .ldb = cols, .ldc = cols},
                  .kind = kind, .lr = lr, .wd = wd};
    nn_pool_run(acc_part, &aj, chunks_of(&aj.j), nn_pool_threads_for(2.0 * rows * cols * K));
}

void nn_tiled_backward_input(const nn_tiles *t, float *dX, const float *dZ, const float *W,
                             int B, int in, int out)
{
    if (nn_panel_fits(t, B, in, out, NN_PANEL_NONE, 0)) { /* the same sums as the tiles */
        nn_panel_product(t, dX, dZ, (size_t)out, 0, W, in, 0, B, in, out, 0, NN_PANEL_NONE, NULL,
                         NN_ACT_IDENTITY, 0.0f, 0.0f);
        return;
    }
    run_acc(t, dX, dZ, W, B, in, out, out, ACC_INPUT, 0.0f, 0.0f);
}

void nn_tiled_backward_weights(const nn_tiles *t, float *dW, const float *dZ, const float *X,
                               int B, int in, int out)
{
    if (nn_panel_fits(t, out, in, B, NN_PANEL_NONE, 1)) {
        nn_panel_product(t, dW, dZ, (size_t)out, 1, X, in, 0, out, in, B, 1, NN_PANEL_NONE, NULL,
                         NN_ACT_IDENTITY, 0.0f, 0.0f);
        return;
    }
    run_acc(t, dW, dZ, X, out, in, B, out, ACC_WEIGHTS, 0.0f, 0.0f);
}

void nn_tiled_sgd_weights(const nn_tiles *t, float *W, const float *dZ, const float *X, int B,
                          int in, int out, float lr, float wd)
{
    if (nn_panel_fits(t, out, in, B, NN_PANEL_SGD, 1)) {
        nn_panel_product(t, W, dZ, (size_t)out, 1, X, in, 0, out, in, B, 0, NN_PANEL_SGD, NULL,
                         NN_ACT_IDENTITY, lr, wd);
        return;
    }
    run_acc(t, W, dZ, X, out, in, B, out, ACC_SGD, lr, wd);
}
