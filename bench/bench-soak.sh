#!/usr/bin/env bash
# Soak: 1,000 concurrent streams through one qclaw-proxy for N minutes (half passed through to an
# OpenAI-type mock, half translated to an Anthropic-type one), every finished stream replaced at
# once. Samples the proxy's RSS, fds and threads every 30 s (10 s for short runs) and reports
# the curve, peak RSS, streams completed/failed, and checks the audit chain at the end.
# Loopback only; bounded in time; stops by itself.
#   bench-soak.sh BUILD_DIR [--minutes M] [--streams N]     (default 1 minute, 1000 streams)
# Target: RSS flat -- the last third's mean within 10% (or 2 MiB) of the first third's.
set -euo pipefail
build=${1:?usage: bench-soak.sh BUILD_DIR [--minutes M] [--streams N]}
shift
MIN=1
STREAMS=1000
while [ $# -gt 0 ]; do
        case $1 in
        --minutes) MIN=$2; shift 2 ;;
        --streams) STREAMS=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
        esac
done
PROXY=$build/proxy/qclaw-proxy
MOCK=$build/examples/mock-llm/mock-llm
LOAD=$build/bench/bench-proxy
ADMIN=$build/rpc/qclaw-admin
for f in "$PROXY" "$MOCK" "$LOAD" "$ADMIN"; do [ -x "$f" ] || { echo "missing $f (build first)"; exit 1; }; done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
SECS=$((MIN * 60))
EVERY=$([ "$MIN" -ge 5 ] && echo 30 || echo 10)

T=$(mktemp -d /tmp/qclaw-bench-soak.XXXXXX)
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
        rm -rf "$T"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
start_mock() { # NAME ARGS: sets URL
        "$MOCK" --listen 127.0.0.1:0 --quiet "${@:2}" >"$T/$1.out" 2>&1 &
        pids+=($!)
        for _ in $(seq 100); do grep -qs '^listening on ' "$T/$1.out" && break; sleep 0.05; done
        URL="http://$(sed -n 's/^listening on //p' "$T/$1.out")"
}
# each stream: 11 deltas 500 ms apart (~6 s), then a new one in its place
start_mock oa --chunks 12 --delay-ms 500
OA=$URL
start_mock an --chunks 12 --delay-ms 500
AN=$URL
mkdir -p "$T/profiles"
echo '{"qclaw_profile":1,"name":"soak","models":["*"],"limits":{"max_request_bytes":1048576},"sandbox":{"network":"proxy"}}' >"$T/profiles/soak.json"
TOKEN=soak-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$TOKEN" >"$T/token"; chmod 600 "$T/token"
P=$(free_port)
cat >"$T/proxy.json" <<EOC
{"qclaw_proxy":1,"listen":["127.0.0.1:$P"],"audit_log":"$T/audit.jsonl","profiles_dir":"$T/profiles",
 "clients":[{"name":"soak","token_file":"$T/token","profile":"soak"}],
 "providers":{"oa":{"type":"openai","base_url":"$OA/v1","models":["gpt-*"]},
              "an":{"type":"anthropic","base_url":"$AN","models":["claude-*"]}}}
EOC
"$PROXY" --config "$T/proxy.json" >"$T/proxy.out" 2>"$T/proxy.err" &
PP=$!
pids+=($PP)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$P/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
kib() { awk -v k="$1:" '$1==k {print $2}' "/proc/$PP/status"; }
mib() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }
rss0=$(kib VmRSS)
export BENCH_TOKEN=$TOKEN
half=$((STREAMS / 2))
BENCH_MODEL=gpt-4o "$LOAD" soak "http://127.0.0.1:$P/v1/chat/completions" "$half" "$SECS" "$T/held1" >"$T/l1" 2>&1 &
l1=$!
BENCH_MODEL=claude-sonnet-4-5 "$LOAD" soak "http://127.0.0.1:$P/v1/chat/completions" "$((STREAMS - half))" "$SECS" "$T/held2" >"$T/l2" 2>&1 &
l2=$!
for _ in $(seq 1200); do [ -f "$T/held1" ] && [ -f "$T/held2" ] && break; sleep 0.05; done
echo "soak: $STREAMS concurrent streams ($half passthrough, $((STREAMS - half)) translated) for $MIN min; proxy RSS idle $(mib "$rss0") MiB"
printf "%6s %9s %9s %6s %8s %9s\n" t_s rss_mib hwm_mib fds threads egress
: >"$T/samples"
start=$SECONDS
while :; do
        el=$((SECONDS - start))
        rss=$(kib VmRSS); hwm=$(kib VmHWM); thr=$(kib Threads)
        fds=$(ls "/proc/$PP/fd" | wc -l)
        eg=$(cat "$T"/audit.jsonl* | grep -c '"event":"egress"' || true)
        printf "%6d %9s %9s %6d %8s %9d\n" "$el" "$(mib "$rss")" "$(mib "$hwm")" "$fds" "$thr" "$eg"
        echo "$el $rss" >>"$T/samples"
        [ "$el" -ge "$SECS" ] && break
        sleep "$EVERY"
done
rc1=0; rc2=0
wait $l1 || rc1=$?
wait $l2 || rc2=$?
ok=$(( $(awk '$1=="streams_ok"{print $2}' "$T/l1") + $(awk '$1=="streams_ok"{print $2}' "$T/l2") ))
failed=$(( $(awk '$1=="streams_failed"{print $2}' "$T/l1") + $(awk '$1=="streams_failed"{print $2}' "$T/l2") ))
sleep 2
rss_end=$(kib VmRSS); hwm=$(kib VmHWM)
echo "streams completed: $ok, failed: $failed; egress records: $(cat "$T"/audit.jsonl* | grep -c '"event":"egress"') (log files: $(ls "$T" | grep -c '^audit.jsonl'))"
echo "proxy RSS: idle $(mib "$rss0") MiB, peak $(mib "$hwm") MiB, idle after $(mib "$rss_end") MiB"
"$ADMIN" verify "$T/audit.jsonl" | sed 's/^/audit: /'
# flat: mean RSS of the last third vs the first third of the samples (after the ramp-up)
awk -v n="$(wc -l <"$T/samples")" '
        NR > 1 && NR <= 1 + (n - 1) / 3 { a += $2; na++ }
        NR > n - (n - 1) / 3 { b += $2; nb++ }
        END {
                if (!na || !nb) { print "rss: too few samples for a trend"; exit 0 }
                a /= na; b /= nb; d = b - a
                printf "rss trend: first third %.1f MiB, last third %.1f MiB, change %+.1f MiB (%+.1f%%) %s\n",
                        a / 1024, b / 1024, d / 1024, 100 * d / a,
                        (d <= a * 0.10 || d <= 2048) ? "flat" : "GROWING"
                exit !(d <= a * 0.10 || d <= 2048)
        }' "$T/samples"
[ "$failed" -eq 0 ] && [ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ]
