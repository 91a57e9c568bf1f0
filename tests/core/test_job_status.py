from __future__ import annotations

from core.models import Job
from tests.base import BaseTestCase


class JobStatusTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.job = Job.objects.create(
            kind="sandbox.test_connection", target="sandbox:1", created_by=self.alex
        )
        self.url = f"/jobs/{self.job.pk}/"

    def test_running_job_keeps_polling(self):
        self.login(self.alex)
        r = self.client.get(self.url, headers={"HX-Request": "true"})
        assert r.status_code == 200
        self.assertContains(r, "hx-trigger")

    def test_finished_job_stops_polling(self):
        self.job.fail("AEP did not answer in time.", code="FLOW-1104-504", request_id="req-1")
        self.login(self.alex)
        r = self.client.get(self.url, headers={"HX-Request": "true"})
        assert r.status_code == 286
        self.assertNotContains(r, "hx-trigger", status_code=286)
        self.assertContains(r, "AEP did not answer in time.", status_code=286)
        self.assertContains(r, "req-1", status_code=286)

    def test_someone_elses_job_is_not_found(self):
        self.login(self.mina)
        assert self.client.get(self.url).status_code == 404

    def test_claim_only_once(self):
        assert self.job.claim()
        again = Job.objects.get(pk=self.job.pk)
        assert again.status == Job.Status.RUNNING
        assert not again.claim()
        assert again.attempts == 1
