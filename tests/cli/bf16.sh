#!/bin/sh
# training.precision and the kernel families: a short training run on every
# family this machine has in both precisions, the same checkpoint bytes for
# --threads 1, 2 and 3, every NNTRAIN_ISA error, the AMX permission refused
# (simulated) and its note, the precision through the checkpoint (--inspect,
# --eval, --predict, --precision, --resume), and a damaged PREC section.
# Usage: sh tests/cli/bf16.sh PATH/TO/nntrain
AREA=bf16
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3

# --- a three-class CSV, 24 features, and a network wide enough that the products matter ---
awk 'BEGIN {
    srand(12);
    for (j = 0; j < 24; j++) printf "f%d,", j; print "label";
    for (i = 0; i < 360; i++) {
        k = i % 3;
        for (j = 0; j < 24; j++) printf "%.4f,", (j % 3 == k) * 1.5 + rand() * 2 - 1;
        print "c" k
    }
}' >"$T/d.csv"
cat >"$T/d.json" <<JSON
{"seed": 7,
 "data": {"train": {"path": "d.csv", "label": "label"}, "validation_fraction": 0.25,
          "scale": "standard"},
 "model": {"layers": [{"units": 40, "activation": "tanh"}, {"units": 33, "activation": "relu"},
                      {"units": 3, "activation": "softmax"}]},
 "loss": "cross_entropy",
 "optimizer": {"name": "sgd", "learning_rate": 0.05, "momentum": 0.9},
 "training": {"epochs": 8, "batch_size": 16},
 "checkpoint": {"path": "d.ckpt"}}
JSON
cp "$T/d.json" "$T/b.json"
sed -i 's/"batch_size": 16}/"batch_size": 16, "precision": "bf16"}/' "$T/b.json"
grep -q '"precision": "bf16"' "$T/b.json" && ok || bad "b.json has no precision"

# the families of each precision this machine has (the flags Linux reports)
fp32="scalar"
grep -q ' avx2' /proc/cpuinfo 2>/dev/null && grep -q ' fma' /proc/cpuinfo && fp32="$fp32 avx2"
grep -q ' avx512f' /proc/cpuinfo 2>/dev/null && fp32="$fp32 avx512"
bf16="scalar"
case "$fp32" in *avx2*) [ "$(uname -m)" = x86_64 ] && bf16="$bf16 avx2bf16" ;; esac
grep -q ' avx512_bf16' /proc/cpuinfo 2>/dev/null && bf16="$bf16 avx512bf16"
amx=0
grep -q ' amx_bf16' /proc/cpuinfo 2>/dev/null && grep -q ' amx_tile' /proc/cpuinfo && amx=1 && bf16="$bf16 amx"
echo "bf16.sh: fp32 families: $fp32; bf16 families: $bf16"

# --- a short training run per family and precision, the same bytes for any --threads ---
# train PREC FAMILY: $T/PREC-FAMILY.ckpt after 8 epochs on 1 thread, and 2 and 3 threads
# must write the same bytes; the last epoch's validation accuracy shows it learnt
train() {
    cfg=$T/d.json; [ "$1" = bf16 ] && cfg=$T/b.json
    for th in 1 2 3; do
        if run "train-$1-$2-$th" 0 env NNTRAIN_ISA="$2" "$NN" --json --threads "$th" \
                --checkpoint "$T/t.ckpt" "$cfg"; then
            if [ "$th" -eq 1 ]; then
                cp "$T/t.ckpt" "$T/$1-$2.ckpt"
                acc=$(grep '^{"epoch":8,' "$T/out" | jq -r .val_accuracy)
                if [ -n "$acc" ] && awk -v a="$acc" 'BEGIN { exit !(a >= 0.9) }'; then ok
                else bad "train-$1-$2: validation accuracy $acc after 8 epochs"; fi
            else
                cmp -s "$T/t.ckpt" "$T/$1-$2.ckpt" && ok ||
                    bad "$1 $2: --threads $th gives other bytes than --threads 1"
            fi
        fi
    done
    if run "inspect-$1-$2" 0 "$NN" --inspect "$T/$1-$2.ckpt"; then
        out_has "inspect-$1-$2" "precision    $1"; fi
}
for f in $fp32; do train fp32 "$f"; done
for f in $bf16; do train bf16 "$f"; done
# the bf16 run rounds: its model is not the fp32 one's
cmp -s "$T/fp32-scalar.ckpt" "$T/bf16-scalar.ckpt" && bad "bf16 and fp32 scalar runs wrote the same bytes" || ok
# an fp32 checkpoint has no PREC section (its bytes are as before the section existed);
# a bf16 one has
grep -q PREC "$T/fp32-scalar.ckpt" && bad "fp32 checkpoint has a PREC section" || ok
grep -q PREC "$T/bf16-scalar.ckpt" && ok || bad "bf16 checkpoint has no PREC section"
if run inspect-json 0 "$NN" --inspect --json "$T/bf16-scalar.ckpt"; then
    out_has inspect-json '"optimizer":"sgd","precision":"bf16",'
    out_has inspect-json '"training":{"epochs":8,"batch_size":16,"shuffle":true,"precision":"bf16"}'
