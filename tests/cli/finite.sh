#!/bin/sh
# Non-finite numbers: JSON output writes null for them (never a bare inf or
# nan) and --eval of a loss that is not finite is an error (exit 1) after
# its report; checkpoints are validated on load like configs (the loss
# against the output layer and the problem, huber's delta); and the
# divergence message says what went non-finite first: the data, the
# forward pass, the gradients or the update.
# Usage: sh tests/cli/finite.sh PATH/TO/nntrain
AREA=finite
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
cd "$T" || exit 1

# json_ok NAME FILE: every line of FILE is one JSON value
json_ok() {
    if "$PY" -c 'import json, sys
for line in open(sys.argv[1]):
    json.loads(line)' "$2" 2>"$T/json.err"; then ok; else bad "$1: not JSON: $(head -c 300 "$2") $(cat "$T/json.err")"; fi
}
# pyck NAME FILE EXPR: EXPR is true of the JSON object j in FILE (its last line)
pyck() {
    if "$PY" -c 'import json, sys
j = json.loads(open(sys.argv[1]).read().splitlines()[-1])
sys.exit(0 if eval(sys.argv[2]) else 1)' "$2" "$3" 2>"$T/json.err"; then ok
    else bad "$1: $3 is false of $(head -c 300 "$2") $(cat "$T/json.err")"; fi
}
err_one_line() {
    if [ "$(wc -l <"$T/err")" -eq 1 ] && head -n1 "$T/err" | grep -q '^nntrain: '; then ok
    else bad "$1: stderr is not one 'nntrain: ' line: $(cat "$T/err")"; fi
}

# --- data: a regression on six small features, a classifier on three -------------------
awk 'BEGIN { srand(5); print "a,b,c,d,e,f,y"; for (i = 0; i < 64; i++) { a = rand(); b = rand();
    printf "%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f\n", a, b, a, b, a, b, a - 2 * b } }' >r.csv
cat >r.json <<'JSON'
{"seed": 1, "data": {"train": {"path": "r.csv", "targets": ["y"]}, "scale": "none", "scale_targets": false},
 "model": {"layers": [{"units": 4, "activation": "identity"}, {"units": 1, "activation": "identity"}]},
 "loss": "mse", "optimizer": {"name": "sgd", "learning_rate": 0.1},
 "training": {"epochs": 2, "batch_size": 16},
 "checkpoint": {"path": "r.ckpt", "every_epochs": 0}}
JSON
awk 'BEGIN { srand(3); print "a,b,c,label"; for (i = 0; i < 64; i++) { a = rand(); b = rand();
    printf "%.4f,%.4f,%.4f,%d\n", a, b, a * b, (a > b) } }' >c.csv
cat >c.json <<'JSON'
{"seed": 1, "data": {"train": {"path": "c.csv", "label": "label"}, "scale": "none"},
 "model": {"layers": [{"units": 4, "activation": "sigmoid"}, {"units": 2, "activation": "sigmoid"}]},
 "loss": "mse", "optimizer": {"name": "sgd", "learning_rate": 0.5},
 "training": {"epochs": 2, "batch_size": 16, "shuffle": false},
 "checkpoint": {"path": "c.ckpt", "every_epochs": 0}}
JSON
run train-r 0 "$NN" --quiet r.json
run train-c 0 "$NN" --quiet c.json

# --- JSON never holds a non-finite number ----------------------------------------------
# inputs of +-3e38 in every sign pattern overflow the identity layers' outputs
# (a hidden unit whose |weights| add up to more than 1 overflows on the row of
# its weights' signs): the loss, MSE and MAE are not finite, written null, and
# the run fails after the report
awk 'BEGIN { print "a,b,c,d,e,f,y"; for (i = 0; i < 64; i++) { for (j = 0; j < 6; j++)
    printf "%s3e38,", (int(i / 2 ^ j) % 2) ? "-" : ""; print 1 } }' >huge.csv
