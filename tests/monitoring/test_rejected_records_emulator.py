"""Rejected records against the real AEP emulator and Stripe stand-in: a flow whose mapping
rejects the declined charges runs once; the page starts the read, the worker fetches the
sample from Data Access, and the page shows it."""

from __future__ import annotations

from unittest.mock import patch

import pytest

from core.models import Job
from monitoring import rejected_records
from tests.base import BaseTestCase


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
