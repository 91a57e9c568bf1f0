"""The client against the AEP emulator: the whole Stripe onboarding path, then monitoring."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime

import pytest

from aep import (
    AEPClient,
    AEPConfig,
    IMSAuthError,
    MemoryTokenCache,
    NotFoundError,
    PreconditionFailedError,
    payloads,
)
from aep.flowservice import patch_op
from aep.ims import AccessToken, cache_key
from aep.payloads import legacy_mapping_set
from aep.types import Schedule
from emulators.aep.testing import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_ORG_ID, variance

pytestmark = pytest.mark.integration


def emulator_config(url: str, **overrides) -> AEPConfig:
    values = {
        "platform_url": url,
        "ims_url": url,
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
        "org_id": DEMO_ORG_ID,
        "sandbox_name": "prod",
        "scope": "openid,AdobeID,read_organizations",
    }
    values.update(overrides)
    return AEPConfig(**values)


@pytest.fixture
def client(aep_emulator) -> AEPClient:
    return AEPClient(emulator_config(aep_emulator.url), token_cache=MemoryTokenCache())


def create_target_schema(client: AEPClient, tenant: str, suffix: str) -> str:
    record = client.schemas.create_class(
        {
            "title": f"Stripe Payment Record {suffix}",
            "type": "object",
            "allOf": [{"$ref": "https://ns.adobe.com/xdm/data/record"}],
        }
    )
    fields = {"id": {"type": "string"}, "amount": {"type": "integer"}}
    field_group = client.schemas.create_field_group(
        {
            "title": f"Stripe Charges {suffix}",
            "type": "object",
            "meta:intendedToExtend": [record.id],
            "definitions": {
                "charges": {
                    "properties": {
                        f"_{tenant}": {
                            "type": "object",
                            "properties": {
                                "charges_data": {"type": "object", "properties": fields}
                            },
                        }
                    }
                }
            },
            "allOf": [{"$ref": "#/definitions/charges"}],
        }
    )
    schema = client.schemas.create_schema(
        {
            "title": f"Stripe Charges Schema {suffix}",
            "type": "object",
            "allOf": [{"$ref": record.id}, {"$ref": field_group.id}],
        }
    )
    return schema.id


def wait_for_runs(client: AEPClient, flow_id: str, timeout: float = 15.0) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = list(client.flowservice.list_runs(flow_id, orderby="-createdAt", limit=5))
        if runs:
            return runs
        time.sleep(0.3)
    raise AssertionError(f"no run of flow {flow_id} within {timeout}s")


def test_it_onboards_stripe_charges_and_sees_the_runs(client, stripe_stand_in):
    suffix = uuid.uuid4().hex[:8]
    tenant = client.schemas.get_stats().tenant_id
    schema_id = create_target_schema(client, tenant, suffix)
    dataset_id = client.catalog.create_dataset(
        payloads.dataset(name=f"Stripe Charges {suffix}", schema_id=schema_id)
    )
    assert client.catalog.get_dataset(dataset_id).schema_id == schema_id

    fs = client.flowservice
    connection = fs.create_connection(
        payloads.base_connection(
            name=f"Stripe {suffix}", auth_params={"accessToken": stripe_stand_in.secret_key}
        )
    )
    assert fs.test_connection(connection.id) is True
    explored = fs.explore_connection(connection.id, "charges", preview=True)
    assert "data" in explored.schema["properties"]
    assert explored.data

    source = fs.create_source_connection(
        payloads.source_connection(
            name=f"charges {suffix}",
            base_connection_id=connection.id,
            params={"resourcePath": "charges"},
        )
    )
    target = fs.create_target_connection(
        payloads.target_connection(
            name=f"charges {suffix}", dataset_id=dataset_id, schema_id=schema_id
        )
    )
    mapping_body = legacy_mapping_set(
        schema_id,
        [
            ("data.id", f"_{tenant}.charges_data.id", False),
            ("data.amount", f"_{tenant}.charges_data.amount", False),
        ],
    )
    assert all(result.ok for result in client.dataprep.validate_mapping_set(mapping_body))
    mapping_set = client.dataprep.create_mapping_set(mapping_body)

    created = fs.create_flow(
        payloads.flow(
            name=f"Stripe charges {suffix}",
            source_connection_id=source.id,
            target_connection_id=target.id,
            mapping_id=mapping_set.id,
            mapping_version=mapping_set.version,
            schedule=Schedule(datetime.now(UTC), "minute", 15, backfill=True),
        )
    )
    flow = fs.get_flow(created.id)
    assert flow.state == "enabled"
    assert flow.schedule.interval == 15
    assert flow.mapping.mapping_id == mapping_set.id

    runs = wait_for_runs(client, flow.id)
    assert runs[0].flow_id == flow.id
    assert runs[0].status in ("success", "failed", "partialSuccess", "inProgress", "scheduled")
    assert fs.get_run(runs[0].id).id == runs[0].id
    assert fs.count("runs", properties=[f"flowId=={flow.id}"]) >= 1

    assert fs.disable_flow(flow.id).id == flow.id
    assert fs.get_flow(flow.id).state == "disabled"
    fs.delete_flow(flow.id)
    with pytest.raises(NotFoundError) as excinfo:
        fs.get_flow(flow.id)
    assert excinfo.value.code == "FLOW-1439-404"
    # Changing what is gone answers the error table's other spelling, 1439-400: still gone.
    with pytest.raises(NotFoundError) as excinfo:
        fs.delete_flow(flow.id)
    assert (excinfo.value.status_code, excinfo.value.code) == (400, "FLOW-1439-400")


def test_what_onboarding_created_can_be_found_and_deleted(client, aep_emulator):
    suffix = uuid.uuid4().hex[:8]
    tenant = client.schemas.get_stats().tenant_id
    schema_id = create_target_schema(client, tenant, suffix)
    dataset_id = client.catalog.create_dataset(
        payloads.dataset(name=f"Stripe Charges {suffix}", schema_id=schema_id)
    )
    # Checks before the target schema exists: no outputSchema at all.
    unbound = {
        "mappings": [{"sourceType": "ATTRIBUTE", "source": "data.id", "destination": "_x.id"}]
    }
    (check,) = client.dataprep.validate_mapping_set(unbound, require_schema=False)
    assert check.ok
    (preview,) = client.dataprep.preview_mapping_set(
        unbound, [{"data": {"id": "ch_1"}}], require_schema=False
    )
    assert preview.data == {"_x": {"id": "ch_1"}}
    mapping_set = client.dataprep.create_mapping_set(
        legacy_mapping_set(schema_id, [("data.id", f"_{tenant}.charges_data.id", False)])
    )
    (record,) = [c for c in client.schemas.list_classes() if c.title.endswith(suffix)]
    (fields,) = [g for g in client.schemas.list_field_groups() if g.title.endswith(suffix)]

    # Not in Data Prep's public spec: the emulator refuses it as a sandbox may, unless told.
    assert client.dataprep.delete_mapping_set(mapping_set.id) is False
    assert client.dataprep.get_mapping_set(mapping_set.id).id == mapping_set.id
    with variance(aep_emulator.url, mappingSetDeleteRefused=False):
        assert client.dataprep.delete_mapping_set(mapping_set.id) is True
    client.catalog.delete_dataset(dataset_id)
    client.schemas.delete_schema(schema_id)
    client.schemas.delete_field_group(fields.id)
    client.schemas.delete_class(record.id)

    with pytest.raises(NotFoundError):
        client.dataprep.get_mapping_set(mapping_set.id)
    with pytest.raises(NotFoundError):
        client.catalog.get_dataset(dataset_id)
    assert not [s for s in client.schemas.list_schemas() if s.id == schema_id]
    assert not [g for g in client.schemas.list_field_groups() if g.id == fields.id]
    assert not [c for c in client.schemas.list_classes() if c.id == record.id]


def test_a_stale_etag_is_a_precondition_failure(client, stripe_stand_in):
    fs = client.flowservice
    created = fs.create_connection(
        payloads.base_connection(
            name=f"Stripe {uuid.uuid4().hex[:8]}",
            auth_params={"accessToken": stripe_stand_in.secret_key},
        )
    )
    fs.patch_connection(created.id, created.etag, [patch_op("replace", "/name", "renamed")])
    with pytest.raises(PreconditionFailedError) as excinfo:
        fs.patch_connection(created.id, created.etag, [patch_op("replace", "/name", "again")])
    assert excinfo.value.code == "FLOW-1404-412"
    assert excinfo.value.request_id
    assert fs.get_connection(created.id).name == "renamed"
    fs.delete_connection(created.id)


def test_a_token_the_platform_rejects_is_replaced_once(aep_emulator, caplog):
    caplog.set_level(logging.INFO, logger="aep.http")
    config = emulator_config(aep_emulator.url)
    cache = MemoryTokenCache()
    cache.get_or_fetch(cache_key(config), lambda: AccessToken.issued("revoked-token", 3600))
    client = AEPClient(config, token_cache=cache)
    assert client.schemas.get_stats().tenant_id
    assert client.tokens.token() != "revoked-token"
    assert "Access token rejected" in caplog.text


def test_a_wrong_secret_is_an_ims_error(aep_emulator):
    config = emulator_config(aep_emulator.url, client_secret="not-the-secret")
    with pytest.raises(IMSAuthError) as excinfo:
        AEPClient(config, token_cache=MemoryTokenCache()).schemas.get_stats()
    assert excinfo.value.retryable is False
