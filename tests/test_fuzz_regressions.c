/* test_fuzz_regressions.c - one test per bug the fuzz harnesses found
 * (tests/fuzz/): each feeds the input saved in tests/fuzz/regressions/ (the
 * same bytes, rebuilt here) to the parser and checks the fixed behaviour.
 *
 * Some bugs were allocations far larger than the input: those tests cap the
 * process's address space (RLIMIT_AS) a little above what it already uses,
 * so the old allocation fails and the parse with it.  AddressSanitizer
 * reserves terabytes of address space up front, so in the sanitizer build
 * the cap is skipped and the test only checks the parse succeeds.
 */
#include "tests.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "checkpoint/checkpoint.h"
#include "data/csv.h"
#include "data/dataset.h"
#include "data/idx.h"
#include "data/reader.h"
#include "util/crc32.h"
#include "util/error.h"

#if defined(__SANITIZE_ADDRESS__)
#define NN_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NN_TEST_ASAN 1
#endif
#endif
#ifndef NN_TEST_ASAN
#define NN_TEST_ASAN 0
#endif

/* --- a cap on the address space ------------------------------------------ */

static struct rlimit g_old_as;
static int g_capped;

/* Lets the process map at most `mb` MiB more than it maps now.  Does
 * nothing under ASan or when the current size cannot be read. */
static void cap_memory(size_t mb)
{
    g_capped = 0;
    if (NN_TEST_ASAN)
        return;
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    int ok = f && fscanf(f, "%lu", &pages) == 1;
    if (f)
        fclose(f);
    if (!ok || getrlimit(RLIMIT_AS, &g_old_as) != 0)
        return;
    struct rlimit lim = g_old_as;
    rlim_t want = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (rlim_t)mb * 1024 * 1024;
    if (g_old_as.rlim_cur != RLIM_INFINITY && g_old_as.rlim_cur < want)
        return;
    lim.rlim_cur = want;
    g_capped = setrlimit(RLIMIT_AS, &lim) == 0;
}

static void uncap_memory(void)
{
    if (g_capped)
        setrlimit(RLIMIT_AS, &g_old_as);
    g_capped = 0;
}

/* --- CSV --------------------------------------------------------------- */

/* tests/fuzz/regressions/fuzz_csv-wide-row-alloc: one row of 70000 "0"
 * fields (selector 0x60: no label, every column a feature; the file is
 * gzip in the saved input).  The loader reserved its first 1024 rows at
 * once: 1024 x 70000 floats = 287 MB for a 140 KB file (4 GB for a row of
 * a million fields).  Now the first reservation is about 1 MiB. */
START_TEST(test_fuzz_csv_wide_row_reserves_rows_by_bytes)
{
    const size_t cols = 70000;
    char *text = malloc(2 * cols);
    ck_assert_ptr_nonnull(text);
    for (size_t i = 0; i < cols; i++) {
        text[2 * i] = '0';
        text[2 * i + 1] = i + 1 < cols ? ',' : '\n';
    }
    const char *path = nn_test_path("wide.csv");
    nn_test_write_file(path, text, 2 * cols);
    free(text);

    nn_csv_spec spec = {.header = NN_HEADER_AUTO, .delimiter = ','};
    nn_dataset d;
    nn_error err = {0};
    cap_memory(128); /* far below the 287 MB of the old first reservation */
    int rc = nn_csv_read(&d, NULL, path, &spec, NULL, 0, &err);
    uncap_memory();
    ck_assert_msg(rc == 0, "%s", err.msg);
    ck_assert_uint_eq(d.n, 1);
    ck_assert_uint_eq(d.features, cols);
    ck_assert(((const float *)d.x)[cols - 1] == 0.0f);
    nn_dataset_free(&d);
}
END_TEST

/* The same with more rows than the first reservation holds: the arrays
 * still grow to every row, in file order. */
