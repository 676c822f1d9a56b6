#!/bin/sh
# Command-line tests of reading real CSV files (skip_lines, comment,
# na_values, missing), the header note, labels as classes (1..K, strings,
# a classes list) and the data-side error messages.
# Usage: sh tests/cli/data.sh PATH/TO/nntrain
AREA=data
. "$(dirname "$0")/lib.sh"

# mk FILE LABEL1 LABEL2 LABEL3: 60 rows "x0,x1,label" of three well separated
# classes (class c near (3c, -3c)), the labels named by the arguments.
mk() {
    awk -v a="$2" -v b="$3" -v c="$4" 'BEGIN {
        srand(7); split(a " " b " " c, name, " ");
        for (i = 0; i < 60; i++) {
            k = i % 3;
            printf "%.3f,%.3f,%s\n", 3 * k + rand() * 0.5, -3 * k + rand() * 0.5, name[k + 1];
        }
    }' >"$1"
}
# cfg FILE SOURCE_JSON UNITS [EXTRA]: a softmax classifier of the source
cfg() {
    cat >"$1" <<EOF
{"data": {"train": $2},
 "model": {"layers": [{"units": 8, "activation": "tanh"}, {"units": $3, "activation": "$4"}]},
 "loss": "$5", "optimizer": {"name": "adam", "learning_rate": 0.05},
 "training": {"epochs": 60, "batch_size": 10}, "checkpoint": {"path": "$T/m.ckpt"}}
EOF
}
soft() { cfg "$1" "$2" "$3" softmax cross_entropy; }

# --- labels 1..3: trained, predicted as 1..3, listed by --inspect ----------------------
mk "$T/l123.csv" 1 2 3
soft "$T/c.json" "{\"path\": \"$T/l123.csv\"}" 3
if run labels-1-3 0 "$NN" -q "$T/c.json"; then
    printf '0.1,0.1\n3.2,-2.9\n6.1,-5.9\n' >"$T/p.csv"
    run labels-1-3-predict 0 "$NN" --predict --checkpoint "$T/m.ckpt" --data "$T/p.csv" &&
        out_is labels-1-3-predict "$(printf '1\n2\n3')"
    run labels-1-3-inspect 0 "$NN" --inspect "$T/m.ckpt" && out_has labels-1-3-inspect "classes      3 (1, 2, 3)"
    run labels-1-3-eval 0 "$NN" --eval --json --checkpoint "$T/m.ckpt" --data "$T/l123.csv" &&
        out_has labels-1-3-eval '"class":"3"'
fi
# labels 0..2 stay class indices: --predict prints 0..2
mk "$T/l012.csv" 0 1 2
soft "$T/c.json" "{\"path\": \"$T/l012.csv\"}" 3
if run labels-0-2 0 "$NN" -q "$T/c.json"; then
    run labels-0-2-predict 0 "$NN" --predict --checkpoint "$T/m.ckpt" --data "$T/p.csv" &&
        out_is labels-0-2-predict "$(printf '0\n1\n2')"
fi
# integer-coded labels named by a classes list (none of its names a number):
# label k is the k-th name, in training and at --eval
soft "$T/c.json" "{\"path\": \"$T/l012.csv\", \"classes\": [\"cat\", \"dog\", \"eel\"]}" 3
if run labels-0-2-named 0 "$NN" -q "$T/c.json"; then
    run labels-0-2-named-predict 0 "$NN" --predict --checkpoint "$T/m.ckpt" --data "$T/p.csv" &&
        out_is labels-0-2-named-predict "$(printf 'cat\ndog\neel')"
    run labels-0-2-named-eval 0 "$NN" --eval --json --checkpoint "$T/m.ckpt" --data "$T/l012.csv" &&
        out_has labels-0-2-named-eval '"class":"eel"'
fi
# a label beyond the list's length is still refused
soft "$T/c.json" "{\"path\": \"$T/l123.csv\", \"classes\": [\"cat\", \"dog\", \"eel\"]}" 3
run labels-index-beyond 1 "$NN" -q "$T/c.json" &&
    err_is labels-index-beyond "nntrain: $T/l123.csv:3: label \"3\" is not one of the source's \"classes\" (cat, dog, eel)"
