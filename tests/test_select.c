/* test_select.c - choosing the kernel family once the run's precision is
 * known (kernels/cpu.c): the families of each precision, NNTRAIN_ISA's
 * errors (unknown, the other precision's, one the processor lacks), the
 * AMX permission refused (simulated with NNTRAIN_TEST_AMX) and the note
 * that says so, and what nn_kernels_precision and nn_kernels_isa report. */
#include "tests.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/bf16.h"
#include "kernels/kernels.h"

static void select_ok(nn_precision p, const char *isa)
{
    nn_error e = {0};
    ck_assert_msg(nn_kernels_select(p, isa, &e) == 0, "select(%s, %s): %s", nn_precision_name(p),
                  isa ? isa : "NULL", e.msg);
}

/* select fails with code 2 and exactly msg, and changes nothing */
static void select_fails(nn_precision p, const char *isa, const char *msg)
{
    const nn_kernels *before = nn_kernels_get();
    nn_error e = {0};
    ck_assert_int_eq(nn_kernels_select(p, isa, &e), -1);
    ck_assert_int_eq(e.code, 2);
    ck_assert_str_eq(e.msg, msg);
    ck_assert_ptr_eq(nn_kernels_get(), before);
}

START_TEST(test_select_precision_names)
{
    ck_assert_str_eq(nn_precision_name(NN_PREC_FP32), "fp32");
    ck_assert_str_eq(nn_precision_name(NN_PREC_BF16), "bf16");
    ck_assert_str_eq(nn_precision_name((nn_precision)2), "?");
    ck_assert_str_eq(nn_precision_name((nn_precision)-1), "?");
    ck_assert_int_eq(nn_precision_from_name("fp32"), NN_PREC_FP32);
    ck_assert_int_eq(nn_precision_from_name("bf16"), NN_PREC_BF16);
    ck_assert_int_eq(nn_precision_from_name("BF16"), -1);
    ck_assert_int_eq(nn_precision_from_name("fp16"), -1);
    ck_assert_int_eq(nn_precision_from_name(""), -1);
}
END_TEST

/* Each precision's scalar family is its own reference table, everywhere. */
START_TEST(test_select_scalar_of_each_precision)
{
    select_ok(NN_PREC_FP32, "scalar");
    ck_assert_ptr_eq(nn_kernels_get(), &nn_kernels_ref);
    ck_assert_int_eq(nn_kernels_precision(), NN_PREC_FP32);
    ck_assert_int_eq(nn_kernels_isa(), NN_ISA_SCALAR);
    select_ok(NN_PREC_BF16, "scalar");
    ck_assert_ptr_eq(nn_kernels_get(), &nn_kernels_bf16_ref);
    ck_assert_str_eq(nn_kernels_get()->name, "scalar");
    ck_assert_int_eq(nn_kernels_precision(), NN_PREC_BF16);
    ck_assert_int_eq(nn_kernels_isa(), NN_ISA_SCALAR);
    ck_assert_ptr_null(nn_kernels_note());
    select_ok(NN_PREC_FP32, NULL);
}
END_TEST

/* select fails for the two families with "NNTRAIN_ISA=FAMILY: why" */
static void select_fails_both(nn_precision p, const char *const families[2], const char *why)
{
    for (int i = 0; i < 2; i++)
        select_fails(p, families[i], nn_test_fmt("NNTRAIN_ISA=%s: %s", families[i], why));
}

/* A family of the other precision, or an unknown one, is an error that
 * names it and lists the precision's families. */
