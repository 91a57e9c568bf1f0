"""The overview page: counts by health, urgent flows first, filters, search, paging, htmx."""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import timezone

from monitoring import queries
from monitoring.health import refresh_health
from monitoring.models import Dataflow
from tests.base import BaseTestCase, make_sandbox
from tests.monitoring.factories import make_account, make_dataflow, make_run

Health = Dataflow.Health


def names_in(html: str) -> list[str]:
    return re.findall(r'<a href="/dataflows/\d+/">([^<]+)</a>', html)


class OverviewPageTestCase(BaseTestCase):
    url = "/overview/"

    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox()
        self.account = make_account(self.sandbox, name="Acme")
        self.healthy = make_dataflow(self.sandbox, name="A healthy", account=self.account)
        make_run(self.healthy, output_records=40)
        self.failing = make_dataflow(self.sandbox, name="Z failing", resource_path="refunds")
        make_run(self.failing, status="failed", output_records=0, ago=timedelta(minutes=2))
        self.late = make_dataflow(self.sandbox, name="M late", owner=self.mina)
        make_run(self.late, ago=timedelta(hours=5))
        self.disabled = make_dataflow(self.sandbox, name="B disabled", enabled=False)
        self.deleted = make_dataflow(self.sandbox, name="C deleted", deleted_at=timezone.now())
        for flow in Dataflow.objects.all():
            refresh_health(flow)

    def get(self, query: str = "", **headers):
        return self.client.get(f"{self.url}{query}", headers=headers)

    def test_every_role_may_view_it(self):
        for user in (self.mina, self.sam, self.alex):
            self.login(user)
            assert self.get().status_code == 200, user
        self.client.logout()
        self.login(self.nora)
        assert self.get().status_code == 403

    def test_it_counts_by_health_and_lists_urgent_flows_first(self):
        self.login(self.mina)
        r = self.get()
        counts = r.context["counts"]
        assert (counts["healthy"], counts["failing"], counts["late"]) == (1, 1, 1)
        assert (counts["disabled"], counts["deleted"]) == (1, 1)
        assert names_in(r.content.decode()) == ["Z failing", "M late", "A healthy", "B disabled"]
        assert "<svg" in r.content.decode()

    def test_filters_narrow_the_list(self):
        self.login(self.mina)
        assert names_in(self.get("?status=failing").content.decode()) == ["Z failing"]
        assert names_in(self.get("?resource=refunds").content.decode()) == ["Z failing"]
        assert names_in(self.get(f"?account={self.account.pk}").content.decode()) == ["A healthy"]
        assert names_in(self.get("?owner=me").content.decode()) == ["M late"]
        assert names_in(self.get("?q=heal").content.decode()) == ["A healthy"]
        assert names_in(self.get(f"?q={self.late.flow_id}").content.decode()) == ["M late"]
        assert names_in(self.get("?status=deleted").content.decode()) == ["C deleted"]
        assert names_in(self.get("?status=bogus&page=x").content.decode())[0] == "Z failing"

    def test_it_pages(self):
        for n in range(queries.PAGE_SIZE):
            make_dataflow(self.sandbox, name=f"Bulk {n:03}")
        self.login(self.mina)
        first = names_in(self.get().content.decode())
        second = names_in(self.get("?page=2").content.decode())
        assert len(first) == queries.PAGE_SIZE
        assert len(second) == 4
        assert not set(first) & set(second)

    def test_htmx_refresh_returns_only_the_live_part(self):
        self.login(self.mina)
        r = self.get("?status=failing", HX_Request="true", HX_Target="live")
        body = r.content.decode()
        assert "<html" not in body and 'id="live"' in body
        assert names_in(body) == ["Z failing"]

    def test_the_chart_sums_the_buckets_of_the_range(self):
        self.login(self.mina)
        from monitoring import rollups

        make_run(self.healthy, ago=timedelta(days=3), output_records=10)
        for flow in Dataflow.objects.all():
            rollups.recompute(flow, flow.runs.values_list("created_at", flat=True))
        r = self.get()
        assert r.context["chart"].total_output == 40 + 10
        assert self.get("?range=7d").context["chart"].total_output == 60

    def test_late_and_failing_flows_are_flagged_at_the_top(self):
        self.login(self.mina)
        body = self.get().content.decode()
        assert "Needs attention" in body
        assert "1 failing" in body and "1 stale" in body