if run eval-inf-json 1 "$NN" --eval --json --checkpoint r.ckpt --data huge.csv; then
    json_ok eval-inf-json "$T/out"
    pyck eval-inf-json "$T/out" 'j["samples"] == 64 and j["loss"] is None and j["mse"] is None and j["mae"] is None'
    err_one_line eval-inf-json
    err_has eval-inf-json "nntrain: r.ckpt: the loss on huge.csv is "
    err_has eval-inf-json ": the model's outputs are not finite numbers on these data (are they on the scale of the training data?)"
fi
if run eval-inf-text 1 "$NN" --eval --checkpoint r.ckpt --data huge.csv; then
    out_has eval-inf-text "loss      "; err_one_line eval-inf-text; fi
# the same model on data of its scale: finite, exit 0, and MSE = 2 loss / K (K = 1)
{ echo "a,b,c,d,e,f,y"; echo "0.5,0.5,0.5,0.5,0.5,0.5,-0.5"; echo "0.1,0.9,0.1,0.9,0.1,0.9,-1.7"; } >small.csv
if run eval-finite 0 "$NN" --eval --json --checkpoint r.ckpt --data small.csv; then
    json_ok eval-finite "$T/out"
    pyck eval-finite-mse "$T/out" 'abs(j["mse"] - 2 * j["loss"]) <= 1e-6 * abs(j["mse"])'
fi
# an R^2 that is undefined (a constant target) is null in the epoch lines and the summary
awk 'BEGIN { srand(6); print "a,b,y"; for (i = 0; i < 40; i++) printf "%.4f,%.4f,2\n", rand(), rand() }' >k.csv
if run r2-null 0 "$NN" --json --set data.train.path=k.csv --set training.epochs=2 \
        --set 'data.train.targets=["y"]' --set checkpoint.path=k.ckpt r.json; then
    json_ok r2-null "$T/out"
    if "$PY" -c 'import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) == 3 and all(l.get("train_r2", 0) is None for l in lines[:2]), lines
assert lines[2]["summary"]["train_r2"] is None and "val_r2" not in lines[2]["summary"]' "$T/out"; then ok
    else bad "r2-null: $(cat "$T/out")"; fi
fi

# --cv: a fold whose held-out loss is not finite fails the run after the report,
# as --eval does.  One row of 3e38 in every feature: minmax scaling tames it in
# the folds that train on it, not in the fold that holds it out, whose identity
# layers overflow (seed 2; with seed 1 the outputs stay finite: exit 0)
awk 'BEGIN { srand(7); print "a,b,c,d,e,f,y"; for (i = 0; i < 39; i++) { a = rand(); b = rand();
    printf "%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f\n", a, b, a, b, a, b, a - 2 * b }
    print "3e38,3e38,3e38,3e38,3e38,3e38,1" }' >o.csv
if run cv-inf 1 "$NN" --cv 4 --json --quiet --seed 2 --set data.train.path=o.csv --set data.scale=minmax r.json; then
    json_ok cv-inf "$T/out"
    pyck cv-inf "$T/out" 'j["cv"]["folds"] == 4 and j["cv"]["mean"]["loss"] is None'
    err_one_line cv-inf
    err_has cv-inf "nntrain: r.json: --cv: the loss on fold 1's held-out rows is "
    err_has cv-inf ": the model's outputs are not finite numbers on them (are they on the scale of the training data?)"
fi
if run cv-finite 0 "$NN" --cv 4 --json --quiet --set data.train.path=o.csv --set data.scale=minmax r.json; then
    json_ok cv-finite "$T/out"
    pyck cv-finite "$T/out" 'j["cv"]["mean"]["loss"] > 1e70'
fi

