from __future__ import annotations

import json
from pathlib import Path

import pytest

from emulators.aep.inference import infer_hierarchical_schema
from emulators.aep.mapping import compile_mappings
from emulators.aep.xdm import (
    default_mappings,
    field_group_from_explore,
    resolve_schema,
    validate_record,
    xdm_kind,
    xdm_type_for,
)

FIXTURES = json.loads(
    (Path(__file__).resolve().parents[3] / "emulators" / "stripe" / "fixtures.json").read_text()
)
RESOURCE_PATHS = {
    "charge": "charges",
    "customer": "customers",
    "subscription": "subscriptions",
    "refund": "refunds",
    "balance_transaction": "balance_transactions",
    "price": "prices",
}
CLASS_ID = "https://ns.adobe.com/acme/classes/stripe"
GROUP_ID = "https://ns.adobe.com/acme/mixins/charges"
LONG = {"type": "integer", "minimum": -9007199254740992, "maximum": 9007199254740992}

CLASS_DOC = {
    "$id": CLASS_ID,
    "title": "Stripe Payment Record",
    "type": "object",
    "allOf": [{"$ref": "https://ns.adobe.com/xdm/data/record"}],
    "meta:extends": ["https://ns.adobe.com/xdm/data/record"],
}
GROUP_DOC = {
    "$id": GROUP_ID,
    "title": "Stripe Charges",
    "type": "object",
    "meta:intendedToExtend": [CLASS_ID],
    "definitions": {
        "charges": {
            "properties": {
                "_acme": {
                    "type": "object",
                    "properties": {
                        "charges_data": {
                            "type": "object",
                            "properties": {
                                "id": {"type": "string", "title": "Charge ID"},
                                "amount": {"type": "integer", "title": "Amount"},
                                "created": {"type": "integer", "title": "Created"},
                                "paid": {"type": "boolean"},
                                "rate": {"type": "number"},
                                "settled_at": {"type": "string", "format": "date-time"},
                                "day": {"type": "string", "format": "date"},
                                "small": {"type": "integer", "meta:xdmType": "short"},
                                "tags": {"type": "array", "items": {"type": "string"}},
                                "metadata": {
                                    "type": "object",
                                    "additionalProperties": {"type": "string"},
                                },
                            },
                        }
                    },
                }
            }
        }
    },
    "allOf": [{"$ref": "#/definitions/charges"}],
}
SCHEMA_DOC = {
    "title": "Stripe Charges Schema",
    "type": "object",
    "allOf": [{"$ref": CLASS_ID}, {"$ref": GROUP_ID}],
}
DOCS = {CLASS_ID: CLASS_DOC, GROUP_ID: GROUP_DOC}


@pytest.fixture
def resolved() -> dict:
    return resolve_schema(SCHEMA_DOC, DOCS.get)


def charges_fields(resolved: dict) -> dict:
    return resolved["properties"]["_acme"]["properties"]["charges_data"]["properties"]


def test_resolve_flattens_class_and_field_groups(resolved):
    assert resolved["type"] == "object"
    assert list(resolved["properties"]) == ["_id", "_acme"]
    assert resolved["properties"]["_id"]["type"] == "string"
    fields = charges_fields(resolved)
    assert fields["amount"] == {"type": "integer", "title": "Amount"}
    assert fields["tags"] == {"type": "array", "items": {"type": "string"}}
    assert fields["metadata"]["additionalProperties"] == {"type": "string"}


def test_resolve_merges_tenant_fields_from_several_documents():
    class_with_fields = {
        **CLASS_DOC,
        "definitions": {
            "base": {
                "properties": {
                    "_acme": {
                        "type": "object",
                        "properties": {"account": {"type": "string"}},
                    }
                }
            }
        },
        "allOf": [{"$ref": "https://ns.adobe.com/xdm/data/record"}, {"$ref": "#/definitions/base"}],
    }
    resolved = resolve_schema(SCHEMA_DOC, {CLASS_ID: class_with_fields, GROUP_ID: GROUP_DOC}.get)
    assert list(resolved["properties"]["_acme"]["properties"]) == ["account", "charges_data"]


def test_field_group_without_allof_still_contributes_its_definitions():
    group = {key: value for key, value in GROUP_DOC.items() if key != "allOf"}
    resolved = resolve_schema(SCHEMA_DOC, {CLASS_ID: CLASS_DOC, GROUP_ID: group}.get)
    assert "amount" in charges_fields(resolved)


