"""Schema Registry (tenant id, classes, field groups, schemas) and Catalog datasets."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from emulators.aep.testing import (
    CATALOG,
    DEMO_ORG_ID,
    DEMO_TENANT_ID,
    SCHEMA_REGISTRY,
    create_charge_schema,
    create_dataset,
    expect,
)

LOOKUP = {"Accept": "application/vnd.adobe.xed+json; version=1"}
FULL = {"Accept": "application/vnd.adobe.xed-full+json; version=1"}
IDS = {"Accept": "application/vnd.adobe.xed-id+json"}


def test_stats_give_the_tenant_id(aep):
    create_charge_schema(aep)

    stats = expect(aep.get(f"{SCHEMA_REGISTRY}/stats"), 200)

    assert stats["tenantId"] == DEMO_TENANT_ID
    assert stats["imsOrg"] == DEMO_ORG_ID
    assert stats["counts"]["schemas"] == 1
    assert stats["counts"]["mixins"] == 1
    assert stats["counts"]["classes"] == 1
    assert stats["recentlyCreatedResources"][0]["meta:resourceType"] == "schemas"


def test_created_resources_carry_ids_in_the_tenant_namespace(aep):
    class_id, group_id, schema_id = create_charge_schema(aep)

    schema = expect(
        aep.get(f"{SCHEMA_REGISTRY}/tenant/schemas/{quote(schema_id, safe='')}", headers=LOOKUP),
        200,
    )

    assert class_id.startswith(f"https://ns.adobe.com/{DEMO_TENANT_ID}/classes/")
    assert group_id.startswith(f"https://ns.adobe.com/{DEMO_TENANT_ID}/mixins/")
    assert schema["$id"] == schema_id
    assert schema["meta:altId"] == f"_{DEMO_TENANT_ID}.schemas.{schema_id.rsplit('/', 1)[1]}"
    assert schema["meta:class"] == class_id
    assert schema["meta:extends"] == [class_id, "https://ns.adobe.com/xdm/data/record", group_id]
    assert schema["version"] == "1.0"
    assert schema["meta:containerId"] == "tenant"


def test_lookup_by_alt_id_and_full_expansion(aep):
    _, _, schema_id = create_charge_schema(aep)
    alt_id = f"_{DEMO_TENANT_ID}.schemas.{schema_id.rsplit('/', 1)[1]}"

    by_alt = expect(aep.get(f"{SCHEMA_REGISTRY}/tenant/schemas/{alt_id}", headers=LOOKUP), 200)
    full = expect(aep.get(f"{SCHEMA_REGISTRY}/tenant/schemas/{alt_id}", headers=FULL), 200)

    assert by_alt["$id"] == schema_id
    fields = full["properties"][f"_{DEMO_TENANT_ID}"]["properties"]["charges_data"]["properties"]
    assert fields["amount"]["type"] == "integer"
    assert "allOf" not in full


def test_reads_need_an_xed_accept_header(aep):
    _, _, schema_id = create_charge_schema(aep)
    url = f"{SCHEMA_REGISTRY}/tenant/schemas/{quote(schema_id, safe='')}"

    plain = aep.get(url, headers={"Accept": "application/json"})
    listed_plain = aep.get(
        f"{SCHEMA_REGISTRY}/tenant/schemas", headers={"Accept": "application/json"}
    )

    assert plain.status_code == 406
    assert plain.json()["type"] == "http://ns.adobe.com/aep/errors/XDM-1006-406"
    assert listed_plain.status_code == 406


def test_list_with_the_id_accept_header(aep):
    create_charge_schema(aep, title="B")
    create_charge_schema(aep, title="A")

    listed = expect(aep.get(f"{SCHEMA_REGISTRY}/tenant/schemas?orderby=title", headers=IDS), 200)

    assert [r["title"] for r in listed["results"]] == ["A schema", "B schema"]
    assert set(listed["results"][0]) >= {"$id", "meta:altId", "version", "title"}
    assert listed["_page"]["count"] == 2
    assert listed["_links"]["next"] is None


def test_a_patch_adds_a_field_group_and_bumps_the_minor_version(aep):
    class_id, _, schema_id = create_charge_schema(aep)
    _, other_group, _ = create_charge_schema(aep, title="Other")
    url = f"{SCHEMA_REGISTRY}/tenant/schemas/{quote(schema_id, safe='')}"

    incompatible = aep.patch(
        url, json=[{"op": "add", "path": "/allOf/-", "value": {"$ref": other_group}}]
    )

    assert incompatible.status_code == 400
    assert "not compatible" in incompatible.json()["detail"]
    renamed = expect(
        aep.patch(url, json=[{"op": "replace", "path": "/title", "value": "New"}]), 200
    )
    assert renamed["version"] == "1.1"
    assert renamed["meta:class"] == class_id


@pytest.mark.parametrize(
    ("resource", "body", "fragment"),
    [
        (
            "fieldgroups",
            {
                "title": "bad",
                "definitions": {"x": {"properties": {"amount": {"type": "integer"}}}},
                "allOf": [{"$ref": "#/definitions/x"}],
            },
            "tenant namespace",
        ),
        (
            "schemas",
            {"title": "no class", "allOf": [{"$ref": "https://ns.adobe.com/xdm/data/record"}]},
            "exactly one class",
        ),
        (
            "schemas",
            {
                "title": "missing class",
                "allOf": [{"$ref": f"https://ns.adobe.com/{DEMO_TENANT_ID}/classes/abc"}],
            },
            "does not exist",
        ),
        ("classes", {"type": "object"}, "title"),
    ],
)
def test_invalid_resources_are_refused(aep, resource, body, fragment):
    response = aep.post(f"{SCHEMA_REGISTRY}/tenant/{resource}", json=body)

    assert response.status_code == 400
    assert fragment in response.json()["detail"]


# -- Catalog -------------------------------------------------------------------------------------


def test_create_dataset_returns_its_path(aep):
    _, _, schema_id = create_charge_schema(aep)

    response = aep.post(
        f"{CATALOG}/dataSets?requestDataSource=true",
        json={
            "name": "Stripe Charges",
            "schemaRef": {
                "id": schema_id,
                "contentType": "application/vnd.adobe.xed+json;version=1",
            },
        },
    )

    body = expect(response, 201)
    assert len(body) == 1 and body[0].startswith("@/dataSets/")
    dataset_id = body[0].split("/")[-1]
    assert len(dataset_id) == 24
    fetched = expect(aep.get(f"{CATALOG}/dataSets/{dataset_id}"), 200)
    assert list(fetched) == [dataset_id]
    dataset = fetched[dataset_id]
    assert dataset["name"] == "Stripe Charges"
    assert dataset["schemaRef"]["id"] == schema_id
    assert dataset["imsOrg"] == DEMO_ORG_ID
    assert dataset["files"] == f"@/dataSetFiles?dataSetId={dataset_id}"


def test_dataset_needs_an_existing_schema(aep):
    response = aep.post(
        f"{CATALOG}/dataSets",
        json={
            "name": "x",
            "schemaRef": {"id": f"https://ns.adobe.com/{DEMO_TENANT_ID}/schemas/no"},
        },
    )
    assert response.status_code == 400
    assert response.json()["type"] == "https://ns.adobe.com/aep/errors/CAT-1021-400"


def test_dataset_list_paging_and_properties(aep):
    _, _, schema_id = create_charge_schema(aep)
    ids = [create_dataset(aep, schema_id, name=f"ds {i:02d}") for i in range(23)]

    default = expect(aep.get(f"{CATALOG}/dataSets"), 200)
    rest = expect(aep.get(f"{CATALOG}/dataSets", params={"start": 20}), 200)
    capped = expect(aep.get(f"{CATALOG}/dataSets", params={"limit": 500}), 200)
    trimmed = expect(
        aep.get(f"{CATALOG}/dataSets", params={"limit": 1, "properties": "name,schemaRef"}), 200
    )
    by_name = expect(aep.get(f"{CATALOG}/dataSets", params={"name": "ds 05"}), 200)
    newest = expect(
        aep.get(f"{CATALOG}/dataSets", params={"orderBy": "desc:name", "limit": 3}), 200
    )

    assert list(default) == ids[:20]
    assert list(rest) == ids[20:]
    assert len(capped) == 23
    assert set(next(iter(trimmed.values()))) == {"name", "schemaRef"}
    assert list(by_name) == [ids[5]]
    assert list(newest) == [ids[22], ids[21], ids[20]]
    assert aep.get(f"{CATALOG}/dataSets", params={"limit": 0}).status_code == 400


def test_unknown_dataset_is_404(aep):
    response = aep.get(f"{CATALOG}/dataSets/000000000000000000000000")
    assert response.status_code == 404


def test_the_global_container_offers_the_standard_classes(aep):
    profile = "https://ns.adobe.com/xdm/context/profile"

    listed = expect(aep.get(f"{SCHEMA_REGISTRY}/global/classes", headers=IDS), 200)
    fetched = aep.get(f"{SCHEMA_REGISTRY}/global/classes/{quote(profile, safe='')}", headers=LOOKUP)
    missing = aep.get(f"{SCHEMA_REGISTRY}/global/schemas/_xdm.nothing", headers=LOOKUP)
    schema = aep.post(
        f"{SCHEMA_REGISTRY}/tenant/schemas",
        json={"title": "Profiles", "allOf": [{"$ref": profile}]},
    )

    assert {r["$id"] for r in listed["results"]} == {
        profile,
        "https://ns.adobe.com/xdm/context/experienceevent",
    }
    assert expect(fetched, 200)["meta:containerId"] == "global"
    assert missing.status_code == 404
    assert expect(schema, 201)["meta:class"] == profile
