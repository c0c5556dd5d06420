#!/usr/bin/env bash
# setup-vm.sh [--dry-run] [--root DIR] [--vm-type T] [--old-qrexec] [PROVIDER...]
# Sets qclaw up inside the Qubes agent VM: programs, qrexec services (qclaw.AuditLog,
# qclaw.Status, qclaw.Proxy, qclaw.Gateway) with their rpc-config, the proxy's user, config and
# profiles, and the systemd units, so everything comes back after a reboot. PROVIDERs pick the
# blocks of examples/configs/PROVIDER.json for a new /etc/qclaw/proxy.json (default: ollama).
# Idempotent; prints every action; refuses to run anywhere but a Qubes VM.
# Layout: TemplateVM / StandaloneVM: /usr, /etc, units enabled. AppVM (only /rw, /home and
# /usr/local persist): /usr/local, /usr/local/etc/qubes-rpc, bind-dirs for /etc/qclaw,
# /var/lib/qclaw, /etc/credstore and the rpc-config files, and /rw/config/rc.local starts the
# units at boot.
set -euo pipefail
SETUP_NAME=setup-vm
. "$(dirname "${BASH_SOURCE[0]}")/setup-lib.sh"

VM_TYPE=
OLD_QREXEC=0
providers=()
while [ $# -gt 0 ]; do
        case $1 in
        --dry-run) DRY=1 ;;
        --root) ROOT=$(realpath -m "${2:?--root needs a directory}"); shift ;;
        --vm-type) VM_TYPE=${2:?}; shift ;;
        --old-qrexec) OLD_QREXEC=1 ;;
        --build) BUILD=${2:?}; shift ;;
        -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option $1" ;;
        *) providers+=("$1") ;;
        esac
        shift
done
[ ${#providers[@]} -gt 0 ] || providers=(ollama)
for p in "${providers[@]}"; do
        [[ $p =~ ^[a-z0-9]+$ ]] && [ -f "$SETUP_SRC/examples/configs/$p.json" ] ||
                die "unknown provider '$p' (have: $(cd "$SETUP_SRC/examples/configs" && ls *.json | sed 's/\.json//' | grep -v '^all$' | tr '\n' ' '))"
done

# --- where are we? (in a staging root, the root's marker files decide)
if [ -e "$ROOT/etc/qubes-release" ] && { [ -n "$ROOT" ] || command -v qvm-ls >/dev/null; }; then
        die "this is dom0: run scripts/setup-dom0.sh here, and setup-vm.sh inside the agent VM"
fi
if [ -e "$ROOT/usr/share/qubes/marker-vm" ]; then
        :
elif [ -z "$ROOT" ] && command -v qubesdb-read >/dev/null && qubesdb-read /type >/dev/null 2>&1; then
        :
else
        die "not a Qubes VM (no /usr/share/qubes/marker-vm, no qubesdb): refusing to change this system"
fi
if [ -z "$VM_TYPE" ]; then
        if [ -z "$ROOT" ] && command -v qubesdb-read >/dev/null; then
                VM_TYPE=$(qubesdb-read /type 2>/dev/null || echo AppVM)
        else
                VM_TYPE=AppVM
        fi
fi
case $VM_TYPE in
AppVM | DispVM) PREFIX=/usr/local; RPCDIR=/usr/local/etc/qubes-rpc; PERSIST=rclocal ;;
TemplateVM | StandaloneVM) PREFIX=/usr; RPCDIR=/etc/qubes-rpc; PERSIST=enable ;;
*) die "unknown VM type '$VM_TYPE'" ;;
esac
say "Qubes $VM_TYPE${ROOT:+ (staging root $ROOT)}: installing under $PREFIX, services in $RPCDIR"

# qrexec >= 4.2.19 has /dev/tcp socket services; older ones get the executable fallbacks
if [ "$OLD_QREXEC" = 0 ] && [ -z "$ROOT" ]; then
        v=$(dpkg-query -W -f '${Version}' qubes-core-qrexec 2>/dev/null ||
                rpm -q --qf '%{VERSION}' qubes-core-qrexec-vm 2>/dev/null || true)
        if [ -n "$v" ] && [ "$(printf '%s\n4.2.19\n' "$v" | sort -V | head -1)" != 4.2.19 ]; then
                say "qrexec $v is older than 4.2.19: using the executable fallbacks for TCP services"
                OLD_QREXEC=1
        fi
fi

need_build supervisor/qclaw-run proxy/qclaw-proxy rpc/qclaw-admin rpc/qclaw-rpc-auditlog \
        rpc/qclaw-rpc-status
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- programs
for b in supervisor/qclaw-run proxy/qclaw-proxy rpc/qclaw-admin; do
        ensure_file "$BUILD/$b" "$PREFIX/bin/${b##*/}" 0755
done
L=$PREFIX/libexec/qclaw
ensure_file "$BUILD/rpc/qclaw-rpc-auditlog" "$L/qclaw-rpc-auditlog" 0755
ensure_file "$BUILD/rpc/qclaw-rpc-status" "$L/qclaw-rpc-status" 0755
subst "$SETUP_SRC/units/vm/qclaw-proxy-start.in" "$tmp/qclaw-proxy-start"
ensure_file "$tmp/qclaw-proxy-start" "$L/qclaw-proxy-start" 0755

