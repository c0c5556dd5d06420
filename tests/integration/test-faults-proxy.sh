#!/usr/bin/env bash
# qclaw-proxy under faults. Upstream: hangs (504 after timeout_ms), garbage streams, 529/429/5xx
# on every route shape, resets on routes test-proxy-api.sh leaves out, refused connections, the
# upstream killed mid-stream. Clients: one that stops reading a large stream, a slowloris, a slow
# upload, clients vanishing mid-body, mid-wait and mid-stream (50 at random points) -- the
# proxy keeps serving, writes one egress_done per egress and its fds return to baseline. The
# proxy SIGKILLed during 100 concurrent streams: on restart the audit chain verifies and every
# request the upstream saw has its egress record. The audit log's disk full (a 128 KiB tmpfs in a
# private mount namespace): requests refused with 503 in the caller's shape, nothing reaches
# the upstream; service resumes when space returns and the chain verifies.
set -euo pipefail
. "$(dirname "$0")/test-proxy-lib.sh"
command -v ss >/dev/null || skip "ss (iproute2) missing"

start_mock big --chunks 2000
BIG=$MOCK_URL
MPORT=$(free_port)
"$MOCK" --listen "127.0.0.1:$MPORT" --quiet --slow-ms 500 --chunks 40 --delay-ms 50 >"$T/m.out" 2>"$T/m.err" &
MOCK_PID=$!
PIDS+=($MOCK_PID)
wait_for 5 grep -qs '^listening on ' "$T/m.out"
M=http://127.0.0.1:$MPORT
UPSTREAM_TIMEOUT_MS=3000 write_config "$M" "$M"
# a third provider for the large-stream client: the big mock
sed -i "s|\"other\":|\"big\":{\"type\":\"openai\",\"base_url\":\"$BIG/v1\",\"models\":[\"big-*\"]},\"other\":|" "$T/proxy.json"
# a fourth whose streams last ~5 s, longer than timeout_ms, with a chunk every 0.5 s
start_mock long --chunks 10 --delay-ms 500
SLOWSTREAM=$MOCK_URL
sed -i "s|\"other\":|\"long\":{\"type\":\"openai\",\"base_url\":\"$MOCK_URL/v1\",\"models\":[\"long-*\"],\"timeout_ms\":3000},\"other\":|" "$T/proxy.json"
profile coder '["oa/*","an/*","big/*","long/*"]'
start_proxy
A="Authorization: Bearer $TOKEN"
stats() { curl -s "$1/_mock/stats" | jq .requests; }
alive_and_serving() {
        kill -0 "$PROXY_PID" 2>/dev/null || { echo "  proxy died" >&2; return 1; }
        local b
        b=$(curl -sS --max-time 10 -H "$A" "$PROXY_URL/v1/chat/completions" -d "$(chat gpt-4o ping)")
        [ "$(jq -r '.choices[0].message.content' <<<"$b")" = "echo: ping" ] || { echo "  $b" >&2; return 1; }
}
anth() { # anth TEXT [extra]: an Anthropic Messages body
        printf '{"model":"claude-sonnet-4-5","max_tokens":50,"messages":[{"role":"user","content":%s}]%s}' \
                "$(jq -Rn --arg s "$1" '$s')" "${2:-}"
}
all_done() { [ "$(count_events egress_done)" = "$(count_events egress)" ]; }
# fds of the proxy that are not pooled keep-alive connections to the upstreams
upstream_conns() { ss -Htnp state established | grep -c "pid=$PROXY_PID," | tr -d ' ' || true; }
other_fds() {
        local all up
        all=$(ls "/proc/$PROXY_PID/fd" | wc -l)
        up=$(ss -Htnp state established \
                "( dport = :$MPORT or dport = :${BIG##*:} or dport = :${SLOWSTREAM##*:} )" |
                grep -c "pid=$PROXY_PID," || true)
        echo $((all - up))
}
alive_and_serving
FD0=$(other_fds)

