#!/bin/sh
# tests/mutation/run.sh - the checks must catch known mistakes.
#
#   sh tests/mutation/run.sh [ROOT]     (ROOT: the source tree, default .)
#
# Each mutant below is a one-line change to a scratch copy of the source
# (src/, the Makefile and, when ROOT has been built, its objects, so only
# the changed file is recompiled), built with `make nntrain`, and must make
# `nntrain --gradcheck` on its config fail (exit 1, "gradient check
# failed").  The unmutated copy must pass on every config first, so the test
# cannot pass vacuously, and each mutant's pattern must still be found in
# the source (a refactor that moves the code fails here, not silently).
# Any surviving mutant fails the test.  Scratch copies live under TMPDIR and
# are removed on exit.
set -u
ROOT=$(cd "${1:-.}" && pwd)
HERE=$ROOT/tests/mutation
W=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-mutation-XXXXXX")
trap 'rm -rf "$W"' EXIT
export LC_ALL=C
fail=0

# name | file | sed pattern that must match | sed replacement | config
# (a) Adam without the second-moment bias correction (r = 1 instead of
#     1 / sqrt(1 - b2^t))
# (b) the fused SGD step decaying the biases too
# (c) the scalar kernels' sigmoid derivative off by 3e-4
MUTANTS='adam-no-v-correction|src/nn/optim.c|\.rs2 = (float)(1\.0 / sqrt(1\.0 - pow(c->beta2, (double)t))),|.rs2 = 1.0f,|adam.json
fused-sgd-decays-biases|src/nn/dense.c|bias\[j\] -= lr \* (db\[j\] + 0\.0f \* bias\[j\]);|bias[j] -= lr * (db[j] + wd * bias[j]);|sgd.json
sigmoid-derivative-plus-3e-4|src/kernels/ref.c|\*g \*= nn_act_derivative(act, Y\[(size_t)i \* out + j\]);|*g *= nn_act_derivative(act, Y[(size_t)i * out + j]) + (act == NN_ACT_SIGMOID ? 3e-4f : 0.0f);|sigmoid.json'

# A copy of what `make nntrain` needs, modification times kept.
copy_tree() {
    mkdir -p "$2/tests/fuzz" || return 1
    cp -pR "$1/src" "$1/include" "$1/Makefile" "$2/" || return 1
    cp -p "$1/tests/fuzz/fuzz.mk" "$2/tests/fuzz/" || return 1
    if [ -d "$1/build/src" ]; then
        mkdir -p "$2/build"
        cp -pR "$1/build/src" "$2/build/" || return 1
        for f in libnntrain.a .deps-ok; do
            [ -e "$1/build/$f" ] && cp -p "$1/build/$f" "$2/build/"
        done
    fi
    [ -x "$1/nntrain" ] && cp -p "$1/nntrain" "$2/"
    return 0
}

build() {
    if ! make -C "$1" --no-print-directory -j2 nntrain >"$W/build.log" 2>&1; then
        echo "FAIL: $2: build failed:"; tail -20 "$W/build.log"
        return 1
    fi
}

# gradcheck BINARY CONFIG: its exit code, stdout and stderr in $W/out, $W/err
gradcheck() {
    (cd "$HERE" && "$1" --gradcheck "$2") >"$W/out" 2>"$W/err"
}

copy_tree "$ROOT" "$W/clean" || { echo "FAIL: cannot copy $ROOT"; exit 1; }
build "$W/clean" "unmutated" || exit 1
for cfg in adam.json sgd.json sigmoid.json; do
    if gradcheck "$W/clean/nntrain" "$cfg"; then
        echo "ok: unmutated build passes --gradcheck $cfg"
    else
        echo "FAIL: the unmutated build fails --gradcheck $cfg:"; cat "$W/err"; fail=1
    fi
done
[ "$fail" -eq 0 ] || exit 1

echo "$MUTANTS" | while IFS='|' read -r name file pat repl cfg; do
    M=$W/$name
    cp -pR "$W/clean" "$M"
    if ! grep -q "$pat" "$M/$file"; then
        echo "FAIL: $name: its pattern is no longer in $file"; exit 1
    fi
    sed -i "s|$pat|$repl|" "$M/$file"
    if cmp -s "$W/clean/$file" "$M/$file"; then
        echo "FAIL: $name: sed changed nothing in $file"; exit 1
    fi
    build "$M" "$name" || exit 1
    gradcheck "$M/nntrain" "$cfg"
    code=$?
    if [ "$code" -eq 1 ] && grep -q "^nntrain: gradient check failed" "$W/err"; then
        echo "ok: $name caught: $(cut -c1-220 "$W/err")"
    else
        echo "FAIL: $name survived --gradcheck $cfg (exit $code): $(head -c 400 "$W/err")"
        exit 1
    fi
    rm -rf "$M"
done || fail=1
[ "$fail" -eq 0 ] && echo "mutation test: every mutant caught"
exit "$fail"
