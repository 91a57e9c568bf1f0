"""The set-up the tests of the monitoring pages share.

`DriftPageTestCase`: the Stripe schema section of the dataflow page and its actions, with the
findings `FINDINGS` of one check (a new field, and a removed one that breaks a rule).

`RejectedRecordsPageTestCase`: the rejected-records section of the run page.

`AlertPageTestCase`: alert rules and history, with a flow of mina's and one of someone else's.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from core.models import Job
from core.roles import MARKETING_OPS
from monitoring import drift, rejected_records
from monitoring.models import SchemaDrift
from tests.base import BaseTestCase, make_sandbox, make_user
from tests.monitoring.factories import ACTIVITIES, make_account, make_dataflow, make_run
from tests.monitoring.fakes import PUBLIC_ADDRESS, fake_dns

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


class RejectedRecordsPageTestCase(BaseTestCase):
    """A partialSuccess run of mina's flow with 5 rejected records; `job` is its read of them,
    `section` the rejected-records section as the run page polls it."""

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


SLACK_URL = "https://hooks.slack.com/services/T000/B000/XXXX"


class AlertPageTestCase(BaseTestCase):
    """Two flows, mina's own and another; the webhook hosts the tests use resolve to a public
    address (`self.dns`, which a test may extend)."""

    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox()
        self.own = make_dataflow(self.sandbox, name="Mina's charges", owner=self.mina)
        self.other = make_dataflow(self.sandbox, name="Other refunds")
        # Webhook URLs are resolved when saved; these names stand for public receivers.
        self.dns = {"hooks.example.org": [PUBLIC_ADDRESS], "x.example.org": [PUBLIC_ADDRESS]}
        dns = fake_dns(self.dns)
        dns.start()
        self.addCleanup(dns.stop)