# with a number among the names, labels are matched by name only
soft "$T/c.json" "{\"path\": \"$T/l012.csv\", \"classes\": [\"cat\", \"7\", \"eel\"]}" 3
run labels-index-off 1 "$NN" -q "$T/c.json" &&
    err_is labels-index-off "nntrain: $T/l012.csv:1: label \"0\" is not one of the source's \"classes\" (cat, 7, eel)"
# a count line (rows, features, class names) is skipped by header "auto" and
# names the classes; a wrong row count is refused
{ echo "60,2,red,green,blue"; cat "$T/l012.csv"; } >"$T/count.csv"
soft "$T/c.json" "{\"path\": \"$T/count.csv\"}" 3
if run count-line 0 "$NN" "$T/c.json"; then
    err_has count-line "nntrain: note: $T/count.csv: first line taken as a count line (60 rows, 2 features, classes red, green, blue) and skipped"
    err_has count-line "nntrain: note: $T/count.csv: line 2 taken as data (every field is a number)"
    run count-line-predict 0 "$NN" --predict --checkpoint "$T/m.ckpt" --data "$T/p.csv" &&
        out_is count-line-predict "$(printf 'red\ngreen\nblue')"
fi
{ echo "61,2,red,green,blue"; cat "$T/l012.csv"; } >"$T/count61.csv"
soft "$T/c.json" "{\"path\": \"$T/count61.csv\"}" 3
run count-line-wrong 1 "$NN" -q "$T/c.json" &&
    err_is count-line-wrong "nntrain: $T/count61.csv:1: the first line looks like a count line (61) but the file has 60 rows; set \"skip_lines\": 1 to skip it, or \"header\""
# names that repeat name no classes: the labels' own are used, and the note says why
{ echo "60,2,red,red,blue"; cat "$T/l012.csv"; } >"$T/countdup.csv"
soft "$T/c.json" "{\"path\": \"$T/countdup.csv\"}" 3
if run count-line-repeat 0 "$NN" "$T/c.json"; then
    err_has count-line-repeat "nntrain: note: $T/countdup.csv: first line taken as a count line (60 rows, 2 features; its names repeat, so they name no classes) and skipped"
    run count-line-repeat-predict 0 "$NN" --predict --checkpoint "$T/m.ckpt" --data "$T/p.csv" &&
        out_is count-line-repeat-predict "$(printf '0\n1\n2')"
fi
# numeric order: 2, 10, 33 are classes 0, 1, 2 (not "10" < "2" < "33")
mk "$T/l10.csv" 2 10 33
soft "$T/c.json" "{\"path\": \"$T/l10.csv\"}" 3
if run labels-numeric-order 0 "$NN" -q "$T/c.json"; then
    run labels-numeric-order-predict 0 "$NN" --predict --checkpoint "$T/m.ckpt" --data "$T/p.csv" &&
        out_is labels-numeric-order-predict "$(printf '2\n10\n33')"
fi
# string labels, and a classes list that fixes the order
mk "$T/ls.csv" setosa versicolor virginica
soft "$T/c.json" "{\"path\": \"$T/ls.csv\"}" 3
if run labels-strings 0 "$NN" -q "$T/c.json"; then
    run labels-strings-predict 0 "$NN" --predict --checkpoint "$T/m.ckpt" --data "$T/p.csv" &&
        out_is labels-strings-predict "$(printf 'setosa\nversicolor\nvirginica')"
fi
soft "$T/c.json" "{\"path\": \"$T/ls.csv\", \"classes\": [\"virginica\", \"setosa\", \"versicolor\"]}" 3
if run classes-list 0 "$NN" -q "$T/c.json"; then
    run classes-list-inspect 0 "$NN" --inspect "$T/m.ckpt" &&
        out_has classes-list-inspect "classes      3 (virginica, setosa, versicolor)"
    run classes-list-predict 0 "$NN" --predict --checkpoint "$T/m.ckpt" --data "$T/p.csv" &&
        out_is classes-list-predict "$(printf 'setosa\nversicolor\nvirginica')"