# --- checkpoints validated on load like configs -----------------------------------------
# patch_loss IN OUT LOSS DELTA: the LOSS section's loss (u32) and huber delta
# (f64), found by walking the section table, and the CRC-32 rewritten
patch_loss() {
    "$PY" - "$@" <<'PY'
import struct, sys, zlib
src, dst, loss, delta = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
b = bytearray(open(src, 'rb').read())
at, count = 16, struct.unpack_from('<I', b, 12)[0]
for _ in range(count):
    tag, n = bytes(b[at:at + 4]), struct.unpack_from('<Q', b, at + 8)[0]
    if tag == b'LOSS':
        struct.pack_into('<Id', b, at + 16, loss, delta)
        break
    at += 16 + n
else:
    sys.exit('no LOSS section')
b[-4:] = struct.pack('<I', zlib.crc32(bytes(b[:-4])) & 0xffffffff)
open(dst, 'wb').write(bytes(b))
PY
}
# cross_entropy over sigmoid outputs: -log y of a saturated unit was an
# infinite loss in --eval; now the file is refused, naming it and the fields
if patch_loss c.ckpt ce.ckpt 1 1; then
    msg="nntrain: ce.ckpt: malformed checkpoint: loss \"cross_entropy\" (section LOSS) does not fit the output layer of 2 sigmoid units (section ARCH): cross_entropy needs a softmax output layer"
    if run ckpt-ce-eval 1 "$NN" --eval --json --checkpoint ce.ckpt --data c.csv; then
        err_is ckpt-ce-eval "$msg"; out_empty ckpt-ce-eval; fi
    if run ckpt-ce-inspect 1 "$NN" --inspect ce.ckpt; then err_is ckpt-ce-inspect "$msg"; fi
    if run ckpt-ce-predict 1 "$NN" --predict --checkpoint ce.ckpt --data c.csv; then
        err_is ckpt-ce-predict "$msg"; fi
    if run ckpt-ce-resume 1 "$NN" --quiet --resume --epochs 3 --checkpoint ce.ckpt c.json; then
        err_is ckpt-ce-resume "$msg"; fi
else
    bad "could not patch c.ckpt"
fi
# binary_cross_entropy over sigmoid units is a pairing a config may have: read
if patch_loss c.ckpt bce.ckpt 2 1 && run ckpt-bce 0 "$NN" --eval --json --checkpoint bce.ckpt --data c.csv; then
    json_ok ckpt-bce "$T/out"; fi
if patch_loss c.ckpt h0.ckpt 4 0 && run ckpt-huber0 1 "$NN" --eval --checkpoint h0.ckpt --data c.csv; then
    err_is ckpt-huber0 "nntrain: h0.ckpt: malformed checkpoint: loss \"huber\" with delta 0 (section LOSS): it must be positive"
fi
if patch_loss c.ckpt h1.ckpt 4 0.5 && run ckpt-huber 0 "$NN" --eval --json --checkpoint h1.ckpt --data c.csv; then
    json_ok ckpt-huber "$T/out"; fi
if patch_loss r.ckpt rce.ckpt 1 1 && run ckpt-reg-ce 1 "$NN" --eval --checkpoint rce.ckpt --data small.csv; then
    err_is ckpt-reg-ce "nntrain: rce.ckpt: malformed checkpoint: loss \"cross_entropy\" (section LOSS) is a classification loss, but the model has 1 regression targets (section DATA)"
fi

# --- divergence: what went non-finite first, and the advice ------------------------------
# diverges NAME CODE-OK ARGS...: training fails with exit 1, one line, and no checkpoint
diverges() {
    name=$1; shift
    rm -f d.ckpt
    if run "$name" 1 "$NN" --quiet --set checkpoint.path=d.ckpt "$@"; then
        err_one_line "$name"; err_has "$name" "nntrain: training diverged: "
        err_has "$name" "; no checkpoint was written"
        [ ! -e d.ckpt ] && ok || bad "$name: a checkpoint was written"
        return 0
    fi
    return 1
}
# the data: minmax scaling of a column from -3e38 to 3e38 divides by a range
# beyond the float range (x - min overflows): the row is infinite as the
# network sees it; the sigmoid/MSE net saturates on it, its gradient is NaN,
# and the loss of the next batch is NaN.  The row is named, and the advice is
# the data's, not the learning rate's.
{ head -n 1 c.csv; echo "3e38,0.5,0.5,1"; echo "-3e38,0.5,0.5,0"; tail -n +2 c.csv; } >cmm.csv
if diverges data --data cmm.csv --set data.scale=minmax c.json; then
    err_has data "the loss is NaN at epoch 1, batch 2: the data went non-finite first: row 1 of cmm.csv (counting data rows from 1), feature 1, is infinite after data.scale \"minmax\" (check the data and its scaling, data.scale)"
    err_lacks data "learning_rate"
