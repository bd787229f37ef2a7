#!/usr/bin/env bash
# Installs what CallFeed needs on Debian/Ubuntu when it is missing: the C libraries' -dev packages
# (librdkafka, libmicrohttpd, libcurl, sqlite3, libpq, FreeTDS for MarketSharp) and pkg-config. Sourced by dev.sh and test.sh;
# test.sh also calls callfeed_setup_tests for the servers the warehouse tests load into.
set -euo pipefail

CALLFEED_APT_PACKAGES=(librdkafka-dev libmicrohttpd-dev libcurl4-openssl-dev libsqlite3-dev libpq-dev freetds-dev pkg-config sqlite3)
# Servers for the warehouse tests (scripts/services/*.sh start them on loopback ports).
CALLFEED_TEST_APT_PACKAGES=(postgresql clickhouse-server clickhouse-client curl kcat)

callfeed_setup() {
    callfeed_apt_install "${CALLFEED_APT_PACKAGES[@]}"
    if ! command -v swift >/dev/null 2>&1; then
        if [ -x /opt/swift/usr/bin/swift ]; then
            export PATH="/opt/swift/usr/bin:$PATH"
        else
            echo "callfeed: Swift 6 toolchain not found (see https://www.swift.org/install/linux/)" >&2
            exit 1
        fi
    fi
}

callfeed_setup_tests() {
    callfeed_apt_install "${CALLFEED_TEST_APT_PACKAGES[@]}"
}

# Installs the Debian packages among "$@" that are not installed yet.
callfeed_apt_install() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if ((${#missing[@]})); then
        echo "callfeed: installing ${missing[*]}" >&2
        local sudo=""
        if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}
