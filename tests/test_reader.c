/* test_reader.c - the byte reader: plain and gzip streams give the same
 * bytes in any chunking, and damaged gzip is an error, never an early EOF. */
#include "tests.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "data/reader.h"

/* n bytes, partly compressible: runs, counters and pseudo-random noise. */
static unsigned char *sample_data(size_t n)
{
    unsigned char *d = malloc(n);
    ck_assert_ptr_nonnull(d);
    uint32_t s = 12345;
    for (size_t i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        d[i] = (i / 4096) % 3 == 0 ? (unsigned char)(s >> 16)
             : (i / 4096) % 3 == 1 ? (unsigned char)i
                                    : 0;
    }
    return d;
}

/* Reads the whole stream in chunks of `chunk` bytes, checking that the
 * offset follows and that a short count comes only at the end.  (No Check
 * assertions inside the loop: each one costs a write to Check's pipe.) */
static unsigned char *read_all(const char *path, size_t chunk, size_t *n)
{
    nn_error err = {0};
    nn_reader *r = nn_reader_open(path, &err);
    ck_assert_msg(r != NULL, "%s", err.msg);
    size_t cap = 1 << 16, len = 0;
    unsigned char *out = malloc(cap);
    unsigned char *tmp = malloc(chunk);
    ck_assert(out && tmp);
    int offset_ok = 1;
    long long got;
    for (;;) {
        got = nn_reader_read(r, tmp, chunk, &err);
        if (got < 0)
            break;
        while (len + (size_t)got > cap) {
            out = realloc(out, cap *= 2);
            ck_assert_ptr_nonnull(out);
        }
        memcpy(out + len, tmp, (size_t)got);
        len += (size_t)got;
        offset_ok &= nn_reader_offset(r) == len;
        if ((size_t)got < chunk)
            break;
    }
    ck_assert_msg(got >= 0, "%s", err.msg);
    ck_assert(offset_ok);
    ck_assert_int_eq(nn_reader_read(r, tmp, chunk, &err), 0);
    nn_reader_close(r);
    free(tmp);
    *n = len;
    return out;
}

/* Expects opening and reading `path` to the end to fail with `msg`. */
static void expect_read_error(const char *path, const char *msg)
{
    nn_error err = {0};
    nn_reader *r = nn_reader_open(path, &err);
    if (r) {
        unsigned char buf[512];
        long long got;
        while ((got = nn_reader_read(r, buf, sizeof buf, &err)) == (long long)sizeof buf)
            ;
        nn_reader_close(r);
        ck_assert_msg(got == -1, "read ended without an error (last count %lld)", got);
    }
    ck_assert_int_eq(err.code, 1);
    ck_assert_str_eq(err.msg, msg);
}

START_TEST(test_reader_gzip_chunks_match_plain_file)
{
    size_t n = 700 * 1000 + 3, gn;
    unsigned char *data = sample_data(n);
    unsigned char *g = nn_test_gzip(data, n, &gn);
    nn_test_write_file(nn_test_path("d.bin"), data, n);
    nn_test_write_file(nn_test_path("d.bin.gz"), g, gn);
    const size_t chunks[] = {1, 7, 4096, 65537, 300000, 1 << 20};
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        size_t pn, zn;
        unsigned char *plain = read_all(nn_test_path("d.bin"), chunks[c], &pn);
        unsigned char *unz = read_all(nn_test_path("d.bin.gz"), chunks[c], &zn);
        ck_assert_uint_eq(pn, n);
        ck_assert_uint_eq(zn, n);
        ck_assert_int_eq(memcmp(plain, data, n), 0);
        ck_assert_int_eq(memcmp(unz, data, n), 0);
        free(plain);
        free(unz);
    }
    free(g);
    free(data);
}
END_TEST

