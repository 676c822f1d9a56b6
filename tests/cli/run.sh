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
    err_is bad-isa "nntrain: NNTRAIN_ISA=sse9: unknown kernel family (fp32 runs use scalar, avx2 or avx512; bf16 runs scalar, avx2bf16, avx512bf16 or amx)"; fi
if run bad-data-spec 2 "$NN" --eval --checkpoint "$CK" --data a.idx,b.idx,c.idx; then
    err_has bad-data-spec "expected IMAGES,LABELS"; fi

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
    # stderr is not a terminal: no progress bar, no control characters; only
    # the summary (tests/cli/pipe.sh checks its numbers)
    if [ "$(grep -c '^nntrain: \(summary:\|final epoch [0-9]*\|best epoch [0-9]*\) ' "$T/err")" -eq 3 ] &&
       [ "$(wc -l <"$T/err")" -eq 3 ] && ! grep -q "$(printf '[\r\033]')" "$T/err"; then ok
    else bad "train: stderr should hold the summary alone: $(head -c 400 "$T/err")"; fi
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
    if grep -q '^{"samples":60,"loss":[0-9.e-]*,"accuracy":1,"macro_f1":1,"classes":\[.*\],"confusion":\[\[30,0\],\[0,30\]\]}$' "$T/out"
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
    err_has diverge " went non-finite first: "; err_has diverge "lower optimizer.learning_rate"
    [ ! -e "$T/d.ckpt" ] && ok || bad "diverge: a checkpoint was written"
fi

# --- CSV: dialects, string labels, predict, regression -----------------------------
# mkcsv FILE N SEED: a header and N rows "x1,x2,x3,colour"; colour is a string
# class (red/green/blue) decided by which feature is largest.
mkcsv() {
    awk -v n="$2" -v seed="$3" 'BEGIN {
        srand(seed); print "x1,x2,x3,colour";
        split("red green blue", name, " ");
        for (i = 0; i < n; i++) {
            k = i % 3 + 1;
            for (f = 1; f <= 3; f++) v[f] = rand() * 0.4;
            v[k] += 0.6;
            printf "%.3f,%.3f,%.3f,%s\n", v[1], v[2], v[3], name[k];
        }
    }' >"$1"
}
mkcsv "$T/col-train.csv" 240 5
mkcsv "$T/col-test.csv" 60 6
cat >"$T/col.json" <<JSON
{"seed": 2,
 "data": {"train": {"path": "col-train.csv", "label": "colour"},
          "test": {"path": "col-test.csv", "label": "colour"},
          "validation_fraction": 0.25, "scale": "none"},
 "model": {"layers": [{"units": 6, "activation": "sigmoid"}, {"units": 3, "activation": "sigmoid"}]},
 "loss": "mse",
 "optimizer": {"name": "sgd", "learning_rate": 3.0},
 "training": {"epochs": 60, "batch_size": 8},
 "checkpoint": {"path": "col.ckpt"}}
JSON
CC=$T/col.ckpt
if run csv-train 0 "$NN" "$T/col.json"; then
    if tail -n1 "$T/out" | grep -q 'val_accuracy 1.0000'; then ok; else bad "csv-train: $(tail -n1 "$T/out")"; fi
fi
if run csv-eval 0 "$NN" --eval "$T/col.json"; then
    out_has csv-eval "accuracy  1.0000"; out_has csv-eval "blue  "; out_has csv-eval "green"
fi
if run csv-eval-json 0 "$NN" --eval --json --checkpoint "$CC" --data "$T/col-test.csv"; then
    out_has csv-eval-json '"classes":[{"class":"blue",'
    out_has csv-eval-json '"confusion":[[20,0,0],[0,20,0],[0,0,20]]'
fi
if run csv-inspect 0 "$NN" --inspect "$CC"; then out_has csv-inspect "classes      3 (blue, green, red)"; fi
# predict: the label column is ignored when present (by header name), features
# alone work too; output is in input order, one line per sample
cut -d, -f1-3 "$T/col-test.csv" >"$T/col-features.csv"
if run predict-file 0 "$NN" --predict --checkpoint "$CC" --data "$T/col-test.csv"; then
    if [ "$(wc -l <"$T/out")" -eq 60 ] && [ "$(head -n3 "$T/out" | tr '\n' ' ')" = "red green blue " ]; then ok
    else bad "predict-file: $(head -n3 "$T/out")"; fi
    cp "$T/out" "$T/pred1"
fi
if run predict-stdin 0 sh -c "'$NN' --predict --checkpoint '$CC' <'$T/col-features.csv'"; then
    cmp -s "$T/out" "$T/pred1" && ok || bad "predict-stdin differs from predict-file"
