/* csv.h - CSV input: a row reader and a data-set loader (contract section 6).
 *
 * Dialect: fields separated by one delimiter byte, or by runs of spaces and
 * tabs (NN_CSV_WHITESPACE); fields may be quoted with '"', a quote inside a
 * quoted field is doubled (""), and a quoted field may hold delimiters and
 * line breaks.  LF and CRLF line ends, a UTF-8 byte-order mark, a missing
 * final newline and blank lines at the end of the file are accepted.  A file
 * starting with the gzip magic bytes is decompressed through zlib; "-" is
 * stdin.  Numbers are parsed independently of the locale (always '.').  A
 * line longer than NN_CSV_MAX_LINE bytes is an error.
 */
#ifndef NN_CSV_H
#define NN_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"
#include "data/layout.h"
#include "data/reader.h"
#include "util/error.h"

#define NN_CSV_WHITESPACE (-1)
#define NN_CSV_MAX_LINE (1 << 20)                /* bytes in one record */
#define NN_CSV_MAX_COLUMNS NN_LAYOUT_MAX_COLUMNS /* fields in one record */

/* --- the row reader ------------------------------------------------------ */

typedef struct nn_csv nn_csv;

/* Opens path ("-" = stdin) for reading records separated by `delimiter` (a
 * byte other than '"', CR or LF, or NN_CSV_WHITESPACE).  Returns NULL with
 * *err (code 1) on failure. */
nn_csv *nn_csv_open(const char *path, int delimiter, nn_error *err);

/* The same on an open reader, which the CSV reader then owns (it is closed
 * by nn_csv_close, or here on failure).  Lets a caller look at the first
 * bytes (nn_reader_unread) before choosing CSV. */
nn_csv *nn_csv_from_reader(nn_reader *r, int delimiter, nn_error *err);

/* Reads the next record.  Returns 1 with a record, 0 at the end of the input
 * (blank lines at the end are skipped), -1 with *err (code 1, "FILE:LINE:
 * ...") for an unterminated quote, a record over NN_CSV_MAX_LINE bytes or
 * NN_CSV_MAX_COLUMNS fields, a blank line followed by more records, text
 * after a closing quote, or a read error. */
int nn_csv_next(nn_csv *c, nn_error *err);

/* The fields of the current record, unquoted and NUL-terminated; valid
 * until the next nn_csv_next. */
size_t nn_csv_nfields(const nn_csv *c);
const char *nn_csv_field(const nn_csv *c, size_t i);

/* 1-based line number where the current record starts. */
uint64_t nn_csv_line(const nn_csv *c);

/* The name used in messages: the path, or "stdin" for "-". */
const char *nn_csv_name(const nn_csv *c);

/* Bytes already read from the input but not yet returned as records (0
 * means the next nn_csv_next may wait for more input): lets a streaming
 * consumer flush its output before it blocks. */
size_t nn_csv_pending(const nn_csv *c);

void nn_csv_close(nn_csv *c);

/* Parses a whole field as a finite decimal number ("1", "-2.5e3", " 7 "
 * with surrounding spaces allowed), independently of the locale.  Returns 0,
 * or -1 for anything else (empty, text, "nan", "inf", trailing characters,
 * out of double range). */
int nn_csv_parse_number(const char *s, double *out);

/* 1 when the n strings are pairwise different, 0 when one repeats, -1 when
 * out of memory.  A count line's class names must be distinct to name
 * classes (two classes "a" could not be told apart). */
int nn_csv_names_distinct(char *const *names, size_t n);

/* --- the data-set loader ---------------------------------------------- */

typedef enum { NN_HEADER_AUTO = 0, NN_HEADER_YES = 1, NN_HEADER_NO = 2 } nn_header_mode;

/* A column: by header name when name != NULL, else by 0-based index
 * (negative counts from the end: -1 is the last column). */
typedef struct {
    char *name;
    long index;
} nn_column;

/* What a missing value (a field equal to one of the na_values) does. */
typedef enum {
    NN_MISSING_ERROR = 0, /* an error naming the line and column */
    NN_MISSING_DROP = 1,  /* the row is left out (counted in nn_csv_info.dropped) */
    NN_MISSING_MEAN = 2   /* a feature is stored as NaN, for nn_dataset_impute to fill; a row
                             with a missing label or target is left out */
} nn_missing;

/* The missing values when a spec gives none: "", "NA", "NaN", "?", "null". */
extern const char *const nn_csv_default_na[];
#define NN_CSV_DEFAULT_NA 5

