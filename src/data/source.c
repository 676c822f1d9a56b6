/* source.c - a data source loaded through its format's table entry, and a source
 * made from a command-line SPEC (see source.h). */
#include "data/source.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/format.h"

const char *nn_source_name(const nn_source *s)
{
    return s->file_path;
}

bool nn_source_has_targets(const nn_source *s)
{
    return s->format == NN_FORMAT_CSV ? !s->csv.has_label
                                      : s->format == NN_FORMAT_NPY && s->npy_targets;
}

const char *nn_source_labels_name(const nn_source *s)
{
    return s->format == NN_FORMAT_CSV ? s->file_path : s->labels_path;
}

int nn_source_load(nn_dataset *d, nn_data_layout *layout, const nn_source *s,
                   char *const *classes, int n_classes, bool integer_classes, nn_error *err)
{
    const nn_format *f = nn_format_get(s->format);
    if (!f) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: unknown data format %d", nn_source_name(s),
                     (int)s->format);
        return -1;
    }
    if (f->load(d, layout, s, classes, n_classes, err) < 0)
        return -1;
    if (integer_classes && !classes && d->class_names) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: labels such as \"%s\" are not whole numbers, but the model was "
                     "trained on whole-number labels",
                     s->file_path, d->class_names[0]);
        nn_dataset_free(d);
        return -1;
    }
    return 0;
}

int nn_source_load_opts(nn_dataset *d, nn_data_layout *layout, const nn_source *s,
                        const nn_csv_opts *o, nn_error *err)
{
    if (s->format != NN_FORMAT_CSV)
        return nn_source_load(d, layout, s, o->classes, o->n_classes, o->integer_classes, err);
    if (o->info)
        memset(o->info, 0, sizeof *o->info);
    if (nn_csv_read_opts(d, layout, s->file_path, &s->csv, o, err) < 0)
        return -1;
    if (o->integer_classes && !o->classes && d->class_names) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: labels such as \"%s\" are not whole numbers, but the model was "
                     "trained on whole-number labels",
                     s->file_path, d->class_names[0]);
        nn_dataset_free(d);
        if (layout)
            nn_data_layout_free(layout);
        return -1;
    }
    return 0;
}

