#!/usr/bin/env bash
# qclaw-proxy per-profile limits: requests per minute (429 + retry-after), concurrent requests
# (429 + retry-after), tokens per day from upstream usage, streamed or not (429
# insufficient_quota, x-should-retry: false). Denied requests never reach the upstream.
set -euo pipefail
. "$(dirname "$0")/test-proxy-lib.sh"

start_mock m --slow-ms 3000
mkdir -p "$T/profiles"
profile rpm '["oa/*"]' '{"requests_per_minute":3}'
profile conc '["oa/*"]' '{"max_concurrent_requests":1}'
profile budget '["oa/*","an/*"]' '{"tokens_per_day":8}'
EXTRA_CLIENTS=""
client rpm rpm >/dev/null
client conc conc >/dev/null
client budget budget >/dev/null
TOK_RPM=$(cat "$T/tokens/rpm"); TOK_CONC=$(cat "$T/tokens/conc"); TOK_BUD=$(cat "$T/tokens/budget")
write_config "$MOCK_URL" "$MOCK_URL"
start_proxy

req() { # req TOKEN BODY [curl args]: status code; headers in $T/h, body in $T/b
        local tok=$1 body=$2
        shift 2
        curl -sS -o "$T/b" -D "$T/h" -w '%{http_code}' -H "Authorization: Bearer $tok" \
                "$PROXY_URL/v1/chat/completions" -d "$body" "$@" || true
}
hdr() { tr -d '\r' <"$T/h" | awk -v n="$1" 'BEGIN{FS=": "} tolower($1)==n {print $2}'; }

# requests per minute
codes=""
for i in 1 2 3 4; do codes="$codes $(req "$TOK_RPM" "$(chat gpt-4o "r$i")")"; done
t "rpm 3: first three pass, fourth 429" eq "$codes" " 200 200 200 429"
t "rpm 429: retry-after" eq "$(( $(hdr retry-after) >= 1 ))" 1
t "rpm 429: rate_limit_exceeded" eq "$(jq -r .error.code "$T/b")" rate_limit_exceeded
upstream_before=$(curl -s "$MOCK_URL/_mock/stats" | jq .requests)

# concurrency: one slow request holds the only slot
curl -sS -o "$T/slow" -H "Authorization: Bearer $TOK_CONC" "$PROXY_URL/v1/chat/completions" \
        -d "$(chat gpt-4o 'fail:slow')" &
slow=$!
wait_for 10 grep -q '"client":"conc"' "$T/audit.jsonl"
t "concurrency 1: second request 429" eq "$(req "$TOK_CONC" "$(chat gpt-4o c2)")" 429
t "concurrency 429: retry-after" eq "$(( $(hdr retry-after) >= 1 ))" 1
wait $slow
t "concurrency: slow request completed" eq "$(jq -r .choices[0].message.content "$T/slow")" "echo: fail:slow"
t "concurrency: slot freed afterwards" eq "$(req "$TOK_CONC" "$(chat gpt-4o c3)")" 200

# tokens per day: mock usage is ~1 token per word in, 2+ out; budget 8
t "budget: first (stream, translated) passes" eq "$(req "$TOK_BUD" "$(chat claude-sonnet-4-5 'one two three' ',"stream":true')" -N)" 200
t "budget: second (stream, passthrough) passes" eq "$(req "$TOK_BUD" "$(chat gpt-4o 'four five six' ',"stream":true')" -N)" 200
tokens=$(grep '"client":"budget"' "$T/audit.jsonl" | grep egress_done | jq -s 'map(.tokens_in + .tokens_out) | add')
t "budget: streamed usage counted in egress_done" eq "$(( tokens >= 8 ))" 1
t "budget: exhausted -> 429" eq "$(req "$TOK_BUD" "$(chat gpt-4o x)")" 429
t "budget 429: insufficient_quota" eq "$(jq -r .error.type "$T/b")" insufficient_quota
t "budget 429: x-should-retry false" eq "$(hdr x-should-retry)" false
t "budget: other profiles unaffected" eq "$(req "$TOKEN" "$(chat gpt-4o x)")" 200

upstream_after=$(curl -s "$MOCK_URL/_mock/stats" | jq .requests)
# between the two stats reads: slow, c3, budget 1+2, coder = 5 upstream requests
t "denied requests never reached the upstream" eq "$((upstream_after - upstream_before))" 5
t "deny records: rpm, concurrency, budget" eq "$(grep -c '"event":"deny"' "$T/audit.jsonl")" 3
t "deny reasons" eq "$(grep '"event":"deny"' "$T/audit.jsonl" | jq -r .reason | sort | tr '\n' ' ')" "budget concurrency rate_limited "
if [ -x "$ADMIN" ]; then t "audit chain verifies" "$ADMIN" verify "$T/audit.jsonl"; fi
done_testing
