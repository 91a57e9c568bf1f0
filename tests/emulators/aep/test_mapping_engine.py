from __future__ import annotations

import json
from pathlib import Path

import pytest

from emulators.aep.mapping import (
    STORED_SOURCE_TYPES,
    MappingIssue,
    MappingValidationError,
    compile_mappings,
    normalise_mappings,
    preview,
    validate_expression,
    validate_mappings,
)

FIXTURES = Path(__file__).resolve().parents[3] / "emulators" / "stripe" / "fixtures.json"


@pytest.fixture(scope="module")
def charge() -> dict:
    return json.loads(FIXTURES.read_text())["charge"]


def test_normalise_accepts_the_modern_shape():
    body = [
        {
            "sourceType": "EXPRESSION",
            "source": "upper(data.currency)",
            "destination": "_acme.charges_data.currency",
            "name": "currency",
            "description": "ISO code",
            "identity": True,
        }
    ]
    assert normalise_mappings(body) == [
        {
            "sourceType": "EXPRESSION",
            "source": "upper(data.currency)",
            "destination": "_acme.charges_data.currency",
            "identity": True,
            "name": "currency",
            "description": "ISO code",
        }
    ]


def test_normalise_reads_the_legacy_tutorial_shape_as_attributes():
    body = [
        {
            "destinationXdmPath": "_acme.charges_data.id",
            "sourceAttribute": "data.id",
            "identity": False,
            "version": 0,
        }
    ]
    assert normalise_mappings(body) == [
        {
            "sourceType": "ATTRIBUTE",
            "source": "data.id",
            "destination": "_acme.charges_data.id",
            "identity": False,
        }
    ]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("text/x.schema-path", "ATTRIBUTE"),
        ("text/x.aep-xl", "EXPRESSION"),
        ("text/plain", "STATIC"),
        ("expression", "EXPRESSION"),
        (None, "ATTRIBUTE"),
        ("FORMULA", "FORMULA"),
    ],
)
def test_normalise_source_types(given, expected):
    [mapping] = normalise_mappings([{"sourceType": given, "source": "a", "destination": "b"}])
    assert mapping["sourceType"] == expected


def test_stored_source_types_round_trip_through_normalise():
    for plain, stored in STORED_SOURCE_TYPES.items():
        body = [{"sourceType": stored, "source": "x", "destination": "y"}]
        assert normalise_mappings(body)[0]["sourceType"] == plain


def test_modern_keys_win_over_legacy_keys():
    body = [{"source": "data.a", "sourceAttribute": "data.b", "destination": "x"}]
    assert normalise_mappings(body)[0]["source"] == "data.a"


def test_compile_reports_every_problem_with_its_index():
    body = [
        {"source": "data.id", "destination": "_acme.c.id"},
        {"sourceType": "EXPRESSION", "source": "shout(data.id)", "destination": "_acme.c.loud"},
        {"sourceType": "FORMULA", "source": "x", "destination": "_acme.c.f"},
        {"source": "data..id", "destination": "_acme.c.bad"},
        {"source": "data.id", "destination": ""},
        {"sourceType": "EXPRESSION", "source": "1 +", "destination": "_acme.c.sum"},
        {"source": "data.object", "destination": "_acme.c.id"},
    ]
    with pytest.raises(MappingValidationError) as caught:
        compile_mappings(body)
    assert caught.value.errors == [
        MappingIssue(
            1,
            "shout(data.id)",
            "_acme.c.loud",
            "Function 'shout' is not supported",
            "MAPPER-1005-400",
        ),
        MappingIssue(2, "x", "_acme.c.f", "Unsupported sourceType 'FORMULA'", "MAPPER-1001-400"),
        MappingIssue(
            3,
            "data..id",
            "_acme.c.bad",
            "Invalid source path: Path 'data..id' has an empty field name",
            "MAPPER-1002-400",
        ),
        MappingIssue(
            4, "data.id", "", "Invalid destination path: Path is empty", "MAPPER-1003-400"
        ),
        MappingIssue(
            5,
            "1 +",
            "_acme.c.sum",
            "Invalid expression: Unexpected end of expression",
            "MAPPER-1004-400",
        ),
        MappingIssue(
            6,
            "data.object",
            "_acme.c.id",
            "Destination '_acme.c.id' is mapped more than once",
            "MAPPER-1007-400",
        ),
    ]
    assert "mapping 1: Function 'shout' is not supported" in str(caught.value)


