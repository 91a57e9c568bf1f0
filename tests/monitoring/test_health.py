"""Health classification, freshness deadlines and the late flip."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from monitoring.health import flip_late_flows, refresh_health
from monitoring.models import Dataflow
from tests.base import BaseTestCase, make_sandbox
from tests.monitoring.factories import make_dataflow, make_run

Health = Dataflow.Health


class HealthTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox()
        self.flow = make_dataflow(self.sandbox, frequency="hour", interval=1)

    def test_default_sla_is_twice_the_schedule_and_never_below_half_an_hour(self):
        assert self.flow.default_sla_minutes == 120
        assert (
            make_dataflow(self.sandbox, frequency="minute", interval=15).default_sla_minutes == 30
        )
        assert make_dataflow(self.sandbox, frequency="day", interval=1).default_sla_minutes == 2880
        assert (
            make_dataflow(self.sandbox, frequency="once", interval=None).default_sla_minutes is None
        )
        self.flow.freshness_sla_minutes = 45
        assert self.flow.sla_minutes == 45

    def test_a_recent_success_is_healthy_with_deadlines_ahead(self):
        run = make_run(self.flow, ago=timedelta(minutes=10))
        refresh_health(self.flow)
        assert self.flow.health == Health.HEALTHY
        assert self.flow.data_through == run.window_end
        assert self.flow.stale_at == run.window_end + timedelta(minutes=120)
        # Next run expected an hour after this one, plus half an hour of grace.
        assert self.flow.overdue_at == run.started_at + timedelta(minutes=90)

    def test_failed_runs_after_the_last_success_make_it_failing(self):
        make_run(self.flow, ago=timedelta(minutes=50))
        make_run(self.flow, ago=timedelta(minutes=30), status="failed", output_records=0)
        make_run(self.flow, ago=timedelta(minutes=10), status="failed", output_records=0)
        refresh_health(self.flow)
        assert (self.flow.health, self.flow.consecutive_failures) == (Health.FAILING, 2)
        assert self.flow.last_run_status == "failed"

    def test_old_data_is_stale(self):
        make_run(self.flow, ago=timedelta(hours=3))
        refresh_health(self.flow)
        assert (self.flow.health, self.flow.late_reason) == (Health.LATE, "stale")

    def test_a_missing_run_is_overdue_even_when_the_sla_is_generous(self):
        self.flow.freshness_sla_minutes = 600
        make_run(self.flow, ago=timedelta(minutes=100))
        refresh_health(self.flow)
        assert (self.flow.health, self.flow.late_reason) == (Health.LATE, "overdue")

    def test_disabled_and_deleted_flows_are_never_late(self):
        make_run(self.flow, ago=timedelta(days=3))
        self.flow.enabled = False
        refresh_health(self.flow)
        assert self.flow.health == Health.DISABLED
        assert self.flow.stale_at is None
        self.flow.deleted_at = timezone.now()
        refresh_health(self.flow)
        assert self.flow.health == Health.DELETED

    def test_a_new_flow_waits_for_its_first_run(self):
        flow = make_dataflow(self.sandbox, created=timezone.now() - timedelta(minutes=5))
        refresh_health(flow)
        assert flow.health == Health.NEW

    def test_totals_cover_the_last_day_and_week(self):
        make_run(
            self.flow, ago=timedelta(hours=2), input_records=10, output_records=8, failed_records=2
        )
        make_run(self.flow, ago=timedelta(days=3), output_records=100)
        make_run(self.flow, ago=timedelta(days=9), output_records=1000)
        refresh_health(self.flow)
        assert (self.flow.records_24h, self.flow.records_7d) == (8, 108)
        assert self.flow.failed_ratio == 0.2
        assert self.flow.runs_24h == 1

    def test_flip_marks_flows_late_once_their_deadline_passed(self):
        make_run(self.flow, ago=timedelta(minutes=10))
        refresh_health(self.flow)
        other = make_dataflow(self.sandbox, frequency="hour", interval=1)
        make_run(other, ago=timedelta(minutes=10))
        refresh_health(other)
        assert flip_late_flows() == []
        later = timezone.now() + timedelta(minutes=95)
        assert sorted(flip_late_flows(later)) == sorted([self.flow.pk, other.pk])
        self.flow.refresh_from_db()
        assert (self.flow.health, self.flow.late_reason) == (Health.LATE, "overdue")
        much_later = timezone.now() + timedelta(hours=5)
        fresh = make_dataflow(self.sandbox, frequency="hour", interval=1)
        make_run(fresh, ago=timedelta(minutes=1))
        refresh_health(fresh)
        assert flip_late_flows(much_later) == [fresh.pk]
        fresh.refresh_from_db()
        assert fresh.late_reason == "stale"
