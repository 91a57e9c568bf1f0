from __future__ import annotations

from datetime import UTC, datetime

import pytest
import responses

from aep import payloads
from aep.flowservice import patch_op
from aep.payloads import (
    DATA_LAKE_CONNECTION_SPEC_ID,
    STRIPE_CONNECTION_SPEC_ID,
    STRIPE_FLOW_SPEC_ID,
)
from aep.types import Created, Schedule
from tests.aep.fakes import FLOW, body, last_request, path, platform_calls, query

CONN_ID = "a9950001-a386-4642-a0cd-5eaac6db5556"
SOURCE_ID = "abbfac4e-202c-4e04-902d-6f73e9041068"
TARGET_ID = "69879751-ba43-48df-8cd0-39d2bb76a5b8"
FLOW_ID = "84c64142-1741-4b0b-95a9-65644eba0cf6"
RUN_ID = "9830305a-985f-47d0-b030-5a985fd7d004"
ETAG = '"dc01244d-0000-0200-0000-65ea4e500000"'
CREATED = {"id": "new-id", "etag": ETAG}


def connection_item(**extra) -> dict:
    item = {
        "id": CONN_ID,
        "name": "Stripe account",
        "createdAt": 1597973312000,
        "updatedAt": 1597973312000,
        "connectionSpec": {"id": STRIPE_CONNECTION_SPEC_ID, "version": "1.0"},
        "state": "enabled",
        "auth": {"specName": "OAuth2 Refresh Code", "params": {"accessToken": "****"}},
        "etag": ETAG,
    }
    item.update(extra)
    return item


def flow_item(**extra) -> dict:
    item = {
        "id": FLOW_ID,
        "name": "Stripe charges",
        "flowSpec": {"id": STRIPE_FLOW_SPEC_ID, "version": "1.0"},
        "state": "enabled",
        "etag": ETAG,
        "sourceConnectionIds": [SOURCE_ID],
        "targetConnectionIds": [TARGET_ID],
        "scheduleParams": {
            "startTime": "1710267858",
            "frequency": "minute",
            "interval": "15",
            "backfill": "true",
        },
        "transformations": [
            {"name": "Mapping", "params": {"mappingId": "map-1", "mappingVersion": "0"}}
        ],
        "createdAt": 1612310475905,
        "updatedAt": 1614122324830,
    }
    item.update(extra)
    return item


def run_item(run_id: str = RUN_ID, status: str = "success") -> dict:
    return {
        "id": run_id,
        "flowId": FLOW_ID,
        "etag": ETAG,
        "createdAt": 1596656079576,
        "metrics": {
            "durationSummary": {"startedAtUTC": 1596656058198, "completedAtUTC": 1596656113306},
            "recordSummary": {"inputRecordCount": 100, "outputRecordCount": 99},
            "statusSummary": {"status": status},
        },
        "activities": [],
    }


# Base connections --------------------------------------------------------------------------


def test_create_connection_posts_the_stripe_auth(client, mocked):
    mocked.add(responses.POST, f"{FLOW}/connections", status=201, json=CREATED)
    created = client.flowservice.create_connection(
        payloads.base_connection(
            name="Stripe account", auth_params={"accessToken": "sk_test_123"}, description="d"
        )
    )
    assert created == Created("new-id", ETAG)
    assert body(last_request(mocked)) == {
        "name": "Stripe account",
        "description": "d",
        "connectionSpec": {"id": STRIPE_CONNECTION_SPEC_ID, "version": "1.0"},
        "auth": {"specName": "OAuth2 Refresh Code", "params": {"accessToken": "sk_test_123"}},
    }


def test_get_connection_unwraps_the_items_envelope(client, mocked):
    mocked.add(responses.GET, f"{FLOW}/connections/{CONN_ID}", json={"items": [connection_item()]})
    connection = client.flowservice.get_connection(CONN_ID)
    assert connection.id == CONN_ID
    assert connection.state == "enabled"
    assert connection.auth_spec_name == "OAuth2 Refresh Code"
    assert connection.connection_spec_id == STRIPE_CONNECTION_SPEC_ID
    assert connection.etag == ETAG
    assert connection.created_at == datetime(2020, 8, 21, 1, 28, 32, tzinfo=UTC)


