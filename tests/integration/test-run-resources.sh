#!/usr/bin/env bash
# qclaw-run resources and lifetime: cgroup pids/memory limits (v2 or hybrid v1, where the host
# allows), rlimits, signal forwarding, and the whole tree dying with the supervisor.
source "$(dirname "$0")/test-run-lib.sh"

# --- rlimits (always) ---
check "RLIMIT_NOFILE from the profile (offline: 4096)" [ "$(run_q offline sh -c 'ulimit -n')" = 4096 ]
check "no core dumps" [ "$(run_q offline sh -c 'ulimit -c')" = 0 ]

# --- signals ---
exec_q offline sh -c 'trap "exit 42" TERM; sleep 30 & wait' &
qpid=$!
sleep 0.5
kill -TERM $qpid
rc=0; wait $qpid || rc=$?
check "SIGTERM to qclaw-run reaches the agent (its handler exits 42)" [ "$rc" = 42 ]

# --- the supervisor dies: everything dies ---
marker="qclaw-test-sleep-$$"
exec_q offline bash -c "(exec -a $marker-a sleep 300) & (setsid bash -c 'exec -a $marker-b sleep 301') & exec -a $marker-c sleep 302" &
qpid=$!
for _ in $(seq 50); do [ "$(pgrep -c -f "$marker" || true)" -ge 3 ] && break; sleep 0.1; done
check "the agent's processes run" [ "$(pgrep -c -f "$marker" || true)" -ge 3 ]
kill -KILL $qpid
wait $qpid 2>/dev/null || true
for _ in $(seq 50); do [ "$(pgrep -c -f "$marker" || true)" = 0 ] && break; sleep 0.1; done
check "SIGKILL of qclaw-run kills the whole tree (setsid'd children too)" [ "$(pgrep -c -f "$marker" || true)" = 0 ]

# --- cgroup limits ---
prof=$(write_profile lim '{"network": "none", "filesystem": {
  "read_only": ["/usr", "/bin", "/lib", "/lib64", "/etc"], "read_write": ["$WORKSPACE"], "tmpfs": ["/tmp"]},
  "resources": {"memory_max": "64M", "pids_max": 16}}')
err=$(run_q "$prof" true 2>&1 >/dev/null || true)
if grep -q 'limit off' <<<"$err"; then
        skip_or_fail "no writable cgroup memory/pids controller on this host ($err)"
fi
out=$(run_q "$prof" python3 -c '
import os, time
n = 0
for i in range(64):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(3)
        os._exit(0)
    n += 1
print(n)' 2>/dev/null || true)
check "fork bomb stopped by pids_max 16 ($out forks)" [ "${out:-99}" -lt 16 ]
rc=0; run_q "$prof" python3 -c 'x = bytearray(256 * 1024 * 1024); print(len(x))' >/dev/null 2>&1 || rc=$?
check "memory balloon past memory_max is killed (SIGKILL -> 137)" [ "$rc" = 137 ]
check "a small allocation works" [ "$(run_q "$prof" python3 -c 'x = bytearray(8 << 20); print(len(x))')" = 8388608 ]
sid=$(sed -n 's/.*"event":"session_end","session":"\(s-[0-9a-f]*\)".*/\1/p' "$T/audit.jsonl" | tail -n 1)
check "the session's cgroups are removed afterwards ($sid)" test -n "$sid" -a -z "$(find /sys/fs/cgroup -maxdepth 4 -name "qclaw-$sid" 2>/dev/null)"

# --- stale session cgroups (a supervisor killed with SIGKILL) are removed on the next start ---
# Beside the session's own cgroup: an old empty one of ours goes; a fresh one (a session
# starting right now), an old one with a process, and other names stay.
run_q "$prof" sh -c 'sleep 0.3' &
qpid=$!
for _ in $(seq 50); do
        d=$(find /sys/fs/cgroup -maxdepth 4 -type d -name "qclaw-s-*" 2>/dev/null | head -n 1)
        [ -n "$d" ] && break; sleep 0.02
done
wait $qpid || true
if [ -z "${d:-}" ]; then
        skip_or_fail "no session cgroup seen"
fi
parent=$(dirname "$d")
stale="$parent/qclaw-s-0badf00d" fresh="$parent/qclaw-s-0badf00e" busy="$parent/qclaw-s-0badf00f"
other="$parent/qclaw-x-0badf00d" long="$parent/qclaw-s-0badf00d0"
_cleanup_dirs=("$stale" "$fresh" "$busy" "$other" "$long")
_cleanup_cg() {
        kill "${bpid:-}" 2>/dev/null || true; wait "${bpid:-}" 2>/dev/null || true
        for x in "${_cleanup_dirs[@]}"; do rmdir "$x" 2>/dev/null || true; done
        _cleanup
}
trap _cleanup_cg EXIT
mkdir "$stale" "$fresh" "$busy" "$other" "$long"
sleep 300 &
bpid=$!
echo "$bpid" >"$busy/cgroup.procs"
touch -m -d '-5 minutes' "$stale" "$busy" "$other" "$long"
run_q "$prof" true
check "an old empty qclaw-s-* cgroup is removed at start" [ ! -d "$stale" ]
check "a fresh empty one stays (a session may be starting)" [ -d "$fresh" ]
check "an old one with a process stays" [ -d "$busy" ]
check "other names stay" test -d "$other" -a -d "$long"
finish
