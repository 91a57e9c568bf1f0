"""Exports of the monitoring lists: the overview with its filters, a flow's runs, the alerts."""

from __future__ import annotations

import csv
import io
import json

from django.utils import timezone

from monitoring.models import Alert, AlertRule, Dataflow
from tests.base import BaseTestCase, make_sandbox
from tests.operations.factories import make_account, make_dataflow, make_run


class ExportTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox()
        self.account = make_account(self.sandbox)
        self.failing = make_dataflow(
            self.account, "charges", name="=cmd|' /C calc'!A0", health=Dataflow.Health.FAILING
        )
        self.healthy = make_dataflow(self.account, "refunds", health=Dataflow.Health.HEALTHY)
        make_dataflow(self.account, "customers", health=Dataflow.Health.DELETED)

    def rows(self, response) -> list[list[str]]:
        assert response.status_code == 200
        assert response.streaming
        text = b"".join(response.streaming_content).decode()
        return list(csv.reader(io.StringIO(text)))

    def test_the_overview_export_has_every_listed_flow_in_order_and_is_safe(self):
        self.login(self.mina)
        rows = self.rows(self.client.get("/overview/export.csv"))
        header, body = rows[0], rows[1:]
        names = [row[header.index("name")] for row in body]
        assert names == ["'=cmd|' /C calc'!A0", "Stripe refunds"]

    def test_the_overview_export_keeps_the_filters(self):
        self.login(self.mina)
        response = self.client.get("/overview/export.json?status=healthy&page=3")
        assert response["Content-Type"].startswith("application/json")
        flows = json.loads(b"".join(response.streaming_content))
        assert [f["name"] for f in flows] == ["Stripe refunds"]
        assert flows[0]["health"] == "healthy"

    def test_a_dataflow_s_runs(self):
        make_run(self.failing, "success", hours_ago=2)
        make_run(self.failing, "failed", hours_ago=1, failed_records=3)
        self.login(self.mina)
        rows = self.rows(self.client.get(f"/dataflows/{self.failing.pk}/runs.csv"))
        header = rows[0]
        assert [r[header.index("status")] for r in rows[1:]] == ["failed", "success"]
        assert rows[1][header.index("failed_records")] == "3"
        assert self.client.get("/dataflows/999999/runs.csv").status_code == 404

    def test_the_alert_history_with_its_filter(self):
        rule = AlertRule.objects.create(kind=AlertRule.Kind.RUN_FAILED)
        Alert.objects.create(rule=rule, dataflow=self.failing, kind=rule.kind, summary="@boom")
        Alert.objects.create(
            rule=rule,
            dataflow=self.healthy,
            kind=rule.kind,
            summary="over",
            resolved_at=timezone.now(),
        )
        self.login(self.mina)
        rows = self.rows(self.client.get("/alerts/export.csv?state=open"))
        assert [r[rows[0].index("summary")] for r in rows[1:]] == ["'@boom"]

    def test_exports_need_a_role_that_may_look_and_a_known_format(self):
        self.login(self.nora)
        assert self.client.get("/overview/export.csv").status_code == 403
        assert self.client.get("/alerts/export.json").status_code == 403
        self.client.logout()
        self.login(self.mina)
        assert self.client.get("/overview/export.xml").status_code == 404


class ExportLinksTestCase(BaseTestCase):
    def test_the_pages_link_their_exports_with_their_filters(self):
        sandbox = make_sandbox()
        flow = make_dataflow(make_account(sandbox), health=Dataflow.Health.FAILING)
        make_run(flow, "failed")
        self.login(self.mina)
        overview = self.client.get("/overview/?status=failing&page=2").content.decode()
        assert "/overview/export.csv?status=failing" in overview
        assert "/overview/export.json?status=failing" in overview
        detail = self.client.get(f"/dataflows/{flow.pk}/").content.decode()
        assert f"/dataflows/{flow.pk}/runs.csv" in detail
        alerts = self.client.get(f"/alerts/?state=open&dataflow={flow.pk}").content.decode()
        assert f"/alerts/export.csv?state=open&amp;dataflow={flow.pk}" in alerts
