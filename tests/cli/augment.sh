#!/bin/sh
# data.augment: training on shifted and mirrored images runs and changes
# the model; the same checkpoint for any --threads and after --resume; data
# that is not images and a shift as large as the image are one-line errors.
# Usage: sh tests/cli/augment.sh NNTRAIN
AREA=augment
. "$(dirname "$0")/lib.sh"
sh "$(dirname "$0")/images.sh" 300 "$T/im"
cd "$T" || exit 1

# cfg FILE AUGMENT EPOCHS: a config of the images with data.augment AUGMENT
cfg() {
    cat >"$1" <<JSON
{"seed": 2, "data": {"train": {"images": "$T/im-images.idx", "labels": "$T/im-labels.idx"},
                     "validation_fraction": 0.2$2},
 "model": {"layers": [{"units": 16, "activation": "relu"}, {"units": 3, "activation": "softmax"}]},
 "optimizer": {"name": "adam", "learning_rate": 0.01},
 "training": {"epochs": $3, "batch_size": 16},
 "checkpoint": {"path": "${1%.json}.ckpt"}}
JSON
}
AUG=', "augment": {"shift": 2, "flip": true}'
cfg a1.json "$AUG" 4
cfg a3.json "$AUG" 4
cfg plain.json "" 4
run "augmented" 0 "$NN" -q --threads 1 a1.json && ok
run "augmented, 3 threads" 0 "$NN" -q --threads 3 a3.json && ok
run "not augmented" 0 "$NN" -q plain.json && ok
# the checkpoints embed their own path: compare the weights through --predict
"$NN" --predict --scores --checkpoint a1.ckpt --data im-images.idx >a1.txt
"$NN" --predict --scores --checkpoint a3.ckpt --data im-images.idx >a3.txt
"$NN" --predict --scores --checkpoint plain.ckpt --data im-images.idx >plain.txt
if [ -s a1.txt ] && cmp -s a1.txt a3.txt; then ok; else bad "augmented: 1 and 3 threads differ"; fi
if cmp -s a1.txt plain.txt; then bad "augmented: the same model as without augmentation"; else ok; fi
# it still learns the bars (the validation accuracy of the last epoch)
run "augmented, inspect" 0 "$NN" --inspect --json a1.ckpt
acc=$(sed -n 's/.*"val_accuracy":\([0-9.]*\).*/\1/p' "$T/out" | tail -1)
if awk -v a="$acc" 'BEGIN { exit !(a + 0 >= 0.8) }'; then ok; else
    bad "augmented: val_accuracy '$acc' below 0.8"; fi

# resumed after 2 epochs: the straight run's checkpoint, byte for byte
cfg r.json "$AUG" 4
mkdir -p straight && cp r.json straight/
run "resume: first 2 epochs" 0 "$NN" -q --set training.epochs=2 r.json
run "resume: the rest" 0 "$NN" -q --resume r.json
(cd straight && run "resume: straight" 0 "$NN" -q r.json)
if cmp -s r.ckpt straight/r.ckpt; then ok; else
    bad "augmented: the resumed run's checkpoint differs from the straight run's"; fi

# streamed (NPY of shape (n, 8, 8)) in file order, no rows held out: the
# rows keep their numbers, so the in-memory run's model
"$NN" --convert "$T/im-images.idx,$T/im-labels.idx" -o im 2>/dev/null || bad "convert the images"
cfg mem.json "$AUG" 2
sed -i 's|"validation_fraction": 0.2|"validation_fraction": 0|' mem.json
sed -e 's|{"images": "[^"]*", "labels": "[^"]*"}|{"npy": "im-x.npy", "labels": "im-y.npy"}|' \
    -e 's|"validation_fraction": 0|"validation_fraction": 0, "stream": true|' \
    -e 's|mem.ckpt|str.ckpt|' mem.json >str.json
for f in mem str; do
    run "file order: $f" 0 "$NN" -q --set training.shuffle=false $f.json &&
        "$NN" --predict --scores --checkpoint $f.ckpt --data im-images.idx >$f.txt
done
if [ -s mem.txt ] && cmp -s mem.txt str.txt; then ok; else
    bad "augmented: streamed in file order differs from in memory"; fi

# not images: a CSV's rows have one dimension
printf 'a,b,label\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n' >t.csv
cat >csv.json <<JSON
{"data": {"train": {"path": "t.csv"}, "augment": {"flip": true}},
 "model": {"layers": [{"units": 2, "activation": "softmax"}]}, "training": {"epochs": 1}}
JSON
run "augment a CSV" 1 "$NN" -q csv.json &&
    err_is "augment a CSV" "nntrain: t.csv: data.augment needs images (samples of 2 dimensions, as IDX images or an NPY array of shape (n, height, width)); its samples have 1"
cfg big.json ', "augment": {"shift": 8}' 1
run "shift as large as the image" 1 "$NN" -q big.json &&
    err_is "shift as large as the image" "nntrain: $T/im-images.idx: data.augment.shift (8) must be below the images' height and width (8 x 8)"
cfg bad.json ', "augment": {"shift": 65}' 1
run "shift above 64" 2 "$NN" -q bad.json && err_has "shift above 64" '"data.augment.shift"'
cfg bad2.json ', "augment": {"turn": 1}' 1
run "unknown augment key" 2 "$NN" -q bad2.json && err_has "unknown augment key" 'unknown key "turn" in "data.augment"'

echo "augment: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
