#!/usr/bin/env bash
# examples/mock-llm: both APIs streaming and not, tool calls, the other OpenAI endpoints,
# /_mock/last, --require-key, every fail: mode, limits and a clean SIGTERM. Loopback only.
set -euo pipefail
# skip, t, eq, the temp dir $T and the cleanup of $PIDS: the shared integration-test helpers.
. "$(dirname "$0")/test-proxy-lib.sh"
BIN=$MOCK

# start NAME ARGS...: run mock-llm (logging, unlike start_mock) on an ephemeral port; sets URL to
# its base URL and LAST_PID.
start() {
        local name=$1
        shift
        "$BIN" --listen 127.0.0.1:0 "$@" >"$T/$name.out" 2>"$T/$name.err" &
        PIDS+=($!)
        LAST_PID=$!
        for _ in $(seq 100); do
                if grep -qs '^listening on ' "$T/$name.out"; then
                        URL="http://$(sed -n 's/^listening on //p' "$T/$name.out")"
                        return 0
                fi
                sleep 0.05
        done
        echo "mock-llm $name did not start" >&2
        cat "$T/$name.err" >&2
        exit 1
}

# SSE helpers: the JSON payloads of "data:" lines (without [DONE]), and the event names.
sse_data() { sed -n 's/^data: //p' "$1" | grep -v '^\[DONE\]$' | tr -d '\r'; }
sse_events() { sed -n 's/^event: //p' "$1" | tr -d '\r' | paste -sd, -; }

post() { # post PATH JSON [curl args...] -> body on stdout
        local path=$1 body=$2
        shift 2
        curl -sS -H 'content-type: application/json' "$@" --data-binary "$body" "$URL$path"
}
status() { # status PATH JSON [curl args...] -> HTTP status
        local path=$1 body=$2
        shift 2
        curl -sS -o "$T/status.body" -D "$T/status.head" -w '%{http_code}' \
                -H 'content-type: application/json' "$@" --data-binary "$body" "$URL$path"
}
chat() { # chat USER_TEXT [extra JSON fields]
        local x=${2:-'{}'}
        jq -cn --arg u "$1" --argjson x "$x" \
                '{model:"gpt-4o",messages:[{role:"system",content:"be nice"},{role:"user",content:$u}]} + $x'
}
anth() {
        local x=${2:-'{}'}
        jq -cn --arg u "$1" --argjson x "$x" \
                '{model:"claude-sonnet-4-5",max_tokens:64,system:"be nice",messages:[{role:"user",content:[{type:"text",text:$u}]}]} + $x'
}

start main --slow-ms 400
MAIN_PID=$LAST_PID

# ---- OpenAI chat, non-stream ----
post /v1/chat/completions "$(chat hi)" -D "$T/h" >"$T/c.json"
t "chat: object" eq "$(jq -r .object "$T/c.json")" chat.completion
t "chat: echo" eq "$(jq -r '.choices[0].message.content' "$T/c.json")" "echo: hi"
t "chat: role" eq "$(jq -r '.choices[0].message.role' "$T/c.json")" assistant
t "chat: finish_reason" eq "$(jq -r '.choices[0].finish_reason' "$T/c.json")" stop
t "chat: usage (3 prompt words, 2 reply words)" \
        eq "$(jq -c '[.usage.prompt_tokens,.usage.completion_tokens,.usage.total_tokens]' "$T/c.json")" "[3,2,5]"
t "chat: x-request-id header" grep -qi '^x-request-id: req_mock_' "$T/h"
t "chat: json content type" grep -qi '^content-type: application/json' "$T/h"

# ---- OpenAI chat, stream with usage ----
post /v1/chat/completions "$(chat hi '{"stream":true,"stream_options":{"include_usage":true}}')" \
        -N -D "$T/h" >"$T/s.txt"
