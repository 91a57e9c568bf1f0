"""What the fuzzer posts: the forms the pages really render, and hostile variations of them.

`FormCatalog` reads every form (and htmx post target) out of the rendered pages, with the
values the page offers, so a fuzzed post can start from what a browser would send and then
drop, garble, duplicate or add fields. The strategies are plain `hypothesis` strategies.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import strategies as st

FILE = object()  # marks a file input


@dataclass
class FormCatalog:
    """Field names and offered values of every form, by the path it posts to."""

    fields: dict[str, dict[str, set[Any]]] = field(default_factory=lambda: defaultdict(dict))
    # Query parameters the pages send (links, htmx polling, filter forms), by target path.
    query: dict[str, dict[str, set[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(set))
    )

    def read(self, page_path: str, html: str) -> None:
        parser = _FormParser(page_path)
        parser.feed(html)
        parser.close()
        for action, names in parser.forms:
            known = self.fields[action]
            for name, values in names.items():
                known.setdefault(name, set()).update(values)
        for (path, name), values in parser.query.items():
            self.query[path][name].update(values)

    def query_for(self, path: str) -> dict[str, set[str]]:
        return dict(self.query.get(path, {}))

    def for_path(self, path: str) -> dict[str, set[Any]]:
        return dict(self.fields.get(path, {}))


class _FormParser(HTMLParser):
    """Collects (action path, {field name: offered values}) for each form and htmx post."""

    def __init__(self, page_path: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_path = page_path
        self.forms: list[tuple[str, dict[str, set[Any]]]] = []
        self.query: dict[tuple[str, str], set[str]] = defaultdict(set)
        self._get_forms: list[str] = []
        self._open: list[tuple[str, dict[str, set[Any]]]] = []
        self._select: str | None = None

    def _target(self, attrs: dict[str, str | None]) -> str | None:
        target = attrs.get("hx-post") or (
            attrs.get("action") if attrs.get("method", "").lower() == "post" else None
        )
        if target is None and attrs.get("method", "").lower() == "post":
            target = ""
        if target is None:
            return None
        return urlsplit(target).path or self.page_path

    def handle_starttag(self, tag: str, attr_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: v or "" for k, v in attr_list}
        for link in (attrs.get("href"), attrs.get("hx-get")):
            parts = urlsplit(link or "")
            for name, value in parse_qsl(parts.query, keep_blank_values=True):
                self.query[(parts.path or self.page_path, name)].add(value)
        if tag == "form" and attrs.get("method", "get").lower() == "get":
            self._get_forms.append(urlsplit(attrs.get("action", "")).path or self.page_path)
            return
        if self._get_forms and attrs.get("name") and tag in ("input", "select"):
            self.query[(self._get_forms[-1], attrs["name"])].add(attrs.get("value", ""))
        if tag == "form":
            target = self._target(attrs)
            self._open.append((target or "", {}))
            return
        if attrs.get("hx-post") and tag != "form":
            # A button or block posting on its own (hx-vals would carry its fields).
            values = (
                json.loads(attrs["hx-vals"]) if attrs.get("hx-vals", "").startswith("{") else {}
            )
            fields = {name: {str(value)} for name, value in values.items()}
            self.forms.append((self._target(attrs) or self.page_path, fields))
        if not self._open:
            return
        fields = self._open[-1][1]
        name = attrs.get("name")
        if tag == "select":
            self._select = name
            if name:
                fields.setdefault(name, set())
        elif tag == "option" and self._select:
            fields[self._select].add(attrs.get("value", ""))
        elif tag in ("input", "textarea", "button") and name:
            kind = attrs.get("type", "text").lower()
            offered = fields.setdefault(name, set())
            if kind == "file":
                offered.add(FILE)
            elif kind in ("checkbox", "radio"):
                offered.add(attrs.get("value") or "on")
            else:
                offered.add(attrs.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._get_forms:
            self._get_forms.pop()
            return
        if tag == "select":
            self._select = None
        elif tag == "form" and self._open:
            target, fields = self._open.pop()
            if target:
                self.forms.append((target, fields))


# -- strategies ------------------------------------------------------------------------------

NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\r\n",
    "\t\x0b\x0c",
    "null",
    "None",
    "true",
    "[]",
    "{}",
    '{"a": [1, {"b": null}]}',
    "[[[[",
    "-1",
    "0",
    "00",
    "1e309",
    "NaN",
    "-inf",
    "99999999999999999999999",
    "-9223372036854775809",
    "²",  # a digit to str.isdigit(), not to int()
    "١٢",  # Arabic-Indic digits
    "\U0001d7d9",
    "0x1F",
    "1_000",
    "1,5",
    "\u202eevil",
    "\ufeff",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../etc/passwd",
    "%00",
    "2025-02-30",
    "2025-13-01T25:61",
    "9999-12-31T23:59",
    "0001-01-01",
    "@AdobeOrg",
    "sk_test_",
    "rk_live_\x00",
    "https://",
    "javascript:alert(1)",
    "data.amount -> ",
    " -> _x.y (identity)",
]

# Any code point but surrogates: control characters, NUL, combining marks, emoji, RTL.
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=120)
numbers_as_text = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
)
json_ish = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
).map(lambda value: json.dumps(value, allow_nan=True))
huge_text = st.sampled_from([5_000, 120_000]).flatmap(
    lambda size: st.sampled_from(["x", "é", "\x00", "9"]).map(lambda ch: ch * size)
)
# Ids, pages and counts are where "a number" is trusted too early.
numberish = st.one_of(
    st.sampled_from(
        ["²", "١٢", "\U0001d7d9", "-1", "0", "99999999999999999999999", "1e3", " 7", "٣"]
    ),
    numbers_as_text,
)
hostile_value = st.one_of(
    st.sampled_from(NASTY), any_text, numbers_as_text, numberish, json_ish, huge_text
)


def upload() -> st.SearchStrategy[SimpleUploadedFile]:
    return st.tuples(
        st.sampled_from(["mapping.csv", "x.exe", "", "a\x00.csv"]),
        st.one_of(
            st.binary(max_size=300),
            st.sampled_from(
                [b"source,destination\ndata.id,_acme.charges_data.id\n", b"\xff\xfe\x00", b""]
            ),
        ),
    ).map(lambda pair: SimpleUploadedFile(pair[0] or "upload", pair[1]))


def field_value(offered: set[Any]) -> st.SearchStrategy[Any]:
    """What one field gets: a value the page offered, or something hostile."""
    if FILE in offered:
        return st.one_of(upload(), hostile_value)
    choices = sorted(v for v in offered if isinstance(v, str))
    options = [hostile_value]
    if choices:
        options.insert(0, st.sampled_from(choices))
    return st.one_of(*options)


def field_entry(offered: set[Any]) -> st.SearchStrategy[Any]:
    """Missing (None), one value, or the key sent several times."""
    value = field_value(offered)
    return st.one_of(st.none(), value, value, st.lists(value, min_size=2, max_size=3))


def payload(fields: dict[str, set[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """A post for a form with `fields`: each field kept, garbled, dropped or repeated, plus
    random extra fields, and now and then more fields than Django accepts."""
    known = st.fixed_dictionaries({name: field_entry(offered) for name, offered in fields.items()})
    extra = st.dictionaries(any_text.filter(bool), hostile_value, max_size=3)
    flood = st.sampled_from([0, 0, 0, 0, 0, 0, 0, 0, 0, 1_100])

    def combine(parts: tuple[dict, dict, int]) -> dict[str, Any]:
        chosen, added, count = parts
        data = {name: value for name, value in chosen.items() if value is not None}
        data.update({f"x{i}": "1" for i in range(count)})
        return {**added, **data}

    return st.tuples(known, extra, flood).map(combine)


def as_is(fields: dict[str, set[Any]]) -> dict[str, Any]:
    """The form as a browser would send it untouched: the first offered value of each field."""
    data = {}
    for name, offered in fields.items():
        values = sorted(v for v in offered if isinstance(v, str))
        if FILE in offered:
            data[name] = SimpleUploadedFile("mapping.csv", b"source,destination\n")
        elif values:
            data[name] = values[-1]
    return data
