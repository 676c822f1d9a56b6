/* fuzz_csv.c - libFuzzer harness for the CSV row reader and loader
 * (src/data/csv.c) and the byte stream under them (src/data/reader.c).
 *
 * Input: one selector byte, then the file.  The file is written as is to an
 * in-memory file (so gzip-magic inputs go through zlib); built with
 * -DFUZZ_GZIP (the fuzz_csv_gz harness) it is gzip-compressed first.  The
 * selector picks the reading options, bit by bit:
 *   bits 0-1  header: auto, yes, no, auto
 *   bits 2-3  delimiter: ',', ';', whitespace, '\t'
 *   bits 4-6  columns: label -1 | label 0 | label "label" | label -2 |
 *             targets [-1] | targets ["y", 0] | neither | label 0 + targets [-1]
 *   bit 7     labels looked up in a fixed class list (as --eval does with a
 *             checkpoint's class names), else integers or sorted labels
 * Every input is read with those options and, a second time, also with
 * reading options drawn from the same byte (bit 0 skip_lines 1, bit 1
 * comment '#', sel % 3 the missing mode, 1 + (sel >> 3) % 3 output units);
 * and, record by
 * record, by nn_csv_open / nn_csv_next; what each promises is checked.
 */
#include "fuzz_common.h"

#include <math.h>

#include "data/csv.h"
#include "data/dataset.h"
#include "util/error.h"

#ifndef FUZZ_GZIP
#define FUZZ_GZIP 0
#endif

static fuzz_file g_file;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_file_init(&g_file, "fuzz_csv");
    return 0;
}

static char *const g_classes[] = {"0", "1", "a", "b", "cat"};

/* Fills spec from the selector byte; the column arrays are static. */
static void choose_spec(nn_csv_spec *sp, unsigned sel)
{
    static const int delims[4] = {',', ';', NN_CSV_WHITESPACE, '\t'};
    static nn_column targets[2];
    memset(sp, 0, sizeof *sp);
    sp->header = (sel & 3) == 3 ? NN_HEADER_AUTO : (nn_header_mode)(sel & 3);
    sp->delimiter = delims[(sel >> 2) & 3];
    switch ((sel >> 4) & 7) {
    case 0: sp->has_label = true; sp->label = (nn_column){NULL, -1}; break;
    case 1: sp->has_label = true; sp->label = (nn_column){NULL, 0}; break;
    case 2: sp->has_label = true; sp->label = (nn_column){"label", 0}; break;
    case 3: sp->has_label = true; sp->label = (nn_column){NULL, -2}; break;
    case 4:
        targets[0] = (nn_column){NULL, -1};
        sp->n_targets = 1;
        sp->targets = targets;
        break;
    case 5:
        targets[0] = (nn_column){"y", 0};
        targets[1] = (nn_column){NULL, 0};
        sp->n_targets = 2;
        sp->targets = targets;
        break;
    case 6: break; /* every column a feature */
    default:
        sp->has_label = true;
        sp->label = (nn_column){NULL, 0};
        targets[0] = (nn_column){NULL, -1};
        sp->n_targets = 1;
        sp->targets = targets;
        break;
    }
}