sse_data "$T/s.txt" >"$T/s.jsonl"
t "chat stream: event-stream content type" grep -qi '^content-type: text/event-stream' "$T/h"
t "chat stream: ends with [DONE]" eq "$(grep -v '^$' "$T/s.txt" | tail -n1 | tr -d '\r')" "data: [DONE]"
t "chat stream: every chunk is chat.completion.chunk" \
        eq "$(jq -s 'all(.object == "chat.completion.chunk")' "$T/s.jsonl")" true
t "chat stream: first delta has the role" eq "$(jq -rs '.[0].choices[0].delta.role' "$T/s.jsonl")" assistant
t "chat stream: content reassembled" \
        eq "$(jq -rs '[.[].choices[0].delta.content // empty] | join("")' "$T/s.jsonl")" "echo: hi"
t "chat stream: 4 content deltas by default" \
        eq "$(jq -s '[.[].choices[0].delta.content // empty | select(. != "")] | length' "$T/s.jsonl")" 4
t "chat stream: finish_reason stop once" \
        eq "$(jq -s '[.[].choices[0].finish_reason // empty] | join(",")' "$T/s.jsonl")" '"stop"'
t "chat stream: usage chunk last with choices []" \
        eq "$(jq -cs '.[-1] | [.choices, .usage.prompt_tokens, .usage.completion_tokens, .usage.total_tokens]' "$T/s.jsonl")" '[[],3,2,5]'
t "chat stream: other chunks carry usage null" \
        eq "$(jq -s '.[:-1] | all(has("usage") and .usage == null)' "$T/s.jsonl")" true
post /v1/chat/completions "$(chat hi '{"stream":true}')" -N >"$T/s2.txt"
t "chat stream: no usage chunk without include_usage" \
        eq "$(sse_data "$T/s2.txt" | jq -s 'all(has("usage") | not) and all(.choices | length == 1)')" true

# ---- OpenAI tool calls ----
args='{"city":"Paris","days":[1,2],"deep":{"x":null}}'
post /v1/chat/completions "$(chat "call_tool:get_weather $args")" >"$T/tc.json"
t "chat tool: finish_reason tool_calls" eq "$(jq -r '.choices[0].finish_reason' "$T/tc.json")" tool_calls
t "chat tool: id and name" \
        eq "$(jq -r '.choices[0].message.tool_calls[0] | "\(.id) \(.type) \(.function.name)"' "$T/tc.json")" \
        "call_mock_1 function get_weather"
t "chat tool: arguments equal the JSON sent" \
        eq "$(jq -c '.choices[0].message.tool_calls[0].function.arguments | fromjson' "$T/tc.json")" "$(jq -c . <<<"$args")"
t "chat tool: content null" eq "$(jq -c '.choices[0].message.content' "$T/tc.json")" null
post /v1/chat/completions "$(chat "call_tool:get_weather $args" '{"stream":true}')" -N >"$T/ts.txt"
sse_data "$T/ts.txt" >"$T/ts.jsonl"
t "chat tool stream: first tool delta has id and name" \
        eq "$(jq -rs '[.[].choices[0].delta.tool_calls // empty | .[0]] | .[0] | "\(.index) \(.id) \(.function.name)"' "$T/ts.jsonl")" \
        "0 call_mock_1 get_weather"
t "chat tool stream: arguments in >= 2 pieces" \
        test "$(jq -s '[.[].choices[0].delta.tool_calls // empty | .[0].function.arguments | select(. != "")] | length' "$T/ts.jsonl")" -ge 2
t "chat tool stream: arguments reassembled equal the JSON sent" \
        eq "$(jq -rs '[.[].choices[0].delta.tool_calls // empty | .[0].function.arguments] | join("")' "$T/ts.jsonl" | jq -c .)" \
        "$(jq -c . <<<"$args")"
t "chat tool stream: finish_reason tool_calls" \
        eq "$(jq -rs '[.[].choices[0].finish_reason // empty] | join(",")' "$T/ts.jsonl")" tool_calls
