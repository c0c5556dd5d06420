#!/usr/bin/env bash
# Units pass `systemd-analyze verify` (paths pointed at the build), and the setup scripts: refuse
# the wrong domain, install into a staging root, print what they do, and change nothing on a
# second run (also with --dry-run, which must not touch anything).
set -euo pipefail
B=${QCLAW_BUILD_DIR:?}
S=${QCLAW_SRC_DIR:?}
skip() {
        echo "SKIP: $*"
        [ "${QCLAW_NO_SKIP:-0}" = 1 ] && exit 1
        exit 77
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() {
        local d=$1
        shift
        if "$@"; then echo "ok - $d"; else echo "FAIL - $d"; fails=$((fails + 1)); fi
}

# --- systemd-analyze verify on every unit
if command -v systemd-analyze >/dev/null; then
        mkdir -p "$tmp/units"
        for u in "$B"/units/*.service "$S"/units/dom0/*.timer; do
                # installed paths -> the build's programs, so verify can check them
                sed -e "s|/usr/local/bin/qclaw-run|$B/supervisor/qclaw-run|" \
                        -e "s|/usr/local/bin/qclaw-admin|$B/rpc/qclaw-admin|" \
                        -e "s|/usr/local/libexec/qclaw/|$B/units/|" "$u" >"$tmp/units/${u##*/}"
        done
        cd "$tmp/units"
        for u in qclaw-proxy.service qclaw-agent@openclaw.service qclaw-tunnel@32125.service \
                qclaw-logsync.service qclaw-logsync.timer; do
                out=$(systemd-analyze verify --man=no "$u" 2>&1 | grep -v "qvm-start" || true)
                check "systemd-analyze verify $u ${out:+($out)}" test -z "$out"
        done
        cd - >/dev/null
        # the hardening the design asks for is really there
        p=$B/units/qclaw-proxy.service
        for k in '^User=qclaw' '^ProtectSystem=strict' '^RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' \
                '^SystemCallFilter=@system-service' '^LoadCredential=' '^NoNewPrivileges=yes' \
                '^CapabilityBoundingSet=$'; do
                check "qclaw-proxy.service has $k" grep -qE "$k" "$p"
        done
else
        skip "systemd-analyze missing"
fi

# --- setup scripts refuse a system that is neither dom0 nor a VM (this one)
rc=0
"$S/scripts/setup-vm.sh" >"$tmp/o" 2>&1 || rc=$?
check "setup-vm.sh refuses outside a Qubes VM" test "$rc" = 1
check "setup-vm.sh says why" grep -q "not a Qubes VM" "$tmp/o"
rc=0
"$S/scripts/setup-dom0.sh" work >"$tmp/o" 2>&1 || rc=$?
check "setup-dom0.sh refuses outside dom0" test "$rc" = 1
check "setup-dom0.sh says why" grep -q "not dom0" "$tmp/o"

# wrong domain, each way round
mkdir -p "$tmp/vm/usr/share/qubes" "$tmp/d0/etc" "$tmp/d0/usr/bin"
touch "$tmp/vm/usr/share/qubes/marker-vm" "$tmp/d0/etc/qubes-release" "$tmp/d0/usr/bin/qvm-ls"
rc=0
"$S/scripts/setup-dom0.sh" work --root "$tmp/vm" >"$tmp/o" 2>&1 || rc=$?
check "setup-dom0.sh refuses in a VM" test "$rc" = 1 -a ! -e "$tmp/vm/etc/qclaw"
rc=0
"$S/scripts/setup-vm.sh" --root "$tmp/d0" >"$tmp/o" 2>&1 || rc=$?
check "setup-vm.sh refuses in dom0" test "$rc" = 1 -a ! -e "$tmp/d0/etc/qclaw"
rc=0
"$S/scripts/setup-dom0.sh" 'bad;vm' --root "$tmp/d0" >"$tmp/o" 2>&1 || rc=$?
check "setup-dom0.sh refuses a bad VM name" test "$rc" = 1

snapshot() { # contents, modes and link targets of a tree
        (cd "$1" && find . -type f -exec md5sum {} + | sort && find . -printf '%p %m %l\n' | sort) | md5sum
}

# --- staging-root runs: dry run changes nothing, first run installs, second run is a no-op
for side in vm d0; do
        if [ $side = vm ]; then
                cmd=("$S/scripts/setup-vm.sh" --build "$B" --root "$tmp/vm" ollama)
                [ -x "$B/supervisor/qclaw-run" ] && [ -x "$B/proxy/qclaw-proxy" ] || {
                        echo "# qclaw-run/qclaw-proxy not built: VM setup skipped"; continue; }
        else
                cmd=("$S/scripts/setup-dom0.sh" work --build "$B" --root "$tmp/d0" --template debian-12)
        fi
        before=$(find "$tmp/$side" | sort | md5sum)
        "${cmd[@]}" --dry-run >"$tmp/dry" 2>&1
        check "$side: --dry-run changes nothing" test "$(find "$tmp/$side" | sort | md5sum)" = "$before"
        check "$side: --dry-run lists changes" grep -q "dry run: [0-9]* change(s) would be made" "$tmp/dry"
        "${cmd[@]}" >"$tmp/first" 2>&1
        check "$side: first run reports its actions" grep -qE "(install|link) " "$tmp/first"
        check "$side: first run made changes" grep -q "done: [0-9]* change(s)" "$tmp/first"
        snap=$(snapshot "$tmp/$side")
        "${cmd[@]}" >"$tmp/second" 2>&1
        check "$side: second run changes nothing" grep -q "nothing to do: already set up" "$tmp/second"
        check "$side: second run left files identical" \
                test "$(snapshot "$tmp/$side")" = "$snap"
done
if [ -e "$tmp/vm/usr/local/etc/qubes-rpc" ]; then
        check "vm: qclaw.Proxy is a fixed-port socket service" \
                test "$(readlink "$tmp/vm/usr/local/etc/qubes-rpc/qclaw.Proxy")" = /dev/tcp/127.0.0.1/32125
        check "vm: no qubes.ConnectTCP touched" test ! -e "$tmp/vm/etc/qubes-rpc/qubes.ConnectTCP" -a ! -e "$tmp/vm/usr/local/etc/qubes-rpc/qubes.ConnectTCP"
        check "vm: rpc-config installed" grep -q skip-service-descriptor=true "$tmp/vm/etc/qubes/rpc-config/qclaw.Proxy"
fi
check "dom0: policy names the VM and passes policy-check" \
        "$B/rpc/qclaw-admin" policy-check "$tmp/d0/etc/qubes/policy.d/30-qclaw.policy"
check "dom0: policy has no VMShell/VMExec/Filecopy rules" \
        bash -c "! grep -vE '^\s*#' '$tmp/d0/etc/qubes/policy.d/30-qclaw.policy' | grep -qE 'VMShell|VMExec|Filecopy'"
check "dom0: dom0.conf names the VM" grep -qx "QCLAW_VM=work" "$tmp/d0/etc/qclaw/dom0.conf"

echo "$fails failure(s)"
[ "$fails" = 0 ]