echo "# t=${SECONDS}s"
# ================= upstream faults =================
# hang: nothing comes back; timeout_ms (3 s) ends it with 504 in the caller's shape
b=$(pc --max-time 20 "$PROXY_URL/v1/chat/completions" -d "$(chat gpt-4o 'fail:hang')")
t "upstream hang: 504" eq "$(status)" 504
t "upstream hang: OpenAI shape, timeout" eq "$(jq -r .error.code <<<"$b")" timeout
b=$(pc --max-time 20 "$PROXY_URL/v1/messages" -d "$(anth 'fail:hang')")
t "upstream hang on /v1/messages: 504 Anthropic shape" eq "$(status)/$(jq -r .type <<<"$b")" 504/error
b=$(pc -N --max-time 20 "$PROXY_URL/v1/chat/completions" -d "$(chat claude-sonnet-4-5 'fail:hang' ',"stream":true')")
t "upstream hang, translated stream: 504 before any event" eq "$(status)" 504
t "upstream hang: no upstream connection left behind" wait_for 10 eval '[ "$(ss -Htn state established "( dport = :$MPORT )" | wc -l)" -le "$(upstream_conns)" ]'
# a stream that outlasts timeout_ms but never falls silent for that long is not cut
b=$(pc -N --max-time 30 "$PROXY_URL/v1/chat/completions" \
        -d "$(chat long-1 'this reply is streamed slowly over several seconds' ',"stream":true')")
t "stream of ~5 s with timeout_ms 3 s: complete (200, ended by [DONE])" \
        eq "$(status)/$(curl_rc)/$(grep -c '^data: \[DONE\]' <<<"$b")" 200/0/1
t "stream of ~5 s with timeout_ms 3 s: no error event" lacks "$b" '"error":{'
# slow first byte (500 ms) within the timeout: a normal answer
b=$(pc "$PROXY_URL/v1/messages" -d "$(anth 'fail:slow')")
t "upstream slow: 200 and the answer" eq "$(status)/$(jq -r '.content[0].text' <<<"$b")" "200/echo: fail:slow"
# garbage
b=$(pc -N "$PROXY_URL/v1/chat/completions" -d "$(chat claude-sonnet-4-5 'fail:garbage' ',"stream":true')")
t "garbage translated stream: an error event" contains "$b" '"error":{'
t "garbage translated stream: terminated with [DONE]" contains "$b" "data: [DONE]"
b=$(pc "$PROXY_URL/v1/chat/completions" -d "$(chat claude-sonnet-4-5 'fail:garbage')")
t "garbage translated non-stream: 502 OpenAI shape" eq "$(status)/$(jq -r '.error|type' <<<"$b")" 502/object
b=$(pc "$PROXY_URL/v1/messages" -d "$(anth 'fail:garbage')")
t "garbage on /v1/messages: 502 Anthropic shape" eq "$(status)/$(jq -r .type <<<"$b")" 502/error
pc -N --max-time 20 "$PROXY_URL/v1/chat/completions" -d "$(chat gpt-4o 'fail:garbage' ',"stream":true')" >/dev/null
t "garbage passthrough stream: the transfer ends (not a timeout)" eq "$(status)/$(curl_rc)" 200/0
t "garbage: proxy alive and serving" alive_and_serving
# 529 / 429 / 500 on every shape
b=$(pc "$PROXY_URL/v1/messages" -d "$(anth 'fail:529')")
t "upstream 529 on /v1/messages: overloaded_error" eq "$(jq -r .error.type <<<"$b")" overloaded_error
t "upstream 529 on /v1/messages: 5xx" eq "$(( $(status) >= 500 ))" 1
b=$(pc "$PROXY_URL/v1/chat/completions" -d "$(chat claude-sonnet-4-5 'fail:529')")
t "upstream 529, translated: 503 OpenAI shape" eq "$(status)/$(jq -r '.error|type' <<<"$b")" 503/object
b=$(pc "$PROXY_URL/v1/messages" -d "$(anth 'fail:429')")
t "upstream 429 on /v1/messages: 429 rate_limit_error" eq "$(status)/$(jq -r .error.type <<<"$b")" 429/rate_limit_error
t "upstream 429 on /v1/messages: retry-after passed on" eq "$(header retry-after)" 1
b=$(pc "$PROXY_URL/v1/chat/completions" -d "$(chat claude-sonnet-4-5 'fail:429')")
t "upstream 429, translated: 429 OpenAI shape" eq "$(status)/$(jq -r '.error|type' <<<"$b")" 429/object
b=$(pc -N "$PROXY_URL/v1/chat/completions" -d "$(chat claude-sonnet-4-5 'fail:500' ',"stream":true')")
t "upstream 500 before a translated stream: 500 OpenAI shape" eq "$(status)/$(jq -r '.error|type' <<<"$b")" 500/object
b=$(pc -N "$PROXY_URL/v1/messages" -d "$(anth 'fail:500' ',"stream":true')")
t "upstream 500 before a /v1/messages stream: 500 Anthropic shape" eq "$(status)/$(jq -r .type <<<"$b")" 500/error
b=$(pc "$PROXY_URL/v1/responses" -d '{"model":"gpt-4o","input":"fail:500"}')
t "upstream 500 on /v1/responses: 500" eq "$(status)" 500
# resets not covered elsewhere
b=$(pc -N "$PROXY_URL/v1/responses" -d '{"model":"gpt-4o","input":"fail:reset","stream":true}')
t "reset mid-stream on /v1/responses: error event" contains "$b" '"error"'
b=$(pc "$PROXY_URL/v1/messages" -d "$(anth 'fail:reset')")
t "reset before a /v1/messages answer: 502 Anthropic shape" eq "$(status)/$(jq -r .type <<<"$b")" 502/error
b=$(pc "$PROXY_URL/v1/embeddings" -d '{"model":"gpt-4o","input":"fail:reset"}')
t "reset on /v1/embeddings: 502" eq "$(status)" 502
t "upstream faults: one egress_done per egress" wait_for 10 all_done
st=$(grep '"event":"egress_done"' "$T/audit.jsonl" | jq -r '.status' | sort -un | tr '\n' ' ')
echo "# upstream statuses in egress_done: $st"
for c in 200 429 500 529; do
        t "egress_done records carry the upstream status $c" contains " $st" " $c "
