#!/usr/bin/env bash
# Floods `callfeed dev` (release build, its defaults: max_body_bytes 1 MiB, connection_limit 4096,
# connection_timeout_seconds 30, max_header_bytes 16 KiB) with hostile clients and reports the
# receiver's RSS. Figures: docs/security.md.
#   bench/flood.sh [connections per kind, default 200] [seconds, default 40]
set -euo pipefail
cd "$(dirname "$0")/.."
CONNECTIONS=${1:-200}
SECONDS_=${2:-40}
PORT=${PORT:-18080}
DIR=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; rm -rf "$DIR"' EXIT
swift build -c release --product callfeed >/dev/null
ulimit -n 65536 2>/dev/null || true
.build/release/callfeed dev --port "$PORT" --db "$DIR/flood.db" --brokers 1 >"$DIR/dev.log" 2>&1 &
PID=$!
until curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null; do sleep 0.2; done
sleep 4   # the loader joins its group; the banner follows
python3 bench/flood.py --pid "$PID" --port "$PORT" --connections "$CONNECTIONS" --seconds "$SECONDS_"
