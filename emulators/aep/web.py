"""Request helpers shared by the service blueprints."""

from __future__ import annotations

import json
from typing import Any

from flask import request

from emulators.aep.errors import ApiError

EMPTY_BODY = "1405"
INVALID_REQUEST = "1406"


def read_json(*, required: bool = True) -> Any:
    raw = request.get_data(as_text=True)
    if not raw.strip():
        if required:
            raise ApiError(400, EMPTY_BODY, "The request body is empty.")
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, INVALID_REQUEST, f"The request body is not valid JSON: {exc}") from exc


def read_json_object() -> dict[str, Any]:
    body = read_json()
    if not isinstance(body, dict):
        raise ApiError(400, INVALID_REQUEST, "The request body must be a JSON object.")
    return body


# JSON types as the spec names them; bool is not a number here, as in JSON Schema.
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "number": (int, float),
    "boolean": (bool,),
}


def check_shape(value: Any, shape: dict[str, Any], where: str) -> None:
    """Check ``value`` against a small JSON-Schema-like ``shape`` (type, properties, required,
    items, enum); enums compare case-insensitively, as the platform's enums do."""
    kind = shape.get("type")
    if kind is not None:
        expected = _JSON_TYPES[kind]
        if not isinstance(value, expected) or (kind == "number" and isinstance(value, bool)):
            raise invalid(f"'{where}' must be of type {kind}.")
    if "enum" in shape and str(value).upper() not in shape["enum"]:
        raise invalid(f"'{where}' must be one of {', '.join(shape['enum'])}.")
    if isinstance(value, dict):
        for name in shape.get("required", ()):
            if name not in value:
                raise invalid(f"'{where}.{name}' is required.")
        for name, sub_shape in shape.get("properties", {}).items():
            if name in value:
                check_shape(value[name], sub_shape, f"{where}.{name}")
    if isinstance(value, list) and "items" in shape:
        for index, item in enumerate(value):
            check_shape(item, shape["items"], f"{where}[{index}]")


def invalid(message: str, code: str = INVALID_REQUEST) -> ApiError:
    return ApiError(400, code, message)


def require_string(body: dict[str, Any], field: str, label: str | None = None) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"'{label or field}' is required and must be a non-empty string.")
    return value


def spec_ref(body: dict[str, Any], field: str) -> dict[str, str]:
    """A ``{"id", "version"}`` reference such as ``connectionSpec`` or ``flowSpec``."""
    value = body.get(field)
    if not isinstance(value, dict) or not isinstance(value.get("id"), str):
        raise invalid(f"'{field}.id' is required.")
    return {"id": value["id"], "version": str(value.get("version") or "1.0")}


def multi_args(name: str) -> list[str]:
    return request.args.getlist(name)


def bool_arg(name: str, default: bool = False) -> bool:
    value = request.args.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("true", "1", "yes")
