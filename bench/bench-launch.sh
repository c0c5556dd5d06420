#!/usr/bin/env bash
# qclaw-run launch cost and overhead, side by side in one run:
#  1. launch: `qclaw-run --profile demo -- /bin/true` (everything on: proxy attach, seccomp,
#     Landlock, cgroups, audit records) vs `bwrap --unshare-all ... /bin/true`: median ratio
#     (target <= 1.0);
#  2. supervisor RSS (VmHWM of qclaw-run while the agent runs; target <= 4 MiB);
#  3. syscall-heavy workloads inside vs outside (git status on a large tree, a C build):
#     ratio of medians (target <= 1.05).
# Usage: bench-launch.sh BUILD_DIR [N]. Needs root (drops to nobody) and the built qclaw-proxy.
set -euo pipefail
build=${1:?usage: bench-launch.sh BUILD_DIR [N]}
n=${2:-50}
src=$(cd "$(dirname "$0")/.." && pwd)
Q="$build/supervisor/qclaw-run"
[ "$(id -u)" = 0 ] || { echo "bench-launch: needs root"; exit 1; }
command -v bwrap >/dev/null || { echo "bench-launch: bwrap not installed"; exit 1; }
T=$(mktemp -d /tmp/qclaw-bench.XXXXXX)
chmod 755 "$T"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT
export QCLAW_PROFILES_DIR="$src/profiles"
mkdir -p "$T/run" "$T/ws"
chown nobody "$T/ws"
cat >"$T/proxy.json" <<JSON
{ "qclaw_proxy": 1, "listen": [], "control_socket": "$T/run/control.sock", "audit_log": "$T/audit.jsonl",
  "profiles_dir": "$QCLAW_PROFILES_DIR",
  "providers": { "openai": { "type": "openai", "base_url": "http://127.0.0.1:9/v1", "models": ["*"] } } }
JSON
"$build/proxy/qclaw-proxy" --config "$T/proxy.json" 2>"$T/proxy.err" &
pids+=($!)
for _ in $(seq 100); do [ -S "$T/run/control.sock" ] && break; sleep 0.05; done
[ -S "$T/run/control.sock" ] || { cat "$T/proxy.err"; exit 1; }

q() { "$Q" --profile demo --user nobody --workspace "$T/ws" --proxy-socket "$T/run/control.sock" \
        --audit-log "$T/audit.jsonl" -- "$@"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ms() { awk -v ns="$1" 'BEGIN {printf "%.2f", ns / 1e6}'; }

# 1. launch, interleaved so both see the same machine state.
q /bin/true && bwrap --unshare-all --ro-bind / / --dev /dev --proc /proc /bin/true # warm up
: >"$T/q.ns"; : >"$T/b.ns"
for _ in $(seq "$n"); do
        t0=$(date +%s%N); q /bin/true; t1=$(date +%s%N)
        bwrap --unshare-all --ro-bind / / --dev /dev --proc /proc /bin/true; t2=$(date +%s%N)
        echo $((t1 - t0)) >>"$T/q.ns"; echo $((t2 - t1)) >>"$T/b.ns"
done
qm=$(median <"$T/q.ns"); bm=$(median <"$T/b.ns")
echo "launch /bin/true (N=$n): qclaw-run demo median $(ms "$qm") ms, bwrap --unshare-all median $(ms "$bm") ms, ratio $(awk -v a="$qm" -v b="$bm" 'BEGIN {printf "%.2f", a / b}') (target <= 1.0)"

# 2. supervisor RSS while an agent runs.
q sleep 1 &
qp=$!
sleep 0.5
rss=$(awk '/^VmRSS/ {print $2}' /proc/$qp/status); hwm=$(awk '/^VmHWM/ {print $2}' /proc/$qp/status)
wait $qp
echo "supervisor memory: VmRSS $rss KiB, VmHWM $hwm KiB (target <= 4096 KiB)"

# 3. syscall-heavy workloads, inside vs outside (each timed where it runs).
w="$T/ws/tree"
mkdir -p "$w"
python3 - "$w" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(100):
    os.makedirs(f"{root}/d{d}", exist_ok=True)
    for f in range(200):
        with open(f"{root}/d{d}/f{f}.txt", "w") as fh:
            fh.write(f"{d} {f}\n")
PY
for i in $(seq 24); do printf 'int f%d(int x) { return x * %d + %d; }\n' "$i" "$i" "$i" >"$w/c$i.c"; done
printf 'int main(void) { return 0; }\n' >"$w/main.c"
printf 'OBJ := $(patsubst %%.c,%%.o,$(wildcard *.c))\nprog: $(OBJ)\n\tgcc -o $@ $^\n%%.o: %%.c\n\tgcc -O2 -c $< -o $@\nclean:\n\trm -f *.o prog\n' >"$w/Makefile"
chown -R nobody "$T/ws"
(cd "$w" && runuser -u nobody -- sh -c 'git init -q . && git add -A && git -c user.name=b -c user.email=b@b commit -qm t')
workload='cd tree; for i in $(seq 7); do t0=$(date +%s%N); git status --porcelain >/dev/null; t1=$(date +%s%N); echo "git $((t1 - t0))"; done
  for i in $(seq 5); do make -s clean; t0=$(date +%s%N); make -s prog >/dev/null; t1=$(date +%s%N); echo "make $((t1 - t0))"; done'
(cd "$T/ws" && runuser -u nobody -- sh -c "$workload") >"$T/out.txt"
(cd "$T/ws" && q sh -c "$workload") >"$T/in.txt"
for k in git make; do
        o=$(awk -v k=$k '$1 == k {print $2}' "$T/out.txt" | median)
        i=$(awk -v k=$k '$1 == k {print $2}' "$T/in.txt" | median)
        label=$([ $k = git ] && echo "git status (20k files)" || echo "C build (25 files, make)")
        echo "$label: outside $(ms "$o") ms, inside $(ms "$i") ms, ratio $(awk -v a="$i" -v b="$o" 'BEGIN {printf "%.3f", a / b}') (target <= 1.05)"
done
