/* rowsrc.h - a data source read in place, rows at a time (streaming).
 *
 * A streamed source is never loaded whole: its files stay open and any
 * range of rows [a, b) is read on demand with pread, into the caller's
 * buffers, in the element type the source keeps in memory when loaded
 * (dataset.h), so a streamed row and a loaded one are the same bits.
 * Reading is thread-safe: the background reader of a streamed epoch reads
 * while the trainer computes.  NPY sources (one or more shards) are read
 * this way; a CSV source is first parsed into an NPY cache.
 *
 * A file that shrinks or changes under a running training is found out by
 * the reads (a short read, a header that no longer matches), and reported
 * as one line naming the file and the place.
 */
#ifndef NN_ROWSRC_H
#define NN_ROWSRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"
#include "data/npy.h"
#include "data/source.h"
#include "util/error.h"

typedef struct {
    int n_parts;
    nn_npy_file *x, *y;  /* (n_parts,) the open samples and labels/targets arrays */
    uint64_t *first;     /* (n_parts + 1,) the first row of each shard; first[n_parts] = n */
    uint64_t n;          /* rows */
    size_t features;     /* values per row */
    nn_dtype type;       /* element type of a row in memory (npy.h's storage type; double
                            when the shards differ) */
    bool has_targets;    /* regression targets (float) instead of labels */
    int n_targets;
    int ndim;            /* the first shard's shape, as a loaded data set keeps it */
    uint32_t dims[8];
    const char *name;    /* the first samples file, for messages */
} nn_rowsrc;

/* Whether s can be read in place: an NPY source. */
bool nn_rowsrc_supported(const nn_source *s);

/* Opens every file of s (an NPY source) and checks what the shards share,
 * as loading it does.  0, or -1 with *err (code 1) and nothing open. */
int nn_rowsrc_open(nn_rowsrc *s, const nn_source *src, nn_error *err);

/* Bytes of one row in memory: its features, and its label or targets. */
size_t nn_rowsrc_row_bytes(const nn_rowsrc *s);

/* Rows [a, b) into x ((b - a) * features of s->type), labels ((b - a), when
 * the source has labels; may be NULL to skip them) and targets ((b - a) *
 * n_targets, when it has targets; may be NULL).  0, or -1 with *err. */
int nn_rowsrc_read(const nn_rowsrc *s, uint64_t a, uint64_t b, void *x, int32_t *labels,
                   float *targets, nn_error *err);

void nn_rowsrc_close(nn_rowsrc *s);

#endif
