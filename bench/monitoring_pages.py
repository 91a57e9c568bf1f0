"""Every page a person can open, against a large PostgreSQL database: time, SQL queries, size.

    .venv/bin/python bench/monitoring_pages.py [--flows 10000] [--runs-per-flow 100]
        [--requests 60] [--database bench_monitoring] [--keep] [--only-large]

Creates the database (dropping an older one of that name) on 127.0.0.1:5432 as postgres,
migrates it and loads the data in two steps with COPY: first a tenth of the flows and runs,
then the rest (with alerts, audit events, support operations and drafts in proportion).
After each step every page is requested through Django's test client (in-process:
middleware, session, views, templates and SQL, no network) and the p50/p95 time, the queries
and the size of each page are printed, beside the floor: a bare view that renders the same 50
flows from the overview's queryset with a minimal template. The query counts of both steps
must be equal, every p95 under 100 ms and within twice the floor, every page under 500 KB.

`--keep` keeps the database; `--reuse` measures a kept database again without loading it
(its size is read from it, so the two-size comparison needs a run without `--reuse`).
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


def load_extras(first_flow: int, flows: int, user_id: int, sandbox_id: int) -> None:
    """What the other pages list, in proportion to the flows: an open alert per failing flow,
    a flow rule per hundred flows, an audit event per flow, a support operation per twenty
    flows, a draft per two hundred flows."""
    from django.db import connection

    from monitoring.models import Alert, AlertRule, AuditEvent, Dataflow
    from onboarding.models import Draft
    from operations.models import Operation

    now = datetime.now(UTC)
    new = list(
        Dataflow.objects.order_by("pk")[first_flow : first_flow + flows].values(
            "pk", "name", "flow_id", "health", "account_id"
        )
    )
    rule, _ = AlertRule.objects.get_or_create(dataflow=None, kind=AlertRule.Kind.RUN_FAILED)
    AlertRule.objects.bulk_create(
        AlertRule(dataflow_id=f["pk"], kind=AlertRule.Kind.RUN_FAILED) for f in new[::100]
    )
    Alert.objects.bulk_create(
        Alert(rule=rule, dataflow_id=f["pk"], kind=rule.kind, summary=f"{f['name']} failed")
        for f in new
        if f["health"] == "failing"
    )
    AuditEvent.objects.bulk_create(
        (
            AuditEvent(
                actor_id=user_id, actor_name="bench-admin", role="admin",
                action="dataflow.freshness_sla", target_type="dataflow", target_id=f["flow_id"],
                target_label=f["name"], sandbox_id=sandbox_id, after={"minutes": 60},
                created=now - timedelta(minutes=i),
            )
            for i, f in enumerate(new)
        ),
        batch_size=2000,
    )  # fmt: skip
    Operation.objects.bulk_create(
        (
            Operation(
                kind=Operation.Kind.DATAFLOW_DISABLE, status=Operation.Status.SUCCEEDED,
                sandbox_id=sandbox_id, dataflow_id=f["pk"], account_id=f["account_id"],
                target_label=f["name"], actor_id=user_id, reason="bench",
                steps=[{"name": "disable", "status": "done"}],
                created=now - timedelta(hours=i % 500), finished=now,
            )
            for i, f in enumerate(new[::20])
        ),
        batch_size=2000,
    )  # fmt: skip
    Draft.objects.bulk_create(
        Draft(sandbox_id=sandbox_id, created_by_id=user_id, account_name=f"Draft {i}")
        for i in range(max(1, flows // 200))
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def floor_view(request):
    """The floor: the overview's 50 rows from its own queryset, through a minimal template."""
    from django.http import HttpResponse
    from django.template import engines

    from monitoring import queries

    filters = queries.Filters.from_query(request.GET)
    flows = queries.flows_matching(filters, request.user)
    page = queries.flow_page(filters, flows, queries.health_counts(flows))
    template = engines["django"].from_string(FLOOR_TEMPLATE)
    return HttpResponse(template.render({"flows": page.flows}, request))


FLOOR_TEMPLATE = (
    "<!doctype html><table>{% for f in flows %}<tr>"
    '<td><a href="/dataflows/{{ f.pk }}/">{{ f.name }}</a></td><td>{{ f.resource_path }}</td>'
    "<td>{{ f.account.name }}</td><td>{{ f.health }}</td>"
    "<td>{{ f.last_run_status }} {{ f.last_run_at }}</td><td>{{ f.records_24h }}</td>"
    "<td>{{ f.records_7d }}</td><td>{{ f.failed_ratio }}</td><td>{{ f.data_through }}</td>"
    "<td>{{ f.owner.username }}</td></tr>{% endfor %}</table>"
)


def measure(client, urls: dict[str, str], requests: int, budget_s: float) -> dict[str, dict]:
    """Each page `requests` times, or for `budget_s` seconds (at least 5 times) if it is slow.

    Each request of a page is followed by one of the floor, so that both see the same load on
    a shared machine: a page's ratio is its p95 over the floor's p95 in the same window."""
    from django.db import connection

    floor_url = urls[FLOOR]
    results = {}
    for name, url in urls.items():
        headers = {"HX-Request": "true", "HX-Target": "live"} if "htmx" in name else {}
        client.get(url, headers=headers)  # warm caches (templates, session, permissions)
        queries: list[str] = []

        def count(run, sql, *args, queries=queries):
            queries.append(sql)
            return run(sql, *args)

        with connection.execute_wrapper(count):
            response = client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.status_code)
        times: list[float] = []
        floor: list[float] = []
        started = time.perf_counter()
        while len(times) < requests and (
            len(times) < 5 or time.perf_counter() - started < budget_s
        ):
            times.append(_timed(client, url, headers))
            floor.append(_timed(client, floor_url, {}))
        results[name] = {
            "queries": len(queries),
            "p50": statistics.median(times),
            "p95": _p95(times),
            "max": max(times),
            "floor_p95": _p95(floor),
            "kb": len(response.content) / 1024,
            "n": len(times),
        }
    return results


