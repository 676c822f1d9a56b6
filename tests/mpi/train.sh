#!/bin/sh
# Data-parallel training under mpirun (nntrain-mpi, src/train/ranks.c):
# the checkpoint bit-identical for 1, 2 and 4 processes and the plain
# build (classification and regression, early stopping and the best
# checkpoint; data in memory and streamed, each process reading its part),
# --resume across process counts, a stop by SIGTERM through mpirun,
# a rank killed, mismatched configs, a slice count the processes do not
# divide, divergence agreed, only rank 0 reporting.
# Usage: sh tests/mpi/train.sh NNTRAIN NNTRAIN_MPI
AREA=mpi-train
. "$(dirname "$0")/../cli/lib.sh"
NNP=$NN
NNM=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN="mpirun --oversubscribe"
TIMEOUT=
command -v timeout >/dev/null 2>&1 && TIMEOUT="timeout 120"
DATA=$(cd "$(dirname "$0")/../../data" && pwd)/fruit.csv

# A config in folder $1 (made fresh) training $2 epochs (4 when empty).
config() {
    rm -rf "$1" && mkdir -p "$1"
    cat >"$1/c.json" <<EOF
{"seed": 3, "data": {"train": {"path": "$DATA", "label": "fruit"}, "validation_fraction": 0.2,
                     "scale": "standard"},
 "model": {"layers": [{"units": 16, "activation": "relu", "dropout": 0.1},
                      {"units": 8, "activation": "tanh", "batch_norm": true},
                      {"units": 3, "activation": "softmax"}]},
 "loss": "cross_entropy", "optimizer": {"name": "adam", "learning_rate": 0.01},
 "training": {"epochs": ${2:-4}, "batch_size": 16, "slices": 4},
 "checkpoint": {"path": "run.ckpt", "every_seconds": 1}}
EOF
}

# same NAME SETS...: the plain build and 1, 2, 4 processes give the same
# checkpoint bytes (each trained in a folder of its own, the same path)
same() {
    name=$1
    shift
    for d in p 1 2 4; do config "$T/$d" ""; done
    (cd "$T/p" && run "$name: plain" 0 "$NNP" -q --threads 2 "$@" c.json) || return
    for n in 1 2 4; do
        (cd "$T/$n" && run "$name: -np $n" 0 $TIMEOUT $MPIRUN -np $n "$NNM" -q --threads 1 "$@" \
            c.json) || return
    done
    for n in 1 2 4; do
        if cmp -s "$T/p/run.ckpt" "$T/$n/run.ckpt"; then ok; else
            bad "$name: the checkpoint of -np $n differs from the plain build's"; fi
    done
}
same "adam, dropout, batch norm"
same "sgd (fused alone)" --set optimizer.name=sgd --set optimizer.learning_rate=0.5
same "sgd, momentum, decay, clipping" --set optimizer.name=sgd --set optimizer.momentum=0.9 \
    --set optimizer.weight_decay=0.01 --set optimizer.clip_norm=1
same "bf16" --set training.precision=bf16
same "8 slices, batches of 13" --set training.slices=8 --set training.batch_size=13
same "moving average of the weights, label smoothing" --set training.ema=0.9 \
    --set label_smoothing=0.1

# Streamed data: each process reads the runs of its slices only (the CSV
# through its cache, which rank 0 parses first).
same "streamed CSV" --set data.stream=true
same "streamed, windows of 64 rows, file order" --set data.stream=true \
    --set data.shuffle_buffer=64 --set training.shuffle=false
same "streamed, 8 slices, batches of 13" --set data.stream=true --set training.slices=8 \
    --set training.batch_size=13

# Streamed NPY: the same checkpoint, and the rows each process read from
# disk (the note at the end) add up to the rows one process reads, each
# process reading about its share of them.
"$NNP" --convert "$DATA" -o "$T/fruit" 2>/dev/null || bad "convert $DATA"
rows_read() {
    sed -n -e 's/.*by each process: \([0-9, ]*[0-9]\) (.*/\1/p' \
        -e 's/.* \([0-9][0-9]*\) rows read from disk (.*/\1/p' "$T/err" | tr -d ' '
}
for d in np n1 n2 n4; do
    config "$T/$d" ""
    sed -i "s|{\"path\": \"$DATA\", \"label\": \"fruit\"}|{\"npy\": \"$T/fruit-x.npy\", \"labels\": \"$T/fruit-y.npy\"}|; s|\"scale\": \"standard\"|\"scale\": \"standard\", \"stream\": true, \"shuffle_buffer\": 96|" "$T/$d/c.json"