done

# refused connection: a provider whose port has nothing listening
DEAD=$(free_port)
sed -i "s|\"other\":{\"type\":\"openai\",\"base_url\":\"$M/v1\"|\"other\":{\"type\":\"openai\",\"base_url\":\"http://127.0.0.1:$DEAD/v1\"|" "$T/proxy.json"
n_cfg=$(count_events config)
kill -HUP "$PROXY_PID"
wait_for 10 eval '[ "$(count_events config)" -gt "$n_cfg" ]'
profile coder '["oa/*","an/*","big/*","other/*"]'
kill -HUP "$PROXY_PID"
wait_for 10 eval '[ "$(count_events config)" -gt "$((n_cfg + 1))" ]'
b=$(pc "$PROXY_URL/v1/chat/completions" -d "$(chat other/forbidden-x hi)")
t "connection refused: 502" eq "$(status)/$(jq -r '.error|type' <<<"$b")" 502/object

# the upstream killed with SIGKILL while 6 streams are in flight (40 chunks x 50 ms = 2 s each)
LONG="the quick brown fox jumps over the lazy dog and then some more"
for i in 1 2 3; do
        curl -sSN --max-time 20 -H "$A" "$PROXY_URL/v1/chat/completions" -d "$(chat claude-sonnet-4-5 "k$i $LONG" ',"stream":true')" >"$T/kill-t$i" 2>&1 &
        curl -sSN --max-time 20 -H "$A" "$PROXY_URL/v1/chat/completions" -d "$(chat gpt-4o "k$i $LONG" ',"stream":true')" >"$T/kill-p$i" 2>&1 &