def test_list_connections_follows_continuation_tokens(client, mocked):
    mocked.add(
        responses.GET,
        f"{FLOW}/connections",
        json={
            "items": [connection_item(id="c1")],
            "_links": {"next": {"href": "/connections?continuationToken=tok2"}},
        },
    )
    mocked.add(responses.GET, f"{FLOW}/connections", json={"items": [connection_item(id="c2")]})
    ids = [
        c.id for c in client.flowservice.list_connections(properties=["state==enabled"], limit=1)
    ]
    assert ids == ["c1", "c2"]
    first, second = platform_calls(mocked)
    assert query(first) == {"property": ["state==enabled"], "limit": ["1"]}
    assert query(second) == {
        "property": ["state==enabled"],
        "limit": ["1"],
        "continuationToken": ["tok2"],
    }


def test_lists_are_lazy(client, mocked):
    mocked.add(
        responses.GET,
        f"{FLOW}/connections",
        json={
            "items": [connection_item(id="c1")],
            "_links": {"next": {"href": "/connections?continuationToken=more"}},
        },
    )
    first = next(client.flowservice.list_connections())
    assert first.id == "c1"
    assert len(platform_calls(mocked)) == 1


def test_a_repeated_continuation_token_ends_the_listing(client, mocked):
    page = {
        "items": [connection_item()],
        "_links": {"next": {"href": "https://platform.test/x/connections?continuationToken=same"}},
    }
    mocked.add(responses.GET, f"{FLOW}/connections", json=page)
    assert len(list(client.flowservice.list_connections())) == 2
    assert len(platform_calls(mocked)) == 2


def test_patch_connection_sends_a_lower_case_json_patch_with_if_match(client, mocked):
    mocked.add(responses.PATCH, f"{FLOW}/connections/{CONN_ID}", json=CREATED)
    ops = [
        {"op": "REPLACE", "path": "/auth/params", "value": {"accessToken": "sk_new"}},
        patch_op("replace", "/name", "Stripe account (rotated)"),
    ]
    assert client.flowservice.patch_connection(CONN_ID, ETAG, ops).etag == ETAG
    request = last_request(mocked)
    assert path(request).endswith(f"/connections/{CONN_ID}")
    assert request.headers["If-Match"] == ETAG
    assert body(request) == [
        {"op": "replace", "path": "/auth/params", "value": {"accessToken": "sk_new"}},
        {"op": "replace", "path": "/name", "value": "Stripe account (rotated)"},
    ]


def test_patch_rejects_unsupported_ops_without_calling_adobe(client, mocked):
    with pytest.raises(ValueError, match="move"):
        client.flowservice.patch_flow(FLOW_ID, ETAG, [{"op": "move", "path": "/a", "value": 1}])
    with pytest.raises(ValueError):
        client.flowservice.patch_flow(FLOW_ID, "", [patch_op("remove", "/labels")])
    assert platform_calls(mocked) == []


def test_delete_connection(client, mocked):
    mocked.add(responses.DELETE, f"{FLOW}/connections/{CONN_ID}", status=204)
    assert client.flowservice.delete_connection(CONN_ID) is None
    assert path(last_request(mocked)) == f"/data/foundation/flowservice/connections/{CONN_ID}"


@pytest.mark.parametrize(
    ("answer", "expected"), [({"result": True}, True), ({"result": False}, False)]
)
def test_test_connection(client, mocked, answer, expected):
    mocked.add(responses.GET, f"{FLOW}/connections/{CONN_ID}/test", json=answer)
    assert client.flowservice.test_connection(CONN_ID) is expected


def test_explore_sends_base64_source_params(client, mocked):
    mocked.add(
        responses.GET,
        f"{FLOW}/connections/{CONN_ID}/explore",
        json={
            "format": "hierarchical",
            "schema": {"type": "object", "properties": {"data": {"type": "object"}}},
            "data": [{"data": {"id": "ch_1"}}],
        },
    )
    result = client.flowservice.explore_connection(CONN_ID, "charges", preview=True)
    assert query(last_request(mocked)) == {
        "objectType": ["rest"],
        "object": ["json"],
        "fileType": ["json"],
        "preview": ["true"],
        "sourceParams": ["eyJyZXNvdXJjZVBhdGgiOiJjaGFyZ2VzIn0="],
    }
    assert result.format == "hierarchical"
    assert result.schema["properties"]["data"] == {"type": "object"}
    assert result.data == [{"data": {"id": "ch_1"}}]


def test_explore_without_preview_has_no_data(client, mocked):
    mocked.add(
        responses.GET,
        f"{FLOW}/connections/{CONN_ID}/explore",
        json={"format": "hierarchical", "schema": {"type": "object"}},
    )
    result = client.flowservice.explore_connection(CONN_ID, "balance_transactions")
    assert query(last_request(mocked))["preview"] == ["false"]
    assert query(last_request(mocked))["sourceParams"] == [
        "eyJyZXNvdXJjZVBhdGgiOiJiYWxhbmNlX3RyYW5zYWN0aW9ucyJ9"
    ]
    assert result.data == []