done
(cd "$T/np" && run "streamed NPY: plain" 0 "$NNP" --threads 2 c.json)
total=$(rows_read)
for n in 1 2 4; do
    (cd "$T/n$n" && run "streamed NPY: -np $n" 0 $TIMEOUT $MPIRUN -np $n "$NNM" --threads 1 c.json)
    if cmp -s "$T/np/run.ckpt" "$T/n$n/run.ckpt"; then ok; else
        bad "streamed NPY: the checkpoint of -np $n differs from the plain build's"; fi
    each=$(rows_read)
    if echo "$total $n $each" | awk '{ n = split($3, r, ","); s = 0; m = 0
            for (i = 1; i <= n; i++) { s += r[i]; if (r[i] > m) m = r[i] }
            exit !($1 > 0 && n == $2 && s == $1 && m * $2 <= 1.2 * $1) }'
    then ok; else bad "streamed NPY -np $n: rows read '$each' against '$total' by one process"; fi
done

# Augmented images (data.augment): each row's shift and flip come from the
# seed, the epoch and the row, whichever process trains it.
sh "$(dirname "$0")/../cli/images.sh" 240 "$T/im"
for d in ap a2 a4; do
    rm -rf "$T/$d" && mkdir -p "$T/$d"
    cat >"$T/$d/c.json" <<EOF
{"seed": 2, "data": {"train": {"images": "$T/im-images.idx", "labels": "$T/im-labels.idx"},
                     "validation_fraction": 0.2, "augment": {"shift": 2, "flip": true}},
 "model": {"layers": [{"units": 16, "activation": "relu"}, {"units": 3, "activation": "softmax"}]},
 "optimizer": {"name": "adam", "learning_rate": 0.01},
 "training": {"epochs": 3, "batch_size": 16, "slices": 4}, "checkpoint": {"path": "run.ckpt"}}
EOF
done
(cd "$T/ap" && run "augmented: plain" 0 "$NNP" -q c.json)
for n in 2 4; do
    (cd "$T/a$n" && run "augmented: -np $n" 0 $TIMEOUT $MPIRUN -np $n "$NNM" -q --threads 1 c.json)
    if cmp -s "$T/ap/run.ckpt" "$T/a$n/run.ckpt"; then ok; else
        bad "augmented: the checkpoint of -np $n differs from the plain build's"; fi
done

# Streamed regression with scaled targets (the scalings' sums taken by
# slices and combined), early stopping and the best checkpoint.
WAVE=$(cd "$(dirname "$0")/../../data" && pwd)/wave.csv
for d in vp v2 v4; do
    rm -rf "$T/$d" && mkdir -p "$T/$d"
    cat >"$T/$d/c.json" <<EOF
{"seed": 1, "data": {"train": {"path": "$WAVE", "targets": ["y"]}, "validation_fraction": 0.25,
                     "scale": "standard", "scale_targets": true, "stream": true},
 "model": {"layers": [{"units": 32, "activation": "sigmoid"}, {"units": 1, "activation": "identity"}]},
 "loss": "mse", "optimizer": {"name": "sgd", "learning_rate": 0.1},
 "training": {"epochs": 30, "batch_size": 16, "slices": 4,
              "early_stopping": {"patience": 3, "min_delta": 0.01}},
 "checkpoint": {"path": "run.ckpt", "every_epochs": 10, "keep_best": true}}
EOF
done
(cd "$T/vp" && run "streamed regression: plain" 0 "$NNP" -q c.json)
for n in 2 4; do
    (cd "$T/v$n" && run "streamed regression: -np $n" 0 $TIMEOUT $MPIRUN -np $n "$NNM" -q \
        --threads 1 c.json)
    if cmp -s "$T/vp/run.ckpt" "$T/v$n/run.ckpt" && cmp -s "$T/vp/run.ckpt.best" "$T/v$n/run.ckpt.best"
    then ok; else bad "streamed regression: the checkpoints of -np $n differ from the plain build's"; fi
