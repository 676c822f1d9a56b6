/* eval.h - --eval's core: a checkpoint's model measured on labelled data
 * (loss, accuracy and the confusion matrix, or the regression errors).
 * Nothing here prints; the command line shows the report. */
#ifndef NN_EVAL_H
#define NN_EVAL_H

#include <stdbool.h>

#include "data/source.h"
#include "eval/metrics.h"
#include "util/error.h"

typedef struct {
    bool regression;
    nn_result r;            /* samples, loss; accuracy, or mse, mae, r2 */
    nn_acc acc;             /* classification: with the confusion matrix */
    char **class_names;     /* (n_classes,) the original labels, owned; NULL for integers */
    int n_classes;
} nn_eval_report;

/* Evaluates the checkpoint at ckpt_path on the source `src`, or when src is
 * NULL on the data named by `spec` (a --data argument, read like the
 * checkpoint's training data).  Returns 0 with *out (free with
 * nn_eval_report_free), or -1 with *err. */
int nn_evaluate(const char *ckpt_path, const nn_source *src, const char *spec,
                nn_eval_report *out, nn_error *err);

/* The same on the rows of `train` (the config's data.train) that training
 * held out with data.test_fraction: the split of nn_split3 redrawn with the
 * checkpoint's seed and the shares in the checkpoint's config (so the
 * inputs were scaled by statistics of the training rows alone).  An error
 * (code 2) when the checkpoint's config has no test share. */
int nn_evaluate_holdout(const char *ckpt_path, const nn_source *train, nn_eval_report *out,
                        nn_error *err);

void nn_eval_report_free(nn_eval_report *r);

#endif
