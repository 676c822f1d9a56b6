#!/bin/sh
# Command-line tests of NumPy arrays: --convert from CSV and IDX, training on
# the arrays giving the very model the original source gives (the same
# scores, bit for bit, from --predict), shards, --data X.npy,Y.npy, --predict
# --data X.npy, targets, and the error messages (exit 1 for bad data, 2 for
# a bad config or command line).  NPY files are made by --convert or written
# here byte by byte; nothing needs Python.
# Usage: sh tests/cli/npy.sh PATH/TO/nntrain
AREA=npy
. "$(dirname "$0")/lib.sh"

# npy FILE DESCR SHAPE [VERSION]: an NPY header (version 1 or 2) for the
# dict of DESCR and SHAPE, padded to 64 bytes; the data is appended by the caller.
npy() {
    v=${4:-1}
    dict="{'descr': '$2', 'fortran_order': False, 'shape': $3, }"
    plen=10
    [ "$v" -gt 1 ] && plen=12
    hlen=$((${#dict} + 1))
    pad=$(( (64 - (plen + hlen) % 64) % 64 ))
    hlen=$((hlen + pad))
    {
        printf "\\223NUMPY\\$(printf %03o "$v")\\000"
        printf "\\$(printf %03o $((hlen % 256)))\\$(printf %03o $((hlen / 256)))"
        [ "$v" -gt 1 ] && printf '\000\000'
        printf '%s' "$dict"
        printf "%${pad}s\n" ""
    } >"$1"
}
# The same with a dict given whole (for headers numpy would not write).
npy_dict() {
    dict=$2
    hlen=$((${#dict} + 1))
    pad=$(( (64 - (10 + hlen) % 64) % 64 ))
    hlen=$((hlen + pad))
    {
        printf '\223NUMPY\001\000'
        printf "\\$(printf %03o $((hlen % 256)))\\$(printf %03o $((hlen / 256)))"
        printf '%s' "$dict"
        printf "%${pad}s\n" ""
    } >"$1"
}

# 60 rows "x0,x1,label" of three separated classes named a, b, c (as data.sh's mk)
awk 'BEGIN { srand(7); split("ant bee cat", name, " ");
    print "x0,x1,kind";
    for (i = 0; i < 60; i++) { k = i % 3;
        printf "%.3f,%.3f,%s\n", 3 * k + rand() * 0.5, -3 * k + rand() * 0.5, name[k + 1]; } }' >"$T/d.csv"
head -n 41 "$T/d.csv" >"$T/d1.csv"
{ head -n 1 "$T/d.csv"; tail -n 20 "$T/d.csv"; } >"$T/d2.csv"

# cfg FILE SOURCE_JSON CHECKPOINT [UNITS] [EXTRA]
cfg() {
    cat >"$1" <<EOF
{"seed": 3, "data": {"train": $2, "validation_fraction": 0.2},
 "model": {"layers": [{"units": 8, "activation": "tanh"}, {"units": ${4:-3}}]},
 "optimizer": {"name": "adam", "learning_rate": 0.05},
 "training": {"epochs": 15, "batch_size": 7}, "checkpoint": {"path": "$3"}${5:-}}
EOF
}
# scores CKPT DATA: --predict --scores without the label column
scores() { "$NN" --predict --scores --checkpoint "$1" --data "$2" | cut -d, -f2-; }

# --- --convert a CSV with string labels -------------------------------------------
if run convert-csv 0 "$NN" --convert "$T/d.csv" -o "$T/n"; then
    err_is convert-csv "nntrain: wrote $T/n-x.npy (60 x 2 <f4) and $T/n-y.npy (labels 0..2, <i4) and $T/n-classes.json"
    [ "$(cat "$T/n-classes.json")" = '["ant","bee","cat"]' ] && ok || bad "convert-csv: classes $(cat "$T/n-classes.json")"
    # the header: version 1.0, '<f4', C order, shape (60, 2), data at byte 128
    [ "$(head -c 128 "$T/n-x.npy" | tail -c +11 | tr -d '\n' | sed 's/ *$//')" = "{'descr': '<f4', 'fortran_order': False, 'shape': (60, 2), }" ] &&
        [ "$(head -c 128 "$T/n-x.npy" | tail -c 1 | od -An -c | tr -d ' ')" = '\n' ] && ok || bad "convert-csv: header $(head -c 128 "$T/n-x.npy" | tail -c +11)"
    [ "$(wc -c <"$T/n-x.npy")" -eq $((128 + 480)) ] && ok || bad "convert-csv: size $(wc -c <"$T/n-x.npy")"
    [ -z "$(ls "$T" | grep tmp)" ] && ok || bad "convert-csv: temporary files left: $(ls "$T")"
fi
if run convert-quiet 0 "$NN" --convert "$T/d.csv" -o "$T/q" -q; then err_empty convert-quiet; fi

# --- training on the arrays gives the CSV's model ------------------------------------
cfg "$T/csv.json" "{\"path\": \"$T/d.csv\"}" "$T/csv.ckpt"
cfg "$T/npy.json" "{\"npy\": \"$T/n-x.npy\", \"labels\": \"$T/n-y.npy\"}" "$T/npy.ckpt"
if run train-csv 0 "$NN" -q "$T/csv.json" && run train-npy 0 "$NN" -q "$T/npy.json"; then
    scores "$T/csv.ckpt" "$T/n-x.npy" >"$T/s1"
    scores "$T/npy.ckpt" "$T/n-x.npy" >"$T/s2"
    [ -s "$T/s1" ] && cmp -s "$T/s1" "$T/s2" && ok || bad "round trip: CSV and NPY models differ: $(diff "$T/s1" "$T/s2" | head -4)"
    if run predict-npy 0 "$NN" --predict --checkpoint "$T/npy.ckpt" --data "$T/n-x.npy"; then
        [ "$(sort -u "$T/out" | tr '\n' ' ')" = "0 1 2 " ] && ok || bad "predict-npy: $(sort -u "$T/out" | head -5)"
    fi
    run inspect-npy 0 "$NN" --inspect "$T/npy.ckpt" && out_has inspect-npy "data         npy"
    if run eval-npy 0 "$NN" --eval --checkpoint "$T/npy.ckpt" --data "$T/n-x.npy,$T/n-y.npy"; then
        out_has eval-npy "samples   60"
        grep '^accuracy' "$T/out" >"$T/a2"
        run eval-csv 0 "$NN" --eval --checkpoint "$T/csv.ckpt" --data "$T/d.csv" &&
            grep '^accuracy' "$T/out" >"$T/a1" && cmp -s "$T/a1" "$T/a2" && ok || bad "eval: accuracy differs"
    fi
    # --data X.npy,Y.npy in place of the config's CSV: the same model again
    if run train-data-pair 0 "$NN" -q --checkpoint "$T/pair.ckpt" --data "$T/n-x.npy,$T/n-y.npy" "$T/csv.json"; then
        scores "$T/pair.ckpt" "$T/n-x.npy" >"$T/s3"
        cmp -s "$T/s1" "$T/s3" && ok || bad "--data pair: model differs"
    fi
fi

# --- shards: two arrays in a list are the CSV's rows in order ---------------------------
"$NN" -q --convert "$T/d1.csv" -o "$T/p1" && "$NN" -q --convert "$T/d2.csv" -o "$T/p2" || bad "convert shards"
cfg "$T/sh.json" "[{\"npy\": \"$T/p1-x.npy\", \"labels\": \"$T/p1-y.npy\"}, {\"npy\": \"$T/p2-x.npy\", \"labels\": \"$T/p2-y.npy\"}]" "$T/sh.ckpt"
if run train-shards 0 "$NN" -q "$T/sh.json"; then
    scores "$T/sh.ckpt" "$T/n-x.npy" >"$T/s4"
    cmp -s "$T/s1" "$T/s4" && ok || bad "shards: model differs from the whole CSV's"
fi

# --- IDX bytes round trip as |u1 with their shape -------------------------------------
{
    printf '\000\000\010\003\000\000\000\074\000\000\000\002\000\000\000\002'
    awk 'BEGIN { srand(5); for (i = 0; i < 60; i++) { k = i % 3;
        for (j = 0; j < 4; j++) printf "%c", 10 + 30 * k + int(rand() * 20) + (j == 0 ? 1 : 0) } }'
} >"$T/im.idx"
{
    printf '\000\000\010\001\000\000\000\074'
    awk 'BEGIN { for (i = 0; i < 60; i++) printf "%c", (i % 3) + 1 }' | tr '\001\002\003' '\000\001\002'
} >"$T/lab.idx"
if run convert-idx 0 "$NN" --convert "$T/im.idx,$T/lab.idx" -o "$T/i"; then
    err_is convert-idx "nntrain: wrote $T/i-x.npy (60 x 4 |u1) and $T/i-y.npy (labels 0..2, <i4)"
    head -c 128 "$T/i-x.npy" | grep -qF "'descr': '|u1', 'fortran_order': False, 'shape': (60, 2, 2), }" && ok ||
        bad "convert-idx: header $(head -c 128 "$T/i-x.npy")"
    [ ! -e "$T/i-classes.json" ] && ok || bad "convert-idx: a classes file for integer labels"
    cfg "$T/idx.json" "{\"images\": \"$T/im.idx\", \"labels\": \"$T/lab.idx\"}" "$T/idx.ckpt"
    cfg "$T/ni.json" "{\"npy\": \"$T/i-x.npy\", \"labels\": \"$T/i-y.npy\"}" "$T/ni.ckpt"
    if run train-idx 0 "$NN" -q "$T/idx.json" && run train-ni 0 "$NN" -q "$T/ni.json"; then
        scores "$T/idx.ckpt" "$T/im.idx" >"$T/s5"
        scores "$T/ni.ckpt" "$T/i-x.npy" >"$T/s6"
        [ -s "$T/s5" ] && cmp -s "$T/s5" "$T/s6" && ok || bad "IDX round trip: models differ"
        run inspect-ni 0 "$NN" --inspect "$T/ni.ckpt" && out_has inspect-ni "scale        unit"
    fi
fi
# gzip IDX converts too
gzip -c "$T/im.idx" >"$T/im.idx.gz"
if run convert-gz 0 "$NN" -q --convert "$T/im.idx.gz,$T/lab.idx" -o "$T/g"; then
    cmp -s "$T/g-x.npy" "$T/i-x.npy" && ok || bad "convert-gz: differs from the plain file's"
fi

# --- targets: a float array is regression ---------------------------------------------
cfg "$T/reg.json" "{\"npy\": \"$T/n-x.npy\", \"targets\": \"$T/n-x.npy\"}" "$T/reg.ckpt" 2
if run train-targets 0 "$NN" -q "$T/reg.json"; then
    run eval-targets 0 "$NN" --eval --checkpoint "$T/reg.ckpt" --data "$T/n-x.npy,$T/n-x.npy" &&
        out_has eval-targets "r2"
    run inspect-targets 0 "$NN" --inspect "$T/reg.ckpt" && out_has inspect-targets "data         npy"
fi
cfg "$T/reg3.json" "{\"npy\": \"$T/n-x.npy\", \"targets\": \"$T/n-x.npy\"}" "$T/reg3.ckpt" 3
run targets-units 1 "$NN" -q "$T/reg3.json" &&
    err_is targets-units "nntrain: $T/n-x.npy: 2 target columns for 3 output units"

# --- bad data: exit 1, one line naming the file and the place ----------------------------
npy_dict "$T/f.npy" "{'descr': '<f4', 'fortran_order': True, 'shape': (60, 2), }"
head -c 480 /dev/zero >>"$T/f.npy"
run fortran 1 "$NN" -q --data "$T/f.npy,$T/n-y.npy" "$T/csv.json" &&
    err_is fortran "nntrain: $T/f.npy: header byte 44: the array is in Fortran (column-major) order; nntrain reads C order (numpy.ascontiguousarray before numpy.save)"
npy "$T/o.npy" '|O' '(60,)'
head -c 480 /dev/zero >>"$T/o.npy"
run object 1 "$NN" -q --data "$T/o.npy,$T/n-y.npy" "$T/csv.json" &&
    err_is object "nntrain: $T/o.npy: header byte 20: dtype '|O' is an object array (pickled Python objects), which nntrain does not read"
head -c 300 "$T/n-x.npy" >"$T/short.npy"
run truncated 1 "$NN" -q --data "$T/short.npy,$T/n-y.npy" "$T/csv.json" &&
    err_is truncated "nntrain: $T/short.npy: header claims 60 x 2 <f4 (480 bytes of data) but the file holds 172 bytes after the 128-byte header"
npy "$T/huge.npy" '<f8' '(4000000000, 16777216)' 2
run huge 1 "$NN" -q --data "$T/huge.npy,$T/n-y.npy" "$T/csv.json" &&
    err_is huge "nntrain: $T/huge.npy: header claims 4000000000 x 16777216 <f8 (536870912000000000 bytes of data) but the file holds 0 bytes after the 128-byte header"
npy "$T/nan.npy" '<f4' '(60, 2)'
{ head -c 4 /dev/zero; printf '\000\000\300\177'; head -c 472 /dev/zero; } >>"$T/nan.npy"
run nan 1 "$NN" -q --data "$T/nan.npy,$T/n-y.npy" "$T/csv.json" &&
    err_is nan "nntrain: $T/nan.npy: row 0 column 1 is NaN"
run rows-mismatch 1 "$NN" -q --data "$T/n-x.npy,$T/p1-y.npy" "$T/csv.json" &&
    err_is rows-mismatch "nntrain: $T/p1-y.npy: 40 rows but $T/n-x.npy has 60"
run float-labels 1 "$NN" -q --data "$T/n-x.npy,$T/n-x.npy" "$T/csv.json" &&
    err_is float-labels "nntrain: $T/n-x.npy: labels must be an integer array (class indices), found <f4; a float array is regression \"targets\""
npy "$T/neg.npy" '|i1' '(60,)'
{ printf '\377'; head -c 59 /dev/zero; } >>"$T/neg.npy"
run negative-label 1 "$NN" -q --data "$T/n-x.npy,$T/neg.npy" "$T/csv.json" &&
    err_is negative-label "nntrain: $T/neg.npy: label -1 at row 0 is negative"
# a shard of another width
awk -F, 'NR == 1 { print "x0,x1,x2,kind"; next } { print $1 "," $2 ",0," $3 }' "$T/d2.csv" >"$T/w.csv"
"$NN" -q --convert "$T/w.csv" -o "$T/w" || bad "convert w.csv"
cfg "$T/shw.json" "[{\"npy\": \"$T/p1-x.npy\", \"labels\": \"$T/p1-y.npy\"}, {\"npy\": \"$T/w-x.npy\", \"labels\": \"$T/w-y.npy\"}]" "$T/shw.ckpt"
run shard-width 1 "$NN" -q "$T/shw.json" &&
    err_is shard-width "nntrain: $T/w-x.npy: shard 1 has 3 features per row, the first shard ($T/p1-x.npy) 2"
# --predict on an array of another width
run predict-width 1 "$NN" --predict --checkpoint "$T/npy.ckpt" --data "$T/w-x.npy" && err_has predict-width "$T/w-x.npy"
# a checkpoint is left as it was
cp "$T/npy.ckpt" "$T/keep.ckpt"
run bad-data-keeps-checkpoint 1 "$NN" -q --data "$T/nan.npy,$T/n-y.npy" "$T/npy.json" &&
    cmp -s "$T/npy.ckpt" "$T/keep.ckpt" && ok || bad "a data error changed the checkpoint"

# --- config and command-line errors: exit 2 ---------------------------------------------
printf '{"data": {"train": {"npy": "x.npy", "labels": "y.npy", "targets": "t.npy"}}, "model": {"layers": [{"units": 2}]}}\n' >"$T/b1.json"
run both-labels-targets 2 "$NN" "$T/b1.json" &&
    err_is both-labels-targets "nntrain: $T/b1.json:1:56: \"data.train\" cannot have both \"labels\" (class indices) and \"targets\" (regression values)"
printf '{"data": {"train": {"npy": "x.npy"}}, "model": {"layers": [{"units": 2}]}}\n' >"$T/b2.json"
run no-labels 2 "$NN" "$T/b2.json" &&
    err_is no-labels "nntrain: $T/b2.json:1:20: \"data.train\" must have \"labels\" (an NPY array of class indices) or \"targets\" (an NPY array of regression values)"
printf '{"data": {"train": {"npy": "x.npy", "labels": "y.npy", "header": true}}, "model": {"layers": [{"units": 2}]}}\n' >"$T/b3.json"
run npy-csv-option 2 "$NN" "$T/b3.json" &&
    err_is npy-csv-option "nntrain: $T/b3.json:1:56: \"data.train.header\" is a CSV option; \"data.train\" is an NPY source"
printf '{"data": {"train": [{"path": "x.csv"}]}, "model": {"layers": [{"units": 2}]}}\n' >"$T/b4.json"
run list-not-npy 2 "$NN" "$T/b4.json" &&
    err_is list-not-npy "nntrain: $T/b4.json:1:21: \"data.train.0\" must be an NPY shard with \"npy\" (only NPY sources come as a list)"
printf '{"data": {"train": [{"npy": "a", "labels": "b"}, {"npy": "c", "targets": "d"}]}, "model": {"layers": [{"units": 2}]}}\n' >"$T/b5.json"
run shards-mixed 2 "$NN" "$T/b5.json" &&
    err_is shards-mixed "nntrain: $T/b5.json:1:50: \"data.train.1\" must have \"labels\" like the first shard"
run convert-no-prefix 2 "$NN" --convert "$T/d.csv" && err_has convert-no-prefix "nntrain: --convert SPEC needs -o PREFIX"
run convert-extra 2 "$NN" --convert "$T/d.csv" -o "$T/z" --epochs 3 &&
    err_has convert-extra "nntrain: --convert SPEC -o PREFIX takes only --quiet"
run convert-no-dir 1 "$NN" --convert "$T/d.csv" -o "$T/nodir/z" &&
    err_is convert-no-dir "nntrain: $T/nodir/z-x.npy: No such file or directory"
run convert-bad-data 1 "$NN" --convert "$T/nan.npy,$T/n-y.npy" -o "$T/z" &&
    [ ! -e "$T/z-x.npy" ] && [ ! -e "$T/z-y.npy" ] && [ -z "$(ls "$T" | grep '^z')" ] && ok || bad "convert-bad-data left files"
run predict-needs-pair 2 "$NN" --eval --checkpoint "$T/npy.ckpt" --data "$T/n-x.npy" &&
    err_has predict-needs-pair "an NPY array needs its labels or targets: give X.npy,Y.npy"

# class names: "classes" beside the labels, as --convert's PREFIX-classes.json lists them
"$NN" --convert "$T/d.csv" -o "$T/cn" 2>/dev/null || bad "convert for classes"
cat >"$T/cn.json" <<EOF
{"seed": 3, "data": {"train": {"npy": "cn-x.npy", "labels": "cn-y.npy", "classes": $(cat "$T/cn-classes.json")}},
 "model": {"layers": [{"units": 8, "activation": "tanh"}, {"units": 3}]},
 "training": {"epochs": 3, "batch_size": 7}, "checkpoint": {"path": "cn.ckpt"}}
EOF
run npy-classes 0 "$NN" --quiet "$T/cn.json" && ok
run npy-classes-predict 0 "$NN" --predict --checkpoint "$T/cn.ckpt" --data "$T/cn-x.npy" &&
    out_has npy-classes-predict "bee"
sed 's/"classes": \[\([^]]*\),"cat"\]/"classes": [\1]/' "$T/cn.json" >"$T/cn2.json"
run npy-classes-short 1 "$NN" --quiet "$T/cn2.json" &&
    err_has npy-classes-short "cn-y.npy: label 2 has no name: \"classes\" names 2 classes (labels 0 to 1)"
sed 's/"labels": "cn-y.npy"/"targets": "cn-y.npy"/' "$T/cn.json" >"$T/cn3.json"
run npy-classes-targets 2 "$NN" --quiet "$T/cn3.json" && err_has npy-classes-targets '"data.train.classes" is for labels, not regression targets'

echo "npy: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
