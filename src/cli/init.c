/* init.c - `nntrain --init DATA [--label COLUMN] [-o FILE]`: a complete
 * config for a CSV file, from what the sniffer (data/sniff.h) finds in it
 * and defaults chosen for that problem, every choice explained in a note
 * on stderr.
 *
 * Every key the training needs is written explicitly, so the config does
 * not change meaning when a default does.  Paths in the config are relative
 * to its folder: with -o FILE the data path is rewritten relative to FILE's
 * folder (an absolute path stays absolute); on stdout it stays as given,
 * relative to the current folder.  -o writes the whole file or nothing (a
 * temporary file in the same folder, fsync, then a hard link to FILE, which
 * fails when FILE exists: a config is never overwritten). */
#define _XOPEN_SOURCE 700 /* realpath */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "data/csv.h"
#include "data/sniff.h"

/* The problem's defaults, chosen from the sniffed layout. */
typedef struct {
    int hidden[2];
    int n_hidden;
    int out_units;
    const char *out_act, *loss;
    double lr;
    int epochs, batch, patience;
    double val, test;
} choices;

static int note_line(FILE *f, bool quiet, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int note_line(FILE *f, bool quiet, const char *fmt, ...)
{
    if (quiet)
        return 0;
    va_list ap;
    va_start(ap, fmt);
    fputs("nntrain: note: ", f);
    vfprintf(f, fmt, ap);
    fputc('\n', f);
    va_end(ap);
    return 0;
}

static int next_pow2(int v)
{
    int p = 1;
    while (p < v && p < (1 << 20))
        p <<= 1;
    return p;
}

static void choose(const nn_sniff *s, choices *c, FILE *diag, bool quiet)
{
    int nfeat = (int)(s->ncols - 1 < 65536 ? s->ncols - 1 : 65536);
    int h = next_pow2(2 * nfeat);
    h = h < 32 ? 32 : h > 256 ? 256 : h;
    c->hidden[0] = h;
    c->n_hidden = 1;
    if (nfeat > 32) {
        c->hidden[1] = h / 2 < 32 ? 32 : h / 2;
        c->n_hidden = 2;
        note_line(diag, quiet,
                  "model: %d features: two relu hidden layers of %d and %d units (the first "
                  "about twice the features, a power of two from 32 to 256)",
                  nfeat, c->hidden[0], c->hidden[1]);
    } else {
        note_line(diag, quiet,
                  "model: %d features: one relu hidden layer of %d units (about twice the "
                  "features, a power of two from 32 to 256; a second layer from 33 features)",
                  nfeat, h);
    }
    if (s->regression) {
        c->out_units = 1;
        c->out_act = "identity";
        c->loss = "mse";
        note_line(diag, quiet,
                  "model: regression: one identity output unit with the mse loss, the target "
                  "standardised for training (\"scale_targets\": true) and reported in its "
                  "own units");
    } else {
        c->out_units = s->n_classes;
        c->out_act = "softmax";
        c->loss = "cross_entropy";
        if (s->n_classes == 2)
            note_line(diag, quiet,
                      "model: 2 classes: a softmax output of 2 units with cross_entropy (the "
                      "same model as one sigmoid unit with binary_cross_entropy, with a score "
                      "per class)");
        else
            note_line(diag, quiet,
                      "model: %d classes: a softmax output of %d units with cross_entropy",
                      s->n_classes, s->n_classes);
    }
    c->lr = 0.001;
    c->batch = 32;
    /* about 10,000 steps at most, within 50..500 epochs; early stopping
     * ends most runs sooner */
    double train_rows = (double)s->rows * 0.7;
    double steps = train_rows / c->batch;
    if (steps < 1)
        steps = 1;
    int e = (int)(10000 / steps) / 10 * 10; /* a round number */
    c->epochs = e < 50 ? 50 : e > 500 ? 500 : e;
    c->patience = c->epochs / 10 < 10 ? 10 : c->epochs / 10 > 50 ? 50 : c->epochs / 10;
    note_line(diag, quiet,
              "training: adam (learning rate 0.001), batches of 32, inputs standardised "
              "(\"scale\": \"standard\"), up to %d epochs",
              c->epochs);
    if (s->rows >= 10000) {
        c->val = 0.1;
        c->test = 0.1;
    } else {
        c->val = 0.15;
        c->test = 0.2;
    }
    note_line(diag, quiet,
              "splits: %g%% of the rows held out for validation, with early stopping after %d "
              "epochs without a better validation loss and the best epoch kept (\"keep_best\"); "
              "%g%% held out as test rows for --eval (\"test_fraction\")",
              c->val * 100, c->patience, c->test * 100);
}

/* --- JSON text ---------------------------------------------------------- */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\r')
            fputs("\\r", f);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* The column as the config names it: the header name when it is unique,
 * else the 0-based index. */
static void json_column(FILE *f, const nn_sniff *s, size_t col)
{
    bool unique = s->names != NULL && s->names[col][0] != '\0';
    for (size_t i = 0; unique && i < s->ncols; i++)
        unique = i == col || strcmp(s->names[i], s->names[col]) != 0;
    if (unique)
        json_str(f, s->names[col]);
    else
        fprintf(f, "%zu", col);
}

static void write_config(FILE *f, const nn_sniff *s, const choices *c, const char *data_path,
                         const char *ckpt)
{
    fputs("{\n  \"seed\": 1,\n  \"data\": {\n    \"train\": {\n      \"path\": ", f);
    json_str(f, data_path);
    fputs(",\n      \"delimiter\": ", f);
    json_str(f, nn_sniff_delimiter_name(s->delimiter));
    fprintf(f, ",\n      \"skip_lines\": %ld,\n", s->skip_lines);
    if (s->comment)
        fprintf(f, "      \"comment\": \"%c\",\n", s->comment);
    fprintf(f, "      \"header\": %s,\n", s->header ? "true" : "false");
    if (s->regression) {
        fputs("      \"targets\": [", f);
        json_column(f, s, s->label_col);
        fputs("],\n", f);
    } else {
        fputs("      \"label\": ", f);
        json_column(f, s, s->label_col);
        fputs(",\n", f);
        /* text labels' classes, or the count line's names of integer labels
         * 0..K-1 (a whole-number label k names the k-th class when no name
         * is a number) */
        char *const *names = s->classes ? s->classes : s->label_names;
        if (names) {
            fputs("      \"classes\": [", f);
            for (int i = 0; i < s->n_classes; i++) {
                fputs(i ? ", " : "", f);
                json_str(f, names[i]);
            }
            fputs("],\n", f);
        }
    }
    fputs("      \"na_values\": [", f);
    for (int i = 0; i < nn_sniff_n_na_values; i++) {
        fputs(i ? ", " : "", f);
        json_str(f, nn_sniff_na_values[i]);
    }
    fprintf(f, "],\n      \"missing\": \"%s\"\n    },\n", s->missing);
    fprintf(f, "    \"validation_fraction\": %g,\n    \"test_fraction\": %g,\n", c->val, c->test);
    fputs("    \"scale\": \"standard\"", f);
    if (s->regression)
        fputs(",\n    \"scale_targets\": true", f);
    fputs("\n  },\n  \"model\": {\"layers\": [\n", f);
    for (int i = 0; i < c->n_hidden; i++)
        fprintf(f, "    {\"units\": %d, \"activation\": \"relu\"},\n", c->hidden[i]);
    fprintf(f, "    {\"units\": %d, \"activation\": \"%s\"}\n  ]},\n", c->out_units, c->out_act);
    fprintf(f, "  \"loss\": \"%s\",\n", c->loss);
    fprintf(f, "  \"optimizer\": {\"name\": \"adam\", \"learning_rate\": %g},\n", c->lr);
    fprintf(f,
            "  \"training\": {\n    \"epochs\": %d,\n    \"batch_size\": %d,\n"
            "    \"shuffle\": true,\n    \"early_stopping\": {\"patience\": %d, \"min_delta\": 0}\n"
            "  },\n",
            c->epochs, c->batch, c->patience);
    fputs("  \"checkpoint\": {\"path\": ", f);
    json_str(f, ckpt);
    fputs(", \"every_epochs\": 1, \"keep_best\": true}\n}\n", f);
}

/* --- paths -------------------------------------------------------------- */

/* The folder part of path ("." when it has none), malloc'd. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    char *d = strndup(path, (size_t)(slash - path));
    return d;
}

/* data's path relative to the folder out_dir (both as given, relative to
 * the current folder or absolute), malloc'd; NULL with *err. */
static char *relative_to(const char *data, const char *out_dir, nn_error *err)
{
    if (data[0] == '/')
        return strdup(data);
    char *ddir = dir_of(data);
    const char *base = strrchr(data, '/') ? strrchr(data, '/') + 1 : data;
    char *a = ddir ? realpath(ddir, NULL) : NULL;
    char *b = realpath(out_dir, NULL);
    char *res = NULL;
    if (!a || !b) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %s", a ? out_dir : ddir ? ddir : data,
                     strerror(errno));
        goto out;
    }
    /* the common leading folders: up to the last '/' where they part,
     * or where both end or reach a '/' together */
    size_t i = 0;
    while (a[i] && a[i] == b[i])
        i++;
    size_t common = i;
    if (!((a[i] == '\0' || a[i] == '/') && (b[i] == '\0' || b[i] == '/')))
        while (common > 0 && a[common] != '/')
            common--;
    /* one ".." for each of b's folders after the common part */
    size_t ups = 0;
    for (const char *p = b + common; *p;) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        ups++;
        while (*p && *p != '/')
            p++;
    }
    const char *rest = a + common;
    while (*rest == '/')
        rest++;
    size_t n = ups * 3 + strlen(rest) + 1 + strlen(base) + 1;
    res = malloc(n);
    if (!res) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        goto out;
    }
    res[0] = '\0';
    for (size_t k = 0; k < ups; k++)
        strcat(res, "../");
    if (*rest) {
        strcat(res, rest);
        strcat(res, "/");
    }
    strcat(res, base);
