/* npy.h - NumPy .npy arrays: the header, reading rows, writing.
 *
 * Layout (format versions 1.0, 2.0 and 3.0): the magic "\x93NUMPY", a major
 * and a minor version byte, the header's length (little-endian, 2 bytes in
 * version 1, 4 in versions 2 and 3), then the header: a Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (60000, 28, 28), }
 * padded with spaces and ending in a newline.  The elements follow, in C
 * (row-major) order.  nntrain reads the dtypes u1, i1, i2, i4, i8, f2, f4
 * and f8 in either byte order ('<', '>', or '|' for one-byte types); the
 * first dimension is the row count and the others flatten into each row (a
 * 1-D array has one value per row).  Fortran order, object arrays (pickles),
 * structured dtypes and 0-d arrays are errors.
 *
 * Reading is built around one primitive, nn_npy_read_rows: rows [a, b) of
 * an array whose header was parsed and checked up front, read with pread
 * into a buffer of the caller's element type.  The whole-array loader and
 * a block-streaming loader share it.  The size the header claims is checked
 * against the file's real length before anything is allocated from it, in
 * overflow-safe arithmetic; every error is one line naming the file and the
 * place (byte offset, or row and column).
 */
#ifndef NN_NPY_H
#define NN_NPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"
#include "data/reader.h"
#include "util/error.h"

#define NN_NPY_MAGIC "\x93NUMPY"
#define NN_NPY_MAGIC_LEN 6
#define NN_NPY_PREFIX_MAX 12                    /* magic, version, 4-byte header length */
#define NN_NPY_MAX_HEADER ((uint32_t)1 << 20)   /* header bytes accepted */
#define NN_NPY_MAX_DIMS 32                      /* dimensions a shape may give */

/* The element types read. */
typedef enum {
    NN_NPY_U1,
    NN_NPY_I1,
    NN_NPY_I2,
    NN_NPY_I4,
    NN_NPY_I8,
    NN_NPY_F2,
    NN_NPY_F4,
    NN_NPY_F8
} nn_npy_dtype;

/* One array as its header describes it. */
typedef struct {
    int major, minor;        /* format version */
    nn_npy_dtype dtype;
    int itemsize;            /* bytes per element */
    bool big_endian;         /* '>' (only meaningful for itemsize > 1) */
    char descr[8];           /* as written, e.g. "<f4" */
    int ndim;                /* >= 1 */
    uint64_t shape[NN_NPY_MAX_DIMS];
    uint64_t rows;           /* shape[0] */
    uint64_t cols;           /* product of shape[1..]; 1 for a 1-D array */
    uint64_t row_bytes;      /* cols * itemsize */
    uint64_t data_offset;    /* bytes before the data: prefix + header */
    uint64_t data_bytes;     /* rows * row_bytes */
} nn_npy_header;

/* The prefix's length (10 or 12) and the header's, from the first bytes of
 * a file (n >= 8; at least NN_NPY_PREFIX_MAX when there are that many).
 * Checks the magic, the version and the length's cap.  0, or -1 with *err
 * naming `name`. */
int nn_npy_parse_prefix(const unsigned char *p, size_t n, const char *name, int *prefix_len,
                        uint32_t *header_len, nn_error *err);

/* Parses the dict of header text[0..len) (after a prefix of prefix_len
 * bytes: offsets in messages are from the file's start) into *h, with
 * every check that needs no file: the keys, the dtype, C order, the shape
 * (not 0-d, no zero dimension, rows*cols*itemsize without overflow, cols at
 * most max_cols; 0 = any).  0, or -1 with *err. */
int nn_npy_parse_header(nn_npy_header *h, const char *text, size_t len, int prefix_len,
                        uint64_t max_cols, const char *name, nn_error *err);

/* An array file open for reading rows. */
typedef struct {
    int fd;
    char *name;        /* for messages */
    nn_npy_header h;
    bool nan_ok;       /* NaN values are missing values, read as they are (a CSV cache
                          of a source with "missing": "mean"); false after nn_npy_open */
} nn_npy_file;

/* Opens path, reads and parses its header, and checks the file holds
 * exactly data_offset + data_bytes bytes ("X.npy: header claims 100 x 4 <f4
 * (1600 bytes of data) but the file holds 800 bytes after the 128-byte
 * header", "... 3 trailing bytes after the data at byte 1728").  The file
 * must be a regular file (pread).  0, or -1 with *err; on failure nothing
 * is left open. */
int nn_npy_open(nn_npy_file *f, const char *path, uint64_t max_cols, nn_error *err);
void nn_npy_close(nn_npy_file *f);

/* The dataset element type an array keeps in memory: u1, i1, i2, i4 keep
 * their type (ubyte, byte, short, int), f2 and f4 become float, f8 and i8
 * double (an i8 value beyond 2^53 in magnitude is an error when read). */
nn_dtype nn_npy_storage_type(nn_npy_dtype t);

/* Reads rows [first, end) of f into out, (end - first) * cols elements of
 * `type` in host byte order: the storage type (exact), or float/double
 * (floats are rounded).  Float values must be finite ("X.npy: row 3 column
 * 1 is NaN").  A short read is an error naming the byte offset (the file
 * shrank).  0, or -1 with *err. */
int nn_npy_read_rows(const nn_npy_file *f, uint64_t first, uint64_t end, nn_dtype type,
                     void *out, nn_error *err);

/* Reads rows [first, end) of a labels array (an integer dtype, 1-D, or 2-D
 * with one column) as class indices in 0..NN_MAX_UNITS-1 ("y.npy: label -1
 * at row 7 is negative"). */
int nn_npy_read_labels(const nn_npy_file *f, uint64_t first, uint64_t end, int32_t *out,
                       nn_error *err);

/* "100 x 4 <f4" */
void nn_npy_describe(char *out, size_t cap, const nn_npy_header *h);

/* One element of the array's raw bytes p (itemsize bytes, file byte order)
 * as a double; *inexact is set for an i8 value beyond 2^53. */
double nn_npy_element(const nn_npy_header *h, const unsigned char *p, bool *inexact);

/* --- streaming from a byte stream (--predict) --------------------------- */

typedef struct nn_npy_stream nn_npy_stream;

/* Reads and checks the header from r (which the stream uses but does not
 * own).  NULL with *err. */
nn_npy_stream *nn_npy_stream_open(nn_reader *r, nn_error *err);
size_t nn_npy_stream_features(const nn_npy_stream *s);
size_t nn_npy_stream_pending(const nn_npy_stream *s);
/* The next row into x: 1, 0 after the last, -1 with *err (truncated data,
 * NaN/Inf, bytes after the last row). */
int nn_npy_stream_next(nn_npy_stream *s, double *x, nn_error *err);
void nn_npy_stream_close(nn_npy_stream *s);

/* --- writing ------------------------------------------------------------ */

/* Writes a version 1.0 array (2.0 when the header needs it) to the open
 * stream out: descr such as "<f4" or "|u1", C order, shape[0..ndim), data
 * in host order of the matching type, written little-endian.  0, or -1
 * (errno set) on a write error. */
int nn_npy_write_stream(void *out /* FILE * */, const char *descr, int ndim,
                        const uint64_t *shape, const void *data);

#endif
