/* cpu.c - choosing the kernel table once the run's precision is known.
 *
 * Kernel families, worst to best, per precision (kernels.h):
 *   fp32  scalar (ref.c), avx2, avx512
 *   bf16  scalar (the bf16 reference), avx2bf16, avx512bf16, amx
 * A family is usable when the processor has the instructions and the
 * operating system saves the registers they use on a context switch:
 *   avx2        cpuid: AVX, FMA (leaf 1), AVX2 (leaf 7); XCR0: XMM and YMM state
 *   avx512      the same and AVX512F (leaf 7); XCR0: opmask, ZMM_Hi256, Hi16_ZMM
 *   avx2bf16    as avx2 (bf16 sums with fp32 FMAs: avx2bf16.c); 64-bit only
 *   avx512bf16  nn_cpu_has_avx512bf16() (kernels/bf16.h)
 *   amx         nn_cpu_has_amx_bf16(), and Linux granting the tile state to
 *               the process (nn_amx_request_permission); when it refuses, the
 *               next family down is taken with a note (nn_kernels_note).
 * The x86 tables exist only in x86 builds (their files compile to nothing
 * elsewhere); on other machines only "scalar" is available, in both
 * precisions.
 *
 * Test hook: the environment variable NNTRAIN_TEST_AMX=refuse makes the
 * permission request fail as if Linux had refused it, and
 * NNTRAIN_TEST_AMX=fake-refuse also takes cpuid to report AMX (the refusal
 * comes before any AMX instruction runs), so the fall-back is tested on
 * machines without AMX.
 */
#include "kernels/kernels.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include "kernels/bf16.h"

#if defined(__x86_64__) || defined(__i386__)
#define NN_X86 1 /* avx2.c's, avx512.c's and avx512bf16.c's tables exist */
#include <cpuid.h>
extern const nn_kernels nn_kernels_avx2, nn_kernels_avx512;
#endif
#if defined(__x86_64__) && defined(__linux__)
#define NN_AMX 1 /* amx.c's table exists */
#endif

typedef enum {
    FAM_SCALAR,
    FAM_AVX2,
    FAM_AVX512,
    FAM_BF16_SCALAR,
    FAM_AVX2BF16,
    FAM_AVX512BF16,
    FAM_AMX
} fam;

typedef struct {
    const char *name;
    nn_precision prec;
    nn_isa isa; /* the width of the loops outside the kernels (nn_kernels_isa) */
} family;

/* Per precision, worst to best. */
static const family families[] = {
    [FAM_SCALAR] = {"scalar", NN_PREC_FP32, NN_ISA_SCALAR},
    [FAM_AVX2] = {"avx2", NN_PREC_FP32, NN_ISA_AVX2},
    [FAM_AVX512] = {"avx512", NN_PREC_FP32, NN_ISA_AVX512},
    [FAM_BF16_SCALAR] = {"scalar", NN_PREC_BF16, NN_ISA_SCALAR},
    [FAM_AVX2BF16] = {"avx2bf16", NN_PREC_BF16, NN_ISA_AVX2},
    [FAM_AVX512BF16] = {"avx512bf16", NN_PREC_BF16, NN_ISA_AVX512},
    [FAM_AMX] = {"amx", NN_PREC_BF16, NN_ISA_AVX512},
};
#define N_FAM ((int)(sizeof families / sizeof families[0]))

static const char *const precision_names[] = {"fp32", "bf16"};
#define N_PREC ((int)(sizeof precision_names / sizeof precision_names[0]))

static const nn_kernels *selected;
static int selected_fam = -1;
static char note[200];
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

/* nn_kernels_thread_use: this thread's own family (-1: none) and table */
static _Thread_local int thread_fam = -1;
static _Thread_local const nn_kernels *thread_table;

const char *nn_precision_name(nn_precision p)
{
    return (int)p >= 0 && (int)p < N_PREC ? precision_names[p] : "?";
}

int nn_precision_from_name(const char *s)
{
    for (int i = 0; i < N_PREC; i++)
        if (strcmp(precision_names[i], s) == 0)
            return i;
    return -1;
}

