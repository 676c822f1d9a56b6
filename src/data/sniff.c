/* sniff.c - guessing a CSV file's layout for `nntrain --init` (see sniff.h).
 *
 * Each candidate delimiter reads the first NN_SNIFF_SAMPLE records through
 * the CSV row reader (so quotes are honoured); the winner then reads the
 * whole file once, keeping the sample and counting records, which settles
 * the count line, the header and the label column; a second pass checks
 * every row and gathers the labels and missing values. */
#include "data/sniff.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/csv.h"

const char *const nn_sniff_na_values[] = {"", "NA", "NaN", "?", "null"};
const int nn_sniff_n_na_values = 5;

typedef struct {
    char **f;
    size_t nf;
    uint64_t line;
} rec;

typedef struct {
    nn_sniff *s;
    const char *path;
    const char *name; /* for messages */
    rec *sample;      /* (n_sample) the first records that are not comments */
    size_t n_sample;
    uint64_t n_records; /* records that are not comments, in the whole file */
    size_t first;       /* index in sample of the first record after a count line */
    /* the distinct labels (trimmed), an open-addressing set */
    char **set;
    size_t set_cap, n_set;
    bool set_full;
    uint64_t label_text; /* labels that are not numbers */
} sniffer;

/* --- small helpers ----------------------------------------------------- */

static int oom(nn_error *err)
{
    nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
    return -1;
}

static char *dup_n(const char *p, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

static int note(nn_sniff *s, nn_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int note(nn_sniff *s, nn_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *t = n >= 0 ? malloc((size_t)n + 1) : NULL;
    char **v = realloc(s->notes, (size_t)(s->n_notes + 1) * sizeof *v);
    if (!t || !v) {
        free(t);
        if (v)
            s->notes = v;
        return oom(err);
    }
    s->notes = v;
    va_start(ap, fmt);
    vsnprintf(t, (size_t)n + 1, fmt, ap);
    va_end(ap);
    s->notes[s->n_notes++] = t;
    return 0;
}

/* The field without surrounding spaces and tabs: start and length. */
static const char *trim(const char *f, size_t *n)
{
    while (*f == ' ' || *f == '\t')
        f++;
    size_t k = strlen(f);
    while (k > 0 && (f[k - 1] == ' ' || f[k - 1] == '\t'))
        k--;
    *n = k;
    return f;
}

static bool is_na(const char *f)
{
    size_t n;
    const char *t = trim(f, &n);
    for (int i = 0; i < nn_sniff_n_na_values; i++)
        if (strlen(nn_sniff_na_values[i]) == n && memcmp(nn_sniff_na_values[i], t, n) == 0)
            return true;
    return false;
}

static bool is_num(const char *f)
{
    double v;
    return nn_csv_parse_number(f, &v) == 0;
}

/* Digits with an optional sign, nothing else (no '.', no exponent). */
static bool is_int_text(const char *f)
{
    size_t n;
    const char *t = trim(f, &n);
    size_t i = (n > 0 && (t[0] == '-' || t[0] == '+')) ? 1 : 0;
    if (i == n)
        return false;
    for (; i < n; i++)
        if (t[i] < '0' || t[i] > '9')
            return false;
    return true;
}

/* A non-negative integer written as digits only, into *v. */
static bool count_value(const char *f, uint64_t *v)
{
    size_t n;
    const char *t = trim(f, &n);
    if (n == 0 || n > 18)
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i] < '0' || t[i] > '9')
            return false;
        x = x * 10 + (uint64_t)(t[i] - '0');
    }
    *v = x;
    return true;
}

static bool is_comment(const nn_csv *c)
{
    return nn_csv_nfields(c) > 0 && nn_csv_field(c, 0)[0] == '#';
}

static void rec_free(rec *r)
{
    for (size_t i = 0; i < r->nf; i++)
        free(r->f[i]);
    free(r->f);
    r->f = NULL;
    r->nf = 0;
}

