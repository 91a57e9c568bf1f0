"""Every request the client sends, checked against Adobe's published specs.

Create calls send bodies from `aep.payloads`, built the way the wizard and plan export build them.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import responses

from aep import AEPClient, payloads
from aep.flowservice import patch_op
from aep.payloads import legacy_mapping_set, modern_mapping_set
from aep.types import Schedule
from tests.contract.deviations import DEVIATIONS
from tests.contract.fakes import ETAG, make_client, sent_to_platform
from tests.contract.specs import (
    openapi_errors,
    raw_spec,
    request_errors,
    spec_for,
    swagger2_errors,
)

SCHEMA_ID = "https://ns.adobe.com/acme/schemas/5f76be8c4e4b847fdac13ca42aa6b596a89a5b91dea48b16"
CLASS_ID = "https://ns.adobe.com/acme/classes/19e1d8b5098a7a76e2c10a81cbc99a8d"
FIELD_GROUP_ID = "https://ns.adobe.com/acme/mixins/e49c"
MAPPING = [("data.id", "_acme.charges_data.id", False)]
# Mapping checks made before the target schema exists carry no outputSchema.
UNBOUND = {"mappings": [{"sourceType": "ATTRIBUTE", "source": "data.id", "destination": "_a.id"}]}

# Adobe's data-prep.yaml uses `allowEmptyValue`, which openapi-core reports as deprecated.
pytestmark = pytest.mark.filterwarnings("ignore:Use of allowEmptyValue:DeprecationWarning")

Scenario = Callable[[AEPClient], Any]
START = datetime(2024, 3, 12, 18, 24, 18, tzinfo=UTC)

SCENARIOS: dict[str, Scenario] = {
    # Flow Service
    "flowservice.create_connection": lambda c: c.flowservice.create_connection(
        payloads.base_connection(
            name="Stripe", auth_params={"accessToken": "sk_test"}, description="Stripe account"
        )
    ),
    "flowservice.get_connection": lambda c: c.flowservice.get_connection("conn-1"),
    "flowservice.list_connections": lambda c: list(
        c.flowservice.list_connections(properties=["state==enabled"], orderby="-createdAt", limit=5)
    ),
    "flowservice.patch_connection": lambda c: c.flowservice.patch_connection(
        "conn-1",
        ETAG,
        [
            patch_op("replace", "/auth/params", {"accessToken": "sk_new"}),
            patch_op("replace", "/name", "Stripe (rotated)"),
        ],
    ),
    "flowservice.delete_connection": lambda c: c.flowservice.delete_connection("conn-1"),
    "flowservice.test_connection": lambda c: c.flowservice.test_connection("conn-1"),
    "flowservice.explore_connection": lambda c: c.flowservice.explore_connection(
        "conn-1", "charges", preview=True
    ),
    "flowservice.get_connection_spec": lambda c: c.flowservice.get_connection_spec("spec-1"),
    "flowservice.list_connection_specs": lambda c: list(
        c.flowservice.list_connection_specs(properties=["name==stripe"])
    ),
    "flowservice.get_flow_spec": lambda c: c.flowservice.get_flow_spec("spec-1"),
    "flowservice.list_flow_specs": lambda c: list(c.flowservice.list_flow_specs()),
    "flowservice.create_source_connection": lambda c: c.flowservice.create_source_connection(
        payloads.source_connection(
            name="charges", base_connection_id="conn-1", params={"resourcePath": "charges"}
        )
    ),
    "flowservice.get_source_connection": lambda c: c.flowservice.get_source_connection("sc-1"),
    "flowservice.list_source_connections": lambda c: list(
        c.flowservice.list_source_connections(properties=["baseConnectionId==conn-1"], limit=2)
    ),
    "flowservice.delete_source_connection": lambda c: c.flowservice.delete_source_connection(
        "sc-1"
    ),
    "flowservice.create_target_connection": lambda c: c.flowservice.create_target_connection(
        payloads.target_connection(name="charges target", dataset_id="ds-1", schema_id=SCHEMA_ID)
    ),
    "flowservice.get_target_connection": lambda c: c.flowservice.get_target_connection("tc-1"),
    "flowservice.list_target_connections": lambda c: list(c.flowservice.list_target_connections()),
    "flowservice.delete_target_connection": lambda c: c.flowservice.delete_target_connection(
        "tc-1"
    ),
    "flowservice.create_flow": lambda c: c.flowservice.create_flow(
        payloads.flow(
            name="Stripe charges",
            source_connection_id="sc-1",
            target_connection_id="tc-1",
            mapping_id="map-1",
            mapping_version=0,
            schedule=Schedule(START, "minute", 15, backfill=True),
            description="Stripe charges into AEP",
            options={"errorDiagnosticsEnabled": True, "partialIngestionPercent": 10},
        )
    ),
    "flowservice.get_flow": lambda c: c.flowservice.get_flow("flow-1"),
    "flowservice.list_flows": lambda c: list(
        c.flowservice.list_flows(properties=["state==enabled"], orderby="name", limit=10)
    ),
    "flowservice.patch_flow": lambda c: c.flowservice.patch_flow(
        "flow-1",
        ETAG,
        [
            patch_op("replace", "/scheduleParams/frequency", "day"),
            patch_op(
                "replace",
                "/transformations/0",
                {"name": "Mapping", "params": {"mappingId": "map-1", "mappingVersion": 2}},
            ),
        ],
    ),
    "flowservice.delete_flow": lambda c: c.flowservice.delete_flow("flow-1"),
    "flowservice.enable_flow": lambda c: c.flowservice.enable_flow("flow-1"),
    "flowservice.disable_flow": lambda c: c.flowservice.disable_flow("flow-1"),
    "flowservice.list_runs": lambda c: list(
        c.flowservice.list_runs(
            "flow-1",
            properties=["metrics.statusSummary.status==failed"],
            orderby="-createdAt",
            limit=10,
        )
    ),
    "flowservice.get_run": lambda c: c.flowservice.get_run("run-1"),
    "flowservice.retrigger_run": lambda c: c.flowservice.retrigger_run("run-1"),
    "flowservice.create_run": lambda c: c.flowservice.create_run(
        "flow-1", window_start=START, window_end=datetime(2024, 3, 13, tzinfo=UTC)
    ),
    "flowservice.count": lambda c: c.flowservice.count("runs", properties=["flowId==flow-1"]),
    # Data Prep
    "dataprep.create_mapping_set": lambda c: [
        c.dataprep.create_mapping_set(legacy_mapping_set(SCHEMA_ID, MAPPING)),
        c.dataprep.create_mapping_set(modern_mapping_set(SCHEMA_ID, [m[:2] for m in MAPPING])),
        c.dataprep.create_mapping_set(
            payloads.mapping_set(
                SCHEMA_ID,
                [
                    payloads.mapping_rule("data.id", "_acme.charges_data.id", identity=True),
                    payloads.mapping_rule(
                        "data.amount / 100", "_acme.charges_data.amount", source_type="EXPRESSION"
                    ),
                ],
                name="Stripe charges - mapping",
            )
        ),
    ],
    "dataprep.get_mapping_set": lambda c: c.dataprep.get_mapping_set("map-1", version=1),
    "dataprep.list_mapping_sets": lambda c: list(c.dataprep.list_mapping_sets(page_size=1)),
    "dataprep.validate_mapping_set": lambda c: [
        c.dataprep.validate_mapping_set(
            modern_mapping_set(SCHEMA_ID, [("data.id", "_acme.charges_data.id")])
        ),
        c.dataprep.validate_mapping_set(UNBOUND, require_schema=False),
    ],
    "dataprep.preview_mapping_set": lambda c: [
        c.dataprep.preview_mapping_set(
            modern_mapping_set(SCHEMA_ID, [("data.id", "_acme.charges_data.id")]),
            [{"data": {"id": "ch_1"}}],
        ),
        c.dataprep.preview_mapping_set(UNBOUND, [{"data": {"id": "ch_1"}}], require_schema=False),
    ],
    "dataprep.update_mapping_set": lambda c: [
        c.dataprep.update_mapping_set(
            "map-1", modern_mapping_set(SCHEMA_ID, [("data.id", "_acme.charges_data.id")])
        ),
        c.dataprep.update_mapping_set("map-1", legacy_mapping_set(SCHEMA_ID, MAPPING)),
    ],
    "dataprep.delete_mapping_set": lambda c: c.dataprep.delete_mapping_set("map-1"),
    # Schema Registry
    "schemas.get_stats": lambda c: c.schemas.get_stats(),
    "schemas.create_class": lambda c: c.schemas.create_class(
        payloads.xdm_class(title="Stripe Payment Record", description="Stripe objects")
    ),
    "schemas.list_classes": lambda c: list(c.schemas.list_classes(limit=1)),
    "schemas.delete_class": lambda c: c.schemas.delete_class(CLASS_ID),
    "schemas.create_field_group": lambda c: c.schemas.create_field_group(
        payloads.field_group(
            title="Stripe Charges",
            description="Stripe charges fields",
            class_id=CLASS_ID,
            definition="charges",
            tenant_namespace="_acme",
            fields={"charges_data": {"type": "object", "properties": {"id": {"type": "string"}}}},
        )
    ),
    "schemas.list_field_groups": lambda c: list(c.schemas.list_field_groups(limit=1)),
    "schemas.delete_field_group": lambda c: c.schemas.delete_field_group(FIELD_GROUP_ID),
    "schemas.get_field_group": lambda c: c.schemas.get_field_group(FIELD_GROUP_ID),
    "schemas.create_schema": lambda c: c.schemas.create_schema(
        payloads.schema(
            title="Stripe Charges Schema",
            description="Stripe charges",
            class_id=CLASS_ID,
            field_group_ids=[FIELD_GROUP_ID],
        )
    ),
    "schemas.get_schema": lambda c: [
        c.schemas.get_schema(SCHEMA_ID),
        c.schemas.get_schema(SCHEMA_ID, full=True),
    ],
    "schemas.list_schemas": lambda c: list(c.schemas.list_schemas(limit=1)),
    "schemas.delete_schema": lambda c: c.schemas.delete_schema(SCHEMA_ID),
    "schemas.create_descriptor": lambda c: c.schemas.create_descriptor(
        {
            "@type": "xdm:descriptorIdentity",
            "xdm:sourceSchema": SCHEMA_ID,
            "xdm:sourceVersion": 1,
            "xdm:sourceProperty": "/_acme/charges_data/id",
            "xdm:namespace": "Email",
            "xdm:property": "xdm:code",
            "xdm:isPrimary": False,
        }
    ),
    "schemas.delete_descriptor": lambda c: c.schemas.delete_descriptor("f3a1dfa38a4871cf"),
    # Catalog
    "catalog.list_datasets": lambda c: list(
        c.catalog.list_datasets(page_size=1, properties=["name", "schemaRef"])
    ),
    "catalog.get_dataset": lambda c: c.catalog.get_dataset("ds-1"),
    "catalog.delete_dataset": lambda c: c.catalog.delete_dataset("ds-1"),
    "catalog.create_dataset": lambda c: c.catalog.create_dataset(
        payloads.dataset(
            name="Stripe Charges Dataset",
            description="Stripe charges",
            schema_id=SCHEMA_ID,
            tags={"unifiedProfile": ["enabled: true"], "unifiedIdentity": ["enabled: true"]},
        )
    ),
}


# Client methods whose service has no published spec in contracts/adobe, so no request of theirs
# can be checked here; each says where its shapes come from instead.
WITHOUT_PUBLISHED_SPEC: dict[str, str] = {
    # Data Access API (/data/foundation/export): error diagnostics of a batch. Shapes from
    # help/ingestion/batch-ingestion/partial.md and
    # help/ingestion/quality/retrieve-failed-batches.md (notes §3.2); covered by
    # tests/aep/test_dataaccess.py and the emulator tests.
    "dataaccess.failed_records": "no Data Access spec in contracts/adobe",
}


def run_scenario(name: str, platform: responses.RequestsMock) -> list[Any]:
    SCENARIOS[name](make_client())
    return sent_to_platform(platform)


def _public_methods(obj: object) -> set[str]:
    return {
        name for name, _ in inspect.getmembers(obj, inspect.ismethod) if not name.startswith("_")
    }


def test_every_client_method_has_a_scenario():
    client = make_client()
    methods = {
        f"{service}.{method}"
        for service in ("flowservice", "dataprep", "schemas", "catalog", "dataaccess")
        for method in _public_methods(getattr(client, service))
    }
    assert methods == set(SCENARIOS) | set(WITHOUT_PUBLISHED_SPEC)
    assert not set(SCENARIOS) & set(WITHOUT_PUBLISHED_SPEC)


def test_methods_without_a_published_spec_really_have_none():
    for name in WITHOUT_PUBLISHED_SPEC:
        service = name.split(".")[0]
        base = getattr(make_client(), service).BASE_PATH
        with pytest.raises(LookupError):
            spec_for(f"https://platform.adobe.io{base}/anything")


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_requests_match_the_published_spec(name, platform):
    sent = run_scenario(name, platform)
    assert sent, f"{name} sent nothing"
    problems = {f"{r.method} {r.url}": request_errors(r) for r in sent}
    assert {request: errors for request, errors in problems.items() if errors} == {}


def test_list_scenarios_exercise_their_second_page(platform):
    sent = run_scenario("flowservice.list_runs", platform)
    assert len(sent) == 2
    assert "continuationToken=abc" in sent[1].url


# The allow-list itself -------------------------------------------------------------------------


@pytest.mark.parametrize("deviation", DEVIATIONS, ids=lambda d: d.reason)
def test_every_deviation_still_changes_its_spec(deviation):
    spec = copy.deepcopy(raw_spec(deviation.spec))
    deviation.apply(spec)
    assert spec != raw_spec(deviation.spec)


def test_the_unpatched_spec_would_reject_what_the_service_really_takes(platform):
    # Proves the validator is not vacuous: without the allow-list, the documented
    # `op=enable` (and the missing subOp) fail against the raw spec.
    (request,) = run_scenario("flowservice.enable_flow", platform)
    assert openapi_errors(request, with_deviations=False)
    assert openapi_errors(request) == []


def test_the_swagger2_check_rejects_an_undeclared_route_and_missing_headers(platform):
    (request,) = run_scenario("schemas.get_stats", platform)
    request.url = request.url.replace("/stats", "/statistics")
    assert swagger2_errors(request) == ["GET /statistics is not declared in schema-registry.yaml"]
    (request,) = run_scenario("schemas.get_field_group", platform)[-1:]
    del request.headers["Accept"]
    assert "missing required header Accept" in swagger2_errors(request)
