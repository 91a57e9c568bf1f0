"""Two syncs of one flow at once, with real threads against PostgreSQL and Redis.

A sync that outlives its lock must keep it (renewed per page), so a second sync of the same
flow is skipped; and however two rollup updates of one flow interleave, each run is counted
once in the sandbox's totals.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import Sum

from monitoring import rollups
from monitoring.models import Dataflow, IngestBucket, IngestTotal, Run
from monitoring.sync import run_sync
from tests.base import make_sandbox
from tests.monitoring.factories import make_dataflow, make_run, run_doc
from tests.monitoring.fakes import FakeClient, FakeFlowService
from tests.monitoring.runs import totals_match_buckets

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def in_thread(target, *args) -> tuple[threading.Thread, list]:
    """Start `target` in a thread with its own database connection; its result lands in a list."""
    out: list = []

    def body() -> None:
        try:
            out.append(target(*args))
        finally:
            connection.close()

    thread = threading.Thread(target=body)
    thread.start()
    return thread, out


def test_a_sync_longer_than_its_lock_keeps_it_and_a_second_sync_is_skipped(settings):
    settings.MONITORING_SYNC_LEASE_SECONDS = 2
    settings.MONITORING_RUNS_PAGE_SIZE = 2
    sandbox = make_sandbox()
    flow = make_dataflow(sandbox)
    start = datetime.now(UTC) - timedelta(hours=2)
    runs = [run_doc(flow.flow_id, created=start + timedelta(minutes=15 * i)) for i in range(6)]
    aep = FakeFlowService(runs=runs, page_delay=1.0)  # three pages: over 3 s, past the lock
    first, first_out = in_thread(run_sync, flow.pk, lambda sandbox: FakeClient(aep))
    time.sleep(2.6)
    second, second_out = in_thread(run_sync, flow.pk, lambda sandbox: FakeClient(aep))
    first.join(20)
    second.join(20)
    assert first_out[0].status == "synced"
    assert second_out[0].status == "skipped"
    assert Run.objects.filter(dataflow=flow).count() == 6
    assert totals_match_buckets(sandbox, "runs")
    day = IngestBucket.objects.filter(dataflow=flow, granularity="day").aggregate(n=Sum("runs"))
    assert day["n"] == 6


def test_concurrent_rollup_updates_of_one_flow_count_each_run_once():
    sandbox = make_sandbox()
    flow = make_dataflow(sandbox)
    for round_number in range(8):
        run = make_run(flow, ago=timedelta(minutes=30 + round_number))
        gate = threading.Barrier(3)

        def recompute(created=run.created_at, gate=gate) -> None:
            flow_row = Dataflow.objects.get(pk=flow.pk)
            gate.wait()
            rollups.recompute(flow_row, [created])

        threads = [in_thread(recompute)[0] for _ in range(3)]
        for thread in threads:
            thread.join(20)
        assert totals_match_buckets(sandbox, "runs"), f"round {round_number}"
    total = IngestTotal.objects.filter(sandbox=sandbox, granularity="day").aggregate(n=Sum("runs"))
    assert total["n"] == 8