fi
# the forward pass before any update: identity layers on inputs of +-3e38 in
# every sign pattern overflow at the first batch
if diverges forward-first --data huge.csv r.json; then
    err_has forward-first "the loss is NaN at epoch 1, batch 1: the forward pass went non-finite first: the layer 1 outputs, from finite data and parameters before any update (the batch's largest |input| is 3e+38: check the data's scale, data.scale, and the layers' init)"
    err_lacks forward-first "learning_rate"
fi
# the gradients at a tiny rate: inputs near 1e25 give a finite loss (summed
# in double) and weight gradients beyond the float range; the first update
# makes the weights infinite whatever the rate
awk 'BEGIN { srand(5); print "a,b,y"; for (i = 0; i < 64; i++) { a = rand(); b = rand();
    printf "%.4f,%.4f,%.4f\n", a * 1e25, b * 1e25, a - 2 * b } }' >g.csv
for opt in sgd adam; do
    if diverges "gradient-$opt" --data g.csv --set 'data.train.targets=["y"]' \
            --set optimizer.name=$opt --set optimizer.learning_rate=1e-9 r.json; then
        err_has "gradient-$opt" "the loss is NaN at epoch 1, batch 2: the gradients went non-finite first: an update with non-finite gradients made the layer 1 weights non-finite"
        err_has "gradient-$opt" "; bound them with optimizer.clip_norm, or check the scale of the data and the targets;"
        err_lacks "gradient-$opt" "learning_rate"
    fi
done
err_has gradient-adam "(the optimizer's moments are not finite)"
if diverges gradient-clipped --data g.csv --set 'data.train.targets=["y"]' --set optimizer.clip_norm=1 \
        --set optimizer.learning_rate=1e-9 r.json; then
    err_has gradient-clipped "the gradients went non-finite first: "
    err_has gradient-clipped "clipping cannot bound a non-finite gradient: check the scale of the data and the targets"
fi
# the learning rate: a step of 1e38 from finite gradients overflows the weights
awk 'BEGIN { srand(5); print "a,b,y"; for (i = 0; i < 64; i++) { a = rand(); b = rand();
    printf "%.4f,%.4f,%.4f\n", a * 10, b * 10, 1000 * (a - 2 * b) } }' >u.csv
if diverges update --data u.csv --set 'data.train.targets=["y"]' --set optimizer.learning_rate=1e38 r.json; then
    err_has update "the loss is NaN at epoch 1, batch 2: the update went non-finite first: a step at learning rate 1e+38 made the layer 1 weights non-finite from finite gradients (lower optimizer.learning_rate)"
fi
# ... and one of 1e30 leaves them finite but so large that the next batch's
# outputs overflow
if diverges forward-later --set optimizer.learning_rate=1e30 r.json; then
    err_has forward-later "the loss is NaN at epoch 1, batch 2: the forward pass went non-finite first: the layer 2 outputs, from finite data and parameters after 1 updates (the weights grew too large: lower optimizer.learning_rate, or bound the steps with optimizer.clip_norm;"
fi
# one batch an epoch: the update of the last batch is caught by the
# parameters' check after the epoch
if diverges epoch-end --data u.csv --set 'data.train.targets=["y"]' --set training.batch_size=64 \
        --set optimizer.learning_rate=1e38 r.json; then
    err_has epoch-end "is not finite after epoch 1, batch 1: the update went non-finite first: a step at learning rate 1e+38 made the layer 1 weights non-finite from finite gradients (lower optimizer.learning_rate)"
fi

echo "finite: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
