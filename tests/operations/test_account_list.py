"""Support's account list: paged, with flows and failing flows counted from the flows' health,
its query count fixed whatever the number of accounts, flows and runs."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from monitoring.models import Dataflow
from tests.base import BaseTestCase, make_sandbox
from tests.operations.factories import make_account, make_dataflow, make_run


class AccountListTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox()
        self.login(self.sam)

    def test_it_counts_flows_and_failing_flows_from_their_health(self):
        account = make_account(self.sandbox, name="Acme")
        make_dataflow(account, "charges", health=Dataflow.Health.FAILING)
        healthy = make_dataflow(account, "refunds", health=Dataflow.Health.HEALTHY)
        make_run(healthy, "failed")  # an old failed run does not make the flow failing
        make_dataflow(account, "prices", deleted_at=healthy.created)  # deleted: not counted
        response = self.client.get("/ops/accounts/")
        row = response.context["page"].rows[0]
        assert (row.account.name, row.flows, row.failing) == ("Acme", 2, 1)
        self.assertContains(response, f"/ops/dataflows/?account={account.pk}&amp;status=failing")
        self.assertContains(response, f'href="/accounts/{account.pk}/"')

    def test_it_is_paged_and_its_query_count_does_not_grow(self):
        def grow(accounts: int) -> None:
            for _ in range(accounts):
                account = make_account(self.sandbox)
                for resource in ("charges", "refunds"):
                    make_run(make_dataflow(account, resource), "failed")

        def queries(url: str) -> int:
            with CaptureQueriesContext(connection) as captured:
                assert self.client.get(url).status_code == 200
            return len(captured)

        grow(3)
        small = [queries("/ops/accounts/"), queries("/ops/accounts/?page=2")]
        grow(60)
        large = [queries("/ops/accounts/"), queries("/ops/accounts/?page=2")]
        assert small == large, (small, large)
        page = self.client.get("/ops/accounts/?page=2").context["page"]
        assert (page.number, len(page.rows), page.total) == (2, 13, 63)
        self.assertContains(self.client.get("/ops/accounts/"), "1\u201350 of 63")