done
streaming() { for f in "$T"/kill-t1 "$T"/kill-t2 "$T"/kill-t3 "$T"/kill-p1 "$T"/kill-p2 "$T"/kill-p3; do grep -qs '"content":"[^"]' "$f" || return 1; done; }
t "upstream killed: all 6 streams under way first" wait_for 15 streaming
kill -KILL "$MOCK_PID"
wait "$MOCK_PID" 2>/dev/null || true
wait_for 20 eval '! jobs -r | grep -q curl'
for i in 1 2 3; do
        t "upstream killed: translated stream $i ends with an error event and [DONE]" \
                eval "grep -q '\"error\":{' '$T/kill-t$i' && grep -q 'data: \[DONE\]' '$T/kill-t$i'"
        t "upstream killed: passthrough stream $i ends with an error event" grep -q '^data: {"error":{' "$T/kill-p$i"
done
t "upstream killed: one egress_done per egress" wait_for 10 all_done
"$MOCK" --listen "127.0.0.1:$MPORT" --quiet --slow-ms 500 >"$T/m2.out" 2>"$T/m2.err" &
MOCK_PID=$!
PIDS+=($MOCK_PID)
wait_for 5 grep -qs '^listening on ' "$T/m2.out"
t "upstream back on the same port: proxy serves again" alive_and_serving

echo "# t=${SECONDS}s"
# ================= slow and vanishing clients =================
cat >"$T/client.py" <<'PY'
import json, random, socket, sys, time
mode, port, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def req(body, path="/v1/chat/completions", extra=b""):
    b = json.dumps(body).encode()
    return (b"POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n%s\r\n" % (path.encode(), token.encode(), len(b), extra)) + b
def conn(rcvbuf=None):
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(("127.0.0.1", port))
    return s
def read_all(s, limit=30):
    s.settimeout(limit)
    out = b""
    while not out.endswith(b"0\r\n\r\n"):
        b = s.recv(65536)
        if not b:
            break
        out += b
    return out
if mode == "stall":  # a large stream; read nothing for a while, then all of it
    text = " ".join("w%d" % i for i in range(6000))
    s = conn(rcvbuf=4096)
    s.sendall(req({"model": "big-1", "stream": True, "messages": [{"role": "user", "content": text}]},
                  extra=b"Connection: close\r\n"))
    time.sleep(float(sys.argv[4]))
    out = read_all(s)
    body = out.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in out else b""
    # de-chunk and reassemble the deltas
    data, rest = b"", body
    while rest:
        line, _, rest = rest.partition(b"\r\n")
        n = int(line, 16)
        if n == 0:
            break
        data += rest[:n]
        rest = rest[n + 2:]
    got = ""
    for ln in data.split(b"\n"):
        if ln.startswith(b"data: {"):
            ch = json.loads(ln[6:])["choices"]
            if ch and ch[0]["delta"].get("content"):
                got += ch[0]["delta"]["content"]
    print("ok" if got == "echo: " + text and b"data: [DONE]" in data else "bad %d %d" % (len(got), len(data)))
elif mode == "slowloris":  # headers one byte at a time for N seconds, never finished
    s = conn()
    h = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 1000
    end = time.monotonic() + float(sys.argv[4])
    i = 0
    while time.monotonic() < end and i < len(h):
        s.send(h[i:i + 1]); i += 1; time.sleep(0.05)
    print("sent %d" % i)
elif mode == "slowbody":  # a body trickled over ~2 s, then the answer
    r = req({"model": "gpt-4o", "messages": [{"role": "user", "content": "trickle"}]}, extra=b"Connection: close\r\n")
    s = conn()
    head, body = r.split(b"\r\n\r\n", 1)
    s.sendall(head + b"\r\n\r\n")
    for i in range(0, len(body), 4):
        s.send(body[i:i + 4]); time.sleep(2.0 / (len(body) / 4))
    s.settimeout(10)
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    print("ok" if out.startswith(b"HTTP/1.1 200") and b"echo: trickle" in out else "bad")
elif mode == "midbody":  # Content-Length 1000, 10 bytes, gone
    s = conn()
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token.encode() +
              b"\r\nContent-Length: 1000\r\n\r\n{\"model\":")
    time.sleep(0.2)
    s.close()
    print("ok")