t "chat tool: invalid JSON is a 400" eq "$(status /v1/chat/completions "$(chat 'call_tool:f {nope')")" 400
loop=$(jq -cn '{model:"m",messages:[{role:"user",content:"call_tool:f {}"},
        {role:"assistant",content:null,tool_calls:[{id:"call_mock_1",type:"function",function:{name:"f",arguments:"{}"}}]},
        {role:"tool",tool_call_id:"call_mock_1",content:"sunny"}]}')
t "chat tool: a tool result is echoed (no endless tool loop)" \
        eq "$(post /v1/chat/completions "$loop" | jq -r '.choices[0].message.content')" "echo: sunny"

# ---- Anthropic messages, non-stream ----
post /v1/messages "$(anth hi)" -H 'anthropic-version: 2023-06-01' -D "$T/h" >"$T/a.json"
t "messages: type message" eq "$(jq -r '.type + " " + .role' "$T/a.json")" "message assistant"
t "messages: echo" eq "$(jq -r '.content[0].type + " " + .content[0].text' "$T/a.json")" "text echo: hi"
t "messages: stop_reason end_turn" eq "$(jq -r .stop_reason "$T/a.json")" end_turn
t "messages: usage" eq "$(jq -c '[.usage.input_tokens,.usage.output_tokens]' "$T/a.json")" "[3,2]"
t "messages: request-id header" grep -qi '^request-id: req_mock_' "$T/h"
t "messages: max_tokens required (400)" \
        eq "$(status /v1/messages '{"model":"c","messages":[{"role":"user","content":"hi"}]}')" 400
t "messages: 400 in Anthropic shape" \
        eq "$(jq -r '.type + " " + .error.type' "$T/status.body")" "error invalid_request_error"

# ---- Anthropic messages, stream ----
post /v1/messages "$(anth hi '{"stream":true}')" -N >"$T/as.txt"
t "messages stream: event order" eq "$(sse_events "$T/as.txt")" \
        "message_start,content_block_start,ping,content_block_delta,content_block_delta,content_block_delta,content_block_delta,content_block_stop,message_delta,message_stop"
t "messages stream: data type matches event name" \
        eq "$(sse_data "$T/as.txt" | jq -r .type | paste -sd, -)" "$(sse_events "$T/as.txt")"
t "messages stream: no [DONE]" eq "$(grep -c '\[DONE\]' "$T/as.txt" || true)" 0
sse_data "$T/as.txt" >"$T/as.jsonl"
t "messages stream: message_start" \
        eq "$(jq -rs '.[0].message | "\(.id|startswith("msg_")) \(.role) \(.content|length) \(.usage.input_tokens)"' "$T/as.jsonl")" \
        "true assistant 0 3"
t "messages stream: text reassembled" \
        eq "$(jq -rs '[.[] | select(.type=="content_block_delta") | .delta.text] | join("")' "$T/as.jsonl")" "echo: hi"
t "messages stream: message_delta" \
        eq "$(jq -cs '.[] | select(.type=="message_delta") | [.delta.stop_reason, .usage.output_tokens]' "$T/as.jsonl")" '["end_turn",2]'

post /v1/messages "$(anth "call_tool:lookup $args")" >"$T/at.json"
t "messages tool: tool_use block" \
        eq "$(jq -r '.content[0] | "\(.type) \(.id) \(.name)"' "$T/at.json")" "tool_use toolu_mock_1 lookup"
t "messages tool: input equals the JSON sent" eq "$(jq -c '.content[0].input' "$T/at.json")" "$(jq -c . <<<"$args")"
t "messages tool: stop_reason tool_use" eq "$(jq -r .stop_reason "$T/at.json")" tool_use
post /v1/messages "$(anth "call_tool:lookup $args" '{"stream":true}')" -N >"$T/ats.txt"
sse_data "$T/ats.txt" >"$T/ats.jsonl"
t "messages tool stream: tool_use block start" \
        eq "$(jq -cs '.[] | select(.type=="content_block_start") | .content_block' "$T/ats.jsonl")" \
        '{"type":"tool_use","id":"toolu_mock_1","name":"lookup","input":{}}'