static char *dup_or_null(const char *s, bool *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

/* The CSV options a file laid out like the training data (l) needs. */
static char **dup_strings(char *const *v, int n, bool *oom)
{
    if (!v || n <= 0)
        return NULL;
    char **out = calloc((size_t)n, sizeof *out);
    if (!out) {
        *oom = true;
        return NULL;
    }
    for (int i = 0; i < n; i++)
        out[i] = dup_or_null(v[i], oom);
    return out;
}

static void free_strings(char **v, int n)
{
    for (int i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static void spec_from_layout(nn_csv_spec *sp, const nn_data_layout *l, bool *oom)
{
    sp->header = l->header ? NN_HEADER_YES : NN_HEADER_NO;
    sp->delimiter = l->delimiter;
    sp->missing = (nn_missing)l->missing;
    if (l->na_values) {
        sp->has_na = true;
        sp->na_values = dup_strings(l->na_values, l->n_na, oom);
        sp->n_na = sp->na_values ? l->n_na : 0;
    }
    if (l->n_targets > 0) {
        sp->targets = calloc((size_t)l->n_targets, sizeof *sp->targets);
        if (!sp->targets) {
            *oom = true;
            return;
        }
        sp->n_targets = l->n_targets;
        for (int i = 0; i < l->n_targets; i++) {
            long col = l->target_cols[i];
            sp->targets[i].index = col;
            sp->targets[i].name = l->names ? dup_or_null(l->names[col], oom) : NULL;
        }
    } else if (l->label_col >= 0) {
        sp->has_label = true;
        sp->label.index = l->label_col;
        sp->label.name = l->names ? dup_or_null(l->names[l->label_col], oom) : NULL;
    }
}

static void spec_copy(nn_csv_spec *to, const nn_csv_spec *from, bool *oom)
{
    *to = *from;
    to->label.name = dup_or_null(from->label.name, oom);
    to->na_values = dup_strings(from->na_values, from->n_na, oom);
    to->n_na = to->na_values ? from->n_na : 0;
    to->class_list = dup_strings(from->class_list, from->n_class_list, oom);
    to->n_class_list = to->class_list ? from->n_class_list : 0;
    to->targets = NULL;
    to->n_targets = 0;
    if (from->n_targets > 0) {
        to->targets = calloc((size_t)from->n_targets, sizeof *to->targets);
        if (!to->targets) {
            *oom = true;
            return;
        }
        to->n_targets = from->n_targets;
        for (int i = 0; i < from->n_targets; i++) {
            to->targets[i].index = from->targets[i].index;
            to->targets[i].name = dup_or_null(from->targets[i].name, oom);
        }
    }
}

int nn_source_check_spec(const char *spec, nn_error *err)
{
    const char *comma = strchr(spec, ',');
    if (comma && access(spec, F_OK) != 0 &&
        (comma == spec || !comma[1] || strchr(comma + 1, ','))) {
        nn_error_set(err, NN_EXIT_USAGE,
                     "--data %s: expected IMAGES,LABELS (two IDX files), X.npy,Y.npy (two NPY "
                     "arrays) or one CSV, IDX or NPY file",
                     spec);
        return -1;
    }
    return 0;
}

int nn_source_from_spec(nn_source *s, const char *spec, const nn_data_layout *trained,
                        const nn_source *like, bool need_labels, nn_error *err)
{
    memset(s, 0, sizeof *s);
    bool oom = false;
    const char *comma = strchr(spec, ',');
    if (nn_source_check_spec(spec, err) < 0)
        return -1;
    if (comma && access(spec, F_OK) != 0) {
        s->format = NN_FORMAT_IDX;
        s->file = strndup(spec, (size_t)(comma - spec));
        s->labels = dup_or_null(comma + 1, &oom);
        s->file_path = s->file ? dup_or_null(s->file, &oom) : NULL;
        s->labels_path = dup_or_null(comma + 1, &oom);
        oom |= !s->file;
        /* X.npy,Y.npy: the first file's bytes tell (one that cannot be read
         * stays an IDX pair, whose loading names the problem) */
        nn_error ignored = {0};
        const nn_format *f = s->file ? nn_format_of_file(s->file, &ignored) : NULL;
        if (f && f->kind == NN_FORMAT_NPY) {
            s->format = NN_FORMAT_NPY;
            s->npy_targets = (like && nn_source_has_targets(like)) ||
                             (trained && trained->n_targets > 0);
            s->parts = calloc(1, sizeof *s->parts);
            if (s->parts) {
                s->n_parts = 1;
                s->parts[0].x = dup_or_null(s->file, &oom);
                s->parts[0].x_path = dup_or_null(s->file, &oom);
                s->parts[0].y = dup_or_null(s->labels, &oom);
                s->parts[0].y_path = dup_or_null(s->labels, &oom);
            } else {
                oom = true;
            }
        }
    } else {
        const nn_format *f = nn_format_of_file(spec, err);
        if (!f)
            return -1;
        bool idx = f->kind == NN_FORMAT_IDX || f->kind == NN_FORMAT_NPY;
        if (idx && need_labels) {
            nn_error_set(err, NN_EXIT_USAGE, f->kind == NN_FORMAT_IDX
                             ? "--data %s: an IDX images file needs its labels: give IMAGES,LABELS"
                             : "--data %s: an NPY array needs its labels or targets: give "
                               "X.npy,Y.npy",
                         spec);
            return -1;
        }
        s->format = f->kind;
        s->file = dup_or_null(spec, &oom);
        s->file_path = dup_or_null(spec, &oom);
        if (!idx) {
            if (like && like->format == NN_FORMAT_CSV) {
                spec_copy(&s->csv, &like->csv, &oom);
            } else if (trained && trained->format == NN_FORMAT_CSV) {
                spec_from_layout(&s->csv, trained, &oom);
            } else {
                s->csv.header = NN_HEADER_AUTO;
                s->csv.delimiter = ',';
                s->csv.has_label = true;
                s->csv.label.index = -1;
            }
        }
    }
    if (oom) {
        nn_source_clear(s);
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        return -1;
    }
    return 0;
}

void nn_source_clear(nn_source *s)
{
    for (int i = 0; s->parts && i < s->n_parts; i++) {
        free(s->parts[i].x);
        free(s->parts[i].x_path);
        free(s->parts[i].y);
        free(s->parts[i].y_path);
    }
    free(s->parts);
    free(s->file);
    free(s->labels);
    free(s->file_path);
    free(s->labels_path);
    free(s->csv.label.name);
    for (int i = 0; i < s->csv.n_targets; i++)
        free(s->csv.targets[i].name);
    free(s->csv.targets);
    free_strings(s->csv.na_values, s->csv.n_na);
    free_strings(s->csv.class_list, s->csv.n_class_list);
    memset(s, 0, sizeof *s);
}
