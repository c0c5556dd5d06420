#!/usr/bin/env bash
# Every shipped profile starts its kind of program unmodified: node, python3, git, gcc + make,
# and a shell pipeline (proxy profiles attached to a real qclaw-proxy).
source "$(dirname "$0")/test-run-lib.sh"
start_proxy
for p in claude-code codex openclaw aider offline demo default; do
        [ -f "$QCLAW_PROFILES_DIR/$p.json" ] || { bad "profile $p shipped"; continue; }
        rm -rf "$WS" && mkdir -p "$WS" && chown "$AGENT_USER" "$WS"
        cat >"$WS/hello.c" <<'C'
#include <stdio.h>
int main(void) { puts("hello from gcc"); return 0; }
C
        printf 'hello: hello.c\n\tgcc -O1 -o hello hello.c\n' >"$WS/Makefile"
        chown "$AGENT_USER" "$WS"/*
        check "$p: node" [ "$(run_q $p node -e 'console.log(6 * 7)' 2>/dev/null)" = 42 ]
        check "$p: python3" [ "$(run_q $p python3 -c 'import json, sys; print(json.dumps([sys.version_info[0]]))' 2>/dev/null)" = "[3]" ]
        check "$p: git init/commit" [ "$(run_q $p sh -c 'git init -q . && git add hello.c &&
                git -c user.name=t -c user.email=t@example.org commit -qm init && git log --oneline | wc -l' 2>/dev/null)" = 1 ]
        check "$p: gcc + make" [ "$(run_q $p sh -c 'make -s hello && ./hello' 2>/dev/null)" = "hello from gcc" ]
        check "$p: shell pipeline" [ "$(run_q $p sh -c 'seq 1 100 | grep 7 | sort -r | head -n 2 | tr "\n" " "' 2>/dev/null)" = "97 87 " ]
done
finish
