"""Monitoring against the real AEP emulator and Stripe stand-in: real, time-scaled runs.

Flows are made with the product's own AEP client (tests/emulator_world.py) in the demo
org's `dev` sandbox, discovered, synced, and then looked at through the pages.
"""

from __future__ import annotations

import contextlib

import pytest
import requests

from aep import BadRequestError, NotFoundError, quirks
from monitoring.clients import client_for
from monitoring.discovery import discover
from monitoring.models import Dataflow, Run
from monitoring.sync import run_sync
from tests.base import BaseTestCase, wait_for
from tests.emulator_world import add_flow, create_shared_parts, emulator_sandbox
from tests.monitoring.runs import aep_runs, stored_runs

pytestmark = pytest.mark.integration
REVOKED_KEY = "sk_test_revoked_key_0000000000000000"


class EmulatorTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _servers(self, aep_emulator, stripe_stand_in):
        self.aep = aep_emulator
        self.stripe = stripe_stand_in

    def setUp(self) -> None:
        super().setUp()
        self.sandbox = emulator_sandbox(self.aep.url, sandbox_name="dev")
        self.client_aep = client_for(self.sandbox)

    def tearDown(self) -> None:
        requests.delete(f"{self.aep.url}/__emulator__/faults", timeout=10)
        for dataflow in Dataflow.objects.filter(sandbox=self.sandbox, enabled=True):
            self.disable(dataflow.flow_id)
        super().tearDown()

    def disable(self, flow_id: str) -> None:
        # Already disabled (1422) or deleted (404) is fine.
        with contextlib.suppress(BadRequestError, NotFoundError):
            self.client_aep.flowservice.disable_flow(flow_id)

    def sync(self, dataflow: Dataflow) -> str:
        return run_sync(dataflow.pk, client_for).status

    def settle(self, flows: list[Dataflow]) -> None:
        """Stop the flows, then sync until every stored run equals AEP's."""
        for dataflow in flows:
            self.disable(dataflow.flow_id)
        for dataflow in flows:
            wait_for(
                lambda d=dataflow: (
                    self.sync(d) == "synced"
                    and stored_runs(d) == aep_runs(self.client_aep, d.flow_id)
                    and all(quirks.run_is_finished(s[0]) for s in stored_runs(d).values())
                ),
                f"runs of {dataflow.name} to settle",
            )

    def test_real_runs_show_up_on_the_pages_with_the_right_counts(self):
        parts = create_shared_parts(self.client_aep, self.stripe.secret_key)
        good_id = add_flow(self.client_aep, parts, "charges", name="Emulated charges")
        bad_parts = create_shared_parts(self.client_aep, REVOKED_KEY)
        bad_id = add_flow(self.client_aep, bad_parts, "customers", name="Emulated customers")

        result = discover(self.sandbox, self.client_aep)
        good = Dataflow.objects.get(sandbox=self.sandbox, flow_id=good_id)
        bad = Dataflow.objects.get(sandbox=self.sandbox, flow_id=bad_id)
        assert {good.pk, bad.pk} <= set(result.created)
        assert (good.resource_path, good.account.connection_id) == (
            "charges",
            parts.base_connection_id,
        )
        assert good.dataset_id == parts.dataset_id and good.discovered

        wait_for(lambda: len(aep_runs(self.client_aep, good_id)) >= 3, "three runs")
        for dataflow in (good, bad):
            self.sync(dataflow)
        good.refresh_from_db()
        bad.refresh_from_db()
        assert good.health == Dataflow.Health.HEALTHY
        assert bad.health == Dataflow.Health.FAILING

        self.login(self.mina)
        overview = self.client.get(f"/overview/?sandbox={self.sandbox.pk}")
        assert (overview.context["counts"]["healthy"], overview.context["counts"]["failing"]) == (
            1,
            1,
        )
        assert "Emulated charges" in overview.content.decode()

        failed_run = Run.objects.filter(dataflow=bad, status="failed").first()
        body = self.client.get(f"/runs/{failed_run.pk}/").content.decode()
        assert "CONNECTOR-1001-401" in body and "Stripe rejected the API key" in body

        self.settle([good, bad])
        ingested = sum(r[2] for r in stored_runs(good).values())
        assert ingested == self.stripe.count("charges")
        page = self.client.get(f"/dataflows/{good.pk}/")
        assert min(len(stored_runs(good)), 25) == len(page.context["runs"])
        assert page.content.decode().count('<a href="/runs/') == len(page.context["runs"])

        # AEP now says the flows are disabled; one is then deleted.
        self.client_aep.flowservice.delete_flow(bad_id)
        discover(self.sandbox, self.client_aep)
        good.refresh_from_db()
        bad.refresh_from_db()
        assert good.health == Dataflow.Health.DISABLED
        assert bad.health == Dataflow.Health.DELETED and bad.runs.exists()