def test_ids_are_url_encoded(client, mocked):
    mocked.add(responses.DELETE, f"{FLOW}/flows/a%2Fb", status=204)
    client.flowservice.delete_flow("a/b")
    assert path(last_request(mocked)).endswith("/flows/a%2Fb")


# Specs ---------------------------------------------------------------------------------------


def test_connection_specs(client, mocked):
    spec = {
        "id": STRIPE_CONNECTION_SPEC_ID,
        "name": "stripe",
        "providerId": "0ed90a81-07f4-4586-8190-b40eccef1c5a",
        "version": "1.0",
        "authSpec": [{"name": "OAuth2 Refresh Code", "type": "OAuth2RefreshCode"}],
    }
    mocked.add(
        responses.GET, f"{FLOW}/connectionSpecs/{STRIPE_CONNECTION_SPEC_ID}", json={"items": [spec]}
    )
    mocked.add(responses.GET, f"{FLOW}/connectionSpecs", json={"items": [spec, spec]})
    got = client.flowservice.get_connection_spec(STRIPE_CONNECTION_SPEC_ID)
    assert got.auth_spec_names == ("OAuth2 Refresh Code",)
    listed = list(client.flowservice.list_connection_specs(properties=["name==stripe"]))
    assert [s.name for s in listed] == ["stripe", "stripe"]
    assert query(last_request(mocked)) == {"property": ["name==stripe"]}


def test_flow_specs(client, mocked):
    spec = {
        "id": STRIPE_FLOW_SPEC_ID,
        "name": "RestStorageToAEP",
        "version": "1.0",
        "sourceConnectionSpecIds": [STRIPE_CONNECTION_SPEC_ID],
        "targetConnectionSpecIds": [DATA_LAKE_CONNECTION_SPEC_ID],
    }
    mocked.add(responses.GET, f"{FLOW}/flowSpecs/{STRIPE_FLOW_SPEC_ID}", json={"items": [spec]})
    mocked.add(responses.GET, f"{FLOW}/flowSpecs", json={"items": [spec]})
    got = client.flowservice.get_flow_spec(STRIPE_FLOW_SPEC_ID)
    assert got.name == "RestStorageToAEP"
    assert got.target_connection_spec_ids == (DATA_LAKE_CONNECTION_SPEC_ID,)
    assert [s.id for s in client.flowservice.list_flow_specs()] == [STRIPE_FLOW_SPEC_ID]


# Source and target connections ---------------------------------------------------------------


def test_source_connections(client, mocked):
    item = {
        "id": SOURCE_ID,
        "name": "charges",
        "baseConnectionId": CONN_ID,
        "state": "enabled",
        "data": {"format": "json"},
        "connectionSpec": {"id": STRIPE_CONNECTION_SPEC_ID, "version": "1.0"},
        "params": {"resourcePath": "charges"},
        "etag": ETAG,
    }
    mocked.add(responses.POST, f"{FLOW}/sourceConnections", status=201, json=CREATED)
    mocked.add(responses.GET, f"{FLOW}/sourceConnections/{SOURCE_ID}", json={"items": [item]})
    mocked.add(responses.GET, f"{FLOW}/sourceConnections", json={"items": [item]})
    mocked.add(responses.DELETE, f"{FLOW}/sourceConnections/{SOURCE_ID}", status=204)
    fs = client.flowservice

    fs.create_source_connection(
        payloads.source_connection(
            name="charges", base_connection_id=CONN_ID, params={"resourcePath": "charges"}
        )
    )
    assert body(last_request(mocked)) == {
        "name": "charges",
        "description": "",
        "baseConnectionId": CONN_ID,
        "connectionSpec": {"id": STRIPE_CONNECTION_SPEC_ID, "version": "1.0"},
        "data": {"format": "json"},
        "params": {"resourcePath": "charges"},
    }
    got = fs.get_source_connection(SOURCE_ID)
    assert (got.resource_path, got.base_connection_id, got.data_format) == (
        "charges",
        CONN_ID,
        "json",
    )
    listed = list(fs.list_source_connections(properties=[f"baseConnectionId=={CONN_ID}"]))
    assert [s.id for s in listed] == [SOURCE_ID]
    fs.delete_source_connection(SOURCE_ID)
    assert last_request(mocked).method == "DELETE"


