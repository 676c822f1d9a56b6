# lib.sh - what the command-line test files share.  A file sets AREA (its
# name in the temporary folder's name) and sources this with its argument,
# the binary:  AREA=data; . "$(dirname "$0")/lib.sh"
# It sets NN (the binary's absolute path), T (a fresh folder, removed on
# exit), LC_ALL=C and the counters, and defines the checks below.
set -u
NN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
T=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-$AREA-XXXXXX")
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
# err_is NAME TEXT: stderr is exactly TEXT; out_is the same for stdout
err_is() {
    if [ "$(cat "$T/err")" = "$2" ]; then ok; else bad "$1: stderr is '$(cat "$T/err")', expected '$2'"; fi
}
out_is() {
    if [ "$(cat "$T/out")" = "$2" ]; then ok; else bad "$1: stdout is '$(cat "$T/out")', expected '$2'"; fi
}
# err_has / out_has NAME TEXT: contains the fixed string; err_lacks: does not
err_has() { if grep -qF -- "$2" "$T/err"; then ok; else bad "$1: stderr lacks '$2': $(head -c 600 "$T/err")"; fi; }
err_lacks() { if grep -qF -- "$2" "$T/err"; then bad "$1: stderr has '$2'"; else ok; fi; }
out_has() { if grep -qF -- "$2" "$T/out"; then ok; else bad "$1: stdout lacks '$2': $(head -c 400 "$T/out")"; fi; }
err_empty() { if [ ! -s "$T/err" ]; then ok; else bad "$1: stderr not empty: $(head -c 400 "$T/err")"; fi; }
out_empty() { if [ ! -s "$T/out" ]; then ok; else bad "$1: stdout not empty: $(head -c 400 "$T/out")"; fi; }
