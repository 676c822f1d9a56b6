/* cpufeat.c - whether the processor and the operating system support the
 * bf16 kernels (bf16.h):
 *   avx512bf16  cpuid: OSXSAVE (leaf 1), AVX512F (leaf 7.0 EBX 16), AVX2,
 *               AVX512BW (EBX 30: vpermw packs the pairs), AVX512_BF16
 *               (leaf 7.1 EAX 5); XCR0: XMM, YMM, opmask,
 *               ZMM_Hi256, Hi16_ZMM
 *   amx         cpuid: AMX-BF16 (leaf 7.0 EDX 22), AMX-TILE (EDX 24), and
 *               the avx512bf16 set (amx.c's epilogues are AVX-512); XCR0:
 *               XTILECFG, XTILEDATA (17, 18).  Linux additionally makes a
 *               process ask for the tile data state before using it:
 *               nn_amx_request_permission.
 * On a machine that is not x86 everything is 0 / -1.
 */
#define _GNU_SOURCE /* syscall() */
#include "kernels/bf16.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long xgetbv0(void)
{
    unsigned lo, hi;
    __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (unsigned long long)hi << 32 | lo;
}

int nn_cpu_has_avx512bf16(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c >> 27 & 1) || __get_cpuid_max(0, NULL) < 7)
        return 0;
    if ((xgetbv0() & 0xe6) != 0xe6) /* XMM, YMM, opmask, ZMM_Hi256, Hi16_ZMM */
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    if (!(b >> 16 & 1) || !(b >> 5 & 1) || !(b >> 30 & 1) || a < 1) /* AVX512F, AVX2, BW */
        return 0;
    __cpuid_count(7, 1, a, b, c, d);
    return (int)(a >> 5 & 1);
}

int nn_cpu_has_amx_bf16(void)
{
    if (!nn_cpu_has_avx512bf16())
        return 0;
    unsigned a, b, c, d;
    __cpuid_count(7, 0, a, b, c, d);
    if (!(d >> 22 & 1) || !(d >> 24 & 1))
        return 0;
    return (xgetbv0() & 0x60000ull) == 0x60000ull;
}
#else
int nn_cpu_has_avx512bf16(void)
{
    return 0;
}

int nn_cpu_has_amx_bf16(void)
{
    return 0;
}
#endif

#if defined(__x86_64__) && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>

#define NN_ARCH_GET_XCOMP_PERM 0x1022
#define NN_ARCH_REQ_XCOMP_PERM 0x1023
#define NN_XFEATURE_XTILEDATA 18

int nn_amx_request_permission(void)
{
    if (syscall(SYS_arch_prctl, NN_ARCH_REQ_XCOMP_PERM, NN_XFEATURE_XTILEDATA) != 0)
        return -1;
    unsigned long perm = 0;
    if (syscall(SYS_arch_prctl, NN_ARCH_GET_XCOMP_PERM, &perm) != 0)
        return -1;
    return perm >> NN_XFEATURE_XTILEDATA & 1 ? 0 : -1;
}
#else
int nn_amx_request_permission(void)
{
    return -1;
}
#endif
