/* cpu.c - choosing the kernel table at start-up.
 *
 * Only the reference table exists so far; the AVX2+FMA and AVX-512 tables
 * will be added as further entries of `tables` and picked from cpuid.  The
 * names are already accepted by NNTRAIN_ISA so that forcing a path the build
 * lacks gives a clear error rather than a silent fallback. */
#include "kernels/kernels.h"

#include <string.h>

static const nn_kernels *selected;

static const nn_kernels *const tables[] = {&nn_kernels_ref};

int nn_kernels_select(const char *isa, nn_error *err)
{
    if (!isa || !*isa) {
        selected = tables[0];
        return 0;
    }
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        if (strcmp(tables[i]->name, isa) == 0) {
            selected = tables[i];
            return 0;
        }
    }
    if (strcmp(isa, "avx2") == 0 || strcmp(isa, "avx512") == 0)
        nn_error_set(err, NN_EXIT_USAGE,
                     "NNTRAIN_ISA=%s: this build of nntrain has no %s kernels yet", isa, isa);
    else
        nn_error_set(err, NN_EXIT_USAGE,
                     "NNTRAIN_ISA=%s: unknown instruction set (expected scalar, avx2 or avx512)",
                     isa);
    return -1;
}

const nn_kernels *nn_kernels_get(void)
{
    if (!selected)
        selected = tables[0];
    return selected;
}