t "messages tool stream: input_json_delta in >= 2 pieces" \
        test "$(jq -s '[.[] | select(.delta.type=="input_json_delta")] | length' "$T/ats.jsonl")" -ge 2
t "messages tool stream: partial_json reassembled equals the JSON sent" \
        eq "$(jq -rs '[.[] | select(.delta.type=="input_json_delta") | .delta.partial_json] | join("")' "$T/ats.jsonl" | jq -c .)" \
        "$(jq -c . <<<"$args")"
t "messages tool stream: stop_reason tool_use" \
        eq "$(jq -rs '.[] | select(.type=="message_delta") | .delta.stop_reason' "$T/ats.jsonl")" tool_use
aloop=$(jq -cn '{model:"c",max_tokens:9,messages:[{role:"user",content:"call_tool:f {}"},
        {role:"assistant",content:[{type:"tool_use",id:"toolu_mock_1",name:"f",input:{}}]},
        {role:"user",content:[{type:"tool_result",tool_use_id:"toolu_mock_1",content:"sunny"}]}]}')
t "messages tool: a tool_result is echoed" eq "$(post /v1/messages "$aloop" | jq -r '.content[0].text')" "echo: sunny"
t "messages: count_tokens" \
        eq "$(post /v1/messages/count_tokens "$(anth 'one two three')" | jq -c .)" '{"input_tokens":5}'

# ---- models, responses, completions, embeddings ----
t "models: OpenAI list" \
        eq "$(curl -sS "$URL/v1/models" | jq -r '.object + " " + (.data | map(select(.id == "gpt-4o" and .object == "model")) | length | tostring)')" "list 1"
t "models: Anthropic shape with anthropic-version" \
        eq "$(curl -sS -H 'anthropic-version: 2023-06-01' "$URL/v1/models" | jq -r '.data[0].type + " " + (.has_more|tostring)')" "model false"
t "models: retrieve one" eq "$(curl -sS "$URL/v1/models/claude-opus-4-1" | jq -r .id)" claude-opus-4-1
t "models: unknown is 404" eq "$(curl -sS -o /dev/null -w '%{http_code}' "$URL/v1/models/nope")" 404

post /v1/responses '{"model":"gpt-4o","instructions":"short","input":"hello there"}' >"$T/r.json"
t "responses: object" eq "$(jq -r '.object + " " + .status' "$T/r.json")" "response completed"
t "responses: output_text" \
        eq "$(jq -r '.output[0].content[0] | .type + " " + .text' "$T/r.json")" "output_text echo: hello there"
t "responses: usage" eq "$(jq -c '[.usage.input_tokens,.usage.output_tokens,.usage.total_tokens]' "$T/r.json")" "[3,3,6]"
post /v1/responses '{"model":"gpt-4o","stream":true,"input":[{"role":"user","content":[{"type":"input_text","text":"hello"}]}]}' -N >"$T/rs.txt"
ev=$(sse_events "$T/rs.txt")
t "responses stream: created first, completed last" eq "${ev%%,*} ${ev##*,}" "response.created response.completed"
t "responses stream: 4 text deltas" eq "$(sse_events "$T/rs.txt" | tr , '\n' | grep -c '^response.output_text.delta$')" 4
t "responses stream: deltas reassembled" \
        eq "$(sse_data "$T/rs.txt" | jq -rs '[.[] | select(.type=="response.output_text.delta") | .delta] | join("")')" "echo: hello"
t "responses stream: sequence numbers in order" \
        eq "$(sse_data "$T/rs.txt" | jq -s '[.[].sequence_number] == [range(length)]')" true
