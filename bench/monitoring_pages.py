"""Monitoring pages against a large PostgreSQL database: render time and SQL queries per page.

    .venv/bin/python bench/monitoring_pages.py [--flows 10000] [--runs-per-flow 100]
        [--requests 60] [--database bench_monitoring] [--keep]

Creates the database (dropping an older one of that name) on 127.0.0.1:5432 as postgres,
migrates it and loads the data in two steps with COPY: first a tenth of the flows and runs,
then the rest. After each step every page is requested through Django's test client
(in-process: middleware, session, views, templates and SQL, no network) and the p50/p95 time
and the queries per page are printed; the query counts of both steps must be equal.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG = "postgresql://postgres@127.0.0.1:5432"
RESOURCES = ("charges", "subscriptions", "refunds", "balance_transactions", "customers", "prices")
HEALTH_MIX = [("healthy", 85), ("late", 5), ("failing", 5), ("disabled", 3), ("new", 2)]
ERROR = [{"code": "CONNECTOR-2001-500", "message": "Stripe failed with HTTP 503"}]
PARTIAL = [
    {"code": "INGEST-1212-400", "message": "Encountered 2 errors in the data."},
    {"code": "MAPPER-3700-400", "message": "Mapper Transform Error", "recordCount": 2},
]
ACTIVITIES = [{"id": "copyActivity", "statusSummary": {"status": "success"}}]


def create_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(name: str) -> None:
    os.environ["DATABASE_URL"] = f"{PG}/{name}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings_test"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def copy_rows(cursor, table: str, columns: list[str], rows) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(_cell(v) for v in row) + "\n")
    buffer.seek(0)
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        while chunk := buffer.read(1 << 20):
            copy.write(chunk)


def _cell(value) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value).replace("\\", "\\\\")
    return str(value)


def load(first_flow: int, flows: int, runs_per_flow: int, sandbox_id: int, user_id: int) -> None:
    """Accounts (one per six flows), flows and their runs over the last 30 days."""
    from django.db import connection

    rng = random.Random(first_flow)
    now = datetime.now(UTC)
    with connection.cursor() as cursor:
        raw = cursor.cursor
        first_account = _load_accounts(raw, first_flow, flows, sandbox_id, now)
        flow_ids = _load_flows(raw, rng, first_flow, flows, sandbox_id, user_id, first_account, now)
        _load_runs(raw, rng, flow_ids, runs_per_flow, now)
        cursor.execute(
            """
            INSERT INTO monitoring_ingestbucket (dataflow_id, granularity, start, runs,
                input_records, output_records, failed_records)
            SELECT dataflow_id, g,
                   date_trunc(CASE g WHEN 'hour' THEN 'hour' ELSE 'day' END, created_at),
                   count(*), sum(input_records), sum(output_records), sum(failed_records)
            FROM monitoring_run, (VALUES ('hour'), ('day')) AS grain(g)
            WHERE dataflow_id = ANY(%s) AND (g = 'day' OR created_at > now() - interval '3 days')
            GROUP BY 1, 2, 3
            """,
            [flow_ids],
        )
        # The sandbox totals are the sum of every flow's buckets, as the sync keeps them.
        cursor.execute("DELETE FROM monitoring_ingesttotal")
        cursor.execute(
            """
            INSERT INTO monitoring_ingesttotal (sandbox_id, granularity, start, runs,
                input_records, output_records, failed_records)
            SELECT %s, granularity, start, sum(runs), sum(input_records), sum(output_records),
                   sum(failed_records)
            FROM monitoring_ingestbucket GROUP BY granularity, start
            """,
            [sandbox_id],
        )
        cursor.execute("VACUUM ANALYZE")


def _load_accounts(raw, first_flow, flows, sandbox_id, now) -> int:
    columns = [
        "sandbox_id", "name", "description", "connection_id", "etag", "access_token",
        "token_last4", "key_kind", "livemode", "probe_result", "created", "updated",
    ]  # fmt: skip
    count = -(-flows // 6)
    rows = [
        (sandbox_id, f"Stripe account {first_flow // 6 + i:05}", "", str(uuid.uuid4()), "", "",
         "0001", "secret", False, {}, now, now)
        for i in range(count)
    ]  # fmt: skip
    copy_rows(raw, "monitoring_account", columns, rows)
    raw.execute("SELECT min(id) FROM monitoring_account WHERE name = %s", (rows[0][1],))
    return raw.fetchone()[0]


def _load_flows(raw, rng, first_flow, flows, sandbox_id, user_id, first_account, now) -> list[int]:
    columns = ["sandbox_id", "account_id", "flow_id", "name", "description", "resource_path",
               "source_connection_id", "target_connection_id", "dataset_id", "schema_id",
               "mapping_set_id", "mapping_version", "frequency", "interval", "backfill", "enabled",
               "etag", "owner_id", "created", "updated", "health", "last_run_status",
               "last_run_at", "last_success_at", "consecutive_failures", "records_24h",
               "records_7d", "failed_ratio", "runs_24h", "data_through", "late_reason",
               "discovered", "next_sync_at", "sync_failures", "sync_error",
               "sync_state"]  # fmt: skip
    population = [h for h, weight in HEALTH_MIX for _ in range(weight)]
    rows = []
    for i in range(flows):
        health = rng.choice(population)
        resource = RESOURCES[i % 6]
        data_through = now - timedelta(minutes=rng.randint(1, 50 if health != "late" else 900))
        rows.append(
            (sandbox_id, first_account + i // 6, str(uuid.uuid4()),
             f"Stripe {resource} {first_flow + i:05}", "", resource, "", "", "ds", "schema", "map",
             "0", "minute", 15, True, health != "disabled", "", user_id if i % 4 == 0 else None,
             now - timedelta(days=40), now, health, "failed" if health == "failing" else "success",
             now - timedelta(minutes=rng.randint(1, 15)), now - timedelta(hours=1),
             rng.randint(1, 4) if health == "failing" else 0, rng.randint(0, 20000),
             rng.randint(20000, 100000), rng.random() * 0.01, 96, data_through,
             "stale" if health == "late" else "", i % 10 == 0, now + timedelta(days=1), 0, "", {})
        )  # fmt: skip
    copy_rows(raw, "monitoring_dataflow", columns, rows)
    raw.execute("SELECT id FROM monitoring_dataflow ORDER BY id OFFSET %s", (first_flow,))
    return [row[0] for row in raw.fetchall()]


def _load_runs(raw, rng, flow_ids, runs_per_flow, now) -> None:
    columns = ["dataflow_id", "run_id", "status", "created_at", "updated_at", "started_at",
               "completed_at", "window_start", "window_end", "input_records", "output_records",
               "failed_records", "input_bytes", "output_bytes", "errors", "activities", "etag",
               "synced_at"]  # fmt: skip
    spacing = timedelta(days=30) / runs_per_flow
    batch = []
    for flow_id in flow_ids:
        offset = timedelta(seconds=rng.randint(0, int(spacing.total_seconds())))
        for k in range(runs_per_flow):
            created = now - offset - spacing * k
            roll = rng.random()
            status, errors = ("failed", ERROR) if roll < 0.03 else (
                ("partialSuccess", PARTIAL) if roll < 0.08 else ("success", []))  # fmt: skip
            read = rng.randint(0, 400)
            failed = 2 if status == "partialSuccess" else 0
            out = 0 if status == "failed" else read - failed
            batch.append(
                (flow_id, str(uuid.uuid4()), status, created, created, created,
                 created + timedelta(seconds=rng.randint(20, 300)), created - spacing, created,
                 read, out, failed, read * 900, out * 800, errors, ACTIVITIES, '"e"', now)
            )  # fmt: skip
        if len(batch) >= 200_000:
            copy_rows(raw, "monitoring_run", columns, batch)
            batch = []
    if batch:
        copy_rows(raw, "monitoring_run", columns, batch)


def measure(client, urls: dict[str, str], requests: int) -> dict[str, dict]:
    from django.db import connection

    results = {}
    for name, url in urls.items():
        headers = {"HX-Request": "true", "HX-Target": "live"} if "htmx" in name else {}
        client.get(url, headers=headers)  # warm caches (templates, session, permissions)
        queries: list[str] = []

        def count(run, sql, *args, queries=queries):
            queries.append(sql)
            return run(sql, *args)

        with connection.execute_wrapper(count):
            assert client.get(url, headers=headers).status_code == 200, url
        times = []
        for _ in range(requests):
            start = time.perf_counter()
            client.get(url, headers=headers)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        results[name] = {
            "queries": len(queries),
            "p50": statistics.median(times),
            "p95": times[int(len(times) * 0.95) - 1],
            "max": times[-1],
        }
    return results


def page_urls() -> dict[str, str]:
    from monitoring.models import Dataflow, Run

    flows = Dataflow.objects.order_by("-pk")
    flow = flows.filter(health="failing").first() or flows.first()
    run = Run.objects.filter(dataflow=flow, status="partialSuccess").first() or flow.runs.first()
    return {
        "overview": "/overview/",
        "overview 30d": "/overview/?range=30d",
        "overview page 40": "/overview/?page=40",
        "overview filtered": f"/overview/?resource=refunds&owner=me&q=00&sandbox={flow.sandbox_id}",
        "overview htmx refresh": "/overview/?status=late",
        "dataflow": f"/dataflows/{flow.pk}/",
        "dataflow runs page 3": f"/dataflows/{flow.pk}/?page=3",
        "run": f"/runs/{run.pk}/",
        "account": f"/accounts/{flow.account_id}/",
    }


def report(title: str, results: dict[str, dict]) -> None:
    print(f"\n{title}")
    print("| Page | queries | p50 ms | p95 ms | max ms |\n| --- | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        print(f"| {name} | {r['queries']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['max']:.1f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=10_000)
    parser.add_argument("--runs-per-flow", type=int, default=100)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--database", default="bench_monitoring")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    create_database(args.database)
    setup_django(args.database)
    from django.test import Client

    from core.roles import ADMIN, ensure_roles
    from tests.base import make_sandbox, make_user

    ensure_roles()
    user = make_user("bench-admin", ADMIN)
    sandbox = make_sandbox()
    client = Client()
    client.force_login(user)
    small = args.flows // 10
    steps = [(0, small), (small, args.flows - small)]
    counts = []
    for first, count in steps:
        started = time.perf_counter()
        load(first, count, args.runs_per_flow, sandbox.pk, user.pk)
        total = first + count
        print(f"\nloaded {count} flows and {count * args.runs_per_flow} runs "
              f"in {time.perf_counter() - started:.1f}s (now {total} flows)")  # fmt: skip
        results = measure(client, page_urls(), args.requests)
        report(f"{total} flows, {total * args.runs_per_flow} runs", results)
        counts.append({name: r["queries"] for name, r in results.items()})
    same = counts[0] == counts[-1]
    worst = max(r["p95"] for r in results.values())
    print(f"\nqueries per page equal at both sizes: {same}; worst p95 {worst:.1f} ms")
    if not args.keep:
        from django.db import connections

        connections.close_all()
        create_database(args.database)  # leave an empty database rather than 1M rows
    return 0 if same and worst < 200 else 1


if __name__ == "__main__":
    sys.exit(main())
