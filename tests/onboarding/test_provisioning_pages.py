"""Progress, Retry, Discard, resume after a dead worker, and the summary of created flows."""

from __future__ import annotations

from datetime import timedelta
from unittest.mock import patch

from django.utils import timezone

from monitoring.models import Dataflow
from onboarding.models import Draft, ProvisioningStep
from onboarding.provisioning import create_steps
from tests.base import BaseTestCase, make_sandbox
from tests.onboarding.factories import ready_draft


class ProvisioningPagesTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox()
        self.draft = ready_draft(self.mina, self.sandbox, paths=("charges",))
        create_steps(self.draft)
        self.draft.status = Draft.Status.PROVISIONING
        self.draft.attempt = 1
        self.draft.save()
        self.url = f"/wizard/{self.draft.pk}/provisioning/"
        self.login(self.mina)

    def fail_at(self, kind: str) -> None:
        self.draft.steps.filter(position__lt=self.draft.steps.get(kind=kind).position).update(
            status="done", aep_id="x-1", created_here=True
        )
        self.draft.steps.filter(kind=kind).update(
            status="failed", error="AEP had an internal error.", request_id="req-9"
        )
        Draft.objects.filter(pk=self.draft.pk).update(
            status="failed", error="AEP had an internal error."
        )

    def test_progress_polls_while_working(self):
        r = self.client.get(f"{self.url}status/", headers={"HX-Request": "true"})
        assert r.status_code == 200
        body = r.content.decode()
        assert "Step 0 of 8 done" in body
        assert 'hx-trigger="every 1s"' in body

    def test_a_failure_shows_the_step_adobes_words_retry_and_discard(self):
        self.fail_at("dataset")
        r = self.client.get(f"{self.url}status/", headers={"HX-Request": "true"})
        assert r.status_code == 286
        body = r.content.decode()
        assert "Creating the Dataset" in body
        assert "AEP had an internal error." in body
        assert "req-9" in body
        assert "Retry" in body and "Discard" in body

    def test_retry_starts_a_new_attempt(self):
        self.fail_at("flow")
        with (
            patch("onboarding.tasks.provision.delay_on_commit") as delay,
            self.captureOnCommitCallbacks(execute=True),
        ):
            self.client.post(f"{self.url}retry/")
        self.draft.refresh_from_db()
        assert self.draft.status == Draft.Status.PROVISIONING
        delay.assert_called_once_with(str(self.draft.pk), 2)

    def test_retry_does_nothing_while_a_healthy_run_is_going(self):
        Draft.objects.filter(pk=self.draft.pk).update(heartbeat=timezone.now())
        with patch("onboarding.tasks.provision.delay_on_commit") as delay:
            self.client.post(f"{self.url}retry/")
        delay.assert_not_called()

    def test_a_run_whose_worker_died_can_be_resumed(self):
        stale = timezone.now() - timedelta(minutes=10)
        Draft.objects.filter(pk=self.draft.pk).update(heartbeat=stale)
        r = self.client.get(self.url)
        self.assertContains(r, "Resume")
        with (
            patch("onboarding.tasks.provision.delay_on_commit") as delay,
            self.captureOnCommitCallbacks(execute=True),
        ):
            self.client.post(f"{self.url}retry/")
        delay.assert_called_once_with(str(self.draft.pk), 2)

    def test_discard_enqueues_the_cleanup(self):
        self.fail_at("flow")
        with (
            patch("onboarding.tasks.discard_draft.delay_on_commit") as delay,
            self.captureOnCommitCallbacks(execute=True),
        ):
            self.client.post(f"/wizard/{self.draft.pk}/discard/")
        self.draft.refresh_from_db()
        assert self.draft.status == Draft.Status.DISCARDING
        delay.assert_called_once_with(str(self.draft.pk), self.draft.attempt)

    def test_discarding_an_untouched_draft_needs_no_task(self):
        draft = ready_draft(self.mina, self.sandbox, connection_id="")
        with patch("onboarding.tasks.discard_draft.delay_on_commit") as delay:
            r = self.client.post(f"/wizard/{draft.pk}/discard/")
        draft.refresh_from_db()
        assert draft.status == Draft.Status.DISCARDED
        assert r["Location"] == "/wizard/"
        delay.assert_not_called()

    def test_done_redirects_to_the_created_dataflows(self):
        self.draft.steps.update(status="done", aep_id="flow-1")
        Draft.objects.filter(pk=self.draft.pk).update(status="done")
        Dataflow.objects.create(
            sandbox=self.sandbox, flow_id="flow-1", name="Stripe charges", resource_path="charges"
        )
        r = self.client.get(f"{self.url}status/", headers={"HX-Request": "true"})
        assert r["HX-Redirect"] == f"/wizard/{self.draft.pk}/done/"
        r = self.client.get(f"/wizard/{self.draft.pk}/done/")
        self.assertContains(r, "1 dataflow created")
        self.assertContains(r, "Stripe charges")
        self.assertContains(r, "flow-1")

    def test_support_cannot_open_progress_or_act(self):
        self.client.logout()
        self.login(self.sam)
        assert self.client.get(self.url).status_code == 403
        assert self.client.post(f"{self.url}retry/").status_code == 403
        assert self.client.post(f"/wizard/{self.draft.pk}/discard/").status_code == 403
        assert ProvisioningStep.objects.filter(status="pending").count() == 8
