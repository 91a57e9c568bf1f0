"""Base, source and target connections: CRUD, etags and If-Match, masking, specs, test call."""

from __future__ import annotations

import re

import pytest

from emulators.aep.testing import (
    DATA_LAKE_SPEC_ID,
    FLOW_SERVICE,
    FLOW_SPEC_ID,
    STRIPE_SPEC_ID,
    PlatformSession,
    create_base_connection,
    create_charge_schema,
    create_dataset,
    create_source_connection,
    create_target_connection,
    expect,
)

ETAG = re.compile(r'^"[0-9a-f]{8}-0000-0200-0000-[0-9a-f]{8}0000"$')


def _connection(aep: PlatformSession, connection_id: str) -> dict:
    body = expect(aep.get(f"{FLOW_SERVICE}/connections/{connection_id}"), 200)
    assert len(body["items"]) == 1
    return body["items"][0]


def _patch(aep: PlatformSession, path: str, ops, etag: str | None):
    headers = {"If-Match": etag} if etag is not None else {}
    return aep.patch(f"{FLOW_SERVICE}{path}", json=ops, headers=headers)


# -- specs ---------------------------------------------------------------------------------------


def test_connection_specs_include_stripe_and_the_data_lake(aep):
    specs = expect(aep.get(f"{FLOW_SERVICE}/connectionSpecs"), 200)["items"]
    stripe = expect(aep.get(f"{FLOW_SERVICE}/connectionSpecs/{STRIPE_SPEC_ID}"), 200)["items"][0]

    assert {s["id"] for s in specs} == {STRIPE_SPEC_ID, DATA_LAKE_SPEC_ID}
    assert stripe["authSpec"][0]["name"] == "OAuth2 Refresh Code"
    assert stripe["authSpec"][0]["spec"]["properties"]["accessToken"]["format"] == "password"
    assert "charges" in stripe["sourceSpec"]["spec"]["properties"]["resourcePath"]["enum"]


def test_flow_spec_carries_the_schedule_spec(aep):
    spec = expect(aep.get(f"{FLOW_SERVICE}/flowSpecs/{FLOW_SPEC_ID}"), 200)["items"][0]

    assert spec["name"] == "RestStorageToAEP"
    schedule = spec["scheduleSpec"]["spec"]
    assert schedule["else"]["then"]["properties"]["interval"]["minimum"] == 15
    assert spec["sourceConnectionSpecIds"] == [STRIPE_SPEC_ID]
    assert spec["targetConnectionSpecIds"] == [DATA_LAKE_SPEC_ID]
    filtered = aep.get(f"{FLOW_SERVICE}/flowSpecs", params={"property": "name==RestStorageToAEP"})
    assert [s["id"] for s in expect(filtered, 200)["items"]] == [FLOW_SPEC_ID]


def test_unknown_spec_is_404(aep):
    response = aep.get(f"{FLOW_SERVICE}/connectionSpecs/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404


# -- base connections ----------------------------------------------------------------------------


def test_create_returns_201_with_id_etag_and_location(aep, stripe_server):
    response = aep.post(
        f"{FLOW_SERVICE}/connections",
        json={
            "name": "Stripe base connection",
            "connectionSpec": {"id": STRIPE_SPEC_ID, "version": "1.0"},
            "auth": {
                "specName": "OAuth2 Refresh Code",
                "params": {"accessToken": stripe_server.secret_key},
            },
        },
    )

    body = expect(response, 201)
    assert set(body) == {"id", "etag"}
    assert ETAG.match(body["etag"])
    assert response.headers["Location"].endswith(f"{FLOW_SERVICE}/connections/{body['id']}")
    connection = _connection(aep, body["id"])
    assert connection["etag"] == connection["version"] == body["etag"]
    assert connection["state"] == "enabled"
    assert connection["imsOrgId"] == "DEMO0000000000000000001@AdobeOrg"
    assert connection["sandboxName"] == "prod"
    assert connection["createdAt"] == connection["updatedAt"] > 1_600_000_000_000


def test_secrets_are_never_returned(aep, stripe_server):
    connection_id = create_base_connection(aep, stripe_server.secret_key)

    single = _connection(aep, connection_id)
    listed = expect(aep.get(f"{FLOW_SERVICE}/connections"), 200)["items"]

    assert single["auth"]["specName"] == "OAuth2 Refresh Code"
    assert single["auth"]["params"]["accessToken"] == "********"
    assert listed[0]["auth"]["params"]["accessToken"] == "********"
    assert stripe_server.secret_key not in aep.get(f"{FLOW_SERVICE}/connections").text


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        ({"name": "x", "connectionSpec": {"id": "nope"}}, "1413-400", "nope"),
        (
            {
                "name": "x",
                "connectionSpec": {"id": STRIPE_SPEC_ID},
                "auth": {"specName": "Basic Authentication", "params": {}},
            },
            "1415-400",
            "Basic Authentication",
        ),
        (
            {
                "name": "x",
                "connectionSpec": {"id": STRIPE_SPEC_ID},
                "auth": {"specName": "OAuth2 Refresh Code", "params": {}},
            },
            "1406-400",
            "accessToken",
        ),
        ({"connectionSpec": {"id": STRIPE_SPEC_ID}}, "1406-400", "name"),
    ],
)
def test_invalid_connections_are_refused(aep, body, code, fragment):
    response = aep.post(f"{FLOW_SERVICE}/connections", json=body)

    assert response.status_code == 400
    error = response.json()
    assert error["type"].endswith(f"FLOW-{code}")
    assert fragment in error["errorMessage"]


