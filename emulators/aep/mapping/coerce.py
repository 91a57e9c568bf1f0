"""Convert mapped values to the type of their destination field, as Data Prep does on write.

Only lossless conversions happen: ``"12"`` into an integer field, ``12`` into a string field,
``"true"`` into a boolean field. Anything else (``"abc"`` into an integer field, ``10.5`` into an
integer field) is a record-level error. Values the mapper leaves alone (dates written as epoch
numbers, for example) are checked afterwards by the XDM validation of the target dataset.

Schema nodes are the plain trees :func:`emulators.aep.xdm.resolve_schema` returns:
``{"type": ..., "properties": {...}, "items": {...}, "additionalProperties": {...}}``.
"""

from __future__ import annotations

from typing import Any

from emulators.aep.mapping.paths import Each, Index, Key, Segment
from emulators.aep.mapping.values import INTEGER_TEXT, NUMBER_TEXT, EvalError, is_number

INTEGER_TYPES = frozenset({"integer", "long", "int", "short", "byte"})
NUMBER_TYPES = frozenset({"number", "double", "float"})


def node_type(node: dict) -> str:
    declared = node.get("type")
    if isinstance(declared, list):  # ["string", "null"]
        declared = next((kind for kind in declared if kind != "null"), None)
    return str(declared or "")


def find_node(schema: dict, segments: tuple[Segment, ...]) -> dict | None:
    """The schema node a destination path lands on, or None when the schema has no such field."""
    node: dict | None = schema
    for segment in segments:
        if node is None:
            return None
        if isinstance(segment, Key):
            properties = node.get("properties") or {}
            if segment.name in properties:
                node = properties[segment.name]
            elif isinstance(node.get("additionalProperties"), dict):
                node = node["additionalProperties"]
            else:
                return None
        elif isinstance(segment, Index | Each):
            node = node.get("items") if node_type(node) == "array" else None
    return node


def coerce(value: Any, node: dict) -> Any:
    if value is None:
        return None
    kind = node_type(node)
    if kind in INTEGER_TYPES:
        return _to_integer(value)
    if kind in NUMBER_TYPES:
        return _to_number(value)
    if kind == "boolean":
        return _to_boolean(value)
    if kind == "string":
        return _to_string(value)
    if kind == "array" and isinstance(value, list) and isinstance(node.get("items"), dict):
        return [coerce(item, node["items"]) for item in value]
    if kind == "object" and isinstance(value, dict):
        return _coerce_object(value, node)
    return value


def coerce_through(value: Any, node: dict, list_depth: int) -> Any:
    """Coerce the elements of a value that ``[*]`` steps spread over ``list_depth`` arrays."""
    if list_depth and isinstance(value, list):
        return [coerce_through(item, node, list_depth - 1) for item in value]
    return coerce(value, node)


def _coerce_object(value: dict, node: dict) -> dict:
    properties = node.get("properties") or {}
    extra = node.get("additionalProperties")
    result = {}
    for key, item in value.items():
        child = properties.get(key) or (extra if isinstance(extra, dict) else None)
        result[key] = coerce(item, child) if child else item
    return result


def _to_integer(value: Any) -> Any:
    if is_number(value):
        if isinstance(value, float):
            if not value.is_integer():
                raise EvalError(f"Cannot convert {value} to integer without losing precision")
            return int(value)
        return value
    if isinstance(value, str) and INTEGER_TEXT.fullmatch(value.strip()):
        return int(value.strip())
    raise EvalError(f"Cannot convert {_shown(value)} to integer")


def _to_number(value: Any) -> Any:
    if is_number(value):
        return value
    if isinstance(value, str) and NUMBER_TEXT.fullmatch(value.strip()):
        text = value.strip()
        return int(text) if INTEGER_TEXT.fullmatch(text) else float(text)
    raise EvalError(f"Cannot convert {_shown(value)} to number")


def _to_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise EvalError(f"Cannot convert {_shown(value)} to boolean")


def _to_string(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value):
        return str(value)
    raise EvalError(f"Cannot convert {_shown(value)} to string")


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool):
        return "a boolean"
    return str(value)
