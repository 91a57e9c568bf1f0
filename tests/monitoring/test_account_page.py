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
        assert [f.name for f in r.context["flows"]] == ["B charges", "A customers"]
        assert "Someone else" not in body
        assert "…0001" in body
        assert (r.context["counts"]["failing"], r.context["counts"]["healthy"]) == (1, 1)
        assert r.context["totals"]["records_24h"] == 10