def test_empty_body_is_1405(aep):
    response = aep.post(
        f"{FLOW_SERVICE}/connections", data="", headers={"Content-Type": "application/json"}
    )
    assert response.json()["type"].endswith("FLOW-1405-400")


def test_patch_needs_if_match(aep, stripe_server):
    connection_id = create_base_connection(aep, stripe_server.secret_key)
    ops = [{"op": "replace", "path": "/name", "value": "renamed"}]

    response = _patch(aep, f"/connections/{connection_id}", ops, None)

    assert response.status_code == 400
    assert response.json()["type"].endswith("FLOW-1403-400")
    assert _connection(aep, connection_id)["name"] == "Stripe account"


def test_patch_with_a_stale_etag_is_412(aep, stripe_server):
    connection_id = create_base_connection(aep, stripe_server.secret_key)
    first_etag = _connection(aep, connection_id)["etag"]
    rename = [{"op": "replace", "path": "/name", "value": "first"}]
    expect(_patch(aep, f"/connections/{connection_id}", rename, first_etag), 200)

    stale = _patch(aep, f"/connections/{connection_id}", rename, first_etag)

    assert stale.status_code == 412
    assert stale.json()["type"].endswith("FLOW-1404-412")


def test_patch_changes_the_etag_and_accepts_every_documented_form(aep, stripe_server):
    connection_id = create_base_connection(aep, stripe_server.secret_key)
    before = _connection(aep, connection_id)
    unquoted = before["etag"].strip('"')

    # A single object (not an array), mixed-case op, unquoted If-Match, trailing slash.
    response = _patch(
        aep,
        f"/connections/{connection_id}/",
        {"op": "Add", "path": "/description", "value": "rotated"},
        unquoted,
    )

    body = expect(response, 200)
    after = _connection(aep, connection_id)
    assert body == {"id": connection_id, "etag": after["etag"]}
    assert after["etag"] != before["etag"]
    assert after["description"] == "rotated"
    assert after["updatedAt"] >= before["updatedAt"]


@pytest.mark.parametrize(
    ("ops", "code"),
    [
        ([{"op": "move", "path": "/name", "from": "/description"}], "1434-400"),
        ([{"op": "replace", "path": "/keyWhichDoesNotExist", "value": 1}], "1455-400"),
        ([{"op": "replace", "path": "/connectionSpec/id", "value": "x"}], "1414-400"),
        ([{"op": "replace", "path": "/id", "value": "x"}], "1455-400"),
    ],
)
def test_invalid_patches_are_refused(aep, stripe_server, ops, code):
    connection_id = create_base_connection(aep, stripe_server.secret_key)
    etag = _connection(aep, connection_id)["etag"]

    response = _patch(aep, f"/connections/{connection_id}", ops, etag)

    assert response.status_code == 400
    assert response.json()["type"].endswith(f"FLOW-{code}")
    assert _connection(aep, connection_id)["etag"] == etag


def test_rotating_the_access_token_and_echoing_the_mask(aep, stripe_server):
    connection_id = create_base_connection(aep, "sk_test_wrong_key_0000000000")
    assert aep.get(f"{FLOW_SERVICE}/connections/{connection_id}/test").status_code == 400

    etag = _connection(aep, connection_id)["etag"]
    rotate = [
        {
            "op": "replace",
            "path": "/auth/params",
            "value": {"accessToken": stripe_server.secret_key},
        }
    ]
    expect(_patch(aep, f"/connections/{connection_id}", rotate, etag), 200)
    assert expect(aep.get(f"{FLOW_SERVICE}/connections/{connection_id}/test"), 200) == {
        "result": True
    }

    # Sending back the masked auth as GET showed it keeps the stored key.
    shown = _connection(aep, connection_id)
    echo = [{"op": "replace", "path": "/auth", "value": shown["auth"]}]
    expect(_patch(aep, f"/connections/{connection_id}", echo, shown["etag"]), 200)
    assert aep.get(f"{FLOW_SERVICE}/connections/{connection_id}/test").status_code == 200


