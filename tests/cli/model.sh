#!/bin/sh
# Command-line tests of the model defaults, the splits and regression target
# scaling: defaults that learn, the loss/activation pairing errors,
# data.test_fraction with --eval, --cv against folds computed by hand, and
# data.scale_targets.  Usage: sh tests/cli/model.sh PATH/TO/nntrain
AREA=model
. "$(dirname "$0")/lib.sh"

# check NAME CONDITION-COMMAND...: ok when the command succeeds
check() { name=$1; shift; if "$@"; then ok; else bad "$name: $(head -c 400 "$T/out")"; fi; }
cd "$T" || exit 1

# --- defaults that learn ---------------------------------------------------------
# Three classes in four float features of very different scales (a column in
# the thousands, one in thousandths): without standard scaling, sigmoid, MSE
# and SGD at 0.1, this is the majority class.  The config gives only the data,
# the layer sizes and a checkpoint path, plus the held-out test share.
awk 'BEGIN { srand(11); for (i = 0; i < 300; i++) { k = i % 3;
    printf "%.2f,%.5f,%.3f,%.3f,%d\n", 5000 + 400 * k + 300 * rand(), 0.001 * (k == 1) + 0.0008 * rand(),
        rand(), 2 * rand(), k } }' >cls.csv
cat >min.json <<'JSON'
{"data": {"train": {"path": "cls.csv", "header": false}, "test_fraction": 0.2},
 "model": {"layers": [{"units": 16}, {"units": 3}]},
 "checkpoint": {"path": "min.ckpt", "every_epochs": 0}}
JSON
if run defaults-train 0 "$NN" --quiet min.json && run defaults-eval 0 "$NN" --eval --json min.json; then
    check defaults-eval-samples grep -q '"samples":60,' "$T/out"
    check defaults-eval-accuracy jq -e '.accuracy >= 0.9' "$T/out" >/dev/null
fi
if run defaults-inspect 0 "$NN" --inspect --json min.ckpt; then
    check defaults-chosen jq -e '.loss == "cross_entropy" and .optimizer == "adam" and .scale == "standard"
        and .layers[0].activation == "relu" and .layers[1].activation == "softmax"' "$T/out" >/dev/null
fi
# the classic setting, spelt out, stays at the majority class on the same data
if run classic 0 "$NN" --quiet --set model.layers.0.activation=sigmoid --set model.layers.1.activation=sigmoid \
        --set loss=mse --set optimizer.name=sgd --set optimizer.learning_rate=0.1 --set data.scale=none \
        --set training.epochs=10 min.json && run classic-eval 0 "$NN" --eval --json min.json; then
    check classic-does-not-learn jq -e '.accuracy < 0.5' "$T/out" >/dev/null
fi
# one unit: sigmoid + binary_cross_entropy by default
awk -F, '{ print $1 "," $2 "," $3 "," $4 "," ($5 == 1) }' cls.csv >bin.csv
cat >bin.json <<'JSON'
{"data": {"train": {"path": "bin.csv", "header": false}, "test_fraction": 0.25},
 "model": {"layers": [{"units": 8}, {"units": 1}]},
 "checkpoint": {"path": "bin.ckpt", "every_epochs": 0}}
JSON
if run binary-train 0 "$NN" --quiet bin.json && run binary-inspect 0 "$NN" --inspect --json bin.ckpt; then
    check binary-pair jq -e '.loss == "binary_cross_entropy" and .layers[1].activation == "sigmoid"' "$T/out" >/dev/null
    run binary-eval 0 "$NN" --eval --json bin.json && check binary-accuracy jq -e '.samples == 75 and .accuracy >= 0.9' "$T/out" >/dev/null
fi

# --- pairing errors -------------------------------------------------------------
printf '{"data": {"train": {"path": "bin.csv", "header": false}},\n "model": {"layers": [{"units": 8}, {"units": 1}]},\n "loss": "cross_entropy"}\n' >ce1.json
if run ce-one-unit 2 "$NN" ce1.json; then
    err_is ce-one-unit "nntrain: ce1.json:3:10: loss \"cross_entropy\" needs a softmax output layer of 2 or more units, and the output layer has one unit: for a binary classifier with one output unit use loss \"binary_cross_entropy\" (with a sigmoid output), or give the output layer 2 units"