static int rec_copy(rec *r, const nn_csv *c, nn_error *err)
{
    r->nf = 0;
    r->line = nn_csv_line(c);
    r->f = calloc(nn_csv_nfields(c) ? nn_csv_nfields(c) : 1, sizeof *r->f);
    if (!r->f)
        return oom(err);
    for (size_t i = 0; i < nn_csv_nfields(c); i++) {
        const char *f = nn_csv_field(c, i);
        if (!(r->f[i] = dup_n(f, strlen(f))))
            return oom(err);
        r->nf++;
    }
    return 0;
}

const char *nn_sniff_delimiter_name(int d)
{
    switch (d) {
    case ',':
        return ",";
    case ';':
        return ";";
    case '\t':
        return "\t";
    default:
        return "whitespace";
    }
}

static const char *delim_words(int d)
{
    switch (d) {
    case ',':
        return "','";
    case ';':
        return "';'";
    case '\t':
        return "a tab";
    default:
        return "runs of spaces (\"whitespace\")";
    }
}

/* --- the delimiter ----------------------------------------------------- */

typedef struct {
    size_t mode;   /* the most common field count (records after the first) */
    double agree;  /* share of those records with that count */
    size_t n;      /* records sampled */
    bool comment;  /* a record starting with '#' */
} dscore;

static int score_delimiter(const char *path, int d, dscore *sc, nn_error *err)
{
    memset(sc, 0, sizeof *sc);
    nn_csv *c = nn_csv_open(path, d, err);
    if (!c)
        return -1;
    size_t counts[NN_SNIFF_SAMPLE];
    int k = 0;
    while (sc->n < NN_SNIFF_SAMPLE && (k = nn_csv_next(c, err)) == 1) {
        if (is_comment(c)) {
            sc->comment = true;
            continue;
        }
        counts[sc->n++] = nn_csv_nfields(c);
    }
    nn_csv_close(c);
    if (sc->n < NN_SNIFF_SAMPLE && k < 0)
        return -1;
    /* the first record may be a count line: judge by the rest when there is one */
    size_t from = sc->n > 2 ? 1 : 0, best = 0;
    for (size_t i = from; i < sc->n; i++) {
        size_t same = 0;
        for (size_t j = from; j < sc->n; j++)
            same += counts[j] == counts[i];
        if (same > best || (same == best && counts[i] > sc->mode)) {
            best = same;
            sc->mode = counts[i];
        }
    }
    sc->agree = sc->n > from ? (double)best / (double)(sc->n - from) : 0;
    return 0;
}

static int choose_delimiter(sniffer *S, nn_error *err)
{
    static const int cand[] = {',', ';', '\t', NN_CSV_WHITESPACE};
    int best = 0; /* 0: none yet (NN_CSV_WHITESPACE is -1) */
    double best_agree = 0;
    size_t best_mode = 0;
    bool any_records = false, comment = false;
    nn_csv *c = nn_csv_open(S->path, ',', err); /* a missing file: its own error */
    if (!c)
        return -1;
    nn_csv_close(c);
    nn_error first_err = {0};
    for (int i = 0; i < 4; i++) {
        dscore sc;
        nn_error e = {0};
        if (score_delimiter(S->path, cand[i], &sc, &e) < 0) {
            if (!first_err.code)
                first_err = e; /* this delimiter cannot read the file */
            continue;
        }
        any_records |= sc.n > 0;
        comment |= sc.comment;
        if (sc.mode > 1 && sc.agree > best_agree) {
            best = cand[i];
            best_agree = sc.agree;
            best_mode = sc.mode;
        }
    }
    if (best == 0 && first_err.code) {
        *err = first_err;
        return -1;
    }
    if (!any_records) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: empty file", S->name);
        return -1;
    }
    if (best == 0) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: one column only (no line splits into fields at ',', ';', a tab or "
                     "spaces): --init needs feature columns and a label column",
                     S->name);
        return -1;
    }
    S->s->delimiter = best;
    S->s->comment = comment ? '#' : 0;
    if (note(S->s, err, "%s: delimiter %s: it splits %.0f%% of the first lines into %zu fields",
             S->name, delim_words(best), 100 * best_agree, best_mode) < 0)
        return -1;
    if (comment && note(S->s, err, "%s: lines starting with '#' are comments (\"comment\": \"#\")",
                        S->name) < 0)
        return -1;
    return 0;
}

