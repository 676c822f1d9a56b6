/* fuzz_common.h - helpers shared by the libFuzzer harnesses in tests/fuzz/.
 *
 * The file parsers (IDX, CSV) take a path, so a harness hands them its input
 * as a file that lives in memory: a memfd, opened by the parser through
 * /proc/self/fd/N like any regular file (fstat gives its size, so the
 * "size known in advance" path of the IDX reader is the one exercised; the
 * gzip variants exercise the streaming path).  Nothing touches the disk and
 * nothing is left behind when a run is killed.
 *
 * FUZZ_CHECK(cond) is the harnesses' oracle: a property the parser promises
 * (a label below n_classes, finite features, a round trip that agrees) that
 * does not hold aborts the run, which libFuzzer reports as a crash.
 */
#ifndef NN_FUZZ_COMMON_H
#define NN_FUZZ_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create */
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#define FUZZ_CHECK(cond)                                                              \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: fuzz property failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                           \
            abort();                                                                  \
        }                                                                             \
    } while (0)

/* One in-memory file: fd and the path "/proc/self/fd/N" that opens it. */
typedef struct {
    int fd;
    char path[64];
} fuzz_file;

static inline void fuzz_file_init(fuzz_file *f, const char *name)
{
    f->fd = memfd_create(name, MFD_CLOEXEC);
    if (f->fd < 0) {
        perror("memfd_create");
        abort();
    }
    snprintf(f->path, sizeof f->path, "/proc/self/fd/%d", f->fd);
}

/* Replaces the file's contents with data[0..n). */
static inline void fuzz_file_set(fuzz_file *f, const void *data, size_t n)
{
    if (ftruncate(f->fd, 0) != 0) {
        perror("ftruncate");
        abort();
    }
    const unsigned char *p = data;
    size_t done = 0;
    while (done < n) {
        ssize_t k = pwrite(f->fd, p + done, n - done, (off_t)done);
        if (k <= 0) {
            perror("pwrite");
            abort();
        }
        done += (size_t)k;
    }
}

/* data[0..n) as gzip: one member, or two (split in the middle) when n is
 * odd, so the reader's "next member" path is fuzzed too.  Returns a malloc'd
 * buffer and its size in *out_n. */
static inline unsigned char *fuzz_gzip(const void *data, size_t n, size_t *out_n)
{
    size_t parts = n % 2 ? 2 : 1, half = n / 2;
    size_t cap = 64;
    for (size_t i = 0; i < parts; i++)
        cap += compressBound((uLong)n) + 32; /* + the gzip header and trailer */
    unsigned char *out = malloc(cap);
    FUZZ_CHECK(out != NULL);
    size_t used = 0;
    for (size_t i = 0; i < parts; i++) {
        const unsigned char *src = (const unsigned char *)data + (i ? half : 0);
        size_t len = parts == 1 ? n : i ? n - half : half;
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        FUZZ_CHECK(deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 16 + MAX_WBITS, 8,
                                Z_DEFAULT_STRATEGY) == Z_OK);
        zs.next_in = (Bytef *)src;
        zs.avail_in = (uInt)len;
        zs.next_out = out + used;
        zs.avail_out = (uInt)(cap - used);
        FUZZ_CHECK(deflate(&zs, Z_FINISH) == Z_STREAM_END);
        used += zs.total_out;
        deflateEnd(&zs);
    }
    *out_n = used;
    return out;
}

/* Writes data[0..n) to f, gzip-compressed first when gz is set. */
static inline void fuzz_file_put(fuzz_file *f, const void *data, size_t n, int gz)
{
    if (!gz) {
        fuzz_file_set(f, data, n);
        return;
    }
    size_t zn;
    unsigned char *z = fuzz_gzip(data, n, &zn);
    fuzz_file_set(f, z, zn);
    free(z);
}

#endif
