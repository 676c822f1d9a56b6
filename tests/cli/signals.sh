#!/bin/sh
# Crash-safety and signal tests (contract sections 4 and 7):
#  - SIGINT / SIGTERM: the run finishes its mini-batch, writes a checkpoint,
#    says so, exits 130 / 143, and --resume then gives the same checkpoint,
#    byte for byte, as a run that was never interrupted;
#  - SIGKILL at random moments (50 trials): the checkpoint left behind always
#    loads and equals one of the completed epochs (checkpoint.every_seconds 0:
#    one written after every epoch, as the trials need);
#  - a full disk and a read-only folder: exit 1, the previous checkpoint intact.
# Usage: sh tests/cli/signals.sh PATH/TO/nntrain [KILL_TRIALS]
set -u
NN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
TRIALS=${2:-50}
T=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-sig-XXXXXX")
trap 'rm -rf "$T"' EXIT
export LC_ALL=C
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# 6000 samples of 256 byte features, 4 classes: about a second of training.
cd "$T"
awk -v n=6000 -v f=256 'BEGIN { srand(9);
    printf "%c%c%c%c", 0, 0, 8, 2;
    printf "%c%c%c%c%c%c%c%c", 0, 0, int(n / 256), n % 256, 0, 0, int(f / 256), f % 256;
    for (i = 0; i < n; i++) { y = i % 4;
        for (j = 0; j < f; j++) { v = int(rand() * 100); if (j % 4 == y) v += 120; printf "%c", v } } }' >x.idx
awk -v n=6000 'BEGIN { printf "%c%c%c%c", 0, 0, 8, 1; printf "%c%c%c%c", 0, 0, int(n / 256), n % 256;
    for (i = 0; i < n; i++) printf "%c", i % 4 }' >y.idx
head -c 2060 x.idx >probe.idx   # 12-byte header + 8 samples, to compare models by their outputs
printf '\000\000\010\002\000\000\000\010\000\000\001\000' | dd of=probe.idx bs=1 conv=notrunc 2>/dev/null
cat >c.json <<'JSON'
{"seed": 4,
 "data": {"train": {"images": "x.idx", "labels": "y.idx"}, "validation_fraction": 0.1},
 "model": {"layers": [{"units": 256, "activation": "sigmoid"}, {"units": 4, "activation": "sigmoid"}]},
 "loss": "mse",
 "optimizer": {"name": "sgd", "learning_rate": 0.5},
 "training": {"epochs": 20, "batch_size": 16},
 "checkpoint": {"path": "run.ckpt", "every_seconds": 0}}
JSON
start=$(date +%s%N)
"$NN" --quiet c.json && mv run.ckpt whole.ckpt || bad "reference run failed"
# the moments below are fractions of this run's length, so a slower build
# (sanitizers) or machine is interrupted at the same points of its training
dur=$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
at() { awk -v d="$dur" -v f="$1" 'BEGIN { printf "%.3f", d * f }'; }