fi
printf '{"data": {"train": {"path": "bin.csv", "header": false}},\n "model": {"layers": [{"units": 8}, {"units": 1, "activation": "softmax"}]}}\n' >sm1.json
if run softmax-one-unit 2 "$NN" sm1.json; then
    err_is softmax-one-unit "nntrain: sm1.json:2:64: \"model.layers.1.activation\": softmax needs at least 2 units (over one unit it is the constant 1), found 1; for a binary classifier with one output unit use \"sigmoid\" with loss \"binary_cross_entropy\""
fi

# --- data.test_fraction ---------------------------------------------------------
printf '{"data": {"train": {"path": "cls.csv", "header": false},\n  "validation_fraction": 0.5, "test_fraction": 0.5},\n "model": {"layers": [{"units": 3}]}}\n' >tf.json
if run test-fraction-sum 2 "$NN" tf.json; then
    err_is test-fraction-sum "nntrain: tf.json:2:48: \"data.test_fraction\" (0.5) and \"data.validation_fraction\" (0.5) must add up to less than 1: no training rows would be left"
fi
if run test-fraction-range 2 "$NN" --set data.test_fraction=1 min.json; then
    err_is test-fraction-range "nntrain: --set data.test_fraction=1: \"data.test_fraction\" must be a number from 0 up to but not including 1, found 1"
fi
# the held-out rows are the first round(0.2 n) of the split's shuffle: with
# validation_fraction 0.2 and the same seed, the validation rows of a run
# without a test share are exactly those rows, so --eval's figures equal the
# last val_ figures of such a run (loss and accuracy printed to 9 digits)
if run holdout-a 0 "$NN" --quiet --set data.test_fraction=0 --set data.validation_fraction=0.2 \
        --set checkpoint.path=val.ckpt --set training.epochs=5 --json min.json; then :; fi
"$NN" --json --set data.test_fraction=0 --set data.validation_fraction=0.2 --set checkpoint.path=val.ckpt \
    --set training.epochs=5 min.json 2>/dev/null | grep '^{"epoch"' | tail -n1 >val.line
# a checkpoint trained without a test share has no held-out rows: --eval says so
if run holdout-refused 2 "$NN" --eval --json --checkpoint val.ckpt --set data.test_fraction=0.2 min.json; then
    err_is holdout-refused "nntrain: val.ckpt: no test data: the checkpoint was trained without data.test_fraction; set data.test or give --data SPEC"
fi
# hidden split equality: a 5-epoch run with test_fraction 0.2 and one with
# validation_fraction 0.2 hold out the same 60 rows; the held-out rows are
# not in the scaling fit in either case, so the test and validation figures
# of the two models agree only if the rows and the scaling agree.  The two
# trainings see the same training rows in the same order from the same seed.
if run holdout-b 0 "$NN" --quiet --set training.epochs=5 --set checkpoint.path=tst.ckpt min.json &&
   run holdout-eval-b 0 "$NN" --eval --json --set training.epochs=5 --set checkpoint.path=tst.ckpt min.json; then
    a=$(jq -r '"\(.val_loss) \(.val_accuracy)"' val.line)
    b=$(jq -r '"\(.loss) \(.accuracy)"' "$T/out")
    if [ "$a" = "$b" ] && [ -n "$a" ]; then ok; else bad "holdout: validation '$a' against held-out test '$b'"; fi
fi
# --eval CONFIG --plot on the held-out rows draws their confusion matrix: its
# cells hold the counts --eval reports
if run holdout-plot 0 "$NN" --eval --json --plot holdout.svg min.json; then
    if /usr/bin/python3 - holdout.svg "$T/out" <<'PY'
import json, sys, xml.etree.ElementTree as ET
svg = ET.parse(sys.argv[1]).getroot()
ns = {"s": "http://www.w3.org/2000/svg"}
title = "".join(svg.find("s:text", ns).itertext()) if svg.find("s:text", ns) is not None else ""
rep = json.load(open(sys.argv[2]))
cells = {}
for g in svg.iter("{http://www.w3.org/2000/svg}g"):
    if g.get("class") == "cell":
        t, p = g.get("id").split("-")[1:3]
        cells[(int(t), int(p))] = int(g.find("s:title", ns).text.rsplit(":", 1)[1])
