#!/bin/sh
# example.sh [NNTRAIN] - libnntrain as a user gets it: `make install` into a
# temporary DESTDIR (PREFIX=/usr/local), examples/classify.c built against
# that copy through pkg-config (shared, then once statically), its classes
# compared with the first column of `nntrain --predict` on two small trained
# models (string and integer labels), then `make uninstall` must leave none
# of the installed files behind.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NN=$(cd "$(dirname "${1:-$ROOT/nntrain}")" && pwd)/$(basename "${1:-nntrain}")
T=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-lib-XXXXXX")
trap 'rm -rf "$T"' EXIT
export LC_ALL=C
CC=${CC:-cc}
MAKE=${MAKE:-make}
D=$T/stage
PREFIX=/usr/local
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

if ! $MAKE -C "$ROOT" --no-print-directory -s install DESTDIR="$D" PREFIX=$PREFIX >"$T/install.log" 2>&1; then
    cat "$T/install.log"
    echo "FAIL: make install DESTDIR=$D PREFIX=$PREFIX"
    exit 1
fi
for f in bin/nntrain include/nntrain.h lib/libnntrain.a lib/libnntrain.so lib/libnntrain.so.0 \
         lib/pkgconfig/nntrain.pc share/man/man1/nntrain.1 share/man/man3/nntrain.3; do
    if [ -e "$D$PREFIX/$f" ]; then ok; else bad "install: no $PREFIX/$f"; fi
done

# pkg-config on the staged copy: --define-prefix takes the prefix from where
# nntrain.pc lies (DESTDIR/usr/local/lib/pkgconfig), not from its prefix=.
PC="env PKG_CONFIG_PATH=$D$PREFIX/lib/pkgconfig pkg-config --define-prefix"
if [ "$($PC --modversion nntrain)" = "$(sed -n 's/^#define NNTRAIN_VERSION_STRING "\(.*\)"/\1/p' "$ROOT/include/nntrain.h")" ]; then
    ok
else
    bad "pkg-config --modversion nntrain: '$($PC --modversion nntrain 2>&1)'"
fi
grep -q "^prefix=$PREFIX\$" "$D$PREFIX/lib/pkgconfig/nntrain.pc" && ok || bad "nntrain.pc: prefix is not $PREFIX"

# shellcheck disable=SC2046
if $CC -std=c17 -Wall -Wextra -Werror -o "$T/classify" "$ROOT/examples/classify.c" \
       $($PC --cflags --libs nntrain) 2>"$T/cc.err"; then ok; else bad "shared build: $(cat "$T/cc.err")"; fi
if $CC -std=c17 -Wall -Wextra -Werror -o "$T/classify-static" "$ROOT/examples/classify.c" \
       $($PC --cflags nntrain) $($PC --static --libs nntrain | sed 's/-lnntrain\b/-l:libnntrain.a/') \
       2>"$T/cc.err"; then ok; else bad "static build: $(cat "$T/cc.err")"; fi
if [ -x "$T/classify-static" ] && ldd "$T/classify-static" 2>/dev/null | grep -q libnntrain; then
    bad "the static build still loads libnntrain.so"
fi
if [ -x "$T/classify" ]; then
    if LD_LIBRARY_PATH=$D$PREFIX/lib ldd "$T/classify" | grep -q "libnntrain.so.0 => $D$PREFIX/lib/"; then
        ok
    else
        bad "the shared build does not load $D$PREFIX/lib/libnntrain.so.0: $(LD_LIBRARY_PATH=$D$PREFIX/lib ldd "$T/classify")"
    fi
fi

# two small models: string labels and integer ones
cp "$ROOT/data/fruit.csv" "$T/names.csv"
awk -F, 'BEGIN { OFS = "," } NR == 1 { print; next }
         { $5 = $5 == "apple" ? 0 : $5 == "banana" ? 1 : 2; print }' "$T/names.csv" >"$T/ints.csv"
tail -n +2 "$T/names.csv" | cut -d, -f1-4 >"$T/rows.csv"
for kind in names ints; do
    cat >"$T/$kind.json" <<JSON
{"seed": 3,
 "data": {"train": {"path": "$kind.csv", "label": "fruit"}, "scale": "standard"},
 "model": {"layers": [{"units": 8, "activation": "relu"}, {"units": 3, "activation": "softmax"}]},
 "loss": "cross_entropy",
 "optimizer": {"name": "adam", "learning_rate": 0.01},
 "training": {"epochs": 3, "batch_size": 16},
 "checkpoint": {"path": "$kind.ckpt"}}
JSON
    if ! "$NN" --quiet "$T/$kind.json" >"$T/train.out" 2>&1; then
        bad "$kind: training failed: $(head -c 400 "$T/train.out")"
        continue
    fi
    "$NN" --predict --checkpoint "$T/$kind.ckpt" --data "$T/rows.csv" | cut -d, -f1 >"$T/want"
    [ -s "$T/want" ] || bad "$kind: nntrain --predict printed nothing"
    for b in classify classify-static; do
        [ -x "$T/$b" ] || continue
        if LD_LIBRARY_PATH=$D$PREFIX/lib "$T/$b" "$T/$kind.ckpt" <"$T/rows.csv" >"$T/got" 2>"$T/err" &&
           cmp -s "$T/want" "$T/got"; then
            ok
        else
            bad "$kind: $b differs from nntrain --predict: $(diff "$T/want" "$T/got" | head -5) $(head -c 300 "$T/err")"
        fi
    done
done
[ "$(head -1 "$T/want" 2>/dev/null)" = 0 ] || [ "$(head -1 "$T/want" 2>/dev/null)" = 1 ] ||
    [ "$(head -1 "$T/want" 2>/dev/null)" = 2 ] || bad "ints: --predict did not print integer classes"

# an unreadable checkpoint: a message on stderr, exit 1, nothing on stdout
if [ -x "$T/classify" ]; then
    LD_LIBRARY_PATH=$D$PREFIX/lib "$T/classify" "$T/none.ckpt" </dev/null >"$T/out" 2>"$T/err"
    code=$?
    if [ $code -eq 1 ] && [ ! -s "$T/out" ] && grep -q "none.ckpt" "$T/err"; then ok; else
        bad "missing checkpoint: exit $code, stderr '$(cat "$T/err")'"; fi
fi

if $MAKE -C "$ROOT" --no-print-directory -s uninstall DESTDIR="$D" PREFIX=$PREFIX >"$T/uninstall.log" 2>&1; then
    left=$(find "$D" ! -type d)
    if [ -z "$left" ]; then ok; else bad "make uninstall left: $left"; fi
else
    bad "make uninstall: $(cat "$T/uninstall.log")"
fi

echo "library example: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