START_TEST(test_select_refuses_the_other_precisions_families)
{
    select_ok(NN_PREC_FP32, "scalar");
    static const char *const bf16_only[] = {"avx2bf16", "avx512bf16", "amx"};
    select_fails_both(NN_PREC_FP32, bf16_only,
                      "not an fp32 kernel family (fp32 runs use scalar, avx2 or avx512)");
    static const char *const fp32_only[] = {"avx2", "avx512"};
    select_fails_both(NN_PREC_BF16, fp32_only,
                      "not a bf16 kernel family (bf16 runs use scalar, avx2bf16, avx512bf16 or "
                      "amx)");
    select_fails(NN_PREC_FP32, "sse9", "NNTRAIN_ISA=sse9: unknown kernel family (fp32 runs use "
                                       "scalar, avx2 or avx512; bf16 runs scalar, avx2bf16, "
                                       "avx512bf16 or amx)");
    select_fails(NN_PREC_BF16, "AMX", "NNTRAIN_ISA=AMX: unknown kernel family (bf16 runs use "
                                      "scalar, avx2bf16, avx512bf16 or amx; fp32 runs scalar, "
                                      "avx2 or avx512)");
    select_fails(NN_PREC_BF16, "bf16", "NNTRAIN_ISA=bf16: unknown kernel family (bf16 runs use "
                                       "scalar, avx2bf16, avx512bf16 or amx; fp32 runs scalar, "
                                       "avx2 or avx512)");
    nn_error e = {0};
    ck_assert_int_eq(nn_kernels_select((nn_precision)7, NULL, &e), -1);
    ck_assert_int_eq(e.code, 2);
    ck_assert_ptr_eq(nn_kernels_get(), &nn_kernels_ref);
    select_ok(NN_PREC_FP32, NULL);
}
END_TEST

/* The error for a bf16 family this processor lacks; here: what it runs. */
static const char *cannot_run(const char *family, const char *here)
{
    return nn_test_fmt("NNTRAIN_ISA=%s: this processor cannot run the %s kernels (bf16 runs "
                       "here: %s)", family, family, here);
}

/* avx2bf16 runs where the fp32 avx2 kernels do (64-bit x86 builds). */
static int has_avx2bf16(void)
{
#if defined(__x86_64__)
    const char *names[8];
    int n = nn_kernels_families(NN_PREC_FP32, names, 8);
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], "avx2") == 0)
            return 1;
#endif
    return 0;
}

/* The best bf16 family below amx. */
static const char *bf16_below_amx(void)
{
    return nn_cpu_has_avx512bf16() ? "avx512bf16" : has_avx2bf16() ? "avx2bf16" : "scalar";
}

/* avx2bf16 is selectable exactly where avx2 is, avx512bf16 exactly when the
 * processor has it, amx exactly when it has AMX (and then Linux grants it,
 * or the note says it did not); otherwise the error names the family and
 * what this processor runs.  The default is the best of the precision. */
START_TEST(test_select_bf16_follows_the_processor)
{
    unsetenv("NNTRAIN_TEST_AMX");
    int has512 = nn_cpu_has_avx512bf16(), hasamx = nn_cpu_has_amx_bf16();
    int has2 = has_avx2bf16();
    char here[80];
    snprintf(here, sizeof here, "scalar%s%s%s", has2 ? ", avx2bf16" : "",
             has512 ? ", avx512bf16" : "", hasamx ? ", amx" : "");
    if (has2) {
        select_ok(NN_PREC_BF16, "avx2bf16");
        ck_assert_str_eq(nn_kernels_get()->name, "avx2bf16");
        ck_assert_int_eq(nn_kernels_isa(), NN_ISA_AVX2);
        ck_assert_int_eq(nn_kernels_precision(), NN_PREC_BF16);
    } else {
        select_fails(NN_PREC_BF16, "avx2bf16", cannot_run("avx2bf16", here));
    }
    if (has512) {
        select_ok(NN_PREC_BF16, "avx512bf16");
        ck_assert_ptr_eq(nn_kernels_get(), &nn_kernels_avx512bf16);
        ck_assert_int_eq(nn_kernels_isa(), NN_ISA_AVX512);
        ck_assert_int_eq(nn_kernels_precision(), NN_PREC_BF16);
    } else {
        select_fails(NN_PREC_BF16, "avx512bf16", cannot_run("avx512bf16", here));
    }
    if (hasamx) {
        select_ok(NN_PREC_BF16, "amx");
        const char *name = nn_kernels_get()->name;
        ck_assert_msg(strcmp(name, "amx") == 0 || nn_kernels_note() != NULL, "%s", name);
    } else {
        select_fails(NN_PREC_BF16, "amx", cannot_run("amx", here));
    }
    select_ok(NN_PREC_BF16, NULL);
    if (!hasamx) {
        ck_assert_str_eq(nn_kernels_get()->name, bf16_below_amx());
        ck_assert_ptr_null(nn_kernels_note());
    }
    ck_assert_int_eq(nn_kernels_precision(), NN_PREC_BF16);
    select_ok(NN_PREC_BF16, "");
    ck_assert_int_eq(nn_kernels_precision(), NN_PREC_BF16);
    select_ok(NN_PREC_FP32, NULL);
    ck_assert_int_eq(nn_kernels_precision(), NN_PREC_FP32);
}
END_TEST

