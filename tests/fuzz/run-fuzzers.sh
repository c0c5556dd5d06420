#!/usr/bin/env bash
# ./dev fuzz [SECONDS] [TARGET...]: build the fuzz targets with clang + libFuzzer (ASan, UBSan)
# and run each for SECONDS (default 60) on a copy of its committed corpus. New inputs that raise
# coverage are kept in build-fuzz/corpus/TARGET; crashes, leaks, timeouts and OOMs are left in
# build-fuzz/artifacts/TARGET/ and fail the run. A summary table ends the output.
# Environment:
#   FUZZ_MERGE=N   afterwards, add at most N coverage-raising inputs (< 64 KiB, smallest set that
#                  covers the most new features) to tests/fuzz/corpus/TARGET/ (default 0: off)
#   FUZZ_ARGS=...  extra libFuzzer flags (e.g. "-jobs=2 -workers=2", "-max_len=65536")
#   FUZZ_BUILD=DIR build directory (default build-fuzz in the source tree, gitignored)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
shift || true
build=${FUZZ_BUILD:-$top/build-fuzz}
merge_max=${FUZZ_MERGE:-0}
read -r -a extra <<<"${FUZZ_ARGS:-}"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
        for f in "$top"/tests/fuzz/fuzz-*.c; do
                n=$(basename "$f" .c)
                targets+=("${n#fuzz-}")
        done
fi

if [ ! -f "$build/build.ninja" ]; then
        CC=clang meson setup "$build" "$top" -Dfuzzing=true -Db_lundef=false >/dev/null
fi
# Build only the fuzz targets: a half-finished file elsewhere in the tree must not stop a run.
names=()
for t in "${targets[@]}"; do
        names+=("tests/fuzz/fuzz-$t")
done
# (regenerate first: meson resolves target names from the last configure)
if ! { ninja -C "$build" build.ninja && meson compile -C "$build" "${names[@]}"; } \
        >"$build/fuzz-build.log" 2>&1; then
        grep -E 'error|FAILED' "$build/fuzz-build.log" | head -20 >&2
        echo "fuzz: build failed, see $build/fuzz-build.log" >&2
        exit 1
fi

# Greedy set cover over the features libFuzzer recorded in a merge control file: pick up to
# $1 inputs from the second corpus that add the most features not already in the first.
pick_inputs() {
        python3 - "$1" "$2" <<'EOF'
import sys
limit, ctl = int(sys.argv[1]), sys.argv[2]
lines = open(ctl, errors="replace").read().split("\n")
n_files, n_first = int(lines[0]), int(lines[1])
files = lines[2:2 + n_files]
feats = {}
cur = None
for l in lines[2 + n_files:]:
    p = l.split()
    if p and p[0] == "STARTED":
        cur = int(p[1])
    elif p and p[0] == "FT":
        feats[int(p[1])] = set(map(int, p[2:]))
have = set()
for i in range(n_first):
    have |= feats.get(i, set())
import os
cand = [i for i in range(n_first, n_files)
        if i in feats and os.path.getsize(files[i]) < 64 * 1024]
for _ in range(limit):
    best, gain = None, 0
    for i in cand:
        g = len(feats[i] - have)
        if g > gain or (g == gain and g > 0 and os.path.getsize(files[i]) < os.path.getsize(files[best])):
            best, gain = i, g
    if best is None:
        break
    have |= feats[best]
    cand.remove(best)
    print(files[best])
EOF
}

rc=0
summary=()
for t in "${targets[@]}"; do
        work="$build/corpus/$t"
        art="$build/artifacts/$t"
        seed="$top/tests/fuzz/corpus/$t"
        mkdir -p "$work" "$art" "$seed"
        cp -n "$seed"/* "$work"/ 2>/dev/null || true
        log="$build/fuzz-$t.log"
        dict=()
        [ -f "$top/tests/fuzz/$t.dict" ] && dict=(-dict="$top/tests/fuzz/$t.dict")
        echo "fuzz: $t for ${secs}s"
        result=ok
        if ! (cd "$build" && "./tests/fuzz/fuzz-$t" -max_total_time="$secs" -timeout=10 \
                -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$art/" \
                ${dict[@]+"${dict[@]}"} ${extra[@]+"${extra[@]}"} "$work" >"$log" 2>&1); then
                result=FAILED
                rc=1
                echo "fuzz: $t FAILED, see $log and $art/" >&2
                grep -E '^==[0-9]+==ERROR|^SUMMARY|deadly signal|Test unit written' "$log" | head -5 >&2 || true
        fi
        execs=$(awk '/^stat::number_of_executed_units/ {print $2}' "$log" | tail -1)
        eps=$(awk '/^stat::average_exec_per_sec/ {print $2}' "$log" | tail -1)
        cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 | awk '{print $2 "/" $4}')
        added=0
        if [ "$merge_max" -gt 0 ] && [ "$result" = ok ]; then
                tmp=$(mktemp -d)
                cp "$seed"/* "$tmp"/ 2>/dev/null || true
                (cd "$build" && "./tests/fuzz/fuzz-$t" -merge=1 -merge_control_file="$tmp.ctl" \
                        "$tmp" "$work" >"$build/merge-$t.log" 2>&1) || true
                # The control file lists the committed inputs first, then the work corpus.
                while read -r f; do
                        [ -n "$f" ] || continue
                        cp "$f" "$seed/" && added=$((added + 1))
                done < <(pick_inputs "$merge_max" "$tmp.ctl")
                rm -rf "$tmp" "$tmp.ctl"
        fi
        summary+=("$(printf '%-22s %6s %12s %8s %8s %12s %6s %s' "$t" "$secs" "${execs:-?}" \
                "${eps:-?}" "$(ls "$work" | wc -l)" "${cov:-?}" "$added" "$result")")
done
printf '%-22s %6s %12s %8s %8s %12s %6s %s\n' target secs executions exec/s corpus cov/ft merged \
        result
printf '%s\n' "${summary[@]}"
exit $rc
