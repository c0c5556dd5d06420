#!/usr/bin/env bash
# End to end in the simulated Qubes (sim-lib.sh): a client in dom0 reaches the VM's proxy through
# the tunnel unit's command line and the stand-in qrexec-client; qclaw-admin logs pulls and shows
# the egress; history edited, rewritten or truncated in the VM is caught on the next pull; bad
# arguments to every service are refused.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/sim-lib.sh"
sim_check_prereqs
trap sim_down EXIT

fails=0
ok() { echo "ok - $*"; }
fail() {
        echo "FAIL - $*"
        fails=$((fails + 1))
}
check() { # check DESC CMD...
        local d=$1
        shift
        if "$@"; then ok "$d"; else fail "$d"; fi
}

sim_up
sim_tunnel 32125
ADMIN=$SIM_B/rpc/qclaw-admin
QC=$SIM_QREXEC_CLIENT
M=$SIM/mirror
logs() { in_dom0 "$ADMIN" logs "$SIM_VM" --qrexec-client "$QC" --mirror-dir "$M" "$@"; }
call() { # call SERVICE+ARG -> stdout in $SIM/call.out, status in $rc
        rc=0
        in_dom0 "$QC" -d "$SIM_VM" "DEFAULT:QUBESRPC $1 dom0" >"$SIM/call.out" 2>"$SIM/call.err" ||
                rc=$?
}
chat() { # chat TEXT: a completion from dom0 through the tunnel
        in_dom0 curl -s --max-time 10 http://127.0.0.1:32125/v1/chat/completions \
                -H "Authorization: Bearer $SIM_TOKEN" -H 'content-type: application/json' \
                -d "{\"model\":\"ollama/qsim\",\"messages\":[{\"role\":\"user\",\"content\":\"$1\"}]}" ||
                echo "curl failed: $?" >&2
}

# --- dom0 has nothing but loopback; the proxy is not reachable there without the tunnel
check "dom0 has only lo" test "$(ip -n "$SIM_NS_DOM0" -o link | wc -l)" = 1

# --- 1. completion from dom0 through tunnel -> qclaw.Proxy -> proxy -> mock-llm
reply=$(chat "hello from dom0" || true)
check "completion through the tunnel" grep -q '"echo: hello from dom0' <<<"$reply"
noauth=$(in_dom0 curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:32125/v1/models || true)
check "tunnel keeps the proxy's identity check (401 without token)" test "$noauth" = 401

# --- 2. qclaw-admin logs pulls and shows it
out=$(logs) || fail "first pull exits 0"
echo "$out" | head -5
check "table shows the egress" grep -qE 'egress +ollama/qsim' <<<"$out"
check "table shows egress_done with status 200" grep -qE 'egress_done +ollama/qsim +200 ' <<<"$out"
check "mirror file written" test -s "$M/$SIM_VM/audit.jsonl"
check "mirror verifies with qclaw-admin verify" "$ADMIN" verify "$M/$SIM_VM/audit.jsonl"
json=$(logs --json --event egress_done)
check "--json --event filters and re-serialises" \
        python3 -c 'import json,sys; r=[json.loads(l) for l in sys.stdin]; assert r and all(x["event"]=="egress_done" and x["status"]==200 for x in r)' <<<"$json"
check "--profile filter (no match -> no rows)" test -z "$(logs --profile nosuch)"
before=$(wc -l <"$M/$SIM_VM/audit.jsonl")
logs --quiet >/dev/null
check "second pull adds nothing" test "$(wc -l <"$M/$SIM_VM/audit.jsonl")" = "$before"

# many requests: the log rotates (4 KiB) and the pull crosses rotated files
for i in $(seq 12); do chat "burst $i" >/dev/null; done
check "VM log rotated" test -e "$SIM/vm/audit.jsonl.1"
logs --quiet >/dev/null || fail "pull across rotated files"
vm_last=$(tail -n1 "$SIM/vm/audit.jsonl" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["seq"])')
check "mirror caught up across rotation (seq $vm_last)" grep -q "^$vm_last " "$M/$SIM_VM/state"
check "whole mirror verifies" "$ADMIN" verify "$M/$SIM_VM/audit.jsonl"

st=$(in_dom0 "$ADMIN" status "$SIM_VM" --qrexec-client "$QC" --mirror-dir "$M")
echo "$st" | head -4
check "status: proxy up" grep -qE 'proxy up +yes' <<<"$st"
check "status: audit last seq" grep -qE "audit last seq +$vm_last" <<<"$st"

# --- 3. tampering in the VM
edit_seq() { # edit_seq SEQ: change a field of record SEQ in whichever VM file holds it
        python3 - "$SIM/vm" "$1" <<'PY'
import glob, re, sys
d, seq = sys.argv[1], sys.argv[2]
for f in glob.glob(d + "/audit.jsonl*"):
    lines = open(f).read().split("\n")
    for i, l in enumerate(lines):
        if l.startswith('{"seq":%s,' % seq):
            lines[i] = re.sub(r'"event":"[a-z_]+"', '"event":"forged"', l, count=1)
            open(f, "w").write("\n".join(lines))
            sys.exit(0)
sys.exit("seq %s not found" % seq)
PY
}
cp -a "$SIM/vm" "$SIM/vm.good"
restore_vm() { rm -f "$SIM"/vm/audit.jsonl*; cp -a "$SIM"/vm.good/audit.jsonl* "$SIM/vm/"; }
mirror_sum() { sha256sum "$M/$SIM_VM/audit.jsonl" | cut -d' ' -f1; }