/* units: the output units the labels are fitted to (0: unknown). */
static void fuzz_loader(const char *path, const nn_csv_spec *sp, int with_classes, int units)
{
    nn_dataset d;
    nn_data_layout lay;
    nn_error err = {0};
    int nc = (int)(sizeof g_classes / sizeof g_classes[0]);
    nn_csv_info info;
    nn_csv_opts o = {with_classes ? g_classes : NULL, with_classes ? nc : 0, units, false, &info};
    if (nn_csv_read_opts(&d, &lay, path, sp, &o, &err) != 0) {
        FUZZ_CHECK(err.code == NN_EXIT_RUNTIME && err.msg[0] != '\0');
        FUZZ_CHECK(d.x == NULL && d.labels == NULL && d.targets == NULL);
        return;
    }
    FUZZ_CHECK(d.type == NN_DT_F32 && d.n >= 1 && d.features >= 1);
    FUZZ_CHECK(lay.n_columns == d.features + (lay.label_col >= 0) + (size_t)lay.n_targets);
    FUZZ_CHECK(lay.n_targets == d.n_targets);
    const float *x = d.x;
    size_t nans = 0;
    for (size_t i = 0; i < d.n * d.features; i++) {
        FUZZ_CHECK(isfinite(x[i]) || (isnan(x[i]) && sp->missing == NN_MISSING_MEAN));
        nans += isnan(x[i]);
    }
    FUZZ_CHECK(nans == info.missing_fields);
    for (size_t i = 0; i < d.n * (size_t)d.n_targets; i++)
        FUZZ_CHECK(isfinite(d.targets[i]));
    if (lay.label_col >= 0) {
        FUZZ_CHECK((size_t)lay.label_col < lay.n_columns && d.labels != NULL);
        FUZZ_CHECK(d.n_classes >= 1);
        for (size_t i = 0; i < d.n; i++)
            FUZZ_CHECK(d.labels[i] >= 0 && d.labels[i] < d.n_classes);
        if (with_classes)
            FUZZ_CHECK(d.n_classes == nc && d.class_names != NULL);
        if (units > 0 && !with_classes)
            FUZZ_CHECK(d.n_classes <= (units == 1 ? 2 : units));
        /* sorted: by value when every name is a number, else by bytes
         * (unless a count line names them) */
        int all_num = 1;
        for (int k = 0; d.class_names && k < d.n_classes; k++) {
            double v;
            FUZZ_CHECK(d.class_names[k] != NULL);
            all_num &= nn_csv_parse_number(d.class_names[k], &v) == 0;
        }
        /* A count line's names are the classes in its order: distinct. */
        for (int k = 1; d.class_names && info.count_line && k < d.n_classes; k++)
            for (int j = 0; j < k; j++)
                FUZZ_CHECK(strcmp(d.class_names[j], d.class_names[k]) != 0);
        for (int k = 1; d.class_names && !with_classes && !info.count_line && k < d.n_classes;
             k++) {
            double a, b;
            if (all_num && nn_csv_parse_number(d.class_names[k - 1], &a) == 0 &&
                nn_csv_parse_number(d.class_names[k], &b) == 0)
                FUZZ_CHECK(a < b);
            else
                FUZZ_CHECK(strcmp(d.class_names[k - 1], d.class_names[k]) < 0);
        }
    } else {
        FUZZ_CHECK(d.labels == NULL);
    }
    for (int j = 0; j < lay.n_targets; j++)
        FUZZ_CHECK(lay.target_cols[j] >= 0 && (size_t)lay.target_cols[j] < lay.n_columns);
    for (size_t i = 0; lay.names && i < lay.n_columns; i++)
        FUZZ_CHECK(lay.names[i] != NULL);
    nn_data_layout_free(&lay);
    nn_dataset_free(&d);
}

static void fuzz_rows(const char *path, int delimiter)
{
    nn_error err = {0};
    nn_csv *c = nn_csv_open(path, delimiter, &err);
    if (!c) { /* the first bytes are a broken gzip stream */
        FUZZ_CHECK(err.code == NN_EXIT_RUNTIME);
        return;
    }
    int k;
    uint64_t last_line = 0;
    while ((k = nn_csv_next(c, &err)) == 1) {
        size_t nf = nn_csv_nfields(c);
        FUZZ_CHECK(nf >= 1 && nf <= NN_CSV_MAX_COLUMNS);
        FUZZ_CHECK(nn_csv_line(c) > last_line);
        last_line = nn_csv_line(c);
        size_t total = 0;
        for (size_t i = 0; i < nf; i++) {
            const char *f = nn_csv_field(c, i);
            FUZZ_CHECK(f != NULL);
            total += strlen(f); /* ASan: every field is NUL-terminated in bounds */
            double v;
            (void)nn_csv_parse_number(f, &v);
        }
        FUZZ_CHECK(total <= NN_CSV_MAX_LINE);
        FUZZ_CHECK(nn_csv_field(c, nf) == NULL);
    }
    if (k < 0) {
        FUZZ_CHECK(err.code == NN_EXIT_RUNTIME);
        nn_error again = {0};
        FUZZ_CHECK(nn_csv_next(c, &again) == -1); /* no records after an error */
    } else {
        FUZZ_CHECK(nn_csv_next(c, &err) == 0); /* the end stays the end */
    }
    nn_csv_close(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    nn_csv_spec spec;
    choose_spec(&spec, data[0]);
    fuzz_file_put(&g_file, data + 1, size - 1, FUZZ_GZIP);
    fuzz_loader(g_file.path, &spec, data[0] >> 7, 0);
    /* again with the reading options, drawn from the same byte: a leading
     * line skipped, '#' comments, a missing-value mode, 1..3 output units */
    unsigned sel = data[0];
    spec.skip_lines = sel & 1;
    spec.comment = (sel >> 1) & 1 ? '#' : 0;
    spec.missing = (nn_missing)(sel % 3);
    fuzz_loader(g_file.path, &spec, data[0] >> 7, 1 + (int)((sel >> 3) % 3));
    fuzz_rows(g_file.path, spec.delimiter);
    return 0;
}
