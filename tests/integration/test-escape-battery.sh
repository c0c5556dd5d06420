#!/usr/bin/env bash
# The escape battery (reference/sandbox-threats.md section 10): escape-probe runs every attempt
# inside qclaw-run (real qclaw-proxy + mock-llm) and must be blocked, with the syscall-level ones
# visible as `violation` audit records and the proxy endpoint working; then the same probe runs
# under plain `bwrap --unshare-all`, where some attempts must ESCAPE - so the battery proves it
# can tell a weak sandbox from ours. Nothing is sent off this machine: the probe only connects
# to non-loopback addresses when no route leaves its network namespace.
source "$(dirname "$0")/test-run-lib.sh"

PROBE_SRC="$QCLAW_BUILD_DIR/tests/integration/escape/escape-probe"
[ -x "$PROBE_SRC" ] || { echo "escape-probe not built"; exit 1; }
command -v python3 >/dev/null || skip_or_fail "python3 missing"

# --- the host side: things the sandbox must not reach ---
export FAKE_OPENAI_API_KEY=sk-fake-escape-battery-0123456789
PROBE="$WS/escape-probe"
cp "$PROBE_SRC" "$PROBE"
chmod 755 "$PROBE"

canary=$(free_port)
python3 -m http.server "$canary" --bind 127.0.0.1 --directory "$T/ws" >/dev/null 2>&1 &
_pids+=($!)
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$canary/" && break; sleep 0.1; done

sockdir=$(mktemp -d /run/qclaw-test.XXXXXX)
abstract="qclaw-escape-battery-$$"
python3 - "$abstract" "$sockdir/agent.sock" <<'PY' &
import socket, sys, time
a = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); a.bind("\0" + sys.argv[1]); a.listen(16)
p = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); p.bind(sys.argv[2]); p.listen(16)
time.sleep(600)
PY
_pids+=($!)
for _ in $(seq 50); do [ -S "$sockdir/agent.sock" ] && break; sleep 0.1; done
chmod 755 "$sockdir"
chmod 777 "$sockdir/agent.sock"
export SSH_AUTH_SOCK="$sockdir/agent.sock"
trap '_cleanup; rm -rf "$sockdir"' EXIT

mkdir -p "$T/home/.ssh"
printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\nqclaw-escape-battery-fake\n-----END OPENSSH PRIVATE KEY-----\n' \
        >"$T/home/.ssh/id_rsa"
chmod 644 "$T/home/.ssh/id_rsa"

sleep 600 &
host_pid=$!
_pids+=($host_pid)

# A leaked descriptor: fd 9 of this shell is a connection to the host canary. Both sandboxes
# are started from here and inherit it unless they close it.
exec 9<>"/dev/tcp/127.0.0.1/$canary"

