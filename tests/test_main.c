/* test_main.c - runs every Check suite; exit status 1 when any test fails.
 * Built with -DNN_ONLY_SUITE=name_suite it runs just that one (used while
 * developing a module). */
#define _XOPEN_SOURCE 700 /* nftw */
#include "tests.h"

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Every test folder lives under one root made at start-up and removed,
 * with everything in it, when the run ends. */
static char root[4096];

const char *nn_test_tmpdir(void)
{
    static char dir[4200];
    snprintf(dir, sizeof dir, "%s/t-XXXXXX", root);
    if (!mkdtemp(dir))
        ck_abort_msg("mkdtemp(%s) failed", dir);
    return dir;
}

static char test_dir[4200];

void nn_test_dir_fresh(void)
{
    snprintf(test_dir, sizeof test_dir, "%s", nn_test_tmpdir());
}

const char *nn_test_dir(void)
{
    return test_dir;
}

const char *nn_test_path(const char *name)
{
    static char bufs[4][8500];
    static int next;
    char *p = bufs[next++ % 4];
    snprintf(p, sizeof bufs[0], "%s/%s", test_dir, name);
    return p;
}

const char *nn_test_put(const char *name, const char *text)
{
    return nn_test_put_bytes(name, text, strlen(text));
}

const char *nn_test_put_bytes(const char *name, const void *data, size_t n)
{
    const char *p = nn_test_path(name);
    nn_test_write_file(p, data, n);
    return p;
}

const char *nn_test_fmt(const char *fmt, ...)
{
    static char msg[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return msg;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path); /* best effort: a leftover folder fails no test */
    return 0;
}

unsigned char *nn_test_gzip(const void *src, size_t n, size_t *out_n)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    ck_assert_int_eq(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&zs, (uLong)n) + 64;
    unsigned char *out = malloc(cap);
    ck_assert_ptr_nonnull(out);
    zs.next_in = (unsigned char *)src;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *out_n = cap - zs.avail_out;
    deflateEnd(&zs);
    return out;
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
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    snprintf(root, sizeof root, "%s/nntrain-tests-XXXXXX", base);
    if (!mkdtemp(root)) {
        perror(root);
        return EXIT_FAILURE;
    }
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
    nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
