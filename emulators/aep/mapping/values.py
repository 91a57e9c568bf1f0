"""Runtime value helpers shared by the evaluator and the functions.

Values are plain JSON values plus ``datetime`` (what Data Prep calls a ZonedDateTime). A
``datetime`` is written out as an ISO 8601 string.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Any

from emulators.aep.mapping.dates import to_iso

INTEGER_TEXT = re.compile(r"[+-]?\d+")
NUMBER_TEXT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


class EvalError(Exception):
    """A record-level failure: the mapping is valid but this record's value does not fit."""


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, datetime):
        return "date"
    return type(value).__name__


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def to_text(value: Any, context: str) -> str | None:
    """String view of a scalar, as Java's toString would give it; None stays None."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value):
        return str(value)
    if isinstance(value, datetime):
        return to_iso(value)
    raise EvalError(f"{context} expects a string, got {type_name(value)}")


def to_number(value: Any, context: str) -> int | float | None:
    if value is None or is_number(value):
        return value
    if isinstance(value, str):
        text = value.strip()
        if INTEGER_TEXT.fullmatch(text):
            return int(text)
        if NUMBER_TEXT.fullmatch(text):
            number = float(text)
            if not math.isfinite(number):
                raise EvalError(f"{context}: '{value}' is out of range")
            return number
        raise EvalError(f"{context}: cannot convert '{value}' to a number")
    raise EvalError(f"{context} expects a number, got {type_name(value)}")


def to_whole(value: Any, context: str) -> int:
    """An argument that must be a whole number, such as a length or a position."""
    number = to_number(value, context)
    if number is None:
        raise EvalError(f"{context} expects a number, got null")
    if isinstance(number, float) and not number.is_integer():
        raise EvalError(f"{context} expects a whole number, got {number}")
    return int(number)


def truthy(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if is_number(value):
        return value != 0
    if isinstance(value, str | list | dict):
        return len(value) > 0
    return True


def to_output(value: Any) -> Any:
    """Make an evaluated value JSON-ready (dates become ISO strings)."""
    if isinstance(value, datetime):
        return to_iso(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise EvalError(f"The result {value} is not a finite number")
    if isinstance(value, list | tuple):
        return [to_output(item) for item in value]
    if isinstance(value, dict):
        return {key: to_output(item) for key, item in value.items()}
    return value


def to_json_text(value: Any) -> str:
    return json.dumps(to_output(value), separators=(",", ":"), ensure_ascii=False)
