#!/bin/sh
# Format-3 checkpoints (tests/fixtures/v3, written by nntrain 0.1.0) keep
# working: --inspect, --predict and --eval print what the old build printed
# for them, and --resume from each continues to the same model the old build
# trained in one run.  Usage: sh tests/cli/v3_fixtures.sh PATH/TO/nntrain
#
# The outputs are compared to the last bit, on the scalar kernels, so the
# binary must be built like the one that made them (the -O2 build): how the
# compiler orders the scalar kernels' vectorised sums is part of the result,
# and the sanitizer build (-O1) rounds some outputs differently.  The
# format-3 reader itself runs under the sanitizers in the unit tests
# (tests/test_checkpoint.c) and the checkpoint fuzzer.
set -u
NN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
FIX=$(cd "$(dirname "$0")/../fixtures/v3" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-v3-XXXXXX")
trap 'rm -rf "$T"' EXIT
export LC_ALL=C NNTRAIN_ISA=scalar
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# same NAME EXPECTED_FILE: $T/out equals the file, and the command succeeded
same() {
    if [ "$rc" -ne 0 ]; then
        bad "$1: exit code $rc; stderr: $(head -c 300 "$T/err")"
    elif cmp -s "$T/out" "$2"; then
        ok
    else
        bad "$1: output differs from $(basename "$2"):"
        diff "$2" "$T/out" | head -n 8
    fi
}

cp -R "$FIX" "$T/v3"
cd "$T/v3"
E=expected

# --inspect's output less the precision added after 0.1.0 (fp32 for every
# format-3 file), which must then be what 0.1.0 printed
for c in fruit-e3 fruit-e6 bytes-e2 bytes-e4 wave-int wave-full; do
    "$NN" --inspect "$c.ckpt" >"$T/new" 2>"$T/err"; rc=$?
    grep -q '^precision    fp32$' "$T/new" || rc=99
    sed '/^precision    fp32$/d' <"$T/new" >"$T/out"
    same "$c --inspect" "$E/$c.inspect"
    "$NN" --inspect --json "$c.ckpt" >"$T/new" 2>"$T/err"; rc=$?
    grep -q ',"precision":"fp32",' "$T/new" || rc=99
    sed 's/,"precision":"fp32",/,/' <"$T/new" >"$T/out"
    same "$c --inspect --json" "$E/$c.inspect.json"
done

# without_f1: --eval's output less the F1 figures added after 0.1.0 (the
# "macro f1" line and the last column of the class table; "macro_f1" and
# each class's "f1" in JSON), which must then be what 0.1.0 printed
without_f1() {
    sed -e '/^macro f1 /d' -e '/^class .*  f1$/,/^$/ s/  [^ ]*$//' \
        -e 's/,"f1":[^,}]*//g' -e 's/,"macro_f1":[^,}]*//'
}

# predict_eval CKPT EXPECTED_STEM: --predict --scores and --eval (text, JSON)
# of a checkpoint against the old build's outputs for EXPECTED_STEM
predict_eval() {
    case $1 in
    fruit*)
        cut -d, -f1-4 fruit.csv | "$NN" --predict --scores --checkpoint "$1.ckpt" >"$T/out" 2>"$T/err"; rc=$?
        data=fruit.csv ;;
    bytes*)
        "$NN" --predict --scores --checkpoint "$1.ckpt" --data bytes-images.idx.gz >"$T/out" 2>"$T/err"; rc=$?
        data=bytes-images.idx.gz,bytes-labels.idx ;;
    wave*)
        "$NN" --predict --scores --checkpoint "$1.ckpt" --data wave.csv >"$T/out" 2>"$T/err"; rc=$?
        data=wave.csv ;;
    esac
    expected=$E/$2.predict
    case $1 in
    wave*) # 0.1.0 printed a regression value twice with --scores; now once
        cut -d, -f1 "$expected" >"$T/expected.predict"
        expected=$T/expected.predict ;;
    esac
    same "$1 --predict (as $2)" "$expected"
    "$NN" --eval --checkpoint "$1.ckpt" --data "$data" >"$T/new" 2>"$T/err"; rc=$?
    without_f1 <"$T/new" >"$T/out"
    same "$1 --eval (as $2)" "$E/$2.eval"
    "$NN" --eval --json --checkpoint "$1.ckpt" --data "$data" >"$T/new" 2>"$T/err"; rc=$?
    without_f1 <"$T/new" >"$T/out"
    same "$1 --eval --json (as $2)" "$E/$2.eval.json"
}
for c in fruit-e3 fruit-e6 bytes-e2 bytes-e4 wave-int wave-full; do
    predict_eval "$c" "$c"
done

# --resume from the shorter runs reaches the old build's longer ones exactly
# (the interrupted wave run continues inside its epoch)
resume() { # CKPT CONFIG EPOCHS EXPECTED_STEM
    "$NN" --quiet --resume --epochs "$3" --checkpoint "$1.ckpt" "$2" >"$T/out" 2>"$T/err"; rc=$?
    if [ "$rc" -ne 0 ]; then
        bad "$1 --resume: exit code $rc; stderr: $(head -c 300 "$T/err")"
        return
    fi
    ok
    predict_eval "$1" "$4"
}
resume fruit-e3 fruit.json 6 fruit-e6
resume bytes-e2 bytes.json 4 bytes-e4
resume wave-int wave.json "$(cat wave-full.epochs)" wave-full

echo "v3 fixtures: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