#ifdef NN_X86
static unsigned long long xgetbv0(void)
{
    unsigned lo, hi;
    __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (unsigned long long)hi << 32 | lo;
}

/* 1: AVX2 and FMA with the YMM state saved; 2: also AVX512F with the ZMM
 * state; 0: neither. */
static int x86_level(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    int fma = c >> 12 & 1, osxsave = c >> 27 & 1, avx = c >> 28 & 1;
    if (!fma || !osxsave || !avx || __get_cpuid_max(0, NULL) < 7)
        return 0;
    unsigned long long xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) /* XMM, YMM */
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    int avx2 = b >> 5 & 1, avx512f = b >> 16 & 1;
    if (!avx2)
        return 0;
    return avx512f && (xcr0 & 0xe0) == 0xe0 ? 2 : 1; /* opmask, ZMM_Hi256, Hi16_ZMM */
}
#endif

static const char *test_amx(void)
{
    const char *s = getenv("NNTRAIN_TEST_AMX");
    return s ? s : "";
}

#ifdef NN_AMX
/* The processor (cpuid, XCR0) has AMX-BF16; NNTRAIN_TEST_AMX=fake-refuse
 * says it has. */
static bool has_amx(void)
{
    return strcmp(test_amx(), "fake-refuse") == 0 || nn_cpu_has_amx_bf16();
}
#endif

/* The table of family f, or NULL when this processor lacks it.  AMX's
 * permission is not asked here. */
static const nn_kernels *table_if_usable(int f)
{
    switch ((fam)f) {
    case FAM_SCALAR:
        return &nn_kernels_ref;
    case FAM_BF16_SCALAR:
        return &nn_kernels_bf16_ref;
#ifdef NN_X86
    case FAM_AVX2:
        return x86_level() >= 1 ? &nn_kernels_avx2 : NULL;
    case FAM_AVX512:
        return x86_level() >= 2 ? &nn_kernels_avx512 : NULL;
    case FAM_AVX512BF16:
        return nn_cpu_has_avx512bf16() ? &nn_kernels_avx512bf16 : NULL;
#endif
#if defined(__x86_64__)
    case FAM_AVX2BF16:
        return x86_level() >= 1 ? &nn_kernels_avx2bf16 : NULL;
#endif
#ifdef NN_AMX
    case FAM_AMX:
        return has_amx() ? &nn_kernels_amx : NULL;
#endif
    default:
        return NULL;
    }
    return NULL;
}

/* Linux grants the tile state (or NNTRAIN_TEST_AMX says it refused). */
static bool amx_permitted(void)
{
    const char *t = test_amx();
    if (strcmp(t, "refuse") == 0 || strcmp(t, "fake-refuse") == 0)
        return false;
    return nn_amx_request_permission() == 0;
}

/* The best usable family of precision p below `below` (N_FAM: any). */
static int best_below(nn_precision p, int below)
{
    int best = -1;
    for (int f = 0; f < below; f++)
        if (families[f].prec == p && table_if_usable(f))
            best = f;
    return best;
}

static void use(int f)
{
    selected = table_if_usable(f);
    selected_fam = f;
}

/* Family f, or for amx first asks Linux for the tile state, and on a
 * refusal the best family below it, with a note. */
static int take(int f)
{
    if (f == FAM_AMX && !amx_permitted()) {
        int next = best_below(NN_PREC_BF16, FAM_AMX);
        snprintf(note, sizeof note,
                 "the processor has AMX but Linux refused the tile state "
                 "(arch_prctl ARCH_REQ_XCOMP_PERM); using the %s kernels",
                 families[next].name);
        return next;
    }
    return f;
}

/* "scalar, avx2 or avx512": the families of precision p; with only_usable,
 * those this processor can run ("scalar, avx2"). */
static void list_families(char *out, size_t n, nn_precision p, bool only_usable)
{
    int names[N_FAM], k = 0;
    for (int f = 0; f < N_FAM; f++)
        if (families[f].prec == p && (!only_usable || table_if_usable(f)))
            names[k++] = f;
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < k && o < n; i++)
        o += (size_t)snprintf(out + o, n - o, "%s%s",
                              i == 0 ? "" : i == k - 1 && !only_usable ? " or " : ", ",
                              families[names[i]].name);
}

