#include "eval/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/loss.h"

int nn_acc_init(nn_acc *a, int K, bool regression, bool want_confusion, nn_error *err)
{
    memset(a, 0, sizeof *a);
    a->K = K;
    a->regression = regression;
    a->classes = K > 1 ? K : 2;
    bool ok = true;
    if (regression) {
        a->mean = calloc((size_t)K, sizeof(double));
        a->m2 = calloc((size_t)K, sizeof(double));
        a->sse = calloc((size_t)K, sizeof(double));
        a->sae = calloc((size_t)K, sizeof(double));
        ok = a->mean && a->m2 && a->sse && a->sae;
        if (ok && want_confusion) {
            a->points = malloc(sizeof(float) * 2 * (size_t)K * (NN_ACC_MAX_POINTS + 1));
            a->point_stride = 1;
            ok = a->points != NULL;
        }
    } else if (want_confusion) {
        a->confusion = calloc((size_t)a->classes * (size_t)a->classes, sizeof(size_t));
        ok = a->confusion != NULL;
    }
    if (!ok) {
        nn_acc_free(a);
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory for metrics");
        return -1;
    }
    return 0;
}

/* Sample `index` (from 0) as a point of the scatter plot, when it is a
 * multiple of the stride; past NN_ACC_MAX_POINTS the stride doubles and
 * every second point kept goes. */
static void keep_point(nn_acc *a, size_t index, const float *y, const float *t)
{
    size_t K = (size_t)a->K, w = 2 * K;
    if (index % a->point_stride != 0)
        return;
    memcpy(a->points + a->n_points * w, t, K * sizeof(float));
    memcpy(a->points + a->n_points * w + K, y, K * sizeof(float));
    if (++a->n_points <= NN_ACC_MAX_POINTS)
        return;
    a->point_stride *= 2; /* kept points are samples 0, s, 2s, ...: keep the even ones */
    size_t kept = 0;
    for (size_t i = 0; i < a->n_points; i += 2)
        memmove(a->points + kept++ * w, a->points + i * w, w * sizeof(float));
    a->n_points = kept;
}

void nn_acc_add(nn_acc *a, const float *yhat, const float *T, const int32_t *labels, int B,
                double batch_cost)
{
    int K = a->K;
    a->loss_sum += batch_cost * B;
    for (int i = 0; i < B; i++) {
        const float *y = yhat + (size_t)i * K, *t = T + (size_t)i * K;
        if (!a->regression) {
            int p = nn_predict_class(y, K);
            a->correct += p == labels[i];
            if (a->confusion)
                a->confusion[(size_t)labels[i] * (size_t)a->classes + (size_t)p]++;
            continue;
        }
        double count = (double)(a->n + (size_t)i + 1);
        for (int k = 0; k < K; k++) {
            double e = (double)y[k] - (double)t[k];
            a->sse[k] += e * e;
            a->sae[k] += fabs(e);
            double d = (double)t[k] - a->mean[k];
            a->mean[k] += d / count;
            a->m2[k] += d * ((double)t[k] - a->mean[k]);
        }
        if (a->points)
            keep_point(a, a->n + (size_t)i, y, t);
    }
    a->n += (size_t)B;
}

nn_result nn_acc_result(const nn_acc *a)
{
    nn_result r = {a->n, NAN, NAN, NAN, NAN, NAN};
    if (a->n == 0)
        return r;
    double n = (double)a->n;
    r.loss = a->loss_sum / n;
    if (!a->regression) {
        r.accuracy = (double)a->correct / n;
        return r;
    }
    double sse = 0, sae = 0, r2 = 0;
    for (int k = 0; k < a->K; k++) {
        double sd = a->target_std ? a->target_std[k] : 1.0;
        sse += a->sse[k] * sd * sd;
        sae += a->sae[k] * sd;
        r2 += a->m2[k] > 0 ? 1.0 - a->sse[k] / a->m2[k] : NAN;
    }
    r.mse = sse / (n * a->K);
    r.mae = sae / (n * a->K);
    r.r2 = r2 / a->K;
    return r;
}

double nn_acc_f1(const nn_acc *a, int c)
{
    if (!a->confusion || c < 0 || c >= a->classes)
        return NAN;
    size_t C = (size_t)a->classes, tp = a->confusion[(size_t)c * C + (size_t)c], fp = 0, fn = 0;
    for (size_t k = 0; k < C; k++) {
        if (k == (size_t)c)
            continue;
        fp += a->confusion[k * C + (size_t)c];
        fn += a->confusion[(size_t)c * C + k];
    }
    double den = 2.0 * (double)tp + (double)fp + (double)fn;
    return den > 0 ? 2.0 * (double)tp / den : NAN;
}

double nn_acc_macro_f1(const nn_acc *a)
{
    double sum = 0;
    int defined = 0;
    for (int c = 0; c < a->classes; c++) {
        double f = nn_acc_f1(a, c);
        if (!isnan(f)) {
            sum += f;
            defined++;
        }
    }
    return defined ? sum / defined : NAN;
}

void nn_acc_free(nn_acc *a)
{
    free(a->confusion);
    free(a->mean);
    free(a->m2);
    free(a->sse);
    free(a->sae);
    free(a->points);
    memset(a, 0, sizeof *a);
}
