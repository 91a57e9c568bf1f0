"""List exports against PostgreSQL: 10,000 rows of each export, streamed, timed end to end.

    .venv/bin/python bench/exports.py [--rows 10000] [--repeat 5] [--database bench_exports]

Creates the database (dropping an older one of that name) on 127.0.0.1:5432 as postgres,
migrates it, and loads --rows dataflows (the overview export), --rows runs of one dataflow
(its runs export) and --rows alerts (the alert history export). Each export is requested
through Django's test client (middleware, session, view, SQL; no network) and its whole
streamed body read; the time is the best and the worst of --repeat downloads. Every export of
--rows rows must finish within 2 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG = "postgresql://postgres@127.0.0.1:5432"
LIMIT_SECONDS = 2.0
HEALTH_MIX = ["healthy"] * 17 + ["late", "failing", "disabled"]


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


def load(rows: int, sandbox, user) -> int:
    """`rows` flows, `rows` runs of the first one, `rows` alerts; returns that flow's id."""
    from monitoring.models import Account, Alert, AlertRule, Dataflow, Run

    now = datetime.now(UTC)
    account = Account.objects.create(sandbox=sandbox, name="Acme", connection_id="conn-bench")
    flows = Dataflow.objects.bulk_create(
        Dataflow(
            sandbox=sandbox,
            account=account,
            flow_id=f"flow-{i:06d}-{uuid.uuid4().hex[:6]}",
            # Every tenth name starts like a formula: the CSV neutralises those cells.
            name=f"=Stripe charges {i}" if i % 10 == 0 else f"Stripe charges {i}",
            resource_path="charges",
            health=HEALTH_MIX[i % len(HEALTH_MIX)],
            owner=user,
            last_run_status="success",
            last_run_at=now - timedelta(minutes=i % 60),
            data_through=now - timedelta(hours=1),
            records_24h=i * 10,
            records_7d=i * 70,
        )
        for i in range(rows)
    )
    flow = flows[0]
    Run.objects.bulk_create(
        Run(
            dataflow=flow,
            run_id=f"run-{i:06d}-{uuid.uuid4().hex[:6]}",
            status="failed" if i % 7 == 0 else "success",
            created_at=now - timedelta(hours=i),
            started_at=now - timedelta(hours=i),
            completed_at=now - timedelta(hours=i) + timedelta(minutes=2),
            input_records=1000,
            output_records=990,
            failed_records=10,
        )
        for i in range(rows)
    )
    rule = AlertRule.objects.create(kind=AlertRule.Kind.RUN_FAILED)
    Alert.objects.bulk_create(
        Alert(
            rule=rule,
            dataflow=flows[i % len(flows)],
            kind=rule.kind,
            summary=f"-Run failed: HTTP 503 from Stripe ({i})",
            opened_at=now - timedelta(minutes=i),
            resolved_at=now if i % 2 else None,
        )
        for i in range(rows)
    )
    return flow.pk


def timed_download(client, url: str) -> tuple[float, int]:
    start = time.perf_counter()
    response = client.get(url)
    assert response.status_code == 200, url
    lines = sum(chunk.count(b"\n") for chunk in response.streaming_content)
    return time.perf_counter() - start, lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database", default="bench_exports")
    args = parser.parse_args()
    create_database(args.database)
    setup_django(args.database)
    from django.test import Client

    from core.roles import ADMIN, ensure_roles
    from tests.base import make_sandbox, make_user

    ensure_roles()
    user = make_user("bench-admin", ADMIN)
    started = time.perf_counter()
    flow = load(args.rows, make_sandbox(), user)
    print(f"loaded {args.rows} flows, runs and alerts in {time.perf_counter() - started:.1f}s")
    client = Client()
    client.force_login(user)
    urls = {
        "overview CSV": "/overview/export.csv",
        "overview JSON": "/overview/export.json",
        "a dataflow's runs CSV": f"/dataflows/{flow}/runs.csv",
        "alert history CSV": "/alerts/export.csv",
        "alert history JSON": "/alerts/export.json",
    }
    print("\n| Export | rows | best s | worst s |\n| --- | ---: | ---: | ---: |")
    worst_of_all = 0.0
    for name, url in urls.items():
        timed_download(client, url)  # warm up: templates, session, permissions
        results = [timed_download(client, url) for _ in range(args.repeat)]
        times = sorted(t for t, _lines in results)
        rows = results[0][1] - 1 - ("JSON" in name)  # less the header, or the closing "]"
        print(f"| {name} | {rows} | {times[0]:.2f} | {times[-1]:.2f} |")
        worst_of_all = max(worst_of_all, times[-1])
    from django.db import connections

    connections.close_all()
    create_database(args.database)  # leave an empty database
    print(f"\nworst download {worst_of_all:.2f} s (limit {LIMIT_SECONDS} s)")
    return 0 if worst_of_all < LIMIT_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