/* The family nn_kernels_select(prec, isa) takes, or -1 with *err; the
 * note (an AMX refusal) in note[]. */
static int resolve(nn_precision prec, const char *isa, nn_error *err)
{
    note[0] = '\0';
    if ((int)prec < 0 || (int)prec >= N_PREC) {
        nn_error_set(err, NN_EXIT_USAGE, "unknown precision %d", (int)prec);
        return -1;
    }
    if (!isa || !*isa)
        return take(best_below(prec, N_FAM));
    char fams[80], other[80];
    list_families(fams, sizeof fams, prec, false);
    int named = -1, elsewhere = -1;
    for (int f = 0; f < N_FAM; f++) {
        if (strcmp(families[f].name, isa) != 0)
            continue;
        if (families[f].prec == prec)
            named = f;
        else
            elsewhere = f;
    }
    if (named < 0 && elsewhere >= 0) {
        nn_error_set(err, NN_EXIT_USAGE,
                     "NNTRAIN_ISA=%s: not %s %s kernel family (%s runs use %s)", isa,
                     prec == NN_PREC_FP32 ? "an" : "a", nn_precision_name(prec),
                     nn_precision_name(prec), fams);
        return -1;
    }
    if (named < 0) {
        list_families(other, sizeof other, prec == NN_PREC_FP32 ? NN_PREC_BF16 : NN_PREC_FP32,
                      false);
        nn_error_set(err, NN_EXIT_USAGE,
                     "NNTRAIN_ISA=%s: unknown kernel family (%s runs use %s; %s runs %s)", isa,
                     nn_precision_name(prec), fams,
                     nn_precision_name(prec == NN_PREC_FP32 ? NN_PREC_BF16 : NN_PREC_FP32),
                     other);
        return -1;
    }
    if (!table_if_usable(named)) {
        list_families(other, sizeof other, prec, true);
        nn_error_set(err, NN_EXIT_USAGE,
                     "NNTRAIN_ISA=%s: this processor cannot run the %s kernels (%s runs here: "
                     "%s)",
                     isa, isa, nn_precision_name(prec), other);
        return -1;
    }
    return take(named);
}

int nn_kernels_select(nn_precision prec, const char *isa, nn_error *err)
{
    int f = resolve(prec, isa, err);
    if (f < 0)
        return -1;
    use(f);
    return 0;
}

int nn_kernels_resolve(nn_precision prec, const char *isa, nn_error *err)
{
    return resolve(prec, isa, err);
}

int nn_kernels_thread_use(int f)
{
    int was = thread_fam;
    if (f >= 0 && f < N_FAM && table_if_usable(f)) {
        thread_fam = f;
        thread_table = table_if_usable(f);
    } else {
        thread_fam = -1;
        thread_table = NULL;
    }
    return was;
}

const char *nn_kernels_family_name(int f)
{
    return f >= 0 && f < N_FAM ? families[f].name : "?";
}

nn_precision nn_kernels_family_precision(int f)
{
    return f >= 0 && f < N_FAM ? families[f].prec : NN_PREC_FP32;
}

int nn_kernels_families(nn_precision p, const char **names, int cap)
{
    int k = 0;
    for (int f = 0; f < N_FAM; f++)
        if (families[f].prec == p && table_if_usable(f) && k < cap)
            names[k++] = families[f].name;
    return k;
}

const char *nn_kernels_note(void)
{
    return note[0] ? note : NULL;
}

static void select_default(void)
{
    if (!selected)
        use(best_below(NN_PREC_FP32, N_FAM));
}

const nn_kernels *nn_kernels_get(void)
{
    if (thread_table)
        return thread_table;
    if (!selected)
        pthread_once(&default_once, select_default);
    return selected;
}

nn_precision nn_kernels_precision(void)
{
    if (thread_table)
        return families[thread_fam].prec;
    nn_kernels_get();
    return families[selected_fam].prec;
}

nn_isa nn_kernels_isa(void)
{
    if (thread_table)
        return families[thread_fam].isa;
    nn_kernels_get();
    return families[selected_fam].isa;
}