fi
gzip -c "$T/col-test.csv" >"$T/col-test.csv.gz"
if run predict-gz 0 "$NN" --predict --checkpoint "$CC" --data "$T/col-test.csv.gz"; then
    cmp -s "$T/out" "$T/pred1" && ok || bad "predict-gz differs"
fi
if run predict-scores 0 "$NN" --predict --scores --checkpoint "$CC" --data "$T/col-features.csv"; then
    if head -n1 "$T/out" | grep -Eq '^red,[-0-9.e]+,[-0-9.e]+,[-0-9.e]+$'; then ok; else bad "predict-scores: $(head -n1 "$T/out")"; fi
fi
# predict streams: an answer appears while stdin is still open
mkfifo "$T/fifo"
"$NN" --predict --checkpoint "$CC" <"$T/fifo" >"$T/stream.out" 2>"$T/stream.err" &
ppid=$!
exec 3>"$T/fifo"
printf 'x1,x2,x3\n0.9,0.1,0.1\n' >&3
got=
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    if [ -s "$T/stream.out" ]; then got=$(cat "$T/stream.out"); break; fi
    sleep 0.5
done
[ "$got" = "red" ] && ok || bad "predict-stream: no answer while stdin open (got '$got')"
printf '0.1,0.1,0.9\n' >&3
exec 3>&-
wait "$ppid" && [ "$(cat "$T/stream.out" | tr '\n' ' ')" = "red blue " ] && ok || bad "predict-stream: final output '$(cat "$T/stream.out")' $(cat "$T/stream.err")"
# IDX images in, from a file and from stdin
if run predict-idx 0 "$NN" --predict --checkpoint "$CK" --data "$T/test-images.idx"; then
    if [ "$(wc -l <"$T/out")" -eq 60 ] && [ "$(head -n2 "$T/out" | tr '\n' ' ')" = "0 1 " ]; then ok; else bad "predict-idx: $(head -n3 "$T/out")"; fi
fi
if run predict-idx-stdin 0 sh -c "gzip -c '$T/test-images.idx' | '$NN' --predict --checkpoint '$CK'"; then
    [ "$(wc -l <"$T/out")" -eq 60 ] && ok || bad "predict-idx-stdin: $(wc -l <"$T/out") lines"
fi

# CSV dialects: CRLF, BOM, quotes, no final newline, semicolons, whitespace
printf '\357\273\277x1;x2;x3;colour\r\n"0.9";0.1;0.1;"red"\r\n0.1;0.1;0.9;blue\r\n0.1;0.9;0.1;"gr""een"' >"$T/dialect.csv"
if run csv-dialect 1 "$NN" --eval --checkpoint "$CC" --data "$T/dialect.csv" --set data.test.delimiter=';' "$T/col.json"; then
    err_has csv-dialect "dialect.csv:4: label"
fi
printf '\357\273\277x1;x2;x3;colour\r\n"0.9";0.1;0.1;"red"\r\n0.1;0.1;0.9;blue\r\n0.1;0.9;0.1;"green"' >"$T/dialect.csv"
if run csv-dialect-ok 0 "$NN" --eval --json --set data.test.path=dialect.csv --set 'data.test.delimiter=;' "$T/col.json"; then
    out_has csv-dialect-ok '"samples":3,'; out_has csv-dialect-ok '"accuracy":1,'
fi
printf '  0.9\t0.1  0.1 red\n0.1 0.1\t0.9 blue  \n\n\n' >"$T/ws.csv"
if run csv-whitespace 0 "$NN" --eval --json --set data.test.path=ws.csv --set data.test.delimiter=whitespace --set data.test.label=-1 "$T/col.json"; then
    out_has csv-whitespace '"samples":2,'; out_has csv-whitespace '"accuracy":1,'
fi

# CSV errors: each exit 1 with file:line
printf 'x1,x2,x3,colour\n0.1,0.2,0.3,red\n0.1,0.2,blue\n' >"$T/ragged.csv"
if run csv-ragged 1 "$NN" --data "$T/ragged.csv" --checkpoint "$T/e.ckpt" "$T/col.json"; then
    err_is csv-ragged "nntrain: $T/ragged.csv:3: expected 4 fields, found 3"; fi
printf 'x1,x2,x3,colour\n0.1,abc,0.3,red\n' >"$T/text.csv"
if run csv-text 1 "$NN" --data "$T/text.csv" --checkpoint "$T/e.ckpt" "$T/col.json"; then
    err_is csv-text "nntrain: $T/text.csv:2: field 2 (\"x2\") is not a number: \"abc\""; fi
