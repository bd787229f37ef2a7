#!/usr/bin/env bash
# One command from a fresh checkout to the whole test suite: installs what is missing, builds
# everything (the tests start the built `callfeed` binary) and runs unit, integration and
# end-to-end tests. Kafka is librdkafka's mock cluster; no external services are needed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
callfeed_setup
swift build --build-tests
swift test --skip-build "$@"
