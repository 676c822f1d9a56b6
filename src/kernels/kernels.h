/* kernels.h - the table of dense-layer kernels.
 *
 * Every slot has a plain reference implementation (ref.c).  Faster versions
 * for an instruction set fill the same slots (avx2.c, avx512.c), and so do
 * the bf16 tables (bf16.h: the products take bf16 operands and sum in fp32);
 * the table in use is chosen once the run's precision is known (cpu.c) from
 * what the processor and the operating system support, and the environment
 * variable NNTRAIN_ISA forces a family (scalar|avx2|avx512 for fp32,
 * scalar|avx2bf16|avx512bf16|amx for bf16).  Algorithm code calls the
 * kernels only through this table and never sees an intrinsic.
 *
 * Shapes, in memory order (row-major):
 *   X  (B, in)    layer input, one sample per row
 *   W  (out, in)  weights, one output unit per row
 *   b  (out,)     biases
 *   Y  (B, out)   layer output after the activation
 *   dY (B, out)   dC/dY on entry to the backward pass; becomes dZ = dC/dZ
 *   dX (B, in)    dC/dX, the gradient handed to the layer below
 *   dW (out, in), db (out,)   the parameter gradients, accumulated into
 *
 * Determinism: every kernel computes each output element in one thread, in
 * an order fixed by the shapes alone, so the results are bit-identical for
 * any thread count of the pool (pool/pool.h).  Different tables may round
 * differently (their sums are ordered differently).
 */
#ifndef NN_KERNELS_H
#define NN_KERNELS_H

#include <stdbool.h>
#include <stddef.h>

#include "math/activation.h"
#include "util/error.h"

/* The precision of the three products (config key training.precision):
 * fp32, or bf16 operands (rounded to nearest even) accumulated in fp32.
 * The numeric values are stored in checkpoints (section PREC): append,
 * never renumber. */
typedef enum { NN_PREC_FP32 = 0, NN_PREC_BF16 = 1 } nn_precision;
/* "fp32", "bf16" ("?" past the last); -1 for an unknown name. */
const char *nn_precision_name(nn_precision p);
int nn_precision_from_name(const char *s);

typedef struct {
    /* "scalar", "avx2", "avx512"; bf16: "scalar", "avx2bf16", "avx512bf16", "amx" */
    const char *name;

    /* Y = act(X W^T + b): the product (an NT matrix product), the bias add
     * and the activation in one pass. */
    void (*dense_forward)(float *Y, const float *X, const float *W, const float *b,
                          int B, int in, int out, nn_act act);

    /* The activation's and the bias's backward in one pass over dY:
     * dY <- dY * act'(Y) element-wise (dC/dY becomes dC/dZ, act' taken from
     * the kept outputs Y), and db += the column sums of the new dY, each
     * summed over the batch in row order starting from 0 and then added to
     * db. */
    void (*act_backward)(float *dY, float *db, const float *Y, int B, int out, nn_act act);

    /* dX = dZ W (an NN product): the gradient passed to the layer below. */
    void (*dense_backward_input)(float *dX, const float *dZ, const float *W,
                                 int B, int in, int out);

    /* dW += dZ^T X (a TN product): the weight gradient, summed over the
     * batch. */
    void (*dense_backward_weights)(float *dW, const float *dZ, const float *X,
                                   int B, int in, int out);

    /* The weight gradient consumed by a plain SGD step as it is computed:
     * W[j,k] <- W[j,k] - lr * (G[j,k] + wd * W[j,k]), each element in float
     * in that order, with G = dZ^T X summed exactly as dense_backward_weights
     * sums it into a zero dW.  The result is bit-identical to
     * dense_backward_weights into a zeroed dW followed by nn_optim_step's
     * plain SGD rule, but the gradient never goes through memory. */
    void (*dense_sgd_weights)(float *W, const float *dZ, const float *X, int B, int in,
                              int out, float lr, float wd);
} nn_kernels;

/* The reference kernels, always available and single-threaded. */
extern const nn_kernels nn_kernels_ref;

/* The table in use.  The first call, if nn_kernels_select() has not been
 * called, selects the best fp32 table the processor supports. */
const nn_kernels *nn_kernels_get(void);

/* Selects the table for a run in precision `prec` once that is known (the
 * config's training.precision; the checkpoint's for --eval and --predict).
 * `isa` names a kernel family, or is NULL/"" for the best available
 * (NNTRAIN_ISA, when set, is read by the caller and passed here):
 *   fp32  "scalar", "avx2", "avx512"
 *   bf16  "scalar" (the bf16 reference), "avx2bf16", "avx512bf16", "amx"
 * "amx" also needs Linux to grant the tile state; when it refuses, the best
 * family below it is taken and nn_kernels_note() says so.  Returns -1 with
 * *err (code 2) for an unknown name, a family of the other precision, or one
 * this processor (or this build) lacks, each naming it; the selection is
 * then unchanged. */
int nn_kernels_select(nn_precision prec, const char *isa, nn_error *err);

/* The library's way (src/api), which leaves the process's selection alone:
 * nn_kernels_resolve returns the family nn_kernels_select(prec, isa) would
 * take (an index, asking Linux for AMX's tiles as it would), or -1 with
 * *err.  nn_kernels_thread_use(f) makes nn_kernels_get, _precision and _isa
 * answer family f on the calling thread only (-1: the process's selection
 * again) and returns the family it had (-1: none).  The kernels' chunks on
 * pool workers never ask for the table, so a thread's family holds for the
 * products it starts. */
int nn_kernels_resolve(nn_precision prec, const char *isa, nn_error *err);
int nn_kernels_thread_use(int f);
const char *nn_kernels_family_name(int f);
nn_precision nn_kernels_family_precision(int f);

/* The names of the families of precision p this processor can run, worst
 * to best, into names[cap] (each a name nn_kernels_select takes; amx
 * listed when the processor has it, before Linux is asked for the tile
 * state); returns how many there are. */
int nn_kernels_families(nn_precision p, const char **names, int cap);

/* A note about the last nn_kernels_select (the AMX permission refused and
 * the family taken instead), one line; NULL when there is none. */
const char *nn_kernels_note(void);

/* The precision of the table in use. */
nn_precision nn_kernels_precision(void);

/* The instruction set of the table in use, for loops outside the kernels
 * that are compiled once per vector width (data/batch.c, nn/optim.c), so
 * NNTRAIN_ISA decides for them too (the bf16 families: scalar, and AVX-512
 * for avx512bf16 and amx, AVX2 for avx2bf16). */
typedef enum { NN_ISA_SCALAR, NN_ISA_AVX2, NN_ISA_AVX512 } nn_isa;
nn_isa nn_kernels_isa(void);

/* With `on`, every product's way of summing depends on its columns and K
 * alone, never on its rows: a batch's rows then get the same bits however
 * the batch is cut among processes (nn/slices.h).  Off (the default), the
 * forward product of few rows takes the tiles that suit few rows, whose
 * dot products round differently from the blocked path's (kernels/panel.c). */
void nn_kernels_rows_free(bool on);


#endif
