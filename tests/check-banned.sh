#!/usr/bin/env bash
# Keeps calls STYLE.md bans out of the C sources.
set -euo pipefail
top=${1:-$(dirname "$0")/..}
hits=$(cd "$top" && git ls-files '*.c' '*.h' 2>/dev/null | xargs -r grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol|system|popen)\s*\(' | grep -vE '^\S+:[0-9]+:\s*(//|\*|/\*)' || true)
if [ -n "$hits" ]; then
        echo "banned calls found:" >&2
        echo "$hits" >&2
        exit 1
fi
echo "no banned calls"
