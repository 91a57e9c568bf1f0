from __future__ import annotations

import json
from pathlib import Path

import pytest

from emulators.aep.inference import explore_response, infer_hierarchical_schema, merge_schemas

FIXTURES = json.loads(
    (Path(__file__).resolve().parents[3] / "emulators" / "stripe" / "fixtures.json").read_text()
)
INTEGER = {"type": "integer", "minimum": -9007199254740992, "maximum": 9007199254740991}


def data_properties(schema: dict) -> dict:
    assert schema["type"] == "object"
    assert list(schema["properties"]) == ["data"]
    assert schema["properties"]["data"]["type"] == "object"
    return schema["properties"]["data"]["properties"]


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_every_resource_infers_a_schema_rooted_at_data(name):
    obj = FIXTURES[name]
    properties = data_properties(infer_hierarchical_schema([obj]))
    assert list(properties) == list(obj)
    assert properties["id"] == {"type": "string"}
    assert properties["object"] == {"type": "string"}
    assert properties["created"] == INTEGER
    for field, value in obj.items():
        if value is None:
            assert properties[field] == {}, field
        elif isinstance(value, bool):
            assert properties[field] == {"type": "boolean"}, field
        elif isinstance(value, int):
            assert properties[field] == INTEGER, field


def test_charge_matches_the_tutorial_shape():
    properties = data_properties(infer_hierarchical_schema([FIXTURES["charge"]]))
    assert properties["amount"] == INTEGER
    assert properties["captured"] == {"type": "boolean"}
    assert properties["application"] == {}  # always null: untyped
    assert properties["metadata"] == {"type": "object", "properties": {}}
    assert properties["billing_details"]["properties"]["address"] == {
        "type": "object",
        "properties": {
            "city": {},
            "country": {},
            "line1": {},
            "line2": {},
            "postal_code": {},
            "state": {},
        },
    }
    card = properties["payment_method_details"]["properties"]["card"]["properties"]
    assert card["exp_month"] == INTEGER
    assert card["overcapture"]["properties"]["maximum_amount_capturable"] == INTEGER
    assert card["network_token"] == {"type": "object", "properties": {"used": {"type": "boolean"}}}
    assert properties["refunds"]["properties"]["data"] == {"type": "array", "items": {}}


def test_arrays_of_objects_and_numbers():
    sub = data_properties(infer_hierarchical_schema([FIXTURES["subscription"]]))
    item = sub["items"]["properties"]["data"]["items"]
    assert item["type"] == "object"
    assert item["properties"]["price"]["properties"]["unit_amount"] == INTEGER
    assert item["properties"]["quantity"] == INTEGER
    assert sub["default_tax_rates"] == {"type": "array", "items": {}}
    refund = data_properties(infer_hierarchical_schema([{"rate": 1.5, "tags": ["a", "b"]}]))
    assert refund == {
        "rate": {"type": "number"},
        "tags": {"type": "array", "items": {"type": "string"}},
    }


def test_types_merge_across_records():
    records = [
        {"id": "a", "amount": None, "fee": 1, "mixed": "x", "nested": {"a": 1}, "rows": [{"p": 1}]},
        {
            "id": "b",
            "amount": 5,
            "fee": 2.5,
            "mixed": 3,
            "nested": {"b": True},
            "rows": [{"q": "s"}],
        },
        {"id": "c", "only_here": None},
    ]
    properties = data_properties(infer_hierarchical_schema(records))
    assert properties["amount"] == INTEGER  # null in one record, integer in another
    assert properties["fee"] == {"type": "number"}  # integer and number widen to number
    assert properties["mixed"] == {"type": "string"}  # conflicting types read as string
    assert properties["only_here"] == {}
    assert properties["nested"] == {
        "type": "object",
        "properties": {"a": INTEGER, "b": {"type": "boolean"}},
    }
    assert properties["rows"] == {
        "type": "array",
        "items": {"type": "object", "properties": {"p": INTEGER, "q": {"type": "string"}}},
    }


def test_merge_keeps_known_type_over_unknown():
    assert merge_schemas({}, {"type": "string"}) == {"type": "string"}
    assert merge_schemas({"type": "string"}, {}) == {"type": "string"}


def test_no_records_gives_an_empty_data_object():
    assert infer_hierarchical_schema([]) == {
        "type": "object",
        "properties": {"data": {"type": "object", "properties": {}}},
    }


def test_explore_response_without_preview():
    response = explore_response([FIXTURES["price"]], preview=False)
    assert response["format"] == "hierarchical"
    assert response["schema"] == infer_hierarchical_schema([FIXTURES["price"]])
    assert "data" not in response


def test_explore_response_with_preview_wraps_each_record_in_the_root_field():
    records = [FIXTURES["refund"], FIXTURES["charge"]]
    response = explore_response(records, preview=True)
    assert list(response) == ["format", "schema", "data"]
    assert response["data"] == [{"data": FIXTURES["refund"]}, {"data": FIXTURES["charge"]}]
    response["data"][0]["data"]["id"] = "changed"
    assert FIXTURES["refund"]["id"] != "changed"