def test_target_connections(client, mocked):
    schema_id = "https://ns.adobe.com/acme/schemas/5f76"
    item = {
        "id": TARGET_ID,
        "name": "charges target",
        "state": "enabled",
        "connectionSpec": {"id": DATA_LAKE_CONNECTION_SPEC_ID, "version": "1.0"},
        "data": {"format": "parquet_xdm", "schema": {"id": schema_id, "version": "v1"}},
        "params": {"dataSetId": "ds-1"},
        "etag": ETAG,
    }
    mocked.add(responses.POST, f"{FLOW}/targetConnections", status=201, json=CREATED)
    mocked.add(responses.GET, f"{FLOW}/targetConnections/{TARGET_ID}", json={"items": [item]})
    mocked.add(responses.GET, f"{FLOW}/targetConnections", json={"items": [item]})
    mocked.add(responses.DELETE, f"{FLOW}/targetConnections/{TARGET_ID}", status=204)
    fs = client.flowservice

    fs.create_target_connection(
        payloads.target_connection(name="charges target", dataset_id="ds-1", schema_id=schema_id)
    )
    assert body(last_request(mocked)) == {
        "name": "charges target",
        "description": "",
        "connectionSpec": {"id": DATA_LAKE_CONNECTION_SPEC_ID, "version": "1.0"},
        "data": {
            "format": "parquet_xdm",
            "schema": {"id": schema_id, "version": "application/vnd.adobe.xed-full+json;version=1"},
        },
        "params": {"dataSetId": "ds-1"},
    }
    got = fs.get_target_connection(TARGET_ID)
    assert (got.dataset_id, got.schema_id, got.data_format) == ("ds-1", schema_id, "parquet_xdm")
    assert [t.id for t in fs.list_target_connections(orderby="-createdAt")] == [TARGET_ID]
    fs.delete_target_connection(TARGET_ID)
    assert path(last_request(mocked)).endswith(f"/targetConnections/{TARGET_ID}")


# Flows ---------------------------------------------------------------------------------------


def test_create_flow_sends_the_stripe_tutorial_body(client, mocked):
    mocked.add(responses.POST, f"{FLOW}/flows", status=201, json=CREATED)
    schedule = Schedule(
        start_time=datetime.fromtimestamp(1710267858, tz=UTC), frequency="minute", interval=15
    )
    client.flowservice.create_flow(
        payloads.flow(
            name="Stripe charges",
            source_connection_id=SOURCE_ID,
            target_connection_id=TARGET_ID,
            mapping_id="map-1",
            mapping_version="0",
            schedule=schedule,
            options={"errorDiagnosticsEnabled": True},
        )
    )
    assert body(last_request(mocked)) == {
        "name": "Stripe charges",
        "description": "",
        "flowSpec": {"id": STRIPE_FLOW_SPEC_ID, "version": "1.0"},
        "sourceConnectionIds": [SOURCE_ID],
        "targetConnectionIds": [TARGET_ID],
        "transformations": [
            {"name": "Mapping", "params": {"mappingId": "map-1", "mappingVersion": 0}}
        ],
        "scheduleParams": {"startTime": 1710267858, "frequency": "minute", "interval": 15},
        "options": {"errorDiagnosticsEnabled": True},
    }


def test_a_once_schedule_sends_neither_interval_nor_backfill():
    schedule = Schedule(datetime(2024, 3, 12, tzinfo=UTC), "once", interval=15, backfill=True)
    assert schedule.to_api() == {"startTime": 1710201600, "frequency": "once"}


def test_get_flow_normalises_the_schedule_strings(client, mocked):
    mocked.add(responses.GET, f"{FLOW}/flows/{FLOW_ID}", json={"items": [flow_item()]})
    flow = client.flowservice.get_flow(FLOW_ID)
    assert flow.schedule == Schedule(
        start_time=datetime(2024, 3, 12, 18, 24, 18, tzinfo=UTC),
        frequency="minute",
        interval=15,
        backfill=True,
    )
    assert flow.mapping.mapping_id == "map-1"
    assert flow.mapping.mapping_version == 0
    assert flow.source_connection_ids == (SOURCE_ID,)
    assert flow.last_run is None


def test_list_flows(client, mocked):
    mocked.add(responses.GET, f"{FLOW}/flows", json={"items": [flow_item(), flow_item(id="f2")]})
    flows = list(
        client.flowservice.list_flows(
            properties=[
                f"inheritedAttributes.sourceConnections[].connectionSpec.id=={STRIPE_CONNECTION_SPEC_ID}"
            ]
        )
    )
    assert [f.id for f in flows] == [FLOW_ID, "f2"]