# --- qrexec services: dedicated programs and fixed-port socket services, nothing generic
ensure_dir "$RPCDIR" 0755
ensure_symlink "$L/qclaw-rpc-auditlog" "$RPCDIR/qclaw.AuditLog"
ensure_symlink "$L/qclaw-rpc-status" "$RPCDIR/qclaw.Status"
for sp in qclaw.Proxy:32125 qclaw.Gateway:18789; do
        svc=${sp%%:*} port=${sp##*:}
        if [ "$OLD_QREXEC" = 1 ]; then
                sed -e "s|@SERVICE@|$svc|g" -e "s|@PORT@|$port|g" \
                        "$SETUP_SRC/rpc/services/tcp-fallback.in" >"$tmp/$svc"
                ensure_file "$tmp/$svc" "$RPCDIR/$svc" 0755
        else
                ensure_symlink "/dev/tcp/127.0.0.1/$port" "$RPCDIR/$svc"
        fi
done
for svc in qclaw.AuditLog qclaw.Status qclaw.Proxy qclaw.Gateway; do
        ensure_file "$SETUP_SRC/rpc/rpc-config/$svc" "/etc/qubes/rpc-config/$svc" 0644
done

# --- the proxy's user, configuration, profiles, key store
ensure_file "$SETUP_SRC/units/vm/qclaw.sysusers" "$PREFIX/lib/sysusers.d/qclaw.conf" 0644
ensure_dir /etc/qclaw 0755
ensure_dir /etc/qclaw/profiles 0755
for f in "$SETUP_SRC"/profiles/*.json; do
        ensure_keep "$f" "/etc/qclaw/profiles/${f##*/}" 0644
done
python3 - "$SETUP_SRC/examples/configs" "$tmp/proxy.json" "${providers[@]}" <<'PY'
import json, sys
src, out, provs = sys.argv[1], sys.argv[2], sys.argv[3:]
conf = json.load(open("%s/%s.json" % (src, provs[0])))
for p in provs[1:]:
    conf["providers"].update(json.load(open("%s/%s.json" % (src, p)))["providers"])
json.dump(conf, open(out, "w"), indent=2)
open(out, "a").write("\n")
PY
ensure_keep "$tmp/proxy.json" /etc/qclaw/proxy.json 0644
ensure_dir /etc/credstore 0700
for var in $(grep -oE '\$\{[A-Z0-9_]+\}' "$ROOT/etc/qclaw/proxy.json" "$tmp/proxy.json" 2>/dev/null |
        sed 's/.*\${\(.*\)}/\1/' | sort -u); do
        [ "$var" = CREDENTIALS_DIRECTORY ] && continue
        [ -s "$ROOT/etc/credstore/$var" ] ||
                say "note: put the key in /etc/credstore/$var (install -m 600 /dev/stdin /etc/credstore/$var)"
done

# --- systemd units
U=$PREFIX/lib/systemd/system
for u in qclaw-proxy.service qclaw-agent@.service; do
        subst "$SETUP_SRC/units/vm/$u.in" "$tmp/$u"
        ensure_file "$tmp/$u" "$U/$u" 0644
done
ensure_dir /var/lib/qclaw 0750

# --- persistence across reboots
if [ "$PERSIST" = rclocal ]; then
        ensure_content /rw/config/qubes-bind-dirs.d/50_qclaw.conf 0644 <<'BIND'
# qclaw (scripts/setup-vm.sh): keep config, keys, the audit log and rpc-config across reboots
binds+=( '/etc/qclaw' '/etc/credstore' '/var/lib/qclaw' )
binds+=( '/etc/qubes/rpc-config/qclaw.AuditLog' '/etc/qubes/rpc-config/qclaw.Status' )
binds+=( '/etc/qubes/rpc-config/qclaw.Proxy' '/etc/qubes/rpc-config/qclaw.Gateway' )
BIND
        marker='# qclaw: start the proxy and agents at boot (scripts/setup-vm.sh)'
        if ! grep -qsF "$marker" "$ROOT/rw/config/rc.local"; then
                act "add qclaw start-up to /rw/config/rc.local" sh -c '
                        mkdir -p "$(dirname "$1")"
                        [ -e "$1" ] || printf "#!/bin/sh\n" >"$1"
                        chmod 0755 "$1"
                        cat >>"$1" <<RC
$2
systemd-sysusers
systemctl daemon-reload
systemctl --no-block start qclaw-proxy.service
for f in /etc/qclaw/agents/*.env; do [ -e "\$f" ] && systemctl --no-block start "qclaw-agent@\$(basename "\$f" .env).service"; done
RC' _ "$ROOT/rw/config/rc.local" "$marker"
        fi
fi
sys systemd-sysusers
sys systemctl daemon-reload
if [ "$PERSIST" = enable ] && [ -z "$ROOT" ] && ! systemctl is-enabled -q qclaw-proxy.service 2>/dev/null; then
        sys systemctl enable --now qclaw-proxy.service
elif [ -z "$ROOT" ] && ! systemctl is-active -q qclaw-proxy.service 2>/dev/null; then
        sys systemctl start qclaw-proxy.service
fi
say "agents: write /etc/qclaw/agents/PROFILE.env (QCLAW_AGENT_USER, QCLAW_WORKSPACE, QCLAW_AGENT_CMD), then systemctl enable --now qclaw-agent@PROFILE"
finish
