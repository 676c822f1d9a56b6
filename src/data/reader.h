/* reader.h - a byte stream from a file, plain or gzip, known from its bytes.
 *
 * A file whose first two bytes are the gzip magic (1f 8b) is decompressed
 * through zlib; anything else is read as is.  "-" is stdin.  Offsets are in
 * the decompressed stream.
 */
#ifndef NN_READER_H
#define NN_READER_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef struct nn_reader nn_reader;

/* Opens `path`.  Returns NULL with *err (code 1, "FILE: No such file or
 * directory") on failure. */
nn_reader *nn_reader_open(const char *path, nn_error *err);

/* Reads up to n bytes into buf; returns the count read (< n only at end of
 * stream), or -1 with *err set on an I/O error or a corrupt/truncated gzip
 * stream ("FILE: gzip data corrupt at byte N" / "FILE: gzip stream truncated"). */
long long nn_reader_read(nn_reader *r, void *buf, size_t n, nn_error *err);

/* Like nn_reader_read, but returns as soon as it has at least one byte and
 * more would mean waiting for input (0 only at the end of the stream): for
 * streaming consumers on pipes. */
long long nn_reader_read_some(nn_reader *r, void *buf, size_t n, nn_error *err);

/* Gives back the last n <= 16 bytes read, so the next read returns them
 * again (to look at a file's first bytes before choosing its parser).
 * Returns -1 if bytes are already given back or n is too large. */
int nn_reader_unread(nn_reader *r, const void *p, size_t n);

/* Bytes read from the input but not yet delivered (0 means the next read
 * may wait for more input). */
size_t nn_reader_pending(const nn_reader *r);

/* 1 for a gzip stream. */
int nn_reader_is_gzip(const nn_reader *r);

/* For a plain regular file, its size in bytes; -1 when unknown (gzip, pipe). */
long long nn_reader_size(const nn_reader *r);

/* Bytes delivered so far. */
uint64_t nn_reader_offset(const nn_reader *r);

/* The path given to nn_reader_open. */
const char *nn_reader_path(const nn_reader *r);

/* The name used in messages: the path, or "stdin" for "-". */
const char *nn_reader_name(const nn_reader *r);

void nn_reader_close(nn_reader *r);

#endif
