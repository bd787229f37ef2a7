#!/usr/bin/env python3
"""dlt reference of CallFeed's CTM poller: CallTrackingMetrics call pages into PostgreSQL.

What it models: the pipeline a team would write with dlt instead of running CallFeed's poller and
loader: dlt's declarative `rest_api` source reads `GET /api/v1/accounts/{account_id}/calls` page
by page (HTTP Basic auth with the access key and secret key, `start_date`/`end_date`,
`per_page=150`, page numbers from 1 until `total_pages`) for every account the key can see
(`GET /api/v1/accounts` as a parent resource), and `pipeline.run` extracts, normalises and loads
the records into PostgreSQL. With `--write-disposition merge` (the default) the calls table is
deduplicated on the CTM call `id`, which is what a user who re-reads overlapping ranges writes;
`append` is the cheaper no-dedupe variant.

Why it is a fair comparison: it reads the same pages from the same vendor sandbox as
bench/pollers.sh (`callfeed-sandbox --accounts 2 --calls-per-account N --from 2024-01-01 --to
2024-03-01`), with the same page size and the same days. Differences, stated so figures are read
right:
- CallFeed reads in 30-day windows (`chunk_days: 30`: two per account over these two months);
  this pipeline asks for the whole range at once (--start-date 2024-01-01 --end-date 2024-02-29;
  CTM's dates are whole days, both inclusive). The number of requests is about the same (269
  here, 271 for CallFeed, at 2 x 20000 calls).
- dlt keeps CTM's record as it is: every field becomes a column and nested lists (legs,
  call_path, tag_list, caller_number_split, ...) become child tables (`calls__legs`, ...).
  CallFeed normalises each record to a CallEvent (E.164 numbers, UTC times, one row per call)
  and goes through Kafka. So dlt writes more rows and columns but does no mapping.
- dlt runs with its defaults (sequential extraction, one normalize worker, `insert_values`
  loader files; `--loader-file-format csv` uses COPY, as CallFeed's PostgreSQL sink does).

Prints one JSON line at the end:
  {"tool":"dlt","rows":N,"seconds":..,"rows_per_s":..,"extract_s":..,"normalize_s":..,"load_s":..,...}
where rows are the call records this run extracted and loaded, seconds the wall time of
pipeline.run, and the step times come from the pipeline's trace. Extra keys: table_rows (rows in
the calls table after the run: equal to rows on a fresh dataset, and still N after a repeated
merge), child_rows (rows in its child tables after the run), write_disposition,
process_s (seconds since the script started, dlt's import included, as a CLI run pays it).

Example (run with the venv of bench/python/setup.sh):

    bench/.venv/bin/python bench/python/dlt_ctm.py --base-url http://127.0.0.1:8099/ctm \\
        --dsn postgresql://postgres@127.0.0.1:55477/postgres --dataset ctm_dlt
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

SCRIPT_STARTED = time.monotonic()  # before dlt's import, which takes a second or two

# dlt would otherwise send anonymous usage telemetry and log at INFO: neither belongs in a benchmark.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")

import dlt  # noqa: E402
from dlt.destinations.impl.postgres.configuration import PostgresCredentials  # noqa: E402
from dlt.sources.helpers.rest_client.auth import HttpBasicAuth  # noqa: E402
from dlt.sources.helpers.rest_client.paginators import PageNumberPaginator  # noqa: E402
from dlt.sources.rest_api import RESTAPIConfig, rest_api_source  # noqa: E402

SANDBOX_ACCESS_KEY = "ctm_sandbox_access_key"
SANDBOX_SECRET_KEY = "ctm_sandbox_secret_key"


def ctm_calls_source(base_url: str, access_key: str, secret_key: str, start_date: str, end_date: str,
                     per_page: int = 150, write_disposition: str = "merge", account_ids: list[str] | None = None):
    """A dlt source with one `calls` table: the CTM calls of every account in [start_date, end_date].

    Without ``account_ids`` the accounts come from `GET /api/v1/accounts` (a parent resource that is
    not itself loaded); with them, one resource per account, all writing to the `calls` table.
    """
    calls_endpoint = {
        "data_selector": "calls",
        "params": {"start_date": start_date, "end_date": end_date, "per_page": per_page},
    }
    calls_hints = {"primary_key": "id", "write_disposition": write_disposition, "table_name": "calls"}
    if account_ids:
        resources = [{"name": f"calls_{account}", **calls_hints,
                      "endpoint": {"path": f"accounts/{account}/calls", **calls_endpoint}}
                     for account in account_ids]
    else:
        resources = [
            {"name": "accounts", "selected": False,
             "endpoint": {"path": "accounts", "data_selector": "accounts", "params": {"per_page": per_page}}},
            {"name": "calls", **calls_hints,
             "endpoint": {"path": "accounts/{resources.accounts.id}/calls", **calls_endpoint}},
        ]
    config: RESTAPIConfig = {
        "client": {
            "base_url": base_url.rstrip("/") + "/api/v1/",
            "auth": HttpBasicAuth(access_key, secret_key),
            # CTM's envelope: `page`, `per_page`, `total_entries`, `total_pages`, `next_page`.
            "paginator": PageNumberPaginator(base_page=1, page_param="page", total_path="total_pages"),
        },
        "resources": resources,
    }
    return rest_api_source(config, name="ctm")


def extracted_rows(trace, table: str) -> int:
    """Records the source yielded into ``table`` in this run (the extract step's metrics).

    The normalize step's row_counts are not used: with dlt 1.31 they sometimes come out several
    times too high for this source although the right rows are loaded."""
    info = trace.last_extract_info
    if info is None:
        return 0
    return sum(metrics["table_metrics"][table].items_count
               for step_metrics in info.metrics.values() for metrics in step_metrics
               if table in metrics["table_metrics"])


def step_seconds(trace, name: str) -> float | None:
    for step in trace.steps:
        if step.step == name and step.started_at and step.finished_at:
            return round((step.finished_at - step.started_at).total_seconds(), 3)
    return None


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Load CTM calls from the vendor sandbox (or CTM's API) into PostgreSQL with dlt's rest_api "
                    "source, and print one JSON line of timings: the reference bench/ compares CallFeed's "
                    "CTM poller with.",
        epilog="Start the sandbox as bench/pollers.sh does: callfeed-sandbox --port 8099 --accounts 2 "
               "--calls-per-account N --from 2024-01-01 --to 2024-03-01")
    parser.add_argument("--base-url", default=os.environ.get("CTM_BASE_URL", "http://127.0.0.1:8099/ctm"),
                        help="CTM API root, without /api/v1 (default: the sandbox on port 8099, or $CTM_BASE_URL)")
    parser.add_argument("--access-key", default=os.environ.get("CTM_ACCESS_KEY", SANDBOX_ACCESS_KEY),
                        help="CTM access key, the Basic auth user (default: the sandbox's, or $CTM_ACCESS_KEY)")
    parser.add_argument("--secret-key", default=os.environ.get("CTM_SECRET_KEY", SANDBOX_SECRET_KEY),
                        help="CTM secret key, the Basic auth password (default: the sandbox's, or $CTM_SECRET_KEY)")
    parser.add_argument("--account", action="append", dest="accounts", metavar="ID",
                        help="read this account (repeatable); default: every account GET /api/v1/accounts lists")
    parser.add_argument("--start-date", default="2024-01-01", help="first day, YYYY-MM-DD (default 2024-01-01)")
    parser.add_argument("--end-date", default="2024-02-29",
                        help="last day, YYYY-MM-DD, inclusive (default 2024-02-29: the sandbox's --to 2024-03-01 "
                             "is exclusive)")
    parser.add_argument("--per-page", type=int, default=150, help="page size; CTM allows at most 150 (default 150)")
    parser.add_argument("--dsn", default=os.environ.get("CALLFEED_BENCH_POSTGRES_DSN"),
                        help="PostgreSQL URL, e.g. postgresql://postgres@127.0.0.1:55477/postgres "
                             "(default $CALLFEED_BENCH_POSTGRES_DSN)")
    parser.add_argument("--dataset", default="ctm_dlt",
                        help="dataset (PostgreSQL schema) to load into (default ctm_dlt)")
    parser.add_argument("--write-disposition", choices=["merge", "append", "replace"], default="merge",
                        help="merge: deduplicate on the call id (default); append: insert only; replace: "
                             "truncate and insert")
    parser.add_argument("--loader-file-format", choices=["insert_values", "csv"], default=None,
                        help="dlt's load files for PostgreSQL: insert_values (dlt's default) or csv (COPY)")
    parser.add_argument("--pipeline-name", default="callfeed_bench_ctm", help="dlt pipeline name")
    parser.add_argument("--pipelines-dir", default=None,
                        help="where dlt keeps pipeline state; default a fresh temporary directory, removed "
                             "afterwards (so every run starts clean)")
    args = parser.parse_args(argv)
    if not args.dsn:
        parser.error("--dsn (or $CALLFEED_BENCH_POSTGRES_DSN) is required")
    if not 1 <= args.per_page <= 150:
        parser.error("--per-page must be between 1 and 150 (CTM answers 400 above 150)")
    return args


def postgres_credentials(dsn: str) -> PostgresCredentials:
    """The DSN as dlt credentials. dlt insists on a password; a DSN without one (trust auth, or libpq's
    .pgpass) gets $PGPASSWORD or an empty one, which libpq treats as none."""
    credentials = PostgresCredentials(dsn)
    if credentials.password is None:
        credentials.password = os.environ.get("PGPASSWORD", "")
    return credentials


def run(args: argparse.Namespace, pipelines_dir: str) -> dict:
    pipeline = dlt.pipeline(pipeline_name=args.pipeline_name, pipelines_dir=pipelines_dir,
                            destination=dlt.destinations.postgres(credentials=postgres_credentials(args.dsn)),
                            dataset_name=args.dataset, progress=None)
    source = ctm_calls_source(args.base_url, args.access_key, args.secret_key, args.start_date, args.end_date,
                              args.per_page, args.write_disposition, args.accounts)
    started = time.perf_counter()
    pipeline.run(source, loader_file_format=args.loader_file_format)
    seconds = time.perf_counter() - started

    trace = pipeline.last_trace
    rows = extracted_rows(trace, "calls")
    children = sorted(t for t in pipeline.default_schema.tables if t.startswith("calls__"))
    with pipeline.sql_client() as client:
        def count(table):
            return client.execute_sql(f"SELECT count(*) FROM {client.make_qualified_table_name(table)}")[0][0]
        table_rows = count("calls")
        child_rows = sum(count(table) for table in children)
    return {
        "tool": "dlt", "rows": rows, "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds) if seconds > 0 else None,
        "extract_s": step_seconds(trace, "extract"), "normalize_s": step_seconds(trace, "normalize"),
        "load_s": step_seconds(trace, "load"),
        "table_rows": table_rows, "child_rows": child_rows, "write_disposition": args.write_disposition,
        "process_s": round(time.monotonic() - SCRIPT_STARTED, 3),
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.pipelines_dir:
        result = run(args, args.pipelines_dir)
    else:
        with tempfile.TemporaryDirectory(prefix="dlt-ctm-") as pipelines_dir:
            result = run(args, pipelines_dir)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
