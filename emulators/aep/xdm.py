"""XDM schemas for the emulator: resolving tenant schemas, validating records, and turning an
explored Stripe schema into a field group.

A tenant schema is ``allOf`` one class plus field groups, each referenced by ``$id``; field groups
keep their fields in ``definitions`` under ``_{tenantId}``. :func:`resolve_schema` flattens that
into one plain tree (``type``, ``properties``, ``items``, ``additionalProperties``, bounds and
formats) that :func:`validate_record` and the mapping engine read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from emulators.aep.mapping.values import type_name

Lookup = Callable[[str], dict | None]

ID_FIELD = {"_id": {"type": "string", "meta:xdmType": "string"}}
XDM_INTEGER_BOUNDS = {
    "long": (-9007199254740992, 9007199254740992),
    "int": (-2147483648, 2147483648),
    "short": (-32768, 32768),
    "byte": (-128, 128),
}
INTEGER_KINDS = frozenset({"integer", *XDM_INTEGER_BOUNDS})
NUMBER_KINDS = frozenset({"number", "double", "float"})
# Keywords copied from a field definition into the resolved tree.
FIELD_KEYWORDS = ("type", "format", "minimum", "maximum", "meta:xdmType", "title", "enum")
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


# -- resolving ---------------------------------------------------------------------------------


def resolve_schema(schema_doc: dict, lookup: Lookup) -> dict:
    """Flatten a schema (class + field groups, by ``$ref``) into one properties tree.

    ``lookup($id)`` returns a stored class, field group or data type document, or None. A
    reference that cannot be found (Adobe's standard ``https://ns.adobe.com/xdm/data/record``
    behaviour, for one) contributes only ``_id``.
    """
    resolved: dict = {"type": "object", "properties": {}}
    _absorb(resolved, schema_doc, schema_doc, lookup, frozenset())
    return resolved


def _absorb(target: dict, fragment: dict, document: dict, lookup: Lookup, seen: frozenset) -> None:
    """Add the fields a schema fragment defines (own properties and allOf parts) to target."""
    for name, definition in (fragment.get("properties") or {}).items():
        node = _resolve_field(definition, document, lookup, seen)
        target["properties"][name] = _merge(target["properties"].get(name), node)
    parts = fragment.get("allOf") or []
    for part in parts:
        if not isinstance(part, dict):
            continue
        if "$ref" in part:
            _absorb_ref(target, part["$ref"], document, lookup, seen)
        else:
            _absorb(target, part, document, lookup, seen)
    if fragment is document and not _has_local_refs(parts):
        # A field group written without allOf still contributes its definitions.
        for definition in (fragment.get("definitions") or {}).values():
            if isinstance(definition, dict):
                _absorb(target, definition, document, lookup, seen)


def _has_local_refs(parts: list) -> bool:
    return any(isinstance(p, dict) and str(p.get("$ref", "")).startswith("#/") for p in parts)


def _absorb_ref(target: dict, ref: str, document: dict, lookup: Lookup, seen: frozenset) -> None:
    if ref.startswith("#/"):
        fragment = _local_fragment(document, ref)
        if fragment is not None:
            _absorb(target, fragment, document, lookup, seen)
        return
    if ref in seen:
        return
    referenced = lookup(ref)
    if referenced is None:
        for name, node in ID_FIELD.items():
            target["properties"].setdefault(name, dict(node))
        return
    _absorb(target, referenced, referenced, lookup, seen | {ref})


def _local_fragment(document: dict, ref: str) -> dict | None:
    node: Any = document
    for part in ref[2:].split("/"):
        node = (
            node.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(node, dict) else None
        )
    return node if isinstance(node, dict) else None


def _resolve_field(definition: Any, document: dict, lookup: Lookup, seen: frozenset) -> dict:
    if not isinstance(definition, dict):
        return {}
    if "$ref" in definition:
        return _resolve_field_ref(definition, document, lookup, seen)
    node = {key: definition[key] for key in FIELD_KEYWORDS if key in definition}
    if "properties" in definition or "allOf" in definition:
        node.setdefault("type", "object")
        node["properties"] = {}
        _absorb(node, definition, document, lookup, seen)
    if isinstance(definition.get("items"), dict):
        node["items"] = _resolve_field(definition["items"], document, lookup, seen)
    extra = definition.get("additionalProperties")
    if isinstance(extra, dict):
        node["additionalProperties"] = _resolve_field(extra, document, lookup, seen)
    elif extra is True:
        node["additionalProperties"] = True
    return node


def _resolve_field_ref(definition: dict, document: dict, lookup: Lookup, seen: frozenset) -> dict:
    ref = definition["$ref"]
    if ref.startswith("#/"):
        fragment = _local_fragment(document, ref)
        return _resolve_field(fragment, document, lookup, seen) if fragment else {}
    referenced = None if ref in seen else lookup(ref)
    if referenced is None:
        # An unknown data type: accept whatever object arrives rather than reject every field.
        return {"type": "object", "additionalProperties": True}
    node: dict = {"type": "object", "properties": {}}
    _absorb(node, referenced, referenced, lookup, seen | {ref})
    return node


def _merge(existing: dict | None, new: dict) -> dict:
    if not existing:
        return new
    if "properties" in existing and "properties" in new:
        merged = {**existing, **{k: v for k, v in new.items() if k != "properties"}}
        properties = dict(existing["properties"])
        for name, node in new["properties"].items():
            properties[name] = _merge(properties.get(name), node)
        merged["properties"] = properties
        return merged
    return new


# -- validating --------------------------------------------------------------------------------


def validate_record(record: dict, resolved: dict) -> list[str]:
    """Every way the record breaks the resolved schema; nulls are always allowed."""
    errors: list[str] = []
    _validate_object(record, resolved, "", errors)
    return errors


def xdm_kind(node: dict) -> str:
    """The XDM type of a resolved node: long/int/short/byte, double, date-time, map, …"""
    declared = node.get("meta:xdmType")
    if declared:
        return str(declared)
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "string" and node.get("format") in ("date-time", "date"):
        return node["format"]
    if kind == "integer":
        bounds = (node.get("minimum"), node.get("maximum"))
        return next((name for name, b in XDM_INTEGER_BOUNDS.items() if b == bounds), "integer")
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        return "map" if not node.get("properties") else "object"
    return str(kind or "")


def _validate(value: Any, node: dict, path: str, errors: list[str]) -> None:
    if value is None:
        return
    kind = xdm_kind(node)
    if kind in INTEGER_KINDS:
        _check_integer(value, node, kind, path, errors)
    elif kind in NUMBER_KINDS:
        _expect(
            isinstance(value, int | float) and not isinstance(value, bool),
            kind,
            value,
            path,
            errors,
        )
    elif kind == "boolean":
        _expect(isinstance(value, bool), kind, value, path, errors)
    elif kind in ("string", "date-time", "date"):
        _check_string(value, kind, path, errors)
    elif kind in ("object", "map"):
        if _expect(isinstance(value, dict), "object", value, path, errors):
            _validate_object(value, node, path, errors)
    elif kind == "array" and _expect(isinstance(value, list), kind, value, path, errors):
        for position, item in enumerate(value):
            _validate(item, node.get("items") or {}, f"{path}[{position}]", errors)


def _validate_object(value: dict, node: dict, path: str, errors: list[str]) -> None:
    properties = node.get("properties") or {}
    extra = node.get("additionalProperties")
    for key, item in value.items():
        child = f"{path}.{key}" if path else key
        if key in properties:
            _validate(item, properties[key], child, errors)
        elif isinstance(extra, dict):
            _validate(item, extra, child, errors)
        elif extra is not True:
            errors.append(f"Field '{child}' is not defined in the schema")


def _expect(ok: bool, expected: str, value: Any, path: str, errors: list[str]) -> bool:
    if not ok:
        errors.append(f"Field '{path}' expected {expected}, got {type_name(value)}")
    return ok


def _check_integer(value: Any, node: dict, kind: str, path: str, errors: list[str]) -> None:
    is_integer = isinstance(value, int) and not isinstance(value, bool)
    if not _expect(is_integer, "integer", value, path, errors):
        return
    low, high = XDM_INTEGER_BOUNDS.get(kind, XDM_INTEGER_BOUNDS["long"])
    low, high = node.get("minimum", low), node.get("maximum", high)
    if not low <= value <= high:
        errors.append(f"Field '{path}' value {value} is outside the range {low} to {high}")


def _check_string(value: Any, kind: str, path: str, errors: list[str]) -> None:
    if not _expect(isinstance(value, str), kind, value, path, errors):
        return
    if kind == "date-time" and not _is_date_time(value):
        errors.append(f"Field '{path}' expected date-time, got string '{value}'")
    if kind == "date" and not _is_date(value):
        errors.append(f"Field '{path}' expected date, got string '{value}'")


def _is_date_time(text: str) -> bool:
    if not DATE_TIME.fullmatch(text):
        return False
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_date(text: str) -> bool:
    if not DATE.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


# -- from an explored Stripe schema to XDM -----------------------------------------------------


def xdm_type_for(fragment: dict) -> dict:
    """The XDM field for one explored field.

    Integers become XDM ``long`` (Stripe amounts and epoch seconds both fit; epoch fields stay
    integers rather than turning into date-times), always-null fields become strings, and
    objects without known properties (``metadata``) become maps of strings.
    """
    kind = fragment.get("type")
    if kind == "integer":
        low, high = XDM_INTEGER_BOUNDS["long"]
        return {"type": "integer", "minimum": low, "maximum": high}
    if kind in ("number", "boolean", "string"):
        return {"type": kind}
    if kind == "object":
        properties = fragment.get("properties") or {}
        if not properties:
            return {"type": "object", "additionalProperties": {"type": "string"}}
        return {"type": "object", "properties": {k: xdm_type_for(v) for k, v in properties.items()}}
    if kind == "array":
        return {"type": "array", "items": xdm_type_for(fragment.get("items") or {})}
    return {"type": "string"}


def explored_fields(explored_schema: dict) -> dict:
    """The properties of the Stripe object, whether given the explore root or its ``data``."""
    properties = explored_schema.get("properties") or {}
    data = properties.get("data")
    if len(properties) == 1 and isinstance(data, dict) and data.get("type") == "object":
        return data.get("properties") or {}
    return properties


def tenant_namespace(tenant_id: str) -> str:
    return "_" + tenant_id.lstrip("_")


def resource_container(resource_path: str) -> str:
    return f"{resource_path}_data"


def field_group_from_explore(
    tenant_id: str,
    resource_path: str,
    explored_schema: dict,
    title: str,
    *,
    description: str | None = None,
    class_ids: list[str] | None = None,
) -> dict:
    """The ``POST /tenant/fieldgroups`` body holding every explored field under
    ``_{tenantId}.{resource}_data``."""
    fields = {
        name: _with_titles(xdm_type_for(fragment), name)
        for name, fragment in explored_fields(explored_schema).items()
    }
    container = {
        "type": "object",
        "properties": {
            resource_container(resource_path): {
                "type": "object",
                "title": _title(resource_container(resource_path)),
                "properties": fields,
            }
        },
    }
    return {
        "title": title,
        "description": description or f"Stripe {resource_path.replace('_', ' ')} fields",
        "type": "object",
        "meta:intendedToExtend": list(class_ids or []),
        "definitions": {
            resource_path: {"properties": {tenant_namespace(tenant_id): container}},
        },
        "allOf": [{"$ref": f"#/definitions/{resource_path}"}],
    }


def default_mappings(tenant_id: str, resource_path: str, explored_schema: dict) -> list[dict]:
    """One ATTRIBUTE mapping per explored leaf field into the field group's layout."""
    prefix = f"{tenant_namespace(tenant_id)}.{resource_container(resource_path)}"
    return [
        {"sourceType": "ATTRIBUTE", "source": f"data.{path}", "destination": f"{prefix}.{path}"}
        for path in _leaf_paths(explored_fields(explored_schema), "")
    ]


def _leaf_paths(properties: dict, prefix: str) -> list[str]:
    paths: list[str] = []
    for name, fragment in properties.items():
        path = f"{prefix}{name}"
        children = fragment.get("properties") if fragment.get("type") == "object" else None
        if children:
            paths.extend(_leaf_paths(children, f"{path}."))
        else:
            paths.append(path)
    return paths


def _with_titles(node: dict, name: str) -> dict:
    titled = {"title": _title(name), **node}
    if "properties" in node:
        titled["properties"] = {k: _with_titles(v, k) for k, v in node["properties"].items()}
    return titled


def _title(name: str) -> str:
    words = name.strip("_").split("_")
    return " ".join(w.upper() if w in ("id", "url", "cvc") else w.capitalize() for w in words)
