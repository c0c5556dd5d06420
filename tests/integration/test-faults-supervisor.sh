#!/usr/bin/env bash
# qclaw-run under faults. The supervisor SIGKILLed while its sandbox runs a process tree and a
# request hangs in the proxy: the whole tree dies with it, the proxy ends the session (the
# control socket's "status" no longer lists it, the proxy logs the end, the hanging request's
# egress_done says client_disconnect) and its fds return to baseline. Then sandboxes started and
# stopped in a loop (50; QCLAW_SANDBOX_LOOP=200 for the long run), some through the proxy, some
# offline, some killed with SIGTERM mid-run: afterwards no leaked network namespaces, mounts,
# cgroups, processes or proxy fds, one session_end per session_start, and the chain verifies.
source "$(dirname "$0")/test-run-lib.sh"
ADMIN="$QCLAW_BUILD_DIR/rpc/qclaw-admin"
command -v python3 >/dev/null || skip_or_fail "python3 missing"
start_proxy
PROXY_PID=$(pgrep -f "qclaw-proxy --config $T/proxy.json" | head -1)

status_json() {
        python3 - "$PROXY_SOCK" <<'PY'
import socket, sys
c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
c.connect(sys.argv[1])
c.send(b'{"op":"status"}')
print(c.recv(65536).decode())
PY
}
n_sessions() { status_json | jq '.status.sessions | length'; }
proxy_fds() { ls "/proc/$PROXY_PID/fd" | wc -l; }
wait_for() { # wait_for SECONDS COMMAND...
        local end=$((SECONDS + $1)); shift
        until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.1; done
}
# distinct network namespaces held by any process, mounts of this (the host) namespace, stale
# sandbox cgroups
n_netns() { for p in /proc/[0-9]*; do readlink "$p/ns/net" 2>/dev/null; done | sort -u | wc -l; }
n_mounts() { wc -l </proc/self/mountinfo; }
n_cgroups() { find /sys/fs/cgroup -maxdepth 4 -type d -name 'qclaw-s-*' 2>/dev/null | wc -l; }
n_agent_procs() { { pgrep -u "$AGENT_USER" 2>/dev/null || true; } | wc -l; }

# warm up (the proxy's pooled upstream connection), then the baselines
run_q demo sh -c 'curl -s -o /dev/null -m 5 "$OPENAI_BASE_URL/models"' >/dev/null 2>&1 || true
FD0=$(proxy_fds)
NETNS0=$(n_netns) MOUNTS0=$(n_mounts) CG0=$(n_cgroups) AGENTS0=$(n_agent_procs)

