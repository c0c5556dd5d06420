#!/usr/bin/env bash
# qclaw-run: exit status mapping, 125 messages, identity, capabilities, pid namespace,
# environment allowlist and the filesystem view (root mode, dropping to an ordinary user).
source "$(dirname "$0")/test-run-lib.sh"

# --- exit status ---
check "exit 0 propagates" [ "$(status_of run_q offline true)" = 0 ]
check "exit 3 propagates" [ "$(status_of run_q offline sh -c 'exit 3')" = 3 ]
check "signal N gives 128+N" [ "$(status_of run_q offline sh -c 'kill -TERM $$')" = 143 ]
check "SIGKILL of the agent gives 137" [ "$(status_of run_q offline sh -c 'kill -KILL $$')" = 137 ]
check "command not found gives 127" [ "$(status_of run_q offline /no/such/command)" = 127 ]
touch "$WS/not-exec"
check "not executable gives 126" [ "$(status_of run_q offline "$WS/not-exec")" = 126 ]
rc=0; err=$(run_q no-such-profile true 2>&1) || rc=$?
check "bad profile gives 125" [ "$rc" = 125 ]
check "bad profile: one line naming the step" [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] 
check "bad profile: message" grep -q '^qclaw-run: profile: .*no-such-profile.json: No such file or directory$' <<<"$err"
echo '{"qclaw_profile": 1, "name": "broken", "sandbox": {"network": "sideways"}}' >"$T/broken.json"
rc=0; err=$(run_q "$T/broken.json" true 2>&1) || rc=$?
check "invalid profile gives 125 with file:line:col" [ "$rc" = 125 ] 
check "invalid profile message" grep -q "^qclaw-run: profile: $T/broken.json:[0-9]*:[0-9]*: " <<<"$err"
rc=0; err=$("$Q" --profile demo --user "$AGENT_USER" --workspace "$WS" --audit-log "$T/audit.jsonl" -- true 2>&1) || rc=$?
if [ -e /run/qclaw/control.sock ]; then
        echo "# /run/qclaw/control.sock exists here: missing-proxy message checked with --proxy-socket"
fi
rc=0; err=$(run_q demo true 2>&1) || rc=$?
check "missing proxy gives 125" [ "$rc" = 125 ]
check "missing proxy message" [ "$err" = "qclaw-run: attach to proxy failed: $T/no-proxy.sock: No such file or directory (is qclaw-proxy running? start it with: systemctl start qclaw-proxy)" ]
rc=0; err=$(env -u SUDO_UID "$Q" --profile offline --workspace "$WS" --audit-log "$T/audit.jsonl" -- true 2>&1) || rc=$?
check "root without SUDO_UID/--user refused with 125" [ "$rc" = 125 ]
check "refusal names the identity step" grep -q '^qclaw-run: identity: ' <<<"$err"
check "--user root refused" [ "$(status_of "$Q" --profile offline --user root --workspace "$WS" --audit-log "$T/audit.jsonl" -- true)" = 125 ]
# Through sudo the caller is SUDO_UID: what it names is opened with its reach, not root's.
sudo_q() { SUDO_UID=$AGENT_UID SUDO_GID=$(id -g $AGENT_USER) "$Q" "$@"; }
touch "$T/sudo-audit.jsonl" && chown "$AGENT_USER" "$T/sudo-audit.jsonl"
check "SUDO_UID is used when no --user" [ "$(sudo_q --profile offline --workspace "$WS" --audit-log "$T/sudo-audit.jsonl" -- id -u)" = "$AGENT_UID" ]
check "through sudo: session records go to the caller's --audit-log" \
        grep -q '"event":"session_start"' "$T/sudo-audit.jsonl"
rc=0; err=$(sudo_q --profile offline --workspace "$WS" --audit-log /etc/qclaw-sudo-probe.jsonl -- true 2>&1) || rc=$?
check "through sudo: --audit-log where the caller cannot write refused with 125" [ "$rc" = 125 ]
check "through sudo: ... and root did not create it" [ ! -e /etc/qclaw-sudo-probe.jsonl ]
check "through sudo: ... the message names the audit log" \
        grep -q '^qclaw-run: audit log: /etc/qclaw-sudo-probe.jsonl: Permission denied' <<<"$err"
