#!/bin/sh
# Command-line tests of streamed training data (data.stream): a streamed
# NPY source trained without shuffling gives the very model in-memory
# training gives (the same --predict scores, bit for bit); a shuffled stream
# is a pure function of the seed (the same for any --threads, and a changed
# seed changes it); regression targets; shards; held-out rows; an epoch
# resumed in its middle after SIGINT and after SIGKILL (checkpoint.every_seconds
# inside the epoch) ends as the uninterrupted run; --inspect shows the plan;
# the errors (exit 1 for the data, 2 for the config).  The arrays come from
# --convert; nothing needs Python.
# Usage: sh tests/cli/stream.sh PATH/TO/nntrain
AREA=stream
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1

# 3000 rows "a,b,c,d,label" of three overlapping classes
awk 'BEGIN { srand(11); print "a,b,c,d,label";
    for (i = 0; i < 3000; i++) { k = int(rand() * 3);
        printf "%.4f,%.4f,%.4f,%.4f,%d\n", k + rand() * 2, -k + rand() * 3, rand(), k * k + rand() * 4, k } }' >d.csv
"$NN" --convert d.csv -o d 2>/dev/null || bad "convert d.csv"
head -n 1801 d.csv >h1.csv
{ head -n 1 d.csv; tail -n 1200 d.csv; } >h2.csv
"$NN" --convert h1.csv -o h1 2>/dev/null && "$NN" --convert h2.csv -o h2 2>/dev/null || bad "convert halves"

# cfg FILE STREAM MAXMB SHUFFLE [DATA_EXTRA] [REST]: a classifier on d-x.npy/d-y.npy
cfg() {
    src=${7:-}
    [ -n "$src" ] || src='{"npy": "d-x.npy", "labels": "d-y.npy"}'
    cat >"$1" <<EOF
{"seed": 5, "data": {"train": $src, "stream": $2, "max_memory_mb": $3${5:-}},
 "model": {"layers": [{"units": 8, "activation": "tanh"}, {"units": 3}]},
 "optimizer": {"name": "adam", "learning_rate": 0.01},
 "training": {"epochs": 3, "batch_size": 32, "shuffle": $4}, "checkpoint": {"path": "${1%.json}.ckpt"${6:-}}}
EOF
}
scores() { "$NN" --predict --scores --checkpoint "$1" --data d-x.npy; }

# --- the same model as in memory ---------------------------------------------------
cfg mem.json false 4096 false
cfg str.json true 0.01 false
run "in memory" 0 "$NN" --quiet mem.json && ok
run "streamed" 0 "$NN" --quiet str.json && ok
scores mem.ckpt >mem.txt
scores str.ckpt >str.txt
if [ -s mem.txt ] && cmp -s mem.txt str.txt; then ok; else bad "streamed without shuffling differs from in memory"; fi
# "auto" streams what does not fit, and keeps the rest in memory
cfg auto.json '"auto"' 0.01 false
run "auto, small limit" 0 "$NN" --quiet auto.json && ok
run "inspect auto" 0 "$NN" --inspect auto.ckpt && out_has "inspect auto" "streamed     windows of "
scores auto.ckpt | cmp -s - mem.txt && ok || bad "auto streaming differs from in memory"
run "inspect in memory" 0 "$NN" --inspect --json mem.ckpt
if grep -q '"stream":{' out; then bad "in-memory checkpoint says streamed"; else ok; fi
# --resume goes on in the checkpoint's mode, whatever the config now says
run "resume streamed run with stream false" 0 "$NN" --quiet --resume --epochs 4 --set data.stream=false str.json && ok
run "inspect resumed" 0 "$NN" --inspect --json str.ckpt && out_has "resumed stays streamed" '"stream":{"window_rows":'

