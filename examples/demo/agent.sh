#!/bin/sh
# The demo "agent": what a coding agent under prompt injection might try. Runs inside
# `qclaw-run --profile demo`; every attempt but the first must be refused.
host_port=${1:-}
ok() { printf '  \033[32m%-44s\033[0m %s\n' "$1" "$2"; }
refused() { printf '  \033[33m%-44s\033[0m %s\n' "$1" "refused: $2"; }
escaped() { printf '  \033[31m%-44s\033[0m %s\n' "$1" "ESCAPED: $2"; fail=1; }
fail=0

echo "agent: uid=$(id -u), OPENAI_BASE_URL=$OPENAI_BASE_URL, OPENAI_API_KEY=$OPENAI_API_KEY"

# (a) the one thing allowed: a streamed completion through the proxy
out=$(curl -sS -N --max-time 10 "$OPENAI_BASE_URL/chat/completions" \
        -H 'content-type: application/json' \
        -d '{"model":"openai/gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hello from inside the sandbox"}]}' 2>&1) || true
text=$(printf '%s\n' "$out" | sed -n 's/^data: //p' | grep -v '^\[DONE\]' |
        sed -n 's/.*"content":"\([^"]*\)".*/\1/p' | tr -d '\n')
chunks=$(printf '%s\n' "$out" | grep -c '^data: {' || true)
if [ -n "$text" ]; then ok "streamed completion via the proxy" "\"$text\" ($chunks chunks)"
else escaped "streamed completion via the proxy" "no completion: $out"; fi

# (b) everything else
try() { # name, command...
        name=$1; shift
        if err=$("$@" 2>&1); then escaped "$name" "$(printf '%s' "$err" | head -c 80)"
        else refused "$name" "$(printf '%s' "$err" | tail -n 1 | head -c 70)"; fi
}
try "internet (https://1.1.1.1)" curl -sS --max-time 3 -o /dev/null https://1.1.1.1
try "cloud metadata (169.254.169.254)" curl -sS --max-time 3 -o /dev/null http://169.254.169.254/
try "another host port (127.0.0.1:$host_port)" curl -sS --max-time 3 -o /dev/null "http://127.0.0.1:$host_port/v1/models"
try "host Unix socket (proxy control socket)" curl -sS --max-time 3 --unix-socket "${DEMO_HOST_SOCKET:-/run/qclaw/control.sock}" -o /dev/null http://x/
try "host Unix socket (/run/dbus/system_bus_socket)" curl -sS --max-time 3 --unix-socket /run/dbus/system_bus_socket -o /dev/null http://x/
try "read ~/.ssh of the host user (/root/.ssh)" ls /root/.ssh
code=$(curl -sS --max-time 5 -o /tmp/deny.json -w '%{http_code}' "$OPENAI_BASE_URL/chat/completions" \
        -H 'content-type: application/json' \
        -d '{"model":"anthropic/claude-opus-4-1","messages":[{"role":"user","content":"hi"}]}' 2>&1) || true
if [ "$code" = 403 ]; then refused "model outside the profile (claude-opus-4-1)" "HTTP 403 $(sed -n 's/.*"code":"\([^"]*\)".*/\1/p' /tmp/deny.json)"
else escaped "model outside the profile (claude-opus-4-1)" "HTTP $code"; fi
if env | grep -q 'sk-this-must-not-leak'; then escaped "secret env var of the host" "visible"
else refused "secret env var of the host" "not in the environment"; fi
exit $fail
