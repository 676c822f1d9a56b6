#!/bin/sh
# ONNX export proven by outside tools: tiny models trained here on data made
# here, exported with --export, then checked by onnx's checker
# (full_check) and run by OpenCV's dnn against
# `nntrain --predict --scores --precision fp32` (check.py: within
# 1e-5 x max(1, |value|)).  Needs Debian's python3-onnx and python3-opencv
# (the Makefile installs them for `make check`), run by /usr/bin/python3.
# Usage: sh tests/onnx/run.sh PATH/TO/nntrain
set -u
NN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-onnx-XXXXXX")
trap 'rm -rf "$T"' EXIT
export LC_ALL=C
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

if ! "$PY" -c 'import onnx, cv2, numpy' 2>"$T/imp"; then
    echo "FAIL: $PY cannot import onnx, cv2 and numpy (apt-get install python3-onnx python3-opencv): $(cat "$T/imp")"
    exit 1
fi
cd "$T" || exit 1

# --- data ------------------------------------------------------------------------
# cls.csv: 4 features on different scales, 3 string classes; bin.csv: the same
# features, an integer 0/1 label; reg.csv: 3 features, 2 targets far from 0.
awk 'BEGIN {
    srand(7); print "f1,f2,f3,f4,label" > "cls.csv"; print "f1,f2,f3,f4,y" > "bin.csv"
    split("red green blue", name, " ");
    for (i = 0; i < 240; i++) {
        c = i % 3;
        f1 = 50 + 30 * c + 20 * rand(); f2 = 0.1 * c + 0.2 * rand();
        f3 = -5 + 3 * rand() - c; f4 = 1000 * rand();
        printf "%.4f,%.4f,%.4f,%.2f,%s\n", f1, f2, f3, f4, name[c + 1] > "cls.csv";
        printf "%.4f,%.4f,%.4f,%.2f,%d\n", f1, f2, f3, f4, c == 1 > "bin.csv";
    }
    print "x1,x2,x3,y1,y2" > "reg.csv";
    for (i = 0; i < 200; i++) {
        x1 = 2 * rand() - 1; x2 = 10 * rand(); x3 = rand();
        printf "%.4f,%.4f,%.4f,%.4f,%.4f\n", x1, x2, x3,
            200 + 40 * x1 * x1 + 3 * x2 + 5 * rand(), -30 + 8 * sin(3 * x1) - x3 > "reg.csv";
    }
}'

# cfg NAME DATA SOURCE_KEYS LAYERS LOSS [MORE]: NAME.json training NAME.ckpt
cfg() {
    cat >"$1.json" <<JSON
{"seed": 5, "data": {"train": {"path": "$2", $3}, "validation_fraction": 0.2 ${6-}},
 "model": {"layers": [$4]},
 "loss": "$5", "optimizer": {"name": "adam", "learning_rate": 0.01},
 "training": {"epochs": 8, "batch_size": 16 ${7-}}, "checkpoint": {"path": "$1.ckpt"}}
JSON
}

# prove NAME DATA LABELS TASK [CLASS_NAMES]: train, export, predict, check.py
prove() {
    name=$1 data=$2 labels=$3 task=$4
    shift 4
    if ! "$NN" -q "$name.json" >"$name.train" 2>&1; then
        bad "$name: training failed: $(head -c 400 "$name.train")"; return
    fi
    if ! "$NN" --export "$name.ckpt" -o "$name.onnx" 2>"$name.err"; then
        bad "$name: --export failed: $(cat "$name.err")"; return
    fi
    if ! grep -q "^nntrain: wrote $name.onnx (ONNX opset 13, " "$name.err"; then
        bad "$name: --export said: $(cat "$name.err")"
    fi
    if ! "$NN" --predict --scores --precision fp32 --checkpoint "$name.ckpt" --data "$data" \
        >"$name.pred" 2>"$name.perr"; then
        bad "$name: --predict failed: $(cat "$name.perr")"; return
    fi
    if "$PY" "$HERE/check.py" "$name.onnx" "$data" "$labels" "$name.pred" "$task" "$@" \
        >"$name.out" 2>&1; then
        ok
    else
        bad "$name: $(tail -n 5 "$name.out")"
    fi
}