/* --- pass 1: the sample and the record count ---------------------------- */

static int read_sample(sniffer *S, nn_error *err)
{
    nn_csv *c = nn_csv_open(S->path, S->s->delimiter, err);
    if (!c)
        return -1;
    S->sample = calloc(NN_SNIFF_SAMPLE, sizeof *S->sample);
    if (!S->sample) {
        nn_csv_close(c);
        return oom(err);
    }
    int k;
    while ((k = nn_csv_next(c, err)) == 1) {
        if (S->s->comment && is_comment(c))
            continue;
        if (S->n_sample < NN_SNIFF_SAMPLE &&
            rec_copy(&S->sample[S->n_sample++], c, err) < 0) {
            nn_csv_close(c);
            return -1;
        }
        S->n_records++;
    }
    nn_csv_close(c);
    if (k < 0)
        return -1;
    if (S->n_records == 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: no data (only comments)", S->name);
        return -1;
    }
    return 0;
}

/* The field count most rows of the sample have (after the count line). */
static size_t body_columns(const sniffer *S, size_t from)
{
    size_t mode = 0, best = 0;
    for (size_t i = from; i < S->n_sample; i++) {
        size_t same = 0;
        for (size_t j = from; j < S->n_sample; j++)
            same += S->sample[j].nf == S->sample[i].nf;
        if (same > best) {
            best = same;
            mode = S->sample[i].nf;
        }
    }
    return mode;
}

/* scikit-learn's first line: rows, features, then maybe class names. */
static int count_line(sniffer *S, char ***names, size_t *n_names, nn_error *err)
{
    *names = NULL;
    *n_names = 0;
    if (S->n_sample < 2)
        return 0;
    const rec *r = &S->sample[0];
    size_t body = body_columns(S, 1);
    uint64_t rows, feats;
    if (r->nf < 2 || !count_value(r->f[0], &rows) || !count_value(r->f[1], &feats) ||
        (rows != S->n_records - 1 && rows != S->n_records - 2) || body < 2 || feats != body - 1)
        return 0;
    S->first = 1;
    S->s->skip_lines = (long)r->line;
    size_t n = 0;
    for (size_t i = 2; i < r->nf; i++)
        n += !is_num(r->f[i]);
    if (n == r->nf - 2 && n >= 2) {
        *names = calloc(n, sizeof **names);
        if (!*names)
            return oom(err);
        for (size_t i = 0; i < n; i++) {
            size_t len;
            const char *t = trim(r->f[i + 2], &len);
            if (!((*names)[i] = dup_n(t, len)))
                return oom(err);
            (*n_names)++;
        }
        int distinct = nn_csv_names_distinct(*names, n);
        if (distinct < 0)
            return oom(err);
        if (!distinct) { /* names that repeat name no classes (as in csv.c) */
            for (size_t i = 0; i < n; i++)
                free((*names)[i]);
            free(*names);
            *names = NULL;
            *n_names = 0;
            n = 0;
        }
    }
    return note(S->s, err,
                "%s: line %llu is a count line (%llu rows, %llu features%s), skipped "
                "(\"skip_lines\": %ld)",
                S->name, (unsigned long long)r->line, (unsigned long long)rows,
                (unsigned long long)feats, n >= 2 ? ", then class names" : "",
                S->s->skip_lines);
}

/* --- the header -------------------------------------------------------- */

