/* sniff.h - guessing how a CSV file is laid out, for `nntrain --init`.
 *
 * nn_sniff_csv reads a CSV file (plain or gzip, through the CSV row reader)
 * and decides, with a reason for each decision in `notes`:
 *   - the delimiter: ',', ';', tab or runs of spaces ("whitespace"): the one
 *     that splits the first NN_SNIFF_SAMPLE records into the same number of
 *     fields (more than one) most consistently, earlier in that list on a tie;
 *   - comment lines: '#' when a record starts with '#';
 *   - a count line to skip (scikit-learn's `150,4,setosa,versicolor,virginica`):
 *     a first line whose first field is the number of data rows and whose
 *     second is the number of features; text fields after them are class
 *     names (the classes of text labels in that order, or the names of
 *     integer labels 0..K-1);
 *   - a header: the CSV reader's "auto" rule (a field that is not a number
 *     above one that is, looking at the sampled rows), or a numeric header
 *     whose fields count the columns (0..n-1 or 1..n), or integers over
 *     columns whose values are all written with a decimal point;
 *   - the label column: `label` by header name or 0-based index (negative
 *     from the end), else the last column;
 *   - classification or regression: text labels are classes; integer labels
 *     are classes when there are at most 20 distinct values, or at most
 *     sqrt(rows) of them; other numbers are a regression target;
 *   - missing values: fields equal to one of "", "NA", "NaN", "?", "null"
 *     (after trimming spaces), counted in the features and the label.
 * Nothing is printed.  Two passes over the file: the sample and the record
 * count first, then the labels and missing values; the distinct labels kept
 * are capped at NN_SNIFF_MAX_CLASSES.
 *
 * Errors (code 1, with the file and the line where it helps): no such file,
 * an empty file, one column, ragged rows, a feature that is not a number,
 * a single label value, too many text classes, fewer than NN_SNIFF_MIN_ROWS
 * rows.  A `label` naming no column is code 2 (the argument is wrong), and
 * the message lists the columns.
 */
#ifndef NN_SNIFF_H
#define NN_SNIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define NN_SNIFF_SAMPLE 200        /* records sampled for the delimiter and header */
#define NN_SNIFF_MAX_CLASSES 1000  /* distinct labels tracked */
#define NN_SNIFF_MIN_ROWS 10       /* rows needed to split into train, validation, test */
#define NN_SNIFF_FEW_CLASSES 20    /* integer labels with this many values are classes */

/* The na_values written in generated configs (the reader's default). */
extern const char *const nn_sniff_na_values[];
extern const int nn_sniff_n_na_values;

typedef struct {
    int delimiter;        /* ',', ';', '\t' or NN_CSV_WHITESPACE */
    int comment;          /* '#' or 0 */
    long skip_lines;      /* physical lines before the header or data (a count line) */
    bool header;          /* the first line after those names the columns */
    size_t ncols;         /* columns of a row */
    char **names;         /* (ncols) the header's names as written, or NULL */
    size_t label_col;     /* the label (or regression target) column */
    uint64_t rows;        /* data rows */
    bool regression;      /* the label column is a number to predict */
    int n_classes;        /* classification: K, the distinct classes */
    char **classes;       /* (n_classes) text labels for the config's `classes`, or NULL */
    char **label_names;   /* (n_classes) the count line's names of integer labels 0..K-1
                             (none of them a number), or NULL; the config's `classes` then,
                             since a whole-number label k names the k-th class */
    bool int_labels;      /* classification: the labels are integers */
    double label_min, label_max; /* numeric labels: their range */
    uint64_t missing_features;   /* missing feature fields */
    uint64_t missing_rows;       /* rows with a missing feature */
    uint64_t missing_labels;     /* rows with a missing label */
    const char *missing;  /* the config's "missing": "error", "mean" or "drop" */
    char **notes;         /* (n_notes) one sentence each, without "note: " */
    int n_notes;
} nn_sniff;

/* Fills *s for the CSV file at path ("-" is refused: the file is read
 * twice).  label: NULL for the last column, or a header name, or a 0-based
 * index (negative from the end).  Returns 0, or -1 with *err and *s empty. */
int nn_sniff_csv(nn_sniff *s, const char *path, const char *label, nn_error *err);

void nn_sniff_free(nn_sniff *s);

/* The delimiter's name as the config spells it: ",", ";", "\t" or
 * "whitespace" (static storage). */
const char *nn_sniff_delimiter_name(int delimiter);

#endif
