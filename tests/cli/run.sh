#!/bin/sh
# Command-line tests: the binary, an input, the expected exit code and the
# expected stdout/stderr.  Usage: sh tests/cli/run.sh PATH/TO/nntrain
# Makes its own small data in a temporary folder; needs no network.
set -u
NN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
T=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-cli-XXXXXX")
trap 'rm -rf "$T"' EXIT
export LC_ALL=C
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# run NAME EXPECTED_CODE CMD...: runs CMD with stdout in $T/out, stderr in $T/err
run() {
    name=$1 want=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    code=$?
    if [ "$code" -ne "$want" ]; then
        bad "$name: exit code $code, expected $want; stderr: $(head -c 400 "$T/err")"
        return 1
    fi
    return 0
}
# err_is NAME TEXT: stderr is exactly TEXT (one line)
err_is() {
    if [ "$(cat "$T/err")" = "$2" ]; then ok; else bad "$1: stderr is '$(cat "$T/err")', expected '$2'"; fi
}
# err_has NAME TEXT / out_has NAME TEXT: contains the fixed string
err_has() { if grep -qF -- "$2" "$T/err"; then ok; else bad "$1: stderr lacks '$2': $(head -c 400 "$T/err")"; fi; }
out_has() { if grep -qF -- "$2" "$T/out"; then ok; else bad "$1: stdout lacks '$2': $(head -c 400 "$T/out")"; fi; }
err_empty() { if [ ! -s "$T/err" ]; then ok; else bad "$1: stderr not empty: $(head -c 400 "$T/err")"; fi; }
out_empty() { if [ ! -s "$T/out" ]; then ok; else bad "$1: stdout not empty: $(head -c 400 "$T/out")"; fi; }
# one error line starting "nntrain: "
err_one_line() {
    if [ "$(wc -l <"$T/err")" -eq 1 ] && head -n1 "$T/err" | grep -q '^nntrain: '; then ok
    else bad "$1: stderr is not one 'nntrain: ' line: $(cat "$T/err")"; fi
}

# --- small data: a separable two-feature problem as IDX ------------------
# mkidx FILE N SEED: N samples of 4 byte features, labels alternate 0/1;
# class 1 has features 0 and 1 high.  Writes FILE-images.idx and FILE-labels.idx.
mkidx() {
    awk -v n="$2" -v seed="$3" 'BEGIN {
        srand(seed);
        printf "%c%c%c%c", 0, 0, 8, 2 > "/dev/stdout";
        printf "%c%c%c%c%c%c%c%c", 0, 0, int(n / 256), n % 256, 0, 0, 0, 4;
        for (i = 0; i < n; i++) {
            y = i % 2;
            for (f = 0; f < 4; f++) {
                v = int(rand() * 76); if (f < 2 && y) v += 180;
                printf "%c", v;
            }
        }
    }' >"$1-images.idx"
    awk -v n="$2" 'BEGIN {
        printf "%c%c%c%c", 0, 0, 8, 1;
        printf "%c%c%c%c", 0, 0, int(n / 256), n % 256;
        for (i = 0; i < n; i++) printf "%c", i % 2;
    }' >"$1-labels.idx"
}
mkidx "$T/train" 200 1
mkidx "$T/test" 60 2
gzip -c "$T/train-images.idx" >"$T/train-images.idx.gz"

cat >"$T/small.json" <<JSON
{
  "seed": 3,
  "data": {
    "train": {"images": "train-images.idx.gz", "labels": "train-labels.idx"},
    "test":  {"images": "test-images.idx", "labels": "test-labels.idx"},
    "validation_fraction": 0.2
  },
  "model": {"layers": [{"units": 5, "activation": "sigmoid"},
                       {"units": 2, "activation": "sigmoid"}]},
  "optimizer": {"name": "sgd", "learning_rate": 2.0},
  "training": {"epochs": 40, "batch_size": 8},
  "checkpoint": {"path": "runs/small.ckpt"}
}
JSON
C=$T/small.json
CK=$T/runs/small.ckpt

# --- help, version, usage errors -----------------------------------------
if run help 0 "$NN" --help; then out_has help "usage:"; out_has help "--threads N"; err_empty help; fi
if run version 0 "$NN" --version; then out_has version "nntrain 0."; err_empty version; fi
if run unknown-option 2 "$NN" --bogus "$C"; then
    if [ "$(head -n1 "$T/err")" = "nntrain: unknown option '--bogus'" ] &&
       sed -n 2p "$T/err" | grep -q '^usage: nntrain'; then ok; else bad "unknown-option: $(cat "$T/err")"; fi
    out_empty unknown-option
fi
if run no-config 2 "$NN"; then err_has no-config "nntrain: no config file given"; fi
if run bad-epochs 2 "$NN" --epochs 0 "$C"; then
    err_has bad-epochs "nntrain: --epochs: expected an integer from 1 to 1000000, found '0'"; fi
