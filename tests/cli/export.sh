#!/bin/sh
# --export CHECKPOINT -o FILE: what it writes (the ONNX itself is proven by
# tests/onnx/run.sh) and its errors: one line "nntrain: ..." naming the file,
# the documented exit code, and never a partial or temporary file left behind.
# Usage: sh tests/cli/export.sh NNTRAIN
AREA=export
. "$(dirname "$0")/lib.sh"
DATA=$(cd "$(dirname "$0")/../../data" && pwd)/fruit.csv
cd "$T" || exit 1
err_one_line() {
    if [ "$(wc -l <"$T/err")" -eq 1 ] && head -n1 "$T/err" | grep -q '^nntrain: '; then ok
    else bad "$1: stderr is not one 'nntrain: ' line: $(cat "$T/err")"; fi
}
# no_temp NAME: no temporary file is left in the folder
no_temp() {
    left=$(find "$T" -name '*.tmp*' | head -n 3)
    if [ -z "$left" ]; then ok; else bad "$1: left behind: $left"; fi
}
absent() { if [ ! -e "$2" ]; then ok; else bad "$1: $2 exists"; fi; }

cat >m.json <<JSON
{"seed": 2, "data": {"train": {"path": "$DATA", "label": "fruit"}},
 "model": {"layers": [{"units": 32, "activation": "relu"}, {"units": 3, "activation": "softmax"}]},
 "optimizer": {"name": "adam", "learning_rate": 0.01},
 "training": {"epochs": 2, "batch_size": 16}, "checkpoint": {"path": "m.ckpt"}}
JSON
run "train" 0 "$NN" -q m.json || exit 1

# the file and the note
run "export" 0 "$NN" --export m.ckpt -o m.onnx &&
    err_has "export" "nntrain: wrote m.onnx (ONNX opset 13, 6 nodes, 6 weight tensors, " && out_empty "export"
if [ -s m.onnx ] && [ "$(head -c 2 m.onnx | od -An -tx1 | tr -d ' ')" = "0808" ]; then ok
else bad "export: m.onnx does not start with ir_version 8 (08 08)"; fi
no_temp "export"
run "export --quiet" 0 "$NN" --export m.ckpt -o m2.onnx --quiet && err_empty "export --quiet"
if cmp -s m.onnx m2.onnx; then ok; else bad "export twice: different bytes"; fi
run "export=FILE" 0 "$NN" -q --export=m.ckpt --output=m3.onnx &&
    { if cmp -s m.onnx m3.onnx; then ok; else bad "export=FILE: different bytes"; fi; }

# usage errors (exit 2)
run "no -o" 2 "$NN" --export m.ckpt && err_is "no -o" \
    "nntrain: --export m.ckpt needs -o FILE (the ONNX file to write)"
run "with --predict" 2 "$NN" --export m.ckpt -o x.onnx --predict &&
    err_has "with --predict" "nntrain: --export CHECKPOINT -o FILE takes only --quiet"
absent "with --predict" x.onnx
cp m.ckpt keep.ckpt
run "over the checkpoint" 2 "$NN" --export m.ckpt -o m.ckpt && err_one_line "over the checkpoint" &&
    err_has "over the checkpoint" "m.ckpt: is the checkpoint being exported"
if cmp -s m.ckpt keep.ckpt; then ok; else bad "over the checkpoint: the checkpoint changed"; fi

# bad checkpoints (exit 1), nothing written
run "missing checkpoint" 1 "$NN" --export nope.ckpt -o x.onnx && err_one_line "missing checkpoint" &&
    err_has "missing checkpoint" "nope.ckpt"
absent "missing checkpoint" x.onnx
head -c 300 m.ckpt >cut.ckpt
run "truncated checkpoint" 1 "$NN" --export cut.ckpt -o x.onnx && err_one_line "truncated checkpoint" &&
    err_has "truncated checkpoint" "nntrain: cut.ckpt: "
absent "truncated checkpoint" x.onnx
# one byte flipped in the middle: the checksum
size=$(wc -c <m.ckpt)
{ head -c $((size / 2)) m.ckpt; printf 'Z'; tail -c $((size - size / 2 - 1)) m.ckpt; } >flip.ckpt
run "corrupt checkpoint" 1 "$NN" --export flip.ckpt -o x.onnx && err_one_line "corrupt checkpoint" &&
    err_has "corrupt checkpoint" "nntrain: flip.ckpt: "
absent "corrupt checkpoint" x.onnx
echo "not a checkpoint" >text.ckpt
run "not a checkpoint" 1 "$NN" --export text.ckpt -o x.onnx && err_is "not a checkpoint" \
    "nntrain: text.ckpt: not an nntrain checkpoint"
absent "not a checkpoint" x.onnx

# outputs that cannot be written (exit 1), no temporary file left
run "no such folder" 1 "$NN" --export m.ckpt -o nodir/x.onnx && err_one_line "no such folder" &&
    err_has "no such folder" "nntrain: nodir/x.onnx: cannot write: No such file or directory"
run "a file as folder" 1 "$NN" --export m.ckpt -o m.json/x.onnx && err_one_line "a file as folder" &&
    err_has "a file as folder" "nntrain: m.json/x.onnx: cannot write: "
mkdir adir
run "a folder" 1 "$NN" --export m.ckpt -o adir && err_one_line "a folder" &&
    err_has "a folder" "nntrain: adir: cannot write: "
no_temp "a folder"
if [ -d adir ] && [ -z "$(ls adir)" ]; then ok; else bad "a folder: adir changed"; fi
# a full disk (the file size limit): the previous file stays whole
cp m.onnx before.onnx
(ulimit -f 1 && "$NN" --export m.ckpt -o m.onnx) >"$T/out" 2>"$T/err"
code=$?
if [ "$code" -eq 1 ]; then ok; else bad "file size limit: exit $code: $(cat "$T/err")"; fi
err_one_line "file size limit"
err_has "file size limit" "nntrain: m.onnx: cannot write: "
if cmp -s m.onnx before.onnx; then ok; else bad "file size limit: m.onnx changed"; fi
no_temp "file size limit"

echo "export: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