fi
soft "$T/c.json" "{\"path\": \"$T/ls.csv\", \"classes\": [\"setosa\", \"versicolor\"]}" 3
run classes-list-missing-label 1 "$NN" -q "$T/c.json" &&
    err_is classes-list-missing-label "nntrain: $T/ls.csv:3: label \"virginica\" is not one of the source's \"classes\" (setosa, versicolor)"
# binary with one sigmoid unit: labels 1/2 are classes 0/1
awk 'BEGIN { for (i = 0; i < 40; i++) printf "%d.5,%s\n", (i % 2) * 4, (i % 2) ? "M" : "B" }' >"$T/bin.csv"
cfg "$T/c.json" "{\"path\": \"$T/bin.csv\"}" 1 sigmoid binary_cross_entropy
if run binary-strings 0 "$NN" -q "$T/c.json"; then
    printf '0.5\n4.5\n' >"$T/pb.csv"
    run binary-strings-predict 0 "$NN" --predict --checkpoint "$T/m.ckpt" --data "$T/pb.csv" &&
        out_is binary-strings-predict "$(printf 'B\nM')"
fi

# --- label errors: the file, the line, the label as written, the labels found ----------
mk "$T/l4.csv" 1 2 3
printf '9.0,9.0,7\n' >>"$T/l4.csv"
soft "$T/c.json" "{\"path\": \"$T/l4.csv\"}" 3
run too-many-labels 1 "$NN" -q "$T/c.json" &&
    err_is too-many-labels "nntrain: $T/l4.csv:61: label \"7\" does not fit the output layer's 3 units (the file has 4 distinct labels: 1, 2, 3, 7): give the output layer 4 units"
awk 'BEGIN { for (i = 0; i < 12; i++) printf "%d,%s\n", i, substr("abcd", i % 4 + 1, 1) }' >"$T/s4.csv"
soft "$T/c.json" "{\"path\": \"$T/s4.csv\"}" 3
run too-many-strings 1 "$NN" -q "$T/c.json" &&
    err_is too-many-strings "nntrain: $T/s4.csv:4: label \"d\" does not fit the output layer's 3 units (the file has 4 distinct labels: a, b, c, d): give the output layer 4 units"
awk 'BEGIN { for (i = 0; i < 12; i++) printf "%d,%d\n", i, i % 4 + 1 }' >"$T/k4.csv"
soft "$T/c.json" "{\"path\": \"$T/k4.csv\"}" 3
run labels-1-to-k-hint 1 "$NN" -q "$T/c.json" &&
    err_is labels-1-to-k-hint "nntrain: $T/k4.csv:4: label \"4\" does not fit the output layer's 3 units (the file has 4 distinct labels: 1, 2, 3, 4): give the output layer 4 units; labels 1..4 are read as classes 0..3"
# a model trained on class indices and a test file with other labels
mk "$T/l012.csv" 0 1 2
soft "$T/c.json" "{\"path\": \"$T/l012.csv\"}" 3
if run index-model 0 "$NN" -q "$T/c.json"; then
    printf '0.1,0.1,0\n0.2,0.3,5\n' >"$T/t5.csv"
    run eval-label-not-index 1 "$NN" --eval --checkpoint "$T/m.ckpt" --data "$T/t5.csv" &&
        err_is eval-label-not-index "nntrain: $T/t5.csv:2: label \"5\" is not one of the model's classes 0..2 (it was trained on whole-number labels)"
fi

