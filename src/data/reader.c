/* reader.c - a byte stream from a file, plain or gzip (see reader.h).
 *
 * One buffer of NN_READER_BUF bytes serves both kinds: for a plain file it
 * is read-ahead (skipped for large requests, which go straight to read(2)),
 * for a gzip file it holds compressed input that zlib inflates directly into
 * the caller's buffer.  Offsets in error messages about the gzip stream
 * itself ("corrupt at byte N", "truncated at byte N") count compressed bytes
 * of the file, which is where a user would look for the damage; the offset
 * nn_reader_offset reports counts decompressed bytes delivered.
 *
 * Concatenated gzip members are read one after the other, as gzip -d does.
 * Bytes after the last member that are not another member are an error.
 */
#include "data/reader.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <zlib.h>

#define NN_READER_BUF (256u * 1024u)
#define NN_READER_MAX_CALL ((size_t)1 << 30) /* largest single read(2)/inflate */

struct nn_reader {
    int fd;
    int own_fd;          /* 0 for stdin, which is not closed */
    int gz;              /* 1: buf holds compressed input for zs */
    int z_ready;         /* inflateInit2 succeeded, inflateEnd needed */
    int in_eof;          /* read(2) returned 0 */
    int out_eof;         /* no more bytes will be delivered */
    long long size;      /* plain regular file: bytes from the start; else -1 */
    uint64_t offset;     /* bytes delivered to the caller */
    uint64_t raw_read;   /* bytes read from fd */
    unsigned char *buf;  /* (NN_READER_BUF) */
    size_t pos, len;     /* plain: unread bytes are buf[pos..len) */
    z_stream zs;         /* gzip: next_in/avail_in point into buf */
    char *path;
    unsigned char back[16]; /* bytes given back by nn_reader_unread, delivered first */
    size_t back_pos, back_len;
};

static const char *display_name(const char *path)
{
    return strcmp(path, "-") == 0 ? "stdin" : path;
}

/* read(2) retried on EINTR; counts the bytes in raw_read. */
static long long sys_read(nn_reader *r, void *dst, size_t n, nn_error *err)
{
    if (n > NN_READER_MAX_CALL)
        n = NN_READER_MAX_CALL;
    for (;;) {
        ssize_t got = read(r->fd, dst, n);
        if (got >= 0) {
            r->raw_read += (uint64_t)got;
            if (got == 0)
                r->in_eof = 1;
            return got;
        }
        if (errno == EINTR)
            continue;
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: read error at byte %llu: %s",
                     display_name(r->path), (unsigned long long)r->raw_read,
                     strerror(errno));
        return -1;
    }
}

nn_reader *nn_reader_open(const char *path, nn_error *err)
{
    nn_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", display_name(path));
        return NULL;
    }
    r->fd = -1;
    r->size = -1;
    if (strcmp(path, "-") == 0) {
        r->fd = 0;
    } else {
        do
            r->fd = open(path, O_RDONLY | O_CLOEXEC);
        while (r->fd < 0 && errno == EINTR);
        if (r->fd < 0) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: %s", path, strerror(errno));
            goto fail;
        }
        r->own_fd = 1;
    }

    struct stat st;
    if (fstat(r->fd, &st) != 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %s", display_name(path), strerror(errno));
        goto fail;
    }
    if (S_ISDIR(st.st_mode)) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %s", display_name(path), strerror(EISDIR));
        goto fail;
    }
    off_t start = S_ISREG(st.st_mode) ? lseek(r->fd, 0, SEEK_CUR) : -1;

    r->buf = malloc(NN_READER_BUF);
    if (!r->buf) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", display_name(path));
        goto fail;
    }
    /* Peek: at least two bytes (or the whole stream when shorter). */
    while (r->len < 2 && !r->in_eof) {
        long long got = sys_read(r, r->buf + r->len, NN_READER_BUF - r->len, err);
        if (got < 0)
            goto fail;
        r->len += (size_t)got;
    }

    if (r->len >= 2 && r->buf[0] == 0x1f && r->buf[1] == 0x8b) {
        r->gz = 1;
        r->zs.next_in = r->buf;
        r->zs.avail_in = (uInt)r->len;
        r->len = 0;
        if (inflateInit2(&r->zs, 16 + MAX_WBITS) != Z_OK) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: cannot start zlib (out of memory)",
                         display_name(path));
            goto fail;
        }
        r->z_ready = 1;
    } else if (start >= 0 && st.st_size >= start) {
        r->size = (long long)(st.st_size - start);
    }
    return r;

fail:
    nn_reader_close(r);
    return NULL;
}

/* Plain: buffered read(2); requests of a buffer or more bypass the buffer. */
static long long plain_read(nn_reader *r, unsigned char *out, size_t n, int some,
                            nn_error *err)
{
    size_t done = 0;
    while (done < n) {
        if (some && done > 0 && r->pos == r->len)
            break; /* more would need a read(2) that may wait */
        if (r->pos < r->len) {
            size_t k = r->len - r->pos;
            if (k > n - done)
                k = n - done;
            memcpy(out + done, r->buf + r->pos, k);
            r->pos += k;
            done += k;
            continue;
        }
        if (r->in_eof)
            break;
        long long got;
        if (n - done >= NN_READER_BUF) {
            got = sys_read(r, out + done, n - done, err);
            if (got < 0)
                return -1;
            done += (size_t)got;
        } else {
            got = sys_read(r, r->buf, NN_READER_BUF, err);
            if (got < 0)
                return -1;
            r->pos = 0;
            r->len = (size_t)got;
        }
    }
    return (long long)done;
}

