from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import responses

from aep import BadRequestError, NotFoundError, payloads
from tests.aep.fakes import CATALOG, REGISTRY, body, last_request, path, platform_calls, query

SCHEMA_ID = "https://ns.adobe.com/acme/schemas/719c4e19184402c27595e65b931a142b"
CLASS_ID = "https://ns.adobe.com/acme/classes/19e1d8b5098a7a76e2c10a81cbc99a8d"
FG_ID = "https://ns.adobe.com/acme/mixins/e49cbb2eec33618f686b8344b4597ecf"
DATASET_ID = "5c8c3c555033b814b69f947f"


# Schema Registry ------------------------------------------------------------------------------


def test_get_stats_returns_the_tenant_id(client, mocked):
    mocked.add(
        responses.GET,
        f"{REGISTRY}/stats",
        json={"imsOrg": "ORG123@AdobeOrg", "tenantId": "acme", "counts": {"schemas": 4}},
    )
    stats = client.schemas.get_stats()
    assert (stats.tenant_id, stats.ims_org) == ("acme", "ORG123@AdobeOrg")
    assert last_request(mocked).headers["Accept"] == "application/json"


def test_create_class(client, mocked):
    answer = {
        "$id": CLASS_ID,
        "meta:altId": "_acme.classes.19e1d8b5098a7a76e2c10a81cbc99a8d",
        "meta:resourceType": "classes",
        "meta:extends": ["https://ns.adobe.com/xdm/data/record"],
        "title": "Stripe Payment Record",
        "version": "1.0",
    }
    mocked.add(responses.POST, f"{REGISTRY}/tenant/classes", status=201, json=answer)
    request_body = {
        "title": "Stripe Payment Record",
        "type": "object",
        "allOf": [{"$ref": "https://ns.adobe.com/xdm/data/record"}],
    }
    created = client.schemas.create_class(request_body)
    assert body(last_request(mocked)) == request_body
    assert last_request(mocked).headers["Content-Type"] == "application/json"
    assert created.id == CLASS_ID
    assert created.extends == ("https://ns.adobe.com/xdm/data/record",)


def test_field_groups(client, mocked):
    answer = {
        "$id": FG_ID,
        "meta:altId": "_acme.mixins.e49cbb2eec33618f686b8344b4597ecf",
        "meta:intendedToExtend": [CLASS_ID],
        "meta:tenantNamespace": "_acme",
        "title": "Stripe Charges",
        "version": "1.0",
    }
    mocked.add(responses.POST, f"{REGISTRY}/tenant/fieldgroups", status=201, json=answer)
    mocked.add(
        responses.GET,
        f"{REGISTRY}/tenant/fieldgroups/https%3A%2F%2Fns.adobe.com%2Facme%2Fmixins%2Fe49cbb2eec33618f686b8344b4597ecf",
        json=answer,
    )
    created = client.schemas.create_field_group({"title": "Stripe Charges"})
    assert created.intended_to_extend == (CLASS_ID,)
    fetched = client.schemas.get_field_group(FG_ID)
    assert fetched.tenant_namespace == "_acme"
    assert last_request(mocked).headers["Accept"] == "application/vnd.adobe.xed+json; version=1"


def test_create_and_get_schema(client, mocked):
    answer = {
        "$id": SCHEMA_ID,
        "meta:altId": "_acme.schemas.719c4e19184402c27595e65b931a142b",
        "meta:class": CLASS_ID,
        "meta:extends": [CLASS_ID, FG_ID],
        "title": "Stripe Charges Schema",
        "version": "1.1",
    }
    encoded = "https%3A%2F%2Fns.adobe.com%2Facme%2Fschemas%2F719c4e19184402c27595e65b931a142b"
    mocked.add(responses.POST, f"{REGISTRY}/tenant/schemas", status=201, json=answer)
    mocked.add(responses.GET, f"{REGISTRY}/tenant/schemas/{encoded}", json=answer)

    created = client.schemas.create_schema({"title": "Stripe Charges Schema"})
    assert (created.class_id, created.version) == (CLASS_ID, "1.1")
    fetched = client.schemas.get_schema(SCHEMA_ID, full=True)
    assert fetched.extends == (CLASS_ID, FG_ID)
    assert path(last_request(mocked)).endswith(encoded)
    assert (
        last_request(mocked).headers["Accept"] == "application/vnd.adobe.xed-full+json; version=1"
    )


