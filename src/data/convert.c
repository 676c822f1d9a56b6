/* convert.c - a source written as NPY arrays (see convert.h). */
#include "data/convert.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/npy.h"
#include "data/source.h"

enum { OUT_X, OUT_Y, OUT_CLASSES, N_OUT };
static const char *const suffix[N_OUT] = {"-x.npy", "-y.npy", "-classes.json"};

typedef struct {
    char *path[N_OUT]; /* the final names */
    char *tmp[N_OUT];  /* the temporary names, while they exist */
} outputs;

static void drop_temps(outputs *o)
{
    for (int i = 0; i < N_OUT; i++) {
        if (o->tmp[i])
            unlink(o->tmp[i]);
        free(o->tmp[i]);
        free(o->path[i]);
        o->tmp[i] = o->path[i] = NULL;
    }
}

/* A new temporary file beside o->path[i], open for writing. */
static FILE *open_temp(outputs *o, int i, nn_error *err)
{
    size_t len = strlen(o->path[i]) + 48;
    o->tmp[i] = malloc(len);
    if (!o->tmp[i]) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        return NULL;
    }
    int fd = -1;
    for (int k = 0; k < 100 && fd < 0; k++) {
        snprintf(o->tmp[i], len, "%s.tmp.%ld.%d", o->path[i], (long)getpid(), k);
        fd = open(o->tmp[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %s", o->path[i], strerror(errno));
        free(o->tmp[i]);
        o->tmp[i] = NULL;
        return NULL;
    }
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %s", o->path[i], strerror(errno));
        close(fd);
    }
    return f;
}

/* Flushes, syncs and closes f; `ok` false (a failed write) is an error. */
static int close_temp(outputs *o, int i, FILE *f, bool ok, nn_error *err)
{
    int e = ok ? 0 : (errno ? errno : EIO);
    if (!e && (fflush(f) != 0 || fsync(fileno(f)) != 0))
        e = errno ? errno : EIO;
    if (fclose(f) != 0 && !e)
        e = errno ? errno : EIO;
    if (e) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: write failed: %s", o->path[i], strerror(e));
        return -1;
    }
    return 0;
}

static const char *descr_of(nn_dtype t)
{
    switch (t) {
    case NN_DT_U8: return "|u1";
    case NN_DT_I8: return "|i1";
    case NN_DT_I16: return "<i2";
    case NN_DT_I32: return "<i4";
    case NN_DT_F32: return "<f4";
    case NN_DT_F64: return "<f8";
    }
    return "<f8";
}

static int write_array(outputs *o, int i, const char *descr, int ndim, const uint64_t *shape,
                       const void *data, nn_error *err)
{
    FILE *f = open_temp(o, i, err);
    if (!f)
        return -1;
    errno = 0;
    bool ok = nn_npy_write_stream(f, descr, ndim, shape, data) == 0;
    return close_temp(o, i, f, ok, err);
}

static int write_classes(outputs *o, const nn_dataset *d, nn_error *err)
{
    cJSON *a = cJSON_CreateArray();
    bool ok = a != NULL;
    for (int k = 0; ok && k < d->n_classes; k++) {
        cJSON *e = cJSON_CreateString(d->class_names[k]);
        ok = e && cJSON_AddItemToArray(a, e);
        if (!ok)
            cJSON_Delete(e);
    }
    char *text = ok ? cJSON_PrintUnformatted(a) : NULL;
    cJSON_Delete(a);
    if (!text) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        return -1;
    }
    FILE *f = open_temp(o, OUT_CLASSES, err);
    if (!f) {
        free(text);
        return -1;
    }
    errno = 0;
    size_t n = strlen(text);
    ok = fwrite(text, 1, n, f) == n && fputc('\n', f) != EOF;
    free(text);
    return close_temp(o, OUT_CLASSES, f, ok, err);
}

/* An NPY pair given on the command line: a float second array is targets. */
static int npy_pair_kind(nn_source *s, nn_error *err)
{
    nn_npy_file y;
    if (nn_npy_open(&y, s->parts[0].y_path, 0, err) < 0)
        return -1;
    nn_npy_dtype t = y.h.dtype;
    s->npy_targets = t == NN_NPY_F2 || t == NN_NPY_F4 || t == NN_NPY_F8;
    nn_npy_close(&y);
    return 0;
}

int nn_convert(const char *spec, const char *prefix, nn_convert_info *info, nn_error *err)
{
    memset(info, 0, sizeof *info);
    nn_source s;
    nn_dataset d = {0};
    outputs o = {{0}, {0}};
    int rc = -1;
    if (nn_source_from_spec(&s, spec, NULL, NULL, true, err) < 0)
        return -1;
    if (s.format == NN_FORMAT_NPY && npy_pair_kind(&s, err) < 0)
        goto out;
    if (nn_source_load(&d, NULL, &s, NULL, 0, false, err) < 0)
        goto out;
    for (int i = 0; i < N_OUT; i++) {
        size_t len = strlen(prefix) + strlen(suffix[i]) + 1;
        if (!(o.path[i] = malloc(len))) {
            nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
            goto out;
        }
        snprintf(o.path[i], len, "%s%s", prefix, suffix[i]);
    }

    /* the samples: shaped like the images file when it had more dimensions */
    uint64_t shape[9];
    int ndim = 2;
    shape[0] = d.n;
    shape[1] = d.features;
    uint64_t prod = 1;
    for (int k = 1; k < d.ndim && k < 8; k++)
        prod *= d.dims[k];
    if (d.ndim == 1 && d.features == 1) {
        ndim = 1;
    } else if (d.ndim > 2 && d.ndim <= 8 && prod == d.features && d.dims[0] == d.n) {
        ndim = d.ndim;
        for (int k = 1; k < d.ndim; k++)
            shape[k] = d.dims[k];
    }
    const char *xd = descr_of(d.type);
    if (write_array(&o, OUT_X, xd, ndim, shape, d.x, err) < 0)
        goto out;
    if (d.targets) {
        uint64_t ys[2] = {d.n, (uint64_t)d.n_targets};
        if (write_array(&o, OUT_Y, "<f4", 2, ys, d.targets, err) < 0)
            goto out;
    } else {
        uint64_t ys[1] = {d.n};
        if (write_array(&o, OUT_Y, "<i4", 1, ys, d.labels, err) < 0)
            goto out;
    }
    if (d.class_names && write_classes(&o, &d, err) < 0)
        goto out;
    /* every file is complete: now they take their names */
    for (int i = 0; i < N_OUT; i++) {
        if (!o.tmp[i])
            continue;
        if (rename(o.tmp[i], o.path[i]) < 0) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: %s", o.path[i], strerror(errno));
            goto out;
        }
        free(o.tmp[i]);
        o.tmp[i] = NULL;
    }
    info->rows = d.n;
    info->features = d.features;
    info->n_targets = d.n_targets;
    info->n_classes = d.targets ? 0 : d.n_classes;
    info->classes_file = d.class_names != NULL;
    snprintf(info->x_descr, sizeof info->x_descr, "%s", xd);
    rc = 0;
out:
    drop_temps(&o);
    nn_dataset_free(&d);
    nn_source_clear(&s);
    return rc;
}
