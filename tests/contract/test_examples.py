"""Adobe's documented examples (docs/aep-api-notes.md) against our client.

1. Every documented response parses into our dataclasses with the values the docs show.
2. Every documented request body is exactly what our client builds from the same inputs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from aep import payloads, quirks
from aep.dataprep import mapping_set_shape
from aep.payloads import legacy_mapping_set
from aep.types import (
    Connection,
    Created,
    Dataset,
    ExploreResult,
    FieldGroup,
    Flow,
    MappingSet,
    RegistryStats,
    Run,
    RunError,
    Schedule,
    Schema,
    SchemaClass,
)
from tests.contract.api_notes import inline_json, json_blocks
from tests.contract.fakes import make_client, sent_to_platform


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def only_dicts_with(items: list, key: str) -> list[dict]:
    return [item for item in items if isinstance(item, dict) and key in item]


# Documented responses → dataclasses ----------------------------------------------------------


def test_create_responses_parse_as_created():
    (created_connection,) = only_dicts_with(json_blocks("2.4.1"), "etag")
    examples = [
        (created_connection, "a9950001-a386-4642-a0cd-5eaac6db5556"),
        (only_dicts_with(inline_json("2.4.3"), "etag")[0], "abbfac4e-202c-4e04-902d-6f73e9041068"),
        (only_dicts_with(inline_json("2.4.4"), "etag")[0], "69879751-ba43-48df-8cd0-39d2bb76a5b8"),
        (only_dicts_with(inline_json("2.4.6"), "etag")[0], "84c64142-1741-4b0b-95a9-65644eba0cf6"),
        (only_dicts_with(inline_json("2.4.8"), "etag")[0], "2edc08ac-4df5-4fe6-936f-81a19ce92f5c"),
    ]
    for body, expected_id in examples:
        created = Created.from_api(body)
        assert created.id == expected_id
        assert created.etag.startswith('"') and created.etag.endswith('"')


def test_the_get_connection_example_parses():
    (envelope,) = only_dicts_with(json_blocks("2.4.1"), "items")
    connection = Connection.from_api(quirks.unwrap_items(envelope))
    assert connection.id == "139f6a5f-a78b-4744-9f6a-5fa78bd74431"
    assert connection.name == "E2E_SF Base_Connection"
    assert connection.state == "enabled"
    assert connection.auth_spec_name == "Basic Authentication"
    assert connection.connection_spec_id == "cfc0fee1-7dc0-40ef-b73e-d8b134c436f5"
    assert connection.etag == '"1400dd53-0000-0200-0000-5f3f23450000"'
    assert connection.created_at == utc(2020, 8, 21, 1, 28, 32)


def test_the_explore_example_parses():
    (body,) = json_blocks("2.4.2")
    result = ExploreResult.from_api(body)
    assert result.format == "hierarchical"
    record = result.schema["properties"]["data"]["properties"]
    assert record["amount"]["type"] == "integer"
    assert record["payment_method_details"]["properties"]["card"]["properties"]["last4"] == {
        "type": "string"
    }
    assert result.data == []


def test_the_full_flow_example_parses():
    (envelope,) = json_blocks("2.4.7")
    flow = Flow.from_api(quirks.unwrap_items(envelope))
    assert flow.id == "2edc08ac-4df5-4fe6-936f-81a19ce92f5c"
    assert flow.state == "enabled"
    assert flow.flow_spec_id == "14518937-270c-4525-bdec-c2ba7cce3860"
    assert flow.etag == '"5400d99c-0000-0200-0000-60358d540000"'
    assert flow.source_connection_ids == ("b7581b59-c603-4df1-a689-d23d7ac440f3",)
    assert flow.target_connection_ids == ("320f119a-5ac1-4ab1-88ea-eb19e674ea2e",)
    assert flow.schedule == Schedule(
        start_time=utc(2021, 2, 3, 0, 1, 6), frequency="week", interval=15, backfill=True
    )
    assert [t.name for t in flow.transformations] == ["Copy", "Mapping"]
    assert flow.mapping.mapping_id == "0b090130b58b4819afc78b6dc98b484d"
    assert flow.mapping.mapping_version == 0
    assert flow.last_run.id == "a10cc80b-fbea-4c6b-873e-d7fd32f4d12d"
    assert flow.last_run.state == "success"
    assert flow.last_run.started_at == utc(2021, 2, 11, 21, 46, 15, 512000)
    assert flow.last_run.completed_at == utc(2021, 2, 11, 21, 47, 7, 511000)
    assert flow.created_at == utc(2021, 2, 3, 0, 1, 15, 905000)


def test_the_monitoring_run_example_parses():
    (listing,) = json_blocks("3.1")
    assert listing["_links"] == {}
    (item,) = listing["items"]
    run = Run.from_api(item)
    assert run.id == "9830305a-985f-47d0-b030-5a985fd7d004"
    assert run.flow_id == "c9cef9cb-c934-4467-8ef9-cbc934546741"
    assert run.status == "success"
    assert run.etag == '"b8003af1-0000-0200-0000-5f2b09f10000"'
    assert run.started_at == utc(2020, 8, 5, 19, 34, 18, 198000)
    assert run.completed_at == utc(2020, 8, 5, 19, 35, 13, 306000)
    assert (run.input_record_count, run.output_record_count, run.failed_record_count) == (
        100,
        99,
        1,
    )
    assert (run.input_bytes, run.output_bytes) == (24012, 17128)
    assert run.errors == (
        RunError("CONNECTOR-2001-500", "Error occurred at promotion activity."),
        RunError(
            "INGEST-1212-400",
            "Encountered 1 errors in the data. Successfully ingested 99 rows. "
            "Review the associated diagnostic files for additional details.",
        ),
        RunError("MAPPER-3700-400", "Mapper Transform Error", 1),
    )
    assert [a["id"] for a in run.activities] == ["copyActivity", "promotionActivity"]
    assert run.window_start == utc(2020, 8, 5, 18, 55, 8)
    assert run.window_end == utc(2020, 8, 5, 19, 25, 8)
    assert run.created_at == utc(2020, 8, 5, 19, 34, 39, 576000)
    assert run.updated_at == utc(2020, 8, 5, 19, 35, 13, 526000)


def test_the_mapping_set_create_response_parses():
    (body,) = only_dicts_with(inline_json("4.1"), "createdDate")
    mapping_set = MappingSet.from_api(body)
    assert mapping_set.id == "f4aad280fdec4770b7e33066945919d8"
    assert mapping_set.version == 0
    assert mapping_set.created_at == utc(2024, 3, 8, 1, 10, 57, 7000)


def test_the_dataset_create_response_yields_the_id():
    (body,) = [i for i in inline_json("5.2") if isinstance(i, list) and isinstance(i[0], str)]
    assert quirks.dataset_id_from_create(body) == "5c8c3c555033b814b69f947f"


def test_the_schema_registry_shapes_described_in_section_5_parse():
    # §5.1 and §5.2 give these responses in prose rather than as JSON blocks.
    stats = RegistryStats.from_api(
        {"imsOrg": "{ORG_ID}", "tenantId": "{TENANT_ID}", "counts": {}, "classUsage": {}}
    )
    assert stats.tenant_id == "{TENANT_ID}"
    record_class = SchemaClass.from_api(
        {
            "$id": "https://ns.adobe.com/acme/classes/19e1",
            "meta:altId": "_acme.classes.19e1",
            "meta:extends": ["https://ns.adobe.com/xdm/data/record"],
            "meta:resourceType": "classes",
            "title": json_blocks("5.2")[0]["title"],
        }
    )
    assert record_class.extends == ("https://ns.adobe.com/xdm/data/record",)
    field_group = FieldGroup.from_api(
        {
            "$id": "https://ns.adobe.com/acme/mixins/e49c",
            "meta:altId": "_acme.mixins.e49c",
            "meta:resourceType": "mixins",
            "meta:intendedToExtend": [record_class.id],
            "meta:tenantNamespace": "_acme",
            "version": "1.0",
            "title": json_blocks("5.2")[1]["title"],
        }
    )
    assert field_group.intended_to_extend == (record_class.id,)
    schema = Schema.from_api(
        {
            "$id": "https://ns.adobe.com/acme/schemas/719c",
            "meta:altId": "_acme.schemas.719c",
            "meta:class": record_class.id,
            "meta:extends": [record_class.id, field_group.id],
            "meta:containerId": "tenant",
            "version": "1.1",
            "title": json_blocks("5.2")[2]["title"],
        }
    )
    assert (schema.class_id, schema.version) == (record_class.id, "1.1")
    listed = Schema.from_api(
        {"$id": schema.id, "meta:altId": schema.alt_id, "version": "1.1", "title": "t"}
    )
    assert listed.alt_id == "_acme.schemas.719c"


def test_the_documented_dataset_lookup_shape_parses():
    # §5.2 item 5: an object keyed by the dataset id.
    dataset_request = json_blocks("5.2")[3]
    keyed = {"5c8c3c555033b814b69f947f": {**dataset_request, "created": 1552694873602}}
    dataset = Dataset.from_api(keyed)
    assert dataset.id == "5c8c3c555033b814b69f947f"
    assert dataset.name == "Stripe Charges Dataset"
    assert dataset.schema_content_type == "application/vnd.adobe.xed+json;version=1"


# Documented requests ← our client ------------------------------------------------------------


def sent_body(platform) -> object:
    return json.loads(sent_to_platform(platform)[-1].body)


def test_create_connection_matches_the_stripe_tutorial(platform):
    documented = json_blocks("2.4.1")[0]
    make_client().flowservice.create_connection(
        payloads.base_connection(
            name=documented["name"],
            description=documented["description"],
            auth_params=documented["auth"]["params"],
        )
    )
    assert sent_body(platform) == documented


def test_create_source_connection_matches_the_stripe_tutorial(platform):
    (documented,) = json_blocks("2.4.3")
    make_client().flowservice.create_source_connection(
        payloads.source_connection(
            name=documented["name"],
            description=documented["description"],
            base_connection_id=documented["baseConnectionId"],
            params=documented["params"],
        )
    )
    assert sent_body(platform) == documented


def test_create_target_connection_matches_the_stripe_tutorial(platform):
    (documented,) = json_blocks("2.4.4")
    make_client().flowservice.create_target_connection(
        payloads.target_connection(
            name=documented["name"],
            description=documented["description"],
            dataset_id=documented["params"]["dataSetId"],
            schema_id=documented["data"]["schema"]["id"],
            schema_version=documented["data"]["schema"]["version"],
        )
    )
    assert sent_body(platform) == documented


def test_create_flow_matches_the_stripe_tutorial_except_the_start_time_type(platform):
    documented = json_blocks("2.4.6")[0]
    schedule = documented["scheduleParams"]
    mapping = documented["transformations"][0]["params"]
    make_client().flowservice.create_flow(
        payloads.flow(
            name=documented["name"],
            description=documented["description"],
            source_connection_id=documented["sourceConnectionIds"][0],
            target_connection_id=documented["targetConnectionIds"][0],
            mapping_id=mapping["mappingId"],
            mapping_version=mapping["mappingVersion"],
            schedule=Schedule(
                datetime.fromtimestamp(int(schedule["startTime"]), tz=UTC),
                schedule["frequency"],
                schedule["interval"],
            ),
        )
    )
    # quirks.schedule_for_request: the tutorial quotes startTime, the flowSpec types it integer.
    expected = {
        **documented,
        "scheduleParams": {**schedule, "startTime": int(schedule["startTime"])},
    }
    assert sent_body(platform) == expected


@pytest.mark.parametrize("index", [0, 1])
def test_patch_bodies_match_the_update_tutorials(platform, index):
    documented = json_blocks("2.4.8")[index]
    if index == 0:
        make_client().flowservice.patch_flow("flow-1", '"etag"', documented)
    else:
        make_client().flowservice.patch_connection("conn-1", '"etag"', documented)
    assert sent_body(platform) == documented


def test_the_legacy_mapping_helper_rebuilds_the_stripe_tutorial_body(platform):
    modern, legacy = json_blocks("4.1")
    assert (mapping_set_shape(modern), mapping_set_shape(legacy)) == ("modern", "legacy")
    rebuilt = legacy_mapping_set(
        legacy["xdmSchema"],
        [
            (m["sourceAttribute"], m["destinationXdmPath"], m["identity"])
            for m in legacy["mappings"]
        ],
        xdm_version=legacy["xdmVersion"],
    )
    assert rebuilt == legacy
    make_client().dataprep.create_mapping_set(modern)
    assert sent_body(platform) == modern


def test_create_dataset_matches_the_catalog_tutorial(platform):
    documented = json_blocks("5.2")[3]
    make_client().catalog.create_dataset(
        payloads.dataset(
            name=documented["name"],
            schema_id=documented["schemaRef"]["id"],
            content_type=documented["schemaRef"]["contentType"],
        )
    )
    assert sent_body(platform) == documented
    assert sent_to_platform(platform)[-1].url.endswith("/dataSets?requestDataSource=true")