# --- the proxy, with the battery's profile known to it ---
mkdir -p "$T/profiles"
cp "$QCLAW_SRC_DIR"/profiles/*.json "$T/profiles/"
cat >"$T/profiles/battery.json" <<'JSON'
{"qclaw_profile": 1, "name": "battery", "models": [],
 "sandbox": {"network": "proxy",
  "filesystem": {"read_only": ["/usr", "/bin", "/lib", "/lib64", "/etc"],
                 "read_write": ["$WORKSPACE"], "tmpfs": ["/tmp", "$HOME"],
                 "hide": ["$HOME/.ssh"]},
  "resources": {"memory_max": "256M", "pids_max": 64, "nofile": 1024}}}
JSON
export QCLAW_PROFILES_DIR="$T/profiles"
start_proxy
mock_port=$(sed -n 's/^listening on 127.0.0.1://p' "$T/mock.out")

probe_args=(--proxy-port 32125 --canary-port "$canary" --other-port "$mock_port"
            --abstract "$abstract" --path-socket "$sockdir/agent.sock"
            --path-socket "$PROXY_SOCK" --host-pid "$host_pid"
            --secret-file "$T/home/.ssh/id_rsa" --profile-file "$T/profiles/battery.json"
            --control-socket "$PROXY_SOCK" --pids 1500 --mem-mb 1024)
categories=(egress metadata loopback proxy dns unix fds secrets procs kernel resources selfdisable)

# Syscall-level attempts whose violation records must be in the audit log, per category.
declare -A want_violations=(
        [egress]="socket"
        [unix]="socketpair"
        [secrets]="keyctl"
        [procs]="ptrace process_vm_readv"
        [kernel]="ioctl unshare setns mount open_tree bpf perf_event_open userfaultfd io_uring_setup seccomp personality init_module name_to_handle_at"
)

# --- ours: one qclaw-run per category (the violation rate limit is per session) ---
: >"$T/ours.out"
touch "$T/audit.jsonl"
for cat in "${categories[@]}"; do
        before=$(wc -l <"$T/audit.jsonl")
        rc=0
        run_q "$T/profiles/battery.json" "$PROBE" "${probe_args[@]}" "$cat" \
                >"$T/ours-$cat.out" 2>"$T/ours-$cat.err" || rc=$?
        cat "$T/ours-$cat.out" >>"$T/ours.out"
        check "ours/$cat: the probe ran to the end (exit $rc)" \
                grep -q '^SUMMARY ' "$T/ours-$cat.out"
        check "ours/$cat: every attempt blocked" not grep -q ': ESCAPED' "$T/ours-$cat.out"
        tail -n +"$((before + 1))" "$T/audit.jsonl" >"$T/audit-$cat.jsonl"
        for sc in ${want_violations[$cat]:-}; do
                check "ours/$cat: violation record for $sc" \
                        grep -q "\"event\":\"violation\",\"syscall\":\"$sc\"" "$T/audit-$cat.jsonl"
        done
done
check "ours: attempts were made" [ "$(grep -c '^ATTEMPT ' "$T/ours.out")" -ge 50 ]
check "ours: the proxy endpoint works (must SUCCEED)" grep -q '^CHECK proxy/endpoint: ok' "$T/ours.out"
check "ours: TIOCSTI with high bits reported with its real argument" \
        grep -q '"syscall":"ioctl","nr":16,"args":\["0xffffffff","0x100005412"' \
        "$T/audit-kernel.jsonl"
check "ours: the leaked fd 9 did not reach the agent" \
        grep -q '^ATTEMPT fds/inherited: blocked' "$T/ours.out"
check "ours: fork bomb contained" grep -q '^ATTEMPT resources/fork-bomb: blocked' "$T/ours.out"
check "ours: memory balloon contained" grep -q '^ATTEMPT resources/memory-balloon: blocked' \
        "$T/ours.out"
if [ -x "$QCLAW_BUILD_DIR/rpc/qclaw-admin" ]; then
        check "ours: the audit chain verifies" \
                "$QCLAW_BUILD_DIR/rpc/qclaw-admin" verify "$T/audit.jsonl"
fi

# Non-native ABIs: the process is killed (SIGSYS = 31 -> 128 + 31).
for abi in i386 x32; do
        rc=0
        run_q "$T/profiles/battery.json" "$PROBE" "abi-$abi" >"$T/ours-abi-$abi.out" 2>&1 || rc=$?
        check "ours/abi-$abi: killed by SIGSYS (exit $rc)" [ "$rc" = 159 ]
        check "ours/abi-$abi: did not survive" not grep -q ESCAPED "$T/ours-abi-$abi.out"
        sed -n 's/^ATTEMPT/ATTEMPT/p' "$T/ours-abi-$abi.out" >>"$T/ours.out"
        name=kernel/x32-getpid
        [ "$abi" = i386 ] && name=kernel/i386-int80-getpid
        [ "$rc" = 159 ] && echo "ATTEMPT $name: blocked (killed by SIGSYS)" >>"$T/ours.out"
done

# --- the same probe under plain bwrap --unshare-all ---
if ! command -v bwrap >/dev/null; then
        skip_or_fail "bwrap missing: the weak-sandbox comparison cannot run"
fi
rc=0
bwrap --unshare-all --ro-bind / / --dev /dev --proc /proc -- \
        "$PROBE" "${probe_args[@]}" "${categories[@]}" >"$T/bwrap.out" 2>"$T/bwrap.err" || rc=$?
for abi in i386 x32; do
        bwrap --unshare-all --ro-bind / / --dev /dev --proc /proc -- "$PROBE" "abi-$abi" \
                >>"$T/bwrap.out" 2>>"$T/bwrap.err" || true
done
check "bwrap: the probe ran (exit $rc)" grep -q '^SUMMARY ' "$T/bwrap.out"
for must in "secrets/env" "fds/inherited" "unix/path-$sockdir/agent.sock" \
            "selfdisable/control-socket" "secrets/file-$T/home/.ssh/id_rsa" \
            "kernel/unshare-userns-then-mount" "kernel/io_uring_setup" \
            "kernel/ioctl-TIOCSTI-highbits" "kernel/i386-int80-getpid" "egress/af-packet" \
            "kernel/seccomp-new-listener"; do
        check "bwrap lets through: $must" grep -qF "ATTEMPT $must: ESCAPED" "$T/bwrap.out"
        grep -qF "ATTEMPT $must: ESCAPED" "$T/bwrap.out" ||
                grep -F "ATTEMPT $must:" "$T/bwrap.out" || true
done

# --- side by side ---
echo "#"
printf '# %-52s %-9s %s\n' "attempt" "qclaw" "bwrap --unshare-all"
verdict='s/^ATTEMPT .*: \(blocked\|ESCAPED\) (.*/\1/'
grep -h '^ATTEMPT ' "$T/ours.out" "$T/bwrap.out" |
        sed 's/^ATTEMPT \(.*\): \(blocked\|ESCAPED\) (.*/\1/' | sort -u |
while read -r name; do
        o=$(grep -F "ATTEMPT $name: " "$T/ours.out" | head -n1 | sed "$verdict" || true)
        b=$(grep -F "ATTEMPT $name: " "$T/bwrap.out" | head -n1 | sed "$verdict" || true)
        printf '# %-52s %-9s %s\n' "$name" "${o:--}" "${b:--}"
done
n_ours=$(grep -c ': ESCAPED' "$T/ours.out" || true)
n_bwrap=$(grep -c ': ESCAPED' "$T/bwrap.out" || true)
echo "# escaped: qclaw $n_ours, bwrap --unshare-all $n_bwrap"
check "ours escapes nothing, bwrap lets some through" test "$n_ours" = 0 -a "$n_bwrap" -gt 0
finish
