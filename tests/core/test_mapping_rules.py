"""The one mapping rule type: the wizard's rows, the editor's text and Data Prep's mapping sets
all become the same rules, and one builder makes the mapping-set body from them."""

from __future__ import annotations

from aep import payloads
from aep.types import FieldMapping
from core.mapping import (
    ATTRIBUTE,
    EXPRESSION,
    Rule,
    field_references,
    kind_of,
    mapping_set_body,
    rules_from_mappings,
)
from onboarding import mapping as wizard
from operations import mapping as editor


def test_a_wizard_row_and_its_rule_round_trip():
    row = {
        "source": "data.amount / 100",
        "destination": "_acme.charges_data.amount_decimal",
        "identity": False,
        "kind": EXPRESSION,
        "type": "number",
    }
    assert Rule.from_row(row).as_row() == row
    assert Rule.from_row({"source": "data.id", "destination": "_acme.c.id"}) == Rule(
        "data.id", "_acme.c.id"
    )


def test_the_wizard_and_the_editor_send_the_same_body_for_the_same_rules():
    rows = [
        wizard.attribute_row("data.id", "_acme.c.id", identity=True),
        {"source": "upper(data.currency)", "destination": "_acme.c.cur", "kind": EXPRESSION},
    ]
    text = "data.id -> _acme.c.id (identity)\nupper(data.currency) -> _acme.c.cur"
    from_rows = mapping_set_body("https://ns/s", wizard.rules(rows))
    from_text = mapping_set_body("https://ns/s", editor.parse_rules(text))
    expected = [
        payloads.mapping_rule("data.id", "_acme.c.id", identity=True),
        payloads.mapping_rule("upper(data.currency)", "_acme.c.cur", source_type=EXPRESSION),
    ]
    assert from_rows == from_text == payloads.mapping_set("https://ns/s", expected)


def test_a_mapping_set_reads_with_the_kind_data_prep_stored():
    mappings = [
        FieldMapping("data.id", "_acme.c.id", "text/x.schema-path", identity=True),
        FieldMapping("data.amount", "_acme.c.amount_copy", "text/x.aep-xl"),
    ]
    assert rules_from_mappings(mappings) == [
        Rule("data.id", "_acme.c.id", identity=True),
        Rule("data.amount", "_acme.c.amount_copy", kind=EXPRESSION, type="string"),
    ]
    # The editor's text carries no kind: there it follows the source's shape.
    assert [r.kind for r in editor.text_rules(mappings)] == [ATTRIBUTE, ATTRIBUTE]


def test_kind_by_shape_and_the_fields_a_source_reads():
    assert kind_of("data.items[0].price") == ATTRIBUTE
    assert kind_of("data.amount / 100") == EXPRESSION
    assert field_references('concat(data.currency, "data.not_a_field", data.outcome.type)') == {
        "data.currency",
        "data.outcome.type",
    }