printf 'x1,x2,x3,colour\n0.1,nan,0.3,red\n' >"$T/nan.csv"
if run csv-nan 1 "$NN" --data "$T/nan.csv" --checkpoint "$T/e.ckpt" "$T/col.json"; then
    err_one_line csv-nan; err_has csv-nan "nan.csv:2: field 2"; fi
: >"$T/empty.csv"
if run csv-empty 1 "$NN" --data "$T/empty.csv" --checkpoint "$T/e.ckpt" "$T/col.json"; then
    err_is csv-empty "nntrain: $T/empty.csv: empty file"; fi
printf 'x1,x2,x3,colour\n' >"$T/hdr.csv"
if run csv-header-only 1 "$NN" --data "$T/hdr.csv" --checkpoint "$T/e.ckpt" "$T/col.json"; then
    err_is csv-header-only "nntrain: $T/hdr.csv: header but no data rows"; fi
if run csv-no-label-column 1 "$NN" --set data.train.label=species "$T/col.json"; then
    err_is csv-no-label-column "nntrain: $T/col-train.csv:1: no column \"species\" in the header (columns: x1, x2, x3, colour)"; fi
printf 'x1,x2,x3,colour\n0.9,0.1,0.1,purple\n' >"$T/unseen.csv"
if run csv-unseen-label 1 "$NN" --eval --checkpoint "$CC" --data "$T/unseen.csv"; then
    err_is csv-unseen-label "nntrain: $T/unseen.csv:2: label \"purple\" was not seen in training"; fi
awk 'BEGIN { printf "x1,x2,x3,colour\n"; for (i = 0; i < 1100000; i++) printf "1"; printf ",0,0,red\n" }' >"$T/long.csv"
if run csv-long-line 1 "$NN" --eval --checkpoint "$CC" --data "$T/long.csv"; then
    err_is csv-long-line "nntrain: $T/long.csv:2: line longer than 1048576 bytes"; fi
if run predict-ragged 1 sh -c "printf '0.1,0.2\n' | '$NN' --predict --checkpoint '$CK'"; then
    err_is predict-ragged "nntrain: stdin:1: expected 4 fields, found 2"; fi

# regression: targets, metrics, predictions
awk 'BEGIN { srand(3); print "a,b,y";
    for (i = 0; i < 200; i++) { a = rand(); b = rand(); printf "%.4f,%.4f,%.4f\n", a, b, 2 * a - b + 0.5 } }' >"$T/reg.csv"
cat >"$T/reg.json" <<JSON
{"data": {"train": {"path": "reg.csv", "targets": ["y"]}, "validation_fraction": 0.2, "scale": "none",
          "scale_targets": false},
 "model": {"layers": [{"units": 1}]},
 "optimizer": {"name": "sgd", "learning_rate": 0.5},
 "training": {"epochs": 100, "batch_size": 10},
 "checkpoint": {"path": "reg.ckpt"}}
JSON
if run reg-train 0 "$NN" --json "$T/reg.json"; then
    if grep '^{"epoch"' "$T/out" | tail -n1 | grep -q '"train_mse":[0-9.e-]*,"train_mae":[0-9.e-]*,"train_r2":0.99'; then ok
    else bad "reg-train: $(grep '^{"epoch"' "$T/out" | tail -n1)"; fi
    if grep -q accuracy "$T/out"; then bad "reg-train: accuracy in a regression line"; else ok; fi
fi
if run reg-eval 0 "$NN" --eval --checkpoint "$T/reg.ckpt" --data "$T/reg.csv"; then
    out_has reg-eval "samples   200"; out_has reg-eval "mse       0.0000"; if grep -Eq '^r2        (1\.0000|0\.99)' "$T/out"; then ok; else bad "reg-eval: $(cat "$T/out")"; fi
fi
if run reg-predict 0 sh -c "printf 'a,b\n1,1\n0,0\n' | '$NN' --predict --checkpoint '$T/reg.ckpt'"; then
    if awk -F, 'NR == 1 && ($1 < 1.45 || $1 > 1.55) { exit 1 } NR == 2 && ($1 < 0.45 || $1 > 0.55) { exit 1 }' "$T/out"
    then ok; else bad "reg-predict: $(cat "$T/out")"; fi
fi

# --set
if run set-typo 2 "$NN" --set optimizer.learing_rate=0.1 "$T/col.json"; then
    err_is set-typo "nntrain: --set optimizer.learing_rate=0.1: unknown key \"learing_rate\" in \"optimizer\" (did you mean \"learning_rate\"?)"; fi
if run set-range 2 "$NN" --set training.epochs=0 "$T/col.json"; then
    err_is set-range "nntrain: --set training.epochs=0: \"training.epochs\" must be an integer from 1 to 1000000, found 0"; fi
