# Helpers sourced by tests/integration/test-run-*.sh (qclaw-run). Not a test by itself.
# Provides: $Q (qclaw-run), $T (temp dir, removed on exit), $AGENT_USER, run_q, start_proxy,
# write_profile, check/fail/skip.
set -euo pipefail
: "${QCLAW_BUILD_DIR:?}" "${QCLAW_SRC_DIR:?}"
Q="$QCLAW_BUILD_DIR/supervisor/qclaw-run"
[ -x "$Q" ] || { echo "qclaw-run not built"; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: integration tests run as root"; exit 77; }
export QCLAW_PROFILES_DIR="$QCLAW_SRC_DIR/profiles"
AGENT_USER=nobody
AGENT_UID=$(id -u $AGENT_USER)
T=$(mktemp -d /tmp/qclaw-run-test.XXXXXX)
chmod 755 "$T"
_pids=()
_cleanup() {
        for p in "${_pids[@]}"; do kill "$p" 2>/dev/null || true; done
        for p in "${_pids[@]}"; do wait "$p" 2>/dev/null || true; done
        rm -rf "$T"
}
trap _cleanup EXIT
WS="$T/ws"
mkdir -p "$WS"
chown "$AGENT_USER" "$WS"
failures=0
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; failures=$((failures + 1)); }
not() { ! "$@"; }
check() { # description, command...: the command must succeed
        local d=$1; shift
        if "$@"; then ok "$d"; else bad "$d"; fi
}
skip_or_fail() {
        if [ "${QCLAW_NO_SKIP:-0}" = 1 ]; then echo "not ok - $* (skip not allowed)"; exit 1; fi
        echo "SKIP: $*"; exit 77
}
finish() {
        echo "# $failures failure(s)"
        [ "$failures" -eq 0 ]
}
# run_q PROFILE CMD...: qclaw-run as root dropping to $AGENT_USER, audit log in $T.
run_q() {
        local prof=$1; shift
        "$Q" --profile "$prof" --user "$AGENT_USER" --workspace "$WS" \
                --audit-log "$T/audit.jsonl" --proxy-socket "${PROXY_SOCK:-$T/no-proxy.sock}" \
                -- "$@"
}
# exec_q PROFILE CMD...: as run_q, replacing the calling (sub)shell: for "exec_q ... &; kill $!".
exec_q() {
        local prof=$1; shift
        exec "$Q" --profile "$prof" --user "$AGENT_USER" --workspace "$WS" \
                --audit-log "$T/audit.jsonl" --proxy-socket "${PROXY_SOCK:-$T/no-proxy.sock}" \
                -- "$@"
}
# status_of CMD...: prints the exit status.
status_of() { local rc=0; "$@" >/dev/null 2>&1 || rc=$?; echo "$rc"; }
# write_profile NAME JSON-SANDBOX-BODY: a profile file in $T.
write_profile() {
        cat >"$T/$1.json" <<JSON
{"qclaw_profile": 1, "name": "$1", "models": [], "sandbox": $2}
JSON
        echo "$T/$1.json"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# start_proxy: mock-llm + the real qclaw-proxy with a control socket in $T; sets PROXY_SOCK.
start_proxy() {
        local mock="$QCLAW_BUILD_DIR/examples/mock-llm/mock-llm" proxy="$QCLAW_BUILD_DIR/proxy/qclaw-proxy"
        [ -x "$mock" ] && [ -x "$proxy" ] || skip_or_fail "qclaw-proxy / mock-llm not built"
        "$mock" --listen 127.0.0.1:0 --quiet >"$T/mock.out" 2>"$T/mock.err" &
        _pids+=($!)
        for _ in $(seq 100); do grep -q '^listening on' "$T/mock.out" && break; sleep 0.05; done
        local addr; addr=$(sed -n 's/^listening on //p' "$T/mock.out")
        mkdir -p "$T/run"
        cat >"$T/proxy.json" <<JSON
{ "qclaw_proxy": 1, "listen": [], "control_socket": "$T/run/control.sock",
  "control_users": ["$AGENT_USER"], "audit_log": "$T/audit.jsonl",
  "profiles_dir": "$QCLAW_PROFILES_DIR",
  "providers": {
    "openai": { "type": "openai", "base_url": "http://$addr/v1", "api_key": "\${TEST_UPSTREAM_KEY}", "models": ["gpt-4o-mini", "gpt-4o"] },
    "anthropic": { "type": "anthropic", "base_url": "http://$addr", "api_key": "\${TEST_UPSTREAM_KEY}", "models": ["claude-sonnet-4-5"] } } }
JSON
        TEST_UPSTREAM_KEY=sk-upstream-test "$proxy" --config "$T/proxy.json" 2>"$T/proxy.err" &
        _pids+=($!)
        for _ in $(seq 100); do [ -S "$T/run/control.sock" ] && break; sleep 0.05; done
        [ -S "$T/run/control.sock" ] || { cat "$T/proxy.err"; echo "qclaw-proxy did not start"; exit 1; }
        chmod 755 "$T/run"
        # The filesystem lets anyone connect; the proxy itself checks SO_PEERCRED (control_users).
        chmod 666 "$T/run/control.sock"
        PROXY_SOCK="$T/run/control.sock"
}
