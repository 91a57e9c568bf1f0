"""Exporting a plan: a flow without a mapping is refused with a plain message, not a crash."""

from __future__ import annotations

import io
import uuid

import pytest
import responses
from django.core.management import CommandError, call_command

from tests.base import BaseTestCase, make_sandbox
from tests.operations.factories import (
    CATALOG,
    FLOWSERVICE,
    TOKEN_URL,
    make_account,
    make_dataflow,
)


class ExportPlanTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox(client_id=f"client-{uuid.uuid4().hex}")
        self.account = make_account(self.sandbox)
        self.flow = make_dataflow(self.account)
        responses.start()
        responses.post(TOKEN_URL, json={"access_token": "t", "expires_in": 86399})

    def tearDown(self) -> None:
        responses.stop()
        responses.reset()
        super().tearDown()

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
