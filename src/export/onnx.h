/* onnx.h - a checkpoint as an ONNX model (nntrain --export).
 *
 * The model computes what `nntrain --predict --scores --precision fp32`
 * prints as scores, in fp32, from one float tensor "input" (batch, inputs)
 * to one float tensor "output" (batch, outputs):
 *   input scaling      Sub(input, input_shift), Mul(., input_mult), as
 *                      --predict scales a sample (x - shift) * mult (no
 *                      nodes when every shift is 0 and every mult 1);
 *   each dense layer   Gemm(x, W, b, transB=1), W (out, in) and b (out)
 *                      (zeros under batch normalisation, which has none);
 *   batch norm         Mul(x, scale), Add(., shift) with the running
 *                      statistics folded in exactly as inference does it
 *                      (scale = gamma / sqrt(rvar + eps), shift = beta -
 *                      rmean scale, in double, rounded to float);
 *   activations        Sigmoid, Tanh, Relu, LeakyRelu(alpha), Elu(alpha),
 *                      Softplus, Softmax(axis 1); identity adds no node;
 *   target scaling     Mul(., target_std), Add(., target_mean) when the
 *                      model was trained on standardised targets.
 * The weights are the ones --predict uses: the moving average when the
 * checkpoint keeps one (training.ema), else the trained ones; a model
 * trained in bf16 keeps fp32 parameters, which are exported as they are
 * (what --precision fp32 computes with).
 *
 * The file: ModelProto, IR version 8, opset 13 of the default domain,
 * producer "nntrain" NN_VERSION, the training summary as the model's and the
 * graph's doc_string, metadata_props "task" ("classification" or
 * "regression") and, for classification, "class_names": a JSON array of the
 * class names in output order (the integer labels as strings when the
 * training labels were integers).  Initializers are FLOAT tensors with
 * little-endian raw_data.  Nothing here prints.
 */
#ifndef NN_EXPORT_ONNX_H
#define NN_EXPORT_ONNX_H

#include <stddef.h>

#include "checkpoint/checkpoint.h"
#include "util/error.h"

#define NN_ONNX_IR_VERSION 8
#define NN_ONNX_OPSET 13

typedef struct {
    int nodes;          /* graph nodes */
    int initializers;   /* weight tensors */
    size_t bytes;       /* the file's size */
} nn_onnx_info;

/* The ONNX model of checkpoint c: 0 with *out (free with free()) holding
 * its *n bytes, or -1 with *err, whose message starts with `name` (code 1:
 * out of memory, a model beyond protobuf's 2 GiB, or a layer or activation
 * ONNX cannot express).  info may be NULL. */
int nn_onnx_encode(const nn_ckpt *c, const char *name, unsigned char **out, size_t *n,
                   nn_onnx_info *info, nn_error *err);

/* Reads the checkpoint at ckpt_path and writes its ONNX model to out_path
 * atomically: a temporary file in out_path's folder, fsync, rename over
 * out_path, fsync of the folder.  On any failure the temporary file is
 * removed and out_path is left as it was.  0, or -1 with *err (code 1; the
 * message names the file at fault).  info may be NULL. */
int nn_onnx_export(const char *ckpt_path, const char *out_path, nn_onnx_info *info,
                   nn_error *err);

#endif
