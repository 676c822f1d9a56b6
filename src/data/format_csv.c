/* format_csv.c - the CSV entry of the format table (see format.h): a CSV
 * file read by data/csv.c, and rows of features picked out of its records
 * the way the training file was laid out. */
#include "data/format.h"

#include <stdlib.h>
#include <string.h>

#include "data/csv.h"

/* Any bytes can be CSV: the table asks this format last. */
static bool csv_recognise(const unsigned char *head, size_t n)
{
    return true;
}

static int csv_load(nn_dataset *d, nn_data_layout *layout, const nn_source *s,
                    char *const *classes, int n_classes, nn_error *err)
{
    return nn_csv_read(d, layout, s->file_path, &s->csv, classes, n_classes, err);
}

/* --- rows ------------------------------------------------------------------
 * Which fields of a record hold the features: with a header (when the
 * training file had one) the features are found by name, cols[i] being the
 * field of feature i; without, a record holds either the features only or
 * the training row's full width, whose label/target fields are skipped. */

typedef struct {
    nn_csv *csv;
    const nn_data_layout *trained; /* the training file's layout; NULL unless CSV */
    size_t n_features;
    bool first;                    /* no record read yet */
    bool first_line;               /* the record is the input's first */
    bool by_name;                  /* the header has been mapped */
    long *cols;                    /* (n_features,) when by_name */
    size_t width;                  /* fields per record when by_name */
} csv_rows;

static bool is_feature_col(const nn_data_layout *l, long j)
{
    if (j == l->label_col)
        return false;
    for (int t = 0; t < l->n_targets; t++)
        if (l->target_cols[t] == j)
            return false;
    return true;
}

/* Fields of a training row that are features. */
static size_t feature_columns(const nn_data_layout *l)
{
    size_t n = 0;
    for (long j = 0; j < (long)l->n_columns; j++)
        n += is_feature_col(l, j);
    return n;
}

/* Finds each training feature column by name in the current record: 1,
 * or 0 with `quiet` when one is not there (the record is data), else -1
 * with *err. */
static int map_header(csv_rows *s, bool quiet, nn_error *err)
{
    const nn_data_layout *l = s->trained;
    s->by_name = true;
    s->width = nn_csv_nfields(s->csv);
    s->cols = malloc(sizeof(long) * (s->n_features ? s->n_features : 1));
    if (!s->cols) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        return -1;
    }
    size_t f = 0;
    for (long j = 0; j < (long)l->n_columns; j++) {
        if (!is_feature_col(l, j))
            continue;
        long found = -1;
        for (size_t k = 0; k < s->width && found < 0; k++)
            if (strcmp(nn_csv_field(s->csv, k), l->names[j]) == 0)
                found = (long)k;
        if (found < 0 && quiet) {
            free(s->cols);
            s->cols = NULL;
            s->by_name = false;
            return 0;
        }
        if (found < 0) {
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "%s:%llu: no column \"%s\" in the header (the model was trained on it)",
                         nn_csv_name(s->csv), (unsigned long long)nn_csv_line(s->csv),
                         l->names[j]);
            return -1;
        }
        s->cols[f++] = found;
    }
    return 1;
}

/* The missing-value strings the training source used. */
static char *const *na_list(const nn_data_layout *l, int *n)
{
    if (l && l->na_values) {
        *n = l->n_na;
        return l->na_values;
    }
    *n = NN_CSV_DEFAULT_NA;
    return (char *const *)nn_csv_default_na;
}

/* Field k of the record, feature i: a number, or a missing value that the
 * training's means fill. */
static int parse_field(const csv_rows *s, size_t k, size_t i, double *v, nn_error *err)
{
    const nn_csv *csv = s->csv;
    const nn_data_layout *l = s->trained;
    const char *f = nn_csv_field(csv, k);
    int n_na;
    char *const *na = na_list(l, &n_na);
    bool missing = nn_csv_is_na(f, na, n_na);
    if (!missing && nn_csv_parse_number(f, v) == 0)
        return 0;
    if (missing && l && l->n_means == s->n_features) {
        *v = l->means[i];
        return 0;
    }
    static const char *const modes[] = {"error", "drop", "mean"};
    if (missing)
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s:%llu: field %zu is missing (\"%.40s\"), and the model was trained with "
                     "\"missing\": \"%s\", so it has no value to put in its place",
                     nn_csv_name(csv), (unsigned long long)nn_csv_line(csv), k + 1, f,
                     modes[l && l->missing >= 0 && l->missing <= 2 ? l->missing : 0]);
    else
        nn_error_set(err, NN_EXIT_RUNTIME, "%s:%llu: field %zu is not a number: \"%.40s\"%s",
                     nn_csv_name(csv), (unsigned long long)nn_csv_line(csv), k + 1, f,
                     s->first_line && !(l && l->header)
                         ? " (a header line? the model was trained on rows without one)" : "");
    return -1;
}

