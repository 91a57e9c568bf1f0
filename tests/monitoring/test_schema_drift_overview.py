"""Breaking schema drift outside the dataflow page: the banner's count, the overview's filter
and the "schema" badge on flow rows."""

from __future__ import annotations

import re
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from monitoring import drift, queries
from monitoring.health import refresh_health
from monitoring.models import Dataflow, SchemaDrift
from monitoring.tasks import deliver_later
from tests.base import BaseTestCase, make_sandbox
from tests.monitoring.factories import make_account, make_dataflow, make_run

REMOVED = {
    "key": "removed:data.metadata.order_id>_acme.charges_data.order_id",
    "kind": "removed",
    "field": "data.metadata.order_id",
    "source": "data.metadata.order_id",
    "destination": "_acme.charges_data.order_id",
    "first_seen": "2026-01-01T00:00:00+00:00",
}
NEW = {
    "key": "new:data.outcome.risk_score",
    "kind": "new",
    "field": "data.outcome.risk_score",
    "source": "",
    "destination": "",
    "first_seen": "2026-01-01T00:00:00+00:00",
}
BADGE = re.compile(r'<a class="badge badge-failing" href="/dataflows/(\d+)/#schema-drift"')


def checked(flow: Dataflow, *findings: dict) -> SchemaDrift:
    return SchemaDrift.objects.create(
        dataflow=flow,
        checked_at=timezone.now() - timedelta(hours=1),
        findings=list(findings),
        fingerprint=drift.fingerprint(f["key"] for f in findings),
        has_breaking=any(f["kind"] == "removed" for f in findings),
    )


def names_in(html: str) -> list[str]:
    return re.findall(r'<a href="/dataflows/\d+/">([^<]+)</a>', html)


class SchemaDriftOverviewTestCase(BaseTestCase):
    url = "/overview/"

    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox()
        account = make_account(self.sandbox, name="Acme")
        self.breaking = make_dataflow(self.sandbox, name="A breaking", account=account)
        make_run(self.breaking, output_records=10)
        self.failing = make_dataflow(self.sandbox, name="B failing and breaking")
        make_run(self.failing, status="failed", output_records=0)
        self.dismissed = make_dataflow(self.sandbox, name="C dismissed")
        self.only_new = make_dataflow(self.sandbox, name="D only a new field")
        self.disabled = make_dataflow(self.sandbox, name="E disabled", enabled=False)
        self.deleted = make_dataflow(self.sandbox, name="F deleted", deleted_at=timezone.now())
        self.quiet = make_dataflow(self.sandbox, name="G no drift")
        for flow in (self.dismissed, self.only_new, self.quiet):
            make_run(flow, output_records=10)
        for flow in (self.breaking, self.failing, self.dismissed, self.disabled, self.deleted):
            checked(flow, REMOVED, NEW)
        checked(self.only_new, NEW)
        drift.dismiss(
            SchemaDrift.objects.get(dataflow=self.dismissed),
            [REMOVED["key"]],
            self.sam,
            deliver_later,
        )
        for flow in Dataflow.objects.all():
            refresh_health(flow)
        self.login(self.mina)

    def get(self, query: str = "", **headers):
        response = self.client.get(f"{self.url}{query}", headers=headers)
        assert response.status_code == 200
        return response

    def test_the_banner_counts_active_flows_with_breaking_drift(self):
        summary = queries.attention_summary()
        assert summary == {"failing": 1, "late": 0, "stale": 0, "drift": 2}

    def test_the_banner_is_one_query(self):
        with CaptureQueriesContext(connection) as captured:
            queries.attention_summary()
        assert len(captured) == 1

    def test_the_banner_shows_drift_alone_and_links_to_the_filter(self):
        Dataflow.objects.filter(pk=self.failing.pk).update(enabled=False)
        refresh_health(Dataflow.objects.get(pk=self.failing.pk))
        for page in (self.url, f"/dataflows/{self.quiet.pk}/", "/alerts/"):
            body = self.client.get(page).content.decode()
            banner = body.split('<div class="attention"', 1)[1].split("</div>", 1)[0]
            assert "1 mapping broken by schema drift" in banner, page
            assert 'href="/overview/?drift=breaking"' in banner
            assert "?status=" not in banner

    def test_no_banner_without_anything_to_attend(self):
        SchemaDrift.objects.update(has_breaking=False)
        Dataflow.objects.filter(pk=self.failing.pk).update(health=Dataflow.Health.HEALTHY)
        assert queries.attention_summary() == {"failing": 0, "late": 0, "stale": 0, "drift": 0}
        assert 'class="attention"' not in self.get().content.decode()

    def test_the_filter_lists_active_flows_with_breaking_drift(self):
        r = self.get("?drift=breaking")
        assert names_in(r.content.decode()) == ["B failing and breaking", "A breaking"]
        counts = r.context["counts"]
        assert (counts["failing"], counts["healthy"], counts["disabled"]) == (1, 1, 0)
        assert r.context["page"].total == 2
        assert 'option value="breaking" selected' in r.content.decode()

    def test_the_filter_combines_with_the_others_and_is_kept_by_links(self):
        assert names_in(self.get("?drift=breaking&status=failing").content.decode()) == [
            "B failing and breaking"
        ]
        assert names_in(self.get("?drift=breaking&q=A+br").content.decode()) == ["A breaking"]
        body = self.get("?drift=breaking").content.decode()
        assert 'href="?status=failing&amp;drift=breaking"' in body
        assert 'href="?drift=breaking&amp;range=7d"' in body

    def test_an_unknown_drift_value_is_ignored(self):
        assert queries.Filters.from_query({"drift": "bogus"}).drift == ""
        assert len(names_in(self.get("?drift=bogus").content.decode())) == 6

    def test_an_empty_filter_says_nothing_matches(self):
        SchemaDrift.objects.update(has_breaking=False)
        assert "No dataflow matches these filters." in self.get("?drift=breaking").content.decode()

    def test_the_htmx_refresh_keeps_the_filter(self):
        r = self.get("?drift=breaking", **{"HX-Request": "true", "HX-Target": "live"})
        body = r.content.decode()
        assert "<html" not in body
        assert 'hx-get="/overview/?drift=breaking"' in body
        assert names_in(body) == ["B failing and breaking", "A breaking"]

    def test_rows_flag_breaking_drift_with_a_badge(self):
        body = self.get("?status=").content.decode()
        flagged = {int(pk) for pk in BADGE.findall(body)}
        assert flagged == {self.breaking.pk, self.failing.pk}
        assert 'title="A mapping rule reads a Stripe field that Stripe no longer sends"' in body
        assert "Schema: a mapping rule reads" in body

    def test_deleted_and_disabled_rows_carry_no_badge(self):
        for status in ("deleted", "disabled"):
            assert not BADGE.findall(self.get(f"?status={status}").content.decode()), status

    def test_the_account_page_flags_rows_too(self):
        body = self.client.get(f"/accounts/{self.breaking.account_id}/").content.decode()
        assert {int(pk) for pk in BADGE.findall(body)} == {self.breaking.pk}

    def test_it_speaks_korean(self):
        self.client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ko"
        body = self.get().content.decode()
        assert "스키마 변경으로 매핑 오류 2개" in body
        assert "매핑 규칙이 Stripe가 더 이상 보내지 않는 필드를 읽습니다" in body
        assert ">스키마</a>" in body
        assert "스키마 변경" in body and "매핑 오류 있음" in body