if run bad-threads 2 "$NN" --threads=abc "$C"; then
    err_has bad-threads "nntrain: --threads: expected an integer from 1 to 1024, found 'abc'"; fi
if run missing-value 2 "$NN" "$C" --seed; then err_has missing-value "nntrain: option '--seed' needs a value"; fi
if run bad-isa 2 env NNTRAIN_ISA=sse9 "$NN" "$C"; then
    err_is bad-isa "nntrain: NNTRAIN_ISA=sse9: unknown instruction set (expected scalar, avx2 or avx512)"; fi
if run bad-data-spec 2 "$NN" --eval --checkpoint "$CK" --data onlyone.idx; then
    err_one_line bad-data-spec; err_has bad-data-spec "expected IMAGES,LABELS"; fi

# --- config errors ---------------------------------------------------------
if run missing-config 1 "$NN" "$T/nope.json"; then err_is missing-config "nntrain: $T/nope.json: No such file or directory"; fi
printf '{\n  "seed": 1,\n  "optimizer": {"learing_rate": 0.1},\n  "model": {"layers": [{"units": 2}]},\n  "data": {"train": {"images": "a", "labels": "b"}}\n}\n' >"$T/typo.json"
if run config-typo 2 "$NN" "$T/typo.json"; then
    err_is config-typo "nntrain: $T/typo.json:3:17: unknown key \"learing_rate\" in \"optimizer\" (did you mean \"learning_rate\"?)"; fi
printf '{"seed": 1,\n "model": {"layers": [{"units": 2}]},\n "training": {"epochs": "ten"},\n "data": {"train": {"images": "a", "labels": "b"}}}\n' >"$T/type.json"
if run config-type 2 "$NN" "$T/type.json"; then err_one_line config-type; err_has config-type "type.json:3:25: \"training.epochs\" must be an integer from 1 to 1000000, found a string"; fi
printf '{"seed": 1,\n "model": {"layers": [{"units": 2}]\n' >"$T/syntax.json"
if run config-syntax 2 "$NN" "$T/syntax.json"; then err_one_line config-syntax; err_has config-syntax "syntax.json:"; fi

# --- training, output streams, checkpoint ------------------------------------
if run train 0 "$NN" --threads 1 "$C"; then
    err_empty train   # stderr is not a terminal: no progress bar, no control characters
    if [ "$(wc -l <"$T/out")" -eq 40 ]; then ok; else bad "train: expected 40 epoch lines"; fi
    if head -n1 "$T/out" | grep -Eq '^epoch 1/40  train_loss [0-9.]+  train_accuracy [0-9.]+  val_loss [0-9.]+  val_accuracy [0-9.]+  seconds [0-9.]+  samples_per_second [0-9]+$'
    then ok; else bad "train: first line is '$(head -n1 "$T/out")'"; fi
    if tail -n1 "$T/out" | grep -q 'train_accuracy 1.0000  val_loss [0-9.]*  val_accuracy 1.0000'; then ok
    else bad "train: did not learn the separable problem: $(tail -n1 "$T/out")"; fi
    [ -s "$CK" ] && ok || bad "train: no checkpoint at $CK"
    [ -z "$(ls "$T/runs" | grep -v '^small.ckpt$')" ] && ok || bad "train: stray files in runs/: $(ls "$T/runs")"
fi
cp "$CK" "$T/first.ckpt"
if run train-again-2-threads 0 "$NN" --threads 2 --quiet "$C"; then
    out_empty train-quiet
    cmp -s "$CK" "$T/first.ckpt" && ok || bad "determinism: checkpoints of two runs differ"
fi
if run train-json 0 "$NN" --json --epochs 2 --checkpoint "$T/j.ckpt" "$C"; then
    if [ "$(grep -c '^{"epoch":[12],"train_loss":[^,]*,"train_accuracy":[^,]*,"val_loss":[^,]*,"val_accuracy":[^,]*,"seconds":[^,]*,"samples_per_second":[0-9]*}$' "$T/out")" -eq 2 ]
    then ok; else bad "train-json: $(cat "$T/out")"; fi
fi

# --- resume: 15 then 40 equals 40 in one run ---------------------------------
# (the same checkpoint path both times: it is part of the stored config)
run resume-whole 0 "$NN" --checkpoint "$T/r.ckpt" "$C" && mv "$T/r.ckpt" "$T/whole.ckpt"
if run resume-first 0 "$NN" --epochs 15 --checkpoint "$T/r.ckpt" "$C" &&
   run resume-rest 0 "$NN" --resume --checkpoint "$T/r.ckpt" "$C"; then
    if [ "$(wc -l <"$T/out")" -eq 25 ] && head -n1 "$T/out" | grep -q '^epoch 16/40 '; then ok
    else bad "resume: output $(head -n1 "$T/out")"; fi
    cmp -s "$T/r.ckpt" "$T/whole.ckpt" && ok || bad "resume: 15+25 epochs differ from 40"