post /v1/responses "$(jq -cn --arg u "call_tool:f $args" '{model:"m",input:$u}')" >"$T/rt.json"
t "responses: function_call" \
        eq "$(jq -c '.output[0] | [.type, .call_id, .name, (.arguments|fromjson)]' "$T/rt.json")" \
        "$(jq -c '["function_call","call_mock_1","f",.]' <<<"$args")"

t "completions: echo the prompt" \
        eq "$(post /v1/completions '{"model":"m","prompt":"say this"}' | jq -r '.object + " " + .choices[0].text')" \
        "text_completion echo: say this"

emb() { post /v1/embeddings "$1" | jq -c '[.data[].embedding]'; }
e1=$(emb '{"model":"text-embedding-3-small","input":"hello"}')
e2=$(emb '{"model":"text-embedding-3-small","input":"hello"}')
e3=$(emb '{"model":"text-embedding-3-small","input":"hullo"}')
t "embeddings: 8 floats in [-1,1)" eq "$(jq -c '.[0] | [length, all(. >= -1 and . < 1)]' <<<"$e1")" "[8,true]"
t "embeddings: same input, same vector" eq "$e1" "$e2"
t "embeddings: different input, different vector" test "$e1" != "$e3"
t "embeddings: array input" \
        eq "$(emb '{"model":"e","input":["hello","hullo"]}')" "$(jq -cn --argjson a "$e1" --argjson b "$e3" '[$a[0], $b[0]]')"
b64=$(post /v1/embeddings '{"model":"e","input":"hello","encoding_format":"base64"}' | jq -r '.data[0].embedding')
t "embeddings: base64 is 8 float32" eq "$(base64 -d <<<"$b64" | wc -c)" 32

# ---- /_mock/last and /_mock/stats ----
before=$(curl -sS "$URL/_mock/stats" | jq .requests)
post /v1/chat/completions "$(chat hi)" -H 'Authorization: Bearer sk-proof-123' -H 'X-Api-Key: sk-ant-proof' \
        -H 'anthropic-beta: tools' >/dev/null
curl -sS "$URL/_mock/last" >"$T/last.json"
t "last: method and path" eq "$(jq -r '.method + " " + .path' "$T/last.json")" "POST /v1/chat/completions"
t "last: authorization seen" eq "$(jq -r '.headers.authorization' "$T/last.json")" "Bearer sk-proof-123"
t "last: x-api-key lowercased" eq "$(jq -r '.headers["x-api-key"]' "$T/last.json")" "sk-ant-proof"
t "last: body parsed" eq "$(jq -r '.body.messages[1].content' "$T/last.json")" hi
t "stats: counted one request" eq "$(curl -sS "$URL/_mock/stats" | jq .requests)" $((before + 1))
curl -sS -H 'content-type: text/plain' --data-binary 'plain text' "$URL/v1/other" >/dev/null
t "last: a non-JSON body is a string" eq "$(curl -sS "$URL/_mock/last" | jq -c .body)" '"plain text"'

# ---- errors and limits ----
t "unknown path: 404 in OpenAI shape" eq "$(status /v1/nothing '{}')" 404
t "unknown path: error object" eq "$(jq -r .error.type "$T/status.body")" invalid_request_error
t "bad JSON: 400" eq "$(status /v1/chat/completions '{"model":')" 400
t "chat without model: 400" eq "$(status /v1/chat/completions '{"messages":[{"role":"user","content":"x"}]}')" 400
head -c $((17 * 1024 * 1024)) /dev/zero | tr '\0' a >"$T/big"
t "body over 16 MiB: 413" \
        eq "$(curl -sS -o /dev/null -w '%{http_code}' --data-binary @"$T/big" "$URL/v1/chat/completions")" 413
