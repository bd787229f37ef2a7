#!/usr/bin/env bash
# One command from a fresh checkout to a running CallFeed in embedded mode:
# installs what is missing, builds (release) and runs `callfeed dev` (extra arguments are passed on,
# e.g. ./scripts/dev.sh --port 9000 --db /tmp/calls.db).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
callfeed_setup
swift build -c release --product callfeed
exec .build/release/callfeed dev "$@"
