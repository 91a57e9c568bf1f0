"""The sandbox page's Check readiness: Admins only, writes only once confirmed, the report
polled from the database and downloadable as JSON; and once through a real worker."""

from __future__ import annotations

import json
from unittest.mock import patch

import pytest
from django.test import Client

from core.models import Job
from monitoring import readiness
from tests.base import PASSWORD, BaseTestCase, make_sandbox, make_user, wait_for
from tests.emulator_world import AEPWorld

REPORT = {
    "version": 1,
    "ready": False,
    "write": False,
    "summary": "Not ready: 1 of 2 checks failed. Each says what to do.",
    "counts": {"passed": 1, "warning": 0, "failed": 1, "skipped": 0},
    "checks": [
        {"call": "IMS access token", "request": "POST /ims/token/v3", "status": 200,
         "request_id": "req-1", "ms": 31, "requests": 1, "outcome": "passed",
         "detail": "IMS issued an access token.", "fix": ""},
        {"call": "Datasets", "request": "GET /data/foundation/catalog/dataSets", "status": 403,
         "request_id": "req-2", "ms": 12, "requests": 1, "outcome": "failed",
         "detail": "You do not have sufficient permissions",
         "fix": "Give the product profile the View Datasets permission."},
    ],
}  # fmt: skip


class SandboxReadinessTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox()
        self.base = f"/sandboxes/{self.sandbox.pk}/readiness/"

    def finished_job(self, result=None) -> Job:
        job = Job.objects.create(
            kind=readiness.KIND, target=f"sandbox:{self.sandbox.pk}", created_by=self.alex
        )
        job.claim()
        job.succeed(result or REPORT)
        return job

    def test_only_admins_may_check_or_download(self):
        self.finished_job()
        for user in (self.mina, self.sam, self.nora):
            self.client.logout()
            self.login(user)
            assert self.client.post(self.base).status_code == 403, user
            assert self.client.get(f"{self.base}status/").status_code == 403, user
            assert self.client.get(f"{self.base}report.json").status_code == 403, user
        assert not Job.objects.filter(kind=readiness.KIND, status="queued").exists()

    def test_check_starts_a_read_only_job_in_a_worker(self):
        self.login(self.alex)
        with patch("monitoring.views.sandboxes.check_sandbox_readiness.delay_on_commit") as delay:
            r = self.client.post(self.base, HTTP_HX_REQUEST="true")
        job = Job.objects.get(kind=readiness.KIND)
        delay.assert_called_once_with(str(job.pk), False)
        self.assertContains(r, "Waiting for a worker")
        self.assertContains(r, f'hx-get="{self.base}status/"')

    def test_writes_wait_for_confirmation(self):
        self.login(self.alex)
        with patch("monitoring.views.sandboxes.check_sandbox_readiness.delay_on_commit") as delay:
            asked = self.client.post(self.base, {"write": "1"}, HTTP_HX_REQUEST="true")
            assert not delay.called
            self.assertContains(asked, "Create and delete throw-away objects")
            self.assertContains(asked, 'name="confirm" value="1"')
            self.client.post(self.base, {"write": "1", "confirm": "1"})
        job = Job.objects.get(kind=readiness.KIND)
        delay.assert_called_once_with(str(job.pk), True)

    def test_writes_without_htmx_show_the_confirmation_on_the_page(self):
        self.login(self.alex)
        with patch("monitoring.views.sandboxes.check_sandbox_readiness.delay_on_commit") as delay:
            r = self.client.post(self.base, {"write": "1"})
        assert not delay.called
        self.assertContains(r, "Yes, create and delete them")

    def test_the_page_shows_the_report_table_with_fixes(self):
        self.finished_job()
        self.login(self.alex)
        r = self.client.get(f"/sandboxes/{self.sandbox.pk}/")
        self.assertContains(r, "Check readiness")
        self.assertContains(r, "Not ready: 1 of 2 checks failed")
        self.assertContains(r, "req-2")
        self.assertContains(r, "View Datasets permission")
        self.assertContains(r, f'href="{self.base}report.json"')
        self.assertNotContains(r, 'hx-trigger="every 1s"')

    def test_status_polls_until_the_job_ends(self):
        job = Job.objects.create(
            kind=readiness.KIND, target=f"sandbox:{self.sandbox.pk}", created_by=self.alex
        )
        self.login(self.alex)
        r = self.client.get(f"{self.base}status/", HTTP_HX_REQUEST="true")
        assert r.status_code == 200
        self.assertContains(r, "every 1s")
        job.claim()
        job.succeed(REPORT)
        r = self.client.get(f"{self.base}status/", HTTP_HX_REQUEST="true")
        assert r.status_code == 286
        assert "Datasets" in r.content.decode()

    def test_the_report_downloads_as_json(self):
        self.login(self.alex)
        assert self.client.get(f"{self.base}report.json").status_code == 404
        self.finished_job()
        r = self.client.get(f"{self.base}report.json")
        assert r["Content-Type"].startswith("application/json")
        assert r["Content-Disposition"].startswith(
            'attachment; filename="stripe-sources-readiness-prod-'
        )
        assert json.loads(r.content)["checks"][1]["status"] == 403


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_check_runs_in_a_worker_and_its_report_holds_no_secret(
    celery_worker_thread, aep_emulator
):
    from core.roles import ADMIN, ensure_roles

    ensure_roles()
    admin = make_user("alex", ADMIN)
    world = AEPWorld(aep_emulator.url)
    client = Client()
    client.login(username=admin.username, password=PASSWORD)
    base = f"/sandboxes/{world.sandbox.pk}/readiness/"

    client.post(base)
    job = Job.objects.get(kind=readiness.KIND)
    wait_for(lambda: Job.objects.get(pk=job.pk).is_done, "the readiness check", timeout=60)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["ready"] is True
    page = client.get(f"/sandboxes/{world.sandbox.pk}/").content.decode()
    assert "Ready:" in page and "IMS access token" in page
    report = client.get(f"{base}report.json").content.decode()
    assert world.sandbox.client_secret.reveal() not in report
    assert "Bearer" not in report and "access_token" not in report
