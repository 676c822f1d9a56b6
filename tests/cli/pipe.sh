#!/bin/sh
# Runs that are not lost (issue 11, part 7) and the end-of-training summary:
#  - `nntrain --json ... | head -1`: training goes on to the end, exit 0,
#    nothing on stderr, the checkpoint equals that of a run whose output was
#    read to the end;
#  - stdout to /dev/full: exit 1 with the write's own error, training still
#    finished and saved;
#  - --predict into a closed pipe stops reading its (endless) input, exit 0;
#  - checkpoint.every_seconds: a large one writes nothing before the last
#    epoch, 0 writes after every epoch, a small one writes once its time has
#    passed (observed mid-run through a FIFO that the test stops reading, so
#    the run is held before its last epoch);
#  - --resume --epochs +N, and its usage errors;
#  - the summary: the last JSON line (keys and numbers checked against the
#    epoch lines) and the text on stderr; after early stopping and SIGINT.
# Usage: sh tests/cli/pipe.sh PATH/TO/nntrain
AREA=pipe
. "$(dirname "$0")/lib.sh"
# epoch_of CKPT: the checkpoint's epoch (empty when it does not load)
epoch_of() { "$NN" --inspect --json "$1" 2>/dev/null | jq -r .epoch 2>/dev/null; }

cd "$T" || exit 1
# 60 rows, 4 features, 3 classes; 48 training rows after the validation split
awk 'BEGIN { srand(11); print "a,b,c,d,species";
    for (i = 0; i < 60; i++) { y = i % 3;
        printf "%.3f,%.3f,%.3f,%.3f,%s\n", rand() + y, rand() * 2, rand() - y * 0.5, rand(), substr("xyz", y + 1, 1) } }' >d.csv
cat >c.json <<'JSON'
{"seed": 2,
 "data": {"train": {"path": "d.csv", "label": "species", "header": true}, "validation_fraction": 0.2},
 "model": {"layers": [{"units": 8, "activation": "relu"}, {"units": 3, "activation": "softmax"}]},
 "loss": "cross_entropy",
 "optimizer": {"name": "adam", "learning_rate": 0.01},
 "training": {"epochs": 2000, "batch_size": 16},
 "checkpoint": {"path": "run.ckpt"}}
JSON
NTRAIN=48

# --- a closed stdout never kills training ---------------------------------------------
# 2000 JSON lines are ~300 KB, far beyond a pipe's buffer: once head has gone,
# writes fail with EPIPE (or would raise SIGPIPE)
"$NN" --json --checkpoint whole.ckpt c.json >whole.out 2>/dev/null || bad "reference run failed"
[ "$(wc -c <whole.out)" -gt 200000 ] && ok || bad "reference output too small to fill a pipe"
rm -f run.ckpt
{ "$NN" --json c.json 2>err; echo $? >status; } | head -n 1 >first
[ "$(cat status)" = 0 ] && ok || bad "json | head -1: exit $(cat status), stderr $(cat err)"
[ ! -s err ] && ok || bad "json | head -1: stderr $(cat err)"
grep -q '^{"epoch":1,' first && ok || bad "json | head -1: first line $(cat first)"
[ "$(epoch_of run.ckpt)" = 2000 ] && ok || bad "json | head -1: checkpoint at epoch '$(epoch_of run.ckpt)', expected 2000"
# the same model as the run whose output was read (the stored paths differ)
if "$NN" --predict --scores --checkpoint run.ckpt --data d.csv >p1 &&
   "$NN" --predict --scores --checkpoint whole.ckpt --data d.csv >p2 && cmp -s p1 p2; then ok
else bad "json | head -1: the model differs from an uninterrupted run"; fi
rm -f run.ckpt
{ "$NN" c.json 2>err; echo $? >status; } | head -n 1 >first
[ "$(cat status)" = 0 ] && [ "$(epoch_of run.ckpt)" = 2000 ] && ok ||
    bad "text | head -1: exit $(cat status), checkpoint epoch '$(epoch_of run.ckpt)'"
grep -q '^nntrain: summary: 2000 epochs' err && ok || bad "text | head -1: no summary on stderr: $(cat err)"

# --- other write errors stay errors -------------------------------------------------------
if [ -w /dev/full ]; then
    for mode in --json --threads=1; do
        rm -f run.ckpt
        if run "full$mode" 1 sh -c "'$NN' $mode --epochs 30 c.json >/dev/full"; then
            # the error is the last line (in text, after the summary)
            [ "$(tail -n 1 "$T/err")" = "nntrain: error writing to standard output: No space left on device" ] &&
                [ "$(grep -c error "$T/err")" = 1 ] && ok || bad "full$mode: $(cat "$T/err")"
            [ "$(epoch_of run.ckpt)" = 30 ] && ok || bad "full$mode: training did not finish and save"
        fi
    done
    if run full-predict 1 sh -c "'$NN' --predict --checkpoint whole.ckpt --data d.csv >/dev/full"; then
        err_is full-predict "nntrain: error writing to standard output: No space left on device"; fi
fi