fi
if run resume-done 0 "$NN" --resume --checkpoint "$T/r.ckpt" "$C"; then err_has resume-done "nothing to do"; fi
if run resume-missing 1 "$NN" --resume --checkpoint "$T/none.ckpt" "$C"; then
    err_is resume-missing "nntrain: $T/none.ckpt: No such file or directory"; fi

# --- eval and inspect ----------------------------------------------------------
if run eval 0 "$NN" --eval "$C"; then
    out_has eval "samples   60"; out_has eval "accuracy  1.0000"; out_has eval "confusion matrix"; err_empty eval
    cp "$T/out" "$T/eval.txt"
fi
if run eval-no-config 0 "$NN" --eval --checkpoint "$CK" --data "$T/test-images.idx,$T/test-labels.idx"; then
    cmp -s "$T/out" "$T/eval.txt" && ok || bad "eval without config differs from eval with it"
fi
if run eval-json 0 "$NN" --eval --json "$C"; then
    if grep -q '^{"samples":60,"loss":[0-9.e-]*,"accuracy":1,"classes":\[.*\],"confusion":\[\[30,0\],\[0,30\]\]}$' "$T/out"
    then ok; else bad "eval-json: $(cat "$T/out")"; fi
fi
if run inspect 0 "$NN" --inspect "$CK"; then
    out_has inspect "model        4 inputs -> 5 sigmoid -> 2 sigmoid"; out_has inspect "epoch        40"
fi
if run inspect-json 0 "$NN" --inspect "$CK" --json; then
    out_has inspect-json '"inputs":4,"layers":[{"units":5,"activation":"sigmoid"},{"units":2,"activation":"sigmoid"}]'
fi
if run eval-full-stdout 1 sh -c "'$NN' --eval '$C' >/dev/full"; then
    err_has eval-full-stdout "nntrain: error writing to standard output"; fi

# --- damaged and mismatched inputs -----------------------------------------------
head -c 100 "$CK" >"$T/cut.ckpt"
if run inspect-truncated 1 "$NN" --inspect "$T/cut.ckpt"; then
    err_is inspect-truncated "nntrain: $T/cut.ckpt: checksum mismatch (file is corrupt or truncated)"; fi
cp "$CK" "$T/flip.ckpt"
printf 'X' | dd of="$T/flip.ckpt" bs=1 seek=200 conv=notrunc 2>/dev/null
if run eval-corrupt 1 "$NN" --eval --checkpoint "$T/flip.ckpt" --data "$T/test-images.idx,$T/test-labels.idx"; then
    err_has eval-corrupt "checksum mismatch"; fi
if run inspect-not-ckpt 1 "$NN" --inspect "$C"; then err_is inspect-not-ckpt "nntrain: $C: not an nntrain checkpoint"; fi
if run eval-count-mismatch 1 "$NN" --eval --checkpoint "$CK" --data "$T/test-images.idx,$T/train-labels.idx"; then
    err_is eval-count-mismatch "nntrain: $T/train-labels.idx: 200 labels but 60 images"; fi
head -c 300 "$T/train-images.idx" >"$T/cut-images.idx"
if run truncated-idx 1 "$NN" --eval --checkpoint "$CK" --data "$T/cut-images.idx,$T/train-labels.idx"; then
    err_one_line truncated-idx; err_has truncated-idx "cut-images.idx"; fi
if run missing-data 1 "$NN" --data "$T/none-images.idx,$T/train-labels.idx" "$C"; then
    err_is missing-data "nntrain: $T/none-images.idx: No such file or directory"; fi
if run eval-features 1 "$NN" --eval --checkpoint "$CK" --data "$T/test-labels.idx,$T/test-labels.idx"; then
    err_one_line eval-features; err_has eval-features "features, the checkpoint's model takes 4"; fi
sed 's/"learning_rate": 2.0/"learning_rate": 1e30/; s/"units": 2, "activation": "sigmoid"/"units": 2, "activation": "identity"/' "$C" >"$T/diverge.json"
if run diverge 1 "$NN" --checkpoint "$T/d.ckpt" "$T/diverge.json"; then
    err_one_line diverge; err_has diverge "training diverged: the loss is"; err_has diverge "at epoch 1, batch"
    [ ! -e "$T/d.ckpt" ] && ok || bad "diverge: a checkpoint was written"
fi

# --- a terminal on stderr gets the progress bar --------------------------------------
if command -v script >/dev/null 2>&1; then
    if run progress-tty 0 script -qfec "'$NN' --epochs 2 --checkpoint '$T/p.ckpt' '$C' >/dev/null" /dev/null; then
        if grep -q 'batch 20/20' "$T/out"; then ok; else bad "progress-tty: no bar on a terminal: $(head -c 300 "$T/out")"; fi
    fi
fi

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