fi
if run inspect-json-fp32 0 "$NN" --inspect --json "$T/fp32-scalar.ckpt"; then
    out_has inspect-json-fp32 '"precision":"fp32",'
    out_has inspect-json-fp32 '"training":{"epochs":8,"batch_size":16,"shuffle":true},'
fi
# --set gives the same run as the key in the file
if run set-precision 0 env NNTRAIN_ISA=scalar "$NN" --quiet --threads 1 --checkpoint "$T/t.ckpt" \
        --set training.precision=bf16 "$T/d.json"; then
    cmp -s "$T/t.ckpt" "$T/bf16-scalar.ckpt" && ok || bad "--set training.precision=bf16 differs from the file's key"
fi

# --- every NNTRAIN_ISA error: exit 2, one line naming the family ---------------------------
isa_err() { # NAME CONFIG ISA MESSAGE
    if run "$1" 2 env NNTRAIN_ISA="$3" "$NN" --quiet --checkpoint "$T/never.ckpt" "$2"; then
        err_is "$1" "nntrain: $4"
        [ ! -e "$T/never.ckpt" ] && ok || bad "$1: a checkpoint was written"
    fi
}
for f in avx2bf16 avx512bf16 amx; do
    isa_err "fp32-$f" "$T/d.json" "$f" "NNTRAIN_ISA=$f: not an fp32 kernel family (fp32 runs use scalar, avx2 or avx512)"
done
for f in avx2 avx512; do
    isa_err "bf16-$f" "$T/b.json" "$f" "NNTRAIN_ISA=$f: not a bf16 kernel family (bf16 runs use scalar, avx2bf16, avx512bf16 or amx)"
done
isa_err fp32-unknown "$T/d.json" sse9 "NNTRAIN_ISA=sse9: unknown kernel family (fp32 runs use scalar, avx2 or avx512; bf16 runs scalar, avx2bf16, avx512bf16 or amx)"
isa_err bf16-unknown "$T/b.json" bf16 "NNTRAIN_ISA=bf16: unknown kernel family (bf16 runs use scalar, avx2bf16, avx512bf16 or amx; fp32 runs scalar, avx2 or avx512)"
here32=$(echo "$fp32" | sed 's/ /, /g')
here16=$(echo "$bf16" | sed 's/ /, /g')
for f in avx2 avx512; do
    case " $fp32 " in *" $f "*) continue ;; esac
    isa_err "fp32-missing-$f" "$T/d.json" "$f" "NNTRAIN_ISA=$f: this processor cannot run the $f kernels (fp32 runs here: $here32)"
done
for f in avx2bf16 avx512bf16 amx; do
    case " $bf16 " in *" $f "*) continue ;; esac
    isa_err "bf16-missing-$f" "$T/b.json" "$f" "NNTRAIN_ISA=$f: this processor cannot run the $f kernels (bf16 runs here: $here16)"