done

# Wide layers: at the whole batch (128 rows) the first product takes the
# blocked path, at a rank's 32 rows the tiles would (kernels/panel.c); the
# slices make the choice by columns and K alone, so the bits still agree.
awk 'BEGIN { srand(7); for (i = 0; i < 512; i++) { l = ""; for (j = 0; j < 256; j++)
    l = l sprintf("%.4f,", rand() * 2 - 1); print l int(rand() * 3) } }' >"$T/wide.csv"
for d in wp w4; do
    rm -rf "$T/$d" && mkdir -p "$T/$d"
    cat >"$T/$d/c.json" <<EOF
{"seed": 5, "data": {"train": {"path": "$T/wide.csv", "header": false, "label": 256}},
 "model": {"layers": [{"units": 128, "activation": "relu"}, {"units": 3, "activation": "softmax"}]},
 "loss": "cross_entropy", "optimizer": {"name": "sgd", "learning_rate": 0.05},
 "training": {"epochs": 2, "batch_size": 128, "slices": 4}, "checkpoint": {"path": "run.ckpt"}}
EOF
done
(cd "$T/wp" && run "wide: plain" 0 "$NNP" -q --threads 2 c.json)
(cd "$T/w4" && run "wide: -np 4" 0 $TIMEOUT $MPIRUN -np 4 "$NNM" -q --threads 1 c.json)
if cmp -s "$T/wp/run.ckpt" "$T/w4/run.ckpt"; then ok; else
    bad "wide layers: the checkpoint of -np 4 differs from the plain build's"; fi

# Regression with scaled targets, early stopping and the best checkpoint:
# the same bytes (both files) for the plain build and 1, 2, 4 processes.
WAVE=$(cd "$(dirname "$0")/../../data" && pwd)/wave.csv
for d in gp g1 g2 g4; do
    rm -rf "$T/$d" && mkdir -p "$T/$d"
    cat >"$T/$d/c.json" <<EOF
{"seed": 1, "data": {"train": {"path": "$WAVE", "targets": ["y"]}, "validation_fraction": 0.25,
                     "scale": "standard", "scale_targets": true},
 "model": {"layers": [{"units": 32, "activation": "sigmoid"}, {"units": 1, "activation": "identity"}]},
 "loss": "mse", "optimizer": {"name": "sgd", "learning_rate": 0.1},
 "training": {"epochs": 60, "batch_size": 16, "slices": 4,
              "early_stopping": {"patience": 3, "min_delta": 0.01}},
 "checkpoint": {"path": "run.ckpt", "every_epochs": 10, "keep_best": true}}
EOF
done
(cd "$T/gp" && run "regression: plain" 0 "$NNP" -q c.json)
for n in 1 2 4; do
    (cd "$T/g$n" && run "regression: -np $n" 0 $TIMEOUT $MPIRUN -np $n "$NNM" -q --threads 1 c.json)
    if cmp -s "$T/gp/run.ckpt" "$T/g$n/run.ckpt" && cmp -s "$T/gp/run.ckpt.best" "$T/g$n/run.ckpt.best"
    then ok; else bad "regression: the checkpoints of -np $n differ from the plain build's"; fi
done

# Without mpirun the MPI build is the plain one.
config "$T/a" ""
config "$T/b" ""
(cd "$T/a" && run "alone: plain" 0 "$NNP" -q --set training.slices=1 c.json)
(cd "$T/b" && run "alone: nntrain-mpi" 0 "$NNM" -q --set training.slices=1 c.json)
if cmp -s "$T/a/run.ckpt" "$T/b/run.ckpt"; then ok; else bad "alone: the checkpoints differ"; fi

# --resume with another process count: 2 epochs on 2 processes, then to 4
# on 4, equals 4 epochs on one.
config "$T/r" ""
config "$T/s" ""
(cd "$T/r" && run "resume: first part, -np 2" 0 $TIMEOUT $MPIRUN -np 2 "$NNM" -q --threads 1 \
    --set training.epochs=2 c.json)
(cd "$T/r" && run "resume: the rest, -np 4" 0 $TIMEOUT $MPIRUN -np 4 "$NNM" -q --threads 1 \
    --resume c.json)
