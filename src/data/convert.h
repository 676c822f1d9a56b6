/* convert.h - any source nntrain reads, written as NPY arrays
 * (nntrain --convert SPEC -o PREFIX).
 *
 * The source (a --data SPEC: CSV, IDX pair, NPY pair, plain or gzip) is
 * loaded as training would load it, then written as
 *   PREFIX-x.npy        the samples in the type they are held in: u1, i1,
 *                       i2, i4 for IDX integer data (so `data.scale`
 *                       "auto" still divides by the type's maximum), f4 for
 *                       CSV and float IDX, f8 for double data; shaped like
 *                       an IDX images file (n, 28, 28), else (n, features)
 *   PREFIX-y.npy        labels as int32 class indices (n,), or targets as
 *                       f4 (n, targets)
 *   PREFIX-classes.json the class names as a JSON array (class k is element
 *                       k), only when the labels were strings (CSV)
 * little-endian, format version 1.0, C order, data aligned to 64 bytes, so
 * numpy.load(..., mmap_mode="r") maps them.  Each file is written to a
 * temporary name in the same folder and renamed only once every file is
 * complete: an error leaves no partial file.
 */
#ifndef NN_CONVERT_H
#define NN_CONVERT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

/* What was written, for the caller's note. */
typedef struct {
    size_t rows, features;
    int n_targets; /* 0 for labels */
    int n_classes; /* for labels */
    bool classes_file;
    char x_descr[8];
} nn_convert_info;

int nn_convert(const char *spec, const char *prefix, nn_convert_info *info, nn_error *err);

#endif
