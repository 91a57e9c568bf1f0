"""Plain functions behind the wizard: profiling, mapping rules, CSV, schedule wording."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core import profiling
from core.mapping import mapping_set_body
from onboarding import mapping
from onboarding import schedule as schedules

NS = "_acme"
KNOWN = {"data.amount", "data.currency", "data.billing_details.email"}


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("email", "email"),
        ("billing_details.email", "email"),
        ("receipt_email", "email"),
        ("name", "name"),
        ("shipping.name", "name"),
        ("nickname", ""),
        ("phone", "phone"),
        ("billing_details.address.city", "address"),
        ("shipping.address", "address"),
        ("payment_method_details.card.last4", "card"),
        ("payment_method_details.card.fingerprint", "card"),
        ("city", ""),
        ("amount", ""),
    ],
)
def test_pii_flags(path, kind):
    assert profiling.pii_kind(path) == kind


def test_xdm_types_mirror_the_explored_types():
    assert profiling.xdm_field({"type": "integer"})["maximum"] == 9007199254740991
    assert profiling.xdm_field({}) == {"type": "string"}
    assert profiling.xdm_field({"type": "object", "properties": {}}) == {
        "type": "object",
        "additionalProperties": {"type": "string"},
    }
    assert profiling.xdm_field({"type": "array", "items": {"type": "boolean"}}) == {
        "type": "array",
        "items": {"type": "boolean"},
    }


def test_row_errors_cover_namespace_unknown_sources_and_expressions():
    ok = mapping.attribute_row("data.amount", "_acme.charges_data.amount")
    assert mapping.row_errors(ok, NS, KNOWN) == {}
    outside = mapping.attribute_row("data.amount", "commerce.order.price")
    assert "namespace" in mapping.row_errors(outside, NS, KNOWN)["destination"]
    unknown = mapping.attribute_row("data.amonut", "_acme.x")
    assert "not a field" in mapping.row_errors(unknown, NS, KNOWN)["source"]
    calc = {"source": 'concat(data.currency, "data.fake")', "destination": "_acme.x",
            "kind": "EXPRESSION", "type": "string"}  # fmt: skip
    assert mapping.row_errors(calc, NS, KNOWN) == {}  # text inside quotes is not a field
    calc["source"] = "upper(data.billing_details)"  # an object that has known leaves
    assert mapping.row_errors(calc, NS, KNOWN) == {}
    calc["type"] = ""
    assert "type" in mapping.row_errors(calc, NS, KNOWN)
    calc["source"] = "x" * 5000
    assert "4096" in mapping.row_errors(calc, NS, KNOWN)["source"]


def test_recipes_build_rows_with_typed_destinations():
    recipe = mapping.RECIPES["iso_time"]
    destination = mapping.recipe_destination(recipe, "data.created", NS, "charges")
    assert destination == "_acme.charges_data.created_at"
    row = mapping.recipe_row(recipe, "data.created", destination)
    assert row["source"] == "dformat(data.created * 1000, \"yyyy-MM-dd'T'HH:mm:ssXXX\")"
    assert row["type"] == "date-time"


def test_field_group_adds_calculated_destinations_with_their_types():
    schema = {"type": "object", "properties": {"data": {"type": "object", "properties": {
        "amount": {"type": "integer"}}}}}  # fmt: skip
    rows = [
        mapping.attribute_row("data.amount", "_acme.charges_data.amount"),
        {"source": "data.amount / 100", "destination": "_acme.charges_data.amount_decimal",
         "kind": "EXPRESSION", "type": "number"},
        {"source": "now()", "destination": "_acme.meta.loaded_at", "kind": "EXPRESSION",
         "type": "date-time"},
    ]  # fmt: skip
    body = mapping.field_group_body(
        title="t", description="d", tenant_namespace=NS, resource_path="charges",
        explored_schema=schema, rows=rows, class_id="https://ns/c",
    )  # fmt: skip
    tree = body["definitions"]["charges"]["properties"]["_acme"]["properties"]
    assert tree["charges_data"]["properties"]["amount_decimal"] == {"type": "number"}
    assert tree["meta"]["properties"]["loaded_at"] == {"type": "string", "format": "date-time"}
    assert body["meta:intendedToExtend"] == ["https://ns/c"]


def test_mapping_set_body_carries_source_types_and_identity():
    rows = [
        mapping.attribute_row("data.id", "_acme.c.id", identity=True),
        {"source": "upper(data.currency)", "destination": "_acme.c.cur", "kind": "EXPRESSION"},
    ]
    body = mapping_set_body("https://ns/s", mapping.rules(rows))
    assert body["outputSchema"]["schemaRef"]["id"] == "https://ns/s"
    assert body["mappings"][0] == {
        "sourceType": "ATTRIBUTE", "source": "data.id", "destination": "_acme.c.id",
        "identity": True,
    }  # fmt: skip
    assert body["mappings"][1]["sourceType"] == "EXPRESSION"


def test_csv_round_trip_and_errors():
    rows = [mapping.attribute_row("data.id", "_acme.c.id", identity=True)]
    assert mapping.rows_from_csv(mapping.rows_to_csv(rows)) == rows
    with pytest.raises(mapping.CSVImportError, match="kind must be"):
        mapping.rows_from_csv("source,destination,kind\ndata.id,_a.b,MAGIC\n")
    with pytest.raises(mapping.CSVImportError, match="no mapping rows"):
        mapping.rows_from_csv("source,destination\n")


def test_interval_rules():
    assert schedules.interval_error("once", None) == ""
    assert schedules.interval_error("hour", 1) == ""
    assert "1 or more" in schedules.interval_error("day", 0)
    assert "15" in schedules.interval_error("minute", 14)
    assert schedules.interval_error("minute", 15) == ""


def test_summaries_read_as_sentences():
    start = datetime(2025, 12, 3, 9, 0, tzinfo=UTC)
    assert schedules.summary("hour", 2, start, True, ["charges"]) == (
        "Every 2 hours from 3 Dec 2025 09:00 UTC; the first run loads all charges created "
        "before then."
    )
    assert schedules.summary("day", 1, start, False, ["refunds"], "Asia/Seoul").startswith(
        "Every day from 3 Dec 2025 18:00 KST; only refunds created after then"
    )
    assert schedules.summary("once", None, start, False, ["prices"]).startswith("Once, at")


def test_start_time_is_read_in_the_chosen_zone_and_sent_in_utc():
    parsed = schedules.parse_local("2025-12-03T10:00", "Europe/Berlin")
    assert parsed.astimezone(UTC) == datetime(2025, 12, 3, 9, 0, tzinfo=UTC)
    assert schedules.parse_local("tomorrow", "UTC") is None
    api = schedules.to_api("minute", 15, parsed, True).to_api()
    assert api == {"startTime": 1764752400, "frequency": "minute", "interval": 15, "backfill": True}
    assert schedules.to_api("once", None, parsed, False).to_api() == {
        "startTime": 1764752400,
        "frequency": "once",
    }
