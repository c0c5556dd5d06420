#!/usr/bin/env bash
# qclaw-proxy API with curl against mock-llm: chat (stream and not) to an OpenAI-type and an
# Anthropic provider (translated both ways), /v1/messages native and reverse-translated, tool
# calls, /v1/models filtering, every denial status, key injection, upstream failures, and the
# audit chain afterwards (one egress per request that left, none for denials, no secrets).
set -euo pipefail
. "$(dirname "$0")/test-proxy-lib.sh"

start_mock oa --require-key "$OPENAI_KEY"
OA=$MOCK_URL
start_mock an --require-key "$ANTH_KEY"
AN=$MOCK_URL
# coder may use the provider's web search, and no other provider-side tool
mkdir -p "$T/profiles"
cat >"$T/profiles/coder.json" <<'EOP'
{"qclaw_profile":1,"name":"coder","description":"test","models":["oa/*","an/*"],
 "provider_tools":["web_search"],
 "limits":{"requests_per_minute":10000,"max_request_bytes":65536},"sandbox":{"network":"proxy"}}
EOP
write_config "$OA" "$AN"
start_proxy

expected_egress=0
sent() { expected_egress=$((expected_egress + 1)); }

# --- OpenAI provider, chat ---
b=$(pc "$PROXY_URL/v1/chat/completions" -d "$(chat gpt-4o 'hello there')"); sent
t "chat openai: 200" eq "$(status)" 200
t "chat openai: echo content" eq "$(jq -r .choices[0].message.content <<<"$b")" "echo: hello there"
t "chat openai: usage passed" eq "$(jq -r '.usage.total_tokens > 0' <<<"$b")" true
t "chat openai: x-request-id" contains "$(header x-request-id)" "r-"
last=$(curl -s "$OA/_mock/last")
t "real key injected upstream" eq "$(jq -r .headers.authorization <<<"$last")" "Bearer $OPENAI_KEY"
t "agent token never forwarded" lacks "$last" "$TOKEN"

b=$(pc "$PROXY_URL/v1/chat/completions" -H "x-api-key: agent-key-123" -H "Cookie: a=b" \
        -d "$(chat oa/gpt-4o 'prefixed')"); sent
t "provider/model prefix routes" eq "$(jq -r .choices[0].message.content <<<"$b")" "echo: prefixed"
last=$(curl -s "$OA/_mock/last")
t "model prefix stripped upstream" eq "$(jq -r .body.model <<<"$last")" "gpt-4o"
t "agent x-api-key/cookie dropped" eq "$(jq -r '[.headers["x-api-key"], .headers.cookie] | map(select(. != null)) | length' <<<"$last")" 0

b=$(pc -N "$PROXY_URL/v1/chat/completions" -d "$(chat gpt-4o 'stream me please' ',"stream":true')"); sent
t "stream openai: 200" eq "$(status)" 200
t "stream openai: event-stream" contains "$(header content-type)" "text/event-stream"
t "stream openai: content" eq "$(grep '^data: {' <<<"$b" | sed 's/^data: //' | jq -rj '.choices[0].delta.content // empty')" "echo: stream me please"
t "stream openai: [DONE]" contains "$b" "data: [DONE]"
t "stream openai: injected usage chunk stripped" eq "$(grep -c '"choices":\[\]' <<<"$b" || true)" 0
b=$(pc -N "$PROXY_URL/v1/chat/completions" -d "$(chat gpt-4o 'usage' ',"stream":true,"stream_options":{"include_usage":true}')"); sent
t "stream openai: usage chunk when asked" eq "$(grep '"choices":\[\]' <<<"$b" | sed 's/^data: //' | jq -r '.usage.total_tokens > 0')" true
# A coding agent's context is big (here ~50 KiB, under the profile's 64 KiB): the proxy adds stream_options.include_usage to it
# (spliced, not reparsed) and the upstream gets the agent's messages byte for byte.
python3 -c 'import json,sys; json.dump({"model":"gpt-4o","stream":True,"messages":[{"role":"user" if i % 2 == 0 else "assistant","content":"ctx \u00e9\u2028 line %d; " % i * 5} for i in range(300)] + [{"role":"user","content":"big one"}]}, open(sys.argv[1],"w"))' "$T/big.json"
b=$(pc -N "$PROXY_URL/v1/chat/completions" --data-binary @"$T/big.json"); sent
t "big stream: 200" eq "$(status)" 200
t "big stream: content" eq "$(grep '^data: {' <<<"$b" | sed 's/^data: //' | jq -rj '.choices[0].delta.content // empty')" "echo: big one"
t "big stream: injected usage chunk stripped" eq "$(grep -c '"choices":\[\]' <<<"$b" || true)" 0
curl -s "$OA/_mock/last" >"$T/last.json"
t "big stream: include_usage asked upstream" eq "$(jq -r .body.stream_options.include_usage "$T/last.json")" true
t "big stream: messages forwarded intact" eq "$(jq -c .body.messages "$T/last.json" | sha256sum)" "$(jq -c .messages "$T/big.json" | sha256sum)"
b=$(pc "$PROXY_URL/v1/chat/completions" -d '{"model":"gpt-4o","stream":true,"messages":[],"stream":false}')
t "duplicate stream key: 400" eq "$(status)" 400
b=$(pc "$PROXY_URL/v1/chat/completions" -d '{"model":"gpt-4o","stream_options":{"include_usage":true,"include_usage":false},"messages":[]}')
t "duplicate key in stream_options: 400" eq "$(status)" 400
b=$(pc "$PROXY_URL/v1/chat/completions" -d '{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"a","content":"b"}]}')
t "duplicate key in a body to translate: 400" eq "$(status)" 400

