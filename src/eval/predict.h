/* predict.h - --predict's core: samples in, the model's outputs out, in
 * batches, streaming.
 *
 * The input is any data format (known from its first bytes, data/format.h)
 * read as a row stream through one reader that is never rewound, so stdin
 * works; a CSV stream reads rows laid out like the training file.  Rows are
 * scaled as in training and gathered into batches of up to
 * NN_PREDICT_BATCH; a batch is run and handed to the sink when it is full or
 * when no more input is buffered (the next read could wait), so a pipeline
 * sees each answer as soon as its sample has arrived.  Memory is fixed by
 * the batch size, whatever the input length.  Nothing here prints: the sink
 * writes the answers. */
#ifndef NN_PREDICT_H
#define NN_PREDICT_H

#include <stdbool.h>

#include "checkpoint/checkpoint.h"
#include "util/error.h"

#define NN_PREDICT_BATCH 64

typedef struct {
    void *ctx;
    /* The outputs Y (B, K) of B more samples, in input order; c is the
     * checkpoint (its class names, whether it is a regression model).
     * Returns false when it wants no more (its reader went away): the
     * input is then read no further. */
    bool (*rows)(void *ctx, const nn_ckpt *c, const float *Y, int B, int K);
} nn_predict_sink;

/* Predicts every sample of `spec` ("-" = stdin) with the checkpoint at
 * ckpt_path, until the input ends or the sink wants no more.  Returns 0, or
 * -1 with *err (the answers before the error have reached the sink). */
int nn_predict(const char *ckpt_path, const char *spec, const nn_predict_sink *sink,
               nn_error *err);

#endif
