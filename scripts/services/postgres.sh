# PostgreSQL for the tests: Debian's server binaries, new clusters in $CALLFEED_SERVICES_DIR, trust
# auth on 127.0.0.1 only. As root, initdb and the server run as the `postgres` user (PostgreSQL
# refuses to run as root). Each starts in about a second.
#
# Two clusters:
# - the shared one (CALLFEED_TEST_POSTGRES, port ${CALLFEED_TEST_POSTGRES_PORT:-55432}), used by
#   every warehouse test, each in a schema of its own;
# - a restartable one (CALLFEED_TEST_POSTGRES_RESTARTABLE, port
#   ${CALLFEED_TEST_POSTGRES_RESTARTABLE_PORT:-55433}) that the fault suite stops and starts
#   (the warehouse-restart scenario) through the script named by CALLFEED_TEST_POSTGRES_RESTARTABLE_CTL
#   (`ctl stop` / `ctl start`), so the other tests never see their server go away.

# Creates and starts a cluster in $CALLFEED_SERVICES_DIR/<name> on <port>, and writes
# $CALLFEED_SERVICES_DIR/<name>/ctl (stop|start). Prints the libpq connection string.
_callfeed_postgres_cluster() {
    local name="$1" port="$2" bin
    bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
    if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
        echo "callfeed: PostgreSQL server binaries not found (apt-get install postgresql)" >&2
        return 1
    fi
    local dir="$CALLFEED_SERVICES_DIR/$name"
    local as=""
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then
        chown postgres "$dir"
        # mktemp -d makes the services dir 0700: let the server user pass through it (not list it).
        chmod a+x "$CALLFEED_SERVICES_DIR"
        as="runuser -u postgres --"
    fi
    $as "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; return 1; }
    cat >"$dir/ctl" <<CTL
#!/bin/sh
# stop | start the $name test cluster (written by scripts/services/postgres.sh)
case "\$1" in
  stop) exec $as "$bin/pg_ctl" -D "$dir/data" -m fast -w stop ;;
  start) exec $as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
           -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start ;;
  *) echo "usage: \$0 stop|start" >&2; exit 2 ;;
esac
CTL
    chmod 755 "$dir/ctl"
    "$dir/ctl" start >/dev/null || { cat "$dir/server.log" >&2; return 1; }
    CALLFEED_SERVICE_STOPS+=("$dir/ctl stop")
    echo "callfeed: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') ($name) on 127.0.0.1:$port" >&2
}

callfeed_service_start_postgres() {
    local port="${CALLFEED_TEST_POSTGRES_PORT:-55432}"
    _callfeed_postgres_cluster postgres "$port" || return 1
    export CALLFEED_TEST_POSTGRES="host=127.0.0.1 port=$port user=postgres dbname=postgres"
}

callfeed_service_start_postgres_restartable() {
    local port="${CALLFEED_TEST_POSTGRES_RESTARTABLE_PORT:-55433}"
    _callfeed_postgres_cluster postgres-restartable "$port" || return 1
    export CALLFEED_TEST_POSTGRES_RESTARTABLE="host=127.0.0.1 port=$port user=postgres dbname=postgres"
    export CALLFEED_TEST_POSTGRES_RESTARTABLE_CTL="$CALLFEED_SERVICES_DIR/postgres-restartable/ctl"
}