out:
    free(ddir);
    free(a);
    free(b);
    return res;
}

/* "runs/<stem>.ckpt": the data file's name without .gz and its extension. */
static char *checkpoint_path(const char *data)
{
    const char *base = strrchr(data, '/') ? strrchr(data, '/') + 1 : data;
    size_t n = strlen(base);
    if (n > 3 && strcmp(base + n - 3, ".gz") == 0)
        n -= 3;
    for (size_t k = n; k > 1; k--)
        if (base[k - 1] == '.') {
            n = k - 1;
            break;
        }
    char *p = malloc(n + 16);
    if (p)
        snprintf(p, n + 16, "runs/%.*s.ckpt", (int)n, base);
    return p;
}

/* Writes text to path whole or not at all, never over an existing file. */
static int write_new_file(const char *path, const char *text, size_t n, nn_error *err)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 48);
    if (!tmp) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        return -1;
    }
    int fd = -1;
    for (int k = 0; k < 100 && fd < 0; k++) {
        snprintf(tmp, plen + 48, "%s.tmp.%ld.%d", path, (long)getpid(), k);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: cannot create: %s", path, strerror(errno));
        free(tmp);
        return -1;
    }
    const char *p = text;
    size_t left = n;
    int e = 0;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            e = w < 0 ? errno : EIO;
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    if (!e && fsync(fd) != 0 && errno != EINVAL)
        e = errno;
    if (close(fd) != 0 && !e)
        e = errno;
    if (!e && link(tmp, path) != 0) {
        e = errno;
        if (e == EPERM || e == ENOTSUP || e == EOPNOTSUPP || e == ENOSYS) {
            /* a file system without hard links: check, then rename */
            struct stat st;
            e = lstat(path, &st) == 0 ? EEXIST : rename(tmp, path) == 0 ? 0 : errno;
        }
    }
    unlink(tmp);
    free(tmp);
    if (e == EEXIST) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: already exists; --init does not overwrite a file (remove it or "
                     "choose another -o)",
                     path);
        return -1;
    }
    if (e) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: cannot write: %s", path, strerror(e));
        return -1;
    }
    return 0;
}

