/* tests.h - the Check suites, one per module, and small helpers they share. */
#ifndef NN_TESTS_H
#define NN_TESTS_H

#include <check.h>
#include <stddef.h>

/* Every suite; test_main.c runs them all. */
#define NN_TEST_SUITES(X) \
    X(util_suite)         \
    X(config_suite)       \
    X(config_readme_suite) \
    X(reader_suite)       \
    X(idx_suite)          \
    X(npy_suite)          \
    X(stream_suite)       \
    X(format_suite)       \
    X(source_suite)       \
    X(checkpoint_suite)   \
    X(batch_suite)        \
    X(augment_suite)      \
    X(pool_suite)         \
    X(kernels_suite)      \
    X(slices_suite)       \
    X(bf16_suite)         \
    X(select_suite)       \
    X(model_suite)        \
    X(batchnorm_suite)    \
    X(loss_suite)         \
    X(gradcheck_suite)    \
    X(optim_suite)        \
    X(csv_suite)          \
    X(csv_options_suite)  \
    X(csvcache_suite)     \
    X(sniff_suite)        \
    X(metrics_suite)      \
    X(fuzz_regressions_suite) \
    X(train_suite)        \
    X(api_suite)          \
    X(pipe_suite)         \
    X(onnx_suite)         \
    X(api_train_suite)

#define NN_DECLARE_SUITE(name) Suite *name(void);
NN_TEST_SUITES(NN_DECLARE_SUITE)

/* A fresh empty folder under $TMPDIR (or /tmp) for a test's files; the
 * returned string is static storage valid until the next call. */
const char *nn_test_tmpdir(void);

/* A fresh folder for the running test's files, the one nn_test_path and
 * nn_test_put use (a Check fixture: tcase_add_checked_fixture(tc,
 * nn_test_dir_fresh, NULL)); nn_test_dir gives it. */
void nn_test_dir_fresh(void);
const char *nn_test_dir(void);

/* That folder's `name`, in a static buffer (one of four, so a test can hold
 * a few paths at once). */
const char *nn_test_path(const char *name);

/* Writes text (or n bytes) to that folder's `name`; returns the path. */
const char *nn_test_put(const char *name, const char *text);
const char *nn_test_put_bytes(const char *name, const void *data, size_t n);

/* printf into a static buffer (the next call overwrites it), for expected
 * messages that name nn_test_path()s. */
const char *nn_test_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* src (n bytes) as one gzip member in memory, malloc'd; its size in *out_n. */
unsigned char *nn_test_gzip(const void *src, size_t n, size_t *out_n);

/* Writes n bytes to path; aborts the test on failure. */
void nn_test_write_file(const char *path, const void *data, size_t n);

#endif
