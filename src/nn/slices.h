/* slices.h - the sums over a batch's rows in a fixed tree of slices.
 *
 * A batch of B rows is cut into S slices (S a power of two, at most
 * NN_SLICES_MAX): slice s is the rows [B*s/S, B*(s+1)/S).  A sum over the
 * batch (a weight or bias gradient) is computed as S partial sums, each
 * slice's alone (from zero, its rows in order), added in a balanced binary
 * tree: ((p0 + p1) + (p2 + p3)) + ((p4 + p5) + (p6 + p7)) for S = 8.  A
 * process that holds only slices [S*r/N, S*(r+1)/N) (rank r of N, N dividing
 * S) computes exactly a subtree of it, so the ranks' subtree sums added in
 * the same tree give every bit of the one-process sum: the result does not
 * depend on how many processes share the batch.
 */
#ifndef NN_SLICES_H
#define NN_SLICES_H

#include <stddef.h>

#include "kernels/kernels.h"

#define NN_SLICES_MAX 64

/* Rows [*lo, *hi) of slice s of S in a batch of B rows. */
static inline void nn_slice_rows(int B, int S, int s, int *lo, int *hi)
{
    *lo = (int)((long long)B * s / S);
    *hi = (int)((long long)B * (s + 1) / S);
}

/* How a model's batch sums are taken: S slices of the batch, of which this
 * process holds [lo, hi) (all of them, 0 and S, without MPI); `rows` is
 * the rows of the whole batch when the process holds only part of it (0:
 * the rows the process was given).  The work space is the model's, sized
 * by nn_slicing_init for its widest layer and largest batch. */
typedef struct {
    int S, lo, hi, rows;
    float *mem;    /* the blocks' work space: parts x slot floats */
    size_t floats;
    float *sink;   /* (widest,) a bias gradient nothing reads */
    double *dstack; /* (levels x 2 widest) nn_slices_column_sums' stack */
    /* With other processes sharing the batch: sums buf[n] (this process's
     * part, in the tree) over all of them, in the tree; NULL alone. */
    int (*reduce)(double *buf, size_t n, void *ctx);
    void *reduce_ctx;
    /* With other processes: called by the backward pass (not fused with a
     * step) with each layer's gradients once they are complete, the
     * process's part, for the sum over the processes (a layer kind that
     * sums across processes itself, batch normalisation, is left out). */
    void (*on_grads)(void *ctx, float *grads, size_t n);
    void *on_grads_ctx;
} nn_slicing;

/* S slices, the process holding [lo, hi), for layers up to `widest` units
 * and `max_in` inputs and batches up to max_batch rows, on up to `threads`
 * threads; -1 when out of memory. */
int nn_slicing_init(nn_slicing *sl, int S, int lo, int hi, int widest, int max_in, int max_batch,
                    int threads);
void nn_slicing_free(nn_slicing *sl);

/* A dense layer's gradients from dZ (B, out) and its input X (B, in), B the
 * process's rows (those of slices [lo, hi)):
 *   G = tree sum over the slices of dZ_s^T X_s,  g = tree sum of 1^T dZ_s
 * With sgd == 0: dW += G, db += g (db may be NULL).  With sgd: the plain
 * SGD step W <- W - lr (G + wd W), b <- b - lr (g + 0 b), in the float
 * arithmetic of nn_optim_sgd_plain, W and b updated in place (b may be
 * NULL).  The products are the kernel table's own (k), on blocks of the
 * layer's units, the blocks shared among the pool's threads. */
void nn_slices_dense(nn_slicing *sl, const nn_kernels *k, float *dW, float *db, const float *dZ,
                     const float *X, int B, int in, int out, int sgd, float lr, float wd);

/* The whole batch's index of the first of the process's B rows. */
int nn_slicing_first_row(const nn_slicing *sl, int B);

/* Levels of the stack a tree over the process's slices needs. */
int nn_slices_levels(const nn_slicing *sl);

/* The slices' tree over per-slice column sums in double, for the batch
 * normalisation's statistics: for each held slice s, leaf(s, buf) fills
 * buf (n doubles) with that slice's sums (rows in order, from zero); the
 * leaves are added in the tree and the sum left in out (n).  stack: the
 * slicing's double work space, nn_slices_levels() x n. */
typedef void (*nn_slice_leaf)(void *ctx, int row_lo, int row_hi, double *buf);
void nn_slices_column_sums(const nn_slicing *sl, int B, size_t n, nn_slice_leaf leaf, void *ctx,
                           double *stack, double *out);

#endif