/* Linux refusing the AMX tile state: the next family down, with a note.
 * NNTRAIN_TEST_AMX=fake-refuse takes the processor to have AMX and the
 * request to fail (no AMX instruction runs); =refuse fails the request
 * only, so on a machine without AMX nothing changes. */
START_TEST(test_select_amx_refused_falls_back_with_a_note)
{
    const char *below = bf16_below_amx();
    char note[200];
    snprintf(note, sizeof note, "the processor has AMX but Linux refused the tile state "
                                "(arch_prctl ARCH_REQ_XCOMP_PERM); using the %s kernels", below);
    setenv("NNTRAIN_TEST_AMX", "fake-refuse", 1);
    select_ok(NN_PREC_BF16, "amx");
    ck_assert_str_eq(nn_kernels_get()->name, below);
    ck_assert_int_eq(nn_kernels_precision(), NN_PREC_BF16);
    ck_assert_ptr_nonnull(nn_kernels_note());
    ck_assert_str_eq(nn_kernels_note(), note);
    select_ok(NN_PREC_BF16, NULL); /* the default tries amx first, too */
    ck_assert_str_eq(nn_kernels_get()->name, below);
    ck_assert_str_eq(nn_kernels_note(), note);
    select_ok(NN_PREC_BF16, "scalar"); /* a family below amx asks nothing */
    ck_assert_ptr_null(nn_kernels_note());
    select_ok(NN_PREC_FP32, NULL); /* nor does fp32 */
    ck_assert_ptr_null(nn_kernels_note());

    setenv("NNTRAIN_TEST_AMX", "refuse", 1);
    select_ok(NN_PREC_BF16, NULL);
    if (nn_cpu_has_amx_bf16()) {
        ck_assert_str_eq(nn_kernels_get()->name, below);
        ck_assert_str_eq(nn_kernels_note(), note);
    } else {
        ck_assert_str_eq(nn_kernels_get()->name, below);
        ck_assert_ptr_null(nn_kernels_note());
        nn_error e = {0};
        ck_assert_int_eq(nn_kernels_select(NN_PREC_BF16, "amx", &e), -1);
        ck_assert_msg(strstr(e.msg, "this processor cannot run the amx kernels") != NULL, "%s",
                      e.msg);
    }
    unsetenv("NNTRAIN_TEST_AMX");
    select_ok(NN_PREC_FP32, NULL);
}
END_TEST

Suite *select_suite(void)
{
    Suite *s = suite_create("select");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_select_precision_names);
    tcase_add_test(tc, test_select_scalar_of_each_precision);
    tcase_add_test(tc, test_select_refuses_the_other_precisions_families);
    tcase_add_test(tc, test_select_bf16_follows_the_processor);
    tcase_add_test(tc, test_select_amx_refused_falls_back_with_a_note);
    suite_add_tcase(s, tc);
    return s;
}
