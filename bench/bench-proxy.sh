#!/usr/bin/env bash
# qclaw-proxy vs calling mock-llm directly, in one run: added latency at concurrency 1 (p50/p99),
# throughput at concurrency 64, time to first streamed chunk, 1,000 concurrent streams held,
# memory (Rss, Pss, Private) idle, with 1,000 streams, and over a soak with 1,000 streams kept
# open. Load comes from bench/bench-proxy.c (libcurl, keep-alive on both hops).
#
# Noise control (the machine has 2 cores shared with other work): nothing is pinned; every figure
# is taken in ROUNDS rounds that alternate direct and proxied runs (order flipped every round),
# and the median over rounds is reported. The proxy's own CPU per request (utime+stime from
# /proc) is reported too: it is the least noisy figure and what throughput on 2 cores depends on.
# Two proxies run side by side: audit_fsync "never" (the headline figures; the record's write(2)
# still completes before the upstream request starts) and "egress" (fsync before each egress).
#
# Usage: bench-proxy.sh BUILD_DIR [--soak]    (--soak or BENCH_SOAK=1: 10-minute soak, samples
# every 30 s; default a 60 s soak sampled every 10 s). Env: BENCH_ROUNDS (5), BENCH_N (5000),
# BENCH_STREAMS (1000), BENCH_TP_SECS (3), BENCH_SOAK_SECS, BENCH_SOAK_EVERY.
# Targets: added p50 <= 100 us, p99 <= 300 us; throughput >= 0.8x direct; added TTFC <= 500 us;
# 1000 streams held; RSS idle <= 4 MiB, <= 64 MiB with 1000 streams, flat over the soak.
set -euo pipefail
build=${1:?usage: bench-proxy.sh BUILD_DIR [--soak]}
[ "${2:-}" = --soak ] && BENCH_SOAK=1
PROXY=$build/proxy/qclaw-proxy
MOCK=$build/examples/mock-llm/mock-llm
LOAD=$build/bench/bench-proxy
for f in "$PROXY" "$MOCK" "$LOAD"; do [ -x "$f" ] || { echo "missing $f (build first)"; exit 1; }; done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
ROUNDS=${BENCH_ROUNDS:-5}
N=${BENCH_N:-5000}
STREAMS=${BENCH_STREAMS:-1000}
TP_SECS=${BENCH_TP_SECS:-3}
if [ "${BENCH_SOAK:-0}" = 1 ]; then
        SOAK_SECS=${BENCH_SOAK_SECS:-600}; SOAK_EVERY=${BENCH_SOAK_EVERY:-30}
else
        SOAK_SECS=${BENCH_SOAK_SECS:-60}; SOAK_EVERY=${BENCH_SOAK_EVERY:-10}
fi
TCK=$(getconf CLK_TCK)

T=$(mktemp -d /tmp/qclaw-bench-proxy.XXXXXX)
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
        rm -rf "$T"
}
trap cleanup EXIT

