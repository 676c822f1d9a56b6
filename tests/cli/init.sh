#!/bin/sh
# Command-line tests of --init DATA [--label COLUMN] [-o FILE]: generated
# files of each shape (a count line, no header, a numeric header, whitespace,
# quoted strings, ';', labels 1..K, text labels, missing values, a regression
# target, gzip), the config emitted (checked with jq) and the notes, then
# training on that config and --eval; and every error with its exit code and
# message.  Usage: sh tests/cli/init.sh PATH/TO/nntrain
AREA=init
. "$(dirname "$0")/lib.sh"

# jq_is NAME FILE FILTER VALUE: jq -c FILTER FILE prints exactly VALUE
jq_is() {
    got=$(jq -c "$3" "$2" 2>&1)
    if [ "$got" = "$4" ]; then ok; else bad "$1: $3 is $got, expected $4"; fi
}

if ! command -v jq >/dev/null 2>&1; then
    echo "init: jq not found, skipped"
    exit 0
fi

# gen N NFEAT K SEP KIND: N rows of NFEAT features then a label, separated by
# SEP.  Class k's features are centred on 3k (separable); KIND is int0
# (labels 0..K-1), int1 (1..K), str (names "kind, k" quoted) or real (a
# regression target, the sum of the features).
gen() {
    awk -v n="$1" -v nf="$2" -v k="$3" -v sep="$4" -v kind="$5" 'BEGIN {
        srand(7);
        for (i = 0; i < n; i++) {
            c = i % k; s = 0; line = "";
            for (j = 0; j < nf; j++) {
                v = (kind == "real") ? rand() * 4 : 3 * c + rand();
                s += v; line = line sprintf("%.3f", v) sep;
            }
            if (kind == "int0") lab = c;
            else if (kind == "int1") lab = c + 1;
            else if (kind == "str") lab = "\"kind, " c "\"";
            else lab = sprintf("%.4f", s);
            print line lab;
        }
    }'
}

cd "$T" || exit 1
mkdir -p d sub

# --- the config for each shape -------------------------------------------------

# a count line with class names (scikit-learn's iris.csv)
{ echo "90,4,setosa,versicolor,virginica"; gen 90 4 3 , int0; } >d/count.csv
if run count 0 "$NN" --init d/count.csv; then
    cp out count.json
    jq_is count count.json '.data.train | [.path, .delimiter, .skip_lines, .header, .label, .classes, .missing]' \
        '["d/count.csv",",",1,false,4,["setosa","versicolor","virginica"],"error"]'
    jq_is count count.json '[.model.layers[] | [.units, .activation]]' '[[32,"relu"],[3,"softmax"]]'
    jq_is count count.json '[.loss, .optimizer.name, .data.scale, .checkpoint.path, .checkpoint.keep_best]' \
        '["cross_entropy","adam","standard","runs/count.ckpt",true]'
    jq_is count count.json '[.data.validation_fraction > 0, .data.test_fraction > 0, .training.early_stopping.patience > 0]' \
        '[true,true,true]'
    err_has count "nntrain: note: d/count.csv: delimiter ','"
    err_has count "nntrain: note: d/count.csv: line 1 is a count line (90 rows, 4 features, then class names), skipped (\"skip_lines\": 1)"
    err_has count "nntrain: note: d/count.csv: no header (\"header\": false)"
    err_has count "label column 5, index 4 (the last; --label chooses another); the other 4 columns are the features"
    err_has count "label column 5 holds integers 0..2, which the count line names (0 setosa, 1 versicolor, 2 virginica): classification with 3 classes"
    err_has count "nntrain: note: model: 3 classes: a softmax output of 3 units with cross_entropy"
    err_has count "nntrain: note: splits:"
fi
# --quiet: the same config, no notes
if run count-quiet 0 "$NN" --init d/count.csv -q; then
    err_empty count-quiet
    if cmp -s out count.json; then ok; else bad "count-quiet: config differs from the one with notes"; fi
fi

