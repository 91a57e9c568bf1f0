"""The dataflow page: configuration, health, run chart and table, subscriptions, SLA."""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import timezone

from monitoring.health import refresh_health
from monitoring.models import AuditEvent, Dataflow, Run, Subscription
from tests.base import BaseTestCase, make_sandbox
from tests.monitoring.factories import make_account, make_dataflow, make_run


class DataflowPageTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox()
        self.account = make_account(self.sandbox, name="Acme")
        self.flow = make_dataflow(
            self.sandbox,
            account=self.account,
            name="Acme charges",
            dataset_id="ds-123",
            schema_id="https://ns.adobe.com/acme/schemas/charges",
            mapping_set_id="map-9",
            mapping_version="2",
            owner=self.mina,
        )
        self.runs = [make_run(self.flow, ago=timedelta(minutes=15 * (i + 1))) for i in range(30)]
        self.failed = make_run(
            self.flow,
            ago=timedelta(minutes=1),
            status="failed",
            output_records=0,
            errors=[{"code": "CONNECTOR-1001-401", "message": "Stripe rejected the access token"}],
        )
        refresh_health(self.flow)
        self.url = f"/dataflows/{self.flow.pk}/"

    def test_it_shows_configuration_health_chart_and_runs(self):
        self.login(self.sam)
        r = self.client.get(self.url)
        body = r.content.decode()
        for text in ("Acme charges", "ds-123", "map-9", "(v2)", "Failing", "CONNECTOR-1001-401"):
            assert text in body, text
        assert body.count("<svg") == 2
        assert len(r.context["runs"]) == 25 and r.context["runs_has_more"]
        assert r.context["runs"][0] == self.failed

    def test_the_duration_chart_labels_sub_second_runs_in_milliseconds(self):
        Run.objects.all().delete()
        for i, millis in enumerate((180, 320, 260)):
            start = timezone.now() - timedelta(minutes=15 * (i + 1))
            make_run(
                self.flow, started_at=start, completed_at=start + timedelta(milliseconds=millis)
            )
        self.login(self.sam)
        response = self.client.get(self.url)
        duration_chart = str(response.context["run_chart"]["duration"])
        ticks = re.findall(r'<text class="axis" x="46" [^>]*>([^<]*)</text>', duration_chart)
        assert ticks == ["0 s", "100 ms", "200 ms", "300 ms", "400 ms", "500 ms"]
        assert "320 ms</title>" in duration_chart  # the tooltip of the longest run
        self.assertContains(response, '<td class="num">320 ms</td>')  # the runs table agrees

    def test_the_mapping_link_shows_only_where_the_mapping_page_opens(self):
        mapping_page = f"/ops/dataflows/{self.flow.pk}/mapping/"
        self.login(self.mina)  # the owner
        self.assertContains(self.client.get(self.url), mapping_page)
        assert self.client.get(mapping_page).status_code == 200
        self.flow.deleted_at = timezone.now()
        self.flow.save(update_fields=["deleted_at"])
        self.assertNotContains(self.client.get(self.url), mapping_page)
        assert self.client.get(mapping_page).status_code == 404

    def test_older_runs_page(self):
        self.login(self.sam)
        r = self.client.get(
            f"{self.url}?page=2", headers={"HX-Request": "true", "HX-Target": "live"}
        )
        body = r.content.decode()
        assert "<html" not in body
        assert body.count('<a href="/runs/') == 6
        assert "Older" not in body and "Newer" in body

    def test_it_refuses_users_without_a_role_and_404s_unknown_flows(self):
        self.login(self.nora)
        assert self.client.get(self.url).status_code == 403
        self.client.logout()
        self.login(self.mina)
        assert self.client.get("/dataflows/999999/").status_code == 404

    def test_a_user_subscribes_and_unsubscribes(self):
        self.login(self.sam)
        url = f"{self.url}subscribe/"
        r = self.client.post(url, headers={"HX-Request": "true"})
        assert "Subscribed to alerts" in r.content.decode()
        assert Subscription.objects.filter(user=self.sam, dataflow=self.flow).exists()
        self.client.post(url)
        assert not Subscription.objects.filter(user=self.sam, dataflow=self.flow).exists()

    def test_the_owner_edits_the_freshness_sla_and_it_is_audited(self):
        self.login(self.mina)
        r = self.client.post(f"{self.url}sla/", {"freshness_sla_minutes": "45"})
        assert r.status_code == 302
        self.flow.refresh_from_db()
        assert self.flow.freshness_sla_minutes == 45
        event = AuditEvent.objects.get(action="dataflow.freshness_sla")
        assert event.after == {"freshness_sla_minutes": 45} and event.actor == self.mina
        self.client.post(f"{self.url}sla/", {"freshness_sla_minutes": ""})
        self.flow.refresh_from_db()
        assert self.flow.freshness_sla_minutes is None
        assert self.flow.sla_minutes == 30

    def test_a_short_sla_makes_the_flow_stale_at_once(self):
        flow = make_dataflow(self.sandbox, owner=self.mina, frequency="hour", interval=1)
        make_run(flow, ago=timedelta(minutes=20))
        refresh_health(flow)
        assert flow.health == Dataflow.Health.HEALTHY
        self.login(self.mina)
        self.client.post(f"/dataflows/{flow.pk}/sla/", {"freshness_sla_minutes": "10"})
        flow.refresh_from_db()
        assert (flow.health, flow.late_reason) == (Dataflow.Health.LATE, "stale")

    def test_only_admins_and_the_owner_edit_the_sla(self):
        self.login(self.sam)
        assert (
            self.client.post(f"{self.url}sla/", {"freshness_sla_minutes": "45"}).status_code == 403
        )
        self.client.logout()
        self.login(self.alex)
        assert (
            self.client.post(f"{self.url}sla/", {"freshness_sla_minutes": "60"}).status_code == 302
        )
        self.flow.refresh_from_db()
        assert self.flow.freshness_sla_minutes == 60

    def test_an_invalid_sla_is_refused(self):
        self.login(self.mina)
        self.client.post(f"{self.url}sla/", {"freshness_sla_minutes": "1"})
        self.flow.refresh_from_db()
        assert self.flow.freshness_sla_minutes is None