start_mock() { # start_mock NAME ARGS: sets URL, MOCKPID
        "$MOCK" --listen 127.0.0.1:0 --quiet "${@:2}" >"$T/$1.out" 2>&1 &
        MOCKPID=$!
        pids+=($!)
        for _ in $(seq 100); do
                grep -qs '^listening on ' "$T/$1.out" && break
                sleep 0.05
        done
        URL="http://$(sed -n 's/^listening on //p' "$T/$1.out")"
}
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
val() { awk -v k="$1" '$1==k {print $2}' "$2"; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# median of the numbers in a file (one per line)
med() { sort -g "$1" | awk '{v[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
# "Rss A Pss B Private C" in KiB from smaps_rollup
mem() { awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} /^Private_(Clean|Dirty):/ {v+=$2} END {print r, p, v}' "/proc/$1/smaps_rollup"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
memline() { # memline LABEL PID
        read -r r p v < <(mem "$2")
        printf "%-34s Rss %5s MiB  Pss %5s MiB  Private %5s MiB\n" "$1" "$(mib "$r")" "$(mib "$p")" "$(mib "$v")"
}

start_mock fast
FAST=$URL; FASTPID=$MOCKPID
start_mock slow --chunks 20 --delay-ms 500
SLOW=$URL
mkdir -p "$T/profiles"
echo '{"qclaw_profile":1,"name":"bench","models":["*"],"limits":{"max_request_bytes":1048576},"sandbox":{"network":"proxy"}}' >"$T/profiles/bench.json"
TOKEN=bench-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$TOKEN" >"$T/token"; chmod 600 "$T/token"
start_proxy() { # start_proxy NAME FSYNC: sets PURL, PPID_
        local port; port=$(free_port)
        cat >"$T/$1.json" <<EOC
{"qclaw_proxy":1,"listen":["127.0.0.1:$port"],"audit_log":"$T/$1-audit.jsonl","profiles_dir":"$T/profiles",
 "audit_fsync":"$2","clients":[{"name":"bench","token_file":"$T/token","profile":"bench"}],
 "providers":{"mock":{"type":"openai","base_url":"$FAST/v1","models":["gpt-*"]},
              "slow":{"type":"openai","base_url":"$SLOW/v1","models":["slow-*"]}}}
EOC
        "$PROXY" --config "$T/$1.json" >"$T/$1.out" 2>"$T/$1.err" &
        PPID_=$!
        pids+=($!)
        PURL=http://127.0.0.1:$port
        for _ in $(seq 100); do curl -fs "$PURL/healthz" >/dev/null 2>&1 && return; sleep 0.05; done
        echo "proxy $1 did not start:"; cat "$T/$1.err"; exit 1
}
start_proxy never never
PA=$PPID_; PURL_A=$PURL
start_proxy egress egress
PB=$PPID_; PURL_B=$PURL
# Reference peers, when installed (not installed by ./dev deps: their packages start system
# services): nginx and HAProxy as plain reverse proxies to the same mock-llm, keep-alive both
# hops, one worker/thread like qclaw-proxy. They forward bytes and do nothing else (no policy,
# no audit record, no body parsing): what a bare C proxy costs on this machine.
PEERS=()
FASTHP=${FAST#http://}
if command -v nginx >/dev/null 2>&1; then
        port=$(free_port)
        cat >"$T/nginx.conf" <<EOC
worker_processes 1;
pid $T/nginx.pid;
error_log $T/nginx.err;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $T/nginx-body;
  proxy_temp_path $T/nginx-proxy;
  upstream m { server $FASTHP; keepalive 128; }
  server { listen 127.0.0.1:$port;
    location / { proxy_pass http://m; proxy_http_version 1.1; proxy_set_header Connection "";
                 proxy_buffering off; } }
}
EOC
        if nginx -c "$T/nginx.conf" 2>"$T/nginx.start"; then
                for _ in $(seq 50); do [ -s "$T/nginx.pid" ] && break; sleep 0.05; done
                pids+=("$(cat "$T/nginx.pid")")
                NGINX_URL=http://127.0.0.1:$port
                NGINX_PID=$(pgrep -P "$(cat "$T/nginx.pid")" | head -1)
                PEERS+=(nginx)
        fi
fi
if command -v haproxy >/dev/null 2>&1; then
        port=$(free_port)
        cat >"$T/haproxy.cfg" <<EOC
global
  maxconn 8192
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 120s
  timeout server 120s
  option http-keep-alive
frontend f
  bind 127.0.0.1:$port
  default_backend b
backend b
  http-reuse always
  server m $FASTHP
EOC
        if haproxy -f "$T/haproxy.cfg" -D -p "$T/haproxy.pid" 2>"$T/haproxy.start"; then
                for _ in $(seq 50); do [ -s "$T/haproxy.pid" ] && break; sleep 0.05; done
                pids+=("$(cat "$T/haproxy.pid")")
                HAPROXY_URL=http://127.0.0.1:$port
                HAPROXY_PID=$(cat "$T/haproxy.pid")
                PEERS+=(haproxy)
        fi
fi
# A bare forwarder on qclaw-proxy's own two libraries (bench/bench-fwd.c: libmicrohttpd in, a
# blocking libcurl call out, nothing else): the floor those libraries put under the added
# latency. A latency peer only (one request at a time by design).
LAT_PEERS=()
if [ -x "$build/bench/bench-fwd" ]; then
        port=$(free_port)
        "$build/bench/bench-fwd" "$port" "$FAST" >"$T/fwd.out" 2>&1 &
        FWD_PID=$!
        pids+=($!)
        for _ in $(seq 100); do grep -qs '^listening on ' "$T/fwd.out" && break; sleep 0.05; done
        FWD_URL=http://127.0.0.1:$port
        LAT_PEERS+=(mhd+curl)
fi
peer_url() {
        case $1 in nginx) echo "$NGINX_URL" ;; haproxy) echo "$HAPROXY_URL" ;; *) echo "$FWD_URL" ;; esac
}
peer_pid() {
        case $1 in nginx) echo "$NGINX_PID" ;; haproxy) echo "$HAPROXY_PID" ;; *) echo "$FWD_PID" ;; esac
}
export BENCH_TOKEN=$TOKEN
sleep 0.5
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $ROUNDS rounds, medians"
memline "proxy idle at start" "$PA"
read -r RSS_IDLE _ _ < <(mem "$PA")