def test_list_schemas_follows_page_next(client, mocked):
    first_page = {
        "results": [
            {"$id": "s1", "meta:altId": "_acme.schemas.s1", "version": "1.0", "title": "A"}
        ],
        "_page": {"orderby": "title", "next": "B", "count": 1},
    }
    last_page = {
        "results": [{"$id": "s2", "version": "1.0", "title": "B"}],
        "_page": {"orderby": "title", "next": None, "count": 1},
    }
    mocked.add(responses.GET, f"{REGISTRY}/tenant/schemas", json=first_page)
    mocked.add(responses.GET, f"{REGISTRY}/tenant/schemas", json=last_page)
    titles = [s.title for s in client.schemas.list_schemas(limit=1)]
    assert titles == ["A", "B"]
    first, second = platform_calls(mocked)
    assert first.headers["Accept"] == "application/vnd.adobe.xed-id+json"
    assert query(first) == {"orderby": ["title"], "limit": ["1"]}
    assert query(second) == {"orderby": ["title"], "limit": ["1"], "start": ["B"]}


@pytest.mark.parametrize(
    ("kind", "listing"),
    [("classes", "list_classes"), ("fieldgroups", "list_field_groups")],
)
def test_tenant_classes_and_field_groups_are_listed_page_by_page(client, mocked, kind, listing):
    first_page = {
        "results": [{"$id": f"{kind}-1", "meta:altId": "_acme.x1", "version": "1.2", "title": "A"}],
        "_page": {"orderby": "title", "next": "B", "count": 1},
    }
    last_page = {"results": [{"$id": f"{kind}-2", "title": "B"}], "_page": {"next": None}}
    mocked.add(responses.GET, f"{REGISTRY}/tenant/{kind}", json=first_page)
    mocked.add(responses.GET, f"{REGISTRY}/tenant/{kind}", json=last_page)
    listed = list(getattr(client.schemas, listing)(limit=1))
    assert [(i.id, i.title, i.alt_id, i.version) for i in listed] == [
        (f"{kind}-1", "A", "_acme.x1", "1.2"),
        (f"{kind}-2", "B", None, None),
    ]
    first, second = platform_calls(mocked)
    assert first.headers["Accept"] == "application/vnd.adobe.xed-id+json"
    assert query(first) == {"orderby": ["title"], "limit": ["1"]}
    assert query(second) == {"orderby": ["title"], "limit": ["1"], "start": ["B"]}


def test_listing_stops_when_the_registry_repeats_a_page(client, mocked):
    page = {"results": [{"$id": "c1", "title": "A"}], "_page": {"next": "B"}}
    mocked.add(responses.GET, f"{REGISTRY}/global/classes", json=page)
    assert [c.id for c in client.schemas.list_classes(container="global")] == ["c1", "c1"]
    assert len(platform_calls(mocked)) == 2


@pytest.mark.parametrize(
    ("kind", "delete", "resource_id"),
    [
        ("classes", "delete_class", CLASS_ID),
        ("fieldgroups", "delete_field_group", FG_ID),
        ("schemas", "delete_schema", SCHEMA_ID),
    ],
)
def test_tenant_resources_are_deleted_by_their_encoded_id(
    client, mocked, kind, delete, resource_id
):
    encoded = resource_id.replace(":", "%3A").replace("/", "%2F")
    mocked.add(responses.DELETE, f"{REGISTRY}/tenant/{kind}/{encoded}", status=204)
    assert getattr(client.schemas, delete)(resource_id) is None
    assert path(last_request(mocked)) == f"/data/foundation/schemaregistry/tenant/{kind}/{encoded}"


def test_create_and_delete_a_descriptor(client, mocked):
    descriptor = {
        "@type": "xdm:descriptorIdentity",
        "xdm:sourceSchema": SCHEMA_ID,
        "xdm:sourceVersion": 1,
        "xdm:sourceProperty": "/_acme/stripe/email",
        "xdm:namespace": "Email",
        "xdm:property": "xdm:code",
        "xdm:isPrimary": True,
    }
    mocked.add(
        responses.POST,
        f"{REGISTRY}/tenant/descriptors",
        status=201,
        json={**descriptor, "@id": "f3a1dfa38a4871cf4442a33074c1f9406a593407"},
    )
    mocked.add(
        responses.DELETE,
        f"{REGISTRY}/tenant/descriptors/f3a1dfa38a4871cf4442a33074c1f9406a593407",
        status=204,
    )
    assert (
        client.schemas.create_descriptor(descriptor).id
        == "f3a1dfa38a4871cf4442a33074c1f9406a593407"
    )
    assert body(mocked.calls[-1].request) == descriptor
    client.schemas.delete_descriptor("f3a1dfa38a4871cf4442a33074c1f9406a593407")
    assert last_request(mocked).method == "DELETE"


