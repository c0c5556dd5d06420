# Shared helpers for tests/integration/test-proxy-*.sh (sourced, not a test by itself):
# start mock-llm and qclaw-proxy on ephemeral loopback ports in a temp dir, a client token file
# (0600), profiles, and small assertion helpers. Everything started here is stopped on exit.
set -euo pipefail

B=${QCLAW_BUILD_DIR:?QCLAW_BUILD_DIR not set}
S=${QCLAW_SRC_DIR:?QCLAW_SRC_DIR not set}
PROXY=$B/proxy/qclaw-proxy
MOCK=$B/examples/mock-llm/mock-llm
ADMIN=$B/rpc/qclaw-admin

skip() {
        echo "SKIP: $*"
        [ "${QCLAW_NO_SKIP:-0}" = 1 ] && exit 1
        exit 77
}
[ -x "$PROXY" ] || skip "qclaw-proxy not built"
[ -x "$MOCK" ] || skip "mock-llm not built"
for c in curl jq python3; do command -v $c >/dev/null || skip "$c missing"; done

T=$(mktemp -d /tmp/qclaw-proxy-test.XXXXXX)
chmod 755 "$T"
PIDS=()
cleanup() {
        for p in "${PIDS[@]}"; do
                kill "$p" 2>/dev/null || true
                wait "$p" 2>/dev/null || true
        done
        rm -rf "$T"
}
trap cleanup EXIT

N_OK=0
N_FAIL=0
t() { # t DESCRIPTION COMMAND...
        local d=$1
        shift
        if "$@"; then
                N_OK=$((N_OK + 1))
                echo "ok - $d"
        else
                N_FAIL=$((N_FAIL + 1))
                echo "not ok - $d"
        fi
}
eq() {
        [ "$1" == "$2" ] && return 0
        echo "  expected: $2" >&2
        echo "  got:      $1" >&2
        return 1
}
contains() {
        case "$1" in *"$2"*) return 0 ;; esac
        echo "  expected to contain: $2" >&2
        echo "  got: ${1:0:400}" >&2
        return 1
}
lacks() {
        case "$1" in *"$2"*) echo "  must not contain: $2" >&2; return 1 ;; esac
        return 0
}
done_testing() {
        echo "# $N_OK passed, $N_FAIL failed"
        [ "$N_FAIL" -eq 0 ]
}

