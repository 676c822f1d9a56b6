/* format.h - the data formats behind one interface.
 *
 * One table entry per format (IDX, NPY, CSV): its name, how its first bytes look,
 * how to load a whole data set, and how to read it row by row.  Telling the
 * formats apart happens here and nowhere else: nn_format_detect looks at a
 * file's first bytes (after gzip decompression, which the reader does), and
 * the IDX reader only checks its own header in detail once chosen.
 *
 * A row stream (nn_rows) reads one sample at a time without holding the
 * file, for --predict: its memory does not grow with the input, and
 * nn_rows_pending says when the next read could wait for input, so a
 * consumer can flush its output first.
 */
#ifndef NN_FORMAT_H
#define NN_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

#include "data/dataset.h"
#include "data/layout.h"
#include "data/reader.h"
#include "data/source.h"
#include "util/error.h"

/* Bytes the sniffer looks at: the longest start a format is known by (the
 * NPY magic "\x93NUMPY"; the IDX one is two zero bytes, a type byte, a
 * dimension count). */
#define NN_FORMAT_SNIFF_BYTES 6

/* What a row stream says about itself. */
typedef struct {
    size_t features;  /* values in every row */
    const char *name; /* the input in messages: the path, or "stdin"; valid while the
                         stream is open */
} nn_rows_info;

/* A row stream of one format.  `st` is the format's own state, made by open.
 *   open      starts reading r, which the stream owns from here (it is closed
 *             by close, or by open itself on failure).  `trained` is the
 *             training data's layout (NULL when unknown), which the stream
 *             keeps a pointer to (it must outlive the stream); n_features is
 *             what the model takes.  NULL with *err on failure.
 *   describe  features per row and the input's name.
 *   read      the next row into x (features values): 1, 0 after the last row,
 *             -1 with *err (code 1).
 *   pending   bytes read from the input but not yet returned as rows (0 means
 *             the next read may wait for input).
 *   close     frees everything, r included; safe on NULL. */
typedef struct {
    void *(*open)(nn_reader *r, const nn_data_layout *trained, size_t n_features,
                  nn_error *err);
    nn_rows_info (*describe)(const void *st);
    int (*read)(void *st, double *x, nn_error *err);
    size_t (*pending)(const void *st);
    void (*close)(void *st);
} nn_row_ops;

typedef struct {
    nn_format_kind kind;
    const char *name; /* "idx", "npy", "csv": what --inspect prints */
    /* true when head (n bytes: the first NN_FORMAT_SNIFF_BYTES of a file, or all
     * of a shorter one) starts a file of this format */
    bool (*recognise)(const unsigned char *head, size_t n);
    /* Loads the whole source s (of this format) into d, as nn_source_load
     * describes; *layout (if not NULL) receives its layout. */
    int (*load)(nn_dataset *d, nn_data_layout *layout, const nn_source *s,
                char *const *classes, int n_classes, nn_error *err);
    nn_row_ops rows;
} nn_format;

/* The entries (data/format_idx.c, data/format_npy.c, data/format_csv.c).
 *
 * IDX rows are the images file's items, each element as a double; n_features
 * and `trained` are not used, the header gives the width.  Errors: the
 * header's (idx.h), "FILE: data ends in item 3 at byte 40 but the header
 * claims 5 x 2 x 2 ubyte", "FILE: item 2 feature 1 is NaN", "FILE: trailing
 * bytes after the data at byte 36".
 *
 * CSV rows have n_features values, read with the training file's delimiter
 * when `trained` is CSV, else ','.  When the training file had a header, the
 * first record is a header too and the features are found in it by name
 * ("FILE:LINE: no column "x" in the header (the model was trained on it)"),
 * every row as wide as that header ("FILE:LINE: expected 5 fields, found
 * 4").  Without, a row holds the features alone or, when `trained` is CSV,
 * a whole training row whose label and target fields are skipped ("FILE:LINE:
 * expected 4 fields (the features) or 5 (a training row), found 3"; with no
 * such choice "FILE:LINE: expected 4 fields, found 3").  A field that is not
 * a number: "FILE:LINE: field 2 is not a number: "abc"".  The CSV reader's
 * own errors (csv.h) pass through.  A CSV `trained` whose feature columns
 * (those neither label nor target) are not n_features is refused by open:
 * "FILE: the training rows had 3 feature columns, the model takes 4".
 *
 * NPY rows are the samples array's rows (npy.h), each element as a double;
 * n_features and `trained` are not used.  Errors: the header's (npy.h),
 * "FILE: data ends in row 3 at byte 140 but the header claims 5 x 2 <f4",
 * "FILE: row 2 column 1 is NaN", "FILE: trailing bytes after the data at
 * byte 168".  Loading a source reads every shard's arrays (npy.h's
 * nn_npy_read_rows) into one data set; the shards must agree on the
 * features per row (and targets per row), and each labels or targets array
 * on its samples' row count. */
/* An NPY source's "classes" (s->csv.class_list) as d's class names and
 * count, when it has them: the largest label `top` must have a name
 * ("y.npy: label 3 has no name: "classes" names 3 classes (labels 0 to 2)").
 * 0, or -1 with *err. */
int nn_npy_class_names(nn_dataset *d, const nn_source *s, int32_t top, nn_error *err);

extern const nn_format nn_format_idx;
extern const nn_format nn_format_npy;
extern const nn_format nn_format_csv;

/* The entry of a kind; NULL for a value that is no nn_format_kind. */
const nn_format *nn_format_get(nn_format_kind kind);

/* The format whose first bytes are head[0..n): IDX when they are an IDX
 * header (two zero bytes, a known type byte, 1 to NN_IDX_MAX_DIMS
 * dimensions), NPY when they are the NPY magic, else CSV, which takes any bytes, also fewer than a header. */
const nn_format *nn_format_detect(const unsigned char *head, size_t n);

/* The format of the stream r, which must not have been read from yet: reads
 * its first NN_FORMAT_SNIFF_BYTES (fewer only at the end of the input) and
 * gives them back, so the next read starts at byte 0 again.  NULL with *err
 * (code 1) on a read error. */
const nn_format *nn_format_sniff(nn_reader *r, nn_error *err);

/* The format of the file at path (plain or gzip).  "-" (stdin) is never
 * read here, since its bytes could not be read again: it is CSV.  NULL with
 * *err (code 1) when the file cannot be opened or read. */
const nn_format *nn_format_of_file(const char *path, nn_error *err);

/* --- row streams --------------------------------------------------------- */

typedef struct nn_rows nn_rows;

/* Sniffs r (nn_format_sniff) and opens a row stream of its format with the
 * format's open (see nn_row_ops).  The stream owns r from here, also when
 * this fails (NULL with *err). */
nn_rows *nn_rows_open(nn_reader *r, const nn_data_layout *trained, size_t n_features,
                      nn_error *err);

/* The stream's format. */
const nn_format *nn_rows_format(const nn_rows *s);

nn_rows_info nn_rows_describe(const nn_rows *s);
int nn_rows_read(nn_rows *s, double *x, nn_error *err);
size_t nn_rows_pending(const nn_rows *s);
void nn_rows_close(nn_rows *s);

#endif