K = len(rep["confusion"])
want = {(i, j): rep["confusion"][i][j] for i in range(K) for j in range(K)}
assert cells == want, (cells, want)
assert "the test rows" in title, title
PY
    then ok; else bad "holdout-plot: the picture does not match --eval"; fi
fi

# --- --cv against folds computed by hand --------------------------------------
# 10 rows whose features are all 0 and whose target is 2^i: a one-layer
# identity model trained by SGD at a rate of 1e-30 predicts (almost exactly)
# 0 whatever it trains on, so a fold's MAE times its sample count is the sum
# of 2^i over its rows: the fold's membership, as a bit mask.  The folds are
# computed here from the documented definition (xoshiro256** seeded through
# splitmix64 from seed ^ 2 * 0xD1B54A32D192ED03, Fisher-Yates from the end,
# fold f = positions [floor(f n / K), floor((f + 1) n / K))).
awk 'BEGIN { print "x,y"; for (i = 0; i < 10; i++) printf "0,%d\n", 2 ^ i }' >bits.csv
cat >cv.json <<'JSON'
{"seed": 7, "data": {"train": {"path": "bits.csv", "targets": ["y"], "header": true}, "scale": "none", "scale_targets": false},
 "model": {"layers": [{"units": 1}]},
 "optimizer": {"name": "sgd", "learning_rate": 1e-30},
 "training": {"epochs": 1, "batch_size": 4}}
JSON
expected_masks() {
    /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import sys
seed, n, K = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
M = (1 << 64) - 1
x = (seed ^ (2 * 0xD1B54A32D192ED03)) & M
s = []
for _ in range(4):
    x = (x + 0x9E3779B97F4A7C15) & M
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    s.append(z ^ (z >> 31))
def nxt():
    r = (((s[1] * 5) & M) << 7 | ((s[1] * 5) & M) >> 57) & M
    r = (r * 9) & M
    t = (s[1] << 17) & M
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t
    s[3] = ((s[3] << 45) | (s[3] >> 19)) & M
    return r
def below(m):
    th = ((1 << 64) - m) % m
    while True:
        v = nxt()
        if v >= th:
            return v % m
idx = list(range(n))
for i in range(n, 1, -1):
    j = below(i)
    idx[i - 1], idx[j] = idx[j], idx[i - 1]
for f in range(K):
    rows = idx[f * n // K:(f + 1) * n // K]
    print(f + 1, len(rows), sum(1 << r for r in rows))
PY
}
if run cv 0 "$NN" --cv 3 --json cv.json; then
    got=$(jq -r 'select(.fold) | "\(.fold) \(.samples) \(.mae * .samples + 0.5 | floor)"' "$T/out")
    want=$(expected_masks 7 10 3)
    if [ "$got" = "$want" ]; then ok; else bad "cv: folds (fold, samples, row mask) '$got', expected '$want'"; fi
    # each row in exactly one fold
    check cv-partition [ "$(echo "$got" | awk '{ s += $3 } END { print s }')" = 1023 ]
    check cv-summary jq -se '.[-1].cv.folds == 3 and (.[-1].cv.mean.mae | type) == "number" and (.[-1].cv.std.mse | type) == "number"' "$T/out" >/dev/null
fi
# another seed, another order; 5 folds of 2
if run cv-seed 0 "$NN" --cv 5 --json --seed 12 cv.json; then
    got=$(jq -r 'select(.fold) | "\(.fold) \(.samples) \(.mae * .samples + 0.5 | floor)"' "$T/out")
    want=$(expected_masks 12 10 5)
    if [ "$got" = "$want" ]; then ok; else bad "cv-seed: '$got', expected '$want'"; fi
fi
# the summary is the mean and the population standard deviation of the folds
if run cv-text 0 "$NN" --cv 3 --json min.json; then
    check cv-mean jq -se '(.[0:3] | map(.accuracy) | add / 3) as $m | (.[3].cv.mean.accuracy - $m | fabs) < 1e-9
        and ((.[0:3] | map((.accuracy - $m) * (.accuracy - $m)) | add / 3 | sqrt) - .[3].cv.std.accuracy | fabs) < 1e-9' "$T/out" >/dev/null
fi
rm -f min.ckpt.cv
if run cv-no-checkpoint 0 "$NN" --quiet --cv 2 --set checkpoint.path=cv.ckpt min.json; then
    check cv-no-checkpoint [ ! -e cv.ckpt ]
    check cv-text-lines [ "$(grep -c '^fold [12]/2  samples 150  loss [0-9.]*  accuracy [0-9.]*$' "$T/out")" = 2 ]
    check cv-text-summary grep -q '^cv 2 folds  loss [0-9.]* +- [0-9.]*  accuracy [0-9.]* +- [0-9.]*$' "$T/out"
fi
if run cv-too-many 1 "$NN" --cv 11 cv.json; then
    err_is cv-too-many "nntrain: bits.csv: --cv 11 needs at least 11 rows, the data has 10"
fi
if run cv-one 2 "$NN" --cv 1 cv.json; then
    check cv-one grep -q "^nntrain: --cv: expected an integer from 2 to 100000, found '1'$" "$T/err"
fi
if run cv-eval 2 "$NN" --cv 2 --eval cv.json; then
    check cv-eval grep -q "^nntrain: --eval, --predict, --gradcheck and --cv cannot be combined$" "$T/err"
fi

# --- regression: targets scaled by default ----------------------------------------
# targets around 1e4 (y = 10000 + 3000 a - 2000 b^2): with the default
# scale_targets the default config learns them; predictions, --eval and
# --inspect are in the original units
awk 'BEGIN { srand(5); print "a,b,y"; for (i = 0; i < 400; i++) { a = rand(); b = rand();
    printf "%.4f,%.4f,%.3f\n", a, b, 10000 + 3000 * a - 2000 * b * b } }' >big.csv