def test_validate_mappings_returns_one_entry_per_mapping():
    body = [
        {"sourceAttribute": "data.id", "destinationXdmPath": "_acme.c.id"},
        {"sourceType": "EXPRESSION", "source": "foo(1)", "destination": "_acme.c.x"},
        {"sourceType": "STATIC", "source": "stripe", "destination": "_acme.c.origin"},
    ]
    assert validate_mappings(body) == [
        {"status": "SUCCESS", "errors": None},
        {
            "status": "FAILED",
            "errors": [
                {
                    "code": "MAPPER-1005-400",
                    "message": "Function 'foo' is not supported",
                    "source": "foo(1)",
                    "destination": "_acme.c.x",
                    "sourceType": "EXPRESSION",
                }
            ],
        },
        {"status": "SUCCESS", "errors": None},
    ]


def test_tutorial_mapping_maps_a_stripe_charge(charge):
    """The tutorial maps whole objects next to their own sub-fields."""
    body = [
        {"destinationXdmPath": f"_acme.charges_data.{field}", "sourceAttribute": f"data.{field}"}
        for field in (
            "id",
            "amount",
            "customer",
            "outcome",
            "payment_method_details",
            "payment_method_details.card.last4",
            "payment_method_details.card.overcapture.status",
        )
    ]
    mapped = compile_mappings(body).apply({"data": charge})
    assert mapped.errors == []
    charges_data = mapped.output["_acme"]["charges_data"]
    assert charges_data["id"] == charge["id"]
    assert charges_data["amount"] == 100
    assert "customer" not in charges_data  # null values are not written
    assert charges_data["outcome"] == charge["outcome"]
    assert charges_data["payment_method_details"] == charge["payment_method_details"]


def test_expressions_statics_and_record_errors(charge):
    body = [
        {"sourceType": "EXPRESSION", "source": "upper(data.currency)", "destination": "x.currency"},
        {"sourceType": "EXPRESSION", "source": "data.amount / 100", "destination": "x.amount"},
        {
            "sourceType": "EXPRESSION",
            "source": "dformat(data.created * 1000, \"yyyy-MM-dd'T'HH:mm:ss.SSSX\")",
            "destination": "x.createdAt",
        },
        {"sourceType": "STATIC", "source": "stripe", "destination": "x.origin"},
        {"sourceType": "EXPRESSION", "source": "to_integer(data.currency)", "destination": "x.bad"},
    ]
    mapped = compile_mappings(body).apply({"data": charge})
    assert mapped.output == {
        "x": {
            "currency": "USD",
            "amount": 1,
            "createdAt": "2009-02-13T23:31:30.000Z",
            "origin": "stripe",
        }
    }
    assert mapped.errors == ["x.bad: to_integer: cannot convert 'usd' to an integer"]
    assert not mapped.ok


def test_preview_shape(charge):
    body = [
        {"sourceType": "ATTRIBUTE", "source": "data.id", "destination": "_id"},
        {"sourceType": "EXPRESSION", "source": "to_integer(data.id)", "destination": "n"},
    ]
    ok_record = {"data": {"id": "42"}}
    assert preview(body, [ok_record, {"data": charge}]) == [
        {"data": {"_id": "42", "n": 42}, "errors": None},
        {
            "data": {"_id": charge["id"]},
            "errors": [
                {
                    "code": "MAPPER-3700-400",
                    "message": f"to_integer: cannot convert '{charge['id']}' to an integer",
                    "source": "to_integer(data.id)",
                    "destination": "n",
                    "sourceType": "EXPRESSION",
                }
            ],
        },
    ]


def test_preview_rejects_an_invalid_mapping_set():
    with pytest.raises(MappingValidationError, match="Function 'nope' is not supported"):
        preview([{"sourceType": "EXPRESSION", "source": "nope()", "destination": "a"}], [{}])


