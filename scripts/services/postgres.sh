# PostgreSQL for the tests: Debian's server binaries, a new cluster in $CALLFEED_SERVICES_DIR/postgres,
# trust auth on 127.0.0.1:${CALLFEED_TEST_POSTGRES_PORT:-55432} only. As root, initdb and the server
# run as the `postgres` user (PostgreSQL refuses to run as root). Starts in about a second.

callfeed_service_start_postgres() {
    local bin
    bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
    if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
        echo "callfeed: PostgreSQL server binaries not found (apt-get install postgresql)" >&2
        return 1
    fi
    local dir="$CALLFEED_SERVICES_DIR/postgres" port="${CALLFEED_TEST_POSTGRES_PORT:-55432}"
    local as=()
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then
        chown postgres "$dir"
        # mktemp -d makes the services dir 0700: let the server user pass through it (not list it).
        chmod a+x "$CALLFEED_SERVICES_DIR"
        as=(runuser -u postgres --)
    fi
    "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; return 1; }
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
        || { cat "$dir/server.log" >&2; return 1; }
    export CALLFEED_TEST_POSTGRES="host=127.0.0.1 port=$port user=postgres dbname=postgres"
    CALLFEED_POSTGRES_CTL=("${as[@]}" "$bin/pg_ctl" -D "$dir/data")
    CALLFEED_SERVICE_STOPS+=(callfeed_service_stop_postgres)
    echo "callfeed: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
}

callfeed_service_stop_postgres() {
    "${CALLFEED_POSTGRES_CTL[@]}" -m fast stop >/dev/null 2>&1
}
