# CallFeed's four executables (callfeed, callfeed-ingest, callfeed-load, callfeed-sandbox) in one
# image. Used by compose/docker-compose.yml; deployment notes in docs/deploy.md.
#
#   docker build -t callfeed:local .
#   docker run --rm callfeed:local callfeed-ingest --help
#
# Build stage: the Swift 6.3 toolchain on Debian 12 plus the C libraries' -dev packages (the same
# list as scripts/setup.sh). The Swift runtime is linked statically (--static-swift-stdlib), so the
# runtime stage needs only the C libraries.
FROM swift:6.3-bookworm AS build

RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get update -q \
    && apt-get install -y -q --no-install-recommends \
        librdkafka-dev libmicrohttpd-dev libcurl4-openssl-dev libsqlite3-dev libpq-dev freetds-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# Dependencies first, so a source change does not fetch them again. Package.resolved is optional
# (not committed): the glob copies it when present.
COPY Package.* ./
RUN swift package resolve

# Sources and Tests: SwiftPM checks every target's directory when it loads the manifest, test
# targets included, even though only the executables are built.
COPY Sources ./Sources
COPY Tests ./Tests

# Each product statically links the Swift runtime and Foundation; symbols are kept, so a crash
# backtrace names its functions.
RUN set -eu; \
    for product in callfeed callfeed-ingest callfeed-load callfeed-sandbox; do \
        swift build -c release --static-swift-stdlib --product "$product"; \
    done; \
    bin="$(swift build -c release --static-swift-stdlib --show-bin-path)"; \
    mkdir -p /staging; \
    for product in callfeed callfeed-ingest callfeed-load callfeed-sandbox; do \
        cp "$bin/$product" /staging/; \
    done

# Runtime stage: Debian 12 with only the shared libraries the binaries load, CA certificates (vendor
# APIs, TLS to Kafka and warehouses), tzdata (IANA zones in the config) and curl for health checks.
FROM debian:bookworm-slim

RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get update -q \
    && apt-get install -y -q --no-install-recommends \
        librdkafka1 libmicrohttpd12 libcurl4 libsqlite3-0 libpq5 libsybdb5 ca-certificates curl tzdata \
    && rm -rf /var/lib/apt/lists/*

# A fixed non-root user; /var/lib/callfeed is its writable data directory (the pollers' state
# file; a SQLite warehouse if load.sink is sqlite). A named volume mounted there starts with this
# ownership.
RUN groupadd --system --gid 10001 callfeed \
    && useradd --system --uid 10001 --gid callfeed --home-dir /var/lib/callfeed --shell /usr/sbin/nologin callfeed \
    && mkdir -p /var/lib/callfeed /etc/callfeed \
    && chown callfeed:callfeed /var/lib/callfeed

COPY --from=build /staging/ /usr/local/bin/

USER callfeed:callfeed
WORKDIR /var/lib/callfeed

# 8080: callfeed-ingest (webhooks, /healthz, /readyz, /metrics); 9091: callfeed-load (/healthz, /metrics).
EXPOSE 8080 9091

# No entrypoint: the command names the executable, e.g.
#   callfeed-ingest --config /etc/callfeed/callfeed.yaml
CMD ["callfeed", "--help"]
