#!/usr/bin/env bash
# Builds the C reference tools of the benchmark harness (bench/c/*.c) into a directory:
#   bench/c/build.sh [OUTDIR]          (default bench/.bin)
#
#   loadgen        HTTP/1.1 load generator (closed or open loop)        no libraries
#   bare_mhd       libmicrohttpd with CallFeed's daemon settings         libmicrohttpd
#   kafka_limit    librdkafka producer with CallFeed's settings          librdkafka
#   sqlite_insert  raw prepared-insert loop with CallFeed's pragmas      sqlite3
#
# Needs gcc and pkg-config plus the development packages:
#   apt-get install -y gcc pkg-config libmicrohttpd-dev librdkafka-dev libsqlite3-dev
# Every run rebuilds all four (a few seconds); a failed compile leaves the previous binary alone
# and makes the script fail. CC and CFLAGS may be overridden from the environment.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$(dirname "$here")/.bin}"
CC="${CC:-gcc}"
CFLAGS="${CFLAGS:--O2}"
WARNINGS="-Wall -Wextra"

command -v "$CC" >/dev/null || { echo "build.sh: $CC not found (apt-get install -y gcc)" >&2; exit 1; }
command -v pkg-config >/dev/null || { echo "build.sh: pkg-config not found (apt-get install -y pkg-config)" >&2; exit 1; }
for pc in libmicrohttpd rdkafka sqlite3; do
    pkg-config --exists "$pc" || {
        echo "build.sh: pkg-config does not know $pc (apt-get install -y libmicrohttpd-dev librdkafka-dev libsqlite3-dev)" >&2
        exit 1
    }
done
mkdir -p "$out"

# build NAME [PKG-CONFIG MODULE...]
build() {
    local name="$1"; shift
    local libs=""
    if [ $# -gt 0 ]; then libs="$(pkg-config --cflags --libs "$@")"; fi
    # shellcheck disable=SC2086  # CFLAGS and libs are word lists
    $CC -std=c11 $CFLAGS $WARNINGS -o "$out/$name.tmp.$$" "$here/$name.c" $libs
    mv -f "$out/$name.tmp.$$" "$out/$name"
}
trap 'rm -f "$out"/*.tmp.$$' EXIT

build loadgen
build bare_mhd libmicrohttpd
build kafka_limit rdkafka
build sqlite_insert sqlite3
echo "built loadgen bare_mhd kafka_limit sqlite_insert in $out" >&2
