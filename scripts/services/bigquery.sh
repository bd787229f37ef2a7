# A BigQuery emulator for the tests: the `bqemulator` PyPI package (REST API over DuckDB), in a
# virtualenv at .build/bqemulator-venv (made on first use: 80–120 s; later starts reuse it), listening on
# 127.0.0.1:${CALLFEED_TEST_BIGQUERY_PORT:-19050}, its data in $CALLFEED_SERVICES_DIR/bigquery. Starts in
# about 5 s. What it does differently from BigQuery: docs/warehouse-bigquery.md.

# The versions the BigQuery tests passed with (the emulator's other dependencies are pinned loosely by it).
CALLFEED_BQEMULATOR_PACKAGES=(bqemulator==1.4.0 numpy==2.4.6 duckdb==2.0.1 sqlglot==30.11.0 pyarrow==26.0.1
    fastapi==0.165.0 uvicorn==0.54.0 pydantic==2.14.4)

callfeed_service_start_bigquery() {
    local here root
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    root="$(cd "$here/../.." && pwd)"
    local venv="${CALLFEED_BQEMULATOR_VENV:-$root/.build/bqemulator-venv}"
    local dir="$CALLFEED_SERVICES_DIR/bigquery" port="${CALLFEED_TEST_BIGQUERY_PORT:-19050}"
    mkdir -p "$dir"
    if ! "$venv/bin/python" -c "import bqemulator, numpy" >/dev/null 2>&1; then
        echo "callfeed: installing the BigQuery emulator into $venv (once)" >&2
        { python3 -m venv "$venv" \
            && "$venv/bin/pip" install --quiet --disable-pip-version-check "${CALLFEED_BQEMULATOR_PACKAGES[@]}"; } \
            >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; return 1; }
    fi
    # No Avro (another DuckDB extension download); the REST port only matters, gRPC takes any free port.
    BQEMU_ENABLE_FORMAT_EXTENSIONS=false "$venv/bin/python" "$here/bqemulator_launch.py" start \
        --rest-host 127.0.0.1 --rest-port "$port" --grpc-host 127.0.0.1 --grpc-port 0 \
        --data-dir "$dir/data" --project callfeed-test --log-level warning >"$dir/server.log" 2>&1 &
    CALLFEED_BIGQUERY_PID=$!
    CALLFEED_SERVICE_STOPS+=(callfeed_service_stop_bigquery)
    local tries=0
    until "$venv/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/healthz', timeout=1)" \
        >/dev/null 2>&1; do
        tries=$((tries + 1))
        if ! kill -0 "$CALLFEED_BIGQUERY_PID" 2>/dev/null || [ "$tries" -ge 120 ]; then
            echo "callfeed: the BigQuery emulator did not start:" >&2
            tail -20 "$dir/server.log" >&2
            return 1
        fi
        sleep 0.5
    done
    export CALLFEED_TEST_BIGQUERY="http://127.0.0.1:$port"
    echo "callfeed: BigQuery emulator (bqemulator $("$venv/bin/python" -c 'import bqemulator; print(bqemulator.__version__)')) on 127.0.0.1:$port" >&2
}

callfeed_service_stop_bigquery() {
    [ -n "${CALLFEED_BIGQUERY_PID:-}" ] || return 0
    kill "$CALLFEED_BIGQUERY_PID" 2>/dev/null
    wait "$CALLFEED_BIGQUERY_PID" 2>/dev/null
    CALLFEED_BIGQUERY_PID=
}
