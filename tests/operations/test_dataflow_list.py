"""Support's dataflow list: the overview's list (filters, paging, badges) with Support's
columns, its query count fixed whatever the number of flows, runs and operations."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from monitoring.models import Dataflow
from operations import service
from operations.models import Operation
from tests.base import BaseTestCase, make_sandbox
from tests.operations.factories import make_account, make_dataflow, make_run


class DataflowListTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox()
        self.account = make_account(self.sandbox, name="Acme", token_last4="4242")

    def grow(self, flows: int, runs_per_flow: int) -> list[Dataflow]:
        """Flows with runs, some failing, every third with a support operation."""
        made = []
        for n in range(flows):
            health = Dataflow.Health.FAILING if n % 4 == 0 else Dataflow.Health.HEALTHY
            flow = make_dataflow(self.account, name=f"Flow {len(made):03}", health=health)
            for _ in range(runs_per_flow):
                make_run(flow, "failed" if n % 4 == 0 else "success")
            if n % 3 == 0:
                service.create(Operation.Kind.DATAFLOW_DISABLE, actor=self.sam, dataflow=flow)
            made.append(flow)
        return made

    def queries(self, url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert self.client.get(url).status_code == 200
        return len(captured)

    def test_support_sees_account_key_age_and_last_support_action(self):
        flow = self.grow(1, 1)[0]
        operation = Operation.objects.get(dataflow=flow)
        self.login(self.sam)
        response = self.client.get("/ops/dataflows/")
        self.assertContains(response, "Key age")
        self.assertContains(response, "…4242")
        self.assertContains(response, f'href="/ops/operations/{operation.pk}/"')
        self.assertContains(response, "Disable dataflow")
        self.assertContains(response, f'href="/dataflows/{flow.pk}/"')
        self.assertContains(response, f"Select {flow.name}")  # Support may retry in bulk

    def test_marketing_ops_sees_the_list_without_retry_boxes_or_links_to_others_operations(self):
        flow = self.grow(1, 1)[0]
        operation = Operation.objects.get(dataflow=flow)
        self.login(self.mina)
        response = self.client.get("/ops/dataflows/")
        self.assertContains(response, flow.name)
        self.assertContains(response, "Disable dataflow")
        self.assertNotContains(response, f"/ops/operations/{operation.pk}/")
        self.assertNotContains(response, f"Select {flow.name}")

    def test_it_is_paged_failing_flows_first_and_filtered_like_the_overview(self):
        self.grow(55, 0)
        self.login(self.sam)
        first = self.client.get("/ops/dataflows/")
        page = first.context["page"]
        assert (len(page.flows), page.total) == (50, 55)
        assert page.flows[0].health == Dataflow.Health.FAILING
        self.assertContains(first, "1\u201350 of 55")
        second = self.client.get("/ops/dataflows/?page=2")
        assert len(second.context["page"].flows) == 5
        failing = self.client.get("/ops/dataflows/?status=failing&q=Flow+00")
        names = [f.name for f in failing.context["page"].flows]
        assert names == ["Flow 000", "Flow 004", "Flow 008"]

    def test_htmx_refreshes_only_the_list(self):
        self.grow(2, 0)
        self.login(self.sam)
        response = self.client.get(
            "/ops/dataflows/?status=failing", headers={"HX-Request": "true", "HX-Target": "live"}
        )
        self.assertContains(response, 'id="live"')
        self.assertNotContains(response, "<html")

    def test_query_count_does_not_grow_with_flows_runs_or_operations(self):
        self.login(self.sam)
        self.grow(3, 1)
        small = {url: self.queries(url) for url in ("/ops/dataflows/", "/ops/dataflows/?page=2")}
        self.grow(70, 4)
        large = {url: self.queries(url) for url in ("/ops/dataflows/", "/ops/dataflows/?page=2")}
        assert small == large, (small, large)