static int decide_header(sniffer *S, nn_error *err)
{
    nn_sniff *s = S->s;
    size_t from = S->first;
    if (from >= S->n_sample) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: no data rows after the count line", S->name);
        return -1;
    }
    const rec *h = &S->sample[from];
    size_t nrows = S->n_sample - from - 1; /* sampled rows after the candidate */
    /* The reader's rule, over the sample: a field that is not a number (nor
     * a missing value) above a column of numbers. */
    for (size_t i = 0; i < h->nf && nrows > 0; i++) {
        if (is_num(h->f[i]) || is_na(h->f[i]))
            continue;
        size_t nums = 0, others = 0;
        for (size_t j = from + 1; j < S->n_sample; j++) {
            const rec *r = &S->sample[j];
            if (i >= r->nf || is_na(r->f[i]))
                continue;
            if (is_num(r->f[i]))
                nums++;
            else
                others++;
        }
        if (nums > 0 && others == 0) {
            s->header = true;
            return note(s, err,
                        "%s: line %llu taken as a header (\"header\": true): field %zu (\"%.60s\") "
                        "is not a number, the rows below it are",
                        S->name, (unsigned long long)h->line, i + 1, h->f[i]);
        }
    }
    bool all_int = h->nf >= 2;
    for (size_t i = 0; i < h->nf && all_int; i++)
        all_int = is_int_text(h->f[i]);
    if (all_int && nrows > 0) {
        /* 0..n-1 or 1..n: the columns counted */
        bool from0 = true, from1 = true;
        for (size_t i = 0; i < h->nf; i++) {
            uint64_t v;
            bool ok = count_value(h->f[i], &v);
            from0 &= ok && v == i;
            from1 &= ok && v == i + 1;
        }
        if (from0 || from1) {
            s->header = true;
            return note(s, err,
                        "%s: line %llu taken as a header (\"header\": true): its fields number "
                        "the columns %s..%zu",
                        S->name, (unsigned long long)h->line, from0 ? "0" : "1",
                        from0 ? h->nf - 1 : h->nf);
        }
        /* integers over columns written with a decimal point: at least
         * half the columns hold only such numbers below */
        size_t decimal_cols = 0;
        for (size_t i = 0; i < h->nf; i++) {
            size_t dec = 0, other = 0;
            for (size_t j = from + 1; j < S->n_sample; j++) {
                const rec *r = &S->sample[j];
                if (i >= r->nf || is_na(r->f[i]))
                    continue;
                if (is_num(r->f[i]) && !is_int_text(r->f[i]))
                    dec++;
                else
                    other++;
            }
            decimal_cols += dec > 0 && other == 0;
        }
        bool distinct = true;
        for (size_t i = 0; i < h->nf && distinct; i++)
            for (size_t j = i + 1; j < h->nf && distinct; j++)
                distinct = strcmp(h->f[i], h->f[j]) != 0;
        if (distinct && 2 * decimal_cols >= h->nf) {
            s->header = true;
            return note(s, err,
                        "%s: line %llu taken as a header (\"header\": true): distinct integers "
                        "over %zu of %zu columns whose values all have a decimal point",
                        S->name, (unsigned long long)h->line, decimal_cols, h->nf);
        }
    }
    s->header = false;
    return note(s, err,
                "%s: no header (\"header\": false): line %llu reads as data like the lines "
                "after it",
                S->name, (unsigned long long)h->line);
}

/* --- the label column ---------------------------------------------------- */

static int column_list(const sniffer *S, char *buf, size_t n)
{
    const nn_sniff *s = S->s;
    size_t k = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < s->ncols && k + 1 < n; i++) {
        int w = s->names ? snprintf(buf + k, n - k, "%s%zu \"%.40s\"", i ? ", " : "", i,
                                    s->names[i])
                         : snprintf(buf + k, n - k, "%s%zu", i ? ", " : "", i);
        if (w < 0 || (size_t)w >= n - k) {
            snprintf(buf + (n > 5 ? n - 5 : 0), n > 5 ? 5 : n, " ...");
            break;
        }
        k += (size_t)w;
    }
    return 0;
}

