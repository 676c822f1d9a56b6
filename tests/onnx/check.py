"""check.py - one exported model proven by outside tools (tests/onnx/run.sh).

usage: check.py MODEL.onnx DATA.csv LABEL_COLUMNS PREDICT_OUT TASK [CLASS_NAMES_JSON]

  MODEL.onnx     the file nntrain --export wrote
  DATA.csv       the samples (with a header); the feature columns are every column but
                 LABEL_COLUMNS (comma-separated names)
  PREDICT_OUT    what `nntrain --predict --scores --precision fp32` printed for DATA.csv
  TASK           classification or regression: the metadata's "task"
  CLASS_NAMES    the expected metadata "class_names" (a JSON array), classification only

Checks: onnx.checker.check_model(full_check=True); the input "input" (batch, features)
and output "output" (batch, outputs); opset 13 or later; the producer, the doc string
and the metadata; then OpenCV's dnn runs the model on every sample and each output must
equal the score --predict printed within 1e-5 x max(1, |score|).  Exit 0 when all hold,
1 with the first difference otherwise.
"""
import csv
import json
import sys

import numpy as np
import onnx
import cv2


def fail(msg):
    print("check.py: %s: %s" % (sys.argv[1], msg))
    sys.exit(1)


def main():
    path, data, labels, pred, task = sys.argv[1:6]
    class_names = json.loads(sys.argv[6]) if len(sys.argv) > 6 else None
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)

    g = model.graph
    if [i.name for i in g.input] != ["input"] or [o.name for o in g.output] != ["output"]:
        fail("inputs %s, outputs %s" % ([i.name for i in g.input], [o.name for o in g.output]))
    ops = {o.domain: o.version for o in model.opset_import}
    if ops.get("", 0) < 13:
        fail("opset %s" % ops)
    if model.producer_name != "nntrain" or not model.doc_string or not g.doc_string:
        fail("producer %r, doc strings %r %r" % (model.producer_name, model.doc_string,
                                                 g.doc_string))
    meta = {p.key: p.value for p in model.metadata_props}
    if meta.get("task") != task:
        fail("metadata task %r, expected %r" % (meta.get("task"), task))
    if task == "classification" and json.loads(meta.get("class_names", "null")) != class_names:
        fail("metadata class_names %r, expected %r" % (meta.get("class_names"), class_names))
    if task == "regression" and "class_names" in meta:
        fail("regression model with class_names")

    with open(data, newline="") as f:
        rows = list(csv.reader(f))
    drop = set(labels.split(","))
    keep = [i for i, name in enumerate(rows[0]) if name not in drop]
    X = np.array([[float(r[i]) for i in keep] for r in rows[1:]], dtype=np.float32)
    dims = g.input[0].type.tensor_type.shape.dim
    if dims[0].dim_param != "batch" or dims[1].dim_value != X.shape[1]:
        fail("input shape %s, samples have %d features" % (dims, X.shape[1]))

    want = []
    with open(pred) as f:
        for line in f:
            fields = line.rstrip("\n").split(",")
            if task == "classification":
                fields = fields[1:]  # the predicted class, then the scores
            want.append([float(v) for v in fields])
    want = np.array(want, dtype=np.float64)

    net = cv2.dnn.readNetFromONNX(path)
    net.setInput(X)
    got = np.asarray(net.forward(), dtype=np.float64).reshape(X.shape[0], -1)
    if got.shape != want.shape:
        fail("OpenCV gives %s outputs, --predict %s" % (got.shape, want.shape))
    tol = 1e-5 * np.maximum(1.0, np.abs(want))
    bad = np.abs(got - want) > tol
    if bad.any():
        i, k = np.argwhere(bad)[0]
        fail("%d of %d outputs differ; sample %d output %d: OpenCV %.9g, --predict %.9g"
             % (bad.sum(), bad.size, i, k, got[i, k], want[i, k]))
    print("ok %s: %d samples x %d outputs, max |difference| %.3g"
          % (path.rsplit("/", 1)[-1], got.shape[0], got.shape[1], np.abs(got - want).max()))


if __name__ == "__main__":
    main()
