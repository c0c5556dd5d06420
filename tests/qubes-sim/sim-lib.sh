# Simulated Qubes for tests and benchmarks (sourced, bash). Two network namespaces:
#   dom0 ($SIM_NS_DOM0): only loopback; runs qclaw-admin and the tunnel unit's socat.
#   vm   ($SIM_NS_VM):   loopback; runs examples/mock-llm and qclaw-proxy.
# The VM's qrexec world lives in $SIM/vms/$SIM_VM (etc/qubes-rpc, etc/qubes/rpc-config, netns,
# env), where the stand-in tests/qubes-sim/qrexec-client finds it through QSIM_ROOT.
# Needs: QCLAW_BUILD_DIR, QCLAW_SRC_DIR. Provides sim_up, sim_down, in_dom0, in_vm, sim_tunnel.

SIM_B=${QCLAW_BUILD_DIR:?QCLAW_BUILD_DIR not set}
SIM_S=${QCLAW_SRC_DIR:?QCLAW_SRC_DIR not set}
SIM_VM=${SIM_VM:-work}
SIM_QREXEC_CLIENT=$SIM_S/tests/qubes-sim/qrexec-client
SIM_PIDS=()

sim_skip() {
        echo "SKIP: $*"
        [ "${QCLAW_NO_SKIP:-0}" = 1 ] && exit 1
        exit 77
}

sim_check_prereqs() {
        [ "$(id -u)" = 0 ] || sim_skip "needs root (network namespaces)"
        local c
        for c in ip socat curl python3; do
                command -v "$c" >/dev/null || sim_skip "$c missing"
        done
        local b
        for b in examples/mock-llm/mock-llm proxy/qclaw-proxy rpc/qclaw-admin \
                rpc/qclaw-rpc-auditlog rpc/qclaw-rpc-status units/qclaw-tunnel@.service \
                units/qclaw-tunnel-exec; do
                [ -e "$SIM_B/$b" ] || sim_skip "$b not built"
        done
        ip netns add "qsim-probe-$$" 2>/dev/null || sim_skip "cannot create network namespaces"
        ip netns del "qsim-probe-$$"
}

in_dom0() { ip netns exec "$SIM_NS_DOM0" env QSIM_ROOT="$SIM/vms" "$@"; }
in_vm() { ip netns exec "$SIM_NS_VM" "$@"; }

# wait_for FILE REGEX: up to 10 s
sim_wait_line() {
        local i
        for i in $(seq 200); do
                grep -qsE "$2" "$1" && return 0
                sleep 0.05
        done
        echo "timed out waiting for /$2/ in $1" >&2
        cat "$1" >&2 || true
        return 1
}