if run set-malformed 2 "$NN" --set foo "$T/col.json"; then err_is set-malformed "nntrain: --set foo: expected KEY=VALUE"; fi
if run set-nested 0 "$NN" --quiet --set model.layers.0.units=4 --set training.epochs=2 --set checkpoint.path=set.ckpt "$T/col.json" &&
   run set-nested-inspect 0 "$NN" --inspect "$T/set.ckpt"; then
    out_has set-nested "model        3 inputs -> 4 sigmoid -> 3 sigmoid"; out_has set-nested "epoch        2"
fi

# --- issue 5: gradcheck, losses, optimizers, early stopping -----------------------
if run gradcheck 0 "$NN" --gradcheck "$T/col.json"; then
    out_has gradcheck "layer  units  activation  weights    biases     inputs"
    out_has gradcheck "pass (tolerance 1e-06)"
fi
if run gradcheck-json 0 "$NN" --gradcheck --json --set 'model.layers=[{"units":4,"activation":"tanh"},{"units":3,"activation":"leaky_relu","alpha":0.2},{"units":3,"activation":"softmax"}]' --set loss=cross_entropy "$T/col.json"; then
    if [ "$(grep -c '^{"layer":[123],"units":[34],"activation":"[a-z_]*","weights":[0-9.e-]*,"biases":[0-9.e-]*' "$T/out")" -eq 3 ] &&
       grep -q '"pass":true}$' "$T/out"; then ok; else bad "gradcheck-json: $(cat "$T/out")"; fi
fi
if run gradcheck-regression 0 "$NN" --gradcheck --set loss=huber --set huber_delta=0.5 "$T/reg.json"; then out_has gradcheck-regression "pass"; fi
if run pairing 2 "$NN" --set loss=cross_entropy "$T/col.json"; then
    err_one_line pairing; err_has pairing 'loss "cross_entropy" needs a softmax output layer'; fi
if run softmax-ce 0 "$NN" --json --set 'model.layers=[{"units":8,"activation":"relu","dropout":0.1},{"units":3,"activation":"softmax"}]' \
        --set loss=cross_entropy --set optimizer.name=adam --set optimizer.learning_rate=0.02 \
        --set checkpoint.path=ce.ckpt "$T/col.json"; then
    if grep '^{"epoch"' "$T/out" | tail -n1 | grep -q '"val_accuracy":1,'; then ok
    else bad "softmax-ce: $(grep '^{"epoch"' "$T/out" | tail -n1)"; fi
fi
if run early-stop 0 "$NN" --set training.early_stopping.patience=2 --set training.early_stopping.min_delta=100 \
        --set checkpoint.path=es.ckpt "$T/col.json"; then
    [ "$(wc -l <"$T/out")" -eq 3 ] && ok || bad "early-stop: $(wc -l <"$T/out") epochs"
    err_has early-stop "nntrain: early stopping after epoch 3: the validation loss has not improved for 2 epochs"
fi

# --- issue 4: every instruction set, any thread count, the same bytes ---------------
isas="scalar"
grep -q ' avx2' /proc/cpuinfo 2>/dev/null && grep -q ' fma' /proc/cpuinfo && isas="$isas avx2"
grep -q ' avx512f' /proc/cpuinfo 2>/dev/null && isas="$isas avx512"
for isa in $isas; do
    for th in 1 2 3 5; do
        if run "isa-$isa-$th" 0 env NNTRAIN_ISA="$isa" "$NN" --quiet --threads "$th" --epochs 30 --checkpoint "$T/isa.ckpt" \
            --set 'model.layers=[{"units":40,"activation":"sigmoid"},{"units":33,"activation":"tanh"},{"units":2}]' --set optimizer.learning_rate=0.5 "$C"; then
            if [ "$th" -eq 1 ]; then cp "$T/isa.ckpt" "$T/isa-$isa.ckpt"; ok
            else cmp -s "$T/isa.ckpt" "$T/isa-$isa.ckpt" && ok || bad "isa $isa: --threads $th gives other bytes than --threads 1"; fi
        fi
    done
    if run "isa-$isa-eval" 0 env NNTRAIN_ISA="$isa" "$NN" --eval --json --checkpoint "$T/isa-$isa.ckpt" --data "$T/test-images.idx,$T/test-labels.idx"; then
        out_has "isa-$isa-eval" '"accuracy":1,'
    fi
