#!/usr/bin/env bash
# qclaw-proxy session listeners over the control socket: a helper (python3) binds a listener,
# sends "attach" with the fd in SCM_RIGHTS; requests through it get the session's profile
# whatever headers they carry; "status" reports the session; a peer that is not allowed gets
# "permission denied" (control_groups also match supplementary groups); closing the control
# connection closes the listener.
set -euo pipefail
. "$(dirname "$0")/test-proxy-lib.sh"

start_mock m
write_config "$MOCK_URL" "$MOCK_URL"
start_proxy
CTL=$T/run/control.sock
t "control socket is 0660" eq "$(stat -c %a "$CTL")" 660

cat >"$T/attach.py" <<'PY'
import array, json, os, socket, sys, time
ctl, sid, profile, out = sys.argv[1:5]
c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
c.connect(ctl)
if sid == "-status":
    c.send(json.dumps({"op": "status"}).encode())
    print(c.recv(65536).decode(), flush=True)
    sys.exit(0)
L = socket.socket()
L.bind(("127.0.0.1", 0))
L.listen(16)
msg = json.dumps({"op": "attach", "session": sid, "profile": profile, "pid": os.getpid()}).encode()
c.sendmsg([msg], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [L.fileno()]))])
reply = c.recv(65536).decode()
port = L.getsockname()[1]
L.close()  # the proxy holds its own copy now
with open(out + ".tmp", "w") as f:
    f.write(json.dumps({"reply": json.loads(reply), "port": port}))
os.rename(out + ".tmp", out)
while not os.path.exists(out + ".end"):
    time.sleep(0.05)
c.close()
PY

# attach a session with profile "small" (only oa/gpt-4o-mini)
python3 "$T/attach.py" "$CTL" s-test1 small "$T/s1" &
helper=$!
PIDS+=($helper)
wait_for 10 test -f "$T/s1"
t "attach: ok" eq "$(jq -r .reply.ok "$T/s1")" true
SPORT=$(jq -r .port "$T/s1")
SURL=http://127.0.0.1:$SPORT

