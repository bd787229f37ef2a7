#!/usr/bin/env bash
# Proves scripts/check-compose.py catches what it claims to: copies the files it reads into a
# temporary tree, checks that the unchanged copy passes, then breaks one thing at a time (a missing
# mounted file, an unpinned image, a port that disagrees with compose/callfeed.yaml, ...) and fails
# if the checker accepts any broken variant or does not name the problem.
#   scripts/check-compose-selftest.sh [SOURCE_ROOT]   (default: this repository)
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
source_root="$(cd "${1:-$repo}" && pwd)"

python=python3
if ! "$python" -c 'import yaml, jsonschema' 2>/dev/null; then
    source scripts/setup.sh
    callfeed_apt_install python3 python3-yaml python3-jsonschema
    python=/usr/bin/python3
fi

work="$(mktemp -d /tmp/check-compose-selftest.XXXXXX)"
trap 'rm -rf "$work"' EXIT

"$python" - "$repo/scripts/check-compose.py" "$source_root" "$work" <<'PY'
import shutil
import subprocess
import sys
from pathlib import Path

checker, source, work = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
FILES = ["compose/docker-compose.yml", "compose/callfeed.yaml", "compose/compose-spec.schema.json",
         "Dockerfile", ".dockerignore", "Package.swift", "docs/configuration.md",
         "Sources/CallFeedCore/Topics.swift"]
DIRS = ["Sources", "Tests"]  # what the Dockerfile COPYs: only their existence matters

COMPOSE, CONFIG, DOCKERFILE = "compose/docker-compose.yml", "compose/callfeed.yaml", "Dockerfile"

# (name, file, text to replace, replacement, what the checker's output must contain)
VARIANTS = [
    ("untagged image", COMPOSE, "image: postgres:17-bookworm", "image: postgres",
     "postgres: image postgres is not pinned"),
    ("image tag latest", COMPOSE, "image: clickhouse/clickhouse-server:25.3", "image: clickhouse/clickhouse-server:latest",
     "is not pinned: tag latest"),
    ("mounted config file missing", COMPOSE, "./callfeed.yaml:/etc/callfeed/callfeed.yaml:ro\n      - ingest-state",
     "./callfeed-missing.yaml:/etc/callfeed/callfeed.yaml:ro\n      - ingest-state",
     "bind-mounted host path ./callfeed-missing.yaml does not exist"),
    ("--config not mounted", COMPOSE, '["callfeed-load", "--config", "/etc/callfeed/callfeed.yaml"]',
     '["callfeed-load", "--config", "/etc/callfeed/load.yaml"]',
     "--config /etc/callfeed/load.yaml is not a file bind-mounted"),
    ("build context missing", COMPOSE, "context: ..", "context: ../nowhere", "build context ../nowhere"),
    ("Dockerfile missing", COMPOSE, "dockerfile: Dockerfile", "dockerfile: Dockerfile.missing",
     "Dockerfile Dockerfile.missing not found"),
    ("env_file missing", COMPOSE, "    restart: unless-stopped\n    command: [\"callfeed-ingest\"",
     "    restart: unless-stopped\n    env_file: ./callfeed.env\n    command: [\"callfeed-ingest\"",
     "env_file ./callfeed.env does not exist"),
    ("depends_on unknown service", COMPOSE, "      postgres:\n        condition: service_healthy",
     "      postgress:\n        condition: service_healthy", "depends_on postgress, which is not a service"),
    ("service_healthy without healthcheck", COMPOSE,
     '      test: ["CMD", "pg_isready", "-U", "callfeed", "-d", "callfeed"]',
     '      disable: true', "waits for postgres to be healthy, but postgres has no healthcheck"),
    ("profile dependency not optional", COMPOSE, "        condition: service_healthy\n        required: false",
     "        condition: service_healthy", "only runs with profile"),
    ("published port != ingest.listen_port", COMPOSE, ":${CALLFEED_INGEST_PORT:-8080}:8080\"",
     ":${CALLFEED_INGEST_PORT:-8080}:8081\"", "container port 8081, but the process listens on ingest.listen_port"),
    ("healthcheck port != load.metrics_port", COMPOSE, "http://127.0.0.1:9091/healthz", "http://127.0.0.1:9092/healthz",
     "healthcheck probes port 9092"),
    ("loader not scalable", COMPOSE, "    command: [\"callfeed-load\"",
     "    container_name: callfeed-load\n    command: [\"callfeed-load\"", "prevents `--scale callfeed-load=N`"),
    ("secret missing from environment", COMPOSE, "  CTM_WEBHOOK_SECRET: ${CTM_WEBHOOK_SECRET:-dev-ctm-secret}\n", "",
     "${CTM_WEBHOOK_SECRET} (sources.ctm[0].secrets[0]) has no default and is missing from the environment"),
    ("compose variable without default", COMPOSE, "image: ${CALLFEED_IMAGE:-callfeed:local}\n    restart: unless-stopped\n    command: [\"callfeed-ingest\"",
     "image: ${CALLFEED_IMAGE}\n    restart: unless-stopped\n    command: [\"callfeed-ingest\"",
     "${CALLFEED_IMAGE} has no default"),
    ("postgres password defaults differ", COMPOSE, "      POSTGRES_PASSWORD: ${CALLFEED_POSTGRES_PASSWORD:-callfeed-local}",
     "      POSTGRES_PASSWORD: ${CALLFEED_POSTGRES_PASSWORD:-other}", "but postgres has POSTGRES_PASSWORD='other'"),
    ("topic not created", COMPOSE, "--create --if-not-exists --topic callfeed.dlq.v1",
     "--list --topic callfeed.dlq.v1", "does not create callfeed.dlq.v1"),
    ("undeclared named volume", COMPOSE, "  ingest-state:\n", "", "volume ingest-state is not declared"),
    ("executable not built", COMPOSE, '["callfeed-load", "--config"', '["callfeed-loader", "--config"',
     "runs callfeed-loader, which Package.swift does not build"),
    ("schema: bad depends_on condition", COMPOSE, "condition: service_completed_successfully\n    ports",
     "condition: service_done\n    ports", "'service_done' is not one of"),
    ("schema: unknown service key", COMPOSE, "    stop_grace_period: 20s\n\n  # Scalable",
     "    stop_grace_periods: 20s\n\n  # Scalable", "schema: services/callfeed-ingest"),
    ("duplicate YAML key", COMPOSE, "    hostname: kafka\n", "    hostname: kafka\n    hostname: broker\n",
     "found duplicate key 'hostname'"),
    ("undocumented top-level key", CONFIG, "\nlog:\n", "\nmetrics:\n  port: 9100\n\nlog:\n",
     "top-level key metrics is not documented"),
    ("undocumented load key", CONFIG, "  batch_size: 500\n", "  batch_size: 500\n  sqlite_pat: /x.db\n",
     "load.sqlite_pat is not documented"),
    ("listener on loopback in the container", CONFIG, "  listen_host: 0.0.0.0", "  listen_host: 127.0.0.1",
     "cannot reach a listener on 127.0.0.1"),
    ("bootstrap server not a service", CONFIG, "bootstrap_servers: kafka:9092", "bootstrap_servers: broker:9092",
     "'broker' is not a compose service"),
    ("vendored schema edited", "compose/compose-spec.schema.json", '"enum": ["service_started", "service_healthy", "service_completed_successfully"]',
     '"enum": ["service_started", "service_healthy", "service_completed_successfully", "service_done"]',
     "not the vendored"),
    ("Dockerfile COPY of a missing path", DOCKERFILE, "COPY Tests ./Tests", "COPY Tests ./Tests\nCOPY Resources ./Resources",
     "COPY Resources: nothing in the build context"),
    ("Dockerfile runs as root", DOCKERFILE, "USER callfeed:callfeed", "USER root", "runtime stage runs as root"),
    ("health check tool not installed", DOCKERFILE, "ca-certificates curl tzdata", "ca-certificates tzdata",
     "health check runs curl, which the Dockerfile's runtime stage does not install"),
]


