#!/usr/bin/env bash
# qclaw-proxy operations: --check, SIGHUP reload (good config applied atomically, bad config
# keeps the old one), keepalive comments on a silent stream, client disconnect cancels the
# upstream transfer (streaming, and non-streaming while it waits), SIGTERM drains an in-flight
# stream and exits 0.
set -euo pipefail
. "$(dirname "$0")/test-proxy-lib.sh"

# A slow streaming upstream: 200 chunks, 100 ms apart (20 s unless cancelled).
start_mock slow --chunks 200 --delay-ms 100
SLOW=$MOCK_URL
write_config "$SLOW" "$SLOW"
export TEST_OPENAI_KEY=$OPENAI_KEY TEST_ANTH_KEY=$ANTH_KEY
t "--check accepts the config" "$PROXY" --check --config "$T/proxy.json"
cp "$T/proxy.json" "$T/bad.json"
sed -i 's/"qclaw_proxy":1/"qclaw_proxy":1,"bogus":true/' "$T/bad.json"
t "--check refuses a bad config" eval "! '$PROXY' --check --config '$T/bad.json' >'$T/check.err' 2>&1"
t "--check names the problem" contains "$(cat "$T/check.err")" "bogus"
QCLAW_PROXY_KEEPALIVE_MS=1000 start_proxy

# --- reload ---
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN2" "$PROXY_URL/v1/chat/completions" -d "$(chat gpt-4o x)")
t "before reload: small may not use gpt-4o" eq "$code" 403
profile small '["oa/gpt-4o-mini","oa/gpt-4o"]'
kill -HUP "$PROXY_PID"
wait_for 10 grep -q '"reason":"reload"' "$T/audit.jsonl"
code=$(curl -s -o "$T/b" -w '%{http_code}' -H "Authorization: Bearer $TOKEN2" "$PROXY_URL/v1/chat/completions" -d "$(chat gpt-4o x)")
t "after reload: small may use gpt-4o" eq "$code" 200
t "reload wrote a config record" eq "$(count_events config)" 2
echo '{"qclaw_profile":1,"name":"small","models":[' >"$T/profiles/small.json"
kill -HUP "$PROXY_PID"
wait_for 10 grep -q "reload failed" "$T/proxy.err"
t "bad reload: error logged with the file" contains "$(cat "$T/proxy.err")" "small.json"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN2" "$PROXY_URL/v1/chat/completions" -d "$(chat gpt-4o x)")
t "bad reload: old config still in force" eq "$code" 200
t "bad reload: no config record" eq "$(count_events config)" 2
profile small '["oa/gpt-4o-mini"]'

# --- keepalive on a silent stream (the mock waits 2.5 s between chunks here) ---
start_mock silent --chunks 2 --delay-ms 2500
sed -i "s|\"base_url\":\"$SLOW/v1\",\"api_key\":\"\${TEST_OPENAI_KEY}\"|\"base_url\":\"$MOCK_URL/v1\",\"api_key\":\"\${TEST_OPENAI_KEY}\"|" "$T/proxy.json"
kill -HUP "$PROXY_PID"
wait_for 10 eval '[ "$(count_events config)" = 3 ]'
b=$(curl -sSN -H "Authorization: Bearer $TOKEN" "$PROXY_URL/v1/chat/completions" -d "$(chat gpt-4o 'a b' ',"stream":true')")
t "silent upstream: keepalive comment relayed" contains "$b" ": keepalive"
t "silent upstream: stream still completes" contains "$b" "data: [DONE]"

# --- keepalive before the upstream answers at all (slow first byte: 2.5 s, keepalive 1 s) ---
cp "$T/proxy.json" "$T/proxy.json.keep"
start_mock slowfirst --slow-ms 2500
sed -i "s|\"base_url\":\"[^\"]*/v1\",\"api_key\":\"\${TEST_OPENAI_KEY}\"|\"base_url\":\"$MOCK_URL/v1\",\"api_key\":\"\${TEST_OPENAI_KEY}\"|" "$T/proxy.json"
kill -HUP "$PROXY_PID"
wait_for 10 eval '[ "$(count_events config)" = 4 ]'
b=$(curl -sSN -D "$T/h" -H "Authorization: Bearer $TOKEN" "$PROXY_URL/v1/chat/completions" \
        -d "$(chat gpt-4o 'fail:slow' ',"stream":true')")
t "upstream silent before its headers: 200 event-stream" \
        eq "$(head -1 "$T/h" | tr -d '\r' | cut -d' ' -f2)/$(grep -ci '^content-type: text/event-stream' "$T/h")" 200/1
t "upstream silent before its headers: keepalive before the first event" \
        eq "$(grep -m1 -E '^(: keepalive|data:)' <<<"$b")" ": keepalive"
t "upstream silent before its headers: the answer follows, then [DONE]" \
        eq "$(grep '^data: {' <<<"$b" | sed 's/^data: //' | jq -rj '.choices[0].delta.content // empty')/$(grep -c '^data: \[DONE\]' <<<"$b")" "echo: fail:slow/1"
# ... and when that late answer is an error (a stand-in upstream: 2.5 s of silence, then 429)
EPORT=$(free_port)
python3 - "$EPORT" >"$T/late429.out" 2>&1 <<'PY' &
import http.server, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        time.sleep(2.5)
        body = b'{"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}'
        self.send_response(429)
        self.send_header("content-type", "application/json")
        self.send_header("retry-after", "7")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
