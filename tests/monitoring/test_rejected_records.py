"""The run page's rejected-records section: who may see and start it, every job state, the
worker's rows, and the whole path against the real emulator and Stripe stand-in."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from django.utils import timezone

from aep.types import FailedRecord, FailedRecordError, FailedRecordSample
from core.models import Job
from monitoring import rejected_records
from tests.base import BaseTestCase, make_sandbox
from tests.monitoring.factories import make_dataflow, make_run

BATCH = "01BATCH0000000000000000000"
ACTIVITIES = [
    {"id": "copyActivity"},
    {
        "id": "promotionActivity",
        "targetInfo": [{"reference": {"type": "Batch", "ids": [BATCH]}}],
    },
]
ROW = {
    "record_id": "ch_3Nq1",
    "field": "data.failure_code",
    "path": "_stripesources.stripe.created",
    "code": "MAPPER-3700-400",
    "message": "Cannot convert 'card_declined' to integer",
    "value": "card_declined",
}


def finish(job: Job, result: dict | None = None, *, error: str = "") -> Job:
    job.status = Job.Status.FAILED if error else Job.Status.SUCCEEDED
    job.result, job.error, job.finished = result or {}, error, timezone.now()
    job.save()
    return job


class RejectedRecordsPageTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.flow = make_dataflow(make_sandbox(), name="Charges", owner=self.mina)
        self.run = make_run(
            self.flow,
            status="partialSuccess",
            input_records=120,
            output_records=115,
            failed_records=5,
            activities=ACTIVITIES,
        )
        self.status_url = f"/runs/{self.run.pk}/rejected/"
        self.start_url = f"/runs/{self.run.pk}/rejected/read/"

    def job(self, **fields) -> Job:
        return Job.objects.create(
            kind=rejected_records.KIND,
            target=rejected_records.target_for(self.run),
            created_by=self.sam,
            **fields,
        )

    def section(self, user=None) -> str:
        self.login(user or self.mina)
        response = self.client.get(self.status_url, HTTP_HX_REQUEST="true")
        assert response.status_code in (200, 286)
        return response.content.decode()

    # -- the run page ------------------------------------------------------------------------

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

    # -- roles -------------------------------------------------------------------------------

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

    def test_fix_the_mapping_is_offered_to_those_who_may_edit_it(self):
        finish(self.job(), {"available": True, "records": 1, "rows": [ROW]})
        for user in (self.mina, self.sam, self.alex):  # mina owns the flow
            assert f"/dataflows/{self.flow.pk}/mapping/" in self.section(user)
        self.flow.owner = self.alex
        self.flow.save()
        body = self.section(self.mina)
        assert "/mapping/" not in body
        assert "ask the dataflow's owner, Support or an Admin" in body

    # -- starting ----------------------------------------------------------------------------

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

    # -- each state of the job ---------------------------------------------------------------

    def test_before_any_job_the_section_explains_and_offers_the_button(self):
        body = self.section()
        assert "AEP rejected 5 records in this run" in body
        assert "Show rejected records" in body

    def test_a_working_job_polls_and_a_finished_one_stops(self):
        job = self.job(status=Job.Status.RUNNING)
        self.login(self.mina)
        response = self.client.get(self.status_url, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        assert 'hx-trigger="every 1s"' in response.content.decode()
        finish(job, {"available": True, "records": 0, "rows": []})
        response = self.client.get(self.status_url, HTTP_HX_REQUEST="true")
        assert response.status_code == 286
        assert "hx-trigger" not in response.content.decode()

    def test_the_table_shows_object_field_error_and_value(self):
        finish(self.job(), {"available": True, "records": 1, "truncated": True, "rows": [ROW]})
        body = self.section()
        for text in (
            "ch_3Nq1",
            "data.failure_code",
            "_stripesources.stripe.created",
            "MAPPER-3700-400",
            "A mapping rule could not be applied",
            "Cannot convert &#x27;card_declined&#x27; to integer",
            "card_declined",
            "The first 1 rejected record",
            "Fix the mapping",
        ):
            assert text in body, text

    def test_diagnostics_off_is_said_in_plain_words(self):
        finish(
            self.job(),
            {
                "available": False,
                "reason": "no_diagnostics",
                "message": "Error diagnostics were not enabled for batch 'x'.",
            },
        )
        body = self.section()
        assert "Error diagnostics were off for this dataflow" in body
        assert "turn on “Error diagnostics”" in body
        assert "Error diagnostics were not enabled for batch" in body
        assert "<table" not in body

    def test_a_failed_job_shows_a_clear_message_and_may_be_tried_again(self):
        finish(
            self.job(), error="Cannot reach AEP. Check the platform and IMS URLs of the sandbox."
        )
        body = self.section()
        assert "Could not read the rejected records." in body
        assert "Cannot reach AEP" in body
        assert "Read again" in body

    def test_the_retry_action_of_a_failed_run_sits_beside_the_records(self):
        self.run.status = "failed"
        self.run.save()
        finish(self.job(), {"available": True, "records": 1, "rows": [ROW]})
        assert f"/runs/{self.run.pk}/retry/" in self.section(self.sam)
        assert f"/runs/{self.run.pk}/retry/" not in self.section(self.mina)

    def test_a_malformed_result_never_breaks_the_page(self):
        for result in (
            {"available": True, "rows": "nope", "records": "x"},
            {"available": True, "rows": [None, 3, {"code": None}]},
            {"available": "yes"},
            {},
        ):
            finish(self.job(), result)
            self.section()
        self.login(self.mina)
        assert self.client.get(self.status_url).status_code == 200  # the full page too


class RejectedRowsTestCase(BaseTestCase):
    """The worker's rows: only what the page shows, secrets masked."""

    def setUp(self) -> None:
        super().setUp()
        self.flow = make_dataflow(make_sandbox())

    def record(self, obj: dict, *errors: FailedRecordError) -> FailedRecord:
        import json

        return FailedRecord(source=json.dumps(obj), errors=errors)

    def test_a_row_per_error_with_the_value_of_the_source_field(self):
        record = self.record(
            {"id": "ch_1", "amount": "12x"},
            FailedRecordError("MAPPER-3700-400", "bad amount", source_field="data.amount"),
            FailedRecordError("INGEST-1104-400", "bad date", path="_t.stripe.day"),
        )
        assert rejected_records.rows_of(record) == [
            {
                "record_id": "ch_1",
                "field": "data.amount",
                "path": "",
                "code": "MAPPER-3700-400",
                "message": "bad amount",
                "value": "12x",
            },
            {
                "record_id": "ch_1",
                "field": "_t.stripe.day",
                "path": "_t.stripe.day",
                "code": "INGEST-1104-400",
                "message": "bad date",
                "value": None,
            },
        ]

    def test_secrets_never_reach_the_row(self):
        record = self.record(
            {
                "id": "pi_1",
                "client_secret": "pi_1_secret_abc",
                "metadata": {"note": "key sk_live_abcdef123", "api_token": "t0k"},
            },
            FailedRecordError("X-1", "bad", source_field="data.client_secret"),
            FailedRecordError("X-2", "saw sk_test_123abc here", source_field="data.metadata"),
        )
        rows = rejected_records.rows_of(record)
        text = repr(rows)
        for secret in ("pi_1_secret_abc", "sk_live_abcdef123", "t0k", "sk_test_123abc"):
            assert secret not in text
        assert rows[0]["value"] == "••••"

    def test_long_values_are_cut(self):
        record = self.record(
            {"id": "ch_1", "description": "x" * 500},
            FailedRecordError("X-1", "m", source_field="data.description"),
        )
        assert len(rejected_records.rows_of(record)[0]["value"]) == rejected_records.VALUE_CHARS

    def test_fetch_reads_the_runs_batch_and_keeps_rows_only(self):
        run = make_run(self.flow, status="partialSuccess", failed_records=1, activities=ACTIVITIES)
        job = Job.objects.create(
            kind=rejected_records.KIND, target=rejected_records.target_for(run)
        )
        sample = FailedRecordSample(
            batch_id=BATCH,
            available=True,
            records=(
                self.record(
                    {"id": "ch_1", "amount": "x"},
                    FailedRecordError("MAPPER-3700-400", "m", source_field="data.amount"),
                ),
            ),
            files=1,
        )
        with patch("monitoring.rejected_records.client_for") as factory:
            factory.return_value.dataaccess.failed_records.return_value = sample
            result = rejected_records.fetch(job)
        factory.return_value.dataaccess.failed_records.assert_called_once_with(
            BATCH, limit=rejected_records.SAMPLE_SIZE
        )
        assert result["available"] and result["records"] == 1
        assert result["rows"][0]["record_id"] == "ch_1"
        assert "source" not in result["rows"][0]

    def test_a_run_without_a_batch_asks_aep_nothing(self):
        run = make_run(self.flow, status="failed", failed_records=0, activities=[{"id": "c"}])
        job = Job.objects.create(
            kind=rejected_records.KIND, target=rejected_records.target_for(run)
        )
        with patch("monitoring.rejected_records.client_for") as factory:
            assert rejected_records.fetch(job)["reason"] == "no_batch"
        factory.assert_not_called()


