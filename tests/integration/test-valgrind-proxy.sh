#!/usr/bin/env bash
# qclaw-proxy under valgrind (memcheck, --leak-check=full) for a streaming workload: passthrough
# and translated streams both ways, /v1/messages and /v1/responses streams, non-streamed calls,
# a client that disconnects mid-stream, upstream errors and resets mid-stream, denials, bad
# input, a SIGHUP reload and a session attached over the control socket; then SIGTERM. Asserts
# a clean exit, no memcheck errors and no definite or indirect leaks. Skips without valgrind
# (QCLAW_NO_SKIP=1: fails).
set -euo pipefail
. "$(dirname "$0")/test-proxy-lib.sh"
command -v valgrind >/dev/null || skip "valgrind missing"
# A sanitizer build cannot run under memcheck; there ASan's own leak checker does this job.
if grep -qa __asan_init "$PROXY"; then
        echo "SKIP: qclaw-proxy is built with ASan (memcheck and ASan cannot share a process)"
        exit 77
fi

start_mock m --chunks 8 --delay-ms 20
start_mock slow --chunks 200 --delay-ms 50
SLOW=$MOCK_URL
start_mock m2 --chunks 8 --delay-ms 20
write_config "$MOCK_URL" "$SLOW"
sed -i "s|\"other\":{\"type\":\"openai\",\"base_url\":\"$MOCK_URL/v1\"|\"other\":{\"type\":\"openai\",\"base_url\":\"$SLOW/v1\"|" "$T/proxy.json"
profile coder '["oa/*","an/*","other/*"]'

TEST_OPENAI_KEY=$OPENAI_KEY TEST_ANTH_KEY=$ANTH_KEY valgrind -q --leak-check=full \
        --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
        --error-exitcode=99 --track-origins=yes --log-file="$T/vg.log" \
        "$PROXY" --config "$T/proxy.json" >"$T/proxy.out" 2>"$T/proxy.err" &
PROXY_PID=$!
PIDS+=($PROXY_PID)
t "proxy starts under valgrind" wait_for 60 curl -fs -o /dev/null "$PROXY_URL/healthz"
A="Authorization: Bearer $TOKEN"
anth() { printf '{"model":"claude-sonnet-4-5","max_tokens":50,"messages":[{"role":"user","content":%s}]%s}' "$(jq -Rn --arg s "$1" '$s')" "${2:-}"; }
T0=$SECONDS

# streams, sequential and a few concurrent
for i in 1 2 3; do
        b=$(pc -N "$PROXY_URL/v1/chat/completions" -d "$(chat gpt-4o "pass $i" ',"stream":true,"stream_options":{"include_usage":true}')")
        t "passthrough stream $i" contains "$b" "data: [DONE]"
        b=$(pc -N "$PROXY_URL/v1/chat/completions" -d "$(chat claude-sonnet-4-5 "translated $i" ',"stream":true')")
        t "translated stream (chat -> anthropic) $i" contains "$b" "data: [DONE]"
        b=$(pc -N "$PROXY_URL/v1/messages" -d "$(anth "native $i" ',"stream":true')")
        t "/v1/messages stream $i" contains "$b" "message_stop"
done
b=$(pc -N "$PROXY_URL/v1/responses" -d '{"model":"gpt-4o","input":"resp","stream":true}')
t "/v1/responses stream" contains "$b" "response.completed"
for i in $(seq 8); do
        curl -sSN -H "$A" "$PROXY_URL/v1/chat/completions" -d "$(chat claude-sonnet-4-5 "c$i" ',"stream":true')" >"$T/c$i" &