def test_patch_flow(client, mocked):
    mocked.add(responses.PATCH, f"{FLOW}/flows/{FLOW_ID}", json={"id": FLOW_ID, "etag": '"new"'})
    result = client.flowservice.patch_flow(
        FLOW_ID, ETAG, [patch_op("replace", "/scheduleParams/frequency", "day")]
    )
    assert result == Created(FLOW_ID, '"new"')
    assert last_request(mocked).headers["If-Match"] == ETAG
    assert body(last_request(mocked)) == [
        {"op": "replace", "path": "/scheduleParams/frequency", "value": "day"}
    ]


def test_delete_flow(client, mocked):
    mocked.add(responses.DELETE, f"{FLOW}/flows/{FLOW_ID}", status=204)
    client.flowservice.delete_flow(FLOW_ID)
    assert last_request(mocked).method == "DELETE"


@pytest.mark.parametrize(("method", "op"), [("enable_flow", "enable"), ("disable_flow", "disable")])
def test_enable_and_disable_post_an_action_without_a_body(client, mocked, method, op):
    mocked.add(responses.POST, f"{FLOW}/flows/{FLOW_ID}/action", json=CREATED)
    assert getattr(client.flowservice, method)(FLOW_ID) == Created("new-id", ETAG)
    request = last_request(mocked)
    assert query(request) == {"op": [op]}
    assert request.body is None
    assert "Content-Type" not in request.headers


# Runs ----------------------------------------------------------------------------------------


def test_list_runs_filters_by_flow_and_follows_tokens(client, mocked):
    mocked.add(
        responses.GET,
        f"{FLOW}/runs",
        json={
            "items": [run_item("r1")],
            "_links": {"next": {"href": "/runs?continuationToken=page2"}},
        },
    )
    mocked.add(
        responses.GET, f"{FLOW}/runs", json={"items": [run_item("r2", "Failed")], "_links": {}}
    )
    runs = list(
        client.flowservice.list_runs(
            FLOW_ID,
            properties=["metrics.durationSummary.startedAtUTC>1593134665781"],
            orderby="-createdAt",
            limit=10,
        )
    )
    assert [(r.id, r.status) for r in runs] == [("r1", "success"), ("r2", "failed")]
    first, second = platform_calls(mocked)
    expected = {
        "property": [f"flowId=={FLOW_ID}", "metrics.durationSummary.startedAtUTC>1593134665781"],
        "orderby": ["-createdAt"],
        "limit": ["10"],
    }
    assert query(first) == expected
    assert query(second) == {**expected, "continuationToken": ["page2"]}


def test_get_run(client, mocked):
    mocked.add(responses.GET, f"{FLOW}/runs/{RUN_ID}", json={"items": [run_item()]})
    run = client.flowservice.get_run(RUN_ID)
    assert run.flow_id == FLOW_ID
    assert run.started_at == datetime(2020, 8, 5, 19, 34, 18, 198000, tzinfo=UTC)
    assert (run.input_record_count, run.output_record_count) == (100, 99)


def test_retrigger_run(client, mocked):
    new_run = {"id": "3fb0418e-1804-45d6-8d56-dd51f05c0baf", "etag": '"1100c53e"'}
    mocked.add(responses.POST, f"{FLOW}/runs/{RUN_ID}/action", json=new_run)
    assert client.flowservice.retrigger_run(RUN_ID).id == new_run["id"]
    assert query(last_request(mocked)) == {"op": ["re-trigger"]}
    assert last_request(mocked).body is None


def test_create_run_sends_window_times_in_seconds(client, mocked):
    mocked.add(responses.POST, f"{FLOW}/runs", status=201, json={**run_item("adhoc"), "etag": ETAG})
    created = client.flowservice.create_run(
        FLOW_ID,
        window_start=datetime.fromtimestamp(1651584991, tz=UTC),
        window_end=datetime.fromtimestamp(1651671391, tz=UTC),
    )
    assert created == Created("adhoc", ETAG)
    assert body(last_request(mocked)) == {
        "flowId": FLOW_ID,
        "params": {"windowStartTime": 1651584991, "windowEndTime": 1651671391},
    }


def test_count_asks_only_for_the_count(client, mocked):
    mocked.add(responses.GET, f"{FLOW}/flows", json={"count": 95})
    assert client.flowservice.count("flows", properties=["state==enabled"]) == 95
    assert query(last_request(mocked)) == {"property": ["state==enabled"], "count": ["true"]}
