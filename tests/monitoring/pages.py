"""The set-up the tests of the monitoring pages share.

`DriftPageTestCase`: the Stripe schema section of the dataflow page and its actions, with the
findings `FINDINGS` of one check (a new field, and a removed one that breaks a rule).
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from core.roles import MARKETING_OPS
from monitoring import drift
from monitoring.models import SchemaDrift
from tests.base import BaseTestCase, make_sandbox, make_user
from tests.monitoring.factories import make_account, make_dataflow

PREFIX = "_acme.charges_data"
REMOVED_KEY = f"removed:data.metadata.order_id>{PREFIX}.order_id"
NEW_KEY = "new:data.outcome.risk_score"


def finding(kind: str, field: str, source: str = "", destination: str = "") -> dict:
    key = f"{kind}:{field}>{destination}" if kind == "removed" else f"{kind}:{field}"
    first_seen = (timezone.now() - timedelta(hours=5)).isoformat()
    return {
        "key": key,
        "kind": kind,
        "field": field,
        "source": source,
        "destination": destination,
        "first_seen": first_seen,
    }


FINDINGS = [
    finding("new", "data.outcome.risk_score", destination=f"{PREFIX}.outcome.risk_score"),
    finding("removed", "data.metadata.order_id", "data.metadata.order_id", f"{PREFIX}.order_id"),
]


class DriftPageTestCase(BaseTestCase):
    """A dataflow owned by mina; mark is Marketing Ops too, but not the owner. `checked` stores
    a check with `findings`; `section` is the Stripe schema section of the dataflow page."""

    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox()
        self.flow = make_dataflow(
            self.sandbox, account=make_account(self.sandbox, name="Acme"), owner=self.mina
        )
        self.mark = make_user("mark", MARKETING_OPS)
        self.url = f"/dataflows/{self.flow.pk}/"

    def checked(self, findings: list[dict], **fields) -> SchemaDrift:
        return SchemaDrift.objects.create(
            dataflow=self.flow,
            checked_at=timezone.now() - timedelta(hours=2),
            findings=findings,
            fingerprint=drift.fingerprint(f["key"] for f in findings),
            has_breaking=any(f["kind"] == "removed" for f in findings),
            **fields,
        )

    def section(self, user=None) -> str:
        self.login(user or self.mina)
        response = self.client.get(self.url)
        assert response.status_code == 200
        return response.content.decode().split('id="schema-drift"', 1)[1].split("</section>")[0]
