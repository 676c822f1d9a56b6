/* fuzz_idx.c - libFuzzer harness for the IDX reader (src/data/idx.c) and the
 * byte stream under it (src/data/reader.c).
 *
 * The input is one IDX file.  It is written as is to an in-memory file, so an
 * input that starts with the gzip magic goes through zlib; built with
 * -DFUZZ_GZIP (the fuzz_idx_gz harness) the input is gzip-compressed first,
 * so the IDX parser is fuzzed behind zlib's streaming path (a buffer that
 * grows as bytes arrive, no size known in advance).  Every input goes through
 * all four entry points: nn_idx_read_images, nn_idx_read_labels,
 * nn_idx_read_pair (the file as both images and labels) and the row stream
 * that --predict uses.  What each one promises on success is checked.
 */
#include "fuzz_common.h"

#include <math.h>

#include "data/dataset.h"
#include "data/idx.h"
#include "data/reader.h"
#include "nn/types.h"
#include "util/error.h"

#ifndef FUZZ_GZIP
#define FUZZ_GZIP 0
#endif

/* Rows wider than this are refused before streaming, as --predict refuses a
 * file whose width differs from the checkpoint's inputs. */
#define FUZZ_STREAM_MAX_FEATURES 4096

static fuzz_file g_file;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_file_init(&g_file, "fuzz_idx");
    return 0;
}

static void check_images(const nn_dataset *d)
{
    size_t esz = nn_dtype_size((int)d->type);
    FUZZ_CHECK(esz != 0);
    FUZZ_CHECK(d->n >= 1 && d->features >= 1 && d->features <= NN_MAX_FEATURES);
    FUZZ_CHECK(d->ndim >= 1 && d->ndim <= 8 && d->dims[0] == d->n);
    size_t prod = 1;
    for (int i = 1; i < d->ndim; i++)
        prod *= d->dims[i];
    FUZZ_CHECK(prod == d->features);
    /* Every element is there (ASan checks the reads) and float data is finite. */
    for (size_t r = 0; r < d->n; r++)
        for (size_t i = 0; i < d->features; i++)
            FUZZ_CHECK(isfinite(nn_dataset_get(d, r, i)));
}

static void fuzz_stream(const char *path)
{
    nn_error err = {0};
    nn_reader *r = nn_reader_open(path, &err);
    FUZZ_CHECK(r != NULL);
    nn_idx_stream *s = nn_idx_stream_open(r, &err);
    if (s) {
        size_t nf = nn_idx_stream_features(s);
        FUZZ_CHECK(nf >= 1);
        if (nf <= FUZZ_STREAM_MAX_FEATURES) {
            double x[FUZZ_STREAM_MAX_FEATURES];
            int k;
            while ((k = nn_idx_stream_next(s, x, &err)) == 1)
                for (size_t i = 0; i < nf; i++)
                    FUZZ_CHECK(isfinite(x[i]));
            FUZZ_CHECK(k == 0 || err.code == NN_EXIT_RUNTIME);
        }
        nn_idx_stream_close(s);
    } else {
        FUZZ_CHECK(err.code == NN_EXIT_RUNTIME);
    }
    nn_reader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_file_put(&g_file, data, size, FUZZ_GZIP);
    const char *path = g_file.path;

    nn_error err = {0};
    nn_dataset d;
    if (nn_idx_read_images(&d, path, &err) == 0) {
        check_images(&d);
        nn_dataset_free(&d);
    } else {
        FUZZ_CHECK(err.code == NN_EXIT_RUNTIME && err.msg[0] != '\0');
    }

    int32_t *labels;
    size_t n;
    err = (nn_error){0};
    if (nn_idx_read_labels(&labels, &n, path, &err) == 0) {
        FUZZ_CHECK(n >= 1 && labels != NULL);
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(labels[i] >= 0 && labels[i] < NN_MAX_UNITS);
        free(labels);
    } else {
        FUZZ_CHECK(err.code == NN_EXIT_RUNTIME && labels == NULL);
    }

    err = (nn_error){0};
    if (nn_idx_read_pair(&d, path, path, &err) == 0) {
        check_images(&d);
        FUZZ_CHECK(d.labels != NULL && d.n_classes >= 1 && d.n_classes <= NN_MAX_UNITS);
        for (size_t i = 0; i < d.n; i++)
            FUZZ_CHECK(d.labels[i] >= 0 && d.labels[i] < d.n_classes);
        nn_dataset_free(&d);
    } else {
        FUZZ_CHECK(err.code == NN_EXIT_RUNTIME);
    }

    fuzz_stream(path);
    return 0;
}
