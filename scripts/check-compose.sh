#!/usr/bin/env bash
# Static check of the docker compose stack (docker cannot run in CI): compose/docker-compose.yml
# against the vendored Compose Specification schema, and everything it names against the
# repository (Dockerfile, compose/callfeed.yaml, docs/configuration.md, Topics.swift). Arguments go
# to scripts/check-compose.py, e.g. --callfeed-binary .build/debug/callfeed to also run the real
# config parser. Needs python3 with PyYAML and jsonschema; installs Debian's when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

python=python3
if ! "$python" -c 'import yaml, jsonschema' 2>/dev/null; then
    source scripts/setup.sh
    callfeed_apt_install python3 python3-yaml python3-jsonschema
    python=/usr/bin/python3
fi
exec "$python" scripts/check-compose.py "$@"
