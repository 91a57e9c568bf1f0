"""Pausing a dataflow with an automatic resume: the form, the beat task, the pages, the audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest.mock import patch

import pytest
from django.test import override_settings
from django.utils import timezone, translation

from core.models import Preference
from monitoring.models import AuditEvent
from operations import resume, service, steps
from operations.forms import DisableForm
from operations.models import Operation
from operations.runner import Context, Done, run_steps
from operations.tasks import OPERATION_TASKS, resume_due_dataflows
from tests.base import BaseTestCase, make_sandbox
from tests.emulator_world import AEPWorld
from tests.operations.factories import make_account, make_dataflow, make_run
from tests.operations.jobs import run_next_job

EXECUTE = "operations.tasks.execute_operation.delay_on_commit"


class DisableFormTestCase(BaseTestCase):
    def form(self, when: str, zone: str = "UTC") -> DisableForm:
        with timezone.override(zone):
            form = DisableForm({"reason": "Noisy", "resume_at": when})
            form.is_valid()
        return form

    def test_nine_in_seoul_is_stored_as_midnight_utc(self):
        day = (timezone.now() + timedelta(days=2)).date()
        form = self.form(f"{day.isoformat()}T09:00", "Asia/Seoul")
        assert form.is_valid(), form.errors
        expected = datetime(day.year, day.month, day.day, 0, 0, tzinfo=UTC)
        assert form.cleaned_data["resume_at"] == expected
        assert form.cleaned_data["resume_at"].tzinfo == UTC

    def test_the_time_must_be_in_the_future(self):
        past = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
        assert self.form(past).errors["resume_at"] == ["Pick a time in the future."]

    def test_the_time_is_at_most_90_days_ahead(self):
        far = (timezone.now() + timedelta(days=91)).strftime("%Y-%m-%dT%H:%M")
        assert self.form(far).errors["resume_at"] == ["Pick a time at most 90 days ahead."]
        assert self.form("9999-12-31T23:59", "America/New_York").errors["resume_at"]

    def test_it_is_optional_and_names_the_zone(self):
        form = self.form("", "Asia/Seoul")
        assert form.is_valid() and form.cleaned_data["resume_at"] is None
        with timezone.override("Asia/Seoul"):
            assert "Asia/Seoul" in DisableForm().fields["resume_at"].help_text

    def test_messages_are_translated(self):
        past = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
        with translation.override("ko"):
            errors = [str(error) for error in self.form(past).errors["resume_at"]]
            assert errors == ["앞으로 올 시각을 고르세요."]
            assert "시간대(Asia/Seoul)" in str(self.form("", "Asia/Seoul")["resume_at"].help_text)


class ResumeTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.account = make_account(make_sandbox())
        self.flow = make_dataflow(self.account, enabled=False)
        Preference.objects.create(user=self.sam, time_zone="Asia/Seoul")

    def pause(self, resume_at: datetime, **fields) -> Operation:
        """A disable by sam that went through, with an automatic resume."""
        operation = Operation.objects.create(
            kind=Operation.Kind.DATAFLOW_DISABLE,
            status=Operation.Status.SUCCEEDED,
            sandbox=self.flow.sandbox,
            account=self.account,
            dataflow=self.flow,
            target_label=self.flow.name,
            actor=self.sam,
            reason="Stripe maintenance",
            steps=steps.flow_action_steps(self.flow, "disable"),
            resume_at=resume_at,
            created=datetime(2026, 11, 30, 23, 30, tzinfo=UTC),  # 1 Dec in Seoul
            **fields,
        )
        return operation

    def tick(self):
        with patch(EXECUTE) as delay, self.captureOnCommitCallbacks(execute=True):
            started = resume_due_dataflows()
        return started, delay

    def enables(self):
        return Operation.objects.filter(kind=Operation.Kind.DATAFLOW_ENABLE)

    def test_a_due_resume_starts_the_enable_once(self):
        pause = self.pause(timezone.now() - timedelta(minutes=1))
        started, delay = self.tick()
        assert started == 1
        enable = self.enables().get()
        assert enable.actor == self.sam
        assert enable.reason == "Automatic resume scheduled by sam on 2026-12-01"
        assert enable.status == Operation.Status.QUEUED
        assert enable.steps[0]["op"] == "enable"
        assert enable.steps[0]["extra"]["automatic_resume_of"] == str(pause.pk)
        delay.assert_called_once_with(str(enable.job_id), str(enable.pk))
        pause.refresh_from_db()
        assert pause.resume_at is None
        # The next tick finds nothing to do.
        assert self.tick()[0] == 0
        assert self.enables().count() == 1

    def test_a_resume_not_yet_due_does_nothing(self):
        pause = self.pause(timezone.now() + timedelta(hours=1))
        started, delay = self.tick()
        assert started == 0
        delay.assert_not_called()
        pause.refresh_from_db()
        assert pause.resume_at is not None

    def test_a_flow_enabled_by_hand_forgets_the_schedule(self):
        pause = self.pause(timezone.now() + timedelta(hours=1))
        self.login(self.sam)
        with patch(EXECUTE), self.captureOnCommitCallbacks(execute=True):
            self.client.post(f"/ops/dataflows/{self.flow.pk}/enable/", {"reason": "Fixed"})
        pause.refresh_from_db()
        assert pause.resume_at is None
        manual = self.enables().get()
        assert manual.steps[0]["extra"]["cancelled_resume_at"]
        assert self.tick()[0] == 0
        assert self.enables().count() == 1

    def test_a_flow_enabled_elsewhere_forgets_a_due_schedule(self):
        pause = self.pause(timezone.now() - timedelta(minutes=1))
        self.flow.enabled = True
        self.flow.save()
        assert self.tick()[0] == 0
        pause.refresh_from_db()
        assert pause.resume_at is None
        assert not self.enables().exists()

    def test_a_busy_flow_waits_for_the_next_tick(self):
        pause = self.pause(timezone.now() - timedelta(minutes=1))
        busy = service.create(
            Operation.Kind.DATAFLOW_UPDATE, actor=self.alex, dataflow=self.flow, steps=[]
        )
        assert self.tick()[0] == 0
        assert not self.enables().exists()
        pause.refresh_from_db()
        assert pause.resume_at is not None
        busy.save_fields(status=Operation.Status.SUCCEEDED)
        assert self.tick()[0] == 1
        assert self.tick()[0] == 0
        assert self.enables().count() == 1

    def test_two_ticks_racing_start_one_enable(self):
        pause = self.pause(timezone.now() - timedelta(minutes=1))
        stale = list(resume.due())  # what a second tick read before the first one cleared it
        self.tick()
        with patch("operations.resume.due", return_value=stale), patch(EXECUTE):
            assert resume.start_due(OPERATION_TASKS) == []
        assert self.enables().count() == 1
        pause.refresh_from_db()
        assert pause.resume_at is None

    def test_the_pages_say_until_when_by_whom_and_why(self):
        make_run(self.flow, "success", hours_ago=2.01)
        make_run(self.flow, "success", hours_ago=3.01)
        when = (timezone.now() + timedelta(days=3)).replace(hour=5, minute=0, second=0)
        self.pause(when)
        local = timezone.localtime(when, timezone.get_fixed_timezone(9 * 60))
        expected = f"Paused until {local.day} {local:%b} 14:00 (KST) by sam — Stripe maintenance"
        self.login(self.sam)
        page = self.client.get(f"/dataflows/{self.flow.pk}/")
        self.assertContains(page, expected)
        self.assertContains(page, "backfill runs")
        enable = self.client.get(f"/ops/dataflows/{self.flow.pk}/enable/")
        self.assertContains(enable, "Enabling now cancels it.")

    def test_the_disable_page_stores_the_schedule_and_audits_it(self):
        self.flow.enabled = True
        self.flow.save()
        self.login(self.sam)
        page = self.client.get(f"/ops/dataflows/{self.flow.pk}/disable/")
        self.assertContains(page, "Resume automatically at")
        self.assertContains(page, "Asia/Seoul")
        day = (timezone.now() + timedelta(days=2)).date()
        with patch(EXECUTE) as delay, self.captureOnCommitCallbacks(execute=True):
            self.client.post(
                f"/ops/dataflows/{self.flow.pk}/disable/",
                {"reason": "Stripe maintenance", "resume_at": f"{day.isoformat()}T09:00"},
            )
        delay.assert_called_once()
        pause = Operation.objects.get()
        assert pause.resume_at == datetime(day.year, day.month, day.day, tzinfo=UTC)

        # The worker disables the flow; the audit entry carries the resume time.
        client = patch_client()
        run_steps(Context(pause, client, client.request_ids), {"flow_action": fake_action})
        event = AuditEvent.objects.get(action="dataflow.disable")
        assert event.actor == self.sam
        assert event.reason == "Stripe maintenance"
        assert event.after["resume_at"] == pause.resume_at.isoformat()

    def test_the_automatic_enable_is_audited_in_the_pausers_name(self):
        self.pause(timezone.now() - timedelta(minutes=1))
        self.tick()
        enable = self.enables().get()
        client = patch_client()
        run_steps(Context(enable, client, client.request_ids), {"flow_action": fake_action})
        event = AuditEvent.objects.get(action="dataflow.enable")
        assert event.actor == self.sam
        assert event.reason.startswith("Automatic resume scheduled by sam")


class _RequestIds:
    def take(self) -> str:
        return ""


class _Client:
    request_ids = _RequestIds()


def patch_client() -> _Client:
    return _Client()


def fake_action(ctx, step):
    """flow_action without AEP: the audit entry comes from the engine, as with the real one."""
    enable = step["op"] == "enable"
    return Done(
        before={"state": "disabled" if enable else "enabled"},
        after={"state": "enabled" if enable else "disabled", **step.get("extra", {})},
    )


@pytest.mark.integration
class EmulatorResumeTestCase(BaseTestCase):
    """The automatic resume against the real AEP emulator: pause, time comes, flow enabled."""

    @pytest.fixture(autouse=True)
    def _emulator(self, aep_emulator, stripe_stand_in):
        self.emulator_url = aep_emulator.url
        with override_settings(STRIPE_API_BASE=stripe_stand_in.url):
            yield

    def test_a_paused_flow_is_enabled_in_aep_when_its_time_comes(self):
        world = AEPWorld(self.emulator_url)
        dataflow = world.dataflow(world.account())
        paused = run_next_job(
            service.create(
                Operation.Kind.DATAFLOW_DISABLE,
                actor=self.sam,
                dataflow=dataflow,
                reason="Stripe maintenance",
                steps=steps.flow_action_steps(dataflow, "disable"),
                resume_at=timezone.now() + timedelta(hours=1),
            )
        )
        assert paused.status == Operation.Status.SUCCEEDED, paused.error
        assert world.client.flowservice.get_flow(dataflow.flow_id).state == "disabled"
        assert resume.start_due(OPERATION_TASKS) == []

        later = timezone.now() + timedelta(hours=2)
        with patch(EXECUTE), self.captureOnCommitCallbacks(execute=True):
            (enable,) = resume.start_due(OPERATION_TASKS, later)
        enable.refresh_from_db()
        enabled = run_next_job(enable)
        assert enabled.status == Operation.Status.SUCCEEDED, enabled.error
        assert world.client.flowservice.get_flow(dataflow.flow_id).state == "enabled"
        dataflow.refresh_from_db()
        assert dataflow.enabled
        assert service.pending_resume(dataflow) is None
        event = AuditEvent.objects.get(action="dataflow.enable")
        assert (event.actor, event.result) == (self.sam, "succeeded")
        assert event.reason.startswith("Automatic resume scheduled by sam")