# one latency run: lat NAME URL PID_TO_CHARGE -> appends p50/p99 and cpu us/req to $T/NAME.*
lat() {
        local t0 t1
        t0=$(ticks "$3")
        "$LOAD" latency "$2/v1/chat/completions" "$N" >"$T/out"
        t1=$(ticks "$3")
        val latency_p50_us "$T/out" >>"$T/$1.p50"
        val latency_p99_us "$T/out" >>"$T/$1.p99"
        val client_cpu_us_per_req "$T/out" >>"$T/$1.ccpu"
        awk -v a="$t0" -v b="$t1" -v n="$N" -v h="$TCK" 'BEGIN {print (b - a) * 1e6 / h / (n + 20)}' >>"$T/$1.cpu"
}
echo "-- latency, concurrency 1, $N non-streaming requests per run (keep-alive both hops)"
for r in $(seq "$ROUNDS"); do
        if [ $((r % 2)) = 1 ]; then
                lat direct "$FAST" "$FASTPID"; lat pa "$PURL_A" "$PA"; lat pb "$PURL_B" "$PB"
        else
                lat pb "$PURL_B" "$PB"; lat pa "$PURL_A" "$PA"; lat direct "$FAST" "$FASTPID"
        fi
        for peer in "${PEERS[@]}" "${LAT_PEERS[@]}"; do
                lat "$peer" "$(peer_url "$peer")" "$(peer_pid "$peer")"
                paste "$T/$peer.p50" "$T/direct.p50" | tail -1 | awk '{print $1 - $2}' >>"$T/add$peer.p50"
                paste "$T/$peer.p99" "$T/direct.p99" | tail -1 | awk '{print $1 - $2}' >>"$T/add$peer.p99"
        done
        paste "$T/pa.p50" "$T/direct.p50" | tail -1 | awk '{print $1 - $2}' >>"$T/adda.p50"
        paste "$T/pa.p99" "$T/direct.p99" | tail -1 | awk '{print $1 - $2}' >>"$T/adda.p99"
        paste "$T/pb.p50" "$T/direct.p50" | tail -1 | awk '{print $1 - $2}' >>"$T/addb.p50"
        paste "$T/pb.p99" "$T/direct.p99" | tail -1 | awk '{print $1 - $2}' >>"$T/addb.p99"
done
printf "direct                p50 %7.1f us  p99 %7.1f us  (mock-llm CPU %5.1f us/req, client %5.1f)\n" \
        "$(med "$T/direct.p50")" "$(med "$T/direct.p99")" "$(med "$T/direct.cpu")" "$(med "$T/direct.ccpu")"
printf "proxy fsync=never     p50 %7.1f us  p99 %7.1f us  (proxy CPU %5.1f us/req)\n" \
        "$(med "$T/pa.p50")" "$(med "$T/pa.p99")" "$(med "$T/pa.cpu")"
printf "proxy fsync=egress    p50 %7.1f us  p99 %7.1f us  (proxy CPU %5.1f us/req)\n" \
        "$(med "$T/pb.p50")" "$(med "$T/pb.p99")" "$(med "$T/pb.cpu")"
printf "added fsync=never     p50 %7.1f us  p99 %7.1f us   (target <= 100 / 300)\n" \
        "$(med "$T/adda.p50")" "$(med "$T/adda.p99")"
printf "added fsync=egress    p50 %7.1f us  p99 %7.1f us\n" "$(med "$T/addb.p50")" "$(med "$T/addb.p99")"
for peer in "${PEERS[@]}" "${LAT_PEERS[@]}"; do
        printf "peer %-8s added  p50 %7.1f us  p99 %7.1f us  (%s CPU %5.1f us/req; forwards only)\n" \
                "$peer" "$(med "$T/add$peer.p50")" "$(med "$T/add$peer.p99")" "$peer" "$(med "$T/$peer.cpu")"
