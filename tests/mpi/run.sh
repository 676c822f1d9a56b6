#!/bin/sh
# Tests of the MPI communication layer (src/dist): tests/mpi/test_dist.c
# built three ways (see the Makefile's check-mpi), run alone and under
# mpirun with 1, 2, 4 and 8 processes, then with 3, where every tree sum must
# fail with exit status 2 and the power-of-two message.  Any failure, and
# any run longer than two minutes (a deadlock), fails the script.
# Usage: sh tests/mpi/run.sh PLAIN_TEST MPI_TEST MPI_PIECES_TEST [NNTRAIN_MPI]
set -u
PLAIN=$1
MPI=$2
PIECES=$3
NN=${4:-}
T=$(mktemp -d "${TMPDIR:-/tmp}/nntrain-mpi-XXXXXX")
trap 'rm -rf "$T"' EXIT
# mpirun refuses to run as root without these; --oversubscribe lets 4 or 8
# processes share fewer cores.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
TIMEOUT=
command -v timeout >/dev/null 2>&1 && TIMEOUT="timeout 120"
MPIRUN="mpirun --oversubscribe"
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# run NAME COMMAND...: one line of its own, the test's lines, exit status 0
run() {
    name=$1
    shift
    echo "-- $name"
    $TIMEOUT "$@"
    rc=$?
    if [ "$rc" -eq 0 ]; then ok; else bad "$name (exit $rc)"; fi
}

# Alone, the launcher's variables unset: one rank and no MPI at all.
run "plain build, alone" env -u OMPI_COMM_WORLD_SIZE -u PMIX_RANK "$PLAIN"
run "MPI build, alone" env -u OMPI_COMM_WORLD_SIZE -u PMIX_RANK "$MPI"
for np in 1 2 4 8; do
    run "MPI build, mpirun -np $np" $MPIRUN -np $np "$MPI"
done
for np in 2 4; do
    run "MPI build in rounds of 4099 elements, mpirun -np $np" $MPIRUN -np $np "$PIECES"
done

# Three processes: the other collectives work, the tree sums fail.
want="data-parallel training needs a power-of-two number of processes (1, 2, 4, 8, ...), not 3"
echo "-- MPI build, mpirun -np 3 (must fail: not a power of two)"
$TIMEOUT $MPIRUN -np 3 "$MPI" >"$T/out" 2>"$T/err"
rc=$?
cat "$T/out"
if [ "$rc" -ne 2 ]; then
    bad "-np 3: exit $rc, not 2; error output:"
    cat "$T/err"
elif ! grep -qF "test_dist: $want" "$T/err"; then
    bad "-np 3: not the message \"$want\"; error output:"
    cat "$T/err"
elif ! grep -q '^test_dist: .* 0 failed (np=3)$' "$T/out"; then
    bad "-np 3: the other tests did not all pass"
else
    ok
    echo "ok   -np 3: exit 2, \"$want\""
fi

# The MPI binary alone starts and stops like the plain one.
if [ -n "$NN" ]; then
    echo "-- $NN --version, alone"
    if env -u OMPI_COMM_WORLD_SIZE -u PMIX_RANK $TIMEOUT "$NN" --version >"$T/v" 2>&1; then
        ok
        echo "ok   $(head -n 1 "$T/v")"
    else
        bad "$NN --version:"
        cat "$T/v"
    fi
fi

echo "mpi: $pass runs passed, $fail failed"
[ "$fail" -eq 0 ]
