"""From an explored Stripe schema and its sample records to what the wizard shows and creates,
and to the fields schema drift compares.

The explore schema is rooted at `data` (each Stripe object is one `data` record; notes §2.4.2),
so every source attribute starts with `data.`. Fields are profiled on the sample: fill rate,
an example value, and a flag for values that look like personal data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _

ROOT = "data"
SAMPLE_ROWS_KEPT = 20
EXAMPLE_MAX_CHARS = 60
XDM_LONG = {"type": "integer", "minimum": -9007199254740992, "maximum": 9007199254740991}

PII_LABELS = {
    "email": _("email address"),
    "name": _("person's name"),
    "phone": _("phone number"),
    "address": _("postal address"),
    "card": _("card detail"),
}
_ADDRESS_PARTS = {"line1", "line2", "city", "postal_code", "state", "country"}
_ADDRESS_PARENTS = {"address", "shipping"}


def explored_properties(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Properties of the Stripe object, whether given the explore root or its `data` node."""
    properties = schema.get("properties") or {}
    data = properties.get(ROOT)
    if isinstance(data, Mapping) and data.get("type") == "object":
        return dict(data.get("properties") or {})
    return dict(properties)


def field_type(fragment: Mapping[str, Any]) -> str:
    """The explored JSON type, or "" when the field was null in every sampled object."""
    kind = fragment.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "")
    return str(kind or "")


def xdm_type_label(fragment: Mapping[str, Any]) -> str:
    """How the field will be stored in XDM, in the words the Schema editor uses."""
    kind = field_type(fragment)
    if kind == "integer":
        return "long"
    if kind == "number":
        return "double"
    if kind == "object":
        return "object" if fragment.get("properties") else "map"
    return kind or "string"


def xdm_field(fragment: Mapping[str, Any]) -> dict[str, Any]:
    """The XDM definition mirroring one explored field.

    Integers are XDM `long` (Stripe amounts and epoch seconds both fit), untyped always-null
    fields become strings, and objects without known keys (`metadata`) become string maps.
    """
    kind = field_type(fragment)
    if kind == "integer":
        return dict(XDM_LONG)
    if kind in ("number", "boolean", "string"):
        return {"type": kind}
    if kind == "object":
        properties = fragment.get("properties") or {}
        if not properties:
            return {"type": "object", "additionalProperties": {"type": "string"}}
        return {"type": "object", "properties": {k: xdm_field(v) for k, v in properties.items()}}
    if kind == "array":
        return {"type": "array", "items": xdm_field(fragment.get("items") or {})}
    return {"type": "string"}


def pii_kind(path: str) -> str:
    """ "email", "name", "phone", "address", "card" or "" for a dotted field path."""
    parts = path.lower().split(".")
    leaf = parts[-1]
    if "email" in leaf:
        return "email"
    if "phone" in leaf:
        return "phone"
    if leaf in ("fingerprint", "last4", "dynamic_last4"):
        return "card"
    if leaf == "name" or (leaf.endswith("_name") and leaf != "nickname"):
        return "name"
    if leaf in _ADDRESS_PARENTS or (leaf in _ADDRESS_PARTS and _ADDRESS_PARENTS & set(parts)):
        return "address"
    return ""


def _value_at(record: Any, parts: list[str]) -> Any:
    current = record
    for part in parts:
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


def _is_filled(value: Any) -> bool:
    return value not in (None, "", [], {})


def _example(values: Iterable[Any]) -> str:
    for value in values:
        if _is_filled(value):
            text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
            return text if len(text) <= EXAMPLE_MAX_CHARS else text[: EXAMPLE_MAX_CHARS - 1] + "…"
    return ""


def profile_fields(schema: Mapping[str, Any], records: list[Any]) -> list[dict[str, Any]]:
    """The field tree, flattened in display order, each row with type, fill rate and PII flag.

    Object fields appear as their own (non-leaf) rows above their children; only leaves are
    mapped, so only leaves get a fill rate.
    """
    rows: list[dict[str, Any]] = []
    _walk(explored_properties(schema), [], records, rows)
    return rows


def _walk(
    properties: Mapping[str, Any], prefix: list[str], records: list[Any], rows: list[dict]
) -> None:
    for name, fragment in properties.items():
        parts = [*prefix, name]
        path = ".".join(parts)
        children = fragment.get("properties") if field_type(fragment) == "object" else None
        row: dict[str, Any] = {
            "path": path,
            "source": f"{ROOT}.{path}",
            "name": name,
            "depth": len(prefix),
            "type": field_type(fragment) or "null",
            "xdm": xdm_type_label(fragment),
            "leaf": not children,
            "pii": pii_kind(path),
        }
        if not children:
            values = [_value_at(r, [ROOT, *parts]) for r in records]
            filled = sum(1 for v in values if _is_filled(v))
            row["fill"] = round(filled / len(values), 3) if values else None
            row["example"] = _example(values)
        rows.append(row)
        if children:
            _walk(children, parts, records, rows)


def leaf_fields(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in fields if f["leaf"]]


def sample_table(records: list[Any], fields: list[dict[str, Any]], columns: int = 8) -> dict:
    """A small table of the sample: the first top-level scalar columns and the first rows."""
    top = [f for f in fields if f["depth"] == 0 and f["leaf"] and f["type"] != "array"]
    chosen = top[:columns]
    rows = []
    for record in records[:SAMPLE_ROWS_KEPT]:
        rows.append([_example([_value_at(record, [ROOT, f["name"]])]) for f in chosen])
    return {"columns": [f["name"] for f in chosen], "rows": rows}