typedef struct {
    nn_header_mode header;
    int delimiter;        /* a byte or NN_CSV_WHITESPACE */
    bool has_label;       /* classification: the label column */
    nn_column label;
    int n_targets;        /* regression: target columns (then has_label is false) */
    nn_column *targets;
    long skip_lines;      /* physical lines ignored at the start, before the header */
    int comment;          /* a line starting with this byte is ignored; 0: none */
    bool has_na;          /* na_values given (else nn_csv_default_na) */
    int n_na;
    char **na_values;     /* (n_na) fields (trimmed) that mean "missing" */
    nn_missing missing;
    int n_class_list;     /* the source's "classes": class k is class_list[k]; 0: none */
    char **class_list;
} nn_csv_spec;

/* What loading a file found out, for the caller to tell the user. */
typedef struct {
    bool header_auto;       /* the header was decided by looking ("auto") */
    bool header;            /* the first line was taken as a header */
    char header_why[200];   /* why, e.g. "field 5 \"species\" is not a number" */
    uint64_t header_line;   /* the line that decision was about (1, or 2 after a count line) */
    bool count_line;        /* "auto" took the first line for a count line and skipped it */
    char count_why[240];    /* what it said, e.g. "150 rows, 4 features, classes setosa, ..." */
    size_t dropped;         /* rows left out for a missing value */
    size_t missing_fields;  /* features stored as NaN (NN_MISSING_MEAN) */
} nn_csv_info;

/* How labels are turned into classes (nn_csv_read_opts). */
typedef struct {
    char *const *classes; /* (n_classes) names from a checkpoint, or NULL */
    int n_classes;
    int units;            /* the model's output units; 0 when unknown */
    bool integer_classes; /* with classes NULL: the model was trained on labels 0..units-1 */
    nn_csv_info *info;    /* may be NULL */
} nn_csv_opts;

/* Loads a whole CSV file into d: the feature columns (every column that is
 * not the label or a target) as NN_DT_F32, the labels or the targets.
 *
 * Header "auto" (the README's "Data formats" has the rule): the first line
 * is looked at against the next 20 rows; it is a header when a field of it
 * is text above a column of numbers, when its numbers count the columns
 * (0..n-1 or 1..n, five columns or more, or over rows with a fraction), or
 * when a whole number of it stands above a column of fractions; a file of
 * one line is a header only when it holds the name of the label or a
 * target column chosen by name.  skip_lines and comment lines come first.
 * Before the header rule, "auto" without skip_lines skips a count line
 * (scikit-learn's "150,4,setosa,versicolor,virginica": rows, features,
 * class names; is_count_line in csv.c), whose names become the classes as a
 * spec's list would, and whose row count must match the file's.
 *
 * Labels: as nn_csv_read_opts with units 0: whole numbers 0..65535 are
 * class indices, other labels sorted (numbers by value) are classes.  When
 * `classes` is given (n_classes names from a checkpoint), labels are
 * looked up there and a label not in it is an error ("FILE:LINE: label
 * "x" was not seen in training").  With `want_labels` false the label
 * column may be absent (no labels are read).
 *
 * A missing value (a field equal to one of the spec's na_values) follows
 * spec->missing.
 * Every bad field is an error with FILE:LINE and the column (1-based, with
 * the header name when there is one): ragged rows ("expected 5 fields,
 * found 4"), non-numeric or NaN/Inf features or targets, an empty file, a
 * header with no rows, a label or target column that does not exist.
 * Nothing else is skipped or turned into zero.  *layout (if not NULL) receives
 * the layout (format NN_FORMAT_CSV, the delimiter read with); free it with
 * nn_data_layout_free. */
int nn_csv_read(nn_dataset *d, nn_data_layout *layout, const char *path, const nn_csv_spec *spec,
                char *const *classes, int n_classes, nn_error *err);

/* The same with label options.  Labels become classes this way:
 *  - with o->classes (a checkpoint's names) or spec->class_list: class k is
 *    name k; a label (trimmed) not among them is an error; a label that is a
 *    number matches a name of the same value ("1.0" is "1");
 *  - else when every label is a whole number in 0..U-1, U = units (2 for one
 *    unit; any whole number >= 0 up to 65535 when units is 0): the numbers;
 *  - else (o->integer_classes is then an error) the distinct labels sorted
 *    (numerically when all are numbers, else by byte value) are classes
 *    0..D-1 and d->class_names holds them as first written.  D > U is an
 *    error naming the file, the line of the first label that does not fit,
 *    the label and the labels found.
 * Missing values and the header follow the spec (csv.h above); o->info (if
 * not NULL) receives what was decided. */
int nn_csv_read_opts(nn_dataset *d, nn_data_layout *layout, const char *path,
                     const nn_csv_spec *spec, const nn_csv_opts *o, nn_error *err);

/* Whether the field s (surrounding spaces ignored) is one of the n values. */
bool nn_csv_is_na(const char *s, char *const *values, int n);

/* Skips leading lines and comment lines (see nn_csv_spec) from here on. */
void nn_csv_set_skip(nn_csv *c, long skip_lines, int comment);