static int choose_label(sniffer *S, const char *label, nn_error *err)
{
    nn_sniff *s = S->s;
    if (!label) {
        s->label_col = s->ncols - 1;
    } else {
        bool found = false;
        for (size_t i = 0; s->names && i < s->ncols && !found; i++) {
            size_t n;
            const char *t = trim(s->names[i], &n);
            if (strcmp(s->names[i], label) == 0 || (strlen(label) == n && !memcmp(t, label, n))) {
                s->label_col = i;
                found = true;
            }
        }
        if (!found && (is_int_text(label))) {
            long v = strtol(label, NULL, 10);
            if (v < 0)
                v += (long)s->ncols;
            if (v >= 0 && (size_t)v < s->ncols) {
                s->label_col = (size_t)v;
                found = true;
            }
        }
        if (!found) {
            char cols[600];
            column_list(S, cols, sizeof cols);
            nn_error_set(err, NN_EXIT_USAGE, "--label %s: %s has no such column (columns: %s)",
                         label, S->name, cols);
            return -1;
        }
    }
    return 0;
}

/* --- pass 2: every row ------------------------------------------------- */

static uint64_t hash_str(const char *p)
{
    uint64_t h = 1469598103934665603ull;
    for (; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return h;
}

/* Adds the trimmed label to the set (until it is full). */
static int set_add(sniffer *S, const char *f, nn_error *err)
{
    size_t n;
    const char *t = trim(f, &n);
    char key[256];
    if (n >= sizeof key) {
        S->set_full = true; /* a label this long is no class name */
        return 0;
    }
    memcpy(key, t, n);
    key[n] = '\0';
    size_t i = (size_t)hash_str(key) & (S->set_cap - 1);
    for (; S->set[i]; i = (i + 1) & (S->set_cap - 1))
        if (strcmp(S->set[i], key) == 0)
            return 0;
    if (S->n_set >= NN_SNIFF_MAX_CLASSES) {
        S->set_full = true;
        return 0;
    }
    if (!(S->set[i] = dup_n(key, n)))
        return oom(err);
    S->n_set++;
    return 0;
}

typedef struct {
    double v;
    const char *s;
} numkey;

static int cmp_num(const void *a, const void *b)
{
    double x = ((const numkey *)a)->v, y = ((const numkey *)b)->v;
    return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *col_name(const nn_sniff *s, size_t i, char *buf, size_t n)
{
    if (s->names)
        snprintf(buf, n, "%zu (\"%.60s\")", i + 1, s->names[i]);
    else
        snprintf(buf, n, "%zu", i + 1);
    return buf;
}

static int scan_rows(sniffer *S, nn_error *err)
{
    nn_sniff *s = S->s;
    nn_csv *c = nn_csv_open(S->path, s->delimiter, err);
    if (!c)
        return -1;
    S->set_cap = 2048;
    S->set = calloc(S->set_cap, sizeof *S->set);
    if (!S->set) {
        nn_csv_close(c);
        return oom(err);
    }
    uint64_t skip = S->first + (s->header ? 1 : 0);
    int k;
    char cn[96];
    while ((k = nn_csv_next(c, err)) == 1) {
        if (s->comment && is_comment(c))
            continue;
        if (skip > 0) {
            skip--;
            continue;
        }
        size_t nf = nn_csv_nfields(c);
        unsigned long long line = (unsigned long long)nn_csv_line(c);
        if (nf != s->ncols) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s:%llu: expected %zu fields, found %zu",
                         S->name, line, s->ncols, nf);
            goto fail;
        }
        s->rows++;
        bool row_missing = false;
        for (size_t i = 0; i < nf; i++) {
            const char *f = nn_csv_field(c, i);
            if (i == s->label_col)
                continue;
            if (is_na(f)) {
                s->missing_features++;
                row_missing = true;
            } else if (!is_num(f)) {
                nn_error_set(err, NN_EXIT_RUNTIME,
                             "%s:%llu: field %s is not a number: \"%.60s\"; features must be "
                             "numbers (a text column can be the label: --label)",
                             S->name, line, col_name(s, i, cn, sizeof cn), f);
                goto fail;
            }
        }
        s->missing_rows += row_missing;
        const char *lf = nn_csv_field(c, s->label_col);
        if (is_na(lf)) {
            s->missing_labels++;
            continue;
        }
        S->label_text += !is_num(lf);
        if (set_add(S, lf, err) < 0)
            goto fail;
    }
    if (k < 0)
        goto fail;
    nn_csv_close(c);
    return 0;
fail:
    nn_csv_close(c);
    return -1;
}

