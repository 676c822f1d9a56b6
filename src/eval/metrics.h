/* metrics.h - accumulating loss, accuracy, confusion and regression errors
 * over batches, for training lines, validation and --eval. */
#ifndef NN_METRICS_H
#define NN_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef struct {
    int K;              /* model outputs */
    bool regression;
    int classes;        /* classification: K, or 2 when K == 1 */
    size_t n;           /* samples seen */
    double loss_sum;    /* sum over samples of the per-sample cost */
    size_t correct;     /* classification */
    size_t *confusion;  /* (classes, classes), rows = true class; NULL unless asked */
    /* regression, per output: running mean and sum of squared deviations of
     * the targets (Welford), and the sums of squared and absolute errors */
    double *mean, *m2, *sse, *sae; /* (K,) each */
    /* regression with scaled targets (data.scale_targets): outputs and targets
     * are in standardised units, target_std (K,) maps them back, so that the
     * result's mse and mae are in the original units (r2 does not change);
     * NULL: as they are.  Not owned. */
    const double *target_std;
    /* regression with want_confusion (--eval): a sample of the (target,
     * output) pairs for the scatter plot, (n_points, 2, K) as target then
     * output per sample.  Every sample while at most NN_ACC_MAX_POINTS;
     * then the kept ones halve to every point_stride-th sample (a power of
     * two), whatever the batch sizes. */
    float *points;
    size_t n_points;
    size_t point_stride;
} nn_acc;

#define NN_ACC_MAX_POINTS 4096

/* Prepares an accumulator.  Returns -1 with *err (code 1) on out of memory. */
int nn_acc_init(nn_acc *a, int K, bool regression, bool want_confusion, nn_error *err);

/* Adds a batch: outputs yhat (B, K), targets T (B, K), labels (B,) for
 * classification (NULL for regression), and the batch's mean cost. */
void nn_acc_add(nn_acc *a, const float *yhat, const float *T, const int32_t *labels, int B,
                double batch_cost);

typedef struct {
    size_t samples;
    double loss;      /* mean cost per sample */
    double accuracy;  /* classification; NaN for regression */
    double mse;       /* regression: mean over samples and outputs of (yhat - y)^2 */
    double mae;       /* regression: mean over samples and outputs of |yhat - y| */
    double r2;        /* regression: 1 - SS_res/SS_tot per output, averaged over outputs;
                         NaN when a target is constant */
} nn_result;

nn_result nn_acc_result(const nn_acc *a);

/* Classification with the confusion matrix: class c's F1 score,
 * 2 TP / (2 TP + FP + FN), the harmonic mean of its precision and recall
 * (0 when either is 0, e.g. a class predicted but never present).  NaN when
 * undefined: the class neither occurs in the data nor is predicted. */
double nn_acc_f1(const nn_acc *a, int c);

/* The mean of the defined per-class F1 scores (the classes that occur in
 * the data or the predictions), as scikit-learn's f1_score(average="macro")
 * computes it over the labels it sees; a class absent from both is left
 * out rather than counted as 0.  NaN when no class is defined (no samples). */
double nn_acc_macro_f1(const nn_acc *a);

void nn_acc_free(nn_acc *a);

#endif
