#!/usr/bin/env python3
"""Static check of the docker compose stack (docker cannot run in CI).

  python3 scripts/check-compose.py [--root DIR] [--compose FILE] [--callfeed-binary PATH] [--use-environment]

1. compose/docker-compose.yml, after Compose's ${VAR:-default} interpolation (defaults only, unless
   --use-environment), against the Compose Specification JSON Schema vendored as
   compose/compose-spec.schema.json (source: docs/deploy.md, "The CI check"); duplicate YAML keys
   are refused as Compose refuses them.
2. That everything the compose file names exists and agrees with the rest of the repository:
   build contexts, Dockerfiles and what they COPY, bind-mounted host paths, env_files, the
   `--config` file of every app service, pinned images, depends_on targets and conditions,
   health checks and restart policies, ports against compose/callfeed.yaml, every ${VAR} of
   compose/callfeed.yaml present in the environment of each service that reads it, every key of
   that file documented in docs/configuration.md, topics against Sources/CallFeedCore/Topics.swift,
   and the warehouse URLs/credentials against the database services.
3. With --callfeed-binary, `callfeed check-config` on each app service's config file with that
   service's environment: the real parser's verdict.

Prints each check; exits 1 with every failure listed, 0 when all pass.
"""

from __future__ import annotations

import argparse
import fnmatch
import glob
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, unquote

try:
    import yaml
except ImportError:  # pragma: no cover
    sys.exit("check-compose: PyYAML is required (Debian: python3-yaml, PyPI: PyYAML)")
try:
    import jsonschema
except ImportError:  # pragma: no cover
    sys.exit("check-compose: jsonschema is required (Debian: python3-jsonschema, PyPI: jsonschema)")


# ---------------------------------------------------------------------------------------------
# Reporting

class Report:
    def __init__(self) -> None:
        self.failures: list[str] = []
        self.warnings: list[str] = []
        self.passed = 0

    def ok(self, message: str) -> None:
        self.passed += 1
        print(f"  ok    {message}")

    def fail(self, message: str) -> None:
        self.failures.append(message)
        print(f"  FAIL  {message}")

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        print(f"  warn  {message}")

    def check(self, condition: bool, ok_message: str, fail_message: str) -> bool:
        if condition:
            self.ok(ok_message)
        else:
            self.fail(fail_message)
        return condition

    @staticmethod
    def section(title: str) -> None:
        print(f"\n== {title}")


# ---------------------------------------------------------------------------------------------
# YAML with duplicate keys refused (Compose refuses them; PyYAML would keep the last silently)

class UniqueKeyLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    loader.flatten_mapping(node)  # resolves `<<: *anchor` merge keys first
    seen: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                f"found duplicate key {key!r}", key_node.start_mark)
        seen[key] = True
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# Compose reads YAML 1.2, where only true/false are booleans: `restart: no` is the string "no".
UniqueKeyLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
UniqueKeyLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                      list("tTfF"))


def load_yaml(path: Path):
    with path.open(encoding="utf-8") as f:
        return yaml.load(f, Loader=UniqueKeyLoader)


# ---------------------------------------------------------------------------------------------
# Compose interpolation: $$, $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}, ${VAR:+a}, ${VAR+a}

NAME = r"[A-Za-z_][A-Za-z0-9_]*"
COMPOSE_VAR = re.compile(r"\$(?:(\$)|\{([^}]*)\}|(" + NAME + r"))")
COMPOSE_EXPR = re.compile(r"^(" + NAME + r")(?:(:-|-|:\?|\?|:\+|\+)(.*))?$", re.S)


class Interpolator:
    def __init__(self, environment: dict[str, str]) -> None:
        self.environment = environment
        self.problems: list[str] = []
        self.used: set[str] = set()

    def string(self, text: str, where: str) -> str:
        def replace(m: re.Match) -> str:
            if m.group(1):
                return "$"
            expression = m.group(2) if m.group(2) is not None else m.group(3)
            parsed = COMPOSE_EXPR.match(expression)
            if not parsed:
                self.problems.append(f"{where}: invalid interpolation ${{{expression}}}")
                return ""
            name, op, arg = parsed.group(1), parsed.group(2), parsed.group(3) or ""
            self.used.add(name)
            value = self.environment.get(name)
            if op is None:
                if value is None:
                    self.problems.append(
                        f"{where}: ${{{name}}} has no default: `docker compose up` would substitute an empty string "
                        f"(write ${{{name}:-default}}, or ${{{name}:?message}} to require it)")
                    return ""
                return value
            if op == ":-":
                return value if value else arg
            if op == "-":
                return value if value is not None else arg
            if op in (":?", "?"):
                if (op == ":?" and not value) or value is None:
                    return f"<{name}>"  # required from the operator: a placeholder for the checks
                return value
            if op == ":+":
                return arg if value else ""
            return arg if value is not None else ""  # "+"

        return COMPOSE_VAR.sub(replace, text)

    def tree(self, node, where: str = ""):
        if isinstance(node, str):
            return self.string(node, where)
        if isinstance(node, list):
            return [self.tree(v, f"{where}[{i}]") for i, v in enumerate(node)]
        if isinstance(node, dict):
            return {k: self.tree(v, f"{where}.{k}" if where else str(k)) for k, v in node.items()}
        return node


# ---------------------------------------------------------------------------------------------
# Small helpers over the compose model

