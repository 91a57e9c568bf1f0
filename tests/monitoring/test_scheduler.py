"""The beat tick: late flows flagged, due flows leased and dispatched, spread and bounded."""

from __future__ import annotations

from datetime import timedelta

from django.test import override_settings
from django.utils import timezone

from monitoring import scheduler, throttle
from monitoring.health import refresh_health
from monitoring.models import Dataflow
from monitoring.tasks import deliver_later
from tests.base import BaseTestCase, make_sandbox
from tests.monitoring.factories import make_dataflow, make_run


@override_settings(MONITORING_TICK_SECONDS=30, MONITORING_SYNC_BATCH=4)
class SchedulerTickTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox()
        self.dispatched: list[tuple[list[int], float]] = []
        past = timezone.now() - timedelta(minutes=1)
        self.due = [make_dataflow(self.sandbox, next_sync_at=past) for _ in range(3)]
        self.later = make_dataflow(self.sandbox, next_sync_at=timezone.now() + timedelta(hours=1))
        make_dataflow(self.sandbox, next_sync_at=past, enabled=False)
        make_dataflow(self.sandbox, next_sync_at=past, deleted_at=timezone.now())

    def tick(self) -> int:
        return scheduler.tick(
            lambda pks, countdown: self.dispatched.append((pks, countdown)), deliver_later
        )

    def test_due_active_flows_are_dispatched_in_one_batch_per_sandbox_spread_over_the_tick(self):
        other = make_sandbox(display_name="Other", sandbox_name="other")
        past = timezone.now() - timedelta(minutes=1)
        elsewhere = [make_dataflow(other, next_sync_at=past)]
        assert self.tick() == 4
        batches = sorted(sorted(pks) for pks, _ in self.dispatched)
        assert batches == sorted([sorted(f.pk for f in self.due), [elsewhere[0].pk]])
        assert [round(c) for _, c in self.dispatched] == [0, 15]

    def test_dispatched_flows_are_leased_so_the_next_tick_skips_them(self):
        self.tick()
        assert Dataflow.objects.get(pk=self.due[0].pk).next_sync_at > timezone.now()
        self.dispatched.clear()
        assert self.tick() == 0

    def test_a_tick_dispatches_at_most_one_batch(self):
        past = timezone.now() - timedelta(minutes=1)
        for _ in range(5):
            make_dataflow(self.sandbox, next_sync_at=past)
        assert self.tick() == 4

    def test_a_throttled_sandbox_is_not_dispatched_and_the_poller_slows_down(self):
        throttle.slow_down(retry_after=30, sandbox_pk=self.sandbox.pk)
        assert self.tick() == 0
        # Planned for the end of the pause, not taken again at every tick.
        resume = Dataflow.objects.get(pk=self.due[0].pk).next_sync_at
        assert timezone.now() + timedelta(seconds=25) < resume
        Dataflow.objects.filter(pk__in=[f.pk for f in self.due]).update(
            next_sync_at=timezone.now() - timedelta(minutes=1)
        )
        throttle._redis().delete(throttle.key(f"paused-until:{self.sandbox.pk}"))
        most_overdue = timezone.now() - timedelta(hours=1)
        other = make_sandbox(display_name="Other", sandbox_name="other")
        make_dataflow(other, next_sync_at=most_overdue)
        assert self.tick() == 2  # pace 2: half the batch (two sandboxes, two requests)...
        assert max(c for _, c in self.dispatched) == 30  # ...spread over twice the tick

    def test_a_flow_waiting_for_its_first_run_is_polled_just_after_its_start_time(self):
        start = timezone.now() + timedelta(minutes=3)
        flow = make_dataflow(self.sandbox, next_sync_at=timezone.now(), start_time=start)
        self.tick()
        planned = Dataflow.objects.get(pk=flow.pk).next_sync_at
        assert start + timedelta(seconds=30) <= planned < start + timedelta(seconds=60)

    def test_flows_past_their_deadline_are_flagged_late(self):
        flow = make_dataflow(self.sandbox, frequency="hour", interval=1)
        make_run(flow, ago=timedelta(minutes=30))
        refresh_health(flow)
        Dataflow.objects.filter(pk=flow.pk).update(stale_at=timezone.now() - timedelta(seconds=1))
        self.tick()
        flow.refresh_from_db()
        assert (flow.health, flow.late_reason) == (Dataflow.Health.LATE, "stale")
