#!/bin/sh
# run.sh - runs the libFuzzer harnesses one after the other (called by
# tests/fuzz/fuzz.mk).
#
#   sh tests/fuzz/run.sh run|check SECONDS BUILD_DIR HARNESS...
#
# Each harness fuzzes for SECONDS on a writable corpus BUILD_DIR/corpus/H
# (BUILD_DIR/check-corpus/H, emptied first, for `check`), which gets its
# regression inputs (tests/fuzz/regressions/H-*) copied in;
# the committed seeds tests/fuzz/corpus/H are a second, read-only corpus
# folder (libFuzzer only ever writes to the first).  `check` first replays
# every regression input once.  Logs go to BUILD_DIR/logs/H.log, crash
# inputs to BUILD_DIR/artifacts/.  Exit status 1 when any harness failed.
set -u

mode=$1 secs=$2 B=$3
shift 3
src=tests/fuzz
failed=

# Per harness: largest input, and a dictionary when there is one.
opts() {
    case $1 in
    fuzz_config | fuzz_set) echo "-max_len=4096 -dict=$src/dict/config.dict" ;;
    fuzz_checkpoint | fuzz_open) echo "-max_len=4096 -dict=$src/dict/checkpoint.dict" ;;
    fuzz_csv | fuzz_csv_gz | fuzz_csvcache) echo "-max_len=4096 -dict=$src/dict/csv.dict" ;;
    fuzz_npy) echo "-max_len=4096 -dict=$src/dict/npy.dict" ;;
    *) echo "-max_len=4096" ;;
    esac
}

# Memory and time caps.  The IDX and NPY harnesses get a tighter cap on one malloc:
# a 4 KiB input holds at most a few MB of real data even through zlib, while
# a header alone can claim up to 2^24 features x 8 bytes = 128 MiB per row,
# which the 256 MiB cap would let through.
limits() {
    case $1 in
    fuzz_idx | fuzz_idx_gz | fuzz_npy) echo "-rss_limit_mb=512 -malloc_limit_mb=32 -timeout=10" ;;
    *) echo "-rss_limit_mb=512 -malloc_limit_mb=256 -timeout=10" ;;
    esac
}

# ASan keeps 256 MiB of freed memory in quarantine by default; the CSV and
# IDX harnesses free MBs per run (gzip inputs), which would then fill most of
# the RSS cap.  A smaller quarantine still catches use-after-free of recent
# blocks.
export ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=64}"

mkdir -p "$B/logs" "$B/artifacts"
for h in "$@"; do
    # `run` grows one corpus across runs; `check` starts afresh each time, so
    # its duration and outcome do not depend on earlier runs.
    corpus=$B/corpus/$h
    [ "$mode" = check ] && corpus=$B/check-corpus/$h && rm -rf "$corpus"
    log=$B/logs/$h.log
    mkdir -p "$corpus"
    regs=$(ls "$src/regressions/$h"-* 2>/dev/null)
    if [ -n "$regs" ]; then
        cp $regs "$corpus/"
        if [ "$mode" = check ]; then
            # shellcheck disable=SC2046,SC2086
            if ! "$B/$h" $(limits "$h") $regs >"$B/logs/$h.replay.log" 2>&1; then
                echo "$h: FAILED replaying tests/fuzz/regressions/ (see $B/logs/$h.replay.log)"
                tail -n 30 "$B/logs/$h.replay.log"
                failed="$failed $h"
                continue
            fi
        fi
    fi
    if { [ "$h" = fuzz_checkpoint ] || [ "$h" = fuzz_open ]; } && [ -x "$B/gen_ckpt_seeds" ]; then
        "$B/gen_ckpt_seeds" "$corpus" || { failed="$failed $h"; continue; }
    fi
    seeds=
    [ -d "$src/corpus/$h" ] && seeds=$src/corpus/$h
    # shellcheck disable=SC2046,SC2086
    "$B/$h" -max_total_time="$secs" $(opts "$h") $(limits "$h") -print_final_stats=1 \
        -artifact_prefix="$B/artifacts/$h-" "$corpus" $seeds >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    files=$(ls "$corpus" | wc -l)
    if [ "$rc" -ne 0 ]; then
        echo "$h: FAILED (exit $rc) after ${runs:-?} executions; log $log, input in $B/artifacts/"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|.*fuzz property failed|artifact_prefix|Test unit written)' "$log" | head -n 10
        failed="$failed $h"
    else
        printf '%-16s %10s executions in %ss (%s exec/s), corpus %s files\n' \
            "$h" "${runs:-?}" "$secs" "${rate:-?}" "$files"
    fi
done

if [ -n "$failed" ]; then
    echo "fuzz $mode failed:$failed"
    exit 1
fi
echo "fuzz $mode: no crashes"
