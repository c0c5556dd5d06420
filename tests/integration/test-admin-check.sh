#!/usr/bin/env bash
# qclaw-admin check-profile / check-config as the admin runs them: exit codes (0 ok, 1 broken,
# 2 usage), FILE:LINE:COL messages, every shipped example config, and no secret in any output.
set -euo pipefail
admin="${QCLAW_BUILD_DIR:?}/rpc/qclaw-admin"
src="${QCLAW_SRC_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
runx() { set +e; "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; set -e; }
run() { runx "$admin" "$@"; }

cat >"$tmp/coder.json" <<'JSON'
{
  "qclaw_profile": 1,
  "name": "coder",
  "models": ["anthropic/claude-sonnet-4-*", "ollama/*"],
  "sandbox": {
    "filesystem": { "read_write": ["$WORKSPACE"], "hide": ["$HOME/.ssh"] },
    "resources": { "memory_max": "4G" }
  }
}
JSON
sed 's/"memory_max": "4G"/"memory_max": "4X"/' "$tmp/coder.json" >"$tmp/bad.json"

run check-profile --workspace /srv/ws --home /home/a "$tmp/coder.json"
[ "$rc" = 0 ] || fail "good profile: rc $rc: $(cat "$tmp/err")"
hash=$(sha256sum "$tmp/coder.json" | cut -d' ' -f1)
grep -qxF "$tmp/coder.json: ok (profile coder, sha256 $hash)" "$tmp/out" || fail "ok line: $(cat "$tmp/out")"

run check-profile "$tmp/coder.json" "$tmp/bad.json"
[ "$rc" = 1 ] || fail "bad profile: rc $rc"
grep -qF "$tmp/coder.json: ok" "$tmp/out" || fail "good file not reported with a bad one"
grep -qxF "$tmp/bad.json:7:34: \"memory_max\": bad size \"4X\" (use a number or 512K, 4G, ...)" "$tmp/err" ||
        fail "bad size message: $(cat "$tmp/err")"

run check-profile --workspace relative/ws "$tmp/coder.json"
[ "$rc" = 1 ] && grep -qF "$tmp/coder.json:6:36:" "$tmp/err" || fail "relative workspace accepted"
run check-profile "$tmp/missing.json"
[ "$rc" = 1 ] && grep -qF "$tmp/missing.json: No such file or directory" "$tmp/err" || fail "missing file"
run check-profile
[ "$rc" = 2 ] || fail "no files: rc $rc"
run check-profile --bogus "$tmp/coder.json"
[ "$rc" = 2 ] || fail "unknown option: rc $rc"
run check-config
[ "$rc" = 2 ] || fail "check-config without file: rc $rc"
run check-config a.json b.json
[ "$rc" = 2 ] || fail "check-config with two files: rc $rc"

# The shipped examples, with the variables set; the key values must never be printed.
mkdir -m 0700 "$tmp/cred"
printf 'tok-integration-0123456789\n' >"$tmp/cred/openclaw.token"
chmod 0600 "$tmp/cred/openclaw.token"
export OPENAI_API_KEY=sk-int-SECRET-openai ANTHROPIC_API_KEY=sk-int-SECRET-anthropic \
        CURSOR_API_KEY=sk-int-SECRET-cursor CREDENTIALS_DIRECTORY="$tmp/cred"
for f in openai anthropic ollama cursor all; do
        run check-config "$src/examples/configs/$f.json"
        [ "$rc" = 0 ] || fail "example $f: rc $rc: $(cat "$tmp/err")"
        grep -q "^$src/examples/configs/$f.json: ok (" "$tmp/out" || fail "example $f: $(cat "$tmp/out")"
        ! grep -q "SECRET\|tok-integration" "$tmp/out" "$tmp/err" || fail "secret printed for $f"
done
run check-config "$src/examples/configs/all.json"
grep -qF ": ok (4 providers, 1 clients, 1 listeners)" "$tmp/out" || fail "all.json summary: $(cat "$tmp/out")"

# Client profiles are cross-checked when a profiles directory is given.
mkdir "$tmp/profiles"
run check-config --profiles-dir "$tmp/profiles" "$src/examples/configs/all.json"
[ "$rc" = 1 ] && grep -qF 'client "openclaw": profile "openclaw" not found' "$tmp/err" ||
        fail "missing client profile: rc $rc $(cat "$tmp/err")"
printf '{"qclaw_profile":1,"name":"openclaw","models":["openai/*"]}\n' >"$tmp/profiles/openclaw.json"
run check-config --profiles-dir "$tmp/profiles" "$src/examples/configs/all.json"
[ "$rc" = 0 ] || fail "client profile present: rc $rc $(cat "$tmp/err")"

# A missing variable is named, with the key that needs it; no value leaks.
runx env -u OPENAI_API_KEY "$admin" check-config "$src/examples/configs/openai.json"
[ "$rc" = 1 ] || fail "missing variable: rc $rc"
grep -qF 'environment variable OPENAI_API_KEY is not set (needed by "providers.openai.api_key")' \
        "$tmp/err" || fail "missing variable: $(cat "$tmp/err")"
runx env OPENAI_API_KEY= "$admin" check-config "$src/examples/configs/openai.json"
[ "$rc" = 1 ] && grep -qF 'environment variable OPENAI_API_KEY is empty' "$tmp/err" ||
        fail "empty variable"

# A token file readable by everyone is refused.
chmod 0644 "$tmp/cred/openclaw.token"
run check-config "$src/examples/configs/all.json"
[ "$rc" = 1 ] && grep -qF "accessible by everyone" "$tmp/err" || fail "world-readable token accepted"
! grep -q "tok-integration" "$tmp/err" || fail "token printed"
echo "ok"
