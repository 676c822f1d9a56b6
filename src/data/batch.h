/* batch.h - from a data set in its stored type to float mini-batches.
 *
 * The validation split, the per-epoch order and the conversion of a batch of
 * rows to scaled floats.  The data set itself is never copied or converted
 * as a whole: each mini-batch is gathered and converted when it is used.
 */
#ifndef NN_BATCH_H
#define NN_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"
#include "data/scale.h"
#include "util/error.h"
#include "util/rng.h"

/* Splits the row indices 0..n-1 into training and validation sets.  The
 * validation set has round(fraction * n) rows, chosen by a Fisher-Yates
 * shuffle of 0..n-1 with a generator seeded from `seed` (stream
 * NN_STREAM_SPLIT): its first n_val entries are the validation rows.  Both
 * lists are then sorted, so the split depends on the seed, the fraction and n
 * only.  *train and *val are malloc'd (*val NULL when empty). */
int nn_split(size_t n, double fraction, uint64_t seed, uint32_t **train, size_t *n_train,
             uint32_t **val, size_t *n_val, nn_error *err);

/* The general split: the rows rows[0..n-1] (NULL: 0..n-1) shuffled
 * (Fisher-Yates) by a generator seeded from `seed` (stream NN_STREAM_SPLIT);
 * the first round(test_fraction n) of that order are the test rows, the next
 * round(val_fraction n) the validation rows, the rest the training rows; each
 * list then sorted.  With test_fraction 0 it is nn_split.  The three lists
 * are malloc'd (*test and *val NULL when empty; *train never NULL). */
int nn_split3(const uint32_t *rows, size_t n, double val_fraction, double test_fraction,
              uint64_t seed, uint32_t **train, size_t *n_train, uint32_t **val, size_t *n_val,
              uint32_t **test, size_t *n_test, nn_error *err);

/* K-fold cross-validation, fold f (0-based) of K over n rows: the rows
 * 0..n-1 shuffled (Fisher-Yates) by a generator seeded from `seed` (stream
 * NN_STREAM_SPLIT); the fold's rows are the positions [floor(f n / K),
 * floor((f + 1) n / K)) of that order, *train the others; both sorted.
 * Needs 2 <= K <= n.  The lists are malloc'd. */
int nn_cv_fold(size_t n, int K, int f, uint64_t seed, uint32_t **train, size_t *n_train,
               uint32_t **fold, size_t *n_fold, nn_error *err);

/* Regression target scaling (data.scale_targets): the mean and population
 * standard deviation of each target over the rows idx[0..n-1] of d
 * (mean[n_targets], std[n_targets]; a constant target gets std 1), in one
 * pass of sums shifted by the first row (mean = k + s1/n, variance =
 * (s2 - s1^2/n)/n with k the first row's value).  The accumulator gives the
 * same result over rows added in parts (a streamed source), in row order. */
void nn_target_scaler_fit(double *mean, double *std, const nn_dataset *d, const uint32_t *idx,
                          size_t n);
typedef struct {
    int K;
    uint64_t n;
    double *m; /* (3, K): shift k, s1, s2 */
    bool shifted; /* k given (nn_target_acc_shift), not the first row's */
} nn_target_acc;
int nn_target_acc_init(nn_target_acc *a, int K, nn_error *err);
void nn_target_acc_add(nn_target_acc *a, const nn_dataset *d, const uint32_t *idx, size_t n);
void nn_target_acc_result(const nn_target_acc *a, double *mean, double *std);
/* Parts of the rows added apart and combined (a streamed source read in
 * slices): each part's accumulator takes the same shift k (K values), so
 * that their sums add. */
void nn_target_acc_shift(nn_target_acc *a, const double *k);
void nn_target_acc_free(nn_target_acc *a);
/* Every target of d becomes (t - mean) / std (forward), or t std + mean
 * (!forward); the same map for model outputs y[B, K] is nn_targets_unscale. */
void nn_targets_scale(nn_dataset *d, const double *mean, const double *std, bool forward);
void nn_targets_unscale(float *y, size_t B, int K, const double *mean, const double *std);