def test_data_type_references_resolve_through_lookup():
    address_id = "https://ns.adobe.com/acme/datatypes/address"
    group = {
        "$id": GROUP_ID,
        "properties": {
            "_acme": {
                "type": "object",
                "properties": {
                    "home": {"$ref": address_id},
                    "work": {"$ref": "https://ns.adobe.com/xdm/datatypes/unknown"},
                },
            }
        },
    }
    address = {"$id": address_id, "properties": {"city": {"type": "string"}}}
    lookup = {CLASS_ID: CLASS_DOC, GROUP_ID: group, address_id: address}.get
    resolved = resolve_schema(SCHEMA_DOC, lookup)
    tenant = resolved["properties"]["_acme"]["properties"]
    assert tenant["home"] == {"type": "object", "properties": {"city": {"type": "string"}}}
    assert tenant["work"] == {"type": "object", "additionalProperties": True}
    record = {"_acme": {"home": {"city": "Oslo"}, "work": {"anything": 1}}}
    assert validate_record(record, resolved) == []
    assert validate_record({"_acme": {"home": {"zip": "1"}}}, resolved) == [
        "Field '_acme.home.zip' is not defined in the schema"
    ]


def test_reference_cycles_terminate():
    a = {"$id": "a", "allOf": [{"$ref": "b"}], "properties": {"x": {"type": "string"}}}
    b = {"$id": "b", "allOf": [{"$ref": "a"}], "properties": {"y": {"type": "string"}}}
    resolved = resolve_schema({"allOf": [{"$ref": "a"}]}, {"a": a, "b": b}.get)
    assert set(resolved["properties"]) == {"x", "y"}


def test_missing_references_contribute_only_the_id():
    resolved = resolve_schema(SCHEMA_DOC, lambda ref: None)
    assert list(resolved["properties"]) == ["_id"]


def test_a_valid_record_passes(resolved):
    record = {
        "_id": "ch_1",
        "_acme": {
            "charges_data": {
                "id": "ch_1",
                "amount": 1099,
                "created": 1679090539,
                "paid": True,
                "rate": 1,
                "settled_at": "2023-03-17T21:02:19.000Z",
                "day": "2023-03-17",
                "small": -5,
                "tags": ["a"],
                "metadata": {"order": "7"},
            }
        },
    }
    assert validate_record(record, resolved) == []
    record["_acme"]["charges_data"]["amount"] = None  # nulls are allowed
    assert validate_record(record, resolved) == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount", "1099", "Field '_acme.charges_data.amount' expected integer, got string"),
        ("amount", True, "Field '_acme.charges_data.amount' expected integer, got boolean"),
        ("amount", 10.5, "Field '_acme.charges_data.amount' expected integer, got number"),
        (
            "amount",
            2**60,
            "Field '_acme.charges_data.amount' value 1152921504606846976 is outside the range "
            "-9007199254740992 to 9007199254740992",
        ),
        ("small", 40000, "Field '_acme.charges_data.small' value 40000 is outside the range"),
        ("paid", "true", "Field '_acme.charges_data.paid' expected boolean, got string"),
        ("rate", "1.5", "Field '_acme.charges_data.rate' expected number, got string"),
        ("id", 12, "Field '_acme.charges_data.id' expected string, got integer"),
        (
            "settled_at",
            1679090539,
            "Field '_acme.charges_data.settled_at' expected date-time, got integer",
        ),
        (
            "settled_at",
            "2023-03-17 21:02",
            "Field '_acme.charges_data.settled_at' expected date-time, "
            "got string '2023-03-17 21:02'",
        ),
        (
            "settled_at",
            "2023-02-30T00:00:00Z",
            "Field '_acme.charges_data.settled_at' expected date-time",
        ),
        ("day", "17/03/2023", "Field '_acme.charges_data.day' expected date, got string"),
        ("tags", "a", "Field '_acme.charges_data.tags' expected array, got string"),
        ("tags", ["a", 2], "Field '_acme.charges_data.tags[1]' expected string, got integer"),
        (
            "metadata",
            {"n": 1},
            "Field '_acme.charges_data.metadata.n' expected string, got integer",
        ),
        ("unknown", 1, "Field '_acme.charges_data.unknown' is not defined in the schema"),
    ],
)
def test_invalid_values_are_reported(resolved, field, value, message):
    errors = validate_record({"_acme": {"charges_data": {field: value}}}, resolved)
    assert len(errors) == 1
    assert errors[0].startswith(message)


def test_objects_must_be_objects(resolved):
    assert validate_record({"_acme": "x"}, resolved) == [
        "Field '_acme' expected object, got string"
    ]
    assert validate_record({"other": 1}, resolved) == ["Field 'other' is not defined in the schema"]


