#!/usr/bin/env bash
# ./dev bench: every benchmark in bench/, each measuring qclaw against a peer in the same run
# (direct-to-upstream for the proxy, bwrap for the sandbox launch, outside-vs-inside for
# workloads). Results are printed and saved to BUILD/bench-results.txt.
set -uo pipefail
build=${1:?usage: run-all.sh BUILD_DIR [--soak]}
# --soak: bench-proxy.sh's 10-minute soak with 1,000 streams instead of its 60 s one
[ "${2:-}" = --soak ] && export BENCH_SOAK=1
here=$(cd "$(dirname "$0")" && pwd)
out="$build/bench-results.txt"
: >"$out"
rc=0
for b in "$here"/bench-*.sh; do
        [ -x "$b" ] || continue
        echo "== $(basename "$b")" | tee -a "$out"
        if ! "$b" "$build" 2>&1 | tee -a "$out"; then
                echo "bench: $(basename "$b") failed" | tee -a "$out"
                rc=1
        fi
done
echo "results saved in $out"
exit $rc
