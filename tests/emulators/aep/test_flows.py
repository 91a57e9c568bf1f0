"""Flows: creation and validation, the GET shape, updates, enable/disable, delete rules."""

from __future__ import annotations

import time

import pytest

from emulators.aep.testing import (
    DATA_PREP,
    FLOW_SERVICE,
    FLOW_SPEC_ID,
    STRIPE_SPEC_ID,
    create_charge_schema,
    create_flow,
    create_mapping_set,
    expect,
)

FAR_FUTURE = str(int(time.time()) + 30 * 86400)
# Schedules that never come due during a test, so no run changes the flow under test.
SOURCE_SPEC_PATH = "inheritedAttributes.sourceConnections[].connectionSpec.id"
IDLE = {"startTime": FAR_FUTURE, "frequency": "day", "interval": 1, "backfill": False}


@pytest.fixture
def pipeline(aep, stripe_server):
    from emulators.aep.testing import build_stripe_pipeline

    return build_stripe_pipeline(aep, stripe_server.secret_key)


def _flow(aep, flow_id: str) -> dict:
    return expect(aep.get(f"{FLOW_SERVICE}/flows/{flow_id}"), 200)["items"][0]


def _flow_body(pipeline, schedule, **extra) -> dict:
    return {
        "name": "flow",
        "flowSpec": {"id": FLOW_SPEC_ID, "version": "1.0"},
        "sourceConnectionIds": [pipeline.source_connection_id],
        "targetConnectionIds": [pipeline.target_connection_id],
        "transformations": [
            {
                "name": "Mapping",
                "params": {"mappingId": pipeline.mapping_set_id, "mappingVersion": 0},
            }
        ],
        "scheduleParams": schedule,
        **extra,
    }


def test_a_new_flow_has_the_documented_shape(aep, pipeline):
    flow_id = create_flow(
        aep,
        pipeline,
        {"startTime": int(FAR_FUTURE), "frequency": "minute", "interval": 15},
        options={"errorDiagnosticsEnabled": True, "partialIngestionPercent": "10"},
    )

    flow = _flow(aep, flow_id)

    assert flow["state"] == "enabled"
    assert flow["flowSpec"] == {"id": FLOW_SPEC_ID, "version": "1.0"}
    assert flow["scheduleParams"] == {
        "startTime": FAR_FUTURE,
        "frequency": "minute",
        "interval": "15",
    }
    assert flow["transformations"] == [
        {"name": "Mapping", "params": {"mappingId": pipeline.mapping_set_id, "mappingVersion": "0"}}
    ]
    assert flow["options"] == {"errorDiagnosticsEnabled": True, "partialIngestionPercent": 10}
    source = flow["inheritedAttributes"]["sourceConnections"][0]
    assert source["id"] == pipeline.source_connection_id
    assert source["connectionSpec"]["id"] == STRIPE_SPEC_ID
    assert source["baseConnection"]["id"] == pipeline.base_connection_id
    assert flow["inheritedAttributes"]["targetConnections"][0]["id"] == (
        pipeline.target_connection_id
    )
    assert flow["inheritedAttributes"]["properties"]["isSourceFlow"] is True
    assert flow["runs"] == f"/runs?property=flowId=={flow_id}"
    assert flow["lastOperation"]["operation"] == "create"
    assert flow["lastOperation"]["status"]["value"] == "completed"
    assert "lastRunDetails" not in flow


@pytest.mark.parametrize(
    ("schedule", "fragment"),
    [
        ({"startTime": FAR_FUTURE, "frequency": "minute", "interval": 5}, "at least 15"),
        ({"startTime": FAR_FUTURE, "frequency": "hour", "interval": 0}, "at least 1"),
        ({"startTime": FAR_FUTURE, "frequency": "hour"}, "interval is required"),
        ({"startTime": FAR_FUTURE, "frequency": "once", "interval": 1}, "interval is not allowed"),
        ({"startTime": FAR_FUTURE, "frequency": "once", "backfill": True}, "backfill is not"),
        ({"frequency": "day", "interval": 1}, "startTime is required"),
        ({"startTime": FAR_FUTURE + "000", "frequency": "once"}, "milliseconds"),
        ({"startTime": FAR_FUTURE, "frequency": "month", "interval": 1}, "month"),
        ({"startTime": FAR_FUTURE, "frequency": "day", "interval": "x"}, "integer"),
    ],
)
def test_schedule_params_follow_the_schedule_spec(aep, pipeline, schedule, fragment):
    response = aep.post(f"{FLOW_SERVICE}/flows", json=_flow_body(pipeline, schedule))

    assert response.status_code == 400
    assert fragment in response.json()["errorMessage"]
    assert expect(aep.get(f"{FLOW_SERVICE}/flows"), 200)["items"] == []