# --- SIGINT / SIGTERM, then --resume ---------------------------------------------
for trial in INT:130:0.3 TERM:143:0.6 INT:130:0.9 TERM:143:0.15; do
    sig=${trial%%:*}; rest=${trial#*:}; code=${rest%%:*}; delay=$(at "${rest#*:}")
    rm -f run.ckpt
    "$NN" --quiet c.json 2>err &
    pid=$!
    sleep "$delay"
    kill -s "$sig" "$pid" 2>/dev/null
    wait "$pid"
    rc=$?
    if [ "$rc" -eq 0 ]; then
        ok # finished before the signal: nothing to check
        continue
    fi
    if [ "$rc" -ne "$code" ]; then bad "SIG$sig: exit $rc, expected $code: $(cat err)"; continue; fi
    if grep -Eq "^nntrain: interrupted by SIG$sig (at epoch [0-9]+, batch [0-9]+|after epoch [0-9]+); checkpoint written to run.ckpt \(continue with --resume\)$" err
    then ok; else bad "SIG$sig: message '$(cat err)'"; fi
    if "$NN" --quiet --resume c.json 2>err && cmp -s run.ckpt whole.ckpt; then ok
    else bad "SIG$sig: resumed checkpoint differs from an uninterrupted run: $(cat err)"; fi
done

# a second SIGINT stops at once, without a checkpoint of its own
rm -f run.ckpt
"$NN" --quiet c.json 2>err &
pid=$!
sleep "$(at 0.3)"
kill -INT "$pid"; kill -INT "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 130 ] && ok || bad "double SIGINT: exit $rc"

# --- SIGKILL at random moments ------------------------------------------------------
# Reference outputs after each epoch e (parameters after e epochs do not
# depend on the total, so a run of e epochs gives them).
e=1
while [ "$e" -le 20 ]; do
    "$NN" --quiet --epochs "$e" --checkpoint "ref$e.ckpt" c.json &&
        "$NN" --predict --scores --checkpoint "ref$e.ckpt" --data probe.idx >"ref$e.txt" || bad "reference epoch $e"
    e=$((e + 1))
done
i=0
seen=0
while [ "$i" -lt "$TRIALS" ]; do
    i=$((i + 1))
    rm -f run.ckpt run.ckpt.tmp.*
    "$NN" --quiet c.json 2>/dev/null &
    pid=$!
    # a pseudo-random moment within the run
    delay=$(awk -v s="$i" -v d="$dur" 'BEGIN { srand(s * 7919); printf "%.3f", rand() * d * 1.1 }')
    sleep "$delay"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    [ -e run.ckpt ] || { ok; continue; } # killed before the first checkpoint
    epoch=$("$NN" --inspect --json run.ckpt 2>inspect.err | sed -n 's/.*"epoch":\([0-9]*\).*/\1/p')
    if [ -z "$epoch" ]; then bad "kill trial $i: checkpoint does not load: $(cat inspect.err)"; continue; fi
    if "$NN" --predict --scores --checkpoint run.ckpt --data probe.idx >got.txt && cmp -s got.txt "ref$epoch.txt"
    then ok; seen=$((seen + 1)); else bad "kill trial $i: checkpoint of epoch $epoch differs from that epoch's"; fi
done
echo "kill trials: $seen of $TRIALS left a checkpoint, each equal to its epoch's"
[ "$seen" -ge $((TRIALS / 4)) ] && ok || bad "kill trials: only $seen of $TRIALS left a checkpoint to check"

# --- a full disk and a read-only folder -----------------------------------------------
cp whole.ckpt keep.ckpt
cp whole.ckpt run.ckpt
# a kill trial's SIGKILL mid-write leaves its temporary file: clear it, so what
# is checked below is only what this run leaves
rm -f run.ckpt.tmp.*
# RLIMIT_FSIZE makes every write past 64 KiB fail with EFBIG, as a full disk would
if (ulimit -f 64; "$NN" --quiet --epochs 1 c.json) 2>err; then bad "full disk: training succeeded"
else
    grep -q '^nntrain: run.ckpt: File too large$' err && ok || bad "full disk: message '$(cat err)'"
    cmp -s run.ckpt keep.ckpt && ok || bad "full disk: previous checkpoint changed"
    [ -z "$(ls | grep 'run.ckpt.tmp')" ] && ok || bad "full disk: temporary file left behind"
fi
if [ -w /dev/full ] && "$NN" --inspect --json keep.ckpt >/dev/full 2>err; then bad "/dev/full stdout: exit 0"
else grep -q 'No space left on device' err && ok || bad "/dev/full stdout: '$(cat err)'"; fi
mkdir ro && cp keep.ckpt ro/m.ckpt && chmod 555 ro
if [ "$(id -u)" -eq 0 ]; then
    # root writes anywhere: run as nobody, who cannot write to ro/
    chmod -R a+rX "$T"; chmod a+rx "$T"
    runas="setpriv --reuid=65534 --regid=65534 --clear-groups"
    command -v setpriv >/dev/null || runas=
else
    runas=
fi
if [ "$(id -u)" -ne 0 ] || [ -n "$runas" ]; then
    if $runas "$NN" --quiet --epochs 1 --checkpoint ro/m.ckpt c.json 2>err; then bad "read-only folder: training succeeded"
    else
        grep -q '^nntrain: ro/m.ckpt: Permission denied$' err && ok || bad "read-only folder: message '$(cat err)'"
        cmp -s ro/m.ckpt keep.ckpt && ok || bad "read-only folder: previous checkpoint changed"
    fi
fi
chmod 755 ro

echo "signals: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