done
wait_for 60 eval '[ "$(cat "$T"/c? 2>/dev/null | grep -c "data: \[DONE\]")" = 8 ]'
t "8 concurrent translated streams" eq "$(cat "$T"/c? | grep -c 'data: \[DONE\]')" 8
# non-streamed
b=$(pc "$PROXY_URL/v1/chat/completions" -d "$(chat claude-sonnet-4-5 'plain' ',"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]')")
t "translated non-stream" eq "$(jq -r '.choices[0].message.content' <<<"$b")" "echo: plain"
b=$(pc "$PROXY_URL/v1/messages" -d "$(anth 'call_tool:f {"a":1}')")
t "/v1/messages tool call" eq "$(jq -r '.content[0].type' <<<"$b")" tool_use
b=$(pc "$PROXY_URL/v1/embeddings" -d '{"model":"gpt-4o","input":["a","b"]}')
t "embeddings" eq "$(status)" 200
b=$(pc "$PROXY_URL/v1/models")
t "models" eq "$(status)" 200
# client disconnect mid-stream, passthrough and translated (the slow mock: 50 ms a character)
LONG=$(printf 'a long story %.0s' $(seq 12))
curl -sSN --max-time 3 -H "$A" "$PROXY_URL/v1/chat/completions" -d "$(chat other/forbidden-x "$LONG" ',"stream":true')" >/dev/null 2>&1 || true
curl -sSN --max-time 3 -H "$A" "$PROXY_URL/v1/chat/completions" -d "$(chat claude-sonnet-4-5 "$LONG" ',"stream":true')" >/dev/null 2>&1 || true
n_cut() { grep '"event":"egress_done"' "$T/audit.jsonl" | grep -c client_disconnect || true; }
t "client disconnects recorded" wait_for 30 eval '[ "$(n_cut)" -ge 2 ]'
# upstream errors and resets
b=$(pc -N "$PROXY_URL/v1/chat/completions" -d "$(chat claude-sonnet-4-5 'fail:reset' ',"stream":true')")
t "translated stream reset: error event" contains "$b" '"error":{'
b=$(pc -N "$PROXY_URL/v1/chat/completions" -d "$(chat gpt-4o 'fail:reset' ',"stream":true')")
t "passthrough stream reset: error event" contains "$b" '"error":{'
b=$(pc -N "$PROXY_URL/v1/messages" -d "$(anth 'fail:garbage' ',"stream":true')")
t "garbage /v1/messages stream: answered and ended" eq "$(status)/$(curl_rc)" 200/0
t "garbage /v1/messages stream: an error event" contains "$b" 'event: error'
b=$(pc "$PROXY_URL/v1/chat/completions" -d "$(chat claude-sonnet-4-5 'fail:500')")
t "upstream 500 translated" eq "$(status)" 500
b=$(pc "$PROXY_URL/v1/messages" -d "$(anth 'fail:429')")
t "upstream 429" eq "$(status)" 429
# denials and bad input
b=$(pc "$PROXY_URL/v1/chat/completions" -d 'not json')
t "bad JSON 400" eq "$(status)" 400
b=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN2" "$PROXY_URL/v1/chat/completions" -d "$(chat gpt-4o x)")
t "403 model not allowed" eq "$b" 403
b=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer nope" "$PROXY_URL/v1/chat/completions" -d "$(chat gpt-4o x)")
t "401 bad token" eq "$b" 401
head -c 70000 /dev/zero | tr '\0' a >"$T/big"
b=$(pc "$PROXY_URL/v1/chat/completions" --data-binary @"$T/big")
t "413" eq "$(status)" 413
b=$(pc "$PROXY_URL/v1/chat/completions" -H 'Transfer-Encoding: chunked' -H 'Content-Length: 5' -d "$(chat gpt-4o x)")
t "smuggling 400" eq "$(status)" 400
# reload: providers switch to another mock
sed -i "s|\"base_url\":\"$MOCK_URL/v1\",\"api_key\":\"\${TEST_OPENAI_KEY}\"|\"base_url\":\"$SLOW/v1\",\"api_key\":\"\${TEST_OPENAI_KEY}\"|" "$T/proxy.json"
kill -HUP "$PROXY_PID"
t "reload" wait_for 30 eval '[ "$(count_events config)" = 2 ]'
b=$(pc -N "$PROXY_URL/v1/chat/completions" -d "$(chat gpt-4o 'after reload' ',"stream":true')")
t "stream after reload" contains "$b" "data: [DONE]"
# a session over the control socket: attach, one request, detach
cat >"$T/attach.py" <<'PY'
import array, json, os, socket, sys, urllib.request
ctl = sys.argv[1]
c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
c.connect(ctl)
L = socket.socket()
L.bind(("127.0.0.1", 0))
L.listen(4)
msg = json.dumps({"op": "attach", "session": "s-valgrind", "profile": "small", "pid": os.getpid()}).encode()
c.sendmsg([msg], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [L.fileno()]))])
ok = json.loads(c.recv(65536))["ok"]
port = L.getsockname()[1]
L.close()
req = urllib.request.Request("http://127.0.0.1:%d/v1/chat/completions" % port, method="POST",
    data=json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "s"}]}).encode())
r = urllib.request.urlopen(req, timeout=60)
print(ok, r.status)
c.close()
PY
t "session attach and request" eq "$(python3 "$T/attach.py" "$T/run/control.sock")" "True 200"
echo "# workload took $((SECONDS - T0)) s under valgrind"

kill -TERM "$PROXY_PID"
rc=0
wait "$PROXY_PID" || rc=$?
t "proxy exits 0 under valgrind (99 = memcheck errors or leaks)" eq "$rc" 0
t "memcheck: no errors, no definite or indirect leaks" eq "$(grep -v '^==[0-9]*== *$' "$T/vg.log" | head -40)" ""
[ "$rc" = 0 ] || head -80 "$T/vg.log"
done_testing