START_TEST(test_reader_reports_size_and_kind)
{
    const char text[] = "hello, world\n";
    nn_test_write_file(nn_test_path("p"), text, sizeof text - 1);
    size_t gn;
    unsigned char *g = nn_test_gzip(text, sizeof text - 1, &gn);
    nn_test_write_file(nn_test_path("g"), g, gn);
    free(g);

    nn_error err = {0};
    nn_reader *r = nn_reader_open(nn_test_path("p"), &err);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(nn_reader_is_gzip(r), 0);
    ck_assert_int_eq(nn_reader_size(r), (long long)(sizeof text - 1));
    ck_assert_str_eq(nn_reader_path(r), nn_test_path("p"));
    ck_assert_uint_eq(nn_reader_offset(r), 0);
    char buf[5];
    ck_assert_int_eq(nn_reader_read(r, buf, 5, &err), 5);
    ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
    ck_assert_uint_eq(nn_reader_offset(r), 5);
    nn_reader_close(r);

    r = nn_reader_open(nn_test_path("g"), &err);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(nn_reader_is_gzip(r), 1);
    ck_assert_int_eq(nn_reader_size(r), -1);
    char all[64];
    ck_assert_int_eq(nn_reader_read(r, all, sizeof all, &err), (long long)(sizeof text - 1));
    ck_assert_int_eq(memcmp(all, text, sizeof text - 1), 0);
    ck_assert_int_eq(nn_reader_read(r, all, sizeof all, &err), 0);
    nn_reader_close(r);
}
END_TEST

START_TEST(test_reader_reads_empty_and_one_byte_files_as_plain)
{
    nn_test_write_file(nn_test_path("empty"), "", 0);
    nn_test_write_file(nn_test_path("one"), "\x1f", 1);
    nn_error err = {0};
    nn_reader *r = nn_reader_open(nn_test_path("empty"), &err);
    ck_assert_ptr_nonnull(r);
    char buf[4];
    ck_assert_int_eq(nn_reader_size(r), 0);
    ck_assert_int_eq(nn_reader_read(r, buf, sizeof buf, &err), 0);
    nn_reader_close(r);

    r = nn_reader_open(nn_test_path("one"), &err);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(nn_reader_is_gzip(r), 0);
    ck_assert_int_eq(nn_reader_read(r, buf, sizeof buf, &err), 1);
    ck_assert_int_eq((unsigned char)buf[0], 0x1f);
    nn_reader_close(r);
}
END_TEST

START_TEST(test_reader_reads_concatenated_gzip_members)
{
    size_t an, bn;
    unsigned char *a = nn_test_gzip("first part, ", 12, &an);
    unsigned char *b = nn_test_gzip("second part", 11, &bn);
    unsigned char *ab = malloc(an + bn);
    ck_assert_ptr_nonnull(ab);
    memcpy(ab, a, an);
    memcpy(ab + an, b, bn);
    nn_test_write_file(nn_test_path("ab.gz"), ab, an + bn);
    size_t n;
    unsigned char *got = read_all(nn_test_path("ab.gz"), 5, &n);
    ck_assert_uint_eq(n, 23);
    ck_assert_int_eq(memcmp(got, "first part, second part", 23), 0);
    free(got);
    free(ab);
    free(a);
    free(b);
}
END_TEST

START_TEST(test_reader_rejects_garbage_after_gzip_member)
{
    size_t an;
    unsigned char *a = nn_test_gzip("payload", 7, &an);
    unsigned char *ax = malloc(an + 3);
    ck_assert_ptr_nonnull(ax);
    memcpy(ax, a, an);
    memcpy(ax + an, "xyz", 3);
    const char *p = nn_test_path("ax.gz");
    nn_test_write_file(p, ax, an + 3);
    expect_read_error(p, nn_test_fmt("%s: gzip data corrupt at byte %zu (unexpected bytes after the "
                             "compressed data)", p, an));
    free(ax);
    free(a);
}
END_TEST

START_TEST(test_reader_rejects_corrupt_gzip_with_offset)
{
    size_t n = 5000, gn;
    unsigned char *data = sample_data(n);
    unsigned char *g = nn_test_gzip(data, n, &gn);
    const char *p = nn_test_path("c.gz");
    g[10] = 0xFF; /* first deflate block: reserved type 11 */
    nn_test_write_file(p, g, gn);
    expect_read_error(p, nn_test_fmt("%s: gzip data corrupt at byte 11 (invalid block type)", p));

    free(g);
    g = nn_test_gzip(data, n, &gn);
    g[2] = 7; /* compression method other than deflate */
    nn_test_write_file(p, g, gn);
    expect_read_error(p, nn_test_fmt("%s: gzip data corrupt at byte 4 (unknown compression method)", p));

    free(g);
    g = nn_test_gzip(data, n, &gn);
    g[gn - 1] ^= 1; /* ISIZE */
    nn_test_write_file(p, g, gn);
    expect_read_error(p, nn_test_fmt("%s: gzip data corrupt at byte %zu (incorrect length check)", p, gn));
    free(g);
    free(data);
}
END_TEST