done
# A wider problem, so the batch conversion and the optimizer's update are
# shared among the threads too (400 features, batch 320, 80,000+ parameters).
awk 'BEGIN {
    n = 700; f = 400; srand(5);
    printf "%c%c%c%c", 0, 0, 8, 2;
    printf "%c%c%c%c%c%c%c%c", 0, 0, int(n / 256), n % 256, 0, 0, int(f / 256), f % 256;
    for (i = 0; i < n * f; i++) printf "%c", int(rand() * 256);
}' >"$T/wide-images.idx"
awk 'BEGIN { n = 700; printf "%c%c%c%c", 0, 0, 8, 1; printf "%c%c%c%c", 0, 0, int(n / 256), n % 256;
    for (i = 0; i < n; i++) printf "%c", i % 3; }' >"$T/wide-labels.idx"
WIDE="--set data.train.images=$T/wide-images.idx --set data.train.labels=$T/wide-labels.idx"
WIDE="$WIDE --set data.test.images=$T/wide-images.idx --set data.test.labels=$T/wide-labels.idx"
WIDE="$WIDE --set training.batch_size=320 --set optimizer.name=adam --set optimizer.learning_rate=0.001"
WIDE="$WIDE --set model.layers=[{\"units\":200,\"activation\":\"relu\"},{\"units\":3,\"activation\":\"softmax\"}]"
WIDE="$WIDE --set loss=cross_entropy --set training.epochs=3"
for th in 1 2 3; do
    # shellcheck disable=SC2086  # WIDE is a list of arguments
    if run "wide-threads-$th" 0 "$NN" --quiet --threads "$th" --checkpoint "$T/wide.ckpt" $WIDE "$C"; then
        if [ "$th" -eq 1 ]; then cp "$T/wide.ckpt" "$T/wide-1.ckpt"; ok
        else cmp -s "$T/wide.ckpt" "$T/wide-1.ckpt" && ok || bad "wide: --threads $th gives other bytes than --threads 1"; fi
    fi
done

# Plain SGD runs fused into the backward pass; clipping at a norm no
# gradient reaches takes the separate optimizer step instead: the same model.
for path in fused separate; do
    extra=
    [ "$path" = separate ] && extra="--set optimizer.clip_norm=1e30"
    # shellcheck disable=SC2086
    if run "sgd-$path" 0 "$NN" --quiet --epochs 5 --checkpoint "$T/sgd-$path.ckpt" --set optimizer.weight_decay=0.001 $extra "$C" &&
        run "sgd-$path-predict" 0 "$NN" --predict --scores --checkpoint "$T/sgd-$path.ckpt" --data "$T/test-images.idx"; then
        cp "$T/out" "$T/sgd-$path.out"; ok
    fi
done
cmp -s "$T/sgd-fused.out" "$T/sgd-separate.out" && [ -s "$T/sgd-fused.out" ] && ok ||
    bad "sgd: the fused update predicts other scores than the separate step"

# keep_best writes PATH.best beside the checkpoint, whose path may come from
# --checkpoint alone; with no path at all it is a usage error.
rm -f "$T/kb.ckpt" "$T/kb.ckpt.best"
jq 'del(.checkpoint.path) | .checkpoint.keep_best = true' "$C" >"$T/keepbest.json"
if run keep-best-flag 0 "$NN" --quiet --epochs 3 --checkpoint "$T/kb.ckpt" "$T/keepbest.json"; then
    [ -s "$T/kb.ckpt" ] && [ -s "$T/kb.ckpt.best" ] && ok || bad "keep-best-flag: no $T/kb.ckpt.best"
fi
if run keep-best-nopath 2 "$NN" --quiet --epochs 3 "$T/keepbest.json"; then
    err_is keep-best-nopath "nntrain: checkpoint.keep_best needs a checkpoint: set checkpoint.path or give --checkpoint (the best checkpoint is written beside it, at PATH.best)"
fi

# --- batch normalization: any thread count, --inspect, --gradcheck, errors ----------------
BN='model.layers=[{"units":64,"activation":"relu","batch_norm":true},{"units":32,"activation":"tanh","batch_norm":true,"batch_norm_momentum":0.2},{"units":3,"activation":"softmax"}]'
for th in 1 2 3; do
    # shellcheck disable=SC2086
    if run "bn-threads-$th" 0 "$NN" --quiet --threads "$th" --checkpoint "$T/bn.ckpt" $WIDE --set "$BN" "$C"; then
        if [ "$th" -eq 1 ]; then cp "$T/bn.ckpt" "$T/bn-1.ckpt"; ok
        else cmp -s "$T/bn.ckpt" "$T/bn-1.ckpt" && ok || bad "bn: --threads $th gives other bytes than --threads 1"; fi
    fi
done
if run bn-inspect 0 "$NN" --inspect "$T/bn-1.ckpt"; then
    out_has bn-inspect "model        400 inputs -> 64 relu (batch norm) -> 32 tanh (batch norm) -> 3 softmax"
    out_has bn-inspect "(format 4, written by nntrain"