SCHEMA = {
    "type": "object",
    "properties": {
        "_acme": {
            "type": "object",
            "properties": {
                "c": {
                    "type": "object",
                    "properties": {
                        "amount": {"type": "integer"},
                        "rate": {"type": "number"},
                        "label": {"type": "string"},
                        "paid": {"type": "boolean"},
                        "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
                        "card": {
                            "type": "object",
                            "properties": {"exp_year": {"type": "string"}},
                        },
                        "lines": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {"qty": {"type": "integer"}},
                            },
                        },
                    },
                }
            },
        }
    },
}


def test_destinations_must_exist_in_the_output_schema():
    body = [
        {"source": "data.amount", "destination": "_acme.c.amount"},
        {"source": "data.amount", "destination": "_acme.c.total"},
        {"source": "data.meta.key", "destination": "_acme.c.metadata.key"},
    ]
    [issue] = [
        e for entry in validate_mappings(body, SCHEMA) if entry["errors"] for e in entry["errors"]
    ]
    assert issue["code"] == "MAPPER-1006-400"
    assert issue["message"] == "Destination '_acme.c.total' is not defined in the target schema"


@pytest.mark.parametrize(
    ("destination", "value", "expected"),
    [
        ("amount", "12", 12),
        ("amount", 12.0, 12),
        ("rate", "1.5", 1.5),
        ("rate", 2, 2),
        ("label", 12, "12"),
        ("label", True, "true"),
        ("paid", "true", True),
        ("metadata", {"k": 1}, {"k": "1"}),
        ("card", {"exp_year": 2030, "brand": "visa"}, {"exp_year": "2030", "brand": "visa"}),
    ],
)
def test_values_are_converted_to_the_destination_type(destination, value, expected):
    compiled = compile_mappings([{"source": "v", "destination": f"_acme.c.{destination}"}], SCHEMA)
    mapped = compiled.apply({"v": value})
    assert mapped.errors == []
    assert mapped.output["_acme"]["c"][destination] == expected


@pytest.mark.parametrize(
    ("destination", "value", "message"),
    [
        ("amount", "abc", "Cannot convert 'abc' to integer"),
        ("amount", 10.5, "Cannot convert 10.5 to integer without losing precision"),
        ("amount", True, "Cannot convert a boolean to integer"),
        ("rate", "fast", "Cannot convert 'fast' to number"),
        ("paid", "yes", "Cannot convert 'yes' to boolean"),
        ("label", {"a": 1}, "Cannot convert an object to string"),
    ],
)
def test_impossible_conversions_are_record_errors(destination, value, message):
    compiled = compile_mappings([{"source": "v", "destination": f"_acme.c.{destination}"}], SCHEMA)
    mapped = compiled.apply({"v": value})
    assert mapped.errors == [f"_acme.c.{destination}: {message}"]
    assert mapped.output == {}


def test_wildcard_destinations_convert_each_element():
    body = [{"source": "data.items[*].quantity", "destination": "_acme.c.lines[*].qty"}]
    mapped = compile_mappings(body, SCHEMA).apply(
        {"data": {"items": [{"quantity": "2"}, {"quantity": 3}]}}
    )
    assert mapped.output == {"_acme": {"c": {"lines": [{"qty": 2}, {"qty": 3}]}}}


def test_validate_expression():
    assert validate_expression('concat("Hi", ",", "there", "!")') == []
    assert validate_expression("frobnicate(1)") == ["Function 'frobnicate' is not supported"]


def test_unforeseen_failures_stay_record_errors():
    body = [
        {"sourceType": "EXPRESSION", "source": "lpad('a', 1000000000, 'b')", "destination": "a"},
        {"sourceType": "EXPRESSION", "source": "to_bigint('1e999')", "destination": "b"},
        {"sourceType": "EXPRESSION", "source": "floor(1e308 * 1e308)", "destination": "c"},
        {"sourceType": "STATIC", "source": "kept", "destination": "d"},
    ]
    mapped = compile_mappings(body).apply({})
    assert mapped.output == {"d": "kept"}
    assert mapped.errors == [
        "a: lpad count 1000000000 is larger than 65536",
        "b: to_bigint: '1e999' is out of range",
        "c: Operator '*' overflowed",
    ]
