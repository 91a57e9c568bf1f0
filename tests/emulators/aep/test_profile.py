"""Descriptors, Identity Service namespaces and the Profile rules of the emulator: a dataset is
enabled for Profile only on a schema with a primary identity descriptor and the union tag, in
Adobe's order (catalog/datasets/enable-for-profile.md, xdm/api/descriptors.md,
xdm/api/schemas.md#union)."""

from __future__ import annotations

from urllib.parse import quote

from emulators.aep.testing import (
    CATALOG,
    DEMO_TENANT_ID,
    SCHEMA_REGISTRY,
    create_charge_schema,
    expect,
)

DESCRIPTORS = f"{SCHEMA_REGISTRY}/tenant/descriptors"
NAMESPACES = "/data/core/idnamespace/identities"
EXPANDED = {"Accept": "application/vnd.adobe.xdm+json"}
PROFILE_TAGS = {"unifiedProfile": ["enabled:true"], "unifiedIdentity": ["enabled:true"]}
UNION = [{"op": "add", "path": "/meta:immutableTags", "value": ["union"]}]


def identity(schema_id: str, field: str = "id", namespace: str = "Email", primary: bool = True):
    return {
        "@type": "xdm:descriptorIdentity",
        "xdm:sourceSchema": schema_id,
        "xdm:sourceVersion": 1,
        "xdm:sourceProperty": f"/_{DEMO_TENANT_ID}/charges_data/{field}",
        "xdm:namespace": namespace,
        "xdm:property": "xdm:code",
        "xdm:isPrimary": primary,
    }


def dataset(schema_id: str, tags=None) -> dict:
    body = {"name": "Stripe charges", "schemaRef": {"id": schema_id, "contentType": "x"}}
    return {**body, "tags": tags} if tags else body


def schema_url(schema_id: str) -> str:
    return f"{SCHEMA_REGISTRY}/tenant/schemas/{quote(schema_id, safe='')}"


def test_identity_descriptor_is_created_listed_looked_up_and_deleted(aep):
    _, _, schema_id = create_charge_schema(aep)

    created = expect(aep.post(DESCRIPTORS, json=identity(schema_id)), 201)
    listed = expect(aep.get(DESCRIPTORS, headers=EXPANDED), 200)
    links = expect(
        aep.get(DESCRIPTORS, headers={"Accept": "application/vnd.adobe.xdm-link+json"}), 200
    )
    one = expect(aep.get(f"{DESCRIPTORS}/{created['@id']}"), 200)

    assert len(created["@id"]) == 40
    assert listed["xdm:descriptorIdentity"][0]["xdm:namespace"] == "Email"
    assert links == {"xdm:descriptorIdentity": [f"/tenant/descriptors/{created['@id']}"]}
    assert one["xdm:sourceSchema"] == schema_id
    assert aep.delete(f"{DESCRIPTORS}/{created['@id']}").status_code == 204
    assert aep.get(f"{DESCRIPTORS}/{created['@id']}").status_code == 404
    assert expect(aep.get(DESCRIPTORS, headers=EXPANDED), 200) == {}


def test_identity_descriptors_are_checked_like_the_registry_does(aep):
    _, _, schema_id = create_charge_schema(aep)
    expect(aep.post(DESCRIPTORS, json=identity(schema_id)), 201)

    second_primary = aep.post(DESCRIPTORS, json=identity(schema_id, "currency"))
    no_field = aep.post(DESCRIPTORS, json=identity(schema_id, "nope", primary=False))
    no_namespace = aep.post(DESCRIPTORS, json=identity(schema_id, "status", "Nope", False))
    listing_without_xdm_accept = aep.get(DESCRIPTORS, headers={"Accept": "application/json"})

    assert second_primary.status_code == 400
    assert "already has a primary identity" in second_primary.json()["detail"]
    assert no_field.status_code == 400 and "is not a field" in no_field.json()["detail"]
    assert no_namespace.status_code == 400
    assert listing_without_xdm_accept.status_code == 406


def test_union_tag_needs_a_primary_identity_and_stays(aep):
    _, _, schema_id = create_charge_schema(aep)

    refused = aep.patch(schema_url(schema_id), json=UNION)
    expect(aep.post(DESCRIPTORS, json=identity(schema_id)), 201)
    patched = expect(aep.patch(schema_url(schema_id), json=UNION), 200)
    removed = aep.patch(
        schema_url(schema_id), json=[{"op": "replace", "path": "/meta:immutableTags", "value": []}]
    )

    assert refused.status_code == 400 and "no primary identity" in refused.json()["detail"]
    assert patched["meta:immutableTags"] == ["union"]
    assert removed.status_code == 400


def test_a_profile_dataset_is_refused_until_its_schema_is_enabled(aep):
    _, _, schema_id = create_charge_schema(aep)

    # The old order: the dataset tagged first (either spelling of the tag).
    for tags in (PROFILE_TAGS, {"unifiedProfile": ["enabled: true"]}):
        refused = aep.post(f"{CATALOG}/dataSets", json=dataset(schema_id, tags))
        assert refused.status_code == 400, tags
        assert refused.json()["type"].endswith("CAT-1030-400")
        assert "not enabled for Profile" in refused.json()["detail"]
    expect(aep.post(DESCRIPTORS, json=identity(schema_id)), 201)
    still_refused = aep.post(f"{CATALOG}/dataSets", json=dataset(schema_id, PROFILE_TAGS))
    expect(aep.patch(schema_url(schema_id), json=UNION), 200)
    created = expect(aep.post(f"{CATALOG}/dataSets", json=dataset(schema_id, PROFILE_TAGS)), 201)
    plain = expect(aep.post(f"{CATALOG}/dataSets", json=dataset(schema_id)), 201)

    assert "union tag" in still_refused.json()["detail"]
    dataset_id = created[0].split("/")[-1]
    tags = expect(aep.get(f"{CATALOG}/dataSets/{dataset_id}"), 200)[dataset_id]["tags"]
    # Catalog adds its own tags (the query table and format) beside the ones asked for.
    assert {name: tags[name] for name in PROFILE_TAGS} == PROFILE_TAGS
    assert plain


def test_namespaces_are_listed_and_custom_ones_created_once(aep):
    standard = expect(aep.get(NAMESPACES), 200)
    created = expect(
        aep.post(
            NAMESPACES,
            json={"name": "Stripe customer", "code": "StripeCustomer", "idType": "CROSS_DEVICE"},
        ),
        201,
    )
    again = aep.post(NAMESPACES, json={"name": "x", "code": "stripecustomer", "idType": "EMAIL"})
    bad_type = aep.post(NAMESPACES, json={"name": "x", "code": "Other", "idType": "NOPE"})
    listed = expect(aep.get(NAMESPACES), 200)

    email = next(ns for ns in standard if ns["code"] == "Email")
    assert (email["id"], email["custom"], email["idType"]) == (6, False, "EMAIL")
    assert (created["code"], created["custom"], created["namespaceType"]) == (
        "StripeCustomer",
        True,
        "Custom",
    )
    assert again.status_code == 400 and bad_type.status_code == 400
    assert [ns["code"] for ns in listed if ns["custom"]] == ["StripeCustomer"]


def test_identity_service_sits_behind_the_gateway(aep_server):
    import requests

    r = requests.get(f"{aep_server.url}{NAMESPACES}", timeout=10)
    assert r.status_code in (401, 403)
    assert "error_code" in r.json()
