"""Dataflow pages: edit (by role), mapping, disable/enable with the backfill preview, retry."""

from __future__ import annotations

from datetime import timedelta
from unittest.mock import patch

from django.utils import timezone

from core.models import Job
from monitoring.models import AuditEvent, Dataflow
from operations.models import Operation
from tests.base import BaseTestCase, make_sandbox
from tests.operations.factories import make_account, make_dataflow, make_run


class DataflowViewsTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.account = make_account(make_sandbox())
        self.flow = make_dataflow(self.account, owner=self.mina)

    def post(self, url: str, data: dict, task: str = "operations.tasks.execute_operation"):
        with (
            patch(f"{task}.delay_on_commit") as delay,
            self.captureOnCommitCallbacks(execute=True),
        ):
            response = self.client.post(url, data)
        return response, delay

    def test_the_owner_changes_the_schedule_but_not_the_name(self):
        self.login(self.mina)
        seen = self.client.get(f"/ops/dataflows/{self.flow.pk}/edit/").context["form"]["seen"]
        _response, delay = self.post(
            f"/ops/dataflows/{self.flow.pk}/edit/",
            {"name": "Sneaky rename", "frequency": "day", "interval": "1", "seen": seen.value()},
        )
        operation = Operation.objects.get()
        assert operation.params["changes"] == {"frequency": "day"}
        assert operation.params["seen"]["etag"] == '"etag-flow-1"'
        assert [s["action"] for s in operation.steps] == ["check_flow", "patch_flow"]
        delay.assert_called_once()

    def test_support_changes_name_and_schedule(self):
        self.login(self.sam)
        self.post(
            f"/ops/dataflows/{self.flow.pk}/edit/",
            {"name": "Charges EU", "description": "", "frequency": "minute", "interval": "30"},
        )
        changes = Operation.objects.get().params["changes"]
        assert changes == {"name": "Charges EU", "frequency": "minute", "interval": 30}

    def test_minute_schedules_run_at_most_every_15_minutes(self):
        self.login(self.sam)
        response, delay = self.post(
            f"/ops/dataflows/{self.flow.pk}/edit/",
            {"name": self.flow.name, "frequency": "minute", "interval": "5"},
        )
        self.assertContains(response, "at most every 15 minutes")
        delay.assert_not_called()

    def test_a_one_time_dataflow_cannot_be_rescheduled(self):
        self.flow.frequency = Dataflow.Frequency.ONCE
        self.flow.save()
        self.login(self.sam)
        response = self.client.get(f"/ops/dataflows/{self.flow.pk}/edit/")
        assert "frequency" not in response.context["form"].fields
        self.assertContains(response, "runs once")
        assert self.client.get(f"/ops/dataflows/{self.flow.pk}/mapping/").status_code == 403

    def test_the_mapping_page_reads_the_current_mapping_in_a_job(self):
        self.login(self.mina)
        page = self.client.get(f"/ops/dataflows/{self.flow.pk}/mapping/")
        self.assertContains(page, "applies to future runs only")
        self.assertContains(page, f'hx-post="/ops/dataflows/{self.flow.pk}/mapping/load/"')
        response, delay = self.post(
            f"/ops/dataflows/{self.flow.pk}/mapping/load/",
            {},
            task="operations.tasks.load_mapping",
        )
        job = Job.objects.get(kind="operations.load_mapping")
        delay.assert_called_once_with(str(job.pk))
        self.assertContains(response, f"/mapping/jobs/{job.pk}/")

        job.status = Job.Status.SUCCEEDED
        job.result = {"rules": "data.id -> _acme.charges.id", "version": 3, "etag": '"e-9"'}
        job.save()
        response = self.client.get(
            f"/ops/dataflows/{self.flow.pk}/mapping/jobs/{job.pk}/", headers={"HX-Request": "true"}
        )
        assert response.status_code == 286
        self.assertContains(response, "data.id -&gt; _acme.charges.id", status_code=286)
        self.assertContains(response, "Currently version 3", status_code=286)

    def test_a_mapping_with_a_bad_line_is_explained(self):
        self.login(self.mina)
        response, delay = self.post(
            f"/ops/dataflows/{self.flow.pk}/mapping/",
            {"mapping": "data.id -> _acme.id\ndata.amount _acme.amount"},
        )
        self.assertContains(response, "Line 2")
        delay.assert_not_called()
        response, delay = self.post(
            f"/ops/dataflows/{self.flow.pk}/mapping/",
            {"mapping": "data.id -> _acme.id\ndata.amount / 100 -> _acme.amount"},
        )
        operation = Operation.objects.get()
        assert [s["action"] for s in operation.steps] == [
            "check_flow",
            "validate_mapping",
            "update_mapping_set",
            "patch_flow",
        ]
        delay.assert_called_once()

    def test_disable_needs_a_reason(self):
        self.login(self.sam)
        response, delay = self.post(f"/ops/dataflows/{self.flow.pk}/disable/", {})
        self.assertContains(response, "This field is required")
        response, delay = self.post(
            f"/ops/dataflows/{self.flow.pk}/disable/", {"reason": "Fails every hour"}
        )
        operation = Operation.objects.get()
        assert operation.steps[0]["op"] == "disable"
        delay.assert_called_once()

    def test_enable_shows_the_backfill_runs_first(self):
        self.flow.enabled = False
        self.flow.save()
        # Hourly windows; the last one ended 5 hours ago: five windows were missed.
        make_run(self.flow, "success", hours_ago=5.01)
        make_run(self.flow, "success", hours_ago=6.01)
        self.login(self.sam)
        page = self.client.get(f"/ops/dataflows/{self.flow.pk}/enable/")
        assert page.context["estimate"]["count"] == 5
        self.assertContains(page, "About 5 backfill runs")
        self.assertContains(page, "Enable and start 5 backfill runs")
        self.assertContains(page, "AEP resumes the schedule (every hour)")
        _response, delay = self.post(f"/ops/dataflows/{self.flow.pk}/enable/", {})
        operation = Operation.objects.get()
        assert operation.steps[0]["extra"] == {"backfill_runs_expected": 5}
        delay.assert_called_once()

    def test_retry_of_one_failed_run(self):
        run = make_run(self.flow, "failed")
        ok = make_run(self.flow, "success")
        self.login(self.sam)
        response, delay = self.post(f"/ops/runs/{ok.pk}/retry/", {})
        assert not Operation.objects.exists()
        response, delay = self.post(f"/ops/runs/{run.pk}/retry/", {})
        operation = Operation.objects.get()
        assert [s["run_id"] for s in operation.steps] == [run.run_id]
        assert response["Location"] == f"/ops/operations/{operation.pk}/"
        delay.assert_called_once()

    def test_bulk_retry_lists_the_runs_before_retrying_them(self):
        other = make_dataflow(self.account, "refunds")
        runs = [make_run(self.flow, "failed"), make_run(other, "failed"), make_run(other, "failed")]
        retried = make_run(other, "failed")
        AuditEvent.objects.create(
            action="run.retry",
            target_type="dataflow",
            target_id=other.flow_id,
            before={"run_id": retried.run_id},
            after={"new_run_id": "x"},
        )
        self.login(self.sam)
        ids = [self.flow.pk, other.pk]
        response, delay = self.post("/ops/dataflows/retry/", {"dataflow": ids})
        self.assertContains(response, "these 3 failed runs")
        self.assertNotContains(response, retried.run_id)
        delay.assert_not_called()
        response, delay = self.post(
            "/ops/dataflows/retry/", {"dataflow": ids, "confirm": "1", "reason": "Stripe outage"}
        )
        operation = Operation.objects.get()
        assert sorted(s["run_id"] for s in operation.steps) == sorted(r.run_id for r in runs)
        assert operation.reason == "Stripe outage"
        delay.assert_called_once()

    def test_the_timeline_merges_runs_changes_and_support_actions(self):
        make_run(self.flow, "failed", hours_ago=3)
        AuditEvent.objects.create(
            actor_name="mina",
            role="Marketing Ops",
            action="dataflow.update",
            target_type="dataflow",
            target_id=self.flow.flow_id,
            sandbox=self.flow.sandbox,
            before={"interval": 1},
            after={"interval": 2},
            created=timezone.now() - timedelta(hours=2),
        )
        AuditEvent.objects.create(
            actor_name="sam",
            role="Support",
            action="dataflow.disable",
            reason="noisy",
            target_type="dataflow",
            target_id=self.flow.flow_id,
            sandbox=self.flow.sandbox,
        )
        self.login(self.mina)
        response = self.client.get(
            f"/ops/dataflows/{self.flow.pk}/timeline/", headers={"HX-Request": "true"}
        )
        kinds = [entry.kind for entry in response.context["entries"]]
        assert kinds == ["support", "change", "run"]
        self.assertContains(response, "interval: 1 → 2")
        self.assertContains(response, "“noisy”")
        self.assertNotContains(response, "<html")

    def test_the_timeline_comes_fifty_entries_at_a_time(self):
        runs = [make_run(self.flow, "success", hours_ago=i + 1) for i in range(60)]
        self.login(self.mina)
        url = f"/ops/dataflows/{self.flow.pk}/timeline/"
        first = self.client.get(url)
        assert len(first.context["entries"]) == 50
        older = first.context["older"]
        assert older == runs[49].created_at.isoformat()
        second = self.client.get(url, {"before": older})
        assert [e.title for e in second.context["entries"]] == [
            f"Run {run.run_id[:8]}" for run in runs[50:]
        ]
        assert second.context["older"] == ""
        self.assertContains(second, "Newest")
        # A cursor that is not a moment shows the newest entries.
        assert len(self.client.get(url, {"before": "yesterday"}).context["entries"]) == 50
