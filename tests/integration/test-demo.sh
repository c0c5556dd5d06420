#!/usr/bin/env bash
# Runs ./dev demo's script as a newcomer would and checks its claims: the completion arrived,
# every other attempt was refused, the audit chain verified, and nothing was left running or
# behind outside its temporary directory.
set -euo pipefail
build=${QCLAW_BUILD_DIR:?}
src=${QCLAW_SRC_DIR:?}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

before_tmp=$(ls -d /tmp/qclaw-demo.* 2>/dev/null | sort || true)
ours="$build/(examples/mock-llm/mock-llm|proxy/qclaw-proxy|supervisor/qclaw-run)"
before_pids=$(pgrep -f "$ours" | sort || true)
rc=0
NO_COLOR=1 "$src/examples/demo/run-demo.sh" "$build" >"$out" 2>&1 </dev/null || rc=$?
# strip ANSI colours for matching
sed -i 's/\x1b\[[0-9;]*m//g' "$out"
fail() { echo "FAIL: $*"; echo "----- demo output -----"; cat "$out"; exit 1; }

[ $rc -eq 0 ] || fail "demo exited with $rc"
grep -q 'streamed completion via the proxy *"echo: hello from inside the sandbox"' "$out" ||
        fail "no streamed completion echoed through the proxy"
for what in "internet" "cloud metadata" "another host port" "host Unix socket (proxy control socket)" \
        "host Unix socket (/run/dbus" "read ~/.ssh" "model outside the profile" "secret env var"; do
        line=$(grep -F "  $what" "$out" || true)
        [ -n "$line" ] || fail "attempt '$what' not shown"
        case "$line" in *"refused:"*) ;; *) fail "attempt '$what' not refused: $line" ;; esac
done
grep -q 'ESCAPED' "$out" && fail "something escaped"
grep -q 'HTTP 403 model_not_allowed' "$out" || fail "denied model did not get 403 model_not_allowed"
grep -Eq 'ok, [0-9]+ records' "$out" || fail "audit chain not verified"
# the trail shows the egress and the deny, as dom0 would see them
grep -q 'egress' "$out" || fail "audit table shows no egress"
grep -q 'deny' "$out" || fail "audit table shows no deny"
grep -q 'session_start' "$out" || fail "audit table shows no session_start"
# its columns line up, the longest event name (session_detach) included: every row has its
# STATUS cell (never blank: a value or "-") where the header has STATUS
off=$(awk '/^SEQ +TIME/ { print index($0, "STATUS"); exit }' "$out")
[ -n "$off" ] && [ "$off" -gt 0 ] || fail "audit table header not found"
grep -q ' session_detach ' "$out" || fail "audit table shows no session_detach"
bad=$(awk -v o="$off" '/^[0-9]+ +20[0-9][0-9]-/ && substr($0, o, 1) == " "' "$out")
[ -z "$bad" ] || fail "audit table columns out of line: $bad"
# nothing left running, nothing left behind
sleep 0.2
left=$(comm -13 <(echo "$before_pids") <(pgrep -f "$ours" | sort || true))
[ -z "$left" ] || fail "processes left running: $(ps -o pid=,args= -p "$(echo $left | tr ' ' ,)")"
after_tmp=$(ls -d /tmp/qclaw-demo.* 2>/dev/null | sort || true)
[ "$before_tmp" = "$after_tmp" ] || fail "temporary directory left behind: $after_tmp"
echo "demo: all claims hold"
