#!/usr/bin/env python3
"""CallFeed's benchmark harness: each benchmark next to its limit and to what users write instead.

Started by bench/run.sh, which builds everything and starts PostgreSQL first; see
docs/performance.md for what each part measures, the goals and the recorded figures.

Parts (``--only``):
  ingest  POST /webhooks/callkeeper against callfeed-ingest, a bare libmicrohttpd responder
          (the HTTP limit), librdkafka alone (the Kafka limit) and a FastAPI + confluent-kafka
          receiver; closed loop and open loop (fixed rate, latency from the scheduled send).
  loader  callfeed-load draining N CallEvents from the topic into SQLite and PostgreSQL, against
          PostgreSQL COPY of the same rows from a file and a raw SQLite prepared-insert loop.
  poller  CTM calls from the vendor sandbox into PostgreSQL: CallFeed (backfill -> Kafka ->
          loader) against dlt's rest_api source.
  e2e     webhooks at a steady rate; webhook received -> row visible, p50/p99.
Peak RSS (VmHWM) of callfeed-ingest and callfeed-load is read in each part.

Standard library only (runs under the bench venv's python when there is one: psycopg2 then
also probes PostgreSQL rows in the e2e part).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token-0123456789"
BODY = ROOT / "bench/bodies/callkeeper-after-call-finish.json"


# ---------------------------------------------------------------------------------------------
# Processes


class Proc:
    """A child process pinned to `cpus` (taskset), its output in files under the work dir."""

    def __init__(self, name: str, argv: list[str], work: Path, cpus: str | None = None,
                 env: dict[str, str] | None = None, cwd: Path | None = None, stdin=None):
        self.name = name
        self.out = open(work / f"{name}.out", "ab")
        self.err = open(work / f"{name}.err", "ab")
        full = (["taskset", "-c", cpus] if cpus else []) + argv
        self.p = subprocess.Popen(full, stdout=self.out, stderr=self.err, stdin=stdin,
                                  env={**os.environ, **(env or {})}, cwd=cwd)

    def peak_rss_mb(self) -> float | None:
        try:
            for line in Path(f"/proc/{self.p.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def cpu_seconds(self) -> float:
        """User + system CPU of the process so far (all threads)."""
        fields = Path(f"/proc/{self.p.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self, timeout: float = 20) -> None:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.out.close()
        self.err.close()


class MockKafka:
    """`callfeed mock-kafka`: librdkafka's mock cluster in its own process (3 brokers, replication 3)."""

    def __init__(self, bin_dir: Path, work: Path, cpus: str | None, brokers: int = 3, partitions: int = 6):
        argv = (["taskset", "-c", cpus] if cpus else []) + [str(bin_dir / "callfeed"), "mock-kafka", "--brokers", str(brokers),
                                                          "--partitions", str(partitions)]
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=open(work / "mock-kafka.err", "ab"), text=True)
        line = self.p.stdout.readline()
        if not line:
            raise SystemExit(f"bench: callfeed mock-kafka did not start (see {work}/mock-kafka.err)")
        self.bootstrap = json.loads(line)["bootstrap_servers"]

    def stop(self) -> None:
        self.p.stdin.close()
        self.p.terminate()
        self.p.wait(10)


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status < 500:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: {url} did not answer within {timeout} s")
        time.sleep(0.1)


def run_json(argv: list[str], cpus: str | None = None, timeout: float = 3600, env=None) -> list[dict]:
    """Runs a tool that prints JSON lines; returns them (fails loudly on a non-zero exit)."""
    full = (["taskset", "-c", cpus] if cpus else []) + argv
    r = subprocess.run(full, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})
    if r.returncode != 0:
        raise SystemExit(f"bench: {' '.join(argv)} failed ({r.returncode}):\n{r.stderr[-3000:]}\n{r.stdout[-2000:]}")
    return [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]


def run_measured(argv: list[str], work: Path, name: str, env=None, timeout: float = 3600) -> tuple[str, float, int]:
    """Runs a command to its end; returns its stdout, its CPU seconds (user + system, from wait4) and exit code."""
    out_path, err_path = work / f"{name}.out", work / f"{name}.err"
    with open(out_path, "wb") as out, open(err_path, "ab") as err:
        p = subprocess.Popen(argv, stdout=out, stderr=err, env={**os.environ, **(env or {})})
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                p.kill()
                raise SystemExit(f"bench: {name} ran past {timeout} s")
            time.sleep(0.02)
    p.returncode = os.waitstatus_to_exitcode(status)
    return out_path.read_text(), usage.ru_utime + usage.ru_stime, p.returncode


def metric(url: str, name: str) -> float:
    """Sum of every sample of one Prometheus series (all label sets)."""
    total = 0.0
    with urllib.request.urlopen(url, timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name) and (line[len(name)] in " {"):
                total += float(line.rsplit(" ", 1)[1])
    return total


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def psql(url: str, sql: str, *extra: str) -> str:
    r = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAtX", *extra, "-c", sql],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"bench: psql failed: {sql}\n{r.stderr}")
    return r.stdout.strip()