done

tp() { # tp NAME URL PID
        local t0 t1 rps
        t0=$(ticks "$3")
        "$LOAD" throughput "$2/v1/chat/completions" 64 "$TP_SECS" >"$T/out"
        t1=$(ticks "$3")
        rps=$(val throughput_rps "$T/out")
        echo "$rps" >>"$T/$1.rps"
        val client_cpu_us_per_req "$T/out" >>"$T/$1.tccpu"
        awk -v a="$t0" -v b="$t1" -v n="$rps" -v s="$TP_SECS" -v h="$TCK" 'BEGIN {print (b - a) * 1e6 / h / (n * s)}' >>"$T/$1.tcpu"
}
echo "-- throughput, concurrency 64, $TP_SECS s per run"
for r in $(seq "$ROUNDS"); do
        if [ $((r % 2)) = 1 ]; then
                tp direct "$FAST" "$FASTPID"; tp pa "$PURL_A" "$PA"; tp pb "$PURL_B" "$PB"
        else
                tp pb "$PURL_B" "$PB"; tp pa "$PURL_A" "$PA"; tp direct "$FAST" "$FASTPID"
        fi
        for peer in "${PEERS[@]}"; do
                tp "$peer" "$(peer_url "$peer")" "$(peer_pid "$peer")"
                paste "$T/$peer.rps" "$T/direct.rps" | tail -1 | awk '{print $1 / $2}' >>"$T/ratio_$peer"
        done
        paste "$T/pa.rps" "$T/direct.rps" | tail -1 | awk '{print $1 / $2}' >>"$T/ratio_a"
        paste "$T/pb.rps" "$T/direct.rps" | tail -1 | awk '{print $1 / $2}' >>"$T/ratio_b"
done
printf "direct             %6.0f req/s  (mock-llm CPU %5.1f us/req, client %5.1f)\n" \
        "$(med "$T/direct.rps")" "$(med "$T/direct.tcpu")" "$(med "$T/direct.tccpu")"
printf "proxy fsync=never  %6.0f req/s  (proxy CPU %5.1f us/req)  ratio %.2f   (target >= 0.80)\n" \
        "$(med "$T/pa.rps")" "$(med "$T/pa.tcpu")" "$(med "$T/ratio_a")"
printf "proxy fsync=egress %6.0f req/s  (proxy CPU %5.1f us/req)  ratio %.2f\n" \
        "$(med "$T/pb.rps")" "$(med "$T/pb.tcpu")" "$(med "$T/ratio_b")"
for peer in "${PEERS[@]}"; do
        printf "peer %-13s %6.0f req/s  (%s CPU %5.1f us/req)  ratio %.2f\n" \
                "$peer" "$(med "$T/$peer.rps")" "$peer" "$(med "$T/$peer.tcpu")" "$(med "$T/ratio_$peer")"
done

# An agent's request carries its whole context: a 256 KiB body, not streamed and streamed
# (the proxy validates it, reads model/stream, and for a stream adds include_usage).
python3 -c 'import json,sys
msgs=[{"role":"user" if i % 2 == 0 else "assistant","content":("line %d of a source file, with some code in it; " % i) * 30} for i in range(160)]
json.dump({"model":"gpt-4o","messages":msgs}, open(sys.argv[1],"w"))
json.dump({"model":"gpt-4o","stream":True,"messages":msgs}, open(sys.argv[2],"w"))' "$T/big.json" "$T/bigs.json"
bigrun() { # bigrun NAME URL MODE FILE
        BENCH_BODY_FILE=$4 "$LOAD" "$3" "$2/v1/chat/completions" 300 >"$T/out"
        val "$3"_p50_us "$T/out" >>"$T/$1.big"
}
echo "-- large request body ($(($(stat -c %s "$T/big.json") / 1024)) KiB), 300 sequential requests per run"
for r in $(seq "$ROUNDS"); do
        bigrun direct "$FAST" latency "$T/big.json"; bigrun pa "$PURL_A" latency "$T/big.json"
        bigrun directs "$FAST" ttfc "$T/bigs.json"; bigrun pas "$PURL_A" ttfc "$T/bigs.json"
        paste "$T/pa.big" "$T/direct.big" | tail -1 | awk '{print $1 - $2}' >>"$T/addbig"
        paste "$T/pas.big" "$T/directs.big" | tail -1 | awk '{print $1 - $2}' >>"$T/addbigs"
