/* bf16.h - the bfloat16 kernel tables (mixed precision, issue 12) and the
 * processor features they need.
 *
 * A bf16 table fills the same slots as the fp32 tables (kernels/kernels.h).
 * The three products (forward, dX, dW and the fused SGD dW) round both
 * operands to bf16 and accumulate in fp32; the bias, the activation, the
 * activation's backward and the SGD rule are fp32, as in the fp32 tables.
 *
 * Rounding, the same in every table (bit for bit in "scalar", "avx2bf16"
 * and "avx512bf16"; "amx" sums in its own order, see below):
 *
 *   operands   nn_bf16_from_float, which is vcvtneps2bf16: round to nearest
 *              even; a denormal input becomes a zero of its sign; NaN stays
 *              NaN (quieted).  (A normal input never rounds to a bf16
 *              denormal: both formats share fp32's exponent range.)
 *   one output c = sum over k of a[k] b[k], K terms, as vdpbf16ps sums it:
 *              one fp32 accumulator starting at +0; the k run in pairs
 *              (0,1), (2,3), ... in ascending order; within a pair the ODD
 *              element's product is added first, then the even one's; an
 *              odd K gets a zero pair partner (the product +0 added first in
 *              the last pair).  Each addition acc <- acc + a b is rounded
 *              once to fp32 (nearest even; the product of two bf16 values is
 *              exact) and then flushed: a denormal accumulator going in, and
 *              any tiny result, becomes a zero of its sign, whatever MXCSR
 *              says.  Tiny is decided after rounding, as x86 does: the sum
 *              rounded to 24 significant bits with an unbounded exponent is
 *              below 2^-126 (so 2^-126 - 2^-150 flushes to 0 while
 *              2^-126 - 2^-160 gives 2^-126).  NaN: a NaN a, else a NaN b, else a
 *              NaN accumulator is returned quieted; an invalid operation
 *              (inf * 0, inf - inf) gives the default NaN 0xffc00000.
 *              (Probed on an AMD Zen 4 against vdpbf16ps and vcvtneps2bf16,
 *              millions of random cases with ties, denormals, infinities and
 *              NaNs: no difference.)
 *   then       forward: Y = act(c + b[j]) in fp32; dW: dW += c (one fp32
 *              addition); SGD: W <- W - lr (c + wd W), as the fp32 tables.
 *
 * "amx" (tdpbf16ps) accumulates in an order of its own that the
 * documentation does not pin down, so its products agree with the others
 * within the accumulation bound, not bit for bit.  Any table's results are
 * the same for any thread count.
 */
#ifndef NN_KERNELS_BF16_H
#define NN_KERNELS_BF16_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels.h"

typedef uint16_t nn_bf16;

/* As vcvtneps2bf16: RNE, denormal input -> 0, denormal result -> 0 (sign
 * kept), NaN -> quiet NaN. */
nn_bf16 nn_bf16_from_float(float x);
float nn_bf16_to_float(nn_bf16 h);

extern const nn_kernels nn_kernels_bf16_ref;   /* name "scalar": plain C, every machine */
extern const nn_kernels nn_kernels_avx2bf16;   /* name "avx2bf16": x86-64 builds only */
extern const nn_kernels nn_kernels_avx512bf16; /* name "avx512bf16": x86 builds only */
extern const nn_kernels nn_kernels_amx;        /* name "amx": x86-64 Linux builds only */

/* The amx kernels run a product of fewer FLOPs than this on the calling
 * thread alone: on the tiles it takes under ~0.1 ms, and splitting it made
 * W2's bf16 training 15% slower on two threads (Intel Xeon, AMX). */
#define NN_AMX_MIN_FLOPS 64e6

/* Processor + OS support (cpuid, XCR0); always 0 on non-x86 builds. */
int nn_cpu_has_avx512bf16(void);
int nn_cpu_has_amx_bf16(void);       /* cpuid only (AMX-TILE + AMX-BF16); permission is separate */
int nn_amx_request_permission(void); /* Linux arch_prctl(ARCH_REQ_XCOMP_PERM, 18):
                                        0 granted, -1 refused/unsupported */

/* One addition of the accumulation above: acc + a b rounded and flushed as
 * vdpbf16ps does, for a and b already bf16 values (as floats).  The
 * reference kernels are built on it; the tests use it. */
float nn_bf16_dot_step(float acc, float a, float b);

/* One output of the reference: sum over k < K of a[k sa] b[k sb], both
 * rounded to bf16, summed as above (internal to src/kernels and the
 * tests). */
float nn_bf16_dot(const float *a, size_t sa, const float *b, size_t sb, int K);

#endif