elif mode == "vanish":  # N streams, each cut after a random number of bytes (some with RST)
    n = int(sys.argv[4])
    rnd = random.Random(int(sys.argv[5]))
    socks = []
    for i in range(n):
        model = rnd.choice(["gpt-4o", "claude-sonnet-4-5"])
        path = "/v1/chat/completions"
        body = {"model": model, "stream": rnd.random() < 0.8,
                "messages": [{"role": "user", "content": "vanish %d a b c d e f g" % i}]}
        if rnd.random() < 0.2:
            path, body = "/v1/messages", {"model": "claude-sonnet-4-5", "max_tokens": 50, "stream": True,
                                           "messages": [{"role": "user", "content": "vanish %d x y z" % i}]}
        s = conn()
        s.sendall(req(body, path, b"Connection: close\r\n"))
        socks.append((s, rnd.randrange(0, 3000), rnd.random() < 0.5))
    for s, cut, rst in socks:
        s.settimeout(10)
        got = 0
        try:
            while got < cut:
                b = s.recv(min(4096, cut - got) or 1)
                if not b:
                    break
                got += len(b)
        except OSError:
            pass
        if rst:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    print("ok")
PY
cl() { python3 "$T/client.py" "$1" "$PROXY_PORT" "$TOKEN" "${@:2}"; }

# a client that stops reading a ~1 MB stream for 3 s while others are served
cl stall 3 >"$T/stall.out" &
stall=$!
cl slowloris 3 >"$T/loris.out" &
loris=$!
sleep 0.5
t "while a client stalls and a slowloris trickles: others served" alive_and_serving
t "slow body upload: answered" eq "$(cl slowbody)" ok
wait $stall || true
t "stalled reader: whole stream intact afterwards" eq "$(cat "$T/stall.out")" ok
wait $loris || true
t "slowloris: proxy alive and serving" alive_and_serving
up=$(stats "$M")
e=$(count_events egress)
t "client gone mid-body" eq "$(cl midbody)" ok
t "client gone mid-body: nothing sent upstream" eq "$(stats "$M")/$(count_events egress)" "$up/$e"
# gone while waiting for a non-streamed answer (the upstream takes 500 ms)
curl -sS --max-time 0.2 -H "$A" "$PROXY_URL/v1/chat/completions" -d "$(chat gpt-4o 'fail:slow')" >/dev/null 2>&1 || true
t "client gone mid-wait: egress_done written" wait_for 10 all_done
t "client gone mid-wait: finish_reason client_disconnect" eval "grep '\"event\":\"egress_done\"' '$T/audit.jsonl' | tail -1 | grep -q client_disconnect"
# 50 clients vanishing at random points (streams, translated, /v1/messages, FIN or RST)
t "50 vanishing clients" eq "$(cl vanish 50 "${QCLAW_FAULT_SEED:-7}")" ok
t "vanishing clients: proxy alive and serving" alive_and_serving
t "vanishing clients: one egress_done per egress" wait_for 20 all_done
no_clients() { [ "$(ss -Htn state established "( sport = :$PROXY_PORT )" | wc -l)" = 0 ]; }
t "no client connection left open" wait_for 15 no_clients
fds_back() { [ "$(other_fds)" -le "$FD0" ]; }
t "proxy fds back to baseline ($FD0, not counting pooled upstream connections)" wait_for 15 fds_back
t "audit chain verifies" "$ADMIN" verify "$T/audit.jsonl"

echo "# t=${SECONDS}s"
# ================= SIGKILL during 100 concurrent streams =================
# A python upstream that logs each request's model on arrival, then streams for ~3 s: the models
# it saw must all have an egress record (egress is written before a request leaves).
cat >"$T/upstream.py" <<'PY'
import asyncio, json, sys
log = open(sys.argv[2], "a", buffering=1)
async def handle(r, w):
    try:
        head = await r.readuntil(b"\r\n\r\n")
        n = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                n = int(line.split(b":")[1])
        body = json.loads(await r.readexactly(n))
        log.write(body["model"] + "\n")
        w.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        for i in range(30):
            ev = b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}\n\n'
            w.write(b"%x\r\n%s\r\n" % (len(ev), ev))
            await w.drain()
            await asyncio.sleep(0.1)
        ev = b"data: [DONE]\n\n"
        w.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(ev), ev))
        await w.drain()
    except Exception:
        pass
    finally:
        w.close()
