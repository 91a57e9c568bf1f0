"""Delete previews read AEP with server-side filters and survive odd flows; the sharing they
found is checked again before a confirmed delete touches anything."""

from __future__ import annotations

import re

import responses
from responses.matchers import query_param_matcher

from monitoring.clients import client_for
from operations import impact, steps
from operations.handlers import verify_sharing
from operations.models import Operation
from operations.runner import Context, OperationStopped
from tests.operations.cases import FakeAEPTestCase
from tests.operations.factories import CATALOG, FLOWSERVICE


def flow_doc(flow_id: str, source: str, target: str, mapping: str, **extra) -> dict:
    return {
        "id": flow_id,
        "name": f"Flow {flow_id}",
        "state": "enabled",
        "sourceConnectionIds": [source],
        "targetConnectionIds": [target],
        "transformations": [{"name": "Mapping", "params": {"mappingId": mapping}}],
        "scheduleParams": {"startTime": "1764300000", "frequency": "hour", "interval": "1"},
        **extra,
    }


class DeletePreviewTestCase(FakeAEPTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.doomed = flow_doc(self.flow.flow_id, "src-1", "tgt-1", "map-1")
        # Shares the target connection; its schedule has no startTime, its times are odd.
        self.odd = flow_doc(
            "odd-1",
            "src-9",
            "tgt-1",
            "map-9",
            scheduleParams={"frequency": "minute", "interval": "fifteen"},
            createdAt="1764300000",
        )
        responses.get(f"{FLOWSERVICE}/flows/{self.flow.flow_id}", json={"items": [self.doomed]})
        responses.get(
            f"{FLOWSERVICE}/sourceConnections/src-1",
            json={"items": [{"id": "src-1", "name": "Source", "params": {"resourcePath": "x"}}]},
        )
        responses.get(
            f"{FLOWSERVICE}/targetConnections/tgt-1",
            json={"items": [{"id": "tgt-1", "name": "Target", "params": {"dataSetId": "ds-1"}}]},
        )
        self.flows_where("sourceConnectionIds[]==src-1", [self.doomed])
        self.flows_where("targetConnectionIds[]==tgt-1", [self.doomed, self.odd])
        self.flows_where("transformations[].params.mappingId==map-1", [self.doomed])
        responses.get(
            f"{FLOWSERVICE}/targetConnections",
            match=[query_param_matcher({"property": "params.dataSetId==ds-1"})],
            json={"items": [{"id": "tgt-1", "params": {"dataSetId": "ds-1"}}]},
        )
        responses.get(f"{CATALOG}/dataSets/ds-1", json={"ds-1": {"name": "Charges"}})
        responses.get(re.compile(f"{re.escape(CATALOG)}/dataSets\\?.*"), json={})

    def flows_where(self, condition: str, items: list[dict]) -> None:
        """GET /flows answers only with this filter: an unfiltered listing has no answer."""
        responses.get(
            f"{FLOWSERVICE}/flows",
            match=[query_param_matcher({"property": condition})],
            json={"items": items},
        )

    def test_a_preview_asks_aep_only_for_the_flows_that_share_a_part(self):
        found = impact.dataflow_impact(client_for(self.sandbox), self.flow)
        assert found["flow_ids"] == [self.flow.flow_id]
        shared = {
            key: [(e["id"], e["shared"]) for e in found[key]]
            for key in ("source_connections", "target_connections", "mapping_sets", "datasets")
        }
        assert shared == {
            "source_connections": [("src-1", False)],
            "target_connections": [("tgt-1", True)],  # the odd flow writes through it too
            "mapping_sets": [("map-1", False)],
            "datasets": [("ds-1", True)],
        }
        listings = [c.request.url for c in responses.calls if "/flows?" in c.request.url]
        assert listings and all("property=" in url for url in listings)
        assert found["read_at"]

    def test_a_new_user_of_a_planned_part_stops_the_delete_before_anything_goes(self):
        preview = impact.dataflow_impact(client_for(self.sandbox), self.flow)
        planned = steps.delete_steps(preview)
        assert planned[0]["action"] == "verify_sharing"
        # Meanwhile another flow started reading through the source connection.
        responses.replace(
            responses.GET,
            f"{FLOWSERVICE}/flows",
            match=[query_param_matcher({"property": "sourceConnectionIds[]==src-1"})],
            json={"items": [self.doomed, flow_doc("new-1", "src-1", "tgt-7", "map-7")]},
        )
        operation = Operation.objects.create(
            kind=Operation.Kind.DATAFLOW_DELETE,
            status=Operation.Status.RUNNING,
            sandbox=self.sandbox,
            dataflow=self.flow,
            actor=self.sam,
            preview=preview,
            steps=planned,
        )
        client = client_for(self.sandbox)
        with self.assertRaises(OperationStopped) as stopped:
            verify_sharing(Context(operation, client, client.request_ids), planned[0])
        assert "Source" in str(stopped.exception)
        deletes = [c for c in responses.calls if c.request.method == "DELETE"]
        assert deletes == []