# --- a shuffled stream: a pure function of the seed ---------------------------------
cfg s1.json true 0.01 true ', "validation_fraction": 0.2'
run "shuffled, 1 thread" 0 "$NN" --quiet --threads 1 s1.json && ok
scores s1.ckpt >s1.txt
run "shuffled, 2 threads" 0 "$NN" --quiet --threads 2 s1.json && ok
scores s1.ckpt | cmp -s - s1.txt && ok || bad "shuffled stream differs between 1 and 2 threads"
run "shuffled, 3 threads" 0 "$NN" --quiet --threads 3 s1.json && ok
scores s1.ckpt | cmp -s - s1.txt && ok || bad "shuffled stream differs between 1 and 3 threads"
run "shuffled, another seed" 0 "$NN" --quiet --set seed=6 s1.json && ok
scores s1.ckpt | cmp -s - s1.txt && bad "a changed seed left the streamed order unchanged" || ok
cfg s0.json true 0.01 false ', "validation_fraction": 0.2'
run "unshuffled with holdout" 0 "$NN" --quiet s0.json && ok
scores s0.ckpt | cmp -s - s1.txt && bad "shuffling left the model unchanged" || ok
# the held-out rows are measured every epoch
run "holdout json" 0 "$NN" --json --epochs 1 s1.json
if grep -q '"val_loss":' out; then ok; else bad "no validation metrics: $(head -c 300 out)"; fi
# and --eval --holdout finds them again: data.test_fraction's rows by the rule
cfg te.json true 0.01 true ', "test_fraction": 0.25'
run "test fraction" 0 "$NN" --quiet te.json && ok
run "eval holdout" 0 "$NN" --eval te.json --json
n=$(sed -n 's/.*"samples":\([0-9]*\).*/\1/p' out)
if [ -n "$n" ] && [ "$n" -gt 600 ] && [ "$n" -lt 900 ]; then ok; else bad "eval --holdout measured '$n' rows, expected about 750: $(head -c 300 out)"; fi

# --- shards, a window smaller than a batch, regression targets -----------------------
cfg sh.json true 0.002 false '' '' '[{"npy": "h1-x.npy", "labels": "h1-y.npy"}, {"npy": "h2-x.npy", "labels": "h2-y.npy"}]'
run "shards streamed" 0 "$NN" --quiet sh.json && ok
scores sh.ckpt | cmp -s - mem.txt && ok || bad "streamed shards (windows of fewer rows than a batch) differ from in memory"
cat >rm.json <<'EOF'
{"seed": 2, "data": {"train": {"npy": "d-x.npy", "targets": "d-y.npy"}, "stream": false},
 "model": {"layers": [{"units": 6, "activation": "relu"}, {"units": 1, "activation": "identity"}]},
 "loss": "mse", "optimizer": {"name": "sgd", "learning_rate": 0.05},
 "training": {"epochs": 2, "batch_size": 16, "shuffle": false}, "checkpoint": {"path": "rm.ckpt"}}
EOF
sed -e 's/"stream": false/"stream": true, "max_memory_mb": 0.005/' -e 's/rm.ckpt/rs.ckpt/' rm.json >rs.json
run "regression in memory" 0 "$NN" --quiet rm.json && ok
run "regression streamed" 0 "$NN" --quiet rs.json && ok
a=$("$NN" --predict --checkpoint rm.ckpt --data d-x.npy | md5sum)
b=$("$NN" --predict --checkpoint rs.ckpt --data d-x.npy | md5sum)
[ "$a" = "$b" ] && ok || bad "streamed regression (scaled targets) differs from in memory"

# --- CSV: parsed once into a binary cache, then read from it ---------------------------
# string labels, missing values filled with the training means
awk 'BEGIN { srand(5); split("ant bee cat", nm, " "); print "a,b,c,kind";
    for (i = 0; i < 3000; i++) { k = int(rand() * 3); a = k + rand() * 2; if (i % 97 == 5) a = "NA";
        printf "%s,%.3f,%.3f,%s\n", a, -k + rand() * 3, rand(), nm[k + 1] } }' >s.csv
mkdir -p cache
cfg cm.json false 4096 false '' '' '{"path": "s.csv", "missing": "mean"}'
cfg cs.json true 0.01 false ', "cache_dir": "cache"' '' '{"path": "s.csv", "missing": "mean"}'
run "CSV in memory" 0 "$NN" --quiet cm.json && ok
run "CSV streamed, first run" 0 "$NN" cs.json && err_has "CSV cache built" "note: s.csv: parsed into the cache cache/s.csv-"
"$NN" --predict --checkpoint cm.ckpt --data s.csv >cm.txt
"$NN" --predict --checkpoint cs.ckpt --data s.csv >cs.txt
if [ -s cm.txt ] && cmp -s cm.txt cs.txt && grep -q '^bee$' cs.txt; then ok
else bad "a CSV streamed through its cache differs from in memory (or lost its class names)"; fi
run "CSV streamed, second run" 0 "$NN" cs.json && err_has "CSV cache reused" "note: s.csv: read from its cache cache/s.csv-"
"$NN" --predict --checkpoint cs.ckpt --data s.csv | cmp -s - cm.txt && ok || bad "the reused cache gives another model"
# the same size, another content: rebuilt
sed 's/^1\./2./' s.csv >s2.csv && mv s2.csv s.csv
run "CSV changed" 0 "$NN" cs.json && err_has "CSV changed: cache rebuilt" "note: s.csv: parsed into the cache"
# another parse option: another cache
cfg cd.json true 0.01 false ', "cache_dir": "cache"' '' '{"path": "s.csv", "missing": "drop"}'
run "CSV other option" 0 "$NN" cd.json && err_has "other option: its own cache" "note: s.csv: parsed into the cache"
[ "$(ls cache/*.key | wc -l)" -eq 2 ] && ok || bad "expected two caches: $(ls cache)"
cfg cu.json true 0.01 false ', "cache_dir": "/proc/nntrain-no"' '' '{"path": "s.csv"}'
run "unwritable cache dir" 1 "$NN" --quiet cu.json && err_has "unwritable cache dir" "nntrain: /proc/nntrain-no"