# --- leading lines, comments, the header note ------------------------------------------
mk "$T/body.csv" 0 1 2
{ echo "60,2,setosa,versicolor,virginica"; cat "$T/body.csv"; } >"$T/count.csv"
soft "$T/c.json" "{\"path\": \"$T/count.csv\", \"skip_lines\": 1}" 3
run skip-lines 0 "$NN" --epochs 1 "$T/c.json" &&
    err_has skip-lines "nntrain: note: $T/count.csv: first line taken as data (every field is a number)"
{ echo "# made by hand"; echo "x0,x1,y"; echo "# a comment inside"; cat "$T/body.csv"; } >"$T/comm.csv"
soft "$T/c.json" "{\"path\": \"$T/comm.csv\", \"comment\": \"#\"}" 3
run comment 0 "$NN" --epochs 1 "$T/c.json" &&
    err_has comment "nntrain: note: $T/comm.csv: first line taken as a header (field 1 \"x0\" is not a number)"
run comment-quiet 0 "$NN" -q --epochs 1 "$T/c.json" && err_lacks comment-quiet "note:"
soft "$T/c.json" "{\"path\": \"$T/comm.csv\"}" 3
run comment-unset 1 "$NN" --epochs 1 "$T/c.json" &&
    err_is comment-unset "nntrain: $T/comm.csv: no feature columns (every column is the label or a target); is line 1 a comment? set \"comment\": \"#\""
# a numeric header: 0,1,2 above rows of fractions
{ echo "0,1,2"; cat "$T/body.csv"; } >"$T/numhead.csv"
soft "$T/c.json" "{\"path\": \"$T/numhead.csv\"}" 3
run numeric-header 0 "$NN" --epochs 1 "$T/c.json" &&
    err_has numeric-header "nntrain: note: $T/numhead.csv: first line taken as a header (its fields 0..2 count the columns)"

# --- predict with and without the header line ----------------------------------------
{ echo "x0,x1,y"; cat "$T/l123.csv"; } >"$T/h123.csv"
soft "$T/c.json" "{\"path\": \"$T/h123.csv\"}" 3
if run header-model 0 "$NN" -q "$T/c.json"; then
    run predict-no-header 0 "$NN" --predict --checkpoint "$T/m.ckpt" --data "$T/p.csv" &&
        out_is predict-no-header "$(printf '1\n2\n3')"
    { echo "x1,x0"; printf '0.1,0.1\n-2.9,3.2\n'; } >"$T/ph.csv"
    run predict-header 0 "$NN" --predict --checkpoint "$T/m.ckpt" --data "$T/ph.csv" &&
        out_is predict-header "$(printf '1\n2')"
    { echo "x0,z"; printf '0.1,0.1\n'; } >"$T/pz.csv"
    run predict-bad-header 1 "$NN" --predict --checkpoint "$T/m.ckpt" --data "$T/pz.csv" &&
        err_is predict-bad-header "nntrain: $T/pz.csv:1: no column \"x1\" in the header (the model was trained on it)"
fi
# a model trained without a header: an input's first line of names only is passed over,
# one that mixes names and numbers is refused with the hint
soft "$T/c.json" "{\"path\": \"$T/l123.csv\"}" 3
if run noheader-model 0 "$NN" -q "$T/c.json"; then
    { echo "a,b"; cat "$T/p.csv"; } >"$T/pnames.csv"
    run predict-names-skipped 0 "$NN" --predict --checkpoint "$T/m.ckpt" --data "$T/pnames.csv" &&
        out_is predict-names-skipped "$(printf '1\n2\n3')"
    { echo "a,7"; cat "$T/p.csv"; } >"$T/pmixed.csv"
    run predict-mixed-header 1 "$NN" --predict --checkpoint "$T/m.ckpt" --data "$T/pmixed.csv" &&
        err_is predict-mixed-header "nntrain: $T/pmixed.csv:1: field 1 is not a number: \"a\" (a header line? the model was trained on rows without one)"
fi

# --- missing values under each mode ----------------------------------------------------
{ cat "$T/l123.csv"; echo "NA,0.2,1"; echo "0.3,?,1"; echo "0.2,0.1,"; } >"$T/na.csv"
soft "$T/c.json" "{\"path\": \"$T/na.csv\"}" 3
run missing-error 1 "$NN" -q "$T/c.json" &&
    err_is missing-error "nntrain: $T/na.csv:61: field 1 is missing (\"NA\"): set \"missing\": \"drop\" to leave such rows out, or \"mean\" to use the column's mean"
