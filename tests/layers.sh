#!/bin/sh
# The shape of src/: every #include "..." runs downward only, and nothing
# below the command line prints.  Usage: sh tests/layers.sh (from the top of
# the repository).
#
# The folders, lowest first; a file may include headers of its own folder
# and of lower ranks, never of a higher rank nor of another folder of the
# same rank (config/ and checkpoint/ know nothing of each other, nor do
# train/ and gradcheck/):
#   0 util  1 math  2 pool dist  3 kernels  4 data  5 nn  6 config checkpoint
#   7 eval export  8 train gradcheck  9 api (the public library, include/nntrain.h)
#   10 cli
set -u
cd "$(dirname "$0")/.." || exit 1
fail=0
checked=0
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

rank() {
    case $1 in
    util) echo 0 ;; math) echo 1 ;; pool | dist) echo 2 ;; kernels) echo 3 ;; data) echo 4 ;;
    nn) echo 5 ;; config | checkpoint) echo 6 ;; eval | export) echo 7 ;;
    train | gradcheck) echo 8 ;; api) echo 9 ;; cli) echo 10 ;; *) echo "" ;;
    esac
}

for f in $(find src -name '*.[ch]' | LC_ALL=C sort); do
    dir=${f#src/}
    dir=${dir%%/*}
    case $dir in *.c | *.h) bad "$f: every file of src/ belongs to a folder"; continue ;; esac
    r=$(rank "$dir")
    [ -n "$r" ] || { bad "$f: folder src/$dir has no rank in tests/layers.sh"; continue; }
    for inc in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
        case $inc in */*) ;; *) continue ;; esac   # "kernels.h" beside itself
        to=${inc%%/*}
        [ "$to" = "$dir" ] && { checked=$((checked + 1)); continue; }
        t=$(rank "$to")
        if [ -z "$t" ]; then bad "$f includes \"$inc\", outside the folders of src/"
        elif [ "$t" -gt "$r" ]; then bad "$f (src/$dir) includes \"$inc\" (src/$to): an upward include"
        elif [ "$t" -eq "$r" ]; then bad "$f (src/$dir) includes \"$inc\" (src/$to): a sideways include"
        else checked=$((checked + 1)); fi
    done
done

# Below the command line nothing prints: no stdout or stderr, no printf,
# puts or fputs (snprintf into a buffer is fine; FILE * parameters are the
# caller's).
hits=$(grep -nE '(^|[^a-z_])(printf|puts|putchar|perror)\(|stdout|stderr' \
    $(find src -name '*.c' -not -path 'src/cli/*') | grep -vE 'format\(printf' || true)
if [ -n "$hits" ]; then
    bad "output below the command line:"
    echo "$hits"
fi

echo "layers: $checked includes checked, $fail failed"
[ "$fail" -eq 0 ]
