/* fuzz_npy.c - libFuzzer harness for the NPY reader (src/data/npy.c) and
 * the NPY format entry (src/data/format_npy.c).
 *
 * The input is one .npy file, written to an in-memory file.  It goes
 * through every entry point: the header parser on its own, nn_npy_open with
 * the rows read in the storage type, as floats and as labels (whole, and a
 * block from the middle), an NPY source with the file as both its samples
 * and its labels (and as its targets), and the row stream --predict uses.
 * What each one promises on success is checked: finite values, labels in
 * range, sizes that agree with the header and the file.
 */
#include "fuzz_common.h"

#include <math.h>

#include "data/dataset.h"
#include "data/format.h"
#include "data/npy.h"
#include "data/reader.h"
#include "data/source.h"
#include "nn/types.h"
#include "util/error.h"

/* Rows wider than this are not streamed, as --predict refuses a file whose
 * width differs from the checkpoint's inputs. */
#define FUZZ_STREAM_MAX_FEATURES 4096

static fuzz_file g_file;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_file_init(&g_file, "fuzz_npy");
    return 0;
}

static void fuzz_rows(const char *path, size_t size)
{
    nn_npy_file f;
    nn_error err = {0};
    if (nn_npy_open(&f, path, NN_MAX_FEATURES, &err) < 0) {
        FUZZ_CHECK(err.code == NN_EXIT_RUNTIME && err.msg[0] != '\0' && f.fd < 0);
        return;
    }
    const nn_npy_header *h = &f.h;
    FUZZ_CHECK(h->rows >= 1 && h->cols >= 1 && h->cols <= NN_MAX_FEATURES);
    FUZZ_CHECK(h->data_offset + h->data_bytes == size); /* the file holds exactly the data */
    nn_dtype st = nn_npy_storage_type(h->dtype);
    size_t count = (size_t)(h->rows * h->cols), esz = nn_dtype_size((int)st);
    void *raw = malloc(count * esz);
    float *fl = malloc(count * sizeof *fl);
    int32_t *lab = malloc((size_t)h->rows * sizeof *lab);
    FUZZ_CHECK(raw && fl && lab);
    if (nn_npy_read_rows(&f, 0, h->rows, st, raw, &err) == 0) {
        nn_dataset d = {.type = st, .n = (size_t)h->rows, .features = (size_t)h->cols, .x = raw};
        for (size_t r = 0; r < d.n; r++)
            for (size_t i = 0; i < d.features; i++)
                FUZZ_CHECK(isfinite(nn_dataset_get(&d, r, i)));
    } else {
        FUZZ_CHECK(err.code == NN_EXIT_RUNTIME);
    }
    if (nn_npy_read_rows(&f, 0, h->rows, NN_DT_F32, fl, &err) == 0)
        for (size_t k = 0; k < count; k++)
            FUZZ_CHECK(isfinite(fl[k]));
    /* a block from the middle */
    uint64_t a = h->rows / 3, b = h->rows - h->rows / 4;
    if (nn_npy_read_rows(&f, a, b, NN_DT_F32, fl, &err) == 0)
        for (size_t k = 0; k < (size_t)((b - a) * h->cols); k++)
            FUZZ_CHECK(isfinite(fl[k]));
    if (nn_npy_read_labels(&f, 0, h->rows, lab, &err) == 0)
        for (size_t i = 0; i < (size_t)h->rows; i++)
            FUZZ_CHECK(lab[i] >= 0 && lab[i] < NN_MAX_UNITS);
    free(raw);
    free(fl);
    free(lab);
    nn_npy_close(&f);
}

static void fuzz_source(const char *path, bool targets)
{
    nn_npy_part part = {(char *)path, (char *)path, (char *)path, (char *)path};
    nn_source s = {.format = NN_FORMAT_NPY, .file = (char *)path, .file_path = (char *)path,
                   .labels = (char *)path, .labels_path = (char *)path, .parts = &part,
                   .n_parts = 1, .npy_targets = targets};
    nn_dataset d;
    nn_data_layout l;
    nn_error err = {0};
    if (nn_source_load(&d, &l, &s, NULL, 0, false, &err) < 0) {
        FUZZ_CHECK(err.code == NN_EXIT_RUNTIME);
        return;
    }
    FUZZ_CHECK(l.format == NN_FORMAT_NPY && d.n >= 1 && d.features >= 1);
    for (size_t r = 0; r < d.n; r++)
        for (size_t i = 0; i < d.features; i++)
            FUZZ_CHECK(isfinite(nn_dataset_get(&d, r, i)));
    if (targets) {
        FUZZ_CHECK(d.targets && d.n_targets >= 1 && l.n_targets == d.n_targets);
        for (size_t k = 0; k < d.n * (size_t)d.n_targets; k++)
            FUZZ_CHECK(isfinite(d.targets[k]));
    } else {
        FUZZ_CHECK(d.labels && d.n_classes >= 1 && d.n_classes <= NN_MAX_UNITS);
        for (size_t i = 0; i < d.n; i++)
            FUZZ_CHECK(d.labels[i] >= 0 && d.labels[i] < d.n_classes);
    }
    nn_dataset_free(&d);
}

static void fuzz_stream(const char *path)
{
    nn_error err = {0};
    nn_reader *r = nn_reader_open(path, &err);
    FUZZ_CHECK(r != NULL);
    nn_npy_stream *s = nn_npy_stream_open(r, &err);
    if (s) {
        size_t nf = nn_npy_stream_features(s);
        FUZZ_CHECK(nf >= 1);
        if (nf <= FUZZ_STREAM_MAX_FEATURES) {
            double x[FUZZ_STREAM_MAX_FEATURES];
            int k;
            while ((k = nn_npy_stream_next(s, x, &err)) == 1)
                for (size_t i = 0; i < nf; i++)
                    FUZZ_CHECK(isfinite(x[i]));
            FUZZ_CHECK(k == 0 || err.code == NN_EXIT_RUNTIME);
        }
        nn_npy_stream_close(s);
    } else {
        FUZZ_CHECK(err.code == NN_EXIT_RUNTIME);
    }
    nn_reader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the header parser alone, on whatever follows a prefix */
    int plen;
    uint32_t hlen;
    nn_error err = {0};
    if (nn_npy_parse_prefix(data, size, "in", &plen, &hlen, &err) == 0 &&
        (size_t)plen + hlen <= size) {
        nn_npy_header h = {.major = data[6], .minor = data[7]};
        if (nn_npy_parse_header(&h, (const char *)data + plen, hlen, plen, 0, "in", &err) == 0)
            FUZZ_CHECK(h.rows >= 1 && h.cols >= 1 && h.data_bytes == h.rows * h.row_bytes);
    }

    fuzz_file_put(&g_file, data, size, 0);
    const char *path = g_file.path;
    fuzz_rows(path, size);
    fuzz_source(path, false);
    fuzz_source(path, true);
    fuzz_stream(path);
    return 0;
}