/* --- the problem ----------------------------------------------------- */

static int decide_problem(sniffer *S, char **cl_names, size_t n_cl_names, nn_error *err)
{
    nn_sniff *s = S->s;
    char cn[96];
    col_name(s, s->label_col, cn, sizeof cn);
    size_t m = 0;
    char **keys = malloc((S->n_set ? S->n_set : 1) * sizeof *keys);
    numkey *nk = malloc((S->n_set ? S->n_set : 1) * sizeof *nk);
    if (!keys || !nk) {
        free(keys);
        free(nk);
        return oom(err);
    }
    for (size_t i = 0; i < S->set_cap; i++)
        if (S->set[i])
            keys[m++] = S->set[i];
    bool numeric = S->label_text == 0, integer = true;
    for (size_t i = 0; i < m && numeric; i++) {
        double v;
        if (nn_csv_parse_number(keys[i], &v) < 0) {
            numeric = false;
            break;
        }
        nk[i].v = v;
        nk[i].s = keys[i];
        integer &= is_int_text(keys[i]) || (v == floor(v) && fabs(v) < 9007199254740992.0);
    }
    int rc = -1;
    if (m == 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: the label column %s is missing in every row",
                     S->name, cn);
        goto out;
    }
    if (m == 1 && !S->set_full) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: the label column %s holds one value only (\"%.60s\"): nothing to "
                     "learn; choose another with --label",
                     S->name, cn, keys[0]);
        goto out;
    }
    if (!numeric) {
        if (S->set_full) {
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "%s: the label column %s holds text with more than %d distinct values: "
                         "too many classes; choose another with --label",
                         S->name, cn, NN_SNIFF_MAX_CLASSES);
            goto out;
        }
        /* text: classes, in the count line's order when it names them all */
        qsort(keys, m, sizeof *keys, cmp_str);
        bool named = n_cl_names >= m;
        for (size_t i = 0; i < m && named; i++) {
            bool in = false;
            for (size_t j = 0; j < n_cl_names && !in; j++)
                in = strcmp(keys[i], cl_names[j]) == 0;
            named = in;
        }
        size_t K = named ? n_cl_names : m;
        s->classes = calloc(K, sizeof *s->classes);
        if (!s->classes) {
            oom(err);
            goto out;
        }
        for (size_t i = 0; i < K; i++) {
            const char *t = named ? cl_names[i] : keys[i];
            if (!(s->classes[i] = dup_n(t, strlen(t)))) {
                oom(err);
                goto out;
            }
            s->n_classes = (int)i + 1;
        }
        rc = note(s, err,
                  "%s: label column %s holds text: classification with %zu classes (%s)",
                  S->name, cn, K,
                  named ? "in the count line's order" : "sorted; \"classes\" lists them");
        goto out;
    }
    qsort(nk, m, sizeof *nk, cmp_num);
    s->label_min = nk[0].v;
    s->label_max = nk[m - 1].v;
    bool few = !S->set_full &&
               (m <= NN_SNIFF_FEW_CLASSES || (double)m * (double)m <= (double)s->rows);
    if (!integer || !few) {
        s->regression = true;
        if (!integer)
            rc = note(s, err,
                      "%s: label column %s holds numbers that are not all integers (%g to %g): "
                      "regression on that column (\"targets\")",
                      S->name, cn, s->label_min, s->label_max);
        else
            rc = note(s, err,
                      "%s: label column %s holds %s%zu distinct integers (%g to %g), too many "
                      "for classes (at most %d, or sqrt(rows)): regression on that column "
                      "(\"targets\"); to classify instead, make it \"label\" with that many "
                      "output units",
                      S->name, cn, S->set_full ? "more than " : "", m, s->label_min,
                      s->label_max, NN_SNIFF_FEW_CLASSES);
        goto out;
    }
    s->int_labels = true;
    /* distinct values, not spellings ("1" and "1.0" are one class) */
    size_t K = 0;
    for (size_t i = 0; i < m; i++)
        K += i == 0 || nk[i].v != nk[i - 1].v;
    bool zero_based = s->label_min == 0 && s->label_max == (double)K - 1;
    /* The count line's class names name labels 0..N-1: label_names, which
     * the config writes as the source's "classes" (a whole-number label k
     * that names no class is the k-th class when no name is a number). */
    bool names_are_numbers = false;
    for (size_t i = 0; i < n_cl_names; i++)
        names_are_numbers |= is_num(cl_names[i]);
    if (n_cl_names >= 2 && !names_are_numbers && s->label_min >= 0 &&
        s->label_max < (double)n_cl_names) {
        if (!(s->label_names = calloc(n_cl_names, sizeof *s->label_names))) {
            oom(err);
            goto out;
        }
        char list[400];
        size_t len = 0;
        list[0] = '\0';
        for (size_t i = 0; i < n_cl_names; i++) {
            if (!(s->label_names[i] = dup_n(cl_names[i], strlen(cl_names[i])))) {
                oom(err);
                goto out;
            }
            s->n_classes = (int)i + 1;
            if (len < sizeof list)
                len += (size_t)snprintf(list + len, sizeof list - len, "%s%zu %s",
                                        i ? ", " : "", i, cl_names[i]);
        }
        rc = note(s, err,
                  "%s: label column %s holds integers 0..%g, which the count line names (%s): "
                  "classification with %zu classes",
                  S->name, cn, s->label_max, list, n_cl_names);
        goto out;
    }
    s->n_classes = (int)K;
    if (n_cl_names >= 2 && (rc = note(s, err,
                                      "%s: the count line's %zu class names do not fit labels "
                                      "%g..%g: not used",
                                      S->name, n_cl_names, s->label_min, s->label_max)) < 0)
        goto out;
    if (zero_based)
        rc = note(s, err,
                  "%s: label column %s holds the integers 0..%zu: classification with %zu "
                  "classes",
                  S->name, cn, K - 1, K);
    else
        rc = note(s, err,
                  "%s: label column %s holds %zu distinct integers (%g to %g): classification "
                  "with %zu classes, the values in increasing order",
                  S->name, cn, K, s->label_min, s->label_max, K);