def test_delete_then_get_is_404(aep, stripe_server):
    connection_id = create_base_connection(aep, stripe_server.secret_key)

    assert aep.delete(f"{FLOW_SERVICE}/connections/{connection_id}/").status_code == 204

    missing = aep.get(f"{FLOW_SERVICE}/connections/{connection_id}")
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("FLOW-1101-404")
    # Deleting it again: the error table's other spelling of "not found" (variance.py).
    again = aep.delete(f"{FLOW_SERVICE}/connections/{connection_id}")
    assert again.status_code == 400 and again.json()["type"].endswith("FLOW-1439-400")


def test_entities_are_scoped_to_org_and_sandbox(aep, aep_server, stripe_server):
    connection_id = create_base_connection(aep, stripe_server.secret_key)

    with PlatformSession(aep_server.url, sandbox="dev") as dev:
        assert dev.get(f"{FLOW_SERVICE}/connections/{connection_id}").status_code == 404
        assert expect(dev.get(f"{FLOW_SERVICE}/connections"), 200)["items"] == []
        create_base_connection(dev, stripe_server.secret_key, name="dev account")
        assert len(expect(dev.get(f"{FLOW_SERVICE}/connections"), 200)["items"]) == 1
    assert len(expect(aep.get(f"{FLOW_SERVICE}/connections"), 200)["items"]) == 1


# -- source and target connections ---------------------------------------------------------------


def test_source_connection_inherits_its_base_connection(aep, stripe_server):
    base_id = create_base_connection(aep, stripe_server.secret_key)

    source_id = create_source_connection(aep, base_id, "refunds")

    source = expect(aep.get(f"{FLOW_SERVICE}/sourceConnections/{source_id}"), 200)["items"][0]
    assert source["baseConnectionId"] == base_id
    assert source["params"] == {"resourcePath": "refunds"}
    assert source["data"] == {"format": "json"}
    assert source["inheritedAttributes"]["baseConnection"] == {
        "id": base_id,
        "connectionSpec": {"id": STRIPE_SPEC_ID, "version": "1.0"},
    }


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"params": {"resourcePath": "invoices"}}, "invoices"),
        ({"data": {"format": "delimited"}}, "delimited"),
        ({"baseConnectionId": "3f1d0000-0000-0000-0000-000000000000"}, "does not exist"),
    ],
)
def test_invalid_source_connections_are_refused(aep, stripe_server, change, fragment):
    base_id = create_base_connection(aep, stripe_server.secret_key)
    body = {
        "name": "source",
        "baseConnectionId": base_id,
        "connectionSpec": {"id": STRIPE_SPEC_ID, "version": "1.0"},
        "data": {"format": "json"},
        "params": {"resourcePath": "charges"},
        **change,
    }

    response = aep.post(f"{FLOW_SERVICE}/sourceConnections", json=body)

    assert response.status_code == 400
    assert fragment in response.json()["errorMessage"]


def test_target_connection_crud(aep):
    _, _, schema_id = create_charge_schema(aep)
    dataset_id = create_dataset(aep, schema_id)
    target_id = create_target_connection(aep, dataset_id, schema_id)

    target = expect(aep.get(f"{FLOW_SERVICE}/targetConnections/{target_id}"), 200)["items"][0]
    assert target["params"] == {"dataSetId": dataset_id}
    assert target["connectionSpec"]["id"] == DATA_LAKE_SPEC_ID

    rename = [{"op": "replace", "path": "/name", "value": "renamed target"}]
    expect(_patch(aep, f"/targetConnections/{target_id}", rename, target["etag"]), 200)
    listed = expect(aep.get(f"{FLOW_SERVICE}/targetConnections"), 200)["items"]
    assert [t["name"] for t in listed] == ["renamed target"]

    assert aep.delete(f"{FLOW_SERVICE}/targetConnections/{target_id}").status_code == 204
    assert aep.get(f"{FLOW_SERVICE}/targetConnections/{target_id}").status_code == 404


def test_target_connection_needs_an_existing_dataset_with_the_same_schema(aep):
    _, _, schema_id = create_charge_schema(aep)
    _, _, other_schema = create_charge_schema(aep, title="Other")
    dataset_id = create_dataset(aep, schema_id)

    missing = aep.post(
        f"{FLOW_SERVICE}/targetConnections",
        json={
            "connectionSpec": {"id": DATA_LAKE_SPEC_ID, "version": "1.0"},
            "data": {"format": "parquet_xdm"},
            "params": {"dataSetId": "000000000000000000000000"},
        },
    )
    mismatch = aep.post(
        f"{FLOW_SERVICE}/targetConnections",
        json={
            "connectionSpec": {"id": DATA_LAKE_SPEC_ID, "version": "1.0"},
            "data": {"format": "parquet_xdm", "schema": {"id": other_schema}},
            "params": {"dataSetId": dataset_id},
        },
    )

    assert missing.status_code == 400
    assert "does not exist" in missing.json()["errorMessage"]
    assert mismatch.json()["type"].endswith("FLOW-1425-400")