# -- against the real emulator and Stripe stand-in -------------------------------------------


@pytest.mark.integration
class RejectedRecordsEmulatorTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _servers(self, aep_emulator, stripe_stand_in):
        self.aep = aep_emulator
        self.stripe = stripe_stand_in

    def setUp(self) -> None:
        from monitoring.clients import client_for
        from tests.emulator_world import emulator_sandbox

        super().setUp()
        self.sandbox = emulator_sandbox(
            self.aep.url, display_name="Emulator prod", sandbox_name="prod"
        )
        self.client_aep = client_for(self.sandbox)

    def mirrored_run(self, *, diagnostics: bool):
        """A real flow with a rejecting mapping, run once, discovered and synced."""
        from monitoring.discovery import discover
        from monitoring.models import Dataflow, Run
        from monitoring.sync import run_sync
        from tests.emulator_world import run_rejecting_flow

        flow_id, document = run_rejecting_flow(
            self.client_aep, self.aep.url, self.stripe.secret_key, diagnostics=diagnostics
        )
        discover(self.sandbox, self.client_aep)
        dataflow = Dataflow.objects.get(sandbox=self.sandbox, flow_id=flow_id)
        from monitoring.clients import client_for

        assert run_sync(dataflow.pk, client_for).status == "synced"
        return Run.objects.get(run_id=document["id"])

    def read(self, run) -> str:
        from monitoring.tasks import fetch_rejected_records

        self.login(self.sam)
        with (
            self.captureOnCommitCallbacks(execute=False),
            patch("monitoring.tasks.fetch_rejected_records.delay"),
        ):
            self.client.post(f"/runs/{run.pk}/rejected/read/", HTTP_HX_REQUEST="true")
        job = Job.objects.get(target=rejected_records.target_for(run))
        fetch_rejected_records(str(job.pk))  # what the worker runs
        response = self.client.get(f"/runs/{run.pk}/rejected/", HTTP_HX_REQUEST="true")
        assert response.status_code == 286
        return response.content.decode()

    def test_the_rejected_charges_are_shown_with_field_code_and_value(self):
        run = self.mirrored_run(diagnostics=True)
        assert run.status == "partialSuccess" and run.failed_records > 0
        body = self.read(run)
        declined = {
            c["id"]: c["failure_code"] for c in self.stripe_charges() if c.get("failure_code")
        }
        assert len(declined) == run.failed_records
        for charge_id, code in declined.items():
            assert charge_id in body
            assert code in body
        assert "data.failure_code" in body
        assert "MAPPER-3700-400" in body
        assert "A mapping rule could not be applied" in body
        assert "Fix the mapping" in body

    def test_without_diagnostics_the_page_says_how_to_turn_them_on(self):
        body = self.read(self.mirrored_run(diagnostics=False))
        assert "Error diagnostics were off for this dataflow" in body
        assert "<table" not in body

    def test_aep_down_fails_the_job_with_a_clear_message(self):
        run = self.mirrored_run(diagnostics=True)
        self.sandbox.platform_url = "http://127.0.0.1:9"  # nothing listens there
        self.sandbox.save()
        body = self.read(run)
        job = Job.objects.get(target=rejected_records.target_for(run))
        assert job.status == Job.Status.FAILED
        assert "Could not read the rejected records." in body
        assert "Cannot reach AEP" in body

    def stripe_charges(self) -> list[dict]:
        import requests

        charges, after = [], None
        while True:
            params = {"limit": 100, **({"starting_after": after} if after else {})}
            page = requests.get(
                f"{self.stripe.url}/v1/charges",
                params=params,
                headers={"Authorization": f"Bearer {self.stripe.secret_key}"},
                timeout=30,
            ).json()
            charges += page["data"]
            if not page["has_more"]:
                return charges
            after = page["data"][-1]["id"]