# ---------------------------------------------------------------------------------------------
# Configuration files


def write_config(work: Path, name: str, *, bootstrap: str, ingest_port: int = 0, metrics_port: int = 0,
                 sqlite: Path | None = None, postgres: str | None = None, schema: str = "bench",
                 group: str = "callfeed-load", extra: str = "") -> Path:
    path = work / f"{name}.yaml"
    lines = [
        "log: {level: warning, format: text}",
        f"kafka: {{bootstrap_servers: \"{bootstrap}\"}}",
        f"ingest: {{listen_host: 127.0.0.1, listen_port: {ingest_port}}}",
        "load:",
        f"  group_id: {group}",
        f"  metrics_port: {metrics_port}",
        f"  sqlite_path: {sqlite or work / 'unused.sqlite'}",
    ]
    if postgres:
        lines.append(f"  postgres: {{url: \"{postgres}\", schema: {schema}}}")
    lines += [
        "sources:",
        "  callkeeper:",
        "    - name: callkeeper-bench",
        "      account_id: bench",
        f"      token: {TOKEN}",
        "      timezone: Europe/Moscow",
        "      default_country: RU",
    ]
    path.write_text("\n".join(lines) + "\n" + extra)
    path.chmod(0o600)  # it holds the webhook token
    return path


# ---------------------------------------------------------------------------------------------
# Report