def as_args(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return shlex.split(value)
    return [str(v) for v in value]


def service_environment(service: dict, compose_dir: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for entry in env_files(service):
        path = compose_dir / entry["path"]
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    k, v = line.split("=", 1)
                    env[k.strip().removeprefix("export ").strip()] = v.strip().strip("'\"")
    raw = service.get("environment") or {}
    if isinstance(raw, dict):
        for k, v in raw.items():
            env[str(k)] = "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
    else:
        for item in raw:
            k, _, v = str(item).partition("=")
            env[k] = v
    return env


def env_files(service: dict) -> list[dict]:
    raw = service.get("env_file")
    if raw is None:
        return []
    items = [raw] if isinstance(raw, str) else raw
    result = []
    for item in items:
        if isinstance(item, str):
            result.append({"path": item, "required": True})
        else:
            required = item.get("required", True)
            result.append({"path": item["path"], "required": required not in (False, "false")})
    return result


def volume_mounts(service: dict) -> list[dict]:
    """Normalises short and long volume syntax to {type, source, target, read_only}."""
    mounts = []
    for v in service.get("volumes") or []:
        if isinstance(v, dict):
            mounts.append({"type": v.get("type"), "source": v.get("source"), "target": v.get("target"),
                           "read_only": bool(v.get("read_only"))})
            continue
        parts = str(v).split(":")
        if len(parts) == 1:
            mounts.append({"type": "volume", "source": None, "target": parts[0], "read_only": False})
            continue
        source, target = parts[0], parts[1]
        mode = parts[2] if len(parts) > 2 else ""
        kind = "bind" if source.startswith((".", "/", "~")) else "volume"
        mounts.append({"type": kind, "source": source, "target": target, "read_only": "ro" in mode.split(",")})
    return mounts


def container_ports(service: dict) -> list[tuple[str, int, bool]]:
    """(kind, container port, has fixed host port) for ports and expose."""
    result = []
    for p in service.get("ports") or []:
        if isinstance(p, dict):
            result.append(("ports", int(str(p["target"]).split("-")[0]), p.get("published") not in (None, "")))
            continue
        spec = str(p).split("/")[0]
        # [ip:]host:container or container; an IPv6 host ip is bracketed
        spec = re.sub(r"^\[[^\]]*\]:", "", spec)
        parts = spec.split(":")
        target = parts[-1].split("-")[0]
        result.append(("ports", int(target), len(parts) >= 2 and parts[-2] != ""))
    for e in service.get("expose") or []:
        result.append(("expose", int(str(e).split("/")[0].split("-")[0]), False))
    return result


def healthcheck_ports(service: dict) -> list[int]:
    test = (service.get("healthcheck") or {}).get("test")
    text = " ".join(as_args(test)) if test is not None else ""
    return [int(p) for p in re.findall(r"https?://(?:127\.0\.0\.1|localhost|0\.0\.0\.0|\[::1\]):(\d+)", text)]


def healthcheck_program(healthcheck: dict | None) -> str:
    """The program a healthcheck runs: `test: [CMD, curl, ...]` or `[CMD-SHELL, "curl ..."]`."""
    test = as_args((healthcheck or {}).get("test"))
    if test and test[0] == "CMD":
        test = test[1:]
    elif test and test[0] == "CMD-SHELL":
        test = shlex.split(" ".join(test[1:]))
    return Path(test[0]).name if test else ""


def transitive_dependencies(services: dict, name: str) -> set[str]:
    seen: set[str] = set()
    stack = [name]
    while stack:
        for dep in depends_on(services.get(stack.pop(), {})):
            if dep not in seen:
                seen.add(dep)
                stack.append(dep)
    return seen


def depends_on(service: dict) -> dict[str, dict]:
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return {name: {"condition": "service_started", "required": True} for name in raw}
    return {name: {"condition": (spec or {}).get("condition", "service_started"),
                   "required": (spec or {}).get("required", True)} for name, spec in raw.items()}


def image_pinned(image: str) -> tuple[bool, str]:
    if "@sha256:" in image:
        return True, "digest"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return False, "no tag (means latest)"
    tag = last.split(":", 1)[1]
    if tag in ("", "latest"):
        return False, f"tag {tag or '(empty)'}"
    return True, tag


# ---------------------------------------------------------------------------------------------
# Dockerfile and .dockerignore

def dockerignore_patterns(context: Path) -> list[tuple[bool, str]]:
    path = context / ".dockerignore"
    if not path.is_file():
        return []
    patterns = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        patterns.append((negate, line[1:].strip().strip("/") if negate else line.strip("/")))
    return patterns


def dockerignored(relative: str, patterns: list[tuple[bool, str]]) -> bool:
    """Docker's rule, simplified: last matching pattern wins; a pattern matching a parent
    directory excludes everything below it."""
    relative = relative.strip("/")
    components = relative.split("/")
    prefixes = ["/".join(components[: i + 1]) for i in range(len(components))]
    excluded = False
    for negate, pattern in patterns:
        if any(fnmatch.fnmatchcase(p, pattern) for p in prefixes):
            excluded = not negate
    return excluded


def dockerfile_stages(text: str) -> list[dict]:
    """Joined logical lines per stage: [{'from': image, 'alias': name, 'lines': [...]}]."""
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#"):  # a comment, also between continuation lines
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        if current.strip():
            logical.append(current.strip())
        current = ""
    if current.strip():
        logical.append(current.strip())
    stages: list[dict] = []
    for line in logical:
        m = re.match(r"(?i)^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", line)
        if m:
            stages.append({"from": m.group(1), "alias": m.group(2), "lines": []})
        elif stages:
            stages[-1]["lines"].append(line)
    return stages


# ---------------------------------------------------------------------------------------------
# docs/configuration.md: which keys it documents

def documented_keys(markdown: str) -> dict[str, set[str]]:
    """Maps a section path ('' for the top level, 'load', 'load.postgres', 'sources.ctm',
    'sources.*.poll', ...) to the keys the document's headings and tables name for it.

    A heading whose first code span is a key path (### `load`, ### `sources.<vendor>[i].poll`)
    opens that section; a plain heading below it (#### Warehouses) stays in it. A table row's
    first cell names keys relative to the section (`url`, `postgres.url`, `listen_host` /
    `listen_port`), or absolute ones anywhere (`load.postgres.url`)."""
    docs: dict[str, set[str]] = {"": set()}

    def add_path(path: str) -> None:
        segments = path.split(".")
        docs[""].add(segments[0])
        for i in range(1, len(segments)):
            docs.setdefault(".".join(segments[:i]), set()).add(segments[i])
        docs.setdefault(path, set())

    def normalise(path: str) -> str:
        return re.sub(r"<[^>]+>", "*", path).replace("[i]", "")

    for line in markdown.splitlines():
        h = re.match(r"^(#{1,6})\s+`([^`]+)`", line)
        if h and re.fullmatch(r"[a-z_*][a-z0-9_.*]*", normalise(h.group(2))):
            add_path(normalise(h.group(2)))
    top = set(docs[""])

    section: str | None = None
    section_level = 0
    for line in markdown.splitlines():
        h = re.match(r"^(#{1,6})\s+(.*)$", line)
        if h:
            level = len(h.group(1))
            code = re.match(r"^`([^`]+)`", h.group(2).strip())
            path = normalise(code.group(1)) if code else None
            if path and re.fullmatch(r"[a-z_*][a-z0-9_.*]*", path):
                section, section_level = path, level
            elif section is None or level <= section_level:
                section = None
            continue
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not cells or set(cells[0]) <= set("-: "):
            continue
        for token in re.findall(r"`([^`]+)`", cells[0]):
            if not re.fullmatch(r"[a-z_][a-z0-9_.]*", token):
                continue
            if "." in token and token.split(".")[0] in top:
                add_path(token)
            elif section is not None:
                add_path(f"{section}.{token}")
    return docs


def docs_for(docs: dict[str, set[str]], path: str) -> set[str] | None:
    """Keys documented for a concrete path such as 'sources.ctm.poll' (wildcards match)."""
    found: set[str] | None = None
    for pattern, keys in docs.items():
        if pattern == path or (pattern and fnmatch.fnmatchcase(path, pattern)):
            found = (found or set()) | keys
    return found


# ---------------------------------------------------------------------------------------------
# CallFeed's own ${NAME} / ${NAME:-default} (docs/configuration.md)

CALLFEED_VAR = re.compile(r"\$\{([^}]*)\}")


def callfeed_variables(node, path: str = "") -> list[tuple[str, str, bool]]:
    """(variable, key path, has default) for every ${...} in the config's values."""
    found = []
    if isinstance(node, dict):
        for k, v in node.items():
            found += callfeed_variables(v, f"{path}.{k}" if path else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found += callfeed_variables(v, f"{path}[{i}]")
    elif isinstance(node, str):
        for expression in CALLFEED_VAR.findall(node):
            name, sep, _ = expression.partition(":-")
            found.append((name, path, bool(sep)))
    return found


def callfeed_substitute(text: str, env: dict[str, str]) -> str:
    def replace(m: re.Match) -> str:
        name, sep, default = m.group(1).partition(":-")
        value = env.get(name)
        if value is not None and not (value == "" and sep):
            return value
        return default if sep else ""
    return CALLFEED_VAR.sub(replace, text)


def get_path(tree, dotted: str):
    node = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


# ---------------------------------------------------------------------------------------------
# The checks

# compose/compose-spec.schema.json is schema/compose-spec.json of github.com/compose-spec/compose-spec
# at this commit, byte for byte. When you update the file, update both (and docs/deploy.md).
SCHEMA_SOURCE = ("https://github.com/compose-spec/compose-spec/blob/"
                 "b2835e8acc1e42e7aecbc27a9bc4a1fc66ef21ba/schema/compose-spec.json")
SCHEMA_SHA256 = "91ae91d24640d45634c9d4b5f4e3a5ce1b6b6da38bc06b27e2a04891f81f32da"

LONG_RUNNING_RESTARTS = re.compile(r"^(always|unless-stopped|on-failure(:\d+)?)$")


def main() -> int:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=here.parent, help="repository root (default: this script's ..)")
    parser.add_argument("--compose", type=Path, help="compose file (default: ROOT/compose/docker-compose.yml)")
    parser.add_argument("--schema", type=Path, help="schema (default: ROOT/compose/compose-spec.schema.json)")
    parser.add_argument("--callfeed-binary", type=Path,
                        help="a built `callfeed`: also run `callfeed check-config` on each app service's config")
    parser.add_argument("--use-environment", action="store_true",
                        help="interpolate the compose file with this process's environment (default: defaults only)")
    args = parser.parse_args()

    root = args.root.resolve()
    compose_path = (args.compose or root / "compose" / "docker-compose.yml").resolve()
    schema_path = (args.schema or root / "compose" / "compose-spec.schema.json").resolve()
    compose_dir = compose_path.parent
    report = Report()

    def rel(p: Path) -> str:
        try:
            return str(p.resolve().relative_to(root))
        except ValueError:
            return str(p)

    print(f"check-compose: {rel(compose_path)} (root {root})")

    # --- 1. parse, interpolate, schema -------------------------------------------------------
    Report.section("Compose Specification schema")
    try:
        raw = load_yaml(compose_path)
    except (OSError, yaml.YAMLError) as e:
        report.fail(f"{rel(compose_path)} cannot be read as YAML: {e}")
        return finish(report)
    if not isinstance(raw, dict):
        report.fail(f"{rel(compose_path)} is not a mapping")
        return finish(report)
    report.ok(f"{rel(compose_path)} parses as YAML (no duplicate keys)")

    interpolator = Interpolator(dict(os.environ) if args.use_environment else {})
    model = interpolator.tree(raw)
    for problem in interpolator.problems:
        report.fail(problem)
    if not interpolator.problems:
        report.ok(f"interpolation: {len(interpolator.used)} variables, each with a default or required with :?")

    try:
        schema_bytes = schema_path.read_bytes()
        schema = json.loads(schema_bytes)
    except (OSError, ValueError) as e:
        report.fail(f"schema {rel(schema_path)} cannot be read: {e}")
        return finish(report)
    digest = hashlib.sha256(schema_bytes).hexdigest()
    report.check(digest == SCHEMA_SHA256, f"{rel(schema_path)} is the vendored schema ({SCHEMA_SOURCE})",
                 f"{rel(schema_path)} has sha256 {digest}, not the vendored {SCHEMA_SHA256} ({SCHEMA_SOURCE}); "
                 f"if you updated it on purpose, update SCHEMA_SOURCE and SCHEMA_SHA256 in scripts/check-compose.py")
    validator_class = jsonschema.validators.validator_for(schema)
    try:
        validator_class.check_schema(schema)
    except jsonschema.exceptions.SchemaError as e:
        report.fail(f"schema {rel(schema_path)} is not a valid JSON Schema: {e.message}")
        return finish(report)
    errors = sorted(validator_class(schema).iter_errors(model), key=lambda e: list(e.absolute_path))
    for error in errors:
        location = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        detail = error.message
        if error.context:  # oneOf/anyOf: the reason of the branch that got furthest
            best = sorted(error.context, key=lambda e: (-len(e.absolute_path), e.validator == "type"))[0]
            location = "/".join(str(p) for p in best.absolute_path) or location
            detail = f"{best.message} (no alternative of the schema fits)"
        report.fail(f"schema: {location}: {detail}")
    if not errors:
        report.ok(f"valid against the Compose Specification schema ({rel(schema_path)}, {validator_class.__name__})")

    services: dict = model.get("services") or {}
    if not isinstance(services, dict) or not services:
        report.fail("no services")
        return finish(report)
    declared_volumes = set((model.get("volumes") or {}).keys())

    # --- 2. references -----------------------------------------------------------------------
    Report.section("Images, builds and Dockerfiles")
    executables = set(re.findall(r'\.executableTarget\(\s*name:\s*"([^"]+)"', read(root / "Package.swift")))
    dockerfiles: dict[str, dict] = {}  # service -> {"stages", "context"}
    for name, service in services.items():
        if not isinstance(service, dict):
            continue
        image = service.get("image")
        build = service.get("build")
        if image is None and build is None:
            report.fail(f"{name}: neither image nor build")
        if image is not None:
            pinned, what = image_pinned(str(image))
            report.check(pinned, f"{name}: image {image} is pinned ({what})",
                         f"{name}: image {image} is not pinned: {what}; name an explicit version tag")
        if build is None:
            continue
        context_rel = build if isinstance(build, str) else build.get("context", ".")
        context = (compose_dir / context_rel).resolve()
        if not report.check(context.is_dir(), f"{name}: build context {context_rel} ({rel(context)}) exists",
                            f"{name}: build context {context_rel} ({context}) does not exist"):
            continue
        dockerfile_rel = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        dockerfile = (context / dockerfile_rel).resolve()
        if not report.check(dockerfile.is_file(), f"{name}: Dockerfile {rel(dockerfile)} exists",
                            f"{name}: Dockerfile {dockerfile_rel} not found in the build context {rel(context)}"):
            continue
        stages = dockerfile_stages(read(dockerfile))
        dockerfiles[name] = {"stages": stages, "context": context, "path": dockerfile}
    for path in sorted({str(d["path"]) for d in dockerfiles.values()}):
        info = next(d for d in dockerfiles.values() if str(d["path"]) == path)
        check_dockerfile(info, report, rel)

    Report.section("Volumes, bind mounts and env_files")
    used_volumes: set[str] = set()
    for name, service in services.items():
        for mount in volume_mounts(service):
            if mount["type"] == "bind":
                source = Path(os.path.expanduser(mount["source"]))
                host = source if source.is_absolute() else (compose_dir / source).resolve()
                report.check(host.exists(), f"{name}: bind mount {mount['source']} -> {mount['target']} exists ({rel(host)})",
                             f"{name}: bind-mounted host path {mount['source']} does not exist ({host})")
            elif mount["type"] == "volume" and mount["source"]:
                used_volumes.add(mount["source"])
                report.check(mount["source"] in declared_volumes,
                             f"{name}: named volume {mount['source']} -> {mount['target']} is declared",
                             f"{name}: volume {mount['source']} is not declared under top-level volumes:")
        for entry in env_files(service):
            path = (compose_dir / entry["path"]).resolve()
            if entry["required"]:
                report.check(path.is_file(), f"{name}: env_file {entry['path']} exists",
                             f"{name}: env_file {entry['path']} does not exist ({path})")
    for volume in sorted(declared_volumes - used_volumes):
        report.warn(f"top-level volume {volume} is used by no service")

    Report.section("depends_on, health checks, restart policies")
    one_shot = {dep for s in services.values() for dep, spec in depends_on(s).items()
                if spec["condition"] == "service_completed_successfully"}
    for name, service in services.items():
        for dep, spec in depends_on(service).items():
            if not report.check(dep in services, f"{name}: depends_on {dep} ({spec['condition']}) exists",
                                f"{name}: depends_on {dep}, which is not a service"):
                continue
            target = services[dep]
            if spec["condition"] == "service_healthy":
                report.check(bool(target.get("healthcheck")) and not target["healthcheck"].get("disable"),
                             f"{name}: {dep} has the health check service_healthy waits for",
                             f"{name}: waits for {dep} to be healthy, but {dep} has no healthcheck")
            if spec["condition"] == "service_completed_successfully":
                report.check(str(target.get("restart", "no")) == "no",
                             f"{name}: {dep} is a one-shot (restart: no)",
                             f"{name}: waits for {dep} to complete, but {dep} has restart: {target.get('restart')}")
            if target.get("profiles") and not service.get("profiles") and spec["required"] not in (False, "false"):
                report.fail(f"{name}: depends on {dep}, which only runs with profile {target['profiles']}: "
                            f"`docker compose up` without that profile fails (add required: false)")
        restart = service.get("restart")
        if name in one_shot:
            report.check(str(restart or "no") == "no", f"{name}: one-shot with restart: no",
                         f"{name}: one-shot service has restart: {restart}")
            continue
        report.check(bool(restart) and bool(LONG_RUNNING_RESTARTS.match(str(restart))),
                     f"{name}: restart: {restart}",
                     f"{name}: long-running service needs a restart policy (unless-stopped, always, on-failure), has {restart!r}")
        hc = service.get("healthcheck")
        report.check(bool(hc) and bool(hc.get("test")) and not hc.get("disable"),
                     f"{name}: has a healthcheck",
                     f"{name}: long-running service has no healthcheck")
        tools = {t for t in ("curl", "wget") if t == healthcheck_program(hc)}
        if name in dockerfiles and tools:
            final = dockerfiles[name]["stages"][-1] if dockerfiles[name]["stages"] else {"lines": []}
            runtime_text = " ".join(final["lines"])
            for tool in tools:
                report.check(re.search(rf"\b{tool}\b", runtime_text) is not None,
                             f"{name}: health check tool {tool} is installed in the runtime stage",
                             f"{name}: health check runs {tool}, which the Dockerfile's runtime stage does not install")
    check_cycles(services, report)

    # --- app services: config file, ports, variables, keys ------------------------------------
    Report.section("App services and their config files")
    docs_path = root / "docs" / "configuration.md"
    docs = documented_keys(read(docs_path)) if docs_path.is_file() else None
    if docs is None:
        report.fail(f"{rel(docs_path)} not found: cannot check documented keys")
    configs: dict[Path, list[str]] = {}  # host config file -> services reading it
    app_env: dict[str, dict[str, str]] = {}
    for name, service in services.items():
        argv = as_args(service.get("entrypoint")) + as_args(service.get("command"))
        if not argv:
            continue
        executable = Path(argv[0]).name
        if name in dockerfiles:
            report.check(executable in executables, f"{name}: runs {executable}, an executable of Package.swift",
                         f"{name}: runs {executable}, which Package.swift does not build "
                         f"(executables: {', '.join(sorted(executables))})")
            build_text = " ".join(" ".join(s["lines"]) for s in dockerfiles[name]["stages"][:-1])
            report.check(re.search(rf"(?<![\w-]){re.escape(executable)}(?![\w-])", build_text) is not None,
                         f"{name}: the Dockerfile's build stage builds {executable}",
                         f"{name}: runs {executable}, but the Dockerfile's build stage does not name it")
        config_arg = None
        for i, a in enumerate(argv):
            if a == "--config" and i + 1 < len(argv):
                config_arg = argv[i + 1]
            elif a.startswith("--config="):
                config_arg = a.split("=", 1)[1]
        if executable == "callfeed-sandbox":
            port = int(argv[argv.index("--port") + 1]) if "--port" in argv else 8090
            check_ports(report, name, service, {port}, {port}, "--port")
            host = argv[argv.index("--host") + 1] if "--host" in argv else "127.0.0.1"
            if service.get("ports") or service.get("expose"):
                report.check(host == "0.0.0.0", f"{name}: listens on 0.0.0.0 (reachable from other containers)",
                             f"{name}: --host {host} is unreachable from outside its container")
            continue
        if not executable.startswith("callfeed"):
            continue
        if config_arg is None:
            report.fail(f"{name}: {executable} has no --config: it would read its built-in default path")
            continue
        mount = next((m for m in volume_mounts(service) if m["target"] == config_arg), None)
        if mount is None:
            mount = next((m for m in volume_mounts(service) if m["type"] == "bind"
                          and config_arg.startswith(m["target"].rstrip("/") + "/")), None)
        if mount is None or mount["type"] != "bind":
            report.fail(f"{name}: --config {config_arg} is not a file bind-mounted into the container")
            continue
        host = (compose_dir / mount["source"]).resolve()
        if mount["target"] != config_arg:
            host = host / config_arg[len(mount["target"].rstrip("/")) + 1:]
        if not report.check(host.is_file(), f"{name}: --config {config_arg} is {rel(host)} (bind mount{', ro' if mount['read_only'] else ''})",
                            f"{name}: --config {config_arg} maps to {host}, which is not a file"):
            continue
        configs.setdefault(host, []).append(name)
        app_env[name] = service_environment(service, compose_dir)

    topics_swift = root / "Sources" / "CallFeedCore" / "Topics.swift"
    for config_path, readers in configs.items():
        Report.section(f"{rel(config_path)} (read by {', '.join(readers)})")
        try:
            config = load_yaml(config_path) or {}
        except yaml.YAMLError as e:
            report.fail(f"{rel(config_path)} is not valid YAML: {e}")
            continue
        if not isinstance(config, dict):
            report.fail(f"{rel(config_path)} is not a mapping")
            continue
        report.ok(f"{rel(config_path)} parses as YAML")
        check_variables(report, config, readers, app_env, rel(config_path))
        if docs is not None:
            check_documented(report, config, docs, rel(config_path))
        for reader in readers:
            service = services[reader]
            executable = Path((as_args(service.get("entrypoint")) + as_args(service.get("command")))[0]).name
            resolved = resolve_config(config, app_env[reader])
            if executable == "callfeed-ingest":
                port = int_or_none(get_path(resolved, "ingest.listen_port"), 8080)
                host = get_path(resolved, "ingest.listen_host") or "127.0.0.1"
                check_ports(report, reader, service, {port}, {port}, "ingest.listen_port")
                check_listen_host(report, reader, service, host, "ingest.listen_host")
                if get_path(config, "sources") and any(
                        isinstance(s, dict) and s.get("poll") for v in (config.get("sources") or {}).values()
                        for s in (v or [])):
                    state = str(get_path(resolved, "poll.state_path") or "./callfeed-state.db")
                    mounted = any(m["type"] == "volume" and state.startswith(m["target"].rstrip("/") + "/")
                                  for m in volume_mounts(service))
                    report.check(mounted, f"{reader}: poll.state_path {state} is on a named volume",
                                 f"{reader}: pollers are configured but poll.state_path {state} is on no named volume "
                                 f"(checkpoints would be lost with the container)")
            elif executable == "callfeed-load":
                port = int_or_none(get_path(resolved, "load.metrics_port"), 9091)
                host = get_path(resolved, "load.metrics_host") or "127.0.0.1"
                check_ports(report, reader, service, {port}, {port}, "load.metrics_port")
                check_listen_host(report, reader, service, host, "load.metrics_host")
                fixed = [p for kind, p, has_host in container_ports(service) if kind == "ports" and has_host]
                blockers = ([f"container_name {service['container_name']}"] if "container_name" in service else []) + \
                    [f"fixed host port for {p}" for p in fixed]
                report.check(not blockers,
                             f"{reader}: no container_name and no fixed host port (`--scale {reader}=N` works)",
                             f"{reader}: {', '.join(blockers)} prevents `--scale {reader}=N`")
                check_sinks(report, reader, resolved, services, model, app_env[reader])
            check_kafka(report, reader, resolved, services, topics_swift, rel)
        check_topics(report, config, services, topics_swift, rel)

    # --- 3. the real parser ------------------------------------------------------------------
    if args.callfeed_binary:
        Report.section(f"callfeed check-config ({args.callfeed_binary})")
        binary = args.callfeed_binary.resolve()
        if not binary.is_file():
            report.fail(f"--callfeed-binary {binary} does not exist")
        else:
            for config_path, readers in configs.items():
                for reader in readers:
                    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **app_env[reader]}
                    run = subprocess.run([str(binary), "check-config", "--config", str(config_path)],
                                         env=env, capture_output=True, text=True, timeout=60)
                    output = (run.stdout + run.stderr).strip().splitlines()
                    report.check(run.returncode == 0,
                                 f"{reader}: `callfeed check-config` accepts {rel(config_path)} with {reader}'s environment",
                                 f"{reader}: `callfeed check-config` refuses {rel(config_path)} with {reader}'s environment: "
                                 + (output[-1] if output else f"exit {run.returncode}"))

    return finish(report)


def finish(report: Report) -> int:
    print()
    if report.failures:
        print(f"check-compose: FAILED: {len(report.failures)} problem(s), {report.passed} checks passed:")
        for f in report.failures:
            print(f"  - {f}")
        return 1
    print(f"check-compose: OK: {report.passed} checks passed"
          + (f", {len(report.warnings)} warning(s)" if report.warnings else ""))
    return 0


def read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def int_or_none(value, default: int) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


def check_dockerfile(info: dict, report: Report, rel) -> None:
    stages, context, path = info["stages"], info["context"], info["path"]
    if not report.check(bool(stages), f"{rel(path)}: {len(stages)} stage(s)", f"{rel(path)}: no FROM"):
        return
    aliases = {s["alias"] for s in stages if s["alias"]}
    for stage in stages:
        if stage["from"] in aliases or stage["from"].lower() == "scratch":
            continue
        pinned, what = image_pinned(stage["from"])
        report.check(pinned, f"{rel(path)}: FROM {stage['from']} is pinned",
                     f"{rel(path)}: FROM {stage['from']} is not pinned: {what}")
    patterns = dockerignore_patterns(context)
    for stage in stages:
        for line in stage["lines"]:
            m = re.match(r"(?i)^(COPY|ADD)\s+(.*)$", line)
            if not m or "--from=" in m.group(2):
                continue
            words = [w for w in shlex.split(m.group(2)) if not w.startswith("--")]
            for source in words[:-1]:
                matches = [Path(p) for p in glob.glob(str(context / source))]
                kept = [p for p in matches if not dockerignored(str(p.relative_to(context)), patterns)]
                report.check(bool(kept), f"{rel(path)}: {m.group(1)} {source} matches {len(kept)} path(s) in the context",
                             f"{rel(path)}: {m.group(1)} {source}: nothing in the build context {rel(context)} "
                             f"matches{' (all excluded by .dockerignore)' if matches else ''}")
    final = stages[-1]
    users = [l for l in final["lines"] if re.match(r"(?i)^USER\s+", l)]
    report.check(bool(users) and not re.match(r"(?i)^USER\s+(root|0)(:|$)", users[-1]),
                 f"{rel(path)}: runtime stage runs as a non-root user ({users[-1] if users else ''})",
                 f"{rel(path)}: runtime stage runs as root (add a USER)")


def check_cycles(services: dict, report: Report) -> None:
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> bool:
        if state.get(name) == 1:
            report.fail(f"depends_on cycle: {' -> '.join(trail + [name])}")
            return False
        if state.get(name) == 2 or name not in services:
            return True
        state[name] = 1
        ok = all(visit(dep, trail + [name]) for dep in depends_on(services[name]))
        state[name] = 2
        return ok

    if all(visit(name, []) for name in services):
        report.ok("depends_on has no cycle")


def check_ports(report: Report, name: str, service: dict, allowed: set[int], health_allowed: set[int], key: str) -> None:
    for kind, port, _ in container_ports(service):
        report.check(port in allowed, f"{name}: {kind} container port {port} = {key}",
                     f"{name}: {kind} container port {port}, but the process listens on {key} = {sorted(allowed)}")
    for port in healthcheck_ports(service):
        report.check(port in health_allowed, f"{name}: healthcheck probes port {port} = {key}",
                     f"{name}: healthcheck probes port {port}, but the process listens on {key} = {sorted(health_allowed)}")


def check_listen_host(report: Report, name: str, service: dict, host: str, key: str) -> None:
    if container_ports(service):
        report.check(host in ("0.0.0.0", "::", ""), f"{name}: {key} = {host}: reachable through its ports",
                     f"{name}: {key} = {host}: published/exposed ports cannot reach a listener on {host} inside the container")


def resolve_config(config, env: dict[str, str]):
    if isinstance(config, dict):
        return {k: resolve_config(v, env) for k, v in config.items()}
    if isinstance(config, list):
        return [resolve_config(v, env) for v in config]
    if isinstance(config, str):
        return callfeed_substitute(config, env)
    return config


def check_variables(report: Report, config: dict, readers: list[str], app_env: dict, where: str) -> None:
    variables = callfeed_variables(config)
    if not variables:
        report.ok(f"{where}: uses no ${{VAR}}")
        return
    by_name: dict[str, list[tuple[str, bool]]] = {}
    for name, path, has_default in variables:
        by_name.setdefault(name, []).append((path, has_default))
    for var, uses in sorted(by_name.items()):
        paths = ", ".join(p for p, _ in uses)
        if not re.fullmatch(NAME, var):
            report.fail(f"{where}: ${{{var}}} at {paths} is not a valid variable name")
            continue
        required = any(not d for _, d in uses)
        missing = [r for r in readers if var not in app_env[r]]
        if required:
            report.check(not missing, f"{where}: ${{{var}}} (required, {paths}) is in the environment of {', '.join(readers)}",
                         f"{where}: ${{{var}}} ({paths}) has no default and is missing from the environment of "
                         f"{', '.join(missing)}: that process refuses to start (every reader substitutes the whole file)")
            empty = [r for r in readers if var in app_env[r] and app_env[r][var] == ""]
            report.check(not empty, f"{where}: ${{{var}}} is non-empty with the compose defaults",
                         f"{where}: ${{{var}}} ({paths}) is empty with the compose defaults in {', '.join(empty)}")
        else:
            report.check(len(missing) < len(readers),
                         f"{where}: ${{{var}:-...}} ({paths}) can be set through {', '.join(r for r in readers if r not in missing)}",
                         f"{where}: ${{{var}:-...}} ({paths}) is passed to none of {', '.join(readers)}: it can never be set")


def check_documented(report: Report, config: dict, docs: dict[str, set[str]], where: str) -> None:
    top = docs.get("", set())
    for key in config:
        report.check(key in top, f"{where}: top-level key {key} is documented in docs/configuration.md",
                     f"{where}: top-level key {key} is not documented in docs/configuration.md (documented: {', '.join(sorted(top))})")

    def walk(node, path: str, required: bool) -> None:
        documented = docs_for(docs, path)
        if not documented:
            if required:
                report.fail(f"{where}: {path} has keys ({', '.join(map(str, node))}) but docs/configuration.md documents "
                            f"none for it (a `{path}` table, or rows `{path.rsplit('.', 1)[-1]}.<key>` in the parent's table)")
            return
        for key, value in node.items():
            ok = key in documented
            report.check(ok, f"{where}: {path}.{key} is documented",
                         f"{where}: {path}.{key} is not documented in docs/configuration.md "
                         f"(documented for {path}: {', '.join(sorted(documented))})")
            if ok and isinstance(value, dict):
                walk(value, f"{path}.{key}", required=path == "load")
            elif ok and isinstance(value, list):
                for item in value:
                    if isinstance(item, dict):
                        walk(item, f"{path}.{key}", required=False)

    for key, value in config.items():
        if key not in top:
            continue
        if isinstance(value, dict):
            walk(value, key, required=key == "load")


def check_sinks(report: Report, name: str, resolved: dict, services: dict, model: dict, env: dict[str, str]) -> None:
    load = resolved.get("load") or {}
    sink = str(load.get("sink") or "sqlite")
    report.ok(f"{name}: load.sink = {sink} with the compose defaults")
    section = load.get(sink)
    if sink in ("postgres", "clickhouse") and not isinstance(section, dict):
        report.fail(f"{name}: load.sink is {sink} but load.{sink} is missing")
        return
    for kind in ("postgres", "clickhouse"):
        block = load.get(kind)
        if not isinstance(block, dict) or not block.get("url"):
            continue
        url = urlsplit(str(block["url"]))
        host = url.hostname or ""
        if host in ("localhost", "127.0.0.1", "::1"):
            report.fail(f"{name}: load.{kind}.url points at {host}, which inside a container is the container itself")
            continue
        if not report.check(host in services, f"{name}: load.{kind}.url host {host} is a compose service",
                            f"{name}: load.{kind}.url host {host!r} is not a compose service"):
            continue
        target = services[host]
        target_env = {k: "" if v is None else str(v) for k, v in (target.get("environment") or {}).items()} \
            if isinstance(target.get("environment"), dict) else {}
        if kind == "postgres":
            expected = {"POSTGRES_USER": unquote(url.username or ""), "POSTGRES_PASSWORD": unquote(url.password or ""),
                        "POSTGRES_DB": url.path.lstrip("/")}
            port = url.port or 5432
            internal = 5432
        else:
            expected = {"CLICKHOUSE_USER": str(block.get("user") or "default"),
                        "CLICKHOUSE_PASSWORD": str(block.get("password") or ""),
                        "CLICKHOUSE_DB": str(block.get("database") or "default")}
            port = url.port or 8123
            internal = 8123
        report.check(port == internal, f"{name}: load.{kind}.url port {port} is {host}'s port",
                     f"{name}: load.{kind}.url port {port}, but {host} listens on {internal}")
        for key, value in expected.items():
            actual = target_env.get(key)
            report.check(actual == value, f"{name}: load.{kind} {key.split('_', 1)[1].lower()} matches {host}'s {key}",
                         f"{name}: load.{kind} gives {key.split('_', 1)[1].lower()} {value!r} but {host} has {key}={actual!r} "
                         f"(with the compose defaults)")
        if kind == sink:
            spec = depends_on(model["services"][name]).get(host)
            report.check(spec is not None and spec["condition"] == "service_healthy",
                         f"{name}: waits for {host} to be healthy",
                         f"{name}: loads into {host} but does not depend_on it with condition: service_healthy")


def topic_names(topics_swift: Path, prefix: str) -> dict[str, str]:
    text = read(topics_swift)
    names = {}
    for var, suffix in re.findall(r'var\s+(\w+)\s*:\s*String\s*\{\s*"\\\(prefix\)(\.[\w.]+)"', text):
        names[var] = prefix + suffix
    return names


def check_kafka(report: Report, name: str, resolved: dict, services: dict, topics_swift: Path, rel) -> None:
    bootstrap = str(get_path(resolved, "kafka.bootstrap_servers") or "127.0.0.1:9092")
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        if not report.check(host in services, f"{name}: kafka.bootstrap_servers {server} is the compose service {host}",
                            f"{name}: kafka.bootstrap_servers {server}: {host!r} is not a compose service"):
            continue
        env = services[host].get("environment") or {}
        advertised = str(env.get("KAFKA_ADVERTISED_LISTENERS", "")) if isinstance(env, dict) else ""
        listeners = re.findall(r"://([^:,]*):(\d+)", advertised)
        report.check((host, port) in listeners, f"{name}: {server} is an advertised listener of {host}",
                     f"{name}: {server} is not among {host}'s KAFKA_ADVERTISED_LISTENERS ({advertised or 'none'})")
        report.check(host in transitive_dependencies(services, name),
                     f"{name}: starts after {host} (depends_on, directly or through another service)",
                     f"{name}: does not depend_on {host}, directly or through another service")


def check_topics(report: Report, config: dict, services: dict, topics_swift: Path, rel) -> None:
    prefix = str((config.get("kafka") or {}).get("topic_prefix") or "callfeed")
    names = topic_names(topics_swift, prefix)
    if not report.check(bool(names), f"{rel(topics_swift)}: topics {', '.join(sorted(names.values()))}",
                        f"{rel(topics_swift)}: no topic names found"):
        return
    creators = {}
    for sname, service in services.items():
        text = " ".join(as_args(service.get("entrypoint")) + as_args(service.get("command")))
        if "kafka-topics" in text and "--create" in text:
            creators[sname] = text
    if not report.check(bool(creators), f"topics are created by {', '.join(creators)}",
                        "no service creates the topics (kafka-topics.sh --create); clients do not create them"):
        return
    for sname, text in creators.items():
        # Only the commands (lines, with backslash continuations joined) that say --create.
        lines = re.sub(r"\\\s*\n", " ", text).splitlines()
        created = {t for line in lines if "--create" in line
                   for t in re.findall(r"--topic[\s=]+['\"]?([\w.-]+)", line)}
        for var, topic in sorted(names.items()):
            report.check(topic in created, f"{sname}: creates {topic}",
                         f"{sname}: does not create {topic} (Topics.{var} with prefix {prefix})")
        for topic in sorted(created - set(names.values())):
            report.warn(f"{sname}: creates {topic}, which CallFeed does not use")
        report.check("--if-not-exists" in text, f"{sname}: --if-not-exists (re-running is harmless)",
                     f"{sname}: kafka-topics.sh --create without --if-not-exists fails on the second start")
        if str(services[sname].get("restart", "no")) != "no":
            report.fail(f"{sname}: topic creation must be a one-shot (restart: no)")
    auto = None
    for service in services.values():
        env = service.get("environment")
        if isinstance(env, dict) and "KAFKA_AUTO_CREATE_TOPICS_ENABLE" in env:
            auto = str(env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"]).lower()
    if auto is not None:
        report.check(auto == "false", "broker does not auto-create topics (a typo cannot create a 1-partition topic)",
                     f"KAFKA_AUTO_CREATE_TOPICS_ENABLE is {auto}")


if __name__ == "__main__":
    sys.exit(main())