rm -f /etc/qclaw-sudo-probe.jsonl
rc=0; err=$(sudo_q --user root --profile offline --workspace "$WS" --audit-log "$T/sudo-audit.jsonl" -- true 2>&1) || rc=$?
check "through sudo: --user other than the caller refused with 125" [ "$rc" = 125 ]
check "through sudo: ... the message says why" grep -q 'only the invoking user' <<<"$err"
mkdir -m 0700 "$T/root-only"
cp "$QCLAW_SRC_DIR/profiles/offline.json" "$T/root-only/mine.json"
rc=0; err=$(sudo_q --profile "$T/root-only/mine.json" --workspace "$WS" --audit-log "$T/sudo-audit.jsonl" -- true 2>&1) || rc=$?
check "through sudo: a profile file the caller cannot read refused with 125" [ "$rc" = 125 ]
check "through sudo: ... the message names the profile" grep -q "^qclaw-run: profile: .*Permission denied" <<<"$err"
check "as root (no sudo) the same profile file loads" \
        [ "$(status_of "$Q" --profile "$T/root-only/mine.json" --user "$AGENT_USER" --workspace "$WS" --audit-log "$T/audit.jsonl" -- true)" = 0 ]
for w in / /run /dev/shm /proc; do
        rc=0; err=$("$Q" --profile offline --user "$AGENT_USER" --workspace "$w" --audit-log "$T/audit.jsonl" -- true 2>&1) || rc=$?
        check "workspace $w refused with 125" [ "$rc" = 125 ]
        check "workspace $w: the message names the step" grep -q "^qclaw-run: workspace: $w: refusing" <<<"$err"
done
check "an ordinary workspace still works" \
        [ "$(mkdir -p "$T/runx" && chown "$AGENT_USER" "$T/runx" && status_of "$Q" --profile offline --user "$AGENT_USER" --workspace "$T/runx" --audit-log "$T/audit.jsonl" -- true)" = 0 ]
# Bind sources are opened with the agent's identity: no reach through a directory it cannot search.
mkdir -p "$T/root-only/shared" && chmod 0755 "$T/root-only/shared" && echo secret >"$T/root-only/shared/f"
rc=0; err=$("$Q" --profile offline --user "$AGENT_USER" --workspace "$T/root-only/shared" --audit-log "$T/audit.jsonl" -- cat "$T/root-only/shared/f" 2>&1) || rc=$?
check "workspace behind a directory the agent's user cannot search refused with 125" [ "$rc" = 125 ]
check "... the message names the step and the path" \
        grep -q "^qclaw-run: filesystem: read_write $T/root-only/shared: not reachable by the agent's user: Permission denied" <<<"$err"
check "... and nothing of it was printed" not grep -q secret <<<"$err"

# --- process ---
out=$(run_q offline sh -c 'id -u; grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):" /proc/self/status; ls -d /proc/[0-9]* | wc -l; cat /proc/sys/kernel/hostname')
check "runs as the invoking user" [ "$(sed -n 1p <<<"$out")" = "$AGENT_UID" ]
for c in CapInh CapPrm CapEff CapBnd CapAmb; do
        check "$c is empty" grep -q "^$c:[[:space:]]*0000000000000000$" <<<"$out"
done
check "no_new_privs set" grep -q '^NoNewPrivs:[[:space:]]*1$' <<<"$out"
check "own pid namespace (few processes)" [ "$(sed -n 8p <<<"$out")" -le 4 ]
check "own uts namespace" [ "$(sed -n 9p <<<"$out")" = qclaw ]
check "agent is not pid 1 (a reaper is)" [ "$(run_q offline sh -c 'echo $$')" != 1 ]
fds=$(run_q offline sh -c 'for f in /proc/$$/fd/*; do readlink "$f" || true; done')
check "no inherited fds beyond stdio" [ "$(grep -c . <<<"$fds")" -le 3 ]

