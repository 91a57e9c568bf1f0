"""The "Stripe schema" section of the dataflow page: states, roles, Check now and dismissal."""

from __future__ import annotations

from datetime import timedelta
from unittest.mock import patch

from django.conf import settings
from django.utils import timezone

from core.models import Job
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


class SchemaDriftPageTestCase(DriftPageTestCase):
    def test_it_says_when_nothing_was_checked_yet(self):
        assert "Not checked yet. The first check runs within a day." in self.section()

    def test_it_is_quiet_when_the_mapping_covers_every_field(self):
        self.checked([])
        section = self.section()
        assert "Checked 2.0 h ago: the mapping covers every field it reads." in section
        assert "Breaking" not in section and "Dismiss" not in section

    def test_marketing_ops_sees_findings_but_only_editors_get_the_mapping_link(self):
        self.checked(FINDINGS)
        mapping_link = f'href="/ops/dataflows/{self.flow.pk}/mapping/"'
        for user in (self.mark, self.mina, self.sam, self.alex):
            section = self.section(user)
            assert "Stripe now sends <code>data.outcome.risk_score</code>; not mapped." in section
            assert f"Suggested target: <code>{PREFIX}.outcome.risk_score</code>" in section
            assert (
                f"Rule <code>data.metadata.order_id → {PREFIX}.order_id</code> reads "
                "<code>data.metadata.order_id</code>, a field Stripe no longer sends."
            ) in section
            editor = user != self.mark
            assert (mapping_link in section) is editor, user
            assert ('name="key"' in section) is editor, user
        assert "The flow's owner, Support or an Admin can change the mapping." in (
            self.section(self.mark)
        )

    def test_breaking_findings_come_first(self):
        self.checked(FINDINGS)
        section = self.section()
        assert section.index("Breaking") < section.index("New field")

    def test_people_without_a_role_see_nothing(self):
        self.checked(FINDINGS)
        self.login(self.nora)
        assert self.client.get(self.url).status_code == 403
        assert self.client.get(f"{self.url}schema/").status_code == 403

    def test_it_is_in_korean(self):
        self.checked(FINDINGS)
        self.client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ko"
        section = self.section()
        assert "Stripe 스키마" in section and "지금 확인" in section
        assert "Stripe가 이제 <code>data.outcome.risk_score</code> 필드를 보냅니다" in section


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


class DismissTestCase(DriftPageTestCase):
    def test_an_editor_dismisses_one_finding(self):
        self.checked(FINDINGS)
        self.login(self.mina)
        response = self.client.post(f"{self.url}schema/dismiss/", {"key": REMOVED_KEY})
        assert response.status_code == 302
        row = SchemaDrift.objects.get(dataflow=self.flow)
        assert row.dismissed == [REMOVED_KEY] and row.dismissed_by == self.mina
        assert not row.has_breaking and not drift.has_open_breaking_drift(self.flow)
        section = self.section()
        assert "no longer sends" not in section and "risk_score" in section
        assert "1 dismissed change stays hidden" in section

    def test_all_findings_can_be_dismissed_at_once(self):
        self.checked(FINDINGS)
        self.login(self.sam)
        self.client.post(f"{self.url}schema/dismiss/", {"key": "all"})
        row = SchemaDrift.objects.get(dataflow=self.flow)
        assert set(row.dismissed) == {REMOVED_KEY, NEW_KEY}
        assert "the mapping covers every field it reads" in self.section(self.sam)

    def test_a_finding_that_is_gone_or_unknown_is_an_error_not_a_change(self):
        self.login(self.mina)
        for data in ({}, {"key": "nope"}, {"key": REMOVED_KEY}):
            response = self.client.post(f"{self.url}schema/dismiss/", data, follow=True)
            assert response.status_code == 200
            assert "That change is not reported any more" in response.content.decode()
        self.checked(FINDINGS)
        self.client.post(f"{self.url}schema/dismiss/", {"key": "new:data.other"})
        assert SchemaDrift.objects.get(dataflow=self.flow).dismissed == []

    def test_only_people_who_may_edit_the_mapping_dismiss(self):
        self.checked(FINDINGS)
        self.login(self.mark)
        response = self.client.post(f"{self.url}schema/dismiss/", {"key": REMOVED_KEY})
        assert response.status_code == 403
        assert SchemaDrift.objects.get(dataflow=self.flow).dismissed == []