# no header, labels 1..K, as a gzip file
gen 60 3 3 , int1 | gzip -c >d/nohdr.csv.gz
if run nohdr 0 "$NN" --init d/nohdr.csv.gz; then
    cp out nohdr.json
    jq_is nohdr nohdr.json '.data.train | [.skip_lines, .header, .label, has("classes")]' '[0,false,3,false]'
    jq_is nohdr nohdr.json '.model.layers[-1].units' '3'
    jq_is nohdr nohdr.json '.checkpoint.path' '"runs/nohdr.ckpt"'
    err_has nohdr "holds 3 distinct integers (1 to 3): classification with 3 classes"
fi

# a numeric header that numbers the columns
{ echo "0,1,2,3,4"; gen 60 4 2 , int0; } >d/numhdr.csv
if run numhdr 0 "$NN" --init d/numhdr.csv; then
    cp out numhdr.json
    jq_is numhdr numhdr.json '.data.train | [.header, .label]' '[true,"4"]'
    jq_is numhdr numhdr.json '[.model.layers[-1].units, .loss]' '[2,"cross_entropy"]'
    err_has numhdr "line 1 taken as a header (\"header\": true): its fields number the columns 0..4"
    err_has numhdr "model: 2 classes: a softmax output of 2 units"
fi

# whitespace-separated, a regression target
gen 80 3 1 "   " real | sed 's/^/  /' >d/ws.txt
if run ws 0 "$NN" --init d/ws.txt; then
    cp out ws.json
    jq_is ws ws.json '.data.train | [.delimiter, .header, .targets, has("label")]' '["whitespace",false,[3],false]'
    jq_is ws ws.json '[.model.layers[-1].units, .model.layers[-1].activation, .loss, .data.scale_targets]' \
        '[1,"identity","mse",true]'
    err_has ws "delimiter runs of spaces (\"whitespace\")"
    err_has ws "regression on that column (\"targets\")"
fi

# a named header, quoted text labels holding the delimiter, --label by name
{ echo 'kind,"a, cm",b,c'; gen 60 3 3 , str | awk -F'"' '{ print "\"" $2 "\"," $1 }' | sed 's/,$//'; } >d/quoted.csv
if run quoted 0 "$NN" --init d/quoted.csv --label kind; then
    cp out quoted.json
    jq_is quoted quoted.json '.data.train | [.header, .label, .classes]' '[true,"kind",["kind, 0","kind, 1","kind, 2"]]'
    err_has quoted "label column 1 (\"kind\"), index 0 (--label); the other 3 columns are the features"
    err_has quoted "holds text: classification with 3 classes"
fi
# the same column by index, negative from the end
if run quoted-index 0 "$NN" -q --init d/quoted.csv --label -4; then
    jq_is quoted-index out '.data.train.label' '"kind"'
fi