out:
    free(keys);
    free(nk);
    return rc;
}

static int decide_missing(sniffer *S, nn_error *err)
{
    nn_sniff *s = S->s;
    unsigned long long f = s->missing_features, r = s->missing_rows, l = s->missing_labels;
    if (f > 0) {
        s->missing = "mean";
        if (l > 0)
            return note(s, err,
                        "%s: %llu missing feature values (\"\", NA, NaN, ? or null) in %llu rows: "
                        "\"missing\": \"mean\" fills each with its column's mean over the "
                        "training rows; the %llu rows without a label are left out",
                        S->name, f, r, l);
        return note(s, err,
                    "%s: %llu missing feature values (\"\", NA, NaN, ? or null) in %llu rows: "
                    "\"missing\": \"mean\" fills each with its column's mean over the "
                    "training rows (\"drop\" would leave those rows out)",
                    S->name, f, r);
    }
    if (l > 0) {
        s->missing = "drop";
        return note(s, err,
                    "%s: %llu rows have no label (\"\", NA, NaN, ? or null): \"missing\": "
                    "\"drop\" leaves them out",
                    S->name, l);
    }
    s->missing = "error";
    return note(s, err,
                "%s: no missing values: \"missing\": \"error\" (a missing value met later is "
                "an error)",
                S->name);
}