@pytest.mark.parametrize(
    ("node", "kind"),
    [
        ({"type": "integer"}, "integer"),
        (LONG, "long"),
        ({"type": "integer", "minimum": -2147483648, "maximum": 2147483648}, "int"),
        ({"type": "integer", "meta:xdmType": "byte"}, "byte"),
        ({"type": "number"}, "number"),
        ({"type": "string", "format": "date-time"}, "date-time"),
        ({"type": "string", "format": "date"}, "date"),
        ({"type": "object", "additionalProperties": {"type": "string"}}, "map"),
        ({"type": ["string", "null"]}, "string"),
    ],
)
def test_xdm_kind(node, kind):
    assert xdm_kind(node) == kind


@pytest.mark.parametrize(
    ("explored", "expected"),
    [
        ({"type": "integer", "minimum": -9007199254740992, "maximum": 9007199254740991}, LONG),
        ({"type": "integer"}, LONG),
        ({"type": "number"}, {"type": "number"}),
        ({"type": "boolean"}, {"type": "boolean"}),
        ({"type": "string"}, {"type": "string"}),
        ({}, {"type": "string"}),
        (
            {"type": "object", "properties": {}},
            {"type": "object", "additionalProperties": {"type": "string"}},
        ),
        (
            {"type": "object", "properties": {"used": {"type": "boolean"}, "n": {}}},
            {
                "type": "object",
                "properties": {"used": {"type": "boolean"}, "n": {"type": "string"}},
            },
        ),
        ({"type": "array", "items": {}}, {"type": "array", "items": {"type": "string"}}),
        (
            {"type": "array", "items": {"type": "integer"}},
            {"type": "array", "items": LONG},
        ),
    ],
)
def test_xdm_type_for(explored, expected):
    assert xdm_type_for(explored) == expected


def test_epoch_fields_stay_integers():
    explored = infer_hierarchical_schema([FIXTURES["charge"]])
    created = explored["properties"]["data"]["properties"]["created"]
    assert xdm_type_for(created) == LONG


def test_field_group_body_from_explore():
    explored = infer_hierarchical_schema([FIXTURES["charge"]])
    body = field_group_from_explore(
        "acme", "charges", explored, "Stripe Charges", class_ids=[CLASS_ID]
    )
    assert body["title"] == "Stripe Charges"
    assert body["description"] == "Stripe charges fields"
    assert body["type"] == "object"
    assert body["meta:intendedToExtend"] == [CLASS_ID]
    assert body["allOf"] == [{"$ref": "#/definitions/charges"}]
    tenant = body["definitions"]["charges"]["properties"]["_acme"]
    assert tenant["type"] == "object"
    container = tenant["properties"]["charges_data"]
    assert container["type"] == "object"
    fields = container["properties"]
    assert list(fields) == list(FIXTURES["charge"])
    assert fields["amount"] == {"title": "Amount", **LONG}
    assert fields["id"] == {"title": "ID", "type": "string"}
    assert fields["metadata"]["additionalProperties"] == {"type": "string"}
    card = fields["payment_method_details"]["properties"]["card"]
    assert card["title"] == "Card"
    assert card["properties"]["exp_month"]["title"] == "Exp Month"


def test_field_group_accepts_the_data_node_and_an_underscored_tenant():
    explored = infer_hierarchical_schema([FIXTURES["price"]])
    from_root = field_group_from_explore("acme", "prices", explored, "Prices")
    from_data = field_group_from_explore(
        "_acme", "prices", explored["properties"]["data"], "Prices"
    )
    assert from_root == from_data
    assert list(from_root["definitions"]["prices"]["properties"]) == ["_acme"]
    assert from_root["meta:intendedToExtend"] == []


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_every_resource_round_trips_explore_field_group_mapping_and_validation(name):
    """What the onboarding wizard builds for a resource accepts that resource's objects."""
    resource = RESOURCE_PATHS[name]
    explored = infer_hierarchical_schema([FIXTURES[name]])
    group = {"$id": GROUP_ID, **field_group_from_explore("acme", resource, explored, resource)}
    resolved = resolve_schema(SCHEMA_DOC, {CLASS_ID: CLASS_DOC, GROUP_ID: group}.get)
    mappings = default_mappings("acme", resource, explored)
    assert mappings[0]["destination"].startswith(f"_acme.{resource}_data.")
    mapped = compile_mappings(mappings, resolved).apply({"data": FIXTURES[name]})
    assert mapped.errors == []
    assert validate_record(mapped.output, resolved) == []
    container = mapped.output["_acme"][f"{resource}_data"]
    assert container["id"] == FIXTURES[name]["id"]
    assert container["created"] == FIXTURES[name]["created"]