PIDS+=($!)
wait_for 10 eval "curl -s -o /dev/null http://127.0.0.1:$EPORT/ ; [ \$? != 7 ]"
sed -i "s|\"base_url\":\"[^\"]*/v1\",\"api_key\":\"\${TEST_OPENAI_KEY}\"|\"base_url\":\"http://127.0.0.1:$EPORT/v1\",\"api_key\":\"\${TEST_OPENAI_KEY}\"|" "$T/proxy.json"
kill -HUP "$PROXY_PID"
wait_for 10 eval '[ "$(count_events config)" = 5 ]'
b=$(curl -sSN -H "Authorization: Bearer $TOKEN" "$PROXY_URL/v1/chat/completions" \
        -d "$(chat gpt-4o 'late error' ',"stream":true')")
t "late upstream 429 after keepalives: a keepalive came first" eq "$(grep -m1 -E '^(: keepalive|data:)' <<<"$b")" ": keepalive"
t "late upstream 429 after keepalives: an error event in OpenAI shape, then [DONE]" \
        eq "$(grep '^data: {' <<<"$b" | tail -1 | sed 's/^data: //' | jq -r '.error | type')/$(grep -c '^data: \[DONE\]' <<<"$b")" object/1
t "late upstream 429: egress_done records the upstream's status" \
        eq "$(grep '"event":"egress_done"' "$T/audit.jsonl" | tail -1 | jq -r '[.status, .finish_reason] | join(" ")')" "429 upstream_error"
cp "$T/proxy.json.keep" "$T/proxy.json"
kill -HUP "$PROXY_PID"
wait_for 10 eval '[ "$(count_events config)" = 6 ]'

# --- client disconnect cancels the upstream transfer (Anthropic provider still the slow mock) ---
SLOW_PORT=${SLOW##*:}
curl -sSN --max-time 1 -H "Authorization: Bearer $TOKEN" "$PROXY_URL/v1/chat/completions" \
        -d "$(chat claude-sonnet-4-5 'long story' ',"stream":true')" >"$T/cut" 2>/dev/null || true
t "disconnect: client got the first chunks" contains "$(cat "$T/cut")" "data: {"
cancelled() { grep '"event":"egress_done"' "$T/audit.jsonl" | grep -q '"finish_reason":"client_disconnect"'; }
t "disconnect: egress_done says client_disconnect" wait_for 15 cancelled
upstream_conns() { ss -Htn state established "( dport = :$SLOW_PORT )" | wc -l; }
no_conns() { [ "$(upstream_conns)" = 0 ]; }
t "disconnect: upstream connection closed" wait_for 10 no_conns
bd=$(grep client_disconnect "$T/audit.jsonl" | jq -r .bytes_down)
t "disconnect: upstream stopped early (bytes_down small)" eq "$(( bd < 20000 ))" 1

# --- client disconnect while a non-streaming request waits for its upstream (MHD does not watch a
# suspended connection: the proxy's own hang-up watch must cancel the transfer at once) ---
curl -sS --max-time 1 -H "Authorization: Bearer $TOKEN" "$PROXY_URL/v1/chat/completions" \
        -d "$(chat gpt-4o 'fail:hang')" >/dev/null 2>&1 || true
cancelled2() { [ "$(grep '"event":"egress_done"' "$T/audit.jsonl" | grep -c '"finish_reason":"client_disconnect"')" = 2 ]; }
t "disconnect while waiting: upstream cancelled, egress_done says client_disconnect" wait_for 5 cancelled2
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$PROXY_URL/v1/chat/completions" -d "$(chat gpt-4o x)")
t "disconnect while waiting: the proxy still serves" eq "$code" 200

# --- SIGTERM drains an in-flight stream (2 s: 20 chunks x 100 ms) ---
start_mock drain --chunks 20 --delay-ms 100
sed -i "s|\"base_url\":\"$SLOW\",|\"base_url\":\"$MOCK_URL\",|" "$T/proxy.json"
kill -HUP "$PROXY_PID"
wait_for 10 eval '[ "$(count_events config)" = 7 ]'
curl -sSN -H "Authorization: Bearer $TOKEN" "$PROXY_URL/v1/chat/completions" \
        -d "$(chat claude-sonnet-4-5 'drain me' ',"stream":true')" >"$T/drain" 2>&1 &
cl=$!
wait_for 10 grep -q 'drain me' "$T/drain" 2>/dev/null || wait_for 10 eval '[ "$(count_events egress)" -ge 5 ]'
kill -TERM "$PROXY_PID"
rc=0
wait "$PROXY_PID" || rc=$?
wait $cl || true
t "SIGTERM: proxy exits 0" eq "$rc" 0
t "SIGTERM: in-flight stream finished" contains "$(cat "$T/drain")" "data: [DONE]"
t "SIGTERM: stream not cut with an error" lacks "$(cat "$T/drain")" '"error"'
t "SIGTERM: listener closed" eval "! curl -s -o /dev/null --max-time 2 '$PROXY_URL/healthz'"
t "SIGTERM: control socket removed" test ! -e "$T/run/control.sock"
if [ -x "$ADMIN" ]; then t "audit chain verifies" "$ADMIN" verify "$T/audit.jsonl"; fi
t "one egress_done per egress" eq "$(count_events egress_done)" "$(count_events egress)"
done_testing
