#!/usr/bin/env bash
# ./dev demo: the main job, offline, in seconds. Starts examples/mock-llm and qclaw-proxy in a
# temporary state directory, runs examples/demo/agent.sh under `qclaw-run --profile demo`, then
# shows and verifies the audit trail the way dom0 does. Leaves nothing running or behind.
set -euo pipefail
build=${1:?usage: run-demo.sh BUILD_DIR}
top=$(cd "$(dirname "$0")/../.." && pwd)
bold=$(tput bold 2>/dev/null || true)
norm=$(tput sgr0 2>/dev/null || true)
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$norm"; }

if [ "$(id -u)" -ne 0 ]; then
        echo "demo: run as root (sudo ./dev demo): qclaw-run builds namespaces and cgroups" >&2
        exit 1
fi

state=$(mktemp -d /tmp/qclaw-demo.XXXXXX)
chmod 755 "$state"
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
        rm -rf "$state"
}
trap cleanup EXIT INT TERM

# The agent runs as an unprivileged user, never root: the sudo caller, else "nobody".
agent_user=${SUDO_USER:-nobody}

step "starting the mock LLM (examples/mock-llm: OpenAI + Anthropic compatible, offline)"
"$build/examples/mock-llm/mock-llm" --listen 127.0.0.1:0 --chunks 6 --quiet >"$state/mock.out" 2>"$state/mock.err" &
pids+=($!)
for _ in $(seq 100); do grep -q '^listening on' "$state/mock.out" 2>/dev/null && break; sleep 0.05; done
mock_addr=$(sed -n 's/^listening on //p' "$state/mock.out")
[ -n "$mock_addr" ] || { echo "demo: mock-llm did not start:"; cat "$state/mock.err"; exit 1; }
echo "mock-llm listening on $mock_addr (it stands in for api.openai.com and api.anthropic.com)"

step "starting qclaw-proxy with a demo config (keys injected by the proxy, never seen by the agent)"
mkdir -p "$state/run"
cat >"$state/proxy.json" <<JSON
{
  "qclaw_proxy": 1,
  "listen": [],
  "control_socket": "$state/run/control.sock",
  "audit_log": "$state/audit.jsonl",
  "profiles_dir": "$top/profiles",
  "providers": {
    "openai":    { "type": "openai",    "base_url": "http://$mock_addr/v1", "api_key": "\${DEMO_OPENAI_KEY}",    "models": ["gpt-4o", "gpt-4o-mini"] },
    "anthropic": { "type": "anthropic", "base_url": "http://$mock_addr",    "api_key": "\${DEMO_ANTHROPIC_KEY}", "models": ["claude-sonnet-4-5", "claude-opus-4-1"] }
  }
}
JSON
DEMO_OPENAI_KEY=sk-demo-real-openai-key DEMO_ANTHROPIC_KEY=sk-ant-demo-real-key \
        "$build/proxy/qclaw-proxy" --config "$state/proxy.json" 2>"$state/proxy.err" &
pids+=($!)
for _ in $(seq 100); do [ -S "$state/run/control.sock" ] && break; sleep 0.05; done
[ -S "$state/run/control.sock" ] || { echo "demo: qclaw-proxy did not start:"; cat "$state/proxy.err"; exit 1; }
echo "qclaw-proxy up; control socket $state/run/control.sock"

step "running the demo agent under: qclaw-run --profile demo -- ./agent.sh"
ws="$state/workspace"
mkdir -p "$ws"
cp "$top/examples/demo/agent.sh" "$ws/agent.sh"
chmod 755 "$ws/agent.sh"
chown -R "$agent_user" "$ws" 2>/dev/null || true
# Things the agent will try to reach, on the host side:
"$build/examples/mock-llm/mock-llm" --listen 127.0.0.1:0 --quiet >"$state/canary.out" 2>/dev/null &
pids+=($!)
for _ in $(seq 100); do grep -q '^listening on' "$state/canary.out" 2>/dev/null && break; sleep 0.05; done
canary_port=$(sed -n 's/^listening on 127.0.0.1://p' "$state/canary.out")
export DEMO_HOST_PORT=$canary_port
export DEMO_HOST_SOCKET="$state/run/control.sock"
export DEMO_SECRET_API_KEY=sk-this-must-not-leak
rc=0
QCLAW_PROFILES_DIR="$top/profiles" "$build/supervisor/qclaw-run" --profile demo --workspace "$ws" --user "$agent_user" \
        --proxy-socket "$state/run/control.sock" --audit-log "$state/audit.jsonl" \
        -- ./agent.sh "$canary_port" | tee "$state/agent.out" || rc=$?
if [ $rc -ne 0 ]; then
        echo "demo: the agent exited with status $rc" >&2
        exit 1
fi

step "the audit trail, as dom0 sees it: qclaw-admin logs (pulled through the qclaw.AuditLog service)"
# No Qubes here: a local stand-in for qrexec-client runs the VM-side service directly.
printf 'audit_log=%s\ncontrol_socket=%s\n' "$state/audit.jsonl" "$state/run/control.sock" >"$state/rpc.conf"
QCLAW_RPC_CONF="$state/rpc.conf" QCLAW_BUILD_DIR="$build" \
        "$build/rpc/qclaw-admin" logs demo-vm --qrexec-client "$top/examples/demo/local-qrexec-client" \
        --mirror-dir "$state/dom0"

step "verifying the hash chain: qclaw-admin verify"
"$build/rpc/qclaw-admin" verify "$state/audit.jsonl"

step "done: one completion went out through the proxy; everything else was refused and logged"
