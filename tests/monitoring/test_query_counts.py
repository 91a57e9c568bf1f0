"""Pages issue the same number of SQL queries whatever the number of flows and runs."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from monitoring import rollups
from monitoring.health import refresh_health
from monitoring.models import Dataflow, Run, SchemaDrift
from tests.base import BaseTestCase, make_sandbox
from tests.monitoring.factories import make_account, make_dataflow, make_run


class QueryCountTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox()
        self.login(self.mina)

    def grow(self, flows: int, runs_per_flow: int) -> None:
        """Add flows over several accounts, with runs of every status and errors."""
        accounts = [make_account(self.sandbox) for _ in range(3)]
        for n in range(flows):
            flow = make_dataflow(self.sandbox, account=accounts[n % 3], owner=self.mina)
            for i in range(runs_per_flow):
                status = ("success", "failed", "partialSuccess")[i % 3]
                make_run(
                    flow,
                    ago=timedelta(minutes=15 * (i + 1)),
                    status=status,
                    errors=[{"code": "MAPPER-3700-400", "message": "x"}]
                    if status != "success"
                    else [],
                )
            refresh_health(flow)
            rollups.recompute(flow, flow.runs.values_list("created_at", flat=True))
            # Every other flow has breaking schema drift: the banner and the rows' badges.
            SchemaDrift.objects.create(dataflow=flow, has_breaking=n % 2 == 0)

    def page_queries(self) -> dict[str, int]:
        flow = Dataflow.objects.order_by("pk").first()
        run = Run.objects.filter(dataflow=flow).order_by("pk").first()
        urls = {
            "overview": "/overview/",
            "overview-filtered": f"/overview/?account={flow.account_id}&q=Stripe&range=30d&page=2",
            "overview-htmx": "/overview/?status=failing",
            "overview-drift": "/overview/?drift=breaking",
            "dataflow": f"/dataflows/{flow.pk}/",
            "run": f"/runs/{run.pk}/",
            "account": f"/accounts/{flow.account_id}/",
            "alerts": "/alerts/",
        }
        counts = {}
        for name, url in urls.items():
            headers = {"HX-Request": "true", "HX-Target": "live"} if name.endswith("htmx") else {}
            with CaptureQueriesContext(connection) as queries:
                assert self.client.get(url, headers=headers).status_code == 200, url
            counts[name] = len(queries)
        return counts

    def test_query_counts_do_not_grow_with_flows_or_runs(self):
        self.grow(flows=4, runs_per_flow=3)
        small = self.page_queries()
        self.grow(flows=70, runs_per_flow=12)
        large = self.page_queries()
        assert small == large, (small, large)
        # And the numbers stay small (the dataflow page also reads support actions and its
        # timeline of runs, changes, alerts and operations).
        assert max(large.values()) <= 20, large

    def test_dataflow_page_query_count_is_pinned_across_sizes(self):
        self.grow(flows=3, runs_per_flow=2)
        flow = Dataflow.objects.order_by("pk").first()
        url = f"/dataflows/{flow.pk}/"
        with CaptureQueriesContext(connection) as small:
            self.client.get(url)
        self.grow(flows=40, runs_per_flow=8)
        for _ in range(30):
            make_run(flow)
        with self.assertNumQueries(len(small)):
            self.client.get(url)