def populate(root: Path) -> None:
    if root.exists():
        shutil.rmtree(root)
    for rel in FILES:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / rel, root / rel)
    for rel in DIRS:
        (root / rel).mkdir(parents=True, exist_ok=True)


def run(root: Path) -> tuple[int, str]:
    done = subprocess.run([sys.executable, str(checker), "--root", str(root)], capture_output=True, text=True)
    return done.returncode, done.stdout + done.stderr


root = work / "tree"
populate(root)
code, output = run(root)
if code != 0:
    print(output)
    print(f"check-compose-selftest: the unchanged copy of {source} does not pass; fix that first "
          f"(scripts/check-compose.sh shows why)")
    sys.exit(1)
print(f"check-compose-selftest: unchanged copy passes; breaking it {len(VARIANTS)} ways")

problems = []
for name, rel, old, new, expected in VARIANTS:
    populate(root)
    path = root / rel
    text = path.read_text(encoding="utf-8")
    if text.count(old) != 1:
        problems.append(f"{name}: the text to break occurs {text.count(old)} times in {rel}; update this selftest")
        print(f"  ??    {name}: cannot apply (text not found once in {rel})")
        continue
    path.write_text(text.replace(old, new), encoding="utf-8")
    code, output = run(root)
    if code == 0:
        problems.append(f"{name}: the checker ACCEPTED the broken {rel}")
        print(f"  MISS  {name}: accepted")
    elif expected not in output:
        problems.append(f"{name}: the checker failed but did not say {expected!r}")
        print(f"  MISS  {name}: failed without naming the problem")
        print("\n".join("        " + l for l in output.splitlines() if "FAIL" in l))
    else:
        first = next((l.strip() for l in output.splitlines() if expected in l), expected)
        print(f"  ok    {name}: {first}")

print()
if problems:
    print(f"check-compose-selftest: FAILED: {len(problems)} of {len(VARIANTS)} variants")
    for p in problems:
        print(f"  - {p}")
    sys.exit(1)
print(f"check-compose-selftest: OK: all {len(VARIANTS)} broken variants rejected with the right message")
PY
