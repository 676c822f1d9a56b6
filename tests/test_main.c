/* test_main.c - runs every Check suite; exit status 1 when any test fails.
 * Built with -DNN_ONLY_SUITE=name_suite it runs just that one (used while
 * developing a module). */
#include "tests.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *nn_test_tmpdir(void)
{
    static char dir[4096];
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    snprintf(dir, sizeof dir, "%s/nntrain-test-XXXXXX", base);
    if (!mkdtemp(dir))
        ck_abort_msg("mkdtemp(%s) failed", dir);
    return dir;
}

void nn_test_write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s", path);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

int main(void)
{
#ifdef NN_ONLY_SUITE
    SRunner *sr = srunner_create(NN_ONLY_SUITE());
#else
    SRunner *sr = NULL;
#define NN_ADD_SUITE(name) \
    if (!sr) sr = srunner_create(name()); else srunner_add_suite(sr, name());
    NN_TEST_SUITES(NN_ADD_SUITE)
#endif
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
