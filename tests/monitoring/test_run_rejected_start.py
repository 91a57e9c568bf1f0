"""Reading a run's rejected records: the button on the run page, who may look and start, and
one job at a time."""

from __future__ import annotations

from unittest.mock import patch

from core.models import Job
from monitoring import rejected_records
from tests.monitoring.factories import ACTIVITIES, make_run
from tests.monitoring.pages import RejectedRecordsPageTestCase


class RunRejectedStartTestCase(RejectedRecordsPageTestCase):
    def test_the_run_page_offers_the_button_only_when_records_were_rejected(self):
        self.login(self.mina)
        body = self.client.get(f"/runs/{self.run.pk}/").content.decode()
        assert "Show rejected records" in body
        assert f'hx-get="{self.status_url}"' in body
        clean = make_run(self.flow, status="success")
        assert "Show rejected records" not in self.client.get(f"/runs/{clean.pk}/").content.decode()
        running = make_run(self.flow, status="inProgress", failed_records=3, completed_at=None)
        body = self.client.get(f"/runs/{running.pk}/").content.decode()
        assert "Show rejected records" not in body

    def test_every_role_may_look_and_ask(self):
        for user in (self.mina, self.sam, self.alex):
            self.login(user)
            assert self.client.get(self.status_url).status_code == 200
        with patch("monitoring.views.rejected_records.start_job") as start:
            self.login(self.mina)
            response = self.client.post(self.start_url)
        assert response.status_code == 302 and response["Location"] == self.status_url
        start.assert_called_once()

    def test_people_without_a_role_and_anonymous_visitors_are_turned_away(self):
        assert self.client.get(self.status_url).status_code == 302
        assert self.client.post(self.start_url).status_code == 302
        self.login(self.nora)
        assert self.client.get(self.status_url).status_code == 403
        assert self.client.post(self.start_url).status_code == 403
        assert not Job.objects.exists()

    def test_get_may_not_start_a_job_and_unknown_runs_are_404(self):
        self.login(self.mina)
        assert self.client.get(self.start_url).status_code == 405
        assert self.client.post("/runs/999999/rejected/read/").status_code == 404
        assert self.client.get("/runs/999999/rejected/").status_code == 404

    def test_starting_creates_one_job_and_shows_it_working(self):
        self.login(self.mina)
        with (
            self.captureOnCommitCallbacks() as callbacks,
            patch("monitoring.tasks.fetch_rejected_records.delay") as delay,
        ):
            response = self.client.post(self.start_url, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        assert "Reading the rejected records from AEP" in response.content.decode()
        job = Job.objects.get()
        assert (job.kind, job.target, job.created_by) == (
            rejected_records.KIND,
            f"run:{self.run.pk}",
            self.mina,
        )
        assert len(callbacks) == 1
        # A second click while it works does not queue another.
        self.client.post(self.start_url, HTTP_HX_REQUEST="true")
        assert Job.objects.count() == 1
        del delay

    def test_a_run_without_rejected_records_starts_nothing(self):
        clean = make_run(self.flow, status="success", activities=ACTIVITIES)
        self.login(self.mina)
        response = self.client.post(f"/runs/{clean.pk}/rejected/read/", follow=True)
        assert response.status_code == 200
        assert not Job.objects.exists()
