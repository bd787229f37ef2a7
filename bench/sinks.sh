#!/usr/bin/env bash
# Warehouse sink throughput (docs/performance.md, "Warehouse sinks"): `callfeed warehouse bench`
# (release build) loads N synthetic calls in loader-sized batches into SQLite and a throwaway
# PostgreSQL (scripts/services/postgres.sh), and into ClickHouse when its server is installed:
# new rows, an exact replay, then a new revision of every call.
# Usage: bench/sinks.sh [events] [batch]   (default 100000 500)
set -euo pipefail
cd "$(dirname "$0")/.."
events="${1:-100000}"
batch="${2:-500}"
source scripts/setup.sh
callfeed_setup
callfeed_setup_tests
export CALLFEED_SERVICES_DIR="$(mktemp -d /tmp/callfeed-bench.XXXXXX)"
export CALLFEED_TEST_POSTGRES_PORT=55499 CALLFEED_TEST_CLICKHOUSE_PORT=18199 CALLFEED_TEST_CLICKHOUSE_TCP_PORT=19199
source scripts/test-services.sh
trap callfeed_stop_services EXIT
callfeed_service_start_postgres
callfeed_service_start_clickhouse || echo "bench: ClickHouse did not start; skipping it" >&2
swift build -c release --product callfeed >/dev/null
bin=.build/release/callfeed
work="$CALLFEED_SERVICES_DIR"

cat >"$work/bench.yaml" <<YAML
log: {level: warning, format: text}
load:
  sqlite_path: $work/bench.sqlite
  postgres: {url: "$CALLFEED_TEST_POSTGRES", schema: bench}
  clickhouse: {url: "${CALLFEED_TEST_CLICKHOUSE:-http://127.0.0.1:1}", database: bench}
YAML

echo "machine: $(nproc) cores, $(uname -r); events=$events batch=$batch"
"$bin" warehouse bench --config "$work/bench.yaml" --sink sqlite --events "$events" --batch "$batch"
"$bin" warehouse bench --config "$work/bench.yaml" --sink postgres --events "$events" --batch "$batch"
if [ -n "${CALLFEED_TEST_CLICKHOUSE:-}" ]; then
    "$bin" warehouse bench --config "$work/bench.yaml" --sink clickhouse --events "$events" --batch "$batch"
fi