# --- Anthropic provider through /v1/chat/completions (translated) ---
b=$(pc "$PROXY_URL/v1/chat/completions" -d "$(chat claude-sonnet-4-5 'hi claude')"); sent
t "chat->anthropic: 200" eq "$(status)" 200
t "chat->anthropic: content" eq "$(jq -r .choices[0].message.content <<<"$b")" "echo: hi claude"
t "chat->anthropic: object" eq "$(jq -r .object <<<"$b")" "chat.completion"
t "chat->anthropic: usage" eq "$(jq -r '.usage.prompt_tokens > 0 and .usage.completion_tokens > 0' <<<"$b")" true
last=$(curl -s "$AN/_mock/last")
t "anthropic: x-api-key injected" eq "$(jq -r '.headers["x-api-key"]' <<<"$last")" "$ANTH_KEY"
t "anthropic: anthropic-version set" eq "$(jq -r '.headers["anthropic-version"]' <<<"$last")" "2023-06-01"
t "anthropic: no Authorization upstream" eq "$(jq -r '.headers.authorization // "none"' <<<"$last")" none
t "anthropic: translated request has max_tokens" eq "$(jq -r '.body.max_tokens > 0' <<<"$last")" true

b=$(pc -N "$PROXY_URL/v1/chat/completions" -d "$(chat claude-sonnet-4-5 'stream claude' ',"stream":true,"stream_options":{"include_usage":true}')"); sent
t "stream chat->anthropic: content" eq "$(grep '^data: {' <<<"$b" | sed 's/^data: //' | jq -rj '.choices[0].delta.content // empty')" "echo: stream claude"
t "stream chat->anthropic: finish stop" contains "$b" '"finish_reason":"stop"'
t "stream chat->anthropic: usage chunk" eq "$(grep '"choices":\[\]' <<<"$b" | sed 's/^data: //' | jq -r '.usage.completion_tokens > 0')" true
t "stream chat->anthropic: [DONE]" contains "$b" "data: [DONE]"

# tool calls through the translation
b=$(pc "$PROXY_URL/v1/chat/completions" -d "$(chat claude-sonnet-4-5 'call_tool:get_weather {"city":"Paris"}' ',"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]')"); sent
t "tool call (translated): finish_reason" eq "$(jq -r .choices[0].finish_reason <<<"$b")" tool_calls
t "tool call (translated): name" eq "$(jq -r .choices[0].message.tool_calls[0].function.name <<<"$b")" get_weather
t "tool call (translated): arguments" eq "$(jq -r '.choices[0].message.tool_calls[0].function.arguments | fromjson | .city' <<<"$b")" Paris
last=$(curl -s "$AN/_mock/last")
t "tool definition translated to input_schema" eq "$(jq -r '.body.tools[0].input_schema.type' <<<"$last")" object
b=$(pc -N "$PROXY_URL/v1/chat/completions" -d "$(chat claude-sonnet-4-5 'call_tool:get_weather {"city":"Oslo"}' ',"stream":true')"); sent
args=$(grep '^data: {' <<<"$b" | sed 's/^data: //' | jq -rj '.choices[0].delta.tool_calls[0].function.arguments // empty')
t "stream tool call (translated): arguments" eq "$(jq -r .city <<<"$args")" Oslo

