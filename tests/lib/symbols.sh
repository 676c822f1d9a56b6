#!/bin/sh
# symbols.sh SO ARCHIVE - libnntrain's symbols: the shared library exports
# only nntrain_* (its public interface, include/nntrain.h), and every global
# symbol the archive defines carries a project prefix (nn_ or nntrain_), so
# neither clashes with a program that links it.
set -u
so=$1 ar=$2
fail=0
[ -f "$so" ] || { echo "symbols: no $so"; exit 1; }
[ -f "$ar" ] || { echo "symbols: no $ar"; exit 1; }

# nm -D lists the dynamic symbols; the version node (nntrain's map has none,
# but a linker may add one) is not a function of ours.
exported=$(nm -D --defined-only "$so" | awk 'NF >= 3 { print $3 }' | sed 's/@.*//' | sort -u)
bad=$(printf '%s\n' "$exported" | grep -v '^nntrain_' | grep -v '^$')
if [ -n "$bad" ]; then
    echo "FAIL: $so exports symbols other than nntrain_*:"
    printf '%s\n' "$bad" | head -20
    fail=1
fi
n=$(printf '%s\n' "$exported" | grep -c '^nntrain_')
if [ "$n" -lt 10 ]; then
    echo "FAIL: $so exports only $n nntrain_* symbols"
    fail=1
fi
for f in nntrain_open nntrain_open_memory nntrain_close nntrain_describe nntrain_class_name \
         nntrain_predict nntrain_version nntrain_status_string nntrain_set_threads \
         nntrain_select_kernels; do
    printf '%s\n' "$exported" | grep -qx "$f" || { echo "FAIL: $so does not export $f"; fail=1; }
done
soname=$(objdump -p "$so" 2>/dev/null | awk '$1 == "SONAME" { print $2 }')
case $soname in
libnntrain.so.[0-9]*) ;;
*) echo "FAIL: $so has soname '$soname', expected libnntrain.so.MAJOR"; fail=1 ;;
esac

# Archive members' defined global symbols (types in upper case but the
# undefined U, the weak V/W included).
globals=$(nm -g --defined-only "$ar" 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u)
bad=$(printf '%s\n' "$globals" | grep -v -e '^nn_' -e '^nntrain_' | grep -v '^$')
if [ -n "$bad" ]; then
    echo "FAIL: $ar defines global symbols without the nn_/nntrain_ prefix:"
    printf '%s\n' "$bad" | head -20
    fail=1
fi

if [ "$fail" -eq 0 ]; then
    echo "symbols: $so exports $n nntrain_* symbols (soname $soname); $ar: $(printf '%s\n' "$globals" | wc -l) global symbols, all nn_*/nntrain_*"
fi
exit $fail
