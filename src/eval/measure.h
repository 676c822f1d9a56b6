/* measure.h - measuring a model on data: what validation, --eval and the
 * training loop share. */
#ifndef NN_MEASURE_H
#define NN_MEASURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"
#include "eval/metrics.h"
#include "nn/model.h"
#include "nn/types.h"
#include "util/error.h"

/* Rows per forward pass when measuring (and the batch a model for --eval
 * is made for). */
#define NN_MEASURE_BATCH 256

/* The cost a measurement uses. */
typedef struct {
    nn_loss loss;
    double huber_delta;
    const double *target_std; /* scaled regression targets: nn_acc.target_std */
    double label_smoothing;   /* of class targets (nn_targets_smooth); 0: none */
} nn_loss_spec;

/* Loss and accuracy (classification) or regression errors of a model, in
 * inference mode, on rows idx[0..n-1] of d (idx NULL: every row), scaled by
 * shift and mult, with the cost `loss`.  If acc is not NULL it receives the
 * accumulator, with the confusion matrix (classification) or a sample of
 * the (target, output) pairs (regression) when want_confusion (the caller
 * frees it with nn_acc_free).  Returns 0, or -1 with *err (out of memory). */
int nn_measure(nn_model *m, const nn_dataset *d, const uint32_t *idx, size_t n,
               const float *shift, const float *mult, const nn_loss_spec *loss,
               bool regression, bool want_confusion, nn_result *out, nn_acc *acc,
               nn_error *err);

/* The same rows added to an accumulator made by the caller (nn_acc_init,
 * with target_std set), for data measured in parts (a streamed source).
 * 0, or -1 with *err. */
int nn_measure_add(nn_model *m, nn_acc *acc, const nn_dataset *d, const uint32_t *idx,
                   size_t n, const float *shift, const float *mult, const nn_loss_spec *loss,
                   bool regression, nn_error *err);

/* Checks that every label of d fits a model with K outputs (K > 1: label <
 * K; K == 1: label 0 or 1).  `name` is the labels file, for the message. */
int nn_check_labels(const nn_dataset *d, int K, const char *name, nn_error *err);
/* The same for one label y, at row `item` of the file `name`. */
int nn_check_label(int32_t y, int K, const char *name, unsigned long long item, nn_error *err);

#endif
