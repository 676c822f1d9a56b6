/* measure.c - a model's loss and accuracy (or regression errors) on a data
 * set, and the check that a data set's labels fit a model (measure.h). */
#include "eval/measure.h"

#include <stdlib.h>

#include "data/batch.h"
#include "nn/loss.h"

int nn_check_label(int32_t y, int K, const char *name, unsigned long long item, nn_error *err)
{
    if (K == 1 && y > 1) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: label %d at item %llu does not fit the model's single output "
                     "unit (a one-unit model is a binary classifier: labels 0 and 1)",
                     name, (int)y, item);
        return -1;
    }
    if (K > 1 && y >= K) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: label %d at item %llu is beyond the model's %d output units", name,
                     (int)y, item, K);
        return -1;
    }
    return 0;
}

int nn_check_labels(const nn_dataset *d, int K, const char *name, nn_error *err)
{
    if (!d->labels) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: the data has no labels", name);
        return -1;
    }
    for (size_t i = 0; i < d->n; i++)
        if (nn_check_label(d->labels[i], K, name, (unsigned long long)i, err) < 0)
            return -1;
    return 0;
}

int nn_measure_add(nn_model *m, nn_acc *acc, const nn_dataset *d, const uint32_t *idx,
                   size_t n, const float *shift, const float *mult, const nn_loss_spec *loss,
                   bool regression, nn_error *err)
{
    int K = nn_model_outputs(m);
    int bmax = m->max_batch < NN_MEASURE_BATCH ? m->max_batch : NN_MEASURE_BATCH;
    float *X = malloc(sizeof(float) * (size_t)bmax * d->features);
    float *T = malloc(sizeof(float) * (size_t)bmax * (size_t)K);
    int32_t *y = malloc(sizeof(int32_t) * (size_t)bmax);
    uint32_t *rows = malloc(sizeof(uint32_t) * (size_t)bmax);
    int rc = 0;
    if (!X || !T || !y || !rows) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory measuring %zu samples", n);
        rc = -1;
    }
    for (size_t off = 0; rc == 0 && off < n; off += (size_t)bmax) {
        int B = n - off < (size_t)bmax ? (int)(n - off) : bmax;
        for (int i = 0; i < B; i++)
            rows[i] = idx ? idx[off + (size_t)i] : (uint32_t)(off + (size_t)i);
        nn_batch_gather(X, d, rows, (size_t)B, shift, mult);
        nn_batch_targets(T, d, rows, (size_t)B, K);
        if (!regression) {
            nn_batch_labels(y, d, rows, (size_t)B);
            nn_targets_smooth(T, (size_t)B, K, loss->label_smoothing);
        }
        const float *yhat = nn_model_forward(m, X, B);
        double cost = nn_loss_forward(loss->loss, nn_arch_output_act(&m->arch), yhat, m->logits,
                                      T, B, K, loss->huber_delta);
        nn_acc_add(acc, yhat, T, y, B, cost);
    }
    free(X);
    free(T);
    free(y);
    free(rows);
    return rc;
}

int nn_measure(nn_model *m, const nn_dataset *d, const uint32_t *idx, size_t n,
               const float *shift, const float *mult, const nn_loss_spec *loss,
               bool regression, bool want_confusion, nn_result *out, nn_acc *acc_out,
               nn_error *err)
{
    nn_acc acc;
    if (nn_acc_init(&acc, nn_model_outputs(m), regression, want_confusion, err) < 0)
        return -1;
    acc.target_std = loss->target_std;
    if (nn_measure_add(m, &acc, d, idx, n, shift, mult, loss, regression, err) < 0) {
        nn_acc_free(&acc);
        return -1;
    }
    *out = nn_acc_result(&acc);
    if (acc_out)
        *acc_out = acc;
    else
        nn_acc_free(&acc);
    return 0;
}
