"""Step 3: explore results, polling, and continuing."""

from __future__ import annotations

from unittest.mock import patch

from core.models import Job
from onboarding import tasks
from tests.base import BaseTestCase, make_sandbox
from tests.onboarding.factories import explored_draft


class StepExploreTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.draft = explored_draft(self.mina, make_sandbox())
        self.url = f"/wizard/{self.draft.pk}/explore/"
        self.login(self.mina)

    def test_it_shows_field_tree_fill_rate_pii_and_sample(self):
        r = self.client.get(self.url)
        self.assertContains(r, "billing_details")
        self.assertContains(r, "personal data: email address")
        self.assertContains(r, "50%")  # description is filled in one of two samples
        self.assertContains(r, "ch_2")  # a sample row
        self.assertContains(r, "Next: choose a dataset")

    def test_the_status_partial_polls_while_exploring_and_stops_after(self):
        job = Job.objects.create(
            kind=tasks.EXPLORE, target=tasks.target(self.draft), status="running"
        )
        r = self.client.get(f"{self.url}status/", headers={"HX-Request": "true"})
        assert r.status_code == 200
        self.assertContains(r, "AEP is reading a sample")
        job.status = "succeeded"
        job.save()
        r = self.client.get(f"{self.url}status/", headers={"HX-Request": "true"})
        assert r.status_code == 286
        assert b"<html" not in r.content

    def test_explore_again_enqueues(self):
        with (
            patch("onboarding.tasks.explore_resources.delay_on_commit") as delay,
            self.captureOnCommitCallbacks(execute=True),
        ):
            self.client.post(self.url, {"action": "explore"})
        delay.assert_called_once()

    def test_continue_marks_the_step_and_moves_on(self):
        r = self.client.post(self.url, {"action": "continue"})
        assert r["Location"] == f"/wizard/{self.draft.pk}/dataset/"
        r = self.client.post(self.url, {"action": "continue"}, headers={"HX-Request": "true"})
        assert r["HX-Redirect"] == f"/wizard/{self.draft.pk}/dataset/"
