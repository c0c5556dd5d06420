#!/usr/bin/env bash
# qclaw-proxy vs calling mock-llm directly, in one run: added latency at concurrency 1 (p50/p99),
# throughput at concurrency 64, time to first streamed chunk, 1,000 concurrent streams held, RSS
# idle and under those streams. Load comes from bench/bench-proxy.c (libcurl multi, keep-alive).
# Targets: added p50 <= 100 us, p99 <= 300 us; throughput >= 0.8x direct; added TTFC <= 500 us;
# 1000 streams held; RSS idle <= 4 MiB, <= 64 MiB with 1000 streams.
set -euo pipefail
build=${1:?usage: bench-proxy.sh BUILD_DIR}
PROXY=$build/proxy/qclaw-proxy
MOCK=$build/examples/mock-llm/mock-llm
LOAD=$build/bench/bench-proxy
for f in "$PROXY" "$MOCK" "$LOAD"; do [ -x "$f" ] || { echo "missing $f (build first)"; exit 1; }; done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
N=${BENCH_N:-2000}
STREAMS=${BENCH_STREAMS:-1000}

T=$(mktemp -d /tmp/qclaw-bench-proxy.XXXXXX)
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
        rm -rf "$T"
}
trap cleanup EXIT

start_mock() { # start_mock NAME ARGS: sets URL
        "$MOCK" --listen 127.0.0.1:0 --quiet "${@:2}" >"$T/$1.out" 2>&1 &
        pids+=($!)
        for _ in $(seq 100); do
                grep -qs '^listening on ' "$T/$1.out" && break
                sleep 0.05
        done
        URL="http://$(sed -n 's/^listening on //p' "$T/$1.out")"
}
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
val() { awk -v k="$1" '$1==k {print $2}' "$2"; }

start_mock fast
FAST=$URL
start_mock slow --chunks 20 --delay-ms 500
SLOW=$URL
mkdir -p "$T/profiles"
echo '{"qclaw_profile":1,"name":"bench","models":["*"],"limits":{"max_request_bytes":1048576},"sandbox":{"network":"proxy"}}' >"$T/profiles/bench.json"
TOKEN=bench-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$TOKEN" >"$T/token"; chmod 600 "$T/token"
P1=$(free_port)
cat >"$T/proxy.json" <<EOC
{"qclaw_proxy":1,"listen":["127.0.0.1:$P1"],"audit_log":"$T/audit.jsonl","profiles_dir":"$T/profiles",
 "audit_fsync":"never","clients":[{"name":"bench","token_file":"$T/token","profile":"bench"}],
 "providers":{"mock":{"type":"openai","base_url":"$FAST/v1","models":["gpt-*"]},
              "slow":{"type":"openai","base_url":"$SLOW/v1","models":["slow-*"]}}}
EOC
"$PROXY" --config "$T/proxy.json" >"$T/proxy.out" 2>"$T/proxy.err" &
PP=$!
pids+=($PP)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$P1/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
PURL=http://127.0.0.1:$P1
export BENCH_TOKEN=$TOKEN
rss_idle=$(rss_kib $PP)

echo "-- latency, concurrency 1, $N non-streaming requests (keep-alive)"
"$LOAD" latency "$FAST/v1/chat/completions" "$N" >"$T/ld"
"$LOAD" latency "$PURL/v1/chat/completions" "$N" >"$T/lp"
d50=$(val latency_p50_us "$T/ld"); d99=$(val latency_p99_us "$T/ld")
p50=$(val latency_p50_us "$T/lp"); p99=$(val latency_p99_us "$T/lp")
printf "direct p50 %8.1f us  p99 %8.1f us\nproxy  p50 %8.1f us  p99 %8.1f us\n" "$d50" "$d99" "$p50" "$p99"
awk -v a="$p50" -v b="$d50" -v c="$p99" -v d="$d99" 'BEGIN{printf "added  p50 %8.1f us  p99 %8.1f us   (target <= 100 / 300)\n", a-b, c-d}'

echo "-- throughput, concurrency 64, 5 s each"
"$LOAD" throughput "$FAST/v1/chat/completions" 64 5 >"$T/td"
"$LOAD" throughput "$PURL/v1/chat/completions" 64 5 >"$T/tp"
td=$(val throughput_rps "$T/td"); tp=$(val throughput_rps "$T/tp")
awk -v a="$td" -v b="$tp" 'BEGIN{printf "direct %.0f req/s, proxy %.0f req/s, ratio %.2f   (target >= 0.80)\n", a, b, b/a}'

echo "-- time to first chunk, streaming, 500 requests"
"$LOAD" ttfc "$FAST/v1/chat/completions" 500 >"$T/fd"
"$LOAD" ttfc "$PURL/v1/chat/completions" 500 >"$T/fp"
f1=$(val ttfc_p50_us "$T/fd"); f2=$(val ttfc_p50_us "$T/fp")
awk -v a="$f1" -v b="$f2" 'BEGIN{printf "direct %.1f us, proxy %.1f us, added %.1f us   (target <= 500)\n", a, b, b-a}'

rss_after=$(rss_kib $PP)
echo "-- $STREAMS concurrent streams (20 chunks x 500 ms each) through the proxy"
BENCH_MODEL=slow-1 "$LOAD" streams "$PURL/v1/chat/completions" "$STREAMS" "$T/held" >"$T/st" &
lp=$!
for _ in $(seq 600); do [ -f "$T/held" ] && break; sleep 0.05; done
sleep 1
rss_streams=$(rss_kib $PP)
wait $lp || true
cat "$T/st"
echo "-- memory"
echo "proxy RSS idle at start: $((rss_idle / 1024)).$(( (rss_idle % 1024) * 10 / 1024 )) MiB (target <= 4)"
echo "proxy RSS idle after load: $((rss_after / 1024)).$(( (rss_after % 1024) * 10 / 1024 )) MiB"
echo "proxy RSS with $STREAMS streams open: $((rss_streams / 1024)).$(( (rss_streams % 1024) * 10 / 1024 )) MiB (target <= 64)"
echo "audit records written: $(wc -l <"$T/audit.jsonl") (fsync: never for this run)"