FLOOR = "floor (bare view, overview's 50 rows)"


def _timed(client, url: str, headers: dict) -> float:
    start = time.perf_counter()
    client.get(url, headers=headers)
    return (time.perf_counter() - start) * 1000


def _p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)]


def page_urls() -> dict[str, str]:
    from monitoring.models import Dataflow, Run, Sandbox
    from operations.models import Operation

    flows = Dataflow.objects.order_by("-pk")
    flow = flows.filter(health="failing").first() or flows.first()
    run = Run.objects.filter(dataflow=flow, status="partialSuccess").first() or flow.runs.first()
    operation = Operation.objects.order_by("-created").first()
    sandbox = Sandbox.objects.first()
    return {
        FLOOR: "/bench/floor/",
        "overview": "/overview/",
        "overview 30d": "/overview/?range=30d",
        "overview page 40": "/overview/?page=40",
        "overview filtered": f"/overview/?resource=refunds&owner=me&q=00&sandbox={flow.sandbox_id}",
        "overview htmx refresh": "/overview/?status=late",
        "dataflow": f"/dataflows/{flow.pk}/",
        "dataflow runs page 3": f"/dataflows/{flow.pk}/?page=3",
        "dataflow timeline": f"/ops/dataflows/{flow.pk}/timeline/",
        "run": f"/runs/{run.pk}/",
        "account": f"/accounts/{flow.account_id}/",
        "support dataflow list": "/ops/dataflows/",
        "support dataflow list, page 40": "/ops/dataflows/?page=40",
        "support account list": "/ops/accounts/",
        "support account list, page 20": "/ops/accounts/?page=20",
        "operation": f"/ops/operations/{operation.pk}/" if operation else "/ops/accounts/",
        "audit": "/ops/audit/",
        "audit, page 20": "/ops/audit/?page=20",
        "alerts": "/alerts/",
        "alert rules": "/alerts/rules/",
        "sandboxes": "/sandboxes/",
        "sandbox": f"/sandboxes/{sandbox.pk}/",
        "drafts": "/wizard/",
    }


def report(title: str, results: dict[str, dict]) -> None:
    print(f"\n{title}")
    print(
        "| Page | queries | p50 ms | p95 ms | floor p95 ms | p95 / floor | KB | requests |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    for name, r in results.items():
        print(
            f"| {name} | {r['queries']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['floor_p95']:.1f} "
            f"| {r['p95'] / r['floor_p95']:.2f} | {r['kb']:.0f} | {r['n']} |"
        )


def goals(results: dict[str, dict]) -> list[str]:
    """The pages that miss a goal: p95 < 100 ms, p95 <= 2x the floor's, size < 500 KB."""
    return [
        name
        for name, r in results.items()
        if r["p95"] >= 100 or r["p95"] > 2 * r["floor_p95"] or r["kb"] >= 500
    ]


def install_floor() -> None:
    from django.conf import settings
    from django.urls import clear_url_caches, path

    import config.urls

    config.urls.urlpatterns.append(path("bench/floor/", floor_view))
    clear_url_caches()
    assert settings.ROOT_URLCONF == "config.urls"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=10_000)
    parser.add_argument("--runs-per-flow", type=int, default=100)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per slow page")
    parser.add_argument("--database", default="bench_monitoring")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure a kept database again")
    args = parser.parse_args()
    if not args.reuse:
        create_database(args.database)
    setup_django(args.database)
    install_floor()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from core.roles import ADMIN, ensure_roles
    from monitoring.models import Dataflow, Run, Sandbox
    from tests.base import make_sandbox, make_user

    ensure_roles()
    if args.reuse:
        user = get_user_model().objects.get(username="bench-admin")
    else:
        user = make_user("bench-admin", ADMIN)
        make_sandbox()
    sandbox = Sandbox.objects.first()
    client = Client()
    client.force_login(user)
    if args.reuse:
        total, runs = Dataflow.objects.count(), Run.objects.count()
        results = measure(client, page_urls(), args.requests, args.budget)
        report(f"{total} flows, {runs} runs (kept database)", results)
        misses = goals(results)
        print(f"\npages missing a goal: {', '.join(misses) or 'none'}")
        return 0 if not misses else 1
    small = args.flows // 10
    steps = [(0, small), (small, args.flows - small)]
    counts = []
    for first, count in steps:
        started = time.perf_counter()
        load(first, count, args.runs_per_flow, sandbox.pk, user.pk)
        load_extras(first, count, user.pk, sandbox.pk)
        total = first + count
        print(f"\nloaded {count} flows and {count * args.runs_per_flow} runs "
              f"in {time.perf_counter() - started:.1f}s (now {total} flows)")  # fmt: skip
        results = measure(client, page_urls(), args.requests, args.budget)
        report(f"{total} flows, {total * args.runs_per_flow} runs", results)
        counts.append({name: r["queries"] for name, r in results.items()})
    differ = [name for name in counts[0] if counts[0][name] != counts[-1][name]]
    misses = goals(results)
    print(f"\nquery counts that differ between the sizes: {', '.join(differ) or 'none'}")
    print(f"pages missing a goal: {', '.join(misses) or 'none'}")
    if not args.keep:
        from django.db import connections

        connections.close_all()
        create_database(args.database)  # leave an empty database rather than 1M rows
    return 0 if not differ and not misses else 1


if __name__ == "__main__":
    sys.exit(main())