def test_state_may_not_be_sent_on_create(aep, pipeline):
    response = aep.post(f"{FLOW_SERVICE}/flows", json=_flow_body(pipeline, IDLE, state="enabled"))
    assert response.json()["type"].endswith("FLOW-1410-400")


def test_an_unknown_mapping_version_is_1412(aep, pipeline):
    body = _flow_body(pipeline, IDLE)
    body["transformations"][0]["params"]["mappingVersion"] = 3
    response = aep.post(f"{FLOW_SERVICE}/flows", json=body)
    assert response.json()["type"].endswith("FLOW-1412-400")


def test_a_mapping_for_another_schema_is_1425(aep, pipeline):
    _, _, other_schema = create_charge_schema(aep, title="Other")
    other_mapping = create_mapping_set(aep, other_schema)
    body = _flow_body(pipeline, IDLE)
    body["transformations"][0]["params"]["mappingId"] = other_mapping

    response = aep.post(f"{FLOW_SERVICE}/flows", json=body)

    assert response.json()["type"].endswith("FLOW-1425-400")


def test_references_must_exist(aep, pipeline):
    body = _flow_body(pipeline, IDLE)
    body["sourceConnectionIds"] = ["00000000-0000-0000-0000-000000000000"]
    response = aep.post(f"{FLOW_SERVICE}/flows", json=body)
    assert response.status_code == 400
    assert "does not exist" in response.json()["errorMessage"]


def test_disable_and_enable(aep, pipeline):
    flow_id = create_flow(aep, pipeline, IDLE)
    created = _flow(aep, flow_id)

    disabled = expect(aep.post(f"{FLOW_SERVICE}/flows/{flow_id}/action?op=disable"), 200)
    again = aep.post(f"{FLOW_SERVICE}/flows/{flow_id}/action?op=DISABLE")
    enabled = expect(
        aep.post(f"{FLOW_SERVICE}/flows/{flow_id}/action", params={"op": "Enable"}), 200
    )

    assert disabled["id"] == flow_id
    assert disabled["etag"] != created["etag"]
    assert again.status_code == 400
    assert again.json()["type"].endswith("FLOW-1422-400")
    assert "disabled" in again.json()["errorMessage"]
    flow = _flow(aep, flow_id)
    assert flow["state"] == "enabled"
    assert flow["etag"] == enabled["etag"]
    assert flow["lastOperation"]["operation"] == "enable"
    assert aep.post(f"{FLOW_SERVICE}/flows/{flow_id}/action?op=publish").status_code == 400


def test_patch_updates_schedule_name_and_mapping_version(aep, pipeline):
    flow_id = create_flow(aep, pipeline, IDLE)
    etag = _flow(aep, flow_id)["etag"]
    mapping = expect(aep.get(f"{DATA_PREP}/mappingSets/{pipeline.mapping_set_id}"), 200)
    body = {"outputSchema": mapping["outputSchema"], "mappings": mapping["mappings"][:2]}
    expect(aep.put(f"{DATA_PREP}/mappingSets/{pipeline.mapping_set_id}", json=body), 200)

    response = aep.patch(
        f"{FLOW_SERVICE}/flows/{flow_id}",
        headers={"If-Match": etag},
        json=[
            {"op": "replace", "path": "/scheduleParams/frequency", "value": "hour"},
            {"op": "replace", "path": "/name", "value": "Renamed"},
            {
                "op": "replace",
                "path": "/transformations/0",
                "value": {
                    "name": "Mapping",
                    "params": {"mappingId": pipeline.mapping_set_id, "mappingVersion": 1},
                },
            },
        ],
    )

    expect(response, 200)
    flow = _flow(aep, flow_id)
    assert flow["name"] == "Renamed"
    assert flow["scheduleParams"]["frequency"] == "hour"
    assert flow["transformations"][0]["params"]["mappingVersion"] == "1"
    assert flow["lastOperation"]["operation"] == "update"
    assert flow["lastOperation"]["ops"][1] == {"op": "replace", "path": "/name", "value": "Renamed"}