# --- /v1/messages native and reverse ---
b=$(pc "$PROXY_URL/v1/messages" -H 'anthropic-version: 2023-06-01' -H 'anthropic-beta: tools-2024' \
        -d '{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"native"}]}'); sent
t "messages native: 200" eq "$(status)" 200
t "messages native: content" eq "$(jq -r .content[0].text <<<"$b")" "echo: native"
t "messages native: request-id header" contains "$(header request-id)" "r-"
last=$(curl -s "$AN/_mock/last")
t "messages native: anthropic-beta forwarded" eq "$(jq -r '.headers["anthropic-beta"]' <<<"$last")" tools-2024
b=$(pc -N "$PROXY_URL/v1/messages" -d '{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"native stream"}]}'); sent
t "messages native stream: events" contains "$b" "event: message_stop"
t "messages native stream: text" eq "$(grep '^data: ' <<<"$b" | sed 's/^data: //' | jq -rj 'select(.type=="content_block_delta") | .delta.text')" "echo: native stream"
b=$(pc "$PROXY_URL/v1/messages" -d '{"model":"gpt-4o","max_tokens":64,"system":"be brief","messages":[{"role":"user","content":"reverse"}]}'); sent
t "messages->openai: type message" eq "$(jq -r .type <<<"$b")" message
t "messages->openai: content" eq "$(jq -r .content[0].text <<<"$b")" "echo: reverse"
t "messages->openai: usage" eq "$(jq -r '.usage.output_tokens > 0' <<<"$b")" true
last=$(curl -s "$OA/_mock/last")
t "messages->openai: system became a message" eq "$(jq -r '.body.messages[0].role' <<<"$last")" system
b=$(pc -N "$PROXY_URL/v1/messages" -d '{"model":"gpt-4o","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"call_tool:lookup {\"q\":\"x\"}"}]}'); sent
t "messages->openai stream: tool_use block" contains "$b" '"type":"tool_use"'
t "messages->openai stream: stop_reason tool_use" contains "$b" '"stop_reason":"tool_use"'

# --- passthrough endpoints ---
b=$(pc "$PROXY_URL/v1/embeddings" -d '{"model":"text-embedding-3-small","input":"abc"}'); sent
t "embeddings passthrough" eq "$(jq -r .object <<<"$b")" list
b=$(pc "$PROXY_URL/v1/completions" -d '{"model":"gpt-4o","prompt":"say"}'); sent
t "completions passthrough" eq "$(status)" 200
b=$(pc "$PROXY_URL/v1/responses" -d '{"model":"gpt-4o","input":"resp"}'); sent
t "responses passthrough" eq "$(status)" 200
b=$(pc "$PROXY_URL/v1/embeddings" -d '{"model":"claude-sonnet-4-5","input":"abc"}')
t "embeddings to anthropic provider: 400" eq "$(status)" 400

# --- /v1/models ---
b=$(pc "$PROXY_URL/v1/models")
t "models: list" eq "$(jq -r .object <<<"$b")" list
b=$(curl -s -H "Authorization: Bearer $TOKEN2" "$PROXY_URL/v1/models")
t "models: small profile sees only gpt-4o-mini" eq "$(jq -c '[.data[].id]' <<<"$b")" '["gpt-4o-mini"]'

