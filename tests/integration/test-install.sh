#!/usr/bin/env bash
# `meson install` into a staging DESTDIR puts every piece where the programs and Qubes expect it:
# programs, man pages, profiles in /etc/qclaw/profiles, units, qrexec services and rpc-config.
set -euo pipefail
build=${QCLAW_BUILD_DIR:?}
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
DESTDIR=$dest meson install -C "$build" --no-rebuild --quiet >/dev/null
fail=0
check() { # description, test args...
        local what=$1; shift
        if test "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}
prefix=$(meson introspect "$build" --buildoptions | python3 -c \
        'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
for p in bin/qclaw-run bin/qclaw-admin sbin/qclaw-proxy; do
        check "$p installed and executable" -x "$dest$prefix/$p"
done
for m in man1/qclaw-run.1 man5/qclaw-profile.5 man8/qclaw-admin.8 man8/qclaw-proxy.8; do
        check "man page $m" -f "$dest$prefix/share/man/$m"
done
for p in claude-code codex openclaw aider offline demo; do
        check "profile $p in /etc/qclaw/profiles" -f "$dest/etc/qclaw/profiles/$p.json"
        "$build/rpc/qclaw-admin" check-profile "$dest/etc/qclaw/profiles/$p.json" >/dev/null ||
                { echo "FAIL: installed profile $p does not validate"; fail=1; }
done
for u in qclaw-proxy.service qclaw-agent@.service qclaw-tunnel@.service qclaw-logsync.service \
        qclaw-logsync.timer; do
        check "unit $u" -f "$dest$prefix/lib/systemd/system/$u"
done
check "qclaw.Proxy is a fixed-port socket service" \
        "$(readlink "$dest/etc/qubes-rpc/qclaw.Proxy")" = /dev/tcp/127.0.0.1/32125
check "qclaw.Gateway is a fixed-port socket service" \
        "$(readlink "$dest/etc/qubes-rpc/qclaw.Gateway")" = /dev/tcp/127.0.0.1/18789
check "qclaw.AuditLog points at its own program" \
        -x "$dest$(readlink "$dest/etc/qubes-rpc/qclaw.AuditLog")"
check "no generic port-taking service" ! -e "$dest/etc/qubes-rpc/qubes.ConnectTCP"
grep -q '^skip-service-descriptor=true' "$dest/etc/qubes/rpc-config/qclaw.Proxy" &&
        grep -q '^exit-on-service-eof=true' "$dest/etc/qubes/rpc-config/qclaw.Proxy" ||
        { echo "FAIL: qclaw.Proxy rpc-config"; fail=1; }
exit $fail