done
printf "not streamed: direct p50 %.1f us, proxy p50 %.1f us, added %.1f us\n" \
        "$(med "$T/direct.big")" "$(med "$T/pa.big")" "$(med "$T/addbig")"
printf "streamed, first chunk: direct p50 %.1f us, proxy p50 %.1f us, added %.1f us\n" \
        "$(med "$T/directs.big")" "$(med "$T/pas.big")" "$(med "$T/addbigs")"

ttfc() { # ttfc NAME URL
        "$LOAD" ttfc "$2/v1/chat/completions" 1000 >"$T/out"
        val ttfc_p50_us "$T/out" >>"$T/$1.f50"
}
echo "-- time to first chunk, streaming, 1000 sequential streams per run"
for r in $(seq "$ROUNDS"); do
        if [ $((r % 2)) = 1 ]; then ttfc direct "$FAST"; ttfc pa "$PURL_A"
        else ttfc pa "$PURL_A"; ttfc direct "$FAST"; fi
        paste "$T/pa.f50" "$T/direct.f50" | tail -1 | awk '{print $1 - $2}' >>"$T/addf"
done
printf "direct p50 %.1f us, proxy p50 %.1f us, added %.1f us   (target <= 500)\n" \
        "$(med "$T/direct.f50")" "$(med "$T/pa.f50")" "$(med "$T/addf")"

kill "$PB" 2>/dev/null || true
sleep 0.3
memline "proxy idle after the load" "$PA"
echo "-- $STREAMS concurrent streams (20 chunks x 500 ms each) through the proxy"
BENCH_MODEL=slow-1 "$LOAD" streams "$PURL_A/v1/chat/completions" "$STREAMS" "$T/held" >"$T/st" &
lp=$!
for _ in $(seq 600); do [ -f "$T/held" ] && break; sleep 0.05; done
sleep 1
memline "proxy with $STREAMS streams open" "$PA"
read -r RSS_STREAMS _ _ < <(mem "$PA")
wait $lp || true
cat "$T/st"

echo "-- soak: $STREAMS streams kept open for $SOAK_SECS s, memory every $SOAK_EVERY s"
rm -f "$T/held"
BENCH_MODEL=slow-1 "$LOAD" soak "$PURL_A/v1/chat/completions" "$STREAMS" "$SOAK_SECS" "$T/held" >"$T/soak" &
lp=$!
for _ in $(seq 600); do [ -f "$T/held" ] && break; sleep 0.05; done
for ((s = 0; s <= SOAK_SECS; s += SOAK_EVERY)); do
        read -r r p v < <(mem "$PA")
        printf "t=%4ss  Rss %5s MiB  Pss %5s MiB  Private %5s MiB\n" "$s" "$(mib "$r")" "$(mib "$p")" "$(mib "$v")" | tee -a "$T/soakmem"
        [ "$s" -lt "$SOAK_SECS" ] && sleep "$SOAK_EVERY"
done
wait $lp || true
cat "$T/soak"
awk '{v[NR]=$4} END {printf "soak Rss first %.1f MiB, last %.1f MiB, min..max over samples after the first: ", v[1], v[NR]; mn=1e9; mx=0; for (i=2; i<=NR; i++) {if (v[i]<mn) mn=v[i]; if (v[i]>mx) mx=v[i]} printf "%.1f..%.1f MiB\n", mn, mx}' "$T/soakmem"
sleep 2.5 # the proxy gives freed heap back from its 1 s tick
memline "proxy idle after the soak" "$PA"

echo "-- memory summary (Rss counts shared library pages this process touched; Pss splits them"
echo "   with the other processes mapping the same libraries; Private is this process's own)"
echo "proxy Rss idle at start: $(mib "$RSS_IDLE") MiB (target <= 4); with $STREAMS streams: $(mib "$RSS_STREAMS") MiB (target <= 64)"
echo "audit records written: fsync=never proxy $(wc -l <"$T/never-audit.jsonl"), fsync=egress proxy $(wc -l <"$T/egress-audit.jsonl")"