# ';' with a header and missing values (NA, empty, ?) in the features
{ echo "x;y;z;label"; gen 60 3 2 ';' int0 | awk -F';' 'BEGIN { OFS = ";" }
    NR == 5 { $1 = "NA" } NR == 9 { $2 = "" } NR == 12 { $3 = " ? " } { print }'; } >d/semi.csv
if run semi 0 "$NN" --init d/semi.csv; then
    cp out semi.json
    jq_is semi semi.json '.data.train | [.delimiter, .header, .label, .missing, .na_values]' \
        '[";",true,"label","mean",["","NA","NaN","?","null"]]'
    err_has semi "d/semi.csv: 3 missing feature values (\"\", NA, NaN, ? or null) in 3 rows: \"missing\": \"mean\""
fi

# comment lines
{ echo "# exported by a test"; echo "a,b,y"; gen 40 2 2 , int0 | sed '20s/^/# a remark\n/'; } >d/comment.csv
if run comment 0 "$NN" -q --init d/comment.csv; then
    jq_is comment out '.data.train | [.comment, .header, .skip_lines]' '["#",true,0]'
fi

# -o: written atomically, paths relative to the config's folder, never overwritten
if run out-file 0 "$NN" --init d/count.csv -o sub/c.json; then
    if [ ! -s out ]; then ok; else bad "out-file: stdout not empty"; fi
    jq_is out-file sub/c.json '[.data.train.path, .checkpoint.path]' '["../d/count.csv","runs/count.ckpt"]'
    err_has out-file "nntrain: note: wrote sub/c.json"
    if [ -z "$(ls sub | grep -v '^c.json$')" ]; then ok; else bad "out-file: leftovers in sub: $(ls sub)"; fi
fi
if run out-abs 0 "$NN" -q --init "$T/d/count.csv" -o sub/abs.json; then
    jq_is out-abs sub/abs.json '.data.train.path' "\"$T/d/count.csv\""
fi
cp sub/c.json sub/c.before
if run out-exists 1 "$NN" --init d/nohdr.csv.gz -o sub/c.json; then
    err_is out-exists "nntrain: sub/c.json: already exists; --init does not overwrite a file (remove it or choose another -o)"
    if cmp -s sub/c.json sub/c.before; then ok; else bad "out-exists: the file was changed"; fi
fi

# --- errors ------------------------------------------------------------------
if run missing-file 1 "$NN" --init d/none.csv; then
    err_is missing-file "nntrain: d/none.csv: No such file or directory"
    out_empty missing-file
fi
: >d/empty.csv
if run empty-file 1 "$NN" --init d/empty.csv; then
    err_is empty-file "nntrain: d/empty.csv: empty file"
fi
seq 1 30 >d/one.csv
if run one-column 1 "$NN" --init d/one.csv; then
    err_is one-column "nntrain: d/one.csv: one column only (no line splits into fields at ',', ';', a tab or spaces): --init needs feature columns and a label column"
fi
if run no-such-label 2 "$NN" --init d/semi.csv --label species; then
    err_is no-such-label "nntrain: --label species: d/semi.csv has no such column (columns: 0 \"x\", 1 \"y\", 2 \"z\", 3 \"label\")"
    out_empty no-such-label
fi
if run no-such-index 2 "$NN" --init d/count.csv --label 5; then
    err_is no-such-index "nntrain: --label 5: d/count.csv has no such column (columns: 0, 1, 2, 3, 4)"
fi
if run text-feature 1 "$NN" --init d/quoted.csv; then
    err_is text-feature "nntrain: d/quoted.csv:2: field 1 (\"kind\") is not a number: \"kind, 0\"; features must be numbers (a text column can be the label: --label)"
fi
if run label-alone 2 "$NN" --label x c.json; then
    err_has label-alone "nntrain: --label goes with --init DATA"
fi
if run output-alone 2 "$NN" -o x.json c.json; then
    err_has output-alone "nntrain: -o goes with --init DATA"
fi
if run out-no-folder 1 "$NN" --init d/count.csv -o nofolder/c.json; then
    err_is out-no-folder "nntrain: nofolder: No such file or directory"
fi
if run init-config 2 "$NN" --init d/count.csv c.json; then
    err_has init-config "nntrain: --init takes the data file as its value; unexpected 'c.json'"
fi
if run init-eval 2 "$NN" --init d/count.csv --eval; then
    err_has init-eval "nntrain: --init DATA takes only --label, -o and --quiet"
fi

# --- training on the generated configs ------------------------------------------
for c in count nohdr numhdr ws quoted semi; do
    # stdout's configs hold paths relative to the current folder ($T)
    if run "train-$c" 0 "$NN" -q "$c.json"; then
        [ -s "runs/$c.ckpt" ] && [ -s "runs/$c.ckpt.best" ] && ok || bad "train-$c: no checkpoints"
    else
        continue
    fi
    if run "eval-$c" 0 "$NN" --eval --json "$c.json"; then
        if [ "$c" = ws ]; then
            jq -e '.r2 > 0.9' out >/dev/null && ok || bad "eval-$c: $(cat out)"
        else
            jq -e '.accuracy >= 0.9' out >/dev/null && ok || bad "eval-$c: $(cat out)"
        fi
    fi
done
# the count line's names are the classes: --predict prints them for the integer labels
if run count-names 0 sh -c "cut -d, -f1-4 d/count.csv | tail -n +2 | '$NN' --predict --checkpoint runs/count.ckpt"; then
    if [ "$(sort -u out | tr '\n' ' ')" = "setosa versicolor virginica " ]; then ok
    else bad "count-names: predictions $(sort -u out | tr '\n' ' ')"; fi
fi
# the config written with -o trains from any folder
if (cd / && "$NN" -q "$T/sub/c.json") >/dev/null 2>&1 && [ -s sub/runs/count.ckpt ]; then ok
else bad "train-out-file: training sub/c.json from / failed"; fi

echo "init: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
