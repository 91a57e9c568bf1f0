"""The API's reads: the overview's filters and order, cursors, runs, accounts, alerts."""

from __future__ import annotations

from django.utils import timezone

from core.models import Job
from monitoring import rejected_records
from monitoring.models import Alert, AlertRule, Dataflow
from tests.api.cases import ApiTestCase
from tests.base import make_sandbox
from tests.operations.factories import make_account, make_dataflow, make_run


class ReadTestCase(ApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox()
        self.account = make_account(self.sandbox)
        self.failing = make_dataflow(self.account, "charges", health=Dataflow.Health.FAILING)
        self.healthy = make_dataflow(self.account, "refunds", health=Dataflow.Health.HEALTHY)
        self.mine = make_dataflow(
            self.account, "customers", health=Dataflow.Health.LATE, owner=self.mina
        )
        self.gone = make_dataflow(self.account, "invoices", health=Dataflow.Health.DELETED)

    def names(self, response) -> list[str]:
        return [row["name"] for row in response.json()["results"]]

    def test_the_list_is_the_overview_s_most_urgent_first_without_deleted_flows(self):
        response = self.api(self.mina, "get", "dataflows")
        assert response.status_code == 200
        body = response.json()
        assert self.names(response) == ["Stripe charges", "Stripe customers", "Stripe refunds"]
        assert body["counts"]["failing"] == 1 and body["counts"]["deleted"] == 1
        row = body["results"][0]
        assert row["health"] == "failing"
        assert set(row["freshness"]) >= {"data_through", "age_seconds", "sla_minutes"}
        assert set(row["last_run"]) >= {"status", "at", "consecutive_failures"}

    def test_the_overview_s_filters_apply(self):
        failing = self.api(self.mina, "get", "dataflows?status=failing")
        assert self.names(failing) == ["Stripe charges"]
        mine = self.api(self.mina, "get", "dataflows?owner=me")
        assert self.names(mine) == ["Stripe customers"]
        searched = self.api(self.mina, "get", "dataflows?q=refund")
        assert self.names(searched) == ["Stripe refunds"]
        nonsense = self.api(self.mina, "get", "dataflows?status=bogus&sandbox=x")
        assert len(self.names(nonsense)) == 3  # unknown values are ignored, as on the page

    def test_a_cursor_walks_the_list_without_repeats(self):
        for i in range(5):
            make_dataflow(
                self.account, "charges", name=f"Extra {i}", health=Dataflow.Health.HEALTHY
            )
        seen, cursor = [], ""
        while True:
            query = f"dataflows?limit=3{'&cursor=' + cursor if cursor else ''}"
            body = self.api(self.sam, "get", query).json()
            seen += [row["id"] for row in body["results"]]
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert len(seen) == len(set(seen)) == 8

    def test_a_broken_cursor_is_422(self):
        response = self.api(self.sam, "get", "dataflows?cursor=bm9wZQ")
        assert response.status_code == 422
        assert response.json()["errors"]["cursor"]

    def test_a_dataflow_s_runs_newest_first_and_one_run(self):
        old = make_run(self.failing, "success", hours_ago=2)
        new = make_run(self.failing, "failed", hours_ago=0.1)
        runs = self.api(self.mina, "get", f"dataflows/{self.failing.pk}/runs").json()["results"]
        assert [r["id"] for r in runs] == [new.pk, old.pk]
        run = self.api(self.mina, "get", f"runs/{new.pk}").json()
        assert run["status"] == "failed"
        assert run["rejected_records"]["status"] == "none"

    def test_a_run_shows_the_rejected_records_once_read(self):
        run = make_run(self.failing, "failed")
        job = Job.objects.create(
            kind=rejected_records.KIND, target=rejected_records.target_for(run), created_by=self.sam
        )
        job.succeed({"available": True, "rows": [{"id": "ch_1", "field": "amount"}]})
        body = self.api(self.mina, "get", f"runs/{run.pk}").json()
        assert body["rejected_records"]["status"] == "succeeded"
        assert body["rejected_records"]["result"]["rows"][0]["id"] == "ch_1"

    def test_a_dataflow_answers_its_etag(self):
        Dataflow.objects.filter(pk=self.failing.pk).update(etag='"v7"')
        response = self.api(self.mina, "get", f"dataflows/{self.failing.pk}")
        assert response.status_code == 200 and response["ETag"] == '"v7"'
        assert self.api(self.mina, "get", "dataflows/999999").status_code == 404
        assert self.api(self.mina, "get", f"dataflows/{2**70}").status_code == 404

    def test_accounts_and_alerts(self):
        accounts = self.api(self.mina, "get", "accounts").json()["results"]
        assert accounts[0]["name"] == "Acme Stripe" and accounts[0]["dataflows"] == 4
        rule = AlertRule.objects.create(kind=AlertRule.Kind.RUN_FAILED)
        Alert.objects.create(rule=rule, dataflow=self.failing, kind=rule.kind, summary="boom")
        Alert.objects.create(
            rule=rule,
            dataflow=self.healthy,
            kind=rule.kind,
            summary="over",
            resolved_at=timezone.now(),
        )
        body = self.api(self.mina, "get", "alerts?state=open").json()
        assert [a["summary"] for a in body["results"]] == ["boom"]
        assert body["open_count"] == 1
        everything = self.api(self.mina, "get", "alerts").json()["results"]
        assert len(everything) == 2
