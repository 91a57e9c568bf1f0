"""Infer the hierarchical schema that ``GET /connections/{id}/explore`` returns for a REST source.

The shape follows Adobe's Stripe tutorial: the schema is rooted at ``data`` (each Stripe object is
one ``data`` record), integers carry the JavaScript safe-integer bounds, objects list their
properties, and a field that is null in every sampled record is an untyped ``{}``.
"""

from __future__ import annotations

import copy
from typing import Any

ROOT_FIELD = "data"
INTEGER_MINIMUM = -9007199254740992
INTEGER_MAXIMUM = 9007199254740991


def infer_hierarchical_schema(records: list[dict]) -> dict:
    """Schema of the given Stripe objects, merged across all of them."""
    merged: dict = {"type": "object", "properties": {}}
    for record in records:
        merged = merge_schemas(merged, infer_value(record))
    return {"type": "object", "properties": {ROOT_FIELD: merged}}


def explore_response(records: list[dict], preview: bool) -> dict:
    """The explore body: ``format`` and ``schema``, plus the sample records when previewing."""
    response: dict[str, Any] = {
        "format": "hierarchical",
        "schema": infer_hierarchical_schema(records),
    }
    if preview:
        response["data"] = [{ROOT_FIELD: copy.deepcopy(record)} for record in records]
    return response


def infer_value(value: Any) -> dict:
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return _integer()
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    if isinstance(value, dict):
        return {"type": "object", "properties": {k: infer_value(v) for k, v in value.items()}}
    if isinstance(value, list):
        items: dict = {}
        for item in value:
            items = merge_schemas(items, infer_value(item))
        return {"type": "array", "items": items}
    return {"type": "string"}


def _integer() -> dict:
    return {"type": "integer", "minimum": INTEGER_MINIMUM, "maximum": INTEGER_MAXIMUM}


def merge_schemas(first: dict, second: dict) -> dict:
    """Combine what two samples say about the same field.

    Unknown (``{}``) yields to any type; integer widens to number; objects and arrays merge
    their members; any other disagreement becomes string, the type every value can be read as.
    """
    if not first:
        return copy.deepcopy(second)
    if not second:
        return copy.deepcopy(first)
    kinds = {first.get("type"), second.get("type")}
    if len(kinds) == 1:
        return _merge_same_kind(first, second)
    if kinds == {"integer", "number"}:
        return {"type": "number"}
    return {"type": "string"}


def _merge_same_kind(first: dict, second: dict) -> dict:
    kind = first.get("type")
    if kind == "object":
        properties = copy.deepcopy(first.get("properties", {}))
        for key, schema in second.get("properties", {}).items():
            properties[key] = merge_schemas(properties.get(key, {}), schema)
        return {"type": "object", "properties": properties}
    if kind == "array":
        return {
            "type": "array",
            "items": merge_schemas(first.get("items", {}), second.get("items", {})),
        }
    return copy.deepcopy(first)
