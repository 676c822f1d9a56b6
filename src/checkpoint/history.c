/* history.c - the per-epoch history of metrics kept in the checkpoint
 * (checkpoint.h: nn_history; v4.c stores it as section HIST). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint/checkpoint.h"

static int no_memory(nn_error *err)
{
    nn_error_set(err, NN_EXIT_RUNTIME, "out of memory for the history of metrics");
    return -1;
}

int nn_history_init(nn_history *h, const char *const *names, int n_metrics, nn_error *err)
{
    memset(h, 0, sizeof *h);
    h->stride = 1;
    if (n_metrics <= 0)
        return 0;
    h->names = calloc((size_t)n_metrics, sizeof *h->names);
    if (!h->names)
        return no_memory(err);
    h->n_metrics = n_metrics;
    for (int i = 0; i < n_metrics; i++)
        if (!(h->names[i] = strdup(names[i]))) {
            nn_history_free(h);
            return no_memory(err);
        }
    return 0;
}

static int reserve(nn_history *h, size_t need, nn_error *err)
{
    if (need <= h->cap)
        return 0;
    size_t cap = h->cap ? h->cap * 2 : 64;
    if (cap < need)
        cap = need;
    if (cap > NN_HIST_MAX_RECORDS + 1)
        cap = NN_HIST_MAX_RECORDS + 1;
    int64_t *e = realloc(h->epochs, cap * sizeof *e);
    if (!e)
        return no_memory(err);
    h->epochs = e;
    double *v = realloc(h->values, cap * (size_t)h->n_metrics * sizeof *v);
    if (!v)
        return no_memory(err);
    h->values = v;
    h->cap = cap;
    return 0;
}

int nn_history_add(nn_history *h, int64_t epoch, const double *values, nn_error *err)
{
    if (h->n_metrics <= 0 || epoch < 1 || (h->n && epoch <= h->epochs[h->n - 1]))
        return 0; /* nothing to keep, or not after the last: kept as it is */
    if (h->n && h->epochs[h->n - 1] % h->stride != 0)
        h->n--; /* the latest epoch, kept only until the next one */
    if (reserve(h, h->n + 1, err) < 0)
        return -1;
    size_t M = (size_t)h->n_metrics;
    h->epochs[h->n] = epoch;
    memcpy(h->values + h->n * M, values, M * sizeof *values);
    h->n++;
    if (h->n <= NN_HIST_MAX_RECORDS)
        return 0;
    h->stride *= 2;
    size_t kept = 0;
    for (size_t i = 0; i < h->n; i++) {
        if (h->epochs[i] % h->stride != 0 && i + 1 < h->n)
            continue;
        h->epochs[kept] = h->epochs[i];
        memmove(h->values + kept * M, h->values + i * M, M * sizeof *values);
        kept++;
    }
    h->n = kept;
    return 0;
}

int nn_history_find(const nn_history *h, const char *name)
{
    for (int i = 0; i < h->n_metrics; i++)
        if (strcmp(h->names[i], name) == 0)
            return i;
    return -1;
}

bool nn_history_same_metrics(const nn_history *h, const char *const *names, int n_metrics)
{
    if (h->n_metrics != n_metrics)
        return false;
    for (int i = 0; i < n_metrics; i++)
        if (strcmp(h->names[i], names[i]) != 0)
            return false;
    return true;
}

int nn_history_check(const nn_history *h, char *what, size_t cap)
{
    if (h->n_metrics == 0 && h->n == 0 && h->stride == 0)
        return 0; /* a zeroed struct: no history */
    if (h->n_metrics < 0 || h->n_metrics > NN_HIST_MAX_METRICS) {
        snprintf(what, cap, "history of %d metrics, not in 0..%d", h->n_metrics,
                 NN_HIST_MAX_METRICS);
        return -1;
    }
    if (h->n > NN_HIST_MAX_RECORDS || (h->n_metrics == 0 && h->n > 0) ||
        (h->n && (!h->epochs || !h->values)) || (h->n_metrics && !h->names)) {
        snprintf(what, cap, "history of %zu epochs of %d metrics", h->n, h->n_metrics);
        return -1;
    }
    for (int i = 0; i < h->n_metrics; i++) {
        const char *s = h->names[i];
        size_t len = s ? strlen(s) : 0;
        bool ok = len >= 1 && len <= NN_HIST_MAX_NAME;
        for (size_t k = 0; ok && k < len; k++)
            ok = (s[k] >= 'a' && s[k] <= 'z') || (s[k] >= '0' && s[k] <= '9') || s[k] == '_';
        for (int j = 0; ok && j < i; j++)
            ok = strcmp(h->names[j], s) != 0;
        if (!ok) {
            snprintf(what, cap, "history metric %d has a bad or repeated name", i + 1);
            return -1;
        }
    }
    if (h->stride < 1 || h->stride > ((int64_t)1 << 40) || (h->stride & (h->stride - 1))) {
        snprintf(what, cap, "history stride %lld is not a power of two up to 2^40",
                 (long long)h->stride);
        return -1;
    }
    for (size_t i = 0; i < h->n; i++) {
        int64_t e = h->epochs[i];
        if (e < 1 || (i && e <= h->epochs[i - 1]) || (i + 1 < h->n && e % h->stride != 0)) {
            snprintf(what, cap, "history record %zu has epoch %lld (stride %lld)", i + 1,
                     (long long)e, (long long)h->stride);
            return -1;
        }
    }
    return 0;
}

void nn_history_free(nn_history *h)
{
    for (int i = 0; h->names && i < h->n_metrics; i++)
        free(h->names[i]);
    free(h->names);
    free(h->epochs);
    free(h->values);
    memset(h, 0, sizeof *h);
}
