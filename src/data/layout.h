/* layout.h - how a training file was laid out: what a checkpoint remembers
 * so that --eval and --predict can read data like it.
 *
 * A plain description with no parser behind it: the CSV reader fills one
 * (nn_csv_read), the checkpoint stores and restores it, and the readers of
 * later files take it as a guide.  An IDX source has no columns: its layout
 * is format NN_FORMAT_IDX, n_targets 0, the CSV fields zero and label_col -1.
 * An NPY source has none either: format NN_FORMAT_NPY, n_targets the
 * targets array's columns (0 with labels), the CSV fields zero, label_col -1.
 */
#ifndef NN_LAYOUT_H
#define NN_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>

/* The formats of data files.  The values are stored in checkpoints. */
typedef enum { NN_FORMAT_IDX = 0, NN_FORMAT_CSV = 1, NN_FORMAT_NPY = 2 } nn_format_kind;

/* Most columns a layout describes (fields in one CSV record). */
#define NN_LAYOUT_MAX_COLUMNS 1000000

typedef struct {
    nn_format_kind format;
    int n_targets;        /* regression outputs; 0 for classification */
    /* CSV only (zero for IDX, label_col -1): */
    bool header;          /* the first line was a header */
    int delimiter;        /* the delimiter the file was read with (or NN_CSV_WHITESPACE) */
    size_t n_columns;     /* fields per row */
    char **names;         /* (n_columns,) header names; NULL without a header */
    long label_col;       /* 0-based index of the label column, -1 if none */
    long *target_cols;    /* (n_targets,) 0-based indices of the target columns */
    /* missing values (CSV only): what the training source called missing and
     * did with it; means (n_means = the features, or 0) fill a missing
     * feature when missing is "mean" (NN_MISSING_MEAN of csv.h) */
    int missing;          /* 0 error, 1 drop, 2 mean */
    int n_na;
    char **na_values;     /* (n_na) */
    size_t n_means;
    float *means;         /* (n_means) */
} nn_data_layout;

/* Whether the layout's missing-value part differs from the defaults (missing
 * "error", the default na_values), so a checkpoint must keep it. */
bool nn_data_layout_has_missing(const nn_data_layout *l);

/* Frees names and target_cols and zeroes *l; safe on a zeroed layout and
 * on NULL. */
void nn_data_layout_free(nn_data_layout *l);

#endif
