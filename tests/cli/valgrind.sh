#!/bin/sh
# A short training, an evaluation and a prediction under valgrind memcheck:
# each must report no errors and no leaks.  valgrind does not decode AVX-512,
# so the kernels are forced to AVX2 (or scalar where AVX2 is missing).
# Usage: sh tests/cli/valgrind.sh PATH/TO/nntrain
set -u
NN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
T=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-vg-XXXXXX")
trap 'rm -rf "$T"' EXIT
export LC_ALL=C
if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind: not installed"
    exit 1
fi
isa=scalar
grep -q ' avx2' /proc/cpuinfo 2>/dev/null && grep -q ' fma' /proc/cpuinfo && isa=avx2
pass=0
fail=0
# vg NAME EXPECTED_EXIT CMD...: valgrind's own exit code for errors or leaks is 99
vg() {
    name=$1 want=$2
    shift 2
    NNTRAIN_ISA=$isa valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=all \
        --errors-for-leak-kinds=all "$@" >"$T/out" 2>"$T/vg.err"
    code=$?
    if [ "$code" -eq "$want" ] && ! grep -q '^==[0-9]*==' "$T/vg.err"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: valgrind $name: exit $code, expected $want: $(head -c 2000 "$T/vg.err")"
    fi
}
cd "$T"
awk 'BEGIN { srand(2); print "a,b,c,kind";
    for (i = 0; i < 120; i++) { k = i % 3; printf "%.3f,%.3f,%.3f,%s\n", (k == 0) + rand() * 0.3, (k == 1) + rand() * 0.3, (k == 2) + rand() * 0.3, substr("xyz", k + 1, 1) } }' >d.csv
cat >c.json <<'JSON'
{"data": {"train": {"path": "d.csv", "label": "kind"}, "test": {"path": "d.csv", "label": "kind"},
          "validation_fraction": 0.25, "scale": "none"},
 "model": {"layers": [{"units": 5, "activation": "sigmoid"}, {"units": 3, "activation": "sigmoid"}]},
 "loss": "mse",
 "optimizer": {"name": "sgd", "learning_rate": 1.0},
 "training": {"epochs": 3, "batch_size": 7},
 "checkpoint": {"path": "m.ckpt"}}
JSON
vg train 0 "$NN" --threads 2 c.json
vg resume 0 "$NN" --resume --epochs 4 c.json
vg eval 0 "$NN" --eval --json c.json
vg predict 0 "$NN" --predict --scores --checkpoint m.ckpt --data d.csv
vg inspect 0 "$NN" --inspect m.ckpt
vg bad-config 2 "$NN" --set training.epochs=0 c.json
printf 'a,b,c,kind\n1,2\n' >bad.csv
vg bad-csv 1 "$NN" --eval --checkpoint m.ckpt --data bad.csv
echo "valgrind: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