# --- --predict into a closed pipe: stops reading, exit 0 -----------------------------------
# its input never ends: a predict that kept reading would never finish
{ { echo a,b,c,d; yes 0.5,1.0,0.2,0.3; } | timeout 60 "$NN" --predict --checkpoint whole.ckpt 2>err
  echo $? >status; } | head -n 1 >first
[ "$(cat status)" = 0 ] && ok || bad "predict | head -1: exit $(cat status) (124: kept reading), stderr $(cat err)"
[ ! -s err ] && ok || bad "predict | head -1: stderr $(cat err)"
grep -Eq '^[xyz]$' first && ok || bad "predict | head -1: first line $(cat first)"
{ "$NN" --inspect whole.ckpt 2>err; echo $? >status; } | head -c 1 >/dev/null
[ "$(cat status)" = 0 ] && [ ! -s err ] && ok || bad "inspect | head -c 1: exit $(cat status), stderr $(cat err)"

# --- checkpoint.every_seconds --------------------------------------------------------------
# held TIMEOUT ES: trains 1000000 epochs into a FIFO; after 3 lines have been
# read the reader stops reading, so the run blocks on a full pipe long before
# its last epoch.  After HOLD seconds, DRAIN more lines are read, and after a
# moment the checkpoint is looked at, then the run is killed (-9: no save).
# Sets $seen to the checkpoint's epoch, or "none".
held() {
    es=$1 hold=$2 drain=$3
    rm -f run.ckpt fifo
    mkfifo fifo
    "$NN" --json --epochs 1000000 --set checkpoint.every_seconds="$es" c.json >fifo 2>/dev/null &
    pid=$!
    exec 3<fifo
    head -n 3 <&3 >/dev/null
    sleep "$hold"
    [ "$drain" -gt 0 ] && head -n "$drain" <&3 >/dev/null && sleep 0.5
    if [ -e run.ckpt ]; then seen=$(epoch_of run.ckpt); else seen=none; fi
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    exec 3<&-
}
held 100000 1 0
[ "$seen" = none ] && ok || bad "every_seconds 100000: a checkpoint was written mid-run (epoch $seen)"
held 0 0.5 0
case $seen in none | "" | 1) bad "every_seconds 0: expected a checkpoint after each epoch, found '$seen'" ;; *) ok ;; esac
held 0.5 1.5 1000
case $seen in none | "" | 1000000) bad "every_seconds 0.5: expected a periodic checkpoint after 1.5 s, found '$seen'" ;; *) ok ;; esac
# a signal always saves, whatever the throttle
rm -f run.ckpt
"$NN" --json --epochs 1000000 --set checkpoint.every_seconds=100000 c.json >sig.out 2>sig.err &
pid=$!
sleep 1
kill -INT "$pid"
wait "$pid"
rc=$?
[ "$rc" = 130 ] && ok || bad "SIGINT: exit $rc: $(cat sig.err)"
ck_epoch=$(epoch_of run.ckpt)
[ -n "$ck_epoch" ] && [ "$ck_epoch" -gt 0 ] && ok || bad "SIGINT: checkpoint epoch '$ck_epoch'"
# ... and the summary is still the last line, saying how the run ended
if tail -n 1 sig.out | jq -e --argjson e "${ck_epoch:-0}" \
    '.summary | .ended == "SIGINT" and .final_epoch == $e and .epochs == 1000000 and .epochs_run == $e' >/dev/null
then ok; else bad "SIGINT: summary $(tail -n 1 sig.out)"; fi
grep -q '^nntrain: interrupted by SIGINT' sig.err && ok || bad "SIGINT: message $(cat sig.err)"

# --- --resume --epochs +N ---------------------------------------------------------------------
"$NN" -q --epochs 5 --checkpoint r.ckpt c.json && mv r.ckpt five.ckpt || bad "5-epoch run failed"
"$NN" -q --epochs 3 --checkpoint r.ckpt c.json || bad "3-epoch run failed"
if run plus-2 0 "$NN" --json --resume --epochs +2 --checkpoint r.ckpt c.json; then
    cmp -s r.ckpt five.ckpt && ok || bad "--epochs +2 from epoch 3 differs from 5 epochs in one run"
    [ "$(grep -c '^{"epoch":[45],' "$T/out")" = 2 ] && ok || bad "plus-2: $(cat "$T/out")"
    # the summary of a resumed run: its own epochs; the best epoch's other
    # metrics only when that epoch ran in this run
    tail -n 1 "$T/out" | jq -e '.summary | .final_epoch == 5 and .epochs == 5 and .epochs_run == 2
        and .samples == 96 and (.best_epoch < 4) == (has("best_val_accuracy") | not)' >/dev/null &&
        ok || bad "plus-2 summary: $(tail -n 1 "$T/out")"
fi
if run plus-no-resume 2 "$NN" --epochs +2 c.json; then
    err_is plus-no-resume "nntrain: --epochs +2 (2 more epochs than the checkpoint's) goes with --resume
