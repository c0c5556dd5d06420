#!/usr/bin/env bash
# Regenerates proxy/hot-order.ld, the order in which the linker places the code and read-only data
# of qclaw-proxy's static archives (see proxy/meson.build). Runs BUILD_DIR's qclaw-proxy under
# callgrind against examples/mock-llm in three phases (start-up to idle; plain-HTTP requests;
# an HTTPS upstream whose certificate fails verification, which runs the handshake, CA store
# and verification code), and lists the archive members holding executed functions, phase by
# phase: what start-up runs comes first, packed together, then what requests add. Members nothing
# executed stay in .text/.rodata behind them. Needs valgrind, openssl, curl; run it after a
# library upgrade changes the archives (a stale list costs only locality, never correctness).
# Usage: proxy/gen-hot-order.sh BUILD_DIR   (writes proxy/hot-order.ld next to this script)
set -euo pipefail
B=$(realpath "${1:?usage: gen-hot-order.sh BUILD_DIR}")
SRC=$(dirname "$(realpath "$0")")
PROXY=$B/proxy/qclaw-proxy MOCK=$B/examples/mock-llm/mock-llm LOAD=$B/bench/bench-proxy
for f in "$PROXY" "$MOCK" "$LOAD"; do [ -x "$f" ] || { echo "missing $f"; exit 1; }; done
T=$(mktemp -d /tmp/qclaw-hot-order.XXXXXX); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# The map of the binary as linked now, without the current order file (fresh member names).
link_cmd=$(ninja -C "$B" -t commands proxy/qclaw-proxy | tail -1)
(cd "$B" && eval "${link_cmd//-Wl,-T,*hot-order.ld/} -o $T/proxy -Wl,-Map=$T/proxy.map")

"$MOCK" --listen 127.0.0.1:0 --quiet >"$T/m.out" 2>&1 & pids+=($!)
for _ in $(seq 100); do grep -qs '^listening on ' "$T/m.out" && break; sleep 0.05; done
FAST="http://$(sed -n 's/^listening on //p' "$T/m.out")"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 1 \
        -subj /CN=127.0.0.1 2>/dev/null
tport=$(free_port)
openssl s_server -accept "127.0.0.1:$tport" -cert "$T/cert.pem" -key "$T/key.pem" -www -quiet \
        >/dev/null 2>&1 & pids+=($!)
mkdir -p "$T/profiles"
echo '{"qclaw_profile":1,"name":"p","models":["*"],"sandbox":{"network":"proxy"}}' >"$T/profiles/p.json"
TOKEN=hot-order-token-0123456789; echo "$TOKEN" >"$T/token"; chmod 600 "$T/token"
port=$(free_port)
cat >"$T/p.json" <<EOC
{"qclaw_proxy":1,"listen":["127.0.0.1:$port"],"audit_log":"$T/audit.jsonl","profiles_dir":"$T/profiles",
 "audit_fsync":"never","clients":[{"name":"c","token_file":"$T/token","profile":"p"}],
 "providers":{"mock":{"type":"openai","base_url":"$FAST/v1","models":["gpt-*"]},
  "tls":{"type":"openai","base_url":"https://127.0.0.1:$tport/v1","models":["tls-*"]}}}
EOC
valgrind --tool=callgrind --callgrind-out-file="$T/cg.out" "$T/proxy" --config "$T/p.json" \
        >"$T/p.out" 2>"$T/p.err" & PP=$!; pids+=($!)
PURL=http://127.0.0.1:$port
for _ in $(seq 300); do curl -fs "$PURL/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
sleep 2
callgrind_control -d start "$PP" >/dev/null 2>&1
BENCH_TOKEN=$TOKEN "$LOAD" latency "$PURL/v1/chat/completions" 200 >/dev/null
curl -s -H "Authorization: Bearer $TOKEN" "$PURL/v1/models" >/dev/null
callgrind_control -d http "$PP" >/dev/null 2>&1
for _ in 1 2; do
        curl -s -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
                -d '{"model":"tls-x","messages":[{"role":"user","content":"hi"}]}' \
                "$PURL/v1/chat/completions" >/dev/null
done
kill -TERM "$PP"; wait "$PP" || true

python3 - "$T" "$SRC/hot-order.ld" <<'EOF'
import bisect, glob, re, subprocess, sys
T, out = sys.argv[1], sys.argv[2]
secs = []; cur = None
for line in open(f'{T}/proxy.map'):
    m = re.match(r'^ (\.\S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)', line)
    if m:
        secs.append((int(m.group(2), 16), int(m.group(3), 16), m.group(1), m.group(4))); cur = None
        continue
    m2 = re.match(r'^ (\.\S+)$', line.rstrip('\n'))
    if m2:
        cur = m2.group(1); continue
    m3 = re.match(r'^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)', line)
    if m3 and cur:
        secs.append((int(m3.group(1), 16), int(m3.group(2), 16), cur, m3.group(3)))
    cur = None
secs = sorted(s for s in secs if s[0] > 0 and s[1] > 0 and s[2].startswith('.text'))
starts = [s[0] for s in secs]
syms = {}
for l in subprocess.run(['nm', '--defined-only', f'{T}/proxy'], capture_output=True,
                        text=True).stdout.splitlines():
    f = l.split()
    if len(f) == 3 and f[1] in 'tTwW':
        syms.setdefault(f[2], int(f[0], 16))
def member(path):
    m = re.match(r'.*/([^/(]+\.a)\(([^)]+)\)$', path)
    return f'*{m.group(1)}:{m.group(2)}' if m else None
order = []; seen = set(); phases = []
# callgrind_control -d writes cg.out.1, cg.out.2; the part up to exit is cg.out itself.
parts = sorted(glob.glob(f'{T}/cg.out.*'), key=lambda p: int(p.rsplit('.', 1)[1]))
parts += [f'{T}/cg.out']
for part in parts:
    ann = subprocess.run(['callgrind_annotate', '--inclusive=no', '--threshold=100', part],
                         capture_output=True, text=True).stdout
    n0 = len(order)
    for l in ann.splitlines():
        m = re.match(r'^\s*[0-9,]+ \([ 0-9.]+%\)\s+\S+:(\S+) \[(.*)\]$', l)
        if not m or not m.group(2).endswith('/proxy'):
            continue
        a = syms.get(re.sub(r"'.*$", '', m.group(1)))
        if a is None:
            continue
        i = bisect.bisect_right(starts, a) - 1
        if i < 0 or not secs[i][0] <= a < secs[i][0] + secs[i][1]:
            continue
        mem = member(secs[i][3])
        if mem and mem not in seen:
            seen.add(mem); order.append(mem)
    phases.append((part, len(order) - n0))
with open(out, 'w') as f:
    f.write('/* qclaw-proxy: archive members in the order start-up, then requests, first run them\n'
            ' * (generated by proxy/gen-hot-order.sh from callgrind; phases: %s). Placed ahead\n'
            ' * of .text and .rodata so the pages the proxy runs are few and adjacent. */\n'
            % ', '.join(f'{n} members' for _, n in phases))
    for sec, name in (('.text', 'text'), ('.rodata', 'rodata')):
        f.write('SECTIONS\n{\n  .%s.qclaw_hot : {\n' % name)
        for mem in order:
            f.write(f'    {mem}({sec} {sec}.*)\n')
        f.write('  }\n}\nINSERT BEFORE %s;\n' % sec)
print(f'{out}: {len(order)} members ({", ".join(str(n) for _, n in phases)} by phase)')
EOF