async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]), backlog=512)
    print("listening", flush=True)
    async with srv:
        await srv.serve_forever()
asyncio.run(main())
PY
kill "$PROXY_PID"
wait "$PROXY_PID" 2>/dev/null || true
UPORT=$(free_port)
python3 "$T/upstream.py" "$UPORT" "$T/arrived" >"$T/up.out" 2>&1 &
PIDS+=($!)
wait_for 5 grep -qs listening "$T/up.out"
sed -i "s|\"other\":{\"type\":\"openai\",\"base_url\":\"http://127.0.0.1:$DEAD/v1\"|\"other\":{\"type\":\"openai\",\"base_url\":\"http://127.0.0.1:$UPORT/v1\"|" "$T/proxy.json"
start_proxy
e0=$(count_events egress)
: >"$T/arrived"
ulimit -n 4096 2>/dev/null || true
cpids=()
for i in $(seq 100); do
        curl -sSN --max-time 30 -H "$A" "$PROXY_URL/v1/chat/completions" \
                -d "$(chat "other/forbidden-k$i" "kill $i" ',"stream":true')" >/dev/null 2>&1 &
        cpids+=($!)
done
echo "# t=${SECONDS}s: 100 clients started"
wait_for 20 eval '[ "$(wc -l <"$T/arrived")" -ge 60 ]' || true
kill -KILL "$PROXY_PID"
wait "$PROXY_PID" 2>/dev/null || true
sleep 0.3
arrived=$(sort -u "$T/arrived" | wc -l)
t "SIGKILL: requests were in flight at the upstream (>= 60 of 100)" eq "$(( arrived >= 60 ))" 1
kmodels() { # kmodels EVENT: models (provider prefix stripped) of this section's records
        grep -a "\"event\":\"$1\"" "$T/audit.jsonl" | jq -r '.model // empty' | sed 's|^other/||' |
                grep '^forbidden-k' | sort -u || true
}
t "SIGKILL: in flight at kill time (fewer egress_done than egress)" \
        eval "[ $(kmodels egress_done | wc -l) -lt $(kmodels egress | wc -l) ]"
missing=$(comm -23 <(sort -u "$T/arrived") <(kmodels egress) | head -5)
t "SIGKILL: every request the upstream saw has its egress record" eq "$missing" ""
for p in "${cpids[@]}"; do wait "$p" 2>/dev/null || true; done
t "SIGKILL: every client got an end (no hang)" true
echo "# t=${SECONDS}s: clients done"
start_proxy
t "after restart: the audit chain verifies" "$ADMIN" verify "$T/audit.jsonl"
t "after restart: a start config record" eq "$(tail -1 "$T/audit.jsonl" | jq -r .reason)" start
t "after restart: serving" alive_and_serving
t "after restart: the chain still verifies" "$ADMIN" verify "$T/audit.jsonl"
KILL_EGRESS=$(kmodels egress | wc -l)
echo "# SIGKILL: $arrived requests reached the upstream, $KILL_EGRESS egress records, 100 clients"

echo "# t=${SECONDS}s"
# ================= audit disk full =================
command -v unshare >/dev/null && command -v nsenter >/dev/null || skip "unshare/nsenter missing"
kill "$PROXY_PID"
wait "$PROXY_PID" 2>/dev/null || true
mkdir -p "$T/afs"
sed -i "s|\"audit_log\":\"$T/audit.jsonl\"|\"audit_log\":\"$T/afs/audit.jsonl\"|" "$T/proxy.json"
TEST_OPENAI_KEY=$OPENAI_KEY TEST_ANTH_KEY=$ANTH_KEY unshare -m --propagation private \
        sh -c "mount -t tmpfs -o size=128k,mode=0755 qclaw-test '$T/afs' && exec '$PROXY' --config '$T/proxy.json'" \
        >"$T/proxy.out" 2>"$T/proxy.err" &