fi
if run bn-inspect-json 0 "$NN" --inspect --json "$T/bn-1.ckpt"; then
    out_has bn-inspect-json '{"units":32,"activation":"tanh","batch_norm":true,"batch_norm_momentum":0.2,"batch_norm_eps":1e-05}'
fi
if run bn-eval 0 "$NN" --eval --json --checkpoint "$T/bn-1.ckpt" --data "$T/wide-images.idx,$T/wide-labels.idx"; then
    out_has bn-eval '"samples":700,'
fi
if run bn-gradcheck 0 "$NN" --gradcheck --set 'model.layers=[{"units":5,"activation":"relu","batch_norm":true},{"units":3,"activation":"softmax"}]' --set loss=cross_entropy "$T/col.json"; then
    out_has bn-gradcheck "1      5      batch_norm  "
    out_has bn-gradcheck "pass (tolerance 1e-06)"
fi
if run bn-batch-of-one 1 "$NN" --quiet --set training.batch_size=179 --set 'model.layers=[{"units":5,"batch_norm":true},{"units":3}]' "$T/col.json"; then
    err_is bn-batch-of-one "nntrain: $T/col-train.csv: 180 training rows in batches of 179 leave a last batch of one row, which batch normalization (layer 1) cannot normalize: set training.batch_size to 178 or 180, or change data.validation_fraction"
fi
if run bn-batch-size-1 2 "$NN" --set 'model.layers=[{"units":5,"batch_norm":true},{"units":3}]' --set training.batch_size=1 "$T/col.json"; then
    err_is bn-batch-size-1 "nntrain: --set training.batch_size=1: \"training.batch_size\" must be at least 2 with batch normalization (in \"model.layers.0\"): a batch of one row has no batch statistics"
fi
if run bn-output-layer 2 "$NN" --set 'model.layers=[{"units":5},{"units":3,"batch_norm":true}]' "$T/col.json"; then
    err_has bn-output-layer '"model.layers.1.batch_norm" is not allowed on the output layer'
    err_one_line bn-output-layer
fi

# --- --profile: where the epoch's time went, on stderr; results unchanged -------
# shellcheck disable=SC2086
if run profile 0 "$NN" --profile --threads 2 --checkpoint "$T/wide.ckpt" $WIDE "$C"; then
    if [ "$(grep -Ec '^profile epoch [1-3]: [0-9.]+ s; data [0-9.]+ s \([0-9.]+%\), forward [0-9.]+ s \([0-9.]+%\), loss [0-9.]+ s \([0-9.]+%\), backward [0-9.]+ s \([0-9.]+%\), optimizer [0-9.]+ s \([0-9.]+%\); kernels [0-9.]+ s \([0-9.]+%\); outside the kernels [0-9.]+ s \([0-9.]+%\)$' "$T/err")" -eq 3 ]
    then ok; else bad "profile: stderr is $(cat "$T/err")"; fi
    [ "$(wc -l <"$T/out")" -eq 3 ] && ok || bad "profile: stdout should keep its 3 epoch lines: $(cat "$T/out")"
    cmp -s "$T/wide.ckpt" "$T/wide-1.ckpt" && ok || bad "profile: --profile changed the trained model"
fi
# shellcheck disable=SC2086
if run profile-json 0 "$NN" --profile --json --epochs 1 --checkpoint "$T/wide-json.ckpt" $WIDE "$C"; then
    # the phases and the kernels each take a share in [0, 1] of the epoch;
    # the phases add up to no more than the epoch, the kernels to no more than
    # forward + backward
    if grep '^{"profile_epoch"' "$T/err" | jq -e 'select(.profile_epoch == 1)
          | [.data_seconds, .forward_seconds, .loss_seconds, .backward_seconds, .optimizer_seconds] as $p
          | ($p | all(. >= 0)) and ($p | add) <= .seconds and .kernels_seconds > 0
            and .kernels_seconds <= .forward_seconds + .backward_seconds
            and .outside_kernels_share >= 0 and .outside_kernels_share <= 1
            and (.outside_kernels_seconds - (.seconds - .kernels_seconds) | fabs) < 1e-5' >/dev/null
    then ok; else bad "profile-json: $(cat "$T/err")"; fi
fi
if run profile-eval 2 "$NN" --profile --eval "$C"; then
    err_has profile-eval "nntrain: --profile goes with training"; fi

for isa in avx2 avx512; do
    case " $isas " in *" $isa "*) continue ;; esac
    if run "isa-missing-$isa" 2 env NNTRAIN_ISA="$isa" "$NN" --quiet "$C"; then
        err_has "isa-missing-$isa" "NNTRAIN_ISA=$isa: this processor cannot run the $isa kernels"; fi