sim_up() {
        SIM=$(mktemp -d /tmp/qclaw-qsim.XXXXXX)
        SIM_NS_DOM0=qsim-dom0-$$
        SIM_NS_VM=qsim-vm-$$
        ip netns add "$SIM_NS_DOM0"
        ip netns add "$SIM_NS_VM"
        ip -n "$SIM_NS_DOM0" link set lo up
        ip -n "$SIM_NS_VM" link set lo up

        # --- the VM's qrexec services, laid out as rpc/meson.build installs them
        local vr=$SIM/vms/$SIM_VM
        mkdir -p "$vr/etc/qubes-rpc" "$vr/usr/local/etc/qubes-rpc" "$vr/etc/qubes/rpc-config" \
                "$SIM/vm/profiles" "$SIM/mirror"
        echo "$SIM_NS_VM" >"$vr/netns"
        ln -s "$SIM_B/rpc/qclaw-rpc-auditlog" "$vr/etc/qubes-rpc/qclaw.AuditLog"
        ln -s "$SIM_B/rpc/qclaw-rpc-status" "$vr/etc/qubes-rpc/qclaw.Status"
        ln -s /dev/tcp/127.0.0.1/32125 "$vr/etc/qubes-rpc/qclaw.Proxy"
        ln -s /dev/tcp/127.0.0.1/18789 "$vr/etc/qubes-rpc/qclaw.Gateway"
        cp "$SIM_S"/rpc/rpc-config/qclaw.* "$vr/etc/qubes/rpc-config/"
        printf 'audit_log=%s\ncontrol_socket=%s\n' "$SIM/vm/audit.jsonl" \
                "$SIM/vm/control.sock" >"$SIM/vm/rpc.conf"
        printf 'QCLAW_RPC_CONF=%s\n' "$SIM/vm/rpc.conf" >"$vr/env"

        # --- mock-llm in the VM
        in_vm "$SIM_B/examples/mock-llm/mock-llm" --listen 127.0.0.1:0 --quiet \
                >"$SIM/mock.out" 2>"$SIM/mock.err" &
        SIM_PIDS+=($!)
        sim_wait_line "$SIM/mock.out" '^listening on '
        SIM_MOCK=$(sed -n 's/^listening on //p' "$SIM/mock.out")

        # --- qclaw-proxy in the VM: the ollama example's provider block pointed at mock-llm,
        # one TCP client (token) for dom0, a small rotation size so pulls cross rotated files
        SIM_TOKEN=qsim-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
        printf '%s\n' "$SIM_TOKEN" >"$SIM/vm/dom0.token"
        chmod 600 "$SIM/vm/dom0.token"
        python3 - "$SIM_S" "$SIM" "$SIM_MOCK" <<'PY'
import json, sys
src, sim, mock = sys.argv[1:4]
conf = json.load(open(src + "/examples/configs/ollama.json"))
conf["providers"]["ollama"]["base_url"] = "http://%s/v1" % mock
conf["control_socket"] = sim + "/vm/control.sock"
conf["audit_log"] = sim + "/vm/audit.jsonl"
conf["audit_rotate_bytes"] = 4096
conf["profiles_dir"] = sim + "/vm/profiles"
conf["clients"] = [{"name": "dom0", "token_file": sim + "/vm/dom0.token", "profile": "simclient"}]
json.dump(conf, open(sim + "/vm/proxy.json", "w"), indent=1)
prof = json.load(open(src + "/profiles/default.json"))
prof["name"] = "simclient"
prof["models"] = ["ollama/*"]
prof["limits"]["requests_per_minute"] = 100000  # benchmarks send hundreds a minute
json.dump(prof, open(sim + "/vm/profiles/simclient.json", "w"), indent=1)
PY
        in_vm "$SIM_B/proxy/qclaw-proxy" --config "$SIM/vm/proxy.json" \
                >"$SIM/proxy.out" 2>"$SIM/proxy.err" &
        SIM_PIDS+=($!)
        local i
        for i in $(seq 200); do
                in_vm curl -s -o /dev/null http://127.0.0.1:32125/healthz && break
                sleep 0.05
        done
        in_vm curl -sf -o /dev/null http://127.0.0.1:32125/healthz || {
                cat "$SIM/proxy.err" >&2
                return 1
        }
}

# The tunnel unit's ExecStart, parsed like systemd (shell-like words), with %i and ${QCLAW_VM}
# substituted, the installed libexec path pointing at the build dir; the qrexec client is
# swapped for the stand-in through QCLAW_QREXEC_CLIENT (the unit's own Environment= line).
sim_tunnel_argv() {
        python3 - "$SIM_B/units/qclaw-tunnel@.service" "$1" "$SIM_VM" "$SIM_B/units" <<'PY'
import re, shlex, sys
unit, port, vm, libexec = sys.argv[1:5]
line = [l for l in open(unit) if l.startswith("ExecStart=")][0][len("ExecStart="):].strip()
line = line.replace("%i", port).replace("${QCLAW_VM}", vm)
words = shlex.split(line)
words = [re.sub(r"/[^ ]*/libexec/qclaw/", libexec + "/", w) for w in words]
print("\0".join(words), end="")
PY
}

sim_tunnel() {
        local port=$1
        local -a argv
        mapfile -d '' argv < <(sim_tunnel_argv "$port")
        in_dom0 env QCLAW_QREXEC_CLIENT="$SIM_QREXEC_CLIENT" "${argv[@]}" \
                >"$SIM/tunnel-$port.out" 2>"$SIM/tunnel-$port.err" &
        SIM_PIDS+=($!)
        local i
        for i in $(seq 200); do
                in_dom0 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null && return 0
                sleep 0.05
        done
        cat "$SIM/tunnel-$port.err" >&2
        return 1
}

sim_down() {
        local p
        for p in "${SIM_PIDS[@]}"; do
                kill "$p" 2>/dev/null || true
        done
        for p in "${SIM_PIDS[@]}"; do
                wait "$p" 2>/dev/null || true
        done
        SIM_PIDS=()
        # SIM_PIDS are the subshells that ran `ip netns exec` in the background; whatever they
        # started lives on in the namespaces: end every process still in them.
        local ns sig
        for sig in TERM KILL; do
                for ns in ${SIM_NS_DOM0-} ${SIM_NS_VM-}; do
                        ip netns pids "$ns" 2>/dev/null | xargs -r kill -s "$sig" 2>/dev/null || true
                done
                [ "$sig" = TERM ] && sleep 0.2
        done
        [ -n "${SIM_NS_DOM0-}" ] && ip netns del "$SIM_NS_DOM0" 2>/dev/null
        [ -n "${SIM_NS_VM-}" ] && ip netns del "$SIM_NS_VM" 2>/dev/null
        [ -n "${SIM-}" ] && [ -d "$SIM" ] && rm -rf "$SIM"
        return 0
}