# 3a. a record dom0 has not pulled yet is edited: the chain breaks at exactly that seq
chat "after the first pull" >/dev/null
next=$((vm_last + 1))
cp -a "$SIM/vm" "$SIM/vm.good2"
edit_seq "$next"
sum=$(mirror_sum)
rc=0
logs --quiet 2>"$SIM/pull.err" >/dev/null || rc=$?
cat "$SIM/pull.err"
check "edited new record: pull exits 1" test "$rc" = 1
check "edited new record: CHAIN BROKEN at seq $next" grep -q "CHAIN BROKEN in VM $SIM_VM at seq $next" "$SIM/pull.err"
check "edited new record: mirror unchanged" test "$(mirror_sum)" = "$sum"
rm -f "$SIM"/vm/audit.jsonl*
cp -a "$SIM"/vm.good2/audit.jsonl* "$SIM/vm/"
logs --quiet >/dev/null || fail "pull after restoring the VM's log"
last=$(cut -d' ' -f1 "$M/$SIM_VM/state")

# 3b. the last record dom0 already holds is rewritten in the VM (re-chained or not)
cp -a "$SIM/vm" "$SIM/vm.good3"
edit_seq "$last"
sum=$(mirror_sum)
rc=0
logs --quiet 2>"$SIM/pull.err" >/dev/null || rc=$?
cat "$SIM/pull.err"
check "rewritten mirrored record: exit 1" test "$rc" = 1
check "rewritten mirrored record: reported at seq $last" grep -q "CHAIN BROKEN in VM $SIM_VM at seq $last.*rewritten" "$SIM/pull.err"
check "rewritten mirrored record: mirror unchanged" test "$(mirror_sum)" = "$sum"

# 3c. history truncated in the VM
rm -f "$SIM"/vm/audit.jsonl*
: >"$SIM/vm/audit.jsonl"
rc=0
logs --quiet 2>"$SIM/pull.err" >/dev/null || rc=$?
cat "$SIM/pull.err"
check "truncated history: exit 1" test "$rc" = 1
check "truncated history: reported" grep -q "CHAIN BROKEN.*truncated" "$SIM/pull.err"
check "truncated history: mirror unchanged" test "$(mirror_sum)" = "$sum"
rm -f "$SIM"/vm/audit.jsonl*
cp -a "$SIM"/vm.good3/audit.jsonl* "$SIM/vm/"

# --- 4. service arguments, checked by the services themselves and by qrexec's rules
call "qclaw.AuditLog+1"
check "qclaw.AuditLog+1 works" test "$rc" = 0 -a -s "$SIM/call.out"
check "qclaw.AuditLog output is audit lines" grep -q '^{"seq":' "$SIM/call.out"
for bad in "qclaw.AuditLog+abc" "qclaw.AuditLog+-1" "qclaw.AuditLog+1x" "qclaw.AuditLog+" \
        "qclaw.AuditLog" "qclaw.AuditLog+12345678901234567890" "qclaw.AuditLog+1+2" \
        "qclaw.Status+x" "qclaw.Status+1"; do
        call "$bad"
        check "$bad refused (exit 2, no output)" test "$rc" = 2 -a ! -s "$SIM/call.out"
done
call "qclaw.Status+"
check "qclaw.Status+ works" test "$rc" = 0
check "qclaw.Status is one JSON object with proxy_up" \
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["proxy_up"] is True and "sessions" in d' "$SIM/call.out"
for svc in qclaw.Proxy qclaw.Gateway; do
        call "$svc+22"
        check "$svc+22 refused: Unexpected argument" test "$rc" = 125
        check "$svc+22 message" grep -q "Unexpected argument" "$SIM/call.err"
done
call "qubes.ConnectTCP+22"
check "no generic port service (qubes.ConnectTCP not provided)" test "$rc" = 127
call "qclaw.Tcp+127.0.0.1+22"
check "no generic qclaw port service" test "$rc" = 127
generic=$(find "$SIM/vms/$SIM_VM" -type l -lname '/dev/tcp*' ! -lname '/dev/tcp/*/*' | wc -l)
check "every /dev/tcp service has a fixed port" test "$generic" = 0
# the programs check their argument even when called directly (qrexec is not trusted to)
rc=0; QREXEC_SERVICE_ARGUMENT=5 "$SIM_B/rpc/qclaw-rpc-auditlog" 6 >"$SIM/d.out" 2>/dev/null || rc=$?
check "argv and QREXEC_SERVICE_ARGUMENT disagree: refused" test "$rc" = 2 -a ! -s "$SIM/d.out"
rc=0; "$SIM_B/rpc/qclaw-rpc-auditlog" --help >"$SIM/d.out" 2>/dev/null || rc=$?
check "option-looking argument refused" test "$rc" = 2 -a ! -s "$SIM/d.out"
rc=0; "$SIM_B/rpc/qclaw.Proxy.fallback" 22 </dev/null >/dev/null 2>&1 || rc=$?
check "executable fallback refuses an argument" test "$rc" = 2

# --- 5. the VM name given to qclaw-admin is checked before anything runs
rc=0; in_dom0 "$ADMIN" logs 'bad;name' --qrexec-client "$QC" --mirror-dir "$M" 2>/dev/null || rc=$?
check "invalid VM name refused" test "$rc" = 2

echo "$fails failure(s)"
[ "$fails" = 0 ]