done

# --- endless and hostile input: a clear error, never a hang or a huge allocation ------
if run zero-eval 1 "$NN" --eval --checkpoint "$CC" --data /dev/zero; then
    err_is zero-eval "nntrain: /dev/zero:1: NUL byte in the data (not a text file?)"; fi
if run zero-predict 1 sh -c "'$NN' --predict --checkpoint '$CC' </dev/zero"; then
    err_is zero-predict "nntrain: stdin:1: NUL byte in the data (not a text file?)"; fi
if run endless-line 1 sh -c "yes 1 | tr -d '\n' | '$NN' --predict --checkpoint '$CC'"; then
    err_is endless-line "nntrain: stdin:1: line longer than 1048576 bytes"; fi
if run endless-bad-rows 1 sh -c "yes 'a,b,c' | '$NN' --predict --checkpoint '$CC'"; then
    err_is endless-bad-rows "nntrain: stdin:1: no column \"x1\" in the header (the model was trained on it)"; fi
printf '\000\000\010\003\377\377\377\377\000\000\000\034\000\000\000\034' >"$T/huge.idx"
if run idx-claims-huge 1 sh -c "cat '$T/huge.idx' | '$NN' --predict --checkpoint '$CK'"; then
    err_is idx-claims-huge "nntrain: stdin: samples have 784 features, the checkpoint's model takes 4"; fi

# --- the README's pipeline examples, extracted and run as written ---------------------
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
R=$T/repo
mkdir -p "$R/data" "$T/bin"
cp -r "$ROOT/configs" "$R/"
cp "$ROOT"/data/*.csv "$R/data/"
ln -s "$NN" "$T/bin/nntrain"
awk -v dir="$T" '
    /^## nntrain in shell pipelines/ { on = 1; next }
    /^## / { on = 0 }
    on && /^```sh$/ { inb = 1; n++; next }
    on && /^```$/ { inb = 0; next }
    inb { print > (dir "/example" n ".sh") }' "$ROOT/README.md"
examples=$(ls "$T"/example*.sh 2>/dev/null | wc -l)
[ "$examples" -ge 4 ] && ok || bad "readme: found $examples pipeline examples"
for i in $(seq 1 "$examples"); do
    if (cd "$R" && PATH="$T/bin:$PATH" sh -e "$T/example$i.sh") >"$T/ex.out" 2>"$T/ex.err"; then
        name=$(sed -n 's/^# pipeline example: //p' "$T/example$i.sh")
        case "$name" in
        "train the fruit classifier quietly") [ ! -s "$T/ex.out" ] && [ -s "$R/runs/fruit.ckpt" ] ;;
        "predict and count") [ "$(awk '{ s += $1 } END { print NR, s }' "$T/ex.out")" = "3 300" ] ;;
        "accuracy with jq") awk 'NR == 1 && $1 >= 0.95 && $1 <= 1 { ok = 1 } END { exit !ok }' "$T/ex.out" ;;
        "learning-rate sweep") [ "$(wc -l <"$T/ex.out")" -eq 3 ] && grep -Eq '^0\.5 (0|1|0\.[0-9]+)$' "$T/ex.out" ;;
        "follow training") [ "$(grep -c '^{"epoch":[1-5],"val_loss":[0-9.e-]*}$' "$T/ex.out")" -eq 5 ] ;;
        *) false ;;
        esac && ok || bad "readme example $i ($name): output $(head -c 300 "$T/ex.out")"
    else
        bad "readme example $i failed: $(head -c 300 "$T/ex.err")"
    fi
done

# --- every option of --help is in the man page and in the README's options table -------
"$NN" --help | sed -n '/^options:/,/^$/p' | grep -o '^  -[-a-zA-Z]*\(, --[a-z-]*\)\{0,1\}' |
    tr ',' '\n' | tr -d ' ' >"$T/help-options"
[ "$(wc -l <"$T/help-options")" -ge 20 ] && ok || bad "help options: found $(wc -l <"$T/help-options")"
while read -r opt; do
    man_opt=$(printf '%s' "$opt" | sed 's/-/\\\\-/g')
    grep -q "^\.B[IR]* $man_opt\|^\.BR .* $man_opt\b" "$ROOT/docs/nntrain.1" && ok ||
        bad "man page: no entry for $opt"
    grep -q "^| \`$opt[ \`]\|^| \`-[a-zA-Z][^\`]*\`, \`$opt[ \`]" "$ROOT/README.md" && ok ||
        bad "README options table: no row for $opt"
done <"$T/help-options"

# --- the README's "Your own CSV in one minute", its blocks run in order ------------------
# in a fresh copy of the data, with ./nntrain as the section writes it
R2=$T/csv-repo
mkdir -p "$R2/data"
cp "$ROOT"/data/*.csv "$R2/data/"
ln -s "$NN" "$R2/nntrain"
awk -v dir="$T" '
    /^## Your own CSV in one minute/ { on = 1; next }
    /^## / { on = 0 }
    on && /^```sh$/ { inb = 1; n++; next }
    on && /^```$/ { inb = 0; next }
    inb { print > (dir "/csv" n ".sh") }' "$ROOT/README.md"
csv_examples=$(ls "$T"/csv*.sh 2>/dev/null | wc -l)
[ "$csv_examples" -eq 6 ] && ok || bad "readme: found $csv_examples csv examples, expected 6"
for i in $(seq 1 "$csv_examples"); do
    name=$(sed -n 's/^# csv example: //p' "$T/csv$i.sh")
    if (cd "$R2" && sh -e "$T/csv$i.sh") >"$T/ex.out" 2>"$T/ex.err"; then
        case "$name" in
        "a config from the data")
            [ "$(jq -c '[.data.train.classes, .loss, .data.test_fraction > 0]' "$R2/fruit.json")" = \
              '[["apple","banana","cherry"],"cross_entropy",true]' ] &&
            grep -q '^nntrain: note: data/fruit.csv: delimiter' "$T/ex.err" ;;
        "train")
            [ -s "$R2/runs/fruit.ckpt" ] && [ -s "$R2/runs/fruit.ckpt.best" ] &&
            grep -q '^epoch [0-9]*/[0-9]*  train_loss' "$T/ex.out" &&
            grep -q '^nntrain: summary: ' "$T/ex.err" ;;
        "evaluate on the held-out rows")
            awk '$1 == "samples" && $2 == 60 { s = 1 } $1 == "accuracy" && $2 >= 0.9 { a = 1 }
                 END { exit !(s && a) }' "$T/ex.out" ;;
        "predict") [ "$(cat "$T/ex.out")" = "$(printf 'apple\ncherry')" ] ;;
        "pictures")
            grep -q '<polyline[^>]*id="val_loss"' "$R2/curves.svg" &&
            grep -q 'id="cell-2-2"' "$R2/confusion.svg" ;;
        "cross-validation")
            [ "$(grep -c '^fold [1-5]/5  samples 60  loss' "$T/ex.out")" -eq 5 ] &&
            grep -q '^cv 5 folds  loss [0-9.]* +- [0-9.]*  accuracy' "$T/ex.out" ;;
        *) false ;;
        esac && ok || bad "readme csv example $i ($name): output $(head -c 300 "$T/ex.out") $(head -c 300 "$T/ex.err")"
    else
        bad "readme csv example $i ($name) failed: $(head -c 300 "$T/ex.err")"
    fi