PROXY_PID=$!
PIDS+=($PROXY_PID)
wait_for 10 curl -fs "$PROXY_URL/healthz" -o /dev/null || { cat "$T/proxy.err"; exit 1; }
ns() { nsenter -t "$PROXY_PID" -m -- "$@"; }
t "audit log on the small tmpfs" eq "$(ns findmnt -no FSTYPE "$T/afs")" tmpfs
t "host mount table untouched" eval "! findmnt '$T/afs' >/dev/null"
t "disk full: serving before" alive_and_serving
t "disk full: ready before" eq "$(curl -s -o /dev/null -w '%{http_code}' "$PROXY_URL/readyz")" 200
ns sh -c "cat /dev/zero >'$T/afs/fill' 2>/dev/null" || true
t "disk full: no space left" eq "$(ns df --output=avail "$T/afs" | tail -1 | tr -d ' ')" 0
t "disk full: /readyz 503 (no audit record can be written), /healthz still 200" \
        eq "$(curl -s -o /dev/null -w '%{http_code}' "$PROXY_URL/readyz")/$(curl -s -o /dev/null -w '%{http_code}' "$PROXY_URL/healthz")" 503/200
# The log's last page may still have room: requests pass (and are logged) until a record no
# longer fits; from then on every request is refused.
passed=0 code=200
for _ in $(seq 40); do
        up=$(stats "$M") e=$(ns grep -c '"event":"egress"' "$T/afs/audit.jsonl" || true)
        code=$(curl -s -o "$T/b" -w '%{http_code}' -H "$A" "$PROXY_URL/v1/chat/completions" -d "$(chat gpt-4o 'fill')")
        [ "$code" = 200 ] || break
        passed=$((passed + 1))
        t "disk nearly full: a request that passed has its egress record" eq \
                "$(ns grep -c '"event":"egress"' "$T/afs/audit.jsonl")" "$((e + 1))"
done
t "disk full: chat 503" eq "$code" 503
t "disk full: OpenAI shape" eq "$(jq -r '.error|type' "$T/b")" object
t "disk full: nothing reached the upstream" eq "$(stats "$M")" "$up"
b=$(pc "$PROXY_URL/v1/messages" -d "$(anth 'must not leave')")
t "disk full: /v1/messages 503 Anthropic shape" eq "$(status)/$(jq -r .type <<<"$b")" 503/error
b=$(pc -N "$PROXY_URL/v1/chat/completions" -d "$(chat claude-sonnet-4-5 'must not leave' ',"stream":true')")
t "disk full: translated stream 503" eq "$(status)" 503
b=$(pc "$PROXY_URL/v1/embeddings" -d '{"model":"gpt-4o","input":"must not leave"}')
t "disk full: embeddings 503" eq "$(status)" 503
t "disk full: still nothing reached the upstream" eq "$(stats "$M")" "$up"
t "disk full: proxy alive" kill -0 "$PROXY_PID"
t "disk full: the chain on disk still verifies" ns "$ADMIN" verify "$T/afs/audit.jsonl"
ns rm -f "$T/afs/fill"
t "space back: service resumes" alive_and_serving
t "space back: ready again" eq "$(curl -s -o /dev/null -w '%{http_code}' "$PROXY_URL/readyz")" 200
t "space back: reached the upstream" eq "$(stats "$M")" "$((up + 1))"
t "space back: the audit chain verifies" ns "$ADMIN" verify "$T/afs/audit.jsonl"
echo "# disk full: $passed request(s) fitted in the log's last page, then 503"

echo "# faults injected: upstream hang x3, slow, garbage x4, 529 x2, 429 x2, 500 x3, reset x3, refused, upstream SIGKILL (6 streams), stalled reader, slowloris, slow body, mid-body, mid-wait, 50 vanishing, proxy SIGKILL (100 streams), audit disk full (4 requests)"
done_testing