(cd "$T/s" && run "resume: straight" 0 "$NNP" -q c.json)
if cmp -s "$T/r/run.ckpt" "$T/s/run.ckpt"; then ok; else
    bad "resume across process counts: the checkpoint differs from a straight run"; fi
# the same, streamed
config "$T/rs" ""
config "$T/ss" ""
(cd "$T/rs" && run "streamed resume: first part, -np 4" 0 $TIMEOUT $MPIRUN -np 4 "$NNM" -q \
    --threads 1 --set data.stream=true --set training.epochs=2 c.json)
(cd "$T/rs" && run "streamed resume: the rest, -np 2" 0 $TIMEOUT $MPIRUN -np 2 "$NNM" -q \
    --threads 1 --set data.stream=true --resume c.json)
(cd "$T/ss" && run "streamed resume: straight" 0 "$NNP" -q --set data.stream=true c.json)
if cmp -s "$T/rs/run.ckpt" "$T/ss/run.ckpt"; then ok; else
    bad "streamed resume across process counts: the checkpoint differs from a straight run"; fi

# --resume without a checkpoint: rank 0 cannot read it and says so, once.
config "$T/nr" ""
(cd "$T/nr" && run "resume, no checkpoint" 1 $TIMEOUT $MPIRUN -np 2 "$NNM" -q --resume c.json)
err_has "resume, no checkpoint" "run.ckpt"
if [ "$(grep -c '^nntrain' "$T/err")" -eq 1 ]; then ok; else
    bad "resume, no checkpoint: one message expected: $(cat "$T/err")"; fi

# A slice count the processes do not divide: a one-line error, exit 2, from
# rank 0 alone.
config "$T/d" ""
(cd "$T/d" && run "slices 1 on 2 processes" 2 $TIMEOUT $MPIRUN -np 2 "$NNM" -q \
    --set training.slices=1 c.json)
err_has "slices 1 on 2 processes" "nntrain: 2 processes share each batch, but training.slices is 1: set it to a multiple of 2"
if [ "$(grep -c 'processes share each batch' "$T/err")" -eq 1 ]; then ok; else
    bad "slices: the error should come from rank 0 alone: $(cat "$T/err")"; fi

# Different configs on the ranks (mpirun's colon form): refused at start.
config "$T/m" ""
sed 's/"seed": 3/"seed": 4/' "$T/m/c.json" >"$T/m/other.json"
(cd "$T/m" && run "mismatched configs" 2 $TIMEOUT $MPIRUN -np 1 "$NNM" -q c.json : -np 1 "$NNM" \
    -q other.json)
err_has "mismatched configs" "the processes read different configs or data"
if [ "$(grep -c 'the processes read different' "$T/err")" -eq 1 ]; then ok; else
    bad "mismatched configs: rank 0 alone should say it: $(cat "$T/err")"; fi
if [ ! -e "$T/m/run.ckpt" ]; then ok; else bad "mismatched configs: a checkpoint was written"; fi

# Divergence: every process sees the same non-finite loss; one message.
config "$T/n" ""
(cd "$T/n" && run "divergence" 1 $TIMEOUT $MPIRUN -np 2 "$NNM" -q --threads 1 \
    --set optimizer.name=sgd --set optimizer.learning_rate=1e30 c.json)
err_has "divergence" "training diverged"
err_has "divergence" " went non-finite first: "
if [ "$(grep -c 'training diverged' "$T/err")" -eq 1 ]; then ok; else
    bad "divergence: one message expected: $(cat "$T/err")"; fi
# ... and says what went non-finite first as one process would: a row whose
# minmax scaling overflows (every row a training row), the same line from the plain
# build and 2 ranks
config "$T/nd" ""
{ head -n 2 "$DATA"; head -n 2 "$DATA" | tail -n 1 | sed 's/^[^,]*,/3e38,/';
  head -n 2 "$DATA" | tail -n 1 | sed 's/^[^,]*,/-3e38,/'; tail -n +3 "$DATA"; } >"$T/nd/bad.csv"
(cd "$T/nd" && run "data divergence: plain" 1 "$NNP" -q --threads 2 --set data.train.path=bad.csv \
    --set data.scale=minmax --set data.validation_fraction=0 c.json) && cp "$T/err" "$T/nd/plain.err"
