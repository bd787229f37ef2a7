#!/usr/bin/env bash
# Starts the real servers the warehouse tests load into, each on a loopback port in a throwaway
# directory, and exports where they listen (CALLFEED_TEST_POSTGRES, CALLFEED_TEST_CLICKHOUSE,
# CALLFEED_TEST_BIGQUERY). Sourced by scripts/test.sh; `callfeed_stop_services` (run on exit) stops
# them and removes their data. Each server's recipe is in scripts/services/<name>.sh.

CALLFEED_SERVICES_DIR="${CALLFEED_SERVICES_DIR:-$(mktemp -d /tmp/callfeed-services.XXXXXX)}"
CALLFEED_SERVICE_STOPS=()

for recipe in "$(dirname "${BASH_SOURCE[0]}")"/services/*.sh; do
    # shellcheck source=/dev/null
    source "$recipe"
done

callfeed_start_services() {
    mkdir -p "$CALLFEED_SERVICES_DIR"
    chmod 755 "$CALLFEED_SERVICES_DIR"   # the servers run as their own users (postgres, clickhouse)
    export CALLFEED_TEST_SERVERS_REQUIRED=1
    local start
    for start in $(compgen -A function callfeed_service_start_); do
        "$start"
    done
}

callfeed_stop_services() {
    local stop
    # Each entry is a command line (a function name, or a script and its argument).
    for stop in "${CALLFEED_SERVICE_STOPS[@]}"; do $stop >/dev/null || true; done
    rm -rf "$CALLFEED_SERVICES_DIR"
}
