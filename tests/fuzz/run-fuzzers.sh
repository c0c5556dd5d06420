#!/usr/bin/env bash
# ./dev fuzz [SECONDS] [TARGET...]: build every fuzz target with clang + libFuzzer (ASan, UBSan)
# and run each for SECONDS (default 60) on a copy of its committed corpus. New inputs that raise
# coverage are kept in build-fuzz/corpus/TARGET; crashes are left as crash-* files and fail the run.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
shift || true
build="$top/build-fuzz"
if [ ! -f "$build/build.ninja" ]; then
        CC=clang meson setup "$build" "$top" -Dfuzzing=true -Db_lundef=false >/dev/null
fi
meson compile -C "$build" >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
        for f in "$top"/tests/fuzz/fuzz-*.c; do
                n=$(basename "$f" .c)
                targets+=("${n#fuzz-}")
        done
fi
rc=0
for t in "${targets[@]}"; do
        work="$build/corpus/$t"
        mkdir -p "$work"
        cp -n "$top/tests/fuzz/corpus/$t"/* "$work"/ 2>/dev/null || true
        log="$build/fuzz-$t.log"
        echo "fuzz: $t for ${secs}s"
        if ! (cd "$build" && "./tests/fuzz/fuzz-$t" -max_total_time="$secs" -timeout=10 \
                -rss_limit_mb=2048 -print_final_stats=1 "$work" >"$log" 2>&1); then
                echo "fuzz: $t FAILED, see $log" >&2
                rc=1
        fi
        execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' || true)
        echo "fuzz: $t executions=${execs:-?} corpus=$(ls "$work" | wc -l)"
done
exit $rc
