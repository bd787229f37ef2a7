#!/usr/bin/env bash
# CallFeed's benchmarks, each next to its limit and to what users write instead
# (docs/performance.md). One command on a fresh Debian machine:
#
#   bash bench/run.sh                 # full run (release build; about 40 min on 2 cores)
#   bash bench/run.sh --smoke         # seconds per part, debug build: CI runs this so the harness cannot rot
#   bash bench/run.sh --only ingest --repeat 5 --out /tmp/ingest.md
#
# It installs the Debian packages (C libraries, PostgreSQL server), builds the release binaries
# and the C reference tools (bench/c), makes a Python venv with FastAPI, confluent-kafka and dlt
# (bench/python; --no-python skips those references), starts a throwaway PostgreSQL unless
# CALLFEED_TEST_POSTGRES is set, and runs bench/harness.py. Other arguments go to the harness
# (`python3 bench/harness.py --help` lists them).
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=0
python=1
args=()
for arg in "$@"; do
    case "$arg" in
        --smoke) smoke=1 ;;
        --no-python) python=0 ;;
        *) args+=("$arg") ;;
    esac
done

source scripts/setup.sh
callfeed_setup
callfeed_setup_tests
callfeed_apt_install util-linux gcc pkg-config

if ((smoke)); then
    # The debug binaries the tests use (scripts/test.sh built them); seconds per part.
    swift build --product callfeed >/dev/null
    swift build --product callfeed-ingest >/dev/null
    swift build --product callfeed-load >/dev/null
    swift build --product callfeed-sandbox >/dev/null
    bin=.build/debug
    args=(--repeat 1 --seconds 1 --warmup 0.5 --connections 4 --open-connections 8 --rates 100
          --kafka-count 2000 --events 2000 --poll-calls 300 --e2e-rates 50 --e2e-seconds 2 --join-wait 3
          --timeout 300 "${args[@]}")
else
    for product in callfeed callfeed-ingest callfeed-load callfeed-sandbox; do
        swift build -c release --product "$product" >/dev/null
    done
    bin=.build/release
fi
bash bench/c/build.sh bench/.bin >/dev/null

py=""
if ((python)); then
    if py=$(bash bench/python/setup.sh | tail -n 1) && [ -x "$py" ]; then
        :
    elif ((smoke)); then
        # PyPI unreachable: the smoke run still exercises everything else, and says so.
        echo "bench: SKIPPED the Python references (FastAPI receiver, dlt): the venv could not be made" >&2
        py=""
    else
        echo "bench: the Python venv could not be made (bench/python/setup.sh); use --no-python to skip those references" >&2
        exit 1
    fi
fi

if [ -z "${CALLFEED_TEST_POSTGRES:-}" ]; then
    export CALLFEED_SERVICES_DIR="$(mktemp -d /tmp/callfeed-bench-services.XXXXXX)"
    chmod 755 "$CALLFEED_SERVICES_DIR"   # the server runs as the postgres user
    export CALLFEED_TEST_POSTGRES_PORT=55497
    source scripts/test-services.sh
    trap callfeed_stop_services EXIT
    callfeed_service_start_postgres
fi

# The Python receiver's mapping must stay CallFeed's (same event_id and revision), or the
# comparison compares different work.
python3 bench/python/check_receiver.py >/dev/null

# CallFeed's own CPU per webhook, without HTTP and Kafka (the steps between libmicrohttpd and
# librdkafka, each timed): the figure the ingest goals of issue 18 are made of.
path_config="$(mktemp /tmp/callfeed-bench-path.XXXXXX.yaml)"
chmod 600 "$path_config"
cat > "$path_config" <<'YAML'
kafka: {bootstrap_servers: "127.0.0.1:9"}
sources:
  callkeeper:
    - {name: callkeeper-bench, account_id: bench, token: bench-token-0123456789, timezone: Europe/Moscow, default_country: RU}
YAML
echo "ingest path (no HTTP, no Kafka; µs per webhook):"
"$bin/callfeed" bench ingest-path --config "$path_config" --token bench-token-0123456789 \
    --body bench/bodies/callkeeper-after-call-finish.json --requests $((smoke ? 2000 : 200000))
rm -f "$path_config"

runner=python3
[ -n "$py" ] && runner="$py"
pyargs=()
[ -n "$py" ] && pyargs=(--python "$py")
"$runner" bench/harness.py --bin "$bin" --tools bench/.bin --postgres "$CALLFEED_TEST_POSTGRES" "${pyargs[@]}" "${args[@]}"
