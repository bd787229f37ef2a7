#!/usr/bin/env bash
# Poller throughput against the vendor sandbox (docs/performance.md, "Pollers"):
#   1. `callfeed backfill --dry-run`: fetch, parse and normalise N CTM calls (no Kafka);
#   2. `callfeed dev` polling the sandbox: the same calls through the mock Kafka cluster into SQLite.
# Usage: bench/pollers.sh [calls-per-account]   (2 accounts; default 20000)
set -euo pipefail
cd "$(dirname "$0")/.."
calls="${1:-20000}"
port=8099
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
swift build -c release --product callfeed >/dev/null
swift build -c release --product callfeed-sandbox >/dev/null
bin=.build/release

start_sandbox() {
    pkill -f "callfeed-sandbox --port $port" 2>/dev/null || true
    sleep 0.5
    "$bin/callfeed-sandbox" --port $port --accounts 2 --calls-per-account "$calls" --from 2024-01-01 --to 2024-03-01 >"$work/sandbox.log" 2>&1 &
    until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.2; done
}

cat >"$work/ctm.yaml" <<YAML
log: {level: warning}
poll: {state_path: $work/state.db}
sources:
  ctm:
    - name: ctm-bench
      poll:
        base_url: http://127.0.0.1:$port/ctm
        access_key: ctm_sandbox_access_key
        secret_key: ctm_sandbox_secret_key
        start: "2024-01-01"
        chunk_days: 30
        rate_limits: ["1000000/hour"]
        interval_seconds: 86400
YAML
total=$((calls * 2))

start_sandbox
/usr/bin/time -f "dry run: wall %e s, callfeed CPU %U s user, peak RSS %M KB" \
    "$bin/callfeed" backfill --source ctm-bench --from 2024-01-01 --to 2024-02-29 --dry-run --config "$work/ctm.yaml"

start_sandbox  # a fresh request budget (the sandbox enforces CTM's 1000/hour)
rm -f "$work"/state.db*
began=$(date +%s.%N)
"$bin/callfeed" dev --config "$work/ctm.yaml" --port 0 --db "$work/e2e.db" --brokers 1 >"$work/dev.out" 2>"$work/dev.err" &
dev=$!
rows=0
for _ in $(seq 1 600); do
    sleep 0.5
    rows=$(sqlite3 "$work/e2e.db" "select count(*) from calls" 2>/dev/null || echo 0)
    [ "$rows" = "$total" ] && break
done
ended=$(date +%s.%N)
rss=$(ps -o rss= -p $dev)
kill -TERM $dev; wait $dev || true
echo "end to end (callfeed dev: poll -> mock Kafka -> SQLite): $rows rows in $(echo "$ended - $began" | bc) s (process start included), RSS ${rss} KB"
