#!/usr/bin/env bash
# qclaw-run as an ordinary user (no root): user namespace mapping the caller to itself.
source "$(dirname "$0")/test-run-lib.sh"
[ "$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 0)" -gt 0 ] ||
        skip_or_fail "user namespaces disabled (user.max_user_namespaces=0)"
if [ -e /proc/sys/kernel/unprivileged_userns_clone ] &&
        [ "$(cat /proc/sys/kernel/unprivileged_userns_clone)" = 0 ]; then
        skip_or_fail "kernel.unprivileged_userns_clone=0"
fi
# nobody must be able to execute the binary: use a copy in $T.
install -m 755 "$Q" "$T/qclaw-run"
as_user() { setpriv --reuid="$AGENT_USER" --regid="$(id -g $AGENT_USER)" --clear-groups \
                env -i PATH=/usr/bin:/bin QCLAW_PROFILES_DIR="$QCLAW_PROFILES_DIR" FAKE_API_KEY=secret "$@"; }
uq() { local prof=$1; shift; as_user "$T/qclaw-run" --profile "$prof" --workspace "$WS" \
        --audit-log "$WS/audit.jsonl" --proxy-socket "${PROXY_SOCK:-$T/none.sock}" -- "$@"; }

out=$(uq offline sh -c 'id -u; grep -E "^(CapEff|CapPrm|CapBnd):" /proc/self/status; grep NoNewPrivs /proc/self/status
  echo x >f && echo ws-ok; touch /usr/x 2>/dev/null || echo usr-ro; env | grep -c FAKE_API_KEY; sed -n "3,\$p" /proc/net/dev | wc -l
  ls -d /proc/[0-9]* | wc -l' 2>/dev/null)
check "unprivileged: runs as the caller" [ "$(sed -n 1p <<<"$out")" = "$AGENT_UID" ]
check "unprivileged: CapEff empty" grep -q '^CapEff:[[:space:]]*0\{16\}$' <<<"$out"
check "unprivileged: CapPrm empty" grep -q '^CapPrm:[[:space:]]*0\{16\}$' <<<"$out"
check "unprivileged: CapBnd empty" grep -q '^CapBnd:[[:space:]]*0\{16\}$' <<<"$out"
check "unprivileged: no_new_privs" grep -q 'NoNewPrivs:[[:space:]]*1' <<<"$out"
check "unprivileged: workspace writable" grep -qx ws-ok <<<"$out"
check "unprivileged: /usr read-only" grep -qx usr-ro <<<"$out"
check "unprivileged: no secret env" [ "$(sed -n 8p <<<"$out")" = 0 ]
check "unprivileged: loopback only" [ "$(sed -n 9p <<<"$out")" = 1 ]
check "unprivileged: own pid namespace" [ "$(sed -n 10p <<<"$out")" -le 4 ]
check "unprivileged: exit status propagates" [ "$(status_of uq offline sh -c 'exit 7')" = 7 ]
check "unprivileged: signal -> 128+N" [ "$(status_of uq offline sh -c 'kill -KILL $$')" = 137 ]
check "unprivileged: 127 for a missing command" [ "$(status_of uq offline /nope)" = 127 ]
check "unprivileged: session records" grep -q '"mode":"userns"' "$WS/audit.jsonl"
rc=0; err=$(as_user "$T/qclaw-run" --profile offline --user root -- true 2>&1) || rc=$?
check "unprivileged: --user refused with 125" [ "$rc" = 125 ]

# resources without a cgroup (an ordinary user seldom has one): pids_max by RLIMIT_NPROC in
# the user namespace, each tmpfs bounded by memory_max
lim=$(write_profile limited '{"network": "none", "resources": {"memory_max": "64M", "pids_max": 24},
  "filesystem": {"read_only": ["/usr", "/etc", "/bin", "/lib", "/lib64"],
                 "read_write": ["$WORKSPACE"], "tmpfs": ["/tmp", "$HOME"]}}')
# (builtins only while the bomb holds every slot: set -- counts, kill -1 ends it)
out=$(uq "$lim" sh -c '(for i in $(seq 100); do sleep 30 & done) 2>/dev/null
  set -- /proc/[0-9]*; echo $#; kill -9 -1; n=0
  while set -- /proc/[0-9]*; [ $# -gt 3 ] && [ $n -lt 100000 ]; do n=$((n + 1)); done
  df -k /tmp /dev/shm | sed 1d | awk "{print \$2}"' 2>/dev/null)
check "unprivileged: fork bomb held at pids_max without a cgroup ($(sed -n 1p <<<"$out") processes)" \
        [ "$(sed -n 1p <<<"$out")" -le 26 ]
check "unprivileged: /tmp bounded by memory_max" [ "$(sed -n 2p <<<"$out")" = 65536 ]
check "unprivileged: /dev/shm bounded by memory_max" [ "$(sed -n 3p <<<"$out")" = 65536 ]

# proxy mode as the user (the proxy's control_users names them)
start_proxy
out=$(uq demo sh -c 'curl -s -m 5 -o /dev/null -w "%{http_code}\n" http://127.0.0.1:32125/healthz' 2>/dev/null || true)
check "unprivileged: proxy reachable through the session listener ($out)" [ "$out" = 200 ]
# No --audit-log, and the shared log is not the user's to write: the proxy writes the session's
# records for it, under the attached session and stamped with the user's uid.
rc=0
as_user "$T/qclaw-run" --profile demo --workspace "$WS" --proxy-socket "$PROXY_SOCK" -- \
        sh -c 'unshare -U true 2>/dev/null; exit 3' 2>/dev/null || rc=$?
check "unprivileged, records through the proxy: exit status" [ "$rc" = 3 ]
sid=$(grep '"event":"session_detach"' "$T/audit.jsonl" | tail -1 | jq -r .session)
rec() { grep "\"event\":\"$1\"" "$T/audit.jsonl" | grep "\"session\":\"$sid\"" | tail -1; }
for _ in $(seq 50); do [ -n "$(rec session_end)" ] && break; sleep 0.1; done
check "unprivileged, records through the proxy: session_start, by the supervisor of uid $AGENT_UID" \
        [ "$(rec session_start | jq -r '[.reported_by, .peer_uid, .mode] | join(" ")')" = "supervisor $AGENT_UID userns" ]
check "unprivileged, records through the proxy: the unshare violation" \
        [ "$(rec violation | jq -r .syscall)" = unshare ]
check "unprivileged, records through the proxy: session_end with the exit code" \
        [ "$(rec session_end | jq -r '.exit_code')" = 3 ]
check "unprivileged, records through the proxy: the chain verifies" \
        "$QCLAW_BUILD_DIR/rpc/qclaw-admin" verify "$T/audit.jsonl"
finish