int nn_cli_init(const char *data, const char *label, const char *out_path,
                const nn_run_opts *o, nn_error *err)
{
    struct stat st;
    if (out_path && lstat(out_path, &st) == 0) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: already exists; --init does not overwrite a file (remove it or "
                     "choose another -o)",
                     out_path);
        return -1;
    }
    nn_sniff s;
    if (nn_sniff_csv(&s, data, label, err) < 0)
        return -1;
    int rc = -1;
    char *path = NULL, *ckpt = NULL, *text = NULL, *out_dir = NULL;
    size_t n = 0;
    FILE *mem = NULL;
    if (out_path) {
        if (!(out_dir = dir_of(out_path)) || !(path = relative_to(data, out_dir, err)))
            goto out;
    } else if (!(path = strdup(data))) {
        goto oom;
    }
    if (!(ckpt = checkpoint_path(data)))
        goto oom;
    for (int i = 0; i < s.n_notes; i++)
        note_line(o->diag, o->quiet, "%s", s.notes[i]);
    choices c;
    choose(&s, &c, o->diag, o->quiet);
    if (!(mem = open_memstream(&text, &n)))
        goto oom;
    write_config(mem, &s, &c, path, ckpt);
    if (fclose(mem) != 0) {
        mem = NULL;
        goto oom;
    }
    mem = NULL;
    if (out_path) {
        if (write_new_file(out_path, text, n, err) < 0)
            goto out;
        note_line(o->diag, o->quiet,
                  "wrote %s (data and checkpoint paths relative to its folder); train with: "
                  "nntrain %s",
                  out_path, out_path);
    } else {
        fwrite(text, 1, n, o->out);
        note_line(o->diag, o->quiet,
                  "config on stdout (paths relative to the current folder): save it, e.g. "
                  "nntrain --init %s > c.json, and train with: nntrain c.json",
                  data);
    }
    rc = 0;
    goto out;
oom:
    nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
out:
    if (mem)
        fclose(mem);
    free(text);
    free(path);
    free(ckpt);
    free(out_dir);
    nn_sniff_free(&s);
    return rc;
}