done
# --cv takes the config's precision too
if run cv-bf16 0 "$NN" --cv 2 --threads 2 "$T/b.json"; then out_has cv-bf16 "cv 2 folds"; fi
if run cv-bf16-avx2 2 env NNTRAIN_ISA=avx2 "$NN" --cv 2 "$T/b.json"; then
    err_is cv-bf16-avx2 "nntrain: NNTRAIN_ISA=avx2: not a bf16 kernel family (bf16 runs use scalar, avx2bf16, avx512bf16 or amx)"; fi
# --gradcheck runs the config's precision: a bf16 config is checked with every
# bf16 family here, held to the bf16 bound, and an fp32 family is refused
if run gradcheck-bf16 0 "$NN" --gradcheck "$T/b.json"; then
    out_has gradcheck-bf16 "float engine (bf16) against double precision: gradient tolerance 0.0625;"
    for f in $bf16; do
        if grep -Eq "^$f +[0-9.e+-]+ +[0-9.e+-]+ +[0-9.e+-]+ +same$" "$T/out"; then ok
        else bad "gradcheck-bf16: no row for the $f kernels: $(cat "$T/out")"; fi
    done
    out_has gradcheck-bf16 "pass (tolerance"
fi
if run gradcheck-bf16-isa 2 env NNTRAIN_ISA=avx512 "$NN" --gradcheck "$T/b.json"; then
    err_is gradcheck-bf16-isa "nntrain: NNTRAIN_ISA=avx512: not a bf16 kernel family (bf16 runs use scalar, avx2bf16, avx512bf16 or amx)"; fi

# --- AMX refused by Linux: the next family down, with a one-line note --------------------
below=scalar
case " $bf16 " in *" avx2bf16 "*) below=avx2bf16 ;; esac
case " $bf16 " in *" avx512bf16 "*) below=avx512bf16 ;; esac
note="nntrain: note: the processor has AMX but Linux refused the tile state (arch_prctl ARCH_REQ_XCOMP_PERM); using the $below kernels"
# fake-refuse: cpuid taken to report AMX, the request refused (no AMX instruction runs)
for isa in amx ""; do
    if run "amx-refused-$isa" 0 env NNTRAIN_TEST_AMX=fake-refuse NNTRAIN_ISA="$isa" "$NN" --threads 1 \
            --checkpoint "$T/t.ckpt" "$T/b.json"; then
        [ "$(grep -c 'tile state' "$T/err")" -eq 1 ] && ok || bad "amx-refused-$isa: $(cat "$T/err")"
        err_has "amx-refused-$isa" "$note"
        cmp -s "$T/t.ckpt" "$T/bf16-$below.ckpt" && ok || bad "amx-refused-$isa: not the $below run's bytes"
    fi
done
if run amx-refused-quiet 0 env NNTRAIN_TEST_AMX=fake-refuse NNTRAIN_ISA=amx "$NN" --quiet \
        --checkpoint "$T/t.ckpt" "$T/b.json"; then err_empty amx-refused-quiet; fi
# an fp32 run asks nothing
if run amx-refused-fp32 0 env NNTRAIN_TEST_AMX=fake-refuse "$NN" --checkpoint "$T/t.ckpt" "$T/d.json"; then
    err_lacks amx-refused-fp32 "tile state"; fi
# refuse: the request fails where the processor has AMX; without AMX, forcing it stays an error
if [ "$amx" -eq 1 ]; then
    if run amx-refuse 0 env NNTRAIN_TEST_AMX=refuse NNTRAIN_ISA=amx "$NN" --checkpoint "$T/t.ckpt" "$T/b.json"; then
        err_has amx-refuse "$note"; fi
else
    isa_err amx-refuse-missing "$T/b.json" amx "NNTRAIN_ISA=amx: this processor cannot run the amx kernels (bf16 runs here: $here16)"
    if run amx-refuse-default 0 env NNTRAIN_TEST_AMX=refuse "$NN" --checkpoint "$T/t.ckpt" "$T/b.json"; then
        err_lacks amx-refuse-default "tile state"; fi
fi