# --- denials ---
b=$(curl -sS -o "$T/body" -w '%{http_code}' "$PROXY_URL/v1/chat/completions" -d "$(chat gpt-4o x)")
t "no token: 401" eq "$b" 401
t "no token: OpenAI error shape" eq "$(jq -r .error.code "$T/body")" invalid_api_key
b=$(curl -sS -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer wrong-token-123456789" "$PROXY_URL/v1/chat/completions" -d "$(chat gpt-4o x)")
t "wrong token: 401" eq "$b" 401
b=$(curl -sS -o "$T/body" -w '%{http_code}' -H "x-api-key: wrong-token-123456789" "$PROXY_URL/v1/messages" -d '{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[]}')
t "wrong token on /v1/messages: Anthropic shape" eq "$b/$(jq -r .type "$T/body")" 401/error
b=$(pc "$PROXY_URL/v1/chat/completions" -d "$(chat forbidden-model x)")
t "model outside profile: 403" eq "$(status)" 403
t "403: x-should-retry false" eq "$(header x-should-retry)" false
t "403: permission_error" eq "$(jq -r .error.type <<<"$b")" permission_error
b=$(curl -sS -o "$T/body" -D "$T/headers" -w '%{http_code}' -H "Authorization: Bearer $TOKEN2" "$PROXY_URL/v1/chat/completions" -d "$(chat gpt-4o x)")
t "small profile, gpt-4o: 403" eq "$b" 403
b=$(pc "$PROXY_URL/v1/messages" -d '{"model":"forbidden-x","max_tokens":5,"messages":[{"role":"user","content":"x"}]}')
t "403 on /v1/messages: permission_error (Anthropic shape)" eq "$(status)/$(jq -r .error.type <<<"$b")" 403/permission_error
b=$(pc "$PROXY_URL/v1/chat/completions" -d "$(chat no-such-model x)")
t "unknown model: 404 model_not_found" eq "$(status)/$(jq -r .error.code <<<"$b")" 404/model_not_found
head -c 70000 /dev/zero | tr '\0' 'a' >"$T/big"
b=$(pc "$PROXY_URL/v1/chat/completions" --data-binary @"$T/big")
t "too large (Content-Length): 413" eq "$(status)" 413
b=$(pc "$PROXY_URL/v1/chat/completions" -H 'Transfer-Encoding: chunked' --data-binary @"$T/big")
t "too large (chunked): 413" eq "$(status)" 413
b=$(pc "$PROXY_URL/v1/chat/completions" -d 'not json')
t "bad JSON: 400" eq "$(status)" 400
b=$(pc "$PROXY_URL/v1/nope" -d '{}')
t "unknown endpoint: 404" eq "$(status)" 404

# --- provider-side tools: the provider reaching a third party for the agent ---
stats() { curl -s "$1/_mock/stats" | jq .requests; }
up_an=$(stats "$AN"); up_oa=$(stats "$OA")
msg() { printf '{"model":"claude-sonnet-4-5","max_tokens":20,"messages":[{"role":"user","content":"hi"}]%s}' "$1"; }
b=$(pc "$PROXY_URL/v1/messages" -d "$(msg ',"tools":[{"type":"web_fetch_20250910","name":"web_fetch"}]')")
t "web_fetch tool on /v1/messages: 403 permission_error (Anthropic shape)" \
        eq "$(status)/$(jq -r .type <<<"$b")/$(jq -r .error.type <<<"$b")" 403/error/permission_error
t "web_fetch: x-should-retry false" eq "$(header x-should-retry)" false
t "web_fetch: the message names the tool and the profile" \
        contains "$(jq -r .error.message <<<"$b")" "tool \`web_fetch\` is not allowed for profile coder"
b=$(pc "$PROXY_URL/v1/messages" -d "$(msg ',"mcp_servers":[{"type":"url","url":"https://attacker.example/mcp","name":"x"}]')")
t "mcp_servers on /v1/messages: 403" eq "$(status)" 403
b=$(pc "$PROXY_URL/v1/responses" -d '{"model":"gpt-4o","input":"hi","tools":[{"type":"mcp","server_label":"x","server_url":"https://attacker.example/mcp"}]}')
t "mcp tool on /v1/responses: 403 tool_not_allowed (OpenAI shape)" \
        eq "$(status)/$(jq -r .error.code <<<"$b")" 403/tool_not_allowed
b=$(curl -sS -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN2" "$PROXY_URL/v1/chat/completions" \
        -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}],"web_search_options":{}}')
t "web_search_options for a profile without web_search: 403" eq "$b/$(jq -r .error.code "$T/body")" 403/tool_not_allowed
b=$(pc "$PROXY_URL/v1/messages" -d "$(msg ',"tools":[{"type":"function","type":"web_fetch_20250910","name":"f"}]')")
t "a tool with two \"type\" members: 400" eq "$(status)" 400
t "provider-side tools refused: nothing reached either upstream" eq "$(stats "$AN")/$(stats "$OA")" "$up_an/$up_oa"
t "provider-side tools refused: deny records say why" \
        eq "$(grep -c '"event":"deny".*"reason":"tool_not_allowed"' "$T/audit.jsonl")" 4
b=$(pc "$PROXY_URL/v1/messages" -d "$(msg ',"tools":[{"type":"web_search_20250305","name":"web_search","max_uses":1}]')"); sent
t "web_search tool for a profile that allows it: 200" eq "$(status)" 200
t "web_search tool: forwarded as sent" contains "$(curl -s "$AN/_mock/last")" "web_search_20250305"
b=$(pc "$PROXY_URL/v1/messages" -d "$(msg ',"tools":[{"name":"get_weather","input_schema":{"type":"object"}}]')"); sent
t "a client tool is no provider-side tool: 200" eq "$(status)" 200

# --- upstream failures ---
b=$(pc "$PROXY_URL/v1/chat/completions" -d "$(chat gpt-4o 'fail:500')"); sent
t "upstream 500: 500 in OpenAI shape" eq "$(status)/$(jq -r '.error|type' <<<"$b")" 500/object
b=$(pc "$PROXY_URL/v1/chat/completions" -d "$(chat gpt-4o 'fail:429')"); sent
t "upstream 429: 429" eq "$(status)" 429
b=$(pc "$PROXY_URL/v1/chat/completions" -d "$(chat gpt-4o 'fail:reset')"); sent
t "upstream reset: 502" eq "$(status)" 502
b=$(pc "$PROXY_URL/v1/chat/completions" -d "$(chat gpt-4o 'fail:401')"); sent
t "upstream 401: 502" eq "$(status)" 502
t "upstream 401: upstream text absent" lacks "$b" "Incorrect API key"
b=$(pc "$PROXY_URL/v1/messages" -d '{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"fail:401"}]}'); sent
t "upstream 401 on /v1/messages: 502 Anthropic shape" eq "$(status)/$(jq -r .type <<<"$b")" 502/error
b=$(pc "$PROXY_URL/v1/chat/completions" -d "$(chat gpt-4o 'fail:garbage')"); sent
t "upstream garbage: 502" eq "$(status)" 502
b=$(pc -N "$PROXY_URL/v1/chat/completions" -d "$(chat claude-sonnet-4-5 'fail:reset' ',"stream":true')"); sent
t "stream reset mid-stream: well-formed error event" contains "$b" '"error":{'
t "stream reset mid-stream: terminated" contains "$b" "data: [DONE]"
b=$(pc -N "$PROXY_URL/v1/chat/completions" -d "$(chat gpt-4o 'fail:reset' ',"stream":true')"); sent
t "passthrough stream reset: error event" contains "$b" '"error":{'
b=$(pc -N "$PROXY_URL/v1/messages" -d '{"model":"claude-sonnet-4-5","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"fail:reset"}]}'); sent
t "native messages stream reset: event: error" contains "$b" "event: error"

# --- audit ---
t "egress records: one per request that left" eq "$(count_events egress)" "$expected_egress"
t "egress_done records match" eq "$(count_events egress_done)" "$expected_egress"
t "deny records written, one per refusal" eq "$(count_events deny)" 20
t "config record at start" eq "$(count_events config)" 1
log=$(cat "$T/audit.jsonl")
t "audit: no client token" lacks "$log" "$TOKEN"
t "audit: no OpenAI key" lacks "$log" "$OPENAI_KEY"
t "audit: no Anthropic key" lacks "$log" "$ANTH_KEY"
t "audit: no body" lacks "$log" "hello there"
t "audit: no Authorization" lacks "$(tr A-Z a-z <<<"$log")" "authorization"
t "proxy stderr: no secrets" lacks "$(cat "$T/proxy.err")" "$OPENAI_KEY"
if [ -x "$ADMIN" ]; then
        t "qclaw-admin verify passes" "$ADMIN" verify "$T/audit.jsonl"
else
        t "qclaw-admin built" false
fi

# --- official SDK clients (tests/clients) ---
if [ -d "$S/tests/clients/node_modules/openai" ] && [ -d "$S/tests/clients/node_modules/@anthropic-ai/sdk" ]; then
        if PROXY_URL=$PROXY_URL TOKEN=$TOKEN node "$S/tests/clients/sdk-openai.mjs" >"$T/sdk1" 2>&1; then
                t "openai SDK client" true
        else
                cat "$T/sdk1"; t "openai SDK client" false
        fi
        if PROXY_URL=$PROXY_URL TOKEN=$TOKEN node "$S/tests/clients/sdk-anthropic.mjs" >"$T/sdk2" 2>&1; then
                t "anthropic SDK client" true
        else
                cat "$T/sdk2"; t "anthropic SDK client" false
        fi
else
        echo "# SDK clients not installed (./dev deps); skipping the node part"
        [ "${QCLAW_NO_SKIP:-0}" = 1 ] && t "SDK clients installed" false
fi

done_testing