/* --- the whole ------------------------------------------------------- */

void nn_sniff_free(nn_sniff *s)
{
    if (!s)
        return;
    for (size_t i = 0; s->names && i < s->ncols; i++)
        free(s->names[i]);
    free(s->names);
    for (int i = 0; s->classes && i < s->n_classes; i++)
        free(s->classes[i]);
    for (int i = 0; s->label_names && i < s->n_classes; i++)
        free(s->label_names[i]);
    free(s->label_names);
    free(s->classes);
    for (int i = 0; i < s->n_notes; i++)
        free(s->notes[i]);
    free(s->notes);
    memset(s, 0, sizeof *s);
}

int nn_sniff_csv(nn_sniff *s, const char *path, const char *label, nn_error *err)
{
    memset(s, 0, sizeof *s);
    if (strcmp(path, "-") == 0) {
        nn_error_set(err, NN_EXIT_USAGE, "--init needs a file, not stdin (it reads it twice)");
        return -1;
    }
    sniffer S = {.s = s, .path = path, .name = path};
    char **cl_names = NULL;
    size_t n_cl_names = 0;
    int rc = -1;
    char cn[96];
    if (choose_delimiter(&S, err) < 0 || read_sample(&S, err) < 0 ||
        count_line(&S, &cl_names, &n_cl_names, err) < 0 || decide_header(&S, err) < 0)
        goto out;
    size_t from = S.first;
    s->ncols = body_columns(&S, from + (s->header ? 1 : 0));
    if (s->header) {
        const rec *h = &S.sample[from];
        if (h->nf != s->ncols) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s:%llu: the header has %zu fields, the rows %zu",
                         S.name, (unsigned long long)h->line, h->nf, s->ncols);
            goto out;
        }
        s->names = h->f;
        h = NULL;
        S.sample[from].f = NULL;
        S.sample[from].nf = 0;
    }
    if (s->ncols < 2) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: one column only: --init needs feature columns and a label column",
                     S.name);
        goto out;
    }
    if (S.n_records - from - (s->header ? 1u : 0u) < NN_SNIFF_MIN_ROWS) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: %llu data rows: --init needs at least %d to hold out validation and "
                     "test rows",
                     S.name, (unsigned long long)(S.n_records - from - (s->header ? 1u : 0u)),
                     NN_SNIFF_MIN_ROWS);
        goto out;
    }
    if (choose_label(&S, label, err) < 0 || scan_rows(&S, err) < 0)
        goto out;
    if (note(s, err,
             "%s: %llu rows; label column %s, index %zu%s; the other %zu columns are the "
             "features",
             S.name, (unsigned long long)s->rows, col_name(s, s->label_col, cn, sizeof cn),
             s->label_col, label ? " (--label)" : " (the last; --label chooses another)",
             s->ncols - 1) < 0)
        goto out;
    if (decide_problem(&S, cl_names, n_cl_names, err) < 0 || decide_missing(&S, err) < 0)
        goto out;
    rc = 0;
out:
    for (size_t i = 0; i < n_cl_names; i++)
        free(cl_names[i]);
    free(cl_names);
    for (size_t i = 0; S.sample && i < S.n_sample; i++)
        rec_free(&S.sample[i]);
    free(S.sample);
    for (size_t i = 0; S.set && i < S.set_cap; i++)
        free(S.set[i]);
    free(S.set);
    if (rc < 0)
        nn_sniff_free(s);
    return rc;
}