# --- --eval and --predict: the checkpoint's precision unless --precision says ------------
B=$T/bf16-scalar.ckpt
ev() { # NAME PRECISION-ARGS...: --eval --json of $B on d.csv into $T/NAME.eval
    n=$1; shift
    run "eval-$n" 0 env NNTRAIN_ISA=scalar "$NN" --eval --json "$@" --checkpoint "$B" --data "$T/d.csv" &&
        cp "$T/out" "$T/$n.eval"
}
pr() { # the same with --predict --scores into $T/NAME.predict
    n=$1; shift
    run "predict-$n" 0 env NNTRAIN_ISA=scalar "$NN" --predict --scores "$@" --checkpoint "$B" --data "$T/d.csv" &&
        cp "$T/out" "$T/$n.predict"
}
ev default && ev bf16 --precision bf16 && ev fp32 --precision fp32 &&
    pr default && pr bf16 --precision=bf16 && pr fp32 --precision=fp32 && {
    cmp -s "$T/default.eval" "$T/bf16.eval" && ok || bad "--eval of a bf16 checkpoint does not run bf16"
    cmp -s "$T/default.predict" "$T/bf16.predict" && ok || bad "--predict of a bf16 checkpoint does not run bf16"
    cmp -s "$T/default.predict" "$T/fp32.predict" && bad "--predict --precision fp32 gives the bf16 scores" || ok
    cmp -s "$T/default.eval" "$T/fp32.eval" && bad "--eval --precision fp32 gives the bf16 loss" || ok
}
# an fp32 checkpoint the other way round
B=$T/fp32-scalar.ckpt
ev f-default && ev f-bf16 --precision bf16 && {
    cmp -s "$T/f-default.eval" "$T/f-bf16.eval" && bad "--eval --precision bf16 of an fp32 checkpoint runs fp32" || ok
}
# with a config: the checkpoint's precision, whatever the config says
if run eval-config 0 env NNTRAIN_ISA=scalar "$NN" --eval --json --checkpoint "$T/bf16-scalar.ckpt" \
        --data "$T/d.csv" "$T/d.json"; then
    cmp -s "$T/out" "$T/default.eval" && ok || bad "eval-config: not the checkpoint's precision"
fi
# the families follow the precision in use
if run eval-bf16-avx2 2 env NNTRAIN_ISA=avx2 "$NN" --eval --checkpoint "$T/bf16-scalar.ckpt" --data "$T/d.csv"; then
    err_is eval-bf16-avx2 "nntrain: NNTRAIN_ISA=avx2: not a bf16 kernel family (bf16 runs use scalar, avx2bf16, avx512bf16 or amx); $T/bf16-scalar.ckpt was trained in bf16, --precision fp32 runs it in fp32"; fi
run eval-bf16-as-fp32-avx2 0 env NNTRAIN_ISA=avx2 "$NN" --eval --precision fp32 --checkpoint "$T/bf16-scalar.ckpt" --data "$T/d.csv" && ok
if run predict-fp32-amx 2 env NNTRAIN_ISA=amx "$NN" --predict --checkpoint "$T/fp32-scalar.ckpt" --data "$T/d.csv"; then
    err_is predict-fp32-amx "nntrain: NNTRAIN_ISA=amx: not an fp32 kernel family (fp32 runs use scalar, avx2 or avx512); $T/fp32-scalar.ckpt was trained in fp32, --precision bf16 runs it in bf16"; fi
if run predict-bf16-as-bf16-avx2 2 env NNTRAIN_ISA=avx2 "$NN" --predict --precision bf16 --checkpoint "$T/bf16-scalar.ckpt" --data "$T/d.csv"; then
    err_is predict-bf16-as-bf16-avx2 "nntrain: NNTRAIN_ISA=avx2: not a bf16 kernel family (bf16 runs use scalar, avx2bf16, avx512bf16 or amx)"; fi
# --precision's own errors
if run precision-bad 2 "$NN" --eval --precision fp16 --checkpoint "$T/bf16-scalar.ckpt" --data "$T/d.csv"; then
    err_has precision-bad "nntrain: --precision: expected fp32 or bf16, found 'fp16'"; fi
