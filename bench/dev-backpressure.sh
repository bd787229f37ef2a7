#!/usr/bin/env bash
# The embedded mode's no-loss proof (issue 15 §4; docs/operations.md, "Lifecycle"): `callfeed dev`
# backfills N sandbox CTM calls (default 200,000) with its loader slowed on purpose
# (`load.batch_delay_ms`), so the poller outruns it by far more than the mock cluster's 5 MiB per
# partition. With the back-pressure gate (`dev.backlog_limit_bytes`, default 4 MiB) every call must
# end in SQLite exactly once; with the gate opened to 1 GiB (`--no-gate`, the behaviour before it)
# the mock deletes unloaded messages and the loader reports the gap.
# Usage: bench/dev-backpressure.sh [--no-gate] [calls] [batch_delay_ms]
#   BIN=.build/debug to use the debug build (default: builds and uses the release build).
set -euo pipefail
cd "$(dirname "$0")/.."
limit=4194304
if [ "${1:-}" = "--no-gate" ]; then limit=1073741824; shift; fi
calls="${1:-200000}"
delay="${2:-1000}"
port=18097
devport=18098
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
if [ -z "${BIN:-}" ]; then
    swift build -c release --product callfeed >/dev/null
    swift build -c release --product callfeed-sandbox >/dev/null
    BIN=.build/release
fi

"$BIN/callfeed-sandbox" --port $port --accounts 1 --calls-per-account "$calls" --rate-limit ctm=none \
    --from 2024-01-01 --to 2024-03-01 >"$work/sandbox.log" 2>&1 &
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.5; done

cat >"$work/ctm.yaml" <<YAML
log: {level: warning}
poll: {state_path: $work/state.db}
load: {batch_delay_ms: $delay}
dev: {backlog_limit_bytes: $limit}
sources:
  ctm:
    - name: ctm-backpressure
      poll:
        base_url: http://127.0.0.1:$port/ctm
        access_key: ctm_sandbox_access_key
        secret_key: ctm_sandbox_secret_key
        start: "2024-01-01"
        chunk_days: 30
        rate_limits: ["1000000/hour"]
        interval_seconds: 86400
YAML

metric() { curl -sf "http://127.0.0.1:$devport/metrics" | awk -v m="$1" '$1 ~ "^"m"({|$)" {s += $2} END {print s + 0}'; }
began=$(date +%s)
"$BIN/callfeed" dev --config "$work/ctm.yaml" --port $devport --db "$work/dev.db" --brokers 1 >"$work/dev.out" 2>"$work/dev.err" &
dev=$!
rows=0; last=-1; still=0; peak=0
while :; do
    sleep 5
    rows=$(sqlite3 "$work/dev.db" "select count(*) from calls" 2>/dev/null || echo 0)
    backlog=$(metric callfeed_dev_backlog_bytes 2>/dev/null || echo 0)
    [ "${backlog%.*}" -gt "$peak" ] 2>/dev/null && peak=${backlog%.*}
    echo "$(( $(date +%s) - began )) s: $rows rows, backlog $backlog bytes, waits $(metric callfeed_dev_backpressure_waits_total), lost $(metric callfeed_load_offsets_lost_total)"
    [ "$rows" = "$calls" ] && break
    if [ "$rows" = "$last" ]; then still=$((still + 1)); else still=0; fi
    [ "$still" -ge 24 ] && { echo "no new rows for 120 s: stopping"; break; }
    last=$rows
done
waits=$(metric callfeed_dev_backpressure_waits_total)
lost=$(metric callfeed_load_offsets_lost_total)
ended=$(date +%s)
kill -TERM $dev; wait $dev || true
distinct=$(sqlite3 "$work/dev.db" "select count(distinct source_call_id) from calls")
revisions=$(sqlite3 "$work/dev.db" "select count(*) from call_revisions")
echo "calls=$calls batch_delay_ms=$delay backlog_limit_bytes=$limit: $rows rows ($distinct distinct ids, $revisions revisions) in $((ended - began)) s; peak backlog $peak bytes; publishes that waited $waits; offsets lost $lost"
grep -E '"level":"(error|critical)"' "$work/dev.err" | head -3 || true