free_port() {
        python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

# start_mock NAME ARGS...: sets MOCK_URL
start_mock() {
        local name=$1
        shift
        "$MOCK" --listen 127.0.0.1:0 --quiet "$@" >"$T/$name.out" 2>"$T/$name.err" &
        PIDS+=($!)
        for _ in $(seq 100); do
                if grep -qs '^listening on ' "$T/$name.out"; then
                        MOCK_URL="http://$(sed -n 's/^listening on //p' "$T/$name.out")"
                        return 0
                fi
                sleep 0.05
        done
        echo "mock-llm did not start" >&2
        cat "$T/$name.err" >&2
        exit 1
}

TOKEN=tok-coder-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
TOKEN2=tok-small-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
OPENAI_KEY=sk-real-openai-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
ANTH_KEY=sk-ant-real-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')

# profile NAME MODELS_JSON [LIMITS_JSON]
profile() {
        local limits=${3:-'{"requests_per_minute":10000,"max_request_bytes":65536}'}
        cat >"$T/profiles/$1.json" <<EOP
{"qclaw_profile":1,"name":"$1","description":"test","models":$2,"limits":$limits,
 "sandbox":{"network":"proxy"}}
EOP
}

# write_config OPENAI_URL ANTHROPIC_URL: proxy.json with two clients (coder, small)
write_config() {
        mkdir -p "$T/profiles" "$T/tokens" "$T/run"
        [ -f "$T/profiles/coder.json" ] || profile coder '["oa/*","an/*"]'
        [ -f "$T/profiles/small.json" ] || profile small '["oa/gpt-4o-mini"]'
        printf '%s\n' "$TOKEN" >"$T/tokens/coder"
        printf '%s\n' "$TOKEN2" >"$T/tokens/small"
        chmod 600 "$T/tokens/"*
        PROXY_PORT=${PROXY_PORT:-$(free_port)}
        PROXY_URL=http://127.0.0.1:$PROXY_PORT
        cat >"$T/proxy.json" <<EOC
{"qclaw_proxy":1,"listen":["127.0.0.1:$PROXY_PORT"],"control_socket":"$T/run/control.sock",
 "audit_log":"$T/audit.jsonl","profiles_dir":"$T/profiles","audit_fsync":"never",
 "clients":[{"name":"coder","token_file":"$T/tokens/coder","profile":"coder"},
            {"name":"small","token_file":"$T/tokens/small","profile":"small"}${EXTRA_CLIENTS:-}],
 "providers":{
   "oa":{"type":"openai","base_url":"$1/v1","api_key":"\${TEST_OPENAI_KEY}","models":["gpt-*","text-*"],"timeout_ms":${UPSTREAM_TIMEOUT_MS:-20000}},
   "an":{"type":"anthropic","base_url":"$2","api_key":"\${TEST_ANTH_KEY}","models":["claude-*"],"timeout_ms":${UPSTREAM_TIMEOUT_MS:-20000}},
   "other":{"type":"openai","base_url":"$1/v1","models":["forbidden-*"]}}}
EOC
}

start_proxy() {
        TEST_OPENAI_KEY=$OPENAI_KEY TEST_ANTH_KEY=$ANTH_KEY "$PROXY" --config "$T/proxy.json" \
                >"$T/proxy.out" 2>"$T/proxy.err" &
        PROXY_PID=$!
        PIDS+=($PROXY_PID)
        for _ in $(seq 100); do
                if curl -fsS "$PROXY_URL/healthz" >/dev/null 2>&1; then
                        return 0
                fi
                sleep 0.05
        done
        echo "qclaw-proxy did not start" >&2
        cat "$T/proxy.err" >&2
        exit 1
}

# pc ARGS...: curl the proxy as the coder client; prints body, status in $T/status, headers in
# $T/headers
pc() {
        local rc=0
        curl -sS -o "$T/body" -D "$T/headers" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
                -H 'Content-Type: application/json' "$@" >"$T/status" || rc=$?
        echo "$rc" >"$T/curl_rc"
        cat "$T/body"
}
status() { cat "$T/status"; }
curl_rc() { cat "$T/curl_rc"; } # the last pc's curl exit status (28: timed out)
header() { # header NAME: value of a response header (lowercase match)
        tr -d '\r' <"$T/headers" | awk -v n="$(echo "$1" | tr A-Z a-z)" \
                'BEGIN{FS=": "} tolower($1)==n {print substr($0, length($1)+3)}' | tail -1
}
chat() { # chat MODEL TEXT [extra json fields]
        printf '{"model":"%s","messages":[{"role":"user","content":%s}]%s}' "$1" \
                "$(jq -Rn --arg s "$2" '$s')" "${3:-}"
}
# client NAME PROFILE: an extra client with its own token file; prints the token. Use before
# write_config and pass the JSON via EXTRA_CLIENTS.
client() {
        mkdir -p "$T/tokens"
        local tok=tok-$1-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
        printf '%s\n' "$tok" >"$T/tokens/$1"
        chmod 600 "$T/tokens/$1"
        EXTRA_CLIENTS="${EXTRA_CLIENTS:-},{\"name\":\"$1\",\"token_file\":\"$T/tokens/$1\",\"profile\":\"$2\"}"
        echo "$tok"
}
wait_for() { # wait_for SECONDS COMMAND...: poll until COMMAND succeeds
        local end=$((SECONDS + $1))
        shift
        until "$@"; do
                [ $SECONDS -lt $end ] || return 1
                sleep 0.05
        done
}
count_events() { # count_events EVENT: records of that event in the audit log
        grep -c "\"event\":\"$1\"" "$T/audit.jsonl" || true
}
