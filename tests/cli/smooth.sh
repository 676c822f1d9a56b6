#!/bin/sh
# label_smoothing: its gradient proven by --gradcheck (softmax and one
# sigmoid unit); training, validation and --eval all take the smoothed
# targets (their cross-entropy cannot fall below the smoothed targets'
# entropy); the checkpoint and --inspect keep it; misuse is refused.
# Usage: sh tests/cli/smooth.sh NNTRAIN
AREA=smooth
. "$(dirname "$0")/lib.sh"
DATA=$(cd "$(dirname "$0")/../../data" && pwd)/fruit.csv
cd "$T" || exit 1
cat >s.json <<JSON
{"seed": 4, "data": {"train": {"path": "$DATA", "label": "fruit"}, "validation_fraction": 0.2,
                     "test_fraction": 0.2},
 "model": {"layers": [{"units": 8, "activation": "tanh"}, {"units": 3, "activation": "softmax"}]},
 "loss": "cross_entropy", "label_smoothing": 0.2,
 "optimizer": {"name": "adam", "learning_rate": 0.02},
 "training": {"epochs": 30, "batch_size": 16}, "checkpoint": {"path": "s.ckpt"}}
JSON
run "gradcheck, softmax" 0 "$NN" --gradcheck s.json && out_has "gradcheck, softmax" "pass"
# one sigmoid unit: apple or not
awk -F, 'NR == 1 { print; next } { $5 = ($5 == "apple") ? 1 : 0; print }' OFS=, "$DATA" >bin.csv
sed -e "s|$DATA|$T/bin.csv|" -e 's/"units": 3, "activation": "softmax"/"units": 1, "activation": "sigmoid"/' \
    -e 's/"cross_entropy"/"binary_cross_entropy"/' s.json >b.json
run "gradcheck, sigmoid" 0 "$NN" --gradcheck b.json && out_has "gradcheck, sigmoid" "pass"

# the smoothed targets' entropy: (1 - e + e/3) and e/3 twice, e = 0.2
H=$(awk 'BEGIN { a = 0.8 + 0.2 / 3; b = 0.2 / 3; printf "%.6f", -a * log(a) - 2 * b * log(b) }')
run "train" 0 "$NN" --json s.json
last=$(grep '"epoch"' "$T/out" | tail -1)
tl=$(echo "$last" | sed -n 's/.*"train_loss":\([0-9.e-]*\).*/\1/p')
vl=$(echo "$last" | sed -n 's/.*"val_loss":\([0-9.e-]*\).*/\1/p')
va=$(echo "$last" | sed -n 's/.*"val_accuracy":\([0-9.e-]*\).*/\1/p')
if awk -v t="$tl" -v v="$vl" -v a="$va" -v h="$H" 'BEGIN { exit !(t >= h && v >= h && t < h + 0.3 && a >= 0.9) }'
then ok; else bad "train: losses $tl, $vl (floor $H), val_accuracy $va"; fi
run "eval" 0 "$NN" --eval --json s.json
el=$(sed -n 's/.*"loss":\([0-9.e-]*\).*/\1/p' "$T/out" | head -1)
if awk -v l="$el" -v h="$H" 'BEGIN { exit !(l >= h && l < h + 0.3) }'; then ok; else
    bad "eval: loss '$el' against the floor $H"; fi
run "inspect" 0 "$NN" --inspect s.ckpt && out_has "inspect" "loss         cross_entropy (label smoothing 0.2)"

# misuse
sed 's/"label_smoothing": 0.2/"label_smoothing": 1/' s.json >one.json
run "smoothing 1" 2 "$NN" -q one.json && err_has "smoothing 1" '"label_smoothing"'
sed -e 's/"cross_entropy"/"mse"/' -e 's/"softmax"/"sigmoid"/' s.json >mse.json
run "smoothing with mse" 2 "$NN" -q mse.json &&
    err_has "smoothing with mse" '"label_smoothing" applies only to'

echo "smooth: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