code=$(curl -sS -o "$T/b" -w '%{http_code}' "$SURL/v1/chat/completions" -d "$(chat gpt-4o-mini 'via session')")
t "session listener: no token needed" eq "$code" 200
t "session listener: answer" eq "$(jq -r .choices[0].message.content "$T/b")" "echo: via session"
code=$(curl -sS -o "$T/b" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" -H "x-api-key: $TOKEN" \
        -H "X-Qclaw-Profile: coder" "$SURL/v1/chat/completions" -d "$(chat gpt-4o 'escalate')")
t "session listener: coder's token ignored, profile stays small (403)" eq "$code" 403
b=$(curl -sS "$SURL/v1/models")
t "session listener: models of the session profile" eq "$(jq -c '[.data[].id]' <<<"$b")" '["gpt-4o-mini"]'
# an allowed request carrying credentials of its own: it goes upstream, they do not
code=$(curl -sS -o "$T/b" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" -H "x-api-key: $TOKEN" \
        "$SURL/v1/chat/completions" -d "$(chat gpt-4o-mini 'with creds')")
t "session listener: request with agent credentials served (200)" eq "$code" 200
last=$(curl -s "$MOCK_URL/_mock/last")
t "session: that request is the one upstream saw" contains "$last" "with creds"
t "session: agent headers not forwarded" lacks "$last" "$TOKEN"
t "session: the provider's key went instead" contains "$last" "Bearer $OPENAI_KEY"
t "egress carries the session id" eq "$(grep '"event":"egress"' "$T/audit.jsonl" | jq -r .session | sort -u)" s-test1

st=$(python3 "$T/attach.py" "$CTL" -status x x)
t "status: ok" eq "$(jq -r .ok <<<"$st")" true
t "status: session listed" eq "$(jq -r '.status.sessions[0].session + " " + .status.sessions[0].profile' <<<"$st")" "s-test1 small"
t "status: session request count" eq "$(jq -r '.status.sessions[0].requests' <<<"$st")" 4
t "status: totals" eq "$(jq -r '[.status.egress_total, .status.denied_total] | join(" ")' <<<"$st")" "2 1"
t "status: hashes" eq "$(jq -r '.status.config_hash | length' <<<"$st")" 64

# a second attach with the same id is refused; an unknown profile is refused
python3 "$T/attach.py" "$CTL" s-test1 small "$T/s2" &
PIDS+=($!)
wait_for 10 test -f "$T/s2"
t "duplicate session id refused" eq "$(jq -r .reply.ok "$T/s2")" false
touch "$T/s2.end"
python3 "$T/attach.py" "$CTL" s-test3 no-such-profile "$T/s3" &
PIDS+=($!)
wait_for 10 test -f "$T/s3"
t "unknown profile refused" eq "$(jq -r .reply.ok "$T/s3")" false
touch "$T/s3.end"

# a peer that is neither root nor in control_users/control_groups
chmod 666 "$CTL"
PY3=$(command -v /usr/bin/python3 || true)
if command -v setpriv >/dev/null && [ -n "$PY3" ]; then
        chmod 755 "$T/run"
        mkdir -m 777 "$T/nobody"
        setpriv --reuid 65534 --regid 65534 --clear-groups "$PY3" "$T/attach.py" "$CTL" s-nobody small "$T/nobody/s4" &
        PIDS+=($!)
        if wait_for 10 test -f "$T/nobody/s4"; then
                t "unprivileged peer: permission denied" eq "$(jq -r .reply.error "$T/nobody/s4")" "permission denied"
        else
                t "unprivileged peer: permission denied" false
        fi
        touch "$T/nobody/s4.end"
        # control_groups matches supplementary groups too: the same peer, now holding gid 4242
        # as a supplementary group only, is allowed once 4242 is in control_groups
        sed -i 's|"control_socket":|"control_groups":[4242],"control_socket":|' "$T/proxy.json"
        kill -HUP "$PROXY_PID"
        wait_for 10 eval '[ "$(count_events config)" = 2 ]'
        setpriv --reuid 65534 --regid 65534 --clear-groups "$PY3" "$T/attach.py" "$CTL" s-nobody2 small "$T/nobody/s5" &
        PIDS+=($!)
        setpriv --reuid 65534 --regid 65534 --groups 4242 "$PY3" "$T/attach.py" "$CTL" s-grp small "$T/nobody/s6" &
        PIDS+=($!)
        wait_for 10 test -f "$T/nobody/s5" && wait_for 10 test -f "$T/nobody/s6" || true
        t "peer without the group: still denied" eq "$(jq -r .reply.error "$T/nobody/s5" 2>/dev/null)" "permission denied"
        t "peer with control group as supplementary group: allowed" eq "$(jq -r .reply.ok "$T/nobody/s6" 2>/dev/null)" true
        touch "$T/nobody/s5.end" "$T/nobody/s6.end"
else
        echo "# no setpriv or /usr/bin/python3: unprivileged peer not tested"
fi

# op "record": a supervisor's session records, written under the attached session only
cat >"$T/record.py" <<'PY'
import array, json, os, socket, sys
ctl, sid, mode = sys.argv[1:4]
c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
c.connect(ctl)
def rec(r):
    c.send(json.dumps({"op": "record", "record": r}).encode())
if mode == "attached":
    L = socket.socket(); L.bind(("127.0.0.1", 0)); L.listen(1)
    c.sendmsg([json.dumps({"op": "attach", "session": sid, "profile": "small",
                           "pid": os.getpid()}).encode()],
               [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [L.fileno()]))])
    assert json.loads(c.recv(65536))["ok"] is True
    rec({"event": "session_start", "session": "s-forged", "profile": "coder", "seq": 1,
         "hash": "00", "command": ["sh"]})
    rec({"event": "egress", "model": "forged"})   # not a session record: refused, closed
else:
    rec({"event": "session_start", "session": "s-none"})  # nothing attached: refused, closed
c.settimeout(5)
print("closed" if c.recv(65536) == b"" else "open", flush=True)
PY
t "record before any attach: connection closed" eq "$(python3 "$T/record.py" "$CTL" x unattached)" closed
t "record of another event type: connection closed" eq "$(python3 "$T/record.py" "$CTL" s-rec attached)" closed
wait_for 10 eval 'grep -q "\"session\":\"s-rec\".*session_detach\|session_detach.*\"session\":\"s-rec\"" "$T/audit.jsonl"'
r=$(grep '"reported_by":"supervisor"' "$T/audit.jsonl" || true)
t "record: written once, under the attached session and profile, not the forged ones" \
        eq "$(jq -rs 'map([.event, .session, .profile] | join(" ")) | join(",")' <<<"$r")" "session_start s-rec small"
t "record: the log's own seq and hash, not the sender's" eq "$(jq -r '.seq > 1 and (.hash | length) == 64' <<<"$r")" true
t "record: nothing forged or unattached written" eq "$(grep -c 's-forged\|s-none\|"model":"forged"' "$T/audit.jsonl" || true)" 0

# end the session: the listener goes away with the control connection
touch "$T/s1.end"
wait $helper || true
closed() { ! curl -s -o /dev/null --max-time 2 "$SURL/healthz"; }
t "session over: listener closed" wait_for 10 closed
st=$(python3 "$T/attach.py" "$CTL" -status x x)
t "status: no sessions left" eq "$(jq -r '.status.sessions | length' <<<"$st")" 0
if [ -x "$ADMIN" ]; then t "audit chain verifies" "$ADMIN" verify "$T/audit.jsonl"; fi
done_testing
