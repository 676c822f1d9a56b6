/* source.h - a data source: the files of one data set (an IDX pair, one
 * CSV file, or NPY arrays in one or more shards), how to read them, and
 * loading them into memory. */
#ifndef NN_SOURCE_H
#define NN_SOURCE_H

#include <stdbool.h>

#include "data/csv.h"
#include "data/dataset.h"
#include "data/layout.h"
#include "util/error.h"

/* One shard of an NPY source: a samples array and its labels or targets. */
typedef struct {
    char *x, *x_path; /* the samples, as written and resolved */
    char *y, *y_path; /* the labels or targets, as written and resolved */
} nn_npy_part;

typedef struct {
    nn_format_kind format;
    char *file;        /* the samples: a CSV file or an IDX images file, as written
                          (in the config or on the command line) */
    char *file_path;   /* the same resolved against the config's folder: the one to open */
    char *labels;      /* IDX only: the labels file as written; NULL for CSV */
    char *labels_path; /* IDX only: resolved; NULL for CSV */
    nn_csv_spec csv;   /* CSV only: header, delimiter, label or target columns */
    /* NPY only: the shards (file and labels above are copies of the first
     * shard's, for messages); npy_targets: the second arrays are regression
     * targets, not labels; npy_list: written as a list of shards */
    nn_npy_part *parts;
    int n_parts;
    bool npy_targets;
    bool npy_list;
} nn_source;

/* Whether s gives regression targets (CSV "targets", NPY "targets"). */
bool nn_source_has_targets(const nn_source *s);

/* Loads s into d.  For CSV, `classes` (n_classes names, or NULL) maps string
 * labels as in nn_csv_read.  *layout (if not NULL) receives the layout; for
 * IDX it is set empty (format NN_FORMAT_IDX, label_col -1).  When `classes`
 * is NULL but `integer_classes` is true, string labels are an error: the
 * model was trained on whole-number labels. */
int nn_source_load(nn_dataset *d, nn_data_layout *layout, const nn_source *s,
                   char *const *classes, int n_classes, bool integer_classes, nn_error *err);

/* The same with the CSV label options of csv.h (units, classes, and what was
 * decided in o->info); an IDX source is loaded as above. */
int nn_source_load_opts(nn_dataset *d, nn_data_layout *layout, const nn_source *s,
                        const nn_csv_opts *o, nn_error *err);

/* A source from a command-line SPEC: "IMAGES,LABELS" (an IDX pair), or
 * "X.npy,Y.npy" (an NPY pair, told by X's bytes: Y is targets when `like`
 * or `trained` is regression, else labels), or one path ("-" = stdin).  One path is an IDX images file when its bytes say so
 * (nn_format_of_file; then an error if need_labels), or an NPY samples
 * array (the same), else CSV, read with the CSV options of
 * `like` when it is a CSV source, else like the training data when
 * `trained` (the layout a checkpoint recorded, may be NULL) is CSV, else
 * with the defaults (header auto, ',' delimiter, label in the last
 * column).  Paths are used as given.  Free with nn_source_clear. */
int nn_source_from_spec(nn_source *s, const char *spec, const nn_data_layout *trained,
                        const nn_source *like, bool need_labels, nn_error *err);

/* Checks the form of a SPEC alone (exit 2 for "a,b,c" or ",b"), before any
 * file is opened. */
int nn_source_check_spec(const char *spec, nn_error *err);

/* Frees every string of s and zeroes it. */
void nn_source_clear(nn_source *s);

/* The file named in messages about the samples, and about the labels. */
const char *nn_source_name(const nn_source *s);
const char *nn_source_labels_name(const nn_source *s);

#endif