/* Gzip: moves the unconsumed input to the front of buf and reads more. */
static int gz_fill(nn_reader *r, nn_error *err)
{
    if (r->zs.avail_in > 0 && r->zs.next_in != r->buf)
        memmove(r->buf, r->zs.next_in, r->zs.avail_in);
    r->zs.next_in = r->buf;
    long long got = sys_read(r, r->buf + r->zs.avail_in, NN_READER_BUF - r->zs.avail_in, err);
    if (got < 0)
        return -1;
    r->zs.avail_in += (uInt)got;
    return 0;
}

/* Compressed bytes consumed by zlib so far. */
static unsigned long long gz_in_pos(const nn_reader *r)
{
    return (unsigned long long)(r->raw_read - r->zs.avail_in);
}

/* After the end of a member: another member follows, or the stream ends. */
static int gz_next_member(nn_reader *r, nn_error *err)
{
    while (r->zs.avail_in < 2 && !r->in_eof)
        if (gz_fill(r, err) < 0)
            return -1;
    if (r->zs.avail_in == 0) {
        r->out_eof = 1;
        return 0;
    }
    if (r->zs.avail_in >= 2 && r->zs.next_in[0] == 0x1f && r->zs.next_in[1] == 0x8b) {
        inflateReset(&r->zs);
        return 0;
    }
    nn_error_set(err, NN_EXIT_RUNTIME,
                 "%s: gzip data corrupt at byte %llu (unexpected bytes after the compressed data)",
                 display_name(r->path), gz_in_pos(r));
    return -1;
}

static long long gz_read(nn_reader *r, unsigned char *out, size_t n, int some, nn_error *err)
{
    size_t done = 0;
    while (done < n && !r->out_eof) {
        /* inflate has given all it can from the input it has (it stops
         * early only when the output is full), so with no input left more
         * would need a read(2) that may wait */
        if (some && done > 0 && r->zs.avail_in == 0)
            break;
        if (r->zs.avail_in == 0 && !r->in_eof && gz_fill(r, err) < 0)
            return -1;
        size_t want = n - done;
        if (want > NN_READER_MAX_CALL)
            want = NN_READER_MAX_CALL;
        r->zs.next_out = out + done;
        r->zs.avail_out = (uInt)want;
        int rc = inflate(&r->zs, Z_NO_FLUSH);
        done += want - r->zs.avail_out;
        switch (rc) {
        case Z_STREAM_END:
            if (gz_next_member(r, err) < 0)
                return -1;
            break;
        case Z_OK:
        case Z_BUF_ERROR:
            /* Output room left and no input left to give: the stream ended
             * before the end of its member. */
            if (r->zs.avail_out > 0 && r->zs.avail_in == 0 && r->in_eof) {
                nn_error_set(err, NN_EXIT_RUNTIME, "%s: gzip stream truncated at byte %llu",
                             display_name(r->path), gz_in_pos(r));
                return -1;
            }
            break;
        case Z_MEM_ERROR:
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory while decompressing",
                         display_name(r->path));
            return -1;
        default: /* Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR */
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: gzip data corrupt at byte %llu (%s)",
                         display_name(r->path), gz_in_pos(r),
                         r->zs.msg ? r->zs.msg : "invalid data");
            return -1;
        }
    }
    return (long long)done;
}

static long long reader_read(nn_reader *r, void *buf, size_t n, int some, nn_error *err)
{
    size_t from_back = r->back_len - r->back_pos;
    if (from_back > 0) {
        if (from_back > n)
            from_back = n;
        memcpy(buf, r->back + r->back_pos, from_back);
        r->back_pos += from_back;
        r->offset += from_back;
        if (from_back == n || some)
            return (long long)from_back;
        long long more = reader_read(r, (unsigned char *)buf + from_back, n - from_back, some, err);
        return more < 0 ? -1 : (long long)from_back + more;
    }
    long long got = r->gz ? gz_read(r, buf, n, some, err) : plain_read(r, buf, n, some, err);
    if (got > 0)
        r->offset += (uint64_t)got;
    return got;
}

long long nn_reader_read(nn_reader *r, void *buf, size_t n, nn_error *err)
{
    return reader_read(r, buf, n, 0, err);
}

long long nn_reader_read_some(nn_reader *r, void *buf, size_t n, nn_error *err)
{
    return reader_read(r, buf, n, 1, err);
}

int nn_reader_unread(nn_reader *r, const void *p, size_t n)
{
    if (r->back_pos != r->back_len || n > sizeof r->back || n > r->offset)
        return -1;
    memcpy(r->back, p, n);
    r->back_pos = 0;
    r->back_len = n;
    r->offset -= n;
    return 0;
}

size_t nn_reader_pending(const nn_reader *r)
{
    size_t n = r->back_len - r->back_pos;
    if (r->gz)
        return n + r->zs.avail_in;
    return n + (r->len - r->pos);
}

int nn_reader_is_gzip(const nn_reader *r)
{
    return r->gz;
}

long long nn_reader_size(const nn_reader *r)
{
    return r->size;
}

uint64_t nn_reader_offset(const nn_reader *r)
{
    return r->offset;
}

const char *nn_reader_path(const nn_reader *r)
{
    return r->path;
}

const char *nn_reader_name(const nn_reader *r)
{
    return display_name(r->path);
}

void nn_reader_close(nn_reader *r)
{
    if (!r)
        return;
    if (r->z_ready)
        inflateEnd(&r->zs);
    if (r->own_fd && r->fd >= 0)
        close(r->fd);
    free(r->buf);
    free(r->path);
    free(r);
}
