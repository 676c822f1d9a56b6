/* cpu.c - choosing the kernel table at start-up.
 *
 * A table is usable when the processor has the instructions and the
 * operating system saves the registers they use on a context switch:
 *   avx2    cpuid: AVX, FMA (leaf 1), AVX2 (leaf 7); XCR0: XMM and YMM state
 *   avx512  the same and AVX512F (leaf 7); XCR0: opmask, ZMM_Hi256, Hi16_ZMM
 * The x86 tables exist only in x86 builds (avx2.c and avx512.c compile to
 * nothing elsewhere); on other machines only "scalar" is available.
 */
#include "kernels/kernels.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define NN_X86 1
#include <cpuid.h>
extern const nn_kernels nn_kernels_avx2, nn_kernels_avx512;
#endif

static const char *const isa_names[] = {"scalar", "avx2", "avx512"}; /* worst to best */
#define N_ISA ((int)(sizeof isa_names / sizeof isa_names[0]))

static const nn_kernels *selected;

#ifdef NN_X86
static unsigned long long xgetbv0(void)
{
    unsigned lo, hi;
    __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (unsigned long long)hi << 32 | lo;
}
#endif

/* The table of isa_names[i], or NULL when this machine cannot run it. */
static const nn_kernels *table_if_usable(int i)
{
    if (i == 0)
        return &nn_kernels_ref;
#ifdef NN_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return NULL;
    int fma = c >> 12 & 1, osxsave = c >> 27 & 1, avx = c >> 28 & 1;
    if (!fma || !osxsave || !avx || __get_cpuid_max(0, NULL) < 7)
        return NULL;
    unsigned long long xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) /* XMM, YMM */
        return NULL;
    __cpuid_count(7, 0, a, b, c, d);
    int avx2 = b >> 5 & 1, avx512f = b >> 16 & 1;
    if (!avx2)
        return NULL;
    if (i == 1)
        return &nn_kernels_avx2;
    if (i == 2 && avx512f && (xcr0 & 0xe0) == 0xe0) /* opmask, ZMM_Hi256, Hi16_ZMM */
        return &nn_kernels_avx512;
#endif
    return NULL;
}

static const nn_kernels *best_table(void)
{
    for (int i = N_ISA - 1; i > 0; i--) {
        const nn_kernels *t = table_if_usable(i);
        if (t)
            return t;
    }
    return &nn_kernels_ref;
}

int nn_kernels_select(const char *isa, nn_error *err)
{
    if (!isa || !*isa) {
        selected = best_table();
        return 0;
    }
    for (int i = 0; i < N_ISA; i++) {
        if (strcmp(isa_names[i], isa) != 0)
            continue;
        const nn_kernels *t = table_if_usable(i);
        if (t) {
            selected = t;
            return 0;
        }
        char have[64] = "scalar";
        for (int j = 1; j < N_ISA; j++)
            if (table_if_usable(j)) {
                strcat(have, ", ");
                strcat(have, isa_names[j]);
            }
        nn_error_set(err, NN_EXIT_USAGE,
                     "NNTRAIN_ISA=%s: this processor cannot run the %s kernels (available: %s)",
                     isa, isa, have);
        return -1;
    }
    nn_error_set(err, NN_EXIT_USAGE,
                 "NNTRAIN_ISA=%s: unknown instruction set (expected scalar, avx2 or avx512)", isa);
    return -1;
}

const nn_kernels *nn_kernels_get(void)
{
    if (!selected)
        selected = best_table();
    return selected;
}

static const char *const precision_names[] = {"fp32", "bf16"};

const char *nn_precision_name(nn_precision p)
{
    return (int)p >= 0 && (int)p < 2 ? precision_names[p] : "?";
}

int nn_precision_from_name(const char *s)
{
    for (int i = 0; i < 2; i++)
        if (strcmp(precision_names[i], s) == 0)
            return i;
    return -1;
}

nn_isa nn_kernels_isa(void)
{
    const char *name = nn_kernels_get()->name;
    for (int i = N_ISA - 1; i > 0; i--)
        if (strcmp(isa_names[i], name) == 0)
            return (nn_isa)i;
    return NN_ISA_SCALAR;
}
