#!/usr/bin/env bash
# qclaw-run launch cost and overhead, measured side by side in one run:
#  1. launch: `qclaw-run --profile demo -- /bin/true` (everything on: proxy attach, seccomp,
#     Landlock, cgroups, audit records) vs `bwrap --unshare-all --ro-bind / / --dev /dev
#     --proc /proc /bin/true`, alternating (and alternating which goes first): median, p90 and
#     the ratio of medians (target <= 1.0);
#  2. supervisor memory: VmHWM of qclaw-run while an agent runs (target <= 4 MiB);
#  3. syscall-heavy workloads inside vs outside, alternating, each timed where it runs (no
#     launch cost in it): `git status` on a 20k-file tree and a C build (200 files, make -j2):
#     ratio of medians (target <= 1.05).
# A real qclaw-proxy and mock-llm run in a temp dir for the proxy attach (as the integration
# tests do). Usage: bench-launch.sh BUILD_DIR [LAUNCHES] [ROUNDS]. Needs root (drops to nobody).
# BENCH_LAUNCH_ONLY=1 stops after 1 (for quick iterations on the launch path).
set -euo pipefail
build=${1:?usage: bench-launch.sh BUILD_DIR [LAUNCHES] [ROUNDS]}
n=${2:-60}
rounds=${3:-5}
src=$(cd "$(dirname "$0")/.." && pwd)
Q="$build/supervisor/qclaw-run"
[ "$(id -u)" = 0 ] || { echo "bench-launch: needs root"; exit 1; }
command -v bwrap >/dev/null || { echo "bench-launch: bwrap not installed"; exit 1; }
for b in "$Q" "$build/proxy/qclaw-proxy" "$build/examples/mock-llm/mock-llm"; do
        [ -x "$b" ] || { echo "bench-launch: $b not built"; exit 1; }
done
T=$(mktemp -d /tmp/qclaw-bench.XXXXXX)
chmod 755 "$T"
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
        rm -rf "$T"
}
trap cleanup EXIT
export QCLAW_PROFILES_DIR="$src/profiles"

# --- mock-llm + qclaw-proxy (the demo profile attaches to it) ---
"$build/examples/mock-llm/mock-llm" --listen 127.0.0.1:0 --quiet >"$T/mock.out" 2>"$T/mock.err" &
pids+=($!)
for _ in $(seq 100); do grep -q '^listening on' "$T/mock.out" && break; sleep 0.05; done
addr=$(sed -n 's/^listening on //p' "$T/mock.out")
[ -n "$addr" ] || { cat "$T/mock.err"; echo "bench-launch: mock-llm did not start"; exit 1; }
mkdir -p "$T/run" "$T/ws"
chown nobody "$T/ws"
cat >"$T/proxy.json" <<JSON
{ "qclaw_proxy": 1, "listen": [], "control_socket": "$T/run/control.sock",
  "control_users": ["nobody"], "audit_log": "$T/proxy-audit.jsonl",
  "profiles_dir": "$QCLAW_PROFILES_DIR",
  "providers": {
    "openai": { "type": "openai", "base_url": "http://$addr/v1", "api_key": "bench", "models": ["gpt-4o-mini"] },
    "anthropic": { "type": "anthropic", "base_url": "http://$addr", "api_key": "bench", "models": ["claude-sonnet-4-5"] } } }
JSON
"$build/proxy/qclaw-proxy" --config "$T/proxy.json" 2>"$T/proxy.err" &
pids+=($!)
for _ in $(seq 100); do [ -S "$T/run/control.sock" ] && break; sleep 0.05; done
[ -S "$T/run/control.sock" ] || { cat "$T/proxy.err"; echo "bench-launch: qclaw-proxy did not start"; exit 1; }

q() { "$Q" --profile demo --user nobody --workspace "$T/ws" --proxy-socket "$T/run/control.sock" \
        --audit-log "$T/audit.jsonl" -- "$@"; }
b() { bwrap --unshare-all --ro-bind / / --dev /dev --proc /proc "$@"; }
# outside: the same user and a comparable environment, no sandbox
o() { setpriv --reuid=nobody --regid=nogroup --clear-groups \
        env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/nonexistent LANG=C.UTF-8 "$@"; }
now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }
# quantile Q (0..1) of numbers on stdin, nearest rank; median is the mean of the middle two
quantile() { sort -n | awk -v q="$1" '{a[NR]=$1} END {
        if (q == 0.5) { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }
        else { i = int(q * NR + 0.999999); if (i < 1) i = 1; print a[i] } }'; }
ms() { awk -v us="$1" 'BEGIN {printf "%.2f", us / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN {print (r <= t) ? "ok" : "OVER TARGET"}'; }

# --- 1. launch, interleaved so both see the same machine state ---
for _ in 1 2 3; do q /bin/true; b /bin/true; done # warm caches
: >"$T/q.us"; : >"$T/b.us"
for i in $(seq "$n"); do
        if [ $((i % 2)) = 0 ]; then
                t0=$(now_us); q /bin/true; t1=$(now_us); b /bin/true; t2=$(now_us)
                echo $((t1 - t0)) >>"$T/q.us"; echo $((t2 - t1)) >>"$T/b.us"
        else
                t0=$(now_us); b /bin/true; t1=$(now_us); q /bin/true; t2=$(now_us)
                echo $((t1 - t0)) >>"$T/b.us"; echo $((t2 - t1)) >>"$T/q.us"
        fi
