# ClickHouse for the tests: Debian's clickhouse-server (18.16 on bookworm) with a config written here,
# config, logs and temporary files in $CALLFEED_SERVICES_DIR/clickhouse, HTTP on
# 127.0.0.1:${CALLFEED_TEST_CLICKHOUSE_PORT:-18123} and the native protocol on
# ${CALLFEED_TEST_CLICKHOUSE_TCP_PORT:-19000} (loopback only), user `default` without password from
# loopback only. As root the server runs as the `clickhouse` user the package creates. Server time
# zone is UTC. Starts in about half a second.
#
# The table data goes to a directory on /dev/shm (tmpfs) when there is one, removed on stop: every
# ClickHouse INSERT writes a new part of ~150 files for `calls`, and in a long-used ext4 directory
# creating files was seen to cost ~2 ms each (docs/warehouse-clickhouse.md, Performance), making
# the tests several times slower. A throwaway test server, like PostgreSQL's fsync=off in postgres.sh.

callfeed_service_start_clickhouse() {
    local server
    server="$(command -v clickhouse-server || true)"
    [ -n "$server" ] || server=/usr/sbin/clickhouse-server
    if [ ! -x "$server" ]; then
        echo "callfeed: clickhouse-server not found (apt-get install clickhouse-server)" >&2
        return 1
    fi
    local dir="$CALLFEED_SERVICES_DIR/clickhouse"
    local port="${CALLFEED_TEST_CLICKHOUSE_PORT:-18123}" tcp_port="${CALLFEED_TEST_CLICKHOUSE_TCP_PORT:-19000}"
    local as=() data="$dir/data"
    mkdir -p "$dir/tmp" "$dir/user_files" "$dir/log" "$dir/format_schemas"
    if [ -d /dev/shm ] && [ -w /dev/shm ]; then
        data="$(mktemp -d /dev/shm/callfeed-clickhouse.XXXXXX)"
        CALLFEED_CLICKHOUSE_SHM_DATA="$data"
    fi
    mkdir -p "$data"
    callfeed_clickhouse_config "$dir" "$port" "$tcp_port" "$data" >"$dir/config.xml"
    callfeed_clickhouse_users >"$dir/users.xml"
    if [ "$(id -u)" = 0 ]; then
        # ClickHouse refuses to run with files owned by another user; the package makes `clickhouse`.
        if id clickhouse >/dev/null 2>&1; then
            chown -R clickhouse:clickhouse "$dir" "$data"
            # mktemp -d made the services dir 0700: let the server user pass through it (not list it).
            chmod a+x "$CALLFEED_SERVICES_DIR"
            as=(runuser -u clickhouse --)
        fi
    fi
    local url="http://127.0.0.1:$port" waited=0 pid
    if [ "$(curl -s --max-time 1 "$url/ping" 2>/dev/null)" = "Ok." ]; then
        echo "callfeed: a ClickHouse server already answers on $url; stop it or set CALLFEED_TEST_CLICKHOUSE_PORT" >&2
        rm -rf "${CALLFEED_CLICKHOUSE_SHM_DATA:-/nonexistent}"
        return 1
    fi
    CALLFEED_CLICKHOUSE_PIDFILE="$dir/clickhouse.pid"
    CALLFEED_SERVICE_STOPS+=(callfeed_service_stop_clickhouse)
    "${as[@]}" "$server" --config-file="$dir/config.xml" --pid-file="$CALLFEED_CLICKHOUSE_PIDFILE" --daemon \
        >"$dir/launch.log" 2>&1 || { cat "$dir/launch.log" >&2; return 1; }
    until [ "$(curl -s --max-time 1 "$url/ping" 2>/dev/null)" = "Ok." ]; do
        pid="$(cat "$CALLFEED_CLICKHOUSE_PIDFILE" 2>/dev/null || true)"   # `|| true`: test.sh runs under set -e
        if [ "$waited" -ge 300 ] || { [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; }; then
            echo "callfeed: ClickHouse did not answer $url/ping (waited $((waited / 10)) s)" >&2
            tail -n 20 "$dir/log/server.err.log" >&2 2>/dev/null
            return 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    export CALLFEED_TEST_CLICKHOUSE="$url"
    echo "callfeed: ClickHouse $(curl -s "$url/?query=SELECT%20version()") on 127.0.0.1:$port" >&2
}

callfeed_service_stop_clickhouse() {
    local pid="" waited=0
    # A server still daemonizing has not written its pid file yet: give it a moment.
    while [ -z "$pid" ] && [ "$waited" -lt 50 ]; do
        pid="$(cat "$CALLFEED_CLICKHOUSE_PIDFILE" 2>/dev/null || true)"
        [ -n "$pid" ] || { sleep 0.1; waited=$((waited + 1)); }
    done
    waited=0
    if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
        while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 100 ]; do sleep 0.1; waited=$((waited + 1)); done
        kill -9 "$pid" 2>/dev/null || true
    fi
    if [ -n "${CALLFEED_CLICKHOUSE_SHM_DATA:-}" ]; then rm -rf "$CALLFEED_CLICKHOUSE_SHM_DATA"; fi
}

# The server configuration: loopback only, files under $1 (table data under $4), UTC, small caches.
callfeed_clickhouse_config() {
    cat <<XML
<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>$1/log/server.log</log>
        <errorlog>$1/log/server.err.log</errorlog>
        <size>10M</size>
        <count>1</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>$2</http_port>
    <tcp_port>$3</tcp_port>
    <path>$4/</path>
    <tmp_path>$1/tmp/</tmp_path>
    <user_files_path>$1/user_files/</user_files_path>
    <format_schema_path>$1/format_schemas/</format_schema_path>
    <users_config>$1/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <max_connections>256</max_connections>
    <keep_alive_timeout>10</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>67108864</uncompressed_cache_size>
    <mark_cache_size>67108864</mark_cache_size>
    <mlock_executable>false</mlock_executable>
</yandex>
XML
}

# Users: `default`, no password, from loopback only.
callfeed_clickhouse_users() {
    cat <<'XML'
<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>2000000000</max_memory_usage>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
XML
}