@pytest.mark.parametrize(
    ("ops", "fragment"),
    [
        ([{"op": "replace", "path": "/scheduleParams/interval", "value": "10"}], "at least 1"),
        ([{"op": "replace", "path": "/state", "value": "disabled"}], "action"),
        ([{"op": "replace", "path": "/flowSpec/id", "value": "x"}], "flowSpec"),
    ],
)
def test_invalid_flow_patches_are_refused(aep, pipeline, ops, fragment):
    flow_id = create_flow(
        aep, pipeline, {"startTime": FAR_FUTURE, "frequency": "minute", "interval": 15}
    )
    etag = _flow(aep, flow_id)["etag"]

    response = aep.patch(f"{FLOW_SERVICE}/flows/{flow_id}", headers={"If-Match": etag}, json=ops)

    assert response.status_code == 400
    assert fragment in response.json()["errorMessage"]
    assert _flow(aep, flow_id)["etag"] == etag


def test_a_past_start_time_cannot_change(aep, pipeline):
    past = {"startTime": str(int(time.time()) - 60), "frequency": "day", "interval": 1}
    flow_id = create_flow(aep, pipeline, past)
    etag = _flow(aep, flow_id)["etag"]

    response = aep.patch(
        f"{FLOW_SERVICE}/flows/{flow_id}",
        headers={"If-Match": etag},
        json=[{"op": "replace", "path": "/scheduleParams/startTime", "value": FAR_FUTURE}],
    )

    assert response.status_code == 400
    assert "startTime" in response.json()["errorMessage"]


def test_a_connection_in_use_cannot_be_deleted_until_its_flow_is(aep, pipeline):
    flow_id = create_flow(aep, pipeline, IDLE)

    refused = aep.delete(f"{FLOW_SERVICE}/connections/{pipeline.base_connection_id}")
    source_refused = aep.delete(f"{FLOW_SERVICE}/sourceConnections/{pipeline.source_connection_id}")

    assert refused.status_code == 400
    assert refused.json()["type"].endswith("FLOW-1418-400")
    assert flow_id in refused.json()["errorMessage"]
    assert source_refused.json()["type"].endswith("FLOW-1418-400")

    assert aep.delete(f"{FLOW_SERVICE}/flows/{flow_id}").status_code == 204
    gone = aep.get(f"{FLOW_SERVICE}/flows/{flow_id}")
    assert gone.status_code == 404
    assert gone.json()["type"] == "https://ns.adobe.com/aep/errors/FLOW-1439-404"
    assert gone.json()["report"]["id"] == flow_id
    assert (
        aep.delete(f"{FLOW_SERVICE}/connections/{pipeline.base_connection_id}").status_code == 204
    )


def test_flows_listed_by_source_spec_and_state(aep, pipeline):
    first = create_flow(aep, pipeline, IDLE, name="first")
    second = create_flow(aep, pipeline, IDLE, name="second")
    expect(aep.post(f"{FLOW_SERVICE}/flows/{second}/action?op=disable"), 200)

    stripe_flows = aep.get(
        f"{FLOW_SERVICE}/flows",
        params={"property": f"{SOURCE_SPEC_PATH}=={STRIPE_SPEC_ID}"},
    )
    enabled = aep.get(
        f"{FLOW_SERVICE}/flows", params={"property": "state==enabled", "count": "true"}
    )
    source_flows = aep.get(
        f"{FLOW_SERVICE}/flows",
        params={
            "property": [
                "inheritedAttributes.properties.isSourceFlow==true",
                f"sourceConnectionIds[]=={pipeline.source_connection_id}",
            ],
            "orderby": "name",
        },
    )

    assert {f["id"] for f in expect(stripe_flows, 200)["items"]} == {first, second}
    assert expect(enabled, 200) == {"count": 1}
    assert [f["id"] for f in expect(source_flows, 200)["items"]] == [first, second]