(cd "$T/nd" && run "data divergence: -np 2" 1 $TIMEOUT $MPIRUN -np 2 "$NNM" -q --threads 1 \
    --set data.train.path=bad.csv --set data.scale=minmax --set data.validation_fraction=0 c.json)
err_has "data divergence" "the data went non-finite first: row 2 of bad.csv (counting data rows from 1), feature 1, is infinite after data.scale \"minmax\""
# (mpirun adds its own lines about the failed processes)
if [ "$(grep '^nntrain: ' "$T/err")" = "$(cat "$T/nd/plain.err")" ]; then ok; else
    bad "data divergence: 2 ranks said $(cat "$T/err"), the plain build $(cat "$T/nd/plain.err")"; fi

# Only rank 0 reports: one line per epoch on stdout with 4 processes.
config "$T/o" ""
(cd "$T/o" && run "rank 0 reports" 0 $TIMEOUT $MPIRUN -np 4 "$NNM" --threads 1 c.json)
if [ "$(grep -c '^epoch [0-9]*/4 ' "$T/out")" -eq 4 ]; then ok; else
    bad "rank 0 reports: expected 4 epoch lines: $(cat "$T/out")"; fi

# SIGTERM to mpirun: Open MPI 4 waits odls_base_sigkill_timeout seconds (1
# by default), sends the ranks SIGTERM, waits as long again and sends
# SIGKILL; 5 s leaves time for the checkpoint.  Every rank saves at the
# same batch (rank 0 writes) and exits 143; mpirun, signalled, exits 1.
config "$T/t" 100000
(cd "$T/t" && OMPI_MCA_odls_base_sigkill_timeout=5 exec $MPIRUN -np 2 "$NNM" -q --threads 1 \
    c.json >"$T/out" 2>"$T/err") &
pid=$!
i=0
while [ ! -e "$T/t/run.ckpt" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
sleep 1
kill -TERM $pid
wait $pid
code=$?
if [ $code -ne 0 ]; then ok; else bad "SIGTERM: exit 0"; fi
err_has "SIGTERM" "checkpoint written to run.ckpt (continue with --resume)"
if [ "$(grep -c 'interrupted by SIGTERM' "$T/err")" -eq 1 ]; then ok; else
    bad "SIGTERM: one message expected: $(cat "$T/err")"; fi
# the checkpoint is where the message says: inside epoch E (E - 1 done) or
# after epoch E
done_epochs=$(sed -n -e 's/.*interrupted by SIGTERM at epoch \([0-9]*\), batch.*/\1 - 1/p' \
    -e 's/.*interrupted by SIGTERM after epoch \([0-9]*\);.*/\1/p' "$T/err")
run "SIGTERM: inspect" 0 "$NNP" --inspect --json "$T/t/run.ckpt"
if [ -n "$done_epochs" ] && grep -q "\"epoch\": *$(($done_epochs))[,}]" "$T/out"; then ok; else
    bad "SIGTERM: the checkpoint is not at the stop: $(cat "$T/err")"; fi

# A rank killed outright: the job ends non-zero within 30 s (the default
# timeout) and the last checkpoint stays readable.
config "$T/k" 100000
(cd "$T/k" && exec $MPIRUN -np 2 "$NNM" -q --threads 1 c.json >"$T/out" 2>"$T/err") &
pid=$!
i=0
while [ ! -e "$T/k/run.ckpt" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
sleep 1
victim=$(pgrep -f "$NNM" | while read -r p; do [ "$(cat /proc/$p/comm 2>/dev/null)" = nntrain-mpi ] && echo "$p"; done | tail -1)
started=$(date +%s)
[ -n "$victim" ] && kill -KILL "$victim"
wait $pid
code=$?
took=$(($(date +%s) - started))
if [ -n "$victim" ] && [ $code -ne 0 ] && [ $took -le 30 ]; then ok; else
    bad "SIGKILL of a rank: exit $code after $took s (victim '$victim')"; fi
if "$NNP" --inspect "$T/k/run.ckpt" >/dev/null 2>&1; then ok; else bad "SIGKILL: checkpoint unreadable"; fi

echo "mpi-train: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