# --- environment ---
out=$(FAKE_API_KEY=secret GITHUB_TOKEN=t SSH_AUTH_SOCK=/tmp/x LANG=C.UTF-8 run_q offline env)
check "FAKE_API_KEY absent" not grep -q FAKE_API_KEY <<<"$out"
check "GITHUB_TOKEN absent" not grep -q GITHUB_TOKEN <<<"$out"
check "SSH_AUTH_SOCK absent" not grep -q SSH_AUTH_SOCK <<<"$out"
check "LANG passed" grep -qx 'LANG=C.UTF-8' <<<"$out"
check "HOME is the user's" grep -qx "HOME=$(getent passwd $AGENT_USER | cut -d: -f6)" <<<"$out"
check "no proxy variables with network none" not grep -q '^OPENAI_BASE_URL=' <<<"$out"

# --- filesystem ---
mkdir -p "$T/home/.ssh" "$T/home/proj"
echo private >"$T/home/.ssh/id_rsa"
echo visible >"$T/home/proj/readme"
echo token >"$T/home/.netrc"
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$T/host.sock"
prof=$(write_profile fs '{"network": "none", "filesystem": {
  "read_only": ["/usr", "/bin", "/lib", "/lib64", "/etc", "'"$T"'/home"],
  "read_write": ["$WORKSPACE"], "tmpfs": ["/tmp"],
  "hide": ["'"$T"'/home/.ssh", "'"$T"'/home/.netrc", "/does/not/exist"]}}')
out=$(run_q "$prof" sh -c '
  echo data >written && echo "ws-writable"
  touch /usr/qclaw-test 2>/dev/null || echo "usr-ro"
  touch /etc/qclaw-test 2>/dev/null || echo "etc-ro"
  touch '"$T"'/home/x 2>/dev/null || echo "home-ro"
  cat '"$T"'/home/proj/readme
  [ -z "$(ls -A '"$T"'/home/.ssh)" ] && echo "ssh-empty"
  [ -s '"$T"'/home/.netrc ] || echo "netrc-empty"
  [ -e /run ] || echo "no-run"
  [ -e /var/run/docker.sock ] || [ -e /run/dbus/system_bus_socket ] || echo "no-host-sockets"
  [ -e /tmp/.X11-unix ] || echo "no-x11"
  [ -e '"$T"'/host.sock ] || echo "no-tmp-socket"
  [ -e '"$T"'/no-proxy.sock ] || [ -e /run/qclaw/control.sock ] || echo "no-control-socket"
  echo x >/tmp/t && echo "tmp-writable"
  [ -c /dev/null ] && [ -c /dev/urandom ] && echo "dev-ok"
  [ -e /dev/sda ] || [ -e /dev/mem ] || echo "dev-minimal"
  grep -q " / tmpfs ro" /proc/mounts && echo "root-ro"
  ls / | grep -qx usr && echo "ls-root"
  ls '"$T"' | grep -qx home && echo "ls-ancestor"')
for w in ws-writable usr-ro etc-ro home-ro visible ssh-empty netrc-empty no-run no-host-sockets \
        no-x11 no-tmp-socket no-control-socket tmp-writable dev-ok dev-minimal root-ro ls-root \
        ls-ancestor; do
        check "filesystem: $w" grep -qx "$w" <<<"$out"
done
check "workspace write visible on the host, owned by the user" [ "$(stat -c %u "$WS/written")" = "$AGENT_UID" ]
check "host /tmp untouched by the sandbox's /tmp" [ ! -e /tmp/t ] || [ "$(cat /tmp/t 2>/dev/null)" != x ]

# --- audit ---
check "session_start recorded" grep -q '"event":"session_start".*"profile":"fs".*"policy_hash":"[0-9a-f]\{64\}".*"user":"'"$AGENT_USER"'"' "$T/audit.jsonl"
check "session_end recorded with status" grep -q '"event":"session_end".*"status":"exited".*"violations":0' "$T/audit.jsonl"
check "signaled session_end" grep -q '"event":"session_end".*"status":"signaled".*"signal":15' "$T/audit.jsonl"
if [ -x "$QCLAW_BUILD_DIR/rpc/qclaw-admin" ]; then
        check "audit chain verifies" "$QCLAW_BUILD_DIR/rpc/qclaw-admin" verify "$T/audit.jsonl" >/dev/null
fi
finish