# ops_are NAME OPS: the op types of NAME.onnx's nodes, in order, are OPS
ops_are() {
    got=$("$PY" -c 'import onnx, sys
print(" ".join(n.op_type for n in onnx.load(sys.argv[1]).graph.node))' "$1.onnx" 2>&1)
    if [ "$got" = "$2" ]; then ok; else bad "$1: nodes '$got', expected '$2'"; fi
}

CLS='"label": "label"'
RGB='["blue","green","red"]'  # sorted, as training orders string labels
# sigmoid units with MSE, no input scaling, integer labels (names "0", "1")
cfg sigmoid_mse bin.csv '"label": "y"' \
    '{"units": 6, "activation": "sigmoid"}, {"units": 2, "activation": "sigmoid"}' mse \
    ', "scale": "none"'
prove sigmoid_mse bin.csv y classification '["0","1"]'
ops_are sigmoid_mse "Gemm Sigmoid Gemm Sigmoid"
# one sigmoid unit, binary cross-entropy, standard scaling
cfg sigmoid_one bin.csv '"label": "y"' \
    '{"units": 5, "activation": "tanh"}, {"units": 1, "activation": "sigmoid"}' \
    binary_cross_entropy ', "scale": "standard"'
prove sigmoid_one bin.csv y classification '["0","1"]'
# relu and softmax, with and without input scaling
cfg relu_softmax cls.csv "$CLS" \
    '{"units": 16, "activation": "relu"}, {"units": 3, "activation": "softmax"}' cross_entropy
prove relu_softmax cls.csv label classification "$RGB"
cfg relu_softmax_minmax cls.csv "$CLS" \
    '{"units": 16, "activation": "relu"}, {"units": 3, "activation": "softmax"}' cross_entropy \
    ', "scale": "minmax"'
prove relu_softmax_minmax cls.csv label classification "$RGB"
# batch normalization (running statistics folded) and the moving average of the weights
cfg bn_ema cls.csv "$CLS" \
    '{"units": 12, "activation": "relu", "batch_norm": true},
     {"units": 8, "activation": "tanh", "batch_norm": true, "batch_norm_eps": 0.01},
     {"units": 3, "activation": "softmax"}' cross_entropy '' ', "ema": 0.9'
prove bn_ema cls.csv label classification "$RGB"
ops_are bn_ema "Sub Mul Gemm Mul Add Relu Gemm Mul Add Tanh Gemm Softmax"
# every activation, leaky_relu and elu with their alpha
cfg every_act cls.csv "$CLS" \
    '{"units": 7, "activation": "sigmoid"}, {"units": 7, "activation": "tanh"},
     {"units": 7, "activation": "relu"}, {"units": 7, "activation": "leaky_relu", "alpha": 0.2},
     {"units": 7, "activation": "elu"}, {"units": 7, "activation": "softplus"},
     {"units": 7, "activation": "identity"}, {"units": 3, "activation": "softmax"}' cross_entropy
prove every_act cls.csv label classification "$RGB"
# regression: target standardisation undone in the graph, with batch norm and EMA
cfg regression reg.csv '"targets": ["y1", "y2"]' \
    '{"units": 16, "activation": "elu", "alpha": 0.5}, {"units": 2, "activation": "identity"}' mse
prove regression reg.csv y1,y2 regression
ops_are regression "Sub Mul Gemm Elu Gemm Mul Add"
cfg regression_plain reg.csv '"targets": ["y1", "y2"]' \
    '{"units": 16, "activation": "softplus"}, {"units": 2, "activation": "identity"}' mse \
    ', "scale": "none", "scale_targets": false'
prove regression_plain reg.csv y1,y2 regression
ops_are regression_plain "Gemm Softplus Gemm"
cfg regression_bn_ema reg.csv '"targets": ["y1", "y2"]' \
    '{"units": 16, "activation": "leaky_relu", "batch_norm": true}, {"units": 2}' huber \
    '' ', "ema": 0.95'
prove regression_bn_ema reg.csv y1,y2 regression
# trained in bf16: the fp32 parameters are exported, what --precision fp32 uses
cfg bf16 cls.csv "$CLS" \
    '{"units": 16, "activation": "relu"}, {"units": 3, "activation": "softmax"}' cross_entropy \
    '' ', "precision": "bf16"'
if "$NN" -q --epochs 1 --checkpoint probe.ckpt bf16.json >probe.out 2>&1; then
    prove bf16 cls.csv label classification "$RGB"
else
    echo "onnx: skipped the bf16-trained case: this machine cannot train in bf16: $(head -n 1 probe.out)"
fi

# --- every checkpoint of tests/fixtures: exported, or one error line -------------------
for f in "$HERE"/../fixtures/*/*.ckpt; do
    [ -f "$f" ] || continue
    b=$(basename "$f" .ckpt)
    "$NN" --export "$f" -o "fx-$b.onnx" >/dev/null 2>"fx-$b.err"
    code=$?
    if [ "$code" -eq 0 ]; then
        if "$PY" -c 'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)' \
            "fx-$b.onnx" >"fx-$b.py" 2>&1; then ok; else bad "fixture $b: $(tail -n 3 "fx-$b.py")"; fi
    elif [ "$code" -eq 1 ] && [ "$(wc -l <"fx-$b.err")" -eq 1 ] && grep -q '^nntrain: ' "fx-$b.err" &&
        [ ! -e "fx-$b.onnx" ]; then
        ok
    else
        bad "fixture $b: exit $code, stderr $(cat "fx-$b.err")"
    fi
done

echo "onnx: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