# --- an epoch resumed in its middle ---------------------------------------------------
# a longer run: 30000 rows
awk 'BEGIN { srand(3); print "a,b,c,d,label";
    for (i = 0; i < 30000; i++) { k = int(rand() * 3);
        printf "%.4f,%.4f,%.4f,%.4f,%d\n", k + rand() * 2, -k + rand() * 3, rand(), k * k + rand() * 4, k } }' >big.csv
"$NN" --convert big.csv -o big 2>/dev/null || bad "convert big.csv"
cfg long.json true 0.05 true ', "validation_fraction": 0.1' ', "every_seconds": 0' '{"npy": "big-x.npy", "labels": "big-y.npy"}'
sed -i 's/"epochs": 3, "batch_size": 32/"epochs": 4, "batch_size": 8/' long.json
start=$(date +%s%N)
run "long reference" 0 "$NN" --quiet long.json && mv long.ckpt whole.ckpt
dur=$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
at() { awk -v d="$dur" -v f="$1" 'BEGIN { printf "%.3f", d * f }'; }
"$NN" --predict --scores --checkpoint whole.ckpt --data big-x.npy >whole.txt
per_epoch=$("$NN" --inspect --json whole.ckpt | sed -n 's/.*"epoch":\([0-9]*\),"step":\([0-9]*\).*/\2 \1/p' | awk '{ print $1 / $2 }')
mid=0
for f in 0.2 0.45 0.7; do
    rm -f long.ckpt
    "$NN" --quiet long.json 2>err &
    pid=$!
    sleep "$(at $f)"
    kill -INT "$pid" 2>/dev/null
    wait "$pid"
    rc=$?
    [ "$rc" -eq 0 ] && { ok; continue; } # finished first
    [ "$rc" -eq 130 ] && ok || bad "SIGINT at $f: exit $rc: $(cat err)"
    grep -q 'batch [0-9]*; checkpoint written' err && mid=$((mid + 1))
    if "$NN" --quiet --resume long.json 2>err &&
        "$NN" --predict --scores --checkpoint long.ckpt --data big-x.npy | cmp -s - whole.txt
    then ok; else bad "SIGINT at $f: the resumed streamed run differs from the whole one: $(cat err)"; fi
done
# SIGKILL: with every_seconds tiny, checkpoints are written inside the epochs
sed 's/"every_seconds": 0/"every_seconds": 0.000001/' long.json >kill.json
sed -i 's/long.ckpt/kill.ckpt/' kill.json
for f in 0.3 0.6; do
    rm -f kill.ckpt
    "$NN" --quiet kill.json 2>/dev/null &
    pid=$!
    sleep "$(at $f)"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    [ -e kill.ckpt ] || { ok; continue; }
    # inside an epoch when the steps are not a whole number of epochs' batches
    st=$("$NN" --inspect --json kill.ckpt | sed -n 's/.*"epoch":\([0-9]*\),"step":\([0-9]*\).*/\1 \2/p')
    set -- $st
    [ "$#" -eq 2 ] && [ "$2" -ne $(($1 * per_epoch)) ] && mid=$((mid + 1))
    if "$NN" --quiet --resume kill.json 2>err &&
        "$NN" --predict --scores --checkpoint kill.ckpt --data big-x.npy | cmp -s - whole.txt
    then ok; else bad "SIGKILL at $f: the resumed streamed run differs from the whole one: $(cat err)"; fi