class Report:
    """Collects result rows; prints them as they come and as Markdown tables at the end."""

    def __init__(self) -> None:
        self.sections: list[tuple[str, list[str], list[list[str]]]] = []
        self.goals: list[tuple[str, str, bool | None]] = []

    def table(self, title: str, header: list[str], rows: list[list[str]]) -> None:
        self.sections.append((title, header, rows))
        print(f"\n== {title}", flush=True)
        widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
        for row in [header] + rows:
            print("  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths)), flush=True)

    def goal(self, name: str, measured: str, met: bool | None) -> None:
        self.goals.append((name, measured, met))
        verdict = "n/a" if met is None else ("met" if met else "MISSED")
        print(f"goal: {name}: {measured} -> {verdict}", flush=True)

    def markdown(self) -> str:
        out = []
        for title, header, rows in self.sections:
            out.append(f"### {title}\n")
            out.append("| " + " | ".join(header) + " |")
            out.append("|" + "---|" * len(header))
            out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
            out.append("")
        out.append("### Goals\n")
        out.append("| Goal | Measured | |\n|---|---|---|")
        for name, measured, met in self.goals:
            out.append(f"| {name} | {measured} | {'n/a' if met is None else ('met' if met else 'missed')} |")
        return "\n".join(out) + "\n"


def fmt(x: float | None, digits: int = 0) -> str:
    if x is None or x != x:
        return "–"
    return f"{x:,.{digits}f}"


# ---------------------------------------------------------------------------------------------
# 1. Webhook ingest


def bench_ingest(a, report: Report, rss: dict) -> None:
    """Every target on core 1; the load generator and the mock Kafka cluster share core 0."""
    client_cpu, server_cpu = a.cpus
    loadgen = [str(a.tools / "loadgen"), "--host", "127.0.0.1", "--body", str(BODY),
               "--duration", str(a.seconds), "--warmup", str(a.warmup)]
    targets = ["callfeed", "bare-mhd", "kafka-limit"] + (["python"] if a.python else [])
    closed: dict[str, list[dict]] = {t: [] for t in targets}
    opened: dict[tuple[str, int], list[dict]] = {}
    for repeat in range(a.repeat):
        for target in targets:  # interleaved: drift on a noisy machine hits every target alike
            kafka = MockKafka(a.bin, a.work, client_cpu) if target != "bare-mhd" else None
            port = 18601
            proc = None
            try:
                if target == "callfeed":
                    cfg = write_config(a.work, "ingest", bootstrap=kafka.bootstrap, ingest_port=port)
                    proc = Proc("callfeed-ingest", [str(a.bin / "callfeed-ingest"), "--config", str(cfg)], a.work, server_cpu)
                elif target == "bare-mhd":
                    proc = Proc("bare-mhd", [str(a.tools / "bare_mhd"), "--port", str(port)], a.work, server_cpu)
                elif target == "python":
                    env = {"CALLFEED_BENCH_BOOTSTRAP": kafka.bootstrap, "CALLFEED_BENCH_TOKEN": TOKEN,
                           "CALLFEED_BENCH_ACCOUNT_ID": "bench", "CALLFEED_BENCH_TIMEZONE": "Europe/Moscow",
                           "CALLFEED_BENCH_DEFAULT_COUNTRY": "RU",
                           # Like CallFeed: the raw body to the raw topic too, 202 after both acks.
                           "CALLFEED_BENCH_RAW_TOPIC": "callfeed.raw.v1"}
                    proc = Proc("python-receiver", [a.python, "-m", "uvicorn", "receiver:app", "--host", "127.0.0.1",
                                                    "--port", str(port), "--workers", "1", "--log-level", "warning",
                                                    "--no-access-log"], a.work, server_cpu, env=env, cwd=ROOT / "bench/python")
                if target == "kafka-limit":
                    # CallFeed publishes two messages per webhook (raw body + CallEvent): 2 x connections
                    # outstanding models the same number of webhooks waiting for their acks.
                    count = max(2000, int(a.kafka_count))
                    r = run_json([str(a.tools / "kafka_limit"), "--bootstrap", kafka.bootstrap, "--topic", "callfeed.raw.v1",
                                  "--body", str(BODY), "--count", str(count), "--inflight", str(2 * a.connections)],
                                 cpus=server_cpu)[-1]
                    closed[target].append({"rps": r["msgs_per_s"] / 2, "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"],
                                           "requests": count // 2, "status": {}})
                    continue
                wait_http(f"http://127.0.0.1:{port}/healthz")
                path = f"/webhooks/callkeeper?token={TOKEN}"
                cpu_before = proc.cpu_seconds()
                r = run_json(loadgen + ["--port", str(port), "--path", path, "--connections", str(a.connections)],
                             cpus=client_cpu)[-1]
                # CPU per answered request over the whole run (warm-up included in both counts).
                r["cpu_us"] = (proc.cpu_seconds() - cpu_before) * 1e6 / max(1, sum(r.get("status", {}).values()))
                closed[target].append(r)
                for rate in a.rates:
                    r = run_json(loadgen + ["--port", str(port), "--path", path, "--connections", str(a.open_connections),
                                            "--rate", str(rate)], cpus=client_cpu)[-1]
                    opened.setdefault((target, rate), []).append(r)
                if target == "callfeed":
                    rss.setdefault("callfeed-ingest", []).append(proc.peak_rss_mb())
            finally:
                if proc:
                    proc.stop()
                if kafka:
                    kafka.stop()
        print(f"ingest: repeat {repeat + 1}/{a.repeat} done", flush=True)

    def med(runs: list[dict], key: str) -> float:
        return median([r[key] for r in runs])

    cf = med(closed["callfeed"], "rps")
    rows = []
    for t in targets:
        runs = closed[t]
        non2xx = sum(n for r in runs for code, n in r.get("status", {}).items() if not code.startswith("2"))
        cpu = fmt(med(runs, "cpu_us")) if all("cpu_us" in r for r in runs) else "–"
        rows.append([t, fmt(med(runs, "rps")), " / ".join(fmt(r["rps"]) for r in runs), fmt(med(runs, "p50_ms"), 2),
                     fmt(med(runs, "p99_ms"), 2), str(non2xx), cpu, fmt(cf / med(runs, "rps"), 2) if t != "callfeed" else "1"])
    report.table(f"Webhook ingest, closed loop, {a.connections} connections, {a.seconds} s per run, median of {a.repeat}",
                 ["target", "req/s", "runs", "p50 ms", "p99 ms", "non-2xx", "server CPU µs/request", "callfeed / target"], rows)
    rows = []
    for (t, rate), runs in sorted(opened.items(), key=lambda kv: (kv[0][1], targets.index(kv[0][0]))):
        rows.append([t, str(rate), fmt(med(runs, "rps")), fmt(med(runs, "p50_ms"), 2), fmt(med(runs, "p99_ms"), 2),
                     fmt(med(runs, "p999_ms"), 2), fmt(med(runs, "max_ms"), 1),
                     str(sum(r.get("late", 0) for r in runs))])
    report.table(f"Webhook ingest, open loop (fixed rate; latency from the scheduled send), up to {a.open_connections} connections",
                 ["target", "rate/s", "done/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "late sends"], rows)
    bare = med(closed["bare-mhd"], "rps")
    report.goal("ingest >= 50% of bare libmicrohttpd", f"{cf / bare:.1%}", cf / bare >= 0.5)
    if a.python:
        py = med(closed["python"], "rps")
        report.goal("ingest >= 10x the Python receiver", f"{cf / py:.1f}x", cf / py >= 10)
    klim = med(closed["kafka-limit"], "rps")
    report.goal("(context) ingest / Kafka's own limit at the same acks outstanding", f"{cf / klim:.1%}", None)


# ---------------------------------------------------------------------------------------------
# 2. Loader


def load_in_chunks(a, name: str, bootstrap: str, sink: str, sqlite_path: Path, schema: str, partitions: int,
                   chunk: int, rss: dict) -> dict:
    """Times callfeed-load through `a.events` CallEvents, published `chunk` at a time.

    The mock cluster drops older messages beyond a few MB per partition (rdkafka_mock.c), so 1M
    events (about 1 GB) cannot wait in it at once. The loader runs throughout; each chunk is
    published while it idles, then timed from "published" to "committed" (its /metrics counter).
    """
    cfg = write_config(a.work, name, bootstrap=bootstrap, metrics_port=18604, sqlite=sqlite_path, postgres=a.postgres,
                       schema=schema, group=f"bench-{name}")
    proc = Proc(name, [str(a.bin / "callfeed-load"), "--config", str(cfg), "--sink", sink], a.work)
    url = "http://127.0.0.1:18604/metrics"
    busy, cpu_total, produced, publish_rates = 0.0, 0.0, 0, []
    try:
        wait_http("http://127.0.0.1:18604/healthz")
        base_run = (os.getpid() * 1000 + int(time.time())) % 4_000_000_000
        for index in range(-(-a.events // chunk)):
            count = min(chunk, a.events - produced)
            out = run_json([str(a.bin / "callfeed"), "bench", "produce", "--config", str(cfg), "--events", str(count),
                            "--partitions", str(partitions), "--run", str(base_run + index)])[-1]
            publish_rates.append(out["events_per_s"])
            produced += count
            began = time.monotonic()
            cpu_before = proc.cpu_seconds()
            while metric(url, "callfeed_load_messages_total") < produced:
                if proc.p.poll() is not None:
                    raise SystemExit(f"bench: {name} exited ({proc.p.returncode}); see {a.work}/{name}.err")
                if time.monotonic() - began > a.timeout:
                    raise SystemExit(f"bench: {name} did not load chunk {index + 1} in {a.timeout} s")
                time.sleep(0.05)
            busy += time.monotonic() - began
            cpu_total += proc.cpu_seconds() - cpu_before
        rss.setdefault(f"callfeed-load ({sink})", []).append(proc.peak_rss_mb())
    finally:
        proc.stop()
    return {"seconds": busy, "rate": produced / busy, "cpu_us": cpu_total * 1e6 / produced,
            "publish_rate": median(publish_rates)}


def bench_loader(a, report: Report, rss: dict) -> None:
    n = a.events
    # The mock cluster drops a partition's oldest messages beyond about 5 MB (rdkafka_mock.c; measured:
    # 100,000 events into 6 partitions left 31,439), so the events wait in it 20,000 at a time;
    # `callfeed bench produce` fails if any chunk was not kept whole.
    chunk = min(n, 20_000)
    partitions = 6
    rows = []
    ratios = {}
    for repeat in range(a.loader_repeat):
        kafka = MockKafka(a.bin, a.work, None, partitions=partitions)
        tag = f"r{os.getpid()}_{repeat}"
        sqlite_path = a.work / f"loader-{tag}.sqlite"
        try:
            lite = load_in_chunks(a, f"load-sqlite-{tag}", kafka.bootstrap, "sqlite", sqlite_path, f"cf_{tag}", partitions,
                                  chunk, rss)
            pg = load_in_chunks(a, f"load-postgres-{tag}", kafka.bootstrap, "postgres", sqlite_path, f"cf_{tag}",
                                partitions, chunk, rss) if a.postgres else None
        finally:
            kafka.stop()
        # References: the same rows CallFeed wrote (calls + call_revisions), loaded the plain way.
        raw = run_json([str(a.tools / "sqlite_insert"), "--from", str(sqlite_path), "--to", str(a.work / f"raw-{tag}.sqlite"),
                        "--table", "calls", "--table", "call_revisions", "--batch", "500"])
        raw_total = next(r for r in raw if r["table"] == "*")
        raw_rate = n / raw_total["seconds"]
        copy_rate = None
        if a.postgres:
            copy_rate = n / pg_copy(a, f"cf_{tag}", f"copy_{tag}")
            psql(a.postgres, f"DROP SCHEMA cf_{tag} CASCADE; DROP SCHEMA copy_{tag} CASCADE")
        for path in a.work.glob(f"*{tag}.sqlite*"):
            path.unlink()
        rows.append([str(repeat + 1), fmt(lite["publish_rate"]), fmt(lite["rate"]), fmt(raw_rate),
                     fmt(lite["rate"] / raw_rate, 2), fmt(pg["rate"]) if pg else "–", fmt(copy_rate),
                     fmt(pg["rate"] / copy_rate, 2) if pg else "–", fmt(lite["cpu_us"]), fmt(pg["cpu_us"]) if pg else "–"])
        ratios.setdefault("sqlite", []).append(lite["rate"] / raw_rate)
        if pg:
            ratios.setdefault("pg", []).append(pg["rate"] / copy_rate)
        print(f"loader: repeat {repeat + 1}/{a.loader_repeat} done", flush=True)
    report.table(f"Loader: {n:,} CallEvents from the topic, {chunk:,} at a time (events/s; each event = one calls row "
                 "+ one call_revisions row)",
                 ["run", "published at", "callfeed SQLite", "raw SQLite inserts", "ratio", "callfeed PostgreSQL",
                  "PostgreSQL COPY", "ratio", "loader CPU µs/event (SQLite)", "(PostgreSQL)"], rows)
    if "pg" in ratios:
        report.goal("PostgreSQL loader >= 50% of COPY", f"{median(ratios['pg']):.1%} (median)", median(ratios["pg"]) >= 0.5)
    report.goal("(context) SQLite loader / raw prepared inserts", f"{median(ratios['sqlite']):.1%} (median)", None)


def pg_copy(a, source_schema: str, target_schema: str) -> float:
    """Seconds for `COPY ... FROM` of both tables' rows (exported from CallFeed's load) into empty twins."""
    psql(a.postgres, f"CREATE SCHEMA {target_schema}; "
                     f"CREATE TABLE {target_schema}.calls (LIKE {source_schema}.calls INCLUDING ALL); "
                     f"CREATE TABLE {target_schema}.call_revisions (LIKE {source_schema}.call_revisions INCLUDING ALL)")
    total = 0.0
    for table in ["calls", "call_revisions"]:
        data = a.work / f"{table}.copy"
        psql(a.postgres, f"\\copy {source_schema}.{table} TO '{data}'")
        began = time.monotonic()
        psql(a.postgres, f"\\copy {target_schema}.{table} FROM '{data}'")
        total += time.monotonic() - began
        data.unlink()
    return total


# ---------------------------------------------------------------------------------------------
# 3. Pollers


def sandbox(a, calls: int) -> Proc:
    proc = Proc("sandbox", [str(a.bin / "callfeed-sandbox"), "--port", "18605", "--accounts", "2",
                            "--calls-per-account", str(calls), "--from", "2024-01-01", "--to", "2024-03-01"], a.work)
    wait_http("http://127.0.0.1:18605/healthz")
    return proc


def bench_poller(a, report: Report, rss: dict) -> None:
    calls = a.poll_calls
    total = 2 * calls
    rows = []
    ratios = []
    for repeat in range(a.repeat):
        tag = f"p{os.getpid()}_{repeat}"
        # CallFeed: backfill (fetch, normalise, publish, acks=all) with the loader draining into PostgreSQL.
        box = sandbox(a, calls)
        kafka = MockKafka(a.bin, a.work, None)
        try:
            poll = (f"poll: {{state_path: {a.work / (tag + '-state.db')}}}\n"
                    "sources:\n  ctm:\n    - name: ctm-bench\n      poll:\n"
                    "        base_url: http://127.0.0.1:18605/ctm\n        access_key: ctm_sandbox_access_key\n"
                    "        secret_key: ctm_sandbox_secret_key\n        start: \"2024-01-01\"\n        chunk_days: 30\n"
                    "        rate_limits: [\"1000000/hour\"]\n        interval_seconds: 86400\n")
            cfg = write_config(a.work, "poller", bootstrap=kafka.bootstrap, metrics_port=18604,
                               sqlite=a.work / f"{tag}.sqlite", postgres=a.postgres, schema=f"cf_{tag}",
                               group=f"bench-{tag}").read_text()
            cfg = cfg[:cfg.index("sources:")] + poll
            path = a.work / "poller.yaml"
            path.write_text(cfg)
            loader = Proc("callfeed-load-poll", [str(a.bin / "callfeed-load"), "--config", str(path), "--sink", "postgres"], a.work)
            began = time.monotonic()
            _, backfill_cpu, code = run_measured([str(a.bin / "callfeed"), "backfill", "--config", str(path), "--source",
                                                  "ctm-bench", "--from", "2024-01-01", "--to", "2024-02-29"], a.work, "backfill",
                                                 timeout=a.timeout)
            published_at = time.monotonic()
            if code != 0:
                raise SystemExit(f"bench: callfeed backfill failed; see {a.work}/backfill.err")
            while True:
                n = int(psql(a.postgres, f"SELECT count(*) FROM cf_{tag}.calls") or 0) if schema_exists(a, f"cf_{tag}") else 0
                if n >= total:
                    break
                if time.monotonic() - began > a.timeout:
                    raise SystemExit(f"bench: PostgreSQL holds {n} of {total} polled calls after {a.timeout} s")
                time.sleep(0.2)
            loaded_at = time.monotonic()
            loader_cpu = loader.cpu_seconds()
            rss.setdefault("callfeed-load (poll)", []).append(loader.peak_rss_mb())
            loader.stop()
        finally:
            kafka.stop()
            box.stop()
        # dlt: the same pages into the same PostgreSQL.
        dlt = None
        if a.python:
            box = sandbox(a, calls)
            try:
                text, dlt_cpu, code = run_measured(
                    [a.python, str(ROOT / "bench/python/dlt_ctm.py"), "--base-url", "http://127.0.0.1:18605/ctm",
                     "--dsn", postgres_url(a.postgres), "--dataset", f"dlt_{tag}", "--start-date", "2024-01-01",
                     "--end-date", "2024-02-29", "--pipelines-dir", str(a.work / "dlt")], a.work, "dlt",
                    env={"DLT_DATA_DIR": str(a.work / "dlt"), "RUNTIME__LOG_LEVEL": "WARNING"}, timeout=a.timeout)
                if code != 0:
                    raise SystemExit(f"bench: dlt_ctm.py failed; see {a.work}/dlt.err")
                dlt = [json.loads(x) for x in text.splitlines() if x.startswith("{")][-1]
                dlt["cpu"] = dlt_cpu
                got = int(psql(a.postgres, f"SELECT count(*) FROM dlt_{tag}.calls"))
                if got != total:
                    raise SystemExit(f"bench: dlt loaded {got} calls, expected {total}")
            finally:
                box.stop()
        psql(a.postgres, f"DROP SCHEMA IF EXISTS cf_{tag} CASCADE; DROP SCHEMA IF EXISTS dlt_{tag} CASCADE; "
                         f"DROP SCHEMA IF EXISTS dlt_{tag}_staging CASCADE")
        cf_rate = total / (loaded_at - began)
        pub_rate = total / (published_at - began)
        rows.append([str(repeat + 1), fmt(pub_rate), fmt(cf_rate), fmt(loaded_at - began, 1),
                     fmt(backfill_cpu + loader_cpu, 1), fmt(dlt["rows_per_s"]) if dlt else "–",
                     fmt(dlt["seconds"], 1) if dlt else "–", fmt(dlt["cpu"], 1) if dlt else "–",
                     fmt(cf_rate / dlt["rows_per_s"], 1) + "x" if dlt else "–",
                     fmt(dlt["cpu"] / (backfill_cpu + loader_cpu), 1) + "x" if dlt else "–"])
        if dlt:
            ratios.append(cf_rate / dlt["rows_per_s"])
        print(f"poller: repeat {repeat + 1}/{a.repeat} done", flush=True)
    report.table(f"Pollers: 2 CTM accounts x {calls:,} calls from the sandbox into PostgreSQL (records/s)",
                 ["run", "callfeed fetched+published", "callfeed into PostgreSQL", "wall s", "CPU s (backfill + loader)",
                  "dlt rest_api", "dlt wall s", "dlt CPU s", "callfeed / dlt (rate)", "dlt / callfeed (CPU)"], rows)
    if ratios:
        report.goal("poller >= 5x dlt", f"{median(ratios):.1f}x (median)", median(ratios) >= 5)


def postgres_url(conninfo: str) -> str:
    """`host=... port=... user=... dbname=...` (scripts/test-services.sh) as a postgresql:// URL (dlt wants one)."""
    if conninfo.startswith("postgres"):
        return conninfo
    kv = dict(part.split("=", 1) for part in conninfo.split())
    auth = kv.get("user", "postgres") + (":" + kv["password"] if "password" in kv else "")
    return f"postgresql://{auth}@{kv.get('host', '127.0.0.1')}:{kv.get('port', '5432')}/{kv.get('dbname', 'postgres')}"


def schema_exists(a, schema: str) -> bool:
    return psql(a.postgres, f"SELECT count(*) FROM pg_tables WHERE schemaname = '{schema}' AND tablename = 'calls'") == "1"


# ---------------------------------------------------------------------------------------------
# 4. End to end


def bench_e2e(a, report: Report, rss: dict) -> None:
    """Webhooks at a steady rate through ingest -> Kafka -> loader -> warehouse.

    Two measures: for every row, loaded_at - received_at (server clocks; loaded_at is taken when
    the batch's transaction starts, so the commit is not in it), and probes: every 100 ms one more
    webhook, whose row is then looked up by event_id every 2 ms (the client's view: 202 sent ->
    row visible to a reader, HTTP and commit included).
    """
    rows = []
    p99s = []
    sinks = ["sqlite"] + (["postgres"] if a.postgres else [])
    for sink in sinks:
        for rate in a.e2e_rates:
            tag = f"e{os.getpid()}_{sink}_{rate}"
            kafka = MockKafka(a.bin, a.work, None)
            sqlite_path = a.work / f"{tag}.sqlite"
            cfg = write_config(a.work, "e2e", bootstrap=kafka.bootstrap, ingest_port=18601, metrics_port=18604,
                               sqlite=sqlite_path, postgres=a.postgres, schema=f"cf_{tag}", group=f"bench-{tag}")
            ingest = Proc("e2e-ingest", [str(a.bin / "callfeed-ingest"), "--config", str(cfg)], a.work)
            loader = Proc("e2e-load", [str(a.bin / "callfeed-load"), "--config", str(cfg), "--sink", sink], a.work)
            try:
                wait_http("http://127.0.0.1:18601/healthz")
                wait_http("http://127.0.0.1:18604/healthz")
                time.sleep(a.join_wait)  # the loader joins its consumer group
                # Warm-up (producer id, metadata, first batches), not counted: rows received before
                # `measured_from` are left out of the figures.
                run_json([str(a.tools / "loadgen"), "--host", "127.0.0.1", "--port", "18601", "--body", str(BODY),
                          "--path", f"/webhooks/callkeeper?token={TOKEN}", "--connections", str(a.open_connections),
                          "--rate", str(rate), "--duration", "2", "--warmup", "0"])
                warm = count_rows_eventually(sink, sqlite_path, a.postgres, f"cf_{tag}", 1)
                measured_from = time.time()
                probes = Prober(sink, sqlite_path, a.postgres, f"cf_{tag}")
                probes.start()
                r = run_json([str(a.tools / "loadgen"), "--host", "127.0.0.1", "--port", "18601", "--body", str(BODY),
                              "--path", f"/webhooks/callkeeper?token={TOKEN}", "--connections", str(a.open_connections),
                              "--rate", str(rate), "--duration", str(a.e2e_seconds), "--warmup", "0"])[-1]
                probes.stop()
                expected = warm + r["requests"] + probes.sent
                deadline = time.monotonic() + 60
                while count_rows(sink, sqlite_path, a.postgres, f"cf_{tag}") < expected:
                    if time.monotonic() > deadline:
                        raise SystemExit(f"bench: e2e rows missing after 60 s ({sink}, {rate}/s)")
                    time.sleep(0.2)
                deltas = [d for received, d in server_deltas(sink, sqlite_path, a.postgres, f"cf_{tag}")
                          if received >= measured_from]
                rss.setdefault("callfeed-ingest", []).append(ingest.peak_rss_mb())
                rss.setdefault(f"callfeed-load ({sink})", []).append(loader.peak_rss_mb())
            finally:
                ingest.stop()
                loader.stop()
                kafka.stop()
            if a.postgres and sink == "postgres":
                psql(a.postgres, f"DROP SCHEMA IF EXISTS cf_{tag} CASCADE")
            q = quantiles(deltas)
            pq = quantiles(probes.latencies)
            rows.append([sink, str(rate), fmt(r["rps"]), fmt(r["p99_ms"], 1), str(len(deltas)), fmt(q[0]), fmt(q[1]),
                         fmt(q[2]), str(len(probes.latencies)), fmt(pq[0]), fmt(pq[1]), fmt(pq[2])])
            p99s.append(max(q[1], pq[1] if probes.latencies else 0))
            print(f"e2e: {sink} at {rate}/s done", flush=True)
    report.table(f"End to end: webhook -> row, {a.e2e_seconds} s at each rate (ms)",
                 ["sink", "rate/s", "202/s", "HTTP p99", "rows", "received->loaded p50", "p99", "max",
                  "probes", "probe sent->visible p50", "p99", "max"], rows)
    worst = max(p99s) if p99s else float("nan")
    report.goal("end-to-end p99 < 500 ms", f"worst p99 {worst:.0f} ms", worst < 500)


def quantiles(values: list[float]) -> tuple[float, float, float]:
    if not values:
        return (float("nan"),) * 3
    s = sorted(values)
    pick = lambda q: s[min(len(s) - 1, int(q * len(s)))]
    return pick(0.5), pick(0.99), s[-1]


def count_rows(sink: str, sqlite_path: Path, postgres: str | None, schema: str) -> int:
    if sink == "sqlite":
        try:
            with sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True) as db:
                return db.execute("SELECT count(*) FROM calls").fetchone()[0]
        except sqlite3.Error:
            return 0
    return int(psql(postgres, f"SELECT count(*) FROM {schema}.calls"))


def count_rows_eventually(sink: str, sqlite_path: Path, postgres: str | None, schema: str, at_least: int) -> int:
    """The row count once it stopped growing (and is at least `at_least`)."""
    last, deadline = -1, time.monotonic() + 60
    while time.monotonic() < deadline:
        n = count_rows(sink, sqlite_path, postgres, schema)
        if n >= at_least and n == last:
            return n
        last = n
        time.sleep(0.5)
    raise SystemExit(f"bench: warm-up rows did not settle in 60 s ({sink})")


def server_deltas(sink: str, sqlite_path: Path, postgres: str | None, schema: str) -> list[tuple[float, float]]:
    """(received_at as Unix seconds, loaded_at - received_at in ms) of every row."""
    if sink == "sqlite":
        with sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT (julianday(received_at) - 2440587.5) * 86400.0, "
                              "(julianday(loaded_at) - julianday(received_at)) * 86400000.0 FROM calls").fetchall()
        return [(r[0], r[1]) for r in rows]
    out = psql(postgres, f"SELECT extract(epoch FROM received_at), extract(epoch FROM loaded_at - received_at) * 1000 "
                         f"FROM {schema}.calls", "-F", " ")
    return [(float(x.split()[0]), float(x.split()[1])) for x in out.splitlines()]


class Prober(threading.Thread):
    """One webhook every 100 ms; then polls the warehouse for its event_id every 2 ms."""

    def __init__(self, sink: str, sqlite_path: Path, postgres: str | None, schema: str):
        super().__init__(daemon=True)
        self.sink, self.sqlite_path, self.postgres, self.schema = sink, sqlite_path, postgres, schema
        self.latencies: list[float] = []
        self.sent = 0
        self.halt = threading.Event()
        self.body = BODY.read_text()

    def connect(self):
        if self.sink == "sqlite":
            return sqlite3.connect(f"file:{self.sqlite_path}?mode=ro", uri=True), "SELECT 1 FROM calls WHERE event_id = ?"
        try:
            import psycopg2  # from the bench venv (dlt[postgres])
        except ImportError:
            return None, None
        return psycopg2.connect(self.postgres), f"SELECT 1 FROM {self.schema}.calls WHERE event_id = %s"

    def run(self) -> None:
        import http.client
        db, query = self.connect()
        if db is None:
            return
        if self.sink == "postgres":
            db.autocommit = True
        conn = http.client.HTTPConnection("127.0.0.1", 18601, timeout=10)
        n = 900_000_000_000
        while not self.halt.is_set():
            n += 1
            body = self.body.replace("@@SEQ@@@@@@@", f"{n:012d}").encode()
            began = time.monotonic()
            conn.request("POST", f"/webhooks/callkeeper?token={TOKEN}", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            answer = json.loads(response.read() or b"{}")
            if response.status != 202:
                continue
            self.sent += 1
            event_id = answer["event_id"]
            while not self.halt.is_set() or time.monotonic() - began < 30:
                try:
                    cur = db.cursor()
                    cur.execute(query, (event_id,))
                    if cur.fetchone():
                        self.latencies.append((time.monotonic() - began) * 1000)
                        break
                except Exception:  # noqa: BLE001 - the table may not exist yet; keep probing
                    if self.sink == "postgres":
                        db.rollback()
                time.sleep(0.002)
            time.sleep(max(0.0, 0.1 - (time.monotonic() - began)))

    def stop(self) -> None:
        self.halt.set()
        self.join(60)


# ---------------------------------------------------------------------------------------------


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", type=Path, required=True, help="folder with callfeed, callfeed-ingest, callfeed-load, callfeed-sandbox")
    p.add_argument("--tools", type=Path, required=True, help="folder with the C tools (bench/c/build.sh)")
    p.add_argument("--python", help="the bench venv's python (FastAPI receiver, dlt); omitted: those references are skipped")
    p.add_argument("--postgres", help="PostgreSQL URL for the loader, poller and e2e parts")
    p.add_argument("--only", default="ingest,loader,poller,e2e")
    p.add_argument("--repeat", type=int, default=3, help="runs of the ingest and poller parts (medians)")
    p.add_argument("--loader-repeat", type=int, default=1, help="runs of the loader part (1M events take minutes)")
    p.add_argument("--seconds", type=float, default=10, help="measured seconds per ingest run")
    p.add_argument("--warmup", type=float, default=2)
    p.add_argument("--connections", type=int, default=64, help="closed-loop connections")
    p.add_argument("--open-connections", type=int, default=128, help="connections available to the open-loop client")
    p.add_argument("--rates", default="500,2000", help="open-loop rates (webhooks/s)")
    p.add_argument("--kafka-count", type=int, default=100_000, help="messages for the Kafka-limit run")
    p.add_argument("--events", type=int, default=1_000_000, help="CallEvents for the loader part")
    p.add_argument("--poll-calls", type=int, default=20_000, help="calls per CTM account for the poller part")
    p.add_argument("--e2e-rates", default="200,1000")
    p.add_argument("--e2e-seconds", type=float, default=30)
    p.add_argument("--join-wait", type=float, default=4, help="seconds for the e2e loader to join its group")
    p.add_argument("--timeout", type=float, default=1800)
    p.add_argument("--out", type=Path, help="write the Markdown tables here too")
    a = p.parse_args()
    a.rates = [int(x) for x in a.rates.split(",") if x]
    a.e2e_rates = [int(x) for x in a.e2e_rates.split(",") if x]
    a.cpus = ("0", "1") if (os.cpu_count() or 1) >= 2 else (None, None)
    a.bin, a.tools = a.bin.resolve(), a.tools.resolve()
    if a.python:
        a.python = str(Path(a.python).absolute())
    a.work = Path(tempfile.mkdtemp(prefix="callfeed-bench."))
    print(f"bench: {os.cpu_count()} cores, {os.uname().release}; binaries {a.bin}; work dir {a.work}", flush=True)
    report = Report()
    rss: dict[str, list[float]] = {}
    parts = {"ingest": bench_ingest, "loader": bench_loader, "poller": bench_poller, "e2e": bench_e2e}
    for name in a.only.split(","):
        if name == "poller" and not a.postgres:
            print("bench: poller part needs --postgres; skipped", flush=True)
            continue
        parts[name](a, report, rss)
    report.table("Peak RSS (VmHWM) per process, MB", ["process", "runs", "max"],
                 [[k, " / ".join(fmt(v) for v in vs if v), fmt(max(v for v in vs if v))] for k, vs in rss.items() if any(vs)])
    if "callfeed-ingest" in rss and any(rss["callfeed-ingest"]):
        peak = max(v for v in rss["callfeed-ingest"] if v)
        report.goal("ingest RSS <= 100 MB", f"{peak:.0f} MB", peak <= 100)
    if a.out:
        a.out.write_text(report.markdown())
        print(f"bench: tables written to {a.out}", flush=True)


if __name__ == "__main__":
    main()
