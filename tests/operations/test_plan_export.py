"""Exporting a plan: a flow without a mapping is refused with a plain message, not a crash."""

from __future__ import annotations

import io

import pytest
import responses
from django.core.management import CommandError, call_command

from tests.operations.cases import FakeAEPTestCase
from tests.operations.factories import (
    CATALOG,
    FLOWSERVICE,
)


class ExportPlanTestCase(FakeAEPTestCase):
    def answer_aep(self, transformations: list[dict]) -> None:
        flow, account = self.flow, self.account
        responses.get(
            f"{FLOWSERVICE}/flows/{flow.flow_id}",
            json={
                "items": [
                    {
                        "id": flow.flow_id,
                        "name": flow.name,
                        "sourceConnectionIds": [flow.source_connection_id],
                        "targetConnectionIds": [flow.target_connection_id],
                        "transformations": transformations,
                    }
                ]
            },
        )
        responses.get(
            f"{FLOWSERVICE}/sourceConnections/{flow.source_connection_id}",
            json={
                "items": [
                    {
                        "id": flow.source_connection_id,
                        "baseConnectionId": account.connection_id,
                        "params": {"resourcePath": "charges"},
                    }
                ]
            },
        )
        responses.get(
            f"{FLOWSERVICE}/connections/{account.connection_id}",
            json={"items": [{"id": account.connection_id, "name": account.name}]},
        )
        responses.get(
            f"{FLOWSERVICE}/targetConnections/{flow.target_connection_id}",
            json={
                "items": [
                    {"id": flow.target_connection_id, "params": {"dataSetId": flow.dataset_id}}
                ]
            },
        )
        responses.get(
            f"{CATALOG}/dataSets/{flow.dataset_id}",
            json={flow.dataset_id: {"name": "Stripe charges"}},
        )

    def test_a_flow_without_a_mapping_is_refused_plainly(self):
        self.answer_aep(transformations=[])
        with pytest.raises(CommandError, match="has no mapping"):
            call_command("ops_export_plan", str(self.flow.pk), stdout=io.StringIO())