class DataflowPageSupportTestCase(BaseTestCase):
    """One dataflow page: Support's actions, its recent operations and the timeline appear on
    monitoring's page for the roles that may use them; the operations URL leads there."""

    def setUp(self) -> None:
        super().setUp()
        from operations import service
        from operations.models import Operation

        sandbox = make_sandbox()
        self.flow = make_dataflow(
            sandbox, account=make_account(sandbox), description="EU charges", owner=self.mina
        )
        self.run = make_run(self.flow, status="failed", output_records=0)
        self.operation = service.create(
            Operation.Kind.DATAFLOW_DISABLE, actor=self.sam, dataflow=self.flow, reason="noisy"
        )
        Operation.objects.filter(pk=self.operation.pk).update(status=Operation.Status.SUCCEEDED)
        self.url = f"/dataflows/{self.flow.pk}/"

    def test_support_sees_the_actions_the_retry_and_recent_support_actions(self):
        self.login(self.sam)
        response = self.client.get(self.url)
        self.assertContains(response, f'href="/ops/dataflows/{self.flow.pk}/delete/"')
        self.assertContains(response, f'action="/ops/runs/{self.run.pk}/retry/"')
        self.assertContains(response, 'id="support-actions"')
        self.assertContains(response, f'href="/ops/operations/{self.operation.pk}/"')
        self.assertContains(response, 'id="timeline"')
        self.assertContains(response, "EU charges")

    def test_marketing_ops_sees_the_timeline_but_not_support_actions(self):
        self.login(self.mina)
        response = self.client.get(self.url)
        self.assertContains(response, 'id="timeline"')
        self.assertContains(response, "Edit schedule")  # her own flow's schedule
        self.assertNotContains(response, 'id="support-actions"')
        self.assertNotContains(response, f"/ops/dataflows/{self.flow.pk}/delete/")
        self.assertNotContains(response, f"/ops/runs/{self.run.pk}/retry/")

    def test_the_operations_url_redirects_to_this_page(self):
        self.login(self.sam)
        response = self.client.get(f"/ops/dataflows/{self.flow.pk}/")
        self.assertRedirects(response, self.url, status_code=301)
