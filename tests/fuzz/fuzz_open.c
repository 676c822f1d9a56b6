/* fuzz_open.c - libFuzzer harness for libnntrain's checkpoint-from-memory
 * entry point (nntrain_open_memory, include/nntrain.h), through the public
 * interface only.
 *
 * Each input is opened twice: as is, and with its last four bytes replaced
 * by the right CRC-32 of the rest (so mutations reach the section parsers).
 * A failure must come with a status among the documented ones, a message
 * and no model; a model that opens must describe itself consistently,
 * name its classes, and predict a row of zeros into labels in range and
 * outputs that are numbers, then close.
 */
#include "fuzz_common.h"

#include "nntrain.h"
#include "util/crc32.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

static void open_one(const unsigned char *p, size_t n)
{
    nntrain_model *m = (nntrain_model *)1;
    nntrain_error err;
    nntrain_status s = nntrain_open_memory(p, n, &m, &err);
    if (s != NNTRAIN_OK) {
        FUZZ_CHECK(m == NULL);
        FUZZ_CHECK(s == NNTRAIN_ERR_FORMAT || s == NNTRAIN_ERR_VERSION || s == NNTRAIN_ERR_NOMEM);
        FUZZ_CHECK(err.status == s && err.message[0] != '\0');
        return;
    }
    FUZZ_CHECK(m != NULL);
    nntrain_info info;
    FUZZ_CHECK(nntrain_describe(m, &info, &err) == NNTRAIN_OK);
    FUZZ_CHECK(info.n_inputs >= 1 && info.n_outputs >= 1 && info.n_layers >= 1);
    FUZZ_CHECK(info.task == NNTRAIN_TASK_CLASSIFICATION || info.task == NNTRAIN_TASK_REGRESSION);
    FUZZ_CHECK(info.task == NNTRAIN_TASK_REGRESSION ? info.n_classes == 0 : info.n_classes >= 1);
    for (int k = 0; k < info.n_classes; k++)
        FUZZ_CHECK(!info.has_class_names || nntrain_class_name(m, k) != NULL);
    FUZZ_CHECK(nntrain_class_name(m, info.n_classes) == NULL);
    /* a row of zeros; large models are opened but not run (time) */
    if ((size_t)info.n_inputs * (size_t)info.n_outputs <= (1u << 20)) {
        float *x = calloc((size_t)info.n_inputs, sizeof(float));
        float *y = calloc((size_t)info.n_outputs, sizeof(float));
        int label = -2;
        FUZZ_CHECK(x && y);
        s = nntrain_predict(m, x, 1, (size_t)info.n_inputs, &label, y, (size_t)info.n_outputs,
                            &err);
        FUZZ_CHECK(s == NNTRAIN_OK || s == NNTRAIN_ERR_NOMEM);
        if (s == NNTRAIN_OK)
            FUZZ_CHECK(info.task == NNTRAIN_TASK_REGRESSION
                           ? label == -1
                           : label >= 0 && label < (info.n_outputs > 1 ? info.n_outputs : 2));
        /* a wrong size is refused */
        FUZZ_CHECK(nntrain_predict(m, x, 1, (size_t)info.n_inputs + 1, &label, NULL, 0, &err) ==
                   NNTRAIN_ERR_ARGUMENT);
        free(x);
        free(y);
    }
    nntrain_close(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly `size` bytes, so ASan sees any read past the end. */
    unsigned char *p = malloc(size ? size : 1);
    FUZZ_CHECK(p != NULL);
    if (size)
        memcpy(p, data, size);
    open_one(p, size);
    if (size >= 20) {
        uint32_t crc = nn_crc32(0, p, size - 4);
        unsigned char t[4] = {(unsigned char)crc, (unsigned char)(crc >> 8),
                              (unsigned char)(crc >> 16), (unsigned char)(crc >> 24)};
        if (memcmp(p + size - 4, t, 4) != 0) {
            memcpy(p + size - 4, t, 4);
            open_one(p, size);
        }
    }
    free(p);
    return 0;
}
