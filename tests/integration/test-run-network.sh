#!/usr/bin/env bash
# qclaw-run networking: "none" is loopback only; "proxy" reaches exactly the proxy (real
# qclaw-proxy + mock-llm) through the listener made inside; publish forwards host -> sandbox;
# the agent holds no socket fd of the supervisor's.
source "$(dirname "$0")/test-run-lib.sh"

# A host listener the sandbox must not reach.
canary=$(free_port)
python3 -m http.server "$canary" --bind 127.0.0.1 --directory "$T" >/dev/null 2>&1 &
_pids+=($!)
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$canary/" && break; sleep 0.1; done

# --- network none ---
out=$(run_q offline sh -c '
  sed -n "3,\$p" /proc/net/dev | cut -d: -f1 | tr -d " "
  curl -s -m 3 -o /dev/null http://127.0.0.1:'"$canary"'/ && echo "canary-reached"
  curl -s -m 3 -o /dev/null http://127.0.0.1:32125/healthz && echo "proxy-port-reached"
  echo end')
check "none: only lo" [ "$(sed -n 1p <<<"$out")" = lo ] 
check "none: only lo (one interface)" [ "$(sed -n 2p <<<"$out")" = end ]
check "none: host loopback listener unreachable" not grep -q canary-reached <<<"$out"
check "none: no proxy port" not grep -q proxy-port-reached <<<"$out"

# --- network proxy ---
start_proxy
out=$(run_q demo sh -c '
  curl -s -m 5 -w "\n%{http_code}\n" http://127.0.0.1:32125/healthz
  curl -s -m 3 -o /dev/null http://127.0.0.1:'"$canary"'/ && echo "canary-reached"
  curl -s -m 3 -o /dev/null http://1.1.1.1/ && echo "internet-reached"
  env | grep -E "^(OPENAI|ANTHROPIC)_" | sort
  for f in /proc/$$/fd/*; do readlink "$f" || true; done | grep -c "socket:" || true')
check "proxy: /healthz answers 200 through the session listener" grep -qx 200 <<<"$out"
check "proxy: host loopback listener unreachable" not grep -q canary-reached <<<"$out"
check "proxy: internet unreachable" not grep -q internet-reached <<<"$out"
check "proxy: OPENAI_BASE_URL" grep -qx 'OPENAI_BASE_URL=http://127.0.0.1:32125/v1' <<<"$out"
check "proxy: OPENAI_API_BASE" grep -qx 'OPENAI_API_BASE=http://127.0.0.1:32125/v1' <<<"$out"
check "proxy: ANTHROPIC_BASE_URL" grep -qx 'ANTHROPIC_BASE_URL=http://127.0.0.1:32125' <<<"$out"
check "proxy: placeholder OPENAI_API_KEY" grep -qx 'OPENAI_API_KEY=qclaw-placeholder' <<<"$out"
check "proxy: placeholder ANTHROPIC_API_KEY" grep -qx 'ANTHROPIC_API_KEY=qclaw-placeholder' <<<"$out"
check "proxy: the agent holds no socket fd (listener, control)" [ "$(tail -n 1 <<<"$out")" = 0 ]
check "proxy: the session was attached" grep -q 'attached (profile demo' "$T/proxy.err"
check "proxy: the upstream key never reaches the sandbox" not grep -q sk-upstream-test <<<"$out"

# A chat completion through the proxy (curl) and, when the test clients are installed, a real SDK.
out=$(run_q demo sh -c 'curl -s -m 10 "$OPENAI_BASE_URL/chat/completions" -H "content-type: application/json" \
        -d "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"' || true)
check "proxy: chat completion through the proxy" grep -q '"choices"' <<<"$out"
clients="$QCLAW_SRC_DIR/tests/clients"
if [ -d "$clients/node_modules/openai" ]; then
        # The clients go into the workspace: the demo profile binds nothing else of the tree.
        cp -r "$clients" "$WS/clients"
        chown -R "$AGENT_USER" "$WS/clients"
        out=$(run_q demo node -e '
          const OpenAI = require("./clients/node_modules/openai");
          new OpenAI().chat.completions.create({model: "gpt-4o-mini",
            messages: [{role: "user", content: "hi"}]})
          .then(r => console.log("sdk-ok", r.choices[0].message.content.length > 0))
          .catch(e => { console.log("sdk-fail", String(e)); process.exit(1); });' 2>&1 || true)
        check "proxy: openai SDK call (node) succeeds" grep -q 'sdk-ok true' <<<"$out"
else
        echo "# tests/clients not installed (./dev deps): SDK call not run"
fi

# --- publish ---
port=$(free_port)
prof=$(write_profile pub '{"network": "none", "publish": ['"$port"'], "filesystem": {
  "read_only": ["/usr", "/bin", "/lib", "/lib64", "/etc"], "read_write": ["$WORKSPACE"], "tmpfs": ["/tmp"]}}')
echo "inside-the-sandbox" >"$WS/served.txt"
run_q "$prof" sh -c 'python3 -m http.server '"$port"' --bind 127.0.0.1 >/dev/null 2>&1 &
  for i in $(seq 100); do [ -e done ] && exit 0; sleep 0.1; done; exit 9' &
qpid=$!
got=""
for _ in $(seq 50); do
        got=$(curl -s -m 2 "http://127.0.0.1:$port/served.txt" || true)
        [ -n "$got" ] && break
        sleep 0.1
done
big=$(curl -s -m 5 "http://127.0.0.1:$port/served.txt" -o /dev/null -w '%{http_code}' || true)
touch "$WS/done"
rc=0; wait $qpid || rc=$?
check "publish: host 127.0.0.1:$port reaches the server inside" [ "$got" = inside-the-sandbox ]
check "publish: a second connection works too" [ "$big" = 200 ]
check "publish: the agent exited normally" [ "$rc" = 0 ]
check "publish: nothing listens on the host port after the session" not curl -s -m 1 "http://127.0.0.1:$port/"
finish
