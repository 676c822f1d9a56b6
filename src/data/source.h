/* source.h - a data source: the files of one data set (an IDX pair or one
 * CSV file), how to read them, and loading them into memory. */
#ifndef NN_SOURCE_H
#define NN_SOURCE_H

#include <stdbool.h>

#include "data/csv.h"
#include "data/dataset.h"
#include "data/layout.h"
#include "util/error.h"

typedef struct {
    nn_format_kind format;
    char *file;        /* the samples: a CSV file or an IDX images file, as written
                          (in the config or on the command line) */
    char *file_path;   /* the same resolved against the config's folder: the one to open */
    char *labels;      /* IDX only: the labels file as written; NULL for CSV */
    char *labels_path; /* IDX only: resolved; NULL for CSV */
    nn_csv_spec csv;   /* CSV only: header, delimiter, label or target columns */
} nn_source;

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

/* A source from a command-line SPEC: "IMAGES,LABELS" (an IDX pair) or one
 * path ("-" = stdin).  One path is an IDX images file when its bytes say so
 * (nn_format_of_file; then an error if need_labels), else CSV, read with the CSV options of
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
