/* source.h - loading a configured data source, IDX pair or CSV file. */
#ifndef NN_SOURCE_H
#define NN_SOURCE_H

#include "checkpoint.h"
#include "config/config.h"
#include "data/csv.h"
#include "data/dataset.h"
#include "util/error.h"

/* Loads s into d.  For CSV, `classes` (n_classes names, or NULL) maps string
 * labels as in nn_csv_read, and *layout (if not NULL) receives the layout;
 * for IDX the layout is set empty (label_col -1).  When `classes` is NULL
 * but `integer_classes` is true, string labels are an error: the model was
 * trained on whole-number labels. */
int nn_source_load(nn_dataset *d, nn_csv_layout *layout, const nn_source *s,
                   char *const *classes, int n_classes, bool integer_classes, nn_error *err);

/* A source from a command-line SPEC: "IMAGES,LABELS" (an IDX pair) or one
 * path ("-" = stdin).  One path is an IDX images file when its bytes say so
 * (then an error if need_labels), else CSV, read with the CSV options of
 * `like` when it is a CSV source, else with the layout the checkpoint ck
 * (may be NULL) recorded for its training data, else with the defaults
 * (header auto, ',' delimiter, label in the last column).  Paths are used as
 * given.  Free with nn_source_clear. */
int nn_source_from_spec(nn_source *s, const char *spec, const nn_ckpt *ck, const nn_source *like,
                        bool need_labels, nn_error *err);

/* Checks the form of a SPEC alone (exit 2 for "a,b,c" or ",b"), before any
 * file is opened. */
int nn_source_check_spec(const char *spec, nn_error *err);

/* 1 when the first bytes of path are an IDX header (plain or gzip), 0 when
 * not, -1 with *err when it cannot be read.  "-" is never sniffed (0). */
int nn_source_is_idx(const char *path, nn_error *err);

/* Frees every string of s and zeroes it. */
void nn_source_clear(nn_source *s);

/* The file named in messages about the samples, and about the labels. */
const char *nn_source_name(const nn_source *s);
const char *nn_source_labels_name(const nn_source *s);

#endif