def test_a_refused_delete_raises(client, mocked):
    mocked.add(
        responses.DELETE,
        re.compile(f"{REGISTRY}/tenant/classes/.*"),
        status=400,
        json={"title": "Class in use", "type": "https://ns.adobe.com/aep/errors/XDM-1521-400"},
    )
    with pytest.raises(BadRequestError) as caught:
        client.schemas.delete_class(CLASS_ID)
    assert caught.value.code == "XDM-1521-400"


# Catalog ------------------------------------------------------------------------------------


def dataset_body(name: str = "Stripe Charges Dataset") -> dict:
    return {
        "name": name,
        "imsOrg": "ORG123@AdobeOrg",
        "created": 1552694873602,
        "updated": 1552694873602,
        "schemaRef": {"id": SCHEMA_ID, "contentType": "application/vnd.adobe.xed+json;version=1"},
        "tags": {"adobe/pqs/table": ["stripe_charges"]},
    }


def test_create_dataset_returns_the_id_from_the_path_list(client, mocked):
    mocked.add(responses.POST, f"{CATALOG}/dataSets", status=201, json=[f"@/dataSets/{DATASET_ID}"])
    dataset_id = client.catalog.create_dataset(
        payloads.dataset(
            name="Stripe Charges Dataset",
            schema_id=SCHEMA_ID,
            tags={"unifiedProfile": ["enabled: true"]},
        )
    )
    assert dataset_id == DATASET_ID
    assert query(last_request(mocked)) == {"requestDataSource": ["true"]}
    assert body(last_request(mocked)) == {
        "name": "Stripe Charges Dataset",
        "schemaRef": {"id": SCHEMA_ID, "contentType": "application/vnd.adobe.xed+json;version=1"},
        "tags": {"unifiedProfile": ["enabled: true"]},
    }


def test_get_dataset_unwraps_the_keyed_object(client, mocked):
    mocked.add(responses.GET, f"{CATALOG}/dataSets/{DATASET_ID}", json={DATASET_ID: dataset_body()})
    dataset = client.catalog.get_dataset(DATASET_ID)
    assert dataset.id == DATASET_ID
    assert dataset.schema_id == SCHEMA_ID
    assert dataset.created_at == datetime(2019, 3, 16, 0, 7, 53, 602000, tzinfo=UTC)


def test_list_datasets_pages_with_start(client, mocked):
    mocked.add(
        responses.GET,
        f"{CATALOG}/dataSets",
        json={"d1": dataset_body("one"), "d2": dataset_body("two")},
    )
    mocked.add(responses.GET, f"{CATALOG}/dataSets", json={"d3": dataset_body("three")})
    listed = list(client.catalog.list_datasets(page_size=2, properties=["name", "schemaRef"]))
    assert [(d.id, d.name) for d in listed] == [("d1", "one"), ("d2", "two"), ("d3", "three")]
    first, second = platform_calls(mocked)
    assert query(first) == {"limit": ["2"], "start": ["0"], "properties": ["name,schemaRef"]}
    assert query(second)["start"] == ["2"]


def test_catalog_page_size_is_capped_at_100(client):
    with pytest.raises(ValueError):
        next(client.catalog.list_datasets(page_size=101))


def test_delete_dataset(client, mocked):
    mocked.add(
        responses.DELETE, f"{CATALOG}/dataSets/{DATASET_ID}", json=[f"@/dataSets/{DATASET_ID}"]
    )
    assert client.catalog.delete_dataset(DATASET_ID) is None
    assert last_request(mocked).method == "DELETE"


def test_deleting_a_missing_dataset_is_not_found(client, mocked):
    mocked.add(responses.DELETE, f"{CATALOG}/dataSets/gone", status=404, json={"message": "no"})
    with pytest.raises(NotFoundError):
        client.catalog.delete_dataset("gone")
