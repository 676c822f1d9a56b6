/* idx.h - the IDX file format (contract section 6).
 *
 * Layout: two zero bytes, a type byte (0x08 ubyte, 0x09 byte, 0x0B short,
 * 0x0C int, 0x0D float, 0x0E double), a byte with the number of dimensions,
 * then one big-endian uint32 per dimension, then the elements, big-endian,
 * row-major.  A file whose first two bytes are the gzip magic (1f 8b) is
 * decompressed through zlib.
 *
 * Safety: the size the header claims is checked against the bytes really
 * present before any buffer of that size exists; buffers grow only as data
 * arrives.  Every error names the file and the byte offset (or item) where it
 * was found, e.g. "t.idx: header claims 60000 x 784 ubyte (47040000 bytes of
 * data) but the file holds 1000 bytes after the 16-byte header".
 */
#ifndef NN_IDX_H
#define NN_IDX_H

#include "data/dataset.h"
#include "data/reader.h"
#include "util/error.h"

#define NN_IDX_MAX_DIMS 8 /* dimensions a header may give */

/* Reads an IDX file of any type and dimension count >= 1 into d->x
 * (d->labels stays NULL).  Returns 0, or -1 with *err (code 1). */
int nn_idx_read_images(nn_dataset *d, const char *path, nn_error *err);

/* Reads an IDX labels file: one dimension, integer type (or float/double
 * holding whole numbers), every value in 0..NN_MAX_UNITS-1.  Returns the
 * labels in *labels (malloc'd) and their count in *n. */
int nn_idx_read_labels(int32_t **labels, size_t *n, const char *path, nn_error *err);

/* Both, checking the counts agree ("labels.idx: 10000 labels but 60000
 * images"); sets d->labels and d->n_classes. */
int nn_idx_read_pair(nn_dataset *d, const char *images, const char *labels, nn_error *err);

/* Streaming an images file row by row, without holding it (--predict). */
typedef struct nn_idx_stream nn_idx_stream;

/* Reads the header from r (which the stream uses but does not own).
 * Returns NULL with *err on a bad header. */
nn_idx_stream *nn_idx_stream_open(nn_reader *r, nn_error *err);
size_t nn_idx_stream_features(const nn_idx_stream *s);
/* Bytes buffered but not yet delivered (0: the next row may block). */
size_t nn_idx_stream_pending(const nn_idx_stream *s);
/* Reads the next row into x (features values): 1, 0 after the last row,
 * -1 with *err for truncated data, NaN/Inf, or bytes after the last row. */
int nn_idx_stream_next(nn_idx_stream *s, double *x, nn_error *err);
void nn_idx_stream_close(nn_idx_stream *s);

/* Writes an IDX file (plain, or gzip when gz != 0) from host-order data:
 * used by tests and tools.  dims[0..ndim-1]; data holds prod(dims) elements. */
int nn_idx_write(const char *path, int gz, nn_dtype type, int ndim,
                 const uint32_t *dims, const void *data, nn_error *err);

#endif
