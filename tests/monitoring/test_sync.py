"""The run sync, with Flow Service faked in memory (one call recorded per page requested)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest.mock import patch

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.db.models import Sum
from django.test import override_settings
from django.utils import timezone

from aep import errors
from monitoring import throttle
from monitoring.clients import client_for
from monitoring.models import Dataflow, IngestBucket, Run
from monitoring.sync import run_sync
from tests.base import BaseTestCase, make_sandbox
from tests.monitoring.factories import make_dataflow, ms, run_doc
from tests.monitoring.fakes import FakeClient, FakeFlowService

ERROR = {"code": "CONNECTOR-2001-500", "message": "Stripe failed with HTTP 503"}


@override_settings(MONITORING_RUNS_PAGE_SIZE=3)
class SyncDataflowTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox()
        self.start = datetime.now(UTC) - timedelta(minutes=50)
        self.flow = make_dataflow(self.sandbox, created=self.start - timedelta(minutes=1))
        self.aep = FakeFlowService()

    def add_runs(self, count: int, *, offset: int = 0, **kwargs) -> list[dict]:
        docs = [
            run_doc(
                self.flow.flow_id,
                created=self.start + timedelta(minutes=15 * (offset + i)),
                **kwargs,
            )
            for i in range(count)
        ]
        self.aep.runs.extend(docs)
        return docs

    def sync(self):
        return run_sync(self.flow.pk, lambda sandbox: FakeClient(self.aep))

    def stored(self) -> dict[str, tuple]:
        return {
            r.run_id: (r.status, r.input_records, r.output_records, r.failed_records)
            for r in Run.objects.filter(dataflow=self.flow)
        }

    def expected(self) -> dict[str, tuple]:
        return {
            d["id"]: (
                d["metrics"]["statusSummary"]["status"],
                *d["metrics"]["recordSummary"].values(),
            )
            for d in self.aep.runs
        }

    def test_first_sync_stores_every_run_with_its_metrics(self):
        self.add_runs(7, records=(12, 11, 1), errors=[ERROR], status="partialSuccess")
        outcome = self.sync()
        assert outcome.status == "synced"
        assert self.stored() == self.expected()
        # Three per page: 7 runs need 3 requests, none of them filtered (nothing stored yet).
        assert [c["properties"] for c in self.aep.calls] == [[], [], []]
        run = Run.objects.filter(dataflow=self.flow).order_by("created_at").first()
        assert run.errors == [ERROR]
        assert run.activities[0]["id"] == "copyActivity"
        assert run.window_end == run.created_at
        assert run.completed_at - run.started_at == timedelta(seconds=30)

    def test_stored_runs_are_counted_for_metrics_once(self):
        self.add_runs(5)
        with patch("monitoring.sync.metrics.record_runs_synced") as counted:
            self.sync()
            self.sync()
        # Stored page by page; the second sync finds nothing new and counts nothing.
        assert sum(c.args[0] for c in counted.call_args_list) == 5

    def test_a_sync_that_finds_nothing_new_costs_one_request_and_no_write(self):
        self.add_runs(4)
        self.sync()
        synced_at = set(Run.objects.values_list("synced_at", flat=True))
        self.aep.calls.clear()
        self.sync()
        newest = max(d["createdAt"] for d in self.aep.runs)
        assert self.aep.calls == [
            {
                "path": "/runs",
                "flow_id": self.flow.flow_id,
                "properties": [f"createdAt>={newest}"],
                "page": 0,
            }
        ]
        assert set(Run.objects.values_list("synced_at", flat=True)) == synced_at

    def test_a_quiet_sync_reads_one_row_and_writes_nothing(self):
        self.add_runs(3)
        self.sync()
        with self.assertNumQueries(1):
            assert self.sync().status == "synced"
        # A while later it writes again, to keep "last synced" honest.
        Dataflow.objects.filter(pk=self.flow.pk).update(
            last_synced_at=timezone.now() - timedelta(minutes=6)
        )
        self.sync()
        self.flow.refresh_from_db()
        assert timezone.now() - self.flow.last_synced_at < timedelta(seconds=5)

    def test_only_runs_newer_than_the_newest_stored_are_fetched(self):
        self.add_runs(4)
        self.sync()
        self.aep.calls.clear()
        new = self.add_runs(2, offset=4)
        self.sync()
        assert self.stored() == self.expected()
        assert self.aep.calls[0]["properties"] == [f"createdAt>={self.aep.runs[3]['createdAt']}"]
        assert Run.objects.filter(run_id__in=[d["id"] for d in new]).count() == 2

    def test_runs_in_progress_are_polled_until_they_end(self):
        # A flow created minutes ago: not late yet while its first run is in progress.
        self.start = datetime.now(UTC) - timedelta(minutes=20)
        Dataflow.objects.filter(pk=self.flow.pk).update(created=self.start)
        first = self.add_runs(1, status="inProgress", records=(0, 0, 0))[0]
        self.sync()
        assert Run.objects.get(run_id=first["id"]).status == "inProgress"
        self.flow.refresh_from_db()
        assert self.flow.health == Dataflow.Health.NEW
        # The newest run is re-polled by the regular request (its filter is `>=`).
        self.aep.runs[0] = run_doc(
            self.flow.flow_id, created=self.start, run_id=first["id"], status="inProgress"
        )
        self.add_runs(1, offset=1)
        self.sync()
        # Now an older run is still in progress: it is fetched by id, in one more request.
        self.aep.runs[0] = run_doc(
            self.flow.flow_id, created=self.start, run_id=first["id"], records=(5, 5, 0)
        )
        self.aep.calls.clear()
        self.sync()
        assert Run.objects.get(run_id=first["id"]).status == "success"
        assert self.stored() == self.expected()
        assert len(self.aep.calls) == 2
        assert self.aep.calls[1]["properties"] == [f"id=={first['id']}"]
        self.flow.refresh_from_db()
        assert self.flow.health == Dataflow.Health.HEALTHY

    def test_only_the_four_ending_statuses_end_a_run_however_spelled(self):
        spellings = {
            "SUCCESS": "success",
            "PARTIAL_SUCCESS": "partialSuccess",
            "Failed": "failed",
            "CANCELLED": "cancelled",
            "IN_PROGRESS": "inProgress",
            "queued": "queued",
            "SCHEDULED": "scheduled",
            "": "",
            "retrying": "retrying",
        }
        docs = {s: self.add_runs(1, offset=n, status=s)[0] for n, s in enumerate(spellings)}
        with self.assertLogs("monitoring.sync", "WARNING") as logs:
            self.sync()
            self.sync()
        stored = dict(Run.objects.values_list("run_id", "status"))
        assert {s: stored[d["id"]] for s, d in docs.items()} == spellings
        self.flow.refresh_from_db()
        still_open = {"IN_PROGRESS", "queued", "SCHEDULED", "", "retrying"}
        assert set(self.flow.sync_state["open"]) == {docs[s]["id"] for s in still_open}
        # An undocumented status is logged once, however often it is seen...
        assert sum("'retrying'" in line for line in logs.output) == 1
        # ...and each sighting counts on /metrics.
        body = self.client.get(
            "/metrics", headers={"authorization": f"Bearer {settings.METRICS_TOKEN}"}
        ).content.decode()
        assert 'stripe_sources_run_status_unknown_total{status="retrying"}' in body

    def test_health_and_buckets_follow_the_runs(self):
        self.add_runs(2, records=(10, 10, 0))
        self.add_runs(1, offset=2, status="failed", records=(0, 0, 0), errors=[ERROR])
        self.sync()
        self.flow.refresh_from_db()
        assert self.flow.health == Dataflow.Health.FAILING
        assert self.flow.consecutive_failures == 1
        assert self.flow.last_run_status == "failed"
        assert self.flow.records_24h == 20
        assert self.flow.runs_24h == 3
        assert self.flow.data_through == Run.objects.get(run_id=self.aep.runs[1]["id"]).window_end
        # Summed: the runs may straddle midnight.
        day = IngestBucket.objects.filter(dataflow=self.flow, granularity="day").aggregate(
            runs=Sum("runs"), output_records=Sum("output_records")
        )
        assert (day["runs"], day["output_records"]) == (3, 20)
        hours = IngestBucket.objects.filter(dataflow=self.flow, granularity="hour")
        assert sum(b.output_records for b in hours) == 20

        self.add_runs(1, offset=3, records=(8, 6, 2))
        self.sync()
        self.flow.refresh_from_db()
        assert self.flow.health == Dataflow.Health.HEALTHY
        assert self.flow.consecutive_failures == 0
        assert self.flow.failed_ratio == pytest.approx(2 / 28, abs=1e-6)

    def test_a_fault_in_the_middle_of_paging_loses_and_duplicates_nothing(self):
        self.add_runs(8)
        self.aep.fail_after_pages = 1
        outcome = self.sync()
        assert outcome.status == "failed"
        assert Run.objects.count() == 3  # the first page was kept
        self.flow.refresh_from_db()
        assert self.flow.sync_failures == 1
        assert "AEP had an internal error" in self.flow.sync_error
        assert self.flow.next_sync_at > timezone.now() + timedelta(seconds=20)
        self.sync()
        assert self.stored() == self.expected()
        assert Run.objects.count() == 8
        self.flow.refresh_from_db()
        assert (self.flow.sync_failures, self.flow.sync_error) == (0, "")

    def test_rate_limiting_pauses_the_sandbox_instead_of_failing_the_flow(self):
        self.add_runs(2)
        self.aep.fail_with = [errors.RateLimitError("Too many requests", retry_after=40)]
        outcome = self.sync()
        assert outcome.status == "throttled"
        self.flow.refresh_from_db()
        assert self.flow.sync_failures == 0
        assert self.flow.next_sync_at > timezone.now() + timedelta(seconds=30)
        assert throttle.is_paused(sandbox_pk=self.sandbox.pk)
        assert not throttle.is_paused(
            sandbox_pk=make_sandbox(display_name="Other", sandbox_name="other").pk
        )
        assert throttle.pace() == 2
        # While paused, a sync makes no request at all.
        self.aep.calls.clear()
        assert self.sync().status == "throttled"
        assert self.aep.calls == []

    def test_repeated_failures_back_off_further_each_time(self):
        self.aep.fail_with = [errors.ServerError("boom", 503) for _ in range(3)]
        delays = []
        for _ in range(3):
            before = timezone.now()
            self.sync()
            self.flow.refresh_from_db()
            delays.append((self.flow.next_sync_at - before).total_seconds())
        assert self.flow.sync_failures == 3
        assert delays[0] < delays[1] < delays[2]
        assert 25 < delays[0] < 35

    def test_an_unexpected_error_backs_off_too(self):
        self.aep.runs.append({"id": "broken", "flowId": self.flow.flow_id, "createdAt": "soon"})
        outcome = self.sync()
        assert outcome.status == "failed"
        self.flow.refresh_from_db()
        assert self.flow.sync_failures == 1
        assert self.flow.sync_error
        assert self.flow.next_sync_at > timezone.now()

    def test_a_sandbox_secret_no_key_can_read_fails_the_sync_in_words(self):
        with override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
            outcome = run_sync(self.flow.pk, client_for)
        assert outcome.status == "failed"
        self.flow.refresh_from_db()
        assert "cannot be read with the current FIELD_ENCRYPTION_KEY" in self.flow.sync_error
        assert str(self.flow.sandbox) in self.flow.sync_error

    def test_a_second_sync_of_the_same_flow_at_once_is_skipped(self):
        with throttle.flow_lock(self.flow.pk, 60) as acquired:
            assert acquired
            assert self.sync().status == "skipped"
        assert self.aep.calls == []

    def test_deleted_flows_are_not_synced(self):
        Dataflow.objects.filter(pk=self.flow.pk).update(deleted_at=timezone.now())
        assert self.sync().status == "skipped"

    def test_next_sync_comes_soon_while_a_run_is_in_progress(self):
        self.add_runs(1, status="inProgress", records=(0, 0, 0))
        self.sync()
        self.flow.refresh_from_db()
        assert self.flow.next_sync_at < timezone.now() + timedelta(seconds=40)

    def test_cursor_uses_exact_milliseconds(self):
        created = datetime(2026, 11, 28, 10, 0, 0, 123000, tzinfo=UTC)
        self.aep.runs.append(run_doc(self.flow.flow_id, created=created))
        self.sync()
        self.aep.calls.clear()
        self.sync()
        assert self.aep.calls[0]["properties"] == [f"createdAt>={ms(created)}"]


class SandboxTotalsTestCase(BaseTestCase):
    def test_totals_always_equal_the_sum_of_the_flows_buckets(self):
        from django.db.models import Sum

        from monitoring import rollups
        from monitoring.models import IngestTotal

        sandbox = make_sandbox()
        flows = [make_dataflow(sandbox) for _ in range(3)]
        start = datetime.now(UTC) - timedelta(hours=5)
        docs = {f.pk: [] for f in flows}
        aeps = {f.pk: FakeFlowService(runs=docs[f.pk]) for f in flows}
        for step in range(4):
            for n, flow in enumerate(flows):
                created = start + timedelta(minutes=40 * step + n)
                docs[flow.pk].append(
                    run_doc(flow.flow_id, created=created, records=(step + n, step + n, 0))
                )
                run_sync(flow.pk, lambda sandbox, pk=flow.pk: FakeClient(aeps[pk]))
        # Syncing again, or recomputing what is stored, changes nothing.
        for flow in flows:
            run_sync(flow.pk, lambda sandbox, pk=flow.pk: FakeClient(aeps[pk]))
            rollups.recompute(flow, flow.runs.values_list("created_at", flat=True))
        for granularity in ("hour", "day"):
            buckets = dict(
                IngestBucket.objects.filter(granularity=granularity)
                .values("start")
                .annotate(n=Sum("output_records"), r=Sum("runs"))
                .values_list("start", "n")
            )
            totals = dict(
                IngestTotal.objects.filter(granularity=granularity, sandbox=sandbox).values_list(
                    "start", "output_records"
                )
            )
            assert totals == buckets
            assert sum(totals.values()) == sum(r.output_records for r in Run.objects.all())