usage: nntrain [OPTIONS] CONFIG.json | --eval ... | --predict ... | --gradcheck ... | --cv K ... | --inspect FILE | --plot FILE | --init DATA | --export CKPT -o FILE (see nntrain --help)"; fi
for v in +0 +x ++1 +; do
    if run "plus-bad-$v" 2 "$NN" --resume --epochs "$v" --checkpoint r.ckpt c.json; then
        err_is "plus-bad-$v" "nntrain: --epochs: expected +N with N an integer from 1 to 1000000, found '$v'
usage: nntrain [OPTIONS] CONFIG.json | --eval ... | --predict ... | --gradcheck ... | --cv K ... | --inspect FILE | --plot FILE | --init DATA | --export CKPT -o FILE (see nntrain --help)"; fi
done
if run plus-too-many 2 "$NN" --resume --epochs +999999 --checkpoint r.ckpt c.json; then
    err_is plus-too-many "nntrain: --epochs +999999: r.ckpt already has 5 epochs, and training.epochs is at most 1000000"; fi

# --- the summary ----------------------------------------------------------------------------------
if run summary-json 0 "$NN" --json --epochs 12 --checkpoint s.ckpt c.json; then
    err_empty summary-json
    [ "$(grep -c '^{"epoch":' "$T/out")" = 12 ] && ok || bad "summary-json: epoch lines"
    tail -n 1 "$T/out" | jq -e 'has("epoch") | not' >/dev/null && ok || bad "summary-json: last line has an epoch key"
    # keys, and numbers against the epoch lines
    if jq -s -e --argjson n "$NTRAIN" '
        (map(select(.epoch)) ) as $e | (last | .summary) as $s | ($e | last) as $f
        | ($e | min_by(.val_loss)) as $b
        | ($s | keys) == (["best_epoch","best_val_accuracy","best_val_loss","ended","epochs","epochs_run",
                           "final_epoch","samples","samples_per_second","seconds","train_accuracy",
                           "train_loss","val_accuracy","val_loss"])
        and $s.ended == "completed" and $s.epochs == 12 and $s.final_epoch == 12 and $s.epochs_run == 12
        and $s.train_loss == $f.train_loss and $s.train_accuracy == $f.train_accuracy
        and $s.val_loss == $f.val_loss and $s.val_accuracy == $f.val_accuracy
        and $s.best_epoch == $b.epoch and $s.best_val_loss == $b.val_loss
        and $s.best_val_accuracy == $b.val_accuracy
        and $s.samples == 12 * $n and $s.seconds > 0
        and ($s.samples_per_second - $s.samples / $s.seconds | fabs) <= 0.01 * $s.samples_per_second + 1
        and $s.seconds >= ($e | map(.seconds) | add) - 0.01' "$T/out" >/dev/null
    then ok; else bad "summary-json: $(tail -n 1 "$T/out")"; fi
    [ "$(epoch_of s.ckpt)" = 12 ] && ok || bad "summary-json: checkpoint"
fi
if run summary-text 0 "$NN" --epochs 12 --checkpoint s.ckpt c.json; then
    [ "$(wc -l <"$T/out")" = 12 ] && ! grep -q summary "$T/out" && ok || bad "summary-text: stdout has more than the epochs"
    last=$(tail -n 1 "$T/out")
    final=$(sed -n 's/^nntrain: final epoch 12  //p' "$T/err")
    # the final line's metrics are the last epoch line's
    if [ -n "$final" ] && printf '%s\n' "$last" | grep -qF "$final"; then ok
    else bad "summary-text: final '$final' vs last epoch '$last'"; fi
    grep -Eq "^nntrain: summary: 12 epochs \(12 of 12 done\) in [0-9.]+ s, $((12 * NTRAIN)) samples, [0-9]+ samples/s$" "$T/err" &&
        ok || bad "summary-text: $(cat "$T/err")"
    grep -Eq '^nntrain: best epoch [0-9]+  val_loss [0-9.]+  val_accuracy [0-9.]+$' "$T/err" && ok || bad "summary-text: best: $(cat "$T/err")"
    [ "$(wc -l <"$T/err")" = 3 ] && ok || bad "summary-text: stderr $(cat "$T/err")"
fi
if run summary-quiet 0 "$NN" --quiet --json --epochs 2 --checkpoint s.ckpt c.json; then
    [ ! -s "$T/out" ] && [ ! -s "$T/err" ] && ok || bad "summary-quiet: printed $(cat "$T/out" "$T/err")"; fi
if run summary-early 0 "$NN" --json --set training.early_stopping.patience=2 \
        --set training.early_stopping.min_delta=100 --checkpoint s.ckpt c.json; then
    tail -n 1 "$T/out" | jq -e '.summary | .ended == "early_stopping" and .final_epoch == 3 and .best_epoch == 1
        and .epochs == 2000' >/dev/null && ok || bad "summary-early: $(tail -n 1 "$T/out")"
fi
if run summary-noval 0 "$NN" --json --epochs 2 --set data.validation_fraction=0 --checkpoint s.ckpt c.json; then
    tail -n 1 "$T/out" | jq -e '.summary | has("best_epoch") or has("val_loss") | not' >/dev/null &&
        ok || bad "summary-noval: $(tail -n 1 "$T/out")"
fi

echo "pipe: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
