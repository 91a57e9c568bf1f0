"""Schema drift for real: a flow in the AEP emulator over its own Stripe stand-in account; the
stand-in's fields change, the check explores through AEP and reads the mapping from Data Prep.
"""

from __future__ import annotations

import uuid
from unittest.mock import patch

import pytest
import requests

from emulators.aep.testing import DEMO_TENANT_ID
from monitoring import drift
from monitoring.models import Dataflow, SchemaDrift
from monitoring.tasks import check_schema_drift, check_schema_drift_now, deliver_later
from tests.base import BaseTestCase
from tests.emulator_world import AEPWorld

pytestmark = pytest.mark.integration
PREFIX = f"_{DEMO_TENANT_ID}.charges_data"
RULES = [
    ("ATTRIBUTE", "data.id", f"{PREFIX}.id"),
    ("ATTRIBUTE", "data.amount", f"{PREFIX}.amount"),
    ("ATTRIBUTE", "data.metadata.order_id", f"{PREFIX}.status"),
    ("EXPRESSION", 'concat(data.currency, "-", data.outcome.type)', f"{PREFIX}.currency"),
]


class DriftWorld(AEPWorld):
    @staticmethod
    def mapping_body(schema_id: str, fields: tuple[str, ...] = ()) -> dict:
        body = AEPWorld.mapping_body(schema_id, ())
        body["mappings"] = [
            {"sourceType": kind, "source": source, "destination": destination}
            for kind, source, destination in RULES
        ]
        return body


class SchemaDriftEmulatorTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _servers(self, aep_emulator, stripe_stand_in):
        self.aep = aep_emulator
        self.stripe = stripe_stand_in

    def setUp(self) -> None:
        super().setUp()
        # An account of its own in the shared stand-in, so changing its fields touches no
        # other test's data.
        tag = uuid.uuid4().hex[:10]
        self.stripe_account = f"acct_drift_{tag}"
        key = f"sk_test_drift_{tag}_0000"
        self.stripe.admin("keys", {"key": key, "account": self.stripe_account})
        self.stripe.admin("seed", {"account": self.stripe_account, "charges": 20})
        # Half the seeded charges carry metadata.order_id; make sure the sample has it.
        self.change_fields(set={"metadata.order_id": "ord_1"})
        self.world = DriftWorld(self.aep.url)
        account = self.world.account(key)
        self.flow = self.world.dataflow(account, "charges", owner=self.mina)

    def change_fields(self, **changes) -> None:
        body = {"account": self.stripe_account, "resource": "charges", **changes}
        requests.post(
            f"{self.stripe.url}/__stripe__/fields", json=body, timeout=30
        ).raise_for_status()

    def client_factory(self, sandbox):
        return self.world.client

    def test_new_and_removed_fields_show_up_as_mapping_findings(self):
        assert (
            drift.check_in_background(self.flow.pk, self.client_factory, deliver_later) == "checked"
        )
        row = SchemaDrift.objects.get(dataflow=self.flow)
        assert row.findings == [] and row.rule_count == len(RULES)
        assert "data.outcome.type" in row.known_fields

        self.change_fields(set={"outcome.risk_score": 17}, remove=["metadata.order_id"])
        self.change_fields(remove=["outcome.type"])
        # "Check now" from the page: a Job the worker runs.
        self.login(self.mina)
        with (
            patch("monitoring.views.dataflows.check_schema_drift_now.delay_on_commit") as enqueue,
            self.captureOnCommitCallbacks(execute=True),
        ):
            response = self.client.post(f"/dataflows/{self.flow.pk}/schema/check/")
        assert response.status_code == 302
        (job_id,) = enqueue.call_args.args
        with patch("monitoring.tasks.client_for", self.client_factory):
            check_schema_drift_now(job_id)

        row.refresh_from_db()
        found = {(f["kind"], f["field"], f["destination"]) for f in row.findings}
        assert found == {
            ("removed", "data.metadata.order_id", f"{PREFIX}.status"),
            ("removed", "data.outcome.type", f"{PREFIX}.currency"),
            ("new", "data.outcome.risk_score", f"{PREFIX}.outcome.risk_score"),
        }
        assert row.has_breaking and drift.has_open_breaking_drift(self.flow)

        page = self.client.get(f"/dataflows/{self.flow.pk}/").content.decode()
        assert "Stripe now sends <code>data.outcome.risk_score</code>; not mapped." in page
        assert (
            f"Rule <code>data.metadata.order_id → {PREFIX}.status</code> reads "
            "<code>data.metadata.order_id</code>, a field Stripe no longer sends."
        ) in page
        section = page.split('id="schema-drift"', 1)[1].split("</section>", 1)[0]
        assert f'href="/ops/dataflows/{self.flow.pk}/mapping/"' in section

        # The owner dismisses the breaking findings; the daily check keeps them quiet.
        for finding in row.findings:
            if finding["kind"] == "removed":
                self.client.post(
                    f"/dataflows/{self.flow.pk}/schema/dismiss/", {"key": finding["key"]}
                )
        fingerprint = row.fingerprint
        with patch("monitoring.tasks.pooled_client_for", self.client_factory):
            assert check_schema_drift(self.flow.pk) == "checked"
        row.refresh_from_db()
        assert row.fingerprint == fingerprint and not row.has_breaking
        assert [f["field"] for f in row.open_findings] == ["data.outcome.risk_score"]
        page = self.client.get(f"/dataflows/{self.flow.pk}/").content.decode()
        assert "no longer sends" not in page and "2 dismissed changes stay hidden" in page

    def test_a_flow_whose_stripe_connection_is_gone_shows_why(self):
        Dataflow.objects.filter(pk=self.flow.pk).update(account=None, source_connection_id="")
        assert (
            drift.check_in_background(self.flow.pk, self.client_factory, deliver_later) == "failed"
        )
        row = SchemaDrift.objects.get(dataflow=self.flow)
        assert row.error == "This dataflow has no Stripe connection to explore."
        assert row.checked_at is None and row.next_check_at is not None