soft "$T/c.json" "{\"path\": \"$T/na.csv\", \"missing\": \"drop\"}" 3
if run missing-drop 0 "$NN" "$T/c.json"; then
    err_has missing-drop "nntrain: note: $T/na.csv: 3 rows with a missing value left out"
    printf '0.1,NA\n' >"$T/pna.csv"
    run missing-drop-predict 1 "$NN" --predict --checkpoint "$T/m.ckpt" --data "$T/pna.csv" &&
        err_is missing-drop-predict "nntrain: $T/pna.csv:1: field 2 is missing (\"NA\"), and the model was trained with \"missing\": \"drop\", so it has no value to put in its place"
fi
soft "$T/c.json" "{\"path\": \"$T/na.csv\", \"missing\": \"mean\"}" 3
if run missing-mean 0 "$NN" "$T/c.json"; then
    err_has missing-mean "nntrain: note: $T/na.csv: 1 row with a missing value left out"
    err_has missing-mean "nntrain: note: $T/na.csv: 2 missing values replaced by the training rows' mean"
    # the mean of x1 is near -3 (class 2): a row missing x1 with x0 = 3.2 is class 2
    printf '3.2,NA\n6.1,-5.9\n' >"$T/pna.csv"
    run missing-mean-predict 0 "$NN" --predict --checkpoint "$T/m.ckpt" --data "$T/pna.csv" &&
        out_is missing-mean-predict "$(printf '2\n3')"
    run missing-mean-eval 0 "$NN" --eval --checkpoint "$T/m.ckpt" --data "$T/na.csv" &&
        out_has missing-mean-eval "samples   62"
fi
soft "$T/c.json" "{\"path\": \"$T/na.csv\", \"missing\": \"mean\", \"na_values\": [\"-999\"]}" 3
run na-values 1 "$NN" -q "$T/c.json" &&
    err_is na-values "nntrain: $T/na.csv:61: field 1 is not a number: \"NA\""

# --- misleading messages, fixed --------------------------------------------------------
awk 'BEGIN { for (i = 0; i < 6; i++) printf "%d.5 %d.25 %d\n", i, i, i % 2 }' >"$T/ws.txt"
soft "$T/c.json" "{\"path\": \"$T/ws.txt\"}" 2
run space-separated 1 "$NN" -q "$T/c.json" &&
    err_is space-separated "nntrain: $T/ws.txt: no feature columns (every column is the label or a target); is the file separated by spaces? set \"delimiter\": \"whitespace\""
{ echo "sepal length,class"; echo "1.5,1"; echo "2.5,0"; } >"$T/hd.csv"
soft "$T/c.json" "{\"path\": \"$T/hd.csv\", \"header\": false}" 2
run header-hint 1 "$NN" -q "$T/c.json" &&
    err_is header-hint "nntrain: $T/hd.csv:1: field 1 is not a number: \"sepal length\" (a header line? set \"header\": true)"

# --- config validation -----------------------------------------------------------------
cat >"$T/bad.json" <<EOF
{"data": {"train": {"path": "x.csv", "missing": "zero"}},
 "model": {"layers": [{"units": 2}]}}
EOF
run bad-missing 2 "$NN" "$T/bad.json" &&
    err_is bad-missing "nntrain: $T/bad.json:1:49: \"data.train.missing\" must be \"error\", \"drop\" or \"mean\", found \"zero\""
cat >"$T/bad.json" <<EOF
{"data": {"train": {"images": "a.idx", "labels": "b.idx", "skip_lines": 1}},
 "model": {"layers": [{"units": 2}]}}
EOF
run idx-skip-lines 2 "$NN" "$T/bad.json" &&
    err_is idx-skip-lines "nntrain: $T/bad.json:1:59: \"data.train.skip_lines\" is a CSV option; \"data.train\" is an IDX source"

echo "data: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