done
[ "$mid" -ge 1 ] && ok || bad "no trial stopped inside an epoch (of 5)"
# with 4 slices (a run of the epoch's rows per slice, each resumed at its
# own row): killed inside an epoch, resumed, the uninterrupted model
sed 's/"batch_size": 8/"batch_size": 8, "slices": 4/' long.json >long4.json
sed -i 's/long.ckpt/long4.ckpt/' long4.json
run "4 slices reference" 0 "$NN" --quiet long4.json && mv long4.ckpt whole4.ckpt
"$NN" --predict --scores --checkpoint whole4.ckpt --data big-x.npy >whole4.txt
sed 's/"every_seconds": 0/"every_seconds": 0.000001/; s/long4.ckpt/kill4.ckpt/' long4.json >kill4.json
mid4=0
for f in 0.35 0.65; do
    rm -f kill4.ckpt
    "$NN" --quiet kill4.json 2>/dev/null &
    pid=$!
    sleep "$(at $f)"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    [ -e kill4.ckpt ] || { ok; continue; }
    st=$("$NN" --inspect --json kill4.ckpt | sed -n 's/.*"epoch":\([0-9]*\),"step":\([0-9]*\).*/\1 \2/p')
    set -- $st
    [ "$#" -eq 2 ] && [ "$2" -ne $(($1 * per_epoch)) ] && mid4=$((mid4 + 1))
    if "$NN" --quiet --resume kill4.json 2>err &&
        "$NN" --predict --scores --checkpoint kill4.ckpt --data big-x.npy | cmp -s - whole4.txt
    then ok; else bad "4 slices, SIGKILL at $f: the resumed run differs from the whole one: $(cat err)"; fi
done
[ "$mid4" -ge 1 ] && ok || bad "4 slices: no trial stopped inside an epoch (of 2)"
if cmp -s whole.txt whole4.txt; then bad "4 slices: the same model as 1 slice (the runs not used?)"; else ok; fi

# --- errors ------------------------------------------------------------------------------
# a tiny IDX pair: 4 images of 2 bytes, 4 labels
printf '\000\000\010\002\000\000\000\004\000\000\000\002\001\002\003\004\005\006\007\010' >i.idx
printf '\000\000\010\001\000\000\000\004\000\001\002\000' >l.idx
cfg e1.json true 4096 true '' '' '{"images": "i.idx", "labels": "l.idx"}'
run "stream IDX" 1 "$NN" --quiet e1.json &&
    err_is "stream IDX" "nntrain: i.idx: only NPY arrays and CSV files can be streamed (data.stream); write the data as NPY with: nntrain --convert i.idx,l.idx -o PREFIX"
cfg e2.json true 0.01 true ', "shuffle_buffer": 100000'
run "shuffle buffer too big" 1 "$NN" --quiet e2.json &&
    err_is "shuffle buffer too big" "nntrain: d-x.npy: data.shuffle_buffer of 100000 rows of 24 bytes does not fit twice (the window in use and the next) in data.max_memory_mb (0.01 MB)"
cfg e3.json true 0.00001 true
run "memory for no row" 1 "$NN" --quiet e3.json &&
    err_is "memory for no row" "nntrain: d-x.npy: data.max_memory_mb (1e-05 MB) does not hold two rows of 24 bytes"
cfg e4.json '"sometimes"' 1 true
run "bad stream value" 2 "$NN" --quiet e4.json && err_has "bad stream value" '"data.stream" must be one of "auto", true, false, found "sometimes"'
cfg e5.json true 1 true
run "cv streamed" 2 "$NN" --quiet --cv 3 e5.json &&
    err_is "cv streamed" "nntrain: --cv needs the training data in memory; set data.stream to false"
sed 's/"units": 3}/"units": 2}/' str.json >e6.json
run "labels beyond the outputs" 1 "$NN" --quiet e6.json && err_has "labels beyond the outputs" "nntrain: d-y.npy: label 2 at item "
# the data shrinks under a running training: one line, the last checkpoint kept
cp big-x.npy shrink-x.npy
sed -e 's/big-x.npy/shrink-x.npy/' -e 's/"every_seconds": 0/"every_seconds": 0.000001/' -e 's/long.ckpt/shrink.ckpt/' long.json >shrink.json
"$NN" --quiet shrink.json 2>err &
pid=$!
sleep "$(at 0.3)"
truncate -s 100000 shrink-x.npy
wait "$pid"
rc=$?
if [ "$rc" -eq 1 ] && grep -q '^nntrain: shrink-x.npy: ' err && [ "$(wc -l <err)" -eq 1 ]; then ok
elif [ "$rc" -eq 0 ]; then ok # finished before the file shrank
else bad "shrinking data: exit $rc, '$(cat err)'"; fi
if [ -e shrink.ckpt ]; then "$NN" --inspect shrink.ckpt >/dev/null 2>&1 && ok || bad "shrinking data: the checkpoint left does not load"; fi

echo "stream: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
