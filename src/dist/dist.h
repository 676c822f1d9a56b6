/* dist.h - the communication layer of data-parallel training over MPI.
 *
 * One process per rank trains the same model on its share of each batch;
 * between the backward pass and the optimizer's update the ranks sum their
 * gradients with nn_dist_tree_sum().  That sum is a fixed balanced binary
 * tree over the ranks in rank order, each + a single float (or double)
 * addition, left operand the lower ranks:
 *
 *   2 ranks:  q0 + q1
 *   4 ranks:  (q0 + q1) + (q2 + q3)
 *   8 ranks:  ((q0 + q1) + (q2 + q3)) + ((q4 + q5) + (q6 + q7))
 *
 * so the result is the same bits on every rank and depends on nothing but
 * the ranks' values (not on the MPI library, the network or the timing),
 * and a run can be reproduced bit for bit with the same number of ranks.
 * MPI_Allreduce is not used for it: its order of additions is the
 * library's choice.  The rank count must be a power of two.
 *
 * Built without NN_MPI (the plain build), and in the MPI build when the
 * process was not started by mpirun, there is one rank: rank 0 of 1, every
 * sum is a no-op, and MPI is never initialised, so the MPI binary run
 * alone behaves exactly like the plain one.
 *
 * Every function except nn_dist_rank/size/active is collective when
 * nn_dist_active(): all ranks call it, in the same order, with the same
 * sizes and root (only the data differs).  Only the thread that called
 * nn_dist_init() may call the others.  After an error the ranks may no
 * longer agree on what has been sent; the caller's only safe move is
 * nn_dist_abort().  Nothing here prints.
 */
#ifndef NN_DIST_H
#define NN_DIST_H

#include "util/error.h"

#include <stddef.h>
#include <stdint.h>

/* Joins the ranks started by mpirun (MPI_Init_thread, MPI_THREAD_FUNNELED)
 * when the environment says this process is one of them; otherwise, and in
 * the plain build, sets up the single rank 0 of 1.  argc and argv are
 * main's (MPI may read its own arguments from them) and may be NULL.
 * Calling it again does nothing.  Returns 0, or -1 with err. */
int nn_dist_init(int *argc, char ***argv, nn_error *err);

/* This process's rank, 0..size-1, and the number of ranks (1 before
 * nn_dist_init()). */
int nn_dist_rank(void);
int nn_dist_size(void);

/* 1 when MPI was initialised for a run under mpirun (even with one rank),
 * 0 in the single-process cases above. */
int nn_dist_active(void);

/* Leaves MPI if nn_dist_init() joined it; afterwards there is one rank
 * again.  Safe to call more than once and without nn_dist_init(). */
void nn_dist_finalize(void);

/* Ends every rank with exit status `code` (MPI_Abort) when active; exit(code)
 * otherwise.  For an error one rank finds alone: the others may be waiting
 * in a collective call that would never complete. */
_Noreturn void nn_dist_abort(int code);

/* Replaces buf[0..n) on every rank by the tree sum above of all ranks'
 * buf[0..n), element by element.  n must be the same on every rank.  With
 * one rank (or n == 0) buf is left as it is.  Returns 0, or -1 with err
 * (NN_EXIT_USAGE when the rank count is not a power of two). */
int nn_dist_tree_sum(float *buf, size_t n, nn_error *err);
int nn_dist_tree_sum_d(double *buf, size_t n, nn_error *err);

/* The same sum in two halves, so that one layer's gradient travels while
 * the backward pass of the layers below it still computes:
 * nn_dist_tree_sum_start() sends, nn_dist_wait() adds and completes the
 * sum into buf and frees the request.  Between the two, buf must be
 * neither read nor written.  Several requests may be in flight; they are
 * started in the same order on every rank and waited in the same order on
 * every rank, which may be any order (the last started first, say).
 * *req is NULL when there is nothing to do (one rank, n == 0); waiting for
 * NULL returns 0.  Both return 0, or -1 with err (start: *req is NULL). */
typedef struct nn_dist_req nn_dist_req;
int nn_dist_tree_sum_start(float *buf, size_t n, nn_dist_req **req, nn_error *err);
int nn_dist_wait(nn_dist_req *req, nn_error *err);

/* Copies `bytes` bytes of root's buf into every other rank's buf (any
 * size: sent in pieces).  Returns 0, or -1 with err. */
int nn_dist_bcast(void *buf, size_t bytes, int root, nn_error *err);

/* 1 when any rank passed a non-zero flag, 0 when none did, -1 with err. */
int nn_dist_any(int flag, nn_error *err);

/* Replaces *v on every rank by the largest of all ranks' *v.  Returns 0,
 * or -1 with err. */
int nn_dist_max_i64(int64_t *v, nn_error *err);

/* Sets *all_same to 1 when every rank passed the same v, else 0 (on every
 * rank): a cheap check that the ranks read the same config and data, given
 * a hash of them.  Returns 0, or -1 with err. */
int nn_dist_same_u64(uint64_t v, int *all_same, nn_error *err);

/* Gathers each rank's `bytes` bytes at `mine` into all_at_root on rank
 * root, rank r's at all_at_root + r * bytes (size * bytes in all; other
 * ranks may pass NULL).  For metrics: bytes at most INT_MAX.  Returns 0,
 * or -1 with err. */
int nn_dist_gather_bytes(const void *mine, size_t bytes, void *all_at_root, int root,
                         nn_error *err);

#endif
