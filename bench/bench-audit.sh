#!/usr/bin/env bash
# ./dev bench: audit log append and verify throughput (bench-audit.c), with a plain write(2)
# of the same line as the peer, in a fresh directory on disk (/var/tmp).
set -euo pipefail
build=${1:?usage: bench-audit.sh BUILD_DIR}
exec "$build/bench/bench-audit" /var/tmp