done

# --- a terminal on stderr gets the progress bar --------------------------------------
if command -v script >/dev/null 2>&1; then
    if run progress-tty 0 script -qfec "'$NN' --epochs 2 --checkpoint '$T/p.ckpt' '$C' >/dev/null" /dev/null; then
        if grep -q 'batch 20/20' "$T/out"; then ok; else bad "progress-tty: no bar on a terminal: $(head -c 300 "$T/out")"; fi
    fi
fi

sh "$ROOT/tests/cli/model.sh" "$NN" || fail=$((fail + 1))
sh "$(dirname "$0")/pipe.sh" "$NN" || fail=$((fail + 1))
# --- the other areas' command-line tests (each counts as one here) -------------------
sh "$(dirname "$0")/plot.sh" "$NN" || fail=$((fail + 1))
sh "$(dirname "$0")/data.sh" "$NN" || fail=$((fail + 1))
sh "$(dirname "$0")/init.sh" "$NN" || fail=$((fail + 1))
sh "$(dirname "$0")/bf16.sh" "$NN" || fail=$((fail + 1))
sh "$(dirname "$0")/gradcheck.sh" "$NN" || fail=$((fail + 1))
sh "$(dirname "$0")/npy.sh" "$NN" || fail=$((fail + 1))
sh "$(dirname "$0")/stream.sh" "$NN" || fail=$((fail + 1))
sh "$(dirname "$0")/augment.sh" "$NN" || fail=$((fail + 1))
sh "$(dirname "$0")/smooth.sh" "$NN" || fail=$((fail + 1))
sh "$(dirname "$0")/finite.sh" "$NN" || fail=$((fail + 1))
sh "$(dirname "$0")/export.sh" "$NN" || fail=$((fail + 1))

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