/* The features of the current record into x. */
static int record_features(const csv_rows *s, double *x, nn_error *err)
{
    const nn_csv *csv = s->csv;
    const nn_data_layout *l = s->trained;
    size_t nf = nn_csv_nfields(csv), F = s->n_features;
    unsigned long long line = nn_csv_line(csv);
    if (s->by_name) {
        if (nf != s->width) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s:%llu: expected %zu fields, found %zu",
                         nn_csv_name(csv), line, s->width, nf);
            return -1;
        }
        for (size_t i = 0; i < F; i++)
            if (parse_field(s, (size_t)s->cols[i], i, &x[i], err) < 0)
                return -1;
        return 0;
    }
    if (nf == F) {
        for (size_t i = 0; i < F; i++)
            if (parse_field(s, i, i, &x[i], err) < 0)
                return -1;
        return 0;
    }
    if (l && nf == l->n_columns) {
        size_t i = 0;
        for (size_t k = 0; k < nf; k++)
            if (is_feature_col(l, (long)k)) {
                if (parse_field(s, k, i, &x[i], err) < 0)
                    return -1;
                i++;
            }
        return 0;
    }
    if (l && l->n_columns != F)
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s:%llu: expected %zu fields (the features) or %zu (a training row), "
                     "found %zu",
                     nn_csv_name(csv), line, F, l->n_columns, nf);
    else
        nn_error_set(err, NN_EXIT_RUNTIME, "%s:%llu: expected %zu fields, found %zu",
                     nn_csv_name(csv), line, F, nf);
    return -1;
}

/* Whether a field of the current record is neither a number nor missing. */
static bool has_text(const csv_rows *s)
{
    int n_na;
    char *const *na = na_list(s->trained, &n_na);
    double v;
    for (size_t k = 0; k < nn_csv_nfields(s->csv); k++) {
        const char *f = nn_csv_field(s->csv, k);
        if (!nn_csv_is_na(f, na, n_na) && nn_csv_parse_number(f, &v) != 0)
            return true;
    }
    return false;
}

/* Every field of the current record is text (neither a number nor a
 * missing value): a header line. */
static bool all_text(const csv_rows *s)
{
    int n_na;
    char *const *na = na_list(s->trained, &n_na);
    double v;
    size_t n = nn_csv_nfields(s->csv);
    for (size_t k = 0; k < n; k++) {
        const char *f = nn_csv_field(s->csv, k);
        if (nn_csv_is_na(f, na, n_na) || nn_csv_parse_number(f, &v) == 0)
            return false;
    }
    return n > 0;
}

static void csv_rows_close(void *st)
{
    csv_rows *s = st;
    if (!s)
        return;
    free(s->cols);
    nn_csv_close(s->csv);
    free(s);
}

static void *csv_rows_open(nn_reader *r, const nn_data_layout *trained, size_t n_features,
                           nn_error *err)
{
    csv_rows *s = calloc(1, sizeof *s);
    if (!s) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", nn_reader_name(r));
        nn_reader_close(r);
        return NULL;
    }
    s->trained = trained && trained->format == NN_FORMAT_CSV ? trained : NULL;
    s->n_features = n_features;
    s->first = true;
    /* The layout picks the features out of a row: it must have as many. */
    if (s->trained && feature_columns(s->trained) != n_features) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: the training rows had %zu feature columns, the model takes %zu",
                     nn_reader_name(r), feature_columns(s->trained), n_features);
        free(s);
        nn_reader_close(r);
        return NULL;
    }
    s->csv = nn_csv_from_reader(r, s->trained ? s->trained->delimiter : ',', err);
    if (!s->csv) {
        free(s);
        return NULL;
    }
    return s;
}

static nn_rows_info csv_rows_describe(const void *st)
{
    const csv_rows *s = st;
    return (nn_rows_info){s->n_features, nn_csv_name(s->csv)};
}

static int csv_rows_read(void *st, double *x, nn_error *err)
{
    csv_rows *s = st;
    int got = nn_csv_next(s->csv, err);
    s->first_line = s->first;
    if (got > 0 && s->first && s->trained && s->trained->header && s->trained->names) {
        /* Each input decides for itself: its first record is a header when
         * it names every feature column, or when it holds text (then a name
         * not found is an error); else it is a row. */
        int all = map_header(s, true, err);
        if (all < 0)
            return -1;
        if (all == 0 && has_text(s)) {
            if (map_header(s, false, err) < 0)
                return -1;
            all = 1;
        }
        if (all) {
            got = nn_csv_next(s->csv, err);
            s->first_line = false;
        }
    } else if (got > 0 && s->first && s->trained && !s->trained->header && all_text(s)) {
        /* A model trained on rows without a header: an input's first line
         * of names only is a header, and is passed over (the features are
         * found by position, as in every row). */
        got = nn_csv_next(s->csv, err);
        s->first_line = false;
    }
    s->first = false;
    if (got <= 0)
        return got;
    return record_features(s, x, err) < 0 ? -1 : 1;
}

static size_t csv_rows_pending(const void *st)
{
    const csv_rows *s = st;
    return nn_csv_pending(s->csv);
}

const nn_format nn_format_csv = {
    .kind = NN_FORMAT_CSV,
    .name = "csv",
    .recognise = csv_recognise,
    .load = csv_load,
    .rows = {csv_rows_open, csv_rows_describe, csv_rows_read, csv_rows_pending,
             csv_rows_close},
};