/* --- a file parsed in parts (data/csvcache.c) -----------------------------
 *
 * The loader above, cut so that several threads can parse the body of a
 * file and give the same rows, classes and errors as nn_csv_read_opts:
 *  - nn_csv_parts_open reads the head as the loader does (skipped lines, a
 *    count line, the header and the rows "auto" looks at) and stops at a
 *    record boundary; nn_csv_parts_head hands over the head's rows;
 *  - the caller reads the rest (nn_csv_parts_rest: bytes already read, and
 *    the stream to read on from), cuts it at record ends
 *    (nn_csv_parts_split) and counts its lines (each part's first line);
 *  - nn_csv_parts_parse parses one part, on any thread (it only reads P);
 *  - nn_csv_parts_take takes the parts in file order: their label ids
 *    become the head's, and errors come out in the order one reader would
 *    find them (a part's own error, or a blank line an earlier part ended
 *    with);
 *  - nn_csv_parts_finish makes the end checks and decides the classes.
 */
typedef struct nn_csv_parts nn_csv_parts;

/* The rows of one part. */
typedef struct {
    size_t n;              /* rows kept */
    float *x;              /* (n, features) */
    float *t;              /* (n, targets); NULL without targets */
    uint32_t *lab;         /* (n,) label ids (the part's own until taken); NULL without */
    size_t cap;            /* rows x, t and lab have room for */
    size_t dropped;        /* rows left out for a missing value */
    size_t missing_fields; /* features stored as NaN */
    /* for nn_csv_parts_take */
    int rc;                /* 0, or -1 with err: the part's first error */
    nn_error err;
    size_t records;        /* records read */
    uint64_t blank_line;   /* a blank line at the part's end, 0 if none */
    char **strs;           /* (nstr) the part's distinct labels, id order */
    uint64_t *first_line;  /* (nstr) where each is first seen */
    size_t nstr;
} nn_csv_part;

/* Opens path (plain or gzip; not "-") and reads its head.  NULL with *err. */
nn_csv_parts *nn_csv_parts_open(const char *path, const nn_csv_spec *spec,
                                const nn_csv_opts *o, nn_error *err);
void nn_csv_parts_close(nn_csv_parts *P);

size_t nn_csv_parts_features(const nn_csv_parts *P);
int nn_csv_parts_targets(const nn_csv_parts *P);
bool nn_csv_parts_has_label(const nn_csv_parts *P);
const char *nn_csv_parts_name(const nn_csv_parts *P);

/* The head's rows (label ids already final), moved into *out: the first
 * part, to be taken like the others. */
void nn_csv_parts_head(nn_csv_parts *P, nn_csv_part *out);

/* The input after the head: returns the bytes already read (*n of them,
 * starting at a record, on line *line), and in *r the stream the rest comes
 * from (NULL when the input has ended). */
const char *nn_csv_parts_rest(const nn_csv_parts *P, size_t *n, uint64_t *line,
                              nn_reader **r);

/* text[0..n) starting at a record: the length of its longest prefix that
 * ends with a record's line end (quotes and comment lines as the reader
 * sees them), 0 when there is none. */
size_t nn_csv_parts_split(const nn_csv_parts *P, const char *text, size_t n);

/* Parses text[0..n), records starting on line `line`, into *out (free with
 * nn_csv_part_free, also on failure; a zeroed part, or one parsed before,
 * whose row arrays are used again).  `whole`: the text ends with a record
 * (a cut by nn_csv_parts_split, or the end of the input); when not, a part
 * parsed to its end is an error.  Returns out->rc. */
int nn_csv_parts_parse(const nn_csv_parts *P, const char *text, size_t n, uint64_t line,
                       bool whole, nn_csv_part *out);
void nn_csv_part_free(nn_csv_part *part);
/* Empties a part but keeps its row arrays for the next parse. */
void nn_csv_part_reset(nn_csv_part *part);

/* Takes the next part in file order: part->lab becomes final label ids.
 * 0, or -1 with *err (the part's error, or one found by taking it). */
int nn_csv_parts_take(nn_csv_parts *P, nn_csv_part *part, nn_error *err);

/* After the last part: the end checks (a count line's rows, rows left),
 * the classes (*n_classes, *class_names as a nn_dataset holds them) and,
 * unless the label ids are class indices already, *map (n_map entries,
 * malloc'd): the class of each label id.  *layout and *info (if not NULL)
 * as nn_csv_read_opts gives them.  0, or -1 with *err. */
int nn_csv_parts_finish(nn_csv_parts *P, int32_t **map, size_t *n_map, int32_t *n_classes,
                        char ***class_names, nn_data_layout *layout, nn_csv_info *info,
                        nn_error *err);

#endif
