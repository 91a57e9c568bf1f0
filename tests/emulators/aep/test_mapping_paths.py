from __future__ import annotations

import pytest

from emulators.aep.mapping.paths import (
    Each,
    Index,
    Key,
    PathError,
    format_path,
    parse_path,
    read_path,
    write_path,
)


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("data.amount", (Key("data"), Key("amount"))),
        ("data.items.data[0].id", (Key("data"), Key("items"), Key("data"), Index(0), Key("id"))),
        (r"metadata.order\.id", (Key("metadata"), Key("order.id"))),
        ("data.refunds.data[*].id", (Key("data"), Key("refunds"), Key("data"), Each(), Key("id"))),
        ("grid[1][2]", (Key("grid"), Index(1), Index(2))),
        ("_tenant.charges_data.amount", (Key("_tenant"), Key("charges_data"), Key("amount"))),
    ],
)
def test_parse_path(text, segments):
    assert parse_path(text) == segments


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("a..b", "empty field name"),
        (".a", "empty field name"),
        ("a[x]", "invalid index"),
        ("a[-1]", "invalid index"),
        ("a[0", "unclosed"),
        ("a[0]b", "after ']'"),
    ],
)
def test_parse_path_rejects_malformed_paths(text, message):
    with pytest.raises(PathError, match=message):
        parse_path(text)


@pytest.mark.parametrize("text", ["a.b[0].c", r"a\.b.c", "items[*].id"])
def test_format_path_round_trips(text):
    assert format_path(parse_path(text)) == text


RECORD = {
    "data": {
        "amount": 1099,
        "customer": None,
        "card": {"last4": "4242"},
        "items": {"data": [{"id": "si_1", "qty": 1}, {"id": "si_2", "qty": 3}]},
        "metadata": {"order.id": "A-7"},
    }
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("data.amount", 1099),
        ("data.card.last4", "4242"),
        ("data.card", {"last4": "4242"}),
        ("data.customer", None),
        ("data.missing.deeper", None),
        ("data.amount.deeper", None),  # stepping into a scalar is not an error
        ("data.items.data[1].id", "si_2"),
        ("data.items.data[5].id", None),
        ("data.card[0]", None),
        ("data.items.data[*].id", ["si_1", "si_2"]),
        ("data.card[*].id", None),
        (r"data.metadata.order\.id", "A-7"),
    ],
)
def test_read_path(path, expected):
    assert read_path(RECORD, parse_path(path)) == expected


def test_write_path_creates_nested_objects():
    out: dict = {}
    write_path(out, parse_path("_tenant.charges_data.amount"), 1099)
    write_path(out, parse_path("_tenant.charges_data.currency"), "usd")
    assert out == {"_tenant": {"charges_data": {"amount": 1099, "currency": "usd"}}}


def test_write_path_merges_a_whole_object_with_its_sub_fields_in_either_order():
    whole_first: dict = {}
    write_path(whole_first, parse_path("x.card"), {"brand": "visa", "last4": "4242"})
    write_path(whole_first, parse_path("x.card.checks.cvc"), "pass")
    parts_first: dict = {}
    write_path(parts_first, parse_path("x.card.checks.cvc"), "pass")
    write_path(parts_first, parse_path("x.card"), {"brand": "visa", "last4": "4242"})
    expected = {"x": {"card": {"brand": "visa", "last4": "4242", "checks": {"cvc": "pass"}}}}
    assert whole_first == expected
    assert parts_first == expected


def test_write_path_index_pads_the_array():
    out: dict = {}
    write_path(out, parse_path("tags[2]"), "c")
    write_path(out, parse_path("lines[1].id"), "li_2")
    assert out == {"tags": [None, None, "c"], "lines": [None, {"id": "li_2"}]}


def test_write_path_wildcard_spreads_a_list_over_array_elements():
    out: dict = {}
    write_path(out, parse_path("items[*].id"), ["si_1", "si_2"])
    write_path(out, parse_path("items[*].qty"), [1, 3])
    assert out == {"items": [{"id": "si_1", "qty": 1}, {"id": "si_2", "qty": 3}]}


def test_write_path_copies_the_value():
    source = {"brand": "visa"}
    out: dict = {}
    write_path(out, parse_path("card"), source)
    source["brand"] = "changed"
    assert out == {"card": {"brand": "visa"}}
