#!/bin/sh
# --gradcheck's report and exit codes: a cost near 1e6 passes with the true
# gradients, the worst value is named by its place, the float engine is
# checked with every fp32 kernel family this machine has (or the one
# NNTRAIN_ISA names), the optimizer's step and the fused SGD path are in the
# table, --json carries the same, and bf16 configs are held to their bound.
# (A failing check - exit 1 and its message - is tests/mutation/run.sh's.)
# Usage: sh tests/cli/gradcheck.sh PATH/TO/nntrain
AREA=gradcheck
. "$(dirname "$0")/lib.sh"

# the families of fp32 this machine has (the flags Linux reports)
fp32="scalar"
grep -q ' avx2' /proc/cpuinfo 2>/dev/null && grep -q ' fma' /proc/cpuinfo && fp32="$fp32 avx2"
grep -q ' avx512f' /proc/cpuinfo 2>/dev/null && fp32="$fp32 avx512"
n32=$(echo $fp32 | wc -w)

# --- unscaled regression targets near 1e3: a cost near 1e6 ----------------------------
awk 'BEGIN {
    srand(15); print "a,b,c,y1,y2";
    for (i = 0; i < 40; i++) {
        a = rand() * 4 - 2; b = rand() * 4 - 2; c = rand() * 4 - 2;
        printf "%.4f,%.4f,%.4f,%.3f,%.3f\n", a, b, c, 1000 + 50 * a, -800 + 30 * b
    }
}' >"$T/big.csv"
cat >"$T/big.json" <<JSON
{"seed": 1,
 "data": {"train": {"path": "big.csv", "targets": ["y1", "y2"]}, "scale_targets": false},
 "model": {"layers": [{"units": 5, "activation": "sigmoid"}, {"units": 2, "activation": "identity"}]},
 "loss": "mse",
 "optimizer": {"name": "adam", "learning_rate": 0.01, "weight_decay": 0.01, "clip_norm": 5},
 "training": {"epochs": 3, "batch_size": 8}}
JSON
if run big-cost 0 "$NN" --gradcheck "$T/big.json"; then
    out_has big-cost "gradcheck: 4 samples of $T/big.csv, loss mse, step h = 1e-06 (up to 0.001 where the cost's round-off needs it), error |a - n| / max(|a|, |n|, noise / 1e-06)"
    out_has big-cost "float engine (fp32) against double precision: gradient tolerance 0.0002; adam step 4 (rate 0.01) and plain sgd tolerance 1e-05; fused sgd must equal separate"
    out_has big-cost "kernels     gradient   adam       plain sgd  fused sgd"
    out_has big-cost "schedule against its formula: 0.00e+00 (tolerance 1e-12)"
    out_has big-cost "pass (tolerance 1e-06)"
    # the worst value by its place: layer, group, [unit,input] or [sample,feature]
    if grep -Eq '^checked 44 values; worst [0-9.e+-]+ at (layer [12] (weight \[[0-9]+,[0-9]+\]|bias \[[0-9]+\])|input \[[0-3],[0-2]\]): analytic [-0-9.e+]+, numeric [-0-9.e+]+ \(noise [0-9.e+-]+, step [0-9.e+-]+\)$' "$T/out"; then ok
    else bad "big-cost: no worst line naming its place: $(cat "$T/out")"; fi
    # one row per fp32 family, each "same" for the fused path
    for f in $fp32; do
        if grep -Eq "^$f +[0-9.e+-]+ +[0-9.e+-]+ +[0-9.e+-]+ +same$" "$T/out"; then ok
        else bad "big-cost: no row for the $f kernels: $(cat "$T/out")"; fi
    done
    rows=$(grep -Ec '^(scalar|avx2|avx512) ' "$T/out")
    [ "$rows" -eq "$n32" ] && ok || bad "big-cost: $rows family rows, expected $n32"
    err_empty big-cost
fi

# NNTRAIN_ISA names one family: only it
if run big-cost-isa 0 env NNTRAIN_ISA=scalar "$NN" --gradcheck "$T/big.json"; then
    rows=$(grep -Ec '^(scalar|avx2|avx512) ' "$T/out")
    [ "$rows" -eq 1 ] && ok || bad "big-cost-isa: $rows family rows, expected 1"
    out_has big-cost-isa "pass (tolerance 1e-06)"
fi

# --json: one object a layer, then the summary
if run big-cost-json 0 "$NN" --gradcheck --json "$T/big.json"; then
    [ "$(wc -l <"$T/out")" -eq 3 ] && ok || bad "big-cost-json: $(wc -l <"$T/out") lines"
    if tail -n 1 "$T/out" | jq -e --argjson n "$n32" '.pass == true and .checked == 44 and
          (.worst_at | test("^(layer [12] (weight|bias) |input )\\[")) and .precision == "fp32" and
          .engine_tolerance == 0.0002 and .optimizer == "adam" and .optimizer_step == 4 and
          .learning_rate == 0.01 and .schedule_error == 0 and .optimizer_tolerance == 1e-05 and
          (.kernels | length) == $n and all(.kernels[]; .pass and .fused_differences == 0) and
          .max_step > .step and .noise > 0' >/dev/null; then ok
    else bad "big-cost-json: $(tail -n 1 "$T/out")"; fi
fi

# --- a schedule with warmup and a cosine, momentum, batch normalization ---------------------
sed 's/"optimizer": {[^}]*}/"optimizer": {"name": "sgd", "learning_rate": 0.1, "momentum": 0.9, "nesterov": true, "schedule": {"name": "cosine", "warmup_epochs": 1}}/' \
    "$T/big.json" >"$T/cos.json"
if run cosine 0 "$NN" --gradcheck --set 'model.layers.0.batch_norm=true' "$T/cos.json"; then
    # 40 rows in batches of 8: 5 steps an epoch over 3 epochs; update 3
    # (0-based) at 0.1 (1 + cos(pi 3 / 15)) / 2 and warmup's (3 + 1) / 5
    out_has cosine "sgd step 4 (rate 0.0723607)"
    out_has cosine "pass (tolerance 1e-06)"
fi

# --- bf16: the bf16 families, held to their own bound --------------------------------------
if run bf16 0 "$NN" --gradcheck --set training.precision=bf16 "$T/big.json"; then
    out_has bf16 "float engine (bf16) against double precision: gradient tolerance 0.0625;"
    if grep -Eq '^scalar +[0-9.e+-]+ ' "$T/out"; then ok; else bad "bf16: no scalar row: $(cat "$T/out")"; fi
    out_has bf16 "pass (tolerance 1e-06)"
fi
if run bf16-fp32-isa 2 env NNTRAIN_ISA=avx2 "$NN" --gradcheck --set training.precision=bf16 "$T/big.json"; then
    err_is bf16-fp32-isa "nntrain: NNTRAIN_ISA=avx2: not a bf16 kernel family (bf16 runs use scalar, avx2bf16, avx512bf16 or amx)"
fi

echo "gradcheck: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
