/* kernels.h - the table of dense-layer kernels.
 *
 * Every slot has a plain reference implementation (ref.c).  Faster versions
 * for an instruction set fill the same slots; the table in use is chosen once
 * at start-up (cpu.c) from what the processor supports, and the environment
 * variable NNTRAIN_ISA=scalar|avx2|avx512 forces one.  Algorithm code calls
 * the kernels only through this table and never sees an intrinsic.
 *
 * Shapes, in memory order (row-major):
 *   X  (B, in)    layer input, one sample per row
 *   W  (out, in)  weights, one output unit per row
 *   b  (out,)     biases
 *   Y  (B, out)   layer output after the activation
 *   dY (B, out)   dC/dY on entry to the backward pass; becomes dC/dZ
 */
#ifndef NN_KERNELS_H
#define NN_KERNELS_H

#include <stddef.h>

#include "nn/types.h"
#include "util/error.h"

typedef struct {
    const char *name; /* "scalar", "avx2", "avx512" */

    /* Y = act(X W^T + b): the product, the bias add and the activation in
     * one pass. */
    void (*dense_forward)(float *Y, const float *X, const float *W, const float *b,
                          int B, int in, int out, nn_act act);

    /* dY <- dY * act'(Y), element-wise over n = B*out values: turns dC/dY
     * into dC/dZ using the kept outputs Y. */
    void (*act_backward)(float *dY, const float *Y, size_t n, nn_act act);

    /* dX = dZ W: the gradient passed to the layer below, (B, in). */
    void (*dense_backward_input)(float *dX, const float *dZ, const float *W,
                                 int B, int in, int out);

    /* dW += dZ^T X and db += column sums of dZ: the parameter gradients,
     * accumulated over the batch. */
    void (*dense_backward_params)(float *dW, float *db, const float *dZ, const float *X,
                                  int B, int in, int out);
} nn_kernels;

/* The reference kernels, always available. */
extern const nn_kernels nn_kernels_ref;

/* The table in use.  The first call selects it (from NNTRAIN_ISA if set,
 * else the best the processor supports); nn_kernels_select() must have
 * succeeded before if NNTRAIN_ISA might be invalid. */
const nn_kernels *nn_kernels_get(void);

/* Selects the table: `isa` is "scalar", "avx2", "avx512", or NULL/"" for the
 * best available (NNTRAIN_ISA, when set, is read by the caller and passed
 * here).  Returns -1 with *err (code 2) for an unknown name or one this
 * processor lacks. */
int nn_kernels_select(const char *isa, nn_error *err);

#endif
