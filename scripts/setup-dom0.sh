#!/usr/bin/env bash
# setup-dom0.sh VM [--template T] [--mode tunnel|network] [--dry-run] [--root DIR]
# Sets dom0 up for the agent VM named VM: qclaw-admin, the qrexec policy
# /etc/qubes/policy.d/30-qclaw.policy (checked with qclaw-admin policy-check first), the log
# mirror /var/lib/qclaw/dom0 with qclaw-logsync.timer (pull every minute), and in tunnel mode
# qclaw-tunnel@32125 / @18789 (dom0's 127.0.0.1 into qclaw.Proxy / qclaw.Gateway). In network
# mode client VMs tagged qclaw-client reach the proxy through qrexec policy instead.
# --template T creates VM from template T when it does not exist yet.
# Idempotent; prints every action; refuses to run anywhere but dom0.
set -euo pipefail
SETUP_NAME=setup-dom0
. "$(dirname "${BASH_SOURCE[0]}")/setup-lib.sh"

VM=
TEMPLATE=
MODE=tunnel
while [ $# -gt 0 ]; do
        case $1 in
        --dry-run) DRY=1 ;;
        --root) ROOT=$(realpath -m "${2:?--root needs a directory}"); shift ;;
        --template) TEMPLATE=${2:?--template needs a template name}; shift ;;
        --mode) MODE=${2:?--mode needs tunnel or network}; shift ;;
        --build) BUILD=${2:?}; shift ;;
        -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option $1" ;;
        *) [ -z "$VM" ] || die "one VM only"; VM=$1 ;;
        esac
        shift
done
[ -n "$VM" ] || die "usage: setup-dom0.sh VM [--template T] [--mode tunnel|network] [--dry-run] [--root DIR]"
valid_vm_name "$VM" || die "invalid VM name '$VM' (a letter, then [A-Za-z0-9_.-], at most 31)"
case $MODE in tunnel | network) ;; *) die "--mode is tunnel or network" ;; esac
[ -z "$TEMPLATE" ] || valid_vm_name "$TEMPLATE" || die "invalid template name '$TEMPLATE'"

# --- dom0 only: /etc/qubes-release and the Qubes admin tools (in a staging root: its files)
if [ -e "$ROOT/usr/share/qubes/marker-vm" ]; then
        die "this is a Qubes VM, not dom0: run scripts/setup-vm.sh here, setup-dom0.sh in dom0"
fi
if [ -n "$ROOT" ]; then
        [ -e "$ROOT/etc/qubes-release" ] && [ -e "$ROOT/usr/bin/qvm-ls" ] ||
                die "not dom0 (no /etc/qubes-release and qvm-ls in $ROOT): refusing"
else
        [ -e /etc/qubes-release ] && { command -v qvm-ls >/dev/null || command -v qubesd >/dev/null; } ||
                die "not dom0 (no /etc/qubes-release with qubesd/qvm-ls): refusing to change this system"
fi
PREFIX=/usr/local
say "dom0${ROOT:+ (staging root $ROOT)}: agent VM $VM, mode $MODE"

# --- the agent VM
if [ -n "$TEMPLATE" ]; then
        if [ -z "$ROOT" ] && qvm-check -q "$VM" 2>/dev/null; then
                :
        else
                sys qvm-create --class AppVM --template "$TEMPLATE" --label red "$VM"
        fi
fi

need_build rpc/qclaw-admin
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- programs and units
ensure_file "$BUILD/rpc/qclaw-admin" "$PREFIX/bin/qclaw-admin" 0755
subst "$SETUP_SRC/units/dom0/qclaw-tunnel-exec.in" "$tmp/qclaw-tunnel-exec"
ensure_file "$tmp/qclaw-tunnel-exec" "$PREFIX/libexec/qclaw/qclaw-tunnel-exec" 0755
for u in qclaw-tunnel@.service qclaw-logsync.service; do
        subst "$SETUP_SRC/units/dom0/$u.in" "$tmp/$u"
        ensure_file "$tmp/$u" "/etc/systemd/system/$u" 0644
done
ensure_file "$SETUP_SRC/units/dom0/qclaw-logsync.timer" /etc/systemd/system/qclaw-logsync.timer 0644
ensure_dir /etc/qclaw 0755
ensure_content /etc/qclaw/dom0.conf 0644 <<CONF
# qclaw in dom0 (scripts/setup-dom0.sh): the agent VM the tunnel and logsync units talk to
QCLAW_VM=$VM
CONF
ensure_dir /var/lib/qclaw 0750
ensure_dir /var/lib/qclaw/dom0 0750

# --- qrexec policy, checked before it goes live (a bad policy.d file breaks every qrexec call)
sed "s/qclaw-vm/$VM/g" "$SETUP_SRC/policy/qubes/30-qclaw.policy" >"$tmp/30-qclaw.policy"
admin=$BUILD/rpc/qclaw-admin
if [ -x "$admin" ]; then
        "$admin" policy-check "$tmp/30-qclaw.policy" >/dev/null ||
                die "generated policy does not pass qclaw-admin policy-check"
fi
ensure_dir /etc/qubes/policy.d 0755
ensure_file "$tmp/30-qclaw.policy" /etc/qubes/policy.d/30-qclaw.policy 0644

# --- services
enable() { # enable UNIT: enable --now unless already enabled
        if [ -n "$ROOT" ]; then
                sys systemctl enable --now "$1"
        elif ! systemctl is-enabled -q "$1" 2>/dev/null; then
                sys systemctl enable --now "$1"
        fi
}
sys systemctl daemon-reload
enable qclaw-logsync.timer
if [ "$MODE" = tunnel ]; then
        enable qclaw-tunnel@32125.service
        enable qclaw-tunnel@18789.service
        say "tunnel: dom0 127.0.0.1:32125 -> $VM qclaw.Proxy, 127.0.0.1:18789 -> $VM qclaw.Gateway"
else
        say "network mode: tag client VMs (qvm-tags CLIENT add qclaw-client); in a client:"
        say "  socat TCP-LISTEN:32125,bind=127.0.0.1,reuseaddr,fork EXEC:\"qrexec-client-vm $VM qclaw.Proxy\""
fi
say "review: qclaw-admin logs $VM   |   qclaw-admin status $VM"
finish
