/* fuzz_checkpoint.c - libFuzzer harness for the checkpoint decoder
 * (nn_ckpt_decode in src/checkpoint/: formats 3 and 4), in memory.
 *
 * Each input is decoded twice: as is (so the magic, version and CRC checks
 * are fuzzed), and with its last four bytes replaced by the right CRC-32 of
 * the rest, so that mutations get past the checksum into the section table
 * and the section parsers.  A decoded checkpoint must encode again
 * (nn_ckpt_encode applies the same checks), and what it encodes to must
 * decode and encode to the same bytes.
 */
#include "fuzz_common.h"

#include "checkpoint/checkpoint.h"
#include "util/crc32.h"
#include "util/error.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

static void check_round_trip(const nn_ckpt *c)
{
    unsigned char *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    nn_error err = {0};
    if (nn_ckpt_encode(c, &a, &na, "<encode>", &err) != 0) {
        fprintf(stderr, "a decoded checkpoint does not encode: %s\n", err.msg);
        FUZZ_CHECK(!"decoded checkpoints encode");
    }
    nn_ckpt back;
    if (nn_ckpt_decode(a, na, "<re-decode>", &back, &err) != 0) {
        fprintf(stderr, "an encoded checkpoint does not decode: %s\n", err.msg);
        FUZZ_CHECK(!"encoded checkpoints decode");
    }
    FUZZ_CHECK(nn_ckpt_encode(&back, &b, &nb, "<encode>", &err) == 0);
    FUZZ_CHECK(na == nb && memcmp(a, b, na) == 0);
    nn_ckpt_free(&back);
    free(a);
    free(b);
}

static void decode_one(const unsigned char *p, size_t n)
{
    nn_ckpt c;
    nn_error err = {0};
    if (nn_ckpt_decode(p, n, "fuzz.ckpt", &c, &err) == 0) {
        check_round_trip(&c);
        nn_ckpt_free(&c);
    } else {
        FUZZ_CHECK(err.code == NN_EXIT_RUNTIME && err.msg[0] != '\0');
        FUZZ_CHECK(c.params == NULL && c.shift == NULL && c.class_names == NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly `size` bytes, so ASan sees any read past the end. */
    unsigned char *p = malloc(size ? size : 1);
    FUZZ_CHECK(p != NULL);
    if (size)
        memcpy(p, data, size);
    decode_one(p, size);
    if (size >= 20) {
        uint32_t crc = nn_crc32(0, p, size - 4);
        unsigned char t[4] = {(unsigned char)crc, (unsigned char)(crc >> 8),
                              (unsigned char)(crc >> 16), (unsigned char)(crc >> 24)};
        if (memcmp(p + size - 4, t, 4) != 0) {
            memcpy(p + size - 4, t, 4);
            decode_one(p, size);
        }
    }
    free(p);
    return 0;
}