done
qm=$(quantile 0.5 <"$T/q.us"); bm=$(quantile 0.5 <"$T/b.us")
q9=$(quantile 0.9 <"$T/q.us"); b9=$(quantile 0.9 <"$T/b.us")
lr=$(ratio "$qm" "$bm")
echo "launch /bin/true, $n alternating runs:"
echo "  qclaw-run --profile demo     median $(ms "$qm") ms  p90 $(ms "$q9") ms"
echo "  bwrap --unshare-all          median $(ms "$bm") ms  p90 $(ms "$b9") ms"
echo "  ratio of medians $lr (target <= 1.0: $(verdict "$lr" 1.0)), p90 ratio $(ratio "$q9" "$b9")"
[ "${BENCH_LAUNCH_ONLY:-0}" = 1 ] && exit 0

# --- 2. supervisor memory while an agent runs ---
q sleep 0.6 &
qp=$!
sleep 0.4
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$qp/status" 2>/dev/null || echo 0)
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$qp/status" 2>/dev/null || echo 0)
wait $qp
echo "supervisor memory: VmHWM $hwm KiB, VmRSS $rss KiB (target <= 4096 KiB: $(verdict "$hwm" 4096))"

# --- 3. workloads inside vs outside ---
w="$T/ws/tree"
mkdir -p "$w" "$T/ws/cbuild"
python3 - "$w" "$T/ws/cbuild" <<'PY'
import os, sys
root, cb = sys.argv[1], sys.argv[2]
for d in range(100):
    os.makedirs(f"{root}/d{d}", exist_ok=True)
    for f in range(200):
        with open(f"{root}/d{d}/f{f}.txt", "w") as fh:
            fh.write(f"{d} {f}\n")
for i in range(200):
    with open(f"{cb}/c{i}.c", "w") as fh:
        fh.write(f'#include <stdio.h>\n#include <string.h>\n'
                 f'int f{i}(const char *s) {{ return (int)strlen(s) * {i} + {i}; }}\n')
with open(f"{cb}/main.c", "w") as fh:
    fh.write("int main(void) { return 0; }\n")
with open(f"{cb}/Makefile", "w") as fh:
    fh.write("OBJ := $(patsubst %.c,%.o,$(wildcard *.c))\nprog: $(OBJ)\n\tgcc -o $@ $^\n"
             "%.o: %.c\n\tgcc -O2 -c $< -o $@\nclean:\n\trm -f *.o prog\n")
PY
chown -R nobody "$T/ws"
(cd "$w" && o sh -c 'git init -q . && git add -A && git -c user.name=b -c user.email=b@b commit -qm t')
# A second later, refresh the index once: no "racily clean" entries (whose contents git would
# re-read on every status) depend on which side ran first.
sleep 1.1
(cd "$w" && o git update-index -q --really-refresh && o git status --porcelain >/dev/null)
# each prints "git REAL USER SYS" / "make REAL USER SYS" (seconds), timed where it runs
gitw='cd '"$w"'; TIMEFORMAT="git %R %U %S"; for i in 1 2 3; do time git status --porcelain >/dev/null; done 2>&1'
makew='cd '"$T/ws/cbuild"'; make -s clean; TIMEFORMAT="make %R %U %S"; { time make -s -j2 prog >/dev/null; } 2>&1'
o bash -c "$gitw" >/dev/null; q bash -c "$gitw" >/dev/null # warm the page cache
: >"$T/out.txt"; : >"$T/in.txt"
for i in $(seq "$rounds"); do
        if [ $((i % 2)) = 0 ]; then
                o bash -c "$gitw; $makew" >>"$T/out.txt"; q bash -c "$gitw; $makew" >>"$T/in.txt"
        else
                q bash -c "$gitw; $makew" >>"$T/in.txt"; o bash -c "$gitw; $makew" >>"$T/out.txt"
        fi
done
# wall time is the target; CPU time (user+sys) is shown too: on a shared 2-core machine it
# is the steadier measure of what the sandbox adds
for k in git make; do
        ov=$(awk -v k=$k '$1 == k {print $2 * 1e6}' "$T/out.txt" | quantile 0.5)
        iv=$(awk -v k=$k '$1 == k {print $2 * 1e6}' "$T/in.txt" | quantile 0.5)
        oc=$(awk -v k=$k '$1 == k {print ($3 + $4) * 1e6}' "$T/out.txt" | quantile 0.5)
        ic=$(awk -v k=$k '$1 == k {print ($3 + $4) * 1e6}' "$T/in.txt" | quantile 0.5)
        cnt=$(awk -v k=$k '$1 == k' "$T/in.txt" | wc -l)
        r=$(ratio "$iv" "$ov")
        label=$([ $k = git ] && echo "git status, 20k files" || echo "C build, 200 files, make -j2")
        echo "$label ($cnt runs each): outside $(ms "$ov") ms, inside $(ms "$iv") ms, ratio $r (target <= 1.05: $(verdict "$r" 1.05)); CPU $(ms "$oc") vs $(ms "$ic") ms, ratio $(ratio "$ic" "$oc")"
done