cat >big.json <<'JSON'
{"data": {"train": {"path": "big.csv", "targets": ["y"]}, "test_fraction": 0.2},
 "model": {"layers": [{"units": 16}, {"units": 1}]},
 "checkpoint": {"path": "big.ckpt", "every_epochs": 0}}
JSON
if run reg-train 0 "$NN" --quiet big.json && run reg-eval 0 "$NN" --eval --json big.json; then
    check reg-eval-r2 jq -e '.samples == 80 and .r2 > 0.97 and .mae < 150' "$T/out" >/dev/null
fi
if run reg-predict 0 sh -c "printf 'a,b\n0.5,0.5\n0,1\n' | '$NN' --predict --scores --checkpoint big.ckpt"; then
    # 11000 and 8000 within 3%; one value per line with --scores
    check reg-predict awk -F, 'NR == 1 && NF == 1 && $1 > 10670 && $1 < 11330 { a = 1 }
        NR == 2 && NF == 1 && $1 > 7760 && $1 < 8240 { b = 1 } END { exit !(a && b && NR == 2) }' "$T/out"
fi
if run reg-inspect 0 "$NN" --inspect --json big.ckpt; then
    check reg-inspect jq -e '(.target_scale.mean[0] > 10000 and .target_scale.mean[0] < 11500)
        and (.target_scale.std[0] > 500 and .target_scale.std[0] < 1500)' "$T/out" >/dev/null
fi
# without scaling, the same default config does far worse in 200 epochs
if run reg-unscaled 0 "$NN" --quiet --set data.scale_targets=false --set checkpoint.path=raw.ckpt big.json &&
   run reg-unscaled-eval 0 "$NN" --eval --json --set checkpoint.path=raw.ckpt big.json; then
    check reg-unscaled jq -e '.r2 < 0.5' "$T/out" >/dev/null
fi
if run scale-targets-classes 2 "$NN" --set data.scale_targets=true min.json; then
    err_is scale-targets-classes "nntrain: --set data.scale_targets=true: \"data.scale_targets\" applies only to regression (\"data.train\" with \"targets\"); this config's data has class labels"
fi

echo "model: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
