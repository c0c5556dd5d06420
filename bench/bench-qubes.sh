#!/usr/bin/env bash
# The original paper's Table 4 in the simulated Qubes (tests/qubes-sim/sim-lib.sh): median and
# p99 latency of one small chat completion, N requests each (default 100, one run), along
#   direct          VM: curl -> mock-llm
#   proxy           VM: curl -> qclaw-proxy -> mock-llm
#   tunnel+proxy  dom0: curl -> qclaw-tunnel (socat) -> qrexec-client stand-in -> qclaw.Proxy
#                       (/dev/tcp/127.0.0.1/32125) -> qclaw-proxy -> mock-llm
# Needs root. Usage: bench-qubes.sh [BUILD_DIR] [N]   (as run-all.sh calls it; default ./build)
# Note: the stand-in qrexec-client is a Python program started per connection (then socat via
# `ip netns exec`), so the tunnel row includes process start-up that real qrexec (C, vchan)
# does not have; read it as an upper bound of the tunnel's own cost.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
export QCLAW_SRC_DIR=${QCLAW_SRC_DIR:-$top}
if [ -n "${1-}" ] && [ -d "$1" ]; then
        QCLAW_BUILD_DIR=$(cd "$1" && pwd)
        shift
fi
export QCLAW_BUILD_DIR=${QCLAW_BUILD_DIR:-$top/build}
N=${1:-100}
. "$QCLAW_SRC_DIR/tests/qubes-sim/sim-lib.sh"
sim_check_prereqs
trap sim_down EXIT
sim_up
sim_tunnel 32125

body='{"model":"ollama/bench","messages":[{"role":"user","content":"ping"}]}'
# run_path NAME WHERE URL [HEADERS...]: N sequential requests, one curl each (new connection)
run_path() {
        local name=$1 where=$2 url=$3
        shift 3
        local i out=$SIM/times-$name
        : >"$out"
        for i in $(seq "$N"); do
                $where curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 30 \
                        -H 'content-type: application/json' "$@" -d "$body" "$url" >>"$out" || echo "000 30" >>"$out"
        done
        python3 - "$name" "$out" <<'PY'
import sys
name, path = sys.argv[1], sys.argv[2]
rows = [l.split() for l in open(path) if l.strip()]
ok = [float(t) * 1000 for c, t in rows if c == "200"]
bad = len(rows) - len(ok)
ok.sort()
def pct(p):
    if not ok:
        return float("nan")
    k = max(0, min(len(ok) - 1, int(round(p / 100 * len(ok) + 0.5)) - 1))
    return ok[k]
med = (ok[len(ok) // 2] + ok[(len(ok) - 1) // 2]) / 2 if ok else float("nan")
codes = sorted({c for c, t in rows if c != "200"})
print("%-14s %6d %10.2f %10.2f %8d %s" % (name, len(rows), med, pct(99), bad, " ".join(codes)))
PY
}
echo "# qubes-sim latency, $N sequential requests per path, one run ($(nproc) cores, $(uname -r))"
printf '%-14s %6s %10s %10s %8s\n' path n median_ms p99_ms errors
run_path direct in_vm "http://$SIM_MOCK/v1/chat/completions"
run_path proxy in_vm http://127.0.0.1:32125/v1/chat/completions -H "Authorization: Bearer $SIM_TOKEN"
run_path tunnel+proxy in_dom0 http://127.0.0.1:32125/v1/chat/completions -H "Authorization: Bearer $SIM_TOKEN"
