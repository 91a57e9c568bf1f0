"""A plan's bodies come from the same builders as the wizard's, and applying one sends each
step's body as it stands, byte for byte, with only the new ids (and the key) filled in."""

from __future__ import annotations

import json
from typing import Any

import responses

from aep import AEPClient, MemoryTokenCache, payloads, redact
from aep.types import Schedule
from monitoring.clients import config_for
from operations.plans import ApplyOptions, apply_plan, export_plan, resolved_steps
from tests.base import BaseTestCase, make_sandbox
from tests.operations.factories import make_account, make_dataflow
from tests.recording_platform import PLATFORM, RecordingPlatform

FLOW = "/data/foundation/flowservice"
SCHEMA_ID = "https://ns.adobe.com/acme/schemas/charges"
SCHEDULE = {"startTime": "1710267858", "frequency": "hour", "interval": "1", "backfill": "true"}
KEY = "sk_test_new_account_0002"
RULES = [
    {
        "sourceType": "ATTRIBUTE",
        "source": "data.id",
        "destination": "_acme.charges_data.id",
        "identity": True,
    },
    {
        "sourceType": "EXPRESSION",
        "source": "data.amount / 100",
        "destination": "_acme.charges_data.amount",
    },
]


def items(entity: dict[str, Any]) -> dict[str, Any]:
    return {"items": [entity]}


def reads(dataflow) -> dict[str, Any]:
    """What AEP answers when the dataflow and everything it uses is read back."""
    return {
        f"{FLOW}/flows/{dataflow.flow_id}": items(
            {
                "id": dataflow.flow_id,
                "name": "Stripe charges",
                "description": "Stripe charges into AEP",
                "state": "enabled",
                "flowSpec": {"id": payloads.STRIPE_FLOW_SPEC_ID, "version": "1.0"},
                "sourceConnectionIds": ["src-1"],
                "targetConnectionIds": ["tgt-1"],
                "transformations": [
                    {"name": "Mapping", "params": {"mappingId": "map-1", "mappingVersion": "2"}}
                ],
                "scheduleParams": SCHEDULE,
                "options": {"errorDiagnosticsEnabled": True},
            }
        ),
        f"{FLOW}/sourceConnections/src-1": items(
            {
                "id": "src-1",
                "name": "Stripe charges - source",
                "description": "Stripe charges",
                "baseConnectionId": "conn-1",
                "connectionSpec": {"id": payloads.STRIPE_CONNECTION_SPEC_ID, "version": "1.0"},
                "data": {"format": "json"},
                "params": {"resourcePath": "charges"},
            }
        ),
        f"{FLOW}/connections/conn-1": items(
            {
                "id": "conn-1",
                "name": "Acme Stripe",
                "description": "Acme's live account",
                "connectionSpec": {"id": payloads.STRIPE_CONNECTION_SPEC_ID, "version": "1.0"},
                "auth": {"specName": "OAuth2 Refresh Code", "params": {"accessToken": "sk_live_x"}},
            }
        ),
        f"{FLOW}/targetConnections/tgt-1": items(
            {
                "id": "tgt-1",
                "name": "Stripe charges - target",
                "description": "Data lake dataset for Stripe charges",
                "connectionSpec": {"id": payloads.DATA_LAKE_CONNECTION_SPEC_ID, "version": "1.0"},
                "data": {
                    "format": "parquet_xdm",
                    "schema": {"id": SCHEMA_ID, "version": payloads.XDM_FULL_SCHEMA_VERSION},
                },
                "params": {"dataSetId": "ds-1"},
            }
        ),
        "/data/foundation/catalog/dataSets/ds-1": {
            "ds-1": {
                "name": "Stripe charges data",
                "description": "",
                "schemaRef": {"id": SCHEMA_ID, "contentType": payloads.XDM_CONTENT_TYPE},
            }
        },
        "/data/foundation/conversion/mappingSets/map-1": {
            "id": "map-1",
            "version": 2,
            "outputSchema": {"schemaRef": {"id": SCHEMA_ID}},
            "mappings": RULES,
        },
    }


class PlanBodiesTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sandbox = make_sandbox(platform_url=PLATFORM, ims_url=PLATFORM)
        self.dataflow = make_dataflow(make_account(self.sandbox))
        self.client = AEPClient(config_for(self.sandbox), token_cache=MemoryTokenCache())

    def export(self) -> dict[str, Any]:
        with responses.RequestsMock() as rsps:
            RecordingPlatform(reads(self.dataflow)).install(rsps)
            plan = export_plan(self.client, self.dataflow)
        return json.loads(json.dumps(plan))  # as the plan file holds it

    def test_every_exported_body_is_what_the_shared_builders_make(self):
        bodies = {step["ref"]: step["body"] for step in self.export()["steps"]}
        assert bodies == {
            "connection": payloads.base_connection(
                name="Acme Stripe",
                description="Acme's live account",
                auth_params={"accessToken": ""},
            ),
            "source_connection": payloads.source_connection(
                name="Stripe charges - source",
                description="Stripe charges",
                base_connection_id="{{connection}}",
                params={"resourcePath": "charges"},
            ),
            "dataset": payloads.dataset(name="Stripe charges data", schema_id=SCHEMA_ID),
            "target_connection": payloads.target_connection(
                name="Stripe charges - target",
                description="Data lake dataset for Stripe charges",
                dataset_id="{{dataset}}",
                schema_id=SCHEMA_ID,
            ),
            "mapping_set": payloads.mapping_set(
                SCHEMA_ID,
                [
                    payloads.mapping_rule("data.id", "_acme.charges_data.id", identity=True),
                    payloads.mapping_rule(
                        "data.amount / 100", "_acme.charges_data.amount", source_type="EXPRESSION"
                    ),
                ],
            ),
            "flow": payloads.flow(
                name="Stripe charges",
                description="Stripe charges into AEP",
                source_connection_id="{{source_connection}}",
                target_connection_id="{{target_connection}}",
                mapping_id="{{mapping_set}}",
                mapping_version=0,
                schedule=Schedule.from_api(SCHEDULE),
            ),
        }
        # Flow Service refuses `state` on create (1410-400); the builder never writes it.
        assert "state" not in bodies["flow"]
        assert "sk_live_x" not in json.dumps(bodies)

    def test_applying_sends_each_step_body_as_it_stands(self):
        plan = self.export()
        plan["steps"][-1]["body"]["state"] = "enabled"  # as plans exported before carried it
        options = ApplyOptions(stripe_key=KEY, start_now=False)
        steps = resolved_steps(plan, options)
        with responses.RequestsMock() as rsps:
            RecordingPlatform().install(rsps)
            ids = apply_plan(
                self.client, self.sandbox, steps, options, actor=self.sam, say=lambda _line: None
            )
            sent = RecordingPlatform.sent(rsps)

        assert [request.url.split("?")[0] for request in sent] == [
            PLATFORM + step["path"] for step in steps
        ]
        for step, request in zip(steps, sent, strict=True):
            expected = json.dumps(step["body"])
            for ref, new_id in ids.items():
                expected = expected.replace(json.dumps("{{" + ref + "}}"), json.dumps(new_id))
            if step["ref"] == "connection":  # the key is given when applying, never planned
                expected = expected.replace(
                    '"accessToken": ""', json.dumps({"accessToken": KEY})[1:-1]
                )
            assert request.body == expected.encode(), step["ref"]
        assert "state" not in json.loads(sent[-1].body)
        assert redact(json.loads(sent[0].body))["auth"]["params"]["accessToken"] == "••••"

    def test_a_plan_from_an_earlier_release_fills_what_aep_had_left_empty(self):
        plan = self.export()
        by_ref = {step["ref"]: step["body"] for step in plan["steps"]}
        # Earlier exports copied these straight from AEP's answers, nulls included.
        by_ref["connection"]["auth"]["specName"] = None
        by_ref["target_connection"]["data"]["schema"]["version"] = None
        by_ref["dataset"]["schemaRef"]["contentType"] = None
        by_ref["flow"]["state"] = "enabled"

        steps = {s["ref"]: s["body"] for s in resolved_steps(plan, ApplyOptions(stripe_key=KEY))}

        assert steps["connection"]["auth"]["specName"] == payloads.STRIPE_AUTH_SPEC_NAME
        schema = steps["target_connection"]["data"]["schema"]
        assert schema["version"] == payloads.XDM_FULL_SCHEMA_VERSION
        assert steps["dataset"]["schemaRef"]["contentType"] == payloads.XDM_CONTENT_TYPE
        assert "state" not in steps["flow"]
        assert "null" not in json.dumps(steps)