if run precision-train 2 "$NN" --precision bf16 "$T/d.json"; then
    err_has precision-train "nntrain: --precision goes with --eval or --predict (training takes training.precision from the config: --set training.precision=bf16)"; fi
if run precision-inspect 2 "$NN" --inspect "$T/bf16-scalar.ckpt" --precision fp32; then
    err_has precision-inspect "nntrain: --inspect takes one checkpoint file and nothing else"; fi

# --- --resume: the same precision continues exactly, another is refused -------------------
# (the checkpoint path is part of the stored config: the same as the one-run's)
if run resume-start 0 env NNTRAIN_ISA=scalar "$NN" --quiet --threads 2 --epochs 4 --checkpoint "$T/t.ckpt" "$T/b.json" &&
   run resume-more 0 env NNTRAIN_ISA=scalar "$NN" --quiet --resume --checkpoint "$T/t.ckpt" "$T/b.json"; then
    cmp -s "$T/t.ckpt" "$T/bf16-scalar.ckpt" && ok || bad "bf16 run resumed at 4 differs from 8 epochs in one"
    cp "$T/t.ckpt" "$T/r.ckpt"
fi
if run resume-to-fp32 1 "$NN" --quiet --resume --epochs 9 --checkpoint "$T/r.ckpt" "$T/d.json"; then
    err_is resume-to-fp32 "nntrain: $T/r.ckpt: cannot resume: the checkpoint was trained in bf16, the config's training.precision is fp32"; fi
cp "$T/fp32-scalar.ckpt" "$T/r32.ckpt"
if run resume-to-bf16 1 "$NN" --quiet --resume --epochs 9 --checkpoint "$T/r32.ckpt" --set training.precision=bf16 "$T/d.json"; then
    err_is resume-to-bf16 "nntrain: $T/r32.ckpt: cannot resume: the checkpoint was trained in fp32, the config's training.precision is bf16"; fi
cmp -s "$T/r32.ckpt" "$T/fp32-scalar.ckpt" && ok || bad "a refused resume changed the checkpoint"

# --- a damaged PREC section: refused naming the file and the section ----------------------
# patch PREC's value (the last section: its 4-byte payload sits before the CRC) and fix the CRC
patch_prec() { # IN OUT VALUE
    "$PY" - "$1" "$2" "$3" <<'PY'
import struct, sys, zlib
b = bytearray(open(sys.argv[1], 'rb').read())
assert b[-24:-20] == b'PREC', b[-24:-20]
b[-8:-4] = struct.pack('<I', int(sys.argv[3]))
b[-4:] = struct.pack('<I', zlib.crc32(bytes(b[:-4])) & 0xffffffff)
open(sys.argv[2], 'wb').write(bytes(b))
PY
}
if patch_prec "$T/bf16-scalar.ckpt" "$T/bad.ckpt" 7; then
    if run bad-prec-inspect 1 "$NN" --inspect "$T/bad.ckpt"; then
        err_is bad-prec-inspect "nntrain: $T/bad.ckpt: malformed checkpoint: section \"PREC\": precision 7, unknown to this nntrain (0 fp32, 1 bf16)"; fi
    if run bad-prec-eval 1 "$NN" --eval --checkpoint "$T/bad.ckpt" --data "$T/d.csv"; then
        err_is bad-prec-eval "nntrain: $T/bad.ckpt: malformed checkpoint: section \"PREC\": precision 7, unknown to this nntrain (0 fp32, 1 bf16)"; fi
    if run bad-prec-predict 1 "$NN" --predict --precision fp32 --checkpoint "$T/bad.ckpt" --data "$T/d.csv"; then
        err_is bad-prec-predict "nntrain: $T/bad.ckpt: malformed checkpoint: section \"PREC\": precision 7, unknown to this nntrain (0 fp32, 1 bf16)"; fi
else
    bad "could not patch the PREC section"
fi
# a PREC of 0 (fp32) written by someone else is read as fp32
if patch_prec "$T/bf16-scalar.ckpt" "$T/zero.ckpt" 0 && run zero-prec 0 "$NN" --inspect "$T/zero.ckpt"; then
    out_has zero-prec "precision    fp32"; fi

echo "bf16: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
