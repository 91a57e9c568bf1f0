"""Check now: one job at a time, polled until done; a later success hides an older failure."""

from __future__ import annotations

from unittest.mock import patch

from django.utils import timezone

from core.models import Job
from monitoring import drift
from monitoring.models import SchemaDrift
from tests.monitoring.pages import DriftPageTestCase


class CheckNowTestCase(DriftPageTestCase):
    def test_it_starts_one_job_at_a_time_and_polls_until_done(self):
        self.login(self.mark)
        with (
            patch("monitoring.views.dataflows.check_schema_drift_now.delay_on_commit") as enqueue,
            self.captureOnCommitCallbacks(execute=True),
        ):
            response = self.client.post(f"{self.url}schema/check/")
            self.client.post(f"{self.url}schema/check/")
        assert response.status_code == 302 and response["Location"].endswith("#schema-drift")
        assert enqueue.call_count == 1
        job = Job.objects.get(kind=drift.JOB_KIND, target=f"dataflow:{self.flow.pk}")
        polling = self.client.get(f"{self.url}schema/", headers={"HX-Request": "true"})
        assert polling.status_code == 200
        assert "Reading the fields Stripe sends…" in polling.content.decode()
        assert "<html" not in polling.content.decode()
        job.fail("AEP did not answer in time.")
        done = self.client.get(f"{self.url}schema/", headers={"HX-Request": "true"})
        assert done.status_code == 286
        assert "AEP did not answer in time." in done.content.decode()

    def test_a_check_that_succeeded_after_a_failed_job_hides_the_failure(self):
        job = Job.objects.create(kind=drift.JOB_KIND, target=f"dataflow:{self.flow.pk}")
        job.fail("AEP did not answer in time.")
        self.checked([])
        SchemaDrift.objects.filter(dataflow=self.flow).update(checked_at=timezone.now())
        assert "AEP did not answer in time." not in self.section()