deep=$(printf '%0.s{"a":' $(seq 2040))1$(printf '%0.s}' $(seq 2040))
t "deeply nested body: 400" eq "$(status /v1/chat/completions "{\"model\":\"m\",\"messages\":[$deep]}")" 400
t "deeply nested body: /_mock/last still answers" \
        eq "$(curl -sS -o /dev/null -w '%{http_code}' "$URL/_mock/last")" 200
t "deeply nested body: server survives" eq "$(post /v1/chat/completions "$(chat hi)" | jq -r '.choices[0].message.content')" "echo: hi"
utf='héllo wörld ✓ 日本'
post /v1/chat/completions "$(chat "$utf" '{"stream":true}')" -N >"$T/u.txt"
t "stream splits at UTF-8 boundaries" \
        eq "$(sse_data "$T/u.txt" | jq -rs '[.[].choices[0].delta.content // empty] | join("")')" "echo: $utf"

# ---- fail: modes ----
t "fail:500 (OpenAI)" eq "$(status /v1/chat/completions "$(chat fail:500)")" 500
t "fail:500 error type" eq "$(jq -r .error.type "$T/status.body")" server_error
t "fail:500 (Anthropic)" eq "$(status /v1/messages "$(anth fail:500)")" 500
t "fail:500 Anthropic api_error" eq "$(jq -r .error.type "$T/status.body")" api_error
t "fail:429 (OpenAI)" eq "$(status /v1/chat/completions "$(chat fail:429)")" 429
t "fail:429 retry-after: 1" grep -qi '^retry-after: 1' "$T/status.head"
t "fail:429 code" eq "$(jq -r .error.code "$T/status.body")" rate_limit_exceeded
t "fail:429 (Anthropic)" eq "$(status /v1/messages "$(anth fail:429)")" 429
t "fail:429 Anthropic rate_limit_error" eq "$(jq -r .error.type "$T/status.body")" rate_limit_error
t "fail:429 Anthropic retry-after" grep -qi '^retry-after: 1' "$T/status.head"
t "fail:401 (OpenAI)" eq "$(status /v1/chat/completions "$(chat fail:401)")" 401
t "fail:401 invalid_api_key" eq "$(jq -r .error.code "$T/status.body")" invalid_api_key
t "fail:401 (Anthropic)" eq "$(status /v1/messages "$(anth fail:401)")" 401
t "fail:401 authentication_error" eq "$(jq -r .error.type "$T/status.body")" authentication_error
t "fail:garbage: 200" eq "$(status /v1/chat/completions "$(chat fail:garbage)")" 200
t "fail:garbage: body is not JSON" bash -c "! jq . '$T/status.body' >/dev/null 2>&1"
post /v1/messages "$(anth fail:garbage '{"stream":true}')" -N >"$T/g.txt"
t "fail:garbage stream: broken SSE data" bash -c "! sed -n 's/^data: //p' '$T/g.txt' | jq . >/dev/null 2>&1"

rc=0
post /v1/chat/completions "$(chat fail:reset '{"stream":true}')" -N >"$T/reset.txt" 2>/dev/null || rc=$?
t "fail:reset stream: curl transfer error (18/56)" test "$rc" = 18 -o "$rc" = 56
t "fail:reset stream: first chunk arrived" grep -q '"role":"assistant"' "$T/reset.txt"
t "fail:reset stream: no [DONE]" eq "$(grep -c DONE "$T/reset.txt" || true)" 0
rc=0
post /v1/messages "$(anth fail:reset '{"stream":true}')" -N >"$T/reset2.txt" 2>/dev/null || rc=$?
t "fail:reset Anthropic stream: curl transfer error" test "$rc" = 18 -o "$rc" = 56
t "fail:reset Anthropic stream: no message_stop" eq "$(grep -c message_stop "$T/reset2.txt" || true)" 0
rc=0
post /v1/chat/completions "$(chat fail:reset)" >/dev/null 2>&1 || rc=$?
t "fail:reset non-stream: empty reply (52) or reset (56)" test "$rc" = 52 -o "$rc" = 56