START_TEST(test_fuzz_csv_wide_rows_grow_past_the_first_reservation)
{
    const size_t cols = 20000, rows = 20; /* 80 KB a row: 13 rows in the first MiB */
    size_t len = rows * cols * 3;
    char *text = malloc(len);
    ck_assert_ptr_nonnull(text);
    size_t k = 0;
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < cols; i++)
            k += (size_t)snprintf(text + k, len - k, "%zu%c", r % 10, i + 1 < cols ? ',' : '\n');
    const char *path = nn_test_path("wide-rows.csv");
    nn_test_write_file(path, text, k);
    free(text);

    nn_csv_spec spec = {.header = NN_HEADER_NO, .delimiter = ',', .has_label = true,
                        .label = {NULL, -1}};
    nn_dataset d;
    nn_error err = {0};
    ck_assert_msg(nn_csv_read(&d, NULL, path, &spec, NULL, 0, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(d.n, rows);
    ck_assert_uint_eq(d.features, cols - 1);
    for (size_t r = 0; r < rows; r++) {
        ck_assert_int_eq(d.labels[r], (int)(r % 10));
        ck_assert(((const float *)d.x)[r * (cols - 1) + cols - 2] == (float)(r % 10));
    }
    nn_dataset_free(&d);
}
END_TEST

/* --- IDX --------------------------------------------------------------- */

/* tests/fuzz/regressions/fuzz_idx-stream-header-alloc: a 12-byte header
 * claiming 1 x 16777216 doubles and no data.  nn_idx_stream_open allocated
 * the 128 MiB row buffer from the header alone, before --predict could
 * compare the width with the checkpoint's inputs.  Now the buffer waits for
 * the first row. */
START_TEST(test_fuzz_idx_stream_open_allocates_nothing_from_the_header)
{
    static const unsigned char hdr[12] = {0, 0, 0x0e, 2, 0, 0, 0, 1, 1, 0, 0, 0};
    const char *path = nn_test_path("wide.idx");
    nn_test_write_file(path, hdr, sizeof hdr);
    nn_error err = {0};
    nn_reader *r = nn_reader_open(path, &err);
    ck_assert_msg(r != NULL, "%s", err.msg);
    cap_memory(64);
    nn_idx_stream *s = nn_idx_stream_open(r, &err);
    uncap_memory();
    ck_assert_msg(s != NULL, "%s", err.msg);
    ck_assert_uint_eq(nn_idx_stream_features(s), (size_t)1 << 24);
    nn_idx_stream_close(s);
    nn_reader_close(r);
}
END_TEST

/* The row buffer made on the first row: rows still stream, and a short
 * file is still an error naming the item. */
START_TEST(test_fuzz_idx_stream_reads_rows_after_a_lazy_buffer)
{
    static const unsigned char file[] = {0, 0, 0x0b, 2, 0, 0, 0, 2, 0, 0, 0, 2,
                                         0xff, 0xfe, 0x01, 0x00, 0x00, 0x07};
    const char *path = nn_test_path("short.idx");
    nn_test_write_file(path, file, sizeof file);
    nn_error err = {0};
    nn_reader *r = nn_reader_open(path, &err);
    ck_assert_ptr_nonnull(r);
    nn_idx_stream *s = nn_idx_stream_open(r, &err);
    ck_assert_msg(s != NULL, "%s", err.msg);
    double x[2];
    ck_assert_int_eq(nn_idx_stream_next(s, x, &err), 1);
    ck_assert(x[0] == -2.0 && x[1] == 256.0);
    ck_assert_int_eq(nn_idx_stream_next(s, x, &err), -1);
    ck_assert_int_eq(err.code, NN_EXIT_RUNTIME);
    ck_assert_msg(strstr(err.msg, "data ends in item 1") != NULL, "%s", err.msg);
    nn_idx_stream_close(s);
    nn_reader_close(r);
}
END_TEST

/* --- checkpoints ----------------------------------------------------------- */

/* tests/fuzz/regressions/fuzz_checkpoint-layer-origin-overflow and
 * fuzz_checkpoint-kind-message-origin: a format-4 checkpoint whose first
 * layer claims declared layer 2^31 - 1.  The check of the layers' order,
 * and then a kind's message about its own fields, computed origin + 1 in
 * int (undefined behaviour on the overflow); now the record is refused as
 * soon as its origin is read. */
START_TEST(test_fuzz_checkpoint_layer_origin_is_range_checked)
{
    nn_ckpt c = {0};
    nn_layer_cfg layers[1] = {{.units = 2, .act = NN_ACT_SIGMOID}};
    nn_error err = {0};
    ck_assert_int_eq(nn_arch_from_layers(&c.arch, 3, layers, 1, &err), 0);
    float params[8] = {0};
    c.params = params;
    c.n_params = 8;
    unsigned char *buf;
    size_t n;
    ck_assert_msg(nn_ckpt_encode(&c, &buf, &n, "x", &err) == 0, "%s", err.msg);
    /* the ARCH payload: n_inputs, n_layers, then the layer: "dense" (4 + 5
     * bytes) and its origin */
    size_t at = 16;
    while (memcmp(buf + at, "ARCH", 4) != 0)
        at += 16 + (size_t)(buf[at + 8] | buf[at + 9] << 8);
    unsigned char *origin = buf + at + 16 + 8 + 9;
    origin[0] = origin[1] = origin[2] = 0xff;
    origin[3] = 0x7f;
    uint32_t crc = nn_crc32(0, buf, n - 4);
    for (int i = 0; i < 4; i++)
        buf[n - 4 + (size_t)i] = (unsigned char)(crc >> (8 * i));
    nn_ckpt d;
    ck_assert_int_eq(nn_ckpt_decode(buf, n, "m.ckpt", &d, &err), -1);
    ck_assert_str_eq(err.msg, "m.ckpt: malformed checkpoint: layer record 1 belongs to declared "
                              "layer 2147483648");
    free(buf);
}
END_TEST

Suite *fuzz_regressions_suite(void)
{
    Suite *s = suite_create("fuzz_regressions");
    TCase *t = tcase_create("fuzz_regressions");
    tcase_add_checked_fixture(t, nn_test_dir_fresh, NULL);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_fuzz_csv_wide_row_reserves_rows_by_bytes);
    tcase_add_test(t, test_fuzz_csv_wide_rows_grow_past_the_first_reservation);
    tcase_add_test(t, test_fuzz_idx_stream_open_allocates_nothing_from_the_header);
    tcase_add_test(t, test_fuzz_idx_stream_reads_rows_after_a_lazy_buffer);
    tcase_add_test(t, test_fuzz_checkpoint_layer_origin_is_range_checked);
    suite_add_tcase(s, t);
    return s;
}
