"""Discovery of Stripe flows created or deleted outside the dashboard."""

from __future__ import annotations

import uuid

import responses

from aep import AEPClient, MemoryTokenCache
from aep.payloads import STRIPE_CONNECTION_SPEC_ID
from monitoring.discovery import STRIPE_FLOWS_FILTER, discover
from monitoring.models import Account, Dataflow, Run
from tests.aep.fakes import FLOW, add_token, make_config
from tests.base import BaseTestCase, make_sandbox
from tests.monitoring.factories import make_dataflow, make_run
from tests.monitoring.fakes import FakeClient, FakeFlowService


def flow_doc(flow_id: str, source_id: str, target_id: str, *, state="enabled", name="Charges"):
    return {
        "id": flow_id,
        "name": name,
        "state": state,
        "etag": '"e1"',
        "createdAt": 1764300000000,
        "flowSpec": {"id": "6499120c-0b15-42dc-936e-847ea3c24d72"},
        "sourceConnectionIds": [source_id],
        "targetConnectionIds": [target_id],
        "transformations": [
            {"name": "Mapping", "params": {"mappingId": "map-1", "mappingVersion": "0"}}
        ],
        "scheduleParams": {
            "startTime": "1764300000",
            "frequency": "hour",
            "interval": "1",
            "backfill": "true",
        },
    }


class DiscoveryTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox()
        self.aep = FakeFlowService()
        self.aep.connections = [
            {
                "id": "base-1",
                "name": "Acme Stripe",
                "connectionSpec": {"id": STRIPE_CONNECTION_SPEC_ID},
            }
        ]
        self.aep.sources = [
            {"id": "src-1", "baseConnectionId": "base-1", "params": {"resourcePath": "refunds"}}
        ]
        self.aep.targets = [
            {
                "id": "tgt-1",
                "params": {"dataSetId": "ds-1"},
                "data": {"schema": {"id": "https://ns/schema"}},
            }
        ]

    def run_discovery(self):
        return discover(self.sandbox, FakeClient(self.aep))

    def test_flows_created_outside_the_dashboard_appear_with_their_account(self):
        self.aep.flows = [flow_doc("flow-1", "src-1", "tgt-1")]
        result = self.run_discovery()
        flow = Dataflow.objects.get(flow_id="flow-1")
        assert result.created == [flow.pk]
        assert self.aep.calls[0] == {"path": "/flows", "properties": [STRIPE_FLOWS_FILTER]}
        assert flow.discovered and flow.owner is None
        assert (flow.resource_path, flow.dataset_id, flow.schema_id) == (
            "refunds",
            "ds-1",
            "https://ns/schema",
        )
        assert (flow.frequency, flow.interval, flow.mapping_set_id) == ("hour", 1, "map-1")
        assert flow.account == Account.objects.get(connection_id="base-1", name="Acme Stripe")
        assert flow.health == Dataflow.Health.LATE  # created long ago and never ran

    def test_a_second_discovery_changes_nothing_and_creates_no_account(self):
        self.aep.flows = [flow_doc("flow-1", "src-1", "tgt-1")]
        self.run_discovery()
        result = self.run_discovery()
        assert (result.created, result.updated, result.deleted) == ([], [], [])
        assert Account.objects.count() == 1

    def test_config_changes_in_aep_are_followed(self):
        self.aep.flows = [flow_doc("flow-1", "src-1", "tgt-1")]
        self.run_discovery()
        self.aep.flows = [flow_doc("flow-1", "src-1", "tgt-1", state="disabled", name="Renamed")]
        result = self.run_discovery()
        flow = Dataflow.objects.get(flow_id="flow-1")
        assert result.updated == [flow.pk]
        assert (flow.name, flow.enabled, flow.health) == (
            "Renamed",
            False,
            Dataflow.Health.DISABLED,
        )

    def test_flows_deleted_in_aep_are_marked_deleted_with_their_history_kept(self):
        gone = make_dataflow(self.sandbox, flow_id=str(uuid.uuid4()))
        make_run(gone)
        result = self.run_discovery()
        gone.refresh_from_db()
        assert result.deleted == [gone.pk]
        assert gone.deleted_at is not None and gone.health == Dataflow.Health.DELETED
        assert Run.objects.filter(dataflow=gone).count() == 1

    def test_a_flow_aep_answers_1439_400_for_is_marked_deleted(self):
        # Flow Service's error table lists "resource not found" as 1439-400 too.
        gone = make_dataflow(self.sandbox, flow_id=str(uuid.uuid4()))
        with responses.RequestsMock(assert_all_requests_are_fired=True) as mocked:
            add_token(mocked)
            mocked.get(f"{FLOW}/flows", json={"items": []})
            mocked.get(
                f"{FLOW}/flows/{gone.flow_id}",
                status=400,
                json={
                    "type": "https://ns.adobe.com/aep/errors/FLOW-1439-400",
                    "title": "Resource not found",
                    "status": 400,
                },
            )
            result = discover(
                self.sandbox, AEPClient(make_config(), token_cache=MemoryTokenCache())
            )
        assert result.deleted == [gone.pk]
        gone.refresh_from_db()
        assert gone.health == Dataflow.Health.DELETED

    def test_a_flow_missing_from_a_lagging_listing_but_still_found_is_kept(self):
        kept = make_dataflow(self.sandbox, flow_id="flow-2")
        self.aep.flows = [flow_doc("flow-2", "src-1", "tgt-1")]
        # The listing lags (returns nothing), but GET /flows/flow-2 still finds it.
        self.aep.list_flows = lambda **kw: iter(())
        assert self.run_discovery().deleted == []
        kept.refresh_from_db()
        assert kept.deleted_at is None

    def test_a_failed_listing_changes_nothing(self):
        from aep import errors

        flow = make_dataflow(self.sandbox)
        self.aep.fail_with = [errors.ServerError("boom", 500)]
        with self.assertRaises(errors.ServerError):
            self.run_discovery()
        flow.refresh_from_db()
        assert flow.deleted_at is None