ttfb=$(post /v1/chat/completions "$(chat fail:slow)" -o "$T/slow.json" -w '%{time_starttransfer}')
t "fail:slow: answered after --slow-ms" awk -v t="$ttfb" 'BEGIN { exit !(t >= 0.35) }'
t "fail:slow: then a normal reply" eq "$(jq -r '.choices[0].message.content' "$T/slow.json")" "echo: fail:slow"
rc=0
post /v1/messages "$(anth fail:hang)" -m 1 >/dev/null 2>&1 || rc=$?
t "fail:hang: no answer (curl timeout 28)" eq "$rc" 28
t "fail:hang: server still serves" eq "$(post /v1/messages "$(anth hi)" | jq -r '.content[0].text')" "echo: hi"

# ---- --chunks, --models, --require-key ----
start chunks --chunks 7 --models a,b --require-key K-123
post /v1/chat/completions "$(chat 'hello there friend' '{"stream":true}')" -N -H 'Authorization: Bearer K-123' >"$T/c7.txt"
t "--chunks 7: seven content deltas" \
        eq "$(sse_data "$T/c7.txt" | jq -s '[.[].choices[0].delta.content // empty | select(. != "")] | length')" 7
post /v1/messages "$(anth 'hello there friend' '{"stream":true}')" -N -H 'x-api-key: K-123' >"$T/a7.txt"
t "--chunks 7: seven Anthropic text deltas" \
        eq "$(sse_data "$T/a7.txt" | jq -s '[.[] | select(.type=="content_block_delta")] | length')" 7
t "--models: exactly the list" \
        eq "$(curl -sS -H 'Authorization: Bearer K-123' "$URL/v1/models" | jq -c '[.data[].id]')" '["a","b"]'
t "--require-key: no key is 401" eq "$(status /v1/chat/completions "$(chat hi)")" 401
t "--require-key: OpenAI 401 shape" eq "$(jq -r .error.code "$T/status.body")" invalid_api_key
t "--require-key: wrong bearer is 401" eq "$(status /v1/chat/completions "$(chat hi)" -H 'Authorization: Bearer K-12')" 401
t "--require-key: right bearer is 200" eq "$(status /v1/chat/completions "$(chat hi)" -H 'Authorization: Bearer K-123')" 200
t "--require-key: x-api-key is not an OpenAI key" eq "$(status /v1/chat/completions "$(chat hi)" -H 'x-api-key: K-123')" 401
t "--require-key: wrong x-api-key is 401" eq "$(status /v1/messages "$(anth hi)" -H 'x-api-key: nope')" 401
t "--require-key: Anthropic 401 shape" eq "$(jq -r .error.type "$T/status.body")" authentication_error
t "--require-key: /_mock/last records the key it refused" \
        eq "$(curl -sS "$URL/_mock/last" | jq -r '.headers["x-api-key"]')" nope
t "--require-key: right x-api-key is 200" eq "$(status /v1/messages "$(anth hi)" -H 'x-api-key: K-123')" 200

# ---- SIGTERM with a stream in flight: clean exit 0 ----
start slow --delay-ms 300 --chunks 20
post /v1/chat/completions "$(chat 'a long reply for a slow stream' '{"stream":true}')" -N >/dev/null 2>&1 &
CURL_PID=$!
sleep 0.5
kill -TERM "$LAST_PID"
rc=0
timeout 10 tail --pid="$LAST_PID" -f /dev/null || rc=$?
t "SIGTERM: exits within 10 s with a stream open" eq "$rc" 0
rc=0
wait "$LAST_PID" || rc=$?
t "SIGTERM: exit status 0" eq "$rc" 0
wait "$CURL_PID" 2>/dev/null || true
kill -0 "$MAIN_PID"

echo "$N_OK passed, $N_FAIL failed"
[ "$N_FAIL" -eq 0 ]