# ================= supervisor SIGKILL =================
MARK=$((RANDOM + 40000))
rm -f "$WS/ready"
(exec_q demo sh -c "
  sleep $MARK & sleep $MARK &
  (sh -c 'sleep $MARK') &
  curl -s -m 300 \"\$OPENAI_BASE_URL/chat/completions\" -H 'content-type: application/json' \
    -d '{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"fail:hang\"}]}' &
  echo up >ready
  wait") >"$T/killed.out" 2>&1 &
SUP=$!
check "sandbox tree up" wait_for 15 test -f "$WS/ready"
hanging() { grep -q '"event":"egress"' "$T/audit.jsonl"; }
check "the agent's request reached the proxy" wait_for 10 hanging
tree=$(pgrep -fx "sleep $MARK" | tr '\n' ' ' || true)
check "three sleepers in the sandbox" [ "$(wc -w <<<"$tree")" = 3 ]
init=$(pgrep -P "$SUP" | head -1)
sbx_net=$(readlink "/proc/$init/ns/net")
check "sandbox has its own network namespace" [ "$sbx_net" != "$(readlink /proc/self/ns/net)" ]
check "status lists the session" [ "$(n_sessions)" = 1 ]
sid=$(status_json | jq -r '.status.sessions[0].session')
kill -KILL "$SUP"
wait "$SUP" 2>/dev/null || true
tree_gone() { ! pgrep -fx "sleep $MARK" >/dev/null && ! kill -0 "$init" 2>/dev/null; }
check "supervisor SIGKILL: the whole sandbox tree dies" wait_for 10 tree_gone
netns_gone() { ! for p in /proc/[0-9]*; do readlink "$p/ns/net" 2>/dev/null; done | grep -qx "$sbx_net"; }
check "supervisor SIGKILL: no process left in the sandbox's network namespace" wait_for 10 netns_gone
no_sessions() { [ "$(n_sessions)" = 0 ]; }
check "supervisor SIGKILL: the proxy's status no longer lists the session" wait_for 10 no_sessions
check "supervisor SIGKILL: the proxy logged the session's end" grep -q "session $sid .*ended" "$T/proxy.err"
disconnected() { grep '"event":"egress_done"' "$T/audit.jsonl" | grep "\"session\":\"$sid\"" | grep -q client_disconnect; }
check "supervisor SIGKILL: the hanging request ended with client_disconnect" wait_for 10 disconnected
fds_back() { [ "$(proxy_fds)" -le "$FD0" ]; }
check "supervisor SIGKILL: proxy fds back to baseline ($FD0)" wait_for 10 fds_back
check "supervisor SIGKILL: a session_start was written" grep -q "\"event\":\"session_start\".*\"session\":\"$sid\"" "$T/audit.jsonl"
detached() { grep -q "\"event\":\"session_detach\",\"session\":\"$sid\"" "$T/audit.jsonl"; }
check "supervisor SIGKILL: the proxy wrote the session's session_detach record" wait_for 10 detached
# Its cgroups stay behind, empty; a later qclaw-run removes qclaw-s-* cgroups that are empty and
# older than 60 s: backdate them so the next run does it now.
killed_cgs=$(find /sys/fs/cgroup -maxdepth 4 -type d -name "qclaw-$sid" 2>/dev/null || true)
cg_empty() { local d; for d in $killed_cgs; do [ ! -s "$d/cgroup.procs" ] || return 1; done; }
check "supervisor SIGKILL: its cgroups hold no process" cg_empty
for d in $killed_cgs; do touch -d '-2 min' "$d"; done
check "supervisor SIGKILL: new sandboxes still work" [ "$(status_of run_q demo sh -c 'curl -sf -o /dev/null "$OPENAI_BASE_URL/models"')" = 0 ]
cg_gone() { [ -z "$(find /sys/fs/cgroup -maxdepth 4 -type d -name "qclaw-$sid" 2>/dev/null)" ]; }
check "supervisor SIGKILL: the next run removed its stale cgroups" cg_gone

# ================= sandboxes in a loop =================
N=${QCLAW_SANDBOX_LOOP:-50}
bad_rc=0 killed=0
start=$SECONDS
for i in $(seq "$N"); do
        if [ $((i % 10)) = 0 ]; then
                # killed with SIGTERM mid-run: forwarded to the agent, 128+15
                rm -f "$WS/up"
                (exec_q demo sh -c 'echo >up; exec sleep 60') >/dev/null 2>&1 &
                p=$!
                wait_for 10 test -f "$WS/up" || true
                kill -TERM "$p"
                rc=0; wait "$p" || rc=$?
                [ "$rc" = 143 ] || { echo "  iteration $i: SIGTERM run exited $rc" >&2; bad_rc=$((bad_rc + 1)); }
                killed=$((killed + 1))
        elif [ $((i % 3)) = 0 ]; then
                rc=$(status_of run_q offline sh -c 'exit 7')
                [ "$rc" = 7 ] || { echo "  iteration $i: offline run exited $rc" >&2; bad_rc=$((bad_rc + 1)); }
        else
                rc=$(status_of run_q demo sh -c 'curl -sf -o /dev/null -m 10 "$OPENAI_BASE_URL/models" || exit 9; exit 3')
                [ "$rc" = 3 ] || { echo "  iteration $i: proxy run exited $rc" >&2; bad_rc=$((bad_rc + 1)); }
        fi
done
el=$((SECONDS - start))
check "loop: $N sandboxes, every exit status as expected" [ "$bad_rc" = 0 ]
check "loop: no session left in the proxy" wait_for 10 no_sessions
check "loop: proxy fds back to baseline ($FD0, now $(proxy_fds))" wait_for 10 fds_back
netns_back() { [ "$(n_netns)" -le "$NETNS0" ]; }
check "loop: no leaked network namespace ($NETNS0 before, $(n_netns) after)" wait_for 10 netns_back
check "loop: no leaked mount ($MOUNTS0 before, $(n_mounts) after)" [ "$(n_mounts)" -le "$MOUNTS0" ]
check "loop: no leaked cgroup ($CG0 before, $(n_cgroups) after)" [ "$(n_cgroups)" -le "$CG0" ]
agents_back() { [ "$(n_agent_procs)" -le "$AGENTS0" ]; }
check "loop: no agent process left" wait_for 10 agents_back
s_start=$(grep -c '"event":"session_start"' "$T/audit.jsonl" || true)
s_end=$(grep -c '"event":"session_end"' "$T/audit.jsonl" || true)
# the SIGKILLed supervisor could not write its session_end: one fewer
check "loop: one session_end per session_start (but the SIGKILLed one)" [ "$s_end" = $((s_start - 1)) ]
s_detach=$(grep -c '"event":"session_detach"' "$T/audit.jsonl" || true)
s_attached=$(grep '"event":"session_start"' "$T/audit.jsonl" | grep -c '"network":"proxy"' || true)
check "loop: the proxy detached every attached session, the SIGKILLed one included" [ "$s_detach" = "$s_attached" ]
check "audit chain verifies" "$ADMIN" verify "$T/audit.jsonl"
echo "# sandbox loop: $N runs ($killed SIGTERMed) in ${el}s; netns $NETNS0/$(n_netns), mounts $MOUNTS0/$(n_mounts), cgroups $CG0/$(n_cgroups), proxy fds $FD0/$(proxy_fds), sessions $s_start started / $s_end ended"
finish
