"""Drafts whose worker went away: a stalled discard may be resumed or cancelled, and beat
resumes stalled provisioning and discards on its own, a few times, then fails the draft and
tells its creator; the progress page says what happened."""

from __future__ import annotations

from datetime import timedelta
from unittest.mock import patch

from django.core import mail
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from monitoring.models import Dataflow
from onboarding import tasks
from onboarding.models import Draft, ProvisioningStep, stale_after
from onboarding.provisioning import Ids, create_steps, flow_body
from tests.base import BaseTestCase, make_sandbox
from tests.onboarding.driver import run_with_retries
from tests.onboarding.factories import ready_draft
from tests.onboarding.fakes import FakeAEP

Status = Draft.Status


class StalledDraftTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.mina.email = "mina@example.com"
        self.mina.save()
        self.draft = ready_draft(self.mina, make_sandbox(), paths=("charges",))
        create_steps(self.draft)
        self.url = f"/wizard/{self.draft.pk}/provisioning/"
        self.login(self.mina)

    def stall(self, status: str) -> None:
        """The draft's worker stopped beating longer ago than the staleness limit."""
        long_ago = timezone.now() - stale_after() - timedelta(seconds=5)
        Draft.objects.filter(pk=self.draft.pk).update(
            status=status, attempt=1, heartbeat=long_ago, updated=long_ago
        )
        self.draft.refresh_from_db()

    def test_a_stalled_discard_can_be_resumed(self):
        self.draft.steps.update(status="done", aep_id="x-1", created_here=True)
        self.stall(Status.DISCARDING)
        page = self.client.get(self.url)
        self.assertContains(page, "Discarding stopped without finishing")
        self.assertContains(page, "Resume discarding")
        with (
            patch("onboarding.tasks.discard_draft.delay_on_commit") as sent,
            self.captureOnCommitCallbacks(execute=True),
        ):
            self.client.post(f"/wizard/{self.draft.pk}/discard/")
        self.draft.refresh_from_db()
        assert (self.draft.status, self.draft.attempt) == (Status.DISCARDING, 2)
        sent.assert_called_once_with(str(self.draft.pk), 2)

    def test_a_stalled_discard_can_be_cancelled_by_creating_again(self):
        self.draft.steps.update(status="deleted")
        self.stall(Status.DISCARDING)
        with (
            patch("onboarding.tasks.provision.delay_on_commit") as sent,
            self.captureOnCommitCallbacks(execute=True),
        ):
            self.client.post(f"{self.url}retry/")
        self.draft.refresh_from_db()
        assert self.draft.status == Status.PROVISIONING
        assert set(self.draft.steps.values_list("status", flat=True)) == {"pending"}
        sent.assert_called_once_with(str(self.draft.pk), 2)

    def test_a_discard_whose_worker_is_alive_is_left_alone(self):
        Draft.objects.filter(pk=self.draft.pk).update(
            status=Status.DISCARDING, heartbeat=timezone.now()
        )
        with patch("onboarding.tasks.discard_draft.delay_on_commit") as sent:
            self.client.post(f"/wizard/{self.draft.pk}/discard/")
            self.client.post(f"{self.url}retry/")
        sent.assert_not_called()
        self.draft.refresh_from_db()
        assert (self.draft.status, self.draft.attempt) == (Status.DISCARDING, 0)

    def test_a_queued_attempt_whose_message_was_lost_reads_as_stalled(self):
        long_ago = timezone.now() - stale_after() - timedelta(seconds=5)
        Draft.objects.filter(pk=self.draft.pk).update(
            status=Status.PROVISIONING, heartbeat=None, updated=long_ago
        )
        self.draft.refresh_from_db()
        assert self.draft.is_stale

    @override_settings(AUTOMATIC_RESUMES=2)
    def test_beat_resumes_a_few_times_then_fails_the_draft_and_tells_its_creator(self):
        self.stall(Status.PROVISIONING)
        with patch("onboarding.tasks.provision.delay_on_commit") as sent:
            for expected in (1, 2):
                with self.captureOnCommitCallbacks(execute=True):
                    assert tasks.resume_stalled() == 1
                self.draft.refresh_from_db()
                assert (self.draft.status, self.draft.auto_resumes) == (
                    Status.PROVISIONING,
                    expected,
                )
                page = self.client.get(self.url)
                self.assertContains(page, "creation was resumed automatically")
                Draft.objects.filter(pk=self.draft.pk).update(auto_resumes=expected)
                self.stall(Status.PROVISIONING)  # the new worker went away too
            assert tasks.resume_stalled() == 1
        assert sent.call_count == 2
        self.draft.refresh_from_db()
        assert self.draft.status == Status.FAILED
        assert "Creation stopped 3 times" in self.draft.error
        self.assertContains(self.client.get(self.url), "Creation stopped 3 times")
        assert [m.to for m in mail.outbox] == [["mina@example.com"]]
        assert self.url in mail.outbox[0].body

    def test_beat_resumes_a_stalled_discard(self):
        self.draft.steps.update(status="done", aep_id="x-1", created_here=True)
        self.stall(Status.DISCARDING)
        with (
            patch("onboarding.tasks.discard_draft.delay_on_commit") as sent,
            self.captureOnCommitCallbacks(execute=True),
        ):
            assert tasks.resume_stalled() == 1
        sent.assert_called_once_with(str(self.draft.pk), 2)
        self.assertContains(self.client.get(self.url), "discarding was resumed automatically")

    def test_beat_leaves_live_and_settled_drafts_alone(self):
        Draft.objects.filter(pk=self.draft.pk).update(
            status=Status.PROVISIONING, heartbeat=timezone.now()
        )
        ready_draft(self.mina, self.draft.sandbox, status=Status.FAILED)
        assert tasks.resume_stalled() == 0


@override_settings(ONBOARDING_STEP_RETRIES=0)
class ResumedWithoutAPersonTestCase(BaseTestCase):
    """The worker was killed while AEP was still answering the flow creation, and nobody
    opens the page again: beat resumes the draft and it ends with exactly one flow."""

    def test_beat_finishes_the_draft_with_one_flow(self):
        draft = ready_draft(self.mina, make_sandbox(), paths=("charges",))
        create_steps(draft)
        fake = FakeAEP()
        with patch("onboarding.tasks.client_for", return_value=fake):
            # The first worker got as far as calling AEP for the flow, then was killed.
            steps = list(draft.steps.order_by("position"))
            for number, item in enumerate(steps[:-1]):
                item.status, item.aep_id, item.created_here = "done", f"id-{number}", True
                item.save()
            flow_step = steps[-1]
            flow_step.status, flow_step.attempts = "running", 1
            flow_step.save()
            fake.create_flow(flow_body(draft, "charges", Ids.from_steps(steps)))
            long_ago = timezone.now() - stale_after() - timedelta(seconds=5)
            Draft.objects.filter(pk=draft.pk).update(
                status=Status.PROVISIONING, attempt=1, heartbeat=long_ago
            )

            def run_on_commit(pk, attempt):
                transaction.on_commit(lambda: run_with_retries(pk, attempt))

            with (
                patch("onboarding.tasks.provision.delay_on_commit", side_effect=run_on_commit),
                self.captureOnCommitCallbacks(execute=True),
            ):
                tasks.resume_stalled()
        draft.refresh_from_db()
        assert draft.status == Status.DONE, draft.error
        assert fake.count("flow") == 1
        assert Dataflow.objects.count() == 1
        flow = draft.steps.get(kind=ProvisioningStep.Kind.FLOW)
        assert (flow.attempts, flow.created_here) == (2, True)