START_TEST(test_reader_rejects_truncated_gzip)
{
    size_t n = 100000, gn;
    unsigned char *data = sample_data(n);
    unsigned char *g = nn_test_gzip(data, n, &gn);
    const char *p = nn_test_path("t.gz");
    size_t cuts[] = {2, 5, 11, gn / 3, gn - 8, gn - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        nn_test_write_file(p, g, cuts[i]);
        expect_read_error(p, nn_test_fmt("%s: gzip stream truncated at byte %zu", p, cuts[i]));
    }
    free(g);
    free(data);
}
END_TEST

START_TEST(test_reader_rejects_missing_file_and_directory)
{
    nn_error err = {0};
    const char *p = nn_test_path("missing.idx");
    ck_assert_ptr_null(nn_reader_open(p, &err));
    ck_assert_int_eq(err.code, 1);
    ck_assert_str_eq(err.msg, nn_test_fmt("%s: No such file or directory", p));
    memset(&err, 0, sizeof err);
    ck_assert_ptr_null(nn_reader_open(nn_test_dir(), &err));
    ck_assert_int_eq(err.code, 1);
    ck_assert_str_eq(err.msg, nn_test_fmt("%s: Is a directory", nn_test_dir()));
}
END_TEST

START_TEST(test_reader_unread_gives_back_the_first_bytes)
{
    const char *dir = nn_test_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/u.bin", dir);
    nn_test_write_file(path, "0123456789", 10);
    nn_error err = {0};
    nn_reader *r = nn_reader_open(path, &err);
    ck_assert_ptr_nonnull(r);
    char buf[16];
    ck_assert_int_eq(nn_reader_read(r, buf, 4, &err), 4);
    ck_assert_int_eq(nn_reader_unread(r, buf, 4), 0);
    ck_assert_int_eq(nn_reader_unread(r, buf, 4), -1); /* only once */
    ck_assert_uint_eq(nn_reader_offset(r), 0);
    ck_assert_int_eq(nn_reader_read(r, buf, 16, &err), 10);
    ck_assert_mem_eq(buf, "0123456789", 10);
    nn_reader_close(r);
}
END_TEST

/* On a pipe, read_some returns what has arrived instead of waiting to fill
 * the request: the writer sends 5 bytes and keeps the pipe open. */
START_TEST(test_reader_read_some_returns_what_has_arrived)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(write(fds[1], "hello", 5), 5);
    int saved = dup(0);
    ck_assert_int_eq(dup2(fds[0], 0), 0);
    nn_error err = {0};
    nn_reader *r = nn_reader_open("-", &err);
    ck_assert_ptr_nonnull(r);
    char buf[64];
    ck_assert_int_eq(nn_reader_read(r, buf, 2, &err), 2);
    ck_assert_int_eq(nn_reader_read_some(r, buf, sizeof buf, &err), 3); /* would block for more */
    ck_assert_mem_eq(buf, "llo", 3);
    ck_assert_uint_eq(nn_reader_pending(r), 0);
    close(fds[1]);
    ck_assert_int_eq(nn_reader_read_some(r, buf, sizeof buf, &err), 0); /* end of input */
    nn_reader_close(r);
    dup2(saved, 0);
    close(saved);
    close(fds[0]);
}
END_TEST

Suite *reader_suite(void)
{
    Suite *s = suite_create("reader");
    TCase *t = tcase_create("reader");
    tcase_add_checked_fixture(t, nn_test_dir_fresh, NULL);
    tcase_set_timeout(t, 30);
    tcase_add_test(t, test_reader_gzip_chunks_match_plain_file);
    tcase_add_test(t, test_reader_reports_size_and_kind);
    tcase_add_test(t, test_reader_reads_empty_and_one_byte_files_as_plain);
    tcase_add_test(t, test_reader_reads_concatenated_gzip_members);
    tcase_add_test(t, test_reader_rejects_garbage_after_gzip_member);
    tcase_add_test(t, test_reader_rejects_corrupt_gzip_with_offset);
    tcase_add_test(t, test_reader_rejects_truncated_gzip);
    tcase_add_test(t, test_reader_rejects_missing_file_and_directory);
    tcase_add_test(t, test_reader_unread_gives_back_the_first_bytes);
    tcase_add_test(t, test_reader_read_some_returns_what_has_arrived);
    suite_add_tcase(s, t);
    return s;
}
