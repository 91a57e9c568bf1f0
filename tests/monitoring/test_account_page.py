"""The account page: its dataflows and their health."""

from __future__ import annotations

from datetime import timedelta

from monitoring.health import refresh_health
from tests.base import BaseTestCase, make_sandbox
from tests.monitoring.factories import make_account, make_dataflow, make_run


class AccountPageTestCase(BaseTestCase):
    def test_it_lists_the_accounts_flows_with_failing_ones_first(self):
        sandbox = make_sandbox()
        account = make_account(sandbox, name="Acme", token_last4="0001")
        ok = make_dataflow(sandbox, account=account, name="A customers", resource_path="customers")
        make_run(ok)
        bad = make_dataflow(sandbox, account=account, name="B charges")
        make_run(bad, status="failed", output_records=0, ago=timedelta(minutes=1))
        make_dataflow(sandbox, name="Someone else's")
        for flow in (ok, bad):
            refresh_health(flow)
        self.login(self.mina)
        r = self.client.get(f"/accounts/{account.pk}/")
        body = r.content.decode()
        assert [f.name for f in r.context["page"].flows] == ["B charges", "A customers"]
        assert "Someone else" not in body
        assert "…0001" in body
        assert (r.context["counts"]["failing"], r.context["counts"]["healthy"]) == (1, 1)
        assert r.context["totals"]["records_24h"] == 10


class AccountPageSupportTestCase(BaseTestCase):
    """One account page: the key, what it can read, Support's actions and recent operations
    for Support; its flows a page at a time; the operations URL leads there."""

    def setUp(self) -> None:
        super().setUp()
        from operations import service
        from operations.models import Operation

        self.sandbox = make_sandbox()
        self.account = make_account(
            self.sandbox,
            name="Acme",
            token_last4="4242",
            probe_result={"charges": {"status": "readable"}},
        )
        self.operation = service.create(
            Operation.Kind.ACCOUNT_UPDATE, actor=self.sam, account=self.account, reason="rename"
        )
        Operation.objects.filter(pk=self.operation.pk).update(status=Operation.Status.SUCCEEDED)
        self.url = f"/accounts/{self.account.pk}/"

    def test_support_sees_the_key_the_actions_and_recent_support_actions(self):
        self.login(self.sam)
        response = self.client.get(self.url)
        self.assertContains(response, "…4242")
        self.assertContains(response, "What the key can read")
        self.assertContains(response, f'href="/ops/accounts/{self.account.pk}/rotate/"')
        self.assertContains(response, 'id="support-actions"')
        self.assertContains(response, f'href="/ops/operations/{self.operation.pk}/"')

    def test_marketing_ops_sees_neither_actions_nor_operations(self):
        self.login(self.mina)
        response = self.client.get(self.url)
        self.assertContains(response, "…4242")
        self.assertNotContains(response, f"/ops/accounts/{self.account.pk}/rotate/")
        self.assertNotContains(response, 'id="support-actions"')

    def test_the_flows_come_a_page_at_a_time(self):
        for i in range(53):
            make_dataflow(self.sandbox, account=self.account, name=f"Flow {i:02}")
        self.login(self.mina)
        first = self.client.get(self.url)
        assert len(first.context["page"].flows) == 50
        self.assertContains(first, "1\u201350 of 53")
        second = self.client.get(f"{self.url}?page=2")
        assert [f.name for f in second.context["page"].flows] == ["Flow 50", "Flow 51", "Flow 52"]

    def test_the_operations_url_redirects_to_this_page(self):
        self.login(self.sam)
        response = self.client.get(f"/ops/accounts/{self.account.pk}/")
        self.assertRedirects(response, self.url, status_code=301)