/* Generator streams derived from the config's seed. */
enum { NN_STREAM_INIT = 1, NN_STREAM_SPLIT = 2, NN_STREAM_SHUFFLE = 3, NN_STREAM_DROPOUT = 4,
       NN_STREAM_AUGMENT = 8 /* data/stream.c has 5 to 7 */ };

/* `kind` with "auto" resolved for data of type t: unit for integer data
 * (bytes, IDX images), standard for float data (CSV), whose columns come in
 * any units; any other kind unchanged. */
nn_scale nn_scale_resolve(nn_scale kind, nn_dtype t);

/* The per-feature affine map x' = (x - shift[f]) * mult[f] for `kind`,
 * fitted on the rows `idx` of d:
 *   none      shift 0, mult 1
 *   unit      shift 0, mult 1 / (largest value of the integer type); an error
 *             (code 1) for float data
 *   minmax    shift min, mult 1 / (max - min)        (1 when max == min)
 *   standard  shift mean, mult 1 / population std    (1 when std == 0)
 *   auto      unit for integer data, standard for float data
 * shift and mult are (d->features,), allocated by the caller. */
int nn_scaler_fit(float *shift, float *mult, nn_scale kind, const nn_dataset *d,
                  const uint32_t *idx, size_t n, const char *name, nn_error *err);

/* The same fit over rows added in parts, in row order (a streamed source):
 * init with the kind (resolved here for `type`; the "unit" error as above),
 * add the rows of each part, then the result.  Standard scaling uses one
 * pass of sums shifted by the first row (see nn_target_scaler_fit), so the
 * parts give the bits one call over all the rows gives. */
typedef struct {
    nn_scale kind;
    nn_dtype type;
    size_t F;
    uint64_t n;
    double *m; /* (3, F): minmax: min, max; standard: shift k, s1, s2; NULL otherwise */
    bool shifted; /* standard: k given (nn_scaler_acc_shift), not the first row's */
} nn_scaler_acc;
int nn_scaler_acc_init(nn_scaler_acc *a, nn_scale kind, nn_dtype type, size_t F,
                       const char *name, nn_error *err);
void nn_scaler_acc_add(nn_scaler_acc *a, const nn_dataset *d, const uint32_t *idx, size_t n);
void nn_scaler_acc_result(const nn_scaler_acc *a, float *shift, float *mult);
/* As nn_target_acc_shift: standard scaling's shift k (F values) given. */
void nn_scaler_acc_shift(nn_scaler_acc *a, const double *k);
void nn_scaler_acc_free(nn_scaler_acc *a);

/* X (B, features) = the rows idx[0..B-1] of d as floats, scaled.  Large
 * batches are shared among the pool's worker threads (nn_pool_set_threads),
 * one row per thread: the result does not depend on the thread count. */
void nn_batch_gather(float *X, const nn_dataset *d, const uint32_t *idx, size_t B,
                     const float *shift, const float *mult);

/* Asks the processor to start loading the rows idx[0..B-1] of d into its
 * caches (a hint, no result): called for the next mini-batch before the
 * current one trains, the rows scattered over a large data set arrive
 * while the kernels run, instead of stalling the next gather. */
void nn_batch_prefetch(const nn_dataset *d, const uint32_t *idx, size_t B);

/* labels[i] = d->labels[idx[i]] for i < B. */
void nn_batch_labels(int32_t *labels, const nn_dataset *d, const uint32_t *idx, size_t B);

/* T (B, K) = the targets of rows idx[0..B-1] for a model with K outputs:
 * the regression targets when d has them (K == d->n_targets), else from the
 * labels: one-hot rows (K > 1) or the label itself (K == 1, binary). */
void nn_batch_targets(float *T, const nn_dataset *d, const uint32_t *idx, size_t B, int K);

/* Label smoothing e (0 < e < 1) of the class targets T (B, K) built from
 * labels: each becomes (1 - e) t + e / C with C = K classes, or C = 2 for one
 * sigmoid unit (label 0 or 1); e = 0 leaves them as they are. */
void nn_targets_smooth(float *T, size_t B, int K, double e);

#endif
